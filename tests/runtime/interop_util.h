/* OpenCL fixtures for the interop tests (test_interop.c, and the op-level
 * API's tests later): an application's own platform, context, queues and
 * buffers made with plain OpenCL calls, and the reference counts the
 * ownership checks compare. */
#ifndef CLY_INTEROP_UTIL_H
#define CLY_INTEROP_UTIL_H

#include "test_util.h"

#include "clayer_cl.h"

/* What an application would hold. */
typedef struct cly_test_cl {
    cl_platform_id platform;
    cl_device_id device;   /* the first device of the first platform that has one */
    cl_context context;    /* on `device` alone */
    cl_command_queue queue;
} cly_test_cl;

/* Open the first device with a queue of `props` (0: in order, no
 * profiling); fails the test on error. */
void cly_test_cl_open(cly_test_cl *cl, cl_command_queue_properties props);
/* Release what cly_test_cl_open made (NULL members are skipped). */
void cly_test_cl_close(cly_test_cl *cl);

/* The devices of cl->platform (at most `max`); their number. */
cl_uint cly_test_cl_devices(const cly_test_cl *cl, cl_device_id *devs, cl_uint max);
/* A context on `n` devices; a queue of `props` on one of its devices. */
cl_context cly_test_cl_context(cl_device_id *devs, cl_uint n);
cl_command_queue cly_test_cl_queue(cl_context context, cl_device_id device, cl_command_queue_properties props);
/* A buffer of `bytes` with `flags`, copied from `init` when not NULL (no
 * command on any queue); fails the test on error. */
cl_mem cly_test_cl_buffer(cl_context context, cl_mem_flags flags, size_t bytes, const void *init);

/* Current reference counts (CL_*_REFERENCE_COUNT). */
cl_uint cly_test_refs_context(cl_context context);
cl_uint cly_test_refs_queue(cl_command_queue queue);
cl_uint cly_test_refs_mem(cl_mem mem);
cl_uint cly_test_refs_device(cl_device_id device);

/* The count of `mem` once it equals `want`, or after 10 s (see
 * cly_test_refs_check). */
cl_uint cly_test_refs_mem_settled(cl_mem mem, cl_uint want);

/* A snapshot of the fixture's context and queue counts: take it before any
 * command has run on the queue, or after the counts have settled. */
typedef struct cly_test_refs {
    cl_uint context, queue;
} cly_test_refs;
cly_test_refs cly_test_refs_of(const cly_test_cl *cl);
/* Fails the test when the counts differ from `before` for 10 s (pocl
 * releases finished commands' references asynchronously); `when` names the
 * step. */
void cly_test_refs_check(const cly_test_cl *cl, cly_test_refs before, const char *when);

#endif
