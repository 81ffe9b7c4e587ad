/* Tensors: host round trips, fill and copy on odd shapes, and every
 * argument check of the tensor API. */
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cly_shape shapes[] = {
    {1, 1, 1, 1}, {1, 3, 5, 7}, {2, 3, 17, 13}, {3, 1, 1, 129}, {1, 64, 1, 1}, {5, 2, 31, 3}, {1, 1, 1, 100003},
};
enum { NSHAPES = sizeof shapes / sizeof shapes[0] };

static int64_t count_of(cly_shape s)
{
    return s.n * s.c * s.h * s.w;
}

static cly_context *ctx;

static void setup(void)
{
    ctx = cly_test_context();
}

static void teardown(void)
{
    cly_context_destroy(ctx);
    ctx = NULL;
}

static cly_tensor *make(cly_shape s)
{
    cly_tensor *t = NULL;
    cly_status st = cly_tensor_create(ctx, s, &t);
    ck_assert_msg(st == CLY_SUCCESS, CLY_SHAPE_FMT ": %s", CLY_SHAPE_ARGS(s), cly_last_error(ctx));
    ck_assert_ptr_nonnull(t);
    return t;
}

START_TEST(test_round_trip)
{
    cly_shape s = shapes[_i];
    int64_t n = count_of(s);
    float *src = malloc((size_t)n * sizeof *src), *dst = malloc((size_t)n * sizeof *dst);
    ck_assert(src && dst);
    uint64_t seed = 1000 + (uint64_t)_i;
    cly_test_fill(src, (size_t)n, 50, &seed);
    src[n - 1] = 0.125f; /* a non-integer and the last element */

    cly_tensor *t = make(s);
    cly_shape got = cly_tensor_shape(t);
    ck_assert(got.n == s.n && got.c == s.c && got.h == s.h && got.w == s.w);
    ck_assert_int_eq(cly_tensor_count(t), n);
    ck_assert_int_eq(cly_tensor_write(t, src, n), CLY_SUCCESS);
    memset(dst, 0xff, (size_t)n * sizeof *dst);
    ck_assert_int_eq(cly_tensor_read(t, dst, n), CLY_SUCCESS);
    ck_assert_msg(memcmp(src, dst, (size_t)n * sizeof *src) == 0, "write/read differ for " CLY_SHAPE_FMT,
                  CLY_SHAPE_ARGS(s));

    /* copy into a second tensor, then overwrite the source: the copy keeps
     * the old values. */
    cly_tensor *u = make(s);
    ck_assert_int_eq(cly_tensor_fill(u, -1.0f), CLY_SUCCESS);
    ck_assert_int_eq(cly_tensor_copy(u, t), CLY_SUCCESS);
    ck_assert_int_eq(cly_tensor_fill(t, 2.5f), CLY_SUCCESS);
    memset(dst, 0, (size_t)n * sizeof *dst);
    ck_assert_int_eq(cly_tensor_read(u, dst, n), CLY_SUCCESS);
    ck_assert_msg(memcmp(src, dst, (size_t)n * sizeof *src) == 0, "copy differs for " CLY_SHAPE_FMT,
                  CLY_SHAPE_ARGS(s));
    ck_assert_int_eq(cly_tensor_read(t, dst, n), CLY_SUCCESS);
    for (int64_t i = 0; i < n; i++)
        ck_assert_msg(dst[i] == 2.5f, "fill: element %lld is %g", (long long)i, dst[i]);
    ck_assert_int_eq(cly_tensor_copy(t, t), CLY_SUCCESS); /* self-copy is a no-op */
    ck_assert_int_eq(cly_tensor_read(t, dst, n), CLY_SUCCESS);
    ck_assert(dst[0] == 2.5f && dst[n - 1] == 2.5f);

    cly_tensor_destroy(t);
    cly_tensor_destroy(u);
    free(src);
    free(dst);
}
END_TEST

START_TEST(test_fill_values)
{
    cly_tensor *t = make((cly_shape){1, 2, 3, 5});
    float out[30];
    const float values[] = {0.0f, -0.0f, 1e-30f, -3.75f, INFINITY, 16777217.0f};
    for (size_t v = 0; v < sizeof values / sizeof values[0]; v++) {
        ck_assert_int_eq(cly_tensor_fill(t, values[v]), CLY_SUCCESS);
        ck_assert_int_eq(cly_tensor_read(t, out, 30), CLY_SUCCESS);
        for (int i = 0; i < 30; i++) /* bitwise: -0.0 must stay -0.0 */
            ck_assert_msg(memcmp(&out[i], &values[v], sizeof(float)) == 0, "fill %g: element %d is %g",
                          values[v], i, out[i]);
    }
    ck_assert_int_eq(cly_tensor_fill(t, NAN), CLY_SUCCESS);
    ck_assert_int_eq(cly_tensor_read(t, out, 30), CLY_SUCCESS);
    ck_assert(isnan(out[0]) && isnan(out[29]));
    cly_tensor_destroy(t);
}
END_TEST

/* cly_tensor_create(ctx, s) fails with `want` and a message containing
 * `needle`, leaving *out untouched. */
static void expect_create_fails(cly_shape s, cly_status want, const char *needle)
{
    cly_tensor *sentinel = (cly_tensor *)&sentinel, *t = sentinel;
    cly_status st = cly_tensor_create(ctx, s, &t);
    ck_assert_msg(st == want, CLY_SHAPE_FMT ": got %s, want %s (%s)", CLY_SHAPE_ARGS(s), cly_status_string(st),
                  cly_status_string(want), cly_last_error(ctx));
    ck_assert_msg(t == sentinel, "*out changed on failure");
    ck_assert_msg(strstr(cly_last_error(ctx), needle) != NULL, "'%s' not in: %s", needle, cly_last_error(ctx));
}

START_TEST(test_create_errors)
{
    cly_tensor *t = NULL;
    ck_assert_int_eq(cly_tensor_create(NULL, (cly_shape){1, 1, 1, 1}, &t), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_ptr_null(t);
    ck_assert_int_eq(cly_tensor_create(ctx, (cly_shape){1, 1, 1, 1}, NULL), CLY_ERROR_INVALID_ARGUMENT);

    expect_create_fails((cly_shape){0, 1, 1, 1}, CLY_ERROR_INVALID_ARGUMENT, "dimension n = 0");
    expect_create_fails((cly_shape){1, 0, 1, 1}, CLY_ERROR_INVALID_ARGUMENT, "dimension c = 0");
    expect_create_fails((cly_shape){1, 1, 0, 1}, CLY_ERROR_INVALID_ARGUMENT, "dimension h = 0");
    expect_create_fails((cly_shape){1, 1, 1, 0}, CLY_ERROR_INVALID_ARGUMENT, "dimension w = 0");
    expect_create_fails((cly_shape){1, 1, -3, 1}, CLY_ERROR_INVALID_ARGUMENT, "dimension h = -3");
    expect_create_fails((cly_shape){INT64_MIN, 1, 1, 1}, CLY_ERROR_INVALID_ARGUMENT, "dimension n = -");
    expect_create_fails((cly_shape){4, 4, 4, -1}, CLY_ERROR_INVALID_ARGUMENT, "dimension w = -1");

    /* Element count past 2^63, then a count that fits but whose bytes don't. */
    expect_create_fails((cly_shape){INT64_MAX / 2, 2, 2, 1}, CLY_ERROR_SIZE_OVERFLOW, "overflows 64 bits");
    expect_create_fails((cly_shape){INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX}, CLY_ERROR_SIZE_OVERFLOW,
                        "overflows");
    expect_create_fails((cly_shape){1 << 16, 1 << 16, 1 << 16, 1 << 16}, CLY_ERROR_SIZE_OVERFLOW, "overflows");
    expect_create_fails((cly_shape){INT64_MAX / 3, 1, 1, 1}, CLY_ERROR_SIZE_OVERFLOW, "x 4 bytes");

    /* Over the device's largest allocation, by one element. */
    const cly_device_info *d = cly_context_device(ctx);
    int64_t max_elems = (int64_t)(d->max_alloc_bytes / sizeof(float));
    expect_create_fails((cly_shape){1, 1, 1, max_elems + 1}, CLY_ERROR_TOO_LARGE, d->name);
    expect_create_fails((cly_shape){2, 1, max_elems / 2 + 1, 1}, CLY_ERROR_TOO_LARGE, "largest allocation");
    expect_create_fails((cly_shape){INT64_MAX / 4, 1, 1, 1}, CLY_ERROR_TOO_LARGE, "bytes");
}
END_TEST

START_TEST(test_host_io_errors)
{
    cly_tensor *t = make((cly_shape){2, 3, 4, 5});
    float buf[121] = {0};
    const int64_t bad_counts[] = {119, 121, 0, -120, 60};
    for (size_t i = 0; i < sizeof bad_counts / sizeof bad_counts[0]; i++) {
        ck_assert_int_eq(cly_tensor_write(t, buf, bad_counts[i]), CLY_ERROR_SHAPE_MISMATCH);
        ck_assert_int_eq(cly_tensor_read(t, buf, bad_counts[i]), CLY_ERROR_SHAPE_MISMATCH);
    }
    ck_assert_msg(strstr(cly_last_error(ctx), "2x3x4x5") != NULL, "%s", cly_last_error(ctx));
    ck_assert_int_eq(cly_tensor_write(t, NULL, 120), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_tensor_read(t, NULL, 120), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_tensor_write(NULL, buf, 120), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_tensor_read(NULL, buf, 120), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_tensor_fill(NULL, 1.0f), CLY_ERROR_INVALID_ARGUMENT);

    /* A failed read leaves the host buffer alone. */
    buf[0] = 42.0f;
    ck_assert_int_eq(cly_tensor_fill(t, 1.0f), CLY_SUCCESS);
    ck_assert_int_eq(cly_tensor_read(t, buf, 121), CLY_ERROR_SHAPE_MISMATCH);
    ck_assert(buf[0] == 42.0f);
    cly_tensor_destroy(t);
}
END_TEST

START_TEST(test_copy_errors)
{
    /* Same element count, different shape: still a mismatch. */
    cly_tensor *a = make((cly_shape){1, 2, 3, 4}), *b = make((cly_shape){1, 4, 3, 2});
    cly_tensor *c = make((cly_shape){1, 2, 3, 5});
    ck_assert_int_eq(cly_tensor_fill(a, 1.0f), CLY_SUCCESS);
    ck_assert_int_eq(cly_tensor_fill(b, 2.0f), CLY_SUCCESS);
    ck_assert_int_eq(cly_tensor_copy(b, a), CLY_ERROR_SHAPE_MISMATCH);
    ck_assert_msg(strstr(cly_last_error(ctx), "1x4x3x2") && strstr(cly_last_error(ctx), "1x2x3x4"), "%s",
                  cly_last_error(ctx));
    ck_assert_int_eq(cly_tensor_copy(c, a), CLY_ERROR_SHAPE_MISMATCH);
    ck_assert_int_eq(cly_tensor_copy(a, c), CLY_ERROR_SHAPE_MISMATCH);
    float out[24];
    ck_assert_int_eq(cly_tensor_read(b, out, 24), CLY_SUCCESS);
    ck_assert(out[0] == 2.0f && out[23] == 2.0f); /* untouched */

    ck_assert_int_eq(cly_tensor_copy(NULL, a), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_tensor_copy(a, NULL), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_tensor_copy(NULL, NULL), CLY_ERROR_INVALID_ARGUMENT);

    /* Tensors of two contexts do not mix. */
    cly_context *other = cly_test_context();
    cly_tensor *o = NULL;
    ck_assert_int_eq(cly_tensor_create(other, (cly_shape){1, 2, 3, 4}, &o), CLY_SUCCESS);
    ck_assert_int_eq(cly_tensor_copy(o, a), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_tensor_copy(a, o), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_msg(strstr(cly_last_error(ctx), "different contexts") != NULL, "%s", cly_last_error(ctx));
    cly_tensor_destroy(o);
    cly_context_destroy(other);
    cly_tensor_destroy(a);
    cly_tensor_destroy(b);
    cly_tensor_destroy(c);
}
END_TEST

START_TEST(test_null_handles)
{
    cly_tensor_destroy(NULL);
    ck_assert_int_eq(cly_tensor_count(NULL), 0);
    cly_shape s = cly_tensor_shape(NULL);
    ck_assert(s.n == 0 && s.c == 0 && s.h == 0 && s.w == 0);
    cly_context_destroy(NULL);
}
END_TEST

START_TEST(test_many_tensors)
{
    /* Create and free many tensors in one context: no leak (LeakSanitizer,
     * file descriptors) and every one is usable. */
    int fds = cly_test_open_fds();
    for (int i = 0; i < 500; i++) {
        cly_tensor *t = make((cly_shape){1, 1, 1 + i % 7, 1 + i % 13});
        float v = (float)i, back = -1;
        ck_assert_int_eq(cly_tensor_fill(t, v), CLY_SUCCESS);
        float *all = malloc((size_t)cly_tensor_count(t) * sizeof *all);
        ck_assert_int_eq(cly_tensor_read(t, all, cly_tensor_count(t)), CLY_SUCCESS);
        back = all[cly_tensor_count(t) - 1];
        free(all);
        ck_assert(back == v);
        cly_tensor_destroy(t);
    }
    ck_assert_int_eq(cly_test_open_fds(), fds);
}
END_TEST

int main(void)
{
    cly_test_require_device();
    Suite *s = suite_create("tensor");
    TCase *tc = tcase_create("tensor");
    tcase_set_timeout(tc, CLY_TEST_TIMEOUT);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, test_round_trip, 0, NSHAPES);
    tcase_add_test(tc, test_fill_values);
    tcase_add_test(tc, test_create_errors);
    tcase_add_test(tc, test_host_io_errors);
    tcase_add_test(tc, test_copy_errors);
    tcase_add_test(tc, test_null_handles);
    tcase_add_test(tc, test_many_tensors);
    suite_add_tcase(s, tc);
    return cly_test_run(s, true);
}
