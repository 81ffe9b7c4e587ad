/* See adaptive_pool_ref.h: the forward (the backward in adaptive_pool_bwd_ref.c). */
#include "adaptive_pool_ref.h"

#include <math.h>
#include <string.h>

int64_t ref_adaptive_start(int64_t k, int64_t in, int64_t n)
{
    return k * in / n; /* floor: all terms are >= 0 */
}

int64_t ref_adaptive_end(int64_t k, int64_t in, int64_t n)
{
    return ((k + 1) * in + n - 1) / n; /* ceil */
}

void ref_adaptive_avgpool(int64_t planes, int64_t h, int64_t w, int64_t oh, int64_t ow, const double *x, double *y,
                          double *absmean)
{
    for (int64_t p = 0; p < planes; p++)
        for (int64_t i = 0; i < oh; i++)
            for (int64_t j = 0; j < ow; j++) {
                int64_t h0 = ref_adaptive_start(i, h, oh), h1 = ref_adaptive_end(i, h, oh);
                int64_t w0 = ref_adaptive_start(j, w, ow), w1 = ref_adaptive_end(j, w, ow);
                double sum = 0.0, abs = 0.0;
                for (int64_t r = h0; r < h1; r++)
                    for (int64_t c = w0; c < w1; c++) {
                        double v = x[(p * h + r) * w + c];
                        sum += v;
                        abs += fabs(v);
                    }
                double area = (double)((h1 - h0) * (w1 - w0));
                int64_t o = (p * oh + i) * ow + j;
                y[o] = sum / area;
                if (absmean)
                    absmean[o] = abs / area;
            }
}
