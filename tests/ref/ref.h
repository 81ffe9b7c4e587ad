/* What every reference shares: see README.md in this folder. */
#ifndef REF_H
#define REF_H

#include "clayer.h"

#include <stdint.h>
#include <stdlib.h>

/* Elements of an NCHW shape. */
int64_t ref_count(cly_shape s);

/* A malloc'd double copy of n floats (exact); aborts when out of memory. */
double *ref_widen(const float *x, int64_t n);

#endif
