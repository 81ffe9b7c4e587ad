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

int cli_parse_int(const char *cmd, const char *flag, const char *text, long long lo, long long hi, long long *out)
{
    char *end;
    long long v = strtoll(text, &end, 10);
    if (*text == '\0' || *end != '\0' || v < lo || v > hi) {
        fprintf(stderr, "clayer %s: %s expects an integer in [%lld, %lld], got '%s'\n", cmd, flag, lo, hi, text);
        return 0;
    }
    *out = v;
    return 1;
}

cly_onnx_options cli_onnx;

bool cli_is_onnx(const char *path)
{
    size_t len = strlen(path);
    return len > 5 && strcmp(path + len - 5, ".onnx") == 0;
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
    } else
        s = f || strchr(path, '/') ? cly_graph_load(path, g) : cly_graph_builtin(path, g);
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
    "  --compile, --device: compile for a device and add the chosen convolution\n"
    "  algorithms and the memory plan\n";

int cmd_summary(int argc, char **argv)
{
    const char *path = NULL, *selector = NULL;
    long long batch = 1;
    bool compile = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc) {
            if (!cli_parse_int("summary", "--batch", argv[++i], 1, 1 << 20, &batch))
                return EXIT_USAGE;
        } else if (strcmp(argv[i], "--device") == 0 && i + 1 < argc) {
            selector = argv[++i];
            compile = true;
        } else if (strcmp(argv[i], "--compile") == 0) {
            compile = true;
        } else if (!path && argv[i][0] != '-') {
            path = argv[i];
        } else {
            fprintf(stderr, "clayer summary: unexpected argument '%s'\n%s", argv[i], summary_usage);
            return EXIT_USAGE;
        }
    }
    if (!path) {
        fprintf(stderr, "%s", summary_usage);
        return EXIT_USAGE;
    }
    cly_graph *g = NULL;
    int rc = cli_load_net("summary", path, batch, &g);
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

int cmd_run(int argc, char **argv)
{
    const char *path = NULL, *selector = NULL;
    long long batch = 1, runs = 5, seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int ok = 1;
        if (strcmp(a, "--device") == 0 && i + 1 < argc)
            selector = argv[++i];
        else if (strcmp(a, "--batch") == 0 && i + 1 < argc)
            ok = cli_parse_int("run", a, argv[++i], 1, 1 << 20, &batch);
        else if (strcmp(a, "--runs") == 0 && i + 1 < argc)
            ok = cli_parse_int("run", a, argv[++i], 1, 10000, &runs);
        else if (strcmp(a, "--seed") == 0 && i + 1 < argc)
            ok = cli_parse_int("run", a, argv[++i], 0, INT64_MAX, &seed);
        else if (!path && a[0] != '-')
            path = a;
        else
            ok = 0;
        if (!ok) {
            fprintf(stderr, "usage: clayer run FILE [--device SEL] [--batch N] [--runs N] [--seed N]\n");
            return EXIT_USAGE;
        }
    }
    if (!path) {
        fprintf(stderr, "usage: clayer run FILE [--device SEL] [--batch N] [--runs N] [--seed N]\n");
        return EXIT_USAGE;
    }
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
