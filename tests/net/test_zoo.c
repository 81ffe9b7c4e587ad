/* The model zoo on the device: each built-in net of issue 5 (ZFNet,
 * GoogLeNet and its torchvision variant, ResNet-34, ResNet-50) compiles into
 * a cly_net at batch 1 in inference mode, plans the memory the graph counts,
 * and runs one seeded forward pass to finite class scores (probabilities
 * summing to 1 where the net ends in softmax). One batch-1 pass each: a few
 * seconds on a CPU device once the kernels are cached. */
#include "graph/graph.h"
#include "net/net.h"
#include "test_util.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>

static const struct {
    const char *name, *output;
    bool softmax;
} zoo[] = {
    {"zfnet", "prob", true},     {"googlenet", "prob", true}, {"googlenet-tv", "fc", false},
    {"resnet34", "fc", false},   {"resnet50", "fc", false},
};

START_TEST(zoo_net_forward)
{
    cly_graph *g;
    ck_assert_msg(cly_graph_builtin(zoo[_i].name, &g) == CLY_SUCCESS, "%s", cly_last_error(NULL));
    cly_context *ctx = cly_test_context();
    cly_net *net;
    cly_status s = cly_net_create(ctx, g, &(cly_net_options){.batch = 1, .mode = CLY_MODE_INFERENCE}, &net);
    ck_assert_msg(s == CLY_SUCCESS, "%s: %s", zoo[_i].name, cly_last_error(ctx));

    /* The plan's unplanned sum is the graph's activation count; parameters
     * are the weights, biases and batch-norm statistics, each array rounded
     * up to 16 floats (at most 4 arrays per layer). */
    cly_net_memory m;
    ck_assert(cly_net_memory_get(net, &m) == CLY_SUCCESS);
    ck_assert_int_eq(m.activation_bytes, 4 * g->total_activations);
    int64_t exact = 4 * (g->total_weights + g->total_biases + g->bn_running);
    ck_assert_int_ge(m.param_bytes, exact);
    ck_assert_int_lt(m.param_bytes, exact + 4 * 15 * 4 * (int64_t)g->count);
    ck_assert_int_lt(m.arena_bytes, m.activation_bytes);

    ck_assert(cly_net_init_params(net, CLY_INIT_HE, 5) == CLY_SUCCESS);
    enum { IN = 3 * 224 * 224, OUT = 1000 };
    float *x = malloc(IN * sizeof *x), y[OUT];
    ck_assert_ptr_nonnull(x);
    uint64_t state = 5;
    cly_test_fill(x, IN, 2, &state);
    ck_assert_msg(cly_net_set_input(net, "data", x, IN) == CLY_SUCCESS, "%s", cly_last_error(ctx));
    ck_assert_msg(cly_net_forward(net) == CLY_SUCCESS, "%s: %s", zoo[_i].name, cly_last_error(ctx));
    ck_assert_msg(cly_net_get_output(net, zoo[_i].output, y, OUT) == CLY_SUCCESS, "%s", cly_last_error(ctx));
    double sum = 0, sum_abs = 0;
    for (int i = 0; i < OUT; i++) {
        ck_assert_msg(isfinite(y[i]), "%s: %s[%d] = %g", zoo[_i].name, zoo[_i].output, i, y[i]);
        sum += y[i];
        sum_abs += fabs(y[i]);
    }
    ck_assert_msg(sum_abs > 0, "%s: every score is 0", zoo[_i].name);
    if (zoo[_i].softmax)
        ck_assert_msg(fabs(sum - 1) < 1e-4, "%s: probabilities sum to %.7f", zoo[_i].name, sum);
    free(x);
    cly_net_destroy(net);
    cly_graph_destroy(g);
    cly_context_destroy(ctx);
}
END_TEST

int main(void)
{
    cly_test_require_device();
    Suite *s = suite_create("zoo");
    TCase *tc = tcase_create("zoo");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, zoo_net_forward, 0, (int)(sizeof zoo / sizeof zoo[0]));
    suite_add_tcase(s, tc);
    return cly_test_run(s, true);
}
