/* Locally connected layer: a convolution without weight sharing. NCHW,
 * real (float or double); every tensor is a base buffer + element offset. With Cg = C/G
 * input channels and Kg = K/G filters per group, g = k / Kg:
 *
 *   y[n][k][oy][ox] = bias[k][oy][ox]
 *       + sum_{c < Cg, i < FH, j < FW} x[n][g*Cg + c][oy*SH - PT + i*DH][ox*SW - PL + j*DW]
 *                                      * w[oy][ox][k][c][i][j]
 *
 * with zero padding outside the input, then ReLU when `relu` is set.
 * Weights are OH x OW x K x Cg x FH x FW, bias K x OH x OW. Work-item
 * (oy*OW + ox, k, n) computes one output; any size.
 */
#include "common.cl"

__kernel void conv_local(__global const real *x, long x_off, __global const real *w, long w_off,
                         __global const real *bias, long bias_off, __global real *y, long y_off, int C, int H,
                         int W, int K, int G, int FH, int FW, int SH, int SW, int PT, int PL, int DH, int DW, int OH,
                         int OW, int has_bias, int relu)
{
    const int p = get_global_id(0);
    const int k = get_global_id(1);
    const int n = get_global_id(2);
    if (p >= OH * OW || k >= K)
        return;
    const int oy = p / OW, ox = p % OW;
    const int cg = C / G, g = k / (K / G);
    const int iy0 = oy * SH - PT, ix0 = ox * SW - PL;
    __global const real *wk = w + w_off + ((idx_t)p * K + k) * cg * FH * FW;
    real acc = 0.0f;
    for (int c = 0; c < cg; c++) {
        __global const real *plane = x + x_off + NCHW(n, g * cg + c, 0, 0, C, H, W);
        for (int i = 0; i < FH; i++) {
            const int iy = iy0 + i * DH;
            if (iy < 0 || iy >= H)
                continue;
            for (int j = 0; j < FW; j++) {
                const int ix = ix0 + j * DW;
                if (ix >= 0 && ix < W)
                    acc = fma(plane[(idx_t)iy * W + ix], wk[(c * FH + i) * FW + j], acc);
            }
        }
    }
    if (has_bias)
        acc += bias[bias_off + (idx_t)k * OH * OW + p];
    if (relu)
        acc = CLY_RELU(acc);
    y[y_off + NCHW(n, k, oy, ox, K, OH, OW)] = acc;
}
