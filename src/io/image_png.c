/* PNG through libpng, to 8-bit RGB as PIL's convert("RGB") gives it:
 * png_set_expand turns palettes into RGB, 1/2/4-bit grey into 8-bit (0..255
 * scaled, as PIL's "L;2", "L;4" and "1" modes do) and tRNS into alpha;
 * png_set_strip_16 keeps the high byte (PIL's "RGB;16B" and friends);
 * alpha is stripped, not composited, and grey is replicated.
 *
 * libpng reports errors by longjmp. All state that lives across the setjmp
 * sits in one struct reached through a pointer, so nothing is clobbered,
 * and the one cleanup path frees what exists at the time of the jump. */
#include "io/image.h"

#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

typedef struct png_job {
    const char *name;
    const uint8_t *data;
    size_t size, pos;
    png_structp png;
    png_infop info;
    cly_image *img;
    png_bytep *rows;
    cly_status status; /* set before a deliberate png_error */
    char msg[256];
} png_job;

static void on_error(png_structp png, png_const_charp msg)
{
    png_job *j = png_get_error_ptr(png);
    if (!j->msg[0])
        snprintf(j->msg, sizeof j->msg, "%s", msg);
    png_longjmp(png, 1);
}

/* Ancillary-chunk complaints (a bad iCCP profile, a wrong sRGB) do not stop
 * PIL either. */
static void on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

static void on_read(png_structp png, png_bytep dst, size_t n)
{
    png_job *j = png_get_io_ptr(png);
    if (n > j->size - j->pos) {
        snprintf(j->msg, sizeof j->msg, "truncated: the file ends after %zu bytes", j->size);
        png_error(png, j->msg);
    }
    memcpy(dst, j->data + j->pos, n);
    j->pos += n;
}

/* The decode proper; false after a longjmp, with j->msg saying why. */
static bool png_run(png_job *j)
{
    if (setjmp(png_jmpbuf(j->png)))
        return false;
    png_set_read_fn(j->png, j, on_read);
    /* PNG's own limit, 2^31 - 1 a side: cly_image_alloc applies clayer's,
     * as CLY_ERROR_TOO_LARGE, before any pixel memory is taken. */
    png_set_user_limits(j->png, 0x7fffffff, 0x7fffffff);
    png_read_info(j->png, j->info);
    png_uint_32 w = png_get_image_width(j->png, j->info), h = png_get_image_height(j->png, j->info);
    if (!(j->img = cly_image_alloc(w, h, j->name, &j->status)))
        return false;
    png_set_expand(j->png);
    png_set_strip_16(j->png);
    png_set_strip_alpha(j->png);
    png_set_gray_to_rgb(j->png);
    png_set_interlace_handling(j->png);
    png_read_update_info(j->png, j->info);
    if (png_get_channels(j->png, j->info) != 3 || png_get_bit_depth(j->png, j->info) != 8 ||
        png_get_rowbytes(j->png, j->info) != (size_t)w * 3) {
        j->status = cly_fail(NULL, CLY_ERROR_UNSUPPORTED, "%s: libpng gave %u channels of %u bits, not 8-bit RGB",
                             j->name, png_get_channels(j->png, j->info), png_get_bit_depth(j->png, j->info));
        return false;
    }
    if (!(j->rows = malloc(h * sizeof *j->rows))) {
        j->status = cly_fail(NULL, CLY_ERROR_OUT_OF_HOST_MEMORY, "%s: out of memory", j->name);
        return false;
    }
    for (png_uint_32 y = 0; y < h; y++)
        j->rows[y] = j->img->rgb + (size_t)y * w * 3;
    png_read_image(j->png, j->rows);
    /* Up to IEND, so a file cut after its pixel data is still truncated. */
    png_read_end(j->png, NULL);
    return true;
}

cly_status cly_image_decode_png(const uint8_t *data, size_t size, const char *name, cly_image **out)
{
    png_job j = {.name = name, .data = data, .size = size, .status = CLY_SUCCESS};
    j.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &j, on_error, on_warning);
    if (j.png)
        j.info = png_create_info_struct(j.png);
    if (!j.png || !j.info) {
        png_destroy_read_struct(j.png ? &j.png : NULL, NULL, NULL);
        return cly_fail(NULL, CLY_ERROR_OUT_OF_HOST_MEMORY, "%s: out of memory starting libpng", name);
    }
    bool ok = png_run(&j);
    png_destroy_read_struct(&j.png, &j.info, NULL);
    free(j.rows);
    if (!ok) {
        cly_image_destroy(j.img);
        if (j.status != CLY_SUCCESS)
            return j.status;
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: corrupt or truncated PNG: %s", name, j.msg);
    }
    *out = j.img;
    return CLY_SUCCESS;
}
