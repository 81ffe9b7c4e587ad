/* Softmax over C for every (n, y, x): numerically stable (the maximum is
 * subtracted first), as PyTorch's softmax(dim=1) and Caffe's Softmax layer.
 * One work-item per column: for an FC output (HW = 1) that is one per
 * sample, enough for classifier heads of a few thousand classes. */
#include "runtime/launch.h"

cly_status cly_softmax_forward(cly_context *ctx, cly_shape in, cly_buf x, cly_buf y)
{
    int64_t hw, columns, total;
    if (!cly_mul_i64(in.h, in.w, &hw) || !cly_mul_i64(in.n, hw, &columns) || !cly_mul_i64(columns, in.c, &total))
        return cly_fail(ctx, CLY_ERROR_SIZE_OVERFLOW, "softmax: shape " CLY_SHAPE_FMT, CLY_SHAPE_ARGS(in));
    if (in.c < 1)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "softmax: shape " CLY_SHAPE_FMT " has no channels",
                        CLY_SHAPE_ARGS(in));
    cl_kernel k;
    cly_status s = cly_kernel_get(ctx, "softmax", "", "softmax", &k);
    if (s != CLY_SUCCESS)
        return s;
    cl_long xo = x.offset, yo = y.offset, cnt = columns, C = in.c, HW = hw;
    const cly_karg a[] = {CLY_ARG(x.mem), CLY_ARG(xo), CLY_ARG(y.mem), CLY_ARG(yo),
                          CLY_ARG(cnt),   CLY_ARG(C),  CLY_ARG(HW)};
    s = cly_kernel_args(ctx, k, "softmax", a, sizeof a / sizeof a[0]);
    if (s != CLY_SUCCESS)
        return s;
    return cly_enqueue_1d(ctx, k, columns, "softmax");
}

/* dx = y * (dy - sum_c dy*y) per column, the Jacobian of softmax applied to
 * dy; the same one-work-item-per-column launch as the forward. */
cly_status cly_softmax_backward(cly_context *ctx, cly_shape in, cly_buf y, cly_buf dy, cly_buf dx, float beta)
{
    int64_t hw, columns, total;
    if (!cly_mul_i64(in.h, in.w, &hw) || !cly_mul_i64(in.n, hw, &columns) || !cly_mul_i64(columns, in.c, &total))
        return cly_fail(ctx, CLY_ERROR_SIZE_OVERFLOW, "softmax backward: shape " CLY_SHAPE_FMT, CLY_SHAPE_ARGS(in));
    if (in.c < 1)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "softmax backward: shape " CLY_SHAPE_FMT " has no channels",
                        CLY_SHAPE_ARGS(in));
    /* A column is read whole before its dx[c] is written, and dx[c] after
     * the last read of y[c] and dy[c]: dx may coincide with y or dy, but
     * not overlap either shifted. */
    if ((dx.offset != dy.offset && cly_overlap(dx, total, dy, total)) ||
        (dx.offset != y.offset && cly_overlap(dx, total, y, total)))
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "softmax backward: dx overlaps y or dy shifted");
    cl_kernel k;
    cly_status s = cly_kernel_get(ctx, "softmax", "", "softmax_backward", &k);
    if (s != CLY_SUCCESS)
        return s;
    cl_long yo = y.offset, dyo = dy.offset, dxo = dx.offset, cnt = columns, C = in.c, HW = hw;
    cl_float b = beta;
    const cly_karg a[] = {CLY_ARG(y.mem), CLY_ARG(yo), CLY_ARG(dy.mem), CLY_ARG(dyo), CLY_ARG(dx.mem),
                          CLY_ARG(dxo),   CLY_ARG(cnt), CLY_ARG(C),     CLY_ARG(HW),  CLY_ARG(b)};
    s = cly_kernel_args(ctx, k, "softmax_backward", a, sizeof a / sizeof a[0]);
    if (s != CLY_SUCCESS)
        return s;
    return cly_enqueue_1d(ctx, k, columns, "softmax_backward");
}
