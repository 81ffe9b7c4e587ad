/* LRN backward (see lrn_ref.h). */
#include "lrn_ref.h"

#include <math.h>
#include <string.h>

/* The chain rule, scattered from each output i over its window:
 *   d y_i / d x_j = [i == j] d_i^-beta - 2 A beta x_i x_j d_i^(-beta-1)
 * for j in window(i) = i - size/2 .. i + (size-1)/2 (clipped), with
 * d_i = k + A sum_{window(i)} x^2 and A = alpha/size or alpha. */
void ref_lrn_bwd(cly_shape s, const cly_lrn_params *p, const float *x, const float *dy, double *dx)
{
    int64_t hw = s.h * s.w;
    double a = p->alpha_mode == CLY_LRN_ALPHA_OVER_SIZE ? p->alpha / (double)p->size : p->alpha;
    memset(dx, 0, (size_t)ref_count(s) * sizeof *dx);
    for (int64_t n = 0; n < s.n; n++)
        for (int64_t q = 0; q < hw; q++)
            for (int64_t i = 0; i < s.c; i++) {
                int64_t lo = i - p->size / 2, hi = i + (p->size - 1) / 2;
                lo = lo < 0 ? 0 : lo;
                hi = hi > s.c - 1 ? s.c - 1 : hi;
                double sum = 0.0;
                for (int64_t j = lo; j <= hi; j++) {
                    double v = x[(n * s.c + j) * hw + q];
                    sum += v * v;
                }
                double d = p->k + a * sum, xi = x[(n * s.c + i) * hw + q], g = dy[(n * s.c + i) * hw + q];
                for (int64_t j = lo; j <= hi; j++) {
                    double xj = x[(n * s.c + j) * hw + q];
                    double dydx =
                        (i == j ? pow(d, -p->beta) : 0.0) - 2.0 * a * p->beta * xi * xj * pow(d, -p->beta - 1.0);
                    dx[(n * s.c + j) * hw + q] += g * dydx;
                }
            }
}
