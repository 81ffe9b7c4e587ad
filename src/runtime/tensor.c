/* Tensors: NCHW device buffers of the context's precision, sizes checked. */
#include "runtime/runtime.h"

#include <stdlib.h>

cly_status cly_shape_check(const cly_context *ctx, const char *what, cly_shape s, int64_t *count)
{
    const int64_t dims[4] = {s.n, s.c, s.h, s.w};
    static const char names[4] = {'n', 'c', 'h', 'w'};
    for (int i = 0; i < 4; i++)
        if (dims[i] < 1)
            return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT,
                            "%s: shape " CLY_SHAPE_FMT ": dimension %c = %lld must be >= 1", what, CLY_SHAPE_ARGS(s),
                            names[i], (long long)dims[i]);
    int64_t n = 1, bytes;
    for (int i = 0; i < 4; i++)
        if (!cly_mul_i64(n, dims[i], &n))
            return cly_fail(ctx, CLY_ERROR_SIZE_OVERFLOW,
                            "%s: shape " CLY_SHAPE_FMT ": element count overflows 64 bits", what, CLY_SHAPE_ARGS(s));
    int64_t esize = ctx ? (int64_t)cly_real_size(ctx) : 4;
    if (!cly_mul_i64(n, esize, &bytes))
        return cly_fail(ctx, CLY_ERROR_SIZE_OVERFLOW,
                        "%s: shape " CLY_SHAPE_FMT ": %lld elements x %lld bytes overflows 64 bits", what,
                        CLY_SHAPE_ARGS(s), (long long)n, (long long)esize);
    if (ctx && (uint64_t)bytes > ctx->info.max_alloc_bytes)
        return cly_fail(ctx, CLY_ERROR_TOO_LARGE,
                        "%s: shape " CLY_SHAPE_FMT " needs %lld bytes, more than the largest allocation of device "
                        "'%s' (%llu bytes)",
                        what, CLY_SHAPE_ARGS(s), (long long)bytes, ctx->info.name,
                        (unsigned long long)ctx->info.max_alloc_bytes);
    *count = n;
    return CLY_SUCCESS;
}

cly_status cly_tensor_create(cly_context *ctx, cly_shape shape, cly_tensor **out)
{
    if (!ctx || !out)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "cly_tensor_create: ctx and out must not be NULL");
    int64_t count;
    cly_status s = cly_shape_check(ctx, "cly_tensor_create", shape, &count);
    if (s != CLY_SUCCESS)
        return s;
    cly_tensor *t = calloc(1, sizeof *t);
    if (!t)
        return cly_fail(ctx, CLY_ERROR_OUT_OF_HOST_MEMORY, "cly_tensor_create");
    cl_int err;
    t->buffer = clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE, (size_t)count * cly_real_size(ctx), NULL, &err);
    if (err != CL_SUCCESS) {
        free(t);
        return cly_fail_cl(ctx, err, "cly_tensor_create: clCreateBuffer of %lld bytes for shape " CLY_SHAPE_FMT,
                           (long long)count * (long long)cly_real_size(ctx), CLY_SHAPE_ARGS(shape));
    }
    t->ctx = ctx;
    t->shape = shape;
    t->count = count;
    t->root = t->buffer;
    *out = t;
    return CLY_SUCCESS;
}

/* Byte range [*lo, *hi) of t inside its root buffer. */
static void root_range(const cly_tensor *t, uint64_t *lo, uint64_t *hi)
{
    const uint64_t es = cly_real_size(t->ctx);
    *lo = t->root_offset + (uint64_t)t->offset * es;
    *hi = *lo + (uint64_t)t->count * es;
}

bool cly_tensors_overlap(const cly_tensor *a, const cly_tensor *b)
{
    if (!a || !b || a->root != b->root)
        return false;
    uint64_t alo, ahi, blo, bhi;
    root_range(a, &alo, &ahi);
    root_range(b, &blo, &bhi);
    return alo < bhi && blo < ahi;
}

bool cly_tensors_coincide(const cly_tensor *a, const cly_tensor *b)
{
    if (!a || !b || a->root != b->root || a->count != b->count)
        return false;
    uint64_t alo, ahi, blo, bhi;
    root_range(a, &alo, &ahi);
    root_range(b, &blo, &bhi);
    return alo == blo;
}

void cly_tensor_describe_range(const cly_tensor *t, char *buf, size_t size)
{
    int n = snprintf(buf, size, "elements %lld..%lld of buffer %p", (long long)t->offset,
                     (long long)(t->offset + t->count - 1), (void *)t->buffer);
    if (n > 0 && (size_t)n < size && t->root != t->buffer)
        snprintf(buf + n, size - (size_t)n, " (a sub-buffer at byte %llu of %p)", (unsigned long long)t->root_offset,
                 (void *)t->root);
}

void cly_tensor_destroy(cly_tensor *t)
{
    if (!t)
        return;
    if (t->buffer)
        clReleaseMemObject(t->buffer);
    free(t);
}

cly_shape cly_tensor_shape(const cly_tensor *t)
{
    return t ? t->shape : (cly_shape){0, 0, 0, 0};
}

int64_t cly_tensor_count(const cly_tensor *t)
{
    return t ? t->count : 0;
}

static cly_status check_host(const cly_tensor *t, const void *ptr, int64_t count, const char *what)
{
    if (!t)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: tensor must not be NULL", what);
    if (!ptr)
        return cly_fail(t->ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: host pointer must not be NULL", what);
    if (count != t->count)
        return cly_fail(t->ctx, CLY_ERROR_SHAPE_MISMATCH,
                        "%s: host count %lld differs from the tensor's %lld elements (shape " CLY_SHAPE_FMT ")", what,
                        (long long)count, (long long)t->count, CLY_SHAPE_ARGS(t->shape));
    return CLY_SUCCESS;
}

static cly_status tensor_write(cly_tensor *t, const void *src, size_t host_size, int64_t count, const char *what)
{
    cly_status s = check_host(t, src, count, what);
    return s != CLY_SUCCESS ? s : cly_write_reals(t->ctx, t->buffer, t->offset, src, host_size, count, what);
}

static cly_status tensor_read(const cly_tensor *t, void *dst, size_t host_size, int64_t count, const char *what)
{
    cly_status s = check_host(t, dst, count, what);
    return s != CLY_SUCCESS ? s : cly_read_reals(t->ctx, t->buffer, t->offset, dst, host_size, count, what);
}

cly_status cly_tensor_write(cly_tensor *t, const float *src, int64_t count)
{
    return tensor_write(t, src, sizeof *src, count, "cly_tensor_write");
}

cly_status cly_tensor_write_f64(cly_tensor *t, const double *src, int64_t count)
{
    return tensor_write(t, src, sizeof *src, count, "cly_tensor_write_f64");
}

cly_status cly_tensor_read(const cly_tensor *t, float *dst, int64_t count)
{
    return tensor_read(t, dst, sizeof *dst, count, "cly_tensor_read");
}

cly_status cly_tensor_read_f64(const cly_tensor *t, double *dst, int64_t count)
{
    return tensor_read(t, dst, sizeof *dst, count, "cly_tensor_read_f64");
}

cly_status cly_tensor_fill(cly_tensor *t, float value)
{
    if (!t)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "cly_tensor_fill: tensor must not be NULL");
    return cly_fill_reals(t->ctx, t->buffer, t->offset, t->count, value, "cly_tensor_fill");
}

cly_status cly_tensor_copy(cly_tensor *dst, const cly_tensor *src)
{
    if (!dst || !src)
        return cly_fail(dst ? dst->ctx : src ? src->ctx : NULL, CLY_ERROR_INVALID_ARGUMENT,
                        "cly_tensor_copy: dst and src must not be NULL");
    if (dst->ctx != src->ctx)
        return cly_fail(dst->ctx, CLY_ERROR_INVALID_ARGUMENT,
                        "cly_tensor_copy: dst and src belong to different contexts");
    if (dst->shape.n != src->shape.n || dst->shape.c != src->shape.c || dst->shape.h != src->shape.h ||
        dst->shape.w != src->shape.w)
        return cly_fail(dst->ctx, CLY_ERROR_SHAPE_MISMATCH,
                        "cly_tensor_copy: dst shape " CLY_SHAPE_FMT " differs from src shape " CLY_SHAPE_FMT,
                        CLY_SHAPE_ARGS(dst->shape), CLY_SHAPE_ARGS(src->shape));
    if (dst == src)
        return CLY_SUCCESS;
    /* Wrapped tensors (clayer_cl.h) may share a buffer, or be sub-buffers
     * of one; OpenCL refuses an overlapping copy with a bare
     * CL_MEM_COPY_OVERLAP, or copies wrongly across sub-buffers. */
    if (cly_tensors_overlap(dst, src)) {
        char d[160], r[160];
        cly_tensor_describe_range(dst, d, sizeof d);
        cly_tensor_describe_range(src, r, sizeof r);
        return cly_fail(dst->ctx, CLY_ERROR_INVALID_ARGUMENT, "cly_tensor_copy: dst (%s) and src (%s) overlap", d, r);
    }
    size_t size = cly_real_size(dst->ctx);
    cl_int err = clEnqueueCopyBuffer(dst->ctx->queue, src->buffer, dst->buffer, (size_t)src->offset * size,
                                     (size_t)dst->offset * size, (size_t)dst->count * size, 0, NULL, NULL);
    return err == CL_SUCCESS ? CLY_SUCCESS : cly_fail_cl(dst->ctx, err, "cly_tensor_copy: clEnqueueCopyBuffer");
}
