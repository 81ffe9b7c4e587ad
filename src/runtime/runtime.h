/* The runtime layer: the context layout, devices, OpenCL error reporting,
 * host I/O, the program manager and its binary cache, tensors. Not
 * installed. */
#ifndef CLY_INTERNAL_H
#define CLY_INTERNAL_H

#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

#include "base/sha256.h"
#include "base/embedded.h"
#include "base/status.h"

/* ---- devices (device.c) */

/* Fill `info` for one device; platform/device indices are left to the caller. */
cly_status cly_device_query(cl_platform_id platform, cl_device_id device, cly_device_info *info);
/* The listing of every device with handles, in the order cly_devices_list uses. */
typedef struct cly_device_entry {
    cly_device_info info;
    cl_platform_id platform;
    cl_device_id device;
} cly_device_entry;
cly_status cly_devices_enumerate(cly_device_entry **out, size_t *count);
/* The process-wide lock cly_devices_enumerate takes: hold it around any
 * other first-use OpenCL set-up (clCreateContext, the first queue), which
 * pocl does not make thread-safe. Not recursive. */
void cly_opencl_init_lock(void);
void cly_opencl_init_unlock(void);
/* Appends "  P:D  TYPE  NAME (PLATFORM)" lines for each device to buf. */
void cly_devices_describe(const cly_device_info *devices, size_t count, char *buf, size_t size);

/* ---- program manager (program.c) */

typedef struct cly_program_entry cly_program_entry;

/* Like cly_fail for a failed OpenCL call: appends the OpenCL code and name
 * (cl_error.c). */
cly_status cly_fail_cl(const cly_context *ctx, cl_int err, const char *fmt, ...) CLY_FMT(3, 4);
const char *cly_cl_error_name(cl_int err);

struct cly_context {
    cly_error_slot error; /* first: base/status.c records messages here */
    cly_device_info info;
    size_t max_item_sizes[3]; /* CL_DEVICE_MAX_WORK_ITEM_SIZES of dimensions 0-2 (0: unknown) */
    cl_platform_id platform;
    cl_device_id device;
    cl_context cl;
    cl_command_queue queue;
    cly_program_entry *programs;
    size_t program_count;
    size_t program_capacity;
    cly_context_stats stats;
    bool cache_enabled;
    char cache_dir[4096];
    cly_precision precision;
    bool profiling;        /* the queue has CL_QUEUE_PROFILING_ENABLE (cly_net_set_profiling needs it) */
    bool device_retained;  /* cly_cl_context_create retained the device: destroy releases it */
    bool build_only;       /* a plan's creation: launches build and bind their kernels, enqueue nothing */
    /* The tuning file (runtime/tuning_file.h): its path ("" when off) and
     * entries (NULL: none), and the candidate the tuner is timing (NULL
     * outside cly_tune_conv), which conv_direct.c uses before anything. */
    bool tuning_off;       /* cly_context_options.no_tuning_file */
    char tuning_path[4200];
    struct cly_tuned_table *tuned;
    const struct cly_tuned_entry *trial;
    /* Kernel bundle and binary-only mode (bundle_context.c): the bundle
     * loaded at creation (NULL: none) and its path; no_compiler: never build
     * from source (the option, $CLAYER_NO_COMPILER=1, or a device without a
     * compiler). */
    struct cly_bundle *bundle;
    struct cly_bundle_extra *bundle_extra; /* cly_context_add_binary's */
    char bundle_path[4096];
    bool no_compiler;
    uint64_t programs_from_bundle;
    bool gemm_builtin; /* cly_gemm runs kernels/gemm.c, not CLBlast (the option, $CLAYER_GEMM) */
};

/* The per-device work-item limits, the binary cache directory, the tuning
 * file, the bundle and binary-only mode, filled in after platform, device,
 * info and precision (context.c; both ways of creating a context end here).
 * On failure (a bundle that cannot be used) the caller destroys ctx; the
 * message is in the thread's slot. */
cly_status cly_context_setup(cly_context *ctx, const cly_context_options *o);
/* The bundle part of cly_context_setup (bundle_context.c). */
cly_status cly_context_bundle_setup(cly_context *ctx, const cly_context_options *o);
void cly_context_bundle_release(cly_context *ctx);

/* Whether ctx may not build from source: binary-only mode, or a device
 * without a compiler (checked at each build, not only at creation). */
static inline bool cly_binary_only(const cly_context *ctx)
{
    return ctx->no_compiler || !ctx->info.compiler_available;
}

/* Bytes per device element: 4 (float) or 8 (double, CLY_PRECISION_FLOAT64). */
static inline size_t cly_real_size(const cly_context *ctx)
{
    return ctx->precision == CLY_PRECISION_FLOAT64 ? 8 : 4;
}

/* v as a kernel sees it (a `real`, cly_arg_real): itself on a FLOAT64
 * context, rounded to float otherwise. For host values derived from a
 * hyper-parameter the kernel also reads (Adam's 1 - b1^t). */
static inline double cly_real_value(const cly_context *ctx, double v)
{
    return ctx->precision == CLY_PRECISION_FLOAT64 ? v : (double)(float)v;
}

/* ---- host <-> device copies in the context's precision (hostio.c)
 *
 * Blocking copies of `count` host values of `host_size` bytes each (4:
 * float, 8: double) to or from elements [offset, offset + count) of mem,
 * converted when the context's element size differs; `what` names the
 * public call in errors. Fill sets the elements to `value` (enqueued). */
cly_status cly_write_reals(cly_context *ctx, cl_mem mem, int64_t offset, const void *src, size_t host_size,
                           int64_t count, const char *what);
cly_status cly_read_reals(cly_context *ctx, cl_mem mem, int64_t offset, void *dst, size_t host_size, int64_t count,
                          const char *what);
cly_status cly_fill_reals(cly_context *ctx, cl_mem mem, int64_t offset, int64_t count, double value, const char *what);



/* The kernel `kernel` of the embedded program `program` built with
 * `options` (-D ...), compiled lazily and cached in memory and on disk.
 * The kernel belongs to the context; do not release it. */
cly_status cly_kernel_get(cly_context *ctx, const char *program, const char *options, const char *kernel,
                          cl_kernel *out);
/* Build `size` bytes of OpenCL C labelled `label` through the same cache
 * path (used by cly_kernel_get, and by tests with sources of their own).
 * The program belongs to the context. */
cly_status cly_program_get_source(cly_context *ctx, const char *label, const unsigned char *source, size_t size,
                                  const char *options, cl_program *out);
void cly_programs_release(cly_context *ctx);
/* Program i of the context's table (false past the end): its name, the
 * options clBuildProgram got, its source's SHA-256 and the program. */
bool cly_program_at(const cly_context *ctx, size_t i, const char **label, const char **build_options,
                    const uint8_t **source_sha256, cl_program *program);

/* ---- programs from binaries only, no compiler needed (program_binary.c) */

/* Create and build a program for ctx's device from a device binary. Works on
 * devices without a compiler (FPGA boards with offline-compiled kernels).
 * On failure *out is untouched and the message says why. */
cly_status cly_program_from_binary(const cly_context *ctx, const unsigned char *binary, size_t size,
                                   const char *options, cl_program *out);
/* The device binary of a built program (malloc'd; caller frees). */
cly_status cly_program_binary(const cly_context *ctx, cl_program program, unsigned char **out, size_t *size);

/* ---- on-disk binary cache (binary_cache.c) */

/* Resolve the cache directory from the environment. false: cache off. */
bool cly_cache_dir_from_env(char *dir, size_t size);
/* The key of a program: a text naming, in full, the library version, the
 * source's SHA-256 and length, the options, platform name and version,
 * device name and driver version (malloc'd; NULL when out of memory). An
 * entry's file name is the SHA-256 of this text, and the entry carries the
 * text itself, compared in full on load. */
char *cly_cache_key_text(const cly_device_info *info, const unsigned char *source, size_t size, const char *options);
typedef enum cly_cache_result { CLY_CACHE_HIT, CLY_CACHE_MISS, CLY_CACHE_REJECTED } cly_cache_result;
/* Load the entry for `key_text` from `dir`. On CLY_CACHE_HIT *payload is
 * malloc'd (caller frees). Anything odd (short, corrupt, another key's, a
 * symlink) is CLY_CACHE_REJECTED, logged with the reason. */
cly_cache_result cly_cache_load(const char *dir, const char *key_text, unsigned char **payload, size_t *size);
/* Store atomically (temp file + rename, replacing any entry there),
 * creating `dir` 0700. Failure is reported, never fatal to the caller. */
cly_status cly_cache_store(const char *dir, const char *key_text, const unsigned char *payload, size_t size);
/* Create `dir` and its parents, mode 0700; 0, or -1 with errno (the
 * tuning file shares the directory). */
int cly_cache_make_dirs(const char *dir);
/* Path of the entry for `key_text` (for tests and diagnostics). */
void cly_cache_entry_path(const char *dir, const char *key_text, char *path, size_t size);

/* ---- tensors (tensor.c) */

struct cly_tensor {
    cly_context *ctx;
    cly_shape shape;
    int64_t count;
    cl_mem buffer;
    int64_t offset; /* in elements, into buffer */
    /* For the overlap checks: the buffer that holds the memory (buffer
     * itself, or a sub-buffer's parent) and where buffer starts in it, in
     * bytes. Two sub-buffers of one buffer are distinct handles that may
     * share bytes. Not retained. */
    cl_mem root;
    uint64_t root_offset;
};

/* true when a and b share any byte of device memory (one buffer, or
 * sub-buffers of one buffer); false when either is NULL. */
bool cly_tensors_overlap(const cly_tensor *a, const cly_tensor *b);
/* true when a and b are exactly the same elements: the same memory, start
 * and count (an in-place call). */
bool cly_tensors_coincide(const cly_tensor *a, const cly_tensor *b);
/* "elements A..B of buffer 0x... [sub-buffer at byte N of 0x...]" for
 * overlap messages. */
void cly_tensor_describe_range(const cly_tensor *t, char *buf, size_t size);

/* Validate a shape: every dim >= 1 and the byte size fits in 64 bits and in
 * the device's max allocation. `what` names the caller in the message. */
cly_status cly_shape_check(const cly_context *ctx, const char *what, cly_shape shape, int64_t *count);

#endif
