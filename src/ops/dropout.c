/* dropout: inverted dropout with a counter-based mask in training (the
 * backward recomputes it from the seed); the identity at inference. */
#include "ops/ops.h"

static const cly_key keys[] = {
    {.name = "p", .kind = CLY_KEY_REAL, .offset = offsetof(cly_layer, p.dropout), .required = true},
    {.name = NULL},
};

static cly_status check(cly_layer *l)
{
    double p = l->p.dropout;
    if (!(p >= 0 && p < 1)) /* also rejects NaN */
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: dropout probability p = %g must be in [0, 1)", l->name,
                        p);
    return CLY_SUCCESS;
}

static cly_status forward(cly_net *net, size_t id)
{
    const cly_node *node = &net->graph->nodes[id];
    if (net->training_pass)
        return cly_dropout_forward(net->ctx, node->activations, node->layer.p.dropout, cly_net_dropout_seed(net, id),
                                   cly_op_x(net, id), cly_op_y(net, id));
    return cly_net_copy_value(net, cly_net_in0(net, id), id, node->activations);
}

static cly_status backward(cly_net *net, size_t id, const int64_t *pos)
{
    const cly_node *node = &net->graph->nodes[id];
    cly_buf dx;
    float beta;
    if (!cly_net_input_grad(net, id, 0, pos, &dx, &beta))
        return CLY_SUCCESS;
    if (net->bind && net->bind->frozen) /* an inference plan: the identity's gradient */
        return cly_grad_accumulate(net->ctx, node->activations, cly_net_grad(net, id), dx, beta);
    return cly_dropout_backward(net->ctx, node->activations, node->layer.p.dropout, cly_net_dropout_seed(net, id),
                                cly_net_grad(net, id), dx, beta);
}

const cly_op cly_op_dropout = {
    .name = "dropout",
    .min_inputs = 1,
    .max_inputs = 1,
    .flags = CLY_OP_IN_PLACE,
    .keys = keys,
    .check = check,
    .infer = cly_infer_same,
    .forward = forward,
    .backward = backward,
};
