/* Status names, the error slots (per thread and per context), the log
 * callback, and the window arithmetic of src/shape.h. */
#include "base/shape.h"
#include "test_util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

START_TEST(test_status_strings)
{
    for (int i = 0; i < CLY_STATUS_COUNT; i++) {
        const char *a = cly_status_string((cly_status)i);
        ck_assert_ptr_nonnull(a);
        ck_assert_msg(a[0] != '\0', "status %d has an empty name", i);
        ck_assert_msg(strcmp(a, "unknown status") != 0, "status %d is unnamed", i);
        for (int j = 0; j < i; j++)
            ck_assert_msg(strcmp(a, cly_status_string((cly_status)j)) != 0, "statuses %d and %d share '%s'", j, i, a);
    }
    ck_assert_str_eq(cly_status_string(CLY_SUCCESS), "success");
    ck_assert_str_eq(cly_status_string(CLY_STATUS_COUNT), "unknown status");
    ck_assert_str_eq(cly_status_string((cly_status)-1), "unknown status");
    ck_assert_str_eq(cly_status_string((cly_status)1000), "unknown status");
}
END_TEST

START_TEST(test_version)
{
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", CLY_VERSION_MAJOR, CLY_VERSION_MINOR, CLY_VERSION_PATCH);
    ck_assert_str_eq(cly_version(), want);
}
END_TEST

static void *thread_error(void *arg)
{
    char *out = arg;
    snprintf(out, 256, "%s", cly_last_error(NULL)); /* untouched thread: "" */
    size_t idx;
    cly_device_select(NULL, 0, NULL, &idx);
    snprintf(out + 256, 256, "%s", cly_last_error(NULL));
    return NULL;
}

START_TEST(test_thread_error)
{
    /* check's child has made no failing call yet. */
    ck_assert_str_eq(cly_last_error(NULL), "");
    size_t idx;
    ck_assert_int_eq(cly_device_select(NULL, 0, "gpu", &idx), CLY_ERROR_INVALID_ARGUMENT);
    char mine[512];
    snprintf(mine, sizeof mine, "%s", cly_last_error(NULL));
    ck_assert_msg(strstr(mine, "cly_device_select") != NULL, "%s", mine);

    /* Another thread starts with "" and its failure stays its own. */
    char theirs[512] = "x";
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, thread_error, theirs), 0);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    ck_assert_str_eq(theirs, "");
    ck_assert_msg(strstr(theirs + 256, "cly_device_select") != NULL, "%s", theirs + 256);
    ck_assert_str_eq(cly_last_error(NULL), mine);

    /* A later failure replaces the message; a success leaves it alone. */
    ck_assert_int_eq(cly_device_select((cly_device_info[1]){{0}}, 1, "gpu:", &idx), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_msg(strstr(cly_last_error(NULL), "gpu:") != NULL, "%s", cly_last_error(NULL));
    snprintf(mine, sizeof mine, "%s", cly_last_error(NULL));
    ck_assert_int_eq(cly_device_select((cly_device_info[1]){{0}}, 1, NULL, &idx), CLY_SUCCESS);
    ck_assert_str_eq(cly_last_error(NULL), mine);
}
END_TEST

START_TEST(test_context_error)
{
    cly_context *a = cly_test_context(), *b = cly_test_context();
    ck_assert_str_eq(cly_last_error(a), "");
    cly_tensor *t = NULL;
    ck_assert_int_eq(cly_tensor_create(a, (cly_shape){1, 0, 2, 2}, &t), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_ptr_null(t);
    ck_assert_msg(strstr(cly_last_error(a), "c = 0") != NULL, "%s", cly_last_error(a));
    ck_assert_str_eq(cly_last_error(b), ""); /* b saw no failure */
    ck_assert_str_eq(cly_last_error(NULL), cly_last_error(a));

    char keep[512];
    snprintf(keep, sizeof keep, "%s", cly_last_error(a));
    ck_assert_int_eq(cly_tensor_create(b, (cly_shape){1, 1, -7, 2}, &t), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_msg(strstr(cly_last_error(b), "h = -7") != NULL, "%s", cly_last_error(b));
    ck_assert_str_eq(cly_last_error(a), keep);

    /* Successful calls keep the last failure's detail. */
    ck_assert_int_eq(cly_tensor_create(a, (cly_shape){1, 1, 2, 2}, &t), CLY_SUCCESS);
    ck_assert_str_eq(cly_last_error(a), keep);
    cly_tensor_destroy(t);
    cly_context_destroy(a);
    cly_context_destroy(b);
}
END_TEST

/* ---- logging */

typedef struct captured {
    int count;
    int worst_level; /* the least severe level seen (largest value) */
    char text[8192];
} captured;

static void capture(cly_log_level level, const char *message, void *user)
{
    captured *c = user;
    c->count++;
    if ((int)level > c->worst_level)
        c->worst_level = (int)level;
    size_t used = strlen(c->text);
    snprintf(c->text + used, sizeof c->text - used, "[%d] %s\n", (int)level, message);
}

START_TEST(test_log_levels)
{
    size_t idx;
    captured c = {.worst_level = -1};
    cly_set_log_callback(capture, CLY_LOG_ERROR, &c);
    ck_assert_int_eq(cly_device_select(NULL, 0, NULL, &idx), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(c.count, 0); /* failures are logged at debug level only */

    cly_set_log_callback(capture, CLY_LOG_DEBUG, &c);
    ck_assert_int_eq(cly_device_select(NULL, 0, NULL, &idx), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(c.count, 1);
    ck_assert_int_eq(c.worst_level, CLY_LOG_DEBUG);
    ck_assert_msg(strstr(c.text, cly_last_error(NULL)) != NULL, "%s", c.text);
    cly_set_log_callback(NULL, CLY_LOG_WARN, NULL);
}
END_TEST

/* Run `fn` with stderr sent to a file; returns what it wrote (static). */
static const char *stderr_of(void (*fn)(void))
{
    static char out[8192];
    fflush(stderr);
    int saved = dup(2);
    FILE *f = tmpfile();
    ck_assert(saved >= 0 && f);
    dup2(fileno(f), 2);
    fn();
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(f);
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = '\0';
    fclose(f);
    return out;
}

static void fail_once(void)
{
    size_t idx;
    cly_device_select(NULL, 0, NULL, &idx);
}

START_TEST(test_log_default_restored)
{
    captured c = {.worst_level = -1};
    cly_set_log_callback(capture, CLY_LOG_DEBUG, &c);
    ck_assert_str_eq(stderr_of(fail_once), ""); /* the callback took it */
    ck_assert_int_eq(c.count, 1);

    cly_set_log_callback(NULL, CLY_LOG_DEBUG, NULL);
    setenv("CLAYER_LOG", "debug", 1);
    const char *err = stderr_of(fail_once);
    ck_assert_int_eq(c.count, 1); /* no longer called */
    ck_assert_msg(strstr(err, "clayer debug: cly_device_select") != NULL, "stderr: '%s'", err);

    /* The default threshold is $CLAYER_LOG, else warn: debug stays quiet. */
    setenv("CLAYER_LOG", "warn", 1);
    ck_assert_str_eq(stderr_of(fail_once), "");
    unsetenv("CLAYER_LOG");
    ck_assert_str_eq(stderr_of(fail_once), "");
}
END_TEST

START_TEST(test_log_cache_warning)
{
    /* A symlinked cache directory is refused with a warning, and the run
     * goes on without the cache. */
    char tmp[4096], real[4200], link[4200];
    cly_test_mkdtemp(tmp, sizeof tmp);
    snprintf(real, sizeof real, "%s/real", tmp);
    snprintf(link, sizeof link, "%s/link", tmp);
    ck_assert_int_eq(mkdir(real, 0700), 0);
    ck_assert_int_eq(symlink(real, link), 0);
    setenv("CLAYER_CACHE_DIR", link, 1);
    unsetenv("CLAYER_CACHE");

    captured warn = {.worst_level = -1}, all = {.worst_level = -1};
    cly_set_log_callback(capture, CLY_LOG_WARN, &warn);
    cly_context *ctx = cly_test_context();
    char why[512];
    int64_t bad = cly_test_conv_check(ctx, (cly_shape){1, 2, 5, 5}, (cly_shape){3, 2, 3, 3}, true,
                                      CONV_P(1, 1, 1), 5, 5, 7, why, sizeof why);
    ck_assert_msg(bad == 0, "%s", why);
    cly_context_destroy(ctx);
    ck_assert_msg(warn.count >= 1 && strstr(warn.text, "symbolic link") != NULL, "log: %s", warn.text);
    ck_assert_msg(warn.worst_level == CLY_LOG_WARN, "got a message above warn: %s", warn.text);

    /* At debug level the same run also reports the context and the build. */
    cly_set_log_callback(capture, CLY_LOG_DEBUG, &all);
    ctx = cly_test_context();
    bad = cly_test_conv_check(ctx, (cly_shape){1, 2, 5, 5}, (cly_shape){3, 2, 3, 3}, true,
                              CONV_P(1, 1, 1), 5, 5, 7, why, sizeof why);
    ck_assert_msg(bad == 0, "%s", why);
    cly_context_destroy(ctx);
    cly_set_log_callback(NULL, CLY_LOG_WARN, NULL);
    ck_assert_msg(strstr(all.text, "[2] device") != NULL, "no info message: %s", all.text);
    ck_assert_msg(strstr(all.text, "[3] built program 'conv_direct'") != NULL, "no debug message: %s", all.text);
    ck_assert_msg(strstr(all.text, "[1] ") != NULL, "no warning: %s", all.text);
    unsetenv("CLAYER_CACHE_DIR");
    cly_test_rmtree(tmp);
}
END_TEST

/* ---- window arithmetic */

static int64_t window(cly_window w, cly_rounding mode, char *msg)
{
    int64_t out = -12345;
    bool ok = cly_window_out(w, mode, "W", &out, msg, 256);
    if (!ok) {
        ck_assert_int_eq(out, -12345); /* untouched on failure */
        ck_assert_msg(msg[0] != '\0', "failure without a message");
        return -1;
    }
    return out;
}

/* {in, size, stride, pad_lo, pad_hi, dilation} */
#define WIN(in, f, s, p, d) ((cly_window){in, f, s, p, p, d})

START_TEST(test_window_exact)
{
    char msg[256];
    ck_assert_int_eq(window(WIN(5, 3, 1, 1, 1), CLY_ROUND_EXACT, msg), 5); /* the notes' 1-D example */
    ck_assert_int_eq(window(WIN(5, 3, 2, 1, 1), CLY_ROUND_EXACT, msg), 3);
    ck_assert_int_eq(window(WIN(5, 3, 3, 1, 1), CLY_ROUND_EXACT, msg), -1);
    ck_assert_msg(strstr(msg, "is not an integer") != NULL, "%s", msg);
    ck_assert_int_eq(window(WIN(10, 3, 2, 0, 1), CLY_ROUND_EXACT, msg), -1);
    ck_assert_str_eq(msg, "(W - F + 2P)/S + 1 = (10 - 3 + 2*0)/2 + 1 = 4.5 is not an integer");
    ck_assert_int_eq(window(WIN(227, 11, 4, 0, 1), CLY_ROUND_EXACT, msg), 55); /* AlexNet conv1 */
    ck_assert_int_eq(window(WIN(11, 5, 2, 0, 1), CLY_ROUND_EXACT, msg), 4);    /* the numpy example */
    ck_assert_int_eq(window(WIN(224, 3, 1, 1, 1), CLY_ROUND_EXACT, msg), 224); /* P = (F-1)/2 keeps size */
    ck_assert_int_eq(window(WIN(7, 7, 1, 0, 1), CLY_ROUND_EXACT, msg), 1);     /* FC as conv */
    /* Asymmetric padding and dilation name their own formulas. */
    ck_assert_int_eq(window((cly_window){10, 3, 2, 0, 1, 1}, CLY_ROUND_EXACT, msg), 5);
    ck_assert_int_eq(window((cly_window){10, 3, 2, 1, 1, 1}, CLY_ROUND_EXACT, msg), -1);
    ck_assert_msg(strstr(msg, "(W - F + 2P)/S + 1 = (10 - 3 + 2*1)/2 + 1 = 5.5") != NULL, "%s", msg);
    ck_assert_int_eq(window((cly_window){10, 3, 2, 0, 2, 1}, CLY_ROUND_EXACT, msg), -1);
    ck_assert_msg(strstr(msg, "Plo + Phi") != NULL, "%s", msg);
    ck_assert_int_eq(window(WIN(9, 3, 1, 0, 2), CLY_ROUND_EXACT, msg), 5);
    ck_assert_int_eq(window(WIN(7, 3, 1, 0, 3), CLY_ROUND_EXACT, msg), 1); /* span 7 */
    ck_assert_int_eq(window(WIN(10, 3, 2, 0, 2), CLY_ROUND_EXACT, msg), -1);
    ck_assert_msg(strstr(msg, "D*(F - 1)") != NULL && strstr(msg, "is not an integer") != NULL, "%s", msg);
}
END_TEST

START_TEST(test_window_floor_ceil)
{
    char msg[256];
    ck_assert_int_eq(window(WIN(10, 3, 2, 0, 1), CLY_ROUND_FLOOR, msg), 4);
    ck_assert_int_eq(window(WIN(10, 3, 2, 0, 1), CLY_ROUND_CEIL, msg), 5);
    ck_assert_int_eq(window(WIN(56, 1, 2, 0, 1), CLY_ROUND_FLOOR, msg), 28); /* ResNet shortcut: 28.5 -> 28 */
    ck_assert_int_eq(window(WIN(112, 3, 2, 0, 1), CLY_ROUND_CEIL, msg), 56); /* GoogLeNet pool */
    ck_assert_int_eq(window(WIN(112, 3, 2, 0, 1), CLY_ROUND_FLOOR, msg), 55);
    /* Exact divisions agree in every mode. */
    for (int m = CLY_ROUND_EXACT; m <= CLY_ROUND_CEIL; m++)
        ck_assert_int_eq(window(WIN(9, 3, 2, 0, 1), (cly_rounding)m, msg), 4);
    /* Ceil rule: 5 inputs, F=2, S=2, P=1: rounding up would start a 4th
     * window at 6 - 1 = 5, in the right padding; it is dropped. */
    ck_assert_int_eq(window(WIN(5, 2, 2, 1, 1), CLY_ROUND_CEIL, msg), 3);
    ck_assert_int_eq(window(WIN(5, 2, 2, 1, 1), CLY_ROUND_FLOOR, msg), 3);
    /* ...but one starting on the last input is kept (6 inputs, F=3, S=2,
     * P=1: windows start at -1, 1, 3 and 5). */
    ck_assert_int_eq(window(WIN(6, 3, 2, 1, 1), CLY_ROUND_CEIL, msg), 4);
    ck_assert_int_eq(window(WIN(6, 3, 2, 1, 1), CLY_ROUND_FLOOR, msg), 3);
    /* Without padding: 7 inputs, F=2, S=3: windows at 0, 3 and 6. */
    ck_assert_int_eq(window(WIN(7, 2, 3, 0, 1), CLY_ROUND_CEIL, msg), 3);
    ck_assert_int_eq(window(WIN(7, 2, 3, 0, 1), CLY_ROUND_FLOOR, msg), 2);
}
END_TEST

START_TEST(test_window_errors)
{
    char msg[256];
    /* The filter is larger than the padded input, in every mode. */
    for (int m = CLY_ROUND_EXACT; m <= CLY_ROUND_CEIL; m++) {
        ck_assert_int_eq(window(WIN(3, 5, 1, 0, 1), (cly_rounding)m, msg), -1);
        ck_assert_msg(strstr(msg, "larger than the padded input") != NULL, "%s", msg);
        ck_assert_int_eq(window(WIN(3, 3, 1, 0, 2), (cly_rounding)m, msg), -1); /* span 5 */
    }
    ck_assert_int_eq(window(WIN(3, 5, 1, 1, 1), CLY_ROUND_EXACT, msg), 1); /* padding makes it fit */
    const cly_window bad[] = {WIN(0, 3, 1, 0, 1),  WIN(5, 0, 1, 0, 1), WIN(5, 3, 0, 0, 1),
                              WIN(5, 3, -1, 0, 1), WIN(5, 3, 1, -1, 1), WIN(5, 3, 1, 0, 0),
                              WIN(-5, 3, 1, 0, 1), {5, 3, 1, 0, -2, 1}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(window(bad[i], CLY_ROUND_FLOOR, msg), -1);
        ck_assert_msg(strstr(msg, "need W >= 1") != NULL, "case %zu: %s", i, msg);
    }
    ck_assert_int_eq(window(WIN((int64_t)1 << 41, 3, 1, 0, 1), CLY_ROUND_FLOOR, msg), -1);
    ck_assert_int_eq(window(WIN(1000, 1 << 21, 1, 0, 1 << 21), CLY_ROUND_FLOOR, msg), -1);
    ck_assert_msg(strstr(msg, "2^40") != NULL, "%s", msg);
    /* A short message buffer is truncated, never overrun. */
    char tiny[8];
    int64_t out;
    ck_assert(!cly_window_out(WIN(10, 3, 2, 0, 1), CLY_ROUND_EXACT, "W", &out, tiny, sizeof tiny));
    ck_assert_uint_eq(strlen(tiny), sizeof tiny - 1);
}
END_TEST

int main(void)
{
    bool device = cly_test_device_available();
    Suite *s = suite_create("status");
    TCase *tc = tcase_create("no_device");
    tcase_set_timeout(tc, CLY_TEST_TIMEOUT);
    tcase_add_test(tc, test_status_strings);
    tcase_add_test(tc, test_version);
    tcase_add_test(tc, test_thread_error);
    tcase_add_test(tc, test_log_levels);
    tcase_add_test(tc, test_log_default_restored);
    tcase_add_test(tc, test_window_exact);
    tcase_add_test(tc, test_window_floor_ceil);
    tcase_add_test(tc, test_window_errors);
    suite_add_tcase(s, tc);
    if (device) {
        tc = tcase_create("device");
        tcase_set_timeout(tc, CLY_TEST_TIMEOUT);
        tcase_add_test(tc, test_context_error);
        tcase_add_test(tc, test_log_cache_warning);
        suite_add_tcase(s, tc);
    }
    /* Without a device the rest still runs; 77 says it was incomplete. */
    return cly_test_run(s, device);
}
