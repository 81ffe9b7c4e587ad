/* Element-wise ops: ReLU (in place allowed), addition, channel concat, and
 * the bias + activation epilogue of the GEMM-based layers. */
#include "runtime/launch.h"
#include "runtime/tuning.h"

cly_status cly_relu_forward(cly_context *ctx, int64_t count, cly_buf x, cly_buf y)
{
    /* In place means the very same elements; a shifted overlap would let
     * one work-item read what another already wrote. */
    if (x.offset != y.offset && cly_overlap(x, count, y, count))
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "relu: input and output overlap without coinciding");
    cly_args a;
    cly_args_begin(ctx, &a, "eltwise", "", "relu");
    cly_arg_buf(&a, x);
    cly_arg_buf(&a, y);
    cly_arg_long(&a, count);
    return cly_launch_1d(ctx, &a, count);
}

cly_status cly_relu_bounded_forward(cly_context *ctx, int64_t count, double slope, double max, cly_buf x, cly_buf y)
{
    if (x.offset != y.offset && cly_overlap(x, count, y, count))
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "relu: input and output overlap without coinciding");
    cly_args a;
    cly_args_begin(ctx, &a, "eltwise", "", "relu_bounded");
    cly_arg_buf(&a, x);
    cly_arg_buf(&a, y);
    cly_arg_long(&a, count);
    cly_arg_real(&a, slope);
    cly_arg_real(&a, max);
    cly_arg_int(&a, max > 0);
    return cly_launch_1d(ctx, &a, count);
}

cly_status cly_add_forward(cly_context *ctx, int64_t count, cly_buf a, cly_buf b, cly_buf y)
{
    cly_args k;
    cly_args_begin(ctx, &k, "eltwise", "", "add");
    cly_arg_buf(&k, a);
    cly_arg_buf(&k, b);
    cly_arg_buf(&k, y);
    cly_arg_long(&k, count);
    return cly_launch_1d(ctx, &k, count);
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
    cly_args a;
    cly_args_begin(ctx, &a, "eltwise", "", "concat");
    cly_arg_buf(&a, x);
    cly_arg_buf(&a, y);
    const int64_t longs[] = {count, c, hw, c_total, c_offset};
    cly_arg_longs(&a, longs, sizeof longs / sizeof longs[0]);
    return cly_launch_1d(ctx, &a, count);
}

cly_status cly_bias_act(cly_context *ctx, int64_t planes, int64_t k, int64_t hw, cly_buf bias, bool relu, cly_buf y)
{
    if (!bias.mem && !relu)
        return CLY_SUCCESS;
    const cly_tuning *t = cly_tuning_of(ctx);
    const int64_t chunk = t->epilogue_chunk, tiles = (hw + chunk - 1) / chunk;
    cly_args a;
    cly_args_begin(ctx, &a, "eltwise", "", "bias_act");
    cly_arg_buf(&a, y);
    cly_arg_buf(&a, (cly_buf){bias.mem ? bias.mem : y.mem, bias.offset}); /* unused without bias, but a valid cl_mem */
    const int64_t longs[] = {planes, k, hw, chunk};
    cly_arg_longs(&a, longs, 4);
    cly_arg_int(&a, bias.mem != NULL);
    cly_arg_int(&a, relu);
    /* Planes of one tile (FC outputs, small maps) group along the planes. */
    const int64_t global[2] = {tiles, planes};
    const size_t local[2] = {tiles == 1 ? 1 : t->conv_group, tiles == 1 ? t->group_1d : 1};
    return cly_launch(ctx, &a, 2, global, local);
}

cly_status cly_axpby(cly_context *ctx, int64_t count, double alpha, cly_buf x, double beta, cly_buf y)
{
    if (count < 0 || cly_overlap(x, count, y, count))
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "axpby: %lld elements, x and y overlapping", (long long)count);
    cly_args a;
    cly_args_begin(ctx, &a, "eltwise", "", "axpby");
    cly_arg_buf(&a, x);
    cly_arg_buf(&a, y);
    cly_arg_long(&a, count);
    cly_arg_real(&a, alpha);
    cly_arg_real(&a, beta);
    return cly_launch_1d(ctx, &a, count);
}
