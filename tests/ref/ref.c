/* See ref.h. */
#include "ref.h"

#include <stdio.h>

int64_t ref_count(cly_shape s)
{
    return s.n * s.c * s.h * s.w;
}

double *ref_widen(const float *x, int64_t n)
{
    double *d = malloc((size_t)(n > 0 ? n : 1) * sizeof *d);
    if (!d) {
        fprintf(stderr, "ref_widen: out of memory for %lld values\n", (long long)n);
        abort();
    }
    for (int64_t i = 0; i < n; i++)
        d[i] = x[i];
    return d;
}
