/* CLBlast's own convolutions, the references of conv_bench: Convgemm (one
 * call, cross-correlation) and CLBlast im2col + SGEMM per sample and group.
 * Both take NCHW images, KCHW kernels (K x C/groups x FH x FW, clayer's
 * layout) and write NCHW outputs; neither adds a bias or applies ReLU. */
#ifndef CONV_CLBLAST_H
#define CONV_CLBLAST_H

#include "kernels/kernels.h"

/* Whether Convgemm can run g (no groups, symmetric padding); else why. */
bool clblast_convgemm_supports(const cly_conv_geom *g, char *why, size_t size);
cly_status clblast_convgemm(cly_context *ctx, const cly_conv_geom *g, cl_mem x, cl_mem w, cl_mem y);

/* Whether CLBlast's im2col can run g (symmetric padding); else why. */
bool clblast_im2col_supports(const cly_conv_geom *g, char *why, size_t size);
/* Floats of the column buffer clblast_im2col_sgemm needs. */
int64_t clblast_im2col_floats(const cly_conv_geom *g);
cly_status clblast_im2col_sgemm(cly_context *ctx, const cly_conv_geom *g, cl_mem x, cl_mem w, cl_mem y, cl_mem col);

#endif
