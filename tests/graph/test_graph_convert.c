/* cly_graph_fc_to_conv and cly_graph_set_input_size without a device: which
 * layers change and how, that parameter counts and output shapes stay, that
 * graphs without FC come back unchanged, VGG-16 on 384 x 384 giving 6 x 6
 * scores, and the errors. The values themselves are checked on a device in
 * tests/net/test_fc_conv.c. */
#include "helpers.h"

static cly_graph *new_graph(void)
{
    cly_graph *g;
    ASSERT_OK(cly_graph_create(&g));
    return g;
}

static char *text_of(const cly_graph *g)
{
    char *text;
    size_t size;
    ASSERT_OK(cly_graph_to_text(g, &text, &size));
    return text;
}

static cly_graph *converted(const cly_graph *g)
{
    cly_graph *c = NULL;
    ASSERT_OK(cly_graph_fc_to_conv(g, &c));
    ck_assert_ptr_nonnull(c);
    return c;
}

/* The layer as stored in a graph, through its net-file line. */
static void assert_line(const char *text, const char *line)
{
    ck_assert_msg(strstr(text, line) != NULL, "no line '%s' in:\n%s", line, text);
}

/* An MLP straight on the input, then a conv stack with an FC chain. */
START_TEST(t_fc_chain_becomes_convs)
{
    cly_graph *g = new_graph();
    ASSERT_OK(cly_graph_input(g, "data", 3, 32, 32));
    ASSERT_OK(cly_graph_conv(g, "conv1", "data", (cly_conv_params){.filters = 8, .size = {4, 4}, .stride = {4, 4}}));
    ASSERT_OK(cly_graph_pool(g, "pool1", "conv1", (cly_pool_params){.size = {2, 2}, .stride = {2, 2}}));
    ASSERT_OK(cly_graph_fc(g, "fc6", "pool1", (cly_fc_params){.outputs = 20, .relu = true}));
    ASSERT_OK(cly_graph_add(g, &(cly_layer){.type = CLY_LAYER_DROPOUT, .name = "drop6",
                                            .inputs = (const char *const[]){"fc6"}, .input_count = 1, .p.dropout = 0.5}));
    ASSERT_OK(cly_graph_fc(g, "fc7", "drop6", (cly_fc_params){.outputs = 12, .no_bias = true}));
    ASSERT_OK(cly_graph_relu(g, "relu7", "fc7"));
    ASSERT_OK(cly_graph_fc(g, "fc8", "relu7", (cly_fc_params){.outputs = 10}));
    ASSERT_OK(cly_graph_softmax(g, "prob", "fc8"));
    char *before = text_of(g);

    cly_graph *c = converted(g);
    char *text = text_of(c);
    assert_line(text, "conv fc6 < pool1 filters=20 size=4 relu\n");      /* 8 x 4 x 4 input */
    assert_line(text, "dropout drop6 < fc6 p=0.5\n");
    assert_line(text, "conv fc7 < drop6 filters=12 size=1 nobias\n");    /* 20 x 1 x 1 input */
    assert_line(text, "relu relu7 < fc7\n");
    assert_line(text, "conv fc8 < relu7 filters=10 size=1\n");
    assert_line(text, "softmax prob < fc8\n");
    ck_assert_ptr_null(strstr(text, "\nfc "));
    ck_assert_uint_eq(cly_graph_layer_count(c), cly_graph_layer_count(g));

    /* Same parameter counts and output shapes, layer by layer. */
    ASSERT_OK(cly_graph_infer(g, 2));
    ASSERT_OK(cly_graph_infer(c, 2));
    for (size_t i = 0; i < cly_graph_layer_count(g); i++) {
        cly_layer_info a, b;
        ASSERT_OK(cly_graph_layer_info(g, i, &a));
        ASSERT_OK(cly_graph_layer_info(c, i, &b));
        ck_assert_str_eq(a.name, b.name);
        ck_assert_int_eq(a.weights, b.weights);
        ck_assert_int_eq(a.biases, b.biases);
        ck_assert_int_eq(a.flops, b.flops);
        assert_shape(b.output, a.output.n, a.output.c, a.output.h, a.output.w);
    }
    ck_assert_int_eq(info_of(c, "fc6").weights, 20 * 8 * 4 * 4);

    /* The source graph is left as it was. */
    char *after = text_of(g);
    ck_assert_str_eq(before, after);
    free(before);
    free(after);
    free(text);
    cly_graph_destroy(c);
    cly_graph_destroy(g);
}
END_TEST

START_TEST(t_fc_on_input)
{
    cly_graph *g = new_graph();
    ASSERT_OK(cly_graph_input(g, "data", 1, 28, 28));
    ASSERT_OK(cly_graph_fc(g, "fc1", "data", (cly_fc_params){.outputs = 10}));
    cly_graph *c = converted(g);
    char *text = text_of(c);
    assert_line(text, "conv fc1 < data filters=10 size=28\n");
    free(text);
    cly_graph_destroy(c);
    cly_graph_destroy(g);
}
END_TEST

/* No FC: the same layers, byte for byte in net-file form. */
START_TEST(t_no_fc_is_identity)
{
    static const char *const nets[] = {"resnet18", "lenet"};
    for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++) {
        cly_graph *g;
        ASSERT_OK(cly_graph_builtin(nets[i], &g));
        cly_graph *c = converted(g);
        char *a = text_of(g), *b = text_of(c);
        if (strstr(a, "\nfc ")) /* lenet has FCs: only they change */
            ck_assert_str_ne(a, b);
        else
            ck_assert_str_eq(a, b);
        free(a);
        free(b);
        cly_graph_destroy(c);
        cly_graph_destroy(g);
    }
    /* A graph of an input alone. */
    cly_graph *g = new_graph();
    ASSERT_OK(cly_graph_input(g, "data", 3, 5, 5));
    cly_graph *c = converted(g);
    char *a = text_of(g), *b = text_of(c);
    ck_assert_str_eq(a, b);
    free(a);
    free(b);
    cly_graph_destroy(c);
    cly_graph_destroy(g);
}
END_TEST

/* The notes' figures: VGG-16 on 384 x 384 gives 6 x 6 x 1000 scores with
 * fc6 a 7 x 7 conv over 12 x 12 x 512, and keeps its 138,357,544 parameters. */
START_TEST(t_vgg16_on_384)
{
    cly_graph *g;
    ASSERT_OK(cly_graph_builtin("vgg16", &g));
    cly_graph *c = converted(g);
    ASSERT_OK(cly_graph_set_input_size(c, "data", 384, 384));
    ASSERT_OK(cly_graph_infer(c, 1));
    assert_shape(info_of(c, "pool5").output, 1, 512, 12, 12);
    assert_shape(info_of(c, "fc6").output, 1, 4096, 6, 6);
    assert_shape(info_of(c, "fc8").output, 1, 1000, 6, 6);
    assert_shape(info_of(c, "prob").output, 1, 1000, 6, 6);
    ck_assert_int_eq(info_of(c, "fc6").type, CLY_LAYER_CONV);
    int64_t params = 0;
    for (size_t i = 0; i < cly_graph_layer_count(c); i++) {
        cly_layer_info info;
        ASSERT_OK(cly_graph_layer_info(c, i, &info));
        params += info.weights + info.biases;
    }
    ck_assert_int_eq(params, 138357544);
    cly_graph_destroy(c);
    cly_graph_destroy(g);
}
END_TEST

START_TEST(t_errors)
{
    cly_graph *g = new_graph(), *c = NULL;
    ASSERT_FAIL(cly_graph_fc_to_conv(NULL, &c), CLY_ERROR_INVALID_ARGUMENT,
                "cly_graph_fc_to_conv: graph and out must not be NULL");
    ASSERT_FAIL(cly_graph_fc_to_conv(g, NULL), CLY_ERROR_INVALID_ARGUMENT,
                "cly_graph_fc_to_conv: graph and out must not be NULL");
    ASSERT_FAIL(cly_graph_fc_to_conv(g, &c), CLY_ERROR_INVALID_ARGUMENT,
                "cly_graph_fc_to_conv: the graph has no layers");
    /* A graph that does not infer: the message names the layer. */
    ASSERT_OK(cly_graph_input(g, "data", 3, 7, 7));
    ASSERT_OK(cly_graph_pool(g, "pool1", "data", (cly_pool_params){.size = {2, 2}, .stride = {2, 2}}));
    ASSERT_OK(cly_graph_fc(g, "fc1", "pool1", (cly_fc_params){.outputs = 4}));
    ASSERT_FAIL(cly_graph_fc_to_conv(g, &c), CLY_ERROR_INVALID_ARGUMENT,
                "cly_graph_fc_to_conv: pool1: (W - F)/S + 1 = (7 - 2)/2 + 1 = 3.5 is not an integer");
    ck_assert_ptr_null(c);
    cly_graph_destroy(g);

    g = new_graph();
    ASSERT_OK(cly_graph_fc(g, "fc1", "nosuch", (cly_fc_params){.outputs = 4}));
    ASSERT_FAIL_HAS(cly_graph_fc_to_conv(g, &c), CLY_ERROR_INVALID_ARGUMENT, "cly_graph_fc_to_conv: fc1: ");
    ASSERT_FAIL_HAS(cly_graph_fc_to_conv(g, &c), CLY_ERROR_INVALID_ARGUMENT, "nosuch");
    ck_assert_ptr_null(c);

    ASSERT_FAIL(cly_graph_set_input_size(NULL, "data", 4, 4), CLY_ERROR_INVALID_ARGUMENT,
                "cly_graph_set_input_size: graph and layer must not be NULL");
    ASSERT_FAIL(cly_graph_set_input_size(g, NULL, 4, 4), CLY_ERROR_INVALID_ARGUMENT,
                "cly_graph_set_input_size: graph and layer must not be NULL");
    ASSERT_FAIL(cly_graph_set_input_size(g, "data", 4, 4), CLY_ERROR_INVALID_ARGUMENT,
                "cly_graph_set_input_size: no layer 'data' in the graph");
    ASSERT_FAIL(cly_graph_set_input_size(g, "fc1", 4, 4), CLY_ERROR_INVALID_ARGUMENT,
                "fc1: cly_graph_set_input_size: a fc layer, not an input");
    ASSERT_OK(cly_graph_input(g, "data", 3, 7, 7));
    ASSERT_FAIL(cly_graph_set_input_size(g, "data", 0, 4), CLY_ERROR_INVALID_ARGUMENT,
                "data: cly_graph_set_input_size: h and w must be in [1, 2147483647], got 0 x 4");
    cly_graph_destroy(g);
    g = new_graph();
    ASSERT_OK(cly_graph_input(g, "data", 3, 7, 7));
    ASSERT_OK(cly_graph_infer(g, 1));
    ASSERT_OK(cly_graph_set_input_size(g, "data", 9, 5));
    ASSERT_OK(cly_graph_infer(g, 1));
    assert_shape(info_of(g, "data").output, 1, 3, 9, 5);
    cly_graph_destroy(g);
}
END_TEST

static Suite *graph_convert_suite(void)
{
    Suite *s = suite_create("graph_convert");
    TCase *tc = tcase_create("convert");
    tcase_add_test(tc, t_fc_chain_becomes_convs);
    tcase_add_test(tc, t_fc_on_input);
    tcase_add_test(tc, t_no_fc_is_identity);
    tcase_add_test(tc, t_vgg16_on_384);
    tcase_add_test(tc, t_errors);
    suite_add_tcase(s, tc);
    return s;
}

RUN_SUITE(graph_convert_suite)
