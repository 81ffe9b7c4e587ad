/* conv: 2-D convolution (groups, dilation, per-side padding, fused ReLU),
 * one of the algorithms of kernels/conv*.c chosen at compile time; backward
 * data and weights through the algorithm forward chose. */
#include "ops/ops.h"

static const cly_key keys[] = {
    CLY_CONV_KEYS_WINDOW,
    {.name = "groups", .kind = CLY_KEY_INT, .offset = offsetof(cly_layer, p.conv.groups), .dflt = 1},
    CLY_CONV_KEYS_OUTPUT,
    {.name = "algo", .kind = CLY_KEY_ENUM, .offset = offsetof(cly_layer, p.conv.algo), .choices = cly_conv_algo_names},
    {.name = NULL},
};

cly_status cly_conv_check(cly_layer *l)
{
    cly_conv_params *p = &l->p.conv;
    CLY_CHECK(cly_rule_int(l, "filters", p->filters, 1, false));
    CLY_CHECK(cly_rule_int(l, "size.h", p->size.h, 1, false));
    CLY_CHECK(cly_rule_int(l, "size.w", p->size.w, 1, false));
    CLY_CHECK(cly_rule_default1(l, "stride.h", &p->stride.h));
    CLY_CHECK(cly_rule_default1(l, "stride.w", &p->stride.w));
    CLY_CHECK(cly_rule_default1(l, "dilation.h", &p->dilation.h));
    CLY_CHECK(cly_rule_default1(l, "dilation.w", &p->dilation.w));
    CLY_CHECK(cly_rule_default1(l, "groups", &p->groups));
    CLY_CHECK(cly_rule_pad(l, &p->pad));
    CLY_CHECK(cly_rule_rounding(l, p->rounding));
    if ((unsigned)p->algo >= CLY_CONV_ALGO_COUNT)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: conv algorithm %d does not exist (0..%d)", l->name,
                        (int)p->algo, CLY_CONV_ALGO_COUNT - 1);
    if (p->filters % p->groups)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: filters = %lld is not divisible by groups = %lld",
                        l->name, (long long)p->filters, (long long)p->groups);
    return CLY_SUCCESS;
}

/* Output shape and the multiply-adds per sample, K*OH*OW * (C/G)*FH*FW. */
cly_status cly_conv_infer_common(cly_graph *g, cly_node *n, int64_t *macs)
{
    const cly_conv_params *p = &n->layer.p.conv;
    cly_shape in = cly_input_shape(g, n, 0);
    if (in.c % p->groups)
        return cly_node_fail(g, n, CLY_ERROR_INVALID_ARGUMENT,
                             "input channels C = %lld are not divisible by groups = %lld", (long long)in.c,
                             (long long)p->groups);
    int64_t oh, ow;
    CLY_CHECK(cly_rule_windows(g, n, in, p->size, p->stride, p->pad, p->dilation, p->rounding, 0, &oh, &ow));
    CLY_CHECK(cly_rule_output(g, n, (cly_shape){in.n, p->filters, oh, ow}, 0));
    if (!CLY_PRODUCT(macs, p->filters, oh, ow, in.c / p->groups, p->size.h, p->size.w))
        return cly_rule_overflow(g, n, "multiply-add count");
    int64_t per_batch;
    if (!cly_mul_i64(*macs, 2, &per_batch) || !cly_mul_i64(per_batch, in.n, &n->flops))
        return cly_rule_overflow(g, n, "FLOP count");
    return CLY_SUCCESS;
}

static cly_status infer(cly_graph *g, cly_node *n)
{
    const cly_conv_params *p = &n->layer.p.conv;
    int64_t macs;
    CLY_CHECK(cly_conv_infer_common(g, n, &macs));
    cly_shape in = cly_input_shape(g, n, 0);
    if (!CLY_PRODUCT(&n->weights, p->filters, in.c / p->groups, p->size.h, p->size.w))
        return cly_rule_overflow(g, n, "weight count K*(C/G)*FH*FW");
    n->biases = p->no_bias ? 0 : p->filters;
    return CLY_SUCCESS;
}

cly_status cly_conv_compile_geom(cly_net *net, size_t id)
{
    const cly_node *node = &net->graph->nodes[id];
    char msg[256];
    bool rounded;
    if (!cly_conv_geom_make(&node->layer.p.conv, cly_net_in_shape(net, id), &net->layers[id].conv, &rounded, msg,
                            sizeof msg))
        return cly_fail(net->ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: %s", node->name, msg);
    return CLY_SUCCESS;
}

static cly_status compile(cly_net *net, size_t id)
{
    CLY_CHECK(cly_conv_compile_geom(net, id));
    cly_node *node = &net->graph->nodes[id];
    net_layer *L = &net->layers[id];
    cly_conv_algo want = node->layer.p.conv.algo != CLY_CONV_AUTO ? node->layer.p.conv.algo : net->options.conv_algo;
    L->algo = cly_conv_choose(net->ctx, &L->conv, want);
    char why[512];
    cly_status st = cly_conv_support_status(net->ctx, L->algo, &L->conv, why, sizeof why);
    if (st != CLY_SUCCESS)
        return cly_fail(net->ctx, st, "%s: the %s algorithm cannot run this convolution: %s", node->name,
                        cly_conv_algo_string(L->algo), why);
    L->workspace_elems = cly_conv_workspace(net->ctx, L->algo, &L->conv);
    if (net->options.mode == CLY_MODE_TRAINING) {
        int64_t bwd = cly_conv_backward_workspace(net->ctx, L->algo, &L->conv);
        if (bwd > L->workspace_elems)
            L->workspace_elems = bwd;
    }
    node->algo = cly_conv_algo_shown(L->algo);
    if (!cly_conv_tuned_text(net->ctx, L->algo, &L->conv, node->algo_text, sizeof node->algo_text))
        node->algo_text[0] = '\0';
    return CLY_SUCCESS;
}

static cly_status forward(cly_net *net, size_t id)
{
    const net_layer *L = &net->layers[id];
    return cly_conv_forward(net->ctx, L->algo, &L->conv, cly_op_x(net, id), cly_net_param(net, id, CLY_PARAM_WEIGHTS),
                            L->conv.bias ? cly_net_param(net, id, CLY_PARAM_BIAS) : CLY_NO_BUF, cly_op_y(net, id),
                            cly_net_workspace(net));
}

static cly_status backward(cly_net *net, size_t id, const int64_t *pos)
{
    const net_layer *L = &net->layers[id];
    if (L->conv.relu)
        CLY_CHECK(cly_net_unfuse_relu(net, id));
    cly_buf dy = cly_net_grad(net, id), dx;
    float beta;
    if (cly_net_wants_param_grads(net))
        CLY_CHECK(cly_conv_backward_weights(net->ctx, L->algo, &L->conv, cly_op_x(net, id), dy,
                                            cly_net_param_grad(net, id, CLY_PARAM_WEIGHTS),
                                            L->conv.bias ? cly_net_param_grad(net, id, CLY_PARAM_BIAS) : CLY_NO_BUF,
                                            0.0f, cly_net_workspace(net)));
    if (!cly_net_input_grad(net, id, 0, pos, &dx, &beta))
        return CLY_SUCCESS;
    return cly_conv_backward_data(net->ctx, L->algo, &L->conv, dy, cly_net_param(net, id, CLY_PARAM_WEIGHTS), dx,
                                  beta, cly_net_workspace(net));
}

/* One weight connects C/G x FH x FW inputs to K/G x FH x FW outputs. */
void cly_conv_fans(const cly_net *net, size_t id, int64_t *fan_in, int64_t *fan_out)
{
    const cly_conv_geom *g = &net->layers[id].conv;
    int64_t taps = g->fh * g->fw;
    *fan_in = g->c / g->groups * taps;
    *fan_out = g->k / g->groups * taps;
}

/* "+relu" and how the output size was rounded (shared with local). */
void cly_conv_summary_note(const cly_node *n, void (*note)(char *buf, const char *text), char *buf)
{
    if (n->layer.p.conv.relu)
        note(buf, "+relu");
    if (n->rounded)
        note(buf, n->layer.p.conv.rounding == CLY_ROUND_CEIL ? "rounded: ceil" : "rounded: floor");
}

/* dy masked in place when a ReLU is fused (shared with local). */
unsigned cly_conv_backward_reads(const cly_node *n)
{
    return n->layer.p.conv.relu ? CLY_BWD_READS_Y | CLY_BWD_MASKS_DY : 0;
}

const cly_op cly_op_conv = {
    .name = "conv",
    .min_inputs = 1,
    .max_inputs = 1,
    .flags = CLY_OP_FUSES_RELU,
    .keys = keys,
    .check = cly_conv_check,
    .infer = infer,
    .compile = compile,
    .forward = forward,
    .backward = backward,
    .fans = cly_conv_fans,
    .summary_note = cly_conv_summary_note,
    .backward_reads = cly_conv_backward_reads,
};
