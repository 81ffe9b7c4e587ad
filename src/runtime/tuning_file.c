/* The tuning file of tuning_file.h. Text, so that a person can read and edit
 * what the tuner chose:
 *
 *   # comment
 *   clayer-tuning 1
 *   library 0.2.0
 *   platform Portable Computing Language
 *   platform-version OpenCL 3.0 PoCL 3.1 ...
 *   device cpu-haswell-AMD EPYC
 *   driver 3.1
 *   mb1g1ic64ih56iw56oc64kh3kw3sh1sw1pt1pb1pl1pr1dh1dw1 direct,16,6,4,8 1.234 1.502
 *
 * Entry: shape key, ALGO,VW,KT,TY,WG, the winner's median ms, the built-in
 * choice's. The file is untrusted input (anyone may write the cache
 * directory's files): bounded lines and file size, every number range
 * checked, never fatal. */
#include "runtime/tuning_file.h"
#include "io/file_read.h"
#include "io/file_write.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool cly_tuning_file_enabled(void)
{
    const char *v = getenv("CLAYER_TUNING");
    return !(v && (strcmp(v, "off") == 0 || strcmp(v, "0") == 0));
}

static void hash_str(cly_sha256 *h, const char *s)
{
    uint64_t n = strlen(s); /* length-prefixed, as the binary cache's key */
    cly_sha256_update(h, &n, sizeof n);
    cly_sha256_update(h, s, (size_t)n);
}

void cly_tuning_file_path(const cly_device_info *info, const char *dir, char *path, size_t size)
{
    cly_sha256 h;
    unsigned char d[32];
    cly_sha256_init(&h);
    hash_str(&h, CLY_VERSION_STRING);
    hash_str(&h, info->platform_name);
    hash_str(&h, info->platform_version);
    hash_str(&h, info->name);
    hash_str(&h, info->driver_version);
    cly_sha256_final(&h, d);
    snprintf(path, size, "%s/tuning-%02x%02x%02x%02x%02x%02x%02x%02x.txt", dir, d[0], d[1], d[2], d[3], d[4], d[5],
             d[6], d[7]);
}

/* ---- parsing */

static bool key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == ':' || c == '_' || c == '-';
}

static bool parse_int(const char **p, char stop, long lo, long hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(*p, &end, 10);
    if (end == *p || errno || *end != stop || v < lo || v > hi)
        return false;
    *out = (int)v;
    *p = end + 1;
    return true;
}

static bool parse_ms(const char **p, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(*p, &end);
    if (end == *p || errno || !(*end == ' ' || *end == '\0') || !isfinite(v) || v < 0 || v > 1e9)
        return false;
    *out = v;
    *p = *end ? end + 1 : end;
    return true;
}

static bool tile_ok(const cly_tuned_entry *e)
{
    /* tiled: VW, RM, RN / VW (kernels/conv_tiled.c), all checked again there */
    if (e->algo == CLY_CONV_TILED)
        return (e->vw == 1 || e->vw == 2 || e->vw == 4) && e->kt >= 1 && e->kt <= 16 && e->ty >= 1 && e->ty <= 8;
    if (e->algo != CLY_CONV_DIRECT)
        return e->vw == 0 && e->kt == 0 && e->ty == 0;
    return (e->vw == 1 || e->vw == 2 || e->vw == 4 || e->vw == 8 || e->vw == 16) && e->kt >= 1 && e->kt <= 16 &&
           e->ty >= 1 && e->ty <= 8;
}

/* One entry line (NUL-terminated, no newline); false: corrupt. */
static bool parse_entry(const char *line, cly_tuned_entry *e)
{
    memset(e, 0, sizeof *e);
    size_t k = 0;
    while (key_char(line[k]))
        k++;
    if (k == 0 || k >= CLY_TUNE_KEY_MAX || line[k] != ' ')
        return false;
    memcpy(e->key, line, k);
    const char *p = line + k + 1;
    const char *comma = strchr(p, ',');
    if (!comma || comma - p > 31)
        return false;
    char name[32];
    memcpy(name, p, (size_t)(comma - p));
    name[comma - p] = '\0';
    e->algo = CLY_CONV_AUTO;
    for (int a = CLY_CONV_AUTO + 1; a < CLY_CONV_ALGO_COUNT; a++)
        if (strcmp(name, cly_conv_algo_string((cly_conv_algo)a)) == 0)
            e->algo = (cly_conv_algo)a;
    if (e->algo == CLY_CONV_AUTO)
        return false;
    p = comma + 1;
    return parse_int(&p, ',', 0, 16, &e->vw) && parse_int(&p, ',', 0, 16, &e->kt) &&
           parse_int(&p, ',', 0, 8, &e->ty) && parse_int(&p, ' ', 0, 1024, &e->wg) && parse_ms(&p, &e->ms) &&
           parse_ms(&p, &e->default_ms) && *p == '\0' && tile_ok(e);
}

/* The header's fields, in order, and what ctx's device says. */
typedef struct header_field {
    const char *name;
    const char *want;
} header_field;

static size_t find_entry(const struct cly_tuned_table *t, const char *key)
{
    for (size_t i = 0; i < t->count; i++)
        if (strcmp(t->entries[i].key, key) == 0)
            return i;
    return t->count;
}

static cly_status table_put(struct cly_tuned_table *t, const cly_tuned_entry *e)
{
    size_t i = find_entry(t, e->key);
    if (i < t->count) {
        t->entries[i] = *e;
        return CLY_SUCCESS;
    }
    if (t->count >= CLY_TUNE_ENTRIES_MAX)
        return CLY_ERROR_TOO_LARGE;
    if (t->count == t->capacity) {
        size_t cap = t->capacity ? 2 * t->capacity : 16;
        cly_tuned_entry *n = realloc(t->entries, cap * sizeof *n);
        if (!n)
            return CLY_ERROR_OUT_OF_HOST_MEMORY;
        t->entries = n;
        t->capacity = cap;
    }
    t->entries[t->count++] = *e;
    return CLY_SUCCESS;
}

size_t cly_tuning_parse(const cly_device_info *info, const char *text, size_t size, const char *source,
                        struct cly_tuned_table *t)
{
    char version[16];
    snprintf(version, sizeof version, "%d", CLY_TUNE_FORMAT);
    const header_field fields[] = {
        {"clayer-tuning", version},           {"library", CLY_VERSION_STRING},
        {"platform", info->platform_name},    {"platform-version", info->platform_version},
        {"device", info->name},               {"driver", info->driver_version},
    };
    const size_t nfields = sizeof fields / sizeof fields[0];
    size_t header = 0, start = t->count, lineno = 0;
    for (size_t at = 0; at < size;) {
        const char *nl = memchr(text + at, '\n', size - at);
        size_t len = nl ? (size_t)(nl - (text + at)) : size - at;
        const char *raw = text + at;
        at += len + 1;
        lineno++;
        if (len && raw[len - 1] == '\r')
            len--;
        char line[CLY_TUNE_LINE_MAX + 1];
        if (len > CLY_TUNE_LINE_MAX || memchr(raw, '\0', len)) {
            cly_log(CLY_LOG_WARN, "tuning file %s:%zu: %s; line skipped", source, lineno,
                    len > CLY_TUNE_LINE_MAX ? "longer than 512 bytes" : "contains a NUL byte");
            continue;
        }
        memcpy(line, raw, len);
        line[len] = '\0';
        if (len == 0 || line[0] == '#')
            continue;
        if (header < nfields) {
            const size_t n = strlen(fields[header].name);
            if (strncmp(line, fields[header].name, n) != 0 || line[n] != ' ' ||
                strcmp(line + n + 1, fields[header].want) != 0) {
                cly_log(CLY_LOG_WARN,
                        "tuning file %s:%zu: expected '%s %s' (another version, device or driver, or not a tuning "
                        "file); the file is ignored",
                        source, lineno, fields[header].name, fields[header].want);
                t->count = start;
                return 0;
            }
            header++;
            continue;
        }
        cly_tuned_entry e;
        if (!parse_entry(line, &e)) {
            cly_log(CLY_LOG_WARN, "tuning file %s:%zu: not 'KEY ALGO,VW,KT,TY,WG MS DEFAULT_MS' with valid values; "
                    "line skipped", source, lineno);
            continue;
        }
        if (table_put(t, &e) != CLY_SUCCESS) {
            cly_log(CLY_LOG_WARN, "tuning file %s:%zu: more than %d entries (or out of memory); the rest is ignored",
                    source, lineno, CLY_TUNE_ENTRIES_MAX);
            break;
        }
    }
    if (header < nfields && size > 0) {
        cly_log(CLY_LOG_WARN, "tuning file %s: incomplete header; the file is ignored", source);
        t->count = start;
        return 0;
    }
    return t->count - start;
}

char *cly_tuning_format(const cly_device_info *info, const struct cly_tuned_table *t, size_t *size)
{
    size_t cap = 1024 + 5 * 256 + t->count * (CLY_TUNE_KEY_MAX + 96);
    char *buf = malloc(cap);
    if (!buf)
        return NULL;
    size_t used = 0;
    used += (size_t)snprintf(buf + used, cap - used,
                             "# clayer tuning file, written by `clayer tune` (docs/tuning.md):\n"
                             "# KEY ALGO,VW,KT,TY,WG MS DEFAULT_MS\n"
                             "clayer-tuning %d\nlibrary %s\nplatform %s\nplatform-version %s\ndevice %s\ndriver %s\n",
                             CLY_TUNE_FORMAT, CLY_VERSION_STRING, info->platform_name, info->platform_version,
                             info->name, info->driver_version);
    for (size_t i = 0; i < t->count && used < cap; i++) {
        const cly_tuned_entry *e = &t->entries[i];
        used += (size_t)snprintf(buf + used, cap - used, "%s %s,%d,%d,%d,%d %.4f %.4f\n", e->key,
                                 cly_conv_algo_string(e->algo), e->vw, e->kt, e->ty, e->wg, e->ms, e->default_ms);
    }
    if (used >= cap) { /* cannot happen with the sizes above; never write a cut file */
        free(buf);
        return NULL;
    }
    *size = used;
    return buf;
}

/* ---- the context's table */

void cly_tuning_load(cly_context *ctx)
{
    ctx->tuning_path[0] = '\0';
    if (!ctx->cache_enabled || ctx->tuning_off || !cly_tuning_file_enabled())
        return;
    cly_tuning_file_path(&ctx->info, ctx->cache_dir, ctx->tuning_path, sizeof ctx->tuning_path);
    ctx->tuned = calloc(1, sizeof *ctx->tuned);
    if (!ctx->tuned)
        return;
    uint8_t *data = NULL;
    size_t size = 0;
    FILE *probe = fopen(ctx->tuning_path, "rb");
    if (!probe)
        return; /* no file yet: the built-in table */
    fclose(probe);
    if (cly_read_file(ctx->tuning_path, CLY_TUNE_FILE_MAX, "a tuning file", &data, &size) != CLY_SUCCESS) {
        cly_log(CLY_LOG_WARN, "tuning file %s ignored: %s", ctx->tuning_path, cly_last_error(NULL));
        return;
    }
    size_t n = cly_tuning_parse(&ctx->info, (const char *)data, size, ctx->tuning_path, ctx->tuned);
    free(data);
    cly_log(CLY_LOG_INFO, "tuning file %s: %zu entries", ctx->tuning_path, n);
}

void cly_tuning_free(cly_context *ctx)
{
    if (ctx->tuned)
        free(ctx->tuned->entries);
    free(ctx->tuned);
    ctx->tuned = NULL;
}

const cly_tuned_entry *cly_tuned_find(const cly_context *ctx, const char *key)
{
    if (!ctx->tuned)
        return NULL;
    size_t i = find_entry(ctx->tuned, key);
    return i < ctx->tuned->count ? &ctx->tuned->entries[i] : NULL;
}

cly_status cly_tuned_put(cly_context *ctx, const cly_tuned_entry *e)
{
    if (!ctx->tuned && !(ctx->tuned = calloc(1, sizeof *ctx->tuned)))
        return cly_fail(ctx, CLY_ERROR_OUT_OF_HOST_MEMORY, "tuning table");
    cly_status s = table_put(ctx->tuned, e);
    return s == CLY_SUCCESS ? s : cly_fail(ctx, s, "tuning table: more than %d shapes", CLY_TUNE_ENTRIES_MAX);
}

const char *cly_context_tuning_path(const cly_context *ctx)
{
    return ctx ? ctx->tuning_path : "";
}

cly_status cly_tuning_save(cly_context *ctx)
{
    if (!ctx)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "cly_tuning_save: ctx must not be NULL");
    if (!ctx->tuning_path[0])
        return cly_fail(ctx, CLY_ERROR_UNSUPPORTED,
                        "cly_tuning_save: no tuning file: the binary cache is off ($CLAYER_CACHE) or $CLAYER_TUNING "
                        "is off");
    if (cly_cache_make_dirs(ctx->cache_dir) != 0)
        return cly_fail(ctx, CLY_ERROR_IO, "cly_tuning_save: cannot create %s: %s", ctx->cache_dir, strerror(errno));
    static const struct cly_tuned_table empty = {0};
    size_t size;
    char *text = cly_tuning_format(&ctx->info, ctx->tuned ? ctx->tuned : &empty, &size);
    if (!text)
        return cly_fail(ctx, CLY_ERROR_OUT_OF_HOST_MEMORY, "cly_tuning_save");
    cly_status s = cly_write_file(ctx, ctx->tuning_path, (const uint8_t *)text, size);
    free(text);
    return s;
}
