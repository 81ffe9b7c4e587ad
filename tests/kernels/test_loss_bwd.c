/* Softmax cross-entropy and the multiclass SVM loss (CS231n): per-sample
 * losses and dscores = d(mean loss)/dscores against references in double,
 * the notes' worked examples, finite differences of the mean loss computed
 * by the device, numerical stability, and bad labels. */
#include "grad_check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct loss_run {
    cly_context *ctx;
    bool svm;
    double margin;
    int64_t n, classes;
    float *s;
    const int *labels;
    cly_buf bs, bl, bloss;
} loss_run;

static cly_status call(const loss_run *l, cly_buf loss, cly_buf ds)
{
    return l->svm ? cly_svm_loss(l->ctx, l->n, l->classes, l->margin, l->bs, l->bl, loss, ds)
                  : cly_softmax_xent(l->ctx, l->n, l->classes, l->bs, l->bl, loss, ds);
}

/* The losses (n outputs); gc_check's r = 1/n makes L the mean loss. */
static void loss_fwd(void *user, float *y)
{
    loss_run *l = user;
    gc_write(l->ctx, l->bs, l->s, l->n * l->classes);
    ck_assert_msg(call(l, l->bloss, (cly_buf){NULL, 0}) == CLY_SUCCESS, "%s", cly_last_error(l->ctx));
    ot_download(l->ctx, l->bloss, y, l->n, 4);
}

/* A hinge within 2h of its kink: s_j (j != y) enters only its own term
 * d_j = s_j - s_y + margin; s_y enters every term of its row. */
static bool svm_skip(void *user, int64_t i, double h)
{
    loss_run *l = user;
    int64_t row = i / l->classes, col = i % l->classes;
    const float *s = l->s + row * l->classes;
    int y = l->labels[row];
    for (int64_t j = 0; j < l->classes; j++)
        if (j != y && (col == y || col == j) && fabs((double)s[j] - s[y] + l->margin) < 2.0 * h)
            return true;
    return false;
}

/* References in double. Softmax: loss = log sum exp(s - m) - (s_y - m),
 * ds = (softmax - onehot)/n. SVM: loss = sum_{j != y} max(0, s_j - s_y +
 * margin), ds_j = [margin term > 0]/n, ds_y = -(count of those)/n. */
static void ref_loss(bool svm, double margin, int64_t n, int64_t c, const float *s, const int *lab, double *loss,
                     double *ds)
{
    for (int64_t i = 0; i < n; i++) {
        const float *row = s + i * c;
        double *d = ds + i * c;
        int y = lab[i];
        if (svm) {
            double total = 0.0;
            int64_t on = 0;
            for (int64_t j = 0; j < c; j++) {
                d[j] = 0.0;
                if (j == y)
                    continue;
                double m = (double)row[j] - row[y] + margin;
                if (m > 0) {
                    total += m;
                    on++;
                    d[j] = 1.0 / (double)n;
                }
            }
            d[y] = -(double)on / (double)n;
            loss[i] = total;
        } else {
            double m = row[0], z = 0.0;
            for (int64_t j = 1; j < c; j++)
                m = fmax(m, row[j]);
            for (int64_t j = 0; j < c; j++)
                z += exp(row[j] - m);
            loss[i] = log(z) - (row[y] - m);
            for (int64_t j = 0; j < c; j++)
                d[j] = (exp(row[j] - m) / z - (j == y ? 1.0 : 0.0)) / (double)n;
        }
    }
}

static void run_loss(cly_context *ctx, bool svm, double margin, int64_t n, int64_t classes, double lo, double hi,
                     unsigned seed, bool fd)
{
    loss_run l = {.ctx = ctx, .svm = svm, .margin = margin, .n = n, .classes = classes};
    int64_t ns = n * classes;
    l.s = gc_malloc((size_t)ns * 4);
    int *lab = gc_malloc((size_t)n * 4);
    l.labels = lab;
    float *loss = gc_malloc((size_t)n * 4), *ds = gc_malloc((size_t)ns * 4), *r = gc_malloc((size_t)n * 4);
    double *wl = gc_malloc((size_t)n * 8), *wd = gc_malloc((size_t)ns * 8);
    ot_fill_real(l.s, ns, seed, lo, hi);
    uint32_t st = seed * 7919u + 1;
    for (int64_t i = 0; i < n; i++) {
        st = st * 1664525u + 1013904223u;
        lab[i] = (int)((st >> 8) % (uint32_t)classes);
    }
    l.bs = ot_upload(ctx, l.s, ns, 4);
    l.bl = ot_upload(ctx, lab, n, 4);
    l.bloss = ot_alloc(ctx, n, 4);
    cly_buf bds = ot_alloc(ctx, ns, 4); /* NaN sentinel: every element must be written */
    ck_assert_msg(call(&l, l.bloss, bds) == CLY_SUCCESS, "%s", cly_last_error(ctx));
    ot_download(ctx, l.bloss, loss, n, 4);
    ot_download(ctx, bds, ds, ns, 4);
    ref_loss(svm, margin, n, classes, l.s, lab, wl, wd);
    char what[128];
    snprintf(what, sizeof what, "%s, %lld samples of %lld classes in [%g, %g]", svm ? "svm loss" : "softmax xent",
             (long long)n, (long long)classes, lo, hi);
    char label[160];
    snprintf(label, sizeof label, "%s: loss", what);
    /* SVM: float sums of up to `classes` margins of size ~|hi - lo|, exact
     * decisions (the inputs are the same floats): 1e-5 of max(|loss|, 1).
     * Softmax: a float log of a sum of exps, 1e-5 of max(|loss|, 1). */
    ot_check_rel(loss, wl, n, 1e-5, 1.0, label);
    snprintf(label, sizeof label, "%s: dscores", what);
    /* Softmax: probabilities to ~1e-6 relative (exp of differences up to
     * hi - lo), over n; 1e-5 relative to max(|ds|, 1/(100 n)). SVM: 0, 1/n
     * or -k/n, exact in float. */
    ot_check_rel(ds, wd, ns, svm ? 1e-7 : 1e-5, 0.01 / (double)n, label);
    /* Loss alone, dscores alone: the same numbers. */
    float *again = gc_malloc((size_t)ns * 4);
    cly_buf bds2 = ot_alloc(ctx, ns, 4);
    ck_assert_int_eq(call(&l, (cly_buf){NULL, 0}, bds2), CLY_SUCCESS);
    ot_download(ctx, bds2, again, ns, 4);
    ck_assert_int_eq(memcmp(again, ds, (size_t)ns * 4), 0);
    ot_free(bds2);
    free(again);
    if (fd) {
        /* L = mean loss, so r = 1/n. Softmax is smooth (curvature <= 1/4
         * per score): h = 1e-2 truncates at ~1e-5 relative. SVM is
         * piecewise linear, exact away from its hinges (skipped); what
         * remains is the float rounding of each loss, ~1 ulp of |loss| (up
         * to ~25 for the 10-class rows tested) over 2h n. tol 1e-3,
         * absolute 1e-5 below 1e-2. (A 1000-class SVM row sums ~500
         * violated margins to ~2500, whose ulp over 2h n is already 2e-4
         * of the 1/16 gradients: that case is checked against the
         * reference only.) */
        for (int64_t i = 0; i < n; i++)
            r[i] = (float)(1.0 / (double)n);
        gc_spec spec = {.what = label, .in = l.s, .nin = ns, .analytic = ds, .r = r, .ny = n, .fwd = loss_fwd,
                        .user = &l, .skip = svm ? svm_skip : NULL, .h = 1e-2, .tol = 1e-3, .floor = 1e-2,
                        .max_points = 64};
        gc_check(&spec);
    }
    ot_free(l.bs);
    ot_free(l.bl);
    ot_free(l.bloss);
    ot_free(bds);
    free(l.s);
    free(lab);
    free(loss);
    free(ds);
    free(r);
    free(wl);
    free(wd);
}

START_TEST(softmax_xent)
{
    cly_context *ctx = ot_context();
    run_loss(ctx, false, 0.0, 4, 10, -3.0, 3.0, 1, true);
    run_loss(ctx, false, 0.0, 16, 1000, -5.0, 5.0, 2, true); /* ImageNet */
    run_loss(ctx, false, 0.0, 3, 1, -1.0, 1.0, 3, true);      /* one class: loss 0, ds 0 */
    run_loss(ctx, false, 0.0, 5, 7, 1000.0, 1010.0, 4, true); /* exp(1000) overflows: stability */
    run_loss(ctx, false, 0.0, 5, 7, -1010.0, -1000.0, 5, true);
    run_loss(ctx, false, 0.0, 100, 10, -20.0, 20.0, 6, true); /* confident and wrong: large losses */
    cly_context_destroy(ctx);
}
END_TEST

START_TEST(svm_loss)
{
    cly_context *ctx = ot_context();
    run_loss(ctx, true, 1.0, 4, 10, -3.0, 3.0, 11, true);
    run_loss(ctx, true, 1.0, 16, 1000, -5.0, 5.0, 12, false);
    run_loss(ctx, true, 1.0, 3, 1, -1.0, 1.0, 13, true); /* one class: nothing to violate */
    run_loss(ctx, true, 0.5, 50, 10, -1.0, 1.0, 14, true);
    run_loss(ctx, true, 0.0, 8, 5, -1.0, 1.0, 15, true); /* margin 0 */
    cly_context_destroy(ctx);
}
END_TEST

/* The notes' figures. Softmax at initialisation: equal scores give
 * loss = log(C) (log 10 = 2.302585). SVM: the CS231n example, three images
 * (cat, car, frog) scored over (cat, car, frog): cat 3.2 5.1 -1.7 -> 2.9;
 * car 1.3 4.9 2.0 -> 0; frog 2.2 2.5 -3.1 -> 6.3 + 6.6 = 12.9; mean 5.27. */
START_TEST(loss_notes_figures)
{
    cly_context *ctx = ot_context();
    float eq[20], loss[3], ds[9];
    for (int i = 0; i < 20; i++)
        eq[i] = 0.37f;
    int lab2[2] = {3, 9};
    cly_buf bs = ot_upload(ctx, eq, 20, 4), bl = ot_upload(ctx, lab2, 2, 4), bloss = ot_alloc(ctx, 2, 4);
    ck_assert_int_eq(cly_softmax_xent(ctx, 2, 10, bs, bl, bloss, (cly_buf){NULL, 0}), CLY_SUCCESS);
    ot_download(ctx, bloss, loss, 2, 4);
    ck_assert_float_eq_tol(loss[0], 2.302585f, 2e-6f);
    ck_assert_float_eq_tol(loss[1], 2.302585f, 2e-6f);
    ot_free(bs);
    ot_free(bl);
    ot_free(bloss);

    const float sc[9] = {3.2f, 5.1f, -1.7f, 1.3f, 4.9f, 2.0f, 2.2f, 2.5f, -3.1f};
    int lab3[3] = {0, 1, 2};
    bs = ot_upload(ctx, sc, 9, 4);
    bl = ot_upload(ctx, lab3, 3, 4);
    bloss = ot_alloc(ctx, 3, 4);
    cly_buf bds = ot_alloc(ctx, 9, 4);
    ck_assert_int_eq(cly_svm_loss(ctx, 3, 3, 1.0, bs, bl, bloss, bds), CLY_SUCCESS);
    ot_download(ctx, bloss, loss, 3, 4);
    ot_download(ctx, bds, ds, 9, 4);
    ck_assert_float_eq_tol(loss[0], 2.9f, 1e-5f);
    ck_assert_float_eq(loss[1], 0.0f);
    ck_assert_float_eq_tol(loss[2], 12.9f, 1e-5f);
    ck_assert_float_eq_tol((loss[0] + loss[1] + loss[2]) / 3.0f, 15.8f / 3.0f, 1e-5f); /* the notes: 5.27 */
    /* cat: car violates (+1/3), cat gets -1/3; car: nothing; frog: both
     * violate, frog gets -2/3. */
    const float want[9] = {-1.0f / 3, 1.0f / 3, 0, 0, 0, 0, 1.0f / 3, 1.0f / 3, -2.0f / 3};
    for (int i = 0; i < 9; i++)
        ck_assert_float_eq_tol(ds[i], want[i], 1e-7f);
    ot_free(bs);
    ot_free(bl);
    ot_free(bloss);
    ot_free(bds);
    cly_context_destroy(ctx);
}
END_TEST

/* A label outside [0, classes) is a NaN loss, not an out-of-bounds read. */
START_TEST(loss_bad_labels)
{
    cly_context *ctx = ot_context();
    const float sc[6] = {1, 2, 3, 4, 5, 6};
    int lab[2] = {3, -1};
    float loss[2];
    cly_buf bs = ot_upload(ctx, sc, 6, 4), bl = ot_upload(ctx, lab, 2, 4), bloss = ot_alloc(ctx, 2, 4);
    cly_buf bds = ot_alloc(ctx, 6, 4);
    for (int svm = 0; svm < 2; svm++) {
        cly_status s = svm ? cly_svm_loss(ctx, 2, 3, 1.0, bs, bl, bloss, bds)
                           : cly_softmax_xent(ctx, 2, 3, bs, bl, bloss, bds);
        ck_assert_int_eq(s, CLY_SUCCESS);
        ot_download(ctx, bloss, loss, 2, 4);
        ck_assert(isnan(loss[0]) && isnan(loss[1]));
    }
    ck_assert_int_eq(cly_softmax_xent(ctx, 0, 3, bs, bl, bloss, bds), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_svm_loss(ctx, 2, 3, NAN, bs, bl, bloss, bds), CLY_ERROR_INVALID_ARGUMENT);
    ot_free(bs);
    ot_free(bl);
    ot_free(bloss);
    ot_free(bds);
    cly_context_destroy(ctx);
}
END_TEST

START_TEST(small_all_kernels)
{
    cly_context *ctx = ot_context();
    run_loss(ctx, false, 0.0, 3, 5, -3.0, 3.0, 21, false);
    run_loss(ctx, true, 1.0, 3, 5, -3.0, 3.0, 22, false);
    cly_context_destroy(ctx);
}
END_TEST

static Suite *unit_suite(void)
{
    Suite *s = suite_create("loss");
    TCase *tc = ot_tcase("loss");
    tcase_add_test(tc, softmax_xent);
    tcase_add_test(tc, svm_loss);
    tcase_add_test(tc, loss_notes_figures);
    tcase_add_test(tc, loss_bad_labels);
    suite_add_tcase(s, tc);
    return s;
}

static Suite *small_suite(void)
{
    Suite *s = suite_create("loss-oclgrind");
    TCase *tc = ot_tcase("small");
    tcase_add_test(tc, small_all_kernels);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    return ot_main(argc, argv, unit_suite, small_suite);
}
