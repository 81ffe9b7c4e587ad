/* Net files embedded at build time (the files in nets/), buildable by name. */
#include "base/embedded.h"
#include "base/status.h"

#include <stdio.h>
#include <string.h>

/* Widely used variants are shipped under their own short names. */
static const struct {
    const char *alias, *file;
} aliases[] = {{"alexnet-tv", "alexnet-torchvision"}, {"googlenet-tv", "googlenet-torchvision"}};

const char *cly_graph_builtin_name(size_t index)
{
    return index < cly_net_source_count ? cly_net_sources[index].name : NULL;
}

cly_status cly_graph_builtin(const char *name, cly_graph **out)
{
    if (!name || !out)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "cly_graph_builtin: name and out must not be NULL");
    const char *file = name;
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (strcmp(name, aliases[i].alias) == 0)
            file = aliases[i].file;
    for (size_t i = 0; i < cly_net_source_count; i++)
        if (strcmp(cly_net_sources[i].name, file) == 0) {
            char label[96];
            snprintf(label, sizeof label, "%s.net", file);
            return cly_graph_parse((const char *)cly_net_sources[i].bytes, cly_net_sources[i].size, label, out);
        }
    char names[1024] = "";
    for (size_t i = 0; i < cly_net_source_count; i++) {
        size_t used = strlen(names);
        snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "", cly_net_sources[i].name);
    }
    return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "no built-in net named '%s'; built-in nets: %s", name, names);
}
