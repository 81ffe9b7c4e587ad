/* The FC -> CONV test net and its helpers (fc_conv_net.h). */
#include "fc_conv_net.h"

#include <stdlib.h>
#include <string.h>

static const char *const param_layers[] = {"conv1", "conv2", "fc6", "fc7", "fc8"};
#define PARAM_LAYERS (sizeof param_layers / sizeof param_layers[0])

#define TRY(call)                          \
    do {                                   \
        cly_status s_ = (call);            \
        if (s_ != CLY_SUCCESS) {           \
            cly_graph_destroy(g);          \
            return NULL;                   \
        }                                  \
    } while (0)

static cly_status add1(cly_graph *g, cly_layer l, const char *input)
{
    l.inputs = (const char *const[]){input};
    l.input_count = 1;
    return cly_graph_add(g, &l);
}

cly_graph *fcnet_graph(int64_t width)
{
    cly_graph *g = NULL;
    if (cly_graph_create(&g) != CLY_SUCCESS)
        return NULL;
    const cly_pool_params pool = {.kind = CLY_POOL_MAX, .size = {2, 2}, .stride = {2, 2}};
    TRY(cly_graph_input(g, "data", 3, FCNET_SIZE, FCNET_SIZE));
    TRY(cly_graph_conv(g, "conv1", "data",
                       (cly_conv_params){.filters = 8 * width, .size = {4, 4}, .stride = {4, 4}, .relu = true}));
    TRY(cly_graph_pool(g, "pool1", "conv1", pool));
    TRY(cly_graph_conv(g, "conv2", "pool1",
                       (cly_conv_params){.filters = 16 * width, .size = {2, 2}, .stride = {2, 2}, .relu = true}));
    TRY(add1(g, (cly_layer){.type = CLY_LAYER_LRN, .name = "norm2",
                            .p.lrn = {.size = 5, .alpha = 1e-4, .beta = 0.75, .k = 2}},
             "conv2"));
    TRY(cly_graph_pool(g, "pool2", "norm2", pool));
    TRY(cly_graph_fc(g, "fc6", "pool2", (cly_fc_params){.outputs = 32 * width, .relu = true}));
    TRY(add1(g, (cly_layer){.type = CLY_LAYER_DROPOUT, .name = "drop6", .p.dropout = 0.5}, "fc6"));
    TRY(cly_graph_fc(g, "fc7", "drop6", (cly_fc_params){.outputs = 32 * width, .relu = true}));
    TRY(add1(g, (cly_layer){.type = CLY_LAYER_DROPOUT, .name = "drop7", .p.dropout = 0.5}, "fc7"));
    TRY(cly_graph_fc(g, "fc8", "drop7", (cly_fc_params){.outputs = FCNET_CLASSES}));
    TRY(cly_graph_softmax(g, "prob", "fc8"));
    return g;
}

cly_status fcnet_init(cly_net *net, uint64_t seed)
{
    cly_status s = cly_net_init_params(net, CLY_INIT_HE, seed);
    for (size_t i = 0; s == CLY_SUCCESS && i < PARAM_LAYERS; i++) {
        int64_t n = 0;
        if ((s = cly_net_param_count(net, param_layers[i], CLY_PARAM_BIAS, &n)) != CLY_SUCCESS)
            break;
        float *b = malloc((size_t)n * sizeof *b);
        if (!b)
            return CLY_ERROR_OUT_OF_HOST_MEMORY;
        for (int64_t k = 0; k < n; k++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            b[k] = (float)((double)(seed >> 40) / 16777216.0 * 0.2 - 0.1);
        }
        s = cly_net_set_param(net, param_layers[i], CLY_PARAM_BIAS, b, n);
        free(b);
    }
    return s;
}

cly_status fcnet_copy_params(const cly_net *src, cly_net *dst)
{
    static const cly_param_kind kinds[] = {CLY_PARAM_WEIGHTS, CLY_PARAM_BIAS};
    cly_status s = CLY_SUCCESS;
    for (size_t i = 0; s == CLY_SUCCESS && i < PARAM_LAYERS; i++) {
        for (size_t k = 0; s == CLY_SUCCESS && k < 2; k++) {
            int64_t n = 0;
            if ((s = cly_net_param_count(src, param_layers[i], kinds[k], &n)) != CLY_SUCCESS)
                break;
            float *v = malloc((size_t)n * sizeof *v);
            if (!v)
                return CLY_ERROR_OUT_OF_HOST_MEMORY;
            if ((s = cly_net_get_param(src, param_layers[i], kinds[k], v, n)) == CLY_SUCCESS)
                s = cly_net_set_param(dst, param_layers[i], kinds[k], v, n);
            free(v);
        }
    }
    return s;
}

cly_status fcnet_converted(cly_context *ctx, const cly_graph *g, int64_t h, int64_t w, const cly_net *params,
                           cly_graph **cg, cly_net **net)
{
    static const char *const keep[] = {"fc8"};
    cly_graph *c = NULL;
    cly_net *n = NULL;
    cly_status s = cly_graph_fc_to_conv(g, &c);
    if (s == CLY_SUCCESS)
        s = cly_graph_set_input_size(c, "data", h, w);
    if (s == CLY_SUCCESS)
        s = cly_net_create(ctx, c, &(cly_net_options){.batch = 1, .keep = keep, .keep_count = 1}, &n);
    if (s == CLY_SUCCESS)
        s = fcnet_copy_params(params, n);
    if (s != CLY_SUCCESS) {
        cly_net_destroy(n);
        cly_graph_destroy(c);
        return s;
    }
    *cg = c;
    *net = n;
    return CLY_SUCCESS;
}

void fcnet_crop(const float *img, int64_t c, int64_t h, int64_t w, int64_t y0, int64_t x0, int64_t ch, int64_t cw,
                float *out)
{
    for (int64_t k = 0; k < c; k++)
        for (int64_t y = 0; y < ch; y++)
            memcpy(out + (k * ch + y) * cw, img + (k * h + y0 + y) * w + x0, (size_t)cw * sizeof *out);
}
