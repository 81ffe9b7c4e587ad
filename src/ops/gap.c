/* gap: global average pooling, N x C x H x W -> N x C x 1 x 1. */
#include "ops/ops.h"

static const cly_key keys[] = {{.name = NULL}};

static cly_status infer(cly_graph *g, cly_node *n)
{
    cly_shape in = cly_input_shape(g, n, 0);
    CLY_CHECK(cly_rule_output(g, n, (cly_shape){in.n, in.c, 1, 1}, 0));
    if (!CLY_PRODUCT(&n->flops, in.n, in.c, in.h, in.w))
        return cly_rule_overflow(g, n, "FLOP count");
    return CLY_SUCCESS;
}

static cly_status forward(cly_net *net, size_t id)
{
    return cly_gap_forward(net->ctx, cly_net_in_shape(net, id), cly_op_x(net, id), cly_op_y(net, id));
}

static cly_status backward(cly_net *net, size_t id, const int64_t *pos)
{
    cly_buf dx;
    float beta;
    if (!cly_net_input_grad(net, id, 0, pos, &dx, &beta))
        return CLY_SUCCESS;
    return cly_gap_backward(net->ctx, cly_net_in_shape(net, id), cly_net_grad(net, id), dx, beta);
}

const cly_op cly_op_gap = {
    .name = "gap",
    .min_inputs = 1,
    .max_inputs = 1,
    .keys = keys,
    .check = cly_check_none,
    .infer = infer,
    .forward = forward,
    .backward = backward,
};
