/* Every public call against the bad-input classes that apply to it: NULL,
 * zero, negative, huge, overflowing products, NaN and infinities,
 * out-of-range enums, mismatched shapes and counts, objects of another
 * context, non-regular files, unwritable paths. Each row asserts the exact
 * status and that the message names the call or argument and the numbers.
 * Run under ASan/UBSan/LSan by scripts/test like every unit suite. */
#include "test_util.h"
#include "clayer_cl.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* One row: `got` (already evaluated, so cly_last_error reads its message)
 * must be `want`, and every needle must appear in the thread's message. */
static void row(const char *call, int line, cly_status got, cly_status want, const char *const *needles)
{
    const char *msg = cly_last_error(NULL);
    ck_assert_msg(got == want, "line %d: %s returned %s, expected %s (message: %s)", line, call,
                  cly_status_string(got), cly_status_string(want), msg);
    for (size_t i = 0; needles[i]; i++)
        ck_assert_msg(strstr(msg, needles[i]), "line %d: %s: message \"%s\" lacks \"%s\"", line, call, msg,
                      needles[i]);
}

#define EXPECT(want, call, ...) row(#call, __LINE__, (call), (want), (const char *const[]){__VA_ARGS__, NULL})

static const char NET_TEXT[] = "input data c=1 h=8 w=8\n"
                               "conv c1 < data filters=4 size=3 pad=1\n"
                               "relu r1 < c1\n"
                               "pool p1 < r1 max size=2 stride=2\n"
                               "batchnorm bn < p1\n"
                               "fc f1 < bn outputs=10\n";

static cly_graph *parse_net(void)
{
    cly_graph *g = NULL;
    ck_assert_int_eq(cly_graph_parse(NET_TEXT, sizeof NET_TEXT - 1, "bad_input.net", &g), CLY_SUCCESS);
    return g;
}

static cly_net *make_net(cly_context *ctx, cly_graph *g, cly_mode mode)
{
    cly_net *net = NULL;
    cly_status s = cly_net_create(ctx, g, &(cly_net_options){.batch = 2, .mode = mode}, &net);
    ck_assert_msg(s == CLY_SUCCESS, "%s", cly_last_error(ctx));
    ck_assert_int_eq(cly_net_init_params(net, CLY_INIT_HE, 1), CLY_SUCCESS);
    return net;
}

/* Paths of every kind a loader must refuse without blocking. */
typedef struct paths {
    char dir[256];
    char fifo[300];
    char missing[300];
    char unwritable[300];
} paths;

static void make_paths(paths *p)
{
    cly_test_mkdtemp(p->dir, sizeof p->dir);
    snprintf(p->fifo, sizeof p->fifo, "%s/fifo", p->dir);
    ck_assert_int_eq(mkfifo(p->fifo, 0600), 0);
    snprintf(p->missing, sizeof p->missing, "%s/no/such/file", p->dir);
    /* Root writes through permission bits; /proc refuses new files to all. */
    snprintf(p->unwritable, sizeof p->unwritable, "/proc/clayer-bad-input/out");
    /* A loader that blocked on the FIFO would hang the test: fail instead. */
    alarm(60);
}

/* ---------------------------------------------------------------- devices, contexts */

START_TEST(t_devices_contexts)
{
    size_t n = 0;
    cly_device_info *infos = NULL;
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_devices_list(NULL, &n), "cly_devices_list");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_devices_list(&infos, NULL), "cly_devices_list");
    ck_assert_int_eq(cly_devices_list(&infos, &n), CLY_SUCCESS);
    size_t pick = 0;
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_device_select(NULL, 1, "cpu", &pick), "cly_device_select");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_device_select(infos, n, "cpu", NULL), "cly_device_select");
    EXPECT(CLY_ERROR_DEVICE_NOT_FOUND, cly_device_select(infos, n, "no-such-vendor", &pick), "no-such-vendor");
    EXPECT(CLY_ERROR_DEVICE_NOT_FOUND, cly_device_select(infos, n, "cpu:99", &pick), "cpu:99");
    EXPECT(CLY_ERROR_DEVICE_NOT_FOUND, cly_device_select(infos, n, "0:99", &pick), "0:99");
    cly_devices_free(infos);

    cly_context *c = NULL;
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_context_create(NULL, NULL), "cly_context_create", "out");
    EXPECT(CLY_ERROR_DEVICE_NOT_FOUND, cly_context_create("no-such-vendor", &c), "no-such-vendor");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_context_create_ex(&(cly_context_options){.precision = 7}, &c),
           "cly_context_create", "precision 7");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_context_create_ex(&(cly_context_options){.struct_size = 3}, &c),
           "cly_context_create", "struct_size = 3", "smaller");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_context_create_ex(&(cly_context_options){.struct_size = SIZE_MAX}, &c),
           "cly_context_options.struct_size = 18446744073709551615", "at most 4096");
    /* A caller of a newer header with a field this library does not know set. */
    struct {
        cly_context_options o;
        int newer_field;
    } newer = {{.struct_size = sizeof newer}, 1};
    EXPECT(CLY_ERROR_UNSUPPORTED, cly_context_create_ex(&newer.o, &c), "cly_context_options.struct_size");
    ck_assert_ptr_null(c);
    newer.newer_field = 0; /* zero: the old behaviour, accepted */
    ck_assert_int_eq(cly_context_create_ex(&newer.o, &c), CLY_SUCCESS);
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_context_stats_get(c, NULL), "cly_context_stats_get");
    cly_context_stats st;
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_context_stats_get(NULL, &st), "cly_context_stats_get");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_context_finish(NULL), "cly_context_finish");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_tuning_save(NULL), "cly_tuning_save");
    /* Kernel bundles and the program listing. */
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_context_save_bundle(NULL, "b.clb"), "cly_context_save_bundle");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_context_save_bundle(c, NULL), "cly_context_save_bundle");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_context_save_bundle(c, "b.clb"), "b.clb", "no programs");
    const char *pname, *popts;
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_context_program_info(c, 0, &pname, &popts), "cly_context_program_info",
           "index 0, the context has 0");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_context_program_info(c, 0, NULL, &popts), "cly_context_program_info");
    ck_assert_uint_eq(cly_context_program_count(NULL), 0);
    ck_assert(!cly_context_binary_only(NULL));
    static const unsigned char one[1] = {1};
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_context_add_binary(c, "pool", "", NULL, 1), "cly_context_add_binary");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_context_add_binary(c, "pool", "", one, 0), "cly_context_add_binary",
           "size (0)");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_context_add_binary(c, "no_such", "", one, 1), "'no_such'");
    ck_assert_int_eq(cly_context_add_binary(c, "pool", "", one, 1), CLY_SUCCESS);
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_context_add_binary(c, "pool", "", one, 1), "'pool'", "added already");
    EXPECT(CLY_ERROR_IO, cly_context_save_bundle(c, "/nonexistent-dir/b.clb"), "/nonexistent-dir/b.clb");
    cly_context *b = NULL;
    EXPECT(CLY_ERROR_IO, cly_context_create_ex(&(cly_context_options){.struct_size = sizeof(cly_context_options),
                                                                      .bundle = "/"},
                                               &b),
           "kernel bundle", "/");
    ck_assert_ptr_null(b);
    ck_assert_ptr_null(cly_context_device(NULL));
    ck_assert_str_eq(cly_status_string((cly_status)999), "unknown status");
    cly_context_destroy(c);
}
END_TEST

/* ---------------------------------------------------------------- tensors and conv2d */

START_TEST(t_tensors)
{
    cly_context *ctx = cly_test_context(), *other = cly_test_context();
    cly_tensor *a = NULL, *b = NULL, *w = NULL, *foreign = NULL, *t = NULL;
    const cly_shape s4 = {1, 2, 4, 4};
    ck_assert_int_eq(cly_tensor_create(ctx, s4, &a), CLY_SUCCESS);
    ck_assert_int_eq(cly_tensor_create(ctx, s4, &b), CLY_SUCCESS);
    ck_assert_int_eq(cly_tensor_create(ctx, (cly_shape){2, 2, 3, 3}, &w), CLY_SUCCESS);
    ck_assert_int_eq(cly_tensor_create(other, s4, &foreign), CLY_SUCCESS);
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_tensor_create(NULL, s4, &t), "cly_tensor_create");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_tensor_create(ctx, s4, NULL), "cly_tensor_create");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_tensor_create(ctx, (cly_shape){0, 2, 4, 4}, &t), "0x2x4x4");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_tensor_create(ctx, (cly_shape){1, -2, 4, 4}, &t), "1x-2x4x4");
    /* 2^60 elements: the product overflows what any device holds. */
    EXPECT(CLY_ERROR_TOO_LARGE, cly_tensor_create(ctx, (cly_shape){1 << 20, 1 << 20, 1 << 20, 1}, &t),
           "1048576x1048576x1048576x1");
    EXPECT(CLY_ERROR_SIZE_OVERFLOW, cly_tensor_create(ctx, (cly_shape){INT64_MAX, INT64_MAX, 2, 2}, &t),
           "cly_tensor_create", "9223372036854775807x9223372036854775807x2x2", "overflows");
    ck_assert_ptr_null(t);

    float host[32] = {0};
    double host64[32] = {0};
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_tensor_write(NULL, host, 32), "cly_tensor_write");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_tensor_write(a, NULL, 32), "cly_tensor_write");
    EXPECT(CLY_ERROR_SHAPE_MISMATCH, cly_tensor_write(a, host, 31), "31", "32");
    EXPECT(CLY_ERROR_SHAPE_MISMATCH, cly_tensor_write(a, host, -1), "-1", "32");
    EXPECT(CLY_ERROR_SHAPE_MISMATCH, cly_tensor_read(a, host, 33), "33", "32");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_tensor_read(a, NULL, 32), "cly_tensor_read");
    EXPECT(CLY_ERROR_SHAPE_MISMATCH, cly_tensor_write_f64(a, host64, 16), "16", "32");
    EXPECT(CLY_ERROR_SHAPE_MISMATCH, cly_tensor_read_f64(a, host64, INT64_MAX), "32");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_tensor_fill(NULL, 1.0f), "cly_tensor_fill");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_tensor_copy(a, NULL), "cly_tensor_copy");
    EXPECT(CLY_ERROR_SHAPE_MISMATCH, cly_tensor_copy(a, w), "1x2x4x4", "2x2x3x3");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_tensor_copy(a, foreign), "cly_tensor_copy", "context");
    ck_assert_int_eq(cly_tensor_count(NULL), 0);

    cly_tensor *y = NULL;
    ck_assert_int_eq(cly_tensor_create(ctx, (cly_shape){1, 2, 4, 4}, &y), CLY_SUCCESS);
    const cly_conv_params p = {.size = {3, 3}, .pad = CLY_PAD(1), .no_bias = true};
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_conv2d(NULL, a, w, NULL, p, y), "cly_conv2d");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_conv2d(ctx, NULL, w, NULL, p, y), "cly_conv2d");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_conv2d(ctx, foreign, w, NULL, p, y), "cly_conv2d", "context");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT,
           cly_conv2d(ctx, a, w, NULL, (cly_conv_params){.size = {3, 3}, .stride = {0, -1}, .no_bias = true}, y),
           "cly_conv2d", "-1");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT,
           cly_conv2d(ctx, a, w, NULL, (cly_conv_params){.size = {3, 3}, .pad = CLY_PAD(1), .algo = 99}, y),
           "99");
    EXPECT(CLY_ERROR_SHAPE_MISMATCH, cly_conv2d(ctx, a, w, NULL, (cly_conv_params){.size = {3, 3}}, y),
           "output is 1x2x4x4, expected 1x2x2x2");

    cly_tensor_destroy(a);
    cly_tensor_destroy(b);
    cly_tensor_destroy(w);
    cly_tensor_destroy(y);
    cly_tensor_destroy(foreign);
    cly_context_destroy(ctx);
    cly_context_destroy(other);
}
END_TEST

/* ---------------------------------------------------------------- graphs */

START_TEST(t_graphs)
{
    cly_graph *g = NULL, *o = NULL;
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_graph_create(NULL), "cly_graph_create");
    ck_assert_int_eq(cly_graph_create(&g), CLY_SUCCESS);
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_graph_add(NULL, &(cly_layer){.name = "x"}), "cly_graph_add");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_graph_add(g, NULL), "cly_graph_add");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_graph_add(g, &(cly_layer){.type = (cly_layer_type)99, .name = "x"}),
           "99");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_graph_input(g, "x", 0, 8, 8), "x", "c = 0");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_graph_input(g, "x", 1, -3, 8), "x", "h = -3");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_graph_input(g, "x", 1, 3000000000LL, 8), "x", "3000000000",
           "2147483647");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_graph_input(g, "bad name!", 1, 8, 8), "bad name!");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_graph_input(g, NULL, 1, 8, 8), "name");
    ck_assert_int_eq(cly_graph_input(g, "data", 1, 8, 8), CLY_SUCCESS);
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_graph_input(g, "data", 1, 8, 8), "data");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_graph_conv(g, "c", "data", (cly_conv_params){.filters = -4}), "c",
           "-4");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT,
           cly_graph_pool(g, "p", "data", (cly_pool_params){.kind = (cly_pool_kind)9, .size = {2, 2}}), "p", "9");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_graph_fc(g, "f", "data", (cly_fc_params){.outputs = -1}), "f", "-1");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_graph_relu(g, "r", NULL), "r");
    ck_assert_int_eq(cly_graph_softmax(g, "s", "nowhere"), CLY_SUCCESS);
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_graph_infer(g, 1), "s", "nowhere");
    cly_graph_destroy(g);

    g = parse_net();
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_graph_infer(NULL, 1), "cly_graph_infer");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_graph_infer(g, 0), "batch", "0");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_graph_infer(g, 3000000000LL), "batch", "3000000000");
    cly_layer_info info;
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_graph_layer_info(g, 0, &info), "cly_graph_infer first");
    ck_assert_int_eq(cly_graph_infer(g, 1), CLY_SUCCESS);
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_graph_layer_info(g, 999, &info), "999");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_graph_layer_info(g, 0, NULL), "cly_graph_layer_info");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_graph_print_summary(NULL, stdout), "cly_graph_print_summary");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_graph_print_summary(g, NULL), "cly_graph_print_summary");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_graph_fc_to_conv(NULL, &o), "cly_graph_fc_to_conv");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_graph_set_input_size(g, "data", 3000000000LL, 8), "data",
           "3000000000", "2147483647");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_graph_set_input_size(g, "data", 8, INT64_MAX), "data",
           "9223372036854775807");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_graph_set_input_size(g, "data", 0, 8), "data", "0 x 8");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_graph_set_input_size(g, "c1", 8, 8), "c1", "not an input");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_graph_set_input_size(g, "nope", 8, 8), "nope");
    /* The largest size accepted is one the text form writes and reads back. */
    ck_assert_int_eq(cly_graph_set_input_size(g, "data", 2147483647, 1), CLY_SUCCESS);
    char *text = NULL;
    size_t size = 0;
    ck_assert_int_eq(cly_graph_to_text(g, &text, &size), CLY_SUCCESS);
    cly_graph *back = NULL;
    ck_assert_int_eq(cly_graph_parse(text, size, "round trip", &back), CLY_SUCCESS);
    free(text);
    cly_graph_destroy(back);
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_graph_to_text(NULL, &text, &size), "cly_graph_to_text");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_graph_to_text(g, NULL, &size), "cly_graph_to_text");
    cly_shape in;
    cly_conv_params cp;
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_graph_layer_conv(g, 1, &in, &cp), "cly_graph_layer_conv", "infer");
    ck_assert_int_eq(cly_graph_set_input_size(g, "data", 8, 8), CLY_SUCCESS);
    ck_assert_int_eq(cly_graph_infer(g, 1), CLY_SUCCESS);
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_graph_layer_conv(g, 0, &in, &cp), "data", "not a conv");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_graph_layer_conv(g, 999, &in, &cp), "999");
    cly_graph_destroy(g);

    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_graph_parse(NULL, 5, "x", &o), "cly_graph_parse");
    static const char nan_lrn[] = "input data c=3 h=8 w=8\nlrn n data size=5 alpha=nan\n";
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_graph_parse(nan_lrn, sizeof nan_lrn - 1, "nan.net", &o), "nan.net:2");
    static const char inf_drop[] = "input data c=3 h=8 w=8\ndropout d data p=inf\n";
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_graph_parse(inf_drop, sizeof inf_drop - 1, "inf.net", &o), "inf.net:2");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_graph_builtin("vgg61", &o), "vgg61");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_graph_builtin(NULL, &o), "cly_graph_builtin");
    ck_assert_ptr_null(cly_graph_builtin_name(9999));
    ck_assert_ptr_null(o);
}
END_TEST

/* ---------------------------------------------------------------- loaders and paths */

START_TEST(t_paths)
{
    paths p;
    make_paths(&p);
    cly_graph *g = NULL;
    char want[400];
    snprintf(want, sizeof want, "%s: not a regular file (a FIFO)", p.fifo);
    EXPECT(CLY_ERROR_IO, cly_graph_load(p.fifo, &g), want);
    snprintf(want, sizeof want, "%s: not a regular file (a directory)", p.dir);
    EXPECT(CLY_ERROR_IO, cly_graph_load(p.dir, &g), want);
    EXPECT(CLY_ERROR_IO, cly_graph_load("/dev/null", &g), "/dev/null: not a regular file (a character device)");
    EXPECT(CLY_ERROR_IO, cly_graph_load(p.missing, &g), p.missing, "No such file");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_graph_load(NULL, &g), "cly_graph_load");

    cly_image *img = NULL;
    EXPECT(CLY_ERROR_IO, cly_image_load(p.fifo, &img), p.fifo, "a FIFO");
    EXPECT(CLY_ERROR_IO, cly_image_load(p.dir, &img), p.dir, "a directory");
    EXPECT(CLY_ERROR_IO, cly_image_load("/dev/zero", &img), "/dev/zero", "a character device");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_image_load(NULL, &img), "cly_image_load");

    cly_weights *w = NULL;
    EXPECT(CLY_ERROR_IO, cly_graph_import_onnx(p.fifo, &g, &w), p.fifo, "a FIFO");
    EXPECT(CLY_ERROR_IO, cly_graph_import_onnx(p.dir, &g, &w), p.dir, "a directory");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_graph_import_onnx(NULL, &g, &w), "cly_graph_import_onnx");

    cly_dataset *d = NULL;
    EXPECT(CLY_ERROR_IO, cly_dataset_load_idx(p.fifo, p.fifo, &d), p.fifo, "not a regular file");
    EXPECT(CLY_ERROR_IO, cly_dataset_load_idx(p.dir, p.dir, &d), p.dir, "not a regular file");
    EXPECT(CLY_ERROR_IO, cly_dataset_load_idx(p.missing, p.missing, &d), p.missing);
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_dataset_load_idx(NULL, p.missing, &d), "cly_dataset_load_idx");
    EXPECT(CLY_ERROR_IO, cly_dataset_load_fashion_mnist(p.missing, true, &d), p.missing);
    ck_assert_ptr_null(d);

    cly_context *ctx = cly_test_context();
    cly_net *net = NULL;
    const cly_net_options o = {.batch = 1};
    snprintf(want, sizeof want, "%s: not a regular file (a FIFO)", p.fifo);
    EXPECT(CLY_ERROR_IO, cly_model_load(ctx, p.fifo, &o, &g, &net), want);
    EXPECT(CLY_ERROR_IO, cly_model_load(ctx, p.dir, &o, &g, &net), p.dir, "a directory");
    EXPECT(CLY_ERROR_IO, cly_model_load(ctx, "/dev/null", &o, &g, &net), "a character device");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_model_load(ctx, NULL, &o, &g, &net), "cly_model_load");
    EXPECT(CLY_ERROR_IO, cly_onnx_load(ctx, p.fifo, &o, &g, &net), p.fifo, "a FIFO");
    ck_assert_ptr_null(net);

    /* Writers: a path that cannot be created, a directory in its place. */
    cly_graph *ng = parse_net();
    net = make_net(ctx, ng, CLY_MODE_INFERENCE);
    EXPECT(CLY_ERROR_IO, cly_net_save(net, p.unwritable), "/proc/clayer-bad-input");
    EXPECT(CLY_ERROR_IO, cly_net_save(net, p.missing), p.missing);
    EXPECT(CLY_ERROR_IO, cly_net_save(net, p.dir), p.dir);
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_net_save(NULL, p.missing), "cly_net_save");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_net_save(net, NULL), "cly_net_save");
    EXPECT(CLY_ERROR_IO, cly_net_export_onnx(net, p.unwritable), "/proc/clayer-bad-input");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_net_export_onnx_buffer(net, NULL, NULL), "cly_net_export_onnx_buffer");
    cly_net_destroy(net);
    cly_graph_destroy(ng);
    cly_context_destroy(ctx);
    alarm(0);
    cly_test_rmtree(p.dir);
}
END_TEST

/* ---------------------------------------------------------------- nets */

START_TEST(t_nets)
{
    cly_context *ctx = cly_test_context();
    cly_graph *g = parse_net();
    cly_net *bad = NULL;
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_net_create(NULL, g, &(cly_net_options){.batch = 1}, &bad),
           "cly_net_create");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_net_create(ctx, g, NULL, &bad), "cly_net_create");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_net_create(ctx, g, &(cly_net_options){.batch = 0}, &bad), "batch 0");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_net_create(ctx, g, &(cly_net_options){.batch = -5}, &bad), "batch -5");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT,
           cly_net_create(ctx, g, &(cly_net_options){.batch = 1, .mode = (cly_mode)5}, &bad), "mode 5");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT,
           cly_net_create(ctx, g, &(cly_net_options){.batch = 1, .conv_algo = (cly_conv_algo)42}, &bad),
           "conv_algo 42");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_net_create(ctx, g, &(cly_net_options){.batch = 1, .keep_count = 1}, &bad),
           "keep");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT,
           cly_net_create(ctx, g, &(cly_net_options){.batch = 1, .keep = (const char *const[]){"zz"}, .keep_count = 1},
                          &bad),
           "zz");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_net_create(ctx, g, &(cly_net_options){.struct_size = 1, .batch = 1}, &bad),
           "cly_net_options.struct_size = 1");
    ck_assert_ptr_null(bad);

    cly_net *net = make_net(ctx, g, CLY_MODE_INFERENCE);
    int64_t count = 0;
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_net_param_count(net, "zz", CLY_PARAM_WEIGHTS, &count), "zz");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_net_param_count(net, "c1", (cly_param_kind)9, &count), "c1", "9");
    ck_assert_int_eq(cly_net_param_count(net, "r1", CLY_PARAM_WEIGHTS, &count), CLY_SUCCESS);
    ck_assert_int_eq(count, 0); /* a ReLU has none */
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_net_param_count(net, "c1", CLY_PARAM_WEIGHTS, NULL), "count");
    float buf[256] = {0}, big[512] = {0};
    double buf64[256] = {0};
    /* c1: 4 x 1 x 3 x 3 = 36 weights. */
    EXPECT(CLY_ERROR_SHAPE_MISMATCH, cly_net_set_param(net, "c1", CLY_PARAM_WEIGHTS, buf, 35), "c1", "35", "36");
    EXPECT(CLY_ERROR_SHAPE_MISMATCH, cly_net_get_param(net, "c1", CLY_PARAM_WEIGHTS, buf, -1), "c1", "-1", "36");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_net_set_param(net, "c1", CLY_PARAM_WEIGHTS, NULL, 36), "c1");
    EXPECT(CLY_ERROR_SHAPE_MISMATCH, cly_net_set_param_f64(net, "c1", CLY_PARAM_BIAS, buf64, 36), "c1", "36", "4");
    EXPECT(CLY_ERROR_SHAPE_MISMATCH, cly_net_get_param_f64(net, "bn", CLY_PARAM_MEAN, buf64, 5), "bn", "5", "4");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_net_init_params(net, (cly_init)7, 1), "7");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_net_init_params(NULL, CLY_INIT_HE, 1), "cly_net_init_params");
    /* data: 2 x 1 x 8 x 8 = 128 values. */
    EXPECT(CLY_ERROR_SHAPE_MISMATCH, cly_net_set_input(net, "data", buf, 127), "data", "127", "128");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_net_set_input(net, "c1", big, 512), "c1", "not an input");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_net_set_input(net, "zz", buf, 128), "zz");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_net_set_input(net, "data", NULL, 128), "data");
    EXPECT(CLY_ERROR_SHAPE_MISMATCH, cly_net_set_input_f64(net, "data", buf64, 2), "data", "2", "128");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_net_forward(NULL), "cly_net_forward");
    ck_assert_int_eq(cly_net_set_input(net, "data", buf, 128), CLY_SUCCESS);
    ck_assert_int_eq(cly_net_forward(net), CLY_SUCCESS);
    EXPECT(CLY_ERROR_SHAPE_MISMATCH, cly_net_get_output(net, "f1", buf, 21), "f1", "21", "20");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_net_get_output(net, "c1", big, 512), "c1", "neither a graph output nor kept");
    EXPECT(CLY_ERROR_SHAPE_MISMATCH, cly_net_get_output_f64(net, "f1", buf64, 0), "f1", "0", "20");
    cly_net_memory mem;
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_net_memory_get(NULL, &mem), "cly_net_memory_get");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_net_memory_get(net, NULL), "cly_net_memory_get");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_net_print_summary(NULL, stdout), "cly_net_print_summary");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_net_print_summary(net, NULL), "cly_net_print_summary");
    ck_assert_str_eq(cly_net_layer_algo_text(net, "zz"), "-"); /* documented: "-" for unknown names */
    ck_assert_int_eq(cly_net_layer_algo(net, "zz"), CLY_CONV_AUTO);
    /* Training calls on an inference net. */
    int32_t labels[2] = {1, 2};
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_net_set_training(net, &(cly_train_params){.learning_rate = 0.1}),
           "inference");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_net_train_batch(net, labels, 2, NULL), "cly_net_train_batch");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_net_update(net), "cly_net_update");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_net_forward_training(net), "cly_net_forward_training");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_net_set_profiling(NULL, true), "cly_net_set_profiling");
    cly_layer_timing lt;
    cly_pass_timing pt;
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_net_layer_timing(net, 0, &lt), "cly_net_set_profiling");
    ck_assert_int_eq(cly_net_set_profiling(net, true), CLY_SUCCESS);
    ck_assert_int_eq(cly_net_forward(net), CLY_SUCCESS);
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_net_layer_timing(net, 999, &lt), "999");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_net_layer_timing(net, 0, NULL), "cly_net_layer_timing");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_net_pass_timing(NULL, &pt), "cly_net_pass_timing");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_net_set_weights(NULL, NULL), "cly_net_set_weights");
    cly_net_destroy(net);
    cly_graph_destroy(g);
    cly_context_destroy(ctx);
}
END_TEST

/* ---------------------------------------------------------------- training */

typedef struct train_row {
    const char *field;
    cly_train_params p;
    const char *value; /* as the message prints it */
} train_row;

/* A transport whose every exchange fails, for the messages around it. */
static int refuse(char *why, size_t size)
{
    snprintf(why, size, "refused by the test");
    return 1;
}
static int refuse_gather(void *user, const void *mine, void *all, size_t bytes, char *why, size_t size)
{
    (void)user, (void)mine, (void)all, (void)bytes;
    return refuse(why, size);
}
static int refuse_broadcast(void *user, int root, void *buf, size_t bytes, char *why, size_t size)
{
    (void)user, (void)root, (void)buf, (void)bytes;
    return refuse(why, size);
}
static int refuse_send(void *user, int to, const void *buf, size_t bytes, char *why, size_t size)
{
    (void)user, (void)to, (void)buf, (void)bytes;
    return refuse(why, size);
}
static int refuse_recv(void *user, int from, void *buf, size_t bytes, char *why, size_t size)
{
    (void)user, (void)from, (void)buf, (void)bytes;
    return refuse(why, size);
}

START_TEST(t_training)
{
    cly_context *ctx = cly_test_context(), *other = cly_test_context();
    cly_graph *g = parse_net();
    cly_net *net = make_net(ctx, g, CLY_MODE_TRAINING);
    const double inf = INFINITY, nan = NAN;
    const train_row rows[] = {
        {"learning_rate", {.learning_rate = 0}, "0"},
        {"learning_rate", {.learning_rate = -1}, "-1"},
        {"learning_rate", {.learning_rate = inf}, "inf"},
        {"learning_rate", {.learning_rate = nan}, "nan"},
        {"momentum", {.learning_rate = 0.1, .momentum = 1}, "1"},
        {"momentum", {.learning_rate = 0.1, .momentum = -0.5}, "-0.5"},
        {"momentum", {.learning_rate = 0.1, .momentum = nan}, "nan"},
        {"weight_decay", {.learning_rate = 0.1, .weight_decay = inf}, "inf"},
        {"weight_decay", {.learning_rate = 0.1, .weight_decay = -1e-4}, "-0.0001"},
        {"svm_margin", {.learning_rate = 0.1, .loss = CLY_LOSS_SVM, .svm_margin = inf}, "inf"},
        {"svm_margin", {.learning_rate = 0.1, .svm_margin = nan}, "nan"},
        {"lr_gamma", {.learning_rate = 0.1, .lr_gamma = inf}, "inf"},
        {"lr_gamma", {.learning_rate = 0.1, .lr_gamma = -0.1}, "-0.1"},
        {"adam_beta1", {.learning_rate = 0.1, .optimizer = CLY_OPTIMIZER_ADAM, .adam_beta1 = nan}, "nan"},
        {"adam_beta1", {.learning_rate = 0.1, .optimizer = CLY_OPTIMIZER_ADAM, .adam_beta1 = 2}, "2"},
        {"adam_beta1", {.learning_rate = 0.1, .optimizer = CLY_OPTIMIZER_ADAM, .adam_beta1 = -1}, "-1"},
        {"adam_beta2", {.learning_rate = 0.1, .optimizer = CLY_OPTIMIZER_ADAM, .adam_beta2 = 1}, "1"},
        {"adam_beta2", {.learning_rate = 0.1, .optimizer = CLY_OPTIMIZER_ADAM, .adam_beta2 = inf}, "inf"},
        {"adam_epsilon", {.learning_rate = 0.1, .optimizer = CLY_OPTIMIZER_ADAM, .adam_epsilon = -1}, "-1"},
        {"adam_epsilon", {.learning_rate = 0.1, .optimizer = CLY_OPTIMIZER_ADAM, .adam_epsilon = nan}, "nan"},
        {"accumulate", {.learning_rate = 0.1, .accumulate = -2}, "-2"},
        {"lr_step", {.learning_rate = 0.1, .lr_step = -1}, "-1"},
        {"loss", {.learning_rate = 0.1, .loss = (cly_loss)5}, "5"},
        {"optimizer", {.learning_rate = 0.1, .optimizer = (cly_optimizer)3}, "3"},
        {"struct_size", {.struct_size = 8, .learning_rate = 0.1}, "8"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        cly_status s = cly_net_set_training(net, &rows[i].p);
        const char *msg = cly_last_error(ctx);
        ck_assert_msg(s == CLY_ERROR_INVALID_ARGUMENT, "row %zu (%s = %s): %s", i, rows[i].field, rows[i].value,
                      cly_status_string(s));
        char want[96];
        snprintf(want, sizeof want, "got %s)", rows[i].value);
        if (!strcmp(rows[i].field, "struct_size"))
            snprintf(want, sizeof want, "struct_size = %s", rows[i].value);
        else if (!strcmp(rows[i].field, "loss") || !strcmp(rows[i].field, "optimizer"))
            snprintf(want, sizeof want, "unknown %s %s", rows[i].field, rows[i].value);
        ck_assert_msg(strstr(msg, rows[i].field) && strstr(msg, want), "row %zu: message \"%s\" lacks %s / %s", i,
                      msg, rows[i].field, want);
    }
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_net_set_training(NULL, &rows[0].p), "cly_net_set_training");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_net_set_training(net, NULL), "cly_net_set_training");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT,
           cly_net_set_training(net, &(cly_train_params){.learning_rate = 0.1, .scores = "zz"}), "zz");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT,
           cly_net_set_training(net, &(cly_train_params){.learning_rate = 0.1, .scores = "c1"}), "c1", "4 x 8 x 8");
    /* Not yet set up: the batch calls refuse. */
    int32_t labels[2] = {1, 2}, bad_labels[2] = {1, 10}, neg_labels[2] = {-1, 0};
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_net_train_batch(net, labels, 2, NULL), "cly_net_set_training");
    ck_assert_int_eq(cly_net_set_training(net, &(cly_train_params){.learning_rate = 0.1, .momentum = 0.9}),
                     CLY_SUCCESS);
    float x[128] = {0};
    ck_assert_int_eq(cly_net_set_input(net, "data", x, 128), CLY_SUCCESS);
    EXPECT(CLY_ERROR_SHAPE_MISMATCH, cly_net_train_batch(net, labels, 3, NULL), "3", "2");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_net_train_batch(net, NULL, 2, NULL), "labels");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_net_train_batch(net, bad_labels, 2, NULL), "10");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_net_train_batch(net, neg_labels, 2, NULL), "-1");
    EXPECT(CLY_ERROR_SHAPE_MISMATCH, cly_net_compute_gradients(net, labels, 1, NULL), "1", "2");
    /* Data parallelism over a transport (clayer_mpi.h gives MPI's): the
     * checks, and a transport's failure named with the rank and exchange. */
    cly_transport tr = {.rank = 0, .ranks = 1, .gather_all = refuse_gather, .broadcast = refuse_broadcast,
                        .send = refuse_send, .recv = refuse_recv};
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_net_train_part(NULL, &tr, labels, 2, NULL), "cly_net_train_part", "NULL");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_net_train_part(net, NULL, labels, 2, NULL), "transport");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_net_sync_part(NULL, &tr), "cly_net_sync_part");
    cly_transport odd = tr;
    odd.rank = 3;
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_net_sync_part(net, &odd), "rank 3 is outside [0, 1)");
    odd = tr;
    odd.ranks = 0;
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_net_train_part(net, &odd, labels, 2, NULL), "outside [0, 0)");
    odd = tr;
    odd.gather_all = NULL;
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_net_train_part(net, &odd, labels, 2, NULL), "gather_all NULL");
    odd = tr;
    odd.ranks = 2;
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_net_train_part(net, &odd, labels, 2, NULL), "accumulates 1 batches",
           "2 ranks");
    EXPECT(CLY_ERROR_SHAPE_MISMATCH, cly_net_train_part(net, &tr, labels, 3, NULL), "3", "2");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_net_train_part(net, &tr, bad_labels, 2, NULL), "10");
    EXPECT(CLY_ERROR_IO, cly_net_sync_part(net, &tr), "cly_net_sync_part: rank 0 of 1",
           "broadcasting rank 0's parameters", "refused by the test");
    EXPECT(CLY_ERROR_IO, cly_net_train_part(net, &tr, labels, 2, NULL), "cly_net_train_part: rank 0 of 1, update 0",
           "exchanging the batch gradients", "refused by the test");
    ck_assert_int_eq(cly_net_updates(net), 0);
    double loss = 0;
    ck_assert_int_eq(cly_net_compute_gradients(net, labels, 2, &loss), CLY_SUCCESS);
    float buf[256];
    double buf64[256];
    EXPECT(CLY_ERROR_SHAPE_MISMATCH, cly_net_get_gradient(net, "c1", CLY_PARAM_WEIGHTS, buf, 37), "c1", "37", "36");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_net_get_gradient(net, "zz", CLY_PARAM_WEIGHTS, buf, 36), "zz");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_net_get_gradient(net, "c1", (cly_param_kind)8, buf, 36), "c1", "8");
    EXPECT(CLY_ERROR_SHAPE_MISMATCH, cly_net_get_gradient_f64(net, "c1", CLY_PARAM_BIAS, buf64, 3), "c1", "3", "4");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_net_get_input_gradient(net, "c1", buf, 128), "c1");
    EXPECT(CLY_ERROR_SHAPE_MISMATCH, cly_net_get_input_gradient_f64(net, "data", buf64, 64), "data", "64", "128");
    EXPECT(CLY_ERROR_SHAPE_MISMATCH, cly_net_get_losses(net, buf, 3), "3", "2");
    EXPECT(CLY_ERROR_SHAPE_MISMATCH, cly_net_get_losses_f64(net, buf64, -2), "-2", "2");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_net_get_batch_stats(net, "c1", buf, buf, 4), "c1", "batchnorm");
    EXPECT(CLY_ERROR_SHAPE_MISMATCH, cly_net_get_batch_stats(net, "bn", buf, buf, 5), "bn", "5", "4");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_net_get_batch_stats_f64(net, "bn", NULL, buf64, 4), "bn");
    EXPECT(CLY_ERROR_SHAPE_MISMATCH, cly_net_set_output_gradient(net, "f1", buf, 19), "f1", "19", "20");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_net_set_output_gradient(net, "zz", buf, 20), "zz");
    EXPECT(CLY_ERROR_SHAPE_MISMATCH, cly_net_set_output_gradient_f64(net, "f1", buf64, 21), "f1", "21", "20");
    EXPECT(CLY_ERROR_SHAPE_MISMATCH, cly_net_get_output_gradient(net, "f1", buf, 1), "f1", "1", "20");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_net_get_output_gradient_f64(net, "zz", buf64, 20), "zz");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_net_backward(NULL), "cly_net_backward");

    /* Weights of another shape or a model of another net. */
    cly_net *infer = NULL;
    cly_graph *g2 = parse_net();
    ck_assert_int_eq(cly_net_create(other, g2, &(cly_net_options){.batch = 2}, &infer), CLY_SUCCESS);
    cly_weights *w = NULL;
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_weights_get(w, 0, NULL, NULL, NULL, NULL), "cly_weights_get");
    ck_assert_int_eq(cly_weights_count(NULL), 0);
    cly_net_destroy(infer);
    cly_graph_destroy(g2);
    cly_net_destroy(net);
    cly_graph_destroy(g);
    cly_context_destroy(ctx);
    cly_context_destroy(other);
}
END_TEST

/* ---------------------------------------------------------------- images */

START_TEST(t_images)
{
    cly_image *img = NULL;
    static const unsigned char junk[16] = "not an image....";
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_image_load_memory(NULL, 5, "x", &img), "cly_image_load_memory");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_image_load_memory(junk, sizeof junk, "junk.bin", &img), "junk.bin");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_image_load_memory(junk, 0, "empty", &img), "empty");
    ck_assert_ptr_null(img);
    ck_assert_int_eq(cly_image_width(NULL), 0);
    ck_assert_ptr_null(cly_image_pixels(NULL));
    cly_image *out = NULL;
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_image_resize(NULL, 4, 4, &out), "cly_image_resize");
    float dst[3 * 4 * 4];
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_image_preprocess(NULL, NULL, dst, 48), "cly_image_preprocess");
}
END_TEST

/* ---------------------------------------------------------------- op-level API and tuning */

START_TEST(t_ops)
{
    cly_context *ctx = cly_test_context(), *other = cly_test_context();
    const char *in[] = {"x"};
    const cly_layer conv = {.type = CLY_LAYER_CONV, .name = "conv", .inputs = in, .input_count = 1,
                            .p.conv = {.filters = 2, .size = {3, 3}, .pad = CLY_PAD(1), .no_bias = true}};
    const cly_shape x4 = {1, 2, 4, 4};
    cly_shape out;
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_op_output_shape(NULL, &x4, 1, &out), "cly_op_output_shape");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_op_output_shape(&conv, &x4, 0, &out), "conv");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_op_output_shape(&conv, &(cly_shape){1, 2, 0, 4}, 1, &out), "conv");
    cly_plan *plan = NULL;
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_plan_create(NULL, &conv, &x4, 1, CLY_MODE_INFERENCE, &plan),
           "cly_plan_create");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_plan_create(ctx, &conv, &x4, 1, (cly_mode)7, &plan), "7");
    const cly_shape two[] = {x4, x4};
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_plan_create(ctx, &conv, two, 2, CLY_MODE_INFERENCE, &plan), "conv", "2");
    ck_assert_int_eq(cly_plan_create(ctx, &conv, &x4, 1, CLY_MODE_TRAINING, &plan), CLY_SUCCESS);
    cly_plan_info pi;
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_plan_info_get(NULL, &pi), "cly_plan_info_get");

    cly_tensor *x = NULL, *w = NULL, *y = NULL, *fx = NULL, *wrong = NULL;
    ck_assert_int_eq(cly_tensor_create(ctx, x4, &x), CLY_SUCCESS);
    ck_assert_int_eq(cly_tensor_create(ctx, (cly_shape){2, 2, 3, 3}, &w), CLY_SUCCESS);
    ck_assert_int_eq(cly_tensor_create(ctx, x4, &y), CLY_SUCCESS);
    ck_assert_int_eq(cly_tensor_create(other, x4, &fx), CLY_SUCCESS);
    ck_assert_int_eq(cly_tensor_create(ctx, (cly_shape){1, 3, 4, 4}, &wrong), CLY_SUCCESS);
    const cly_tensor *xs[] = {x}, *fxs[] = {fx}, *wrongs[] = {wrong};
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_plan_forward(plan, NULL, 1, 0), "conv");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_plan_forward(plan, &(cly_op_tensors){.x = fxs, .x_count = 1, .y = y, .weights = w}, 1, 0),
           "conv", "context");
    EXPECT(CLY_ERROR_SHAPE_MISMATCH,
           cly_plan_forward(plan, &(cly_op_tensors){.x = wrongs, .x_count = 1, .y = y, .weights = w}, 1, 0), "conv",
           "1x3x4x4");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_plan_forward(plan, &(cly_op_tensors){.x = xs, .x_count = 1, .y = y}, 1, 0),
           "conv", "weights");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT,
           cly_plan_forward(plan, &(cly_op_tensors){.x = xs, .x_count = 1, .y = y, .weights = w}, NAN, 0), "conv",
           "nan");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT,
           cly_plan_forward(plan, &(cly_op_tensors){.x = xs, .x_count = 1, .y = y, .weights = w}, 1, INFINITY),
           "conv", "inf");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_plan_backward_data(NULL, NULL, 1, 0), "cly_plan");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_plan_backward_weights(plan, &(cly_op_tensors){.x = xs, .x_count = 1}, 1, 0),
           "conv");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_op_forward(ctx, NULL, CLY_MODE_INFERENCE, NULL, 1, 0), "cly_op_forward");
    cly_plan_destroy(plan);

    /* Losses and optimiser steps. */
    cly_tensor *scores = NULL, *losses = NULL, *v = NULL, *m = NULL, *fv = NULL, *v2 = NULL;
    ck_assert_int_eq(cly_tensor_create(ctx, (cly_shape){2, 3, 1, 1}, &scores), CLY_SUCCESS);
    ck_assert_int_eq(cly_tensor_create(ctx, (cly_shape){2, 1, 1, 1}, &losses), CLY_SUCCESS);
    ck_assert_int_eq(cly_tensor_create(ctx, (cly_shape){2, 2, 3, 3}, &v), CLY_SUCCESS);
    ck_assert_int_eq(cly_tensor_create(ctx, (cly_shape){2, 2, 3, 3}, &m), CLY_SUCCESS);
    ck_assert_int_eq(cly_tensor_create(other, (cly_shape){2, 2, 3, 3}, &fv), CLY_SUCCESS);
    ck_assert_int_eq(cly_tensor_create(ctx, (cly_shape){2, 2, 3, 3}, &v2), CLY_SUCCESS);
    int32_t labels[2] = {0, 3};
    EXPECT(CLY_ERROR_INVALID_ARGUMENT,
           cly_op_loss(ctx, (cly_loss)4, 0, scores, labels, 2, losses, NULL, 1, 0), "4");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT,
           cly_op_loss(ctx, CLY_LOSS_SVM, NAN, scores, labels, 2, losses, NULL, 1, 0), "nan");
    EXPECT(CLY_ERROR_SHAPE_MISMATCH, cly_op_loss(ctx, CLY_LOSS_SOFTMAX_XENT, 0, scores, labels, 3, losses, NULL, 1, 0),
           "3", "2");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT,
           cly_op_loss(ctx, CLY_LOSS_SOFTMAX_XENT, 0, scores, labels, 2, losses, NULL, 1, 0), "3");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT,
           cly_op_loss(ctx, CLY_LOSS_SOFTMAX_XENT, 0, scores, NULL, 2, losses, NULL, 1, 0), "labels");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_op_sgd_step(ctx, w, v, m, NAN, 0.9, false, 0), "nan");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_op_sgd_step(ctx, w, v, m, INFINITY, 0.9, false, 0), "inf");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_op_sgd_step(ctx, w, v, m, 0.1, 1.0, false, 0), "1");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_op_sgd_step(ctx, w, v, m, 0.1, 0.9, false, -1), "-1");
    EXPECT(CLY_ERROR_SHAPE_MISMATCH, cly_op_sgd_step(ctx, w, scores, m, 0.1, 0.9, false, 0), "6", "36");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_op_sgd_step(ctx, w, fv, m, 0.1, 0.9, false, 0), "context");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_op_adam_step(ctx, w, v, m, v2, 0.1, 1.0, 0.999, 1e-8, 1, 0), "1");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_op_adam_step(ctx, w, v, m, v2, 0.1, 0.9, NAN, 1e-8, 1, 0), "nan");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_op_adam_step(ctx, w, v, m, v2, 0.1, 0.9, 0.999, -1, 1, 0), "-1");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_op_adam_step(ctx, w, v, m, v2, 0.1, 0.9, 0.999, 1e-8, 0, 0), "0");

    /* The tuner's options. */
    cly_tune_result r;
    const cly_conv_params cp = {.filters = 2, .size = {3, 3}, .pad = CLY_PAD(1)};
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_tune_conv(ctx, x4, NULL, NULL, &r), "cly_tune_conv");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_tune_conv(ctx, x4, &cp, &(cly_tune_options){.budget_s = NAN}, &r),
           "budget_s", "nan");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_tune_conv(ctx, x4, &cp, &(cly_tune_options){.budget_s = -1}, &r),
           "budget_s", "-1");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_tune_conv(ctx, x4, &cp, &(cly_tune_options){.runs = -3}, &r), "runs",
           "-3");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_tune_conv(ctx, x4, &cp, &(cly_tune_options){.struct_size = 2}, &r),
           "cly_tune_options.struct_size = 2");
    cly_graph *g = NULL;
    cly_weights *wts = NULL;
    EXPECT(CLY_ERROR_INVALID_ARGUMENT,
           cly_graph_import_onnx_buffer(NULL, 5, "null.onnx", &g, &wts), "null.onnx");
    char dir[256], file[300];
    cly_test_mkdtemp(dir, sizeof dir);
    snprintf(file, sizeof file, "%s/x.onnx", dir);
    FILE *f = fopen(file, "wb");
    ck_assert_ptr_nonnull(f);
    fputs("not protobuf", f);
    fclose(f);
    EXPECT(CLY_ERROR_INVALID_ARGUMENT,
           cly_graph_import_onnx_opts(file, &(cly_onnx_options){.struct_size = 1}, &g, &wts),
           "cly_onnx_options.struct_size = 1");
    cly_test_rmtree(dir);

    cly_tensor *all[] = {x, w, y, fx, wrong, scores, losses, v, m, fv, v2};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        cly_tensor_destroy(all[i]);
    cly_context_destroy(ctx);
    cly_context_destroy(other);
}
END_TEST

/* ---------------------------------------------------------------- interop and the queries */

START_TEST(t_interop)
{
    cly_context *ctx = cly_test_context(), *other = cly_test_context();
    cl_context cl = NULL, cl_other = NULL;
    cl_device_id dev = NULL;
    cl_command_queue q = NULL;
    ck_assert_int_eq(cly_cl_context_get(ctx, &cl, &dev, &q), CLY_SUCCESS);
    ck_assert_int_eq(cly_cl_context_get(other, &cl_other, NULL, NULL), CLY_SUCCESS);
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_cl_context_get(NULL, &cl, NULL, NULL), "cly_cl_context_get");
    cly_context *made = NULL;
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_cl_context_create(NULL, dev, q, NULL, &made), "the cl_context");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_cl_context_create(cl, NULL, q, NULL, &made), "the cl_device_id");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_cl_context_create(cl, dev, NULL, NULL, &made), "the cl_command_queue");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT,
           cly_cl_context_create(cl, dev, q, &(cly_context_options){.selector = "cpu"}, &made), "selector",
           "\"cpu\"");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT,
           cly_cl_context_create(cl, dev, q, &(cly_context_options){.precision = 9}, &made), "precision 9");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT,
           cly_cl_context_create(cl, dev, q, &(cly_context_options){.struct_size = 5}, &made), "struct_size = 5");
    ck_assert_ptr_null(made);

    cl_int err;
    cl_mem mem = clCreateBuffer(cl, CL_MEM_READ_WRITE, 64 * sizeof(float), NULL, &err);
    cl_mem foreign = clCreateBuffer(cl_other, CL_MEM_READ_WRITE, 64 * sizeof(float), NULL, &err);
    cl_mem ro = clCreateBuffer(cl, CL_MEM_READ_ONLY, 64 * sizeof(float), NULL, &err);
    cly_tensor *t = NULL;
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_cl_tensor_wrap(NULL, mem, 0, (cly_shape){1, 1, 8, 8}, &t),
           "cly_cl_tensor_wrap");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_cl_tensor_wrap(ctx, NULL, 0, (cly_shape){1, 1, 8, 8}, &t),
           "cly_cl_tensor_wrap");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_cl_tensor_wrap(ctx, mem, -1, (cly_shape){1, 1, 8, 8}, &t), "-1");
    EXPECT(CLY_ERROR_SHAPE_MISMATCH, cly_cl_tensor_wrap(ctx, mem, 1, (cly_shape){1, 1, 8, 8}, &t), "256");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_cl_tensor_wrap(ctx, mem, 0, (cly_shape){1, 0, 8, 8}, &t), "1x0x8x8");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_cl_tensor_wrap(ctx, foreign, 0, (cly_shape){1, 1, 8, 8}, &t),
           "cly_cl_tensor_wrap", "context");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_cl_tensor_wrap(ctx, ro, 0, (cly_shape){1, 1, 8, 8}, &t),
           "cly_cl_tensor_wrap", "read");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_cl_tensor_wrap(ctx, mem, 0, (cly_shape){1, 1, 8, 8}, NULL),
           "cly_cl_tensor_wrap");
    ck_assert_ptr_null(t);
    cl_mem got = NULL;
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_cl_tensor_mem(NULL, &got, NULL), "cly_cl_tensor_mem");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_cl_enqueue_marker(NULL, NULL), "cly_cl_enqueue_marker");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_cl_enqueue_marker(ctx, NULL), "cly_cl_enqueue_marker");
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_cl_enqueue_wait(ctx, 2, NULL), "cly_cl_enqueue_wait");
    cl_event none[1] = {NULL};
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_cl_enqueue_wait(ctx, 1, none), "cly_cl_enqueue_wait");
    ck_assert_int_eq(cly_cl_enqueue_wait(ctx, 0, NULL), CLY_SUCCESS);
    clReleaseMemObject(mem);
    clReleaseMemObject(foreign);
    clReleaseMemObject(ro);

    /* Queries on NULL or out-of-range values answer without crashing. */
    ck_assert_ptr_nonnull(cly_version());
    ck_assert_ptr_nonnull(cly_device_type_string((cly_device_type)77));
    ck_assert_str_eq(cly_conv_algo_string((cly_conv_algo)-1), "unknown");
    ck_assert(!cly_conv_algo_exact((cly_conv_algo)99));
    ck_assert_str_eq(cly_layer_type_string((cly_layer_type)99), "unknown");
    ck_assert_int_eq(cly_graph_layer_count(NULL), 0);
    ck_assert_int_eq(cly_image_height(NULL), 0);
    ck_assert_str_eq(cly_context_cache_dir(NULL), "");
    ck_assert_str_eq(cly_context_tuning_path(NULL), "");
    ck_assert_int_eq(cly_context_precision(NULL), CLY_PRECISION_FLOAT32);
    cly_shape zero = cly_tensor_shape(NULL);
    ck_assert_int_eq(zero.n + zero.c + zero.h + zero.w, 0);
    cly_set_log_callback(NULL, CLY_LOG_WARN, NULL);
    cly_dataset_destroy(NULL);
    cly_image_destroy(NULL);
    cly_weights_destroy(NULL);
    cly_plan_destroy(NULL);
    EXPECT(CLY_ERROR_INVALID_ARGUMENT, cly_plan_backward(NULL, NULL, 1, 0), "cly_plan");
    cly_graph *g = NULL;
    cly_net *net = NULL;
    EXPECT(CLY_ERROR_INVALID_ARGUMENT,
           cly_onnx_load_opts(ctx, NULL, NULL, &(cly_net_options){.batch = 1}, &g, &net), "cly_onnx_load");
    cly_context_destroy(ctx);
    cly_context_destroy(other);
}
END_TEST

static Suite *bad_input_suite(void)
{
    Suite *s = suite_create("bad_input");
    TCase *tc = tcase_create("bad_input");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, t_devices_contexts);
    tcase_add_test(tc, t_tensors);
    tcase_add_test(tc, t_graphs);
    tcase_add_test(tc, t_paths);
    tcase_add_test(tc, t_nets);
    tcase_add_test(tc, t_training);
    tcase_add_test(tc, t_images);
    tcase_add_test(tc, t_ops);
    tcase_add_test(tc, t_interop);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    cly_test_require_device();
    return cly_test_run(bad_input_suite(), true);
}
