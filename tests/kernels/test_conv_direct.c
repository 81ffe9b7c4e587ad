/* cly_conv2d against the naive double-accumulating reference (test_util.c),
 * compared exactly: inputs and weights are small integers, so every float32
 * sum is exact and any difference is a real error. Output sizes in the
 * table are worked out by hand from (W + 2P - D(F-1) - 1)/S + 1. */
#include "test_util.h"

#include "conv_ref.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct conv_case {
    const char *name;
    int64_t n, c, h, w, k, fh, fw, s, p, d;
    bool bias;
    int64_t oh, ow;
} conv_case;

static const conv_case cases[] = {
    {"notes demo 5x5x3 K2 F3 S2 P1", 1, 3, 5, 5, 2, 3, 3, 2, 1, 1, true, 3, 3},
    {"numpy 11x11x4 F5 S2", 1, 4, 11, 11, 2, 5, 5, 2, 0, 1, true, 4, 4},
    {"same 3x3", 1, 3, 8, 8, 4, 3, 3, 1, 1, 1, true, 8, 8},
    {"1x1", 2, 16, 7, 7, 8, 1, 1, 1, 0, 1, true, 7, 7},
    {"1x1 stride 2", 1, 8, 7, 7, 4, 1, 1, 2, 0, 1, true, 4, 4},
    {"5x5 pad 2 no bias", 1, 2, 9, 9, 3, 5, 5, 1, 2, 1, false, 9, 9},
    {"4x4 stride 3", 1, 3, 10, 10, 2, 4, 4, 3, 0, 1, true, 3, 3},
    {"FC as conv 7x7", 1, 8, 7, 7, 10, 7, 7, 1, 0, 1, true, 1, 1},
    {"rectangular input", 1, 2, 7, 12, 3, 3, 3, 1, 0, 1, true, 5, 10},
    {"filter 1x3", 1, 2, 6, 9, 2, 1, 3, 1, 0, 1, true, 6, 7},
    {"filter 5x2", 1, 3, 9, 8, 4, 5, 2, 1, 0, 1, false, 5, 7},
    {"filter 3x1 S2 P1", 1, 2, 9, 9, 2, 3, 1, 2, 1, 1, true, 5, 6},
    {"dilation 2", 1, 2, 9, 9, 3, 3, 3, 1, 2, 2, true, 9, 9},
    {"dilation 2 stride 2", 1, 2, 11, 11, 2, 3, 3, 2, 0, 2, true, 4, 4},
    {"dilation 3", 1, 3, 10, 10, 2, 3, 3, 1, 0, 3, true, 4, 4},
    {"dilation 3 pad 3 no bias", 2, 2, 8, 8, 2, 3, 3, 1, 3, 3, false, 8, 8},
    {"dilated 2x3 filter", 1, 1, 10, 12, 2, 2, 3, 1, 0, 2, true, 8, 8},
    {"batch 3", 3, 3, 6, 6, 4, 3, 3, 1, 1, 1, true, 6, 6},
    {"batch 4 stride 2 no bias", 4, 2, 9, 9, 3, 3, 3, 2, 0, 1, false, 4, 4},
    {"batch 2 dilation 2", 2, 3, 7, 7, 2, 3, 3, 1, 2, 2, true, 7, 7},
    {"64 channels", 1, 64, 14, 14, 32, 3, 3, 1, 1, 1, true, 14, 14},
    {"1x1 image, 17 filters", 1, 5, 1, 1, 17, 1, 1, 1, 0, 1, true, 1, 1},
    {"1x1 image, 3x3 pad 1", 1, 3, 1, 1, 2, 3, 3, 1, 1, 1, true, 1, 1},
    {"pad wider than needed", 1, 1, 3, 3, 2, 3, 3, 1, 2, 1, true, 5, 5},
    {"stride past a 1x1 filter", 1, 2, 9, 9, 2, 1, 1, 2, 0, 1, true, 5, 5},
    {"odd everything", 3, 5, 13, 11, 7, 3, 5, 2, 1, 1, true, 7, 5},
    {"VGG-like no bias", 1, 16, 28, 28, 16, 3, 3, 1, 1, 1, false, 28, 28},
    {"7x7 S2 P3", 1, 3, 33, 33, 8, 7, 7, 2, 3, 1, true, 17, 17},
    {"dilation 0 means 1", 1, 2, 6, 6, 2, 3, 3, 1, 1, 0, true, 6, 6},
    {"batch 8, one 5x5 filter", 8, 1, 5, 5, 1, 5, 5, 1, 0, 1, true, 1, 1},
    {"ResNet-like 3x3 S2 P1", 2, 8, 15, 15, 8, 3, 3, 2, 1, 1, false, 8, 8},
};
enum { NCASES = sizeof cases / sizeof cases[0] };

static cly_context *ctx;

static void setup(void)
{
    ctx = cly_test_context();
}

static void teardown(void)
{
    cly_context_destroy(ctx);
    ctx = NULL;
}

START_TEST(test_table)
{
    const conv_case *t = &cases[_i];
    /* Keep the hand-worked sizes honest. */
    int64_t d = t->d ? t->d : 1;
    ck_assert_msg((t->h + 2 * t->p - d * (t->fh - 1) - 1) % t->s == 0 &&
                      (t->h + 2 * t->p - d * (t->fh - 1) - 1) / t->s + 1 == t->oh &&
                      (t->w + 2 * t->p - d * (t->fw - 1) - 1) / t->s + 1 == t->ow,
                  "table entry '%s' has wrong output sizes", t->name);
    char why[512];
    int64_t bad = cly_test_conv_check(ctx, (cly_shape){t->n, t->c, t->h, t->w}, (cly_shape){t->k, t->c, t->fh, t->fw},
                                      t->bias, CONV_P(t->s, t->p, t->d), t->oh, t->ow,
                                      (uint64_t)_i * 7919 + 1, why, sizeof why);
    ck_assert_msg(bad == 0, "%s: %lld mismatches: %s", t->name, (long long)bad, why);
}
END_TEST

/* Run one convolution on host arrays; output has n*k*oh*ow floats. */
static cly_status conv_host(cly_shape x, const float *hx, cly_shape f, const float *hw, const float *hb,
                            cly_conv_params p, int64_t oh, int64_t ow, float *hy)
{
    cly_tensor *tx = NULL, *tw = NULL, *tb = NULL, *ty = NULL;
    cly_shape y = {x.n, f.n, oh, ow};
    cly_status s;
    if ((s = cly_tensor_create(ctx, x, &tx)) || (s = cly_tensor_create(ctx, f, &tw)) ||
        (hb && (s = cly_tensor_create(ctx, (cly_shape){1, f.n, 1, 1}, &tb))) ||
        (s = cly_tensor_create(ctx, y, &ty)) || (s = cly_tensor_write(tx, hx, cly_tensor_count(tx))) ||
        (s = cly_tensor_write(tw, hw, cly_tensor_count(tw))) || (hb && (s = cly_tensor_write(tb, hb, f.n))) ||
        (s = cly_tensor_fill(ty, 99.0f)) || (s = cly_conv2d(ctx, tx, tw, tb, p, ty)) ||
        (s = cly_tensor_read(ty, hy, cly_tensor_count(ty))))
        goto done;
done:
    cly_tensor_destroy(tx);
    cly_tensor_destroy(tw);
    cly_tensor_destroy(tb);
    cly_tensor_destroy(ty);
    return s;
}

START_TEST(test_notes_1d)
{
    /* The notes' 1-D example: W=5, F=3, P=1, weights [1,0,-1], bias 0.
     * cly_conv2d pads H and W alike, so the row is a 1x5 image and the
     * filter a 3x3 whose top and bottom rows are zero: with H=1, P=1 the
     * padded rows only ever meet those zeros, and H gives one output. */
    const float x[5] = {1, 2, -1, 1, -3};
    const float w[9] = {0, 0, 0, 1, 0, -1, 0, 0, 0};
    const float b[1] = {0};
    const cly_shape xs = {1, 1, 1, 5}, fs = {1, 1, 3, 3};
    float y[5];
    ck_assert_int_eq(conv_host(xs, x, fs, w, b, CONV_P(1, 1, 1), 1, 5, y), CLY_SUCCESS);
    const float s1[5] = {-2, 2, 1, 2, 1}; /* x[i-1] - x[i+1] */
    for (int i = 0; i < 5; i++)
        ck_assert_msg(y[i] == s1[i], "S=1: y[%d] = %g, want %g", i, y[i], s1[i]);
    ck_assert_int_eq(conv_host(xs, x, fs, w, b, CONV_P(2, 1, 1), 1, 3, y), CLY_SUCCESS);
    const float s2[3] = {-2, 1, 1};
    for (int i = 0; i < 3; i++)
        ck_assert_msg(y[i] == s2[i], "S=2: y[%d] = %g, want %g", i, y[i], s2[i]);
    /* S=3: (5 - 3 + 2)/3 + 1 is not an integer. */
    ck_assert_int_eq(conv_host(xs, x, fs, w, b, CONV_P(3, 1, 1), 1, 2, y), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_msg(strstr(cly_last_error(ctx), "(5 - 3 + 2*1)/3 + 1") &&
                      strstr(cly_last_error(ctx), "is not an integer"),
                  "%s", cly_last_error(ctx));

    /* Taken literally (H=1, FH=1) the shared padding adds two rows of
     * padding-only outputs around the 1-D result. */
    float y3[15];
    ck_assert_int_eq(conv_host(xs, x, (cly_shape){1, 1, 1, 3}, w + 3, b, CONV_P(1, 1, 1), 3, 5, y3),
                     CLY_SUCCESS);
    for (int i = 0; i < 5; i++) {
        ck_assert(y3[i] == 0 && y3[10 + i] == 0);
        ck_assert_msg(y3[5 + i] == s1[i], "FH=1: y[1][%d] = %g, want %g", i, y3[5 + i], s1[i]);
    }

    /* Dilation 2 spaces the taps: w0*x0 + w1*x2 + w2*x4. */
    const float xd[5] = {1, 2, 3, 4, 5}, wd[3] = {1, 10, 100};
    ck_assert_int_eq(conv_host(xs, xd, (cly_shape){1, 1, 1, 3}, wd, NULL, CONV_P(1, 0, 2), 1, 1, y),
                     CLY_SUCCESS);
    ck_assert_msg(y[0] == 531.0f, "dilated: %g", y[0]);
}
END_TEST

START_TEST(test_numpy_example)
{
    /* The notes index X[x, y, d] (x along the width, y down the height, d
     * the depth) and filters W0[i, j, d] the same way; clayer is NCHW. So
     *   X[x, y, d]  = in[0][d][y][x]
     *   W0[i, j, d] = w[0][d][j][i]
     *   V[x, y, k]  = out[0][k][y][x]
     * and V[1,0,0] = sum(X[2:7, :5, :] * W0) + b0 moves two columns right. */
    enum { C = 4, H = 11, W = 11, K = 2, F = 5, OH = 4, OW = 4 };
    float x[C * H * W], w[K * C * F * F], b[K], y[K * OH * OW];
    uint64_t seed = 2024;
    cly_test_fill(x, C * H * W, 2, &seed);
    cly_test_fill(w, K * C * F * F, 2, &seed);
    cly_test_fill(b, K, 3, &seed);
    ck_assert_int_eq(conv_host((cly_shape){1, C, H, W}, x, (cly_shape){K, C, F, F}, w, b, CONV_P(2, 0, 1),
                               OH, OW, y),
                     CLY_SUCCESS);
#define X(xx, yy, dd) x[((dd) * H + (yy)) * W + (xx)]
#define W0(i, j, dd) w[((0 * C + (dd)) * F + (j)) * F + (i)]
    double v000 = b[0], v100 = b[0], v010 = b[0];
    for (int i = 0; i < F; i++)
        for (int j = 0; j < F; j++)
            for (int d = 0; d < C; d++) {
                v000 += X(i, j, d) * W0(i, j, d);     /* X[:5, :5, :] */
                v100 += X(2 + i, j, d) * W0(i, j, d); /* X[2:7, :5, :] */
                v010 += X(i, 2 + j, d) * W0(i, j, d); /* X[:5, 2:7, :] */
            }
#undef X
#undef W0
    ck_assert_msg(y[0 * OW + 0] == (float)v000, "V[0,0,0] = %g, want %g", y[0], v000);
    ck_assert_msg(y[0 * OW + 1] == (float)v100, "V[1,0,0] = %g, want %g", y[1], v100);
    ck_assert_msg(y[1 * OW + 0] == (float)v010, "V[0,1,0] = %g, want %g", y[OW], v010);
    ck_assert_msg(v000 != v100, "degenerate fill: V[0,0,0] == V[1,0,0]");

    float ref[K * OH * OW];
    ref_conv_shapes(x, (cly_shape){1, C, H, W}, w, (cly_shape){K, C, F, F}, b, CONV_P(2, 0, 1), OH, OW,
                      ref);
    for (int i = 0; i < K * OH * OW; i++)
        ck_assert_msg(y[i] == ref[i], "out[%d] = %g, want %g", i, y[i], ref[i]);
}
END_TEST

START_TEST(test_alexnet_conv1)
{
    const cly_shape x = {1, 3, 227, 227}, f = {96, 3, 11, 11};
    cly_tensor *tw = NULL, *tb = NULL;
    ck_assert_int_eq(cly_tensor_create(ctx, f, &tw), CLY_SUCCESS);
    ck_assert_int_eq(cly_tensor_create(ctx, (cly_shape){1, 96, 1, 1}, &tb), CLY_SUCCESS);
    ck_assert_int_eq(cly_tensor_count(tw), 34848);
    ck_assert_int_eq(cly_tensor_count(tw) + cly_tensor_count(tb), 34944);
    cly_tensor_destroy(tw);
    cly_tensor_destroy(tb);

    char why[512];
    int64_t bad = cly_test_conv_check(ctx, x, f, true, CONV_P(4, 0, 1), 55, 55, 42, why, sizeof why);
    ck_assert_msg(bad == 0, "AlexNet conv1: %lld mismatches: %s", (long long)bad, why);
    /* 55 x 55 x 96 outputs: one fewer row does not fit. */
    bad = cly_test_conv_check(ctx, x, f, true, CONV_P(4, 0, 1), 54, 55, 42, why, sizeof why);
    ck_assert_int_eq(bad, -1);
    ck_assert_msg(strstr(why, "expected 1x96x55x55") != NULL, "%s", why);
}
END_TEST

/* A failing cly_conv2d leaves `want` in the message and the output alone. */
static void expect_fail(const cly_tensor *x, const cly_tensor *w, const cly_tensor *b, cly_conv_params p, cly_tensor *y,
                        cly_status want, const char *needle)
{
    ck_assert_int_eq(cly_tensor_fill(y, 7.0f), CLY_SUCCESS);
    cly_status s = cly_conv2d(ctx, x, w, b, p, y);
    ck_assert_msg(s == want, "got %s, want %s: %s", cly_status_string(s), cly_status_string(want), cly_last_error(ctx));
    ck_assert_msg(strstr(cly_last_error(ctx), needle) != NULL, "'%s' not in: %s", needle, cly_last_error(ctx));
    float *out = malloc((size_t)cly_tensor_count(y) * sizeof *out);
    ck_assert_int_eq(cly_tensor_read(y, out, cly_tensor_count(y)), CLY_SUCCESS);
    for (int64_t i = 0; i < cly_tensor_count(y); i++)
        ck_assert_msg(out[i] == 7.0f, "output %lld changed by a failing call", (long long)i);
    free(out);
}

static cly_tensor *make(cly_shape s)
{
    cly_tensor *t = NULL;
    ck_assert_msg(cly_tensor_create(ctx, s, &t) == CLY_SUCCESS, "%s", cly_last_error(ctx));
    return t;
}

START_TEST(test_errors)
{
    /* The notes' demo: 5x5x3, K=2, F=3, S=2, P=1 -> 3x3x2. */
    cly_tensor *x = make((cly_shape){1, 3, 5, 5}), *w = make((cly_shape){2, 3, 3, 3});
    cly_tensor *b = make((cly_shape){1, 2, 1, 1}), *y = make((cly_shape){1, 2, 3, 3});
    ck_assert_int_eq(cly_tensor_fill(x, 1.0f), CLY_SUCCESS);
    ck_assert_int_eq(cly_tensor_fill(w, 1.0f), CLY_SUCCESS);
    ck_assert_int_eq(cly_tensor_fill(b, 0.0f), CLY_SUCCESS);
    const cly_conv_params ok = CONV_P(2, 1, 1);

    cly_tensor *bad_y[] = {make((cly_shape){1, 2, 3, 4}), make((cly_shape){2, 2, 3, 3}), make((cly_shape){1, 3, 3, 3}),
                           make((cly_shape){1, 2, 9, 1})};
    for (size_t i = 0; i < 4; i++)
        expect_fail(x, w, b, ok, bad_y[i], CLY_ERROR_SHAPE_MISMATCH, "expected 1x2x3x3");
    cly_tensor *bad_b[] = {make((cly_shape){1, 3, 1, 1}), make((cly_shape){2, 1, 1, 1}), make((cly_shape){1, 1, 1, 2})};
    for (size_t i = 0; i < 3; i++)
        expect_fail(x, w, bad_b[i], ok, y, CLY_ERROR_SHAPE_MISMATCH, "expected 1x2x1x1");
    cly_tensor *w4 = make((cly_shape){2, 4, 3, 3});
    expect_fail(x, w4, b, ok, y, CLY_ERROR_SHAPE_MISMATCH, "have 4 channels per filter");

    /* Hyperparameters. */
    expect_fail(x, w, b, CONV_P(-2, 1, 1), y, CLY_ERROR_INVALID_ARGUMENT, "stride -2x-2 must be >= 1");
    expect_fail(x, w, b, CONV_P(2, -1, 1), y, CLY_ERROR_INVALID_ARGUMENT, "padding top -1, bottom -1, left -1, right -1");
    expect_fail(x, w, b, CONV_P(2, 1, -2), y, CLY_ERROR_INVALID_ARGUMENT, "dilation -2x-2 must be >= 1");
    cly_tensor *w7 = make((cly_shape){2, 3, 7, 7});
    expect_fail(x, w7, b, CONV_P(1, 0, 1), y, CLY_ERROR_INVALID_ARGUMENT, "larger than the padded input");
    /* The notes' invalid setting: W=10, F=3, P=0, S=2 (H=9 is fine). */
    cly_tensor *x10 = make((cly_shape){1, 3, 9, 10});
    expect_fail(x10, w, b, CONV_P(2, 0, 1), y, CLY_ERROR_INVALID_ARGUMENT,
                "cly_conv2d: (W - F + 2P)/S + 1 = (10 - 3 + 2*0)/2 + 1 = 4.5 is not an integer");

    /* NULL and foreign tensors. */
    ck_assert_int_eq(cly_conv2d(NULL, x, w, b, ok, y), CLY_ERROR_INVALID_ARGUMENT);
    expect_fail(NULL, w, b, ok, y, CLY_ERROR_INVALID_ARGUMENT, "must not be NULL");
    expect_fail(x, NULL, b, ok, y, CLY_ERROR_INVALID_ARGUMENT, "must not be NULL");
    ck_assert_int_eq(cly_conv2d(ctx, x, w, b, ok, NULL), CLY_ERROR_INVALID_ARGUMENT);
    cly_context *other = cly_test_context();
    cly_tensor *ox = NULL;
    ck_assert_int_eq(cly_tensor_create(other, (cly_shape){1, 3, 5, 5}, &ox), CLY_SUCCESS);
    expect_fail(ox, w, b, ok, y, CLY_ERROR_INVALID_ARGUMENT, "belong to ctx");
    cly_tensor_destroy(ox);
    cly_context_destroy(other);

    /* Validation happens before any kernel is built. */
    cly_context_stats st;
    ck_assert_int_eq(cly_context_stats_get(ctx, &st), CLY_SUCCESS);
    ck_assert_int_eq(st.programs_built + st.programs_from_cache, 0);

    /* And the valid call still works: every output = 0 + sum of ones in
     * the window (4 at a corner, 6 on an edge, 9 inside) x 3 channels. */
    ck_assert_int_eq(cly_conv2d(ctx, x, w, b, ok, y), CLY_SUCCESS);
    float out[18];
    ck_assert_int_eq(cly_tensor_read(y, out, 18), CLY_SUCCESS);
    const float want[9] = {12, 18, 12, 18, 27, 18, 12, 18, 12};
    for (int i = 0; i < 18; i++)
        ck_assert_msg(out[i] == want[i % 9], "out[%d] = %g, want %g", i, out[i], want[i % 9]);

    for (size_t i = 0; i < 4; i++)
        cly_tensor_destroy(bad_y[i]);
    for (size_t i = 0; i < 3; i++)
        cly_tensor_destroy(bad_b[i]);
    cly_tensor_destroy(w4);
    cly_tensor_destroy(w7);
    cly_tensor_destroy(x10);
    cly_tensor_destroy(x);
    cly_tensor_destroy(w);
    cly_tensor_destroy(b);
    cly_tensor_destroy(y);
}
END_TEST

START_TEST(test_bias_toggle)
{
    /* With and without bias in one context: the results differ by exactly
     * the bias. */
    float x[50], w[27], b[3] = {5, -4, 1}, y1[72], y0[72];
    uint64_t seed = 5;
    cly_test_fill(x, 50, 2, &seed);
    cly_test_fill(w, 27, 2, &seed);
    const cly_shape xs = {1, 1, 5, 10}, fs = {3, 1, 3, 3};
    ck_assert_int_eq(conv_host(xs, x, fs, w, b, CONV_P(1, 0, 1), 3, 8, y1), CLY_SUCCESS);
    ck_assert_int_eq(conv_host(xs, x, fs, w, NULL, CONV_P(1, 0, 1), 3, 8, y0), CLY_SUCCESS);
    for (int i = 0; i < 72; i++)
        ck_assert_msg(y1[i] - y0[i] == b[i / 24], "out[%d]: %g vs %g", i, y1[i], y0[i]);
}
END_TEST

int main(void)
{
    cly_test_require_device();
    Suite *s = suite_create("conv_direct");
    TCase *tc = tcase_create("conv_direct");
    tcase_set_timeout(tc, CLY_TEST_TIMEOUT);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, test_table, 0, NCASES);
    tcase_add_test(tc, test_notes_1d);
    tcase_add_test(tc, test_numpy_example);
    tcase_add_test(tc, test_alexnet_conv1);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_bias_toggle);
    suite_add_tcase(s, tc);
    return cly_test_run(s, true);
}
