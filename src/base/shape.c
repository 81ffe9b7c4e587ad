/* Window arithmetic with the notes' formula in every error message. */
#include "base/shape.h"

#include <stdio.h>
#include <string.h>

static void formula(cly_window w, const char *axis, unsigned flags, char *msg, size_t size)
{
    long long in = w.in, f = w.size, s = w.stride, lo = w.pad_lo, hi = w.pad_hi, d = w.dilation;
    if ((flags & CLY_WINDOW_POOL_FORM) && d == 1 && lo == 0 && hi == 0)
        snprintf(msg, size, "(%s - F)/S + 1 = (%lld - %lld)/%lld + 1", axis, in, f, s);
    else if (d == 1 && lo == hi)
        snprintf(msg, size, "(%s - F + 2P)/S + 1 = (%lld - %lld + 2*%lld)/%lld + 1", axis, in, f, lo, s);
    else if (d == 1)
        snprintf(msg, size, "(%s - F + Plo + Phi)/S + 1 = (%lld - %lld + %lld + %lld)/%lld + 1", axis, in, f, lo, hi,
                 s);
    else
        snprintf(msg, size, "(%s + Plo + Phi - D*(F - 1) - 1)/S + 1 = (%lld + %lld + %lld - %lld*(%lld - 1) - 1)/%lld + 1",
                 axis, in, lo, hi, d, f, s);
}

static void append(char *msg, size_t size, const char *fmt, long long a, long long b)
{
    size_t used = strlen(msg);
    if (used < size)
        snprintf(msg + used, size - used, fmt, a, b);
}

/* " = q.ddd is not an integer" for q + r/s, by long division: exact digits
 * even where a double would print 1.23457e+06. */
static void append_fraction(char *msg, size_t size, int64_t q, int64_t r, int64_t s)
{
    char digits[16];
    int n = 0;
    while (r != 0 && n < 6) {
        r *= 10; /* r < s <= 2^40: no overflow */
        digits[n++] = (char)('0' + r / s);
        r %= s;
    }
    digits[n] = '\0';
    size_t used = strlen(msg);
    if (used < size)
        snprintf(msg + used, size - used, " = %lld.%s%s is not an integer", (long long)q, digits, r ? "..." : "");
}

_Bool cly_window_solve(cly_window w, cly_rounding mode, const char *axis, unsigned flags, cly_window_result *res,
                       char *msg, size_t size)
{
    msg[0] = '\0';
    if (w.in < 1 || w.size < 1 || w.stride < 1 || w.pad_lo < 0 || w.pad_hi < 0 || w.dilation < 1) {
        snprintf(msg, size,
                 "%s = %lld, F = %lld, S = %lld, P = %lld/%lld, D = %lld: need %s >= 1, F >= 1, S >= 1, P >= 0, D >= 1",
                 axis, (long long)w.in, (long long)w.size, (long long)w.stride, (long long)w.pad_lo,
                 (long long)w.pad_hi, (long long)w.dilation, axis);
        return 0;
    }
    /* Bounds keep every intermediate below 2^62: no overflow below. */
    const int64_t lim = (int64_t)1 << 40;
    if (w.in > lim || w.size > lim || w.stride > lim || w.pad_lo > lim || w.pad_hi > lim || w.dilation > lim ||
        (w.dilation > 1 && w.size > 1 && w.dilation > lim / (w.size - 1))) {
        snprintf(msg, size, "%s: window sizes beyond 2^40 are not supported", axis);
        return 0;
    }
    int64_t span = w.dilation * (w.size - 1) + 1;
    int64_t num = w.in + w.pad_lo + w.pad_hi - span;
    formula(w, axis, flags, msg, size);
    if (num < 0) {
        append(msg, size, " < 1: the filter (extent %lld) is larger than the padded input (%lld)", (long long)span,
               (long long)(w.in + w.pad_lo + w.pad_hi));
        return 0;
    }
    int64_t q = num / w.stride, r = num % w.stride;
    if (r != 0 && mode == CLY_ROUND_EXACT) {
        append_fraction(msg, size, q + 1, r, w.stride);
        return 0;
    }
    _Bool dropped = 0;
    if (r != 0 && mode == CLY_ROUND_CEIL) {
        q++;
        /* Caffe/PyTorch rule: the last window must start inside the input
         * or its left padding, else it is dropped. */
        if (q * w.stride >= w.in + w.pad_lo) {
            q--;
            dropped = 1;
        }
    }
    msg[0] = '\0';
    res->out = q + 1;
    res->rounded = r != 0;
    res->dropped = dropped;
    return 1;
}

_Bool cly_window_out(cly_window w, cly_rounding mode, const char *axis, int64_t *out, char *msg, size_t size)
{
    cly_window_result res;
    if (!cly_window_solve(w, mode, axis, 0, &res, msg, size))
        return 0;
    *out = res.out;
    return 1;
}
