/* ONNX import, the protobuf half (docs/onnx.md): reading the file, a
 * bounded pre-scan of the wire format (nesting, message count, unpacked
 * size) before protobuf-c unpacks it, the model checks (opset, one 4-D
 * input, outputs), tensors (types, byte counts against dims, external data
 * inside the model's folder), the value table, the node loop (onnx_ops.c
 * maps each node) and the graph and weights it produces. The file is
 * untrusted: every error names it and nothing leaks on any path. */
#define _XOPEN_SOURCE 700 /* realpath */
#define ONNX_PB_TYPES
#include "onnx.pb-c.h"

#include "base/status.h"
#include "base/options.h"
#include "io/file_read.h"
#include "io/onnx.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- messages */

cly_status ox_fail(ox *st, cly_status s, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (st->node) {
        const char *nm = st->node->name && st->node->name[0] ? st->node->name : NULL;
        return cly_fail(NULL, s, "%s: node %zu%s%.200s%s (%.100s, opset %lld): %s", st->source, st->node_index,
                        nm ? " '" : "", nm ? nm : "", nm ? "'" : "", st->node->op_type ? st->node->op_type : "?",
                        (long long)st->opset, msg);
    }
    return cly_fail(NULL, s, "%s: %s", st->source, msg);
}

/* ---- string map */

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static size_t *map_slot(const ox_map *m, const char *key)
{
    if (!m->cap)
        return NULL;
    for (size_t i = hash_str(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->keys[i] || strcmp(m->keys[i], key) == 0)
            return &m->vals[i];
    }
}

static bool map_get(const ox_map *m, const char *key, size_t *val)
{
    size_t *slot = map_slot(m, key);
    if (!slot || !m->keys[slot - m->vals])
        return false;
    *val = *slot;
    return true;
}

/* Insert or overwrite. */
static bool map_put(ox_map *m, const char *key, size_t val)
{
    if (2 * (m->count + 1) > m->cap) {
        size_t cap = m->cap ? 2 * m->cap : 64;
        ox_map n = {calloc(cap, sizeof *n.keys), calloc(cap, sizeof *n.vals), cap, 0};
        if (!n.keys || !n.vals) {
            free(n.keys);
            free(n.vals);
            return false;
        }
        for (size_t i = 0; i < m->cap; i++)
            if (m->keys[i]) {
                size_t *slot = map_slot(&n, m->keys[i]);
                n.keys[slot - n.vals] = m->keys[i];
                *slot = m->vals[i];
                n.count++;
            }
        free(m->keys);
        free(m->vals);
        *m = n;
    }
    size_t *slot = map_slot(m, key);
    if (!m->keys[slot - m->vals]) {
        m->keys[slot - m->vals] = key;
        m->count++;
    }
    *slot = val;
    return true;
}

static void map_free(ox_map *m)
{
    free(m->keys);
    free(m->vals);
}

/* ---- weights */

cly_status cly_weights_add(cly_weights *w, const char *layer, cly_param_kind kind, double *data, int64_t count)
{
    if (w->count == w->capacity) {
        size_t cap = w->capacity ? 2 * w->capacity : 16;
        cly_weights_array *a = realloc(w->arrays, cap * sizeof *a);
        if (!a) {
            free(data);
            return cly_fail(NULL, CLY_ERROR_OUT_OF_HOST_MEMORY, "out of memory");
        }
        w->arrays = a;
        w->capacity = cap;
    }
    cly_weights_array *a = &w->arrays[w->count++];
    snprintf(a->layer, sizeof a->layer, "%s", layer);
    a->kind = kind;
    a->count = count;
    a->data = data;
    return CLY_SUCCESS;
}

void cly_weights_destroy(cly_weights *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->count; i++)
        free(w->arrays[i].data);
    free(w->arrays);
    free(w->outputs);
    free(w);
}

size_t cly_weights_count(const cly_weights *w)
{
    return w ? w->count : 0;
}

cly_status cly_weights_get(const cly_weights *w, size_t index, const char **layer, cly_param_kind *kind,
                           const double **data, int64_t *count)
{
    if (!w || index >= w->count)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "cly_weights_get: index %zu past the %zu arrays", index,
                        w ? w->count : 0);
    const cly_weights_array *a = &w->arrays[index];
    if (layer)
        *layer = a->layer;
    if (kind)
        *kind = a->kind;
    if (data)
        *data = a->data;
    if (count)
        *count = a->count;
    return CLY_SUCCESS;
}

/* ---- the wire-format pre-scan
 *
 * protobuf-c unpacks recursively and allocates per message and element
 * with no limit of its own. This walk over the wire format, guided by the
 * generated descriptors (it decodes no value), bounds the nesting depth,
 * the number of messages and the memory the unpacked model would take. */

static bool varint(const uint8_t *p, size_t end, size_t *pos, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*pos >= end)
            return false;
        uint8_t b = p[(*pos)++];
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return true;
        }
    }
    return false;
}

static uint64_t unpacked_factor(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_SINT64:
        return 8; /* one byte on the wire, eight unpacked */
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_ENUM:
    case PROTOBUF_C_TYPE_BOOL:
        return 4;
    default:
        return 1;
    }
}

static cly_status prescan(ox *st, const uint8_t *p, size_t size)
{
    struct {
        const ProtobufCMessageDescriptor *d;
        size_t end;
    } stack[CLY_ONNX_DEPTH_MAX];
    int depth = 0;
    stack[0].d = &onnx__model_proto__descriptor;
    stack[0].end = size;
    size_t pos = 0;
    uint64_t messages = 1, bytes = stack[0].d->sizeof_message;
    while (depth >= 0) {
        if (pos == stack[depth].end) {
            depth--;
            continue;
        }
        uint64_t tag, v;
        if (!varint(p, stack[depth].end, &pos, &tag) || (tag >> 3) == 0 || (tag >> 3) > UINT32_MAX)
            goto invalid;
        const ProtobufCFieldDescriptor *fd =
            protobuf_c_message_descriptor_get_field(stack[depth].d, (unsigned)(tag >> 3));
        size_t left = stack[depth].end - pos;
        bool repeated = fd && fd->label == PROTOBUF_C_LABEL_REPEATED;
        switch (tag & 7) {
        case 0:
            if (!varint(p, stack[depth].end, &pos, &v))
                goto invalid;
            bytes += repeated ? 16 : 0;
            break;
        case 1:
            if (left < 8)
                goto invalid;
            pos += 8;
            bytes += repeated ? 16 : 0;
            break;
        case 5:
            if (left < 4)
                goto invalid;
            pos += 4;
            bytes += repeated ? 16 : 0;
            break;
        case 2:
            if (!varint(p, stack[depth].end, &pos, &v) || v > stack[depth].end - pos)
                goto invalid;
            if (fd && fd->type == PROTOBUF_C_TYPE_MESSAGE) {
                if (depth + 1 >= CLY_ONNX_DEPTH_MAX)
                    return ox_fail(st, CLY_ERROR_INVALID_ARGUMENT,
                                   "not a valid ONNX file for clayer: messages nested more than %d deep",
                                   CLY_ONNX_DEPTH_MAX);
                if (++messages > CLY_ONNX_MESSAGES_MAX)
                    return ox_fail(st, CLY_ERROR_INVALID_ARGUMENT, "more than %llu protobuf messages",
                                   (unsigned long long)CLY_ONNX_MESSAGES_MAX);
                depth++;
                stack[depth].d = fd->descriptor;
                stack[depth].end = pos + (size_t)v;
                bytes += ((const ProtobufCMessageDescriptor *)fd->descriptor)->sizeof_message + 16;
                continue;
            }
            bytes += fd ? v * unpacked_factor(fd->type) + 16 : 0;
            pos += (size_t)v;
            break;
        default:
            goto invalid;
        }
        if (bytes > CLY_ONNX_UNPACKED_MAX)
            return ox_fail(st, CLY_ERROR_INVALID_ARGUMENT, "the model would take more than %llu bytes unpacked",
                           (unsigned long long)CLY_ONNX_UNPACKED_MAX);
    }
    return CLY_SUCCESS;
invalid:
    return ox_fail(st, CLY_ERROR_INVALID_ARGUMENT, "not a valid ONNX file (malformed protobuf at byte %zu)", pos);
}

/* ---- tensors */

static const char *dtype_name(int t)
{
    static const char *const names[] = {"UNDEFINED", "FLOAT",  "UINT8",     "INT8",       "UINT16", "INT16",
                                        "INT32",     "INT64",  "STRING",    "BOOL",       "FLOAT16", "DOUBLE",
                                        "UINT32",    "UINT64", "COMPLEX64", "COMPLEX128", "BFLOAT16"};
    return t >= 0 && t < (int)(sizeof names / sizeof *names) ? names[t] : "unknown";
}

void ox_const_free(ox_const *k)
{
    free(k->f);
    free(k->i);
    k->f = NULL;
    k->i = NULL;
}

/* Read `len` bytes of external data for tensor `what` into a new buffer. */
static cly_status read_external(ox *st, const Onnx__TensorProto *t, const char *what, size_t want, uint8_t **out)
{
    const char *location = NULL;
    uint64_t offset = 0, length = 0;
    bool has_length = false;
    for (size_t i = 0; i < t->n_external_data; i++) {
        const Onnx__StringStringEntryProto *e = t->external_data[i];
        const char *k = e->key ? e->key : "", *v = e->value ? e->value : "";
        char *endp;
        if (strcmp(k, "location") == 0)
            location = v;
        else if (strcmp(k, "offset") == 0 || strcmp(k, "length") == 0) {
            errno = 0;
            unsigned long long x = strtoull(v, &endp, 10);
            if (!*v || *endp || errno || v[0] == '-')
                return ox_fail(st, CLY_ERROR_INVALID_ARGUMENT, "tensor '%.200s': external data %s '%.40s' is not a number",
                               what, k, v);
            if (k[0] == 'o')
                offset = x;
            else {
                length = x;
                has_length = true;
            }
        }
    }
    if (!st->dir)
        return ox_fail(st, CLY_ERROR_UNSUPPORTED,
                       "tensor '%.200s': external data needs the model's folder: import from a file", what);
    if (!location || !location[0])
        return ox_fail(st, CLY_ERROR_INVALID_ARGUMENT, "tensor '%.200s': external data without a location", what);
    if (location[0] == '/')
        return ox_fail(st, CLY_ERROR_INVALID_ARGUMENT,
                       "tensor '%.200s': external data location '%.200s' is an absolute path (only files inside the "
                       "model's folder are read)",
                       what, location);
    for (const char *c = location; *c;) {
        const char *e = strchr(c, '/');
        size_t n = e ? (size_t)(e - c) : strlen(c);
        if (n == 2 && c[0] == '.' && c[1] == '.')
            return ox_fail(st, CLY_ERROR_INVALID_ARGUMENT,
                           "tensor '%.200s': external data location '%.200s' leaves the model's folder", what,
                           location);
        c += n + (e != NULL);
    }
    if (has_length && length != want)
        return ox_fail(st, CLY_ERROR_INVALID_ARGUMENT,
                       "tensor '%.200s': external data length %llu, the dims and type need %zu bytes", what,
                       (unsigned long long)length, want);
    char path[PATH_MAX], real[PATH_MAX], realdir[PATH_MAX];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", st->dir, location) >= sizeof path)
        return ox_fail(st, CLY_ERROR_INVALID_ARGUMENT, "tensor '%.200s': external data path too long", what);
    if (!realpath(st->dir, realdir) || !realpath(path, real))
        return ox_fail(st, CLY_ERROR_IO, "tensor '%.200s': external data '%.200s': %s", what, location,
                       strerror(errno));
    size_t dl = strlen(realdir);
    if (strncmp(real, realdir, dl) != 0 || (real[dl] != '/' && dl > 1))
        return ox_fail(st, CLY_ERROR_INVALID_ARGUMENT,
                       "tensor '%.200s': external data location '%.200s' leaves the model's folder", what, location);
    int fd;
    struct stat sb;
    if (cly_open_regular(real, &fd, &sb) != CLY_SUCCESS)
        return ox_fail(st, CLY_ERROR_IO, "tensor '%.200s': external data '%.200s': %s", what, location,
                       cly_last_error(NULL));
    cly_status s = CLY_SUCCESS;
    uint8_t *buf = NULL;
    if (offset > (uint64_t)sb.st_size || want > (uint64_t)sb.st_size - offset)
        s = ox_fail(st, CLY_ERROR_INVALID_ARGUMENT,
                    "tensor '%.200s': external data '%.200s' has %lld bytes, the tensor needs %zu at offset %llu",
                    what, location, (long long)sb.st_size, want, (unsigned long long)offset);
    else if (!(buf = malloc(want ? want : 1)))
        s = ox_fail(st, CLY_ERROR_OUT_OF_HOST_MEMORY, "tensor '%.200s': out of memory", what);
    size_t have = 0;
    while (s == CLY_SUCCESS && have < want) {
        ssize_t n = pread(fd, buf + have, want - have, (off_t)(offset + have));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            s = ox_fail(st, CLY_ERROR_IO, "tensor '%.200s': reading external data '%.200s' failed", what, location);
        else
            have += (size_t)n;
    }
    close(fd);
    if (s != CLY_SUCCESS) {
        free(buf);
        return s;
    }
    *out = buf;
    return CLY_SUCCESS;
}

static uint64_t le_bits(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int b = n - 1; b >= 0; b--)
        v = v << 8 | p[b];
    return v;
}

cly_status ox_const_from(ox *st, const Onnx__TensorProto *t, const char *what, ox_const *out)
{
    memset(out, 0, sizeof *out);
    int dt = t->has_data_type ? t->data_type : 0;
    bool is_bool = dt == ONNX__TENSOR_PROTO__DATA_TYPE__BOOL;
    if (dt != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT && dt != ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE &&
        dt != ONNX__TENSOR_PROTO__DATA_TYPE__INT64 && !is_bool)
        return ox_fail(st, CLY_ERROR_UNSUPPORTED,
                       "tensor '%.200s' has data type %s (%d): clayer reads FLOAT and DOUBLE tensors, and INT64 and "
                       "BOOL for shapes and flags",
                       what, dtype_name(dt), dt);
    if (t->segment)
        return ox_fail(st, CLY_ERROR_UNSUPPORTED, "tensor '%.200s' is segmented", what);
    if (t->n_dims > CLY_ONNX_RANK_MAX)
        return ox_fail(st, CLY_ERROR_INVALID_ARGUMENT, "tensor '%.200s' has %zu dims, more than %d", what, t->n_dims,
                       CLY_ONNX_RANK_MAX);
    int64_t count = 1;
    for (size_t d = 0; d < t->n_dims; d++) {
        if (t->dims[d] < 0 || t->dims[d] > CLY_ONNX_DIM_MAX)
            return ox_fail(st, CLY_ERROR_INVALID_ARGUMENT, "tensor '%.200s': dim %zu is %lld", what, d,
                           (long long)t->dims[d]);
        if (__builtin_mul_overflow(count, t->dims[d], &count) || count > CLY_ONNX_TENSOR_MAX)
            return ox_fail(st, CLY_ERROR_INVALID_ARGUMENT,
                           "tensor '%.200s': its dims claim more than %lld elements", what,
                           (long long)CLY_ONNX_TENSOR_MAX);
        out->dims[d] = t->dims[d];
    }
    if (count > CLY_ONNX_TOTAL_MAX - st->total_elems)
        return ox_fail(st, CLY_ERROR_INVALID_ARGUMENT, "tensor '%.200s': more than %lld elements in all tensors", what,
                       (long long)CLY_ONNX_TOTAL_MAX);
    out->rank = (int)t->n_dims;
    out->count = count;
    out->is_int = dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT64 || is_bool; /* BOOL read as 0/1 */
    int esize = is_bool ? 1 : dt == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT ? 4 : 8;
    size_t want = (size_t)count * (size_t)esize;
    bool external = t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    size_t typed = dt == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT    ? t->n_float_data
                   : dt == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE ? t->n_double_data
                   : is_bool                                     ? t->n_int32_data
                                                                 : t->n_int64_data;
    bool raw = t->has_raw_data && t->raw_data.len > 0;
    if ((raw || external) && typed)
        return ox_fail(st, CLY_ERROR_INVALID_ARGUMENT, "tensor '%.200s' has both raw and typed data", what);
    if (t->has_data_location && t->data_location != ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL &&
        t->data_location != ONNX__TENSOR_PROTO__DATA_LOCATION__DEFAULT)
        return ox_fail(st, CLY_ERROR_INVALID_ARGUMENT, "tensor '%.200s': unknown data_location %d", what,
                       (int)t->data_location);
    if (external && raw)
        return ox_fail(st, CLY_ERROR_INVALID_ARGUMENT, "tensor '%.200s' has both raw and external data", what);
    if (raw && t->raw_data.len != want)
        return ox_fail(st, CLY_ERROR_INVALID_ARGUMENT,
                       "tensor '%.200s': raw data is %zu bytes, its dims and type (%s) need %zu", what,
                       t->raw_data.len, dtype_name(dt), want);
    if (!raw && !external && typed != (size_t)count)
        return ox_fail(st, CLY_ERROR_INVALID_ARGUMENT, "tensor '%.200s' holds %zu values, its dims need %lld", what,
                       typed, (long long)count);
    uint8_t *ext = NULL;
    if (external) {
        cly_status s = read_external(st, t, what, want, &ext);
        if (s != CLY_SUCCESS)
            return s;
    }
    const uint8_t *bytes = ext ? ext : raw ? t->raw_data.data : NULL;
    size_t n = (size_t)(count ? count : 1);
    if (out->is_int)
        out->i = malloc(n * sizeof *out->i);
    else
        out->f = malloc(n * sizeof *out->f);
    if (!out->i && !out->f) {
        free(ext);
        return ox_fail(st, CLY_ERROR_OUT_OF_HOST_MEMORY, "tensor '%.200s': out of memory for %lld values", what,
                       (long long)count);
    }
    for (int64_t e = 0; e < count; e++) {
        if (bytes) {
            uint64_t bits = le_bits(bytes + e * esize, esize);
            if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) {
                uint32_t b32 = (uint32_t)bits;
                float f;
                memcpy(&f, &b32, 4);
                out->f[e] = f;
            } else if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE)
                memcpy(&out->f[e], &bits, 8);
            else if (is_bool)
                out->i[e] = bits != 0;
            else
                memcpy(&out->i[e], &bits, 8);
        } else if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
            out->f[e] = t->float_data[e];
        else if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE)
            out->f[e] = t->double_data[e];
        else if (is_bool)
            out->i[e] = t->int32_data[e] != 0;
        else
            out->i[e] = t->int64_data[e];
    }
    free(ext);
    st->total_elems += count;
    return CLY_SUCCESS;
}

/* ---- values */

static cly_status new_value(ox *st, const char *name, ox_value **out)
{
    if (!name || !name[0])
        return ox_fail(st, CLY_ERROR_INVALID_ARGUMENT, "a value without a name");
    size_t have;
    if (map_get(&st->value_index, name, &have))
        return ox_fail(st, CLY_ERROR_INVALID_ARGUMENT, "value '%.200s' is defined twice", name);
    if (st->nvalues == st->capvalues) {
        size_t cap = st->capvalues ? 2 * st->capvalues : 64;
        ox_value *v = realloc(st->values, cap * sizeof *v);
        if (!v)
            return ox_fail(st, CLY_ERROR_OUT_OF_HOST_MEMORY, "out of memory");
        st->values = v;
        st->capvalues = cap;
    }
    if (!map_put(&st->value_index, name, st->nvalues))
        return ox_fail(st, CLY_ERROR_OUT_OF_HOST_MEMORY, "out of memory");
    ox_value *v = &st->values[st->nvalues++];
    memset(v, 0, sizeof *v);
    v->name = name;
    *out = v;
    return CLY_SUCCESS;
}

cly_status ox_get(ox *st, const char *name, ox_value **out)
{
    size_t i;
    if (!name || !map_get(&st->value_index, name, &i))
        return ox_fail(st, CLY_ERROR_INVALID_ARGUMENT,
                       "input '%.200s' is neither a graph input, an initializer nor the output of an earlier node "
                       "(nodes must be in topological order: a cycle cannot be)",
                       name ? name : "");
    ox_value *v = &st->values[i];
    if (v->kind == OX_LAZY) {
        ox_const k;
        cly_status s = ox_const_from(st, v->tensor, v->name, &k);
        if (s != CLY_SUCCESS)
            return s;
        v->kind = OX_CONST;
        v->k = k;
    }
    *out = v;
    return CLY_SUCCESS;
}

static const char *input_name(const ox *st, size_t input)
{
    return input < st->node->n_input && st->node->input[input] && st->node->input[input][0]
               ? st->node->input[input]
               : NULL;
}

cly_status ox_act_padded(ox *st, size_t input, ox_value **out)
{
    const char *name = input_name(st, input);
    if (!name)
        return ox_fail(st, CLY_ERROR_INVALID_ARGUMENT, "input %zu is missing", input);
    cly_status s = ox_get(st, name, out);
    if (s == CLY_SUCCESS && (*out)->kind != OX_ACT)
        return ox_fail(st, CLY_ERROR_UNSUPPORTED,
                       "input %zu ('%.200s') is a constant, clayer needs an activation (a value computed from the "
                       "graph input) there",
                       input, name);
    return s;
}

bool ox_is_padded(const ox_value *v)
{
    return v->pad[0] || v->pad[1] || v->pad[2] || v->pad[3];
}

cly_status ox_no_pad(ox *st, const ox_value *v)
{
    if (v->kind == OX_ACT && ox_is_padded(v))
        return ox_fail(st, CLY_ERROR_UNSUPPORTED,
                       "'%.200s' comes from a zero Pad: clayer folds a Pad into a following Conv or AveragePool only",
                       v->name);
    return CLY_SUCCESS;
}

cly_status ox_act(ox *st, size_t input, ox_value **out)
{
    cly_status s = ox_act_padded(st, input, out);
    return s == CLY_SUCCESS ? ox_no_pad(st, *out) : s;
}

cly_status ox_const_in(ox *st, size_t input, const ox_const **out)
{
    *out = NULL;
    const char *name = input_name(st, input);
    if (!name)
        return CLY_SUCCESS;
    ox_value *v;
    cly_status s = ox_get(st, name, &v);
    if (s != CLY_SUCCESS)
        return s;
    if (v->kind != OX_CONST)
        return ox_fail(st, CLY_ERROR_UNSUPPORTED,
                       "input %zu ('%.200s') is computed from the graph input; clayer needs a constant (an "
                       "initializer) there",
                       input, name);
    *out = &v->k;
    return CLY_SUCCESS;
}

static cly_status def_output(ox *st, size_t output, ox_value **v)
{
    if (output >= st->node->n_output || !st->node->output[output] || !st->node->output[output][0])
        return ox_fail(st, CLY_ERROR_INVALID_ARGUMENT, "output %zu is missing", output);
    return new_value(st, st->node->output[output], v);
}

cly_status ox_def_act(ox *st, size_t output, size_t layer, int rank)
{
    ox_value *v;
    cly_status s = def_output(st, output, &v);
    if (s != CLY_SUCCESS)
        return s;
    v->kind = OX_ACT;
    v->layer = layer;
    v->rank = rank;
    return CLY_SUCCESS;
}

cly_status ox_def_const(ox *st, size_t output, ox_const *k)
{
    ox_value *v;
    cly_status s = def_output(st, output, &v);
    if (s != CLY_SUCCESS) {
        ox_const_free(k);
        return s;
    }
    v->kind = OX_CONST;
    v->k = *k;
    return CLY_SUCCESS;
}

cly_status ox_alias(ox *st, size_t output, const ox_value *src)
{
    ox_value copy = *src; /* `src` may move when the table grows */
    ox_value *v;
    cly_status s = def_output(st, output, &v);
    if (s != CLY_SUCCESS)
        return s;
    const char *name = v->name;
    *v = copy;
    v->name = name;
    if (copy.kind == OX_CONST) { /* each value owns its arrays */
        size_t n = (size_t)(copy.k.count ? copy.k.count : 1);
        if (copy.k.count > CLY_ONNX_TOTAL_MAX - st->total_elems) {
            v->kind = OX_LAZY;
            v->tensor = NULL;
            return ox_fail(st, CLY_ERROR_INVALID_ARGUMENT, "more than %lld elements in all tensors",
                           (long long)CLY_ONNX_TOTAL_MAX);
        }
        st->total_elems += copy.k.count;
        v->k.f = NULL;
        v->k.i = NULL;
        if (copy.k.is_int && (v->k.i = malloc(n * sizeof *v->k.i)))
            memcpy(v->k.i, copy.k.i, (size_t)copy.k.count * sizeof *v->k.i);
        else if (!copy.k.is_int && (v->k.f = malloc(n * sizeof *v->k.f)))
            memcpy(v->k.f, copy.k.f, (size_t)copy.k.count * sizeof *v->k.f);
        if (!v->k.i && !v->k.f) {
            v->kind = OX_LAZY; /* nothing to free; never read again */
            v->tensor = NULL;
            return ox_fail(st, CLY_ERROR_OUT_OF_HOST_MEMORY, "out of memory");
        }
    }
    return CLY_SUCCESS;
}

size_t ox_uses(const ox *st, const char *name)
{
    size_t n = 0;
    map_get(&st->uses, name, &n);
    return n;
}

/* ---- layers */

/* A layer name from `src` under the naming rule, unique among the layers. */
static void layer_name(ox *st, const char *src, char name[64])
{
    size_t n = 0;
    for (; src[n] && n < 63; n++) {
        unsigned char c = (unsigned char)src[n];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                  c == '.' || c == '/' || c == '-';
        name[n] = ok ? (char)c : '_';
    }
    name[n] = '\0';
    if (n == 0)
        n = (size_t)snprintf(name, 64, "%s", "node");
    size_t dummy;
    for (unsigned k = 2; map_get(&st->layer_names, name, &dummy); k++) {
        char suffix[16];
        int sl = snprintf(suffix, sizeof suffix, "_%u", k);
        size_t keep = n + (size_t)sl > 63 ? 63 - (size_t)sl : n;
        snprintf(name + keep, 64 - keep, "%s", suffix);
    }
}

/* A new pending layer named after `src` (sanitised, made unique). */
static cly_status new_layer(ox *st, cly_layer_type type, const size_t *in, size_t nin, const char *src, size_t *idx)
{
    if (st->nlayers >= CLY_ONNX_NODES_MAX + 1)
        return ox_fail(st, CLY_ERROR_INVALID_ARGUMENT, "more than %d layers", CLY_ONNX_NODES_MAX);
    if (st->nlayers == st->caplayers) {
        size_t cap = st->caplayers ? 2 * st->caplayers : 32;
        ox_layer *l = realloc(st->layers, cap * sizeof *l);
        if (!l)
            return ox_fail(st, CLY_ERROR_OUT_OF_HOST_MEMORY, "out of memory");
        st->layers = l;
        st->caplayers = cap;
        /* The name map points into the layers: rebuild it. */
        map_free(&st->layer_names);
        memset(&st->layer_names, 0, sizeof st->layer_names);
        for (size_t i = 0; i < st->nlayers; i++)
            if (!map_put(&st->layer_names, st->layers[i].name, i))
                return ox_fail(st, CLY_ERROR_OUT_OF_HOST_MEMORY, "out of memory");
    }
    ox_layer *l = &st->layers[st->nlayers];
    memset(l, 0, sizeof *l);
    l->l.type = type;
    l->node = st->node_index;
    layer_name(st, src, l->name);
    st->nlayers++; /* from here state_free owns it */
    if (nin) {
        if (!(l->in = malloc(nin * sizeof *l->in)))
            return ox_fail(st, CLY_ERROR_OUT_OF_HOST_MEMORY, "out of memory");
        memcpy(l->in, in, nin * sizeof *in);
        l->nin = nin;
    }
    if (!map_put(&st->layer_names, l->name, st->nlayers - 1))
        return ox_fail(st, CLY_ERROR_OUT_OF_HOST_MEMORY, "out of memory");
    *idx = st->nlayers - 1;
    return CLY_SUCCESS;
}

cly_status ox_new_layer(ox *st, cly_layer_type type, const size_t *in, size_t nin, size_t *idx)
{
    const Onnx__NodeProto *nd = st->node;
    char fallback[64];
    const char *src = nd->name && nd->name[0]                             ? nd->name
                      : nd->n_output && nd->output[0] && nd->output[0][0] ? nd->output[0]
                                                                          : NULL;
    if (!src) {
        snprintf(fallback, sizeof fallback, "%.40s_%zu", nd->op_type ? nd->op_type : "node", st->node_index);
        src = fallback;
    }
    return new_layer(st, type, in, nin, src, idx);
}

/* ---- the model */

static cly_status check_opset(ox *st, const Onnx__ModelProto *m)
{
    st->opset = -1;
    for (size_t i = 0; i < m->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = m->opset_import[i];
        if ((!o->domain || !o->domain[0] || strcmp(o->domain, "ai.onnx") == 0) && o->has_version)
            st->opset = o->version;
    }
    if (st->opset < 0)
        return ox_fail(st, CLY_ERROR_INVALID_ARGUMENT, "no opset for the default domain (opset_import)");
    if (st->opset < CLY_ONNX_OPSET_MIN || st->opset > CLY_ONNX_OPSET_MAX)
        return ox_fail(st, CLY_ERROR_UNSUPPORTED, "opset %lld: clayer imports opsets %d to %d", (long long)st->opset,
                       CLY_ONNX_OPSET_MIN, CLY_ONNX_OPSET_MAX);
    return CLY_SUCCESS;
}

/* The graph input: N x C x H x W, FLOAT or DOUBLE. */
static cly_status define_input(ox *st, const Onnx__ValueInfoProto *vi)
{
    const char *name = vi->name;
    if (!name || !name[0])
        return ox_fail(st, CLY_ERROR_INVALID_ARGUMENT, "a graph input without a name");
    const Onnx__TypeProto *tp = vi->type;
    if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type)
        return ox_fail(st, CLY_ERROR_UNSUPPORTED, "graph input '%.200s' is not a tensor", name);
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    if (!tt->has_elem_type ||
        (tt->elem_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT && tt->elem_type != ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE))
        return ox_fail(st, CLY_ERROR_UNSUPPORTED, "graph input '%.200s' has element type %s: clayer needs FLOAT or DOUBLE",
                       name, dtype_name(tt->has_elem_type ? tt->elem_type : 0));
    if (!tt->shape || tt->shape->n_dim != 4)
        return ox_fail(st, CLY_ERROR_UNSUPPORTED,
                       "graph input '%.200s' has %s%zu dims: clayer needs N x C x H x W (4-D)", name,
                       tt->shape ? "" : "no shape, ", tt->shape ? tt->shape->n_dim : 0);
    int64_t d[4];
    for (int i = 0; i < 4; i++) {
        const Onnx__TensorShapeProto__Dimension *dim = tt->shape->dim[i];
        bool fixed = dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        if (i == 0) {
            st->batch_fixed = fixed;
            if (fixed && (dim->dim_value < 1 || dim->dim_value > CLY_ONNX_DIM_MAX))
                return ox_fail(st, CLY_ERROR_INVALID_ARGUMENT, "graph input '%.200s': batch %lld", name,
                               (long long)dim->dim_value);
            st->batch = fixed ? dim->dim_value : 0;
            continue;
        }
        if (!fixed || dim->dim_value < 1 || dim->dim_value > CLY_ONNX_DIM_MAX)
            return ox_fail(st, CLY_ERROR_UNSUPPORTED,
                           "graph input '%.200s': dim %d must be a fixed size >= 1 (only the batch may be symbolic)",
                           name, i);
        d[i] = dim->dim_value;
    }
    size_t idx;
    cly_status s = new_layer(st, CLY_LAYER_INPUT, NULL, 0, name, &idx);
    if (s != CLY_SUCCESS)
        return s;
    ox_layer *l = &st->layers[idx];
    l->l.p.input.c = l->c = d[1];
    l->l.p.input.h = l->h = d[2];
    l->l.p.input.w = l->w = d[3];
    ox_value *v;
    if ((s = new_value(st, name, &v)) != CLY_SUCCESS)
        return s;
    v->kind = OX_ACT;
    v->layer = idx;
    v->rank = 4;
    return CLY_SUCCESS;
}

static cly_status walk(ox *st, const Onnx__ModelProto *m)
{
    cly_status s = check_opset(st, m);
    if (s != CLY_SUCCESS)
        return s;
    const Onnx__GraphProto *g = m->graph;
    if (!g)
        return ox_fail(st, CLY_ERROR_INVALID_ARGUMENT, "the model has no graph");
    st->graph = g;
    if (g->n_node > CLY_ONNX_NODES_MAX)
        return ox_fail(st, CLY_ERROR_INVALID_ARGUMENT, "%zu nodes, more than %d", g->n_node, CLY_ONNX_NODES_MAX);
    if (g->n_sparse_initializer)
        return ox_fail(st, CLY_ERROR_UNSUPPORTED, "sparse initializers are not supported");
    /* Uses of every name. */
    for (size_t i = 0; i < g->n_node; i++) {
        const Onnx__NodeProto *nd = g->node[i];
        for (size_t j = 0; j < nd->n_input; j++)
            if (nd->input[j] && nd->input[j][0] && !map_put(&st->uses, nd->input[j], ox_uses(st, nd->input[j]) + 1))
                return ox_fail(st, CLY_ERROR_OUT_OF_HOST_MEMORY, "out of memory");
    }
    for (size_t i = 0; i < g->n_output; i++)
        if (g->output[i]->name && !map_put(&st->uses, g->output[i]->name, ox_uses(st, g->output[i]->name) + 1))
            return ox_fail(st, CLY_ERROR_OUT_OF_HOST_MEMORY, "out of memory");
    /* Initializers (decoded when first used), then the one graph input. */
    for (size_t i = 0; i < g->n_initializer; i++) {
        ox_value *v;
        if ((s = new_value(st, g->initializer[i]->name, &v)) != CLY_SUCCESS)
            return s;
        v->kind = OX_LAZY;
        v->tensor = g->initializer[i];
    }
    const Onnx__ValueInfoProto *input = NULL;
    for (size_t i = 0; i < g->n_input; i++) {
        size_t dummy;
        if (g->input[i]->name && map_get(&st->value_index, g->input[i]->name, &dummy))
            continue; /* an initializer listed as an input (IR < 4) */
        if (input)
            return ox_fail(st, CLY_ERROR_UNSUPPORTED, "graph inputs '%.200s' and '%.200s': clayer takes one input",
                           input->name ? input->name : "", g->input[i]->name ? g->input[i]->name : "");
        input = g->input[i];
    }
    if (!input)
        return ox_fail(st, CLY_ERROR_INVALID_ARGUMENT, "the graph has no input that is not an initializer");
    if ((s = define_input(st, input)) != CLY_SUCCESS)
        return s;
    for (size_t i = 0; i < g->n_node; i++) {
        st->node = g->node[i];
        st->node_index = i;
        if ((s = ox_map_node(st)) != CLY_SUCCESS)
            return s;
    }
    st->node = NULL;
    if (!g->n_output)
        return ox_fail(st, CLY_ERROR_INVALID_ARGUMENT, "the graph has no output");
    return CLY_SUCCESS;
}

/* The pending layers into a graph, inferred at batch 1 and checked against
 * the shapes tracked here; the arrays and the outputs into `w`. */
static cly_status assemble(ox *st, cly_graph **graph, cly_weights *w)
{
    const Onnx__GraphProto *og = st->graph;
    w->outputs = calloc(og->n_output, sizeof *w->outputs);
    if (!w->outputs)
        return ox_fail(st, CLY_ERROR_OUT_OF_HOST_MEMORY, "out of memory");
    for (size_t i = 0; i < og->n_output; i++) {
        ox_value *v;
        cly_status s = ox_get(st, og->output[i]->name, &v);
        if (s != CLY_SUCCESS)
            return ox_fail(st, CLY_ERROR_INVALID_ARGUMENT, "graph output '%.200s' is not computed by any node",
                           og->output[i]->name ? og->output[i]->name : "");
        if (v->kind != OX_ACT || v->layer == 0)
            return ox_fail(st, CLY_ERROR_UNSUPPORTED, "graph output '%.200s' is %s, not a layer's output",
                           v->name, v->kind != OX_ACT ? "a constant" : "the graph input itself");
        if (ox_is_padded(v))
            return ox_fail(st, CLY_ERROR_UNSUPPORTED,
                           "graph output '%.200s' is a Pad's output: clayer folds a Pad into a following Conv or "
                           "AveragePool only",
                           v->name);
        bool dup = false;
        for (size_t j = 0; j < w->output_count; j++)
            dup |= strcmp(w->outputs[j], st->layers[v->layer].name) == 0;
        if (!dup)
            snprintf(w->outputs[w->output_count++], 64, "%s", st->layers[v->layer].name);
    }
    cly_graph *g;
    cly_status s = cly_graph_create(&g);
    if (s != CLY_SUCCESS)
        return s;
    const char *names[CLY_GRAPH_MAX_INPUTS];
    for (size_t i = 0; i < st->nlayers && s == CLY_SUCCESS; i++) {
        ox_layer *l = &st->layers[i];
        for (size_t j = 0; j < l->nin; j++)
            names[j] = st->layers[l->in[j]].name;
        l->l.name = l->name;
        l->l.inputs = names;
        l->l.input_count = l->nin;
        if ((s = cly_graph_add(g, &l->l)) != CLY_SUCCESS) {
            st->node = i ? st->graph->node[l->node] : NULL;
            st->node_index = l->node;
            s = ox_fail(st, s, "%s", cly_last_error(NULL));
        }
    }
    if (s == CLY_SUCCESS && (s = cly_graph_infer(g, 1)) != CLY_SUCCESS)
        s = ox_fail(st, s, "%s", cly_last_error(NULL));
    for (size_t i = 0; i < st->nlayers && s == CLY_SUCCESS; i++) {
        const ox_layer *l = &st->layers[i];
        const cly_node *n = &g->nodes[i];
        if (n->out.c != l->c || n->out.h != l->h || n->out.w != l->w)
            s = ox_fail(st, CLY_ERROR_INVALID_ARGUMENT,
                        "layer %s: clayer infers %lld x %lld x %lld where the import expected %lld x %lld x %lld",
                        l->name, (long long)n->out.c, (long long)n->out.h, (long long)n->out.w, (long long)l->c,
                        (long long)l->h, (long long)l->w);
    }
    for (size_t i = 0; i < st->nlayers && s == CLY_SUCCESS; i++) {
        ox_layer *l = &st->layers[i];
        for (int k = 0; k < 4 && s == CLY_SUCCESS; k++)
            if (l->param[k]) {
                s = cly_weights_add(w, l->name, (cly_param_kind)k, l->param[k], l->pcount[k]);
                l->param[k] = NULL;
                if (s != CLY_SUCCESS)
                    s = ox_fail(st, s, "out of memory");
            }
    }
    if (s != CLY_SUCCESS) {
        cly_graph_destroy(g);
        return s;
    }
    *graph = g;
    return CLY_SUCCESS;
}

static void state_free(ox *st)
{
    for (size_t i = 0; i < st->nvalues; i++)
        if (st->values[i].kind == OX_CONST)
            ox_const_free(&st->values[i].k);
    free(st->values);
    for (size_t i = 0; i < st->nlayers; i++) {
        free(st->layers[i].in);
        for (int k = 0; k < 4; k++)
            free(st->layers[i].param[k]);
    }
    free(st->layers);
    map_free(&st->value_index);
    map_free(&st->uses);
    map_free(&st->layer_names);
}

cly_status cly_onnx_import(const void *data, size_t size, const char *source, const char *dir,
                           const cly_onnx_options *opts, cly_graph **graph, cly_weights **weights)
{
    ox st = {.source = source ? source : "<onnx>", .dir = dir};
    if (opts) {
        cly_status c = CLY_OPTIONS_COPY(NULL, &st.opts, opts, cly_onnx_options, fold_batchnorm, st.source);
        if (c != CLY_SUCCESS)
            return c;
    }
    if (!data && size)
        return ox_fail(&st, CLY_ERROR_INVALID_ARGUMENT, "data is NULL");
    if (size > CLY_ONNX_FILE_MAX)
        return ox_fail(&st, CLY_ERROR_INVALID_ARGUMENT, "%zu bytes, more than an ONNX file may hold here (%llu)",
                       size, (unsigned long long)CLY_ONNX_FILE_MAX);
    cly_status s = prescan(&st, data, size);
    if (s != CLY_SUCCESS)
        return s;
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, size, data);
    if (!m)
        return ox_fail(&st, CLY_ERROR_INVALID_ARGUMENT, "not a valid ONNX file (protobuf-c could not unpack it)");
    cly_weights *w = calloc(1, sizeof *w);
    cly_graph *g = NULL;
    if (!w)
        s = ox_fail(&st, CLY_ERROR_OUT_OF_HOST_MEMORY, "out of memory");
    if (s == CLY_SUCCESS)
        s = walk(&st, m);
    if (s == CLY_SUCCESS)
        s = assemble(&st, &g, w);
    state_free(&st);
    onnx__model_proto__free_unpacked(m, NULL);
    if (s != CLY_SUCCESS) {
        cly_weights_destroy(w);
        return s;
    }
    *graph = g;
    *weights = w;
    return CLY_SUCCESS;
}

/* ---- public entry points */

cly_status cly_graph_import_onnx(const char *path, cly_graph **graph, cly_weights **weights)
{
    return cly_graph_import_onnx_opts(path, NULL, graph, weights);
}

cly_status cly_graph_import_onnx_opts(const char *path, const cly_onnx_options *opts, cly_graph **graph,
                                      cly_weights **weights)
{
    if (!path || !graph || !weights)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT,
                        "cly_graph_import_onnx: path, graph and weights must not be NULL");
    uint8_t *data = NULL;
    size_t size = 0;
    cly_status s = cly_read_file(path, CLY_ONNX_FILE_MAX, "an ONNX file", &data, &size);
    if (s != CLY_SUCCESS)
        return s;
    size_t pl = strlen(path);
    char *dir = malloc(pl + 2);
    if (!dir) {
        free(data);
        return cly_fail(NULL, CLY_ERROR_OUT_OF_HOST_MEMORY, "%s: out of memory", path);
    }
    memcpy(dir, path, pl + 1);
    char *slash = strrchr(dir, '/');
    if (!slash)
        strcpy(dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    s = cly_onnx_import(data, size, path, dir, opts, graph, weights);
    free(dir);
    free(data);
    return s;
}

cly_status cly_graph_import_onnx_buffer(const void *data, size_t size, const char *source, cly_graph **graph,
                                        cly_weights **weights)
{
    if (!graph || !weights)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT,
                        "cly_graph_import_onnx_buffer: graph and weights must not be NULL");
    return cly_onnx_import(data, size, source, NULL, NULL, graph, weights);
}
