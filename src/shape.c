/* Window arithmetic with the notes' formula in every error message. */
#include "shape.h"

#include <stdio.h>

static void formula(cly_window w, const char *axis, char *msg, size_t size)
{
    long long in = w.in, f = w.size, s = w.stride, lo = w.pad_lo, hi = w.pad_hi, d = w.dilation;
    int n;
    if (d == 1 && lo == hi)
        n = snprintf(msg, size, "(%s - F + 2P)/S + 1 = (%lld - %lld + 2*%lld)/%lld + 1", axis, in, f, lo, s);
    else if (d == 1)
        n = snprintf(msg, size, "(%s - F + Plo + Phi)/S + 1 = (%lld - %lld + %lld + %lld)/%lld + 1", axis, in, f,
                     lo, hi, s);
    else
        n = snprintf(msg, size, "(%s + Plo + Phi - D*(F - 1) - 1)/S + 1 = (%lld + %lld + %lld - %lld*(%lld - 1) - 1)/%lld + 1",
                     axis, in, lo, hi, d, f, s);
    (void)n;
}

static void append(char *msg, size_t size, const char *fmt, long long a, long long b)
{
    size_t used = 0;
    while (used < size && msg[used])
        used++;
    if (used < size)
        snprintf(msg + used, size - used, fmt, a, b);
}

_Bool cly_window_out(cly_window w, cly_rounding mode, const char *axis, int64_t *out, char *msg, size_t size)
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
    formula(w, axis, msg, size);
    if (num < 0) {
        append(msg, size, " < 1: the filter (extent %lld) is larger than the padded input (%lld)", (long long)span,
               (long long)(w.in + w.pad_lo + w.pad_hi));
        return 0;
    }
    int64_t q = num / w.stride, r = num % w.stride;
    if (r != 0 && mode == CLY_ROUND_EXACT) {
        size_t used = 0;
        while (used < size && msg[used])
            used++;
        if (used < size) {
            double v = (double)num / (double)w.stride + 1.0;
            snprintf(msg + used, size - used, " = %g is not an integer", v);
        }
        return 0;
    }
    if (r != 0 && mode == CLY_ROUND_CEIL) {
        q++;
        /* Caffe/PyTorch rule: the last window must start inside the input
         * or its left padding, else it is dropped. */
        if (q * w.stride >= w.in + w.pad_lo)
            q--;
    }
    *out = q + 1;
    return 1;
}
