/* GPU-shaped convolution: an implicit GEMM, NCHW, real (float or double),
 * no workspace. Per group g (Cg = C/G, Kg = K/G), with outputs numbered
 * n = (s*OH + oy)*OW + ox over the whole batch and the reduction index
 * r = (c*FH + i)*FW + j,
 *
 *   y[s][g*Kg + k][oy][ox] = relu?(bias + sum_{r < Cg*FH*FW} W[k][r] * P[r][n])
 *   W[k][r] = w[g*Kg + k][c][i][j]
 *   P[r][n] = x[s][g*Cg + c][oy*SH - PT + i*DH][ox*SW - PL + j*DW] (0 outside x)
 *
 * A work-group of WN x WM work-items (lid = tm*WN + tn) owns TM = WM*RM channels x TN = WN*RN
 * outputs. Per step of TK reduction indices it stages TK x TM weights and
 * TK x TN patch values (the im2col matrix, gathered on the fly) in local
 * memory, then each work-item accumulates RM x RN outputs in registers:
 * RN/VW vectors of VW consecutive outputs per channel. Work-item (tn, tm)
 * takes channels a*WM + tm and vectors at columns (q*WN + tn)*VW of the
 * tile, so neighbouring work-items read neighbouring local words and store
 * neighbouring outputs (coalesced) instead of each walking its own block.
 *
 * Every output sums r in increasing order, one fma per r starting from 0,
 * then adds the bias: the order and operations of conv_direct.cl, so the
 * two agree bit for bit.
 *
 * Tuning (-D, from the tuning table's tiled row, `clayer tune` or
 * $CLAYER_TILED_TILE): VW (1, 2 or 4), RM, RN (a multiple of VW), WN, WM,
 * TK. */
#include "common.cl"

/* Defaults: the tuning table's GPU row (runtime/tuning.c); the host always
 * passes all six. */
#ifndef VW
#define VW 4 /* floats per vector: 1, 2 or 4 */
#endif
#ifndef RM
#define RM 4 /* output channels per work-item */
#endif
#ifndef RN
#define RN 4 /* outputs per work-item: RN/VW vectors */
#endif
#ifndef WN
#define WN 16 /* work-items along the outputs */
#endif
#ifndef WM
#define WM 16 /* work-items along the channels */
#endif
#ifndef TK
#define TK 16 /* reduction indices staged per step */
#endif

#include "vector.cl"

#define TM (WM * RM)
#define TN (WN * RN)
#define NV (RN / VW)

/* One-dimensional groups of WN*WM work-items, NTILES x MTILES x G of them
 * (cly_launch_groups: the exact size the tiles need, never shrunk). */
__kernel __attribute__((reqd_work_group_size(WN * WM, 1, 1))) void
conv_tiled(__global const real *x, long x_off, __global const real *w, long w_off, __global const real *bias,
           long bias_off, __global real *y, long y_off, int N, int C, int H, int W, int K, int G, int FH, int FW,
           int SH, int SW, int PT, int PL, int DH, int DW, int OH, int OW, int NTILES, int MTILES, int has_bias,
           int relu)
{
    __local real ws[TK][TM];
    __local real ps[TK][TN];
    const int lid = get_local_id(0), tn = lid % WN, tm = lid / WN;
    const int gid = get_group_id(0);
    const int n0 = gid % NTILES * TN, m0 = gid / NTILES % MTILES * TM, g = gid / NTILES / MTILES;
    const int cg = C / G, kg = K / G, taps = FH * FW, R = cg * taps;
    const int P = OH * OW, NT = N * P;

    floatv acc[RM][NV];
#pragma unroll
    for (int a = 0; a < RM; a++)
#pragma unroll
        for (int q = 0; q < NV; q++)
            acc[a][q] = (floatv)0.0f;

    for (int r0 = 0; r0 < R; r0 += TK) {
        const int rk = min(TK, R - r0);
        barrier(CLK_LOCAL_MEM_FENCE); /* the previous step's reads are done */
        /* Weights: consecutive work-items read consecutive r of one filter. */
        for (int e = lid; e < TK * TM; e += WN * WM) {
            const int mm = e / TK, kk = e % TK;
            const int k = m0 + mm, r = r0 + kk;
            ws[kk][mm] = k < kg && r < R ? w[w_off + ((idx_t)g * kg + k) * R + r] : 0.0f;
        }
        /* Patches: consecutive work-items gather consecutive outputs. */
        for (int e = lid; e < TK * TN; e += WN * WM) {
            const int kk = e / TN, nn = e % TN;
            const int n = n0 + nn, r = r0 + kk;
            real v = 0.0f;
            if (n < NT && r < R) {
                const int s = n / P, p = n % P, oy = p / OW, ox = p % OW;
                const int c = r / taps, t = r % taps, i = t / FW, j = t % FW;
                const int iy = oy * SH - PT + i * DH, ix = ox * SW - PL + j * DW;
                if (iy >= 0 && iy < H && ix >= 0 && ix < W)
                    v = x[x_off + NCHW(s, g * cg + c, iy, ix, C, H, W)];
            }
            ps[kk][nn] = v;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int kk = 0; kk < rk; kk++) {
            floatv b[NV];
#pragma unroll
            for (int q = 0; q < NV; q++)
                b[q] = VLOAD(&ps[kk][(q * WN + tn) * VW]);
#pragma unroll
            for (int a = 0; a < RM; a++) {
                const floatv wv = (floatv)ws[kk][a * WM + tm];
#pragma unroll
                for (int q = 0; q < NV; q++)
                    acc[a][q] = fma(b[q], wv, acc[a][q]);
            }
        }
    }

#pragma unroll
    for (int a = 0; a < RM; a++) {
        const int kk = m0 + a * WM + tm;
        if (kk >= kg)
            continue;
        const idx_t k = (idx_t)g * kg + kk;
        const real bv = has_bias ? bias[bias_off + k] : 0.0f;
#pragma unroll
        for (int q = 0; q < NV; q++) {
            floatv r = acc[a][q] + (floatv)bv;
            if (relu)
                r = CLY_RELU(r);
            real tmp[VW];
            VSTORE(r, tmp);
            for (int l = 0; l < VW; l++) {
                const int n = n0 + (q * WN + tn) * VW + l;
                if (n < NT) {
                    const int s = n / P, p = n % P;
                    y[y_off + ((idx_t)s * K + k) * P + p] = tmp[l];
                }
            }
        }
    }
}
