/* Naive reference for adaptive average pooling (PyTorch's
 * AdaptiveAvgPool2d): plain loops straight from the bin formula,
 * accumulating in double: the forward in adaptive_pool_ref.c, the backward
 * in adaptive_pool_bwd_ref.c. tests/ref/ is the home of the naive references
 * the op tests compare the device kernels against. */
#ifndef ADAPTIVE_POOL_REF_H
#define ADAPTIVE_POOL_REF_H

#include <stdint.h>

/* Bin k of n over an extent of `in`: [start, end) with
 * start = floor(k*in/n), end = ceil((k+1)*in/n). */
int64_t ref_adaptive_start(int64_t k, int64_t in, int64_t n);
int64_t ref_adaptive_end(int64_t k, int64_t in, int64_t n);

/* y[nc][i][j] = mean of x[nc][h0(i)..h1(i))[w0(j)..w1(j)) over planes =
 * N*C planes of h x w, into oh x ow. When absmean is not NULL it receives
 * the mean of |x| over each bin: the scale of the float error of a sum. */
void ref_adaptive_avgpool(int64_t planes, int64_t h, int64_t w, int64_t oh, int64_t ow, const double *x, double *y,
                          double *absmean);

/* The transpose of the forward, by SCATTERING: dx = 0, then every bin
 * (i, j) adds dy[i][j] / area to each of its cells (the device kernel
 * gathers instead). When dxabs is not NULL it receives the same sum of
 * |dy| / area. */
void ref_adaptive_avgpool_backward(int64_t planes, int64_t h, int64_t w, int64_t oh, int64_t ow, const double *dy,
                                   double *dx, double *dxabs);

#endif
