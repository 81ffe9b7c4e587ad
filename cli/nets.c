/* `clayer summary FILE` and `clayer run FILE`: a net's layer table, and a
 * forward pass on a device (the weights of an ONNX or model file, else
 * seeded ones; seeded inputs) with its time and output checksums. */
#include "cli.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double cli_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

cly_onnx_options cli_onnx;

bool cli_is_onnx(const char *path)
{
    size_t len = strlen(path);
    return len > 5 && strcmp(path + len - 5, ".onnx") == 0;
}

/* A mistyped built-in name: the nearest one. */
static void suggest_builtin(const char *cmd, const char *name)
{
    const char *names[128];
    size_t n = 0;
    while (n < 128 && (names[n] = cly_graph_builtin_name(n)) != NULL)
        n++;
    const char *near = cli_suggest(name, names, n);
    if (near)
        fprintf(stderr, "clayer %s: did you mean '%s'?\n", cmd, near);
}

int cli_load_net(const char *cmd, const char *path, long long batch, cly_graph **g)
{
    FILE *f = fopen(path, "r");
    if (f)
        fclose(f);
    cly_status s;
    if (cli_is_onnx(path)) { /* an ONNX model: its graph (weights unused here) */
        cly_weights *w = NULL;
        s = cly_graph_import_onnx_opts(path, &cli_onnx, g, &w);
        cly_weights_destroy(w);
    } else if (f || strchr(path, '/')) {
        s = cly_graph_load(path, g);
    } else if ((s = cly_graph_builtin(path, g)) != CLY_SUCCESS) {
        int rc = cli_fail(cmd, s, NULL);
        suggest_builtin(cmd, path);
        return rc;
    }
    if (s != CLY_SUCCESS)
        return cli_fail(cmd, s, NULL);
    if ((s = cly_graph_infer(*g, batch)) != CLY_SUCCESS) {
        cly_graph_destroy(*g);
        *g = NULL;
        return cli_fail(cmd, s, NULL);
    }
    return 0;
}

int cli_open_net(const char *cmd, cly_context *ctx, const char *path, const cly_net_options *opt, uint64_t seed,
                 cly_graph **g, cly_net **net, char *weights, size_t weights_size)
{
    cly_status s;
    if (cli_is_onnx(path) || cli_is_model_file(path)) {
        bool onnx = cli_is_onnx(path);
        s = onnx ? cly_onnx_load_opts(ctx, path, &cli_onnx, opt, g, net) : cly_model_load(ctx, path, opt, g, net);
        snprintf(weights, weights_size, "the %s's", onnx ? "ONNX file" : "model file");
        return s == CLY_SUCCESS ? 0 : cli_fail(cmd, s, ctx);
    }
    int rc = cli_load_net(cmd, path, opt->batch, g);
    if (rc)
        return rc;
    if ((s = cly_net_create(ctx, *g, opt, net)) || (s = cly_net_init_params(*net, CLY_INIT_HE, seed)))
        return cli_fail(cmd, s, ctx);
    snprintf(weights, weights_size, "seeded (He initialisation, seed %llu)", (unsigned long long)seed);
    return 0;
}

static const char summary_usage[] =
    "usage: clayer summary FILE|NAME [--batch N] [--compile | --device SEL]\n"
    "  a net's layers, output shapes, parameters and FLOPs\n"
    "  --batch N     the batch size the shapes are inferred at (default 1)\n"
    "  --compile     compile for the default device and add the chosen convolution\n"
    "                algorithms and the memory plan\n"
    "  --device SEL  the same, on that device\n";

static const struct option summary_options[] = {{"batch", required_argument, NULL, 'b'},
                                                {"compile", no_argument, NULL, 'c'},
                                                {"device", required_argument, NULL, 'd'},
                                                CLI_HELP_OPTION,
                                                {0}};
static const cli_command summary_command = {"summary", summary_usage, summary_options, "h"};

int cmd_summary(int argc, char **argv)
{
    const char *path = NULL, *selector = NULL;
    long long batch = 1;
    bool compile = false;
    int o;
    while ((o = cli_getopt(&summary_command, argc, argv)) > 0) {
        if (o == 'b' && !cli_parse_int("summary", "--batch", optarg, 1, 1 << 20, &batch))
            return EXIT_USAGE;
        if (o == 'd')
            selector = optarg;
        compile |= o == 'd' || o == 'c';
    }
    if (o != CLI_OPT_END)
        return cli_opt_exit(o);
    int rc = cli_operands(&summary_command, argc, argv, 1, &path, "the net (FILE or built-in NAME)");
    if (rc)
        return rc;
    cly_graph *g = NULL;
    rc = cli_load_net("summary", path, batch, &g);
    if (rc)
        return rc;
    if (!compile) {
        cly_status s = cly_graph_print_summary(g, stdout);
        cly_graph_destroy(g);
        return s == CLY_SUCCESS ? 0 : cli_fail("summary", s, NULL);
    }
    /* Compiled for a device: the chosen algorithms and the memory plan. */
    cly_context *ctx = NULL;
    cly_net *net = NULL;
    cly_status s = cly_context_create(selector, &ctx);
    if (s == CLY_SUCCESS)
        s = cly_net_create(ctx, g, &(cly_net_options){.batch = batch}, &net);
    if (s == CLY_SUCCESS)
        s = cly_net_print_summary(net, stdout);
    rc = s == CLY_SUCCESS ? 0 : cli_fail("summary", s, ctx);
    cly_net_destroy(net);
    cly_context_destroy(ctx);
    cly_graph_destroy(g);
    return rc;
}

int cli_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

cly_status cli_fill_inputs(cly_net *net, cly_graph *g, uint64_t seed)
{
    for (size_t i = 0; i < cly_graph_layer_count(g); i++) {
        cly_layer_info info;
        cly_status s = cly_graph_layer_info(g, i, &info);
        if (s != CLY_SUCCESS)
            return s;
        if (info.type != CLY_LAYER_INPUT)
            continue;
        float *x = malloc((size_t)info.activations * sizeof *x);
        if (!x)
            return CLY_ERROR_OUT_OF_HOST_MEMORY;
        for (int64_t k = 0; k < info.activations; k++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            x[k] = (float)((double)(seed >> 11) / 9007199254740992.0 * 2.0 - 1.0);
        }
        s = cly_net_set_input(net, info.name, x, info.activations);
        free(x);
        if (s != CLY_SUCCESS)
            return s;
    }
    return CLY_SUCCESS;
}

static cly_status print_outputs(const cly_net *net, cly_graph *g)
{
    size_t n = cly_graph_layer_count(g);
    for (size_t i = 0; i < n; i++) {
        cly_layer_info info;
        cly_status s = cly_graph_layer_info(g, i, &info);
        if (s != CLY_SUCCESS)
            return s;
        if (!info.is_output)
            continue;
        float *y = malloc((size_t)info.activations * sizeof *y);
        if (!y)
            return CLY_ERROR_OUT_OF_HOST_MEMORY;
        s = cly_net_get_output(net, info.name, y, info.activations);
        if (s == CLY_SUCCESS) {
            double sum = 0, abs_sum = 0;
            for (int64_t k = 0; k < info.activations; k++) {
                sum += y[k];
                abs_sum += fabs(y[k]);
            }
            printf("output %s: %lld x %lld x %lld x %lld, sum %.6e, sum |y| %.6e\n", info.name,
                   (long long)info.output.n, (long long)info.output.c, (long long)info.output.h,
                   (long long)info.output.w, sum, abs_sum);
        }
        free(y);
        if (s != CLY_SUCCESS)
            return s;
    }
    return CLY_SUCCESS;
}

static const char run_usage[] =
    "usage: clayer run FILE|NAME|MODEL [--device SEL] [--batch N] [--runs N] [--seed N]\n"
    "  a forward pass on seeded inputs: its time and output checksums; the weights of\n"
    "  a model or ONNX file, else seeded ones\n"
    "  --device SEL  the device (default: $CLAYER_DEVICE, else the library's pick)\n"
    "  --batch N     batch size (default 1)\n"
    "  --runs N      timed passes after the first (default 5)\n"
    "  --seed N      seed of the inputs and seeded weights (default 1)\n";

static const struct option run_options[] = {{"device", required_argument, NULL, 'd'},
                                            {"batch", required_argument, NULL, 'b'},
                                            {"runs", required_argument, NULL, 'r'},
                                            {"seed", required_argument, NULL, 's'},
                                            CLI_HELP_OPTION,
                                            {0}};
static const cli_command run_command = {"run", run_usage, run_options, "h"};

int cmd_run(int argc, char **argv)
{
    const char *path = NULL, *selector = NULL;
    long long batch = 1, runs = 5, seed = 1;
    int o;
    while ((o = cli_getopt(&run_command, argc, argv)) > 0) {
        int ok = 1;
        if (o == 'd')
            selector = optarg;
        else if (o == 'b')
            ok = cli_parse_int("run", "--batch", optarg, 1, 1 << 20, &batch);
        else if (o == 'r')
            ok = cli_parse_int("run", "--runs", optarg, 1, 10000, &runs);
        else if (o == 's')
            ok = cli_parse_int("run", "--seed", optarg, 0, INT64_MAX, &seed);
        if (!ok)
            return EXIT_USAGE;
    }
    if (o != CLI_OPT_END)
        return cli_opt_exit(o);
    if (cli_operands(&run_command, argc, argv, 1, &path, "the net (FILE, built-in NAME or MODEL)"))
        return EXIT_USAGE;
    cly_graph *g = NULL;
    cly_context *ctx = NULL;
    cly_net *net = NULL;
    char weights[64];
    int rc = 0;
    double *times = calloc((size_t)runs, sizeof *times);
    cly_status s = times ? cly_context_create(selector, &ctx) : CLY_ERROR_OUT_OF_HOST_MEMORY;
    if (s != CLY_SUCCESS) {
        rc = cli_fail("run", s, NULL);
        goto done;
    }
    double t0 = cli_now_ms();
    if ((rc = cli_open_net("run", ctx, path, &(cly_net_options){.batch = batch}, (uint64_t)seed, &g, &net, weights,
                           sizeof weights)))
        goto done;
    if ((s = cli_fill_inputs(net, g, (uint64_t)seed)) || (s = cly_net_forward(net)) || (s = cly_context_finish(ctx))) {
        rc = cli_fail("run", s, ctx);
        goto done;
    }
    double first = cli_now_ms() - t0;
    for (long long r = 0; r < runs; r++) {
        double t = cli_now_ms();
        if ((s = cly_net_forward(net)) || (s = cly_context_finish(ctx))) {
            rc = cli_fail("run", s, ctx);
            goto done;
        }
        times[r] = cli_now_ms() - t;
    }
    qsort(times, (size_t)runs, sizeof *times, cli_cmp_double);
    const cly_device_info *d = cly_context_device(ctx);
    printf("net %s, batch %lld, device %u:%u %s\n", path, batch, d->platform_index, d->device_index, d->name);
    printf("weights: %s; inputs: seeded (seed %lld)\n", weights, seed);
    printf("setup + first pass (kernel builds or cache loads, parameters): %.1f ms\n", first);
    printf("forward: median of %lld runs %.3f ms, %.1f images/s\n", runs, times[runs / 2],
           (double)batch * 1e3 / times[runs / 2]);
    if ((s = print_outputs(net, g)) != CLY_SUCCESS)
        rc = cli_fail("run", s, ctx);
done:
    free(times);
    cly_net_destroy(net);
    cly_context_destroy(ctx);
    cly_graph_destroy(g);
    return rc;
}
