/* Fully connected (SGEMM through blas.c + the bias/ReLU epilogue) against a
 * naive reference in double, with the input flattened in C, H, W order. */
#include "ops_test.h"

#include <math.h>
#include <stdlib.h>

typedef struct fc_case {
    cly_shape in; /* flattened per sample: inputs = c*h*w */
    int64_t outputs;
    bool bias, relu;
} fc_case;

/* tol < 0: exact comparison (integer fills). Otherwise each output may be
 * off by tol * (|b| + sum_i |x_i w_i|): the float dot product's error bound
 * scales with the magnitudes summed, not with the (possibly cancelled) result. */
static void check_fc(cly_context *ctx, fc_case fc, double tol, unsigned seed)
{
    cly_shape s = fc.in;
    int64_t n = s.n, in = s.c * s.h * s.w, out = fc.outputs;
    float *x = malloc((size_t)(n * in) * 4), *w = malloc((size_t)(out * in) * 4), *b = malloc((size_t)out * 4);
    float *y = malloc((size_t)(n * out) * 4);
    double *want = malloc((size_t)(n * out) * 8), *mag = malloc((size_t)(n * out) * 8);
    if (tol < 0) {
        ot_fill_int(x, n * in, seed, -3, 3);
        ot_fill_int(w, out * in, seed + 1, -3, 3);
        ot_fill_int(b, out, seed + 2, -20, 20);
    } else {
        ot_fill_real(x, n * in, seed, -1.0, 1.0);
        ot_fill_real(w, out * in, seed + 1, -1.0, 1.0);
        ot_fill_real(b, out, seed + 2, -1.0, 1.0);
    }
    /* out[n][o] = b[o] + sum_{c,h,w} x[n][c][h][w] * W[o][(c*H + h)*W + w] */
    for (int64_t i = 0; i < n; i++)
        for (int64_t o = 0; o < out; o++) {
            double acc = fc.bias ? b[o] : 0.0, m = fc.bias ? fabs(b[o]) : 0.0;
            for (int64_t c = 0; c < s.c; c++)
                for (int64_t h = 0; h < s.h; h++)
                    for (int64_t q = 0; q < s.w; q++) {
                        int64_t flat = (c * s.h + h) * s.w + q;
                        double t = (double)x[((i * s.c + c) * s.h + h) * s.w + q] * w[o * in + flat];
                        acc += t;
                        m += fabs(t);
                    }
            want[i * out + o] = fc.relu && acc < 0 ? 0.0 : acc;
            mag[i * out + o] = m;
        }
    cly_buf bx = ot_upload(ctx, x, n * in, 4), bw = ot_upload(ctx, w, out * in, 4);
    cly_buf bb = fc.bias ? ot_upload(ctx, b, out, 4) : (cly_buf){NULL, 0};
    cly_buf by = ot_alloc(ctx, n * out, 4);
    cly_status st = cly_fc_forward(ctx, n, in, out, fc.relu, bx, bw, bb, by);
    ck_assert_msg(st == CLY_SUCCESS, "%s", cly_last_error(ctx));
    ot_download(ctx, by, y, n * out, 4);
    for (int64_t i = 0; i < n * out; i++) {
        double err = fabs((double)y[i] - want[i]);
        ck_assert_msg(tol < 0 ? err == 0.0 : err <= tol * mag[i] + 1e-30,
                      "fc " CLY_SHAPE_FMT " -> %lld%s%s: output %lld is %.9g, expected %.9g", CLY_SHAPE_ARGS(s),
                      (long long)out, fc.bias ? " +bias" : "", fc.relu ? " relu" : "", (long long)i, y[i], want[i]);
    }
    ot_free(bx);
    ot_free(bw);
    ot_free(bb);
    ot_free(by);
    free(x);
    free(w);
    free(b);
    free(y);
    free(want);
    free(mag);
}

static const fc_case CASES[] = {
    {{1, 1, 1, 1}, 1, true, false},
    {{2, 3, 1, 1}, 5, true, false},
    {{3, 17, 1, 1}, 10, true, true},
    {{4, 300, 1, 1}, 7, false, false},  /* plain GEMM: no epilogue */
    {{5, 1000, 1, 1}, 33, false, true}, /* ReLU without bias */
    {{2, 8, 7, 7}, 10, true, true},     /* a conv volume flattened C, H, W */
    {{7, 4097, 1, 1}, 3, true, false},  /* inputs not a multiple of anything */
    {{3, 13, 11, 1}, 129, true, true},
    {{1, 512, 7, 7}, 64, true, true},   /* VGG-16 fc6's input (25088), fewer outputs */
    /* Past batch 16 a GPU (oclgrind counts as one) takes CLBlast's SGEMM
     * instead of gemm_nt (fc.c, use_gemm_nt); CPUs keep gemm_nt. */
    {{20, 37, 1, 1}, 9, true, true},
    {{33, 6, 2, 2}, 17, false, false},
};
#define NCASES (sizeof CASES / sizeof CASES[0])

START_TEST(fc_cases)
{
    cly_context *ctx = ot_context();
    /* Real fills: 1e-5 of the summed magnitudes (float accumulation over up
     * to 25088 terms in CLBlast's order, against double). */
    check_fc(ctx, CASES[_i], 1e-5, (unsigned)_i);
    cly_context_destroy(ctx);
}
END_TEST

/* Small integers: every partial sum is an integer below 2^24, so the float
 * result is exact whatever the summation order. */
START_TEST(fc_exact_integers)
{
    cly_context *ctx = ot_context();
    check_fc(ctx, (fc_case){{3, 5, 3, 3}, 11, true, true}, -1.0, 1);
    check_fc(ctx, (fc_case){{2, 333, 1, 1}, 9, true, false}, -1.0, 2);
    cly_context_destroy(ctx);
}
END_TEST

/* gemm_nt and CLBlast's kernels run under oclgrind too (quickly, at these
 * sizes): an error reported inside them would fail this suite as well. */
START_TEST(small_fc)
{
    cly_context *ctx = ot_context();
    check_fc(ctx, (fc_case){{2, 5, 1, 1}, 3, true, true}, 1e-5, 1);
    check_fc(ctx, (fc_case){{3, 17, 1, 1}, 10, true, false}, 1e-5, 2);
    check_fc(ctx, (fc_case){{2, 3, 2, 2}, 7, false, true}, 1e-5, 3);
    check_fc(ctx, (fc_case){{1, 4, 1, 1}, 2, false, false}, 1e-5, 4);
    /* Past batch 16 a GPU, which oclgrind is, takes CLBlast's SGEMM. */
    check_fc(ctx, (fc_case){{18, 5, 1, 1}, 3, true, true}, 1e-5, 5);
    cly_context_destroy(ctx);
}
END_TEST

static Suite *unit_suite(void)
{
    Suite *s = suite_create("fc");
    TCase *tc = ot_tcase("forward");
    tcase_add_loop_test(tc, fc_cases, 0, (int)NCASES);
    tcase_add_test(tc, fc_exact_integers);
    suite_add_tcase(s, tc);
    return s;
}

static Suite *small_suite(void)
{
    Suite *s = suite_create("fc-oclgrind");
    TCase *tc = ot_tcase("small");
    tcase_add_test(tc, small_fc);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    return ot_main(argc, argv, unit_suite, small_suite);
}
