/* Replica groups (net/replicas.c) on two pocl devices (POCL_DEVICES="pthread
 * pthread", set by meson):
 *   - training: a conv-batchnorm-relu-pool-dropout-fc net, batch 4 over
 *     devices 0:0 and 0:1, three steps of SGD with momentum and weight decay,
 *     and of Adam, against one net at batch 2 with accumulate = 2 fed the
 *     same micro-batches in order: every parameter array (batch-norm running
 *     statistics included) bit for bit on both devices, the update count,
 *     the loss to 1e-12;
 *   - group accumulation: accumulate 2 on the group equals accumulate 4 on
 *     one net;
 *   - inference: outputs of batch 4 over two devices in input order, equal
 *     to one device's on each half;
 *   - bad device lists (empty, empty entries, duplicates under one or two
 *     names, unknown, malformed, a batch that does not split) and bad
 *     calls refused with messages naming the entry and the numbers. */
#include "test_util.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ADD(g, ...) ck_assert_msg(cly_graph_add((g), &(cly_layer){__VA_ARGS__}) == CLY_SUCCESS, "%s", \
                                  cly_last_error(NULL))
#define IN1(name) .inputs = (const char *const[]){name}, .input_count = 1
#define OK(ctx, call)                                          \
    do {                                                       \
        cly_status ok_s_ = (call);                             \
        ck_assert_msg(ok_s_ == CLY_SUCCESS, "%s", cly_last_error(ctx)); \
    } while (0)

enum { MICRO = 2, DEVICES = 2, BATCH = MICRO * DEVICES, C = 2, H = 8, W = 8, CLASSES = 3 };
static const char *const layers[] = {"conv", "bn", "fc"};

static cly_graph *make_graph(void)
{
    cly_graph *g;
    ck_assert(cly_graph_create(&g) == CLY_SUCCESS);
    ADD(g, .type = CLY_LAYER_INPUT, .name = "data", .p.input = {C, H, W});
    ADD(g, .type = CLY_LAYER_CONV, .name = "conv", IN1("data"),
        .p.conv = {.filters = 4, .size = {3, 3}, .pad = CLY_PAD(1)});
    ADD(g, .type = CLY_LAYER_BATCHNORM, .name = "bn", IN1("conv"));
    ADD(g, .type = CLY_LAYER_RELU, .name = "relu", IN1("bn"));
    ADD(g, .type = CLY_LAYER_POOL, .name = "pool", IN1("relu"),
        .p.pool = {.kind = CLY_POOL_MAX, .size = {2, 2}, .stride = {2, 2}});
    ADD(g, .type = CLY_LAYER_DROPOUT, .name = "drop", IN1("pool"), .p.dropout = 0.25);
    ADD(g, .type = CLY_LAYER_FC, .name = "fc", IN1("drop"), .p.fc = {.outputs = CLASSES});
    return g;
}

/* `steps` batches of BATCH samples: real-valued images, labels 0..2. */
static void make_data(int steps, float *x, int32_t *y)
{
    uint64_t st = 42;
    for (int i = 0; i < steps * BATCH * C * H * W; i++) {
        st = st * 6364136223846793005ULL + 1442695040888963407ULL;
        x[i] = (float)((double)(st >> 11) / 9007199254740992.0 * 2 - 1);
    }
    for (int i = 0; i < steps * BATCH; i++)
        y[i] = (int32_t)((i * 7 + 1) % CLASSES);
}

/* Every parameter array of `a` equals `b`'s bit for bit. */
static void same_params(cly_net *a, cly_net *b, const char *what)
{
    for (size_t l = 0; l < sizeof layers / sizeof layers[0]; l++)
        for (int kind = CLY_PARAM_WEIGHTS; kind <= CLY_PARAM_VAR; kind++) {
            int64_t n = 0, m = 0;
            OK(NULL, cly_net_param_count(a, layers[l], (cly_param_kind)kind, &n));
            OK(NULL, cly_net_param_count(b, layers[l], (cly_param_kind)kind, &m));
            ck_assert_int_eq(n, m);
            if (n == 0)
                continue;
            float *pa = malloc((size_t)n * sizeof *pa), *pb = malloc((size_t)n * sizeof *pb);
            OK(NULL, cly_net_get_param(a, layers[l], (cly_param_kind)kind, pa, n));
            OK(NULL, cly_net_get_param(b, layers[l], (cly_param_kind)kind, pb, n));
            for (int64_t i = 0; i < n; i++)
                ck_assert_msg(memcmp(&pa[i], &pb[i], sizeof *pa) == 0, "%s: %s kind %d [%lld]: %.9g vs %.9g", what,
                              layers[l], kind, (long long)i, pa[i], pb[i]);
            free(pa);
            free(pb);
        }
}

/* Train `steps` batches on the group (group accumulate `acc`) and on one
 * net at MICRO with accumulate DEVICES * acc; compare after every batch. */
static void train_equal(cly_train_params tp, int steps, int64_t acc)
{
    float *x = malloc((size_t)steps * BATCH * C * H * W * sizeof *x);
    int32_t *y = malloc((size_t)steps * BATCH * sizeof *y);
    make_data(steps, x, y);
    cly_graph *g1 = make_graph(), *g2 = make_graph();
    cly_context *ctx;
    OK(NULL, cly_context_create("0:0", &ctx));
    cly_net *one;
    OK(ctx, cly_net_create(ctx, g1, &(cly_net_options){.batch = MICRO, .mode = CLY_MODE_TRAINING}, &one));
    OK(ctx, cly_net_init_params(one, CLY_INIT_HE, 7));
    cly_replicas *r;
    OK(NULL, cly_replicas_create("0:0, 0:1", NULL, g2, &(cly_net_options){.batch = BATCH, .mode = CLY_MODE_TRAINING},
                                 &r));
    ck_assert_uint_eq(cly_replicas_count(r), DEVICES);
    ck_assert(cly_replicas_net(r, 2) == NULL);
    ck_assert_uint_eq(cly_context_device(cly_replicas_context(r, 1))->device_index, 1);
    OK(cly_replicas_context(r, 0), cly_replicas_init_params(r, CLY_INIT_HE, 7));
    cly_train_params t1 = tp, t2 = tp;
    t1.accumulate = DEVICES * acc;
    t2.accumulate = acc;
    OK(ctx, cly_net_set_training(one, &t1));
    OK(cly_replicas_context(r, 0), cly_replicas_set_training(r, &t2));
    const int64_t px = C * H * W;
    for (int b = 0; b < steps; b++) {
        const float *xb = x + (size_t)b * BATCH * px;
        const int32_t *yb = y + (size_t)b * BATCH;
        double l1 = 0, part;
        for (int d = 0; d < DEVICES; d++) {
            OK(ctx, cly_net_set_input(one, "data", xb + d * MICRO * px, MICRO * px));
            OK(ctx, cly_net_train_batch(one, yb + d * MICRO, MICRO, &part));
            l1 += part / DEVICES;
        }
        double l2 = 0;
        OK(cly_replicas_context(r, 0), cly_replicas_set_input(r, "data", xb, BATCH * px));
        OK(cly_replicas_context(r, 0), cly_replicas_train_batch(r, yb, BATCH, &l2));
        ck_assert_msg(fabs(l1 - l2) <= 1e-12 * fabs(l1), "step %d: loss %.17g vs %.17g", b, l1, l2);
        for (int d = 0; d < DEVICES; d++) {
            same_params(one, cly_replicas_net(r, (size_t)d), d ? "device 1" : "device 0");
            ck_assert_int_eq(cly_net_updates(cly_replicas_net(r, (size_t)d)), cly_net_updates(one));
        }
    }
    ck_assert_int_eq(cly_net_updates(one), steps / acc);
    cly_replicas_destroy(r);
    cly_net_destroy(one);
    cly_context_destroy(ctx);
    cly_graph_destroy(g1);
    cly_graph_destroy(g2);
    free(x);
    free(y);
}

START_TEST(sgd_momentum_equals_accumulation)
{
    train_equal((cly_train_params){.optimizer = CLY_OPTIMIZER_SGD, .learning_rate = 0.05, .momentum = 0.9,
                                   .nesterov = true, .weight_decay = 1e-3, .seed = 3},
                3, 1);
}
END_TEST

START_TEST(adam_equals_accumulation)
{
    train_equal((cly_train_params){.optimizer = CLY_OPTIMIZER_ADAM, .learning_rate = 0.01, .seed = 5}, 3, 1);
}
END_TEST

START_TEST(group_accumulation)
{
    train_equal((cly_train_params){.optimizer = CLY_OPTIMIZER_SGD, .learning_rate = 0.05, .momentum = 0.5, .seed = 9},
                4, 2);
}
END_TEST

START_TEST(inference_in_input_order)
{
    float x[BATCH * C * H * W];
    int32_t y[BATCH];
    make_data(1, x, y);
    cly_graph *g1 = make_graph(), *g2 = make_graph();
    cly_context *ctx;
    OK(NULL, cly_context_create("0:0", &ctx));
    cly_net *one;
    OK(ctx, cly_net_create(ctx, g1, &(cly_net_options){.batch = MICRO}, &one));
    OK(ctx, cly_net_init_params(one, CLY_INIT_HE, 11));
    cly_replicas *r;
    OK(NULL, cly_replicas_create("0:1,0:0", NULL, g2, &(cly_net_options){.batch = BATCH}, &r));
    OK(cly_replicas_context(r, 0), cly_replicas_init_params(r, CLY_INIT_HE, 11));
    /* The list's order is the devices' order: 0:1 takes the first half. */
    ck_assert_uint_eq(cly_context_device(cly_replicas_context(r, 0))->device_index, 1);
    const int64_t px = C * H * W;
    float got[BATCH * CLASSES], want[BATCH * CLASSES];
    OK(cly_replicas_context(r, 0), cly_replicas_set_input(r, "data", x, BATCH * px));
    OK(cly_replicas_context(r, 0), cly_replicas_forward(r));
    OK(cly_replicas_context(r, 0), cly_replicas_get_output(r, "fc", got, BATCH * CLASSES));
    for (int d = 0; d < DEVICES; d++) {
        OK(ctx, cly_net_set_input(one, "data", x + d * MICRO * px, MICRO * px));
        OK(ctx, cly_net_forward(one));
        OK(ctx, cly_net_get_output(one, "fc", want + d * MICRO * CLASSES, MICRO * CLASSES));
    }
    ck_assert(memcmp(got, want, sizeof got) == 0);
    /* Different halves: the order is seen. */
    ck_assert(memcmp(got, got + MICRO * CLASSES, MICRO * CLASSES * sizeof *got) != 0);
    cly_replicas_destroy(r);
    cly_net_destroy(one);
    cly_context_destroy(ctx);
    cly_graph_destroy(g1);
    cly_graph_destroy(g2);
}
END_TEST

START_TEST(bad_device_lists)
{
    static const struct {
        const char *list;
        int64_t batch;
        cly_status status;
        const char *text;
    } cases[] = {
        {"", 4, CLY_ERROR_INVALID_ARGUMENT, "device 0 of the list '' is empty"},
        {"  ", 4, CLY_ERROR_INVALID_ARGUMENT, "is empty"},
        {"0:0,", 4, CLY_ERROR_INVALID_ARGUMENT, "device 1 of the list '0:0,' is empty"},
        {",0:1", 4, CLY_ERROR_INVALID_ARGUMENT, "device 0 of the list ',0:1' is empty"},
        {"0:0,,0:1", 4, CLY_ERROR_INVALID_ARGUMENT, "device 1 of the list '0:0,,0:1' is empty"},
        {"0:0,0:0", 4, CLY_ERROR_INVALID_ARGUMENT, "devices 0 and 1 of the list '0:0,0:0' are both 0:0"},
        {"0:1, cpu:1", 4, CLY_ERROR_INVALID_ARGUMENT, "are both 0:1"},
        {"0:0,0:1,0:0", 6, CLY_ERROR_INVALID_ARGUMENT, "devices 0 and 2"},
        {"0:0,0:7", 4, CLY_ERROR_DEVICE_NOT_FOUND, "device 1 of the list ('0:7')"},
        {"0:0,nosuchdevice", 4, CLY_ERROR_DEVICE_NOT_FOUND, "('nosuchdevice')"},
        {"0:0,gpu:0", 4, CLY_ERROR_DEVICE_NOT_FOUND, "device 1 of the list ('gpu:0')"},
        {"0:0,cpu:-1", 4, CLY_ERROR_INVALID_ARGUMENT, "device 1 of the list ('cpu:-1')"},
        {"0:0,1:2:3", 4, CLY_ERROR_INVALID_ARGUMENT, "('1:2:3')"},
        {"0:0,0:1", 3, CLY_ERROR_INVALID_ARGUMENT, "a batch of 3 does not split into 2 equal micro-batches"},
        {"0:0,0:1", 0, CLY_ERROR_INVALID_ARGUMENT, "a batch of 0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cly_graph *g = make_graph();
        cly_replicas *r = (cly_replicas *)&cases; /* untouched on failure */
        cly_status s = cly_replicas_create(cases[i].list, NULL, g, &(cly_net_options){.batch = cases[i].batch}, &r);
        const char *msg = cly_last_error(NULL);
        ck_assert_msg(s == cases[i].status, "'%s': status %d (%s), want %d", cases[i].list, (int)s, msg,
                      (int)cases[i].status);
        ck_assert_msg(strstr(msg, cases[i].text), "'%s': '%s' lacks '%s'", cases[i].list, msg, cases[i].text);
        ck_assert_msg(strstr(msg, "cly_replicas_create"), "'%s': '%s' names no call", cases[i].list, msg);
        ck_assert(r == (cly_replicas *)&cases);
        cly_graph_destroy(g);
    }
    cly_graph *g = make_graph();
    cly_replicas *r = NULL;
    cly_status s = cly_replicas_create(NULL, NULL, g, &(cly_net_options){.batch = 4}, &r);
    ck_assert_int_eq(s, CLY_ERROR_INVALID_ARGUMENT);
    ck_assert(strstr(cly_last_error(NULL), "selectors must not be NULL"));
    s = cly_replicas_create("0:0", NULL, g, NULL, &r);
    ck_assert_int_eq(s, CLY_ERROR_INVALID_ARGUMENT);
    /* Bad calls on a good group. */
    OK(NULL, cly_replicas_create("0:0,0:1", NULL, g, &(cly_net_options){.batch = 4, .mode = CLY_MODE_TRAINING}, &r));
    cly_context *c0 = cly_replicas_context(r, 0);
    int32_t labels[4] = {0, 1, 2, 0};
    float buf[4 * C * H * W] = {0};
    s = cly_replicas_train_batch(r, labels, 4, NULL);
    ck_assert_int_eq(s, CLY_ERROR_INVALID_ARGUMENT);
    ck_assert(strstr(cly_last_error(c0), "cly_replicas_set_training first"));
    OK(c0, cly_replicas_set_training(r, &(cly_train_params){.learning_rate = 0.1}));
    s = cly_replicas_train_batch(r, labels, 2, NULL);
    ck_assert_int_eq(s, CLY_ERROR_SHAPE_MISMATCH);
    ck_assert_msg(strstr(cly_last_error(c0), "2 labels given for a batch of 4 (2 x 2)"), "%s", cly_last_error(c0));
    labels[3] = 3;
    s = cly_replicas_train_batch(r, labels, 4, NULL);
    ck_assert_int_eq(s, CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_msg(strstr(cly_last_error(c0), "label 3 is 3, outside [0, 3)"), "%s", cly_last_error(c0));
    s = cly_replicas_set_input(r, "data", buf, 2 * C * H * W);
    ck_assert_int_eq(s, CLY_ERROR_SHAPE_MISMATCH);
    ck_assert_msg(strstr(cly_last_error(c0), "data holds 512 values over 2 devices (256 each), not 256"), "%s",
                  cly_last_error(c0));
    s = cly_replicas_set_input(r, "nosuch", buf, 4 * C * H * W);
    ck_assert_int_eq(s, CLY_ERROR_INVALID_ARGUMENT);
    s = cly_replicas_get_output(r, "fc", NULL, 12);
    ck_assert_int_eq(s, CLY_ERROR_INVALID_ARGUMENT);
    s = cly_replicas_set_training(r, &(cly_train_params){.learning_rate = 0.1, .accumulate = -1});
    ck_assert_int_eq(s, CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_msg(strstr(cly_last_error(c0), "accumulate must be in"), "%s", cly_last_error(c0));
    /* After the refusals the group still trains. */
    labels[3] = 1;
    OK(c0, cly_replicas_set_input(r, "data", buf, 4 * C * H * W));
    OK(c0, cly_replicas_train_batch(r, labels, 4, NULL));
    s = cly_replicas_train_batch(NULL, labels, 4, NULL);
    ck_assert_int_eq(s, CLY_ERROR_INVALID_ARGUMENT);
    /* NULL groups and arguments: refused, never a crash. */
    ck_assert_int_eq(cly_replicas_init_params(NULL, CLY_INIT_HE, 1), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_replicas_set_param(NULL, "fc", CLY_PARAM_BIAS, buf, 3), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_replicas_set_training(NULL, &(cly_train_params){.learning_rate = 0.1}),
                     CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_replicas_set_training(r, NULL), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_replicas_set_input(NULL, "data", buf, 4 * C * H * W), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_replicas_set_input(r, "data", NULL, 4 * C * H * W), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_replicas_forward(NULL), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_replicas_get_output(NULL, "fc", buf, 12), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_replicas_train_batch(r, NULL, 4, NULL), CLY_ERROR_INVALID_ARGUMENT);
    s = cly_replicas_set_param(r, "fc", CLY_PARAM_BIAS, buf, 4);
    ck_assert_int_eq(s, CLY_ERROR_SHAPE_MISMATCH);
    ck_assert_msg(strstr(cly_last_error(c0), "device 0"), "%s", cly_last_error(c0));
    /* set_param reaches every device. */
    const float bias[CLASSES] = {0.5f, -1.0f, 2.0f};
    float got[CLASSES];
    OK(c0, cly_replicas_set_param(r, "fc", CLY_PARAM_BIAS, bias, CLASSES));
    OK(c0, cly_net_get_param(cly_replicas_net(r, 1), "fc", CLY_PARAM_BIAS, got, CLASSES));
    ck_assert(memcmp(got, bias, sizeof got) == 0);
    ck_assert_uint_eq(cly_replicas_count(NULL), 0);
    ck_assert(cly_replicas_net(NULL, 0) == NULL);
    cly_replicas_destroy(NULL);
    cly_replicas_destroy(r);
    cly_graph_destroy(g);
}
END_TEST

int main(void)
{
    cly_test_require_device();
    Suite *s = suite_create("replicas");
    TCase *tc = tcase_create("replicas");
    tcase_set_timeout(tc, CLY_TEST_TIMEOUT);
    tcase_add_test(tc, sgd_momentum_equals_accumulation);
    tcase_add_test(tc, adam_equals_accumulation);
    tcase_add_test(tc, group_accumulation);
    tcase_add_test(tc, inference_in_input_order);
    tcase_add_test(tc, bad_device_lists);
    suite_add_tcase(s, tc);
    return cly_test_run(s, true);
}
