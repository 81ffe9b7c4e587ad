/* Adaptive average pooling (PyTorch's AdaptiveAvgPool2d), forward and
 * backward (kernels and the bin formulas in cl/adaptive_pool.cl).
 *
 * Output row i averages input rows floor(i*H/OH) .. ceil((i+1)*H/OH) - 1,
 * columns alike: bins may overlap, and OH > H repeats rows. The backward
 * pass gathers: each input cell sums dy / area over exactly the bins that
 * contain it, so overlapping bins need no atomics and dx repeats bit for
 * bit. beta = 0 overwrites dx without reading it, 1 accumulates. */
#include "runtime/launch.h"

/* The checks both passes share: a positive shape, extents that fit the
 * kernels' int parameters, and the element counts of x (*nin) and y
 * (*nout). */
static cly_status check_geometry(cly_context *ctx, const char *what, cly_shape in, int64_t oh, int64_t ow,
                                 int64_t *nin, int64_t *nout)
{
    if (in.n < 1 || in.c < 1 || in.h < 1 || in.w < 1)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: input " CLY_SHAPE_FMT ": every dimension must be >= 1",
                        what, CLY_SHAPE_ARGS(in));
    if (oh < 1 || ow < 1)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: output %lldx%lld: both sizes must be >= 1", what,
                        (long long)oh, (long long)ow);
    /* The kernels take H, W, OH, OW as int and form the bin products
     * (i*H, h*OH, ...) in 64 bits; offsets are long. */
    if (!cly_fits_int(in.h) || !cly_fits_int(in.w) || !cly_fits_int(oh) || !cly_fits_int(ow))
        return cly_fail(ctx, CLY_ERROR_UNSUPPORTED,
                        "%s: a %lldx%lld input or %lldx%lld output exceeds the kernel's int range", what,
                        (long long)in.h, (long long)in.w, (long long)oh, (long long)ow);
    int64_t planes;
    if (!cly_mul_i64(in.n, in.c, &planes) || !cly_mul_i64(planes, in.h, nin) || !cly_mul_i64(*nin, in.w, nin) ||
        !cly_mul_i64(planes, oh, nout) || !cly_mul_i64(*nout, ow, nout))
        return cly_fail(ctx, CLY_ERROR_SIZE_OVERFLOW, "%s: element count of " CLY_SHAPE_FMT " -> %lldx%lld overflows",
                        what, CLY_SHAPE_ARGS(in), (long long)oh, (long long)ow);
    return CLY_SUCCESS;
}

cly_status cly_adaptive_avgpool_forward(cly_context *ctx, cly_shape in, int64_t oh, int64_t ow, cly_buf x, cly_buf y)
{
    static const char name[] = "adaptive_avgpool";
    int64_t nin, nout;
    cly_status s = check_geometry(ctx, name, in, oh, ow, &nin, &nout);
    if (s != CLY_SUCCESS)
        return s;
    if (!x.mem || !y.mem)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: x and y are required", name);
    /* y is written while other work-items still read x. */
    if (cly_overlap(y, nout, x, nin))
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: y overlaps x", name);
    cly_args a;
    cly_args_begin(ctx, &a, "adaptive_pool", "", name);
    cly_arg_buf(&a, x);
    cly_arg_buf(&a, y);
    const int64_t ints[] = {in.h, in.w, oh, ow};
    cly_arg_ints(&a, ints, sizeof ints / sizeof ints[0]);
    return cly_launch_planes(ctx, &a, ow, oh, in.n * in.c);
}

cly_status cly_adaptive_avgpool_backward(cly_context *ctx, cly_shape in, int64_t oh, int64_t ow, cly_buf dy,
                                         cly_buf dx, float beta)
{
    static const char name[] = "adaptive_avgpool_backward";
    int64_t nin, nout;
    cly_status s = check_geometry(ctx, name, in, oh, ow, &nin, &nout);
    if (s != CLY_SUCCESS)
        return s;
    if (!dy.mem || !dx.mem)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: dy and dx are required", name);
    /* dx is written while other work-items still read dy. */
    if (cly_overlap(dx, nin, dy, nout))
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: dx overlaps dy", name);
    cly_args a;
    cly_args_begin(ctx, &a, "adaptive_pool", "", name);
    cly_arg_buf(&a, dy);
    cly_arg_buf(&a, dx);
    cly_arg_float(&a, beta);
    const int64_t ints[] = {in.h, in.w, oh, ow};
    cly_arg_ints(&a, ints, sizeof ints / sizeof ints[0]);
    return cly_launch_planes(ctx, &a, in.w, in.h, in.n * in.c);
}
