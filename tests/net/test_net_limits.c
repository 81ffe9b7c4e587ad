/* Nets and the things they share or fill: a graph in use by a live net is
 * not re-inferred at another batch, resized or extended under it (a second
 * cly_net_create at another batch is refused; at the same batch it shares
 * the graph), and a net planning more than the device's memory is refused
 * at create time with both numbers and the biggest parts. meson runs this
 * binary with POCL_MEMORY_LIMIT=1: a 1 GiB device whose largest allocation
 * is 256 MiB, so a net of buffers that each fit can still not fit in all. */
#include "net/net.h"
#include "test_util.h"

#include <check.h>
#include <string.h>

#define OK(ctx, call)                                                                                                 \
    do {                                                                                                             \
        cly_status s_ = (call);                                                                                      \
        ck_assert_msg(s_ == CLY_SUCCESS, "%s: %s", #call, cly_last_error(ctx));                                      \
    } while (0)

static cly_graph *parse(const char *text)
{
    cly_graph *g = NULL;
    cly_status s = cly_graph_parse(text, strlen(text), "test", &g);
    ck_assert_msg(s == CLY_SUCCESS, "%s", cly_last_error(NULL));
    return g;
}

static const char small_net[] = "input data c=2 h=6 w=6\n"
                                "conv c1 < data filters=3 size=3 pad=1 relu\n"
                                "pool p1 < c1 max size=2 stride=2\n"
                                "fc out < p1 outputs=4\n";

/* Forward on fixed inputs; the outputs, batch x 4. */
static void forward(cly_context *ctx, cly_net *net, int64_t batch, float *out)
{
    float x[8 * 2 * 6 * 6];
    for (int64_t i = 0; i < batch * 72; i++)
        x[i] = (float)(i % 7) - 3.0f;
    OK(ctx, cly_net_set_input(net, "data", x, batch * 72));
    OK(ctx, cly_net_forward(net));
    OK(ctx, cly_net_get_output(net, "out", out, batch * 4));
}

START_TEST(graph_in_use_keeps_its_batch)
{
    cly_context *ctx = cly_test_context();
    cly_graph *g = parse(small_net);
    cly_net *a = NULL, *b = NULL, *c = NULL;
    OK(ctx, cly_net_create(ctx, g, &(cly_net_options){.batch = 2}, &a));
    OK(ctx, cly_net_init_params(a, CLY_INIT_HE, 5));
    float before[8], after[8];
    forward(ctx, a, 2, before);

    /* Another batch would re-infer the graph under `a`: refused, `a` intact. */
    cly_status s = cly_net_create(ctx, g, &(cly_net_options){.batch = 4}, &b);
    const char *msg = cly_last_error(ctx);
    ck_assert_int_eq(s, CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_ptr_null(b);
    ck_assert_msg(strstr(msg, "in use by 1 net") && strstr(msg, "batch 2") && strstr(msg, "batch 4"), "%s", msg);
    s = cly_graph_infer(g, 3);
    msg = cly_last_error(NULL);
    ck_assert_int_eq(s, CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_msg(strstr(msg, "batch 3"), "%s", msg);
    s = cly_graph_set_input_size(g, "data", 8, 8);
    msg = cly_last_error(NULL);
    ck_assert_int_eq(s, CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_msg(strstr(msg, "in use"), "%s", msg);
    s = cly_graph_relu(g, "extra", "out");
    msg = cly_last_error(NULL);
    ck_assert_int_eq(s, CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_msg(strstr(msg, "in use"), "%s", msg);
    ck_assert_int_eq(g->batch, 2);
    forward(ctx, a, 2, after);
    ck_assert_msg(memcmp(before, after, sizeof before) == 0, "the first net's outputs changed");

    /* The same batch shares the graph; the nets are independent. */
    OK(ctx, cly_net_create(ctx, g, &(cly_net_options){.batch = 2}, &b));
    OK(ctx, cly_net_init_params(b, CLY_INIT_HE, 5));
    forward(ctx, b, 2, after);
    ck_assert_msg(memcmp(before, after, sizeof before) == 0, "a second net at the same batch differs");
    s = cly_net_create(ctx, g, &(cly_net_options){.batch = 8}, &c);
    msg = cly_last_error(ctx);
    ck_assert_int_eq(s, CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_msg(strstr(msg, "in use by 2 nets"), "%s", msg);

    /* Free again once the nets are gone. */
    cly_net_destroy(a);
    cly_net_destroy(b);
    OK(ctx, cly_net_create(ctx, g, &(cly_net_options){.batch = 8}, &c));
    ck_assert_int_eq(g->batch, 8);
    cly_net_destroy(c);
    OK(NULL, cly_graph_set_input_size(g, "data", 8, 8));
    cly_graph_destroy(g);
    cly_context_destroy(ctx);
}
END_TEST

/* Parameters of 235 MiB (a 4096 x 15000 FC), their gradients and
 * momentum, and an arena of 250 MiB at batch 1200: every buffer fits the
 * 256 MiB allocation limit, the sum (1061 MiB) does not fit 1 GiB. */
static const char big_net[] = "input data c=4 h=64 w=64\n"
                              "pool p1 < data max size=2 stride=2\n"
                              "fc f1 < p1 outputs=15000\n"
                              "fc out < f1 outputs=10\n";

START_TEST(net_larger_than_device_memory)
{
    cly_context *ctx = cly_test_context();
    const uint64_t gib = 1ull << 30;
    ck_assert_msg(ctx->info.global_mem_bytes <= gib && ctx->info.max_alloc_bytes >= 250ull << 20,
                  "needs a device of at most 1 GiB with 250 MiB allocations (pocl with POCL_MEMORY_LIMIT=1, as meson "
                  "runs this test); this one has %llu bytes, %llu per allocation",
                  (unsigned long long)ctx->info.global_mem_bytes, (unsigned long long)ctx->info.max_alloc_bytes);
    cly_graph *g = parse(big_net);
    cly_net *net = NULL;
    cly_status s = cly_net_create(ctx, g, &(cly_net_options){.batch = 1200, .mode = CLY_MODE_TRAINING}, &net);
    const char *msg = cly_last_error(ctx);
    ck_assert_int_eq(s, CLY_ERROR_TOO_LARGE);
    ck_assert_ptr_null(net);
    char have[64];
    snprintf(have, sizeof have, "(%llu bytes", (unsigned long long)ctx->info.global_mem_bytes);
    ck_assert_msg(strstr(msg, have) && strstr(msg, "the net needs ") && strstr(msg, "batch 1200") &&
                      strstr(msg, "gradients and optimiser state") && strstr(msg, "activation arena") &&
                      strstr(msg, "parameters 235.0 MiB"),
                  "%s", msg);
    /* The numbers: the total is more than the device has. */
    unsigned long long need = 0;
    ck_assert_msg(sscanf(strstr(msg, "the net needs "), "the net needs %llu", &need) == 1, "%s", msg);
    ck_assert_msg(need > ctx->info.global_mem_bytes, "%llu bytes needed", need);

    /* A batch that fits is accepted. */
    OK(ctx, cly_net_create(ctx, g, &(cly_net_options){.batch = 2, .mode = CLY_MODE_TRAINING}, &net));
    cly_net_destroy(net);
    cly_graph_destroy(g);
    cly_context_destroy(ctx);
}
END_TEST

int main(void)
{
    cly_test_require_device();
    Suite *s = suite_create("net_limits");
    TCase *tc = tcase_create("limits");
    tcase_set_timeout(tc, CLY_TEST_TIMEOUT);
    tcase_add_test(tc, graph_in_use_keeps_its_batch);
    tcase_add_test(tc, net_larger_than_device_memory);
    suite_add_tcase(s, tc);
    return cly_test_run(s, true);
}
