/* `clayer demo`: AlexNet's conv1 (227x227x3, 96 filters 11x11, stride 4)
 * on the chosen device, checked exactly against a naive CPU reference.
 * Small-integer fills keep every float32 sum exact, so any difference is a
 * real error. */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { N = 1, C = 3, H = 227, W = 227, K = 96, F = 11, S = 4, P = 0, OH = 55, OW = 55, RUNS = 7 };

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int small_int(uint64_t *state, int range)
{
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (int)((*state >> 33) % (uint64_t)(2 * range + 1)) - range;
}

static void reference(const float *x, const float *w, const float *b, float *y)
{
    for (int n = 0; n < N; n++)
        for (int k = 0; k < K; k++)
            for (int oy = 0; oy < OH; oy++)
                for (int ox = 0; ox < OW; ox++) {
                    double acc = b[k];
                    for (int c = 0; c < C; c++)
                        for (int i = 0; i < F; i++)
                            for (int j = 0; j < F; j++) {
                                int iy = oy * S - P + i, ix = ox * S - P + j;
                                if (iy >= 0 && iy < H && ix >= 0 && ix < W)
                                    acc += (double)x[((n * C + c) * H + iy) * W + ix] *
                                           w[((k * C + c) * F + i) * F + j];
                            }
                    y[((n * K + k) * OH + oy) * OW + ox] = (float)acc;
                }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static const char demo_usage[] =
    "usage: clayer demo [--device SEL]\n"
    "  AlexNet's conv1 on the device, checked exactly against a CPU reference, timed\n"
    "  --device SEL  the device (default: $CLAYER_DEVICE, else the library's pick)\n";

static const struct option demo_options[] = {{"device", required_argument, NULL, 'd'}, CLI_HELP_OPTION, {0}};
static const cli_command demo_command = {"demo", demo_usage, demo_options, "h"};

int cmd_demo(int argc, char **argv)
{
    const char *selector = NULL;
    int o;
    while ((o = cli_getopt(&demo_command, argc, argv)) > 0)
        if (o == 'd')
            selector = optarg;
    if (o != CLI_OPT_END)
        return cli_opt_exit(o);
    if (optind < argc)
        return cli_usage_error(&demo_command, "unexpected argument '%s'", argv[optind]);
    cly_context *ctx;
    cly_status s = cly_context_create(selector, &ctx);
    if (s != CLY_SUCCESS)
        return cli_fail("demo", s, NULL);
    const cly_device_info *d = cly_context_device(ctx);
    printf("device %u:%u: %s (%s, %s)\n", d->platform_index, d->device_index, d->name, d->platform_name,
           cly_device_type_string(d->type));
    printf("convolution: AlexNet conv1, input %dx%dx%d, %d filters %dx%d, stride %d, pad %d -> %dx%dx%d\n", H, W,
           C, K, F, F, S, P, OH, OW, K);

    const size_t nx = (size_t)N * C * H * W, nw = (size_t)K * C * F * F, ny = (size_t)N * K * OH * OW;
    float *x = malloc(nx * sizeof *x), *w = malloc(nw * sizeof *w), *b = malloc(K * sizeof *b);
    float *y = malloc(ny * sizeof *y), *ref = malloc(ny * sizeof *ref);
    cly_tensor *tx = NULL, *tw = NULL, *tb = NULL, *ty = NULL;
    int rc = EXIT_RUNTIME;
    if (!x || !w || !b || !y || !ref) {
        fprintf(stderr, "clayer demo: out of host memory\n");
        goto done;
    }
    uint64_t seed = 42;
    for (size_t i = 0; i < nx; i++)
        x[i] = (float)small_int(&seed, 2);
    for (size_t i = 0; i < nw; i++)
        w[i] = (float)small_int(&seed, 2);
    for (size_t i = 0; i < K; i++)
        b[i] = (float)small_int(&seed, 3);

    if ((s = cly_tensor_create(ctx, (cly_shape){N, C, H, W}, &tx)) ||
        (s = cly_tensor_create(ctx, (cly_shape){K, C, F, F}, &tw)) ||
        (s = cly_tensor_create(ctx, (cly_shape){1, K, 1, 1}, &tb)) ||
        (s = cly_tensor_create(ctx, (cly_shape){N, K, OH, OW}, &ty)) || (s = cly_tensor_write(tx, x, (int64_t)nx)) ||
        (s = cly_tensor_write(tw, w, (int64_t)nw)) || (s = cly_tensor_write(tb, b, K))) {
        rc = cli_fail("demo", s, ctx);
        goto done;
    }
    const cly_conv_params params = {.filters = K, .size = {F, F}, .stride = {S, S}, .pad = CLY_PAD(P)};
    double times[RUNS], first = 0;
    for (int r = -1; r < RUNS; r++) {
        double t0 = now_ms();
        if ((s = cly_conv2d(ctx, tx, tw, tb, params, ty)) || (s = cly_context_finish(ctx))) {
            rc = cli_fail("demo", s, ctx);
            goto done;
        }
        double t = now_ms() - t0;
        if (r < 0)
            first = t;
        else
            times[r] = t;
    }
    if ((s = cly_tensor_read(ty, y, (int64_t)ny))) {
        rc = cli_fail("demo", s, ctx);
        goto done;
    }
    double r0 = now_ms();
    reference(x, w, b, ref);
    double ref_ms = now_ms() - r0;

    size_t mismatches = 0;
    double worst = 0;
    for (size_t i = 0; i < ny; i++) {
        double diff = fabs((double)y[i] - ref[i]);
        if (diff != 0)
            mismatches++;
        if (diff > worst)
            worst = diff;
    }
    qsort(times, RUNS, sizeof times[0], cmp_double);
    double median = times[RUNS / 2];
    double flops = 2.0 * N * K * OH * OW * C * F * F;
    printf("first run (includes kernel build or cache load): %.1f ms\n", first);
    printf("device: median of %d runs %.3f ms, %.2f GFLOP/s\n", RUNS, median, flops / median / 1e6);
    printf("CPU reference (naive loops, 1 thread): %.1f ms, %.2f GFLOP/s; device speed-up %.1fx\n", ref_ms,
           flops / ref_ms / 1e6, ref_ms / median);
    if (mismatches == 0) {
        printf("result: all %zu outputs equal the CPU reference exactly\n", ny);
        rc = 0;
    } else {
        printf("result: MISMATCH in %zu of %zu outputs (largest difference %g)\n", mismatches, ny, worst);
    }
done:
    cly_tensor_destroy(tx);
    cly_tensor_destroy(tw);
    cly_tensor_destroy(tb);
    cly_tensor_destroy(ty);
    cly_context_destroy(ctx);
    free(x);
    free(w);
    free(b);
    free(y);
    free(ref);
    return rc;
}
