/* The model-file format without a device: the writer against an independent
 * encoder (model_bytes.h), the parser on every malformed field (each reached
 * behind valid checksums), matching arrays to a graph, and every truncation
 * and single-bit flip of a small file. */
#include "io/file_write.h"
#include "io/model_file.h"
#include "model_bytes.h"
#include "test_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TEXT "input data c=2 h=4 w=4\n"              \
             "conv c1 < data filters=3 size=3 pad=1\n" \
             "batchnorm bn < c1\n"                     \
             "relu r < bn\n"                           \
             "fc f < r outputs=2 nobias\n"

/* The arrays of TEXT, in the order the writer emits them. */
static const struct {
    const char *name;
    uint32_t kind;
    uint64_t count;
} arrays[] = {
    {"c1", 0, 54}, {"c1", 1, 3}, {"bn", 0, 3}, {"bn", 1, 3}, {"bn", 2, 3}, {"bn", 3, 3}, {"f", 0, 96},
};
#define NARRAYS (sizeof arrays / sizeof arrays[0])

static float value_of(size_t i)
{
    return 0.25f * (float)(i + 1);
}

static bytes params_payload(size_t skip, int moments)
{
    bytes p = {0};
    b_le(&p, NARRAYS - (skip < NARRAYS), 4);
    b_le(&p, 0, 4);
    for (size_t i = 0; i < NARRAYS; i++)
        if (i != skip)
            b_array(&p, arrays[i].kind, arrays[i].name, arrays[i].count, moments, value_of(i));
    return p;
}

/* A valid file; with `opt`, Adam state too. */
static bytes valid_file(bool opt)
{
    bytes f = b_file(), g = b_graph(TEXT), p = params_payload(SIZE_MAX, 1);
    b_section(&f, 1, &g);
    b_section(&f, 2, &p);
    if (opt) {
        bytes o = {0};
        b_le(&o, 1, 4);  /* Adam */
        b_le(&o, 2, 4);  /* m and v */
        b_le(&o, 77, 8); /* updates */
        bytes a = params_payload(SIZE_MAX, 2);
        b_raw(&o, a.p, a.n);
        free(a.p);
        b_section(&f, 3, &o);
        free(o.p);
    }
    b_seal(&f, 1, opt ? 1 : 0, opt ? 3 : 2);
    free(g.p);
    free(p.p);
    return f;
}

/* A file whose PARAMS payload is `p` (checksums valid). */
static bytes with_params(bytes p)
{
    bytes f = b_file(), g = b_graph(TEXT);
    b_section(&f, 1, &g);
    b_section(&f, 2, &p);
    b_seal(&f, 1, 0, 2);
    free(g.p);
    free(p.p);
    return f;
}

static cly_status parse(const bytes *b, unsigned flags, cly_model *m)
{
    return cly_model_parse(b->p, b->n, "t.clm", flags, m);
}

/* Parsing fails with `status` and a message that starts with the file name
 * and contains `text`. */
#define PARSE_FAIL(b, status, text)                                                                       \
    do {                                                                                                  \
        cly_model m_;                                                                                     \
        cly_status s_ = parse(&(b), 0, &m_);                                                              \
        ck_assert_msg(s_ == (status), "got %s: %s", cly_status_string(s_), cly_last_error(NULL));         \
        ck_assert_msg(strncmp(cly_last_error(NULL), "t.clm: ", 7) == 0 &&                                 \
                          strstr(cly_last_error(NULL), (text)) != NULL,                                   \
                      "message '%s' lacks '%s'", cly_last_error(NULL), (text));                           \
        ck_assert_ptr_null(m_.params);                                                                    \
    } while (0)

START_TEST(t_parse_valid)
{
    for (int opt = 0; opt < 2; opt++) {
        bytes f = valid_file(opt);
        cly_model m;
        ck_assert_msg(parse(&f, 0, &m) == CLY_SUCCESS, "%s", cly_last_error(NULL));
        ck_assert_uint_eq(m.text_size, strlen(TEXT));
        ck_assert(memcmp(m.text, TEXT, m.text_size) == 0);
        ck_assert_uint_eq(m.param_count, NARRAYS);
        for (size_t i = 0; i < NARRAYS; i++) {
            ck_assert_str_eq(m.params[i].name, arrays[i].name);
            ck_assert_uint_eq(m.params[i].kind, arrays[i].kind);
            ck_assert_int_eq(m.params[i].count, (int64_t)arrays[i].count);
            ck_assert_uint_eq((uintptr_t)(m.params[i].data[0] - f.p) % 8, 0);
            float x;
            memcpy(&x, m.params[i].data[0] + 4 * (arrays[i].count - 1), 4);
            ck_assert(x == value_of(i));
        }
        ck_assert(m.has_optimizer == opt);
        if (opt) {
            ck_assert(m.optimizer == 1 && m.moments == 2 && m.updates == 77 && m.opt_count == NARRAYS);
            ck_assert_ptr_nonnull(m.opt[6].data[1]);
        }
        cly_model_free(&m);
        free(f.p);
    }
}
END_TEST

/* The library's writer produces exactly the bytes of the independent encoder. */
START_TEST(t_writer_matches_spec)
{
    char dir[4096], path[4200];
    cly_test_mkdtemp(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/m.clm", dir);
    for (int opt = 0; opt < 2; opt++) {
        bytes want = valid_file(opt);
        cly_model m;
        ck_assert(parse(&want, 0, &m) == CLY_SUCCESS);
        /* Write what was parsed (data pointing into `want`) back out. */
        ck_assert_msg(cly_model_write(&m, path) == CLY_SUCCESS, "%s", cly_last_error(NULL));
        bytes got = b_read(path);
        ck_assert_uint_eq(got.n, want.n);
        ck_assert(memcmp(got.p, want.p, want.n) == 0);
        cly_model_free(&m);
        free(got.p);
        free(want.p);
    }
    /* No temp file is left next to it. */
    DIR *d = opendir(dir);
    int entries = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        entries += e->d_name[0] != '.';
    closedir(d);
    ck_assert_int_eq(entries, 1);
    cly_test_rmtree(dir);
}
END_TEST

/* What a save killed mid-way leaves (PATH.tmp.PID.N.CLOCK) is removed at
 * the next save to the same path when its writer is dead or it is over a
 * day old; a live writer's, this process's, other paths' and non-files are
 * left alone. */
static void touch(const char *dir, const char *name, long pid, time_t age)
{
    char p[4400];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    if (pid >= 0)
        snprintf(p, sizeof p, "%s/%s.tmp.%ld.0.0", dir, name, pid);
    FILE *f = fopen(p, "wb");
    ck_assert_msg(f != NULL, "cannot create %s", p);
    ck_assert_int_eq(fclose(f), 0);
    if (age > 0) {
        struct timespec t[2] = {{.tv_sec = time(NULL) - age}, {.tv_sec = time(NULL) - age}};
        ck_assert_int_eq(utimensat(AT_FDCWD, p, t, 0), 0);
    }
}

static bool present(const char *dir, const char *name, long pid)
{
    char p[4400];
    snprintf(p, sizeof p, "%s/%s.tmp.%ld.0.0", dir, name, pid);
    struct stat st;
    return lstat(p, &st) == 0;
}

static void stale_temps_removed(bool model)
{
    char dir[4096], path[4200];
    cly_test_mkdtemp(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/m.clm", dir);
    /* A dead PID: a child that has exited and been reaped. */
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0)
        _exit(0);
    ck_assert_int_eq(waitpid(child, NULL, 0), child);
    const long dead = child, self = getpid(), parent = getppid();
    touch(dir, "m.clm", dead, 0);              /* removed: writer dead */
    touch(dir, "m.clm", parent, 0);            /* kept: a live writer */
    touch(dir, "m.clm", self, 0);              /* kept: this process's own */
    touch(dir, "other.clm", dead, 0);          /* kept: another path's */
    touch(dir, "m.clm", 1, 2 * 24 * 3600);     /* removed: two days old */
    char link[4400], target[4400];
    snprintf(target, sizeof target, "%s/target", dir);
    touch(dir, "target", -1, 0);
    snprintf(link, sizeof link, "%s/m.clm.tmp.%ld.1.0", dir, dead);
    ck_assert_int_eq(symlink(target, link), 0); /* kept: not a regular file */

    cly_status s;
    if (model) {
        cly_model m = {.text = TEXT, .text_size = strlen(TEXT)};
        s = cly_model_write(&m, path);
    } else {
        s = cly_write_file(NULL, path, (const uint8_t *)"data", 4);
    }
    ck_assert_msg(s == CLY_SUCCESS, "%s", cly_last_error(NULL));
    ck_assert_int_eq(access(path, F_OK), 0);
    ck_assert(!present(dir, "m.clm", dead));
    ck_assert(!present(dir, "m.clm", 1));
    ck_assert(present(dir, "m.clm", parent));
    ck_assert(present(dir, "m.clm", self));
    ck_assert(present(dir, "other.clm", dead));
    struct stat st;
    ck_assert_int_eq(lstat(link, &st), 0);
    ck_assert_int_eq(access(target, F_OK), 0);
    cly_test_rmtree(dir);
}

START_TEST(t_stale_temps_removed)
{
    stale_temps_removed(true);
    stale_temps_removed(false);
}
END_TEST

START_TEST(t_write_errors)
{
    cly_model m = {.text = TEXT, .text_size = strlen(TEXT)};
    ck_assert_int_eq(cly_model_write(&m, "/nonexistent-dir/m.clm"), CLY_ERROR_IO);
    ck_assert_ptr_nonnull(strstr(cly_last_error(NULL), "/nonexistent-dir/m.clm"));
    cly_model_array a = {.name = "bad name", .kind = 0, .count = 1};
    m.params = &a;
    m.param_count = 1;
    ck_assert_int_eq(cly_model_write(&m, "x.clm"), CLY_ERROR_INVALID_ARGUMENT);
    m.param_count = 0;
    m.text_size = 0;
    ck_assert_int_eq(cly_model_write(&m, "x.clm"), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(access("x.clm", F_OK), -1);
}
END_TEST

START_TEST(t_header_fields)
{
    bytes f = valid_file(false);
    f.p[0] = 'X';
    PARSE_FAIL(f, CLY_ERROR_INVALID_ARGUMENT, "magic");
    free(f.p);

    bytes v = b_file(), g = b_graph(TEXT), p = params_payload(SIZE_MAX, 1);
    b_section(&v, 1, &g);
    b_section(&v, 2, &p);
    b_seal(&v, 2, 0, 2);
    PARSE_FAIL(v, CLY_ERROR_UNSUPPORTED, "format version 2 is not supported");
    v.p[8] = 1; /* back to version 1, then each other field in turn */
    v.p[12] = 40;
    b_reseal(&v);
    PARSE_FAIL(v, CLY_ERROR_INVALID_ARGUMENT, "header size 40");
    v.p[12] = 48;
    v.p[16] = 6;
    b_reseal(&v);
    PARSE_FAIL(v, CLY_ERROR_INVALID_ARGUMENT, "unknown flags 0x6");
    v.p[16] = 1; /* claims an optimiser section but has two sections */
    b_reseal(&v);
    PARSE_FAIL(v, CLY_ERROR_INVALID_ARGUMENT, "section count 2");
    v.p[16] = 0;
    v.p[20] = 200;
    b_reseal(&v);
    PARSE_FAIL(v, CLY_ERROR_INVALID_ARGUMENT, "section count 200");
    v.p[20] = 2;
    v.p[24] ^= 8;
    b_reseal(&v);
    PARSE_FAIL(v, CLY_ERROR_INVALID_ARGUMENT, "truncated or extended");
    v.p[24] ^= 8;
    v.p[36] = 1;
    b_reseal(&v);
    PARSE_FAIL(v, CLY_ERROR_INVALID_ARGUMENT, "reserved field is 1");
    v.p[36] = 0;
    b_reseal(&v);
    cly_model m;
    ck_assert(parse(&v, 0, &m) == CLY_SUCCESS);
    cly_model_free(&m);
    /* The file size is in the header: a file with bytes added is refused. */
    bytes longer = {0};
    b_raw(&longer, v.p, v.n);
    b_le(&longer, 0, 8);
    PARSE_FAIL(longer, CLY_ERROR_INVALID_ARGUMENT, "truncated or extended");
    bytes tiny = {0};
    b_raw(&tiny, "CLAYERMD", 8);
    PARSE_FAIL(tiny, CLY_ERROR_INVALID_ARGUMENT, "shorter than the smallest model file");
    free(tiny.p);
    free(longer.p);
    free(v.p);
    free(g.p);
    free(p.p);
}
END_TEST

START_TEST(t_checksums)
{
    bytes f = valid_file(false);
    f.p[44] ^= 1;
    PARSE_FAIL(f, CLY_ERROR_INVALID_ARGUMENT, "header checksum mismatch");
    f.p[44] ^= 1;
    f.p[f.n - 1] ^= 1;
    PARSE_FAIL(f, CLY_ERROR_INVALID_ARGUMENT, "file checksum mismatch");
    f.p[f.n - 1] ^= 1;
    f.p[48 + 16 + 10] ^= 4; /* inside the graph text, file checksum redone */
    b_reseal(&f);
    PARSE_FAIL(f, CLY_ERROR_INVALID_ARGUMENT, "GRAPH section at offset");
    PARSE_FAIL(f, CLY_ERROR_INVALID_ARGUMENT, "checksum mismatch");
    cly_model m;
    ck_assert(parse(&f, CLY_MODEL_NO_CHECKSUMS, &m) == CLY_SUCCESS); /* structure intact */
    cly_model_free(&m);
    free(f.p);
}
END_TEST

static bytes sections(uint32_t t1, const bytes *p1, uint32_t t2, const bytes *p2, uint32_t flags, uint32_t count)
{
    bytes f = b_file();
    b_section(&f, t1, p1);
    b_section(&f, t2, p2);
    b_seal(&f, 1, flags, count);
    return f;
}

START_TEST(t_sections)
{
    bytes g = b_graph(TEXT), p = params_payload(SIZE_MAX, 1);
    bytes f = sections(2, &p, 1, &g, 0, 2);
    PARSE_FAIL(f, CLY_ERROR_INVALID_ARGUMENT, "a PARAMS section where GRAPH belongs");
    free(f.p);
    f = sections(1, &g, 9, &p, 0, 2);
    PARSE_FAIL(f, CLY_ERROR_INVALID_ARGUMENT, "unknown section type 9");
    free(f.p);
    f = sections(1, &g, 1, &p, 0, 2);
    PARSE_FAIL(f, CLY_ERROR_INVALID_ARGUMENT, "a GRAPH section where PARAMS belongs");
    free(f.p);
    /* Section length beyond the file, and not a multiple of 8. */
    f = sections(1, &g, 2, &p, 0, 2);
    size_t len_at = 48 + 16 + g.n + 32 + 8;
    f.p[len_at + 4] = 1; /* + 2^32 */
    b_reseal(&f);
    PARSE_FAIL(f, CLY_ERROR_INVALID_ARGUMENT, "runs past the end of the file");
    f.p[len_at + 4] = 0;
    f.p[len_at] ^= 4;
    b_reseal(&f);
    PARSE_FAIL(f, CLY_ERROR_INVALID_ARGUMENT, "is not a multiple of 8");
    f.p[len_at] ^= 4;
    f.p[len_at - 4] = 1; /* section flags */
    b_reseal(&f);
    PARSE_FAIL(f, CLY_ERROR_INVALID_ARGUMENT, "unknown section flags 0x1");
    free(f.p);
    /* Bytes between the last section and the trailer. */
    f = b_file();
    b_section(&f, 1, &g);
    b_section(&f, 2, &p);
    b_le(&f, 0, 8);
    b_seal(&f, 1, 0, 2);
    PARSE_FAIL(f, CLY_ERROR_INVALID_ARGUMENT, "8 bytes between the last section and the checksum");
    free(f.p);
    /* Only a GRAPH section where two are promised. */
    f = b_file();
    b_section(&f, 1, &g);
    b_le(&f, 0, 8); /* room for a header, none for its checksum */
    b_le(&f, 0, 8);
    b_seal(&f, 1, 0, 2);
    PARSE_FAIL(f, CLY_ERROR_INVALID_ARGUMENT, "section header runs past the end of the file");
    free(f.p);
    free(g.p);
    free(p.p);
}
END_TEST

START_TEST(t_graph_payload)
{
    bytes p = params_payload(SIZE_MAX, 1);
    bytes g = {0};
    b_le(&g, 0, 8);
    bytes f = sections(1, &g, 2, &p, 0, 2);
    PARSE_FAIL(f, CLY_ERROR_INVALID_ARGUMENT, "text length 0 is out of range");
    free(f.p);
    g.n = 0;
    b_le(&g, (uint64_t)1 << 40, 8);
    f = sections(1, &g, 2, &p, 0, 2);
    PARSE_FAIL(f, CLY_ERROR_INVALID_ARGUMENT, "text length 1099511627776 is out of range");
    free(f.p);
    g.n = 0;
    b_le(&g, 3, 8);
    b_raw(&g, "abcdefghijklmnop", 16);
    f = sections(1, &g, 2, &p, 0, 2);
    PARSE_FAIL(f, CLY_ERROR_INVALID_ARGUMENT, "text length 3 does not fill the section");
    free(f.p);
    g.n = 0;
    b_le(&g, 3, 8);
    b_raw(&g, "abcdefgh", 8);
    f = sections(1, &g, 2, &p, 0, 2);
    PARSE_FAIL(f, CLY_ERROR_INVALID_ARGUMENT, "padding after the text is not zero");
    free(f.p);
    free(g.p);
    free(p.p);
}
END_TEST

START_TEST(t_array_fields)
{
    bytes p = {0};
    b_le(&p, 1, 4);
    b_le(&p, 5, 4);
    bytes f = with_params(p);
    PARSE_FAIL(f, CLY_ERROR_INVALID_ARGUMENT, "reserved field is 5");
    free(f.p);

    /* A count of arrays no section of this size could hold: refused before
     * the table is allocated. */
    p = (bytes){0};
    b_le(&p, 0xffffffffu, 4);
    b_le(&p, 0, 4);
    f = with_params(p);
    PARSE_FAIL(f, CLY_ERROR_INVALID_ARGUMENT, "array count 4294967295 is out of range");
    free(f.p);
    p = (bytes){0};
    b_le(&p, 8, 4);
    b_le(&p, 0, 4);
    b_array(&p, 0, "c1", 54, 1, 1.0f); /* 240 bytes: room for 7 of the smallest records */
    f = with_params(p);
    PARSE_FAIL(f, CLY_ERROR_INVALID_ARGUMENT, "array count 8 is out of range (at most 400000, and 7 for the 240 bytes");
    free(f.p);

    struct {
        uint32_t kind;
        const char *name;
        uint64_t count;
        const char *msg;
    } bad[] = {
        {4, "c1", 1, "kind 4 is not weights (0), bias (1), mean (2) or var (3)"},
        {0, "", 1, "name length 0 is out of range"},
        {0, "a234567890123456789012345678901234567890123456789012345678901234", 1, "name length 64 is out of range"},
        {0, "c 1", 1, "the layer name is not"},
        {0, "c1#", 1, "the layer name is not"},
        {0, "c1", 0, "count 0 is out of range"},
        {0, "c1", ((uint64_t)1 << 32) + 1, "count 4294967297 is out of range"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        p = (bytes){0};
        b_le(&p, 1, 4);
        b_le(&p, 0, 4);
        b_array(&p, bad[i].kind, bad[i].name, bad[i].count < 8 ? bad[i].count : 0, 1, 1.0f);
        for (int k = 0; k < 8; k++) /* the claimed count */
            p.p[16 + k] = (unsigned char)(bad[i].count >> (8 * k));
        for (int k = 0; k < 4; k++) /* room for the smallest record */
            b_le(&p, 0, 8);
        f = with_params(p);
        PARSE_FAIL(f, CLY_ERROR_INVALID_ARGUMENT, bad[i].msg);
        PARSE_FAIL(f, CLY_ERROR_INVALID_ARGUMENT, "PARAMS array 0 at offset");
        free(f.p);
    }
    /* 2^32 floats claimed in a file of a few hundred bytes. */
    p = (bytes){0};
    b_le(&p, 1, 4);
    b_le(&p, 0, 4);
    b_array(&p, 0, "c1", 1, 1, 1.0f);
    p.p[8 + 8 + 4] = 1; /* count = 1 + 2^32 ... */
    p.p[8 + 8] = 0;     /* ... = 2^32, the largest allowed */
    f = with_params(p);
    PARSE_FAIL(f, CLY_ERROR_INVALID_ARGUMENT, "c1 weights: count 4294967296 needs 17179869184 bytes of data");
    free(f.p);
    /* Non-zero padding after a name and after data. */
    p = (bytes){0};
    b_le(&p, 1, 4);
    b_le(&p, 0, 4);
    b_array(&p, 0, "c1", 1, 1, 1.0f);
    p.p[8 + 16 + 3] = 'x';
    f = with_params(p);
    PARSE_FAIL(f, CLY_ERROR_INVALID_ARGUMENT, "padding after the name is not zero");
    free(f.p);
    p = (bytes){0};
    b_le(&p, 1, 4);
    b_le(&p, 0, 4);
    b_array(&p, 0, "c1", 1, 1, 1.0f);
    p.p[p.n - 1] = 1;
    f = with_params(p);
    PARSE_FAIL(f, CLY_ERROR_INVALID_ARGUMENT, "padding after the data is not zero");
    free(f.p);
    /* Bytes after the last array. */
    p = params_payload(SIZE_MAX, 1);
    b_le(&p, 0, 8);
    f = with_params(p);
    PARSE_FAIL(f, CLY_ERROR_INVALID_ARGUMENT, "8 bytes after the last array");
    free(f.p);
}
END_TEST

static bytes with_optimizer(uint32_t optimizer, uint32_t moments, uint64_t updates)
{
    bytes f = b_file(), g = b_graph(TEXT), p = params_payload(SIZE_MAX, 1), o = {0};
    b_le(&o, optimizer, 4);
    b_le(&o, moments, 4);
    b_le(&o, updates, 8);
    bytes a = params_payload(SIZE_MAX, moments <= 2 ? (int)moments : 2);
    b_raw(&o, a.p, a.n);
    b_section(&f, 1, &g);
    b_section(&f, 2, &p);
    b_section(&f, 3, &o);
    b_seal(&f, 1, 1, 3);
    free(a.p);
    free(g.p);
    free(p.p);
    free(o.p);
    return f;
}

START_TEST(t_optimizer_fields)
{
    bytes f = with_optimizer(2, 2, 0);
    PARSE_FAIL(f, CLY_ERROR_INVALID_ARGUMENT, "optimizer 2 is not SGD (0) or Adam (1)");
    free(f.p);
    f = with_optimizer(1, 3, 0);
    PARSE_FAIL(f, CLY_ERROR_INVALID_ARGUMENT, "moment count 3 is not 1 or 2");
    free(f.p);
    f = with_optimizer(1, 0, 0);
    PARSE_FAIL(f, CLY_ERROR_INVALID_ARGUMENT, "moment count 0 is not 1 or 2");
    free(f.p);
    f = with_optimizer(0, 1, (uint64_t)1 << 63);
    PARSE_FAIL(f, CLY_ERROR_INVALID_ARGUMENT, "update count 9223372036854775808 is out of range");
    free(f.p);
    f = with_optimizer(0, 1, 5);
    cly_model m;
    ck_assert(parse(&f, 0, &m) == CLY_SUCCESS);
    ck_assert(m.optimizer == 0 && m.moments == 1 && m.updates == 5 && m.opt[0].data[1] == NULL);
    cly_model_free(&m);
    free(f.p);
}
END_TEST

/* Parse + graph + bind, as the loader does, with the graph's own counts. */
static cly_status bind(const bytes *f, cly_graph **gout)
{
    cly_model m;
    cly_status s = parse(f, 0, &m);
    ck_assert_msg(s == CLY_SUCCESS, "%s", cly_last_error(NULL));
    cly_graph *g;
    ck_assert(cly_graph_parse(m.text, m.text_size, "t.clm:GRAPH", &g) == CLY_SUCCESS);
    ck_assert(cly_graph_infer(g, 1) == CLY_SUCCESS);
    int64_t(*expect)[CLY_MODEL_KINDS] = calloc(g->count, sizeof *expect);
    const cly_model_array **slots = calloc(g->count * 8, sizeof *slots);
    cly_model_expected_counts(g, expect);
    s = cly_model_bind(&m, g, (const int64_t(*)[CLY_MODEL_KINDS])expect, "t.clm", slots, slots + g->count * 4);
    if (s == CLY_SUCCESS)
        for (size_t i = 0; i < g->count; i++)
            for (int k = 0; k < 4; k++) {
                ck_assert((slots[i * 4 + (size_t)k] != NULL) == (expect[i][k] > 0));
                ck_assert(!m.has_optimizer || (slots[g->count * 4 + i * 4 + (size_t)k] != NULL) == (expect[i][k] > 0));
            }
    free(expect);
    free(slots);
    cly_model_free(&m);
    if (gout)
        *gout = g;
    else
        cly_graph_destroy(g);
    return s;
}

#define BIND_FAIL(f, status, text)                                                                       \
    do {                                                                                                 \
        cly_status s_ = bind(&(f), NULL);                                                                \
        ck_assert_msg(s_ == (status), "got %s: %s", cly_status_string(s_), cly_last_error(NULL));        \
        ck_assert_msg(strstr(cly_last_error(NULL), (text)) != NULL, "message '%s' lacks '%s'",           \
                      cly_last_error(NULL), (text));                                                     \
    } while (0)

START_TEST(t_bind)
{
    for (int opt = 0; opt < 2; opt++) {
        bytes f = valid_file(opt);
        ck_assert_int_eq(bind(&f, NULL), CLY_SUCCESS);
        free(f.p);
    }
    /* Missing, duplicate, foreign layer, wrong count, a kind the layer lacks. */
    bytes f = with_params(params_payload(3, 1));
    BIND_FAIL(f, CLY_ERROR_INVALID_ARGUMENT, "t.clm: PARAMS: missing array bn bias (3 values)");
    free(f.p);
    bytes p = params_payload(SIZE_MAX, 1);
    p.p[0]++;
    b_array(&p, 0, "f", 96, 1, 0.0f);
    f = with_params(p);
    BIND_FAIL(f, CLY_ERROR_INVALID_ARGUMENT, "PARAMS array 7 at offset");
    BIND_FAIL(f, CLY_ERROR_INVALID_ARGUMENT, "duplicate f weights (array 6 has it already)");
    free(f.p);
    p = params_payload(SIZE_MAX, 1);
    p.p[0]++;
    b_array(&p, 0, "nowhere", 5, 1, 0.0f);
    f = with_params(p);
    BIND_FAIL(f, CLY_ERROR_INVALID_ARGUMENT, "the graph has no layer 'nowhere'");
    free(f.p);
    p = params_payload(6, 1);
    p.p[0]++;
    b_array(&p, 0, "f", 95, 1, 0.0f);
    f = with_params(p);
    BIND_FAIL(f, CLY_ERROR_SHAPE_MISMATCH, "f weights has count 95 in the file, the net expects 96");
    free(f.p);
    p = params_payload(SIZE_MAX, 1);
    p.p[0]++;
    b_array(&p, 1, "f", 2, 1, 0.0f);
    f = with_params(p);
    BIND_FAIL(f, CLY_ERROR_INVALID_ARGUMENT, "f (fc) has no bias array");
    free(f.p);
    p = params_payload(SIZE_MAX, 1);
    p.p[0]++;
    b_array(&p, 0, "r", 1, 1, 0.0f);
    f = with_params(p);
    BIND_FAIL(f, CLY_ERROR_INVALID_ARGUMENT, "r (relu) has no weights array");
    free(f.p);
}
END_TEST

/* Every truncation and every single-bit flip is refused, cleanly. Without
 * the checksums, the same bytes must still never crash the parser. */
START_TEST(t_every_truncation_and_flip)
{
    for (int opt = 0; opt < 2; opt++) {
        bytes f = valid_file(opt);
        cly_model m;
        for (size_t n = 0; n < f.n; n++) {
            unsigned char *copy = malloc(n ? n : 1); /* exact size: ASan sees any over-read */
            memcpy(copy, f.p, n);
            cly_status s = cly_model_parse(copy, n, "t.clm", 0, &m);
            ck_assert_msg(s != CLY_SUCCESS, "truncated to %zu bytes, accepted", n);
            ck_assert(strncmp(cly_last_error(NULL), "t.clm: ", 7) == 0);
            if (cly_model_parse(copy, n, "t.clm", CLY_MODEL_NO_CHECKSUMS, &m) == CLY_SUCCESS)
                cly_model_free(&m);
            free(copy);
        }
        for (size_t bit = 0; bit < f.n * 8; bit++) {
            f.p[bit / 8] ^= (unsigned char)(1u << (bit % 8));
            cly_status s = parse(&f, 0, &m);
            ck_assert_msg(s != CLY_SUCCESS, "bit %zu flipped, accepted", bit);
            if (parse(&f, CLY_MODEL_NO_CHECKSUMS, &m) == CLY_SUCCESS)
                cly_model_free(&m);
            f.p[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        }
        ck_assert(parse(&f, 0, &m) == CLY_SUCCESS);
        cly_model_free(&m);
        free(f.p);
    }
}
END_TEST

/* The committed fuzzing seeds are valid files of this version. */
START_TEST(t_fuzz_seeds)
{
    DIR *d = opendir(CLY_MODEL_SEEDS_DIR);
    ck_assert_ptr_nonnull(d);
    int seeds = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", CLY_MODEL_SEEDS_DIR, e->d_name);
        bytes f = b_read(p);
        cly_graph *g;
        ck_assert_msg(bind(&f, &g) == CLY_SUCCESS, "%s: %s", e->d_name, cly_last_error(NULL));
        cly_graph_destroy(g);
        free(f.p);
        seeds++;
    }
    closedir(d);
    ck_assert_int_ge(seeds, 4);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("model_format");
    TCase *tc = tcase_create("format");
    tcase_set_timeout(tc, CLY_TEST_TIMEOUT);
    tcase_add_test(tc, t_parse_valid);
    tcase_add_test(tc, t_writer_matches_spec);
    tcase_add_test(tc, t_write_errors);
    tcase_add_test(tc, t_stale_temps_removed);
    tcase_add_test(tc, t_header_fields);
    tcase_add_test(tc, t_checksums);
    tcase_add_test(tc, t_sections);
    tcase_add_test(tc, t_graph_payload);
    tcase_add_test(tc, t_array_fields);
    tcase_add_test(tc, t_optimizer_fields);
    tcase_add_test(tc, t_bind);
    tcase_add_test(tc, t_every_truncation_and_flip);
    tcase_add_test(tc, t_fuzz_seeds);
    suite_add_tcase(s, tc);
    return cly_test_run(s, true);
}
