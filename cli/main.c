/* clayer: command-line front end. */
#include "cli.h"

#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: clayer COMMAND [OPTIONS]\n"
               "\n"
               "commands:\n"
               "  devices [--json]          list every OpenCL platform and device\n"
               "  demo [--device SEL]       run a convolution on the chosen device, checked\n"
               "                            against a CPU reference, with its time\n"
               "  summary FILE|NAME [--batch N] [--compile | --device SEL]\n"
               "                            a net's layers, shapes, parameters, FLOPs (compiled:\n"
               "                            also algorithms and the memory plan)\n"
               "  run FILE|NAME [--device SEL] [--batch N] [--runs N] [--seed N]\n"
               "                            forward pass on seeded inputs (weights: a model or ONNX\n"
               "                            file's, else seeded): time and output checksums\n"
               "  train [--net FILE|NAME] [--epochs N] [--batch N] [--device SEL] [--save PATH] ...\n"
               "                            train on Fashion-MNIST (default net: built-in 'fashion')\n"
               "  bench FILE|NAME [--device SEL] [--batch N] [--mode infer|train] [--runs N]\n"
               "        [--warmup N] [--json FILE] [--compare-builtin]\n"
               "                            time a net: warm-up (kernel builds, caches), then a\n"
               "                            per-layer table of device times and GFLOP/s (--compare-builtin:\n"
               "                            and against the built-in table, tuning file ignored)\n"
               "  compare A.json B.json ... [--svg FILE]\n"
               "                            bench results side by side, ratios against the\n"
               "                            first, the algorithm of each layer, optionally an SVG chart\n"
               "  eval MODEL [--json] [--device SEL] ...\n"
               "                            test accuracy, confusion matrix, per-class precision\n"
               "                            and recall of a saved model\n"
               "  classify MODEL IMAGE... [--top K] [--labels FILE] [--json] [--batch N] [--device SEL]\n"
               "        [--resize S] [--crop HxW] [--mean R,G,B] [--std R,G,B] [--seed N]\n"
               "                            the top K classes of each PNG or JPEG image (preprocessed as\n"
               "                            torchvision's ImageNet evaluation transform); MODEL a model\n"
               "                            file, an ONNX model, or a net file or name with seeded weights\n"
               "  import MODEL.onnx -o OUT [--batch N] [--device SEL]\n"
               "                            an ONNX model and its weights into a clayer model file\n"
               "  convert IN OUT [--input-size HxW] [--device SEL]\n"
               "                            FC layers to convolutions: a model file (weights kept)\n"
               "                            or a net file or name (net-file text out)\n"
               "  export FILE|NAME|MODEL -o OUT.onnx [--seed N] [--device SEL]\n"
               "                            an ONNX model (opset 13) of a model file's trained net,\n"
               "                            or of a net file or name with seeded weights\n"
               "  tune NET...|--set default [--device SEL] [--budget SECONDS] [--batch N] [--runs N]\n"
               "                            measure convolution configurations for the nets' shapes\n"
               "                            on the device; the fastest go to its tuning file, which\n"
               "                            auto then uses (docs/tuning.md)\n"
               "  compile NET... -o FILE [--batch N] [--mode infer|train] [--device SEL] [--list]\n"
               "        [--add BUNDLE] [--manifest FILE]\n"
               "                            a kernel bundle of every program the nets need on the\n"
               "                            device, for $CLAYER_BUNDLE and binary-only mode\n"
               "                            ($CLAYER_NO_COMPILER=1); --list prints them instead\n"
               "  version                   print the library version\n"
               "  help COMMAND              a command's options (also: clayer COMMAND --help)\n"
               "\n"
               "Each command's options: clayer COMMAND --help.\n"
               "ONNX files (MODEL.onnx) work wherever a net or model does; with --fold-bn\n"
               "(any command) each BatchNormalization after a Conv is folded into it.\n"
               "\n"
               "Device selectors (--device or $CLAYER_DEVICE): gpu, cpu, accelerator,\n"
               "gpu:1 (second GPU), 0:1 (platform 0, device 1), or text matched against\n"
               "platform, vendor and device names (nvidia, amd, intel, pocl).\n");
}

int cli_fail(const char *what, cly_status s, const cly_context *ctx)
{
    fprintf(stderr, "clayer: %s: %s: %s\n", what, cly_status_string(s), cly_last_error(ctx));
    return EXIT_RUNTIME;
}

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
} command;

static const command commands[] = {
    {"devices", cmd_devices}, {"demo", cmd_demo},       {"train", cmd_train},     {"eval", cmd_eval},
    {"convert", cmd_convert}, {"import", cmd_import},   {"summary", cmd_summary}, {"run", cmd_run},
    {"bench", cmd_bench},     {"compare", cmd_compare}, {"classify", cmd_classify}, {"export", cmd_export},
    {"tune", cmd_tune},       {"compile", cmd_compile},
};
enum { COMMANDS = sizeof commands / sizeof commands[0] };

static const command *find_command(const char *name)
{
    for (size_t i = 0; i < COMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

/* "unknown command", with the nearest command name when one is close. */
static int unknown_command(const char *cmd)
{
    const char *names[COMMANDS + 2] = {"version", "help"};
    for (size_t i = 0; i < COMMANDS; i++)
        names[i + 2] = commands[i].name;
    const char *near = cli_suggest(cmd, names, COMMANDS + 2);
    fprintf(stderr, "clayer: unknown command '%s'", cmd);
    if (near)
        fprintf(stderr, " (did you mean '%s'?)", near);
    fprintf(stderr, "\nTry 'clayer --help' for the commands.\n");
    return EXIT_USAGE;
}

int main(int argc, char **argv)
{
    /* --fold-bn, anywhere: a global import option, taken out before the
     * command parses its own flags. */
    int kept = 1;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--fold-bn") == 0)
            cli_onnx.fold_batchnorm = true;
        else
            argv[kept++] = argv[i];
    argc = kept;
    argv[argc] = NULL;
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    const command *c = find_command(cmd);
    if (c)
        return c->run(argc - 1, argv + 1);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("clayer %s\n", cly_version());
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        if (argc > 2) { /* clayer help COMMAND: that command's --help */
            if (!(c = find_command(argv[2])))
                return unknown_command(argv[2]);
            char help[] = "--help";
            char *args[] = {argv[2], help, NULL};
            return c->run(2, args);
        }
        usage(stdout);
        return 0;
    }
    return unknown_command(cmd);
}
