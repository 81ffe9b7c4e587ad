/* On-disk cache of program binaries.
 *
 * One file per key, DIR/<64 hex digits>.bin, little-endian:
 *   0  "CLYCACHE"            magic
 *   8  u32 format version    (1)
 *  12  u32 header size       (96)
 *  16  key[32]               must equal the key in the file name
 *  48  u64 payload size      must equal file size - 96
 *  56  sha256(payload)[32]
 *  88  first 8 bytes of sha256(bytes 0..87): the header's own checksum
 *  96  payload (the device binary)
 * Written to a temp file and renamed, so readers never see half an entry;
 * anything that does not check out is rejected and rebuilt by the caller. */
#include "runtime/runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAGIC "CLYCACHE"
#define FORMAT_VERSION 1u
#define HEADER_SIZE 96
#define MAX_PAYLOAD ((uint64_t)1 << 30)

bool cly_cache_dir_from_env(char *dir, size_t size)
{
    const char *off = getenv("CLAYER_CACHE");
    if (off && (strcmp(off, "off") == 0 || strcmp(off, "0") == 0))
        return false;
    const char *d = getenv("CLAYER_CACHE_DIR");
    if (d && *d) {
        snprintf(dir, size, "%s", d);
        /* "link/" would make lstat() follow the link and pass the
         * symlinked-directory check: drop trailing slashes. */
        for (size_t n = strlen(dir); n > 1 && dir[n - 1] == '/'; n--)
            dir[n - 1] = '\0';
        return true;
    }
    const char *xdg = getenv("XDG_CACHE_HOME");
    if (xdg && *xdg) {
        snprintf(dir, size, "%s/clayer", xdg);
        return true;
    }
    const char *home = getenv("HOME");
    if (!home || !*home)
        return false;
    snprintf(dir, size, "%s/.cache/clayer", home);
    return true;
}

static void hash_field(cly_sha256 *h, const void *data, size_t size)
{
    /* Length-prefix each field so that no two key inputs concatenate alike. */
    uint64_t n = size;
    cly_sha256_update(h, &n, sizeof n);
    cly_sha256_update(h, data, size);
}

void cly_cache_key(const cly_device_info *info, const unsigned char *source, size_t size, const char *options,
                   unsigned char key[CLY_CACHE_KEY_SIZE])
{
    cly_sha256 h;
    cly_sha256_init(&h);
    hash_field(&h, CLY_VERSION_STRING, strlen(CLY_VERSION_STRING));
    hash_field(&h, source, size);
    hash_field(&h, options, strlen(options));
    hash_field(&h, info->platform_name, strlen(info->platform_name));
    hash_field(&h, info->platform_version, strlen(info->platform_version));
    hash_field(&h, info->name, strlen(info->name));
    hash_field(&h, info->driver_version, strlen(info->driver_version));
    cly_sha256_final(&h, key);
}

void cly_cache_entry_path(const char *dir, const unsigned char key[CLY_CACHE_KEY_SIZE], char *path, size_t size)
{
    char hex[2 * CLY_CACHE_KEY_SIZE + 1];
    for (int i = 0; i < CLY_CACHE_KEY_SIZE; i++)
        snprintf(hex + 2 * i, 3, "%02x", key[i]);
    snprintf(path, size, "%s/%s.bin", dir, hex);
}

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void sha(const void *data, size_t size, unsigned char out[32])
{
    cly_sha256 h;
    cly_sha256_init(&h);
    cly_sha256_update(&h, data, size);
    cly_sha256_final(&h, out);
}

static bool read_all(int fd, unsigned char *buf, size_t size)
{
    while (size > 0) {
        ssize_t n = read(fd, buf, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        buf += n;
        size -= (size_t)n;
    }
    return true;
}

static bool write_all(int fd, const unsigned char *buf, size_t size)
{
    while (size > 0) {
        ssize_t n = write(fd, buf, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        buf += n;
        size -= (size_t)n;
    }
    return true;
}

static cly_cache_result reject(const char *path, const char *why)
{
    cly_log(CLY_LOG_INFO, "binary cache: rejecting %s: %s; rebuilding from source", path, why);
    return CLY_CACHE_REJECTED;
}

/* A cache directory that is a symlink could point anywhere another user
 * chose: refuse it. */
static bool dir_is_symlink(const char *dir)
{
    struct stat st;
    return lstat(dir, &st) == 0 && S_ISLNK(st.st_mode);
}

cly_cache_result cly_cache_load(const char *dir, const unsigned char key[CLY_CACHE_KEY_SIZE],
                                unsigned char **payload, size_t *size)
{
    char path[4200];
    cly_cache_entry_path(dir, key, path, sizeof path);
    if (dir_is_symlink(dir))
        return reject(path, "the cache directory is a symbolic link");
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT || errno == ENOTDIR ? CLY_CACHE_MISS
                                                   : reject(path, errno == ELOOP ? "a symbolic link" : strerror(errno));
    struct stat st;
    unsigned char header[HEADER_SIZE];
    unsigned char digest[32];
    cly_cache_result result = CLY_CACHE_REJECTED;
    const char *why = NULL;
    unsigned char *data = NULL;
    uint64_t n = 0;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        why = "not a regular file";
    else if ((uint64_t)st.st_size < HEADER_SIZE)
        why = "truncated header";
    else if (!read_all(fd, header, HEADER_SIZE))
        why = "unreadable header";
    else if (memcmp(header, MAGIC, 8) != 0)
        why = "bad magic";
    else if (get_le(header + 8, 4) != FORMAT_VERSION || get_le(header + 12, 4) != HEADER_SIZE)
        why = "unknown format version";
    else if (sha(header, 88, digest), memcmp(digest, header + 88, 8) != 0)
        why = "header checksum mismatch";
    else if (memcmp(header + 16, key, CLY_CACHE_KEY_SIZE) != 0)
        why = "entry belongs to another key (foreign device, options or source)";
    else if ((n = get_le(header + 48, 8)) != (uint64_t)st.st_size - HEADER_SIZE)
        why = "payload size disagrees with the file size (truncated or extended)";
    else if (n == 0 || n > MAX_PAYLOAD)
        why = "payload size out of range";
    else if (!(data = malloc((size_t)n)))
        why = "out of memory";
    else if (!read_all(fd, data, (size_t)n))
        why = "unreadable payload";
    else if (sha(data, (size_t)n, digest), memcmp(digest, header + 56, 32) != 0)
        why = "payload checksum mismatch";
    else
        result = CLY_CACHE_HIT;
    close(fd);
    if (result != CLY_CACHE_HIT) {
        free(data);
        return reject(path, why);
    }
    *payload = data;
    *size = (size_t)n;
    return CLY_CACHE_HIT;
}

int cly_cache_make_dirs(const char *dir)
{
    char tmp[4096];
    int len = snprintf(tmp, sizeof tmp, "%s", dir);
    if (len <= 0 || (size_t)len >= sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

cly_status cly_cache_store(const char *dir, const unsigned char key[CLY_CACHE_KEY_SIZE],
                           const unsigned char *payload, size_t size)
{
    char path[4200], tmp[4300];
    cly_cache_entry_path(dir, key, path, sizeof path);
    if (size == 0 || (uint64_t)size > MAX_PAYLOAD)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "binary cache: payload of %zu bytes", size);
    if (cly_cache_make_dirs(dir) != 0)
        return cly_fail(NULL, CLY_ERROR_IO, "binary cache: cannot create directory %s: %s", dir, strerror(errno));
    if (dir_is_symlink(dir))
        return cly_fail(NULL, CLY_ERROR_IO, "binary cache: %s is a symbolic link; refusing to write there", dir);

    unsigned char header[HEADER_SIZE] = {0};
    memcpy(header, MAGIC, 8);
    put_u32(header + 8, FORMAT_VERSION);
    put_u32(header + 12, HEADER_SIZE);
    memcpy(header + 16, key, CLY_CACHE_KEY_SIZE);
    put_u64(header + 48, size);
    sha(payload, size, header + 56);
    unsigned char digest[32];
    sha(header, 88, digest);
    memcpy(header + 88, digest, 8);

    snprintf(tmp, sizeof tmp, "%s.tmp.%ld.%lx", path, (long)getpid(), (unsigned long)clock());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return cly_fail(NULL, CLY_ERROR_IO, "binary cache: cannot create %s: %s", tmp, strerror(errno));
    bool ok = write_all(fd, header, HEADER_SIZE) && write_all(fd, payload, size);
    int saved = errno;
    if (close(fd) != 0 && ok) {
        ok = false;
        saved = errno;
    }
    if (ok && rename(tmp, path) != 0) {
        ok = false;
        saved = errno;
    }
    if (!ok) {
        unlink(tmp);
        return cly_fail(NULL, CLY_ERROR_IO, "binary cache: cannot write %s: %s", path, strerror(saved));
    }
    return CLY_SUCCESS;
}
