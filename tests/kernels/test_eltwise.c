/* ReLU, element-wise addition and channel concatenation against naive
 * references. All three are exact in float, so every comparison is exact. */
#include "ops_test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void check_relu(cly_context *ctx, int64_t count, bool in_place, unsigned seed)
{
    float *x = malloc((size_t)count * 4), *y = malloc((size_t)count * 4), *want = malloc((size_t)count * 4);
    ot_fill_real(x, count, seed, -3.0, 3.0);
    if (count > 2)
        x[count / 2] = NAN; /* passes through, as in PyTorch */
    for (int64_t i = 0; i < count; i++)
        want[i] = x[i] < 0.0f ? 0.0f : x[i];
    cly_buf bx = ot_upload(ctx, x, count, 4), by = in_place ? bx : ot_alloc(ctx, count, 4);
    ck_assert_msg(cly_relu_forward(ctx, count, bx, by) == CLY_SUCCESS, "%s", cly_last_error(ctx));
    ot_download(ctx, by, y, count, 4);
    ot_check_exact(y, want, count, in_place ? "relu in place" : "relu");
    if (!in_place) { /* the input is untouched */
        ot_download(ctx, bx, y, count, 4);
        ot_check_exact(y, x, count, "relu input");
        ot_free(by);
    }
    ot_free(bx);
    free(x);
    free(y);
    free(want);
}

/* where: 0 = separate output, 1 = y is a, 2 = y is b. */
static void check_add(cly_context *ctx, int64_t count, int where, unsigned seed)
{
    float *a = malloc((size_t)count * 4), *b = malloc((size_t)count * 4), *y = malloc((size_t)count * 4);
    float *want = malloc((size_t)count * 4);
    ot_fill_real(a, count, seed, -5.0, 5.0);
    ot_fill_real(b, count, seed + 1, -5.0, 5.0);
    /* The double sum rounded to float is the float sum (53 >= 2*24 + 2). */
    for (int64_t i = 0; i < count; i++)
        want[i] = (float)((double)a[i] + (double)b[i]);
    cly_buf ba = ot_upload(ctx, a, count, 4), bb = ot_upload(ctx, b, count, 4);
    cly_buf by = where == 1 ? ba : where == 2 ? bb : ot_alloc(ctx, count, 4);
    ck_assert_msg(cly_add_forward(ctx, count, ba, bb, by) == CLY_SUCCESS, "%s", cly_last_error(ctx));
    ot_download(ctx, by, y, count, 4);
    ot_check_exact(y, want, count, where ? "add in place" : "add");
    if (where == 0)
        ot_free(by);
    ot_free(ba);
    ot_free(bb);
    free(a);
    free(b);
    free(y);
    free(want);
}

/* Concatenate `k` inputs of cs[i] channels each, in order, along C. */
static void check_concat(cly_context *ctx, int64_t n, int64_t hw, const int64_t *cs, int k)
{
    int64_t ct = 0;
    for (int i = 0; i < k; i++)
        ct += cs[i];
    float *y = malloc((size_t)(n * ct * hw) * 4), *want = malloc((size_t)(n * ct * hw) * 4);
    cly_buf by = ot_alloc(ctx, n * ct * hw, 4);
    int64_t off = 0;
    for (int i = 0; i < k; i++) {
        int64_t cnt = n * cs[i] * hw;
        float *x = malloc((size_t)cnt * 4);
        ot_fill_int(x, cnt, 40 + (unsigned)i, -100, 100);
        for (int64_t s = 0; s < n; s++)
            for (int64_t c = 0; c < cs[i]; c++)
                for (int64_t p = 0; p < hw; p++)
                    want[(s * ct + off + c) * hw + p] = x[(s * cs[i] + c) * hw + p];
        cly_buf bx = ot_upload(ctx, x, cnt, 4);
        ck_assert_msg(cly_concat_forward(ctx, n, cs[i], hw, ct, off, bx, by) == CLY_SUCCESS, "%s",
                      cly_last_error(ctx));
        ot_free(bx);
        free(x);
        off += cs[i];
    }
    /* Every output cell is written exactly by the reference: a cell left at
     * the sentinel (NaN) would fail the comparison. */
    ot_download(ctx, by, y, n * ct * hw, 4);
    ot_check_exact(y, want, n * ct * hw, "concat");
    ot_free(by);
    free(y);
    free(want);
}

START_TEST(relu_counts)
{
    cly_context *ctx = ot_context();
    const int64_t counts[] = {1, 2, 7, 63, 64, 65, 1000, 100003, 2 * 64 * 112 * 112};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        check_relu(ctx, counts[i], false, (unsigned)i);
        check_relu(ctx, counts[i], true, (unsigned)i + 100);
    }
    cly_context_destroy(ctx);
}
END_TEST

START_TEST(relu_partial_overlap_refused)
{
    cly_context *ctx = ot_context();
    cly_buf b = ot_alloc(ctx, 32, 4);
    cly_buf shifted = {b.mem, b.offset + 1};
    ck_assert_int_eq(cly_relu_forward(ctx, 16, b, shifted), CLY_ERROR_INVALID_ARGUMENT);
    /* Disjoint halves of one buffer are fine. */
    cly_buf upper = {b.mem, b.offset + 16};
    ck_assert_int_eq(cly_relu_forward(ctx, 16, b, upper), CLY_SUCCESS);
    ck_assert_int_eq(cly_context_finish(ctx), CLY_SUCCESS);
    ot_free(b);
    cly_context_destroy(ctx);
}
END_TEST

START_TEST(add_counts)
{
    cly_context *ctx = ot_context();
    const int64_t counts[] = {1, 3, 64, 129, 4097, 1 << 20};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
        for (int where = 0; where < 3; where++)
            check_add(ctx, counts[i], where, (unsigned)(10 * i + (size_t)where));
    cly_context_destroy(ctx);
}
END_TEST

START_TEST(concat_shapes)
{
    cly_context *ctx = ot_context();
    /* Three inputs at channel offsets 0, 3, 4 of 9 (an odd split). */
    const int64_t three[] = {3, 1, 5};
    check_concat(ctx, 2, 7 * 5, three, 3);
    /* 1x1 planes, batch 3 (a concat of FC-like outputs). */
    check_concat(ctx, 3, 1, three, 3);
    /* A GoogLeNet inception 3a output: 64 + 128 + 32 + 32 channels, 28x28
     * (on a smaller plane), batch 2. */
    const int64_t inception[] = {64, 128, 32, 32};
    check_concat(ctx, 2, 7 * 7, inception, 4);
    /* One input filling everything. */
    const int64_t one[] = {4};
    check_concat(ctx, 1, 13, one, 1);
    cly_context_destroy(ctx);
}
END_TEST

START_TEST(concat_out_of_range_refused)
{
    cly_context *ctx = ot_context();
    cly_buf b = ot_alloc(ctx, 16, 4);
    ck_assert_int_eq(cly_concat_forward(ctx, 1, 3, 2, 4, 2, b, b), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_concat_forward(ctx, 1, 3, 2, 4, -1, b, b), CLY_ERROR_INVALID_ARGUMENT);
    ot_free(b);
    cly_context_destroy(ctx);
}
END_TEST

START_TEST(small_all_kernels)
{
    cly_context *ctx = ot_context();
    check_relu(ctx, 70, false, 1);
    check_relu(ctx, 70, true, 2);
    check_add(ctx, 70, 0, 3);
    check_add(ctx, 70, 1, 4);
    check_add(ctx, 70, 2, 5);
    const int64_t three[] = {2, 1, 3};
    check_concat(ctx, 2, 5, three, 3);
    cly_context_destroy(ctx);
}
END_TEST

static Suite *unit_suite(void)
{
    Suite *s = suite_create("eltwise");
    TCase *tc = ot_tcase("forward");
    tcase_add_test(tc, relu_counts);
    tcase_add_test(tc, relu_partial_overlap_refused);
    tcase_add_test(tc, add_counts);
    tcase_add_test(tc, concat_shapes);
    tcase_add_test(tc, concat_out_of_range_refused);
    suite_add_tcase(s, tc);
    return s;
}

static Suite *small_suite(void)
{
    Suite *s = suite_create("eltwise-oclgrind");
    TCase *tc = ot_tcase("small");
    tcase_add_test(tc, small_all_kernels);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    return ot_main(argc, argv, unit_suite, small_suite);
}
