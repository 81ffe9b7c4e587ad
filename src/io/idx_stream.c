/* A strict reader of raw or gzip IDX files (see idx_stream.h). gzip is
 * read with raw inflate and the member's header and trailer parsed here,
 * so that each way a file can be damaged gets its own message. */
#include "io/idx_stream.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define IN_CHUNK ((size_t)1 << 16)

/* RFC 1952 header flags. */
#define GZ_FHCRC 0x02
#define GZ_FEXTRA 0x04
#define GZ_FNAME 0x08
#define GZ_FCOMMENT 0x10
#define GZ_RESERVED 0xe0

static cly_status read_error(const cly_idx_stream *s, const char *what)
{
    return cly_fail(NULL, CLY_ERROR_IO, "%s: cannot read the %s: %s", s->path, what,
                    errno ? strerror(errno) : "read error");
}

/* Refill the input buffer when it is used up; s->in_have == 0 after: end of file. */
static cly_status fill(cly_idx_stream *s, const char *what)
{
    if (s->in_pos < s->in_have)
        return CLY_SUCCESS;
    s->in_pos = 0;
    errno = 0;
    s->in_have = fread(s->in, 1, IN_CHUNK, s->file);
    if (s->in_have == 0 && ferror(s->file))
        return read_error(s, what);
    return CLY_SUCCESS;
}

/* The next input byte into *c; *ok false at the end of the file. */
static cly_status next_byte(cly_idx_stream *s, const char *what, unsigned char *c, bool *ok)
{
    cly_status st = fill(s, what);
    *ok = st == CLY_SUCCESS && s->in_have > 0;
    if (*ok)
        *c = s->in[s->in_pos++];
    return st;
}

/* Header bytes: each one also goes into the header's CRC (FHCRC). */
static cly_status header_byte(cly_idx_stream *s, uint32_t *hcrc, unsigned char *c)
{
    bool ok;
    cly_status st = next_byte(s, "gzip header", c, &ok);
    if (st != CLY_SUCCESS)
        return st;
    if (!ok)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: truncated: the file ends inside its gzip header",
                        s->path);
    *hcrc = (uint32_t)crc32(*hcrc, c, 1);
    return CLY_SUCCESS;
}

/* The member header after the magic (RFC 1952 section 2.3). */
static cly_status read_gzip_header(cly_idx_stream *s)
{
    unsigned char h[8], c;
    uint32_t hcrc = (uint32_t)crc32(0, (const Bytef *)"\x1f\x8b", 2);
    cly_status st = CLY_SUCCESS;
    for (int i = 0; i < 8 && st == CLY_SUCCESS; i++) /* CM FLG MTIME(4) XFL OS */
        st = header_byte(s, &hcrc, &h[i]);
    if (st != CLY_SUCCESS)
        return st;
    if (h[0] != 8)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT,
                        "%s: gzip compression method %u is not deflate (8): not a gzip file zlib can read", s->path,
                        h[0]);
    unsigned flags = h[1];
    if (flags & GZ_RESERVED)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT,
                        "%s: gzip header flags 0x%02x set reserved bits (0x%02x): a damaged or newer gzip file",
                        s->path, flags, flags & GZ_RESERVED);
    if (flags & GZ_FEXTRA) {
        unsigned char l[2];
        for (int i = 0; i < 2 && st == CLY_SUCCESS; i++)
            st = header_byte(s, &hcrc, &l[i]);
        for (unsigned n = l[0] | (unsigned)l[1] << 8; n > 0 && st == CLY_SUCCESS; n--)
            st = header_byte(s, &hcrc, &c);
    }
    if (flags & GZ_FNAME)
        do
            st = header_byte(s, &hcrc, &c);
        while (st == CLY_SUCCESS && c != 0);
    if (flags & GZ_FCOMMENT)
        do
            st = header_byte(s, &hcrc, &c);
        while (st == CLY_SUCCESS && c != 0);
    if (st == CLY_SUCCESS && (flags & GZ_FHCRC)) {
        uint32_t want = hcrc & 0xffffu;
        unsigned char l[2];
        for (int i = 0; i < 2 && st == CLY_SUCCESS; i++)
            st = header_byte(s, &hcrc, &l[i]);
        unsigned got = l[0] | (unsigned)l[1] << 8;
        if (st == CLY_SUCCESS && got != want)
            return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT,
                            "%s: corrupt gzip header: its CRC-16 is 0x%04x, the header's bytes give 0x%04x", s->path,
                            got, (unsigned)want);
    }
    return st;
}

cly_status cly_idx_stream_open(cly_idx_stream *s, FILE *file, const char *path)
{
    memset(s, 0, sizeof *s);
    s->path = path;
    s->file = file;
    s->in = malloc(IN_CHUNK);
    if (!s->in)
        return cly_fail(NULL, CLY_ERROR_OUT_OF_HOST_MEMORY, "%s: out of memory for a read buffer", path);
    cly_status st = fill(s, "file");
    if (st != CLY_SUCCESS)
        return st;
    /* fread fills the buffer from a regular file (or memory), so the first
     * read holds the magic whenever the file has two bytes. */
    s->gzip = s->in_have >= 2 && s->in[0] == 0x1f && s->in[1] == 0x8b;
    if (!s->gzip)
        return CLY_SUCCESS;
    s->in_pos = 2;
    st = read_gzip_header(s);
    if (st != CLY_SUCCESS)
        return st;
    if (inflateInit2(&s->z, -MAX_WBITS) != Z_OK) /* raw deflate: header and trailer are read here */
        return cly_fail(NULL, CLY_ERROR_OUT_OF_HOST_MEMORY, "%s: out of memory starting zlib's inflate", path);
    s->z_ready = true;
    s->crc = (uint32_t)crc32(0, NULL, 0);
    return CLY_SUCCESS;
}

static cly_status raw_read(cly_idx_stream *s, unsigned char *buf, size_t n, const char *what, size_t *got)
{
    size_t done = s->in_have - s->in_pos < n ? s->in_have - s->in_pos : n;
    memcpy(buf, s->in + s->in_pos, done);
    s->in_pos += done;
    while (done < n) {
        errno = 0;
        size_t r = fread(buf + done, 1, n - done, s->file);
        if (r == 0) {
            if (ferror(s->file))
                return read_error(s, what);
            break;
        }
        done += r;
    }
    *got = done;
    return CLY_SUCCESS;
}

static cly_status gzip_read(cly_idx_stream *s, unsigned char *buf, size_t n, const char *what, size_t *got)
{
    size_t done = 0;
    *got = 0;
    while (done < n && !s->ended) {
        cly_status st = fill(s, what);
        if (st != CLY_SUCCESS)
            return st;
        if (s->in_have == 0)
            break; /* cut short: finish says so */
        size_t ask = n - done < UINT_MAX ? n - done : UINT_MAX;
        s->z.next_in = s->in + s->in_pos;
        s->z.avail_in = (uInt)(s->in_have - s->in_pos);
        s->z.next_out = buf + done;
        s->z.avail_out = (uInt)ask;
        int ret = inflate(&s->z, Z_NO_FLUSH);
        size_t made = ask - s->z.avail_out, used = (s->in_have - s->in_pos) - s->z.avail_in;
        s->crc = (uint32_t)crc32(s->crc, buf + done, (uInt)made);
        s->total += made;
        done += made;
        *got = done;
        s->in_pos += used;
        if (ret == Z_STREAM_END)
            s->ended = true;
        else if (ret == Z_MEM_ERROR)
            return cly_fail(NULL, CLY_ERROR_OUT_OF_HOST_MEMORY, "%s: out of memory inflating the %s", s->path, what);
        else if (ret != Z_OK && !(ret == Z_BUF_ERROR && (made || used)))
            return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: corrupt compressed data in the %s: %s", s->path,
                            what, s->z.msg ? s->z.msg : "inflate failed");
    }
    return CLY_SUCCESS;
}

cly_status cly_idx_stream_read(cly_idx_stream *s, void *buf, size_t n, const char *what, size_t *got)
{
    return s->gzip ? gzip_read(s, buf, n, what, got) : raw_read(s, buf, n, what, got);
}

/* Little-endian u32 of the trailer. */
static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

cly_status cly_idx_stream_finish(cly_idx_stream *s, const char *what, int64_t size)
{
    unsigned char extra[64];
    size_t got = 0;
    cly_status st = CLY_SUCCESS;
    if (!s->gzip || !s->ended)
        st = cly_idx_stream_read(s, extra, sizeof extra, what, &got);
    if (st != CLY_SUCCESS)
        return st;
    if (got > 0)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT,
                        "%s: trailing bytes: the header promises %lld bytes of %s, the file holds more", s->path,
                        (long long)size, what);
    if (!s->gzip)
        return CLY_SUCCESS;
    if (!s->ended)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT,
                        "%s: truncated: the gzip stream ends inside its compressed data, before its end marker and "
                        "trailer",
                        s->path);
    unsigned char t[8];
    bool ok = true;
    for (int i = 0; i < 8 && ok && st == CLY_SUCCESS; i++)
        st = next_byte(s, "gzip trailer", &t[i], &ok);
    if (st != CLY_SUCCESS)
        return st;
    if (!ok)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT,
                        "%s: truncated: the gzip stream ends without its 8-byte trailer (CRC-32 and length)", s->path);
    if (le32(t) != s->crc)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT,
                        "%s: corrupt compressed data in the %s: incorrect data check (the gzip trailer's CRC-32 is "
                        "0x%08x, the data's 0x%08x)",
                        s->path, what, le32(t), s->crc);
    if (le32(t + 4) != (uint32_t)s->total)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT,
                        "%s: corrupt compressed data in the %s: incorrect length check (the gzip trailer gives %u "
                        "bytes modulo 2^32, the data has %llu)",
                        s->path, what, le32(t + 4), (unsigned long long)s->total);
    unsigned char c[2];
    st = next_byte(s, "end of the file", &c[0], &ok);
    if (st != CLY_SUCCESS || !ok)
        return st;
    bool ok2;
    st = next_byte(s, "end of the file", &c[1], &ok2);
    if (st != CLY_SUCCESS)
        return st;
    if (ok2 && c[0] == 0x1f && c[1] == 0x8b)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT,
                        "%s: a second gzip member follows the first: concatenated gzip files are not supported "
                        "(decompress it and compress it again as one stream)",
                        s->path);
    return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT,
                    "%s: trailing bytes after the end of the gzip stream (its trailer checked out): a damaged file",
                    s->path);
}

void cly_idx_stream_close(cly_idx_stream *s)
{
    if (s->z_ready)
        inflateEnd(&s->z);
    s->z_ready = false;
    free(s->in);
    s->in = NULL;
}
