/* Naive host reference of every layer: plain loops, double accumulation. */
#include "reference.h"

#include <math.h>
#include <stdlib.h>

static int64_t at(cly_shape s, int64_t n, int64_t c, int64_t y, int64_t x)
{
    return ((n * s.c + c) * s.h + y) * s.w + x;
}

static void conv(const cly_node *node, cly_shape is, const double *x, const float *w, const float *b, double *y,
                 bool local)
{
    const cly_conv_params *p = &node->layer.p.conv;
    cly_shape os = node->out;
    int64_t sh = p->stride.h ? p->stride.h : 1, sw = p->stride.w ? p->stride.w : 1;
    int64_t dh = p->dilation.h ? p->dilation.h : 1, dw = p->dilation.w ? p->dilation.w : 1;
    int64_t G = p->groups ? p->groups : 1, cg = is.c / G, kg = os.c / G, fh = p->size.h, fw = p->size.w;
    for (int64_t n = 0; n < os.n; n++)
        for (int64_t k = 0; k < os.c; k++)
            for (int64_t oy = 0; oy < os.h; oy++)
                for (int64_t ox = 0; ox < os.w; ox++) {
                    int64_t pos = oy * os.w + ox;
                    double acc = 0;
                    if (b)
                        acc = local ? b[k * os.h * os.w + pos] : b[k];
                    int64_t g = k / kg;
                    for (int64_t c = 0; c < cg; c++)
                        for (int64_t i = 0; i < fh; i++)
                            for (int64_t j = 0; j < fw; j++) {
                                int64_t iy = oy * sh - p->pad.top + i * dh, ix = ox * sw - p->pad.left + j * dw;
                                if (iy < 0 || iy >= is.h || ix < 0 || ix >= is.w)
                                    continue;
                                double wv = local ? w[(((pos * os.c + k) * is.c + c) * fh + i) * fw + j]
                                                  : w[((k * cg + c) * fh + i) * fw + j];
                                acc += x[at(is, n, g * cg + c, iy, ix)] * wv;
                            }
                    if (p->relu && acc < 0)
                        acc = 0;
                    y[at(os, n, k, oy, ox)] = acc;
                }
}

static void pool(const cly_node *node, cly_shape is, const double *x, double *y)
{
    const cly_pool_params *p = &node->layer.p.pool;
    cly_shape os = node->out;
    int64_t sh = p->stride.h ? p->stride.h : 1, sw = p->stride.w ? p->stride.w : 1;
    for (int64_t n = 0; n < os.n; n++)
        for (int64_t c = 0; c < os.c; c++)
            for (int64_t oy = 0; oy < os.h; oy++)
                for (int64_t ox = 0; ox < os.w; ox++) {
                    /* PyTorch: the divisor counts the window within input +
                     * padding; exclude_pad counts only input cells. */
                    int64_t y0 = oy * sh - p->pad.top, x0 = ox * sw - p->pad.left;
                    int64_t y1 = y0 + p->size.h, x1 = x0 + p->size.w;
                    if (y1 > is.h + p->pad.bottom)
                        y1 = is.h + p->pad.bottom;
                    if (x1 > is.w + p->pad.right)
                        x1 = is.w + p->pad.right;
                    int64_t padded_cells = (y1 - y0) * (x1 - x0);
                    double acc = p->kind == CLY_POOL_MAX ? -INFINITY : 0;
                    int64_t cells = 0;
                    for (int64_t iy = y0 < 0 ? 0 : y0; iy < (y1 < is.h ? y1 : is.h); iy++)
                        for (int64_t ix = x0 < 0 ? 0 : x0; ix < (x1 < is.w ? x1 : is.w); ix++) {
                            double v = x[at(is, n, c, iy, ix)];
                            cells++;
                            if (p->kind == CLY_POOL_MAX)
                                acc = v > acc ? v : acc;
                            else if (p->kind == CLY_POOL_AVG)
                                acc += v;
                            else
                                acc += v * v;
                        }
                    if (p->kind == CLY_POOL_AVG)
                        acc /= (double)(p->avg_exclude_pad ? cells : padded_cells);
                    else if (p->kind == CLY_POOL_L2)
                        acc = sqrt(acc);
                    y[at(os, n, c, oy, ox)] = acc;
                }
}

static void lrn(const cly_lrn_params *p, cly_shape s, const double *x, double *y)
{
    double a = p->alpha_mode == CLY_LRN_ALPHA_RAW ? p->alpha : p->alpha / (double)p->size;
    for (int64_t n = 0; n < s.n; n++)
        for (int64_t c = 0; c < s.c; c++)
            for (int64_t i = 0; i < s.h * s.w; i++) {
                double sum = 0;
                for (int64_t q = c - p->size / 2; q <= c + (p->size - 1) / 2; q++)
                    if (q >= 0 && q < s.c) {
                        double v = x[(n * s.c + q) * s.h * s.w + i];
                        sum += v * v;
                    }
                int64_t o = (n * s.c + c) * s.h * s.w + i;
                y[o] = x[o] / pow(p->k + a * sum, p->beta);
            }
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
        lrn(&d->p.lrn, is, x, y);
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
        for (int64_t nc = 0; nc < os.n * os.c; nc++) {
            double acc = 0;
            for (int64_t i = 0; i < is.h * is.w; i++)
                acc += x[nc * is.h * is.w + i];
            y[nc] = acc / (double)(is.h * is.w);
        }
        break;
    case CLY_LAYER_ADAPTIVE_AVGPOOL: /* PyTorch's bins: floor(i*H/OH) .. ceil((i+1)*H/OH) - 1 */
        for (int64_t nc = 0; nc < os.n * os.c; nc++)
            for (int64_t i = 0; i < os.h; i++)
                for (int64_t j = 0; j < os.w; j++) {
                    int64_t h0 = i * is.h / os.h, h1 = ((i + 1) * is.h + os.h - 1) / os.h;
                    int64_t w0 = j * is.w / os.w, w1 = ((j + 1) * is.w + os.w - 1) / os.w;
                    double acc = 0;
                    for (int64_t r = h0; r < h1; r++)
                        for (int64_t c = w0; c < w1; c++)
                            acc += x[(nc * is.h + r) * is.w + c];
                    y[(nc * os.h + i) * os.w + j] = acc / (double)((h1 - h0) * (w1 - w0));
                }
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
