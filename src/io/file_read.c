/* Whole-file reads for the loaders of untrusted files (file_read.h). */
#include "io/file_read.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

cly_status cly_read_file(const char *path, uint64_t limit, const char *kind, uint8_t **data, size_t *size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cly_fail(NULL, CLY_ERROR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    cly_status s = CLY_SUCCESS;
    uint8_t *buf = NULL;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        s = cly_fail(NULL, CLY_ERROR_IO, "%s: not a regular file", path);
    else if ((uint64_t)st.st_size > limit || (uint64_t)st.st_size > SIZE_MAX)
        s = cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: the file is %lld bytes, more than %s holds (%llu)", path,
                     (long long)st.st_size, kind, (unsigned long long)limit);
    else if (!(buf = malloc(st.st_size > 0 ? (size_t)st.st_size : 1)))
        s = cly_fail(NULL, CLY_ERROR_OUT_OF_HOST_MEMORY, "%s: out of memory for %lld bytes", path,
                     (long long)st.st_size);
    size_t have = 0;
    while (s == CLY_SUCCESS && have < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + have, (size_t)st.st_size - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            s = cly_fail(NULL, CLY_ERROR_IO, "%s: cannot read: %s", path, strerror(errno));
        else if (n == 0) /* shrank while being read */
            s = cly_fail(NULL, CLY_ERROR_IO, "%s: the file ended after %zu of %lld bytes", path, have,
                         (long long)st.st_size);
        else
            have += (size_t)n;
    }
    close(fd);
    if (s != CLY_SUCCESS) {
        free(buf);
        return s;
    }
    *data = buf;
    *size = have;
    return CLY_SUCCESS;
}
