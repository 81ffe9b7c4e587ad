/* The argument builder and the launchers of launch.h. */
#include "runtime/launch.h"
#include "runtime/tuning.h"

cly_status cly_args_begin(cly_context *ctx, cly_args *a, const char *program, const char *options,
                          const char *kernel)
{
    *a = cly_args_for(ctx, NULL, kernel);
    a->status = cly_kernel_get(ctx, program, options, kernel, &a->kernel);
    return a->status;
}

void cly_arg_raw(cly_args *a, size_t size, const void *value)
{
    if (a->status != CLY_SUCCESS || a->err != CL_SUCCESS)
        return;
    cl_int e = clSetKernelArg(a->kernel, a->next, size, value);
    if (e != CL_SUCCESS) {
        a->err = e;
        a->bad = a->next;
    }
    a->next++;
}

void cly_arg_buf(cly_args *a, cly_buf b)
{
    cly_arg_raw(a, sizeof(cl_mem), &b.mem);
    cly_arg_long(a, b.offset);
}

void cly_arg_int(cly_args *a, int64_t v)
{
    cl_int i = (cl_int)v;
    cly_arg_raw(a, sizeof i, &i);
}

void cly_arg_long(cly_args *a, int64_t v)
{
    cl_long l = v;
    cly_arg_raw(a, sizeof l, &l);
}

void cly_arg_ulong(cly_args *a, uint64_t v)
{
    cl_ulong u = v;
    cly_arg_raw(a, sizeof u, &u);
}

void cly_arg_real(cly_args *a, double v)
{
    if (a->fp64) {
        cl_double d = v;
        cly_arg_raw(a, sizeof d, &d);
    } else {
        cly_arg_float(a, v);
    }
}

void cly_arg_float(cly_args *a, double v)
{
    cl_float f = (cl_float)v;
    cly_arg_raw(a, sizeof f, &f);
}

void cly_arg_local(cly_args *a, size_t bytes)
{
    cly_arg_raw(a, bytes, NULL);
}

void cly_arg_ints(cly_args *a, const int64_t *v, size_t count)
{
    for (size_t i = 0; i < count; i++)
        cly_arg_int(a, v[i]);
}

void cly_arg_longs(cly_args *a, const int64_t *v, size_t count)
{
    for (size_t i = 0; i < count; i++)
        cly_arg_long(a, v[i]);
}

/* The sticky failure of an argument list, reported once. */
static cly_status args_status(cly_context *ctx, const cly_args *a)
{
    if (a->status != CLY_SUCCESS)
        return a->status;
    if (a->err != CL_SUCCESS)
        return cly_fail_cl(ctx, a->err, "%s: clSetKernelArg(%u)", a->what, (unsigned)a->bad);
    return CLY_SUCCESS;
}

/* The largest group `kernel` may take on this device: the smaller of the
 * kernel's CL_KERNEL_WORK_GROUP_SIZE (register pressure on GPUs, a small
 * device such as an FPGA) and the device's max work-group size; 0: none
 * known. */
static cly_status group_limit(cly_context *ctx, cl_kernel kernel, const char *what, size_t *limit)
{
    size_t kernel_max = 0;
    cl_int err = clGetKernelWorkGroupInfo(kernel, ctx->device, CL_KERNEL_WORK_GROUP_SIZE, sizeof kernel_max,
                                          &kernel_max, NULL);
    if (err != CL_SUCCESS)
        return cly_fail_cl(ctx, err, "%s: clGetKernelWorkGroupInfo", what);
    *limit = kernel_max;
    if (ctx->info.max_work_group_size > 0 && (*limit == 0 || *limit > ctx->info.max_work_group_size))
        *limit = (size_t)ctx->info.max_work_group_size;
    return CLY_SUCCESS;
}

/* The shrink rule of launch.h, in place on local[0 .. dims-1]. */
static void fit_local(const cly_context *ctx, cl_uint dims, size_t *local, size_t limit)
{
    for (cl_uint d = 0; d < dims; d++)
        if (ctx->max_item_sizes[d] > 0 && local[d] > ctx->max_item_sizes[d])
            local[d] = ctx->max_item_sizes[d];
    if (limit == 0)
        return;
    for (cl_uint d = dims; d-- > 0;) {
        size_t others = 1, product;
        for (cl_uint e = 0; e < dims; e++)
            if (e != d)
                others *= local[e];
        product = others * local[d];
        if (product <= limit)
            return;
        if (local[d] > 1)
            local[d] = limit / others > 0 ? limit / others : 1;
    }
}

cly_status cly_launch(cly_context *ctx, const cly_args *a, cl_uint dims, const int64_t *global, const size_t *local)
{
    cly_status s = args_status(ctx, a);
    if (s != CLY_SUCCESS)
        return s;
    if (dims < 1 || dims > 3)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: %u work dimensions", a->what, (unsigned)dims);
    for (cl_uint d = 0; d < dims; d++) {
        if (global[d] < 0)
            return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: negative global size %lld in dimension %u",
                            a->what, (long long)global[d], (unsigned)d);
        if (global[d] == 0)
            return CLY_SUCCESS; /* nothing to do */
    }
    size_t l[3] = {1, 1, 1}, g[3];
    if (local) {
        size_t limit = 0;
        for (cl_uint d = 0; d < dims; d++)
            l[d] = local[d] > 0 ? local[d] : 1;
        if ((s = group_limit(ctx, a->kernel, a->what, &limit)) != CLY_SUCCESS)
            return s;
        fit_local(ctx, dims, l, limit);
    }
    for (cl_uint d = 0; d < dims; d++) {
        /* Round up; kernels compare their ids against the true extents. The
         * bound keeps the rounded size clear of size_t overflow. */
        if ((uint64_t)global[d] > (uint64_t)INT64_MAX - l[d] || (uint64_t)global[d] > SIZE_MAX - l[d])
            return cly_fail(ctx, CLY_ERROR_SIZE_OVERFLOW, "%s: global size %lld", a->what, (long long)global[d]);
        g[d] = ((size_t)global[d] + l[d] - 1) / l[d] * l[d];
    }
    if (ctx->build_only)
        return CLY_SUCCESS;
    cl_int err = clEnqueueNDRangeKernel(ctx->queue, a->kernel, dims, NULL, g, local ? l : NULL, 0, NULL, NULL);
    if (err != CL_SUCCESS)
        return cly_fail_cl(ctx, err, "%s: clEnqueueNDRangeKernel of %zu x %zu x %zu (local %zu x %zu x %zu)",
                           a->what, g[0], dims > 1 ? g[1] : 1, dims > 2 ? g[2] : 1, l[0], l[1], l[2]);
    return CLY_SUCCESS;
}

cly_status cly_launch_1d(cly_context *ctx, const cly_args *a, int64_t count)
{
    const size_t local = cly_tuning_of(ctx)->group_1d;
    return cly_launch(ctx, a, 1, &count, &local);
}

cly_status cly_launch_planes(cly_context *ctx, const cly_args *a, int64_t width, int64_t height, int64_t planes)
{
    const size_t group = cly_tuning_of(ctx)->group_1d;
    const size_t lx = width >= 8 ? 8 : width >= 4 ? 4 : width >= 2 ? 2 : 1;
    if ((uint64_t)width > (uint64_t)INT32_MAX || (uint64_t)height > (uint64_t)INT32_MAX ||
        (width > 0 && height > 0 && (uint64_t)planes > (uint64_t)INT64_MAX / ((uint64_t)width * (uint64_t)height)))
        return cly_fail(ctx, CLY_ERROR_SIZE_OVERFLOW, "%s: grid %lld x %lld x %lld", a->what, (long long)width,
                        (long long)height, (long long)planes);
    const int64_t global[3] = {width, height, planes};
    const size_t local[3] = {lx, group / lx > 0 ? group / lx : 1, 1};
    return cly_launch(ctx, a, 3, global, local);
}

cly_status cly_launch_rows(cly_context *ctx, const cly_args *a, int64_t rows, int64_t planes)
{
    if ((uint64_t)rows > (uint64_t)INT32_MAX)
        return cly_fail(ctx, CLY_ERROR_SIZE_OVERFLOW, "%s: %lld rows", a->what, (long long)rows);
    /* On a CPU a group runs as one loop on one thread: conv_group (8) rows
     * each keeps groups for every core. */
    const size_t group = cly_tuning_of(ctx)->conv_group;
    const int64_t global[3] = {1, rows, planes};
    const size_t local[3] = {1, (uint64_t)rows < group ? (size_t)rows : group, 1};
    return cly_launch(ctx, a, 3, global, local);
}

cly_status cly_reduce_local(cly_context *ctx, cl_kernel kernel, size_t want, size_t *local, const char *what)
{
    size_t limit = 0;
    cly_status s = group_limit(ctx, kernel, what, &limit);
    if (s != CLY_SUCCESS)
        return s;
    if (limit == 0 || limit > want)
        limit = want;
    if (ctx->max_item_sizes[0] > 0 && limit > ctx->max_item_sizes[0])
        limit = ctx->max_item_sizes[0];
    size_t l = 1;
    while (l * 2 <= limit)
        l *= 2;
    *local = l;
    return CLY_SUCCESS;
}

cly_status cly_launch_groups(cly_context *ctx, const cly_args *a, int64_t groups, size_t local)
{
    cly_status s = args_status(ctx, a);
    if (s != CLY_SUCCESS)
        return s;
    if (groups < 0 || local == 0)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: %lld groups of %zu work-items", a->what,
                        (long long)groups, local);
    size_t limit = 0;
    if ((s = group_limit(ctx, a->kernel, a->what, &limit)) != CLY_SUCCESS)
        return s;
    if ((limit > 0 && local > limit) || (ctx->max_item_sizes[0] > 0 && local > ctx->max_item_sizes[0]))
        return cly_fail(ctx, CLY_ERROR_UNSUPPORTED,
                        "%s: needs work-groups of exactly %zu work-items (a reduction tree); the kernel and device "
                        "allow %zu (%zu in dimension 0)",
                        a->what, local, limit, ctx->max_item_sizes[0]);
    if (groups == 0)
        return CLY_SUCCESS;
    if ((uint64_t)groups > (uint64_t)SIZE_MAX / local)
        return cly_fail(ctx, CLY_ERROR_SIZE_OVERFLOW, "%s: %lld groups of %zu work-items", a->what,
                        (long long)groups, local);
    const int64_t global = groups * (int64_t)local;
    return cly_launch(ctx, a, 1, &global, &local);
}
