/* Whole nets on the device against the host reference: a ResNet basic block
 * (identity and projection shortcuts), an Inception module, a LeNet-style
 * stack with every other layer type; each conv algorithm forced in turn.
 * Caffe's GoogLeNet on a FLOAT64 context against the same reference at
 * near double precision.
 * Also the memory plan: no two live values overlap, and VGG-16's planned
 * peak stays near twice its largest layer. */
#include "net/net.h"
#include "reference.h"
#include "test_util.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ADD(g, ...) ck_assert_msg(cly_graph_add((g), &(cly_layer){__VA_ARGS__}) == CLY_SUCCESS, "%s", \
                                  cly_last_error(NULL))
#define IN1(name) .inputs = (const char *const[]){name}, .input_count = 1

static cly_context *context(void)
{
    cly_context *ctx;
    ck_assert_msg(cly_context_create(NULL, &ctx) == CLY_SUCCESS, "%s", cly_last_error(NULL));
    return ctx;
}

static void conv_bn_relu(cly_graph *g, const char *name, const char *bn, const char *relu, const char *in, int64_t k,
                         int64_t f, int64_t s, int64_t p)
{
    ADD(g, .type = CLY_LAYER_CONV, .name = name, IN1(in),
        .p.conv = {.filters = k, .size = {f, f}, .stride = {s, s}, .pad = CLY_PAD(p), .no_bias = true});
    ADD(g, .type = CLY_LAYER_BATCHNORM, .name = bn, IN1(name), .p.batchnorm = {.epsilon = 1e-5});
    if (relu)
        ADD(g, .type = CLY_LAYER_RELU, .name = relu, IN1(bn));
}

/* ResNet basic blocks: identity (64 -> 64) then projection (64 -> 128, /2). */
static cly_graph *resnet_blocks(void)
{
    cly_graph *g;
    ck_assert(cly_graph_create(&g) == CLY_SUCCESS);
    ck_assert(cly_graph_input(g, "data", 16, 13, 13) == CLY_SUCCESS);
    conv_bn_relu(g, "a_conv1", "a_bn1", "a_relu1", "data", 16, 3, 1, 1);
    conv_bn_relu(g, "a_conv2", "a_bn2", NULL, "a_relu1", 16, 3, 1, 1);
    ADD(g, .type = CLY_LAYER_ADD, .name = "a_add", .inputs = (const char *const[]){"a_bn2", "data"}, .input_count = 2);
    ADD(g, .type = CLY_LAYER_RELU, .name = "a_out", IN1("a_add"));
    conv_bn_relu(g, "b_conv1", "b_bn1", "b_relu1", "a_out", 32, 3, 2, 1);
    conv_bn_relu(g, "b_conv2", "b_bn2", NULL, "b_relu1", 32, 3, 1, 1);
    conv_bn_relu(g, "b_proj", "b_proj_bn", NULL, "a_out", 32, 1, 2, 0);
    ADD(g, .type = CLY_LAYER_ADD, .name = "b_add", .inputs = (const char *const[]){"b_bn2", "b_proj_bn"},
        .input_count = 2);
    ADD(g, .type = CLY_LAYER_RELU, .name = "b_out", IN1("b_add"));
    return g;
}

/* GoogLeNet's inception module (3a's structure at a quarter of its width). */
static cly_graph *inception(void)
{
    cly_graph *g;
    ck_assert(cly_graph_create(&g) == CLY_SUCCESS);
    ck_assert(cly_graph_input(g, "data", 48, 7, 7) == CLY_SUCCESS);
    cly_conv_params c1 = {.filters = 16, .size = {1, 1}, .relu = true};
    ADD(g, .type = CLY_LAYER_CONV, .name = "b1", IN1("data"), .p.conv = c1);
    ADD(g, .type = CLY_LAYER_CONV, .name = "b2_reduce", IN1("data"), .p.conv = {.filters = 24, .size = {1, 1}, .relu = true});
    ADD(g, .type = CLY_LAYER_CONV, .name = "b2", IN1("b2_reduce"),
        .p.conv = {.filters = 32, .size = {3, 3}, .pad = CLY_PAD(1), .relu = true});
    ADD(g, .type = CLY_LAYER_CONV, .name = "b3_reduce", IN1("data"), .p.conv = {.filters = 4, .size = {1, 1}, .relu = true});
    ADD(g, .type = CLY_LAYER_CONV, .name = "b3", IN1("b3_reduce"),
        .p.conv = {.filters = 8, .size = {5, 5}, .pad = CLY_PAD(2), .relu = true});
    ADD(g, .type = CLY_LAYER_POOL, .name = "b4_pool", IN1("data"),
        .p.pool = {.kind = CLY_POOL_MAX, .size = {3, 3}, .stride = {1, 1}, .pad = CLY_PAD(1)});
    ADD(g, .type = CLY_LAYER_CONV, .name = "b4", IN1("b4_pool"), .p.conv = {.filters = 8, .size = {1, 1}, .relu = true});
    ADD(g, .type = CLY_LAYER_CONCAT, .name = "out", .inputs = (const char *const[]){"b1", "b2", "b3", "b4"},
        .input_count = 4);
    return g;
}

/* Every remaining layer type in one stack. */
static cly_graph *lenet_plus(void)
{
    cly_graph *g;
    ck_assert(cly_graph_create(&g) == CLY_SUCCESS);
    ck_assert(cly_graph_input(g, "data", 3, 17, 17) == CLY_SUCCESS);
    ADD(g, .type = CLY_LAYER_CONV, .name = "conv1", IN1("data"),
        .p.conv = {.filters = 8, .size = {5, 5}, .dilation = {1, 1}});
    ADD(g, .type = CLY_LAYER_RELU, .name = "relu1", IN1("conv1"));
    ADD(g, .type = CLY_LAYER_POOL, .name = "pool1", IN1("relu1"),
        .p.pool = {.kind = CLY_POOL_MAX, .size = {3, 3}, .stride = {2, 2}, .rounding = CLY_ROUND_CEIL});
    ADD(g, .type = CLY_LAYER_LRN, .name = "norm1", IN1("pool1"),
        .p.lrn = {.size = 5, .alpha = 1e-2, .beta = 0.75, .k = 2.0});
    ADD(g, .type = CLY_LAYER_CONV, .name = "conv2", IN1("norm1"),
        .p.conv = {.filters = 8, .size = {3, 3}, .pad = {1, 1, 2, 0}, .dilation = {2, 1}, .groups = 2, .relu = true});
    ADD(g, .type = CLY_LAYER_POOL, .name = "pool2", IN1("conv2"),
        .p.pool = {.kind = CLY_POOL_AVG, .size = {2, 2}, .stride = {2, 2}, .pad = CLY_PAD(1), .rounding = CLY_ROUND_FLOOR});
    ADD(g, .type = CLY_LAYER_POOL, .name = "pool2_l2", IN1("conv2"),
        .p.pool = {.kind = CLY_POOL_L2, .size = {2, 2}, .stride = {1, 1}});
    ADD(g, .type = CLY_LAYER_LOCAL, .name = "local", IN1("pool2_l2"), .p.conv = {.filters = 4, .size = {3, 3}});
    ADD(g, .type = CLY_LAYER_GLOBAL_AVGPOOL, .name = "gap", IN1("local"));
    ADD(g, .type = CLY_LAYER_FC, .name = "fc1", IN1("pool2"), .p.fc = {.outputs = 20, .relu = true});
    ADD(g, .type = CLY_LAYER_DROPOUT, .name = "drop", IN1("fc1"), .p.dropout = 0.5);
    ADD(g, .type = CLY_LAYER_FC, .name = "fc2", IN1("drop"), .p.fc = {.outputs = 10});
    ADD(g, .type = CLY_LAYER_SOFTMAX, .name = "prob", IN1("fc2"));
    return g;
}

/* What compare_with() checks: the context's precision, the kept layers (their
 * outputs compared too) and the bound |y - ref| <= tol * (max|ref| + 1e-3)
 * per compared value. */
typedef struct compare_options {
    cly_precision precision;
    double tol;
    const char *const *keep;
    size_t keep_count;
} compare_options;

/* Run `g` on the device and compare every graph output and kept layer with
 * the reference; returns the worst |y - ref| / (max|ref| + 1e-3) seen, or -1
 * when the device lacks cl_khr_fp64 for a FLOAT64 run (said on stderr). */
static double compare_with(cly_graph *g, int64_t batch, cly_conv_algo algo, const compare_options *o)
{
    cly_context *ctx;
    cly_status s = cly_context_create_ex(&(cly_context_options){.precision = o->precision}, &ctx);
    if (s == CLY_ERROR_UNSUPPORTED && o->precision == CLY_PRECISION_FLOAT64) {
        fprintf(stderr, "skipped: %s\n", cly_last_error(NULL));
        return -1;
    }
    ck_assert_msg(s == CLY_SUCCESS, "%s", cly_last_error(NULL));
    cly_net *net;
    cly_net_options opt = {.batch = batch, .conv_algo = algo, .keep = o->keep, .keep_count = o->keep_count};
    s = cly_net_create(ctx, g, &opt, &net);
    ck_assert_msg(s == CLY_SUCCESS, "%s", cly_last_error(ctx));
    ck_assert(cly_plan_check(net->plan, g->count));
    ck_assert(cly_net_init_params(net, CLY_INIT_HE, 11) == CLY_SUCCESS);

    /* Parameters and inputs are floats (exact in double too): the
     * reference takes floats and accumulates in double. */
    size_t n = g->count;
    float **inputs = calloc(n, sizeof *inputs);
    ref_params *params = calloc(n, sizeof *params);
    uint64_t seed = 5;
    for (size_t i = 0; i < n; i++) {
        const cly_node *node = &g->nodes[i];
        for (int k = 0; k < 4; k++) {
            int64_t count = net->layers[i].param_count[k];
            if (!count)
                continue;
            float *p = malloc((size_t)count * sizeof *p);
            ck_assert(cly_net_get_param(net, node->name, (cly_param_kind)k, p, count) == CLY_SUCCESS);
            /* Give BN statistics and biases values away from their defaults. */
            if (node->layer.type == CLY_LAYER_BATCHNORM || k == CLY_PARAM_BIAS)
                for (int64_t j = 0; j < count; j++) {
                    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
                    double u = (double)(seed >> 11) / 9007199254740992.0;
                    p[j] = (float)(k == CLY_PARAM_VAR ? 0.5 + u : u - 0.5);
                }
            ck_assert(cly_net_set_param(net, node->name, (cly_param_kind)k, p, count) == CLY_SUCCESS);
            params[i].p[k] = p;
        }
        if (node->layer.type == CLY_LAYER_INPUT) {
            inputs[i] = malloc((size_t)node->activations * sizeof **inputs);
            for (int64_t j = 0; j < node->activations; j++) {
                seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
                inputs[i][j] = (float)((double)(seed >> 11) / 9007199254740992.0 * 2 - 1);
            }
            ck_assert(cly_net_set_input(net, node->name, inputs[i], node->activations) == CLY_SUCCESS);
        }
    }
    /* Twice: a second pass must not see state left by the first. */
    for (int pass = 0; pass < 2; pass++) {
        s = cly_net_forward(net);
        ck_assert_msg(s == CLY_SUCCESS, "%s", cly_last_error(ctx));
    }
    double **ref = ref_forward(g, (const float *const *)inputs, params);
    ck_assert(ref != NULL);
    int outputs = 0;
    size_t kept_seen = 0;
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        const cly_node *node = &g->nodes[i];
        bool kept = false;
        for (size_t k = 0; k < o->keep_count; k++)
            kept |= strcmp(o->keep[k], node->name) == 0;
        kept_seen += kept;
        if (node->consumers != 0 && !kept)
            continue;
        outputs++;
        double *y = malloc((size_t)node->activations * sizeof *y);
        ck_assert(cly_net_get_output_f64(net, node->name, y, node->activations) == CLY_SUCCESS);
        double scale = 0;
        for (int64_t j = 0; j < node->activations; j++)
            scale = fmax(scale, fabs(ref[i][j]));
        for (int64_t j = 0; j < node->activations; j++) {
            worst = fmax(worst, fabs(y[j] - ref[i][j]) / (scale + 1e-3));
            ck_assert_msg(fabs(y[j] - ref[i][j]) <= o->tol * (scale + 1e-3),
                          "%s[%lld] = %.17g, reference %.17g, error %.3g of max|ref| %.3g (algo %s)", node->name,
                          (long long)j, y[j], ref[i][j], fabs(y[j] - ref[i][j]), scale,
                          cly_conv_algo_string(algo));
        }
        free(y);
    }
    ck_assert_int_gt(outputs, 0);
    ck_assert_uint_eq(kept_seen, o->keep_count);
    for (size_t i = 0; i < n; i++) {
        free(ref[i]);
        free(inputs[i]);
        for (int k = 0; k < 4; k++)
            free((void *)params[i].p[k]);
    }
    free(ref);
    free(inputs);
    free(params);
    cly_net_destroy(net);
    cly_context_destroy(ctx);
    return worst;
}

/* Float32, graph outputs only, at 1e-4 relative. */
static void compare(cly_graph *g, int64_t batch, cly_conv_algo algo)
{
    compare_with(g, batch, algo, &(compare_options){.precision = CLY_PRECISION_FLOAT32, .tol = 1e-4});
}

static void compare_all_algos(cly_graph *(*build)(void), int64_t batch)
{
    for (int a = CLY_CONV_AUTO; a <= CLY_CONV_IM2COL; a++) {
        cly_graph *g = build();
        compare(g, batch, (cly_conv_algo)a);
        cly_graph_destroy(g);
    }
}

START_TEST(resnet_block_matches_reference)
{
    compare_all_algos(resnet_blocks, 2);
}
END_TEST

START_TEST(inception_module_matches_reference)
{
    compare_all_algos(inception, 2);
}
END_TEST

START_TEST(every_layer_type_matches_reference)
{
    compare_all_algos(lenet_plus, 3);
}
END_TEST

/* torchvision's head: adaptive average pooling to 7x7 from 13x13
 * (overlapping bins) and from 5x5 (an output larger than its input), a
 * 1x1 output, and a non-square one, each against the reference. */
static cly_graph *adaptive_heads(void)
{
    cly_graph *g;
    ck_assert(cly_graph_create(&g) == CLY_SUCCESS);
    ck_assert(cly_graph_input(g, "data", 3, 13, 13) == CLY_SUCCESS);
    ADD(g, .type = CLY_LAYER_ADAPTIVE_AVGPOOL, .name = "ap7", IN1("data"), .p.adaptive = {.output = {7, 7}});
    ADD(g, .type = CLY_LAYER_CONV, .name = "conv", IN1("data"),
        .p.conv = {.filters = 4, .size = {3, 3}, .stride = {2, 2}, .relu = true});
    ADD(g, .type = CLY_LAYER_ADAPTIVE_AVGPOOL, .name = "up7", IN1("conv"), .p.adaptive = {.output = {7, 6}});
    ADD(g, .type = CLY_LAYER_ADAPTIVE_AVGPOOL, .name = "one", IN1("conv"), .p.adaptive = {.output = {1, 1}});
    ADD(g, .type = CLY_LAYER_ADAPTIVE_AVGPOOL, .name = "wide", IN1("ap7"), .p.adaptive = {.output = {2, 5}});
    return g;
}

START_TEST(adaptive_avgpool_matches_reference)
{
    compare_all_algos(adaptive_heads, 3);
}
END_TEST

/* Caffe's GoogLeNet (LRN, ceil-rounded pooling) on a FLOAT64 context: the
 * logits and the probabilities agree with the reference in double to near
 * double precision, so every hyper-parameter reaches the kernels as a
 * double. Measured on pocl, error / (max|ref| + 1e-3): 2.3e-15 at worst
 * (logits 2.8e-14 absolute, max|ref| 13.3); with LRN's A, k and beta rounded
 * to float on their way in, 1.5e-11 (logits 1.4e-10 absolute). The bound
 * sits ~130x above the first, ~50x below the second. About 3 s, 22 s with
 * cold kernel caches. */
START_TEST(googlenet_float64_matches_reference)
{
    cly_graph *g;
    ck_assert_msg(cly_graph_builtin("googlenet", &g) == CLY_SUCCESS, "%s", cly_last_error(NULL));
    const char *keep[] = {"loss3/classifier"}; /* feeds "prob" */
    compare_with(g, 1, CLY_CONV_AUTO,
                 &(compare_options){.precision = CLY_PRECISION_FLOAT64, .tol = 3e-13, .keep = keep, .keep_count = 1});
    cly_graph_destroy(g);
}
END_TEST

START_TEST(in_place_relu_shares_storage)
{
    cly_context *ctx = context();
    cly_graph *g = resnet_blocks();
    cly_net *net;
    ck_assert(cly_net_create(ctx, g, &(cly_net_options){.batch = 1}, &net) == CLY_SUCCESS);
    const cly_node *relu = cly_net_find_node(g, "a_relu1"), *bn = cly_net_find_node(g, "a_bn1");
    ck_assert(net->layers[relu - g->nodes].in_place);
    ck_assert_int_eq(net->plan[relu - g->nodes].offset, net->plan[bn - g->nodes].offset);
    /* a_out reads a_add, which has one consumer: in place too. The input
     * "data" feeds two layers and is pinned: never overwritten. */
    const cly_node *data = cly_net_find_node(g, "data");
    ck_assert_int_eq(net->plan[data - g->nodes].last, (int64_t)g->count);
    cly_net_destroy(net);
    cly_graph_destroy(g);
    cly_context_destroy(ctx);
}
END_TEST

START_TEST(relu_fused_into_conv_and_fc)
{
    cly_context *ctx = context();
    cly_graph *g = lenet_plus();
    cly_net *net;
    ck_assert(cly_net_create(ctx, g, &(cly_net_options){.batch = 1}, &net) == CLY_SUCCESS);
    const cly_node *conv1 = cly_net_find_node(g, "conv1"), *relu1 = cly_net_find_node(g, "relu1");
    ck_assert(net->layers[conv1 - g->nodes].fused_relu);
    ck_assert(net->layers[relu1 - g->nodes].fused);
    /* Kept, conv1's output must stay as it was: no fusion then. */
    cly_net_destroy(net);
    const char *keep[] = {"conv1"};
    ck_assert(cly_net_create(ctx, g, &(cly_net_options){.batch = 1, .keep = keep, .keep_count = 1}, &net) ==
              CLY_SUCCESS);
    ck_assert(!net->layers[conv1 - g->nodes].fused_relu);
    ck_assert(!net->layers[relu1 - g->nodes].fused);
    cly_net_destroy(net);
    cly_graph_destroy(g);
    cly_context_destroy(ctx);
}
END_TEST

START_TEST(kept_values_stay_readable)
{
    cly_context *ctx = context();
    cly_graph *g = inception();
    cly_net *net;
    float buf[2 * 24 * 49];
    ck_assert(cly_net_create(ctx, g, &(cly_net_options){.batch = 2}, &net) == CLY_SUCCESS);
    ck_assert(cly_net_forward(net) == CLY_SUCCESS);
    ck_assert_int_eq(cly_net_get_output(net, "b2_reduce", buf, 2 * 24 * 49), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert(strstr(cly_last_error(ctx), "keep") != NULL);
    cly_net_destroy(net);
    const char *keep[] = {"b2_reduce"};
    ck_assert(cly_net_create(ctx, g, &(cly_net_options){.batch = 2, .keep = keep, .keep_count = 1}, &net) ==
              CLY_SUCCESS);
    ck_assert(cly_net_forward(net) == CLY_SUCCESS);
    ck_assert_int_eq(cly_net_get_output(net, "b2_reduce", buf, 2 * 24 * 49), CLY_SUCCESS);
    ck_assert(cly_plan_check(net->plan, g->count));
    cly_net_destroy(net);
    cly_graph_destroy(g);
    cly_context_destroy(ctx);
}
END_TEST

START_TEST(bad_arguments)
{
    cly_context *ctx = context();
    cly_graph *g = inception();
    cly_net *net = NULL;
    ck_assert_int_eq(cly_net_create(ctx, g, &(cly_net_options){.batch = 0}, &net), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert(strstr(cly_last_error(ctx), "batch 0") != NULL);
    ck_assert_int_eq(cly_net_create(ctx, g, NULL, &net), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_net_create(ctx, g, &(cly_net_options){.batch = 1, .mode = (cly_mode)7}, &net),
                     CLY_ERROR_INVALID_ARGUMENT);
    const char *keep[] = {"nosuch"};
    ck_assert_int_eq(cly_net_create(ctx, g, &(cly_net_options){.batch = 1, .keep = keep, .keep_count = 1}, &net),
                     CLY_ERROR_INVALID_ARGUMENT);
    ck_assert(strstr(cly_last_error(ctx), "nosuch") != NULL);
    ck_assert_ptr_null(net);
    ck_assert(cly_net_create(ctx, g, &(cly_net_options){.batch = 1}, &net) == CLY_SUCCESS);
    float w[16];
    ck_assert_int_eq(cly_net_set_param(net, "b1", CLY_PARAM_WEIGHTS, w, 16), CLY_ERROR_SHAPE_MISMATCH);
    ck_assert(strstr(cly_last_error(ctx), "768") != NULL); /* 16 x 48 x 1 x 1 */
    ck_assert_int_eq(cly_net_set_param(net, "nosuch", CLY_PARAM_WEIGHTS, w, 16), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_net_set_input(net, "b1", w, 16), CLY_ERROR_SHAPE_MISMATCH);
    ck_assert_int_eq(cly_net_set_input(net, "data", NULL, 48 * 49), CLY_ERROR_INVALID_ARGUMENT);
    int64_t count = -1;
    ck_assert(cly_net_param_count(net, "b4_pool", CLY_PARAM_WEIGHTS, &count) == CLY_SUCCESS);
    ck_assert_int_eq(count, 0);
    cly_net_destroy(net);
    cly_net_destroy(NULL);
    cly_graph_destroy(g);
    cly_context_destroy(ctx);
}
END_TEST

START_TEST(vgg16_plan_peak)
{
    cly_graph *g;
    cly_status s = cly_graph_load(CLAYER_SOURCE_ROOT "/nets/vgg16.net", &g);
    ck_assert_msg(s == CLY_SUCCESS, "%s", cly_last_error(NULL));
    cly_context *ctx = context();
    cly_net *net;
    s = cly_net_create(ctx, g, &(cly_net_options){.batch = 1}, &net);
    ck_assert_msg(s == CLY_SUCCESS, "%s", cly_last_error(ctx));
    cly_net_memory m;
    ck_assert(cly_net_memory_get(net, &m) == CLY_SUCCESS);
    ck_assert(cly_plan_check(net->plan, g->count));
    /* The notes' figure: 15,237,608 values summed over every layer. */
    ck_assert_int_eq(m.activation_bytes, 4LL * 15237608);
    ck_assert_int_eq(m.largest_bytes, 4LL * 224 * 224 * 64);
    /* Live at once: at most about two layers (plus the pinned input). */
    ck_assert_int_le(m.arena_bytes, 2 * m.largest_bytes + 4LL * 3 * 224 * 224 + 4096);
    ck_assert_int_lt(m.arena_bytes, m.activation_bytes / 2);
    cly_net_destroy(net);
    cly_graph_destroy(g);
    cly_context_destroy(ctx);
}
END_TEST

int main(void)
{
    cly_test_require_device();
    Suite *s = suite_create("net");
    TCase *tc = tcase_create("net");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, resnet_block_matches_reference);
    tcase_add_test(tc, inception_module_matches_reference);
    tcase_add_test(tc, every_layer_type_matches_reference);
    tcase_add_test(tc, adaptive_avgpool_matches_reference);
    tcase_add_test(tc, googlenet_float64_matches_reference);
    tcase_add_test(tc, in_place_relu_shares_storage);
    tcase_add_test(tc, relu_fused_into_conv_and_fc);
    tcase_add_test(tc, kept_values_stay_readable);
    tcase_add_test(tc, bad_arguments);
    tcase_add_test(tc, vgg16_plan_peak);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
