/* Kernel bundles (docs/bundle-format.md): program binaries for one device,
 * made by `clayer compile`, loaded by a context so that it needs no OpenCL
 * compiler. The format half only: no OpenCL, so the fuzzer can drive it. */
#ifndef CLY_IO_BUNDLE_H
#define CLY_IO_BUNDLE_H

#include "base/status.h"

#include <stddef.h>
#include <stdint.h>

#define CLY_BUNDLE_MAGIC "CLYBNDL1"
#define CLY_BUNDLE_VERSION 1u
#define CLY_BUNDLE_STRING_MAX 4096u         /* bytes in one header or entry string */
#define CLY_BUNDLE_ENTRIES_MAX 65536u       /* entries in one bundle */
#define CLY_BUNDLE_BINARY_MAX ((uint64_t)1 << 30)
#define CLY_BUNDLE_FILE_MAX ((uint64_t)1 << 32)

/* Which device a bundle's binaries are for: all five must equal the
 * context's for the bundle to be used. */
typedef struct cly_bundle_target {
    const char *library_version;
    const char *platform_name;
    const char *platform_version;
    const char *device_name;
    const char *driver_version;
} cly_bundle_target;

typedef struct cly_bundle_entry {
    char *name;                  /* embedded program name ("conv_direct") */
    char *options;               /* the exact clBuildProgram options */
    uint8_t source_sha256[32];   /* of the source the binary was built from */
    const uint8_t *binary;       /* into the parsed bytes (cly_bundle.data) */
    size_t size;
} cly_bundle_entry;

typedef struct cly_bundle {
    char *library_version, *platform_name, *platform_version, *device_name, *driver_version;
    cly_bundle_entry *entries;
    size_t count;
    uint8_t *owned; /* the file's bytes when cly_bundle_load read them (freed with the bundle) */
} cly_bundle;

/* Parse `size` untrusted bytes. Every length is checked against what is
 * left before it is used, the checksum first; a duplicate (name, options)
 * pair is refused. Binaries point into `data`, which must outlive *out.
 * CLY_ERROR_INVALID_ARGUMENT: "WHERE: not a valid kernel bundle: why (numbers)"
 * (WHERE names the file in messages); CLY_ERROR_OUT_OF_HOST_MEMORY. */
cly_status cly_bundle_parse(const uint8_t *data, size_t size, const char *where, cly_bundle **out);
/* Read `path` (a regular file of at most CLY_BUNDLE_FILE_MAX bytes) and
 * parse it; the bundle owns the bytes. CLY_ERROR_IO when unreadable. */
cly_status cly_bundle_load(const char *path, cly_bundle **out);
void cly_bundle_free(cly_bundle *b);

/* The entry for program `name` built with `options`, or NULL. */
const cly_bundle_entry *cly_bundle_find(const cly_bundle *b, const char *name, const char *options);

/* The first of the five target fields where the bundle differs from `t`
 * ("device name"), with the two values in *have / *want; NULL when they all
 * agree. */
const char *cly_bundle_mismatch(const cly_bundle *b, const cly_bundle_target *t, const char **have,
                                const char **want);

/* Encode `count` entries for `t` (malloc'd *out of *size bytes, caller
 * frees). Refuses (CLY_ERROR_INVALID_ARGUMENT) what the reader would:
 * strings over the limit or with a NUL, empty or oversized binaries,
 * duplicates. */
cly_status cly_bundle_encode(const cly_bundle_target *t, const cly_bundle_entry *entries, size_t count,
                             uint8_t **out, size_t *size);

#endif
