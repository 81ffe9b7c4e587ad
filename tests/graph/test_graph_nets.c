/* Whole networks: the notes' VGG-16 accounting built through the C API and
 * read from nets/vgg16.net (identical tables), the shipped nets' published
 * parameter counts, the model zoo's hand-computed totals and layer sizes, and
 * the built-in nets by name. */
#include "graph/graph.h"
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

/* Two inferred graphs print the same summary; both are destroyed. */
static void assert_same_summary(cly_graph *a, cly_graph *b)
{
    char *sa = summary_of(a), *sb = summary_of(b);
    ck_assert_str_eq(sa, sb);
    free(sa);
    free(sb);
    cly_graph_destroy(a);
    cly_graph_destroy(b);
}

START_TEST(t_vgg16_file_same_table)
{
    cly_graph *a = vgg16_api(false), *b;
    ASSERT_OK(cly_graph_load(NET("vgg16.net"), &b));
    ASSERT_OK(cly_graph_infer(b, 1));
    check_vgg(b);
    assert_same_summary(a, b);
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

/* Published counts: single-tower AlexNet 62,378,344 (34,944 + 614,656 +
 * 885,120 + 1,327,488 + 884,992 conv, 37,752,832 + 16,781,312 + 4,097,000
 * FC); Caffe's two-tower AlexNet 60,965,224; torchvision AlexNet
 * 61,100,840, ResNet-18 11,689,512, ResNet-34 21,797,672, ResNet-50
 * 25,557,032 and GoogLeNet without aux classifiers 6,624,904. bvlc_googlenet
 * without its aux classifiers (about 7.0M) and ZFNet: see t_zoo_totals. */
START_TEST(t_shipped_nets)
{
    static const struct {
        const char *file;
        int64_t params;
        const char *last;
        int64_t classes;
    } nets[] = {
        {NET("alexnet.net"), 62378344, "prob", 1000},
        {NET("alexnet-caffe.net"), 60965224, "prob", 1000},
        {NET("alexnet-torchvision.net"), 61100840, "fc8", 1000},
        {NET("resnet18.net"), 11689512, "fc", 1000},
        {NET("resnet34.net"), 21797672, "fc", 1000},
        {NET("resnet50.net"), 25557032, "fc", 1000},
        {NET("googlenet.net"), 6998552, "prob", 1000},
        {NET("googlenet-torchvision.net"), 6624904, "fc", 1000},
        {NET("zfnet.net"), 62357608, "prob", 1000},
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
    ck_assert_int_eq(info_of(g, "conv2").weights, 256 * 96 * 25); /* one tower */
    ck_assert_int_eq(info_of(g, "fc6").weights, 4096LL * 9216);
    const cly_lrn_params *lrn = &g->nodes[2].layer.p.lrn;
    ck_assert(lrn->size == 5 && lrn->alpha == 1e-4 && lrn->beta == 0.75 && lrn->k == 2 &&
              lrn->alpha_mode == CLY_LRN_ALPHA_RAW);
    cly_graph_destroy(g);

    /* Caffe's two towers: groups=2, the same shapes. */
    ASSERT_OK(cly_graph_load(NET("alexnet-caffe.net"), &g));
    ASSERT_OK(cly_graph_infer(g, 1));
    ck_assert_int_eq(info_of(g, "conv2").weights, 256 * 48 * 25);
    ck_assert_int_eq(info_of(g, "conv4").weights, 384 * 192 * 9);
    assert_shape(info_of(g, "pool5").output, 1, 256, 6, 6);
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

/* The built-in net `name`, inferred at `batch`. */
static cly_graph *builtin_at(const char *name, int64_t batch)
{
    cly_graph *g;
    ASSERT_OK(cly_graph_builtin(name, &g));
    ASSERT_OK(cly_graph_infer(g, batch));
    return g;
}

/* The model zoo's totals at batch 1. Each figure was computed by hand from
 * the published layer tables, not by running clayer (a short Python
 * calculation: per conv K*C*F*F weights plus K biases, or 2K for batch norm
 * scale and shift; per layer the output C*H*W, with the sizes of the
 * papers' figures), then checked against the published parameter counts:
 *   ZFNet (Zeiler & Fergus 2013, Fig. 3): conv 14,208 + 614,656 + 885,120 +
 *     1,327,488 + 884,992, fc 37,752,832 + 16,781,312 + 4,097,000 =
 *     62,357,608 (the usual "62.3M"). Activations: input 150,528, conv1
 *     96x110x110, pool1 and norm1 96x55x55, conv2 256x26x26, pool2 and norm2
 *     256x13x13, conv3-5 (384+384+256)x13x13, pool5 9,216, fc 4096+4096+1000.
 *   GoogLeNet, bvlc_googlenet without aux classifiers: 6,998,552 (about
 *     7.0M; torchvision's 6,624,904 plus the 5x5 branches' extra weights and
 *     conv biases, minus batch norm).
 *   googlenet-torchvision: 6,624,904, torchvision's published figure.
 *   ResNet-34 21,797,672 and ResNet-50 25,557,032: torchvision's published
 *     figures.
 * Activations: the input and every layer output; a relu, dropout or softmax
 * that alone reads its input is in place and not counted (docs/net-format.md),
 * so ResNet blocks count conv, bn, (downsample conv, bn), add; inception
 * modules their six convs (+ bn in the torchvision variant), the branch pool
 * and the concat. */
static const struct {
    const char *name, *last;
    int64_t weights, biases, activations, classes;
} zoo[] = {
    {"zfnet", "prob", 62347040, 10568, 2343976, 1000},
    {"googlenet", "prob", 6990272, 8280, 6834584, 1000},
    {"googlenet-tv", "fc", 6609344, 15560, 9257928, 1000},
    {"resnet34", "fc", 21779648, 18024, 9208808, 1000},
    {"resnet50", "fc", 25502912, 54120, 28101608, 1000},
};

START_TEST(t_zoo_totals)
{
    for (size_t i = 0; i < sizeof zoo / sizeof zoo[0]; i++) {
        cly_graph *g = builtin_at(zoo[i].name, 1);
        ck_assert_msg(g->total_weights == zoo[i].weights && g->total_biases == zoo[i].biases,
                      "%s: %lld weights + %lld biases", zoo[i].name, (long long)g->total_weights,
                      (long long)g->total_biases);
        ck_assert_int_eq(params_of(g), zoo[i].weights + zoo[i].biases);
        ck_assert_msg(g->total_activations == zoo[i].activations, "%s: %lld activations", zoo[i].name,
                      (long long)g->total_activations);
        assert_shape(info_of(g, zoo[i].last).output, 1, zoo[i].classes, 1, 1);
        cly_graph_destroy(g);
        /* Activations scale with the batch, parameters do not. */
        g = builtin_at(zoo[i].name, 3);
        ck_assert_int_eq(g->total_activations, 3 * zoo[i].activations);
        ck_assert_int_eq(params_of(g), zoo[i].weights + zoo[i].biases);
        cly_graph_destroy(g);
    }
}
END_TEST

/* Every built-in net parses and infers at batch 1; the embedded text is the
 * file in nets/; the aliases name the same nets; an unknown name lists them. */
START_TEST(t_builtin_nets)
{
    size_t count = 0;
    for (const char *name; (name = cly_graph_builtin_name(count)) != NULL; count++) {
        cly_graph *a = builtin_at(name, 1), *b;
        char path[512];
        snprintf(path, sizeof path, CLY_NETS_DIR "/%s.net", name);
        ASSERT_OK(cly_graph_load(path, &b));
        ASSERT_OK(cly_graph_infer(b, 1));
        assert_same_summary(a, b);
    }
    ck_assert_uint_ge(count, 12);
    static const char *const aliases[][2] = {{"alexnet-tv", "alexnet-torchvision"},
                                             {"googlenet-tv", "googlenet-torchvision"}};
    for (size_t i = 0; i < 2; i++)
        assert_same_summary(builtin_at(aliases[i][0], 1), builtin_at(aliases[i][1], 1));
    cly_graph *g = NULL;
    ASSERT_FAIL_HAS(cly_graph_builtin("googlenet-v3", &g), CLY_ERROR_INVALID_ARGUMENT, "zfnet");
    ck_assert_ptr_null(g);
}
END_TEST

/* ZFNet's Fig. 3 sizes: 110, 55, 26, 13, 13, 13, 6. */
START_TEST(t_zfnet_details)
{
    cly_graph *g = builtin_at("zfnet", 1);
    cly_layer_info c1 = info_of(g, "conv1");
    assert_shape(c1.output, 1, 96, 110, 110);
    ck_assert(c1.rounded); /* (224 - 7 + 2*1)/2 + 1 = 110.5 -> 110 */
    ck_assert_int_eq(c1.weights, 96 * 3 * 7 * 7);
    cly_layer_info p1 = info_of(g, "pool1");
    assert_shape(p1.output, 1, 96, 55, 55);
    ck_assert(p1.rounded); /* (110 - 3)/2 + 1 = 54.5 -> 55 */
    assert_shape(info_of(g, "norm1").output, 1, 96, 55, 55);
    cly_layer_info c2 = info_of(g, "conv2");
    assert_shape(c2.output, 1, 256, 26, 26);
    ck_assert(!c2.rounded);
    ck_assert_int_eq(c2.weights, 256 * 96 * 25); /* one tower: no groups */
    assert_shape(info_of(g, "pool2").output, 1, 256, 13, 13);
    assert_shape(info_of(g, "conv3").output, 1, 384, 13, 13);
    assert_shape(info_of(g, "conv4").output, 1, 384, 13, 13);
    assert_shape(info_of(g, "conv5").output, 1, 256, 13, 13);
    assert_shape(info_of(g, "pool5").output, 1, 256, 6, 6);
    ck_assert_int_eq(info_of(g, "fc6").weights, 4096LL * 9216);
    cly_graph_destroy(g);
}
END_TEST

/* GoogLeNet: Table 1's sizes and depths, Caffe's ceil pooling, LRN. */
START_TEST(t_googlenet_details)
{
    static const struct {
        const char *layer;
        int64_t c, hw;
    } table[] = {
        {"conv1/7x7_s2", 64, 112},        {"pool1/3x3_s2", 64, 56},         {"conv2/3x3", 192, 56},
        {"pool2/3x3_s2", 192, 28},        {"inception_3a/output", 256, 28}, {"inception_3b/output", 480, 28},
        {"pool3/3x3_s2", 480, 14},        {"inception_4a/output", 512, 14}, {"inception_4b/output", 512, 14},
        {"inception_4c/output", 512, 14}, {"inception_4d/output", 528, 14}, {"inception_4e/output", 832, 14},
        {"pool4/3x3_s2", 832, 7},         {"inception_5a/output", 832, 7},  {"inception_5b/output", 1024, 7},
        {"pool5/7x7_s1", 1024, 1},
    };
    cly_graph *g = builtin_at("googlenet", 1);
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        assert_shape(info_of(g, table[i].layer).output, 1, table[i].c, table[i].hw, table[i].hw);
    /* 112 -> 56 and 28 -> 14 only by rounding up: (112 - 3)/2 + 1 = 55.5 */
    ck_assert(info_of(g, "pool1/3x3_s2").rounded);
    ck_assert(info_of(g, "pool3/3x3_s2").rounded);
    ck_assert(info_of(g, "conv1/7x7_s2").rounded);
    ck_assert_int_eq(info_of(g, "inception_3a/5x5").weights, 32 * 16 * 5 * 5);
    ck_assert_int_eq(info_of(g, "inception_3a/5x5").biases, 32);
    ck_assert_int_eq(info_of(g, "pool1/norm1").type, CLY_LAYER_LRN);
    ck_assert_int_eq(info_of(g, "conv2/norm2").type, CLY_LAYER_LRN);
    ck_assert_int_eq(g->bn_running, 0);
    cly_graph_destroy(g);

    /* torchvision: 3x3 in the third branch, batch norm (eps 1e-3), no LRN,
     * maxpool4 2x2/2; same module widths. */
    g = builtin_at("googlenet-tv", 1);
    assert_shape(info_of(g, "maxpool1").output, 1, 64, 56, 56);
    assert_shape(info_of(g, "inception3a.output").output, 1, 256, 28, 28);
    assert_shape(info_of(g, "maxpool4").output, 1, 832, 7, 7);
    assert_shape(info_of(g, "inception5b.output").output, 1, 1024, 7, 7);
    assert_shape(info_of(g, "avgpool").output, 1, 1024, 1, 1);
    ck_assert_int_eq(info_of(g, "inception3a.branch3.1.conv").weights, 32 * 16 * 3 * 3);
    ck_assert_int_eq(info_of(g, "inception3a.branch3.1.conv").biases, 0);
    for (size_t i = 0; i < g->count; i++) {
        ck_assert_int_ne(g->nodes[i].layer.type, CLY_LAYER_LRN);
        if (g->nodes[i].layer.type == CLY_LAYER_BATCHNORM)
            ck_assert(g->nodes[i].layer.p.batchnorm.epsilon == 1e-3);
    }
    ck_assert_int_eq(g->bn_running, 14560); /* 2 x every conv's filters: 7,280 */
    cly_graph_destroy(g);
}
END_TEST

/* ResNet-34 and -50: stage sizes, projection shortcuts, v1.5 strides. */
START_TEST(t_resnet_zoo_details)
{
    cly_graph *g = builtin_at("resnet34", 1);
    assert_shape(info_of(g, "layer1.2.relu2").output, 1, 64, 56, 56);
    assert_shape(info_of(g, "layer2.3.relu2").output, 1, 128, 28, 28);
    assert_shape(info_of(g, "layer3.5.relu2").output, 1, 256, 14, 14);
    assert_shape(info_of(g, "layer4.2.relu2").output, 1, 512, 7, 7);
    ck_assert_int_eq(info_of(g, "layer3.0.downsample.0").weights, 256 * 128);
    /* 2 x 8,512 channels: 64 + 64*6 + 128*8 + 128 + 256*12 + 256 + 512*6 + 512 */
    ck_assert_int_eq(g->bn_running, 17024);
    cly_graph_destroy(g);

    g = builtin_at("resnet50", 1);
    /* layer1.0 projects 64 -> 256 channels at stride 1 */
    cly_layer_info d = info_of(g, "layer1.0.downsample.0");
    assert_shape(d.output, 1, 256, 56, 56);
    ck_assert_int_eq(d.weights, 256 * 64);
    ck_assert(!d.rounded);
    /* v1.5: the first 1x1 keeps 56x56, the 3x3 strides to 28x28 */
    assert_shape(info_of(g, "layer2.0.conv1").output, 1, 128, 56, 56);
    cly_layer_info c2 = info_of(g, "layer2.0.conv2");
    assert_shape(c2.output, 1, 128, 28, 28);
    ck_assert(c2.rounded); /* (56 - 3 + 2*1)/2 + 1 = 28.5 -> 28 */
    assert_shape(info_of(g, "layer2.0.conv3").output, 1, 512, 28, 28);
    assert_shape(info_of(g, "layer3.5.relu3").output, 1, 1024, 14, 14);
    assert_shape(info_of(g, "layer4.2.relu3").output, 1, 2048, 7, 7);
    assert_shape(info_of(g, "avgpool").output, 1, 2048, 1, 1);
    ck_assert_int_eq(info_of(g, "fc").weights, 2048 * 1000);
    for (size_t i = 0; i < g->count; i++)
        if (g->nodes[i].layer.type == CLY_LAYER_BATCHNORM)
            ck_assert(g->nodes[i].layer.p.batchnorm.epsilon == 0 || g->nodes[i].layer.p.batchnorm.epsilon == 1e-5);
    /* 2 x (64 + 6*64*3 + 256 + 6*128*4 + 512 + 6*256*6 + 1024 + 6*512*3 + 2048) */
    ck_assert_int_eq(g->bn_running, 53120);
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
    tcase_add_test(tc, t_zoo_totals);
    tcase_add_test(tc, t_builtin_nets);
    tcase_add_test(tc, t_zfnet_details);
    tcase_add_test(tc, t_googlenet_details);
    tcase_add_test(tc, t_resnet_zoo_details);
    suite_add_tcase(s, tc);
    return s;
}

RUN_SUITE(graph_nets_suite)
