/* Runs under mpirun (tests/mpi/mpi_test.sh). Modes:
 *   equal DIR [bor]: every rank trains micro-batch `rank` of each group batch of a
 *     small net with batch norm and dropout through cly_net_train_part;
 *     rank 0 also trains one net with accumulate = ranks x 2 on the same
 *     micro-batches in order. The models must match bit for bit, on every
 *     rank, and the losses agree; with either gradient exchange.
 *   stall: rank 1 stops taking part; rank 0's exchange must fail within
 *     the 2 s timeout, naming the rank, the update and the exchange.
 *   die: rank 1 exits without MPI_Finalize; the job must end (mpirun's or
 *     our timeout) within the bound the script checks.
 *   args: bad arguments to every call of clayer_mpi.h and the transport. */
#include "clayer_mpi.h"

#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char NET[] = "input data c=2 h=6 w=6\n"
                          "conv c1 < data filters=4 size=3 pad=1\n"
                          "batchnorm bn < c1\n"
                          "relu r1 < bn\n"
                          "pool p1 < r1 max size=2 stride=2\n"
                          "fc f1 < p1 outputs=12 relu\n"
                          "dropout d1 < f1 p=0.3\n"
                          "fc f2 < d1 outputs=3\n";

enum { MICRO = 2, PIXELS = 2 * 6 * 6, GROUP_ACC = 2, BATCHES = 4 };

static int failures;
#define CHECK(cond, ...)                                                                                               \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            fprintf(stderr, "FAIL (line %d): ", __LINE__);                                                             \
            fprintf(stderr, __VA_ARGS__);                                                                              \
            fputc('\n', stderr);                                                                                       \
            failures++;                                                                                                \
        }                                                                                                              \
    } while (0)

/* Sample i of the stream: real-valued pixels and a label, the same on every
 * rank. */
static void sample(int64_t i, float *x, int32_t *y)
{
    uint64_t s = 0x9E3779B97F4A7C15ULL * (uint64_t)(i + 1);
    for (int k = 0; k < PIXELS; k++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        x[k] = (float)((double)(s >> 40) / (double)(1 << 24) - 0.5);
    }
    *y = (int32_t)(i % 3);
}

static void micro_batch(int64_t first, float *x, int32_t *y)
{
    for (int i = 0; i < MICRO; i++)
        sample(first + i, x + i * PIXELS, y + i);
}

static cly_status make_net(cly_context *ctx, cly_graph *g, int64_t accumulate, cly_net **out)
{
    cly_status s = cly_net_create(ctx, g, &(cly_net_options){.batch = MICRO, .mode = CLY_MODE_TRAINING}, out);
    cly_train_params tp = {.optimizer = CLY_OPTIMIZER_SGD,
                           .learning_rate = 0.05,
                           .momentum = 0.9,
                           .weight_decay = 0.01,
                           .seed = 5,
                           .accumulate = accumulate};
    if (s == CLY_SUCCESS && (s = cly_net_init_params(*out, CLY_INIT_HE, 11)) == CLY_SUCCESS)
        s = cly_net_set_training(*out, &tp);
    return s;
}

static unsigned char *slurp(const char *path, long *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    *size = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)*size + 1);
    if (b && fread(b, 1, (size_t)*size, f) != (size_t)*size) {
        free(b);
        b = NULL;
    }
    fclose(f);
    return b;
}

static uint64_t fnv(const unsigned char *b, long n)
{
    uint64_t h = 1469598103934665603ULL;
    for (long i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

static int equal(cly_mpi *m, const char *dir)
{
    const cly_transport *t = cly_mpi_transport(m);
    int rank = cly_mpi_rank(m), ranks = cly_mpi_ranks(m);
    cly_context *ctx = NULL;
    cly_graph *g = NULL;
    cly_net *net = NULL, *ref = NULL;
    float x[MICRO * PIXELS];
    int32_t y[MICRO];
    cly_status s = cly_context_create(NULL, &ctx);
    if (s == CLY_SUCCESS)
        s = cly_graph_parse(NET, sizeof NET - 1, "test", &g);
    if (s == CLY_SUCCESS)
        s = make_net(ctx, g, GROUP_ACC * ranks, &net);
    if (s == CLY_SUCCESS)
        s = cly_net_sync_part(net, t);
    if (s == CLY_SUCCESS && rank == 0)
        s = make_net(ctx, g, GROUP_ACC * ranks, &ref);
    CHECK(s == CLY_SUCCESS, "rank %d: set-up: %s", rank, cly_last_error(ctx));
    double loss_sum = 0, ref_sum = 0;
    for (int b = 0; b < BATCHES * GROUP_ACC && s == CLY_SUCCESS; b++) {
        double loss = 0;
        micro_batch(((int64_t)b * ranks + rank) * MICRO, x, y);
        if ((s = cly_net_set_input(net, "data", x, MICRO * PIXELS)) == CLY_SUCCESS)
            s = cly_net_train_part(net, t, y, MICRO, &loss);
        CHECK(s == CLY_SUCCESS, "rank %d: batch %d: %s", rank, b, cly_last_error(ctx));
        loss_sum += loss;
        for (int r = 0; r < ranks && ref && s == CLY_SUCCESS; r++) {
            double l = 0;
            micro_batch(((int64_t)b * ranks + r) * MICRO, x, y);
            if ((s = cly_net_set_input(ref, "data", x, MICRO * PIXELS)) == CLY_SUCCESS)
                s = cly_net_train_batch(ref, y, MICRO, &l);
            CHECK(s == CLY_SUCCESS, "reference: batch %d.%d: %s", b, r, cly_last_error(ctx));
            ref_sum += l / ranks;
        }
    }
    char mine[512], theirs[512];
    snprintf(mine, sizeof mine, "%s/rank%d.model", dir, rank);
    snprintf(theirs, sizeof theirs, "%s/reference.model", dir);
    if (s == CLY_SUCCESS)
        s = cly_net_save(net, mine);
    if (s == CLY_SUCCESS && ref)
        s = cly_net_save(ref, theirs);
    CHECK(s == CLY_SUCCESS, "rank %d: saving: %s", rank, cly_last_error(ctx));
    long n1 = 0, n2 = 0;
    unsigned char *a = slurp(mine, &n1), *b = ref ? slurp(theirs, &n2) : NULL;
    CHECK(a, "rank %d: reading %s", rank, mine);
    if (ref) {
        CHECK(a && b && n1 == n2 && memcmp(a, b, (size_t)n1) == 0,
              "%d ranks trained another model than one net accumulating %d micro-batches (%ld vs %ld bytes)", ranks,
              GROUP_ACC * ranks, n1, n2);
        CHECK(fabs(loss_sum - ref_sum) <= 1e-6 * fabs(ref_sum), "losses: %.9g over ranks, %.9g in one net", loss_sum,
              ref_sum);
    }
    /* Every rank holds rank 0's model. */
    uint64_t h = a ? fnv(a, n1) : 0, *all = calloc((size_t)ranks, sizeof *all);
    MPI_Allgather(&h, 1, MPI_UINT64_T, all, 1, MPI_UINT64_T, MPI_COMM_WORLD);
    for (int r = 1; r < ranks && rank == 0; r++)
        CHECK(all[r] == all[0], "rank %d's model differs from rank 0's", r);
    free(all);
    free(a);
    free(b);
    cly_net_destroy(ref);
    cly_net_destroy(net);
    cly_graph_destroy(g);
    cly_context_destroy(ctx);
    if (rank == 0 && failures == 0)
        printf("equal: %d ranks, %d updates: models bit-identical to one net with accumulate %d\n", ranks, BATCHES,
               GROUP_ACC * ranks);
    return failures;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Rank 1 stalls or dies; rank 0's first exchange must fail in time. */
static void missing(cly_mpi *m, bool die)
{
    int rank = cly_mpi_rank(m);
    if (rank == 1) {
        if (die)
            _exit(0); /* no MPI_Finalize: a crashed rank */
        sleep(120);   /* ended by rank 0's abort long before */
        _exit(1);
    }
    cly_context *ctx = NULL;
    cly_graph *g = NULL;
    cly_net *net = NULL;
    cly_status s = cly_context_create(NULL, &ctx);
    if (s == CLY_SUCCESS)
        s = cly_graph_parse(NET, sizeof NET - 1, "test", &g);
    if (s == CLY_SUCCESS)
        s = make_net(ctx, g, GROUP_ACC * cly_mpi_ranks(m), &net);
    float x[MICRO * PIXELS];
    int32_t y[MICRO];
    micro_batch(0, x, y);
    if (s == CLY_SUCCESS)
        s = cly_net_set_input(net, "data", x, MICRO * PIXELS);
    if (s != CLY_SUCCESS) {
        fprintf(stderr, "FAIL: set-up: %s\n", cly_last_error(ctx));
        cly_mpi_abort(m, 1);
    }
    double t0 = now_s();
    s = cly_net_train_part(net, cly_mpi_transport(m), y, MICRO, NULL);
    double took = now_s() - t0;
    const char *msg = cly_last_error(ctx);
    bool ok =
        s == CLY_ERROR_IO && strstr(msg, "rank 0 of 2, update 0") && strstr(msg, "exchanging the batch gradients");
    if (!die)
        ok = ok && strstr(msg, "(the timeout)") && took < 2 + 5;
    printf("%s: rank 0 %s after %.1f s: %s: %s\n", die ? "die" : "stall", ok ? "failed as expected" : "FAILED WRONGLY",
           took, cly_status_string(s), msg);
    fflush(stdout);
    cly_mpi_abort(m, ok ? 3 : 1);
}

/* The library's checks, no MPI traffic. */
static int args(cly_mpi *m)
{
    cly_mpi *other = NULL;
    CHECK(cly_mpi_create(NULL, NULL, NULL, NULL) == CLY_ERROR_INVALID_ARGUMENT &&
              strstr(cly_mpi_last_error(NULL), "out must not be NULL"),
          "create(out NULL): %s", cly_mpi_last_error(NULL));
    CHECK(cly_mpi_create(NULL, NULL, &(cly_mpi_options){.timeout_s = -1}, &other) == CLY_ERROR_INVALID_ARGUMENT &&
              strstr(cly_mpi_last_error(NULL), "got -1") && !other,
          "create(timeout -1): %s", cly_mpi_last_error(NULL));
    CHECK(cly_mpi_create(NULL, NULL, &(cly_mpi_options){.timeout_s = NAN}, &other) == CLY_ERROR_INVALID_ARGUMENT,
          "create(timeout NaN)");
    CHECK(cly_mpi_create(NULL, NULL, &(cly_mpi_options){.exchange = (cly_mpi_exchange)7}, &other) ==
                  CLY_ERROR_INVALID_ARGUMENT &&
              strstr(cly_mpi_last_error(NULL), "unknown exchange 7"),
          "create(exchange 7): %s", cly_mpi_last_error(NULL));
    CHECK(cly_mpi_rank(NULL) == -1 && cly_mpi_ranks(NULL) == 0 && cly_mpi_local_rank(NULL) == -1 &&
              !cly_mpi_transport(NULL),
          "NULL getters");
    CHECK(cly_mpi_sum_int64(NULL, NULL, 0, "x") == CLY_ERROR_INVALID_ARGUMENT, "sum(NULL)");
    int64_t v[2] = {1, 2};
    CHECK(cly_mpi_sum_int64(m, NULL, 1, "x") == CLY_ERROR_INVALID_ARGUMENT &&
              strstr(cly_mpi_last_error(m), "must not be NULL"),
          "sum(values NULL): %s", cly_mpi_last_error(m));
    CHECK(cly_mpi_sum_int64(m, v, ((size_t)1 << 28) + 1, "the counts") == CLY_ERROR_INVALID_ARGUMENT &&
              strstr(cly_mpi_last_error(m), "the counts: 268435457 values"),
          "sum(too many): %s", cly_mpi_last_error(m));
    CHECK(cly_mpi_barrier(m, NULL) == CLY_ERROR_INVALID_ARGUMENT, "barrier(what NULL)");
    CHECK(cly_mpi_barrier(NULL, "x") == CLY_ERROR_INVALID_ARGUMENT, "barrier(NULL)");
    cly_mpi_destroy(NULL);
    /* Real sums, for the values to be checked too. */
    CHECK(cly_mpi_sum_int64(m, v, 2, "v") == CLY_SUCCESS && v[0] == cly_mpi_ranks(m) && v[1] == 2 * cly_mpi_ranks(m),
          "sum: %lld %lld", (long long)v[0], (long long)v[1]);
    /* The transport checks of cly_net_train_part and cly_net_sync_part. */
    cly_context *ctx = NULL;
    cly_graph *g = NULL;
    cly_net *net = NULL;
    cly_status s = cly_context_create(NULL, &ctx);
    if (s == CLY_SUCCESS)
        s = cly_graph_parse(NET, sizeof NET - 1, "test", &g);
    if (s == CLY_SUCCESS)
        s = make_net(ctx, g, 3, &net);
    CHECK(s == CLY_SUCCESS, "set-up: %s", cly_last_error(ctx));
    int32_t y[MICRO] = {0, 1};
    cly_transport bad = *cly_mpi_transport(m);
    CHECK(cly_net_train_part(NULL, &bad, y, MICRO, NULL) == CLY_ERROR_INVALID_ARGUMENT, "train_part(NULL net)");
    CHECK(cly_net_train_part(net, NULL, y, MICRO, NULL) == CLY_ERROR_INVALID_ARGUMENT, "train_part(NULL transport)");
    if (bad.ranks == 2) {
        s = cly_net_train_part(net, &bad, y, MICRO, NULL);
        CHECK(s == CLY_ERROR_INVALID_ARGUMENT &&
                  strstr(cly_last_error(ctx), "accumulates 3 batches, not a multiple of the 2 ranks"),
              "accumulate 3 over 2 ranks: %s", cly_last_error(ctx));
    }
    bad.rank = bad.ranks;
    s = cly_net_sync_part(net, &bad);
    CHECK(s == CLY_ERROR_INVALID_ARGUMENT && strstr(cly_last_error(ctx), "is outside [0,"), "rank past the end: %s",
          cly_last_error(ctx));
    bad = *cly_mpi_transport(m);
    bad.recv = NULL;
    s = cly_net_train_part(net, &bad, y, MICRO, NULL);
    CHECK(s == CLY_ERROR_INVALID_ARGUMENT && strstr(cly_last_error(ctx), "recv NULL"), "no recv: %s",
          cly_last_error(ctx));
    cly_net_destroy(net);
    cly_graph_destroy(g);
    cly_context_destroy(ctx);
    if (cly_mpi_rank(m) == 0 && failures == 0)
        printf("args: all checks passed\n");
    return failures;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: mpirun -np N test_mpi_parts equal DIR | stall | die | args\n");
        return 2;
    }
    cly_mpi *m = NULL;
    bool quick = strcmp(argv[1], "stall") == 0 || strcmp(argv[1], "die") == 0;
    cly_mpi_exchange how =
        argc > 3 && !strcmp(argv[3], "bor") ? CLY_MPI_EXCHANGE_ALLREDUCE_BOR : CLY_MPI_EXCHANGE_ALLGATHER;
    if (cly_mpi_create(&argc, &argv, &(cly_mpi_options){.timeout_s = quick ? 2 : 60, .exchange = how}, &m) !=
        CLY_SUCCESS) {
        fprintf(stderr, "FAIL: cly_mpi_create: %s\n", cly_mpi_last_error(NULL));
        return 1;
    }
    int fails = 0;
    if (strcmp(argv[1], "equal") == 0 && argc > 2)
        fails = equal(m, argv[2]);
    else if (quick)
        missing(m, strcmp(argv[1], "die") == 0);
    else if (strcmp(argv[1], "args") == 0)
        fails = args(m);
    else
        fails = 1;
    int64_t total = fails;
    if (cly_mpi_sum_int64(m, &total, 1, "failures") != CLY_SUCCESS)
        cly_mpi_abort(m, 1);
    cly_mpi_destroy(m);
    return total == 0 ? 0 : 1;
}
