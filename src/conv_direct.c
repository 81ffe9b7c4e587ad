/* CLY_CONV_DIRECT: the tiled direct kernel of cl/conv_direct.cl. A chunk of
 * samples is first copied into the workspace, zero-padded and split by
 * column-stride phase (conv_pack); then each work-item computes a register
 * tile of KT channels x TY rows x VW columns with VW-wide vector FMAs. */
#include "conv_internal.h"

#include <stdio.h>
#include <stdlib.h>

#define PROGRAM "conv_direct"

typedef struct tile {
    int vw, kt, ty;
    int64_t owt, oht, ktiles; /* tiles along OW, OH, and per group along K/G */
    int64_t hp, qw;           /* padded rows, columns per phase */
} tile;

static int pow2_at_least(int64_t v, int cap)
{
    int p = 1;
    while (p < cap && p < v)
        p *= 2;
    return p;
}

/* Tile sizes. VW follows the device's preferred float vector width (16 on
 * AVX-512 pocl: one zmm register per vector; 1 on GPUs that prefer scalars,
 * where work-items themselves fill the SIMD lanes). KT x TY accumulators of
 * VW floats stay in registers: 8 x 2 zmm leaves room for the loaded rows and
 * the broadcast weight. Narrow groups (depthwise) get fewer channels and
 * more rows instead of computing padding channels. */
static tile tile_for(const cly_context *ctx, const cly_conv_geom *g)
{
    tile t;
    unsigned pref = ctx->info.preferred_vector_width_float;
    t.vw = pref >= 16 ? 16 : pref >= 8 ? 8 : pref >= 4 ? 4 : pref >= 2 ? 2 : 1;
    const int64_t kg = g->k / g->groups;
    t.kt = pow2_at_least(kg, 8);
    t.ty = t.kt <= 2 ? 4 : 2;
    if (t.vw == 1)
        t.ty *= 2;
    while (t.ty > 1 && t.ty / 2 >= g->oh)
        t.ty /= 2;
    /* $CLAYER_CONV_TILE=VW,KT,TY replaces the choice (0 keeps a value), so
     * tests reach every variant on any device: VW 1 as on GPUs, odd KT, TY. */
    const char *env = getenv("CLAYER_CONV_TILE");
    int vw = 0, kt = 0, ty = 0;
    if (env && sscanf(env, "%d,%d,%d", &vw, &kt, &ty) >= 1) {
        if (vw == 1 || vw == 2 || vw == 4 || vw == 8 || vw == 16)
            t.vw = vw;
        if (kt >= 1 && kt <= 16)
            t.kt = kt;
        if (ty >= 1 && ty <= 8)
            t.ty = ty;
    }
    t.owt = (g->ow + t.vw - 1) / t.vw;
    t.oht = (g->oh + t.ty - 1) / t.ty;
    t.ktiles = (kg + t.kt - 1) / t.kt;
    t.hp = (t.oht * t.ty - 1) * g->sh + (g->fh - 1) * g->dh + 1;
    t.qw = t.owt * t.vw + (g->fw - 1) * g->dw / g->sw;
    return t;
}

int64_t cly_conv_direct_sample_floats(const cly_context *ctx, const cly_conv_geom *g)
{
    tile t = tile_for(ctx, g);
    int64_t v;
    /* The kernels index a tile, a filter and a sample's pack with int
     * pieces; report "too large" through the workspace check. */
    if (t.owt * t.oht > INT32_MAX || g->c / g->groups * g->fh * g->fw > INT32_MAX || t.hp * g->sw > INT32_MAX)
        return INT64_MAX;
    if (!cly_mul_i64(g->c, t.hp, &v) || !cly_mul_i64(v, g->sw, &v) || !cly_mul_i64(v, t.qw, &v))
        return INT64_MAX;
    return v;
}

cly_status cly_conv_direct_forward(cly_context *ctx, const cly_conv_geom *g, cly_buf x, cly_buf w, cly_buf bias,
                                   cly_buf y, cly_buf ws)
{
    const tile t = tile_for(ctx, g);
    char opts[96];
    snprintf(opts, sizeof opts, "-DVW=%d -DKT=%d -DTY=%d -DSW=%lld", t.vw, t.kt, t.ty, (long long)g->sw);
    cl_kernel pack, conv;
    cly_status s;
    if ((s = cly_kernel_get(ctx, PROGRAM, opts, "conv_pack", &pack)) != CLY_SUCCESS ||
        (s = cly_kernel_get(ctx, PROGRAM, opts, "conv_direct", &conv)) != CLY_SUCCESS)
        return s;
    const int64_t per_sample = cly_conv_direct_sample_floats(ctx, g);
    const int64_t chunk = cly_conv_chunk(ctx, per_sample, g->n);
    const size_t local[3] = {cly_conv_group_size(ctx), 1, 1};
    for (int64_t n0 = 0; n0 < g->n; n0 += chunk) {
        const int64_t nb = g->n - n0 < chunk ? g->n - n0 : chunk;
        cly_args a = {.kernel = pack};
        cly_arg_buf(&a, (cly_buf){x.mem, x.offset + n0 * g->c * g->h * g->w});
        cly_arg_buf(&a, ws);
        const int64_t pints[] = {g->c, g->h, g->w, t.hp, t.qw, g->pt, g->pl};
        for (size_t i = 0; i < sizeof pints / sizeof pints[0]; i++)
            cly_arg_int(&a, pints[i]);
        const int64_t pglobal[3] = {t.hp * g->sw, g->c, nb};
        if ((s = cly_conv_launch(ctx, &a, 3, pglobal, local, "conv_pack")) != CLY_SUCCESS)
            return s;

        cly_args b = {.kernel = conv};
        cly_arg_buf(&b, ws);
        cly_arg_buf(&b, w);
        cly_arg_buf(&b, g->bias ? bias : w);
        cly_arg_buf(&b, (cly_buf){y.mem, y.offset + n0 * g->k * g->oh * g->ow});
        const int64_t ints[] = {g->c,  g->k,  g->groups, t.hp,  t.qw,  g->fh,     g->fw,   g->sh,   g->dh,
                                g->dw, g->oh, g->ow,     t.owt, t.oht, t.ktiles, g->bias, g->relu};
        for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
            cly_arg_int(&b, ints[i]);
        const int64_t global[3] = {t.owt * t.oht, g->groups * t.ktiles, nb};
        if ((s = cly_conv_launch(ctx, &b, 3, global, local, "conv_direct")) != CLY_SUCCESS)
            return s;
    }
    return CLY_SUCCESS;
}
