/* conv_bench: every clayer convolution algorithm on layers of real networks
 * against CLBlast's own Convgemm and CLBlast im2col + SGEMM, and against
 * oneDNN on the host CPU (blocked and plain layouts, where built with it),
 * measured in the same run, each result checked against a reference.
 *
 *   conv_bench [--runs N] [--batch N] [--device SEL] [--set NAME] [--json FILE] [--svg FILE] [SHAPE...]
 *
 * SHAPE is a benchdnn-style string (tests/kernels/conv_desc.h); without one,
 * the layers of --set run (conv_shapes.c): alexnet, vgg16, googlenet,
 * resnet50, resnet18, convnet-benchmarks, dilated, all, or default (a subset that
 * takes a minute or two on a 2-core CPU). Every layer is at batch 1 unless
 * --batch N (or its old name --mb N). Every series times a plain convolution
 * (no bias, no ReLU: what Convgemm computes): the median of N runs (default
 * 7) after a warm-up, on the device from a marker before to a marker after
 * (packing, im2col, GEMM included), GFLOP/s as 2*N*K*OH*OW*C/G*FH*FW / time,
 * and speed-ups time(reference) / time. Inputs are uniform in [-1, 1); every
 * output is compared with Convgemm's (or with im2col + SGEMM's where
 * Convgemm cannot run) as max |y - ref| / max |ref|, and above 1e-3 the run
 * fails. oneDNN's convolution (conv_onednn.c) runs after every OpenCL series,
 * with as many OpenMP threads as the OpenCL device has compute units, timed
 * on the host around each execution; its outputs are checked against the
 * fastest clayer algorithm's, failing above 1e-4. "<- auto" marks what AUTO
 * picks. Exit status 1 on any failure. */
#include "conv_clblast.h"
#include "conv_onednn.h"
#include "conv_report.h"
#include "conv_shapes.h"
#include "bench_time.h"
#include "bench_util.h"
#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ERROR 1e-3
#define MAX_ONEDNN_ERROR 1e-4 /* oneDNN against clayer: both accumulate in float32 */

/* What oneDNN needs of a layer after the OpenCL series: the host inputs and
 * the output it is checked against (NULL: unchecked). */
typedef struct peer_input {
    cly_conv_geom g;
    float *x, *w, *clayer;
} peer_input;

typedef struct conv_run {
    const cly_conv_geom *g;
    int series;
    cl_mem x, w, y, ws;
} conv_run;

static cly_status enqueue(cly_context *ctx, void *arg)
{
    const conv_run *r = arg;
    if (r->series == SERIES_CONVGEMM)
        return clblast_convgemm(ctx, r->g, r->x, r->w, r->y);
    if (r->series == SERIES_IM2COL_SGEMM)
        return clblast_im2col_sgemm(ctx, r->g, r->x, r->w, r->y, r->ws);
    return cly_conv_forward(ctx, (cly_conv_algo)r->series, r->g, (cly_buf){r->x, 0}, (cly_buf){r->w, 0},
                            (cly_buf){NULL, 0}, (cly_buf){r->y, 0}, (cly_buf){r->ws, 0});
}

/* Time one series into row->ms (or say why not in row->why). */
static void time_series(cly_context *ctx, conv_run *run, int runs, conv_row *row)
{
    const cly_conv_geom *g = run->g;
    const int s = run->series;
    int64_t wsf = s == SERIES_CONVGEMM        ? 0
                  : s == SERIES_IM2COL_SGEMM ? clblast_im2col_floats(g)
                                              : cly_conv_workspace(ctx, (cly_conv_algo)s, g);
    cl_int err = CL_SUCCESS;
    run->ws = wsf > 0 ? clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE, (size_t)wsf * 4, NULL, &err) : NULL;
    if (err != CL_SUCCESS) {
        snprintf(row->why[s], sizeof row->why[s], "workspace of %lld floats: OpenCL error %d", (long long)wsf,
                 (int)err);
        return;
    }
    row->ms[s] = bench_median_ms(ctx, enqueue, run, runs);
    if (row->ms[s] < 0)
        snprintf(row->why[s], sizeof row->why[s], "%s", cly_last_error(ctx));
    if (run->ws)
        clReleaseMemObject(run->ws);
}

/* Record series a's error against series `against` in row; 1 above `max`. */
static int check(conv_row *row, int a, int against, const float *y, const float *ref, size_t count, double max)
{
    row->err[a] = bench_max_rel_error(y, ref, count);
    if (row->err[a] <= max)
        return 0;
    fprintf(stderr, "ERROR: %s: %s differs from %s: max relative error %.3g > %g\n", row->d.name,
            conv_series_name(a), conv_series_name(against), row->err[a], max);
    return 1;
}

static void print_series(const conv_row *r, int s)
{
    printf("%-34s %-20s", r->d.name, conv_series_name(s));
    if (r->ms[s] < 0) {
        printf(" skipped: %s\n", r->why[s]);
        return;
    }
    printf(" %9.3f ms %7.1f GFLOP/s", r->ms[s], r->flops / r->ms[s] / 1e6);
    if (s >= SERIES_OPENCL_END) { /* a peer: how clayer's best compares with it */
        cly_conv_algo best = conv_row_best(r);
        if (best != CLY_CONV_AUTO)
            printf("  clayer %s x%.2f", cly_conv_algo_string(best), conv_row_speedup(r, best, s));
        printf("  min %.3f ms  %s", r->min_ms[s], r->onednn_impl[s - SERIES_ONEDNN_BLOCKED]);
        if (r->err[s] >= 0)
            printf("  err %.1e", r->err[s]);
        printf("\n");
        return;
    }
    const int refs[] = {SERIES_CONVGEMM, SERIES_IM2COL_SGEMM};
    for (int i = 0; i < 2; i++) {
        double x = s == refs[i] ? -1 : conv_row_speedup(r, s, refs[i]);
        if (x > 0)
            printf("  x%5.2f vs %s", x, i == 0 ? "Convgemm" : "im2col+SGEMM");
        else
            printf("  %*s", i == 0 ? 16 : 20, "");
    }
    if (r->err[s] >= 0)
        printf("  err %.1e", r->err[s]);
    printf("%s\n", s == (int)r->pick ? "  <- auto" : "");
}

/* oneDNN in both layouts on one layer (peer_input, freed here) into row,
 * printed; 0, or 1 on a wrong result. */
static int bench_onednn(conv_row *row, peer_input *in, int runs)
{
    const cly_conv_geom *g = &in->g;
    const size_t count = (size_t)(g->n * g->k * g->oh * g->ow);
    float *y = in->x ? malloc(count * sizeof *y) : NULL;
    int failed = 0;
    for (int l = ONEDNN_BLOCKED; l <= ONEDNN_PLAIN; l++) {
        const int a = SERIES_ONEDNN_BLOCKED + l;
        onednn_result o = {.ms = -1, .why = "not run: the layer's OpenCL part failed, or out of host memory"};
        if (y)
            o = onednn_conv(g, (onednn_layout)l, in->x, in->w, y, runs);
        row->ms[a] = o.ms;
        row->min_ms[a] = o.min_ms;
        snprintf(row->onednn_impl[l], sizeof row->onednn_impl[l], "%s", o.impl);
        snprintf(row->why[a], sizeof row->why[a], "%s", o.why);
        if (o.ms >= 0 && in->clayer)
            failed |= check(row, a, row->onednn_checked, y, in->clayer, count, MAX_ONEDNN_ERROR);
        print_series(row, a);
    }
    fflush(stdout);
    free(y);
    free(in->x);
    free(in->w);
    free(in->clayer);
    return failed;
}

/* Measure the OpenCL series of one layer into row, print them, and keep in
 * `peer` what oneDNN needs; 0, or 1 on a failure or a wrong result. */
static int bench(cly_context *ctx, conv_row *row, peer_input *peer, int runs)
{
    const conv_desc *d = &row->d;
    cly_conv_params p = conv_desc_params(d);
    cly_conv_geom g;
    char msg[256];
    if (!cly_conv_geom_make(&p, (cly_shape){d->mb, d->ic, d->ih, d->iw}, &g, NULL, msg, sizeof msg)) {
        fprintf(stderr, "%s: %s\n", d->text, msg);
        return 1;
    }
    g.bias = g.relu = false; /* a plain convolution, as Convgemm computes */
    row->flops = 2.0 * g.n * g.k * g.oh * g.ow * (g.c / g.groups) * g.fh * g.fw;
    row->pick = cly_conv_choose(ctx, &g, CLY_CONV_AUTO);
    row->reference = row->onednn_checked = -1;
    for (int s = 0; s < SERIES_COUNT; s++)
        row->ms[s] = row->err[s] = row->min_ms[s] = -1;
    const int64_t ycount = g.n * g.k * g.oh * g.ow;
    cly_tensor *tx = NULL, *tw = NULL, *ty[SERIES_COUNT] = {NULL};
    float *host = NULL, *ref = NULL, *hx = NULL, *hw = NULL;
    int failed = 0;
    cly_status s;
    if ((s = cly_tensor_create(ctx, (cly_shape){g.n, g.c, g.h, g.w}, &tx)) ||
        (s = cly_tensor_create(ctx, (cly_shape){g.k, g.c / g.groups, g.fh, g.fw}, &tw)) ||
        (s = bench_fill_uniform(tx, g.n * g.c * g.h * g.w, 1, &hx)) ||
        (s = bench_fill_uniform(tw, g.k * (g.c / g.groups) * g.fh * g.fw, 2, &hw))) {
        fprintf(stderr, "%s: %s\n", d->text, cly_last_error(ctx));
        failed = 1;
        goto out;
    }
    for (int a = SERIES_FIRST; a < SERIES_OPENCL_END; a++) {
        bool ok = a == SERIES_CONVGEMM       ? clblast_convgemm_supports(&g, row->why[a], sizeof row->why[a])
                  : a == SERIES_IM2COL_SGEMM ? clblast_im2col_supports(&g, row->why[a], sizeof row->why[a])
                                             : cly_conv_supports(ctx, (cly_conv_algo)a, &g);
        if (!ok) {
            if (a < CLY_CONV_ALGO_COUNT)
                snprintf(row->why[a], sizeof row->why[a], "not supported for this layer");
            continue;
        }
        if ((s = cly_tensor_create(ctx, (cly_shape){g.n, g.k, g.oh, g.ow}, &ty[a])) ||
            (s = cly_tensor_fill(ty[a], NAN))) {
            snprintf(row->why[a], sizeof row->why[a], "%s", cly_last_error(ctx));
            continue;
        }
        conv_run run = {&g, a, tx->buffer, tw->buffer, ty[a]->buffer, NULL};
        time_series(ctx, &run, runs, row);
    }
    /* The reference: Convgemm, else im2col + SGEMM. */
    host = malloc((size_t)ycount * sizeof *host);
    ref = malloc((size_t)ycount * sizeof *ref);
    row->reference = row->ms[SERIES_CONVGEMM] > 0       ? SERIES_CONVGEMM
                     : row->ms[SERIES_IM2COL_SGEMM] > 0 ? SERIES_IM2COL_SGEMM
                                                        : -1;
    if (!host || !ref || (row->reference >= 0 && cly_tensor_read(ty[row->reference], ref, ycount))) {
        fprintf(stderr, "%s: reading the reference failed\n", d->name);
        failed = 1;
        goto out;
    }
    for (int a = SERIES_FIRST; a < SERIES_OPENCL_END && row->reference >= 0; a++) {
        if (a == row->reference || row->ms[a] < 0)
            continue;
        if (cly_tensor_read(ty[a], host, ycount)) {
            fprintf(stderr, "%s: %s: %s\n", d->name, conv_series_name(a), cly_last_error(ctx));
            failed = 1;
            continue;
        }
        failed |= check(row, a, row->reference, host, ref, (size_t)ycount, MAX_ERROR);
    }
    /* For oneDNN: the inputs and clayer's fastest output (the CLBlast
     * reference's where no clayer algorithm ran). */
    cly_conv_algo best = conv_row_best(row);
    row->onednn_checked = best != CLY_CONV_AUTO ? (int)best : row->reference;
    if (row->onednn_checked >= 0 && cly_tensor_read(ty[row->onednn_checked], host, ycount)) {
        fprintf(stderr, "%s: %s: %s\n", d->name, conv_series_name(row->onednn_checked), cly_last_error(ctx));
        failed = 1;
        goto out;
    }
    *peer = (peer_input){g, hx, hw, row->onednn_checked >= 0 ? host : NULL};
    hx = hw = NULL;
    if (peer->clayer)
        host = NULL;
    for (int a = SERIES_FIRST; a < SERIES_OPENCL_END; a++)
        print_series(row, a);
    if (row->reference < 0)
        printf("%-34s unverified: neither CLBlast reference ran\n", d->name);
    fflush(stdout);
out:
    free(host);
    free(ref);
    free(hx);
    free(hw);
    cly_tensor_destroy(tx);
    cly_tensor_destroy(tw);
    for (int a = 0; a < SERIES_COUNT; a++)
        cly_tensor_destroy(ty[a]);
    return failed;
}

static const char usage[] = "usage: conv_bench [--runs N] [--batch N] [--device SEL] "
                            "[--set alexnet|vgg16|googlenet|resnet50|resnet18|convnet-benchmarks|dilated|all|default] "
                            "[--json FILE] [--svg FILE] [SHAPE...]\n";

int main(int argc, char **argv)
{
    const char *const extra[] = {"--json", "--svg", NULL};
    const char *extra_val[2] = {NULL, NULL};
    conv_args args = {.runs = 7, .set = "default"};
    if (conv_args_parse(argc, argv, extra, extra_val, usage, &args))
        return 2;
    const int runs = args.runs, mb = args.mb;
    const char *json = extra_val[0], *svg = extra_val[1];
    /* The layers: the SHAPE arguments, else the set's. */
    int failed = 0;
    size_t n;
    conv_desc *descs = conv_shapes_select(args.set, args.shapes, args.nshapes, mb, &n, &failed);
    conv_row *rows = calloc(n ? n : 1, sizeof *rows);
    peer_input *peer = calloc(n ? n : 1, sizeof *peer);
    if (!descs || !rows || !peer)
        return 1;
    for (size_t i = 0; i < n; i++)
        rows[i].d = descs[i];
    free(descs);
    cly_context *ctx;
    if (cly_context_create(args.device, &ctx) != CLY_SUCCESS) {
        fprintf(stderr, "%s\n", cly_last_error(NULL));
        free(rows);
        free(peer);
        return 1;
    }
    const cly_device_info *info = cly_context_device(ctx);
    printf("device: %s (%s, driver %s), median of %d runs after a warm-up, FP32, no bias or ReLU, %s\n", info->name,
           info->platform_name, info->driver_version, runs, mb > 0 ? "--batch override" : "batch as given (sets: 1)");
    /* oneDNN gets as many threads as the OpenCL device has compute units
     * (pocl: one per core), so both use the same cores. */
    cli_host host;
    cli_host_cpu(&host);
    printf("host CPU: %s (%s), load average %.2f %.2f %.2f\n", host.cpu_model, host.isa, host.load[0], host.load[1],
           host.load[2]);
    conv_peer_info peers = {.onednn_threads = onednn_set_threads((int)info->compute_units),
                            .wait_policy = getenv("OMP_WAIT_POLICY")};
    onednn_describe(peers.onednn, sizeof peers.onednn);
    if (peers.onednn_threads > 0)
        printf("peer: %s, %d threads = the OpenCL device's %u compute units, OMP_WAIT_POLICY=%s, timed on the host "
               "after every OpenCL series\n",
               peers.onednn, peers.onednn_threads, info->compute_units,
               peers.wait_policy ? peers.wait_policy : "(default)");
    else
        printf("peer: %s\n", peers.onednn);
    for (size_t i = 0; i < n; i++)
        failed |= bench(ctx, &rows[i], &peer[i], runs);
    /* oneDNN after every OpenCL series: its idle OpenMP threads spin for a
     * while after each execution and must not share the cores with pocl's. */
    printf("\n");
    for (size_t i = 0; i < n; i++)
        failed |= bench_onednn(&rows[i], &peer[i], runs);
    conv_print_summary(rows, n);
    if (json && conv_write_json(json, info, &peers, runs, mb, args.nshapes ? NULL : args.set, rows, n) == 0)
        printf("json: %s\n", json);
    else if (json)
        failed = 1;
    if (svg && conv_write_svg(svg, info, runs, rows, n) == 0)
        printf("chart: %s\n", svg);
    else if (svg)
        failed = 1;
    cly_context_destroy(ctx);
    free(rows);
    free(peer);
    if (failed)
        fprintf(stderr, "conv_bench: FAILED (see the messages above)\n");
    return failed;
}
