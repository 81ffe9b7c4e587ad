/* `clayer convert IN OUT`: FC layers to convolutions (cly_graph_fc_to_conv).
 * A model file in gives a model file out, weights carried over by layer name
 * (the layouts are the same); a net file or built-in name gives net-file
 * text. */
#include "cli.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static const char convert_usage[] =
    "usage: clayer convert IN OUT [--input-size HxW] [--device SEL]\n"
    "  IN: a model file (weights carried over, OUT is a model file) or a net\n"
    "  file or built-in name (OUT is a net file)\n"
    "  --input-size: also set every input layer to H x W (e.g. 384x384), so the\n"
    "  converted net slides over larger images\n"
    "  --device: the device that holds the weights on the way (model files)\n";

bool cli_is_model_file(const char *path)
{
    char magic[8];
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    bool yes = fread(magic, 1, sizeof magic, f) == sizeof magic && memcmp(magic, "CLAYERMD", 8) == 0;
    fclose(f);
    return yes;
}

static cly_status resize_inputs(cly_graph *g, long long h, long long w)
{
    if (h <= 0)
        return CLY_SUCCESS;
    cly_status s = cly_graph_infer(g, 1);
    size_t n = cly_graph_layer_count(g), inputs = 0;
    const char **names = calloc(n, sizeof *names); /* layer names stay valid while g lives */
    if (!names)
        return CLY_ERROR_OUT_OF_HOST_MEMORY;
    for (size_t i = 0; s == CLY_SUCCESS && i < n; i++) {
        cly_layer_info info;
        if ((s = cly_graph_layer_info(g, i, &info)) == CLY_SUCCESS && info.type == CLY_LAYER_INPUT)
            names[inputs++] = info.name;
    }
    for (size_t i = 0; s == CLY_SUCCESS && i < inputs; i++)
        s = cly_graph_set_input_size(g, names[i], h, w);
    free(names);
    return s;
}

/* Every parameter array of every layer of `dst`, copied from the layer of the
 * same name in `src`. */
static cly_status copy_params(const cly_net *src, cly_net *dst, cly_graph *dst_graph)
{
    static const cly_param_kind kinds[] = {CLY_PARAM_WEIGHTS, CLY_PARAM_BIAS, CLY_PARAM_MEAN, CLY_PARAM_VAR};
    cly_status s = CLY_SUCCESS;
    for (size_t i = 0; s == CLY_SUCCESS && i < cly_graph_layer_count(dst_graph); i++) {
        cly_layer_info info;
        if ((s = cly_graph_layer_info(dst_graph, i, &info)) != CLY_SUCCESS)
            break;
        for (size_t k = 0; s == CLY_SUCCESS && k < sizeof kinds / sizeof kinds[0]; k++) {
            int64_t count = 0;
            if ((s = cly_net_param_count(src, info.name, kinds[k], &count)) != CLY_SUCCESS || count == 0)
                continue;
            float *v = malloc((size_t)count * sizeof *v);
            if (!v)
                return CLY_ERROR_OUT_OF_HOST_MEMORY;
            if ((s = cly_net_get_param(src, info.name, kinds[k], v, count)) == CLY_SUCCESS)
                s = cly_net_set_param(dst, info.name, kinds[k], v, count);
            free(v);
        }
    }
    return s;
}

static int convert_model(const char *in, const char *out, long long h, long long w, const char *selector)
{
    cly_context *ctx = NULL;
    cly_graph *g = NULL, *c = NULL;
    cly_net *net = NULL, *cnet = NULL;
    const cly_net_options opt = {.batch = 1};
    int rc = 0;
    cly_status s = cly_context_create(selector, &ctx);
    if (s != CLY_SUCCESS)
        return cli_fail("convert", s, NULL);
    if ((s = cly_model_load(ctx, in, &opt, &g, &net)) || (s = cly_graph_fc_to_conv(g, &c)) ||
        (s = resize_inputs(c, h, w)) || (s = cly_net_create(ctx, c, &opt, &cnet)) ||
        (s = copy_params(net, cnet, c)) || (s = cly_net_save(cnet, out)))
        rc = cli_fail("convert", s, ctx);
    cly_net_destroy(cnet);
    cly_net_destroy(net);
    cly_graph_destroy(c);
    cly_graph_destroy(g);
    cly_context_destroy(ctx);
    return rc;
}

static int convert_net(const char *in, const char *out, long long h, long long w)
{
    cly_graph *g = NULL, *c = NULL;
    char *text = NULL;
    size_t size = 0;
    FILE *f = fopen(in, "r");
    if (f)
        fclose(f);
    cly_status s = f || strchr(in, '/') ? cly_graph_load(in, &g) : cly_graph_builtin(in, &g);
    if (s == CLY_SUCCESS && !(s = cly_graph_fc_to_conv(g, &c)) && !(s = resize_inputs(c, h, w)) &&
        !(s = cly_graph_infer(c, 1)))
        s = cly_graph_to_text(c, &text, &size);
    int rc = 0;
    if (s != CLY_SUCCESS) {
        rc = cli_fail("convert", s, NULL);
    } else if (!(f = fopen(out, "w")) || fwrite(text, 1, size, f) != size || fclose(f) != 0) {
        fprintf(stderr, "clayer convert: cannot write %s\n", out);
        rc = EXIT_RUNTIME;
    }
    free(text);
    cly_graph_destroy(c);
    cly_graph_destroy(g);
    return rc;
}

static const struct option convert_options[] = {{"input-size", required_argument, NULL, 'i'},
                                                {"device", required_argument, NULL, 'd'},
                                                CLI_HELP_OPTION,
                                                {0}};
static const cli_command convert_command = {"convert", convert_usage, convert_options, "h"};

/* "HxW", two integers in [1, 2^20], nothing else. */
static bool parse_size(const char *text, long long *h, long long *w)
{
    char *end;
    const char *x = strchr(text, 'x');
    if (!x || x == text || text[0] < '0' || text[0] > '9' || x[1] < '0' || x[1] > '9')
        return false;
    errno = 0;
    *h = strtoll(text, &end, 10);
    if (end != x)
        return false;
    *w = strtoll(x + 1, &end, 10);
    return *end == '\0' && errno == 0 && *h >= 1 && *w >= 1 && *h <= 1 << 20 && *w <= 1 << 20;
}

int cmd_convert(int argc, char **argv)
{
    const char *io[2], *selector = NULL;
    long long h = 0, w = 0;
    int o;
    while ((o = cli_getopt(&convert_command, argc, argv)) > 0) {
        if (o == 'd')
            selector = optarg;
        else if (o == 'i' && !parse_size(optarg, &h, &w)) {
            fprintf(stderr, "clayer convert: --input-size expects HxW, each in [1, 1048576], e.g. 384x384, got '%s'\n",
                    optarg);
            return EXIT_USAGE;
        }
    }
    if (o != CLI_OPT_END)
        return cli_opt_exit(o);
    if (cli_operands(&convert_command, argc, argv, 2, io, "IN and OUT"))
        return EXIT_USAGE;
    return cli_is_model_file(io[0]) ? convert_model(io[0], io[1], h, w, selector) : convert_net(io[0], io[1], h, w);
}
