/* The on-disk binary cache: hits across contexts and processes, and every
 * kind of bad entry rejected and rebuilt with a correct result. Counts come
 * from cly_context_stats_get, never from timing. Each test has its own
 * directory ($CLAYER_CACHE_DIR = TMP/cache, created by the library). */
#include "test_util.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define HEADER 128 /* binary_cache.c's header size; the key text follows, then the payload */

static char tmp[4096], dir[4200];

static void setup(void)
{
    cly_test_mkdtemp(tmp, sizeof tmp);
    snprintf(dir, sizeof dir, "%s/cache", tmp);
    setenv("CLAYER_CACHE_DIR", dir, 1);
    unsetenv("CLAYER_CACHE");
}

static void teardown(void)
{
    unsetenv("CLAYER_CACHE_DIR");
    unsetenv("CLAYER_CACHE");
    chmod(tmp, 0700);
    cly_test_rmtree(tmp);
}

/* One context, one convolution through the direct algorithm (its program
 * "conv_direct"), checked exactly; returns the context's counters. The two
 * variants (stride 1, stride 2) build the program with different options, so
 * they are two cache entries. */
static cly_context_stats run_conv(bool stride1)
{
    cly_context *ctx = cly_test_context();
    char why[512];
    cly_conv_params p = CONV_P(stride1 ? 1 : 2, 1, 1);
    p.algo = CLY_CONV_DIRECT;
    int64_t side = stride1 ? 7 : 4;
    int64_t bad = cly_test_conv_check(ctx, (cly_shape){2, 3, 7, 7}, (cly_shape){4, 3, 3, 3}, stride1, p, side, side,
                                      11, why, sizeof why);
    ck_assert_msg(bad == 0, "convolution wrong or failed: %s", why);
    cly_context_stats st;
    ck_assert_int_eq(cly_context_stats_get(ctx, &st), CLY_SUCCESS);
    cly_context_destroy(ctx);
    return st;
}

/* Compare counters; `expr` is evaluated once (it is often run_conv()). */
static void assert_stats(cly_context_stats st, int line, uint64_t built, uint64_t cached, uint64_t writes,
                         uint64_t rejects)
{
    ck_assert_msg(st.programs_built == built && st.programs_from_cache == cached && st.cache_writes == writes &&
                      st.cache_rejects == rejects,
                  "line %d: built=%llu from_cache=%llu writes=%llu rejects=%llu, want %llu %llu %llu %llu", line,
                  (unsigned long long)st.programs_built, (unsigned long long)st.programs_from_cache,
                  (unsigned long long)st.cache_writes, (unsigned long long)st.cache_rejects,
                  (unsigned long long)built, (unsigned long long)cached, (unsigned long long)writes,
                  (unsigned long long)rejects);
}
#define ASSERT_STATS(expr, built, cached, writes, rejects) assert_stats((expr), __LINE__, built, cached, writes, rejects)

/* Path in `d` of the entry that run_conv(stride1) writes. The key hashes the
 * exact build options the direct kernel picks for this device and shape, so
 * rather than restate them here, run the convolution once against a scratch
 * cache and take the name of the single entry it writes. */
static void entry_path(const char *d, bool stride1, char *path, size_t size)
{
    char scratch[4096];
    cly_test_mkdtemp(scratch, sizeof scratch);
    setenv("CLAYER_CACHE_DIR", scratch, 1);
    run_conv(stride1);
    setenv("CLAYER_CACHE_DIR", d, 1);
    DIR *dh = opendir(scratch);
    ck_assert_ptr_nonnull(dh);
    int found = 0;
    for (struct dirent *e; (e = readdir(dh)) != NULL;)
        if (strstr(e->d_name, ".bin")) {
            size_t dl = strlen(d), nl = strlen(e->d_name);
            ck_assert_uint_lt(dl + 1 + nl, size);
            memcpy(path, d, dl);
            path[dl] = '/';
            memcpy(path + dl + 1, e->d_name, nl + 1);
            found++;
        }
    closedir(dh);
    cly_test_rmtree(scratch);
    ck_assert_int_eq(found, 1);
}

/* Files in `d` whose name contains `part`. */
static int count_files(const char *d, const char *part)
{
    DIR *h = opendir(d);
    if (!h)
        return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(h)) != NULL;)
        if (e->d_name[0] != '.' && strstr(e->d_name, part))
            n++;
    closedir(h);
    return n;
}

static unsigned char *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    unsigned char *data = malloc((size_t)n + 1);
    ck_assert(data && fread(data, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    *size = (size_t)n;
    return data;
}

static void spit(const char *path, const unsigned char *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot write %s", path);
    ck_assert(fwrite(data, 1, size, f) == size);
    ck_assert_int_eq(fclose(f), 0);
}

static void flip_byte(const char *path, size_t offset)
{
    size_t size;
    unsigned char *data = slurp(path, &size);
    ck_assert_uint_lt(offset, size);
    data[offset] ^= 0x5a;
    spit(path, data, size);
    free(data);
}

static uint64_t get_le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void put_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void sha(const void *data, size_t size, unsigned char out[32])
{
    cly_sha256 h;
    cly_sha256_init(&h);
    cly_sha256_update(&h, data, size);
    cly_sha256_final(&h, out);
}

/* The key text an entry carries (malloc'd, NUL-terminated). */
static char *entry_key_text(const char *path)
{
    size_t size;
    unsigned char *data = slurp(path, &size);
    ck_assert_uint_ge(size, HEADER);
    uint64_t k = get_le64(data + 48);
    ck_assert_uint_le(HEADER + k, size);
    char *text = malloc((size_t)k + 1);
    ck_assert_ptr_nonnull(text);
    memcpy(text, data + HEADER, (size_t)k);
    text[k] = '\0';
    free(data);
    return text;
}

/* Where the payload of the entry at `path` starts. */
static size_t payload_offset(const char *path)
{
    char *text = entry_key_text(path);
    size_t at = HEADER + strlen(text);
    free(text);
    return at;
}

/* Write at `path` an entry in binary_cache.c's format, as a forger would:
 * header hash `key`, key text `text`, payload, and every checksum valid. */
static void forge_entry(const char *path, const unsigned char key[32], const char *text, const unsigned char *payload,
                        size_t size)
{
    size_t k = strlen(text), total = HEADER + k + size;
    unsigned char *data = calloc(1, total);
    ck_assert_ptr_nonnull(data);
    memcpy(data, "CLYCACHE", 8);
    data[8] = 2;    /* format version */
    data[12] = 128; /* header size */
    memcpy(data + 16, key, 32);
    put_le64(data + 48, k);
    put_le64(data + 56, size);
    sha(payload, size, data + 64);
    memcpy(data + HEADER, text, k);
    memcpy(data + HEADER + k, payload, size);
    cly_sha256 h;
    cly_sha256_init(&h);
    cly_sha256_update(&h, data, 96);
    cly_sha256_update(&h, text, k);
    cly_sha256_final(&h, data + 96);
    spit(path, data, total);
    free(data);
}

START_TEST(test_miss_then_hit)
{
    mode_t old = umask(0); /* so the library's own modes show */
    cly_context *ctx = cly_test_context();
    ck_assert_str_eq(cly_context_cache_dir(ctx), dir);
    cly_context_destroy(ctx);

    cly_context_stats st = run_conv(true);
    ASSERT_STATS(st, 1, 0, 1, 0);
    ck_assert_int_eq(count_files(dir, ".bin"), 1);
    ck_assert_int_eq(count_files(dir, ".tmp"), 0); /* temp file renamed away */
    char path[4400];
    entry_path(dir, true, path, sizeof path);
    ck_assert_msg(access(path, F_OK) == 0, "no entry at the computed path %s", path);
    struct stat sd, sf;
    ck_assert_int_eq(stat(dir, &sd), 0);
    ck_assert_int_eq(sd.st_mode & 07777, 0700);
    ck_assert_int_eq(stat(path, &sf), 0);
    ck_assert_int_eq(sf.st_mode & 07777, 0600);
    size_t size;
    unsigned char *data = slurp(path, &size);
    ck_assert(size > HEADER && memcmp(data, "CLYCACHE", 8) == 0);
    free(data);
    umask(old);

    /* A fresh context has an empty in-memory cache: it loads from disk. */
    st = run_conv(true);
    ASSERT_STATS(st, 0, 1, 0, 0);
    /* Other options are another entry. */
    st = run_conv(false);
    ASSERT_STATS(st, 1, 0, 1, 0);
    ck_assert_int_eq(count_files(dir, ".bin"), 2);
}
END_TEST

/* Run this binary with --cache-child (a fresh process: nothing of this
 * one's OpenCL state) and parse the counters it prints. */
static cly_context_stats run_in_child(void)
{
    int fd;
    pid_t pid = cly_test_spawn_self("--cache-child", &fd);
    char buf[512];
    int status = cly_test_collect(pid, fd, buf, sizeof buf);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child failed (status %d): %s", status, buf);
    unsigned long long b, c, w, r;
    ck_assert_msg(sscanf(buf, "built=%llu from_cache=%llu writes=%llu rejects=%llu", &b, &c, &w, &r) == 4,
                  "child said: %s", buf);
    return (cly_context_stats){b, c, w, r};
}

/* FNV-1a of the output of one convolution (small-integer fills). */
static int output_hash(cly_context *ctx, unsigned long long *hash)
{
    const cly_shape xs = {2, 3, 7, 6}, fs = {4, 3, 3, 3}, ys = {2, 4, 7, 6};
    float x[2 * 3 * 7 * 6], f[4 * 3 * 3 * 3], y[2 * 4 * 7 * 6];
    uint64_t seed = 5;
    cly_test_fill(x, sizeof x / sizeof *x, 2, &seed);
    cly_test_fill(f, sizeof f / sizeof *f, 2, &seed);
    cly_tensor *tx = NULL, *tf = NULL, *ty = NULL;
    cly_status s;
    if ((s = cly_tensor_create(ctx, xs, &tx)) || (s = cly_tensor_create(ctx, fs, &tf)) ||
        (s = cly_tensor_create(ctx, ys, &ty)) || (s = cly_tensor_write(tx, x, 2 * 3 * 7 * 6)) ||
        (s = cly_tensor_write(tf, f, 4 * 3 * 3 * 3)) || (s = cly_conv2d(ctx, tx, tf, NULL, CONV_P(1, 1, 1), ty)) ||
        (s = cly_tensor_read(ty, y, 2 * 4 * 7 * 6)))
        fprintf(stderr, "convolution: %s\n", cly_last_error(ctx));
    cly_tensor_destroy(tx);
    cly_tensor_destroy(tf);
    cly_tensor_destroy(ty);
    unsigned long long h = 14695981039346656037ull;
    const unsigned char *b = (const unsigned char *)y;
    for (size_t i = 0; i < sizeof y; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    *hash = h;
    return s == CLY_SUCCESS ? 0 : 1;
}

static int cache_child(void)
{
    cly_context *ctx;
    cly_status s = cly_context_create(NULL, &ctx);
    if (s != CLY_SUCCESS) {
        fprintf(stderr, "context: %s\n", cly_last_error(NULL));
        return 1;
    }
    char why[512];
    int64_t bad = cly_test_conv_check(ctx, (cly_shape){2, 3, 7, 6}, (cly_shape){4, 3, 3, 3}, true,
                                      CONV_P(1, 1, 1), 7, 6, 11, why, sizeof why);
    unsigned long long hash = 0;
    int failed = output_hash(ctx, &hash);
    cly_context_stats st;
    cly_context_stats_get(ctx, &st);
    cly_context_destroy(ctx);
    printf("built=%llu from_cache=%llu writes=%llu rejects=%llu output=%016llx\n",
           (unsigned long long)st.programs_built, (unsigned long long)st.programs_from_cache,
           (unsigned long long)st.cache_writes, (unsigned long long)st.cache_rejects, hash);
    if (bad != 0)
        printf("convolution wrong or failed: %s\n", why);
    return bad == 0 && !failed ? 0 : 1;
}

START_TEST(test_separate_processes)
{
    cly_context_stats st = run_in_child();
    ASSERT_STATS(st, 1, 0, 1, 0);
    st = run_in_child();
    ASSERT_STATS(st, 0, 1, 0, 0);
    st = run_conv(true); /* and this process too */
    ASSERT_STATS(st, 0, 1, 0, 0);
}
END_TEST

/* Damage the entry with `damage`, then: rejected, rebuilt (correctly),
 * rewritten; and the rewritten entry is good again. */
static void expect_rejected_then_repaired(void (*damage)(const char *path, size_t size, int variant), int variant)
{
    ASSERT_STATS(run_conv(true), 1, 0, 1, 0);
    char path[4400];
    entry_path(dir, true, path, sizeof path);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    damage(path, (size_t)st.st_size, variant);
    ASSERT_STATS(run_conv(true), 1, 0, 1, 1);
    ASSERT_STATS(run_conv(true), 0, 1, 0, 0);
    cly_test_rmtree(dir);
}

static void damage_payload(const char *path, size_t size, int variant)
{
    size_t start = payload_offset(path);
    const size_t at[] = {start, start + (size - start) / 2, size - 1};
    flip_byte(path, at[variant]);
}

START_TEST(test_corrupt_payload)
{
    for (int v = 0; v < 3; v++)
        expect_rejected_then_repaired(damage_payload, v);
}
END_TEST

static void damage_length(const char *path, size_t size, int variant)
{
    if (variant == 2) { /* one byte too many */
        FILE *f = fopen(path, "ab");
        ck_assert(f && fputc(0, f) == 0 && fclose(f) == 0);
        return;
    }
    const off_t to[] = {(off_t)size - 1, 50, 0};
    ck_assert_int_eq(truncate(path, to[variant]), 0);
}

START_TEST(test_truncated)
{
    for (int v = 0; v < 3; v++)
        expect_rejected_then_repaired(damage_length, v);
}
END_TEST

static void damage_header(const char *path, size_t size, int variant)
{
    (void)size;
    /* magic, format version, header size, key hash, key text size, payload
     * size, payload checksum, the header's own checksum, and the key text
     * (first and last byte) */
    const size_t at[] = {0, 8, 12, 20, 48, 56, 70, 96, 127, HEADER, payload_offset(path) - 1};
    flip_byte(path, at[variant]);
}

START_TEST(test_header_damage)
{
    for (int v = 0; v < 11; v++)
        expect_rejected_then_repaired(damage_header, v);
}
END_TEST

START_TEST(test_foreign_entry)
{
    /* A valid entry of another key (the stride-2 program) under this key's
     * name: accepting it would run the wrong kernel. */
    ASSERT_STATS(run_conv(true), 1, 0, 1, 0);
    ASSERT_STATS(run_conv(false), 1, 0, 1, 0);
    char with[4400], without[4400];
    entry_path(dir, true, with, sizeof with);
    entry_path(dir, false, without, sizeof without);
    ck_assert_str_ne(with, without);
    size_t size;
    unsigned char *data = slurp(without, &size);
    spit(with, data, size);
    free(data);
    ASSERT_STATS(run_conv(true), 1, 0, 1, 1);
    ASSERT_STATS(run_conv(true), 0, 1, 0, 0);
    ASSERT_STATS(run_conv(false), 0, 1, 0, 0); /* the original is untouched */
}
END_TEST

START_TEST(test_garbage_binary)
{
    /* A well-formed entry (right key, checksums fine) whose payload is not
     * a binary the driver accepts: loading fails, it is rebuilt. */
    char path[4400];
    entry_path(dir, true, path, sizeof path);
    /* The key text, as a first run's entry carries it; then start empty. */
    ASSERT_STATS(run_conv(true), 1, 0, 1, 0);
    char *key = entry_key_text(path);
    cly_test_rmtree(dir);
    unsigned char junk[4096];
    uint64_t seed = 99;
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (unsigned char)cly_test_small_int(&seed, 127);
    ck_assert_int_eq(cly_cache_store(dir, key, junk, sizeof junk), CLY_SUCCESS);
    ck_assert_msg(access(path, F_OK) == 0, "cly_cache_store wrote elsewhere than %s", path);
    unsigned char *payload = NULL;
    size_t size = 0;
    ck_assert_int_eq(cly_cache_load(dir, key, &payload, &size), CLY_CACHE_HIT);
    ck_assert(size == sizeof junk && memcmp(payload, junk, size) == 0);
    free(payload);
    free(key);

    ASSERT_STATS(run_conv(true), 1, 0, 1, 1);
    ASSERT_STATS(run_conv(true), 0, 1, 0, 0);
}
END_TEST

START_TEST(test_forged_swap)
{
    /* Each of two valid entries moved under the other's name, its header's
     * hash rewritten to the new name and every checksum made valid: the key
     * text each carries is still its own, so both are rejected and rebuilt
     * (taking one would run a stride-2 kernel for stride 1, or back). */
    ASSERT_STATS(run_conv(true), 1, 0, 1, 0);
    ASSERT_STATS(run_conv(false), 1, 0, 1, 0);
    char p1[4400], p2[4400];
    entry_path(dir, true, p1, sizeof p1);
    entry_path(dir, false, p2, sizeof p2);
    char *t1 = entry_key_text(p1), *t2 = entry_key_text(p2);
    unsigned char h1[32], h2[32];
    sha(t1, strlen(t1), h1);
    sha(t2, strlen(t2), h2);
    size_t s1, s2;
    unsigned char *d1 = slurp(p1, &s1), *d2 = slurp(p2, &s2);
    size_t o1 = HEADER + strlen(t1), o2 = HEADER + strlen(t2);
    forge_entry(p1, h1, t2, d2 + o2, s2 - o2);
    forge_entry(p2, h2, t1, d1 + o1, s1 - o1);
    ASSERT_STATS(run_conv(true), 1, 0, 1, 1);
    ASSERT_STATS(run_conv(false), 1, 0, 1, 1);
    ASSERT_STATS(run_conv(true), 0, 1, 0, 0);
    ASSERT_STATS(run_conv(false), 0, 1, 0, 0);
    /* And the rebuilt entries are the originals again. */
    size_t n1, n2;
    unsigned char *r1 = slurp(p1, &n1), *r2 = slurp(p2, &n2);
    char *rt1 = entry_key_text(p1), *rt2 = entry_key_text(p2);
    ck_assert_str_eq(rt1, t1);
    ck_assert_str_eq(rt2, t2);
    free(r1);
    free(r2);
    free(rt1);
    free(rt2);
    free(d1);
    free(d2);
    free(t1);
    free(t2);
}
END_TEST

START_TEST(test_forged_full_key)
{
    /* A forger who also writes the right key text: the entry checks out,
     * the binary loads, but it is another program, without the kernel the
     * convolution asks for. cly_kernel_get rebuilds from source (no
     * CL_INVALID_KERNEL_NAME on every later run) and replaces the entry. */
    ASSERT_STATS(run_conv(true), 1, 0, 1, 0);
    char path[4400];
    entry_path(dir, true, path, sizeof path);
    char *text = entry_key_text(path);

    static const char other[] = "__kernel void not_a_conv(__global float *x) { x[get_global_id(0)] = 1.0f; }\n";
    char scratch[4096];
    cly_test_mkdtemp(scratch, sizeof scratch);
    setenv("CLAYER_CACHE_DIR", scratch, 1);
    cly_context *ctx = cly_test_context();
    cl_program program;
    ck_assert_int_eq(cly_program_get_source(ctx, "other", (const unsigned char *)other, strlen(other), "", &program),
                     CLY_SUCCESS);
    unsigned char *bin;
    size_t size;
    ck_assert_int_eq(cly_program_binary(ctx, program, &bin, &size), CLY_SUCCESS);
    cly_context_destroy(ctx);
    setenv("CLAYER_CACHE_DIR", dir, 1);
    cly_test_rmtree(scratch);

    ck_assert_int_eq(cly_cache_store(dir, text, bin, size), CLY_SUCCESS);
    free(bin);
    ASSERT_STATS(run_conv(true), 1, 1, 1, 1);
    ASSERT_STATS(run_conv(true), 0, 1, 0, 0);
    char *again = entry_key_text(path);
    ck_assert_str_eq(again, text);
    free(again);
    free(text);
}
END_TEST

START_TEST(test_concurrent_writers)
{
    /* Several processes at once on one empty directory: each builds, all
     * write the same entries (temp file + rename), every one succeeds with
     * the exact result, and no temp file is left. A run afterwards loads
     * every program from the cache. */
    enum { N = 4 };
    pid_t pids[N];
    int fds[N];
    for (int i = 0; i < N; i++)
        pids[i] = cly_test_spawn_self("--cache-child", &fds[i]);
    char first[512] = "";
    for (int i = 0; i < N; i++) {
        char buf[512];
        int status = cly_test_collect(pids[i], fds[i], buf, sizeof buf);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "writer %d failed (status %d): %s", i, status,
                      buf);
        /* "... output=HASH": the same output in every process */
        const char *out = strstr(buf, "output=");
        ck_assert_msg(out != NULL, "writer %d said: %s", i, buf);
        if (i == 0)
            snprintf(first, sizeof first, "%s", out);
        else
            ck_assert_str_eq(out, first);
    }
    ck_assert_int_eq(count_files(dir, ".tmp"), 0);
    ck_assert_int_ge(count_files(dir, ".bin"), 1);
    cly_context_stats st = run_in_child();
    ck_assert_msg(st.programs_built == 0 && st.cache_rejects == 0 && st.programs_from_cache >= 1,
                  "after the writers: built=%llu from_cache=%llu rejects=%llu", (unsigned long long)st.programs_built,
                  (unsigned long long)st.programs_from_cache, (unsigned long long)st.cache_rejects);
}
END_TEST

START_TEST(test_symlinked_entry)
{
    ASSERT_STATS(run_conv(true), 1, 0, 1, 0);
    char path[4400], target[4400];
    entry_path(dir, true, path, sizeof path);
    snprintf(target, sizeof target, "%s/elsewhere.bin", tmp);
    ck_assert_int_eq(rename(path, target), 0);
    ck_assert_int_eq(symlink(target, path), 0);
    size_t before_size, after_size;
    unsigned char *before = slurp(target, &before_size);

    /* A valid entry behind a link is still refused (O_NOFOLLOW). */
    ASSERT_STATS(run_conv(true), 1, 0, 1, 1);
    struct stat st;
    ck_assert_int_eq(lstat(path, &st), 0);
    ck_assert_msg(S_ISREG(st.st_mode), "the link was written through, not replaced");
    unsigned char *after = slurp(target, &after_size);
    ck_assert(before_size == after_size && memcmp(before, after, before_size) == 0);
    free(before);
    free(after);
    ASSERT_STATS(run_conv(true), 0, 1, 0, 0);
}
END_TEST

START_TEST(test_symlinked_dir)
{
    char real[4400], link[4400];
    snprintf(real, sizeof real, "%s/real", tmp);
    snprintf(link, sizeof link, "%s/link", tmp);
    setenv("CLAYER_CACHE_DIR", real, 1);
    ASSERT_STATS(run_conv(true), 1, 0, 1, 0);
    ck_assert_int_eq(symlink(real, link), 0);

    /* Through the link: the good entry is not read, nothing is written. */
    setenv("CLAYER_CACHE_DIR", link, 1);
    ASSERT_STATS(run_conv(true), 1, 0, 0, 1);
    ASSERT_STATS(run_conv(false), 1, 0, 0, 1); /* refused before even looking */
    /* A trailing slash must not get through the link either. */
    char slashed[sizeof link + 2];
    snprintf(slashed, sizeof slashed, "%s//", link);
    setenv("CLAYER_CACHE_DIR", slashed, 1);
    ASSERT_STATS(run_conv(false), 1, 0, 0, 1);
    ck_assert_int_eq(count_files(real, ".bin"), 1);
    ck_assert_int_eq(count_files(real, ".tmp"), 0);
}
END_TEST

typedef struct warnings {
    int count;
    char text[4096];
} warnings;

static void collect(cly_log_level level, const char *message, void *user)
{
    warnings *w = user;
    if (level != CLY_LOG_WARN)
        return;
    w->count++;
    size_t used = strlen(w->text);
    snprintf(w->text + used, sizeof w->text - used, "%s\n", message);
}

START_TEST(test_unwritable_dir)
{
    /* Root ignores permission bits, so as root use a path under /proc,
     * where nobody can create anything. */
    char target[4400];
    if (geteuid() == 0) {
        snprintf(target, sizeof target, "/proc/clayer-test-cache");
    } else {
        snprintf(target, sizeof target, "%s", tmp);
        ck_assert_int_eq(chmod(tmp, 0500), 0);
    }
    setenv("CLAYER_CACHE_DIR", target, 1);
    warnings w = {0};
    cly_set_log_callback(collect, CLY_LOG_WARN, &w);
    ASSERT_STATS(run_conv(true), 1, 0, 0, 0);
    ASSERT_STATS(run_conv(true), 1, 0, 0, 0); /* still nothing cached */
    cly_set_log_callback(NULL, CLY_LOG_WARN, NULL);
    ck_assert_int_eq(w.count, 2);
    ck_assert_msg(strstr(w.text, target) != NULL, "warning does not name %s: %s", target, w.text);
    if (geteuid() != 0)
        ck_assert_int_eq(count_files(tmp, ""), 0);
}
END_TEST

START_TEST(test_cache_off)
{
    const char *offs[] = {"off", "0"};
    for (int i = 0; i < 2; i++) {
        setenv("CLAYER_CACHE", offs[i], 1);
        cly_context *ctx = cly_test_context();
        ck_assert_str_eq(cly_context_cache_dir(ctx), "");
        cly_context_destroy(ctx);
        ASSERT_STATS(run_conv(true), 1, 0, 0, 0);
        struct stat st;
        ck_assert_msg(stat(dir, &st) != 0 && errno == ENOENT, "cache directory created with CLAYER_CACHE=%s",
                      offs[i]);
    }
    setenv("CLAYER_CACHE", "on", 1); /* anything else leaves it on */
    ASSERT_STATS(run_conv(true), 1, 0, 1, 0);
}
END_TEST

START_TEST(test_nested_dir_modes)
{
    mode_t old = umask(0);
    char nested[4400], part[4400];
    snprintf(nested, sizeof nested, "%s/a/b/c", tmp);
    setenv("CLAYER_CACHE_DIR", nested, 1);
    ASSERT_STATS(run_conv(true), 1, 0, 1, 0);
    umask(old);
    const char *parts[] = {"a", "a/b", "a/b/c"};
    for (int i = 0; i < 3; i++) {
        snprintf(part, sizeof part, "%s/%s", tmp, parts[i]);
        struct stat st;
        ck_assert_int_eq(stat(part, &st), 0);
        ck_assert_msg((st.st_mode & 07777) == 0700, "%s has mode %o", part, (unsigned)(st.st_mode & 07777));
    }
    ck_assert_int_eq(count_files(nested, ".bin"), 1);
}
END_TEST

/* ---- no device needed */

START_TEST(test_dir_from_env)
{
    char d[4096];
    setenv("CLAYER_CACHE_DIR", "/x/y", 1);
    setenv("XDG_CACHE_HOME", "/xdg", 1);
    setenv("HOME", "/home/someone", 1);
    ck_assert(cly_cache_dir_from_env(d, sizeof d));
    ck_assert_str_eq(d, "/x/y");
    setenv("CLAYER_CACHE_DIR", "/x/y//", 1);
    ck_assert(cly_cache_dir_from_env(d, sizeof d));
    ck_assert_str_eq(d, "/x/y");
    setenv("CLAYER_CACHE_DIR", "/", 1);
    ck_assert(cly_cache_dir_from_env(d, sizeof d));
    ck_assert_str_eq(d, "/");
    setenv("CLAYER_CACHE_DIR", "", 1); /* empty is unset */
    ck_assert(cly_cache_dir_from_env(d, sizeof d));
    ck_assert_str_eq(d, "/xdg/clayer");
    unsetenv("CLAYER_CACHE_DIR");
    unsetenv("XDG_CACHE_HOME");
    ck_assert(cly_cache_dir_from_env(d, sizeof d));
    ck_assert_str_eq(d, "/home/someone/.cache/clayer");
    unsetenv("HOME");
    ck_assert(!cly_cache_dir_from_env(d, sizeof d));
    setenv("CLAYER_CACHE_DIR", "/x/y", 1);
    setenv("CLAYER_CACHE", "off", 1);
    ck_assert(!cly_cache_dir_from_env(d, sizeof d));
}
END_TEST

START_TEST(test_store_load)
{
    const char *key = "clayer program cache key\nsome program\n", *other = "clayer program cache key\nsome program!\n";
    unsigned char payload[1000], *got = NULL;
    size_t size = 0;
    uint64_t seed = 3;
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (unsigned char)cly_test_small_int(&seed, 100);

    ck_assert_int_eq(cly_cache_load(dir, key, &got, &size), CLY_CACHE_MISS); /* no directory yet */
    ck_assert_int_eq(cly_cache_store(dir, key, payload, sizeof payload), CLY_SUCCESS);
    ck_assert_int_eq(cly_cache_load(dir, key, &got, &size), CLY_CACHE_HIT);
    ck_assert(size == sizeof payload && memcmp(got, payload, size) == 0);
    free(got);
    ck_assert_int_eq(cly_cache_load(dir, other, &got, &size), CLY_CACHE_MISS);
    ck_assert_int_eq(cly_cache_store(dir, other, payload, 0), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_cache_store(dir, "", payload, sizeof payload), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(count_files(dir, ".bin"), 1);

    /* The name is the SHA-256 of the key text, in hex (of "abc": FIPS
     * 180-2's example). */
    char path[4400];
    cly_cache_entry_path(dir, "abc", path, sizeof path);
    ck_assert_str_eq(strrchr(path, '/') + 1, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad.bin");

    /* The entry carries its key text in full. */
    cly_cache_entry_path(dir, key, path, sizeof path);
    char *text = entry_key_text(path);
    ck_assert_str_eq(text, key);
    free(text);

    /* Moved under another key's name, with the header's hash rewritten and
     * its checksums valid: the key text inside still says whose it is. */
    char other_path[4400];
    cly_cache_entry_path(dir, other, other_path, sizeof other_path);
    unsigned char other_hash[32];
    sha(other, strlen(other), other_hash);
    forge_entry(other_path, other_hash, key, payload, sizeof payload);
    ck_assert_int_eq(cly_cache_load(dir, other, &got, &size), CLY_CACHE_REJECTED);
    /* and a text that differs only past the hash's reach: its last byte */
    char near[128];
    snprintf(near, sizeof near, "%s", other);
    near[strlen(near) - 1] = '?';
    forge_entry(other_path, other_hash, near, payload, sizeof payload);
    ck_assert_int_eq(cly_cache_load(dir, other, &got, &size), CLY_CACHE_REJECTED);
    /* The forger's own full key: accepted (nothing in a file can tell);
     * cly_kernel_get's fallback covers a binary that is not the program. */
    forge_entry(other_path, other_hash, other, payload, sizeof payload);
    ck_assert_int_eq(cly_cache_load(dir, other, &got, &size), CLY_CACHE_HIT);
    free(got);

    /* A directory in an entry's place is not an entry. */
    cly_cache_entry_path(dir, "a directory", path, sizeof path);
    ck_assert_int_eq(mkdir(path, 0700), 0);
    ck_assert_int_eq(cly_cache_load(dir, "a directory", &got, &size), CLY_CACHE_REJECTED);

    /* Key texts differ with every input that decides the binary. */
    cly_device_info a;
    memset(&a, 0, sizeof a);
    strcpy(a.platform_name, "P");
    strcpy(a.platform_version, "1");
    strcpy(a.name, "dev");
    strcpy(a.driver_version, "d1");
    char *k0 = cly_cache_key_text(&a, (const unsigned char *)"src", 3, "-DX");
    ck_assert_ptr_nonnull(k0);
    ck_assert_msg(strstr(k0, CLY_VERSION_STRING) && strstr(k0, "-DX") && strstr(k0, "dev") && strstr(k0, "d1"),
                  "key text lacks an input: %s", k0);
    cly_device_info b = a;
    strcpy(b.driver_version, "d2");
    char *k[6] = {
        cly_cache_key_text(&b, (const unsigned char *)"src", 3, "-DX"),
        cly_cache_key_text(&a, (const unsigned char *)"src", 3, "-DY"),
        cly_cache_key_text(&a, (const unsigned char *)"srC", 3, "-DX"),
        /* Field boundaries count: "P"+"1" is not "P1"+"". */
        NULL,
        cly_cache_key_text(&a, (const unsigned char *)"src", 3, "-DX"),
        NULL,
    };
    strcpy(b.platform_name, "P1");
    strcpy(b.platform_version, "");
    strcpy(b.driver_version, "d1");
    k[3] = cly_cache_key_text(&b, (const unsigned char *)"src", 3, "-DX");
    b = a;
    strcpy(b.name, "dev2");
    k[5] = cly_cache_key_text(&b, (const unsigned char *)"src", 3, "-DX");
    for (int i = 0; i < 6; i++) {
        ck_assert_ptr_nonnull(k[i]);
        if (i == 4)
            ck_assert_str_eq(k0, k[i]);
        else
            ck_assert_msg(strcmp(k0, k[i]) != 0, "key text %d equals the first: %s", i, k0);
        free(k[i]);
    }
    free(k0);
}
END_TEST

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--cache-child") == 0)
        return cache_child();
    bool device = cly_test_device_available();
    Suite *s = suite_create("cache");
    TCase *tc = tcase_create("files");
    tcase_set_timeout(tc, CLY_TEST_TIMEOUT);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_dir_from_env);
    tcase_add_test(tc, test_store_load);
    suite_add_tcase(s, tc);
    if (device) {
        tc = tcase_create("device");
        tcase_set_timeout(tc, CLY_TEST_TIMEOUT);
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_miss_then_hit);
        tcase_add_test(tc, test_separate_processes);
        tcase_add_test(tc, test_corrupt_payload);
        tcase_add_test(tc, test_truncated);
        tcase_add_test(tc, test_header_damage);
        tcase_add_test(tc, test_foreign_entry);
        tcase_add_test(tc, test_garbage_binary);
        tcase_add_test(tc, test_forged_swap);
        tcase_add_test(tc, test_forged_full_key);
        tcase_add_test(tc, test_concurrent_writers);
        tcase_add_test(tc, test_symlinked_entry);
        tcase_add_test(tc, test_symlinked_dir);
        tcase_add_test(tc, test_unwritable_dir);
        tcase_add_test(tc, test_cache_off);
        tcase_add_test(tc, test_nested_dir_modes);
        suite_add_tcase(s, tc);
    }
    return cly_test_run(s, device);
}
