/* The layer graph's validation through the C API: names, input counts,
 * parameter ranges, impossible shapes, unknown inputs, cycles and overflow,
 * each with its exact message. No OpenCL. */
#include "graph/graph.h"
#include "helpers.h"

#include <math.h>

static cly_graph *new_graph(void)
{
    cly_graph *g = NULL;
    ASSERT_OK(cly_graph_create(&g));
    return g;
}

START_TEST(t_names)
{
    cly_graph *g = new_graph();
    char longest[64], too_long[65];
    memset(longest, 'a', 63);
    longest[63] = '\0';
    memset(too_long, 'b', 64);
    too_long[64] = '\0';
    ASSERT_OK(cly_graph_input(g, longest, 1, 1, 1));
    ASSERT_OK(cly_graph_input(g, "Az09_./-", 1, 1, 1));
    ASSERT_FAIL(cly_graph_input(g, too_long, 1, 1, 1), CLY_ERROR_INVALID_ARGUMENT,
                "input layer name 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb' is longer than 63 "
                "characters");
    ASSERT_FAIL(cly_graph_input(g, "", 1, 1, 1), CLY_ERROR_INVALID_ARGUMENT, "input layer name '' is empty");
    ASSERT_FAIL(cly_graph_input(g, NULL, 1, 1, 1), CLY_ERROR_INVALID_ARGUMENT, "input layer name '(null)' is NULL");
    ASSERT_FAIL(cly_graph_conv(g, "a b", "x", conv_p(1, 1, 1, 0)), CLY_ERROR_INVALID_ARGUMENT,
                "conv layer name 'a b' may only hold A-Z a-z 0-9 _ . / -");
    ASSERT_FAIL(cly_graph_relu(g, "caf\xc3\xa9", "x"), CLY_ERROR_INVALID_ARGUMENT,
                "relu layer name 'caf\\xc3\\xa9' may only hold A-Z a-z 0-9 _ . / -");
    ASSERT_FAIL(cly_graph_relu(g, "r", "bad name"), CLY_ERROR_INVALID_ARGUMENT,
                "r: input 1 name 'bad name' may only hold A-Z a-z 0-9 _ . / -");
    ASSERT_FAIL(cly_graph_relu(g, "r", NULL), CLY_ERROR_INVALID_ARGUMENT, "r: input 1 name '(null)' is NULL");
    ASSERT_FAIL(cly_graph_input(g, "Az09_./-", 2, 2, 2), CLY_ERROR_INVALID_ARGUMENT,
                "Az09_./-: a layer of that name is already in the graph");
    ASSERT_FAIL(cly_graph_relu(g, longest, "Az09_./-"), CLY_ERROR_INVALID_ARGUMENT,
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa: a layer of that name is already in "
                "the graph");
    ck_assert_uint_eq(cly_graph_layer_count(g), 2);
    cly_graph_destroy(g);
}
END_TEST

START_TEST(t_input_counts)
{
    cly_graph *g = new_graph();
    const char *two[] = {"a", "b"};
    cly_layer in = {.type = CLY_LAYER_INPUT, .name = "in", .inputs = two, .input_count = 1};
    in.p.input.c = in.p.input.h = in.p.input.w = 1;
    ASSERT_FAIL(cly_graph_add(g, &in), CLY_ERROR_INVALID_ARGUMENT, "in: a input layer takes 0 inputs, not 1");
    ASSERT_FAIL(add_layer(g, CLY_LAYER_ADD, "sum", two, 1), CLY_ERROR_INVALID_ARGUMENT,
                "sum: a add layer takes 2 to 256 inputs, not 1");
    ASSERT_FAIL(add_layer(g, CLY_LAYER_CONCAT, "cat", two, 0), CLY_ERROR_INVALID_ARGUMENT,
                "cat: a concat layer takes 1 to 256 inputs, not 0");
    ASSERT_FAIL(add_layer(g, CLY_LAYER_RELU, "r", two, 2), CLY_ERROR_INVALID_ARGUMENT,
                "r: a relu layer takes 1 input, not 2");
    ASSERT_FAIL(add_layer(g, CLY_LAYER_SOFTMAX, "s", NULL, 1), CLY_ERROR_INVALID_ARGUMENT,
                "s: input_count is 1 but inputs is NULL");
    const char *many[257];
    for (int i = 0; i < 257; i++)
        many[i] = "a";
    ASSERT_FAIL(add_layer(g, CLY_LAYER_CONCAT, "cat", many, 257), CLY_ERROR_INVALID_ARGUMENT,
                "cat: a concat layer takes 1 to 256 inputs, not 257");
    ASSERT_OK(add_layer(g, CLY_LAYER_CONCAT, "cat", many, 256));
    cly_layer bad = {.type = (cly_layer_type)99, .name = "x"};
    ASSERT_FAIL(cly_graph_add(g, &bad), CLY_ERROR_INVALID_ARGUMENT, "x: layer type 99 does not exist (0..13)");
    ck_assert_uint_eq(cly_graph_layer_count(g), 1);
    cly_graph_destroy(g);
}
END_TEST

START_TEST(t_parameter_ranges)
{
    cly_graph *g = new_graph();
    ASSERT_FAIL(cly_graph_input(g, "data", 0, 8, 8), CLY_ERROR_INVALID_ARGUMENT, "data: c = 0 must be >= 1");
    ASSERT_FAIL(cly_graph_input(g, "data", 3, -8, 8), CLY_ERROR_INVALID_ARGUMENT, "data: h = -8 must be >= 1");
    ASSERT_FAIL(cly_graph_input(g, "data", 3, 8, 2147483648LL), CLY_ERROR_INVALID_ARGUMENT,
                "data: w = 2147483648 exceeds 2147483647");

    cly_conv_params p = conv_p(0, 3, 1, 0);
    ASSERT_FAIL(cly_graph_conv(g, "c", "x", p), CLY_ERROR_INVALID_ARGUMENT, "c: filters = 0 must be >= 1");
    p = conv_p(4, 3, 1, 0);
    p.size.w = 0;
    ASSERT_FAIL(cly_graph_conv(g, "c", "x", p), CLY_ERROR_INVALID_ARGUMENT, "c: size.w = 0 must be >= 1");
    p = conv_p(4, 3, 1, 0);
    p.stride.h = -2;
    ASSERT_FAIL(cly_graph_conv(g, "c", "x", p), CLY_ERROR_INVALID_ARGUMENT,
                "c: stride.h = -2 must be >= 1 (0 means 1)");
    p = conv_p(4, 3, 1, 0);
    p.dilation.w = -1;
    ASSERT_FAIL(cly_graph_conv(g, "c", "x", p), CLY_ERROR_INVALID_ARGUMENT,
                "c: dilation.w = -1 must be >= 1 (0 means 1)");
    p = conv_p(4, 3, 1, 0);
    p.groups = -1;
    ASSERT_FAIL(cly_graph_conv(g, "c", "x", p), CLY_ERROR_INVALID_ARGUMENT, "c: groups = -1 must be >= 1 (0 means 1)");
    p = conv_p(4, 3, 1, 0);
    p.pad.right = -1;
    ASSERT_FAIL(cly_graph_conv(g, "c", "x", p), CLY_ERROR_INVALID_ARGUMENT, "c: pad.right = -1 must be >= 0");
    p = conv_p(4, 3, 1, 0);
    p.rounding = (cly_rounding)3;
    ASSERT_FAIL(cly_graph_conv(g, "c", "x", p), CLY_ERROR_INVALID_ARGUMENT,
                "c: rounding 3 is not exact (0), floor (1) or ceil (2)");
    p = conv_p(4, 3, 1, 0);
    p.algo = CLY_CONV_ALGO_COUNT;
    ASSERT_FAIL(cly_graph_conv(g, "c", "x", p), CLY_ERROR_INVALID_ARGUMENT, "c: conv algorithm 6 does not exist (0..5)");

    const char *in[] = {"x"};
    cly_layer l = {.type = CLY_LAYER_LOCAL, .name = "loc", .inputs = in, .input_count = 1, .p.conv = conv_p(4, 3, 1, 0)};
    l.p.conv.groups = 2;
    ASSERT_FAIL(cly_graph_add(g, &l), CLY_ERROR_INVALID_ARGUMENT, "loc: a local layer has no groups (groups = 2)");
    l.p.conv.groups = 0;
    l.p.conv.algo = CLY_CONV_IM2COL;
    ASSERT_FAIL(cly_graph_add(g, &l), CLY_ERROR_INVALID_ARGUMENT,
                "loc: a local layer has one algorithm; algo must be auto, not im2col");

    cly_pool_params pp = maxpool_p(2, 2);
    pp.kind = (cly_pool_kind)3;
    ASSERT_FAIL(cly_graph_pool(g, "p", "x", pp), CLY_ERROR_INVALID_ARGUMENT,
                "p: pool kind 3 is not max (0), avg (1) or l2 (2)");
    pp = maxpool_p(2, -1);
    ASSERT_FAIL(cly_graph_pool(g, "p", "x", pp), CLY_ERROR_INVALID_ARGUMENT,
                "p: stride.h = -1 must be >= 1 (0 means 1)");
    pp = maxpool_p(2, 2);
    pp.pad.left = 2;
    ASSERT_FAIL(cly_graph_pool(g, "p", "x", pp), CLY_ERROR_INVALID_ARGUMENT,
                "p: padding (top 0, bottom 0, left 2, right 0) must be smaller than the window 2x2");

    cly_layer lrn = {.type = CLY_LAYER_LRN, .name = "n", .inputs = in, .input_count = 1,
                     .p.lrn = {.size = 0, .alpha = 1e-4, .beta = 0.75, .k = 2}};
    ASSERT_FAIL(cly_graph_add(g, &lrn), CLY_ERROR_INVALID_ARGUMENT, "n: size = 0 must be >= 1");
    lrn.p.lrn.size = 5;
    lrn.p.lrn.beta = INFINITY;
    ASSERT_FAIL(cly_graph_add(g, &lrn), CLY_ERROR_INVALID_ARGUMENT, "n: beta = inf must be a finite number");
    lrn.p.lrn.beta = 0.75;
    lrn.p.lrn.alpha = NAN;
    ASSERT_FAIL(cly_graph_add(g, &lrn), CLY_ERROR_INVALID_ARGUMENT, "n: alpha = nan must be a finite number");
    lrn.p.lrn.alpha = 1e-4;
    lrn.p.lrn.alpha_mode = (cly_lrn_alpha)2;
    ASSERT_FAIL(cly_graph_add(g, &lrn), CLY_ERROR_INVALID_ARGUMENT, "n: alpha_mode 2 is not over_size (0) or raw (1)");
    lrn.p.lrn.alpha_mode = CLY_LRN_ALPHA_OVER_SIZE;
    /* k + alpha * sum x^2 raised to -beta: a negative k or alpha can make it
     * negative, and the result NaN. */
    lrn.p.lrn.k = -1.5;
    ASSERT_FAIL(cly_graph_add(g, &lrn), CLY_ERROR_INVALID_ARGUMENT,
                "n: lrn k = -1.5 and alpha = 0.0001 must be >= 0 (the denominator k + alpha * sum x^2 must not be "
                "negative)");
    lrn.p.lrn.k = 2;
    lrn.p.lrn.alpha = -1e-4;
    ASSERT_FAIL(cly_graph_add(g, &lrn), CLY_ERROR_INVALID_ARGUMENT,
                "n: lrn k = 2 and alpha = -0.0001 must be >= 0 (the denominator k + alpha * sum x^2 must not be "
                "negative)");
    lrn.p.lrn.alpha = 1e-4;

    cly_layer bn = {.type = CLY_LAYER_BATCHNORM, .name = "bn", .inputs = in, .input_count = 1,
                    .p.batchnorm = {.epsilon = -1}};
    ASSERT_FAIL(cly_graph_add(g, &bn), CLY_ERROR_INVALID_ARGUMENT,
                "bn: epsilon = -1 must be finite and >= 0 (0 means 1e-5)");
    bn.p.batchnorm = (cly_batchnorm_params){.epsilon = 1e-3, .momentum = 1.5};
    ASSERT_FAIL(cly_graph_add(g, &bn), CLY_ERROR_INVALID_ARGUMENT, "bn: momentum = 1.5 must be in [0, 1] (0 means 0.1)");

    ASSERT_FAIL(cly_graph_fc(g, "fc", "x", (cly_fc_params){.outputs = 0}), CLY_ERROR_INVALID_ARGUMENT,
                "fc: outputs = 0 must be >= 1");
    ASSERT_FAIL(cly_graph_fc(g, "fc", "x", (cly_fc_params){.outputs = -5}), CLY_ERROR_INVALID_ARGUMENT,
                "fc: outputs = -5 must be >= 1");

    cly_layer drop = {.type = CLY_LAYER_DROPOUT, .name = "d", .inputs = in, .input_count = 1, .p.dropout = 1.0};
    ASSERT_FAIL(cly_graph_add(g, &drop), CLY_ERROR_INVALID_ARGUMENT, "d: dropout probability p = 1 must be in [0, 1)");
    drop.p.dropout = -0.1;
    ASSERT_FAIL(cly_graph_add(g, &drop), CLY_ERROR_INVALID_ARGUMENT,
                "d: dropout probability p = -0.1 must be in [0, 1)");
    drop.p.dropout = NAN;
    ASSERT_FAIL_HAS(cly_graph_add(g, &drop), CLY_ERROR_INVALID_ARGUMENT, "d: dropout probability p = ");
    drop.p.dropout = 0;
    ASSERT_OK(cly_graph_add(g, &drop));
    ck_assert_uint_eq(cly_graph_layer_count(g), 1);
    cly_graph_destroy(g);
}
END_TEST

START_TEST(t_overflow)
{
    cly_graph *g = new_graph();
    ASSERT_OK(cly_graph_input(g, "data", 2147483647, 2147483647, 2147483647));
    ASSERT_FAIL(cly_graph_infer(g, 1), CLY_ERROR_SIZE_OVERFLOW, "data: the output value count overflows 64 bits");
    cly_graph_destroy(g);

    g = new_graph();
    ASSERT_OK(cly_graph_input(g, "data", 65536, 65536, 1));
    ASSERT_OK(cly_graph_fc(g, "fc", "data", (cly_fc_params){.outputs = 2147483647}));
    ASSERT_FAIL(cly_graph_infer(g, 1), CLY_ERROR_SIZE_OVERFLOW, "fc: the FLOP count overflows 64 bits");
    cly_graph_destroy(g);
}
END_TEST

START_TEST(t_unknown_input)
{
    cly_graph *g = new_graph();
    ASSERT_OK(cly_graph_input(g, "data", 3, 8, 8));
    ASSERT_OK(cly_graph_conv(g, "conv1", "data", conv_p(4, 3, 1, 1)));
    ASSERT_OK(cly_graph_relu(g, "relu2", "conv2"));
    ASSERT_FAIL(cly_graph_infer(g, 1), CLY_ERROR_INVALID_ARGUMENT, "relu2: input 'conv2' is not a layer of the graph");
    cly_graph_destroy(g);
}
END_TEST

START_TEST(t_cycles)
{
    cly_graph *g = new_graph();
    ASSERT_OK(cly_graph_input(g, "data", 3, 8, 8));
    ASSERT_OK(cly_graph_relu(g, "self", "self"));
    ASSERT_FAIL(cly_graph_infer(g, 1), CLY_ERROR_INVALID_ARGUMENT, "self: the layer is on a cycle: self -> self");
    cly_graph_destroy(g);

    g = new_graph();
    ASSERT_OK(cly_graph_input(g, "data", 3, 8, 8));
    ASSERT_OK(cly_graph_relu(g, "after", "c")); /* downstream of the cycle, added first */
    ASSERT_OK(add_layer(g, CLY_LAYER_ADD, "b", (const char *[]){"data", "c"}, 2));
    ASSERT_OK(cly_graph_relu(g, "c", "b"));
    ASSERT_FAIL(cly_graph_infer(g, 1), CLY_ERROR_INVALID_ARGUMENT, "c: the layer is on a cycle: c -> b -> c");
    cly_graph_destroy(g);

    g = new_graph();
    ASSERT_OK(cly_graph_input(g, "data", 3, 8, 8));
    ASSERT_OK(cly_graph_relu(g, "r1", "r3"));
    ASSERT_OK(cly_graph_relu(g, "r2", "r1"));
    ASSERT_OK(cly_graph_relu(g, "r3", "r2"));
    ASSERT_FAIL(cly_graph_infer(g, 1), CLY_ERROR_INVALID_ARGUMENT, "r1: the layer is on a cycle: r1 -> r2 -> r3 -> r1");
    cly_graph_destroy(g);
}
END_TEST

START_TEST(t_groups)
{
    cly_graph *g = new_graph();
    ASSERT_OK(cly_graph_input(g, "data", 64, 8, 8));
    cly_conv_params p = conv_p(128, 3, 1, 1);
    p.groups = 2;
    ASSERT_OK(cly_graph_conv(g, "grouped", "data", p));
    p.groups = 64; /* depthwise-style */
    p.filters = 64;
    ASSERT_OK(cly_graph_conv(g, "depthwise", "data", p));
    ASSERT_OK(cly_graph_infer(g, 2));
    cly_layer_info gi = info_of(g, "grouped");
    ck_assert_int_eq(gi.weights, 128 * 32 * 9);
    ck_assert_int_eq(gi.flops, 2LL * 2 * 128 * 64 * 32 * 9);
    ck_assert_int_eq(info_of(g, "depthwise").weights, 64 * 9);
    p = conv_p(8, 3, 1, 1);
    p.groups = 3;
    ASSERT_FAIL(cly_graph_conv(g, "k_not_divisible", "data", p), CLY_ERROR_INVALID_ARGUMENT,
                "k_not_divisible: filters = 8 is not divisible by groups = 3");
    p = conv_p(6, 3, 1, 1);
    p.groups = 3;
    ASSERT_OK(cly_graph_conv(g, "c_not_divisible", "data", p));
    ASSERT_FAIL(cly_graph_infer(g, 1), CLY_ERROR_INVALID_ARGUMENT,
                "c_not_divisible: input channels C = 64 are not divisible by groups = 3");
    cly_graph_destroy(g);
}
END_TEST

/* A filter larger than the padded input leaves no output (size <= 0). */
START_TEST(t_filter_larger_than_input)
{
    cly_graph *g = new_graph();
    ASSERT_OK(cly_graph_input(g, "data", 3, 2, 2));
    ASSERT_OK(cly_graph_conv(g, "big", "data", conv_p(4, 3, 1, 0)));
    ASSERT_FAIL(cly_graph_infer(g, 1), CLY_ERROR_INVALID_ARGUMENT,
                "big: (W - F + 2P)/S + 1 = (2 - 3 + 2*0)/1 + 1 < 1: the filter (extent 3) is larger than the padded "
                "input (2)");
    cly_graph_destroy(g);

    g = new_graph();
    ASSERT_OK(cly_graph_input(g, "data", 3, 2, 2));
    ASSERT_OK(cly_graph_conv(g, "padded", "data", conv_p(4, 3, 1, 1)));
    ASSERT_OK(cly_graph_infer(g, 1));
    assert_shape(info_of(g, "padded").output, 1, 4, 2, 2);
    ASSERT_OK(cly_graph_pool(g, "pool", "padded", maxpool_p(3, 1)));
    ASSERT_FAIL(cly_graph_infer(g, 1), CLY_ERROR_INVALID_ARGUMENT,
                "pool: (W - F)/S + 1 = (2 - 3)/1 + 1 < 1: the filter (extent 3) is larger than the padded input (2)");
    cly_graph_destroy(g);

    /* Dilation counts: 3 taps at dilation 3 span 7 > 6. */
    g = new_graph();
    ASSERT_OK(cly_graph_input(g, "data", 3, 6, 6));
    cly_conv_params p = conv_p(4, 3, 1, 0);
    p.dilation = (cly_hw){3, 3};
    ASSERT_OK(cly_graph_conv(g, "dilated", "data", p));
    ASSERT_FAIL_HAS(cly_graph_infer(g, 1), CLY_ERROR_INVALID_ARGUMENT,
                    "dilated: (W + Plo + Phi - D*(F - 1) - 1)/S + 1 = (6 + 0 + 0 - 3*(3 - 1) - 1)/1 + 1 < 1: the "
                    "filter (extent 7)");
    cly_graph_destroy(g);
}
END_TEST

static Suite *graph_errors_suite(void)
{
    Suite *s = suite_create("graph_errors");
    TCase *tc = tcase_create("errors");
    tcase_add_test(tc, t_names);
    tcase_add_test(tc, t_input_counts);
    tcase_add_test(tc, t_parameter_ranges);
    tcase_add_test(tc, t_overflow);
    tcase_add_test(tc, t_unknown_input);
    tcase_add_test(tc, t_cycles);
    tcase_add_test(tc, t_groups);
    tcase_add_test(tc, t_filter_larger_than_input);
    suite_add_tcase(s, tc);
    return s;
}

RUN_SUITE(graph_errors_suite)
