/* Nets: a graph compiled for one context and batch. Creation resolves each
 * layer's geometry and algorithm, lays out parameters in one buffer and plans
 * activations into one arena; forward walks the layers in topological order. */
#include "net/net.h"
#include "net/net_profile.h"
#include "base/options.h"

#include <stdlib.h>
#include <string.h>

static cly_status net_fail_oom(const cly_context *ctx, const char *what)
{
    return cly_fail(ctx, CLY_ERROR_OUT_OF_HOST_MEMORY, "cly_net_create: %s", what);
}

/* A flag per layer set at create: a scan of the keep list for every layer
 * would be quadratic when a caller keeps most of a deep net. */
bool cly_net_is_kept(const cly_net *net, const char *name)
{
    if (!net->options.keep_count)
        return false;
    ptrdiff_t id = cly_graph_find(net->graph, name);
    return id >= 0 && net->layers[id].kept;
}

/* Compile one layer through its op (geometry, algorithm, state, workspace),
 * then lay out its parameter arrays. */
static cly_status resolve_layer(cly_net *net, size_t id)
{
    cly_node *node = &net->graph->nodes[id];
    net_layer *L = &net->layers[id];
    const cly_op *op = cly_op_of(node->layer.type);
    L->algo = CLY_CONV_AUTO;
    cly_status s = op->compile ? op->compile(net, id) : CLY_SUCCESS;
    if (s != CLY_SUCCESS)
        return s;
    if (L->workspace_elems > net->workspace_elems)
        net->workspace_elems = L->workspace_elems;
    /* Parameter arrays, in the order of cly_param_kind. */
    int64_t sizes[NET_PARAM_KINDS];
    for (int k = 0; k < NET_PARAM_KINDS; k++)
        sizes[k] = cly_node_param_count(node, (cly_param_kind)k);
    for (int k = 0; k < NET_PARAM_KINDS; k++) {
        L->param_count[k] = sizes[k];
        L->param_offset[k] = net->param_elems;
        /* Align each array so vector loads of weights start on 64 bytes. */
        net->param_elems += (sizes[k] + 15) / 16 * 16;
    }
    return CLY_SUCCESS;
}

/* Whether a layer may write its output over its input: the graph's rule
 * (CLY_OP_IN_PLACE ops as the input's only reader), CLY_OP_IN_PLACE_INFERENCE
 * ones under the same condition, and never over a value the caller asked
 * to keep. */
static bool runs_in_place(const cly_net *net, const cly_node *node)
{
    if (!(cly_op_of(node->layer.type)->flags & CLY_OP_IN_PLACE_INFERENCE) && !node->in_place)
        return false;
    const cly_node *src = &net->graph->nodes[node->input_ids[0]];
    return src->consumers == 1 && src->layer.type != CLY_LAYER_INPUT && !cly_net_is_kept(net, src->name);
}

static cly_status plan_memory(cly_net *net)
{
    if (net->options.mode == CLY_MODE_TRAINING) {
        /* The default scores if there are any; several outputs wait for
         * cly_train_params.scores, or for a loss of the caller's own. */
        size_t outputs;
        net->has_scores = cly_net_default_scores(net->graph, &net->scores_id, &net->loss_through_softmax, &outputs);
        return cly_net_plan_training(net);
    }
    const cly_graph *g = net->graph;
    size_t n = g->count;
    int64_t end = (int64_t)n;
    net->plan = calloc(n, sizeof *net->plan);
    if (!net->plan)
        return net_fail_oom(net->ctx, "memory plan");
    int64_t *step_of = calloc(n, sizeof *step_of);
    if (!step_of)
        return net_fail_oom(net->ctx, "memory plan");
    for (size_t s = 0; s < n; s++)
        step_of[g->order[s]] = (int64_t)s;
    for (size_t i = 0; i < n; i++) {
        const cly_node *node = &g->nodes[i];
        cly_plan_value *v = &net->plan[i];
        v->size = node->activations;
        v->first = step_of[i];
        v->last = v->first;
        v->share = -1;
        /* Inputs, graph outputs and kept values live for the whole pass. */
        if (node->layer.type == CLY_LAYER_INPUT) {
            v->first = 0;
            v->last = end;
        }
        if (node->consumers == 0 || cly_net_is_kept(net, node->name))
            v->last = end;
        if (node->activations > net->largest_elems)
            net->largest_elems = node->activations;
    }
    for (size_t i = 0; i < n; i++) {
        const cly_node *node = &g->nodes[i];
        for (size_t k = 0; k < node->layer.input_count; k++) {
            cly_plan_value *src = &net->plan[node->input_ids[k]];
            if (src->last < step_of[i])
                src->last = step_of[i];
        }
    }
    if (net->options.mode == CLY_MODE_INFERENCE)
        for (size_t i = 0; i < n; i++)
            if (runs_in_place(net, &g->nodes[i])) {
                size_t src = g->nodes[i].input_ids[0];
                net->plan[i].share = (int64_t)src;
                net->layers[i].in_place = true;
                /* A ReLU over a conv or FC it alone reads becomes that
                 * layer's epilogue: one pass over the data instead of two. */
                if (cly_relu_is_plain(&g->nodes[i].layer) &&
                    (cly_op_of(g->nodes[src].layer.type)->flags & CLY_OP_FUSES_RELU)) {
                    net->layers[src].fused_relu = true;
                    net->layers[src].conv.relu = true;
                    net->layers[i].fused = true;
                }
            }
    free(step_of);
    net->activation_elems = g->total_activations;
    net->arena_elems = cly_plan_arena(net->plan, n);
    if (net->arena_elems < 0)
        return net_fail_oom(net->ctx, "memory plan");
    return CLY_SUCCESS;
}

cly_status cly_net_alloc(cly_net *net, const char *caller, int64_t elems, const char *what, cl_mem *out)
{
    int64_t bytes = (elems > 0 ? elems : 1) * (int64_t)cly_real_size(net->ctx);
    const cly_device_info *dev = &net->ctx->info;
    if ((uint64_t)bytes > dev->max_alloc_bytes)
        return cly_fail(net->ctx, CLY_ERROR_TOO_LARGE,
                        "%s: the %s needs %lld bytes at batch %lld, more than the largest allocation of "
                        "device '%s' (%llu bytes); try a smaller batch",
                        caller, what, (long long)bytes, (long long)net->options.batch, dev->name,
                        (unsigned long long)dev->max_alloc_bytes);
    cl_int err;
    cl_mem mem = clCreateBuffer(net->ctx->cl, CL_MEM_READ_WRITE, (size_t)bytes, NULL, &err);
    if (err != CL_SUCCESS)
        return cly_fail_cl(net->ctx, err, "%s: allocating the %s (%lld bytes)", caller, what, (long long)bytes);
    *out = mem;
    return CLY_SUCCESS;
}

static cly_status alloc_buffer(cly_net *net, int64_t elems, const char *what, cl_mem *out)
{
    return cly_net_alloc(net, "cly_net_create", elems, what, out);
}

cly_status cly_net_usable(const cly_net *net, const char *what)
{
    if (!net->unusable[0])
        return CLY_SUCCESS;
    return cly_fail(net->ctx, CLY_ERROR_INVALID_ARGUMENT,
                    "%s: the net is unusable: %s; destroy it and create or load it again", what, net->unusable);
}

/* Copy each batchnorm layer's running mean and variance (adjacent arrays)
 * between the parameters and net->bn_saved; the first failing code. */
static cl_int copy_stats(const cly_net *net, bool save)
{
    size_t size = cly_real_size(net->ctx);
    int64_t at = 0;
    for (size_t id = 0; id < net->graph->count; id++) {
        if (!(cly_op_of(net->graph->nodes[id].layer.type)->flags & CLY_OP_NORM_PARAMS))
            continue;
        const net_layer *L = &net->layers[id];
        int64_t from = L->param_offset[CLY_PARAM_MEAN];
        int64_t span = L->param_offset[CLY_PARAM_VAR] + L->param_count[CLY_PARAM_VAR] - from;
        cl_mem src = save ? net->params : net->bn_saved, dst = save ? net->bn_saved : net->params;
        size_t src_off = (size_t)(save ? from : at) * size, dst_off = (size_t)(save ? at : from) * size;
        cl_int err = clEnqueueCopyBuffer(net->ctx->queue, src, dst, src_off, dst_off, (size_t)span * size, 0, NULL,
                                         NULL);
        if (err != CL_SUCCESS)
            return err;
        at += span;
    }
    return CL_SUCCESS;
}

cly_status cly_net_save_stats(cly_net *net, const char *what)
{
    if (net->bind || net->ctx->build_only)
        return CLY_SUCCESS;
    int64_t elems = 0;
    for (size_t id = 0; id < net->graph->count; id++)
        if (cly_op_of(net->graph->nodes[id].layer.type)->flags & CLY_OP_NORM_PARAMS) {
            const net_layer *L = &net->layers[id];
            elems += L->param_offset[CLY_PARAM_VAR] + L->param_count[CLY_PARAM_VAR] - L->param_offset[CLY_PARAM_MEAN];
        }
    if (elems == 0)
        return CLY_SUCCESS;
    cly_status s = net->bn_saved ? CLY_SUCCESS
                                 : cly_net_alloc(net, what, elems, "copy of the batch-norm statistics", &net->bn_saved);
    if (s != CLY_SUCCESS)
        return s;
    cl_int err = copy_stats(net, true);
    return err == CL_SUCCESS ? CLY_SUCCESS : cly_fail_cl(net->ctx, err, "%s: saving the batch-norm statistics", what);
}

cly_status cly_net_settle(cly_net *net, const char *what, cly_status s)
{
    if (s == CLY_SUCCESS)
        return s;
    /* Enqueued after the kernels that moved them, so it lands after them. */
    cl_int err = !net->moved && net->stats_moved ? copy_stats(net, false) : CL_SUCCESS;
    if (!net->moved && err == CL_SUCCESS) {
        net->stats_moved = false;
        return s;
    }
    if (err != CL_SUCCESS)
        snprintf(net->unusable, sizeof net->unusable,
                 "%s failed after it had moved batch-norm statistics, and putting them back failed too (OpenCL "
                 "error %d) (%s)",
                 what, (int)err, cly_last_error(net->ctx));
    else
        snprintf(net->unusable, sizeof net->unusable,
                 "%s failed after it had updated parameters or optimiser state (%s)", what, cly_last_error(net->ctx));
    return cly_fail(net->ctx, s, "%s (the net is now unusable: destroy it and create or load it again)",
                    cly_last_error(net->ctx));
}

/* What the net will hold on the device, against the device's memory: a net
 * that cannot fit is refused here, not by a failed allocation or an
 * out-of-memory in the middle of a pass. */
static cly_status check_device_memory(cly_net *net)
{
    int64_t size = (int64_t)cly_real_size(net->ctx);
    bool training = net->options.mode == CLY_MODE_TRAINING;
    struct part {
        const char *what;
        int64_t elems;
    } parts[] = {
        {"activation arena", net->arena_elems},
        {"parameters", net->param_elems},
        {"workspace", net->workspace_elems},
        {"training state kept for backward", training ? net->aux_elems : 0},
        {"gradients and optimiser state (2 x parameters, at least)", training ? 2 * net->param_elems : 0},
        {"labels and losses", training ? 2 * net->options.batch : 0},
    };
    enum { PARTS = sizeof parts / sizeof parts[0] };
    uint64_t total = 0;
    for (size_t i = 0; i < PARTS; i++) {
        uint64_t e = (uint64_t)(parts[i].elems > 0 ? parts[i].elems : 1);
        /* Saturating: a sum past 2^64 is simply too large. */
        total = e > (UINT64_MAX - total) / (uint64_t)size ? UINT64_MAX : total + e * (uint64_t)size;
    }
    uint64_t have = net->ctx->info.global_mem_bytes;
    if (have == 0 || total <= have)
        return CLY_SUCCESS;
    /* The three biggest parts, largest first. */
    size_t idx[PARTS];
    for (size_t i = 0; i < PARTS; i++)
        idx[i] = i;
    for (size_t i = 0; i < PARTS; i++)
        for (size_t j = i + 1; j < PARTS; j++)
            if (parts[idx[j]].elems > parts[idx[i]].elems) {
                size_t t = idx[i];
                idx[i] = idx[j];
                idx[j] = t;
            }
    char big[512];
    int at = 0;
    for (size_t i = 0; i < 3 && at < (int)sizeof big; i++)
        at += snprintf(big + at, sizeof big - (size_t)at, "%s%s %.1f MiB", i ? ", " : "", parts[idx[i]].what,
                       (double)parts[idx[i]].elems * (double)size / 1048576.0);
    return cly_fail(net->ctx, CLY_ERROR_TOO_LARGE,
                    "cly_net_create: the net needs %llu bytes (%.1f MiB) of device memory at batch %lld, more than "
                    "device '%s' has (%llu bytes, %.1f MiB); the biggest parts: %s; try a smaller batch",
                    (unsigned long long)total, (double)total / 1048576.0, (long long)net->options.batch,
                    net->ctx->info.name, (unsigned long long)have, (double)have / 1048576.0, big);
}

/* bare: compile the layers only (geometry, algorithms, sizes), no plan, no buffers. */
static cly_status create(cly_context *ctx, cly_graph *g, const cly_net_options *given, bool bare, cly_net **out)
{
    if (!ctx || !g || !given || !out)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "cly_net_create: ctx, graph, options and out must not be NULL");
    cly_net_options copy;
    cly_status s = CLY_OPTIONS_COPY(ctx, &copy, given, cly_net_options, keep_count, "cly_net_create");
    if (s != CLY_SUCCESS)
        return s;
    const cly_net_options *opt = &copy;
    if (opt->batch < 1)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "cly_net_create: batch %lld must be >= 1",
                        (long long)opt->batch);
    if ((opt->mode != CLY_MODE_INFERENCE && opt->mode != CLY_MODE_TRAINING) ||
        (unsigned)opt->conv_algo >= CLY_CONV_ALGO_COUNT || (opt->keep_count && !opt->keep))
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "cly_net_create: bad mode %d, conv_algo %d or keep list",
                        (int)opt->mode, (int)opt->conv_algo);
    s = cly_graph_infer(g, opt->batch);
    if (s != CLY_SUCCESS)
        return cly_fail(ctx, s, "%s", cly_last_error(NULL));
    for (size_t i = 0; i < opt->keep_count; i++)
        if (!cly_net_find_node(g, opt->keep[i]))
            return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "cly_net_create: kept layer '%s' is not in the graph",
                            opt->keep[i] ? opt->keep[i] : "(null)");

    cly_net *net = calloc(1, sizeof *net);
    if (!net)
        return net_fail_oom(ctx, "net");
    net->ctx = ctx;
    net->graph = g;
    g->nets++; /* cly_graph_infer now keeps the graph as this net compiled it */
    net->options = *opt;
    net->options.keep = NULL;
    net->options.keep_count = 0;
    net->layers = calloc(g->count, sizeof *net->layers);
    char **keep = opt->keep_count ? calloc(opt->keep_count, sizeof *keep) : NULL;
    if (!net->layers || (opt->keep_count && !keep)) {
        free(keep);
        cly_net_destroy(net);
        return net_fail_oom(ctx, "layer table");
    }
    net->options.keep = (const char *const *)keep;
    for (size_t i = 0; i < opt->keep_count; i++) {
        keep[i] = malloc(strlen(opt->keep[i]) + 1);
        if (!keep[i]) {
            cly_net_destroy(net);
            return net_fail_oom(ctx, "keep list");
        }
        strcpy(keep[i], opt->keep[i]);
        net->options.keep_count = i + 1;
        net->layers[cly_graph_find(g, keep[i])].kept = true;
    }
    for (size_t s_i = 0; s_i < g->count && s == CLY_SUCCESS; s_i++)
        s = resolve_layer(net, g->order[s_i]);
    if (bare && s == CLY_SUCCESS) {
        *out = net;
        return CLY_SUCCESS;
    }
    if (s == CLY_SUCCESS)
        s = plan_memory(net);
    if (s == CLY_SUCCESS)
        s = check_device_memory(net);
    if (s == CLY_SUCCESS)
        s = alloc_buffer(net, net->arena_elems, "activation arena", &net->arena);
    if (s == CLY_SUCCESS)
        s = alloc_buffer(net, net->param_elems, "parameter buffer", &net->params);
    if (s == CLY_SUCCESS)
        s = alloc_buffer(net, net->workspace_elems, "convolution workspace", &net->workspace);
    if (s == CLY_SUCCESS && opt->mode == CLY_MODE_TRAINING) {
        s = alloc_buffer(net, net->aux_elems, "training state", &net->aux);
        if (s == CLY_SUCCESS)
            s = alloc_buffer(net, opt->batch, "labels", &net->labels);
        if (s == CLY_SUCCESS)
            s = alloc_buffer(net, opt->batch, "losses", &net->losses);
    }
    if (s == CLY_SUCCESS && net->param_elems > 0) {
        s = cly_fill_reals(ctx, net->params, 0, net->param_elems, 0.0, "cly_net_create: clearing parameters");
    }
    if (s != CLY_SUCCESS) {
        cly_net_destroy(net);
        return s;
    }
    *out = net;
    return CLY_SUCCESS;
}

cly_status cly_net_create(cly_context *ctx, cly_graph *g, const cly_net_options *opt, cly_net **out)
{
    return create(ctx, g, opt, false, out);
}

cly_status cly_net_create_bare(cly_context *ctx, cly_graph *g, const cly_net_options *opt, cly_net **out)
{
    return create(ctx, g, opt, true, out);
}

void cly_net_destroy(cly_net *net)
{
    if (!net)
        return;
    if (net->graph)
        net->graph->nets--;
    if (net->arena)
        clReleaseMemObject(net->arena);
    if (net->params)
        clReleaseMemObject(net->params);
    cl_mem *mems[] = {&net->workspace, &net->aux,    &net->labels, &net->losses,  &net->grads,
                      &net->grads_batch, &net->opt_m, &net->opt_v, &net->bn_saved};
    for (size_t i = 0; i < sizeof mems / sizeof mems[0]; i++)
        if (*mems[i])
            clReleaseMemObject(*mems[i]);
    cly_net_profile_free(net);
    free(net->scores_name);
    for (size_t i = 0; i < net->options.keep_count; i++)
        free((char *)net->options.keep[i]);
    free((void *)net->options.keep);
    free(net->layers);
    free(net->plan);
    free(net);
}

const cly_node *cly_net_find_node(const cly_graph *g, const char *name)
{
    if (!name)
        return NULL;
    ptrdiff_t i = cly_graph_find(g, name); /* the graph's name hash */
    return i < 0 ? NULL : &g->nodes[i];
}

/* Training buffers beyond the arena, workspace and parameters: gradients,
 * optimiser state, per-layer state kept for backward, labels and losses. */
static int64_t training_bytes(const cly_net *net)
{
    if (!net->training && !net->grads) /* cly_net_backward allocates gradients on demand */
        return 0;
    int64_t copies = (net->grads ? 1 : 0) + (net->grads_batch ? 1 : 0) + (net->opt_m ? 1 : 0) + (net->opt_v ? 1 : 0);
    return (copies * net->param_elems + net->aux_elems + 2 * net->options.batch) * (int64_t)cly_real_size(net->ctx);
}

cly_status cly_net_memory_get(const cly_net *net, cly_net_memory *out)
{
    if (!net || !out)
        return cly_fail(net ? net->ctx : NULL, CLY_ERROR_INVALID_ARGUMENT,
                        "cly_net_memory_get: net and out must not be NULL");
    int64_t size = (int64_t)cly_real_size(net->ctx);
    *out = (cly_net_memory){
        .arena_bytes = net->arena_elems * size,
        .workspace_bytes = net->workspace_elems * size,
        .param_bytes = net->param_elems * size,
        .activation_bytes = net->activation_elems * size,
        .largest_bytes = net->largest_elems * size,
        .training_bytes = training_bytes(net),
    };
    return CLY_SUCCESS;
}

cly_conv_algo cly_net_layer_algo(const cly_net *net, const char *layer)
{
    if (!net)
        return CLY_CONV_AUTO;
    const cly_node *node = cly_net_find_node(net->graph, layer);
    return node ? net->layers[node - net->graph->nodes].algo : CLY_CONV_AUTO;
}

const char *cly_net_layer_algo_text(const cly_net *net, const char *layer)
{
    const cly_node *node = net ? cly_net_find_node(net->graph, layer) : NULL;
    if (!node || !node->algo)
        return "-";
    return node->algo_text[0] ? node->algo_text : node->algo;
}

static double mib(int64_t bytes)
{
    return (double)bytes / (1024.0 * 1024.0);
}

cly_status cly_net_print_summary(const cly_net *net, FILE *f)
{
    if (!net || !f)
        return cly_fail(net ? net->ctx : NULL, CLY_ERROR_INVALID_ARGUMENT,
                        "cly_net_print_summary: net and f must not be NULL");
    cly_status s = cly_graph_print_summary(net->graph, f);
    if (s != CLY_SUCCESS)
        return s;
    cly_net_memory m;
    cly_net_memory_get(net, &m);
    fprintf(f, "\nmemory plan (%s, batch %lld, device %s):\n",
            net->options.mode == CLY_MODE_INFERENCE ? "inference" : "training", (long long)net->options.batch,
            net->ctx->info.name);
    if (net->options.mode == CLY_MODE_TRAINING) {
        /* The notes' three sources: activations and their gradients,
         * parameters with gradients and optimiser state, the rest. */
        int64_t grads = (net->grads ? 1 : 0) + (net->grads_batch ? 1 : 0);
        int64_t state = (net->opt_m ? 1 : 0) + (net->opt_v ? 1 : 0);
        int64_t other = (net->aux_elems + 2 * net->options.batch) * (int64_t)cly_real_size(net->ctx);
        fprintf(f, "  activations + gradients     %10.1f MiB  (planned arena; outputs summed: %.1f MiB)\n",
                mib(m.arena_bytes), mib(m.activation_bytes));
        fprintf(f, "  parameters                  %10.1f MiB  + gradients %.1f MiB + optimiser state %.1f MiB\n",
                mib(m.param_bytes), mib(grads * m.param_bytes), mib(state * m.param_bytes));
        fprintf(f, "  workspace, switches, labels %10.1f MiB\n", mib(m.workspace_bytes + other));
        fprintf(f, "  device total                %10.1f MiB\n",
                mib(m.arena_bytes + (1 + grads + state) * m.param_bytes + m.workspace_bytes + other));
        return CLY_SUCCESS;
    }
    fprintf(f, "  activations, planned arena  %10.1f MiB  (all layer outputs summed: %.1f MiB; largest: %.1f MiB)\n",
            mib(m.arena_bytes), mib(m.activation_bytes), mib(m.largest_bytes));
    fprintf(f, "  workspace                   %10.1f MiB\n", mib(m.workspace_bytes));
    fprintf(f, "  parameters                  %10.1f MiB\n", mib(m.param_bytes));
    fprintf(f, "  device total                %10.1f MiB\n",
            mib(m.arena_bytes + m.workspace_bytes + m.param_bytes));
    return CLY_SUCCESS;
}
