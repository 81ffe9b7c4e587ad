/* Batch normalisation at inference: per channel
 *   y = scale * (x - mean) / sqrt(var + epsilon) + shift
 * with the running mean and (unbiased, PyTorch-style) running variance.
 * Training statistics come later; see cly_batchnorm_params. */
#include "runtime/launch.h"

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
    cl_kernel k;
    cly_status s = cly_kernel_get(ctx, "batchnorm", "", "batchnorm", &k);
    if (s != CLY_SUCCESS)
        return s;
    cl_long xo = x.offset, so = scale.offset, ho = shift.offset, mo = mean.offset, vo = var.offset, yo = y.offset;
    cl_int C = (cl_int)in.c, HW = (cl_int)hw;
    cl_float eps = (cl_float)epsilon;
    const cly_karg a[] = {CLY_ARG(x.mem),   CLY_ARG(xo), CLY_ARG(scale.mem), CLY_ARG(so), CLY_ARG(shift.mem),
                          CLY_ARG(ho),      CLY_ARG(mean.mem), CLY_ARG(mo),  CLY_ARG(var.mem), CLY_ARG(vo),
                          CLY_ARG(y.mem),   CLY_ARG(yo), CLY_ARG(C),         CLY_ARG(HW), CLY_ARG(eps)};
    s = cly_kernel_args(ctx, k, "batchnorm", a, sizeof a / sizeof a[0]);
    if (s != CLY_SUCCESS)
        return s;
    return cly_enqueue_planes(ctx, k, hw, in.c, in.n, "batchnorm");
}
