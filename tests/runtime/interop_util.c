/* OpenCL fixtures for the interop tests (interop_util.h). Plain OpenCL
 * only: these stand in for an application that knows nothing of clayer. */
#include "interop_util.h"

#include <time.h>

void cly_test_cl_open(cly_test_cl *cl, cl_command_queue_properties props)
{
    *cl = (cly_test_cl){0};
    cl_uint nplat = 0;
    ck_assert_int_eq(clGetPlatformIDs(0, NULL, &nplat), CL_SUCCESS);
    cl_platform_id plats[16];
    if (nplat > 16)
        nplat = 16;
    ck_assert_int_eq(clGetPlatformIDs(nplat, plats, NULL), CL_SUCCESS);
    for (cl_uint p = 0; p < nplat && !cl->device; p++) {
        cl_uint ndev = 0;
        if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 1, &cl->device, &ndev) != CL_SUCCESS || ndev == 0)
            cl->device = NULL;
        else
            cl->platform = plats[p];
    }
    ck_assert_msg(cl->device != NULL, "no OpenCL device");
    cl->context = cly_test_cl_context(&cl->device, 1);
    cl->queue = cly_test_cl_queue(cl->context, cl->device, props);
}

void cly_test_cl_close(cly_test_cl *cl)
{
    if (cl->queue)
        clReleaseCommandQueue(cl->queue);
    if (cl->context)
        clReleaseContext(cl->context);
    *cl = (cly_test_cl){0};
}

cl_uint cly_test_cl_devices(const cly_test_cl *cl, cl_device_id *devs, cl_uint max)
{
    cl_uint n = 0;
    ck_assert_int_eq(clGetDeviceIDs(cl->platform, CL_DEVICE_TYPE_ALL, max, devs, &n), CL_SUCCESS);
    return n < max ? n : max;
}

cl_context cly_test_cl_context(cl_device_id *devs, cl_uint n)
{
    cl_int err;
    cl_context c = clCreateContext(NULL, n, devs, NULL, NULL, &err);
    ck_assert_msg(err == CL_SUCCESS, "clCreateContext: %d", (int)err);
    return c;
}

cl_command_queue cly_test_cl_queue(cl_context context, cl_device_id device, cl_command_queue_properties props)
{
    cl_int err;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    cl_command_queue q = clCreateCommandQueue(context, device, props, &err);
#pragma GCC diagnostic pop
    ck_assert_msg(err == CL_SUCCESS, "clCreateCommandQueue (properties 0x%llx): %d", (unsigned long long)props,
                  (int)err);
    return q;
}

cl_mem cly_test_cl_buffer(cl_context context, cl_mem_flags flags, size_t bytes, const void *init)
{
    cl_int err;
    cl_mem m = clCreateBuffer(context, flags | (init ? CL_MEM_COPY_HOST_PTR : 0), bytes, (void *)init, &err);
    ck_assert_msg(err == CL_SUCCESS, "clCreateBuffer of %zu bytes: %d", bytes, (int)err);
    return m;
}

cl_uint cly_test_refs_context(cl_context context)
{
    cl_uint n = 0;
    ck_assert_int_eq(clGetContextInfo(context, CL_CONTEXT_REFERENCE_COUNT, sizeof n, &n, NULL), CL_SUCCESS);
    return n;
}

cl_uint cly_test_refs_queue(cl_command_queue queue)
{
    cl_uint n = 0;
    ck_assert_int_eq(clGetCommandQueueInfo(queue, CL_QUEUE_REFERENCE_COUNT, sizeof n, &n, NULL), CL_SUCCESS);
    return n;
}

cl_uint cly_test_refs_mem(cl_mem mem)
{
    cl_uint n = 0;
    ck_assert_int_eq(clGetMemObjectInfo(mem, CL_MEM_REFERENCE_COUNT, sizeof n, &n, NULL), CL_SUCCESS);
    return n;
}

cl_uint cly_test_refs_device(cl_device_id device)
{
    cl_uint n = 0;
    ck_assert_int_eq(clGetDeviceInfo(device, CL_DEVICE_REFERENCE_COUNT, sizeof n, &n, NULL), CL_SUCCESS);
    return n;
}

cly_test_refs cly_test_refs_of(const cly_test_cl *cl)
{
    return (cly_test_refs){cly_test_refs_context(cl->context), cly_test_refs_queue(cl->queue)};
}

void cly_test_refs_check(const cly_test_cl *cl, cly_test_refs before, const char *when)
{
    /* pocl drops the references its finished commands held from its worker
     * threads, a moment after the host sees them complete: give it time. */
    cly_test_refs now = cly_test_refs_of(cl);
    for (int i = 0; i < 1000 && (now.context != before.context || now.queue != before.queue); i++) {
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
        now = cly_test_refs_of(cl);
    }
    ck_assert_msg(now.context == before.context && now.queue == before.queue,
                  "%s: context references %u (were %u), queue references %u (were %u)", when, now.context,
                  before.context, now.queue, before.queue);
}

cl_uint cly_test_refs_mem_settled(cl_mem mem, cl_uint want)
{
    cl_uint now = cly_test_refs_mem(mem);
    for (int i = 0; i < 1000 && now != want; i++) {
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
        now = cly_test_refs_mem(mem);
    }
    return now;
}
