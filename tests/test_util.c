/* Shared test helpers.
 *
 * Why the device probe runs in a forked child: check runs every test in a
 * forked child of its own (its default), which gives each test a timeout,
 * isolation from the environment changes and crashes of other tests, and a
 * LeakSanitizer check at its own exit. pocl starts worker threads when it is
 * first used, and threads do not survive fork(): had the parent enumerated
 * platforms itself, every test child would inherit a half-dead pocl. So the
 * parent never calls into OpenCL; a throw-away child answers "is there a
 * device?" and every test creates its own contexts. (CK_FORK=no still works:
 * each test cleans up after itself.) */
#define _XOPEN_SOURCE 700 /* nftw */
#include "test_util.h"

#include "conv_ref.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

bool cly_test_device_available(void)
{
    fflush(NULL); /* or the child's exit would flush our buffers twice */
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(1);
    }
    if (pid == 0) {
        cly_device_info *devs = NULL;
        size_t n = 0;
        cly_status s = cly_devices_list(&devs, &n);
        if (s != CLY_SUCCESS)
            fprintf(stderr, "no OpenCL device: %s: %s\n", cly_status_string(s), cly_last_error(NULL));
        cly_devices_free(devs);
        /* _exit: skip atexit work (LeakSanitizer, pocl teardown) in this
         * throw-away process; it only reports an answer. */
        fflush(NULL);
        _exit(s == CLY_SUCCESS && n >= 1 ? 0 : 1);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        ;
    if (WIFEXITED(status))
        return WEXITSTATUS(status) == 0;
    /* A crash while listing devices is a bug, not a missing device. */
    fprintf(stderr, "device probe died (signal %d)\n", WIFSIGNALED(status) ? WTERMSIG(status) : -1);
    exit(1);
}

void cly_test_require_device(void)
{
    if (!cly_test_device_available()) {
        fprintf(stderr, "skipping: no OpenCL device\n");
        exit(CLY_TEST_SKIP);
    }
}

#define TMP_ENV "CLY_TEST_TMPDIR"

int cly_test_run(Suite *suite, bool complete)
{
    /* check _exit()s a failed test's child without its teardown: keep
     * every test's temp dir under one that this parent removes. */
    const char *tmp = getenv("TMPDIR");
    char base[4096];
    snprintf(base, sizeof base, "%s/clayer-tests-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(base)) {
        perror("mkdtemp");
        return 1;
    }
    setenv(TMP_ENV, base, 1);
    SRunner *sr = srunner_create(suite);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    chmod(base, 0700);
    cly_test_rmtree(base);
    unsetenv(TMP_ENV);
    if (failed)
        return 1;
    return complete ? 0 : CLY_TEST_SKIP;
}

cly_context *cly_test_context(void)
{
    cly_context *ctx = NULL;
    cly_status s = cly_context_create(NULL, &ctx);
    ck_assert_msg(s == CLY_SUCCESS, "cly_context_create: %s: %s", cly_status_string(s), cly_last_error(NULL));
    return ctx;
}

int cly_test_small_int(uint64_t *state, int range)
{
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (int)((*state >> 33) % (uint64_t)(2 * range + 1)) - range;
}

void cly_test_fill(float *x, size_t n, int range, uint64_t *state)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)cly_test_small_int(state, range);
}

static int64_t count_of(cly_shape s)
{
    return s.n * s.c * s.h * s.w;
}

int64_t cly_test_conv_check(cly_context *ctx, cly_shape x, cly_shape f, bool with_bias, cly_conv_params p,
                            int64_t oh, int64_t ow, uint64_t seed, char *why, size_t why_size)
{
    const cly_shape b = {1, f.n, 1, 1}, y = {x.n, f.n, oh, ow};
    float *hx = malloc((size_t)count_of(x) * sizeof *hx), *hw = malloc((size_t)count_of(f) * sizeof *hw);
    float *hb = malloc((size_t)f.n * sizeof *hb), *hy = malloc((size_t)count_of(y) * sizeof *hy);
    float *ref = malloc((size_t)count_of(y) * sizeof *ref);
    cly_tensor *tx = NULL, *tw = NULL, *tb = NULL, *ty = NULL;
    int64_t result = -1;
    cly_status s = CLY_ERROR_OUT_OF_HOST_MEMORY;
    if (!hx || !hw || !hb || !hy || !ref)
        goto done;
    cly_test_fill(hx, (size_t)count_of(x), 2, &seed);
    cly_test_fill(hw, (size_t)count_of(f), 2, &seed);
    cly_test_fill(hb, (size_t)f.n, 3, &seed);
    if ((s = cly_tensor_create(ctx, x, &tx)) || (s = cly_tensor_create(ctx, f, &tw)) ||
        (with_bias && (s = cly_tensor_create(ctx, b, &tb))) || (s = cly_tensor_create(ctx, y, &ty)) ||
        (s = cly_tensor_write(tx, hx, count_of(x))) || (s = cly_tensor_write(tw, hw, count_of(f))) ||
        (with_bias && (s = cly_tensor_write(tb, hb, f.n))) ||
        /* NaN fill: an output the kernel never writes cannot pass. */
        (s = cly_tensor_fill(ty, NAN)) || (s = cly_conv2d(ctx, tx, tw, tb, p, ty)) ||
        (s = cly_tensor_read(ty, hy, count_of(y))))
        goto done;
    ref_conv_shapes(hx, x, hw, f, with_bias ? hb : NULL, p, oh, ow, ref);
    result = 0;
    for (int64_t i = 0; i < count_of(y); i++)
        if (hy[i] != ref[i]) {
            if (result == 0)
                snprintf(why, why_size, "first mismatch at %lld: got %g, want %g", (long long)i, hy[i], ref[i]);
            result++;
        }
done:
    if (result < 0)
        snprintf(why, why_size, "%s: %s", cly_status_string(s), ctx ? cly_last_error(ctx) : "");
    cly_tensor_destroy(tx);
    cly_tensor_destroy(tw);
    cly_tensor_destroy(tb);
    cly_tensor_destroy(ty);
    free(hx);
    free(hw);
    free(hb);
    free(hy);
    free(ref);
    return result;
}

void cly_test_mkdtemp(char *path, size_t size)
{
    const char *tmp = getenv(TMP_ENV);
    if (!tmp || !*tmp)
        tmp = getenv("TMPDIR");
    snprintf(path, size, "%s/clayer-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    ck_assert_msg(mkdtemp(path) != NULL, "mkdtemp(%s) failed", path);
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int open_up(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)ftw;
    if (flag == FTW_D || flag == FTW_DNR)
        chmod(path, (st->st_mode & 07777) | 0700);
    return 0;
}

void cly_test_rmtree(const char *path)
{
    /* First make every directory writable (a test may have left one 0500),
     * then remove depth-first. Physical walks: links are removed, never
     * followed. */
    nftw(path, open_up, 16, FTW_PHYS);
    nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

int cly_test_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the descriptor of d itself */
}

pid_t cly_test_spawn_self(const char *arg, int *out)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl("/proc/self/exe", "/proc/self/exe", arg, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    *out = fds[0];
    return pid;
}

int cly_test_collect(pid_t pid, int fd, char *buf, size_t size)
{
    size_t used = 0;
    while (used < size - 1) {
        ssize_t n = read(fd, buf + used, size - 1 - used);
        if (n > 0)
            used += (size_t)n;
        else if (n == 0 || errno != EINTR)
            break;
    }
    buf[used] = '\0';
    close(fd);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    return status;
}
