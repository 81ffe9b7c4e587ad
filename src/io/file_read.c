/* Whole-file reads for the loaders of untrusted files (file_read.h). */
#include "io/file_read.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *file_kind(mode_t m)
{
    return S_ISDIR(m) ? "a directory" : S_ISFIFO(m) ? "a FIFO" : S_ISCHR(m) ? "a character device" :
           S_ISBLK(m) ? "a block device" : S_ISSOCK(m) ? "a socket" : "not a plain file";
}

cly_status cly_open_regular(const char *path, int *fd_out, struct stat *st)
{
    /* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
     * writer, forever; it is cleared again for the reads. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return cly_fail(NULL, CLY_ERROR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (fstat(fd, st) != 0) {
        int e = errno;
        close(fd);
        return cly_fail(NULL, CLY_ERROR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st->st_mode)) {
        close(fd);
        return cly_fail(NULL, CLY_ERROR_IO, "%s: not a regular file (%s)", path, file_kind(st->st_mode));
    }
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
        int e = errno;
        close(fd);
        return cly_fail(NULL, CLY_ERROR_IO, "%s: cannot open: %s", path, strerror(e));
    }
    *fd_out = fd;
    return CLY_SUCCESS;
}

cly_status cly_read_file(const char *path, uint64_t limit, const char *kind, uint8_t **data, size_t *size)
{
    int fd;
    struct stat st;
    cly_status s = cly_open_regular(path, &fd, &st);
    if (s != CLY_SUCCESS)
        return s;
    uint8_t *buf = NULL;
    if ((uint64_t)st.st_size > limit || (uint64_t)st.st_size > SIZE_MAX)
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
