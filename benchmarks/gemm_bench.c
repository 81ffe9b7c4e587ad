/* clayer's own GEMM (kernels/gemm.c) against CLBlast's SGEMM (runtime/blas.c)
 * on the shapes the nets give it, in the same run and process: square
 * matrices, im2col convolutions, a fully-connected layer at batch 32 and its
 * two gradients, col2im's A^T * B. Each is timed interleaved (builtin,
 * CLBlast, builtin, CLBlast: the better median of each) so that both see the
 * same load on a shared machine; the two results are compared.
 *
 *   ./build/benchmarks/gemm_bench [--device SEL] [--runs N]
 */
#include "bench_time.h"
#include "bench_util.h"
#include "runtime/blas.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct shape {
    const char *name;
    bool ta, tb;
    int64_t m, n, k;
} shape;

static const shape shapes[] = {
    {"square 256", false, false, 256, 256, 256},
    {"square 512", false, false, 512, 512, 512},
    {"square 1024", false, false, 1024, 1024, 1024},
    {"square 512 A^T B^T", true, true, 512, 512, 512},
    {"resnet18 conv2_x im2col", false, false, 64, 3136, 576},
    {"alexnet conv3 im2col", false, false, 384, 169, 2304},
    {"vgg16 conv3_1 im2col", false, false, 256, 3136, 1152},
    {"alexnet fc7 batch 32", false, true, 32, 4096, 4096},
    {"alexnet fc7 dx batch 32", false, false, 32, 4096, 4096},
    {"alexnet fc7 dw batch 32", true, false, 4096, 4096, 32},
    {"resnet18 conv2_x col2im", true, false, 576, 3136, 64},
};

typedef struct job {
    const shape *s;
    cl_mem a, b, c;
} job;

static cly_status run(cly_context *ctx, void *arg)
{
    const job *j = arg;
    const shape *s = j->s;
    return cly_gemm(ctx, s->ta, s->tb, s->m, s->n, s->k, 1.0f, (cly_buf){j->a, 0}, s->ta ? s->m : s->k,
                    (cly_buf){j->b, 0}, s->tb ? s->k : s->n, 0.0f, (cly_buf){j->c, 0}, s->n);
}

static cl_mem filled(cly_context *ctx, int64_t count, uint32_t seed)
{
    float *v = malloc((size_t)count * sizeof *v);
    for (int64_t i = 0; i < count; i++) {
        seed = seed * 1664525u + 1013904223u;
        v[i] = (float)((seed >> 8) * (2.0 / 16777216.0) - 1.0);
    }
    cl_int err;
    cl_mem m =
        clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, (size_t)count * sizeof *v, v, &err);
    free(v);
    if (err != CL_SUCCESS) {
        fprintf(stderr, "gemm_bench: clCreateBuffer of %lld floats failed (%d)\n", (long long)count, err);
        exit(1);
    }
    return m;
}

static double timed(cly_context *ctx, job *j, bool builtin, int runs)
{
    ctx->gemm_builtin = builtin;
    double ms = bench_median_ms(ctx, run, j, runs);
    if (ms < 0) {
        fprintf(stderr, "gemm_bench: %s: %s\n", j->s->name, cly_last_error(ctx));
        exit(1);
    }
    return ms;
}

static float *result(cly_context *ctx, job *j, bool builtin)
{
    const int64_t count = j->s->m * j->s->n;
    float *r = malloc((size_t)count * sizeof *r);
    ctx->gemm_builtin = builtin;
    cly_status s = run(ctx, j);
    if (s != CLY_SUCCESS || clEnqueueReadBuffer(ctx->queue, j->c, CL_TRUE, 0, (size_t)count * sizeof *r, r, 0, NULL,
                                                NULL) != CL_SUCCESS) {
        fprintf(stderr, "gemm_bench: %s: %s\n", j->s->name, s != CLY_SUCCESS ? cly_last_error(ctx) : "read back");
        exit(1);
    }
    return r;
}

int main(int argc, char **argv)
{
    const char *selector = NULL;
    int runs = 5;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--device") == 0 && i + 1 < argc)
            selector = argv[++i];
        else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: gemm_bench [--device SEL] [--runs N]\n");
            return 2;
        }
    }
    if (runs < 1) {
        fprintf(stderr, "gemm_bench: --runs must be >= 1\n");
        return 2;
    }
    cly_context *ctx = NULL;
    cly_context_options o = {.struct_size = sizeof o, .selector = selector, .gemm = CLY_GEMM_CLBLAST};
    if (cly_context_create_ex(&o, &ctx) != CLY_SUCCESS) {
        fprintf(stderr, "gemm_bench: %s\n", cly_last_error(NULL));
        return 1;
    }
    if (cly_context_binary_only(ctx)) {
        fprintf(stderr, "gemm_bench: the context is binary-only, CLBlast cannot run\n");
        cly_context_destroy(ctx);
        return 1;
    }
    printf("gemm_bench: device %s (%s), float, C = A B (op as named), median of "
           "%d device-timed runs, the better "
           "of two interleaved rounds\n",
           ctx->info.name, ctx->info.platform_name, runs);
    printf("%-26s %5s %5s %5s %10s %10s %10s %10s %8s %9s\n", "shape", "m", "n", "k", "builtin ms", "GFLOP/s",
           "CLBlast ms", "GFLOP/s", "ratio", "max rel");
    int rc = 0;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const shape *s = &shapes[i];
        job j = {s, filled(ctx, s->m * s->k, 1 + (uint32_t)i), filled(ctx, s->k * s->n, 2),
                 filled(ctx, s->m * s->n, 3)};
        float *mine = result(ctx, &j, true), *theirs = result(ctx, &j, false);
        const double err = bench_max_rel_error(mine, theirs, (size_t)(s->m * s->n));
        free(mine);
        free(theirs);
        double tb[2], tc[2];
        for (int r = 0; r < 2; r++) {
            tb[r] = timed(ctx, &j, true, runs);
            tc[r] = timed(ctx, &j, false, runs);
        }
        const double b = tb[0] < tb[1] ? tb[0] : tb[1], c = tc[0] < tc[1] ? tc[0] : tc[1];
        const double gflop = 2.0 * (double)s->m * (double)s->n * (double)s->k * 1e-9;
        printf("%-26s %5lld %5lld %5lld %10.3f %10.1f %10.3f %10.1f %7.2fx %9.1e\n", s->name, (long long)s->m,
               (long long)s->n, (long long)s->k, b, gflop / (b * 1e-3), c, gflop / (c * 1e-3), c / b, err);
        if (!(err < 1e-4)) {
            fprintf(stderr, "gemm_bench: %s: builtin and CLBlast differ by %.3g (relative)\n", s->name, err);
            rc = 1;
        }
        clReleaseMemObject(j.a);
        clReleaseMemObject(j.b);
        clReleaseMemObject(j.c);
    }
    ctx->gemm_builtin = false;
    cly_context_destroy(ctx);
    return rc;
}
