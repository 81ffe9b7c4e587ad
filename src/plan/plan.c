/* Plans: creation (the one-op graph, its bare net, the kernels built in
 * build-only mode), description and destruction; the output-shape query. */
#include "plan/plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The graph of `layer` over one INPUT per operand, inferred at their batch.
 * Failures are described in the thread's slot (graph calls have no context). */
static cly_status build_graph(const char *who, const cly_layer *layer, const cly_shape *inputs, size_t count,
                              cly_graph **out)
{
    if (!layer || (count && !inputs) || !out)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: layer, inputs and out must not be NULL", who);
    if ((unsigned)layer->type >= CLY_LAYER_TYPE_COUNT || layer->type == CLY_LAYER_INPUT)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT,
                        "%s: layer type %d has no op (an input layer, or past the last type %d)", who, (int)layer->type,
                        CLY_LAYER_TYPE_COUNT - 1);
    const char *name = layer->name ? layer->name : cly_layer_type_string(layer->type);
    if (count < 1 || count > CLY_GRAPH_MAX_INPUTS)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: %zu input shapes given; need 1 to %d", name, count,
                        CLY_GRAPH_MAX_INPUTS);
    for (size_t i = 0; i < count; i++)
        if (inputs[i].n != inputs[0].n || inputs[i].n < 1)
            return cly_fail(NULL, CLY_ERROR_SHAPE_MISMATCH,
                            "%s: input %zu is " CLY_SHAPE_FMT "; every input needs the same batch n >= 1 (input 0: %lld)",
                            name, i, CLY_SHAPE_ARGS(inputs[i]), (long long)inputs[0].n);
    cly_graph *g;
    cly_status s = cly_graph_create(&g);
    char(*names)[24] = calloc(count, sizeof *names);
    const char **refs = calloc(count, sizeof *refs);
    if (s == CLY_SUCCESS && (!names || !refs))
        s = cly_fail(NULL, CLY_ERROR_OUT_OF_HOST_MEMORY, "%s: plan graph", name);
    for (size_t i = 0; i < count && s == CLY_SUCCESS; i++) {
        snprintf(names[i], sizeof names[i], ".x%zu", i); /* '.' first: unlike a user's layer name */
        refs[i] = names[i];
        s = cly_graph_input(g, names[i], inputs[i].c, inputs[i].h, inputs[i].w);
        if (s != CLY_SUCCESS)
            s = cly_fail(NULL, s, "%s: input %zu: %s", name, i, cly_last_error(NULL));
    }
    if (s == CLY_SUCCESS) {
        cly_layer l = *layer;
        l.name = name;
        l.inputs = refs;
        l.input_count = count;
        s = cly_graph_add(g, &l);
    }
    if (s == CLY_SUCCESS)
        s = cly_graph_infer(g, inputs[0].n);
    free(names);
    free(refs);
    if (s != CLY_SUCCESS) {
        cly_graph_destroy(g);
        return s;
    }
    *out = g;
    return CLY_SUCCESS;
}

cly_status cly_op_output_shape(const cly_layer *layer, const cly_shape *inputs, size_t input_count, cly_shape *out)
{
    if (!out)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "cly_op_output_shape: out must not be NULL");
    cly_graph *g;
    cly_status s = build_graph("cly_op_output_shape", layer, inputs, input_count, &g);
    if (s != CLY_SUCCESS)
        return s;
    *out = g->nodes[input_count].out;
    cly_graph_destroy(g);
    return CLY_SUCCESS;
}

bool cly_plan_fused_relu(const cly_plan *p)
{
    const cly_node *n = &p->graph->nodes[p->op];
    const cly_op *op = cly_op_of(n->layer.type);
    return op->backward_reads && (op->backward_reads(n) & CLY_BWD_MASKS_DY);
}

static int64_t round16(int64_t v)
{
    return (v + 15) / 16 * 16;
}

int64_t cly_plan_workspace_need(const cly_plan *p, bool scaled)
{
    const net_layer *L = &p->net->layers[p->op];
    int64_t out = p->graph->nodes[p->op].activations;
    int64_t need = round16(p->algo_ws);
    if (scaled) /* the output's (or dy's) scratch, every dx's, both parameter gradients' */
        return need + round16(out) + round16(p->in_elems) + round16(L->param_count[CLY_PARAM_WEIGHTS]) +
               round16(L->param_count[CLY_PARAM_BIAS]);
    return need + (cly_plan_fused_relu(p) ? round16(out) : 0); /* dy masked in a copy */
}

void cly_plan_destroy(cly_plan *plan)
{
    if (!plan)
        return;
    cly_net_destroy(plan->net);
    cly_graph_destroy(plan->graph);
    if (plan->own_ws)
        clReleaseMemObject(plan->own_ws);
    free(plan->pos);
    free(plan->values);
    free(plan->grads);
    free(plan);
}

cly_status cly_plan_create(cly_context *ctx, const cly_layer *layer, const cly_shape *inputs, size_t input_count,
                           cly_mode mode, cly_plan **out)
{
    if (!ctx || !out)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "cly_plan_create: ctx and out must not be NULL");
    if (mode != CLY_MODE_INFERENCE && mode != CLY_MODE_TRAINING)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "cly_plan_create: mode %d is neither inference nor training",
                        (int)mode);
    cly_graph *g;
    cly_status s = build_graph("cly_plan_create", layer, inputs, input_count, &g);
    if (s != CLY_SUCCESS)
        return cly_fail(ctx, s, "%s", cly_last_error(NULL));
    cly_plan *p = calloc(1, sizeof *p);
    if (!p) {
        cly_graph_destroy(g);
        return cly_fail(ctx, CLY_ERROR_OUT_OF_HOST_MEMORY, "cly_plan_create");
    }
    p->ctx = ctx;
    p->mode = mode;
    p->graph = g;
    p->inputs = input_count;
    p->op = input_count;
    cly_net_options o = {.batch = inputs[0].n, .mode = CLY_MODE_TRAINING};
    s = cly_net_create_bare(ctx, g, &o, &p->net);
    p->pos = calloc(g->count, sizeof *p->pos);
    p->values = calloc(g->count, sizeof *p->values);
    p->grads = calloc(g->count, sizeof *p->grads);
    if (s == CLY_SUCCESS && (!p->pos || !p->values || !p->grads))
        s = cly_fail(ctx, CLY_ERROR_OUT_OF_HOST_MEMORY, "cly_plan_create");
    if (s != CLY_SUCCESS) {
        cly_plan_destroy(p);
        return s;
    }
    for (size_t i = 0; i < g->count; i++)
        p->pos[g->order[i]] = (int64_t)i;
    p->algo_ws = p->net->workspace_elems;
    for (size_t i = 0; i < input_count; i++)
        p->in_elems += g->nodes[i].activations;
    if ((s = cly_plan_build_kernels(p)) != CLY_SUCCESS) {
        cly_plan_destroy(p);
        return s;
    }
    *out = p;
    return CLY_SUCCESS;
}

cly_status cly_plan_info_get(const cly_plan *plan, cly_plan_info *out)
{
    if (!plan || !out)
        return cly_fail(plan ? plan->ctx : NULL, CLY_ERROR_INVALID_ARGUMENT,
                        "cly_plan_info_get: plan and out must not be NULL");
    const cly_node *n = &plan->graph->nodes[plan->op];
    const net_layer *L = &plan->net->layers[plan->op];
    cly_plan_info info = {
        .type = n->layer.type,
        .mode = plan->mode,
        .input_count = plan->inputs,
        .output = n->out,
        .reserve_elems = plan->mode == CLY_MODE_TRAINING ? L->aux_elems : 0,
        .workspace_elems = cly_plan_workspace_need(plan, false),
        .workspace_scaled_elems = cly_plan_workspace_need(plan, true),
        .algo = L->algo,
        .flops = n->flops,
    };
    for (int k = 0; k < NET_PARAM_KINDS; k++)
        info.param_count[k] = L->param_count[k];
    if (n->layer.type == CLY_LAYER_CONV) {
        info.backward_data_method = cly_conv_backward_method(plan->ctx, L->algo, &L->conv, true);
        info.backward_weights_method = cly_conv_backward_method(plan->ctx, L->algo, &L->conv, false);
    }
    *out = info;
    return CLY_SUCCESS;
}

cly_status cly_op_forward(cly_context *ctx, const cly_layer *layer, cly_mode mode, const cly_op_tensors *t,
                          double alpha, double beta)
{
    if (!ctx || !t || !t->x || t->x_count < 1 || t->x_count > CLY_GRAPH_MAX_INPUTS)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT,
                        "cly_op_forward: ctx, tensors and 1 to %d inputs (t->x) must be given", CLY_GRAPH_MAX_INPUTS);
    cly_shape shapes[CLY_GRAPH_MAX_INPUTS];
    for (size_t i = 0; i < t->x_count; i++) {
        if (!t->x[i])
            return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "cly_op_forward: input %zu is NULL", i);
        shapes[i] = t->x[i]->shape;
    }
    cly_plan *p;
    cly_status s = cly_plan_create(ctx, layer, shapes, t->x_count, mode, &p);
    if (s != CLY_SUCCESS)
        return s;
    s = cly_plan_forward(p, t, alpha, beta);
    cly_plan_destroy(p);
    return s;
}
