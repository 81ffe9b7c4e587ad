/* adaptive_avgpool: average pooling to a fixed OH x OW (PyTorch's
 * AdaptiveAvgPool2d): output row i averages input rows floor(i*H/OH) ..
 * ceil((i+1)*H/OH) - 1, columns likewise; bins may overlap. */
#include "ops/ops.h"

static const cly_key keys[] = {
    {.name = "out", .kind = CLY_KEY_HW, .offset = offsetof(cly_layer, p.adaptive.output), .required = true},
    {.name = NULL},
};

static cly_status check(cly_layer *l)
{
    CLY_CHECK(cly_rule_int(l, "output.h", l->p.adaptive.output.h, 1, false));
    return cly_rule_int(l, "output.w", l->p.adaptive.output.w, 1, false);
}

/* Input cells summed over all bins of one axis (overlaps counted twice). */
static int64_t bin_sum(int64_t in, int64_t out)
{
    int64_t sum = 0;
    for (int64_t i = 0; i < out; i++)
        sum += ((i + 1) * in + out - 1) / out - i * in / out;
    return sum;
}

static cly_status infer(cly_graph *g, cly_node *n)
{
    const cly_adaptive_pool_params *p = &n->layer.p.adaptive;
    cly_shape in = cly_input_shape(g, n, 0);
    CLY_CHECK(cly_rule_output(g, n, (cly_shape){in.n, in.c, p->output.h, p->output.w}, 0));
    /* One addition per input cell of every bin. */
    if (!CLY_PRODUCT(&n->flops, in.n, in.c, bin_sum(in.h, p->output.h), bin_sum(in.w, p->output.w)))
        return cly_rule_overflow(g, n, "FLOP count");
    return CLY_SUCCESS;
}

static cly_status forward(cly_net *net, size_t id)
{
    const cly_node *node = &net->graph->nodes[id];
    return cly_adaptive_avgpool_forward(net->ctx, cly_net_in_shape(net, id), node->out.h, node->out.w,
                                        cly_op_x(net, id), cly_op_y(net, id));
}

static cly_status backward(cly_net *net, size_t id, const int64_t *pos)
{
    const cly_node *node = &net->graph->nodes[id];
    cly_buf dx;
    float beta;
    if (!cly_net_input_grad(net, id, 0, pos, &dx, &beta))
        return CLY_SUCCESS;
    return cly_adaptive_avgpool_backward(net->ctx, cly_net_in_shape(net, id), node->out.h, node->out.w,
                                         cly_net_grad(net, id), dx, beta);
}

const cly_op cly_op_adaptive_avgpool = {
    .name = "adaptive_avgpool",
    .min_inputs = 1,
    .max_inputs = 1,
    .keys = keys,
    .check = check,
    .infer = infer,
    .forward = forward,
    .backward = backward,
};
