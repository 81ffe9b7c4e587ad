/* Device operations: one function family per layer kind, on buffers (cl_mem +
 * element offset) so that a memory planner can place values in one arena.
 * Each op validates nothing the graph already checked (shapes are trusted),
 * but returns a status for every OpenCL or build failure. Everything
 * enqueues on ctx->queue and returns without waiting. */
#ifndef CLY_OPS_H
#define CLY_OPS_H

#include "blas.h"

/* ---- convolution (conv_*.c) */

/* Fully resolved convolution geometry: defaults applied, output computed. */
typedef struct cly_conv_geom {
    int64_t n, c, h, w;          /* input */
    int64_t k, fh, fw;           /* filters: weights are k x (c/groups) x fh x fw */
    int64_t sh, sw;              /* stride */
    int64_t pt, pb, pl, pr;      /* padding top, bottom, left, right */
    int64_t dh, dw;              /* dilation */
    int64_t groups;
    int64_t oh, ow;              /* output */
    bool bias;
    bool relu;
} cly_conv_geom;

/* Geometry from params and an input shape; false (message in msg) when the
 * combination is invalid. Shared by cly_conv2d and the graph. */
bool cly_conv_geom_make(const cly_conv_params *p, cly_shape in, cly_conv_geom *g, bool *rounded, char *msg,
                        size_t size);
bool cly_conv_supports(const cly_context *ctx, cly_conv_algo algo, const cly_conv_geom *g);
/* The algorithm AUTO resolves to (after $CLAYER_CONV_ALGO). */
cly_conv_algo cly_conv_choose(const cly_context *ctx, const cly_conv_geom *g, cly_conv_algo requested);
/* Scratch floats the algorithm needs (im2col columns), 0 if none. */
int64_t cly_conv_workspace(const cly_context *ctx, cly_conv_algo algo, const cly_conv_geom *g);
cly_status cly_conv_forward(cly_context *ctx, cly_conv_algo algo, const cly_conv_geom *g, cly_buf x, cly_buf w,
                            cly_buf bias, cly_buf y, cly_buf workspace);

/* Locally connected: weights oh x ow x k x c x fh x fw, bias k x oh x ow
 * (groups must be 1). */
cly_status cly_local_forward(cly_context *ctx, const cly_conv_geom *g, cly_buf x, cly_buf w, cly_buf bias,
                             cly_buf y);

/* ---- pooling (pool.c) */

typedef struct cly_pool_geom {
    int64_t n, c, h, w;
    int64_t fh, fw, sh, sw, pt, pb, pl, pr;
    int64_t oh, ow;
    cly_pool_kind kind;
    bool exclude_pad;
} cly_pool_geom;

bool cly_pool_geom_make(const cly_pool_params *p, cly_shape in, cly_pool_geom *g, bool *rounded, char *msg,
                        size_t size);
/* `argmax` (int32 per output, index within the input plane) is written when
 * its mem is not NULL: the switches for the backward pass of max pooling. */
cly_status cly_pool_forward(cly_context *ctx, const cly_pool_geom *g, cly_buf x, cly_buf y, cly_buf argmax);
/* Global average pooling: N x C x H x W -> N x C x 1 x 1. */
cly_status cly_gap_forward(cly_context *ctx, cly_shape in, cly_buf x, cly_buf y);

/* ---- element-wise and normalisation (eltwise.c, lrn.c, batchnorm.c, softmax.c) */

/* y = max(x, 0) over count elements; y may equal x (in place). */
cly_status cly_relu_forward(cly_context *ctx, int64_t count, cly_buf x, cly_buf y);
/* y = a + b (element-wise, count elements); y may equal a or b. */
cly_status cly_add_forward(cly_context *ctx, int64_t count, cly_buf a, cly_buf b, cly_buf y);
/* Copy x (n x c x hw) into channels [c_offset, c_offset + c) of y (n x c_total x hw). */
cly_status cly_concat_forward(cly_context *ctx, int64_t n, int64_t c, int64_t hw, int64_t c_total, int64_t c_offset,
                              cly_buf x, cly_buf y);
cly_status cly_lrn_forward(cly_context *ctx, cly_shape in, const cly_lrn_params *p, cly_buf x, cly_buf y);
/* Inference form: per channel scale, shift, mean, var (each c floats). */
cly_status cly_batchnorm_forward(cly_context *ctx, cly_shape in, double epsilon, cly_buf x, cly_buf scale,
                                 cly_buf shift, cly_buf mean, cly_buf var, cly_buf y);
/* Softmax over C for every (n, y, x). */
cly_status cly_softmax_forward(cly_context *ctx, cly_shape in, cly_buf x, cly_buf y);

/* ---- fully connected (fc.c): y[n x outputs] = x[n x inputs] * w[outputs x inputs]^T + b */
cly_status cly_fc_forward(cly_context *ctx, int64_t n, int64_t inputs, int64_t outputs, bool relu, cly_buf x,
                          cly_buf w, cly_buf bias, cly_buf y);

/* ---- shared by op files (ops_util.c) */

/* Enqueue `kernel` over a 1-D range of `count` work-items (rounded up to the
 * work-group size; kernels guard their own bounds). */
cly_status cly_enqueue_1d(cly_context *ctx, cl_kernel kernel, int64_t count, const char *what);

#endif
