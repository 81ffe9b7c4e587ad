/* clayer compile: a kernel bundle of every program and option variant some
 * nets need on one device (docs/bundle-format.md), the list of them for a
 * vendor's offline compiler, or a bundle from that compiler's output (an
 * offline manifest). */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char compile_usage[] =
    "usage: clayer compile NET... [--batch N] [--mode infer|train] [--device SEL] -o FILE\n"
    "                      [--add BUNDLE] [--manifest FILE]\n"
    "       clayer compile --list NET... [--batch N] [--mode infer|train] [--device SEL]\n"
    "  builds every kernel program the nets (net files or built-in names) need on the\n"
    "  device, by compiling them and running one forward pass (train: one SGD and one\n"
    "  Adam step too), and writes the binaries into one bundle FILE for\n"
    "  $CLAYER_BUNDLE / cly_context_options.bundle (docs/bundle-format.md). GEMMs run\n"
    "  clayer's own kernels, as in binary-only mode; $CLAYER_CONV_ALGO picks the\n"
    "  convolution algorithm whose programs are built\n"
    "  --list           print \"PROGRAM<TAB>OPTIONS\" per program instead, for a vendor's\n"
    "                   offline compiler (sources: cl/PROGRAM.cl, built with -I cl)\n"
    "  --manifest FILE  add offline-compiled binaries: lines \"PROGRAM<TAB>OPTIONS<TAB>BINARY\"\n"
    "                   (BINARY relative to FILE's folder; '#' starts a comment); with no\n"
    "                   NET, the bundle holds only these\n"
    "  --add BUNDLE     start from BUNDLE's programs (same device): bundles for several\n"
    "                   batches or modes merge into one\n";

/* Build what one net needs: compile it, then run it the way it will run. */
static int exercise(cly_context *ctx, const char *path, long long batch, bool train)
{
    static const cly_optimizer optimizers[] = {CLY_OPTIMIZER_SGD, CLY_OPTIMIZER_ADAM};
    for (size_t k = 0; k < (train ? 2u : 1u); k++) {
        cly_graph *g = NULL;
        cly_net *net = NULL;
        char weights[64];
        cly_net_options opt = {.batch = batch, .mode = train ? CLY_MODE_TRAINING : CLY_MODE_INFERENCE};
        int rc = cli_open_net("compile", ctx, path, &opt, 1, &g, &net, weights, sizeof weights);
        cly_status s = CLY_SUCCESS;
        if (!rc && train)
            s = cly_net_set_training(net, &(cly_train_params){.optimizer = optimizers[k],
                                                              .learning_rate = 0.01,
                                                              .momentum = 0.9});
        if (!rc && s == CLY_SUCCESS)
            s = cli_fill_inputs(net, g, 1);
        if (!rc && s == CLY_SUCCESS && train) {
            int32_t *labels = calloc((size_t)batch, sizeof *labels);
            s = labels ? cly_net_train_batch(net, labels, batch, NULL) : CLY_ERROR_OUT_OF_HOST_MEMORY;
            free(labels);
        }
        if (!rc && s == CLY_SUCCESS)
            s = cly_net_forward(net);
        if (!rc && s != CLY_SUCCESS) {
            char what[4200];
            snprintf(what, sizeof what, "compile %s (%s, batch %lld)", path, train ? "train" : "infer", batch);
            rc = cli_fail(what, s, ctx);
        }
        cly_net_destroy(net);
        cly_graph_destroy(g);
        if (rc)
            return rc;
    }
    return 0;
}

/* Split a manifest line at tabs into exactly three non-empty fields. */
static bool manifest_fields(char *line, char **f)
{
    for (int i = 0; i < 3; i++) {
        f[i] = line;
        char *tab = strchr(line, '\t');
        if (i < 2) {
            if (!tab)
                return false;
            *tab = '\0';
            line = tab + 1;
        } else if (tab) {
            return false;
        }
    }
    return *f[0] && *f[2];
}

static int read_binary(const char *path, unsigned char **data, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap);
    while (buf) {
        if (n == cap) {
            unsigned char *grown = cap < ((size_t)1 << 30) ? realloc(buf, cap *= 2) : NULL;
            if (!grown) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    int err = !buf ? ENOMEM : ferror(f) ? EIO : 0;
    fclose(f);
    if (err) {
        free(buf);
        errno = err;
        return -1;
    }
    *data = buf;
    *size = n;
    return 0;
}

static int add_manifest(cly_context *ctx, const char *manifest)
{
    FILE *f = fopen(manifest, "r");
    if (!f) {
        fprintf(stderr, "clayer compile: %s: %s\n", manifest, strerror(errno));
        return EXIT_RUNTIME;
    }
    const char *slash = strrchr(manifest, '/');
    int dir_len = slash ? (int)(slash - manifest) : 0;
    char line[8192];
    int lineno = 0, rc = 0, added = 0;
    while (!rc && fgets(line, sizeof line, f)) {
        lineno++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n') {
            fprintf(stderr, "clayer compile: %s:%d: a line over %zu bytes\n", manifest, lineno, sizeof line - 2);
            rc = EXIT_USAGE;
            break;
        }
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len == 0 || line[0] == '#')
            continue;
        char *field[3];
        if (!manifest_fields(line, field)) {
            fprintf(stderr, "clayer compile: %s:%d: not \"PROGRAM<TAB>OPTIONS<TAB>BINARY\"\n", manifest, lineno);
            rc = EXIT_USAGE;
            break;
        }
        char path[4096];
        if (field[2][0] == '/' || !slash)
            snprintf(path, sizeof path, "%s", field[2]);
        else
            snprintf(path, sizeof path, "%.*s/%s", dir_len, manifest, field[2]);
        unsigned char *data;
        size_t size;
        if (read_binary(path, &data, &size) != 0) {
            fprintf(stderr, "clayer compile: %s:%d: %s: %s\n", manifest, lineno, path, strerror(errno));
            rc = EXIT_RUNTIME;
            break;
        }
        cly_status s = cly_context_add_binary(ctx, field[0], field[1], data, size);
        free(data);
        if (s != CLY_SUCCESS) {
            char what[4200];
            snprintf(what, sizeof what, "compile %s:%d", manifest, lineno);
            rc = cli_fail(what, s, ctx);
        }
        added++;
    }
    fclose(f);
    if (!rc && added == 0) {
        fprintf(stderr, "clayer compile: %s lists no binary\n", manifest);
        rc = EXIT_USAGE;
    }
    return rc;
}

static const struct option compile_options[] = {{"batch", required_argument, NULL, 'b'},
                                                {"mode", required_argument, NULL, 'm'},
                                                {"device", required_argument, NULL, 'd'},
                                                {"output", required_argument, NULL, 'o'},
                                                {"list", no_argument, NULL, 'l'},
                                                {"add", required_argument, NULL, 'a'},
                                                {"manifest", required_argument, NULL, 'f'},
                                                CLI_HELP_OPTION,
                                                {0}};
static const cli_command compile_command = {"compile", compile_usage, compile_options, "ho:"};

int cmd_compile(int argc, char **argv)
{
    const char *selector = NULL, *out = NULL, *add = NULL, *manifest = NULL;
    long long batch = 1;
    bool train = false, list = false;
    int o, rc = 0;
    while (!rc && (o = cli_getopt(&compile_command, argc, argv)) > 0) {
        if (o == 'b')
            rc = cli_parse_int("compile", "--batch", optarg, 1, 1 << 20, &batch) ? 0 : EXIT_USAGE;
        else if (o == 'm' && strcmp(optarg, "infer") != 0 && strcmp(optarg, "train") != 0)
            rc = cli_usage_error(&compile_command, "--mode is infer or train, not '%s'", optarg);
        else if (o == 'm')
            train = strcmp(optarg, "train") == 0;
        else if (o == 'd')
            selector = optarg;
        else if (o == 'o')
            out = optarg;
        else if (o == 'l')
            list = true;
        else if (o == 'a')
            add = optarg;
        else if (o == 'f')
            manifest = optarg;
    }
    if (rc)
        return rc;
    if (o != CLI_OPT_END)
        return cli_opt_exit(o);
    int nets = argc - optind;
    const char *why = list && (out || add || manifest) ? "--list prints; it takes no -o, --add or --manifest"
                      : !list && !out                 ? "-o FILE is required"
                      : nets == 0 && !manifest        ? "name at least one net (or a --manifest)"
                                                      : NULL;
    if (why)
        return cli_usage_error(&compile_command, "%s", why);
    /* sizeof: the bundle field comes after the first layout. */
    /* clayer's own GEMM, which binary-only contexts run in CLBlast's place:
     * its programs go into the bundle like every other. */
    cly_context_options copt = {
        .struct_size = sizeof copt, .selector = selector, .bundle = add, .gemm = CLY_GEMM_BUILTIN};
    cly_context *ctx = NULL;
    cly_status s = cly_context_create_ex(&copt, &ctx);
    if (s != CLY_SUCCESS)
        return cli_fail("compile", s, NULL);
    rc = manifest ? add_manifest(ctx, manifest) : 0;
    for (int i = optind; !rc && i < argc; i++)
        rc = exercise(ctx, argv[i], batch, train);
    if (!rc && list) {
        for (size_t i = 0; i < cly_context_program_count(ctx); i++) {
            const char *name, *options;
            if (cly_context_program_info(ctx, i, &name, &options) == CLY_SUCCESS)
                printf("%s\t%s\n", name, options);
        }
    } else if (!rc) {
        s = cly_context_save_bundle(ctx, out);
        if (s != CLY_SUCCESS)
            rc = cli_fail("compile", s, ctx);
        else
            fprintf(stderr, "clayer compile: %s: %zu programs built or loaded for %s\n", out,
                    cly_context_program_count(ctx), cly_context_device(ctx)->name);
    }
    cly_context_destroy(ctx);
    return rc;
}
