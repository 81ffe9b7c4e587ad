/* SHA-256 (FIPS 180-4): cache keys, model-file checksums. */
#ifndef CLY_BASE_SHA256_H
#define CLY_BASE_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct cly_sha256 {
    uint32_t state[8];
    uint64_t length;
    unsigned char block[64];
    size_t used;
} cly_sha256;
void cly_sha256_init(cly_sha256 *h);
void cly_sha256_update(cly_sha256 *h, const void *data, size_t size);
void cly_sha256_final(cly_sha256 *h, unsigned char digest[32]);

#endif
