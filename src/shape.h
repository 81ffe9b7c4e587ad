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

#endif
