/* im2col for convolution as GEMM, and the bias + ReLU epilogue that follows
 * a GEMM. NCHW, float32; every tensor is a base buffer + element offset.
 *
 * im2col: for sample s of the chunk, input channel c (all C channels; group
 * g owns rows c in [g*C/G, (g+1)*C/G), which are contiguous), tap (i, j):
 *
 *   r = (c*FH + i)*FW + j
 *   col[s][r][oy*OW + ox] = x[s][c][oy*SH - PT + i*DH][ox*SW - PL + j*DW]
 *                           (0 outside the input: zero padding)
 *
 * so col holds, per sample, a (C*FH*FW) x (OH*OW) matrix whose group-g
 * block of rows multiplies the K/G x (C/G*FH*FW) weight block of group g.
 * Work-item (oy, r, s) writes the OW entries of one row segment, in order.
 *
 * bias_relu: for plane q = s*K + k of y (HW floats each),
 *   y[q][p] = relu?(y[q][p] + (has_bias ? bias[k] : 0))
 * work-item (t, q) handles p in [t*chunk, min((t+1)*chunk, HW)).
 */
#include "common.cl"

__kernel void im2col(__global const real *x, long x_off, __global real *col, long col_off, int C, int H, int W,
                     int FH, int FW, int SH, int SW, int PT, int PL, int DH, int DW, int OH, int OW)
{
    const int oy = get_global_id(0);
    const int r = get_global_id(1);
    const int s = get_global_id(2);
    const int taps = FH * FW;
    if (oy >= OH || r >= C * taps)
        return;
    const int c = r / taps, i = (r % taps) / FW, j = r % FW;
    __global real *out = col + col_off + (((idx_t)s * C * taps + r) * OH + oy) * OW;
    const int iy = oy * SH - PT + i * DH;
    if (iy < 0 || iy >= H) {
        for (int ox = 0; ox < OW; ox++)
            out[ox] = 0.0f;
        return;
    }
    __global const real *row = x + x_off + NCHW(s, c, iy, 0, C, H, W);
    const int ix0 = j * DW - PL;
    for (int ox = 0; ox < OW; ox++) {
        const int ix = ix0 + ox * SW;
        out[ox] = ix >= 0 && ix < W ? row[ix] : 0.0f;
    }
}

__kernel void bias_relu(__global real *y, long y_off, __global const real *bias, long bias_off, int K, long HW,
                        long chunk, int has_bias, int relu)
{
    const idx_t start = (idx_t)get_global_id(0) * chunk;
    const idx_t q = get_global_id(1);
    if (start >= HW)
        return;
    const idx_t end = min(start + chunk, HW);
    const real b = has_bias ? bias[bias_off + q % K] : 0.0f;
    __global real *p = y + y_off + q * HW;
    if (relu) {
        for (idx_t e = start; e < end; e++)
            p[e] = fmax(p[e] + b, (real)0);
    } else {
        for (idx_t e = start; e < end; e++)
            p[e] += b;
    }
}
