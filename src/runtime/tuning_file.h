/* The per-device tuning file: what `clayer tune` measured, one line per
 * convolution shape, read at context creation and used by AUTO before the
 * built-in table (tuning.h). Format, search and keys: docs/tuning.md. */
#ifndef CLY_TUNING_FILE_H
#define CLY_TUNING_FILE_H

#include "runtime/runtime.h"

#define CLY_TUNE_KEY_MAX 128   /* bytes of a shape key, NUL included */
#define CLY_TUNE_LINE_MAX 512  /* longer lines are corrupt: skipped */
#define CLY_TUNE_ENTRIES_MAX 4096
#define CLY_TUNE_FILE_MAX ((size_t)1 << 20)
#define CLY_TUNE_FORMAT 1

/* One shape's winner. wg 0: the built-in work-group; vw 0: not direct (the
 * tile is unused). */
typedef struct cly_tuned_entry {
    char key[CLY_TUNE_KEY_MAX];
    cly_conv_algo algo;
    int vw, kt, ty, wg;
    double ms, default_ms;
    bool fresh; /* measured by this context (cly_tune_conv), not loaded */
} cly_tuned_entry;

struct cly_tuned_table {
    cly_tuned_entry *entries;
    size_t count, capacity;
};

/* Whether $CLAYER_TUNING leaves the file on ("off" or "0": ignored, neither
 * read nor written by contexts; tests that must not depend on one). */
bool cly_tuning_file_enabled(void);

/* The file's path for ctx's device in `dir` (the binary cache directory):
 * DIR/tuning-<16 hex digits>.txt, the digits a hash of library version,
 * platform name and version, device name and driver version. */
void cly_tuning_file_path(const cly_device_info *info, const char *dir, char *path, size_t size);

/* Parse `size` bytes of untrusted text into t (appended; later lines of a
 * key replace earlier ones). A header naming another format, library
 * version, platform, device or driver than `info` drops the whole file; a
 * bad line (too long, unknown algorithm, a number out of range) is skipped.
 * Each problem is logged as a warning naming `source`. Returns the entries
 * added. */
size_t cly_tuning_parse(const cly_device_info *info, const char *text, size_t size, const char *source,
                        struct cly_tuned_table *t);
/* The file's text for t's entries (malloc'd, caller frees; NULL: out of
 * memory). */
char *cly_tuning_format(const cly_device_info *info, const struct cly_tuned_table *t, size_t *size);

/* Load ctx's file into ctx->tuned (missing: empty; unreadable: warning).
 * Called by cly_context_setup. */
void cly_tuning_load(cly_context *ctx);
void cly_tuning_free(cly_context *ctx);

/* The entry for `key`, or NULL. */
const cly_tuned_entry *cly_tuned_find(const cly_context *ctx, const char *key);
/* Insert or replace (by key) in ctx->tuned. */
cly_status cly_tuned_put(cly_context *ctx, const cly_tuned_entry *e);

#endif
