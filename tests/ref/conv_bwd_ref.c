/* Convolution and locally connected backward (see conv_ref.h). */
#include "conv_ref.h"

/* x index of output (n, k, oy, ox), tap (c within group, i, j); -1 outside. */
static int64_t tap(const ref_geom *g, int64_t n, int64_t k, int64_t oy, int64_t ox, int64_t c, int64_t i, int64_t j)
{
    int64_t cg = g->c / g->g, grp = k / (g->k / g->g);
    int64_t iy = oy * g->sh - g->pt + i * g->dh, ix = ox * g->sw - g->pl + j * g->dw;
    if (iy < 0 || iy >= g->h || ix < 0 || ix >= g->w)
        return -1;
    return ((n * g->c + grp * cg + c) * g->h + iy) * g->w + ix;
}

void ref_conv_bwd(const ref_geom *g, bool local, const float *x, const float *w, const float *dy, double *dx,
                  double *dw, double *db)
{
    int64_t cg = g->c / g->g, taps = g->fh * g->fw, p = g->oh * g->ow;
    for (int64_t n = 0; n < g->n; n++)
        for (int64_t k = 0; k < g->k; k++)
            for (int64_t q = 0; q < p; q++) {
                double d = dy[(n * g->k + k) * p + q];
                db[local ? k * p + q : k] += d;
                for (int64_t c = 0; c < cg; c++)
                    for (int64_t i = 0; i < g->fh; i++)
                        for (int64_t j = 0; j < g->fw; j++) {
                            int64_t xi = tap(g, n, k, q / g->ow, q % g->ow, c, i, j);
                            if (xi < 0)
                                continue;
                            int64_t wi = (((local ? q * g->k : 0) + k) * cg + c) * taps + i * g->fw + j;
                            dw[wi] += d * x[xi];
                            dx[xi] += d * w[wi];
                        }
            }
}
