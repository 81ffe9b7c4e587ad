/* The layer graph: creation, adding layers (deep copies, name rules, input
 * counts, per-type parameter checks from the op table), lookups and the
 * per-layer results of inference. No OpenCL call. */
#include "graph/graph.h"
#include "base/status.h"
#include "graph/op.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *cly_layer_type_string(cly_layer_type type)
{
    if ((unsigned)type >= CLY_LAYER_TYPE_COUNT)
        return "unknown";
    return cly_op_of(type)->name;
}

/* ---- names */

bool cly_name_valid(const char *name)
{
    if (!name)
        return false;
    size_t n = 0;
    for (const char *p = name; *p; p++, n++) {
        char c = *p;
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
                  c == '.' || c == '/' || c == '-';
        if (!ok || n >= 63)
            return false;
    }
    return n >= 1;
}

/* Why a name is invalid, for messages. */
static const char *name_problem(const char *name)
{
    if (!name)
        return "is NULL";
    size_t n = strlen(name);
    if (n == 0)
        return "is empty";
    if (n > 63)
        return "is longer than 63 characters";
    return "may only hold A-Z a-z 0-9 _ . / -";
}

/* Printable, bounded copy of an untrusted name for messages. */
static const char *shown(const char *name, char *buf, size_t size)
{
    if (!name)
        return "(null)";
    size_t o = 0, i = 0;
    for (; name[i] && o + 5 < size && i < 70; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c >= 0x20 && c < 0x7f)
            buf[o++] = (char)c;
        else
            o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
    }
    if (name[i])
        o += (size_t)snprintf(buf + o, size - o, "...");
    buf[o < size ? o : size - 1] = '\0';
    return buf;
}

static uint64_t hash_name(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

ptrdiff_t cly_graph_find(const cly_graph *g, const char *name)
{
    if (!g->index_capacity)
        return -1;
    size_t mask = g->index_capacity - 1;
    for (size_t i = (size_t)hash_name(name) & mask;; i = (i + 1) & mask) {
        size_t v = g->index[i];
        if (v == 0)
            return -1;
        if (strcmp(g->nodes[v - 1].name, name) == 0)
            return (ptrdiff_t)(v - 1);
    }
}

static void index_put(size_t *index, size_t capacity, const char *name, size_t node)
{
    size_t mask = capacity - 1;
    size_t i = (size_t)hash_name(name) & mask;
    while (index[i])
        i = (i + 1) & mask;
    index[i] = node + 1;
}

/* Room for one more name at load factor <= 1/2. */
static bool index_reserve(cly_graph *g)
{
    if ((g->count + 1) * 2 <= g->index_capacity)
        return true;
    size_t cap = g->index_capacity ? g->index_capacity * 2 : 64;
    size_t *index = calloc(cap, sizeof *index);
    if (!index)
        return false;
    for (size_t i = 0; i < g->count; i++)
        index_put(index, cap, g->nodes[i].name, i);
    free(g->index);
    g->index = index;
    g->index_capacity = cap;
    return true;
}

/* ---- messages */

cly_status cly_node_fail(const cly_graph *g, const cly_node *n, cly_status s, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (g && g->source && n->line > 0)
        return cly_fail(NULL, s, "%s:%d: %s: %s", g->source, n->line, n->name, msg);
    return cly_fail(NULL, s, "%s: %s", n->name, msg);
}

/* ---- create, destroy */

cly_status cly_graph_create(cly_graph **out)
{
    if (!out)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "cly_graph_create: out must not be NULL");
    cly_graph *g = calloc(1, sizeof *g);
    if (!g)
        return cly_fail(NULL, CLY_ERROR_OUT_OF_HOST_MEMORY, "cly_graph_create: out of memory");
    *out = g;
    return CLY_SUCCESS;
}

static void node_free(cly_node *n)
{
    free(n->name);
    if (n->inputs)
        for (size_t i = 0; i < n->layer.input_count; i++)
            free(n->inputs[i]);
    free(n->inputs);
    free(n->input_ids);
}

void cly_graph_destroy(cly_graph *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->count; i++)
        node_free(&g->nodes[i]);
    free(g->nodes);
    free(g->order);
    free(g->index);
    free(g->edges);
    free(g->source);
    free(g);
}

/* ---- adding layers */

static char *dup_string(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* Deep copy of `l` into a fresh node: name, input names, ids. */
static bool node_copy(cly_node *n, const cly_layer *l)
{
    memset(n, 0, sizeof *n);
    n->layer = *l;
    n->name = dup_string(l->name);
    if (!n->name)
        return false;
    n->layer.name = n->name;
    n->layer.inputs = NULL;
    n->layer.input_count = 0;
    if (l->input_count) {
        n->inputs = calloc(l->input_count, sizeof *n->inputs);
        n->input_ids = calloc(l->input_count, sizeof *n->input_ids);
        if (!n->inputs || !n->input_ids)
            return false;
        n->layer.input_count = l->input_count; /* node_free frees what was copied */
        for (size_t i = 0; i < l->input_count; i++)
            if (!(n->inputs[i] = dup_string(l->inputs[i])))
                return false;
        n->layer.inputs = (const char *const *)n->inputs;
    }
    return true;
}

cly_status cly_graph_add(cly_graph *g, const cly_layer *layer)
{
    char buf[96], buf2[96];
    if (!g || !layer)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "cly_graph_add: graph and layer must not be NULL");
    if (g->nets > 0)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT,
                        "cly_graph_add: the graph is in use by %zu net%s; layers cannot be added under them "
                        "(destroy them first)",
                        g->nets, g->nets == 1 ? "" : "s");
    if ((unsigned)layer->type >= CLY_LAYER_TYPE_COUNT)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: layer type %d does not exist (0..%d)",
                        shown(layer->name, buf, sizeof buf), (int)layer->type, CLY_LAYER_TYPE_COUNT - 1);
    const cly_op *ops = cly_op_of(layer->type);
    if (!cly_name_valid(layer->name))
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s layer name '%s' %s", ops->name,
                        shown(layer->name, buf, sizeof buf), name_problem(layer->name));
    const char *name = layer->name;
    if (cly_graph_find(g, name) >= 0)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: a layer of that name is already in the graph", name);
    size_t nin = layer->input_count;
    if (nin < ops->min_inputs || nin > ops->max_inputs) {
        if (ops->min_inputs == ops->max_inputs)
            return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: a %s layer takes %zu input%s, not %zu", name,
                            ops->name, ops->min_inputs, ops->min_inputs == 1 ? "" : "s", nin);
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: a %s layer takes %zu to %zu inputs, not %zu", name,
                        ops->name, ops->min_inputs, ops->max_inputs, nin);
    }
    if (nin && !layer->inputs)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: input_count is %zu but inputs is NULL", name, nin);
    for (size_t i = 0; i < nin; i++)
        if (!cly_name_valid(layer->inputs[i]))
            return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: input %zu name '%s' %s", name, i + 1,
                            shown(layer->inputs[i], buf2, sizeof buf2), name_problem(layer->inputs[i]));

    cly_layer copy = *layer;
    cly_status s = ops->check(&copy); /* applies defaults to the copy */
    if (s != CLY_SUCCESS)
        return s;

    if (g->count == g->capacity) {
        size_t cap = g->capacity ? g->capacity * 2 : 16;
        cly_node *nodes = realloc(g->nodes, cap * sizeof *nodes);
        if (!nodes)
            return cly_fail(NULL, CLY_ERROR_OUT_OF_HOST_MEMORY, "%s: out of memory", name);
        g->nodes = nodes;
        g->capacity = cap;
    }
    if (!index_reserve(g))
        return cly_fail(NULL, CLY_ERROR_OUT_OF_HOST_MEMORY, "%s: out of memory", name);
    cly_node *n = &g->nodes[g->count];
    if (!node_copy(n, &copy)) {
        node_free(n);
        return cly_fail(NULL, CLY_ERROR_OUT_OF_HOST_MEMORY, "%s: out of memory", name);
    }
    index_put(g->index, g->index_capacity, n->name, g->count);
    g->count++;
    g->inferred = false;
    return CLY_SUCCESS;
}

/* ---- shorthands */

cly_status cly_graph_input(cly_graph *g, const char *name, int64_t c, int64_t h, int64_t w)
{
    cly_layer l = {.type = CLY_LAYER_INPUT, .name = name};
    l.p.input.c = c;
    l.p.input.h = h;
    l.p.input.w = w;
    return cly_graph_add(g, &l);
}

static cly_status add_one(cly_graph *g, cly_layer l, const char *input)
{
    const char *inputs[1] = {input};
    l.inputs = inputs;
    l.input_count = 1;
    return cly_graph_add(g, &l);
}

cly_status cly_graph_conv(cly_graph *g, const char *name, const char *input, cly_conv_params p)
{
    return add_one(g, (cly_layer){.type = CLY_LAYER_CONV, .name = name, .p.conv = p}, input);
}

cly_status cly_graph_relu(cly_graph *g, const char *name, const char *input)
{
    return add_one(g, (cly_layer){.type = CLY_LAYER_RELU, .name = name}, input);
}

cly_status cly_graph_pool(cly_graph *g, const char *name, const char *input, cly_pool_params p)
{
    return add_one(g, (cly_layer){.type = CLY_LAYER_POOL, .name = name, .p.pool = p}, input);
}

cly_status cly_graph_fc(cly_graph *g, const char *name, const char *input, cly_fc_params p)
{
    return add_one(g, (cly_layer){.type = CLY_LAYER_FC, .name = name, .p.fc = p}, input);
}

cly_status cly_graph_softmax(cly_graph *g, const char *name, const char *input)
{
    return add_one(g, (cly_layer){.type = CLY_LAYER_SOFTMAX, .name = name}, input);
}

/* ---- results */

size_t cly_graph_layer_count(const cly_graph *g)
{
    return g ? g->count : 0;
}

cly_status cly_graph_layer_info(const cly_graph *g, size_t index, cly_layer_info *out)
{
    if (!g || !out)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "cly_graph_layer_info: graph and out must not be NULL");
    if (!g->inferred)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT,
                        "cly_graph_layer_info: the graph changed or was never inferred: call cly_graph_infer first");
    if (index >= g->count)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "cly_graph_layer_info: index %zu is past the %zu layers",
                        index, g->count);
    const cly_node *n = &g->nodes[g->order[index]];
    *out = (cly_layer_info){
        .name = n->name,
        .type = n->layer.type,
        .output = n->out,
        .activations = n->activations,
        .weights = n->weights,
        .biases = n->biases,
        .flops = n->flops,
        .rounded = n->rounded,
        .is_output = n->consumers == 0,
    };
    return CLY_SUCCESS;
}

cly_status cly_graph_layer_conv(const cly_graph *g, size_t index, cly_shape *input, cly_conv_params *params)
{
    cly_layer_info info;
    cly_status s = cly_graph_layer_info(g, index, &info);
    if (s != CLY_SUCCESS) /* its message, under this call's name */
        return cly_fail(NULL, s, "cly_graph_layer_conv%s", strchr(cly_last_error(NULL), ':'));
    if (!input || !params)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "cly_graph_layer_conv: input and params must not be NULL");
    const cly_node *n = &g->nodes[g->order[index]];
    if (n->layer.type != CLY_LAYER_CONV)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "cly_graph_layer_conv: layer %zu (%s) is a %s, not a conv",
                        index, n->name, cly_layer_type_string(n->layer.type));
    *input = g->nodes[n->input_ids[0]].out;
    *params = n->layer.p.conv;
    return CLY_SUCCESS;
}
