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

int cmd_export(int argc, char **argv)
{
    const char *in = NULL, *out = NULL, *selector = NULL;
    long long seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool value = i + 1 < argc;
        if ((strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) && value) {
            out = argv[++i];
        } else if (strcmp(a, "--seed") == 0 && value) {
            if (!cli_parse_int("export", a, argv[++i], 0, INT64_MAX, &seed))
                return EXIT_USAGE;
        } else if (strcmp(a, "--device") == 0 && value) {
            selector = argv[++i];
        } else if (a[0] != '-' && !in) {
            in = a;
        } else {
            fprintf(stderr, "clayer export: unexpected argument '%s'\n%s", a, export_usage);
            return EXIT_USAGE;
        }
    }
    if (!in || !out) {
        fprintf(stderr, "clayer export: %s\n%s", in ? "no output file (-o OUT.onnx)" : "no net or model given",
                export_usage);
        return EXIT_USAGE;
    }
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
