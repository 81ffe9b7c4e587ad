/* LRN, batch normalisation (inference) and softmax against naive references
 * in double. Real-valued fills; tolerances are stated per check. */
#include "lrn_ref.h"
#include "ops_test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int64_t count_of(cly_shape s)
{
    return s.n * s.c * s.h * s.w;
}

/* ---- LRN */

static void check_lrn(cly_context *ctx, cly_shape s, cly_lrn_params p, double range, unsigned seed)
{
    int64_t n = count_of(s);
    float *x = malloc((size_t)n * 4), *y = malloc((size_t)n * 4);
    double *want = malloc((size_t)n * 8);
    ot_fill_real(x, n, seed, -range, range);
    cly_buf bx = ot_upload(ctx, x, n, 4), by = ot_alloc(ctx, n, 4);
    ck_assert_msg(cly_lrn_forward(ctx, s, &p, bx, by) == CLY_SUCCESS, "%s", cly_last_error(ctx));
    ot_download(ctx, by, y, n, 4);
    ref_lrn(s, &p, x, want);
    char what[128];
    snprintf(what, sizeof what, "lrn " CLY_SHAPE_FMT " size %lld alpha %g%s beta %g k %g", CLY_SHAPE_ARGS(s),
             (long long)p.size, p.alpha, p.alpha_mode == CLY_LRN_ALPHA_RAW ? " raw" : "/size", p.beta, p.k);
    /* y = x * f(window): its relative error is f's, a float sum of `size`
     * squares and a pow(): 1e-5 relative. */
    ot_check_rel(y, want, n, 1e-5, 1e-12, what);
    ot_free(bx);
    ot_free(by);
    free(x);
    free(y);
    free(want);
}

START_TEST(lrn_shapes_and_modes)
{
    cly_context *ctx = ot_context();
    const struct {
        cly_shape s;
        cly_lrn_params p;
        double range;
    } cases[] = {
        /* AlexNet paper: k = 2, n = 5, alpha = 1e-4, beta = 0.75, alpha raw;
         * values up to 30 so that the alpha term matters. */
        {{2, 16, 7, 9}, {5, 1e-4, 0.75, 2.0, CLY_LRN_ALPHA_RAW}, 30.0},
        /* Caffe/PyTorch: the same numbers, alpha over size (GoogLeNet: k = 1). */
        {{2, 16, 7, 9}, {5, 1e-4, 0.75, 2.0, CLY_LRN_ALPHA_OVER_SIZE}, 30.0},
        {{1, 12, 5, 5}, {5, 1e-4, 0.75, 1.0, CLY_LRN_ALPHA_OVER_SIZE}, 30.0},
        /* Strong normalisation, both modes. */
        {{3, 7, 3, 4}, {3, 0.5, 0.75, 1.0, CLY_LRN_ALPHA_RAW}, 2.0},
        {{3, 7, 3, 4}, {3, 0.5, 0.75, 1.0, CLY_LRN_ALPHA_OVER_SIZE}, 2.0},
        /* Even sizes: the window reaches one further down (PyTorch). */
        {{2, 9, 4, 3}, {4, 0.3, 0.6, 1.5, CLY_LRN_ALPHA_OVER_SIZE}, 2.0},
        {{2, 9, 4, 3}, {2, 0.3, 0.6, 1.5, CLY_LRN_ALPHA_RAW}, 2.0},
        /* Size 1, and a window wider than all channels. */
        {{2, 5, 3, 3}, {1, 1.0, 0.5, 1.0, CLY_LRN_ALPHA_RAW}, 2.0},
        {{2, 3, 2, 5}, {7, 0.7, 0.75, 1.0, CLY_LRN_ALPHA_OVER_SIZE}, 2.0},
        /* 1x1 planes, one channel. */
        {{4, 6, 1, 1}, {5, 0.2, 0.75, 2.0, CLY_LRN_ALPHA_RAW}, 2.0},
        {{3, 1, 2, 2}, {5, 0.2, 0.75, 2.0, CLY_LRN_ALPHA_OVER_SIZE}, 2.0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_lrn(ctx, cases[i].s, cases[i].p, cases[i].range, (unsigned)i);
    cly_context_destroy(ctx);
}
END_TEST

/* An even window pinned by hand: x = 1, 2, 3, 4 over four channels, size 2,
 * alpha 1 raw, k 1, beta 1: the window of c is c-1 .. c (PyTorch: pre = 2/2 = 1),
 * so y[0] = 1/(1 + 1) (clipped at the bottom) and y[3] = 4/(1 + 9 + 16). */
START_TEST(lrn_even_window_by_hand)
{
    cly_context *ctx = ot_context();
    const float x[4] = {1, 2, 3, 4};
    float y[4];
    cly_lrn_params p = {.size = 2, .alpha = 1.0, .beta = 1.0, .k = 1.0, .alpha_mode = CLY_LRN_ALPHA_RAW};
    cly_buf bx = ot_upload(ctx, x, 4, 4), by = ot_alloc(ctx, 4, 4);
    ck_assert_int_eq(cly_lrn_forward(ctx, (cly_shape){1, 4, 1, 1}, &p, bx, by), CLY_SUCCESS);
    ot_download(ctx, by, y, 4, 4);
    ck_assert_float_eq_tol(y[0], 1.0f / 2.0f, 1e-6f);
    ck_assert_float_eq_tol(y[1], 2.0f / 6.0f, 1e-6f);
    ck_assert_float_eq_tol(y[2], 3.0f / 14.0f, 1e-6f);
    ck_assert_float_eq_tol(y[3], 4.0f / 26.0f, 1e-6f);
    /* alpha over size halves the alpha term: y[0] = 1/(1 + 1/2). */
    p.alpha_mode = CLY_LRN_ALPHA_OVER_SIZE;
    ck_assert_int_eq(cly_lrn_forward(ctx, (cly_shape){1, 4, 1, 1}, &p, bx, by), CLY_SUCCESS);
    ot_download(ctx, by, y, 4, 4);
    ck_assert_float_eq_tol(y[0], 1.0f / 1.5f, 1e-6f);
    ot_free(bx);
    ot_free(by);
    cly_context_destroy(ctx);
}
END_TEST

START_TEST(lrn_bad_params_refused)
{
    cly_context *ctx = ot_context();
    cly_buf bx = ot_alloc(ctx, 8, 4), by = ot_alloc(ctx, 8, 4);
    cly_lrn_params p = {.size = 0, .alpha = 1e-4, .beta = 0.75, .k = 2};
    ck_assert_int_eq(cly_lrn_forward(ctx, (cly_shape){1, 8, 1, 1}, &p, bx, by), CLY_ERROR_INVALID_ARGUMENT);
    p.size = 5;
    ck_assert_int_eq(cly_lrn_forward(ctx, (cly_shape){1, 8, 1, 1}, &p, bx, bx), CLY_ERROR_INVALID_ARGUMENT);
    /* A negative k or alpha can make k + alpha * sum x^2 negative: NaN. */
    p.k = -1;
    cly_status s = cly_lrn_forward(ctx, (cly_shape){1, 8, 1, 1}, &p, bx, by);
    ck_assert_int_eq(s, CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_str_eq(cly_last_error(ctx), "lrn: k = -1 and alpha = 0.0001 must be >= 0");
    cly_buf bdy = ot_alloc(ctx, 8, 4), bdx = ot_alloc(ctx, 8, 4);
    s = cly_lrn_backward(ctx, (cly_shape){1, 8, 1, 1}, &p, bx, by, bdy, bdx, 0);
    ck_assert_int_eq(s, CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_str_eq(cly_last_error(ctx), "lrn backward: k = -1 and alpha = 0.0001 must be >= 0");
    p.k = 2;
    p.alpha = -1e-4;
    ck_assert_int_eq(cly_lrn_forward(ctx, (cly_shape){1, 8, 1, 1}, &p, bx, by), CLY_ERROR_INVALID_ARGUMENT);
    p.alpha = 1e-4;
    p.k = 0; /* allowed: k = 0 is PyTorch's and Caffe's to choose */
    ck_assert_int_eq(cly_lrn_forward(ctx, (cly_shape){1, 8, 1, 1}, &p, bx, by), CLY_SUCCESS);
    p.k = 2;
    ot_free(bdy);
    ot_free(bdx);
    /* Disjoint ranges of one buffer (a planned arena) are fine. */
    cly_buf lo = ot_alloc(ctx, 16, 4), hi = {lo.mem, lo.offset + 8};
    ck_assert_int_eq(cly_lrn_forward(ctx, (cly_shape){1, 8, 1, 1}, &p, lo, (cly_buf){lo.mem, lo.offset + 4}),
                     CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_lrn_forward(ctx, (cly_shape){1, 8, 1, 1}, &p, lo, hi), CLY_SUCCESS);
    ck_assert_int_eq(cly_context_finish(ctx), CLY_SUCCESS);
    ot_free(lo);
    ot_free(bx);
    ot_free(by);
    cly_context_destroy(ctx);
}
END_TEST

/* ---- batch normalisation */

static void check_bn(cly_context *ctx, cly_shape s, double eps, bool in_place, unsigned seed)
{
    int64_t n = count_of(s), c = s.c, hw = s.h * s.w;
    float *x = malloc((size_t)n * 4), *y = malloc((size_t)n * 4), *prm = malloc((size_t)(4 * c) * 4);
    double *want = malloc((size_t)n * 8);
    float *scale = prm, *shift = prm + c, *mean = prm + 2 * c, *var = prm + 3 * c;
    ot_fill_real(x, n, seed, -2.0, 2.0);
    ot_fill_real(scale, c, seed + 1, -2.0, 2.0);
    ot_fill_real(shift, c, seed + 2, -1.0, 1.0);
    ot_fill_real(mean, c, seed + 3, -1.0, 1.0);
    ot_fill_real(var, c, seed + 4, 0.0, 2.0); /* near-zero variances make eps matter */
    for (int64_t i = 0; i < n; i++) {
        int64_t ch = (i / hw) % c;
        want[i] = scale[ch] * ((double)x[i] - mean[ch]) / sqrt((double)var[ch] + eps) + shift[ch];
    }
    cly_buf bx = ot_upload(ctx, x, n, 4), by = in_place ? bx : ot_alloc(ctx, n, 4);
    cly_buf bs = ot_upload(ctx, scale, c, 4), bh = ot_upload(ctx, shift, c, 4), bm = ot_upload(ctx, mean, c, 4),
            bv = ot_upload(ctx, var, c, 4);
    ck_assert_msg(cly_batchnorm_forward(ctx, s, eps, bx, bs, bh, bm, bv, by) == CLY_SUCCESS, "%s",
                  cly_last_error(ctx));
    ot_download(ctx, by, y, n, 4);
    /* 1e-5 of max(|y|, 1): x - mean and + shift cancel near zero. */
    ot_check_rel(y, want, n, 1e-5, 1.0, in_place ? "batchnorm in place" : "batchnorm");
    if (!in_place)
        ot_free(by);
    ot_free(bx);
    ot_free(bs);
    ot_free(bh);
    ot_free(bm);
    ot_free(bv);
    free(x);
    free(y);
    free(prm);
    free(want);
}

START_TEST(batchnorm_shapes)
{
    cly_context *ctx = ot_context();
    check_bn(ctx, (cly_shape){2, 5, 7, 3}, 1e-5, false, 1); /* ResNet epsilon */
    check_bn(ctx, (cly_shape){2, 5, 7, 3}, 1e-3, false, 2); /* some nets use 1e-3 */
    check_bn(ctx, (cly_shape){4, 10, 1, 1}, 1e-5, false, 3);
    check_bn(ctx, (cly_shape){1, 64, 56, 56}, 1e-5, true, 4);
    check_bn(ctx, (cly_shape){3, 1, 9, 11}, 1e-5, true, 5);
    cly_context_destroy(ctx);
}
END_TEST

/* ---- softmax */

static void check_softmax(cly_context *ctx, cly_shape s, double lo, double hi, bool in_place, unsigned seed)
{
    int64_t n = count_of(s), hw = s.h * s.w;
    float *x = malloc((size_t)n * 4), *y = malloc((size_t)n * 4);
    double *want = malloc((size_t)n * 8);
    ot_fill_real(x, n, seed, lo, hi);
    for (int64_t b = 0; b < s.n; b++)
        for (int64_t q = 0; q < hw; q++) {
            double m = -INFINITY, sum = 0.0;
            for (int64_t c = 0; c < s.c; c++)
                m = fmax(m, x[(b * s.c + c) * hw + q]);
            for (int64_t c = 0; c < s.c; c++)
                sum += exp(x[(b * s.c + c) * hw + q] - m);
            for (int64_t c = 0; c < s.c; c++)
                want[(b * s.c + c) * hw + q] = exp(x[(b * s.c + c) * hw + q] - m) / sum;
        }
    cly_buf bx = ot_upload(ctx, x, n, 4), by = in_place ? bx : ot_alloc(ctx, n, 4);
    ck_assert_msg(cly_softmax_forward(ctx, s, bx, by) == CLY_SUCCESS, "%s", cly_last_error(ctx));
    ot_download(ctx, by, y, n, 4);
    char what[96];
    snprintf(what, sizeof what, "softmax " CLY_SHAPE_FMT " in [%g, %g]%s", CLY_SHAPE_ARGS(s), lo, hi,
             in_place ? " in place" : "");
    /* exp of a float difference of up to 40 loses some 40 ulp: 1e-5. */
    ot_check_rel(y, want, n, 1e-5, 1e-30, what);
    for (int64_t b = 0; b < s.n; b++)
        for (int64_t q = 0; q < hw; q++) {
            double sum = 0.0;
            for (int64_t c = 0; c < s.c; c++)
                sum += y[(b * s.c + c) * hw + q];
            ck_assert_msg(fabs(sum - 1.0) <= 1e-5, "%s: column (%lld, %lld) sums to %.9g", what, (long long)b,
                          (long long)q, sum);
        }
    if (!in_place)
        ot_free(by);
    ot_free(bx);
    free(x);
    free(y);
    free(want);
}

START_TEST(softmax_shapes)
{
    cly_context *ctx = ot_context();
    check_softmax(ctx, (cly_shape){2, 10, 3, 4}, -3.0, 3.0, false, 1);
    check_softmax(ctx, (cly_shape){4, 1000, 1, 1}, -5.0, 5.0, false, 2); /* an ImageNet classifier head */
    check_softmax(ctx, (cly_shape){1, 1, 5, 5}, -3.0, 3.0, false, 3);    /* one class: all ones */
    check_softmax(ctx, (cly_shape){3, 7, 1, 1}, -3.0, 3.0, true, 4);
    /* exp(100) overflows float: only the max-subtracted form survives. */
    check_softmax(ctx, (cly_shape){3, 21, 2, 3}, 100.0, 140.0, false, 5);
    check_softmax(ctx, (cly_shape){2, 6, 6, 6}, -140.0, -100.0, true, 6);
    cly_context_destroy(ctx);
}
END_TEST

START_TEST(small_all_kernels)
{
    cly_context *ctx = ot_context();
    check_lrn(ctx, (cly_shape){2, 6, 3, 2}, (cly_lrn_params){5, 0.5, 0.75, 2.0, CLY_LRN_ALPHA_RAW}, 2.0, 1);
    check_lrn(ctx, (cly_shape){2, 6, 3, 2}, (cly_lrn_params){4, 0.5, 0.75, 1.0, CLY_LRN_ALPHA_OVER_SIZE}, 2.0, 2);
    check_bn(ctx, (cly_shape){2, 3, 3, 5}, 1e-5, false, 3);
    check_bn(ctx, (cly_shape){2, 3, 3, 5}, 1e-3, true, 4);
    check_softmax(ctx, (cly_shape){2, 5, 2, 3}, -3.0, 3.0, false, 5);
    check_softmax(ctx, (cly_shape){3, 4, 1, 1}, 100.0, 140.0, true, 6);
    cly_context_destroy(ctx);
}
END_TEST

static Suite *unit_suite(void)
{
    Suite *s = suite_create("norm");
    TCase *tc = ot_tcase("forward");
    tcase_add_test(tc, lrn_shapes_and_modes);
    tcase_add_test(tc, lrn_even_window_by_hand);
    tcase_add_test(tc, lrn_bad_params_refused);
    tcase_add_test(tc, batchnorm_shapes);
    tcase_add_test(tc, softmax_shapes);
    suite_add_tcase(s, tc);
    return s;
}

static Suite *small_suite(void)
{
    Suite *s = suite_create("norm-oclgrind");
    TCase *tc = ot_tcase("small");
    tcase_add_test(tc, small_all_kernels);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    return ot_main(argc, argv, unit_suite, small_suite);
}
