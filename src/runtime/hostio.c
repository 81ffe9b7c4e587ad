/* Blocking copies between host arrays and device arrays of the context's
 * precision. A float host array on a double context (or the reverse) goes
 * through a converted copy, so every public float call works on both. */
#include "runtime/runtime.h"

#include <stdlib.h>

/* count values of from_size bytes (4: float, 8: double) into to_size ones. */
static void convert(const void *from, size_t from_size, void *to, size_t to_size, int64_t count)
{
    if (from_size == 4 && to_size == 8) {
        const float *f = from;
        double *t = to;
        for (int64_t i = 0; i < count; i++)
            t[i] = f[i];
    } else {
        const double *f = from;
        float *t = to;
        for (int64_t i = 0; i < count; i++)
            t[i] = (float)f[i];
    }
}

cly_status cly_write_reals(cly_context *ctx, cl_mem mem, int64_t offset, const void *src, size_t host_size,
                           int64_t count, const char *what)
{
    if (count <= 0)
        return CLY_SUCCESS;
    size_t size = cly_real_size(ctx);
    void *staged = NULL;
    if (host_size != size) {
        staged = malloc((size_t)count * size);
        if (!staged)
            return cly_fail(ctx, CLY_ERROR_OUT_OF_HOST_MEMORY, "%s: converting %lld values", what, (long long)count);
        convert(src, host_size, staged, size, count);
        src = staged;
    }
    cl_int err =
        clEnqueueWriteBuffer(ctx->queue, mem, CL_TRUE, (size_t)offset * size, (size_t)count * size, src, 0, NULL, NULL);
    free(staged);
    return err == CL_SUCCESS ? CLY_SUCCESS : cly_fail_cl(ctx, err, "%s: clEnqueueWriteBuffer", what);
}

cly_status cly_read_reals(cly_context *ctx, cl_mem mem, int64_t offset, void *dst, size_t host_size, int64_t count,
                          const char *what)
{
    if (count <= 0)
        return CLY_SUCCESS;
    size_t size = cly_real_size(ctx);
    void *staged = host_size == size ? dst : malloc((size_t)count * size);
    if (!staged)
        return cly_fail(ctx, CLY_ERROR_OUT_OF_HOST_MEMORY, "%s: converting %lld values", what, (long long)count);
    cl_int err = clEnqueueReadBuffer(ctx->queue, mem, CL_TRUE, (size_t)offset * size, (size_t)count * size, staged, 0,
                                     NULL, NULL);
    if (err == CL_SUCCESS && staged != dst)
        convert(staged, size, dst, host_size, count);
    if (staged != dst)
        free(staged);
    return err == CL_SUCCESS ? CLY_SUCCESS : cly_fail_cl(ctx, err, "%s: clEnqueueReadBuffer", what);
}

cly_status cly_fill_reals(cly_context *ctx, cl_mem mem, int64_t offset, int64_t count, double value, const char *what)
{
    if (count <= 0)
        return CLY_SUCCESS;
    size_t size = cly_real_size(ctx);
    float f = (float)value;
    cl_int err = clEnqueueFillBuffer(ctx->queue, mem, size == 8 ? (const void *)&value : (const void *)&f, size,
                                     (size_t)offset * size, (size_t)count * size, 0, NULL, NULL);
    return err == CL_SUCCESS ? CLY_SUCCESS : cly_fail_cl(ctx, err, "%s: clEnqueueFillBuffer", what);
}
