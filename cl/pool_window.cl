/* One pooling window, element by element: pool.cl's kernels and the border
 * columns of pool_rows.cl's, so that both layouts compute every output by
 * the very same code. The window's in-input cells are rows [ya, yb) and
 * columns [xa, xb) of a plane W wide. */
#ifndef CLY_POOL_WINDOW_CL
#define CLY_POOL_WINDOW_CL

#include "common.cl"

/* The first maximum in row-major order, a NaN winning (the last one), as
 * PyTorch's CPU rule `val > maxval || isnan(val)`; *at = its y*W + x.
 * Starting from the first cell rather than -inf, a window of -inf values
 * still names a cell. */
static inline real window_max(__global const real *plane, int W, int ya, int yb, int xa, int xb, int *at)
{
    int best_idx = ya * W + xa;
    real best = plane[best_idx];
    for (int y = ya; y < yb; y++)
        for (int x = xa; x < xb; x++) {
            const real v = plane[y * W + x];
            if (v > best || isnan(v)) {
                best = v;
                best_idx = y * W + x;
            }
        }
    *at = best_idx;
    return best;
}

/* The sum of the in-input cells in row-major order. */
static inline real window_sum(__global const real *plane, int W, int ya, int yb, int xa, int xb)
{
    real sum = 0.0f;
    for (int y = ya; y < yb; y++)
        for (int x = xa; x < xb; x++)
            sum += plane[y * W + x];
    return sum;
}

#endif
