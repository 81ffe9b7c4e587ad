/* fc: fully connected, y[n x O] = x[n x C*H*W] w[O x C*H*W]^T + b, with a
 * fused ReLU (given, or absorbed from a following relu layer). */
#include "ops/ops.h"

static const cly_key keys[] = {
    {.name = "outputs", .kind = CLY_KEY_INT, .offset = offsetof(cly_layer, p.fc.outputs), .required = true},
    {.name = "nobias", .kind = CLY_KEY_FLAG, .offset = offsetof(cly_layer, p.fc.no_bias)},
    {.name = "relu", .kind = CLY_KEY_FLAG, .offset = offsetof(cly_layer, p.fc.relu)},
    {.name = NULL},
};

static cly_status check(cly_layer *l)
{
    return cly_rule_int(l, "outputs", l->p.fc.outputs, 1, false);
}

/* The input is flattened in C, H, W order per sample. */
static cly_status infer(cly_graph *g, cly_node *n)
{
    const cly_fc_params *p = &n->layer.p.fc;
    cly_shape in = cly_input_shape(g, n, 0);
    int64_t flat;
    if (!CLY_PRODUCT(&flat, in.c, in.h, in.w) || !cly_mul_i64(flat, p->outputs, &n->weights))
        return cly_rule_overflow(g, n, "weight count O*C*H*W");
    CLY_CHECK(cly_rule_output(g, n, (cly_shape){in.n, p->outputs, 1, 1}, 0));
    if (!CLY_PRODUCT(&n->flops, 2, n->weights, in.n))
        return cly_rule_overflow(g, n, "FLOP count");
    n->biases = p->no_bias ? 0 : p->outputs;
    return CLY_SUCCESS;
}

/* Training nets size the backward's workspace (its transposed operands). */
static cly_status compile(cly_net *net, size_t id)
{
    if (net->options.mode == CLY_MODE_TRAINING) {
        cly_shape in = cly_net_in_shape(net, id);
        net->layers[id].workspace_elems =
            cly_fc_backward_workspace(net->ctx, in.n, in.c * in.h * in.w, net->graph->nodes[id].out.c);
    }
    return CLY_SUCCESS;
}

static cly_status forward(cly_net *net, size_t id)
{
    const cly_node *node = &net->graph->nodes[id];
    const cly_fc_params *p = &node->layer.p.fc;
    cly_shape in = cly_net_in_shape(net, id);
    return cly_fc_forward(net->ctx, in.n, in.c * in.h * in.w, node->out.c, p->relu || net->layers[id].fused_relu,
                          cly_op_x(net, id), cly_net_param(net, id, CLY_PARAM_WEIGHTS),
                          p->no_bias ? CLY_NO_BUF : cly_net_param(net, id, CLY_PARAM_BIAS), cly_op_y(net, id));
}

static cly_status backward(cly_net *net, size_t id, const int64_t *pos)
{
    const cly_node *node = &net->graph->nodes[id];
    const cly_fc_params *p = &node->layer.p.fc;
    if (p->relu)
        CLY_CHECK(cly_net_unfuse_relu(net, id));
    cly_shape in = cly_net_in_shape(net, id);
    cly_buf dx;
    float beta;
    cly_net_input_grad(net, id, 0, pos, &dx, &beta);
    return cly_fc_backward(net->ctx, in.n, in.c * in.h * in.w, node->out.c, cly_op_x(net, id),
                           cly_net_param(net, id, CLY_PARAM_WEIGHTS), cly_net_grad(net, id), dx,
                           cly_net_param_grad(net, id, CLY_PARAM_WEIGHTS),
                           p->no_bias ? CLY_NO_BUF : cly_net_param_grad(net, id, CLY_PARAM_BIAS), beta,
                           cly_net_workspace(net));
}

static void summary_note(const cly_node *n, void (*note)(char *buf, const char *text), char *buf)
{
    if (n->layer.p.fc.relu)
        note(buf, "+relu");
}

static unsigned backward_reads(const cly_node *n)
{
    return n->layer.p.fc.relu ? CLY_BWD_READS_Y | CLY_BWD_MASKS_DY : 0;
}

const cly_op cly_op_fc = {
    .name = "fc",
    .min_inputs = 1,
    .max_inputs = 1,
    .flags = CLY_OP_FUSES_RELU,
    .keys = keys,
    .check = check,
    .infer = infer,
    .compile = compile,
    .forward = forward,
    .backward = backward,
    .summary_note = summary_note,
    .backward_reads = backward_reads,
};
