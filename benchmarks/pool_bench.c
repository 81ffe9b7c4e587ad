/* Pooling forward and backward on real layers, the two layouts of work of
 * cl/pool.cl timed against each other in the same run: a work-item per
 * element (GPUs) and a work-item per row (POOL_ROWS, CPUs), each switched
 * with $CLAYER_POOL_ROWS. The outputs of the two are compared bit for bit.
 *
 *   ./build/benchmarks/pool_bench [--device SEL] [--runs N] [--batch N]
 */
#include "bench_time.h"
#include "bench_util.h"
#include "kernels/kernels.h"
#include "runtime/tuning.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(call) BENCH_CHECK("pool_bench", call)

typedef struct layer {
    const char *name;
    int64_t c, h, w, f, s, p;
    cly_pool_kind kind;
} layer;

static const layer layers[] = {
    {"fashion pool1 (max 2/2)", 32, 28, 28, 2, 2, 0, CLY_POOL_MAX},
    {"fashion pool2 (max 2/2)", 64, 14, 14, 2, 2, 0, CLY_POOL_MAX},
    {"alexnet pool1 (max 3/2)", 96, 55, 55, 3, 2, 0, CLY_POOL_MAX},
    {"vgg16 pool1 (max 2/2)", 64, 224, 224, 2, 2, 0, CLY_POOL_MAX},
    {"resnet pool1 (max 3/2 p1)", 64, 112, 112, 3, 2, 1, CLY_POOL_MAX},
    {"googlenet 3x3/1 p1 (max)", 192, 28, 28, 3, 1, 1, CLY_POOL_MAX},
    {"densenet trans (avg 2/2)", 128, 56, 56, 2, 2, 0, CLY_POOL_AVG},
    {"googlenet 5x5/3 (avg)", 512, 14, 14, 5, 3, 0, CLY_POOL_AVG},
};

typedef struct job {
    const cly_pool_geom *g;
    cly_buf x, y, argmax, dy, dx;
    bool backward;
} job;

static cly_status run(cly_context *ctx, void *arg)
{
    const job *j = arg;
    return j->backward ? cly_pool_backward(ctx, j->g, j->x, j->y, j->argmax, j->dy, j->dx, 0.0f)
                       : cly_pool_forward(ctx, j->g, j->x, j->y, j->argmax);
}

static double timed(cly_context *ctx, job *j, int rows, int runs)
{
    setenv("CLAYER_POOL_ROWS", rows ? "1" : "0", 1);
    double ms = bench_median_ms(ctx, run, j, runs);
    if (ms < 0) {
        fprintf(stderr, "pool_bench: %s\n", cly_last_error(ctx));
        exit(1);
    }
    return ms;
}

static cl_mem filled(cly_context *ctx, int64_t count, uint64_t seed)
{
    float *v = malloc((size_t)count * sizeof *v);
    for (int64_t i = 0; i < count; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        v[i] = (float)((seed >> 40) % 2001) / 1000.0f - 1.0f;
    }
    cl_int err;
    cl_mem m = clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, (size_t)count * sizeof *v, v,
                              &err);
    free(v);
    if (err != CL_SUCCESS) {
        fprintf(stderr, "pool_bench: clCreateBuffer of %lld floats failed (%d)\n", (long long)count, err);
        exit(1);
    }
    return m;
}

/* Both layouts' result of `j` into host memory, compared bit for bit. */
static bool same(cly_context *ctx, job *j, int64_t count)
{
    float *r[2];
    for (int rows = 0; rows < 2; rows++) {
        setenv("CLAYER_POOL_ROWS", rows ? "1" : "0", 1);
        r[rows] = malloc((size_t)count * sizeof(float));
        CHECK(run(ctx, j));
        cl_mem out = j->backward ? j->dx.mem : j->y.mem;
        if (clEnqueueReadBuffer(ctx->queue, out, CL_TRUE, 0, (size_t)count * sizeof(float), r[rows], 0, NULL,
                                NULL) != CL_SUCCESS) {
            fprintf(stderr, "pool_bench: read back failed\n");
            exit(1);
        }
    }
    bool eq = memcmp(r[0], r[1], (size_t)count * sizeof(float)) == 0;
    free(r[0]);
    free(r[1]);
    return eq;
}

int main(int argc, char **argv)
{
    const char *selector = NULL;
    int runs = 9;
    int64_t batch = 16;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--device") == 0 && i + 1 < argc)
            selector = argv[++i];
        else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc)
            batch = atoll(argv[++i]);
        else {
            fprintf(stderr, "usage: pool_bench [--device SEL] [--runs N] [--batch N]\n");
            return 2;
        }
    }
    if (runs < 1 || batch < 1) {
        fprintf(stderr, "pool_bench: --runs and --batch must be >= 1\n");
        return 2;
    }
    cly_context *ctx = NULL;
    if (cly_context_create(selector, &ctx) != CLY_SUCCESS) {
        fprintf(stderr, "pool_bench: %s\n", cly_last_error(NULL));
        return 1;
    }
    printf("pool_bench: device %s (%s), batch %lld, median of %d device-timed runs; rows = a work-item per row "
           "(POOL_ROWS), elements = one per element; the device's default: %s\n",
           ctx->info.name, ctx->info.platform_name, (long long)batch, runs,
           cly_tuning_of(ctx)->pool_rows ? "rows" : "elements");
    printf("%-28s %-9s %12s %12s %8s %s\n", "layer", "pass", "elements ms", "rows ms", "speedup", "results");
    bool all_same = true;
    for (size_t l = 0; l < sizeof layers / sizeof layers[0]; l++) {
        const layer *L = &layers[l];
        cly_pool_params p = {.kind = L->kind, .size = {L->f, L->f}, .stride = {L->s, L->s},
                             .pad = {L->p, L->p, L->p, L->p}, .rounding = CLY_ROUND_FLOOR};
        cly_pool_geom g;
        char msg[512];
        if (!cly_pool_geom_make(&p, (cly_shape){batch, L->c, L->h, L->w}, &g, NULL, msg, sizeof msg)) {
            fprintf(stderr, "pool_bench: %s: %s\n", L->name, msg);
            return 1;
        }
        int64_t in = batch * L->c * L->h * L->w, out = batch * L->c * g.oh * g.ow;
        cl_mem x = filled(ctx, in, 1 + l), y = filled(ctx, out, 2), dy = filled(ctx, out, 3), dx = filled(ctx, in, 4);
        cl_mem am = L->kind == CLY_POOL_MAX ? filled(ctx, out, 5) : NULL;
        job j = {&g, {x, 0}, {y, 0}, {am, 0}, {dy, 0}, {dx, 0}, false};
        for (int pass = 0; pass < 2; pass++) {
            j.backward = pass == 1;
            bool eq = same(ctx, &j, pass ? in : out); /* the forward's argmax then feeds the backward */
            all_same &= eq;
            double e = 0, r = 0;
            /* Interleaved, so that both see the same load on a shared machine. */
            double te[2], tr[2];
            for (int k = 0; k < 2; k++) {
                te[k] = timed(ctx, &j, 0, runs);
                tr[k] = timed(ctx, &j, 1, runs);
            }
            e = te[0] < te[1] ? te[0] : te[1];
            r = tr[0] < tr[1] ? tr[0] : tr[1];
            printf("%-28s %-9s %12.3f %12.3f %7.2fx %s\n", L->name, pass ? "backward" : "forward", e, r, e / r,
                   eq ? "identical" : "DIFFER");
        }
        clReleaseMemObject(x);
        clReleaseMemObject(y);
        clReleaseMemObject(dy);
        clReleaseMemObject(dx);
        if (am)
            clReleaseMemObject(am);
    }
    unsetenv("CLAYER_POOL_ROWS");
    cly_context_destroy(ctx);
    if (!all_same) {
        fprintf(stderr, "pool_bench: the two layouts gave different results\n");
        return 1;
    }
    return 0;
}
