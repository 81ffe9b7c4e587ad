/* Whole-file writes through a temp file and a rename (file_write.h). */
#include "io/file_write.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

cly_status cly_write_file(const cly_context *ctx, const char *path, const uint8_t *data, size_t size)
{
    char tmp[4200];
    static _Atomic unsigned counter; /* two writes in one process never share a temp name */
    int tl = snprintf(tmp, sizeof tmp, "%s.tmp.%ld.%u.%lx", path, (long)getpid(), (unsigned)counter++,
                      (unsigned long)clock());
    if (tl <= 0 || (size_t)tl >= sizeof tmp)
        return cly_fail(ctx, CLY_ERROR_IO, "%s: the path is too long for a temp file next to it", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0)
        return cly_fail(ctx, CLY_ERROR_IO, "%s: cannot create a temp file next to it: %s", path, strerror(errno));
    int err = 0;
    for (size_t done = 0; done < size && !err;) {
        ssize_t n = write(fd, data + done, size - done);
        if (n < 0 && errno != EINTR)
            err = errno;
        else if (n > 0)
            done += (size_t)n;
    }
    /* fsync before rename: after a crash the name points at the old file or
     * the whole new one, never at blocks that did not reach the disk. */
    if (!err && fsync(fd) != 0)
        err = errno;
    if (close(fd) != 0 && !err)
        err = errno;
    if (!err && rename(tmp, path) != 0)
        err = errno;
    if (err) {
        unlink(tmp);
        return cly_fail(ctx, CLY_ERROR_IO, "%s: cannot write: %s", path, strerror(err));
    }
    return CLY_SUCCESS;
}
