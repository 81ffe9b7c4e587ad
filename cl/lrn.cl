/* Local response normalisation across channels, NCHW, one output element
 * per work-item over a 3-D range (p, c, n) = get_global_id(0, 1, 2), the
 * first two rounded up to the work-group and guarded:
 *
 *   i = (n*C + c)*HW + p
 *   lo = max(c - PRE, 0),  hi = min(c + POST, C - 1)   (PRE + POST + 1 = size)
 *   s  = sum_{c' = lo .. hi} x[xo + i + (c' - c)*HW]^2
 *   y[yo + i] = x[xo + i] * (K + A*s)^-BETA
 *
 * d^-BETA is rsqrt(d*sqrt(d)) for the ubiquitous BETA = 0.75 (a few ulp,
 * and far cheaper than pow, which dominated the layer), pow otherwise.
 *
 * The host clips PRE and POST to C (same result, no int overflow).
 * A is alpha/size or alpha, chosen by the host; the divisor stays `size`
 * at the clipped edges, as in Caffe and PyTorch. y must not alias x: other
 * work-items still read the channels this one writes.
 *
 * lrn_backward, the exact derivative. With d_c = K + A*s_c, y_c = x_c d_c^-BETA
 * and c in window(i) <=> i in [c - POST, c + PRE]:
 *   dL/dx_c = dy_c d_c^-BETA
 *             - 2 A BETA x_c * sum_{i = max(c - POST, 0) .. min(c + PRE, C - 1)} dy_i y_i / d_i
 * (the second term: x_c sits in the windows of its neighbours i). One
 * work-item per element c recomputes each d_i it needs from x (size^2 fmas,
 * no scratch buffer, no atomics); then dx = beta_g*dx + that (beta_g == 0
 * overwrites). dx must alias none of x, y, dy. */
#include "common.cl"

static real pow_neg_beta(real d, real BETA)
{
    return BETA == 0.75f ? rsqrt(d * sqrt(d)) : pow(d, (real)-BETA);
}

__kernel void lrn(__global const real *x, long xo, __global real *y, long yo, int C, int HW, int PRE, int POST,
                  real A, real K, real BETA)
{
    PLANE_ELEMENT(p, c, i, HW, C);
    const int lo = max(c - PRE, 0), hi = min(c + POST, C - 1);
    __global const real *base = x + xo + i - (idx_t)c * HW;
    real s = 0.0f;
    for (int j = lo; j <= hi; j++) {
        const real v = base[(idx_t)j * HW];
        s = fma(v, v, s);
    }
    y[yo + i] = x[xo + i] * pow_neg_beta(K + A * s, BETA);
}

/* s_c for the channel c of the column at `base` (x at channel 0). */
static real window_sum(__global const real *base, int c, int C, int HW, int PRE, int POST)
{
    const int lo = max(c - PRE, 0), hi = min(c + POST, C - 1);
    real s = 0.0f;
    for (int j = lo; j <= hi; j++) {
        const real v = base[(idx_t)j * HW];
        s = fma(v, v, s);
    }
    return s;
}

__kernel void lrn_backward(__global const real *x, long xo, __global const real *y, long yo,
                           __global const real *dy, long dyo, __global real *dx, long dxo, int C, int HW, int PRE,
                           int POST, real A, real K, real BETA, float beta_g)
{
    PLANE_ELEMENT(p, c, i, HW, C);
    const idx_t col = i - (idx_t)c * HW; /* channel 0 of this column */
    __global const real *xb = x + xo + col;
    __global const real *yb = y + yo + col;
    __global const real *dyb = dy + dyo + col;
    const real dc = K + A * window_sum(xb, c, C, HW, PRE, POST);
    const int lo = max(c - POST, 0), hi = min(c + PRE, C - 1);
    real cross = 0.0f;
    for (int j = lo; j <= hi; j++) {
        const real dj = j == c ? dc : K + A * window_sum(xb, j, C, HW, PRE, POST);
        cross += dyb[(idx_t)j * HW] * yb[(idx_t)j * HW] / dj;
    }
    const real g = dyb[(idx_t)c * HW] * pow_neg_beta(dc, BETA) - 2 * A * BETA * xb[(idx_t)c * HW] * cross;
    STORE_GRAD(&dx[dxo + i], g, beta_g);
}
