/* torchvision models exported by PyTorch (torchvision_export.py, seeded
 * random weights, run at test time) imported with cly_onnx_load and run on
 * the default device, as they are and with batch norm folded into the
 * convolutions: the logits must match PyTorch's within 1e-4 of the largest
 * and give the same top-5 classes.
 *
 *     test_torchvision DIR MODEL...
 *
 * DIR holds MODEL.onnx, MODEL.input and MODEL.logits for each MODEL. Public
 * API only. Exit 0 all match, 1 a failure, 77 no OpenCL device. */
#include <clayer.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { IN = 3 * 224 * 224, CLASSES = 1000, TOP = 5 };

static bool read_floats(const char *dir, const char *model, const char *ext, float *dst, size_t count)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.%s", dir, model, ext);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "test_torchvision: cannot open %s\n", path);
        return false;
    }
    size_t got = fread(dst, sizeof *dst, count, f);
    bool ok = got == count && fgetc(f) == EOF;
    fclose(f);
    if (!ok)
        fprintf(stderr, "test_torchvision: %s does not hold %zu floats\n", path, count);
    return ok;
}

static void top(const float *v, int *idx)
{
    for (int k = 0; k < TOP; k++) {
        int best = -1;
        for (int i = 0; i < CLASSES; i++) {
            bool taken = false;
            for (int j = 0; j < k; j++)
                taken |= idx[j] == i;
            if (!taken && (best < 0 || v[i] > v[best]))
                best = i;
        }
        idx[k] = best;
    }
}

/* The graph's one output layer. */
static const char *output_name(const cly_graph *g)
{
    const char *name = NULL;
    for (size_t i = 0; i < cly_graph_layer_count(g); i++) {
        cly_layer_info info;
        if (cly_graph_layer_info(g, i, &info) == CLY_SUCCESS && info.is_output)
            name = info.name;
    }
    return name;
}

static bool check_model(cly_context *ctx, const char *dir, const char *model, const cly_onnx_options *opts)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.onnx", dir, model);
    static float x[IN], want[CLASSES], got[CLASSES];
    if (!read_floats(dir, model, "input", x, IN) || !read_floats(dir, model, "logits", want, CLASSES))
        return false;
    cly_graph *g;
    cly_net *net;
    cly_net_options o = {.batch = 1, .mode = CLY_MODE_INFERENCE};
    if (cly_onnx_load_opts(ctx, path, opts, &o, &g, &net) != CLY_SUCCESS) {
        fprintf(stderr, "%s: %s\n", model, cly_last_error(ctx));
        return false;
    }
    const char *out = output_name(g);
    bool ok = out && cly_net_set_input(net, "data", x, IN) == CLY_SUCCESS && cly_net_forward(net) == CLY_SUCCESS &&
              cly_net_get_output(net, out, got, CLASSES) == CLY_SUCCESS;
    if (!ok)
        fprintf(stderr, "%s: %s\n", model, out ? cly_last_error(ctx) : "no output layer");
    double scale = 0, err = 0;
    for (int i = 0; ok && i < CLASSES; i++) {
        scale = fmax(scale, fabs(want[i]));
        err = fmax(err, fabs((double)got[i] - want[i]));
    }
    int ti[TOP], tw[TOP];
    top(got, ti);
    top(want, tw);
    bool same_top = memcmp(ti, tw, sizeof ti) == 0;
    if (ok)
        printf("%-14s %-9s %4zu layers: max |clayer - pytorch| = %.3g = %.2e of the largest logit %.4g; top-5 %s "
               "(%d %d %d %d %d)\n",
               model, opts->fold_batchnorm ? "BN folded" : "", cly_graph_layer_count(g), err, err / scale, scale,
               same_top ? "identical" : "DIFFERENT", ti[0], ti[1], ti[2], ti[3], ti[4]);
    if (ok && (!(err <= 1e-4 * scale) || !same_top)) {
        fprintf(stderr, "%s: PyTorch's top-5 %d %d %d %d %d\n", model, tw[0], tw[1], tw[2], tw[3], tw[4]);
        ok = false;
    }
    cly_net_destroy(net);
    cly_graph_destroy(g);
    return ok;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: test_torchvision DIR MODEL...\n");
        return 2;
    }
    cly_context *ctx;
    if (cly_context_create(NULL, &ctx) != CLY_SUCCESS) {
        fprintf(stderr, "test_torchvision: no OpenCL device: %s\n", cly_last_error(NULL));
        return 77;
    }
    int failed = 0;
    for (int i = 2; i < argc; i++)
        for (int fold = 0; fold < 2; fold++)
            failed += !check_model(ctx, argv[1], argv[i], &(cly_onnx_options){.fold_batchnorm = fold});
    cly_context_destroy(ctx);
    return failed ? 1 : 0;
}
