/* Nets driven from outside (net_backward.c) and kept values in training:
 *   - kept: LeNet and the Fashion net in training mode with every layer
 *     kept. After cly_net_forward each kept value equals an inference net's
 *     with the same parameters; after cly_net_compute_gradients and
 *     cly_net_train_batch each equals what cly_net_forward_training (same
 *     masks, no backward yet) left, and for LeNet (no dropout or batch norm,
 *     so the training form is the inference form) the inference net's too.
 *     A layer neither output nor kept is refused in both modes.
 *   - caller gradients: L = sum_o sum_i w_o[i] y_o[i] with fixed random
 *     w_o, so dL/dy_o = w_o; parameter and input gradients from
 *     cly_net_backward against centered differences of L on a FLOAT64
 *     context (h = 1e-6; |a - n|/(|a| + |n|) <= 1e-6 or |a - n| <= 2e-9, kinks
 *     skipped as in test_train.c) for conv-relu-pool-fc and for a
 *     conv-batchnorm net with two FC heads.
 *   - the built-in loss's gradient at the scores fed back through
 *     cly_net_backward gives cly_net_compute_gradients's gradients bit for bit;
 *   - per-sample losses average to the batch loss; batch-norm batch
 *     statistics against a host computation; every bad argument refused. */
#include "net/net.h"
#include "test_util.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ADD(g, ...) ck_assert_msg(cly_graph_add((g), &(cly_layer){__VA_ARGS__}) == CLY_SUCCESS, "%s", \
                                  cly_last_error(NULL))
#define IN1(name) .inputs = (const char *const[]){name}, .input_count = 1
#define OK(ctx, call) ck_assert_msg((call) == CLY_SUCCESS, "%s", cly_last_error(ctx))
#define REFUSED(ctx, call, code, text)                                                                       \
    do {                                                                                                     \
        ck_assert_int_eq((call), (code));                                                                    \
        ck_assert_msg(strstr(cly_last_error(ctx), (text)), "'%s' lacks '%s'", cly_last_error(ctx), (text)); \
    } while (0)

static double uniform(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*s >> 11) / 9007199254740992.0 * 2 - 1;
}

static double *random_array(int64_t n, uint64_t seed)
{
    double *a = malloc((size_t)n * sizeof *a);
    for (int64_t i = 0; i < n; i++)
        a[i] = uniform(&seed);
    return a;
}

/* ---- kept values in training mode */

static cly_net *make_net(cly_context *ctx, cly_graph *g, cly_mode mode, int64_t batch, const char *const *keep,
                         size_t keep_count)
{
    cly_net *net;
    OK(ctx, cly_net_create(ctx, g, &(cly_net_options){.batch = batch, .mode = mode, .keep = keep,
                                                       .keep_count = keep_count},
                           &net));
    OK(ctx, cly_net_init_params(net, CLY_INIT_HE, 5));
    return net;
}

/* Every layer's output, concatenated in graph order. */
static float *read_all(cly_net *net, cly_graph *g, int64_t *total)
{
    int64_t sum = 0;
    for (size_t i = 0; i < g->count; i++)
        sum += g->nodes[i].activations;
    float *all = malloc((size_t)sum * sizeof *all), *p = all;
    for (size_t i = 0; i < g->count; i++) {
        OK(net->ctx, cly_net_get_output(net, g->nodes[i].name, p, g->nodes[i].activations));
        p += g->nodes[i].activations;
    }
    *total = sum;
    return all;
}

static void same_values(const float *a, const float *b, int64_t n, bool exact, const char *what)
{
    int64_t bad = 0;
    for (int64_t i = 0; i < n; i++)
        if (exact ? a[i] != b[i] : fabsf(a[i] - b[i]) > 1e-5f * (fabsf(a[i]) + fabsf(b[i])) + 1e-6f)
            bad++;
    ck_assert_msg(bad == 0, "%s: %lld of %lld kept values differ", what, (long long)bad, (long long)n);
}

static void kept_check(const char *name)
{
    enum { BATCH = 2 };
    cly_context *ctx = cly_test_context();
    cly_graph *gt, *gi;
    OK(NULL, cly_graph_builtin(name, &gt));
    OK(NULL, cly_graph_builtin(name, &gi));
    const char **keep = malloc(gt->count * sizeof *keep);
    for (size_t i = 0; i < gt->count; i++)
        keep[i] = gt->nodes[i].name;
    cly_net *train = make_net(ctx, gt, CLY_MODE_TRAINING, BATCH, keep, gt->count);
    cly_net *infer = make_net(ctx, gi, CLY_MODE_INFERENCE, BATCH, keep, gt->count);
    OK(ctx, cly_net_set_training(train, &(cly_train_params){.learning_rate = 0.01, .momentum = 0.9, .seed = 3}));
    const cly_node *data = &gt->nodes[gt->order[0]];
    int64_t nx = data->activations, total;
    float *x = malloc((size_t)nx * sizeof *x);
    uint64_t state = 7;
    cly_test_fill(x, (size_t)nx, 3, &state);
    OK(ctx, cly_net_set_input(train, data->name, x, nx));
    OK(ctx, cly_net_set_input(infer, data->name, x, nx));
    bool plain = strcmp(name, "lenet") == 0; /* no dropout or batch norm */

    OK(ctx, cly_net_forward(infer));
    float *ref = read_all(infer, gi, &total);
    OK(ctx, cly_net_forward(train));
    float *got = read_all(train, gt, &total);
    same_values(ref, got, total, false, "after cly_net_forward");
    free(got);

    OK(ctx, cly_net_forward_training(train));
    float *before = read_all(train, gt, &total);
    if (plain)
        same_values(ref, before, total, false, "after cly_net_forward_training");
    int32_t labels[BATCH] = {1, 7};
    double loss;
    OK(ctx, cly_net_compute_gradients(train, labels, BATCH, &loss));
    got = read_all(train, gt, &total);
    same_values(before, got, total, true, "after cly_net_compute_gradients");
    free(got);
    OK(ctx, cly_net_train_batch(train, labels, BATCH, &loss));
    got = read_all(train, gt, &total);
    same_values(before, got, total, true, "after cly_net_train_batch");
    if (plain)
        same_values(ref, got, total, false, "after cly_net_train_batch");
    free(got);
    free(before);
    free(ref);
    free(x);
    cly_net_destroy(train);
    cly_net_destroy(infer);

    /* Without keep: an interior layer is refused in both modes. */
    const char *interior = gt->nodes[gt->order[1]].name;
    int64_t count = gt->nodes[gt->order[1]].activations;
    float *dst = malloc((size_t)count * sizeof *dst);
    for (int mode = CLY_MODE_INFERENCE; mode <= CLY_MODE_TRAINING; mode++) {
        cly_net *net = make_net(ctx, gt, (cly_mode)mode, BATCH, NULL, 0);
        OK(ctx, cly_net_forward(net));
        REFUSED(ctx, cly_net_get_output(net, interior, dst, count), CLY_ERROR_INVALID_ARGUMENT, interior);
        ck_assert_ptr_nonnull(strstr(cly_last_error(ctx), "keep"));
        cly_net_destroy(net);
    }
    free(dst);
    free(keep);
    cly_graph_destroy(gt);
    cly_graph_destroy(gi);
    cly_context_destroy(ctx);
}

START_TEST(kept_values_lenet)
{
    kept_check("lenet");
}
END_TEST

START_TEST(kept_values_fashion)
{
    kept_check("fashion");
}
END_TEST

/* ---- caller-supplied gradients */

static cly_graph *small_net(void)
{
    cly_graph *g;
    ck_assert(cly_graph_create(&g) == CLY_SUCCESS);
    ck_assert(cly_graph_input(g, "data", 2, 8, 8) == CLY_SUCCESS);
    ADD(g, .type = CLY_LAYER_CONV, .name = "conv", IN1("data"), .p.conv = {.filters = 3, .size = {3, 3}, .pad = CLY_PAD(1)});
    ADD(g, .type = CLY_LAYER_RELU, .name = "relu", IN1("conv"));
    ADD(g, .type = CLY_LAYER_POOL, .name = "pool", IN1("relu"),
        .p.pool = {.kind = CLY_POOL_MAX, .size = {2, 2}, .stride = {2, 2}});
    ADD(g, .type = CLY_LAYER_FC, .name = "fc", IN1("pool"), .p.fc = {.outputs = 5});
    return g;
}

static cly_graph *two_heads(void)
{
    cly_graph *g;
    ck_assert(cly_graph_create(&g) == CLY_SUCCESS);
    ck_assert(cly_graph_input(g, "data", 2, 6, 6) == CLY_SUCCESS);
    ADD(g, .type = CLY_LAYER_CONV, .name = "conv", IN1("data"), .p.conv = {.filters = 4, .size = {3, 3}, .pad = CLY_PAD(1), .no_bias = true});
    ADD(g, .type = CLY_LAYER_BATCHNORM, .name = "bn", IN1("conv"));
    ADD(g, .type = CLY_LAYER_RELU, .name = "relu", IN1("bn"));
    ADD(g, .type = CLY_LAYER_FC, .name = "head1", IN1("relu"), .p.fc = {.outputs = 3});
    ADD(g, .type = CLY_LAYER_FC, .name = "head2", IN1("relu"), .p.fc = {.outputs = 2});
    return g;
}

typedef struct driven {
    cly_context *ctx;
    cly_graph *g;
    cly_net *net;
    int64_t nx;
    double *x;
    size_t heads;
    const char *head[3]; /* the outputs, then a kept layer */
    int64_t ny[3];
    double *w[3]; /* L = sum w . y per head */
} driven;

static bool driven_start(driven *d, cly_graph *(*build)(void), int64_t batch, bool fp64, const char *kept)
{
    cly_status s = cly_context_create_ex(
        &(cly_context_options){.precision = fp64 ? CLY_PRECISION_FLOAT64 : CLY_PRECISION_FLOAT32}, &d->ctx);
    if (s == CLY_ERROR_UNSUPPORTED && fp64) {
        fprintf(stderr, "skipped: %s\n", cly_last_error(NULL));
        return false;
    }
    ck_assert_msg(s == CLY_SUCCESS, "%s", cly_last_error(NULL));
    d->g = build();
    /* Created in training mode, never given cly_net_set_training. */
    OK(d->ctx, cly_net_create(d->ctx, d->g,
                              &(cly_net_options){.batch = batch, .mode = CLY_MODE_TRAINING, .keep = &kept,
                                                 .keep_count = kept ? 1 : 0},
                              &d->net));
    OK(d->ctx, cly_net_init_params(d->net, CLY_INIT_XAVIER, 3));
    for (size_t i = 0; i < d->g->count; i++) {
        int64_t n = d->net->layers[i].param_count[CLY_PARAM_BIAS];
        if (n && d->g->nodes[i].layer.type != CLY_LAYER_BATCHNORM) {
            double *b = random_array(n, 11 + i);
            OK(d->ctx, cly_net_set_param_f64(d->net, d->g->nodes[i].name, CLY_PARAM_BIAS, b, n));
            free(b);
        }
    }
    d->nx = cly_net_find_node(d->g, "data")->activations;
    d->x = random_array(d->nx, 77);
    OK(d->ctx, cly_net_set_input_f64(d->net, "data", d->x, d->nx));
    d->heads = 0;
    for (size_t i = 0; i < d->g->count; i++)
        if (d->g->nodes[i].consumers == 0) {
            d->head[d->heads] = d->g->nodes[i].name;
            d->ny[d->heads] = d->g->nodes[i].activations;
            d->w[d->heads] = random_array(d->ny[d->heads], 5 + d->heads);
            d->heads++;
        }
    if (kept) { /* an interior loss term: its gradient adds to what flows back */
        d->head[d->heads] = kept;
        d->ny[d->heads] = cly_net_find_node(d->g, kept)->activations;
        d->w[d->heads] = random_array(d->ny[d->heads], 5 + d->heads);
        d->heads++;
    }
    return true;
}

static void driven_finish(driven *d)
{
    for (size_t h = 0; h < d->heads; h++)
        free(d->w[h]);
    free(d->x);
    cly_net_destroy(d->net);
    cly_graph_destroy(d->g);
    cly_context_destroy(d->ctx);
}

/* L at the current parameters and input, from a training forward. */
static double driven_loss(driven *d)
{
    OK(d->ctx, cly_net_forward_training(d->net));
    double L = 0;
    for (size_t h = 0; h < d->heads; h++) {
        double *y = malloc((size_t)d->ny[h] * sizeof *y);
        OK(d->ctx, cly_net_get_output_f64(d->net, d->head[h], y, d->ny[h]));
        for (int64_t i = 0; i < d->ny[h]; i++)
            L += d->w[h][i] * y[i];
        free(y);
    }
    return L;
}

static void driven_backward(driven *d)
{
    OK(d->ctx, cly_net_forward_training(d->net));
    for (size_t h = 0; h < d->heads; h++)
        OK(d->ctx, cly_net_set_output_gradient_f64(d->net, d->head[h], d->w[h], d->ny[h]));
    OK(d->ctx, cly_net_backward(d->net));
}

typedef struct tally {
    int checked, failed, kinks;
    double largest;
} tally;

static void judge(tally *t, double a, double up, double mid, double down, double h, const char *what, int64_t i)
{
    double n = (up - down) / (2 * h), diff = fabs(a - n), rel = diff / (fabs(a) + fabs(n) + 1e-30);
    t->checked++;
    if (fabs(n) > t->largest)
        t->largest = fabs(n);
    if (rel <= 1e-6 || diff <= 2e-9)
        return;
    double right = (up - mid) / h, left = (mid - down) / h;
    if (fabs(right - left) > 1e-3 * (fabs(right) + fabs(left)) + 1e-6) {
        t->kinks++;
        return;
    }
    t->failed++;
    fprintf(stderr, "  %s[%lld]: analytic %.12g numeric %.12g (rel %.3g)\n", what, (long long)i, a, n, rel);
}

static void caller_gradient_check(cly_graph *(*build)(void), int64_t batch, const char *kept)
{
    driven d;
    if (!driven_start(&d, build, batch, true, kept))
        return;
    const double h = 1e-6;
    tally t = {0};
    for (size_t id = 0; id < d.g->count; id++) {
        const cly_node *node = &d.g->nodes[id];
        for (int kind = CLY_PARAM_WEIGHTS; kind <= CLY_PARAM_BIAS; kind++) {
            int64_t n = d.net->layers[id].param_count[kind];
            if (!n)
                continue;
            double *p = malloc((size_t)n * sizeof *p), *grad = malloc((size_t)n * sizeof *grad);
            OK(d.ctx, cly_net_get_param_f64(d.net, node->name, kind, p, n));
            driven_backward(&d);
            OK(d.ctx, cly_net_get_gradient_f64(d.net, node->name, kind, grad, n));
            double mid = driven_loss(&d);
            for (int64_t i = 0; i < n; i += n > 16 ? n / 16 : 1) {
                double keep = p[i];
                p[i] = keep + h;
                OK(d.ctx, cly_net_set_param_f64(d.net, node->name, kind, p, n));
                double up = driven_loss(&d);
                p[i] = keep - h;
                OK(d.ctx, cly_net_set_param_f64(d.net, node->name, kind, p, n));
                double down = driven_loss(&d);
                p[i] = keep;
                OK(d.ctx, cly_net_set_param_f64(d.net, node->name, kind, p, n));
                judge(&t, grad[i], up, mid, down, h, node->name, i);
            }
            free(p);
            free(grad);
        }
    }
    double *grad = malloc((size_t)d.nx * sizeof *grad);
    driven_backward(&d);
    OK(d.ctx, cly_net_get_input_gradient_f64(d.net, "data", grad, d.nx));
    double mid = driven_loss(&d);
    for (int64_t i = 0; i < d.nx; i += d.nx > 32 ? d.nx / 32 : 1) {
        double keep = d.x[i];
        d.x[i] = keep + h;
        OK(d.ctx, cly_net_set_input_f64(d.net, "data", d.x, d.nx));
        double up = driven_loss(&d);
        d.x[i] = keep - h;
        OK(d.ctx, cly_net_set_input_f64(d.net, "data", d.x, d.nx));
        double down = driven_loss(&d);
        d.x[i] = keep;
        OK(d.ctx, cly_net_set_input_f64(d.net, "data", d.x, d.nx));
        judge(&t, grad[i], up, mid, down, h, "data", i);
    }
    free(grad);
    fprintf(stderr, "caller gradient check (%zu heads): %d entries (largest |gradient| %.3g), %d failed, %d kinks\n",
            d.heads, t.checked, t.largest, t.failed, t.kinks);
    ck_assert_double_gt(t.largest, 3e-2);
    ck_assert_int_gt(t.checked, 20);
    ck_assert_msg(t.failed == 0, "%d of %d entries outside 1e-6", t.failed, t.checked);
    ck_assert_msg(t.kinks * 20 <= t.checked, "%d of %d entries on kinks", t.kinks, t.checked);
    driven_finish(&d);
}

START_TEST(caller_gradient_conv_relu_pool_fc)
{
    caller_gradient_check(small_net, 2, NULL);
}
END_TEST

START_TEST(caller_gradient_batchnorm_two_heads)
{
    caller_gradient_check(two_heads, 3, NULL);
    caller_gradient_check(two_heads, 3, "relu"); /* a kept layer's gradient too */
}
END_TEST

/* Only one head given a gradient: the other contributes nothing, so the
 * result equals that of a loss on the first head alone. */
START_TEST(one_head_of_two)
{
    driven d;
    ck_assert(driven_start(&d, two_heads, 3, false, NULL));
    int64_t n;
    OK(d.ctx, cly_net_param_count(d.net, "conv", CLY_PARAM_WEIGHTS, &n));
    float *a = malloc((size_t)n * sizeof *a), *b = malloc((size_t)n * sizeof *b);
    float *w0 = malloc((size_t)d.ny[0] * sizeof *w0), *zero = calloc((size_t)d.ny[1], sizeof *zero);
    for (int64_t i = 0; i < d.ny[0]; i++)
        w0[i] = (float)d.w[0][i];
    OK(d.ctx, cly_net_forward_training(d.net));
    OK(d.ctx, cly_net_set_output_gradient(d.net, d.head[0], w0, d.ny[0]));
    OK(d.ctx, cly_net_backward(d.net));
    OK(d.ctx, cly_net_get_gradient(d.net, "conv", CLY_PARAM_WEIGHTS, a, n));
    REFUSED(d.ctx, cly_net_get_output_gradient(d.net, d.head[1], b, d.ny[1]), CLY_ERROR_INVALID_ARGUMENT, d.head[1]);
    OK(d.ctx, cly_net_forward_training(d.net));
    OK(d.ctx, cly_net_set_output_gradient(d.net, d.head[0], w0, d.ny[0]));
    OK(d.ctx, cly_net_set_output_gradient(d.net, d.head[1], zero, d.ny[1]));
    OK(d.ctx, cly_net_backward(d.net));
    OK(d.ctx, cly_net_get_gradient(d.net, "conv", CLY_PARAM_WEIGHTS, b, n));
    double largest = 0;
    for (int64_t i = 0; i < n; i++) {
        ck_assert_msg(fabsf(a[i] - b[i]) <= 1e-6f * (fabsf(a[i]) + 1), "conv.w[%lld]: %g vs %g", (long long)i, a[i],
                      b[i]);
        largest = fmax(largest, fabs(a[i]));
    }
    ck_assert_double_gt(largest, 1e-3);
    free(a);
    free(b);
    free(w0);
    free(zero);
    driven_finish(&d);
}
END_TEST

/* The built-in loss's gradient at the scores, fed back through
 * cly_net_backward, reproduces cly_net_compute_gradients bit for bit. */
START_TEST(builtin_loss_gradient_replayed)
{
    enum { BATCH = 3 };
    cly_context *ctx = cly_test_context();
    cly_graph *g = small_net();
    cly_net *net;
    OK(ctx, cly_net_create(ctx, g, &(cly_net_options){.batch = BATCH, .mode = CLY_MODE_TRAINING}, &net));
    OK(ctx, cly_net_init_params(net, CLY_INIT_HE, 4));
    OK(ctx, cly_net_set_training(net, &(cly_train_params){.learning_rate = 0.1, .seed = 1}));
    int64_t nx = cly_net_find_node(g, "data")->activations, ns = cly_net_find_node(g, "fc")->activations;
    float *x = malloc((size_t)nx * sizeof *x), *ds = malloc((size_t)ns * sizeof *ds);
    uint64_t state = 3;
    cly_test_fill(x, (size_t)nx, 4, &state);
    OK(ctx, cly_net_set_input(net, "data", x, nx));
    int32_t labels[BATCH] = {0, 4, 2};
    double loss;
    OK(ctx, cly_net_compute_gradients(net, labels, BATCH, &loss));
    OK(ctx, cly_net_get_output_gradient(net, "fc", ds, ns));
    const char *layers[] = {"conv", "fc"};
    float *want[2][2], *got[2][2];
    int64_t count[2][2];
    for (int l = 0; l < 2; l++)
        for (int k = 0; k < 2; k++) {
            OK(ctx, cly_net_param_count(net, layers[l], (cly_param_kind)k, &count[l][k]));
            want[l][k] = malloc((size_t)count[l][k] * sizeof(float));
            got[l][k] = malloc((size_t)count[l][k] * sizeof(float));
            OK(ctx, cly_net_get_gradient(net, layers[l], (cly_param_kind)k, want[l][k], count[l][k]));
        }
    float *dx_want = malloc((size_t)nx * sizeof *dx_want), *dx_got = malloc((size_t)nx * sizeof *dx_got);
    OK(ctx, cly_net_get_input_gradient(net, "data", dx_want, nx));

    OK(ctx, cly_net_forward_training(net));
    OK(ctx, cly_net_set_output_gradient(net, "fc", ds, ns));
    OK(ctx, cly_net_backward(net));
    for (int l = 0; l < 2; l++)
        for (int k = 0; k < 2; k++) {
            OK(ctx, cly_net_get_gradient(net, layers[l], (cly_param_kind)k, got[l][k], count[l][k]));
            ck_assert_msg(memcmp(want[l][k], got[l][k], (size_t)count[l][k] * sizeof(float)) == 0,
                          "%s kind %d gradients differ", layers[l], k);
            free(want[l][k]);
            free(got[l][k]);
        }
    OK(ctx, cly_net_get_input_gradient(net, "data", dx_got, nx));
    ck_assert(memcmp(dx_want, dx_got, (size_t)nx * sizeof(float)) == 0);

    /* And an update from those gradients equals cly_net_train_batch's. */
    cly_graph *g2 = small_net();
    cly_net *twin;
    OK(ctx, cly_net_create(ctx, g2, &(cly_net_options){.batch = BATCH, .mode = CLY_MODE_TRAINING}, &twin));
    OK(ctx, cly_net_init_params(twin, CLY_INIT_HE, 4));
    OK(ctx, cly_net_set_training(twin, &(cly_train_params){.learning_rate = 0.1, .seed = 1}));
    OK(ctx, cly_net_set_input(twin, "data", x, nx));
    OK(ctx, cly_net_train_batch(twin, labels, BATCH, &loss));
    OK(ctx, cly_net_update(net));
    ck_assert_int_eq(cly_net_updates(net), 1);
    for (int l = 0; l < 2; l++) {
        int64_t n = count[l][0];
        float *a = malloc((size_t)n * sizeof *a), *b = malloc((size_t)n * sizeof *b);
        OK(ctx, cly_net_get_param(net, layers[l], CLY_PARAM_WEIGHTS, a, n));
        OK(ctx, cly_net_get_param(twin, layers[l], CLY_PARAM_WEIGHTS, b, n));
        ck_assert_msg(memcmp(a, b, (size_t)n * sizeof *a) == 0, "%s weights after the update differ", layers[l]);
        free(a);
        free(b);
    }
    REFUSED(ctx, cly_net_update(net), CLY_ERROR_INVALID_ARGUMENT, "no gradients since the last update");
    free(x);
    free(ds);
    free(dx_want);
    free(dx_got);
    cly_net_destroy(twin);
    cly_graph_destroy(g2);
    cly_net_destroy(net);
    cly_graph_destroy(g);
    cly_context_destroy(ctx);
}
END_TEST

/* ---- losses and batch statistics */

START_TEST(losses_average_to_the_batch_loss)
{
    enum { BATCH = 4 };
    cly_context *ctx = cly_test_context();
    for (int loss_kind = CLY_LOSS_SOFTMAX_XENT; loss_kind <= CLY_LOSS_SVM; loss_kind++) {
        cly_graph *g = small_net();
        cly_net *net;
        OK(ctx, cly_net_create(ctx, g, &(cly_net_options){.batch = BATCH, .mode = CLY_MODE_TRAINING}, &net));
        OK(ctx, cly_net_init_params(net, CLY_INIT_HE, 2));
        OK(ctx, cly_net_set_training(net, &(cly_train_params){.learning_rate = 0.1, .loss = (cly_loss)loss_kind}));
        int64_t nx = cly_net_find_node(g, "data")->activations;
        float *x = malloc((size_t)nx * sizeof *x), losses[BATCH];
        double losses64[BATCH];
        uint64_t state = 9;
        cly_test_fill(x, (size_t)nx, 4, &state);
        OK(ctx, cly_net_set_input(net, "data", x, nx));
        REFUSED(ctx, cly_net_get_losses(net, losses, BATCH), CLY_ERROR_INVALID_ARGUMENT, "no losses");
        int32_t labels[BATCH] = {0, 1, 2, 3};
        double loss;
        for (int call = 0; call < 2; call++) {
            if (call == 0)
                OK(ctx, cly_net_compute_gradients(net, labels, BATCH, &loss));
            else
                OK(ctx, cly_net_train_batch(net, labels, BATCH, &loss));
            OK(ctx, cly_net_get_losses(net, losses, BATCH));
            OK(ctx, cly_net_get_losses_f64(net, losses64, BATCH));
            double sum = 0;
            for (int i = 0; i < BATCH; i++) {
                ck_assert(losses[i] == (float)losses64[i]);
                ck_assert(losses64[i] >= 0);
                sum += losses64[i];
            }
            ck_assert_msg(fabs(sum / BATCH - loss) <= 1e-12 * fabs(loss), "mean %.17g vs loss %.17g", sum / BATCH, loss);
        }
        REFUSED(ctx, cly_net_get_losses(net, losses, BATCH - 1), CLY_ERROR_SHAPE_MISMATCH, "4 losses, not 3");
        OK(ctx, cly_net_forward(net));
        REFUSED(ctx, cly_net_get_losses(net, losses, BATCH), CLY_ERROR_INVALID_ARGUMENT, "no losses");
        free(x);
        cly_net_destroy(net);
        cly_graph_destroy(g);
    }
    cly_context_destroy(ctx);
}
END_TEST

START_TEST(batch_stats_against_host)
{
    driven d;
    ck_assert(driven_start(&d, two_heads, 3, false, NULL));
    const cly_node *conv = cly_net_find_node(d.g, "conv");
    int64_t c = conv->out.c, hw = conv->out.h * conv->out.w, n = conv->activations;
    float *y = malloc((size_t)n * sizeof *y), *mean = malloc((size_t)c * sizeof *mean);
    float *var = malloc((size_t)c * sizeof *var);
    REFUSED(d.ctx, cly_net_get_batch_stats(d.net, "bn", mean, var, c), CLY_ERROR_INVALID_ARGUMENT,
            "no batch statistics");
    OK(d.ctx, cly_net_forward_training(d.net));
    /* The host statistics come from bn's input, read from a twin net (same
     * parameters and input) that keeps conv; both nets must agree with it. */
    cly_graph *g2 = two_heads();
    cly_net *k;
    OK(d.ctx, cly_net_create(d.ctx, g2,
                             &(cly_net_options){.batch = 3, .mode = CLY_MODE_TRAINING,
                                                .keep = (const char *const[]){"conv"}, .keep_count = 1},
                             &k));
    OK(d.ctx, cly_net_init_params(k, CLY_INIT_XAVIER, 3));
    OK(d.ctx, cly_net_set_input_f64(k, "data", d.x, d.nx));
    OK(d.ctx, cly_net_forward_training(k));
    OK(d.ctx, cly_net_get_output(k, "conv", y, n));
    for (int net_i = 0; net_i < 2; net_i++) {
        OK(d.ctx, cly_net_get_batch_stats(net_i ? k : d.net, "bn", mean, var, c));
        for (int64_t ch = 0; ch < c; ch++) {
            double s = 0, q = 0;
            int64_t m = conv->out.n * hw;
            for (int64_t b = 0; b < conv->out.n; b++)
                for (int64_t p = 0; p < hw; p++)
                    s += y[(b * c + ch) * hw + p];
            double mu = s / (double)m;
            for (int64_t b = 0; b < conv->out.n; b++)
                for (int64_t p = 0; p < hw; p++) {
                    double e = y[(b * c + ch) * hw + p] - mu;
                    q += e * e;
                }
            double v = q / (double)m;
            ck_assert_msg(fabs(mean[ch] - mu) <= 1e-5 * (fabs(mu) + 1e-3), "mean[%lld] %.9g vs %.9g", (long long)ch,
                          mean[ch], mu);
            ck_assert_msg(fabs(var[ch] - v) <= 1e-5 * v, "var[%lld] %.9g vs %.9g", (long long)ch, var[ch], v);
            ck_assert_double_gt(v, 1e-3);
        }
    }
    double m64[4], v64[4];
    OK(d.ctx, cly_net_get_batch_stats_f64(k, "bn", m64, v64, c));
    ck_assert(m64[0] == (double)mean[0] && v64[0] == (double)var[0]);
    REFUSED(d.ctx, cly_net_get_batch_stats(k, "relu", mean, var, c), CLY_ERROR_INVALID_ARGUMENT, "not batchnorm");
    REFUSED(d.ctx, cly_net_get_batch_stats(k, "bn", mean, var, c + 1), CLY_ERROR_SHAPE_MISMATCH, "4 channels, not 5");
    REFUSED(d.ctx, cly_net_get_batch_stats(k, "bn", NULL, var, c), CLY_ERROR_INVALID_ARGUMENT, "NULL");
    REFUSED(d.ctx, cly_net_get_batch_stats(k, "nope", mean, var, c), CLY_ERROR_INVALID_ARGUMENT, "nope");
    cly_net_destroy(k);
    cly_graph_destroy(g2);
    free(y);
    free(mean);
    free(var);
    driven_finish(&d);
}
END_TEST

/* ---- refusals */

START_TEST(bad_arguments)
{
    driven d;
    ck_assert(driven_start(&d, two_heads, 3, false, NULL));
    cly_context *ctx = d.ctx;
    cly_net *net = d.net;
    int64_t ny = d.ny[0];
    float *dy = calloc((size_t)ny + 1, sizeof *dy), buf[64];

    REFUSED(NULL, cly_net_forward_training(NULL), CLY_ERROR_INVALID_ARGUMENT, "NULL");
    REFUSED(NULL, cly_net_backward(NULL), CLY_ERROR_INVALID_ARGUMENT, "NULL");
    REFUSED(NULL, cly_net_update(NULL), CLY_ERROR_INVALID_ARGUMENT, "NULL");
    REFUSED(NULL, cly_net_set_output_gradient(NULL, "head1", dy, ny), CLY_ERROR_INVALID_ARGUMENT, "NULL");
    REFUSED(NULL, cly_net_get_losses(NULL, buf, 3), CLY_ERROR_INVALID_ARGUMENT, "NULL");
    REFUSED(ctx, cly_net_set_output_gradient(net, "head1", NULL, ny), CLY_ERROR_INVALID_ARGUMENT, "head1");
    REFUSED(ctx, cly_net_set_output_gradient(net, "nope", dy, ny), CLY_ERROR_INVALID_ARGUMENT, "'nope'");
    REFUSED(ctx, cly_net_set_output_gradient(net, NULL, dy, ny), CLY_ERROR_INVALID_ARGUMENT, "(null)");
    REFUSED(ctx, cly_net_set_output_gradient(net, "relu", dy, ny), CLY_ERROR_INVALID_ARGUMENT,
            "'relu' is neither a graph output nor a kept layer");
    REFUSED(ctx, cly_net_set_output_gradient(net, "head1", dy, ny + 1), CLY_ERROR_SHAPE_MISMATCH, "holds 9 values");

    /* Backward before any training forward; then with no gradient set. */
    REFUSED(ctx, cly_net_backward(net), CLY_ERROR_INVALID_ARGUMENT, "cly_net_forward_training first");
    OK(ctx, cly_net_forward_training(net));
    REFUSED(ctx, cly_net_backward(net), CLY_ERROR_INVALID_ARGUMENT, "no output gradient set");
    REFUSED(ctx, cly_net_get_input_gradient(net, "data", buf, 1), CLY_ERROR_SHAPE_MISMATCH, "not 1");
    float *dx = malloc((size_t)d.nx * sizeof *dx);
    REFUSED(ctx, cly_net_get_input_gradient(net, "data", dx, d.nx), CLY_ERROR_INVALID_ARGUMENT, "no input gradients");
    OK(ctx, cly_net_set_output_gradient(net, "head1", dy, ny));
    OK(ctx, cly_net_backward(net));
    OK(ctx, cly_net_get_input_gradient(net, "data", dx, d.nx));
    /* One backward per forward. */
    OK(ctx, cly_net_set_output_gradient(net, "head1", dy, ny));
    REFUSED(ctx, cly_net_backward(net), CLY_ERROR_INVALID_ARGUMENT, "used up its values");
    OK(ctx, cly_net_forward(net));
    REFUSED(ctx, cly_net_backward(net), CLY_ERROR_INVALID_ARGUMENT, "cly_net_forward_training first");
    REFUSED(ctx, cly_net_get_input_gradient(net, "data", dx, d.nx), CLY_ERROR_INVALID_ARGUMENT, "no input gradients");
    /* No optimiser and no built-in loss on two heads without scores. */
    REFUSED(ctx, cly_net_update(net), CLY_ERROR_INVALID_ARGUMENT, "cly_net_set_training first");
    OK(ctx, cly_net_set_training(net, &(cly_train_params){.learning_rate = 0.1}));
    int32_t labels[3] = {0, 1, 2};
    REFUSED(ctx, cly_net_train_batch(net, labels, 3, NULL), CLY_ERROR_INVALID_ARGUMENT,
            "the graph has 2 outputs; name the scores layer");
    OK(ctx, cly_net_set_training(net, &(cly_train_params){.learning_rate = 0.1, .scores = "head1"}));
    OK(ctx, cly_net_train_batch(net, labels, 3, NULL));
    REFUSED(ctx, cly_net_get_output_gradient(net, "head2", buf, d.ny[1]), CLY_ERROR_INVALID_ARGUMENT,
            "no gradient reached 'head2'");
    OK(ctx, cly_net_get_output_gradient(net, "head1", buf, ny));
    /* train_batch computes no input gradient. */
    REFUSED(ctx, cly_net_get_input_gradient(net, "data", dx, d.nx), CLY_ERROR_INVALID_ARGUMENT, "no input gradients");
    free(dx);

    /* An inference net refuses every call. */
    cly_graph *g2 = two_heads();
    cly_net *inf;
    OK(ctx, cly_net_create(ctx, g2, &(cly_net_options){.batch = 3}, &inf));
    REFUSED(ctx, cly_net_forward_training(inf), CLY_ERROR_INVALID_ARGUMENT, "CLY_MODE_TRAINING");
    REFUSED(ctx, cly_net_set_output_gradient(inf, "head1", dy, ny), CLY_ERROR_INVALID_ARGUMENT, "CLY_MODE_TRAINING");
    REFUSED(ctx, cly_net_backward(inf), CLY_ERROR_INVALID_ARGUMENT, "CLY_MODE_TRAINING");
    REFUSED(ctx, cly_net_update(inf), CLY_ERROR_INVALID_ARGUMENT, "CLY_MODE_TRAINING");
    REFUSED(ctx, cly_net_get_losses(inf, buf, 3), CLY_ERROR_INVALID_ARGUMENT, "CLY_MODE_TRAINING");
    REFUSED(ctx, cly_net_get_batch_stats(inf, "bn", buf, buf, 4), CLY_ERROR_INVALID_ARGUMENT, "CLY_MODE_TRAINING");
    REFUSED(ctx, cly_net_get_output_gradient(inf, "head1", buf, ny), CLY_ERROR_INVALID_ARGUMENT, "CLY_MODE_TRAINING");
    cly_net_destroy(inf);
    cly_graph_destroy(g2);
    free(dy);
    driven_finish(&d);
}
END_TEST

int main(void)
{
    cly_test_require_device();
    Suite *s = suite_create("net_backward");
    TCase *tc = tcase_create("backward");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, kept_values_lenet);
    tcase_add_test(tc, kept_values_fashion);
    tcase_add_test(tc, caller_gradient_conv_relu_pool_fc);
    tcase_add_test(tc, caller_gradient_batchnorm_two_heads);
    tcase_add_test(tc, one_head_of_two);
    tcase_add_test(tc, builtin_loss_gradient_replayed);
    tcase_add_test(tc, losses_average_to_the_batch_loss);
    tcase_add_test(tc, batch_stats_against_host);
    tcase_add_test(tc, bad_arguments);
    suite_add_tcase(s, tc);
    return cly_test_run(s, true);
}
