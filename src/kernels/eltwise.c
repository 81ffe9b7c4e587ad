/* Element-wise ops: ReLU (in place allowed), addition, channel concat. */
#include "runtime/launch.h"

cly_status cly_relu_forward(cly_context *ctx, int64_t count, cly_buf x, cly_buf y)
{
    /* In place means the very same elements; a shifted overlap would let
     * one work-item read what another already wrote. */
    if (x.offset != y.offset && cly_overlap(x, count, y, count))
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "relu: input and output overlap without coinciding");
    cl_long xo = x.offset, yo = y.offset, cnt = count;
    const cly_karg a[] = {CLY_ARG(x.mem), CLY_ARG(xo), CLY_ARG(y.mem), CLY_ARG(yo), CLY_ARG(cnt)};
    return cly_launch_1d(ctx, "eltwise", "relu", a, sizeof a / sizeof a[0], count);
}

cly_status cly_add_forward(cly_context *ctx, int64_t count, cly_buf a, cly_buf b, cly_buf y)
{
    cl_long ao = a.offset, bo = b.offset, yo = y.offset, cnt = count;
    const cly_karg args[] = {CLY_ARG(a.mem), CLY_ARG(ao), CLY_ARG(b.mem), CLY_ARG(bo),
                             CLY_ARG(y.mem), CLY_ARG(yo), CLY_ARG(cnt)};
    return cly_launch_1d(ctx, "eltwise", "add", args, sizeof args / sizeof args[0], count);
}

cly_status cly_concat_forward(cly_context *ctx, int64_t n, int64_t c, int64_t hw, int64_t c_total, int64_t c_offset,
                              cly_buf x, cly_buf y)
{
    int64_t count;
    if (c_offset < 0 || c < 1 || c_offset > c_total - c)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "concat: channels [%lld, %lld) do not fit in %lld",
                        (long long)c_offset, (long long)(c_offset + c), (long long)c_total);
    if (!cly_mul_i64(n, c, &count) || !cly_mul_i64(count, hw, &count))
        return cly_fail(ctx, CLY_ERROR_SIZE_OVERFLOW, "concat: %lld x %lld x %lld elements", (long long)n,
                        (long long)c, (long long)hw);
    cl_long xo = x.offset, yo = y.offset, cnt = count, C = c, HW = hw, CT = c_total, CO = c_offset;
    const cly_karg a[] = {CLY_ARG(x.mem), CLY_ARG(xo), CLY_ARG(y.mem), CLY_ARG(yo), CLY_ARG(cnt),
                          CLY_ARG(C),     CLY_ARG(HW), CLY_ARG(CT),    CLY_ARG(CO)};
    return cly_launch_1d(ctx, "eltwise", "concat", a, sizeof a / sizeof a[0], count);
}
