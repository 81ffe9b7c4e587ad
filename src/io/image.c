/* Images in: read a file, tell PNG from JPEG by its signature, hand it to
 * the decoder (image_png.c, image_jpeg.c). The file name's extension is not
 * consulted: a JPEG saved as .png decodes, a text file called .jpg is an
 * error that says what its first bytes are not. */
#include "io/image.h"
#include "io/file_read.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define IMAGE_FILE_MAX ((int64_t)1 << 30)

cly_image *cly_image_alloc(int64_t width, int64_t height, const char *name, cly_status *status)
{
    if (width < 1 || height < 1 || width > CLY_IMAGE_SIDE_MAX || height > CLY_IMAGE_SIDE_MAX ||
        width * height > CLY_IMAGE_PIXELS_MAX) {
        *status = cly_fail(NULL, CLY_ERROR_TOO_LARGE,
                           "%s: %lld x %lld pixels: images are limited to %d a side and %lld pixels", name,
                           (long long)width, (long long)height, CLY_IMAGE_SIDE_MAX,
                           (long long)CLY_IMAGE_PIXELS_MAX);
        return NULL;
    }
    cly_image *img = malloc(sizeof *img);
    uint8_t *rgb = malloc((size_t)(width * height * 3));
    if (!img || !rgb) {
        free(img);
        free(rgb);
        *status = cly_fail(NULL, CLY_ERROR_OUT_OF_HOST_MEMORY, "%s: out of memory for %lld x %lld pixels", name,
                           (long long)width, (long long)height);
        return NULL;
    }
    *img = (cly_image){.width = width, .height = height, .rgb = rgb};
    *status = CLY_SUCCESS;
    return img;
}

void cly_image_destroy(cly_image *img)
{
    if (!img)
        return;
    free(img->rgb);
    free(img);
}

int64_t cly_image_width(const cly_image *img)
{
    return img ? img->width : 0;
}

int64_t cly_image_height(const cly_image *img)
{
    return img ? img->height : 0;
}

const uint8_t *cly_image_pixels(const cly_image *img)
{
    return img ? img->rgb : NULL;
}

cly_status cly_image_load_memory(const void *data, size_t size, const char *name, cly_image **out)
{
    if (!name)
        name = "<memory>";
    if (!out || (!data && size))
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "cly_image_load_memory: NULL %s", out ? "data" : "out");
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    const uint8_t *p = data;
    if (size == 0)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: empty (0 bytes): not an image", name);
    if (size >= sizeof png_sig && memcmp(p, png_sig, sizeof png_sig) == 0)
        return cly_image_decode_png(p, size, name, out);
    /* SOI, then the first marker's 0xFF. */
    if (size >= 3 && p[0] == 0xff && p[1] == 0xd8 && p[2] == 0xff)
        return cly_image_decode_jpeg(p, size, name, out);
    return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT,
                    "%s: not a PNG or JPEG image (the first bytes are neither PNG's signature 89 50 4e 47 "
                    "0d 0a 1a 0a nor JPEG's ff d8 ff)",
                    name);
}

cly_status cly_image_load(const char *path, cly_image **out)
{
    if (!path || !out)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "cly_image_load: NULL %s", path ? "out" : "path");
    int fd;
    struct stat st;
    cly_status s = cly_open_regular(path, &fd, &st);
    if (s != CLY_SUCCESS)
        return s;
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        close(fd);
        return cly_fail(NULL, CLY_ERROR_OUT_OF_HOST_MEMORY, "%s: cannot open: %s", path, strerror(errno));
    }
    if ((int64_t)st.st_size > IMAGE_FILE_MAX) {
        fclose(f);
        return cly_fail(NULL, CLY_ERROR_TOO_LARGE, "%s: %lld bytes: image files are limited to %lld", path,
                        (long long)st.st_size, (long long)IMAGE_FILE_MAX);
    }
    size_t size = (size_t)st.st_size;
    uint8_t *data = malloc(size ? size : 1);
    if (!data) {
        fclose(f);
        return cly_fail(NULL, CLY_ERROR_OUT_OF_HOST_MEMORY, "%s: out of memory reading %zu bytes", path, size);
    }
    size_t got = fread(data, 1, size, f);
    int err = ferror(f) ? errno : 0;
    fclose(f);
    if (got != size)
        s = cly_fail(NULL, CLY_ERROR_IO, "%s: read %zu of %zu bytes%s%s", path, got, size, err ? ": " : "",
                     err ? strerror(err) : "");
    else
        s = cly_image_load_memory(data, size, path, out);
    free(data);
    return s;
}
