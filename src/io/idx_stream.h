/* The byte stream under the IDX loader: a file read as it is, or as one
 * gzip member (RFC 1952) when it starts with the gzip magic. Strict where
 * zlib's gzread is lenient, because the files are untrusted: the deflate
 * stream must reach its end, the trailer's CRC-32 and length must match the
 * data, and nothing may follow the member (gzread ignores trailing garbage
 * and reads concatenated members as one; a second member is refused here
 * with a message saying so). Messages name the path, in the thread's slot. */
#ifndef CLY_IO_IDX_STREAM_H
#define CLY_IO_IDX_STREAM_H

#include "base/status.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <zlib.h>

typedef struct cly_idx_stream {
    const char *path; /* for messages; not copied */
    FILE *file;       /* not owned */
    bool gzip;
    bool ended;       /* gzip: the deflate stream reached its last block */
    bool z_ready;     /* inflateInit2 succeeded: inflateEnd at close */
    z_stream z;
    uint32_t crc;     /* of the data inflated so far */
    uint64_t total;   /* bytes inflated so far */
    unsigned char *in; /* input buffer, CLY_IDX_STREAM_IN bytes */
    size_t in_have, in_pos; /* raw reads go through it too (the magic sniffed) */
} cly_idx_stream;

/* Start reading `file` (opened by the caller, kept open until close),
 * named `path` in messages: sniff the gzip magic and, for gzip, read and
 * check the member header. Errors: CLY_ERROR_IO (a read error),
 * CLY_ERROR_INVALID_ARGUMENT (a malformed gzip header),
 * CLY_ERROR_OUT_OF_HOST_MEMORY. */
cly_status cly_idx_stream_open(cly_idx_stream *s, FILE *file, const char *path);

/* Up to `n` data bytes into buf; *got < n only when the data ends (the file
 * ends, or the deflate stream does, or is cut short). `what` names the part
 * being read in messages ("pixels"). Errors: CLY_ERROR_IO,
 * CLY_ERROR_INVALID_ARGUMENT (corrupt compressed data),
 * CLY_ERROR_OUT_OF_HOST_MEMORY. */
cly_status cly_idx_stream_read(cly_idx_stream *s, void *buf, size_t n, const char *what, size_t *got);

/* After `size` data bytes of `what` were read: the data must end here.
 * Refuses more data, a deflate stream or trailer cut short, a trailer whose
 * CRC-32 or length does not match, and any byte after the gzip member
 * (CLY_ERROR_INVALID_ARGUMENT), and read errors (CLY_ERROR_IO). */
cly_status cly_idx_stream_finish(cly_idx_stream *s, const char *what, int64_t size);

/* Free what open allocated; the file stays open. Safe on a zeroed stream
 * and after a failed open. */
void cly_idx_stream_close(cly_idx_stream *s);

#endif
