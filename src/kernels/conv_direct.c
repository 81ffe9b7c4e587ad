/* CLY_CONV_DIRECT: the tiled direct kernel of cl/conv_direct.cl. A chunk of
 * samples is first copied into the workspace, zero-padded and split by
 * stride phase (conv_pack); then each work-item computes a register tile of
 * KT channels x TY*VW consecutive outputs with VW-wide vector FMAs. A 1x1,
 * stride-1, unpadded convolution skips the copy and reads the input. */
#include "kernels/conv_internal.h"
#include "runtime/tuning_file.h"

#include <stdio.h>
#include <stdlib.h>

#define PROGRAM "conv_direct"
#define PROGRAM_OC "conv_direct_oc"
#define OC_GAIN                                                                                                        \
    1.1 /* conv_direct_oc only where it stores this much more of what it                                               \
           computes */

typedef struct tile {
    int vw, kt, ty;
    size_t wg;      /* dimension-0 work-group of both kernels */
    bool pack;      /* false: a 1x1/s1/p0 convolution read straight from x */
    int64_t qw, hq; /* output row pitch (>= OW), rows per phase block */
    int64_t mt;     /* tiles of ty*vw outputs per plane */
    int64_t ktiles; /* tiles of kt channels per group */
    int64_t plane;  /* floats per channel in the layout the kernel reads */
    /* conv_direct_oc instead (cl/conv_direct_oc.cl): kv vectors of vw
     * output channels x tx consecutive outputs, kb channel blocks per group. */
    bool oc;
    int kv, tx;
    int64_t kb;
} tile;

/* Tile sizes, from the tuning table (runtime/tuning.c): VW follows the
 * device's preferred float vector width. With 16 (AVX-512 pocl: one zmm
 * register per vector, 32 registers) a tile of KT = 6 channels x TY = 4
 * vectors keeps 24 accumulators, 4 loaded vectors and a broadcast weight in
 * registers; measured with benchmarks/conv_bench
 * and $CLAYER_CONV_TILE (GFLOP/s, best of 2-3 interleaved rounds per tile,
 * two sessions on 2 shared cores of pocl 3.1; noise is about 15%):
 *
 *   KT,TY            8,2   8,3   6,4   4,4   12,2  5,4   5,5   16,1
 *   vgg16 conv1_2    176   217   258   205   163   253   226   156
 *   vgg16 conv3_2    170   204   202   162   187   182   201   182
 *   vgg16 conv5_2    297   304   292   263   242   274   299   191
 *   resnet 3x3 7x7   234   181   275   225   203   261   213   159
 *   resnet50 1x1     116   146   129   127    93   128   130    56
 *   resnet50 3x3 s2  118   132   124   120   112   131   123    91
 *   alexnet conv1    233   255   230   199   207   239   228   205
 *
 * 6x4 has the best sum of times; 7x7 planes fit one 64-output tile. Planes
 * of fewer than TY*VW outputs take fewer vectors (a 3x3 map: 8 channels x 1
 * vector, 0.85 -> 0.6 ms for 512 -> 512 channels; an FC-like 1x1 output
 * 2.1 -> 1.2-1.5 ms for fc6 as a 7x7 convolution). With 8
 * lanes (AVX2, 16 registers) 4x3; with 1 (GPUs that prefer scalars, where
 * work-items fill the SIMD lanes and neighbours read neighbouring outputs)
 * 8 channels x 1 output. Narrow groups (depthwise) take KT = K/G instead of
 * computing padding channels. The work-group size barely matters on pocl
 * (1 to 32 within noise). */
static void apply(tile *t, const cly_tuned_entry *e)
{
    t->vw = e->vw;
    t->kt = e->kt;
    t->ty = e->ty;
    if (e->wg > 0)
        t->wg = (size_t)e->wg;
}

/* Outputs stored / outputs computed when tiles of `span` consecutive
 * outputs m = oy*QW + ox cover a plane of channel blocks of `kt` (QW's
 * dropped columns, the last tile's and the last block's excess). */
static double tile_use(const cly_conv_geom *g, int64_t span, int64_t kt)
{
    const cly_conv_packing p = cly_conv_packing_for(g, span);
    const int64_t kg = g->k / g->groups, blocks = (kg + kt - 1) / kt;
    return (double)(g->oh * g->ow) / (double)(p.tiles * span) * (double)kg / (double)(blocks * kt);
}

/* Output channels across the lanes (conv_direct_oc) where conv_direct's
 * tiles would compute many outputs they drop: planes small against TY*VW
 * (13x13, 14x14 maps). The accumulators are the table's tile's (KT*TY
 * vectors), as KV = 2 vectors of channels (1 where one vector holds a
 * group's channels) x TX outputs. Its filters are reordered into channel
 * blocks on every call, so it is taken where it stores OC_GAIN times the
 * share of what it computes and the vector FMAs this saves per filter
 * value, (1/use - 1/use_oc) * N*OH*OW / VW, reach the table's
 * direct_oc_copy (runtime/tuning.c has the figures). Only for the
 * forward's own filters (the data gradient's views keep conv_direct).
 * $CLAYER_CONV_OC = KV[,TX[,VW]] forces it (KV 0: never), for tests on any
 * device (a forced tile of $CLAYER_CONV_TILE included). */
static void choose_oc(const cly_context *ctx, const cly_conv_geom *g, tile *t, const cly_direct_tile *d)
{
    const int64_t kg = g->k / g->groups;
    t->kv = kg > t->vw ? 2 : 1;
    t->tx = d->kt * d->ty / t->kv;
    const int copy = cly_tuning_of(ctx)->direct_oc_copy;
    const char *env = getenv("CLAYER_CONV_OC");
    int kv = -1, tx = 0, vw = 0;
    if (env && sscanf(env, "%d,%d,%d", &kv, &tx, &vw) >= 1) {
        if (kv <= 0)
            return;
        if (vw == 2 || vw == 4 || vw == 8 || vw == 16)
            t->vw = vw;
        if (t->vw < 2)
            return;
        if (kv <= 4)
            t->kv = kv;
        if (tx >= 1 && tx <= 32)
            t->tx = tx;
        t->oc = true;
    } else if (copy > 0 && t->vw >= 2) {
        const double use = tile_use(g, (int64_t)t->ty * t->vw, t->kt);
        const double use_oc = tile_use(g, t->tx, (int64_t)t->kv * t->vw);
        const double saved = (1 / use - 1 / use_oc) * (double)(g->n * g->oh * g->ow) / t->vw;
        t->oc = use_oc > OC_GAIN * use && saved >= copy;
    }
    if (t->oc)
        t->kb = (kg + t->kv * t->vw - 1) / (t->kv * t->vw);
}

static tile tile_for(const cly_context *ctx, const cly_conv_geom *g, bool forward)
{
    tile t;
    const cly_direct_tile d = cly_tuning_direct_tile(ctx);
    t.vw = d.vw;
    t.kt = d.kt;
    t.ty = d.ty;
    /* Small planes (FC-like 1x1 outputs, 3x3 maps): no more vectors than
     * the M = OH*QW outputs fill, and more channels when one vector does. */
    const int64_t m = g->oh * (g->ow + (g->fw - 1) * g->dw / g->sw);
    if (m <= t.vw) {
        t.ty = 1;
        t.kt = cly_tuning_of(ctx)->direct_small_kt;
    } else if (m < (int64_t)t.ty * t.vw) {
        t.ty = (int)((m + t.vw - 1) / t.vw);
    }
    t.wg = cly_tuning_of(ctx)->conv_group;
    /* What `clayer tune` measured for this shape replaces the table's tile
     * (the file's values are range-checked when read). */
    const int64_t kg = g->k / g->groups;
    const tile builtin = {.vw = t.vw, .kt = kg < t.kt ? (int)kg : t.kt, .ty = t.ty, .wg = t.wg};
    const cly_tuned_entry *e = cly_conv_tuned(ctx, g);
    if (e && e->algo == CLY_CONV_DIRECT)
        apply(&t, e);
    if (kg < t.kt)
        t.kt = (int)kg;
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
    /* The tuner's candidate beats everything: it times exactly that. */
    if (ctx->trial && ctx->trial->algo == CLY_CONV_DIRECT)
        apply(&t, ctx->trial);
    /* conv_direct_oc only where no tile other than the built-in one was
     * asked for: a tuned, forced or candidate tile is conv_direct's (the
     * tuner's default, the built-in tile, then times what AUTO runs). */
    t.oc = false;
    if (forward && ((t.vw == builtin.vw && t.kt == builtin.kt && t.ty == builtin.ty && t.wg == builtin.wg) ||
                    getenv("CLAYER_CONV_OC")))
        choose_oc(ctx, g, &t, &d);
    const int64_t span = t.oc ? t.tx : (int64_t)t.ty * t.vw;
    t.ktiles = (kg + t.kt - 1) / t.kt;
    t.pack = !(g->fh == 1 && g->fw == 1 && g->sh == 1 && g->sw == 1 && !g->pt && !g->pb && !g->pl && !g->pr &&
               g->h * g->w >= span);
    if (!t.pack) {
        t.qw = g->w;
        t.hq = g->h;
        t.mt = (g->h * g->w + span - 1) / span;
        t.plane = g->h * g->w;
        return t;
    }
    const cly_conv_packing p = cly_conv_packing_for(g, span);
    t.qw = p.qw;
    t.hq = p.hq;
    t.mt = p.tiles;
    t.plane = p.plane;
    return t;
}

cly_conv_packing cly_conv_packing_for(const cly_conv_geom *g, int64_t span)
{
    cly_conv_packing p;
    p.qw = g->ow + (g->fw - 1) * g->dw / g->sw;
    p.tiles = (g->oh * p.qw + span - 1) / span;
    /* Rows per phase block: the farthest tap of the last tile stays inside. */
    const int64_t reach = (g->fh - 1) * g->dh / g->sh * p.qw + (g->fw - 1) * g->dw / g->sw + p.tiles * span - 1;
    p.hq = reach / p.qw + 1;
    p.plane = g->sw * g->sh * p.hq * p.qw;
    return p;
}

cly_status cly_conv_pack(cly_context *ctx, cl_kernel pack, const cly_conv_geom *g, const cly_conv_packing *p,
                         cly_buf x, int64_t nb, cly_buf xp, size_t group)
{
    cly_args a = cly_args_for(ctx, pack, "conv_pack");
    cly_arg_buf(&a, x);
    cly_arg_buf(&a, xp);
    const int64_t ints[] = {g->c, g->h, g->w, p->hq, p->qw, g->pt, g->pl};
    cly_arg_ints(&a, ints, sizeof ints / sizeof ints[0]);
    const int64_t global[3] = {g->sw * g->sh * p->hq, g->c, nb};
    const size_t local[3] = {group, 1, 1};
    return cly_launch(ctx, &a, 3, global, local);
}

cly_direct_tile cly_conv_direct_tile(const cly_context *ctx, const cly_conv_geom *g, size_t *wg)
{
    const tile t = tile_for(ctx, g, false);
    *wg = t.wg;
    return (cly_direct_tile){t.vw, t.kt, t.ty};
}

static int64_t sample_floats(const cly_conv_geom *g, const tile *tp)
{
    const tile t = *tp;
    /* The kernels index outputs, a filter and pack rows with int pieces;
     * report "too large" through the workspace check. */
    if (g->oh * t.qw > INT32_MAX / 2 || t.hq * t.qw > INT32_MAX / 2 || g->c / g->groups * g->fh * g->fw > INT32_MAX ||
        t.hq * g->sh * g->sw > INT32_MAX)
        return INT64_MAX;
    int64_t v;
    if (!t.pack)
        return 0;
    if (!cly_mul_i64(g->c, t.plane, &v))
        return INT64_MAX;
    return v;
}

void cly_conv_direct_text(const cly_context *ctx, const cly_conv_geom *g, char *text, size_t size)
{
    const tile t = tile_for(ctx, g, true);
    if (t.oc)
        snprintf(text, size, "direct oc %dx%dx%d wg%zu", t.vw, t.kv, t.tx, t.wg);
    else
        snprintf(text, size, "direct %dx%dx%d wg%zu", t.vw, t.kt, t.ty, t.wg);
}

int64_t cly_conv_direct_sample_floats(const cly_context *ctx, const cly_conv_geom *g)
{
    const tile t = tile_for(ctx, g, false);
    return sample_floats(g, &t);
}

/* conv_direct_oc's filters in channel blocks. */
static int64_t wblock_floats(const cly_conv_geom *g, const tile *t)
{
    return t->oc ? g->groups * t->kb * t->kv * t->vw * (g->c / g->groups) * g->fh * g->fw : 0;
}

bool cly_conv_direct_fits(const cly_context *ctx, const cly_conv_geom *g, int64_t *per_sample, int64_t *fixed)
{
    const tile t = tile_for(ctx, g, true);
    *per_sample = sample_floats(g, &t);
    *fixed = wblock_floats(g, &t);
    return cly_conv_fits_alloc(ctx, *per_sample) && cly_conv_fits_alloc(ctx, *fixed) && *fixed <= INT32_MAX;
}

int64_t cly_conv_direct_workspace(const cly_context *ctx, const cly_conv_geom *g)
{
    const tile t = tile_for(ctx, g, true);
    const int64_t per_sample = sample_floats(g, &t);
    return per_sample * cly_conv_chunk(ctx, per_sample, g->n) + wblock_floats(g, &t);
}

cly_conv_wview cly_conv_wview_plain(const cly_conv_geom *g)
{
    const int64_t taps = g->fh * g->fw, cg = g->c / g->groups;
    return (cly_conv_wview){.base = 0, .g = g->k / g->groups * cg * taps, .k = cg * taps, .c = taps, .i = g->fw,
                            .j = 1};
}

static cly_status forward_oc(cly_context *ctx, const cly_conv_geom *g, const tile *t, cly_buf x, cly_buf w,
                             cly_conv_wview v, cly_buf bias, cly_buf y, cly_buf ws);

cly_status cly_conv_direct_forward(cly_context *ctx, const cly_conv_geom *g, cly_buf x, cly_buf w, cly_buf bias,
                                   cly_buf y, cly_buf ws)
{
    const tile t = tile_for(ctx, g, true);
    if (t.oc)
        return forward_oc(ctx, g, &t, x, w, cly_conv_wview_plain(g), bias, y, ws);
    return cly_conv_direct_forward_view(ctx, g, x, w, cly_conv_wview_plain(g), bias, y, ws);
}

static cly_status forward_oc(cly_context *ctx, const cly_conv_geom *g, const tile *t, cly_buf x, cly_buf w,
                             cly_conv_wview v, cly_buf bias, cly_buf y, cly_buf ws)
{
    char opts[128];
    snprintf(opts, sizeof opts, "-DVW=%d -DKV=%d -DTX=%d -DSH=%lld -DSW=%lld", t->vw, t->kv, t->tx, (long long)g->sh,
             (long long)g->sw);
    cl_kernel pack, wblock, conv;
    cly_status s;
    if ((s = cly_kernel_get(ctx, PROGRAM_OC, opts, "conv_pack", &pack)) != CLY_SUCCESS ||
        (s = cly_kernel_get(ctx, PROGRAM_OC, opts, "conv_wblock", &wblock)) != CLY_SUCCESS ||
        (s = cly_kernel_get(ctx, PROGRAM_OC, opts, "conv_direct_oc", &conv)) != CLY_SUCCESS)
        return s;
    /* The filter blocks first in the workspace, then the packed input. */
    const int64_t cg = g->c / g->groups;
    const int64_t wfloats = wblock_floats(g, t);
    const cly_buf wb = ws;
    const cly_buf xpk = {ws.mem, ws.offset + wfloats};
    cly_args a = cly_args_for(ctx, wblock, "conv_wblock");
    cly_arg_buf(&a, (cly_buf){w.mem, w.offset + v.base});
    cly_arg_buf(&a, wb);
    const int64_t wints[] = {cg, g->fh, g->fw, g->k / g->groups, t->kb};
    cly_arg_ints(&a, wints, sizeof wints / sizeof wints[0]);
    cly_arg_long(&a, v.g);
    const int64_t steps[] = {v.k, v.c, v.i, v.j};
    cly_arg_ints(&a, steps, sizeof steps / sizeof steps[0]);
    const int64_t wglobal[3] = {cg * g->fh * g->fw, g->groups * t->kb, 1};
    const size_t wlocal[3] = {t->wg, 1, 1};
    if ((s = cly_launch(ctx, &a, 3, wglobal, wlocal)) != CLY_SUCCESS)
        return s;
    const int64_t per_sample = t->pack ? sample_floats(g, t) : 0;
    const int64_t chunk = t->pack ? cly_conv_chunk(ctx, per_sample, g->n) : g->n;
    const size_t local[3] = {t->wg, 1, 1};
    for (int64_t n0 = 0; n0 < g->n; n0 += chunk) {
        const int64_t nb = g->n - n0 < chunk ? g->n - n0 : chunk;
        cly_buf xs = {x.mem, x.offset + n0 * g->c * g->h * g->w};
        if (t->pack) {
            const cly_conv_packing p = {.qw = t->qw, .hq = t->hq, .plane = t->plane, .tiles = t->mt};
            if ((s = cly_conv_pack(ctx, pack, g, &p, xs, nb, xpk, t->wg)) != CLY_SUCCESS)
                return s;
            xs = xpk;
        }
        cly_args b = cly_args_for(ctx, conv, "conv_direct_oc");
        cly_arg_buf(&b, xs);
        cly_arg_buf(&b, wb);
        cly_arg_buf(&b, g->bias ? bias : w);
        cly_arg_buf(&b, (cly_buf){y.mem, y.offset + n0 * g->k * g->oh * g->ow});
        const int64_t ints[] = {g->c,  g->k,  g->groups, g->fh, g->fw, g->dh, g->dw,
                                g->oh, g->ow, t->qw,     t->hq, t->mt, t->kb};
        cly_arg_ints(&b, ints, sizeof ints / sizeof ints[0]);
        cly_arg_long(&b, t->plane);
        cly_arg_int(&b, !t->pack);
        cly_arg_int(&b, g->bias);
        cly_arg_int(&b, g->relu);
        const int64_t global[3] = {t->mt, g->groups * t->kb, nb};
        if ((s = cly_launch(ctx, &b, 3, global, local)) != CLY_SUCCESS)
            return s;
    }
    return CLY_SUCCESS;
}

cly_status cly_conv_direct_forward_view(cly_context *ctx, const cly_conv_geom *g, cly_buf x, cly_buf w,
                                        cly_conv_wview v, cly_buf bias, cly_buf y, cly_buf ws)
{
    const tile t = tile_for(ctx, g, false);
    char opts[128];
    snprintf(opts, sizeof opts, "-DVW=%d -DKT=%d -DTY=%d -DSH=%lld -DSW=%lld", t.vw, t.kt, t.ty, (long long)g->sh,
             (long long)g->sw);
    cl_kernel pack, conv;
    cly_status s;
    if ((s = cly_kernel_get(ctx, PROGRAM, opts, "conv_pack", &pack)) != CLY_SUCCESS ||
        (s = cly_kernel_get(ctx, PROGRAM, opts, "conv_direct", &conv)) != CLY_SUCCESS)
        return s;
    const int64_t per_sample = t.pack ? cly_conv_direct_sample_floats(ctx, g) : 0;
    const int64_t chunk = t.pack ? cly_conv_chunk(ctx, per_sample, g->n) : g->n;
    const size_t local[3] = {t.wg, 1, 1};
    for (int64_t n0 = 0; n0 < g->n; n0 += chunk) {
        const int64_t nb = g->n - n0 < chunk ? g->n - n0 : chunk;
        cly_buf xs = {x.mem, x.offset + n0 * g->c * g->h * g->w};
        if (t.pack) {
            const cly_conv_packing p = {.qw = t.qw, .hq = t.hq, .plane = t.plane, .tiles = t.mt};
            if ((s = cly_conv_pack(ctx, pack, g, &p, xs, nb, ws, t.wg)) != CLY_SUCCESS)
                return s;
            xs = ws;
        }
        cly_args b = cly_args_for(ctx, conv, "conv_direct");
        cly_arg_buf(&b, xs);
        cly_arg_buf(&b, (cly_buf){w.mem, w.offset + v.base});
        cly_arg_buf(&b, g->bias ? bias : w);
        cly_arg_buf(&b, (cly_buf){y.mem, y.offset + n0 * g->k * g->oh * g->ow});
        const int64_t ints[] = {g->c, g->k, g->groups, g->fh, g->fw, g->dh, g->dw,
                                g->oh, g->ow, t.qw,   t.hq,  t.mt,  t.ktiles};
        cly_arg_ints(&b, ints, sizeof ints / sizeof ints[0]);
        cly_arg_long(&b, t.plane);
        cly_arg_int(&b, !t.pack);
        cly_arg_int(&b, g->bias);
        cly_arg_int(&b, g->relu);
        cly_arg_long(&b, v.g);
        const int64_t steps[] = {v.k, v.c, v.i, v.j};
        cly_arg_ints(&b, steps, sizeof steps / sizeof steps[0]);
        const int64_t global[3] = {t.mt, g->groups * t.ktiles, nb};
        if ((s = cly_launch(ctx, &b, 3, global, local)) != CLY_SUCCESS)
            return s;
    }
    return CLY_SUCCESS;
}
