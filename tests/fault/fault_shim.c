/* An LD_PRELOAD library that makes the k-th OpenCL call fail: it wraps the
 * entry points that allocate, build, enqueue or wait (the ones a real
 * driver can fail on under memory pressure), counts every call to them and
 * forwards each to the real one (dlsym(RTLD_NEXT)) except call number
 * CLY_FAULT_AT, which returns the error a driver would give there without
 * doing anything. Queries (clGet*Info) and retain/release are not wrapped:
 * they do not fail for want of resources.
 *
 *   CLY_FAULT_AT=k     fail the k-th call (1-based) once; unset or 0: none
 *   CLY_FAULT_COUNT=1  print "cly_fault: calls N" to stderr at exit (N > 0)
 *
 * The failing call is reported on stderr ("cly_fault: call k clFoo fails
 * with CODE"). A program run under the shim may ask it, through
 * dlsym(RTLD_DEFAULT, ...), how many calls it has seen (cly_fault_calls)
 * and whether the fault has fired (cly_fault_fired). */
#define _GNU_SOURCE
#define CL_TARGET_OPENCL_VERSION 300
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <CL/cl.h>

#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#define SHIM_API __attribute__((visibility("default")))

static atomic_long calls;
static atomic_int fired;
static long fault_at = -1; /* read once, before the first call */

__attribute__((constructor)) static void shim_init(void)
{
    const char *at = getenv("CLY_FAULT_AT");
    fault_at = at && *at ? strtol(at, NULL, 10) : 0;
}

__attribute__((destructor)) static void shim_fini(void)
{
    const char *count = getenv("CLY_FAULT_COUNT");
    /* Not in the processes a driver starts (a compiler) that make none. */
    if (count && *count && *count != '0' && atomic_load(&calls) > 0)
        fprintf(stderr, "cly_fault: calls %ld\n", atomic_load(&calls));
}

SHIM_API long cly_fault_calls(void)
{
    return atomic_load(&calls);
}

SHIM_API int cly_fault_fired(void)
{
    return atomic_load(&fired);
}

/* Count this call; true when it is the one to fail (then reported). */
static int should_fail(const char *name, const char *code)
{
    long k = atomic_fetch_add(&calls, 1) + 1;
    if (fault_at <= 0 || k != fault_at)
        return 0;
    atomic_store(&fired, 1);
    fprintf(stderr, "cly_fault: call %ld %s fails with %s\n", k, name, code);
    return 1;
}

static void *real(const char *name)
{
    void *fn = dlsym(RTLD_NEXT, name);
    if (!fn) {
        fprintf(stderr, "cly_fault: no real %s to forward to\n", name);
        abort(); /* a broken test setup, not a result */
    }
    return fn;
}

/* A call returning cl_int: fail with `code`, else forward `args`. */
#define WRAP_INT(name, code, params, args)                                                                            \
    SHIM_API cl_int name params                                                                                      \
    {                                                                                                                \
        static cl_int(*fn) params;                                                                                   \
        if (!fn)                                                                                                     \
            *(void **)&fn = real(#name);                                                                             \
        if (should_fail(#name, #code))                                                                               \
            return code;                                                                                             \
        return fn args;                                                                                              \
    }

/* A call returning an object and its status through `err`: fail with
 * NULL and `code`, else forward. */
#define WRAP_OBJ(type, name, code, params, args)                                                                      \
    SHIM_API type name params                                                                                        \
    {                                                                                                                \
        static type(*fn) params;                                                                                     \
        if (!fn)                                                                                                     \
            *(void **)&fn = real(#name);                                                                             \
        if (should_fail(#name, #code)) {                                                                             \
            if (err)                                                                                                 \
                *err = code;                                                                                         \
            return NULL;                                                                                             \
        }                                                                                                            \
        return fn args;                                                                                              \
    }

/* ---- platforms, contexts, queues */

WRAP_INT(clGetPlatformIDs, CL_OUT_OF_HOST_MEMORY, (cl_uint n, cl_platform_id *p, cl_uint *np), (n, p, np))
WRAP_INT(clGetDeviceIDs, CL_OUT_OF_RESOURCES,
         (cl_platform_id p, cl_device_type t, cl_uint n, cl_device_id *d, cl_uint *nd), (p, t, n, d, nd))
WRAP_OBJ(cl_context, clCreateContext, CL_OUT_OF_HOST_MEMORY,
         (const cl_context_properties *props, cl_uint n, const cl_device_id *devs,
          void(CL_CALLBACK *notify)(const char *, const void *, size_t, void *), void *user, cl_int *err),
         (props, n, devs, notify, user, err))
WRAP_OBJ(cl_command_queue, clCreateCommandQueue, CL_OUT_OF_RESOURCES,
         (cl_context c, cl_device_id d, cl_command_queue_properties props, cl_int *err), (c, d, props, err))
WRAP_OBJ(cl_command_queue, clCreateCommandQueueWithProperties, CL_OUT_OF_RESOURCES,
         (cl_context c, cl_device_id d, const cl_queue_properties *props, cl_int *err), (c, d, props, err))

/* ---- memory */

WRAP_OBJ(cl_mem, clCreateBuffer, CL_MEM_OBJECT_ALLOCATION_FAILURE,
         (cl_context c, cl_mem_flags flags, size_t size, void *host, cl_int *err), (c, flags, size, host, err))
WRAP_OBJ(cl_mem, clCreateSubBuffer, CL_OUT_OF_RESOURCES,
         (cl_mem m, cl_mem_flags flags, cl_buffer_create_type t, const void *info, cl_int *err),
         (m, flags, t, info, err))

/* ---- programs and kernels */

WRAP_OBJ(cl_program, clCreateProgramWithSource, CL_OUT_OF_HOST_MEMORY,
         (cl_context c, cl_uint n, const char **src, const size_t *len, cl_int *err), (c, n, src, len, err))
/* A binary the driver no longer accepts (after a driver update): the
 * program cache must fall back to a source build. */
SHIM_API cl_program clCreateProgramWithBinary(cl_context c, cl_uint n, const cl_device_id *devs, const size_t *len,
                                              const unsigned char **bins, cl_int *status, cl_int *err)
{
    static cl_program (*fn)(cl_context, cl_uint, const cl_device_id *, const size_t *, const unsigned char **,
                            cl_int *, cl_int *);
    if (!fn)
        *(void **)&fn = real("clCreateProgramWithBinary");
    if (should_fail("clCreateProgramWithBinary", "CL_INVALID_BINARY")) {
        for (cl_uint i = 0; status && i < n; i++)
            status[i] = CL_INVALID_BINARY;
        if (err)
            *err = CL_INVALID_BINARY;
        return NULL;
    }
    return fn(c, n, devs, len, bins, status, err);
}
WRAP_INT(clBuildProgram, CL_BUILD_PROGRAM_FAILURE,
         (cl_program p, cl_uint n, const cl_device_id *devs, const char *opts,
          void(CL_CALLBACK *notify)(cl_program, void *), void *user),
         (p, n, devs, opts, notify, user))
WRAP_INT(clCompileProgram, CL_COMPILE_PROGRAM_FAILURE,
         (cl_program p, cl_uint n, const cl_device_id *devs, const char *opts, cl_uint nh, const cl_program *hs,
          const char **names, void(CL_CALLBACK *notify)(cl_program, void *), void *user),
         (p, n, devs, opts, nh, hs, names, notify, user))
WRAP_OBJ(cl_program, clLinkProgram, CL_LINK_PROGRAM_FAILURE,
         (cl_context c, cl_uint n, const cl_device_id *devs, const char *opts, cl_uint np, const cl_program *ps,
          void(CL_CALLBACK *notify)(cl_program, void *), void *user, cl_int *err),
         (c, n, devs, opts, np, ps, notify, user, err))
/* Reading back a built binary for the disk cache. */
WRAP_INT(clGetProgramInfo, CL_OUT_OF_HOST_MEMORY,
         (cl_program p, cl_program_info what, size_t size, void *value, size_t *size_ret),
         (p, what, size, value, size_ret))
WRAP_OBJ(cl_kernel, clCreateKernel, CL_OUT_OF_HOST_MEMORY, (cl_program p, const char *name, cl_int *err),
         (p, name, err))

/* ---- commands */

WRAP_INT(clEnqueueNDRangeKernel, CL_OUT_OF_RESOURCES,
         (cl_command_queue q, cl_kernel k, cl_uint dim, const size_t *off, const size_t *gws, const size_t *lws,
          cl_uint nw, const cl_event *wait, cl_event *ev),
         (q, k, dim, off, gws, lws, nw, wait, ev))
WRAP_INT(clEnqueueReadBuffer, CL_OUT_OF_RESOURCES,
         (cl_command_queue q, cl_mem m, cl_bool block, size_t off, size_t size, void *ptr, cl_uint nw,
          const cl_event *wait, cl_event *ev),
         (q, m, block, off, size, ptr, nw, wait, ev))
WRAP_INT(clEnqueueWriteBuffer, CL_OUT_OF_RESOURCES,
         (cl_command_queue q, cl_mem m, cl_bool block, size_t off, size_t size, const void *ptr, cl_uint nw,
          const cl_event *wait, cl_event *ev),
         (q, m, block, off, size, ptr, nw, wait, ev))
WRAP_INT(clEnqueueFillBuffer, CL_OUT_OF_RESOURCES,
         (cl_command_queue q, cl_mem m, const void *pattern, size_t psize, size_t off, size_t size, cl_uint nw,
          const cl_event *wait, cl_event *ev),
         (q, m, pattern, psize, off, size, nw, wait, ev))
WRAP_INT(clEnqueueCopyBuffer, CL_OUT_OF_RESOURCES,
         (cl_command_queue q, cl_mem src, cl_mem dst, size_t so, size_t doff, size_t size, cl_uint nw,
          const cl_event *wait, cl_event *ev),
         (q, src, dst, so, doff, size, nw, wait, ev))
WRAP_INT(clEnqueueMarkerWithWaitList, CL_OUT_OF_RESOURCES,
         (cl_command_queue q, cl_uint nw, const cl_event *wait, cl_event *ev), (q, nw, wait, ev))
WRAP_INT(clEnqueueBarrierWithWaitList, CL_OUT_OF_RESOURCES,
         (cl_command_queue q, cl_uint nw, const cl_event *wait, cl_event *ev), (q, nw, wait, ev))
WRAP_INT(clFinish, CL_OUT_OF_RESOURCES, (cl_command_queue q), (q))
WRAP_INT(clWaitForEvents, CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST, (cl_uint n, const cl_event *evs), (n, evs))
