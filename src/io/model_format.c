/* The model-file byte format (docs/model-format.md): parsing untrusted bytes,
 * matching arrays to a graph, and writing. No OpenCL here, so the fuzzer and
 * the tests reach all of it without a device.
 *
 * Parsing trusts nothing: every length and count is compared with a fixed
 * limit and with the bytes actually left before it is used, and nothing is
 * allocated whose size the file chose beyond what those bytes could hold. */
#include "io/file_write.h"
#include "io/model_file.h"
#include "graph/op.h"
#include "runtime/runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const kind_names[CLY_MODEL_KINDS] = {"weights", "bias", "mean", "var"};
static const char *const section_names[] = {"?", "GRAPH", "PARAMS", "OPTIMIZER"};

static uint64_t pad8(uint64_t n)
{
    return (n + 7) & ~(uint64_t)7;
}

static uint64_t get_le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void put_le(unsigned char *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

void cly_model_swap_le(void *data, int64_t count)
{
    const uint32_t one = 1;
    if (*(const unsigned char *)&one == 1)
        return;
    unsigned char *p = data;
    for (int64_t i = 0; i < count; i++, p += 4) {
        unsigned char t = p[0];
        p[0] = p[3];
        p[3] = t;
        t = p[1];
        p[1] = p[2];
        p[2] = t;
    }
}

static void sha(const void *data, size_t size, unsigned char out[32])
{
    cly_sha256 h;
    cly_sha256_init(&h);
    cly_sha256_update(&h, data, size);
    cly_sha256_final(&h, out);
}

/* ---- parsing */

/* Where parsing is: a window [at, end) of the file, for bounds and messages. */
typedef struct cursor {
    const unsigned char *base;
    uint64_t at, end;
    const char *source;
    const char *where; /* "PARAMS array 3", ... */
} cursor;

static cly_status bad(const cursor *c, uint64_t offset, const char *fmt, ...) CLY_FMT(3, 4);
static cly_status bad(const cursor *c, uint64_t offset, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: %s at offset %llu: %s", c->source, c->where,
                    (unsigned long long)offset, msg);
}

/* The next n bytes, or NULL when fewer are left. */
static const unsigned char *take(cursor *c, uint64_t n)
{
    if (c->end - c->at < n)
        return NULL;
    const unsigned char *p = c->base + c->at;
    c->at += n;
    return p;
}

static bool all_zero(const unsigned char *p, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

static cly_status parse_graph(cursor *c, cly_model *m)
{
    const unsigned char *p = take(c, 8);
    if (!p)
        return bad(c, c->at, "the text length runs past the end of the section");
    uint64_t n = get_le(p, 8);
    if (n < 1 || n > CLY_NET_TEXT_MAX)
        return bad(c, c->at - 8, "text length %llu is out of range (1 to %zu)", (unsigned long long)n,
                   CLY_NET_TEXT_MAX);
    if (pad8(n) != c->end - c->at)
        return bad(c, c->at - 8, "text length %llu does not fill the section (%llu bytes follow)",
                   (unsigned long long)n, (unsigned long long)(c->end - c->at));
    p = take(c, pad8(n));
    if (!all_zero(p + n, pad8(n) - n))
        return bad(c, c->at - pad8(n) + n, "padding after the text is not zero");
    m->text = (const char *)p;
    m->text_size = (size_t)n;
    return CLY_SUCCESS;
}

/* One record: u32 kind, u32 name length, u64 count, the name padded to 8,
 * then `moments` blocks of count floats, each padded to 8. */
static cly_status parse_array(cursor *c, uint32_t moments, cly_model_array *a)
{
    uint64_t rec = c->at;
    const unsigned char *p = take(c, 16);
    if (!p)
        return bad(c, rec, "the record header runs past the end of the section");
    uint32_t kind = (uint32_t)get_le(p, 4), name_len = (uint32_t)get_le(p + 4, 4);
    uint64_t count = get_le(p + 8, 8);
    if (kind >= CLY_MODEL_KINDS)
        return bad(c, rec, "kind %u is not weights (0), bias (1), mean (2) or var (3)", kind);
    if (name_len < 1 || name_len > CLY_MODEL_NAME_MAX)
        return bad(c, rec + 4, "name length %u is out of range (1 to %d)", name_len, CLY_MODEL_NAME_MAX);
    if (count < 1 || count > (uint64_t)CLY_MODEL_ARRAY_MAX)
        return bad(c, rec + 8, "count %llu is out of range (1 to %lld)", (unsigned long long)count,
                   (long long)CLY_MODEL_ARRAY_MAX);
    const unsigned char *name = take(c, pad8(name_len));
    if (!name)
        return bad(c, rec + 16, "the name runs past the end of the section");
    memcpy(a->name, name, name_len);
    a->name[name_len] = '\0';
    if (strlen(a->name) != name_len || !cly_name_valid(a->name))
        return bad(c, rec + 16, "the layer name is not [A-Za-z0-9_./-]{1,63}");
    if (!all_zero(name + name_len, pad8(name_len) - name_len))
        return bad(c, rec + 16 + name_len, "padding after the name is not zero");
    a->kind = kind;
    a->count = (int64_t)count;
    a->offset = rec;
    uint64_t bytes = pad8(count * 4); /* count <= 2^32: no overflow */
    for (uint32_t w = 0; w < moments; w++) {
        uint64_t at = c->at;
        if (!(a->data[w] = take(c, bytes)))
            return bad(c, rec + 8, "%s %s: count %llu needs %llu bytes of data, the section has %llu left",
                       a->name, kind_names[kind], (unsigned long long)count, (unsigned long long)bytes,
                       (unsigned long long)(c->end - at));
        if (!all_zero(a->data[w] + count * 4, bytes - count * 4))
            return bad(c, at + count * 4, "%s %s: padding after the data is not zero", a->name, kind_names[kind]);
    }
    return CLY_SUCCESS;
}

/* u32 array count, u32 zero, then the records. */
static cly_status parse_arrays(cursor *c, const char *sect, uint32_t moments, cly_model_array **out, size_t *n)
{
    const unsigned char *p = take(c, 8);
    if (!p)
        return bad(c, c->at, "the array count runs past the end of the section");
    uint64_t count = get_le(p, 4);
    if (get_le(p + 4, 4) != 0)
        return bad(c, c->at - 4, "reserved field is %llu, not 0", (unsigned long long)get_le(p + 4, 4));
    /* The smallest record is 16 + 8 + 8 per moment bytes: a count the
     * section cannot hold is refused before the table is allocated. */
    uint64_t least = 24 + 8 * (uint64_t)moments;
    if (count > CLY_MODEL_ARRAYS_MAX || count > (c->end - c->at) / least)
        return bad(c, c->at - 8, "array count %llu is out of range (at most %d, and %llu for the %llu bytes left)",
                   (unsigned long long)count, CLY_MODEL_ARRAYS_MAX, (unsigned long long)((c->end - c->at) / least),
                   (unsigned long long)(c->end - c->at));
    cly_model_array *a = calloc(count ? (size_t)count : 1, sizeof *a);
    if (!a)
        return cly_fail(NULL, CLY_ERROR_OUT_OF_HOST_MEMORY, "%s: out of memory for %llu arrays", c->source,
                        (unsigned long long)count);
    *out = a;
    *n = (size_t)count;
    char where[64];
    const char *saved = c->where;
    for (uint64_t i = 0; i < count; i++) {
        snprintf(where, sizeof where, "%s array %llu", sect, (unsigned long long)i);
        c->where = where;
        cly_status s = parse_array(c, moments, &a[i]);
        c->where = saved;
        if (s != CLY_SUCCESS)
            return s;
    }
    if (c->at != c->end)
        return bad(c, c->at, "%llu bytes after the last array", (unsigned long long)(c->end - c->at));
    return CLY_SUCCESS;
}

/* u32 optimiser, u32 moments, i64 updates, then the arrays. */
static cly_status parse_optimizer(cursor *c, cly_model *m)
{
    const unsigned char *p = take(c, 16);
    if (!p)
        return bad(c, c->at, "the optimiser header runs past the end of the section");
    m->optimizer = (uint32_t)get_le(p, 4);
    m->moments = (uint32_t)get_le(p + 4, 4);
    uint64_t updates = get_le(p + 8, 8);
    if (m->optimizer > CLY_OPTIMIZER_ADAM)
        return bad(c, c->at - 16, "optimizer %u is not SGD (0) or Adam (1)", m->optimizer);
    if (m->moments < 1 || m->moments > 2)
        return bad(c, c->at - 12, "moment count %u is not 1 or 2", m->moments);
    if (updates > (uint64_t)CLY_MODEL_UPDATES_MAX)
        return bad(c, c->at - 8, "update count %llu is out of range (at most %lld)", (unsigned long long)updates,
                   (long long)CLY_MODEL_UPDATES_MAX);
    m->updates = (int64_t)updates;
    m->has_optimizer = true;
    return parse_arrays(c, "OPTIMIZER", m->moments, &m->opt, &m->opt_count);
}

cly_status cly_model_parse(const unsigned char *data, size_t size, const char *source, unsigned flags,
                           cly_model *out)
{
    if (!source)
        source = "<model>";
    if ((!data && size) || !out)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "cly_model_parse: data and out must not be NULL");
    memset(out, 0, sizeof *out);
    cursor c = {.base = data, .at = 0, .end = size, .source = source, .where = "header"};
    const uint64_t least = CLY_MODEL_HEADER_SIZE + 2 * (CLY_MODEL_SECTION_HEADER + CLY_MODEL_CHECKSUM) +
                           CLY_MODEL_CHECKSUM;
    if (size < 8 || memcmp(data, CLY_MODEL_MAGIC, 8) != 0)
        return bad(&c, 0, "no \"%s\" magic: not a clayer model file", CLY_MODEL_MAGIC);
    if (size < least)
        return bad(&c, 0, "the file is %zu bytes, shorter than the smallest model file (%llu)", size,
                   (unsigned long long)least);
    if ((uint64_t)size > CLY_MODEL_FILE_MAX)
        return bad(&c, 0, "the file is %zu bytes, more than %llu", size, (unsigned long long)CLY_MODEL_FILE_MAX);
    const unsigned char *h = data;
    uint32_t version = (uint32_t)get_le(h + 8, 4);
    if (version != CLY_MODEL_VERSION)
        return cly_fail(NULL, CLY_ERROR_UNSUPPORTED,
                        "%s: header at offset 8: format version %u is not supported (this library reads version %u)",
                        source, version, CLY_MODEL_VERSION);
    if (get_le(h + 12, 4) != CLY_MODEL_HEADER_SIZE)
        return bad(&c, 12, "header size %llu is not %d", (unsigned long long)get_le(h + 12, 4),
                   CLY_MODEL_HEADER_SIZE);
    unsigned char digest[32];
    if (!(flags & CLY_MODEL_NO_CHECKSUMS) && (sha(h, 40, digest), memcmp(digest, h + 40, 8) != 0))
        return bad(&c, 40, "header checksum mismatch (the file is corrupt)");
    uint32_t fflags = (uint32_t)get_le(h + 16, 4), sections = (uint32_t)get_le(h + 20, 4);
    if (fflags & ~CLY_MODEL_FLAG_OPTIMIZER)
        return bad(&c, 16, "unknown flags 0x%x", fflags & ~CLY_MODEL_FLAG_OPTIMIZER);
    bool has_opt = fflags & CLY_MODEL_FLAG_OPTIMIZER;
    if (sections != 2u + has_opt)
        return bad(&c, 20, "section count %u; with flags 0x%x a model file has %u", sections, fflags, 2u + has_opt);
    if (get_le(h + 24, 8) != (uint64_t)size)
        return bad(&c, 24, "the header says %llu bytes, the file has %zu (truncated or extended)",
                   (unsigned long long)get_le(h + 24, 8), size);
    if (get_le(h + 36, 4) != 0) /* 32: the writing library's version, for information only */
        return bad(&c, 36, "reserved field is %llu, not 0", (unsigned long long)get_le(h + 36, 4));
    if (!(flags & CLY_MODEL_NO_CHECKSUMS) &&
        (sha(data, size - CLY_MODEL_CHECKSUM, digest), memcmp(digest, data + size - CLY_MODEL_CHECKSUM, 32) != 0)) {
        c.where = "trailer";
        return bad(&c, size - CLY_MODEL_CHECKSUM, "file checksum mismatch (the file is corrupt)");
    }

    uint64_t pos = CLY_MODEL_HEADER_SIZE, end = size - CLY_MODEL_CHECKSUM;
    cly_status s = CLY_SUCCESS;
    char where[64];
    for (uint32_t i = 0; i < sections && s == CLY_SUCCESS; i++) {
        snprintf(where, sizeof where, "section %u", i);
        c.where = where;
        if (end - pos < CLY_MODEL_SECTION_HEADER + CLY_MODEL_CHECKSUM) {
            s = bad(&c, pos, "the section header runs past the end of the file");
            break;
        }
        const unsigned char *sh = data + pos;
        uint32_t type = (uint32_t)get_le(sh, 4), sflags = (uint32_t)get_le(sh + 4, 4);
        uint64_t len = get_le(sh + 8, 8);
        uint32_t want = i + 1; /* GRAPH, PARAMS, OPTIMIZER, in that order */
        if (type != want) {
            s = type >= CLY_MODEL_GRAPH && type <= CLY_MODEL_OPTIMIZER
                    ? bad(&c, pos, "a %s section where %s belongs", section_names[type], section_names[want])
                    : bad(&c, pos, "unknown section type %u (expected %s)", type, section_names[want]);
            break;
        }
        snprintf(where, sizeof where, "%s section", section_names[type]);
        if (sflags != 0) {
            s = bad(&c, pos + 4, "unknown section flags 0x%x", sflags);
            break;
        }
        uint64_t room = end - pos - CLY_MODEL_SECTION_HEADER - CLY_MODEL_CHECKSUM;
        if (len % 8) {
            s = bad(&c, pos + 8, "length %llu is not a multiple of 8", (unsigned long long)len);
            break;
        }
        if (len > room) {
            s = bad(&c, pos + 8, "length %llu runs past the end of the file (%llu bytes left)",
                    (unsigned long long)len, (unsigned long long)room);
            break;
        }
        uint64_t body = pos + CLY_MODEL_SECTION_HEADER;
        if (!(flags & CLY_MODEL_NO_CHECKSUMS) &&
            (sha(sh, CLY_MODEL_SECTION_HEADER + len, digest), memcmp(digest, data + body + len, 32) != 0)) {
            s = bad(&c, body + len, "checksum mismatch (the file is corrupt)");
            break;
        }
        cursor sc = {.base = data, .at = body, .end = body + len, .source = source, .where = where};
        if (type == CLY_MODEL_GRAPH)
            s = parse_graph(&sc, out);
        else if (type == CLY_MODEL_PARAMS)
            s = parse_arrays(&sc, "PARAMS", 1, &out->params, &out->param_count);
        else
            s = parse_optimizer(&sc, out);
        pos = body + len + CLY_MODEL_CHECKSUM;
    }
    if (s == CLY_SUCCESS && pos != end) {
        c.where = "end of file";
        s = bad(&c, pos, "%llu bytes between the last section and the checksum", (unsigned long long)(end - pos));
    }
    if (s != CLY_SUCCESS)
        cly_model_free(out);
    return s;
}

void cly_model_free(cly_model *m)
{
    if (!m)
        return;
    free(m->params);
    free(m->opt);
    m->params = m->opt = NULL;
    m->param_count = m->opt_count = 0;
}

/* ---- matching arrays to a graph */

void cly_model_expected_counts(const cly_graph *g, int64_t (*expect)[CLY_MODEL_KINDS])
{
    for (size_t i = 0; i < g->count; i++) {
        const cly_node *n = &g->nodes[i];
        for (int k = 0; k < CLY_MODEL_KINDS; k++)
            expect[i][k] = cly_node_param_count(n, (cly_param_kind)k);
    }
}

static cly_status bind_one(const cly_model_array *a, size_t na, const char *sect, const cly_graph *g,
                           const int64_t (*expect)[CLY_MODEL_KINDS], const char *source, const cly_model_array **slots)
{
    for (size_t j = 0; j < na; j++) {
        const cly_model_array *x = &a[j];
        const char *kn = kind_names[x->kind];
        ptrdiff_t id = cly_graph_find(g, x->name);
        if (id < 0)
            return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT,
                            "%s: %s array %zu at offset %llu: the graph has no layer '%s'", source, sect, j,
                            (unsigned long long)x->offset, x->name);
        const cly_model_array **slot = &slots[(size_t)id * CLY_MODEL_KINDS + x->kind];
        if (*slot)
            return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT,
                            "%s: %s array %zu at offset %llu: duplicate %s %s (array %zu has it already)", source,
                            sect, j, (unsigned long long)x->offset, x->name, kn, (size_t)(*slot - a));
        int64_t want = expect[id][x->kind];
        if (want == 0)
            return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT,
                            "%s: %s array %zu at offset %llu: %s (%s) has no %s array", source, sect, j,
                            (unsigned long long)x->offset, x->name,
                            cly_layer_type_string(g->nodes[id].layer.type), kn);
        if (x->count != want)
            return cly_fail(NULL, CLY_ERROR_SHAPE_MISMATCH,
                            "%s: %s array %zu at offset %llu: %s %s has count %lld in the file, the net expects %lld",
                            source, sect, j, (unsigned long long)x->offset, x->name, kn, (long long)x->count,
                            (long long)want);
        *slot = x;
    }
    for (size_t i = 0; i < g->count; i++)
        for (int k = 0; k < CLY_MODEL_KINDS; k++)
            if (expect[i][k] > 0 && !slots[i * CLY_MODEL_KINDS + (size_t)k])
                return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: %s: missing array %s %s (%lld values)",
                                source, sect, g->nodes[i].name, kind_names[k], (long long)expect[i][k]);
    return CLY_SUCCESS;
}

cly_status cly_model_bind(const cly_model *m, const cly_graph *g, const int64_t (*expect)[CLY_MODEL_KINDS],
                          const char *source, const cly_model_array **slots, const cly_model_array **opt_slots)
{
    memset(slots, 0, g->count * CLY_MODEL_KINDS * sizeof *slots);
    cly_status s = bind_one(m->params, m->param_count, "PARAMS", g, expect, source, slots);
    if (s != CLY_SUCCESS || !m->has_optimizer || !opt_slots)
        return s;
    memset(opt_slots, 0, g->count * CLY_MODEL_KINDS * sizeof *opt_slots);
    return bind_one(m->opt, m->opt_count, "OPTIMIZER", g, expect, source, opt_slots);
}

/* ---- writing */

/* Buffered output that hashes as it goes: the file digest over every byte,
 * the section digest over the current section's header and payload. */
typedef struct sink {
    int fd;
    bool ok;
    int err;
    size_t used;
    cly_sha256 file, sect;
    unsigned char buf[1 << 16];
} sink;

static void sink_flush(sink *s)
{
    unsigned char *p = s->buf;
    while (s->ok && s->used > 0) {
        ssize_t n = write(s->fd, p, s->used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            s->ok = false;
            s->err = n < 0 ? errno : EIO;
            break;
        }
        p += n;
        s->used -= (size_t)n;
    }
    s->used = 0;
}

static void emit(sink *s, const void *data, uint64_t size, bool in_section)
{
    const unsigned char *p = data;
    while (s->ok && size > 0) {
        size_t n = sizeof s->buf - s->used;
        if (n > size)
            n = (size_t)size;
        memcpy(s->buf + s->used, p, n);
        cly_sha256_update(&s->file, p, n);
        if (in_section)
            cly_sha256_update(&s->sect, p, n);
        s->used += n;
        p += n;
        size -= n;
        if (s->used == sizeof s->buf)
            sink_flush(s);
    }
}

static void emit_zeros(sink *s, uint64_t n)
{
    static const unsigned char zeros[8];
    emit(s, zeros, n, true);
}

static uint64_t array_bytes(const cly_model_array *a, uint32_t moments)
{
    return 16 + pad8(strlen(a->name)) + moments * pad8((uint64_t)a->count * 4);
}

static void section_begin(sink *s, uint32_t type, uint64_t len)
{
    unsigned char h[CLY_MODEL_SECTION_HEADER];
    put_le(h, type, 4);
    put_le(h + 4, 0, 4);
    put_le(h + 8, len, 8);
    cly_sha256_init(&s->sect);
    emit(s, h, sizeof h, true);
}

static void section_end(sink *s)
{
    unsigned char digest[32];
    cly_sha256_final(&s->sect, digest);
    emit(s, digest, 32, false);
}

static cly_status emit_arrays(sink *s, const cly_model *m, bool opt, unsigned char *scratch)
{
    const cly_model_array *a = opt ? m->opt : m->params;
    size_t n = opt ? m->opt_count : m->param_count;
    uint32_t moments = opt ? m->moments : 1;
    unsigned char h[8];
    put_le(h, n, 4);
    put_le(h + 4, 0, 4);
    emit(s, h, 8, true);
    for (size_t i = 0; i < n && s->ok; i++) {
        unsigned char r[16];
        size_t name_len = strlen(a[i].name);
        put_le(r, a[i].kind, 4);
        put_le(r + 4, name_len, 4);
        put_le(r + 8, (uint64_t)a[i].count, 8);
        emit(s, r, 16, true);
        emit(s, a[i].name, name_len, true);
        emit_zeros(s, pad8(name_len) - name_len);
        uint64_t bytes = (uint64_t)a[i].count * 4;
        for (uint32_t w = 0; w < moments; w++) {
            const unsigned char *d = a[i].data[w];
            if (!d) {
                cly_status st = m->fetch ? m->fetch(m->fetch_user, &a[i], opt, (int)w, scratch)
                                         : cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "model write: %s has no data",
                                                    a[i].name);
                if (st != CLY_SUCCESS)
                    return st;
                d = scratch;
            }
            emit(s, d, bytes, true);
            emit_zeros(s, pad8(bytes) - bytes);
        }
    }
    return CLY_SUCCESS;
}

/* Check what is about to be written with the reader's rules, and add up the
 * payload size. */
static cly_status plan_arrays(const cly_model_array *a, size_t n, uint32_t moments, const char *path,
                              uint64_t *payload, int64_t *largest)
{
    if (n > CLY_MODEL_ARRAYS_MAX)
        return cly_fail(NULL, CLY_ERROR_UNSUPPORTED, "%s: %zu arrays, more than a model file holds (%d)", path, n,
                        CLY_MODEL_ARRAYS_MAX);
    *payload = 8;
    for (size_t i = 0; i < n; i++) {
        if (!cly_name_valid(a[i].name) || a[i].kind >= CLY_MODEL_KINDS || a[i].count < 1 ||
            a[i].count > CLY_MODEL_ARRAY_MAX)
            return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: array %zu (%s, kind %u, count %lld) cannot be saved",
                            path, i, a[i].name, a[i].kind, (long long)a[i].count);
        *payload += array_bytes(&a[i], moments);
        if (a[i].count > *largest)
            *largest = a[i].count;
    }
    return CLY_SUCCESS;
}

cly_status cly_model_write(const cly_model *m, const char *path)
{
    if (!m || !path || !m->text || m->text_size < 1 || m->text_size > CLY_NET_TEXT_MAX ||
        (m->has_optimizer && (m->moments < 1 || m->moments > 2 || m->optimizer > CLY_OPTIMIZER_ADAM ||
                              m->updates < 0 || m->updates > CLY_MODEL_UPDATES_MAX)))
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "model write: %s: bad model description",
                        path ? path : "(null)");
    uint64_t graph_len = 8 + pad8(m->text_size), params_len = 0, opt_len = 0;
    int64_t largest = 0;
    cly_status st = plan_arrays(m->params, m->param_count, 1, path, &params_len, &largest);
    if (st == CLY_SUCCESS && m->has_optimizer && (st = plan_arrays(m->opt, m->opt_count, m->moments, path, &opt_len,
                                                                   &largest)) == CLY_SUCCESS)
        opt_len += 16;
    if (st != CLY_SUCCESS)
        return st;
    const uint64_t framing = CLY_MODEL_SECTION_HEADER + CLY_MODEL_CHECKSUM;
    uint64_t total = CLY_MODEL_HEADER_SIZE + graph_len + framing + params_len + framing +
                     (m->has_optimizer ? opt_len + framing : 0) + CLY_MODEL_CHECKSUM;
    if (total > CLY_MODEL_FILE_MAX)
        return cly_fail(NULL, CLY_ERROR_TOO_LARGE,
                        "%s: the model would be %llu bytes, more than a model file holds (%llu)", path,
                        (unsigned long long)total, (unsigned long long)CLY_MODEL_FILE_MAX);
    unsigned char *scratch = malloc(largest > 0 ? (size_t)largest * 4 : 1);
    sink *s = malloc(sizeof *s);
    if (!scratch || !s) {
        free(scratch);
        free(s);
        return cly_fail(NULL, CLY_ERROR_OUT_OF_HOST_MEMORY, "%s: out of memory", path);
    }

    cly_remove_stale_temps(path); /* what a killed save left */
    char tmp[4200];
    static _Atomic unsigned counter; /* two saves in one process, even on two threads, never share a name */
    int tl = snprintf(tmp, sizeof tmp, "%s.tmp.%ld.%u.%lx", path, (long)getpid(), (unsigned)counter++,
                      (unsigned long)clock());
    int fd = tl > 0 && (size_t)tl < sizeof tmp ? open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666) : -1;
    if (fd < 0) {
        int e = tl > 0 && (size_t)tl < sizeof tmp ? errno : ENAMETOOLONG;
        free(scratch);
        free(s);
        return cly_fail(NULL, CLY_ERROR_IO, "%s: cannot create a temp file next to it: %s", path, strerror(e));
    }
    s->fd = fd;
    s->ok = true;
    s->err = 0;
    s->used = 0;
    cly_sha256_init(&s->file);

    unsigned char h[CLY_MODEL_HEADER_SIZE] = {0}, digest[32];
    memcpy(h, CLY_MODEL_MAGIC, 8);
    put_le(h + 8, CLY_MODEL_VERSION, 4);
    put_le(h + 12, CLY_MODEL_HEADER_SIZE, 4);
    put_le(h + 16, m->has_optimizer ? CLY_MODEL_FLAG_OPTIMIZER : 0, 4);
    put_le(h + 20, m->has_optimizer ? 3 : 2, 4);
    put_le(h + 24, total, 8);
    put_le(h + 32, (uint64_t)CLY_VERSION_MAJOR << 16 | CLY_VERSION_MINOR << 8 | CLY_VERSION_PATCH, 4);
    sha(h, 40, digest);
    memcpy(h + 40, digest, 8);
    emit(s, h, sizeof h, false);

    section_begin(s, CLY_MODEL_GRAPH, graph_len);
    unsigned char n8[8];
    put_le(n8, m->text_size, 8);
    emit(s, n8, 8, true);
    emit(s, m->text, m->text_size, true);
    emit_zeros(s, pad8(m->text_size) - m->text_size);
    section_end(s);

    section_begin(s, CLY_MODEL_PARAMS, params_len);
    st = emit_arrays(s, m, false, scratch);
    section_end(s);
    if (st == CLY_SUCCESS && m->has_optimizer) {
        section_begin(s, CLY_MODEL_OPTIMIZER, opt_len);
        unsigned char oh[16];
        put_le(oh, m->optimizer, 4);
        put_le(oh + 4, m->moments, 4);
        put_le(oh + 8, (uint64_t)m->updates, 8);
        emit(s, oh, 16, true);
        st = emit_arrays(s, m, true, scratch);
        section_end(s);
    }
    cly_sha256_final(&s->file, digest);
    emit(s, digest, 32, false);
    sink_flush(s);
    free(scratch);

    bool ok = s->ok;
    int err = s->err;
    free(s);
    /* fsync before rename: after a crash the name points at the old file or
     * the whole new one, never at a file whose blocks never reached disk. */
    if (ok && fsync(fd) != 0)
        ok = false, err = errno;
    if (close(fd) != 0 && ok)
        ok = false, err = errno;
    if (st == CLY_SUCCESS && ok && rename(tmp, path) != 0)
        ok = false, err = errno;
    if (st != CLY_SUCCESS || !ok) {
        unlink(tmp);
        if (st == CLY_SUCCESS)
            st = cly_fail(NULL, CLY_ERROR_IO, "%s: cannot write: %s", path, strerror(err));
    }
    return st;
}
