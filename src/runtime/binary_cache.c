/* On-disk cache of program binaries.
 *
 * One file per key, DIR/<sha256 of the key text, 64 hex digits>.bin,
 * little-endian:
 *   0  "CLYCACHE"            magic
 *   8  u32 format version    (2)
 *  12  u32 header size       (128)
 *  16  sha256(key text)[32]  must equal the one of the key asked for
 *  48  u64 key text size     K
 *  56  u64 payload size      must equal file size - 128 - K
 *  64  sha256(payload)[32]
 *  96  sha256(bytes 0..95, then the key text)[32]: the header's checksum
 * 128  key text (cly_cache_key_text: every input that decides the binary,
 *      in full), compared byte for byte with the key asked for
 * 128+K payload (the device binary)
 * The file name alone is not trusted: an entry moved under another name with
 * a rewritten hash and checksums still carries its own key text. Written to
 * a temp file and renamed, so readers never see half an entry; anything that
 * does not check out is rejected and rebuilt by the caller. */
#include "runtime/runtime.h"
#include "io/file_write.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC "CLYCACHE"
#define FORMAT_VERSION 2u
#define HEADER_SIZE 128
#define MAX_PAYLOAD ((uint64_t)1 << 30)
#define MAX_KEY_TEXT ((uint64_t)1 << 16)

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

static void sha(const void *data, size_t size, unsigned char out[32])
{
    cly_sha256 h;
    cly_sha256_init(&h);
    cly_sha256_update(&h, data, size);
    cly_sha256_final(&h, out);
}

static void hex(const unsigned char *bytes, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", bytes[i]);
}

char *cly_cache_key_text(const cly_device_info *info, const unsigned char *source, size_t size, const char *options)
{
    unsigned char digest[32];
    char source_hex[65];
    sha(source, size, digest);
    hex(digest, sizeof digest, source_hex);
    /* Each free-text field is length-prefixed, so that no two key inputs
     * write alike ("a" + "b c" is not "a b" + "c"). */
    const char *fmt = "clayer program cache key\n"
                      "library %zu:%s\n"
                      "source sha256:%s bytes:%zu\n"
                      "options %zu:%s\n"
                      "platform %zu:%s\n"
                      "platform version %zu:%s\n"
                      "device %zu:%s\n"
                      "driver %zu:%s\n";
#define CLY_KEY_ARGS                                                                                                \
    strlen(CLY_VERSION_STRING), CLY_VERSION_STRING, source_hex, size, strlen(options), options,                      \
        strlen(info->platform_name), info->platform_name, strlen(info->platform_version), info->platform_version,    \
        strlen(info->name), info->name, strlen(info->driver_version), info->driver_version
    int n = snprintf(NULL, 0, fmt, CLY_KEY_ARGS);
    char *text = n > 0 ? malloc((size_t)n + 1) : NULL;
    if (text)
        snprintf(text, (size_t)n + 1, fmt, CLY_KEY_ARGS);
#undef CLY_KEY_ARGS
    return text;
}

void cly_cache_entry_path(const char *dir, const char *key_text, char *path, size_t size)
{
    unsigned char key[32];
    char name[65];
    sha(key_text, strlen(key_text), key);
    hex(key, sizeof key, name);
    snprintf(path, size, "%s/%s.bin", dir, name);
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

/* The header's checksum: its first 96 bytes, then the key text. */
static void header_checksum(const unsigned char *header, const char *text, size_t text_size, unsigned char out[32])
{
    cly_sha256 h;
    cly_sha256_init(&h);
    cly_sha256_update(&h, header, 96);
    cly_sha256_update(&h, text, text_size);
    cly_sha256_final(&h, out);
}

cly_cache_result cly_cache_load(const char *dir, const char *key_text, unsigned char **payload, size_t *size)
{
    char path[4200];
    cly_cache_entry_path(dir, key_text, path, sizeof path);
    if (dir_is_symlink(dir))
        return reject(path, "the cache directory is a symbolic link");
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT || errno == ENOTDIR ? CLY_CACHE_MISS
                                                   : reject(path, errno == ELOOP ? "a symbolic link" : strerror(errno));
    const size_t want_k = strlen(key_text);
    unsigned char want_key[32];
    sha(key_text, want_k, want_key);
    struct stat st;
    unsigned char header[HEADER_SIZE];
    unsigned char digest[32];
    cly_cache_result result = CLY_CACHE_REJECTED;
    const char *why = NULL;
    unsigned char *data = NULL;
    char *text = NULL;
    uint64_t k = 0, n = 0;
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
    else if ((k = get_le(header + 48, 8)) == 0 || k > MAX_KEY_TEXT || k > (uint64_t)st.st_size - HEADER_SIZE)
        why = "key text size out of range";
    else if (!(text = malloc((size_t)k)))
        why = "out of memory";
    else if (!read_all(fd, (unsigned char *)text, (size_t)k))
        why = "unreadable key text";
    else if (header_checksum(header, text, (size_t)k, digest), memcmp(digest, header + 96, 32) != 0)
        why = "header checksum mismatch";
    /* The hash in the header, then the full text: an entry moved under this
     * name with its hash rewritten still names its own program. */
    else if (memcmp(header + 16, want_key, 32) != 0 || k != want_k || memcmp(text, key_text, want_k) != 0)
        why = "entry belongs to another key (foreign device, driver, library version, options or source)";
    else if ((n = get_le(header + 56, 8)) != (uint64_t)st.st_size - HEADER_SIZE - k)
        why = "payload size disagrees with the file size (truncated or extended)";
    else if (n == 0 || n > MAX_PAYLOAD)
        why = "payload size out of range";
    else if (!(data = malloc((size_t)n)))
        why = "out of memory";
    else if (!read_all(fd, data, (size_t)n))
        why = "unreadable payload";
    else if (sha(data, (size_t)n, digest), memcmp(digest, header + 64, 32) != 0)
        why = "payload checksum mismatch";
    else
        result = CLY_CACHE_HIT;
    close(fd);
    free(text);
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

cly_status cly_cache_store(const char *dir, const char *key_text, const unsigned char *payload, size_t size)
{
    char path[4200], tmp[4300];
    cly_cache_entry_path(dir, key_text, path, sizeof path);
    const size_t k = strlen(key_text);
    if (size == 0 || (uint64_t)size > MAX_PAYLOAD)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "binary cache: payload of %zu bytes", size);
    if (k == 0 || (uint64_t)k > MAX_KEY_TEXT)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "binary cache: key text of %zu bytes (1 to %llu)", k,
                        (unsigned long long)MAX_KEY_TEXT);
    if (cly_cache_make_dirs(dir) != 0)
        return cly_fail(NULL, CLY_ERROR_IO, "binary cache: cannot create directory %s: %s", dir, strerror(errno));
    if (dir_is_symlink(dir))
        return cly_fail(NULL, CLY_ERROR_IO, "binary cache: %s is a symbolic link; refusing to write there", dir);

    unsigned char header[HEADER_SIZE] = {0};
    memcpy(header, MAGIC, 8);
    put_u32(header + 8, FORMAT_VERSION);
    put_u32(header + 12, HEADER_SIZE);
    sha(key_text, k, header + 16);
    put_u64(header + 48, k);
    put_u64(header + 56, size);
    sha(payload, size, header + 64);
    header_checksum(header, key_text, k, header + 96);

    cly_remove_stale_temps(path); /* what a writer killed mid-store left */
    /* pid and a per-process count: writers in other processes and threads
     * never share a temp file (O_EXCL would refuse the second). */
    static atomic_ulong serial;
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld.%lx", path, (long)getpid(), (unsigned long)atomic_fetch_add(&serial, 1));
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return cly_fail(NULL, CLY_ERROR_IO, "binary cache: cannot create %s: %s", tmp, strerror(errno));
    bool ok = write_all(fd, header, HEADER_SIZE) && write_all(fd, (const unsigned char *)key_text, k) &&
              write_all(fd, payload, size);
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
