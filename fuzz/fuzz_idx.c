/* libFuzzer harness for the IDX dataset loader: raw and gzip files, the
 * header checks, the strict gzip reader (idx_stream.c) and the matching of
 * images to labels. An input is two files: a 2-byte little-endian length L,
 * then L bytes of images file, then the labels file (fuzz/idx_seeds.py
 * writes seeds in this form). Both are read through fmemopen, so nothing
 * touches the disk. Any crash, sanitizer report, leak or broken invariant
 * is a finding. */
#include "io/idx.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define CHECK(cond)                 \
    do {                            \
        if (!(cond))                \
            __builtin_trap();       \
    } while (0)

static const char images_name[] = "fuzz-images", labels_name[] = "fuzz-labels";

/* What a successful load promises. */
static void check_dataset(const cly_dataset *d)
{
    CHECK(d->count >= 1 && d->c == 1 && d->h >= 1 && d->w >= 1);
    CHECK(d->classes >= 1 && d->classes <= 256);
    for (int64_t i = 0; i < d->count; i++)
        CHECK(d->labels[i] >= 0 && d->labels[i] < d->classes);
    for (int64_t i = 0; i < d->count * d->h * d->w; i++)
        CHECK(d->images[i] >= 0.0f && d->images[i] <= 1.0f);
}

/* A read-only stream over `n` bytes (fmemopen refuses size 0 on older
 * glibc: an empty file is /dev/null). */
static FILE *open_bytes(const uint8_t *p, size_t n)
{
    return n ? fmemopen((void *)p, n, "rb") : fopen("/dev/null", "rb");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t split = (size_t)data[0] | (size_t)data[1] << 8;
    data += 2;
    size -= 2;
    if (split > size)
        split = size;
    FILE *im = open_bytes(data, split), *lb = open_bytes(data + split, size - split);
    if (!im || !lb) {
        if (im)
            fclose(im);
        if (lb)
            fclose(lb);
        return 0;
    }
    cly_dataset *d = NULL;
    cly_status s = cly_idx_load_files(im, images_name, lb, labels_name, &d);
    if (s == CLY_SUCCESS) {
        check_dataset(d);
        cly_dataset_destroy(d);
    } else {
        /* Every refusal names a file and leaves nothing behind. */
        const char *msg = cly_last_error(NULL);
        CHECK(d == NULL);
        CHECK(strstr(msg, images_name) || strstr(msg, labels_name));
    }
    fclose(im);
    fclose(lb);
    return 0;
}
