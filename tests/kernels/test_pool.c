/* Pooling and global average pooling against naive references written
 * straight from the formulas (mission.md, PyTorch's avg_pool2d), plus the
 * geometry rules and messages of cly_pool_geom_make. */
#include "ops_test.h"
#include "pool_ref.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct pool_case {
    const char *desc;
    cly_shape in;
    cly_pool_params p; /* kind is set per run */
} pool_case;

#define P(fh_, fw_, sh_, sw_, t_, b_, l_, r_, round_) \
    {.size = {fh_, fw_}, .stride = {sh_, sw_}, .pad = {t_, b_, l_, r_}, .rounding = round_}

static const pool_case CASES[] = {
    {"mb2ic3ih7iw9 F2 S2 floor", {2, 3, 7, 9}, P(2, 2, 2, 2, 0, 0, 0, 0, CLY_ROUND_FLOOR)},
    {"notes: 224x224x64 F2 S2 -> 112x112x64", {1, 64, 224, 224}, P(2, 2, 2, 2, 0, 0, 0, 0, CLY_ROUND_EXACT)},
    {"AlexNet-style overlapping F3 S2, 13 -> 6", {2, 5, 13, 13}, P(3, 3, 2, 2, 0, 0, 0, 0, CLY_ROUND_EXACT)},
    {"GoogLeNet 3x3/2 ceil, 112 -> 56", {1, 4, 112, 112}, P(3, 3, 2, 2, 0, 0, 0, 0, CLY_ROUND_CEIL)},
    {"GoogLeNet 3x3/2 ceil, 28 -> 14", {2, 3, 28, 28}, P(3, 3, 2, 2, 0, 0, 0, 0, CLY_ROUND_CEIL)},
    {"padded ceil, last window past the padding", {3, 2, 6, 6}, P(3, 3, 2, 2, 1, 1, 1, 1, CLY_ROUND_CEIL)},
    {"ceil drops a window starting in the right padding", {2, 2, 5, 5}, P(2, 2, 2, 2, 1, 1, 1, 1, CLY_ROUND_CEIL)},
    {"1x1 plane, F1", {1, 1, 1, 1}, P(1, 1, 1, 1, 0, 0, 0, 0, CLY_ROUND_EXACT)},
    {"1x1 planes, F2 S1 P1", {2, 3, 1, 1}, P(2, 2, 1, 1, 1, 1, 1, 1, CLY_ROUND_EXACT)},
    {"asymmetric window, stride and padding", {1, 2, 9, 8}, P(3, 2, 2, 1, 1, 0, 0, 1, CLY_ROUND_FLOOR)},
    {"F3 S1 P1 size-preserving", {2, 3, 5, 5}, P(3, 3, 1, 1, 1, 1, 1, 1, CLY_ROUND_EXACT)},
    {"GoogLeNet final 7x7 average", {2, 8, 7, 7}, P(7, 7, 1, 1, 0, 0, 0, 0, CLY_ROUND_EXACT)},
    {"odd everything, ceil", {1, 3, 31, 17}, P(5, 3, 3, 2, 2, 1, 1, 2, CLY_ROUND_CEIL)},
    {"floor, F3 S3", {3, 1, 11, 10}, P(3, 3, 3, 3, 0, 0, 0, 0, CLY_ROUND_FLOOR)},
};
#define NCASES (sizeof CASES / sizeof CASES[0])

static const char *KIND_NAMES[] = {"max", "avg", "l2"};

/* Run one case with one kind on the device and compare: max exactly (integer
 * fill, argmax too), avg and L2 within 1e-5 relative to max(|ref|, 1): the
 * inputs lie in [-1, 1], and a float sum of a few dozen of them that cancels
 * to near zero keeps an absolute error of some 1e-7, not a relative one. */
static void run_case(cly_context *ctx, const pool_case *pc, cly_pool_kind kind, bool exclude, bool argmax)
{
    cly_pool_params p = pc->p;
    p.kind = kind;
    p.avg_exclude_pad = exclude;
    cly_pool_geom g;
    char msg[256];
    bool rounded;
    ck_assert_msg(cly_pool_geom_make(&p, pc->in, &g, &rounded, msg, sizeof msg), "%s: %s", pc->desc, msg);
    int64_t nin = pc->in.n * pc->in.c * pc->in.h * pc->in.w, nout = g.n * g.c * g.oh * g.ow;
    float *x = malloc((size_t)nin * sizeof *x), *y = malloc((size_t)nout * sizeof *y);
    double *want = malloc((size_t)nout * sizeof *want);
    int *idx = malloc((size_t)nout * sizeof *idx), *want_idx = malloc((size_t)nout * sizeof *want_idx);
    if (kind == CLY_POOL_MAX)
        ot_fill_int(x, nin, 11, -9, 9); /* many ties: checks the first-maximum rule */
    else
        ot_fill_real(x, nin, 12, -1.0, 1.0);
    cly_buf bx = ot_upload(ctx, x, nin, 4), by = ot_alloc(ctx, nout, 4);
    cly_buf ba = argmax ? ot_alloc(ctx, nout, 4) : (cly_buf){NULL, 0};
    cly_status s = cly_pool_forward(ctx, &g, bx, by, ba);
    ck_assert_msg(s == CLY_SUCCESS, "%s: %s", pc->desc, cly_last_error(ctx));
    ot_download(ctx, by, y, nout, 4);
    ref_pool(&g, x, want, want_idx);
    char what[160];
    snprintf(what, sizeof what, "%s %s%s", pc->desc, KIND_NAMES[kind], exclude ? " exclude_pad" : "");
    if (kind == CLY_POOL_MAX) {
        float *wf = malloc((size_t)nout * sizeof *wf);
        for (int64_t i = 0; i < nout; i++)
            wf[i] = (float)want[i];
        ot_check_exact(y, wf, nout, what);
        free(wf);
    } else {
        ot_check_rel(y, want, nout, 1e-5, 1.0, what);
    }
    if (argmax) {
        ot_download(ctx, ba, idx, nout, 4);
        for (int64_t i = 0; i < nout; i++) {
            ck_assert_msg(idx[i] >= 0 && idx[i] < g.h * g.w, "%s: argmax %lld = %d outside the plane", what,
                          (long long)i, idx[i]);
            ck_assert_msg(idx[i] == want_idx[i], "%s: argmax %lld = %d, expected %d", what, (long long)i, idx[i],
                          want_idx[i]);
        }
    }
    ot_free(bx);
    ot_free(by);
    ot_free(ba);
    free(x);
    free(y);
    free(want);
    free(idx);
    free(want_idx);
}

START_TEST(pool_max_cases)
{
    cly_context *ctx = ot_context();
    run_case(ctx, &CASES[_i], CLY_POOL_MAX, false, true);
    run_case(ctx, &CASES[_i], CLY_POOL_MAX, false, false);
    cly_context_destroy(ctx);
}
END_TEST

START_TEST(pool_avg_cases)
{
    cly_context *ctx = ot_context();
    run_case(ctx, &CASES[_i], CLY_POOL_AVG, false, false);
    run_case(ctx, &CASES[_i], CLY_POOL_AVG, true, false);
    cly_context_destroy(ctx);
}
END_TEST

START_TEST(pool_l2_cases)
{
    cly_context *ctx = ot_context();
    run_case(ctx, &CASES[_i], CLY_POOL_L2, false, false);
    cly_context_destroy(ctx);
}
END_TEST

/* PyTorch's avg_pool2d pinned by hand, independent of ref_pool: a 6x6 input
 * x[y][x] = 1 + y*6 + x with F=3, S=2, P=1, ceil_mode=True gives 4x4. The
 * corner (0,0) covers rows/cols -1..1: 4 input cells of 9, sum 1+2+7+8 = 18,
 * so 18/9 = 2 counting padding and 18/4 = 4.5 without. The corner (3,3)
 * starts at 5 and is clipped at 6 + 1 (input + padding), a 2x2 window with
 * one input cell, x[5][5] = 36: 36/4 = 9 counting padding, 36/1 without. */
START_TEST(pool_avg_ceil_pytorch_semantics)
{
    cly_context *ctx = ot_context();
    float x[36], y[16];
    for (int i = 0; i < 36; i++)
        x[i] = (float)(1 + i);
    for (int exclude = 0; exclude < 2; exclude++) {
        cly_pool_params p = {.kind = CLY_POOL_AVG, .size = {3, 3}, .stride = {2, 2}, .pad = CLY_PAD(1),
                             .rounding = CLY_ROUND_CEIL, .avg_exclude_pad = exclude};
        cly_pool_geom g;
        char msg[256];
        bool rounded = false;
        ck_assert_msg(cly_pool_geom_make(&p, (cly_shape){1, 1, 6, 6}, &g, &rounded, msg, sizeof msg), "%s", msg);
        ck_assert_int_eq(g.oh, 4);
        ck_assert_int_eq(g.ow, 4);
        ck_assert(rounded);
        cly_buf bx = ot_upload(ctx, x, 36, 4), by = ot_alloc(ctx, 16, 4);
        ck_assert_int_eq(cly_pool_forward(ctx, &g, bx, by, (cly_buf){NULL, 0}), CLY_SUCCESS);
        ot_download(ctx, by, y, 16, 4);
        ck_assert_float_eq_tol(y[0], exclude ? 4.5f : 2.0f, 1e-6f);
        ck_assert_float_eq_tol(y[15], exclude ? 36.0f : 9.0f, 1e-6f);
        /* (0,3): rows -1..1 (2 in input), cols 5..6 clipped at 7 (1 in input) */
        float want03 = (6.0f + 12.0f) / (exclude ? 2.0f : 6.0f);
        ck_assert_float_eq_tol(y[3], want03, 1e-5f);
        ot_free(bx);
        ot_free(by);
    }
    cly_context_destroy(ctx);
}
END_TEST

/* Windows of -inf only still name a cell of the input; a NaN wins. */
START_TEST(pool_max_inf_and_nan)
{
    cly_context *ctx = ot_context();
    float x[16];
    for (int i = 0; i < 16; i++)
        x[i] = -INFINITY;
    x[5] = NAN; /* in window (1,1) of the padded 2x2/2 pooling below */
    cly_pool_params p = {.kind = CLY_POOL_MAX, .size = {2, 2}, .stride = {2, 2}, .pad = CLY_PAD(1),
                         .rounding = CLY_ROUND_FLOOR};
    cly_pool_geom g;
    char msg[256];
    ck_assert_msg(cly_pool_geom_make(&p, (cly_shape){1, 1, 4, 4}, &g, NULL, msg, sizeof msg), "%s", msg);
    ck_assert_int_eq(g.oh * g.ow, 9);
    float y9[9];
    int idx9[9];
    cly_buf bx = ot_upload(ctx, x, 16, 4), by = ot_alloc(ctx, 9, 4), ba = ot_alloc(ctx, 9, 4);
    ck_assert_int_eq(cly_pool_forward(ctx, &g, bx, by, ba), CLY_SUCCESS);
    ot_download(ctx, by, y9, 9, 4);
    ot_download(ctx, ba, idx9, 9, 4);
    /* Window (0,0) holds only x[0]; window (1,1) rows 1-2, cols 1-2 holds x[5]. */
    ck_assert(isinf(y9[0]) && y9[0] < 0);
    ck_assert_int_eq(idx9[0], 0);
    ck_assert(isnan(y9[4]));
    ck_assert_int_eq(idx9[4], 5);
    ck_assert_int_eq(idx9[8], 15);
    for (int i = 0; i < 9; i++)
        ck_assert_int_ge(idx9[i], 0);
    ot_free(bx);
    ot_free(by);
    ot_free(ba);
    cly_context_destroy(ctx);
}
END_TEST

static void run_gap(cly_context *ctx, cly_shape s)
{
    int64_t nin = s.n * s.c * s.h * s.w, nout = s.n * s.c;
    float *x = malloc((size_t)nin * 4), *y = malloc((size_t)nout * 4);
    double *want = malloc((size_t)nout * 8);
    ot_fill_real(x, nin, 5, -2.0, 3.0);
    cly_buf bx = ot_upload(ctx, x, nin, 4), by = ot_alloc(ctx, nout, 4);
    ck_assert_msg(cly_gap_forward(ctx, s, bx, by) == CLY_SUCCESS, "%s", cly_last_error(ctx));
    ot_download(ctx, by, y, nout, 4);
    ref_gap(s, x, want);
    ot_check_rel(y, want, nout, 1e-5, 1.0, "gap"); /* as run_case: inputs of magnitude <= 3 */
    ot_free(bx);
    ot_free(by);
    free(x);
    free(y);
    free(want);
}

START_TEST(gap_shapes)
{
    cly_context *ctx = ot_context();
    const cly_shape shapes[] = {{2, 5, 7, 7}, {1, 3, 1, 1}, {2, 4, 13, 11}, {3, 1, 1, 6}, {1, 16, 56, 56}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        run_gap(ctx, shapes[i]);
    cly_context_destroy(ctx);
}
END_TEST

START_TEST(pool_argmax_only_for_max)
{
    cly_context *ctx = ot_context();
    cly_pool_params p = {.kind = CLY_POOL_AVG, .size = {2, 2}, .stride = {2, 2}};
    cly_pool_geom g;
    char msg[256];
    ck_assert(cly_pool_geom_make(&p, (cly_shape){1, 1, 4, 4}, &g, NULL, msg, sizeof msg));
    cly_buf bx = ot_alloc(ctx, 16, 4), by = ot_alloc(ctx, 4, 4), ba = ot_alloc(ctx, 4, 4);
    ck_assert_int_eq(cly_pool_forward(ctx, &g, bx, by, ba), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(cly_last_error(ctx), "argmax"));
    ot_free(bx);
    ot_free(by);
    ot_free(ba);
    cly_context_destroy(ctx);
}
END_TEST

/* ---- geometry: no device needed */

static bool geom(cly_shape in, cly_pool_params p, cly_pool_geom *g, bool *rounded, char *msg)
{
    return cly_pool_geom_make(&p, in, g, rounded, msg, 256);
}

START_TEST(geom_figures)
{
    cly_pool_geom g;
    bool r = true;
    char msg[256];
    /* The notes: 224x224x64, F=2, S=2 -> 112x112x64. */
    ck_assert_msg(geom((cly_shape){1, 64, 224, 224}, (cly_pool_params){.size = {2, 2}, .stride = {2, 2}}, &g, &r,
                       msg), "%s", msg);
    ck_assert(g.oh == 112 && g.ow == 112 && g.c == 64 && !r);
    /* Overlapping F=3, S=2: AlexNet's 55 -> 27 -> 13 -> 6. */
    const int64_t alex[][2] = {{55, 27}, {27, 13}, {13, 6}};
    for (int i = 0; i < 3; i++) {
        ck_assert(geom((cly_shape){1, 1, alex[i][0], alex[i][0]},
                       (cly_pool_params){.size = {3, 3}, .stride = {2, 2}}, &g, &r, msg));
        ck_assert(g.oh == alex[i][1] && !r);
    }
    /* GoogLeNet's 3x3/2 ceil pools: 112 -> 56, 56 -> 28, 28 -> 14, 14 -> 7;
     * FLOOR would give 55, 27, 13, 6 and EXACT refuses. */
    const int64_t goog[][3] = {{112, 56, 55}, {56, 28, 27}, {28, 14, 13}, {14, 7, 6}};
    for (int i = 0; i < 4; i++) {
        cly_pool_params p = {.size = {3, 3}, .stride = {2, 2}, .rounding = CLY_ROUND_CEIL};
        ck_assert(geom((cly_shape){1, 1, goog[i][0], goog[i][0]}, p, &g, &r, msg));
        ck_assert_int_eq(g.oh, goog[i][1]);
        ck_assert(r);
        p.rounding = CLY_ROUND_FLOOR;
        ck_assert(geom((cly_shape){1, 1, goog[i][0], goog[i][0]}, p, &g, &r, msg));
        ck_assert_int_eq(g.oh, goog[i][2]);
        ck_assert(r);
        p.rounding = CLY_ROUND_EXACT;
        ck_assert(!geom((cly_shape){1, 1, goog[i][0], goog[i][0]}, p, &g, &r, msg));
    }
    /* CEIL drops a last window that would start in the right padding:
     * W=5, F=2, S=2, P=1 gives (5+2-2)/2 = 2.5 -> 3 windows + 1, but the
     * fourth would start at 6 - 1 = 5 = W: dropped, 3 remain (PyTorch too). */
    ck_assert(geom((cly_shape){1, 1, 5, 5},
                   (cly_pool_params){.size = {2, 2}, .stride = {2, 2}, .pad = CLY_PAD(1), .rounding = CLY_ROUND_CEIL},
                   &g, &r, msg));
    ck_assert(g.oh == 3 && g.ow == 3 && r);
    /* Stride 0 means 1; the GoogLeNet final 7x7 average gives 1x1. */
    ck_assert(geom((cly_shape){2, 1024, 7, 7}, (cly_pool_params){.kind = CLY_POOL_AVG, .size = {7, 7}}, &g, &r, msg));
    ck_assert(g.sh == 1 && g.sw == 1 && g.oh == 1 && g.ow == 1 && g.kind == CLY_POOL_AVG && !r);
}
END_TEST

START_TEST(geom_errors)
{
    cly_pool_geom g;
    bool r;
    char msg[256];
    /* The notes' invalid case: W=7, F=2, S=2 in EXACT mode. */
    ck_assert(!geom((cly_shape){1, 1, 8, 7}, (cly_pool_params){.size = {2, 2}, .stride = {2, 2}}, &g, &r, msg));
    ck_assert_str_eq(msg, "(W - F)/S + 1 = (7 - 2)/2 + 1 = 3.5 is not an integer");
    ck_assert(!geom((cly_shape){1, 1, 7, 8}, (cly_pool_params){.size = {2, 2}, .stride = {2, 2}}, &g, &r, msg));
    ck_assert_str_eq(msg, "(H - F)/S + 1 = (7 - 2)/2 + 1 = 3.5 is not an integer");
    /* With padding the message keeps the padding term. */
    ck_assert(!geom((cly_shape){1, 1, 8, 8},
                    (cly_pool_params){.size = {3, 3}, .stride = {2, 2}, .pad = CLY_PAD(1)}, &g, &r, msg));
    ck_assert_str_eq(msg, "(H - F + 2P)/S + 1 = (8 - 3 + 2*1)/2 + 1 = 4.5 is not an integer");
    /* A window larger than the input. */
    ck_assert(!geom((cly_shape){1, 1, 2, 2}, (cly_pool_params){.size = {3, 3}, .rounding = CLY_ROUND_FLOOR}, &g, &r,
                    msg));
    ck_assert_ptr_nonnull(strstr(msg, "larger than the padded input"));
    /* Parameter ranges. */
    ck_assert(!geom((cly_shape){1, 1, 4, 4}, (cly_pool_params){.size = {0, 2}}, &g, &r, msg));
    ck_assert_ptr_nonnull(strstr(msg, "F must be >= 1"));
    ck_assert(!geom((cly_shape){1, 1, 4, 4}, (cly_pool_params){.size = {2, 2}, .stride = {-1, 1}}, &g, &r, msg));
    ck_assert_ptr_nonnull(strstr(msg, "S must be >= 1"));
    ck_assert(!geom((cly_shape){1, 1, 4, 4}, (cly_pool_params){.size = {2, 2}, .pad = {0, 0, 2, 0}}, &g, &r, msg));
    ck_assert_str_eq(msg, "padding left = 2: need 0 <= P < F = 2 (a window must reach the input)");
    ck_assert(!geom((cly_shape){1, 1, 4, 4}, (cly_pool_params){.size = {2, 2}, .pad = {-1, 0, 0, 0}}, &g, &r, msg));
    ck_assert(!geom((cly_shape){1, 1, 4, 4}, (cly_pool_params){.kind = (cly_pool_kind)7, .size = {2, 2}}, &g, &r,
                    msg));
    ck_assert(!geom((cly_shape){0, 1, 4, 4}, (cly_pool_params){.size = {2, 2}}, &g, &r, msg));
}
END_TEST

/* The oclgrind suite: every kernel on each case of CASES small enough for
 * the simulator (up to 4000 input elements). */
START_TEST(small_all_kernels)
{
    cly_context *ctx = ot_context();
    for (size_t i = 0; i < NCASES; i++) {
        const pool_case *pc = &CASES[i];
        if (pc->in.n * pc->in.c * pc->in.h * pc->in.w > 4000)
            continue;
        run_case(ctx, pc, CLY_POOL_MAX, false, true);
        run_case(ctx, pc, CLY_POOL_MAX, false, false);
        run_case(ctx, pc, CLY_POOL_AVG, false, false);
        run_case(ctx, pc, CLY_POOL_AVG, true, false);
        run_case(ctx, pc, CLY_POOL_L2, false, false);
    }
    run_gap(ctx, (cly_shape){2, 3, 5, 4});
    run_gap(ctx, (cly_shape){1, 2, 1, 1});
    cly_context_destroy(ctx);
}
END_TEST

/* pool.cl (a work-item per element) and pool_rows.cl (per row, CPUs) give
 * the same bits: forward max with its argmax, average both ways, backward
 * with beta 0, on data with NaNs, infinities and ties, over shapes wide
 * enough for the vector interior at every stride (VW up to 16). Small
 * enough for oclgrind, which checks pool_rows.cl's accesses. */
static void layouts_agree(cly_context *ctx)
{
    static const struct {
        cly_shape in;
        cly_pool_params p;
    } shapes[] = {
        {{2, 2, 5, 70}, P(2, 2, 2, 2, 0, 0, 0, 0, CLY_ROUND_FLOOR)},
        {{1, 3, 6, 75}, P(3, 3, 2, 2, 1, 1, 1, 1, CLY_ROUND_CEIL)},
        {{1, 2, 4, 41}, P(3, 3, 1, 1, 1, 1, 1, 1, CLY_ROUND_EXACT)},
        {{1, 2, 7, 100}, P(3, 5, 3, 3, 0, 1, 2, 0, CLY_ROUND_FLOOR)},
        {{2, 1, 3, 37}, P(1, 4, 1, 4, 0, 0, 0, 0, CLY_ROUND_FLOOR)},
        {{1, 1, 9, 9}, P(2, 2, 2, 2, 1, 1, 1, 1, CLY_ROUND_CEIL)},
    };
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++)
        for (int variant = 0; variant < 3; variant++) {
            cly_pool_params p = shapes[k].p;
            p.kind = variant == 0 ? CLY_POOL_MAX : CLY_POOL_AVG;
            p.avg_exclude_pad = variant == 2;
            cly_pool_geom g;
            char msg[256];
            ck_assert_msg(cly_pool_geom_make(&p, shapes[k].in, &g, NULL, msg, sizeof msg), "%zu: %s", k, msg);
            const cly_shape in = shapes[k].in;
            int64_t nin = in.n * in.c * in.h * in.w, nout = g.n * g.c * g.oh * g.ow;
            float *x = malloc((size_t)nin * sizeof *x), *dy = malloc((size_t)nout * sizeof *dy);
            ot_fill_int(x, nin, 31 + (unsigned)k, -4, 4);
            ot_fill_real(dy, nout, 41 + (unsigned)k, -1.0, 1.0);
            for (int64_t i = 0; i < nin; i += 17)
                x[i] = i % 3 == 0 ? NAN : i % 3 == 1 ? INFINITY : -INFINITY;
            cly_buf bx = ot_upload(ctx, x, nin, 4), bdy = ot_upload(ctx, dy, nout, 4);
            /* Per element; per row at the device's vector width, at 4 and 16. */
            static const char *const vws[] = {NULL, NULL, "4", "16"};
            float *y[4], *dx[4];
            int *am[4];
            for (int rows = 0; rows < 4; rows++) {
                setenv("CLAYER_POOL_ROWS", rows ? "1" : "0", 1);
                if (vws[rows])
                    setenv("CLAYER_POOL_VW", vws[rows], 1);
                else
                    unsetenv("CLAYER_POOL_VW");
                cly_buf by = ot_alloc(ctx, nout, 4), bdx = ot_alloc(ctx, nin, 4);
                cly_buf ba = variant == 0 ? ot_alloc(ctx, nout, 4) : (cly_buf){NULL, 0};
                ck_assert_msg(cly_pool_forward(ctx, &g, bx, by, ba) == CLY_SUCCESS, "%s", cly_last_error(ctx));
                ck_assert_msg(cly_pool_backward(ctx, &g, bx, by, ba, bdy, bdx, 0.0f) == CLY_SUCCESS, "%s",
                              cly_last_error(ctx));
                y[rows] = malloc((size_t)nout * sizeof(float));
                dx[rows] = malloc((size_t)nin * sizeof(float));
                am[rows] = calloc((size_t)nout, sizeof(int));
                ot_download(ctx, by, y[rows], nout, 4);
                ot_download(ctx, bdx, dx[rows], nin, 4);
                if (ba.mem)
                    ot_download(ctx, ba, am[rows], nout, 4);
                ot_free(by);
                ot_free(bdx);
                ot_free(ba);
            }
            unsetenv("CLAYER_POOL_ROWS");
            unsetenv("CLAYER_POOL_VW");
            for (int r = 1; r < 4; r++) {
                ck_assert_msg(memcmp(y[0], y[r], (size_t)nout * sizeof(float)) == 0,
                              "shape %zu variant %d layout %d: y differs", k, variant, r);
                ck_assert_msg(memcmp(am[0], am[r], (size_t)nout * sizeof(int)) == 0,
                              "shape %zu layout %d: argmax differs", k, r);
                ck_assert_msg(memcmp(dx[0], dx[r], (size_t)nin * sizeof(float)) == 0,
                              "shape %zu variant %d layout %d: dx differs", k, variant, r);
            }
            for (int r = 0; r < 4; r++) {
                free(y[r]);
                free(dx[r]);
                free(am[r]);
            }
            ot_free(bx);
            ot_free(bdy);
            free(x);
            free(dy);
        }
}

START_TEST(pool_layouts_agree)
{
    cly_context *ctx = ot_context();
    layouts_agree(ctx);
    cly_context_destroy(ctx);
}
END_TEST

/* The same under oclgrind, whose uninitialised-value checker (21.10)
 * crashes on vector swizzles: pool_rows.cl built without them. */
START_TEST(pool_layouts_agree_no_swizzle)
{
    setenv("CLAYER_POOL_SWIZZLE", "0", 1);
    cly_context *ctx = ot_context();
    layouts_agree(ctx);
    cly_context_destroy(ctx);
    unsetenv("CLAYER_POOL_SWIZZLE");
}
END_TEST

static Suite *unit_suite(void)
{
    Suite *s = suite_create("pool");
    TCase *tc = ot_tcase("geometry");
    tcase_add_test(tc, geom_figures);
    tcase_add_test(tc, geom_errors);
    suite_add_tcase(s, tc);
    tc = ot_tcase("forward");
    tcase_add_loop_test(tc, pool_max_cases, 0, (int)NCASES);
    tcase_add_loop_test(tc, pool_avg_cases, 0, (int)NCASES);
    tcase_add_loop_test(tc, pool_l2_cases, 0, (int)NCASES);
    tcase_add_test(tc, pool_avg_ceil_pytorch_semantics);
    tcase_add_test(tc, pool_max_inf_and_nan);
    tcase_add_test(tc, pool_argmax_only_for_max);
    tcase_add_test(tc, gap_shapes);
    tcase_add_test(tc, pool_layouts_agree);
    tcase_add_test(tc, pool_layouts_agree_no_swizzle);
    suite_add_tcase(s, tc);
    return s;
}

static Suite *small_suite(void)
{
    Suite *s = suite_create("pool-oclgrind");
    TCase *tc = ot_tcase("small");
    tcase_add_test(tc, small_all_kernels);
    tcase_add_test(tc, pool_layouts_agree_no_swizzle);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    return ot_main(argc, argv, unit_suite, small_suite);
}
