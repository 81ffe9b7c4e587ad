/* softmax: over C for every sample and position. When it ends the net over
 * the scores, training skips its backward: the loss's gradient already
 * includes it (net_train.c). */
#include "ops/ops.h"

static const cly_key keys[] = {{.name = NULL}};

static cly_status forward(cly_net *net, size_t id)
{
    return cly_softmax_forward(net->ctx, cly_net_in_shape(net, id), cly_op_x(net, id), cly_op_y(net, id));
}

static cly_status backward(cly_net *net, size_t id, const int64_t *pos)
{
    cly_buf dx;
    float beta;
    if (!cly_net_input_grad(net, id, 0, pos, &dx, &beta))
        return CLY_SUCCESS;
    return cly_softmax_backward(net->ctx, cly_net_in_shape(net, id), cly_op_y(net, id), cly_net_grad(net, id), dx,
                                beta);
}

static unsigned backward_reads(const cly_node *n)
{
    (void)n;
    return CLY_BWD_READS_Y;
}

const cly_op cly_op_softmax = {
    .name = "softmax",
    .min_inputs = 1,
    .max_inputs = 1,
    .flags = CLY_OP_IN_PLACE,
    .keys = keys,
    .check = cly_check_none,
    .infer = cly_infer_same,
    .forward = forward,
    .backward = backward,
    .backward_reads = backward_reads,
};
