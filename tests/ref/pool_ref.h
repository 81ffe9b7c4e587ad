/* Naive references for max, average and L2 pooling and for global average
 * pooling, written straight from the formulas (clayer.h, PyTorch's
 * avg_pool2d), accumulating in double. Forward in pool_ref.c, backward in
 * pool_bwd_ref.c. The geometry is the library's cly_pool_geom (a plain
 * struct of sizes; the tests fill it with cly_pool_geom_make, the net
 * reference field by field). */
#ifndef POOL_REF_H
#define POOL_REF_H

#include "kernels/kernels.h"
#include "ref.h"

/* y (and argmax when not NULL: index within the input plane of the first
 * maximum, as PyTorch). Padding is -inf for max; NaN propagates; the
 * average's divisor is PyTorch's (window clipped to input + padding, or
 * in-input cells only with exclude_pad). ref_pool_d takes a double input. */
void ref_pool(const cly_pool_geom *g, const float *x, double *y, int *argmax);
void ref_pool_d(const cly_pool_geom *g, const double *x, double *y, int *argmax);

/* Global average pooling of an input of shape s: y[n][c] = mean of the plane. */
void ref_gap(cly_shape s, const float *x, double *y);
void ref_gap_d(cly_shape s, const double *x, double *y);

/* Backward by SCATTERING each output's gradient over its window: dx = 0,
 * then max hands dy to the first maximum, average dy/divisor to every
 * in-input cell, L2 dy * x/y to every in-input cell (nothing when y = 0). */
void ref_pool_bwd(const cly_pool_geom *g, const float *x, const float *dy, double *dx);

#endif
