/* Deterministic fills (see fill.h). */
#include "fill.h"

static uint64_t next(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

void fill_int(float *a, size_t n, int range, uint64_t *seed)
{
    for (size_t i = 0; i < n; i++)
        a[i] = (float)((int64_t)(next(seed) % (uint64_t)(2 * range + 1)) - range);
}

void fill_real(float *a, size_t n, uint64_t *seed)
{
    for (size_t i = 0; i < n; i++)
        a[i] = (float)((double)next(seed) / (double)(1ULL << 31) * 2.0 - 1.0);
}
