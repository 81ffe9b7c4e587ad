/* CLBlast behind cly_sgemm: the only file that includes clblast_c.h. */
#include "blas.h"

#include <clblast_c.h>

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

cly_status cly_sgemm(cly_context *ctx, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                     cly_buf a, int64_t lda, cly_buf b, int64_t ldb, float beta, cly_buf c, int64_t ldc)
{
    if (m == 0 || n == 0)
        return CLY_SUCCESS;
    cl_command_queue q = ctx->queue;
    CLBlastStatusCode code = CLBlastSgemm(CLBlastLayoutRowMajor, trans_a ? CLBlastTransposeYes : CLBlastTransposeNo,
                                          trans_b ? CLBlastTransposeYes : CLBlastTransposeNo, (size_t)m, (size_t)n,
                                          (size_t)k, alpha, a.mem, (size_t)a.offset, (size_t)lda, b.mem,
                                          (size_t)b.offset, (size_t)ldb, beta, c.mem, (size_t)c.offset, (size_t)ldc,
                                          &q, NULL);
    return blas_status(ctx, code, "CLBlastSgemm", m, n, k);
}

cly_status cly_sgemm_strided(cly_context *ctx, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
                             float alpha, cly_buf a, int64_t lda, int64_t stride_a, cly_buf b, int64_t ldb,
                             int64_t stride_b, float beta, cly_buf c, int64_t ldc, int64_t stride_c, int64_t batches)
{
    if (m == 0 || n == 0 || batches == 0)
        return CLY_SUCCESS;
    cl_command_queue q = ctx->queue;
    CLBlastStatusCode code = CLBlastSgemmStridedBatched(
        CLBlastLayoutRowMajor, trans_a ? CLBlastTransposeYes : CLBlastTransposeNo,
        trans_b ? CLBlastTransposeYes : CLBlastTransposeNo, (size_t)m, (size_t)n, (size_t)k, alpha, a.mem,
        (size_t)a.offset, (size_t)lda, (size_t)stride_a, b.mem, (size_t)b.offset, (size_t)ldb, (size_t)stride_b, beta,
        c.mem, (size_t)c.offset, (size_t)ldc, (size_t)stride_c, (size_t)batches, &q, NULL);
    return blas_status(ctx, code, "CLBlastSgemmStridedBatched", m, n, k);
}
