/* cly_graph_infer: resolve input names, order the layers (stable
 * topological order), find cycles, then shapes and costs layer by layer
 * through each op's infer (the op table), and the totals. */
#include "graph/graph.h"
#include "base/status.h"
#include "graph/op.h"

#include <stdlib.h>
#include <string.h>

/* Binary min-heap of node indices: among ready layers the earliest added
 * goes first, so the order is stable and equals insertion order when the
 * layers were added in dependency order. */
typedef struct heap {
    size_t *v;
    size_t n;
} heap;

static void heap_push(heap *h, size_t x)
{
    size_t i = h->n++;
    while (i > 0 && h->v[(i - 1) / 2] > x) {
        h->v[i] = h->v[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->v[i] = x;
}

static size_t heap_pop(heap *h)
{
    size_t top = h->v[0], x = h->v[--h->n], i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && h->v[c + 1] < h->v[c])
            c++;
        if (h->v[c] >= x)
            break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->n)
        h->v[i] = x;
    return top;
}

static cly_status oom(void)
{
    return cly_fail(NULL, CLY_ERROR_OUT_OF_HOST_MEMORY, "cly_graph_infer: out of memory");
}

/* input_ids from names; consumers and consumer_ids (CSR in g->edges). */
static cly_status resolve(cly_graph *g)
{
    size_t edges = 0;
    for (size_t i = 0; i < g->count; i++) {
        cly_node *n = &g->nodes[i];
        n->consumers = 0;
        edges += n->layer.input_count;
    }
    for (size_t i = 0; i < g->count; i++) {
        cly_node *n = &g->nodes[i];
        for (size_t j = 0; j < n->layer.input_count; j++) {
            ptrdiff_t id = cly_graph_find(g, n->inputs[j]);
            if (id < 0)
                return cly_node_fail(g, n, CLY_ERROR_INVALID_ARGUMENT, "input '%s' is not a layer of the graph",
                                     n->inputs[j]);
            n->input_ids[j] = (size_t)id;
            g->nodes[id].consumers++;
        }
    }
    free(g->edges);
    g->edges = malloc((edges ? edges : 1) * sizeof *g->edges);
    if (!g->edges)
        return oom();
    size_t pos = 0;
    for (size_t i = 0; i < g->count; i++) {
        g->nodes[i].consumer_ids = g->edges + pos;
        pos += g->nodes[i].consumers;
        g->nodes[i].consumers = 0; /* refilled below as a cursor */
    }
    for (size_t i = 0; i < g->count; i++) { /* ascending i: each list comes out sorted */
        const cly_node *n = &g->nodes[i];
        for (size_t j = 0; j < n->layer.input_count; j++) {
            cly_node *src = &g->nodes[n->input_ids[j]];
            src->consumer_ids[src->consumers++] = i;
        }
    }
    /* Overwriting an input is legal only when nothing else reads it, and
     * never for the net's own inputs, which the caller provides. */
    for (size_t i = 0; i < g->count; i++) {
        cly_node *n = &g->nodes[i];
        const cly_node *src = n->layer.input_count == 1 ? &g->nodes[n->input_ids[0]] : NULL;
        n->in_place = (cly_op_of(n->layer.type)->flags & CLY_OP_IN_PLACE) && src && src->consumers == 1 &&
                      src->layer.type != CLY_LAYER_INPUT;
    }
    return CLY_SUCCESS;
}

/* Some layers were never ready: every one of them has an unready input.
 * Walk unready inputs back from the first until a layer repeats; the walk
 * between the two visits is a cycle. */
static cly_status report_cycle(cly_graph *g, const size_t *indeg)
{
    size_t start = 0;
    while (indeg[start] == 0)
        start++;
    size_t *step = malloc(g->count * sizeof *step);
    size_t *path = malloc(g->count * sizeof *path);
    if (!step || !path) {
        free(step);
        free(path);
        return cly_node_fail(g, &g->nodes[start], CLY_ERROR_INVALID_ARGUMENT, "the layer is on or after a cycle");
    }
    for (size_t i = 0; i < g->count; i++)
        step[i] = SIZE_MAX;
    size_t len = 0, v = start;
    while (step[v] == SIZE_MAX) {
        step[v] = len;
        path[len++] = v;
        const cly_node *n = &g->nodes[v];
        size_t next = v;
        for (size_t j = 0; j < n->layer.input_count; j++)
            if (indeg[n->input_ids[j]] > 0) {
                next = n->input_ids[j];
                break;
            }
        v = next;
    }
    /* path[step[v]..len-1] is the cycle, each entry an input of the one
     * before: print it in data-flow order, v -> path[len-1] -> ... -> v. */
    char msg[1024];
    size_t used = (size_t)snprintf(msg, sizeof msg, "%s", g->nodes[v].name);
    for (size_t i = len; i-- > step[v] && used < sizeof msg;) {
        if (used > sizeof msg - 80) {
            snprintf(msg + used, sizeof msg - used, " -> ...");
            break;
        }
        const char *name = g->nodes[i == step[v] ? v : path[i]].name;
        used += (size_t)snprintf(msg + used, sizeof msg - used, " -> %s", name);
    }
    cly_status s = cly_node_fail(g, &g->nodes[v], CLY_ERROR_INVALID_ARGUMENT, "the layer is on a cycle: %s", msg);
    free(step);
    free(path);
    return s;
}

static cly_status order_layers(cly_graph *g)
{
    size_t *order = realloc(g->order, g->count * sizeof *order);
    if (!order)
        return oom();
    g->order = order;
    size_t *indeg = malloc(g->count * sizeof *indeg);
    heap h = {malloc(g->count * sizeof *h.v), 0};
    if (!indeg || !h.v) {
        free(indeg);
        free(h.v);
        return oom();
    }
    for (size_t i = 0; i < g->count; i++) {
        indeg[i] = g->nodes[i].layer.input_count;
        if (indeg[i] == 0)
            heap_push(&h, i);
    }
    size_t done = 0;
    while (h.n) {
        size_t v = heap_pop(&h);
        g->order[done++] = v;
        const cly_node *n = &g->nodes[v];
        for (size_t j = 0; j < n->consumers; j++)
            if (--indeg[n->consumer_ids[j]] == 0)
                heap_push(&h, n->consumer_ids[j]);
    }
    cly_status s = done == g->count ? CLY_SUCCESS : report_cycle(g, indeg);
    free(indeg);
    free(h.v);
    return s;
}

static bool add_to(int64_t *total, int64_t v)
{
    if (v > INT64_MAX - *total)
        return false;
    *total += v;
    return true;
}

cly_status cly_graph_infer(cly_graph *g, int64_t batch)
{
    if (!g)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "cly_graph_infer: graph must not be NULL");
    if (g->nets > 0) {
        /* Live nets read the shapes, order and sizes written here: at their
         * batch there is nothing to redo, at another it would change them
         * under the nets (while they run, perhaps on another thread). */
        if (g->inferred && batch == g->batch)
            return CLY_SUCCESS;
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT,
                        "cly_graph_infer: the graph is in use by %zu net%s compiled at batch %lld; it cannot be "
                        "inferred at batch %lld while %s: build another graph for it (parse or load it again) or "
                        "destroy the net%s first",
                        g->nets, g->nets == 1 ? "" : "s", (long long)g->batch, (long long)batch,
                        g->nets == 1 ? "that net lives" : "those nets live", g->nets == 1 ? "" : "s");
    }
    g->inferred = false;
    if (batch < 1 || batch > INT32_MAX)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "cly_graph_infer: batch = %lld must be in 1..%d",
                        (long long)batch, INT32_MAX);
    if (g->count == 0)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "cly_graph_infer: the graph has no layers");
    g->batch = batch;
    cly_status s = resolve(g);
    if (s == CLY_SUCCESS)
        s = order_layers(g);
    if (s != CLY_SUCCESS)
        return s;

    g->total_weights = g->total_biases = g->total_activations = g->total_flops = g->bn_running = 0;
    for (size_t k = 0; k < g->count; k++) {
        cly_node *n = &g->nodes[g->order[k]];
        n->weights = n->biases = n->flops = n->activations = 0;
        n->rounded = false;
        n->out = (cly_shape){0, 0, 0, 0};
        s = cly_op_of(n->layer.type)->infer(g, n);
        if (s != CLY_SUCCESS)
            return s;
        bool ok = add_to(&g->total_weights, n->weights) && add_to(&g->total_biases, n->biases) &&
                  (n->in_place || add_to(&g->total_activations, n->activations)) &&
                  add_to(&g->total_flops, n->flops) &&
                  (!(cly_op_of(n->layer.type)->flags & CLY_OP_NORM_PARAMS) || add_to(&g->bn_running, n->biases));
        if (!ok || g->total_weights > INT64_MAX - g->total_biases)
            return cly_node_fail(g, n, CLY_ERROR_SIZE_OVERFLOW, "the graph's totals overflow 64 bits");
    }
    g->inferred = true;
    return CLY_SUCCESS;
}
