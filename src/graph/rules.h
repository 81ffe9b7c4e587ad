/* Helpers for the ops' check and infer functions (src/ops/): parameter
 * ranges, window arithmetic, output shapes and overflow-checked counts.
 *
 * Cost conventions (printed in the summary footer):
 * - conv, local, fc: FLOPs = 2 x multiply-adds, per sample x batch;
 * - the rest are approximate: 1 per output value (relu, softmax, dropout,
 *   batchnorm), 1 per window element per output (pool, lrn), 1 per input
 *   value (gap, and per bin element for adaptive_avgpool), inputs - 1 per
 *   output value (add), 0 (input, concat).
 * - batchnorm: scale and shift count as biases (2 per channel); the running
 *   mean and variance are buffers, counted in cly_graph.bn_running. */
#ifndef CLY_GRAPH_RULES_H
#define CLY_GRAPH_RULES_H

#include "base/status.h"
#include "graph/graph.h"

/* Dimensions and counts above this are rejected: kernels index with int. */
#define CLY_DIM_MAX INT32_MAX

#define CLY_CHECK(call)            \
    do {                           \
        cly_status s_ = (call);    \
        if (s_ != CLY_SUCCESS)     \
            return s_;             \
    } while (0)

/* v >= lo and v <= CLY_DIM_MAX; `dflt` notes that 0 means 1. */
cly_status cly_rule_int(const cly_layer *l, const char *what, int64_t v, int64_t lo, bool dflt);
/* 0 -> 1, then >= 1. */
cly_status cly_rule_default1(const cly_layer *l, const char *what, int64_t *v);
cly_status cly_rule_pad(const cly_layer *l, const cly_pad *p);
cly_status cly_rule_rounding(const cly_layer *l, cly_rounding r);
cly_status cly_rule_finite(const cly_layer *l, const char *what, double v);
cly_status cly_check_none(cly_layer *l);

static inline cly_shape cly_input_shape(const cly_graph *g, const cly_node *n, size_t i)
{
    return g->nodes[n->input_ids[i]].out;
}

/* *out = v[0] * ... * v[count-1]; false on overflow. */
bool cly_product(int64_t *out, const int64_t *v, size_t count);
#define CLY_PRODUCT(out, ...) \
    cly_product((out), (const int64_t[]){__VA_ARGS__}, sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t))

cly_status cly_rule_overflow(const cly_graph *g, const cly_node *n, const char *what);
/* Set out, activations and the elementwise FLOP count (per output value x `per`). */
cly_status cly_rule_output(const cly_graph *g, cly_node *n, cly_shape out, int64_t per);
/* Output height and width of a window op (the W rule first, as the notes
 * state it); sets n->rounded. */
cly_status cly_rule_windows(const cly_graph *g, cly_node *n, cly_shape in, cly_hw size, cly_hw stride, cly_pad pad,
                            cly_hw dilation, cly_rounding mode, unsigned flags, int64_t *oh, int64_t *ow);
/* The output shape is the first input's, one FLOP per value. */
cly_status cly_infer_same(cly_graph *g, cly_node *n);
/* "NAME is C x H x W" for every input (the first 8), for messages. */
void cly_rule_list_shapes(const cly_graph *g, const cly_node *n, char *msg, size_t size);

#endif
