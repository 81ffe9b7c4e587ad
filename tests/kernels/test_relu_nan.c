/* One ReLU for every kernel (CLY_RELU in cl/common.cl): a convolution with
 * its ReLU fused and the same convolution followed by the ReLU layer agree
 * bit for bit, NaN included (the fused epilogues once mapped NaN to 0).
 * Every forward algorithm, with and without bias, float and double. */
#include "test_util.h"
#include "kernels/kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static cly_tensor *tensor(cly_context *ctx, int64_t count, const float *src)
{
    cly_tensor *t;
    ck_assert_int_eq(cly_tensor_create(ctx, (cly_shape){1, 1, 1, count}, &t), CLY_SUCCESS);
    if (src)
        ck_assert_int_eq(cly_tensor_write(t, src, count), CLY_SUCCESS);
    return t;
}

static cly_buf buf(const cly_tensor *t)
{
    return (cly_buf){t->buffer, t->offset};
}

/* Runs fused and separate for one algorithm; returns the NaNs seen. */
static int64_t compare(cly_context *ctx, cly_conv_algo algo, int64_t size, int64_t pad, bool bias)
{
    const cly_conv_params p = {.filters = 4, .size = {size, size}, .pad = CLY_PAD(pad), .no_bias = !bias};
    cly_conv_geom g;
    char msg[256];
    ck_assert_msg(cly_conv_geom_make(&p, (cly_shape){2, 3, 6, 6}, &g, NULL, msg, sizeof msg), "%s", msg);
    ck_assert_msg(cly_conv_supports(ctx, algo, &g), "%s cannot run the case", cly_conv_algo_string(algo));
    const int64_t nx = g.n * g.c * g.h * g.w, nw = g.k * g.c * g.fh * g.fw, ny = g.n * g.k * g.oh * g.ow;
    float *x = malloc((size_t)nx * sizeof *x), *w = malloc((size_t)nw * sizeof *w), b[4] = {1, -2, 0.5f, -0.25f};
    uint64_t seed = 11;
    cly_test_fill(x, (size_t)nx, 3, &seed);
    cly_test_fill(w, (size_t)nw, 2, &seed);
    x[7] = NAN;       /* sample 0, channel 0 */
    x[nx - 5] = NAN;  /* sample 1, last channel */
    x[nx / 2] = -NAN; /* a NaN with the sign bit */
    int64_t ws_elems = cly_conv_workspace(ctx, algo, &g);
    cly_tensor *tx = tensor(ctx, nx, x), *tw = tensor(ctx, nw, w), *tb = tensor(ctx, 4, b);
    cly_tensor *fused = tensor(ctx, ny, NULL), *apart = tensor(ctx, ny, NULL);
    cly_tensor *ws = tensor(ctx, ws_elems > 0 ? ws_elems : 1, NULL);
    cly_conv_geom plain = g;
    g.relu = true;
    plain.relu = false;
    ck_assert_msg(cly_conv_forward(ctx, algo, &g, buf(tx), buf(tw), buf(tb), buf(fused), buf(ws)) == CLY_SUCCESS, "%s",
                  cly_last_error(ctx));
    ck_assert_msg(cly_conv_forward(ctx, algo, &plain, buf(tx), buf(tw), buf(tb), buf(apart), buf(ws)) == CLY_SUCCESS,
                  "%s", cly_last_error(ctx));
    ck_assert_msg(cly_relu_forward(ctx, ny, buf(apart), buf(apart)) == CLY_SUCCESS, "%s", cly_last_error(ctx));
    double *a = malloc((size_t)ny * sizeof *a), *s = malloc((size_t)ny * sizeof *s);
    ck_assert_int_eq(cly_tensor_read_f64(fused, a, ny), CLY_SUCCESS);
    ck_assert_int_eq(cly_tensor_read_f64(apart, s, ny), CLY_SUCCESS);
    int64_t nans = 0, negatives = 0;
    for (int64_t i = 0; i < ny; i++) {
        ck_assert_msg(isnan(a[i]) == isnan(s[i]) && (isnan(a[i]) || a[i] == s[i]),
                      "%s (bias %d): output %lld fused %g, separate %g", cly_conv_algo_string(algo), bias,
                      (long long)i, a[i], s[i]);
        nans += isnan(a[i]) != 0;
        negatives += a[i] < 0;
    }
    ck_assert_int_eq(negatives, 0);
    free(a);
    free(s);
    free(x);
    free(w);
    cly_tensor *ts[] = {tx, tw, tb, fused, apart, ws};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
        cly_tensor_destroy(ts[i]);
    return nans;
}

static void run_all(cly_context *ctx)
{
    for (int bias = 0; bias < 2; bias++) {
        ck_assert_int_gt(compare(ctx, CLY_CONV_DIRECT, 3, 1, bias), 0);
        ck_assert_int_gt(compare(ctx, CLY_CONV_IM2COL, 3, 1, bias), 0);
        ck_assert_int_gt(compare(ctx, CLY_CONV_GEMM1X1, 1, 0, bias), 0);
        ck_assert_int_gt(compare(ctx, CLY_CONV_DIRECT, 1, 0, bias), 0); /* direct's unpacked 1x1 path */
        ck_assert_int_gt(compare(ctx, CLY_CONV_WINOGRAD, 3, 1, bias), 0);
    }
    /* The fully connected layer's fused ReLU (its bias_act epilogue). */
    enum { N = 2, IN = 6, OUT = 5 };
    float x[N * IN], w[OUT * IN], b[OUT] = {1, -2, 0.5f, -0.25f, 0};
    uint64_t seed = 7;
    cly_test_fill(x, N * IN, 3, &seed);
    cly_test_fill(w, OUT * IN, 2, &seed);
    x[3] = NAN;
    x[IN + 1] = -NAN;
    cly_tensor *tx = tensor(ctx, N * IN, x), *tw = tensor(ctx, OUT * IN, w), *tb = tensor(ctx, OUT, b);
    cly_tensor *fused = tensor(ctx, N * OUT, NULL), *apart = tensor(ctx, N * OUT, NULL);
    ck_assert_msg(cly_fc_forward(ctx, N, IN, OUT, true, buf(tx), buf(tw), buf(tb), buf(fused)) == CLY_SUCCESS, "%s",
                  cly_last_error(ctx));
    ck_assert_msg(cly_fc_forward(ctx, N, IN, OUT, false, buf(tx), buf(tw), buf(tb), buf(apart)) == CLY_SUCCESS, "%s",
                  cly_last_error(ctx));
    ck_assert_msg(cly_relu_forward(ctx, N * OUT, buf(apart), buf(apart)) == CLY_SUCCESS, "%s", cly_last_error(ctx));
    float a[N * OUT], s[N * OUT];
    ck_assert_int_eq(cly_tensor_read(fused, a, N * OUT), CLY_SUCCESS);
    ck_assert_int_eq(cly_tensor_read(apart, s, N * OUT), CLY_SUCCESS);
    int nans = 0;
    for (int i = 0; i < N * OUT; i++) {
        ck_assert_msg(isnan(a[i]) == isnan(s[i]) && (isnan(a[i]) || a[i] == s[i]),
                      "fc output %d: fused %g, separate %g", i, a[i], s[i]);
        nans += isnan(a[i]) != 0;
    }
    ck_assert_int_eq(nans, N * OUT); /* a NaN input reaches every output of its sample */
    cly_tensor *ts[] = {tx, tw, tb, fused, apart};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
        cly_tensor_destroy(ts[i]);
}

START_TEST(fused_relu_keeps_nan)
{
    cly_context *ctx = cly_test_context();
    run_all(ctx);
    cly_context_destroy(ctx);
}
END_TEST

START_TEST(fused_relu_keeps_nan_f64)
{
    cly_context *ctx;
    if (cly_context_create_ex(&(cly_context_options){.precision = CLY_PRECISION_FLOAT64}, &ctx) != CLY_SUCCESS)
        return; /* no cl_khr_fp64 */
    run_all(ctx);
    cly_context_destroy(ctx);
}
END_TEST

int main(void)
{
    cly_test_require_device();
    Suite *s = suite_create("relu_nan");
    TCase *tc = tcase_create("relu");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, fused_relu_keeps_nan);
    tcase_add_test(tc, fused_relu_keeps_nan_f64);
    suite_add_tcase(s, tc);
    return cly_test_run(s, true);
}
