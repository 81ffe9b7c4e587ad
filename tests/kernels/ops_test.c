/* Helpers shared by the op tests; see ops_test.h. */
#include "ops_test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* A signalling-free NaN with a payload no kernel produces. */
static const uint32_t SENTINEL = 0x7fc0beefu;

/* Guard cells per side: OT_GUARD, or none under oclgrind, whose bounds
 * checker can only see reads that leave the buffer. */
static int64_t guard = OT_GUARD;

cly_context *ot_context(void)
{
    cly_context *ctx = NULL;
    cly_status s = cly_context_create(NULL, &ctx);
    ck_assert_msg(s == CLY_SUCCESS, "cly_context_create: %s", cly_last_error(NULL));
    return ctx;
}

static void *sentinel_block(int64_t count, size_t elem)
{
    size_t bytes = (size_t)(count + 2 * guard) * elem;
    unsigned char *h = malloc(bytes);
    ck_assert_ptr_nonnull(h);
    for (size_t i = 0; i + 4 <= bytes; i += 4)
        memcpy(h + i, &SENTINEL, 4);
    return h;
}

static cly_buf make(cly_context *ctx, const void *host, int64_t count, size_t elem)
{
    unsigned char *h = sentinel_block(count, elem);
    if (host)
        memcpy(h + guard * elem, host, (size_t)count * elem);
    cl_int err;
    cl_mem m = clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR,
                              (size_t)(count + 2 * guard) * elem, h, &err);
    free(h);
    ck_assert_msg(err == CL_SUCCESS, "clCreateBuffer: %d", (int)err);
    return (cly_buf){m, guard};
}

cly_buf ot_upload(cly_context *ctx, const void *host, int64_t count, size_t elem)
{
    return make(ctx, host, count, elem);
}

cly_buf ot_alloc(cly_context *ctx, int64_t count, size_t elem)
{
    return make(ctx, NULL, count, elem);
}

void ot_download(cly_context *ctx, cly_buf b, void *host, int64_t count, size_t elem)
{
    size_t bytes = (size_t)(count + 2 * guard) * elem;
    unsigned char *h = malloc(bytes);
    ck_assert_ptr_nonnull(h);
    cl_int err = clEnqueueReadBuffer(ctx->queue, b.mem, CL_TRUE, 0, bytes, h, 0, NULL, NULL);
    ck_assert_msg(err == CL_SUCCESS, "clEnqueueReadBuffer: %d", (int)err);
    unsigned char *fence = sentinel_block(count, elem);
    size_t g = guard * elem;
    ck_assert_msg(memcmp(h, fence, g) == 0, "a write landed in the guard cells before the array");
    ck_assert_msg(memcmp(h + g + (size_t)count * elem, fence, g) == 0,
                  "a write landed in the guard cells after the array");
    memcpy(host, h + g, (size_t)count * elem);
    free(fence);
    free(h);
}

void ot_free(cly_buf b)
{
    if (b.mem)
        clReleaseMemObject(b.mem);
}

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8; /* 24 good bits */
}

void ot_fill_int(float *a, int64_t n, unsigned seed, int lo, int hi)
{
    uint32_t s = seed * 2654435761u + 1;
    for (int64_t i = 0; i < n; i++)
        a[i] = (float)(lo + (int)(lcg(&s) % (uint32_t)(hi - lo + 1)));
}

void ot_fill_real(float *a, int64_t n, unsigned seed, double lo, double hi)
{
    uint32_t s = seed * 2654435761u + 7;
    for (int64_t i = 0; i < n; i++)
        a[i] = (float)(lo + (hi - lo) * (double)lcg(&s) / 16777216.0);
}

void ot_check_exact(const float *got, const float *want, int64_t n, const char *what)
{
    for (int64_t i = 0; i < n; i++)
        if (!(got[i] == want[i] || (isnan(got[i]) && isnan(want[i]))))
            ck_abort_msg("%s: element %lld is %.9g, expected %.9g", what, (long long)i, got[i], want[i]);
}

void ot_check_rel(const float *got, const double *want, int64_t n, double rtol, double floor, const char *what)
{
    for (int64_t i = 0; i < n; i++) {
        double scale = fabs(want[i]) > floor ? fabs(want[i]) : floor;
        if (!(fabs((double)got[i] - want[i]) <= rtol * scale))
            ck_abort_msg("%s: element %lld is %.9g, expected %.9g (relative tolerance %g)", what, (long long)i,
                         got[i], want[i], rtol);
    }
}

TCase *ot_tcase(const char *name)
{
    TCase *tc = tcase_create(name);
    tcase_set_timeout(tc, 300);
    return tc;
}

/* Probe for a device in a child process: pocl's worker threads do not
 * survive a fork, so the parent (which forks every test) must not start
 * them. Exit 0: device; 2: no platform or device; 1: other failure. */
static int probe_device(void)
{
    pid_t pid = fork();
    if (pid < 0)
        return 1;
    if (pid == 0) {
        cly_context *ctx = NULL;
        cly_status s = cly_context_create(NULL, &ctx);
        if (s != CLY_SUCCESS)
            fprintf(stderr, "no usable OpenCL device: %s\n", cly_last_error(NULL));
        cly_context_destroy(ctx);
        _exit(s == CLY_SUCCESS ? 0 : s == CLY_ERROR_NO_PLATFORM || s == CLY_ERROR_DEVICE_NOT_FOUND ? 2 : 1);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
        return 1;
    return WEXITSTATUS(status);
}

int ot_main(int argc, char **argv, Suite *(*unit)(void), Suite *(*small)(void))
{
    bool sim = argc > 1 && strcmp(argv[1], "oclgrind") == 0;
    if (argc > 1 && !sim) {
        fprintf(stderr, "usage: %s [oclgrind]\n", argv[0]);
        return 1;
    }
    if (sim)
        guard = 0;
    int probe = probe_device();
    if (probe == 2)
        return 77;
    if (probe != 0)
        return 1;
    SRunner *sr = srunner_create(sim ? small() : unit());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
