/* Shared by the convolution files (conv*.c): the per-algorithm entry points
 * behind cly_conv_forward, the workspace chunking rule, and small helpers to
 * set kernel arguments and enqueue. Not installed. */
#ifndef CLY_CONV_INTERNAL_H
#define CLY_CONV_INTERNAL_H

#include "kernels/kernels.h"

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

/* ---- kernel launch helpers (conv.c) */

/* Arguments are set in order; the first failure is kept in err. A buffer is
 * two arguments: the cl_mem and its element offset as a long. */
typedef struct cly_args {
    cl_kernel kernel;
    cl_uint next;
    cl_int err;
} cly_args;

static inline void cly_arg_raw(cly_args *a, size_t size, const void *value)
{
    cl_int e = clSetKernelArg(a->kernel, a->next++, size, value);
    if (a->err == CL_SUCCESS)
        a->err = e;
}
static inline void cly_arg_buf(cly_args *a, cly_buf b)
{
    cl_long off = b.offset;
    cly_arg_raw(a, sizeof(cl_mem), &b.mem);
    cly_arg_raw(a, sizeof off, &off);
}
static inline void cly_arg_int(cly_args *a, int64_t v)
{
    cl_int i = (cl_int)v;
    cly_arg_raw(a, sizeof i, &i);
}
static inline void cly_arg_long(cly_args *a, int64_t v)
{
    cl_long l = v;
    cly_arg_raw(a, sizeof l, &l);
}

/* Enqueue `kernel` over `global` (rounded up to a multiple of `local`
 * in every dimension: kernels guard their own bounds) after checking the
 * arguments; `what` names the launch in messages. local NULL lets the
 * runtime choose. */
cly_status cly_conv_launch(cly_context *ctx, const cly_args *args, cl_uint dims, const int64_t *global,
                           const size_t *local, const char *what);

/* The work-group size for 1-D-style kernels that loop inside each
 * work-item: fixed per device type so pocl compiles each kernel once. */
size_t cly_conv_group_size(const cly_context *ctx);

#endif
