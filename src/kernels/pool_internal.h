/* Shared by pool.c and pool_backward.c. */
#ifndef CLY_KERNELS_POOL_INTERNAL_H
#define CLY_KERNELS_POOL_INTERNAL_H

#include "runtime/launch.h"

/* Whether max and average pooling run pool_rows.cl's kernels, shaped for
 * CPUs (the tuning row's pool_rows; float contexts only), rather than
 * pool.cl's: the same results either way. $CLAYER_POOL_ROWS=0 or 1
 * overrides the row, for tests and benchmarks. */
bool cly_pool_rows(const cly_context *ctx);
/* Start the arguments of pool_rows.cl's `kernel` for pooling `g` (vectors
 * of the device's preferred width, narrowed to the rows' interior;
 * $CLAYER_POOL_VW overrides; $CLAYER_POOL_SWIZZLE=0 builds without vector
 * swizzles, for oclgrind). */
void cly_pool_rows_begin(cly_context *ctx, cly_args *a, const cly_pool_geom *g, const char *kernel);

#endif
