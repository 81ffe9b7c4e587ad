/* The one door to CLBlast (blas.c is the only file that calls it), or to
 * clayer's own GEMM in its place (kernels/gemm.c). Matrices are row-major;
 * every buffer is a cl_mem plus an element offset. */
#ifndef CLY_BLAS_H
#define CLY_BLAS_H

#include "runtime/runtime.h"

typedef struct cly_buf {
    cl_mem mem;
    int64_t offset; /* elements */
} cly_buf;

/* Which GEMM ctx runs (ctx->gemm_builtin), from cly_context_options.gemm or
 * $CLAYER_GEMM; a bad value is CLY_ERROR_INVALID_ARGUMENT (message in the
 * thread's slot). Part of cly_context_setup. */
cly_status cly_gemm_setup(cly_context *ctx, const cly_context_options *o);

/* C[m x n] = alpha * op(A)[m x k] * op(B)[k x n] + beta * C, row-major,
 * op = transpose when trans_* is set; lda/ldb/ldc are row strides. Float or
 * double elements, as the context's precision says. */
cly_status cly_gemm(cly_context *ctx, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                    cly_buf a, int64_t lda, cly_buf b, int64_t ldb, float beta, cly_buf c, int64_t ldc);

/* `batches` independent GEMMs whose operands sit at fixed strides apart. */
cly_status cly_gemm_strided(cly_context *ctx, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                            cly_buf a, int64_t lda, int64_t stride_a, cly_buf b, int64_t ldb, int64_t stride_b,
                            float beta, cly_buf c, int64_t ldc, int64_t stride_c, int64_t batches);

#endif
