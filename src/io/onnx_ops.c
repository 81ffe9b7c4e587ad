/* ONNX import, the operator half (docs/onnx.md): each supported operator
 * of opsets 7 to 17, with every attribute it has there, onto clayer's
 * layers, or folded (shape arithmetic on constants), or dropped (Identity,
 * Dropout: the output aliases the input). Shapes are tracked here as each
 * layer is made, so that window sizes, the rounding an output size needs
 * and GlobalMaxPool's window are known; the graph's own inference checks
 * them at the end. Anything clayer cannot compute exactly is an error. */
#define ONNX_PB_TYPES
#include "onnx.pb-c.h"

#include "base/shape.h"
#include "base/status.h"
#include "io/onnx.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char ox_supported_ops[] = "Add, AveragePool, BatchNormalization, Clip, Concat, Constant, Conv, Dropout, "
                                "Flatten, Gather, Gemm, GlobalAveragePool, GlobalMaxPool, Identity, LeakyRelu, LRN, "
                                "MatMul, MaxPool, Pad, Relu, Reshape, Shape, Softmax, Squeeze, Unsqueeze";

#define TRY(call)                           \
    do {                                    \
        cly_status s_ = (call);             \
        if (s_ != CLY_SUCCESS)              \
            return s_;                      \
    } while (0)

#define UNSUPPORTED(...) ox_fail(st, CLY_ERROR_UNSUPPORTED, __VA_ARGS__)
#define INVALID(...) ox_fail(st, CLY_ERROR_INVALID_ARGUMENT, __VA_ARGS__)

/* ---- attributes */

static const Onnx__AttributeProto *attr(const ox *st, const char *name)
{
    for (size_t i = 0; i < st->node->n_attribute; i++)
        if (st->node->attribute[i]->name && strcmp(st->node->attribute[i]->name, name) == 0)
            return st->node->attribute[i];
    return NULL;
}

/* Every attribute of the node must be one this mapping reads. */
static cly_status check_attrs(ox *st, const char *const *known)
{
    for (size_t i = 0; i < st->node->n_attribute; i++) {
        const Onnx__AttributeProto *a = st->node->attribute[i];
        const char *name = a->name ? a->name : "";
        if (a->ref_attr_name && a->ref_attr_name[0])
            return UNSUPPORTED("attribute '%.100s' refers to a function attribute", name);
        bool ok = false;
        for (const char *const *k = known; *k && !ok; k++)
            ok = strcmp(*k, name) == 0;
        if (!ok)
            return UNSUPPORTED("unknown attribute '%.100s'", name);
        for (size_t j = 0; j < i; j++)
            if (st->node->attribute[j]->name && strcmp(st->node->attribute[j]->name, name) == 0)
                return INVALID("attribute '%.100s' given twice", name);
    }
    return CLY_SUCCESS;
}

static cly_status get_i(ox *st, const char *name, int64_t def, int64_t *out)
{
    const Onnx__AttributeProto *a = attr(st, name);
    *out = def;
    if (!a)
        return CLY_SUCCESS;
    if (a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT)
        return INVALID("attribute '%s' must be an INT", name);
    *out = a->i;
    return CLY_SUCCESS;
}

static cly_status get_f(ox *st, const char *name, double def, double *out)
{
    const Onnx__AttributeProto *a = attr(st, name);
    *out = def;
    if (!a)
        return CLY_SUCCESS;
    if (a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT)
        return INVALID("attribute '%s' must be a FLOAT", name);
    *out = a->f;
    if (!isfinite(*out))
        return INVALID("attribute '%s' is %g", name, *out);
    return CLY_SUCCESS;
}

/* An INTS attribute of at most `max` values; *n = -1 when absent. */
static cly_status get_ints(ox *st, const char *name, int64_t *out, int max, int *n)
{
    const Onnx__AttributeProto *a = attr(st, name);
    *n = -1;
    if (!a)
        return CLY_SUCCESS;
    if (a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS)
        return INVALID("attribute '%s' must be INTS", name);
    if (a->n_ints > (size_t)max)
        return UNSUPPORTED("attribute '%s' has %zu values, at most %d here", name, a->n_ints, max);
    for (size_t i = 0; i < a->n_ints; i++)
        out[i] = a->ints[i];
    *n = (int)a->n_ints;
    return CLY_SUCCESS;
}

static cly_status get_s(ox *st, const char *name, const char *def, char *out, size_t size)
{
    const Onnx__AttributeProto *a = attr(st, name);
    snprintf(out, size, "%s", def);
    if (!a)
        return CLY_SUCCESS;
    if (a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING)
        return INVALID("attribute '%s' must be a STRING", name);
    if (a->s.len >= size || (a->s.len && memchr(a->s.data, 0, a->s.len)))
        return INVALID("attribute '%s' is not a known value", name);
    if (a->s.len)
        memcpy(out, a->s.data, a->s.len);
    out[a->s.len] = '\0';
    return CLY_SUCCESS;
}

/* An output beyond the first that the graph reads cannot be given. */
static cly_status unused_outputs(ox *st, size_t from, const char *what)
{
    for (size_t i = from; i < st->node->n_output; i++)
        if (st->node->output[i] && st->node->output[i][0] && ox_uses(st, st->node->output[i]))
            return UNSUPPORTED("output %zu ('%.200s', %s) is used: clayer does not compute it", i,
                               st->node->output[i], what);
    return CLY_SUCCESS;
}

static cly_status n_inputs(ox *st, size_t lo, size_t hi)
{
    if (st->node->n_input < lo || st->node->n_input > hi)
        return INVALID("%zu inputs, expected %zu to %zu", st->node->n_input, lo, hi);
    return CLY_SUCCESS;
}

/* ---- shapes */

static ox_layer *L(ox *st, const ox_value *v)
{
    return &st->layers[v->layer];
}

static int64_t features(const ox_layer *l)
{
    return l->c * l->h * l->w; /* bounded by set_out */
}

/* Record a new layer's per-sample output, bounded so products stay exact. */
static cly_status set_out(ox *st, size_t idx, int64_t c, int64_t h, int64_t w)
{
    ox_layer *l = &st->layers[idx];
    int64_t ch, chw;
    if (c < 1 || h < 1 || w < 1 || __builtin_mul_overflow(c, h, &ch) || __builtin_mul_overflow(ch, w, &chw) ||
        chw > CLY_ONNX_DIM_MAX)
        return INVALID("output %lld x %lld x %lld per sample is out of range", (long long)c, (long long)h,
                       (long long)w);
    l->c = c;
    l->h = h;
    l->w = w;
    return CLY_SUCCESS;
}

static cly_status copy_params(ox *st, size_t idx, cly_param_kind kind, const double *src, int64_t count)
{
    ox_layer *l = &st->layers[idx];
    l->param[kind] = malloc((size_t)(count ? count : 1) * sizeof(double));
    if (!l->param[kind])
        return ox_fail(st, CLY_ERROR_OUT_OF_HOST_MEMORY, "out of memory");
    if (src)
        memcpy(l->param[kind], src, (size_t)count * sizeof(double));
    l->pcount[kind] = count;
    return CLY_SUCCESS;
}

static cly_status need_float(ox *st, const ox_const *k, const char *what)
{
    if (k->is_int)
        return UNSUPPORTED("%s is INT64: clayer needs FLOAT or DOUBLE weights", what);
    return CLY_SUCCESS;
}

static cly_status need_4d(ox *st, const ox_value *v)
{
    if (v->rank != 4)
        return UNSUPPORTED("input '%.200s' is %d-D: this operator needs N x C x H x W", v->name, v->rank);
    return CLY_SUCCESS;
}

/* ---- windows (Conv, MaxPool, AveragePool) */

typedef struct win2 {
    cly_hw size, stride, dilation;
    cly_pad pad;
    cly_rounding rounding;
    int64_t oh, ow;
    bool own_pad; /* the node pads (pads or auto_pad), beside any Pad folded in */
} win2;

/* One axis: padding from auto_pad, the output size, and the rounding it
 * needs (ONNX floors, or ceils with ceil_mode; clayer's default refuses an
 * inexact division, so FLOOR or CEIL only where needed). */
static cly_status axis(ox *st, const char *name, int64_t in, const int64_t pre[2], int64_t k, int64_t s, int64_t d,
                       int64_t *lo, int64_t *hi, const char *auto_pad, bool ceil_mode, cly_rounding *rounding,
                       int64_t *out)
{
    if (k < 1 || s < 1 || d < 1 || k > CLY_ONNX_DIM_MAX || s > CLY_ONNX_DIM_MAX || d > CLY_ONNX_DIM_MAX)
        return INVALID("%s: kernel %lld, stride %lld, dilation %lld: each must be >= 1", name, (long long)k,
                       (long long)s, (long long)d);
    if (k - 1 > CLY_ONNX_DIM_MAX / d)
        return INVALID("%s: kernel %lld dilated by %lld is out of range", name, (long long)k, (long long)d);
    if (pre[0] > CLY_ONNX_DIM_MAX || pre[1] > CLY_ONNX_DIM_MAX)
        return INVALID("%s: a Pad of %lld/%lld is out of range", name, (long long)pre[0], (long long)pre[1]);
    if (strcmp(auto_pad, "SAME_UPPER") == 0 || strcmp(auto_pad, "SAME_LOWER") == 0) {
        int64_t padded = in + pre[0] + pre[1]; /* auto_pad sees the Pad's output */
        int64_t o = (padded + s - 1) / s;
        int64_t total = (o - 1) * s + (k - 1) * d + 1 - padded;
        if (total < 0)
            total = 0;
        *lo = auto_pad[5] == 'U' ? total / 2 : total - total / 2;
        *hi = total - *lo;
    } else if (strcmp(auto_pad, "VALID") == 0) {
        *lo = *hi = 0;
    } else if (strcmp(auto_pad, "NOTSET") != 0) {
        return INVALID("auto_pad '%.40s' is not NOTSET, SAME_UPPER, SAME_LOWER or VALID", auto_pad);
    }
    if (*lo < 0 || *hi < 0 || *lo > CLY_ONNX_DIM_MAX || *hi > CLY_ONNX_DIM_MAX)
        return UNSUPPORTED("%s: padding %lld/%lld: clayer pads by >= 0", name, (long long)*lo, (long long)*hi);
    *lo += pre[0];
    *hi += pre[1];
    cly_window w = {.in = in, .size = k, .stride = s, .pad_lo = *lo, .pad_hi = *hi, .dilation = d};
    cly_window_result r;
    char msg[512];
    if (!cly_window_solve(w, ceil_mode ? CLY_ROUND_CEIL : CLY_ROUND_FLOOR, name, 0, &r, msg, sizeof msg))
        return INVALID("%s", msg);
    if (r.dropped)
        return UNSUPPORTED("%s: with ceil_mode the last window would start in the end padding: ONNX keeps it, "
                           "clayer (as Caffe and PyTorch) drops it",
                           name);
    if (r.rounded)
        *rounding = ceil_mode ? CLY_ROUND_CEIL : CLY_ROUND_FLOOR;
    *out = r.out;
    return CLY_SUCCESS;
}

static const char *const conv_attrs[] = {"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides", NULL};
static const char *const maxpool_attrs[] = {"auto_pad",     "ceil_mode", "dilations", "kernel_shape",
                                            "pads",         "storage_order", "strides", NULL};
static const char *const avgpool_attrs[] = {"auto_pad", "ceil_mode", "count_include_pad", "dilations",
                                            "kernel_shape", "pads", "strides", NULL};

/* The window attributes shared by Conv and the pools. `kernel` is the
 * weights' kernel for Conv (kernel_shape must agree), NULL for pools. */
static cly_status windows(ox *st, const ox_value *x, const int64_t *kernel, bool ceil_mode, win2 *w)
{
    const ox_layer *in = L(st, x);
    int64_t ks[2], strides[2] = {1, 1}, dil[2] = {1, 1}, pads[4] = {0, 0, 0, 0};
    int nk, ns, nd, np;
    char auto_pad[32];
    TRY(get_ints(st, "kernel_shape", ks, 2, &nk));
    TRY(get_ints(st, "strides", strides, 2, &ns));
    TRY(get_ints(st, "dilations", dil, 2, &nd));
    TRY(get_ints(st, "pads", pads, 4, &np));
    TRY(get_s(st, "auto_pad", "NOTSET", auto_pad, sizeof auto_pad));
    if (nk == -1 && !kernel)
        return INVALID("kernel_shape is required");
    if ((nk != -1 && nk != 2) || (ns != -1 && ns != 2) || (nd != -1 && nd != 2) || (np != -1 && np != 4))
        return UNSUPPORTED("kernel_shape, strides and dilations need 2 values and pads 4: clayer works in 2-D");
    if (kernel) {
        if (nk == 2 && (ks[0] != kernel[0] || ks[1] != kernel[1]))
            return INVALID("kernel_shape %lld x %lld, the weights are %lld x %lld", (long long)ks[0],
                           (long long)ks[1], (long long)kernel[0], (long long)kernel[1]);
        ks[0] = kernel[0];
        ks[1] = kernel[1];
    }
    if (np == 4 && strcmp(auto_pad, "NOTSET") != 0 && (pads[0] || pads[1] || pads[2] || pads[3]))
        return INVALID("pads and auto_pad %s cannot be given together", auto_pad);
    memset(w, 0, sizeof *w);
    w->rounding = CLY_ROUND_EXACT;
    /* ONNX pads: [x1_begin, x2_begin, x1_end, x2_end] = top, left, bottom, right. */
    w->own_pad = pads[0] || pads[1] || pads[2] || pads[3] || strcmp(auto_pad, "NOTSET") != 0;
    int64_t pre_h[2] = {x->pad[0], x->pad[2]}, pre_w[2] = {x->pad[1], x->pad[3]};
    TRY(axis(st, "H", in->h, pre_h, ks[0], strides[0], dil[0], &pads[0], &pads[2], auto_pad, ceil_mode, &w->rounding,
             &w->oh));
    TRY(axis(st, "W", in->w, pre_w, ks[1], strides[1], dil[1], &pads[1], &pads[3], auto_pad, ceil_mode, &w->rounding,
             &w->ow));
    w->size = (cly_hw){ks[0], ks[1]};
    w->stride = (cly_hw){strides[0], strides[1]};
    w->dilation = (cly_hw){dil[0], dil[1]};
    w->pad = (cly_pad){.top = pads[0], .left = pads[1], .bottom = pads[2], .right = pads[3]};
    return CLY_SUCCESS;
}

/* ---- operators */

static cly_status op_conv(ox *st)
{
    TRY(check_attrs(st, conv_attrs));
    TRY(n_inputs(st, 2, 3));
    ox_value *x;
    const ox_const *wk, *bk;
    TRY(ox_act_padded(st, 0, &x)); /* a zero Pad before a Conv is its padding */
    TRY(need_4d(st, x));
    TRY(ox_const_in(st, 1, &wk));
    TRY(ox_const_in(st, 2, &bk));
    if (!wk)
        return INVALID("the weights (input 1) are missing");
    TRY(need_float(st, wk, "the weights"));
    if (wk->rank != 4)
        return UNSUPPORTED("the weights are %d-D: clayer convolves in 2-D (K x C/group x kH x kW)", wk->rank);
    int64_t group;
    TRY(get_i(st, "group", 1, &group));
    const ox_layer *in = L(st, x);
    int64_t K = wk->dims[0];
    if (group < 1 || in->c % group || K % group || wk->dims[1] * group != in->c)
        return INVALID("group %lld with %lld input channels and weights %lld x %lld x %lld x %lld", (long long)group,
                       (long long)in->c, (long long)wk->dims[0], (long long)wk->dims[1], (long long)wk->dims[2],
                       (long long)wk->dims[3]);
    if (bk) {
        TRY(need_float(st, bk, "the bias"));
        if (bk->rank != 1 || bk->dims[0] != K)
            return INVALID("the bias has %lld values for %lld filters", (long long)bk->count, (long long)K);
    }
    win2 w;
    TRY(windows(st, x, &wk->dims[2], false, &w));
    size_t idx, src = x->layer;
    TRY(ox_new_layer(st, CLY_LAYER_CONV, &src, 1, &idx));
    cly_conv_params *p = &st->layers[idx].l.p.conv;
    *p = (cly_conv_params){.filters = K, .size = w.size, .stride = w.stride, .pad = w.pad, .dilation = w.dilation,
                           .groups = group, .no_bias = !bk, .rounding = w.rounding};
    TRY(set_out(st, idx, K, w.oh, w.ow));
    TRY(copy_params(st, idx, CLY_PARAM_WEIGHTS, wk->f, wk->count));
    if (bk)
        TRY(copy_params(st, idx, CLY_PARAM_BIAS, bk->f, bk->count));
    return ox_def_act(st, 0, idx, 4);
}

static cly_status op_pool(ox *st, bool max)
{
    TRY(check_attrs(st, max ? maxpool_attrs : avgpool_attrs));
    TRY(n_inputs(st, 1, 1));
    TRY(unused_outputs(st, 1, "Indices"));
    ox_value *x;
    TRY(max ? ox_act(st, 0, &x) : ox_act_padded(st, 0, &x));
    TRY(need_4d(st, x));
    int64_t ceil_mode, count_include_pad, storage_order, dil[2] = {1, 1};
    int nd;
    TRY(get_i(st, "ceil_mode", 0, &ceil_mode));
    TRY(get_i(st, "count_include_pad", 0, &count_include_pad));
    TRY(get_i(st, "storage_order", 0, &storage_order));
    TRY(get_ints(st, "dilations", dil, 2, &nd));
    if (dil[0] != 1 || dil[1] != 1)
        return UNSUPPORTED("dilations %lld x %lld: clayer pools without dilation", (long long)dil[0],
                           (long long)dil[1]);
    if (storage_order != 0)
        return UNSUPPORTED("storage_order %lld: clayer supports row-major (0) only", (long long)storage_order);
    if ((ceil_mode != 0 && ceil_mode != 1) || (count_include_pad != 0 && count_include_pad != 1))
        return INVALID("ceil_mode and count_include_pad must be 0 or 1");
    win2 w;
    TRY(windows(st, x, NULL, ceil_mode == 1, &w));
    /* A Pad's zeros are input to the average: they fold in as padding that
     * is counted, so the node's own padding must be counted too. */
    if (ox_is_padded(x) && w.own_pad && !count_include_pad)
        return UNSUPPORTED("a zero Pad before an AveragePool that pads with count_include_pad 0: clayer counts "
                           "all of a window's padding or none of it");
    if (ox_is_padded(x))
        count_include_pad = 1;
    size_t idx, src = x->layer;
    TRY(ox_new_layer(st, CLY_LAYER_POOL, &src, 1, &idx));
    st->layers[idx].l.p.pool = (cly_pool_params){.kind = max ? CLY_POOL_MAX : CLY_POOL_AVG, .size = w.size,
                                                 .stride = w.stride, .pad = w.pad, .rounding = w.rounding,
                                                 .avg_exclude_pad = !max && !count_include_pad};
    TRY(set_out(st, idx, L(st, x)->c, w.oh, w.ow));
    return ox_def_act(st, 0, idx, 4);
}

static cly_status op_maxpool(ox *st)
{
    return op_pool(st, true);
}

static cly_status op_avgpool(ox *st)
{
    return op_pool(st, false);
}

static cly_status op_global(ox *st, bool max)
{
    static const char *const none[] = {NULL};
    TRY(check_attrs(st, none));
    TRY(n_inputs(st, 1, 1));
    ox_value *x;
    TRY(ox_act(st, 0, &x));
    TRY(need_4d(st, x));
    const ox_layer *in = L(st, x);
    int64_t c = in->c, h = in->h, w = in->w;
    size_t idx, src = x->layer;
    TRY(ox_new_layer(st, max ? CLY_LAYER_POOL : CLY_LAYER_GLOBAL_AVGPOOL, &src, 1, &idx));
    if (max) /* a max pool whose one window is the whole input */
        st->layers[idx].l.p.pool = (cly_pool_params){.kind = CLY_POOL_MAX, .size = {h, w}, .stride = {1, 1}};
    TRY(set_out(st, idx, c, 1, 1));
    return ox_def_act(st, 0, idx, 4);
}

static cly_status op_gap(ox *st)
{
    return op_global(st, false);
}

static cly_status op_gmp(ox *st)
{
    return op_global(st, true);
}

/* x is a Conv's own output (not an alias of it) that only this node reads. */
static bool foldable(const ox *st, const ox_value *x)
{
    const ox_layer *l = &st->layers[x->layer];
    if (x->kind != OX_ACT || x->rank != 4 || l->l.type != CLY_LAYER_CONV || ox_is_padded(x))
        return false;
    const Onnx__NodeProto *conv = st->graph->node[l->node];
    return conv->n_output >= 1 && conv->output[0] && strcmp(conv->output[0], x->name) == 0 &&
           ox_uses(st, x->name) == 1;
}

/* y = scale (conv(x) - mean) / sqrt(var + eps) + B, as the Conv's own
 * weights and bias: filter k scaled by a = scale_k / sqrt(var_k + eps),
 * bias (b_k - mean_k) a + B_k. The node's output is the Conv's. */
static cly_status fold_batchnorm(ox *st, const ox_value *x, const ox_const *k[4], double eps)
{
    for (int64_t f = 0; f < k[3]->count; f++)
        if (!(k[3]->f[f] + eps > 0))
            return INVALID("var[%lld] + epsilon is %g: cannot fold a BatchNormalization with no positive variance",
                           (long long)f, k[3]->f[f] + eps);
    ox_layer *l = &st->layers[x->layer];
    int64_t K = l->c, per = l->pcount[CLY_PARAM_WEIGHTS] / K;
    if (!l->param[CLY_PARAM_BIAS]) {
        TRY(copy_params(st, x->layer, CLY_PARAM_BIAS, NULL, K));
        memset(l->param[CLY_PARAM_BIAS], 0, (size_t)K * sizeof(double));
        l->l.p.conv.no_bias = false;
    }
    double *wt = l->param[CLY_PARAM_WEIGHTS], *b = l->param[CLY_PARAM_BIAS];
    for (int64_t f = 0; f < K; f++) {
        double a = k[0]->f[f] / sqrt(k[3]->f[f] + eps);
        for (int64_t i = 0; i < per; i++)
            wt[f * per + i] *= a;
        b[f] = (b[f] - k[2]->f[f]) * a + k[1]->f[f];
    }
    return ox_alias(st, 0, x);
}

static cly_status op_batchnorm(ox *st)
{
    static const char *const known[] = {"epsilon", "momentum", "spatial", "training_mode", NULL};
    TRY(check_attrs(st, known));
    TRY(n_inputs(st, 5, 5));
    TRY(unused_outputs(st, 1, "running or saved statistics"));
    double eps, momentum;
    int64_t spatial, training;
    TRY(get_f(st, "epsilon", 1e-5, &eps));
    TRY(get_f(st, "momentum", 0.9, &momentum));
    TRY(get_i(st, "spatial", 1, &spatial));
    TRY(get_i(st, "training_mode", 0, &training));
    ox_value *x;
    TRY(ox_act(st, 0, &x));
    const ox_layer *in = L(st, x);
    if (x->rank == 2 && (in->h != 1 || in->w != 1))
        return UNSUPPORTED("a 2-D input flattened from C x H x W: clayer normalises per channel");
    if (training)
        return UNSUPPORTED("training_mode %lld: clayer imports inference batch normalisation", (long long)training);
    if (spatial != 1 && (in->h != 1 || in->w != 1))
        return UNSUPPORTED("spatial=0 (statistics per C x H x W): clayer normalises per channel");
    if (!(eps > 0))
        return UNSUPPORTED("epsilon %g: clayer needs epsilon > 0 (0 would mean its default 1e-5)", eps);
    const ox_const *k[4];
    const char *names[4] = {"scale", "B", "mean", "var"};
    for (int i = 0; i < 4; i++) {
        TRY(ox_const_in(st, (size_t)i + 1, &k[i]));
        if (!k[i])
            return INVALID("input %d (%s) is missing", i + 1, names[i]);
        TRY(need_float(st, k[i], names[i]));
        if (k[i]->count != in->c)
            return INVALID("%s has %lld values for %lld channels", names[i], (long long)k[i]->count,
                           (long long)in->c);
    }
    if (st->opts.fold_batchnorm && foldable(st, x))
        return fold_batchnorm(st, x, k, eps);
    int64_t c = in->c, h = in->h, w = in->w; /* `in` moves when the layer table grows */
    size_t idx, src = x->layer;
    TRY(ox_new_layer(st, CLY_LAYER_BATCHNORM, &src, 1, &idx));
    /* ONNX's momentum weighs the old running value, clayer's the new one. */
    st->layers[idx].l.p.batchnorm =
        (cly_batchnorm_params){.epsilon = eps, .momentum = momentum > 0 && momentum < 1 ? 1 - momentum : 0};
    TRY(set_out(st, idx, c, h, w));
    static const cly_param_kind kinds[4] = {CLY_PARAM_WEIGHTS, CLY_PARAM_BIAS, CLY_PARAM_MEAN, CLY_PARAM_VAR};
    for (int i = 0; i < 4; i++)
        TRY(copy_params(st, idx, kinds[i], k[i]->f, k[i]->count));
    return ox_def_act(st, 0, idx, x->rank);
}

/* Relu, Clip and LeakyRelu: one clayer relu layer with its bound and slope. */
static cly_status relu_layer(ox *st, cly_relu_params p)
{
    ox_value *x;
    TRY(ox_act(st, 0, &x));
    const ox_layer *in = L(st, x);
    int64_t c = in->c, h = in->h, w = in->w;
    int rank = x->rank;
    size_t idx, src = x->layer;
    TRY(ox_new_layer(st, CLY_LAYER_RELU, &src, 1, &idx));
    st->layers[idx].l.p.relu = p;
    TRY(set_out(st, idx, c, h, w));
    return ox_def_act(st, 0, idx, rank);
}

static cly_status op_relu(ox *st)
{
    static const char *const none[] = {NULL};
    TRY(check_attrs(st, none));
    TRY(n_inputs(st, 1, 1));
    return relu_layer(st, (cly_relu_params){0});
}

/* A Clip bound: the attribute (opsets < 11; may be +-inf or +-FLT_MAX) or
 * the constant scalar input (opsets >= 11); `def` where absent. */
static cly_status clip_bound(ox *st, const char *name, size_t input, double def, double *out)
{
    *out = def;
    if (st->opset < 11) {
        const Onnx__AttributeProto *a = attr(st, name);
        if (a && a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT)
            return INVALID("attribute '%s' must be a FLOAT", name);
        if (a)
            *out = a->f;
        return CLY_SUCCESS;
    }
    const ox_const *k;
    TRY(ox_const_in(st, input, &k));
    if (!k)
        return CLY_SUCCESS;
    if (k->is_int || k->count != 1)
        return UNSUPPORTED("Clip's %s must be a FLOAT scalar here (%s, %lld values)", name,
                           k->is_int ? "INT64" : "FLOAT", (long long)k->count);
    *out = k->f[0];
    return CLY_SUCCESS;
}

/* Clip(0, max) is a relu bounded by max (ReLU6 with max 6); a Clip whose
 * lower bound is not 0 has no clayer layer. */
static cly_status op_clip(ox *st)
{
    static const char *const old[] = {"max", "min", NULL}, *const none[] = {NULL};
    TRY(check_attrs(st, st->opset < 11 ? old : none));
    TRY(n_inputs(st, 1, st->opset < 11 ? 1 : 3));
    double lo, hi;
    TRY(clip_bound(st, "min", 1, -INFINITY, &lo));
    TRY(clip_bound(st, "max", 2, INFINITY, &hi));
    if (lo != 0 || !(hi > 0) || isnan(hi))
        return UNSUPPORTED("Clip(min %g, max %g): clayer maps Clip(0, max > 0) onto a bounded relu only", lo, hi);
    /* Clip's float max: bounds beyond FLT_MAX (its "no bound" in old files) bound nothing. */
    return relu_layer(st, (cly_relu_params){.max = hi >= FLT_MAX ? 0 : hi});
}

static cly_status op_leaky_relu(ox *st)
{
    static const char *const known[] = {"alpha", NULL};
    TRY(check_attrs(st, known));
    TRY(n_inputs(st, 1, 1));
    double alpha;
    TRY(get_f(st, "alpha", 0.01, &alpha));
    if (!(alpha >= 0 && alpha < 1))
        return UNSUPPORTED("LeakyRelu alpha %g: clayer's relu takes a slope in [0, 1)", alpha);
    return relu_layer(st, (cly_relu_params){.slope = alpha});
}

static cly_status op_lrn(ox *st)
{
    static const char *const known[] = {"alpha", "beta", "bias", "size", NULL};
    TRY(check_attrs(st, known));
    TRY(n_inputs(st, 1, 1));
    double alpha, beta, bias;
    int64_t size;
    TRY(get_f(st, "alpha", 1e-4, &alpha));
    TRY(get_f(st, "beta", 0.75, &beta));
    TRY(get_f(st, "bias", 1.0, &bias));
    TRY(get_i(st, "size", 0, &size));
    if (!attr(st, "size"))
        return INVALID("attribute 'size' is required");
    if (size < 1 || size > 1 << 20)
        return INVALID("size %lld", (long long)size);
    if (size % 2 == 0)
        return UNSUPPORTED("size %lld is even: ONNX's window then reaches one channel further up, clayer's (as "
                           "PyTorch's) one further down",
                           (long long)size);
    ox_value *x;
    TRY(ox_act(st, 0, &x));
    TRY(need_4d(st, x));
    const ox_layer *in = L(st, x);
    int64_t c = in->c, h = in->h, w = in->w;
    size_t idx, src = x->layer;
    TRY(ox_new_layer(st, CLY_LAYER_LRN, &src, 1, &idx));
    st->layers[idx].l.p.lrn =
        (cly_lrn_params){.size = size, .alpha = alpha, .beta = beta, .k = bias, .alpha_mode = CLY_LRN_ALPHA_OVER_SIZE};
    TRY(set_out(st, idx, c, h, w));
    return ox_def_act(st, 0, idx, 4);
}

/* An FC from a 2-D activation (K features) with weights w (outputs x K). */
static cly_status make_fc(ox *st, const ox_value *x, int64_t M, double *w, double *bias, bool matmul)
{
    size_t idx, src = x->layer;
    cly_status s = ox_new_layer(st, CLY_LAYER_FC, &src, 1, &idx);
    if (s != CLY_SUCCESS) {
        free(w);
        free(bias);
        return s;
    }
    ox_layer *l = &st->layers[idx];
    l->param[CLY_PARAM_WEIGHTS] = w;
    l->pcount[CLY_PARAM_WEIGHTS] = M * features(L(st, x));
    l->param[CLY_PARAM_BIAS] = bias;
    l->pcount[CLY_PARAM_BIAS] = bias ? M : 0;
    l->l.p.fc = (cly_fc_params){.outputs = M, .no_bias = !bias};
    l->matmul = matmul;
    TRY(set_out(st, idx, M, 1, 1));
    return ox_def_act(st, 0, idx, 2);
}

static cly_status op_gemm(ox *st)
{
    static const char *const known[] = {"alpha", "beta", "transA", "transB", NULL};
    TRY(check_attrs(st, known));
    TRY(n_inputs(st, 2, 3));
    double alpha, beta;
    int64_t ta, tb;
    TRY(get_f(st, "alpha", 1.0, &alpha));
    TRY(get_f(st, "beta", 1.0, &beta));
    TRY(get_i(st, "transA", 0, &ta));
    TRY(get_i(st, "transB", 0, &tb));
    ox_value *a;
    TRY(ox_act(st, 0, &a));
    if (ta)
        return UNSUPPORTED("transA=%lld on the activation: clayer's FC takes one sample per row", (long long)ta);
    if (a->rank != 2)
        return INVALID("input A is %d-D, Gemm needs 2-D (Flatten it first)", a->rank);
    const ox_const *b, *c;
    TRY(ox_const_in(st, 1, &b));
    TRY(ox_const_in(st, 2, &c));
    if (!b)
        return INVALID("input B is missing");
    TRY(need_float(st, b, "B"));
    int64_t K = features(L(st, a));
    if (b->rank != 2 || b->dims[tb ? 1 : 0] != K)
        return INVALID("B is %lld x %lld%s, A has %lld columns", (long long)b->dims[0],
                       (long long)(b->rank > 1 ? b->dims[1] : 1), tb ? " (transposed)" : "", (long long)K);
    int64_t M = b->dims[tb ? 0 : 1];
    double *bias = NULL;
    if (c && beta != 0) {
        TRY(need_float(st, c, "C"));
        /* C broadcasts to N x M; it may not vary over the batch. */
        int64_t rows = c->rank == 2 ? c->dims[0] : 1, cols = c->rank >= 1 ? c->dims[c->rank - 1] : 1;
        if (c->rank > 2 || rows != 1 || (cols != 1 && cols != M))
            return UNSUPPORTED("C of shape %s%lld x %lld: clayer's bias is one value per output (C must be [M], "
                               "[1, M] or a scalar)",
                               c->rank > 2 ? "(more than 2-D) " : "", (long long)rows, (long long)cols);
        if (!(bias = malloc((size_t)M * sizeof *bias)))
            return ox_fail(st, CLY_ERROR_OUT_OF_HOST_MEMORY, "out of memory");
        for (int64_t o = 0; o < M; o++)
            bias[o] = beta * c->f[cols == 1 ? 0 : o];
    }
    double *w = malloc((size_t)(M * K) * sizeof *w);
    if (!w) {
        free(bias);
        return ox_fail(st, CLY_ERROR_OUT_OF_HOST_MEMORY, "out of memory");
    }
    for (int64_t o = 0; o < M; o++)
        for (int64_t i = 0; i < K; i++)
            w[o * K + i] = alpha * (tb ? b->f[o * K + i] : b->f[i * M + o]);
    return make_fc(st, a, M, w, bias, false);
}

static cly_status op_matmul(ox *st)
{
    static const char *const none[] = {NULL};
    TRY(check_attrs(st, none));
    TRY(n_inputs(st, 2, 2));
    ox_value *a;
    TRY(ox_act(st, 0, &a));
    if (a->rank != 2)
        return UNSUPPORTED("input A is %d-D: clayer imports MatMul of a 2-D activation by a 2-D constant", a->rank);
    const ox_const *b;
    TRY(ox_const_in(st, 1, &b));
    TRY(need_float(st, b, "B"));
    int64_t K = features(L(st, a));
    if (b->rank != 2 || b->dims[0] != K)
        return INVALID("B is %d-D (%lld rows), A has %lld columns", b->rank, (long long)b->dims[0], (long long)K);
    int64_t M = b->dims[1];
    double *w = malloc((size_t)(M * K) * sizeof *w);
    if (!w)
        return ox_fail(st, CLY_ERROR_OUT_OF_HOST_MEMORY, "out of memory");
    for (int64_t o = 0; o < M; o++)
        for (int64_t i = 0; i < K; i++)
            w[o * K + i] = b->f[i * M + o];
    return make_fc(st, a, M, w, NULL, true);
}

/* Add of an activation and a constant: the bias of the MatMul before it. */
static cly_status add_bias(ox *st, ox_value *x, const ox_const *k)
{
    ox_layer *l = L(st, x);
    if (!l->matmul || l->param[CLY_PARAM_BIAS] || ox_uses(st, x->name) != 1)
        return UNSUPPORTED("Add of a constant is imported only as the bias of the MatMul before it (one consumer)");
    TRY(need_float(st, k, "the bias"));
    int64_t M = l->c;
    int64_t cols = k->rank ? k->dims[k->rank - 1] : 1;
    for (int d = 0; d + 1 < k->rank; d++)
        if (k->dims[d] != 1)
            return UNSUPPORTED("a bias of %d dims varying beyond the last: clayer's bias is one value per output",
                               k->rank);
    if (cols != 1 && cols != M)
        return INVALID("a bias of %lld values for %lld outputs", (long long)cols, (long long)M);
    TRY(copy_params(st, x->layer, CLY_PARAM_BIAS, NULL, M));
    for (int64_t o = 0; o < M; o++)
        l->param[CLY_PARAM_BIAS][o] = k->f[cols == 1 ? 0 : o];
    l->l.p.fc.no_bias = false;
    l->matmul = false;
    return ox_alias(st, 0, x);
}

static cly_status op_add(ox *st)
{
    static const char *const none[] = {NULL};
    TRY(check_attrs(st, none));
    TRY(n_inputs(st, 2, 2));
    ox_value *a, *b;
    TRY(ox_get(st, st->node->input[0], &a));
    TRY(ox_get(st, st->node->input[1], &b));
    TRY(ox_no_pad(st, a));
    TRY(ox_no_pad(st, b));
    if (a->kind == OX_ACT && b->kind == OX_CONST)
        return add_bias(st, a, &b->k);
    if (a->kind == OX_CONST && b->kind == OX_ACT)
        return add_bias(st, b, &a->k);
    if (a->kind != OX_ACT || b->kind != OX_ACT)
        return UNSUPPORTED("Add of two constants is not folded");
    const ox_layer *la = L(st, a), *lb = L(st, b);
    if (a->rank != b->rank || la->c != lb->c || la->h != lb->h || la->w != lb->w)
        return UNSUPPORTED("inputs of shapes %lld x %lld x %lld (%d-D) and %lld x %lld x %lld (%d-D): clayer adds "
                           "equal shapes, without broadcasting",
                           (long long)la->c, (long long)la->h, (long long)la->w, a->rank, (long long)lb->c,
                           (long long)lb->h, (long long)lb->w, b->rank);
    int64_t c = la->c, h = la->h, w = la->w;
    int rank = a->rank;
    size_t in[2] = {a->layer, b->layer}, idx;
    TRY(ox_new_layer(st, CLY_LAYER_ADD, in, 2, &idx));
    TRY(set_out(st, idx, c, h, w));
    return ox_def_act(st, 0, idx, rank);
}

/* ---- constants and shapes */

/* A new constant of `dims`, zeroed, counted against the import's total. */
static cly_status const_new(ox *st, bool is_int, int rank, const int64_t *dims, ox_const *k)
{
    memset(k, 0, sizeof *k);
    k->is_int = is_int;
    k->rank = rank;
    k->count = 1;
    for (int d = 0; d < rank; d++) {
        k->dims[d] = dims[d];
        if (dims[d] < 0 || __builtin_mul_overflow(k->count, dims[d], &k->count) ||
            k->count > CLY_ONNX_TOTAL_MAX - st->total_elems)
            return INVALID("a constant of more than %lld elements in all", (long long)CLY_ONNX_TOTAL_MAX);
    }
    st->total_elems += k->count;
    size_t n = (size_t)(k->count ? k->count : 1);
    if (is_int ? !(k->i = calloc(n, sizeof *k->i)) : !(k->f = calloc(n, sizeof *k->f)))
        return ox_fail(st, CLY_ERROR_OUT_OF_HOST_MEMORY, "out of memory");
    return CLY_SUCCESS;
}

static cly_status op_constant(ox *st)
{
    static const char *const known[] = {"value",      "sparse_value", "value_float", "value_floats",
                                        "value_int",  "value_ints",   "value_string", "value_strings", NULL};
    TRY(check_attrs(st, known));
    TRY(n_inputs(st, 0, 0));
    if (st->node->n_attribute != 1)
        return INVALID("Constant needs exactly one value attribute");
    const Onnx__AttributeProto *a = st->node->attribute[0];
    const char *name = a->name ? a->name : "";
    ox_const k;
    if (strcmp(name, "value") == 0) {
        if (a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR || !a->t)
            return INVALID("attribute 'value' must be a TENSOR");
        TRY(ox_const_from(st, a->t, st->node->output && st->node->n_output ? st->node->output[0] : "?", &k));
    } else if (strcmp(name, "value_float") == 0 || strcmp(name, "value_int") == 0) {
        bool is_int = name[6] == 'i';
        if (a->type != (is_int ? ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT : ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT))
            return INVALID("attribute '%s' has the wrong type", name);
        TRY(const_new(st, is_int, 0, NULL, &k));
        if (is_int)
            k.i[0] = a->i;
        else
            k.f[0] = a->f;
    } else if (strcmp(name, "value_floats") == 0 || strcmp(name, "value_ints") == 0) {
        bool is_int = name[6] == 'i';
        if (a->type != (is_int ? ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS : ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS))
            return INVALID("attribute '%s' has the wrong type", name);
        int64_t n = (int64_t)(is_int ? a->n_ints : a->n_floats);
        if (n > CLY_ONNX_TOTAL_MAX - st->total_elems)
            return INVALID("too many values");
        TRY(const_new(st, is_int, 1, &n, &k));
        for (int64_t e = 0; e < n; e++) {
            if (is_int)
                k.i[e] = a->ints[e];
            else
                k.f[e] = a->floats[e];
        }
        st->total_elems += n;
    } else {
        return UNSUPPORTED("a %s constant: clayer reads FLOAT, DOUBLE and INT64 tensors", name);
    }
    return ox_def_const(st, 0, &k);
}

/* The ONNX dims of an activation, OX_BATCH for a symbolic batch. */
static int act_dims(const ox *st, const ox_value *v, int64_t *d)
{
    const ox_layer *l = &st->layers[v->layer];
    d[0] = st->batch_fixed ? st->batch : OX_BATCH;
    if (v->rank == 2) {
        d[1] = features(l);
        return 2;
    }
    d[1] = l->c;
    d[2] = l->h + v->pad[0] + v->pad[2]; /* a pending Pad's output; pads are <= 2^40 */
    d[3] = l->w + v->pad[1] + v->pad[3];
    return 4;
}

static cly_status op_shape(ox *st)
{
    static const char *const known[] = {"start", "end", NULL};
    TRY(check_attrs(st, known));
    TRY(n_inputs(st, 1, 1));
    ox_value *v;
    TRY(ox_get(st, st->node->input[0], &v));
    int64_t d[CLY_ONNX_RANK_MAX];
    int rank;
    if (v->kind == OX_ACT)
        rank = act_dims(st, v, d);
    else {
        rank = v->k.rank;
        memcpy(d, v->k.dims, sizeof d);
    }
    int64_t start, end;
    TRY(get_i(st, "start", 0, &start));
    TRY(get_i(st, "end", rank, &end));
    if (start < 0)
        start += rank;
    if (end < 0)
        end += rank;
    start = start < 0 ? 0 : start > rank ? rank : start;
    end = end < 0 ? 0 : end > rank ? rank : end;
    int64_t n = end > start ? end - start : 0;
    ox_const k;
    TRY(const_new(st, true, 1, &n, &k));
    for (int64_t i = 0; i < n; i++)
        k.i[i] = d[start + i];
    return ox_def_const(st, 0, &k);
}

static cly_status op_gather(ox *st)
{
    static const char *const known[] = {"axis", NULL};
    TRY(check_attrs(st, known));
    TRY(n_inputs(st, 2, 2));
    const ox_const *data, *ind;
    TRY(ox_const_in(st, 0, &data));
    TRY(ox_const_in(st, 1, &ind));
    int64_t ax;
    TRY(get_i(st, "axis", 0, &ax));
    if (!data || !ind || !data->is_int || !ind->is_int || data->rank != 1 || ind->rank > 1 || (ax != 0 && ax != -1))
        return UNSUPPORTED("clayer folds Gather of a 1-D INT64 constant (a shape) by INT64 indices only");
    int64_t n = ind->count;
    ox_const k;
    TRY(const_new(st, true, ind->rank, &n, &k));
    for (int64_t i = 0; i < n; i++) {
        int64_t j = ind->i[i] < 0 ? ind->i[i] + data->count : ind->i[i];
        if (j < 0 || j >= data->count) {
            ox_const_free(&k);
            return INVALID("index %lld out of range for %lld values", (long long)ind->i[i], (long long)data->count);
        }
        k.i[i] = data->i[j];
    }
    return ox_def_const(st, 0, &k);
}

/* An alias of `v` seen with another rank (a flatten or its inverse). */
static cly_status alias_rank(ox *st, const ox_value *v, int rank)
{
    TRY(ox_alias(st, 0, v));
    st->values[st->nvalues - 1].rank = rank;
    return CLY_SUCCESS;
}

/* The axes of Squeeze and Unsqueeze: an attribute before opset 13, an
 * input from 13; *n = -1 when absent. */
static cly_status get_axes(ox *st, int64_t *axes, int *n)
{
    if (st->opset < 13)
        return get_ints(st, "axes", axes, CLY_ONNX_RANK_MAX, n);
    const ox_const *k;
    TRY(ox_const_in(st, 1, &k));
    *n = -1;
    if (k) {
        if (!k->is_int || k->rank > 1 || k->count > CLY_ONNX_RANK_MAX)
            return INVALID("axes must be a 1-D INT64 constant of at most %d values", CLY_ONNX_RANK_MAX);
        for (int64_t i = 0; i < k->count; i++)
            axes[i] = k->i[i];
        *n = (int)k->count;
    }
    return CLY_SUCCESS;
}

/* Normalised against `rank`, distinct, sorted. */
static cly_status norm_axes(ox *st, int rank, int64_t *axes, int n)
{
    for (int i = 0; i < n; i++) {
        if (axes[i] < 0)
            axes[i] += rank;
        if (axes[i] < 0 || axes[i] >= rank)
            return INVALID("axis %lld out of range for rank %d", (long long)axes[i], rank);
        for (int j = 0; j < i; j++)
            if (axes[j] == axes[i])
                return INVALID("axis %lld repeated", (long long)axes[i]);
    }
    for (int i = 1; i < n; i++) /* insertion sort */
        for (int j = i; j > 0 && axes[j - 1] > axes[j]; j--) {
            int64_t t = axes[j];
            axes[j] = axes[j - 1];
            axes[j - 1] = t;
        }
    return CLY_SUCCESS;
}

/* A value whose ONNX dims become nd[nr], the data unchanged: a new
 * constant, or the same activation seen as N x C*H*W or N x C x H x W. */
static cly_status redim(ox *st, const ox_value *v, const int64_t *nd, int nr, const char *what)
{
    if (v->kind != OX_ACT) {
        int64_t count = 1;
        for (int i = 0; i < nr; i++)
            if (nd[i] < 0 || __builtin_mul_overflow(count, nd[i], &count))
                return INVALID("%lld values cannot take the new shape", (long long)v->k.count);
        if (count != v->k.count)
            return INVALID("%lld values cannot take the new shape", (long long)v->k.count);
        ox_const k;
        TRY(const_new(st, v->k.is_int, nr, nd, &k));
        if (k.is_int)
            memcpy(k.i, v->k.i, (size_t)v->k.count * sizeof *k.i);
        else
            memcpy(k.f, v->k.f, (size_t)v->k.count * sizeof *k.f);
        return ox_def_const(st, 0, &k);
    }
    const ox_layer *l = L(st, v);
    int64_t batch = st->batch_fixed ? st->batch : OX_BATCH;
    if (nr >= 1 && nd[0] == batch) {
        if (nr == 2 && nd[1] == features(l))
            return alias_rank(st, v, 2);
        if (nr == 4 && nd[1] == l->c && nd[2] == l->h && nd[3] == l->w)
            return alias_rank(st, v, 4);
    }
    char shape[160] = "";
    for (int i = 0; i < nr; i++) {
        size_t used = strlen(shape);
        if (nd[i] == OX_BATCH)
            snprintf(shape + used, sizeof shape - used, "%sN", i ? " x " : "");
        else
            snprintf(shape + used, sizeof shape - used, "%s%lld", i ? " x " : "", (long long)nd[i]);
    }
    return UNSUPPORTED("%s of an activation (per sample %lld x %lld x %lld) to %s: only a flatten to N x C*H*W, "
                       "or back, maps onto clayer (it has no reshape layer)",
                       what, (long long)l->c, (long long)l->h, (long long)l->w, shape);
}

static cly_status op_squeeze_unsqueeze(ox *st, bool squeeze)
{
    static const char *const old[] = {"axes", NULL}, *const none[] = {NULL};
    TRY(check_attrs(st, st->opset < 13 ? old : none));
    TRY(n_inputs(st, 1, st->opset < 13 ? 1 : 2));
    ox_value *v;
    TRY(ox_get(st, st->node->input[0], &v));
    TRY(ox_no_pad(st, v));
    int64_t d[CLY_ONNX_RANK_MAX], axes[CLY_ONNX_RANK_MAX], nd[CLY_ONNX_RANK_MAX];
    int rank, n, nr = 0;
    if (v->kind == OX_ACT)
        rank = act_dims(st, v, d);
    else {
        rank = v->k.rank;
        memcpy(d, v->k.dims, sizeof d);
    }
    TRY(get_axes(st, axes, &n));
    if (n < 0)
        return squeeze ? UNSUPPORTED("Squeeze without axes (what it removes would depend on the batch size)")
                       : INVALID("axes are required");
    if (squeeze) {
        TRY(norm_axes(st, rank, axes, n));
        for (int i = 0, j = 0; i < rank; i++) {
            if (j < n && axes[j] == i) {
                if (d[i] != 1)
                    return INVALID("axis %d has size %s%lld, not 1", i, d[i] == OX_BATCH ? "N = " : "",
                                   (long long)(d[i] == OX_BATCH ? 0 : d[i]));
                j++;
                continue;
            }
            nd[nr++] = d[i];
        }
    } else {
        int out_rank = rank + n;
        if (out_rank > CLY_ONNX_RANK_MAX)
            return UNSUPPORTED("more than %d dims", CLY_ONNX_RANK_MAX);
        TRY(norm_axes(st, out_rank, axes, n));
        for (int i = 0, src = 0, j = 0; i < out_rank; i++) {
            if (j < n && axes[j] == i) {
                nd[nr++] = 1;
                j++;
            } else
                nd[nr++] = d[src++];
        }
    }
    return redim(st, v, nd, nr, squeeze ? "Squeeze" : "Unsqueeze");
}

static cly_status op_squeeze(ox *st)
{
    return op_squeeze_unsqueeze(st, true);
}

static cly_status op_unsqueeze(ox *st)
{
    return op_squeeze_unsqueeze(st, false);
}

static cly_status op_flatten(ox *st)
{
    static const char *const known[] = {"axis", NULL};
    TRY(check_attrs(st, known));
    TRY(n_inputs(st, 1, 1));
    ox_value *v;
    TRY(ox_act(st, 0, &v));
    int64_t ax;
    TRY(get_i(st, "axis", 1, &ax));
    if (ax < 0)
        ax += v->rank;
    if (ax != 1)
        return UNSUPPORTED("axis %lld: clayer flattens each sample (axis 1) only", (long long)ax);
    /* clayer's FC flattens in C, H, W order, as Flatten does: no layer. */
    return alias_rank(st, v, 2);
}

static cly_status op_reshape(ox *st)
{
    static const char *const known[] = {"allowzero", NULL};
    TRY(check_attrs(st, known));
    TRY(n_inputs(st, 2, 2));
    ox_value *v;
    TRY(ox_get(st, st->node->input[0], &v));
    TRY(ox_no_pad(st, v));
    const ox_const *shape;
    TRY(ox_const_in(st, 1, &shape));
    if (!shape || !shape->is_int || shape->rank != 1 || shape->count > CLY_ONNX_RANK_MAX)
        return UNSUPPORTED("the shape must be a 1-D INT64 constant of at most %d values (folded from "
                           "Shape/Gather/Unsqueeze/Concat)",
                           CLY_ONNX_RANK_MAX);
    int64_t allowzero;
    TRY(get_i(st, "allowzero", 0, &allowzero));
    int64_t d[CLY_ONNX_RANK_MAX], t[CLY_ONNX_RANK_MAX];
    int rank, nr = (int)shape->count;
    if (v->kind == OX_ACT)
        rank = act_dims(st, v, d);
    else {
        rank = v->k.rank;
        memcpy(d, v->k.dims, sizeof d);
    }
    int infer = -1;
    for (int i = 0; i < nr; i++) {
        t[i] = shape->i[i];
        if (t[i] == 0 && !allowzero) {
            if (i >= rank)
                return INVALID("shape[%d] = 0 copies a dim the input lacks", i);
            t[i] = d[i];
        }
        if (t[i] == -1) {
            if (infer >= 0)
                return INVALID("more than one -1 in the shape");
            infer = i;
        } else if (t[i] != OX_BATCH && (t[i] < 1 || t[i] > CLY_ONNX_DIM_MAX))
            return UNSUPPORTED("shape[%d] = %lld", i, (long long)t[i]);
    }
    /* Solve the -1 per sample: the batch stays the batch. */
    int64_t batch = st->batch_fixed ? st->batch : OX_BATCH;
    int64_t per = 1, known_per = 1;
    for (int i = 1; i < rank; i++)
        per *= d[i];
    if (v->kind != OX_ACT)
        per = v->k.count; /* constants: plain element counts */
    if (v->kind == OX_ACT) {
        if (nr < 1)
            return UNSUPPORTED("a reshape to a scalar");
        if (infer == 0) {
            t[0] = batch;
            infer = -1;
        }
        for (int i = 1; i < nr; i++)
            if (i != infer) {
                if (t[i] == OX_BATCH)
                    return UNSUPPORTED("the batch size moved off the first dim");
                known_per *= t[i];
                if (known_per > per)
                    break;
            }
        if (infer > 0) {
            if (known_per > per || per % known_per)
                return INVALID("-1 cannot be solved: %lld values per sample into %lld", (long long)per,
                               (long long)known_per);
            t[infer] = per / known_per;
        }
    } else if (infer >= 0) {
        int64_t k = 1;
        for (int i = 0; i < nr; i++)
            if (i != infer) {
                if (t[i] == OX_BATCH)
                    return UNSUPPORTED("a constant reshaped by the batch size");
                k *= t[i];
                if (k > per)
                    break;
            }
        if (k > per || k == 0 || per % k)
            return INVALID("-1 cannot be solved: %lld values into %lld", (long long)per, (long long)k);
        t[infer] = per / k;
    }
    return redim(st, v, t, nr, "Reshape");
}

static cly_status op_concat(ox *st)
{
    static const char *const known[] = {"axis", NULL};
    TRY(check_attrs(st, known));
    if (st->node->n_input < 1 || st->node->n_input > CLY_GRAPH_MAX_INPUTS)
        return INVALID("%zu inputs (1 to %d)", st->node->n_input, CLY_GRAPH_MAX_INPUTS);
    int64_t ax;
    TRY(get_i(st, "axis", 0, &ax));
    if (!attr(st, "axis"))
        return INVALID("attribute 'axis' is required");
    ox_value *first;
    TRY(ox_get(st, st->node->input[0], &first));
    TRY(ox_no_pad(st, first));
    if (first->kind != OX_ACT) { /* shape arithmetic: 1-D INT64 constants */
        int64_t n = 0;
        for (size_t i = 0; i < st->node->n_input; i++) {
            const ox_const *k;
            TRY(ox_const_in(st, i, &k));
            if (!k || !k->is_int || k->rank != 1 || (ax != 0 && ax != -1))
                return UNSUPPORTED("clayer folds Concat of 1-D INT64 constants (shapes) only, or concatenates "
                                   "activations along channels");
            n += k->count;
            if (n > CLY_ONNX_TENSOR_MAX)
                return INVALID("too many values");
        }
        ox_const out;
        TRY(const_new(st, true, 1, &n, &out));
        n = 0;
        for (size_t i = 0; i < st->node->n_input; i++) {
            const ox_const *k;
            TRY(ox_const_in(st, i, &k));
            memcpy(out.i + n, k->i, (size_t)k->count * sizeof *k->i);
            n += k->count;
        }
        return ox_def_const(st, 0, &out);
    }
    size_t in[CLY_GRAPH_MAX_INPUTS];
    int64_t c = 0;
    int rank = first->rank;
    if (ax < 0)
        ax += rank;
    if (ax != 1)
        return UNSUPPORTED("axis %lld: clayer concatenates along channels (axis 1) only", (long long)ax);
    const ox_layer *l0 = L(st, first);
    int64_t h = l0->h, w = l0->w;
    for (size_t i = 0; i < st->node->n_input; i++) {
        ox_value *v;
        TRY(ox_act(st, i, &v));
        const ox_layer *l = L(st, v);
        if (v->rank != rank || l->h != h || l->w != w || (rank == 2 && (l->h != 1 || l->w != 1)))
            return UNSUPPORTED("input %zu ('%.200s') is %d-D with %lld x %lld per channel, input 0 %d-D with "
                               "%lld x %lld: clayer concatenates channels of equal height and width",
                               i, v->name, v->rank, (long long)l->h, (long long)l->w, rank, (long long)h,
                               (long long)w);
        c += l->c;
        in[i] = v->layer;
    }
    size_t idx;
    TRY(ox_new_layer(st, CLY_LAYER_CONCAT, in, st->node->n_input, &idx));
    TRY(set_out(st, idx, c, h, w));
    return ox_def_act(st, 0, idx, rank);
}

static cly_status op_softmax(ox *st)
{
    static const char *const known[] = {"axis", NULL};
    TRY(check_attrs(st, known));
    TRY(n_inputs(st, 1, 1));
    ox_value *x;
    TRY(ox_act(st, 0, &x));
    int64_t ax;
    TRY(get_i(st, "axis", st->opset < 13 ? 1 : -1, &ax));
    if (ax < 0)
        ax += x->rank;
    const ox_layer *in = L(st, x);
    bool spatial = in->h != 1 || in->w != 1;
    /* clayer: over channels per sample and position. Before opset 13 ONNX
     * coerces to 2-D at `axis` (the same on N x C x 1 x 1); from 13 it
     * normalises along `axis` alone. */
    bool ok = ax == 1 && (x->rank == 4 ? !spatial || st->opset >= 13 : !spatial);
    if (!ok)
        return UNSUPPORTED("axis %lld on a %d-D input (per sample %lld x %lld x %lld): clayer's softmax runs over "
                           "channels (axis 1 of N x C or N x C x 1 x 1; of N x C x H x W from opset 13)",
                           (long long)ax, x->rank, (long long)in->c, (long long)in->h, (long long)in->w);
    int64_t c = in->c, h = in->h, w = in->w;
    int rank = x->rank;
    size_t idx, src = x->layer;
    TRY(ox_new_layer(st, CLY_LAYER_SOFTMAX, &src, 1, &idx));
    TRY(set_out(st, idx, c, h, w));
    return ox_def_act(st, 0, idx, rank);
}

/* Pad with zeros on H and W only: the pads go on the value and the Conv
 * or AveragePool that reads it takes them as its own padding (a zero Pad
 * alone is dropped). Opsets < 11 give pads and value as attributes, later
 * ones as constant inputs. */
static cly_status op_pad(ox *st)
{
    static const char *const old[] = {"mode", "pads", "value", NULL}, *const now[] = {"mode", NULL};
    TRY(check_attrs(st, st->opset < 11 ? old : now));
    TRY(n_inputs(st, st->opset < 11 ? 1 : 2, st->opset < 11 ? 1 : 3));
    char mode[16];
    TRY(get_s(st, "mode", "constant", mode, sizeof mode));
    if (strcmp(mode, "constant") != 0)
        return UNSUPPORTED("mode '%s': clayer folds constant (zero) padding only", mode);
    ox_value *x;
    TRY(ox_act_padded(st, 0, &x));
    TRY(need_4d(st, x));
    int64_t pads[8];
    double value = 0;
    int np;
    if (st->opset < 11) {
        TRY(get_ints(st, "pads", pads, 8, &np));
        TRY(get_f(st, "value", 0, &value));
    } else {
        const ox_const *pk, *vk;
        TRY(ox_const_in(st, 1, &pk));
        TRY(ox_const_in(st, 2, &vk));
        if (!pk || !pk->is_int || pk->rank != 1 || pk->count > 8)
            return INVALID("pads (input 1) must be an INT64 constant of 8 values for a 4-D input");
        np = (int)pk->count;
        for (int i = 0; i < np; i++)
            pads[i] = pk->i[i];
        if (vk && (vk->count != 1 || vk->is_int))
            return UNSUPPORTED("constant_value must be a FLOAT scalar");
        value = vk ? vk->f[0] : 0;
    }
    if (np != 8)
        return INVALID("pads has %d values, a 4-D input needs 8", np);
    if (value != 0)
        return UNSUPPORTED("constant_value %g: clayer folds zero padding only", value);
    /* [N, C, H, W begins, N, C, H, W ends] */
    if (pads[0] || pads[1] || pads[4] || pads[5])
        return UNSUPPORTED("pads on N or C (%lld %lld / %lld %lld): clayer pads H and W only", (long long)pads[0],
                           (long long)pads[1], (long long)pads[4], (long long)pads[5]);
    for (int i = 0; i < 8; i++)
        if (pads[i] < 0 || pads[i] > CLY_ONNX_DIM_MAX)
            return UNSUPPORTED("pad %lld: clayer pads by 0 to 2^40 and does not crop", (long long)pads[i]);
    int64_t add[4] = {pads[2], pads[3], pads[6], pads[7]}, sum[4];
    for (int i = 0; i < 4; i++)
        if (__builtin_add_overflow(x->pad[i], add[i], &sum[i]) || sum[i] > CLY_ONNX_DIM_MAX)
            return INVALID("padding out of range");
    TRY(ox_alias(st, 0, x));
    ox_value *y;
    TRY(ox_get(st, st->node->output[0], &y));
    memcpy(y->pad, sum, sizeof sum);
    return CLY_SUCCESS;
}

static cly_status op_dropout(ox *st)
{
    static const char *const old[] = {"ratio", NULL}, *const now[] = {"seed", NULL};
    TRY(check_attrs(st, st->opset < 12 ? old : now));
    TRY(n_inputs(st, 1, st->opset < 12 ? 1 : 3));
    TRY(unused_outputs(st, 1, "mask"));
    if (st->opset >= 12) {
        const ox_const *train;
        TRY(ox_const_in(st, 2, &train));
        if (train && (train->count != 1 || (train->is_int ? train->i[0] != 0 : train->f[0] != 0)))
            return UNSUPPORTED("training_mode is true: clayer imports inference (dropout is the identity)");
    }
    ox_value *v;
    TRY(ox_get(st, st->node->input[0], &v));
    return ox_alias(st, 0, v); /* identity at inference: no layer */
}

static cly_status op_identity(ox *st)
{
    static const char *const none[] = {NULL};
    TRY(check_attrs(st, none));
    TRY(n_inputs(st, 1, 1));
    ox_value *v;
    TRY(ox_get(st, st->node->input[0], &v));
    return ox_alias(st, 0, v);
}

/* ---- the table */

typedef struct ox_op {
    const char *name;
    cly_status (*map)(ox *st);
} ox_op;

static const ox_op ops[] = {
    {"Add", op_add},
    {"AveragePool", op_avgpool},
    {"BatchNormalization", op_batchnorm},
    {"Clip", op_clip},
    {"Concat", op_concat},
    {"Constant", op_constant},
    {"Conv", op_conv},
    {"Dropout", op_dropout},
    {"Flatten", op_flatten},
    {"Gather", op_gather},
    {"Gemm", op_gemm},
    {"GlobalAveragePool", op_gap},
    {"GlobalMaxPool", op_gmp},
    {"Identity", op_identity},
    {"LRN", op_lrn},
    {"LeakyRelu", op_leaky_relu},
    {"MatMul", op_matmul},
    {"MaxPool", op_maxpool},
    {"Pad", op_pad},
    {"Relu", op_relu},
    {"Reshape", op_reshape},
    {"Shape", op_shape},
    {"Softmax", op_softmax},
    {"Squeeze", op_squeeze},
    {"Unsqueeze", op_unsqueeze},
};

cly_status ox_map_node(ox *st)
{
    const Onnx__NodeProto *nd = st->node;
    const char *type = nd->op_type ? nd->op_type : "";
    if (nd->domain && nd->domain[0] && strcmp(nd->domain, "ai.onnx") != 0)
        return UNSUPPORTED("domain '%.100s': clayer imports the default ONNX domain only", nd->domain);
    if (nd->n_input > CLY_GRAPH_MAX_INPUTS || nd->n_output > 16)
        return INVALID("%zu inputs and %zu outputs: too many", nd->n_input, nd->n_output);
    for (size_t i = 0; i < nd->n_attribute; i++) {
        int t = nd->attribute[i]->type;
        if (t == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH || t == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPHS)
            return UNSUPPORTED("attribute '%.100s' is a subgraph: clayer imports no control flow",
                               nd->attribute[i]->name ? nd->attribute[i]->name : "");
    }
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
        if (strcmp(ops[i].name, type) == 0)
            return ops[i].map(st);
    return UNSUPPORTED("operator not supported; clayer imports %s", ox_supported_ops);
}
