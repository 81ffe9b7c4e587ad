/* ONNX export: nets exported (cly_net_export_onnx, _buffer) and imported
 * again (cly_graph_import_onnx_buffer, cly_onnx_load) give the same
 * parameters and the same outputs, bit for bit: built-in nets with seeded
 * weights and batch-norm statistics set to non-trivial values, a net of
 * the other layer variants, and a net trained a few SGD steps. Layers ONNX
 * cannot express are refused naming the layer; NULL arguments and an
 * unwritable path are clean errors that leave no file. onnx.checker runs
 * on exported files in check_onnx_export.py (the test onnx_export_check). */
#include "io/onnx.h"
#include "net/net.h"
#include "test_util.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OK(ctx, call) ck_assert_msg((call) == CLY_SUCCESS, "%s: %s", #call, cly_last_error(ctx))

/* The layers of the other variants: leaky and bounded relus, equal-bin
 * adaptive pooling (bins one column wide: see t_adaptive), a three-input add, average pooling without the
 * padding, grouped, dilated and asymmetric convolutions, LRN with the raw
 * alpha, LRN on an FC output (a Reshape back to 4-D), concat of a 2-D and
 * a 4-D value, batch norm after it, a floored conv, a ceil-rounded
 * pool, a softmax over a map, two outputs. */
static const char variants_net[] =
    "input data c=3 h=17 w=17\n"
    "conv c1 < data filters=8 size=3 stride=2 pad=0,1,0,1 round=floor\n"
    "relu leaky < c1 slope=0.1\n"
    "conv c2 < leaky filters=8 size=3 pad=2 dilation=2 groups=2 nobias\n"
    "relu six < c2 max=6\n"
    "conv c3 < six filters=8 size=1x3 pad=0x1\n"
    "add sum3 < leaky six c3\n"
    "lrn norm < sum3 size=3 alpha=0.001 beta=0.75 k=2 alpha_mode=raw\n"
    "pool pavg < norm avg size=3 stride=1 pad=1 exclude_pad\n"
    "pool pmax < norm max size=3x1 stride=2x1 round=ceil\n"
    "adaptive_avgpool ada < pavg out=4x8\n"
    "concat cat < ada pmax\n"
    "softmax mapsoft < cat\n"
    "fc f1 < cat outputs=12 relu\n"
    "fc f2 < cat outputs=6\n"
    "lrn fnorm < f2 size=3 alpha=1e-4 beta=0.75 k=1\n"
    "concat fcat < f1 fnorm\n"
    "batchnorm bn < fcat eps=0.001\n"
    "relu bnrelu < bn\n"
    "dropout drop < bnrelu p=0.25\n"
    "fc out < drop outputs=5\n"
    "softmax prob < out\n";

static uint64_t rng_state = 12345;

static float uniform(float lo, float hi)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return lo + (hi - lo) * (float)((rng_state >> 40) / 16777216.0);
}

/* Batch-norm statistics and affine parameters other than the defaults
 * (scale 1, shift 0, mean 0, var 1), which would hide a swapped array. */
static void set_batchnorm(cly_net *net, const cly_graph *g)
{
    for (size_t i = 0; i < g->count; i++) {
        const cly_node *n = &g->nodes[i];
        if (n->layer.type != CLY_LAYER_BATCHNORM)
            continue;
        int64_t c = n->out.c;
        float *v = malloc((size_t)c * sizeof *v);
        ck_assert_ptr_nonnull(v);
        const float lo[4] = {0.5f, -0.5f, -0.5f, 0.5f}, hi[4] = {1.5f, 0.5f, 0.5f, 2.0f};
        for (int k = 0; k < 4; k++) {
            for (int64_t j = 0; j < c; j++)
                v[j] = uniform(lo[k], hi[k]);
            OK(net->ctx, cly_net_set_param(net, n->name, (cly_param_kind)k, v, c));
        }
        free(v);
    }
}

/* Every parameter array of `a` equal in `b`, bit for bit, and every graph
 * output too (tolerance 0) or within tolerance x the largest magnitude. */
static void same_net(const cly_net *a, const cly_net *b, const char *what, double tolerance)
{
    const cly_graph *g = a->graph;
    for (size_t i = 0; i < g->count; i++) {
        const cly_node *n = &g->nodes[i];
        bool output = n->consumers == 0 && n->layer.type != CLY_LAYER_INPUT;
        for (int k = 0; k < 4 && !output; k++) {
            int64_t count;
            OK(a->ctx, cly_net_param_count(a, n->name, (cly_param_kind)k, &count));
            if (count == 0)
                continue;
            float *pa = malloc((size_t)count * sizeof *pa), *pb = malloc((size_t)count * sizeof *pb);
            ck_assert(pa && pb);
            OK(a->ctx, cly_net_get_param(a, n->name, (cly_param_kind)k, pa, count));
            /* A fused ReLU's layer comes back as LAYER/pre_relu + LAYER. */
            char name[80];
            snprintf(name, sizeof name, "%s%s", n->name,
                     cly_graph_find(b->graph, n->name) >= 0 &&
                             b->graph->nodes[cly_graph_find(b->graph, n->name)].layer.type == CLY_LAYER_RELU &&
                             n->layer.type != CLY_LAYER_RELU
                         ? "/pre_relu"
                         : "");
            OK(b->ctx, cly_net_get_param(b, name, (cly_param_kind)k, pb, count));
            ck_assert_msg(memcmp(pa, pb, (size_t)count * sizeof *pa) == 0, "%s: %s kind %d differs", what, n->name, k);
            free(pa);
            free(pb);
        }
        if (!output || n->layer.type == CLY_LAYER_DROPOUT) /* an imported Dropout aliases its input */
            continue;
        int64_t count = n->activations;
        float *ya = malloc((size_t)count * sizeof *ya), *yb = malloc((size_t)count * sizeof *yb);
        ck_assert(ya && yb);
        OK(a->ctx, cly_net_get_output(a, n->name, ya, count));
        OK(b->ctx, cly_net_get_output(b, n->name, yb, count));
        int64_t diff = 0;
        double scale = 0;
        for (int64_t j = 0; j < count; j++)
            scale = fmax(scale, fabs(ya[j]));
        for (int64_t j = 0; j < count; j++)
            diff += tolerance ? fabs(ya[j] - yb[j]) > tolerance * scale : memcmp(&ya[j], &yb[j], sizeof *ya) != 0;
        ck_assert_msg(diff == 0, "%s: output %s: %lld of %lld values differ (first %g vs %g)", what, n->name,
                      (long long)diff, (long long)count, ya[0], yb[0]);
        free(ya);
        free(yb);
    }
}

/* Random inputs into every INPUT layer of both nets, then a forward each. */
static void forward_both(cly_net *a, cly_net *b)
{
    const cly_graph *g = a->graph;
    for (size_t i = 0; i < g->count; i++) {
        const cly_node *n = &g->nodes[i];
        if (n->layer.type != CLY_LAYER_INPUT)
            continue;
        float *x = malloc((size_t)n->activations * sizeof *x);
        ck_assert_ptr_nonnull(x);
        for (int64_t j = 0; j < n->activations; j++)
            x[j] = uniform(-1, 1);
        OK(a->ctx, cly_net_set_input(a, n->name, x, n->activations));
        OK(b->ctx, cly_net_set_input(b, n->name, x, n->activations));
        free(x);
    }
    OK(a->ctx, cly_net_forward(a));
    OK(b->ctx, cly_net_forward(b));
}

/* Export `net` to memory, import it, run both: the same bits (see same_net). */
static void round_trip(cly_net *net, const char *what, double tolerance)
{
    cly_context *ctx = net->ctx;
    void *data = NULL;
    size_t size = 0;
    OK(ctx, cly_net_export_onnx_buffer(net, &data, &size));
    cly_graph *g2 = NULL;
    cly_weights *w2 = NULL;
    OK(NULL, cly_graph_import_onnx_buffer(data, size, what, &g2, &w2));
    cly_net *net2 = NULL;
    cly_net_options o = {.batch = net->options.batch};
    OK(ctx, cly_net_create(ctx, g2, &o, &net2));
    OK(ctx, cly_net_set_weights(net2, w2));
    forward_both(net, net2);
    same_net(net, net2, what, tolerance);
    cly_net_destroy(net2);
    cly_graph_destroy(g2);
    cly_weights_destroy(w2);
    free(data);
}

static cly_graph *graph_of(const char *builtin, const char *text, int64_t hw)
{
    cly_graph *g = NULL;
    if (builtin)
        OK(NULL, cly_graph_builtin(builtin, &g));
    else
        OK(NULL, cly_graph_parse(text, strlen(text), "variants", &g));
    if (hw)
        OK(NULL, cly_graph_set_input_size(g, g->nodes[0].layer.type == CLY_LAYER_INPUT ? g->nodes[0].name : "data",
                                          hw, hw));
    return g;
}

static void check_seeded(const char *builtin, const char *text, int64_t hw, int64_t batch, double tolerance)
{
    cly_context *ctx = cly_test_context();
    cly_graph *g = graph_of(builtin, text, hw);
    cly_net *net = NULL;
    OK(ctx, cly_net_create(ctx, g, &(cly_net_options){.batch = batch}, &net));
    OK(ctx, cly_net_init_params(net, CLY_INIT_HE, 7));
    set_batchnorm(net, g);
    round_trip(net, builtin ? builtin : "variants", tolerance);
    cly_net_destroy(net);
    cly_graph_destroy(g);
    cly_context_destroy(ctx);
}

START_TEST(t_lenet)
{
    check_seeded("lenet", NULL, 0, 3, 0); /* FC + softmax, average pooling */
}
END_TEST

START_TEST(t_fashion)
{
    check_seeded("fashion", NULL, 0, 2, 0); /* max pooling, dropout between FCs */
}
END_TEST

START_TEST(t_resnet18)
{
    check_seeded("resnet18", NULL, 64, 1, 0); /* batch norm, residual adds, gap */
}
END_TEST

START_TEST(t_googlenet)
{
    check_seeded("googlenet", NULL, 0, 1, 0); /* concat, LRN, floored convs, ceil-rounded pools */
}
END_TEST

START_TEST(t_variants)
{
    check_seeded(NULL, variants_net, 0, 2, 0);
}
END_TEST

/* Adaptive pooling with equal bins exports as an AveragePool, which comes
 * back as a pool layer: the same average, but the pool kernel sums a bin in
 * one running sum where the adaptive kernel sums rows first, so bins taller
 * and wider than one cell agree within float rounding, not bit for bit. */
START_TEST(t_adaptive)
{
    check_seeded(NULL, "input data c=3 h=12 w=12\nadaptive_avgpool ada < data out=3x4\n", 0, 2, 1e-6);
}
END_TEST

/* A net trained a few SGD steps (batch statistics moved the running ones),
 * exported to a file and loaded with cly_onnx_load into an inference net. */
START_TEST(t_trained)
{
    cly_context *ctx = cly_test_context();
    static const char text[] = "input data c=2 h=8 w=8\n"
                               "conv c1 < data filters=4 size=3 pad=1\n"
                               "batchnorm bn < c1\n"
                               "relu r < bn\n"
                               "pool p < r max size=2 stride=2\n"
                               "fc out < p outputs=3\n";
    cly_graph *g = graph_of(NULL, text, 0);
    enum { BATCH = 4 };
    cly_net *net = NULL;
    OK(ctx, cly_net_create(ctx, g, &(cly_net_options){.batch = BATCH, .mode = CLY_MODE_TRAINING}, &net));
    OK(ctx, cly_net_init_params(net, CLY_INIT_HE, 3));
    OK(ctx, cly_net_set_training(net, &(cly_train_params){.learning_rate = 0.05, .momentum = 0.9, .seed = 1}));
    float x[BATCH * 2 * 8 * 8];
    int32_t labels[BATCH] = {0, 1, 2, 1};
    for (int step = 0; step < 5; step++) {
        for (size_t j = 0; j < sizeof x / sizeof *x; j++)
            x[j] = uniform(-1, 1);
        OK(ctx, cly_net_set_input(net, "data", x, BATCH * 2 * 8 * 8));
        double loss;
        OK(ctx, cly_net_train_batch(net, labels, BATCH, &loss));
    }
    ck_assert_int_eq(cly_net_updates(net), 5);
    float mean[4];
    OK(ctx, cly_net_get_param(net, "bn", CLY_PARAM_MEAN, mean, 4));
    ck_assert(mean[0] != 0 || mean[1] != 0); /* the running statistics moved */

    char dir[4096], path[4200];
    cly_test_mkdtemp(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/trained.onnx", dir);
    OK(ctx, cly_net_export_onnx(net, path));
    /* The trained parameters into an inference net of the same graph, to compare against. */
    cly_graph *gi = graph_of(NULL, text, 0);
    cly_net *inf = NULL;
    OK(ctx, cly_net_create(ctx, gi, &(cly_net_options){.batch = BATCH}, &inf));
    for (size_t i = 0; i < g->count; i++)
        for (int k = 0; k < 4; k++) {
            int64_t count;
            OK(ctx, cly_net_param_count(net, g->nodes[i].name, (cly_param_kind)k, &count));
            if (!count)
                continue;
            float *v = malloc((size_t)count * sizeof *v);
            OK(ctx, cly_net_get_param(net, g->nodes[i].name, (cly_param_kind)k, v, count));
            OK(ctx, cly_net_set_param(inf, g->nodes[i].name, (cly_param_kind)k, v, count));
            free(v);
        }
    cly_graph *g2 = NULL;
    cly_net *net2 = NULL;
    OK(ctx, cly_onnx_load(ctx, path, &(cly_net_options){.batch = BATCH}, &g2, &net2));
    forward_both(inf, net2);
    same_net(inf, net2, "trained", 0);
    /* The file (from the training net) and the inference net's export are the same bytes. */
    void *data;
    size_t size;
    OK(ctx, cly_net_export_onnx_buffer(inf, &data, &size));
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    char *file = malloc(size + 1);
    ck_assert_ptr_nonnull(file);
    ck_assert_uint_eq(fread(file, 1, size + 1, f), size);
    fclose(f);
    ck_assert(memcmp(file, data, size) == 0);
    free(file);
    free(data);
    cly_net_destroy(net2);
    cly_graph_destroy(g2);
    cly_net_destroy(inf);
    cly_graph_destroy(gi);
    cly_net_destroy(net);
    cly_graph_destroy(g);
    cly_test_rmtree(dir);
    cly_context_destroy(ctx);
}
END_TEST

/* `text` (one layer per line after the input) refused naming `layer` with `why`. */
static void refused(cly_context *ctx, const char *text, const char *layer, const char *why)
{
    cly_graph *g = graph_of(NULL, text, 0);
    cly_net *net = NULL;
    OK(ctx, cly_net_create(ctx, g, &(cly_net_options){.batch = 1}, &net));
    void *data = NULL;
    size_t size = 0;
    cly_status st = cly_net_export_onnx_buffer(net, &data, &size);
    ck_assert_msg(st == CLY_ERROR_UNSUPPORTED, "%s: status %d, not refused", layer, (int)st);
    ck_assert_ptr_null(data);
    const char *msg = cly_last_error(ctx);
    char head[128];
    snprintf(head, sizeof head, "cly_net_export_onnx: %s (", layer);
    ck_assert_msg(strstr(msg, head) && strstr(msg, why), "'%s' lacks '%s' or '%s'", msg, head, why);
    cly_net_destroy(net);
    cly_graph_destroy(g);
}

START_TEST(t_refused)
{
    cly_context *ctx = cly_test_context();
    refused(ctx, "input data c=2 h=6 w=6\nlocal loc < data filters=2 size=3\n", "loc", "locally connected");
    refused(ctx, "input data c=2 h=7 w=7\nconv up < data filters=2 size=2 stride=2 round=ceil\n", "up",
            "rounds down only");
    refused(ctx, "input data c=2 h=6 w=6\nlrn even < data size=4 alpha=1e-4 beta=0.75 k=1\n", "even",
            "even size 4");
    refused(ctx, "input data c=2 h=6 w=6\nrelu both < data max=6 slope=0.1\n", "both", "bounded (max 6) and leaky");
    refused(ctx, "input data c=2 h=7 w=7\nadaptive_avgpool ada < data out=3\n", "ada", "7 x 7 to 3 x 3");
    refused(ctx, "input data c=2 h=7 w=7\npool l2 < data l2 size=2 stride=2 round=ceil\n", "l2", "no ceil_mode");
    /* H rounded up, W's extra window dropped (it would start in the padding): ceil_mode cannot do both. */
    refused(ctx, "input data c=1 h=6 w=6\npool mix < data max size=3 stride=2 pad=0,0,0,2 round=ceil\n", "mix",
            "rounds both alike");
    /* Refused before anything is written, whatever the path. */
    cly_graph *g = graph_of(NULL, "input data c=2 h=6 w=6\nlocal loc < data filters=2 size=3\n", 0);
    cly_net *net = NULL;
    OK(ctx, cly_net_create(ctx, g, &(cly_net_options){.batch = 1}, &net));
    ck_assert_int_eq(cly_net_export_onnx(net, "/nonexistent-dir/x.onnx"), CLY_ERROR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(cly_last_error(ctx), "loc (local)"));
    cly_net_destroy(net);
    cly_graph_destroy(g);
    cly_context_destroy(ctx);
}
END_TEST

START_TEST(t_arguments)
{
    cly_context *ctx = cly_test_context();
    cly_graph *g = graph_of("lenet", NULL, 0);
    cly_net *net = NULL;
    OK(ctx, cly_net_create(ctx, g, &(cly_net_options){.batch = 1}, &net));
    void *data = NULL;
    size_t size = 0;
    ck_assert_int_eq(cly_net_export_onnx(NULL, "x.onnx"), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(cly_last_error(NULL), "cly_net_export_onnx"));
    ck_assert_int_eq(cly_net_export_onnx(net, NULL), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_net_export_onnx(net, ""), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_net_export_onnx_buffer(NULL, &data, &size), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_net_export_onnx_buffer(net, NULL, &size), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_net_export_onnx_buffer(net, &data, NULL), CLY_ERROR_INVALID_ARGUMENT);
    /* An unwritable place: CLY_ERROR_IO naming it, and nothing left in the folder. */
    char dir[4096], path[4200];
    cly_test_mkdtemp(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/missing/x.onnx", dir);
    ck_assert_int_eq(cly_net_export_onnx(net, path), CLY_ERROR_IO);
    ck_assert_ptr_nonnull(strstr(cly_last_error(ctx), path));
    snprintf(path, sizeof path, "%s/lenet.onnx", dir);
    OK(ctx, cly_net_export_onnx(net, path));
    OK(ctx, cly_net_export_onnx(net, path)); /* over an existing file */
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int entries = 0;
    for (struct dirent *e; (e = readdir(d));)
        entries += e->d_name[0] != '.';
    closedir(d);
    ck_assert_int_eq(entries, 1); /* lenet.onnx, no temp file */
    cly_net_destroy(net);
    cly_graph_destroy(g);
    cly_test_rmtree(dir);
    cly_context_destroy(ctx);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("onnx_export");
    bool device = cly_test_device_available();
    if (device) {
        TCase *tc = tcase_create("device");
        tcase_set_timeout(tc, 600);
        tcase_add_test(tc, t_arguments);
        tcase_add_test(tc, t_refused);
        tcase_add_test(tc, t_variants);
        tcase_add_test(tc, t_adaptive);
        tcase_add_test(tc, t_trained);
        tcase_add_test(tc, t_lenet);
        tcase_add_test(tc, t_fashion);
        tcase_add_test(tc, t_resnet18);
        tcase_add_test(tc, t_googlenet);
        suite_add_tcase(s, tc);
    }
    return cly_test_run(s, device);
}
