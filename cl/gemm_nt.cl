/* C = beta*C + alpha * A * B^T for row-major A (M x K) and B (N x K), both
 * with K contiguous, batched over the third work dimension at fixed strides:
 *
 *   C[b][m][n] = beta*C[b][m][n] + alpha * sum_k A[b][m][k] * B[b][n][k]
 *
 * (alpha is 1 but for clayer's own GEMM, runtime/blas.c's A * B^T case;
 * alpha * s is a statement of its own so that alpha = 1 rounds nothing.)
 * The convolution weight gradient has this form with K = samples x
 * positions (long) and M, N = filters, C*taps (short). Each work-item keeps
 * a TM x TN tile of VW-wide partial sums and walks K in vector steps: wide
 * FMAs on CPUs (pocl turns floatVW into AVX-512 for VW = 16), one
 * horizontal sum per output at the end. The tile loops must unroll (pocl
 * otherwise keeps the accumulators on the stack: 55 against 130-180
 * GFLOP/s). Rows past M or N read row M-1/N-1
 * (valid memory) and are not written. Work-item (n-tile, m-tile, batch).
 */
#include "common.cl"

/* Defaults: the tuning table's default row at 16 lanes (runtime/tuning.c). */
#ifndef VW
#define VW 16 /* floats per vector load along K: 4, 8 or 16 */
#endif
#ifndef TM
#define TM 4 /* rows of A (outputs m) per work-item */
#endif
#ifndef TN
#define TN 4 /* rows of B (outputs n) per work-item */
#endif

#define CAT(a, b) a##b
#define XCAT(a, b) CAT(a, b)
#define floatV XCAT(real, VW)
#define vloadV XCAT(vload, VW)

static real hsum(floatV v)
{
#if VW == 16
    real8 a = v.lo + v.hi;
    real4 b = a.lo + a.hi;
#elif VW == 8
    real4 b = v.lo + v.hi;
#else
    real4 b = v;
#endif
    real2 c = b.lo + b.hi;
    return c.x + c.y;
}

__kernel void gemm_nt(__global const real *A, long a_off, long lda, long sa, __global const real *B, long b_off,
                      long ldb, long sb, __global real *C, long c_off, long ldc, long sc, int M, int N, long K,
                      float alpha, float beta)
{
    const int n0 = get_global_id(0) * TN, m0 = get_global_id(1) * TM;
    const idx_t batch = get_global_id(2);
    if (m0 >= M || n0 >= N)
        return;
    __global const real *a[TM], *b[TN];
    #pragma unroll
    for (int i = 0; i < TM; i++)
        a[i] = A + a_off + batch * sa + (idx_t)min(m0 + i, M - 1) * lda;
    #pragma unroll
    for (int j = 0; j < TN; j++)
        b[j] = B + b_off + batch * sb + (idx_t)min(n0 + j, N - 1) * ldb;
    floatV acc[TM][TN];
    #pragma unroll
    for (int i = 0; i < TM; i++)
        #pragma unroll
        for (int j = 0; j < TN; j++)
            acc[i][j] = (floatV)0.0f;
    const idx_t kv = K / VW * VW;
    for (idx_t k = 0; k < kv; k += VW) {
        floatV av[TM], bv[TN];
        #pragma unroll
        for (int i = 0; i < TM; i++)
            av[i] = vloadV(0, a[i] + k);
        #pragma unroll
        for (int j = 0; j < TN; j++)
            bv[j] = vloadV(0, b[j] + k);
        #pragma unroll
        for (int i = 0; i < TM; i++)
            #pragma unroll
            for (int j = 0; j < TN; j++)
                acc[i][j] = fma(av[i], bv[j], acc[i][j]);
    }
    #pragma unroll
    for (int i = 0; i < TM; i++)
        #pragma unroll
        for (int j = 0; j < TN; j++)
            if (m0 + i < M && n0 + j < N) {
                real s = hsum(acc[i][j]);
                for (idx_t k = kv; k < K; k++)
                    s = fma(a[i][k], b[j][k], s);
                s = (real)alpha * s;
                __global real *out = C + c_off + batch * sc + (idx_t)(m0 + i) * ldc + n0 + j;
                *out = beta != 0.0f ? beta * *out + s : s;
            }
}
