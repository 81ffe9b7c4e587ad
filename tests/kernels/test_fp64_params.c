/* Scalar hyper-parameters on a FLOAT64 context: every one reaches its
 * kernel as a double (cly_arg_real), so batch-norm epsilon, momentum and the
 * unbiasing factor N/(N-1), LRN alpha/size, k and beta, the SVM margin, the
 * dropout scale 1/(1 - p) and the optimisers' learning rate, momentum,
 * weight decay, b1, b2, eps and bias corrections agree with a host
 * reference in double to 1e-13 relative (a few ulp and a short sum). Each
 * value is chosen so that a float copy of it (0.1f, 1e-5f, 1.1f, 0.3f, ...:
 * relative error 1e-8 .. 1e-7) moves the results by 1e-10 or more, far
 * outside the tolerance. The inputs are floats widened, exact in double. */
#include "lrn_ref.h"
#include "ops_test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A few ulp of double. */
#define RTOL 1e-13

/* A FLOAT64 context, or NULL (the test passes vacuously, said on stderr)
 * on a device without cl_khr_fp64. */
static cly_context *fp64_context(void)
{
    cly_context *ctx = NULL;
    cly_status s = cly_context_create_ex(&(cly_context_options){.precision = CLY_PRECISION_FLOAT64}, &ctx);
    if (s == CLY_ERROR_UNSUPPORTED) {
        fprintf(stderr, "skipped: %s\n", cly_last_error(NULL));
        return NULL;
    }
    ck_assert_msg(s == CLY_SUCCESS, "%s", cly_last_error(NULL));
    return ctx;
}

/* count doubles in [lo, hi], each a float (exact in both precisions). */
static double *fill(int64_t count, unsigned seed, double lo, double hi)
{
    float *f = malloc((size_t)count * sizeof *f);
    double *d = malloc((size_t)count * sizeof *d);
    ck_assert(f && d);
    ot_fill_real(f, count, seed, lo, hi);
    for (int64_t i = 0; i < count; i++)
        d[i] = f[i];
    free(f);
    return d;
}

static cly_buf upload(cly_context *ctx, const double *host, int64_t count)
{
    return ot_upload(ctx, host, count, sizeof(double));
}

static double *download(cly_context *ctx, cly_buf b, int64_t count)
{
    double *h = malloc((size_t)count * sizeof *h);
    ck_assert_ptr_nonnull(h);
    ot_download(ctx, b, h, count, sizeof *h);
    return h;
}

/* |got - want| <= RTOL * max(|want|, floor) for every element. */
static void check(const double *got, const double *want, int64_t n, double floor, const char *what)
{
    for (int64_t i = 0; i < n; i++) {
        double scale = fabs(want[i]) > floor ? fabs(want[i]) : floor;
        if (!(fabs(got[i] - want[i]) <= RTOL * scale))
            ck_abort_msg("%s: element %lld is %.17g, expected %.17g (relative error %.2g, tolerance %g)", what,
                         (long long)i, got[i], want[i], fabs(got[i] - want[i]) / scale, RTOL);
    }
}

/* ---- batch normalisation: eps, momentum, N/(N-1) */

/* Values within +-0.005 give a batch variance near 8e-6, so eps = 1e-5 is
 * half of var + eps and a float eps (1e-5f, 2.5e-8 off) moves invstd by
 * about 6e-9. The running statistics start at zero: running = m * batch,
 * where a float momentum (0.1f) or unbiasing factor (40/39 in float) is
 * 1e-8 off. */
START_TEST(batchnorm_train)
{
    cly_context *ctx = fp64_context();
    if (!ctx)
        return;
    const cly_shape s = {2, 3, 4, 5};
    const int64_t hw = s.h * s.w, n = s.n * s.c * hw, m = s.n * hw;
    const double eps = 1e-5, mom = 0.1;
    double *x = fill(n, 11, -0.005, 0.005), *scale = fill(s.c, 12, 0.5, 1.5), *shift = fill(s.c, 13, -1.0, 1.0);
    double zero[3] = {0, 0, 0};
    cly_buf bx = upload(ctx, x, n), bscale = upload(ctx, scale, s.c), bshift = upload(ctx, shift, s.c);
    cly_buf brm = upload(ctx, zero, s.c), brv = upload(ctx, zero, s.c);
    cly_buf bsm = ot_alloc(ctx, s.c, 8), bsi = ot_alloc(ctx, s.c, 8), by = ot_alloc(ctx, n, 8);
    ck_assert_msg(cly_batchnorm_train_forward(ctx, s, eps, mom, bx, bscale, bshift, brm, brv, bsm, bsi,
                                              (cly_buf){NULL, 0}, by) == CLY_SUCCESS,
                  "%s", cly_last_error(ctx));
    double *y = download(ctx, by, n), *sm = download(ctx, bsm, s.c), *si = download(ctx, bsi, s.c);
    double *rm = download(ctx, brm, s.c), *rv = download(ctx, brv, s.c);
    double want_mean[3], want_invstd[3], want_rm[3], want_rv[3], *want_y = malloc((size_t)n * sizeof *want_y);
    for (int64_t c = 0; c < s.c; c++) {
        double sum = 0, sq = 0;
        for (int64_t b = 0; b < s.n; b++)
            for (int64_t q = 0; q < hw; q++)
                sum += x[(b * s.c + c) * hw + q];
        const double mean = sum / (double)m;
        for (int64_t b = 0; b < s.n; b++)
            for (int64_t q = 0; q < hw; q++) {
                double d = x[(b * s.c + c) * hw + q] - mean;
                sq += d * d;
            }
        const double var = sq / (double)m;
        want_mean[c] = mean;
        want_invstd[c] = 1.0 / sqrt(var + eps);
        want_rm[c] = mom * mean;
        want_rv[c] = mom * var * (double)m / (double)(m - 1);
        for (int64_t b = 0; b < s.n; b++)
            for (int64_t q = 0; q < hw; q++) {
                int64_t i = (b * s.c + c) * hw + q;
                want_y[i] = scale[c] * ((x[i] - mean) * want_invstd[c]) + shift[c];
            }
    }
    /* The means are sums of 40 values of either sign: compared against their
     * spread (0.005), not their own size. */
    check(sm, want_mean, s.c, 0.005, "bn train: save_mean");
    check(rm, want_rm, s.c, 0.0005, "bn train: running mean (momentum)");
    check(si, want_invstd, s.c, 0, "bn train: save_invstd (eps)");
    check(rv, want_rv, s.c, 0, "bn train: running var (momentum, N/(N-1))");
    check(y, want_y, n, 1.0, "bn train: y");

    /* Inference with the running statistics just made: eps again. */
    cly_buf by2 = ot_alloc(ctx, n, 8);
    ck_assert_msg(cly_batchnorm_forward(ctx, s, eps, bx, bscale, bshift, brm, brv, by2) == CLY_SUCCESS, "%s",
                  cly_last_error(ctx));
    double *y2 = download(ctx, by2, n);
    for (int64_t b = 0; b < s.n; b++)
        for (int64_t c = 0; c < s.c; c++)
            for (int64_t q = 0; q < hw; q++) {
                int64_t i = (b * s.c + c) * hw + q;
                want_y[i] = scale[c] * ((x[i] - rm[c]) / sqrt(rv[c] + eps)) + shift[c];
            }
    check(y2, want_y, n, 1.0, "bn inference: y (eps)");

    const cly_buf bufs[] = {bx, bscale, bshift, brm, brv, bsm, bsi, by, by2};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        ot_free(bufs[i]);
    double *hosts[] = {x, scale, shift, y, sm, si, rm, rv, want_y, y2};
    for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++)
        free(hosts[i]);
    cly_context_destroy(ctx);
}
END_TEST

/* ---- LRN: A = alpha/size (or alpha), k, beta */

/* k = 1.1 (1.1f is 2e-8 off) and beta = 0.6 (0.6f: 4e-8) move every output
 * by 1e-8 relative; values up to 10 make A * sum reach 1e-2 of k, so a
 * float A (2e-5 or 1e-3 in float: 1e-8 off) moves them by 1e-10. */
static const cly_lrn_params lrns[] = {
    {5, 1e-4, 0.75, 1.1, CLY_LRN_ALPHA_OVER_SIZE},
    {5, 1e-3, 0.6, 2.2, CLY_LRN_ALPHA_RAW},
    {4, 3e-4, 0.6, 1.1, CLY_LRN_ALPHA_OVER_SIZE},
};

START_TEST(lrn)
{
    cly_context *ctx = fp64_context();
    if (!ctx)
        return;
    const cly_lrn_params p = lrns[_i];
    const cly_shape s = {2, 9, 3, 4};
    const int64_t n = s.n * s.c * s.h * s.w;
    float *xf = malloc((size_t)n * sizeof *xf), *dyf = malloc((size_t)n * sizeof *dyf);
    ot_fill_real(xf, n, 21 + (unsigned)_i, -10.0, 10.0);
    ot_fill_real(dyf, n, 31 + (unsigned)_i, -1.0, 1.0);
    double *x = malloc((size_t)n * sizeof *x), *dy = malloc((size_t)n * sizeof *dy);
    double *want = malloc((size_t)n * sizeof *want);
    for (int64_t i = 0; i < n; i++) {
        x[i] = xf[i];
        dy[i] = dyf[i];
    }
    char what[128];
    snprintf(what, sizeof what, "lrn size %lld alpha %g%s beta %g k %g", (long long)p.size, p.alpha,
             p.alpha_mode == CLY_LRN_ALPHA_RAW ? " raw" : "/size", p.beta, p.k);
    cly_buf bx = upload(ctx, x, n), bdy = upload(ctx, dy, n), by = ot_alloc(ctx, n, 8), bdx = ot_alloc(ctx, n, 8);
    ck_assert_msg(cly_lrn_forward(ctx, s, &p, bx, by) == CLY_SUCCESS, "%s", cly_last_error(ctx));
    double *y = download(ctx, by, n);
    ref_lrn_d(s, &p, x, want);
    /* y = x * d^-beta: relative to |x| (up to 10) times d^-beta (>= 0.5). */
    check(y, want, n, 1.0, what);
    ck_assert_msg(cly_lrn_backward(ctx, s, &p, bx, by, bdy, bdx, 0.0f) == CLY_SUCCESS, "%s", cly_last_error(ctx));
    double *dx = download(ctx, bdx, n);
    ref_lrn_bwd(s, &p, xf, dyf, want);
    /* dx sums terms of size |dy| d^-beta (~0.5) of either sign. */
    strncat(what, ": backward", sizeof what - strlen(what) - 1);
    check(dx, want, n, 0.5, what);
    ot_free(bx);
    ot_free(bdy);
    ot_free(by);
    ot_free(bdx);
    free(xf);
    free(dyf);
    free(x);
    free(dy);
    free(want);
    free(y);
    free(dx);
    cly_context_destroy(ctx);
}
END_TEST

/* ---- SVM margin, dropout scale */

/* margin 0.3 (0.3f is 4e-8 off): each sample's loss sums up to 9 margin
 * terms of size ~1. */
START_TEST(svm_margin)
{
    cly_context *ctx = fp64_context();
    if (!ctx)
        return;
    enum { N = 7, C = 10 };
    const double margin = 0.3;
    double *s = fill(N * C, 41, -1.0, 1.0), want[N], ds_want[N * C];
    int labels[N];
    for (int i = 0; i < N; i++)
        labels[i] = (3 * i + 1) % C;
    cly_buf bs = upload(ctx, s, N * C), bl = ot_upload(ctx, labels, N, sizeof labels[0]);
    cly_buf bloss = ot_alloc(ctx, N, 8), bds = ot_alloc(ctx, N * C, 8);
    ck_assert_msg(cly_svm_loss(ctx, N, C, margin, bs, bl, bloss, bds) == CLY_SUCCESS, "%s", cly_last_error(ctx));
    double *loss = download(ctx, bloss, N), *ds = download(ctx, bds, N * C);
    for (int i = 0; i < N; i++) {
        const double *row = s + i * C;
        double total = 0;
        int on = 0;
        for (int j = 0; j < C; j++) {
            double d = row[j] - row[labels[i]] + margin;
            ds_want[i * C + j] = 0;
            if (j != labels[i] && d > 0) {
                total += d;
                ds_want[i * C + j] = 1.0 / N;
                on++;
            }
        }
        ds_want[i * C + labels[i]] = -(double)on / N;
        want[i] = total;
    }
    check(loss, want, N, 0.3, "svm loss (margin)");
    check(ds, ds_want, N * C, 1.0 / N, "svm dscores");
    ot_free(bs);
    ot_free(bl);
    ot_free(bloss);
    ot_free(bds);
    free(s);
    free(loss);
    free(ds);
    cly_context_destroy(ctx);
}
END_TEST

/* p = 0.3: the scale 1/0.7 is 1e-8 off in float. Kept elements are
 * x / (1 - p), dropped ones 0; forward and backward share the mask. */
START_TEST(dropout_scale)
{
    cly_context *ctx = fp64_context();
    if (!ctx)
        return;
    enum { N = 1000 };
    const double p = 0.3;
    double *x = fill(N, 51, 0.5, 1.5); /* nonzero: a kept element is never 0 */
    cly_buf bx = upload(ctx, x, N), by = ot_alloc(ctx, N, 8), bdx = ot_alloc(ctx, N, 8);
    ck_assert_msg(cly_dropout_forward(ctx, N, p, 1234, bx, by) == CLY_SUCCESS, "%s", cly_last_error(ctx));
    ck_assert_msg(cly_dropout_backward(ctx, N, p, 1234, bx, bdx, 0.0f) == CLY_SUCCESS, "%s", cly_last_error(ctx));
    double *y = download(ctx, by, N), *dx = download(ctx, bdx, N), want[N];
    int kept = 0;
    for (int i = 0; i < N; i++) {
        kept += y[i] != 0;
        want[i] = y[i] != 0 ? x[i] / (1.0 - p) : 0.0;
    }
    ck_assert_msg(kept > N / 2 && kept < N * 9 / 10, "dropout kept %d of %d at p = %g", kept, N, p);
    check(y, want, N, 0, "dropout forward (scale)");
    check(dx, want, N, 0, "dropout backward (scale)");
    ot_free(bx);
    ot_free(by);
    ot_free(bdx);
    free(x);
    free(y);
    free(dx);
    cly_context_destroy(ctx);
}
END_TEST

/* ---- optimisers */

/* Three steps of SGD with momentum 0.9 (0.9f: 3e-8 off), lr 0.01 (0.01f:
 * 2e-8) and decay 5e-4 (5e-4f: 1e-8), plain and Nesterov; and of Adam with
 * lr 0.01, b1 0.9, b2 0.999 (0.999f: 3e-8 off), eps 1e-3 (1e-3f: 5e-8; large
 * enough to matter beside sqrt(v) ~ 1) and the bias corrections 1 - b^t.
 * The updates are ~1e-2 of w ~ 1, so a float hyper-parameter moves w by
 * 1e-10 relative. */
static const struct {
    bool adam, nesterov;
} opts[] = {{false, false}, {false, true}, {true, false}};

START_TEST(optimiser)
{
    cly_context *ctx = fp64_context();
    if (!ctx)
        return;
    enum { N = 257, STEPS = 3 };
    const bool adam = opts[_i].adam, nesterov = opts[_i].nesterov;
    const double lr = 0.01, mom = 0.9, decay = 5e-4, b1 = 0.9, b2 = 0.999, eps = 1e-3;
    const char *what = adam ? "adam" : nesterov ? "sgd nesterov" : "sgd momentum";
    double *w = fill(N, 61, -1.0, 1.0), m[N] = {0}, v[N] = {0};
    cly_buf bw = upload(ctx, w, N), bm = upload(ctx, m, N), bv = upload(ctx, v, N), bg = ot_alloc(ctx, N, 8);
    for (int t = 1; t <= STEPS; t++) {
        double *g = fill(N, 70 + (unsigned)t, -1.0, 1.0);
        cl_int err = clEnqueueWriteBuffer(ctx->queue, bg.mem, CL_TRUE, (size_t)bg.offset * sizeof *g,
                                          N * sizeof *g, g, 0, NULL, NULL);
        ck_assert_int_eq(err, CL_SUCCESS);
        cly_status st = adam ? cly_adam_step(ctx, N, lr, b1, b2, eps, t, decay, bw, bg, bm, bv)
                             : cly_sgd_step(ctx, N, lr, mom, nesterov, decay, bw, bg, bm);
        ck_assert_msg(st == CLY_SUCCESS, "%s", cly_last_error(ctx));
        for (int i = 0; i < N; i++) {
            const double gd = g[i] + decay * w[i];
            if (adam) {
                m[i] = b1 * m[i] + (1.0 - b1) * gd;
                v[i] = b2 * v[i] + (1.0 - b2) * (gd * gd);
                w[i] -= lr * (m[i] / (1.0 - pow(b1, t))) / (sqrt(v[i] / (1.0 - pow(b2, t))) + eps);
            } else {
                m[i] = mom * m[i] + gd;
                w[i] -= lr * (nesterov ? gd + mom * m[i] : m[i]);
            }
        }
        free(g);
    }
    double *gw = download(ctx, bw, N), *gm = download(ctx, bm, N);
    char label[64];
    snprintf(label, sizeof label, "%s: w after %d steps", what, STEPS);
    check(gw, w, N, 1.0, label);
    snprintf(label, sizeof label, "%s: %s after %d steps", what, adam ? "m" : "velocity", STEPS);
    check(gm, m, N, 1.0, label);
    if (adam) {
        double *gv = download(ctx, bv, N);
        check(gv, v, N, 1e-3, "adam: v after 3 steps");
        free(gv);
    }
    ot_free(bw);
    ot_free(bm);
    ot_free(bv);
    ot_free(bg);
    free(w);
    free(gw);
    free(gm);
    cly_context_destroy(ctx);
}
END_TEST

static Suite *unit_suite(void)
{
    Suite *s = suite_create("fp64-params");
    TCase *tc = ot_tcase("fp64");
    tcase_add_test(tc, batchnorm_train);
    tcase_add_loop_test(tc, lrn, 0, (int)(sizeof lrns / sizeof lrns[0]));
    tcase_add_test(tc, svm_margin);
    tcase_add_test(tc, dropout_scale);
    tcase_add_loop_test(tc, optimiser, 0, (int)(sizeof opts / sizeof opts[0]));
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    /* Small shapes: the same suite serves under oclgrind. */
    return ot_main(argc, argv, unit_suite, unit_suite);
}
