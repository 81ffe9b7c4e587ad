/* Softmax over channels, NCHW, one work-item per (n, position) over a 1-D
 * range of N*HW (64-bit ids):
 *
 *   i = n*HW + p,  base = n*C*HW + p,  element c at base + c*HW
 *   m = max_c x[c];  y[c] = exp(x[c] - m) / sum_c' exp(x[c'] - m)
 *
 * Subtracting the maximum keeps exp() from overflowing (the largest term is
 * exp(0) = 1). y may be x (in place): each work-item touches only its own
 * column, and reads x[c] before it writes y[c].
 *
 *   softmax_backward: same columns; s = sum_c dy[c] * y[c], then
 *   dx[c] = beta * dx[c] + y[c] * (dy[c] - s)   (beta == 0: overwrite).
 *   dx may be dy (in place): the column's dy is read whole before any dx. */
#include "common.cl"

__kernel void softmax(__global const real *x, long xo, __global real *y, long yo, long count, long C, long HW)
{
    const idx_t i = get_global_id(0);
    if (i >= count)
        return;
    const idx_t base = (i / HW) * C * HW + i % HW;
    __global const real *xc = x + xo + base;
    __global real *yc = y + yo + base;
    real m = xc[0];
    for (idx_t c = 1; c < C; c++)
        m = fmax(m, xc[c * HW]);
    real sum = 0.0f;
    for (idx_t c = 0; c < C; c++) {
        const real e = exp(xc[c * HW] - m);
        yc[c * HW] = e;
        sum += e;
    }
    const real inv = 1.0f / sum;
    for (idx_t c = 0; c < C; c++)
        yc[c * HW] *= inv;
}

__kernel void softmax_backward(__global const real *y, long yo, __global const real *dy, long dyo,
                               __global real *dx, long dxo, long count, long C, long HW, float beta)
{
    const idx_t i = get_global_id(0);
    if (i >= count)
        return;
    const idx_t base = (i / HW) * C * HW + i % HW;
    __global const real *yc = y + yo + base;
    __global const real *dyc = dy + dyo + base;
    real s = 0.0f;
    for (idx_t c = 0; c < C; c++)
        s = fma(dyc[c * HW], yc[c * HW], s);
    for (idx_t c = 0; c < C; c++) {
        const real g = yc[c * HW] * (dyc[c * HW] - s);
        STORE_GRAD(&dx[dxo + base + c * HW], g, beta);
    }
}
