/* Graph surgery: FC -> CONV conversion (mission.md, "Fully connected") and
 * resizing an INPUT layer, so that a net built for 224x224 can slide over a
 * larger image in one pass. No OpenCL call. */
#include "graph/graph.h"
#include "base/status.h"
#include "graph/rules.h"

#include <stdio.h>

/* A copy of every layer of `g`, in insertion order (names, inputs and
 * parameters as cly_graph_add left them). */
static cly_status copy_graph(const cly_graph *g, cly_graph **out)
{
    cly_graph *c = NULL;
    cly_status s = cly_graph_create(&c);
    for (size_t i = 0; s == CLY_SUCCESS && i < g->count; i++)
        s = cly_graph_add(c, &g->nodes[i].layer);
    if (s != CLY_SUCCESS) {
        cly_graph_destroy(c);
        return s;
    }
    *out = c;
    return CLY_SUCCESS;
}

/* The convolution equal to FC node `n` of inferred graph `g`: one filter per
 * output, as large as the FC's input map, stride 1, no padding. Its weights
 * K x C x H x W are the FC's outputs x (C*H*W in C, H, W order), the same
 * floats in the same order. */
static cly_layer fc_as_conv(const cly_graph *g, const cly_node *n)
{
    cly_shape in = g->nodes[n->input_ids[0]].out;
    cly_layer l = n->layer;
    l.type = CLY_LAYER_CONV;
    l.p.conv = (cly_conv_params){
        .filters = n->layer.p.fc.outputs,
        .size = {in.h, in.w},
        .stride = {1, 1},
        .dilation = {1, 1},
        .groups = 1,
        .no_bias = n->layer.p.fc.no_bias,
        .relu = n->layer.p.fc.relu,
    };
    return l;
}

cly_status cly_graph_fc_to_conv(const cly_graph *g, cly_graph **out)
{
    if (!g || !out)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "cly_graph_fc_to_conv: graph and out must not be NULL");
    if (g->count == 0)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "cly_graph_fc_to_conv: the graph has no layers");
    /* Shapes come from a copy: `g` stays untouched (and const). */
    cly_graph *shapes = NULL, *c = NULL;
    cly_status s = copy_graph(g, &shapes);
    if (s == CLY_SUCCESS && (s = cly_graph_infer(shapes, 1)) != CLY_SUCCESS) {
        char why[1024]; /* the message names the layer; copied, as cly_fail replaces it */
        snprintf(why, sizeof why, "%s", cly_last_error(NULL));
        s = cly_fail(NULL, s, "cly_graph_fc_to_conv: %s", why);
    }
    if (s == CLY_SUCCESS)
        s = cly_graph_create(&c);
    for (size_t i = 0; s == CLY_SUCCESS && i < shapes->count; i++) {
        const cly_node *n = &shapes->nodes[i];
        if (n->layer.type != CLY_LAYER_FC) {
            s = cly_graph_add(c, &n->layer);
            continue;
        }
        cly_layer conv = fc_as_conv(shapes, n);
        s = cly_graph_add(c, &conv);
    }
    cly_graph_destroy(shapes);
    if (s != CLY_SUCCESS) {
        cly_graph_destroy(c);
        return s;
    }
    c->batch = g->batch;
    *out = c;
    return CLY_SUCCESS;
}

cly_status cly_graph_set_input_size(cly_graph *g, const char *layer, int64_t h, int64_t w)
{
    if (!g || !layer)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "cly_graph_set_input_size: graph and layer must not be NULL");
    ptrdiff_t i = cly_graph_find(g, layer);
    if (i < 0)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "cly_graph_set_input_size: no layer '%s' in the graph",
                        cly_name_valid(layer) ? layer : "(invalid name)");
    cly_node *n = &g->nodes[i];
    if (n->layer.type != CLY_LAYER_INPUT)
        return cly_node_fail(g, n, CLY_ERROR_INVALID_ARGUMENT, "cly_graph_set_input_size: a %s layer, not an input",
                             cly_layer_type_string(n->layer.type));
    /* The range cly_graph_add and the net-file parser apply. */
    if (h < 1 || w < 1 || h > CLY_DIM_MAX || w > CLY_DIM_MAX)
        return cly_node_fail(g, n, CLY_ERROR_INVALID_ARGUMENT,
                             "cly_graph_set_input_size: h and w must be in [1, %lld], got %lld x %lld",
                             (long long)CLY_DIM_MAX, (long long)h, (long long)w);
    if (g->nets > 0)
        return cly_node_fail(g, n, CLY_ERROR_INVALID_ARGUMENT,
                             "cly_graph_set_input_size: the graph is in use by %zu net%s; its sizes cannot change "
                             "under them (destroy them first, or resize another copy of the graph)",
                             g->nets, g->nets == 1 ? "" : "s");
    n->layer.p.input.h = h;
    n->layer.p.input.w = w;
    g->inferred = false;
    return CLY_SUCCESS;
}
