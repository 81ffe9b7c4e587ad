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

cly_status cly_lrn_forward(cly_context *ctx, cly_shape in, const cly_lrn_params *p, cly_buf x, cly_buf y)
{
    if (p->size < 1 || !cly_fits_int(p->size) || !(p->beta == p->beta) || !(p->k == p->k) || !(p->alpha == p->alpha))
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "lrn: size %lld must be >= 1 and alpha, beta, k numbers",
                        (long long)p->size);
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
    cl_kernel k;
    cly_status s = cly_kernel_get(ctx, "lrn", "", "lrn", &k);
    if (s != CLY_SUCCESS)
        return s;
    double a = p->alpha_mode == CLY_LRN_ALPHA_OVER_SIZE ? p->alpha / (double)p->size : p->alpha;
    cl_long xo = x.offset, yo = y.offset;
    /* Channels below and above c; clipped to C, which changes nothing but
     * keeps c + POST inside int. */
    int64_t pre = p->size / 2, post = p->size - 1 - pre;
    cl_int HW = (cl_int)hw, C = (cl_int)in.c;
    cl_int PRE = (cl_int)(pre < in.c ? pre : in.c), POST = (cl_int)(post < in.c ? post : in.c);
    cl_float A = (cl_float)a, K = (cl_float)p->k, BETA = (cl_float)p->beta;
    const cly_karg args[] = {CLY_ARG(x.mem), CLY_ARG(xo),   CLY_ARG(y.mem), CLY_ARG(yo), CLY_ARG(C), CLY_ARG(HW),
                             CLY_ARG(PRE),   CLY_ARG(POST), CLY_ARG(A),     CLY_ARG(K),  CLY_ARG(BETA)};
    s = cly_kernel_args(ctx, k, "lrn", args, sizeof args / sizeof args[0]);
    if (s != CLY_SUCCESS)
        return s;
    return cly_enqueue_planes(ctx, k, hw, in.c, in.n, "lrn");
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
    cl_kernel k;
    cly_status s = cly_kernel_get(ctx, "lrn", "", "lrn_backward", &k);
    if (s != CLY_SUCCESS)
        return s;
    double a = p->alpha_mode == CLY_LRN_ALPHA_OVER_SIZE ? p->alpha / (double)p->size : p->alpha;
    cl_long xo = x.offset, yo = y.offset, dyo = dy.offset, dxo = dx.offset;
    int64_t pre = p->size / 2, post = p->size - 1 - pre;
    cl_int HW = (cl_int)hw, C = (cl_int)in.c;
    cl_int PRE = (cl_int)(pre < in.c ? pre : in.c), POST = (cl_int)(post < in.c ? post : in.c);
    cl_float A = (cl_float)a, K = (cl_float)p->k, BETA = (cl_float)p->beta, b = beta;
    const cly_karg args[] = {CLY_ARG(x.mem), CLY_ARG(xo),   CLY_ARG(y.mem), CLY_ARG(yo), CLY_ARG(dy.mem),
                             CLY_ARG(dyo),   CLY_ARG(dx.mem), CLY_ARG(dxo), CLY_ARG(C),  CLY_ARG(HW),
                             CLY_ARG(PRE),   CLY_ARG(POST), CLY_ARG(A),     CLY_ARG(K),  CLY_ARG(BETA),
                             CLY_ARG(b)};
    s = cly_kernel_args(ctx, k, "lrn_backward", args, sizeof args / sizeof args[0]);
    if (s != CLY_SUCCESS)
        return s;
    return cly_enqueue_planes(ctx, k, hw, in.c, in.n, "lrn_backward");
}
