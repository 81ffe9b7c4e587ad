/* cly_conv2d on tensors, validated like a layer (the algorithm tables and
 * cly_conv_forward are in conv_algos.c). */
#include "kernels/conv_internal.h"

#include <stdio.h>

#define WHAT "cly_conv2d"

static bool same_shape(cly_shape a, cly_shape b)
{
    return a.n == b.n && a.c == b.c && a.h == b.h && a.w == b.w;
}

static cly_buf tensor_buf(const cly_tensor *t)
{
    return (cly_buf){t->buffer, t->offset};
}

cly_status cly_conv2d(cly_context *ctx, const cly_tensor *in, const cly_tensor *w, const cly_tensor *bias,
                      cly_conv_params p, cly_tensor *out)
{
    if (!ctx || !in || !w || !out)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, WHAT ": ctx, input, weights and output must not be NULL");
    const char *foreign = in->ctx != ctx              ? "input"
                          : w->ctx != ctx             ? "weights"
                          : out->ctx != ctx           ? "output"
                          : bias && bias->ctx != ctx  ? "bias"
                                                      : NULL;
    if (foreign)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT,
                        WHAT ": the %s tensor belongs to another context than ctx (every tensor must belong to ctx)",
                        foreign);
    if ((unsigned)p.algo >= CLY_CONV_ALGO_COUNT)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, WHAT ": params.algo = %d is not a cly_conv_algo",
                        (int)p.algo);
    /* Every algorithm reads inputs after it has written outputs (gemm1x1
     * in place got half the values wrong): no output may share memory with
     * an input, whether one tensor, one buffer or sub-buffers of one. */
    const cly_tensor *reads[] = {in, w, bias};
    const char *read_names[] = {"input", "weights", "bias"};
    for (int i = 0; i < 3; i++)
        if (cly_tensors_overlap(out, reads[i])) {
            char o[160], r[160];
            cly_tensor_describe_range(out, o, sizeof o);
            cly_tensor_describe_range(reads[i], r, sizeof r);
            return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT,
                            WHAT ": the output (%s) overlaps the %s (%s); convolution cannot run in place", o,
                            read_names[i], r);
        }
    cly_shape x = in->shape, f = w->shape, y = out->shape;
    if ((p.filters && p.filters != f.n) || (p.size.h && p.size.h != f.h) || (p.size.w && p.size.w != f.w))
        return cly_fail(ctx, CLY_ERROR_SHAPE_MISMATCH,
                        WHAT ": params say %lld filters of %lldx%lld but the weights are " CLY_SHAPE_FMT
                             " (K x C/G x FH x FW)",
                        (long long)p.filters, (long long)p.size.h, (long long)p.size.w, CLY_SHAPE_ARGS(f));
    p.filters = f.n;
    p.size = (cly_hw){f.h, f.w};
    if (!bias)
        p.no_bias = true;
    cly_conv_geom g;
    char msg[512];
    if (!cly_conv_geom_make(&p, x, &g, NULL, msg, sizeof msg))
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, WHAT ": %s", msg);
    if (f.c != g.c / g.groups)
        return cly_fail(ctx, CLY_ERROR_SHAPE_MISMATCH,
                        WHAT ": weights " CLY_SHAPE_FMT " (K x C/G x FH x FW) have %lld channels per filter but the "
                             "input " CLY_SHAPE_FMT " with %lld groups needs %lld",
                        CLY_SHAPE_ARGS(f), (long long)f.c, CLY_SHAPE_ARGS(x), (long long)g.groups,
                        (long long)(g.c / g.groups));
    cly_shape want = {g.n, g.k, g.oh, g.ow};
    if (!same_shape(y, want))
        return cly_fail(ctx, CLY_ERROR_SHAPE_MISMATCH, WHAT ": output is " CLY_SHAPE_FMT ", expected " CLY_SHAPE_FMT,
                        CLY_SHAPE_ARGS(y), CLY_SHAPE_ARGS(want));
    if (bias && !same_shape(bias->shape, (cly_shape){1, g.k, 1, 1}))
        return cly_fail(ctx, CLY_ERROR_SHAPE_MISMATCH, WHAT ": bias is " CLY_SHAPE_FMT ", expected 1x%lldx1x1",
                        CLY_SHAPE_ARGS(bias->shape), (long long)g.k);

    cly_conv_algo algo = cly_conv_choose(ctx, &g, p.algo);
    cly_status why = cly_conv_support_status(ctx, algo, &g, msg, sizeof msg);
    if (why != CLY_SUCCESS)
        return cly_fail(ctx, why, WHAT ": algorithm %s cannot run this convolution: %s", cly_conv_algo_string(algo),
                        msg);
    int64_t ws_floats = cly_conv_workspace(ctx, algo, &g);
    cly_buf ws = {NULL, 0};
    if (ws_floats > 0) {
        cl_int err;
        ws.mem =
            clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE, (size_t)ws_floats * cly_real_size(ctx), NULL, &err);
        if (err != CL_SUCCESS)
            return cly_fail_cl(ctx, err, WHAT ": workspace of %lld elements for algorithm %s", (long long)ws_floats,
                               cly_conv_algo_string(algo));
    }
    cly_buf b = bias ? tensor_buf(bias) : (cly_buf){NULL, 0};
    cly_status s = cly_conv_forward(ctx, algo, &g, tensor_buf(in), tensor_buf(w), b, tensor_buf(out), ws);
    /* Commands already enqueued keep the workspace alive until they finish. */
    if (ws.mem)
        clReleaseMemObject(ws.mem);
    return s;
}
