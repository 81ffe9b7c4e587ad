/* oneDNN's convolution forward and backward passes on the host CPU, the
 * native peer of conv_bench and conv_backward_bench:
 * the figure a framework on this CPU would get. Built only where meson finds
 * oneDNN (Debian libdnnl-dev); elsewhere the stubs below say so and every
 * oneDNN series is skipped. Only conv_onednn.c calls oneDNN. */
#ifndef CONV_ONEDNN_H
#define CONV_ONEDNN_H

#include "kernels/kernels.h"

#include <stdio.h>

typedef enum onednn_layout {
    ONEDNN_BLOCKED, /* memory format `any`: oneDNN's choice (nChw16c ...), src and weights reordered once, untimed */
    ONEDNN_PLAIN,   /* NCHW src and dst, OIHW (GOIHW) weights, as clayer keeps them */
} onednn_layout;

typedef struct onednn_result {
    double ms;        /* median host ms of the primitive's execution; < 0: did not run */
    double min_ms;    /* the fastest run: on a loaded machine an OpenMP team waits for its slowest thread */
    char impl[48];    /* the implementation oneDNN picked ("jit:avx512_core") */
    char why[192];    /* why it did not run */
} onednn_result;

#if CONV_BENCH_ONEDNN
/* Sets oneDNN's OpenMP thread count to `threads` (the OpenCL device's compute
 * units, for a fair comparison); returns the count in effect, or 0 when
 * oneDNN's threading runtime is not OpenMP and cannot be set from here. */
int onednn_set_threads(int threads);
/* "oneDNN 2.6.3 (OpenMP)". */
void onednn_describe(char *buf, size_t size);
/* Times the plain convolution g (no bias, no ReLU; dilation as in g, 1 =
 * none) of host x (NCHW) and w (K x C/groups x FH x FW): the median of
 * `runs` executions after one untimed warm-up, each waited for. Writes the
 * output to y (NCHW, N*K*OH*OW floats) for checking. */
onednn_result onednn_conv(const cly_conv_geom *g, onednn_layout layout, const float *x, const float *w, float *y,
                          int runs);
/* The backward passes of g, timed the same way, in the blocked layout only
 * (`any`: what a framework training on this CPU runs): dx (NCHW) from dy
 * (NCHW) and w; dw (as w) from x and dy, without a bias gradient. */
onednn_result onednn_conv_backward_data(const cly_conv_geom *g, const float *dy, const float *w, float *dx, int runs);
onednn_result onednn_conv_backward_weights(const cly_conv_geom *g, const float *x, const float *dy, float *dw,
                                           int runs);
#else
static inline int onednn_set_threads(int threads)
{
    (void)threads;
    return 0;
}
static inline void onednn_describe(char *buf, size_t size)
{
    snprintf(buf, size, "not built (no libdnnl-dev when meson set up the build)");
}
static inline onednn_result onednn_missing(void)
{
    onednn_result r = {.ms = -1, .min_ms = -1};
    snprintf(r.why, sizeof r.why, "built without oneDNN (install libdnnl-dev, meson setup again)");
    return r;
}
static inline onednn_result onednn_conv(const cly_conv_geom *g, onednn_layout layout, const float *x,
                                        const float *w, float *y, int runs)
{
    (void)g, (void)layout, (void)x, (void)w, (void)y, (void)runs;
    return onednn_missing();
}
static inline onednn_result onednn_conv_backward_data(const cly_conv_geom *g, const float *dy, const float *w,
                                                      float *dx, int runs)
{
    (void)g, (void)dy, (void)w, (void)dx, (void)runs;
    return onednn_missing();
}
static inline onednn_result onednn_conv_backward_weights(const cly_conv_geom *g, const float *x, const float *dy,
                                                         float *dw, int runs)
{
    (void)g, (void)x, (void)dy, (void)dw, (void)runs;
    return onednn_missing();
}
#endif

#endif
