/* Device timing shared by the benchmarks: the median of several runs of an
 * enqueue function, each timed from an OpenCL marker before it to one after
 * it on the context's in-order profiling queue. */
#ifndef BENCH_TIME_H
#define BENCH_TIME_H

#include "runtime/runtime.h"

/* Enqueues one run on ctx->queue; a failure is described with cly_fail. */
typedef cly_status (*bench_enqueue_fn)(cly_context *ctx, void *arg);

/* Median milliseconds of `runs` timed calls after one untimed warm-up (which
 * builds kernels); < 0 on failure, with cly_last_error(ctx) saying why. */
double bench_median_ms(cly_context *ctx, bench_enqueue_fn fn, void *arg, int runs);

#endif
