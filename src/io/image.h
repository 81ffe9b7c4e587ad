/* Decoded images inside the library: the struct behind cly_image and the
 * decoders image.c dispatches to by magic bytes. */
#ifndef CLY_IO_IMAGE_H
#define CLY_IO_IMAGE_H

#include "base/status.h"

struct cly_image {
    int64_t width, height;
    uint8_t *rgb; /* height x width x 3 */
};

/* A new image of width x height (checked against CLY_IMAGE_SIDE_MAX and
 * CLY_IMAGE_PIXELS_MAX: CLY_ERROR_TOO_LARGE naming `name`), pixels
 * uninitialised; NULL with the error recorded on failure, *status set. */
cly_image *cly_image_alloc(int64_t width, int64_t height, const char *name, cly_status *status);

/* The decoders: `size` > 0 bytes that start with the format's signature. */
cly_status cly_image_decode_png(const uint8_t *data, size_t size, const char *name, cly_image **out);
cly_status cly_image_decode_jpeg(const uint8_t *data, size_t size, const char *name, cly_image **out);

#endif
