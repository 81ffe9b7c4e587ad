/* fc_conv_bench: what FC -> CONV buys. The net of tests/net/fc_conv_net.h
 * (AlexNet/VGG-style, built for 224 x 224, total stride 32), converted and
 * run once on a 384 x 384 image for its 6 x 6 map of scores, against the
 * original net run on the 36 crops of 224 x 224 at stride 32, in the same
 * process: one pass per crop (batch 1), and, as a second comparison, one
 * pass over the 36 crops as a batch.
 *
 *   fc_conv_bench [--runs N] [--width W] [--device SEL]
 *
 * Each figure is the median of N runs (default 7) after a warm-up, timed on
 * the host from the first input upload to cly_context_finish (uploads
 * included: each way has to move its pixels). GFLOP/s counts the FLOPs of
 * the graph (cly_layer_info.flops) that each way runs. --width multiplies
 * every layer's channel count (default 4: conv1 32, conv2 64, fc6/fc7 128). */
#include "bench_util.h"
#include "fc_conv_net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IMAGE 384
#define CROPS 36

#define CHECK(call) BENCH_CHECK("fc_conv_bench", call)

static int64_t graph_flops(const cly_graph *g)
{
    int64_t f = 0;
    for (size_t i = 0; i < cly_graph_layer_count(g); i++) {
        cly_layer_info info;
        if (cly_graph_layer_info(g, i, &info) == CLY_SUCCESS)
            f += info.flops;
    }
    return f;
}

/* Median ms of `runs` timed calls of: `count` times (upload `per` floats from
 * x + i * per, forward), then finish. */
static double time_passes(cly_context *ctx, cly_net *net, const float *x, int64_t per, int count, int runs)
{
    double *t = malloc((size_t)runs * sizeof *t);
    for (int r = -1; r < runs; r++) {
        double t0 = bench_now_ms();
        for (int i = 0; i < count; i++) {
            CHECK(cly_net_set_input(net, "data", x + i * per, per));
            CHECK(cly_net_forward(net));
        }
        CHECK(cly_context_finish(ctx));
        if (r >= 0)
            t[r] = bench_now_ms() - t0;
    }
    double m = bench_median(t, runs);
    free(t);
    return m;
}

static void row(const char *what, double ms, double flops, double base_ms)
{
    printf("  %-36s %9.2f ms %8.2f GFLOP/s %12.3g FLOPs %8.2fx\n", what, ms, flops / ms / 1e6, flops, base_ms / ms);
}

int main(int argc, char **argv)
{
    int runs = 7;
    long width = 4;
    const char *selector = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc && (runs = atoi(argv[i + 1])) > 0) {
            i++;
        } else if (strcmp(argv[i], "--width") == 0 && i + 1 < argc && (width = atol(argv[i + 1])) > 0 &&
                   width <= 64) {
            i++;
        } else if (strcmp(argv[i], "--device") == 0 && i + 1 < argc) {
            selector = argv[++i];
        } else {
            fprintf(stderr, "usage: fc_conv_bench [--runs N] [--width W (1..64)] [--device SEL]\n");
            return 2;
        }
    }
    cly_context *ctx = NULL;
    CHECK(cly_context_create(selector, &ctx));
    cly_graph *g = fcnet_graph(width), *g36 = fcnet_graph(width), *cg = NULL;
    if (!g || !g36) {
        fprintf(stderr, "fc_conv_bench: %s\n", cly_last_error(NULL));
        return 1;
    }
    cly_net *one = NULL, *batch = NULL, *conv = NULL;
    CHECK(cly_net_create(ctx, g, &(cly_net_options){.batch = 1}, &one));
    CHECK(fcnet_init(one, 1));
    CHECK(cly_net_create(ctx, g36, &(cly_net_options){.batch = CROPS}, &batch));
    CHECK(fcnet_copy_params(one, batch));
    CHECK(fcnet_converted(ctx, g, IMAGE, IMAGE, one, &cg, &conv));

    /* A seeded image and its 36 crops. */
    const int64_t per = 3 * FCNET_SIZE * FCNET_SIZE;
    float *img = malloc(3 * IMAGE * IMAGE * sizeof *img), *crops = malloc((size_t)(CROPS * per) * sizeof *crops);
    uint64_t seed = 7;
    for (int64_t i = 0; i < 3 * IMAGE * IMAGE; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        img[i] = (float)((double)(seed >> 40) / 16777216.0);
    }
    for (int i = 0; i < CROPS; i++)
        fcnet_crop(img, 3, IMAGE, IMAGE, FCNET_STRIDE * (i / 6), FCNET_STRIDE * (i % 6), FCNET_SIZE, FCNET_SIZE,
                   crops + i * per);

    double t_conv = time_passes(ctx, conv, img, 3 * IMAGE * IMAGE, 1, runs);
    double t_crops = time_passes(ctx, one, crops, per, CROPS, runs);
    double t_batch = time_passes(ctx, batch, crops, CROPS * per, 1, runs);

    const cly_device_info *d = cly_context_device(ctx);
    printf("fc_conv_bench: width %ld, device %s, median of %d runs; 6 x 6 scores of a %d x %d image "
           "(36 crops of %d x %d at stride %d)\n",
           width, d->name, runs, IMAGE, IMAGE, FCNET_SIZE, FCNET_SIZE, FCNET_STRIDE);
    printf("  %-36s %12s %16s %18s %9s\n", "", "time", "rate", "work", "speed-up");
    row("36 passes on the crops (batch 1)", t_crops, (double)CROPS * (double)graph_flops(g), t_crops);
    row("1 pass on the crops (batch 36)", t_batch, (double)graph_flops(g36), t_crops);
    row("converted net, 1 pass on 384 x 384", t_conv, (double)graph_flops(cg), t_crops);
    printf("  converted / 36 passes: %.2fx faster, %.2fx the FLOPs; converted / batch 36: %.2fx faster\n",
           t_crops / t_conv, (double)graph_flops(cg) / ((double)CROPS * (double)graph_flops(g)), t_batch / t_conv);

    free(crops);
    free(img);
    cly_net_destroy(conv);
    cly_net_destroy(batch);
    cly_net_destroy(one);
    cly_graph_destroy(cg);
    cly_graph_destroy(g36);
    cly_graph_destroy(g);
    cly_context_destroy(ctx);
    return 0;
}
