/* Status names, error recording (per context and per thread), logging and
 * checked arithmetic. A context's message goes into its cly_error_slot, the
 * first member of struct cly_context. */
#include "status.h"

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
    if (!ctx)
        return thread_error;
    const cly_error_slot *slot = (const cly_error_slot *)(const void *)ctx;
    return slot->message ? slot->message : "";
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
    cly_error_slot *slot = (cly_error_slot *)(void *)cctx;
    if (slot) {
        free(slot->message);
        slot->message = msg;
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

cly_status cly_fail_va(const cly_context *ctx, cly_status status, const char *suffix, const char *fmt, va_list ap)
{
    return record(ctx, status, fmt, ap, suffix ? suffix : "");
}
