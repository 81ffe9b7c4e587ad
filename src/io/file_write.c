/* Whole-file writes through a temp file and a rename (file_write.h). */
#include "io/file_write.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A temp file this old is stale whoever's PID it carries. */
#define STALE_SECONDS (24 * 60 * 60)

void cly_remove_stale_temps(const char *path)
{
    char dir[4200];
    const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
    size_t dl = slash ? (size_t)(slash - path) : 1;
    if (dl >= sizeof dir)
        return;
    if (!slash)
        memcpy(dir, ".", 2);
    else if (dl == 0)
        memcpy(dir, "/", 2);
    else {
        memcpy(dir, path, dl);
        dir[dl] = '\0';
    }
    const size_t bl = strlen(base);
    DIR *d = bl ? opendir(dir) : NULL;
    if (!d)
        return;
    const time_t now = time(NULL);
    const long self = (long)getpid();
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        const char *name = e->d_name, *num = name + bl + 5;
        if (strncmp(name, base, bl) != 0 || strncmp(name + bl, ".tmp.", 5) != 0)
            continue;
        char *end;
        long pid = strtol(num, &end, 10);
        if (end == num || *end != '.' || pid <= 0 || pid == self)
            continue;
        struct stat st;
        if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
            continue;
        /* kill(pid, 0): ESRCH means no such process; EPERM, one of
         * another user's, which is alive. */
        bool dead = kill((pid_t)pid, 0) != 0 && errno == ESRCH;
        if (dead || now - st.st_mtime > STALE_SECONDS)
            unlinkat(dirfd(d), name, 0);
    }
    closedir(d);
}

cly_status cly_write_file(const cly_context *ctx, const char *path, const uint8_t *data, size_t size)
{
    cly_remove_stale_temps(path);
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
