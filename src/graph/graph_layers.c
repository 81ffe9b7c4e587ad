/* Per-layer rules named in layers.def: parameter checks (with defaults) at
 * cly_graph_add, and output shape plus costs at cly_graph_infer.
 *
 * Cost conventions (printed in the summary footer):
 * - conv, local, fc: FLOPs = 2 x multiply-adds, per sample x batch;
 * - the rest are approximate: 1 per output value (relu, softmax, dropout,
 *   batchnorm), 1 per window element per output (pool, lrn), 1 per input
 *   value (gap), inputs - 1 per output value (add), 0 (input, concat).
 * - batchnorm: scale and shift count as biases (2 per channel); the running
 *   mean and variance are buffers, counted in cly_graph.bn_running. */
#include "graph/graph.h"
#include "base/status.h"
#include "base/shape.h"

#include <math.h>
#include <stdio.h>

/* Dimensions and counts above this are rejected: kernels index with int. */
#define DIM_MAX INT32_MAX

/* ---- parameter checks */

/* v >= lo and v <= DIM_MAX; `dflt` notes that 0 means 1. */
static cly_status check_int(const cly_layer *l, const char *what, int64_t v, int64_t lo, bool dflt)
{
    if (v < lo)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: %s = %lld must be >= %lld%s", l->name, what,
                        (long long)v, (long long)lo, dflt ? " (0 means 1)" : "");
    if (v > DIM_MAX)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: %s = %lld exceeds %lld", l->name, what, (long long)v,
                        (long long)DIM_MAX);
    return CLY_SUCCESS;
}

#define CHECK(call)                     \
    do {                                \
        cly_status s_ = (call);         \
        if (s_ != CLY_SUCCESS)          \
            return s_;                  \
    } while (0)

/* 0 -> 1, then >= 1. */
static cly_status check_default1(const cly_layer *l, const char *what, int64_t *v)
{
    if (*v == 0)
        *v = 1;
    return check_int(l, what, *v, 1, true);
}

static cly_status check_pad(const cly_layer *l, const cly_pad *p)
{
    CHECK(check_int(l, "pad.top", p->top, 0, false));
    CHECK(check_int(l, "pad.bottom", p->bottom, 0, false));
    CHECK(check_int(l, "pad.left", p->left, 0, false));
    return check_int(l, "pad.right", p->right, 0, false);
}

static cly_status check_rounding(const cly_layer *l, cly_rounding r)
{
    if ((unsigned)r > CLY_ROUND_CEIL)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: rounding %d is not exact (0), floor (1) or ceil (2)",
                        l->name, (int)r);
    return CLY_SUCCESS;
}

cly_status cly_check_none(cly_layer *l)
{
    (void)l;
    return CLY_SUCCESS;
}

cly_status cly_check_input(cly_layer *l)
{
    CHECK(check_int(l, "c", l->p.input.c, 1, false));
    CHECK(check_int(l, "h", l->p.input.h, 1, false));
    return check_int(l, "w", l->p.input.w, 1, false);
}

cly_status cly_check_conv(cly_layer *l)
{
    cly_conv_params *p = &l->p.conv;
    CHECK(check_int(l, "filters", p->filters, 1, false));
    CHECK(check_int(l, "size.h", p->size.h, 1, false));
    CHECK(check_int(l, "size.w", p->size.w, 1, false));
    CHECK(check_default1(l, "stride.h", &p->stride.h));
    CHECK(check_default1(l, "stride.w", &p->stride.w));
    CHECK(check_default1(l, "dilation.h", &p->dilation.h));
    CHECK(check_default1(l, "dilation.w", &p->dilation.w));
    CHECK(check_default1(l, "groups", &p->groups));
    CHECK(check_pad(l, &p->pad));
    CHECK(check_rounding(l, p->rounding));
    if ((unsigned)p->algo >= CLY_CONV_ALGO_COUNT)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: conv algorithm %d does not exist (0..%d)", l->name,
                        (int)p->algo, CLY_CONV_ALGO_COUNT - 1);
    if (p->filters % p->groups)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: filters = %lld is not divisible by groups = %lld",
                        l->name, (long long)p->filters, (long long)p->groups);
    return CLY_SUCCESS;
}

cly_status cly_check_local(cly_layer *l)
{
    cly_conv_params *p = &l->p.conv;
    if (p->groups != 0 && p->groups != 1)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: a local layer has no groups (groups = %lld)", l->name,
                        (long long)p->groups);
    if (p->algo != CLY_CONV_AUTO)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT,
                        "%s: a local layer has one algorithm; algo must be auto, not %s", l->name,
                        cly_conv_algo_string(p->algo));
    return cly_check_conv(l);
}

cly_status cly_check_pool(cly_layer *l)
{
    cly_pool_params *p = &l->p.pool;
    if ((unsigned)p->kind > CLY_POOL_L2)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: pool kind %d is not max (0), avg (1) or l2 (2)",
                        l->name, (int)p->kind);
    CHECK(check_int(l, "size.h", p->size.h, 1, false));
    CHECK(check_int(l, "size.w", p->size.w, 1, false));
    CHECK(check_default1(l, "stride.h", &p->stride.h));
    CHECK(check_default1(l, "stride.w", &p->stride.w));
    CHECK(check_pad(l, &p->pad));
    CHECK(check_rounding(l, p->rounding));
    /* A pad as wide as the window would let a window lie wholly in the
     * padding: max would give -inf, an average would divide by nothing. */
    if (p->pad.top >= p->size.h || p->pad.bottom >= p->size.h || p->pad.left >= p->size.w ||
        p->pad.right >= p->size.w)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT,
                        "%s: padding (top %lld, bottom %lld, left %lld, right %lld) must be smaller than the window "
                        "%lldx%lld",
                        l->name, (long long)p->pad.top, (long long)p->pad.bottom, (long long)p->pad.left,
                        (long long)p->pad.right, (long long)p->size.h, (long long)p->size.w);
    return CLY_SUCCESS;
}

static cly_status check_finite(const cly_layer *l, const char *what, double v)
{
    if (!isfinite(v))
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: %s = %g must be a finite number", l->name, what, v);
    return CLY_SUCCESS;
}

cly_status cly_check_lrn(cly_layer *l)
{
    cly_lrn_params *p = &l->p.lrn;
    CHECK(check_int(l, "size", p->size, 1, false));
    CHECK(check_finite(l, "alpha", p->alpha));
    CHECK(check_finite(l, "beta", p->beta));
    CHECK(check_finite(l, "k", p->k));
    if ((unsigned)p->alpha_mode > CLY_LRN_ALPHA_RAW)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: alpha_mode %d is not over_size (0) or raw (1)",
                        l->name, (int)p->alpha_mode);
    return CLY_SUCCESS;
}

cly_status cly_check_batchnorm(cly_layer *l)
{
    cly_batchnorm_params *p = &l->p.batchnorm;
    if (!isfinite(p->epsilon) || p->epsilon < 0)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: epsilon = %g must be finite and >= 0 (0 means 1e-5)",
                        l->name, p->epsilon);
    if (!isfinite(p->momentum) || p->momentum < 0 || p->momentum > 1)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: momentum = %g must be in [0, 1] (0 means 0.1)",
                        l->name, p->momentum);
    if (p->epsilon == 0)
        p->epsilon = 1e-5;
    if (p->momentum == 0)
        p->momentum = 0.1;
    return CLY_SUCCESS;
}

cly_status cly_check_fc(cly_layer *l)
{
    return check_int(l, "outputs", l->p.fc.outputs, 1, false);
}

cly_status cly_check_dropout(cly_layer *l)
{
    double p = l->p.dropout;
    if (!(p >= 0 && p < 1)) /* also rejects NaN */
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: dropout probability p = %g must be in [0, 1)", l->name,
                        p);
    return CLY_SUCCESS;
}

/* ---- inference helpers */

static cly_shape input_shape(const cly_graph *g, const cly_node *n, size_t i)
{
    return g->nodes[n->input_ids[i]].out;
}

/* *out = v[0] * ... * v[count-1]; false on overflow. */
static bool product(int64_t *out, const int64_t *v, size_t count)
{
    int64_t p = 1;
    for (size_t i = 0; i < count; i++)
        if (!cly_mul_i64(p, v[i], &p))
            return false;
    *out = p;
    return true;
}

#define PRODUCT(out, ...) product((out), (const int64_t[]){__VA_ARGS__}, \
                                  sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t))

static cly_status overflow(const cly_graph *g, const cly_node *n, const char *what)
{
    return cly_node_fail(g, n, CLY_ERROR_SIZE_OVERFLOW, "the %s overflows 64 bits", what);
}

/* Set out, activations and the elementwise FLOP count (per output value x
 * `per`). */
static cly_status set_output(const cly_graph *g, cly_node *n, cly_shape out, int64_t per)
{
    n->out = out;
    if (!PRODUCT(&n->activations, out.n, out.c, out.h, out.w))
        return overflow(g, n, "output value count");
    if (!cly_mul_i64(n->activations, per, &n->flops))
        return overflow(g, n, "FLOP count");
    return CLY_SUCCESS;
}

/* Output width then height (the notes state the rule for W first). */
static cly_status windows(const cly_graph *g, cly_node *n, cly_shape in, cly_hw size, cly_hw stride, cly_pad pad,
                          cly_hw dilation, cly_rounding mode, unsigned flags, int64_t *oh, int64_t *ow)
{
    char msg[512];
    cly_window_result rw, rh;
    if (!cly_window_solve((cly_window){in.w, size.w, stride.w, pad.left, pad.right, dilation.w}, mode, "W", flags,
                          &rw, msg, sizeof msg) ||
        !cly_window_solve((cly_window){in.h, size.h, stride.h, pad.top, pad.bottom, dilation.h}, mode, "H", flags,
                          &rh, msg, sizeof msg))
        return cly_node_fail(g, n, CLY_ERROR_INVALID_ARGUMENT, "%s", msg);
    *ow = rw.out;
    *oh = rh.out;
    n->rounded = rw.rounded || rh.rounded;
    return CLY_SUCCESS;
}

/* ---- inference per type */

cly_status cly_infer_input(cly_graph *g, cly_node *n)
{
    const cly_layer *l = &n->layer;
    return set_output(g, n, (cly_shape){g->batch, l->p.input.c, l->p.input.h, l->p.input.w}, 0);
}

cly_status cly_infer_same(cly_graph *g, cly_node *n)
{
    return set_output(g, n, input_shape(g, n, 0), 1);
}

/* Shared by conv and local: output shape and the multiply-adds per sample,
 * K*OH*OW * (C/G)*FH*FW. */
static cly_status conv_common(cly_graph *g, cly_node *n, int64_t *macs)
{
    const cly_conv_params *p = &n->layer.p.conv;
    cly_shape in = input_shape(g, n, 0);
    if (in.c % p->groups)
        return cly_node_fail(g, n, CLY_ERROR_INVALID_ARGUMENT,
                             "input channels C = %lld are not divisible by groups = %lld", (long long)in.c,
                             (long long)p->groups);
    int64_t oh, ow;
    CHECK(windows(g, n, in, p->size, p->stride, p->pad, p->dilation, p->rounding, 0, &oh, &ow));
    CHECK(set_output(g, n, (cly_shape){in.n, p->filters, oh, ow}, 0));
    if (!PRODUCT(macs, p->filters, oh, ow, in.c / p->groups, p->size.h, p->size.w))
        return overflow(g, n, "multiply-add count");
    int64_t per_batch;
    if (!cly_mul_i64(*macs, 2, &per_batch) || !cly_mul_i64(per_batch, in.n, &n->flops))
        return overflow(g, n, "FLOP count");
    return CLY_SUCCESS;
}

cly_status cly_infer_conv(cly_graph *g, cly_node *n)
{
    const cly_conv_params *p = &n->layer.p.conv;
    int64_t macs;
    CHECK(conv_common(g, n, &macs));
    cly_shape in = input_shape(g, n, 0);
    if (!PRODUCT(&n->weights, p->filters, in.c / p->groups, p->size.h, p->size.w))
        return overflow(g, n, "weight count K*(C/G)*FH*FW");
    n->biases = p->no_bias ? 0 : p->filters;
    return CLY_SUCCESS;
}

/* No sharing: one filter bank per output position. */
cly_status cly_infer_local(cly_graph *g, cly_node *n)
{
    const cly_conv_params *p = &n->layer.p.conv;
    int64_t macs;
    CHECK(conv_common(g, n, &macs));
    /* weights OH*OW*K*C*FH*FW = the multiply-adds per sample (groups is 1) */
    n->weights = macs;
    if (!PRODUCT(&n->biases, p->no_bias ? 0 : p->filters, n->out.h, n->out.w))
        return overflow(g, n, "bias count K*OH*OW");
    return CLY_SUCCESS;
}

cly_status cly_infer_pool(cly_graph *g, cly_node *n)
{
    const cly_pool_params *p = &n->layer.p.pool;
    cly_shape in = input_shape(g, n, 0);
    int64_t oh, ow;
    CHECK(windows(g, n, in, p->size, p->stride, p->pad, (cly_hw){1, 1}, p->rounding, CLY_WINDOW_POOL_FORM, &oh,
                  &ow));
    int64_t window;
    if (!PRODUCT(&window, p->size.h, p->size.w))
        return overflow(g, n, "window size");
    return set_output(g, n, (cly_shape){in.n, in.c, oh, ow}, window);
}

cly_status cly_infer_lrn(cly_graph *g, cly_node *n)
{
    return set_output(g, n, input_shape(g, n, 0), n->layer.p.lrn.size);
}

cly_status cly_infer_batchnorm(cly_graph *g, cly_node *n)
{
    cly_shape in = input_shape(g, n, 0);
    CHECK(set_output(g, n, in, 1));
    if (!PRODUCT(&n->biases, 2, in.c))
        return overflow(g, n, "scale and shift count");
    return CLY_SUCCESS;
}

/* The input is flattened in C, H, W order per sample. */
cly_status cly_infer_fc(cly_graph *g, cly_node *n)
{
    const cly_fc_params *p = &n->layer.p.fc;
    cly_shape in = input_shape(g, n, 0);
    int64_t flat;
    if (!PRODUCT(&flat, in.c, in.h, in.w) || !cly_mul_i64(flat, p->outputs, &n->weights))
        return overflow(g, n, "weight count O*C*H*W");
    CHECK(set_output(g, n, (cly_shape){in.n, p->outputs, 1, 1}, 0));
    if (!PRODUCT(&n->flops, 2, n->weights, in.n))
        return overflow(g, n, "FLOP count");
    n->biases = p->no_bias ? 0 : p->outputs;
    return CLY_SUCCESS;
}

/* Appends "NAME is C x H x W" for every input (the first 8) to msg. */
static void list_shapes(const cly_graph *g, const cly_node *n, char *msg, size_t size)
{
    size_t used = 0;
    msg[0] = '\0';
    for (size_t i = 0; i < n->layer.input_count && used < size; i++) {
        if (i == 8) {
            snprintf(msg + used, size - used, ", ...");
            break;
        }
        cly_shape s = input_shape(g, n, i);
        int k = snprintf(msg + used, size - used, "%s%s is %lld x %lld x %lld", i ? ", " : "", n->inputs[i],
                         (long long)s.c, (long long)s.h, (long long)s.w);
        used += k > 0 ? (size_t)k : 0;
    }
}

cly_status cly_infer_add(cly_graph *g, cly_node *n)
{
    cly_shape a = input_shape(g, n, 0);
    for (size_t i = 1; i < n->layer.input_count; i++) {
        cly_shape b = input_shape(g, n, i);
        if (b.c != a.c || b.h != a.h || b.w != a.w) {
            char msg[1200];
            list_shapes(g, n, msg, sizeof msg);
            return cly_node_fail(g, n, CLY_ERROR_SHAPE_MISMATCH, "add needs inputs of one shape: %s", msg);
        }
    }
    return set_output(g, n, a, (int64_t)n->layer.input_count - 1);
}

cly_status cly_infer_concat(cly_graph *g, cly_node *n)
{
    cly_shape a = input_shape(g, n, 0), out = a;
    for (size_t i = 1; i < n->layer.input_count; i++) {
        cly_shape b = input_shape(g, n, i);
        if (b.h != a.h || b.w != a.w) {
            char msg[1200];
            list_shapes(g, n, msg, sizeof msg);
            return cly_node_fail(g, n, CLY_ERROR_SHAPE_MISMATCH, "concat needs inputs of one height and width: %s",
                                 msg);
        }
        if (b.c > INT64_MAX - out.c) /* concats of concats can grow without bound */
            return overflow(g, n, "channel count");
        out.c += b.c;
    }
    return set_output(g, n, out, 0);
}

cly_status cly_infer_gap(cly_graph *g, cly_node *n)
{
    cly_shape in = input_shape(g, n, 0);
    CHECK(set_output(g, n, (cly_shape){in.n, in.c, 1, 1}, 0));
    if (!PRODUCT(&n->flops, in.n, in.c, in.h, in.w))
        return overflow(g, n, "FLOP count");
    return CLY_SUCCESS;
}

cly_status cly_check_adaptive(cly_layer *l)
{
    CHECK(check_int(l, "output.h", l->p.adaptive.output.h, 1, false));
    return check_int(l, "output.w", l->p.adaptive.output.w, 1, false);
}

/* PyTorch's bins: output row i averages rows floor(i*H/OH) .. ceil((i+1)*H/OH) - 1. */
static int64_t bin_sum(int64_t in, int64_t out)
{
    int64_t sum = 0;
    for (int64_t i = 0; i < out; i++)
        sum += ((i + 1) * in + out - 1) / out - i * in / out;
    return sum;
}

cly_status cly_infer_adaptive(cly_graph *g, cly_node *n)
{
    const cly_adaptive_pool_params *p = &n->layer.p.adaptive;
    cly_shape in = input_shape(g, n, 0);
    CHECK(set_output(g, n, (cly_shape){in.n, in.c, p->output.h, p->output.w}, 0));
    /* One addition per input value of every bin (bins may overlap). */
    if (!PRODUCT(&n->flops, in.n, in.c, bin_sum(in.h, p->output.h), bin_sum(in.w, p->output.w)))
        return overflow(g, n, "FLOP count");
    return CLY_SUCCESS;
}
