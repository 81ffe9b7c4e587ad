/* local: locally connected, a convolution without weight sharing (weights
 * OH x OW x K x C x FH x FW, bias K x OH x OW); one kernel each way. */
#include "ops/ops.h"

static const cly_key keys[] = {CLY_CONV_KEYS_WINDOW, CLY_CONV_KEYS_OUTPUT, {.name = NULL}};

static cly_status check(cly_layer *l)
{
    cly_conv_params *p = &l->p.conv;
    if (p->groups != 0 && p->groups != 1)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: a local layer has no groups (groups = %lld)", l->name,
                        (long long)p->groups);
    if (p->algo != CLY_CONV_AUTO)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT,
                        "%s: a local layer has one algorithm; algo must be auto, not %s", l->name,
                        cly_conv_algo_string(p->algo));
    return cly_conv_check(l);
}

/* No sharing: one filter bank per output position. */
static cly_status infer(cly_graph *g, cly_node *n)
{
    const cly_conv_params *p = &n->layer.p.conv;
    int64_t macs;
    CLY_CHECK(cly_conv_infer_common(g, n, &macs));
    /* weights OH*OW*K*C*FH*FW = the multiply-adds per sample (groups is 1) */
    n->weights = macs;
    if (!CLY_PRODUCT(&n->biases, p->no_bias ? 0 : p->filters, n->out.h, n->out.w))
        return cly_rule_overflow(g, n, "bias count K*OH*OW");
    return CLY_SUCCESS;
}

static cly_status forward(cly_net *net, size_t id)
{
    const net_layer *L = &net->layers[id];
    return cly_local_forward(net->ctx, &L->conv, cly_op_x(net, id), cly_net_param(net, id, CLY_PARAM_WEIGHTS),
                             L->conv.bias ? cly_net_param(net, id, CLY_PARAM_BIAS) : CLY_NO_BUF, cly_op_y(net, id));
}

static cly_status backward(cly_net *net, size_t id, const int64_t *pos)
{
    const net_layer *L = &net->layers[id];
    if (L->conv.relu)
        CLY_CHECK(cly_net_unfuse_relu(net, id));
    cly_buf dx;
    float beta;
    cly_net_input_grad(net, id, 0, pos, &dx, &beta);
    return cly_local_backward(net->ctx, &L->conv, cly_op_x(net, id), cly_net_param(net, id, CLY_PARAM_WEIGHTS),
                              cly_net_grad(net, id), dx, cly_net_param_grad(net, id, CLY_PARAM_WEIGHTS),
                              L->conv.bias ? cly_net_param_grad(net, id, CLY_PARAM_BIAS) : CLY_NO_BUF, beta);
}

const cly_op cly_op_local = {
    .name = "local",
    .min_inputs = 1,
    .max_inputs = 1,
    .keys = keys,
    .check = check,
    .infer = infer,
    .compile = cly_conv_compile_geom,
    .forward = forward,
    .backward = backward,
    .fans = cly_conv_fans,
    .summary_note = cly_conv_summary_note,
    .backward_reads = cly_conv_backward_reads,
};
