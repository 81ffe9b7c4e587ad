/* LRN forward (see lrn_ref.h). */
#include "lrn_ref.h"

#include <math.h>

/* The formula of clayer.h, literally: window c - size/2 .. c + (size-1)/2,
 * clipped; A = alpha/size or alpha; the divisor stays `size` at the edges. */
void ref_lrn_d(cly_shape s, const cly_lrn_params *p, const double *x, double *y)
{
    int64_t hw = s.h * s.w;
    double a = p->alpha_mode == CLY_LRN_ALPHA_OVER_SIZE ? p->alpha / (double)p->size : p->alpha;
    for (int64_t n = 0; n < s.n; n++)
        for (int64_t c = 0; c < s.c; c++)
            for (int64_t q = 0; q < hw; q++) {
                double sum = 0.0;
                for (int64_t j = c - p->size / 2; j <= c + (p->size - 1) / 2; j++)
                    if (j >= 0 && j < s.c) {
                        double v = x[(n * s.c + j) * hw + q];
                        sum += v * v;
                    }
                int64_t i = (n * s.c + c) * hw + q;
                y[i] = x[i] / pow(p->k + a * sum, p->beta);
            }
}

void ref_lrn(cly_shape s, const cly_lrn_params *p, const float *x, double *y)
{
    double *xd = ref_widen(x, ref_count(s));
    ref_lrn_d(s, p, xd, y);
    free(xd);
}
