/* pool: max, average (padding counted or not) and L2 pooling over windows;
 * training keeps max pooling's switches (argmax) for backward. */
#include "ops/ops.h"
#include "base/shape.h"

/* Written in this order, but the pool kind first (netfile_write.c). */
static const cly_key keys[] = {
    {.name = "size", .kind = CLY_KEY_HW, .offset = offsetof(cly_layer, p.pool.size), .required = true},
    {.name = "stride", .kind = CLY_KEY_HW, .offset = offsetof(cly_layer, p.pool.stride), .dflt = 1},
    {.name = "pad", .kind = CLY_KEY_PAD, .offset = offsetof(cly_layer, p.pool.pad)},
    {.name = "round", .kind = CLY_KEY_ENUM, .offset = offsetof(cly_layer, p.pool.rounding), .choices = cly_rounding_names},
    {.name = "max", .kind = CLY_KEY_CHOICE, .offset = offsetof(cly_layer, p.pool.kind), .value = CLY_POOL_MAX, .dflt = CLY_POOL_MAX},
    {.name = "avg", .kind = CLY_KEY_CHOICE, .offset = offsetof(cly_layer, p.pool.kind), .value = CLY_POOL_AVG, .dflt = CLY_POOL_MAX},
    {.name = "l2", .kind = CLY_KEY_CHOICE, .offset = offsetof(cly_layer, p.pool.kind), .value = CLY_POOL_L2, .dflt = CLY_POOL_MAX},
    {.name = "exclude_pad", .kind = CLY_KEY_FLAG, .offset = offsetof(cly_layer, p.pool.avg_exclude_pad), .needs = "avg",
     .needs_text = "applies to avg pooling only"},
    {.name = NULL},
};

static cly_status check(cly_layer *l)
{
    cly_pool_params *p = &l->p.pool;
    if ((unsigned)p->kind > CLY_POOL_L2)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: pool kind %d is not max (0), avg (1) or l2 (2)",
                        l->name, (int)p->kind);
    CLY_CHECK(cly_rule_int(l, "size.h", p->size.h, 1, false));
    CLY_CHECK(cly_rule_int(l, "size.w", p->size.w, 1, false));
    CLY_CHECK(cly_rule_default1(l, "stride.h", &p->stride.h));
    CLY_CHECK(cly_rule_default1(l, "stride.w", &p->stride.w));
    CLY_CHECK(cly_rule_pad(l, &p->pad));
    CLY_CHECK(cly_rule_rounding(l, p->rounding));
    /* A pad as wide as the window would let a window lie wholly in the
     * padding: max would give -inf, an average would divide by nothing. */
    if (p->pad.top >= p->size.h || p->pad.bottom >= p->size.h || p->pad.left >= p->size.w ||
        p->pad.right >= p->size.w)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT,
                        "%s: padding (top %lld, bottom %lld, left %lld, right %lld) must be smaller than the window "
                        "%lldx%lld",
                        l->name, (long long)p->pad.top, (long long)p->pad.bottom, (long long)p->pad.left,
                        (long long)p->pad.right, (long long)p->size.h, (long long)p->size.w);
    return CLY_SUCCESS;
}

static cly_status infer(cly_graph *g, cly_node *n)
{
    const cly_pool_params *p = &n->layer.p.pool;
    cly_shape in = cly_input_shape(g, n, 0);
    int64_t oh, ow;
    CLY_CHECK(cly_rule_windows(g, n, in, p->size, p->stride, p->pad, (cly_hw){1, 1}, p->rounding,
                               CLY_WINDOW_POOL_FORM, &oh, &ow));
    int64_t window;
    if (!CLY_PRODUCT(&window, p->size.h, p->size.w))
        return cly_rule_overflow(g, n, "window size");
    return cly_rule_output(g, n, (cly_shape){in.n, in.c, oh, ow}, window);
}

static cly_status compile(cly_net *net, size_t id)
{
    const cly_node *node = &net->graph->nodes[id];
    net_layer *L = &net->layers[id];
    char msg[256];
    bool rounded;
    if (!cly_pool_geom_make(&node->layer.p.pool, cly_net_in_shape(net, id), &L->pool, &rounded, msg, sizeof msg))
        return cly_fail(net->ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: %s", node->name, msg);
    if (net->options.mode == CLY_MODE_TRAINING && L->pool.kind == CLY_POOL_MAX)
        L->aux_elems = node->activations; /* int32 switches */
    return CLY_SUCCESS;
}

static cly_status forward(cly_net *net, size_t id)
{
    const net_layer *L = &net->layers[id];
    bool switches = net->training_pass && L->pool.kind == CLY_POOL_MAX;
    return cly_pool_forward(net->ctx, &L->pool, cly_op_x(net, id), cly_op_y(net, id),
                            switches ? cly_net_aux(net, id, 0) : CLY_NO_BUF);
}

static cly_status backward(cly_net *net, size_t id, const int64_t *pos)
{
    cly_buf dx;
    float beta;
    if (!cly_net_input_grad(net, id, 0, pos, &dx, &beta))
        return CLY_SUCCESS;
    return cly_pool_backward(net->ctx, &net->layers[id].pool, cly_op_x(net, id), cly_op_y(net, id),
                             cly_net_aux(net, id, 0), cly_net_grad(net, id), dx, beta);
}

/* The pool kind, and how the output size was rounded. */
static void summary_note(const cly_node *n, void (*note)(char *buf, const char *text), char *buf)
{
    const cly_pool_params *p = &n->layer.p.pool;
    note(buf, cly_pool_kind_names[p->kind]);
    if (n->rounded)
        note(buf, p->rounding == CLY_ROUND_CEIL ? "rounded: ceil" : "rounded: floor");
}

/* L2's gradient divides by y and multiplies by x; max reads its switches. */
static unsigned backward_reads(const cly_node *n)
{
    return n->layer.p.pool.kind == CLY_POOL_L2 ? CLY_BWD_READS_X | CLY_BWD_READS_Y : 0;
}

const cly_op cly_op_pool = {
    .name = "pool",
    .min_inputs = 1,
    .max_inputs = 1,
    .keys = keys,
    .check = check,
    .infer = infer,
    .compile = compile,
    .forward = forward,
    .backward = backward,
    .summary_note = summary_note,
    .backward_reads = backward_reads,
};
