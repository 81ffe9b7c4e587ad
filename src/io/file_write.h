/* Whole-file writes that never leave a partial file (the ONNX export). */
#ifndef CLY_IO_FILE_WRITE_H
#define CLY_IO_FILE_WRITE_H

#include "base/status.h"

#include <stddef.h>
#include <stdint.h>

/* Write `size` bytes to `path` through a temp file in the same folder,
 * flushed to disk and renamed over `path`: a reader sees the old file or
 * the whole new one. CLY_ERROR_IO (the message names the path and says
 * why) leaves `path` as it was and no temp file behind. The message goes
 * to `ctx` (may be NULL) and the thread's slot. */
cly_status cly_write_file(const cly_context *ctx, const char *path, const uint8_t *data, size_t size);

/* Remove the temp files PATH.tmp.PID.* that a writer of `path` killed
 * mid-save left behind: those whose PID is not a running process, or that
 * are over a day old (the PID may have been reused); never this process's
 * own, never anything but a regular file. Called before each save (here and
 * by the model writer); failures are ignored. */
void cly_remove_stale_temps(const char *path);

#endif
