/* Adaptive average pooling (PyTorch's AdaptiveAvgPool2d), forward and
 * backward, on float32 and float64 contexts: against the naive reference in
 * tests/ref/adaptive_pool_ref.h (the backward reference SCATTERS each bin,
 * the kernel gathers: independent formulations), through the beta /
 * determinism runs of gc_run_backward, against centered finite differences
 * of the forward (in double on the float64 context), and the argument
 * errors. */
#include "adaptive_pool_ref.h"
#include "grad_check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ap_case {
    const char *desc;
    cly_shape in;
    int64_t oh, ow;
    bool fd; /* small enough for finite differences */
} ap_case;

/* Shapes from real nets (torchvision's AlexNet 6x6 and ResNet/VGG 7x7
 * heads, global pooling) and the corners of the bin rule: overlapping bins,
 * outputs larger than the input (repeated rows), 1xN planes, odd sizes. */
static const ap_case CASES[] = {
    {"identity mb2ic3ih7iw7 -> 7x7", {2, 3, 7, 7}, 7, 7, true},
    {"upsampling mb1ic4ih7iw7 -> 14x14", {1, 4, 7, 7}, 14, 14, true},
    {"mb2ic2ih28iw28 -> 14x14, 2x2 bins", {2, 2, 28, 28}, 14, 14, false},
    {"mb1ic3ih27iw27 -> 13x13, overlapping bins", {1, 3, 27, 27}, 13, 13, false},
    {"VGG/ResNet head mb1ic2ih224iw224 -> 7x7, 32x32 bins", {1, 2, 224, 224}, 7, 7, false},
    {"torchvision AlexNet mb2ic16ih13iw13 -> 6x6", {2, 16, 13, 13}, 6, 6, true},
    {"global mb3ic4ih7iw7 -> 1x1", {3, 4, 7, 7}, 1, 1, true},
    {"global mb2ic3ih13iw11 -> 1x1", {2, 3, 13, 11}, 1, 1, false},
    {"non-square mb3ic2ih10iw7 -> 3x5", {3, 2, 10, 7}, 3, 5, true},
    {"larger than the input mb2ic3ih3iw3 -> 5x5", {2, 3, 3, 3}, 5, 5, true},
    {"overlapping upsample mb1ic2ih6iw6 -> 7x7", {1, 2, 6, 6}, 7, 7, true},
    {"1xN mb2ic3ih1iw17 -> 1x5", {2, 3, 1, 17}, 1, 5, true},
    {"1xN repeated rows mb1ic2ih1iw9 -> 3x4", {1, 2, 1, 9}, 3, 4, true},
    {"1x1 plane mb2ic2ih1iw1 -> 4x3", {2, 2, 1, 1}, 4, 3, true},
    {"odd mb3ic5ih31iw17 -> 5x3", {3, 5, 31, 17}, 5, 3, false},
    {"odd mb3ic4ih9iw11 -> 4x7", {3, 4, 9, 11}, 4, 7, true},
};
#define NCASES ((int)(sizeof CASES / sizeof CASES[0]))

static int64_t in_count(const ap_case *c)
{
    return gc_count(c->in);
}

static int64_t out_count(const ap_case *c)
{
    return c->in.n * c->in.c * c->oh * c->ow;
}

static int64_t planes(const ap_case *c)
{
    return c->in.n * c->in.c;
}

/* True when every bin has a power-of-two height and width: then a mean of
 * small integers is a float, and the float kernel must hit it exactly. */
static bool pow2_bins(int64_t in, int64_t out)
{
    for (int64_t k = 0; k < out; k++) {
        int64_t n = ref_adaptive_end(k, in, out) - ref_adaptive_start(k, in, out);
        if (n & (n - 1))
            return false;
    }
    return true;
}

static bool exact_case(const ap_case *c)
{
    return pow2_bins(c->in.h, c->oh) && pow2_bins(c->in.w, c->ow);
}

/* |got - want| <= rtol * max(|want|, scale): scale is the mean |x| over the
 * bin (forward) or the sum of |dy| / area (backward), the size of the terms
 * whose float sum can cancel, so the check stays relative where the result
 * itself is near 0. */
static void check_f(const float *got, const double *want, const double *scale, int64_t n, double rtol,
                    const char *what)
{
    for (int64_t i = 0; i < n; i++) {
        double s = fabs(want[i]) > scale[i] ? fabs(want[i]) : scale[i];
        if (!(fabs((double)got[i] - want[i]) <= rtol * s))
            ck_abort_msg("%s: element %lld is %.9g, expected %.12g (relative tolerance %g of %g)", what,
                         (long long)i, got[i], want[i], rtol, s);
    }
}

static void check_d(const double *got, const double *want, const double *scale, int64_t n, double rtol,
                    const char *what)
{
    for (int64_t i = 0; i < n; i++) {
        double s = fabs(want[i]) > scale[i] ? fabs(want[i]) : scale[i];
        if (!(fabs(got[i] - want[i]) <= rtol * s))
            ck_abort_msg("%s: element %lld is %.17g, expected %.17g (relative tolerance %g of %g)", what,
                         (long long)i, got[i], want[i], rtol, s);
    }
}

static double *widen(const float *a, int64_t n)
{
    double *d = gc_malloc((size_t)n * sizeof *d);
    for (int64_t i = 0; i < n; i++)
        d[i] = a[i];
    return d;
}

/* Values in [lo, hi] that are not floats: a float fill plus a tail below
 * float resolution, so a float32 path inside the double one would show. */
static double *fill_double(int64_t n, unsigned seed, double lo, double hi)
{
    float *f = gc_malloc((size_t)n * sizeof *f);
    ot_fill_real(f, n, seed, lo, hi);
    double *d = widen(f, n);
    for (int64_t i = 0; i < n; i++)
        d[i] += 1.0e-9 * (double)((i * 7919) % 97 - 48);
    free(f);
    return d;
}

/* ---- float32: forward */

/* Integer fill: exact where every bin is a power of two, else 1e-6; real
 * fill in [-1, 1]: 1e-6 of the bin's mean |x|. */
static void forward_f32(cly_context *ctx, const ap_case *c, bool ints)
{
    int64_t nin = in_count(c), nout = out_count(c);
    float *x = gc_malloc((size_t)nin * 4), *y = gc_malloc((size_t)nout * 4);
    if (ints)
        ot_fill_int(x, nin, 21, -8, 8);
    else
        ot_fill_real(x, nin, 22, -1.0, 1.0);
    double *xd = widen(x, nin), *want = gc_malloc((size_t)nout * 8), *scale = gc_malloc((size_t)nout * 8);
    ref_adaptive_avgpool(planes(c), c->in.h, c->in.w, c->oh, c->ow, xd, want, scale);
    cly_buf bx = ot_upload(ctx, x, nin, 4), by = ot_alloc(ctx, nout, 4);
    cly_status s = cly_adaptive_avgpool_forward(ctx, c->in, c->oh, c->ow, bx, by);
    ck_assert_msg(s == CLY_SUCCESS, "%s: %s", c->desc, cly_last_error(ctx));
    ot_download(ctx, by, y, nout, 4);
    char what[200];
    snprintf(what, sizeof what, "forward f32 %s, %s fill", c->desc, ints ? "integer" : "real");
    if (ints && exact_case(c)) {
        for (int64_t i = 0; i < nout; i++)
            ck_assert_msg(y[i] == (float)want[i], "%s: element %lld is %.9g, expected exactly %.9g", what,
                          (long long)i, y[i], want[i]);
    } else {
        check_f(y, want, scale, nout, 1e-6, what);
    }
    ot_free(bx);
    ot_free(by);
    free(x);
    free(y);
    free(xd);
    free(want);
    free(scale);
}

START_TEST(forward_float32)
{
    cly_context *ctx = ot_context();
    forward_f32(ctx, &CASES[_i], true);
    forward_f32(ctx, &CASES[_i], false);
    cly_context_destroy(ctx);
}
END_TEST

/* PyTorch pinned by hand, independent of the reference: a 3x3 plane
 * x[h][w] = 1 + 3h + w to 5x5. Rows (and columns) go to bins
 * [0,1) [0,2) [1,2) [1,3) [2,3): y[1][1] = mean of x[0..1][0..1] =
 * (1+2+4+5)/4 = 3; y[3][4] = mean of x[1..2][2] = (6+9)/2 = 7.5;
 * y[4][4] = x[2][2] = 9. 13 -> 6: bin 1 is rows 2..4, bin 5 rows 10..12. */
START_TEST(forward_pytorch_bins)
{
    cly_context *ctx = ot_context();
    float x[9], y[25];
    for (int i = 0; i < 9; i++)
        x[i] = (float)(1 + i);
    cly_buf bx = ot_upload(ctx, x, 9, 4), by = ot_alloc(ctx, 25, 4);
    ck_assert_int_eq(cly_adaptive_avgpool_forward(ctx, (cly_shape){1, 1, 3, 3}, 5, 5, bx, by), CLY_SUCCESS);
    ot_download(ctx, by, y, 25, 4);
    ck_assert(y[0] == 1.0f && y[1 * 5 + 1] == 3.0f && y[3 * 5 + 4] == 7.5f && y[24] == 9.0f);
    ot_free(bx);
    ot_free(by);
    ck_assert(ref_adaptive_start(1, 13, 6) == 2 && ref_adaptive_end(1, 13, 6) == 5);
    ck_assert(ref_adaptive_start(5, 13, 6) == 10 && ref_adaptive_end(5, 13, 6) == 13);
    cly_context_destroy(ctx);
}
END_TEST

/* ---- float32: backward */

typedef struct ap_run {
    cly_context *ctx;
    const ap_case *c;
    float *x;
    int64_t nin, nout;
    cly_buf bx, by, bdy;
} ap_run;

static void ap_bwd(void *user, cly_context *ctx, const cly_buf *outs, float beta)
{
    ap_run *p = user;
    cly_status s = cly_adaptive_avgpool_backward(ctx, p->c->in, p->c->oh, p->c->ow, p->bdy, outs[0], beta);
    ck_assert_msg(s == CLY_SUCCESS, "%s", cly_last_error(ctx));
}

static void ap_fwd(void *user, float *y)
{
    ap_run *p = user;
    gc_write(p->ctx, p->bx, p->x, p->nin);
    cly_status s = cly_adaptive_avgpool_forward(p->ctx, p->c->in, p->c->oh, p->c->ow, p->bx, p->by);
    ck_assert_msg(s == CLY_SUCCESS, "%s", cly_last_error(p->ctx));
    ot_download(p->ctx, p->by, y, p->nout, 4);
}

/* beta = 0 over NaN, a repeat bit for bit, beta = 1 onto D (gc_run_backward),
 * the first run against the scattering reference: exact for integer dy on
 * power-of-two bins, else 1e-6 of sum |dy| / area; then finite differences
 * of the forward. */
static void backward_f32(cly_context *ctx, const ap_case *c, bool ints, bool fd)
{
    ap_run p = {.ctx = ctx, .c = c, .nin = in_count(c), .nout = out_count(c)};
    p.x = gc_malloc((size_t)p.nin * 4);
    float *r = gc_malloc((size_t)p.nout * 4);
    ot_fill_real(p.x, p.nin, 31, -1.0, 1.0);
    if (ints)
        ot_fill_int(r, p.nout, 32, -8, 8);
    else
        ot_fill_real(r, p.nout, 33, -1.0, 1.0);
    double *rd = widen(r, p.nout), *want = gc_malloc((size_t)p.nin * 8), *scale = gc_malloc((size_t)p.nin * 8);
    ref_adaptive_avgpool_backward(planes(c), c->in.h, c->in.w, c->oh, c->ow, rd, want, scale);
    p.bx = ot_upload(ctx, p.x, p.nin, 4);
    p.by = ot_alloc(ctx, p.nout, 4);
    p.bdy = ot_upload(ctx, r, p.nout, 4);
    char what[200];
    snprintf(what, sizeof what, "backward f32 %s, %s dy", c->desc, ints ? "integer" : "real");
    float *got;
    gc_run_backward(ctx, what, ap_bwd, &p, 1, &p.nin, &got);
    if (ints && exact_case(c)) {
        for (int64_t i = 0; i < p.nin; i++)
            ck_assert_msg(got[i] == (float)want[i], "%s: element %lld is %.9g, expected exactly %.9g", what,
                          (long long)i, got[i], want[i]);
    } else {
        check_f(got, want, scale, p.nin, 1e-6, what);
    }
    if (fd) {
        /* The forward is linear: a centered difference has no truncation
         * error at any step, only the float rounding of y (|y| <= 1.25,
         * ~1e-7) over 2h; h = 0.25 makes that a few 1e-7 absolute (measured:
         * <= 3e-7). Gradients are sums of |r|/area <= 1 shares: tol 1e-4
         * relative, absolute (1e-6) below the floor 1e-2; a lost or doubled
         * share is off by >= 1/area. */
        gc_spec spec = {.what = what, .in = p.x, .nin = p.nin, .analytic = got, .r = r, .ny = p.nout,
                        .fwd = ap_fwd, .user = &p, .h = 0.25, .tol = 1e-4, .floor = 1e-2, .max_points = 48};
        gc_check(&spec);
    }
    ot_free(p.bx);
    ot_free(p.by);
    ot_free(p.bdy);
    free(p.x);
    free(r);
    free(rd);
    free(want);
    free(scale);
    free(got);
}

START_TEST(backward_float32)
{
    cly_context *ctx = ot_context();
    backward_f32(ctx, &CASES[_i], false, CASES[_i].fd);
    if (exact_case(&CASES[_i]))
        backward_f32(ctx, &CASES[_i], true, false);
    cly_context_destroy(ctx);
}
END_TEST

/* ---- float64 */

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

static void write_d(cly_context *ctx, cly_buf b, const double *host, int64_t n)
{
    cl_int err = clEnqueueWriteBuffer(ctx->queue, b.mem, CL_TRUE, (size_t)b.offset * 8, (size_t)n * 8, host, 0,
                                      NULL, NULL);
    ck_assert_msg(err == CL_SUCCESS, "clEnqueueWriteBuffer: %d", (int)err);
}

/* L = sum r*y of the forward on the device's current x. */
static double loss_d(cly_context *ctx, const ap_case *c, cly_buf bx, cly_buf by, const double *r, double *y)
{
    cly_status s = cly_adaptive_avgpool_forward(ctx, c->in, c->oh, c->ow, bx, by);
    ck_assert_msg(s == CLY_SUCCESS, "%s: %s", c->desc, cly_last_error(ctx));
    ot_download(ctx, by, y, out_count(c), 8);
    double l = 0.0;
    for (int64_t k = 0; k < out_count(c); k++)
        l += r[k] * y[k];
    return l;
}

/* Forward and backward (beta 0 over NaN, beta 1 onto D) against the
 * reference within 1e-12, then centered differences in double. */
static void run_f64(cly_context *ctx, const ap_case *c, bool fd)
{
    int64_t nin = in_count(c), nout = out_count(c);
    double *x = fill_double(nin, 41, -1.0, 1.0), *r = fill_double(nout, 42, -1.0, 1.0);
    double *y = gc_malloc((size_t)nout * 8), *want = gc_malloc((size_t)nout * 8), *scale = gc_malloc((size_t)nout * 8);
    char what[200];
    snprintf(what, sizeof what, "forward f64 %s", c->desc);
    ref_adaptive_avgpool(planes(c), c->in.h, c->in.w, c->oh, c->ow, x, want, scale);
    cly_buf bx = ot_upload(ctx, x, nin, 8), by = ot_alloc(ctx, nout, 8), bdy = ot_upload(ctx, r, nout, 8);
    ck_assert_msg(cly_adaptive_avgpool_forward(ctx, c->in, c->oh, c->ow, bx, by) == CLY_SUCCESS, "%s: %s", what,
                  cly_last_error(ctx));
    ot_download(ctx, by, y, nout, 8);
    check_d(y, want, scale, nout, 1e-12, what);

    double *dx = gc_malloc((size_t)nin * 8), *dwant = gc_malloc((size_t)nin * 8), *dscale = gc_malloc((size_t)nin * 8);
    ref_adaptive_avgpool_backward(planes(c), c->in.h, c->in.w, c->oh, c->ow, r, dwant, dscale);
    double *prior = gc_malloc((size_t)nin * 8);
    for (int64_t i = 0; i < nin; i++)
        prior[i] = NAN;
    cly_buf bdx = ot_upload(ctx, prior, nin, 8);
    snprintf(what, sizeof what, "backward f64 beta 0 over NaN, %s", c->desc);
    ck_assert_msg(cly_adaptive_avgpool_backward(ctx, c->in, c->oh, c->ow, bdy, bdx, 0.0f) == CLY_SUCCESS, "%s: %s",
                  what, cly_last_error(ctx));
    ot_download(ctx, bdx, dx, nin, 8);
    check_d(dx, dwant, dscale, nin, 1e-12, what);
    double *analytic = gc_malloc((size_t)nin * 8);
    memcpy(analytic, dx, (size_t)nin * 8);

    free(prior);
    prior = fill_double(nin, 43, -2.0, 2.0);
    write_d(ctx, bdx, prior, nin);
    snprintf(what, sizeof what, "backward f64 beta 1, %s", c->desc);
    ck_assert_msg(cly_adaptive_avgpool_backward(ctx, c->in, c->oh, c->ow, bdy, bdx, 1.0f) == CLY_SUCCESS, "%s: %s",
                  what, cly_last_error(ctx));
    ot_download(ctx, bdx, dx, nin, 8);
    for (int64_t i = 0; i < nin; i++) {
        dwant[i] += prior[i];
        dscale[i] += fabs(prior[i]);
    }
    check_d(dx, dwant, dscale, nin, 1e-12, what);

    if (fd) {
        /* L = sum r*y is linear in x: the centered difference is exact but
         * for the rounding of L (a sum of a few hundred terms <= 1: some
         * 1e-14) over 2h = 0.25, ~1e-13 absolute; relative to the gradient,
         * absolute below the floor 1e-3: errors of ~1e-10 at most, tol 1e-9. */
        const double h = 0.125;
        double worst = 0.0;
        for (int64_t i = 0; i < nin; i++) {
            double saved = x[i];
            x[i] = saved + h;
            write_d(ctx, bx, x, nin);
            double lp = loss_d(ctx, c, bx, by, r, y);
            x[i] = saved - h;
            write_d(ctx, bx, x, nin);
            double lm = loss_d(ctx, c, bx, by, r, y);
            x[i] = saved;
            double num = (lp - lm) / (2.0 * h), a = analytic[i], den = fabs(a) + fabs(num);
            double err = fabs(a - num) / (den > 1e-3 ? den : 1e-3);
            if (err > worst)
                worst = err;
            ck_assert_msg(err <= 1e-9, "%s: gradient of input %lld: backward %.17g, finite difference %.17g (%.3g)",
                          c->desc, (long long)i, a, num, err);
        }
        printf("f64 %s: finite differences at all %lld inputs, largest relative error %.3g\n", c->desc,
               (long long)nin, worst);
    }
    ot_free(bx);
    ot_free(by);
    ot_free(bdy);
    ot_free(bdx);
    free(x);
    free(r);
    free(y);
    free(want);
    free(scale);
    free(dx);
    free(dwant);
    free(dscale);
    free(prior);
    free(analytic);
}

START_TEST(float64_context)
{
    cly_context *ctx = fp64_context();
    if (!ctx)
        return;
    /* Finite differences at every input of the smaller planes only. */
    run_f64(ctx, &CASES[_i], CASES[_i].fd && in_count(&CASES[_i]) <= 300);
    cly_context_destroy(ctx);
}
END_TEST

/* ---- argument errors */

static void expect(cly_context *ctx, cly_status got, cly_status want, const char *needle)
{
    ck_assert_msg(got == want, "status %s, expected %s (%s)", cly_status_string(got), cly_status_string(want),
                  cly_last_error(ctx));
    ck_assert_msg(strstr(cly_last_error(ctx), needle) != NULL, "message \"%s\" lacks \"%s\"", cly_last_error(ctx),
                  needle);
}

START_TEST(argument_errors)
{
    cly_context *ctx = ot_context();
    cly_buf a = ot_alloc(ctx, 64, 4), b = ot_alloc(ctx, 64, 4), none = {NULL, 0};
    const cly_shape ok = {1, 1, 4, 4};
    const int64_t big = (int64_t)INT32_MAX + 1;
    for (int pass = 0; pass < 2; pass++) {
        /* Both ops through one call form; beta 0 for the backward. */
        cly_status s;
#define RUN(shape, oh, ow, p, q)                                                                     \
    (pass == 0 ? cly_adaptive_avgpool_forward(ctx, shape, oh, ow, p, q)                           \
               : cly_adaptive_avgpool_backward(ctx, shape, oh, ow, p, q, 0.0f))
        s = RUN(ok, 0, 2, a, b);
        expect(ctx, s, CLY_ERROR_INVALID_ARGUMENT, "output 0x2");
        s = RUN(ok, 2, -1, a, b);
        expect(ctx, s, CLY_ERROR_INVALID_ARGUMENT, "output 2x-1");
        s = RUN(((cly_shape){1, 1, 0, 4}), 2, 2, a, b);
        expect(ctx, s, CLY_ERROR_INVALID_ARGUMENT, "every dimension must be >= 1");
        s = RUN(((cly_shape){0, 1, 4, 4}), 2, 2, a, b);
        expect(ctx, s, CLY_ERROR_INVALID_ARGUMENT, "every dimension must be >= 1");
        s = RUN(((cly_shape){1, 1, 4, big}), 2, 2, a, b);
        expect(ctx, s, CLY_ERROR_UNSUPPORTED, "int range");
        s = RUN(ok, big, 2, a, b);
        expect(ctx, s, CLY_ERROR_UNSUPPORTED, "int range");
        s = RUN(((cly_shape){INT64_MAX / 2, 4, 4, 4}), 2, 2, a, b);
        expect(ctx, s, CLY_ERROR_SIZE_OVERFLOW, "overflows");
        s = RUN(ok, 2, 2, none, b);
        expect(ctx, s, CLY_ERROR_INVALID_ARGUMENT, "required");
        s = RUN(ok, 2, 2, a, none);
        expect(ctx, s, CLY_ERROR_INVALID_ARGUMENT, "required");
        /* The output over the input it still reads: one buffer, offsets
         * 3 apart (16 inputs, 4 outputs). */
        s = RUN(ok, 2, 2, a, ((cly_buf){a.mem, a.offset + 3}));
        expect(ctx, s, CLY_ERROR_INVALID_ARGUMENT, "overlaps");
        /* Disjoint parts of one buffer are fine. */
        s = pass == 0 ? cly_adaptive_avgpool_forward(ctx, ok, 2, 2, a, (cly_buf){a.mem, a.offset + 16})
                      : cly_adaptive_avgpool_backward(ctx, ok, 2, 2, a, (cly_buf){a.mem, a.offset + 4}, 0.0f);
        ck_assert_msg(s == CLY_SUCCESS, "%s", cly_last_error(ctx));
#undef RUN
    }
    ck_assert_int_eq(clFinish(ctx->queue), CL_SUCCESS);
    ot_free(a);
    ot_free(b);
    cly_context_destroy(ctx);
}
END_TEST

/* ---- the oclgrind suite: both kernels, both precisions, small shapes */

START_TEST(small_all_kernels)
{
    static const int picks[] = {5, 8, 9, 10, 13, 15};
    cly_context *ctx = ot_context();
    for (size_t k = 0; k < sizeof picks / sizeof picks[0]; k++) {
        forward_f32(ctx, &CASES[picks[k]], false);
        backward_f32(ctx, &CASES[picks[k]], false, false);
    }
    cly_context_destroy(ctx);
    ctx = fp64_context();
    if (ctx) {
        run_f64(ctx, &CASES[9], false);
        run_f64(ctx, &CASES[10], false);
        cly_context_destroy(ctx);
    }
}
END_TEST

static Suite *unit_suite(void)
{
    Suite *s = suite_create("adaptive-pool");
    TCase *tc = ot_tcase("adaptive");
    tcase_add_loop_test(tc, forward_float32, 0, NCASES);
    tcase_add_test(tc, forward_pytorch_bins);
    tcase_add_loop_test(tc, backward_float32, 0, NCASES);
    tcase_add_loop_test(tc, float64_context, 0, NCASES);
    tcase_add_test(tc, argument_errors);
    suite_add_tcase(s, tc);
    return s;
}

static Suite *small_suite(void)
{
    Suite *s = suite_create("adaptive-pool-oclgrind");
    TCase *tc = ot_tcase("small");
    tcase_add_test(tc, small_all_kernels);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    return ot_main(argc, argv, unit_suite, small_suite);
}
