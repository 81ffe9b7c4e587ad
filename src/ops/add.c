/* add: the element-wise sum of two or more inputs of one shape (ResNet). */
#include "ops/ops.h"

#include <stdio.h>

static const cly_key keys[] = {{.name = NULL}};

static cly_status infer(cly_graph *g, cly_node *n)
{
    cly_shape a = cly_input_shape(g, n, 0);
    for (size_t i = 1; i < n->layer.input_count; i++) {
        cly_shape b = cly_input_shape(g, n, i);
        if (b.c != a.c || b.h != a.h || b.w != a.w) {
            char msg[1200];
            cly_rule_list_shapes(g, n, msg, sizeof msg);
            return cly_node_fail(g, n, CLY_ERROR_SHAPE_MISMATCH, "add needs inputs of one shape: %s", msg);
        }
    }
    return cly_rule_output(g, n, a, (int64_t)n->layer.input_count - 1);
}

static cly_status forward(cly_net *net, size_t id)
{
    const cly_node *node = &net->graph->nodes[id];
    cly_buf y = cly_op_y(net, id);
    cly_status s = cly_add_forward(net->ctx, node->activations, cly_op_x(net, id),
                                   cly_net_value(net, node->input_ids[1]), y);
    for (size_t k = 2; k < node->layer.input_count && s == CLY_SUCCESS; k++)
        s = cly_add_forward(net->ctx, node->activations, y, cly_net_value(net, node->input_ids[k]), y);
    return s;
}

/* Every input receives dy. */
static cly_status backward(cly_net *net, size_t id, const int64_t *pos)
{
    const cly_node *node = &net->graph->nodes[id];
    for (size_t k = 0; k < node->layer.input_count; k++) {
        cly_buf dx;
        float beta;
        if (cly_net_input_grad(net, id, k, pos, &dx, &beta))
            CLY_CHECK(cly_grad_accumulate(net->ctx, node->activations, cly_net_grad(net, id), dx, beta));
    }
    return CLY_SUCCESS;
}

const cly_op cly_op_add = {
    .name = "add",
    .min_inputs = 2,
    .max_inputs = CLY_GRAPH_MAX_INPUTS,
    .keys = keys,
    .check = cly_check_none,
    .infer = infer,
    .forward = forward,
    .backward = backward,
};
