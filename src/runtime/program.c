/* Kernel programs: embedded sources built lazily per context and options,
 * cached in memory (per context) and on disk (binary_cache.c). */
#include "runtime/runtime.h"
#include "io/bundle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BASE_OPTIONS "-cl-std=CL1.2"

typedef struct kernel_slot {
    char *name;
    cl_kernel kernel;
    /* Made from a cached binary later found bad and rebuilt: never handed
     * out again, kept until the context goes because callers may hold it. */
    bool stale;
} kernel_slot;

struct cly_program_entry {
    char *label;
    char *options;         /* as asked for: the key of find_entry */
    char *build_options;   /* what clBuildProgram was given: a bundle's key */
    uint8_t source_sha256[32];
    cl_program program;
    bool from_cache; /* program came from the on-disk cache */
    kernel_slot *kernels;
    size_t kernel_count;
};

const cly_kernel_source *cly_kernel_source_find(const char *name)
{
    for (size_t i = 0; i < cly_kernel_source_count; i++)
        if (strcmp(cly_kernel_sources[i].name, name) == 0)
            return &cly_kernel_sources[i];
    return NULL;
}

static cly_program_entry *find_entry(cly_context *ctx, const char *label, const char *options)
{
    for (size_t i = 0; i < ctx->program_count; i++)
        if (strcmp(ctx->programs[i].label, label) == 0 && strcmp(ctx->programs[i].options, options) == 0)
            return &ctx->programs[i];
    return NULL;
}

static cly_status build_failure(cly_context *ctx, cl_program program, cl_int err, const char *label,
                                const char *options)
{
    size_t size = 0;
    char *log = NULL;
    if (clGetProgramBuildInfo(program, ctx->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &size) == CL_SUCCESS &&
        size > 0 && (log = malloc(size + 1)) != NULL) {
        if (clGetProgramBuildInfo(program, ctx->device, CL_PROGRAM_BUILD_LOG, size, log, NULL) != CL_SUCCESS)
            log[0] = '\0';
        log[size] = '\0';
    }
    cly_status s = cly_fail(ctx, CLY_ERROR_BUILD_FAILED,
                            "building kernel program '%s' for device '%s' (%s, driver %s) with options '%s' "
                            "failed: OpenCL error %d (%s)\nbuild log:\n%s",
                            label, ctx->info.name, ctx->info.platform_name, ctx->info.driver_version, options,
                            (int)err, cly_cl_error_name(err), log && *log ? log : "(empty)");
    free(log);
    return s;
}

static cly_status build_from_source(cly_context *ctx, const char *label, const unsigned char *source, size_t size,
                                    const char *options, cl_program *out)
{
    const char *text = (const char *)source;
    cl_int err;
    cl_program program = clCreateProgramWithSource(ctx->cl, 1, &text, &size, &err);
    if (err != CL_SUCCESS)
        return cly_fail_cl(ctx, err, "clCreateProgramWithSource for program '%s'", label);
    err = clBuildProgram(program, 1, &ctx->device, options, NULL, NULL);
    if (err != CL_SUCCESS) {
        cly_status s = build_failure(ctx, program, err, label, options);
        clReleaseProgram(program);
        return s;
    }
    ctx->stats.programs_built++;
    cly_log(CLY_LOG_DEBUG, "built program '%s' (%s) for %s", label, options, ctx->info.name);
    *out = program;
    return CLY_SUCCESS;
}

static void store_in_cache(cly_context *ctx, cl_program program, const char *key_text)
{
    unsigned char *bin;
    size_t size;
    if (cly_program_binary(ctx, program, &bin, &size) != CLY_SUCCESS) {
        cly_log(CLY_LOG_INFO, "binary cache: %s", cly_last_error(ctx));
        return;
    }
    if (cly_cache_store(ctx->cache_dir, key_text, bin, size) == CLY_SUCCESS)
        ctx->stats.cache_writes++;
    else
        cly_log(CLY_LOG_WARN, "%s (continuing without caching)", cly_last_error(NULL));
    free(bin);
}

/* Binary-only and nothing found: name what was searched. */
static cly_status no_compiler(cly_context *ctx, const char *label, const char *options)
{
    return cly_fail(ctx, CLY_ERROR_NO_COMPILER,
                    "program '%s' with options '%s' is in no kernel bundle (%s) and not in the binary cache (%s), "
                    "and device '%s' may not build from source (%s): make a bundle for this device with "
                    "`clayer compile`",
                    label, options, ctx->bundle ? ctx->bundle_path : "none loaded",
                    ctx->cache_enabled ? ctx->cache_dir : "off", ctx->info.name,
                    ctx->info.compiler_available ? "binary-only mode" : "it has no compiler");
}

/* Build from source and (cache on) store the binary, replacing whatever
 * entry was there; never on a binary-only context. */
static cly_status build_and_store(cly_context *ctx, const char *label, const unsigned char *source, size_t size,
                                  const char *options, cl_program *out)
{
    if (cly_binary_only(ctx))
        return no_compiler(ctx, label, options);
    cly_status s = build_from_source(ctx, label, source, size, options, out);
    if (s != CLY_SUCCESS || !ctx->cache_enabled)
        return s;
    char *key_text = cly_cache_key_text(&ctx->info, source, size, options);
    if (key_text)
        store_in_cache(ctx, *out, key_text);
    free(key_text);
    return CLY_SUCCESS;
}

/* A bundle's entry: the bundle was checked for this device at context
 * creation, so one that does not load, or was built from other source, is
 * an error, never a silent rebuild. false: no entry. */
static bool from_bundle(cly_context *ctx, const char *label, const uint8_t sha[32], const char *options,
                        cly_status *s, cl_program *out)
{
    const cly_bundle_entry *e = cly_bundle_find(ctx->bundle, label, options);
    if (!e)
        return false;
    if (memcmp(e->source_sha256, sha, 32) != 0) {
        *s = cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT,
                      "kernel bundle %s: program '%s' (options '%s') was built from another source than this "
                      "library's: remake the bundle",
                      ctx->bundle_path, label, options);
        return true;
    }
    *s = cly_program_from_binary(ctx, e->binary, e->size, options, out);
    if (*s != CLY_SUCCESS)
        *s = cly_fail(ctx, *s, "kernel bundle %s: program '%s' (options '%s', %zu bytes) does not load: %s",
                      ctx->bundle_path, label, options, e->size, cly_last_error(ctx));
    else
        ctx->programs_from_bundle++;
    return true;
}

/* Obtain a built program: from the bundle, else from the on-disk cache when
 * an entry checks out and loads, else from source (then cached) unless the
 * context is binary-only. *from_cache says whether it came from the cache. */
static cly_status obtain(cly_context *ctx, const char *label, const unsigned char *source, size_t size,
                         const uint8_t sha[32], const char *options, cl_program *out, bool *from_cache)
{
    *from_cache = false;
    cly_status bs;
    if (ctx->bundle && from_bundle(ctx, label, sha, options, &bs, out))
        return bs;
    char *key_text = ctx->cache_enabled ? cly_cache_key_text(&ctx->info, source, size, options) : NULL;
    if (key_text) {
        unsigned char *bin = NULL;
        size_t bin_size = 0;
        cly_cache_result r = cly_cache_load(ctx->cache_dir, key_text, &bin, &bin_size);
        free(key_text);
        if (r == CLY_CACHE_HIT) {
            cly_status s = cly_program_from_binary(ctx, bin, bin_size, options, out);
            free(bin);
            if (s == CLY_SUCCESS) {
                ctx->stats.programs_from_cache++;
                *from_cache = true;
                return CLY_SUCCESS;
            }
            cly_log(CLY_LOG_INFO, "binary cache: entry for '%s' does not load (%s); rebuilding", label,
                    cly_last_error(ctx));
            ctx->stats.cache_rejects++;
        } else if (r == CLY_CACHE_REJECTED) {
            ctx->stats.cache_rejects++;
        }
    }
    return build_and_store(ctx, label, source, size, options, out);
}

/* BASE_OPTIONS, then the caller's (malloc'd; NULL when out of memory). */
static char *full_options(const char *options)
{
    size_t olen = strlen(BASE_OPTIONS) + 1 + strlen(options) + 1;
    char *full = malloc(olen);
    if (full)
        snprintf(full, olen, "%s %s", BASE_OPTIONS, options);
    return full;
}

cly_status cly_program_get_source(cly_context *ctx, const char *label, const unsigned char *source, size_t size,
                                  const char *options, cl_program *out)
{
    if (!options)
        options = "";
    cly_program_entry *e = find_entry(ctx, label, options);
    if (e) {
        *out = e->program;
        return CLY_SUCCESS;
    }
    if (ctx->program_count == ctx->program_capacity) {
        size_t cap = ctx->program_capacity ? 2 * ctx->program_capacity : 16;
        cly_program_entry *grown = realloc(ctx->programs, cap * sizeof *grown);
        if (!grown)
            return cly_fail(ctx, CLY_ERROR_OUT_OF_HOST_MEMORY, "program table of %zu entries", cap);
        ctx->programs = grown;
        ctx->program_capacity = cap;
    }
    char *full = full_options(options);
    char *label_copy = malloc(strlen(label) + 1);
    char *options_copy = malloc(strlen(options) + 1);
    if (!full || !label_copy || !options_copy) {
        free(full);
        free(label_copy);
        free(options_copy);
        return cly_fail(ctx, CLY_ERROR_OUT_OF_HOST_MEMORY, "program '%s'", label);
    }
    strcpy(label_copy, label);
    strcpy(options_copy, options);
    cly_program_entry entry = {.label = label_copy, .options = options_copy, .build_options = full};
    cly_sha256 h;
    cly_sha256_init(&h);
    cly_sha256_update(&h, source, size);
    cly_sha256_final(&h, entry.source_sha256);
    cly_status s = obtain(ctx, label, source, size, entry.source_sha256, full, &entry.program, &entry.from_cache);
    if (s != CLY_SUCCESS) {
        free(full);
        free(label_copy);
        free(options_copy);
        return s;
    }
    ctx->programs[ctx->program_count++] = entry;
    *out = entry.program;
    return CLY_SUCCESS;
}

/* Replace e's program, which came from the cache, by a source build. The
 * kernels made from the old one stay alive (callers may hold them) but are
 * marked stale, so later lookups make them anew. */
static cly_status rebuild(cly_context *ctx, cly_program_entry *e, const cly_kernel_source *src)
{
    char *full = full_options(e->options);
    if (!full)
        return cly_fail(ctx, CLY_ERROR_OUT_OF_HOST_MEMORY, "program '%s'", e->label);
    cl_program program;
    cly_status s = build_and_store(ctx, src->name, src->bytes, src->size, full, &program);
    free(full);
    if (s != CLY_SUCCESS)
        return s;
    clReleaseProgram(e->program);
    e->program = program;
    e->from_cache = false;
    for (size_t i = 0; i < e->kernel_count; i++)
        e->kernels[i].stale = true;
    return CLY_SUCCESS;
}

cly_status cly_kernel_get(cly_context *ctx, const char *program_name, const char *options, const char *kernel,
                          cl_kernel *out)
{
    const cly_kernel_source *src = cly_kernel_source_find(program_name);
    if (!src)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "no embedded kernel program named '%s'", program_name);
    /* The context's precision is part of every embedded program's options
     * (cl/common.cl's `real`), so float and double builds cache apart. */
    char full[1024];
    int len = snprintf(full, sizeof full, "%s%s", options ? options : "",
                       ctx->precision == CLY_PRECISION_FLOAT64 ? " -DCLY_FP64" : "");
    if (len < 0 || (size_t)len >= sizeof full)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "build options for '%s' longer than %zu bytes", program_name,
                        sizeof full - 1);
    cl_program program;
    cly_status s = cly_program_get_source(ctx, src->name, src->bytes, src->size, full, &program);
    if (s != CLY_SUCCESS)
        return s;
    cly_program_entry *e = find_entry(ctx, src->name, full);
    for (size_t i = 0; i < e->kernel_count; i++)
        if (!e->kernels[i].stale && strcmp(e->kernels[i].name, kernel) == 0) {
            *out = e->kernels[i].kernel;
            return CLY_SUCCESS;
        }
    kernel_slot *grown = realloc(e->kernels, (e->kernel_count + 1) * sizeof *grown);
    if (!grown)
        return cly_fail(ctx, CLY_ERROR_OUT_OF_HOST_MEMORY, "kernel table for '%s'", program_name);
    e->kernels = grown;
    char *name = malloc(strlen(kernel) + 1);
    if (!name)
        return cly_fail(ctx, CLY_ERROR_OUT_OF_HOST_MEMORY, "kernel name '%s'", kernel);
    strcpy(name, kernel);
    cl_int err;
    cl_kernel k = clCreateKernel(e->program, kernel, &err);
    if (err != CL_SUCCESS && e->from_cache) {
        /* A cached binary that loads but lacks the kernel is not the
         * program it claims to be: rebuild it from source (replacing the
         * entry on disk) rather than fail on every run. */
        cly_log(CLY_LOG_INFO, "binary cache: program '%s' from the cache has no kernel '%s' (%s); rebuilding",
                program_name, kernel, cly_cl_error_name(err));
        ctx->stats.cache_rejects++;
        s = rebuild(ctx, e, src);
        if (s != CLY_SUCCESS) {
            free(name);
            return s;
        }
        k = clCreateKernel(e->program, kernel, &err);
    }
    if (err != CL_SUCCESS) {
        free(name);
        return cly_fail_cl(ctx, err, "clCreateKernel('%s') in program '%s'", kernel, program_name);
    }
    e->kernels[e->kernel_count++] = (kernel_slot){.name = name, .kernel = k};
    *out = k;
    return CLY_SUCCESS;
}

bool cly_program_at(const cly_context *ctx, size_t i, const char **label, const char **build_options,
                    const uint8_t **source_sha256, cl_program *program)
{
    if (i >= ctx->program_count)
        return false;
    const cly_program_entry *e = &ctx->programs[i];
    *label = e->label;
    *build_options = e->build_options;
    if (source_sha256)
        *source_sha256 = e->source_sha256;
    if (program)
        *program = e->program;
    return true;
}

void cly_programs_release(cly_context *ctx)
{
    for (size_t i = 0; i < ctx->program_count; i++) {
        cly_program_entry *e = &ctx->programs[i];
        for (size_t k = 0; k < e->kernel_count; k++) {
            clReleaseKernel(e->kernels[k].kernel);
            free(e->kernels[k].name);
        }
        free(e->kernels);
        clReleaseProgram(e->program);
        free(e->label);
        free(e->options);
        free(e->build_options);
    }
    free(ctx->programs);
    ctx->programs = NULL;
    ctx->program_count = ctx->program_capacity = 0;
}
