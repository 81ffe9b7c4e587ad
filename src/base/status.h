/* Errors, logging and checked arithmetic: the bottom layer, used by every
 * other folder. No OpenCL header: graph and I/O code include this alone. */
#ifndef CLY_BASE_STATUS_H
#define CLY_BASE_STATUS_H

#include "clayer.h"

#include <stdarg.h>

#define CLY_FMT(a, b) __attribute__((format(printf, a, b)))

#define CLY_SHAPE_FMT "%lldx%lldx%lldx%lld"
#define CLY_SHAPE_ARGS(s) (long long)(s).n, (long long)(s).c, (long long)(s).h, (long long)(s).w

/* Where a failed call on a context leaves its message: the first member of
 * struct cly_context (runtime/runtime.h), so this layer can record errors on
 * a context without knowing the rest of its layout. */
typedef struct cly_error_slot {
    char *message; /* heap: build logs can be long */
} cly_error_slot;

/* ---- errors and logging (status.c) */

/* Record `status` with a formatted message on ctx (may be NULL) and on the
 * calling thread, log it at debug level, and return status. */
cly_status cly_fail(const cly_context *ctx, cly_status status, const char *fmt, ...) CLY_FMT(3, 4);
/* cly_fail with `suffix` appended to the formatted message (cly_fail_cl). */
cly_status cly_fail_va(const cly_context *ctx, cly_status status, const char *suffix, const char *fmt, va_list ap);
void cly_log(cly_log_level level, const char *fmt, ...) CLY_FMT(2, 3);

/* ---- checked 64-bit arithmetic (status.c) */

/* *out = a * b; false on overflow or negative operands. */
bool cly_mul_i64(int64_t a, int64_t b, int64_t *out);

#endif
