/* Options structs that grow without breaking the ABI: each public one
 * starts with `size_t struct_size`, the size the caller compiled against (0:
 * the first layout). The library copies what the caller has into its own
 * struct, zero beyond, so a program built against an older header keeps
 * working, and one built against a newer header works where the fields this
 * library lacks are left zero. */
#ifndef CLY_BASE_OPTIONS_H
#define CLY_BASE_OPTIONS_H

#include "base/status.h"

#include <stddef.h>

/* The bytes of the first layout: up to and including its last field. Fixed
 * by that field's name, so adding fields after it leaves it unchanged. */
#define CLY_FIRST_LAYOUT(type, last) (offsetof(type, last) + sizeof(((type *)0)->last))

/* Copy the caller's struct at `src` into `dst` (the library's, `have`
 * bytes), its struct_size read from its first member, `first` meaning 0.
 * CLY_ERROR_INVALID_ARGUMENT for a struct_size below the first layout;
 * CLY_ERROR_UNSUPPORTED for one larger than `have` with a non-zero byte
 * past it (a field this library does not know is set). Messages name `who`
 * and `type`. On success dst's struct_size is `have`. */
cly_status cly_options_copy(const cly_context *ctx, void *dst, size_t have, const void *src, size_t first,
                            const char *who, const char *type);

/* cly_options_copy for a struct of `type` whose first layout ends at `last`. */
#define CLY_OPTIONS_COPY(ctx, dst, src, type, last, who) \
    cly_options_copy((ctx), (dst), sizeof(type), (src), CLY_FIRST_LAYOUT(type, last), (who), #type)

#endif
