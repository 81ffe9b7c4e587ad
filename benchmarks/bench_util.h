/* Host helpers shared by the benchmarks: timing on the host, checking. */
#ifndef CLY_BENCH_UTIL_H
#define CLY_BENCH_UTIL_H

#include <clayer.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline double bench_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static inline int bench_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of v[0..n-1] (sorts v). */
static inline double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bench_cmp);
    return v[n / 2];
}

/* max |y - ref| / max |ref| over count values (NaN in y counts as an error). */
static inline double bench_max_rel_error(const float *y, const float *ref, size_t count)
{
    double diff = 0, scale = 0;
    for (size_t i = 0; i < count; i++) {
        double d = fabs((double)y[i] - ref[i]);
        diff = d > diff || d != d ? d : diff;
        scale = fabs(ref[i]) > scale ? fabs(ref[i]) : scale;
    }
    return scale > 0 ? diff / scale : diff;
}

/* Uniform values in [-1, 1) from `seed` into t and into *host (malloc'd,
 * kept for a host peer and for checking). */
static inline cly_status bench_fill_uniform(cly_tensor *t, int64_t count, uint32_t seed, float **host)
{
    float *v = *host = malloc((size_t)count * sizeof *v);
    if (!v)
        return CLY_ERROR_OUT_OF_HOST_MEMORY;
    for (int64_t i = 0; i < count; i++) {
        seed = seed * 1664525u + 1013904223u;
        v[i] = (float)((seed >> 8) * (2.0 / 16777216.0) - 1.0);
    }
    return cly_tensor_write(t, v, count);
}

/* Exit with the library's message when a call fails; `ctx` must be in scope. */
#define BENCH_CHECK(prog, call)                                                                                    \
    do {                                                                                                           \
        cly_status st_ = (call);                                                                                   \
        if (st_ != CLY_SUCCESS) {                                                                                  \
            fprintf(stderr, "%s: %s: %s\n", (prog), #call, cly_last_error(ctx));                                   \
            exit(1);                                                                                               \
        }                                                                                                          \
    } while (0)

#endif
