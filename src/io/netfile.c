/* The plain-text net format (docs/net-format.md): one layer per line,
 *   TYPE NAME [< INPUT...] [KEY=VALUE | FLAG]...
 * The text is untrusted: every error is a status whose message starts with
 * "SOURCE:LINE: ", and every size is capped. Which keys a type takes, and
 * which field each sets, comes from its op's key table (graph/op.h); the
 * writer (netfile_write.c) reads the same tables. */
#include "graph/graph.h"
#include "base/status.h"
#include "graph/op.h"
#include "io/file_read.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NET_TEXT_MAX CLY_NET_TEXT_MAX     /* bytes, for parse and load alike */
#define NET_LINE_MAX CLY_NET_LINE_MAX     /* bytes per line */
#define NET_LAYERS_MAX CLY_NET_LAYERS_MAX
#define NET_TOKENS_MAX (3 + CLY_GRAPH_MAX_INPUTS) /* TYPE NAME < and the inputs */
#define NET_NUM_MAX 2147483647LL        /* 2^31 - 1: dimensions and counts */

/* ---- keys */

/* The table entry of `s` (len bytes) in `keys`, or NULL; *index its row. */
static const cly_key *key_find(const cly_key *keys, const char *s, size_t len, int *index)
{
    for (int k = 0; keys[k].name; k++)
        if (strlen(keys[k].name) == len && memcmp(keys[k].name, s, len) == 0) {
            *index = k;
            return &keys[k];
        }
    return NULL;
}

static bool takes_value(const cly_key *k)
{
    return k->kind != CLY_KEY_FLAG && k->kind != CLY_KEY_CHOICE;
}

/* Enum fields are stored through int (CLY_KEY_CHOICE, CLY_KEY_ENUM). */
_Static_assert(sizeof(cly_pool_kind) == sizeof(int) && sizeof(cly_rounding) == sizeof(int) &&
                   sizeof(cly_conv_algo) == sizeof(int) && sizeof(cly_lrn_alpha) == sizeof(int),
               "enum fields are int-sized");

/* ---- the parser state and its errors */

typedef struct parser {
    const char *source;
    size_t line;
    cly_layer_type type;
    const char *name; /* the current layer, once known */
} parser;

static cly_status perr(const parser *ps, const char *fmt, ...) CLY_FMT(2, 3);
static cly_status perr(const parser *ps, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (ps->name)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s:%zu: %s %s: %s", ps->source, ps->line,
                        cly_layer_type_string(ps->type), ps->name, msg);
    return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s:%zu: %s", ps->source, ps->line, msg);
}

/* Printable, bounded form of an untrusted token for messages. */
static const char *shown(const char *s, char *buf, size_t size)
{
    size_t o = 0, i = 0;
    for (; s[i] && i < 64 && o + 5 < size; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f)
            buf[o++] = (char)c;
        else
            o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
    }
    if (s[i] && o + 4 < size)
        o += (size_t)snprintf(buf + o, size - o, "...");
    buf[o] = '\0';
    return buf;
}

/* ---- values */

static bool parse_int(const parser *ps, const char *key, const char *s, size_t len, int64_t *out, cly_status *st)
{
    char buf[32], tok[72], sh[96];
    snprintf(tok, sizeof tok, "%.*s", (int)(len < 64 ? len : 64), s);
    size_t i = s[0] == '-' ? 1 : 0;
    bool digits = len > i;
    for (size_t j = i; j < len; j++)
        digits &= s[j] >= '0' && s[j] <= '9';
    if (!digits) {
        *st = perr(ps, "%s: '%s' is not an integer", key, shown(tok, sh, sizeof sh));
        return false;
    }
    long long v = 0;
    if (len < sizeof buf) {
        memcpy(buf, s, len);
        buf[len] = '\0';
        errno = 0;
        v = strtoll(buf, NULL, 10);
    }
    if (len >= sizeof buf || errno == ERANGE || v > NET_NUM_MAX || v < -NET_NUM_MAX) {
        *st = perr(ps, "%s: %s%s is out of range (at most %lld)", key, shown(tok, sh, sizeof sh), len > 64 ? "..." : "",
                   NET_NUM_MAX);
        return false;
    }
    *out = v;
    return true;
}

/* "A" (both) or "HxW". */
static bool parse_hw(const parser *ps, const char *key, const char *v, cly_hw *out, cly_status *st)
{
    const char *x = strchr(v, 'x');
    if (!x)
        return parse_int(ps, key, v, strlen(v), &out->h, st) && (out->w = out->h, true);
    return parse_int(ps, key, v, (size_t)(x - v), &out->h, st) &&
           parse_int(ps, key, x + 1, strlen(x + 1), &out->w, st);
}

/* "P" (every side), "PHxPW" (top = bottom, left = right) or
 * "TOP,BOTTOM,LEFT,RIGHT". */
static bool parse_pad(const parser *ps, const char *v, cly_pad *out, cly_status *st)
{
    if (!strchr(v, ',')) {
        cly_hw hw;
        if (!parse_hw(ps, "pad", v, &hw, st))
            return false;
        *out = (cly_pad){hw.h, hw.h, hw.w, hw.w};
        return true;
    }
    int64_t side[4];
    const char *p = v;
    for (int i = 0; i < 4; i++) {
        const char *end = strchr(p, ',');
        if ((i < 3) != (end != NULL)) {
            char sh[96];
            *st = perr(ps, "pad=%s: give pad=P, pad=PHxPW or pad=TOP,BOTTOM,LEFT,RIGHT", shown(v, sh, sizeof sh));
            return false;
        }
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (!parse_int(ps, "pad", p, len, &side[i], st))
            return false;
        p = end ? end + 1 : p + len;
    }
    *out = (cly_pad){side[0], side[1], side[2], side[3]};
    return true;
}

/* Decimal reals only (no hex, inf or nan), read the same in every locale. */
static bool parse_real(const parser *ps, const char *key, const char *v, double *out, cly_status *st)
{
    char buf[160], sh[96];
    size_t len = strlen(v);
    bool ok = len > 0 && len < 64 && strspn(v, "0123456789.eE+-") == len;
    if (ok) {
        const char *dp = localeconv()->decimal_point;
        size_t dl = strlen(dp), o = 0;
        for (size_t i = 0; i < len; i++) {
            if (v[i] == '.' && dl && o + dl < sizeof buf) {
                memcpy(buf + o, dp, dl); /* strtod reads the locale's decimal point */
                o += dl;
            } else if (o + 1 < sizeof buf) {
                buf[o++] = v[i];
            }
        }
        buf[o] = '\0';
        char *end;
        double d = strtod(buf, &end);
        ok = end != buf && *end == '\0' && isfinite(d);
        *out = d;
    }
    if (!ok)
        *st = perr(ps, "%s=%s is not a finite decimal number", key, shown(v, sh, sizeof sh));
    return ok;
}

/* ---- one key on one layer */

static cly_status apply(const parser *ps, cly_layer *l, const cly_key *k, const char *v)
{
    cly_status st = CLY_SUCCESS;
    char sh[96];
    void *field = (char *)l + k->offset;
    switch (k->kind) {
    case CLY_KEY_FLAG:
        *(bool *)field = true;
        break;
    case CLY_KEY_CHOICE:
        memcpy(field, &k->value, sizeof k->value);
        break;
    case CLY_KEY_INT:
        if (k->hint && strchr(v, 'x'))
            return perr(ps, "%s=%s: %s", k->name, shown(v, sh, sizeof sh), k->hint);
        if (!parse_int(ps, k->name, v, strlen(v), (int64_t *)field, &st))
            return st;
        break;
    case CLY_KEY_HW:
        if (!parse_hw(ps, k->name, v, (cly_hw *)field, &st))
            return st;
        break;
    case CLY_KEY_PAD:
        if (!parse_pad(ps, v, (cly_pad *)field, &st))
            return st;
        break;
    case CLY_KEY_REAL:
        if (!parse_real(ps, k->name, v, (double *)field, &st))
            return st;
        break;
    case CLY_KEY_ENUM: {
        const char *const *c = k->choices;
        int e;
        for (e = 0; c[e] && strcmp(c[e], v) != 0; e++)
            ;
        if (!c[e]) {
            char list[128] = "";
            for (int j = 0; c[j]; j++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", j ? "|" : "", c[j]);
            return perr(ps, "%s=%s: expected %s", k->name, shown(v, sh, sizeof sh), list);
        }
        memcpy(field, &e, sizeof e);
        break;
    }
    }
    return CLY_SUCCESS;
}

/* "filters= size= ... nobias relu" for messages. */
static void key_list(const cly_key *keys, char *buf, size_t size)
{
    buf[0] = '\0';
    for (const cly_key *k = keys; k->name; k++) {
        size_t used = strlen(buf);
        snprintf(buf + used, size - used, "%s%s%s", used ? " " : "", k->name, takes_value(k) ? "=" : "");
    }
    if (!buf[0])
        snprintf(buf, size, "no keys");
}

/* "max, avg or l2": the choices that share k's field. */
static void choice_list(const cly_key *keys, const cly_key *k, char *buf, size_t size)
{
    int n = 0, total = 0;
    for (const cly_key *c = keys; c->name; c++)
        total += c->kind == CLY_KEY_CHOICE && c->offset == k->offset;
    buf[0] = '\0';
    for (const cly_key *c = keys; c->name; c++)
        if (c->kind == CLY_KEY_CHOICE && c->offset == k->offset) {
            size_t used = strlen(buf);
            snprintf(buf + used, size - used, "%s%s", n == 0 ? "" : n == total - 1 ? " or " : ", ", c->name);
            n++;
        }
}

/* ---- one line */

static cly_status parse_args(parser *ps, cly_layer *l, char **tok, size_t n)
{
    const cly_key *keys = cly_op_of(l->type)->keys;
    uint64_t seen = 0; /* by table row */
    char sh[96], list[512];
    for (size_t i = 0; i < n; i++) {
        char *t = tok[i], *eq = strchr(t, '=');
        size_t klen = eq ? (size_t)(eq - t) : strlen(t);
        int row;
        const cly_key *k = key_find(keys, t, klen, &row);
        if (!k) {
            key_list(keys, list, sizeof list);
            if (eq)
                *eq = '\0';
            return perr(ps, "unknown key '%s' (%s takes %s)", shown(t, sh, sizeof sh), cly_layer_type_string(l->type),
                        list);
        }
        if (!takes_value(k) && eq)
            return perr(ps, "%s is a flag and takes no value", k->name);
        if (takes_value(k) && (!eq || !eq[1]))
            return perr(ps, "%s needs a value: %s=...", k->name, k->name);
        if (seen & (1ull << row))
            return perr(ps, "%s is given twice", k->name);
        if (k->kind == CLY_KEY_CHOICE)
            for (int c = 0; keys[c].name; c++)
                if ((seen & (1ull << c)) && keys[c].kind == CLY_KEY_CHOICE && keys[c].offset == k->offset) {
                    choice_list(keys, k, list, sizeof list);
                    return perr(ps, "give one %s kind (%s), not two", cly_layer_type_string(l->type), list);
                }
        seen |= 1ull << row;
        cly_status st = apply(ps, l, k, eq ? eq + 1 : "");
        if (st != CLY_SUCCESS)
            return st;
    }
    for (int r = 0; keys[r].name; r++) {
        const cly_key *k = &keys[r];
        if (k->required && !(seen & (1ull << r)))
            return perr(ps, "missing %s=", k->name);
        int row, have;
        const cly_key *need = k->needs ? key_find(keys, k->needs, strlen(k->needs), &row) : NULL;
        if (need && (seen & (1ull << r))) {
            memcpy(&have, (const char *)l + need->offset, sizeof have);
            if (have != need->value)
                return perr(ps, "%s %s", k->name, k->needs_text);
        }
    }
    return CLY_SUCCESS;
}

/* Split at blanks and tabs, in place. false when there are more than `max`. */
static bool tokenize(char *s, char **tok, size_t max, size_t *count)
{
    size_t n = 0;
    for (;;) {
        while (*s == ' ' || *s == '\t')
            s++;
        if (!*s)
            break;
        if (n == max)
            return false;
        tok[n++] = s;
        while (*s && *s != ' ' && *s != '\t')
            s++;
        if (*s)
            *s++ = '\0';
    }
    *count = n;
    return true;
}

static cly_status parse_line(parser *ps, cly_graph *g, char *text)
{
    char *tok[NET_TOKENS_MAX];
    size_t n;
    char sh[96];
    ps->name = NULL;
    if (!tokenize(text, tok, NET_TOKENS_MAX, &n))
        return perr(ps, "more than %d inputs or tokens on one line", NET_TOKENS_MAX - 3);
    if (n == 0)
        return CLY_SUCCESS;
    int type = -1;
    for (int t = 0; t < CLY_LAYER_TYPE_COUNT; t++)
        if (strcmp(tok[0], cly_layer_type_string((cly_layer_type)t)) == 0)
            type = t;
    if (type < 0) {
        char list[256] = "";
        for (int t = 0; t < CLY_LAYER_TYPE_COUNT; t++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", t ? " " : "",
                     cly_layer_type_string((cly_layer_type)t));
        return perr(ps, "unknown layer type '%s' (types: %s)", shown(tok[0], sh, sizeof sh), list);
    }
    ps->type = (cly_layer_type)type;
    const cly_op *ops = cly_op_of((cly_layer_type)type);
    if (n < 2)
        return perr(ps, "%s: missing the layer name", ops->name);
    if (g->count >= NET_LAYERS_MAX)
        return perr(ps, "more than %d layers", NET_LAYERS_MAX);
    ps->name = shown(tok[1], sh, sizeof sh);
    cly_layer l = {.type = ps->type, .name = tok[1]};
    size_t i = 2;
    if (ops->max_inputs == 0) {
        if (i < n && strcmp(tok[i], "<") == 0)
            return perr(ps, "an %s layer takes no inputs", ops->name);
    } else {
        if (i >= n || strcmp(tok[i], "<") != 0)
            return perr(ps, "expected '<' and the input after the name: %s NAME < INPUT ...", ops->name);
        i++;
        size_t count = ops->max_inputs == 1 ? (i < n ? 1 : 0) : n - i;
        if (count < ops->min_inputs)
            return perr(ps, "needs at least %zu input%s after '<'", ops->min_inputs, ops->min_inputs == 1 ? "" : "s");
        l.inputs = (const char *const *)&tok[i];
        l.input_count = count;
        i += count;
    }
    cly_status st = parse_args(ps, &l, &tok[i], n - i);
    if (st != CLY_SUCCESS)
        return st;
    st = cly_graph_add(g, &l);
    if (st != CLY_SUCCESS) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", cly_last_error(NULL));
        return cly_fail(NULL, st, "%s:%zu: %s", ps->source, ps->line, msg);
    }
    g->nodes[g->count - 1].line = (int)ps->line; /* <= 16 Mi lines */
    return CLY_SUCCESS;
}

/* ---- whole texts */

static cly_status parse_text(const char *text, size_t size, const char *source, cly_graph *g)
{
    parser ps = {.source = source, .line = 0};
    if (size > NET_TEXT_MAX)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: the net text is %zu bytes, more than %zu", source,
                        size, NET_TEXT_MAX);
    static _Thread_local char line[NET_LINE_MAX + 1]; /* 16 KiB: off the stack */
    size_t pos = 0;
    while (pos < size) {
        ps.line++;
        ps.name = NULL;
        const char *start = text + pos;
        const char *nl = memchr(start, '\n', size - pos);
        size_t len = nl ? (size_t)(nl - start) : size - pos;
        pos += len + (nl ? 1 : 0);
        if (len && start[len - 1] == '\r') /* CRLF files */
            len--;
        if (len > NET_LINE_MAX)
            return perr(&ps, "the line is longer than %d bytes", NET_LINE_MAX);
        size_t keep = len;
        for (size_t i = 0; i < len; i++) {
            unsigned char c = (unsigned char)start[i];
            if (c == '#' && keep == len)
                keep = i; /* comment: still scanned for NUL and control bytes */
            else if (c == '\0')
                return perr(&ps, "NUL byte in column %zu", i + 1);
            else if ((c < 0x20 && c != '\t') || c == 0x7f)
                return perr(&ps, "control character 0x%02x in column %zu", c, i + 1);
        }
        memcpy(line, start, keep);
        line[keep] = '\0';
        cly_status st = parse_line(&ps, g, line);
        if (st != CLY_SUCCESS)
            return st;
    }
    if (g->count == 0)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: no layers", source);
    return CLY_SUCCESS;
}

cly_status cly_graph_parse(const char *text, size_t size, const char *source, cly_graph **out)
{
    if (!source)
        source = "<net>";
    if ((!text && size) || !out)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "cly_graph_parse: text and out must not be NULL");
    cly_graph *g;
    cly_status st = cly_graph_create(&g);
    if (st != CLY_SUCCESS)
        return st;
    size_t slen = strlen(source) + 1;
    g->source = malloc(slen);
    if (!g->source) {
        cly_graph_destroy(g);
        return cly_fail(NULL, CLY_ERROR_OUT_OF_HOST_MEMORY, "%s: out of memory", source);
    }
    memcpy(g->source, source, slen);
    st = parse_text(text ? text : "", size, g->source, g);
    if (st != CLY_SUCCESS) {
        cly_graph_destroy(g);
        return st;
    }
    *out = g;
    return CLY_SUCCESS;
}

cly_status cly_graph_load(const char *path, cly_graph **out)
{
    if (!path || !out)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "cly_graph_load: path and out must not be NULL");
    uint8_t *buf = NULL;
    size_t size = 0;
    cly_status st = cly_read_file(path, NET_TEXT_MAX, "a net file", &buf, &size);
    if (st == CLY_SUCCESS)
        st = cly_graph_parse((const char *)buf, size, path, out);
    free(buf);
    return st;
}
