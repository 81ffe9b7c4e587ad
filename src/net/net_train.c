/* Training: the training-mode memory plan, loss, backward pass in reverse
 * topological order (each layer through its op), gradient accumulation and
 * optimiser updates.
 *
 * Steps are numbered forward 0 .. n-1 (topological position), the loss n,
 * and the backward of the layer at position s is 2n - s. An activation
 * lives from its forward step to its own backward step (every consumer's
 * backward comes earlier), a gradient from its first writer (the consumer
 * latest in topological order) to the backward step that reads it. */
#include "net/net.h"
#include "net/net_profile.h"
#include "base/options.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

bool cly_net_default_scores(const cly_graph *g, size_t *id, bool *through_softmax, size_t *outputs)
{
    size_t out = 0;
    *outputs = 0;
    for (size_t i = 0; i < g->count; i++)
        if (g->nodes[i].consumers == 0 && g->nodes[i].layer.type != CLY_LAYER_INPUT) {
            ++*outputs;
            out = i;
        }
    if (*outputs != 1)
        return false;
    *through_softmax = g->nodes[out].layer.type == CLY_LAYER_SOFTMAX;
    *id = *through_softmax ? g->nodes[out].input_ids[0] : out;
    return true;
}

cly_status cly_net_plan_training(cly_net *net)
{
    const cly_graph *g = net->graph;
    size_t n = g->count;
    int64_t end = 2 * (int64_t)n + 1, loss_step = (int64_t)n;
    free(net->plan);
    net->plan = calloc(2 * n, sizeof *net->plan);
    int64_t *pos = calloc(n, sizeof *pos);
    if (!net->plan || !pos) {
        free(pos);
        return cly_fail(net->ctx, CLY_ERROR_OUT_OF_HOST_MEMORY, "cly_net_create: training plan");
    }
    for (size_t s_i = 0; s_i < n; s_i++)
        pos[g->order[s_i]] = (int64_t)s_i;
    /* Gradient sources: the outputs and kept layers (a caller's loss may
     * start anywhere there) and the built-in loss's scores. Every value
     * they depend on gets gradient storage. */
    for (size_t i = 0; i < n; i++) {
        const cly_node *node = &g->nodes[i];
        net_layer *L = &net->layers[i];
        L->grad_source = node->layer.type != CLY_LAYER_INPUT &&
                         (node->consumers == 0 || cly_net_is_kept(net, node->name) ||
                          (net->has_scores && i == net->scores_id));
        L->grad_slot = L->grad_source;
        L->needs_grad = L->dy_set = false;
    }
    net->backward_done = net->forward_ready = net->input_grads_ready = false;
    for (size_t s_i = n; s_i-- > 0;) {
        size_t id = g->order[s_i];
        if (!net->layers[id].grad_slot)
            continue;
        for (size_t k = 0; k < g->nodes[id].layer.input_count; k++)
            net->layers[g->nodes[id].input_ids[k]].grad_slot = true;
    }
    net->aux_elems = 0;
    for (size_t i = 0; i < n; i++) {
        const cly_node *node = &g->nodes[i];
        net_layer *L = &net->layers[i];
        int64_t bwd = 2 * (int64_t)n - pos[i];
        cly_plan_value *v = &net->plan[i], *gv = &net->plan[n + i];
        *v = (cly_plan_value){.size = node->activations, .first = pos[i], .last = bwd, .share = -1};
        if (node->layer.type == CLY_LAYER_INPUT)
            v->first = 0;
        /* A kept value must survive the backward pass too. */
        if (node->consumers == 0 || node->layer.type == CLY_LAYER_INPUT || cly_net_is_kept(net, node->name))
            v->last = end;
        *gv = (cly_plan_value){.size = 0, .first = bwd, .last = bwd, .share = -1};
        if (L->grad_slot) {
            gv->size = node->activations;
            gv->last = node->layer.type == CLY_LAYER_INPUT || L->grad_source ? end : bwd;
        }
        /* State kept from forward for backward, sized by the op's compile. */
        L->aux_offset = net->aux_elems;
        net->aux_elems += L->aux_elems;
        if (node->activations > net->largest_elems)
            net->largest_elems = node->activations;
    }
    /* A gradient is first written by its consumer latest in topological
     * order (earliest backward step). A source's is written by the loss or
     * the caller before backward starts and lives to the end: alive with
     * every activation, it shares storage with none, so a caller's gradient
     * may be set at any time and its result read after the pass. */
    for (size_t i = 0; i < n; i++) {
        const cly_node *node = &g->nodes[i];
        for (size_t k = 0; k < node->layer.input_count; k++) {
            cly_plan_value *gv = &net->plan[n + node->input_ids[k]];
            int64_t bwd = 2 * (int64_t)n - pos[i];
            if (bwd < gv->first)
                gv->first = bwd;
        }
    }
    for (size_t i = 0; i < n; i++)
        if (net->layers[i].grad_source)
            net->plan[n + i].first = loss_step;
    free(pos);
    net->activation_elems = g->total_activations;
    net->arena_elems = cly_plan_arena(net->plan, 2 * n);
    if (net->arena_elems < 0)
        return cly_fail(net->ctx, CLY_ERROR_OUT_OF_HOST_MEMORY, "cly_net_create: training plan");
    return CLY_SUCCESS;
}

cly_status cly_net_zeroed_like_params(cly_net *net, const char *caller, const char *what, cl_mem *out)
{
    cl_mem mem = NULL;
    cly_status s = cly_net_alloc(net, caller, net->param_elems, what, &mem);
    if (s == CLY_SUCCESS)
        s = cly_fill_reals(net->ctx, mem, 0, net->param_elems, 0.0, caller);
    if (s != CLY_SUCCESS) {
        /* Not kept half made: a buffer whose fill failed holds garbage. */
        if (mem)
            clReleaseMemObject(mem);
        return s;
    }
    *out = mem;
    return CLY_SUCCESS;
}

/* What cly_net_plan_training changes, kept to be put back. */
typedef struct plan_state {
    cly_plan_value *plan;
    net_layer *layers;
    int64_t arena_elems, aux_elems, largest_elems, activation_elems;
    bool has_scores, backward_done, forward_ready, input_grads_ready;
    size_t scores_id;
} plan_state;

/* Plan again for another scores layer and allocate the arena that plan
 * needs; on failure the net is as it was (old plan, old arena). The arena's
 * contents do not carry over: inputs must be set again. */
static cly_status replan(cly_net *net, bool have, size_t scores)
{
    size_t n = net->graph->count;
    plan_state old = {.plan = net->plan, .layers = malloc(n * sizeof *net->layers),
                      .arena_elems = net->arena_elems, .aux_elems = net->aux_elems,
                      .largest_elems = net->largest_elems, .activation_elems = net->activation_elems,
                      .has_scores = net->has_scores, .backward_done = net->backward_done,
                      .forward_ready = net->forward_ready, .input_grads_ready = net->input_grads_ready,
                      .scores_id = net->scores_id};
    if (!old.layers)
        return cly_fail(net->ctx, CLY_ERROR_OUT_OF_HOST_MEMORY, "cly_net_set_training: %zu layers", n);
    memcpy(old.layers, net->layers, n * sizeof *net->layers);
    net->plan = NULL; /* cly_net_plan_training frees the plan it replaces */
    net->scores_id = scores;
    net->has_scores = have;
    cl_mem arena = NULL;
    cly_status s = cly_net_plan_training(net);
    if (s == CLY_SUCCESS)
        s = cly_net_alloc(net, "cly_net_set_training", net->arena_elems, "activation arena", &arena);
    if (s != CLY_SUCCESS) {
        free(net->plan);
        net->plan = old.plan;
        memcpy(net->layers, old.layers, n * sizeof *net->layers);
        net->arena_elems = old.arena_elems;
        net->aux_elems = old.aux_elems;
        net->largest_elems = old.largest_elems;
        net->activation_elems = old.activation_elems;
        net->has_scores = old.has_scores;
        net->scores_id = old.scores_id;
        net->backward_done = old.backward_done;
        net->forward_ready = old.forward_ready;
        net->input_grads_ready = old.input_grads_ready;
        free(old.layers);
        return s;
    }
    free(old.plan);
    free(old.layers);
    clReleaseMemObject(net->arena);
    net->arena = arena;
    return CLY_SUCCESS;
}

/* Each field against its range, NaN and infinities included (a NaN fails
 * every comparison, so each test is written as "not inside"). Zero stands
 * for the default where the header says so. */
static cly_status check_train_params(cly_context *ctx, const cly_train_params *t)
{
    static const char who[] = "cly_net_set_training";
    const struct {
        const char *name;
        double value;
        bool ok;
        const char *range;
    } reals[] = {
        {"learning_rate", t->learning_rate, t->learning_rate > 0 && isfinite(t->learning_rate), "finite and > 0"},
        {"momentum", t->momentum, t->momentum >= 0 && t->momentum < 1, "in [0, 1)"},
        {"weight_decay", t->weight_decay, t->weight_decay >= 0 && isfinite(t->weight_decay), "finite and >= 0"},
        {"svm_margin", t->svm_margin, t->svm_margin >= 0 && isfinite(t->svm_margin), "finite and >= 0"},
        {"lr_gamma", t->lr_gamma, t->lr_gamma >= 0 && isfinite(t->lr_gamma), "finite and >= 0"},
        {"adam_beta1", t->adam_beta1, t->adam_beta1 >= 0 && t->adam_beta1 < 1, "in [0, 1)"},
        {"adam_beta2", t->adam_beta2, t->adam_beta2 >= 0 && t->adam_beta2 < 1, "in [0, 1)"},
        {"adam_epsilon", t->adam_epsilon, t->adam_epsilon >= 0 && isfinite(t->adam_epsilon), "finite and >= 0"},
    };
    for (size_t k = 0; k < sizeof reals / sizeof reals[0]; k++)
        if (!reals[k].ok)
            return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: %s must be %s (got %g)", who, reals[k].name,
                            reals[k].range, reals[k].value);
    if (t->accumulate < 0 || t->lr_step < 0)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: %s must be >= 0 (got %lld)", who,
                        t->accumulate < 0 ? "accumulate" : "lr_step",
                        (long long)(t->accumulate < 0 ? t->accumulate : t->lr_step));
    if ((unsigned)t->loss > CLY_LOSS_SVM)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: unknown loss %d", who, (int)t->loss);
    if ((unsigned)t->optimizer > CLY_OPTIMIZER_ADAM)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: unknown optimizer %d", who, (int)t->optimizer);
    return CLY_SUCCESS;
}

cly_status cly_net_set_training(cly_net *net, const cly_train_params *p)
{
    if (!net || !p)
        return cly_fail(net ? net->ctx : NULL, CLY_ERROR_INVALID_ARGUMENT,
                        "cly_net_set_training: net and params must not be NULL");
    cly_status s = cly_net_usable(net, "cly_net_set_training");
    if (s != CLY_SUCCESS)
        return s;
    if (net->options.mode != CLY_MODE_TRAINING)
        return cly_fail(net->ctx, CLY_ERROR_INVALID_ARGUMENT,
                        "cly_net_set_training: the net was created for inference; create it with CLY_MODE_TRAINING");
    cly_train_params t;
    s = CLY_OPTIONS_COPY(net->ctx, &t, p, cly_train_params, scores, "cly_net_set_training");
    if (s != CLY_SUCCESS)
        return s;
    if ((s = check_train_params(net->ctx, &t)) != CLY_SUCCESS)
        return s;
    if (t.svm_margin == 0)
        t.svm_margin = 1.0;
    if (t.adam_beta1 == 0)
        t.adam_beta1 = 0.9;
    if (t.adam_beta2 == 0)
        t.adam_beta2 = 0.999;
    if (t.adam_epsilon == 0)
        t.adam_epsilon = 1e-8;
    if (t.lr_gamma == 0)
        t.lr_gamma = 0.1;
    if (t.accumulate == 0)
        t.accumulate = 1;

    /* The built-in loss needs C x 1 x 1 scores. A named layer must have
     * them; a default one that lacks them (several outputs, or a single
     * output of another shape) leaves the net without scores, for a loss
     * of the caller's own (cly_net_backward); train_batch then refuses. */
    size_t scores = 0, outputs = 0;
    bool through_softmax = false, have = false;
    if (t.scores) {
        const cly_node *node = cly_net_find_node(net->graph, t.scores);
        if (!node)
            return cly_fail(net->ctx, CLY_ERROR_INVALID_ARGUMENT, "cly_net_set_training: no scores layer '%s'",
                            t.scores);
        scores = (size_t)(node - net->graph->nodes);
        for (size_t k = 0; k < net->graph->count; k++) {
            const cly_node *c = &net->graph->nodes[k];
            if (c->layer.type == CLY_LAYER_SOFTMAX && c->input_ids[0] == scores && c->consumers == 0)
                through_softmax = true;
        }
        have = true;
    } else {
        have = cly_net_default_scores(net->graph, &scores, &through_softmax, &outputs);
    }
    const cly_node *sn = &net->graph->nodes[scores];
    bool class_scores = sn->out.h == 1 && sn->out.w == 1 && sn->out.c >= 2;
    if (t.scores && !class_scores)
        return cly_fail(net->ctx, CLY_ERROR_INVALID_ARGUMENT,
                        "cly_net_set_training: scores layer '%s' is %lld x %lld x %lld per sample; a loss needs "
                        "C x 1 x 1 class scores with C >= 2",
                        sn->name, (long long)sn->out.c, (long long)sn->out.h, (long long)sn->out.w);
    have = have && class_scores;
    char *name = NULL;
    if (have) {
        if (!(name = malloc(strlen(sn->name) + 1)))
            return cly_fail(net->ctx, CLY_ERROR_OUT_OF_HOST_MEMORY, "cly_net_set_training");
        strcpy(name, sn->name);
    }
    /* Everything that can fail comes before the net changes: the buffers
     * it lacks are made (and zeroed) aside, then the plan for another
     * scores layer, which puts the old one back if it fails; only then
     * is anything committed. A failed call leaves the net as it was. */
    const char *who = "cly_net_set_training";
    enum { GRADS, BATCH_GRADS, MOMENT1, MOMENT2, BUFFERS };
    cl_mem *slot[BUFFERS] = {&net->grads, &net->grads_batch, &net->opt_m, &net->opt_v};
    const bool want[BUFFERS] = {true, t.accumulate > 1, true, t.optimizer == CLY_OPTIMIZER_ADAM};
    const char *const what[BUFFERS] = {"gradients", "batch gradients", "optimiser state", "optimiser state"};
    cl_mem fresh[BUFFERS] = {NULL};
    s = CLY_SUCCESS;
    for (int i = 0; i < BUFFERS && s == CLY_SUCCESS; i++)
        if (want[i] && !*slot[i])
            s = cly_net_zeroed_like_params(net, who, what[i], &fresh[i]);
    if (s == CLY_SUCCESS && (have != net->has_scores || (have && scores != net->scores_id)))
        s = replan(net, have, scores); /* another scores layer changes which gradients exist */
    if (s != CLY_SUCCESS) {
        for (int i = 0; i < BUFFERS; i++)
            if (fresh[i])
                clReleaseMemObject(fresh[i]);
        free(name);
        return s;
    }
    for (int i = 0; i < BUFFERS; i++)
        if (fresh[i])
            *slot[i] = fresh[i];
    free(net->scores_name);
    net->scores_name = name;
    t.scores = name;
    net->loss_through_softmax = through_softmax;
    net->train = t;
    net->training = true;
    return CLY_SUCCESS;
}

static cly_buf param_buf(const cly_net *net, cl_mem mem, size_t id, cly_param_kind kind)
{
    return (cly_buf){mem, net->layers[id].param_offset[kind]};
}

/* Beta for writing the gradient of `src` from consumer `id`: 0 when `id` is
 * its first writer (latest in topological order among the consumers this
 * pass runs backward through), 1 after it or over a caller's gradient. */
static float grad_beta(const cly_net *net, size_t src, size_t id, const int64_t *pos)
{
    const cly_node *s = &net->graph->nodes[src];
    if (net->layers[src].dy_set)
        return 1.0f;
    for (size_t k = 0; k < s->consumers; k++)
        if (net->layers[s->consumer_ids[k]].needs_grad && pos[s->consumer_ids[k]] > pos[id])
            return 1.0f;
    return 0.0f;
}

bool cly_net_input_grad(const cly_net *net, size_t id, size_t k, const int64_t *pos, cly_buf *dx, float *beta)
{
    const cly_graph *g = net->graph;
    const cly_node *node = &g->nodes[id];
    *dx = (cly_buf){NULL, 0};
    *beta = 0.0f;
    if (k >= node->layer.input_count)
        return false;
    size_t src = node->input_ids[k];
    if (net->bind) {
        /* A plan: the caller's buffer or none; the plan itself scales and accumulates. */
        *dx = net->bind->grads[src];
        return dx->mem != NULL;
    }
    if (!net->layers[src].needs_grad || (g->nodes[src].layer.type == CLY_LAYER_INPUT && !net->input_grads))
        return false;
    *dx = cly_net_grad(net, src);
    *beta = grad_beta(net, src, id, pos);
    for (size_t j = 0; j < k; j++)
        if (node->input_ids[j] == src)
            *beta = 1.0f; /* named twice (add x x): the second adds */
    return true;
}

cly_status cly_net_unfuse_relu(cly_net *net, size_t id)
{
    cly_buf dy = cly_net_grad(net, id);
    return cly_relu_backward(net->ctx, net->graph->nodes[id].activations, cly_net_value(net, id), dy, dy, 0.0f);
}

cly_status cly_net_backward_layer(cly_net *net, size_t id, const int64_t *pos)
{
    const cly_node *node = &net->graph->nodes[id];
    const cly_op *op = cly_op_of(node->layer.type);
    if (!net->layers[id].needs_grad || !op->backward)
        return CLY_SUCCESS;
    if (net->loss_pass && node->layer.type == CLY_LAYER_SOFTMAX && net->loss_through_softmax &&
        node->input_ids[0] == net->scores_id)
        return CLY_SUCCESS; /* the loss already gave the scores their gradient */
    return cly_net_name_layer(net, id, "backward", op->backward(net, id, pos));
}

static cly_status fill_zero(cly_net *net, cl_mem mem, int64_t elems)
{
    return cly_fill_reals(net->ctx, mem, 0, elems, 0.0, "training: clearing gradients");
}

cly_status cly_net_training_forward(cly_net *net)
{
    cly_status s0 = cly_net_save_stats(net, "training");
    if (s0 != CLY_SUCCESS)
        return s0;
    net->training_pass = true;
    cly_status s = cly_net_run_forward(net);
    net->training_pass = false;
    net->forward_ready = s == CLY_SUCCESS;
    net->stats_ready = net->stats_ready || s == CLY_SUCCESS;
    net->input_grads_ready = net->losses_ready = false;
    return s;
}

/* Mark the layers whose gradient this pass computes: the loss's scores or
 * the caller's sources, and everything they depend on. */
static void mark_needs_grad(cly_net *net)
{
    const cly_graph *g = net->graph;
    for (size_t i = 0; i < g->count; i++)
        net->layers[i].needs_grad = net->loss_pass ? i == net->scores_id : net->layers[i].dy_set;
    for (size_t s_i = g->count; s_i-- > 0;) {
        size_t id = g->order[s_i];
        if (!net->layers[id].needs_grad)
            continue;
        for (size_t k = 0; k < g->nodes[id].layer.input_count; k++)
            net->layers[g->nodes[id].input_ids[k]].needs_grad = true;
    }
}

cly_status cly_net_run_backward(cly_net *net)
{
    const cly_graph *g = net->graph;
    int64_t *pos = malloc(g->count * sizeof *pos);
    if (!pos)
        return cly_fail(net->ctx, CLY_ERROR_OUT_OF_HOST_MEMORY, "training: backward");
    for (size_t i = 0; i < g->count; i++)
        pos[g->order[i]] = (int64_t)i;
    if (net->loss_pass)
        for (size_t i = 0; i < g->count; i++)
            net->layers[i].dy_set = false; /* the loss alone starts this pass */
    mark_needs_grad(net);
    /* Activations die at their backward step: another backward needs
     * another forward. */
    net->forward_ready = false;
    cly_status s = CLY_SUCCESS;
    for (size_t i = g->count; i-- > 0 && s == CLY_SUCCESS;)
        if ((s = cly_net_backward_layer(net, g->order[i], pos)) == CLY_SUCCESS)
            s = cly_net_profile_mark(net, cly_prof_backward(g->count, i));
    free(pos);
    for (size_t i = 0; i < g->count; i++)
        net->layers[i].dy_set = false;
    net->backward_done = s == CLY_SUCCESS;
    return s;
}

/* Why the built-in loss has no scores layer, as a failure. */
static cly_status no_scores(cly_net *net, const char *what)
{
    size_t id = 0, outputs;
    bool through_softmax;
    if (!cly_net_default_scores(net->graph, &id, &through_softmax, &outputs))
        return cly_fail(net->ctx, CLY_ERROR_INVALID_ARGUMENT,
                        "%s: the graph has %zu outputs; name the scores layer in cly_train_params.scores", what,
                        outputs);
    const cly_node *sn = &net->graph->nodes[id];
    return cly_fail(net->ctx, CLY_ERROR_INVALID_ARGUMENT,
                    "%s: the built-in loss needs C x 1 x 1 class scores with C >= 2; '%s' is %lld x %lld x %lld "
                    "per sample (use cly_net_backward with a loss of your own)",
                    what, sn->name, (long long)sn->out.c, (long long)sn->out.h, (long long)sn->out.w);
}

cly_status cly_net_micro_forward(cly_net *net, const char *who, const int32_t *labels, int64_t count)
{
    const cly_graph *g = net->graph;
    cly_context *ctx = net->ctx;
    if (!net->training)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: call cly_net_set_training first", who);
    if (!net->has_scores)
        return no_scores(net, who);
    if (!labels)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: labels must not be NULL", who);
    if (count != net->options.batch)
        return cly_fail(ctx, CLY_ERROR_SHAPE_MISMATCH, "%s: %lld labels given for a batch of %lld", who,
                        (long long)count, (long long)net->options.batch);
    int64_t classes = g->nodes[net->scores_id].out.c;
    for (int64_t i = 0; i < count; i++)
        if (labels[i] < 0 || labels[i] >= classes)
            return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: label %lld is %d, outside [0, %lld)", who,
                            (long long)i, (int)labels[i], (long long)classes);
    /* Blocking: the caller may reuse `labels` as soon as this returns. */
    cl_int err = clEnqueueWriteBuffer(ctx->queue, net->labels, CL_TRUE, 0, (size_t)count * sizeof(int32_t), labels,
                                      0, NULL, NULL);
    if (err != CL_SUCCESS)
        return cly_fail_cl(ctx, err, "training: writing labels");
    cly_status s = fill_zero(net, net->grads_batch ? net->grads_batch : net->grads, net->param_elems);
    if (s == CLY_SUCCESS)
        s = cly_net_training_forward(net);
    return s;
}

cly_status cly_net_micro_backward(cly_net *net)
{
    const cly_graph *g = net->graph;
    cly_context *ctx = net->ctx;
    int64_t count = net->options.batch, classes = g->nodes[net->scores_id].out.c;
    cly_buf scores = cly_net_value(net, net->scores_id), dscores = cly_net_grad(net, net->scores_id);
    cly_buf lab = {net->labels, 0}, losses = {net->losses, 0};
    cly_status s = net->train.loss == CLY_LOSS_SVM
                       ? cly_svm_loss(ctx, count, classes, net->train.svm_margin, scores, lab, losses, dscores)
                       : cly_softmax_xent(ctx, count, classes, scores, lab, losses, dscores);
    s = cly_net_name_layer(net, net->scores_id, "loss", s);
    if (s == CLY_SUCCESS)
        s = cly_net_profile_mark(net, cly_prof_loss(g->count));
    if (s != CLY_SUCCESS)
        return s;
    net->loss_pass = true;
    s = cly_net_run_backward(net);
    net->loss_pass = false;
    if (s != CLY_SUCCESS)
        return s;
    net->losses_ready = true;
    net->grads_pending = true;
    return CLY_SUCCESS;
}

cly_status cly_net_loss_sum(cly_net *net, double *sum)
{
    int64_t count = net->options.batch;
    double *host = malloc((size_t)count * sizeof *host);
    if (!host)
        return cly_fail(net->ctx, CLY_ERROR_OUT_OF_HOST_MEMORY, "training: reading losses");
    cly_status s = cly_read_reals(net->ctx, net->losses, 0, host, sizeof *host, count, "training: reading losses");
    double total = 0;
    for (int64_t i = 0; i < count; i++)
        total += host[i];
    free(host);
    if (s == CLY_SUCCESS)
        *sum = total;
    return s;
}

/* Forward (training form), loss, backward. *loss gets the batch mean. */
static cly_status forward_backward(cly_net *net, const char *who, const int32_t *labels, int64_t count,
                                   double *loss)
{
    cly_status s = cly_net_micro_forward(net, who, labels, count);
    if (s == CLY_SUCCESS)
        s = cly_net_micro_backward(net);
    if (s != CLY_SUCCESS || !loss)
        return s;
    double sum = 0;
    if ((s = cly_net_loss_sum(net, &sum)) == CLY_SUCCESS)
        *loss = sum / (double)count;
    return s;
}

static cly_status train_batch(cly_net *net, const int32_t *labels, int64_t count, double *loss);
static cly_status compute_gradients(cly_net *net, const int32_t *labels, int64_t count, double *loss);

/* The learning rate of the next update under the step schedule. */
static double current_lr(const cly_net *net)
{
    double lr = net->train.learning_rate;
    if (net->train.lr_step > 0)
        lr *= pow(net->train.lr_gamma, (double)(net->updates / net->train.lr_step));
    return lr;
}

cly_status cly_net_optimiser_step(cly_net *net, double k)
{
    const cly_train_params *t = &net->train;
    /* Accumulated sums become means through the learning rate and decay:
     * for SGD, lr/k on the sum equals lr on the mean (decay scaled to
     * match); Adam is invariant to the gradient's scale but for epsilon. */
    /* Rounded to the context's precision before the division by k, as the
     * float32 results have always been computed (tests/net/hashes.txt). */
    double lr = cly_real_value(net->ctx, current_lr(net));
    for (size_t id = 0; id < net->graph->count; id++) {
        const net_layer *L = &net->layers[id];
        for (int kind = CLY_PARAM_WEIGHTS; kind <= CLY_PARAM_BIAS; kind++) {
            int64_t n = L->param_count[kind];
            if (n == 0)
                continue;
            /* L2 decay on weights only: biases and BN scale/shift are exempt,
             * as is usual (and as the notes' regularisation of W). */
            bool decay = kind == CLY_PARAM_WEIGHTS && !(cly_op_of(net->graph->nodes[id].layer.type)->flags & CLY_OP_NORM_PARAMS);
            cly_buf w = param_buf(net, net->params, id, kind), gr = param_buf(net, net->grads, id, kind);
            cly_buf m = param_buf(net, net->opt_m, id, kind);
            cly_status s;
            if (t->optimizer == CLY_OPTIMIZER_ADAM)
                s = cly_adam_step(net->ctx, n, lr, t->adam_beta1, t->adam_beta2, t->adam_epsilon * k,
                                  net->updates + 1, decay ? t->weight_decay * k : 0.0, w, gr, m,
                                  param_buf(net, net->opt_v, id, kind));
            else
                s = cly_sgd_step(net->ctx, n, lr / k, t->momentum, t->nesterov, decay ? t->weight_decay * k : 0.0, w,
                                 gr, m);
            if (s != CLY_SUCCESS)
                return cly_net_name_layer(net, id, kind == CLY_PARAM_WEIGHTS ? "update of the weights"
                                                                              : "update of the bias", s);
            net->moved = true; /* this array is updated: a later failure cannot be retried */
        }
    }
    net->updates++;
    return CLY_SUCCESS;
}

cly_status cly_net_decay_term(cly_net *net, double *out)
{
    *out = 0;
    if (net->train.weight_decay == 0)
        return CLY_SUCCESS;
    double *host = malloc((size_t)(net->param_elems > 0 ? net->param_elems : 1) * sizeof *host);
    if (!host)
        return cly_fail(net->ctx, CLY_ERROR_OUT_OF_HOST_MEMORY, "training: weight decay");
    cly_status s = cly_read_reals(net->ctx, net->params, 0, host, sizeof *host, net->param_elems,
                                  "training: weight decay");
    double sum = 0;
    for (size_t id = 0; id < net->graph->count && s == CLY_SUCCESS; id++) {
        if (cly_op_of(net->graph->nodes[id].layer.type)->flags & CLY_OP_NORM_PARAMS)
            continue;
        const net_layer *L = &net->layers[id];
        for (int64_t i = 0; i < L->param_count[CLY_PARAM_WEIGHTS]; i++) {
            double w = host[L->param_offset[CLY_PARAM_WEIGHTS] + i];
            sum += w * w;
        }
    }
    free(host);
    if (s != CLY_SUCCESS)
        return s;
    *out = 0.5 * net->train.weight_decay * sum;
    return CLY_SUCCESS;
}

cly_status cly_net_train_batch(cly_net *net, const int32_t *labels, int64_t count, double *loss)
{
    if (!net)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "cly_net_train_batch: net must not be NULL");
    cly_status s = cly_net_usable(net, "cly_net_train_batch");
    if (s != CLY_SUCCESS)
        return s;
    net->moved = net->stats_moved = false;
    bool pending = net->grads_pending;
    s = cly_net_settle(net, "cly_net_train_batch", train_batch(net, labels, count, loss));
    if (s != CLY_SUCCESS && !net->unusable[0])
        net->grads_pending = pending; /* as before the call: no half-made gradients to apply */
    return s;
}

static cly_status train_batch(cly_net *net, const int32_t *labels, int64_t count, double *loss)
{
    double reg = 0;
    cly_status s = loss ? cly_net_decay_term(net, &reg) : CLY_SUCCESS;
    if (s == CLY_SUCCESS)
        s = forward_backward(net, "cly_net_train_batch", labels, count, loss);
    if (s != CLY_SUCCESS)
        return s;
    if (loss)
        *loss += reg;
    if (net->grads_batch) {
        cly_buf sum = {net->grads, 0}, part = {net->grads_batch, 0};
        if ((s = cly_grad_accumulate(net->ctx, net->param_elems, part, sum, net->batches_seen ? 1.0f : 0.0f)) !=
            CLY_SUCCESS)
            return cly_fail(net->ctx, s, "training: accumulating gradients: %s", cly_last_error(net->ctx));
        net->moved = true; /* the cycle's sum has this batch: adding it again would count it twice */
    }
    net->passes++; /* new dropout masks for the next batch */
    if (++net->batches_seen < net->train.accumulate)
        return cly_net_profile_mark(net, cly_prof_update(net->graph->count));
    net->batches_seen = 0;
    if ((s = cly_net_optimiser_step(net, (double)net->train.accumulate)) != CLY_SUCCESS)
        return s;
    net->grads_pending = false;
    return cly_net_profile_mark(net, cly_prof_update(net->graph->count));
}

cly_status cly_net_compute_gradients(cly_net *net, const int32_t *labels, int64_t count, double *loss)
{
    if (!net)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "cly_net_compute_gradients: net must not be NULL");
    cly_status s = cly_net_usable(net, "cly_net_compute_gradients");
    if (s != CLY_SUCCESS)
        return s;
    net->moved = net->stats_moved = false;
    return cly_net_settle(net, "cly_net_compute_gradients", compute_gradients(net, labels, count, loss));
}

static cly_status compute_gradients(cly_net *net, const int32_t *labels, int64_t count, double *loss)
{
    /* Dropout masks stay those of the next training batch (passes is not
     * advanced), so repeated calls see one fixed function: gradient checks. */
    net->input_grads = true;
    cly_status s = forward_backward(net, "cly_net_compute_gradients", labels, count, loss);
    net->input_grads = false;
    if (s == CLY_SUCCESS && net->grads_batch) {
        cly_buf part = {net->grads_batch, 0}, sum = {net->grads, 0};
        s = cly_grad_accumulate(net->ctx, net->param_elems, part, sum, 0.0f);
    }
    net->input_grads_ready = s == CLY_SUCCESS;
    return s;
}

static cly_status get_gradient(const cly_net *net, const char *what, const char *layer, cly_param_kind kind, void *dst,
                               size_t host_size, int64_t count)
{
    if (!net || !net->grads)
        return cly_fail(net ? net->ctx : NULL, CLY_ERROR_INVALID_ARGUMENT,
                        "%s: no gradients yet: call cly_net_set_training or cly_net_backward first", what);
    cly_status s = cly_net_usable(net, what);
    if (s != CLY_SUCCESS)
        return s;
    const cly_node *node = cly_net_find_node(net->graph, layer);
    if (!node || (unsigned)kind > CLY_PARAM_BIAS || !dst)
        return cly_fail(net->ctx, CLY_ERROR_INVALID_ARGUMENT,
                        "%s: no layer '%s', kind %d not weights or bias, or dst NULL", what, layer ? layer : "(null)",
                        (int)kind);
    const net_layer *L = &net->layers[node - net->graph->nodes];
    if (count != L->param_count[kind])
        return cly_fail(net->ctx, CLY_ERROR_SHAPE_MISMATCH, "%s: %s has %lld values, not %lld", what, layer,
                        (long long)L->param_count[kind], (long long)count);
    return cly_read_reals(net->ctx, net->grads, L->param_offset[kind], dst, host_size, count, what);
}

static cly_status get_input_gradient(const cly_net *net, const char *what, const char *layer, void *dst,
                                     size_t host_size, int64_t count)
{
    if (!net || net->options.mode != CLY_MODE_TRAINING)
        return cly_fail(net ? net->ctx : NULL, CLY_ERROR_INVALID_ARGUMENT,
                        "%s: the net was not created with CLY_MODE_TRAINING", what);
    const cly_node *node = cly_net_find_node(net->graph, layer);
    if (!node || node->layer.type != CLY_LAYER_INPUT || !dst)
        return cly_fail(net->ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: '%s' is not an input layer, or dst is NULL", what,
                        layer ? layer : "(null)");
    size_t id = (size_t)(node - net->graph->nodes);
    if (count != node->activations)
        return cly_fail(net->ctx, CLY_ERROR_SHAPE_MISMATCH, "%s: %s has %lld values, not %lld", what, layer,
                        (long long)node->activations, (long long)count);
    if (!net->input_grads_ready)
        return cly_fail(net->ctx, CLY_ERROR_INVALID_ARGUMENT,
                        "%s: no input gradients: they come from cly_net_compute_gradients or cly_net_backward, "
                        "until the next forward pass", what);
    if (!net->layers[id].needs_grad)
        return cly_fail(net->ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: no gradient reached '%s' in the last backward pass",
                        what, layer);
    cly_buf gbuf = cly_net_grad(net, id);
    return cly_read_reals(net->ctx, gbuf.mem, gbuf.offset, dst, host_size, count, what);
}

cly_status cly_net_get_gradient(const cly_net *net, const char *layer, cly_param_kind kind, float *dst, int64_t count)
{
    return get_gradient(net, "cly_net_get_gradient", layer, kind, dst, sizeof *dst, count);
}

cly_status cly_net_get_gradient_f64(const cly_net *net, const char *layer, cly_param_kind kind, double *dst,
                                    int64_t count)
{
    return get_gradient(net, "cly_net_get_gradient_f64", layer, kind, dst, sizeof *dst, count);
}

cly_status cly_net_get_input_gradient(const cly_net *net, const char *layer, float *dst, int64_t count)
{
    return get_input_gradient(net, "cly_net_get_input_gradient", layer, dst, sizeof *dst, count);
}

cly_status cly_net_get_input_gradient_f64(const cly_net *net, const char *layer, double *dst, int64_t count)
{
    return get_input_gradient(net, "cly_net_get_input_gradient_f64", layer, dst, sizeof *dst, count);
}

int64_t cly_net_updates(const cly_net *net)
{
    return net ? net->updates : 0;
}
