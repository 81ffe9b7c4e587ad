/* Failures while listing platforms and devices keep their meaning: a
 * transient CL_OUT_OF_HOST_MEMORY from clGetPlatformIDs is not "no platform,
 * install a driver", and a clGetDeviceIDs error other than
 * CL_DEVICE_NOT_FOUND is not CLY_ERROR_DEVICE_NOT_FOUND. This binary defines
 * clGetPlatformIDs and clGetDeviceIDs itself: the library (linked in
 * statically) calls these, which fail on request and otherwise forward to
 * the real ones (dlsym RTLD_NEXT). */
#define _GNU_SOURCE
#include "test_util.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

/* Which call fails: the k-th (from 1) of clGetPlatformIDs with `platform_err`,
 * every clGetDeviceIDs with `device_err` (CL_SUCCESS: none). */
static int platform_fail_at;
static int platform_calls;
static cl_int platform_err = CL_SUCCESS;
static cl_int device_err = CL_SUCCESS;

CL_API_ENTRY cl_int CL_API_CALL clGetPlatformIDs(cl_uint num_entries, cl_platform_id *platforms,
                                                 cl_uint *num_platforms)
{
    if (platform_err != CL_SUCCESS && ++platform_calls == platform_fail_at)
        return platform_err;
    cl_int (*real)(cl_uint, cl_platform_id *, cl_uint *);
    *(void **)&real = dlsym(RTLD_NEXT, "clGetPlatformIDs");
    return real(num_entries, platforms, num_platforms);
}

CL_API_ENTRY cl_int CL_API_CALL clGetDeviceIDs(cl_platform_id platform, cl_device_type type, cl_uint num_entries,
                                               cl_device_id *devices, cl_uint *num_devices)
{
    if (device_err != CL_SUCCESS)
        return device_err;
    cl_int (*real)(cl_platform_id, cl_device_type, cl_uint, cl_device_id *, cl_uint *);
    *(void **)&real = dlsym(RTLD_NEXT, "clGetDeviceIDs");
    return real(platform, type, num_entries, devices, num_devices);
}

static void fail_platform_call(int k, cl_int err)
{
    platform_fail_at = k;
    platform_calls = 0;
    platform_err = err;
}

static void heal(void)
{
    platform_err = CL_SUCCESS;
    device_err = CL_SUCCESS;
}

/* cly_devices_list under the current injection: its status and message. */
static cly_status list(char *msg, size_t size)
{
    cly_device_info *devs = NULL;
    size_t n = 0;
    cly_status s = cly_devices_list(&devs, &n);
    snprintf(msg, size, "%s", cly_last_error(NULL));
    cly_devices_free(devs);
    return s;
}

START_TEST(test_platform_out_of_memory)
{
    char msg[1024];
    for (int k = 1; k <= 2; k++) { /* the count, then the listing */
        fail_platform_call(k, CL_OUT_OF_HOST_MEMORY);
        cly_status s = list(msg, sizeof msg);
        ck_assert_msg(s == CLY_ERROR_OUT_OF_HOST_MEMORY, "call %d: %s: %s", k, cly_status_string(s), msg);
        ck_assert_msg(strstr(msg, "CL_OUT_OF_HOST_MEMORY") && strstr(msg, "clGetPlatformIDs"), "call %d: %s", k,
                      msg);
        ck_assert_msg(!strstr(msg, "install"), "call %d: an out-of-memory blamed on the driver: %s", k, msg);
    }
    fail_platform_call(1, CL_INVALID_VALUE);
    cly_status s = list(msg, sizeof msg);
    ck_assert_msg(s == CLY_ERROR_OPENCL && !strstr(msg, "install"), "%s: %s", cly_status_string(s), msg);
    /* Through cly_context_create too. */
    fail_platform_call(1, CL_OUT_OF_HOST_MEMORY);
    cly_context *ctx = NULL;
    s = cly_context_create(NULL, &ctx);
    ck_assert_int_eq(s, CLY_ERROR_OUT_OF_HOST_MEMORY);
    ck_assert_ptr_null(ctx);
    /* Transient: the next call works. */
    heal();
    ck_assert_msg(list(msg, sizeof msg) == CLY_SUCCESS, "%s", msg);
}
END_TEST

START_TEST(test_no_platform)
{
    /* What the ICD loader says with no vendor file: that one is "install a
     * driver". */
    char msg[1024];
    fail_platform_call(1, -1001 /* CL_PLATFORM_NOT_FOUND_KHR */);
    cly_status s = list(msg, sizeof msg);
    ck_assert_msg(s == CLY_ERROR_NO_PLATFORM && strstr(msg, "install"), "%s: %s", cly_status_string(s), msg);
    heal();
}
END_TEST

START_TEST(test_device_ids_error)
{
    char msg[1024];
    const cl_int errs[] = {CL_OUT_OF_HOST_MEMORY, CL_OUT_OF_RESOURCES, CL_INVALID_PLATFORM};
    const cly_status want[] = {CLY_ERROR_OUT_OF_HOST_MEMORY, CLY_ERROR_OPENCL, CLY_ERROR_OPENCL};
    for (int i = 0; i < 3; i++) {
        device_err = errs[i];
        cly_status s = list(msg, sizeof msg);
        ck_assert_msg(s == want[i], "error %d: %s: %s", (int)errs[i], cly_status_string(s), msg);
        ck_assert_msg(strstr(msg, "clGetDeviceIDs") && strstr(msg, cly_cl_error_name(errs[i])), "%s", msg);
        cly_context *ctx = NULL;
        s = cly_context_create(NULL, &ctx);
        ck_assert_msg(s == want[i], "context, error %d: %s", (int)errs[i], cly_status_string(s));
    }
    /* "No devices here" is what DEVICE_NOT_FOUND is for. */
    device_err = CL_DEVICE_NOT_FOUND;
    cly_status s = list(msg, sizeof msg);
    ck_assert_msg(s == CLY_ERROR_DEVICE_NOT_FOUND, "%s: %s", cly_status_string(s), msg);
    heal();
    ck_assert_msg(list(msg, sizeof msg) == CLY_SUCCESS, "%s", msg);
}
END_TEST

int main(void)
{
    bool device = cly_test_device_available();
    Suite *s = suite_create("enum_errors");
    if (device) {
        TCase *tc = tcase_create("injected");
        tcase_set_timeout(tc, CLY_TEST_TIMEOUT);
        tcase_add_test(tc, test_platform_out_of_memory);
        tcase_add_test(tc, test_no_platform);
        tcase_add_test(tc, test_device_ids_error);
        suite_add_tcase(s, tc);
    }
    return cly_test_run(s, device);
}
