/* FC -> CONV on a device, as the notes describe it: the small AlexNet/VGG-
 * style net of fc_conv_net.h, built for 224 x 224 with seeded weights and
 * biases, converted, run once on a 384 x 384 image, gives a 6 x 6 map of
 * class scores equal to the original net run on each of the 36 crops of
 * 224 x 224 at stride 32; four passes over the image shifted by 16 pixels
 * give the 11 x 11 map at stride 16. Then `clayer convert` on a model file.
 *
 * Tolerance. The converted net adds the same products as the original, in
 * another order (an FC's dot products against a convolution kernel's
 * loops, one image against a batch of crops), so in float32 the scores differ
 * by rounding alone. A float32 sum of n terms is off by at most about
 * n * 2^-24 * sum|terms| (and typically sqrt(n) * 2^-24 of it); fc6 sums
 * 16 * 7 * 7 = 784 products, so the bound is about 5e-5 of the score scale.
 * The test takes 1e-4 of the largest |score| of the map: twice that bound,
 * and far below any real difference (crops misplaced by 4 pixels give 0.38).
 * On pocl the error measured is 0 with every conv algorithm: CLBlast's GEMM
 * for the FC and the conv kernels happen to add in the same order; a GPU
 * GEMM that splits the reduction would not. */
#include "fc_conv_net.h"
#include "test_util.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define IMAGE 384
#define TOLERANCE 1e-4

static const char *clayer_cli; /* argv[1]: the clayer tool, for the convert test */

#define OK(ctx, call)                                                                                   \
    do {                                                                                                \
        cly_status s_ = (call);                                                                         \
        ck_assert_msg(s_ == CLY_SUCCESS, "%s -> %s: %s", #call, cly_status_string(s_), cly_last_error(ctx)); \
    } while (0)

/* A seeded 3 x IMAGE x IMAGE image in [0, 1). */
static float *image(void)
{
    size_t n = 3 * IMAGE * IMAGE;
    float *x = malloc(n * sizeof *x);
    ck_assert_ptr_nonnull(x);
    uint64_t seed = 12345;
    for (size_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        x[i] = (float)((double)(seed >> 40) / 16777216.0);
    }
    return x;
}

/* The original net on `count` crops at (ys[i], xs[i]): fc8 scores, count x classes. */
static float *crop_scores(cly_context *ctx, const cly_net *params, const float *img, const int64_t *ys,
                          const int64_t *xs, int64_t count)
{
    static const char *const keep[] = {"fc8"};
    cly_graph *g = fcnet_graph(1);
    ck_assert_msg(g != NULL, "%s", cly_last_error(NULL));
    cly_net *net;
    OK(ctx, cly_net_create(ctx, g, &(cly_net_options){.batch = count, .keep = keep, .keep_count = 1}, &net));
    OK(ctx, fcnet_copy_params(params, net));
    const int64_t per = 3 * FCNET_SIZE * FCNET_SIZE;
    float *x = malloc((size_t)(count * per) * sizeof *x), *s = malloc((size_t)(count * FCNET_CLASSES) * sizeof *s);
    ck_assert(x && s);
    for (int64_t i = 0; i < count; i++)
        fcnet_crop(img, 3, IMAGE, IMAGE, ys[i], xs[i], FCNET_SIZE, FCNET_SIZE, x + i * per);
    OK(ctx, cly_net_set_input(net, "data", x, count * per));
    OK(ctx, cly_net_forward(net));
    OK(ctx, cly_net_get_output(net, "fc8", s, count * FCNET_CLASSES));
    free(x);
    cly_net_destroy(net);
    cly_graph_destroy(g);
    return s;
}

/* The converted net on the h x w window of the image at (y0, x0): the fc8 map,
 * classes x oh x ow. */
static float *map_scores(cly_context *ctx, const cly_graph *g, const cly_net *params, const float *img, int64_t y0,
                         int64_t x0, int64_t h, int64_t w, int64_t *oh, int64_t *ow)
{
    cly_graph *cg;
    cly_net *net;
    OK(ctx, fcnet_converted(ctx, g, h, w, params, &cg, &net));
    *oh = (h - FCNET_SIZE) / FCNET_STRIDE + 1;
    *ow = (w - FCNET_SIZE) / FCNET_STRIDE + 1;
    int64_t n = FCNET_CLASSES * *oh * *ow;
    float *x = malloc((size_t)(3 * h * w) * sizeof *x), *s = malloc((size_t)n * sizeof *s);
    ck_assert(x && s);
    fcnet_crop(img, 3, IMAGE, IMAGE, y0, x0, h, w, x);
    OK(ctx, cly_net_set_input(net, "data", x, 3 * h * w));
    OK(ctx, cly_net_forward(net));
    OK(ctx, cly_net_get_output(net, "fc8", s, n)); /* a count other than classes x oh x ow fails here */
    free(x);
    cly_net_destroy(net);
    cly_graph_destroy(cg);
    return s;
}

/* The original 224 x 224 net with seeded weights and biases. */
static cly_net *original(cly_context *ctx, cly_graph **g)
{
    *g = fcnet_graph(1);
    ck_assert_msg(*g != NULL, "%s", cly_last_error(NULL));
    cly_net *net;
    OK(ctx, cly_net_create(ctx, *g, &(cly_net_options){.batch = 1}, &net));
    OK(ctx, fcnet_init(net, 2024));
    return net;
}

/* Largest |map - crop| over the compared scores, relative to the largest
 * |score|; the crop of scores[c][y][x] (map of mh x mw) is crop number
 * index[y * mw + x], or none when negative. */
static double compare(const float *map, int64_t mh, int64_t mw, const float *crops, const int64_t *index,
                      int64_t *compared)
{
    double worst = 0, scale = 0;
    *compared = 0;
    for (int64_t p = 0; p < mh * mw; p++) {
        if (index[p] < 0)
            continue;
        ++*compared;
        for (int64_t k = 0; k < FCNET_CLASSES; k++) {
            double a = map[k * mh * mw + p], b = crops[index[p] * FCNET_CLASSES + k];
            worst = fmax(worst, fabs(a - b));
            scale = fmax(scale, fabs(b));
        }
    }
    ck_assert(scale > 0);
    return worst / scale;
}

START_TEST(stride32_map_equals_36_crops)
{
    cly_context *ctx = cly_test_context();
    cly_graph *g;
    cly_net *params = original(ctx, &g);
    float *img = image();
    int64_t oh, ow;
    float *map = map_scores(ctx, g, params, img, 0, 0, IMAGE, IMAGE, &oh, &ow);
    ck_assert_int_eq(oh, 6);
    ck_assert_int_eq(ow, 6);
    int64_t ys[36], xs[36], index[36];
    for (int64_t i = 0; i < 36; i++) {
        ys[i] = FCNET_STRIDE * (i / 6);
        xs[i] = FCNET_STRIDE * (i % 6);
        index[i] = i;
    }
    float *crops = crop_scores(ctx, params, img, ys, xs, 36);
    int64_t compared;
    double err = compare(map, 6, 6, crops, index, &compared);
    ck_assert_int_eq(compared, 36);
    printf("stride 32: 6 x 6 map vs 36 crops: max |diff| / max |score| = %.3g (tolerance %.0e)\n", err, TOLERANCE);
    ck_assert_msg(err <= TOLERANCE, "relative error %.3g over %.0e", err, TOLERANCE);
    free(crops);
    free(map);
    free(img);
    cly_net_destroy(params);
    cly_graph_destroy(g);
    cly_context_destroy(ctx);
}
END_TEST

/* Stride 16 from four passes: the image, and the image shifted by 16 pixels
 * in x, in y and in both. A pass shifted by 16 starts at pixel 16 and takes
 * 352 = 224 + 4 x 32 pixels (the 368 left would end in half a stride cell,
 * which the net, exact about sizes, refuses): 5 positions instead of 6.
 * Crop m (m = 0..10) of the stride-16 grid starts at 16 m: from the unshifted
 * pass when m is even (m / 2), the shifted one when odd ((m - 1) / 2). */
START_TEST(stride16_from_shifted_passes)
{
    enum { N = (IMAGE - FCNET_SIZE) / 16 + 1 }; /* 11 */
    cly_context *ctx = cly_test_context();
    cly_graph *g;
    cly_net *params = original(ctx, &g);
    float *img = image();
    float *grid = calloc((size_t)FCNET_CLASSES * N * N, sizeof *grid);
    ck_assert_ptr_nonnull(grid);
    for (int dy = 0; dy <= 16; dy += 16) {
        for (int dx = 0; dx <= 16; dx += 16) {
            int64_t h = dy ? IMAGE - FCNET_STRIDE : IMAGE, w = dx ? IMAGE - FCNET_STRIDE : IMAGE, oh, ow;
            float *map = map_scores(ctx, g, params, img, dy, dx, h, w, &oh, &ow);
            ck_assert_int_eq(oh, dy ? 5 : 6);
            ck_assert_int_eq(ow, dx ? 5 : 6);
            for (int64_t k = 0; k < FCNET_CLASSES; k++)
                for (int64_t i = 0; i < oh; i++)
                    for (int64_t j = 0; j < ow; j++)
                        grid[(k * N + 2 * i + dy / 16) * N + 2 * j + dx / 16] = map[(k * oh + i) * ow + j];
            free(map);
        }
    }
    /* A sample: rows and columns 0, 1, 4, 5, 10 (both borders, every parity,
     * so every pass), 25 crops. */
    static const int64_t sample[] = {0, 1, 4, 5, 10};
    int64_t ys[25], xs[25], index[N * N];
    for (int64_t p = 0; p < N * N; p++)
        index[p] = -1;
    for (int64_t a = 0; a < 5; a++)
        for (int64_t b = 0; b < 5; b++) {
            ys[a * 5 + b] = 16 * sample[a];
            xs[a * 5 + b] = 16 * sample[b];
            index[sample[a] * N + sample[b]] = a * 5 + b;
        }
    float *crops = crop_scores(ctx, params, img, ys, xs, 25);
    int64_t compared;
    double err = compare(grid, N, N, crops, index, &compared);
    ck_assert_int_eq(compared, 25);
    printf("stride 16: 11 x 11 map from 4 shifted passes vs 25 crops: max |diff| / max |score| = %.3g "
           "(tolerance %.0e)\n",
           err, TOLERANCE);
    ck_assert_msg(err <= TOLERANCE, "relative error %.3g over %.0e", err, TOLERANCE);
    free(crops);
    free(grid);
    free(img);
    cly_net_destroy(params);
    cly_graph_destroy(g);
    cly_context_destroy(ctx);
}
END_TEST

static int run_cli(const char *args)
{
    size_t size = strlen(clayer_cli) + strlen(args) + 4;
    char *cmd = malloc(size);
    ck_assert_ptr_nonnull(cmd);
    snprintf(cmd, size, "'%s' %s", clayer_cli, args);
    int rc = system(cmd);
    free(cmd);
    return rc == -1 || !WIFEXITED(rc) ? -1 : WEXITSTATUS(rc);
}

/* `clayer convert` on a model file: a model file out whose fc layers are
 * convs holding the same floats; on a net file: net-file text. */
START_TEST(cli_convert_model)
{
    ck_assert_msg(clayer_cli != NULL, "pass the clayer tool as the first argument");
    char dir[4096], in[4200], out[4200], args[9000];
    cly_test_mkdtemp(dir, sizeof dir);
    snprintf(in, sizeof in, "%s/net.model", dir);
    snprintf(out, sizeof out, "%s/conv.model", dir);
    cly_context *ctx = cly_test_context();
    cly_graph *g;
    cly_net *net = original(ctx, &g);
    OK(ctx, cly_net_save(net, in));
    snprintf(args, sizeof args, "convert '%s' '%s' --input-size 384x384", in, out);
    ck_assert_int_eq(run_cli(args), 0);

    cly_graph *cg;
    cly_net *cnet;
    OK(ctx, cly_model_load(ctx, out, &(cly_net_options){.batch = 1}, &cg, &cnet));
    ck_assert_uint_eq(cly_graph_layer_count(cg), cly_graph_layer_count(g));
    for (size_t i = 0; i < cly_graph_layer_count(cg); i++) {
        cly_layer_info info;
        OK(NULL, cly_graph_layer_info(cg, i, &info));
        ck_assert_int_ne(info.type, CLY_LAYER_FC);
        if (strcmp(info.name, "fc8") == 0)
            ck_assert_msg(info.output.c == FCNET_CLASSES && info.output.h == 6 && info.output.w == 6,
                          "fc8 is %lld x %lld x %lld", (long long)info.output.c, (long long)info.output.h,
                          (long long)info.output.w);
        for (int kind = CLY_PARAM_WEIGHTS; kind <= CLY_PARAM_BIAS; kind++) {
            int64_t n = 0, m = 0;
            OK(ctx, cly_net_param_count(net, info.name, (cly_param_kind)kind, &n));
            OK(ctx, cly_net_param_count(cnet, info.name, (cly_param_kind)kind, &m));
            ck_assert_int_eq(n, m);
            if (!n)
                continue;
            float *a = malloc((size_t)n * sizeof *a), *b = malloc((size_t)n * sizeof *b);
            ck_assert(a && b);
            OK(ctx, cly_net_get_param(net, info.name, (cly_param_kind)kind, a, n));
            OK(ctx, cly_net_get_param(cnet, info.name, (cly_param_kind)kind, b, n));
            ck_assert_msg(memcmp(a, b, (size_t)n * sizeof *a) == 0, "%s: parameters changed", info.name);
            free(a);
            free(b);
        }
    }
    cly_net_destroy(cnet);
    cly_graph_destroy(cg);

    /* A net file (the original graph as text) gives net-file text. */
    char *text;
    size_t size;
    OK(NULL, cly_graph_to_text(g, &text, &size));
    snprintf(in, sizeof in, "%s/net.net", dir);
    snprintf(out, sizeof out, "%s/conv.net", dir);
    FILE *f = fopen(in, "w");
    ck_assert(f && fwrite(text, 1, size, f) == size && fclose(f) == 0);
    free(text);
    snprintf(args, sizeof args, "convert '%s' '%s'", in, out);
    ck_assert_int_eq(run_cli(args), 0);
    OK(NULL, cly_graph_load(out, &cg));
    OK(NULL, cly_graph_to_text(cg, &text, &size));
    ck_assert_msg(strstr(text, "conv fc6 < pool2 filters=32 size=7 relu\n") != NULL, "%s", text);
    free(text);
    cly_graph_destroy(cg);
    /* Usage errors exit 2, a missing input 1. */
    ck_assert_int_eq(run_cli("convert 2>/dev/null"), 2);
    snprintf(args, sizeof args, "convert '%s/nosuch.net' '%s' 2>/dev/null", dir, out);
    ck_assert_int_eq(run_cli(args), 1);

    cly_net_destroy(net);
    cly_graph_destroy(g);
    cly_context_destroy(ctx);
    cly_test_rmtree(dir);
}
END_TEST

int main(int argc, char **argv)
{
    clayer_cli = argc > 1 ? argv[1] : NULL;
    cly_test_require_device();
    Suite *s = suite_create("fc_conv");
    TCase *tc = tcase_create("fc_conv");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, stride32_map_equals_36_crops);
    tcase_add_test(tc, stride16_from_shifted_passes);
    tcase_add_test(tc, cli_convert_model);
    suite_add_tcase(s, tc);
    return cly_test_run(s, true);
}
