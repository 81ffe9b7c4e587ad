/* Element-wise kernels, one element per work-item over a 1-D range (but
 * bias_act and bias_grad); every id i is 64-bit and compared against `count`.
 *
 *   relu:     y[yo + i] = CLY_RELU(x[xo + i])                   i < count
 *             (common.cl: NaN passes through, as in PyTorch; y may be x)
 *   add:      y[yo + i] = a[ao + i] + b[bo + i]                  i < count
 *   concat:   i < N*C*HW, p = i % HW, c = (i / HW) % C, n = i / (HW*C):
 *             y[yo + (n*CT + CO + c)*HW + p] = x[xo + i]
 *             (x is N x C x HW, y is N x CT x HW, CO the channel offset)
 *   bias_act: the epilogue of convolution as GEMM and of fully connected,
 *             over planes q of HW elements (a conv: q = s*K + k; an FC:
 *             HW = 1, K = outputs, q = s*K + o):
 *             y[yo + q*HW + p] = act(y[...] (+ bias[bo + q % K] if has_bias)),
 *             act = CLY_RELU when relu != 0; work-item (t, q) takes
 *             p in [t*chunk, min((t+1)*chunk, HW)), a 2-D range.
 *
 * Backward (g below is stored as dx = beta*dx + g; beta == 0 overwrites
 * without reading dx, see STORE_GRAD):
 *   relu_backward:   g = y[yo + i] > 0 ? dy[dyo + i] : 0     i < count
 *                    (the mask from the output, so a ReLU fused into a conv
 *                    or FC epilogue needs no copy of its input; NaN: 0)
 *   grad_accumulate: g = dy[dyo + i]                          i < count
 *   concat_backward: i < N*C*HW as concat:
 *                    g = dy[dyo + (n*CT + CO + c)*HW + p]
 *   bias_grad:       k < K: g = sum_{n < N} sum_{p < HW} dy[dyo + (n*K + k)*HW + p]
 *                    (a conv: per channel; an FC: HW = 1, K = outputs, the
 *                    column sums), summed in that order by one work-item:
 *                    no atomics, the same bits on every run. */
#include "common.cl"

__kernel void relu(__global const real *x, long xo, __global real *y, long yo, long count)
{
    const idx_t i = get_global_id(0);
    if (i >= count)
        return;
    const real v = x[xo + i];
    y[yo + i] = CLY_RELU(v);
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

__kernel void bias_act(__global real *y, long yo, __global const real *bias, long bo, long planes, long K, long HW,
                       long chunk, int has_bias, int relu)
{
    const idx_t start = (idx_t)get_global_id(0) * chunk, q = get_global_id(1);
    if (start >= HW || q >= planes)
        return;
    const idx_t end = min(start + chunk, HW);
    __global real *p = y + yo + q * HW;
    const real b = has_bias ? bias[bo + q % K] : 0.0f;
    for (idx_t e = start; e < end; e++) {
        real v = p[e];
        if (has_bias)
            v += b;
        p[e] = relu ? CLY_RELU(v) : v;
    }
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

__kernel void bias_grad(__global const real *dy, long dyo, __global real *db, long dbo, long N, long K, long HW,
                        float beta)
{
    const idx_t k = get_global_id(0);
    if (k >= K)
        return;
    real s = 0.0f;
    for (idx_t n = 0; n < N; n++) {
        __global const real *p = dy + dyo + (n * K + k) * HW;
        for (idx_t e = 0; e < HW; e++)
            s += p[e];
    }
    STORE_GRAD(&db[dbo + k], s, beta);
}

/* The bounded and leaky ReLU (cly_relu_params): y = x > 0 ? min(x, cap) :
 * slope * x (has_cap 0: no bound; NaN passes); its gradient dy where
 * 0 < y < cap, slope * dy where y <= 0, 0 where y >= cap (as PyTorch's
 * hardtanh and leaky_relu backward; y and x have the same sign). */
__kernel void relu_bounded(__global const real *x, long xo, __global real *y, long yo, long count, real slope,
                           real cap, int has_cap)
{
    const idx_t i = get_global_id(0);
    if (i >= count)
        return;
    const real v = x[xo + i];
    y[yo + i] = v < 0 ? slope * v : (has_cap && v > cap ? cap : v);
}

__kernel void relu_bounded_backward(__global const real *y, long yo, __global const real *dy, long dyo,
                                    __global real *dx, long dxo, long count, real slope, real cap, int has_cap,
                                    float beta)
{
    const idx_t i = get_global_id(0);
    if (i >= count)
        return;
    const real v = y[yo + i], d = dy[dyo + i];
    const real g = v > 0 ? (has_cap && v >= cap ? 0.0f : d) : slope * d;
    STORE_GRAD(&dx[dxo + i], g, beta);
}

/* y = alpha * x + beta * y; beta == 0 does not read y (it may hold NaN):
 * a plan's scaling of its results (out = alpha * op + beta * out). */
__kernel void axpby(__global const real *x, long xo, __global real *y, long yo, long count, real alpha, real beta)
{
    const idx_t i = get_global_id(0);
    if (i >= count)
        return;
    const real v = alpha * x[xo + i];
    y[yo + i] = beta == 0.0f ? v : fma(beta, y[yo + i], v);
}
