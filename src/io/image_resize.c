/* PIL's bilinear resize, pixel for pixel, and torchvision's ImageNet
 * evaluation transform on top of it.
 *
 * The resize follows Pillow's libImaging/Resample.c (ImagingResample with
 * the BILINEAR filter, 8 bits per channel): for each output column xx,
 *   scale = in / out, filterscale = max(scale, 1), support = 1 * filterscale
 *   center = (xx + 0.5) * scale
 *   xmin = max(0, (int)(center - support + 0.5)), xmax = min(in, (int)(center + support + 0.5))
 *   k[x] = tri((x + xmin - center + 0.5) / filterscale), tri(t) = max(0, 1 - |t|),
 *   normalised to sum 1 in double, then k_fixed = (int)(0.5 + k * 2^22)
 *   out = clip8((2^21 + sum_x in[xmin + x] * k_fixed[x]) >> 22)
 * first along rows (only when the width changes) into an 8-bit image, then
 * along columns (only when the height changes). The same doubles, the same
 * truncations and the same order give the same bytes. */
#include "io/image.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PRECISION_BITS (32 - 8 - 2)

/* One output position's taps: in[first .. first + count - 1] * k[0 ..]. */
typedef struct taps {
    int ksize;      /* the stride between positions' coefficients */
    int *first, *count;
    int32_t *k;
} taps;

static void taps_free(taps *t)
{
    free(t->first);
    free(t->count);
    free(t->k);
}

static double tri(double x)
{
    if (x < 0.0)
        x = -x;
    return x < 1.0 ? 1.0 - x : 0.0;
}

/* Pillow's precompute_coeffs and normalize_coeffs_8bpc for in -> out. */
static bool taps_make(int in, int out, taps *t)
{
    double scale = (double)((float)in - 0.0f) / out; /* Pillow's box is float */
    double filterscale = scale < 1.0 ? 1.0 : scale;
    double support = 1.0 * filterscale;
    t->ksize = (int)ceil(support) * 2 + 1;
    t->first = malloc((size_t)out * sizeof *t->first);
    t->count = malloc((size_t)out * sizeof *t->count);
    t->k = malloc((size_t)out * (size_t)t->ksize * sizeof *t->k);
    double *w = malloc((size_t)t->ksize * sizeof *w);
    if (!t->first || !t->count || !t->k || !w) {
        free(w);
        taps_free(t);
        return false;
    }
    for (int xx = 0; xx < out; xx++) {
        double center = 0.0f + (xx + 0.5) * scale;
        double ww = 0.0, ss = 1.0 / filterscale;
        int xmin = (int)(center - support + 0.5);
        if (xmin < 0)
            xmin = 0;
        int xmax = (int)(center + support + 0.5);
        if (xmax > in)
            xmax = in;
        xmax -= xmin;
        for (int x = 0; x < xmax; x++) {
            w[x] = tri((x + xmin - center + 0.5) * ss);
            ww += w[x];
        }
        int32_t *k = t->k + (size_t)xx * (size_t)t->ksize;
        for (int x = 0; x < xmax; x++) {
            double v = ww != 0.0 ? w[x] / ww : w[x];
            k[x] = v < 0 ? (int32_t)(-0.5 + v * (1 << PRECISION_BITS)) : (int32_t)(0.5 + v * (1 << PRECISION_BITS));
        }
        t->first[xx] = xmin;
        t->count[xx] = xmax;
    }
    free(w);
    return true;
}

static uint8_t clip8(int64_t ss)
{
    ss >>= PRECISION_BITS;
    return ss < 0 ? 0 : ss > 255 ? 255 : (uint8_t)ss;
}

/* Rows y0 .. y0 + dst->height - 1 of src, resampled along x. */
static void pass_horizontal(const cly_image *src, int64_t y0, const taps *t, cly_image *dst)
{
    for (int64_t y = 0; y < dst->height; y++) {
        const uint8_t *in = src->rgb + (size_t)((y0 + y) * src->width * 3);
        uint8_t *o = dst->rgb + (size_t)(y * dst->width * 3);
        for (int64_t xx = 0; xx < dst->width; xx++) {
            const int32_t *k = t->k + (size_t)xx * (size_t)t->ksize;
            const uint8_t *p = in + (size_t)t->first[xx] * 3;
            int64_t s0 = 1 << (PRECISION_BITS - 1), s1 = s0, s2 = s0;
            for (int x = 0; x < t->count[xx]; x++) {
                s0 += p[3 * x] * (int64_t)k[x];
                s1 += p[3 * x + 1] * (int64_t)k[x];
                s2 += p[3 * x + 2] * (int64_t)k[x];
            }
            o[3 * xx] = clip8(s0);
            o[3 * xx + 1] = clip8(s1);
            o[3 * xx + 2] = clip8(s2);
        }
    }
}

/* Along y; the taps' first rows are relative to src's first row, shifted
 * by y0 when src holds only the rows the taps reach. */
static void pass_vertical(const cly_image *src, int64_t y0, const taps *t, cly_image *dst)
{
    int64_t row = src->width * 3;
    for (int64_t yy = 0; yy < dst->height; yy++) {
        const int32_t *k = t->k + (size_t)yy * (size_t)t->ksize;
        const uint8_t *in = src->rgb + (size_t)((t->first[yy] - y0) * row);
        uint8_t *o = dst->rgb + (size_t)(yy * row);
        for (int64_t x = 0; x < row; x++) {
            int64_t s = 1 << (PRECISION_BITS - 1);
            for (int y = 0; y < t->count[yy]; y++)
                s += in[(size_t)(y * row + x)] * (int64_t)k[y];
            o[x] = clip8(s);
        }
    }
}

cly_status cly_image_resize(const cly_image *img, int64_t width, int64_t height, cly_image **out)
{
    if (!img || !out || width < 1 || height < 1)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "cly_image_resize: %s",
                        !img || !out ? "NULL image or out" : "width and height must be at least 1");
    cly_status s;
    cly_image *dst = cly_image_alloc(width, height, "cly_image_resize", &s);
    if (!dst)
        return s;
    if (width == img->width && height == img->height) {
        memcpy(dst->rgb, img->rgb, (size_t)(width * height * 3));
        *out = dst;
        return CLY_SUCCESS;
    }
    taps tx = {0}, ty = {0};
    cly_image *mid = NULL;
    if (!taps_make((int)img->width, (int)width, &tx) || !taps_make((int)img->height, (int)height, &ty)) {
        s = cly_fail(NULL, CLY_ERROR_OUT_OF_HOST_MEMORY, "cly_image_resize: out of memory");
        goto done;
    }
    const cly_image *src = img;
    int64_t y0 = 0;
    if (width != img->width) {
        /* Only the source rows the vertical taps reach, as Pillow does. */
        int64_t y1 = img->height;
        if (height != img->height) {
            y0 = ty.first[0];
            y1 = ty.first[height - 1] + ty.count[height - 1];
        }
        mid = height == img->height ? dst : cly_image_alloc(width, y1 - y0, "cly_image_resize", &s);
        if (!mid)
            goto done;
        pass_horizontal(img, y0, &tx, mid);
        src = mid;
    }
    if (height != img->height)
        pass_vertical(src, y0, &ty, dst);
    s = CLY_SUCCESS;
done:
    if (mid != dst)
        cly_image_destroy(mid);
    taps_free(&tx);
    taps_free(&ty);
    if (s == CLY_SUCCESS)
        *out = dst;
    else
        cly_image_destroy(dst);
    return s;
}

/* Python's round() of d / 2.0 for an integer d >= 0: halves to even. */
static int64_t half_round_even(int64_t d)
{
    int64_t q = d / 2;
    return d % 2 && q % 2 ? q + 1 : q;
}

cly_status cly_image_preprocess(const cly_image *img, const cly_preprocess *p, float *dst, int64_t count)
{
    static const cly_preprocess defaults = {
        .resize = 256, .crop_h = 224, .crop_w = 224, .mean = {0.485f, 0.456f, 0.406f}, .std = {0.229f, 0.224f, 0.225f}};
    cly_preprocess q = p ? *p : defaults;
    if (!img || !dst)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "cly_image_preprocess: NULL %s", img ? "dst" : "image");
    if (q.resize < 0 || q.crop_h < 0 || q.crop_w < 0)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT,
                        "cly_image_preprocess: resize %lld, crop %lld x %lld: sizes must not be negative",
                        (long long)q.resize, (long long)q.crop_h, (long long)q.crop_w);
    if (!q.resize)
        q.resize = defaults.resize;
    if (!q.crop_h)
        q.crop_h = defaults.crop_h;
    if (!q.crop_w)
        q.crop_w = defaults.crop_w;
    if (q.std[0] == 0 && q.std[1] == 0 && q.std[2] == 0) {
        memcpy(q.mean, defaults.mean, sizeof q.mean);
        memcpy(q.std, defaults.std, sizeof q.std);
    }
    for (int c = 0; c < 3; c++)
        if (q.std[c] == 0 || !isfinite(q.std[c]) || !isfinite(q.mean[c]))
            return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT,
                            "cly_image_preprocess: channel %d: mean %g, std %g: std must be finite and non-zero", c,
                            (double)q.mean[c], (double)q.std[c]);
    if (q.crop_h > CLY_IMAGE_SIDE_MAX || q.crop_w > CLY_IMAGE_SIDE_MAX || count != 3 * q.crop_h * q.crop_w)
        return cly_fail(NULL, CLY_ERROR_SHAPE_MISMATCH,
                        "cly_image_preprocess: a %lld x %lld crop is 3 x %lld x %lld = %lld floats, not %lld",
                        (long long)q.crop_h, (long long)q.crop_w, (long long)q.crop_h, (long long)q.crop_w,
                        (long long)(3 * q.crop_h * q.crop_w), (long long)count);

    /* torchvision's _compute_resized_output_size: the shorter side (the
     * width on a tie) becomes resize, the other int(resize * long / short). */
    int64_t w = img->width, h = img->height, rw, rh;
    if (w <= h) {
        rw = q.resize;
        rh = (int64_t)((double)(q.resize * h) / (double)w);
    } else {
        rh = q.resize;
        rw = (int64_t)((double)(q.resize * w) / (double)h);
    }
    if (rw > CLY_IMAGE_SIDE_MAX || rh > CLY_IMAGE_SIDE_MAX || rw * rh > CLY_IMAGE_PIXELS_MAX)
        return cly_fail(NULL, CLY_ERROR_TOO_LARGE, "cly_image_preprocess: %lld x %lld resized to %lld x %lld: over "
                        "the image limits (%d a side, %lld pixels)",
                        (long long)w, (long long)h, (long long)rw, (long long)rh, CLY_IMAGE_SIDE_MAX,
                        (long long)CLY_IMAGE_PIXELS_MAX);
    cly_image *r = NULL;
    cly_status s = cly_image_resize(img, rw < 1 ? 1 : rw, rh < 1 ? 1 : rh, &r);
    if (s != CLY_SUCCESS)
        return s;

    /* CenterCrop: a crop larger than the image first pads it with zeros,
     * (crop - size) // 2 before, so the offset is then negative. */
    int64_t top = q.crop_h > r->height ? -((q.crop_h - r->height) / 2) : half_round_even(r->height - q.crop_h);
    int64_t left = q.crop_w > r->width ? -((q.crop_w - r->width) / 2) : half_round_even(r->width - q.crop_w);
    for (int c = 0; c < 3; c++) {
        float *plane = dst + (size_t)c * (size_t)(q.crop_h * q.crop_w);
        for (int64_t y = 0; y < q.crop_h; y++)
            for (int64_t x = 0; x < q.crop_w; x++) {
                int64_t sy = y + top, sx = x + left;
                uint8_t v = sy >= 0 && sy < r->height && sx >= 0 && sx < r->width
                                ? r->rgb[(size_t)((sy * r->width + sx) * 3 + c)]
                                : 0;
                /* ToTensor then Normalize, each step rounded to float32 as torch does. */
                float t = (float)v / 255.0f;
                plane[y * q.crop_w + x] = (t - q.mean[c]) / q.std[c];
            }
    }
    cly_image_destroy(r);
    return CLY_SUCCESS;
}
