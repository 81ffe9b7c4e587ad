/* Host timing helpers shared by the benchmarks that time on the host. */
#ifndef CLY_BENCH_UTIL_H
#define CLY_BENCH_UTIL_H

#include <clayer.h>

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
