/* clayer's own GEMM: what cly_gemm runs in place of CLBlast, whose kernels
 * build from source at run time (out of reach of bundles). Two kernels
 * cover the four transpose cases of row-major C = alpha op(A) op(B) + beta C:
 *
 *   A * B, A^T * B   gemm_vn (cl/gemm.cl), vectors along C's columns, which
 *                    are B's contiguous rows; A by element strides
 *   A^T * B^T        its transpose, C^T = B * A: gemm_vn on (B, A), written
 *                    through C's strides swapped
 *   A * B^T          gemm_nt (cl/gemm_nt.cl), vectors along k, which both
 *                    operands hold contiguous
 *
 * The tile follows the device's preferred vector width (half of it in
 * double, whose vectors take twice the registers). */
#include "runtime/launch.h"
#include "runtime/tuning.h"

#include <stdio.h>

/* gemm_vn tiles: TM rows x TN vectors of VW. 6 x 2 is 12 accumulators, 2
 * loaded vectors and a broadcast: within AVX2's 16 registers, and on
 * AVX-512 (gemm_bench, pocl 3.1, 2 shared cores) faster than 4 x 2 (1024^3:
 * 23 against 35 ms), 8 x 2 (48) and 4 x 4 (37); work-groups in m-tile-first
 * order gained nothing measurable. */
enum { VN_TM = 6, VN_TN = 2 };

/* Work-groups run in order of dimension 0 first. Row tiles first keeps one
 * K x TN*VW panel of B in cache for consecutive groups; column tiles first
 * keeps TM rows of A. The first wins once B (K x N) outgrows a core's L2,
 * where the second re-reads B from memory for every row tile: gemm_bench,
 * pocl 3.1, 2 shared cores, VGG-16 conv3_1's im2col GEMM (B 14 MiB) 116-159
 * -> 37-51 ms, AlexNet fc7's dx (64 MiB) 100-133 -> 55-65, 1024^3 (4 MiB)
 * 52-84 -> 44-56; while B fits (AlexNet conv3, 1.5 MiB; fc7's dw, 0.5 MiB)
 * the second was up to 2x faster. OpenCL reports only the last-level
 * cache (32 MiB there), so the bound is a fixed 2 MiB, the L2 of one core
 * of current x86 server CPUs. Either order gives the same bits. */
#define VN_M_FIRST_BYTES ((int64_t)2 << 20)

static cly_status gemm_vn(cly_context *ctx, int64_t m, int64_t n, int64_t k, float alpha, cly_buf a, int64_t sam,
                          int64_t sak, int64_t sa, cly_buf b, int64_t ldb, int64_t sb, float beta, cly_buf c,
                          int64_t scm, int64_t scn, int64_t sc, int64_t batches)
{
    const cly_tuning *t = cly_tuning_of(ctx);
    int vw = cly_tuning_vector_width(ctx, 1);
    if (ctx->precision == CLY_PRECISION_FLOAT64 && vw > 1)
        vw /= 2;
    char opts[64];
    snprintf(opts, sizeof opts, "-DVW=%d -DTM=%d -DTN=%d", vw, VN_TM, VN_TN);
    cly_args args;
    cly_args_begin(ctx, &args, "gemm", opts, "gemm_vn");
    args.what = "gemm";
    cly_arg_buf(&args, a);
    cly_arg_long(&args, sam);
    cly_arg_long(&args, sak);
    cly_arg_long(&args, sa);
    cly_arg_buf(&args, b);
    cly_arg_long(&args, ldb);
    cly_arg_long(&args, sb);
    cly_arg_buf(&args, c);
    cly_arg_long(&args, scm);
    cly_arg_long(&args, scn);
    cly_arg_long(&args, sc);
    cly_arg_int(&args, m);
    cly_arg_int(&args, n);
    cly_arg_long(&args, k);
    cly_arg_float(&args, alpha);
    cly_arg_float(&args, beta);
    const bool m_first = (uint64_t)k * (uint64_t)n * cly_real_size(ctx) > (uint64_t)VN_M_FIRST_BYTES;
    cly_arg_int(&args, m_first);
    const int64_t cols = (int64_t)VN_TN * vw, col_tiles = (n + cols - 1) / cols, row_tiles = (m + VN_TM - 1) / VN_TM;
    const int64_t global[3] = {m_first ? row_tiles : col_tiles, m_first ? col_tiles : row_tiles, batches};
    /* One work-item per group where the table says so (CPUs: as gemm_nt). */
    static const size_t one[3] = {1, 1, 1};
    return cly_launch(ctx, &args, 3, global, t->gemm_nt_one_item ? one : NULL);
}

cly_status cly_gemm_builtin(cly_context *ctx, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
                            float alpha, cly_buf a, int64_t lda, int64_t sa, cly_buf b, int64_t ldb, int64_t sb,
                            float beta, cly_buf c, int64_t ldc, int64_t sc, int64_t batches)
{
    if (!cly_fits_int(m) || !cly_fits_int(n) || k < 0 || batches < 0 || !cly_fits_int(batches))
        return cly_fail(ctx, CLY_ERROR_SIZE_OVERFLOW,
                        "gemm: m=%lld n=%lld k=%lld batches=%lld (m, n and batches "
                        "at most %d, none negative)",
                        (long long)m, (long long)n, (long long)k, (long long)batches, INT32_MAX);
    if (m == 0 || n == 0 || batches == 0)
        return CLY_SUCCESS;
    if (!trans_a && trans_b)
        return cly_gemm_nt_scaled(ctx, m, n, k, a, lda, sa, b, ldb, sb, c, ldc, sc, batches, alpha, beta, "gemm");
    if (trans_a && trans_b)
        return gemm_vn(ctx, n, m, k, alpha, b, ldb, 1, sb, a, lda, sa, beta, c, 1, ldc, sc, batches);
    return trans_a ? gemm_vn(ctx, m, n, k, alpha, a, 1, lda, sa, b, ldb, sb, beta, c, ldc, 1, sc, batches)
                   : gemm_vn(ctx, m, n, k, alpha, a, lda, 1, sa, b, ldb, sb, beta, c, ldc, 1, sc, batches);
}
