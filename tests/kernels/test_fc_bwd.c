/* Fully connected backward (gemm_nt on transposed operands where the
 * forward takes gemm_nt, else two SGEMMs through blas.c; the bias column
 * sums): against dot products in double, finite differences of
 * cly_fc_forward for x, w and the bias, the beta contract (beta = 0 must
 * not read the NaN in an uninitialised dw or dx) and determinism; the
 * gemm_nt form against CLBlast's, column blocks included. */
#include "grad_check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct fc_run {
    cly_context *ctx;
    int64_t n, in, out;
    float *x, *w, *b;
    cly_buf bx, bw, bb, by, bdy, ws;
} fc_run;

static void fc_bwd(void *user, cly_context *ctx, const cly_buf *outs, float beta)
{
    fc_run *f = user;
    cly_status s = cly_fc_backward(ctx, f->n, f->in, f->out, f->bx, f->bw, f->bdy, outs[0], outs[1], outs[2], beta,
                                   f->ws);
    ck_assert_msg(s == CLY_SUCCESS, "%s", cly_last_error(ctx));
}

/* The backward's workspace, filled with ot_alloc's NaN (its contents must
 * not matter); none where CLBlast runs. */
static cly_buf workspace(cly_context *ctx, int64_t n, int64_t in, int64_t out)
{
    int64_t elems = cly_fc_backward_workspace(ctx, n, in, out);
    return elems ? ot_alloc(ctx, elems, 4) : (cly_buf){NULL, 0};
}

static void fc_fwd(void *user, float *y)
{
    fc_run *f = user;
    gc_write(f->ctx, f->bx, f->x, f->n * f->in);
    gc_write(f->ctx, f->bw, f->w, f->out * f->in);
    gc_write(f->ctx, f->bb, f->b, f->out);
    cly_status s = cly_fc_forward(f->ctx, f->n, f->in, f->out, false, f->bx, f->bw, f->bb, f->by);
    ck_assert_msg(s == CLY_SUCCESS, "%s", cly_last_error(f->ctx));
    ot_download(f->ctx, f->by, y, f->n * f->out, 4);
}

/* got within tol * (sum of the magnitudes of its terms): a float dot
 * product's error bound, which a cancelling result does not shrink. */
static void check_sums(const char *what, const float *got, const double *want, const double *mag, int64_t count,
                       double tol)
{
    for (int64_t i = 0; i < count; i++)
        ck_assert_msg(fabs((double)got[i] - want[i]) <= tol * mag[i] + 1e-30,
                      "%s: element %lld is %.9g, expected %.9g (terms of magnitude %.3g)", what, (long long)i, got[i],
                      want[i], mag[i]);
}

static void run_fc(cly_context *ctx, int64_t n, int64_t in, int64_t out, bool fd)
{
    fc_run f = {.ctx = ctx, .n = n, .in = in, .out = out};
    int64_t nx = n * in, nw = out * in, ny = n * out;
    f.x = gc_malloc((size_t)nx * 4);
    f.w = gc_malloc((size_t)nw * 4);
    f.b = gc_malloc((size_t)out * 4);
    float *r = gc_malloc((size_t)ny * 4), *y = gc_malloc((size_t)ny * 4);
    ot_fill_real(f.x, nx, 71, -1.0, 1.0);
    ot_fill_real(f.w, nw, 72, -1.0, 1.0);
    ot_fill_real(f.b, out, 73, -1.0, 1.0);
    ot_fill_real(r, ny, 74, -1.0, 1.0);
    f.bx = ot_upload(ctx, f.x, nx, 4);
    f.bw = ot_upload(ctx, f.w, nw, 4);
    f.bb = ot_upload(ctx, f.b, out, 4);
    f.by = ot_alloc(ctx, ny, 4);
    f.bdy = ot_upload(ctx, r, ny, 4);
    f.ws = workspace(ctx, n, in, out);
    char what[96];
    snprintf(what, sizeof what, "fc backward, %lld samples, %lld -> %lld", (long long)n, (long long)in,
             (long long)out);
    int64_t counts[3] = {nx, nw, out};
    float *got[3];
    gc_run_backward(ctx, what, fc_bwd, &f, 3, counts, got);

    /* The definitions: dx[s][i] = sum_o dy[s][o] w[o][i];
     * dw[o][i] = sum_s dy[s][o] x[s][i];  db[o] = sum_s dy[s][o]. */
    double *want = gc_malloc((size_t)(nx > nw ? nx : nw) * 8), *mag = gc_malloc((size_t)(nx > nw ? nx : nw) * 8);
    for (int64_t s = 0; s < n; s++)
        for (int64_t i = 0; i < in; i++) {
            double acc = 0.0, m = 0.0;
            for (int64_t o = 0; o < out; o++) {
                double t = (double)r[s * out + o] * f.w[o * in + i];
                acc += t;
                m += fabs(t);
            }
            want[s * in + i] = acc;
            mag[s * in + i] = m;
        }
    char label[160];
    snprintf(label, sizeof label, "%s: dx", what);
    /* 1e-5 of the magnitudes: a few ulp per term, whatever order CLBlast's
     * tiling sums in. */
    check_sums(label, got[0], want, mag, nx, 1e-5);
    for (int64_t o = 0; o < out; o++)
        for (int64_t i = 0; i < in; i++) {
            double acc = 0.0, m = 0.0;
            for (int64_t s = 0; s < n; s++) {
                double t = (double)r[s * out + o] * f.x[s * in + i];
                acc += t;
                m += fabs(t);
            }
            want[o * in + i] = acc;
            mag[o * in + i] = m;
        }
    snprintf(label, sizeof label, "%s: dw", what);
    check_sums(label, got[1], want, mag, nw, 1e-5);
    for (int64_t o = 0; o < out; o++) {
        double acc = 0.0, m = 0.0;
        for (int64_t s = 0; s < n; s++) {
            acc += r[s * out + o];
            m += fabs(r[s * out + o]);
        }
        want[o] = acc;
        mag[o] = m;
    }
    snprintf(label, sizeof label, "%s: db", what);
    check_sums(label, got[2], want, mag, out, 1e-5);

    /* dx skipped (the first layer): dw and db unchanged. */
    cly_buf dw = ot_alloc(ctx, nw, 4), db = ot_alloc(ctx, out, 4);
    ck_assert_int_eq(cly_fc_backward(ctx, n, in, out, f.bx, f.bw, f.bdy, (cly_buf){NULL, 0}, dw, db, 0.0f, f.ws),
                     CLY_SUCCESS);
    float *again = gc_malloc((size_t)nw * 4);
    ot_download(ctx, dw, again, nw, 4);
    ot_check_exact(again, got[1], nw, "fc backward without dx: dw");
    ot_download(ctx, db, again, out, 4);
    ot_check_exact(again, got[2], out, "fc backward without dx: db");
    ot_free(dw);
    ot_free(db);
    free(again);

    if (fd) {
        /* y is linear in each of x, w, b: the centred difference is exact
         * up to y's float rounding (~1e-7 of the dot product's magnitudes,
         * <= in) over 2h = 0.02, summed over the outputs one input reaches.
         * tol 1e-3 relative, absolute 1e-4 below 0.1. */
        float *ins[3] = {f.x, f.w, f.b};
        static const char *names[3] = {"dx", "dw", "db"};
        for (int k = 0; k < 3; k++) {
            snprintf(label, sizeof label, "%s: %s", what, names[k]);
            gc_spec spec = {.what = label, .in = ins[k], .nin = counts[k], .analytic = got[k], .r = r, .ny = ny,
                            .fwd = fc_fwd, .user = &f, .h = 1e-2, .tol = 1e-3, .floor = 1e-1, .max_points = 32};
            gc_check(&spec);
        }
    }
    ot_free(f.bx);
    ot_free(f.bw);
    ot_free(f.bb);
    ot_free(f.by);
    ot_free(f.bdy);
    ot_free(f.ws);
    for (int k = 0; k < 3; k++)
        free(got[k]);
    free(f.x);
    free(f.w);
    free(f.b);
    free(r);
    free(y);
    free(want);
    free(mag);
}

START_TEST(fc_backward)
{
    cly_context *ctx = ot_context();
    run_fc(ctx, 4, 3 * 5 * 5, 10, true); /* a LeNet-sized head */
    run_fc(ctx, 1, 1, 1, true);
    run_fc(ctx, 3, 17, 13, true);
    run_fc(ctx, 2, 8 * 7 * 7, 64, true);
    run_fc(ctx, 32, 512, 100, false); /* large enough for CLBlast's tiled kernels */
    cly_context_destroy(ctx);
}
END_TEST

/* dx, dw, db of one backward into fresh (NaN) buffers, downloaded. */
static void backward_once(cly_context *ctx, int64_t n, int64_t in, int64_t out, cly_buf x, cly_buf w, cly_buf dy,
                          cly_buf ws, float *dx, float *dw, float *db)
{
    cly_buf bdx = ot_alloc(ctx, n * in, 4), bdw = ot_alloc(ctx, out * in, 4), bdb = ot_alloc(ctx, out, 4);
    cly_status s = cly_fc_backward(ctx, n, in, out, x, w, dy, bdx, bdw, bdb, 0.0f, ws);
    ck_assert_msg(s == CLY_SUCCESS, "%s", cly_last_error(ctx));
    ot_download(ctx, bdx, dx, n * in, 4);
    ot_download(ctx, bdw, dw, out * in, 4);
    ot_download(ctx, bdb, db, out, 4);
    ot_free(bdx);
    ot_free(bdw);
    ot_free(bdb);
}

/* |a - b| within twice a float sum's rounding bound for `terms` products
 * of magnitude <= 1 (the fills lie in [-1, 1]), summed in any order. */
static void check_close(const char *what, const float *a, const float *b, int64_t count, int64_t terms)
{
    const double tol = 2.0 * (double)terms * 6e-8;
    for (int64_t i = 0; i < count; i++)
        ck_assert_msg(fabs((double)a[i] - b[i]) <= tol, "%s: element %lld: gemm_nt %.9g, CLBlast %.9g (tol %.3g)",
                      what, (long long)i, a[i], b[i], tol);
}

/* The gemm_nt form against CLBlast's (ws NULL) on one shape, and twice
 * bit-identical. */
static void compare_clblast(cly_context *ctx, int64_t n, int64_t in, int64_t out)
{
    const int64_t nx = n * in, nw = out * in, ny = n * out;
    float *x = gc_malloc((size_t)nx * 4), *w = gc_malloc((size_t)nw * 4), *dy = gc_malloc((size_t)ny * 4);
    ot_fill_real(x, nx, 81, -1.0, 1.0);
    ot_fill_real(w, nw, 82, -1.0, 1.0);
    ot_fill_real(dy, ny, 83, -1.0, 1.0);
    cly_buf bx = ot_upload(ctx, x, nx, 4), bw = ot_upload(ctx, w, nw, 4), bdy = ot_upload(ctx, dy, ny, 4);
    cly_buf ws = workspace(ctx, n, in, out);
    float *got[3][3];
    for (int run = 0; run < 3; run++) {
        got[run][0] = gc_malloc((size_t)nx * 4);
        got[run][1] = gc_malloc((size_t)nw * 4);
        got[run][2] = gc_malloc((size_t)out * 4);
        backward_once(ctx, n, in, out, bx, bw, bdy, run < 2 ? ws : (cly_buf){NULL, 0}, got[run][0], got[run][1],
                      got[run][2]);
    }
    char what[128];
    snprintf(what, sizeof what, "fc backward %lld x %lld -> %lld", (long long)n, (long long)in, (long long)out);
    ot_check_exact(got[1][0], got[0][0], nx, what);
    ot_check_exact(got[1][1], got[0][1], nw, what);
    check_close(what, got[0][0], got[2][0], nx, out);
    check_close(what, got[0][1], got[2][1], nw, n);
    ot_check_exact(got[0][2], got[2][2], out, what); /* the same bias kernel */
    for (int run = 0; run < 3; run++)
        for (int k = 0; k < 3; k++)
            free(got[run][k]);
    ot_free(bx);
    ot_free(bw);
    ot_free(bdy);
    ot_free(ws);
    free(x);
    free(w);
    free(dy);
}

START_TEST(fc_backward_gemm_nt_vs_clblast)
{
    cly_context *ctx = ot_context();
    compare_clblast(ctx, 1, 37, 13);
    compare_clblast(ctx, 3, 257, 19);
    compare_clblast(ctx, 64, 3136, 128); /* Fashion-MNIST's fc1 */
    compare_clblast(ctx, 64, 131, 10);
    /* w past cly_conv_chunk's 2^24 floats: w^T in two column blocks. */
    compare_clblast(ctx, 2, 4100, 4097);
    cly_context_destroy(ctx);
}
END_TEST

START_TEST(fc_backward_refusals)
{
    cly_context *ctx = ot_context();
    cly_buf b = ot_alloc(ctx, 8, 4);
    ck_assert_int_eq(cly_fc_backward(ctx, 0, 2, 2, b, b, b, b, b, b, 0.0f, b), CLY_ERROR_INVALID_ARGUMENT);
    ot_free(b);
    cly_context_destroy(ctx);
}
END_TEST

START_TEST(small_all_kernels)
{
    cly_context *ctx = ot_context();
    run_fc(ctx, 2, 3, 4, false);
    run_fc(ctx, 16, 40, 18, false); /* whole transpose tiles and edges */
    cly_context_destroy(ctx);
}
END_TEST

static Suite *unit_suite(void)
{
    Suite *s = suite_create("fc-backward");
    TCase *tc = ot_tcase("backward");
    tcase_add_test(tc, fc_backward);
    tcase_add_test(tc, fc_backward_refusals);
    tcase_add_test(tc, fc_backward_gemm_nt_vs_clblast);
    suite_add_tcase(s, tc);
    return s;
}

static Suite *small_suite(void)
{
    Suite *s = suite_create("fc-backward-oclgrind");
    TCase *tc = ot_tcase("small");
    tcase_add_test(tc, small_all_kernels);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    return ot_main(argc, argv, unit_suite, small_suite);
}
