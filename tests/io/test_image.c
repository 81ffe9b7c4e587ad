/* Images: PNGs and JPEGs of every colour type made by make_images.py with
 * PIL, decoded to PIL's RGB bytes exactly, resized to PIL's BILINEAR bytes
 * exactly, and preprocessed to torchvision's float32 tensor (1e-6); broken,
 * empty and oversized files refused with a message naming the file, and no
 * file descriptor left open. Needs no device; exits 77 without PIL. */
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef CLY_IMAGE_TEST_DIR
#error "CLY_IMAGE_TEST_DIR: where make_images.py writes"
#endif

static const char *dir = CLY_IMAGE_TEST_DIR;

/* The whole of DIR/name, NUL-terminated; *size its length. NULL if missing. */
static void *slurp(const char *name, size_t *size)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(fread(p, 1, (size_t)n, f), (size_t)n);
    p[n] = '\0';
    fclose(f);
    *size = (size_t)n;
    return p;
}

static cly_image *load(const char *file)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    cly_image *img = NULL;
    cly_status s = cly_image_load(path, &img);
    ck_assert_msg(s == CLY_SUCCESS, "%s: %s: %s", file, cly_status_string(s), cly_last_error(NULL));
    return img;
}

/* Bytes equal to DIR/expect, else the first difference. */
static void same_bytes(const char *what, const uint8_t *got, int64_t w, int64_t h, const char *expect)
{
    size_t n = 0;
    uint8_t *want = slurp(expect, &n);
    ck_assert_msg(want != NULL, "%s missing", expect);
    ck_assert_msg(n == (size_t)(w * h * 3), "%s: %zu bytes, want %lld x %lld x 3", expect, n, (long long)w,
                  (long long)h);
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i] && bad++ == 0)
            first = i;
    ck_assert_msg(bad == 0, "%s: %zu of %zu bytes differ from PIL's, the first at y %zu x %zu channel %zu: %u, PIL %u",
                  what, bad, n, first / 3 / (size_t)w, first / 3 % (size_t)w, first % 3, got[first], want[first]);
    free(want);
}

START_TEST(t_pil)
{
    size_t n;
    char *text = slurp("manifest.txt", &n);
    ck_assert_ptr_nonnull(text);
    int cases = 0, fds = cly_test_open_fds();
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char name[64], file[64];
        long long w, h, rw, rh;
        cly_preprocess p;
        int got = sscanf(line, "%63s %63s %lld %lld %lld %lld %lld %lld %lld %f %f %f %f %f %f", name, file, &w, &h,
                         &rw, &rh, (long long *)&p.resize, (long long *)&p.crop_h, (long long *)&p.crop_w,
                         &p.mean[0], &p.mean[1], &p.mean[2], &p.std[0], &p.std[1], &p.std[2]);
        ck_assert_int_eq(got, 15);
        cly_image *img = load(file);
        ck_assert_int_eq(cly_image_width(img), w);
        ck_assert_int_eq(cly_image_height(img), h);
        char expect[96];
        snprintf(expect, sizeof expect, "%s.rgb", name);
        same_bytes(name, cly_image_pixels(img), w, h, expect);

        cly_image *r = NULL;
        ck_assert_int_eq(cly_image_resize(img, rw, rh, &r), CLY_SUCCESS);
        snprintf(expect, sizeof expect, "%s.resized", name);
        same_bytes(name, cly_image_pixels(r), rw, rh, expect);
        cly_image_destroy(r);

        int64_t count = 3 * p.crop_h * p.crop_w;
        float *x = malloc((size_t)count * sizeof *x);
        ck_assert_ptr_nonnull(x);
        cly_status s = cly_image_preprocess(img, &p, x, count);
        ck_assert_msg(s == CLY_SUCCESS, "%s: %s", name, cly_last_error(NULL));
        snprintf(expect, sizeof expect, "%s.f32", name);
        float *want = slurp(expect, &n);
        ck_assert_ptr_nonnull(want);
        ck_assert_uint_eq(n, (size_t)count * sizeof *want);
        double worst = 0;
        int64_t at = 0;
        for (int64_t i = 0; i < count; i++)
            if (fabs((double)x[i] - want[i]) > worst) {
                worst = fabs((double)x[i] - want[i]);
                at = i;
            }
        ck_assert_msg(worst <= 1e-6, "%s: the tensor differs by %g at %lld: %.9g, torchvision %.9g", name, worst,
                      (long long)at, x[at], want[at]);
        free(want);
        free(x);
        cly_image_destroy(img);
        cases++;
    }
    ck_assert_int_ge(cases, 16);
    ck_assert_int_eq(cly_test_open_fds(), fds);
    free(text);
}
END_TEST

/* Resizes on their own: one pass only, upscaling, 1 x 1, tall strips. */
START_TEST(t_resize)
{
    size_t n;
    char *text = slurp("resize.txt", &n);
    ck_assert_ptr_nonnull(text);
    int cases = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char name[64], file[64];
        long long rw, rh;
        ck_assert_int_eq(sscanf(line, "%63s %63s %lld %lld", name, file, &rw, &rh), 4);
        cly_image *img = load(file), *r = NULL;
        ck_assert_int_eq(cly_image_resize(img, rw, rh, &r), CLY_SUCCESS);
        ck_assert_int_eq(cly_image_width(r), rw);
        ck_assert_int_eq(cly_image_height(r), rh);
        char expect[96];
        snprintf(expect, sizeof expect, "%s.resized", name);
        same_bytes(name, cly_image_pixels(r), rw, rh, expect);
        cly_image_destroy(r);
        cly_image_destroy(img);
        cases++;
    }
    ck_assert_int_ge(cases, 6);
    free(text);
}
END_TEST

static cly_status status_named(const char *name)
{
    for (int s = 0; s < CLY_STATUS_COUNT; s++) {
        static const char *const names[] = {"CLY_SUCCESS", "CLY_ERROR_INVALID_ARGUMENT", "CLY_ERROR_OUT_OF_HOST_MEMORY",
                                            "CLY_ERROR_NO_PLATFORM", "CLY_ERROR_DEVICE_NOT_FOUND", "CLY_ERROR_OPENCL",
                                            "CLY_ERROR_BUILD_FAILED", "CLY_ERROR_NO_COMPILER",
                                            "CLY_ERROR_SIZE_OVERFLOW", "CLY_ERROR_TOO_LARGE",
                                            "CLY_ERROR_SHAPE_MISMATCH", "CLY_ERROR_IO", "CLY_ERROR_UNSUPPORTED"};
        _Static_assert(sizeof names / sizeof names[0] == CLY_STATUS_COUNT, "a status name per status");
        if (strcmp(names[s], name) == 0)
            return (cly_status)s;
    }
    ck_abort_msg("unknown status %s", name);
    return CLY_STATUS_COUNT;
}

/* Every broken file from disk and from memory: the status bad.txt gives,
 * the file named in the message, *out untouched, no descriptor open. */
START_TEST(t_bad)
{
    size_t n;
    char *text = slurp("bad.txt", &n);
    ck_assert_ptr_nonnull(text);
    int fds = cly_test_open_fds(), cases = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char file[64], status[64], path[4200];
        ck_assert_int_eq(sscanf(line, "%63s %63s", file, status), 2);
        cly_status want = status_named(status);
        snprintf(path, sizeof path, "%s/%s", dir, file);
        cly_image *img = NULL;
        cly_status s = cly_image_load(path, &img);
        ck_assert_msg(s == want, "%s: %s (%s), want %s", file, cly_status_string(s), cly_last_error(NULL), status);
        if (want == CLY_SUCCESS) {
            ck_assert_int_gt(cly_image_width(img), 0);
            cly_image_destroy(img);
            continue;
        }
        ck_assert_ptr_null(img);
        ck_assert_msg(strstr(cly_last_error(NULL), path) != NULL, "%s: the message does not name it: %s", file,
                      cly_last_error(NULL));
        size_t size = 0;
        void *bytes = slurp(file, &size);
        ck_assert_int_eq(cly_image_load_memory(bytes, size, "mem-image", &img), want);
        ck_assert_ptr_null(img);
        ck_assert_msg(strstr(cly_last_error(NULL), "mem-image") != NULL, "%s", cly_last_error(NULL));
        free(bytes);
        cases++;
    }
    ck_assert_int_ge(cases, 11);
    ck_assert_int_eq(cly_test_open_fds(), fds);
    free(text);

    cly_image *img = NULL;
    char path[4200];
    snprintf(path, sizeof path, "%s/no-such-image.png", dir);
    ck_assert_int_eq(cly_image_load(path, &img), CLY_ERROR_IO);
    ck_assert_ptr_nonnull(strstr(cly_last_error(NULL), "no-such-image.png"));
    ck_assert_int_eq(cly_image_load(dir, &img), CLY_ERROR_IO); /* a directory */
    ck_assert_ptr_null(img);
    ck_assert_int_eq(cly_test_open_fds(), fds);
}
END_TEST

START_TEST(t_arguments)
{
    cly_image *img = NULL, *r = NULL;
    ck_assert_int_eq(cly_image_load(NULL, &img), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_image_load_memory(NULL, 4, NULL, &img), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_image_load_memory("", 0, NULL, &img), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(cly_last_error(NULL), "<memory>"));
    cly_image_destroy(NULL);
    ck_assert_int_eq(cly_image_width(NULL), 0);
    ck_assert_ptr_null(cly_image_pixels(NULL));

    img = load("small.png");
    ck_assert_int_eq(cly_image_resize(img, 0, 5, &r), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_image_resize(img, 70000, 5, &r), CLY_ERROR_TOO_LARGE);
    ck_assert_int_eq(cly_image_resize(img, 10000, 10000, &r), CLY_ERROR_TOO_LARGE);
    ck_assert_ptr_null(r);
    float x[3 * 4 * 5];
    cly_preprocess p = {.resize = 8, .crop_h = 4, .crop_w = 5};
    ck_assert_int_eq(cly_image_preprocess(img, &p, x, 60), CLY_SUCCESS);
    ck_assert_int_eq(cly_image_preprocess(img, &p, x, 59), CLY_ERROR_SHAPE_MISMATCH);
    ck_assert_int_eq(cly_image_preprocess(img, NULL, x, 60), CLY_ERROR_SHAPE_MISMATCH);
    ck_assert_ptr_nonnull(strstr(cly_last_error(NULL), "224 x 224"));
    ck_assert_int_eq(cly_image_preprocess(img, &(cly_preprocess){.resize = -1}, x, 60), CLY_ERROR_INVALID_ARGUMENT);
    p.std[1] = 1; /* given, so std[0] = 0 is an error */
    ck_assert_int_eq(cly_image_preprocess(img, &p, x, 60), CLY_ERROR_INVALID_ARGUMENT);
    /* 50 x 37 to a short side of 65535 is too wide. */
    p = (cly_preprocess){.resize = 65535, .crop_h = 4, .crop_w = 5};
    ck_assert_int_eq(cly_image_preprocess(img, &p, x, 60), CLY_ERROR_TOO_LARGE);
    ck_assert_int_eq(cly_image_preprocess(NULL, NULL, x, 60), CLY_ERROR_INVALID_ARGUMENT);
    cly_image_destroy(img);
}
END_TEST

int main(void)
{
    /* The images and PIL's answers, made fresh for every run. */
    char cmd[8400];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c 'import PIL, numpy' 2>/dev/null && mkdir -p '%s' && "
             "/usr/bin/python3 '%s' '%s'",
             dir, CLY_IMAGE_TEST_SCRIPT, dir);
    int rc = system(cmd);
    if (rc != 0) {
        fprintf(stderr, "skipping: /usr/bin/python3 with PIL and numpy is needed (python3-pil, python3-numpy), "
                        "or make_images.py failed (%d)\n",
                rc);
        return CLY_TEST_SKIP;
    }
    Suite *s = suite_create("image");
    TCase *tc = tcase_create("image");
    tcase_set_timeout(tc, CLY_TEST_TIMEOUT);
    tcase_add_test(tc, t_pil);
    tcase_add_test(tc, t_resize);
    tcase_add_test(tc, t_bad);
    tcase_add_test(tc, t_arguments);
    suite_add_tcase(s, tc);
    return cly_test_run(s, true);
}
