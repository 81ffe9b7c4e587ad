/* LRN backward, batch normalisation in training (forward statistics,
 * running averages, backward) and softmax backward: literal references in
 * double, finite differences of the device forwards, the beta contract and
 * determinism. Real-valued fills; every tolerance is argued where it is set. */
#include "grad_check.h"
#include "lrn_ref.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- LRN */

typedef struct lrn_run {
    cly_context *ctx;
    cly_shape s;
    cly_lrn_params p;
    float *x;
    cly_buf bx, by, bdy;
} lrn_run;

static void lrn_bwd(void *user, cly_context *ctx, const cly_buf *outs, float beta)
{
    lrn_run *l = user;
    ck_assert_msg(cly_lrn_backward(ctx, l->s, &l->p, l->bx, l->by, l->bdy, outs[0], beta) == CLY_SUCCESS, "%s",
                  cly_last_error(ctx));
}

static void lrn_fwd(void *user, float *y)
{
    lrn_run *l = user;
    gc_write(l->ctx, l->bx, l->x, gc_count(l->s));
    ck_assert_msg(cly_lrn_forward(l->ctx, l->s, &l->p, l->bx, l->by) == CLY_SUCCESS, "%s", cly_last_error(l->ctx));
    ot_download(l->ctx, l->by, y, gc_count(l->s), 4);
}

static void run_lrn(cly_context *ctx, cly_shape s, cly_lrn_params prm, double range, unsigned seed, bool fd)
{
    lrn_run l = {.ctx = ctx, .s = s, .p = prm};
    int64_t n = gc_count(s);
    l.x = gc_malloc((size_t)n * 4);
    float *r = gc_malloc((size_t)n * 4), *y = gc_malloc((size_t)n * 4), *got;
    double *want = gc_malloc((size_t)n * 8);
    ot_fill_real(l.x, n, seed, -range, range);
    ot_fill_real(r, n, seed + 1, -1.0, 1.0);
    l.bx = ot_upload(ctx, l.x, n, 4);
    l.by = ot_alloc(ctx, n, 4);
    l.bdy = ot_upload(ctx, r, n, 4);
    lrn_fwd(&l, y);
    char what[160];
    snprintf(what, sizeof what, "lrn backward " CLY_SHAPE_FMT " size %lld alpha %g%s beta %g k %g", CLY_SHAPE_ARGS(s),
             (long long)prm.size, prm.alpha, prm.alpha_mode == CLY_LRN_ALPHA_RAW ? " raw" : "/size", prm.beta, prm.k);
    gc_run_backward(ctx, what, lrn_bwd, &l, 1, &n, &got);
    ref_lrn_bwd(s, &prm, l.x, r, want);
    /* A few float pow()s and a sum of `size` terms of |dy y / d| <= |dy|:
     * 1e-5 of max(|dx|, 1) (dx is O(1): |dy| <= 1, d^-beta <= 1 for k >= 1). */
    ot_check_rel(got, want, n, 1e-5, 1.0, what);
    if (fd) {
        /* Smooth. Step 1% of the input range: truncation ~(h/x)^2 ~ 1e-4;
         * y's float rounding (|y| <= range) over 2h, summed over the size
         * outputs one input reaches: ~size * 1e-7 * range / (0.02 range) =
         * 2.5e-5 * size absolute. tol 2e-3 relative; gradients below 0.05
         * are checked to 1e-4 absolute. */
        gc_spec spec = {.what = what, .in = l.x, .nin = n, .analytic = got, .r = r, .ny = n, .fwd = lrn_fwd,
                        .user = &l, .h = 1e-2 * range, .tol = 2e-3, .floor = 5e-2, .max_points = 48};
        gc_check(&spec);
    }
    ot_free(l.bx);
    ot_free(l.by);
    ot_free(l.bdy);
    free(l.x);
    free(r);
    free(y);
    free(want);
    free(got);
}

START_TEST(lrn_backward)
{
    cly_context *ctx = ot_context();
    const struct {
        cly_shape s;
        cly_lrn_params p;
        double range;
    } cases[] = {
        /* AlexNet paper (alpha raw) and Caffe/PyTorch (alpha/size); values
         * up to 30 so that the cross-channel terms matter. */
        {{2, 16, 5, 4}, {5, 1e-4, 0.75, 2.0, CLY_LRN_ALPHA_RAW}, 30.0},
        {{2, 16, 5, 4}, {5, 1e-4, 0.75, 2.0, CLY_LRN_ALPHA_OVER_SIZE}, 30.0},
        /* GoogLeNet: k = 1. */
        {{1, 12, 3, 3}, {5, 1e-4, 0.75, 1.0, CLY_LRN_ALPHA_OVER_SIZE}, 30.0},
        /* Strong normalisation: the cross terms dominate. */
        {{3, 7, 3, 4}, {3, 0.5, 0.75, 1.0, CLY_LRN_ALPHA_RAW}, 2.0},
        {{3, 7, 3, 4}, {3, 0.5, 0.75, 1.0, CLY_LRN_ALPHA_OVER_SIZE}, 2.0},
        /* Even sizes: asymmetric windows, so the backward's reversed window
         * (c - POST .. c + PRE) differs from the forward's. */
        {{2, 9, 4, 3}, {4, 0.3, 0.6, 1.5, CLY_LRN_ALPHA_OVER_SIZE}, 2.0},
        {{2, 9, 4, 3}, {2, 0.3, 0.6, 1.5, CLY_LRN_ALPHA_RAW}, 2.0},
        /* Size 1, and a window wider than all channels. */
        {{2, 5, 3, 3}, {1, 1.0, 0.5, 1.0, CLY_LRN_ALPHA_RAW}, 2.0},
        {{2, 3, 2, 5}, {7, 0.7, 0.75, 1.0, CLY_LRN_ALPHA_OVER_SIZE}, 2.0},
        /* 1x1 planes; one channel. */
        {{4, 6, 1, 1}, {5, 0.2, 0.75, 2.0, CLY_LRN_ALPHA_RAW}, 2.0},
        {{3, 1, 2, 2}, {5, 0.2, 0.75, 2.0, CLY_LRN_ALPHA_OVER_SIZE}, 2.0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_lrn(ctx, cases[i].s, cases[i].p, cases[i].range, 10 + 2 * (unsigned)i, true);
    /* AlexNet's first LRN on a smaller plane, for determinism at size. */
    run_lrn(ctx, (cly_shape){2, 96, 27, 27}, (cly_lrn_params){5, 1e-4, 0.75, 2.0, CLY_LRN_ALPHA_RAW}, 30.0, 40,
            false);
    cly_context_destroy(ctx);
}
END_TEST

/* ---- batch normalisation, training */

typedef struct bn_run {
    cly_context *ctx;
    cly_shape s;
    double eps, momentum;
    float *x, *scale, *shift;
    cly_buf bx, bs, bh, brm, brv, bsm, bsi, by, bdy;
} bn_run;

static void bn_fwd(void *user, float *y)
{
    bn_run *b = user;
    gc_write(b->ctx, b->bx, b->x, gc_count(b->s));
    gc_write(b->ctx, b->bs, b->scale, b->s.c);
    gc_write(b->ctx, b->bh, b->shift, b->s.c);
    cly_status st = cly_batchnorm_train_forward(b->ctx, b->s, b->eps, b->momentum, b->bx, b->bs, b->bh, b->brm,
                                                b->brv, b->bsm, b->bsi, (cly_buf){NULL, 0}, b->by);
    ck_assert_msg(st == CLY_SUCCESS, "%s", cly_last_error(b->ctx));
    ot_download(b->ctx, b->by, y, gc_count(b->s), 4);
}

static void bn_bwd(void *user, cly_context *ctx, const cly_buf *outs, float beta)
{
    bn_run *b = user;
    cly_status st = cly_batchnorm_backward(ctx, b->s, b->bx, b->bs, b->bsm, b->bsi, b->bdy, outs[0], outs[1],
                                           outs[2], beta);
    ck_assert_msg(st == CLY_SUCCESS, "%s", cly_last_error(ctx));
}

/* Per channel, in double: the batch mean, the biased and the unbiased
 * variance (sums of squared deviations from the mean). */
static void ref_bn_stats(cly_shape s, const float *x, double *mean, double *var_b, double *var_u)
{
    int64_t hw = s.h * s.w, m = s.n * hw;
    for (int64_t c = 0; c < s.c; c++) {
        double sum = 0.0, sq = 0.0;
        for (int64_t n = 0; n < s.n; n++)
            for (int64_t q = 0; q < hw; q++)
                sum += x[(n * s.c + c) * hw + q];
        mean[c] = sum / (double)m;
        for (int64_t n = 0; n < s.n; n++)
            for (int64_t q = 0; q < hw; q++) {
                double d = x[(n * s.c + c) * hw + q] - mean[c];
                sq += d * d;
            }
        var_b[c] = sq / (double)m;
        var_u[c] = sq / (double)(m - 1);
    }
}

static void check_vec(const char *what, const char *name, const float *got, const double *want, int64_t n,
                      double rtol, double floor)
{
    char label[256];
    snprintf(label, sizeof label, "%s: %s", what, name);
    ot_check_rel(got, want, n, rtol, floor, label);
}

static void run_bn(cly_context *ctx, cly_shape s, double eps, unsigned seed, bool fd)
{
    bn_run b = {.ctx = ctx, .s = s, .eps = eps, .momentum = 0.1};
    int64_t n = gc_count(s), c = s.c, hw = s.h * s.w, m = s.n * hw;
    b.x = gc_malloc((size_t)n * 4);
    b.scale = gc_malloc((size_t)c * 4);
    b.shift = gc_malloc((size_t)c * 4);
    float *r = gc_malloc((size_t)n * 4), *y = gc_malloc((size_t)n * 4), *y2 = gc_malloc((size_t)n * 4);
    float *rm0 = gc_malloc((size_t)c * 4), *rv0 = gc_malloc((size_t)c * 4), *v = gc_malloc((size_t)c * 4);
    double *mean = gc_malloc((size_t)c * 8), *vb = gc_malloc((size_t)c * 8), *vu = gc_malloc((size_t)c * 8);
    double *want = gc_malloc((size_t)n * 8), *wc = gc_malloc((size_t)c * 8);
    ot_fill_real(b.x, n, seed, -2.0, 2.0);
    for (int64_t i = 0; i < n; i++) /* per-channel offsets and spreads, as real activations have */
        b.x[i] = b.x[i] * (float)(0.5 + (double)((i / hw) % c % 4)) + (float)((i / hw) % c % 3) - 1.0f;
    ot_fill_real(b.scale, c, seed + 1, 0.5, 2.0);
    for (int64_t i = 0; i < c; i += 2)
        b.scale[i] = -b.scale[i];
    ot_fill_real(b.shift, c, seed + 2, -1.0, 1.0);
    ot_fill_real(rm0, c, seed + 3, -1.0, 1.0);
    ot_fill_real(rv0, c, seed + 4, 0.5, 2.0);
    ot_fill_real(r, n, seed + 5, -1.0, 1.0);
    b.bx = ot_upload(ctx, b.x, n, 4);
    b.bs = ot_upload(ctx, b.scale, c, 4);
    b.bh = ot_upload(ctx, b.shift, c, 4);
    b.brm = ot_upload(ctx, rm0, c, 4);
    b.brv = ot_upload(ctx, rv0, c, 4);
    b.bsm = ot_alloc(ctx, c, 4);
    b.bsi = ot_alloc(ctx, c, 4);
    b.by = ot_alloc(ctx, n, 4);
    b.bdy = ot_upload(ctx, r, n, 4);
    char what[128];
    snprintf(what, sizeof what, "batchnorm train " CLY_SHAPE_FMT " eps %g", CLY_SHAPE_ARGS(s), eps);

    /* Forward, twice over the same x: the statistics, y, and the running
     * averages after one and two steps of momentum 0.1. */
    ref_bn_stats(s, b.x, mean, vb, vu);
    bn_fwd(&b, y);
    for (int64_t i = 0; i < n; i++) {
        int64_t ch = (i / hw) % c;
        want[i] = b.scale[ch] * ((double)b.x[i] - mean[ch]) / sqrt(vb[ch] + eps) + b.shift[ch];
    }
    /* Float sums over M = N*HW values (partial sums of M/256 in a tree):
     * the mean and variance carry ~1e-6 relative error, y = scale * xhat +
     * shift with |xhat| <= a few: 1e-4 of max(|y|, 1) is generous yet far
     * below any wrong divisor (M vs M - 1 moves y by 1/(2M) >= 1e-4 for the
     * small shapes tested with FD too). */
    check_vec(what, "y", y, want, n, 1e-4, 1.0);
    ot_download(ctx, b.bsm, v, c, 4);
    check_vec(what, "save_mean", v, mean, c, 1e-5, 1.0);
    for (int64_t i = 0; i < c; i++)
        wc[i] = 1.0 / sqrt(vb[i] + eps);
    ot_download(ctx, b.bsi, v, c, 4);
    check_vec(what, "save_invstd (biased variance)", v, wc, c, 1e-5, 1e-30);
    for (int64_t i = 0; i < c; i++)
        wc[i] = 0.9 * rm0[i] + 0.1 * mean[i];
    ot_download(ctx, b.brm, v, c, 4);
    check_vec(what, "running_mean after one step", v, wc, c, 1e-5, 1.0);
    for (int64_t i = 0; i < c; i++)
        wc[i] = 0.9 * rv0[i] + 0.1 * vu[i];
    ot_download(ctx, b.brv, v, c, 4);
    check_vec(what, "running_var after one step (unbiased variance)", v, wc, c, 1e-5, 1e-30);
    bn_fwd(&b, y2);
    ck_assert_msg(memcmp(y, y2, (size_t)n * 4) == 0, "%s: y differs between two runs", what);
    for (int64_t i = 0; i < c; i++)
        wc[i] = 0.81 * rm0[i] + 0.19 * mean[i];
    ot_download(ctx, b.brm, v, c, 4);
    check_vec(what, "running_mean after two steps", v, wc, c, 1e-5, 1.0);
    for (int64_t i = 0; i < c; i++)
        wc[i] = 0.81 * rv0[i] + 0.19 * vu[i];
    ot_download(ctx, b.brv, v, c, 4);
    check_vec(what, "running_var after two steps", v, wc, c, 1e-5, 1e-30);

    /* Backward: dx, dscale, dshift. */
    int64_t counts[3] = {n, c, c};
    float *got[3];
    gc_run_backward(ctx, what, bn_bwd, &b, 3, counts, got);
    /* The closed form, in double with the reference statistics:
     *   xhat = (x - mean)/sqrt(var + eps);  dshift = sum dy;  dscale = sum dy*xhat
     *   dx = scale/sqrt(var + eps) * (dy - dshift/M - xhat*dscale/M) */
    double *dsc = gc_malloc((size_t)c * 8), *dsh = gc_malloc((size_t)c * 8);
    for (int64_t ch = 0; ch < c; ch++) {
        double inv = 1.0 / sqrt(vb[ch] + eps), s1 = 0.0, s2 = 0.0;
        for (int64_t k = 0; k < s.n; k++)
            for (int64_t q = 0; q < hw; q++) {
                int64_t i = (k * c + ch) * hw + q;
                s1 += r[i];
                s2 += r[i] * (b.x[i] - mean[ch]) * inv;
            }
        dsh[ch] = s1;
        dsc[ch] = s2;
        for (int64_t k = 0; k < s.n; k++)
            for (int64_t q = 0; q < hw; q++) {
                int64_t i = (k * c + ch) * hw + q;
                double xhat = (b.x[i] - mean[ch]) * inv;
                want[i] = b.scale[ch] * inv * (r[i] - s1 / (double)m - xhat * s2 / (double)m);
            }
    }
    /* Sums of M terms of magnitude ~1 in float: ~1e-6 * sqrt(M) relative of
     * their magnitude; dx subtracts two such means from dy. 1e-4 of
     * max(|v|, 1) (for dscale and dshift of max(|v|, sqrt(M))). */
    check_vec(what, "dx", got[0], want, n, 1e-4, 1.0);
    check_vec(what, "dscale", got[1], dsc, c, 1e-4, sqrt((double)m));
    check_vec(what, "dshift", got[2], dsh, c, 1e-4, sqrt((double)m));
    /* dx in place over dy. */
    cly_buf inplace = ot_upload(ctx, r, n, 4);
    ck_assert_int_eq(cly_batchnorm_backward(ctx, s, b.bx, b.bs, b.bsm, b.bsi, inplace, inplace, (cly_buf){NULL, 0},
                                            (cly_buf){NULL, 0}, 0.0f),
                     CLY_SUCCESS);
    ot_download(ctx, inplace, y2, n, 4);
    ot_check_exact(y2, got[0], n, "batchnorm backward, dx in place over dy");
    ot_free(inplace);
    if (fd) {
        /* Through the batch statistics: one x moves every y of its
         * channel, but through mean and variance only by O(1/M), so the
         * truncation error of the centred difference shrinks with M while
         * the float rounding of the M outputs it sums (~sqrt(2M) 1e-7 |y|
         * over 2h) grows: h = 0.003 sqrt(M) within [0.01, 0.1] (0.01 for
         * M <= 11, 0.093 for M = 969, where h = 0.01 measured 1.8e-4
         * absolute noise). tol 2e-3 relative, absolute 1e-4 below
         * |a| + |n| = 0.05. scale and shift enter linearly: exact up to
         * rounding. */
        double h = 0.003 * sqrt((double)m);
        h = h < 0.01 ? 0.01 : h > 0.1 ? 0.1 : h;
        char label[160];
        snprintf(label, sizeof label, "%s: dx", what);
        gc_spec spec = {.what = label, .in = b.x, .nin = n, .analytic = got[0], .r = r, .ny = n, .fwd = bn_fwd,
                        .user = &b, .h = h, .tol = 2e-3, .floor = 5e-2, .max_points = 40};
        gc_check(&spec);
        snprintf(label, sizeof label, "%s: dscale", what);
        spec.what = label;
        spec.in = b.scale;
        spec.nin = c;
        spec.analytic = got[1];
        gc_check(&spec);
        snprintf(label, sizeof label, "%s: dshift", what);
        spec.in = b.shift;
        spec.analytic = got[2];
        gc_check(&spec);
    }
    ot_free(b.bx);
    ot_free(b.bs);
    ot_free(b.bh);
    ot_free(b.brm);
    ot_free(b.brv);
    ot_free(b.bsm);
    ot_free(b.bsi);
    ot_free(b.by);
    ot_free(b.bdy);
    for (int k = 0; k < 3; k++)
        free(got[k]);
    free(b.x);
    free(b.scale);
    free(b.shift);
    free(r);
    free(y);
    free(y2);
    free(rm0);
    free(rv0);
    free(v);
    free(mean);
    free(vb);
    free(vu);
    free(want);
    free(wc);
    free(dsc);
    free(dsh);
}

START_TEST(batchnorm_train)
{
    cly_context *ctx = ot_context();
    run_bn(ctx, (cly_shape){2, 5, 7, 3}, 1e-5, 1, true);  /* ResNet epsilon */
    run_bn(ctx, (cly_shape){2, 5, 7, 3}, 1e-3, 2, true);  /* some nets use 1e-3 */
    run_bn(ctx, (cly_shape){8, 10, 1, 1}, 1e-5, 3, true); /* after an FC: M = N */
    run_bn(ctx, (cly_shape){2, 1, 1, 1}, 1e-3, 4, true);  /* M = 2, the least training allows */
    run_bn(ctx, (cly_shape){3, 4, 17, 19}, 1e-5, 5, true); /* M = 969: several elements per work-item */
    run_bn(ctx, (cly_shape){4, 64, 28, 28}, 1e-5, 6, false); /* a ResNet stage, for determinism at size */
    cly_context_destroy(ctx);
}
END_TEST

/* One value per channel has no unbiased variance: refused, like PyTorch. */
START_TEST(batchnorm_train_refusals)
{
    cly_context *ctx = ot_context();
    cly_buf b = ot_alloc(ctx, 64, 4), none = {NULL, 0};
    cly_buf x = {b.mem, b.offset}, p = {b.mem, b.offset + 16}, y = {b.mem, b.offset + 32};
    ck_assert_int_eq(cly_batchnorm_train_forward(ctx, (cly_shape){1, 4, 1, 1}, 1e-5, 0.1, x, p, p, none, none, p, p, none, y),
                     CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(cly_last_error(ctx), "at least two"));
    ck_assert_int_eq(cly_batchnorm_train_forward(ctx, (cly_shape){2, 4, 1, 1}, 1e-5, 1.5, x, p, p, none, none, p, p, none, y),
                     CLY_ERROR_INVALID_ARGUMENT);
    /* dx overlapping dy shifted. */
    ck_assert_int_eq(cly_batchnorm_backward(ctx, (cly_shape){2, 4, 1, 1}, x, p, p, p, y,
                                            (cly_buf){b.mem, b.offset + 33}, none, none, 0.0f),
                     CLY_ERROR_INVALID_ARGUMENT);
    ot_free(b);
    cly_context_destroy(ctx);
}
END_TEST

/* ---- softmax backward */

typedef struct sm_run {
    cly_context *ctx;
    cly_shape s;
    float *x;
    cly_buf bx, by, bdy;
} sm_run;

static void sm_bwd(void *user, cly_context *ctx, const cly_buf *outs, float beta)
{
    sm_run *p = user;
    ck_assert_msg(cly_softmax_backward(ctx, p->s, p->by, p->bdy, outs[0], beta) == CLY_SUCCESS, "%s",
                  cly_last_error(ctx));
}

static void sm_fwd(void *user, float *y)
{
    sm_run *p = user;
    gc_write(p->ctx, p->bx, p->x, gc_count(p->s));
    ck_assert_msg(cly_softmax_forward(p->ctx, p->s, p->bx, p->by) == CLY_SUCCESS, "%s", cly_last_error(p->ctx));
    ot_download(p->ctx, p->by, y, gc_count(p->s), 4);
}

static void run_softmax(cly_context *ctx, cly_shape s, double lo, double hi, unsigned seed, bool fd)
{
    sm_run p = {.ctx = ctx, .s = s};
    int64_t n = gc_count(s), hw = s.h * s.w;
    p.x = gc_malloc((size_t)n * 4);
    float *r = gc_malloc((size_t)n * 4), *y = gc_malloc((size_t)n * 4), *got;
    double *want = gc_malloc((size_t)n * 8);
    ot_fill_real(p.x, n, seed, lo, hi);
    ot_fill_real(r, n, seed + 1, -1.0, 1.0);
    p.bx = ot_upload(ctx, p.x, n, 4);
    p.by = ot_alloc(ctx, n, 4);
    p.bdy = ot_upload(ctx, r, n, 4);
    sm_fwd(&p, y);
    char what[128];
    snprintf(what, sizeof what, "softmax backward " CLY_SHAPE_FMT " in [%g, %g]", CLY_SHAPE_ARGS(s), lo, hi);
    gc_run_backward(ctx, what, sm_bwd, &p, 1, &n, &got);
    /* The Jacobian, literally: dx_c = sum_k dy_k * dy_k/dx_c with
     * dy_k/dx_c = y_k ([k == c] - y_c), y the forward's output. */
    for (int64_t b = 0; b < s.n; b++)
        for (int64_t q = 0; q < hw; q++)
            for (int64_t c = 0; c < s.c; c++) {
                double acc = 0.0, yc = y[(b * s.c + c) * hw + q];
                for (int64_t k = 0; k < s.c; k++) {
                    double yk = y[(b * s.c + k) * hw + q];
                    acc += r[(b * s.c + k) * hw + q] * yk * ((k == c ? 1.0 : 0.0) - yc);
                }
                want[(b * s.c + c) * hw + q] = acc;
            }
    /* A float dot product of C terms |dy y| <= 1 with sum y = 1: ~1e-7
     * absolute; 1e-5 of max(|dx|, 0.01). */
    ot_check_rel(got, want, n, 1e-5, 1e-2, what);
    /* In place over dy (before the finite differences, which leave y at
     * the last perturbed input). */
    cly_buf inplace = ot_upload(ctx, r, n, 4);
    ck_assert_int_eq(cly_softmax_backward(ctx, s, p.by, inplace, inplace, 0.0f), CLY_SUCCESS);
    ot_download(ctx, inplace, y, n, 4);
    ot_check_exact(y, got, n, "softmax backward in place over dy");
    ot_free(inplace);
    if (fd) {
        /* Smooth; y in (0, 1), |y''| <= 1: truncation (1e-2)^2/6, y's
         * rounding ~6e-8 over 0.02 per output of the column. tol 2e-3,
         * absolute 1e-4 below 0.05. */
        gc_spec spec = {.what = what, .in = p.x, .nin = n, .analytic = got, .r = r, .ny = n, .fwd = sm_fwd,
                        .user = &p, .h = 1e-2, .tol = 2e-3, .floor = 5e-2, .max_points = 48};
        gc_check(&spec);
    }
    ot_free(p.bx);
    ot_free(p.by);
    ot_free(p.bdy);
    free(p.x);
    free(r);
    free(y);
    free(want);
    free(got);
}

START_TEST(softmax_backward)
{
    cly_context *ctx = ot_context();
    run_softmax(ctx, (cly_shape){2, 10, 3, 4}, -3.0, 3.0, 1, true);
    run_softmax(ctx, (cly_shape){4, 1000, 1, 1}, -5.0, 5.0, 2, true); /* an ImageNet head */
    run_softmax(ctx, (cly_shape){1, 1, 5, 5}, -3.0, 3.0, 3, true);    /* one class: y = 1, dx = 0 */
    run_softmax(ctx, (cly_shape){3, 21, 2, 3}, 100.0, 140.0, 4, true); /* beyond exp's float range */
    cly_context_destroy(ctx);
}
END_TEST

START_TEST(small_all_kernels)
{
    cly_context *ctx = ot_context();
    run_lrn(ctx, (cly_shape){2, 6, 3, 2}, (cly_lrn_params){5, 0.5, 0.75, 2.0, CLY_LRN_ALPHA_RAW}, 2.0, 1, false);
    run_lrn(ctx, (cly_shape){2, 6, 3, 2}, (cly_lrn_params){4, 0.5, 0.75, 1.0, CLY_LRN_ALPHA_OVER_SIZE}, 2.0, 2,
            false);
    run_bn(ctx, (cly_shape){2, 3, 3, 5}, 1e-5, 3, false);
    run_bn(ctx, (cly_shape){2, 2, 1, 1}, 1e-3, 4, false);
    run_softmax(ctx, (cly_shape){2, 5, 2, 3}, -3.0, 3.0, 5, false);
    cly_context_destroy(ctx);
}
END_TEST

static Suite *unit_suite(void)
{
    Suite *s = suite_create("norm-backward");
    TCase *tc = ot_tcase("backward");
    tcase_add_test(tc, lrn_backward);
    tcase_add_test(tc, batchnorm_train);
    tcase_add_test(tc, batchnorm_train_refusals);
    tcase_add_test(tc, softmax_backward);
    suite_add_tcase(s, tc);
    return s;
}

static Suite *small_suite(void)
{
    Suite *s = suite_create("norm-backward-oclgrind");
    TCase *tc = ot_tcase("small");
    tcase_add_test(tc, small_all_kernels);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    return ot_main(argc, argv, unit_suite, small_suite);
}
