/* batchnorm: per-channel normalisation. Inference uses the running
 * statistics (and runs in place); training normalises with the batch's,
 * keeps its mean and 1/std for backward (and its variance for
 * cly_net_get_batch_stats), and moves the running ones. */
#include "ops/ops.h"

#include <math.h>

#define EPSILON_DEFAULT 1e-5
#define MOMENTUM_DEFAULT 0.1

static const cly_key keys[] = {
    {.name = "eps", .kind = CLY_KEY_REAL, .offset = offsetof(cly_layer, p.batchnorm.epsilon), .dflt = EPSILON_DEFAULT},
    {.name = "momentum", .kind = CLY_KEY_REAL, .offset = offsetof(cly_layer, p.batchnorm.momentum), .dflt = MOMENTUM_DEFAULT},
    {.name = NULL},
};

static cly_status check(cly_layer *l)
{
    cly_batchnorm_params *p = &l->p.batchnorm;
    if (!isfinite(p->epsilon) || p->epsilon < 0)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: epsilon = %g must be finite and >= 0 (0 means 1e-5)",
                        l->name, p->epsilon);
    if (!isfinite(p->momentum) || p->momentum < 0 || p->momentum > 1)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: momentum = %g must be in [0, 1] (0 means 0.1)",
                        l->name, p->momentum);
    if (p->epsilon == 0)
        p->epsilon = EPSILON_DEFAULT;
    if (p->momentum == 0)
        p->momentum = MOMENTUM_DEFAULT;
    return CLY_SUCCESS;
}

static cly_status infer(cly_graph *g, cly_node *n)
{
    cly_shape in = cly_input_shape(g, n, 0);
    CLY_CHECK(cly_rule_output(g, n, in, 1));
    if (!CLY_PRODUCT(&n->biases, 2, in.c))
        return cly_rule_overflow(g, n, "scale and shift count");
    return CLY_SUCCESS;
}

static cly_status compile(cly_net *net, size_t id)
{
    if (net->options.mode == CLY_MODE_TRAINING)
        net->layers[id].aux_elems = 3 * net->graph->nodes[id].out.c; /* batch mean, 1/std, variance */
    return CLY_SUCCESS;
}

/* Parameters: scale (WEIGHTS), shift (BIAS), running MEAN and VAR. */
static cly_status forward(cly_net *net, size_t id)
{
    const cly_batchnorm_params *p = &net->graph->nodes[id].layer.p.batchnorm;
    cly_shape in = cly_net_in_shape(net, id);
    cly_buf x = cly_op_x(net, id), y = cly_op_y(net, id);
    cly_buf scale = cly_net_param(net, id, CLY_PARAM_WEIGHTS), shift = cly_net_param(net, id, CLY_PARAM_BIAS);
    cly_buf mean = cly_net_param(net, id, CLY_PARAM_MEAN), var = cly_net_param(net, id, CLY_PARAM_VAR);
    if (net->training_pass)
        return cly_batchnorm_train_forward(net->ctx, in, p->epsilon, p->momentum, x, scale, shift, mean, var,
                                           cly_net_aux(net, id, 0), cly_net_aux(net, id, in.c),
                                           cly_net_aux(net, id, 2 * in.c), y);
    return cly_batchnorm_forward(net->ctx, in, p->epsilon, x, scale, shift, mean, var, y);
}

static cly_status backward(cly_net *net, size_t id, const int64_t *pos)
{
    cly_shape in = cly_net_in_shape(net, id);
    cly_buf dx;
    float beta;
    cly_net_input_grad(net, id, 0, pos, &dx, &beta);
    if (net->bind && net->bind->frozen)
        return cly_batchnorm_frozen_backward(net->ctx, in, net->graph->nodes[id].layer.p.batchnorm.epsilon,
                                             cly_op_x(net, id), cly_net_param(net, id, CLY_PARAM_WEIGHTS),
                                             cly_net_param(net, id, CLY_PARAM_MEAN),
                                             cly_net_param(net, id, CLY_PARAM_VAR), cly_net_grad(net, id), dx,
                                             cly_net_param_grad(net, id, CLY_PARAM_WEIGHTS),
                                             cly_net_param_grad(net, id, CLY_PARAM_BIAS));
    return cly_batchnorm_backward(net->ctx, in, cly_op_x(net, id), cly_net_param(net, id, CLY_PARAM_WEIGHTS),
                                  cly_net_aux(net, id, 0), cly_net_aux(net, id, in.c), cly_net_grad(net, id), dx,
                                  cly_net_param_grad(net, id, CLY_PARAM_WEIGHTS),
                                  cly_net_param_grad(net, id, CLY_PARAM_BIAS), beta);
}

static unsigned backward_reads(const cly_node *n)
{
    (void)n;
    return CLY_BWD_READS_X;
}

const cly_op cly_op_batchnorm = {
    .name = "batchnorm",
    .min_inputs = 1,
    .max_inputs = 1,
    .flags = CLY_OP_IN_PLACE_INFERENCE | CLY_OP_NORM_PARAMS,
    .keys = keys,
    .check = check,
    .infer = infer,
    .compile = compile,
    .forward = forward,
    .backward = backward,
    .backward_reads = backward_reads,
};
