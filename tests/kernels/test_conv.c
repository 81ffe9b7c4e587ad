/* Convolution tests: every algorithm on every shape it supports, against the
 * naive double-precision reference of conv_ref.c.
 *
 *   test_conv MODE SHAPES_FILE      MODE: unit | slow | oclgrind
 *
 * unit: the shapes tagged "unit" (all algorithms, AUTO, other direct tiles,
 * the locally connected layer, real-valued fills) plus the figures of the
 * notes and the error cases; slow: every shape, and real-valued fills on
 * every fourth; oclgrind: the shapes tagged "oclgrind", every kernel, meant
 * to run under `oclgrind --data-races --uninitialized`.
 *
 * Exactness. Inputs and weights are integers in [-2, 2], biases in [-3, 3],
 * so every product is an integer of magnitude <= 4 and every partial sum of
 * an output, in any order, is an integer of magnitude <= 4*R + 3 for a
 * reduction of R = C/G*FH*FW terms. Float32 represents every integer below
 * 2^24 exactly, so while 4*R + 3 < 2^24 (R < 4.19 million; the largest here
 * is 25,088) any summation order gives the exact result and the comparison
 * is equality. problem_init asserts the bound for each shape.
 *
 * Real-valued fills (uniform in [-1, 1]) are compared with a tolerance
 * relative to the magnitude M = |b| + sum |x*w| of each output:
 * |y - ref| <= 1e-5 * M. A float32 sum of R terms in any order stays within
 * about R * 2^-24 * M of the exact value in the worst case; observed errors
 * are below 1e-6 * M (blocked and vector sums grow like sqrt(R)), so the
 * bound holds with margin while one missing or doubled term (about M / R for
 * R < 10^5) still fails it.
 *
 * Winograd (inexact: its transforms round in float, whatever the fill) is
 * compared as max |y - ref| / max |ref| over the layer, the measure its
 * error is usually given in, against a bound per output tile (WINO_TOL)
 * a few times above the largest error seen on this list; each run prints
 * its error. It runs with the default tile choice and with F(2x2) and
 * F(4x4) forced ($CLAYER_WINOGRAD_TILE), under several GEMM tiles. */
#define _DEFAULT_SOURCE
#include "conv_cases.h"
#include "conv_desc.h"
#include "conv_ref.h"
#include "fill.h"
#include "kernels/kernels.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define REAL_TOL 1e-5
/* Winograd bounds on max |y - ref| / max |ref|: F(2x2,3x3), F(4x4,3x3).
 * Seen: F(2x2) <= 3.2e-7 on the unit shapes, 8.5e-7 on vgg16 conv4_2;
 * F(4x4) <= 3.9e-6 and 1.7e-5 (vgg16 conv4_2, real fills). */
#define WINO_TOL_2 2e-5
#define WINO_TOL_4 1e-4

enum mode { MODE_UNIT, MODE_SLOW, MODE_OCLGRIND };
static enum mode mode;
static conv_desc *all;
static size_t all_count;
static size_t *picked; /* indices into all for the current mode */
static size_t picked_count;

/* Direct-kernel tiles (VW,KT,TY) beyond the device default: VW 1 is the GPU
 * path, 16,6,4 pocl's on AVX-512 (oclgrind's device prefers 1), odd KT/TY
 * leave partial tiles everywhere. The oclgrind mode runs the first two. */
static const char *const extra_tiles[] = {"16,6,4", "4,3,3", "1,8,4", "16,5,1", "8,1,2"};
/* conv_direct_oc tiles ($CLAYER_CONV_OC = KV,TX,VW): the CPU's, a partial
 * channel block with odd TX, three vectors, two lanes. */
static const char *const oc_tiles[] = {"2,12,16", "1,5,4", "3,7,8", "2,3,2"};

static cly_context *open_ctx(void)
{
    cly_context *ctx = NULL;
    cly_status s = cly_context_create(NULL, &ctx);
    ck_assert_msg(s == CLY_SUCCESS, "cly_context_create: %s: %s", cly_status_string(s), cly_last_error(NULL));
    return ctx;
}

static cly_tensor *tensor(cly_context *ctx, cly_shape shape, const float *data)
{
    cly_tensor *t = NULL;
    cly_status s = cly_tensor_create(ctx, shape, &t);
    ck_assert_msg(s == CLY_SUCCESS, "tensor " CLY_SHAPE_FMT ": %s", CLY_SHAPE_ARGS(shape), cly_last_error(ctx));
    if (data) {
        s = cly_tensor_write(t, data, cly_tensor_count(t));
        ck_assert_msg(s == CLY_SUCCESS, "write: %s", cly_last_error(ctx));
    }
    return t;
}

static cly_buf buf(const cly_tensor *t)
{
    return (cly_buf){t ? t->buffer : NULL, t ? t->offset : 0};
}

/* ------------------------------------------------------------ problems */

typedef struct problem {
    const conv_desc *d;
    ref_geom rg;
    cly_conv_params p; /* relu and no_bias set */
    bool real;
    float *x, *w, *b, *y;
    double *ref, *mag;
    int64_t nx, nw, ny;
} problem;

static void problem_init(problem *pr, const conv_desc *d, bool real, bool local)
{
    memset(pr, 0, sizeof *pr);
    pr->d = d;
    pr->real = real;
    int64_t oh, ow;
    ck_assert_msg(conv_desc_out(d, &oh, &ow), "%s: invalid shape", d->text);
    ck_assert_msg(d->oh < 0 || d->oh == oh, "%s: oh given as %lld, the formula gives %lld", d->text,
                  (long long)d->oh, (long long)oh);
    ck_assert_msg(d->ow < 0 || d->ow == ow, "%s: ow given as %lld, the formula gives %lld", d->text,
                  (long long)d->ow, (long long)ow);
    pr->rg = (ref_geom){.n = d->mb, .c = d->ic, .h = d->ih, .w = d->iw, .k = d->oc, .g = d->g, .fh = d->kh,
                        .fw = d->kw, .sh = d->sh, .sw = d->sw, .pt = d->ph, .pb = d->pb, .pl = d->pw, .pr = d->pr,
                        .dh = d->dh + 1, .dw = d->dw + 1, .oh = oh, .ow = ow};
    pr->p = conv_desc_params(d);
    /* Vary the epilogue across shapes: ReLU on odd lines, no bias on every third. */
    pr->p.relu = d->line % 2 == 1;
    pr->p.no_bias = d->line % 3 == 2;
    const int64_t taps = d->ic / d->g * d->kh * d->kw;
    ck_assert_msg(real || 4 * taps + 3 < (1 << 24), "%s: reduction of %lld terms is too long for exact float32",
                  d->text, (long long)taps);
    pr->nx = d->mb * d->ic * d->ih * d->iw;
    pr->nw = local ? oh * ow * d->oc * taps : d->oc * taps;
    pr->ny = d->mb * d->oc * oh * ow;
    const int64_t nb = local ? d->oc * oh * ow : d->oc;
    pr->x = malloc((size_t)pr->nx * sizeof(float));
    pr->w = malloc((size_t)pr->nw * sizeof(float));
    pr->b = malloc((size_t)nb * sizeof(float));
    pr->y = malloc((size_t)pr->ny * sizeof(float));
    pr->ref = malloc((size_t)pr->ny * sizeof(double));
    pr->mag = malloc((size_t)pr->ny * sizeof(double));
    ck_assert(pr->x && pr->w && pr->b && pr->y && pr->ref && pr->mag);
    uint64_t seed = 0x9e3779b97f4a7c15ULL ^ (uint64_t)d->line;
    if (real) {
        fill_real(pr->x, (size_t)pr->nx, &seed);
        fill_real(pr->w, (size_t)pr->nw, &seed);
        fill_real(pr->b, (size_t)nb, &seed);
    } else {
        fill_int(pr->x, (size_t)pr->nx, 2, &seed);
        fill_int(pr->w, (size_t)pr->nw, 2, &seed);
        fill_int(pr->b, (size_t)nb, 3, &seed);
    }
    const float *bias = pr->p.no_bias ? NULL : pr->b;
    if (local)
        ref_local(&pr->rg, pr->x, pr->w, bias, pr->ref, pr->mag);
    else
        ref_conv(&pr->rg, pr->x, pr->w, bias, pr->ref, pr->mag);
}

static void problem_free(problem *pr)
{
    free(pr->x);
    free(pr->w);
    free(pr->b);
    free(pr->y);
    free(pr->ref);
    free(pr->mag);
}

/* Compare pr->y with the reference as max |y - ref| / max |ref| <= tol
 * (inexact algorithms); prints the error. */
static void compare_inexact(const problem *pr, const char *what, double tol)
{
    double diff = 0, scale = 0;
    int64_t worst = 0;
    for (int64_t i = 0; i < pr->ny; i++) {
        double want = pr->p.relu && pr->ref[i] < 0 ? 0 : pr->ref[i];
        double d = fabs((double)pr->y[i] - want);
        if (!(d <= diff)) { /* NaN counts as the worst */
            diff = d;
            worst = i;
        }
        scale = fmax(scale, fabs(pr->ref[i]));
    }
    const double err = scale > 0 ? diff / scale : diff;
    printf("inexact %s %s (%s fill): max |y - ref| / max |ref| = %.2e (bound %.0e)\n", pr->d->text, what,
           pr->real ? "real" : "integer", err, tol);
    ck_assert_msg(err <= tol, "%s %s (line %d, relu %d, bias %d, %s fill): max |y - ref| / max |ref| = %.3g > %g "
                  "at output %lld: got %.9g, want %.9g", pr->d->text, what, pr->d->line, pr->p.relu, !pr->p.no_bias,
                  pr->real ? "real" : "integer", err, tol, (long long)worst, (double)pr->y[worst], pr->ref[worst]);
}

/* Compare pr->y with the reference (after ReLU when set); `what` names the run. */
static void compare(const problem *pr, const char *what)
{
    int64_t bad = 0, first = -1;
    for (int64_t i = 0; i < pr->ny; i++) {
        double want = pr->ref[i];
        if (pr->p.relu && want < 0)
            want = 0;
        double got = pr->y[i];
        bool ok = pr->real ? fabs(got - want) <= REAL_TOL * pr->mag[i] : got == want;
        if (!ok && bad++ == 0)
            first = i;
    }
    if (bad) {
        const ref_geom *g = &pr->rg;
        int64_t i = first, ox = i % g->ow, oy = i / g->ow % g->oh, k = i / (g->ow * g->oh) % g->k,
                n = i / (g->ow * g->oh * g->k);
        double want = pr->ref[i] < 0 && pr->p.relu ? 0 : pr->ref[i];
        ck_abort_msg("%s %s (line %d, relu %d, bias %d, %s fill): %lld of %lld outputs differ; first at "
                     "n=%lld k=%lld y=%lld x=%lld: got %.9g, want %.9g",
                     pr->d->text, what, pr->d->line, pr->p.relu, !pr->p.no_bias, pr->real ? "real" : "integer",
                     (long long)bad, (long long)pr->ny, (long long)n, (long long)k, (long long)oy, (long long)ox,
                     (double)pr->y[i], want);
    }
}

typedef struct devp {
    cly_tensor *x, *w, *b, *y;
} devp;

static devp upload(cly_context *ctx, const problem *pr)
{
    const conv_desc *d = pr->d;
    devp t;
    t.x = tensor(ctx, (cly_shape){d->mb, d->ic, d->ih, d->iw}, pr->x);
    t.w = tensor(ctx, (cly_shape){d->oc, d->ic / d->g, d->kh, d->kw}, pr->w);
    t.b = tensor(ctx, (cly_shape){1, d->oc, 1, 1}, pr->b);
    t.y = tensor(ctx, (cly_shape){d->mb, d->oc, pr->rg.oh, pr->rg.ow}, NULL);
    return t;
}

static void release(devp *t)
{
    cly_tensor_destroy(t->x);
    cly_tensor_destroy(t->w);
    cly_tensor_destroy(t->b);
    cly_tensor_destroy(t->y);
}

/* One cly_conv2d run with `algo`, compared with the reference: exactly (or
 * at REAL_TOL) when tol is 0, else as compare_inexact. */
static void run_algo_tol(cly_context *ctx, problem *pr, devp *t, cly_conv_algo algo, const char *what, double tol)
{
    cly_conv_params p = pr->p;
    p.algo = algo;
    ck_assert(cly_tensor_fill(t->y, NAN) == CLY_SUCCESS); /* unwritten outputs fail the comparison */
    cly_status s = cly_conv2d(ctx, t->x, t->w, p.no_bias ? NULL : t->b, p, t->y);
    ck_assert_msg(s == CLY_SUCCESS, "%s %s: %s: %s", pr->d->text, what, cly_status_string(s), cly_last_error(ctx));
    s = cly_tensor_read(t->y, pr->y, pr->ny);
    ck_assert_msg(s == CLY_SUCCESS, "read: %s", cly_last_error(ctx));
    if (tol > 0)
        compare_inexact(pr, what, tol);
    else
        compare(pr, what);
}

static void run_algo(cly_context *ctx, problem *pr, devp *t, cly_conv_algo algo, const char *what)
{
    run_algo_tol(ctx, pr, t, algo, what, 0);
}

/* Winograd tiles (MT,VW,KT,TY) beyond the default: both transforms with
 * the device's GEMM tile, then GEMM tiles that leave partial K and P
 * tiles (VW 1 is the GPU-shaped path). The oclgrind mode runs the first
 * three. */
static const char *const wino_tiles[] = {"2", "4", "4,1,3,2", "2,16,6,4", "4,8,5,3", "2,4,1,1"};

static bool winograd_shape(const conv_desc *d)
{
    return d->kh == 3 && d->kw == 3 && d->sh == 1 && d->sw == 1 && !d->dh && !d->dw && d->g == 1;
}

/* AUTO may pick winograd; then the result is compared as winograd's. */
static double auto_tol(cly_context *ctx, const problem *pr, const cly_conv_geom *g)
{
    (void)pr;
    return cly_conv_algo_exact(cly_conv_choose(ctx, g, CLY_CONV_AUTO)) ? 0 : WINO_TOL_4;
}

static void run_winograd(cly_context *ctx, problem *pr, devp *t, size_t count)
{
    /* Bit-identical run to run: no atomics, one fixed summation order. */
    run_algo_tol(ctx, pr, t, CLY_CONV_WINOGRAD, "winograd", WINO_TOL_4);
    float *first = malloc((size_t)pr->ny * sizeof *first);
    ck_assert(first);
    memcpy(first, pr->y, (size_t)pr->ny * sizeof *first);
    run_algo_tol(ctx, pr, t, CLY_CONV_WINOGRAD, "winograd again", WINO_TOL_4);
    ck_assert_msg(memcmp(first, pr->y, (size_t)pr->ny * sizeof *first) == 0, "%s: winograd differs between runs",
                  pr->d->text);
    free(first);
    for (size_t i = 0; i < count; i++) {
        char what[64];
        snprintf(what, sizeof what, "winograd tile %s", wino_tiles[i]);
        setenv("CLAYER_WINOGRAD_TILE", wino_tiles[i], 1);
        run_algo_tol(ctx, pr, t, CLY_CONV_WINOGRAD, what, wino_tiles[i][0] == '2' ? WINO_TOL_2 : WINO_TOL_4);
        unsetenv("CLAYER_WINOGRAD_TILE");
    }
}

static cly_conv_geom geometry(const problem *pr)
{
    const conv_desc *d = pr->d;
    cly_conv_geom g;
    bool rounded;
    char msg[256];
    ck_assert_msg(cly_conv_geom_make(&pr->p, (cly_shape){d->mb, d->ic, d->ih, d->iw}, &g, &rounded, msg, sizeof msg),
                  "%s: cly_conv_geom_make: %s", d->text, msg);
    ck_assert_int_eq(g.oh, pr->rg.oh);
    ck_assert_int_eq(g.ow, pr->rg.ow);
    bool inexact = (d->ih + d->ph + d->pb - (d->dh + 1) * (d->kh - 1) - 1) % d->sh != 0 ||
                   (d->iw + d->pw + d->pr - (d->dw + 1) * (d->kw - 1) - 1) % d->sw != 0;
    ck_assert_msg(rounded == inexact, "%s: rounded = %d", d->text, rounded);
    return g;
}

static bool is_1x1(const conv_desc *d)
{
    return d->kh == 1 && d->kw == 1 && d->sh == 1 && d->sw == 1 && !d->ph && !d->pb && !d->pw && !d->pr;
}

/* Every algorithm: supported ones must match the reference, the others must
 * refuse with CLY_ERROR_UNSUPPORTED and say why. */
static void all_algos(cly_context *ctx, problem *pr, devp *t, bool with_auto)
{
    const cly_conv_geom g = geometry(pr);
    for (int a = CLY_CONV_DIRECT; a < CLY_CONV_ALGO_COUNT; a++) {
        const bool expect = a == CLY_CONV_GEMM1X1    ? is_1x1(pr->d)
                            : a == CLY_CONV_WINOGRAD ? winograd_shape(pr->d)
                                                     : true;
        ck_assert_msg(cly_conv_supports(ctx, (cly_conv_algo)a, &g) == expect, "%s: supports(%s) != %d", pr->d->text,
                      cly_conv_algo_string((cly_conv_algo)a), expect);
        if (expect) {
            run_algo_tol(ctx, pr, t, (cly_conv_algo)a, cly_conv_algo_string((cly_conv_algo)a),
                         a == CLY_CONV_WINOGRAD ? WINO_TOL_4 : 0);
        } else {
            cly_conv_params p = pr->p;
            p.algo = (cly_conv_algo)a;
            cly_status s = cly_conv2d(ctx, t->x, t->w, p.no_bias ? NULL : t->b, p, t->y);
            ck_assert_int_eq(s, CLY_ERROR_UNSUPPORTED);
            const char *want = a == CLY_CONV_GEMM1X1 ? "needs a 1x1 filter" : "winograd needs";
            ck_assert_msg(strstr(cly_last_error(ctx), want), "message: %s", cly_last_error(ctx));
        }
    }
    if (with_auto)
        run_algo_tol(ctx, pr, t, CLY_CONV_AUTO, "auto", auto_tol(ctx, pr, &g));
}

static void run_tiles(cly_context *ctx, problem *pr, devp *t, const char *const *tiles, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        char what[64];
        snprintf(what, sizeof what, "direct tile %s", tiles[i]);
        setenv("CLAYER_CONV_TILE", tiles[i], 1);
        run_algo(ctx, pr, t, CLY_CONV_DIRECT, what);
        unsetenv("CLAYER_CONV_TILE");
    }
}

/* The same through conv_direct_oc, bit for bit as exact as conv_direct. */
static void run_oc(cly_context *ctx, problem *pr, devp *t, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        char what[64];
        snprintf(what, sizeof what, "direct oc tile %s", oc_tiles[i]);
        setenv("CLAYER_CONV_OC", oc_tiles[i], 1);
        run_algo(ctx, pr, t, CLY_CONV_DIRECT, what);
        unsetenv("CLAYER_CONV_OC");
    }
}

/* conv_tiled's variants ($CLAYER_TILED_TILE=VW,RM,RN,WN,WM,TK): every
 * vector width of the GPU rows, register tiles that divide nothing, one
 * work-item groups and a TK of 1 (a barrier per reduction index). The
 * oclgrind mode runs the first three: with the default tile (VW 4 on
 * oclgrind's row, run by all_algos) every vector width and an odd tile. */
static const char *const tiled_tiles[] = {"1,4,4,16,16,16", "2,4,4,16,16,16", "1,3,5,4,3,7",
                                          "4,4,4,16,16,16", "2,1,6,1,1,1",    "4,2,8,8,2,5"};

static void run_tiled(cly_context *ctx, problem *pr, devp *t, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        char what[64];
        snprintf(what, sizeof what, "tiled tile %s", tiled_tiles[i]);
        setenv("CLAYER_TILED_TILE", tiled_tiles[i], 1);
        run_algo(ctx, pr, t, CLY_CONV_TILED, what);
        unsetenv("CLAYER_TILED_TILE");
    }
}

/* Real fills: tiled sums as direct does, so the two agree bit for bit. */
static void tiled_equals_direct(cly_context *ctx, problem *pr, devp *t)
{
    run_algo(ctx, pr, t, CLY_CONV_DIRECT, "direct");
    float *first = malloc((size_t)pr->ny * sizeof *first);
    ck_assert_ptr_nonnull(first);
    memcpy(first, pr->y, (size_t)pr->ny * sizeof *first);
    run_algo(ctx, pr, t, CLY_CONV_TILED, "tiled");
    ck_assert_msg(memcmp(first, pr->y, (size_t)pr->ny * sizeof *first) == 0, "%s: tiled differs from direct",
                  pr->d->text);
    free(first);
}

/* The locally connected layer on the same shape (integer fills). */
static void run_local(cly_context *ctx, const conv_desc *d)
{
    problem pr;
    problem_init(&pr, d, false, true);
    cly_conv_geom g = geometry(&pr);
    const int64_t taps = d->ic / d->g * d->kh * d->kw;
    cly_tensor *x = tensor(ctx, (cly_shape){d->mb, d->ic, d->ih, d->iw}, pr.x);
    cly_tensor *w = tensor(ctx, (cly_shape){pr.rg.oh * pr.rg.ow * d->oc, taps, 1, 1}, pr.w);
    cly_tensor *b = tensor(ctx, (cly_shape){1, d->oc, pr.rg.oh, pr.rg.ow}, pr.b);
    cly_tensor *y = tensor(ctx, (cly_shape){d->mb, d->oc, pr.rg.oh, pr.rg.ow}, NULL);
    ck_assert(cly_tensor_fill(y, NAN) == CLY_SUCCESS);
    cly_status s = cly_local_forward(ctx, &g, buf(x), buf(w), pr.p.no_bias ? (cly_buf){NULL, 0} : buf(b), buf(y));
    ck_assert_msg(s == CLY_SUCCESS, "%s local: %s", d->text, cly_last_error(ctx));
    ck_assert(cly_tensor_read(y, pr.y, pr.ny) == CLY_SUCCESS);
    compare(&pr, "local");
    cly_tensor_destroy(x);
    cly_tensor_destroy(w);
    cly_tensor_destroy(b);
    cly_tensor_destroy(y);
    problem_free(&pr);
}

static bool local_is_small(const conv_desc *d)
{
    int64_t oh, ow;
    return conv_desc_out(d, &oh, &ow) && oh * ow * d->oc * (d->ic / d->g) * d->kh * d->kw <= (1 << 22);
}

static void shape_run(const conv_desc *d, bool real)
{
    cly_context *ctx = open_ctx();
    problem pr;
    problem_init(&pr, d, real, false);
    devp t = upload(ctx, &pr);
    all_algos(ctx, &pr, &t, mode == MODE_UNIT);
    if (mode != MODE_SLOW && !real)
        run_tiles(ctx, &pr, &t, extra_tiles, mode == MODE_OCLGRIND ? 2 : sizeof extra_tiles / sizeof *extra_tiles);
    if (mode != MODE_SLOW && !real) {
        run_oc(ctx, &pr, &t, mode == MODE_OCLGRIND ? 2 : sizeof oc_tiles / sizeof *oc_tiles);
        run_tiled(ctx, &pr, &t, mode == MODE_OCLGRIND ? 3 : sizeof tiled_tiles / sizeof *tiled_tiles);
    }
    if (real)
        tiled_equals_direct(ctx, &pr, &t);
    if (winograd_shape(d))
        run_winograd(ctx, &pr, &t,
                     mode == MODE_OCLGRIND ? 3 : mode == MODE_SLOW ? 2 : sizeof wino_tiles / sizeof *wino_tiles);
    release(&t);
    problem_free(&pr);
    if (mode != MODE_SLOW && !real && local_is_small(d))
        run_local(ctx, d);
    cly_context_destroy(ctx);
}

START_TEST(shape_exact)
{
    shape_run(&all[picked[_i]], false);
}
END_TEST

START_TEST(shape_real)
{
    /* unit: every shape; slow: every fourth (the exact pass covers all) */
    size_t i = mode == MODE_UNIT ? (size_t)_i : (size_t)_i * 4;
    shape_run(&all[picked[i]], true);
}
END_TEST


/* ------------------------------------------------------------------ main */

/* Sanitizer builds: LeakSanitizer's stop-the-world tracer can crash ("Tracer
 * caught signal 11", exit 1) reading the thread-local storage of pocl worker
 * threads that are still exiting when a forked test ends on a loaded
 * machine. Not scanning TLS only removes roots: it can add leak reports,
 * never hide one. $LSAN_OPTIONS still overrides. Unused without LSan. */
const char *__lsan_default_options(void);
const char *__lsan_default_options(void)
{
    return "use_tls=0";
}

static bool have_device(void)
{
    /* Probe in a child: OpenCL must not start in the parent before check forks. */
    pid_t pid = fork();
    if (pid == 0) {
        cly_context *ctx;
        _exit(cly_context_create(NULL, &ctx) == CLY_SUCCESS ? 0 : 1);
    }
    int st = 0;
    return pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[1], "unit") && strcmp(argv[1], "slow") && strcmp(argv[1], "oclgrind"))) {
        fprintf(stderr, "usage: %s unit|slow|oclgrind SHAPES_FILE\n", argv[0]);
        return 2;
    }
    mode = !strcmp(argv[1], "unit") ? MODE_UNIT : !strcmp(argv[1], "slow") ? MODE_SLOW : MODE_OCLGRIND;
    char err[256];
    if (!conv_desc_load(argv[2], &all, &all_count, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    picked = malloc(all_count * sizeof *picked);
    if (!picked)
        return 1;
    for (size_t i = 0; i < all_count; i++)
        if (mode == MODE_SLOW || (mode == MODE_UNIT && all[i].unit) || (mode == MODE_OCLGRIND && all[i].oclgrind))
            picked[picked_count++] = i;
    if (!have_device()) {
        fprintf(stderr, "no OpenCL device: skipping\n");
        return 77;
    }
    Suite *suite = suite_create("conv");
    TCase *tc = tcase_create("exact");
    tcase_set_timeout(tc, mode == MODE_OCLGRIND ? 3600 : 900);
    tcase_add_loop_test(tc, shape_exact, 0, (int)picked_count);
    suite_add_tcase(suite, tc);
    if (mode != MODE_OCLGRIND) {
        tc = tcase_create("real");
        tcase_set_timeout(tc, 900);
        tcase_add_loop_test(tc, shape_real, 0, (int)(mode == MODE_UNIT ? picked_count : (picked_count + 3) / 4));
        suite_add_tcase(suite, tc);
    }
    if (mode == MODE_UNIT)
        add_unit_cases(suite);
    SRunner *sr = srunner_create(suite);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    free(picked);
    free(all);
    printf("%zu shapes in %s, %zu run in mode %s\n", all_count, argv[2], picked_count, argv[1]);
    return failed ? 1 : 0;
}
