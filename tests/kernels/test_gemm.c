/* clayer's own GEMM (kernels/gemm.c: cl/gemm.cl and cl/gemm_nt.cl) through
 * cly_gemm and cly_gemm_strided on a context with CLY_GEMM_BUILTIN, against
 * a naive reference in double: all four transposes, edge tiles, k = 0 and
 * 1, m or n = 1, padded leading dimensions, buffer offsets, strided
 * batches, alpha and beta, float and double contexts. Every element of C's
 * array is checked, the padding between rows and batches too (it must keep
 * its value), and beta = 0 must not read C (filled with NaN there). Then
 * the choice itself: $CLAYER_GEMM and cly_context_options.gemm, bad values
 * refused, binary-only forcing the builtin one. */
#include "ops_test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct gemm_case {
    bool ta, tb;
    int64_t m, n, k;
    int64_t pad;     /* extra elements per row of A, B and C */
    int64_t batches; /* > 1: cly_gemm_strided, batch strides with `pad` elements
                        more */
    double alpha, beta;
    int64_t off; /* elements before each matrix in its buffer */
} gemm_case;

static cly_context *gemm_context(cly_precision precision)
{
    cly_context_options o = {.struct_size = sizeof o, .precision = precision, .gemm = CLY_GEMM_BUILTIN};
    cly_context *ctx = NULL;
    cly_status s = cly_context_create_ex(&o, &ctx);
    ck_assert_msg(s == CLY_SUCCESS, "cly_context_create_ex: %s", cly_last_error(NULL));
    ck_assert_int_eq(cly_context_gemm(ctx), CLY_GEMM_BUILTIN);
    return ctx;
}

/* Host values as the context's elements (4 or 8 bytes). */
static void *as_elems(const double *v, int64_t n, size_t elem)
{
    void *out = malloc((size_t)n * elem);
    for (int64_t i = 0; i < n; i++) {
        if (elem == 4)
            ((float *)out)[i] = (float)v[i];
        else
            ((double *)out)[i] = v[i];
    }
    return out;
}

static double elem_at(const void *p, int64_t i, size_t elem)
{
    return elem == 4 ? (double)((const float *)p)[i] : ((const double *)p)[i];
}

static void fill(double *v, int64_t n, unsigned seed, bool integers)
{
    float *f = malloc((size_t)n * sizeof *f);
    if (integers)
        ot_fill_int(f, n, seed, -3, 3);
    else
        ot_fill_real(f, n, seed, -1.0, 1.0);
    for (int64_t i = 0; i < n; i++)
        v[i] = f[i];
    free(f);
}

/* tol < 0: exact (integer fills, alpha and beta small integers). */
static void check_gemm(cly_context *ctx, gemm_case g, double tol, unsigned seed)
{
    const size_t elem = cly_context_precision(ctx) == CLY_PRECISION_FLOAT64 ? 8 : 4;
    /* Stored shapes: A is m x k (k x m transposed), B k x n (n x k). */
    const int64_t a_rows = g.ta ? g.k : g.m, a_cols = g.ta ? g.m : g.k;
    const int64_t b_rows = g.tb ? g.n : g.k, b_cols = g.tb ? g.k : g.n;
    const int64_t lda = a_cols + g.pad, ldb = b_cols + g.pad, ldc = g.n + g.pad;
    const int64_t sa = a_rows * lda + g.pad, sb = b_rows * ldb + g.pad, sc = g.m * ldc + g.pad;
    const int64_t na = g.off + g.batches * sa + 1, nb = g.off + g.batches * sb + 1, nc = g.off + g.batches * sc;
    double *a = malloc((size_t)na * 8), *b = malloc((size_t)nb * 8), *c = malloc((size_t)nc * 8);
    double *want = malloc((size_t)nc * 8), *mag = malloc((size_t)nc * 8);
    fill(a, na, seed, tol < 0);
    fill(b, nb, seed + 1, tol < 0);
    fill(c, nc, seed + 2, tol < 0);
    for (int64_t i = 0; i < nc; i++) {
        want[i] = c[i];
        mag[i] = 0.0;
    }
    /* C(m, n) = alpha * sum_k op(A)(m, k) op(B)(k, n) + beta * C(m, n) */
    for (int64_t q = 0; q < g.batches; q++)
        for (int64_t i = 0; i < g.m; i++)
            for (int64_t j = 0; j < g.n; j++) {
                double s = 0.0, m = 0.0;
                for (int64_t p = 0; p < g.k; p++) {
                    double x = a[g.off + q * sa + (g.ta ? p * lda + i : i * lda + p)];
                    double y = b[g.off + q * sb + (g.tb ? j * ldb + p : p * ldb + j)];
                    s += x * y;
                    m += fabs(x * y);
                }
                const int64_t at = g.off + q * sc + i * ldc + j;
                want[at] = g.alpha * s + (g.beta != 0.0 ? g.beta * c[at] : 0.0);
                mag[at] = fabs(g.alpha) * m + fabs(g.beta * c[at]);
                if (g.beta == 0.0)
                    c[at] = NAN; /* must not be read */
            }
    void *ha = as_elems(a, na, elem), *hb = as_elems(b, nb, elem), *hc = as_elems(c, nc, elem);
    cly_buf da = ot_upload(ctx, ha, na, elem), db = ot_upload(ctx, hb, nb, elem), dc = ot_upload(ctx, hc, nc, elem);
    const cly_buf pa = {da.mem, da.offset + g.off}, pb = {db.mem, db.offset + g.off},
                  pc = {dc.mem, dc.offset + g.off};
    cly_status st = g.batches == 1 ? cly_gemm(ctx, g.ta, g.tb, g.m, g.n, g.k, (float)g.alpha, pa, lda, pb, ldb,
                                              (float)g.beta, pc, ldc)
                                   : cly_gemm_strided(ctx, g.ta, g.tb, g.m, g.n, g.k, (float)g.alpha, pa, lda, sa,
                                                      pb, ldb, sb, (float)g.beta, pc, ldc, sc, g.batches);
    ck_assert_msg(st == CLY_SUCCESS, "%s", cly_last_error(ctx));
    ot_download(ctx, dc, hc, nc, elem);
    const double rtol = tol < 0 ? 0.0 : elem == 4 ? tol : 1e-13;
    for (int64_t i = 0; i < nc; i++) {
        const double got = elem_at(hc, i, elem);
        ck_assert_msg(fabs(got - want[i]) <= rtol * mag[i] + (tol < 0 ? 0.0 : 1e-30),
                      "gemm %s%s m=%lld n=%lld k=%lld pad=%lld batches=%lld "
                      "alpha=%g beta=%g off=%lld (%s): "
                      "element %lld of C's array is %.9g, expected %.9g",
                      g.ta ? "T" : "N", g.tb ? "T" : "N", (long long)g.m, (long long)g.n, (long long)g.k,
                      (long long)g.pad, (long long)g.batches, g.alpha, g.beta, (long long)g.off,
                      elem == 4 ? "float" : "double", (long long)i, got, want[i]);
    }
    ot_free(da);
    ot_free(db);
    ot_free(dc);
    free(ha);
    free(hb);
    free(hc);
    free(a);
    free(b);
    free(c);
    free(want);
    free(mag);
}

/* m, n, k around the tiles (gemm_vn 6 rows x 2 vectors of up to 16
 * columns; gemm_nt 4 x 4 with 16-wide k steps; A^T B^T swaps m and n): 1,
 * below, at and past each edge. */
static const int64_t SHAPES[][3] = {
    {1, 1, 1},   {1, 1, 0},   {3, 5, 0},    {1, 33, 7},  {33, 1, 7},    {2, 3, 1},     {4, 32, 16},
    {5, 33, 17}, {7, 31, 15}, {16, 64, 64}, {17, 65, 3}, {31, 100, 47}, {64, 17, 129}, {9, 129, 33},
    {6, 32, 5},  {12, 64, 2}, {13, 47, 9},
};
enum { SHAPE_COUNT = sizeof SHAPES / sizeof SHAPES[0] };

static gemm_case shape_case(int i)
{
    const int t = i % 4, s = i / 4;
    static const double alphas[] = {1.0, 0.5, -2.0}, betas[] = {0.0, 1.0, -0.75};
    return (gemm_case){.ta = t & 1,
                       .tb = t >> 1,
                       .m = SHAPES[s][0],
                       .n = SHAPES[s][1],
                       .k = SHAPES[s][2],
                       .pad = s % 3,
                       .batches = s % 4 == 3 ? 3 : 1,
                       .alpha = alphas[s % 3],
                       .beta = betas[(s + t) % 3],
                       .off = s % 5};
}

START_TEST(gemm_shapes)
{
    cly_context *ctx = gemm_context(CLY_PRECISION_FLOAT32);
    check_gemm(ctx, shape_case(_i), 1e-5, (unsigned)_i);
    cly_context_destroy(ctx);
}
END_TEST

START_TEST(gemm_shapes_double)
{
    cly_context *ctx = gemm_context(CLY_PRECISION_FLOAT64);
    check_gemm(ctx, shape_case(_i), 1e-13, (unsigned)_i);
    cly_context_destroy(ctx);
}
END_TEST

/* Small integers: exact in any summation order. Larger and batched shapes,
 * the sizes im2col and the fully-connected layers give. */
START_TEST(gemm_exact)
{
    cly_context *ctx = gemm_context(CLY_PRECISION_FLOAT32);
    for (int t = 0; t < 4; t++) {
        check_gemm(ctx, (gemm_case){t & 1, t >> 1, 64, 196, 147, 0, 2, 1.0, 0.0, 0}, -1.0, (unsigned)t);
        check_gemm(ctx, (gemm_case){t & 1, t >> 1, 37, 53, 300, 3, 1, 2.0, -1.0, 5}, -1.0, (unsigned)t + 9);
    }
    cly_context_destroy(ctx);
}
END_TEST

START_TEST(gemm_large)
{
    cly_context *ctx = gemm_context(CLY_PRECISION_FLOAT32);
    check_gemm(ctx, (gemm_case){false, false, 192, 784, 576, 0, 1, 1.0, 0.0, 0}, 1e-5, 1);
    check_gemm(ctx, (gemm_case){true, false, 300, 257, 515, 1, 1, 1.0, 1.0, 0}, 1e-5, 2);
    check_gemm(ctx, (gemm_case){false, true, 130, 1000, 4099, 0, 1, 1.0, 0.0, 3}, 1e-5, 3);
    check_gemm(ctx, (gemm_case){true, true, 200, 150, 250, 2, 2, -1.0, 0.5, 0}, 1e-5, 4);
    /* B over 2 MiB: row tiles first (kernels/gemm.c), edges in both. */
    check_gemm(ctx, (gemm_case){false, false, 20, 1100, 600, 1, 1, 1.0, 0.0, 2}, 1e-5, 5);
    check_gemm(ctx, (gemm_case){true, false, 13, 701, 1000, 0, 2, 0.5, 1.0, 0}, 1e-5, 6);
    check_gemm(ctx, (gemm_case){true, true, 1030, 7, 600, 0, 1, 1.0, 0.0, 0}, 1e-5, 7);
    cly_context_destroy(ctx);
}
END_TEST

static cly_status create_with(const char *env, cly_gemm_impl impl, bool no_compiler, cly_gemm_impl *got)
{
    if (env)
        setenv("CLAYER_GEMM", env, 1);
    else
        unsetenv("CLAYER_GEMM");
    cly_context_options o = {.struct_size = sizeof o, .gemm = impl, .no_compiler = no_compiler};
    cly_context *ctx = NULL;
    cly_status s = cly_context_create_ex(&o, &ctx);
    *got = s == CLY_SUCCESS ? cly_context_gemm(ctx) : (cly_gemm_impl)-1;
    cly_context_destroy(ctx);
    unsetenv("CLAYER_GEMM");
    return s;
}

START_TEST(gemm_choice)
{
    cly_gemm_impl got;
    ck_assert_int_eq(create_with(NULL, CLY_GEMM_DEFAULT, false, &got), CLY_SUCCESS);
    ck_assert_int_eq(got, CLY_GEMM_CLBLAST);
    ck_assert_int_eq(create_with("builtin", CLY_GEMM_DEFAULT, false, &got), CLY_SUCCESS);
    ck_assert_int_eq(got, CLY_GEMM_BUILTIN);
    ck_assert_int_eq(create_with("clblast", CLY_GEMM_DEFAULT, false, &got), CLY_SUCCESS);
    ck_assert_int_eq(got, CLY_GEMM_CLBLAST);
    /* The option wins over the variable. */
    ck_assert_int_eq(create_with("builtin", CLY_GEMM_CLBLAST, false, &got), CLY_SUCCESS);
    ck_assert_int_eq(got, CLY_GEMM_CLBLAST);
    /* Binary-only: CLBlast cannot run, whatever was asked. */
    ck_assert_int_eq(create_with("clblast", CLY_GEMM_CLBLAST, true, &got), CLY_SUCCESS);
    ck_assert_int_eq(got, CLY_GEMM_BUILTIN);
    cly_status s = create_with("BLAS", CLY_GEMM_DEFAULT, false, &got);
    ck_assert_int_eq(s, CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_msg(strstr(cly_last_error(NULL), "$CLAYER_GEMM is 'BLAS'"), "%s", cly_last_error(NULL));
    s = create_with(NULL, (cly_gemm_impl)7, false, &got);
    ck_assert_int_eq(s, CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_msg(strstr(cly_last_error(NULL), "gemm 7 is not a cly_gemm_impl"), "%s", cly_last_error(NULL));
    ck_assert_int_eq(cly_context_gemm(NULL), CLY_GEMM_CLBLAST);
}
END_TEST

/* Under oclgrind: each kernel and transpose once, edge tiles included. */
START_TEST(small_gemm)
{
    cly_context *ctx = gemm_context(CLY_PRECISION_FLOAT32);
    for (int t = 0; t < 4; t++) {
        check_gemm(ctx, (gemm_case){t & 1, t >> 1, 5, 7, 3, 1, 2, 0.5, 1.0, 2}, 1e-5, (unsigned)t);
        check_gemm(ctx, (gemm_case){t & 1, t >> 1, 3, 2, 0, 0, 1, 1.0, 0.0, 0}, 1e-5, (unsigned)t + 4);
    }
    cly_context_destroy(ctx);
}
END_TEST

static Suite *unit_suite(void)
{
    Suite *s = suite_create("gemm");
    TCase *tc = ot_tcase("builtin");
    tcase_add_loop_test(tc, gemm_shapes, 0, 4 * SHAPE_COUNT);
    tcase_add_loop_test(tc, gemm_shapes_double, 0, 4 * SHAPE_COUNT);
    tcase_add_test(tc, gemm_exact);
    tcase_add_test(tc, gemm_large);
    tcase_add_test(tc, gemm_choice);
    suite_add_tcase(s, tc);
    return s;
}

static Suite *small_suite(void)
{
    Suite *s = suite_create("gemm-oclgrind");
    TCase *tc = ot_tcase("small");
    tcase_add_test(tc, small_gemm);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    return ot_main(argc, argv, unit_suite, small_suite);
}
