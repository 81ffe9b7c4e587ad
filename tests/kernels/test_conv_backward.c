/* Convolution and locally-connected backward against the naive host loops
 * of tests/ref (ref_conv_bwd).
 * Small-integer fills make every sum exact in float32, so gradients are
 * compared exactly; beta = 1 accumulation and bias-free layers too. Every
 * backward method that supports a case runs it, whatever the device would
 * choose (under oclgrind too: conv_backward-oclgrind). */
#include "conv_ref.h"
#include "kernels/kernels.h"
#include "test_util.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* `data`: the backward-data method the tables pick (checked unless
 * $CLAYER_CONV_BACKWARD_DATA forces one). */
typedef struct geo {
    int64_t n, c, h, w, k, fh, fw, sh, sw, pt, pb, pl, pr, dh, dw, groups;
    const char *data;
} geo;

#define FLIPPED "flipped-direct"
#define SUBPIXEL "subpixel-direct"

static const geo cases[] = {
    {2, 3, 7, 7, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, FLIPPED},     /* VGG-style 3x3 pad 1 */
    {1, 2, 11, 11, 3, 5, 5, 2, 2, 0, 0, 0, 0, 1, 1, 1, SUBPIXEL},  /* strided */
    {2, 4, 9, 8, 4, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 2, FLIPPED},     /* dilated, grouped */
    {1, 4, 6, 6, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 4, FLIPPED},     /* depthwise */
    {3, 2, 5, 7, 3, 2, 3, 2, 1, 0, 1, 1, 0, 1, 1, 1, SUBPIXEL},    /* rectangular, asymmetric padding */
    {2, 6, 4, 4, 8, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 2, FLIPPED},     /* 1x1 grouped */
    {1, 3, 13, 13, 2, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, "col2im"},  /* stride 3 pad 1: a phase at e = 1 */
    {2, 4, 8, 8, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, SUBPIXEL},    /* ResNet 3x3 s2 p1, even */
    {1, 3, 7, 9, 5, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, SUBPIXEL},    /* 3x3 s2 p1, odd */
    {2, 4, 8, 7, 6, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1, SUBPIXEL},    /* 1x1 s2: three empty phases */
    {1, 3, 16, 15, 4, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1, SUBPIXEL},  /* ResNet stem 7x7 s2 p3 */
    {1, 3, 13, 14, 2, 5, 5, 3, 3, 2, 2, 2, 2, 1, 1, 1, SUBPIXEL},  /* stride 3 */
    {2, 3, 9, 8, 4, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1, 1, SUBPIXEL},    /* stride 2x1 */
    {2, 4, 8, 8, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 2, SUBPIXEL},    /* grouped, strided */
    {1, 2, 6, 6, 3, 3, 3, 2, 2, 3, 3, 3, 3, 1, 1, 1, "col2im"},    /* padding beyond the filter */
    {1, 2, 9, 9, 3, 3, 3, 2, 2, 1, 1, 1, 1, 2, 2, 1, "col2im"},    /* strided and dilated */
    {3, 5, 23, 21, 11, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, FLIPPED},  /* planes of several vectors, odd channels */
    {2, 7, 12, 12, 10, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, FLIPPED},  /* 1x1: channel tiles that do not divide */
};

static cly_conv_geom make_geom(const geo *t, bool bias)
{
    cly_conv_params p = {.filters = t->k, .size = {t->fh, t->fw}, .stride = {t->sh, t->sw},
                         .pad = {t->pt, t->pb, t->pl, t->pr}, .dilation = {t->dh, t->dw}, .groups = t->groups,
                         .no_bias = !bias, .rounding = CLY_ROUND_FLOOR}; /* as PyTorch: ResNet's 3x3 s2 p1 */
    cly_conv_geom g;
    bool rounded;
    char msg[256];
    ck_assert_msg(cly_conv_geom_make(&p, (cly_shape){t->n, t->c, t->h, t->w}, &g, &rounded, msg, sizeof msg), "%s",
                  msg);
    return g;
}

static cly_buf upload(cly_context *ctx, const float *host, int64_t count, cly_tensor **t)
{
    ck_assert_int_eq(cly_tensor_create(ctx, (cly_shape){1, 1, 1, count}, t), CLY_SUCCESS);
    if (host)
        ck_assert_int_eq(cly_tensor_write(*t, host, count), CLY_SUCCESS);
    else
        ck_assert_int_eq(cly_tensor_fill(*t, 0.0f), CLY_SUCCESS);
    return (cly_buf){(*t)->buffer, 0};
}

static void expect_equal(cly_tensor *t, const double *want, int64_t count, const char *what, int c)
{
    float *got = malloc((size_t)count * sizeof *got);
    ck_assert_int_eq(cly_tensor_read(t, got, count), CLY_SUCCESS);
    for (int64_t i = 0; i < count; i++)
        ck_assert_msg(got[i] == (float)want[i], "case %d %s[%lld] = %g, want %g", c, what, (long long)i, got[i],
                      want[i]);
    free(got);
}

/* Every backward method of the tables that runs g ($CLAYER_CONV_BACKWARD_DATA
 * and _WEIGHTS select it; one that does not support g is skipped), each on
 * fresh outputs: dw with beta = 1 on odd cases (onto dw0), dx with beta = 1
 * onto dx0 always. */
static void check_methods(cly_context *ctx, const cly_conv_geom *g, int ci, const float *dw0, const float *dx0,
                          cly_tensor *tdw, cly_tensor *tdb, cly_tensor *tdx, cly_buf bx, cly_buf bw, cly_buf bdy,
                          const double *rdw, const double *rdb, const double *rdx, int64_t nw, int64_t nx)
{
    const cly_conv_algo algo = cly_conv_choose(ctx, g, CLY_CONV_AUTO);
    const float wbeta = ci % 2 ? 1.0f : 0.0f;
    double *want = malloc((size_t)nw * sizeof *want);
    for (int64_t i = 0; i < nw; i++)
        want[i] = rdw[i] + wbeta * dw0[i];
    for (int data = 0; data < 2; data++) {
        const char *var = data ? "CLAYER_CONV_BACKWARD_DATA" : "CLAYER_CONV_BACKWARD_WEIGHTS";
        const char *name;
        for (size_t m = 0; (name = cly_conv_backward_method_name(data, m)) != NULL; m++) {
            setenv(var, name, 1);
            const char *runs = cly_conv_backward_method(ctx, algo, g, data);
            if (!runs || strcmp(runs, name) != 0)
                continue;
            /* A NaN workspace: a method that reads scratch it never wrote
             * cannot pass (and oclgrind sees written memory). */
            const int64_t ws = cly_conv_backward_workspace(ctx, algo, g), nws = ws > 0 ? ws : 1;
            float *nan = malloc((size_t)nws * sizeof *nan);
            for (int64_t i = 0; i < nws; i++)
                nan[i] = NAN;
            cly_tensor *tws;
            cly_buf bws = upload(ctx, nan, nws, &tws);
            free(nan);
            cly_status s;
            if (data) {
                ck_assert_int_eq(cly_tensor_write(tdx, dx0, nx), CLY_SUCCESS);
                s = cly_conv_backward_data(ctx, algo, g, bdy, bw, (cly_buf){tdx->buffer, 0}, 1.0f, bws);
                ck_assert_msg(s == CLY_SUCCESS, "%s: %s", name, cly_last_error(ctx));
                expect_equal(tdx, rdx, nx, name, ci);
            } else {
                ck_assert_int_eq(cly_tensor_write(tdw, dw0, nw), CLY_SUCCESS);
                ck_assert_int_eq(cly_tensor_fill(tdb, 0.0f), CLY_SUCCESS);
                s = cly_conv_backward_weights(ctx, algo, g, bx, bdy, (cly_buf){tdw->buffer, 0},
                                              (cly_buf){tdb->buffer, 0}, 0.0f, bws);
                ck_assert_msg(s == CLY_SUCCESS, "%s: %s", name, cly_last_error(ctx));
                /* beta applies to dw and db alike: db is checked at 0 */
                if (wbeta != 0.0f) {
                    ck_assert_int_eq(cly_tensor_write(tdw, dw0, nw), CLY_SUCCESS);
                    s = cly_conv_backward_weights(ctx, algo, g, bx, bdy, (cly_buf){tdw->buffer, 0},
                                                  (cly_buf){NULL, 0}, wbeta, bws);
                    ck_assert_msg(s == CLY_SUCCESS, "%s: %s", name, cly_last_error(ctx));
                }
                expect_equal(tdw, want, nw, name, ci);
                expect_equal(tdb, rdb, g->k, name, ci);
            }
            cly_tensor_destroy(tws);
        }
        unsetenv(var);
    }
    free(want);
}

static void check_case(int ci, bool local)
{
    const geo *t = &cases[ci];
    cly_context *ctx = cly_test_context();
    cly_conv_geom g = make_geom(t, true);
    int64_t cg = g.c / g.groups, taps = g.fh * g.fw, p = g.oh * g.ow;
    int64_t nx = g.n * g.c * g.h * g.w, ny = g.n * g.k * p;
    int64_t nw = (local ? p : 1) * g.k * cg * taps, nb = local ? g.k * p : g.k;
    float *x = malloc((size_t)nx * sizeof *x), *w = malloc((size_t)nw * sizeof *w);
    float *dy = malloc((size_t)ny * sizeof *dy), *dx0 = malloc((size_t)nx * sizeof *dx0);
    float *dw0 = malloc((size_t)nw * sizeof *dw0);
    uint64_t seed = 100 + (uint64_t)ci;
    cly_test_fill(x, (size_t)nx, 2, &seed);
    cly_test_fill(w, (size_t)nw, 2, &seed);
    cly_test_fill(dy, (size_t)ny, 2, &seed);
    cly_test_fill(dx0, (size_t)nx, 3, &seed);
    cly_test_fill(dw0, (size_t)nw, 3, &seed);
    double *rdx = calloc((size_t)nx, sizeof *rdx), *rdw = calloc((size_t)nw, sizeof *rdw),
           *rdb = calloc((size_t)nb, sizeof *rdb);
    for (int64_t i = 0; i < nx; i++)
        rdx[i] = dx0[i]; /* beta = 1: adds to what dx held */
    ref_geom rg = ref_geom_of_conv(&g);
    ref_conv_bwd(&rg, local, x, w, dy, rdx, rdw, rdb);
    cly_tensor *tx, *tw, *tdy, *tdx, *tdw, *tdb;
    cly_buf bx = upload(ctx, x, nx, &tx), bw = upload(ctx, w, nw, &tw), bdy = upload(ctx, dy, ny, &tdy);
    cly_buf bdx = upload(ctx, dx0, nx, &tdx), bdw = upload(ctx, NULL, nw, &tdw), bdb = upload(ctx, NULL, nb, &tdb);
    if (local) {
        cly_status s = cly_local_backward(ctx, &g, bx, bw, bdy, bdx, bdw, bdb, 1.0f);
        ck_assert_msg(s == CLY_SUCCESS, "%s", cly_last_error(ctx));
        expect_equal(tdw, rdw, nw, "dw", ci);
        expect_equal(tdb, rdb, nb, "db", ci);
        expect_equal(tdx, rdx, nx, "dx", ci);
    } else {
        /* The forward's resolved algorithm; the backward methods are the
         * same after every forward algorithm. */
        /* The data method AUTO's tables pick for this shape. */
        const cly_conv_algo algo = cly_conv_choose(ctx, &g, CLY_CONV_AUTO);
        ck_assert_str_eq(cly_conv_backward_method(ctx, algo, &g, true), t->data);
        check_methods(ctx, &g, ci, dw0, dx0, tdw, tdb, tdx, bx, bw, bdy, rdw, rdb, rdx, nw, nx);
    }
    cly_tensor *all[] = {tx, tw, tdy, tdx, tdw, tdb};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        cly_tensor_destroy(all[i]);
    free(x);
    free(w);
    free(dy);
    free(dx0);
    free(dw0);
    free(rdx);
    free(rdw);
    free(rdb);
    cly_context_destroy(ctx);
}

START_TEST(conv_backward_exact)
{
    check_case(_i, false);
}
END_TEST

START_TEST(local_backward_exact)
{
    check_case(_i, true);
}
END_TEST

int main(void)
{
    cly_test_require_device();
    /* The test selects every method itself. */
    unsetenv("CLAYER_CONV_BACKWARD_DATA");
    unsetenv("CLAYER_CONV_BACKWARD_WEIGHTS");
    Suite *s = suite_create("conv_backward");
    TCase *tc = tcase_create("exact");
    tcase_set_timeout(tc, 300);
    int n = (int)(sizeof cases / sizeof cases[0]);
    tcase_add_loop_test(tc, conv_backward_exact, 0, n);
    tcase_add_loop_test(tc, local_backward_exact, 0, n);
    suite_add_tcase(s, tc);
    return cly_test_run(s, true);
}
