/* Direct convolution with output channels across the vector lanes, NCHW,
 * real (float or double): conv_direct.cl's convolution for layers whose
 * output planes are small against the vector (13x13, 14x14 maps), where
 * conv_direct's tiles of TY*VW consecutive outputs compute many dropped
 * ones. Every tensor is a base buffer + element offset.
 *
 * The input is conv_direct.cl's: conv_pack's zero-padded, stride-phase split
 * copy, or x itself for a 1x1, stride-1, unpadded layer (then `shift` as
 * there), with outputs numbered m = oy*QW + ox and tap(i, j) offsets as
 * there. conv_wblock first rearranges the filters (read through the same
 * view of steps) into blocks of KVW = KV*VW output channels, KB blocks per
 * group, zero past Kg:
 *
 *   wb[(((g*KB + b)*Cg + c)*FH + i)*FW + j)*KVW + r] = w[g, kk = b*KVW + r, c, i, j]
 *
 * Work-item (t, g*KB + b, s) computes TX consecutive outputs m = t*TX + x
 * for the channels kk = b*KVW + a*VW + lane as KV*TX vectors of VW
 * channels: per tap, KV aligned vector loads of weights, TX inputs
 * broadcast, KV*TX fused multiply-adds. Each output sums its terms in
 * conv_direct's order (c, then i, then j, one fma each from 0), so both
 * kernels give bit-identical results.
 *
 * Tuning (-D): VW vector width (2, 4, 8, 16), KV vectors of channels, TX
 * outputs per work-item; SH, SW the layer's strides, as in conv_direct.cl.
 */
#include "common.cl"

/* Defaults: the host always passes all five (kernels/conv_direct.c). */
#ifndef VW
#define VW 16 /* channels per vector: 2, 4, 8 or 16 */
#endif
#ifndef KV
#define KV 2 /* vectors of output channels per work-item */
#endif
#ifndef TX
#define TX 12 /* consecutive outputs per work-item */
#endif
#ifndef SH
#define SH 1 /* vertical stride (the layer's, not a tuning value) */
#endif
#ifndef SW
#define SW 1 /* horizontal stride (the layer's, not a tuning value) */
#endif

#include "conv_pack.cl"
#include "vector.cl"

#define KVW (KV * VW)

/* Work-item (q = (c*FH + i)*FW + j, g*KB + b) writes its KVW consecutive
 * values. */
__kernel void conv_wblock(__global const real *w, long w_off, __global real *wb, long wb_off, int CG, int FH,
                          int FW, int KG, int KB, long wg_step, int wk_step, int wc_step, int wi_step, int wj_step)
{
    const int q = get_global_id(0);
    const int gb = get_global_id(1);
    if (q >= CG * FH * FW || gb >= get_global_size(1))
        return;
    const int g = gb / KB, k0 = gb % KB * KVW;
    const int c = q / (FH * FW), i = q / FW % FH, j = q % FW;
    __global const real *src = w + w_off + g * wg_step + c * wc_step + i * wi_step + j * wj_step;
    __global real *dst = wb + wb_off + ((idx_t)gb * CG * FH * FW + q) * KVW;
    const int n = min(KVW, KG - k0);
    for (int r = 0; r < n; r++)
        dst[r] = src[(idx_t)(k0 + r) * wk_step];
    for (int r = n; r < KVW; r++)
        dst[r] = (real)0;
}

__kernel void conv_direct_oc(__global const real *xp, long xp_off, __global const real *wb, long wb_off,
                             __global const real *bias, long bias_off, __global real *y, long y_off, int C, int K,
                             int G, int FH, int FW, int DH, int DW, int OH, int OW, int QW, int HQ, int MT, int KB,
                             long plane, int shift, int has_bias, int relu)
{
    const int t = get_global_id(0);
    const int gb = get_global_id(1);
    const int s = get_global_id(2);
    if (t >= MT || gb >= G * KB)
        return;
    const int cg = C / G, kg = K / G;
    const int g = gb / KB, k0 = (gb % KB) * KVW;
    const int M = OH * QW;                         /* outputs per plane, dropped columns included */
    const int m_own = t * TX;                      /* first output this work-item stores */
    const int m0 = shift ? min(m_own, M - TX) : m_own; /* first output it computes */
    const idx_t block = (idx_t)HQ * QW;           /* one (cph, rph) phase block */

    __global const real *xs = xp + xp_off + ((idx_t)s * C + (idx_t)g * cg) * plane + m0;
    __global const real *wq = wb + wb_off + (idx_t)gb * cg * FH * FW * KVW;

    floatv acc[KV][TX];
#pragma unroll
    for (int a = 0; a < KV; a++)
#pragma unroll
        for (int x = 0; x < TX; x++)
            acc[a][x] = (floatv)0.0f;

    for (int c = 0; c < cg; c++) {
        __global const real *xc = xs + c * plane;
        for (int i = 0; i < FH; i++) {
            const int ti = i * DH;
            __global const real *xr = xc + ((ti % SH) * HQ + ti / SH) * QW;
            for (int j = 0; j < FW; j++) {
                const int tj = j * DW;
                __global const real *xt = xr + (tj % SW) * SH * block + tj / SW;
                floatv wv[KV];
#pragma unroll
                for (int a = 0; a < KV; a++)
                    wv[a] = VLOAD(wq + a * VW);
                wq += KVW;
#pragma unroll
                for (int x = 0; x < TX; x++) {
                    const floatv xv = (floatv)xt[x];
#pragma unroll
                    for (int a = 0; a < KV; a++)
                        acc[a][x] = fma(xv, wv[a], acc[a][x]);
                }
            }
        }
    }

    /* Lanes to channels: each output is a scalar store into its plane. */
#pragma unroll
    for (int x = 0; x < TX; x++) {
        const int m = m0 + x;
        const int oy = m / QW, ox = m % QW;
        if (m < m_own || m >= M || ox >= OW)
            continue;
#pragma unroll
        for (int a = 0; a < KV; a++) {
            real tmp[VW];
            VSTORE(acc[a][x], tmp);
            for (int l = 0; l < VW; l++) {
                const int kk = k0 + a * VW + l;
                if (kk >= kg)
                    break;
                const idx_t k = (idx_t)g * kg + kk;
                real r = tmp[l] + (has_bias ? bias[bias_off + k] : (real)0);
                if (relu)
                    r = CLY_RELU(r);
                y[y_off + (((idx_t)s * K + k) * OH + oy) * OW + ox] = r;
            }
        }
    }
}
