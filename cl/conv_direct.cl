/* Tiled direct convolution, NCHW, float32. Two kernels; every tensor is a
 * base buffer + element offset.
 *
 * conv_pack copies a chunk of samples into a zero-padded, stride-phase-split
 * layout so that the convolution kernel needs no bounds checks and loads
 * VW consecutive outputs' inputs with one vector load, whatever the stride:
 *
 *   xp[s][c][py][ph][q] = x[s][c][py - PT][q*SW + ph - PL]   (0 outside x)
 *   for py < HP, ph < SW, q < QW.
 *
 * Input column ox*SW + j*DW (padded coordinates) sits at phase
 * ph = (j*DW) % SW, position q = ox + (j*DW) / SW: consecutive outputs ox
 * read consecutive q. Work-item (py*SW + ph, c, s) writes one row of QW.
 *
 * conv_direct: with Cg = C/G, Kg = K/G, group g, output channel k = g*Kg + kk:
 *
 *   y[s][k][oy][ox] = relu?(bias[k] + sum_{c < Cg, i < FH, j < FW}
 *       xp[s][g*Cg + c][oy*SH + i*DH][(j*DW) % SW][ox + (j*DW) / SW]
 *       * w[k][c][i][j])
 *
 * Work-item (p, g*KTILES + kt, s) computes a register tile of KT output
 * channels (kk = kt*KT + a, a < KT) x TY output rows (oy = (p / OWT)*TY + b,
 * b < TY) x VW output columns (ox = (p % OWT)*VW + lane) as KT*TY vectors of
 * VW floats: per tap one vector load per row, one scalar weight per channel
 * broadcast, KT*TY fused multiply-adds. Channels past Kg reuse row Kg-1 and
 * are not stored; rows and columns past OH, OW are computed from the zero
 * padding of xp (HP, QW cover whole tiles) and not stored.
 *
 * Tuning (-D): VW vector width (1, 2, 4, 8, 16), KT, TY; SW is the column
 * stride, compiled in so that the phase arithmetic is a shift or nothing.
 */
#include "common.cl"

#ifndef VW
#define VW 16
#endif
#ifndef KT
#define KT 8
#endif
#ifndef TY
#define TY 2
#endif
#ifndef SW
#define SW 1
#endif

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#if VW == 1
typedef float floatv;
#define VLOAD(p) (*(p))
#define VSTORE(v, p) (*(p) = (v))
#else
typedef CAT(float, VW) floatv;
#define VLOAD(p) CAT(vload, VW)(0, p)
#define VSTORE(v, p) CAT(vstore, VW)(v, 0, p)
#endif

__kernel void conv_pack(__global const float *x, long x_off, __global float *xp, long xp_off, int C, int H, int W,
                        int HP, int QW, int PT, int PL)
{
    const int row = get_global_id(0);
    const int c = get_global_id(1);
    const int s = get_global_id(2);
    if (row >= HP * SW || c >= C)
        return;
    const int py = row / SW, ph = row % SW;
    __global float *out = xp + xp_off + (((idx_t)s * C + c) * HP * SW + row) * QW;
    const int iy = py - PT;
    if (iy < 0 || iy >= H) {
        for (int q = 0; q < QW; q++)
            out[q] = 0.0f;
        return;
    }
    __global const float *in = x + x_off + NCHW(s, c, iy, 0, C, H, W);
    /* Columns q*SW + ph - PL: zero left of the input, then the input, then zero. */
    const int q_lo = min(QW, max(0, (PL - ph + SW - 1) / SW));
    const int q_hi = max(q_lo, min(QW, (W + PL - ph + SW - 1) / SW));
    for (int q = 0; q < q_lo; q++)
        out[q] = 0.0f;
    for (int q = q_lo; q < q_hi; q++)
        out[q] = in[q * SW + ph - PL];
    for (int q = q_hi; q < QW; q++)
        out[q] = 0.0f;
}

__kernel void conv_direct(__global const float *xp, long xp_off, __global const float *w, long w_off,
                          __global const float *bias, long bias_off, __global float *y, long y_off, int C, int K,
                          int G, int HP, int QW, int FH, int FW, int SH, int DH, int DW, int OH, int OW, int OWT,
                          int OHT, int KTILES, int has_bias, int relu)
{
    const int p = get_global_id(0);
    const int gk = get_global_id(1);
    const int s = get_global_id(2);
    if (p >= OHT * OWT || gk >= G * KTILES)
        return;
    const int cg = C / G, kg = K / G;
    const int g = gk / KTILES, k0 = (gk % KTILES) * KT;
    const int oy0 = (p / OWT) * TY, ox0 = (p % OWT) * VW;
    const idx_t plane = (idx_t)HP * SW * QW; /* one channel of xp */
    const idx_t row_pitch = (idx_t)SW * QW;   /* one padded input row */
    const int taps = cg * FH * FW;

    __global const float *xs = xp + xp_off + ((idx_t)s * C + (idx_t)g * cg) * plane + ox0;
    __global const float *wk[KT];
#pragma unroll
    for (int a = 0; a < KT; a++)
        wk[a] = w + w_off + ((idx_t)g * kg + min(k0 + a, kg - 1)) * taps;

    floatv acc[KT][TY];
#pragma unroll
    for (int a = 0; a < KT; a++)
#pragma unroll
        for (int b = 0; b < TY; b++)
            acc[a][b] = (floatv)0.0f;

    for (int c = 0; c < cg; c++) {
        __global const float *xc = xs + c * plane;
        for (int i = 0; i < FH; i++) {
            __global const float *rows[TY];
#pragma unroll
            for (int b = 0; b < TY; b++)
                rows[b] = xc + ((idx_t)(oy0 + b) * SH + (idx_t)i * DH) * row_pitch;
            const int wi = (c * FH + i) * FW;
            for (int j = 0; j < FW; j++) {
                const int t = j * DW;
                const int off = (t % SW) * QW + t / SW;
                floatv v[TY];
#pragma unroll
                for (int b = 0; b < TY; b++)
                    v[b] = VLOAD(rows[b] + off);
#pragma unroll
                for (int a = 0; a < KT; a++) {
                    const floatv wv = (floatv)wk[a][wi + j];
#pragma unroll
                    for (int b = 0; b < TY; b++)
                        acc[a][b] = fma(v[b], wv, acc[a][b]);
                }
            }
        }
    }

    const int cols = min(VW, OW - ox0);
#pragma unroll
    for (int a = 0; a < KT; a++) {
        const int kk = k0 + a;
        if (kk >= kg)
            break;
        const idx_t k = (idx_t)g * kg + kk;
        const float bv = has_bias ? bias[bias_off + k] : 0.0f;
#pragma unroll
        for (int b = 0; b < TY; b++) {
            const int oy = oy0 + b;
            if (oy >= OH)
                break;
            floatv r = acc[a][b] + (floatv)bv;
            if (relu)
                r = fmax(r, (floatv)0.0f);
            __global float *out = y + y_off + (((idx_t)s * K + k) * OH + oy) * OW + ox0;
            if (cols == VW) {
                VSTORE(r, out);
            } else {
                float tmp[VW];
                VSTORE(r, tmp);
                for (int l = 0; l < cols; l++)
                    out[l] = tmp[l];
            }
        }
    }
}
