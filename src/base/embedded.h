/* Files embedded into the library at build time as byte arrays
 * (tools/embed_cl.py): the kernel sources of cl/ and the net files of nets/. */
#ifndef CLY_BASE_EMBEDDED_H
#define CLY_BASE_EMBEDDED_H

#include <stddef.h>

/* Source of an embedded kernel file by name ("conv_direct"), with every
 * #include already expanded; NULL when no such file is embedded. */
typedef struct cly_kernel_source {
    const char *name;
    const unsigned char *bytes;
    size_t size;
} cly_kernel_source;
extern const cly_kernel_source cly_kernel_sources[];
extern const size_t cly_kernel_source_count;
/* Net files of nets/ embedded the same way (cly_graph_builtin). */
extern const cly_kernel_source cly_net_sources[];
extern const size_t cly_net_source_count;
const cly_kernel_source *cly_kernel_source_find(const char *name);

#endif
