/* lrn: local response normalisation across channels, in the Caffe/PyTorch
 * (alpha/size) and the paper's (raw alpha) conventions. */
#include "ops/ops.h"

static const cly_key keys[] = {
    {.name = "size", .kind = CLY_KEY_INT, .offset = offsetof(cly_layer, p.lrn.size), .required = true,
     .hint = "an lrn window is one number of channels"},
    {.name = "alpha", .kind = CLY_KEY_REAL, .offset = offsetof(cly_layer, p.lrn.alpha), .required = true},
    {.name = "beta", .kind = CLY_KEY_REAL, .offset = offsetof(cly_layer, p.lrn.beta), .required = true},
    {.name = "k", .kind = CLY_KEY_REAL, .offset = offsetof(cly_layer, p.lrn.k), .required = true},
    {.name = "alpha_mode", .kind = CLY_KEY_ENUM, .offset = offsetof(cly_layer, p.lrn.alpha_mode), .choices = cly_lrn_alpha_names},
    {.name = NULL},
};

static cly_status check(cly_layer *l)
{
    cly_lrn_params *p = &l->p.lrn;
    CLY_CHECK(cly_rule_int(l, "size", p->size, 1, false));
    CLY_CHECK(cly_rule_finite(l, "alpha", p->alpha));
    CLY_CHECK(cly_rule_finite(l, "beta", p->beta));
    CLY_CHECK(cly_rule_finite(l, "k", p->k));
    /* d = k + alpha' * sum x^2 is raised to -beta: below 0 that is NaN. */
    if (p->k < 0 || p->alpha < 0)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT,
                        "%s: lrn k = %g and alpha = %g must be >= 0 (the denominator k + alpha * sum x^2 must not be "
                        "negative)",
                        l->name, p->k, p->alpha);
    if ((unsigned)p->alpha_mode > CLY_LRN_ALPHA_RAW)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: alpha_mode %d is not over_size (0) or raw (1)",
                        l->name, (int)p->alpha_mode);
    return CLY_SUCCESS;
}

static cly_status infer(cly_graph *g, cly_node *n)
{
    return cly_rule_output(g, n, cly_input_shape(g, n, 0), n->layer.p.lrn.size);
}

static cly_status forward(cly_net *net, size_t id)
{
    return cly_lrn_forward(net->ctx, cly_net_in_shape(net, id), &net->graph->nodes[id].layer.p.lrn,
                           cly_op_x(net, id), cly_op_y(net, id));
}

static cly_status backward(cly_net *net, size_t id, const int64_t *pos)
{
    cly_buf dx;
    float beta;
    if (!cly_net_input_grad(net, id, 0, pos, &dx, &beta))
        return CLY_SUCCESS;
    return cly_lrn_backward(net->ctx, cly_net_in_shape(net, id), &net->graph->nodes[id].layer.p.lrn,
                            cly_op_x(net, id), cly_op_y(net, id), cly_net_grad(net, id), dx, beta);
}

static unsigned backward_reads(const cly_node *n)
{
    (void)n;
    return CLY_BWD_READS_X | CLY_BWD_READS_Y;
}

const cly_op cly_op_lrn = {
    .name = "lrn",
    .min_inputs = 1,
    .max_inputs = 1,
    .keys = keys,
    .check = check,
    .infer = infer,
    .forward = forward,
    .backward = backward,
    .backward_reads = backward_reads,
};
