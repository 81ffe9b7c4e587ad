/* Convolution geometry (defaults, validation, output size), which algorithm
 * supports which shape, the AUTO choice, and workspace sizes. No OpenCL
 * calls: the graph's shape inference uses this file too. */
#include "kernels/conv_internal.h"
#include "base/shape.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool fail(char *msg, size_t size, const char *fmt, ...) CLY_FMT(3, 4);
static bool fail(char *msg, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, size, fmt, ap);
    va_end(ap);
    return false;
}

bool cly_conv_geom_make(const cly_conv_params *p, cly_shape in, cly_conv_geom *g, bool *rounded, char *msg,
                        size_t size)
{
    if (size)
        msg[0] = '\0';
    if (!p || !g)
        return fail(msg, size, "params and geometry must not be NULL");
    if (in.n < 1 || in.c < 1 || in.h < 1 || in.w < 1)
        return fail(msg, size, "input " CLY_SHAPE_FMT ": every dimension must be >= 1", CLY_SHAPE_ARGS(in));
    if (p->filters < 1)
        return fail(msg, size, "filters (K) = %lld must be >= 1", (long long)p->filters);
    if (p->size.h < 1 || p->size.w < 1)
        return fail(msg, size, "filter size %lldx%lld: both extents must be >= 1", (long long)p->size.h,
                    (long long)p->size.w);
    if (p->stride.h < 0 || p->stride.w < 0)
        return fail(msg, size, "stride %lldx%lld must be >= 1 (0 means 1)", (long long)p->stride.h,
                    (long long)p->stride.w);
    if (p->dilation.h < 0 || p->dilation.w < 0)
        return fail(msg, size, "dilation %lldx%lld must be >= 1 (0 means 1)", (long long)p->dilation.h,
                    (long long)p->dilation.w);
    if (p->pad.top < 0 || p->pad.bottom < 0 || p->pad.left < 0 || p->pad.right < 0)
        return fail(msg, size, "padding top %lld, bottom %lld, left %lld, right %lld: each must be >= 0",
                    (long long)p->pad.top, (long long)p->pad.bottom, (long long)p->pad.left, (long long)p->pad.right);
    if (p->groups < 0)
        return fail(msg, size, "groups = %lld must be >= 1 (0 means 1)", (long long)p->groups);
    if ((unsigned)p->rounding > CLY_ROUND_CEIL)
        return fail(msg, size, "rounding = %lld is not a cly_rounding value", (long long)p->rounding);
    cly_conv_geom r = {
        .n = in.n, .c = in.c, .h = in.h, .w = in.w,
        .k = p->filters, .fh = p->size.h, .fw = p->size.w,
        .sh = p->stride.h ? p->stride.h : 1, .sw = p->stride.w ? p->stride.w : 1,
        .pt = p->pad.top, .pb = p->pad.bottom, .pl = p->pad.left, .pr = p->pad.right,
        .dh = p->dilation.h ? p->dilation.h : 1, .dw = p->dilation.w ? p->dilation.w : 1,
        .groups = p->groups ? p->groups : 1,
        .bias = !p->no_bias, .relu = p->relu,
    };
    if (r.c % r.groups != 0)
        return fail(msg, size, "input channels C = %lld are not divisible by groups = %lld", (long long)r.c,
                    (long long)r.groups);
    if (r.k % r.groups != 0)
        return fail(msg, size, "filters K = %lld are not divisible by groups = %lld", (long long)r.k,
                    (long long)r.groups);
    if (!cly_window_out((cly_window){r.h, r.fh, r.sh, r.pt, r.pb, r.dh}, p->rounding, "H", &r.oh, msg, size) ||
        !cly_window_out((cly_window){r.w, r.fw, r.sw, r.pl, r.pr, r.dw}, p->rounding, "W", &r.ow, msg, size))
        return false;
    /* Every count the kernels index must fit in 64 bits. */
    int64_t t;
    if (!cly_mul_i64(r.n, r.c, &t) || !cly_mul_i64(t, r.h, &t) || !cly_mul_i64(t, r.w, &t) ||
        !cly_mul_i64(r.n, r.k, &t) || !cly_mul_i64(t, r.oh, &t) || !cly_mul_i64(t, r.ow, &t) ||
        !cly_mul_i64(r.k, r.c / r.groups, &t) || !cly_mul_i64(t, r.fh, &t) || !cly_mul_i64(t, r.fw, &t) ||
        !cly_mul_i64(t, r.oh, &t) || !cly_mul_i64(t, r.ow, &t))
        return fail(msg, size, "element counts overflow 64 bits");
    bool rnd = (r.h + r.pt + r.pb - r.dh * (r.fh - 1) - 1) % r.sh != 0 ||
               (r.w + r.pl + r.pr - r.dw * (r.fw - 1) - 1) % r.sw != 0;
    if (rounded)
        *rounded = rnd;
    *g = r;
    return true;
}

/* Kernels take single dimensions as int (products are computed in 64 bits). */
static bool dims_fit_int(const cly_conv_geom *g)
{
    const int64_t v[] = {g->n, g->c, g->h, g->w, g->k, g->fh, g->fw, g->sh, g->sw, g->pt, g->pb,
                         g->pl, g->pr, g->dh, g->dw, g->oh, g->ow, g->h + g->pt + g->pb, g->w + g->pl + g->pr};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        if (v[i] > INT32_MAX / 2)
            return false;
    return true;
}

static bool fits_alloc(const cly_context *ctx, int64_t floats)
{
    int64_t size = (int64_t)cly_real_size(ctx);
    return floats >= 0 && floats <= INT64_MAX / size && (uint64_t)(floats * size) <= ctx->info.max_alloc_bytes;
}

bool cly_conv_check_support(const cly_context *ctx, cly_conv_algo algo, const cly_conv_geom *g, char *msg,
                            size_t size)
{
    if (size)
        msg[0] = '\0';
    if (algo == CLY_CONV_AUTO) {
        for (int a = CLY_CONV_AUTO + 1; a < CLY_CONV_ALGO_COUNT; a++)
            if (cly_conv_check_support(ctx, (cly_conv_algo)a, g, msg, size))
                return true;
        return false;
    }
    if ((unsigned)algo >= CLY_CONV_ALGO_COUNT) {
        snprintf(msg, size, "%d is not a convolution algorithm", (int)algo);
        return false;
    }
    if (!dims_fit_int(g)) {
        snprintf(msg, size, "%s: a single dimension exceeds 2^30", cly_conv_algo_string(algo));
        return false;
    }
    int64_t per_sample = 0;
    switch (algo) {
    case CLY_CONV_DIRECT:
        per_sample = cly_conv_direct_sample_floats(ctx, g);
        break;
    case CLY_CONV_IM2COL:
        if (g->c * g->fh * g->fw > INT32_MAX / 2) { /* rows of the column matrix, an int in im2col.cl */
            snprintf(msg, size, "im2col: C*FH*FW = %lld rows exceed 2^30", (long long)(g->c * g->fh * g->fw));
            return false;
        }
        per_sample = cly_conv_im2col_sample_floats(g);
        break;
    case CLY_CONV_GEMM1X1:
        if (g->fh != 1 || g->fw != 1 || g->sh != 1 || g->sw != 1 || g->pt || g->pb || g->pl || g->pr) {
            snprintf(msg, size,
                     "gemm1x1 needs a 1x1 filter, stride 1 and no padding; this layer has a %lldx%lld filter, "
                     "stride %lldx%lld, padding %lld/%lld/%lld/%lld (top/bottom/left/right)",
                     (long long)g->fh, (long long)g->fw, (long long)g->sh, (long long)g->sw, (long long)g->pt,
                     (long long)g->pb, (long long)g->pl, (long long)g->pr);
            return false;
        }
        return true;
    default:
        break;
    }
    if (!fits_alloc(ctx, per_sample)) {
        snprintf(msg, size, "%s needs a workspace of %lld floats per sample, more than the largest allocation of "
                 "device '%s' (%llu bytes)", cly_conv_algo_string(algo), (long long)per_sample, ctx->info.name,
                 (unsigned long long)ctx->info.max_alloc_bytes);
        return false;
    }
    return true;
}

bool cly_conv_supports(const cly_context *ctx, cly_conv_algo algo, const cly_conv_geom *g)
{
    char msg[256];
    return cly_conv_check_support(ctx, algo, g, msg, sizeof msg);
}

int64_t cly_conv_chunk(const cly_context *ctx, int64_t per_sample, int64_t n)
{
    int64_t budget = (int64_t)1 << 24; /* floats: 64 MiB */
    int64_t cap = (int64_t)(ctx->info.max_alloc_bytes / 4);
    if (cap < budget)
        budget = cap;
    if (per_sample <= 0)
        return n;
    int64_t nb = budget / per_sample;
    return nb < 1 ? 1 : nb > n ? n : nb;
}

static cly_conv_algo algo_from_env(void)
{
    const char *v = getenv("CLAYER_CONV_ALGO");
    if (!v || !*v)
        return CLY_CONV_AUTO;
    for (int a = 0; a < CLY_CONV_ALGO_COUNT; a++)
        if (strcasecmp(v, cly_conv_algo_string((cly_conv_algo)a)) == 0)
            return (cly_conv_algo)a;
    cly_log(CLY_LOG_WARN, "CLAYER_CONV_ALGO='%s' is not one of auto, direct, im2col, gemm1x1; ignored", v);
    return CLY_CONV_AUTO;
}

/* The AUTO heuristic.
 *
 * CPUs: direct, always. Measured with benchmarks/conv_bench on the
 * development machine (pocl 3.1, 2 shared cores of AVX-512, batch 1 unless
 * noted, median of 7 device-timed runs, ReLU fused; the machine is shared,
 * so single figures move by 15% and more), direct beat im2col + CLBlast and
 * gemm1x1 on every layer tried, big and small:
 *
 *   layer                          direct GFLOP/s   vs im2col   vs gemm1x1
 *   VGG-16 conv1_2 .. conv5_2          122-255      4.2-21x         -
 *   ResNet 3x3 at 56, 28, 14, 7        229-258      7.6-20x         -
 *   ResNet 7x7 s2, AlexNet conv1       217-221      7.8-8.5x        -
 *   ResNet-50 3x3 s2, 1x1 s2             99-116     3.4-3.8x        -
 *   ResNet-50 1x1 s1 (56 .. 7)         118-172      4.1-6.6x      3.8-6.5x
 *   batch 8: ResNet 3x3 / 1x1           263 / 126   8.7 / 4.2x     3.9x
 *   LeNet c1/c3, CIFAR 32x32/8x8          25-77     4.7-16x         -
 *   tiny 1x1 (4x4, 2x2, 1x1 outputs)      2-14      1.2-8.6x      1.1-8.7x
 *   AlexNet conv2 g2, ResNeXt g32       267 / 76    8.8 / 27x       -
 *   GoogLeNet 5x5, MobileNet depthwise  102 / 20    4.4 / 41x       -
 *
 * Other devices were not measured (no GPU in this task). There CLBlast's
 * GEMM is tuned per device while the direct kernel runs an untuned scalar
 * tile, so 1x1/s1/p0 goes to gemm1x1 and an ungrouped layer with a
 * reduction C*FH*FW of at least 64 to im2col; grouped layers stay direct.
 * Re-measure with conv_bench on a GPU before trusting this branch. */
static cly_conv_algo heuristic(const cly_context *ctx, const cly_conv_geom *g)
{
    if (ctx->info.type != CLY_DEVICE_CPU && g->groups == 1) {
        if (cly_conv_supports(ctx, CLY_CONV_GEMM1X1, g))
            return CLY_CONV_GEMM1X1;
        if (g->c * g->fh * g->fw >= 64 && cly_conv_supports(ctx, CLY_CONV_IM2COL, g))
            return CLY_CONV_IM2COL;
    }
    if (cly_conv_supports(ctx, CLY_CONV_DIRECT, g))
        return CLY_CONV_DIRECT;
    return CLY_CONV_IM2COL;
}

cly_conv_algo cly_conv_choose(const cly_context *ctx, const cly_conv_geom *g, cly_conv_algo requested)
{
    if (requested != CLY_CONV_AUTO)
        return requested;
    /* The environment names an algorithm for tests and benchmarks; where it
     * cannot run the shape, AUTO decides (a net keeps running). */
    cly_conv_algo env = algo_from_env();
    if (env != CLY_CONV_AUTO && cly_conv_supports(ctx, env, g))
        return env;
    return heuristic(ctx, g);
}

int64_t cly_conv_workspace(const cly_context *ctx, cly_conv_algo algo, const cly_conv_geom *g)
{
    if (algo == CLY_CONV_AUTO)
        algo = cly_conv_choose(ctx, g, algo);
    int64_t per_sample;
    switch (algo) {
    case CLY_CONV_DIRECT:
        per_sample = cly_conv_direct_sample_floats(ctx, g);
        break;
    case CLY_CONV_IM2COL:
        per_sample = cly_conv_im2col_sample_floats(g);
        break;
    default:
        return 0;
    }
    return per_sample * cly_conv_chunk(ctx, per_sample, g->n);
}
