/* Device selector grammar and default ranking, on synthetic device lists:
 * no OpenCL needed, so this binary runs (and is never skipped) anywhere. */
#include "test_util.h"

#include <stdio.h>
#include <string.h>

typedef struct spec {
    unsigned p, d;
    cly_device_type type;
    const char *platform, *version, *vendor, *name;
    unsigned cu, mhz;
    uint64_t mem_gib;
    bool unified;
} spec;

static cly_device_info make(spec s)
{
    cly_device_info i;
    memset(&i, 0, sizeof i);
    i.platform_index = s.p;
    i.device_index = s.d;
    i.type = s.type;
    snprintf(i.platform_name, sizeof i.platform_name, "%s", s.platform);
    snprintf(i.platform_version, sizeof i.platform_version, "%s", s.version ? s.version : "OpenCL 3.0");
    snprintf(i.vendor, sizeof i.vendor, "%s", s.vendor);
    snprintf(i.name, sizeof i.name, "%s", s.name);
    i.compute_units = s.cu;
    i.clock_mhz = s.mhz;
    i.global_mem_bytes = s.mem_gib << 30;
    i.max_alloc_bytes = i.global_mem_bytes / 4;
    i.unified_memory = s.unified;
    i.compiler_available = true;
    return i;
}

/* A machine with a bit of everything, in listing order. The integrated GPU
 * has the largest compute_units x clock on purpose: a discrete GPU must
 * still win. Real pocl names itself only in its platform version. */
enum { POCL_PTHREAD, POCL_BASIC, RTX, GTX, RADEON, UHD, FPGA, CUSTOM, NDEV };
static const spec machine[NDEV] = {
    [POCL_PTHREAD] = {0, 0, CLY_DEVICE_CPU, "Portable Computing Language", "OpenCL 3.0 PoCL 3.1+debian  Linux",
                      "GenuineIntel", "pthread-skylake-avx512", 8, 2600, 16, true},
    [POCL_BASIC] = {0, 1, CLY_DEVICE_CPU, "Portable Computing Language", "OpenCL 3.0 PoCL 3.1+debian  Linux",
                    "GenuineIntel", "basic-skylake-avx512", 1, 2600, 16, true},
    [RTX] = {1, 0, CLY_DEVICE_GPU, "NVIDIA CUDA", "OpenCL 3.0 CUDA 12.2", "NVIDIA Corporation",
             "NVIDIA GeForce RTX 3080", 68, 1710, 10, false},
    [GTX] = {1, 1, CLY_DEVICE_GPU, "NVIDIA CUDA", "OpenCL 3.0 CUDA 12.2", "NVIDIA Corporation",
             "NVIDIA GeForce GTX 1050", 5, 1455, 2, false},
    [RADEON] = {2, 0, CLY_DEVICE_GPU, "AMD Accelerated Parallel Processing", "OpenCL 2.1 AMD-APP",
                "Advanced Micro Devices, Inc.", "gfx1030", 40, 2500, 16, false},
    [UHD] = {3, 0, CLY_DEVICE_GPU, "Intel(R) OpenCL HD Graphics", "OpenCL 3.0", "Intel(R) Corporation",
             "Intel(R) UHD Graphics 630", 200, 2000, 32, true},
    [FPGA] = {4, 0, CLY_DEVICE_ACCELERATOR, "Intel(R) FPGA SDK for OpenCL", "OpenCL 1.0", "Intel(R) Corporation",
              "de10_nano_sharedonly", 1, 100, 1, false},
    [CUSTOM] = {5, 0, CLY_DEVICE_CUSTOM, "Acme Platform", "OpenCL 1.2", "Acme", "acme-dsp", 4, 800, 1, false},
};

static cly_device_info devs[NDEV];

static void setup(void)
{
    for (int i = 0; i < NDEV; i++)
        devs[i] = make(machine[i]);
}

/* Selecting `sel` on the full machine picks device `want`. */
static void expect(const char *sel, size_t want)
{
    size_t got = 999;
    cly_status s = cly_device_select(devs, NDEV, sel, &got);
    ck_assert_msg(s == CLY_SUCCESS, "'%s': %s: %s", sel ? sel : "(null)", cly_status_string(s), cly_last_error(NULL));
    ck_assert_msg(got == want, "'%s' picked %zu (%s), want %zu (%s)", sel ? sel : "(null)", got,
                  got < NDEV ? devs[got].name : "?", want, devs[want].name);
}

static void expect_status(const char *sel, cly_status want)
{
    size_t got = 999;
    cly_status s = cly_device_select(devs, NDEV, sel, &got);
    ck_assert_msg(s == want, "'%s': got %s, want %s (%s)", sel, cly_status_string(s), cly_status_string(want),
                  cly_last_error(NULL));
    ck_assert_msg(got == 999, "'%s' wrote *index on failure", sel);
    ck_assert_msg(cly_last_error(NULL)[0] != '\0', "'%s' failed without a message", sel);
}

START_TEST(test_types)
{
    expect("gpu", RTX);
    expect("GPU", RTX);
    expect("cpu", POCL_PTHREAD); /* more compute units than the basic device */
    expect("accelerator", FPGA);
    expect("acc", FPGA);
    expect("Acc", FPGA);
    expect("custom", CUSTOM);
}
END_TEST

START_TEST(test_indexed)
{
    /* TYPE:N counts in listing order, not by rank. */
    expect("gpu:0", RTX);
    expect("gpu:1", GTX);
    expect("gpu:2", RADEON);
    expect("gpu:3", UHD);
    expect("cpu:1", POCL_BASIC);
    expect("acc:0", FPGA);
    /* P:D is platform and device index. */
    expect("0:0", POCL_PTHREAD);
    expect("0:1", POCL_BASIC);
    expect("1:0", RTX);
    expect("1:1", GTX);
    expect("5:0", CUSTOM);
}
END_TEST

START_TEST(test_text)
{
    expect("nvidia", RTX); /* the best NVIDIA device, not the first listed */
    expect("NVIDIA:1", GTX);
    expect("nvidia:0", RTX);
    expect("AMD", RADEON);            /* platform name */
    expect("advanced micro", RADEON); /* vendor */
    expect("gfx10", RADEON);          /* device name */
    expect("GeForce GTX", GTX);
    expect("pocl", POCL_PTHREAD);   /* only in pocl's platform version */
    expect("pocl:1", POCL_BASIC);
    expect("PoCL", POCL_PTHREAD);
    expect("intel", UHD);           /* four Intel matches; GPUs rank first */
    expect("intel:0", POCL_PTHREAD); /* vendor "GenuineIntel", first listed */
    expect("intel:3", FPGA);
}
END_TEST

START_TEST(test_default_spellings)
{
    expect(NULL, RTX);
    expect("", RTX);
    expect("default", RTX);
    expect("DEFAULT", RTX);
    expect("   ", RTX);
    expect("  gpu:1  ", GTX);
    expect("\tnvidia:1 ", GTX);
    expect(" default ", RTX);
}
END_TEST

/* Default pick among a hand-made list. */
static size_t pick(const spec *list, size_t n)
{
    cly_device_info d[8];
    ck_assert(n <= 8);
    for (size_t i = 0; i < n; i++)
        d[i] = make(list[i]);
    size_t got = 999;
    cly_status s = cly_device_select(d, n, NULL, &got);
    ck_assert_msg(s == CLY_SUCCESS, "%s", cly_last_error(NULL));
    ck_assert(got < n);
    return got;
}

#define GPU(cu, mhz, gib, unified) {0, 0, CLY_DEVICE_GPU, "P", NULL, "V", "gpu", cu, mhz, gib, unified}
#define DEV(type, cu) {0, 0, type, "P", NULL, "V", "dev", cu, 1000, 1, false}

START_TEST(test_ranking)
{
    /* Discrete beats integrated, whatever the throughput and order. */
    ck_assert_uint_eq(pick((spec[]){GPU(200, 2000, 32, true), GPU(4, 1000, 2, false)}, 2), 1);
    ck_assert_uint_eq(pick((spec[]){GPU(4, 1000, 2, false), GPU(200, 2000, 32, true)}, 2), 0);
    /* Then compute units x clock, not compute units alone. */
    ck_assert_uint_eq(pick((spec[]){GPU(10, 1000, 8, false), GPU(20, 1000, 8, false)}, 2), 1);
    ck_assert_uint_eq(pick((spec[]){GPU(20, 1000, 8, false), GPU(10, 1000, 8, false)}, 2), 0);
    ck_assert_uint_eq(pick((spec[]){GPU(20, 1000, 8, false), GPU(10, 3000, 8, false)}, 2), 1);
    /* A device reporting 0 MHz counts its compute units alone. */
    ck_assert_uint_eq(pick((spec[]){GPU(30, 0, 8, false), GPU(20, 1, 8, false)}, 2), 0);
    /* Then global memory. */
    ck_assert_uint_eq(pick((spec[]){GPU(10, 1000, 2, false), GPU(10, 1000, 8, false)}, 2), 1);
    ck_assert_uint_eq(pick((spec[]){GPU(10, 1000, 8, false), GPU(10, 1000, 2, false)}, 2), 0);
    /* Full ties keep listing order. */
    ck_assert_uint_eq(pick((spec[]){GPU(10, 1000, 8, false), GPU(10, 1000, 8, false)}, 2), 0);
    /* Type first: GPU > accelerator > CPU > custom/other, however strong. */
    ck_assert_uint_eq(pick((spec[]){DEV(CLY_DEVICE_CPU, 64), DEV(CLY_DEVICE_ACCELERATOR, 2),
                                    DEV(CLY_DEVICE_GPU, 1)},
                           3),
                      2);
    ck_assert_uint_eq(pick((spec[]){DEV(CLY_DEVICE_CPU, 64), DEV(CLY_DEVICE_ACCELERATOR, 2)}, 2), 1);
    ck_assert_uint_eq(pick((spec[]){DEV(CLY_DEVICE_CUSTOM, 64), DEV(CLY_DEVICE_CPU, 2)}, 2), 1);
    ck_assert_uint_eq(pick((spec[]){DEV(CLY_DEVICE_OTHER, 64), DEV(CLY_DEVICE_CPU, 2)}, 2), 1);
    /* Anything at all when nothing better exists. */
    ck_assert_uint_eq(pick((spec[]){DEV(CLY_DEVICE_OTHER, 1)}, 1), 0);
    ck_assert_uint_eq(pick((spec[]){DEV(CLY_DEVICE_OTHER, 1), DEV(CLY_DEVICE_CUSTOM, 1)}, 2), 1);
}
END_TEST

START_TEST(test_invalid)
{
    const char *bad[] = {"gpu:", ":1", "gpu:x", "gpu:-1", "1:2:3", "gpu:1:", "gpu:1 2", "gpu:+1", "0:", "gpu:1234567"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_status(bad[i], CLY_ERROR_INVALID_ARGUMENT);
    expect_status("gpu\x01", CLY_ERROR_INVALID_ARGUMENT);
    expect_status("nv\nidia", CLY_ERROR_INVALID_ARGUMENT);
    ck_assert(strstr(cly_last_error(NULL), "control character") != NULL);
    char longsel[301];
    memset(longsel, 'a', 300);
    longsel[300] = '\0';
    expect_status(longsel, CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_msg(strstr(cly_last_error(NULL), "300") != NULL, "%s", cly_last_error(NULL));
    /* 255 characters is still a (non-matching) text selector. */
    longsel[255] = '\0';
    expect_status(longsel, CLY_ERROR_DEVICE_NOT_FOUND);
    /* A device list, here where one device is wanted: said so. */
    const char *lists[] = {"0:0,1:0", "gpu,cpu", "nosuch,device"};
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
        expect_status(lists[i], CLY_ERROR_INVALID_ARGUMENT);
        ck_assert_msg(strstr(cly_last_error(NULL), "is a list of devices; this takes one"), "%s", cly_last_error(NULL));
    }
}
END_TEST

/* Every device's name appears in the failure message. */
static void assert_lists_devices(const char *msg)
{
    for (int i = 0; i < NDEV; i++)
        ck_assert_msg(strstr(msg, devs[i].name) != NULL, "'%s' missing from: %s", devs[i].name, msg);
    ck_assert_msg(strstr(msg, "1:1") != NULL, "P:D ids missing from: %s", msg);
}

START_TEST(test_not_found)
{
    expect_status("qualcomm", CLY_ERROR_DEVICE_NOT_FOUND);
    ck_assert(strstr(cly_last_error(NULL), "qualcomm") != NULL);
    assert_lists_devices(cly_last_error(NULL));
    /* An index past the matches. */
    expect_status("gpu:4", CLY_ERROR_DEVICE_NOT_FOUND);
    ck_assert_msg(strstr(cly_last_error(NULL), "only 4 device(s) match") != NULL, "%s", cly_last_error(NULL));
    assert_lists_devices(cly_last_error(NULL));
    expect_status("cpu:2", CLY_ERROR_DEVICE_NOT_FOUND);
    expect_status("nvidia:2", CLY_ERROR_DEVICE_NOT_FOUND);
    expect_status("custom:1", CLY_ERROR_DEVICE_NOT_FOUND);
    expect_status("0:2", CLY_ERROR_DEVICE_NOT_FOUND);
    expect_status("6:0", CLY_ERROR_DEVICE_NOT_FOUND);
    assert_lists_devices(cly_last_error(NULL));

    /* A type with no device at all. */
    cly_device_info cpu_only = make(machine[POCL_PTHREAD]);
    size_t got = 999;
    ck_assert_int_eq(cly_device_select(&cpu_only, 1, "gpu", &got), CLY_ERROR_DEVICE_NOT_FOUND);
    ck_assert(strstr(cly_last_error(NULL), cpu_only.name) != NULL);
    ck_assert_int_eq(cly_device_select(&cpu_only, 1, "accelerator", &got), CLY_ERROR_DEVICE_NOT_FOUND);
    ck_assert_uint_eq(got, 999);
}
END_TEST

START_TEST(test_null_args)
{
    size_t got = 999;
    ck_assert_int_eq(cly_device_select(NULL, 3, "gpu", &got), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_device_select(devs, NDEV, "gpu", NULL), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_device_select(devs, 0, "gpu", &got), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_uint_eq(got, 999);
    ck_assert(cly_last_error(NULL)[0] != '\0');
}
END_TEST

START_TEST(test_type_strings)
{
    ck_assert_str_eq(cly_device_type_string(CLY_DEVICE_GPU), "GPU");
    ck_assert_str_eq(cly_device_type_string(CLY_DEVICE_CPU), "CPU");
    ck_assert_str_eq(cly_device_type_string(CLY_DEVICE_ACCELERATOR), "accelerator");
    ck_assert_str_eq(cly_device_type_string(CLY_DEVICE_CUSTOM), "custom");
    ck_assert_str_eq(cly_device_type_string(CLY_DEVICE_OTHER), "other");
    ck_assert_str_eq(cly_device_type_string((cly_device_type)42), "other");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("selector");
    TCase *tc = tcase_create("selector");
    tcase_set_timeout(tc, CLY_TEST_TIMEOUT);
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_types);
    tcase_add_test(tc, test_indexed);
    tcase_add_test(tc, test_text);
    tcase_add_test(tc, test_default_spellings);
    tcase_add_test(tc, test_ranking);
    tcase_add_test(tc, test_invalid);
    tcase_add_test(tc, test_not_found);
    tcase_add_test(tc, test_null_args);
    tcase_add_test(tc, test_type_strings);
    suite_add_tcase(s, tc);
    return cly_test_run(s, true);
}
