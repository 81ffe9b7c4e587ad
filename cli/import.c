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
    "  -o OUT: the clayer model file to write (graph and weights)\n"
    "  --batch N: compile at batch N on the way, to check it (default 1); the file\n"
    "  holds no batch size\n"
    "  --device SEL: the device the net is compiled on\n";

int cmd_import(int argc, char **argv)
{
    const char *in = NULL, *out = NULL, *selector = NULL;
    long long batch = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int ok = 1;
        if (strcmp(a, "-o") == 0 && i + 1 < argc)
            out = argv[++i];
        else if (strcmp(a, "--batch") == 0 && i + 1 < argc)
            ok = cli_parse_int("import", a, argv[++i], 1, 1 << 20, &batch);
        else if (strcmp(a, "--device") == 0 && i + 1 < argc)
            selector = argv[++i];
        else if (!in && (a[0] != '-' || a[1] == '\0'))
            in = a;
        else {
            fprintf(stderr, "clayer import: unexpected argument '%s'\n", a);
            ok = 0;
        }
        if (!ok) {
            fprintf(stderr, "%s", import_usage);
            return EXIT_USAGE;
        }
    }
    if (!in || !out) {
        fprintf(stderr, "clayer import: %s\n%s", in ? "no output file: give -o OUT" : "no ONNX model given",
                import_usage);
        return EXIT_USAGE;
    }
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
