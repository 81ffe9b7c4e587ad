/* Status names, error recording (per context and per thread), logging and
 * checked arithmetic. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define THREAD_ERROR_SIZE 8192

static _Thread_local char thread_error[THREAD_ERROR_SIZE];

static cly_log_fn log_fn;
static cly_log_level log_max = CLY_LOG_WARN;
static void *log_user;

const char *cly_version(void)
{
    return CLY_VERSION_STRING;
}

const char *cly_status_string(cly_status status)
{
    static const char *const names[CLY_STATUS_COUNT] = {
        [CLY_SUCCESS] = "success",
        [CLY_ERROR_INVALID_ARGUMENT] = "invalid argument",
        [CLY_ERROR_OUT_OF_HOST_MEMORY] = "out of host memory",
        [CLY_ERROR_NO_PLATFORM] = "no OpenCL platform",
        [CLY_ERROR_DEVICE_NOT_FOUND] = "device not found",
        [CLY_ERROR_OPENCL] = "OpenCL error",
        [CLY_ERROR_BUILD_FAILED] = "kernel build failed",
        [CLY_ERROR_NO_COMPILER] = "device has no compiler",
        [CLY_ERROR_SIZE_OVERFLOW] = "size overflow",
        [CLY_ERROR_TOO_LARGE] = "allocation too large",
        [CLY_ERROR_SHAPE_MISMATCH] = "shape mismatch",
        [CLY_ERROR_IO] = "I/O error",
        [CLY_ERROR_UNSUPPORTED] = "unsupported",
    };
    _Static_assert(sizeof names / sizeof names[0] == CLY_STATUS_COUNT, "a status lacks a name");
    if ((int)status < 0 || status >= CLY_STATUS_COUNT || !names[status])
        return "unknown status";
    return names[status];
}

const char *cly_last_error(const cly_context *ctx)
{
    if (ctx)
        return ctx->error ? ctx->error : "";
    return thread_error;
}

static cly_log_level env_log_level(void)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    const char *v = getenv("CLAYER_LOG");
    if (v)
        for (int i = 0; i < 4; i++)
            if (strcasecmp(v, names[i]) == 0)
                return (cly_log_level)i;
    return CLY_LOG_WARN;
}

void cly_set_log_callback(cly_log_fn fn, cly_log_level max_level, void *user)
{
    log_fn = fn;
    log_max = max_level;
    log_user = user;
}

static void log_message(cly_log_level level, const char *message)
{
    if (log_fn) {
        if (level <= log_max)
            log_fn(level, message, log_user);
        return;
    }
    static const char *const tags[] = {"error", "warning", "info", "debug"};
    if (level <= env_log_level())
        fprintf(stderr, "clayer %s: %s\n", tags[level], message);
}

void cly_log(cly_log_level level, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    log_message(level, buf);
}

static cly_status record(const cly_context *cctx, cly_status status, const char *fmt, va_list ap, const char *suffix)
{
    /* Never NULL from our callers; the guard also quiets GCC's
     * -Wformat-truncation, which cannot see that under -fsanitize. */
    if (!fmt)
        fmt = "(no message)";
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    size_t len = n > 0 ? (size_t)n : 0;
    size_t total = len + strlen(suffix) + 1;
    char *msg = malloc(total);
    if (msg) {
        vsnprintf(msg, total, fmt, again);
        strcat(msg, suffix);
        snprintf(thread_error, sizeof thread_error, "%s", msg);
    } else {
        vsnprintf(thread_error, sizeof thread_error, fmt, again);
    }
    va_end(again);
    /* The error slot is bookkeeping, not the context's logical state, so a
     * const context can still record why a call on it failed. */
    cly_context *ctx = (cly_context *)cctx;
    if (ctx) {
        free(ctx->error);
        ctx->error = msg;
        msg = NULL;
    }
    log_message(CLY_LOG_DEBUG, thread_error);
    free(msg);
    return status;
}

cly_status cly_fail(const cly_context *ctx, cly_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    record(ctx, status, fmt, ap, "");
    va_end(ap);
    return status;
}

cly_status cly_fail_cl(const cly_context *ctx, cl_int err, const char *fmt, ...)
{
    char suffix[96];
    snprintf(suffix, sizeof suffix, ": OpenCL error %d (%s)", (int)err, cly_cl_error_name(err));
    va_list ap;
    va_start(ap, fmt);
    cly_status s = err == CL_OUT_OF_HOST_MEMORY ? CLY_ERROR_OUT_OF_HOST_MEMORY : CLY_ERROR_OPENCL;
    record(ctx, s, fmt, ap, suffix);
    va_end(ap);
    return s;
}

const char *cly_cl_error_name(cl_int err)
{
    switch (err) {
#define E(x) \
    case x: \
        return #x;
        E(CL_SUCCESS) E(CL_DEVICE_NOT_FOUND) E(CL_DEVICE_NOT_AVAILABLE) E(CL_COMPILER_NOT_AVAILABLE)
        E(CL_MEM_OBJECT_ALLOCATION_FAILURE) E(CL_OUT_OF_RESOURCES) E(CL_OUT_OF_HOST_MEMORY)
        E(CL_PROFILING_INFO_NOT_AVAILABLE) E(CL_MEM_COPY_OVERLAP) E(CL_IMAGE_FORMAT_MISMATCH)
        E(CL_IMAGE_FORMAT_NOT_SUPPORTED) E(CL_BUILD_PROGRAM_FAILURE) E(CL_MAP_FAILURE)
        E(CL_MISALIGNED_SUB_BUFFER_OFFSET) E(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)
        E(CL_COMPILE_PROGRAM_FAILURE) E(CL_LINKER_NOT_AVAILABLE) E(CL_LINK_PROGRAM_FAILURE)
        E(CL_DEVICE_PARTITION_FAILED) E(CL_KERNEL_ARG_INFO_NOT_AVAILABLE) E(CL_INVALID_VALUE)
        E(CL_INVALID_DEVICE_TYPE) E(CL_INVALID_PLATFORM) E(CL_INVALID_DEVICE) E(CL_INVALID_CONTEXT)
        E(CL_INVALID_QUEUE_PROPERTIES) E(CL_INVALID_COMMAND_QUEUE) E(CL_INVALID_HOST_PTR)
        E(CL_INVALID_MEM_OBJECT) E(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR) E(CL_INVALID_IMAGE_SIZE)
        E(CL_INVALID_SAMPLER) E(CL_INVALID_BINARY) E(CL_INVALID_BUILD_OPTIONS) E(CL_INVALID_PROGRAM)
        E(CL_INVALID_PROGRAM_EXECUTABLE) E(CL_INVALID_KERNEL_NAME) E(CL_INVALID_KERNEL_DEFINITION)
        E(CL_INVALID_KERNEL) E(CL_INVALID_ARG_INDEX) E(CL_INVALID_ARG_VALUE) E(CL_INVALID_ARG_SIZE)
        E(CL_INVALID_KERNEL_ARGS) E(CL_INVALID_WORK_DIMENSION) E(CL_INVALID_WORK_GROUP_SIZE)
        E(CL_INVALID_WORK_ITEM_SIZE) E(CL_INVALID_GLOBAL_OFFSET) E(CL_INVALID_EVENT_WAIT_LIST)
        E(CL_INVALID_EVENT) E(CL_INVALID_OPERATION) E(CL_INVALID_GL_OBJECT) E(CL_INVALID_BUFFER_SIZE)
        E(CL_INVALID_MIP_LEVEL) E(CL_INVALID_GLOBAL_WORK_SIZE) E(CL_INVALID_PROPERTY)
        E(CL_INVALID_IMAGE_DESCRIPTOR) E(CL_INVALID_COMPILER_OPTIONS) E(CL_INVALID_LINKER_OPTIONS)
        E(CL_INVALID_DEVICE_PARTITION_COUNT)
#undef E
    case -1001:
        return "CL_PLATFORM_NOT_FOUND_KHR";
    default:
        return "unknown OpenCL error";
    }
}

bool cly_mul_i64(int64_t a, int64_t b, int64_t *out)
{
    if (a < 0 || b < 0)
        return false;
    if (a != 0 && b > INT64_MAX / a)
        return false;
    *out = a * b;
    return true;
}
