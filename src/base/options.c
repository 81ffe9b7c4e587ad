/* Copying versioned options structs (options.h). */
#include "base/options.h"

#include <string.h>

cly_status cly_options_copy(const cly_context *ctx, void *dst, size_t have, const void *src, size_t first,
                            const char *who, const char *type)
{
    size_t given;
    memcpy(&given, src, sizeof given);
    if (given == 0)
        given = first;
    /* No release grows a struct past this: a larger value is garbage, and
     * scanning that many bytes would read past any real struct. */
    if (given > (size_t)4096)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT,
                        "%s: %s.struct_size = %zu is not the size of any version of it (at most 4096): set it to "
                        "sizeof(%s) or 0",
                        who, type, given, type);
    if (given < first)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT,
                        "%s: %s.struct_size = %zu is smaller than its first layout (%zu bytes): set it to "
                        "sizeof(%s) or 0",
                        who, type, given, first, type);
    const unsigned char *bytes = src;
    for (size_t i = have; i < given; i++)
        if (bytes[i])
            return cly_fail(ctx, CLY_ERROR_UNSUPPORTED,
                            "%s: %s.struct_size = %zu, this library's is %zu, and byte %zu is set: a field of a "
                            "newer clayer (%s) is used",
                            who, type, given, have, i, cly_version());
    memset(dst, 0, have);
    memcpy(dst, src, given < have ? given : have);
    memcpy(dst, &have, sizeof have);
    return CLY_SUCCESS;
}
