/* SGD (plain, momentum, Nesterov) and Adam, with and without weight decay,
 * against the formulas of kernels/kernels.h (PyTorch's) stepped in double over several
 * steps with a fresh gradient each step, plus steps pinned by hand. */
#include "grad_check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct opt_case {
    const char *desc;
    bool adam;
    float lr, momentum, decay;
    bool nesterov;
    float b1, b2, eps;
} opt_case;

static const opt_case CASES[] = {
    {"sgd", false, 0.1f, 0.0f, 0.0f, false, 0, 0, 0},
    {"sgd + weight decay", false, 0.1f, 0.0f, 0.05f, false, 0, 0, 0},
    {"sgd momentum 0.9", false, 0.1f, 0.9f, 0.0f, false, 0, 0, 0},
    {"sgd momentum 0.9 + weight decay", false, 0.05f, 0.9f, 0.05f, false, 0, 0, 0},
    {"sgd nesterov 0.9", false, 0.1f, 0.9f, 0.0f, true, 0, 0, 0},
    {"sgd nesterov 0.5 + weight decay", false, 0.1f, 0.5f, 0.05f, true, 0, 0, 0},
    {"adam", true, 0.01f, 0, 0.0f, false, 0.9f, 0.999f, 1e-8f},
    {"adam + weight decay", true, 0.01f, 0, 0.05f, false, 0.9f, 0.999f, 1e-8f},
    {"adam b1 0.5 b2 0.9 eps 1e-3", true, 0.1f, 0, 0.0f, false, 0.5f, 0.9f, 1e-3f},
};
#define NCASES (sizeof CASES / sizeof CASES[0])

/* One step of the reference, in double, on every element. */
static void ref_step(const opt_case *oc, int64_t t, int64_t count, double *w, const float *g, double *m, double *v)
{
    for (int64_t i = 0; i < count; i++) {
        double gd = g[i] + (double)oc->decay * w[i];
        if (oc->adam) {
            m[i] = oc->b1 * m[i] + (1.0 - oc->b1) * gd;
            v[i] = oc->b2 * v[i] + (1.0 - oc->b2) * gd * gd;
            double mh = m[i] / (1.0 - pow(oc->b1, (double)t)), vh = v[i] / (1.0 - pow(oc->b2, (double)t));
            w[i] -= oc->lr * mh / (sqrt(vh) + oc->eps);
        } else if (oc->momentum != 0.0f) {
            m[i] = oc->momentum * m[i] + gd; /* the velocity */
            w[i] -= oc->lr * (oc->nesterov ? gd + oc->momentum * m[i] : m[i]);
        } else {
            w[i] -= oc->lr * gd;
        }
    }
}

static void check_state(const char *what, const char *name, int64_t step, const float *got, const double *want,
                        int64_t count)
{
    char label[160];
    snprintf(label, sizeof label, "%s, step %lld: %s", what, (long long)step, name);
    /* Float arithmetic drifts from the double reference by a few ulp per
     * step; 1e-5 of max(|value|, 0.1) after 6 steps. The updates are
     * lr * O(1) = 1e-2 .. 1e-1, so a wrong term (decay 0.05 * w, Nesterov's
     * momentum * v, a bias correction) misses by 1e-3 or more. */
    ot_check_rel(got, want, count, 1e-5, 0.1, label);
}

static void run_opt(cly_context *ctx, const opt_case *oc, int64_t count, int steps)
{
    float *w = gc_malloc((size_t)count * 4), *g = gc_malloc((size_t)count * 4), *tmp = gc_malloc((size_t)count * 4);
    double *rw = gc_malloc((size_t)count * 8), *rm = gc_malloc((size_t)count * 8), *rv = gc_malloc((size_t)count * 8);
    ot_fill_real(w, count, 81, -1.0, 1.0);
    for (int64_t i = 0; i < count; i++) {
        rw[i] = w[i];
        rm[i] = rv[i] = 0.0;
        tmp[i] = 0.0f;
    }
    bool need_v = oc->adam || oc->momentum != 0.0f;
    cly_buf bw = ot_upload(ctx, w, count, 4), bg = ot_alloc(ctx, count, 4);
    cly_buf bm = need_v ? ot_upload(ctx, tmp, count, 4) : (cly_buf){NULL, 0};
    cly_buf bv = oc->adam ? ot_upload(ctx, tmp, count, 4) : (cly_buf){NULL, 0};
    char what[128];
    snprintf(what, sizeof what, "%s, %lld parameters", oc->desc, (long long)count);
    for (int64_t t = 1; t <= steps; t++) {
        ot_fill_real(g, count, 90 + (unsigned)t, -1.0, 1.0);
        gc_write(ctx, bg, g, count);
        cly_status s = oc->adam ? cly_adam_step(ctx, count, oc->lr, oc->b1, oc->b2, oc->eps, t, oc->decay, bw, bg, bm,
                                                bv)
                                : cly_sgd_step(ctx, count, oc->lr, oc->momentum, oc->nesterov, oc->decay, bw, bg, bm);
        ck_assert_msg(s == CLY_SUCCESS, "%s: %s", what, cly_last_error(ctx));
        ref_step(oc, t, count, rw, g, rm, rv);
        ot_download(ctx, bw, tmp, count, 4);
        check_state(what, "w", t, tmp, rw, count);
        if (need_v) {
            ot_download(ctx, bm, tmp, count, 4);
            check_state(what, oc->adam ? "m" : "velocity", t, tmp, rm, count);
        }
        if (oc->adam) {
            ot_download(ctx, bv, tmp, count, 4);
            /* v ~ g^2 (1 - b2) is small early on: relative to max(v, 1e-6). */
            char label[160];
            snprintf(label, sizeof label, "%s, step %lld: v", what, (long long)t);
            ot_check_rel(tmp, rv, count, 1e-5, 1e-6, label);
        }
        /* The gradient is read, not changed (decay is added in a register). */
        ot_download(ctx, bg, tmp, count, 4);
        ck_assert_msg(memcmp(tmp, g, (size_t)count * 4) == 0, "%s: the gradient buffer changed", what);
    }
    ot_free(bw);
    ot_free(bg);
    ot_free(bm);
    ot_free(bv);
    free(w);
    free(g);
    free(tmp);
    free(rw);
    free(rm);
    free(rv);
}

START_TEST(optimiser_steps)
{
    cly_context *ctx = ot_context();
    run_opt(ctx, &CASES[_i], 1, 6);
    run_opt(ctx, &CASES[_i], 1000, 6);
    run_opt(ctx, &CASES[_i], 100003, 3);
    cly_context_destroy(ctx);
}
END_TEST

/* By hand, w = 1 and g = 1 every step, lr 0.1:
 *   momentum 0.9: v = 1, w = 0.9; v = 1.9, w = 0.71
 *   Nesterov 0.9: v = 1, w = 1 - 0.1 (1 + 0.9) = 0.81; v = 1.9,
 *                 w = 0.81 - 0.1 (1 + 1.71) = 0.539
 *   Adam (0.9, 0.999, eps 1e-8): every step moves by lr g_hat/|g_hat| = 0.1
 *   (constant g: m/(1 - b1^t) = v/(1 - b2^t) = 1): 0.9, 0.8. */
START_TEST(optimiser_steps_by_hand)
{
    cly_context *ctx = ot_context();
    const float one = 1.0f, zero = 0.0f;
    float w;
    const float want[3][2] = {{0.9f, 0.71f}, {0.81f, 0.539f}, {0.9f, 0.8f}};
    for (int k = 0; k < 3; k++) {
        cly_buf bw = ot_upload(ctx, &one, 1, 4), bg = ot_upload(ctx, &one, 1, 4), bm = ot_upload(ctx, &zero, 1, 4),
                bv = ot_upload(ctx, &zero, 1, 4);
        for (int t = 1; t <= 2; t++) {
            cly_status s = k < 2 ? cly_sgd_step(ctx, 1, 0.1f, 0.9f, k == 1, 0.0f, bw, bg, bm)
                                 : cly_adam_step(ctx, 1, 0.1f, 0.9f, 0.999f, 1e-8f, t, 0.0f, bw, bg, bm, bv);
            ck_assert_int_eq(s, CLY_SUCCESS);
            ot_download(ctx, bw, &w, 1, 4);
            ck_assert_msg(fabsf(w - want[k][t - 1]) <= 1e-6f, "case %d step %d: w = %.9g, expected %.9g", k, t, w,
                          want[k][t - 1]);
        }
        ot_free(bw);
        ot_free(bg);
        ot_free(bm);
        ot_free(bv);
    }
    cly_context_destroy(ctx);
}
END_TEST

START_TEST(optimiser_refusals)
{
    cly_context *ctx = ot_context();
    cly_buf b = ot_alloc(ctx, 64, 4), w = {b.mem, b.offset}, g = {b.mem, b.offset + 16}, v = {b.mem, b.offset + 32},
            m = {b.mem, b.offset + 48}, none = {NULL, 0};
    ck_assert_int_eq(cly_sgd_step(ctx, 16, 0.1f, 0.9f, false, 0.0f, w, g, none), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_sgd_step(ctx, 16, 0.1f, 0.0f, true, 0.0f, w, g, v), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_sgd_step(ctx, 16, 0.1f, 0.9f, false, 0.0f, w, (cly_buf){b.mem, b.offset + 8}, v),
                     CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_adam_step(ctx, 16, 0.1f, 0.9f, 0.999f, 1e-8f, 0, 0.0f, w, g, m, v),
                     CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_adam_step(ctx, 16, 0.1f, 1.0f, 0.999f, 1e-8f, 1, 0.0f, w, g, m, v),
                     CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_adam_step(ctx, 16, 0.1f, 0.9f, 0.999f, 1e-8f, 1, 0.0f, w, g, m, m),
                     CLY_ERROR_INVALID_ARGUMENT);
    ot_free(b);
    cly_context_destroy(ctx);
}
END_TEST

START_TEST(small_all_kernels)
{
    cly_context *ctx = ot_context();
    run_opt(ctx, &CASES[1], 70, 2);
    run_opt(ctx, &CASES[3], 70, 2);
    run_opt(ctx, &CASES[5], 70, 2);
    run_opt(ctx, &CASES[7], 70, 2);
    cly_context_destroy(ctx);
}
END_TEST

static Suite *unit_suite(void)
{
    Suite *s = suite_create("optim");
    TCase *tc = ot_tcase("optim");
    tcase_add_loop_test(tc, optimiser_steps, 0, (int)NCASES);
    tcase_add_test(tc, optimiser_steps_by_hand);
    tcase_add_test(tc, optimiser_refusals);
    suite_add_tcase(s, tc);
    return s;
}

static Suite *small_suite(void)
{
    Suite *s = suite_create("optim-oclgrind");
    TCase *tc = ot_tcase("small");
    tcase_add_test(tc, small_all_kernels);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    return ot_main(argc, argv, unit_suite, small_suite);
}
