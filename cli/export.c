/* `clayer export IN -o OUT.onnx`: a net as an ONNX model (cly_net_export_onnx).
 * A model file gives its trained parameters; a net file or built-in name has
 * none, so it gets seeded ones (said on stderr), which makes an ONNX file to
 * try a deployment path with, not a trained net. */
#include "cli.h"

#include <stdint.h>
#include <string.h>

static const char export_usage[] =
    "usage: clayer export FILE|NAME|MODEL -o OUT.onnx [--seed N] [--device SEL]\n"
    "  MODEL: a model file (its trained parameters); FILE|NAME: a net file or\n"
    "  built-in name, exported with seeded He-initialised weights (--seed, default 1)\n"
    "  --device: the device that holds the parameters on the way\n";

static const struct option export_options[] = {{"output", required_argument, NULL, 'o'},
                                               {"seed", required_argument, NULL, 's'},
                                               {"device", required_argument, NULL, 'd'},
                                               CLI_HELP_OPTION,
                                               {0}};
static const cli_command export_command = {"export", export_usage, export_options, "ho:"};

int cmd_export(int argc, char **argv)
{
    const char *in = NULL, *out = NULL, *selector = NULL;
    long long seed = 1;
    int o;
    while ((o = cli_getopt(&export_command, argc, argv)) > 0) {
        if (o == 'o')
            out = optarg;
        else if (o == 'd')
            selector = optarg;
        else if (o == 's' && !cli_parse_int("export", "--seed", optarg, 0, INT64_MAX, &seed))
            return EXIT_USAGE;
    }
    if (o != CLI_OPT_END)
        return cli_opt_exit(o);
    if (cli_operands(&export_command, argc, argv, 1, &in, "the net or model"))
        return EXIT_USAGE;
    if (!out)
        return cli_usage_error(&export_command, "no output file (-o OUT.onnx)");
    bool model = cli_is_model_file(in);
    cly_graph *g = NULL;
    if (!model) {
        int rc = cli_load_net("export", in, 1, &g);
        if (rc)
            return rc;
    }
    cly_context *ctx = NULL;
    cly_net *net = NULL;
    const cly_net_options opt = {.batch = 1};
    cly_status s = cly_context_create(selector, &ctx);
    int rc = 0;
    if (s != CLY_SUCCESS) {
        rc = cli_fail("export", s, NULL);
    } else if (model) {
        if ((s = cly_model_load(ctx, in, &opt, &g, &net)) || (s = cly_net_export_onnx(net, out)))
            rc = cli_fail("export", s, ctx);
    } else {
        fprintf(stderr, "clayer export: %s has no weights: seeded He initialisation (seed %lld), not a trained net\n",
                in, seed);
        if ((s = cly_net_create(ctx, g, &opt, &net)) || (s = cly_net_init_params(net, CLY_INIT_HE, (uint64_t)seed)) ||
            (s = cly_net_export_onnx(net, out)))
            rc = cli_fail("export", s, ctx);
    }
    if (rc == 0)
        printf("wrote %s\n", out);
    cly_net_destroy(net);
    cly_graph_destroy(g);
    cly_context_destroy(ctx);
    return rc;
}
