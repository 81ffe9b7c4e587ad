/* Several devices against one, in one run: images/s of a training step
 * (forward, loss, backward, update) and of an inference forward for a
 * built-in net (default the Fashion-MNIST net at batch 64) on
 *   - the first device alone at the whole batch,
 *   - the first device at the micro-batch with accumulation over the
 *     devices' count (what the group computes, bit for bit),
 *   - the replica group over every listed device,
 * and the cost of the gradient exchange per step (copying one device's
 * batch gradients to device 0 and adding them). Wall-clock medians after
 * warm-up: the group's step spans several queues, so no single device's
 * profiling clock covers it.
 *
 *   POCL_DEVICES="pthread pthread" ./build/benchmarks/replica_bench [--devices 0:0,0:1]
 *       [--net NAME] [--batch N] [--runs N]
 */
#include "bench_util.h"
#include "net/net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(call) BENCH_CHECK("replica_bench", call)

typedef struct data {
    const char *input;
    int64_t per_sample, classes;
    float *x;
    int32_t *labels;
} data;

static cly_graph *graph(const char *name)
{
    cly_graph *g;
    if (cly_graph_builtin(name, &g) != CLY_SUCCESS) {
        fprintf(stderr, "replica_bench: %s\n", cly_last_error(NULL));
        exit(1);
    }
    return g;
}

static const cly_train_params adam = {.optimizer = CLY_OPTIMIZER_ADAM, .learning_rate = 1e-4};

/* One device: `parts` batches of batch / parts per step (accumulate parts). */
static void one_device(cly_context *ctx, const char *name, const data *d, int64_t batch, int64_t parts, int runs,
                       double *train_ms, double *infer_ms)
{
    cly_graph *g = graph(name);
    cly_net *net;
    int64_t m = batch / parts;
    CHECK(cly_net_create(ctx, g, &(cly_net_options){.batch = m, .mode = CLY_MODE_TRAINING}, &net));
    CHECK(cly_net_init_params(net, CLY_INIT_HE, 1));
    cly_train_params tp = adam;
    tp.accumulate = parts;
    CHECK(cly_net_set_training(net, &tp));
    double *t = calloc((size_t)runs, sizeof *t), *f = calloc((size_t)runs, sizeof *f);
    for (int r = -2; r < runs; r++) {
        double t0 = bench_now_ms();
        for (int64_t p = 0; p < parts; p++) {
            CHECK(cly_net_set_input(net, d->input, d->x + p * m * d->per_sample, m * d->per_sample));
            CHECK(cly_net_train_batch(net, d->labels + p * m, m, NULL));
        }
        CHECK(cly_context_finish(ctx));
        if (r >= 0)
            t[r] = bench_now_ms() - t0;
    }
    for (int r = -1; r < runs; r++) {
        double t0 = bench_now_ms();
        for (int64_t p = 0; p < parts; p++) {
            CHECK(cly_net_set_input(net, d->input, d->x + p * m * d->per_sample, m * d->per_sample));
            CHECK(cly_net_forward(net));
        }
        CHECK(cly_context_finish(ctx));
        if (r >= 0)
            f[r] = bench_now_ms() - t0;
    }
    *train_ms = bench_median(t, runs);
    *infer_ms = bench_median(f, runs);
    free(t);
    free(f);
    cly_net_destroy(net);
    cly_graph_destroy(g);
}

int main(int argc, char **argv)
{
    const char *devices = "0:0,0:1", *name = "fashion";
    int runs = 10;
    long long batch = 64;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--devices") == 0 && i + 1 < argc)
            devices = argv[++i];
        else if (strcmp(argv[i], "--net") == 0 && i + 1 < argc)
            name = argv[++i];
        else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc)
            batch = atoll(argv[++i]);
        else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: replica_bench [--devices LIST] [--net NAME] [--batch N] [--runs N]\n");
            return 2;
        }
    }
    if (runs < 1)
        runs = 1;
    cly_graph *g = graph(name);
    cly_replicas *r;
    cly_context *ctx = NULL; /* BENCH_CHECK's messages: the thread's, then device 0's */
    CHECK(cly_replicas_create(devices, NULL, g, &(cly_net_options){.batch = batch, .mode = CLY_MODE_TRAINING}, &r));
    size_t n = cly_replicas_count(r);
    ctx = cly_replicas_context(r, 0);
    CHECK(cly_replicas_init_params(r, CLY_INIT_HE, 1));
    CHECK(cly_replicas_set_training(r, &adam));
    cly_net *n0 = cly_replicas_net(r, 0);
    const cly_node *in = &g->nodes[g->order[0]];
    data d = {.input = in->name, .per_sample = in->activations / (batch / (int64_t)n),
              .classes = g->nodes[n0->scores_id].out.c};
    d.x = malloc((size_t)(batch * d.per_sample) * sizeof *d.x);
    d.labels = malloc((size_t)batch * sizeof *d.labels);
    uint64_t seed = 7;
    for (int64_t i = 0; i < batch * d.per_sample; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        d.x[i] = (float)((seed >> 40) % 1000) / 1000.0f;
    }
    for (int64_t i = 0; i < batch; i++)
        d.labels[i] = (int32_t)(i % d.classes);
    printf("%s, batch %lld over %zu devices (%lld each):", name, batch, n, batch / (long long)n);
    for (size_t k = 0; k < n; k++)
        printf(" %s", cly_context_device(cly_replicas_context(r, k))->name);
    printf("\n");

    double *t = calloc((size_t)runs, sizeof *t), *f = calloc((size_t)runs, sizeof *f), *x = calloc((size_t)runs, sizeof *x);
    for (int k = -2; k < runs; k++) {
        double t0 = bench_now_ms();
        CHECK(cly_replicas_set_input(r, d.input, d.x, batch * d.per_sample));
        CHECK(cly_replicas_train_batch(r, d.labels, batch, NULL));
        for (size_t j = 0; j < n; j++)
            CHECK(cly_context_finish(cly_replicas_context(r, j)));
        if (k >= 0)
            t[k] = bench_now_ms() - t0;
    }
    for (int k = -1; k < runs; k++) {
        double t0 = bench_now_ms();
        CHECK(cly_replicas_set_input(r, d.input, d.x, batch * d.per_sample));
        CHECK(cly_replicas_forward(r));
        for (size_t j = 0; j < n; j++)
            CHECK(cly_context_finish(cly_replicas_context(r, j)));
        if (k >= 0)
            f[k] = bench_now_ms() - t0;
    }
    /* The exchange alone, as a step does it for each device after the first. */
    size_t es = cly_context_precision(n0->ctx) == CLY_PRECISION_FLOAT64 ? 8 : 4;
    void *host = malloc((size_t)n0->param_elems * es);
    for (int k = -1; k < runs && n > 1; k++) {
        double t0 = bench_now_ms();
        for (size_t j = 1; j < n; j++) {
            cly_net *nj = cly_replicas_net(r, j);
            if (clEnqueueReadBuffer(nj->ctx->queue, nj->grads_batch, CL_TRUE, 0, (size_t)n0->param_elems * es, host, 0,
                                    NULL, NULL) != CL_SUCCESS ||
                clEnqueueWriteBuffer(n0->ctx->queue, n0->grads_batch, CL_TRUE, 0, (size_t)n0->param_elems * es, host, 0,
                                     NULL, NULL) != CL_SUCCESS) {
                fprintf(stderr, "replica_bench: copying gradients failed\n");
                return 1;
            }
            CHECK(cly_grad_accumulate(n0->ctx, n0->param_elems, (cly_buf){n0->grads_batch, 0},
                                      (cly_buf){n0->grads, 0}, 1.0f));
        }
        CHECK(cly_context_finish(n0->ctx));
        if (k >= 0)
            x[k] = bench_now_ms() - t0;
    }
    double gt = bench_median(t, runs), gf = bench_median(f, runs), gx = n > 1 ? bench_median(x, runs) : 0;

    double st, sf, at, af;
    one_device(n0->ctx, name, &d, batch, 1, runs, &st, &sf);
    one_device(n0->ctx, name, &d, batch, (int64_t)n, runs, &at, &af);
    const double b = (double)batch * 1e3;
    printf("training step, median of %d:\n", runs);
    printf("  1 device, batch %lld:                 %8.1f ms  %8.1f images/s\n", batch, st, b / st);
    printf("  1 device, %zu x %lld accumulated:       %8.1f ms  %8.1f images/s\n", n, batch / (long long)n, at,
           b / at);
    printf("  %zu devices, %lld each:                %8.1f ms  %8.1f images/s\n", n, batch / (long long)n, gt, b / gt);
    printf("  ratio %zu devices / 1 device: %.2f (against the accumulated equivalent: %.2f)\n", n, st / gt, at / gt);
    printf("  gradient exchange: %.2f ms per step (%lld parameters, %zu copies) = %.1f%% of the step\n", gx,
           (long long)n0->param_elems, n - 1, 100.0 * gx / gt);
    printf("inference forward, median of %d:\n", runs);
    printf("  1 device, batch %lld: %8.1f ms  %8.1f images/s\n", batch, sf, b / sf);
    printf("  %zu devices:          %8.1f ms  %8.1f images/s   ratio %.2f\n", n, gf, b / gf, sf / gf);
    free(host);
    free(t);
    free(f);
    free(x);
    free(d.x);
    free(d.labels);
    cly_replicas_destroy(r);
    cly_graph_destroy(g);
    return 0;
}
