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
#include "runtime/launch.h"

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
    cl_kernel k;
    cly_status s = cly_kernel_get(ctx, "pool", "", name, &k);
    if (s != CLY_SUCCESS)
        return s;
    /* Unused buffer arguments still need a valid cl_mem: pass dy. */
    cl_mem xm = x.mem ? x.mem : dy.mem, ym = y.mem ? y.mem : dy.mem, am = argmax.mem ? argmax.mem : dy.mem;
    cl_long xo = x.offset, yo = y.offset, ao = argmax.offset, dyo = dy.offset, dxo = dx.offset;
    cl_int H = (cl_int)g->h, W = (cl_int)g->w, OH = (cl_int)g->oh, OW = (cl_int)g->ow, FH = (cl_int)g->fh,
           FW = (cl_int)g->fw, SH = (cl_int)g->sh, SW = (cl_int)g->sw, PT = (cl_int)g->pt, PL = (cl_int)g->pl,
           PB = (cl_int)g->pb, PR = (cl_int)g->pr, flag = g->kind == CLY_POOL_AVG && g->exclude_pad;
    cl_float b = beta;
    const cly_karg a[] = {CLY_ARG(xm),   CLY_ARG(xo),  CLY_ARG(ym), CLY_ARG(yo), CLY_ARG(am), CLY_ARG(ao),
                          CLY_ARG(dy.mem), CLY_ARG(dyo), CLY_ARG(dx.mem), CLY_ARG(dxo), CLY_ARG(flag),
                          CLY_ARG(b),    CLY_ARG(H),   CLY_ARG(W),  CLY_ARG(OH), CLY_ARG(OW), CLY_ARG(FH),
                          CLY_ARG(FW),   CLY_ARG(SH),  CLY_ARG(SW), CLY_ARG(PT), CLY_ARG(PL), CLY_ARG(PB),
                          CLY_ARG(PR)};
    s = cly_kernel_args(ctx, k, name, a, sizeof a / sizeof a[0]);
    if (s != CLY_SUCCESS)
        return s;
    return cly_enqueue_planes(ctx, k, g->w, g->h, g->n * g->c, name);
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
    cl_kernel k;
    cly_status s = cly_kernel_get(ctx, "pool", "", "gap_backward", &k);
    if (s != CLY_SUCCESS)
        return s;
    cl_long dyo = dy.offset, dxo = dx.offset, cnt = count, HW = hw;
    cl_float b = beta;
    const cly_karg a[] = {CLY_ARG(dy.mem), CLY_ARG(dyo), CLY_ARG(dx.mem), CLY_ARG(dxo),
                          CLY_ARG(b),      CLY_ARG(cnt), CLY_ARG(HW)};
    s = cly_kernel_args(ctx, k, "gap_backward", a, sizeof a / sizeof a[0]);
    if (s != CLY_SUCCESS)
        return s;
    return cly_enqueue_1d(ctx, k, count, "gap_backward");
}
