/* Net-file text from a graph (cly_graph_to_text), the inverse of netfile.c:
 * one line per layer in insertion order, so that parsing the text gives the
 * same layers in the same order, hence the same topological order, shapes
 * and costs. Keys left at their defaults are not written; everything else
 * is, reals with the fewest digits that read back to the same double. */
#include "graph/graph.h"
#include "base/status.h"
#include "graph/op.h"

#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct text_buf {
    char *data;
    size_t size, capacity;
    bool failed; /* out of memory */
} text_buf;

static void put(text_buf *b, const char *fmt, ...) CLY_FMT(2, 3);
static void put(text_buf *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->data + b->size, b->capacity - b->size, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = true;
            return;
        }
        if ((size_t)n < b->capacity - b->size) {
            b->size += (size_t)n;
            return;
        }
        size_t cap = b->capacity * 2 > b->size + (size_t)n + 1 ? b->capacity * 2 : b->size + (size_t)n + 1;
        char *p = realloc(b->data, cap);
        if (!p) {
            b->failed = true;
            return;
        }
        b->data = p;
        b->capacity = cap;
    }
}

/* " key=H" or " key=HxW"; nothing when both equal `dflt`. */
static void put_hw(text_buf *b, const char *key, cly_hw v, int64_t dflt)
{
    if (v.h == dflt && v.w == dflt)
        return;
    if (v.h == v.w)
        put(b, " %s=%lld", key, (long long)v.h);
    else
        put(b, " %s=%lldx%lld", key, (long long)v.h, (long long)v.w);
}

/* The shortest of the three padding forms that says it exactly. */
static void put_pad(text_buf *b, cly_pad p)
{
    if (p.top == p.bottom && p.left == p.right)
        put_hw(b, "pad", (cly_hw){p.top, p.left}, 0);
    else
        put(b, " pad=%lld,%lld,%lld,%lld", (long long)p.top, (long long)p.bottom, (long long)p.left,
            (long long)p.right);
}

/* A finite double as the parser reads it: the fewest significant digits
 * (15 to 17) that convert back to the same value, with '.' as the decimal
 * point whatever the locale. */
static void put_real(text_buf *b, const char *key, double v)
{
    char s[64];
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(s, sizeof s, "%.*g", digits, v);
        if (strtod(s, NULL) == v) /* printf and strtod share the locale */
            break;
    }
    const char *dp = localeconv()->decimal_point;
    size_t dl = strlen(dp);
    char out[64];
    size_t o = 0;
    for (size_t i = 0; s[i] && o + 1 < sizeof out;) {
        if (dl && strncmp(s + i, dp, dl) == 0) {
            out[o++] = '.';
            i += dl;
        } else {
            out[o++] = s[i++];
        }
    }
    out[o] = '\0';
    put(b, " %s=%s", key, out);
}

static int int_field(const cly_layer *l, const cly_key *k)
{
    int v;
    memcpy(&v, (const char *)l + k->offset, sizeof v);
    return v;
}

/* One key, unless it holds its default (required keys always). */
static void put_key(text_buf *b, const cly_layer *l, const cly_key *k)
{
    const void *field = (const char *)l + k->offset;
    switch (k->kind) {
    case CLY_KEY_FLAG:
        /* A flag valid only with a choice (exclude_pad with avg) changes
         * nothing elsewhere: dropped rather than written unreadably. */
        if (*(const bool *)field && !k->needs)
            put(b, " %s", k->name);
        for (const cly_key *c = cly_op_of(l->type)->keys; k->needs && *(const bool *)field && c->name; c++)
            if (strcmp(c->name, k->needs) == 0 && int_field(l, c) == c->value)
                put(b, " %s", k->name);
        break;
    case CLY_KEY_CHOICE:
        if (int_field(l, k) == k->value && k->value != (int)k->dflt)
            put(b, " %s", k->name);
        break;
    case CLY_KEY_INT: {
        int64_t v = *(const int64_t *)field;
        if (k->required || v != (int64_t)k->dflt)
            put(b, " %s=%lld", k->name, (long long)v);
        break;
    }
    case CLY_KEY_HW:
        put_hw(b, k->name, *(const cly_hw *)field, k->required ? -1 : (int64_t)k->dflt);
        break;
    case CLY_KEY_PAD:
        put_pad(b, *(const cly_pad *)field);
        break;
    case CLY_KEY_REAL: {
        double v = *(const double *)field;
        if (k->required || v != k->dflt)
            put_real(b, k->name, v);
        break;
    }
    case CLY_KEY_ENUM: {
        int v = int_field(l, k), count = 0;
        while (k->choices[count])
            count++;
        if (v != (int)k->dflt && v >= 0 && v < count)
            put(b, " %s=%s", k->name, k->choices[v]);
        break;
    }
    }
}

/* The keys in table order, choice flags (the pool kind) first. */
static void put_keys(text_buf *b, const cly_layer *l)
{
    const cly_key *keys = cly_op_of(l->type)->keys;
    for (const cly_key *k = keys; k->name; k++)
        if (k->kind == CLY_KEY_CHOICE)
            put_key(b, l, k);
    for (const cly_key *k = keys; k->name; k++)
        if (k->kind != CLY_KEY_CHOICE)
            put_key(b, l, k);
}

cly_status cly_graph_to_text(const cly_graph *g, char **text, size_t *size)
{
    if (!g || !text || !size)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "cly_graph_to_text: graph, text and size must not be NULL");
    if (g->count == 0)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "cly_graph_to_text: the graph has no layers");
    /* Limits of the parser: a text it would refuse is no use. */
    if (g->count > CLY_NET_LAYERS_MAX)
        return cly_fail(NULL, CLY_ERROR_UNSUPPORTED, "cly_graph_to_text: %zu layers, more than the net format's %d",
                        g->count, CLY_NET_LAYERS_MAX);
    text_buf b = {.capacity = 4096};
    b.data = malloc(b.capacity);
    if (!b.data)
        return cly_fail(NULL, CLY_ERROR_OUT_OF_HOST_MEMORY, "cly_graph_to_text: out of memory");
    b.data[0] = '\0';
    for (size_t i = 0; i < g->count && !b.failed; i++) {
        const cly_node *n = &g->nodes[i];
        size_t start = b.size;
        put(&b, "%s %s", cly_layer_type_string(n->layer.type), n->name);
        if (n->layer.input_count)
            put(&b, " <");
        for (size_t k = 0; k < n->layer.input_count; k++)
            put(&b, " %s", n->inputs[k]);
        put_keys(&b, &n->layer);
        if (!b.failed && b.size - start > CLY_NET_LINE_MAX) {
            free(b.data);
            return cly_fail(NULL, CLY_ERROR_UNSUPPORTED,
                            "cly_graph_to_text: %s: its line would be %zu bytes, more than the net format's %d",
                            n->name, b.size - start, CLY_NET_LINE_MAX);
        }
        put(&b, "\n");
    }
    if (b.failed) {
        free(b.data);
        return cly_fail(NULL, CLY_ERROR_OUT_OF_HOST_MEMORY, "cly_graph_to_text: out of memory");
    }
    if (b.size > CLY_NET_TEXT_MAX) {
        free(b.data);
        return cly_fail(NULL, CLY_ERROR_UNSUPPORTED, "cly_graph_to_text: the text would be %zu bytes, more than %zu",
                        b.size, CLY_NET_TEXT_MAX);
    }
    *text = b.data;
    *size = b.size;
    return CLY_SUCCESS;
}
