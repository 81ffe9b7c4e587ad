/* Backward passes of pooling and global average pooling (kernels in
 * cl/pool.cl). Each input element gathers from the outputs whose windows
 * cover it, so overlapping windows (F3 S2) need no atomics and dx repeats
 * bit for bit from run to run.
 * - Max routes dy[o] to the input cell the forward recorded in argmax[o]
 *   (cly_pool_forward with an argmax buffer): ties and NaNs go exactly where
 *   the forward took its value from.
 * - Average uses the forward's divisor rule for rule (count_include_pad or
 *   exclude_pad; CEIL windows clipped to input + padding).
 * - L2: d sqrt(sum x^2)/dx = x/y; a window whose y is 0 passes no gradient
 *   (every x in it is 0, where the root has no derivative). */
#include "kernels/pool_internal.h"
#include "runtime/tuning.h"

/* pool_rows.cl's backward for beta = 0: a work-item per plane. */
static cly_status scatter(cly_context *ctx, const cly_pool_geom *g, cly_buf argmax, cly_buf dy, cly_buf dx)
{
    const bool max = g->kind == CLY_POOL_MAX;
    cly_args a;
    cly_pool_rows_begin(ctx, &a, g, max ? "pool_max_scatter" : "pool_avg_scatter"); /* the forward's program */
    if (max)
        cly_arg_buf(&a, argmax);
    cly_arg_buf(&a, dy);
    cly_arg_buf(&a, dx);
    cly_arg_long(&a, g->n * g->c);
    if (max) {
        const int64_t ints[] = {g->h * g->w, g->oh * g->ow};
        cly_arg_ints(&a, ints, 2);
    } else {
        const int64_t ints[] = {g->exclude_pad, g->h,  g->w,  g->oh, g->ow, g->fh, g->fw,
                                g->sh,          g->sw, g->pt, g->pl, g->pb, g->pr};
        cly_arg_ints(&a, ints, sizeof ints / sizeof ints[0]);
    }
    const int64_t global[3] = {g->n * g->c, 1, 1};
    const size_t local[3] = {cly_tuning_of(ctx)->conv_group, 1, 1};
    return cly_launch(ctx, &a, 1, global, local);
}

cly_status cly_pool_backward(cly_context *ctx, const cly_pool_geom *g, cly_buf x, cly_buf y, cly_buf argmax,
                             cly_buf dy, cly_buf dx, float beta)
{
    static const char *const names[] = {"pool_max_backward", "pool_avg_backward", "pool_l2_backward"};
    if ((unsigned)g->kind > CLY_POOL_L2)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "pool backward: unknown kind %d", (int)g->kind);
    const char *name = names[g->kind];
    if (g->kind == CLY_POOL_MAX && !argmax.mem)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT,
                        "%s: max pooling needs the argmax the forward pass recorded", name);
    if (g->kind == CLY_POOL_L2 && (!x.mem || !y.mem))
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: L2 pooling needs the forward's x and y", name);
    if (!dy.mem || !dx.mem)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: dy and dx are required", name);
    /* The forward's int limits, plus the sums the gather forms
     * (iy + PT + SH, ix + PL + SW). */
    int64_t plane, count, outs;
    if (!cly_mul_i64(g->h, g->w, &plane) || !cly_fits_int(plane) || !cly_fits_int(g->h + g->pt + g->pb + g->fh) ||
        !cly_fits_int(g->w + g->pl + g->pr + g->fw) || !cly_fits_int(g->h + g->pt + g->sh) ||
        !cly_fits_int(g->w + g->pl + g->sw) || !cly_fits_int(g->oh) || !cly_fits_int(g->ow) ||
        !cly_fits_int(g->fh * g->fw))
        return cly_fail(ctx, CLY_ERROR_UNSUPPORTED,
                        "%s: a %lldx%lld plane with a %lldx%lld window exceeds the kernel's int range", name,
                        (long long)g->h, (long long)g->w, (long long)g->fh, (long long)g->fw);
    if (!cly_mul_i64(g->n, g->c, &count) || !cly_mul_i64(count, plane, &count) ||
        !cly_mul_i64(g->n * g->c, g->oh * g->ow, &outs))
        return cly_fail(ctx, CLY_ERROR_SIZE_OVERFLOW, "%s: element count overflows", name);
    /* dx is written while other work-items still read dy (and, for L2, x
     * and y); the unused x and y of max and average may be anything. */
    bool l2 = g->kind == CLY_POOL_L2;
    if (cly_overlap(dx, count, dy, outs) ||
        (l2 && (cly_overlap(dx, count, x, count) || cly_overlap(dx, count, y, outs))))
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: dx overlaps an input", name);
    if (beta == 0.0f && g->kind != CLY_POOL_L2 && cly_pool_rows(ctx))
        return scatter(ctx, g, argmax, dy, dx);
    cly_args a;
    cly_args_begin(ctx, &a, "pool", "", name);
    /* Unused buffer arguments still need a valid cl_mem: pass dy. */
    cly_arg_buf(&a, (cly_buf){x.mem ? x.mem : dy.mem, x.offset});
    cly_arg_buf(&a, (cly_buf){y.mem ? y.mem : dy.mem, y.offset});
    cly_arg_buf(&a, (cly_buf){argmax.mem ? argmax.mem : dy.mem, argmax.offset});
    cly_arg_buf(&a, dy);
    cly_arg_buf(&a, dx);
    cly_arg_int(&a, g->kind == CLY_POOL_AVG && g->exclude_pad);
    cly_arg_float(&a, beta);
    const int64_t ints[] = {g->h, g->w, g->oh, g->ow, g->fh, g->fw, g->sh, g->sw, g->pt, g->pl, g->pb, g->pr};
    cly_arg_ints(&a, ints, sizeof ints / sizeof ints[0]);
    return cly_launch_planes(ctx, &a, g->w, g->h, g->n * g->c);
}

cly_status cly_gap_backward(cly_context *ctx, cly_shape in, cly_buf dy, cly_buf dx, float beta)
{
    int64_t planes, hw, count;
    if (!cly_mul_i64(in.n, in.c, &planes) || !cly_mul_i64(in.h, in.w, &hw) || !cly_mul_i64(planes, hw, &count) ||
        planes < 1 || hw < 1)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "gap backward: bad input shape " CLY_SHAPE_FMT,
                        CLY_SHAPE_ARGS(in));
    if (cly_overlap(dx, count, dy, planes))
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "gap backward: dx overlaps dy");
    cly_args a;
    cly_args_begin(ctx, &a, "pool", "", "gap_backward");
    cly_arg_buf(&a, dy);
    cly_arg_buf(&a, dx);
    cly_arg_float(&a, beta);
    cly_arg_long(&a, count);
    cly_arg_long(&a, hw);
    return cly_launch_1d(ctx, &a, count);
}
