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
               "  train [--net FILE] [--epochs N] [--batch N] [--device SEL] [--save PATH]\n"
               "                            train on Fashion-MNIST (default net: built-in 'fashion')\n"
               "  bench FILE|NAME [--device SEL] [--batch N] [--mode infer|train] [--runs N]\n"
               "        [--warmup N] [--json FILE] [--compare-builtin]\n"
               "                            time a net: warm-up (kernel builds, caches), then a\n"
               "                            per-layer table of device times and GFLOP/s (--compare-builtin:\n"
               "                            and against the built-in table, tuning file ignored)\n"
               "  compare A.json B.json ... [--svg FILE]\n"
               "                            bench results side by side, ratios against the\n"
               "                            first, optionally an SVG bar chart\n"
               "  eval MODEL [--device SEL] test accuracy and confusion matrix of a saved model\n"
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
               "\n"
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
    if (strcmp(cmd, "devices") == 0)
        return cmd_devices(argc - 1, argv + 1);
    if (strcmp(cmd, "demo") == 0)
        return cmd_demo(argc - 1, argv + 1);
    if (strcmp(cmd, "train") == 0)
        return cmd_train(argc - 1, argv + 1);
    if (strcmp(cmd, "eval") == 0)
        return cmd_eval(argc - 1, argv + 1);
    if (strcmp(cmd, "convert") == 0)
        return cmd_convert(argc - 1, argv + 1);
    if (strcmp(cmd, "import") == 0)
        return cmd_import(argc - 1, argv + 1);
    if (strcmp(cmd, "summary") == 0)
        return cmd_summary(argc - 1, argv + 1);
    if (strcmp(cmd, "run") == 0)
        return cmd_run(argc - 1, argv + 1);
    if (strcmp(cmd, "bench") == 0)
        return cmd_bench(argc - 1, argv + 1);
    if (strcmp(cmd, "compare") == 0)
        return cmd_compare(argc - 1, argv + 1);
    if (strcmp(cmd, "classify") == 0)
        return cmd_classify(argc - 1, argv + 1);
    if (strcmp(cmd, "export") == 0)
        return cmd_export(argc - 1, argv + 1);
    if (strcmp(cmd, "tune") == 0)
        return cmd_tune(argc - 1, argv + 1);
    if (strcmp(cmd, "compile") == 0)
        return cmd_compile(argc - 1, argv + 1);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("clayer %s\n", cly_version());
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "clayer: unknown command '%s'\n", cmd);
    usage(stderr);
    return EXIT_USAGE;
}
