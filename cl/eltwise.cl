/* Element-wise kernels, one element per work-item over a 1-D range; every
 * id i is 64-bit and compared against `count`.
 *
 *   relu:     y[yo + i] = x[xo + i] < 0 ? 0 : x[xo + i]        i < count
 *             (NaN passes through, as in PyTorch; y may be x: in place)
 *   add:      y[yo + i] = a[ao + i] + b[bo + i]                  i < count
 *   concat:   i < N*C*HW, p = i % HW, c = (i / HW) % C, n = i / (HW*C):
 *             y[yo + (n*CT + CO + c)*HW + p] = x[xo + i]
 *             (x is N x C x HW, y is N x CT x HW, CO the channel offset)
 *   bias_act: i < rows*cols, o = i % cols:
 *             y[yo + i] = act(y[yo + i] + (has_bias ? bias[bo + o] : 0)),
 *             act = relu when relu != 0: the epilogue of fully connected.
 *
 * Backward (g below is stored as dx = beta*dx + g; beta == 0 overwrites
 * without reading dx, see STORE_GRAD):
 *   relu_backward:   g = y[yo + i] > 0 ? dy[dyo + i] : 0     i < count
 *                    (the mask from the output, so a ReLU fused into a conv
 *                    or FC epilogue needs no copy of its input; NaN: 0)
 *   grad_accumulate: g = dy[dyo + i]                          i < count
 *   concat_backward: i < N*C*HW as concat:
 *                    g = dy[dyo + (n*CT + CO + c)*HW + p]
 *   bias_grad:       o < cols: g = sum_{r = 0 .. rows-1} dy[dyo + r*cols + o],
 *                    summed in row order by one work-item: no atomics,
 *                    the same bits on every run. */
#include "common.cl"

__kernel void relu(__global const real *x, long xo, __global real *y, long yo, long count)
{
    const idx_t i = get_global_id(0);
    if (i >= count)
        return;
    const real v = x[xo + i];
    y[yo + i] = v < 0.0f ? 0.0f : v;
}

__kernel void add(__global const real *a, long ao, __global const real *b, long bo, __global real *y, long yo,
                  long count)
{
    const idx_t i = get_global_id(0);
    if (i >= count)
        return;
    y[yo + i] = a[ao + i] + b[bo + i];
}

__kernel void concat(__global const real *x, long xo, __global real *y, long yo, long count, long C, long HW,
                     long CT, long CO)
{
    const idx_t i = get_global_id(0);
    if (i >= count)
        return;
    const idx_t p = i % HW, t = i / HW;
    const idx_t c = t % C, n = t / C;
    y[yo + (n * CT + CO + c) * HW + p] = x[xo + i];
}

__kernel void bias_act(__global real *y, long yo, __global const real *bias, long bo, long count, long cols,
                       int has_bias, int relu)
{
    const idx_t i = get_global_id(0);
    if (i >= count)
        return;
    real v = y[yo + i];
    if (has_bias)
        v += bias[bo + i % cols];
    if (relu && v < 0.0f)
        v = 0.0f;
    y[yo + i] = v;
}

/* ---- backward */

__kernel void relu_backward(__global const real *y, long yo, __global const real *dy, long dyo,
                            __global real *dx, long dxo, long count, float beta)
{
    const idx_t i = get_global_id(0);
    if (i >= count)
        return;
    const real g = y[yo + i] > 0.0f ? dy[dyo + i] : 0.0f;
    STORE_GRAD(&dx[dxo + i], g, beta);
}

__kernel void grad_accumulate(__global const real *dy, long dyo, __global real *dx, long dxo, long count,
                              float beta)
{
    const idx_t i = get_global_id(0);
    if (i >= count)
        return;
    STORE_GRAD(&dx[dxo + i], dy[dyo + i], beta);
}

__kernel void concat_backward(__global const real *dy, long dyo, __global real *dx, long dxo, long count, long C,
                              long HW, long CT, long CO, float beta)
{
    const idx_t i = get_global_id(0);
    if (i >= count)
        return;
    const idx_t p = i % HW, t = i / HW;
    const idx_t c = t % C, n = t / C;
    STORE_GRAD(&dx[dxo + i], dy[dyo + (n * CT + CO + c) * HW + p], beta);
}

__kernel void bias_grad(__global const real *dy, long dyo, __global real *db, long dbo, long rows, long cols,
                        float beta)
{
    const idx_t o = get_global_id(0);
    if (o >= cols)
        return;
    __global const real *col = dy + dyo + o;
    real s = 0.0f;
    for (idx_t r = 0; r < rows; r++)
        s += col[r * cols];
    STORE_GRAD(&db[dbo + o], s, beta);
}
