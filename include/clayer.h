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
 * - Tensors are float32 (float64 on a CLY_PRECISION_FLOAT64 context), NCHW,
 *   four dimensions, each at least 1.
 * - A context is not thread-safe: use one context per thread, or lock.
 * - The library never exits or aborts on a runtime condition.
 * - Options structs (cly_context_options, cly_net_options,
 *   cly_train_params, cly_onnx_options, cly_tune_options) start with
 *   `struct_size`: leave it 0 (designated initialisers do) for the layout
 *   of clayer 0.2, or set it to sizeof the struct to use fields added later.
 *   New fields are only ever appended, zero meaning the old behaviour, so a
 *   program keeps working against a newer libclayer of the same soname; a
 *   struct_size larger than the library knows is refused with
 *   CLY_ERROR_UNSUPPORTED only when a field it does not know is non-zero.
 * - clayer_cl.h runs clayer on an application's own OpenCL context, queue
 *   and buffers (this header needs no OpenCL header).
 */
#ifndef CLAYER_H
#define CLAYER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

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
#define CLY_VERSION_MINOR 2
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

/* The element type of a context's tensors, nets and kernels. */
typedef enum cly_precision {
    CLY_PRECISION_FLOAT32 = 0,
    CLY_PRECISION_FLOAT64 /* double throughout, CLBlast's DGEMM included: for gradient checks
                             and numerical studies. Needs cl_khr_fp64 (pocl has it; consumer
                             GPUs run it at a small fraction of the float rate). */
} cly_precision;

/* The GEMM behind convolution-as-GEMM and fully-connected layers. */
typedef enum cly_gemm_impl {
    CLY_GEMM_DEFAULT = 0, /* $CLAYER_GEMM if set, else CLBlast */
    CLY_GEMM_CLBLAST,     /* CLBlast's SGEMM / DGEMM (kernels built from source at first use) */
    CLY_GEMM_BUILTIN      /* clayer's own (cl/gemm.cl, cl/gemm_nt.cl): programs like every other, so
                           * bundles carry them; no CLBlast call at all */
} cly_gemm_impl;

typedef struct cly_context_options {
    size_t struct_size;      /* sizeof(this struct) as compiled, or 0 (the first layout): see the top */
    const char *selector;    /* as cly_context_create's */
    cly_precision precision;
    bool no_tuning_file;     /* ignore the device's tuning file (as $CLAYER_TUNING=off): the built-in table */
    /* Fields below need struct_size = sizeof(cly_context_options). */
    const char *bundle;      /* a kernel bundle (`clayer compile`, docs/bundle-format.md) whose programs are
                              * used instead of building them, or NULL: $CLAYER_BUNDLE if set. Read at
                              * creation, not kept. One made for another library version, platform,
                              * device or driver, or corrupt, fails creation (CLY_ERROR_UNSUPPORTED,
                              * CLY_ERROR_INVALID_ARGUMENT; CLY_ERROR_IO when unreadable). */
    bool no_compiler;        /* binary-only: never build a program from source (also $CLAYER_NO_COMPILER=1,
                              * and always on a device without a compiler); a program in neither the
                              * bundle nor the binary cache is CLY_ERROR_NO_COMPILER naming it */
    cly_gemm_impl gemm;      /* whose GEMM the im2col and gemm1x1 convolutions, large fully-connected
                              * batches and their gradients run: CLY_GEMM_DEFAULT is $CLAYER_GEMM
                              * ("clblast" or "builtin"; any other value fails creation with
                              * CLY_ERROR_INVALID_ARGUMENT), else CLBlast. A binary-only context
                              * always runs the builtin one (CLBlast builds from source). */
} cly_context_options;

/* cly_context_create with options (NULL: the defaults). On a FLOAT64
 * context every device array holds doubles; the float host calls
 * (cly_tensor_write, cly_net_set_input, ...) convert, and their _f64 twins
 * move doubles without rounding. Errors: those of cly_context_create, and
 * CLY_ERROR_UNSUPPORTED for FLOAT64 on a device without cl_khr_fp64. */
CLY_API cly_status cly_context_create_ex(const cly_context_options *options, cly_context **out);
CLY_API cly_precision cly_context_precision(const cly_context *ctx);

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

/* Whether the context builds nothing from source (cly_context_options.no_compiler). */
CLY_API bool cly_context_binary_only(const cly_context *ctx);
/* The GEMM the context runs: CLY_GEMM_CLBLAST or CLY_GEMM_BUILTIN (always the
 * latter when binary-only). */
CLY_API cly_gemm_impl cly_context_gemm(const cly_context *ctx);

/* The programs the context has built or loaded so far, in order: index <
 * cly_context_program_count. *name is the embedded program ("conv_direct"),
 * *options the exact clBuildProgram options; both belong to the context.
 * CLY_ERROR_INVALID_ARGUMENT for NULLs or an index past the end. */
CLY_API size_t cly_context_program_count(const cly_context *ctx);
CLY_API cly_status cly_context_program_info(const cly_context *ctx, size_t index, const char **name,
                                            const char **options);

/* Write a kernel bundle (docs/bundle-format.md) to `path`, atomically
 * (temp file and rename): the device binary of every program the context
 * has obtained, plus every entry of the bundle it was created with, so that
 * a bundle grows by loading it and building more. Creating nets on a
 * context and running them once builds what they need. Errors:
 * CLY_ERROR_INVALID_ARGUMENT (NULLs, no programs), CLY_ERROR_UNSUPPORTED
 * (the device returns no binary), CLY_ERROR_IO, CLY_ERROR_OPENCL. */
CLY_API cly_status cly_context_save_bundle(cly_context *ctx, const char *path);

/* Add a device binary made elsewhere (a vendor's offline compiler) for
 * program `name` with build options `options` (as cly_context_program_info
 * lists them) to what cly_context_save_bundle writes. The bytes are copied
 * and not checked here: the bundle's loader checks them on the device.
 * CLY_ERROR_INVALID_ARGUMENT: NULLs, size 0, no embedded program `name`. */
CLY_API cly_status cly_context_add_binary(cly_context *ctx, const char *name, const char *options,
                                          const void *binary, size_t size);

/* --------------------------------------------------------------- tensors */

typedef struct cly_shape {
    int64_t n, c, h, w;
} cly_shape;

typedef struct cly_tensor cly_tensor;

/* Allocate an uninitialised NCHW tensor of the context's precision (float32
 * unless created FLOAT64) on the context's device.
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
/* The same with doubles: exact on a FLOAT64 context, rounded to float on
 * the way in on a FLOAT32 one. */
CLY_API cly_status cly_tensor_write_f64(cly_tensor *t, const double *src, int64_t count);
CLY_API cly_status cly_tensor_read_f64(const cly_tensor *t, double *dst, int64_t count);
/* Set every element to `value` (widened exactly on a FLOAT64 context). */
CLY_API cly_status cly_tensor_fill(cly_tensor *t, float value);
/* Copy src into dst on the device; shapes must match, both tensors must
 * belong to the same context, and they must not overlap (wrapped tensors may
 * share a buffer: CLY_ERROR_INVALID_ARGUMENT). */
CLY_API cly_status cly_tensor_copy(cly_tensor *dst, const cly_tensor *src);

/* ------------------------------------------------------ layer parameters */

/* Two extents (height, width). */
typedef struct cly_hw {
    int64_t h, w;
} cly_hw;

/* Padding per side. CLY_PAD(p) pads every side by p. */
typedef struct cly_pad {
    int64_t top, bottom, left, right;
} cly_pad;
#define CLY_PAD(p) ((cly_pad){(p), (p), (p), (p)})

/* How a window's output size (W - F + Plo + Phi)/S + 1 is rounded.
 * EXACT (the default, the notes' rule): a non-integer is an error.
 * FLOOR: Caffe/PyTorch convolutions (torchvision floors its stride-2 1x1
 * shortcuts and AlexNet's conv1). CEIL: Caffe pooling (GoogLeNet); a last
 * window that would start past the input and its left padding is dropped. */
typedef enum cly_rounding {
    CLY_ROUND_EXACT = 0,
    CLY_ROUND_FLOOR,
    CLY_ROUND_CEIL
} cly_rounding;

/* Convolution algorithms. Each has a supports() rule; AUTO picks by shape
 * and device; $CLAYER_CONV_ALGO (auto|direct|im2col|gemm1x1|winograd|tiled) overrides AUTO
 * for tests and benchmarks. */
typedef enum cly_conv_algo {
    CLY_CONV_AUTO = 0,
    CLY_CONV_DIRECT,  /* tiled direct kernel: any stride, padding, dilation, groups */
    CLY_CONV_IM2COL,  /* im2col + CLBlast SGEMM: any stride, padding, dilation, groups */
    CLY_CONV_GEMM1X1, /* 1x1, stride 1, no padding: a plain GEMM, no im2col */
    CLY_CONV_WINOGRAD, /* Winograd F(2x2,3x3)/F(4x4,3x3): 3x3, stride 1, dilation 1, groups 1. Inexact:
                          max |y - exact| / max |y| up to ~1e-5 on uniform [-1, 1] data; AUTO never picks it */
    CLY_CONV_TILED,   /* GPU-shaped implicit GEMM through local memory: any stride, padding, dilation, groups;
                         equals direct bit for bit; AUTO picks it on GPUs of the tuning table, never on CPUs */
    CLY_CONV_ALGO_COUNT
} cly_conv_algo;

/* Static name: "auto", "direct", "im2col", "gemm1x1", "winograd", "tiled". */
CLY_API const char *cly_conv_algo_string(cly_conv_algo algo);
/* False for an algorithm whose results differ from exact arithmetic by more
 * than the summation order (winograd's transforms round); true for the
 * others, and for AUTO, which picks exact algorithms only; false for a
 * value that is no algorithm. */
CLY_API bool cly_conv_algo_exact(cly_conv_algo algo);

/* Convolution (and locally-connected) settings. Zero means the default for
 * stride, dilation and groups (1); size must be given. Example:
 *   (cly_conv_params){.filters = 64, .size = {3, 3}, .pad = CLY_PAD(1)} */
typedef struct cly_conv_params {
    int64_t filters; /* K, output depth */
    cly_hw size;     /* F (filter height, width) */
    cly_hw stride;
    cly_pad pad;
    cly_hw dilation;
    int64_t groups;  /* C and K must both be divisible by groups */
    bool no_bias;
    bool relu;       /* fuse a ReLU into the output */
    cly_rounding rounding;
    cly_conv_algo algo;
} cly_conv_params;

/* ---------------------------------------------------------- convolution */

/* One 2-D convolution on tensors, NCHW, outside any graph:
 *   out[n][k][y][x] = bias[k] + sum_{c,i,j} in[n][g*C/G + c][y*Sh + i*Dh - Ptop][x*Sw + j*Dw - Pleft]
 *                                                * w[k][c][i][j]      (g = k / (K/G))
 * with zero padding. weights: K x C/G x FH x FW; bias: 1 x K x 1 x 1 or NULL;
 * output: N x K x OH x OW with OH, OW from params.rounding. params.filters and
 * params.size must be 0 or agree with the weights. Not in place: the output
 * must share no memory with the input, weights or bias (not the same
 * tensor, not overlapping ranges of one buffer, not overlapping sub-buffers
 * of one buffer). Errors:
 * CLY_ERROR_INVALID_ARGUMENT (bad params, non-integer output size: the
 * message shows the arithmetic; an output overlapping an input: the message
 * names both and their ranges), CLY_ERROR_SHAPE_MISMATCH, CLY_ERROR_UNSUPPORTED
 * (params.algo cannot do this shape), CLY_ERROR_TOO_LARGE (the workspace
 * params.algo needs exceeds the device's largest allocation),
 * CLY_ERROR_BUILD_FAILED, CLY_ERROR_OPENCL. */
CLY_API cly_status cly_conv2d(cly_context *ctx, const cly_tensor *input, const cly_tensor *weights,
                              const cly_tensor *bias, cly_conv_params params, cly_tensor *output);

/* ---------------------------------------------------------- more layers */

typedef enum cly_pool_kind {
    CLY_POOL_MAX = 0, /* padding counts as -inf */
    CLY_POOL_AVG,     /* see cly_pool_params.avg_exclude_pad */
    CLY_POOL_L2       /* sqrt(sum of squares) over the window */
} cly_pool_kind;

typedef struct cly_pool_params {
    cly_pool_kind kind;
    cly_hw size;    /* F */
    cly_hw stride;  /* 0: 1 */
    cly_pad pad;
    cly_rounding rounding;
    /* Average pooling divisor. false (PyTorch's default count_include_pad):
     * F*F, counting padded cells; true: only the cells inside the input. A
     * window cut short by CEIL rounding past the padding always divides by
     * the cells it covers within input + padding. */
    bool avg_exclude_pad;
} cly_pool_params;

typedef enum cly_lrn_alpha {
    CLY_LRN_ALPHA_OVER_SIZE = 0, /* Caffe, PyTorch: alpha / size */
    CLY_LRN_ALPHA_RAW            /* the AlexNet paper: alpha as given */
} cly_lrn_alpha;

/* Local response normalisation across channels (AlexNet, cuda-convnet):
 *   b[c] = a[c] / (k + A * sum_{c' in window(c)} a[c']^2)^beta
 * A = alpha/size or alpha (see alpha_mode); the window holds `size`
 * channels centred on c: from c - size/2 to c + (size-1)/2, clipped at the
 * edges (an even size reaches one further down, as in PyTorch). */
typedef struct cly_lrn_params {
    int64_t size;  /* n: channels in the window, >= 1 */
    double alpha;
    double beta;
    double k;
    cly_lrn_alpha alpha_mode;
} cly_lrn_params;

/* Batch normalisation. Inference: y = scale * (x - mean)/sqrt(var + eps) + shift
 * per channel. Training (CLY_MODE_TRAINING): biased batch variance, running variance
 * updated with the unbiased one: (1 - m)*old + m*new. */
typedef struct cly_batchnorm_params {
    double epsilon;  /* 0: 1e-5 */
    double momentum; /* 0: 0.1 */
} cly_batchnorm_params;

/* Fully connected: out[n][o] = bias[o] + sum_i in_flat[n][i] * w[o][i], with
 * the input flattened in C, H, W order per sample. Output shape N x O x 1 x 1. */
typedef struct cly_fc_params {
    int64_t outputs;
    bool no_bias;
    bool relu; /* fuse a ReLU into the output */
} cly_fc_params;

/* ReLU and its bounded and leaky variants:
 *   y = x > 0 ? min(x, max) : slope * x
 * The defaults (both 0) give the plain ReLU, max(x, 0); max = 6 is
 * MobileNet's ReLU6 (ONNX Clip(0, 6)), slope 0.01 a leaky ReLU. The
 * gradient is 0 where x <= 0 (slope: slope * dy) and where x >= max. */
typedef struct cly_relu_params {
    double max;   /* upper bound, > 0; 0: none */
    double slope; /* of the negative side, in [0, 1) */
} cly_relu_params;

/* Adaptive average pooling (PyTorch's AdaptiveAvgPool2d) to OH x OW from
 * any H x W: output row i averages input rows floor(i*H/OH) ..
 * ceil((i+1)*H/OH) - 1, columns likewise; bins may overlap (H < 2*OH) and
 * an output larger than the input repeats rows. */
typedef struct cly_adaptive_pool_params {
    cly_hw output; /* OH x OW, each >= 1 */
} cly_adaptive_pool_params;

/* ---------------------------------------------------------------- graph */

/* Layer types. The order is part of the ABI: append only. */
typedef enum cly_layer_type {
    CLY_LAYER_INPUT = 0,
    CLY_LAYER_CONV,
    CLY_LAYER_LOCAL,      /* locally connected: a convolution without weight sharing */
    CLY_LAYER_RELU,
    CLY_LAYER_POOL,
    CLY_LAYER_LRN,
    CLY_LAYER_BATCHNORM,
    CLY_LAYER_FC,
    CLY_LAYER_SOFTMAX,    /* over channels, per sample and position */
    CLY_LAYER_DROPOUT,    /* identity at inference */
    CLY_LAYER_ADD,        /* element-wise sum of >= 2 inputs of one shape */
    CLY_LAYER_CONCAT,     /* along depth (C) */
    CLY_LAYER_GLOBAL_AVGPOOL,
    CLY_LAYER_ADAPTIVE_AVGPOOL, /* PyTorch's AdaptiveAvgPool2d: a fixed output size */
    CLY_LAYER_TYPE_COUNT
} cly_layer_type;

/* Static name: "input", "conv", "local", "relu", "pool", "lrn", "batchnorm",
 * "fc", "softmax", "dropout", "add", "concat", "gap", "adaptive_avgpool". */
CLY_API const char *cly_layer_type_string(cly_layer_type type);

/* A layer as a plain description; what cly_graph_add copies. */
typedef struct cly_layer {
    cly_layer_type type;
    const char *name;           /* unique in the graph; [A-Za-z0-9_./-], 1..63 chars */
    const char *const *inputs;  /* names of earlier or later layers; none for INPUT */
    size_t input_count;
    union {
        struct {
            int64_t c, h, w;    /* per-sample shape of an INPUT */
        } input;
        cly_conv_params conv;   /* CONV and LOCAL */
        cly_pool_params pool;
        cly_lrn_params lrn;
        cly_batchnorm_params batchnorm;
        cly_fc_params fc;
        double dropout;         /* drop probability in [0, 1) */
        cly_adaptive_pool_params adaptive; /* ADAPTIVE_AVGPOOL */
        cly_relu_params relu;   /* RELU (zeros: the plain ReLU) */
    } p;
} cly_layer;

typedef struct cly_graph cly_graph;

/* An empty graph. Graph calls need no device; their failures are described
 * in cly_last_error(NULL). */
CLY_API cly_status cly_graph_create(cly_graph **out);
CLY_API void cly_graph_destroy(cly_graph *g);

/* Add a layer (copied, strings included). Checks what can be checked alone:
 * the name, duplicate names, parameter ranges, input counts. References to
 * other layers are resolved by cly_graph_infer, so order does not matter. */
CLY_API cly_status cly_graph_add(cly_graph *g, const cly_layer *layer);

/* Shorthands for cly_graph_add. */
CLY_API cly_status cly_graph_input(cly_graph *g, const char *name, int64_t c, int64_t h, int64_t w);
CLY_API cly_status cly_graph_conv(cly_graph *g, const char *name, const char *input, cly_conv_params p);
CLY_API cly_status cly_graph_relu(cly_graph *g, const char *name, const char *input);
CLY_API cly_status cly_graph_pool(cly_graph *g, const char *name, const char *input, cly_pool_params p);
CLY_API cly_status cly_graph_fc(cly_graph *g, const char *name, const char *input, cly_fc_params p);
CLY_API cly_status cly_graph_softmax(cly_graph *g, const char *name, const char *input);

/* Shape inference for `batch` samples with the formulas of the notes:
 * resolves inputs (unknown names, cycles), orders layers, and checks every
 * layer (non-integer or non-positive output sizes with the arithmetic, a
 * filter larger than the padded input, add/concat mismatches, channel counts
 * not divisible by groups, ...). Messages name the layer, e.g.
 * "pool2: (W - F)/S + 1 = (7 - 2)/2 + 1 = 3.5 is not an integer".
 * While nets compiled from `g` live, its shapes are theirs: inferring at
 * their batch does nothing, at another one is CLY_ERROR_INVALID_ARGUMENT
 * (as are cly_graph_add and cly_graph_set_input_size on it). */
CLY_API cly_status cly_graph_infer(cly_graph *g, int64_t batch);

/* What inference found about one layer (index in topological order). */
typedef struct cly_layer_info {
    const char *name;       /* valid while the graph lives */
    cly_layer_type type;
    cly_shape output;       /* N x C x H x W */
    int64_t activations;    /* values in the output, all samples */
    int64_t weights;
    int64_t biases;         /* biases, or BN scale + shift */
    int64_t flops;          /* multiply-adds x 2, all samples */
    bool rounded;           /* output size needed FLOOR or CEIL rounding */
    bool is_output;         /* no layer reads it: a graph output */
} cly_layer_info;

CLY_API size_t cly_graph_layer_count(const cly_graph *g);
/* Requires a successful cly_graph_infer. */
CLY_API cly_status cly_graph_layer_info(const cly_graph *g, size_t index, cly_layer_info *out);

/* Print the per-layer table (name, type, output shape, activations, weights,
 * biases, FLOPs, rounding) and exact totals. Requires cly_graph_infer. */
CLY_API cly_status cly_graph_print_summary(const cly_graph *g, FILE *f);

/* Parse a net file (docs/net-format.md) into a new graph. `text` is
 * untrusted: every error names its line. `source` names it in messages
 * (NULL: "<net>"); `text` and `source` are copied, not kept. Limits: 16 MiB
 * of text, 16384-byte lines, 100,000 layers, 256 inputs per layer.
 * Errors: CLY_ERROR_INVALID_ARGUMENT ("SOURCE:LINE: ..."),
 * CLY_ERROR_OUT_OF_HOST_MEMORY; *out is untouched on failure. */
CLY_API cly_status cly_graph_parse(const char *text, size_t size, const char *source, cly_graph **out);
/* cly_graph_parse on the contents of the file `path`, named by its path.
 * Also CLY_ERROR_IO when it cannot be read. */
CLY_API cly_status cly_graph_load(const char *path, cly_graph **out);

/* FC -> CONV conversion (the notes' "net surgery", as in Caffe): a new graph
 * in which every FC layer becomes the equivalent convolution, so that a net
 * built for one input size slides over a larger image in one pass. An FC
 * whose input is C x H x W becomes a conv with `outputs` filters of H x W,
 * stride 1, no padding: the first FC after a conv stack takes the whole map
 * (AlexNet's and VGG's fc6: 7 x 7), later FCs, whose input is 1 x 1, become
 * 1 x 1 convs. The fused ReLU and no_bias are kept, and so are the names;
 * every other layer (dropout, identity at inference; softmax, over C at every
 * position) is copied unchanged. At the original input size the converted
 * graph computes the same values with the same output shapes (N x K x 1 x 1).
 *
 * The parameters need no reshuffle: FC weights are outputs x (C*H*W in C, H,
 * W order) and conv weights K x C x FH x FW, the same floats in the same
 * order, with the same bias. Copy each layer's arrays by name with
 * cly_net_get_param / cly_net_set_param (CLY_PARAM_WEIGHTS, CLY_PARAM_BIAS).
 *
 * Then change the input size (cly_graph_set_input_size): with input 384 x 384
 * a net whose conv stack reduces 224 x 224 to 7 x 7 (total stride 32) gives a
 * 6 x 6 map of scores, one per 224 x 224 crop at stride 32. The values equal
 * the per-crop ones when no layer before the first FC pads (padding puts
 * zeros at a crop's border where the large image has pixels). Stride 16
 * comes from passes over the image shifted by 16 pixels.
 *
 * `g` is read, not changed (it need not be inferred; it is inferred at
 * batch 1 on a copy, for the FC input shapes). *out is a new graph, not
 * inferred, to be destroyed by the caller. Errors: CLY_ERROR_INVALID_ARGUMENT
 * (NULL, no layers, and those of cly_graph_infer, each naming its layer),
 * CLY_ERROR_SHAPE_MISMATCH, CLY_ERROR_OUT_OF_HOST_MEMORY; *out is untouched
 * on failure. */
CLY_API cly_status cly_graph_fc_to_conv(const cly_graph *g, cly_graph **out);

/* Change the height and width of the INPUT layer named `layer` (the depth
 * stays). The graph must be inferred again (cly_net_create does). Errors:
 * CLY_ERROR_INVALID_ARGUMENT (NULL, no such layer, not an INPUT, h or w < 1). */
CLY_API cly_status cly_graph_set_input_size(cly_graph *g, const char *layer, int64_t h, int64_t w);

/* A net shipped with the library, by name: "fashion" (the Fashion-MNIST
 * default of `clayer train`), "lenet", "alexnet", "alexnet-caffe",
 * "alexnet-tv", "zfnet", "vgg16", "googlenet", "googlenet-tv", "resnet18",
 * "resnet34", "resnet50" (see cly_graph_builtin_name; "-tv" names the
 * torchvision variant, "-caffe" Caffe's two-tower AlexNet).
 * CLY_ERROR_INVALID_ARGUMENT lists the names. */
CLY_API cly_status cly_graph_builtin(const char *name, cly_graph **out);
/* The index-th built-in net's name, or NULL past the end. */
CLY_API const char *cly_graph_builtin_name(size_t index);

/* ------------------------------------------------------------------ net */

/* A graph compiled for one context and batch size: shapes inferred, an
 * algorithm chosen per layer, parameters allocated, memory planned. */
typedef struct cly_net cly_net;

typedef enum cly_mode {
    CLY_MODE_INFERENCE = 0, /* values die after their last use; one arena, reused */
    CLY_MODE_TRAINING       /* keeps what backward needs: cly_net_set_training, cly_net_train_batch */
} cly_mode;

typedef struct cly_net_options {
    size_t struct_size;      /* sizeof(this struct) as compiled, or 0 (the first layout): see the top */
    int64_t batch;             /* >= 1 */
    cly_mode mode;
    cly_conv_algo conv_algo;   /* non-AUTO: forced on every conv layer left at AUTO */
    const char *const *keep;   /* layers whose outputs stay readable after forward */
    size_t keep_count;         /* (graph outputs, the sinks, always do) */
} cly_net_options;

/* Compile `g` (inferred here at options->batch, so g is modified) for `ctx`.
 * `g` and `ctx` must outlive the net and `g` must not change meanwhile; the
 * option strings are copied. Several nets may share `g` at one batch; a net
 * at another batch needs its own graph (CLY_ERROR_INVALID_ARGUMENT while
 * one lives). Parameters start at zero: set them or call
 * cly_net_init_params. Errors: those of cly_graph_infer, CLY_ERROR_UNSUPPORTED
 * (a forced algorithm that cannot run a layer, in either mode),
 * CLY_ERROR_TOO_LARGE (a buffer beyond the device's largest allocation, or
 * all of them, with a training net's gradients and optimiser state, beyond
 * its memory: the message gives both sizes and the biggest parts),
 * CLY_ERROR_OPENCL.
 *
 * A call on a net that fails leaves it as it was, so it can be retried (a
 * failed training call puts back the batch-norm running statistics its
 * forward had moved), except cly_net_train_batch or cly_net_update failing
 * after part of the optimiser update (or, accumulating, the gradient sum)
 * was applied: that marks the net unusable, and every later call that uses
 * its state returns CLY_ERROR_INVALID_ARGUMENT saying so; destroy it and
 * create or load it again. */
CLY_API cly_status cly_net_create(cly_context *ctx, cly_graph *g, const cly_net_options *options, cly_net **out);
CLY_API void cly_net_destroy(cly_net *net);

/* Parameter arrays of a layer. Layouts (row-major):
 *   conv WEIGHTS K x C/G x FH x FW, BIAS K
 *   local WEIGHTS OH x OW x K x C x FH x FW, BIAS K x OH x OW
 *   fc WEIGHTS outputs x (C*H*W of its input, in C, H, W order), BIAS outputs
 *   batchnorm WEIGHTS = scale (gamma), BIAS = shift (beta), MEAN, VAR: C each */
typedef enum cly_param_kind {
    CLY_PARAM_WEIGHTS = 0,
    CLY_PARAM_BIAS,
    CLY_PARAM_MEAN,
    CLY_PARAM_VAR
} cly_param_kind;

/* Elements in a parameter array; 0 when the layer has no such array. */
CLY_API cly_status cly_net_param_count(const cly_net *net, const char *layer, cly_param_kind kind, int64_t *count);
CLY_API cly_status cly_net_set_param(cly_net *net, const char *layer, cly_param_kind kind, const float *src,
                                     int64_t count);
CLY_API cly_status cly_net_get_param(const cly_net *net, const char *layer, cly_param_kind kind, float *dst,
                                     int64_t count);
/* The _f64 twins of the net's host calls move doubles: exact on a FLOAT64
 * context (finite-difference checks perturb by less than a float can hold),
 * rounded to float on the way in on a FLOAT32 one. */
CLY_API cly_status cly_net_set_param_f64(cly_net *net, const char *layer, cly_param_kind kind, const double *src,
                                         int64_t count);
CLY_API cly_status cly_net_get_param_f64(const cly_net *net, const char *layer, cly_param_kind kind, double *dst,
                                         int64_t count);

typedef enum cly_init {
    CLY_INIT_HE = 0, /* N(0, 2/fan_in): ReLU nets */
    CLY_INIT_XAVIER  /* U(-a, a), a = sqrt(6/(fan_in + fan_out)) */
} cly_init;

/* Seeded initialisation of every weight; biases and BN shift 0, BN scale and
 * running variance 1, running mean 0. Same seed, same values, any device. */
CLY_API cly_status cly_net_init_params(cly_net *net, cly_init init, uint64_t seed);

/* Copy a batch into an INPUT layer: batch x C x H x W floats. */
CLY_API cly_status cly_net_set_input(cly_net *net, const char *layer, const float *src, int64_t count);
/* Run the forward pass (enqueued; reading an output waits for it). */
CLY_API cly_status cly_net_forward(cly_net *net);
/* Read a graph output or a kept layer's output after cly_net_forward (in
 * training mode also after a training pass: kept values survive backward).
 * CLY_ERROR_INVALID_ARGUMENT for any other layer, whose storage is reused. */
CLY_API cly_status cly_net_get_output(const cly_net *net, const char *layer, float *dst, int64_t count);
CLY_API cly_status cly_net_set_input_f64(cly_net *net, const char *layer, const double *src, int64_t count);
CLY_API cly_status cly_net_get_output_f64(const cly_net *net, const char *layer, double *dst, int64_t count);

typedef struct cly_net_memory {
    int64_t arena_bytes;      /* planned activations (peak) */
    int64_t workspace_bytes;  /* the one scratch buffer, sized to the largest need */
    int64_t param_bytes;      /* weights, biases, BN statistics */
    int64_t activation_bytes; /* every layer output summed (in-place outputs excluded, as in
                                 the notes' tables): the cost without planning */
    int64_t largest_bytes;    /* the largest single layer output */
    int64_t training_bytes;   /* after cly_net_set_training: parameter gradients, optimiser
                                 state, what backward keeps from forward, labels, losses; else 0 */
} cly_net_memory;

CLY_API cly_status cly_net_memory_get(const cly_net *net, cly_net_memory *out);
/* The conv algorithm a layer runs; CLY_CONV_AUTO for non-conv layers. */
CLY_API cly_conv_algo cly_net_layer_algo(const cly_net *net, const char *layer);
/* The same as text for tables: the algorithm's name ("direct"), or, where
 * the layer runs what the tuning file chose for its shape, the
 * configuration and "(tuned)" ("direct 16x6x4 wg8 (tuned)"). Valid while
 * the net lives; "-" for non-conv layers and unknown names. */
CLY_API const char *cly_net_layer_algo_text(const cly_net *net, const char *layer);
/* The graph summary with the chosen algorithms, then the memory plan. */
CLY_API cly_status cly_net_print_summary(const cly_net *net, FILE *f);

/* ------------------------------------------------------------- training */

typedef enum cly_loss {
    CLY_LOSS_SOFTMAX_XENT = 0, /* -log softmax(s)[y], averaged over the batch */
    CLY_LOSS_SVM               /* CS231n: sum_{j != y} max(0, s_j - s_y + margin), averaged over
                                  the batch. PyTorch's multi_margin_loss also divides by the
                                  number of classes: multiply the learning rate accordingly. */
} cly_loss;

typedef enum cly_optimizer {
    CLY_OPTIMIZER_SGD = 0, /* with momentum, optionally Nesterov */
    CLY_OPTIMIZER_ADAM
} cly_optimizer;

/* Zero means the default for every field but learning_rate and momentum. */
typedef struct cly_train_params {
    size_t struct_size;      /* sizeof(this struct) as compiled, or 0 (the first layout): see the top */
    cly_loss loss;
    double svm_margin;       /* 0: 1 */
    cly_optimizer optimizer;
    double learning_rate;    /* > 0 */
    double momentum;         /* SGD, in [0, 1) */
    bool nesterov;
    double weight_decay;     /* L2: adds decay * w to each weight's gradient (not biases, BN) */
    double adam_beta1;       /* 0: 0.9 */
    double adam_beta2;       /* 0: 0.999 */
    double adam_epsilon;     /* 0: 1e-8 */
    int64_t lr_step;         /* step schedule: lr * lr_gamma^(updates / lr_step); 0: constant */
    double lr_gamma;         /* 0: 0.1 */
    int64_t accumulate;      /* batches whose gradients are summed per update; 0: 1 */
    uint64_t seed;           /* dropout masks */
    const char *scores;      /* layer whose output holds the class scores; NULL: the graph's
                                only output, or that output's input when it is a softmax */
} cly_train_params;

/* Make a net created with CLY_MODE_TRAINING ready to train: gradient and
 * optimiser buffers, loss. Copies `p` (and its string). Every real field
 * must be finite (momentum, adam_beta1 and adam_beta2 in [0, 1), the rest
 * >= 0, learning_rate > 0), counts >= 0, enums known: otherwise
 * CLY_ERROR_INVALID_ARGUMENT naming the field and its value. Without `scores`, a
 * graph of several outputs, or one whose output is not C x 1 x 1 class
 * scores, gets the optimiser but no built-in loss: cly_net_train_batch and
 * cly_net_compute_gradients then fail; drive it with cly_net_backward. */
CLY_API cly_status cly_net_set_training(cly_net *net, const cly_train_params *p);

/* One batch: forward, loss, backward, and an optimiser update once
 * `accumulate` batches have been seen. `labels` holds batch int32 class
 * indices. *loss (may be NULL) receives the batch's mean loss, including
 * the weight-decay term. The input must have been set with cly_net_set_input. */
CLY_API cly_status cly_net_train_batch(cly_net *net, const int32_t *labels, int64_t count, double *loss);

/* Forward pass in training mode (batch statistics, dropout) without an
 * update, then backward: parameter gradients and the input gradient become
 * readable. For gradient checks. */
CLY_API cly_status cly_net_compute_gradients(cly_net *net, const int32_t *labels, int64_t count, double *loss);
CLY_API cly_status cly_net_get_gradient(const cly_net *net, const char *layer, cly_param_kind kind, float *dst,
                                        int64_t count);
/* The loss gradient with respect to an INPUT layer's values. */
CLY_API cly_status cly_net_get_input_gradient(const cly_net *net, const char *layer, float *dst, int64_t count);
CLY_API cly_status cly_net_get_gradient_f64(const cly_net *net, const char *layer, cly_param_kind kind, double *dst,
                                            int64_t count);
CLY_API cly_status cly_net_get_input_gradient_f64(const cly_net *net, const char *layer, double *dst, int64_t count);

/* Optimiser updates made so far. */
CLY_API int64_t cly_net_updates(const cly_net *net);

/* The per-sample losses of the last cly_net_train_batch or
 * cly_net_compute_gradients (batch values; their mean is its *loss without
 * the weight-decay term), until the next forward pass. Errors:
 * CLY_ERROR_INVALID_ARGUMENT (NULL, an inference net, no such pass),
 * CLY_ERROR_SHAPE_MISMATCH (count is not the batch). */
CLY_API cly_status cly_net_get_losses(const cly_net *net, float *dst, int64_t count);
CLY_API cly_status cly_net_get_losses_f64(const cly_net *net, double *dst, int64_t count);

/* The batch mean and the biased batch variance, C each, with which a
 * batchnorm layer normalised its input in the last training forward pass
 * (cly_net_forward_training, cly_net_train_batch, cly_net_compute_gradients).
 * Errors: CLY_ERROR_INVALID_ARGUMENT (NULL, an inference net, no such layer,
 * not batchnorm, no training pass yet), CLY_ERROR_SHAPE_MISMATCH (count is
 * not C). */
CLY_API cly_status cly_net_get_batch_stats(const cly_net *net, const char *layer, float *mean, float *var,
                                           int64_t count);
CLY_API cly_status cly_net_get_batch_stats_f64(const cly_net *net, const char *layer, double *mean, double *var,
                                               int64_t count);

/* A loss of the caller's own, on a net created with CLY_MODE_TRAINING:
 *
 *     cly_net_set_input(net, "data", x, n);
 *     cly_net_forward_training(net);            // batch statistics, dropout
 *     cly_net_get_output(net, "head1", y, m);   // ... compute L(y) and dL/dy
 *     cly_net_set_output_gradient(net, "head1", dy, m);
 *     cly_net_backward(net);                    // cly_net_get_gradient, ..._input_gradient
 *     cly_net_update(net);                      // needs cly_net_set_training
 *
 * Forward and backward need no cly_net_set_training (gradient buffers come
 * on demand); only cly_net_update needs its optimiser. Any number of graph
 * outputs and kept layers (cly_net_options.keep) may get a gradient. */

/* The training form of the forward pass without a loss: batch statistics,
 * dropout masks (the same until the next update or training batch, so
 * repeated calls see one function), max-pooling switches. Errors:
 * CLY_ERROR_INVALID_ARGUMENT (NULL, an inference net), those of the layers. */
CLY_API cly_status cly_net_forward_training(cly_net *net);
/* Set dL/dy at a graph output or a kept layer: batch x C x H x W values,
 * copied. The next cly_net_backward uses and consumes every gradient set
 * since the last one; outputs without one contribute zero, and at a kept
 * layer it adds to what flows back from its consumers. Errors:
 * CLY_ERROR_INVALID_ARGUMENT (NULL, an inference net, no such layer, one
 * neither an output nor kept), CLY_ERROR_SHAPE_MISMATCH (count). Nothing is
 * written on failure. */
CLY_API cly_status cly_net_set_output_gradient(cly_net *net, const char *layer, const float *dy, int64_t count);
CLY_API cly_status cly_net_set_output_gradient_f64(cly_net *net, const char *layer, const double *dy,
                                                   int64_t count);
/* Backward from the gradients set, through the last cly_net_forward_training:
 * parameter gradients (cly_net_get_gradient; they replace the previous ones,
 * `accumulate` does not apply) and INPUT gradients (cly_net_get_input_gradient)
 * of this pass. Each forward allows one backward. Errors:
 * CLY_ERROR_INVALID_ARGUMENT (NULL, an inference net, no training forward
 * since the last backward or cly_net_forward, no gradient set),
 * CLY_ERROR_OPENCL. */
CLY_API cly_status cly_net_backward(cly_net *net);
/* The gradient that reached a graph output or kept layer in the last
 * backward pass (the caller's, plus what flowed back to a kept layer; the
 * built-in loss's at its scores). Errors: CLY_ERROR_INVALID_ARGUMENT (as
 * cly_net_set_output_gradient, or no gradient reached it),
 * CLY_ERROR_SHAPE_MISMATCH. */
CLY_API cly_status cly_net_get_output_gradient(const cly_net *net, const char *layer, float *dst, int64_t count);
CLY_API cly_status cly_net_get_output_gradient_f64(const cly_net *net, const char *layer, double *dst,
                                                   int64_t count);
/* One optimiser step (cly_net_set_training's) on the gradients of the last
 * cly_net_backward or cly_net_compute_gradients, as cly_net_train_batch's
 * with accumulate 1; then new dropout masks. Errors:
 * CLY_ERROR_INVALID_ARGUMENT (NULL, an inference net, no
 * cly_net_set_training, no gradients since the last update). */
CLY_API cly_status cly_net_update(cly_net *net);

/* ------------------------------------------------------------- replicas
 *
 * Data parallelism over the devices of one process: a group holds one
 * context and one net per device, all compiled from one graph at the
 * micro-batch (the group's batch / the device count). A training batch is
 * split into equal micro-batches in device order; each device runs forward
 * and backward on its share; the parameter gradients are copied to device
 * 0 and summed there in device order (device 0 + device 1 + ...) by the
 * kernel cly_net_train_batch accumulates with; device 0 takes the
 * optimiser step, and its parameters are copied to every other device. The
 * result is bit for bit that of one net at the micro-batch trained with
 * accumulate = devices x the group's accumulate, fed the micro-batches in
 * the same order: parameters, optimiser state, dropout masks and the
 * batch-norm running statistics (these move through the micro-batches in
 * order: each device starts from the previous device's, copied after its
 * forward, so in a net with batch norm the forwards are staggered across
 * devices while the backwards overlap; after the step every device holds
 * the last one's).
 *
 * Inference splits the same way and returns outputs in input order. The
 * optimiser state lives on device 0 (cly_replicas_net(r, 0) saves the whole
 * model, cly_net_save). A group is used on one thread. */
typedef struct cly_replicas cly_replicas;

/* The most devices in one group. */
#define CLY_REPLICAS_MAX 64

/* Create a group on the devices of `selectors`: a comma-separated list of
 * cly_device_select selectors ("0:0,0:1", "cpu:0,cpu:1"), each naming a
 * different device, 1 to CLY_REPLICAS_MAX of them. `context_options`
 * (NULL: the defaults) applies to every device but for its selector, which
 * is ignored. `g` must outlive the group and is inferred at the
 * micro-batch options->batch / devices; options->batch must divide by the
 * device count. Parameters start at zero: cly_replicas_init_params or
 * cly_replicas_set_param. Errors (the detail in cly_last_error(NULL)):
 * CLY_ERROR_INVALID_ARGUMENT (NULLs, an empty list or entry, a malformed
 * selector, two entries naming one device, too many devices, a batch that
 * does not divide: each message names the entry, its position and the
 * numbers), CLY_ERROR_DEVICE_NOT_FOUND (an entry matching no device), and
 * those of cly_context_create_ex and cly_net_create, naming the device. */
CLY_API cly_status cly_replicas_create(const char *selectors, const cly_context_options *context_options,
                                       cly_graph *g, const cly_net_options *options, cly_replicas **out);
CLY_API void cly_replicas_destroy(cly_replicas *r);

/* Devices in the group (0 for NULL). */
CLY_API size_t cly_replicas_count(const cly_replicas *r);
/* The net and the context of device `index`, both
 * owned by the group, or NULL past the end. Reading it is safe; changing
 * its parameters or training it directly leaves the replicas apart. */
CLY_API cly_net *cly_replicas_net(const cly_replicas *r, size_t index);
CLY_API cly_context *cly_replicas_context(const cly_replicas *r, size_t index);

/* cly_net_init_params on device 0, copied to every device. */
CLY_API cly_status cly_replicas_init_params(cly_replicas *r, cly_init init, uint64_t seed);
/* cly_net_set_param on every device (cly_net_get_param on device 0 reads). */
CLY_API cly_status cly_replicas_set_param(cly_replicas *r, const char *layer, cly_param_kind kind, const float *src,
                                          int64_t count);

/* cly_net_set_training on every device (CLY_MODE_TRAINING nets). */
CLY_API cly_status cly_replicas_set_training(cly_replicas *r, const cly_train_params *p);

/* Copy the group's batch into an INPUT layer: batch x C x H x W floats,
 * device d getting samples [d*m, (d+1)*m), m the micro-batch. */
CLY_API cly_status cly_replicas_set_input(cly_replicas *r, const char *layer, const float *src, int64_t count);
/* Forward on every device (inference form, as cly_net_forward). */
CLY_API cly_status cly_replicas_forward(cly_replicas *r);
/* A graph output or kept layer of the whole batch, in input order. */
CLY_API cly_status cly_replicas_get_output(const cly_replicas *r, const char *layer, float *dst, int64_t count);

/* One training batch of `count` = the group's batch labels (device d takes
 * [d*m, (d+1)*m)), as described above; *loss (may be NULL) the batch's
 * mean loss with the weight-decay term (the mean of the micro-batches'
 * losses one net gives, up to the rounding of that mean).
 * Errors: those of cly_net_train_batch, naming the device. A failure after
 * the devices started leaves the group unusable (every later call says so):
 * destroy it. */
CLY_API cly_status cly_replicas_train_batch(cly_replicas *r, const int32_t *labels, int64_t count, double *loss);

/* ---------------------------------------------------------------- parts
 *
 * Data parallelism across processes (ranks), over a transport the caller
 * supplies: libclayer makes no network call; libclayer_mpi
 * (clayer_mpi.h) gives MPI's. Every rank holds one net, compiled at the
 * micro-batch, and trains its share of each group batch: rank r takes
 * micro-batch r of it. The result is bit for bit that of the replica group
 * above and of one net at the micro-batch with accumulate = ranks x the
 * group's accumulate, fed the micro-batches in the same order: the batch
 * gradients of every rank reach every rank (gather_all) and each sums them
 * in rank order with the kernel cly_net_train_batch accumulates with; each
 * rank then takes the same optimiser step, so the parameters agree as long
 * as every rank runs the same kind of device and driver. Dropout masks are
 * those of pass (group pass + rank); batch-norm running statistics move
 * through the ranks in order (rank r receives rank r-1's after its
 * forward; after the step every rank holds the last rank's), which
 * staggers the forwards of a net with batch norm.
 *
 * Each callback returns 0, or non-zero after writing why it failed into
 * why[why_size] (a timeout names the wait): the library's message adds
 * the rank, the step and what was exchanged. The callbacks are collective
 * (gather_all, broadcast: every rank calls them in the same order) or
 * point to point (send, recv: blocking, matched in order). */
typedef struct cly_transport {
    void *user;     /* handed to every callback */
    int rank;       /* this process, in [0, ranks) */
    int ranks;      /* processes in the group, >= 1 */
    /* Every rank's `bytes` from `mine` into all[rank * bytes] on every rank. */
    int (*gather_all)(void *user, const void *mine, void *all, size_t bytes, char *why, size_t why_size);
    /* root's `bytes` at buf into every rank's buf. */
    int (*broadcast)(void *user, int root, void *buf, size_t bytes, char *why, size_t why_size);
    int (*send)(void *user, int to, const void *buf, size_t bytes, char *why, size_t why_size);
    int (*recv)(void *user, int from, void *buf, size_t bytes, char *why, size_t why_size);
} cly_transport;

/* Copy rank 0's parameters (batch-norm statistics included) to every rank,
 * for every rank to start from the same model (after
 * cly_net_init_params or loading on rank 0). Collective. Errors:
 * CLY_ERROR_INVALID_ARGUMENT (NULLs, a missing callback, rank outside
 * [0, ranks)), CLY_ERROR_IO (the transport failed: its message), and
 * CLY_ERROR_OPENCL. */
CLY_API cly_status cly_net_sync_part(cly_net *net, const cly_transport *t);

/* One group batch, of which this rank holds micro-batch t->rank: `count`
 * = the net's batch labels (its input set with cly_net_set_input). The net
 * must be set for training with accumulate = t->ranks x the group's
 * accumulate (a multiple of t->ranks); every rank calls it once per group
 * batch. *loss (may be NULL) gets the group batch's mean loss with the
 * weight-decay term, the same on every rank. Errors: those of
 * cly_net_train_batch; CLY_ERROR_INVALID_ARGUMENT (NULLs, a missing
 * callback, rank outside [0, ranks), accumulate not a multiple of ranks);
 * CLY_ERROR_IO when the transport fails, naming the rank, the update, the
 * exchange and the transport's reason. A failure after this rank's
 * gradients were summed leaves the net unusable. */
CLY_API cly_status cly_net_train_part(cly_net *net, const cly_transport *t, const int32_t *labels, int64_t count,
                                      double *loss);

/* ------------------------------------------------------------ profiling */

/* Time every layer on the device: while on, cly_net_forward and the training
 * calls enqueue an OpenCL marker at each layer boundary (the context's queue
 * has profiling enabled), and the calls below read the last pass's times.
 * Off by default; off, nothing extra is enqueued. Switching it off drops the
 * markers. Errors: CLY_ERROR_INVALID_ARGUMENT, CLY_ERROR_OUT_OF_HOST_MEMORY. */
CLY_API cly_status cly_net_set_profiling(cly_net *net, bool on);

/* Device times in milliseconds. Each is the time between the markers around
 * the work, so it includes any time the device sat idle while the host was
 * enqueuing that work (kernel builds on a first pass). */
typedef struct cly_layer_timing {
    double forward_ms;  /* the layer's forward in the last pass */
    double backward_ms; /* its backward in the last training batch; 0 after cly_net_forward */
} cly_layer_timing;

/* The layer at topological `index` (as cly_graph_layer_info) in the last
 * profiled pass; waits for that pass to finish. Errors:
 * CLY_ERROR_INVALID_ARGUMENT (NULL, index out of range, no profiled pass
 * yet), CLY_ERROR_OPENCL. */
CLY_API cly_status cly_net_layer_timing(cly_net *net, size_t index, cly_layer_timing *out);

typedef struct cly_pass_timing {
    double forward_ms;  /* every layer's forward */
    double loss_ms;     /* training: the loss and its gradient */
    double backward_ms; /* training: every layer's backward */
    double update_ms;   /* training: gradient accumulation and the optimiser step */
    double total_ms;    /* the sum */
} cly_pass_timing;

/* The whole last profiled pass, as for cly_net_layer_timing. */
CLY_API cly_status cly_net_pass_timing(cly_net *net, cly_pass_timing *out);

/* ------------------------------------------------------------- datasets */

/* Images as float32 NCHW scaled to [0, 1], labels as int32. */
typedef struct cly_dataset {
    int64_t count;
    int64_t c, h, w;
    int64_t classes;  /* 1 + the largest label */
    float *images;    /* count x c x h x w */
    int32_t *labels;  /* count */
} cly_dataset;

/* Read an IDX image file (magic 0x00000803, unsigned bytes) and its label
 * file (0x00000801), gzip-compressed or not. Magic numbers, counts and sizes
 * are validated against each other, against limits (10^8 images, 65536 rows
 * or columns, 2 GiB of pixels) and against the data actually in the files
 * (truncated data and trailing bytes are errors). A gzip file must be one
 * complete member: its compressed stream ended, its trailer's CRC-32 and
 * length matching the data, nothing after it (a concatenated gzip file is
 * refused by name). c is 1. Errors, each
 * message naming the file and the field: CLY_ERROR_IO (cannot open or read),
 * CLY_ERROR_INVALID_ARGUMENT (malformed), CLY_ERROR_SHAPE_MISMATCH (image
 * and label counts differ), CLY_ERROR_TOO_LARGE, CLY_ERROR_OUT_OF_HOST_MEMORY.
 * Free *out with cly_dataset_destroy. */
CLY_API cly_status cly_dataset_load_idx(const char *images_path, const char *labels_path, cly_dataset **out);
/* Fashion-MNIST from `dir` (NULL: /usr/share/datasets/fashion-mnist, from
 * Debian's dataset-fashion-mnist): the 60,000 training or 10,000 test images.
 * A missing directory says which package to install. */
CLY_API cly_status cly_dataset_load_fashion_mnist(const char *dir, bool train, cly_dataset **out);
CLY_API void cly_dataset_destroy(cly_dataset *d);

/* --------------------------------------------------------------- images */

/* A decoded image: 8-bit RGB, row-major, height x width x 3 bytes. */
typedef struct cly_image cly_image;

/* The largest image decoded: 65535 pixels a side, 2^26 pixels in all. */
#define CLY_IMAGE_SIDE_MAX 65535
#define CLY_IMAGE_PIXELS_MAX ((int64_t)1 << 26)

/* Decode a PNG (through libpng) or a JPEG (through libjpeg-turbo), told
 * apart by their magic bytes, not the file name, into 8-bit RGB as PIL's
 * Image.open(path).convert("RGB") gives it: greyscale replicated into R, G
 * and B; palettes expanded; alpha (and a PNG's tRNS) dropped without
 * compositing; 1-, 2- and 4-bit PNG samples scaled to 0..255. 16-bit PNG
 * samples keep their high byte, as PIL does for 16-bit RGB, RGBA and grey +
 * alpha; PIL clamps 16-bit greyscale (its mode "I") to 255 instead, which
 * whitens any sample over 255, so there the two differ. No gamma or colour
 * profile is applied (neither does PIL). CMYK and YCCK JPEGs are refused.
 * The file is untrusted. Errors, the message naming the file:
 * CLY_ERROR_IO (cannot open or read), CLY_ERROR_INVALID_ARGUMENT (neither
 * PNG nor JPEG, empty, truncated or corrupt), CLY_ERROR_UNSUPPORTED (CMYK or
 * YCCK JPEG), CLY_ERROR_TOO_LARGE (over the limits above; the file over 1
 * GiB), CLY_ERROR_OUT_OF_HOST_MEMORY. Destroy *out with cly_image_destroy. */
CLY_API cly_status cly_image_load(const char *path, cly_image **out);
/* The same from `size` bytes in memory (copied from, not kept); `name`
 * names the image in messages (NULL: "<memory>"). */
CLY_API cly_status cly_image_load_memory(const void *data, size_t size, const char *name, cly_image **out);
CLY_API void cly_image_destroy(cly_image *img);

/* Width and height in pixels (0 for NULL), and the pixels (NULL for NULL):
 * height x width x 3 bytes, R, G, B, rows top to bottom, valid while the
 * image lives. */
CLY_API int64_t cly_image_width(const cly_image *img);
CLY_API int64_t cly_image_height(const cly_image *img);
CLY_API const uint8_t *cly_image_pixels(const cly_image *img);

/* Resize to width x height with PIL's Image.resize(..., Image.BILINEAR),
 * pixel for pixel: a triangle filter whose support widens with the
 * downscale factor (so it antialiases), coefficients in 22-bit fixed point,
 * the horizontal pass first through an 8-bit intermediate image. Errors:
 * CLY_ERROR_INVALID_ARGUMENT (NULL, a size below 1), CLY_ERROR_TOO_LARGE
 * (over the limits above), CLY_ERROR_OUT_OF_HOST_MEMORY. */
CLY_API cly_status cly_image_resize(const cly_image *img, int64_t width, int64_t height, cly_image **out);

/* Preprocessing as torchvision's ImageNet evaluation transform on a PIL
 * image: Resize(resize), CenterCrop((crop_h, crop_w)), ToTensor(),
 * Normalize(mean, std). Zeros mean the defaults: resize 256, crop 224 x
 * 224; std all zero gives ImageNet's mean {0.485, 0.456, 0.406} and std
 * {0.229, 0.224, 0.225}, while a std given keeps the mean as given (zeros
 * included). */
typedef struct cly_preprocess {
    int64_t resize;         /* the shorter side becomes this; the longer int(resize * long / short) */
    int64_t crop_h, crop_w; /* centred, offsets int(round((H - crop_h) / 2.0)) (half to even);
                               a crop larger than the image pads with zeros as torchvision does */
    float mean[3], std[3];  /* per channel R, G, B: (pixel / 255 - mean) / std in float32 */
} cly_preprocess;

/* The image preprocessed into `count` = 3 x crop_h x crop_w floats, planes
 * R, G, B (CHW: one sample of cly_net_set_input's NCHW), the values
 * torchvision gives in float32. `p` NULL: every default. Errors:
 * CLY_ERROR_INVALID_ARGUMENT (NULL image or dst, a negative size, a std of
 * zero in a given std), CLY_ERROR_SHAPE_MISMATCH (count),
 * CLY_ERROR_TOO_LARGE (the resized image over the limits above),
 * CLY_ERROR_OUT_OF_HOST_MEMORY. */
CLY_API cly_status cly_image_preprocess(const cly_image *img, const cly_preprocess *p, float *dst, int64_t count);

/* ---------------------------------------------------------- model files */

/* Save the net's graph, parameters and BN statistics, and in training mode
 * the optimiser state and update count, to `path` (docs/model-format.md:
 * versioned, little-endian, checksummed). Written to a temp file, renamed.
 * Errors: CLY_ERROR_IO, CLY_ERROR_UNSUPPORTED (a graph the net format cannot
 * express, see cly_graph_to_text), CLY_ERROR_OPENCL,
 * CLY_ERROR_OUT_OF_HOST_MEMORY. */
CLY_API cly_status cly_net_save(const cly_net *net, const char *path);
/* Load a model file: a new graph and a net compiled from it on `ctx` with
 * `options` (batch, mode), its parameters (and optimiser state and update
 * count, when the file has them and the mode is training) restored. To
 * resume training, call cly_net_set_training with the optimiser the file
 * was saved with: it keeps the restored state. The file is untrusted:
 * every count, size and offset is checked against limits and the file size.
 * Destroy the net before the graph. Errors (the message names the file and
 * the field; *graph and *net are untouched): CLY_ERROR_IO, CLY_ERROR_INVALID_ARGUMENT
 * (malformed or corrupt file, a parameter array missing, duplicated or for
 * a layer the graph lacks), CLY_ERROR_SHAPE_MISMATCH (an array's count is
 * not the net's), CLY_ERROR_UNSUPPORTED (another format version), and those
 * of cly_graph_parse and cly_net_create. */
CLY_API cly_status cly_model_load(cly_context *ctx, const char *path, const cly_net_options *options,
                                  cly_graph **graph, cly_net **net);

/* Write a graph as net-file text (docs/net-format.md); parsing it gives the
 * same graph (same layers in the same order, so the same inference), and
 * writing that again gives the same bytes. Keys at their defaults are left
 * out. *text is malloc'd and NUL-terminated, *size excludes the NUL; free it
 * with free(). Errors: CLY_ERROR_INVALID_ARGUMENT (NULL, no layers),
 * CLY_ERROR_UNSUPPORTED (beyond the net-file limits: more than 100,000
 * layers, a line over 16384 bytes, more than 16 MiB),
 * CLY_ERROR_OUT_OF_HOST_MEMORY. */
CLY_API cly_status cly_graph_to_text(const cly_graph *g, char **text, size_t *size);

/* ----------------------------------------------------------------- ONNX */

/* Import of ONNX models (docs/onnx.md): the operators of opsets 7 to 17
 * that map onto clayer's layers (Conv, MaxPool, AveragePool, the global
 * pools, BatchNormalization, Relu, Clip(0, max) as ReLU6, LeakyRelu, LRN,
 * Gemm, MatMul + Add, Flatten and the reshapes that amount to one, Add,
 * Concat, Softmax, a zero Pad before a Conv or AveragePool, Dropout,
 * Identity, Constant and the shape arithmetic torch.onnx exports for a
 * flatten). Any
 * other operator, or an attribute value clayer cannot compute exactly, is
 * an error naming the node, its op type and the opset: never an
 * approximation. Layers are named after the ONNX nodes (or their first
 * output), with characters outside [A-Za-z0-9_./-] replaced by '_',
 * truncated to 63 and made unique. The file is untrusted: sizes, counts,
 * dims and tensor byte counts are checked against limits (2 GiB per file,
 * 100,000 nodes) before anything is allocated. */

/* The parameter arrays of an imported graph, per layer name and
 * cly_param_kind (the layouts of cly_net_set_param), held as doubles. */
typedef struct cly_weights cly_weights;

CLY_API void cly_weights_destroy(cly_weights *w);
/* Arrays held (layer, kind pairs). */
CLY_API size_t cly_weights_count(const cly_weights *w);
/* The index-th array: its layer (valid while `w` lives), kind, data and
 * element count. CLY_ERROR_INVALID_ARGUMENT past the end. */
CLY_API cly_status cly_weights_get(const cly_weights *w, size_t index, const char **layer, cly_param_kind *kind,
                                   const double **data, int64_t *count);

/* Set every array of `w` on `net` by layer name (cly_net_set_param_f64:
 * exact on a FLOAT64 context, rounded to float on a FLOAT32 one); `w` is
 * read, not kept. Every parameter array of the net must be in `w`. Errors
 * (naming the layer): CLY_ERROR_INVALID_ARGUMENT (a layer the net lacks, an
 * array the net needs but `w` lacks), CLY_ERROR_SHAPE_MISMATCH (an element
 * count other than the net's), CLY_ERROR_OPENCL. */
CLY_API cly_status cly_net_set_weights(cly_net *net, const cly_weights *w);

/* Import the ONNX model file `path` as a new graph (inferred at batch 1)
 * and its parameters. The graph's INPUT layer is the ONNX graph input that is not
 * an initializer (4-D, N x C x H x W, N fixed or symbolic); the layers of
 * the ONNX graph outputs are sinks of the graph. Tensor data stored outside
 * the file (data_location EXTERNAL) is read from files inside the model's
 * own folder only. Errors (the message names the file and, for a node, its
 * name or index, op type and opset; *graph and *weights untouched):
 * CLY_ERROR_IO, CLY_ERROR_INVALID_ARGUMENT (not a valid ONNX file, a limit,
 * inconsistent tensors or shapes), CLY_ERROR_UNSUPPORTED (an operator or
 * attribute value without a clayer equivalent), CLY_ERROR_OUT_OF_HOST_MEMORY. */
CLY_API cly_status cly_graph_import_onnx(const char *path, cly_graph **graph, cly_weights **weights);
/* The same from `size` bytes in memory (copied from, not kept); `source`
 * names them in messages (NULL: "<onnx>"). External tensor data is refused. */
CLY_API cly_status cly_graph_import_onnx_buffer(const void *data, size_t size, const char *source,
                                                cly_graph **graph, cly_weights **weights);

/* Import choices; NULL or zeros give the defaults. */
typedef struct cly_onnx_options {
    size_t struct_size;      /* sizeof(this struct) as compiled, or 0 (the first layout): see the top */
    /* Fold each BatchNormalization whose input is a Conv's output that
     * nothing else reads into that Conv's weights and bias (computed in
     * double, then set on the net): one pass over memory fewer at
     * inference, outputs equal up to rounding, and no batch norm left
     * there to train. Off by default: the BN stays a layer. */
    bool fold_batchnorm;
} cly_onnx_options;

/* cly_graph_import_onnx and cly_onnx_load with `opts`. */
CLY_API cly_status cly_graph_import_onnx_opts(const char *path, const cly_onnx_options *opts, cly_graph **graph,
                                              cly_weights **weights);
CLY_API cly_status cly_onnx_load_opts(cly_context *ctx, const char *path, const cly_onnx_options *opts,
                                      const cly_net_options *options, cly_graph **graph, cly_net **net);

/* Import `path` and compile it on `ctx` with `options` (batch, mode), the
 * parameters set: as cly_model_load does for model files. The layers of the
 * ONNX graph outputs stay readable (added to options->keep). Destroy the net
 * before the graph. Errors: those of cly_graph_import_onnx, cly_net_create
 * and cly_net_set_weights, each naming the file; *graph and *net untouched. */
CLY_API cly_status cly_onnx_load(cly_context *ctx, const char *path, const cly_net_options *options,
                                 cly_graph **graph, cly_net **net);


/* Export the net's graph and parameters as an ONNX model (opset 13, IR
 * version 7) that onnx.checker accepts (docs/onnx.md, "Export"). Each layer
 * becomes the operators that compute exactly what it computes: conv ->
 * Conv, a fused ReLU -> a Relu after it, relu -> Relu, Clip(0, max) or
 * LeakyRelu, pool -> MaxPool, AveragePool (count_include_pad, ceil_mode
 * where round=ceil needs it) or LpPool, lrn -> LRN, batchnorm ->
 * BatchNormalization with the running statistics, fc -> Flatten + Gemm
 * (transB 1), softmax -> Softmax over axis 1, dropout -> Dropout, add ->
 * Add, concat -> Concat, gap -> GlobalAveragePool, adaptive_avgpool ->
 * AveragePool where its bins are equal. Parameters are read back from the
 * device as float32 (FLOAT initializers named LAYER.weight, LAYER.bias,
 * LAYER.running_mean, LAYER.running_var), so cly_onnx_load of the file on
 * a FLOAT32 context gives the same parameters, bit for bit; the batch size
 * is symbolic ("N"); values and nodes are named after the layers. The file
 * is written to a temp file next to `path` and renamed: never left
 * partial. `net` is read, not changed. Errors: CLY_ERROR_INVALID_ARGUMENT
 * (NULL or empty argument), CLY_ERROR_UNSUPPORTED (a layer ONNX cannot
 * express exactly: a locally connected layer, a convolution rounded up, a
 * pooling whose round=ceil rounds one axis up and drops the other's last
 * window, L2 pooling rounded up, an even LRN window, a relu both bounded
 * and leaky, adaptive pooling with unequal bins; the message names the
 * layer and says why), CLY_ERROR_IO (the message names the path),
 * CLY_ERROR_OPENCL, CLY_ERROR_OUT_OF_HOST_MEMORY. */
CLY_API cly_status cly_net_export_onnx(const cly_net *net, const char *path);
/* The same into memory: *data (malloc'd, free it with free()) holds *size
 * bytes of ONNX model; both are untouched on failure. */
CLY_API cly_status cly_net_export_onnx_buffer(const cly_net *net, void **data, size_t *size);

/* ------------------------------------------------------- op-level API */

/* One layer as a primitive on the caller's tensors, outside any net, for a
 * framework that runs its own graph and autograd (as with cuDNN, MIOpen or
 * oneDNN primitives). Every layer type but INPUT has one, and each runs the
 * very code a net runs for that layer.
 *
 * A plan is one op configuration (the layer description and its input
 * shapes): created once, executed many times. Creation checks the
 * configuration (messages name the layer and show the arithmetic), infers
 * the output shape, chooses the convolution algorithm, and builds the
 * kernels (CLBlast builds its GEMM kernels on their first use), so an
 * execute call only checks its tensors and enqueues work. A plan holds no per-call
 * state: one plan may serve every layer of a net that shares its
 * configuration, and what a training forward keeps for its backward lives
 * in the caller's `reserve` tensor. A plan is used on its context's thread
 * only; destroy it before its context.
 *
 * Tensors are NCHW of the context's precision and must belong to the plan's
 * context. Parameter tensors may have any shape with the plan's count of
 * elements (cly_plan_info.param_count, layouts as for cly_net_set_param).
 * Every call enqueues on the context's queue in order and returns without
 * waiting; cly_tensor_read, cly_context_finish or an event from clayer_cl.h
 * waits. A call that fails (bad argument) has enqueued nothing. */
typedef struct cly_plan cly_plan;

/* The output shape of `layer` (cly_layer.inputs is ignored) on inputs of the
 * given shapes, all with the same n. No device needed. Errors:
 * CLY_ERROR_INVALID_ARGUMENT and CLY_ERROR_SHAPE_MISMATCH as for
 * cly_graph_add and cly_graph_infer, naming the layer; the detail is in
 * cly_last_error(NULL). */
CLY_API cly_status cly_op_output_shape(const cly_layer *layer, const cly_shape *inputs, size_t input_count,
                                       cly_shape *out);

/* Create a plan for `layer` on inputs of these shapes. mode: INFERENCE
 * (batch norm with its running statistics, dropout the identity; backward
 * then treats them as constants, the frozen form) or TRAINING (batch norm
 * normalises with the batch's statistics and updates the running ones,
 * dropout drops, max pooling records its switches: forward fills `reserve`
 * and backward reads it). layer->name names the op in messages (NULL: its
 * type's name); the layer is copied. A CONV layer's `algo` chooses as in a
 * net (AUTO: by shape and device). Max pooling's backward needs a TRAINING
 * plan (the switches). Errors: those of cly_op_output_shape, in
 * cly_last_error(ctx); CLY_ERROR_UNSUPPORTED (the requested algorithm cannot
 * run this shape: the message says why), CLY_ERROR_BUILD_FAILED,
 * CLY_ERROR_OPENCL, CLY_ERROR_OUT_OF_HOST_MEMORY. */
CLY_API cly_status cly_plan_create(cly_context *ctx, const cly_layer *layer, const cly_shape *inputs,
                                   size_t input_count, cly_mode mode, cly_plan **out);
CLY_API void cly_plan_destroy(cly_plan *plan);

typedef struct cly_plan_info {
    cly_layer_type type;
    cly_mode mode;
    size_t input_count;
    cly_shape output;
    int64_t param_count[4];    /* per cly_param_kind; 0: the op has no such array */
    int64_t reserve_elems;     /* TRAINING: the reserve tensor's minimum count (0: none needed) */
    int64_t workspace_elems;   /* the workspace that every call with alpha 1 and beta 0 needs */
    int64_t workspace_scaled_elems; /* ... and calls with any alpha and beta (scratch for the blend) */
    cly_conv_algo algo;        /* CONV: the forward algorithm chosen (backward follows it); else AUTO */
    const char *backward_data_method;    /* CONV: what backward_data runs ("flipped-direct", */
                                         /* "subpixel-direct", "col2im"), */
    const char *backward_weights_method; /* and backward_weights ("im2col+gemm_nt"); static; else NULL */
    int64_t flops;             /* multiply-adds x 2 of one forward, as in cly_layer_info */
} cly_plan_info;

CLY_API cly_status cly_plan_info_get(const cly_plan *plan, cly_plan_info *out);

/* The tensors of one call. Unused fields stay NULL (designated
 * initialisers). What each call reads and writes:
 *   forward           reads x, the parameters; writes y (and in TRAINING
 *                     the reserve, and batch norm's running mean and var)
 *   backward_data     reads dy, and x and y (ops with weights: the weights,
 *                     and y only with a fused ReLU; batch norm: x, scale
 *                     and the reserve or, INFERENCE, mean and var); writes
 *                     every non-NULL dx[i]
 *   backward_weights  reads dy, x (y with a fused ReLU; batch norm: as
 *                     above); writes dweights and dbias (batch norm: the
 *                     gradients of scale and shift)
 *   backward          both of the above in one call (ops without
 *                     parameters: backward_data)
 * Outputs must not overlap inputs or each other (ranges of one buffer and
 * sub-buffers of one buffer included), except that y may be x itself (the
 * same tensor, or the same range of the same cl_mem) for relu and dropout
 * (element-wise kernels) and softmax (one work-item per column reads it
 * before writing it), and dx[0] may be dy for relu, dropout, softmax and
 * batch norm. Every other op (conv, local, fc, pooling, LRN, batch norm's
 * forward, add, concat, ...) is refused in place. */
typedef struct cly_op_tensors {
    const cly_tensor *const *x; /* the op's inputs in order (add, concat: several) */
    size_t x_count;             /* = the plan's input_count */
    cly_tensor *y;              /* forward's output */
    const cly_tensor *dy;       /* the gradient arriving at y */
    cly_tensor *const *dx;      /* x_count gradients leaving towards x; a NULL entry skips that input */
    cly_tensor *weights;        /* conv, local, fc weights; batch norm scale */
    cly_tensor *bias;           /* their bias (NULL: none, when no_bias); batch norm shift */
    cly_tensor *mean, *var;     /* batch norm's running statistics */
    cly_tensor *dweights, *dbias; /* parameter gradients (dbias NULL: not wanted) */
    cly_tensor *reserve;        /* TRAINING: kept by forward for backward (>= reserve_elems) */
    cly_tensor *workspace;      /* scratch (>= the info's workspace count); NULL: the plan's own,
                                   allocated on first need and kept */
    uint64_t seed;              /* dropout mask, the same in forward and backward */
} cly_op_tensors;

/* out = alpha * result + beta * out, for every output the call writes
 * (beta 0: out is not read, so it may hold NaN; alpha 1 and beta 0 write
 * the result directly, other values go through workspace scratch).
 * Errors (nothing enqueued): CLY_ERROR_INVALID_ARGUMENT (NULL plan or
 * tensors, a required tensor missing, a tensor of another context, an
 * output overlapping an input, backward on an op with nothing to do),
 * CLY_ERROR_SHAPE_MISMATCH (a tensor of the wrong shape or count: the
 * message names the op, the tensor and both shapes), CLY_ERROR_OPENCL. */
CLY_API cly_status cly_plan_forward(cly_plan *plan, const cly_op_tensors *t, double alpha, double beta);
CLY_API cly_status cly_plan_backward_data(cly_plan *plan, const cly_op_tensors *t, double alpha, double beta);
CLY_API cly_status cly_plan_backward_weights(cly_plan *plan, const cly_op_tensors *t, double alpha, double beta);
CLY_API cly_status cly_plan_backward(cly_plan *plan, const cly_op_tensors *t, double alpha, double beta);

/* One forward without keeping a plan: cly_plan_create from the shapes of
 * t->x, cly_plan_forward, cly_plan_destroy (the kernels stay built in the
 * context). */
CLY_API cly_status cly_op_forward(cly_context *ctx, const cly_layer *layer, cly_mode mode, const cly_op_tensors *t,
                                  double alpha, double beta);

/* The built-in losses on class scores N x C x 1 x 1 (C >= 2) and `count` =
 * N int32 labels in [0, C), copied from host memory: `losses` (N elements,
 * or NULL) receives each sample's loss, `dscores` (the scores' shape, or
 * NULL) the gradient of the mean loss, scaled as dscores = alpha * grad +
 * beta * dscores. svm_margin: 0 means 1 (CLY_LOSS_SVM only). A label out of
 * range is CLY_ERROR_INVALID_ARGUMENT naming the sample. */
CLY_API cly_status cly_op_loss(cly_context *ctx, cly_loss loss, double svm_margin, const cly_tensor *scores,
                               const int32_t *labels, int64_t count, cly_tensor *losses, cly_tensor *dscores,
                               double alpha, double beta);

/* One optimiser update of a parameter tensor `w` from its gradient `g` and
 * its state (the same count each, one context, no overlaps), the kernels
 * and rules of cly_net_train_batch (see cly_train_params): SGD v = momentum
 * v + g + decay w; w -= lr * (nesterov ? g + momentum v : v) (`velocity`
 * may be NULL when momentum is 0); Adam at step t >= 1 with bias
 * corrections. */
CLY_API cly_status cly_op_sgd_step(cly_context *ctx, cly_tensor *w, const cly_tensor *g, cly_tensor *velocity,
                                   double lr, double momentum, bool nesterov, double weight_decay);
CLY_API cly_status cly_op_adam_step(cly_context *ctx, cly_tensor *w, const cly_tensor *g, cly_tensor *m,
                                    cly_tensor *v, double lr, double beta1, double beta2, double epsilon, int64_t t,
                                    double weight_decay);

/* ------------------------------------------------------------ autotuning
 *
 * `clayer tune` measures convolution configurations (algorithm, and for the
 * direct kernel vector width, register tile and work-group size) for each
 * shape on the context's device and stores the fastest in a tuning file
 * next to the binary cache (docs/tuning.md): DIR/tuning-<hash>.txt, the hash
 * of library version, platform, device name and driver version. A context
 * reads its device's file when it is created; CLY_CONV_AUTO then runs the
 * tuned configuration of a shape that has one, the built-in table's
 * otherwise. $CLAYER_TUNING=off ignores the file (reproducible runs); a
 * corrupt or foreign file is ignored with a warning. */

typedef struct cly_tune_options {
    size_t struct_size;      /* sizeof(this struct) as compiled, or 0 (the first layout): see the top */
    double budget_s; /* seconds for one shape, kernel builds included (0: 10); the search stops when spent */
    int runs;        /* device-timed runs per candidate, the median counts (0: 5) */
    bool allow_inexact; /* also try algorithms that are not exact (winograd); off: a tuned net computes
                           what the untuned one does, up to the summation order */
} cly_tune_options;

typedef struct cly_tune_result {
    char key[128];            /* the shape's key in the tuning file */
    char config[64];          /* the winner, "direct 16x6x4 wg8" or "im2col" */
    char default_config[64];  /* what the built-in table runs */
    double ms, default_ms;    /* their median device times */
    int candidates;           /* configurations timed */
    int rejected;             /* discarded: output differs from the default's, or failed to build or run */
    double seconds;           /* spent on this shape */
    bool already;             /* tuned earlier on this context: nothing measured, the earlier result */
} cly_tune_result;

/* Search the fastest configuration for a convolution of `params` on inputs
 * of shape `input` (N x C x H x W: the batch counts) on ctx's device, and
 * keep it in the context (used by nets compiled afterwards; saved by
 * cly_tuning_save). Every candidate's output is checked against the
 * default's on integer-valued data; a differing one is discarded. Errors:
 * CLY_ERROR_INVALID_ARGUMENT (bad params or shape), CLY_ERROR_UNSUPPORTED
 * (no algorithm runs the shape), CLY_ERROR_OPENCL, CLY_ERROR_BUILD_FAILED
 * and CLY_ERROR_TOO_LARGE from the default configuration. */
CLY_API cly_status cly_tune_conv(cly_context *ctx, cly_shape input, const cly_conv_params *params,
                                 const cly_tune_options *options, cly_tune_result *out);

/* Write the context's tuned entries (those read from its file, and those
 * cly_tune_conv found, which replace them) to the tuning file, atomically
 * (temp file and rename). CLY_ERROR_UNSUPPORTED when there is no file
 * (binary cache or tuning off), CLY_ERROR_IO. */
CLY_API cly_status cly_tuning_save(cly_context *ctx);

/* The context's tuning file path, or "" when it has none (read at creation;
 * the file need not exist). */
CLY_API const char *cly_context_tuning_path(const cly_context *ctx);

/* A CONV layer's input shape and parameters (defaults applied), for tools
 * that collect a graph's convolutions. Requires a successful
 * cly_graph_infer; CLY_ERROR_INVALID_ARGUMENT for another layer type. */
CLY_API cly_status cly_graph_layer_conv(const cly_graph *g, size_t index, cly_shape *input, cly_conv_params *params);

#ifdef __cplusplus
}
#endif

#endif /* CLAYER_H */
