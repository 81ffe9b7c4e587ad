/* Naive references for convolution and the locally connected layer: plain
 * loops over the formula of the notes, accumulating in double, written
 * without any of the library's code. */
#ifndef CONV_REF_H
#define CONV_REF_H

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

/* The locally connected layer: the same sum with weights w[oy][ox][k][c][i][j]
 * (OH x OW x K x C/G x FH x FW) and bias[k][oy][ox]. */
void ref_local(const ref_geom *g, const float *x, const float *w, const float *bias, double *out, double *mag);

/* Deterministic fills: integers in [-range, range], or reals in [-1, 1]. */
void fill_int(float *a, size_t n, int range, uint64_t *seed);
void fill_real(float *a, size_t n, uint64_t *seed);

#endif
