/* Helpers private to the op files (pool.c, eltwise.c, lrn.c, ...): kernel
 * argument lists and the limits the kernels' int parameters impose. */
#ifndef CLY_OPS_UTIL_H
#define CLY_OPS_UTIL_H

#include "kernels/kernels.h"

/* One kernel argument: its size and a pointer to its value. */
typedef struct cly_karg {
    size_t size;
    const void *value;
} cly_karg;

/* CLY_ARG(lvalue): the argument is the lvalue's bytes (a cl_mem, cl_long,
 * cl_int, cl_float variable). */
#define CLY_ARG(v) ((cly_karg){sizeof(v), &(v)})

/* Set arguments 0 .. count-1 of `kernel`; `what` names the op in the
 * message of a failure, which also gives the argument index. */
cly_status cly_kernel_args(cly_context *ctx, cl_kernel kernel, const char *what, const cly_karg *args, size_t count);

/* Get `kernel` of the embedded program `program` (no build options), set
 * its arguments and enqueue it over `count` work-items (cly_enqueue_1d). */
cly_status cly_launch_1d(cly_context *ctx, const char *program, const char *kernel, const cly_karg *args, size_t nargs,
                         int64_t count);

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

/* Work-group launches for deterministic reductions (batch norm's per-channel
 * sums): one group of `local` work-items per reduced slice, combined by a
 * fixed tree in local memory, never by atomics, so results repeat bit for
 * bit. cly_reduce_local picks `local`: the largest power of two <= want
 * that the kernel and the device allow (a tree halves it each step). */
cly_status cly_reduce_local(cly_context *ctx, cl_kernel kernel, size_t want, size_t *local, const char *what);
cly_status cly_enqueue_groups(cly_context *ctx, cl_kernel kernel, int64_t groups, size_t local, const char *what);

#endif
