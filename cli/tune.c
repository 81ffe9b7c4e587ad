/* `clayer tune NET... | --set NAME`: the distinct convolution shapes of the
 * nets (or of conv_bench's layer set), each tuned on the device within a
 * share of the budget (cly_tune_conv), the winners saved to the device's
 * tuning file (docs/tuning.md). */
#include "cli.h"
#include "conv_desc.h"
#include "conv_shapes.h"

#include <stdlib.h>
#include <string.h>

static const char tune_usage[] =
    "usage: clayer tune NET... | --set default|NAME [--device SEL] [--budget SECONDS] [--batch N] [--runs N]\n"
    "                  [--allow-inexact]\n"
    "  NET: a net file, a built-in net's name or an ONNX file; --set: conv_bench's layer set\n"
    "  --budget: seconds for everything (default 30 per shape), shared out among the shapes\n"
    "  --allow-inexact: also try algorithms that round differently (winograd)\n"
    "  --batch N: the batch size tuned for (default 1; a set's own)   --runs N: timed runs per\n"
    "  configuration   --device SEL: the device\n";

static const struct option tune_options[] = {{"device", required_argument, NULL, 'd'},
                                             {"batch", required_argument, NULL, 'b'},
                                             {"runs", required_argument, NULL, 'r'},
                                             {"budget", required_argument, NULL, 'B'},
                                             {"set", required_argument, NULL, 's'},
                                             {"allow-inexact", no_argument, NULL, 'i'},
                                             CLI_HELP_OPTION,
                                             {0}};
static const cli_command tune_command = {"tune", tune_usage, tune_options, "h"};

typedef struct job {
    char name[160];
    cly_shape in;
    cly_conv_params p;
} job;

typedef struct jobs {
    job *v;
    size_t count, capacity;
} jobs;

/* Whether two convolutions do the same work: the fields that enter the
 * tuning key (bias, ReLU and the requested algorithm do not). */
static bool same_work(const job *a, const job *b)
{
    const cly_conv_params *p = &a->p, *q = &b->p;
    return !memcmp(&a->in, &b->in, sizeof a->in) && p->filters == q->filters && !memcmp(&p->size, &q->size, sizeof p->size) &&
           !memcmp(&p->stride, &q->stride, sizeof p->stride) && !memcmp(&p->pad, &q->pad, sizeof p->pad) &&
           !memcmp(&p->dilation, &q->dilation, sizeof p->dilation) && p->groups == q->groups &&
           p->rounding == q->rounding;
}

static bool add_job(jobs *j, const job *n)
{
    for (size_t i = 0; i < j->count; i++)
        if (same_work(&j->v[i], n))
            return true;
    if (j->count == j->capacity) {
        size_t cap = j->capacity ? 2 * j->capacity : 32;
        job *v = realloc(j->v, cap * sizeof *v);
        if (!v)
            return false;
        j->v = v;
        j->capacity = cap;
    }
    j->v[j->count++] = *n;
    return true;
}

static int add_net(jobs *j, const char *path, long long batch)
{
    cly_graph *g = NULL;
    int rc = cli_load_net("tune", path, batch, &g);
    if (rc)
        return rc;
    for (size_t i = 0; i < cly_graph_layer_count(g) && !rc; i++) {
        cly_layer_info info;
        job n = {.name = ""};
        if (cly_graph_layer_info(g, i, &info) != CLY_SUCCESS || info.type != CLY_LAYER_CONV ||
            cly_graph_layer_conv(g, i, &n.in, &n.p) != CLY_SUCCESS)
            continue;
        snprintf(n.name, sizeof n.name, "%s:%s", path, info.name);
        if (!add_job(j, &n))
            rc = cli_fail("tune", CLY_ERROR_OUT_OF_HOST_MEMORY, NULL);
    }
    cly_graph_destroy(g);
    return rc;
}

static int add_set(jobs *j, const char *set, long long batch)
{
    for (size_t i = 0; i < conv_shape_count; i++) {
        if (!conv_set_has(set, &conv_shapes[i]))
            continue;
        conv_desc d;
        char err[256];
        if (conv_desc_parse(conv_shapes[i].text, &d, err, sizeof err) != 1) {
            fprintf(stderr, "clayer tune: %s: %s\n", conv_shapes[i].text, err);
            return EXIT_RUNTIME;
        }
        job n = {.in = {batch > 0 ? batch : d.mb, d.ic, d.ih, d.iw}, .p = conv_desc_params(&d)};
        snprintf(n.name, sizeof n.name, "%s", d.name);
        if (!add_job(j, &n))
            return cli_fail("tune", CLY_ERROR_OUT_OF_HOST_MEMORY, NULL);
    }
    return 0;
}

int cmd_tune(int argc, char **argv)
{
    const char *selector = NULL;
    long long batch = 0, runs = 0;
    double budget = 0;
    bool inexact = false;
    jobs j = {0};
    int rc = 0;
    const char **nets = calloc((size_t)argc, sizeof *nets);
    const char *set = NULL;
    size_t nnets = 0;
    int o;
    while (!rc && (o = cli_getopt(&tune_command, argc, argv)) > 0) {
        long long v;
        if (o == 'd')
            selector = optarg;
        else if (o == 'b')
            rc = cli_parse_int("tune", "--batch", optarg, 1, 1 << 16, &batch) ? 0 : EXIT_USAGE;
        else if (o == 'r')
            rc = cli_parse_int("tune", "--runs", optarg, 1, 101, &runs) ? 0 : EXIT_USAGE;
        else if (o == 'i')
            inexact = true;
        else if (o == 'B') {
            rc = cli_parse_int("tune", "--budget", optarg, 1, 1000000, &v) ? 0 : EXIT_USAGE;
            budget = (double)v;
        } else if (o == 's') {
            set = optarg;
            if (!conv_set_known(set))
                rc = cli_usage_error(&tune_command,
                                     "--set %s: not a layer set of conv_bench (default, all, alexnet, vgg16, "
                                     "googlenet, resnet50, convnet-benchmarks, dilated)",
                                     set);
        }
    }
    if (!rc && o != CLI_OPT_END)
        rc = cli_opt_exit(o) == 0 ? -1 : EXIT_USAGE;
    for (int i = optind; !rc && nets && i < argc; i++)
        nets[nnets++] = argv[i];
    if (!rc && !nets)
        rc = cli_fail("tune", CLY_ERROR_OUT_OF_HOST_MEMORY, NULL);
    if (!rc && !nnets && !set)
        rc = cli_usage_error(&tune_command, "no NET or --set given");
    if (rc) {
        free(nets);
        return rc < 0 ? 0 : rc;
    }
    for (size_t i = 0; i < nnets && !rc; i++)
        rc = add_net(&j, nets[i], batch > 0 ? batch : 1);
    if (!rc && set)
        rc = add_set(&j, set, batch);
    free(nets);
    cly_context *ctx = NULL;
    cly_status s = rc ? CLY_SUCCESS : cly_context_create(selector, &ctx);
    if (!rc && s != CLY_SUCCESS)
        rc = cli_fail("tune", s, NULL);
    if (!rc && !cly_context_tuning_path(ctx)[0]) {
        fprintf(stderr, "clayer tune: no tuning file: the binary cache is off ($CLAYER_CACHE) or $CLAYER_TUNING is "
                        "off\n");
        rc = EXIT_RUNTIME;
    }
    if (!rc && (getenv("CLAYER_CONV_ALGO") || getenv("CLAYER_CONV_TILE")))
        fprintf(stderr, "clayer tune: note: $CLAYER_CONV_ALGO / $CLAYER_CONV_TILE change the default it compares "
                        "against\n");
    if (rc) {
        cly_context_destroy(ctx);
        free(j.v);
        return rc;
    }
    const cly_device_info *d = cly_context_device(ctx);
    if (budget <= 0)
        budget = 30.0 * (double)j.count;
    printf("tuning %zu convolution shapes on device %u:%u %s (%s, driver %s), budget %.0f s\n", j.count,
           d->platform_index, d->device_index, d->name, d->platform_name, d->driver_version, budget);
    printf("%-36s %-24s %9s %-24s %9s %7s %5s\n", "layer", "default", "ms", "tuned", "ms", "ratio", "tried");
    const double t0 = cli_now_ms();
    double total_default = 0, total_tuned = 0;
    for (size_t i = 0; i < j.count; i++) {
        const double left = budget - (cli_now_ms() - t0) / 1e3;
        const cly_tune_options o = {.budget_s = left / (double)(j.count - i) > 0.5 ? left / (double)(j.count - i) : 0.5,
                                    .runs = (int)runs, .allow_inexact = inexact};
        cly_tune_result r;
        if ((s = cly_tune_conv(ctx, j.v[i].in, &j.v[i].p, &o, &r)) != CLY_SUCCESS) {
            fprintf(stderr, "clayer tune: %s: %s: %s (skipped)\n", j.v[i].name, cly_status_string(s),
                    cly_last_error(ctx));
            continue;
        }
        if (r.already)
            continue; /* the same work as a shape above (another bias or ReLU) */
        total_default += r.default_ms;
        total_tuned += r.ms;
        printf("%-36s %-24s %9.3f %-24s %9.3f %6.2fx %5d\n", j.v[i].name, r.default_config, r.default_ms, r.config,
               r.ms, r.ms > 0 ? r.default_ms / r.ms : 0.0, r.candidates);
        fflush(stdout);
    }
    printf("\nsum of shapes: default %.3f ms, tuned %.3f ms (%.2fx), %.1f s\n", total_default, total_tuned,
           total_tuned > 0 ? total_default / total_tuned : 0.0, (cli_now_ms() - t0) / 1e3);
    if ((s = cly_tuning_save(ctx)) != CLY_SUCCESS)
        rc = cli_fail("tune", s, ctx);
    else
        printf("tuning file: %s\n", cly_context_tuning_path(ctx));
    cly_context_destroy(ctx);
    free(j.v);
    return rc;
}
