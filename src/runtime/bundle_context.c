/* A context's kernel bundle: loaded and checked against the device at
 * creation, written from the programs the context obtained
 * (cly_context_save_bundle), and binary-only mode. The format is io/bundle.c. */
#include "runtime/runtime.h"
#include "io/bundle.h"
#include "io/file_write.h"

#include <stdlib.h>
#include <string.h>

/* Binaries added with cly_context_add_binary, kept until the context goes. */
typedef struct cly_bundle_extra {
    cly_bundle_entry *entries;
    size_t count;
} cly_bundle_extra;

static cly_bundle_target target_of(const cly_context *ctx)
{
    return (cly_bundle_target){.library_version = CLY_VERSION_STRING,
                               .platform_name = ctx->info.platform_name,
                               .platform_version = ctx->info.platform_version,
                               .device_name = ctx->info.name,
                               .driver_version = ctx->info.driver_version};
}

cly_status cly_context_bundle_setup(cly_context *ctx, const cly_context_options *o)
{
    const char *env = getenv("CLAYER_NO_COMPILER");
    ctx->no_compiler = o->no_compiler || (env && strcmp(env, "1") == 0) || !ctx->info.compiler_available;
    const char *path = o->bundle;
    if (!path) {
        path = getenv("CLAYER_BUNDLE");
        if (path && !*path)
            path = NULL;
    }
    if (!path)
        return CLY_SUCCESS;
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof ctx->bundle_path)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT,
                        "cly_context_create: bundle path of %zu bytes (1 to %zu)%s", len, sizeof ctx->bundle_path - 1,
                        o->bundle ? "" : " from $CLAYER_BUNDLE");
    memcpy(ctx->bundle_path, path, len + 1);
    cly_bundle *b;
    cly_status s = cly_bundle_load(path, &b);
    if (s != CLY_SUCCESS)
        return cly_fail(NULL, s, "cly_context_create: kernel bundle%s: %s", o->bundle ? "" : " ($CLAYER_BUNDLE)",
                        cly_last_error(NULL));
    cly_bundle_target t = target_of(ctx);
    const char *have, *want;
    const char *field = cly_bundle_mismatch(b, &t, &have, &want);
    if (field) {
        s = cly_fail(NULL, CLY_ERROR_UNSUPPORTED,
                     "cly_context_create: kernel bundle %s was made for %s '%s', this context's is '%s' (device "
                     "%u:%u '%s'): make one for it with `clayer compile`",
                     path, field, have, want, ctx->info.platform_index, ctx->info.device_index, ctx->info.name);
        cly_bundle_free(b);
        return s;
    }
    ctx->bundle = b;
    cly_log(CLY_LOG_INFO, "kernel bundle %s: %zu programs for %s%s", path, b->count, ctx->info.name,
            ctx->no_compiler ? " (binary-only)" : "");
    return CLY_SUCCESS;
}

bool cly_context_binary_only(const cly_context *ctx)
{
    return ctx && cly_binary_only(ctx);
}

size_t cly_context_program_count(const cly_context *ctx)
{
    return ctx ? ctx->program_count : 0;
}

cly_status cly_context_program_info(const cly_context *ctx, size_t index, const char **name, const char **options)
{
    if (!ctx || !name || !options)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT,
                        "cly_context_program_info: ctx, name and options must not be NULL");
    if (!cly_program_at(ctx, index, name, options, NULL, NULL))
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "cly_context_program_info: index %zu, the context has %zu",
                        index, ctx->program_count);
    return CLY_SUCCESS;
}

static void extra_free(cly_bundle_extra *x)
{
    if (!x)
        return;
    for (size_t i = 0; i < x->count; i++) {
        free(x->entries[i].name);
        free(x->entries[i].options);
        free((void *)x->entries[i].binary);
    }
    free(x->entries);
    free(x);
}

void cly_context_bundle_release(cly_context *ctx)
{
    cly_bundle_free(ctx->bundle);
    ctx->bundle = NULL;
    extra_free(ctx->bundle_extra);
    ctx->bundle_extra = NULL;
}

static char *dup_string(const char *s)
{
    char *c = malloc(strlen(s) + 1);
    return c ? strcpy(c, s) : NULL;
}

static void source_sha(const cly_kernel_source *src, uint8_t out[32])
{
    cly_sha256 h;
    cly_sha256_init(&h);
    cly_sha256_update(&h, src->bytes, src->size);
    cly_sha256_final(&h, out);
}

cly_status cly_context_add_binary(cly_context *ctx, const char *name, const char *options, const void *binary,
                                  size_t size)
{
    if (!ctx || !name || !options || !binary || size == 0)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT,
                        "cly_context_add_binary: ctx, name, options and binary must not be NULL, size (%zu) not 0",
                        size);
    const cly_kernel_source *src = cly_kernel_source_find(name);
    if (!src)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "cly_context_add_binary: no embedded kernel program '%s'",
                        name);
    if (strlen(options) > CLY_BUNDLE_STRING_MAX || size > CLY_BUNDLE_BINARY_MAX)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT,
                        "cly_context_add_binary: '%s': options of %zu bytes (at most %u) or a binary of %zu (at "
                        "most %llu)",
                        name, strlen(options), CLY_BUNDLE_STRING_MAX, size,
                        (unsigned long long)CLY_BUNDLE_BINARY_MAX);
    cly_bundle_extra *x = ctx->bundle_extra;
    if (!x && !(x = ctx->bundle_extra = calloc(1, sizeof *x)))
        return cly_fail(ctx, CLY_ERROR_OUT_OF_HOST_MEMORY, "cly_context_add_binary");
    for (size_t i = 0; i < x->count; i++)
        if (strcmp(x->entries[i].name, name) == 0 && strcmp(x->entries[i].options, options) == 0)
            return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT,
                            "cly_context_add_binary: program '%s' with options '%s' was added already", name,
                            options);
    cly_bundle_entry *grown = realloc(x->entries, (x->count + 1) * sizeof *grown);
    if (!grown)
        return cly_fail(ctx, CLY_ERROR_OUT_OF_HOST_MEMORY, "cly_context_add_binary: %zu entries", x->count + 1);
    x->entries = grown;
    cly_bundle_entry e = {.name = dup_string(name), .options = dup_string(options), .size = size};
    uint8_t *bytes = malloc(size);
    if (!e.name || !e.options || !bytes) {
        free(e.name);
        free(e.options);
        free(bytes);
        return cly_fail(ctx, CLY_ERROR_OUT_OF_HOST_MEMORY, "cly_context_add_binary: '%s' (%zu bytes)", name, size);
    }
    memcpy(bytes, binary, size);
    e.binary = bytes;
    source_sha(src, e.source_sha256);
    x->entries[x->count++] = e;
    return CLY_SUCCESS;
}

static bool listed(const cly_bundle_entry *e, size_t n, const char *name, const char *options)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(e[i].name, name) == 0 && strcmp(e[i].options, options) == 0)
            return true;
    return false;
}

cly_status cly_context_save_bundle(cly_context *ctx, const char *path)
{
    if (!ctx || !path || !*path)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "cly_context_save_bundle: ctx and path must be given");
    size_t have = ctx->program_count + (ctx->bundle ? ctx->bundle->count : 0) +
                  (ctx->bundle_extra ? ctx->bundle_extra->count : 0);
    if (have == 0)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT,
                        "cly_context_save_bundle: %s: the context has no programs yet (create and run a net on it "
                        "first)",
                        path);
    cly_bundle_entry *e = calloc(have, sizeof *e);
    unsigned char **owned = calloc(ctx->program_count + 1, sizeof *owned);
    if (!e || !owned) {
        free(e);
        free(owned);
        return cly_fail(ctx, CLY_ERROR_OUT_OF_HOST_MEMORY, "cly_context_save_bundle: %zu programs", have);
    }
    cly_status s = CLY_SUCCESS;
    size_t n = 0;
    /* Added binaries first: the vendor's build wins over the runtime's. */
    for (size_t i = 0; ctx->bundle_extra && i < ctx->bundle_extra->count; i++)
        e[n++] = ctx->bundle_extra->entries[i];
    for (size_t i = 0; s == CLY_SUCCESS && i < ctx->program_count; i++) {
        const char *label, *options;
        const uint8_t *sha;
        cl_program program;
        cly_program_at(ctx, i, &label, &options, &sha, &program);
        if (listed(e, n, label, options))
            continue;
        /* Only embedded programs: a test's own source is no use to a net. */
        if (!cly_kernel_source_find(label))
            continue;
        size_t size;
        s = cly_program_binary(ctx, program, &owned[i], &size);
        if (s == CLY_SUCCESS) {
            e[n] = (cly_bundle_entry){.name = (char *)label, .options = (char *)options, .binary = owned[i],
                                      .size = size};
            memcpy(e[n++].source_sha256, sha, 32);
        }
    }
    for (size_t i = 0; s == CLY_SUCCESS && ctx->bundle && i < ctx->bundle->count; i++)
        if (!listed(e, n, ctx->bundle->entries[i].name, ctx->bundle->entries[i].options))
            e[n++] = ctx->bundle->entries[i];
    uint8_t *bytes = NULL;
    size_t size = 0;
    if (s == CLY_SUCCESS) {
        cly_bundle_target t = target_of(ctx);
        s = cly_bundle_encode(&t, e, n, &bytes, &size);
        if (s != CLY_SUCCESS)
            s = cly_fail(ctx, s, "cly_context_save_bundle: %s: %s", path, cly_last_error(NULL));
    }
    if (s == CLY_SUCCESS)
        s = cly_write_file(ctx, path, bytes, size);
    if (s == CLY_SUCCESS)
        cly_log(CLY_LOG_INFO, "kernel bundle %s: %zu programs, %zu bytes", path, n, size);
    free(bytes);
    for (size_t i = 0; i < ctx->program_count; i++)
        free(owned[i]);
    free(owned);
    free(e);
    return s;
}
