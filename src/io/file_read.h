/* Whole-file reads for the loaders of untrusted files (model files, ONNX). */
#ifndef CLY_IO_FILE_READ_H
#define CLY_IO_FILE_READ_H

#include "base/status.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

/* Open `path` for reading (*fd, closed by the caller) if it is a regular
 * file, filling *st; a FIFO, directory or device is CLY_ERROR_IO naming its
 * kind, without blocking on it. */
cly_status cly_open_regular(const char *path, int *fd, struct stat *st);

/* Read the regular file `path` into a new buffer (*data, freed by the
 * caller; *size bytes). A file over `limit` bytes is
 * CLY_ERROR_INVALID_ARGUMENT saying it is more than `kind` ("a model file")
 * holds; one that cannot be opened or read, or shrinks while being read,
 * CLY_ERROR_IO. Messages name the path, in the thread's slot. */
cly_status cly_read_file(const char *path, uint64_t limit, const char *kind, uint8_t **data, size_t *size);

#endif
