/* Naive references for convolution and the locally connected layer: plain
 * loops over the formula of the notes, accumulating in double, written
 * without any of the library's code (only its types). Forward in
 * conv_ref.c, backward in conv_bwd_ref.c. */
#ifndef CONV_REF_H
#define CONV_REF_H

#include "kernels/kernels.h"
#include "ref.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ref_geom {
    int64_t n, c, h, w;     /* input */
    int64_t k, g, fh, fw;   /* K filters, G groups; weights K x C/G x FH x FW */
    int64_t sh, sw, pt, pb, pl, pr, dh, dw;
    int64_t oh, ow;         /* output */
} ref_geom;

/* out[n][k][oy][ox] = bias[k] + sum_{c < C/G, i, j}
 *     x[n][g*C/G + c][oy*SH - PT + i*DH][ox*SW - PL + j*DW] * w[k][c][i][j]
 * (g = k / (K/G), zero outside the input; bias NULL counts as 0). When mag
 * is not NULL it receives |bias[k]| + sum |x*w|, the scale of the rounding
 * error of any float32 evaluation order. */
void ref_conv(const ref_geom *g, const float *x, const float *w, const float *bias, double *out, double *mag);
/* The same with a double input (tests/net/reference.c chains layers in double). */
void ref_conv_d(const ref_geom *g, const double *x, const float *w, const float *bias, double *out, double *mag);

/* The locally connected layer: the same sum with weights w[oy][ox][k][c][i][j]
 * (OH x OW x K x C/G x FH x FW) and bias[k][oy][ox]. */
void ref_local(const ref_geom *g, const float *x, const float *w, const float *bias, double *out, double *mag);

void ref_local_d(const ref_geom *g, const double *x, const float *w, const float *bias, double *out, double *mag);

/* The geometry from shapes and parameters (stride and dilation 0 count as
 * 1, groups 0 as 1), or from the library's cly_conv_geom. */
ref_geom ref_geom_of_params(cly_shape x, cly_shape f, cly_conv_params p, int64_t oh, int64_t ow);
ref_geom ref_geom_of_conv(const cly_conv_geom *c);

/* ref_conv from shapes and parameters into a float output (each element
 * rounded once from the double sum): weights f.n x f.c x f.h x f.w, `bias`
 * may be NULL, `out` has x.n * f.n * oh * ow elements. */
void ref_conv_shapes(const float *in, cly_shape x, const float *w, cly_shape f, const float *bias, cly_conv_params p,
                     int64_t oh, int64_t ow, float *out);

/* Backward of ref_conv (local: of ref_local) by scattering each output's
 * gradient, ADDING to dx, dw and db (the caller zeroes or presets them):
 *   db[k] (local: db[k][oy][ox]) += dy[n][k][oy][ox]
 *   dw[..k][c][i][j] += dy * x[tap],  dx[tap] += dy * w[..k][c][i][j]
 * over every tap inside the input, in the order n, k, oy, ox, c, i, j. */
void ref_conv_bwd(const ref_geom *g, bool local, const float *x, const float *w, const float *dy, double *dx,
                  double *dw, double *db);

#endif
