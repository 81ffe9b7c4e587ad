/* ONNX import: every model make_onnx.py generates (one per operator and
 * attribute combination) imported and run on a FLOAT64 context against the
 * script's numpy reference; cly_onnx_load on a FLOAT32 one; every refused
 * model refused with its message; truncations and bit flips of valid
 * models a clean status or a valid import, never a crash or a leak (the
 * sanitizer build checks). The device-free parts run without a device. */
#include "io/onnx.h"
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OK(ctx, call) ck_assert_msg((call) == CLY_SUCCESS, "%s: %s", #call, cly_last_error(ctx))

static char *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    ck_assert(buf && fread(buf, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    buf[n] = '\0';
    *size = (size_t)n;
    return buf;
}

static void path_of(char *out, size_t size, const char *name, const char *ext)
{
    snprintf(out, size, "%s/%s%s", CLY_ONNX_DIR, name, ext);
}

/* Run one case on `ctx`; returns max|out - ref| / max(1, max|ref|). */
static double run_case(cly_context *ctx, const char *name, int64_t n, int64_t c, int64_t h, int64_t w,
                       int64_t outputs)
{
    char path[4096];
    path_of(path, sizeof path, name, ".onnx");
    cly_graph *g = NULL;
    cly_weights *wt = NULL;
    OK(NULL, cly_graph_import_onnx(path, &g, &wt));
    ck_assert_uint_ge(wt->output_count, 1);
    const char *keep[] = {wt->outputs[0]};
    cly_net_options o = {.batch = n, .keep = keep, .keep_count = 1};
    cly_net *net = NULL;
    OK(ctx, cly_net_create(ctx, g, &o, &net));
    OK(ctx, cly_net_set_weights(net, wt));
    size_t size;
    path_of(path, sizeof path, name, ".bin");
    char *bin = slurp(path, &size);
    int64_t in_count = n * c * h * w;
    ck_assert_uint_eq(size, (size_t)(in_count + outputs) * 8);
    double *in = (double *)bin, *ref = in + in_count; /* little-endian hosts */
    double *out = malloc((size_t)outputs * sizeof *out);
    ck_assert_ptr_nonnull(out);
    OK(ctx, cly_net_set_input_f64(net, cly_graph_layer_count(g) ? g->nodes[0].name : "x", in, in_count));
    OK(ctx, cly_net_forward(net));
    OK(ctx, cly_net_get_output_f64(net, wt->outputs[0], out, outputs));
    double scale = 1, err = 0;
    for (int64_t i = 0; i < outputs; i++)
        scale = fmax(scale, fabs(ref[i]));
    for (int64_t i = 0; i < outputs; i++)
        err = fmax(err, fabs(out[i] - ref[i]) / scale);
    free(out);
    free(bin);
    cly_net_destroy(net);
    cly_graph_destroy(g);
    cly_weights_destroy(wt);
    return err;
}

START_TEST(t_cases)
{
    cly_context *ctx = NULL;
    cly_context_options co = {.precision = CLY_PRECISION_FLOAT64};
    OK(NULL, cly_context_create_ex(&co, &ctx));
    char path[4096], name[256];
    path_of(path, sizeof path, "cases", ".txt");
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "%s: run make_onnx.py", path);
    long long n, c, h, w, outputs;
    int count = 0;
    while (fscanf(f, "%255s %lld %lld %lld %lld %lld", name, &n, &c, &h, &w, &outputs) == 6) {
        double err = run_case(ctx, name, n, c, h, w, outputs);
        ck_assert_msg(err <= 1e-9, "%s: relative error %g", name, err);
        count++;
    }
    fclose(f);
    ck_assert_int_ge(count, 30);
    cly_context_destroy(ctx);
}
END_TEST

/* cly_onnx_load: import, compile and set in one call, on float32. */
START_TEST(t_load)
{
    cly_context *ctx = cly_test_context();
    char path[4096];
    path_of(path, sizeof path, "conv_bn_relu", ".onnx");
    cly_graph *g = NULL;
    cly_net *net = NULL;
    cly_net_options o = {.batch = 2};
    OK(ctx, cly_onnx_load(ctx, path, &o, &g, &net));
    size_t size;
    path_of(path, sizeof path, "conv_bn_relu", ".bin");
    char *bin = slurp(path, &size);
    const double *in = (const double *)bin, *ref = in + 2 * 3 * 6 * 6;
    float x[2 * 3 * 6 * 6], y[2 * 4 * 6 * 6];
    for (int i = 0; i < 2 * 3 * 6 * 6; i++)
        x[i] = (float)in[i];
    OK(ctx, cly_net_set_input(net, "x", x, 2 * 3 * 6 * 6));
    OK(ctx, cly_net_forward(net));
    /* The Relu node has no name: its layer is named after its output. */
    OK(ctx, cly_net_get_output(net, "y", y, 2 * 4 * 6 * 6));
    for (int i = 0; i < 2 * 4 * 6 * 6; i++)
        ck_assert_msg(fabs(y[i] - ref[i]) <= 1e-4 * fmax(1, fabs(ref[i])), "%d: %g vs %g", i, y[i], ref[i]);
    free(bin);
    cly_net_destroy(net);
    cly_graph_destroy(g);
    /* Errors name the file; nothing is handed back. */
    cly_graph *g2 = NULL;
    cly_net *n2 = NULL;
    path_of(path, sizeof path, "err_clip_min", ".onnx");
    ck_assert_int_eq(cly_onnx_load(ctx, path, &o, &g2, &n2), CLY_ERROR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(cly_last_error(ctx), "err_clip_min.onnx"));
    ck_assert_ptr_null(g2);
    ck_assert_ptr_null(n2);
    cly_context_destroy(ctx);
}
END_TEST

/* Layer names: sanitised, the parameters and outputs under them. */
START_TEST(t_names)
{
    char path[4096];
    path_of(path, sizeof path, "conv_basic", ".onnx");
    cly_graph *g = NULL;
    cly_weights *w = NULL;
    OK(NULL, cly_graph_import_onnx(path, &g, &w));
    ck_assert_uint_eq(cly_graph_layer_count(g), 2);
    cly_layer_info info;
    OK(NULL, cly_graph_layer_info(g, 1, &info));
    ck_assert_str_eq(info.name, "conv_1_"); /* the node "conv 1!" */
    ck_assert(info.is_output);
    ck_assert_uint_eq(cly_weights_count(w), 2);
    const char *layer;
    cly_param_kind kind;
    const double *data;
    int64_t count;
    OK(NULL, cly_weights_get(w, 1, &layer, &kind, &data, &count));
    ck_assert_str_eq(layer, "conv_1_");
    ck_assert_int_eq(kind, CLY_PARAM_BIAS);
    ck_assert_int_eq(count, 4);
    ck_assert_int_eq(cly_weights_get(w, 2, &layer, &kind, &data, &count), CLY_ERROR_INVALID_ARGUMENT);
    cly_weights_destroy(w);
    cly_graph_destroy(g);
    /* Rounding only where needed, shown in the summary. */
    path_of(path, sizeof path, "conv_group_floor", ".onnx");
    OK(NULL, cly_graph_import_onnx(path, &g, &w));
    OK(NULL, cly_graph_layer_info(g, 1, &info));
    ck_assert(info.rounded);
    cly_weights_destroy(w);
    cly_graph_destroy(g);
    path_of(path, sizeof path, "maxpool_pads", ".onnx");
    OK(NULL, cly_graph_import_onnx(path, &g, &w));
    OK(NULL, cly_graph_layer_info(g, 1, &info));
    ck_assert(!info.rounded);
    cly_weights_destroy(w);
    cly_graph_destroy(g);
    ck_assert_int_eq(cly_graph_import_onnx(NULL, &g, &w), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_graph_import_onnx("/nonexistent.onnx", &g, &w), CLY_ERROR_IO);
    cly_weights_destroy(NULL);
}
END_TEST

START_TEST(t_errors)
{
    char path[4096], line[1024];
    path_of(path, sizeof path, "errors", ".txt");
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "%s: run make_onnx.py", path);
    int count = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *bar = strchr(line, '|');
        if (!bar)
            continue;
        *bar = '\0';
        path_of(path, sizeof path, line, ".onnx");
        cly_graph *g = NULL;
        cly_weights *w = NULL;
        cly_status s = cly_graph_import_onnx(path, &g, &w);
        ck_assert_msg(s != CLY_SUCCESS, "%s imported", line);
        ck_assert_ptr_null(g);
        ck_assert_ptr_null(w);
        const char *msg = cly_last_error(NULL);
        ck_assert_msg(strncmp(msg, path, strlen(path)) == 0, "%s: the message does not name the file: %s", line, msg);
        ck_assert_msg(strstr(msg, bar + 1) != NULL, "%s: '%s' not in: %s", line, bar + 1, msg);
        count++;
    }
    fclose(f);
    ck_assert_int_ge(count, 20);
    /* The unknown operator's message lists what is supported. */
    path_of(path, sizeof path, "err_unknown_op", ".onnx");
    cly_graph *g = NULL;
    cly_weights *w = NULL;
    ck_assert_int_eq(cly_graph_import_onnx(path, &g, &w), CLY_ERROR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(cly_last_error(NULL), "node 0 'the_node' (Tanh, opset 13)"));
    ck_assert_ptr_nonnull(strstr(cly_last_error(NULL), "Conv"));
    /* External data from memory: no folder to read it from. */
    size_t size;
    path_of(path, sizeof path, "conv_external", ".onnx");
    char *buf = slurp(path, &size);
    ck_assert_int_eq(cly_graph_import_onnx_buffer(buf, size, "mem", &g, &w), CLY_ERROR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(cly_last_error(NULL), "import from a file"));
    free(buf);
}
END_TEST

/* Every truncation and a bit flip at every byte of a few models: a clean
 * status with a message naming the source, or a valid import. */
START_TEST(t_damage)
{
    static const char *const names[] = {"conv_bn_relu", "torch_flatten_13", "concat", "gemm_transb"};
    for (size_t m = 0; m < sizeof names / sizeof *names; m++) {
        char path[4096];
        size_t size;
        path_of(path, sizeof path, names[m], ".onnx");
        unsigned char *buf = (unsigned char *)slurp(path, &size);
        unsigned char *copy = malloc(size);
        ck_assert_ptr_nonnull(copy);
        int imported = 0, refused = 0;
        for (size_t i = 0; i < 2 * size; i++) {
            size_t len = size;
            memcpy(copy, buf, size);
            if (i < size)
                len = i; /* truncated */
            else
                copy[i - size] ^= (unsigned char)(1u << (i % 8)); /* one bit flipped */
            cly_graph *g = NULL;
            cly_weights *w = NULL;
            cly_status s = cly_graph_import_onnx_buffer(copy, len, "damaged", &g, &w);
            if (s == CLY_SUCCESS) {
                ck_assert(g && w);
                imported++;
                cly_graph_destroy(g);
                cly_weights_destroy(w);
            } else {
                ck_assert_ptr_null(g);
                ck_assert_msg(strncmp(cly_last_error(NULL), "damaged: ", 9) == 0, "%s", cly_last_error(NULL));
                refused++;
            }
        }
        ck_assert_int_gt(refused, 0);
        free(copy);
        free(buf);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("onnx");
    TCase *tc = tcase_create("files");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, t_names);
    tcase_add_test(tc, t_errors);
    tcase_add_test(tc, t_damage);
    suite_add_tcase(s, tc);
    bool device = cly_test_device_available();
    if (device) {
        TCase *td = tcase_create("device");
        tcase_set_timeout(td, 600);
        tcase_add_test(td, t_cases);
        tcase_add_test(td, t_load);
        suite_add_tcase(s, td);
    }
    return cly_test_run(s, device);
}
