/* Program building: what a failed build reports, that a context recovers
 * from it, the in-memory program and kernel caches, the embedded sources,
 * and devices without a compiler. Each test has a private cache directory
 * so the build counters are deterministic. */
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char broken_src[] = "__kernel void broken(__global float *x)\n"
                                 "{\n"
                                 "    x[get_global_id(0)] = undeclared_thing_xyz * 2.0f;\n"
                                 "}\n";
static const char good_src[] = "__kernel void twice(__global float *x)\n"
                               "{\n"
                               "    x[get_global_id(0)] *= FACTOR;\n"
                               "}\n";

static char tmp[4096];
static cly_context *ctx;

static void setup(void)
{
    cly_test_mkdtemp(tmp, sizeof tmp);
    setenv("CLAYER_CACHE_DIR", tmp, 1);
    unsetenv("CLAYER_CACHE");
    ctx = cly_test_context();
}

static void teardown(void)
{
    cly_context_destroy(ctx);
    ctx = NULL;
    unsetenv("CLAYER_CACHE_DIR");
    cly_test_rmtree(tmp);
}

static cly_context_stats stats(cly_context *c)
{
    cly_context_stats st;
    ck_assert_int_eq(cly_context_stats_get(c, &st), CLY_SUCCESS);
    return st;
}

static cly_status build(const char *label, const char *src, const char *options, cl_program *out)
{
    return cly_program_get_source(ctx, label, (const unsigned char *)src, strlen(src), options, out);
}

/* Run `twice` from `program` on 4 floats and check x * factor. */
static void run_twice(cl_program program, float factor)
{
    cl_int err;
    cl_kernel k = clCreateKernel(program, "twice", &err);
    ck_assert_int_eq(err, CL_SUCCESS);
    cly_tensor *t = NULL;
    ck_assert_int_eq(cly_tensor_create(ctx, (cly_shape){1, 1, 1, 4}, &t), CLY_SUCCESS);
    const float in[4] = {1, -2, 3.5f, 0};
    float out[4];
    ck_assert_int_eq(cly_tensor_write(t, in, 4), CLY_SUCCESS);
    ck_assert_int_eq(clSetKernelArg(k, 0, sizeof(cl_mem), &t->buffer), CL_SUCCESS);
    size_t global = 4;
    ck_assert_int_eq(clEnqueueNDRangeKernel(ctx->queue, k, 1, NULL, &global, NULL, 0, NULL, NULL), CL_SUCCESS);
    ck_assert_int_eq(cly_tensor_read(t, out, 4), CLY_SUCCESS);
    for (int i = 0; i < 4; i++)
        ck_assert_msg(out[i] == in[i] * factor, "x[%d] = %g, want %g", i, out[i], in[i] * factor);
    cly_tensor_destroy(t);
    clReleaseKernel(k);
}

START_TEST(test_build_failure_report)
{
    cl_program p = (cl_program)&p;
    ck_assert_int_eq(build("broken_test", broken_src, "-DFOO=1", &p), CLY_ERROR_BUILD_FAILED);
    ck_assert_msg(p == (cl_program)&p, "*out written on failure");
    const char *msg = cly_last_error(ctx);
    const cly_device_info *d = cly_context_device(ctx);
    ck_assert_msg(strstr(msg, "'broken_test'") != NULL, "label missing: %s", msg);
    ck_assert_msg(strstr(msg, d->name) != NULL, "device name missing: %s", msg);
    ck_assert_msg(strstr(msg, "'-cl-std=CL1.2 -DFOO=1'") != NULL, "options missing: %s", msg);
    ck_assert_msg(strstr(msg, "undeclared_thing_xyz") != NULL, "compiler log missing: %s", msg);
    ck_assert_msg(strstr(msg, "CL_BUILD_PROGRAM_FAILURE") != NULL, "OpenCL code missing: %s", msg);
    ck_assert_str_eq(cly_last_error(NULL), msg);
    ck_assert_int_eq(stats(ctx).programs_built, 0);
    ck_assert_int_eq(stats(ctx).cache_writes, 0);

    /* A failure is not remembered as a program: it fails again. */
    ck_assert_int_eq(build("broken_test", broken_src, "-DFOO=1", &p), CLY_ERROR_BUILD_FAILED);

    /* The same context then builds good code, caches it in memory... */
    cl_program good = NULL, again = NULL;
    ck_assert_msg(build("good_test", good_src, "-DFACTOR=2.0f", &good) == CLY_SUCCESS, "%s", cly_last_error(ctx));
    ck_assert_ptr_nonnull(good);
    run_twice(good, 2.0f);
    ck_assert_int_eq(build("good_test", good_src, "-DFACTOR=2.0f", &again), CLY_SUCCESS);
    ck_assert_ptr_eq(good, again);
    ck_assert_int_eq(stats(ctx).programs_built, 1);
    ck_assert_int_eq(stats(ctx).cache_writes, 1);
    /* ...and other options are another program. */
    ck_assert_int_eq(build("good_test", good_src, "-DFACTOR=3.0f", &again), CLY_SUCCESS);
    ck_assert_ptr_ne(good, again);
    run_twice(again, 3.0f);
    run_twice(good, 2.0f);
    ck_assert_int_eq(stats(ctx).programs_built, 2);
}
END_TEST

START_TEST(test_bad_options)
{
    cl_program p = NULL;
    cly_status s = build("good_test", good_src, "-DFACTOR=2.0f -fno-such-option-xyz", &p);
    ck_assert_msg(s == CLY_ERROR_BUILD_FAILED, "%s: %s", cly_status_string(s), cly_last_error(ctx));
    ck_assert_msg(strstr(cly_last_error(ctx), "-fno-such-option-xyz") != NULL, "%s", cly_last_error(ctx));
    /* A missing -D leaves FACTOR undeclared: the log says so. */
    ck_assert_int_eq(build("good_test", good_src, "", &p), CLY_ERROR_BUILD_FAILED);
    ck_assert_msg(strstr(cly_last_error(ctx), "FACTOR") != NULL, "%s", cly_last_error(ctx));
    ck_assert_int_eq(build("good_test", good_src, NULL, &p), CLY_ERROR_BUILD_FAILED);
    ck_assert_msg(strstr(cly_last_error(ctx), "'-cl-std=CL1.2 '") != NULL, "%s", cly_last_error(ctx));
}
END_TEST

START_TEST(test_kernel_get)
{
    cl_kernel k = (cl_kernel)&k, k2 = NULL;
    ck_assert_int_eq(cly_kernel_get(ctx, "no_such_program", NULL, "conv_direct", &k), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_msg(strstr(cly_last_error(ctx), "'no_such_program'") != NULL, "%s", cly_last_error(ctx));
    ck_assert(k == (cl_kernel)&k);
    /* "common" is only ever #included, never a program of its own. */
    ck_assert_int_eq(cly_kernel_get(ctx, "common", NULL, "x", &k), CLY_ERROR_INVALID_ARGUMENT);

    ck_assert_int_eq(cly_kernel_get(ctx, "conv_direct", "-DHAS_BIAS=1", "no_such_kernel", &k), CLY_ERROR_OPENCL);
    ck_assert_msg(strstr(cly_last_error(ctx), "'no_such_kernel'") != NULL &&
                      strstr(cly_last_error(ctx), "CL_INVALID_KERNEL_NAME") != NULL,
                  "%s", cly_last_error(ctx));
    ck_assert(k == (cl_kernel)&k);

    /* The program built for the failed lookup serves the real kernel, once. */
    ck_assert_int_eq(cly_kernel_get(ctx, "conv_direct", "-DHAS_BIAS=1", "conv_direct", &k), CLY_SUCCESS);
    ck_assert_int_eq(cly_kernel_get(ctx, "conv_direct", "-DHAS_BIAS=1", "conv_direct", &k2), CLY_SUCCESS);
    ck_assert_ptr_eq(k, k2);
    ck_assert_int_eq(stats(ctx).programs_built, 1);
    ck_assert_int_eq(cly_kernel_get(ctx, "conv_direct", "-DHAS_BIAS=0", "conv_direct", &k2), CLY_SUCCESS);
    ck_assert_ptr_ne(k, k2);
    ck_assert_int_eq(stats(ctx).programs_built, 2);
    char name[64] = "";
    ck_assert_int_eq(clGetKernelInfo(k2, CL_KERNEL_FUNCTION_NAME, sizeof name, name, NULL), CL_SUCCESS);
    ck_assert_str_eq(name, "conv_direct");
}
END_TEST

START_TEST(test_embedded_sources)
{
    ck_assert_uint_ge(cly_kernel_source_count, 1);
    const cly_kernel_source *src = cly_kernel_source_find("conv_direct");
    ck_assert_ptr_nonnull(src);
    ck_assert_uint_gt(src->size, 100);
    char *text = malloc(src->size + 1);
    memcpy(text, src->bytes, src->size);
    text[src->size] = '\0';
    ck_assert_uint_eq(strlen(text), src->size); /* no stray NUL bytes */
    ck_assert(strstr(text, "__kernel void conv_direct") != NULL);
    /* common.cl is expanded in place, not left as an #include. */
    ck_assert(strstr(text, "typedef long idx_t") != NULL);
    ck_assert(strstr(text, "#include") == NULL);
    free(text);
    ck_assert_ptr_null(cly_kernel_source_find("common"));
    ck_assert_ptr_null(cly_kernel_source_find(""));
}
END_TEST

START_TEST(test_no_compiler)
{
    /* Pretend the device has no compiler (an FPGA board): without a
     * cached binary the request fails with NO_COMPILER... */
    cly_context *fpga = cly_test_context();
    fpga->info.compiler_available = false;
    cl_kernel k = NULL;
    ck_assert_int_eq(cly_kernel_get(fpga, "conv_direct", "-DHAS_BIAS=1", "conv_direct", &k), CLY_ERROR_NO_COMPILER);
    ck_assert_msg(strstr(cly_last_error(fpga), "'conv_direct'") != NULL, "%s", cly_last_error(fpga));
    /* ...and once a compiler-equipped context has cached the binaries of a
     * convolution, the same convolution runs there without compiling. */
    char why[512];
    cly_conv_params p = CONV_P(1, 0, 1);
    p.algo = CLY_CONV_DIRECT;
    int64_t bad = cly_test_conv_check(ctx, (cly_shape){1, 2, 6, 6}, (cly_shape){2, 2, 3, 3}, true, p, 4, 4, 3, why,
                                      sizeof why);
    ck_assert_msg(bad == 0, "%s", why);
    ck_assert_uint_ge(stats(ctx).cache_writes, 1);
    bad = cly_test_conv_check(fpga, (cly_shape){1, 2, 6, 6}, (cly_shape){2, 2, 3, 3}, true, p, 4, 4, 3, why,
                              sizeof why);
    ck_assert_msg(bad == 0, "%s", why);
    ck_assert_uint_ge(stats(fpga).programs_from_cache, 1);
    ck_assert_int_eq(stats(fpga).programs_built, 0);
    cly_context_destroy(fpga);
}
END_TEST

int main(void)
{
    cly_test_require_device();
    Suite *s = suite_create("build");
    TCase *tc = tcase_create("build");
    tcase_set_timeout(tc, CLY_TEST_TIMEOUT);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_build_failure_report);
    tcase_add_test(tc, test_bad_options);
    tcase_add_test(tc, test_kernel_get);
    tcase_add_test(tc, test_embedded_sources);
    tcase_add_test(tc, test_no_compiler);
    suite_add_tcase(s, tc);
    return cly_test_run(s, true);
}
