/* Fully connected: y[n x out] = x[n x in] * w[out x in]^T (+ bias, ReLU).
 * The input of each sample is its C x H x W block taken flat, i.e. in C, H, W
 * order, which is how NCHW stores it: no reshuffle is needed. The product is
 * one GEMM (gemm_nt or CLBlast, see use_gemm_nt); bias and ReLU follow in
 * one element-wise pass (cly_bias_act), skipped when neither is asked for. */
#include "kernels/conv_internal.h" /* cly_conv_chunk: the workspace budget */
#include "runtime/launch.h"
#include "runtime/tuning.h"

#include <stdlib.h>
#include <string.h>

/* y = x w^T is gemm_nt's form (both operands inputs-contiguous). On pocl it
 * beats CLBlast's SGEMM at every batch (AlexNet's fc6, 9216 -> 4096: 128 ms
 * -> 8.3 ms at batch 1, 464 -> 33 ms at 16): CLBlast's kernels use 128-bit
 * vectors there and tile M, which a small batch leaves empty. On GPUs,
 * where CLBlast is tuned, it keeps large batches; gemm_nt takes the
 * GEMV-shaped ones (the tuning table's fc_gemm_nt_batch; the GPU rule is
 * unmeasured). */
static bool use_gemm_nt(const cly_context *ctx, int64_t n, int64_t outputs)
{
    return cly_fits_int(n) && cly_fits_int(outputs) && n <= cly_tuning_of(ctx)->fc_gemm_nt_batch;
}

cly_status cly_fc_forward(cly_context *ctx, int64_t n, int64_t inputs, int64_t outputs, bool relu, cly_buf x,
                          cly_buf w, cly_buf bias, cly_buf y)
{
    int64_t count;
    if (n < 1 || inputs < 1 || outputs < 1 || !cly_mul_i64(n, outputs, &count))
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "fc: %lld samples of %lld inputs to %lld outputs",
                        (long long)n, (long long)inputs, (long long)outputs);
    /* Row-major: A = x (n x inputs, lda = inputs), B = w used transposed
     * (outputs x inputs, ldb = inputs), C = y (n x outputs). */
    cly_status s = use_gemm_nt(ctx, n, outputs)
                       ? cly_gemm_nt(ctx, n, outputs, inputs, x, inputs, 0, w, inputs, 0, y, outputs, 0, 1, 0.0f, "fc")
                       : cly_gemm(ctx, false, true, n, outputs, inputs, 1.0f, x, inputs, w, inputs, 0.0f, y, outputs);
    if (s != CLY_SUCCESS || (!bias.mem && !relu))
        return s;
    return cly_bias_act(ctx, count, outputs, 1, bias, relu, y);
}

/* The backward takes gemm_nt where the forward does (the same rule; on
 * pocl CLBlast's SGEMM ran fashion's fc1 backward at ~15x its forward),
 * with the operands transposed into the workspace first:
 *   dx[n x in]   = dy[n x out] * (w^T)[in x out]^T      w^T a block of columns at a time
 *   dw[out x in] = (dy^T)[out x n] * (x^T)[in x n]^T    x^T a block of columns at a time
 * Column blocks keep the workspace within cly_conv_chunk's budget without
 * changing any sum's order (a block holds whole dot products).
 * $CLAYER_FC_BACKWARD=clblast keeps CLBlast, for comparisons. */
static bool backward_gemm_nt(const cly_context *ctx, int64_t n, int64_t outputs)
{
    const char *env = getenv("CLAYER_FC_BACKWARD");
    return use_gemm_nt(ctx, n, outputs) && !(env && strcmp(env, "clblast") == 0);
}

/* Columns of w (rows of w^T) per dx block, and of x per dw block. */
static int64_t w_block(const cly_context *ctx, int64_t inputs, int64_t outputs)
{
    return cly_conv_chunk(ctx, outputs, inputs);
}
static int64_t x_block(const cly_context *ctx, int64_t n, int64_t inputs)
{
    return cly_conv_chunk(ctx, n, inputs);
}

int64_t cly_fc_backward_workspace(const cly_context *ctx, int64_t n, int64_t inputs, int64_t outputs)
{
    if (!backward_gemm_nt(ctx, n, outputs))
        return 0;
    const int64_t for_dx = w_block(ctx, inputs, outputs) * outputs;
    const int64_t for_dw = n * outputs + x_block(ctx, n, inputs) * n;
    return for_dx > for_dw ? for_dx : for_dw;
}

static cly_status backward_nt(cly_context *ctx, int64_t n, int64_t inputs, int64_t outputs, cly_buf x, cly_buf w,
                              cly_buf dy, cly_buf dx, cly_buf dw, float beta, cly_buf ws)
{
    cly_status s = CLY_SUCCESS;
    const int64_t wb = w_block(ctx, inputs, outputs), xb = x_block(ctx, n, inputs);
    for (int64_t i0 = 0; dx.mem && s == CLY_SUCCESS && i0 < inputs; i0 += wb) {
        const int64_t nb = inputs - i0 < wb ? inputs - i0 : wb;
        s = cly_transpose(ctx, outputs, nb, (cly_buf){w.mem, w.offset + i0}, inputs, ws, outputs, "fc backward: w^T");
        if (s == CLY_SUCCESS)
            s = cly_gemm_nt(ctx, n, nb, outputs, dy, outputs, 0, ws, outputs, 0, (cly_buf){dx.mem, dx.offset + i0},
                            inputs, 0, 1, beta, "fc backward: dx");
    }
    if (s != CLY_SUCCESS || !dw.mem)
        return s;
    const cly_buf dyt = ws, xt = {ws.mem, ws.offset + n * outputs};
    s = cly_transpose(ctx, n, outputs, dy, outputs, dyt, n, "fc backward: dy^T");
    for (int64_t i0 = 0; s == CLY_SUCCESS && i0 < inputs; i0 += xb) {
        const int64_t nb = inputs - i0 < xb ? inputs - i0 : xb;
        s = cly_transpose(ctx, n, nb, (cly_buf){x.mem, x.offset + i0}, inputs, xt, n, "fc backward: x^T");
        if (s == CLY_SUCCESS)
            s = cly_gemm_nt(ctx, outputs, nb, n, dyt, n, 0, xt, n, 0, (cly_buf){dw.mem, dw.offset + i0}, inputs, 0,
                            1, beta, "fc backward: dw");
    }
    return s;
}

/* Backward, with dy already masked by the caller when a ReLU was fused:
 * dx and dw as above, beta as given; db[out] = sum over rows of dy
 * (cly_bias_grad: one work-item per output sums its column in row order,
 * deterministic, no atomics). Neither gemm_nt nor CLBlast reads C when
 * beta is 0 (CLBlast's epilogue branches on it), so NaN in an
 * uninitialised dx or dw cannot leak; the tests check that. */
cly_status cly_fc_backward(cly_context *ctx, int64_t n, int64_t inputs, int64_t outputs, cly_buf x, cly_buf w,
                           cly_buf dy, cly_buf dx, cly_buf dw, cly_buf db, float beta, cly_buf ws)
{
    int64_t count;
    if (n < 1 || inputs < 1 || outputs < 1 || !cly_mul_i64(n, outputs, &count) || !cly_mul_i64(n, inputs, &count) ||
        !cly_mul_i64(outputs, inputs, &count))
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "fc backward: %lld samples of %lld inputs to %lld outputs",
                        (long long)n, (long long)inputs, (long long)outputs);
    cly_status s = CLY_SUCCESS;
    if (ws.mem && backward_gemm_nt(ctx, n, outputs))
        s = backward_nt(ctx, n, inputs, outputs, x, w, dy, dx, dw, beta, ws);
    else {
        if (dx.mem)
            s = cly_gemm(ctx, false, false, n, inputs, outputs, 1.0f, dy, outputs, w, inputs, beta, dx, inputs);
        if (s == CLY_SUCCESS && dw.mem)
            s = cly_gemm(ctx, true, false, outputs, inputs, n, 1.0f, dy, outputs, x, inputs, beta, dw, inputs);
    }
    if (s != CLY_SUCCESS || !db.mem)
        return s;
    return cly_bias_grad(ctx, n, outputs, 1, dy, db, beta);
}
