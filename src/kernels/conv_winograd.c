/* CLY_CONV_WINOGRAD: F(2x2,3x3) and F(4x4,3x3) through cl/conv_winograd.cl
 * for 3x3 filters at stride 1, dilation 1, one group. Launches: the filter
 * transform U once per call (K*C*T values: nothing caches it across calls,
 * and on deep layers at batch 1 it is most of the time, see cost()); per
 * chunk of samples a zero-padded copy of the input (conv_direct.cl's
 * conv_pack), the input transform V, T GEMMs M = U V with conv_direct's
 * register tile, and the output transform with bias and ReLU.
 *
 * Workspace: U (T*KTILES*KT*C), then for a chunk of samples V (T*C*PP), M
 * (T*K*PP) and the padded input (C*HQ*QW per sample), PP = tiles of the
 * chunk rounded up to the GEMM's TY*VW.
 *
 * Not exact: the transforms round, and F(4x4) multiplies the rounding by
 * its larger coefficients. Measured errors are in test_conv.c and
 * conv_algos.c. */
#include "kernels/conv_internal.h"

#include <stdio.h>
#include <stdlib.h>

#define PROGRAM "conv_winograd"

typedef struct wtile {
    int mt;         /* output tile side: 2 or 4 */
    int vw, kt, ty; /* GEMM register tile */
    int64_t th, tw; /* tiles per sample, down and across */
    int64_t ktiles;
    int64_t gx;     /* groups of VW tiles per tile row */
    int64_t hq, qw; /* the zero-padded copy of the input: rows, row pitch */
} wtile;

/* The tile for output tile side mt. The GEMM tile is conv_direct's for the
 * device's vector width, fewer vectors when the tiles of the batch fill
 * fewer; env (from $CLAYER_WINOGRAD_TILE=MT,VW,KT,TY, 0 keeps a value)
 * replaces it for tests and benchmarks. */
static wtile tile_with(const cly_context *ctx, const cly_conv_geom *g, int mt, const int env[4])
{
    wtile t;
    const cly_direct_tile d = cly_tuning_direct_tile(ctx);
    t.mt = mt;
    t.vw = env[1] == 1 || env[1] == 2 || env[1] == 4 || env[1] == 8 || env[1] == 16 ? env[1] : d.vw;
    t.kt = env[2] >= 1 && env[2] <= 16 ? env[2] : d.kt;
    t.ty = env[3] >= 1 && env[3] <= 8 ? env[3] : d.ty;
    t.th = (g->oh + t.mt - 1) / t.mt;
    t.tw = (g->ow + t.mt - 1) / t.mt;
    const int64_t tiles = g->n * t.th * t.tw;
    if (tiles < (int64_t)t.ty * t.vw)
        t.ty = (int)((tiles + t.vw - 1) / t.vw);
    if (g->k < t.kt)
        t.kt = (int)g->k;
    t.ktiles = (g->k + t.kt - 1) / t.kt;
    /* wino_input reads NV vectors from the last group's first column. */
    t.gx = (t.tw + t.vw - 1) / t.vw;
    t.hq = t.th * t.mt + 2;
    t.qw = t.gx * t.vw * t.mt + (t.vw > 2 ? t.vw : 2);
    return t;
}

static int64_t points(const wtile *t)
{
    return (int64_t)(t->mt + 2) * (t->mt + 2);
}

/* Floats of V, M and the padded input for one sample. */
static int64_t per_sample(const cly_conv_geom *g, const wtile *t)
{
    return points(t) * (g->c + g->k) * t->th * t->tw + g->c * t->hq * t->qw;
}

/* Tiles rounded up to whole GEMM spans, and to an odd number of spans when
 * there are several: V's rows are PP apart, and a power-of-two distance
 * would put every row of a work-item's panel into the same cache sets. */
static int64_t padded_tiles(const wtile *t, int64_t tiles)
{
    const int64_t span = (int64_t)t->ty * t->vw, spans = (tiles + span - 1) / span;
    return (spans > 1 && spans % 2 == 0 ? spans + 1 : spans) * span;
}

/* A time estimate in units of one GEMM multiply-add of T*K*C*PP: the
 * filter transform costs about 200 per value of U (scalar, K*C*T values,
 * every call), the input and output transforms about 45 per value of V and
 * M. Fitted to conv_bench on pocl 3.1, 2 cores of an AMD EPYC with
 * AVX-512, batch 1 (F(2x2) / F(4x4) ms, estimate / measured):
 *   64 -> 64 at 112x112     2.1 / 2.7    1.4 / 1.7
 *   256 -> 256 at 56x56     5.8 / 7.0    6.3 / 7.3
 *   512 -> 512 at 14x14     4.8 / 7.5    8.6 / 11.6
 * It orders the two tiles right on these; F(4x4) wins on large maps and
 * few channels, F(2x2) where the filter transform dominates. */
static double cost(const cly_conv_geom *g, const wtile *t)
{
    const double pp = (double)padded_tiles(t, g->n * t->th * t->tw);
    return (double)points(t) * ((double)g->k * g->c * (200 + pp) + 45.0 * (g->c + g->k) * pp);
}

/* F(2x2) or F(4x4), whichever cost() says is faster; $CLAYER_WINOGRAD_TILE
 * chooses for tests and benchmarks. */
static wtile wtile_for(const cly_context *ctx, const cly_conv_geom *g)
{
    int env[4] = {0, 0, 0, 0};
    const char *e = getenv("CLAYER_WINOGRAD_TILE");
    if (e)
        sscanf(e, "%d,%d,%d,%d", &env[0], &env[1], &env[2], &env[3]);
    if (env[0] == 2 || env[0] == 4)
        return tile_with(ctx, g, env[0], env);
    const wtile t2 = tile_with(ctx, g, 2, env), t4 = tile_with(ctx, g, 4, env);
    return cost(g, &t4) < cost(g, &t2) ? t4 : t2;
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
    return points(&t) * (t.ktiles * t.kt * g->c + (g->c + g->k) * padded_tiles(&t, chunk * t.th * t.tw)) +
           chunk * g->c * t.hq * t.qw;
}

cly_status cly_conv_winograd_forward(cly_context *ctx, const cly_conv_geom *g, cly_buf x, cly_buf w, cly_buf bias,
                                     cly_buf y, cly_buf ws)
{
    const wtile t = wtile_for(ctx, g);
    char opts[96];
    snprintf(opts, sizeof opts, "-DMT=%d -DVW=%d -DKT=%d -DTY=%d", t.mt, t.vw, t.kt, t.ty);
    cl_kernel kp, kf, ki, kg, ko;
    cly_status s;
    if ((s = cly_kernel_get(ctx, "conv_direct", "-DSH=1 -DSW=1", "conv_pack", &kp)) != CLY_SUCCESS ||
        (s = cly_kernel_get(ctx, PROGRAM, opts, "wino_filter", &kf)) != CLY_SUCCESS ||
        (s = cly_kernel_get(ctx, PROGRAM, opts, "wino_input", &ki)) != CLY_SUCCESS ||
        (s = cly_kernel_get(ctx, PROGRAM, opts, "wino_gemm", &kg)) != CLY_SUCCESS ||
        (s = cly_kernel_get(ctx, PROGRAM, opts, "wino_output", &ko)) != CLY_SUCCESS)
        return s;
    const int64_t T = points(&t), tiles = t.th * t.tw;
    const int64_t chunk = cly_conv_chunk(ctx, per_sample(g, &t), g->n);
    const int64_t pp_max = padded_tiles(&t, chunk * tiles);
    const cly_buf u = ws, v = {ws.mem, ws.offset + T * t.ktiles * t.kt * g->c},
                  m = {ws.mem, v.offset + T * g->c * pp_max}, xp = {ws.mem, m.offset + T * g->k * pp_max};
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
        a = cly_args_for(ctx, kp, "conv_pack");
        cly_arg_buf(&a, (cly_buf){x.mem, x.offset + n0 * g->c * g->h * g->w});
        cly_arg_buf(&a, xp);
        const int64_t pack_ints[] = {g->c, g->h, g->w, t.hq, t.qw, g->pt, g->pl};
        cly_arg_ints(&a, pack_ints, sizeof pack_ints / sizeof pack_ints[0]);
        if ((s = cly_launch(ctx, &a, 3, (const int64_t[]){t.hq, g->c, nb}, local)) != CLY_SUCCESS)
            return s;
        a = cly_args_for(ctx, ki, "wino_input");
        cly_arg_buf(&a, xp);
        cly_arg_buf(&a, v);
        const int64_t in_ints[] = {g->c, t.th, t.tw, t.hq, t.qw, nb * t.th, t.gx, P, PP};
        cly_arg_ints(&a, in_ints, sizeof in_ints / sizeof in_ints[0]);
        if ((s = cly_launch(ctx, &a, 3, (const int64_t[]){t.gx, nb * t.th, g->c}, local)) != CLY_SUCCESS)
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
        if ((s = cly_launch(ctx, &a, 2, (const int64_t[]){(P + t.vw - 1) / t.vw, g->k}, local)) != CLY_SUCCESS)
            return s;
    }
    return CLY_SUCCESS;
}
