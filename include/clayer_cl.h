/*
 * clayer_cl: running clayer on an application's own OpenCL objects.
 *
 * clayer.h stays free of OpenCL types; this header adds them for programs
 * that already hold a cl_context and queue and want clayer's layers on
 * their buffers without copies:
 *
 *     cly_context *ctx;
 *     cly_cl_context_create(app_context, app_device, app_queue, NULL, &ctx);
 *     cly_tensor *x, *y;
 *     cly_cl_tensor_wrap(ctx, app_input, 0, (cly_shape){1, 3, 32, 32}, &x);
 *     cly_cl_tensor_wrap(ctx, app_output, 256, (cly_shape){1, 16, 32, 32}, &y);
 *     cly_conv2d(ctx, x, w, NULL, params, y);     // enqueued on app_queue
 *     cl_event done;
 *     cly_cl_enqueue_marker(ctx, &done);          // or enqueue on app_queue: it is in order
 *     clWaitForEvents(1, &done);
 *     clReleaseEvent(done);
 *     cly_tensor_destroy(x);                      // the buffers stay the app's
 *     cly_tensor_destroy(y);
 *     cly_context_destroy(ctx);
 *
 * Ordering: every command clayer issues goes, in order, onto the context's
 * one command queue. Commands the application enqueued on that queue before
 * a clayer call are finished before clayer's start, and the application's
 * later commands on it see clayer's results. Host calls (cly_tensor_read,
 * cly_tensor_write, cly_net_set_input, ...) block; device operations
 * (cly_conv2d, cly_tensor_fill, cly_tensor_copy, net passes) only enqueue.
 * Work on other queues is ordered with cly_cl_enqueue_wait and
 * cly_cl_enqueue_marker.
 *
 * Ownership: clayer retains the OpenCL objects it keeps and releases exactly
 * those references when the clayer object is destroyed; it never frees
 * (or releases beyond its own reference) an application's cl_mem. Handles
 * returned by the accessors below are not retained for the caller.
 *
 * A context is not thread-safe (clayer.h); neither is it safe for another
 * thread to enqueue on the same cl_command_queue while a clayer call runs
 * unless the application orders the two itself.
 */
#ifndef CLAYER_CL_H
#define CLAYER_CL_H

#include "clayer.h"

/* The OpenCL version clayer is built against (src/runtime/runtime.h); an
 * application that targets another sets its own before including this. */
#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------- contexts */

/* Create a clayer context on the application's context, device and queue.
 * `options` may be NULL; its precision applies as in cly_context_create_ex
 * (FLOAT64 needs cl_khr_fp64: CLY_ERROR_UNSUPPORTED), and its selector must
 * be NULL (the device is given). cly_context_device reports the device as
 * cly_devices_list does (the listing's indices; of the root device for a
 * sub-device; UINT_MAX when the device is not listed at all).
 *
 * Retains `context`, `queue` and `device` (a no-op for a root device), so
 * the application may release its own references afterwards;
 * cly_context_destroy waits for the queue (clFinish) and releases exactly
 * those three references. (CLBlast, which some convolution and fully
 * connected paths call, keeps its compiled programs, and with them a
 * reference to `context`, in a process-wide cache until
 * CLBlastClearCache() or exit.)
 *
 * The queue must be in order: an out-of-order queue is refused with
 * CLY_ERROR_UNSUPPORTED, since clayer relies on its commands running in the
 * order they were enqueued. A queue without CL_QUEUE_PROFILING_ENABLE is
 * accepted; cly_net_set_profiling then fails with CLY_ERROR_UNSUPPORTED.
 * Errors: CLY_ERROR_INVALID_ARGUMENT (a NULL argument, a selector, a device
 * not in `context`, a queue of another context or device),
 * CLY_ERROR_UNSUPPORTED, CLY_ERROR_OPENCL (a query failed: e.g. an invalid
 * handle). On failure nothing is retained and *out is untouched. */
CLY_API cly_status cly_cl_context_create(cl_context context, cl_device_id device, cl_command_queue queue,
                                         const cly_context_options *options, cly_context **out);

/* The OpenCL objects a clayer context runs on (created by clayer or given to
 * cly_cl_context_create). Any out may be NULL. The handles are not retained
 * for the caller: they are valid while `ctx` lives, or retain them.
 * Errors: CLY_ERROR_INVALID_ARGUMENT (ctx NULL). */
CLY_API cly_status cly_cl_context_get(const cly_context *ctx, cl_context *context, cl_device_id *device,
                                      cl_command_queue *queue);

/* -------------------------------------------------------------- tensors */

/* A tensor on elements [offset, offset + count) of the application's
 * buffer `mem`, without a copy; elements are the context's precision (4 or 8
 * bytes). The buffer must belong to ctx's cl_context, be a buffer object
 * (a sub-buffer is fine; no alignment is needed since kernels take element
 * offsets) and allow device reads and writes (not CL_MEM_READ_ONLY or
 * CL_MEM_WRITE_ONLY). A buffer with restricted host access
 * (CL_MEM_HOST_NO_ACCESS, ...) wraps, but the refused host calls fail with
 * CLY_ERROR_OPENCL.
 *
 * Retains `mem`; cly_tensor_destroy releases that one reference and never
 * frees the buffer. The tensor must not outlive `ctx`. Tensors may overlap
 * (ranges of one buffer, sub-buffers of one buffer: `mem` may be a
 * sub-buffer); the op calls (cly_conv2d, cly_plan_*, cly_op_*) refuse an
 * output that shares memory with an input, except where their documentation
 * allows in place.
 * Errors: CLY_ERROR_INVALID_ARGUMENT (NULL, a buffer of another cl_context,
 * not a buffer, read- or write-only, offset < 0, a bad shape),
 * CLY_ERROR_SIZE_OVERFLOW, CLY_ERROR_TOO_LARGE, CLY_ERROR_SHAPE_MISMATCH
 * ((offset + count) x element size past CL_MEM_SIZE; the message has the
 * numbers), CLY_ERROR_OPENCL (a query failed). */
CLY_API cly_status cly_cl_tensor_wrap(cly_context *ctx, cl_mem mem, int64_t offset, cly_shape shape,
                                      cly_tensor **out);

/* The buffer and element offset of any tensor (created or wrapped). Either
 * out may be NULL; the buffer is not retained for the caller. Errors:
 * CLY_ERROR_INVALID_ARGUMENT (t NULL). */
CLY_API cly_status cly_cl_tensor_mem(const cly_tensor *t, cl_mem *mem, int64_t *offset);

/* --------------------------------------------------------------- events */

/* *out: an event that completes when everything clayer (and anyone else)
 * enqueued on the context's queue so far has finished
 * (clEnqueueMarkerWithWaitList). The caller releases it (clReleaseEvent).
 * Errors: CLY_ERROR_INVALID_ARGUMENT (NULL), CLY_ERROR_OPENCL. */
CLY_API cly_status cly_cl_enqueue_marker(cly_context *ctx, cl_event *out);

/* Make every command enqueued on the context's queue after this call wait
 * for `events` (e.g. from another queue of the same cl_context), through a
 * barrier (clEnqueueBarrierWithWaitList). The events must belong to ctx's
 * cl_context; they are not retained past the call. count 0 is a no-op.
 * Errors: CLY_ERROR_INVALID_ARGUMENT (ctx NULL, events NULL with count > 0,
 * a NULL event, an event of another cl_context), CLY_ERROR_OPENCL. */
CLY_API cly_status cly_cl_enqueue_wait(cly_context *ctx, cl_uint count, const cl_event *events);

#ifdef __cplusplus
}
#endif

#endif
