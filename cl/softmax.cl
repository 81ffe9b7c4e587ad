/* Softmax over channels, NCHW, one work-item per (n, position) over a 1-D
 * range of N*HW (64-bit ids):
 *
 *   i = n*HW + p,  base = n*C*HW + p,  element c at base + c*HW
 *   m = max_c x[c];  y[c] = exp(x[c] - m) / sum_c' exp(x[c'] - m)
 *
 * Subtracting the maximum keeps exp() from overflowing (the largest term is
 * exp(0) = 1). y may be x (in place): each work-item touches only its own
 * column, and reads x[c] before it writes y[c]. */
#include "common.cl"

__kernel void softmax(__global const float *x, long xo, __global float *y, long yo, long count, long C, long HW)
{
    const idx_t i = get_global_id(0);
    if (i >= count)
        return;
    const idx_t base = (i / HW) * C * HW + i % HW;
    __global const float *xc = x + xo + base;
    __global float *yc = y + yo + base;
    float m = xc[0];
    for (idx_t c = 1; c < C; c++)
        m = fmax(m, xc[c * HW]);
    float sum = 0.0f;
    for (idx_t c = 0; c < C; c++) {
        const float e = exp(xc[c * HW] - m);
        yc[c * HW] = e;
        sum += e;
    }
    const float inv = 1.0f / sum;
    for (idx_t c = 0; c < C; c++)
        yc[c * HW] *= inv;
}
