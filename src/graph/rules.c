/* Helpers shared by the ops' check and infer functions (rules.h). */
#include "graph/rules.h"
#include "base/shape.h"

#include <math.h>
#include <stdio.h>

/* v >= lo and v <= CLY_DIM_MAX; `dflt` notes that 0 means 1. */
cly_status cly_rule_int(const cly_layer *l, const char *what, int64_t v, int64_t lo, bool dflt)
{
    if (v < lo)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: %s = %lld must be >= %lld%s", l->name, what,
                        (long long)v, (long long)lo, dflt ? " (0 means 1)" : "");
    if (v > CLY_DIM_MAX)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: %s = %lld exceeds %lld", l->name, what, (long long)v,
                        (long long)CLY_DIM_MAX);
    return CLY_SUCCESS;
}

/* 0 -> 1, then >= 1. */
cly_status cly_rule_default1(const cly_layer *l, const char *what, int64_t *v)
{
    if (*v == 0)
        *v = 1;
    return cly_rule_int(l, what, *v, 1, true);
}

cly_status cly_rule_pad(const cly_layer *l, const cly_pad *p)
{
    CLY_CHECK(cly_rule_int(l, "pad.top", p->top, 0, false));
    CLY_CHECK(cly_rule_int(l, "pad.bottom", p->bottom, 0, false));
    CLY_CHECK(cly_rule_int(l, "pad.left", p->left, 0, false));
    return cly_rule_int(l, "pad.right", p->right, 0, false);
}

cly_status cly_rule_rounding(const cly_layer *l, cly_rounding r)
{
    if ((unsigned)r > CLY_ROUND_CEIL)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: rounding %d is not exact (0), floor (1) or ceil (2)",
                        l->name, (int)r);
    return CLY_SUCCESS;
}

cly_status cly_check_none(cly_layer *l)
{
    (void)l;
    return CLY_SUCCESS;
}

cly_status cly_rule_finite(const cly_layer *l, const char *what, double v)
{
    if (!isfinite(v))
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: %s = %g must be a finite number", l->name, what, v);
    return CLY_SUCCESS;
}

/* *out = v[0] * ... * v[count-1]; false on overflow. */
bool cly_product(int64_t *out, const int64_t *v, size_t count)
{
    int64_t p = 1;
    for (size_t i = 0; i < count; i++)
        if (!cly_mul_i64(p, v[i], &p))
            return false;
    *out = p;
    return true;
}

cly_status cly_rule_overflow(const cly_graph *g, const cly_node *n, const char *what)
{
    return cly_node_fail(g, n, CLY_ERROR_SIZE_OVERFLOW, "the %s overflows 64 bits", what);
}

/* Set out, activations and the elementwise FLOP count (per output value x
 * `per`). */
cly_status cly_rule_output(const cly_graph *g, cly_node *n, cly_shape out, int64_t per)
{
    n->out = out;
    if (!CLY_PRODUCT(&n->activations, out.n, out.c, out.h, out.w))
        return cly_rule_overflow(g, n, "output value count");
    if (!cly_mul_i64(n->activations, per, &n->flops))
        return cly_rule_overflow(g, n, "FLOP count");
    return CLY_SUCCESS;
}

/* Output width then height (the notes state the rule for W first). */
cly_status cly_rule_windows(const cly_graph *g, cly_node *n, cly_shape in, cly_hw size, cly_hw stride, cly_pad pad,
                          cly_hw dilation, cly_rounding mode, unsigned flags, int64_t *oh, int64_t *ow)
{
    char msg[512];
    cly_window_result rw, rh;
    if (!cly_window_solve((cly_window){in.w, size.w, stride.w, pad.left, pad.right, dilation.w}, mode, "W", flags,
                          &rw, msg, sizeof msg) ||
        !cly_window_solve((cly_window){in.h, size.h, stride.h, pad.top, pad.bottom, dilation.h}, mode, "H", flags,
                          &rh, msg, sizeof msg))
        return cly_node_fail(g, n, CLY_ERROR_INVALID_ARGUMENT, "%s", msg);
    *ow = rw.out;
    *oh = rh.out;
    n->rounded = rw.rounded || rh.rounded;
    return CLY_SUCCESS;
}

cly_status cly_infer_same(cly_graph *g, cly_node *n)
{
    return cly_rule_output(g, n, cly_input_shape(g, n, 0), 1);
}

/* Appends "NAME is C x H x W" for every input (the first 8) to msg. */
void cly_rule_list_shapes(const cly_graph *g, const cly_node *n, char *msg, size_t size)
{
    size_t used = 0;
    msg[0] = '\0';
    for (size_t i = 0; i < n->layer.input_count && used < size; i++) {
        if (i == 8) {
            snprintf(msg + used, size - used, ", ...");
            break;
        }
        cly_shape s = cly_input_shape(g, n, i);
        int k = snprintf(msg + used, size - used, "%s%s is %lld x %lld x %lld", i ? ", " : "", n->inputs[i],
                         (long long)s.c, (long long)s.h, (long long)s.w);
        used += k > 0 ? (size_t)k : 0;
    }
}

