/* Naive reference for local response normalisation across channels,
 * straight from clayer.h's formula, in double. Forward in lrn_ref.c,
 * backward in lrn_bwd_ref.c. */
#ifndef LRN_REF_H
#define LRN_REF_H

#include "ref.h"

/* Window c - size/2 .. c + (size-1)/2, clipped; A = alpha/size or alpha;
 * the divisor stays `size` at the edges: y = x / (k + A sum x^2)^beta.
 * ref_lrn_d takes a double input. */
void ref_lrn(cly_shape s, const cly_lrn_params *p, const float *x, double *y);
void ref_lrn_d(cly_shape s, const cly_lrn_params *p, const double *x, double *y);

/* The chain rule scattered from each output over its window (dx = 0 first). */
void ref_lrn_bwd(cly_shape s, const cly_lrn_params *p, const float *x, const float *dy, double *dx);

#endif
