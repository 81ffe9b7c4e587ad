/* relu: y = max(x, 0), in place when it is its input's only reader; in an
 * inference net a ReLU over a conv or FC it alone reads runs in that
 * layer's epilogue instead (net.c). */
#include "ops/ops.h"

static const cly_key keys[] = {{.name = NULL}};

static cly_status forward(cly_net *net, size_t id)
{
    if (net->layers[id].fused)
        return CLY_SUCCESS;
    return cly_relu_forward(net->ctx, net->graph->nodes[id].activations, cly_op_x(net, id), cly_op_y(net, id));
}

static cly_status backward(cly_net *net, size_t id, const int64_t *pos)
{
    cly_buf dx;
    float beta;
    if (!cly_net_input_grad(net, id, 0, pos, &dx, &beta))
        return CLY_SUCCESS;
    return cly_relu_backward(net->ctx, net->graph->nodes[id].activations, cly_op_y(net, id), cly_net_grad(net, id), dx,
                             beta);
}

static unsigned backward_reads(const cly_node *n)
{
    (void)n;
    return CLY_BWD_READS_Y;
}

const cly_op cly_op_relu = {
    .name = "relu",
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
