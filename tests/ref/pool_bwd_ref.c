/* Pooling backward (see pool_ref.h). */
#include "pool_ref.h"

#include <math.h>
#include <string.h>

/* The reference, literally: for every output o, hand dy[o] to its window.
 * Max: to the first maximum in row-major order (padding is -inf and never
 * wins; a window reaches at least one input cell). Average: dy/divisor to
 * every in-input cell, divisor as in PyTorch's avg_pool2d. L2: dy * x/y to
 * every in-input cell, nothing when y = 0. */
void ref_pool_bwd(const cly_pool_geom *g, const float *x, const float *dy, double *dx)
{
    int64_t plane = g->h * g->w, o = 0;
    memset(dx, 0, (size_t)(g->n * g->c * plane) * sizeof *dx);
    for (int64_t nc = 0; nc < g->n * g->c; nc++) {
        const float *xp = x + nc * plane;
        double *dp = dx + nc * plane;
        for (int64_t oy = 0; oy < g->oh; oy++)
            for (int64_t ox = 0; ox < g->ow; ox++, o++) {
                int64_t hs = oy * g->sh - g->pt, ws = ox * g->sw - g->pl;
                int64_t best = -1, inside = 0;
                double sumsq = 0.0;
                for (int64_t yy = hs; yy < hs + g->fh; yy++)
                    for (int64_t xx = ws; xx < ws + g->fw; xx++)
                        if (yy >= 0 && yy < g->h && xx >= 0 && xx < g->w) {
                            double v = xp[yy * g->w + xx];
                            if (best < 0 || v > xp[best])
                                best = yy * g->w + xx;
                            sumsq += v * v;
                            inside++;
                        }
                int64_t he = hs + g->fh < g->h + g->pb ? hs + g->fh : g->h + g->pb;
                int64_t we = ws + g->fw < g->w + g->pr ? ws + g->fw : g->w + g->pr;
                double div = (double)(g->exclude_pad ? inside : (he - hs) * (we - ws)), yv = sqrt(sumsq);
                if (g->kind == CLY_POOL_MAX) {
                    dp[best] += dy[o];
                    continue;
                }
                for (int64_t yy = hs; yy < hs + g->fh; yy++)
                    for (int64_t xx = ws; xx < ws + g->fw; xx++)
                        if (yy >= 0 && yy < g->h && xx >= 0 && xx < g->w) {
                            int64_t at = yy * g->w + xx;
                            if (g->kind == CLY_POOL_AVG)
                                dp[at] += dy[o] / div;
                            else if (yv > 0.0)
                                dp[at] += dy[o] * xp[at] / yv;
                        }
            }
    }
}
