/* Net parameters (set, get, seeded initialisation), inputs and outputs. */
#include "net/net.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[NET_PARAM_KINDS] = {"weights", "bias", "mean", "var"};

/* Find the parameter array `kind` of `layer`; checks the host count. */
static cly_status locate(const cly_net *net, const char *what, const char *layer, cly_param_kind kind,
                         const void *ptr, int64_t count, bool check_count, size_t *id)
{
    if (!net)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: net must not be NULL", what);
    const cly_node *node = cly_net_find_node(net->graph, layer);
    if (!node)
        return cly_fail(net->ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: no layer named '%s'", what,
                        layer ? layer : "(null)");
    if ((unsigned)kind >= NET_PARAM_KINDS)
        return cly_fail(net->ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: %s: bad parameter kind %d", what, layer, (int)kind);
    *id = (size_t)(node - net->graph->nodes);
    int64_t have = net->layers[*id].param_count[kind];
    if (check_count && !ptr)
        return cly_fail(net->ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: %s: host pointer must not be NULL", what, layer);
    if (check_count && count != have)
        return cly_fail(net->ctx, CLY_ERROR_SHAPE_MISMATCH, "%s: %s %s has %lld elements, not %lld", what, layer,
                        kind_names[kind], (long long)have, (long long)count);
    return CLY_SUCCESS;
}

cly_status cly_net_param_count(const cly_net *net, const char *layer, cly_param_kind kind, int64_t *count)
{
    size_t id;
    cly_status s = locate(net, "cly_net_param_count", layer, kind, NULL, 0, false, &id);
    if (s != CLY_SUCCESS)
        return s;
    if (!count)
        return cly_fail(net->ctx, CLY_ERROR_INVALID_ARGUMENT, "cly_net_param_count: count must not be NULL");
    *count = net->layers[id].param_count[kind];
    return CLY_SUCCESS;
}

static cly_status set_param(cly_net *net, const char *what, const char *layer, cly_param_kind kind, const void *src,
                            size_t host_size, int64_t count)
{
    size_t id;
    cly_status s = locate(net, what, layer, kind, src, count, true, &id);
    if (s == CLY_SUCCESS)
        s = cly_net_usable(net, what);
    if (s != CLY_SUCCESS)
        return s;
    return cly_write_reals(net->ctx, net->params, net->layers[id].param_offset[kind], src, host_size, count, what);
}

static cly_status get_param(const cly_net *net, const char *what, const char *layer, cly_param_kind kind, void *dst,
                            size_t host_size, int64_t count)
{
    size_t id;
    cly_status s = locate(net, what, layer, kind, dst, count, true, &id);
    if (s == CLY_SUCCESS)
        s = cly_net_usable(net, what); /* half-updated values are no model */
    if (s != CLY_SUCCESS)
        return s;
    return cly_read_reals(net->ctx, net->params, net->layers[id].param_offset[kind], dst, host_size, count, what);
}

cly_status cly_net_set_param(cly_net *net, const char *layer, cly_param_kind kind, const float *src, int64_t count)
{
    return set_param(net, "cly_net_set_param", layer, kind, src, sizeof *src, count);
}

cly_status cly_net_set_param_f64(cly_net *net, const char *layer, cly_param_kind kind, const double *src, int64_t count)
{
    return set_param(net, "cly_net_set_param_f64", layer, kind, src, sizeof *src, count);
}

cly_status cly_net_get_param(const cly_net *net, const char *layer, cly_param_kind kind, float *dst, int64_t count)
{
    return get_param(net, "cly_net_get_param", layer, kind, dst, sizeof *dst, count);
}

cly_status cly_net_get_param_f64(const cly_net *net, const char *layer, cly_param_kind kind, double *dst,
                                 int64_t count)
{
    return get_param(net, "cly_net_get_param_f64", layer, kind, dst, sizeof *dst, count);
}

/* splitmix64: a seedable stream whose values depend only on the seed, so the
 * same seed gives the same weights on every device and platform. */
static uint64_t next_u64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static double uniform01(uint64_t *s)
{
    return ((double)(next_u64(s) >> 11) + 0.5) / 9007199254740992.0; /* (0, 1) */
}

static void fill_weights(float *w, int64_t n, cly_init init, int64_t fan_in, int64_t fan_out, uint64_t *rng)
{
    if (init == CLY_INIT_HE) {
        double sd = sqrt(2.0 / (double)(fan_in > 0 ? fan_in : 1));
        for (int64_t i = 0; i < n; i++) /* Box-Muller */
            w[i] = (float)(sd * sqrt(-2.0 * log(uniform01(rng))) * cos(6.283185307179586 * uniform01(rng)));
    } else {
        double a = sqrt(6.0 / (double)(fan_in + fan_out > 0 ? fan_in + fan_out : 1));
        for (int64_t i = 0; i < n; i++)
            w[i] = (float)(a * (2.0 * uniform01(rng) - 1.0));
    }
}

/* fan-in and fan-out of one weight: the op's rule, else a weight feeds each
 * output channel from weights/outputs inputs (FC). */
static void fans(const cly_net *net, size_t id, int64_t *fan_in, int64_t *fan_out)
{
    const cly_node *node = &net->graph->nodes[id];
    const cly_op *op = cly_op_of(node->layer.type);
    if (op->fans) {
        op->fans(net, id, fan_in, fan_out);
        return;
    }
    *fan_out = node->out.c;
    *fan_in = node->out.c > 0 ? net->layers[id].param_count[CLY_PARAM_WEIGHTS] / node->out.c : 1;
}

cly_status cly_net_init_params(cly_net *net, cly_init init, uint64_t seed)
{
    if (!net)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "cly_net_init_params: net must not be NULL");
    if (init != CLY_INIT_HE && init != CLY_INIT_XAVIER)
        return cly_fail(net->ctx, CLY_ERROR_INVALID_ARGUMENT,
                        "cly_net_init_params: init %d is neither CLY_INIT_HE nor CLY_INIT_XAVIER", (int)init);
    float *host = calloc((size_t)(net->param_elems > 0 ? net->param_elems : 1), sizeof *host);
    if (!host)
        return cly_fail(net->ctx, CLY_ERROR_OUT_OF_HOST_MEMORY, "cly_net_init_params: %lld parameters",
                        (long long)net->param_elems);
    for (size_t id = 0; id < net->graph->count; id++) {
        const net_layer *L = &net->layers[id];
        unsigned flags = cly_op_of(net->graph->nodes[id].layer.type)->flags;
        /* Each layer draws from its own stream: adding a layer elsewhere does
         * not change this one's values. */
        uint64_t rng = seed ^ (0xD1B54A32D192ED03ULL * (id + 1));
        float *w = host + L->param_offset[CLY_PARAM_WEIGHTS];
        if (flags & CLY_OP_NORM_PARAMS) { /* scale 1, shift 0, mean 0, var 1 */
            for (int64_t i = 0; i < L->param_count[CLY_PARAM_WEIGHTS]; i++)
                w[i] = 1.0f;
            float *var = host + L->param_offset[CLY_PARAM_VAR];
            for (int64_t i = 0; i < L->param_count[CLY_PARAM_VAR]; i++)
                var[i] = 1.0f;
        } else if (L->param_count[CLY_PARAM_WEIGHTS] > 0) {
            int64_t fi, fo;
            fans(net, id, &fi, &fo);
            fill_weights(w, L->param_count[CLY_PARAM_WEIGHTS], init, fi, fo, &rng);
        }
    }
    /* Float values on every precision: the same seed gives the same net. */
    cly_status s = cly_write_reals(net->ctx, net->params, 0, host, sizeof *host, net->param_elems,
                                   "cly_net_init_params");
    free(host);
    return s;
}

/* Find a layer whose output the caller may read or write through the arena. */
static cly_status value_of(const cly_net *net, const char *what, const char *layer, const void *ptr, int64_t count,
                           size_t *id)
{
    if (!net)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: net must not be NULL", what);
    const cly_node *node = cly_net_find_node(net->graph, layer);
    if (!node)
        return cly_fail(net->ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: no layer named '%s'", what, layer ? layer : "(null)");
    if (!ptr)
        return cly_fail(net->ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: %s: host pointer must not be NULL", what, layer);
    *id = (size_t)(node - net->graph->nodes);
    if (count != node->activations)
        return cly_fail(net->ctx, CLY_ERROR_SHAPE_MISMATCH,
                        "%s: %s holds %lld values (batch %lld x %lld x %lld x %lld), not %lld", what, layer,
                        (long long)node->activations, (long long)node->out.n, (long long)node->out.c,
                        (long long)node->out.h, (long long)node->out.w, (long long)count);
    return CLY_SUCCESS;
}

static cly_status set_input(cly_net *net, const char *what, const char *layer, const void *src, size_t host_size,
                            int64_t count)
{
    size_t id;
    cly_status s = value_of(net, what, layer, src, count, &id);
    if (s != CLY_SUCCESS)
        return s;
    if (net->graph->nodes[id].layer.type != CLY_LAYER_INPUT)
        return cly_fail(net->ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: '%s' is a %s layer, not an input", what, layer,
                        cly_layer_type_string(net->graph->nodes[id].layer.type));
    return cly_write_reals(net->ctx, net->arena, net->plan[id].offset, src, host_size, count, what);
}

static cly_status get_output(const cly_net *net, const char *what, const char *layer, void *dst, size_t host_size,
                             int64_t count)
{
    size_t id;
    cly_status s = value_of(net, what, layer, dst, count, &id);
    if (s != CLY_SUCCESS)
        return s;
    /* Readable: what lives to the end of the pass, backward included in
     * training (inputs, graph outputs, kept values). */
    int64_t n = (int64_t)net->graph->count;
    if (net->plan[id].last < (net->options.mode == CLY_MODE_TRAINING ? 2 * n + 1 : n))
        return cly_fail(net->ctx, CLY_ERROR_INVALID_ARGUMENT,
                        "%s: '%s' is neither a graph output nor kept, so its storage is reused during the pass; "
                        "list it in cly_net_options.keep to read it",
                        what, layer);
    return cly_read_reals(net->ctx, net->arena, net->plan[id].offset, dst, host_size, count, what);
}

cly_status cly_net_set_input(cly_net *net, const char *layer, const float *src, int64_t count)
{
    return set_input(net, "cly_net_set_input", layer, src, sizeof *src, count);
}

cly_status cly_net_set_input_f64(cly_net *net, const char *layer, const double *src, int64_t count)
{
    return set_input(net, "cly_net_set_input_f64", layer, src, sizeof *src, count);
}

cly_status cly_net_get_output(const cly_net *net, const char *layer, float *dst, int64_t count)
{
    return get_output(net, "cly_net_get_output", layer, dst, sizeof *dst, count);
}

cly_status cly_net_get_output_f64(const cly_net *net, const char *layer, double *dst, int64_t count)
{
    return get_output(net, "cly_net_get_output_f64", layer, dst, sizeof *dst, count);
}
