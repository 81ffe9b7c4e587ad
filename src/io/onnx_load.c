/* ONNX import onto a device: imported weights set on a net by layer name,
 * and cly_onnx_load (import, compile, set), as cly_model_load does for
 * model files. The protobuf half is onnx_import.c. */
#include "base/status.h"
#include "io/onnx.h"
#include "net/net.h"

#include <stdlib.h>
#include <string.h>

cly_status cly_net_set_weights(cly_net *net, const cly_weights *w)
{
    if (!net || !w)
        return cly_fail(net ? net->ctx : NULL, CLY_ERROR_INVALID_ARGUMENT,
                        "cly_net_set_weights: net and weights must not be NULL");
    const cly_graph *g = net->graph;
    for (size_t i = 0; i < w->count; i++) {
        const cly_weights_array *a = &w->arrays[i];
        ptrdiff_t id = cly_graph_find(g, a->layer);
        if (id < 0)
            return cly_fail(net->ctx, CLY_ERROR_INVALID_ARGUMENT, "cly_net_set_weights: %s: no such layer in the net",
                            a->layer);
        int64_t have = net->layers[id].param_count[a->kind];
        if (have != a->count)
            return cly_fail(net->ctx, CLY_ERROR_SHAPE_MISMATCH,
                            "cly_net_set_weights: %s: the net's array of kind %d has %lld values, the weights %lld",
                            a->layer, (int)a->kind, (long long)have, (long long)a->count);
    }
    /* Every array the net has must be given: nothing is left at zero. */
    for (size_t id = 0; id < g->count; id++)
        for (int k = 0; k < 4; k++) {
            if (net->layers[id].param_count[k] == 0)
                continue;
            bool found = false;
            for (size_t i = 0; i < w->count && !found; i++)
                found = w->arrays[i].kind == (cly_param_kind)k && strcmp(w->arrays[i].layer, g->nodes[id].name) == 0;
            if (!found)
                return cly_fail(net->ctx, CLY_ERROR_INVALID_ARGUMENT,
                                "cly_net_set_weights: %s: the weights lack its array of kind %d", g->nodes[id].name,
                                k);
        }
    for (size_t i = 0; i < w->count; i++) {
        const cly_weights_array *a = &w->arrays[i];
        cly_status s = cly_net_set_param_f64(net, a->layer, a->kind, a->data, a->count);
        if (s != CLY_SUCCESS)
            return s;
    }
    return CLY_SUCCESS;
}

cly_status cly_onnx_load(cly_context *ctx, const char *path, const cly_net_options *options, cly_graph **graph,
                         cly_net **net)
{
    return cly_onnx_load_opts(ctx, path, NULL, options, graph, net);
}

cly_status cly_onnx_load_opts(cly_context *ctx, const char *path, const cly_onnx_options *opts,
                              const cly_net_options *options, cly_graph **graph, cly_net **net)
{
    if (!ctx || !path || !options || !graph || !net)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT,
                        "cly_onnx_load: ctx, path, options, graph and net must not be NULL");
    cly_graph *g = NULL;
    cly_weights *w = NULL;
    cly_net *n = NULL;
    cly_status s = cly_graph_import_onnx_opts(path, opts, &g, &w);
    if (s != CLY_SUCCESS)
        return cly_fail(ctx, s, "%s", cly_last_error(NULL));
    /* The ONNX outputs stay readable even when another layer reads them. */
    size_t nkeep = options->keep_count + w->output_count;
    const char **keep = malloc((nkeep ? nkeep : 1) * sizeof *keep);
    if (!keep)
        s = cly_fail(ctx, CLY_ERROR_OUT_OF_HOST_MEMORY, "%s: out of memory", path);
    if (s == CLY_SUCCESS) {
        for (size_t i = 0; i < options->keep_count; i++)
            keep[i] = options->keep[i];
        for (size_t i = 0; i < w->output_count; i++)
            keep[options->keep_count + i] = w->outputs[i];
        cly_net_options o = *options;
        o.keep = keep;
        o.keep_count = nkeep;
        if ((s = cly_net_create(ctx, g, &o, &n)) != CLY_SUCCESS)
            s = cly_fail(ctx, s, "%s: %s", path, cly_last_error(ctx));
    }
    free(keep);
    if (s == CLY_SUCCESS && (s = cly_net_set_weights(n, w)) != CLY_SUCCESS)
        s = cly_fail(ctx, s, "%s: %s", path, cly_last_error(ctx));
    cly_weights_destroy(w);
    if (s != CLY_SUCCESS) {
        cly_net_destroy(n);
        cly_graph_destroy(g);
        return s;
    }
    *graph = g;
    *net = n;
    return CLY_SUCCESS;
}
