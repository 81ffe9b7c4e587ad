/* The model zoo trains: every built-in net (cly_graph_builtin_name) compiles
 * in CLY_MODE_TRAINING, takes SGD, and runs two seeded training steps on a
 * fixed batch. Both losses are finite and positive, the second differs from
 * the first, and the first convolution's weights moved. Per-net step times
 * and the training memory go to stderr. Heavy on a CPU device (VGG-16 and
 * the ResNets at 224 x 224), hence the `slow` suite. */
#include "test_util.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Batch 2: batch norm needs at least two values per channel; the smallest
 * maps it sees are 7 x 7 (googlenet-tv's inception5b, the ResNets' last
 * stage), so batch 1 would do, but 2 also mixes samples in the batch
 * statistics and runs every layer's batched paths. Even VGG-16 takes under
 * 20 s a step on a 2-core CPU at batch 2. */
enum { BATCH = 2 };

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static size_t net_count(void)
{
    size_t n = 0;
    while (cly_graph_builtin_name(n))
        n++;
    return n;
}

START_TEST(zoo_net_train)
{
    const char *name = cly_graph_builtin_name((size_t)_i);
    cly_graph *g;
    ck_assert_msg(cly_graph_builtin(name, &g) == CLY_SUCCESS, "%s", cly_last_error(NULL));
    cly_context *ctx = cly_test_context();
    cly_net *net;
    double t0 = now_s();
    cly_status s = cly_net_create(ctx, g, &(cly_net_options){.batch = BATCH, .mode = CLY_MODE_TRAINING}, &net);
    ck_assert_msg(s == CLY_SUCCESS, "%s: %s", name, cly_last_error(ctx));
    ck_assert_msg(cly_net_set_training(net, &(cly_train_params){.learning_rate = 1e-3, .seed = 3}) == CLY_SUCCESS,
                  "%s: %s", name, cly_last_error(ctx));
    ck_assert(cly_net_init_params(net, CLY_INIT_HE, 5) == CLY_SUCCESS);

    /* The input, the first convolution and the class count (the only
     * output's depth) from the inferred graph. */
    const char *input = NULL, *conv = NULL;
    int64_t in_count = 0, classes = 0;
    for (size_t i = 0; i < cly_graph_layer_count(g); i++) {
        cly_layer_info li;
        ck_assert(cly_graph_layer_info(g, i, &li) == CLY_SUCCESS);
        if (li.type == CLY_LAYER_INPUT && !input) {
            input = li.name;
            in_count = li.activations;
        }
        if (li.type == CLY_LAYER_CONV && !conv)
            conv = li.name;
        if (li.is_output)
            classes = li.output.c;
    }
    ck_assert_msg(input && conv && classes > 1, "%s: no input, conv or classes", name);

    float *x = malloc((size_t)in_count * sizeof *x);
    ck_assert_ptr_nonnull(x);
    uint64_t state = 7;
    cly_test_fill(x, (size_t)in_count, 2, &state);
    ck_assert_msg(cly_net_set_input(net, input, x, in_count) == CLY_SUCCESS, "%s", cly_last_error(ctx));
    free(x);

    int64_t wn;
    ck_assert(cly_net_param_count(net, conv, CLY_PARAM_WEIGHTS, &wn) == CLY_SUCCESS && wn > 0);
    float *w0 = malloc((size_t)wn * sizeof *w0), *w1 = malloc((size_t)wn * sizeof *w1);
    ck_assert(w0 && w1);
    ck_assert(cly_net_get_param(net, conv, CLY_PARAM_WEIGHTS, w0, wn) == CLY_SUCCESS);

    const int32_t labels[BATCH] = {1, (int32_t)(7 % classes)};
    double loss[2], step_s[2], t_ready = now_s();
    for (int step = 0; step < 2; step++) {
        double t = now_s();
        s = cly_net_train_batch(net, labels, BATCH, &loss[step]);
        step_s[step] = now_s() - t;
        ck_assert_msg(s == CLY_SUCCESS, "%s step %d: %s", name, step + 1, cly_last_error(ctx));
        ck_assert_msg(isfinite(loss[step]) && loss[step] > 0, "%s step %d: loss %g", name, step + 1, loss[step]);
    }
    ck_assert_int_eq(cly_net_updates(net), 2);
    ck_assert_msg(loss[1] != loss[0], "%s: the loss stayed at %.9g", name, loss[0]);

    ck_assert(cly_net_get_param(net, conv, CLY_PARAM_WEIGHTS, w1, wn) == CLY_SUCCESS);
    int64_t moved = 0;
    for (int64_t i = 0; i < wn; i++) {
        ck_assert_msg(isfinite(w1[i]), "%s: %s weight %lld = %g", name, conv, (long long)i, w1[i]);
        moved += w1[i] != w0[i];
    }
    ck_assert_msg(moved > 0, "%s: no weight of %s changed", name, conv);

    cly_net_memory m;
    ck_assert(cly_net_memory_get(net, &m) == CLY_SUCCESS);
    ck_assert_int_gt(m.training_bytes, 0);
    fprintf(stderr,
            "%-21s batch %d: create+init %.2f s, step 1 %.2f s (loss %.4f), step 2 %.2f s (loss %.4f); "
            "%lld/%lld %s weights moved; MiB: arena %.1f, workspace %.1f, params %.1f, training %.1f\n",
            name, BATCH, t_ready - t0, step_s[0], loss[0], step_s[1], loss[1], (long long)moved, (long long)wn, conv,
            (double)m.arena_bytes / 1048576, (double)m.workspace_bytes / 1048576, (double)m.param_bytes / 1048576,
            (double)m.training_bytes / 1048576);
    free(w0);
    free(w1);
    cly_net_destroy(net);
    cly_graph_destroy(g);
    cly_context_destroy(ctx);
}
END_TEST

int main(void)
{
    cly_test_require_device();
    Suite *s = suite_create("zoo_train");
    TCase *tc = tcase_create("zoo_train");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, zoo_net_train, 0, (int)net_count());
    suite_add_tcase(s, tc);
    return cly_test_run(s, true);
}
