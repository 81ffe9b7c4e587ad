/* cly_conv2d: one direct convolution on tensors, validated like a layer. */
#include "internal.h"
#include "shape.h"

#include <stdio.h>

#define WHAT "cly_conv2d"

static bool same_shape(cly_shape a, cly_shape b)
{
    return a.n == b.n && a.c == b.c && a.h == b.h && a.w == b.w;
}

static cly_status set_args(cly_context *ctx, cl_kernel k, const cl_mem *mems, const cl_long *offs, const int *ints,
                           int nints)
{
    cl_int err = CL_SUCCESS;
    for (cl_uint i = 0; i < 4; i++) {
        err |= clSetKernelArg(k, 2 * i, sizeof(cl_mem), &mems[i]);
        err |= clSetKernelArg(k, 2 * i + 1, sizeof(cl_long), &offs[i]);
    }
    for (int i = 0; i < nints; i++)
        err |= clSetKernelArg(k, 8 + (cl_uint)i, sizeof(int), &ints[i]);
    return err == CL_SUCCESS ? CLY_SUCCESS : cly_fail(ctx, CLY_ERROR_OPENCL, WHAT ": clSetKernelArg failed");
}

const char *cly_conv_algo_string(cly_conv_algo algo)
{
    static const char *const names[CLY_CONV_ALGO_COUNT] = {"auto", "direct", "im2col", "gemm1x1"};
    return (unsigned)algo < CLY_CONV_ALGO_COUNT ? names[algo] : "unknown";
}

cly_status cly_conv2d(cly_context *ctx, const cly_tensor *in, const cly_tensor *w, const cly_tensor *bias,
                      cly_conv_params p, cly_tensor *out)
{
    if (!ctx || !in || !w || !out)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, WHAT ": ctx, input, weights and output must not be NULL");
    if (in->ctx != ctx || w->ctx != ctx || out->ctx != ctx || (bias && bias->ctx != ctx))
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, WHAT ": every tensor must belong to ctx");
    cly_shape x = in->shape, f = w->shape, y = out->shape;
    if (p.stride.h == 0)
        p.stride.h = 1;
    if (p.stride.w == 0)
        p.stride.w = 1;
    if (p.dilation.h == 0)
        p.dilation.h = 1;
    if (p.dilation.w == 0)
        p.dilation.w = 1;
    if ((p.filters && p.filters != f.n) || (p.size.h && p.size.h != f.h) || (p.size.w && p.size.w != f.w))
        return cly_fail(ctx, CLY_ERROR_SHAPE_MISMATCH,
                        WHAT ": params say %lld filters of %lldx%lld but the weights are " CLY_SHAPE_FMT,
                        (long long)p.filters, (long long)p.size.h, (long long)p.size.w, CLY_SHAPE_ARGS(f));
    if (p.groups > 1 || p.stride.h != p.stride.w || p.dilation.h != p.dilation.w || p.pad.top != p.pad.left ||
        p.pad.top != p.pad.bottom || p.pad.left != p.pad.right || (p.algo != CLY_CONV_AUTO && p.algo != CLY_CONV_DIRECT))
        return cly_fail(ctx, CLY_ERROR_UNSUPPORTED, WHAT ": this build supports only symmetric, ungrouped direct convolution");
    if (f.c != x.c)
        return cly_fail(ctx, CLY_ERROR_SHAPE_MISMATCH,
                        WHAT ": weights " CLY_SHAPE_FMT " (K x C x FH x FW) have C = %lld but the input " CLY_SHAPE_FMT
                             " has C = %lld",
                        CLY_SHAPE_ARGS(f), (long long)f.c, CLY_SHAPE_ARGS(x), (long long)x.c);
    char msg[256];
    int64_t oh, ow;
    if (!cly_window_out((cly_window){x.h, f.h, p.stride.h, p.pad.top, p.pad.bottom, p.dilation.h}, p.rounding, "H",
                        &oh, msg, sizeof msg) ||
        !cly_window_out((cly_window){x.w, f.w, p.stride.w, p.pad.left, p.pad.right, p.dilation.w}, p.rounding, "W",
                        &ow, msg, sizeof msg))
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, WHAT ": %s", msg);
    cly_shape want = {x.n, f.n, oh, ow};
    if (!same_shape(y, want))
        return cly_fail(ctx, CLY_ERROR_SHAPE_MISMATCH, WHAT ": output is " CLY_SHAPE_FMT ", expected " CLY_SHAPE_FMT,
                        CLY_SHAPE_ARGS(y), CLY_SHAPE_ARGS(want));
    if (bias && !same_shape(bias->shape, (cly_shape){1, f.n, 1, 1}))
        return cly_fail(ctx, CLY_ERROR_SHAPE_MISMATCH, WHAT ": bias is " CLY_SHAPE_FMT ", expected 1x%lldx1x1",
                        CLY_SHAPE_ARGS(bias->shape), (long long)f.n);
    /* The kernel indexes planes and filters with int: keep them in range. */
    const int64_t lim = INT32_MAX;
    if (x.c > lim || x.h * x.w > lim || f.n > lim || oh * ow > lim || x.n > lim || f.c * f.h * f.w > lim ||
        p.stride.h > lim || p.pad.top > lim || p.dilation.h > lim)
        return cly_fail(ctx, CLY_ERROR_UNSUPPORTED, WHAT ": a dimension exceeds 2^31 - 1");

    cl_kernel k;
    cly_status s = cly_kernel_get(ctx, "conv_direct", bias ? "-DHAS_BIAS=1" : "-DHAS_BIAS=0", "conv_direct", &k);
    if (s != CLY_SUCCESS)
        return s;
    const cl_mem mems[4] = {in->buffer, w->buffer, bias ? bias->buffer : w->buffer, out->buffer};
    const cl_long offs[4] = {in->offset, w->offset, bias ? bias->offset : 0, out->offset};
    const int ints[] = {(int)x.c, (int)x.h, (int)x.w, (int)f.n, (int)f.h, (int)f.w,
                        (int)p.stride.h, (int)p.pad.top, (int)p.dilation.h, (int)oh, (int)ow};
    s = set_args(ctx, k, mems, offs, ints, (int)(sizeof ints / sizeof ints[0]));
    if (s != CLY_SUCCESS)
        return s;
    const size_t global[3] = {(size_t)(oh * ow), (size_t)f.n, (size_t)x.n};
    cl_int err = clEnqueueNDRangeKernel(ctx->queue, k, 3, NULL, global, NULL, 0, NULL, NULL);
    return err == CL_SUCCESS ? CLY_SUCCESS : cly_fail_cl(ctx, err, WHAT ": clEnqueueNDRangeKernel");
}
