/* Training throughput: images/s of a full step (forward, loss, backward,
 * update) for the Fashion-MNIST net at batch 64 and ResNet-18 at batch 16,
 * with the forward-only inference pass of the same net timed in the same
 * run as the comparison, then a per-layer breakdown of one training step
 * (each layer's forward and backward timed alone, queue drained around it).
 *
 *   ./build/benchmarks/train_bench [--device SEL] [--runs N] [--net NAME --batch N]
 */
#include "bench_util.h"
#include "net/net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(call) BENCH_CHECK("train_bench", call)

static void bench(cly_context *ctx, const char *name, int64_t batch, int runs)
{
    cly_graph *g;
    cly_net *net;
    if (cly_graph_builtin(name, &g) != CLY_SUCCESS) {
        fprintf(stderr, "train_bench: %s\n", cly_last_error(NULL));
        exit(1);
    }
    CHECK(cly_net_create(ctx, g, &(cly_net_options){.batch = batch, .mode = CLY_MODE_TRAINING}, &net));
    CHECK(cly_net_init_params(net, CLY_INIT_HE, 1));
    CHECK(cly_net_set_training(net, &(cly_train_params){.optimizer = CLY_OPTIMIZER_ADAM, .learning_rate = 1e-4}));
    const cly_node *in = &g->nodes[g->order[0]];
    int64_t classes = g->nodes[net->scores_id].out.c, per_step_flops = 0;
    float *x = malloc((size_t)in->activations * sizeof *x);
    int32_t *labels = malloc((size_t)batch * sizeof *labels);
    uint64_t seed = 7;
    for (int64_t i = 0; i < in->activations; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        x[i] = (float)((seed >> 40) % 1000) / 1000.0f;
    }
    for (int64_t i = 0; i < batch; i++)
        labels[i] = (int32_t)(i % classes);
    for (size_t i = 0; i < g->count; i++)
        per_step_flops += g->nodes[i].flops;
    CHECK(cly_net_set_input(net, in->name, x, in->activations));

    double *train = calloc((size_t)runs, sizeof *train), *infer = calloc((size_t)runs, sizeof *infer);
    for (int r = -2; r < runs; r++) { /* two warm-up steps: builds, caches */
        double t = bench_now_ms();
        CHECK(cly_net_train_batch(net, labels, batch, NULL));
        CHECK(cly_context_finish(ctx));
        if (r >= 0)
            train[r] = bench_now_ms() - t;
    }
    for (int r = -1; r < runs; r++) {
        double t = bench_now_ms();
        CHECK(cly_net_forward(net));
        CHECK(cly_context_finish(ctx));
        if (r >= 0)
            infer[r] = bench_now_ms() - t;
    }
    double tm = bench_median(train, runs), im = bench_median(infer, runs);
    printf("%s, batch %lld: training step %.1f ms (median of %d) = %.1f images/s; inference forward %.1f ms = "
           "%.1f images/s; step / forward = %.2f; forward FLOPs %.3g per batch\n",
           name, (long long)batch, tm, runs, (double)batch * 1e3 / tm, im, (double)batch * 1e3 / im, tm / im,
           (double)per_step_flops);

    /* Per-layer breakdown of one training step. */
    size_t n = g->count;
    double *fwd = calloc(n, sizeof *fwd), *bwd = calloc(n, sizeof *bwd), total = 0;
    int64_t *pos = malloc(n * sizeof *pos);
    for (size_t i = 0; i < n; i++)
        pos[g->order[i]] = (int64_t)i;
    net->training_pass = true;
    for (size_t s = 0; s < n; s++) {
        double t = bench_now_ms();
        CHECK(cly_net_run_layer(net, g->order[s]));
        CHECK(cly_context_finish(ctx));
        fwd[g->order[s]] = bench_now_ms() - t;
    }
    net->training_pass = false;
    CHECK(cly_net_compute_gradients(net, labels, batch, NULL)); /* the loss's gradient, fresh */
    CHECK(cly_context_finish(ctx));
    for (size_t s = n; s-- > 0;) {
        double t = bench_now_ms();
        CHECK(cly_net_backward_layer(net, g->order[s], pos));
        CHECK(cly_context_finish(ctx));
        bwd[g->order[s]] = bench_now_ms() - t;
    }
    for (size_t i = 0; i < n; i++)
        total += fwd[i] + bwd[i];
    printf("  %-22s %-10s %10s %10s %7s %9s\n", "layer", "type", "fwd ms", "bwd ms", "share", "algo");
    for (size_t s = 0; s < n; s++) {
        size_t id = g->order[s];
        const cly_node *node = &g->nodes[id];
        printf("  %-22s %-10s %10.2f %10.2f %6.1f%% %9s\n", node->name, cly_layer_type_string(node->layer.type),
               fwd[id], bwd[id], 100.0 * (fwd[id] + bwd[id]) / total,
               node->layer.type == CLY_LAYER_CONV ? cly_conv_algo_string(net->layers[id].algo) : "-");
    }
    printf("  layers alone: %.1f ms (the step above also updates parameters)\n\n", total);
    free(fwd);
    free(bwd);
    free(pos);
    free(train);
    free(infer);
    free(x);
    free(labels);
    cly_net_destroy(net);
    cly_graph_destroy(g);
}

int main(int argc, char **argv)
{
    const char *selector = NULL, *only = NULL;
    int runs = 5;
    long long batch = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--device") == 0 && i + 1 < argc)
            selector = argv[++i];
        else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--net") == 0 && i + 1 < argc)
            only = argv[++i];
        else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc)
            batch = atoll(argv[++i]);
        else {
            fprintf(stderr, "usage: train_bench [--device SEL] [--runs N] [--net NAME --batch N]\n");
            return 2;
        }
    }
    if (runs < 1)
        runs = 1;
    cly_context *ctx;
    if (cly_context_create(selector, &ctx) != CLY_SUCCESS) {
        fprintf(stderr, "train_bench: %s\n", cly_last_error(NULL));
        return 1;
    }
    printf("device: %s (%s)\n\n", cly_context_device(ctx)->name, cly_context_device(ctx)->platform_name);
    if (only) {
        bench(ctx, only, batch > 0 ? batch : 16, runs);
    } else {
        bench(ctx, "fashion", 64, runs);
        bench(ctx, "resnet18", 16, runs);
    }
    cly_context_destroy(ctx);
    return 0;
}
