/* Tiled direct convolution, NCHW, real (float or double). Two kernels;
 * every tensor is a base buffer + element offset.
 *
 * conv_pack copies a chunk of samples into a zero-padded layout split by
 * stride phase in both directions, so that the convolution kernel needs no
 * bounds checks and, for every tap, finds the inputs of consecutive outputs
 * at consecutive addresses whatever the stride:
 *
 *   xp[s][c][cph][rph][rq][q] = x[s][c][rq*SH + rph - PT][q*SW + cph - PL]
 *   (0 outside x), cph < SW, rph < SH, rq < HQ, q < QW.
 *
 * Work-item (row, c, s), row = (cph*SH + rph)*HQ + rq, writes one row of QW.
 *
 * conv_direct: outputs are numbered m = oy*QW + ox (QW >= OW: columns
 * ox >= OW are computed and dropped). With Cg = C/G, Kg = K/G, group g,
 * output channel k = g*Kg + kk, tap (i, j) at
 *   rph = (i*DH) % SH, rq = (i*DH) / SH, cph = (j*DW) % SW, cq = (j*DW) / SW,
 *   tap(i, j) = ((cph*SH + rph)*HQ + rq)*QW + cq,
 *
 *   y[s][k][oy][ox] = relu?(bias[k] + sum_{c < Cg, i < FH, j < FW}
 *       X[s][g*Cg + c][m + tap(i, j)] * w[k][c][i][j])
 *
 * where w[k][c][i][j] is read through a view of the filters:
 * w[w_off + g*WG + kk*WK + c*WC + i*WI + j*WJ] (steps as arguments), which
 * is the plain K x Cg x FH x FW layout (WG = Kg*Cg*FH*FW, WK = Cg*FH*FW,
 * WC = FH*FW, WI = FW, WJ = 1) for the forward, and the forward's filters
 * transposed and flipped, or a strided subset of their taps, for the data
 * gradient computed as a convolution (conv_backward.c), so that no pass
 * rearranges the filters first. X[s][c] is channel c's block of xp (SW*SH*HQ*QW floats): input row
 * oy*SH + i*DH and column ox*SW + j*DW land at offset m + tap(i, j). The
 * same kernel reads a 1x1, stride-1, unpadded convolution straight from x
 * (QW = OW = W, HQ = H, no pack): then `shift` moves the last tile of a
 * plane back so that it ends at the plane's end and stores only the outputs
 * not already owned by the previous tile.
 *
 * Work-item (t, g*KTILES + kt, s) computes a register tile of KT output
 * channels (kk = kt*KT + a) x TY*VW consecutive outputs (m = t*TY*VW + b*VW
 * + lane) as KT*TY vectors of VW floats: per tap, TY vector loads, one
 * scalar weight per channel broadcast, KT*TY fused multiply-adds. Channels
 * past Kg reuse row Kg-1 and are not stored.
 *
 * Tuning (-D): VW vector width (1, 2, 4, 8, 16), KT, TY; SH and SW are the
 * strides, compiled in so that the phase arithmetic is a shift or nothing.
 */
#include "common.cl"

/* Defaults: the tuning table's default row at 16 lanes (runtime/tuning.c);
 * the host always passes all five. */
#ifndef VW
#define VW 16 /* floats per vector: 1, 2, 4, 8 or 16 */
#endif
#ifndef KT
#define KT 6 /* output channels per work-item */
#endif
#ifndef TY
#define TY 4 /* vectors of VW consecutive outputs per work-item */
#endif
#ifndef SH
#define SH 1 /* vertical stride (the layer's, not a tuning value) */
#endif
#ifndef SW
#define SW 1 /* horizontal stride (the layer's, not a tuning value) */
#endif

#include "conv_pack.cl"
#include "vector.cl"

__kernel void conv_direct(__global const real *xp, long xp_off, __global const real *w, long w_off,
                          __global const real *bias, long bias_off, __global real *y, long y_off, int C, int K,
                          int G, int FH, int FW, int DH, int DW, int OH, int OW, int QW, int HQ, int MT,
                          int KTILES, long plane, int shift, int has_bias, int relu, long wg_step, int wk_step,
                          int wc_step, int wi_step, int wj_step)
{
    const int t = get_global_id(0);
    const int gk = get_global_id(1);
    const int s = get_global_id(2);
    if (t >= MT || gk >= G * KTILES)
        return;
    const int cg = C / G, kg = K / G;
    const int g = gk / KTILES, k0 = (gk % KTILES) * KT;
    const int M = OH * QW;             /* outputs per plane, dropped columns included */
    const int m_own = t * (TY * VW);   /* first output this work-item stores */
    const int m0 = shift ? min(m_own, M - TY * VW) : m_own; /* first output it computes */
    const idx_t block = (idx_t)HQ * QW; /* one (cph, rph) phase block */

    __global const real *xs = xp + xp_off + ((idx_t)s * C + (idx_t)g * cg) * plane + m0;
    __global const real *wk[KT];
#pragma unroll
    for (int a = 0; a < KT; a++)
        wk[a] = w + w_off + g * wg_step + (idx_t)min(k0 + a, kg - 1) * wk_step;

    floatv acc[KT][TY];
#pragma unroll
    for (int a = 0; a < KT; a++)
#pragma unroll
        for (int b = 0; b < TY; b++)
            acc[a][b] = (floatv)0.0f;

    for (int c = 0; c < cg; c++) {
        __global const real *xc = xs + c * plane;
        for (int i = 0; i < FH; i++) {
            const int ti = i * DH;
            __global const real *xr = xc + ((ti % SH) * HQ + ti / SH) * QW;
            const int wi = c * wc_step + i * wi_step;
            for (int j = 0; j < FW; j++) {
                const int tj = j * DW;
                __global const real *xt = xr + (tj % SW) * SH * block + tj / SW;
                floatv v[TY];
#pragma unroll
                for (int b = 0; b < TY; b++)
                    v[b] = VLOAD(xt + b * VW);
#pragma unroll
                for (int a = 0; a < KT; a++) {
                    const floatv wv = (floatv)wk[a][wi + j * wj_step];
#pragma unroll
                    for (int b = 0; b < TY; b++)
                        acc[a][b] = fma(v[b], wv, acc[a][b]);
                }
            }
        }
    }

    /* Where each vector's outputs go: whole-vector stores when its VW
     * outputs are consecutive in one output row and all owned. */
    int oy[TY], ox[TY];
    bool whole[TY];
#pragma unroll
    for (int b = 0; b < TY; b++) {
        const int m = m0 + b * VW;
        oy[b] = m / QW;
        ox[b] = m % QW;
        whole[b] = m >= m_own && m + VW <= M && ox[b] + VW <= OW;
    }
#pragma unroll
    for (int a = 0; a < KT; a++) {
        const int kk = k0 + a;
        if (kk >= kg)
            break;
        const idx_t k = (idx_t)g * kg + kk;
        const real bv = has_bias ? bias[bias_off + k] : 0.0f;
        __global real *yk = y + y_off + ((idx_t)s * K + k) * OH * OW;
#pragma unroll
        for (int b = 0; b < TY; b++) {
            floatv r = acc[a][b] + (floatv)bv;
            if (relu)
                r = CLY_RELU(r);
            if (whole[b]) {
                VSTORE(r, yk + (idx_t)oy[b] * OW + ox[b]);
            } else {
                real tmp[VW];
                VSTORE(r, tmp);
                int row = oy[b], col = ox[b];
                for (int l = 0; l < VW; l++) {
                    const int m = m0 + b * VW + l;
                    if (m >= m_own && m < M && col < OW)
                        yk[(idx_t)row * OW + col] = tmp[l];
                    if (++col == QW) {
                        col = 0;
                        row++;
                    }
                }
            }
        }
    }
}
