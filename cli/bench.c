/* `clayer bench NAME|FILE`: warm-up runs (kernel builds and cache loads
 * timed apart), then timed runs of inference or a training step with a
 * per-layer table from the library's profiling markers, optionally as JSON
 * (docs/bench-format.md). */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char bench_usage[] =
    "usage: clayer bench NAME|FILE|MODEL [--device SEL] [--batch N] [--mode infer|train] [--runs N]\n"
    "                    [--warmup N] [--json FILE] [--compare-builtin]\n"
    "  time a net: warm-up runs (kernel builds and cache loads timed apart), then a\n"
    "  per-layer table of device times, algorithms and GFLOP/s\n"
    "  --device SEL       the device (default: $CLAYER_DEVICE, else the library's pick)\n"
    "  --batch N          batch size (default 1)\n"
    "  --mode MODE        infer (default) or train (forward, loss, backward, update)\n"
    "  --runs N           timed runs (default 10)\n"
    "  --warmup N         untimed runs first (default 2)\n"
    "  --json FILE        the results as JSON (docs/bench-format.md); - for stdout alone\n"
    "  --compare-builtin  also time the built-in configuration table, tuning file ignored\n";

static const struct option bench_options[] = {{"device", required_argument, NULL, 'd'},
                                              {"batch", required_argument, NULL, 'b'},
                                              {"mode", required_argument, NULL, 'm'},
                                              {"runs", required_argument, NULL, 'r'},
                                              {"warmup", required_argument, NULL, 'w'},
                                              {"json", required_argument, NULL, 'j'},
                                              {"compare-builtin", no_argument, NULL, 'c'},
                                              CLI_HELP_OPTION,
                                              {0}};
static const cli_command bench_command = {"bench", bench_usage, bench_options, "h"};

typedef struct layer_row {
    cly_layer_info info;
    const char *algo;    /* NULL: no algorithm choice */
    const char *tuned;   /* the tuned configuration it runs ("direct 16x6x2 wg8 (tuned)"), else NULL */
    double flops;        /* per batch: forward, or forward + backward estimate in training */
    double *fwd, *bwd;   /* per run */
    double median_ms, forward_ms, backward_ms;
} layer_row;

typedef struct bench {
    const char *net_name;
    char weights[64];    /* whose: the ONNX or model file's, or seeded */
    bool train;
    long long batch, runs, warmup;
    const cly_device_info *dev;
    cly_context_stats stats;   /* during setup and warm-up */
    double setup_ms, first_ms, warm_ms;
    size_t n;
    layer_row *rows;
    double *wall, *device, *other; /* per run: host ms per batch, device ms of the pass, loss + update */
    double wall_ms, wall_min, wall_max, device_ms, other_ms, layers_ms, flops;
    cly_net_memory mem;
} bench;

static double median_of(const double *v, long long n)
{
    double *copy = malloc((size_t)n * sizeof *copy);
    if (!copy)
        return v[0];
    memcpy(copy, v, (size_t)n * sizeof *copy);
    qsort(copy, (size_t)n, sizeof *copy, cli_cmp_double);
    double m = n % 2 ? copy[n / 2] : 0.5 * (copy[n / 2 - 1] + copy[n / 2]);
    free(copy);
    return m;
}

static void progress(bool tty, const char *phase, long long done, long long total)
{
    if (tty) {
        int width = 20, filled = (int)(width * done / (total ? total : 1));
        fprintf(stderr, "\r%-8s [%.*s%*s] %lld/%lld ", phase, filled, "====================", width - filled, "",
                done, total);
        if (done == total && strcmp(phase, "timed") == 0)
            fprintf(stderr, "\r%*s\r", 50, "");
    } else if (done == total) {
        fprintf(stderr, "clayer bench: %s: %lld runs done\n", phase, total);
    }
    fflush(stderr);
}

/* One batch: a forward pass, or a training step; waits for the device. */
static cly_status step(cly_context *ctx, cly_net *net, bool train, const int32_t *labels, long long batch)
{
    cly_status s = train ? cly_net_train_batch(net, labels, batch, NULL) : cly_net_forward(net);
    return s == CLY_SUCCESS ? cly_context_finish(ctx) : s;
}

/* The class count for synthetic labels: the channels of the graph's output. */
static int64_t classes_of(cly_graph *g)
{
    int64_t classes = 0;
    for (size_t i = 0; i < cly_graph_layer_count(g); i++) {
        cly_layer_info info;
        if (cly_graph_layer_info(g, i, &info) == CLY_SUCCESS && info.is_output)
            classes = info.output.c;
    }
    return classes;
}

static cly_status measure(cly_context *ctx, cly_net *net, bench *b, const int32_t *labels)
{
    bool tty = isatty(fileno(stderr));
    cly_context_stats before, after;
    cly_status s = cly_context_stats_get(ctx, &before);
    /* Warm-up: the first run builds or loads every kernel program. */
    for (long long r = 0; r < b->warmup && s == CLY_SUCCESS; r++) {
        double t = cli_now_ms();
        if ((s = step(ctx, net, b->train, labels, b->batch)) != CLY_SUCCESS)
            break;
        t = cli_now_ms() - t;
        if (r == 0)
            b->first_ms = t;
        else
            b->warm_ms = r == 1 || t < b->warm_ms ? t : b->warm_ms;
        progress(tty, "warm-up", r + 1, b->warmup);
    }
    if (s == CLY_SUCCESS && (s = cly_context_stats_get(ctx, &after)) == CLY_SUCCESS) {
        b->stats.programs_built += after.programs_built - before.programs_built;
        b->stats.programs_from_cache += after.programs_from_cache - before.programs_from_cache;
        b->stats.cache_writes += after.cache_writes - before.cache_writes;
        b->stats.cache_rejects += after.cache_rejects - before.cache_rejects;
    }
    if (s == CLY_SUCCESS)
        s = cly_net_set_profiling(net, true);
    for (long long r = 0; r < b->runs && s == CLY_SUCCESS; r++) {
        double t = cli_now_ms();
        if ((s = step(ctx, net, b->train, labels, b->batch)) != CLY_SUCCESS)
            break;
        b->wall[r] = cli_now_ms() - t;
        cly_pass_timing pass;
        if ((s = cly_net_pass_timing(net, &pass)) != CLY_SUCCESS)
            break;
        b->device[r] = pass.total_ms;
        b->other[r] = pass.loss_ms + pass.update_ms;
        for (size_t i = 0; i < b->n && s == CLY_SUCCESS; i++) {
            cly_layer_timing lt;
            if ((s = cly_net_layer_timing(net, i, &lt)) == CLY_SUCCESS) {
                b->rows[i].fwd[r] = lt.forward_ms;
                b->rows[i].bwd[r] = lt.backward_ms;
            }
        }
        progress(tty, "timed", r + 1, b->runs);
    }
    if (s != CLY_SUCCESS)
        return s;
    b->wall_ms = median_of(b->wall, b->runs);
    b->wall_min = b->wall_max = b->wall[0];
    for (long long r = 1; r < b->runs; r++) {
        b->wall_min = b->wall[r] < b->wall_min ? b->wall[r] : b->wall_min;
        b->wall_max = b->wall[r] > b->wall_max ? b->wall[r] : b->wall_max;
    }
    b->device_ms = median_of(b->device, b->runs);
    b->other_ms = b->train ? median_of(b->other, b->runs) : 0;
    if (b->warmup < 2)
        b->warm_ms = b->wall_ms; /* no second warm-up run: the timed runs stand in */
    b->layers_ms = b->other_ms;
    double *sum = malloc((size_t)b->runs * sizeof *sum);
    if (!sum)
        return CLY_ERROR_OUT_OF_HOST_MEMORY;
    for (size_t i = 0; i < b->n; i++) {
        layer_row *L = &b->rows[i];
        for (long long r = 0; r < b->runs; r++)
            sum[r] = L->fwd[r] + L->bwd[r];
        L->median_ms = median_of(sum, b->runs);
        L->forward_ms = median_of(L->fwd, b->runs);
        L->backward_ms = median_of(L->bwd, b->runs);
        b->layers_ms += L->median_ms;
    }
    free(sum);
    return cly_net_memory_get(net, &b->mem);
}

/* --compare-builtin: the same net on a second context that ignores the
 * tuning file, timed in turns with the first (device time of whole passes,
 * medians), so that the ratio of tuned to built-in comes from one run. */
static int compare_builtin(cly_context *ctx, cly_net *net, const char *path, const char *selector, const bench *b,
                           const int32_t *labels)
{
    cly_context *ctx2 = NULL;
    cly_graph *g2 = NULL;
    cly_net *net2 = NULL;
    char weights[64];
    int rc = 0;
    const cly_net_options opt = {.batch = b->batch, .mode = b->train ? CLY_MODE_TRAINING : CLY_MODE_INFERENCE};
    const cly_train_params tp = {.optimizer = CLY_OPTIMIZER_SGD, .learning_rate = 1e-6, .momentum = 0.9};
    double *t[2] = {calloc((size_t)b->runs, sizeof(double)), calloc((size_t)b->runs, sizeof(double))};
    cly_status s = cly_context_create_ex(&(cly_context_options){.selector = selector, .no_tuning_file = true}, &ctx2);
    if (s != CLY_SUCCESS || !t[0] || !t[1]) {
        rc = cli_fail("bench", s != CLY_SUCCESS ? s : CLY_ERROR_OUT_OF_HOST_MEMORY, NULL);
        goto done;
    }
    if ((rc = cli_open_net("bench", ctx2, path, &opt, 1, &g2, &net2, weights, sizeof weights)))
        goto done;
    if ((b->train && (s = cly_net_set_training(net2, &tp))) || (s = cli_fill_inputs(net2, g2, 1)) ||
        (s = cly_net_set_profiling(net2, true))) {
        rc = cli_fail("bench", s, ctx2);
        goto done;
    }
    cly_context *c[2] = {ctx, ctx2};
    cly_net *n[2] = {net, net2};
    for (long long r = -b->warmup; r < b->runs && s == CLY_SUCCESS; r++)
        for (int i = 0; i < 2 && s == CLY_SUCCESS; i++) {
            cly_pass_timing pass;
            if ((s = step(c[i], n[i], b->train, labels, b->batch)) == CLY_SUCCESS &&
                (s = cly_net_pass_timing(n[i], &pass)) == CLY_SUCCESS && r >= 0)
                t[i][r] = pass.total_ms;
        }
    if (s != CLY_SUCCESS) {
        rc = cli_fail("bench", s, ctx2);
        goto done;
    }
    const double tuned = median_of(t[0], b->runs), builtin = median_of(t[1], b->runs);
    printf("built-in table (tuning file ignored), in turns with the above: device time %.3f ms per batch, tuned %.3f "
           "ms: tuned/built-in time %.3f, speed-up %.2fx\n",
           builtin, tuned, tuned / builtin, builtin / tuned);
done:
    free(t[0]);
    free(t[1]);
    cly_net_destroy(net2);
    cly_context_destroy(ctx2);
    cly_graph_destroy(g2);
    return rc;
}

static int64_t peak_bytes(const cly_net_memory *m)
{
    return m->arena_bytes + m->workspace_bytes + m->param_bytes + m->training_bytes;
}

static double gflops(double flops, double ms)
{
    return flops > 0 && ms > 0 ? flops / (ms * 1e6) : 0;
}

/* The algo column: 8 wide, wider for a tuned layer's configuration. */
static int algo_width(const bench *b)
{
    size_t w = 8;
    for (size_t i = 0; i < b->n; i++)
        if (b->rows[i].tuned && strlen(b->rows[i].tuned) > w)
            w = strlen(b->rows[i].tuned);
    return (int)w;
}

static void print_table(const bench *b)
{
    const cly_device_info *d = b->dev;
    printf("net %s, batch %lld, %s, device %u:%u %s (%s, driver %s)\n", b->net_name, b->batch,
           b->train ? "training step (forward, loss, backward, update)" : "inference", d->platform_index,
           d->device_index, d->name, d->platform_name, d->driver_version);
    cli_host h;
    cli_host_cpu(&h);
    printf("host CPU: %s (%s), load average %.2f\n", h.cpu_model, h.isa, h.load[0]);
    printf("weights: %s\n", b->weights);
    printf("warm-up: first run %.1f ms, warm run %.1f ms: kernel builds and cache loads ~%.1f ms "
           "(programs built %llu, from cache %llu, cache writes %llu); setup %.1f ms\n",
           b->first_ms, b->warm_ms, b->first_ms > b->warm_ms ? b->first_ms - b->warm_ms : 0.0,
           (unsigned long long)b->stats.programs_built, (unsigned long long)b->stats.programs_from_cache,
           (unsigned long long)b->stats.cache_writes, b->setup_ms);
    printf("\n%-20s %-9s %-*s %10s", "layer", "type", algo_width(b), "algo", "ms");
    if (b->train)
        printf(" %10s %10s", "fwd ms", "bwd ms");
    printf(" %9s %7s\n", "GFLOP/s", "share");
    double total = b->layers_ms > 0 ? b->layers_ms : 1;
    for (size_t i = 0; i < b->n; i++) {
        const layer_row *L = &b->rows[i];
        printf("%-20s %-9s %-*s %10.3f", L->info.name, cly_layer_type_string(L->info.type), algo_width(b),
               L->tuned ? L->tuned : L->algo ? L->algo : "-", L->median_ms);
        if (b->train)
            printf(" %10.3f %10.3f", L->forward_ms, L->backward_ms);
        double g = gflops(L->flops, L->median_ms);
        if (g > 0)
            printf(" %9.2f", g);
        else
            printf(" %9s", "-");
        printf(" %6.1f%%\n", 100.0 * L->median_ms / total);
    }
    if (b->train)
        printf("%-20s %-9s %-*s %10.3f %10s %10s %9s %6.1f%%\n", "(loss, update)", "-", algo_width(b), "-", b->other_ms,
               "", "", "-",
               100.0 * b->other_ms / total);
    printf("\nmedian of %lld runs: %.3f ms per batch (min %.3f, max %.3f), %.1f images/s, %.2f GFLOP/s\n", b->runs,
           b->wall_ms, b->wall_min, b->wall_max, (double)b->batch * 1e3 / b->wall_ms, gflops(b->flops, b->wall_ms));
    printf("device time %.3f ms per batch (layers%s summed: %.3f ms)\n", b->device_ms,
           b->train ? ", loss and update" : "", b->layers_ms);
    printf("peak device memory %.2f MiB (arena %.2f, workspace %.2f, parameters %.2f, training %.2f)\n",
           (double)peak_bytes(&b->mem) / 1048576.0, (double)b->mem.arena_bytes / 1048576.0,
           (double)b->mem.workspace_bytes / 1048576.0, (double)b->mem.param_bytes / 1048576.0,
           (double)b->mem.training_bytes / 1048576.0);
}

/* Whether `path` can be written, checked before the run: opened for
 * appending, so an existing file keeps its contents until the results
 * replace it; *created says whether this made it. Says why not. */
static bool check_output(const char *path, bool *created)
{
    *created = access(path, F_OK) != 0;
    FILE *f = fopen(path, "a");
    if (!f) {
        fprintf(stderr, "clayer bench: cannot write '%s': %s\n", path, strerror(errno));
        return false;
    }
    fclose(f);
    return true;
}

static int write_json(const bench *b, const char *path)
{
    FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
    if (!f) {
        fprintf(stderr, "clayer bench: cannot write '%s': %s\n", path, strerror(errno));
        return EXIT_RUNTIME;
    }
    char created[32];
    json_created(created, sizeof created);
    fprintf(f, "{\n  \"schema\": \"clayer-bench\",\n  \"schema_version\": 1,\n  ");
    json_key_str(f, "library_version", cly_version(), ",\n  ");
    json_key_str(f, "created", created, ",\n  \"device\": ");
    json_device(f, b->dev);
    fputs(",\n  \"host\": ", f);
    json_host(f);
    fputs(",\n  ", f);
    json_key_str(f, "net", b->net_name, ",\n  ");
    fprintf(f, "\"batch\": %lld,\n  \"mode\": \"%s\",\n  \"runs\": %lld,\n  \"warmup_runs\": %lld,\n", b->batch,
            b->train ? "train" : "infer", b->runs, b->warmup);
    fprintf(f, "  \"warmup\": {\"setup_ms\": ");
    json_num(f, b->setup_ms);
    json_field(f, ", \"first_run_ms\": ", b->first_ms);
    json_field(f, ", \"warm_run_ms\": ", b->warm_ms);
    json_field(f, ", \"compile_ms\": ", b->first_ms > b->warm_ms ? b->first_ms - b->warm_ms : 0);
    fprintf(f, ",\n             \"programs_built\": %llu, \"programs_from_cache\": %llu, \"cache_writes\": %llu, "
               "\"cache_rejects\": %llu},\n  \"layers\": [",
            (unsigned long long)b->stats.programs_built, (unsigned long long)b->stats.programs_from_cache,
            (unsigned long long)b->stats.cache_writes, (unsigned long long)b->stats.cache_rejects);
    double total = b->layers_ms > 0 ? b->layers_ms : 1;
    for (size_t i = 0; i < b->n; i++) {
        const layer_row *L = &b->rows[i];
        fputs(i ? ",\n    {" : "\n    {", f);
        json_key_str(f, "name", L->info.name, ", ");
        json_key_str(f, "type", cly_layer_type_string(L->info.type), ", \"algo\": ");
        if (L->algo)
            json_string(f, L->algo);
        else
            fputs("null", f);
        fputs(", \"tuned\": ", f);
        if (L->tuned)
            json_string(f, L->tuned);
        else
            fputs("null", f);
        fprintf(f, ", \"flops\": %.0f, \"median_ms\": ", L->flops);
        json_num(f, L->median_ms);
        json_field(f, ", \"forward_ms\": ", L->forward_ms);
        json_field(f, ", \"backward_ms\": ", L->backward_ms);
        double g = gflops(L->flops, L->median_ms);
        json_field(f, ", \"gflops\": ", g > 0 ? g : NAN); /* null without a FLOP count */
        json_field(f, ", \"share\": ", L->median_ms / total);
        fputc('}', f);
    }
    json_field(f, "\n  ],\n  \"totals\": {\"median_ms\": ", b->wall_ms);
    json_field(f, ", \"min_ms\": ", b->wall_min);
    json_field(f, ", \"max_ms\": ", b->wall_max);
    json_field(f, ", \"images_per_s\": ", (double)b->batch * 1e3 / b->wall_ms);
    json_field(f, ",\n             \"device_ms\": ", b->device_ms);
    json_field(f, ", \"layers_ms\": ", b->layers_ms);
    json_field(f, ", \"other_ms\": ", b->other_ms);
    fprintf(f, ", \"flops\": %.0f, \"gflops\": ", b->flops);
    json_num(f, gflops(b->flops, b->wall_ms));
    fprintf(f,
            ",\n             \"peak_memory_bytes\": %lld, \"arena_bytes\": %lld, \"workspace_bytes\": %lld, "
            "\"param_bytes\": %lld, \"training_bytes\": %lld}\n}\n",
            (long long)peak_bytes(&b->mem), (long long)b->mem.arena_bytes, (long long)b->mem.workspace_bytes,
            (long long)b->mem.param_bytes, (long long)b->mem.training_bytes);
    int bad = ferror(f);
    if (f != stdout)
        bad |= fclose(f);
    if (bad) {
        fprintf(stderr, "clayer bench: writing '%s' failed\n", path);
        return EXIT_RUNTIME;
    }
    return 0;
}

/* Per-layer buffers and what the graph says about each layer. */
static cly_status rows_create(bench *b, cly_graph *g, cly_net *net)
{
    b->n = cly_graph_layer_count(g);
    b->rows = calloc(b->n ? b->n : 1, sizeof *b->rows);
    b->wall = calloc((size_t)b->runs, sizeof *b->wall);
    b->device = calloc((size_t)b->runs, sizeof *b->device);
    b->other = calloc((size_t)b->runs, sizeof *b->other);
    if (!b->rows || !b->wall || !b->device || !b->other)
        return CLY_ERROR_OUT_OF_HOST_MEMORY;
    for (size_t i = 0; i < b->n; i++) {
        layer_row *L = &b->rows[i];
        cly_status s = cly_graph_layer_info(g, i, &L->info);
        if (s != CLY_SUCCESS)
            return s;
        if (L->info.type == CLY_LAYER_CONV) {
            L->algo = cly_conv_algo_string(cly_net_layer_algo(net, L->info.name));
            const char *text = cly_net_layer_algo_text(net, L->info.name);
            L->tuned = strcmp(text, L->algo) != 0 ? text : NULL;
        }
        /* Training: the backward pass of a layer costs about twice its
         * forward (data and weight gradients). An estimate, see the docs. */
        L->flops = (double)L->info.flops * (b->train ? 3.0 : 1.0);
        b->flops += L->flops;
        L->fwd = calloc((size_t)b->runs, sizeof *L->fwd);
        L->bwd = calloc((size_t)b->runs, sizeof *L->bwd);
        if (!L->fwd || !L->bwd)
            return CLY_ERROR_OUT_OF_HOST_MEMORY;
    }
    return CLY_SUCCESS;
}

static void rows_free(bench *b)
{
    for (size_t i = 0; b->rows && i < b->n; i++) {
        free(b->rows[i].fwd);
        free(b->rows[i].bwd);
    }
    free(b->rows);
    free(b->wall);
    free(b->device);
    free(b->other);
}

int cmd_bench(int argc, char **argv)
{
    const char *path = NULL, *selector = NULL, *json = NULL;
    bool builtin = false;
    bench b = {.batch = 1, .runs = 10, .warmup = 2};
    int o;
    while ((o = cli_getopt(&bench_command, argc, argv)) > 0) {
        int ok = 1;
        if (o == 'd')
            selector = optarg;
        else if (o == 'b')
            ok = cli_parse_int("bench", "--batch", optarg, 1, 1 << 20, &b.batch);
        else if (o == 'r')
            ok = cli_parse_int("bench", "--runs", optarg, 1, 100000, &b.runs);
        else if (o == 'w')
            ok = cli_parse_int("bench", "--warmup", optarg, 1, 1000, &b.warmup);
        else if (o == 'j')
            json = optarg;
        else if (o == 'c')
            builtin = true;
        else if (o == 'm' && strcmp(optarg, "infer") != 0 && strcmp(optarg, "train") != 0)
            return cli_usage_error(&bench_command, "--mode expects infer or train, got '%s'", optarg);
        else if (o == 'm')
            b.train = strcmp(optarg, "train") == 0;
        if (!ok)
            return EXIT_USAGE;
    }
    if (o != CLI_OPT_END)
        return cli_opt_exit(o);
    if (cli_operands(&bench_command, argc, argv, 1, &path, "the net (FILE, built-in NAME or MODEL)"))
        return EXIT_USAGE;
    /* The output path is tried before the minutes of benchmarking, not
     * after: a bad one fails at once. */
    bool json_created = false;
    if (json && strcmp(json, "-") != 0 && !check_output(json, &json_created))
        return EXIT_RUNTIME;
    b.net_name = path;
    cly_graph *g = NULL;
    cly_context *ctx = NULL;
    cly_net *net = NULL;
    int32_t *labels = NULL;
    int rc = 0;
    cly_status s = cly_context_create(selector, &ctx);
    if (s != CLY_SUCCESS) {
        rc = cli_fail("bench", s, NULL);
        goto done;
    }
    b.dev = cly_context_device(ctx);
    cly_context_stats before, after;
    double t = cli_now_ms();
    const cly_net_options opt = {.batch = b.batch, .mode = b.train ? CLY_MODE_TRAINING : CLY_MODE_INFERENCE};
    if ((s = cly_context_stats_get(ctx, &before))) {
        rc = cli_fail("bench", s, ctx);
        goto done;
    }
    /* The weights of an ONNX or model file, else seeded ones. */
    if ((rc = cli_open_net("bench", ctx, path, &opt, 1, &g, &net, b.weights, sizeof b.weights)))
        goto done;
    int64_t classes = classes_of(g);
    labels = malloc((size_t)b.batch * sizeof *labels);
    if (!labels) {
        rc = cli_fail("bench", CLY_ERROR_OUT_OF_HOST_MEMORY, ctx);
        goto done;
    }
    for (long long i = 0; i < b.batch; i++) /* synthetic labels: every class in turn */
        labels[i] = (int32_t)(classes > 0 ? i % classes : 0);
    /* A tiny learning rate: the weights barely move, so every timed step
     * does the same work on the same kind of numbers. */
    const cly_train_params tp = {.optimizer = CLY_OPTIMIZER_SGD, .learning_rate = 1e-6, .momentum = 0.9};
    if ((b.train && (s = cly_net_set_training(net, &tp))) || (s = cli_fill_inputs(net, g, 1)) ||
        (s = cly_context_finish(ctx)) || (s = cly_context_stats_get(ctx, &after))) {
        rc = cli_fail("bench", s, ctx);
        goto done;
    }
    b.setup_ms = cli_now_ms() - t;
    b.stats = (cly_context_stats){
        .programs_built = after.programs_built - before.programs_built,
        .programs_from_cache = after.programs_from_cache - before.programs_from_cache,
        .cache_writes = after.cache_writes - before.cache_writes,
        .cache_rejects = after.cache_rejects - before.cache_rejects,
    };
    if ((s = rows_create(&b, g, net)) || (s = measure(ctx, net, &b, labels))) {
        rc = cli_fail("bench", s, ctx);
        goto done;
    }
    if (!json || strcmp(json, "-") != 0) /* --json -: the JSON alone on stdout */
        print_table(&b);
    if (json)
        rc = write_json(&b, json);
    if (!rc && builtin)
        rc = compare_builtin(ctx, net, path, selector, &b, labels);
done:
    if (rc && json_created) /* a failed run leaves no empty file behind */
        remove(json);
    rows_free(&b);
    free(labels);
    cly_net_destroy(net);
    cly_context_destroy(ctx);
    cly_graph_destroy(g);
    return rc;
}
