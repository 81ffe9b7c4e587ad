/* Pooling and global average pooling, forward (see pool_ref.h). */
#include "pool_ref.h"

#include <math.h>

/* The reference, literally: padding is -inf for max; the average's divisor
 * is PyTorch's (window clipped to input + padding, or in-input cells only). */
void ref_pool_d(const cly_pool_geom *g, const double *x, double *y, int *argmax)
{
    int64_t o = 0;
    for (int64_t nc = 0; nc < g->n * g->c; nc++) {
        const double *plane = x + nc * g->h * g->w;
        for (int64_t oy = 0; oy < g->oh; oy++)
            for (int64_t ox = 0; ox < g->ow; ox++, o++) {
                int64_t hs = oy * g->sh - g->pt, ws = ox * g->sw - g->pl;
                double best = -INFINITY, sum = 0.0;
                int64_t best_idx = -1, inside = 0;
                for (int64_t i = 0; i < g->fh; i++)
                    for (int64_t j = 0; j < g->fw; j++) {
                        int64_t yy = hs + i, xx = ws + j;
                        bool in = yy >= 0 && yy < g->h && xx >= 0 && xx < g->w;
                        double v = in ? plane[yy * g->w + xx] : -INFINITY;
                        if (in && best_idx < 0) /* PyTorch starts at the first in-input cell */
                            best_idx = yy * g->w + xx;
                        if (v > best || isnan(v)) {
                            best = v;
                            best_idx = yy * g->w + xx;
                        }
                        if (in) {
                            sum += g->kind == CLY_POOL_L2 ? v * v : v;
                            inside++;
                        }
                    }
                int64_t he = hs + g->fh < g->h + g->pb ? hs + g->fh : g->h + g->pb;
                int64_t we = ws + g->fw < g->w + g->pr ? ws + g->fw : g->w + g->pr;
                if (g->kind == CLY_POOL_MAX) {
                    y[o] = best;
                    if (argmax)
                        argmax[o] = (int)best_idx;
                } else if (g->kind == CLY_POOL_AVG) {
                    y[o] = sum / (double)(g->exclude_pad ? inside : (he - hs) * (we - ws));
                } else {
                    y[o] = sqrt(sum);
                }
            }
    }
}

void ref_pool(const cly_pool_geom *g, const float *x, double *y, int *argmax)
{
    int64_t n = g->n * g->c * g->h * g->w;
    double *xd = ref_widen(x, n);
    ref_pool_d(g, xd, y, argmax);
    free(xd);
}

void ref_gap_d(cly_shape s, const double *x, double *y)
{
    for (int64_t i = 0; i < s.n * s.c; i++) {
        double sum = 0.0;
        for (int64_t p = 0; p < s.h * s.w; p++)
            sum += x[i * s.h * s.w + p];
        y[i] = sum / (double)(s.h * s.w);
    }
}

void ref_gap(cly_shape s, const float *x, double *y)
{
    double *xd = ref_widen(x, ref_count(s));
    ref_gap_d(s, xd, y);
    free(xd);
}
