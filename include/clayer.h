/*
 * clayer: portable OpenCL compute for convolutional neural networks.
 *
 * A short tour (error handling trimmed; every call returns cly_status):
 *
 *     cly_context *ctx;
 *     if (cly_context_create(NULL, &ctx) != CLY_SUCCESS) {   // NULL: $CLAYER_DEVICE, else the best device
 *         fprintf(stderr, "%s\n", cly_last_error(NULL));
 *         return 1;
 *     }
 *     cly_tensor *x;
 *     cly_tensor_create(ctx, (cly_shape){.n = 1, .c = 3, .h = 32, .w = 32}, &x);
 *     cly_tensor_fill(x, 1.0f);
 *     float host[3 * 32 * 32];
 *     cly_tensor_read(x, host, 3 * 32 * 32);
 *     cly_tensor_destroy(x);
 *     cly_context_destroy(ctx);
 *
 * Conventions used throughout:
 * - Every fallible call returns cly_status; results come back through a
 *   trailing `out` pointer, which is left untouched on failure.
 * - cly_last_error(ctx) holds the detail of the last failure on that context;
 *   cly_last_error(NULL) holds the last failure on the calling thread (use it
 *   when no context exists yet, e.g. after cly_context_create fails).
 * - Every _create has a _destroy; _destroy(NULL) is a no-op.
 * - Tensors are float32, NCHW, four dimensions, each at least 1.
 * - A context is not thread-safe: use one context per thread, or lock.
 * - The library never exits or aborts on a runtime condition.
 */
#ifndef CLAYER_H
#define CLAYER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(CLAYER_BUILDING)
#define CLY_API __declspec(dllexport)
#elif defined(__GNUC__)
#define CLY_API __attribute__((visibility("default")))
#else
#define CLY_API
#endif

#define CLY_VERSION_MAJOR 0
#define CLY_VERSION_MINOR 1
#define CLY_VERSION_PATCH 0

/* The version string of the library actually linked, e.g. "0.1.0". */
CLY_API const char *cly_version(void);

/* ---------------------------------------------------------------- status */

typedef enum cly_status {
    CLY_SUCCESS = 0,
    CLY_ERROR_INVALID_ARGUMENT,  /* NULL pointer, bad value, bad selector syntax */
    CLY_ERROR_OUT_OF_HOST_MEMORY,
    CLY_ERROR_NO_PLATFORM,       /* no OpenCL platform installed */
    CLY_ERROR_DEVICE_NOT_FOUND,  /* the selector matched no device */
    CLY_ERROR_OPENCL,            /* an OpenCL call failed; the message has its code */
    CLY_ERROR_BUILD_FAILED,      /* a kernel program failed to build; message has the log */
    CLY_ERROR_NO_COMPILER,       /* device has no compiler and no cached binary fits */
    CLY_ERROR_SIZE_OVERFLOW,     /* an element or byte count overflows 64 bits */
    CLY_ERROR_TOO_LARGE,         /* an allocation exceeds the device's limits */
    CLY_ERROR_SHAPE_MISMATCH,    /* two tensors or a host count disagree */
    CLY_ERROR_IO,                /* a file could not be read or written */
    CLY_ERROR_UNSUPPORTED,       /* valid request the device or build cannot do */
    CLY_STATUS_COUNT
} cly_status;

/* A static, human-readable name for a status ("invalid argument", ...).
 * Never NULL; unknown codes give "unknown status". */
CLY_API const char *cly_status_string(cly_status status);

typedef struct cly_context cly_context;

/* The detail of the last failure: on `ctx` when given, otherwise on the
 * calling thread. "" when nothing has failed. The string stays valid until
 * the next failing call on the same context or thread. */
CLY_API const char *cly_last_error(const cly_context *ctx);

typedef enum cly_log_level {
    CLY_LOG_ERROR = 0,
    CLY_LOG_WARN,
    CLY_LOG_INFO,
    CLY_LOG_DEBUG
} cly_log_level;

typedef void (*cly_log_fn)(cly_log_level level, const char *message, void *user);

/* Route the library's diagnostics (cache misses, rebuilds, build logs) to
 * `fn` for every message at `max_level` or more severe. `fn` NULL restores the
 * default: messages at or above $CLAYER_LOG (error|warn|info|debug, default
 * warn) go to stderr. Process-wide; `user` is passed through, not owned. */
CLY_API void cly_set_log_callback(cly_log_fn fn, cly_log_level max_level, void *user);

/* --------------------------------------------------------------- devices */

typedef enum cly_device_type {
    CLY_DEVICE_GPU = 0,
    CLY_DEVICE_ACCELERATOR,
    CLY_DEVICE_CPU,
    CLY_DEVICE_CUSTOM,
    CLY_DEVICE_OTHER
} cly_device_type;

/* Static name: "GPU", "CPU", "accelerator", "custom", "other". */
CLY_API const char *cly_device_type_string(cly_device_type type);

typedef struct cly_device_info {
    unsigned platform_index; /* position in clGetPlatformIDs order */
    unsigned device_index;   /* position within its platform */
    cly_device_type type;
    char platform_name[128];
    char platform_version[128];
    char vendor[128];
    char name[128];
    char driver_version[128];
    char device_version[128];   /* "OpenCL 3.0 ..." */
    char opencl_c_version[128]; /* "OpenCL C 1.2 ..." */
    unsigned compute_units;
    unsigned clock_mhz;
    uint64_t global_mem_bytes;
    uint64_t local_mem_bytes;
    uint64_t max_alloc_bytes;
    uint64_t max_work_group_size;
    unsigned preferred_vector_width_float;
    bool fp16;
    bool fp64;
    bool compiler_available;
    bool unified_memory; /* shares memory with the host (integrated GPU, CPU) */
} cly_device_info;

/* Enumerate every device of every platform. On success *out is an array of
 * *count entries that the caller releases with cly_devices_free. Returns
 * CLY_ERROR_NO_PLATFORM when no OpenCL platform is installed (the message
 * says how to install one). */
CLY_API cly_status cly_devices_list(cly_device_info **out, size_t *count);
CLY_API void cly_devices_free(cly_device_info *devices);

/* Resolve a selector string against `devices` (as listed by
 * cly_devices_list) and write the chosen entry's position to *index.
 *
 * Grammar (case-insensitive, surrounding spaces ignored):
 *   NULL or ""        the default device: the best GPU, else an
 *                     accelerator, else a CPU, else anything (see README)
 *   gpu | cpu | accelerator | custom
 *                     the best device of that type
 *   TYPE:N            the N-th device of that type, 0-based, in listing order
 *   P:D               platform P, device D (both decimal)
 *   TEXT              the best device whose platform name or version, vendor
 *                     or device name contains TEXT ("nvidia", "amd", "intel",
 *                     "pocl")
 *   TEXT:N            the N-th such device, 0-based, in listing order
 * Returns CLY_ERROR_INVALID_ARGUMENT for malformed strings and
 * CLY_ERROR_DEVICE_NOT_FOUND when nothing matches; the message lists the
 * devices that exist. */
CLY_API cly_status cly_device_select(const cly_device_info *devices, size_t count,
                                     const char *selector, size_t *index);

/* -------------------------------------------------------------- contexts */

/* Create a context (OpenCL context, in-order queue with profiling, program
 * caches) on the device chosen by `selector`. NULL means: $CLAYER_DEVICE if
 * set, else the default. `selector` is copied, not kept.
 * Errors: CLY_ERROR_NO_PLATFORM, CLY_ERROR_INVALID_ARGUMENT,
 * CLY_ERROR_DEVICE_NOT_FOUND, CLY_ERROR_OPENCL, CLY_ERROR_OUT_OF_HOST_MEMORY;
 * the detail is in cly_last_error(NULL). */
CLY_API cly_status cly_context_create(const char *selector, cly_context **out);
CLY_API void cly_context_destroy(cly_context *ctx);

/* The device the context runs on. Never NULL for a live context. */
CLY_API const cly_device_info *cly_context_device(const cly_context *ctx);

/* Wait until every command queued on the context has finished. */
CLY_API cly_status cly_context_finish(cly_context *ctx);

/* Counters for diagnostics and tests: how each program was obtained. */
typedef struct cly_context_stats {
    uint64_t programs_built;       /* compiled from source */
    uint64_t programs_from_cache;  /* loaded from the on-disk binary cache */
    uint64_t cache_writes;         /* binaries written to the on-disk cache */
    uint64_t cache_rejects;        /* cache entries found unusable and rebuilt */
} cly_context_stats;

CLY_API cly_status cly_context_stats_get(const cly_context *ctx, cly_context_stats *out);

/* The on-disk binary cache directory in use ($CLAYER_CACHE_DIR, else
 * $XDG_CACHE_HOME/clayer, else ~/.cache/clayer), or "" when the cache is off
 * ($CLAYER_CACHE=off). Read at context creation. */
CLY_API const char *cly_context_cache_dir(const cly_context *ctx);

/* --------------------------------------------------------------- tensors */

typedef struct cly_shape {
    int64_t n, c, h, w;
} cly_shape;

typedef struct cly_tensor cly_tensor;

/* Allocate an uninitialised float32 NCHW tensor on the context's device.
 * Every dimension must be >= 1; the element count and byte size must fit in
 * 64 bits (CLY_ERROR_SIZE_OVERFLOW) and in the device's max allocation
 * (CLY_ERROR_TOO_LARGE). The tensor must not outlive `ctx`. */
CLY_API cly_status cly_tensor_create(cly_context *ctx, cly_shape shape, cly_tensor **out);
CLY_API void cly_tensor_destroy(cly_tensor *t);

CLY_API cly_shape cly_tensor_shape(const cly_tensor *t);
/* Number of elements, n*c*h*w; 0 for NULL. */
CLY_API int64_t cly_tensor_count(const cly_tensor *t);

/* Copy `count` floats from host memory into the tensor (blocking).
 * `count` must equal cly_tensor_count(t) (CLY_ERROR_SHAPE_MISMATCH). */
CLY_API cly_status cly_tensor_write(cly_tensor *t, const float *src, int64_t count);
/* Copy the tensor into `count` floats of host memory (blocking). */
CLY_API cly_status cly_tensor_read(const cly_tensor *t, float *dst, int64_t count);
/* Set every element to `value` on the device. */
CLY_API cly_status cly_tensor_fill(cly_tensor *t, float value);
/* Copy src into dst on the device; shapes must match and both tensors must
 * belong to the same context. */
CLY_API cly_status cly_tensor_copy(cly_tensor *dst, const cly_tensor *src);

/* ---------------------------------------------------------- convolution */

/* One 2-D convolution, NCHW, direct (no layer graph needed).
 * out[n][k][y][x] = bias[k] + sum_{c,i,j} in[n][c][y*S + i*D - P][x*S + j*D - P] * w[k][c][i][j]
 * with zero padding; `bias` may be NULL. Output size must be exact:
 * (H + 2P - D(F-1) - 1)/S + 1 an integer >= 1, else CLY_ERROR_INVALID_ARGUMENT
 * with the arithmetic in the message. */
typedef struct cly_conv_params {
    int64_t stride;   /* >= 1 */
    int64_t pad;      /* >= 0, each side */
    int64_t dilation; /* >= 1; 0 is taken as 1 */
} cly_conv_params;

CLY_API cly_status cly_conv2d(cly_context *ctx, const cly_tensor *input, const cly_tensor *weights,
                              const cly_tensor *bias, cly_conv_params params, cly_tensor *output);

#ifdef __cplusplus
}
#endif

#endif /* CLAYER_H */
