/* Contexts from many threads at once: pocl's first initialisation is not
 * thread-safe (two threads: one got CLY_ERROR_DEVICE_NOT_FOUND; 4-8: crashes
 * in clGetDeviceInfo), so clayer serialises enumeration and context set-up.
 * The first initialisation happens once per process, so each round is a
 * fresh process (this binary with --threads-child) whose 8 threads start
 * together behind a barrier, each creating a context and running a small
 * convolution checked exactly. */
#include "test_util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

enum { THREADS = 8, ROUNDS = 3 };

/* AddressSanitizer builds only: pocl's LLVM, compiling a kernel on one of
 * these threads, installs its own signal stack (malloc'd) over ASan's, and
 * ASan then fails a CHECK unmapping "its" stack when the thread exits. Not
 * clayer's doing, and not a memory error: keep ASan off the signal stack. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "use_sigaltstack=0";
}

static pthread_barrier_t start;

typedef struct worker {
    int index;
    int64_t bad; /* mismatches; -1: a call failed */
    char why[512];
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    pthread_barrier_wait(&start);
    cly_context *ctx = NULL;
    cly_status s = cly_context_create(NULL, &ctx);
    if (s != CLY_SUCCESS) {
        const char *msg = cly_last_error(NULL);
        snprintf(w->why, sizeof w->why, "context: %s: %s", cly_status_string(s), msg);
        w->bad = -1;
        return NULL;
    }
    w->bad = cly_test_conv_check(ctx, (cly_shape){1, 2, 5, 5}, (cly_shape){3, 2, 3, 3}, true, CONV_P(1, 1, 1), 5, 5,
                                 (uint64_t)w->index + 1, w->why, sizeof w->why);
    cly_context_destroy(ctx);
    return NULL;
}

static int threads_child(void)
{
    worker w[THREADS];
    pthread_t t[THREADS];
    pthread_barrier_init(&start, NULL, THREADS);
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker){.index = i};
        if (pthread_create(&t[i], NULL, work, &w[i]) != 0) {
            printf("pthread_create %d failed\n", i);
            return 1;
        }
    }
    int failed = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        if (w[i].bad != 0) {
            printf("thread %d: %s\n", i, w[i].why);
            failed++;
        }
    }
    pthread_barrier_destroy(&start);
    return failed ? 1 : 0;
}

START_TEST(test_contexts_at_once)
{
    for (int round = 0; round < ROUNDS; round++) {
        int fd;
        pid_t pid = cly_test_spawn_self("--threads-child", &fd);
        char buf[4096];
        int status = cly_test_collect(pid, fd, buf, sizeof buf);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                      "round %d: %s (exit %d, signal %d): %s", round, WIFSIGNALED(status) ? "crashed" : "failed",
                      WIFEXITED(status) ? WEXITSTATUS(status) : -1, WIFSIGNALED(status) ? WTERMSIG(status) : 0, buf);
    }
}
END_TEST

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--threads-child") == 0)
        return threads_child();
    bool device = cly_test_device_available();
    Suite *s = suite_create("threads");
    if (device) {
        TCase *tc = tcase_create("contexts");
        tcase_set_timeout(tc, CLY_TEST_TIMEOUT);
        tcase_add_test(tc, test_contexts_at_once);
        suite_add_tcase(s, tc);
    }
    return cly_test_run(s, device);
}
