/* Devices and contexts on the real OpenCL installation: the listing,
 * context creation by selector and $CLAYER_DEVICE, many contexts without
 * leaks. Run with --two-devices (meson does, under POCL_DEVICES="pthread
 * pthread") for selection among two devices. */
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cly_device_info *list_devices(size_t *n)
{
    cly_device_info *devs = NULL;
    cly_status s = cly_devices_list(&devs, n);
    ck_assert_msg(s == CLY_SUCCESS, "%s", cly_last_error(NULL));
    ck_assert_ptr_nonnull(devs);
    return devs;
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

START_TEST(test_list)
{
    size_t n = 0;
    cly_device_info *devs = list_devices(&n);
    ck_assert_uint_ge(n, 1);
    for (size_t i = 0; i < n; i++) {
        const cly_device_info *d = &devs[i];
        ck_assert_msg(d->name[0] && d->platform_name[0] && d->vendor[0], "device %zu lacks names", i);
        ck_assert_msg(starts_with(d->device_version, "OpenCL "), "device_version '%s'", d->device_version);
        ck_assert_msg(starts_with(d->opencl_c_version, "OpenCL C "), "opencl_c_version '%s'", d->opencl_c_version);
        ck_assert_msg(starts_with(d->platform_version, "OpenCL "), "platform_version '%s'", d->platform_version);
        ck_assert_uint_ge(d->compute_units, 1);
        ck_assert_uint_gt(d->global_mem_bytes, 0);
        ck_assert_uint_gt(d->max_alloc_bytes, 0);
        ck_assert_uint_le(d->max_alloc_bytes, d->global_mem_bytes);
        /* OpenCL's minimum: a quarter of global memory, capped at 1 GiB. */
        const uint64_t quarter = d->global_mem_bytes / 4, gib = (uint64_t)1 << 30;
        ck_assert_uint_ge(d->max_alloc_bytes, quarter < gib ? quarter : gib);
        ck_assert_uint_ge(d->max_work_group_size, 1);
        ck_assert_uint_ge(d->local_mem_bytes, 1024);
        ck_assert_uint_ge(d->preferred_vector_width_float, 1);
        ck_assert_int_le(d->type, CLY_DEVICE_OTHER);
        /* Listing order: platforms ascending, devices numbered from 0. */
        if (i == 0) {
            ck_assert_uint_eq(d->device_index, 0);
        } else if (d->platform_index == devs[i - 1].platform_index) {
            ck_assert_uint_eq(d->device_index, devs[i - 1].device_index + 1);
        } else {
            ck_assert_uint_gt(d->platform_index, devs[i - 1].platform_index);
            ck_assert_uint_eq(d->device_index, 0);
        }
    }
    size_t pick = n;
    ck_assert_int_eq(cly_device_select(devs, n, NULL, &pick), CLY_SUCCESS);
    ck_assert_uint_lt(pick, n);
    cly_devices_free(devs);
    cly_devices_free(NULL);

    ck_assert_int_eq(cly_devices_list(NULL, &n), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_devices_list(&devs, NULL), CLY_ERROR_INVALID_ARGUMENT);
}
END_TEST

START_TEST(test_default_context)
{
    size_t n = 0, pick = 0;
    cly_device_info *devs = list_devices(&n);
    ck_assert_int_eq(cly_device_select(devs, n, NULL, &pick), CLY_SUCCESS);

    unsetenv("CLAYER_DEVICE");
    cly_context *ctx = NULL;
    ck_assert_msg(cly_context_create(NULL, &ctx) == CLY_SUCCESS, "%s", cly_last_error(NULL));
    const cly_device_info *d = cly_context_device(ctx);
    ck_assert_ptr_nonnull(d);
    ck_assert_str_eq(d->name, devs[pick].name);
    ck_assert_uint_eq(d->platform_index, devs[pick].platform_index);
    ck_assert_uint_eq(d->device_index, devs[pick].device_index);
    ck_assert_int_eq(cly_context_finish(ctx), CLY_SUCCESS);
    cly_context_stats st = {1, 1, 1, 1};
    ck_assert_int_eq(cly_context_stats_get(ctx, &st), CLY_SUCCESS);
    ck_assert(st.programs_built == 0 && st.programs_from_cache == 0 && st.cache_writes == 0 && st.cache_rejects == 0);
    cly_context_destroy(ctx);
    cly_devices_free(devs);

    ck_assert_int_eq(cly_context_create(NULL, NULL), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_context_finish(NULL), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_context_stats_get(NULL, &st), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_ptr_null(cly_context_device(NULL));
    ck_assert_str_eq(cly_context_cache_dir(NULL), "");
}
END_TEST

/* The selector text of the device `d`, as P:D. */
static void pd(const cly_device_info *d, char *buf, size_t size)
{
    snprintf(buf, size, "%u:%u", d->platform_index, d->device_index);
}

START_TEST(test_env_selector)
{
    size_t n = 0;
    cly_device_info *devs = list_devices(&n);
    bool has_cpu = false;
    for (size_t i = 0; i < n; i++)
        has_cpu |= devs[i].type == CLY_DEVICE_CPU;

    cly_context *ctx = NULL;
    setenv("CLAYER_DEVICE", "cpu", 1);
    cly_status s = cly_context_create(NULL, &ctx);
    if (has_cpu) {
        ck_assert_msg(s == CLY_SUCCESS, "%s", cly_last_error(NULL));
        ck_assert_int_eq(cly_context_device(ctx)->type, CLY_DEVICE_CPU);
        cly_context_destroy(ctx);
    } else {
        ck_assert_int_eq(s, CLY_ERROR_DEVICE_NOT_FOUND);
    }

    setenv("CLAYER_DEVICE", "no-such-device-anywhere", 1);
    ctx = (cly_context *)&ctx;
    ck_assert_int_eq(cly_context_create(NULL, &ctx), CLY_ERROR_DEVICE_NOT_FOUND);
    ck_assert(ctx == (cly_context *)&ctx);
    const char *msg = cly_last_error(NULL);
    ck_assert_msg(strstr(msg, "no-such-device-anywhere") != NULL, "%s", msg);
    for (size_t i = 0; i < n; i++) {
        char id[32];
        pd(&devs[i], id, sizeof id);
        ck_assert_msg(strstr(msg, devs[i].name) && strstr(msg, id), "'%s' (%s) not listed in: %s", devs[i].name, id,
                      msg);
    }

    /* An explicit selector wins over the environment. */
    char first[32];
    pd(&devs[0], first, sizeof first);
    ck_assert_msg(cly_context_create(first, &ctx) == CLY_SUCCESS, "%s", cly_last_error(NULL));
    ck_assert_str_eq(cly_context_device(ctx)->name, devs[0].name);
    cly_context_destroy(ctx);

    setenv("CLAYER_DEVICE", "gpu:", 1);
    ck_assert_int_eq(cly_context_create(NULL, &ctx), CLY_ERROR_INVALID_ARGUMENT);
    setenv("CLAYER_DEVICE", " default ", 1);
    ck_assert_msg(cly_context_create(NULL, &ctx) == CLY_SUCCESS, "%s", cly_last_error(NULL));
    cly_context_destroy(ctx);
    unsetenv("CLAYER_DEVICE");
    cly_devices_free(devs);
}
END_TEST

START_TEST(test_pocl_by_name)
{
    /* pocl names itself only in its platform version; "pocl" must find it. */
    size_t n = 0;
    cly_device_info *devs = list_devices(&n);
    size_t want = n;
    for (size_t i = 0; i < n && want == n; i++)
        if (strstr(devs[i].platform_version, "PoCL") || strstr(devs[i].platform_version, "pocl"))
            want = i;
    if (want < n) {
        cly_context *ctx = NULL;
        ck_assert_msg(cly_context_create("pocl", &ctx) == CLY_SUCCESS, "%s", cly_last_error(NULL));
        ck_assert_uint_eq(cly_context_device(ctx)->platform_index, devs[want].platform_index);
        cly_context_destroy(ctx);
    }
    cly_devices_free(devs);
}
END_TEST

START_TEST(test_many_contexts)
{
    /* Warm up once (the driver's own lazy state), then count descriptors
     * across many create/use/destroy cycles; LeakSanitizer checks memory. */
    cly_context *ctx = cly_test_context();
    cly_context_destroy(ctx);
    int fds = cly_test_open_fds();
    for (int i = 0; i < 40; i++) {
        ctx = cly_test_context();
        if (i % 8 == 0) { /* some of them build or load programs too */
            char why[512];
            int64_t bad = cly_test_conv_check(ctx, (cly_shape){1, 2, 4, 4}, (cly_shape){2, 2, 3, 3}, i % 16 == 0,
                                              CONV_P(1, 1, 1), 4, 4, (uint64_t)i, why, sizeof why);
            ck_assert_msg(bad == 0, "cycle %d: %s", i, why);
        }
        cly_context_destroy(ctx);
    }
    ck_assert_int_eq(cly_test_open_fds(), fds);
}
END_TEST

/* ---- two devices: POCL_DEVICES="pthread pthread", only pocl loaded */

START_TEST(test_two_devices)
{
    size_t n = 0;
    cly_device_info *devs = list_devices(&n);
    ck_assert_msg(n == 2, "expected exactly 2 devices, found %zu (is POCL_DEVICES=\"pthread pthread\" set?)", n);
    ck_assert_uint_eq(devs[0].platform_index, devs[1].platform_index);
    ck_assert_uint_eq(devs[0].device_index, 0);
    ck_assert_uint_eq(devs[1].device_index, 1);
    unsigned p = devs[0].platform_index;

    struct {
        const char *sel;
        unsigned device;
    } picks[] = {{"0:0", 0}, {"0:1", 1}, {"cpu:0", 0}, {"cpu:1", 1}, {"pocl:1", 1}, {"cpu", 0}, {NULL, 0}};
    for (size_t i = 0; i < sizeof picks / sizeof picks[0]; i++) {
        size_t idx = 99;
        ck_assert_msg(cly_device_select(devs, n, picks[i].sel, &idx) == CLY_SUCCESS, "%s", cly_last_error(NULL));
        ck_assert_msg(idx == picks[i].device, "'%s' picked %zu", picks[i].sel ? picks[i].sel : "(null)", idx);
        cly_context *ctx = NULL;
        ck_assert_msg(cly_context_create(picks[i].sel, &ctx) == CLY_SUCCESS, "%s", cly_last_error(NULL));
        ck_assert_uint_eq(cly_context_device(ctx)->platform_index, p);
        ck_assert_uint_eq(cly_context_device(ctx)->device_index, picks[i].device);
        cly_context_destroy(ctx);
    }

    /* A convolution on the second device. */
    cly_context *ctx = NULL;
    ck_assert_msg(cly_context_create("0:1", &ctx) == CLY_SUCCESS, "%s", cly_last_error(NULL));
    char why[512];
    int64_t bad = cly_test_conv_check(ctx, (cly_shape){2, 3, 9, 9}, (cly_shape){4, 3, 3, 3}, true,
                                      CONV_P(2, 1, 1), 5, 5, 77, why, sizeof why);
    ck_assert_msg(bad == 0, "on device 0:1: %s", why);
    cly_context_destroy(ctx);

    const char *missing[] = {"cpu:2", "0:2", "1:0", "pocl:2", "gpu"};
    for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++) {
        ck_assert_int_eq(cly_context_create(missing[i], &ctx), CLY_ERROR_DEVICE_NOT_FOUND);
        ck_assert_msg(strstr(cly_last_error(NULL), "0:0") && strstr(cly_last_error(NULL), "0:1"),
                      "devices not listed: %s", cly_last_error(NULL));
    }
    cly_devices_free(devs);
}
END_TEST

int main(int argc, char **argv)
{
    bool two = argc == 2 && strcmp(argv[1], "--two-devices") == 0;
    if (argc > 1 && !two) {
        fprintf(stderr, "usage: %s [--two-devices]\n", argv[0]);
        return 2;
    }
    cly_test_require_device();
    Suite *s = suite_create("devices");
    TCase *tc = tcase_create(two ? "two_devices" : "devices");
    tcase_set_timeout(tc, CLY_TEST_TIMEOUT);
    if (two) {
        tcase_add_test(tc, test_two_devices);
    } else {
        tcase_add_test(tc, test_list);
        tcase_add_test(tc, test_default_context);
        tcase_add_test(tc, test_env_selector);
        tcase_add_test(tc, test_pocl_by_name);
        tcase_add_test(tc, test_many_contexts);
    }
    suite_add_tcase(s, tc);
    return cly_test_run(s, true);
}
