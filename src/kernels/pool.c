/* Pooling (max, average, L2) and global average pooling.
 *
 * Conventions, each matching a published framework:
 * - Max pooling treats padding as -inf: padded cells never win. The argmax
 *   ("switches" for the backward pass) is the index y*W + x within the input
 *   plane of the first maximum in row-major order, as in PyTorch's
 *   max_pool2d_with_indices; a NaN wins (the last one), as there.
 * - Average pooling follows PyTorch's avg_pool2d exactly: the window is first
 *   clipped to input + padding (hend = min(hstart + F, H + Pbottom)); with
 *   count_include_pad (our default, avg_exclude_pad = false) the divisor is
 *   that clipped window's area, so a window cut short by CEIL rounding past
 *   the padding divides by the cells it covers; with exclude_pad it is the
 *   number of cells inside the input. Caffe's AVE pooling is the first form.
 * - L2 pooling: sqrt of the sum of squares of the in-input cells.
 * - Output size via cly_window_out (EXACT / FLOOR / CEIL; CEIL drops a last
 *   window that would start past the input and its left padding, the
 *   Caffe/PyTorch rule). Every pad must be smaller than the window, so each
 *   window holds at least one input cell (PyTorch demands pad <= F/2). */
#include "kernels/pool_internal.h"
#include "base/shape.h"
#include "runtime/tuning.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* cly_window_out writes "(W - F + 2P)/S + 1 = (7 - 2 + 2*0)/2 + 1 ...", the
 * convolution form. For an unpadded pooling axis, give the notes' pooling
 * form instead, "(W - F)/S + 1 = (7 - 2)/2 + 1 = 3.5 is not an integer". */
static void unpadded_form(cly_window w, const char *axis, char *msg, size_t size)
{
    char conv[160], pool[160], rest[512];
    snprintf(conv, sizeof conv, "(%s - F + 2P)/S + 1 = (%lld - %lld + 2*0)/%lld + 1", axis, (long long)w.in,
             (long long)w.size, (long long)w.stride);
    size_t len = strlen(conv);
    if (w.pad_lo != 0 || w.pad_hi != 0 || strncmp(msg, conv, len) != 0)
        return;
    snprintf(pool, sizeof pool, "(%s - F)/S + 1 = (%lld - %lld)/%lld + 1", axis, (long long)w.in, (long long)w.size,
             (long long)w.stride);
    snprintf(rest, sizeof rest, "%s", msg + len);
    snprintf(msg, size, "%s%s", pool, rest);
}

/* Output extent along one axis; *rounded is set when EXACT would fail. */
static bool axis_out(cly_window w, cly_rounding mode, const char *axis, int64_t *out, bool *rounded, char *msg,
                     size_t size)
{
    if (cly_window_out(w, CLY_ROUND_EXACT, axis, out, msg, size))
        return true;
    if (mode != CLY_ROUND_EXACT && cly_window_out(w, mode, axis, out, msg, size)) {
        *rounded = true;
        return true;
    }
    unpadded_form(w, axis, msg, size);
    return false;
}

bool cly_pool_geom_make(const cly_pool_params *p, cly_shape in, cly_pool_geom *g, bool *rounded, char *msg,
                        size_t size)
{
    if (size > 0)
        msg[0] = '\0';
    if ((unsigned)p->kind > CLY_POOL_L2) {
        snprintf(msg, size, "unknown pooling kind %d", (int)p->kind);
        return false;
    }
    if ((unsigned)p->rounding > CLY_ROUND_CEIL) {
        snprintf(msg, size, "unknown rounding mode %d", (int)p->rounding);
        return false;
    }
    if (in.n < 1 || in.c < 1 || in.h < 1 || in.w < 1) {
        snprintf(msg, size, "input " CLY_SHAPE_FMT ": every dimension must be >= 1", CLY_SHAPE_ARGS(in));
        return false;
    }
    if (p->size.h < 1 || p->size.w < 1) {
        snprintf(msg, size, "window %lldx%lld: F must be >= 1 in both directions", (long long)p->size.h,
                 (long long)p->size.w);
        return false;
    }
    int64_t sh = p->stride.h ? p->stride.h : 1, sw = p->stride.w ? p->stride.w : 1;
    if (sh < 1 || sw < 1) {
        snprintf(msg, size, "stride %lldx%lld: S must be >= 1 (0 means 1)", (long long)p->stride.h,
                 (long long)p->stride.w);
        return false;
    }
    const int64_t pads[4] = {p->pad.top, p->pad.bottom, p->pad.left, p->pad.right};
    static const char *const sides[4] = {"top", "bottom", "left", "right"};
    for (int i = 0; i < 4; i++) {
        int64_t f = i < 2 ? p->size.h : p->size.w;
        if (pads[i] < 0 || pads[i] >= f) {
            /* A pad as wide as the window would allow windows of padding
             * only: -inf for max, 0/0 for an average without padding. */
            snprintf(msg, size, "padding %s = %lld: need 0 <= P < F = %lld (a window must reach the input)",
                     sides[i], (long long)pads[i], (long long)f);
            return false;
        }
    }
    bool was_rounded = false;
    int64_t oh, ow;
    if (!axis_out((cly_window){in.h, p->size.h, sh, p->pad.top, p->pad.bottom, 1}, p->rounding, "H", &oh,
                  &was_rounded, msg, size) ||
        !axis_out((cly_window){in.w, p->size.w, sw, p->pad.left, p->pad.right, 1}, p->rounding, "W", &ow,
                  &was_rounded, msg, size))
        return false;
    *g = (cly_pool_geom){.n = in.n, .c = in.c, .h = in.h, .w = in.w,
                         .fh = p->size.h, .fw = p->size.w, .sh = sh, .sw = sw,
                         .pt = p->pad.top, .pb = p->pad.bottom, .pl = p->pad.left, .pr = p->pad.right,
                         .oh = oh, .ow = ow, .kind = p->kind, .exclude_pad = p->avg_exclude_pad};
    if (rounded)
        *rounded = was_rounded;
    return true;
}

bool cly_pool_rows(const cly_context *ctx)
{
    if (ctx->precision == CLY_PRECISION_FLOAT64)
        return false;
    const char *env = getenv("CLAYER_POOL_ROWS");
    if (env && (strcmp(env, "0") == 0 || strcmp(env, "1") == 0))
        return env[0] == '1';
    return cly_tuning_of(ctx)->pool_rows;
}

void cly_pool_rows_begin(cly_context *ctx, cly_args *a, const cly_pool_geom *g, const char *kernel)
{
    /* $CLAYER_POOL_VW (1 .. 16) replaces the device's width, so that tests
     * reach the wide variants on oclgrind, which prefers scalars. */
    const char *env = getenv("CLAYER_POOL_VW");
    int vw = env ? atoi(env) : 0;
    if (vw != 1 && vw != 2 && vw != 4 && vw != 8 && vw != 16) {
        /* No wider than the row's interior (the columns whose windows lie
         * inside the input), so narrow maps (Fashion-MNIST's 14) still get
         * vectors. */
        const int64_t lo = (g->pl + g->sw - 1) / g->sw;
        const int64_t hi = g->w + g->pl - g->fw < 0 ? lo : (g->w + g->pl - g->fw) / g->sw + 1;
        const int64_t inside = (hi < g->ow ? hi : g->ow) - lo;
        vw = cly_tuning_vector_width(ctx, 1);
        while (vw > 1 && vw > inside)
            vw /= 2;
        /* Strides past 2 gather element by element: slower than scalars
         * (0.3x on GoogLeNet's 5x5/3, pool_bench). */
        if (g->sw > 2)
            vw = 1;
    }
    const char *swizzle = getenv("CLAYER_POOL_SWIZZLE"); /* "0" for oclgrind */
    char opts[96];
    snprintf(opts, sizeof opts, "-DVW=%d -DPS=%lld -DPOOL_SWIZZLE=%d", vw, (long long)g->sw,
             !(swizzle && strcmp(swizzle, "0") == 0));
    cly_args_begin(ctx, a, "pool_rows", opts, kernel);
}

cly_status cly_pool_forward(cly_context *ctx, const cly_pool_geom *g, cly_buf x, cly_buf y, cly_buf argmax)
{
    static const char *const names[] = {"pool_max", "pool_avg", "pool_l2"};
    if ((unsigned)g->kind > CLY_POOL_L2)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "pool: unknown kind %d", (int)g->kind);
    if (argmax.mem && g->kind != CLY_POOL_MAX)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "pool: argmax is only defined for max pooling");
    /* Rows, columns and in-plane indices are ints in the kernel (and the
     * argmax is int32); only the plane count and element ids are 64-bit. */
    int64_t plane, count;
    if (!cly_mul_i64(g->h, g->w, &plane) || !cly_fits_int(plane) || !cly_fits_int(g->h + g->pt + g->pb + g->fh) ||
        !cly_fits_int(g->w + g->pl + g->pr + g->fw) || !cly_fits_int(g->sh) || !cly_fits_int(g->sw) ||
        !cly_fits_int(g->oh) || !cly_fits_int(g->ow) || !cly_fits_int(g->fh * g->fw) /* the avg divisor */)
        return cly_fail(ctx, CLY_ERROR_UNSUPPORTED,
                        "%s: a %lldx%lld plane with a %lldx%lld window exceeds the kernel's int range", names[g->kind],
                        (long long)g->h, (long long)g->w, (long long)g->fh, (long long)g->fw);
    if (!cly_mul_i64(g->n, g->c, &count) || !cly_mul_i64(count, g->oh, &count) ||
        !cly_mul_i64(count, g->ow, &count))
        return cly_fail(ctx, CLY_ERROR_SIZE_OVERFLOW, "%s: output count overflows", names[g->kind]);
    static const char *const row_names[] = {"pool_max_row", "pool_avg_row"};
    const bool rows = g->kind != CLY_POOL_L2 && cly_pool_rows(ctx);
    cly_args a;
    if (rows)
        cly_pool_rows_begin(ctx, &a, g, row_names[g->kind]);
    else
        cly_args_begin(ctx, &a, "pool", "", names[g->kind]);
    /* flag: want_argmax for max, exclude_pad for avg. An unused buffer
     * argument still needs a valid cl_mem: pass y. */
    const int64_t flag = g->kind == CLY_POOL_MAX ? argmax.mem != NULL : g->kind == CLY_POOL_AVG ? g->exclude_pad : 0;
    cly_arg_buf(&a, x);
    cly_arg_buf(&a, y);
    cly_arg_buf(&a, (cly_buf){argmax.mem ? argmax.mem : y.mem, argmax.offset});
    const int64_t ints[] = {flag, g->h, g->w, g->oh, g->ow, g->fh, g->fw, g->sh, g->sw, g->pt, g->pl, g->pb, g->pr};
    cly_arg_ints(&a, ints, sizeof ints / sizeof ints[0]);
    return rows ? cly_launch_rows(ctx, &a, g->oh, g->n * g->c) : cly_launch_planes(ctx, &a, g->ow, g->oh, g->n * g->c);
}

cly_status cly_gap_forward(cly_context *ctx, cly_shape in, cly_buf x, cly_buf y)
{
    int64_t planes, hw;
    if (!cly_mul_i64(in.n, in.c, &planes) || !cly_mul_i64(in.h, in.w, &hw) || planes < 1 || hw < 1)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "gap: bad input shape " CLY_SHAPE_FMT, CLY_SHAPE_ARGS(in));
    cly_args a;
    cly_args_begin(ctx, &a, "pool", "", "gap");
    cly_arg_buf(&a, x);
    cly_arg_buf(&a, y);
    cly_arg_long(&a, planes);
    cly_arg_long(&a, hw);
    return cly_launch_1d(ctx, &a, planes);
}
