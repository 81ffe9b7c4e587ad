/* Adaptive average pooling (PyTorch's AdaptiveAvgPool2d), NCHW: an H x W
 * input plane to a fixed OH x OW output plane. Output row i averages the
 * input rows of its bin
 *   h0(i) = floor(i*H/OH) .. h1(i) - 1,   h1(i) = ceil((i+1)*H/OH) = ((i+1)*H + OH - 1)/OH,
 * and likewise column j the columns w0(j) .. w1(j) - 1 (W, OW). Bins may
 * overlap (13 -> 6: rows 0-2, 2-4, 4-6, ...) and repeat when OH > H (3 -> 5:
 * rows 0, 0-1, 1, 1-2, 2); each holds at least one row, as
 * (i+1)*H/OH - i*H/OH = H/OH > 0. The products i*H, (i+1)*H, h*OH, (h+1)*OH
 * are formed in 64 bits (idx_t), so only H, W, OH, OW themselves need to fit
 * an int.
 *
 *   adaptive_avgpool: one work-item per OUTPUT element (j, i, nc) =
 *     get_global_id(0, 1, 2) (cly_enqueue_planes), flat o = (nc*OH + i)*OW + j:
 *     y[y_off + o] = sum of x[x_off + (nc*H + h)*W + w] over the bin
 *                    / ((h1 - h0) * (w1 - w0)),
 *     summing each row first, then the row sums (shorter float chains).
 *
 *   adaptive_avgpool_backward: one work-item per INPUT element (w, h, nc),
 *     flat i = (nc*H + h)*W + w; it GATHERS (no atomics; a fixed visiting
 *     order, so results repeat bit for bit):
 *     dx[dx_off + i] = beta * dx[dx_off + i]
 *                      + sum over bins (a, b) containing (h, w), ascending,
 *                        of dy[dy_off + (nc*OH + a)*OW + b] / area(a, b),
 *     beta == 0 overwriting without reading dx (STORE_GRAD, common.cl).
 *
 * The bins containing row h are exactly a = a0(h) .. a1(h) - 1 with
 *   a0(h) = floor(h*OH/H),   a1(h) = ceil((h+1)*OH/H) = ((h+1)*OH + H - 1)/H,
 * the forward's formula with H and OH swapped. Proof, for integers a, h >= 0:
 *   h0(a) <= h  <=>  floor(a*H/OH) <= h  <=>  a*H/OH < h + 1
 *               <=>  a < (h+1)*OH/H      <=>  a < ceil((h+1)*OH/H) = a1(h);
 *   h < h1(a)   <=>  h < ceil((a+1)*H/OH) <=> h < (a+1)*H/OH
 *               <=>  a > h*OH/H - 1      <=>  a >= floor(h*OH/H) = a0(h)
 * (floor(q) <= h <=> q < h+1 and h < ceil(q) <=> h < q hold for integer h
 * and real q). Then 0 <= a0(h) and a1(h) <= ceil(H*OH/H) = OH for h < H, so
 * no clamping is needed, and a0(h) < a1(h) as h*OH/H < (h+1)*OH/H: every
 * input cell lies in at least one bin. Columns alike (W, OW). The host test
 * checks the gather against a reference that scatters each bin instead. */
#include "common.cl"

/* Start and end (exclusive) of bin k of n bins over an extent of `in`. */
#define BIN_START(k, in, n) ((int)(((idx_t)(k) * (in)) / (n)))
#define BIN_END(k, in, n) ((int)((((idx_t)(k) + 1) * (in) + (n) - 1) / (n)))

__kernel void adaptive_avgpool(__global const real *x, long x_off, __global real *y, long y_off, int H, int W,
                               int OH, int OW)
{
    PLANE_ELEMENT(j, i, o, OW, OH);
    const idx_t nc = get_global_id(2);
    const int h0 = BIN_START(i, H, OH), h1 = BIN_END(i, H, OH);
    const int w0 = BIN_START(j, W, OW), w1 = BIN_END(j, W, OW);
    __global const real *plane = x + x_off + nc * H * W;
    real sum = 0.0f;
    for (int h = h0; h < h1; h++) {
        __global const real *row = plane + (idx_t)h * W;
        real rs = 0.0f;
        for (int w = w0; w < w1; w++)
            rs += row[w];
        sum += rs;
    }
    y[y_off + o] = sum / ((real)(h1 - h0) * (real)(w1 - w0));
}

__kernel void adaptive_avgpool_backward(__global const real *dy, long dy_off, __global real *dx, long dx_off,
                                        float beta, int H, int W, int OH, int OW)
{
    PLANE_ELEMENT(w, h, i, W, H);
    const idx_t nc = get_global_id(2);
    const int a0 = BIN_START(h, OH, H), a1 = BIN_END(h, OH, H);
    const int b0 = BIN_START(w, OW, W), b1 = BIN_END(w, OW, W);
    __global const real *dyp = dy + dy_off + nc * OH * OW;
    real acc = 0.0f;
    for (int a = a0; a < a1; a++) {
        const real rows = (real)(BIN_END(a, H, OH) - BIN_START(a, H, OH));
        __global const real *row = dyp + (idx_t)a * OW;
        for (int b = b0; b < b1; b++) {
            const real cols = (real)(BIN_END(b, W, OW) - BIN_START(b, W, OW));
            acc += row[b] / (rows * cols);
        }
    }
    STORE_GRAD(&dx[dx_off + i], acc, beta);
}
