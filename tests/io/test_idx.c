/* IDX datasets: small files written here (raw and gzip) read back exactly;
 * each malformed header or body refused with a message naming the file and
 * the field; gzip members damaged in each part (header fields, deflate
 * data, trailer, bytes after it) refused; the real Fashion-MNIST when
 * installed. */
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

typedef struct idx_bytes {
    unsigned char *p;
    size_t n;
} idx_bytes;

static void be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* magic, dims, then `data` (n bytes). */
static idx_bytes idx(uint32_t magic, const uint32_t *dims, int ndims, const unsigned char *data, size_t n)
{
    idx_bytes b = {malloc(4 + 4 * (size_t)ndims + n + 1), 4 + 4 * (size_t)ndims + n};
    be32(b.p, magic);
    for (int i = 0; i < ndims; i++)
        be32(b.p + 4 + 4 * i, dims[i]);
    if (n)
        memcpy(b.p + 4 + 4 * ndims, data, n);
    return b;
}

static void write_file(const char *path, const idx_bytes *b, bool gzip)
{
    if (gzip) {
        gzFile f = gzopen(path, "wb9");
        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(gzwrite(f, b->p, (unsigned)b->n), (int)b->n);
        ck_assert_int_eq(gzclose(f), Z_OK);
    } else {
        FILE *f = fopen(path, "wb");
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(fwrite(b->p, 1, b->n, f), b->n);
        ck_assert_int_eq(fclose(f), 0);
    }
}

static char dir[4096], images_path[4200], labels_path[4200];

static void setup(void)
{
    cly_test_mkdtemp(dir, sizeof dir);
    snprintf(images_path, sizeof images_path, "%s/images", dir);
    snprintf(labels_path, sizeof labels_path, "%s/labels", dir);
}

static void teardown(void)
{
    cly_test_rmtree(dir);
}

#define N 5
#define H 3
#define W 4
static unsigned char pixels[N * H * W];
static const unsigned char label_bytes[N] = {0, 3, 1, 3, 2};

static void fill_pixels(void)
{
    for (int i = 0; i < N * H * W; i++)
        pixels[i] = (unsigned char)(i * 37 + 11);
    pixels[0] = 0;
    pixels[1] = 255;
}

static idx_bytes good_images(void)
{
    fill_pixels();
    return idx(0x00000803, (const uint32_t[]){N, H, W}, 3, pixels, sizeof pixels);
}

static idx_bytes good_labels(void)
{
    return idx(0x00000801, (const uint32_t[]){N}, 1, label_bytes, N);
}

START_TEST(t_read_back)
{
    /* Every mix of raw and gzip. */
    for (int mode = 0; mode < 4; mode++) {
        idx_bytes im = good_images(), lb = good_labels();
        write_file(images_path, &im, mode & 1);
        write_file(labels_path, &lb, mode & 2);
        cly_dataset *d = NULL;
        ck_assert_msg(cly_dataset_load_idx(images_path, labels_path, &d) == CLY_SUCCESS, "%s",
                      cly_last_error(NULL));
        ck_assert(d->count == N && d->c == 1 && d->h == H && d->w == W && d->classes == 4);
        for (int i = 0; i < N * H * W; i++)
            ck_assert_msg(d->images[i] == (float)pixels[i] / 255.0f, "pixel %d", i);
        ck_assert(d->images[0] == 0.0f && d->images[1] == 1.0f);
        for (int i = 0; i < N; i++)
            ck_assert_int_eq(d->labels[i], label_bytes[i]);
        cly_dataset_destroy(d);
        free(im.p);
        free(lb.p);
    }
    cly_dataset_destroy(NULL);
}
END_TEST

/* Loading fails with `status`; the message names `path` and has `text`. */
static void expect_fail(cly_status status, const char *path, const char *text)
{
    cly_dataset *d = NULL;
    cly_status s = cly_dataset_load_idx(images_path, labels_path, &d);
    ck_assert_msg(s == status, "got %s (want %s): %s", cly_status_string(s), cly_status_string(status),
                  cly_last_error(NULL));
    ck_assert_ptr_null(d);
    const char *msg = cly_last_error(NULL);
    ck_assert_msg(strncmp(msg, path, strlen(path)) == 0 && strstr(msg, text), "message '%s' lacks '%s: ...%s'", msg,
                  path, text);
}

/* Write the images `im` (and good labels) in both forms and expect failure. */
static void bad_images(idx_bytes im, cly_status status, const char *text)
{
    idx_bytes lb = good_labels();
    for (int gz = 0; gz < 2; gz++) {
        write_file(images_path, &im, gz);
        write_file(labels_path, &lb, gz);
        expect_fail(status, images_path, text);
    }
    free(im.p);
    free(lb.p);
}

static void bad_labels(idx_bytes lb, cly_status status, const char *text)
{
    idx_bytes im = good_images();
    for (int gz = 0; gz < 2; gz++) {
        write_file(images_path, &im, gz);
        write_file(labels_path, &lb, gz);
        expect_fail(status, labels_path, text);
    }
    free(im.p);
    free(lb.p);
}

START_TEST(t_bad_headers)
{
    fill_pixels();
    bad_images(idx(0x00000804, (const uint32_t[]){N, H, W}, 3, pixels, sizeof pixels), CLY_ERROR_INVALID_ARGUMENT,
               "magic 0x00000804: an IDX images file has 0x00000803");
    bad_images(idx(0x00000801, (const uint32_t[]){N, H, W}, 3, pixels, sizeof pixels), CLY_ERROR_INVALID_ARGUMENT,
               "this one has element type 0x08 and 1 dimension");
    bad_images(idx(0x03080000, (const uint32_t[]){N, H, W}, 3, pixels, sizeof pixels), CLY_ERROR_INVALID_ARGUMENT,
               "magic 0x03080000"); /* little-endian by mistake */
    bad_labels(idx(0x00000803, (const uint32_t[]){N, 1, 1}, 3, label_bytes, N), CLY_ERROR_INVALID_ARGUMENT,
               "magic 0x00000803: an IDX labels file has 0x00000801");
    /* Labels of 256 and more cannot be unsigned bytes: a wider element type
     * (0x0C, int32) is refused by name. */
    unsigned char wide[4 * N] = {0, 0, 1, 0};
    bad_labels(idx(0x00000C01, (const uint32_t[]){N}, 1, wide, sizeof wide), CLY_ERROR_INVALID_ARGUMENT,
               "element type 0x0c");
    bad_images(idx(0x00000803, (const uint32_t[]){0, H, W}, 3, NULL, 0), CLY_ERROR_INVALID_ARGUMENT,
               "count = 0 is out of range (1 to 100000000)");
    bad_images(idx(0x00000803, (const uint32_t[]){100000001, H, W}, 3, NULL, 0), CLY_ERROR_INVALID_ARGUMENT,
               "count = 100000001 is out of range");
    bad_images(idx(0x00000803, (const uint32_t[]){N, 0, W}, 3, NULL, 0), CLY_ERROR_INVALID_ARGUMENT,
               "rows = 0 is out of range (1 to 65536)");
    bad_images(idx(0x00000803, (const uint32_t[]){N, H, 65537}, 3, NULL, 0), CLY_ERROR_INVALID_ARGUMENT,
               "columns = 65537 is out of range");
    bad_images(idx(0x00000803, (const uint32_t[]){0xffffffffu, H, W}, 3, NULL, 0), CLY_ERROR_INVALID_ARGUMENT,
               "count = 4294967295 is out of range");
    /* A header cut short. */
    idx_bytes cut = good_images();
    cut.n = 10;
    bad_images(cut, CLY_ERROR_INVALID_ARGUMENT, "truncated: 16 bytes of header expected, the file ends after 10");
}
END_TEST

START_TEST(t_bad_bodies)
{
    /* Counts that disagree: found before any data is read. */
    fill_pixels();
    bad_labels(idx(0x00000801, (const uint32_t[]){N + 1}, 1, label_bytes, N), CLY_ERROR_SHAPE_MISMATCH,
               "count = 6 labels, but");
    /* Truncated and trailing data, raw and compressed. */
    idx_bytes im = good_images();
    im.n -= 7;
    bad_images(im, CLY_ERROR_INVALID_ARGUMENT, "truncated: 60 bytes of pixels expected, the file ends after 53");
    im = good_images();
    im.p[im.n++] = 9;
    bad_images(im, CLY_ERROR_INVALID_ARGUMENT, "trailing bytes: the header promises 60 bytes of pixels");
    idx_bytes lb = good_labels();
    lb.n--;
    bad_labels(lb, CLY_ERROR_INVALID_ARGUMENT, "truncated: 5 bytes of labels expected, the file ends after 4");
    /* Huge claims in a small file: 10^8 images of 28 x 28 are more than the
     * 2 GiB limit; 2.7 million (2.1e9 bytes, under the limit) are refused
     * as truncated after one read chunk, not after allocating 2 GiB. */
    uint32_t big[] = {100000000, 28, 28};
    idx_bytes lbig = idx(0x00000801, (const uint32_t[]){100000000}, 1, NULL, 0);
    idx_bytes ibig = idx(0x00000803, big, 3, NULL, 0);
    write_file(images_path, &ibig, false);
    write_file(labels_path, &lbig, false);
    expect_fail(CLY_ERROR_TOO_LARGE, images_path, "100000000 images of 28 x 28 are more than 2147483648 bytes");
    free(ibig.p);
    free(lbig.p);
    big[0] = 2700000;
    lbig = idx(0x00000801, (const uint32_t[]){2700000}, 1, label_bytes, N);
    ibig = idx(0x00000803, big, 3, pixels, sizeof pixels);
    write_file(images_path, &ibig, true);
    write_file(labels_path, &lbig, true);
    expect_fail(CLY_ERROR_INVALID_ARGUMENT, labels_path, "truncated: 2700000 bytes of labels expected");
    free(ibig.p);
    free(lbig.p);
}
END_TEST

/* A damaged gzip stream: cut off, or with its data changed. */
START_TEST(t_bad_gzip)
{
    idx_bytes im = good_images(), lb = good_labels();
    write_file(images_path, &im, true);
    write_file(labels_path, &lb, false);
    FILE *f = fopen(images_path, "rb");
    unsigned char gz[4096];
    size_t n = fread(gz, 1, sizeof gz, f);
    fclose(f);
    ck_assert(n > 30 && gz[0] == 0x1f && gz[1] == 0x8b);
    /* Without the 8-byte trailer (CRC and size), and cut in the middle. */
    idx_bytes cut = {gz, n - 8};
    write_file(images_path, &cut, false);
    expect_fail(CLY_ERROR_INVALID_ARGUMENT, images_path, "truncated");
    cut.n = n / 2;
    write_file(images_path, &cut, false);
    expect_fail(CLY_ERROR_INVALID_ARGUMENT, images_path, "truncated");
    /* A changed CRC. */
    gz[n - 6] ^= 0x55;
    cut.n = n;
    write_file(images_path, &cut, false);
    expect_fail(CLY_ERROR_INVALID_ARGUMENT, images_path, "corrupt compressed data in the");
    ck_assert_ptr_nonnull(strstr(cly_last_error(NULL), "data check"));
    free(im.p);
    free(lb.p);
}
END_TEST

/* ---- gzip members built here byte by byte (RFC 1952), to damage each part */

enum { GZ_FHCRC = 0x02, GZ_FEXTRA = 0x04, GZ_FNAME = 0x08, GZ_FCOMMENT = 0x10 };

static void le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* One member holding b: header with `flags` (name, extra field, comment
 * and header CRC as asked), raw deflate, CRC-32 and length. Sets *body and
 * *body_n to where the deflate data lies. */
static idx_bytes gzip_member(const idx_bytes *b, unsigned flags, size_t *body, size_t *body_n)
{
    size_t cap = 64 + b->n * 2 + 64;
    idx_bytes g = {malloc(cap), 0};
    const unsigned char head[10] = {0x1f, 0x8b, 8, (unsigned char)flags, 0, 0, 0, 0, 0, 3};
    memcpy(g.p, head, sizeof head);
    g.n = sizeof head;
    if (flags & GZ_FEXTRA) {
        const unsigned char extra[] = {5, 0, 'A', 'p', 1, 0, 'x'};
        memcpy(g.p + g.n, extra, sizeof extra);
        g.n += sizeof extra;
    }
    if (flags & GZ_FNAME) {
        memcpy(g.p + g.n, "images", 7);
        g.n += 7;
    }
    if (flags & GZ_FCOMMENT) {
        memcpy(g.p + g.n, "a test", 7);
        g.n += 7;
    }
    if (flags & GZ_FHCRC) {
        uint32_t h = (uint32_t)crc32(0, g.p, (uInt)g.n);
        g.p[g.n++] = (unsigned char)h;
        g.p[g.n++] = (unsigned char)(h >> 8);
    }
    z_stream z = {0};
    ck_assert_int_eq(deflateInit2(&z, 9, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = b->p;
    z.avail_in = (uInt)b->n;
    z.next_out = g.p + g.n;
    z.avail_out = (uInt)(cap - g.n - 8);
    ck_assert_int_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
    *body = g.n;
    *body_n = z.total_out;
    g.n += z.total_out;
    deflateEnd(&z);
    le32(g.p + g.n, (uint32_t)crc32(0, b->p, (uInt)b->n));
    le32(g.p + g.n + 4, (uint32_t)b->n);
    g.n += 8;
    return g;
}

/* A member of b cut after a flush point: every data byte is there, but
 * not the final block, nor the trailer (a download cut short). cut: bytes
 * dropped from the end of the flushed stream (4: the empty stored block's
 * 00 00 ff ff; 5: also the byte with its header bits). */
static idx_bytes gzip_flushed_cut(const idx_bytes *b, size_t cut)
{
    size_t cap = 64 + b->n * 2;
    idx_bytes g = {malloc(cap), 10};
    const unsigned char head[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    memcpy(g.p, head, sizeof head);
    z_stream z = {0};
    ck_assert_int_eq(deflateInit2(&z, 9, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = b->p;
    z.avail_in = (uInt)b->n;
    z.next_out = g.p + g.n;
    z.avail_out = (uInt)(cap - g.n);
    ck_assert_int_eq(deflate(&z, Z_SYNC_FLUSH), Z_OK);
    ck_assert_uint_gt(z.total_out, cut);
    g.n += z.total_out - cut;
    deflateEnd(&z);
    return g;
}

/* Images written as the bytes `g` (good labels beside them). */
static void write_images_raw(const idx_bytes *g)
{
    idx_bytes lb = good_labels();
    write_file(images_path, g, false);
    write_file(labels_path, &lb, false);
    free(lb.p);
}

/* The load succeeds and gives the good images' pixels. */
static void expect_good_images(void)
{
    cly_dataset *d = NULL;
    cly_status s = cly_dataset_load_idx(images_path, labels_path, &d);
    ck_assert_msg(s == CLY_SUCCESS, "%s", cly_last_error(NULL));
    for (int i = 0; i < N * H * W; i++)
        ck_assert_int_eq((int)(d->images[i] * 255.0f + 0.5f), pixels[i]);
    cly_dataset_destroy(d);
}

START_TEST(t_gzip_header_fields)
{
    /* Name, extra field, comment and header CRC are read past; a wrong
     * header CRC, another method, reserved flags or a cut header are refused. */
    idx_bytes im = good_images();
    size_t body, body_n;
    idx_bytes g = gzip_member(&im, GZ_FNAME | GZ_FEXTRA | GZ_FCOMMENT | GZ_FHCRC, &body, &body_n);
    write_images_raw(&g);
    expect_good_images();
    g.p[body - 1] ^= 1; /* the header CRC's high byte */
    write_images_raw(&g);
    expect_fail(CLY_ERROR_INVALID_ARGUMENT, images_path, "corrupt gzip header: its CRC-16 is");
    free(g.p);
    g = gzip_member(&im, 0, &body, &body_n);
    g.p[2] = 7;
    write_images_raw(&g);
    expect_fail(CLY_ERROR_INVALID_ARGUMENT, images_path, "gzip compression method 7 is not deflate (8)");
    g.p[2] = 8;
    g.p[3] = 0x20;
    write_images_raw(&g);
    expect_fail(CLY_ERROR_INVALID_ARGUMENT, images_path, "gzip header flags 0x20 set reserved bits");
    g.p[3] = 0;
    idx_bytes cut = {g.p, 7};
    write_images_raw(&cut);
    expect_fail(CLY_ERROR_INVALID_ARGUMENT, images_path, "truncated: the file ends inside its gzip header");
    free(g.p);
    free(im.p);
}
END_TEST

START_TEST(t_gzip_trailer)
{
    idx_bytes im = good_images();
    size_t body, body_n;
    idx_bytes g = gzip_member(&im, 0, &body, &body_n);
    write_images_raw(&g);
    expect_good_images();
    /* Each cut into the trailer: its CRC-32 and length are required. */
    for (size_t keep = 0; keep < 8; keep++) {
        idx_bytes cut = {g.p, g.n - 8 + keep};
        write_images_raw(&cut);
        expect_fail(CLY_ERROR_INVALID_ARGUMENT, images_path,
                    "truncated: the gzip stream ends without its 8-byte trailer (CRC-32 and length)");
    }
    /* Cut after a flush point: the data complete, the stream not (zlib's
     * gzread can return all the data and then 0 without an error here). */
    for (size_t c = 4; c <= 5; c++) {
        idx_bytes f = gzip_flushed_cut(&im, c);
        write_images_raw(&f);
        expect_fail(CLY_ERROR_INVALID_ARGUMENT, images_path,
                    "truncated: the gzip stream ends inside its compressed data, before its end marker and trailer");
        free(f.p);
    }
    /* A wrong CRC-32, and a wrong length with the right CRC. */
    g.p[g.n - 8] ^= 0x01;
    write_images_raw(&g);
    expect_fail(CLY_ERROR_INVALID_ARGUMENT, images_path, "corrupt compressed data in the pixels: incorrect data check");
    g.p[g.n - 8] ^= 0x01;
    g.p[g.n - 4] ^= 0x01;
    write_images_raw(&g);
    expect_fail(CLY_ERROR_INVALID_ARGUMENT, images_path,
                "incorrect length check (the gzip trailer gives 77 bytes modulo 2^32, the data has 76)");
    g.p[g.n - 4] ^= 0x01;
    /* Anything after the member: garbage, a zero byte, a second member
     * (concatenated gzip, which zlib's gzread reads as one and which is
     * refused here by name). */
    idx_bytes more = {malloc(g.n * 2 + 16), 0};
    memcpy(more.p, g.p, g.n);
    memcpy(more.p + g.n, "garbage", 7);
    more.n = g.n + 7;
    write_images_raw(&more);
    expect_fail(CLY_ERROR_INVALID_ARGUMENT, images_path, "trailing bytes after the end of the gzip stream");
    more.p[g.n] = 0;
    more.n = g.n + 1;
    write_images_raw(&more);
    expect_fail(CLY_ERROR_INVALID_ARGUMENT, images_path, "trailing bytes after the end of the gzip stream");
    idx_bytes empty = {(unsigned char *)"", 0};
    size_t eb, en;
    idx_bytes second = gzip_member(&empty, 0, &eb, &en);
    memcpy(more.p + g.n, second.p, second.n);
    more.n = g.n + second.n;
    write_images_raw(&more);
    expect_fail(CLY_ERROR_INVALID_ARGUMENT, images_path,
                "a second gzip member follows the first: concatenated gzip files are not supported");
    free(second.p);
    free(more.p);
    free(g.p);
    free(im.p);
}
END_TEST

START_TEST(t_gzip_corrupt_body)
{
    /* Every byte of the deflate data changed in turn, with the trailer and
     * without it. With the trailer, either the load is refused or it gives
     * the exact pixels (a change in the padding bits after the last code
     * is harmless); without it, always refused: the case was a
     * damaged body with a cut trailer loading as complete. */
    idx_bytes im = good_images();
    size_t body, body_n;
    idx_bytes g = gzip_member(&im, 0, &body, &body_n);
    for (size_t i = body; i < body + body_n; i++) {
        for (int cut = 0; cut < 2; cut++) {
            g.p[i] ^= 0x55;
            idx_bytes v = {g.p, g.n - (cut ? 8 : 0)};
            write_images_raw(&v);
            cly_dataset *d = NULL;
            cly_status s = cly_dataset_load_idx(images_path, labels_path, &d);
            g.p[i] ^= 0x55;
            if (s == CLY_SUCCESS) {
                ck_assert_msg(!cut, "byte %zu changed and the trailer cut: loaded as complete", i);
                for (int k = 0; k < N * H * W; k++)
                    ck_assert_msg((int)(d->images[k] * 255.0f + 0.5f) == pixels[k],
                                  "byte %zu changed: pixel %d wrong and the load succeeded", i, k);
                cly_dataset_destroy(d);
                continue;
            }
            ck_assert_ptr_null(d);
            const char *msg = cly_last_error(NULL);
            /* A change in the IDX header can make the counts disagree: the
             * labels' message then names both files. */
            ck_assert_msg(strstr(msg, images_path), "'%s' does not name the file", msg);
            ck_assert_msg(s == CLY_ERROR_INVALID_ARGUMENT || s == CLY_ERROR_SHAPE_MISMATCH || s == CLY_ERROR_TOO_LARGE,
                          "byte %zu: %s: %s", i, cly_status_string(s), msg);
        }
    }
    free(g.p);
    free(im.p);
}
END_TEST

START_TEST(t_missing)
{
    cly_dataset *d = NULL;
    ck_assert_int_eq(cly_dataset_load_idx(images_path, labels_path, &d), CLY_ERROR_IO);
    ck_assert_ptr_nonnull(strstr(cly_last_error(NULL), images_path));
    ck_assert_int_eq(cly_dataset_load_idx(dir, labels_path, &d), CLY_ERROR_IO);
    ck_assert_ptr_nonnull(strstr(cly_last_error(NULL), "not a regular file"));
    ck_assert_int_eq(cly_dataset_load_idx(NULL, labels_path, &d), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_dataset_load_idx(images_path, labels_path, NULL), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_dataset_load_fashion_mnist(dir, true, &d), CLY_ERROR_IO);
    ck_assert_ptr_nonnull(strstr(cly_last_error(NULL), "train-images-idx3-ubyte.gz: not found"));
    ck_assert_ptr_nonnull(strstr(cly_last_error(NULL), "apt-get install dataset-fashion-mnist"));
    ck_assert_int_eq(cly_dataset_load_fashion_mnist("/nonexistent", false, &d), CLY_ERROR_IO);
    ck_assert_ptr_nonnull(strstr(cly_last_error(NULL), "/nonexistent/t10k-images-idx3-ubyte.gz: not found"));
    ck_assert_ptr_null(d);
}
END_TEST

static void check_fashion(bool train, int64_t count)
{
    cly_dataset *d = NULL;
    ck_assert_msg(cly_dataset_load_fashion_mnist(NULL, train, &d) == CLY_SUCCESS, "%s", cly_last_error(NULL));
    ck_assert_int_eq(d->count, count);
    ck_assert(d->c == 1 && d->h == 28 && d->w == 28 && d->classes == 10);
    int64_t hist[10] = {0};
    for (int64_t i = 0; i < d->count; i++) {
        ck_assert(d->labels[i] >= 0 && d->labels[i] < 10);
        hist[d->labels[i]]++;
    }
    for (int c = 0; c < 10; c++)
        ck_assert_int_eq(hist[c], count / 10);
    float lo = 1, hi = 0;
    for (int64_t i = 0; i < d->count * 28 * 28; i++) {
        lo = d->images[i] < lo ? d->images[i] : lo;
        hi = d->images[i] > hi ? d->images[i] : hi;
    }
    ck_assert(lo == 0.0f && hi == 1.0f);
    cly_dataset_destroy(d);
}

START_TEST(t_fashion_mnist)
{
    FILE *f = fopen("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", "rb");
    if (!f) {
        fprintf(stderr, "t_fashion_mnist: skipped: Fashion-MNIST is not installed "
                        "(apt-get install dataset-fashion-mnist)\n");
        return;
    }
    fclose(f);
    check_fashion(true, 60000);
    check_fashion(false, 10000);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("idx");
    TCase *tc = tcase_create("idx");
    tcase_set_timeout(tc, CLY_TEST_TIMEOUT);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, t_read_back);
    tcase_add_test(tc, t_bad_headers);
    tcase_add_test(tc, t_bad_bodies);
    tcase_add_test(tc, t_bad_gzip);
    tcase_add_test(tc, t_gzip_header_fields);
    tcase_add_test(tc, t_gzip_trailer);
    tcase_add_test(tc, t_gzip_corrupt_body);
    tcase_add_test(tc, t_missing);
    tcase_add_test(tc, t_fashion_mnist);
    suite_add_tcase(s, tc);
    return cly_test_run(s, true);
}
