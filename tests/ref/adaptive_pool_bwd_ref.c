/* See adaptive_pool_ref.h: the backward. */
#include "adaptive_pool_ref.h"

#include <math.h>
#include <string.h>

void ref_adaptive_avgpool_backward(int64_t planes, int64_t h, int64_t w, int64_t oh, int64_t ow, const double *dy,
                                   double *dx, double *dxabs)
{
    memset(dx, 0, (size_t)(planes * h * w) * sizeof *dx);
    if (dxabs)
        memset(dxabs, 0, (size_t)(planes * h * w) * sizeof *dxabs);
    for (int64_t p = 0; p < planes; p++)
        for (int64_t i = 0; i < oh; i++)
            for (int64_t j = 0; j < ow; j++) {
                int64_t h0 = ref_adaptive_start(i, h, oh), h1 = ref_adaptive_end(i, h, oh);
                int64_t w0 = ref_adaptive_start(j, w, ow), w1 = ref_adaptive_end(j, w, ow);
                double g = dy[(p * oh + i) * ow + j], area = (double)((h1 - h0) * (w1 - w0));
                for (int64_t r = h0; r < h1; r++)
                    for (int64_t c = w0; c < w1; c++) {
                        int64_t at = (p * h + r) * w + c;
                        dx[at] += g / area;
                        if (dxabs)
                            dxabs[at] += fabs(g) / area;
                    }
            }
}
