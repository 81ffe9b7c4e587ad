/* Backward of the element-wise ops (kernels in cl/eltwise.cl): ReLU through
 * the mask y > 0, the plain gradient sum that addition and fan-out need, the
 * channel slice that concat hands back to each input, and the bias gradient
 * of convolution and fully connected. */
#include "runtime/launch.h"
#include "runtime/tuning.h"

/* Element-wise: an output may coincide with an input (each work-item reads
 * and writes only element i) but must not overlap it shifted. */
static bool bad_alias(cly_buf out, cly_buf in, int64_t count)
{
    return out.offset != in.offset && cly_overlap(out, count, in, count);
}

cly_status cly_relu_backward(cly_context *ctx, int64_t count, cly_buf y, cly_buf dy, cly_buf dx, float beta)
{
    if (count < 0)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "relu backward: %lld elements", (long long)count);
    if (bad_alias(dx, dy, count) || bad_alias(dx, y, count))
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "relu backward: dx overlaps y or dy without coinciding");
    cly_args a;
    cly_args_begin(ctx, &a, "eltwise", "", "relu_backward");
    cly_arg_buf(&a, y);
    cly_arg_buf(&a, dy);
    cly_arg_buf(&a, dx);
    cly_arg_long(&a, count);
    cly_arg_float(&a, beta);
    return cly_launch_1d(ctx, &a, count);
}

cly_status cly_relu_bounded_backward(cly_context *ctx, int64_t count, double slope, double max, cly_buf y, cly_buf dy,
                                     cly_buf dx, float beta)
{
    if (count < 0 || bad_alias(dx, dy, count) || bad_alias(dx, y, count))
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT,
                        "relu backward: %lld elements, or dx overlapping y or dy without coinciding", (long long)count);
    cly_args a;
    cly_args_begin(ctx, &a, "eltwise", "", "relu_bounded_backward");
    cly_arg_buf(&a, y);
    cly_arg_buf(&a, dy);
    cly_arg_buf(&a, dx);
    cly_arg_long(&a, count);
    cly_arg_real(&a, slope);
    cly_arg_real(&a, max);
    cly_arg_int(&a, max > 0);
    cly_arg_float(&a, beta);
    return cly_launch_1d(ctx, &a, count);
}

cly_status cly_grad_accumulate(cly_context *ctx, int64_t count, cly_buf dy, cly_buf dx, float beta)
{
    if (count < 0)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "grad accumulate: %lld elements", (long long)count);
    if (bad_alias(dx, dy, count))
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "grad accumulate: dx overlaps dy without coinciding");
    cly_args a;
    cly_args_begin(ctx, &a, "eltwise", "", "grad_accumulate");
    cly_arg_buf(&a, dy);
    cly_arg_buf(&a, dx);
    cly_arg_long(&a, count);
    cly_arg_float(&a, beta);
    return cly_launch_1d(ctx, &a, count);
}

cly_status cly_concat_backward(cly_context *ctx, int64_t n, int64_t c, int64_t hw, int64_t c_total, int64_t c_offset,
                               cly_buf dy, cly_buf dx, float beta)
{
    int64_t count, total;
    if (c_offset < 0 || c < 1 || c_offset > c_total - c)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "concat backward: channels [%lld, %lld) do not fit in %lld",
                        (long long)c_offset, (long long)(c_offset + c), (long long)c_total);
    if (!cly_mul_i64(n, c, &count) || !cly_mul_i64(count, hw, &count) || !cly_mul_i64(n, c_total, &total) ||
        !cly_mul_i64(total, hw, &total))
        return cly_fail(ctx, CLY_ERROR_SIZE_OVERFLOW, "concat backward: %lld x %lld x %lld elements", (long long)n,
                        (long long)c_total, (long long)hw);
    /* One sample whose dx is the very slice of dy is a legal in-place view
     * (each work-item reads and writes one element); anything else that
     * overlaps would read what another work-item wrote. */
    bool same_slice = n == 1 && dx.mem == dy.mem && dx.offset == dy.offset + c_offset * hw;
    if (!same_slice && cly_overlap(dx, count, dy, total))
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "concat backward: dx overlaps dy");
    cly_args a;
    cly_args_begin(ctx, &a, "eltwise", "", "concat_backward");
    cly_arg_buf(&a, dy);
    cly_arg_buf(&a, dx);
    const int64_t longs[] = {count, c, hw, c_total, c_offset};
    cly_arg_longs(&a, longs, sizeof longs / sizeof longs[0]);
    cly_arg_float(&a, beta);
    return cly_launch_1d(ctx, &a, count);
}

cly_status cly_bias_grad(cly_context *ctx, int64_t n, int64_t k, int64_t hw, cly_buf dy, cly_buf db, float beta)
{
    cly_args a;
    cly_args_begin(ctx, &a, "eltwise", "", "bias_grad");
    cly_arg_buf(&a, dy);
    cly_arg_buf(&a, db);
    const int64_t longs[] = {n, k, hw};
    cly_arg_longs(&a, longs, 3);
    cly_arg_float(&a, beta);
    /* One work-item loops over a whole channel: small groups, so that a
     * CPU's cores share the K channels (a group of 64 would put a 64-channel
     * layer on one thread). */
    const size_t local = cly_tuning_of(ctx)->conv_group;
    return cly_launch(ctx, &a, 1, &k, &local);
}
