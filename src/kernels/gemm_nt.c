/* C[b] = beta*C[b] + A[b] B[b]^T through cl/gemm_nt.cl: both operands with
 * the inner dimension contiguous, vector loads along it. Used where
 * CLBlast's GEMM does poorly: the convolution weight gradient (inner
 * dimension samples x positions, 10^4 and more) and fully connected layers
 * at small batch (a GEMV, M = batch). */
#include "runtime/launch.h"
#include "runtime/tuning.h"

#include <stdio.h>

cly_status cly_gemm_nt(cly_context *ctx, int64_t m, int64_t n, int64_t k, cly_buf a, int64_t lda, int64_t sa,
                       cly_buf b, int64_t ldb, int64_t sb, cly_buf c, int64_t ldc, int64_t sc, int64_t batches,
                       float beta, const char *what)
{
    return cly_gemm_nt_scaled(ctx, m, n, k, a, lda, sa, b, ldb, sb, c, ldc, sc, batches, 1.0f, beta, what);
}

cly_status cly_gemm_nt_scaled(cly_context *ctx, int64_t m, int64_t n, int64_t k, cly_buf a, int64_t lda, int64_t sa,
                              cly_buf b, int64_t ldb, int64_t sb, cly_buf c, int64_t ldc, int64_t sc,
                              int64_t batches, float alpha, float beta, const char *what)
{
    const cly_tuning *t = cly_tuning_of(ctx);
    const int tm = t->gemm_nt_tm, tn = t->gemm_nt_tn;
    char opts[64];
    snprintf(opts, sizeof opts, "-DVW=%d -DTM=%d -DTN=%d", cly_tuning_vector_width(ctx, t->gemm_nt_vw_min), tm, tn);
    cly_args args;
    cly_args_begin(ctx, &args, "gemm_nt", opts, "gemm_nt");
    args.what = what;
    cly_arg_buf(&args, a);
    cly_arg_long(&args, lda);
    cly_arg_long(&args, sa);
    cly_arg_buf(&args, b);
    cly_arg_long(&args, ldb);
    cly_arg_long(&args, sb);
    cly_arg_buf(&args, c);
    cly_arg_long(&args, ldc);
    cly_arg_long(&args, sc);
    cly_arg_int(&args, m);
    cly_arg_int(&args, n);
    cly_arg_long(&args, k);
    cly_arg_float(&args, alpha);
    cly_arg_float(&args, beta);
    const int64_t global[3] = {(n + tn - 1) / tn, (m + tm - 1) / tm, batches};
    /* One work-item per group where the table says so (CPUs, see tuning.c). */
    static const size_t one[3] = {1, 1, 1};
    return cly_launch(ctx, &args, 3, global, t->gemm_nt_one_item ? one : NULL);
}
