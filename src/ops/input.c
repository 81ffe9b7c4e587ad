/* input: a per-sample C x H x W shape; its value is written by the caller. */
#include "ops/ops.h"

static const cly_key keys[] = {
    {.name = "c", .kind = CLY_KEY_INT, .offset = offsetof(cly_layer, p.input.c), .required = true},
    {.name = "h", .kind = CLY_KEY_INT, .offset = offsetof(cly_layer, p.input.h), .required = true},
    {.name = "w", .kind = CLY_KEY_INT, .offset = offsetof(cly_layer, p.input.w), .required = true},
    {.name = NULL},
};

static cly_status check(cly_layer *l)
{
    CLY_CHECK(cly_rule_int(l, "c", l->p.input.c, 1, false));
    CLY_CHECK(cly_rule_int(l, "h", l->p.input.h, 1, false));
    return cly_rule_int(l, "w", l->p.input.w, 1, false);
}

static cly_status infer(cly_graph *g, cly_node *n)
{
    const cly_layer *l = &n->layer;
    return cly_rule_output(g, n, (cly_shape){g->batch, l->p.input.c, l->p.input.h, l->p.input.w}, 0);
}

const cly_op cly_op_input = {
    .name = "input", .min_inputs = 0, .max_inputs = 0, .keys = keys, .check = check, .infer = infer,
};
