/* relu: y = max(x, 0), and its bounded (ReLU6) and leaky variants; in
 * place when it is its input's only reader; in an inference net a plain
 * ReLU over a conv or FC it alone reads runs in that layer's epilogue
 * instead (net.c). */
#include "ops/ops.h"

#include <math.h>
#include <stdio.h>

static const cly_key keys[] = {
    {.name = "max", .kind = CLY_KEY_REAL, .offset = offsetof(cly_layer, p.relu.max)},
    {.name = "slope", .kind = CLY_KEY_REAL, .offset = offsetof(cly_layer, p.relu.slope)},
    {.name = NULL},
};

static cly_status check(cly_layer *l)
{
    const cly_relu_params *p = &l->p.relu;
    if (!isfinite(p->max) || p->max < 0 || !(p->slope >= 0 && p->slope < 1))
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT,
                        "%s: relu max = %g must be finite and > 0 (0: none), slope = %g in [0, 1)", l->name, p->max,
                        p->slope);
    return CLY_SUCCESS;
}

static bool plain(const cly_node *n)
{
    return cly_relu_is_plain(&n->layer);
}

static cly_status forward(cly_net *net, size_t id)
{
    const cly_node *n = &net->graph->nodes[id];
    if (net->layers[id].fused)
        return CLY_SUCCESS;
    if (!plain(n))
        return cly_relu_bounded_forward(net->ctx, n->activations, n->layer.p.relu.slope, n->layer.p.relu.max,
                                        cly_op_x(net, id), cly_op_y(net, id));
    return cly_relu_forward(net->ctx, n->activations, cly_op_x(net, id), cly_op_y(net, id));
}

static cly_status backward(cly_net *net, size_t id, const int64_t *pos)
{
    cly_buf dx;
    float beta;
    if (!cly_net_input_grad(net, id, 0, pos, &dx, &beta))
        return CLY_SUCCESS;
    const cly_node *n = &net->graph->nodes[id];
    if (!plain(n))
        return cly_relu_bounded_backward(net->ctx, n->activations, n->layer.p.relu.slope, n->layer.p.relu.max,
                                         cly_op_y(net, id), cly_net_grad(net, id), dx, beta);
    return cly_relu_backward(net->ctx, n->activations, cly_op_y(net, id), cly_net_grad(net, id), dx, beta);
}

/* "max 6", "slope 0.01". */
static void summary_note(const cly_node *n, void (*note)(char *buf, const char *text), char *buf)
{
    char text[48];
    if (n->layer.p.relu.max > 0) {
        snprintf(text, sizeof text, "max %g", n->layer.p.relu.max);
        note(buf, text);
    }
    if (n->layer.p.relu.slope > 0) {
        snprintf(text, sizeof text, "slope %g", n->layer.p.relu.slope);
        note(buf, text);
    }
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
    .check = check,
    .infer = cly_infer_same,
    .forward = forward,
    .backward = backward,
    .backward_reads = backward_reads,
    .summary_note = summary_note,
};
