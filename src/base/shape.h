/* Output-size arithmetic of convolution and pooling windows, shared by the
 * direct ops and the graph's shape inference. No OpenCL here. */
#ifndef CLY_SHAPE_H
#define CLY_SHAPE_H

#include "clayer.h"

#include <stddef.h>
#include <stdint.h>

typedef struct cly_window {
    int64_t in;       /* input extent along the axis */
    int64_t size;     /* filter extent F */
    int64_t stride;   /* S >= 1 */
    int64_t pad_lo;   /* padding before */
    int64_t pad_hi;   /* padding after */
    int64_t dilation; /* >= 1 */
} cly_window;

/* Output extent of a window sliding along one axis:
 *   out = (in + pad_lo + pad_hi - dilation*(size-1) - 1)/stride + 1
 * rounded per `mode`. On failure returns false and writes the arithmetic into
 * msg, e.g. "(W - F + 2P)/S + 1 = (10 - 3 + 2*0)/2 + 1 = 4.5 is not an
 * integer"; `axis` is "W" or "H". */
_Bool cly_window_out(cly_window win, cly_rounding mode, const char *axis, int64_t *out, char *msg, size_t size);

/* What cly_window_solve found besides the extent. */
typedef struct cly_window_result {
    int64_t out;
    _Bool rounded; /* the division was inexact and FLOOR or CEIL rounded it */
    _Bool dropped; /* CEIL's extra window would start past the input and its
                      leading padding, so it was dropped (result = floor) */
} cly_window_result;

/* Messages use the notes' pooling form "(W - F)/S + 1 = (7 - 2)/2 + 1" when
 * the window has no padding and no dilation (else the convolution form). */
#define CLY_WINDOW_POOL_FORM 1u

/* cly_window_out with flags (CLY_WINDOW_*) and the rounding details. */
_Bool cly_window_solve(cly_window win, cly_rounding mode, const char *axis, unsigned flags, cly_window_result *res,
                       char *msg, size_t size);

#endif
