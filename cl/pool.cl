/* Pooling, NCHW, one output element per work-item over a 3-D range
 * (ox, oy, nc = n*C + c) = get_global_id(0, 1, 2), the first two rounded up
 * to the work-group and guarded: element i = (nc*OH + oy)*OW + ox with no
 * 64-bit division (scalar divisions cost CPUs more than the pooling). It
 * reads the input plane at in_off + nc*H*W. Its window covers rows
 *   y0 = oy*SH - PT .. y0 + FH - 1   and columns   x0 = ox*SW - PL .. x0 + FW - 1,
 * of which only in-input cells (0 <= y < H, 0 <= x < W) are read.
 *
 *   pool_max: out = max over in-input cells (padding is -inf, so it never
 *             wins); argmax[i] = y*W + x of the first maximum in row-major
 *             order; a NaN wins (the last one), exactly PyTorch's CPU rule
 *             `val > maxval || isnan(val)`. Written when flag (want_argmax).
 *   pool_avg: out = sum / divisor, divisor = (ye - y0) * (xe - x0) with
 *             ye = min(y0 + FH, H + PB), xe = min(x0 + FW, W + PR), i.e. the
 *             window clipped to input + padding (count_include_pad), or the
 *             number of in-input cells when flag (exclude_pad) != 0.
 *   pool_l2:  out = sqrt(sum of squares over in-input cells).
 *   gap:      i < N*C: out[out_off + i] = mean of the plane in_off + i*HW.
 *
 * The host guarantees every pad < window size and the Caffe/PyTorch ceil
 * rule, so each window holds at least one in-input cell.
 *
 * Backward passes gather: one work-item per INPUT element (ix, iy, nc),
 *   i = (nc*H + iy)*W + ix,
 * visits, in ascending (oy, ox) order, every output whose window covers
 * (iy, ix):
 *   oy = oy_lo .. oy_hi,  oy_lo = max(0, ceil((iy + PT - FH + 1) / SH)),
 *                         oy_hi = min(OH - 1, floor((iy + PT) / SH))
 * (likewise ox with IX, PL, FW, SW, OW), and sums that output's share g_o:
 *   pool_max_backward: g_o = dy[o] if argmax[o] == iy*W + ix, else 0
 *   pool_avg_backward: g_o = dy[o] / divisor_o (the forward's divisor)
 *   pool_l2_backward:  g_o = y[o] > 0 ? dy[o] * x[i] / y[o] : 0
 *                      (d sqrt(sum x^2)/dx = x / y; y = 0 means every cell
 *                      of the window is 0: gradient 0 by definition)
 *   gap_backward:      i < N*C*HW: g = dy[i / HW] / HW
 * then dx[i] = beta * dx[i] + sum (beta == 0: overwrite, see STORE_GRAD).
 * Overlapping windows thus need no atomics, and the fixed visiting order
 * makes every result repeat bit for bit. */
#include "pool_window.cl"

/* One argument list for the three pool kernels (the host sets it once);
 * `flag` is want_argmax for max, exclude_pad for avg, unused for L2. */
#define POOL_ARGS                                                                                               \
    __global const real *in, long in_off, __global real *out, long out_off, __global int *argmax,            \
        long argmax_off, int flag, int H, int W, int OH, int OW, int FH, int FW, int SH, int SW, int PT, int PL, \
        int PB, int PR

/* The output element and its window; shared by the three pool kernels. */
#define POOL_PROLOGUE                                                      \
    PLANE_ELEMENT(ox, oy, i, OW, OH);                                      \
    const idx_t nc = get_global_id(2);                                     \
    const int y0 = oy * SH - PT, x0 = ox * SW - PL;                       \
    const int ya = max(y0, 0), yb = min(y0 + FH, H);                      \
    const int xa = max(x0, 0), xb = min(x0 + FW, W);                      \
    __global const real *plane = in + in_off + nc * H * W

__kernel void pool_max(POOL_ARGS)
{
    POOL_PROLOGUE;
    int best_idx;
    out[out_off + i] = window_max(plane, W, ya, yb, xa, xb, &best_idx);
    if (flag) /* want_argmax */
        argmax[argmax_off + i] = best_idx;
}

__kernel void pool_avg(POOL_ARGS)
{
    POOL_PROLOGUE;
    const real sum = window_sum(plane, W, ya, yb, xa, xb);
    const int ye = min(y0 + FH, H + PB), xe = min(x0 + FW, W + PR);
    const int divisor = flag /* exclude_pad */ ? (yb - ya) * (xb - xa) : (ye - y0) * (xe - x0);
    out[out_off + i] = sum / (real)divisor;
}

__kernel void pool_l2(POOL_ARGS)
{
    POOL_PROLOGUE;
    real sum = 0.0f;
    for (int y = ya; y < yb; y++)
        for (int x = xa; x < xb; x++) {
            const real v = plane[y * W + x];
            sum = fma(v, v, sum);
        }
    out[out_off + i] = sqrt(sum);
}

__kernel void gap(__global const real *in, long in_off, __global real *out, long out_off, long count, long HW)
{
    const idx_t i = get_global_id(0);
    if (i >= count)
        return;
    __global const real *plane = in + in_off + i * HW;
    /* Four partial sums: shorter dependency chains and less rounding drift
     * on large planes than one running sum. */
    real s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
    idx_t p = 0;
    for (; p + 4 <= HW; p += 4) {
        s0 += plane[p];
        s1 += plane[p + 1];
        s2 += plane[p + 2];
        s3 += plane[p + 3];
    }
    for (; p < HW; p++)
        s0 += plane[p];
    out[out_off + i] = ((s0 + s1) + (s2 + s3)) / (real)HW;
}

/* ---- backward */

#define POOL_BWD_ARGS                                                                                           \
    __global const real *x, long x_off, __global const real *y, long y_off, __global const int *argmax,      \
        long argmax_off, __global const real *dy, long dy_off, __global real *dx, long dx_off, int flag,    \
        float beta, int H, int W, int OH, int OW, int FH, int FW, int SH, int SW, int PT, int PL, int PB, int PR

/* Input cell (iy, ix) of plane nc, and the range of outputs whose windows
 * cover it; dyp points at the plane's outputs. */
#define POOL_BWD_PROLOGUE                                                  \
    PLANE_ELEMENT(ix, iy, i, W, H);                                        \
    const idx_t nc = get_global_id(2);                                     \
    const int ty = iy + PT - FH + 1, tx = ix + PL - FW + 1;               \
    const int oy_lo = ty <= 0 ? 0 : (ty + SH - 1) / SH;                   \
    const int ox_lo = tx <= 0 ? 0 : (tx + SW - 1) / SW;                   \
    const int oy_hi = min(OH - 1, (iy + PT) / SH);                        \
    const int ox_hi = min(OW - 1, (ix + PL) / SW);                        \
    const idx_t obase = nc * OH * OW;                                      \
    real acc = 0.0f

__kernel void pool_max_backward(POOL_BWD_ARGS)
{
    POOL_BWD_PROLOGUE;
    const int self = iy * W + ix;
    for (int oy = oy_lo; oy <= oy_hi; oy++)
        for (int ox = ox_lo; ox <= ox_hi; ox++) {
            const idx_t o = obase + (idx_t)oy * OW + ox;
            if (argmax[argmax_off + o] == self)
                acc += dy[dy_off + o];
        }
    STORE_GRAD(&dx[dx_off + i], acc, beta);
}

__kernel void pool_avg_backward(POOL_BWD_ARGS)
{
    POOL_BWD_PROLOGUE;
    for (int oy = oy_lo; oy <= oy_hi; oy++) {
        const int y0 = oy * SH - PT;
        const int ya = max(y0, 0), yb = min(y0 + FH, H), ye = min(y0 + FH, H + PB);
        for (int ox = ox_lo; ox <= ox_hi; ox++) {
            const int x0 = ox * SW - PL;
            const int xa = max(x0, 0), xb = min(x0 + FW, W), xe = min(x0 + FW, W + PR);
            /* The forward's divisor, rule for rule. */
            const int divisor = flag /* exclude_pad */ ? (yb - ya) * (xb - xa) : (ye - y0) * (xe - x0);
            acc += dy[dy_off + obase + (idx_t)oy * OW + ox] / (real)divisor;
        }
    }
    STORE_GRAD(&dx[dx_off + i], acc, beta);
}

__kernel void pool_l2_backward(POOL_BWD_ARGS)
{
    POOL_BWD_PROLOGUE;
    const real xv = x[x_off + i];
    for (int oy = oy_lo; oy <= oy_hi; oy++)
        for (int ox = ox_lo; ox <= ox_hi; ox++) {
            const idx_t o = obase + (idx_t)oy * OW + ox;
            const real yv = y[y_off + o];
            if (yv > 0.0f)
                acc += dy[dy_off + o] * (xv / yv);
        }
    STORE_GRAD(&dx[dx_off + i], acc, beta);
}

__kernel void gap_backward(__global const real *dy, long dy_off, __global real *dx, long dx_off, float beta,
                           long count, long HW)
{
    const idx_t i = get_global_id(0);
    if (i >= count)
        return;
    STORE_GRAD(&dx[dx_off + i], dy[dy_off + i / HW] / (real)HW, beta);
}
