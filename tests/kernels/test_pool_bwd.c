/* Backward of max, average and L2 pooling and of global average pooling:
 * against a reference that SCATTERS each output's gradient over its window
 * in double (the kernels gather: an independent formulation), against
 * finite differences of cly_pool_forward / cly_gap_forward, and through the
 * beta / determinism runs of gc_run_backward. */
#include "grad_check.h"
#include "pool_ref.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct pool_case {
    const char *desc;
    cly_shape in;
    cly_pool_params p; /* kind set per run */
    bool fd;           /* small enough for finite differences */
} pool_case;

#define P(fh_, fw_, sh_, sw_, t_, b_, l_, r_, round_) \
    {.size = {fh_, fw_}, .stride = {sh_, sw_}, .pad = {t_, b_, l_, r_}, .rounding = round_}

/* The forward tests' geometries (test_pool.c): overlapping and
 * disjoint windows, CEIL windows clipped past the padding, asymmetric
 * everything, 1x1 planes. */
static const pool_case CASES[] = {
    {"mb2ic3ih7iw9 F2 S2 floor", {2, 3, 7, 9}, P(2, 2, 2, 2, 0, 0, 0, 0, CLY_ROUND_FLOOR), true},
    {"AlexNet-style overlapping F3 S2, 13 -> 6", {2, 5, 13, 13}, P(3, 3, 2, 2, 0, 0, 0, 0, CLY_ROUND_EXACT), true},
    {"GoogLeNet 3x3/2 ceil, 28 -> 14", {2, 3, 28, 28}, P(3, 3, 2, 2, 0, 0, 0, 0, CLY_ROUND_CEIL), true},
    {"padded ceil, last window past the padding", {3, 2, 6, 6}, P(3, 3, 2, 2, 1, 1, 1, 1, CLY_ROUND_CEIL), true},
    {"ceil drops a window starting in the right padding", {2, 2, 5, 5}, P(2, 2, 2, 2, 1, 1, 1, 1, CLY_ROUND_CEIL),
     true},
    {"1x1 plane, F1", {1, 1, 1, 1}, P(1, 1, 1, 1, 0, 0, 0, 0, CLY_ROUND_EXACT), true},
    {"1x1 planes, F2 S1 P1", {2, 3, 1, 1}, P(2, 2, 1, 1, 1, 1, 1, 1, CLY_ROUND_EXACT), true},
    {"asymmetric window, stride and padding", {1, 2, 9, 8}, P(3, 2, 2, 1, 1, 0, 0, 1, CLY_ROUND_FLOOR), true},
    {"F3 S1 P1 size-preserving", {2, 3, 5, 5}, P(3, 3, 1, 1, 1, 1, 1, 1, CLY_ROUND_EXACT), true},
    {"GoogLeNet final 7x7 average", {2, 8, 7, 7}, P(7, 7, 1, 1, 0, 0, 0, 0, CLY_ROUND_EXACT), true},
    {"odd everything, ceil", {1, 3, 31, 17}, P(5, 3, 3, 2, 2, 1, 1, 2, CLY_ROUND_CEIL), true},
    {"floor, F3 S3", {3, 1, 11, 10}, P(3, 3, 3, 3, 0, 0, 0, 0, CLY_ROUND_FLOOR), true},
    {"windows wider than their stride by 3, F5 S2 P2", {1, 2, 12, 12}, P(5, 5, 2, 2, 2, 2, 2, 2, CLY_ROUND_FLOOR),
     true},
    {"GoogLeNet 3x3/2 ceil, 56 -> 28, 16 channels", {2, 16, 56, 56}, P(3, 3, 2, 2, 0, 0, 0, 0, CLY_ROUND_CEIL),
     false},
};
#define NCASES (sizeof CASES / sizeof CASES[0])

static const char *KIND_NAMES[] = {"max", "avg", "l2"};

typedef struct pool_run {
    cly_context *ctx;
    cly_pool_geom g;
    float *x;
    int64_t nin, nout;
    cly_buf bx, by, ba, bdy;
} pool_run;

static void pool_bwd(void *user, cly_context *ctx, const cly_buf *outs, float beta)
{
    pool_run *p = user;
    cly_status s = cly_pool_backward(ctx, &p->g, p->bx, p->by, p->ba, p->bdy, outs[0], beta);
    ck_assert_msg(s == CLY_SUCCESS, "%s", cly_last_error(ctx));
}

/* The forward on the host's current x; the argmax buffer too (max). */
static void pool_fwd(void *user, float *y)
{
    pool_run *p = user;
    gc_write(p->ctx, p->bx, p->x, p->nin);
    cly_status s = cly_pool_forward(p->ctx, &p->g, p->bx, p->by, p->ba);
    ck_assert_msg(s == CLY_SUCCESS, "%s", cly_last_error(p->ctx));
    ot_download(p->ctx, p->by, y, p->nout, 4);
}

/* fill: 0 distinct values (no ties), 1 small integers (ties), 2 reals,
 * 3 zeros in every other plane (L2 windows with y = 0). */
static void run_pool(cly_context *ctx, const pool_case *pc, cly_pool_kind kind, bool exclude, int fill, bool fd)
{
    pool_run p = {.ctx = ctx};
    cly_pool_params prm = pc->p;
    prm.kind = kind;
    prm.avg_exclude_pad = exclude;
    char msg[256];
    ck_assert_msg(cly_pool_geom_make(&prm, pc->in, &p.g, NULL, msg, sizeof msg), "%s: %s", pc->desc, msg);
    p.nin = gc_count(pc->in);
    p.nout = p.g.n * p.g.c * p.g.oh * p.g.ow;
    p.x = gc_malloc((size_t)p.nin * 4);
    float *r = gc_malloc((size_t)p.nout * 4), *y = gc_malloc((size_t)p.nout * 4);
    double *want = gc_malloc((size_t)p.nin * 8);
    if (fill == 0)
        gc_fill_distinct(p.x, p.nin, 3, 0.03);
    else if (fill == 1)
        ot_fill_int(p.x, p.nin, 4, -3, 3);
    else
        ot_fill_real(p.x, p.nin, 5, -1.0, 1.0);
    if (fill == 3)
        for (int64_t i = 0; i < p.nin; i++)
            if ((i / (p.g.h * p.g.w)) % 2 == 0)
                p.x[i] = 0.0f;
    ot_fill_real(r, p.nout, 6, -1.0, 1.0);
    p.bx = ot_upload(ctx, p.x, p.nin, 4);
    p.by = ot_alloc(ctx, p.nout, 4);
    p.ba = kind == CLY_POOL_MAX ? ot_alloc(ctx, p.nout, 4) : (cly_buf){NULL, 0};
    p.bdy = ot_upload(ctx, r, p.nout, 4);
    pool_fwd(&p, y);

    char what[200];
    snprintf(what, sizeof what, "pool %s backward%s, %s", KIND_NAMES[kind], exclude ? " exclude_pad" : "", pc->desc);
    float *got;
    gc_run_backward(ctx, what, pool_bwd, &p, 1, &p.nin, &got);
    ref_pool_bwd(&p.g, p.x, r, want);
    /* Each dx sums at most ceil(F/S)^2 shares of magnitude <= 1 (|dy| <= 1,
     * 1/divisor <= 1, |x/y| <= 1): an absolute float error below 1e-6;
     * 1e-5 of max(|want|, 1) leaves room and still catches a lost share. */
    ot_check_rel(got, want, p.nin, 1e-5, 1.0, what);
    if (fd) {
        /* Max and average are piecewise linear: with distinct inputs 0.03
         * apart a step of 0.01 never reorders a window, so only the float
         * rounding of y remains, divided by 2h = 0.02: a few 1e-6 at most
         * (measured: <= 4e-6). L2 is smooth where y > 0; its third
         * derivative over h = 5e-3 costs ~1e-4 relative, and y's rounding
         * (|y| up to 5 for a 5x5 window) over 2h = 0.01 up to ~3e-5
         * absolute (measured: 2e-5). tol 1e-3 relative; the floor makes
         * gradients below 1e-2 (5e-2 for L2) an absolute check of 1e-5
         * (5e-5), above the noise and far below any missing term. */
        bool l2 = kind == CLY_POOL_L2;
        gc_spec spec = {.what = what, .in = p.x, .nin = p.nin, .analytic = got, .r = r, .ny = p.nout,
                        .fwd = pool_fwd, .user = &p, .h = l2 ? 5e-3 : 1e-2, .tol = 1e-3, .floor = l2 ? 5e-2 : 1e-2,
                        .max_points = 48};
        gc_check(&spec);
    }
    ot_free(p.bx);
    ot_free(p.by);
    ot_free(p.ba);
    ot_free(p.bdy);
    free(p.x);
    free(r);
    free(y);
    free(want);
    free(got);
}

START_TEST(pool_max_backward)
{
    cly_context *ctx = ot_context();
    run_pool(ctx, &CASES[_i], CLY_POOL_MAX, false, 0, CASES[_i].fd);
    /* Ties: the gradient goes where the forward's argmax points, the first
     * maximum in row-major order, exactly once per output. */
    run_pool(ctx, &CASES[_i], CLY_POOL_MAX, false, 1, false);
    cly_context_destroy(ctx);
}
END_TEST

START_TEST(pool_avg_backward)
{
    cly_context *ctx = ot_context();
    run_pool(ctx, &CASES[_i], CLY_POOL_AVG, false, 2, CASES[_i].fd);
    run_pool(ctx, &CASES[_i], CLY_POOL_AVG, true, 2, CASES[_i].fd);
    cly_context_destroy(ctx);
}
END_TEST

START_TEST(pool_l2_backward)
{
    cly_context *ctx = ot_context();
    run_pool(ctx, &CASES[_i], CLY_POOL_L2, false, 2, CASES[_i].fd);
    /* Windows of zeros: y = 0, gradient defined as 0 (never NaN). */
    run_pool(ctx, &CASES[_i], CLY_POOL_L2, false, 3, false);
    cly_context_destroy(ctx);
}
END_TEST

/* PyTorch's avg_pool2d backward pinned by hand (independent of ref_pool_bwd):
 * 6x6 input, F=3, S=2, P=1, ceil_mode -> 4x4, dy = 1 everywhere. x[0][0]
 * lies only in window (0,0): 1/9 counting padding, 1/4 without (4 input
 * cells). x[5][5] lies in four windows: (2,2) rows and cols 3..5, 9 cells
 * either way; (2,3) and (3,2), one axis 5..6 after clipping at 6 + 1
 * (input + padding): 3x2 = 6 cells, 3 in the input; (3,3) 2x2 = 4 cells,
 * 1 in the input. dx = 1/9 + 2/6 + 1/4, or 1/9 + 2/3 + 1. */
START_TEST(pool_avg_backward_pytorch_corners)
{
    cly_context *ctx = ot_context();
    for (int exclude = 0; exclude < 2; exclude++) {
        cly_pool_params p = {.kind = CLY_POOL_AVG, .size = {3, 3}, .stride = {2, 2}, .pad = CLY_PAD(1),
                             .rounding = CLY_ROUND_CEIL, .avg_exclude_pad = exclude};
        cly_pool_geom g;
        char msg[256];
        ck_assert_msg(cly_pool_geom_make(&p, (cly_shape){1, 1, 6, 6}, &g, NULL, msg, sizeof msg), "%s", msg);
        ck_assert_int_eq(g.oh * g.ow, 16);
        float ones[16], dx[36];
        for (int i = 0; i < 16; i++)
            ones[i] = 1.0f;
        cly_buf bdy = ot_upload(ctx, ones, 16, 4), bdx = ot_alloc(ctx, 36, 4);
        ck_assert_int_eq(cly_pool_backward(ctx, &g, (cly_buf){NULL, 0}, (cly_buf){NULL, 0}, (cly_buf){NULL, 0}, bdy,
                                           bdx, 0.0f),
                         CLY_SUCCESS);
        ot_download(ctx, bdx, dx, 36, 4);
        ck_assert_float_eq_tol(dx[0], exclude ? 0.25f : 1.0f / 9.0f, 1e-7f);
        ck_assert_float_eq_tol(dx[35], exclude ? 1.0f / 9.0f + 2.0f / 3.0f + 1.0f : 1.0f / 9.0f + 2.0f / 6.0f + 0.25f,
                               1e-6f);
        ot_free(bdy);
        ot_free(bdx);
    }
    cly_context_destroy(ctx);
}
END_TEST

START_TEST(pool_backward_refusals)
{
    cly_context *ctx = ot_context();
    cly_pool_params p = {.kind = CLY_POOL_MAX, .size = {2, 2}, .stride = {2, 2}};
    cly_pool_geom g;
    char msg[256];
    ck_assert(cly_pool_geom_make(&p, (cly_shape){1, 1, 4, 4}, &g, NULL, msg, sizeof msg));
    cly_buf big = ot_alloc(ctx, 40, 4), dy = {big.mem, big.offset}, dx = {big.mem, big.offset + 4};
    cly_buf none = {NULL, 0};
    /* Max without the switches cannot route anything. */
    ck_assert_int_eq(cly_pool_backward(ctx, &g, none, none, none, dy, dx, 0.0f), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(cly_last_error(ctx), "argmax"));
    /* dx over dy (dy is 4 floats at 0..3, dx 16 at 2..17). */
    g.kind = CLY_POOL_AVG;
    ck_assert_int_eq(cly_pool_backward(ctx, &g, none, none, none, dy, (cly_buf){big.mem, big.offset + 2}, 0.0f),
                     CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_pool_backward(ctx, &g, none, none, none, dy, dx, 0.0f), CLY_SUCCESS);
    g.kind = CLY_POOL_L2;
    ck_assert_int_eq(cly_pool_backward(ctx, &g, none, none, none, dy, dx, 0.0f), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_context_finish(ctx), CLY_SUCCESS);
    ot_free(big);
    cly_context_destroy(ctx);
}
END_TEST

/* ---- global average pooling */

typedef struct gap_run {
    cly_context *ctx;
    cly_shape s;
    float *x;
    cly_buf bx, by, bdy;
} gap_run;

static void gap_bwd(void *user, cly_context *ctx, const cly_buf *outs, float beta)
{
    gap_run *p = user;
    ck_assert_msg(cly_gap_backward(ctx, p->s, p->bdy, outs[0], beta) == CLY_SUCCESS, "%s", cly_last_error(ctx));
}

static void gap_fwd(void *user, float *y)
{
    gap_run *p = user;
    gc_write(p->ctx, p->bx, p->x, gc_count(p->s));
    ck_assert_msg(cly_gap_forward(p->ctx, p->s, p->bx, p->by) == CLY_SUCCESS, "%s", cly_last_error(p->ctx));
    ot_download(p->ctx, p->by, y, p->s.n * p->s.c, 4);
}

static void run_gap(cly_context *ctx, cly_shape s, bool fd)
{
    gap_run p = {.ctx = ctx, .s = s};
    int64_t nin = gc_count(s), nout = s.n * s.c, hw = s.h * s.w;
    p.x = gc_malloc((size_t)nin * 4);
    float *r = gc_malloc((size_t)nout * 4), *got;
    double *want = gc_malloc((size_t)nin * 8);
    ot_fill_real(p.x, nin, 7, -2.0, 2.0);
    ot_fill_real(r, nout, 8, -1.0, 1.0);
    p.bx = ot_upload(ctx, p.x, nin, 4);
    p.by = ot_alloc(ctx, nout, 4);
    p.bdy = ot_upload(ctx, r, nout, 4);
    char what[96];
    snprintf(what, sizeof what, "gap backward " CLY_SHAPE_FMT, CLY_SHAPE_ARGS(s));
    gc_run_backward(ctx, what, gap_bwd, &p, 1, &nin, &got);
    for (int64_t i = 0; i < nin; i++)
        want[i] = (double)r[i / hw] / (double)hw;
    ot_check_rel(got, want, nin, 1e-6, 1e-6, what); /* one float division */
    if (fd) {
        /* Linear: only the rounding of the forward's float sum over the
         * step 0.02 remains (measured <= 6e-7 absolute); as for pooling. */
        gc_spec spec = {.what = what, .in = p.x, .nin = nin, .analytic = got, .r = r, .ny = nout, .fwd = gap_fwd,
                        .user = &p, .h = 1e-2, .tol = 1e-3, .floor = 1e-2, .max_points = 48};
        gc_check(&spec);
    }
    ot_free(p.bx);
    ot_free(p.by);
    ot_free(p.bdy);
    free(p.x);
    free(r);
    free(want);
    free(got);
}

START_TEST(gap_backward)
{
    cly_context *ctx = ot_context();
    run_gap(ctx, (cly_shape){2, 5, 7, 7}, true);
    run_gap(ctx, (cly_shape){1, 3, 1, 1}, true);
    run_gap(ctx, (cly_shape){3, 4, 13, 11}, true);
    run_gap(ctx, (cly_shape){2, 64, 56, 56}, false);
    cly_context_destroy(ctx);
}
END_TEST

/* The oclgrind suite: every backward kernel on small shapes, no finite
 * differences (each would be two more simulated launches per point). */
START_TEST(small_all_kernels)
{
    cly_context *ctx = ot_context();
    static const int picks[] = {0, 3, 4, 6, 7};
    for (size_t i = 0; i < sizeof picks / sizeof picks[0]; i++) {
        const pool_case *pc = &CASES[picks[i]];
        run_pool(ctx, pc, CLY_POOL_MAX, false, 1, false);
        run_pool(ctx, pc, CLY_POOL_AVG, false, 2, false);
        run_pool(ctx, pc, CLY_POOL_AVG, true, 2, false);
        run_pool(ctx, pc, CLY_POOL_L2, false, 3, false);
    }
    run_gap(ctx, (cly_shape){2, 3, 3, 2}, false);
    cly_context_destroy(ctx);
}
END_TEST

static Suite *unit_suite(void)
{
    Suite *s = suite_create("pool-backward");
    TCase *tc = ot_tcase("backward");
    tcase_add_loop_test(tc, pool_max_backward, 0, (int)NCASES);
    tcase_add_loop_test(tc, pool_avg_backward, 0, (int)NCASES);
    tcase_add_loop_test(tc, pool_l2_backward, 0, (int)NCASES);
    tcase_add_test(tc, pool_avg_backward_pytorch_corners);
    tcase_add_test(tc, pool_backward_refusals);
    tcase_add_test(tc, gap_backward);
    suite_add_tcase(s, tc);
    return s;
}

static Suite *small_suite(void)
{
    Suite *s = suite_create("pool-backward-oclgrind");
    TCase *tc = ot_tcase("small");
    tcase_add_test(tc, small_all_kernels);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    return ot_main(argc, argv, unit_suite, small_suite);
}
