/* Kernel arguments and launches for the host side of every kernel family
 * (src/kernels/): one argument builder (cly_args) and one launcher
 * (cly_launch and its 1-D, plane and work-group forms), plus the limits the
 * kernels' int parameters impose.
 *
 * Arguments are set in order. The first failure is kept (sticky) and the
 * launch reports it, naming the op and the argument index; later setters do
 * nothing, so a call site sets every argument and checks once:
 *
 *   cly_args a;
 *   cly_args_begin(ctx, &a, "eltwise", "", "relu");   (or cly_args_for(ctx, k, what))
 *   cly_arg_buf(&a, x);                                cl_mem + long element offset
 *   cly_arg_long(&a, count);
 *   return cly_launch_1d(ctx, &a, count);
 *
 * Work-group limits. Every launch that names a local size respects the
 * kernel's CL_KERNEL_WORK_GROUP_SIZE, the device's max work-group size and
 * its max work-item size per dimension. A requested local size beyond them
 * shrinks deterministically: first each dimension is clamped to the device's
 * item size of that dimension; then, while the product exceeds the group
 * limit, the highest-numbered dimension larger than 1 is lowered to the
 * largest size that fits with the others (at least 1): a 1-D size becomes
 * the limit, an 8 x 8 plane group under a limit of 32 becomes 8 x 4. A size
 * the limits allow is never changed. Kernels that need an exact
 * local size (reduction trees: cly_launch_groups) fail instead, with a
 * message giving the size and the limit. */
#ifndef CLY_LAUNCH_H
#define CLY_LAUNCH_H

#include "kernels/kernels.h"

/* An argument list under construction: `what` names the op in messages. */
typedef struct cly_args {
    cl_kernel kernel;
    const char *what;
    cl_uint next;      /* index of the next argument */
    cl_uint bad;       /* index of the first argument that failed */
    cl_int err;        /* its OpenCL error, CL_SUCCESS while none failed */
    cly_status status; /* failure before any argument (cly_args_begin) */
    bool fp64;         /* the context computes in double: cly_arg_real sets a cl_double */
} cly_args;

/* An empty list for a kernel of ctx already at hand. */
static inline cly_args cly_args_for(const cly_context *ctx, cl_kernel kernel, const char *what)
{
    return (cly_args){.kernel = kernel,
                      .what = what,
                      .err = CL_SUCCESS,
                      .status = CLY_SUCCESS,
                      .fp64 = ctx->precision == CLY_PRECISION_FLOAT64};
}

/* Get `kernel` of the embedded program `program` built with `options` and
 * start its list (what = the kernel's name). A failure is kept in a->status
 * and returned; the launch returns it too. */
cly_status cly_args_begin(cly_context *ctx, cly_args *a, const char *program, const char *options,
                          const char *kernel);

void cly_arg_raw(cly_args *a, size_t size, const void *value);
/* A buffer is two arguments: the cl_mem and its element offset as a long. */
void cly_arg_buf(cly_args *a, cly_buf b);
void cly_arg_int(cly_args *a, int64_t v);   /* cl_int */
void cly_arg_long(cly_args *a, int64_t v);  /* cl_long */
void cly_arg_ulong(cly_args *a, uint64_t v); /* cl_ulong */
/* A scalar hyper-parameter (epsilon, momentum, a learning rate, ...) as the
 * kernel's `real`: a cl_double on a FLOAT64 context, else v rounded to a
 * cl_float. */
void cly_arg_real(cly_args *a, double v);
/* cl_float in both precisions: only the 0/1 `beta` of the gradient stores
 * (exact either way; the kernels declare them float). */
void cly_arg_float(cly_args *a, double v);
void cly_arg_local(cly_args *a, size_t bytes); /* __local scratch of `bytes` */
/* Consecutive int or long arguments. */
void cly_arg_ints(cly_args *a, const int64_t *v, size_t count);
void cly_arg_longs(cly_args *a, const int64_t *v, size_t count);

/* Enqueue over `global` work-items per dimension (each rounded up to a
 * multiple of the local size there: kernels guard their own bounds) after
 * checking the arguments. `local` NULL lets the OpenCL runtime choose;
 * otherwise it is shrunk to the limits as described above. A zero extent
 * enqueues nothing. */
cly_status cly_launch(cly_context *ctx, const cly_args *a, cl_uint dims, const int64_t *global, const size_t *local);

/* A 1-D range of `count` work-items in groups of the tuning table's 1-D
 * size (tuning.h). */
cly_status cly_launch_1d(cly_context *ctx, const cly_args *a, int64_t count);

/* A width x height x planes grid for per-plane kernels, which read column,
 * row and plane from get_global_id(0, 1, 2) instead of dividing a 1-D id
 * (PLANE_ELEMENT in cl/common.cl). Groups are lx x ly x 1 with lx = 8, 4,
 * 2 or 1 (the largest <= width) and lx*ly the 1-D group size: narrow rows
 * give their share to more rows, so small maps (7 x 7) waste little. */
cly_status cly_launch_planes(cly_context *ctx, const cly_args *a, int64_t width, int64_t height, int64_t planes);

/* A 1 x rows x planes grid for kernels shaped for CPUs, whose work-items
 * each loop over a whole row (or plane): row and plane from
 * get_global_id(1, 2), rows rounded up to groups of the tuning row's
 * conv_group and guarded by the kernel, planes exact. */
cly_status cly_launch_rows(cly_context *ctx, const cly_args *a, int64_t rows, int64_t planes);

/* Work-group launches for deterministic reductions (batch norm's per-channel
 * sums): one group of exactly `local` work-items per reduced slice, combined
 * by a fixed tree in local memory, never by atomics, so results repeat bit
 * for bit. cly_reduce_local picks `local`: the largest power of two <= want
 * that the kernel and the device allow (a tree halves it each step);
 * cly_launch_groups fails when `local` exceeds a limit. */
cly_status cly_reduce_local(cly_context *ctx, cl_kernel kernel, size_t want, size_t *local, const char *what);
cly_status cly_launch_groups(cly_context *ctx, const cly_args *a, int64_t groups, size_t local);

/* Kernels take extents (H, W, C, window sizes) as int; element counts and
 * offsets as long. True when v fits an OpenCL int. */
static inline bool cly_fits_int(int64_t v)
{
    return v >= 0 && v <= INT32_MAX;
}

/* True when [a.offset, a.offset + na) and [b.offset, b.offset + nb) share
 * elements of one buffer. Values of a planned arena all live in one cl_mem,
 * so sharing the buffer alone says nothing. */
static inline bool cly_overlap(cly_buf a, int64_t na, cly_buf b, int64_t nb)
{
    return a.mem == b.mem && a.offset < b.offset + nb && b.offset < a.offset + na;
}

#endif
