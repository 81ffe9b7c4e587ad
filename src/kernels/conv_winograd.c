/* CLY_CONV_WINOGRAD: F(2x2,3x3) and F(4x4,3x3) through cl/conv_winograd.cl
 * for 3x3 filters at stride 1, dilation 1, one group. Four launches per
 * chunk of samples: the filter transform U (every call: K*C*T values, a
 * small part of the time, see the figures in conv_algos.c), the input
 * transform V, T GEMMs M = U V with conv_direct's register tile, and the
 * output transform with bias and ReLU.
 *
 * Workspace: U (T*K*C), then V (T*C*PP) and M (T*K*PP) for a chunk of
 * samples, PP = tiles of the chunk rounded up to the GEMM's TY*VW.
 *
 * Not exact: the transforms round, and F(4x4) multiplies the rounding by
 * its larger coefficients. Measured on the test shapes (tests/kernels,
 * uniform [-1, 1] fills, max |y - ref| / max |ref|): see test_conv.c. */
#include "kernels/conv_internal.h"

#include <stdio.h>
#include <stdlib.h>

#define PROGRAM "conv_winograd"

typedef struct wtile {
    int mt;         /* output tile side: 2 or 4 */
    int vw, kt, ty; /* GEMM register tile */
    int64_t th, tw; /* tiles per sample, down and across */
    int64_t ktiles;
} wtile;

/* The output tile: F(4x4) where its 4x fewer multiplies pay (the measured
 * choice is in conv_algos.c), F(2x2) on small maps where 4x4 tiles waste
 * most of their outputs. The GEMM tile is conv_direct's for the device's
 * vector width, fewer vectors when the tiles of one sample fill fewer.
 * $CLAYER_WINOGRAD_TILE=MT,VW,KT,TY replaces the choice (0 keeps one) for
 * tests and benchmarks. */
static wtile wtile_for(const cly_context *ctx, const cly_conv_geom *g)
{
    wtile t;
    const cly_direct_tile d = cly_tuning_direct_tile(ctx);
    t.mt = g->oh >= 12 && g->ow >= 12 ? 4 : 2;
    t.vw = d.vw;
    t.kt = d.kt;
    t.ty = d.ty;
    const char *env = getenv("CLAYER_WINOGRAD_TILE");
    int mt = 0, vw = 0, kt = 0, ty = 0;
    if (env && sscanf(env, "%d,%d,%d,%d", &mt, &vw, &kt, &ty) >= 1) {
        if (mt == 2 || mt == 4)
            t.mt = mt;
        if (vw == 1 || vw == 2 || vw == 4 || vw == 8 || vw == 16)
            t.vw = vw;
        if (kt >= 1 && kt <= 16)
            t.kt = kt;
        if (ty >= 1 && ty <= 8)
            t.ty = ty;
    }
    t.th = (g->oh + t.mt - 1) / t.mt;
    t.tw = (g->ow + t.mt - 1) / t.mt;
    const int64_t tiles = g->n * t.th * t.tw;
    if (tiles < (int64_t)t.ty * t.vw)
        t.ty = (int)((tiles + t.vw - 1) / t.vw);
    if (g->k < t.kt)
        t.kt = (int)g->k;
    t.ktiles = (g->k + t.kt - 1) / t.kt;
    return t;
}

static int64_t points(const wtile *t)
{
    return (int64_t)(t->mt + 2) * (t->mt + 2);
}

/* V and M floats for one sample, and the padding of a chunk's tiles. */
static int64_t per_sample(const cly_conv_geom *g, const wtile *t)
{
    return points(t) * (g->c + g->k) * t->th * t->tw;
}

/* Tiles rounded up to whole GEMM spans, and to an odd number of spans when
 * there are several: V's rows are PP apart, and a power-of-two distance
 * would put every row of a work-item's panel into the same cache sets. */
static int64_t padded_tiles(const wtile *t, int64_t tiles)
{
    const int64_t span = (int64_t)t->ty * t->vw, spans = (tiles + span - 1) / span;
    return (spans > 1 && spans % 2 == 0 ? spans + 1 : spans) * span;
}

bool cly_conv_winograd_supports(const cly_context *ctx, const cly_conv_geom *g, char *why, size_t size)
{
    if (g->fh != 3 || g->fw != 3 || g->sh != 1 || g->sw != 1 || g->dh != 1 || g->dw != 1) {
        snprintf(why, size,
                 "winograd needs a 3x3 filter, stride 1 and dilation 1; this layer has a %lldx%lld filter, "
                 "stride %lldx%lld, dilation %lldx%lld",
                 (long long)g->fh, (long long)g->fw, (long long)g->sh, (long long)g->sw, (long long)g->dh,
                 (long long)g->dw);
        return false;
    }
    if (g->groups != 1) {
        snprintf(why, size, "winograd needs groups = 1; this layer has %lld groups", (long long)g->groups);
        return false;
    }
    const wtile t = wtile_for(ctx, g);
    const int64_t ws = cly_conv_winograd_workspace(ctx, g);
    /* The kernels take tiles of a chunk, K and C as int. */
    if (!cly_conv_dims_fit_int(g) || padded_tiles(&t, g->n * t.th * t.tw) > INT32_MAX / 2 || ws == INT64_MAX) {
        snprintf(why, size, "winograd: the layer's tiles or workspace exceed the kernels' int range");
        return false;
    }
    if (!cly_conv_fits_alloc(ctx, ws)) {
        snprintf(why, size, "winograd needs a workspace of %lld elements, more than the largest allocation of "
                 "device '%s' (%llu bytes)", (long long)ws, ctx->info.name,
                 (unsigned long long)ctx->info.max_alloc_bytes);
        return false;
    }
    return true;
}

int64_t cly_conv_winograd_workspace(const cly_context *ctx, const cly_conv_geom *g)
{
    const wtile t = wtile_for(ctx, g);
    const int64_t one = per_sample(g, &t);
    if (one <= 0 || one > INT64_MAX / 4 / (g->n + 1))
        return INT64_MAX;
    const int64_t chunk = cly_conv_chunk(ctx, one, g->n);
    return points(&t) * (t.ktiles * t.kt * g->c + (g->c + g->k) * padded_tiles(&t, chunk * t.th * t.tw));
}

cly_status cly_conv_winograd_forward(cly_context *ctx, const cly_conv_geom *g, cly_buf x, cly_buf w, cly_buf bias,
                                     cly_buf y, cly_buf ws)
{
    const wtile t = wtile_for(ctx, g);
    char opts[96];
    snprintf(opts, sizeof opts, "-DMT=%d -DVW=%d -DKT=%d -DTY=%d", t.mt, t.vw, t.kt, t.ty);
    cl_kernel kf, ki, kg, ko;
    cly_status s;
    if ((s = cly_kernel_get(ctx, PROGRAM, opts, "wino_filter", &kf)) != CLY_SUCCESS ||
        (s = cly_kernel_get(ctx, PROGRAM, opts, "wino_input", &ki)) != CLY_SUCCESS ||
        (s = cly_kernel_get(ctx, PROGRAM, opts, "wino_gemm", &kg)) != CLY_SUCCESS ||
        (s = cly_kernel_get(ctx, PROGRAM, opts, "wino_output", &ko)) != CLY_SUCCESS)
        return s;
    const int64_t T = points(&t), tiles = t.th * t.tw;
    const int64_t chunk = cly_conv_chunk(ctx, per_sample(g, &t), g->n);
    const int64_t pp_max = padded_tiles(&t, chunk * tiles);
    const cly_buf u = ws, v = {ws.mem, ws.offset + T * t.ktiles * t.kt * g->c},
                  m = {ws.mem, v.offset + T * g->c * pp_max};
    const size_t local[3] = {cly_tuning_of(ctx)->conv_group, 1, 1};

    cly_args a = cly_args_for(ctx, kf, "wino_filter");
    cly_arg_buf(&a, w);
    cly_arg_buf(&a, u);
    cly_arg_int(&a, g->c);
    cly_arg_int(&a, g->k);
    cly_arg_int(&a, t.ktiles);
    if ((s = cly_launch(ctx, &a, 2, (const int64_t[]){g->c, t.ktiles * t.kt}, local)) != CLY_SUCCESS)
        return s;

    for (int64_t n0 = 0; n0 < g->n; n0 += chunk) {
        const int64_t nb = g->n - n0 < chunk ? g->n - n0 : chunk;
        const int64_t P = nb * tiles, PP = padded_tiles(&t, P);
        a = cly_args_for(ctx, ki, "wino_input");
        cly_arg_buf(&a, (cly_buf){x.mem, x.offset + n0 * g->c * g->h * g->w});
        cly_arg_buf(&a, v);
        const int64_t in_ints[] = {g->c, g->h, g->w, t.th, t.tw, P, PP, g->pt, g->pl};
        cly_arg_ints(&a, in_ints, sizeof in_ints / sizeof in_ints[0]);
        if ((s = cly_launch(ctx, &a, 2, (const int64_t[]){PP, g->c}, local)) != CLY_SUCCESS)
            return s;

        const int64_t ptiles = PP / ((int64_t)t.ty * t.vw);
        a = cly_args_for(ctx, kg, "wino_gemm");
        cly_arg_buf(&a, u);
        cly_arg_buf(&a, v);
        cly_arg_buf(&a, m);
        const int64_t gemm_ints[] = {g->k, g->c, PP, t.ktiles, ptiles};
        cly_arg_ints(&a, gemm_ints, sizeof gemm_ints / sizeof gemm_ints[0]);
        if ((s = cly_launch(ctx, &a, 3, (const int64_t[]){t.ktiles, ptiles, T}, local)) != CLY_SUCCESS)
            return s;

        a = cly_args_for(ctx, ko, "wino_output");
        cly_arg_buf(&a, m);
        cly_arg_buf(&a, g->bias ? bias : m);
        cly_arg_buf(&a, (cly_buf){y.mem, y.offset + n0 * g->k * g->oh * g->ow});
        const int64_t out_ints[] = {g->k, g->oh, g->ow, t.th, t.tw, P, PP, g->bias, g->relu};
        cly_arg_ints(&a, out_ints, sizeof out_ints / sizeof out_ints[0]);
        if ((s = cly_launch(ctx, &a, 2, (const int64_t[]){P, g->k}, local)) != CLY_SUCCESS)
            return s;
    }
    return CLY_SUCCESS;
}
