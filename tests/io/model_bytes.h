/* A second, independent encoder of docs/model-format.md for the tests:
 * builds model files byte by byte, with valid checksums around whatever
 * (possibly malformed) contents a test asks for, so that each check of the
 * loader can be reached on its own. Written from the document, not from
 * model_format.c, so it also checks that the two agree. */
#ifndef CLY_TEST_MODEL_BYTES_H
#define CLY_TEST_MODEL_BYTES_H

#include "runtime/runtime.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct bytes {
    unsigned char *p;
    size_t n, cap;
} bytes;

static inline void b_raw(bytes *b, const void *data, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        ck_assert_ptr_nonnull(b->p);
    }
    if (n)
        memcpy(b->p + b->n, data, n);
    b->n += n;
}

static inline void b_le(bytes *b, uint64_t v, int n)
{
    ck_assert(n >= 1 && n <= 8);
    unsigned char t[8];
    for (int i = 0; i < n; i++)
        t[i] = (unsigned char)(v >> (8 * i));
    b_raw(b, t, (size_t)n);
}

static inline void b_pad8(bytes *b)
{
    while (b->n % 8)
        b_le(b, 0, 1);
}

static inline void b_sha(const void *data, size_t n, unsigned char out[32])
{
    cly_sha256 h;
    cly_sha256_init(&h);
    cly_sha256_update(&h, data, n);
    cly_sha256_final(&h, out);
}

/* A new file: the 48-byte header, filled in by b_seal. */
static inline bytes b_file(void)
{
    bytes b = {0};
    b_raw(&b, "CLAYERMD", 8);
    for (int i = 0; i < 40; i++)
        b_le(&b, 0, 1);
    return b;
}

/* One section: type, flags, length, payload, SHA-256 of all of that. */
static inline void b_section(bytes *f, uint32_t type, const bytes *payload)
{
    size_t start = f->n;
    b_le(f, type, 4);
    b_le(f, 0, 4);
    b_le(f, payload->n, 8);
    b_raw(f, payload->p, payload->n);
    unsigned char d[32];
    b_sha(f->p + start, f->n - start, d);
    b_raw(f, d, 32);
}

/* GRAPH payload: u64 length, text, zero padding. */
static inline bytes b_graph(const char *text)
{
    bytes b = {0};
    b_le(&b, strlen(text), 8);
    b_raw(&b, text, strlen(text));
    b_pad8(&b);
    return b;
}

/* An array record with `moments` data blocks whose floats are `value`. */
static inline void b_array(bytes *b, uint32_t kind, const char *name, uint64_t count, int moments, float value)
{
    b_le(b, kind, 4);
    b_le(b, strlen(name), 4);
    b_le(b, count, 8);
    b_raw(b, name, strlen(name));
    b_pad8(b);
    for (int m = 0; m < moments; m++) {
        for (uint64_t i = 0; i < count; i++) {
            uint32_t bits;
            memcpy(&bits, &value, 4);
            b_le(b, bits, 4);
        }
        b_pad8(b);
    }
}

/* Header fields, the header checksum and the trailing file checksum.
 * `sections` and `flags` as the file should claim them. */
static inline void b_seal(bytes *f, uint32_t version, uint32_t flags, uint32_t sections)
{
    unsigned char *h = f->p;
    size_t total = f->n + 32;
    for (int i = 0; i < 4; i++) {
        h[8 + i] = (unsigned char)(version >> (8 * i));
        h[12 + i] = (unsigned char)(48u >> (8 * i));
        h[16 + i] = (unsigned char)(flags >> (8 * i));
        h[20 + i] = (unsigned char)(sections >> (8 * i));
        h[32 + i] = (unsigned char)((uint32_t)(CLY_VERSION_MAJOR << 16 | CLY_VERSION_MINOR << 8 | CLY_VERSION_PATCH) >>
                                    (8 * i));
    }
    for (int i = 0; i < 8; i++)
        h[24 + i] = (unsigned char)((uint64_t)total >> (8 * i));
    unsigned char d[32];
    b_sha(h, 40, d);
    memcpy(h + 40, d, 8);
    b_sha(f->p, f->n, d);
    b_raw(f, d, 32);
}

/* After patching bytes of a sealed file: header and file checksums again. */
static inline void b_reseal(bytes *f)
{
    unsigned char d[32];
    b_sha(f->p, 40, d);
    memcpy(f->p + 40, d, 8);
    b_sha(f->p, f->n - 32, d);
    memcpy(f->p + f->n - 32, d, 32);
}

static inline void b_write(const bytes *b, const char *path)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(b->p, 1, b->n, f), b->n);
    ck_assert_int_eq(fclose(f), 0);
}

static inline bytes b_read(const char *path)
{
    bytes b = {0};
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    unsigned char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        b_raw(&b, buf, n);
    fclose(f);
    return b;
}

#endif
