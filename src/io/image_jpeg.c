/* JPEG through libjpeg-turbo (the library PIL links on Debian), with
 * libjpeg's defaults as PIL leaves them: the accurate integer IDCT and
 * fancy upsampling, so the pixels are PIL's. Grey JPEGs are replicated to
 * RGB by libjpeg-turbo itself. CMYK and YCCK (Adobe, mostly print) are
 * refused: PIL's inverted-CMYK conversion is a guess at colours that need a
 * colour profile.
 *
 * libjpeg reports errors through its error manager, whose error_exit must
 * not return: it longjmps back to decode(). As in image_png.c, the state
 * lives in one struct behind a pointer. A file that ends early is only a
 * warning to libjpeg (it pads with grey); here it is an error, as it is to
 * PIL unless LOAD_TRUNCATED_IMAGES is set. Other warnings (extraneous bytes
 * before a marker) are ignored, as PIL does. */
#include "io/image.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

typedef struct jpeg_job {
    struct jpeg_error_mgr err; /* first: libjpeg's err pointer is also the job's */
    struct jpeg_decompress_struct cinfo;
    jmp_buf jmp;
    const char *name;
    cly_image *img;
    cly_status status; /* CLY_SUCCESS: the error is libjpeg's, in msg */
    char msg[JMSG_LENGTH_MAX];
} jpeg_job;

static void on_error(j_common_ptr c)
{
    jpeg_job *j = (jpeg_job *)c->err;
    c->err->format_message(c, j->msg);
    longjmp(j->jmp, 1);
}

static void on_message(j_common_ptr c, int level)
{
    if (level < 0 && c->err->msg_code == JWRN_JPEG_EOF) {
        jpeg_job *j = (jpeg_job *)c->err;
        snprintf(j->msg, sizeof j->msg, "truncated: the data ends before the image does");
        longjmp(j->jmp, 1);
    }
}

static bool jpeg_run(jpeg_job *j, const uint8_t *data, size_t size)
{
    if (setjmp(j->jmp))
        return false;
    jpeg_create_decompress(&j->cinfo);
    jpeg_mem_src(&j->cinfo, data, (unsigned long)size);
    jpeg_read_header(&j->cinfo, TRUE);
    J_COLOR_SPACE cs = j->cinfo.jpeg_color_space;
    if (cs == JCS_CMYK || cs == JCS_YCCK) {
        j->status = cly_fail(NULL, CLY_ERROR_UNSUPPORTED, "%s: a %s JPEG: only greyscale and RGB (YCbCr) JPEGs "
                             "are read; convert it to RGB first",
                             j->name, cs == JCS_CMYK ? "CMYK" : "YCCK");
        return false;
    }
    if (!(j->img = cly_image_alloc(j->cinfo.image_width, j->cinfo.image_height, j->name, &j->status)))
        return false;
    j->cinfo.out_color_space = JCS_RGB;
    jpeg_start_decompress(&j->cinfo);
    if (j->cinfo.output_components != 3 || j->cinfo.output_width != j->img->width ||
        j->cinfo.output_height != j->img->height) {
        j->status = cly_fail(NULL, CLY_ERROR_UNSUPPORTED, "%s: libjpeg gave %d components of %u x %u, not RGB",
                             j->name, j->cinfo.output_components, j->cinfo.output_width, j->cinfo.output_height);
        return false;
    }
    while (j->cinfo.output_scanline < j->cinfo.output_height) {
        JSAMPROW row = j->img->rgb + (size_t)j->cinfo.output_scanline * (size_t)j->img->width * 3;
        jpeg_read_scanlines(&j->cinfo, &row, 1);
    }
    jpeg_finish_decompress(&j->cinfo);
    return true;
}

cly_status cly_image_decode_jpeg(const uint8_t *data, size_t size, const char *name, cly_image **out)
{
    jpeg_job *j = calloc(1, sizeof *j);
    if (!j)
        return cly_fail(NULL, CLY_ERROR_OUT_OF_HOST_MEMORY, "%s: out of memory starting libjpeg", name);
    j->name = name;
    j->status = CLY_SUCCESS;
    j->cinfo.err = jpeg_std_error(&j->err);
    j->err.error_exit = on_error;
    j->err.emit_message = on_message;
    bool ok = jpeg_run(j, data, size);
    jpeg_destroy_decompress(&j->cinfo); /* also after a jump out of any stage */
    cly_status s = CLY_SUCCESS;
    if (ok)
        *out = j->img;
    else {
        cly_image_destroy(j->img);
        s = j->status != CLY_SUCCESS
                ? j->status
                : cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: corrupt or truncated JPEG: %s", name, j->msg);
    }
    free(j);
    return s;
}
