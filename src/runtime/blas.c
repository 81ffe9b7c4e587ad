/* CLBlast behind cly_gemm: the only file that includes clblast_c.h. SGEMM, or
 * DGEMM on a double-precision context; clayer's own GEMM (kernels/gemm.c)
 * where the context is binary-only or asks for it. */
#include "runtime/blas.h"
#include "kernels/kernels.h"

#include <clblast_c.h>
#include <stdlib.h>
#include <string.h>

static cly_status blas_status(cly_context *ctx, CLBlastStatusCode code, const char *what, int64_t m, int64_t n,
                              int64_t k)
{
    if (code == CLBlastSuccess)
        return CLY_SUCCESS;
    if (code < 0 && code > -100)
        return cly_fail_cl(ctx, (cl_int)code, "%s (m=%lld n=%lld k=%lld)", what, (long long)m, (long long)n,
                           (long long)k);
    return cly_fail(ctx, CLY_ERROR_OPENCL, "%s (m=%lld n=%lld k=%lld): CLBlast status %d", what, (long long)m,
                    (long long)n, (long long)k, (int)code);
}

static CLBlastTranspose transpose(bool t)
{
    return t ? CLBlastTransposeYes : CLBlastTransposeNo;
}

cly_status cly_gemm_setup(cly_context *ctx, const cly_context_options *o)
{
    cly_gemm_impl impl = o->gemm;
    if (impl != CLY_GEMM_DEFAULT && impl != CLY_GEMM_CLBLAST && impl != CLY_GEMM_BUILTIN)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT,
                        "cly_context_create: gemm %d is not a cly_gemm_impl (0 default, 1 clblast, 2 builtin)",
                        (int)impl);
    const char *env = getenv("CLAYER_GEMM");
    if (impl == CLY_GEMM_DEFAULT && env && *env) {
        if (strcmp(env, "builtin") == 0)
            impl = CLY_GEMM_BUILTIN;
        else if (strcmp(env, "clblast") == 0)
            impl = CLY_GEMM_CLBLAST;
        else
            return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT,
                            "cly_context_create: $CLAYER_GEMM is '%s': 'clblast' or 'builtin'", env);
    }
    ctx->gemm_builtin = impl == CLY_GEMM_BUILTIN;
    return CLY_SUCCESS;
}

/* CLBlast compiles its kernels from source on first use, out of reach of
 * bundles: a binary-only context runs clayer's own GEMM instead. */
static bool builtin(const cly_context *ctx)
{
    return ctx->gemm_builtin || cly_binary_only(ctx);
}

cly_gemm_impl cly_context_gemm(const cly_context *ctx)
{
    return ctx && builtin(ctx) ? CLY_GEMM_BUILTIN : CLY_GEMM_CLBLAST;
}

cly_status cly_gemm(cly_context *ctx, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                    cly_buf a, int64_t lda, cly_buf b, int64_t ldb, float beta, cly_buf c, int64_t ldc)
{
    if (m == 0 || n == 0)
        return CLY_SUCCESS;
    if (builtin(ctx)) /* a plan's build-only pass builds its programs too */
        return cly_gemm_builtin(ctx, trans_a, trans_b, m, n, k, alpha, a, lda, 0, b, ldb, 0, beta, c, ldc, 0, 1);
    if (ctx->build_only) /* CLBlast builds its kernels on first real use */
        return CLY_SUCCESS;
    cl_command_queue q = ctx->queue;
    CLBlastTranspose ta = transpose(trans_a), tb = transpose(trans_b);
    if (ctx->precision == CLY_PRECISION_FLOAT64)
        return blas_status(ctx,
                           CLBlastDgemm(CLBlastLayoutRowMajor, ta, tb, (size_t)m, (size_t)n, (size_t)k, alpha, a.mem,
                                        (size_t)a.offset, (size_t)lda, b.mem, (size_t)b.offset, (size_t)ldb, beta,
                                        c.mem, (size_t)c.offset, (size_t)ldc, &q, NULL),
                           "CLBlastDgemm", m, n, k);
    return blas_status(ctx,
                       CLBlastSgemm(CLBlastLayoutRowMajor, ta, tb, (size_t)m, (size_t)n, (size_t)k, alpha, a.mem,
                                    (size_t)a.offset, (size_t)lda, b.mem, (size_t)b.offset, (size_t)ldb, beta, c.mem,
                                    (size_t)c.offset, (size_t)ldc, &q, NULL),
                       "CLBlastSgemm", m, n, k);
}

cly_status cly_gemm_strided(cly_context *ctx, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                            cly_buf a, int64_t lda, int64_t stride_a, cly_buf b, int64_t ldb, int64_t stride_b,
                            float beta, cly_buf c, int64_t ldc, int64_t stride_c, int64_t batches)
{
    if (m == 0 || n == 0 || batches == 0)
        return CLY_SUCCESS;
    if (builtin(ctx))
        return cly_gemm_builtin(ctx, trans_a, trans_b, m, n, k, alpha, a, lda, stride_a, b, ldb, stride_b, beta, c,
                                ldc, stride_c, batches);
    if (ctx->build_only)
        return CLY_SUCCESS;
    /* CLBlast 1.5's strided-batched GEMM writes nothing (success returned)
     * for large matrices on pocl: 576 x 21952 (k = 64, one batch) left C
     * unwritten where 576 x 18816 did not (conv_backward_bench found it in
     * col2im), and so did 2304 x 1568 (k = 256, one batch, B behind C in
     * one buffer: col2im for the 256-channel 3x3 layer of ResNet-18 at
     * batch 8; tests/kernels/test_gemm.c), below any size bound. One batch
     * goes as a plain GEMM, which computes both; large batches go one plain
     * GEMM each, where launches cost nothing against the work. */
    const int64_t big = (int64_t)1 << 22;
    if (batches == 1 || m * n > big || m * k > big || k * n > big) {
        for (int64_t i = 0; i < batches; i++) {
            cly_status s = cly_gemm(ctx, trans_a, trans_b, m, n, k, alpha, (cly_buf){a.mem, a.offset + i * stride_a},
                                    lda, (cly_buf){b.mem, b.offset + i * stride_b}, ldb, beta,
                                    (cly_buf){c.mem, c.offset + i * stride_c}, ldc);
            if (s != CLY_SUCCESS)
                return s;
        }
        return CLY_SUCCESS;
    }
    cl_command_queue q = ctx->queue;
    CLBlastTranspose ta = transpose(trans_a), tb = transpose(trans_b);
    if (ctx->precision == CLY_PRECISION_FLOAT64)
        return blas_status(ctx,
                           CLBlastDgemmStridedBatched(CLBlastLayoutRowMajor, ta, tb, (size_t)m, (size_t)n, (size_t)k,
                                                      alpha, a.mem, (size_t)a.offset, (size_t)lda, (size_t)stride_a,
                                                      b.mem, (size_t)b.offset, (size_t)ldb, (size_t)stride_b, beta,
                                                      c.mem, (size_t)c.offset, (size_t)ldc, (size_t)stride_c,
                                                      (size_t)batches, &q, NULL),
                           "CLBlastDgemmStridedBatched", m, n, k);
    return blas_status(ctx,
                       CLBlastSgemmStridedBatched(CLBlastLayoutRowMajor, ta, tb, (size_t)m, (size_t)n, (size_t)k,
                                                  alpha, a.mem, (size_t)a.offset, (size_t)lda, (size_t)stride_a, b.mem,
                                                  (size_t)b.offset, (size_t)ldb, (size_t)stride_b, beta, c.mem,
                                                  (size_t)c.offset, (size_t)ldc, (size_t)stride_c, (size_t)batches,
                                                  &q, NULL),
                       "CLBlastSgemmStridedBatched", m, n, k);
}
