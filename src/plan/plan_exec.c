/* Plans: the calls. Each checks every tensor before anything is enqueued,
 * binds the tensors into the bare net (cly_net_binding), runs the op's
 * forward or backward hook, and scales into the outputs when alpha and beta
 * ask for it (out = alpha * result + beta * out, through scratch). */
#include "plan/plan.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef enum call { CALL_FORWARD, CALL_DATA, CALL_WEIGHTS, CALL_BOTH } call;

static const char *const call_names[] = {"cly_plan_forward", "cly_plan_backward_data", "cly_plan_backward_weights",
                                         "cly_plan_backward"};
static const char *const param_names[] = {"weights", "bias", "mean", "var"};

static bool wants_data(call c)
{
    return c == CALL_DATA || c == CALL_BOTH;
}

static bool wants_weights(call c)
{
    return c == CALL_WEIGHTS || c == CALL_BOTH;
}

static cly_buf tbuf(const cly_tensor *t)
{
    return t ? (cly_buf){t->buffer, t->offset} : (cly_buf){NULL, 0};
}

/* ---- checks */

/* An inference plan whose op's backward needs what only a training forward
 * records (max pooling's switches; batch norm has its frozen form). */
static bool backward_needs_training(const cly_plan *p)
{
    const cly_op *op = cly_op_of(p->graph->nodes[p->op].layer.type);
    return p->mode == CLY_MODE_INFERENCE && p->net->layers[p->op].aux_elems > 0 && !(op->flags & CLY_OP_NORM_PARAMS);
}

/* A tensor's role in a call, for the overlap check. */
typedef struct role {
    const char *name;
    size_t index; /* x[i], dx[i]; SIZE_MAX otherwise */
    const cly_tensor *t;
    bool written;
} role;

typedef struct checker {
    const cly_plan *p;
    const char *fn, *op; /* call and layer names for messages */
    role roles[2 * CLY_GRAPH_MAX_INPUTS + 12];
    size_t count;
} checker;

static void role_name(const role *r, char *buf, size_t size)
{
    if (r->index == SIZE_MAX)
        snprintf(buf, size, "%s", r->name);
    else
        snprintf(buf, size, "%s[%zu]", r->name, r->index);
}

/* A tensor the call needs (required) or may take: present when required,
 * of this plan's context, with `shape` (count_only: `count` elements; at
 * least `count` when at_least). */
static cly_status check_one(checker *k, const char *name, size_t index, const cly_tensor *t, bool required,
                            bool written, cly_shape shape, int64_t count, bool count_only, bool at_least)
{
    role r = {name, index, t, written};
    char what[48];
    role_name(&r, what, sizeof what);
    if (!t) {
        if (required)
            return cly_fail(k->p->ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: %s: %s must be given", k->op, k->fn, what);
        return CLY_SUCCESS;
    }
    if (t->ctx != k->p->ctx)
        return cly_fail(k->p->ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: %s: %s belongs to another context", k->op, k->fn,
                        what);
    if (count_only && (at_least ? t->count < count : t->count != count))
        return cly_fail(k->p->ctx, CLY_ERROR_SHAPE_MISMATCH, "%s: %s: %s has %lld elements; the op needs %s%lld", k->op,
                        k->fn, what, (long long)t->count, at_least ? "at least " : "", (long long)count);
    if (!count_only &&
        (t->shape.n != shape.n || t->shape.c != shape.c || t->shape.h != shape.h || t->shape.w != shape.w))
        return cly_fail(k->p->ctx, CLY_ERROR_SHAPE_MISMATCH, "%s: %s: %s is " CLY_SHAPE_FMT "; the op needs " CLY_SHAPE_FMT,
                        k->op, k->fn, what, CLY_SHAPE_ARGS(t->shape), CLY_SHAPE_ARGS(shape));
    k->roles[k->count++] = r;
    return CLY_SUCCESS;
}

/* In place means one handle: OpenCL leaves two overlapping sub-buffers
 * written through one and read through the other undefined. */
static bool same_range(const cly_tensor *a, const cly_tensor *b)
{
    return a->buffer == b->buffer && a->offset == b->offset && a->count == b->count;
}

/* Sees through sub-buffers (runtime/tensor.c). */
static bool overlap(const cly_tensor *a, const cly_tensor *b)
{
    return cly_tensors_overlap(a, b);
}

/* Outputs must not overlap inputs or each other, except an in-place op's
 * y over x[0] and dx[0] over dy (batch norm's backward too). */
static cly_status check_overlaps(const checker *k)
{
    const cly_node *n = &k->p->graph->nodes[k->p->op];
    unsigned flags = cly_op_of(n->layer.type)->flags;
    bool in_place = flags & CLY_OP_IN_PLACE, grad_in_place = in_place || (flags & CLY_OP_NORM_PARAMS);
    for (size_t i = 0; i < k->count; i++)
        for (size_t j = 0; j < k->count; j++) {
            const role *a = &k->roles[i], *b = &k->roles[j];
            if (i == j || !a->written || (b->written && j < i) || !overlap(a->t, b->t))
                continue;
            bool fwd = !strcmp(a->name, "y") && !strcmp(b->name, "x") && b->index == 0 && in_place;
            bool bwd = !strcmp(a->name, "dx") && a->index == 0 && !strcmp(b->name, "dy") && grad_in_place;
            if ((fwd || bwd) && same_range(a->t, b->t))
                continue;
            char an[48], bn[48];
            role_name(a, an, sizeof an);
            role_name(b, bn, sizeof bn);
            if (a->t->buffer != b->t->buffer) {
                char ar[160], br[160];
                cly_tensor_describe_range(a->t, ar, sizeof ar);
                cly_tensor_describe_range(b->t, br, sizeof br);
                return cly_fail(k->p->ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: %s: %s (%s) overlaps %s (%s)%s", k->op,
                                k->fn, an, ar, bn, br,
                                fwd || bwd ? "; in place it must be the same tensor range of one cl_mem" : "");
            }
            return cly_fail(k->p->ctx, CLY_ERROR_INVALID_ARGUMENT,
                            "%s: %s: %s overlaps %s (elements %lld..%lld and %lld..%lld of one buffer)%s", k->op,
                            k->fn, an, bn, (long long)a->t->offset, (long long)(a->t->offset + a->t->count - 1),
                            (long long)b->t->offset, (long long)(b->t->offset + b->t->count - 1),
                            fwd || bwd ? "; in place it must be the same range" : "");
        }
    return CLY_SUCCESS;
}

static cly_status check_call(checker *k, call c, const cly_op_tensors *t, double alpha, double beta)
{
    const cly_plan *p = k->p;
    const cly_node *n = &p->graph->nodes[p->op];
    const cly_op *op = cly_op_of(n->layer.type);
    const net_layer *L = &p->net->layers[p->op];
    unsigned reads = op->backward_reads ? op->backward_reads(n) : 0;
    bool training = p->mode == CLY_MODE_TRAINING, norm = op->flags & CLY_OP_NORM_PARAMS;
    bool has_params = cly_plan_has_params(p);
    cly_status s;
    if (!isfinite(alpha) || !isfinite(beta))
        return cly_fail(p->ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: %s: alpha = %g and beta = %g must be finite", k->op,
                        k->fn, alpha, beta);
    if (t->x && t->x_count != p->inputs)
        return cly_fail(p->ctx, CLY_ERROR_SHAPE_MISMATCH, "%s: %s: %zu inputs given (x_count); the op has %zu", k->op,
                        k->fn, t->x_count, p->inputs);
    if (c != CALL_FORWARD && !op->backward)
        return cly_fail(p->ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: %s: a %s layer has no backward pass", k->op, k->fn,
                        op->name);
    if (c == CALL_WEIGHTS && !has_params)
        return cly_fail(p->ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: %s: a %s layer has no parameters", k->op, k->fn,
                        op->name);
    if (c != CALL_FORWARD && backward_needs_training(p))
        return cly_fail(p->ctx, CLY_ERROR_INVALID_ARGUMENT,
                        "%s: %s: this op's backward needs what a training forward records; create the plan with "
                        "CLY_MODE_TRAINING",
                        k->op, k->fn);
    bool need_x = c == CALL_FORWARD || wants_weights(c) || (reads & CLY_BWD_READS_X);
    bool need_y = c == CALL_FORWARD || (reads & CLY_BWD_READS_Y);
    if (need_x && !t->x)
        return cly_fail(p->ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: %s: the inputs x must be given", k->op, k->fn);
    for (size_t i = 0; t->x && i < p->inputs; i++)
        if ((s = check_one(k, "x", i, t->x[i], need_x, false, p->graph->nodes[i].out, 0, false, false)) != CLY_SUCCESS)
            return s;
    if ((s = check_one(k, "y", SIZE_MAX, t->y, need_y, c == CALL_FORWARD, n->out, 0, false, false)) != CLY_SUCCESS)
        return s;
    /* Parameters: all of forward's; backward's data gradient reads the
     * weights (batch norm: scale, and the running statistics when frozen). */
    cly_tensor *const params[] = {t->weights, t->bias, t->mean, t->var};
    for (int i = 0; i < NET_PARAM_KINDS; i++) {
        int64_t want = L->param_count[i];
        bool required = want > 0 && (c == CALL_FORWARD || (i == CLY_PARAM_WEIGHTS && (wants_data(c) || norm)) ||
                                     (norm && !training && i >= CLY_PARAM_MEAN));
        if (want == 0 && params[i])
            return cly_fail(p->ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: %s: the op has no %s array", k->op, k->fn,
                            param_names[i]);
        /* A training forward writes batch norm's running statistics. */
        bool written = c == CALL_FORWARD && training && i >= CLY_PARAM_MEAN;
        if ((s = check_one(k, param_names[i], SIZE_MAX, params[i], required, written, n->out, want, true, false)) !=
            CLY_SUCCESS)
            return s;
    }
    int64_t reserve = training ? L->aux_elems : 0;
    bool reads_reserve = c == CALL_FORWARD || norm || !has_params;
    if (reserve == 0 && t->reserve)
        ; /* accepted and ignored: the caller may pass one reserve everywhere */
    else if ((s = check_one(k, "reserve", SIZE_MAX, t->reserve, reserve > 0 && reads_reserve, c == CALL_FORWARD,
                            n->out, reserve, true, true)) != CLY_SUCCESS)
        return s;
    if (c != CALL_FORWARD &&
        (s = check_one(k, "dy", SIZE_MAX, t->dy, true, false, n->out, 0, false, false)) != CLY_SUCCESS)
        return s;
    if (wants_data(c)) {
        size_t given = 0;
        for (size_t i = 0; t->dx && i < p->inputs; i++) {
            if ((s = check_one(k, "dx", i, t->dx[i], false, true, p->graph->nodes[i].out, 0, false, false)) !=
                CLY_SUCCESS)
                return s;
            given += t->dx[i] != NULL;
        }
        if (!given && c == CALL_DATA)
            return cly_fail(p->ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: %s: no dx given: nothing to compute", k->op,
                            k->fn);
    }
    if (wants_weights(c) && has_params) {
        if ((s = check_one(k, "dweights", SIZE_MAX, t->dweights, true, true, n->out, L->param_count[CLY_PARAM_WEIGHTS],
                           true, false)) != CLY_SUCCESS)
            return s;
        if (t->dbias && L->param_count[CLY_PARAM_BIAS] == 0)
            return cly_fail(p->ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: %s: the op has no bias (dbias given)", k->op,
                            k->fn);
        if ((s = check_one(k, "dbias", SIZE_MAX, t->dbias, false, true, n->out, L->param_count[CLY_PARAM_BIAS], true,
                           false)) != CLY_SUCCESS)
            return s;
    }
    bool scaled = !(alpha == 1.0 && beta == 0.0);
    int64_t need = cly_plan_workspace_need(p, scaled);
    if ((s = check_one(k, "workspace", SIZE_MAX, t->workspace, false, true, n->out, need, true, true)) != CLY_SUCCESS)
        return s;
    return check_overlaps(k);
}

/* ---- running */

typedef struct blend {
    cly_buf scratch, out;
    int64_t count;
} blend;

static int64_t round16(int64_t v)
{
    return (v + 15) / 16 * 16;
}

/* Run call c with b's values, grads and parameters bound to the caller's
 * buffers (outputs included: grads[i] are the dx, param_grad the dweights
 * and dbias), redirecting outputs to scratch after the op's workspace when
 * the result must be scaled. */
static cly_status run(cly_plan *p, call c, cly_net_binding *b, double alpha, double beta)
{
    cly_context *ctx = p->ctx;
    const cly_node *n = &p->graph->nodes[p->op];
    const cly_op *op = cly_op_of(n->layer.type);
    bool direct = alpha == 1.0 && beta == 0.0;
    blend blends[CLY_GRAPH_MAX_INPUTS + 3];
    size_t nb = 0;
    int64_t cursor = b->workspace.offset + round16(p->algo_ws);
    /* Move output *o to scratch of `count` elements, to be blended back. */
#define SCRATCH(o, count)                                                                        \
    do {                                                                                         \
        blends[nb++] = (blend){{b->workspace.mem, cursor}, *(o), (count)};                       \
        *(o) = (cly_buf){b->workspace.mem, cursor};                                              \
        cursor += round16(count);                                                                \
    } while (0)
    cly_status s = CLY_SUCCESS;
    p->net->bind = b;
    if (c == CALL_FORWARD) {
        if (!direct)
            SCRATCH(&b->values[p->op], n->activations);
        p->net->training_pass = p->mode == CLY_MODE_TRAINING;
        s = op->forward ? op->forward(p->net, p->op) : CLY_SUCCESS;
        p->net->training_pass = false;
    } else {
        if (cly_plan_fused_relu(p)) { /* the op masks dy in place: give it a copy */
            cly_buf copy = {b->workspace.mem, cursor};
            cursor += round16(n->activations);
            size_t size = cly_real_size(ctx);
            cl_int err = ctx->build_only ? CL_SUCCESS
                                         : clEnqueueCopyBuffer(ctx->queue, b->grads[p->op].mem, copy.mem,
                                                               (size_t)b->grads[p->op].offset * size,
                                                               (size_t)copy.offset * size,
                                                               (size_t)n->activations * size, 0, NULL, NULL);
            if (err != CL_SUCCESS)
                s = cly_fail_cl(ctx, err, "%s: copying dy", n->name);
            b->grads[p->op] = copy;
        }
        for (size_t i = 0; i < p->inputs; i++)
            if (!wants_data(c))
                b->grads[i] = (cly_buf){NULL, 0};
            else if (b->grads[i].mem && !direct)
                SCRATCH(&b->grads[i], p->graph->nodes[i].activations);
        b->param_grads = wants_weights(c) && cly_plan_has_params(p);
        for (int k = 0; k < 2; k++)
            if (!b->param_grads)
                b->param_grad[k] = (cly_buf){NULL, 0};
            else if (b->param_grad[k].mem && !direct)
                SCRATCH(&b->param_grad[k], p->net->layers[p->op].param_count[k]);
        if (s == CLY_SUCCESS)
            s = op->backward(p->net, p->op, p->pos);
    }
#undef SCRATCH
    p->net->bind = NULL;
    for (size_t i = 0; i < nb && s == CLY_SUCCESS; i++)
        s = cly_axpby(ctx, blends[i].count, alpha, blends[i].scratch, beta, blends[i].out);
    if (s != CLY_SUCCESS && strncmp(cly_last_error(ctx), n->name, strlen(n->name)) != 0)
        s = cly_fail(ctx, s, "%s: %s", n->name, cly_last_error(ctx));
    return s;
}

static cly_status own_workspace(cly_plan *p, int64_t need, cly_buf *out)
{
    if (p->own_ws_elems < need || !p->own_ws) {
        cl_int err;
        size_t bytes = (size_t)(need > 0 ? need : 1) * cly_real_size(p->ctx);
        cl_mem m = clCreateBuffer(p->ctx->cl, CL_MEM_READ_WRITE, bytes, NULL, &err);
        if (err != CL_SUCCESS)
            return cly_fail_cl(p->ctx, err, "%s: allocating the plan's workspace (%zu bytes)",
                               p->graph->nodes[p->op].name, bytes);
        if (p->own_ws)
            clReleaseMemObject(p->own_ws); /* released when the work using it is done */
        p->own_ws = m;
        p->own_ws_elems = need;
    }
    *out = (cly_buf){p->own_ws, 0};
    return CLY_SUCCESS;
}

static cly_status execute(cly_plan *p, call c, const cly_op_tensors *t, double alpha, double beta)
{
    if (!p)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: plan must not be NULL", call_names[c]);
    checker *k = malloc(sizeof *k);
    if (!k)
        return cly_fail(p->ctx, CLY_ERROR_OUT_OF_HOST_MEMORY, "%s", call_names[c]);
    k->p = p;
    k->fn = call_names[c];
    k->op = p->graph->nodes[p->op].name;
    k->count = 0;
    cly_status s = t ? check_call(k, c, t, alpha, beta)
                     : cly_fail(p->ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: %s: tensors must not be NULL", k->op, k->fn);
    free(k);
    if (s != CLY_SUCCESS)
        return s;
    cly_net_binding b = {
        .values = p->values,
        .grads = p->grads,
        .frozen = p->mode == CLY_MODE_INFERENCE,
        .seed = t->seed,
        .param = {tbuf(t->weights), tbuf(t->bias), tbuf(t->mean), tbuf(t->var)},
        .param_grad = {tbuf(t->dweights), tbuf(t->dbias)},
        .aux = p->mode == CLY_MODE_TRAINING ? tbuf(t->reserve) : (cly_buf){NULL, 0},
    };
    for (size_t i = 0; i < p->inputs; i++) {
        p->values[i] = tbuf(t->x ? t->x[i] : NULL);
        p->grads[i] = tbuf(t->dx ? t->dx[i] : NULL);
    }
    p->values[p->op] = tbuf(t->y);
    p->grads[p->op] = tbuf(t->dy);
    if (t->workspace)
        b.workspace = tbuf(t->workspace);
    else if ((s = own_workspace(p, cly_plan_workspace_need(p, !(alpha == 1.0 && beta == 0.0)), &b.workspace)) !=
             CLY_SUCCESS)
        return s;
    return run(p, c, &b, alpha, beta);
}

cly_status cly_plan_forward(cly_plan *plan, const cly_op_tensors *t, double alpha, double beta)
{
    return execute(plan, CALL_FORWARD, t, alpha, beta);
}

cly_status cly_plan_backward_data(cly_plan *plan, const cly_op_tensors *t, double alpha, double beta)
{
    return execute(plan, CALL_DATA, t, alpha, beta);
}

cly_status cly_plan_backward_weights(cly_plan *plan, const cly_op_tensors *t, double alpha, double beta)
{
    return execute(plan, CALL_WEIGHTS, t, alpha, beta);
}

cly_status cly_plan_backward(cly_plan *plan, const cly_op_tensors *t, double alpha, double beta)
{
    return execute(plan, CALL_BOTH, t, alpha, beta);
}

/* Every slot a distinct placeholder range of one small buffer: the
 * overlap checks of the kernels see distinct arrays, and nothing runs. */
cly_status cly_plan_build_kernels(cly_plan *p)
{
    cly_context *ctx = p->ctx;
    const net_layer *L = &p->net->layers[p->op];
    int64_t span = cly_plan_workspace_need(p, true) + L->aux_elems + 16;
    for (int k = 0; k < NET_PARAM_KINDS; k++)
        if (L->param_count[k] > span)
            span = L->param_count[k] + 16;
    cl_int err;
    cl_mem dummy = clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE, 64, NULL, &err);
    if (err != CL_SUCCESS)
        return cly_fail_cl(ctx, err, "cly_plan_create: a placeholder buffer");
    int64_t slot = 0;
#define PLACE() ((cly_buf){dummy, span * slot++})
    cly_net_binding b = {.values = p->values, .grads = p->grads, .frozen = p->mode == CLY_MODE_INFERENCE};
    for (size_t i = 0; i <= p->op; i++) {
        p->values[i] = PLACE();
        p->grads[i] = PLACE();
    }
    for (int k = 0; k < NET_PARAM_KINDS; k++) {
        b.param[k] = L->param_count[k] ? PLACE() : (cly_buf){NULL, 0};
        b.param_grad[k] = k < 2 && L->param_count[k] ? PLACE() : (cly_buf){NULL, 0};
    }
    b.aux = p->mode == CLY_MODE_TRAINING ? PLACE() : (cly_buf){NULL, 0};
    b.workspace = PLACE();
#undef PLACE
    ctx->build_only = true;
    cly_status s = run(p, CALL_FORWARD, &b, 1.0, 0.0);
    if (s == CLY_SUCCESS && cly_op_of(p->graph->nodes[p->op].layer.type)->backward && !backward_needs_training(p))
        s = run(p, cly_plan_has_params(p) ? CALL_BOTH : CALL_DATA, &b, 2.0, 1.0);
    ctx->build_only = false;
    clReleaseMemObject(dummy);
    return s;
}
