/* Model files on a device: save -> load gives bit-identical parameters and
 * forward outputs; every kind of damage (truncation, bit flips, crafted
 * fields behind valid checksums) is a clean status from cly_model_load,
 * with nothing handed back. Exits 77 without an OpenCL device. */
#include "model_bytes.h"
#include "io/model_file.h"
#include "net/net.h"
#include "test_util.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#define NET_TEXT "input data c=3 h=9 w=9\n"                                    \
                 "conv c1 < data filters=4 size=3 pad=1\n"                     \
                 "batchnorm bn1 < c1 eps=0.001\n"                              \
                 "relu r1 < bn1\n"                                             \
                 "pool p1 < r1 max size=3 stride=2\n"                          \
                 "conv c2 < p1 filters=6 size=3 pad=1 groups=2 nobias relu\n" \
                 "local l1 < c2 filters=2 size=2\n"                            \
                 "lrn n1 < l1 size=3 alpha=1e-4 beta=0.75 k=2\n"               \
                 "fc f1 < n1 outputs=10\n"                                     \
                 "softmax prob < f1\n"

static char dir[4096], path[4200];

static void setup(void)
{
    cly_test_mkdtemp(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/m.clm", dir);
}

static void teardown(void)
{
    cly_test_rmtree(dir);
}

#define OK(ctx, call) ck_assert_msg((call) == CLY_SUCCESS, "%s: %s", #call, cly_last_error(ctx))

static const cly_net_options options = {.batch = 2};

/* A compiled NET_TEXT whose every parameter is a distinct, seeded value
 * (BN variances positive). */
static void make_net(cly_context *ctx, cly_graph **g, cly_net **net)
{
    OK(NULL, cly_graph_parse(NET_TEXT, strlen(NET_TEXT), "t.net", g));
    OK(ctx, cly_net_create(ctx, *g, &options, net));
    uint64_t seed = 12345;
    for (size_t i = 0; i < (*g)->count; i++)
        for (int k = 0; k < 4; k++) {
            int64_t n = (*net)->layers[i].param_count[k];
            if (n == 0)
                continue;
            float *v = malloc((size_t)n * sizeof *v);
            for (int64_t j = 0; j < n; j++) {
                int r = cly_test_small_int(&seed, 1000);
                v[j] = k == CLY_PARAM_VAR ? 0.5f + (float)(r + 1000) / 997.0f : (float)r / 1013.0f;
            }
            OK(ctx, cly_net_set_param(*net, (*g)->nodes[i].name, (cly_param_kind)k, v, n));
            free(v);
        }
}

static float *forward(cly_context *ctx, cly_net *net)
{
    float in[2 * 3 * 9 * 9], *out = malloc(2 * 10 * sizeof *out);
    uint64_t seed = 99;
    cly_test_fill(in, sizeof in / sizeof in[0], 4, &seed);
    OK(ctx, cly_net_set_input(net, "data", in, 2 * 3 * 9 * 9));
    OK(ctx, cly_net_forward(net));
    OK(ctx, cly_net_get_output(net, "prob", out, 2 * 10));
    return out;
}

START_TEST(t_round_trip)
{
    cly_context *ctx = cly_test_context();
    cly_graph *g, *g2 = NULL;
    cly_net *net, *net2 = NULL;
    make_net(ctx, &g, &net);
    OK(ctx, cly_net_save(net, path));
    OK(ctx, cly_model_load(ctx, path, &options, &g2, &net2));
    ck_assert_uint_eq(g2->count, g->count);
    size_t arrays = 0;
    for (size_t i = 0; i < g->count; i++)
        for (int k = 0; k < 4; k++) {
            const char *name = g->nodes[i].name;
            int64_t n, n2;
            OK(ctx, cly_net_param_count(net, name, (cly_param_kind)k, &n));
            OK(ctx, cly_net_param_count(net2, name, (cly_param_kind)k, &n2));
            ck_assert_int_eq(n, n2);
            if (n == 0)
                continue;
            arrays++;
            float *a = malloc((size_t)n * 4), *b = malloc((size_t)n * 4);
            OK(ctx, cly_net_get_param(net, name, (cly_param_kind)k, a, n));
            OK(ctx, cly_net_get_param(net2, name, (cly_param_kind)k, b, n));
            ck_assert_msg(memcmp(a, b, (size_t)n * 4) == 0, "%s kind %d differs", name, k);
            free(a);
            free(b);
        }
    ck_assert_uint_eq(arrays, 11); /* c1 w b, bn1 x4, c2 w, l1 w b, f1 w b */
    float *y = forward(ctx, net), *y2 = forward(ctx, net2);
    ck_assert(memcmp(y, y2, 2 * 10 * sizeof *y) == 0);
    free(y);
    free(y2);

    /* The same net saved again gives the same bytes; the loaded one too. */
    bytes first = b_read(path);
    OK(ctx, cly_net_save(net2, path));
    bytes second = b_read(path);
    ck_assert(first.n == second.n && memcmp(first.p, second.p, first.n) == 0);
    free(first.p);
    free(second.p);

    /* Another batch size: the file does not fix it. */
    cly_net_destroy(net2);
    cly_graph_destroy(g2);
    cly_net_options o3 = {.batch = 3};
    OK(ctx, cly_model_load(ctx, path, &o3, &g2, &net2));
    ck_assert_int_eq(net2->options.batch, 3);
    cly_net_destroy(net2);
    cly_graph_destroy(g2);
    cly_net_destroy(net);
    cly_graph_destroy(g);
    cly_context_destroy(ctx);
}
END_TEST

#define TRAIN_TEXT "input data c=2 h=8 w=8\n"                  \
                   "conv c1 < data filters=4 size=3 pad=1\n"   \
                   "batchnorm bn1 < c1\n"                       \
                   "relu r1 < bn1\n"                            \
                   "pool p1 < r1 max size=2 stride=2\n"         \
                   "fc f1 < p1 outputs=5\n"                     \
                   "softmax prob < f1\n"
#define TRAIN_BATCH 4

/* One training batch with inputs and labels fixed by `step`. */
static double train_step(cly_context *ctx, cly_net *net, int step)
{
    float in[TRAIN_BATCH * 2 * 8 * 8];
    int32_t labels[TRAIN_BATCH];
    uint64_t seed = 1000 + (uint64_t)step;
    cly_test_fill(in, sizeof in / sizeof in[0], 3, &seed);
    for (int i = 0; i < TRAIN_BATCH; i++)
        labels[i] = (step + i) % 5;
    double loss = 0;
    OK(ctx, cly_net_set_input(net, "data", in, (int64_t)(sizeof in / sizeof in[0])));
    OK(ctx, cly_net_train_batch(net, labels, TRAIN_BATCH, &loss));
    return loss;
}

static void read_buffer(cly_context *ctx, cl_mem mem, float *dst, int64_t n)
{
    ck_assert_int_eq(clEnqueueReadBuffer(ctx->queue, mem, CL_TRUE, 0, (size_t)n * 4, dst, 0, NULL, NULL),
                     CL_SUCCESS);
}

/* Train, save, load for training, and train on: the loaded net follows the
 * original bit for bit, because the optimiser state and update count came
 * back with the parameters. The file's OPTIMIZER arrays are the device's. */
static void resume(cly_optimizer optimizer)
{
    cly_context *ctx = cly_test_context();
    const cly_net_options topt = {.batch = TRAIN_BATCH, .mode = CLY_MODE_TRAINING};
    const cly_train_params tp = {.optimizer = optimizer, .learning_rate = 0.05, .momentum = 0.9,
                                 .lr_step = 2, .lr_gamma = 0.5};
    cly_graph *g, *g2;
    cly_net *net, *net2;
    OK(NULL, cly_graph_parse(TRAIN_TEXT, strlen(TRAIN_TEXT), "train.net", &g));
    OK(ctx, cly_net_create(ctx, g, &topt, &net));
    OK(ctx, cly_net_init_params(net, CLY_INIT_HE, 7));
    OK(ctx, cly_net_set_training(net, &tp));
    for (int step = 0; step < 3; step++)
        train_step(ctx, net, step);
    ck_assert_int_eq(cly_net_updates(net), 3);
    OK(ctx, cly_net_save(net, path));

    /* What the file holds. */
    int64_t n = net->param_elems;
    float *m = malloc((size_t)n * 4), *v = malloc((size_t)n * 4);
    read_buffer(ctx, net->opt_m, m, n);
    if (optimizer == CLY_OPTIMIZER_ADAM)
        read_buffer(ctx, net->opt_v, v, n);
    bytes f = b_read(path);
    cly_model md;
    OK(NULL, cly_model_parse(f.p, f.n, path, 0, &md));
    ck_assert(md.has_optimizer && md.optimizer == (uint32_t)optimizer && md.updates == 3);
    ck_assert_uint_eq(md.moments, optimizer == CLY_OPTIMIZER_ADAM ? 2 : 1);
    ck_assert_uint_eq(md.opt_count, md.param_count);
    for (size_t i = 0; i < md.opt_count; i++) {
        const cly_model_array *a = &md.opt[i];
        int64_t off = net->layers[cly_net_find_node(g, a->name) - g->nodes].param_offset[a->kind];
        ck_assert(memcmp(a->data[0], m + off, (size_t)a->count * 4) == 0);
        ck_assert(optimizer != CLY_OPTIMIZER_ADAM || memcmp(a->data[1], v + off, (size_t)a->count * 4) == 0);
    }
    cly_model_free(&md);
    free(f.p);

    OK(ctx, cly_model_load(ctx, path, &topt, &g2, &net2));
    ck_assert_int_eq(cly_net_updates(net2), 3);
    /* Saved again before training is set up: the same file. */
    char again[4300];
    snprintf(again, sizeof again, "%s.again", path);
    OK(ctx, cly_net_save(net2, again));
    bytes b1 = b_read(path), b2 = b_read(again);
    ck_assert(b1.n == b2.n && memcmp(b1.p, b2.p, b1.n) == 0);
    free(b1.p);
    free(b2.p);
    OK(ctx, cly_net_set_training(net2, &tp));
    for (int step = 3; step < 5; step++) {
        double a = train_step(ctx, net, step), b = train_step(ctx, net2, step);
        ck_assert_msg(a == b, "step %d: loss %.9g after loading, %.9g without", step, b, a);
    }
    ck_assert_int_eq(cly_net_updates(net2), 5);
    for (size_t i = 0; i < g->count; i++)
        for (int k = 0; k < 4; k++) {
            int64_t c = net->layers[i].param_count[k];
            if (!c)
                continue;
            float *a = malloc((size_t)c * 4), *b = malloc((size_t)c * 4);
            OK(ctx, cly_net_get_param(net, g->nodes[i].name, (cly_param_kind)k, a, c));
            OK(ctx, cly_net_get_param(net2, g->nodes[i].name, (cly_param_kind)k, b, c));
            ck_assert_msg(memcmp(a, b, (size_t)c * 4) == 0, "%s kind %d differs after resuming", g->nodes[i].name, k);
            free(a);
            free(b);
        }
    /* Loaded for inference, the parameters come back and the state is left. */
    cly_net_destroy(net2);
    cly_graph_destroy(g2);
    OK(ctx, cly_model_load(ctx, path, &options, &g2, &net2));
    ck_assert(!net2->training && net2->opt_m == NULL && cly_net_updates(net2) == 0);
    cly_net_destroy(net2);
    cly_graph_destroy(g2);
    free(m);
    free(v);
    cly_net_destroy(net);
    cly_graph_destroy(g);
    cly_context_destroy(ctx);
}

START_TEST(t_resume_adam)
{
    resume(CLY_OPTIMIZER_ADAM);
}
END_TEST

START_TEST(t_resume_sgd)
{
    resume(CLY_OPTIMIZER_SGD);
}
END_TEST

/* A save over an existing file replaces it whole; a save that cannot be
 * written leaves nothing behind. */
START_TEST(t_save_atomic)
{
    cly_context *ctx = cly_test_context();
    cly_graph *g;
    cly_net *net;
    make_net(ctx, &g, &net);
    FILE *f = fopen(path, "w");
    fputs("old contents", f);
    fclose(f);
    OK(ctx, cly_net_save(net, path));
    bytes b = b_read(path);
    ck_assert(b.n > 100 && memcmp(b.p, "CLAYERMD", 8) == 0);
    free(b.p);
    DIR *d = opendir(dir);
    int entries = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        entries += e->d_name[0] != '.';
    closedir(d);
    ck_assert_int_eq(entries, 1);

    char bad[4300];
    snprintf(bad, sizeof bad, "%s/missing/m.clm", dir);
    ck_assert_int_eq(cly_net_save(net, bad), CLY_ERROR_IO);
    ck_assert_ptr_nonnull(strstr(cly_last_error(ctx), bad));
    ck_assert_int_eq(cly_net_save(NULL, path), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_net_save(net, NULL), CLY_ERROR_INVALID_ARGUMENT);
    cly_net_destroy(net);
    cly_graph_destroy(g);
    cly_context_destroy(ctx);
}
END_TEST

/* Load `b` (written to `path`): fails with `status`, the message names the
 * file and contains `text`, and nothing is handed back. */
static void load_fail(cly_context *ctx, const bytes *b, cly_status status, const char *text)
{
    b_write(b, path);
    cly_graph *g = NULL;
    cly_net *net = NULL;
    cly_status s = cly_model_load(ctx, path, &options, &g, &net);
    ck_assert_msg(s != CLY_SUCCESS, "accepted (want '%s')", text ? text : "any failure");
    ck_assert_msg(status == CLY_SUCCESS || s == status, "got %s (want %s): %s", cly_status_string(s),
                  cly_status_string(status), cly_last_error(ctx));
    ck_assert_ptr_null(g);
    ck_assert_ptr_null(net);
    const char *msg = cly_last_error(ctx);
    ck_assert_msg(strncmp(msg, path, strlen(path)) == 0, "message '%s' does not name the file", msg);
    ck_assert_str_eq(msg, cly_last_error(NULL));
    if (text)
        ck_assert_msg(strstr(msg, text) != NULL, "message '%s' lacks '%s'", msg, text);
}

START_TEST(t_damage)
{
    cly_context *ctx = cly_test_context();
    cly_graph *g;
    cly_net *net;
    make_net(ctx, &g, &net);
    OK(ctx, cly_net_save(net, path));
    bytes good = b_read(path);
    bytes b = {0};
    b_raw(&b, good.p, good.n);
    /* Truncated at every 97th offset. */
    size_t cases = 0;
    for (size_t n = 0; n < good.n; n += 97, cases++) {
        b.n = n;
        load_fail(ctx, &b, CLY_SUCCESS, NULL);
    }
    b.n = good.n;
    /* Every bit of the header, then one bit at sampled positions. */
    for (size_t bit = 0; bit < 48 * 8; bit++, cases++) {
        b.p[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        load_fail(ctx, &b, CLY_SUCCESS, NULL);
        b.p[bit / 8] ^= (unsigned char)(1u << (bit % 8));
    }
    for (size_t at = 48; at < good.n; at += 61, cases++) {
        unsigned bit = (unsigned)(at * 7 % 8);
        b.p[at] ^= (unsigned char)(1u << bit);
        load_fail(ctx, &b, CLY_ERROR_INVALID_ARGUMENT, "checksum mismatch");
        b.p[at] ^= (unsigned char)(1u << bit);
    }
    ck_assert_uint_gt(cases, 400);
    /* The undamaged copy still loads. */
    b_write(&b, path);
    cly_graph *g2;
    cly_net *net2;
    OK(ctx, cly_model_load(ctx, path, &options, &g2, &net2));
    cly_net_destroy(net2);
    cly_graph_destroy(g2);
    free(b.p);
    free(good.p);
    cly_net_destroy(net);
    cly_graph_destroy(g);
    cly_context_destroy(ctx);
}
END_TEST

/* Crafted files, checksums valid, so that each check is what refuses them. */
static bytes crafted(const char *text, void (*arrays)(bytes *p), uint32_t version)
{
    bytes f = b_file(), g = b_graph(text), p = {0};
    arrays(&p);
    b_section(&f, 1, &g);
    b_section(&f, 2, &p);
    b_seal(&f, version, 0, 2);
    free(g.p);
    free(p.p);
    return f;
}

#define SMALL "input data c=1 h=2 w=2\nfc f < data outputs=3\n"
static void arrays_ok(bytes *p)
{
    b_le(p, 2, 4);
    b_le(p, 0, 4);
    b_array(p, 0, "f", 12, 1, 0.5f);
    b_array(p, 1, "f", 3, 1, -1.0f);
}
static void arrays_missing(bytes *p)
{
    b_le(p, 1, 4);
    b_le(p, 0, 4);
    b_array(p, 0, "f", 12, 1, 0.5f);
}
static void arrays_duplicate(bytes *p)
{
    arrays_ok(p);
    p->p[0] = 3;
    b_array(p, 1, "f", 3, 1, 2.0f);
}
static void arrays_foreign(bytes *p)
{
    arrays_ok(p);
    p->p[0] = 3;
    b_array(p, 0, "conv9", 3, 1, 2.0f);
}
static void arrays_wrong_count(bytes *p)
{
    b_le(p, 2, 4);
    b_le(p, 0, 4);
    b_array(p, 0, "f", 13, 1, 0.5f);
    b_array(p, 1, "f", 3, 1, -1.0f);
}
static void arrays_huge(bytes *p)
{
    arrays_ok(p);
    p->p[8 + 12] = 0x10; /* f weights: count 12 + 2^36 */
}
static void arrays_many(bytes *p)
{
    arrays_ok(p);
    p->p[3] = 0x40; /* 2^30 + 2 arrays */
}

START_TEST(t_crafted)
{
    cly_context *ctx = cly_test_context();
    bytes f = crafted(SMALL, arrays_ok, 1);
    b_write(&f, path);
    cly_graph *g;
    cly_net *net;
    OK(ctx, cly_model_load(ctx, path, &options, &g, &net));
    float w[12], bias[3];
    OK(ctx, cly_net_get_param(net, "f", CLY_PARAM_WEIGHTS, w, 12));
    OK(ctx, cly_net_get_param(net, "f", CLY_PARAM_BIAS, bias, 3));
    ck_assert(w[0] == 0.5f && w[11] == 0.5f && bias[2] == -1.0f);
    cly_net_destroy(net);
    cly_graph_destroy(g);
    free(f.p);

    struct {
        const char *text;
        void (*arrays)(bytes *);
        uint32_t version;
        cly_status status;
        const char *msg;
    } cases[] = {
        {SMALL, arrays_ok, 2, CLY_ERROR_UNSUPPORTED, "format version 2 is not supported"},
        {SMALL, arrays_missing, 1, CLY_ERROR_INVALID_ARGUMENT, "PARAMS: missing array f bias (3 values)"},
        {SMALL, arrays_duplicate, 1, CLY_ERROR_INVALID_ARGUMENT, "PARAMS array 2 at offset 288: duplicate f bias"},
        {SMALL, arrays_foreign, 1, CLY_ERROR_INVALID_ARGUMENT, "the graph has no layer 'conv9'"},
        {SMALL, arrays_wrong_count, 1, CLY_ERROR_SHAPE_MISMATCH,
         "f weights has count 13 in the file, the net expects 12"},
        {SMALL, arrays_huge, 1, CLY_ERROR_INVALID_ARGUMENT, "count 68719476748 is out of range"},
        {SMALL, arrays_many, 1, CLY_ERROR_INVALID_ARGUMENT, "array count 1073741826 is out of range"},
        {"input data c=1 h=2 w=2\nfc f < nowhere outputs=3\n", arrays_ok, 1, CLY_ERROR_INVALID_ARGUMENT,
         "m.clm:GRAPH:2: f: input 'nowhere' is not a layer of the graph"},
        {"input data c=1 h=2 w=2\nfc f < data outputs=3 bogus\n", arrays_ok, 1, CLY_ERROR_INVALID_ARGUMENT,
         "m.clm:GRAPH:2: fc f: unknown key 'bogus'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        f = crafted(cases[i].text, cases[i].arrays, cases[i].version);
        load_fail(ctx, &f, cases[i].status, cases[i].msg);
        free(f.p);
    }
    /* A section length beyond the file. */
    f = crafted(SMALL, arrays_ok, 1);
    f.p[48 + 8 + 5] = 1;
    b_reseal(&f);
    load_fail(ctx, &f, CLY_ERROR_INVALID_ARGUMENT,
              "GRAPH section at offset 56: length 1099511627832 runs past the end of the file (224 bytes left)");
    free(f.p);
    /* Files that are not model files at all. */
    bytes text = {0};
    b_raw(&text, NET_TEXT, strlen(NET_TEXT));
    load_fail(ctx, &text, CLY_ERROR_INVALID_ARGUMENT, "not a clayer model file");
    text.n = 0;
    load_fail(ctx, &text, CLY_ERROR_INVALID_ARGUMENT, "not a clayer model file");
    free(text.p);
    cly_context_destroy(ctx);
}
END_TEST

/* Optimiser state in a file loaded for inference is checked, then left;
 * loaded for training, it fills the optimiser buffers. */
START_TEST(t_optimizer_section_inference)
{
    cly_context *ctx = cly_test_context();
    bytes f = b_file(), g = b_graph(SMALL), p = {0}, o = {0};
    arrays_ok(&p);
    b_le(&o, 1, 4);
    b_le(&o, 2, 4);
    b_le(&o, 1000, 8);
    b_le(&o, 2, 4);
    b_le(&o, 0, 4);
    b_array(&o, 0, "f", 12, 2, 0.125f);
    b_array(&o, 1, "f", 3, 2, 0.25f);
    b_section(&f, 1, &g);
    b_section(&f, 2, &p);
    b_section(&f, 3, &o);
    b_seal(&f, 1, 1, 3);
    b_write(&f, path);
    cly_graph *gr;
    cly_net *net;
    OK(ctx, cly_model_load(ctx, path, &options, &gr, &net));
    ck_assert(cly_net_updates(net) == 0 && net->opt_m == NULL); /* inference: not restored */
    cly_net_destroy(net);
    cly_graph_destroy(gr);
    /* For training, it is: in buffers laid out like the parameters. */
    const cly_net_options topt = {.batch = 2, .mode = CLY_MODE_TRAINING};
    OK(ctx, cly_model_load(ctx, path, &topt, &gr, &net));
    ck_assert_int_eq(cly_net_updates(net), 1000);
    ck_assert(net->opt_m && net->opt_v);
    float *mv = malloc((size_t)net->param_elems * 4);
    cl_mem bufs[2] = {net->opt_m, net->opt_v};
    for (int w = 0; w < 2; w++) {
        read_buffer(ctx, bufs[w], mv, net->param_elems);
        const float *wt = mv + net->layers[1].param_offset[CLY_PARAM_WEIGHTS];
        const float *bi = mv + net->layers[1].param_offset[CLY_PARAM_BIAS];
        ck_assert(wt[0] == 0.125f && wt[11] == 0.125f && bi[0] == 0.25f && bi[2] == 0.25f);
    }
    free(mv);
    cly_net_destroy(net);
    cly_graph_destroy(gr);
    /* A wrong count in the optimiser arrays is refused all the same. */
    free(o.p);
    free(f.p);
    f = b_file();
    o = (bytes){0};
    b_le(&o, 1, 4);
    b_le(&o, 2, 4);
    b_le(&o, 1000, 8);
    b_le(&o, 1, 4);
    b_le(&o, 0, 4);
    b_array(&o, 0, "f", 12, 2, 0.125f);
    b_section(&f, 1, &g);
    b_section(&f, 2, &p);
    b_section(&f, 3, &o);
    b_seal(&f, 1, 1, 3);
    load_fail(ctx, &f, CLY_ERROR_INVALID_ARGUMENT, "OPTIMIZER: missing array f bias");
    free(o.p);
    free(f.p);
    free(g.p);
    free(p.p);
    cly_context_destroy(ctx);
}
END_TEST

START_TEST(t_arguments_and_io)
{
    cly_context *ctx = cly_test_context();
    cly_graph *g = NULL;
    cly_net *net = NULL;
    ck_assert_int_eq(cly_model_load(ctx, path, &options, &g, &net), CLY_ERROR_IO);
    ck_assert_ptr_nonnull(strstr(cly_last_error(ctx), "cannot open"));
    ck_assert_int_eq(cly_model_load(ctx, dir, &options, &g, &net), CLY_ERROR_IO);
    ck_assert_ptr_nonnull(strstr(cly_last_error(ctx), "not a regular file"));
    ck_assert_int_eq(cly_model_load(NULL, path, &options, &g, &net), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_model_load(ctx, NULL, &options, &g, &net), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_model_load(ctx, path, NULL, &g, &net), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_model_load(ctx, path, &options, NULL, &net), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_model_load(ctx, path, &options, &g, NULL), CLY_ERROR_INVALID_ARGUMENT);
    /* A bad batch is the net's error, named with the file. */
    bytes f = crafted(SMALL, arrays_ok, 1);
    b_write(&f, path);
    cly_net_options zero = {.batch = 0};
    ck_assert_int_eq(cly_model_load(ctx, path, &zero, &g, &net), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(cly_last_error(ctx), "batch 0 must be >= 1"));
    ck_assert_ptr_null(g);
    ck_assert_ptr_null(net);
    free(f.p);
    cly_context_destroy(ctx);
}
END_TEST

int main(void)
{
    cly_test_require_device();
    Suite *s = suite_create("model");
    TCase *tc = tcase_create("model");
    tcase_set_timeout(tc, 300);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, t_round_trip);
    tcase_add_test(tc, t_resume_adam);
    tcase_add_test(tc, t_resume_sgd);
    tcase_add_test(tc, t_save_atomic);
    tcase_add_test(tc, t_damage);
    tcase_add_test(tc, t_crafted);
    tcase_add_test(tc, t_optimizer_section_inference);
    tcase_add_test(tc, t_arguments_and_io);
    suite_add_tcase(s, tc);
    return cly_test_run(s, true);
}
