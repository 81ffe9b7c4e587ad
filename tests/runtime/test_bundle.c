/* Kernel bundles and binary-only mode: the format's round trip and every
 * truncation, flipped byte and lying length refused (io/bundle.c); a
 * context saving its programs and another running from them with no
 * compiler and no cache, exactly; refusals at creation (another device,
 * driver or library version, corrupt, truncated, missing file) and at
 * build time (a missing program, the builtin GEMM's included), each with a
 * message naming what was searched; im2col binary-only on the builtin GEMM. Binary cache entries serve binary-only contexts too. */
#include "test_util.h"
#include "io/bundle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char tmp[4096], bundle_path[4200];

static void setup(void)
{
    cly_test_mkdtemp(tmp, sizeof tmp);
    snprintf(bundle_path, sizeof bundle_path, "%s/k.clb", tmp);
    setenv("CLAYER_CACHE", "off", 1);
    unsetenv("CLAYER_BUNDLE");
    unsetenv("CLAYER_NO_COMPILER");
}

static void teardown(void)
{
    unsetenv("CLAYER_CACHE");
    unsetenv("CLAYER_CACHE_DIR");
    cly_test_rmtree(tmp);
}

/* ------------------------------------------------------------ the format */

static const cly_bundle_target target = {"9.9.9", "plat", "plat 1.0", "dev", "drv 2"};

static uint8_t *sample(size_t *size)
{
    static const uint8_t bin_a[] = {1, 2, 3, 4, 5}, bin_b[] = {9};
    cly_bundle_entry e[2] = {{.name = "conv_direct", .options = "-cl-std=CL1.2 -DVW=8", .binary = bin_a, .size = 5},
                             {.name = "pool", .options = "", .binary = bin_b, .size = 1}};
    memset(e[0].source_sha256, 0xab, 32);
    uint8_t *out;
    ck_assert_int_eq(cly_bundle_encode(&target, e, 2, &out, size), CLY_SUCCESS);
    return out;
}

/* Recompute the trailing SHA-256, so that a structural lie gets past it. */
static void reseal(uint8_t *data, size_t size)
{
    cly_sha256 h;
    cly_sha256_init(&h);
    cly_sha256_update(&h, data, size - 32);
    cly_sha256_final(&h, data + size - 32);
}

static void expect_invalid(const uint8_t *data, size_t size, const char *fragment)
{
    cly_bundle *b = NULL;
    cly_status s = cly_bundle_parse(data, size, "t.clb", &b);
    ck_assert_int_eq(s, CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_ptr_null(b);
    const char *msg = cly_last_error(NULL);
    ck_assert_msg(strstr(msg, "t.clb: not a valid kernel bundle") && strstr(msg, fragment), "message: %s", msg);
}

START_TEST(format_round_trip)
{
    size_t size;
    uint8_t *data = sample(&size);
    cly_bundle *b;
    ck_assert_int_eq(cly_bundle_parse(data, size, "t.clb", &b), CLY_SUCCESS);
    ck_assert_str_eq(b->library_version, "9.9.9");
    ck_assert_str_eq(b->device_name, "dev");
    ck_assert_str_eq(b->driver_version, "drv 2");
    ck_assert_uint_eq(b->count, 2);
    const cly_bundle_entry *e = cly_bundle_find(b, "conv_direct", "-cl-std=CL1.2 -DVW=8");
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(e->size, 5);
    ck_assert_int_eq(e->binary[4], 5);
    ck_assert_int_eq(e->source_sha256[31], 0xab);
    ck_assert_ptr_null(cly_bundle_find(b, "conv_direct", "-cl-std=CL1.2"));
    ck_assert_ptr_nonnull(cly_bundle_find(b, "pool", ""));
    const char *have, *want;
    ck_assert_ptr_null(cly_bundle_mismatch(b, &target, &have, &want));
    cly_bundle_target other = target;
    other.driver_version = "drv 3";
    ck_assert_str_eq(cly_bundle_mismatch(b, &other, &have, &want), "driver version");
    ck_assert_str_eq(have, "drv 2");
    ck_assert_str_eq(want, "drv 3");
    cly_bundle_free(b);
    free(data);
}
END_TEST

START_TEST(format_every_truncation_and_flip)
{
    size_t size;
    uint8_t *data = sample(&size);
    for (size_t n = 0; n < size; n++) {
        cly_bundle *b = NULL;
        ck_assert_msg(cly_bundle_parse(data, n, "t.clb", &b) == CLY_ERROR_INVALID_ARGUMENT, "%zu of %zu bytes", n,
                      size);
    }
    for (size_t i = 0; i < size; i++)
        for (int bit = 0; bit < 8; bit += 7) {
            data[i] ^= (uint8_t)(1u << bit);
            cly_bundle *b = NULL;
            ck_assert_msg(cly_bundle_parse(data, size, "t.clb", &b) == CLY_ERROR_INVALID_ARGUMENT,
                          "byte %zu bit %d flipped", i, bit);
            data[i] ^= (uint8_t)(1u << bit);
        }
    free(data);
}
END_TEST

/* Lies behind a valid checksum: each refused by the structural checks. */
START_TEST(format_structural_lies)
{
    size_t size;
    uint8_t *data = sample(&size);
    uint8_t *copy = malloc(size + 8);
    /* Layout: 16-byte head, then strings "9.9.9" (4+5) "plat" (4+4)
     * "plat 1.0" (4+8) "dev" (4+3) "drv 2" (4+5), then entry 0. */
    const size_t entry0 = 16 + 9 + 8 + 12 + 7 + 9;
    const size_t bin_len0 = entry0 + 4 + 11 + 4 + 20 + 32;

    memcpy(copy, data, size);
    copy[8] = 2; /* format version */
    reseal(copy, size);
    expect_invalid(copy, size, "format version 2");

    memcpy(copy, data, size);
    copy[12] = 3; /* three entries, two present */
    reseal(copy, size);
    expect_invalid(copy, size, "entry 2");

    memcpy(copy, data, size);
    copy[14] = 0x10; /* a million entries */
    reseal(copy, size);
    expect_invalid(copy, size, "entries");

    memcpy(copy, data, size);
    copy[16] = 0xff; /* the library version's length */
    reseal(copy, size);
    expect_invalid(copy, size, "the library version");

    memcpy(copy, data, size);
    copy[bin_len0] = 0xff; /* entry 0's binary runs past the end */
    reseal(copy, size);
    expect_invalid(copy, size, "entry 0 ('conv_direct') has a binary of");

    memcpy(copy, data, size);
    memset(copy + bin_len0, 0, 8); /* an empty binary */
    reseal(copy, size);
    expect_invalid(copy, size, "binary of 0 bytes");

    memcpy(copy, data, size);
    copy[entry0 + 4 + 2] = 0; /* a NUL inside the program name */
    reseal(copy, size);
    expect_invalid(copy, size, "holds a NUL");

    /* Trailing bytes after the last entry. */
    memcpy(copy, data, size - 32);
    memset(copy + size - 32, 0, 8);
    reseal(copy, size + 8);
    expect_invalid(copy, size + 8, "8 bytes after the last entry");

    /* A repeated (program, options) pair. */
    static const uint8_t bin[] = {7};
    cly_bundle_entry twice[2] = {{.name = "pool", .options = "-DX", .binary = bin, .size = 1},
                                 {.name = "pool", .options = "-DX", .binary = bin, .size = 1}};
    uint8_t *dup;
    size_t dup_size;
    ck_assert_int_eq(cly_bundle_encode(&target, twice, 2, &dup, &dup_size), CLY_ERROR_INVALID_ARGUMENT);
    twice[1].options = "-DY";
    ck_assert_int_eq(cly_bundle_encode(&target, twice, 2, &dup, &dup_size), CLY_SUCCESS);
    /* Rename entry 1's options "-DY" to "-DX" in place. */
    uint8_t *y = NULL;
    for (size_t i = 0; !y && i + 3 <= dup_size; i++)
        if (memcmp(dup + i, "-DY", 3) == 0)
            y = dup + i;
    ck_assert_ptr_nonnull(y);
    y[2] = 'X';
    reseal(dup, dup_size);
    expect_invalid(dup, dup_size, "entry 1 repeats program 'pool' with options '-DX'");
    free(dup);
    free(copy);
    free(data);
}
END_TEST

/* ------------------------------------------------------ contexts and files */

static cly_context *binary_only_ctx(const char *path, cly_status *s)
{
    cly_context *ctx = NULL;
    cly_context_options o = {.struct_size = sizeof o, .bundle = path, .no_compiler = true};
    *s = cly_context_create_ex(&o, &ctx);
    return ctx;
}

/* The direct convolution at stride 1 (and 2: other build options) checked
 * exactly; -1 with the reason in why when a call failed. */
static int64_t conv(cly_context *ctx, int stride, char *why, size_t size)
{
    cly_conv_params p = CONV_P(stride, 1, 1);
    p.algo = CLY_CONV_DIRECT;
    int64_t side = stride == 1 ? 7 : 4;
    return cly_test_conv_check(ctx, (cly_shape){2, 3, 7, 7}, (cly_shape){4, 3, 3, 3}, true, p, side, side, 11, why,
                               size);
}

/* A bundle of the stride-1 convolution's programs at bundle_path. */
static size_t make_bundle(void)
{
    cly_context *ctx = cly_test_context();
    char why[512];
    ck_assert_msg(conv(ctx, 1, why, sizeof why) == 0, "%s", why);
    size_t n = cly_context_program_count(ctx);
    ck_assert_uint_gt(n, 0);
    const char *name, *options;
    ck_assert_int_eq(cly_context_program_info(ctx, 0, &name, &options), CLY_SUCCESS);
    ck_assert_msg(strstr(options, "-cl-std=CL1.2") != NULL, "options '%s'", options);
    cly_status s = cly_context_program_info(ctx, n, &name, &options);
    ck_assert_int_eq(s, CLY_ERROR_INVALID_ARGUMENT);
    s = cly_context_save_bundle(ctx, bundle_path);
    ck_assert_msg(s == CLY_SUCCESS, "%s", cly_last_error(ctx));
    cly_context_destroy(ctx);
    return n;
}

START_TEST(binary_only_from_bundle)
{
    size_t n = make_bundle();
    cly_status s;
    cly_context *ctx = binary_only_ctx(bundle_path, &s);
    ck_assert_msg(s == CLY_SUCCESS, "%s", cly_last_error(NULL));
    ck_assert(cly_context_binary_only(ctx));
    char why[2048];
    ck_assert_msg(conv(ctx, 1, why, sizeof why) == 0, "%s", why);
    cly_context_stats st;
    ck_assert_int_eq(cly_context_stats_get(ctx, &st), CLY_SUCCESS);
    ck_assert_uint_eq(st.programs_built, 0);
    ck_assert_uint_eq(ctx->programs_from_bundle, n);
    /* Stride 2 builds conv_direct with other options: not in the bundle. */
    ck_assert_int_eq(conv(ctx, 2, why, sizeof why), -1);
    const char *msg = cly_last_error(ctx);
    ck_assert_msg(strstr(msg, "program 'conv_direct' with options '-cl-std=CL1.2 ") && strstr(msg, "-DSH=2") &&
                      strstr(msg, bundle_path) && strstr(msg, "binary cache (off)") &&
                      strstr(msg, "binary-only mode"),
                  "message: %s", msg);
    ck_assert_uint_eq((ctx->stats.programs_built), 0);
    cly_context_destroy(ctx);
}
END_TEST

START_TEST(binary_only_from_environment)
{
    make_bundle();
    setenv("CLAYER_BUNDLE", bundle_path, 1);
    setenv("CLAYER_NO_COMPILER", "1", 1);
    cly_context *ctx = cly_test_context();
    ck_assert(cly_context_binary_only(ctx));
    char why[2048];
    ck_assert_msg(conv(ctx, 1, why, sizeof why) == 0, "%s", why);
    ck_assert_uint_eq(ctx->stats.programs_built, 0);
    cly_context_destroy(ctx);
    /* Without a bundle nothing can be found: the message says so. */
    unsetenv("CLAYER_BUNDLE");
    ctx = cly_test_context();
    ck_assert_int_eq(conv(ctx, 1, why, sizeof why), -1);
    ck_assert_msg(strstr(cly_last_error(ctx), "kernel bundle (none loaded)"), "%s", cly_last_error(ctx));
    cly_context_destroy(ctx);
}
END_TEST

/* The binary cache serves a binary-only context. */
START_TEST(binary_only_from_cache)
{
    char cache[4300];
    snprintf(cache, sizeof cache, "%s/cache", tmp);
    unsetenv("CLAYER_CACHE");
    setenv("CLAYER_CACHE_DIR", cache, 1);
    cly_context *ctx = cly_test_context();
    char why[2048];
    ck_assert_msg(conv(ctx, 1, why, sizeof why) == 0, "%s", why);
    cly_context_destroy(ctx);
    cly_status s;
    ctx = binary_only_ctx(NULL, &s);
    ck_assert_int_eq(s, CLY_SUCCESS);
    ck_assert_msg(conv(ctx, 1, why, sizeof why) == 0, "%s", why);
    ck_assert_uint_eq(ctx->stats.programs_built, 0);
    ck_assert_uint_gt(ctx->stats.programs_from_cache, 0);
    ck_assert_int_eq(conv(ctx, 2, why, sizeof why), -1);
    ck_assert_msg(strstr(cly_last_error(ctx), cache), "%s", cly_last_error(ctx));
    cly_context_destroy(ctx);
}
END_TEST

static uint8_t *read_bundle(size_t *size)
{
    FILE *f = fopen(bundle_path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *data = malloc((size_t)n);
    ck_assert_uint_eq(fread(data, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *size = (size_t)n;
    return data;
}

static void write_bundle(const uint8_t *data, size_t size)
{
    FILE *f = fopen(bundle_path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, size, f), size);
    fclose(f);
}

static void expect_refused(cly_status want, const char *fragment)
{
    cly_status s;
    cly_context *ctx = binary_only_ctx(bundle_path, &s);
    ck_assert_ptr_null(ctx);
    ck_assert_int_eq(s, want);
    const char *msg = cly_last_error(NULL);
    ck_assert_msg(strstr(msg, "kernel bundle") && strstr(msg, fragment), "message: %s", msg);
}

/* The bundle re-encoded with one header field changed. */
static void rewrite_target(const uint8_t *data, size_t size, int field, const char *value)
{
    cly_bundle *b;
    ck_assert_int_eq(cly_bundle_parse(data, size, bundle_path, &b), CLY_SUCCESS);
    cly_bundle_target t = {b->library_version, b->platform_name, b->platform_version, b->device_name,
                           b->driver_version};
    const char **f[] = {&t.library_version, &t.platform_version, &t.device_name, &t.driver_version};
    *f[field] = value;
    uint8_t *out;
    size_t n;
    ck_assert_int_eq(cly_bundle_encode(&t, b->entries, b->count, &out, &n), CLY_SUCCESS);
    write_bundle(out, n);
    free(out);
    cly_bundle_free(b);
}

START_TEST(refused_at_creation)
{
    make_bundle();
    size_t size;
    uint8_t *data = read_bundle(&size);
    static const char *const what[] = {"library version '0.0.1'", "platform version 'OpenCL 0.1'",
                                       "device name 'another board'", "driver version '0.0'"};
    static const char *const value[] = {"0.0.1", "OpenCL 0.1", "another board", "0.0"};
    for (int i = 0; i < 4; i++) {
        rewrite_target(data, size, i, value[i]);
        expect_refused(CLY_ERROR_UNSUPPORTED, what[i]);
    }
    data[size / 2] ^= 0x20;
    write_bundle(data, size);
    expect_refused(CLY_ERROR_INVALID_ARGUMENT, "does not match");
    data[size / 2] ^= 0x20;
    write_bundle(data, size - 100);
    expect_refused(CLY_ERROR_INVALID_ARGUMENT, "not a valid kernel bundle");
    write_bundle(data, 0);
    expect_refused(CLY_ERROR_INVALID_ARGUMENT, "0 bytes");
    remove(bundle_path);
    expect_refused(CLY_ERROR_IO, bundle_path);
    /* The same refusal through $CLAYER_BUNDLE, named as such. */
    setenv("CLAYER_BUNDLE", bundle_path, 1);
    cly_context *ctx = NULL;
    cly_status s = cly_context_create(NULL, &ctx);
    ck_assert_int_eq(s, CLY_ERROR_IO);
    ck_assert_msg(strstr(cly_last_error(NULL), "$CLAYER_BUNDLE"), "%s", cly_last_error(NULL));
    free(data);
}
END_TEST

/* A bundle from cly_context_add_binary (the offline manifest's path) runs. */
START_TEST(added_binaries)
{
    make_bundle();
    size_t size;
    uint8_t *data = read_bundle(&size);
    cly_bundle *b;
    ck_assert_int_eq(cly_bundle_parse(data, size, bundle_path, &b), CLY_SUCCESS);
    cly_context *ctx = cly_test_context();
    cly_status s = cly_context_save_bundle(ctx, bundle_path);
    ck_assert_int_eq(s, CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_msg(strstr(cly_last_error(ctx), "no programs"), "%s", cly_last_error(ctx));
    s = cly_context_add_binary(ctx, "no_such_program", "", data, 1);
    ck_assert_int_eq(s, CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_msg(strstr(cly_last_error(ctx), "'no_such_program'"), "%s", cly_last_error(ctx));
    for (size_t i = 0; i < b->count; i++) {
        s = cly_context_add_binary(ctx, b->entries[i].name, b->entries[i].options, b->entries[i].binary,
                                   b->entries[i].size);
        ck_assert_msg(s == CLY_SUCCESS, "%s", cly_last_error(ctx));
    }
    s = cly_context_add_binary(ctx, b->entries[0].name, b->entries[0].options, b->entries[0].binary,
                               b->entries[0].size);
    ck_assert_int_eq(s, CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_context_save_bundle(ctx, bundle_path), CLY_SUCCESS);
    cly_context_destroy(ctx);
    cly_bundle_free(b);
    free(data);

    ctx = binary_only_ctx(bundle_path, &s);
    ck_assert_msg(s == CLY_SUCCESS, "%s", cly_last_error(NULL));
    char why[2048];
    ck_assert_msg(conv(ctx, 1, why, sizeof why) == 0, "%s", why);
    cly_context_destroy(ctx);
}
END_TEST

/* im2col's GEMM: a binary-only context runs clayer's own in CLBlast's
 * place. A bundle from a context that ran CLBlast lacks its program and is
 * refused, naming it; one from a context on the builtin GEMM runs im2col
 * exactly. */
START_TEST(im2col_gemm_from_bundle)
{
    cly_conv_params p = CONV_P(1, 1, 1);
    p.algo = CLY_CONV_IM2COL;
    const cly_shape x = {1, 3, 7, 7}, w = {4, 3, 3, 3};
    char why[2048];
    for (int builtin = 0; builtin < 2; builtin++) {
        cly_context_options o = {.struct_size = sizeof o, .gemm = builtin ? CLY_GEMM_BUILTIN : CLY_GEMM_CLBLAST};
        cly_context *ctx = NULL;
        ck_assert_int_eq(cly_context_create_ex(&o, &ctx), CLY_SUCCESS);
        ck_assert_int_eq(cly_context_gemm(ctx), o.gemm);
        ck_assert_msg(cly_test_conv_check(ctx, x, w, true, p, 7, 7, 3, why, sizeof why) == 0, "%s", why);
        ck_assert_int_eq(cly_context_save_bundle(ctx, bundle_path), CLY_SUCCESS);
        cly_context_destroy(ctx);
        cly_status s;
        ctx = binary_only_ctx(bundle_path, &s);
        ck_assert_int_eq(s, CLY_SUCCESS);
        ck_assert_int_eq(cly_context_gemm(ctx), CLY_GEMM_BUILTIN);
        const int64_t r = cly_test_conv_check(ctx, x, w, true, p, 7, 7, 3, why, sizeof why);
        if (builtin)
            ck_assert_msg(r == 0, "%s", why);
        else
            ck_assert_msg(r == -1 && strstr(cly_last_error(ctx), "program 'gemm'") &&
                              strstr(cly_last_error(ctx), "binary-only"),
                          "%lld: %s", (long long)r, cly_last_error(ctx));
        cly_context_destroy(ctx);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("bundle");
    TCase *f = tcase_create("format");
    tcase_add_test(f, format_round_trip);
    tcase_add_test(f, format_every_truncation_and_flip);
    tcase_add_test(f, format_structural_lies);
    suite_add_tcase(s, f);
    bool device = cly_test_device_available();
    if (device) {
        TCase *tc = tcase_create("context");
        tcase_set_timeout(tc, CLY_TEST_TIMEOUT);
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, binary_only_from_bundle);
        tcase_add_test(tc, binary_only_from_environment);
        tcase_add_test(tc, binary_only_from_cache);
        tcase_add_test(tc, refused_at_creation);
        tcase_add_test(tc, added_binaries);
        tcase_add_test(tc, im2col_gemm_from_bundle);
        suite_add_tcase(s, tc);
    }
    return cly_test_run(s, device);
}
