/* The tuning file (runtime/tuning_file.c) and the tuner (kernels/
 * conv_autotune.c): the parser on valid and hostile text (bad lines
 * skipped, a foreign header drops the file, each with a warning), the
 * atomic save, a tuned entry steering AUTO and the direct tile with the
 * output still exact, $CLAYER_TUNING=off, and one short cly_tune_conv. Each
 * test has its own cache directory (TMP/cache). */
#include "test_util.h"
#include "kernels/conv_internal.h"
#include "runtime/tuning_file.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char tmp[4096], dir[4200];
static int warnings;

static void count_warnings(cly_log_level level, const char *message, void *user)
{
    (void)message, (void)user;
    if (level == CLY_LOG_WARN)
        warnings++;
}

static void setup(void)
{
    cly_test_mkdtemp(tmp, sizeof tmp);
    snprintf(dir, sizeof dir, "%s/cache", tmp);
    setenv("CLAYER_CACHE_DIR", dir, 1);
    setenv("CLAYER_TUNING", "on", 1);
    unsetenv("CLAYER_CACHE");
    unsetenv("CLAYER_CONV_TILE");
    unsetenv("CLAYER_CONV_ALGO");
    warnings = 0;
    cly_set_log_callback(count_warnings, CLY_LOG_WARN, NULL);
}

static void teardown(void)
{
    cly_set_log_callback(NULL, CLY_LOG_WARN, NULL);
    unsetenv("CLAYER_CACHE_DIR");
    unsetenv("CLAYER_TUNING");
    cly_test_rmtree(tmp);
}

static cly_device_info fake_device(void)
{
    cly_device_info d;
    memset(&d, 0, sizeof d);
    snprintf(d.platform_name, sizeof d.platform_name, "Test Platform");
    snprintf(d.platform_version, sizeof d.platform_version, "OpenCL 3.0 test");
    snprintf(d.name, sizeof d.name, "test device");
    snprintf(d.driver_version, sizeof d.driver_version, "1.2.3");
    return d;
}

/* The header a file for `d` starts with. */
static void header(char *buf, size_t size, const cly_device_info *d, const char *library)
{
    snprintf(buf, size, "# comment\nclayer-tuning 1\nlibrary %s\nplatform %s\nplatform-version %s\ndevice %s\ndriver %s\n",
             library, d->platform_name, d->platform_version, d->name, d->driver_version);
}

static size_t parse(const cly_device_info *d, const char *text, struct cly_tuned_table *t)
{
    return cly_tuning_parse(d, text, strlen(text), "test", t);
}

START_TEST(test_parse_valid)
{
    cly_device_info d = fake_device();
    char text[4096];
    header(text, sizeof text, &d, CLY_VERSION_STRING);
    strcat(text, "mb1g1ic3ih8iw8oc4kh3kw3sh1sw1pt1pb1pl1pr1dh1dw1 direct,4,3,5,2 0.5 0.75\r\n"
                 "\n"
                 "mb2g1ic8ih4iw4oc8kh1kw1sh1sw1pt0pb0pl0pr0dh1dw1 im2col,0,0,0,0 1.25 2\n"
                 "mb1g1ic3ih8iw8oc4kh3kw3sh1sw1pt1pb1pl1pr1dh1dw1 direct,8,4,3,0 0.4 0.75"); /* replaces, no newline */
    struct cly_tuned_table t = {0};
    ck_assert_uint_eq(parse(&d, text, &t), 2);
    ck_assert_uint_eq(t.count, 2);
    ck_assert_int_eq(t.entries[0].algo, CLY_CONV_DIRECT);
    ck_assert_int_eq(t.entries[0].vw, 8);
    ck_assert_int_eq(t.entries[0].kt, 4);
    ck_assert_int_eq(t.entries[0].wg, 0);
    ck_assert_int_eq(t.entries[1].algo, CLY_CONV_IM2COL);
    ck_assert(t.entries[1].ms == 1.25 && t.entries[1].default_ms == 2);
    ck_assert_int_eq(warnings, 0);
    /* What the writer makes of it reads back the same. */
    size_t size;
    char *out = cly_tuning_format(&d, &t, &size);
    ck_assert_ptr_nonnull(out);
    struct cly_tuned_table u = {0};
    ck_assert_uint_eq(cly_tuning_parse(&d, out, size, "round trip", &u), 2);
    ck_assert_str_eq(u.entries[1].key, t.entries[1].key);
    ck_assert_int_eq(u.entries[0].ty, 3);
    free(out);
    free(u.entries);
    free(t.entries);
}
END_TEST

START_TEST(test_parse_bad_lines)
{
    cly_device_info d = fake_device();
    char text[8192];
    header(text, sizeof text, &d, CLY_VERSION_STRING);
    static const char *const bad[] = {
        "mb1 direct,4,3,5\n",                    /* a field short */
        "mb1 direct,4,3,5,2 0.5 0.75 9\n",       /* one too many */
        "mb1 auto,0,0,0,0 0.5 0.75\n",           /* not a resolved algorithm */
        "mb1 winograd9,0,0,0,0 0.5 0.75\n",      /* unknown */
        "mb1 direct,3,3,5,2 0.5 0.75\n",         /* VW 3 */
        "mb1 direct,4,17,5,2 0.5 0.75\n",        /* KT 17 */
        "mb1 direct,4,3,0,2 0.5 0.75\n",         /* TY 0 */
        "mb1 direct,4,3,5,2000 0.5 0.75\n",      /* WG beyond 1024 */
        "mb1 direct,4,3,5,2 nan 0.75\n",         /* not finite */
        "mb1 direct,4,3,5,2 -1 0.75\n",          /* negative */
        "mb1 im2col,4,3,5,0 0.5 0.75\n",         /* a tile for a non-direct algorithm */
        "mb1 tiled,8,4,1,64 0.5 0.75\n",         /* tiled VW 8 */
        "mb1 tiled,0,0,0,0 0.5 0.75\n",          /* tiled without its tile */
        "MB1 direct,4,3,5,2 0.5 0.75\n",         /* key characters */
        "mb1 direct,99999999999999999999,3,5,2 0.5 0.75\n", /* overflow */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        strcat(text, bad[i]);
    char longline[700];
    memset(longline, 'a', sizeof longline - 2);
    longline[sizeof longline - 2] = '\n';
    longline[sizeof longline - 1] = '\0';
    strcat(text, longline);
    strcat(text, "mb1 direct,4,3,5,2 0.5 0.75\n"); /* the one good line survives */
    struct cly_tuned_table t = {0};
    ck_assert_uint_eq(parse(&d, text, &t), 1);
    ck_assert_str_eq(t.entries[0].key, "mb1");
    ck_assert_int_eq(warnings, (int)(sizeof bad / sizeof bad[0]) + 1);
    free(t.entries);

    /* A NUL byte inside a line. */
    warnings = 0;
    char with_nul[1024];
    header(with_nul, sizeof with_nul, &d, CLY_VERSION_STRING);
    size_t n = strlen(with_nul);
    memcpy(with_nul + n, "mb1 direct,4,3,5,2 0.5\0 0.75\n", 29);
    struct cly_tuned_table u = {0};
    ck_assert_uint_eq(cly_tuning_parse(&d, with_nul, n + 29, "nul", &u), 0);
    ck_assert_int_eq(warnings, 1);
    free(u.entries);
}
END_TEST

START_TEST(test_parse_foreign)
{
    cly_device_info d = fake_device(), other = fake_device();
    char text[4096];
    const char *entry = "mb1 direct,4,3,5,2 0.5 0.75\n";
    struct cly_tuned_table t = {0};
    /* Another library version. */
    header(text, sizeof text, &d, "0.0.1");
    strcat(text, entry);
    ck_assert_uint_eq(parse(&d, text, &t), 0);
    ck_assert_int_eq(warnings, 1);
    /* Another device, another driver. */
    snprintf(other.name, sizeof other.name, "another device");
    header(text, sizeof text, &other, CLY_VERSION_STRING);
    strcat(text, entry);
    ck_assert_uint_eq(parse(&d, text, &t), 0);
    other = fake_device();
    snprintf(other.driver_version, sizeof other.driver_version, "1.2.4");
    header(text, sizeof text, &other, CLY_VERSION_STRING);
    strcat(text, entry);
    ck_assert_uint_eq(parse(&d, text, &t), 0);
    /* Another format version. */
    header(text, sizeof text, &d, CLY_VERSION_STRING);
    text[strlen("# comment\nclayer-tuning ")] = '2';
    strcat(text, entry);
    ck_assert_uint_eq(parse(&d, text, &t), 0);
    /* No header, a cut header, binary junk. */
    ck_assert_uint_eq(parse(&d, entry, &t), 0);
    ck_assert_uint_eq(parse(&d, "clayer-tuning 1\nlibrary " CLY_VERSION_STRING "\n", &t), 0);
    ck_assert_uint_eq(cly_tuning_parse(&d, "\x7f" "ELF\x01\x02\n\xff\xfe", 9, "junk", &t), 0);
    ck_assert_uint_eq(t.count, 0);
    ck_assert_int_eq(warnings, 7);
    free(t.entries);
}
END_TEST

/* The geometry cly_conv2d computes for these inputs (the tuning key's). */
static cly_conv_geom geom_of(cly_shape x, const cly_conv_params *p)
{
    cly_conv_geom g;
    bool rounded;
    char msg[256];
    ck_assert_msg(cly_conv_geom_make(p, x, &g, &rounded, msg, sizeof msg), "%s", msg);
    return g;
}

static int files_with(const char *d, const char *part)
{
    DIR *h = opendir(d);
    if (!h)
        return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(h)) != NULL;)
        if (strstr(e->d_name, part))
            n++;
    closedir(h);
    return n;
}

START_TEST(test_save_atomic_and_reload)
{
    cly_context *ctx = cly_test_context();
    ck_assert_str_ne(cly_context_tuning_path(ctx), "");
    ck_assert_ptr_nonnull(strstr(cly_context_tuning_path(ctx), dir));
    cly_tuned_entry e = {.key = "mb1g1ic1ih1iw1oc1kh1kw1sh1sw1pt0pb0pl0pr0dh1dw1", .algo = CLY_CONV_DIRECT, .vw = 2,
                         .kt = 3, .ty = 1, .wg = 4, .ms = 0.25, .default_ms = 0.5};
    ck_assert_int_eq(cly_tuned_put(ctx, &e), CLY_SUCCESS);
    ck_assert_int_eq(cly_tuning_save(ctx), CLY_SUCCESS);
    ck_assert_int_eq(files_with(dir, "tuning-"), 1);
    ck_assert_int_eq(files_with(dir, ".tmp"), 0);
    cly_context_destroy(ctx);
    ctx = cly_test_context();
    const cly_tuned_entry *r = cly_tuned_find(ctx, e.key);
    ck_assert_ptr_nonnull(r);
    ck_assert(!r->fresh && r->vw == 2 && r->kt == 3 && r->wg == 4);
    cly_context_destroy(ctx);
    ck_assert_int_eq(warnings, 0);
    /* Off: neither read nor written. */
    setenv("CLAYER_TUNING", "off", 1);
    ctx = cly_test_context();
    ck_assert_str_eq(cly_context_tuning_path(ctx), "");
    ck_assert_ptr_null(cly_tuned_find(ctx, e.key));
    ck_assert_int_eq(cly_tuning_save(ctx), CLY_ERROR_UNSUPPORTED);
    cly_context_destroy(ctx);
}
END_TEST

/* A tuning file that gives a 3x3 convolution an unusual tile and a 1x1 one
 * im2col: AUTO follows both, the direct kernel runs the tile, and the
 * outputs still equal the reference exactly. */
START_TEST(test_tuned_entry_used)
{
    const cly_shape x = {2, 5, 9, 11}, f = {7, 5, 3, 3}, x1 = {1, 8, 6, 6}, f1 = {4, 8, 1, 1};
    const cly_conv_params p = {.filters = 7, .size = {3, 3}, .pad = CLY_PAD(1)}, p1 = {.filters = 4, .size = {1, 1}};
    cly_context *ctx = cly_test_context();
    const cly_conv_geom g = geom_of(x, &p), g1 = geom_of(x1, &p1);
    cly_tuned_entry e = {.algo = CLY_CONV_DIRECT, .vw = 4, .kt = 3, .ty = 5, .wg = 2, .ms = 1, .default_ms = 2};
    cly_tuned_entry e1 = {.algo = CLY_CONV_IM2COL, .ms = 1, .default_ms = 2};
    cly_conv_tune_key(ctx, &g, e.key, sizeof e.key);
    cly_conv_tune_key(ctx, &g1, e1.key, sizeof e1.key);
    ck_assert_int_eq(cly_tuned_put(ctx, &e), CLY_SUCCESS);
    ck_assert_int_eq(cly_tuned_put(ctx, &e1), CLY_SUCCESS);
    /* An algorithm that cannot run its shape (an edited file): ignored. */
    const cly_conv_params p2 = {.filters = 4, .size = {3, 3}, .stride = {2, 2}};
    const cly_conv_geom g2 = geom_of((cly_shape){1, 3, 9, 9}, &p2);
    cly_tuned_entry e2 = {.algo = CLY_CONV_GEMM1X1, .ms = 1, .default_ms = 2};
    cly_conv_tune_key(ctx, &g2, e2.key, sizeof e2.key);
    ck_assert_int_eq(cly_tuned_put(ctx, &e2), CLY_SUCCESS);
    /* A tiled entry: VW 2, RM 4, RN 3 vectors, 64 work-items (16 x 4). */
    const cly_conv_params p3 = {.filters = 9, .size = {3, 3}, .stride = {2, 1}, .pad = CLY_PAD(2)};
    const cly_shape x3 = {2, 6, 7, 10}, f3 = {9, 6, 3, 3};
    const cly_conv_geom g3 = geom_of(x3, &p3);
    cly_tuned_entry e3 = {.algo = CLY_CONV_TILED, .vw = 2, .kt = 4, .ty = 3, .wg = 64, .ms = 1, .default_ms = 2};
    cly_conv_tune_key(ctx, &g3, e3.key, sizeof e3.key);
    ck_assert_int_eq(cly_tuned_put(ctx, &e3), CLY_SUCCESS);
    ck_assert_int_eq(cly_tuning_save(ctx), CLY_SUCCESS);
    cly_context_destroy(ctx);

    ctx = cly_test_context(); /* reads the file */
    ck_assert_int_eq(cly_conv_choose(ctx, &g, CLY_CONV_AUTO), CLY_CONV_DIRECT);
    ck_assert_int_eq(cly_conv_choose(ctx, &g1, CLY_CONV_AUTO), CLY_CONV_IM2COL);
    ck_assert_int_ne(cly_conv_choose(ctx, &g2, CLY_CONV_AUTO), CLY_CONV_GEMM1X1);
    size_t wg;
    cly_direct_tile t = cly_conv_direct_tile(ctx, &g, &wg);
    ck_assert(t.vw == 4 && t.kt == 3 && t.ty == 5 && wg == 2);
    char text[64];
    ck_assert(cly_conv_tuned_text(ctx, CLY_CONV_DIRECT, &g, text, sizeof text));
    ck_assert_str_eq(text, "direct 4x3x5 wg2 (tuned)");
    char why[512];
    ck_assert_msg(cly_test_conv_check(ctx, x, f, true, p, 9, 11, 5, why, sizeof why) == 0, "%s", why);
    ck_assert_msg(cly_test_conv_check(ctx, x1, f1, false, p1, 6, 6, 6, why, sizeof why) == 0, "%s", why);
    ck_assert_int_eq(cly_conv_choose(ctx, &g3, CLY_CONV_AUTO), CLY_CONV_TILED);
    const cly_tiled_tile tt = cly_conv_tiled_tile(ctx, &g3);
    ck_assert(tt.vw == 2 && tt.rm == 4 && tt.rn == 6 && tt.wn == 16 && tt.wm == 4);
    ck_assert(cly_conv_tuned_text(ctx, CLY_CONV_TILED, &g3, text, sizeof text));
    ck_assert_str_eq(text, "tiled 2x4x6 wg16x4 tk16 (tuned)");
    ck_assert_msg(cly_test_conv_check(ctx, x3, f3, true, p3, 5, 12, 7, why, sizeof why) == 0, "%s", why);
    /* $CLAYER_CONV_TILE still wins, for tests. */
    setenv("CLAYER_CONV_TILE", "1,2,1", 1);
    t = cly_conv_direct_tile(ctx, &g, &wg);
    ck_assert(t.vw == 1 && t.kt == 2 && t.ty == 1);
    unsetenv("CLAYER_CONV_TILE");
    cly_context_destroy(ctx);

    setenv("CLAYER_TUNING", "off", 1);
    ctx = cly_test_context();
    t = cly_conv_direct_tile(ctx, &g, &wg);
    ck_assert(!(t.vw == 4 && t.kt == 3 && t.ty == 5));
    ck_assert(!cly_conv_tuned_text(ctx, CLY_CONV_DIRECT, &g, text, sizeof text));
    cly_context_destroy(ctx);
    ck_assert_int_eq(warnings, 0);
}
END_TEST

/* A corrupt file on disk: the context comes up, warns, uses the table. */
START_TEST(test_corrupt_file_ignored)
{
    cly_context *ctx = cly_test_context();
    char path[4300];
    snprintf(path, sizeof path, "%s", cly_context_tuning_path(ctx));
    cly_context_destroy(ctx);
    ck_assert_int_eq(cly_cache_make_dirs(dir), 0);
    FILE *fh = fopen(path, "wb");
    ck_assert_ptr_nonnull(fh);
    fputs("not a tuning file\n", fh); /* no header, then a line past the limit */
    for (int i = 0; i < 3000; i++)
        fputc('x', fh);
    fclose(fh);
    ctx = cly_test_context();
    ck_assert_int_ge(warnings, 1);
    char why[512];
    ck_assert_msg(cly_test_conv_check(ctx, (cly_shape){1, 3, 5, 5}, (cly_shape){2, 3, 3, 3}, true, CONV_P(1, 1, 1),
                                      5, 5, 7, why, sizeof why) == 0, "%s", why);
    cly_context_destroy(ctx);
}
END_TEST

START_TEST(test_tune_conv_short)
{
    cly_context *ctx = cly_test_context();
    const cly_conv_params p = {.filters = 8, .size = {3, 3}, .pad = CLY_PAD(1)};
    const cly_tune_options o = {.budget_s = 3, .runs = 3};
    cly_tune_result r;
    ck_assert_int_eq(cly_tune_conv(ctx, (cly_shape){1, 4, 10, 10}, &p, &o, &r), CLY_SUCCESS);
    ck_assert(!r.already && r.candidates >= 1 && r.ms > 0 && r.default_ms > 0);
    ck_assert_int_eq(r.rejected, 0);
    ck_assert_ptr_nonnull(cly_tuned_find(ctx, r.key));
    ck_assert_int_eq(cly_tune_conv(ctx, (cly_shape){1, 4, 10, 10}, &p, &o, &r), CLY_SUCCESS);
    ck_assert(r.already);
    ck_assert_int_eq(cly_tuning_save(ctx), CLY_SUCCESS);
    cly_context_destroy(ctx);
}
END_TEST

/* The built-in rows: CPUs by type, GPUs by vendor and local memory. */
START_TEST(test_builtin_rows)
{
    static const struct {
        cly_device_type type;
        const char *vendor, *platform;
        uint64_t local_kib;
        const char *row;
    } cases[] = {
        {CLY_DEVICE_CPU, "AuthenticAMD", "Portable Computing Language", 256, "CPU"},
        {CLY_DEVICE_GPU, "NVIDIA Corporation", "NVIDIA CUDA", 48, "NVIDIA GPU"},
        {CLY_DEVICE_GPU, "Advanced Micro Devices, Inc.", "AMD Accelerated Parallel Processing", 64,
         "AMD GPU, 64 KiB LDS"},
        {CLY_DEVICE_GPU, "AMD", "rusticl", 32, "AMD GPU"},
        {CLY_DEVICE_GPU, "Intel(R) Corporation", "Intel(R) OpenCL Graphics", 64, "Intel GPU"},
        {CLY_DEVICE_GPU, "ARM", "ARM Platform", 16, "GPU, under 32 KiB local memory"},
        {CLY_DEVICE_GPU, "University of Bristol", "Oclgrind", 32, "GPU"},
        {CLY_DEVICE_ACCELERATOR, "Xilinx", "Xilinx", 64, "accelerator"},
        {CLY_DEVICE_CUSTOM, "x", "y", 0, "default"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cly_device_info d = fake_device();
        d.type = cases[i].type;
        snprintf(d.vendor, sizeof d.vendor, "%s", cases[i].vendor);
        snprintf(d.platform_name, sizeof d.platform_name, "%s", cases[i].platform);
        d.local_mem_bytes = cases[i].local_kib << 10;
        const cly_tuning *t = cly_tuning_for(&d);
        ck_assert_str_eq(t->name, cases[i].row);
        /* GPU-shaped rows run VW 1-4. */
        if (d.type == CLY_DEVICE_GPU && strcmp(t->name, "GPU") != 0)
            ck_assert_int_le(t->direct_vw_max, 4);
        /* AUTO takes tiled on the vendor GPU rows and the small one only
         * (never a CPU, nor oclgrind's plain row), whose tile fits half the
         * row's least local memory in double. */
        ck_assert_int_eq(t->tiled_auto, d.type == CLY_DEVICE_GPU && strcmp(t->name, "GPU") != 0);
        const cly_tiled_tile tt = t->tiled;
        ck_assert(tt.vw == 1 || tt.vw == 2 || tt.vw == 4);
        ck_assert_int_eq(tt.rn % tt.vw, 0);
        if (t->tiled_auto)
            ck_assert_uint_le((uint64_t)tt.tk * (tt.wm * tt.rm + tt.wn * tt.rn) * 8,
                              t->min_local_bytes ? t->min_local_bytes / 2 : 16 << 10);
    }
}
END_TEST

int main(void)
{
    bool device = cly_test_device_available();
    Suite *s = suite_create("tuning");
    TCase *tc = tcase_create("file");
    tcase_set_timeout(tc, CLY_TEST_TIMEOUT);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_parse_valid);
    tcase_add_test(tc, test_parse_bad_lines);
    tcase_add_test(tc, test_parse_foreign);
    tcase_add_test(tc, test_builtin_rows);
    suite_add_tcase(s, tc);
    if (device) {
        tc = tcase_create("device");
        tcase_set_timeout(tc, CLY_TEST_TIMEOUT);
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_save_atomic_and_reload);
        tcase_add_test(tc, test_tuned_entry_used);
        tcase_add_test(tc, test_corrupt_file_ignored);
        tcase_add_test(tc, test_tune_conv_short);
        suite_add_tcase(s, tc);
    }
    return cly_test_run(s, device);
}
