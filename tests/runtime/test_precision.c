/* Double-precision contexts: creation and its errors, exact double host
 * I/O, float host calls converting both ways, and cly_conv2d in double
 * against the double reference with each algorithm (the gradient checks
 * in double live in tests/net/test_train.c). */
#include "test_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A FLOAT64 context, or NULL (test passes vacuously, said on stderr) on a
 * device without cl_khr_fp64. */
static cly_context *fp64_context(void)
{
    cly_context *ctx = NULL;
    cly_status s = cly_context_create_ex(&(cly_context_options){.precision = CLY_PRECISION_FLOAT64}, &ctx);
    if (s == CLY_ERROR_UNSUPPORTED) {
        ck_assert_msg(strstr(cly_last_error(NULL), "cl_khr_fp64") != NULL, "%s", cly_last_error(NULL));
        fprintf(stderr, "skipped: %s\n", cly_last_error(NULL));
        return NULL;
    }
    ck_assert_msg(s == CLY_SUCCESS, "%s", cly_last_error(NULL));
    ck_assert_int_eq(cly_context_precision(ctx), CLY_PRECISION_FLOAT64);
    return ctx;
}

START_TEST(test_create_options)
{
    cly_context *ctx = NULL;
    ck_assert_int_eq(cly_context_create_ex(NULL, &ctx), CLY_SUCCESS);
    ck_assert_int_eq(cly_context_precision(ctx), CLY_PRECISION_FLOAT32);
    cly_context_destroy(ctx);
    ctx = NULL;
    ck_assert_int_eq(cly_context_create_ex(&(cly_context_options){.precision = (cly_precision)7}, &ctx),
                     CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_ptr_null(ctx);
    ck_assert_msg(strstr(cly_last_error(NULL), "precision 7") != NULL, "%s", cly_last_error(NULL));
    ck_assert_int_eq(cly_context_create_ex(&(cly_context_options){.selector = "no-such-device"}, &ctx),
                     CLY_ERROR_DEVICE_NOT_FOUND);
    ck_assert_int_eq(cly_context_create_ex(NULL, NULL), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_context_precision(NULL), CLY_PRECISION_FLOAT32);
}
END_TEST

START_TEST(test_double_host_io)
{
    cly_context *ctx = fp64_context();
    if (!ctx)
        return;
    enum { N = 1001 };
    double src[N], back[N];
    float f[N];
    for (int i = 0; i < N; i++)
        src[i] = 0.1 * (i - 500) + 1e-12 * i; /* none of these is a float */
    cly_tensor *t;
    ck_assert_int_eq(cly_tensor_create(ctx, (cly_shape){1, 7, 11, 13}, &t), CLY_SUCCESS);
    ck_assert_int_eq(cly_tensor_write_f64(t, src, N), CLY_SUCCESS);
    ck_assert_int_eq(cly_tensor_read_f64(t, back, N), CLY_SUCCESS);
    ck_assert(memcmp(src, back, sizeof src) == 0);
    /* Float reads round; float writes widen exactly. */
    ck_assert_int_eq(cly_tensor_read(t, f, N), CLY_SUCCESS);
    for (int i = 0; i < N; i++)
        ck_assert(f[i] == (float)src[i]);
    ck_assert_int_eq(cly_tensor_write(t, f, N), CLY_SUCCESS);
    ck_assert_int_eq(cly_tensor_read_f64(t, back, N), CLY_SUCCESS);
    for (int i = 0; i < N; i++)
        ck_assert(back[i] == (double)f[i]);
    ck_assert_int_eq(cly_tensor_fill(t, -2.5f), CLY_SUCCESS);
    ck_assert_int_eq(cly_tensor_read_f64(t, back, N), CLY_SUCCESS);
    ck_assert(back[0] == -2.5 && back[N - 1] == -2.5);
    /* Copies move 8-byte elements. */
    cly_tensor *u;
    ck_assert_int_eq(cly_tensor_create(ctx, (cly_shape){1, 7, 11, 13}, &u), CLY_SUCCESS);
    ck_assert_int_eq(cly_tensor_write_f64(t, src, N), CLY_SUCCESS);
    ck_assert_int_eq(cly_tensor_copy(u, t), CLY_SUCCESS);
    ck_assert_int_eq(cly_tensor_read_f64(u, back, N), CLY_SUCCESS);
    ck_assert(memcmp(src, back, sizeof src) == 0);
    ck_assert_int_eq(cly_tensor_read_f64(u, back, N - 1), CLY_ERROR_SHAPE_MISMATCH);
    ck_assert_int_eq(cly_tensor_write_f64(u, NULL, N), CLY_ERROR_INVALID_ARGUMENT);
    cly_tensor_destroy(t);
    cly_tensor_destroy(u);
    cly_context_destroy(ctx);
}
END_TEST

START_TEST(test_double_calls_on_float_context)
{
    cly_context *ctx = cly_test_context();
    double src[3] = {0.1, -1e-300, 3.0}, back[3];
    cly_tensor *t;
    ck_assert_int_eq(cly_tensor_create(ctx, (cly_shape){1, 1, 1, 3}, &t), CLY_SUCCESS);
    ck_assert_int_eq(cly_tensor_write_f64(t, src, 3), CLY_SUCCESS);
    ck_assert_int_eq(cly_tensor_read_f64(t, back, 3), CLY_SUCCESS);
    for (int i = 0; i < 3; i++)
        ck_assert(back[i] == (double)(float)src[i]);
    cly_tensor_destroy(t);
    cly_context_destroy(ctx);
}
END_TEST

/* Convolutions in double against the double reference: with every product
 * and sum in double, only summation order separates them. */
static const struct {
    cly_shape x, f;
    cly_conv_params p;
} convs[] = {
    {{2, 3, 13, 11}, {4, 3, 3, 3}, {.stride = {1, 1}, .pad = CLY_PAD(1)}},
    {{1, 4, 15, 15}, {6, 2, 5, 5}, {.stride = {2, 2}, .pad = CLY_PAD(2), .groups = 2}},
    {{1, 3, 17, 17}, {5, 3, 3, 3}, {.pad = CLY_PAD(2), .dilation = {2, 2}}},
    {{3, 8, 7, 9}, {16, 8, 1, 1}, {0}},
};

START_TEST(test_conv2d_double)
{
    cly_context *ctx = fp64_context();
    if (!ctx)
        return;
    cly_shape x = convs[_i].x, f = convs[_i].f;
    cly_conv_params p = convs[_i].p;
    int64_t g = p.groups ? p.groups : 1, d = p.dilation.h ? p.dilation.h : 1, s = p.stride.h ? p.stride.h : 1;
    int64_t oh = (x.h + 2 * p.pad.top - d * (f.h - 1) - 1) / s + 1;
    int64_t ow = (x.w + 2 * p.pad.left - d * (f.w - 1) - 1) / s + 1;
    cly_shape y = {x.n, f.n, oh, ow};
    int64_t nx = x.n * x.c * x.h * x.w, nw = f.n * f.c * f.h * f.w, ny = y.n * y.c * y.h * y.w;
    double *hx = malloc((size_t)nx * 8), *hw = malloc((size_t)nw * 8), *hb = malloc((size_t)f.n * 8);
    double *hy = malloc((size_t)ny * 8), *ref = malloc((size_t)ny * 8);
    uint64_t seed = 99 + (uint64_t)_i;
    double *arrays[] = {hx, hw, hb};
    int64_t counts[] = {nx, nw, f.n};
    for (int a = 0; a < 3; a++)
        for (int64_t i = 0; i < counts[a]; i++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            arrays[a][i] = (double)(seed >> 11) / 9007199254740992.0 * 2 - 1; /* 53 random bits */
        }
    int64_t kg = f.n / g;
    for (int64_t n = 0; n < y.n; n++)
        for (int64_t k = 0; k < f.n; k++)
            for (int64_t oy = 0; oy < oh; oy++)
                for (int64_t ox = 0; ox < ow; ox++) {
                    double acc = hb[k];
                    for (int64_t c = 0; c < f.c; c++)
                        for (int64_t i = 0; i < f.h; i++)
                            for (int64_t j = 0; j < f.w; j++) {
                                int64_t iy = oy * s + i * d - p.pad.top, ix = ox * s + j * d - p.pad.left;
                                if (iy >= 0 && iy < x.h && ix >= 0 && ix < x.w)
                                    acc += hx[((n * x.c + (k / kg) * f.c + c) * x.h + iy) * x.w + ix] *
                                           hw[((k * f.c + c) * f.h + i) * f.w + j];
                            }
                    ref[((n * f.n + k) * oh + oy) * ow + ox] = acc;
                }
    cly_tensor *tx, *tw, *tb, *ty;
    ck_assert_int_eq(cly_tensor_create(ctx, x, &tx), CLY_SUCCESS);
    ck_assert_int_eq(cly_tensor_create(ctx, f, &tw), CLY_SUCCESS);
    ck_assert_int_eq(cly_tensor_create(ctx, (cly_shape){1, f.n, 1, 1}, &tb), CLY_SUCCESS);
    ck_assert_int_eq(cly_tensor_create(ctx, y, &ty), CLY_SUCCESS);
    ck_assert_int_eq(cly_tensor_write_f64(tx, hx, nx), CLY_SUCCESS);
    ck_assert_int_eq(cly_tensor_write_f64(tw, hw, nw), CLY_SUCCESS);
    ck_assert_int_eq(cly_tensor_write_f64(tb, hb, f.n), CLY_SUCCESS);
    for (int algo = CLY_CONV_DIRECT; algo < CLY_CONV_ALGO_COUNT; algo++) {
        p.algo = (cly_conv_algo)algo;
        cly_status st = cly_conv2d(ctx, tx, tw, tb, p, ty);
        if (st == CLY_ERROR_UNSUPPORTED) /* gemm1x1 on a 3x3 */
            continue;
        ck_assert_msg(st == CLY_SUCCESS, "%s", cly_last_error(ctx));
        ck_assert_int_eq(cly_tensor_read_f64(ty, hy, ny), CLY_SUCCESS);
        double worst = 0;
        for (int64_t i = 0; i < ny; i++)
            worst = fmax(worst, fabs(hy[i] - ref[i]) / (fabs(ref[i]) + 1));
        /* A float kernel would be off by ~1e-7; double summation-order
         * differences over <= 75 terms stay below 1e-14. */
        ck_assert_msg(worst <= 1e-13, "%s: worst error %g", cly_conv_algo_string(p.algo), worst);
    }
    cly_tensor_destroy(tx);
    cly_tensor_destroy(tw);
    cly_tensor_destroy(tb);
    cly_tensor_destroy(ty);
    free(hx);
    free(hw);
    free(hb);
    free(hy);
    free(ref);
    cly_context_destroy(ctx);
}
END_TEST

int main(void)
{
    cly_test_require_device();
    Suite *s = suite_create("precision");
    TCase *tc = tcase_create("precision");
    tcase_set_timeout(tc, CLY_TEST_TIMEOUT);
    tcase_add_test(tc, test_create_options);
    tcase_add_test(tc, test_double_host_io);
    tcase_add_test(tc, test_double_calls_on_float_context);
    tcase_add_loop_test(tc, test_conv2d_double, 0, sizeof convs / sizeof convs[0]);
    suite_add_tcase(s, tc);
    return cly_test_run(s, true);
}
