/* Kernel bundle encoding and bounds-checked decoding (bundle.h; the layout
 * is docs/bundle-format.md). */
#include "io/bundle.h"
#include "io/file_read.h"
#include "base/sha256.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEAD 16 /* magic, version, entry count */
#define TRAILER 32

static void sha(const uint8_t *data, size_t size, uint8_t out[32])
{
    cly_sha256 h;
    cly_sha256_init(&h);
    cly_sha256_update(&h, data, size);
    cly_sha256_final(&h, out);
}

static uint64_t get_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* A cursor over the body: every take checks the bytes left first. */
typedef struct reader {
    const uint8_t *p;
    size_t left;
    size_t at; /* offset in the file, for messages */
} reader;

static const uint8_t *take(reader *r, size_t n)
{
    if (n > r->left)
        return NULL;
    const uint8_t *p = r->p;
    r->p += n;
    r->left -= n;
    r->at += n;
    return p;
}

static cly_status bad(const char *where, const char *fmt, size_t a, size_t b)
{
    char why[256];
    snprintf(why, sizeof why, fmt, a, b);
    return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: not a valid kernel bundle: %s", where, why);
}

/* A length-prefixed string, copied with a NUL; *out NULL on failure. */
static cly_status take_string(reader *r, const char *where, const char *what, char **out)
{
    *out = NULL;
    size_t at = r->at;
    const uint8_t *len = take(r, 4);
    if (!len)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT,
                        "%s: not a valid kernel bundle: %s's length at byte %zu runs past the end", where, what, at);
    uint64_t n = get_le(len, 4);
    if (n > CLY_BUNDLE_STRING_MAX)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT,
                        "%s: not a valid kernel bundle: %s at byte %zu is %llu bytes, more than %u", where, what,
                        at, (unsigned long long)n, CLY_BUNDLE_STRING_MAX);
    const uint8_t *s = take(r, (size_t)n);
    if (!s)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT,
                        "%s: not a valid kernel bundle: %s at byte %zu (%llu bytes) runs past the end (%zu left)",
                        where, what, at, (unsigned long long)n, r->left);
    if (memchr(s, 0, (size_t)n))
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: not a valid kernel bundle: %s at byte %zu holds a NUL",
                        where, what, at);
    char *c = malloc((size_t)n + 1);
    if (!c)
        return cly_fail(NULL, CLY_ERROR_OUT_OF_HOST_MEMORY, "%s: %s of %llu bytes", where, what,
                        (unsigned long long)n);
    memcpy(c, s, (size_t)n);
    c[n] = '\0';
    *out = c;
    return CLY_SUCCESS;
}

void cly_bundle_free(cly_bundle *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->count; i++) {
        free(b->entries[i].name);
        free(b->entries[i].options);
    }
    free(b->entries);
    free(b->library_version);
    free(b->platform_name);
    free(b->platform_version);
    free(b->device_name);
    free(b->driver_version);
    free(b->owned);
    free(b);
}

const cly_bundle_entry *cly_bundle_find(const cly_bundle *b, const char *name, const char *options)
{
    for (size_t i = 0; b && i < b->count; i++)
        if (strcmp(b->entries[i].name, name) == 0 && strcmp(b->entries[i].options, options) == 0)
            return &b->entries[i];
    return NULL;
}

static bool duplicate(const cly_bundle_entry *e, size_t count, const char *name, const char *options)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(e[i].name, name) == 0 && strcmp(e[i].options, options) == 0)
            return true;
    return false;
}

cly_status cly_bundle_parse(const uint8_t *data, size_t size, const char *where, cly_bundle **out)
{
    if (!out || (!data && size))
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: no bytes to parse", where);
    if (size < HEAD + 20 + TRAILER) /* the five header strings take 20 bytes when empty */
        return bad(where, "%zu bytes, fewer than the %zu of an empty bundle", size, HEAD + 20 + TRAILER);
    if (memcmp(data, CLY_BUNDLE_MAGIC, 8) != 0)
        return bad(where, "no magic \"" CLY_BUNDLE_MAGIC "\" at byte %zu (%zu bytes in all)", (size_t)0, size);
    uint8_t digest[32];
    sha(data, size - TRAILER, digest);
    if (memcmp(digest, data + size - TRAILER, TRAILER) != 0)
        return bad(where, "the SHA-256 over bytes 0..%zu does not match the one stored at byte %zu (corrupt or "
                          "truncated)",
                   size - TRAILER, size - TRAILER);
    uint64_t version = get_le(data + 8, 4), count = get_le(data + 12, 4);
    if (version != CLY_BUNDLE_VERSION)
        return bad(where, "format version %zu, this library reads %zu", (size_t)version, CLY_BUNDLE_VERSION);
    if (count > CLY_BUNDLE_ENTRIES_MAX)
        return bad(where, "%zu entries, more than %zu", (size_t)count, CLY_BUNDLE_ENTRIES_MAX);
    cly_bundle *b = calloc(1, sizeof *b);
    /* Each entry takes at least 48 bytes, so a count beyond that is a lie
     * caught before allocating for it. */
    if (b && count > (size - HEAD - TRAILER) / 48) {
        free(b);
        return bad(where, "%zu entries cannot fit in %zu bytes", (size_t)count, size);
    }
    if (!b || (count && !(b->entries = calloc((size_t)count, sizeof *b->entries)))) {
        free(b);
        return cly_fail(NULL, CLY_ERROR_OUT_OF_HOST_MEMORY, "%s: bundle of %zu entries", where, (size_t)count);
    }
    reader r = {data + HEAD, size - HEAD - TRAILER, HEAD};
    cly_status s = take_string(&r, where, "the library version", &b->library_version);
    if (s == CLY_SUCCESS)
        s = take_string(&r, where, "the platform name", &b->platform_name);
    if (s == CLY_SUCCESS)
        s = take_string(&r, where, "the platform version", &b->platform_version);
    if (s == CLY_SUCCESS)
        s = take_string(&r, where, "the device name", &b->device_name);
    if (s == CLY_SUCCESS)
        s = take_string(&r, where, "the driver version", &b->driver_version);
    for (size_t i = 0; s == CLY_SUCCESS && i < count; i++) {
        cly_bundle_entry *e = &b->entries[i];
        char what[64];
        snprintf(what, sizeof what, "entry %zu's program name", i);
        s = take_string(&r, where, what, &e->name);
        if (s != CLY_SUCCESS)
            break;
        b->count = i + 1; /* from here on e's strings are freed with b */
        snprintf(what, sizeof what, "entry %zu's options", i);
        s = take_string(&r, where, what, &e->options);
        if (s != CLY_SUCCESS)
            break;
        if (!*e->name) {
            s = bad(where, "entry %zu at byte %zu has an empty program name", i, r.at);
            break;
        }
        if (duplicate(b->entries, i, e->name, e->options)) {
            s = cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT,
                         "%s: not a valid kernel bundle: entry %zu repeats program '%s' with options '%s'", where, i,
                         e->name, e->options);
            break;
        }
        size_t at = r.at;
        const uint8_t *hash = take(&r, 32), *len = hash ? take(&r, 8) : NULL;
        if (!len) {
            s = bad(where, "entry %zu's source hash and size at byte %zu run past the end", i, at);
            break;
        }
        memcpy(e->source_sha256, hash, 32);
        uint64_t n = get_le(len, 8);
        if (n == 0 || n > CLY_BUNDLE_BINARY_MAX || n > r.left) {
            s = cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT,
                         "%s: not a valid kernel bundle: entry %zu ('%s') has a binary of %llu bytes at byte %zu "
                         "(%zu left, at most %llu)",
                         where, i, e->name, (unsigned long long)n, r.at, r.left,
                         (unsigned long long)CLY_BUNDLE_BINARY_MAX);
            break;
        }
        e->size = (size_t)n;
        e->binary = take(&r, e->size);
    }
    if (s == CLY_SUCCESS && r.left != 0)
        s = bad(where, "%zu bytes after the last entry (at byte %zu)", r.left, r.at);
    if (s != CLY_SUCCESS) {
        cly_bundle_free(b);
        return s;
    }
    *out = b;
    return CLY_SUCCESS;
}

cly_status cly_bundle_load(const char *path, cly_bundle **out)
{
    uint8_t *data;
    size_t size;
    cly_status s = cly_read_file(path, CLY_BUNDLE_FILE_MAX, "a kernel bundle", &data, &size);
    if (s != CLY_SUCCESS)
        return s;
    cly_bundle *b;
    s = cly_bundle_parse(data, size, path, &b);
    if (s != CLY_SUCCESS) {
        free(data);
        return s;
    }
    b->owned = data;
    *out = b;
    return CLY_SUCCESS;
}

const char *cly_bundle_mismatch(const cly_bundle *b, const cly_bundle_target *t, const char **have,
                                const char **want)
{
    const struct {
        const char *what, *have, *want;
    } f[] = {{"library version", b->library_version, t->library_version},
             {"platform name", b->platform_name, t->platform_name},
             {"platform version", b->platform_version, t->platform_version},
             {"device name", b->device_name, t->device_name},
             {"driver version", b->driver_version, t->driver_version}};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (strcmp(f[i].have, f[i].want) != 0) {
            *have = f[i].have;
            *want = f[i].want;
            return f[i].what;
        }
    return NULL;
}

static bool string_ok(const char *s)
{
    return strlen(s) <= CLY_BUNDLE_STRING_MAX;
}

static uint8_t *put_string(uint8_t *p, const char *s)
{
    size_t n = strlen(s);
    put_le(p, n, 4);
    memcpy(p + 4, s, n);
    return p + 4 + n;
}

cly_status cly_bundle_encode(const cly_bundle_target *t, const cly_bundle_entry *entries, size_t count,
                             uint8_t **out, size_t *size)
{
    const char *head[] = {t->library_version, t->platform_name, t->platform_version, t->device_name,
                          t->driver_version};
    if (count > CLY_BUNDLE_ENTRIES_MAX)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "kernel bundle: %zu programs, more than %u", count,
                        CLY_BUNDLE_ENTRIES_MAX);
    uint64_t total = HEAD + TRAILER;
    for (size_t i = 0; i < 5; i++) {
        if (!string_ok(head[i]))
            return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "kernel bundle: header string %zu is over %u bytes", i,
                            CLY_BUNDLE_STRING_MAX);
        total += 4 + strlen(head[i]);
    }
    for (size_t i = 0; i < count; i++) {
        const cly_bundle_entry *e = &entries[i];
        if (!*e->name || !string_ok(e->name) || !string_ok(e->options) || e->size == 0 ||
            e->size > CLY_BUNDLE_BINARY_MAX || duplicate(entries, i, e->name, e->options))
            return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT,
                            "kernel bundle: entry %zu (program '%s', options '%s', %zu-byte binary) is empty, too "
                            "long or a repeat",
                            i, e->name, e->options, e->size);
        total += 8 + strlen(e->name) + strlen(e->options) + 32 + 8 + e->size;
    }
    if (total > CLY_BUNDLE_FILE_MAX || (uint64_t)(size_t)total != total)
        return cly_fail(NULL, CLY_ERROR_TOO_LARGE, "kernel bundle: %llu bytes, more than %llu",
                        (unsigned long long)total, (unsigned long long)CLY_BUNDLE_FILE_MAX);
    uint8_t *buf = malloc((size_t)total);
    if (!buf)
        return cly_fail(NULL, CLY_ERROR_OUT_OF_HOST_MEMORY, "kernel bundle of %llu bytes", (unsigned long long)total);
    memcpy(buf, CLY_BUNDLE_MAGIC, 8);
    put_le(buf + 8, CLY_BUNDLE_VERSION, 4);
    put_le(buf + 12, count, 4);
    uint8_t *p = buf + HEAD;
    for (size_t i = 0; i < 5; i++)
        p = put_string(p, head[i]);
    for (size_t i = 0; i < count; i++) {
        p = put_string(p, entries[i].name);
        p = put_string(p, entries[i].options);
        memcpy(p, entries[i].source_sha256, 32);
        put_le(p + 32, entries[i].size, 8);
        memcpy(p + 40, entries[i].binary, entries[i].size);
        p += 40 + entries[i].size;
    }
    sha(buf, (size_t)total - TRAILER, p);
    *out = buf;
    *size = (size_t)total;
    return CLY_SUCCESS;
}
