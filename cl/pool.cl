/* Pooling, NCHW, one output element per work-item over a 1-D range.
 *
 * Work-item i < N*C*OH*OW (64-bit) maps to
 *   ox = i % OW,  oy = (i / OW) % OH,  nc = i / (OW*OH)   (nc = n*C + c)
 * and reads the input plane at in_off + nc*H*W. Its window covers rows
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
 * rule, so each window holds at least one in-input cell. */
#include "common.cl"

/* One argument list for the three pool kernels (the host sets it once);
 * `flag` is want_argmax for max, exclude_pad for avg, unused for L2. */
#define POOL_ARGS                                                                                               \
    __global const float *in, long in_off, __global float *out, long out_off, __global int *argmax,            \
        long argmax_off, int flag, long count, int H, int W, int OH, int OW, int FH, int FW, int SH, int SW,   \
        int PT, int PL, int PB, int PR

/* Decompose the 1-D id; shared by the three pool kernels. */
#define POOL_PROLOGUE                                                      \
    const idx_t i = get_global_id(0);                                     \
    if (i >= count)                                                        \
        return;                                                            \
    const int ox = (int)(i % OW);                                         \
    const idx_t t = i / OW;                                                \
    const int oy = (int)(t % OH);                                         \
    const idx_t nc = t / OH;                                               \
    const int y0 = oy * SH - PT, x0 = ox * SW - PL;                       \
    const int ya = max(y0, 0), yb = min(y0 + FH, H);                      \
    const int xa = max(x0, 0), xb = min(x0 + FW, W);                      \
    __global const float *plane = in + in_off + nc * H * W

__kernel void pool_max(POOL_ARGS)
{
    POOL_PROLOGUE;
    /* Start from the first in-input cell, not -inf: a window of -inf values
     * still reports a valid index. */
    int best_idx = ya * W + xa;
    float best = plane[best_idx];
    for (int y = ya; y < yb; y++)
        for (int x = xa; x < xb; x++) {
            const float v = plane[y * W + x];
            if (v > best || isnan(v)) {
                best = v;
                best_idx = y * W + x;
            }
        }
    out[out_off + i] = best;
    if (flag) /* want_argmax */
        argmax[argmax_off + i] = best_idx;
}

__kernel void pool_avg(POOL_ARGS)
{
    POOL_PROLOGUE;
    float sum = 0.0f;
    for (int y = ya; y < yb; y++)
        for (int x = xa; x < xb; x++)
            sum += plane[y * W + x];
    const int ye = min(y0 + FH, H + PB), xe = min(x0 + FW, W + PR);
    const int divisor = flag /* exclude_pad */ ? (yb - ya) * (xb - xa) : (ye - y0) * (xe - x0);
    out[out_off + i] = sum / (float)divisor;
}

__kernel void pool_l2(POOL_ARGS)
{
    POOL_PROLOGUE;
    float sum = 0.0f;
    for (int y = ya; y < yb; y++)
        for (int x = xa; x < xb; x++) {
            const float v = plane[y * W + x];
            sum = fma(v, v, sum);
        }
    out[out_off + i] = sqrt(sum);
}

__kernel void gap(__global const float *in, long in_off, __global float *out, long out_off, long count, long HW)
{
    const idx_t i = get_global_id(0);
    if (i >= count)
        return;
    __global const float *plane = in + in_off + i * HW;
    /* Four partial sums: shorter dependency chains and less rounding drift
     * on large planes than one running sum. */
    float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
    idx_t p = 0;
    for (; p + 4 <= HW; p += 4) {
        s0 += plane[p];
        s1 += plane[p + 1];
        s2 += plane[p + 2];
        s3 += plane[p + 3];
    }
    for (; p < HW; p++)
        s0 += plane[p];
    out[out_off + i] = ((s0 + s1) + (s2 + s3)) / (float)HW;
}
