/* Naive host reference of every layer: plain loops, double accumulation.
 * Convolution, pooling, LRN and the average poolings are tests/ref's per-op
 * references; the rest are one-liners here. */
#include "reference.h"

#include "adaptive_pool_ref.h"
#include "conv_ref.h"
#include "lrn_ref.h"
#include "pool_ref.h"

#include <math.h>
#include <stdlib.h>

static void conv(const cly_node *node, cly_shape is, const double *x, const float *w, const float *b, double *y,
                 bool local)
{
    const cly_conv_params *p = &node->layer.p.conv;
    cly_shape os = node->out;
    ref_geom g = ref_geom_of_params(is, (cly_shape){os.c, is.c / (p->groups ? p->groups : 1), p->size.h, p->size.w},
                                    *p, os.h, os.w);
    if (local)
        ref_local_d(&g, x, w, b, y, NULL);
    else
        ref_conv_d(&g, x, w, b, y, NULL);
    if (p->relu)
        for (int64_t i = 0; i < os.n * os.c * os.h * os.w; i++)
            if (y[i] < 0)
                y[i] = 0;
}

static void pool(const cly_node *node, cly_shape is, const double *x, double *y)
{
    const cly_pool_params *p = &node->layer.p.pool;
    cly_shape os = node->out;
    cly_pool_geom g = {.n = is.n, .c = is.c, .h = is.h, .w = is.w, .fh = p->size.h, .fw = p->size.w,
                       .sh = p->stride.h ? p->stride.h : 1, .sw = p->stride.w ? p->stride.w : 1,
                       .pt = p->pad.top, .pb = p->pad.bottom, .pl = p->pad.left, .pr = p->pad.right,
                       .oh = os.h, .ow = os.w, .kind = p->kind, .exclude_pad = p->avg_exclude_pad};
    ref_pool_d(&g, x, y, NULL);
}

static void run(const cly_graph *g, size_t id, double **out, const float *const *inputs, const ref_params *params)
{
    const cly_node *node = &g->nodes[id];
    const cly_layer *d = &node->layer;
    const ref_params *P = &params[id];
    cly_shape os = node->out;
    int64_t count = node->activations;
    double *y = out[id];
    const double *x = d->input_count ? out[node->input_ids[0]] : NULL;
    cly_shape is = d->input_count ? g->nodes[node->input_ids[0]].out : os;
    int64_t hw = os.h * os.w;
    switch (d->type) {
    case CLY_LAYER_INPUT:
        for (int64_t i = 0; i < count; i++)
            y[i] = inputs[id][i];
        break;
    case CLY_LAYER_CONV:
    case CLY_LAYER_LOCAL:
        conv(node, is, x, P->p[0], d->p.conv.no_bias ? NULL : P->p[1], y, d->type == CLY_LAYER_LOCAL);
        break;
    case CLY_LAYER_RELU:
        for (int64_t i = 0; i < count; i++)
            y[i] = x[i] > 0 ? x[i] : 0;
        break;
    case CLY_LAYER_POOL:
        pool(node, is, x, y);
        break;
    case CLY_LAYER_LRN:
        ref_lrn_d(is, &d->p.lrn, x, y);
        break;
    case CLY_LAYER_BATCHNORM: {
        double eps = d->p.batchnorm.epsilon > 0 ? d->p.batchnorm.epsilon : 1e-5;
        for (int64_t i = 0; i < count; i++) {
            int64_t c = i / hw % os.c;
            y[i] = P->p[0][c] * (x[i] - P->p[2][c]) / sqrt((double)P->p[3][c] + eps) + P->p[1][c];
        }
        break;
    }
    case CLY_LAYER_FC: {
        int64_t in = is.c * is.h * is.w;
        for (int64_t n = 0; n < os.n; n++)
            for (int64_t o = 0; o < os.c; o++) {
                double acc = d->p.fc.no_bias ? 0 : P->p[1][o];
                for (int64_t i = 0; i < in; i++)
                    acc += x[n * in + i] * P->p[0][o * in + i];
                y[n * os.c + o] = d->p.fc.relu && acc < 0 ? 0 : acc;
            }
        break;
    }
    case CLY_LAYER_SOFTMAX:
        for (int64_t n = 0; n < os.n; n++)
            for (int64_t i = 0; i < hw; i++) {
                double m = -INFINITY, sum = 0;
                for (int64_t c = 0; c < os.c; c++)
                    m = fmax(m, x[(n * os.c + c) * hw + i]);
                for (int64_t c = 0; c < os.c; c++)
                    sum += exp(x[(n * os.c + c) * hw + i] - m);
                for (int64_t c = 0; c < os.c; c++)
                    y[(n * os.c + c) * hw + i] = exp(x[(n * os.c + c) * hw + i] - m) / sum;
            }
        break;
    case CLY_LAYER_DROPOUT:
        for (int64_t i = 0; i < count; i++)
            y[i] = x[i];
        break;
    case CLY_LAYER_ADD:
        for (int64_t i = 0; i < count; i++) {
            double acc = 0;
            for (size_t k = 0; k < d->input_count; k++)
                acc += out[node->input_ids[k]][i];
            y[i] = acc;
        }
        break;
    case CLY_LAYER_CONCAT: {
        int64_t c0 = 0;
        for (size_t k = 0; k < d->input_count; k++) {
            cly_shape ps = g->nodes[node->input_ids[k]].out;
            for (int64_t n = 0; n < ps.n; n++)
                for (int64_t i = 0; i < ps.c * hw; i++)
                    y[(n * os.c + c0) * hw + i] = out[node->input_ids[k]][n * ps.c * hw + i];
            c0 += ps.c;
        }
        break;
    }
    case CLY_LAYER_GLOBAL_AVGPOOL:
        ref_gap_d(is, x, y);
        break;
    case CLY_LAYER_ADAPTIVE_AVGPOOL: /* PyTorch's bins: floor(i*H/OH) .. ceil((i+1)*H/OH) - 1 */
        ref_adaptive_avgpool(os.n * os.c, is.h, is.w, os.h, os.w, x, y, NULL);
        break;
    case CLY_LAYER_TYPE_COUNT:
        break;
    }
}

double **ref_forward(const cly_graph *g, const float *const *inputs, const ref_params *params)
{
    double **out = calloc(g->count, sizeof *out);
    if (!out)
        return NULL;
    for (size_t i = 0; i < g->count; i++) {
        out[i] = calloc((size_t)g->nodes[i].activations, sizeof **out);
        if (!out[i])
            return NULL; /* tests abort on NULL; the leak is moot then */
    }
    for (size_t s = 0; s < g->count; s++)
        run(g, g->order[s], out, inputs, params);
    return out;
}
