/* clayer's own GEMM, the form whose inner vectors run along the output's
 * columns (the A * B^T form, vectors along K, is gemm_nt.cl):
 *
 *   C(m, n) = alpha * sum_k A(m, k) * B[b_off + k*ldb + n] + beta * C(m, n)
 *   A(m, k) = A[a_off + m*sam + k*sak]      C(m, n) = C[c_off + m*scm + n*scn]
 *
 * plus batch*sa, batch*sb, batch*sc for batch get_global_id(2). Element
 * strides cover both layouts of A (row-major A: sam = lda, sak = 1; A^T:
 * sam = 1, sak = lda) and let the host run A^T * B^T as its transpose
 * B * A written through C's strides (runtime/blas.c). Each work-item keeps
 * TM rows x TN vectors of VW columns of partial sums and walks all of K: per
 * step TN vector loads of one row of B, TM broadcast scalars of A, TM x TN
 * wide FMAs (pocl turns realVW into AVX-512 for VW = 16; the tile loops must
 * unroll, see gemm_nt.cl). Rows past M read row M-1 and columns past N read
 * column N-1 (valid memory) and are not written; only the right-hand edge
 * tile takes the clamped, scalar loads. beta == 0 writes C without reading
 * it (C may hold NaN). Work-item (column tile, row tile, batch), or (row
 * tile, column tile, batch) with m_first: the host's choice of which
 * operand consecutive work-groups share (kernels/gemm.c).
 */
#include "common.cl"

#ifndef VW
#define VW 16 /* reals per vector along n: 1, 2, 4, 8 or 16 */
#endif
#ifndef TM
#define TM 6 /* rows of C per work-item */
#endif
#ifndef TN
#define TN 2 /* vectors of VW columns of C per work-item */
#endif

#define CAT(a, b) a##b
#define XCAT(a, b) CAT(a, b)
#if VW == 1
#define realV real
#define LOADV(i, p) ((p)[i])
#define STOREV(v, i, p) ((p)[i] = (v))
#else
#define realV XCAT(real, VW)
#define LOADV(i, p) XCAT(vload, VW)(i, p)
#define STOREV(v, i, p) XCAT(vstore, VW)(v, i, p)
#endif

/* One step along k: the TN vectors of row k of B (bv) times TM scalars of A. */
#define GEMM_STEP(k)                                                   \
    do {                                                               \
        _Pragma("unroll") for (int i = 0; i < TM; i++)                 \
        {                                                              \
            const realV av = (realV)(a[i][(k) * sak]);                 \
            _Pragma("unroll") for (int j = 0; j < TN; j++)             \
                acc[i][j] = fma(av, bv[j], acc[i][j]);                 \
        }                                                              \
    } while (0)

__kernel void gemm_vn(__global const real *A, long a_off, long sam, long sak, long sa, __global const real *B,
                      long b_off, long ldb, long sb, __global real *C, long c_off, long scm, long scn, long sc, int M,
                      int N, long K, float alpha, float beta, int m_first)
{
    const int g0 = get_global_id(0), g1 = get_global_id(1);
    const int n0 = (m_first ? g1 : g0) * (TN * VW), m0 = (m_first ? g0 : g1) * TM;
    const idx_t batch = get_global_id(2);
    if (m0 >= M || n0 >= N)
        return;
    A += a_off + batch * sa;
    B += b_off + batch * sb;
    C += c_off + batch * sc;
    __global const real *a[TM];
    #pragma unroll
    for (int i = 0; i < TM; i++)
        a[i] = A + (idx_t)min(m0 + i, M - 1) * sam;
    realV acc[TM][TN];
    #pragma unroll
    for (int i = 0; i < TM; i++)
        #pragma unroll
        for (int j = 0; j < TN; j++)
            acc[i][j] = (realV)0;
    const bool full = n0 + TN * VW <= N;
    __global const real *brow = B + n0;
    if (full) {
        for (idx_t k = 0; k < K; k++, brow += ldb) {
            realV bv[TN];
            #pragma unroll
            for (int j = 0; j < TN; j++)
                bv[j] = LOADV(j, brow);
            GEMM_STEP(k);
        }
    } else {
        for (idx_t k = 0; k < K; k++, brow += ldb) {
            real row[TN * VW];
            #pragma unroll
            for (int c = 0; c < TN * VW; c++)
                row[c] = brow[min(c, N - 1 - n0)];
            realV bv[TN];
            #pragma unroll
            for (int j = 0; j < TN; j++)
                bv[j] = LOADV(j, row);
            GEMM_STEP(k);
        }
    }
    #pragma unroll
    for (int i = 0; i < TM; i++) {
        if (m0 + i >= M)
            break;
        __global real *crow = C + (idx_t)(m0 + i) * scm;
        if (full && scn == 1) {
            #pragma unroll
            for (int j = 0; j < TN; j++) {
                const realV v = (real)alpha * acc[i][j];
                STOREV(beta != 0.0f ? (real)beta * LOADV(j, crow + n0) + v : v, j, crow + n0);
            }
        } else {
            real out[TN * VW];
            #pragma unroll
            for (int j = 0; j < TN; j++)
                STOREV(acc[i][j], j, out);
            for (int c = 0; c < TN * VW && n0 + c < N; c++) {
                __global real *p = crow + (idx_t)(n0 + c) * scn;
                const real v = (real)alpha * out[c];
                *p = beta != 0.0f ? (real)beta * *p + v : v;
            }
        }
    }
}
