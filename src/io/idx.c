/* IDX files (the MNIST format, yann.lecun.com/exdb/mnist): a big-endian
 * header, magic 0x0000TTDD (TT the element type, DD the number of
 * dimensions), DD u32 dimensions, then the elements. clayer reads unsigned
 * bytes (TT = 0x08): images with 3 dimensions (count, rows, columns) and
 * labels with 1 (count). Files may be gzip-compressed (idx_stream.c reads
 * both forms, strictly). The files are untrusted: every header value is
 * checked against fixed limits and the other file before anything large is
 * allocated, and the data must end exactly where the header says. */
#include "io/idx.h"
#include "base/status.h"
#include "io/idx_stream.h"
#include "io/file_read.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define IDX_COUNT_MAX 100000000LL         /* images (10^8) */
#define IDX_DIM_MAX 65536LL               /* rows, columns */
#define IDX_BYTES_MAX ((int64_t)2 << 30)  /* 2 GiB of pixels */
#define IDX_UBYTE 0x08
#define READ_CHUNK ((size_t)1 << 20)

#define FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"

typedef struct idx_file {
    const char *path;
    cly_idx_stream stream;
    unsigned dims;
    int64_t dim[3];
} idx_file;

/* Read the header of `file` (named `path`): magic, then `dims` big-endian sizes. */
static cly_status idx_open(idx_file *f, FILE *file, const char *path, unsigned dims, const char *what)
{
    f->path = path;
    f->dims = dims;
    cly_status st = cly_idx_stream_open(&f->stream, file, path);
    if (st != CLY_SUCCESS)
        return st;
    unsigned char h[4 + 4 * 3];
    size_t want = 4 + 4 * (size_t)dims, got;
    st = cly_idx_stream_read(&f->stream, h, want, "header", &got);
    if (st != CLY_SUCCESS)
        return st;
    if (got < want)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT,
                        "%s: truncated: %zu bytes of header expected, the file ends after %zu", path, want, got);
    uint32_t magic = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
    uint32_t expect = IDX_UBYTE << 8 | dims;
    if (magic != expect)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT,
                        "%s: magic 0x%08x: an IDX %s file has 0x%08x (unsigned bytes, %u dimension%s); this one has "
                        "element type 0x%02x and %u dimension%s",
                        path, magic, what, expect, dims, dims == 1 ? "" : "s", h[2], h[3], h[3] == 1 ? "" : "s");
    static const char *const names[2][3] = {{"count", "", ""}, {"count", "rows", "columns"}};
    for (unsigned i = 0; i < dims; i++) {
        const unsigned char *p = h + 4 + 4 * i;
        f->dim[i] = (int64_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
        int64_t max = i == 0 ? IDX_COUNT_MAX : IDX_DIM_MAX;
        if (f->dim[i] < 1 || f->dim[i] > max)
            return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: %s = %lld is out of range (1 to %lld)", path,
                            names[dims == 3][i], (long long)f->dim[i], (long long)max);
    }
    return CLY_SUCCESS;
}

/* Read exactly `size` data bytes, then make sure the file ends there (for
 * gzip: the stream's end, its trailer checked, nothing after). The buffer
 * grows with what was actually read, so a header claiming 2 GiB in a small
 * file costs one chunk, not 2 GiB. */
static cly_status idx_read_data(idx_file *f, const char *what, int64_t size, unsigned char **out)
{
    unsigned char *buf = NULL;
    size_t have = 0, cap = 0, want = (size_t)size;
    while (have < want) {
        if (have == cap) {
            size_t next = cap ? cap * 2 : READ_CHUNK;
            if (next > want)
                next = want;
            unsigned char *p = realloc(buf, next);
            if (!p) {
                free(buf);
                return cly_fail(NULL, CLY_ERROR_OUT_OF_HOST_MEMORY, "%s: out of memory reading %zu bytes", f->path,
                                next);
            }
            buf = p;
            cap = next;
        }
        size_t ask = cap - have < READ_CHUNK ? cap - have : READ_CHUNK, got;
        cly_status st = cly_idx_stream_read(&f->stream, buf + have, ask, what, &got);
        if (st == CLY_SUCCESS && got == 0)
            st = cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT,
                          "%s: truncated: %lld bytes of %s expected, the file ends after %zu", f->path,
                          (long long)size, what, have);
        if (st != CLY_SUCCESS) {
            free(buf);
            return st;
        }
        have += got;
    }
    cly_status st = cly_idx_stream_finish(&f->stream, what, size);
    if (st != CLY_SUCCESS) {
        free(buf);
        return st;
    }
    *out = buf;
    return CLY_SUCCESS;
}

static void idx_close(idx_file *f)
{
    cly_idx_stream_close(&f->stream);
}

static cly_status load(idx_file *im, idx_file *lb, cly_dataset *d)
{
    int64_t count = im->dim[0], pixels;
    if (lb->dim[0] != count)
        return cly_fail(NULL, CLY_ERROR_SHAPE_MISMATCH, "%s: count = %lld labels, but %s has count = %lld images",
                        lb->path, (long long)lb->dim[0], im->path, (long long)count);
    if (!cly_mul_i64(count, im->dim[1] * im->dim[2], &pixels) || pixels > IDX_BYTES_MAX)
        return cly_fail(NULL, CLY_ERROR_TOO_LARGE,
                        "%s: %lld images of %lld x %lld are more than %lld bytes of pixels", im->path,
                        (long long)count, (long long)im->dim[1], (long long)im->dim[2], (long long)IDX_BYTES_MAX);
    unsigned char *bytes = NULL, *labels = NULL;
    cly_status s = idx_read_data(lb, "labels", count, &labels);
    if (s == CLY_SUCCESS)
        s = idx_read_data(im, "pixels", pixels, &bytes);
    if (s == CLY_SUCCESS) {
        d->images = malloc((size_t)pixels * sizeof *d->images);
        d->labels = malloc((size_t)count * sizeof *d->labels);
        if (!d->images || !d->labels)
            s = cly_fail(NULL, CLY_ERROR_OUT_OF_HOST_MEMORY, "%s: out of memory for %lld images", im->path,
                         (long long)count);
    }
    if (s == CLY_SUCCESS) {
        d->count = count;
        d->c = 1;
        d->h = im->dim[1];
        d->w = im->dim[2];
        int max = 0;
        for (int64_t i = 0; i < count; i++) {
            d->labels[i] = labels[i];
            if (labels[i] > max)
                max = labels[i];
        }
        d->classes = max + 1;
        for (int64_t i = 0; i < pixels; i++)
            d->images[i] = (float)bytes[i] / 255.0f;
    }
    free(bytes);
    free(labels);
    return s;
}

cly_status cly_idx_load_files(FILE *images, const char *images_name, FILE *labels, const char *labels_name,
                              cly_dataset **out)
{
    idx_file im = {0}, lb = {0};
    cly_dataset *d = calloc(1, sizeof *d);
    if (!d)
        return cly_fail(NULL, CLY_ERROR_OUT_OF_HOST_MEMORY, "cly_dataset_load_idx: out of memory");
    cly_status s = idx_open(&im, images, images_name, 3, "images");
    if (s == CLY_SUCCESS)
        s = idx_open(&lb, labels, labels_name, 1, "labels");
    if (s == CLY_SUCCESS)
        s = load(&im, &lb, d);
    idx_close(&im);
    idx_close(&lb);
    if (s != CLY_SUCCESS) {
        cly_dataset_destroy(d);
        return s;
    }
    *out = d;
    return CLY_SUCCESS;
}

/* A regular file opened for reading (cly_open_regular: a FIFO or a
 * directory is refused without blocking), the message naming which one. */
static cly_status open_regular(const char *path, const char *what, FILE **out)
{
    int fd;
    struct stat st;
    cly_status s = cly_open_regular(path, &fd, &st);
    if (s != CLY_SUCCESS)
        return cly_fail(NULL, s, "the %s file %s", what, cly_last_error(NULL));
    *out = fdopen(fd, "rb");
    if (!*out) {
        s = cly_fail(NULL, CLY_ERROR_OUT_OF_HOST_MEMORY, "%s: cannot open the %s file: %s", path, what,
                     strerror(errno));
        close(fd);
    }
    return s;
}

cly_status cly_dataset_load_idx(const char *images_path, const char *labels_path, cly_dataset **out)
{
    if (!images_path || !labels_path || !out)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT,
                        "cly_dataset_load_idx: images_path, labels_path and out must not be NULL");
    FILE *im = NULL, *lb = NULL;
    cly_status s = open_regular(images_path, "images", &im);
    if (s == CLY_SUCCESS)
        s = open_regular(labels_path, "labels", &lb);
    if (s == CLY_SUCCESS)
        s = cly_idx_load_files(im, images_path, lb, labels_path, out);
    if (im)
        fclose(im);
    if (lb)
        fclose(lb);
    return s;
}

cly_status cly_dataset_load_fashion_mnist(const char *dir, bool train, cly_dataset **out)
{
    if (!out)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "cly_dataset_load_fashion_mnist: out must not be NULL");
    if (!dir)
        dir = FASHION_MNIST_DIR;
    const char *set = train ? "train" : "t10k";
    char images[4096], labels[4096];
    int a = snprintf(images, sizeof images, "%s/%s-images-idx3-ubyte.gz", dir, set);
    int b = snprintf(labels, sizeof labels, "%s/%s-labels-idx1-ubyte.gz", dir, set);
    if (a < 0 || b < 0 || (size_t)a >= sizeof images || (size_t)b >= sizeof labels)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "cly_dataset_load_fashion_mnist: directory name too long");
    struct stat st;
    const char *missing = stat(images, &st) != 0 ? images : stat(labels, &st) != 0 ? labels : NULL;
    if (missing)
        return cly_fail(NULL, CLY_ERROR_IO,
                        "%s: not found. Fashion-MNIST comes with Debian's dataset-fashion-mnist package "
                        "(apt-get install dataset-fashion-mnist, files in %s); or pass the directory holding "
                        "%s-images-idx3-ubyte.gz and %s-labels-idx1-ubyte.gz",
                        missing, FASHION_MNIST_DIR, set, set);
    return cly_dataset_load_idx(images, labels, out);
}

void cly_dataset_destroy(cly_dataset *d)
{
    if (!d)
        return;
    free(d->images);
    free(d->labels);
    free(d);
}
