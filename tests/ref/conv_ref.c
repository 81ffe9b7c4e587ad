/* Naive convolution references (see conv_ref.h). The loops visit, for each
 * output plane and each (c, i, j), the rows and columns whose input tap lies
 * inside the image: the same terms as the formula, in double. */
#include "conv_ref.h"

#include <math.h>

/* First and one-past-last output column whose tap j lies inside the input. */
static void col_range(const ref_geom *g, int64_t j, int64_t *lo, int64_t *hi)
{
    int64_t t = g->pl - j * g->dw; /* need ox*SW >= t */
    *lo = t <= 0 ? 0 : (t + g->sw - 1) / g->sw;
    int64_t t2 = g->w + g->pl - j * g->dw; /* need ox*SW < t2 */
    *hi = t2 <= 0 ? 0 : (t2 + g->sw - 1) / g->sw;
    if (*hi > g->ow)
        *hi = g->ow;
    if (*lo > *hi)
        *lo = *hi;
}

/* One output plane (n, k): plane weights at wk (C/G x FH x FW, or for the
 * local layer one such block per output position: stride `pos_stride`). */
static void plane(const ref_geom *g, int64_t n, int64_t k, const double *x, const float *wk, int64_t pos_stride,
                  double *out, double *mag)
{
    const int64_t cg = g->c / g->g, kg = g->k / g->g, grp = k / kg;
    for (int64_t c = 0; c < cg; c++) {
        const double *xc = x + ((n * g->c + grp * cg + c) * g->h) * g->w;
        for (int64_t i = 0; i < g->fh; i++)
            for (int64_t j = 0; j < g->fw; j++) {
                int64_t lo, hi;
                col_range(g, j, &lo, &hi);
                const int64_t tap = (c * g->fh + i) * g->fw + j;
                for (int64_t oy = 0; oy < g->oh; oy++) {
                    const int64_t iy = oy * g->sh - g->pt + i * g->dh;
                    if (iy < 0 || iy >= g->h)
                        continue;
                    const int64_t base = iy * g->w - g->pl + j * g->dw; /* + ox*SW stays inside row iy */
                    double *o = out + oy * g->ow;
                    double *m = mag ? mag + oy * g->ow : NULL;
                    for (int64_t ox = lo; ox < hi; ox++) {
                        const double wv = wk[(oy * g->ow + ox) * pos_stride + tap];
                        const double t = xc[base + ox * g->sw] * wv;
                        o[ox] += t;
                        if (m)
                            m[ox] += fabs(t);
                    }
                }
            }
    }
}

static void run(const ref_geom *g, const double *x, const float *w, const float *bias, double *out, double *mag,
                bool local)
{
    const int64_t hw = g->oh * g->ow, taps = g->c / g->g * g->fh * g->fw;
    for (int64_t n = 0; n < g->n; n++)
        for (int64_t k = 0; k < g->k; k++) {
            double *o = out + (n * g->k + k) * hw, *m = mag ? mag + (n * g->k + k) * hw : NULL;
            for (int64_t p = 0; p < hw; p++) {
                double b = bias ? (local ? bias[k * hw + p] : bias[k]) : 0.0;
                o[p] = b;
                if (m)
                    m[p] = fabs(b);
            }
            if (local)
                plane(g, n, k, x, w + k * taps, g->k * taps, o, m);
            else
                plane(g, n, k, x, w + k * taps, 0, o, m);
        }
}

void ref_conv_d(const ref_geom *g, const double *x, const float *w, const float *bias, double *out, double *mag)
{
    run(g, x, w, bias, out, mag, false);
}

void ref_local_d(const ref_geom *g, const double *x, const float *w, const float *bias, double *out, double *mag)
{
    run(g, x, w, bias, out, mag, true);
}

void ref_conv(const ref_geom *g, const float *x, const float *w, const float *bias, double *out, double *mag)
{
    double *xd = ref_widen(x, g->n * g->c * g->h * g->w);
    run(g, xd, w, bias, out, mag, false);
    free(xd);
}

void ref_local(const ref_geom *g, const float *x, const float *w, const float *bias, double *out, double *mag)
{
    double *xd = ref_widen(x, g->n * g->c * g->h * g->w);
    run(g, xd, w, bias, out, mag, true);
    free(xd);
}

ref_geom ref_geom_of_params(cly_shape x, cly_shape f, cly_conv_params p, int64_t oh, int64_t ow)
{
    return (ref_geom){.n = x.n, .c = x.c, .h = x.h, .w = x.w, .k = f.n, .g = p.groups ? p.groups : 1,
                      .fh = f.h, .fw = f.w, .sh = p.stride.h ? p.stride.h : 1, .sw = p.stride.w ? p.stride.w : 1,
                      .pt = p.pad.top, .pb = p.pad.bottom, .pl = p.pad.left, .pr = p.pad.right,
                      .dh = p.dilation.h ? p.dilation.h : 1, .dw = p.dilation.w ? p.dilation.w : 1, .oh = oh, .ow = ow};
}

ref_geom ref_geom_of_conv(const cly_conv_geom *c)
{
    return (ref_geom){.n = c->n, .c = c->c, .h = c->h, .w = c->w, .k = c->k, .g = c->groups, .fh = c->fh,
                      .fw = c->fw, .sh = c->sh, .sw = c->sw, .pt = c->pt, .pb = c->pb, .pl = c->pl, .pr = c->pr,
                      .dh = c->dh, .dw = c->dw, .oh = c->oh, .ow = c->ow};
}

void ref_conv_shapes(const float *in, cly_shape x, const float *w, cly_shape f, const float *bias, cly_conv_params p,
                     int64_t oh, int64_t ow, float *out)
{
    ref_geom g = ref_geom_of_params(x, f, p, oh, ow);
    int64_t n = x.n * f.n * oh * ow;
    double *o = malloc((size_t)(n > 0 ? n : 1) * sizeof *o);
    if (!o)
        abort();
    ref_conv(&g, in, w, bias, o, NULL);
    for (int64_t i = 0; i < n; i++)
        out[i] = (float)o[i];
    free(o);
}
