/* CLY_CONV_TILED: the GPU-shaped implicit GEMM of cl/conv_tiled.cl. No
 * workspace: the kernel gathers its im2col tiles into local memory itself.
 * Its tile comes from the tuning table's tiled row (runtime/tuning.c),
 * replaced by what `clayer tune` measured for the shape, then by
 * $CLAYER_TILED_TILE, then by the tuner's trial. A tuned entry holds it as
 * vw = VW, kt = RM, ty = RN / VW and wg = WN * WM (WN = 16, or wg where
 * smaller); TK stays the table's. */
#include "kernels/conv_internal.h"
#include "runtime/tuning_file.h"

#include <stdio.h>
#include <stdlib.h>

#define PROGRAM "conv_tiled"

static void apply(cly_tiled_tile *t, const cly_tuned_entry *e)
{
    t->vw = e->vw;
    t->rm = e->kt;
    t->rn = e->ty * e->vw;
    if (e->wg > 0) {
        t->wn = e->wg >= 16 ? 16 : e->wg;
        t->wm = e->wg / t->wn;
    }
}

static bool tile_valid(const cly_tiled_tile *t)
{
    return (t->vw == 1 || t->vw == 2 || t->vw == 4) && t->rm >= 1 && t->rm <= 16 && t->rn >= t->vw && t->rn <= 16 &&
           t->rn % t->vw == 0 && t->wn >= 1 && t->wn <= 256 && t->wm >= 1 && t->wm <= 256 && t->tk >= 1 && t->tk <= 64;
}

cly_tiled_tile cly_conv_tiled_tile(const cly_context *ctx, const cly_conv_geom *g)
{
    const cly_tiled_tile table = cly_tuning_of(ctx)->tiled;
    cly_tiled_tile t = table;
    const cly_tuned_entry *e = cly_conv_tuned(ctx, g);
    if (e && e->algo == CLY_CONV_TILED)
        apply(&t, e);
    /* $CLAYER_TILED_TILE=VW,RM,RN,WN,WM,TK replaces the choice (0 or a
     * missing value keeps one), so tests reach every variant on any device. */
    const char *env = getenv("CLAYER_TILED_TILE");
    int v[6] = {0};
    if (env && sscanf(env, "%d,%d,%d,%d,%d,%d", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) >= 1) {
        int *f[6] = {&t.vw, &t.rm, &t.rn, &t.wn, &t.wm, &t.tk};
        for (int i = 0; i < 6; i++)
            if (v[i] > 0)
                *f[i] = v[i];
    }
    if (ctx->trial && ctx->trial->algo == CLY_CONV_TILED)
        apply(&t, ctx->trial);
    return tile_valid(&t) ? t : table; /* an env or file value out of range */
}

static int64_t local_bytes(const cly_context *ctx, const cly_tiled_tile *t)
{
    const int64_t real = ctx->precision == CLY_PRECISION_FLOAT64 ? 8 : 4;
    return (int64_t)t->tk * (t->wm * t->rm + t->wn * t->rn) * real;
}

bool cly_conv_tiled_supports(const cly_context *ctx, const cly_conv_geom *g, char *why, size_t size)
{
    const cly_tiled_tile t = cly_conv_tiled_tile(ctx, g);
    const int64_t outputs = g->n * g->oh * g->ow, reduce = g->c / g->groups * g->fh * g->fw;
    if (outputs > INT32_MAX / 2 || reduce > INT32_MAX / 2) {
        snprintf(why, size,
                 "tiled: N*OH*OW = %lld outputs or Cg*FH*FW = %lld reduction "
                 "values exceed 2^30",
                 (long long)outputs, (long long)reduce);
        return false;
    }
    const int64_t tn = (int64_t)t.wn * t.rn, tm = (int64_t)t.wm * t.rm;
    const int64_t groups = (outputs + tn - 1) / tn * ((g->k / g->groups + tm - 1) / tm) * g->groups;
    if (groups > INT32_MAX) {
        snprintf(why, size, "tiled: %lld work-groups exceed 2^31", (long long)groups);
        return false;
    }
    const uint64_t items = (uint64_t)t.wn * t.wm, bytes = (uint64_t)local_bytes(ctx, &t);
    if (items > ctx->info.max_work_group_size || bytes > ctx->info.local_mem_bytes) {
        snprintf(why, size,
                 "tiled: its tile %dx%d x %dx%d (TK %d) needs work-groups of %llu "
                 "items and %llu bytes of local "
                 "memory; device '%s' allows %llu items and %llu bytes",
                 t.wm, t.rm, t.wn, t.rn, t.tk, (unsigned long long)items, (unsigned long long)bytes, ctx->info.name,
                 (unsigned long long)ctx->info.max_work_group_size, (unsigned long long)ctx->info.local_mem_bytes);
        return false;
    }
    return true;
}

cly_status cly_conv_tiled_forward(cly_context *ctx, const cly_conv_geom *g, cly_buf x, cly_buf w, cly_buf bias,
                                  cly_buf y)
{
    const cly_tiled_tile t = cly_conv_tiled_tile(ctx, g);
    char opts[128];
    snprintf(opts, sizeof opts, "-DVW=%d -DRM=%d -DRN=%d -DWN=%d -DWM=%d -DTK=%d", t.vw, t.rm, t.rn, t.wn, t.wm, t.tk);
    cl_kernel k;
    cly_status s = cly_kernel_get(ctx, PROGRAM, opts, "conv_tiled", &k);
    if (s != CLY_SUCCESS)
        return s;
    const int64_t outputs = g->n * g->oh * g->ow;
    const int64_t tn = (int64_t)t.wn * t.rn, tm = (int64_t)t.wm * t.rm;
    const int64_t ntiles = (outputs + tn - 1) / tn, mtiles = (g->k / g->groups + tm - 1) / tm;
    cly_args a = cly_args_for(ctx, k, "conv_tiled");
    cly_arg_buf(&a, x);
    cly_arg_buf(&a, w);
    cly_arg_buf(&a, g->bias ? bias : w);
    cly_arg_buf(&a, y);
    const int64_t ints[] = {g->n,  g->c,  g->h,  g->w,  g->k,  g->groups, g->fh, g->fw,  g->sh,
                            g->sw, g->pt, g->pl, g->dh, g->dw, g->oh,     g->ow, ntiles, mtiles};
    cly_arg_ints(&a, ints, sizeof ints / sizeof ints[0]);
    cly_arg_int(&a, g->bias);
    cly_arg_int(&a, g->relu);
    return cly_launch_groups(ctx, &a, ntiles * mtiles * g->groups, (size_t)t.wn * t.wm);
}
