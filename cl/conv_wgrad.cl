/* Convolution weight gradient, direct: no im2col. The input arrives in
 * conv_direct.cl's packed layout (conv_pack: zero-padded, split by stride
 * phase), where output m = oy*QW + ox of tap (i, j) reads
 * X[s][c][m + tap(i, j)] (the formulas are in conv_direct.cl). dY arrives
 * with the same row pitch (dy_pack below: columns ox >= OW and the tail of
 * the last vector are zero), so that
 *
 *   dw[k][c][i][j] = beta*dw + sum_{s < NB, m < MV*VW} D[s][k][m] * X[s][g*Cg + c][m + tap(i, j)]
 *
 * is a sum of vector products over consecutive addresses for every tap and
 * stride, and the zero columns add nothing.
 *
 * Work-item (tap tile, g*CTILES + ct, kt) keeps KT filters x CT channels x
 * TJ taps of VW-wide partial sums and walks the whole chunk of samples:
 * per step KT aligned loads of D, CT*TJ loads of X, KT*CT*TJ fused
 * multiply-adds, one horizontal sum per weight at the end. Rows past Kg,
 * Cg or the last tap reuse the last valid one and are not stored. The
 * summation order is fixed: results are the same run to run.
 *
 * Tuning (-D): VW (1, 2, 4, 8, 16), KT, CT, TJ; SH, SW the strides. */
#include "common.cl"

#ifndef VW
#define VW 16
#endif
#ifndef KT
#define KT 8
#endif
#ifndef CT
#define CT 1
#endif
#ifndef TJ
#define TJ 3
#endif
#ifndef SH
#define SH 1
#endif
#ifndef SW
#define SW 1
#endif

#include "vector.cl"

/* D[s][k][m] = dy[s][k][m / QW][m % QW] for m % QW < OW and m < OH*QW, else
 * 0, for m < MP (a whole number of vectors). Work-item (row, k, s) writes
 * the QW floats of packed row `row` that lie below MP. */
__kernel void dy_pack(__global const real *dy, long dy_off, __global real *d, long d_off, int K, int OH, int OW,
                      int QW, int MP)
{
    const int row = get_global_id(0), k = get_global_id(1), s = get_global_id(2);
    if (row * QW >= MP || k >= K)
        return;
    __global real *out = d + d_off + ((idx_t)s * K + k) * MP + (idx_t)row * QW;
    const int n = min(QW, MP - row * QW);
    if (row >= OH) {
        for (int q = 0; q < n; q++)
            out[q] = 0.0f;
        return;
    }
    __global const real *in = dy + dy_off + (((idx_t)s * K + k) * OH + row) * OW;
    for (int q = 0; q < n; q++)
        out[q] = q < OW ? in[q] : 0.0f;
}

__kernel void conv_wgrad(__global const real *xp, long xp_off, __global const real *d, long d_off,
                         __global real *dw, long dw_off, int C, int K, int G, int FH, int FW, int DH, int DW, int HQ,
                         int QW, int MV, int CTILES, int KTILES, long plane, int NB, float beta)
{
    const int tt = get_global_id(0), gc = get_global_id(1), kt = get_global_id(2);
    const int taps = FH * FW;
    if (tt * TJ >= taps || gc >= G * CTILES || kt >= KTILES)
        return;
    const int cg = C / G, kg = K / G;
    const int g = gc / CTILES, c0 = (gc % CTILES) * CT, k0 = kt * KT;
    const idx_t block = (idx_t)HQ * QW, mp = (idx_t)MV * VW;

    int off[TJ];
#pragma unroll
    for (int t = 0; t < TJ; t++) {
        const int tap = min(tt * TJ + t, taps - 1);
        const int ti = tap / FW * DH, tj = tap % FW * DW;
        off[t] = (int)((((tj % SW) * SH + ti % SH) * block) + (ti / SH) * QW + tj / SW);
    }

    floatv acc[KT][CT][TJ];
#pragma unroll
    for (int a = 0; a < KT; a++)
#pragma unroll
        for (int b = 0; b < CT; b++)
#pragma unroll
            for (int t = 0; t < TJ; t++)
                acc[a][b][t] = (floatv)0.0f;

    for (int s = 0; s < NB; s++) {
        __global const real *dk[KT], *xc[CT];
#pragma unroll
        for (int a = 0; a < KT; a++)
            dk[a] = d + d_off + ((idx_t)s * K + (idx_t)g * kg + min(k0 + a, kg - 1)) * mp;
#pragma unroll
        for (int b = 0; b < CT; b++)
            xc[b] = xp + xp_off + ((idx_t)s * C + (idx_t)g * cg + min(c0 + b, cg - 1)) * plane;
        for (idx_t m = 0; m < mp; m += VW) {
            floatv dv[KT];
#pragma unroll
            for (int a = 0; a < KT; a++)
                dv[a] = VLOAD(dk[a] + m);
#pragma unroll
            for (int b = 0; b < CT; b++)
#pragma unroll
                for (int t = 0; t < TJ; t++) {
                    const floatv xv = VLOAD(xc[b] + off[t] + m);
#pragma unroll
                    for (int a = 0; a < KT; a++)
                        acc[a][b][t] = fma(dv[a], xv, acc[a][b][t]);
                }
        }
    }

#pragma unroll
    for (int a = 0; a < KT; a++) {
        if (k0 + a >= kg)
            break;
#pragma unroll
        for (int b = 0; b < CT; b++) {
            if (c0 + b >= cg)
                break;
            __global real *out = dw + dw_off + (((idx_t)g * kg + k0 + a) * cg + c0 + b) * taps + tt * TJ;
#pragma unroll
            for (int t = 0; t < TJ; t++) {
                if (tt * TJ + t >= taps)
                    break;
                const real v = vsum(acc[a][b][t]);
                out[t] = beta != 0.0f ? beta * out[t] + v : v;
            }
        }
    }
}
