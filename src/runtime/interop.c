/* OpenCL interop (include/clayer_cl.h): contexts on an application's
 * context, device and queue, tensors on its buffers, and events to order
 * clayer's work against the application's. clayer retains what it keeps and
 * releases exactly that. */
#include "runtime/runtime.h"
#include "base/options.h"

#include "clayer_cl.h"

#include <limits.h>
#include <stdlib.h>

#define WHAT_CTX "cly_cl_context_create"
#define WHAT_WRAP "cly_cl_tensor_wrap"

/* The device a sub-device was partitioned from, through every level; the
 * device itself for a root device. */
static cl_device_id root_device(cl_device_id device)
{
    cl_device_id root = device;
    for (int depth = 0; depth < 16; depth++) { /* bounded, in case a driver reports a cycle */
        cl_device_id parent = NULL;
        if (clGetDeviceInfo(root, CL_DEVICE_PARENT_DEVICE, sizeof parent, &parent, NULL) != CL_SUCCESS || !parent)
            break;
        root = parent;
    }
    return root;
}

/* Is `device` one of `context`'s devices? A sub-device also counts when its
 * root device is listed: pocl 3.1 lists the root for a context made on a
 * sub-device. (The queue check that follows is the strict one.) */
static cly_status check_device_in_context(cl_context context, cl_device_id device)
{
    size_t size = 0;
    cl_int err = clGetContextInfo(context, CL_CONTEXT_DEVICES, 0, NULL, &size);
    if (err != CL_SUCCESS)
        return cly_fail_cl(NULL, err, WHAT_CTX ": clGetContextInfo(CL_CONTEXT_DEVICES)");
    size_t n = size / sizeof(cl_device_id);
    cl_device_id *devs = malloc(size ? size : 1);
    if (!devs)
        return cly_fail(NULL, CLY_ERROR_OUT_OF_HOST_MEMORY, WHAT_CTX ": %zu devices", n);
    err = clGetContextInfo(context, CL_CONTEXT_DEVICES, size, devs, NULL);
    cl_device_id root = root_device(device);
    bool found = false;
    for (size_t i = 0; err == CL_SUCCESS && i < n && !found; i++)
        found = devs[i] == device || devs[i] == root;
    free(devs);
    if (err != CL_SUCCESS)
        return cly_fail_cl(NULL, err, WHAT_CTX ": clGetContextInfo(CL_CONTEXT_DEVICES)");
    if (!found)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT,
                        WHAT_CTX ": the device is not one of the cl_context's %zu device(s)", n);
    return CLY_SUCCESS;
}

/* The queue must be an in-order queue of `context` on `device`; *profiling
 * says whether it time-stamps commands. */
static cly_status check_queue(cl_context context, cl_device_id device, cl_command_queue queue, bool *profiling)
{
    cl_context qctx = NULL;
    cl_int err = clGetCommandQueueInfo(queue, CL_QUEUE_CONTEXT, sizeof qctx, &qctx, NULL);
    if (err != CL_SUCCESS)
        return cly_fail_cl(NULL, err, WHAT_CTX ": clGetCommandQueueInfo(CL_QUEUE_CONTEXT)");
    if (qctx != context)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT,
                        WHAT_CTX ": the command queue belongs to another cl_context than the one given");
    cl_device_id qdev = NULL;
    err = clGetCommandQueueInfo(queue, CL_QUEUE_DEVICE, sizeof qdev, &qdev, NULL);
    if (err != CL_SUCCESS)
        return cly_fail_cl(NULL, err, WHAT_CTX ": clGetCommandQueueInfo(CL_QUEUE_DEVICE)");
    if (qdev != device)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT,
                        WHAT_CTX ": the command queue is on another device than the one given");
    cl_command_queue_properties props = 0;
    err = clGetCommandQueueInfo(queue, CL_QUEUE_PROPERTIES, sizeof props, &props, NULL);
    if (err != CL_SUCCESS)
        return cly_fail_cl(NULL, err, WHAT_CTX ": clGetCommandQueueInfo(CL_QUEUE_PROPERTIES)");
    /* Without events between them, clayer's dependent kernels would race. */
    if (props & CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE)
        return cly_fail(NULL, CLY_ERROR_UNSUPPORTED,
                        WHAT_CTX ": the command queue is out of order (CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE); "
                                 "clayer enqueues dependent kernels in order and needs an in-order queue");
    *profiling = (props & CL_QUEUE_PROFILING_ENABLE) != 0;
    return CLY_SUCCESS;
}

/* The listing's platform and device indices of `device`, or of its root
 * device for a sub-device; UINT_MAX when neither is listed. */
static void find_indices(cl_device_id device, cly_device_info *info)
{
    info->platform_index = info->device_index = UINT_MAX;
    cl_device_id root = root_device(device);
    cly_device_entry *entries;
    size_t count;
    if (cly_devices_enumerate(&entries, &count) != CLY_SUCCESS)
        return;
    for (size_t i = 0; i < count; i++)
        if (entries[i].device == device || (entries[i].device == root && info->platform_index == UINT_MAX)) {
            info->platform_index = entries[i].info.platform_index;
            info->device_index = entries[i].info.device_index;
            if (entries[i].device == device)
                break;
        }
    free(entries);
}

cly_status cly_cl_context_create(cl_context context, cl_device_id device, cl_command_queue queue,
                                 const cly_context_options *options, cly_context **out)
{
    if (!out)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, WHAT_CTX ": out must not be NULL");
    if (!context || !device || !queue)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, WHAT_CTX ": %s must not be NULL",
                        !context ? "the cl_context" : !device ? "the cl_device_id" : "the cl_command_queue");
    cly_context_options o = {0};
    if (options) {
        cly_status c = CLY_OPTIONS_COPY(NULL, &o, options, cly_context_options, no_tuning_file, WHAT_CTX);
        if (c != CLY_SUCCESS)
            return c;
    }
    if (o.selector)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT,
                        WHAT_CTX ": options.selector must be NULL (\"%s\" given): the device is the one passed",
                        o.selector);
    if (o.precision != CLY_PRECISION_FLOAT32 && o.precision != CLY_PRECISION_FLOAT64)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, WHAT_CTX ": precision %d is not a cly_precision",
                        (int)o.precision);
    cly_status s = check_device_in_context(context, device);
    bool profiling = false;
    if (s == CLY_SUCCESS)
        s = check_queue(context, device, queue, &profiling);
    if (s != CLY_SUCCESS)
        return s;
    cl_platform_id platform = NULL;
    cl_int err = clGetDeviceInfo(device, CL_DEVICE_PLATFORM, sizeof platform, &platform, NULL);
    if (err != CL_SUCCESS)
        return cly_fail_cl(NULL, err, WHAT_CTX ": clGetDeviceInfo(CL_DEVICE_PLATFORM)");

    cly_context *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return cly_fail(NULL, CLY_ERROR_OUT_OF_HOST_MEMORY, WHAT_CTX);
    s = cly_device_query(platform, device, &ctx->info);
    if (s != CLY_SUCCESS) {
        free(ctx);
        return s;
    }
    find_indices(device, &ctx->info);
    if (o.precision == CLY_PRECISION_FLOAT64 && !ctx->info.fp64) {
        s = cly_fail(NULL, CLY_ERROR_UNSUPPORTED,
                     WHAT_CTX ": device '%s' lacks cl_khr_fp64, which double precision needs", ctx->info.name);
        free(ctx);
        return s;
    }
    /* Retain last, after every check: a failure above holds nothing. */
    err = clRetainDevice(device);
    if (err != CL_SUCCESS) {
        free(ctx);
        return cly_fail_cl(NULL, err, WHAT_CTX ": clRetainDevice");
    }
    clRetainContext(context);
    clRetainCommandQueue(queue);
    ctx->platform = platform;
    ctx->device = device;
    ctx->device_retained = true;
    ctx->cl = context;
    ctx->queue = queue;
    ctx->precision = o.precision;
    ctx->profiling = profiling;
    s = cly_context_setup(ctx, &o);
    if (s != CLY_SUCCESS) {
        cly_context_destroy(ctx);
        return s;
    }
    *out = ctx;
    return CLY_SUCCESS;
}

cly_status cly_cl_context_get(const cly_context *ctx, cl_context *context, cl_device_id *device,
                              cl_command_queue *queue)
{
    if (!ctx)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "cly_cl_context_get: ctx must not be NULL");
    if (context)
        *context = ctx->cl;
    if (device)
        *device = ctx->device;
    if (queue)
        *queue = ctx->queue;
    return CLY_SUCCESS;
}

/* A read-write buffer of ctx's cl_context with room for `count` elements
 * from `offset`. */
static cly_status check_mem(cly_context *ctx, cl_mem mem, int64_t offset, cly_shape shape, int64_t count)
{
    cl_context mctx = NULL;
    cl_int err = clGetMemObjectInfo(mem, CL_MEM_CONTEXT, sizeof mctx, &mctx, NULL);
    if (err != CL_SUCCESS)
        return cly_fail_cl(ctx, err, WHAT_WRAP ": clGetMemObjectInfo(CL_MEM_CONTEXT)");
    if (mctx != ctx->cl)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT,
                        WHAT_WRAP ": the buffer belongs to another cl_context than the clayer context's");
    cl_mem_object_type type = 0;
    err = clGetMemObjectInfo(mem, CL_MEM_TYPE, sizeof type, &type, NULL);
    if (err != CL_SUCCESS)
        return cly_fail_cl(ctx, err, WHAT_WRAP ": clGetMemObjectInfo(CL_MEM_TYPE)");
    if (type != CL_MEM_OBJECT_BUFFER)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT,
                        WHAT_WRAP ": the memory object is not a buffer (CL_MEM_TYPE 0x%x)", (unsigned)type);
    cl_mem_flags flags = 0;
    err = clGetMemObjectInfo(mem, CL_MEM_FLAGS, sizeof flags, &flags, NULL);
    if (err != CL_SUCCESS)
        return cly_fail_cl(ctx, err, WHAT_WRAP ": clGetMemObjectInfo(CL_MEM_FLAGS)");
    /* Kernels both read and write a tensor's buffer (the output of one op is
     * the input of the next); a one-way buffer would fail obscurely later. */
    if (flags & (CL_MEM_READ_ONLY | CL_MEM_WRITE_ONLY))
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT,
                        WHAT_WRAP ": the buffer is %s; clayer's kernels read and write tensors: wrap a "
                                  "CL_MEM_READ_WRITE buffer",
                        flags & CL_MEM_READ_ONLY ? "CL_MEM_READ_ONLY" : "CL_MEM_WRITE_ONLY");
    size_t size = 0;
    err = clGetMemObjectInfo(mem, CL_MEM_SIZE, sizeof size, &size, NULL);
    if (err != CL_SUCCESS)
        return cly_fail_cl(ctx, err, WHAT_WRAP ": clGetMemObjectInfo(CL_MEM_SIZE)");
    int64_t esize = (int64_t)cly_real_size(ctx), bytes;
    if (offset > INT64_MAX - count || !cly_mul_i64(offset + count, esize, &bytes))
        return cly_fail(ctx, CLY_ERROR_SIZE_OVERFLOW,
                        WHAT_WRAP ": offset %lld + %lld elements x %lld bytes overflows 64 bits", (long long)offset,
                        (long long)count, (long long)esize);
    if ((uint64_t)bytes > size)
        return cly_fail(ctx, CLY_ERROR_SHAPE_MISMATCH,
                        WHAT_WRAP ": offset %lld + %lld elements (shape " CLY_SHAPE_FMT ") x %lld bytes = %lld bytes, "
                                  "more than the buffer's %zu bytes",
                        (long long)offset, (long long)count, CLY_SHAPE_ARGS(shape), (long long)esize,
                        (long long)bytes, size);
    return CLY_SUCCESS;
}

cly_status cly_cl_tensor_wrap(cly_context *ctx, cl_mem mem, int64_t offset, cly_shape shape, cly_tensor **out)
{
    if (!ctx || !mem || !out)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, WHAT_WRAP ": ctx, mem and out must not be NULL");
    if (offset < 0)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, WHAT_WRAP ": offset %lld must be >= 0", (long long)offset);
    int64_t count;
    cly_status s = cly_shape_check(ctx, WHAT_WRAP, shape, &count);
    if (s == CLY_SUCCESS)
        s = check_mem(ctx, mem, offset, shape, count);
    /* A sub-buffer: remember its parent and place, so that the overlap
     * checks see two sub-buffers of one buffer for what they are. */
    cl_mem root = mem, parent = NULL;
    size_t root_offset = 0;
    cl_int qerr;
    if (s == CLY_SUCCESS &&
        (qerr = clGetMemObjectInfo(mem, CL_MEM_ASSOCIATED_MEMOBJECT, sizeof parent, &parent, NULL)) != CL_SUCCESS)
        s = cly_fail_cl(ctx, qerr, WHAT_WRAP ": clGetMemObjectInfo(CL_MEM_ASSOCIATED_MEMOBJECT)");
    if (s == CLY_SUCCESS && parent &&
        (qerr = clGetMemObjectInfo(mem, CL_MEM_OFFSET, sizeof root_offset, &root_offset, NULL)) != CL_SUCCESS)
        s = cly_fail_cl(ctx, qerr, WHAT_WRAP ": clGetMemObjectInfo(CL_MEM_OFFSET)");
    if (s != CLY_SUCCESS)
        return s;
    if (parent)
        root = parent;
    cly_tensor *t = calloc(1, sizeof *t);
    if (!t)
        return cly_fail(ctx, CLY_ERROR_OUT_OF_HOST_MEMORY, WHAT_WRAP);
    cl_int err = clRetainMemObject(mem);
    if (err != CL_SUCCESS) {
        free(t);
        return cly_fail_cl(ctx, err, WHAT_WRAP ": clRetainMemObject");
    }
    /* cly_tensor_destroy releases `buffer` once: our reference, as for a
     * buffer clayer created. */
    t->ctx = ctx;
    t->shape = shape;
    t->count = count;
    t->buffer = mem;
    t->offset = offset;
    t->root = root;
    t->root_offset = root_offset;
    *out = t;
    return CLY_SUCCESS;
}

cly_status cly_cl_tensor_mem(const cly_tensor *t, cl_mem *mem, int64_t *offset)
{
    if (!t)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "cly_cl_tensor_mem: tensor must not be NULL");
    if (mem)
        *mem = t->buffer;
    if (offset)
        *offset = t->offset;
    return CLY_SUCCESS;
}

cly_status cly_cl_enqueue_marker(cly_context *ctx, cl_event *out)
{
    if (!ctx || !out)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "cly_cl_enqueue_marker: ctx and out must not be NULL");
    cl_event ev = NULL;
    /* In an in-order queue a marker without a wait list waits for every
     * command before it. */
    cl_int err = clEnqueueMarkerWithWaitList(ctx->queue, 0, NULL, &ev);
    if (err != CL_SUCCESS)
        return cly_fail_cl(ctx, err, "cly_cl_enqueue_marker: clEnqueueMarkerWithWaitList");
    *out = ev;
    return CLY_SUCCESS;
}

cly_status cly_cl_enqueue_wait(cly_context *ctx, cl_uint count, const cl_event *events)
{
    if (!ctx)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "cly_cl_enqueue_wait: ctx must not be NULL");
    if (count == 0)
        return CLY_SUCCESS;
    if (!events)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "cly_cl_enqueue_wait: events is NULL but count is %u",
                        (unsigned)count);
    /* Checked one by one so that the message names the event; the barrier
     * would only say CL_INVALID_CONTEXT or CL_INVALID_EVENT_WAIT_LIST. */
    for (cl_uint i = 0; i < count; i++) {
        if (!events[i])
            return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "cly_cl_enqueue_wait: events[%u] is NULL", (unsigned)i);
        cl_context ectx = NULL;
        cl_int err = clGetEventInfo(events[i], CL_EVENT_CONTEXT, sizeof ectx, &ectx, NULL);
        if (err != CL_SUCCESS)
            return cly_fail_cl(ctx, err, "cly_cl_enqueue_wait: clGetEventInfo(CL_EVENT_CONTEXT) of events[%u]",
                               (unsigned)i);
        if (ectx != ctx->cl)
            return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT,
                            "cly_cl_enqueue_wait: events[%u] belongs to another cl_context than the clayer context's",
                            (unsigned)i);
    }
    cl_int err = clEnqueueBarrierWithWaitList(ctx->queue, count, events, NULL);
    return err == CL_SUCCESS ? CLY_SUCCESS
                             : cly_fail_cl(ctx, err, "cly_cl_enqueue_wait: clEnqueueBarrierWithWaitList of %u event(s)",
                                           (unsigned)count);
}
