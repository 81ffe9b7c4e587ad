/* `clayer import MODEL.onnx -o OUT`: an ONNX model, weights included, into
 * a clayer model file (docs/model-format.md) that classify, run, bench and
 * eval load without the importer. The net is compiled on a device on the
 * way (cly_net_save reads the weights back from it), which also checks
 * that it runs at --batch. */
#include "cli.h"

#include <string.h>

static const char import_usage[] =
    "usage: clayer import MODEL.onnx -o OUT [--batch N] [--device SEL]\n"
    "  MODEL.onnx: an ONNX model (docs/onnx.md lists the operators clayer imports)\n"
    "  -o, --output OUT: the clayer model file to write (graph and weights)\n"
    "  --batch N: compile at batch N on the way, to check it (default 1); the file\n"
    "  holds no batch size\n"
    "  --device SEL: the device the net is compiled on\n";

static const struct option import_options[] = {{"output", required_argument, NULL, 'o'},
                                               {"batch", required_argument, NULL, 'b'},
                                               {"device", required_argument, NULL, 'd'},
                                               CLI_HELP_OPTION,
                                               {0}};
static const cli_command import_command = {"import", import_usage, import_options, "ho:"};

int cmd_import(int argc, char **argv)
{
    const char *in = NULL, *out = NULL, *selector = NULL;
    long long batch = 1;
    int o;
    while ((o = cli_getopt(&import_command, argc, argv)) > 0) {
        if (o == 'o')
            out = optarg;
        else if (o == 'd')
            selector = optarg;
        else if (o == 'b' && !cli_parse_int("import", "--batch", optarg, 1, 1 << 20, &batch))
            return EXIT_USAGE;
    }
    if (o != CLI_OPT_END)
        return cli_opt_exit(o);
    if (cli_operands(&import_command, argc, argv, 1, &in, "the ONNX model"))
        return EXIT_USAGE;
    if (!out)
        return cli_usage_error(&import_command, "no output file: give -o OUT");
    /* Import before asking for a device: a file that is not ONNX, or an
     * operator clayer lacks, is reported without OpenCL. */
    cly_graph *g = NULL;
    cly_weights *w = NULL;
    cly_status s = cly_graph_import_onnx_opts(in, &cli_onnx, &g, &w);
    if (s != CLY_SUCCESS)
        return cli_fail("import", s, NULL);
    cly_context *ctx = NULL;
    cly_net *net = NULL;
    int rc = 0;
    if ((s = cly_context_create(selector, &ctx)) != CLY_SUCCESS) {
        rc = cli_fail("import", s, NULL);
        goto done;
    }
    if ((s = cly_net_create(ctx, g, &(cly_net_options){.batch = batch}, &net)) ||
        (s = cly_net_set_weights(net, w)) || (s = cly_net_save(net, out))) {
        fprintf(stderr, "clayer import: %s -> %s: %s: %s\n", in, out, cly_status_string(s), cly_last_error(ctx));
        rc = EXIT_RUNTIME;
        goto done;
    }
    size_t layers = cly_graph_layer_count(g);
    printf("imported %s: %zu layers, %zu weight arrays -> %s\n", in, layers, cly_weights_count(w), out);
done:
    cly_net_destroy(net);
    cly_context_destroy(ctx);
    cly_weights_destroy(w);
    cly_graph_destroy(g);
    return rc;
}
