/* The launcher's limits (runtime/launch.h) and the conv workspace chunking
 * rule: a requested local size beyond the kernel's and the device's limits
 * shrinks and still computes everything; an exact size beyond them fails
 * with a message; cly_conv_chunk caps by the context's element size. */
#include "test_util.h"
#include "kernels/conv_internal.h"

#include <stdlib.h>
#include <string.h>

START_TEST(oversized_local_shrinks)
{
    cly_context *ctx = cly_test_context();
    const int64_t count = 1000;
    float x[1000], y[1000];
    for (int64_t i = 0; i < count; i++)
        x[i] = (float)(i % 7) - 3.0f;
    cly_tensor *tx, *ty;
    ck_assert_int_eq(cly_tensor_create(ctx, (cly_shape){1, 1, 1, count}, &tx), CLY_SUCCESS);
    ck_assert_int_eq(cly_tensor_create(ctx, (cly_shape){1, 1, 1, count}, &ty), CLY_SUCCESS);
    ck_assert_int_eq(cly_tensor_write(tx, x, count), CLY_SUCCESS);
    /* Far beyond any device: 2^40 work-items per group in dimension 0. */
    const size_t local = (size_t)1 << 40;
    cly_args a;
    cly_args_begin(ctx, &a, "eltwise", "", "relu");
    cly_arg_buf(&a, (cly_buf){tx->buffer, tx->offset});
    cly_arg_buf(&a, (cly_buf){ty->buffer, ty->offset});
    cly_arg_long(&a, count);
    ck_assert_msg(cly_launch(ctx, &a, 1, &count, &local) == CLY_SUCCESS, "%s", cly_last_error(ctx));
    ck_assert_int_eq(cly_tensor_read(ty, y, count), CLY_SUCCESS);
    for (int64_t i = 0; i < count; i++)
        ck_assert(y[i] == (x[i] < 0 ? 0.0f : x[i]));
    /* An exact group (a reduction tree) beyond the limits is refused. */
    ck_assert_int_eq(cly_launch_groups(ctx, &a, 4, local), CLY_ERROR_UNSUPPORTED);
    ck_assert_msg(strstr(cly_last_error(ctx), "exactly") != NULL, "%s", cly_last_error(ctx));
    /* A failed argument is reported at launch with its index. */
    cly_args b;
    cly_args_begin(ctx, &b, "eltwise", "", "relu");
    cly_arg_raw(&b, 3, &count); /* a cl_mem is not 3 bytes */
    cly_arg_buf(&b, (cly_buf){ty->buffer, ty->offset});
    ck_assert_int_eq(cly_launch_1d(ctx, &b, count), CLY_ERROR_OPENCL);
    ck_assert_msg(strstr(cly_last_error(ctx), "relu: clSetKernelArg(0)") != NULL, "%s", cly_last_error(ctx));
    cly_tensor_destroy(tx);
    cly_tensor_destroy(ty);
    cly_context_destroy(ctx);
}
END_TEST

START_TEST(chunk_uses_element_size)
{
    cly_context ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.info.max_alloc_bytes = (uint64_t)1 << 20; /* 1 MiB: below the 2^24-element budget */
    ctx.precision = CLY_PRECISION_FLOAT32;
    ck_assert_int_eq(cly_conv_chunk(&ctx, 1024, 1000), 256); /* 2^18 floats */
    ctx.precision = CLY_PRECISION_FLOAT64;
    ck_assert_int_eq(cly_conv_chunk(&ctx, 1024, 1000), 128); /* 2^17 doubles */
    ctx.info.max_alloc_bytes = (uint64_t)1 << 40;
    ck_assert_int_eq(cly_conv_chunk(&ctx, 1 << 20, 1000), 16); /* the budget, 2^24 elements */
}
END_TEST

int main(void)
{
    cly_test_require_device();
    Suite *s = suite_create("launch");
    TCase *tc = tcase_create("limits");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, oversized_local_shrinks);
    tcase_add_test(tc, chunk_uses_element_size);
    suite_add_tcase(s, tc);
    return cly_test_run(s, true);
}
