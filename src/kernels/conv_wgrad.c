/* The convolution weight gradient as a direct reduction (cl/conv_wgrad.cl):
 * a chunk of samples' input packed as the direct forward packs it
 * (conv_pack), dY copied with the same row pitch, then one kernel whose
 * work-items each reduce a tile of filters x channels x taps over the whole
 * chunk. Against im2col + gemm_nt it writes and reads no columns (C*FH*FW
 * floats per output position) and keeps both operands' rows in cache: the
 * GEMM's work-items stream rows of samples x positions floats each.
 *
 * The tile: TJ = the taps of one filter row (FW); CT = 4 channels for 1x1
 * filters (one tap would otherwise load as much as it multiplies), 2 where
 * that leaves room for 2 filters or more, else 1; KT filters to fill the
 * accumulator budget of the device's tuning row (wgrad_acc at 16 lanes,
 * half at 8 or fewer: AVX2 has 16 registers, AVX-512 32). Measured on 3x3
 * layers at batch 8 (AMD EPYC Zen 5, AVX-512, pocl 3.1, 2 cores; GFLOP/s,
 * two rounds; im2col + gemm_nt 87 / 214 / 161):
 *
 *   KT,CT,TJ         4,2,3   8,1,3   2,4,3   2,1,9   6,1,3
 *   64 ch, 56x56      361     281     278     298     138
 *   256 ch, 14x14     309     254     255     301     280
 *   512 ch, 7x7       201     212     165      -       -
 */
#include "kernels/conv_internal.h"

#include <stdio.h>

#define PROGRAM "conv_wgrad"

typedef struct wgrad_tile {
    int vw, kt, ct, tj;
    cly_conv_packing p; /* the input's packing; p.tiles: vectors per packed dY plane */
} wgrad_tile;

static int min_int(int64_t a, int64_t b)
{
    return (int)(a < b ? a : b);
}

static wgrad_tile tile_for(const cly_context *ctx, const cly_conv_geom *g)
{
    wgrad_tile t;
    t.vw = cly_tuning_vector_width(ctx, 1);
    int acc = cly_tuning_of(ctx)->wgrad_acc;
    if (acc <= 0)
        acc = 16; /* forced by $CLAYER_CONV_BACKWARD_WEIGHTS where the row does not choose it */
    if (t.vw < 16)
        acc /= 2;
    const int64_t cg = g->c / g->groups, kg = g->k / g->groups;
    t.tj = min_int(g->fw, acc);
    t.ct = min_int(g->fh * g->fw == 1 ? 4 : 2 * t.tj <= acc / 2 ? 2 : 1, cg);
    t.kt = min_int(acc / (t.tj * t.ct) > 0 ? acc / (t.tj * t.ct) : 1, kg);
    t.p = cly_conv_packing_for(g, t.vw);
    return t;
}

static int64_t per_sample(const wgrad_tile *t, const cly_conv_geom *g)
{
    return g->c * t->p.plane + g->k * t->p.tiles * t->vw;
}

bool cly_conv_wgrad_supports(const cly_context *ctx, const cly_conv_geom *g, char *why, size_t size)
{
    const wgrad_tile t = tile_for(ctx, g);
    /* The kernel indexes a plane and a tap offset with int. */
    if (t.p.plane > INT32_MAX / 2 || t.p.tiles * t.vw > INT32_MAX / 2) {
        snprintf(why, size, "direct: a packed plane of %lld floats exceeds the kernel's int indexing",
                 (long long)t.p.plane);
        return false;
    }
    if (!cly_conv_fits_alloc(ctx, per_sample(&t, g))) {
        snprintf(why, size, "direct needs a workspace of %lld floats per sample, more than device '%s' allocates",
                 (long long)per_sample(&t, g), ctx->info.name);
        return false;
    }
    return true;
}

int64_t cly_conv_wgrad_workspace(const cly_context *ctx, const cly_conv_geom *g)
{
    const wgrad_tile t = tile_for(ctx, g);
    return per_sample(&t, g) * cly_conv_chunk(ctx, per_sample(&t, g), g->n);
}

cly_status cly_conv_backward_weights_direct(cly_context *ctx, const cly_conv_geom *g, cly_buf x, cly_buf dy,
                                            cly_buf dw, cly_buf db, float beta, cly_buf ws)
{
    const wgrad_tile t = tile_for(ctx, g);
    char opts[128], pack_opts[64];
    snprintf(opts, sizeof opts, "-DVW=%d -DKT=%d -DCT=%d -DTJ=%d -DSH=%lld -DSW=%lld", t.vw, t.kt, t.ct, t.tj,
             (long long)g->sh, (long long)g->sw);
    snprintf(pack_opts, sizeof pack_opts, "-DSH=%lld -DSW=%lld", (long long)g->sh, (long long)g->sw);
    cl_kernel pack, dpack, red;
    cly_status s;
    if ((s = cly_kernel_get(ctx, "conv_direct", pack_opts, "conv_pack", &pack)) != CLY_SUCCESS ||
        (s = cly_kernel_get(ctx, PROGRAM, opts, "dy_pack", &dpack)) != CLY_SUCCESS ||
        (s = cly_kernel_get(ctx, PROGRAM, opts, "conv_wgrad", &red)) != CLY_SUCCESS)
        return s;
    const int64_t G = g->groups, cg = g->c / G, kg = g->k / G, mp = t.p.tiles * t.vw;
    const int64_t chunk = cly_conv_chunk(ctx, per_sample(&t, g), g->n);
    const int64_t ctiles = (cg + t.ct - 1) / t.ct, ktiles = (kg + t.kt - 1) / t.kt;
    const size_t group = cly_tuning_of(ctx)->conv_group;
    const size_t local[3] = {group, 1, 1};
    for (int64_t n0 = 0; n0 < g->n; n0 += chunk) {
        const int64_t nb = g->n - n0 < chunk ? g->n - n0 : chunk;
        cly_buf xq = ws, dq = {ws.mem, ws.offset + nb * g->c * t.p.plane};
        if ((s = cly_conv_pack(ctx, pack, g, &t.p, (cly_buf){x.mem, x.offset + n0 * g->c * g->h * g->w}, nb, xq,
                               group)) != CLY_SUCCESS)
            return s;
        cly_args b = cly_args_for(ctx, dpack, "dy_pack");
        cly_arg_buf(&b, (cly_buf){dy.mem, dy.offset + n0 * g->k * g->oh * g->ow});
        cly_arg_buf(&b, dq);
        const int64_t dints[] = {g->k, g->oh, g->ow, t.p.qw, mp};
        cly_arg_ints(&b, dints, sizeof dints / sizeof dints[0]);
        const int64_t dglobal[3] = {(mp + t.p.qw - 1) / t.p.qw, g->k, nb};
        if ((s = cly_launch(ctx, &b, 3, dglobal, local)) != CLY_SUCCESS)
            return s;
        cly_args c = cly_args_for(ctx, red, "conv_wgrad");
        cly_arg_buf(&c, xq);
        cly_arg_buf(&c, dq);
        cly_arg_buf(&c, dw);
        const int64_t ints[] = {g->c, g->k, G, g->fh, g->fw, g->dh, g->dw, t.p.hq, t.p.qw, t.p.tiles, ctiles, ktiles};
        cly_arg_ints(&c, ints, sizeof ints / sizeof ints[0]);
        cly_arg_long(&c, t.p.plane);
        cly_arg_int(&c, nb);
        cly_arg_float(&c, n0 == 0 ? beta : 1.0f);
        /* Taps fastest, then channels: the work-items of one filter tile
         * run one after another and share its dY rows in cache. Groups of
         * one work-item: pocl then compiles the tile as written (its own
         * group size vectorises across work-items and spills, as gemm_nt's
         * did: tuning.c). */
        const int64_t global[3] = {(g->fh * g->fw + t.tj - 1) / t.tj, G * ctiles, ktiles};
        const size_t one[3] = {1, 1, 1};
        if ((s = cly_launch(ctx, &c, 3, global, one)) != CLY_SUCCESS)
            return s;
    }
    if (!db.mem)
        return CLY_SUCCESS;
    return cly_bias_grad(ctx, g->n, g->k, g->oh * g->ow, dy, db, beta);
}
