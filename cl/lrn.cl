/* Local response normalisation across channels, NCHW, one output element
 * per work-item over a 1-D range of N*C*HW (64-bit ids).
 *
 *   i = (n*C + c)*HW + p,  p = i % HW,  c = (i / HW) % C
 *   lo = max(c - PRE, 0),  hi = min(c + POST, C - 1)   (PRE + POST + 1 = size)
 *   s  = sum_{c' = lo .. hi} x[xo + i + (c' - c)*HW]^2
 *   y[yo + i] = x[xo + i] / (K + A*s)^BETA
 *
 * The host clips PRE and POST to C (same result, no int overflow).
 * A is alpha/size or alpha, chosen by the host; the divisor stays `size`
 * at the clipped edges, as in Caffe and PyTorch. y must not alias x: other
 * work-items still read the channels this one writes. */
#include "common.cl"

__kernel void lrn(__global const float *x, long xo, __global float *y, long yo, long count, int C, long HW,
                  int PRE, int POST, float A, float K, float BETA)
{
    const idx_t i = get_global_id(0);
    if (i >= count)
        return;
    const int c = (int)((i / HW) % C);
    const int lo = max(c - PRE, 0), hi = min(c + POST, C - 1);
    __global const float *base = x + xo + i - (idx_t)c * HW;
    float s = 0.0f;
    for (int j = lo; j <= hi; j++) {
        const float v = base[(idx_t)j * HW];
        s = fma(v, v, s);
    }
    y[yo + i] = x[xo + i] / pow(K + A * s, BETA);
}
