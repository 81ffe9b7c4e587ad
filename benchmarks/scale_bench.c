/* scale_bench: how the host-side costs grow with the layer count. A chain
 * of ReLUs on a small input is built at several depths (10k, 50k, 100k
 * layers with the input by default; 100,000 is the net-file limit), and each stage is
 * timed on the host: graph build (cly_graph_add per layer), net-file text
 * and its parse, net create (inference, batch 1: infer, compile, memory
 * plan, buffers), one forward, model save, model load, and net create in
 * training mode (train-net: every activation alive at once). It prints each
 * time, its cost per layer, and the per-layer cost of the deepest net over
 * the shallowest's as the comparison: about 1 for linear growth, the depth
 * ratio (10) for quadratic.
 *
 *   ./build/benchmarks/scale_bench [--layers N,N,...] [--conv] [--runs N] [--device SEL]
 *                                  [--dir DIR] [--max-ratio R] [--max-seconds S]
 *
 * --runs N: each depth N times, the fastest time of each stage kept.
 *
 * --max-ratio R: exit 1 when the per-layer cost of a host stage (any but
 * forward, which is one kernel launch per layer and the device's business)
 * of the deepest net exceeds R times the shallowest's; the bench-smoke test
 * --max-seconds S: exit 1 when a host stage takes more than S seconds at
 * any depth. The bench-smoke test uses this one: a quadratic stage takes
 * minutes at 100,000 layers (the old memory plan: 33 s at 40,000) where a
 * linear one takes well under a second, while the ratio of per-layer costs
 * also moves with the caches (a 10,000-layer graph fits in them, a
 * 100,000-layer one does not: 2 to 6 for linear code). */
#include "bench_util.h"

#include <string.h>
#include <unistd.h>

#define CHECK(call) BENCH_CHECK("scale_bench", call)
/* Graph calls report in the thread's slot, not the context's. */
#define GCHECK(call)                                                                                               \
    do {                                                                                                           \
        if ((call) != CLY_SUCCESS) {                                                                               \
            fprintf(stderr, "scale_bench: %s: %s\n", #call, cly_last_error(NULL));                                  \
            exit(1);                                                                                               \
        }                                                                                                          \
    } while (0)

enum { BUILD, TEXT, PARSE, CREATE, FORWARD, SAVE, LOAD, TRAIN_CREATE, STAGES };
static const char *const stage_names[STAGES] = {"build", "text", "parse", "create", "forward",
                                                "save", "load", "train-net"};

#define MAX_DEPTHS 8
#define INPUT_C 2
#define INPUT_HW 4

static cly_context *ctx;

static bool use_conv; /* --conv: 1x1 convolutions instead of ReLUs */

/* `layers` layers: data -> r1 -> ... -> r{layers - 1}. Every ReLU after
 * the first runs in place, so the arena stays one activation; convolutions
 * (--conv) have parameters and an activation each, which exercises the
 * parameter paths of save and load and a plan of many blocks. */
static cly_graph *build_chain(int64_t layers)
{
    cly_graph *g;
    GCHECK(cly_graph_create(&g));
    GCHECK(cly_graph_input(g, "data", INPUT_C, INPUT_HW, INPUT_HW));
    char name[32], prev[32] = "data";
    for (int64_t i = 1; i < layers; i++) {
        snprintf(name, sizeof name, "r%lld", (long long)i);
        if (use_conv)
            GCHECK(cly_graph_conv(g, name, prev, (cly_conv_params){.filters = INPUT_C, .size = {1, 1}}));
        else
            GCHECK(cly_graph_relu(g, name, prev));
        memcpy(prev, name, sizeof prev);
    }
    return g;
}

/* Time every stage at `layers` into t[]; check that the loaded net computes
 * what the saved one did (and, for ReLUs, relu(x)). */
static void run_depth(int64_t layers, const char *path, double t[STAGES])
{
    double t0 = bench_now_ms();
    cly_graph *g = build_chain(layers);
    t[BUILD] = bench_now_ms() - t0;

    char *text;
    size_t size;
    t0 = bench_now_ms();
    GCHECK(cly_graph_to_text(g, &text, &size));
    t[TEXT] = bench_now_ms() - t0;
    cly_graph *parsed;
    t0 = bench_now_ms();
    GCHECK(cly_graph_parse(text, size, "scale_bench", &parsed));
    t[PARSE] = bench_now_ms() - t0;
    free(text);
    cly_graph_destroy(parsed);

    cly_net *net;
    const cly_net_options opt = {.batch = 1};
    t0 = bench_now_ms();
    CHECK(cly_net_create(ctx, g, &opt, &net));
    t[CREATE] = bench_now_ms() - t0;

    enum { COUNT = INPUT_C * INPUT_HW * INPUT_HW };
    float x[COUNT], y0[COUNT], y[COUNT];
    char last[32];
    snprintf(last, sizeof last, "r%lld", (long long)(layers - 1));
    for (int i = 0; i < COUNT; i++)
        x[i] = (float)(i % 7) - 3.0f;
    if (use_conv)
        CHECK(cly_net_init_params(net, CLY_INIT_HE, 1));
    CHECK(cly_net_set_input(net, "data", x, COUNT));
    t0 = bench_now_ms();
    CHECK(cly_net_forward(net));
    CHECK(cly_context_finish(ctx));
    t[FORWARD] = bench_now_ms() - t0;
    CHECK(cly_net_get_output(net, last, y0, COUNT));

    t0 = bench_now_ms();
    CHECK(cly_net_save(net, path));
    t[SAVE] = bench_now_ms() - t0;
    cly_net_destroy(net);
    /* A training net keeps every activation until its backward step: all
     * of them are alive at once, the memory plan's hardest case. */
    t0 = bench_now_ms();
    CHECK(cly_net_create(ctx, g, &(cly_net_options){.batch = 1, .mode = CLY_MODE_TRAINING}, &net));
    t[TRAIN_CREATE] = bench_now_ms() - t0;
    cly_net_destroy(net);
    cly_graph_destroy(g);

    cly_graph *lg;
    cly_net *ln;
    t0 = bench_now_ms();
    CHECK(cly_model_load(ctx, path, &opt, &lg, &ln));
    t[LOAD] = bench_now_ms() - t0;
    unlink(path);

    CHECK(cly_net_set_input(ln, "data", x, COUNT));
    CHECK(cly_net_forward(ln));
    CHECK(cly_net_get_output(ln, last, y, COUNT));
    if (memcmp(y, y0, sizeof y) != 0) {
        fprintf(stderr, "scale_bench: %lld layers: the loaded net's output differs from the saved net's\n",
                (long long)layers);
        exit(1);
    }
    for (int i = 0; i < COUNT && !use_conv; i++)
        if (y[i] != (x[i] > 0 ? x[i] : 0.0f)) {
            fprintf(stderr, "scale_bench: %lld layers: output %d is %g, relu(%g) expected\n", (long long)layers, i,
                    (double)y[i], (double)x[i]);
            exit(1);
        }
    cly_net_destroy(ln);
    cly_graph_destroy(lg);
}

static size_t parse_depths(const char *s, int64_t *out)
{
    size_t n = 0;
    while (*s && n < MAX_DEPTHS) {
        char *end;
        long long v = strtoll(s, &end, 10);
        if (end == s || v < 2 || v > 100000 || (*end && *end != ',')) {
            fprintf(stderr, "scale_bench: --layers wants N,N,... with 2 <= N <= 100000 (the net-file limit), "
                            "not '%s'\n", s);
            exit(2);
        }
        out[n++] = v;
        s = *end ? end + 1 : end;
    }
    return n;
}

int main(int argc, char **argv)
{
    int64_t depths[MAX_DEPTHS] = {10000, 50000, 100000};
    size_t nd = 3;
    const char *selector = NULL, *dir = NULL;
    double max_ratio = 0, max_seconds = 0;
    int runs = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            printf("usage: scale_bench [--layers N,N,...] [--conv] [--runs N] [--device SEL] [--dir DIR]\n"
                   "                   [--max-ratio R] [--max-seconds S]\n");
            return 0;
        }
        if (!strcmp(a, "--conv")) {
            use_conv = true;
            continue;
        }
        if (!v) {
            fprintf(stderr, "scale_bench: unknown or incomplete option '%s' (see --help)\n", a);
            return 2;
        }
        if (!strcmp(a, "--layers"))
            nd = parse_depths(v, depths);
        else if (!strcmp(a, "--device"))
            selector = v;
        else if (!strcmp(a, "--dir"))
            dir = v;
        else if (!strcmp(a, "--max-ratio"))
            max_ratio = atof(v);
        else if (!strcmp(a, "--max-seconds"))
            max_seconds = atof(v);
        else if (!strcmp(a, "--runs"))
            runs = atoi(v) > 1 ? atoi(v) : 1;
        else {
            fprintf(stderr, "scale_bench: unknown option '%s' (see --help)\n", a);
            return 2;
        }
        i++;
    }
    if (nd < 1) {
        fprintf(stderr, "scale_bench: --layers needs at least one depth\n");
        return 2;
    }
    if (!dir)
        dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char path[4096];
    snprintf(path, sizeof path, "%s/scale_bench.%ld.clm", dir, (long)getpid());
    if (cly_context_create(selector, &ctx) != CLY_SUCCESS) {
        fprintf(stderr, "scale_bench: %s\n", cly_last_error(NULL));
        return 1;
    }
    printf("device: %s; a chain of %s on %dx%dx%d, batch 1, host-timed (fastest of %d)\n",
           cly_context_device(ctx)->name, use_conv ? "1x1 convolutions" : "ReLUs", INPUT_C, INPUT_HW, INPUT_HW, runs);

    /* Warm up: kernel builds and the program cache are not what is measured. */
    double warm[STAGES];
    run_depth(10, path, warm);

    double t[MAX_DEPTHS][STAGES];
    printf("%8s", "layers");
    for (int s = 0; s < STAGES; s++)
        printf(" %9s", stage_names[s]);
    printf("   (ms; per layer in us below each)\n");
    for (size_t d = 0; d < nd; d++) {
        for (int r = 0; r < runs; r++) { /* the fastest run: a loaded machine only slows some */
            double tr[STAGES];
            run_depth(depths[d], path, tr);
            for (int s = 0; s < STAGES; s++)
                t[d][s] = r == 0 || tr[s] < t[d][s] ? tr[s] : t[d][s];
        }
        printf("%8lld", (long long)depths[d]);
        for (int s = 0; s < STAGES; s++)
            printf(" %9.1f", t[d][s]);
        printf("\n%8s", "us/layer");
        for (int s = 0; s < STAGES; s++)
            printf(" %9.2f", t[d][s] * 1e3 / (double)depths[d]);
        printf("\n");
        fflush(stdout);
    }
    int status = 0;
    if (nd > 1) {
        const size_t hi = nd - 1;
        printf("per-layer cost, %lld layers / %lld layers (1: linear in cache, %.0f: quadratic):\n%8s",
               (long long)depths[hi], (long long)depths[0], (double)depths[hi] / (double)depths[0], "ratio");
        double ratio[STAGES], worst = 0;
        int worst_stage = 0;
        for (int s = 0; s < STAGES; s++) {
            double lo = t[0][s] / (double)depths[0], up = t[hi][s] / (double)depths[hi];
            ratio[s] = lo > 0 ? up / lo : 0.0;
            printf(" %9.2f", ratio[s]);
            if (s != FORWARD && ratio[s] > worst) {
                worst = ratio[s];
                worst_stage = s;
            }
        }
        printf("\nworst host stage (all but forward): %s, ratio %.2f\n", stage_names[worst_stage], worst);
        if (max_ratio > 0 && worst > max_ratio) {
            fprintf(stderr, "scale_bench: the per-layer cost of %s grew %.2fx from %lld to %lld layers, more than "
                            "the bound %.2f: something in it is worse than linear\n",
                    stage_names[worst_stage], worst, (long long)depths[0], (long long)depths[hi], max_ratio);
            status = 1;
        }
    }
    for (size_t d = 0; d < nd && max_seconds > 0; d++)
        for (int s = 0; s < STAGES; s++)
            if (s != FORWARD && t[d][s] > max_seconds * 1e3) {
                fprintf(stderr, "scale_bench: %s took %.3g s at %lld layers, more than the bound of %.3g s\n",
                        stage_names[s], t[d][s] / 1e3, (long long)depths[d], max_seconds);
                status = 1;
            }
    cly_context_destroy(ctx);
    return status;
}
