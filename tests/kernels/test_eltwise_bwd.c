/* Backward of ReLU, of addition (cly_grad_accumulate), of channel concat,
 * and dropout in both directions: naive references, finite differences of
 * the device forward ops, the beta contract and determinism. */
#include "grad_check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- ReLU */

typedef struct relu_run {
    cly_context *ctx;
    int64_t count;
    float *x;
    cly_buf bx, by, bdy;
} relu_run;

static void relu_bwd(void *user, cly_context *ctx, const cly_buf *outs, float beta)
{
    relu_run *p = user;
    ck_assert_msg(cly_relu_backward(ctx, p->count, p->by, p->bdy, outs[0], beta) == CLY_SUCCESS, "%s",
                  cly_last_error(ctx));
}

static void relu_fwd(void *user, float *y)
{
    relu_run *p = user;
    gc_write(p->ctx, p->bx, p->x, p->count);
    ck_assert_msg(cly_relu_forward(p->ctx, p->count, p->bx, p->by) == CLY_SUCCESS, "%s", cly_last_error(p->ctx));
    ot_download(p->ctx, p->by, y, p->count, 4);
}

/* The kink at 0: a step of h across it mixes both slopes. */
static bool relu_skip(void *user, int64_t i, double h)
{
    relu_run *p = user;
    return fabs(p->x[i]) < 2.0 * h;
}

static void run_relu(cly_context *ctx, int64_t count, bool fd)
{
    relu_run p = {.ctx = ctx, .count = count};
    p.x = gc_malloc((size_t)count * 4);
    float *r = gc_malloc((size_t)count * 4), *y = gc_malloc((size_t)count * 4), *got;
    double *want = gc_malloc((size_t)count * 8);
    ot_fill_real(p.x, count, 21, -2.0, 2.0);
    if (count > 4)
        p.x[1] = 0.0f; /* y = 0 exactly: no gradient (PyTorch's threshold_backward) */
    ot_fill_real(r, count, 22, -1.0, 1.0);
    p.bx = ot_upload(ctx, p.x, count, 4);
    p.by = ot_alloc(ctx, count, 4);
    p.bdy = ot_upload(ctx, r, count, 4);
    relu_fwd(&p, y);
    char what[64];
    snprintf(what, sizeof what, "relu backward, %lld elements", (long long)count);
    gc_run_backward(ctx, what, relu_bwd, &p, 1, &count, &got);
    for (int64_t i = 0; i < count; i++)
        want[i] = p.x[i] > 0.0f ? r[i] : 0.0;
    ot_check_rel(got, want, count, 0.0, 1.0, what); /* a copy or a zero: exact */
    /* In place (dx = dy), the executor's usual form. */
    cly_buf inplace = ot_upload(ctx, r, count, 4);
    ck_assert_int_eq(cly_relu_backward(ctx, count, p.by, inplace, inplace, 0.0f), CLY_SUCCESS);
    ot_download(ctx, inplace, y, count, 4);
    ot_check_exact(y, got, count, "relu backward in place");
    ot_free(inplace);
    if (fd) {
        /* Piecewise linear away from 0: the difference is exact up to the
         * rounding of x +- h; 1e-5 relative. */
        gc_spec spec = {.what = what, .in = p.x, .nin = count, .analytic = got, .r = r, .ny = count,
                        .fwd = relu_fwd, .user = &p, .skip = relu_skip, .h = 1e-2, .tol = 1e-5, .floor = 1e-2,
                        .max_points = 64};
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

START_TEST(relu_backward)
{
    cly_context *ctx = ot_context();
    const int64_t counts[] = {1, 7, 64, 65, 1000, 100003};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
        run_relu(ctx, counts[i], counts[i] <= 1000);
    cly_context_destroy(ctx);
}
END_TEST

START_TEST(relu_backward_refusals)
{
    cly_context *ctx = ot_context();
    cly_buf b = ot_alloc(ctx, 64, 4), y = {b.mem, b.offset}, dy = {b.mem, b.offset + 16};
    ck_assert_int_eq(cly_relu_backward(ctx, 16, y, dy, (cly_buf){b.mem, b.offset + 17}, 0.0f),
                     CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_relu_backward(ctx, 16, y, dy, (cly_buf){b.mem, b.offset + 8}, 0.0f),
                     CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_relu_backward(ctx, 16, y, dy, (cly_buf){b.mem, b.offset + 32}, 0.0f), CLY_SUCCESS);
    ck_assert_int_eq(cly_context_finish(ctx), CLY_SUCCESS);
    ot_free(b);
    cly_context_destroy(ctx);
}
END_TEST

/* ---- addition: each input's gradient is dy, summed into what is there */

typedef struct add_run {
    cly_context *ctx;
    int64_t count;
    float *a, *b, *which; /* which: the input the finite differences perturb */
    cly_buf ba, bb, by, bdy;
} add_run;

static void acc_bwd(void *user, cly_context *ctx, const cly_buf *outs, float beta)
{
    add_run *p = user;
    ck_assert_msg(cly_grad_accumulate(ctx, p->count, p->bdy, outs[0], beta) == CLY_SUCCESS, "%s",
                  cly_last_error(ctx));
}

static void add_fwd(void *user, float *y)
{
    add_run *p = user;
    gc_write(p->ctx, p->ba, p->a, p->count);
    gc_write(p->ctx, p->bb, p->b, p->count);
    ck_assert_msg(cly_add_forward(p->ctx, p->count, p->ba, p->bb, p->by) == CLY_SUCCESS, "%s",
                  cly_last_error(p->ctx));
    ot_download(p->ctx, p->by, y, p->count, 4);
}

static void run_add(cly_context *ctx, int64_t count, bool fd)
{
    add_run p = {.ctx = ctx, .count = count};
    p.a = gc_malloc((size_t)count * 4);
    p.b = gc_malloc((size_t)count * 4);
    float *r = gc_malloc((size_t)count * 4), *got;
    double *want = gc_malloc((size_t)count * 8);
    ot_fill_real(p.a, count, 31, -2.0, 2.0);
    ot_fill_real(p.b, count, 32, -2.0, 2.0);
    ot_fill_real(r, count, 33, -1.0, 1.0);
    p.ba = ot_upload(ctx, p.a, count, 4);
    p.bb = ot_upload(ctx, p.b, count, 4);
    p.by = ot_alloc(ctx, count, 4);
    p.bdy = ot_upload(ctx, r, count, 4);
    char what[64];
    snprintf(what, sizeof what, "grad_accumulate, %lld elements", (long long)count);
    gc_run_backward(ctx, what, acc_bwd, &p, 1, &count, &got);
    for (int64_t i = 0; i < count; i++)
        want[i] = r[i];
    ot_check_rel(got, want, count, 0.0, 1.0, what);
    if (fd) {
        /* y = a + b: d/da = d/db = 1, so both inputs' gradients are the
         * accumulate's dy. Float addition rounds (x + h) + b to within an
         * ulp of |y| <= 4 (5e-7) over 2h = 0.02: 2.5e-5 worst case. */
        float *inputs[2] = {p.a, p.b};
        for (int k = 0; k < 2; k++) {
            gc_spec spec = {.what = k ? "add backward, input b" : "add backward, input a", .in = inputs[k],
                            .nin = count, .analytic = got, .r = r, .ny = count, .fwd = add_fwd, .user = &p,
                            .h = 1e-2, .tol = 1e-4, .floor = 1.0, .max_points = 32};
            gc_check(&spec);
        }
    }
    ot_free(p.ba);
    ot_free(p.bb);
    ot_free(p.by);
    ot_free(p.bdy);
    free(p.a);
    free(p.b);
    free(r);
    free(want);
    free(got);
}

START_TEST(grad_accumulate)
{
    cly_context *ctx = ot_context();
    const int64_t counts[] = {1, 63, 129, 4097, 1 << 20};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
        run_add(ctx, counts[i], counts[i] <= 4097);
    /* Partial overlap is refused; coinciding is a no-op copy onto itself. */
    cly_buf b = ot_alloc(ctx, 32, 4);
    ck_assert_int_eq(cly_grad_accumulate(ctx, 16, b, (cly_buf){b.mem, b.offset + 3}, 1.0f),
                     CLY_ERROR_INVALID_ARGUMENT);
    ot_free(b);
    cly_context_destroy(ctx);
}
END_TEST

/* ---- concat: each input's gradient is its channel slice of dy */

typedef struct concat_run {
    cly_context *ctx;
    int64_t n, hw, ct;
    const int64_t *cs;
    int k, part; /* part: the input under test */
    float **xs;
    cly_buf *bxs, by, bdy;
} concat_run;

static int64_t offset_of(const concat_run *p, int part)
{
    int64_t off = 0;
    for (int i = 0; i < part; i++)
        off += p->cs[i];
    return off;
}

static void concat_bwd(void *user, cly_context *ctx, const cly_buf *outs, float beta)
{
    concat_run *p = user;
    cly_status s = cly_concat_backward(ctx, p->n, p->cs[p->part], p->hw, p->ct, offset_of(p, p->part), p->bdy, outs[0],
                                       beta);
    ck_assert_msg(s == CLY_SUCCESS, "%s", cly_last_error(ctx));
}

static void concat_fwd(void *user, float *y)
{
    concat_run *p = user;
    for (int i = 0; i < p->k; i++) {
        gc_write(p->ctx, p->bxs[i], p->xs[i], p->n * p->cs[i] * p->hw);
        cly_status s = cly_concat_forward(p->ctx, p->n, p->cs[i], p->hw, p->ct, offset_of(p, i), p->bxs[i], p->by);
        ck_assert_msg(s == CLY_SUCCESS, "%s", cly_last_error(p->ctx));
    }
    ot_download(p->ctx, p->by, y, p->n * p->ct * p->hw, 4);
}

static void run_concat(cly_context *ctx, int64_t n, int64_t hw, const int64_t *cs, int k, bool fd)
{
    concat_run p = {.ctx = ctx, .n = n, .hw = hw, .cs = cs, .k = k};
    for (int i = 0; i < k; i++)
        p.ct += cs[i];
    int64_t ny = n * p.ct * hw;
    float *xs[8], *r = gc_malloc((size_t)ny * 4);
    cly_buf bxs[8];
    ck_assert_int_le(k, 8);
    for (int i = 0; i < k; i++) {
        xs[i] = gc_malloc((size_t)(n * cs[i] * hw) * 4);
        ot_fill_real(xs[i], n * cs[i] * hw, 40 + (unsigned)i, -1.0, 1.0);
        bxs[i] = ot_upload(ctx, xs[i], n * cs[i] * hw, 4);
    }
    p.xs = xs;
    p.bxs = bxs;
    ot_fill_real(r, ny, 49, -1.0, 1.0);
    p.by = ot_alloc(ctx, ny, 4);
    p.bdy = ot_upload(ctx, r, ny, 4);
    for (p.part = 0; p.part < k; p.part++) {
        int64_t cnt = n * cs[p.part] * hw, off = offset_of(&p, p.part);
        float *got;
        double *want = gc_malloc((size_t)cnt * 8);
        char what[96];
        snprintf(what, sizeof what, "concat backward, input %d of %d (%lld channels at %lld of %lld)", p.part, k,
                 (long long)cs[p.part], (long long)off, (long long)p.ct);
        gc_run_backward(ctx, what, concat_bwd, &p, 1, &cnt, &got);
        for (int64_t s = 0; s < n; s++)
            for (int64_t c = 0; c < cs[p.part]; c++)
                for (int64_t q = 0; q < hw; q++)
                    want[(s * cs[p.part] + c) * hw + q] = r[(s * p.ct + off + c) * hw + q];
        ot_check_rel(got, want, cnt, 0.0, 1.0, what); /* a copy: exact */
        if (fd) {
            /* A copy: the difference is exactly r up to the rounding of x +- h. */
            gc_spec spec = {.what = what, .in = xs[p.part], .nin = cnt, .analytic = got, .r = r, .ny = ny,
                            .fwd = concat_fwd, .user = &p, .h = 1e-2, .tol = 1e-5, .floor = 1e-2, .max_points = 24};
            gc_check(&spec);
        }
        free(want);
        free(got);
    }
    for (int i = 0; i < k; i++) {
        ot_free(bxs[i]);
        free(xs[i]);
    }
    ot_free(p.by);
    ot_free(p.bdy);
    free(r);
}

START_TEST(concat_backward)
{
    cly_context *ctx = ot_context();
    const int64_t three[] = {3, 1, 5};
    run_concat(ctx, 2, 7 * 5, three, 3, true);
    run_concat(ctx, 3, 1, three, 3, true);
    const int64_t inception[] = {64, 128, 32, 32};
    run_concat(ctx, 2, 7 * 7, inception, 4, false);
    const int64_t one[] = {4};
    run_concat(ctx, 1, 13, one, 1, true);
    cly_context_destroy(ctx);
}
END_TEST

/* One sample whose dx is its own slice of dy (an in-place concat plan): the
 * copy onto itself, with beta = 1 doubling it. Any other overlap is refused. */
START_TEST(concat_backward_aliasing)
{
    cly_context *ctx = ot_context();
    float d[12], got[12];
    ot_fill_real(d, 12, 50, -1.0, 1.0);
    cly_buf dy = ot_upload(ctx, d, 12, 4), slice = {dy.mem, dy.offset + 4};
    ck_assert_int_eq(cly_concat_backward(ctx, 1, 2, 2, 6, 2, dy, slice, 1.0f), CLY_SUCCESS);
    ot_download(ctx, dy, got, 12, 4);
    for (int i = 0; i < 12; i++)
        ck_assert_float_eq(got[i], i >= 4 && i < 8 ? d[i] + d[i] : d[i]);
    ck_assert_int_eq(cly_concat_backward(ctx, 2, 1, 2, 3, 1, dy, (cly_buf){dy.mem, dy.offset + 2}, 0.0f),
                     CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_concat_backward(ctx, 1, 2, 2, 6, 2, dy, (cly_buf){dy.mem, dy.offset + 5}, 0.0f),
                     CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_concat_backward(ctx, 1, 2, 2, 6, 5, dy, slice, 0.0f), CLY_ERROR_INVALID_ARGUMENT);
    ot_free(dy);
    cly_context_destroy(ctx);
}
END_TEST

/* ---- dropout */

/* The kernel's hash, restated from cl/dropout.cl. */
static uint32_t mix32(uint32_t h)
{
    h ^= h >> 16;
    h *= 0x7feb352du;
    h ^= h >> 15;
    h *= 0x846ca68bu;
    h ^= h >> 16;
    return h;
}

static bool kept(uint64_t seed, uint64_t i, double p)
{
    uint32_t h = mix32((uint32_t)seed ^ 0x9e3779b9u);
    h = mix32(h ^ (uint32_t)(seed >> 32));
    h = mix32(h ^ (uint32_t)i);
    h = mix32(h ^ (uint32_t)(i >> 32));
    return (double)h >= p * 4294967296.0;
}

typedef struct drop_run {
    cly_context *ctx;
    int64_t count;
    double p;
    uint64_t seed;
    float *x;
    cly_buf bx, by, bdy;
} drop_run;

static void drop_bwd(void *user, cly_context *ctx, const cly_buf *outs, float beta)
{
    drop_run *d = user;
    ck_assert_msg(cly_dropout_backward(ctx, d->count, d->p, d->seed, d->bdy, outs[0], beta) == CLY_SUCCESS, "%s",
                  cly_last_error(ctx));
}

static void drop_fwd(void *user, float *y)
{
    drop_run *d = user;
    gc_write(d->ctx, d->bx, d->x, d->count);
    ck_assert_msg(cly_dropout_forward(d->ctx, d->count, d->p, d->seed, d->bx, d->by) == CLY_SUCCESS, "%s",
                  cly_last_error(d->ctx));
    ot_download(d->ctx, d->by, y, d->count, 4);
}

static void run_dropout(cly_context *ctx, int64_t count, double p, uint64_t seed, bool fd)
{
    drop_run d = {.ctx = ctx, .count = count, .p = p, .seed = seed};
    d.x = gc_malloc((size_t)count * 4);
    float *r = gc_malloc((size_t)count * 4), *y = gc_malloc((size_t)count * 4), *got;
    double *want = gc_malloc((size_t)count * 8);
    ot_fill_real(d.x, count, 61, -2.0, 2.0);
    ot_fill_real(r, count, 62, -1.0, 1.0);
    d.bx = ot_upload(ctx, d.x, count, 4);
    d.by = ot_alloc(ctx, count, 4);
    d.bdy = ot_upload(ctx, r, count, 4);
    char what[96];
    snprintf(what, sizeof what, "dropout p = %g seed %llu, %lld elements", p, (unsigned long long)seed,
             (long long)count);
    /* Forward: the mask of the restated hash, the scale 1/(1 - p) as a
     * float, exactly; and the kept fraction near 1 - p. */
    drop_fwd(&d, y);
    const float scale = (float)(1.0 / (1.0 - p));
    int64_t nkept = 0;
    for (int64_t i = 0; i < count; i++) {
        bool k = kept(seed, (uint64_t)i, p);
        nkept += k;
        float w = k ? d.x[i] * scale : 0.0f;
        ck_assert_msg(y[i] == w, "%s: y[%lld] = %.9g, expected %.9g", what, (long long)i, y[i], w);
        want[i] = k ? (double)(r[i] * scale) : 0.0;
    }
    /* Binomial(count, 1 - p): 6 standard deviations (+1 for tiny counts). */
    double mean = (1.0 - p) * (double)count, sd = sqrt((double)count * p * (1.0 - p));
    ck_assert_msg(fabs((double)nkept - mean) <= 6.0 * sd + 1.0, "%s: kept %lld, expected about %.0f", what,
                  (long long)nkept, mean);
    /* Backward: the same mask, recomputed. */
    gc_run_backward(ctx, what, drop_bwd, &d, 1, &count, &got);
    ot_check_rel(got, want, count, 0.0, 1.0, what);
    if (fd) {
        /* Linear for a fixed seed: exact up to the rounding of x +- h and
         * of the product with the scale. */
        gc_spec spec = {.what = what, .in = d.x, .nin = count, .analytic = got, .r = r, .ny = count,
                        .fwd = drop_fwd, .user = &d, .h = 1e-2, .tol = 1e-4, .floor = 1e-2, .max_points = 64};
        gc_check(&spec);
    }
    ot_free(d.bx);
    ot_free(d.by);
    ot_free(d.bdy);
    free(d.x);
    free(r);
    free(y);
    free(want);
    free(got);
}

START_TEST(dropout_forward_backward)
{
    cly_context *ctx = ot_context();
    run_dropout(ctx, 1000, 0.5, 1, true);
    run_dropout(ctx, 100003, 0.5, 0x123456789abcdefull, false);
    run_dropout(ctx, 4096, 0.1, 7, true);
    run_dropout(ctx, 4096, 0.9, 7, false);
    run_dropout(ctx, 257, 0.0, 99, true); /* keeps everything, scale 1 */
    cly_context_destroy(ctx);
}
END_TEST

/* Seeds matter, the mask is the same on every call, and in place works. */
START_TEST(dropout_seeds_and_in_place)
{
    cly_context *ctx = ot_context();
    enum { N = 4096 };
    float *x = gc_malloc(N * 4), *a = gc_malloc(N * 4), *b = gc_malloc(N * 4);
    for (int i = 0; i < N; i++)
        x[i] = 1.0f;
    cly_buf bx = ot_upload(ctx, x, N, 4), by = ot_alloc(ctx, N, 4);
    ck_assert_int_eq(cly_dropout_forward(ctx, N, 0.5, 42, bx, by), CLY_SUCCESS);
    ot_download(ctx, by, a, N, 4);
    ck_assert_int_eq(cly_dropout_forward(ctx, N, 0.5, 43, bx, by), CLY_SUCCESS);
    ot_download(ctx, by, b, N, 4);
    int differ = 0;
    for (int i = 0; i < N; i++)
        differ += a[i] != b[i];
    /* Independent masks disagree on half the elements. */
    ck_assert_msg(differ > N / 2 - 300 && differ < N / 2 + 300, "seeds 42 and 43 differ at %d of %d", differ, N);
    /* In place, seed 42 again: the first mask. */
    ck_assert_int_eq(cly_dropout_forward(ctx, N, 0.5, 42, bx, bx), CLY_SUCCESS);
    ot_download(ctx, bx, b, N, 4);
    ck_assert_int_eq(memcmp(a, b, N * 4), 0);
    /* Bad probabilities. */
    ck_assert_int_eq(cly_dropout_forward(ctx, N, 1.0, 42, bx, by), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_dropout_backward(ctx, N, -0.1, 42, bx, by, 0.0f), CLY_ERROR_INVALID_ARGUMENT);
    ot_free(bx);
    ot_free(by);
    free(x);
    free(a);
    free(b);
    cly_context_destroy(ctx);
}
END_TEST

START_TEST(small_all_kernels)
{
    cly_context *ctx = ot_context();
    run_relu(ctx, 70, false);
    run_add(ctx, 70, false);
    const int64_t three[] = {2, 1, 3};
    run_concat(ctx, 2, 5, three, 3, false);
    run_dropout(ctx, 130, 0.5, 5, false);
    cly_context_destroy(ctx);
}
END_TEST

static Suite *unit_suite(void)
{
    Suite *s = suite_create("eltwise-backward");
    TCase *tc = ot_tcase("backward");
    tcase_add_test(tc, relu_backward);
    tcase_add_test(tc, relu_backward_refusals);
    tcase_add_test(tc, grad_accumulate);
    tcase_add_test(tc, concat_backward);
    tcase_add_test(tc, concat_backward_aliasing);
    tcase_add_test(tc, dropout_forward_backward);
    tcase_add_test(tc, dropout_seeds_and_in_place);
    suite_add_tcase(s, tc);
    return s;
}

static Suite *small_suite(void)
{
    Suite *s = suite_create("eltwise-backward-oclgrind");
    TCase *tc = ot_tcase("small");
    tcase_add_test(tc, small_all_kernels);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    return ot_main(argc, argv, unit_suite, small_suite);
}
