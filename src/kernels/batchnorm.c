/* Batch normalisation at inference: per channel
 *   y = scale * (x - mean) / sqrt(var + epsilon) + shift
 * with the running mean and (unbiased, PyTorch-style) running variance.
 * Training statistics come later; see cly_batchnorm_params. */
#include "runtime/launch.h"
#include "runtime/tuning.h"

cly_status cly_batchnorm_forward(cly_context *ctx, cly_shape in, double epsilon, cly_buf x, cly_buf scale,
                                 cly_buf shift, cly_buf mean, cly_buf var, cly_buf y)
{
    if (!(epsilon >= 0.0))
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "batchnorm: epsilon %g must be >= 0", epsilon);
    int64_t hw, count;
    if (!cly_mul_i64(in.h, in.w, &hw) || !cly_mul_i64(in.n, in.c, &count) || !cly_mul_i64(count, hw, &count))
        return cly_fail(ctx, CLY_ERROR_SIZE_OVERFLOW, "batchnorm: shape " CLY_SHAPE_FMT, CLY_SHAPE_ARGS(in));
    if (!cly_fits_int(in.c) || !cly_fits_int(hw))
        return cly_fail(ctx, CLY_ERROR_UNSUPPORTED,
                        "batchnorm: %lld channels of %lld positions exceed the kernel's int range", (long long)in.c,
                        (long long)hw);
    cly_args a;
    cly_args_begin(ctx, &a, "batchnorm", cly_tuning_bn_options(ctx), "batchnorm");
    const cly_buf bufs[] = {x, scale, shift, mean, var, y};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        cly_arg_buf(&a, bufs[i]);
    cly_arg_int(&a, in.c);
    cly_arg_int(&a, hw);
    cly_arg_real(&a, epsilon);
    /* A plane per work-item on CPUs (BN_APPLY in cl/batchnorm.cl). */
    return cly_tuning_of(ctx)->bn_contiguous ? cly_launch_rows(ctx, &a, in.c, in.n)
                                             : cly_launch_planes(ctx, &a, hw, in.c, in.n);
}
