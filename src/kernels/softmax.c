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
    cly_args a;
    cly_args_begin(ctx, &a, "softmax", "", "softmax");
    cly_arg_buf(&a, x);
    cly_arg_buf(&a, y);
    const int64_t longs[] = {columns, in.c, hw};
    cly_arg_longs(&a, longs, 3);
    return cly_launch_1d(ctx, &a, columns);
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
    cly_args a;
    cly_args_begin(ctx, &a, "softmax", "", "softmax_backward");
    cly_arg_buf(&a, y);
    cly_arg_buf(&a, dy);
    cly_arg_buf(&a, dx);
    const int64_t longs[] = {columns, in.c, hw};
    cly_arg_longs(&a, longs, 3);
    cly_arg_float(&a, beta);
    return cly_launch_1d(ctx, &a, columns);
}
