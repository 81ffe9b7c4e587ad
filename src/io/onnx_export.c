/* ONNX export (cly_net_export_onnx, docs/onnx.md): a net's graph and its
 * parameters, read back from the device, as an opset-13 ONNX model, packed
 * with the protobuf-c code generated from onnx.proto. Each layer becomes
 * the operators that compute exactly what it computes; a layer ONNX cannot
 * express (locally connected, a ceil-rounded convolution, an even LRN
 * window, ...) is CLY_ERROR_UNSUPPORTED naming it and saying why. Every
 * protobuf object comes from one allocation list, freed in one place. */
#include "base/shape.h"
#include "io/file_write.h"
#include "io/onnx.h"
#include "net/net.h"
#include "runtime/runtime.h"

#include "onnx.pb-c.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OPSET 13
#define IR_VERSION 7 /* the IR version that introduced opset 13 */

typedef struct exporter {
    const cly_net *net;
    const cly_graph *g;
    void **blocks; /* every allocation, freed by ex_free */
    size_t nblocks, cap_blocks;
    Onnx__NodeProto **nodes;
    size_t nnodes, cap_nodes;
    Onnx__TensorProto **inits;
    size_t ninits, cap_inits;
    bool *flat; /* per graph node: its ONNX value is 2-D (N x C), after a Gemm */
    cly_status status;
} exporter;

static cly_status ex_fail(exporter *ex, cly_status s, const char *fmt, ...) CLY_FMT(3, 4);
static cly_status ex_fail(exporter *ex, cly_status s, const char *fmt, ...)
{
    if (ex->status == CLY_SUCCESS) {
        va_list ap;
        va_start(ap, fmt);
        ex->status = cly_fail_va(ex->net->ctx, s, "", fmt, ap);
        va_end(ap);
    }
    return ex->status;
}

/* A layer ONNX cannot express: "cly_net_export_onnx: NAME (TYPE): WHY". */
#define REFUSE(n, ...) refuse(ex, n, __VA_ARGS__)
static cly_status refuse(exporter *ex, const cly_node *n, const char *fmt, ...) CLY_FMT(3, 4);
static cly_status refuse(exporter *ex, const cly_node *n, const char *fmt, ...)
{
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return ex_fail(ex, CLY_ERROR_UNSUPPORTED, "cly_net_export_onnx: %s (%s): %s", n->name,
                   cly_layer_type_string(n->layer.type), why);
}

static bool grow(exporter *ex, void *arr, size_t n, size_t *cap, size_t elem)
{
    if (n < *cap)
        return true;
    size_t c = *cap ? 2 * *cap : 64;
    void *a = realloc(*(void **)arr, c * elem);
    if (!a) {
        ex_fail(ex, CLY_ERROR_OUT_OF_HOST_MEMORY, "cly_net_export_onnx: out of memory");
        return false;
    }
    *(void **)arr = a;
    *cap = c;
    return true;
}

/* Zeroed memory owned by the exporter; NULL once anything has failed. */
static void *ex_alloc(exporter *ex, size_t size)
{
    if (ex->status != CLY_SUCCESS || !grow(ex, &ex->blocks, ex->nblocks, &ex->cap_blocks, sizeof *ex->blocks))
        return NULL;
    void *p = calloc(1, size ? size : 1);
    if (!p) {
        ex_fail(ex, CLY_ERROR_OUT_OF_HOST_MEMORY, "cly_net_export_onnx: out of memory for %zu bytes", size);
        return NULL;
    }
    ex->blocks[ex->nblocks++] = p;
    return p;
}

/* "LAYER" + suffix: the values and initializers one layer adds. */
static char *ex_name(exporter *ex, const char *layer, const char *suffix)
{
    char *p = ex_alloc(ex, strlen(layer) + strlen(suffix) + 1);
    if (p) {
        strcpy(p, layer);
        strcat(p, suffix);
    }
    return p;
}

/* The ONNX value of node `id`'s output: the layer's name. */
static const char *value_of(const exporter *ex, size_t id)
{
    return ex->g->nodes[id].name;
}

/* A node `op` named `name` from `nin` inputs to the value `out`. NULL (the
 * status set) once anything has failed, so calls can be chained. */
static Onnx__NodeProto *add_node(exporter *ex, const char *op, const char *name, const char *const *in, size_t nin,
                                 const char *out)
{
    for (size_t i = 0; i < nin; i++)
        if (!in[i])
            return NULL; /* an earlier step failed */
    Onnx__NodeProto *n = ex_alloc(ex, sizeof *n);
    char **ins = ex_alloc(ex, nin * sizeof *ins), **outs = ex_alloc(ex, sizeof *outs);
    char *node_name = name ? ex_name(ex, name, "") : NULL, *op_name = ex_name(ex, op, "");
    if (!n || !ins || !outs || !node_name || !op_name || !out ||
        !grow(ex, &ex->nodes, ex->nnodes, &ex->cap_nodes, sizeof *ex->nodes))
        return NULL;
    onnx__node_proto__init(n);
    for (size_t i = 0; i < nin; i++)
        if (!(ins[i] = ex_name(ex, in[i], "")))
            return NULL;
    if (!(outs[0] = ex_name(ex, out, "")))
        return NULL;
    n->n_input = nin;
    n->input = ins;
    n->n_output = 1;
    n->output = outs;
    n->name = node_name;
    n->op_type = op_name;
    ex->nodes[ex->nnodes++] = n;
    return n;
}

static Onnx__AttributeProto *add_attr(exporter *ex, Onnx__NodeProto *n, const char *name,
                                      Onnx__AttributeProto__AttributeType type)
{
    if (!n)
        return NULL;
    Onnx__AttributeProto *a = ex_alloc(ex, sizeof *a);
    Onnx__AttributeProto **list = ex_alloc(ex, (n->n_attribute + 1) * sizeof *list);
    char *copy = ex_name(ex, name, "");
    if (!a || !list || !copy)
        return NULL;
    onnx__attribute_proto__init(a);
    a->name = copy;
    a->has_type = true;
    a->type = type;
    if (n->n_attribute)
        memcpy(list, n->attribute, n->n_attribute * sizeof *list);
    list[n->n_attribute++] = a;
    n->attribute = list;
    return a;
}

static void attr_int(exporter *ex, Onnx__NodeProto *n, const char *name, int64_t v)
{
    Onnx__AttributeProto *a = add_attr(ex, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    if (a) {
        a->has_i = true;
        a->i = v;
    }
}

static void attr_float(exporter *ex, Onnx__NodeProto *n, const char *name, float v)
{
    Onnx__AttributeProto *a = add_attr(ex, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    if (a) {
        a->has_f = true;
        a->f = v;
    }
}

static void attr_ints(exporter *ex, Onnx__NodeProto *n, const char *name, const int64_t *v, size_t count)
{
    Onnx__AttributeProto *a = add_attr(ex, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    int64_t *copy = ex_alloc(ex, count * sizeof *copy);
    if (a && copy) {
        memcpy(copy, v, count * sizeof *copy);
        a->n_ints = count;
        a->ints = copy;
    }
}

/* An initializer of `count` elements of `esize` bytes (FLOAT or INT64) as
 * raw data, which ONNX stores little-endian whatever the host. */
static const char *add_init(exporter *ex, const char *name, const int64_t *dims, size_t rank, const void *data,
                            size_t count, int32_t type)
{
    size_t esize = type == ONNX__TENSOR_PROTO__DATA_TYPE__INT64 ? 8 : 4;
    Onnx__TensorProto *t = ex_alloc(ex, sizeof *t);
    int64_t *d = ex_alloc(ex, rank * sizeof *d);
    uint8_t *raw = ex_alloc(ex, count * esize);
    if (!name || !t || !d || !raw || !grow(ex, &ex->inits, ex->ninits, &ex->cap_inits, sizeof *ex->inits))
        return NULL;
    onnx__tensor_proto__init(t);
    if (rank)
        memcpy(d, dims, rank * sizeof *d);
    t->n_dims = rank;
    t->dims = d;
    t->has_data_type = true;
    t->data_type = type;
    t->name = (char *)name;
    const uint16_t probe = 1;
    bool little = *(const uint8_t *)&probe == 1;
    for (size_t i = 0; i < count * esize; i += esize)
        for (size_t b = 0; b < esize; b++)
            raw[i + b] = ((const uint8_t *)data)[i + (little ? b : esize - 1 - b)];
    t->has_raw_data = true;
    t->raw_data.len = count * esize;
    t->raw_data.data = raw;
    ex->inits[ex->ninits++] = t;
    return name;
}

/* A layer's parameter array, read back from the device as float32, as a
 * FLOAT initializer LAYER + suffix of the given dims. */
static const char *param_init(exporter *ex, const cly_node *n, cly_param_kind kind, const char *suffix,
                              const int64_t *dims, size_t rank)
{
    int64_t count = cly_node_param_count(n, kind), expect = 1;
    for (size_t i = 0; i < rank; i++)
        expect *= dims[i];
    if (ex->status != CLY_SUCCESS)
        return NULL;
    if (count != expect) { /* a broken invariant between this file and the net's layouts */
        ex_fail(ex, CLY_ERROR_INVALID_ARGUMENT, "cly_net_export_onnx: %s: %lld parameters of kind %d, %lld expected",
                n->name, (long long)count, (int)kind, (long long)expect);
        return NULL;
    }
    float *host = ex_alloc(ex, (size_t)count * sizeof *host);
    if (!host)
        return NULL;
    cly_status s = cly_net_get_param(ex->net, n->name, kind, host, count);
    if (s != CLY_SUCCESS) {
        ex->status = s; /* its message names the layer */
        return NULL;
    }
    return add_init(ex, ex_name(ex, n->name, suffix), dims, rank, host, (size_t)count,
                    ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT);
}

static const char *scalar_init(exporter *ex, const char *layer, const char *suffix, float v)
{
    return add_init(ex, ex_name(ex, layer, suffix), NULL, 0, &v, 1, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT);
}

/* Input k of node n as a 4-D ONNX value: a 2-D one (after a Gemm) is
 * reshaped to N x C x 1 x 1 first. */
static const char *input4(exporter *ex, const cly_node *n, size_t k)
{
    size_t src = n->input_ids[k];
    if (!ex->flat[src])
        return value_of(ex, src);
    static const int64_t shape[] = {0, -1, 1, 1}, dims[] = {4}; /* 0: keep N */
    char suffix[48];
    snprintf(suffix, sizeof suffix, "/in%zu_4d", k);
    const char *out = ex_name(ex, n->name, suffix);
    snprintf(suffix, sizeof suffix, "/in%zu_shape", k);
    const char *in[] = {value_of(ex, src),
                        add_init(ex, ex_name(ex, n->name, suffix), dims, 1, shape, 4,
                                 ONNX__TENSOR_PROTO__DATA_TYPE__INT64)};
    return add_node(ex, "Reshape", out, in, 2, out) ? out : NULL;
}

/* Input k of node n as it is (2-D or 4-D). */
static const char *input_as_is(const exporter *ex, const cly_node *n, size_t k)
{
    return value_of(ex, n->input_ids[k]);
}

/* How ONNX must round one axis of a window for clayer's result: either
 * (exact), floor, or ceil, or not at all (its message in why). */
typedef enum { AXIS_EITHER, AXIS_FLOOR, AXIS_CEIL } axis_round;

static axis_round axis_rounding(int64_t in, int64_t size, int64_t stride, int64_t lo, int64_t hi, int64_t dilation,
                                cly_rounding mode)
{
    cly_window w = {.in = in, .size = size, .stride = stride, .pad_lo = lo, .pad_hi = hi, .dilation = dilation};
    cly_window_result r;
    char msg[256];
    if (mode == CLY_ROUND_EXACT || !cly_window_solve(w, mode, "W", 0, &r, msg, sizeof msg) || !r.rounded)
        return AXIS_EITHER;
    /* CEIL's dropped window leaves floor's count: ONNX's floor computes it. */
    return mode == CLY_ROUND_FLOOR || r.dropped ? AXIS_FLOOR : AXIS_CEIL;
}

/* The rounding a conv or pool needs from ONNX: false when its two axes
 * need different ones (ceil_mode covers both). */
static bool window_rounding(const cly_node *in, cly_hw size, cly_hw stride, cly_pad pad,
                            cly_hw dilation, cly_rounding mode, bool *ceil)
{
    axis_round h = axis_rounding(in->out.h, size.h, stride.h, pad.top, pad.bottom, dilation.h, mode);
    axis_round w = axis_rounding(in->out.w, size.w, stride.w, pad.left, pad.right, dilation.w, mode);
    *ceil = h == AXIS_CEIL || w == AXIS_CEIL;
    return !(*ceil && (h == AXIS_FLOOR || w == AXIS_FLOOR));
}

/* The window attributes of Conv and the pools. */
static void window_attrs(exporter *ex, Onnx__NodeProto *node, cly_hw size, cly_hw stride, cly_pad pad)
{
    const int64_t k[] = {size.h, size.w}, s[] = {stride.h, stride.w};
    const int64_t p[] = {pad.top, pad.left, pad.bottom, pad.right}; /* ONNX: begins, then ends */
    attr_ints(ex, node, "kernel_shape", k, 2);
    attr_ints(ex, node, "strides", s, 2);
    attr_ints(ex, node, "pads", p, 4);
}

/* Conv and Gemm with a fused ReLU: the operator writes LAYER/pre_relu, a
 * Relu node named after the layer writes its value. */
static const char *pre_relu(exporter *ex, const cly_node *n, bool relu)
{
    return relu ? ex_name(ex, n->name, "/pre_relu") : n->name;
}

static void post_relu(exporter *ex, const cly_node *n, bool relu, const char *from)
{
    if (relu)
        add_node(ex, "Relu", n->name, &from, 1, n->name);
}

static cly_status export_conv(exporter *ex, const cly_node *n)
{
    const cly_conv_params *p = &n->layer.p.conv;
    const cly_node *in = &ex->g->nodes[n->input_ids[0]];
    bool ceil;
    if (!window_rounding(in, p->size, p->stride, p->pad, p->dilation, p->rounding, &ceil) || ceil)
        return REFUSE(n, "its output (%lld x %lld from %lld x %lld) is rounded up (round=ceil); ONNX's Conv rounds "
                         "down only",
                      (long long)n->out.h, (long long)n->out.w, (long long)in->out.h, (long long)in->out.w);
    const int64_t wd[] = {p->filters, in->out.c / p->groups, p->size.h, p->size.w}, bd[] = {p->filters};
    const char *ins[3] = {input4(ex, n, 0), param_init(ex, n, CLY_PARAM_WEIGHTS, ".weight", wd, 4)};
    if (!p->no_bias)
        ins[2] = param_init(ex, n, CLY_PARAM_BIAS, ".bias", bd, 1);
    const char *out = pre_relu(ex, n, p->relu);
    Onnx__NodeProto *node = add_node(ex, "Conv", p->relu ? out : n->name, ins, p->no_bias ? 2 : 3, out);
    window_attrs(ex, node, p->size, p->stride, p->pad);
    const int64_t d[] = {p->dilation.h, p->dilation.w};
    attr_ints(ex, node, "dilations", d, 2);
    attr_int(ex, node, "group", p->groups);
    post_relu(ex, n, p->relu, out);
    return ex->status;
}

static cly_status export_relu(exporter *ex, const cly_node *n)
{
    const cly_relu_params *p = &n->layer.p.relu;
    const char *x = input_as_is(ex, n, 0);
    if (p->max > 0 && p->slope > 0)
        return REFUSE(n, "a relu both bounded (max %g) and leaky (slope %g): ONNX's Clip and LeakyRelu do one each",
                      p->max, p->slope);
    if (p->max > 0) {
        const char *ins[] = {x, scalar_init(ex, n->name, ".min", 0.0f), scalar_init(ex, n->name, ".max", (float)p->max)};
        add_node(ex, "Clip", n->name, ins, 3, n->name);
    } else if (p->slope > 0) {
        attr_float(ex, add_node(ex, "LeakyRelu", n->name, &x, 1, n->name), "alpha", (float)p->slope);
    } else {
        add_node(ex, "Relu", n->name, &x, 1, n->name);
    }
    return ex->status;
}

static cly_status export_pool(exporter *ex, const cly_node *n)
{
    const cly_pool_params *p = &n->layer.p.pool;
    const cly_node *in = &ex->g->nodes[n->input_ids[0]];
    bool ceil;
    if (!window_rounding(in, p->size, p->stride, p->pad, (cly_hw){1, 1}, p->rounding, &ceil))
        return REFUSE(n, "round=ceil gives %lld x %lld from %lld x %lld, rounding one axis up and keeping the "
                         "other's floor (a last window dropped): ONNX's ceil_mode rounds both alike",
                      (long long)n->out.h, (long long)n->out.w, (long long)in->out.h, (long long)in->out.w);
    if (p->kind == CLY_POOL_L2 && ceil)
        return REFUSE(n, "L2 pooling rounded up (round=ceil): opset 13's LpPool has no ceil_mode");
    const char *x = input4(ex, n, 0);
    const char *op = p->kind == CLY_POOL_MAX ? "MaxPool" : p->kind == CLY_POOL_AVG ? "AveragePool" : "LpPool";
    Onnx__NodeProto *node = add_node(ex, op, n->name, &x, 1, n->name);
    window_attrs(ex, node, p->size, p->stride, p->pad);
    if (p->kind == CLY_POOL_L2)
        attr_int(ex, node, "p", 2);
    else if (ceil)
        attr_int(ex, node, "ceil_mode", 1);
    if (p->kind == CLY_POOL_AVG)
        attr_int(ex, node, "count_include_pad", p->avg_exclude_pad ? 0 : 1);
    return ex->status;
}

/* The float alpha for ONNX's LRN (which divides by size) nearest the
 * exact one among those whose re-import gives the kernel the same float
 * alpha/size, so that an imported net computes the same bits. */
static float lrn_alpha(const cly_lrn_params *p)
{
    double a = p->alpha_mode == CLY_LRN_ALPHA_RAW ? p->alpha : p->alpha / (double)p->size;
    float want = (float)a, f = (float)(a * (double)p->size), up = f, down = f;
    for (int i = 0; i < 16; i++) {
        if ((float)((double)up / (double)p->size) == want)
            return up;
        if ((float)((double)down / (double)p->size) == want)
            return down;
        up = nextafterf(up, INFINITY);
        down = nextafterf(down, -INFINITY);
    }
    return f;
}

static cly_status export_lrn(exporter *ex, const cly_node *n)
{
    const cly_lrn_params *p = &n->layer.p.lrn;
    /* ONNX's window reaches one channel further up than down for an even size, clayer's further down. */
    if (p->size % 2 == 0)
        return REFUSE(n, "an LRN window of even size %lld: ONNX's reaches one channel further up, clayer's further "
                         "down",
                      (long long)p->size);
    const char *x = input4(ex, n, 0);
    Onnx__NodeProto *node = add_node(ex, "LRN", n->name, &x, 1, n->name);
    attr_int(ex, node, "size", p->size);
    attr_float(ex, node, "alpha", lrn_alpha(p));
    attr_float(ex, node, "beta", (float)p->beta);
    attr_float(ex, node, "bias", (float)p->k);
    return ex->status;
}

static cly_status export_batchnorm(exporter *ex, const cly_node *n)
{
    const int64_t d[] = {n->out.c};
    const char *ins[] = {input_as_is(ex, n, 0), param_init(ex, n, CLY_PARAM_WEIGHTS, ".weight", d, 1),
                         param_init(ex, n, CLY_PARAM_BIAS, ".bias", d, 1),
                         param_init(ex, n, CLY_PARAM_MEAN, ".running_mean", d, 1),
                         param_init(ex, n, CLY_PARAM_VAR, ".running_var", d, 1)};
    Onnx__NodeProto *node = add_node(ex, "BatchNormalization", n->name, ins, 5, n->name);
    attr_float(ex, node, "epsilon", (float)n->layer.p.batchnorm.epsilon);
    /* ONNX's momentum weighs the old running value, clayer's the new one. */
    attr_float(ex, node, "momentum", (float)(1.0 - n->layer.p.batchnorm.momentum));
    return ex->status;
}

static cly_status export_fc(exporter *ex, const cly_node *n, size_t id)
{
    const cly_fc_params *p = &n->layer.p.fc;
    const cly_node *in = &ex->g->nodes[n->input_ids[0]];
    const char *x = input_as_is(ex, n, 0);
    if (!ex->flat[n->input_ids[0]]) { /* C x H x W in C, H, W order: clayer's FC input order */
        const char *flat = ex_name(ex, n->name, "/flatten");
        attr_int(ex, add_node(ex, "Flatten", flat, &x, 1, flat), "axis", 1);
        x = flat;
    }
    const int64_t wd[] = {p->outputs, in->out.c * in->out.h * in->out.w}, bd[] = {p->outputs};
    const char *ins[3] = {x, param_init(ex, n, CLY_PARAM_WEIGHTS, ".weight", wd, 2)};
    if (!p->no_bias)
        ins[2] = param_init(ex, n, CLY_PARAM_BIAS, ".bias", bd, 1);
    const char *out = pre_relu(ex, n, p->relu);
    attr_int(ex, add_node(ex, "Gemm", p->relu ? out : n->name, ins, p->no_bias ? 2 : 3, out), "transB", 1);
    post_relu(ex, n, p->relu, out);
    ex->flat[id] = true;
    return ex->status;
}

/* ADD as a chain of two-input Adds, ((a + b) + c) + ..., the order in which
 * clayer sums; CONCAT along channels. Mixed ranks meet in 4-D. */
static cly_status export_join(exporter *ex, const cly_node *n, size_t id)
{
    size_t count = n->layer.input_count;
    bool flat = true;
    for (size_t k = 0; k < count; k++)
        flat &= ex->flat[n->input_ids[k]];
    const char **ins = ex_alloc(ex, count * sizeof *ins);
    for (size_t k = 0; ins && k < count; k++)
        ins[k] = flat ? input_as_is(ex, n, k) : input4(ex, n, k);
    ex->flat[id] = flat;
    if (!ins)
        return ex->status;
    if (n->layer.type == CLY_LAYER_CONCAT) {
        attr_int(ex, add_node(ex, "Concat", n->name, ins, count, n->name), "axis", 1);
        return ex->status;
    }
    const char *sum = ins[0];
    for (size_t k = 1; k < count; k++) {
        char suffix[48];
        snprintf(suffix, sizeof suffix, "/sum%zu", k);
        const char *out = k + 1 == count ? n->name : ex_name(ex, n->name, suffix);
        const char *pair[] = {sum, ins[k]};
        if (!add_node(ex, "Add", out, pair, 2, out))
            return ex->status;
        sum = out;
    }
    return ex->status;
}

static cly_status export_adaptive(exporter *ex, const cly_node *n)
{
    const cly_node *in = &ex->g->nodes[n->input_ids[0]];
    cly_hw o = n->layer.p.adaptive.output;
    if (in->out.h % o.h || in->out.w % o.w)
        return REFUSE(n, "adaptive average pooling of %lld x %lld to %lld x %lld has bins of different sizes: ONNX "
                         "pools with one window size",
                      (long long)in->out.h, (long long)in->out.w, (long long)o.h, (long long)o.w);
    const char *x = input4(ex, n, 0);
    cly_hw bin = {in->out.h / o.h, in->out.w / o.w};
    window_attrs(ex, add_node(ex, "AveragePool", n->name, &x, 1, n->name), bin, bin, CLY_PAD(0));
    return ex->status;
}

static cly_status export_node(exporter *ex, size_t id)
{
    const cly_node *n = &ex->g->nodes[id];
    const char *x;
    switch (n->layer.type) {
    case CLY_LAYER_INPUT:
        return CLY_SUCCESS;
    case CLY_LAYER_CONV:
        return export_conv(ex, n);
    case CLY_LAYER_LOCAL:
        return REFUSE(n, "a locally connected layer (weights per output position): ONNX has no such operator");
    case CLY_LAYER_RELU:
        ex->flat[id] = ex->flat[n->input_ids[0]];
        return export_relu(ex, n);
    case CLY_LAYER_POOL:
        return export_pool(ex, n);
    case CLY_LAYER_LRN:
        return export_lrn(ex, n);
    case CLY_LAYER_BATCHNORM:
        ex->flat[id] = ex->flat[n->input_ids[0]];
        return export_batchnorm(ex, n);
    case CLY_LAYER_FC:
        return export_fc(ex, n, id);
    case CLY_LAYER_SOFTMAX: /* axis 1 alone from opset 13: over channels, per sample and position */
        ex->flat[id] = ex->flat[n->input_ids[0]];
        x = input_as_is(ex, n, 0);
        attr_int(ex, add_node(ex, "Softmax", n->name, &x, 1, n->name), "axis", 1);
        return ex->status;
    case CLY_LAYER_DROPOUT: { /* the identity at inference; the ratio kept for training elsewhere */
        ex->flat[id] = ex->flat[n->input_ids[0]];
        const char *ins[] = {input_as_is(ex, n, 0), scalar_init(ex, n->name, ".ratio", (float)n->layer.p.dropout)};
        add_node(ex, "Dropout", n->name, ins, 2, n->name);
        return ex->status;
    }
    case CLY_LAYER_ADD:
    case CLY_LAYER_CONCAT:
        return export_join(ex, n, id);
    case CLY_LAYER_GLOBAL_AVGPOOL:
        x = input4(ex, n, 0);
        add_node(ex, "GlobalAveragePool", n->name, &x, 1, n->name);
        return ex->status;
    case CLY_LAYER_ADAPTIVE_AVGPOOL:
        return export_adaptive(ex, n);
    default:
        return REFUSE(n, "a layer type the exporter does not know");
    }
}

/* A FLOAT tensor value of shape N (symbolic) x dims[1..rank). */
static Onnx__ValueInfoProto *value_info(exporter *ex, const char *name, const int64_t *dims, size_t rank)
{
    Onnx__ValueInfoProto *v = ex_alloc(ex, sizeof *v);
    Onnx__TypeProto *t = ex_alloc(ex, sizeof *t);
    Onnx__TypeProto__Tensor *tt = ex_alloc(ex, sizeof *tt);
    Onnx__TensorShapeProto *s = ex_alloc(ex, sizeof *s);
    Onnx__TensorShapeProto__Dimension **d = ex_alloc(ex, rank * sizeof *d);
    if (!v || !t || !tt || !s || !d)
        return NULL;
    onnx__value_info_proto__init(v);
    onnx__type_proto__init(t);
    onnx__type_proto__tensor__init(tt);
    onnx__tensor_shape_proto__init(s);
    for (size_t i = 0; i < rank; i++) {
        if (!(d[i] = ex_alloc(ex, sizeof *d[i])))
            return NULL;
        onnx__tensor_shape_proto__dimension__init(d[i]);
        if (i == 0) {
            d[i]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d[i]->dim_param = ex_name(ex, "N", "");
        } else {
            d[i]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d[i]->dim_value = dims[i];
        }
    }
    s->n_dim = rank;
    s->dim = d;
    tt->has_elem_type = true;
    tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    tt->shape = s;
    t->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    t->tensor_type = tt;
    v->name = ex_name(ex, name, "");
    v->type = t;
    return v;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* ONNX values are defined once: a layer named like a value another layer
 * adds ("conv1/pre_relu") would break that. */
static cly_status check_unique(exporter *ex, Onnx__ValueInfoProto **inputs, size_t nin)
{
    size_t total = nin + ex->ninits + ex->nnodes;
    const char **names = ex_alloc(ex, total * sizeof *names);
    if (!names)
        return ex->status;
    size_t k = 0;
    for (size_t i = 0; i < nin; i++)
        names[k++] = inputs[i]->name;
    for (size_t i = 0; i < ex->ninits; i++)
        names[k++] = ex->inits[i]->name;
    for (size_t i = 0; i < ex->nnodes; i++)
        names[k++] = ex->nodes[i]->output[0];
    qsort(names, total, sizeof *names, cmp_str);
    for (size_t i = 1; i < total; i++)
        if (strcmp(names[i - 1], names[i]) == 0)
            return ex_fail(ex, CLY_ERROR_UNSUPPORTED,
                           "cly_net_export_onnx: the ONNX value '%s' would be defined twice: a layer is named like a "
                           "value the export adds for another (LAYER/pre_relu, LAYER/flatten, LAYER.weight, ...)",
                           names[i]);
    return CLY_SUCCESS;
}

/* The model packed into a new buffer (*data, freed with free()). */
static cly_status export_model(const cly_net *net, uint8_t **data, size_t *size)
{
    const cly_graph *g = net->graph;
    exporter ex = {.net = net, .g = g};
    ex.flat = ex_alloc(&ex, g->count * sizeof *ex.flat);
    for (size_t s = 0; s < g->count && ex.status == CLY_SUCCESS; s++)
        export_node(&ex, g->order[s]);
    /* Graph inputs (the INPUT layers) and outputs (the sinks). */
    Onnx__ValueInfoProto **ins = ex_alloc(&ex, g->count * sizeof *ins), **outs = ex_alloc(&ex, g->count * sizeof *outs);
    size_t nin = 0, nout = 0;
    for (size_t i = 0; ins && outs && i < g->count; i++) {
        const cly_node *n = &g->nodes[i];
        const int64_t d4[] = {0, n->out.c, n->out.h, n->out.w};
        if (n->layer.type == CLY_LAYER_INPUT)
            ins[nin++] = value_info(&ex, n->name, d4, 4);
        else if (n->consumers == 0)
            outs[nout++] = value_info(&ex, n->name, d4, ex.flat[i] ? 2 : 4);
    }
    if (ex.status == CLY_SUCCESS)
        check_unique(&ex, ins, nin);
    cly_status s = ex.status;
    if (s == CLY_SUCCESS) {
        Onnx__GraphProto graph = ONNX__GRAPH_PROTO__INIT;
        graph.name = (char *)"clayer";
        graph.n_node = ex.nnodes;
        graph.node = ex.nodes;
        graph.n_initializer = ex.ninits;
        graph.initializer = ex.inits;
        graph.n_input = nin;
        graph.input = ins;
        graph.n_output = nout;
        graph.output = outs;
        Onnx__OperatorSetIdProto opset = ONNX__OPERATOR_SET_ID_PROTO__INIT, *opsets[] = {&opset};
        opset.domain = (char *)"";
        opset.has_version = true;
        opset.version = OPSET;
        Onnx__ModelProto model = ONNX__MODEL_PROTO__INIT;
        model.has_ir_version = true;
        model.ir_version = IR_VERSION;
        model.n_opset_import = 1;
        model.opset_import = opsets;
        model.producer_name = (char *)"clayer";
        model.producer_version = (char *)cly_version();
        model.graph = &graph;
        size_t packed = onnx__model_proto__get_packed_size(&model);
        uint8_t *buf = malloc(packed ? packed : 1);
        if (!buf) {
            s = cly_fail(net->ctx, CLY_ERROR_OUT_OF_HOST_MEMORY, "cly_net_export_onnx: out of memory for %zu bytes",
                         packed);
        } else {
            onnx__model_proto__pack(&model, buf);
            *data = buf;
            *size = packed;
        }
    }
    for (size_t i = 0; i < ex.nblocks; i++)
        free(ex.blocks[i]);
    free(ex.blocks);
    free(ex.nodes);
    free(ex.inits);
    return s;
}

cly_status cly_net_export_onnx_buffer(const cly_net *net, void **data, size_t *size)
{
    if (!net || !data || !size)
        return cly_fail(net ? net->ctx : NULL, CLY_ERROR_INVALID_ARGUMENT,
                        "cly_net_export_onnx_buffer: net, data and size must not be NULL (net %s, data %s, size %s)",
                        net ? "given" : "NULL", data ? "given" : "NULL", size ? "given" : "NULL");
    uint8_t *buf;
    size_t n;
    cly_status s = export_model(net, &buf, &n);
    if (s == CLY_SUCCESS) {
        *data = buf;
        *size = n;
    }
    return s;
}

cly_status cly_net_export_onnx(const cly_net *net, const char *path)
{
    if (!net || !path || !*path)
        return cly_fail(net ? net->ctx : NULL, CLY_ERROR_INVALID_ARGUMENT,
                        "cly_net_export_onnx: net and path must not be NULL or empty (net %s, path %s)",
                        net ? "given" : "NULL", path ? (*path ? "given" : "\"\"") : "NULL");
    uint8_t *buf;
    size_t n;
    cly_status s = export_model(net, &buf, &n);
    if (s != CLY_SUCCESS)
        return s;
    s = cly_write_file(net->ctx, path, buf, n);
    free(buf);
    return s;
}
