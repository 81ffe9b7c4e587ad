/* Deterministic fills for the reference comparisons of test_conv.c (an LCG
 * with PCG's multiplier): integers in [-range, range], or reals in [-1, 1]. */
#ifndef REF_FILL_H
#define REF_FILL_H

#include <stddef.h>
#include <stdint.h>

void fill_int(float *a, size_t n, int range, uint64_t *seed);
void fill_real(float *a, size_t n, uint64_t *seed);

#endif
