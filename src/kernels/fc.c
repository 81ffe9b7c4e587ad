/* Fully connected: y[n x out] = x[n x in] * w[out x in]^T (+ bias, ReLU).
 * The input of each sample is its C x H x W block taken flat, i.e. in C, H, W
 * order, which is how NCHW stores it: no reshuffle is needed. The product is
 * one GEMM (gemm_nt or CLBlast, see use_gemm_nt); bias and ReLU follow in
 * one element-wise pass (cly_bias_act), skipped when neither is asked for. */
#include "runtime/launch.h"
#include "runtime/tuning.h"

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

/* Backward, with dy already masked by the caller when a ReLU was fused:
 *   dx[n x in]  = dy[n x out] * w[out x in]       (SGEMM, beta as given)
 *   dw[out x in] = dy^T[out x n] * x[n x in]      (SGEMM, beta as given)
 *   db[out]     = sum over rows of dy              (cly_bias_grad: one work-item
 * per output sums its column in row order, deterministic, no atomics).
 * CLBlast does not read C when beta is 0 (its epilogue branches on it), so
 * NaN in an uninitialised dx or dw cannot leak; the tests check that. */
cly_status cly_fc_backward(cly_context *ctx, int64_t n, int64_t inputs, int64_t outputs, cly_buf x, cly_buf w,
                           cly_buf dy, cly_buf dx, cly_buf dw, cly_buf db, float beta)
{
    int64_t count;
    if (n < 1 || inputs < 1 || outputs < 1 || !cly_mul_i64(n, outputs, &count) || !cly_mul_i64(n, inputs, &count) ||
        !cly_mul_i64(outputs, inputs, &count))
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "fc backward: %lld samples of %lld inputs to %lld outputs",
                        (long long)n, (long long)inputs, (long long)outputs);
    cly_status s = CLY_SUCCESS;
    if (dx.mem)
        s = cly_gemm(ctx, false, false, n, inputs, outputs, 1.0f, dy, outputs, w, inputs, beta, dx, inputs);
    if (s == CLY_SUCCESS && dw.mem)
        s = cly_gemm(ctx, true, false, outputs, inputs, n, 1.0f, dy, outputs, x, inputs, beta, dw, inputs);
    if (s != CLY_SUCCESS || !db.mem)
        return s;
    return cly_bias_grad(ctx, n, outputs, 1, dy, db, beta);
}
