/* The layer graph through the C API: the notes' figures, non-integer sizes
 * and rounding with their exact messages, every layer type's shape and
 * costs, topological order, and blocks of real networks with shapes and
 * parameter counts worked out by hand. No OpenCL. */
#include "graph/graph.h"
#include "helpers.h"

static cly_graph *new_graph(void)
{
    cly_graph *g = NULL;
    ASSERT_OK(cly_graph_create(&g));
    return g;
}

/* ---------------------------------------------------------------- basics */

START_TEST(t_type_strings)
{
    static const char *const names[] = {"input", "conv",    "local",   "relu", "pool",   "lrn", "batchnorm",
                                        "fc",    "softmax", "dropout", "add",  "concat", "gap", "adaptive_avgpool"};
    ck_assert_int_eq(sizeof names / sizeof names[0], CLY_LAYER_TYPE_COUNT);
    for (int t = 0; t < CLY_LAYER_TYPE_COUNT; t++)
        ck_assert_str_eq(cly_layer_type_string((cly_layer_type)t), names[t]);
    ck_assert_str_eq(cly_layer_type_string(CLY_LAYER_TYPE_COUNT), "unknown");
    ck_assert_str_eq(cly_layer_type_string((cly_layer_type)-1), "unknown");
}
END_TEST

START_TEST(t_null_and_lifecycle)
{
    cly_graph_destroy(NULL);
    ck_assert_int_eq(cly_graph_create(NULL), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_graph_add(NULL, NULL), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_graph_infer(NULL, 1), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_uint_eq(cly_graph_layer_count(NULL), 0);
    cly_graph *g = new_graph();
    ASSERT_FAIL(cly_graph_infer(g, 1), CLY_ERROR_INVALID_ARGUMENT, "cly_graph_infer: the graph has no layers");
    ASSERT_OK(cly_graph_input(g, "data", 3, 8, 8));
    ASSERT_FAIL(cly_graph_infer(g, 0), CLY_ERROR_INVALID_ARGUMENT, "cly_graph_infer: batch = 0 must be in 1..2147483647");
    cly_layer_info info;
    ASSERT_FAIL_HAS(cly_graph_layer_info(g, 0, &info), CLY_ERROR_INVALID_ARGUMENT, "call cly_graph_infer first");
    ASSERT_FAIL_HAS(cly_graph_print_summary(g, stdout), CLY_ERROR_INVALID_ARGUMENT, "call cly_graph_infer first");
    ASSERT_OK(cly_graph_infer(g, 1));
    ASSERT_OK(cly_graph_layer_info(g, 0, &info));
    ASSERT_FAIL(cly_graph_layer_info(g, 1, &info), CLY_ERROR_INVALID_ARGUMENT,
                "cly_graph_layer_info: index 1 is past the 1 layers");
    ck_assert_int_eq(cly_graph_layer_info(g, 0, NULL), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_graph_print_summary(g, NULL), CLY_ERROR_INVALID_ARGUMENT);
    /* Adding a layer invalidates the inference. */
    ASSERT_OK(cly_graph_relu(g, "r", "data"));
    ASSERT_FAIL_HAS(cly_graph_layer_info(g, 0, &info), CLY_ERROR_INVALID_ARGUMENT, "call cly_graph_infer first");
    cly_graph_destroy(g);
}
END_TEST

/* cly_graph_add copies everything: the caller's strings may go away. */
START_TEST(t_deep_copy)
{
    cly_graph *g = new_graph();
    char name[16] = "data", in1[16] = "data", out[16] = "relu1";
    ASSERT_OK(cly_graph_input(g, name, 3, 4, 4));
    const char *inputs[] = {in1};
    cly_layer l = {.type = CLY_LAYER_RELU, .name = out, .inputs = inputs, .input_count = 1};
    ASSERT_OK(cly_graph_add(g, &l));
    memset(name, 'x', sizeof name - 1);
    memset(in1, 'y', sizeof in1 - 1);
    memset(out, 'z', sizeof out - 1);
    inputs[0] = NULL;
    ASSERT_OK(cly_graph_infer(g, 1));
    ck_assert_str_eq(info_of(g, "relu1").name, "relu1");
    assert_shape(info_of(g, "relu1").output, 1, 3, 4, 4);
    cly_graph_destroy(g);
}
END_TEST

/* Defaults are applied to the stored copy: stride, dilation, groups 0 -> 1,
 * batchnorm epsilon 0 -> 1e-5 and momentum 0 -> 0.1. */
START_TEST(t_defaults_applied)
{
    cly_graph *g = new_graph();
    ASSERT_OK(cly_graph_input(g, "data", 4, 8, 8));
    ASSERT_OK(cly_graph_conv(g, "c", "data", (cly_conv_params){.filters = 4, .size = {3, 3}}));
    const char *in[] = {"c"};
    cly_layer bn = {.type = CLY_LAYER_BATCHNORM, .name = "bn", .inputs = in, .input_count = 1};
    ASSERT_OK(cly_graph_add(g, &bn));
    const cly_conv_params *p = &g->nodes[1].layer.p.conv;
    ck_assert(p->stride.h == 1 && p->stride.w == 1 && p->dilation.h == 1 && p->dilation.w == 1 && p->groups == 1);
    ck_assert(g->nodes[2].layer.p.batchnorm.epsilon == 1e-5 && g->nodes[2].layer.p.batchnorm.momentum == 0.1);
    ck_assert_ptr_eq(g->nodes[1].layer.name, g->nodes[1].name);
    ck_assert_ptr_null(g->nodes[1].algo);
    ASSERT_OK(cly_graph_infer(g, 1));
    assert_shape(info_of(g, "c").output, 1, 4, 6, 6);
    ck_assert_uint_eq(g->nodes[0].consumers, 1);
    ck_assert_uint_eq(g->nodes[0].consumer_ids[0], 1);
    ck_assert_uint_eq(g->nodes[2].consumers, 0);
    cly_graph_destroy(g);
}
END_TEST

/* ------------------------------------------------------- notes' figures */

/* AlexNet conv1: 227x227x3, F=11, S=4, K=96 -> 55x55x96; 96*11*11*3 =
 * 34,848 weights + 96 biases = 34,944 parameters. Without sharing (a
 * locally-connected layer): 290,400 neurons x 364 = 105,705,600. */
START_TEST(t_alexnet_conv1)
{
    cly_graph *g = new_graph();
    ASSERT_OK(cly_graph_input(g, "data", 3, 227, 227));
    ASSERT_OK(cly_graph_conv(g, "conv1", "data", conv_p(96, 11, 4, 0)));
    const char *in[] = {"data"};
    cly_layer local = {.type = CLY_LAYER_LOCAL, .name = "local1", .inputs = in, .input_count = 1,
                       .p.conv = conv_p(96, 11, 4, 0)};
    ASSERT_OK(cly_graph_add(g, &local));
    ASSERT_OK(cly_graph_infer(g, 1));
    cly_layer_info c = info_of(g, "conv1"), l = info_of(g, "local1");
    assert_shape(c.output, 1, 96, 55, 55);
    ck_assert_int_eq(c.activations, 290400);
    ck_assert_int_eq(c.weights, 34848);
    ck_assert_int_eq(c.biases, 96);
    ck_assert_int_eq(c.weights + c.biases, 34944);
    ck_assert_int_eq(c.flops, 2LL * 290400 * 363);
    ck_assert(!c.rounded);
    assert_shape(l.output, 1, 96, 55, 55);
    ck_assert_int_eq(l.weights, 55LL * 55 * 96 * 363);
    ck_assert_int_eq(l.biases, 290400);
    ck_assert_int_eq(l.weights + l.biases, 105705600);
    ck_assert_int_eq(l.flops, c.flops);
    cly_graph_destroy(g);
}
END_TEST

/* 1-D example W=5, F=3, P=1: 5 outputs at S=1, 3 at S=2, S=3 invalid. The
 * numpy example 11x11x4, F=5, S=2 -> 4x4. The demo 5x5x3, K=2, F=3, S=2,
 * P=1 -> 3x3x2. */
START_TEST(t_notes_small_examples)
{
    cly_graph *g = new_graph();
    ASSERT_OK(cly_graph_input(g, "line", 1, 1, 5));
    cly_conv_params p = {.filters = 1, .size = {1, 3}, .pad = {0, 0, 1, 1}};
    ASSERT_OK(cly_graph_conv(g, "s1", "line", p));
    p.stride = (cly_hw){1, 2};
    ASSERT_OK(cly_graph_conv(g, "s2", "line", p));
    ASSERT_OK(cly_graph_input(g, "x", 4, 11, 11));
    ASSERT_OK(cly_graph_conv(g, "numpy", "x", conv_p(1, 5, 2, 0)));
    ASSERT_OK(cly_graph_input(g, "demo_in", 3, 5, 5));
    ASSERT_OK(cly_graph_conv(g, "demo", "demo_in", conv_p(2, 3, 2, 1)));
    ASSERT_OK(cly_graph_infer(g, 1));
    assert_shape(info_of(g, "s1").output, 1, 1, 1, 5);
    assert_shape(info_of(g, "s2").output, 1, 1, 1, 3);
    ck_assert_int_eq(info_of(g, "s2").weights, 3);
    assert_shape(info_of(g, "numpy").output, 1, 1, 4, 4);
    assert_shape(info_of(g, "demo").output, 1, 2, 3, 3);
    ck_assert_int_eq(info_of(g, "demo").weights, 2 * 3 * 3 * 3);
    p.stride = (cly_hw){1, 3};
    ASSERT_OK(cly_graph_conv(g, "s3", "line", p));
    ASSERT_FAIL(cly_graph_infer(g, 1), CLY_ERROR_INVALID_ARGUMENT,
                "s3: (W - F + 2P)/S + 1 = (5 - 3 + 2*1)/3 + 1 = 2.333333... is not an integer");
    cly_graph_destroy(g);
}
END_TEST

/* W=10, F=3, P=0, S=2: (10-3+0)/2+1 = 4.5, never silently floored. */
START_TEST(t_conv_not_integer)
{
    cly_graph *g = new_graph();
    ASSERT_OK(cly_graph_input(g, "data", 3, 10, 10));
    ASSERT_OK(cly_graph_conv(g, "conv1", "data", conv_p(8, 3, 2, 0)));
    ASSERT_FAIL(cly_graph_infer(g, 1), CLY_ERROR_INVALID_ARGUMENT,
                "conv1: (W - F + 2P)/S + 1 = (10 - 3 + 2*0)/2 + 1 = 4.5 is not an integer");
    cly_layer_info info;
    ck_assert_int_eq(cly_graph_layer_info(g, 0, &info), CLY_ERROR_INVALID_ARGUMENT);
    cly_graph_destroy(g);

    /* Only the height is off: the message names H. */
    g = new_graph();
    ASSERT_OK(cly_graph_input(g, "data", 3, 10, 11));
    ASSERT_OK(cly_graph_conv(g, "conv1", "data", conv_p(8, 3, 2, 0)));
    ASSERT_FAIL(cly_graph_infer(g, 1), CLY_ERROR_INVALID_ARGUMENT,
                "conv1: (H - F + 2P)/S + 1 = (10 - 3 + 2*0)/2 + 1 = 4.5 is not an integer");
    cly_graph_destroy(g);
}
END_TEST

START_TEST(t_conv_uneven_and_dilated)
{
    cly_graph *g = new_graph();
    ASSERT_OK(cly_graph_input(g, "data", 3, 9, 9));
    cly_conv_params p = conv_p(8, 3, 2, 0);
    p.pad = (cly_pad){1, 1, 0, 1}; /* W: 9 - 3 + 0 + 1 = 7, odd */
    ASSERT_OK(cly_graph_conv(g, "uneven", "data", p));
    ASSERT_FAIL(cly_graph_infer(g, 1), CLY_ERROR_INVALID_ARGUMENT,
                "uneven: (W - F + Plo + Phi)/S + 1 = (9 - 3 + 0 + 1)/2 + 1 = 4.5 is not an integer");
    cly_graph_destroy(g);

    /* Dilation 2 spaces the taps: a 3-tap filter spans 5. 7 -> 3. */
    g = new_graph();
    ASSERT_OK(cly_graph_input(g, "data", 3, 7, 7));
    p = conv_p(8, 3, 1, 0);
    p.dilation = (cly_hw){2, 2};
    ASSERT_OK(cly_graph_conv(g, "dil", "data", p));
    ASSERT_OK(cly_graph_infer(g, 1));
    assert_shape(info_of(g, "dil").output, 1, 8, 3, 3);
    ck_assert_int_eq(info_of(g, "dil").weights, 8 * 3 * 3 * 3);
    p.stride = (cly_hw){3, 3};
    ASSERT_OK(cly_graph_conv(g, "dil3", "data", p));
    ASSERT_FAIL(cly_graph_infer(g, 1), CLY_ERROR_INVALID_ARGUMENT,
                "dil3: (W + Plo + Phi - D*(F - 1) - 1)/S + 1 = (7 + 0 + 0 - 2*(3 - 1) - 1)/3 + 1 = 1.666666... is "
                "not an integer");
    cly_graph_destroy(g);
}
END_TEST

/* Pooling without padding uses the notes' (W - F)/S + 1; with padding, the
 * convolution form. */
START_TEST(t_pool_not_integer)
{
    cly_graph *g = new_graph();
    ASSERT_OK(cly_graph_input(g, "data", 16, 7, 7));
    ASSERT_OK(cly_graph_pool(g, "pool2", "data", maxpool_p(2, 2)));
    ASSERT_FAIL(cly_graph_infer(g, 1), CLY_ERROR_INVALID_ARGUMENT,
                "pool2: (W - F)/S + 1 = (7 - 2)/2 + 1 = 3.5 is not an integer");
    cly_graph_destroy(g);

    g = new_graph();
    ASSERT_OK(cly_graph_input(g, "data", 16, 7, 7));
    cly_pool_params p = maxpool_p(2, 2);
    p.pad = CLY_PAD(1);
    ASSERT_OK(cly_graph_pool(g, "pool2", "data", p));
    ASSERT_FAIL(cly_graph_infer(g, 1), CLY_ERROR_INVALID_ARGUMENT,
                "pool2: (W - F + 2P)/S + 1 = (7 - 2 + 2*1)/2 + 1 = 4.5 is not an integer");
    cly_graph_destroy(g);

    /* 224x224x64 -> 112x112x64 with F=2, S=2: 75% of the activations go. */
    g = new_graph();
    ASSERT_OK(cly_graph_input(g, "data", 64, 224, 224));
    ASSERT_OK(cly_graph_pool(g, "pool", "data", maxpool_p(2, 2)));
    ASSERT_OK(cly_graph_infer(g, 1));
    assert_shape(info_of(g, "pool").output, 1, 64, 112, 112);
    ck_assert_int_eq(info_of(g, "pool").activations * 4, info_of(g, "data").activations);
    ck_assert_int_eq(info_of(g, "pool").flops, 112LL * 112 * 64 * 4);
    cly_graph_destroy(g);
}
END_TEST

/* torchvision's stride-2 1x1 shortcut: (56 - 1)/2 + 1 = 28.5 floors to 28. */
START_TEST(t_floor)
{
    cly_graph *g = new_graph();
    ASSERT_OK(cly_graph_input(g, "data", 64, 56, 56));
    cly_conv_params p = conv_p(128, 1, 2, 0);
    ASSERT_OK(cly_graph_conv(g, "exact", "data", p));
    ASSERT_FAIL(cly_graph_infer(g, 1), CLY_ERROR_INVALID_ARGUMENT,
                "exact: (W - F + 2P)/S + 1 = (56 - 1 + 2*0)/2 + 1 = 28.5 is not an integer");
    cly_graph_destroy(g);

    g = new_graph();
    ASSERT_OK(cly_graph_input(g, "data", 64, 56, 56));
    p.rounding = CLY_ROUND_FLOOR;
    p.no_bias = true;
    ASSERT_OK(cly_graph_conv(g, "downsample", "data", p));
    p.size = (cly_hw){2, 2}; /* (56 - 2)/2 + 1 = 28 exactly: floor is not needed */
    ASSERT_OK(cly_graph_conv(g, "even", "data", p));
    ASSERT_OK(cly_graph_infer(g, 1));
    cly_layer_info d = info_of(g, "downsample");
    assert_shape(d.output, 1, 128, 28, 28);
    ck_assert(d.rounded);
    ck_assert_int_eq(d.weights, 128 * 64);
    ck_assert_int_eq(d.biases, 0);
    ck_assert(!info_of(g, "even").rounded);
    char *s = summary_of(g);
    ck_assert_ptr_nonnull(strstr(s, "rounded: floor"));
    ck_assert_ptr_nonnull(strstr(s, "\nrounded: the output size was not an integer"));
    free(s);
    cly_graph_destroy(g);
}
END_TEST

/* GoogLeNet's pools round up: 112 with 3x3/2 gives 55.5 -> 56. */
START_TEST(t_ceil)
{
    cly_graph *g = new_graph();
    ASSERT_OK(cly_graph_input(g, "data", 64, 112, 112));
    cly_pool_params p = maxpool_p(3, 2);
    p.rounding = CLY_ROUND_CEIL;
    ASSERT_OK(cly_graph_pool(g, "pool1/3x3_s2", "data", p));
    p.rounding = CLY_ROUND_FLOOR;
    ASSERT_OK(cly_graph_pool(g, "floor", "data", p));
    ASSERT_OK(cly_graph_infer(g, 1));
    assert_shape(info_of(g, "pool1/3x3_s2").output, 1, 64, 56, 56);
    ck_assert(info_of(g, "pool1/3x3_s2").rounded);
    assert_shape(info_of(g, "floor").output, 1, 64, 55, 55);
    char *s = summary_of(g);
    ck_assert_ptr_nonnull(strstr(s, "max, rounded: ceil"));
    free(s);
    cly_graph_destroy(g);
}
END_TEST

/* The CEIL rule: the extra window must start inside the input or its
 * leading padding. W=5, F=2, S=2, P=1: windows start at 0, 2, 4 and 6 of the
 * padded row; 6 is past 5 + 1, so it is dropped: 3 outputs, not 4. Without
 * padding W=5, F=2, S=2 keeps the extra window (start 4 < 5): 3, floor 2. */
START_TEST(t_ceil_drops_window)
{
    cly_graph *g = new_graph();
    ASSERT_OK(cly_graph_input(g, "data", 2, 5, 5));
    cly_pool_params p = maxpool_p(2, 2);
    p.rounding = CLY_ROUND_CEIL;
    p.pad = CLY_PAD(1);
    ASSERT_OK(cly_graph_pool(g, "dropped", "data", p));
    p.pad = CLY_PAD(0);
    ASSERT_OK(cly_graph_pool(g, "kept", "data", p));
    p.rounding = CLY_ROUND_FLOOR;
    ASSERT_OK(cly_graph_pool(g, "floored", "data", p));
    ASSERT_OK(cly_graph_infer(g, 1));
    assert_shape(info_of(g, "dropped").output, 1, 2, 3, 3);
    ck_assert(info_of(g, "dropped").rounded);
    assert_shape(info_of(g, "kept").output, 1, 2, 3, 3);
    assert_shape(info_of(g, "floored").output, 1, 2, 2, 2);
    cly_graph_destroy(g);
}
END_TEST

START_TEST(t_add_concat)
{
    cly_graph *g = new_graph();
    ASSERT_OK(cly_graph_input(g, "a", 8, 4, 4));
    ASSERT_OK(cly_graph_input(g, "b", 8, 4, 4));
    ASSERT_OK(cly_graph_input(g, "c", 8, 2, 2));
    ASSERT_OK(cly_graph_input(g, "d", 5, 4, 4));
    ASSERT_OK(add_layer(g, CLY_LAYER_ADD, "sum3", (const char *[]){"a", "b", "a"}, 3));
    ASSERT_OK(add_layer(g, CLY_LAYER_CONCAT, "cat", (const char *[]){"a", "d", "b"}, 3));
    ASSERT_OK(add_layer(g, CLY_LAYER_CONCAT, "one", (const char *[]){"c"}, 1));
    ASSERT_OK(cly_graph_infer(g, 2));
    assert_shape(info_of(g, "sum3").output, 2, 8, 4, 4);
    ck_assert_int_eq(info_of(g, "sum3").flops, 2 * 2 * 8 * 16);
    assert_shape(info_of(g, "cat").output, 2, 21, 4, 4);
    ck_assert_int_eq(info_of(g, "cat").flops, 0);
    assert_shape(info_of(g, "one").output, 2, 8, 2, 2);
    ck_assert_uint_eq(g->nodes[0].consumers, 3); /* sum3 twice, cat once */

    ASSERT_OK(add_layer(g, CLY_LAYER_ADD, "bad_sum", (const char *[]){"a", "b", "c"}, 3));
    ASSERT_FAIL(cly_graph_infer(g, 1), CLY_ERROR_SHAPE_MISMATCH,
                "bad_sum: add needs inputs of one shape: a is 8 x 4 x 4, b is 8 x 4 x 4, c is 8 x 2 x 2");
    cly_graph_destroy(g);

    g = new_graph();
    ASSERT_OK(cly_graph_input(g, "a", 8, 4, 4));
    ASSERT_OK(cly_graph_input(g, "d", 5, 4, 4));
    ASSERT_OK(add_layer(g, CLY_LAYER_ADD, "sum", (const char *[]){"a", "d"}, 2));
    ASSERT_FAIL(cly_graph_infer(g, 1), CLY_ERROR_SHAPE_MISMATCH,
                "sum: add needs inputs of one shape: a is 8 x 4 x 4, d is 5 x 4 x 4");
    cly_graph_destroy(g);

    g = new_graph();
    ASSERT_OK(cly_graph_input(g, "a", 8, 4, 4));
    ASSERT_OK(cly_graph_input(g, "c", 8, 4, 2));
    ASSERT_OK(add_layer(g, CLY_LAYER_CONCAT, "cat", (const char *[]){"a", "c"}, 2));
    ASSERT_FAIL(cly_graph_infer(g, 1), CLY_ERROR_SHAPE_MISMATCH,
                "cat: concat needs inputs of one height and width: a is 8 x 4 x 4, c is 8 x 4 x 2");
    cly_graph_destroy(g);
}
END_TEST

/* Layers may name later ones; the order is topological and, among layers
 * ready together, follows insertion. */
START_TEST(t_topological_order)
{
    cly_graph *g = new_graph();
    ASSERT_OK(cly_graph_softmax(g, "prob", "fc"));
    ASSERT_OK(cly_graph_fc(g, "fc", "sum", (cly_fc_params){.outputs = 10}));
    ASSERT_OK(add_layer(g, CLY_LAYER_ADD, "sum", (const char *[]){"right", "left"}, 2));
    ASSERT_OK(cly_graph_relu(g, "right", "data"));
    ASSERT_OK(cly_graph_relu(g, "left", "data"));
    ASSERT_OK(cly_graph_input(g, "data", 3, 4, 4));
    ASSERT_OK(cly_graph_input(g, "unused", 1, 1, 1));
    ASSERT_OK(cly_graph_infer(g, 1));
    static const char *const want[] = {"data", "right", "left", "sum", "fc", "prob", "unused"};
    for (size_t i = 0; i < 7; i++) {
        cly_layer_info info;
        ASSERT_OK(cly_graph_layer_info(g, i, &info));
        ck_assert_str_eq(info.name, want[i]);
    }
    assert_shape(info_of(g, "prob").output, 1, 10, 1, 1);
    ck_assert_int_eq(info_of(g, "fc").weights, 10 * 48);
    cly_graph_destroy(g);
}
END_TEST

START_TEST(t_other_layers)
{
    cly_graph *g = new_graph();
    ASSERT_OK(cly_graph_input(g, "data", 16, 6, 6));
    const char *in[] = {"data"};
    cly_layer lrn = {.type = CLY_LAYER_LRN, .name = "lrn", .inputs = in, .input_count = 1,
                     .p.lrn = {.size = 5, .alpha = 1e-4, .beta = 0.75, .k = 2, .alpha_mode = CLY_LRN_ALPHA_RAW}};
    ASSERT_OK(cly_graph_add(g, &lrn));
    cly_layer bn = {.type = CLY_LAYER_BATCHNORM, .name = "bn", .inputs = in, .input_count = 1};
    ASSERT_OK(cly_graph_add(g, &bn));
    ASSERT_OK(add_layer(g, CLY_LAYER_GLOBAL_AVGPOOL, "gap", in, 1));
    ASSERT_OK(cly_graph_softmax(g, "sm", "data"));
    cly_pool_params avg = {.kind = CLY_POOL_AVG, .size = {3, 3}, .stride = {3, 3}};
    ASSERT_OK(cly_graph_pool(g, "avg", "data", avg));
    avg.kind = CLY_POOL_L2;
    ASSERT_OK(cly_graph_pool(g, "l2", "data", avg));
    ASSERT_OK(cly_graph_infer(g, 1));
    ck_assert_int_eq(info_of(g, "lrn").flops, 16 * 36 * 5);
    ck_assert_int_eq(info_of(g, "bn").biases, 32);
    ck_assert_int_eq(info_of(g, "bn").weights, 0);
    assert_shape(info_of(g, "gap").output, 1, 16, 1, 1);
    ck_assert_int_eq(info_of(g, "gap").flops, 16 * 36);
    assert_shape(info_of(g, "sm").output, 1, 16, 6, 6);
    assert_shape(info_of(g, "avg").output, 1, 16, 2, 2);
    assert_shape(info_of(g, "l2").output, 1, 16, 2, 2);
    ck_assert_int_eq(g->bn_running, 32);
    /* The softmax reads the net's input, which it may not overwrite: counted. */
    ck_assert(!g->nodes[cly_graph_find(g, "sm")].in_place);
    ck_assert_int_eq(g->total_activations, 576 * 4 + 16 + 64 * 2);
    char *s = summary_of(g);
    ck_assert_ptr_nonnull(strstr(s, "the running mean and\nvariance, 32 values, are buffers, not parameters"));
    free(s);
    cly_graph_destroy(g);
}
END_TEST

/* A relu, dropout or softmax works in place only when it alone reads a
 * value that is not a net input; only then is its output left out of the
 * activation total. */
START_TEST(t_in_place)
{
    cly_graph *g = new_graph();
    ASSERT_OK(cly_graph_input(g, "data", 2, 4, 4));      /* 32 values */
    ASSERT_OK(cly_graph_relu(g, "on_input", "data"));    /* counted: the input is the caller's */
    ASSERT_OK(cly_graph_conv(g, "conv", "data", conv_p(2, 1, 1, 0)));
    ASSERT_OK(cly_graph_relu(g, "shared", "conv"));      /* counted: conv also feeds "sum" */
    ASSERT_OK(add_layer(g, CLY_LAYER_ADD, "sum", (const char *[]){"conv", "shared"}, 2));
    ASSERT_OK(cly_graph_softmax(g, "prob", "sum"));      /* in place */
    ASSERT_OK(cly_graph_infer(g, 1));
    ck_assert(!g->nodes[1].in_place);
    ck_assert(!g->nodes[3].in_place);
    ck_assert(g->nodes[5].in_place);
    ck_assert_int_eq(g->total_activations, 32 * 5);
    char *s = summary_of(g);
    ck_assert_ptr_nonnull(strstr(s, "\nprob      softmax"));
    ck_assert_ptr_nonnull(strstr(s, "in place\n"));
    ck_assert_ptr_nonnull(strstr(s, "total: 160 activation values (0.0 MiB), the input included; layers marked in place"));
    free(s);
    cly_graph_destroy(g);
}
END_TEST

/* ------------------------------------------------ blocks of real networks */

/* ResNet basic blocks on 64x56x56 (torchvision layer1.0 and layer2.0).
 * Identity block: two 3x3 convs of 64 without bias, each followed by batch
 * norm: 2 * 64*64*9 = 73,728 weights, 2 * 2*64 = 256 scale+shift.
 * Downsampling block to 128 at stride 2 (floored 28.5 -> 28): 3x3 128*64*9
 * = 73,728, 3x3 128*128*9 = 147,456, 1x1 shortcut 128*64 = 8,192 weights;
 * three batch norms of 128: 768. */
START_TEST(t_resnet_basic_block)
{
    cly_graph *g = new_graph();
    const char *in[1];
    ASSERT_OK(cly_graph_input(g, "x", 64, 56, 56));
    cly_conv_params c3 = conv_p(64, 3, 1, 1);
    c3.no_bias = true;
#define BN(bn_name, input)                                                                            \
    do {                                                                                           \
        in[0] = (input);                                                                           \
        cly_layer bn_ = {.type = CLY_LAYER_BATCHNORM, .name = (bn_name), .inputs = in, .input_count = 1}; \
        ASSERT_OK(cly_graph_add(g, &bn_));                                                         \
    } while (0)
    ASSERT_OK(cly_graph_conv(g, "b1.conv1", "x", c3));
    BN("b1.bn1", "b1.conv1");
    ASSERT_OK(cly_graph_relu(g, "b1.relu1", "b1.bn1"));
    ASSERT_OK(cly_graph_conv(g, "b1.conv2", "b1.relu1", c3));
    BN("b1.bn2", "b1.conv2");
    ASSERT_OK(add_layer(g, CLY_LAYER_ADD, "b1.add", (const char *[]){"b1.bn2", "x"}, 2));
    ASSERT_OK(cly_graph_relu(g, "b1.out", "b1.add"));

    cly_conv_params down3 = conv_p(128, 3, 2, 1), c3b = conv_p(128, 3, 1, 1), down1 = conv_p(128, 1, 2, 0);
    down3.no_bias = c3b.no_bias = down1.no_bias = true;
    down3.rounding = down1.rounding = CLY_ROUND_FLOOR;
    ASSERT_OK(cly_graph_conv(g, "b2.conv1", "b1.out", down3));
    BN("b2.bn1", "b2.conv1");
    ASSERT_OK(cly_graph_relu(g, "b2.relu1", "b2.bn1"));
    ASSERT_OK(cly_graph_conv(g, "b2.conv2", "b2.relu1", c3b));
    BN("b2.bn2", "b2.conv2");
    ASSERT_OK(cly_graph_conv(g, "b2.down", "b1.out", down1));
    BN("b2.down_bn", "b2.down");
    ASSERT_OK(add_layer(g, CLY_LAYER_ADD, "b2.add", (const char *[]){"b2.bn2", "b2.down_bn"}, 2));
    ASSERT_OK(cly_graph_relu(g, "b2.out", "b2.add"));
#undef BN
    ASSERT_OK(cly_graph_infer(g, 1));

    assert_shape(info_of(g, "b1.out").output, 1, 64, 56, 56);
    assert_shape(info_of(g, "b2.conv1").output, 1, 128, 28, 28);
    ck_assert(info_of(g, "b2.conv1").rounded);
    ck_assert(info_of(g, "b2.down").rounded);
    assert_shape(info_of(g, "b2.out").output, 1, 128, 28, 28);
    int64_t w = 0, b = 0;
    for (size_t i = 0; i < cly_graph_layer_count(g); i++) {
        cly_layer_info info;
        ASSERT_OK(cly_graph_layer_info(g, i, &info));
        w += info.weights;
        b += info.biases;
    }
    ck_assert_int_eq(w, 73728 + 73728 + 147456 + 8192);
    ck_assert_int_eq(b, 256 + 768);
    ck_assert_int_eq(g->total_weights, w);
    ck_assert_int_eq(g->total_biases, b);
    ck_assert_int_eq(info_of(g, "b2.conv2").flops, 2LL * 128 * 28 * 28 * 128 * 9);
    cly_graph_destroy(g);
}
END_TEST

/* GoogLeNet inception (3a) on 192x28x28: 1x1 64 | 1x1 96 -> 3x3 128 |
 * 1x1 16 -> 5x5 32 | 3x3 max pool stride 1 pad 1 -> 1x1 32, concatenated
 * to 256x28x28. Weights 192*64 + 192*96 + 96*128*9 + 192*16 + 16*32*25 +
 * 192*32 = 163,328, biases 64+96+128+16+32+32 = 368: 163,696 parameters. */
START_TEST(t_inception_module)
{
    cly_graph *g = new_graph();
    ASSERT_OK(cly_graph_input(g, "pool2", 192, 28, 28));
    ASSERT_OK(cly_graph_conv(g, "3a/1x1", "pool2", conv_p(64, 1, 1, 0)));
    ASSERT_OK(cly_graph_conv(g, "3a/3x3_reduce", "pool2", conv_p(96, 1, 1, 0)));
    ASSERT_OK(cly_graph_conv(g, "3a/3x3", "3a/3x3_reduce", conv_p(128, 3, 1, 1)));
    ASSERT_OK(cly_graph_conv(g, "3a/5x5_reduce", "pool2", conv_p(16, 1, 1, 0)));
    ASSERT_OK(cly_graph_conv(g, "3a/5x5", "3a/5x5_reduce", conv_p(32, 5, 1, 2)));
    cly_pool_params pp = maxpool_p(3, 1);
    pp.pad = CLY_PAD(1);
    ASSERT_OK(cly_graph_pool(g, "3a/pool", "pool2", pp));
    ASSERT_OK(cly_graph_conv(g, "3a/pool_proj", "3a/pool", conv_p(32, 1, 1, 0)));
    ASSERT_OK(add_layer(g, CLY_LAYER_CONCAT, "3a/output",
                        (const char *[]){"3a/1x1", "3a/3x3", "3a/5x5", "3a/pool_proj"}, 4));
    ASSERT_OK(cly_graph_infer(g, 1));
    assert_shape(info_of(g, "3a/pool").output, 1, 192, 28, 28);
    assert_shape(info_of(g, "3a/output").output, 1, 256, 28, 28);
    ck_assert_int_eq(g->total_weights, 163328);
    ck_assert_int_eq(g->total_biases, 368);
    ck_assert_int_eq(params_of(g), 163696);
    ck_assert_int_eq(info_of(g, "3a/output").activations, 256 * 28 * 28);
    cly_graph_destroy(g);
}
END_TEST

/* FC -> CONV: an FC over 7x7x512 with 4096 outputs equals a 7x7 conv with
 * 4096 filters (102,760,448 weights either way). On a 384x384 image the conv
 * stack gives 12x12x512 and the converted head 6x6x1000 class scores. */
START_TEST(t_fc_as_conv)
{
    cly_graph *g = new_graph();
    ASSERT_OK(cly_graph_input(g, "pool5", 512, 7, 7));
    ASSERT_OK(cly_graph_fc(g, "fc6", "pool5", (cly_fc_params){.outputs = 4096}));
    ASSERT_OK(cly_graph_conv(g, "fc6_conv", "pool5", conv_p(4096, 7, 1, 0)));
    ASSERT_OK(cly_graph_infer(g, 1));
    ck_assert_int_eq(info_of(g, "fc6").weights, 102760448);
    ck_assert_int_eq(info_of(g, "fc6_conv").weights, 102760448);
    assert_shape(info_of(g, "fc6").output, 1, 4096, 1, 1);
    assert_shape(info_of(g, "fc6_conv").output, 1, 4096, 1, 1);
    ck_assert_int_eq(info_of(g, "fc6").flops, info_of(g, "fc6_conv").flops);
    cly_graph_destroy(g);

    g = new_graph();
    ASSERT_OK(cly_graph_input(g, "data", 3, 384, 384));
    const char *prev = "data";
    static const int64_t widths[5] = {64, 128, 256, 512, 512};
    static const int convs[5] = {2, 2, 3, 3, 3};
    char names[32][32];
    int k = 0;
    for (int s = 0; s < 5; s++) {
        for (int i = 0; i < convs[s]; i++) {
            snprintf(names[k], sizeof names[k], "conv%d_%d", s + 1, i + 1);
            cly_conv_params p = conv_p(widths[s], 3, 1, 1);
            p.relu = true;
            ASSERT_OK(cly_graph_conv(g, names[k], prev, p));
            prev = names[k++];
        }
        snprintf(names[k], sizeof names[k], "pool%d", s + 1);
        ASSERT_OK(cly_graph_pool(g, names[k], prev, maxpool_p(2, 2)));
        prev = names[k++];
    }
    ASSERT_OK(cly_graph_conv(g, "fc6", "pool5", conv_p(4096, 7, 1, 0)));
    ASSERT_OK(cly_graph_conv(g, "fc7", "fc6", conv_p(4096, 1, 1, 0)));
    ASSERT_OK(cly_graph_conv(g, "fc8", "fc7", conv_p(1000, 1, 1, 0)));
    ASSERT_OK(cly_graph_infer(g, 1));
    assert_shape(info_of(g, "pool5").output, 1, 512, 12, 12);
    assert_shape(info_of(g, "fc8").output, 1, 1000, 6, 6);
    ck_assert_int_eq(params_of(g), 138357544); /* same weights as VGG-16 */
    cly_graph_destroy(g);
}
END_TEST

START_TEST(t_batch_scales)
{
    cly_graph *g = new_graph();
    ASSERT_OK(cly_graph_input(g, "data", 3, 32, 32));
    ASSERT_OK(cly_graph_conv(g, "conv", "data", conv_p(16, 3, 1, 1)));
    ASSERT_OK(cly_graph_fc(g, "fc", "conv", (cly_fc_params){.outputs = 10}));
    ASSERT_OK(cly_graph_infer(g, 1));
    cly_layer_info c1 = info_of(g, "conv"), f1 = info_of(g, "fc");
    ASSERT_OK(cly_graph_infer(g, 8));
    cly_layer_info c8 = info_of(g, "conv"), f8 = info_of(g, "fc");
    assert_shape(c8.output, 8, 16, 32, 32);
    ck_assert_int_eq(c8.activations, 8 * c1.activations);
    ck_assert_int_eq(c8.flops, 8 * c1.flops);
    ck_assert_int_eq(c8.weights, c1.weights);
    ck_assert_int_eq(f8.flops, 8 * f1.flops);
    ck_assert_int_eq(f1.flops, 2 * 10 * 16 * 32 * 32);
    char *s = summary_of(g);
    ck_assert_ptr_nonnull(strstr(s, "batch 8"));
    free(s);
    cly_graph_destroy(g);
}
END_TEST

static Suite *graph_api_suite(void)
{
    Suite *s = suite_create("graph_api");
    TCase *tc = tcase_create("api");
    tcase_add_test(tc, t_type_strings);
    tcase_add_test(tc, t_null_and_lifecycle);
    tcase_add_test(tc, t_deep_copy);
    tcase_add_test(tc, t_defaults_applied);
    tcase_add_test(tc, t_alexnet_conv1);
    tcase_add_test(tc, t_notes_small_examples);
    tcase_add_test(tc, t_conv_not_integer);
    tcase_add_test(tc, t_conv_uneven_and_dilated);
    tcase_add_test(tc, t_pool_not_integer);
    tcase_add_test(tc, t_floor);
    tcase_add_test(tc, t_ceil);
    tcase_add_test(tc, t_ceil_drops_window);
    tcase_add_test(tc, t_add_concat);
    tcase_add_test(tc, t_topological_order);
    tcase_add_test(tc, t_other_layers);
    tcase_add_test(tc, t_in_place);
    tcase_add_test(tc, t_resnet_basic_block);
    tcase_add_test(tc, t_inception_module);
    tcase_add_test(tc, t_fc_as_conv);
    tcase_add_test(tc, t_batch_scales);
    suite_add_tcase(s, tc);
    return s;
}

RUN_SUITE(graph_api_suite)
