/* concat: inputs of one height and width stacked along depth (GoogLeNet). */
#include "ops/ops.h"

#include <stdio.h>

static const cly_key keys[] = {{.name = NULL}};

static cly_status infer(cly_graph *g, cly_node *n)
{
    cly_shape a = cly_input_shape(g, n, 0), out = a;
    for (size_t i = 1; i < n->layer.input_count; i++) {
        cly_shape b = cly_input_shape(g, n, i);
        if (b.h != a.h || b.w != a.w) {
            char msg[1200];
            cly_rule_list_shapes(g, n, msg, sizeof msg);
            return cly_node_fail(g, n, CLY_ERROR_SHAPE_MISMATCH, "concat needs inputs of one height and width: %s",
                                 msg);
        }
        if (b.c > INT64_MAX - out.c) /* concats of concats can grow without bound */
            return cly_rule_overflow(g, n, "channel count");
        out.c += b.c;
    }
    return cly_rule_output(g, n, out, 0);
}

static cly_status forward(cly_net *net, size_t id)
{
    const cly_node *node = &net->graph->nodes[id];
    int64_t c_offset = 0;
    for (size_t k = 0; k < node->layer.input_count; k++) {
        cly_shape part = net->graph->nodes[node->input_ids[k]].out;
        CLY_CHECK(cly_concat_forward(net->ctx, part.n, part.c, part.h * part.w, node->out.c, c_offset,
                                     cly_net_value(net, node->input_ids[k]), cly_op_y(net, id)));
        c_offset += part.c;
    }
    return CLY_SUCCESS;
}

/* Each input receives its channels of dy. */
static cly_status backward(cly_net *net, size_t id, const int64_t *pos)
{
    const cly_node *node = &net->graph->nodes[id];
    int64_t c_offset = 0;
    for (size_t k = 0; k < node->layer.input_count; k++) {
        cly_shape part = net->graph->nodes[node->input_ids[k]].out;
        cly_buf dx;
        float beta;
        if (cly_net_input_grad(net, id, k, pos, &dx, &beta))
            CLY_CHECK(cly_concat_backward(net->ctx, part.n, part.c, part.h * part.w, node->out.c, c_offset,
                                          cly_net_grad(net, id), dx, beta));
        c_offset += part.c;
    }
    return CLY_SUCCESS;
}

const cly_op cly_op_concat = {
    .name = "concat",
    .min_inputs = 1,
    .max_inputs = CLY_GRAPH_MAX_INPUTS,
    .keys = keys,
    .check = cly_check_none,
    .infer = infer,
    .forward = forward,
    .backward = backward,
};
