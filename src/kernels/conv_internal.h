/* Shared by the convolution files (conv*.c): the per-algorithm entry points
 * behind cly_conv_forward and the workspace chunking rule. Not installed. */
#ifndef CLY_CONV_INTERNAL_H
#define CLY_CONV_INTERNAL_H

#include "runtime/launch.h"
#include "runtime/tuning.h"

/* ---- conv_geom.c */

/* cly_conv_supports with the reason: true when `algo` can run `g`; otherwise
 * false with a sentence in msg saying why (for CLY_ERROR_UNSUPPORTED). */
bool cly_conv_check_support(const cly_context *ctx, cly_conv_algo algo, const cly_conv_geom *g, char *msg,
                            size_t size);

/* Samples per pass when one sample needs `per_sample` workspace floats: as
 * many of the n as fit a fixed budget (64 MiB, less if the device's largest
 * allocation is smaller), at least 1. Forward and workspace both use it, so
 * they agree on the size. */
int64_t cly_conv_chunk(const cly_context *ctx, int64_t per_sample, int64_t n);

/* ---- conv_direct.c: tiled direct kernel on a zero-padded, stride-phase
 * split copy of the input */
int64_t cly_conv_direct_sample_floats(const cly_context *ctx, const cly_conv_geom *g);
cly_status cly_conv_direct_forward(cly_context *ctx, const cly_conv_geom *g, cly_buf x, cly_buf w, cly_buf bias,
                                   cly_buf y, cly_buf ws);

/* ---- conv_gemm.c: im2col + SGEMM, and 1x1 as a plain SGEMM */
int64_t cly_conv_im2col_sample_floats(const cly_conv_geom *g);
cly_status cly_conv_im2col_forward(cly_context *ctx, const cly_conv_geom *g, cly_buf x, cly_buf w, cly_buf bias,
                                   cly_buf y, cly_buf ws);
cly_status cly_conv_gemm1x1_forward(cly_context *ctx, const cly_conv_geom *g, cly_buf x, cly_buf w, cly_buf bias,
                                    cly_buf y);

#endif
