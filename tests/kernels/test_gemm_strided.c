/* cly_gemm_strided (runtime/blas.c) against a naive host GEMM, small-integer
 * fills so every sum is exact in float32. C starts as NaN with beta 0, so a
 * GEMM that leaves C unwritten (CLBlast 1.5's strided-batched SGEMM did, at
 * success, for the col2im shape of ResNet-18's 256-channel 3x3 layer at
 * batch 8, with B behind C in one workspace as col2im places them; with B
 * in a buffer of its own it computed C) fails here instead of in a gradient
 * far downstream. */
#include "runtime/blas.h"
#include "runtime/runtime.h"
#include "test_util.h"

#include <math.h>
#include <stdlib.h>

typedef struct gemm_case {
    bool ta, tb;
    int64_t m, n, k, batches;
    int64_t stride; /* check every stride-th element of C; 1: all */
} gemm_case;

static const gemm_case cases[] = {
    {false, false, 5, 7, 4, 3, 1},
    {true, false, 5, 7, 4, 3, 1},
    {false, true, 6, 3, 9, 2, 1},
    {true, true, 4, 4, 5, 2, 1},
    {true, false, 2304, 1568, 256, 1, 97}, /* col2im of mb8ic256ih14oc256oh14kh3ph1 */
};

static float small_int(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((int)((*s >> 33) % 5) - 2);
}

START_TEST(gemm_strided_exact)
{
    const gemm_case *t = &cases[_i];
    const int64_t sa = t->m * t->k, sb = t->k * t->n, sc = t->m * t->n;
    const int64_t na = sa * t->batches, nb = sb * t->batches, nc = sc * t->batches;
    float *a = malloc((size_t)na * sizeof *a), *b = malloc((size_t)nb * sizeof *b);
    float *c = malloc((size_t)nc * sizeof *c);
    ck_assert(a && b && c);
    uint64_t seed = 11 + (uint64_t)_i;
    for (int64_t i = 0; i < na; i++)
        a[i] = small_int(&seed);
    for (int64_t i = 0; i < nb; i++)
        b[i] = small_int(&seed);
    for (int64_t i = 0; i < nc; i++)
        c[i] = NAN;
    cly_context *ctx = cly_test_context();
    /* As col2im lays them out: C, then B, in one workspace; A on its own. */
    cly_tensor *ta, *tw;
    ck_assert_int_eq(cly_tensor_create(ctx, (cly_shape){1, 1, 1, na}, &ta), CLY_SUCCESS);
    ck_assert_int_eq(cly_tensor_create(ctx, (cly_shape){1, 1, 1, nc + nb}, &tw), CLY_SUCCESS);
    ck_assert_int_eq(cly_tensor_write(ta, a, na), CLY_SUCCESS);
    ck_assert_int_eq(cly_write_reals(ctx, tw->buffer, tw->offset, c, sizeof *c, nc, "test"), CLY_SUCCESS);
    const cly_buf bc = {tw->buffer, tw->offset}, bb = {tw->buffer, tw->offset + nc};
    ck_assert_int_eq(cly_write_reals(ctx, bb.mem, bb.offset, b, sizeof *b, nb, "test"), CLY_SUCCESS);
    /* Row-major: A is m x k (k x m transposed), B k x n (n x k transposed). */
    const int64_t lda = t->ta ? t->m : t->k, ldb = t->tb ? t->k : t->n;
    const cly_status s = cly_gemm_strided(ctx, t->ta, t->tb, t->m, t->n, t->k, 1.0f, (cly_buf){ta->buffer, ta->offset},
                                          lda, sa, bb, ldb, sb, 0.0f, bc, t->n, sc, t->batches);
    ck_assert_msg(s == CLY_SUCCESS, "%s", cly_last_error(ctx));
    ck_assert_int_eq(cly_read_reals(ctx, tw->buffer, tw->offset, c, sizeof *c, nc, "test"), CLY_SUCCESS);
    int64_t unwritten = 0;
    for (int64_t i = 0; i < nc; i++)
        unwritten += isnan(c[i]) != 0;
    ck_assert_msg(unwritten == 0, "%lld x %lld x %lld (%lld batches): %lld of %lld outputs unwritten",
                  (long long)t->m, (long long)t->n, (long long)t->k, (long long)t->batches, (long long)unwritten,
                  (long long)nc);
    for (int64_t q = 0; q < t->batches; q++)
        for (int64_t e = 0; e < sc; e += t->stride) {
            const int64_t i = e / t->n, j = e % t->n;
            double want = 0.0;
            for (int64_t p = 0; p < t->k; p++)
                want += (double)a[q * sa + (t->ta ? p * t->m + i : i * t->k + p)] *
                        b[q * sb + (t->tb ? j * t->k + p : p * t->n + j)];
            ck_assert_msg(c[q * sc + e] == (float)want, "batch %lld C[%lld][%lld] = %g, want %g", (long long)q,
                          (long long)i, (long long)j, c[q * sc + e], want);
        }
    cly_tensor_destroy(ta);
    cly_tensor_destroy(tw);
    cly_context_destroy(ctx);
    free(a);
    free(b);
    free(c);
}
END_TEST

int main(void)
{
    cly_test_require_device();
    Suite *s = suite_create("gemm");
    TCase *tc = tcase_create("strided");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, gemm_strided_exact, 0, (int)(sizeof cases / sizeof cases[0]));
    suite_add_tcase(s, tc);
    return cly_test_run(s, true);
}
