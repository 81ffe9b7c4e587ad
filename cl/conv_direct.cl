/* Direct 2-D convolution, NCHW, one output element per work-item.
 *
 *   out[n][k][oy][ox] = bias[k] + sum_{c < C, i < FH, j < FW}
 *       in[n][c][oy*S - P + i*D][ox*S - P + j*D] * w[k][c][i][j]
 *
 * with zero padding outside the input. Global size (OW*OH, K, N), any size.
 * Tensors are base buffer + element offset. HAS_BIAS selects the bias term. */
#include "common.cl"

#ifndef HAS_BIAS
#define HAS_BIAS 1
#endif

__kernel void conv_direct(__global const float *in, long in_off, __global const float *w, long w_off,
                          __global const float *bias, long bias_off, __global float *out, long out_off,
                          int C, int H, int W, int K, int FH, int FW, int S, int P, int D, int OH, int OW)
{
    const int p = get_global_id(0);
    const int k = get_global_id(1);
    const int n = get_global_id(2);
    if (p >= OH * OW || k >= K)
        return;
    const int oy = p / OW, ox = p % OW;
    const int iy0 = oy * S - P, ix0 = ox * S - P;
    in += in_off;
    w += w_off + (idx_t)k * C * FH * FW;
    float acc = 0.0f;
    for (int c = 0; c < C; c++) {
        __global const float *plane = in + NCHW(n, c, 0, 0, C, H, W);
        for (int i = 0; i < FH; i++) {
            const int iy = iy0 + i * D;
            if (iy < 0 || iy >= H)
                continue;
            for (int j = 0; j < FW; j++) {
                const int ix = ix0 + j * D;
                if (ix >= 0 && ix < W)
                    acc = fma(plane[(idx_t)iy * W + ix], w[(c * FH + i) * FW + j], acc);
            }
        }
    }
#if HAS_BIAS
    acc += bias[bias_off + k];
#endif
    out[out_off + NCHW(n, k, oy, ox, K, OH, OW)] = acc;
}
