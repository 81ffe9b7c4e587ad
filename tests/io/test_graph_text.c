/* cly_graph_to_text: for every shipped net, the net-format tests' texts and
 * graphs built through the C API with awkward values, parsing the text back
 * gives the same layers (field by field), the same text byte for byte, and
 * the same inferred layer infos. Also the limits it refuses. */
#include "graph/graph.h"
#include "test_util.h"

#include <dirent.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OK(call) ck_assert_msg((call) == CLY_SUCCESS, "%s: %s", #call, cly_last_error(NULL))
#define ADD(g, ...) OK(cly_graph_add((g), &(cly_layer){__VA_ARGS__}))
#define IN1(name) .inputs = (const char *const[]){name}, .input_count = 1

static bool same_real(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0; /* bit for bit: -0.0 is not 0.0 */
}

static bool same_hw(cly_hw a, cly_hw b)
{
    return a.h == b.h && a.w == b.w;
}

static bool same_pad(cly_pad a, cly_pad b)
{
    return a.top == b.top && a.bottom == b.bottom && a.left == b.left && a.right == b.right;
}

/* Every field the type uses. */
static void assert_same_layer(const cly_layer *a, const cly_layer *b)
{
    ck_assert_str_eq(a->name, b->name);
    ck_assert_int_eq(a->type, b->type);
    ck_assert_uint_eq(a->input_count, b->input_count);
    for (size_t i = 0; i < a->input_count; i++)
        ck_assert_str_eq(a->inputs[i], b->inputs[i]);
    const char *n = a->name;
    switch (a->type) {
    case CLY_LAYER_INPUT:
        ck_assert_msg(a->p.input.c == b->p.input.c && a->p.input.h == b->p.input.h && a->p.input.w == b->p.input.w,
                      "%s", n);
        break;
    case CLY_LAYER_CONV:
    case CLY_LAYER_LOCAL: {
        const cly_conv_params *x = &a->p.conv, *y = &b->p.conv;
        ck_assert_msg(x->filters == y->filters && same_hw(x->size, y->size) && same_hw(x->stride, y->stride) &&
                          same_pad(x->pad, y->pad) && same_hw(x->dilation, y->dilation) && x->groups == y->groups &&
                          x->no_bias == y->no_bias && x->relu == y->relu && x->rounding == y->rounding &&
                          x->algo == y->algo,
                      "%s", n);
        break;
    }
    case CLY_LAYER_POOL: {
        const cly_pool_params *x = &a->p.pool, *y = &b->p.pool;
        ck_assert_msg(x->kind == y->kind && same_hw(x->size, y->size) && same_hw(x->stride, y->stride) &&
                          same_pad(x->pad, y->pad) && x->rounding == y->rounding &&
                          (x->kind != CLY_POOL_AVG || x->avg_exclude_pad == y->avg_exclude_pad),
                      "%s", n);
        break;
    }
    case CLY_LAYER_LRN:
        ck_assert_msg(a->p.lrn.size == b->p.lrn.size && same_real(a->p.lrn.alpha, b->p.lrn.alpha) &&
                          same_real(a->p.lrn.beta, b->p.lrn.beta) && same_real(a->p.lrn.k, b->p.lrn.k) &&
                          a->p.lrn.alpha_mode == b->p.lrn.alpha_mode,
                      "%s", n);
        break;
    case CLY_LAYER_BATCHNORM:
        ck_assert_msg(same_real(a->p.batchnorm.epsilon, b->p.batchnorm.epsilon) &&
                          same_real(a->p.batchnorm.momentum, b->p.batchnorm.momentum),
                      "%s", n);
        break;
    case CLY_LAYER_FC:
        ck_assert_msg(a->p.fc.outputs == b->p.fc.outputs && a->p.fc.no_bias == b->p.fc.no_bias &&
                          a->p.fc.relu == b->p.fc.relu,
                      "%s", n);
        break;
    case CLY_LAYER_DROPOUT:
        ck_assert_msg(same_real(a->p.dropout, b->p.dropout), "%s", n);
        break;
    default:
        break;
    }
}

static void assert_same_infos(cly_graph *a, cly_graph *b)
{
    cly_status sa = cly_graph_infer(a, 2), sb = cly_graph_infer(b, 2);
    ck_assert_int_eq(sa, sb);
    if (sa != CLY_SUCCESS)
        return;
    for (size_t i = 0; i < cly_graph_layer_count(a); i++) {
        cly_layer_info x, y;
        OK(cly_graph_layer_info(a, i, &x));
        OK(cly_graph_layer_info(b, i, &y));
        ck_assert_str_eq(x.name, y.name);
        ck_assert_msg(x.type == y.type && x.output.n == y.output.n && x.output.c == y.output.c &&
                          x.output.h == y.output.h && x.output.w == y.output.w && x.activations == y.activations &&
                          x.weights == y.weights && x.biases == y.biases && x.flops == y.flops &&
                          x.rounded == y.rounded && x.is_output == y.is_output,
                      "%s: inferred infos differ", x.name);
    }
}

/* text(g) parses to the same layers, whose text is the same bytes. */
static void round_trip(cly_graph *g, const char *what)
{
    char *t1, *t2;
    size_t n1, n2;
    OK(cly_graph_to_text(g, &t1, &n1));
    ck_assert_uint_eq(strlen(t1), n1); /* NUL-terminated too */
    cly_graph *h;
    cly_status s = cly_graph_parse(t1, n1, what, &h);
    ck_assert_msg(s == CLY_SUCCESS, "%s: the text does not parse: %s\n%s", what, cly_last_error(NULL), t1);
    ck_assert_uint_eq(h->count, g->count);
    for (size_t i = 0; i < g->count; i++)
        assert_same_layer(&g->nodes[i].layer, &h->nodes[i].layer);
    OK(cly_graph_to_text(h, &t2, &n2));
    ck_assert_msg(n1 == n2 && memcmp(t1, t2, n1) == 0, "%s: texts differ:\n%s\n---\n%s", what, t1, t2);
    assert_same_infos(g, h);
    free(t1);
    free(t2);
    cly_graph_destroy(h);
}

START_TEST(t_shipped_nets)
{
    DIR *d = opendir(CLY_NETS_DIR);
    ck_assert_ptr_nonnull(d);
    int nets = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".net") != 0)
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", CLY_NETS_DIR, e->d_name);
        cly_graph *g;
        OK(cly_graph_load(path, &g));
        round_trip(g, e->d_name);
        cly_graph_destroy(g);
        nets++;
    }
    closedir(d);
    ck_assert_int_ge(nets, 6);
}
END_TEST

/* The net-format test's every-key text: each key in a non-default form. */
START_TEST(t_every_key_text)
{
    const char *text = "input data c=8 h=32 w=30\n"
                       "conv c1 < data filters=8 size=3x5 stride=2x1 pad=1,1,2,2 dilation=1x2 groups=2 nobias relu "
                       "round=floor algo=im2col\n"
                       "conv c2 < data filters=4 size=3 algo=gemm1x1 pad=0,1,0,1\n"
                       "conv c3 < data filters=4 size=1 stride=2 round=ceil algo=direct pad=2x1\n"
                       "local l1 < data filters=4 size=3 stride=1 pad=1x2 dilation=2 nobias relu round=ceil\n"
                       "pool p1 < data avg size=2 stride=2 pad=1 round=ceil exclude_pad\n"
                       "pool p2 < data l2 size=3x2\n"
                       "pool p3 < data max size=2 stride=2\n"
                       "lrn n1 < data size=5 alpha=1e-4 beta=0.75 k=2 alpha_mode=raw\n"
                       "lrn n2 < data size=4 alpha=0.0001 beta=.75 k=1.5 alpha_mode=over_size\n"
                       "batchnorm bn1 < data eps=0.001 momentum=0.01\n"
                       "batchnorm bn2 < data eps=1e-5 momentum=0.1\n"
                       "batchnorm bn3 < data momentum=1\n"
                       "fc f1 < data outputs=10 nobias relu\n"
                       "fc f2 < data outputs=3\n"
                       "softmax s < f1\n"
                       "dropout d < f1 p=0.25\n"
                       "dropout d0 < f1 p=0\n"
                       "add a < data data data\n"
                       "concat cc < data r r\n"
                       "gap gp < data\n"
                       "relu r < data\n";
    cly_graph *g;
    OK(cly_graph_parse(text, strlen(text), "every.net", &g));
    round_trip(g, "every.net");
    char *t;
    size_t n;
    OK(cly_graph_to_text(g, &t, &n));
    /* Defaults are left out; non-defaults keep their shortest form. */
    ck_assert_ptr_nonnull(strstr(t, "conv c2 < data filters=4 size=3 pad=0,1,0,1 algo=gemm1x1\n"));
    ck_assert_ptr_nonnull(strstr(t, "conv c3 < data filters=4 size=1 stride=2 pad=2x1 round=ceil algo=direct\n"));
    ck_assert_ptr_nonnull(strstr(t, "pool p3 < data size=2 stride=2\n"));
    ck_assert_ptr_nonnull(strstr(t, "lrn n2 < data size=4 alpha=0.0001 beta=0.75 k=1.5\n"));
    ck_assert_ptr_nonnull(strstr(t, "batchnorm bn2 < data\n"));
    ck_assert_ptr_nonnull(strstr(t, "batchnorm bn3 < data momentum=1\n"));
    ck_assert_ptr_nonnull(strstr(t, "dropout d0 < f1 p=0\n"));
    ck_assert_ptr_nonnull(strstr(t, "concat cc < data r r\n"));
    ck_assert_ptr_nonnull(strstr(t, "input data c=8 h=32 w=30\n"));
    free(t);
    cly_graph_destroy(g);
}
END_TEST

/* adaptive_avgpool: out=A and out=HxW parse, write back in their shortest
 * form and round-trip; a missing or malformed out= is refused. */
START_TEST(t_adaptive_avgpool_text)
{
    const char *text = "input data c=4 h=13 w=11\n"
                       "adaptive_avgpool a1 < data out=7\n"
                       "adaptive_avgpool a2 < data out=6x1\n";
    cly_graph *g;
    OK(cly_graph_parse(text, strlen(text), "ap.net", &g));
    ck_assert_int_eq(g->nodes[1].layer.p.adaptive.output.h, 7);
    ck_assert_int_eq(g->nodes[2].layer.p.adaptive.output.w, 1);
    round_trip(g, "ap.net");
    char *t;
    size_t n;
    OK(cly_graph_to_text(g, &t, &n));
    ck_assert_ptr_nonnull(strstr(t, "adaptive_avgpool a1 < data out=7\n"));
    ck_assert_ptr_nonnull(strstr(t, "adaptive_avgpool a2 < data out=6x1\n"));
    free(t);
    cly_graph_destroy(g);
    const char *bad[][2] = {
        {"input data c=1 h=4 w=4\nadaptive_avgpool a < data\n", "b.net:2: adaptive_avgpool a: missing out="},
        {"input data c=1 h=4 w=4\nadaptive_avgpool a < data out=0\n", "b.net:2: a: output.h = 0 must be >= 1"},
        {"input data c=1 h=4 w=4\nadaptive_avgpool a < data out=2x\n",
         "b.net:2: adaptive_avgpool a: out: '' is not an integer"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(cly_graph_parse(bad[i][0], strlen(bad[i][0]), "b.net", &g), CLY_ERROR_INVALID_ARGUMENT);
        ck_assert_str_eq(cly_last_error(NULL), bad[i][1]);
    }
}
END_TEST

/* Reals that need 17 digits, negative zero, and C-API-only combinations. */
START_TEST(t_c_api_values)
{
    cly_graph *g;
    OK(cly_graph_create(&g));
    ADD(g, .type = CLY_LAYER_FC, .name = "late", IN1("drop"), .p.fc = {.outputs = 7, .relu = true});
    OK(cly_graph_input(g, "in", 6, 17, 19));
    ADD(g, .type = CLY_LAYER_LRN, .name = "lrn", IN1("in"),
        .p.lrn = {.size = 3, .alpha = 0.1 + 0.2, .beta = 1.0 / 3.0, .k = -0.0});
    ADD(g, .type = CLY_LAYER_BATCHNORM, .name = "bn", IN1("lrn"),
        .p.batchnorm = {.epsilon = 1e-5 * 3.0, .momentum = 1.0 / 7.0});
    ADD(g, .type = CLY_LAYER_CONV, .name = "conv", IN1("bn"),
        .p.conv = {.filters = 6, .size = {2, 3}, .stride = {2, 1}, .pad = {1, 0, 2, 0}, .dilation = {1, 2},
                   .groups = 3, .rounding = CLY_ROUND_FLOOR});
    ADD(g, .type = CLY_LAYER_POOL, .name = "pool", IN1("conv"),
        .p.pool = {.kind = CLY_POOL_AVG, .size = {3, 3}, .stride = {2, 2}, .pad = CLY_PAD(1),
                   .rounding = CLY_ROUND_CEIL, .avg_exclude_pad = true});
    ADD(g, .type = CLY_LAYER_DROPOUT, .name = "drop", IN1("pool"), .p.dropout = 0.9999999999999999);
    ADD(g, .type = CLY_LAYER_ADD, .name = "sum", .inputs = (const char *const[]){"late", "late", "late"},
        .input_count = 3);
    round_trip(g, "c-api");
    cly_graph_destroy(g);

    /* exclude_pad means nothing to a max pool, and the parser takes it with
     * avg only: it is left out, and the rest round-trips. */
    OK(cly_graph_create(&g));
    OK(cly_graph_input(g, "in", 1, 4, 4));
    ADD(g, .type = CLY_LAYER_POOL, .name = "p", IN1("in"),
        .p.pool = {.kind = CLY_POOL_MAX, .size = {2, 2}, .avg_exclude_pad = true});
    round_trip(g, "max-exclude");
    char *t;
    size_t n;
    OK(cly_graph_to_text(g, &t, &n));
    ck_assert_str_eq(t, "input in c=1 h=4 w=4\npool p < in size=2\n");
    free(t);
    cly_graph_destroy(g);
}
END_TEST

/* In a locale whose decimal point is a comma, the text still says '.'. */
START_TEST(t_locale)
{
    const char *locales[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "de_DE", NULL};
    const char *found = NULL;
    for (int i = 0; locales[i] && !found; i++)
        found = setlocale(LC_NUMERIC, locales[i]) ? locales[i] : NULL;
    if (!found) {
        fprintf(stderr, "t_locale: no comma-decimal locale installed; checked in the C locale only\n");
        setlocale(LC_NUMERIC, "C");
    }
    cly_graph *g;
    OK(cly_graph_create(&g));
    OK(cly_graph_input(g, "in", 1, 4, 4));
    ADD(g, .type = CLY_LAYER_DROPOUT, .name = "d", IN1("in"), .p.dropout = 0.25);
    char *t;
    size_t n;
    OK(cly_graph_to_text(g, &t, &n));
    ck_assert_str_eq(t, "input in c=1 h=4 w=4\ndropout d < in p=0.25\n");
    round_trip(g, "locale");
    free(t);
    cly_graph_destroy(g);
    setlocale(LC_NUMERIC, "C");
}
END_TEST

START_TEST(t_limits_and_arguments)
{
    char *t = NULL;
    size_t n = 0;
    cly_graph *g;
    OK(cly_graph_create(&g));
    ck_assert_int_eq(cly_graph_to_text(g, &t, &n), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_str_eq(cly_last_error(NULL), "cly_graph_to_text: the graph has no layers");
    ck_assert_int_eq(cly_graph_to_text(NULL, &t, &n), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_graph_to_text(g, NULL, &n), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_graph_to_text(g, &t, NULL), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_ptr_null(t);

    /* 256 inputs of 63 characters: a line longer than the parser reads. */
    char name[64];
    memset(name, 'x', 63);
    name[63] = '\0';
    OK(cly_graph_input(g, name, 1, 2, 2));
    const char *inputs[CLY_GRAPH_MAX_INPUTS];
    for (int i = 0; i < CLY_GRAPH_MAX_INPUTS; i++)
        inputs[i] = name;
    ADD(g, .type = CLY_LAYER_CONCAT, .name = "wide", .inputs = inputs, .input_count = CLY_GRAPH_MAX_INPUTS);
    ck_assert_int_eq(cly_graph_to_text(g, &t, &n), CLY_ERROR_UNSUPPORTED);
    ck_assert_ptr_nonnull(
        strstr(cly_last_error(NULL), "wide: its line would be 16397 bytes, more than the net format's 16384"));
    cly_graph_destroy(g);

    /* 250 such inputs fit, and round-trip. */
    OK(cly_graph_create(&g));
    OK(cly_graph_input(g, name, 1, 2, 2));
    ADD(g, .type = CLY_LAYER_CONCAT, .name = "wide", .inputs = inputs, .input_count = 250);
    round_trip(g, "wide");
    cly_graph_destroy(g);

    /* More layers than a net file holds. */
    OK(cly_graph_create(&g));
    OK(cly_graph_input(g, "in", 1, 1, 1));
    char prev[32] = "in", cur[32];
    for (int i = 0; i < CLY_NET_LAYERS_MAX; i++) {
        snprintf(cur, sizeof cur, "r%d", i);
        ADD(g, .type = CLY_LAYER_RELU, .name = cur, IN1(prev));
        memcpy(prev, cur, sizeof cur);
    }
    ck_assert_int_eq(cly_graph_to_text(g, &t, &n), CLY_ERROR_UNSUPPORTED);
    ck_assert_str_eq(cly_last_error(NULL), "cly_graph_to_text: 100001 layers, more than the net format's 100000");
    cly_graph_destroy(g);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("graph_text");
    TCase *tc = tcase_create("graph_text");
    tcase_set_timeout(tc, CLY_TEST_TIMEOUT);
    tcase_add_test(tc, t_shipped_nets);
    tcase_add_test(tc, t_every_key_text);
    tcase_add_test(tc, t_c_api_values);
    tcase_add_test(tc, t_adaptive_avgpool_text);
    tcase_add_test(tc, t_locale);
    tcase_add_test(tc, t_limits_and_arguments);
    suite_add_tcase(s, tc);
    return cly_test_run(s, true);
}
