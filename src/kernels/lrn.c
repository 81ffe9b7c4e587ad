/* Local response normalisation across channels (AlexNet, GoogLeNet):
 *   b[c] = a[c] / (k + A * sum_{c' in window(c)} a[c']^2)^beta
 * with A = alpha/size (Caffe, PyTorch; CLY_LRN_ALPHA_OVER_SIZE) or alpha as
 * given (the AlexNet paper; CLY_LRN_ALPHA_RAW). The divisor of alpha is
 * always `size`, also where the window is clipped at the first or last
 * channel (Caffe and PyTorch both do so).
 *
 * The window runs from c - size/2 to c + (size-1)/2, as clayer.h specifies:
 * PyTorch's local_response_norm, which pads size/2 channels in front and
 * (size-1)/2 behind. For the odd sizes Caffe allows, this is Caffe's window
 * too; users bring weights trained with PyTorch's even-size rule. */
#include "runtime/launch.h"

/* C, HW, the channels below and above c (clipped to C, which changes
 * nothing but keeps c + POST inside int), A, k, beta: the arguments both
 * kernels take after their buffers. */
static void window_args(cly_args *a, cly_shape in, int64_t hw, const cly_lrn_params *p)
{
    const int64_t pre = p->size / 2, post = p->size - 1 - pre;
    const int64_t ints[] = {in.c, hw, pre < in.c ? pre : in.c, post < in.c ? post : in.c};
    cly_arg_ints(a, ints, sizeof ints / sizeof ints[0]);
    cly_arg_real(a, p->alpha_mode == CLY_LRN_ALPHA_OVER_SIZE ? p->alpha / (double)p->size : p->alpha);
    cly_arg_real(a, p->k);
    cly_arg_real(a, p->beta);
}

cly_status cly_lrn_forward(cly_context *ctx, cly_shape in, const cly_lrn_params *p, cly_buf x, cly_buf y)
{
    if (p->size < 1 || !cly_fits_int(p->size) || !(p->beta == p->beta) || !(p->k == p->k) || !(p->alpha == p->alpha))
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "lrn: size %lld must be >= 1 and alpha, beta, k numbers",
                        (long long)p->size);
    if (p->k < 0 || p->alpha < 0)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "lrn: k = %g and alpha = %g must be >= 0", p->k, p->alpha);
    if ((unsigned)p->alpha_mode > CLY_LRN_ALPHA_RAW)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "lrn: unknown alpha mode %d", (int)p->alpha_mode);
    int64_t hw, count;
    if (!cly_mul_i64(in.h, in.w, &hw) || !cly_mul_i64(in.n, in.c, &count) || !cly_mul_i64(count, hw, &count))
        return cly_fail(ctx, CLY_ERROR_SIZE_OVERFLOW, "lrn: shape " CLY_SHAPE_FMT, CLY_SHAPE_ARGS(in));
    if (!cly_fits_int(2 * in.c) || !cly_fits_int(hw)) /* c + POST and positions stay ints */
        return cly_fail(ctx, CLY_ERROR_UNSUPPORTED,
                        "lrn: %lld channels of %lld positions exceed the kernel's int range", (long long)in.c,
                        (long long)hw);
    /* Work-items read their neighbours' channels: no in-place LRN. */
    if (cly_overlap(x, count, y, count))
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "lrn: output overlaps the input");
    cly_args a;
    cly_args_begin(ctx, &a, "lrn", "", "lrn");
    cly_arg_buf(&a, x);
    cly_arg_buf(&a, y);
    window_args(&a, in, hw, p);
    return cly_launch_planes(ctx, &a, hw, in.c, in.n);
}

/* The exact derivative, cross-channel terms included (see cl/lrn.cl):
 *   dx_c = dy_c d_c^-beta - 2 A beta x_c sum_{i : c in window(i)} dy_i y_i / d_i
 * with d = k + A * (window sum of squares), recomputed from x; y is the
 * forward's output. */
cly_status cly_lrn_backward(cly_context *ctx, cly_shape in, const cly_lrn_params *p, cly_buf x, cly_buf y, cly_buf dy,
                            cly_buf dx, float beta)
{
    if (p->size < 1 || !cly_fits_int(p->size) || !(p->beta == p->beta) || !(p->k == p->k) || !(p->alpha == p->alpha))
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT,
                        "lrn backward: size %lld must be >= 1 and alpha, beta, k numbers", (long long)p->size);
    if (p->k < 0 || p->alpha < 0)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "lrn backward: k = %g and alpha = %g must be >= 0", p->k,
                        p->alpha);
    if ((unsigned)p->alpha_mode > CLY_LRN_ALPHA_RAW)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "lrn backward: unknown alpha mode %d", (int)p->alpha_mode);
    int64_t hw, count;
    if (!cly_mul_i64(in.h, in.w, &hw) || !cly_mul_i64(in.n, in.c, &count) || !cly_mul_i64(count, hw, &count))
        return cly_fail(ctx, CLY_ERROR_SIZE_OVERFLOW, "lrn backward: shape " CLY_SHAPE_FMT, CLY_SHAPE_ARGS(in));
    if (!cly_fits_int(2 * in.c) || !cly_fits_int(hw))
        return cly_fail(ctx, CLY_ERROR_UNSUPPORTED,
                        "lrn backward: %lld channels of %lld positions exceed the kernel's int range",
                        (long long)in.c, (long long)hw);
    /* Each work-item reads its neighbours' channels of x, y and dy. */
    if (cly_overlap(dx, count, x, count) || cly_overlap(dx, count, y, count) || cly_overlap(dx, count, dy, count))
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "lrn backward: dx overlaps x, y or dy");
    cly_args a;
    cly_args_begin(ctx, &a, "lrn", "", "lrn_backward");
    cly_arg_buf(&a, x);
    cly_arg_buf(&a, y);
    cly_arg_buf(&a, dy);
    cly_arg_buf(&a, dx);
    window_args(&a, in, hw, p);
    cly_arg_float(&a, beta);
    return cly_launch_planes(ctx, &a, hw, in.c, in.n);
}
