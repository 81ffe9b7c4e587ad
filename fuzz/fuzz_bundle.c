/* libFuzzer harness for kernel bundles (io/bundle.c): the parser of a file
 * a context loads from $CLAYER_BUNDLE, which needs no OpenCL device. Each
 * input is parsed as it is, then again with its trailing SHA-256 redone,
 * so that mutations get past the checksum to the structural checks. A
 * bundle that parses must point only inside the input, and encoding it
 * again must give back the input byte for byte (the format has one
 * encoding). Any crash, sanitizer report, leak or broken invariant is a
 * finding. */
#include "io/bundle.h"
#include "base/sha256.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                 \
    do {                            \
        if (!(cond))                \
            __builtin_trap();       \
    } while (0)

static void parse(const uint8_t *data, size_t size)
{
    cly_bundle *b = NULL;
    if (cly_bundle_parse(data, size, "fuzz.clb", &b) != CLY_SUCCESS) {
        CHECK(b == NULL);
        CHECK(strncmp(cly_last_error(NULL), "fuzz.clb: ", 10) == 0);
        return;
    }
    CHECK(b->count <= CLY_BUNDLE_ENTRIES_MAX);
    for (size_t i = 0; i < b->count; i++) {
        const cly_bundle_entry *e = &b->entries[i];
        CHECK(e->name[0] != '\0' && e->size > 0 && e->binary >= data && e->binary + e->size <= data + size);
        CHECK(cly_bundle_find(b, e->name, e->options) == e);
    }
    cly_bundle_target t = {b->library_version, b->platform_name, b->platform_version, b->device_name,
                           b->driver_version};
    const char *have, *want;
    CHECK(cly_bundle_mismatch(b, &t, &have, &want) == NULL);
    uint8_t *again;
    size_t again_size;
    CHECK(cly_bundle_encode(&t, b->entries, b->count, &again, &again_size) == CLY_SUCCESS);
    CHECK(again_size == size && memcmp(again, data, size) == 0);
    free(again);
    cly_bundle_free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    parse(data, size);
    if (size < 32)
        return 0;
    uint8_t *copy = malloc(size);
    CHECK(copy != NULL);
    memcpy(copy, data, size);
    cly_sha256 h;
    cly_sha256_init(&h);
    cly_sha256_update(&h, copy, size - 32);
    cly_sha256_final(&h, copy + size - 32);
    parse(copy, size);
    free(copy);
    return 0;
}
