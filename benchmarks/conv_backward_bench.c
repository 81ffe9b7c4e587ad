/* conv_backward_bench: clayer's convolution backward passes (data: dx from
 * dy and w; weights: dw from x and dy) on layers of real networks, every
 * method of each pass's table, against oneDNN's backward primitives on the
 * host CPU (where built with it), measured in the same run.
 *
 *   conv_backward_bench [--runs N] [--batch N] [--device SEL] [--set NAME] [SHAPE...]
 *
 * SHAPE is a benchdnn-style string (tests/kernels/conv_desc.h); without one,
 * the layers of --set run (conv_shapes.c; default resnet18), at --batch N
 * (default 8). Each clayer method is forced by naming it in
 * $CLAYER_CONV_BACKWARD_DATA / _WEIGHTS (a method that refuses the shape is
 * skipped, and the line says so), after the forward algorithm AUTO picks;
 * "<- auto" marks the one that runs with neither variable set. Timing: the
 * median of N runs (default 5) after a warm-up, on the device between
 * markers (im2col, GEMM, col2im included), no bias gradient, beta 0.
 * oneDNN (conv_onednn.c) runs after every OpenCL series, in its blocked
 * layout with inputs reordered once, untimed, with as many OpenMP threads as
 * the device has compute units, timed on the host. GFLOP/s is
 * 2*N*K*OH*OW*C/G*FH*FW / time for either pass; "x" figures are
 * time(oneDNN) / time(clayer) (above 1, clayer is faster), for the fastest
 * clayer method and for AUTO's, with their geometric means at the end.
 * Inputs are uniform in [-1, 1); every method's dx (dw) is compared with the
 * first method's and with oneDNN's as max |a - b| / max |b|, and above 1e-4
 * the run fails (exit status 1). */
#include "bench_time.h"
#include "bench_util.h"
#include "cli.h"
#include "conv_onednn.h"
#include "conv_shapes.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ERROR 1e-4 /* every method and oneDNN accumulate in float32 */
#define MAX_METHODS 8

enum { PASS_DATA, PASS_WEIGHTS, PASS_COUNT };
static const char *const pass_name[PASS_COUNT] = {"data", "weights"};
static const char *const pass_env[PASS_COUNT] = {"CLAYER_CONV_BACKWARD_DATA", "CLAYER_CONV_BACKWARD_WEIGHTS"};

typedef struct series {
    const char *name;
    double ms;                    /* median ms; < 0: did not run (why) */
    double err_first, err_onednn; /* < 0: not checked */
    float *out;                   /* the dx or dw it computed */
    char why[192];
} series;

typedef struct pass_row {
    series m[MAX_METHODS]; /* the table's methods, in its order */
    size_t count;
    const char *auto_name; /* what runs with no variable set */
    onednn_result onednn;
} pass_row;

typedef struct layer {
    conv_desc d;
    cly_conv_geom g;
    cly_conv_algo algo; /* the forward algorithm AUTO resolves to */
    double flops;
    float *x, *w, *dy; /* host inputs, kept for oneDNN */
    pass_row pass[PASS_COUNT];
} layer;

typedef struct bwd_run {
    const cly_conv_geom *g;
    cly_conv_algo algo;
    int pass;
    cl_mem x, w, dy, out, ws;
} bwd_run;

static cly_status enqueue(cly_context *ctx, void *arg)
{
    const bwd_run *r = arg;
    const cly_buf dy = {r->dy, 0}, out = {r->out, 0}, ws = {r->ws, 0};
    if (r->pass == PASS_DATA)
        return cly_conv_backward_data(ctx, r->algo, r->g, dy, (cly_buf){r->w, 0}, out, 0.0f, ws);
    return cly_conv_backward_weights(ctx, r->algo, r->g, (cly_buf){r->x, 0}, dy, out, (cly_buf){NULL, 0}, 0.0f, ws);
}

static int64_t pass_count(const cly_conv_geom *g, int pass)
{
    return pass == PASS_DATA ? g->n * g->c * g->h * g->w : g->k * (g->c / g->groups) * g->fh * g->fw;
}

/* *err = max |a - b| / max |b|; 1 (after saying so) above MAX_ERROR. */
static int check(const layer *L, int pass, const char *a, const char *b, const float *x, const float *ref,
                 double *err)
{
    *err = bench_max_rel_error(x, ref, (size_t)pass_count(&L->g, pass));
    if (*err <= MAX_ERROR)
        return 0;
    fprintf(stderr, "ERROR: %s: backward %s: %s differs from %s: max relative error %.3g > %g\n", L->d.name,
            pass_name[pass], a, b, *err, MAX_ERROR);
    return 1;
}

/* Time method s of one pass (forced by its variable, already set) into s. */
static void time_method(cly_context *ctx, bwd_run *run, cly_tensor *out, int runs, series *s)
{
    const int64_t wsf = cly_conv_backward_workspace(ctx, run->algo, run->g); /* depends on the forced method */
    cl_int err = CL_SUCCESS;
    run->ws = wsf > 0 ? clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE, (size_t)wsf * 4, NULL, &err) : NULL;
    if (err != CL_SUCCESS) {
        snprintf(s->why, sizeof s->why, "workspace of %lld floats: OpenCL error %d", (long long)wsf, (int)err);
        return;
    }
    run->out = out->buffer;
    const int64_t count = pass_count(run->g, run->pass);
    if (cly_tensor_fill(out, NAN) == CLY_SUCCESS)
        s->ms = bench_median_ms(ctx, enqueue, run, runs);
    if (s->ms < 0)
        snprintf(s->why, sizeof s->why, "%s", cly_last_error(ctx));
    else if (!(s->out = malloc((size_t)count * sizeof *s->out)) || cly_tensor_read(out, s->out, count))
        snprintf(s->why, sizeof s->why, "reading the result failed"), s->ms = -1;
    if (run->ws)
        clReleaseMemObject(run->ws);
}

/* Every clayer method of both passes on one layer into L; 0, or 1 on a
 * failure or a wrong result. */
static int bench_clayer(cly_context *ctx, layer *L, int runs)
{
    const cly_conv_params p = conv_desc_params(&L->d);
    const conv_desc *d = &L->d;
    cly_conv_geom *g = &L->g;
    char msg[256];
    for (int pass = 0; pass < PASS_COUNT; pass++)
        L->pass[pass].onednn = (onednn_result){.ms = -1, .why = "not run: the layer's OpenCL part failed"};
    if (!cly_conv_geom_make(&p, (cly_shape){d->mb, d->ic, d->ih, d->iw}, g, NULL, msg, sizeof msg)) {
        fprintf(stderr, "%s: %s\n", d->text, msg);
        return 1;
    }
    g->bias = g->relu = false;
    L->flops = 2.0 * g->n * g->k * g->oh * g->ow * (g->c / g->groups) * g->fh * g->fw;
    L->algo = cly_conv_choose(ctx, g, CLY_CONV_AUTO);
    const cly_shape xs = {g->n, g->c, g->h, g->w}, ws = {g->k, g->c / g->groups, g->fh, g->fw};
    cly_tensor *tx = NULL, *tw = NULL, *tdy = NULL, *tout[PASS_COUNT] = {NULL};
    int failed = 0;
    if (cly_tensor_create(ctx, xs, &tx) || cly_tensor_create(ctx, ws, &tw) ||
        cly_tensor_create(ctx, (cly_shape){g->n, g->k, g->oh, g->ow}, &tdy) ||
        cly_tensor_create(ctx, xs, &tout[PASS_DATA]) || cly_tensor_create(ctx, ws, &tout[PASS_WEIGHTS]) ||
        bench_fill_uniform(tx, xs.n * xs.c * xs.h * xs.w, 1, &L->x) ||
        bench_fill_uniform(tw, ws.n * ws.c * ws.h * ws.w, 2, &L->w) ||
        bench_fill_uniform(tdy, g->n * g->k * g->oh * g->ow, 3, &L->dy)) {
        fprintf(stderr, "%s: %s\n", d->text, cly_last_error(ctx));
        failed = 1;
        goto out;
    }
    for (int pass = 0; pass < PASS_COUNT; pass++) {
        pass_row *P = &L->pass[pass];
        const bool data = pass == PASS_DATA;
        P->auto_name = cly_conv_backward_method(ctx, L->algo, g, data);
        const series *first = NULL;
        const char *name;
        for (size_t i = 0; i < MAX_METHODS && (name = cly_conv_backward_method_name(data, i)); i++) {
            series *s = &P->m[P->count++];
            *s = (series){.name = name, .ms = -1, .err_first = -1, .err_onednn = -1};
            setenv(pass_env[pass], name, 1);
            /* The library falls back to its first choice where the named
             * method refuses the shape: that is not this method's figure. */
            const char *runs_instead = cly_conv_backward_method(ctx, L->algo, g, data);
            if (!runs_instead || strcmp(runs_instead, name)) {
                snprintf(s->why, sizeof s->why, "does not support this shape");
                continue;
            }
            bwd_run run = {g, L->algo, pass, tx->buffer, tw->buffer, tdy->buffer, NULL, NULL};
            time_method(ctx, &run, tout[pass], runs, s);
            if (s->ms < 0) {
                failed = 1;
                continue;
            }
            if (first)
                failed |= check(L, pass, s->name, first->name, s->out, first->out, &s->err_first);
            else
                first = s;
        }
        unsetenv(pass_env[pass]);
    }
out:
    cly_tensor_destroy(tx);
    cly_tensor_destroy(tw);
    cly_tensor_destroy(tdy);
    for (int pass = 0; pass < PASS_COUNT; pass++)
        cly_tensor_destroy(tout[pass]);
    return failed;
}

/* oneDNN's two passes on one layer, each checked against every clayer
 * method that ran; frees what the layer kept. 0, or 1 on a wrong result. */
static int bench_onednn(layer *L, int runs)
{
    int failed = 0;
    for (int pass = 0; pass < PASS_COUNT && L->dy; pass++) {
        pass_row *P = &L->pass[pass];
        float *out = malloc((size_t)pass_count(&L->g, pass) * sizeof *out);
        P->onednn = (onednn_result){.ms = -1, .why = "out of host memory"};
        if (out)
            P->onednn = pass == PASS_DATA ? onednn_conv_backward_data(&L->g, L->dy, L->w, out, runs)
                                          : onednn_conv_backward_weights(&L->g, L->x, L->dy, out, runs);
        for (size_t i = 0; i < P->count && P->onednn.ms >= 0; i++)
            if (P->m[i].out)
                failed |= check(L, pass, P->m[i].name, "oneDNN", P->m[i].out, out, &P->m[i].err_onednn);
        free(out);
    }
    free(L->x);
    free(L->w);
    free(L->dy);
    return failed;
}

/* The fastest method of a pass that ran; NULL when none did. */
static const series *fastest(const pass_row *P)
{
    const series *best = NULL;
    for (size_t i = 0; i < P->count; i++)
        if (P->m[i].ms >= 0 && (!best || P->m[i].ms < best->ms))
            best = &P->m[i];
    return best;
}

static const series *auto_series(const pass_row *P)
{
    for (size_t i = 0; i < P->count; i++)
        if (P->auto_name && !strcmp(P->m[i].name, P->auto_name) && P->m[i].ms >= 0)
            return &P->m[i];
    return NULL;
}

/* One layer's lines; adds the log speed-ups of fastest and auto to sums. */
static void print_layer(const layer *L, double log_sum[PASS_COUNT][2], int log_n[PASS_COUNT][2])
{
    for (int pass = 0; pass < PASS_COUNT; pass++) {
        const pass_row *P = &L->pass[pass];
        for (size_t i = 0; i < P->count; i++) {
            const series *s = &P->m[i];
            printf("%-30s %-7s %-16s", L->d.name, pass_name[pass], s->name);
            if (s->ms < 0) {
                printf(" skipped: %s\n", s->why);
                continue;
            }
            printf(" %9.3f ms %7.1f GFLOP/s", s->ms, L->flops / s->ms / 1e6);
            if (!(s->err_first < 0)) /* a NaN error is shown too */
                printf("  err %.1e vs first", s->err_first);
            if (!(s->err_onednn < 0))
                printf("  err %.1e vs oneDNN", s->err_onednn);
            printf("%s\n", P->auto_name && !strcmp(P->auto_name, s->name) ? "  <- auto" : "");
        }
        const onednn_result *o = &P->onednn;
        printf("%-30s %-7s %-16s", L->d.name, pass_name[pass], "oneDNN");
        if (o->ms < 0) {
            printf(" skipped: %s\n", o->why);
            continue;
        }
        printf(" %9.3f ms %7.1f GFLOP/s  min %.3f ms  %s", o->ms, L->flops / o->ms / 1e6, o->min_ms, o->impl);
        const series *which[2] = {fastest(P), auto_series(P)};
        for (int k = 0; k < 2; k++) {
            if (!which[k])
                continue;
            const double x = o->ms / which[k]->ms;
            printf("  %s %s x%.2f", k == 0 ? "fastest" : "auto", which[k]->name, x);
            log_sum[pass][k] += log(x);
            log_n[pass][k]++;
        }
        printf("\n");
    }
}

static const char usage[] =
    "usage: conv_backward_bench [--runs N] [--batch N] [--device SEL] [--set NAME] [SHAPE...]\n";

int main(int argc, char **argv)
{
    conv_args args = {.runs = 5, .mb = 8, .set = "resnet18"};
    if (conv_args_parse(argc, argv, NULL, NULL, usage, &args))
        return 2;
    const int runs = args.runs, mb = args.mb;
    int failed = 0;
    size_t n;
    conv_desc *descs = conv_shapes_select(args.set, args.shapes, args.nshapes, mb, &n, &failed);
    layer *layers = calloc(n ? n : 1, sizeof *layers);
    if (!descs || !layers)
        return 1;
    for (size_t i = 0; i < n; i++)
        layers[i].d = descs[i];
    free(descs);
    /* "<- auto" is what runs with neither variable set, whatever the caller's environment. */
    for (int pass = 0; pass < PASS_COUNT; pass++)
        unsetenv(pass_env[pass]);
    cly_context *ctx;
    if (cly_context_create(args.device, &ctx) != CLY_SUCCESS) {
        fprintf(stderr, "%s\n", cly_last_error(NULL));
        return 1;
    }
    const cly_device_info *info = cly_context_device(ctx);
    printf("device: %s (%s, driver %s), median of %d runs after a warm-up, FP32, batch %d, no bias gradient\n",
           info->name, info->platform_name, info->driver_version, runs, mb);
    cli_host host;
    cli_host_cpu(&host);
    printf("host CPU: %s (%s), load average %.2f %.2f %.2f\n", host.cpu_model, host.isa, host.load[0], host.load[1],
           host.load[2]);
    /* As many oneDNN threads as the device has compute units (pocl: one per core). */
    char peer[96];
    const int threads = onednn_set_threads((int)info->compute_units);
    onednn_describe(peer, sizeof peer);
    const char *wait = getenv("OMP_WAIT_POLICY");
    printf("peer: %s, %d threads, OMP_WAIT_POLICY=%s, blocked layout, after every OpenCL series; "
           "x = time(oneDNN) / time(clayer)\n\n",
           peer, threads, wait ? wait : "(default)");
    fflush(stdout);
    for (size_t i = 0; i < n; i++)
        failed |= bench_clayer(ctx, &layers[i], runs);
    /* oneDNN after every OpenCL series: its idle OpenMP threads spin for a
     * while after each execution and must not share the cores with pocl's. */
    for (size_t i = 0; i < n; i++)
        failed |= bench_onednn(&layers[i], runs);
    double log_sum[PASS_COUNT][2] = {{0}};
    int log_n[PASS_COUNT][2] = {{0}};
    for (size_t i = 0; i < n; i++)
        print_layer(&layers[i], log_sum, log_n);
    for (int pass = 0; pass < PASS_COUNT; pass++) {
        printf("geomean backward %-7s oneDNN / clayer:", pass_name[pass]);
        for (int k = 0; k < 2; k++)
            if (log_n[pass][k])
                printf("  %s x%.2f over %d layers", k == 0 ? "fastest" : "auto", exp(log_sum[pass][k] / log_n[pass][k]),
                       log_n[pass][k]);
        printf("\n");
    }
    for (size_t i = 0; i < n; i++)
        for (int pass = 0; pass < PASS_COUNT; pass++)
            for (size_t m = 0; m < layers[i].pass[pass].count; m++)
                free(layers[i].pass[pass].m[m].out);
    free(layers);
    cly_context_destroy(ctx);
    fflush(stdout); /* the table before the verdict, also when stdout is a file */
    if (failed)
        fprintf(stderr, "conv_backward_bench: FAILED (see the messages above)\n");
    return failed;
}
