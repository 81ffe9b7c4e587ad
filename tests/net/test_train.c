/* Training through the net API: centered finite-difference checks of the
 * loss gradient with respect to parameters and inputs for small composed
 * nets (conv-relu-pool-fc-softmax, a residual block with batch norm, an
 * inception branch, LRN/avg/L2/local/dropout, strided, dilated, grouped and
 * 1x1 convolutions with a softmax inside), bit-identical gradients across
 * runs, and a short training run whose loss falls and accuracy rises.
 *
 * Every check runs twice. In double precision (a FLOAT64 context: every
 * kernel and CLBlast's DGEMM in double) with step h = 1e-6: truncation
 * O(h^2) and rounding eps*|L|/h = 1e-16/1e-6 are both far below the bound,
 * so every entry must satisfy |a - n|/(|a| + |n|) <= 1e-6, or |a - n| <=
 * 2e-9 (the difference's rounding noise, a few eps*|L|/h, which decides
 * for gradients at or near zero), away from kinks. An entry sits on a
 * kink (a ReLU zero or a max switch crossed by the step) when its one-sided
 * differences (L(+h) - L)/h and (L - L(-h))/h disagree by more than smooth
 * curvature explains; those are counted and skipped, at most 5% of them.
 * Each conv runs with the algorithm AUTO picks, then with the direct
 * kernels, then through im2col and GEMM.
 *
 * In float32 the device computes the loss in float, so a centered
 * difference with step h = 1e-3 carries rounding noise of about eps*|L|/h
 * (1e-7/1e-3 = 1e-4) besides the O(h^2) truncation, and a step can cross a
 * ReLU or max-pooling kink (after batch norm, ReLU inputs crowd around 0).
 * An entry passes when |a - n|/(|a| + |n|) <= 5e-2 or |a - n| <= 3e-4; at
 * most 10% of the sampled entries may fail. Wiring faults (a lost path, a
 * gradient written instead of summed) move whole arrays by far more; each
 * op's own backward is checked exactly or tightly in tests/kernels (*_bwd.c) and
 * test_conv_backward.c. */
#include "net/net.h"
#include "test_util.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ADD(g, ...) ck_assert_msg(cly_graph_add((g), &(cly_layer){__VA_ARGS__}) == CLY_SUCCESS, "%s", \
                                  cly_last_error(NULL))
#define IN1(name) .inputs = (const char *const[]){name}, .input_count = 1

static cly_graph *conv_stack(void)
{
    cly_graph *g;
    ck_assert(cly_graph_create(&g) == CLY_SUCCESS);
    ck_assert(cly_graph_input(g, "data", 2, 9, 9) == CLY_SUCCESS);
    ADD(g, .type = CLY_LAYER_CONV, .name = "conv1", IN1("data"), .p.conv = {.filters = 4, .size = {3, 3}, .pad = CLY_PAD(1)});
    ADD(g, .type = CLY_LAYER_RELU, .name = "relu1", IN1("conv1"));
    ADD(g, .type = CLY_LAYER_POOL, .name = "pool1", IN1("relu1"),
        .p.pool = {.kind = CLY_POOL_MAX, .size = {3, 3}, .stride = {2, 2}});
    ADD(g, .type = CLY_LAYER_FC, .name = "fc1", IN1("pool1"), .p.fc = {.outputs = 6, .relu = true});
    ADD(g, .type = CLY_LAYER_FC, .name = "fc2", IN1("fc1"), .p.fc = {.outputs = 3});
    ADD(g, .type = CLY_LAYER_SOFTMAX, .name = "prob", IN1("fc2"));
    return g;
}

static cly_graph *residual(void)
{
    cly_graph *g;
    ck_assert(cly_graph_create(&g) == CLY_SUCCESS);
    ck_assert(cly_graph_input(g, "data", 3, 6, 6) == CLY_SUCCESS);
    ADD(g, .type = CLY_LAYER_CONV, .name = "c1", IN1("data"), .p.conv = {.filters = 3, .size = {3, 3}, .pad = CLY_PAD(1), .no_bias = true});
    ADD(g, .type = CLY_LAYER_BATCHNORM, .name = "bn1", IN1("c1"));
    ADD(g, .type = CLY_LAYER_RELU, .name = "r1", IN1("bn1"));
    ADD(g, .type = CLY_LAYER_CONV, .name = "c2", IN1("r1"), .p.conv = {.filters = 3, .size = {3, 3}, .pad = CLY_PAD(1), .no_bias = true});
    ADD(g, .type = CLY_LAYER_BATCHNORM, .name = "bn2", IN1("c2"));
    ADD(g, .type = CLY_LAYER_ADD, .name = "sum", .inputs = (const char *const[]){"bn2", "data"}, .input_count = 2);
    ADD(g, .type = CLY_LAYER_RELU, .name = "out", IN1("sum"));
    ADD(g, .type = CLY_LAYER_GLOBAL_AVGPOOL, .name = "gap", IN1("out"));
    ADD(g, .type = CLY_LAYER_FC, .name = "fc", IN1("gap"), .p.fc = {.outputs = 4});
    return g;
}

static cly_graph *inception_branch(void)
{
    cly_graph *g;
    ck_assert(cly_graph_create(&g) == CLY_SUCCESS);
    ck_assert(cly_graph_input(g, "data", 4, 5, 5) == CLY_SUCCESS);
    ADD(g, .type = CLY_LAYER_CONV, .name = "b1", IN1("data"), .p.conv = {.filters = 2, .size = {1, 1}, .relu = true});
    ADD(g, .type = CLY_LAYER_CONV, .name = "b2r", IN1("data"), .p.conv = {.filters = 2, .size = {1, 1}, .relu = true});
    ADD(g, .type = CLY_LAYER_CONV, .name = "b2", IN1("b2r"), .p.conv = {.filters = 3, .size = {3, 3}, .pad = CLY_PAD(1)});
    ADD(g, .type = CLY_LAYER_POOL, .name = "b3p", IN1("data"),
        .p.pool = {.kind = CLY_POOL_AVG, .size = {3, 3}, .stride = {1, 1}, .pad = CLY_PAD(1)});
    ADD(g, .type = CLY_LAYER_CONV, .name = "b3", IN1("b3p"), .p.conv = {.filters = 2, .size = {1, 1}});
    ADD(g, .type = CLY_LAYER_CONCAT, .name = "cat", .inputs = (const char *const[]){"b1", "b2", "b3"}, .input_count = 3);
    ADD(g, .type = CLY_LAYER_LRN, .name = "norm", IN1("cat"), .p.lrn = {.size = 3, .alpha = 0.5, .beta = 0.75, .k = 2});
    ADD(g, .type = CLY_LAYER_POOL, .name = "l2", IN1("norm"), .p.pool = {.kind = CLY_POOL_L2, .size = {2, 2}, .stride = {2, 2}, .rounding = CLY_ROUND_CEIL});
    ADD(g, .type = CLY_LAYER_LOCAL, .name = "loc", IN1("l2"), .p.conv = {.filters = 2, .size = {2, 2}});
    ADD(g, .type = CLY_LAYER_DROPOUT, .name = "drop", IN1("loc"), .p.dropout = 0.3);
    ADD(g, .type = CLY_LAYER_FC, .name = "fc", IN1("drop"), .p.fc = {.outputs = 3});
    return g;
}

static cly_graph *strided_dilated_grouped(void)
{
    cly_graph *g;
    ck_assert(cly_graph_create(&g) == CLY_SUCCESS);
    ck_assert(cly_graph_input(g, "data", 4, 13, 13) == CLY_SUCCESS);
    ADD(g, .type = CLY_LAYER_CONV, .name = "s2", IN1("data"),
        .p.conv = {.filters = 4, .size = {3, 3}, .stride = {2, 2}, .pad = CLY_PAD(1), .groups = 2});
    ADD(g, .type = CLY_LAYER_CONV, .name = "dil", IN1("s2"),
        .p.conv = {.filters = 4, .size = {3, 3}, .pad = CLY_PAD(2), .dilation = {2, 2}, .relu = true});
    ADD(g, .type = CLY_LAYER_CONV, .name = "pw", IN1("dil"), .p.conv = {.filters = 3, .size = {1, 1}});
    ADD(g, .type = CLY_LAYER_SOFTMAX, .name = "mix", IN1("pw"));
    ADD(g, .type = CLY_LAYER_POOL, .name = "avg", IN1("mix"),
        .p.pool = {.kind = CLY_POOL_AVG, .size = {3, 3}, .stride = {2, 2}, .pad = CLY_PAD(1), .avg_exclude_pad = true});
    ADD(g, .type = CLY_LAYER_FC, .name = "fc", IN1("avg"), .p.fc = {.outputs = 5});
    return g;
}

/* Adaptive average pooling as torchvision nets use it: 7x7 from 9x9
 * (overlapping bins), then 5x3 from 4x4 (an output taller than its input
 * repeats rows), behind a conv so the input gradient flows through both. */
static cly_graph *adaptive_pooling(void)
{
    cly_graph *g;
    ck_assert(cly_graph_create(&g) == CLY_SUCCESS);
    ck_assert(cly_graph_input(g, "data", 3, 9, 9) == CLY_SUCCESS);
    ADD(g, .type = CLY_LAYER_ADAPTIVE_AVGPOOL, .name = "ap7", IN1("data"), .p.adaptive = {.output = {7, 7}});
    ADD(g, .type = CLY_LAYER_CONV, .name = "c1", IN1("ap7"), .p.conv = {.filters = 4, .size = {4, 4}});
    ADD(g, .type = CLY_LAYER_ADAPTIVE_AVGPOOL, .name = "ap53", IN1("c1"), .p.adaptive = {.output = {5, 3}});
    ADD(g, .type = CLY_LAYER_FC, .name = "fc", IN1("ap53"), .p.fc = {.outputs = 4});
    return g;
}

typedef struct setup {
    cly_context *ctx;
    cly_graph *g;
    cly_net *net;
    int32_t labels[8];
    int64_t batch;
    bool fp64;
    double *x; /* the input, as set */
    int64_t nx;
} setup;

/* False (nothing created) when fp64 is asked of a device without it. */
static bool start(setup *st, cly_graph *(*build)(void), int64_t batch, cly_loss loss, bool fp64, cly_conv_algo algo)
{
    cly_status s = cly_context_create_ex(
        &(cly_context_options){.precision = fp64 ? CLY_PRECISION_FLOAT64 : CLY_PRECISION_FLOAT32}, &st->ctx);
    if (s == CLY_ERROR_UNSUPPORTED && fp64) {
        fprintf(stderr, "skipped: %s\n", cly_last_error(NULL));
        return false;
    }
    ck_assert_msg(s == CLY_SUCCESS, "%s", cly_last_error(NULL));
    ck_assert(cly_context_precision(st->ctx) == (fp64 ? CLY_PRECISION_FLOAT64 : CLY_PRECISION_FLOAT32));
    st->g = build();
    st->batch = batch;
    st->fp64 = fp64;
    s = cly_net_create(st->ctx, st->g, &(cly_net_options){.batch = batch, .mode = CLY_MODE_TRAINING, .conv_algo = algo},
                       &st->net);
    ck_assert_msg(s == CLY_SUCCESS, "%s", cly_last_error(st->ctx));
    for (size_t i = 0; i < st->g->count; i++)
        if (algo != CLY_CONV_AUTO && st->g->nodes[i].layer.type == CLY_LAYER_CONV)
            ck_assert_int_eq(cly_net_layer_algo(st->net, st->g->nodes[i].name), algo);
    ck_assert(cly_net_init_params(st->net, CLY_INIT_XAVIER, 3) == CLY_SUCCESS);
    s = cly_net_set_training(st->net, &(cly_train_params){.learning_rate = 0.1, .loss = loss, .seed = 9});
    ck_assert_msg(s == CLY_SUCCESS, "%s", cly_last_error(st->ctx));
    uint64_t seed = 77;
    const cly_node *data = cly_net_find_node(st->g, "data");
    st->nx = data->activations;
    st->x = malloc((size_t)st->nx * sizeof *st->x);
    for (int64_t i = 0; i < st->nx; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        st->x[i] = (double)(seed >> 11) / 9007199254740992.0 * 2 - 1;
        if (!fp64)
            st->x[i] = (float)st->x[i];
    }
    ck_assert(cly_net_set_input_f64(st->net, "data", st->x, st->nx) == CLY_SUCCESS);
    int64_t classes = st->g->nodes[st->net->scores_id].out.c;
    for (int64_t i = 0; i < batch; i++)
        st->labels[i] = (int32_t)((i * 5 + 1) % classes);
    /* Biases away from zero so that their gradients are exercised fully. */
    for (size_t i = 0; i < st->g->count; i++) {
        int64_t n = st->net->layers[i].param_count[CLY_PARAM_BIAS];
        if (!n)
            continue;
        double *b = malloc((size_t)n * sizeof *b);
        for (int64_t j = 0; j < n; j++)
            b[j] = 0.1 * ((j % 5) - 2);
        ck_assert(cly_net_set_param_f64(st->net, st->g->nodes[i].name, CLY_PARAM_BIAS, b, n) == CLY_SUCCESS);
        free(b);
    }
    return true;
}

static void finish(setup *st)
{
    free(st->x);
    cly_net_destroy(st->net);
    cly_graph_destroy(st->g);
    cly_context_destroy(st->ctx);
}

static double loss_at(setup *st)
{
    double loss;
    cly_status s = cly_net_compute_gradients(st->net, st->labels, st->batch, &loss);
    ck_assert_msg(s == CLY_SUCCESS, "%s", cly_last_error(st->ctx));
    return loss;
}

typedef struct tally {
    bool fp64;
    double h;
    int checked, failed, kinks;
    double worst, largest;
} tally;

/* Judge analytic gradient a against the differences of the losses at the
 * point (mid) and a step h either side. */
static void judge(tally *t, double a, double up, double mid, double down, const char *what, int64_t i)
{
    double n = (up - down) / (2 * t->h);
    double diff = fabs(a - n), rel = diff / (fabs(a) + fabs(n) + 1e-30);
    t->checked++;
    if (fabs(n) > t->largest)
        t->largest = fabs(n);
    bool ok = t->fp64 ? rel <= 1e-6 || diff <= 2e-9 : rel <= 5e-2 || diff <= 3e-4;
    if (!ok && t->fp64) {
        double right = (up - mid) / t->h, left = (mid - down) / t->h;
        if (fabs(right - left) > 1e-3 * (fabs(right) + fabs(left)) + 1e-6) {
            t->kinks++;
            fprintf(stderr, "  %s[%lld]: on a kink (one-sided %.9g and %.9g), skipped\n", what, (long long)i, left,
                    right);
            return;
        }
    }
    if (!ok) {
        t->failed++;
        fprintf(stderr, "  %s[%lld]: analytic %.12g numeric %.12g (rel %.3g)\n", what, (long long)i, a, n, rel);
    } else if (fabs(a) + fabs(n) >= 1e-2 && rel > t->worst) {
        t->worst = rel; /* where the absolute floor cannot decide */
    }
}

/* Centered differences on up to `samples` entries of every parameter array. */
static void check_params(setup *st, tally *t, int samples)
{
    for (size_t id = 0; id < st->g->count; id++) {
        const cly_node *node = &st->g->nodes[id];
        for (int kind = CLY_PARAM_WEIGHTS; kind <= CLY_PARAM_BIAS; kind++) {
            int64_t n = st->net->layers[id].param_count[kind];
            if (!n)
                continue;
            double *p = malloc((size_t)n * sizeof *p), *grad = malloc((size_t)n * sizeof *grad);
            ck_assert(cly_net_get_param_f64(st->net, node->name, kind, p, n) == CLY_SUCCESS);
            double mid = loss_at(st);
            ck_assert(cly_net_get_gradient_f64(st->net, node->name, kind, grad, n) == CLY_SUCCESS);
            int64_t stride = n > samples ? n / samples : 1;
            for (int64_t i = 0; i < n; i += stride) {
                double keep = p[i];
                p[i] = keep + t->h;
                ck_assert(cly_net_set_param_f64(st->net, node->name, kind, p, n) == CLY_SUCCESS);
                double up = loss_at(st);
                p[i] = keep - t->h;
                ck_assert(cly_net_set_param_f64(st->net, node->name, kind, p, n) == CLY_SUCCESS);
                double down = loss_at(st);
                p[i] = keep;
                ck_assert(cly_net_set_param_f64(st->net, node->name, kind, p, n) == CLY_SUCCESS);
                char what[96];
                snprintf(what, sizeof what, "%s.%s", node->name, kind == CLY_PARAM_WEIGHTS ? "w" : "b");
                judge(t, grad[i], up, mid, down, what, i);
            }
            free(p);
            free(grad);
        }
    }
}

static void check_input(setup *st, tally *t, int samples)
{
    int64_t n = st->nx;
    double *x = st->x, *grad = malloc((size_t)n * sizeof *grad);
    double mid = loss_at(st);
    ck_assert(cly_net_get_input_gradient_f64(st->net, "data", grad, n) == CLY_SUCCESS);
    for (int64_t i = 0; i < n; i += n > samples ? n / samples : 1) {
        double keep = x[i];
        x[i] = keep + t->h;
        ck_assert(cly_net_set_input_f64(st->net, "data", x, n) == CLY_SUCCESS);
        double up = loss_at(st);
        x[i] = keep - t->h;
        ck_assert(cly_net_set_input_f64(st->net, "data", x, n) == CLY_SUCCESS);
        double down = loss_at(st);
        x[i] = keep;
        ck_assert(cly_net_set_input_f64(st->net, "data", x, n) == CLY_SUCCESS);
        judge(t, grad[i], up, mid, down, "data", i);
    }
    free(grad);
}

static void gradient_check_in(cly_graph *(*build)(void), int64_t batch, cly_loss loss, bool fp64, cly_conv_algo algo)
{
    setup st;
    if (!start(&st, build, batch, loss, fp64, algo))
        return;
    tally t = {.fp64 = fp64, .h = fp64 ? 1e-6 : 1e-3};
    check_params(&st, &t, fp64 ? 16 : 12);
    check_input(&st, &t, fp64 ? 32 : 24);
    fprintf(stderr,
            "gradient check (%s, %s): %d entries (largest |gradient| %.3g), %d outside tolerance, %d on kinks, "
            "worst passing rel where |a| + |n| >= 1e-2: %.3g\n",
            fp64 ? "float64" : "float32", cly_conv_algo_string(algo), t.checked, t.largest, t.failed, t.kinks,
            t.worst);
    /* Gradients must be large enough for the absolute floor not to pass
     * everything by default. */
    ck_assert_double_gt(t.largest, 3e-2);
    ck_assert_int_gt(t.checked, 20);
    if (fp64) {
        ck_assert_msg(t.failed == 0, "%d of %d entries outside 1e-6", t.failed, t.checked);
        ck_assert_msg(t.kinks * 20 <= t.checked, "%d of %d entries on kinks", t.kinks, t.checked);
    } else {
        ck_assert_msg(t.failed * 10 <= t.checked, "%d of %d entries outside tolerance", t.failed, t.checked);
    }
    finish(&st);
}

/* float32 with the default algorithms; float64 with those (AUTO takes
 * gemm1x1 for 1x1 convolutions) and with each algorithm that runs every
 * shape. */
static void gradient_check(cly_graph *(*build)(void), int64_t batch, cly_loss loss)
{
    gradient_check_in(build, batch, loss, false, CLY_CONV_AUTO);
    gradient_check_in(build, batch, loss, true, CLY_CONV_AUTO);
    gradient_check_in(build, batch, loss, true, CLY_CONV_DIRECT);
    gradient_check_in(build, batch, loss, true, CLY_CONV_IM2COL);
}

START_TEST(fd_conv_relu_pool_fc_softmax)
{
    gradient_check(conv_stack, 3, CLY_LOSS_SOFTMAX_XENT);
}
END_TEST

/* Training with a Winograd forward (every conv here is 3x3, stride 1): its
 * backward runs the same rows as after any forward; the gradients must
 * still match finite differences of the (Winograd) forward. */
START_TEST(fd_winograd_forward)
{
    gradient_check_in(conv_stack, 3, CLY_LOSS_SOFTMAX_XENT, true, CLY_CONV_WINOGRAD);
    gradient_check_in(conv_stack, 3, CLY_LOSS_SOFTMAX_XENT, false, CLY_CONV_WINOGRAD);
    gradient_check_in(residual, 4, CLY_LOSS_SOFTMAX_XENT, true, CLY_CONV_WINOGRAD);
}
END_TEST

/* Training with the tiled (GPU-shaped) forward: its backward runs the same
 * rows as after direct; the gradients must match finite differences. */
START_TEST(fd_tiled_forward)
{
    gradient_check_in(conv_stack, 3, CLY_LOSS_SOFTMAX_XENT, true, CLY_CONV_TILED);
    gradient_check_in(residual, 4, CLY_LOSS_SOFTMAX_XENT, true, CLY_CONV_TILED);
}
END_TEST

START_TEST(fd_conv_stack_svm)
{
    gradient_check(conv_stack, 4, CLY_LOSS_SVM);
}
END_TEST

START_TEST(fd_residual_block_batchnorm)
{
    gradient_check(residual, 4, CLY_LOSS_SOFTMAX_XENT);
}
END_TEST

START_TEST(fd_inception_branch_lrn_local_dropout)
{
    gradient_check(inception_branch, 2, CLY_LOSS_SOFTMAX_XENT);
}
END_TEST

START_TEST(fd_strided_dilated_grouped_softmax_inside)
{
    gradient_check(strided_dilated_grouped, 3, CLY_LOSS_SOFTMAX_XENT);
}
END_TEST

START_TEST(fd_adaptive_avgpool)
{
    gradient_check(adaptive_pooling, 2, CLY_LOSS_SOFTMAX_XENT);
}
END_TEST

START_TEST(gradients_bit_identical)
{
    setup st;
    start(&st, residual, 4, CLY_LOSS_SOFTMAX_XENT, false, CLY_CONV_AUTO);
    int64_t n = st.net->layers[cly_net_find_node(st.g, "c1") - st.g->nodes].param_count[CLY_PARAM_WEIGHTS];
    float *a = malloc((size_t)n * 4), *b = malloc((size_t)n * 4);
    float dx1[4 * 3 * 36], dx2[4 * 3 * 36];
    double l1 = loss_at(&st);
    ck_assert(cly_net_get_gradient(st.net, "c1", CLY_PARAM_WEIGHTS, a, n) == CLY_SUCCESS);
    ck_assert(cly_net_get_input_gradient(st.net, "data", dx1, 4 * 3 * 36) == CLY_SUCCESS);
    double l2 = loss_at(&st);
    ck_assert(cly_net_get_gradient(st.net, "c1", CLY_PARAM_WEIGHTS, b, n) == CLY_SUCCESS);
    ck_assert(cly_net_get_input_gradient(st.net, "data", dx2, 4 * 3 * 36) == CLY_SUCCESS);
    ck_assert(l1 == l2);
    ck_assert(memcmp(a, b, (size_t)n * 4) == 0);
    ck_assert(memcmp(dx1, dx2, sizeof dx1) == 0);
    free(a);
    free(b);
    finish(&st);
}
END_TEST

/* Two well-separated classes of 6x6 images: bright top half or bright
 * bottom half, plus noise. A few SGD steps must lower the loss and lift the
 * accuracy above chance. */
START_TEST(short_training_run_learns)
{
    cly_context *ctx = cly_test_context();
    cly_graph *g;
    ck_assert(cly_graph_create(&g) == CLY_SUCCESS);
    ck_assert(cly_graph_input(g, "data", 1, 6, 6) == CLY_SUCCESS);
    ADD(g, .type = CLY_LAYER_CONV, .name = "conv", IN1("data"), .p.conv = {.filters = 4, .size = {3, 3}, .pad = CLY_PAD(1), .relu = true});
    ADD(g, .type = CLY_LAYER_POOL, .name = "pool", IN1("conv"), .p.pool = {.kind = CLY_POOL_MAX, .size = {2, 2}, .stride = {2, 2}});
    ADD(g, .type = CLY_LAYER_FC, .name = "fc", IN1("pool"), .p.fc = {.outputs = 2});
    enum { B = 8 };
    cly_net *net;
    ck_assert(cly_net_create(ctx, g, &(cly_net_options){.batch = B, .mode = CLY_MODE_TRAINING}, &net) == CLY_SUCCESS);
    ck_assert(cly_net_init_params(net, CLY_INIT_HE, 1) == CLY_SUCCESS);
    ck_assert(cly_net_set_training(net, &(cly_train_params){.learning_rate = 0.05, .momentum = 0.9,
                                                             .weight_decay = 1e-4}) == CLY_SUCCESS);
    uint64_t seed = 5;
    float x[B * 36];
    int32_t y[B];
    double first = 0, last = 0;
    int correct_first = 0, correct_last = 0;
    for (int step = 0; step < 60; step++) {
        for (int b = 0; b < B; b++) {
            y[b] = (int32_t)((step + b) % 2);
            for (int i = 0; i < 36; i++) {
                seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
                double noise = (double)(seed >> 11) / 9007199254740992.0 - 0.5;
                x[b * 36 + i] = (float)(((i / 6 < 3) == (y[b] == 0) ? 1.0 : 0.0) + 0.5 * noise);
            }
        }
        ck_assert(cly_net_set_input(net, "data", x, B * 36) == CLY_SUCCESS);
        /* Accuracy before this batch's update. */
        float scores[B * 2];
        ck_assert(cly_net_forward(net) == CLY_SUCCESS);
        ck_assert(cly_net_get_output(net, "fc", scores, B * 2) == CLY_SUCCESS);
        int correct = 0;
        for (int b = 0; b < B; b++)
            correct += (scores[2 * b + 1] > scores[2 * b]) == (y[b] == 1);
        double loss;
        cly_status s = cly_net_train_batch(net, y, B, &loss);
        ck_assert_msg(s == CLY_SUCCESS, "%s", cly_last_error(ctx));
        if (step < 5) {
            first += loss;
            correct_first += correct;
        }
        if (step >= 55) {
            last += loss;
            correct_last += correct;
        }
    }
    ck_assert_int_eq(cly_net_updates(net), 60);
    ck_assert_msg(last < 0.5 * first, "loss %g -> %g", first / 5, last / 5);
    ck_assert_msg(correct_last >= 38 && correct_last > correct_first, "accuracy %d/40 -> %d/40", correct_first,
                  correct_last);
    cly_net_destroy(net);
    cly_graph_destroy(g);
    cly_context_destroy(ctx);
}
END_TEST

int main(void)
{
    cly_test_require_device();
    Suite *s = suite_create("train");
    TCase *tc = tcase_create("train");
    tcase_set_timeout(tc, 900);
    tcase_add_test(tc, fd_conv_relu_pool_fc_softmax);
    tcase_add_test(tc, fd_conv_stack_svm);
    tcase_add_test(tc, fd_winograd_forward);
    tcase_add_test(tc, fd_tiled_forward);
    tcase_add_test(tc, fd_residual_block_batchnorm);
    tcase_add_test(tc, fd_inception_branch_lrn_local_dropout);
    tcase_add_test(tc, fd_strided_dilated_grouped_softmax_inside);
    tcase_add_test(tc, fd_adaptive_avgpool);
    tcase_add_test(tc, gradients_bit_identical);
    tcase_add_test(tc, short_training_run_learns);
    suite_add_tcase(s, tc);
    return cly_test_run(s, true);
}
