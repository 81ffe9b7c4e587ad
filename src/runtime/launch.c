/* Shared by the op files: 1-D launches and kernel argument lists. */
#include "runtime/launch.h"

/* Work-group size of every 1-D launch. One fixed size keeps the number of
 * compiled variants down: pocl compiles a kernel again for each new local
 * size. 64 is a multiple of every GPU's SIMD width (32 on NVIDIA, 64 on AMD). */
#ifndef CLY_WG_1D
#define CLY_WG_1D 64
#endif

/* The largest work-group `kernel` may take, capped at `want`: a kernel may
 * allow less than the device's maximum (register pressure on GPUs, a small
 * device such as an FPGA); never ask for more. */
static cly_status group_limit(cly_context *ctx, cl_kernel kernel, size_t want, size_t *limit, const char *what)
{
    size_t kernel_max = 0;
    cl_int err = clGetKernelWorkGroupInfo(kernel, ctx->device, CL_KERNEL_WORK_GROUP_SIZE, sizeof kernel_max,
                                          &kernel_max, NULL);
    if (err != CL_SUCCESS)
        return cly_fail_cl(ctx, err, "%s: clGetKernelWorkGroupInfo", what);
    *limit = want;
    if (kernel_max > 0 && *limit > kernel_max)
        *limit = kernel_max;
    if (ctx->info.max_work_group_size > 0 && *limit > ctx->info.max_work_group_size)
        *limit = (size_t)ctx->info.max_work_group_size;
    return CLY_SUCCESS;
}

cly_status cly_enqueue_1d(cly_context *ctx, cl_kernel kernel, int64_t count, const char *what)
{
    if (count < 0)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: negative work-item count %lld", what,
                        (long long)count);
    if (count == 0)
        return CLY_SUCCESS;
    size_t local;
    cly_status s = group_limit(ctx, kernel, CLY_WG_1D, &local, what);
    if (s != CLY_SUCCESS)
        return s;
    /* Round up; kernels compare their id against the true count. The bound
     * keeps the rounded size clear of size_t overflow. */
    if ((uint64_t)count > (uint64_t)INT64_MAX - local)
        return cly_fail(ctx, CLY_ERROR_SIZE_OVERFLOW, "%s: %lld work-items", what, (long long)count);
    size_t global = ((size_t)count + local - 1) / local * local;
    cl_int err = clEnqueueNDRangeKernel(ctx->queue, kernel, 1, NULL, &global, &local, 0, NULL, NULL);
    if (err != CL_SUCCESS)
        return cly_fail_cl(ctx, err, "%s: clEnqueueNDRangeKernel of %zu work-items (local %zu)", what, global,
                           local);
    return CLY_SUCCESS;
}

cly_status cly_enqueue_planes(cly_context *ctx, cl_kernel kernel, int64_t width, int64_t height, int64_t planes,
                              const char *what)
{
    if (width < 0 || height < 0 || planes < 0)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: negative grid %lld x %lld x %lld", what,
                        (long long)width, (long long)height, (long long)planes);
    if (width == 0 || height == 0 || planes == 0)
        return CLY_SUCCESS;
    size_t limit;
    cly_status s = group_limit(ctx, kernel, CLY_WG_1D, &limit, what);
    if (s != CLY_SUCCESS)
        return s;
    /* 8 x 8 as on the 1-D path's 64; narrower rows give their share to more
     * rows, so small maps (7 x 7) waste little. */
    size_t lx = width >= 8 ? 8 : width >= 4 ? 4 : width >= 2 ? 2 : 1, ly = CLY_WG_1D / lx;
    while (lx * ly > limit) {
        if (ly > 1)
            ly /= 2;
        else
            lx /= 2;
    }
    if ((uint64_t)width > (uint64_t)INT32_MAX || (uint64_t)height > (uint64_t)INT32_MAX ||
        (uint64_t)planes > (uint64_t)INT64_MAX / ((uint64_t)width * (uint64_t)height))
        return cly_fail(ctx, CLY_ERROR_SIZE_OVERFLOW, "%s: grid %lld x %lld x %lld", what, (long long)width,
                        (long long)height, (long long)planes);
    const size_t global[3] = {((size_t)width + lx - 1) / lx * lx, ((size_t)height + ly - 1) / ly * ly,
                              (size_t)planes},
                 local[3] = {lx, ly, 1};
    cl_int err = clEnqueueNDRangeKernel(ctx->queue, kernel, 3, NULL, global, local, 0, NULL, NULL);
    if (err != CL_SUCCESS)
        return cly_fail_cl(ctx, err, "%s: clEnqueueNDRangeKernel of %zu x %zu x %zu (local %zu x %zu)", what,
                           global[0], global[1], global[2], lx, ly);
    return CLY_SUCCESS;
}

cly_status cly_kernel_args(cly_context *ctx, cl_kernel kernel, const char *what, const cly_karg *args, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        cl_int err = clSetKernelArg(kernel, (cl_uint)i, args[i].size, args[i].value);
        if (err != CL_SUCCESS)
            return cly_fail_cl(ctx, err, "%s: clSetKernelArg(%zu)", what, i);
    }
    return CLY_SUCCESS;
}

cly_status cly_reduce_local(cly_context *ctx, cl_kernel kernel, size_t want, size_t *local, const char *what)
{
    size_t limit;
    cly_status s = group_limit(ctx, kernel, want, &limit, what);
    if (s != CLY_SUCCESS)
        return s;
    size_t l = 1;
    while (l * 2 <= limit)
        l *= 2;
    *local = l;
    return CLY_SUCCESS;
}

cly_status cly_enqueue_groups(cly_context *ctx, cl_kernel kernel, int64_t groups, size_t local, const char *what)
{
    if (groups < 0 || local == 0)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: %lld groups of %zu work-items", what,
                        (long long)groups, local);
    if (groups == 0)
        return CLY_SUCCESS;
    if ((uint64_t)groups > (uint64_t)SIZE_MAX / local)
        return cly_fail(ctx, CLY_ERROR_SIZE_OVERFLOW, "%s: %lld groups of %zu work-items", what, (long long)groups,
                        local);
    size_t global = (size_t)groups * local;
    cl_int err = clEnqueueNDRangeKernel(ctx->queue, kernel, 1, NULL, &global, &local, 0, NULL, NULL);
    if (err != CL_SUCCESS)
        return cly_fail_cl(ctx, err, "%s: clEnqueueNDRangeKernel of %zu work-items (local %zu)", what, global,
                           local);
    return CLY_SUCCESS;
}

cly_status cly_launch_1d(cly_context *ctx, const char *program, const char *kernel, const cly_karg *args, size_t nargs,
                         int64_t count)
{
    cl_kernel k;
    cly_status s = cly_kernel_get(ctx, program, "", kernel, &k);
    if (s == CLY_SUCCESS)
        s = cly_kernel_args(ctx, k, kernel, args, nargs);
    if (s == CLY_SUCCESS)
        s = cly_enqueue_1d(ctx, k, count, kernel);
    return s;
}
