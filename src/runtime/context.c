/* Contexts: the chosen device, its OpenCL context and profiling queue, and
 * the per-context program cache and error slot (contexts on an application's
 * OpenCL objects: interop.c). */
#include "runtime/runtime.h"
#include "runtime/blas.h"
#include "runtime/tuning_file.h"
#include "base/options.h"

#include <stdlib.h>
#include <string.h>

cly_status cly_context_create(const char *selector, cly_context **out)
{
    return cly_context_create_ex(&(cly_context_options){.selector = selector}, out);
}

cly_status cly_context_create_ex(const cly_context_options *options, cly_context **out)
{
    if (!out)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "cly_context_create: out must not be NULL");
    cly_context_options o = {0};
    if (options) {
        cly_status c = CLY_OPTIONS_COPY(NULL, &o, options, cly_context_options, no_tuning_file, "cly_context_create");
        if (c != CLY_SUCCESS)
            return c;
    }
    if (o.precision != CLY_PRECISION_FLOAT32 && o.precision != CLY_PRECISION_FLOAT64)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "cly_context_create: precision %d is not a cly_precision",
                        (int)o.precision);
    const char *selector = o.selector;
    if (!selector)
        selector = getenv("CLAYER_DEVICE");

    cly_device_entry *entries;
    size_t count;
    cly_status s = cly_devices_enumerate(&entries, &count);
    if (s != CLY_SUCCESS)
        return s;
    cly_device_info *infos = malloc(count * sizeof *infos);
    if (!infos) {
        free(entries);
        return cly_fail(NULL, CLY_ERROR_OUT_OF_HOST_MEMORY, "listing %zu devices", count);
    }
    for (size_t i = 0; i < count; i++)
        infos[i] = entries[i].info;
    size_t pick;
    s = cly_device_select(infos, count, selector, &pick);
    free(infos);
    if (s != CLY_SUCCESS) {
        free(entries);
        return s;
    }

    cly_context *ctx = calloc(1, sizeof *ctx);
    if (!ctx) {
        free(entries);
        return cly_fail(NULL, CLY_ERROR_OUT_OF_HOST_MEMORY, "context");
    }
    ctx->info = entries[pick].info;
    ctx->platform = entries[pick].platform;
    ctx->device = entries[pick].device;
    free(entries);
    ctx->precision = o.precision;
    if (o.precision == CLY_PRECISION_FLOAT64 && !ctx->info.fp64) {
        s = cly_fail(NULL, CLY_ERROR_UNSUPPORTED,
                     "cly_context_create: device %u:%u '%s' lacks cl_khr_fp64, which double precision needs",
                     ctx->info.platform_index, ctx->info.device_index, ctx->info.name);
        free(ctx);
        return s;
    }

    cl_int err;
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)ctx->platform, 0};
    cly_opencl_init_lock();
    ctx->cl = clCreateContext(props, 1, &ctx->device, NULL, NULL, &err);
    if (err != CL_SUCCESS) {
        cly_opencl_init_unlock();
        s = cly_fail_cl(NULL, err, "clCreateContext on device %u:%u '%s' (%s)", ctx->info.platform_index,
                        ctx->info.device_index, ctx->info.name, ctx->info.platform_name);
        free(ctx);
        return s;
    }
    /* clCreateCommandQueue is deprecated in 2.0 but is the one entry point
     * every 1.2+ platform has. Profiling feeds per-layer timings. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    ctx->queue = clCreateCommandQueue(ctx->cl, ctx->device, CL_QUEUE_PROFILING_ENABLE, &err);
#pragma GCC diagnostic pop
    cly_opencl_init_unlock();
    if (err != CL_SUCCESS) {
        s = cly_fail_cl(NULL, err, "clCreateCommandQueue on device '%s'", ctx->info.name);
        clReleaseContext(ctx->cl);
        free(ctx);
        return s;
    }
    ctx->profiling = true;
    ctx->tuning_off = o.no_tuning_file;
    s = cly_context_setup(ctx, &o);
    if (s != CLY_SUCCESS) {
        cly_context_destroy(ctx);
        return s;
    }
    *out = ctx;
    return CLY_SUCCESS;
}

cly_status cly_context_setup(cly_context *ctx, const cly_context_options *o)
{
    /* Per-dimension work-item limits for the launch helpers (launch.c); a
     * device that does not say keeps 0: no limit beyond the group size. */
    size_t items[3] = {0, 0, 0};
    if (clGetDeviceInfo(ctx->device, CL_DEVICE_MAX_WORK_ITEM_SIZES, sizeof items, items, NULL) == CL_SUCCESS)
        memcpy(ctx->max_item_sizes, items, sizeof items);
    ctx->cache_enabled = cly_cache_dir_from_env(ctx->cache_dir, sizeof ctx->cache_dir);
    if (!ctx->cache_enabled)
        ctx->cache_dir[0] = '\0';
    cly_tuning_load(ctx);
    cly_log(CLY_LOG_INFO, "device %u:%u %s (%s), binary cache %s", ctx->info.platform_index,
            ctx->info.device_index, ctx->info.name, ctx->info.platform_name,
            ctx->cache_enabled ? ctx->cache_dir : "off");
    cly_status s = cly_gemm_setup(ctx, o);
    return s != CLY_SUCCESS ? s : cly_context_bundle_setup(ctx, o);
}

void cly_context_destroy(cly_context *ctx)
{
    if (!ctx)
        return;
    if (ctx->queue) {
        clFinish(ctx->queue);
        clReleaseCommandQueue(ctx->queue);
    }
    cly_programs_release(ctx);
    cly_context_bundle_release(ctx);
    cly_tuning_free(ctx);
    if (ctx->cl)
        clReleaseContext(ctx->cl);
    if (ctx->device_retained)
        clReleaseDevice(ctx->device);
    free(ctx->error.message);
    free(ctx);
}

cly_precision cly_context_precision(const cly_context *ctx)
{
    return ctx ? ctx->precision : CLY_PRECISION_FLOAT32;
}

const cly_device_info *cly_context_device(const cly_context *ctx)
{
    return ctx ? &ctx->info : NULL;
}

cly_status cly_context_finish(cly_context *ctx)
{
    if (!ctx)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "cly_context_finish: ctx must not be NULL");
    cl_int err = clFinish(ctx->queue);
    return err == CL_SUCCESS ? CLY_SUCCESS : cly_fail_cl(ctx, err, "clFinish on device '%s'", ctx->info.name);
}

cly_status cly_context_stats_get(const cly_context *ctx, cly_context_stats *out)
{
    if (!ctx || !out)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "cly_context_stats_get: ctx and out must not be NULL");
    *out = ctx->stats;
    return CLY_SUCCESS;
}

const char *cly_context_cache_dir(const cly_context *ctx)
{
    return ctx ? ctx->cache_dir : "";
}
