/* Whole networks: the notes' VGG-16 accounting built through the C API and
 * read from nets/vgg16.net (identical tables), and the shipped nets'
 * published parameter counts. */
#include "graph.h"
#include "helpers.h"

#define NET(file) CLY_NETS_DIR "/" file

/* VGG-16 as in nets/vgg16.net. With `separate_relu` every ReLU is a layer of
 * its own instead of fused: the totals must not change (ReLU works in place). */
static cly_graph *vgg16_api(bool separate_relu)
{
    cly_graph *g;
    ASSERT_OK(cly_graph_create(&g));
    ASSERT_OK(cly_graph_input(g, "data", 3, 224, 224));
    static const int64_t widths[5] = {64, 128, 256, 512, 512};
    static const int convs[5] = {2, 2, 3, 3, 3};
    char name[32], relu[32], prev[32] = "data";
    for (int s = 0; s < 5; s++) {
        for (int i = 0; i < convs[s]; i++) {
            snprintf(name, sizeof name, "conv%d_%d", s + 1, i + 1);
            cly_conv_params p = conv_p(widths[s], 3, 1, 1);
            p.relu = !separate_relu;
            ASSERT_OK(cly_graph_conv(g, name, prev, p));
            snprintf(prev, sizeof prev, "%s", name);
            if (separate_relu) {
                snprintf(relu, sizeof relu, "relu%d_%d", s + 1, i + 1);
                ASSERT_OK(cly_graph_relu(g, relu, prev));
                snprintf(prev, sizeof prev, "%s", relu);
            }
        }
        snprintf(name, sizeof name, "pool%d", s + 1);
        ASSERT_OK(cly_graph_pool(g, name, prev, maxpool_p(2, 2)));
        snprintf(prev, sizeof prev, "%s", name);
    }
    const char *in[1];
    cly_layer drop = {.type = CLY_LAYER_DROPOUT, .inputs = in, .input_count = 1, .p.dropout = 0.5};
    ASSERT_OK(cly_graph_fc(g, "fc6", "pool5", (cly_fc_params){.outputs = 4096, .relu = !separate_relu}));
    const char *fc6 = "fc6", *fc7 = "fc7";
    if (separate_relu) {
        ASSERT_OK(cly_graph_relu(g, "relu6", "fc6"));
        fc6 = "relu6";
    }
    in[0] = fc6;
    drop.name = "drop6";
    ASSERT_OK(cly_graph_add(g, &drop));
    ASSERT_OK(cly_graph_fc(g, "fc7", "drop6", (cly_fc_params){.outputs = 4096, .relu = !separate_relu}));
    if (separate_relu) {
        ASSERT_OK(cly_graph_relu(g, "relu7", "fc7"));
        fc7 = "relu7";
    }
    in[0] = fc7;
    drop.name = "drop7";
    ASSERT_OK(cly_graph_add(g, &drop));
    ASSERT_OK(cly_graph_fc(g, "fc8", "drop7", (cly_fc_params){.outputs = 1000}));
    ASSERT_OK(cly_graph_softmax(g, "prob", "fc8"));
    ASSERT_OK(cly_graph_infer(g, 1));
    return g;
}

/* The notes' per-layer table: output values and weights. */
static const struct {
    const char *name;
    int64_t c, h, w;
    int64_t activations, weights;
} vgg_table[] = {
    {"data", 3, 224, 224, 150528, 0},
    {"conv1_1", 64, 224, 224, 3211264, 1728},
    {"conv1_2", 64, 224, 224, 3211264, 36864},
    {"pool1", 64, 112, 112, 802816, 0},
    {"conv2_1", 128, 112, 112, 1605632, 73728},
    {"conv2_2", 128, 112, 112, 1605632, 147456},
    {"pool2", 128, 56, 56, 401408, 0},
    {"conv3_1", 256, 56, 56, 802816, 294912},
    {"conv3_2", 256, 56, 56, 802816, 589824},
    {"conv3_3", 256, 56, 56, 802816, 589824},
    {"pool3", 256, 28, 28, 200704, 0},
    {"conv4_1", 512, 28, 28, 401408, 1179648},
    {"conv4_2", 512, 28, 28, 401408, 2359296},
    {"conv4_3", 512, 28, 28, 401408, 2359296},
    {"pool4", 512, 14, 14, 100352, 0},
    {"conv5_1", 512, 14, 14, 100352, 2359296},
    {"conv5_2", 512, 14, 14, 100352, 2359296},
    {"conv5_3", 512, 14, 14, 100352, 2359296},
    {"pool5", 512, 7, 7, 25088, 0},
    {"fc6", 4096, 1, 1, 4096, 102760448},
    {"fc7", 4096, 1, 1, 4096, 16777216},
    {"fc8", 1000, 1, 1, 1000, 4096000},
};

static void check_vgg(const cly_graph *g)
{
    int64_t acts = 0, weights = 0;
    for (size_t i = 0; i < sizeof vgg_table / sizeof vgg_table[0]; i++) {
        cly_layer_info info = info_of(g, vgg_table[i].name);
        assert_shape(info.output, 1, vgg_table[i].c, vgg_table[i].h, vgg_table[i].w);
        ck_assert_int_eq(info.activations, vgg_table[i].activations);
        ck_assert_int_eq(info.weights, vgg_table[i].weights);
        ck_assert_int_eq(info.biases, info.type == CLY_LAYER_CONV || info.type == CLY_LAYER_FC ? info.output.c : 0);
        ck_assert(!info.rounded);
        acts += info.activations;
        weights += info.weights;
    }
    /* The table's sum is the figure printed: the input and the class
     * scores are in it, the in-place softmax (and ReLUs, dropouts) not. */
    ck_assert_int_eq(acts, 15237608);
    ck_assert_int_eq(weights, 138344128);
    ck_assert_int_eq(g->total_activations, 15237608);
    ck_assert_int_eq(g->total_weights, 138344128);
    ck_assert_int_eq(g->total_biases, 13416);
    ck_assert_int_eq(params_of(g), 138357544);
    /* CONV3-64 on 224x224x3: 224*224*64 outputs x 27 multiply-adds x 2 */
    ck_assert_int_eq(info_of(g, "conv1_1").flops, 2LL * 3211264 * 27);
    char *s = summary_of(g);
    ck_assert_ptr_nonnull(strstr(s, "138,344,128 weights + 13,416 biases = 138,357,544 parameters"));
    ck_assert_ptr_nonnull(strstr(s, "15,237,608 activation values (58.1 MiB)"));
    ck_assert_ptr_nonnull(strstr(s, "\nconv1_1  conv       64 x 224 x 224    3,211,264        1,728      64"));
    ck_assert_ptr_nonnull(strstr(s, "\nfc6      fc           4096 x 1 x 1        4,096  102,760,448   4,096"));
    free(s);
}

START_TEST(t_vgg16_api)
{
    cly_graph *g = vgg16_api(false);
    check_vgg(g);
    ck_assert_uint_eq(cly_graph_layer_count(g), 25);
    cly_graph_destroy(g);
}
END_TEST

START_TEST(t_vgg16_file_same_table)
{
    cly_graph *a = vgg16_api(false), *b;
    ASSERT_OK(cly_graph_load(NET("vgg16.net"), &b));
    ASSERT_OK(cly_graph_infer(b, 1));
    check_vgg(b);
    char *sa = summary_of(a), *sb = summary_of(b);
    ck_assert_str_eq(sa, sb);
    free(sa);
    free(sb);
    cly_graph_destroy(a);
    cly_graph_destroy(b);
}
END_TEST

/* Separate ReLU layers change the table, not the totals. */
START_TEST(t_vgg16_separate_relu)
{
    cly_graph *a = vgg16_api(false), *b = vgg16_api(true);
    check_vgg(b);
    ck_assert_uint_eq(cly_graph_layer_count(b), 25 + 15);
    ck_assert_int_eq(a->total_activations, b->total_activations);
    /* ... except for the ReLUs' own FLOPs, 1 per value: 13 conv outputs and fc6, fc7 */
    ck_assert_int_eq(b->total_flops - a->total_flops, 13547520 + 2 * 4096);
    cly_graph_destroy(a);
    cly_graph_destroy(b);
}
END_TEST

START_TEST(t_vgg16_batch)
{
    cly_graph *g;
    ASSERT_OK(cly_graph_load(NET("vgg16.net"), &g));
    ASSERT_OK(cly_graph_infer(g, 4));
    ck_assert_int_eq(g->total_activations, 4 * 15237608LL);
    ck_assert_int_eq(g->total_weights + g->total_biases, 138357544);
    assert_shape(info_of(g, "prob").output, 4, 1000, 1, 1);
    char *s = summary_of(g);
    ck_assert_ptr_nonnull(strstr(s, "60,950,432 activation values (232.5 MiB)"));
    free(s);
    cly_graph_destroy(g);
}
END_TEST

/* Published counts: Caffe's AlexNet 60,965,224; torchvision AlexNet
 * 61,100,840 and ResNet-18 11,689,512. */
START_TEST(t_shipped_nets)
{
    static const struct {
        const char *file;
        int64_t params;
        const char *last;
        int64_t classes;
    } nets[] = {
        {NET("alexnet.net"), 60965224, "prob", 1000},
        {NET("alexnet-torchvision.net"), 61100840, "fc8", 1000},
        {NET("resnet18.net"), 11689512, "fc", 1000},
        /* LeNet-5: 6*25+6 + 16*6*25+16 + 400*120+120 + 120*84+84 + 84*10+10 */
        {NET("lenet.net"), 61706, "output", 10},
        /* weights: stem 16*3*9 = 432, grouped 16*(16/4)*9 = 576, dilated 8*16*9
         * = 1,152, wide 8*16*1*3 = 384, local 9*9*4*16*9 = 46,656, fc 40*10 =
         * 400; biases: 16 + 2*16 (bn) + 8 + 8 + 4*9*9 (local) = 388 */
        {NET("every-layer.net"), 49600 + 388, "prob", 10},
    };
    for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++) {
        cly_graph *g;
        ASSERT_OK(cly_graph_load(nets[i].file, &g));
        ASSERT_OK(cly_graph_infer(g, 1));
        ck_assert_msg(params_of(g) == nets[i].params, "%s: %lld parameters", nets[i].file, (long long)params_of(g));
        assert_shape(info_of(g, nets[i].last).output, 1, nets[i].classes, 1, 1);
        cly_graph_destroy(g);
    }
}
END_TEST

START_TEST(t_alexnet_details)
{
    cly_graph *g;
    ASSERT_OK(cly_graph_load(NET("alexnet.net"), &g));
    ASSERT_OK(cly_graph_infer(g, 1));
    cly_layer_info c1 = info_of(g, "conv1");
    assert_shape(c1.output, 1, 96, 55, 55);
    ck_assert_int_eq(c1.weights + c1.biases, 34944);
    assert_shape(info_of(g, "pool1").output, 1, 96, 27, 27);
    assert_shape(info_of(g, "pool2").output, 1, 256, 13, 13);
    assert_shape(info_of(g, "pool5").output, 1, 256, 6, 6);
    ck_assert_int_eq(info_of(g, "conv2").weights, 256 * 48 * 25); /* two towers: groups=2 */
    ck_assert_int_eq(info_of(g, "fc6").weights, 4096LL * 9216);
    const cly_lrn_params *lrn = &g->nodes[2].layer.p.lrn;
    ck_assert(lrn->size == 5 && lrn->alpha == 1e-4 && lrn->beta == 0.75 && lrn->k == 2 &&
              lrn->alpha_mode == CLY_LRN_ALPHA_RAW);
    cly_graph_destroy(g);

    /* torchvision floors conv1: (224 - 11 + 2*2)/4 + 1 = 55.25 -> 55. */
    ASSERT_OK(cly_graph_load(NET("alexnet-torchvision.net"), &g));
    ASSERT_OK(cly_graph_infer(g, 1));
    assert_shape(info_of(g, "conv1").output, 1, 64, 55, 55);
    ck_assert(info_of(g, "conv1").rounded);
    cly_graph_destroy(g);
}
END_TEST

START_TEST(t_resnet18_details)
{
    cly_graph *g;
    ASSERT_OK(cly_graph_load(NET("resnet18.net"), &g));
    ASSERT_OK(cly_graph_infer(g, 1));
    assert_shape(info_of(g, "conv1").output, 1, 64, 112, 112);
    assert_shape(info_of(g, "maxpool").output, 1, 64, 56, 56);
    cly_layer_info d = info_of(g, "layer2.0.downsample.0");
    assert_shape(d.output, 1, 128, 28, 28);
    ck_assert(d.rounded);
    ck_assert_int_eq(d.weights, 128 * 64);
    assert_shape(info_of(g, "layer4.1.relu2").output, 1, 512, 7, 7);
    assert_shape(info_of(g, "avgpool").output, 1, 512, 1, 1);
    ck_assert_int_eq(g->bn_running, 9600); /* 2 x (64*5 + 128*5 + 256*5 + 512*5) */
    char *s = summary_of(g);
    ck_assert_ptr_nonnull(strstr(s, "11,678,912 weights + 10,600 biases = 11,689,512 parameters"));
    free(s);
    cly_graph_destroy(g);
}
END_TEST

static Suite *graph_nets_suite(void)
{
    Suite *s = suite_create("graph_nets");
    TCase *tc = tcase_create("nets");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, t_vgg16_api);
    tcase_add_test(tc, t_vgg16_file_same_table);
    tcase_add_test(tc, t_vgg16_separate_relu);
    tcase_add_test(tc, t_vgg16_batch);
    tcase_add_test(tc, t_shipped_nets);
    tcase_add_test(tc, t_alexnet_details);
    tcase_add_test(tc, t_resnet18_details);
    suite_add_tcase(s, tc);
    return s;
}

RUN_SUITE(graph_nets_suite)
