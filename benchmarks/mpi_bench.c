/* One rank of an MPI job (benchmarks/mpi_bench.sh runs it over 1 and 2
 * ranks and prints the ratio): images/s of a data-parallel training step
 * (cly_net_train_part: forward, loss, backward, the gradient exchange, the
 * sum in rank order and the update) of a built-in net at a group batch,
 * and the exchange's cost per step, two ways:
 *   - in the step: the time spent in the gradient exchange (gather_all: it
 *     includes waiting for the slowest rank), and apart, in the batch-norm
 *     statistics' chain (send, recv, broadcast: rank r waits there for
 *     rank r-1's forward);
 *   - bare: the exact exchange alone (--exchange allgather: MPI_Allgather;
 *     bor: MPI_Allreduce with MPI_BOR over ranks x the gradient's bytes)
 *     after a barrier, with no compute.
 * Wall-clock medians after warm-up, each step ended by a barrier so that
 * every rank's step is over.
 *
 *   mpirun -np R ./build/benchmarks/mpi_bench [--net NAME] [--batch N] [--runs N] [--device SEL[,SEL...]]
 *       [--exchange allgather|bor]
 * (a --device list gives a machine's k-th rank entry k mod its length)
 */
#include "bench_util.h"
#include "clayer_mpi.h"

#include <string.h>

#define CHECK(call) BENCH_CHECK("mpi_bench", call)

/* The MPI transport with a clock around each call. */
typedef struct timed {
    const cly_transport *mpi;
    double gather_ms, chain_ms;
} timed;

static int t_gather(void *u, const void *mine, void *all, size_t bytes, char *why, size_t size)
{
    timed *t = u;
    double t0 = bench_now_ms();
    int rc = t->mpi->gather_all(t->mpi->user, mine, all, bytes, why, size);
    t->gather_ms += bench_now_ms() - t0;
    return rc;
}

static int t_broadcast(void *u, int root, void *buf, size_t bytes, char *why, size_t size)
{
    timed *t = u;
    double t0 = bench_now_ms();
    int rc = t->mpi->broadcast(t->mpi->user, root, buf, bytes, why, size);
    t->chain_ms += bench_now_ms() - t0;
    return rc;
}

static int t_send(void *u, int to, const void *buf, size_t bytes, char *why, size_t size)
{
    timed *t = u;
    double t0 = bench_now_ms();
    int rc = t->mpi->send(t->mpi->user, to, buf, bytes, why, size);
    t->chain_ms += bench_now_ms() - t0;
    return rc;
}

static int t_recv(void *u, int from, void *buf, size_t bytes, char *why, size_t size)
{
    timed *t = u;
    double t0 = bench_now_ms();
    int rc = t->mpi->recv(t->mpi->user, from, buf, bytes, why, size);
    t->chain_ms += bench_now_ms() - t0;
    return rc;
}

static void mpi_check(cly_mpi *m, cly_status s, const char *what)
{
    if (s != CLY_SUCCESS) {
        fprintf(stderr, "mpi_bench: %s: %s\n", what, cly_mpi_last_error(m));
        cly_mpi_abort(m, 1);
    }
}

int main(int argc, char **argv)
{
    const char *name = "fashion", *devices = NULL;
    int64_t batch = 64;
    int runs = 5;
    cly_mpi_exchange how = CLY_MPI_EXCHANGE_ALLGATHER;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--net"))
            name = argv[i + 1];
        else if (!strcmp(argv[i], "--batch"))
            batch = atoll(argv[i + 1]);
        else if (!strcmp(argv[i], "--runs"))
            runs = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--device"))
            devices = argv[i + 1];
        else if (!strcmp(argv[i], "--exchange"))
            how = !strcmp(argv[i + 1], "bor") ? CLY_MPI_EXCHANGE_ALLREDUCE_BOR : CLY_MPI_EXCHANGE_ALLGATHER;
    }
    cly_mpi *m = NULL;
    if (cly_mpi_create(&argc, &argv, &(cly_mpi_options){.timeout_s = 600, .exchange = how}, &m) != CLY_SUCCESS) {
        fprintf(stderr, "mpi_bench: %s\n", cly_mpi_last_error(NULL));
        return 1;
    }
    const int rank = cly_mpi_rank(m), ranks = cly_mpi_ranks(m);
    if (batch < ranks || batch % ranks != 0 || runs < 1) {
        if (rank == 0)
            fprintf(stderr, "mpi_bench: --batch %lld must split into %d equal micro-batches, --runs >= 1\n",
                    (long long)batch, ranks);
        cly_mpi_destroy(m);
        return 1;
    }
    const int64_t micro = batch / ranks;
    char sel[128] = "";
    if (devices) { /* entry k for the machine's k-th rank */
        const char *p = devices;
        size_t entries = 1;
        for (const char *q = p; *q; q++)
            entries += *q == ',';
        for (size_t k = (size_t)cly_mpi_local_rank(m) % entries; k > 0; k--)
            p = strchr(p, ',') + 1;
        snprintf(sel, sizeof sel, "%.*s", (int)strcspn(p, ","), p);
    }
    cly_context *ctx = NULL;
    cly_graph *g = NULL;
    cly_net *net = NULL;
    CHECK(cly_context_create(sel[0] ? sel : NULL, &ctx));
    CHECK(cly_graph_builtin(name, &g));
    CHECK(cly_net_create(ctx, g, &(cly_net_options){.batch = micro, .mode = CLY_MODE_TRAINING}, &net));
    CHECK(cly_net_init_params(net, CLY_INIT_HE, 1));
    CHECK(cly_net_set_training(
        net, &(cly_train_params){.optimizer = CLY_OPTIMIZER_ADAM, .learning_rate = 1e-4, .accumulate = ranks}));
    cly_layer_info in = {0}, out = {0};
    int64_t params = 0;
    for (size_t i = 0; i < cly_graph_layer_count(g); i++) {
        cly_layer_info li;
        CHECK(cly_graph_layer_info(g, i, &li));
        if (li.type == CLY_LAYER_INPUT && !in.name)
            in = li;
        if (li.is_output)
            out = li;
        params += li.weights + li.biases;
    }
    const int64_t per_sample = in.activations / micro, classes = out.output.c;
    float *x = malloc((size_t)(micro * per_sample) * sizeof *x);
    int32_t *labels = malloc((size_t)micro * sizeof *labels);
    double *step = calloc((size_t)runs, sizeof *step), *inside = calloc((size_t)runs, sizeof *inside),
           *chain = calloc((size_t)runs, sizeof *chain), *bare = calloc((size_t)runs, sizeof *bare);
    uint32_t s = 12345u + (uint32_t)rank;
    for (int64_t i = 0; i < micro * per_sample; i++) {
        s = s * 1664525u + 1013904223u;
        x[i] = (float)(s >> 8) / (float)(1u << 24) - 0.5f;
    }
    for (int64_t i = 0; i < micro; i++)
        labels[i] = (int32_t)((rank * micro + i) % classes);
    timed tm = {.mpi = cly_mpi_transport(m)};
    cly_transport tt = *tm.mpi;
    tt.user = &tm;
    tt.gather_all = t_gather;
    tt.broadcast = t_broadcast;
    tt.send = t_send;
    tt.recv = t_recv;
    CHECK(cly_net_sync_part(net, &tt));
    CHECK(cly_net_set_input(net, in.name, x, micro * per_sample));
    for (int r = -2; r < runs; r++) {
        mpi_check(m, cly_mpi_barrier(m, "before a step"), "barrier");
        tm.gather_ms = tm.chain_ms = 0;
        double t0 = bench_now_ms();
        CHECK(cly_net_train_part(net, &tt, labels, micro, NULL));
        CHECK(cly_context_finish(ctx));
        mpi_check(m, cly_mpi_barrier(m, "after a step"), "barrier");
        if (r >= 0) {
            step[r] = bench_now_ms() - t0;
            inside[r] = tm.gather_ms;
            chain[r] = tm.chain_ms;
        }
    }
    /* The bare exchange: what one step's gather moves (the parameters'
     * reals, float32 here, and a double per rank). */
    size_t slot = (size_t)params * 4 + sizeof(double);
    char *mine = calloc(slot, 1), *all = malloc(slot * (size_t)ranks), why[512];
    for (int r = -1; r < runs; r++) {
        mpi_check(m, cly_mpi_barrier(m, "before an exchange"), "barrier");
        double t0 = bench_now_ms();
        if (tm.mpi->gather_all(tm.mpi->user, mine, all, slot, why, sizeof why) != 0) {
            fprintf(stderr, "mpi_bench: %s\n", why);
            cly_mpi_abort(m, 1);
        }
        if (r >= 0)
            bare[r] = bench_now_ms() - t0;
    }
    if (rank == 0) {
        double ms = bench_median(step, runs);
        const cly_device_info *d = cly_context_device(ctx);
        const char *hw = how == CLY_MPI_EXCHANGE_ALLREDUCE_BOR ? "bor" : "allgather";
        printf("mpi_bench: %s, batch %lld over %d rank%s (%lld each, %s) on %s: step %.1f ms, %.1f images/s; "
               "exchange in the step %.1f ms (batch-norm chain %.1f ms); bare exchange %.1f ms for %d x %.2f MB\n",
               name, (long long)batch, ranks, ranks == 1 ? "" : "s", (long long)micro, hw, d->name, ms,
               (double)batch * 1e3 / ms, bench_median(inside, runs), bench_median(chain, runs),
               bench_median(bare, runs), ranks, (double)slot / 1e6);
        printf("RESULT net=%s ranks=%d images_per_s=%.3f step_ms=%.3f exchange_ms=%.3f bare_ms=%.3f\n", name, ranks,
               (double)batch * 1e3 / ms, ms, bench_median(inside, runs), bench_median(bare, runs));
    }
    free(mine);
    free(all);
    free(x);
    free(labels);
    free(step);
    free(inside);
    free(chain);
    free(bare);
    cly_net_destroy(net);
    cly_graph_destroy(g);
    cly_context_destroy(ctx);
    cly_mpi_destroy(m);
    return 0;
}
