/* Model files (docs/model-format.md): the byte format, parsed and written
 * without OpenCL (model_format.c), and the net save/load on top of it
 * (model_file.c). Split so that the untrusted-input half can be fuzzed and
 * tested without a device. */
#ifndef CLY_MODEL_FILE_H
#define CLY_MODEL_FILE_H

#include "graph/graph.h"

#define CLY_MODEL_MAGIC "CLAYERMD"
#define CLY_MODEL_VERSION 1u
#define CLY_MODEL_HEADER_SIZE 48
#define CLY_MODEL_SECTION_HEADER 16
#define CLY_MODEL_CHECKSUM 32 /* SHA-256 after each section and at the end */

enum { CLY_MODEL_GRAPH = 1, CLY_MODEL_PARAMS = 2, CLY_MODEL_OPTIMIZER = 3 };
#define CLY_MODEL_FLAG_OPTIMIZER 1u /* header flag: an OPTIMIZER section follows PARAMS */

/* Limits, checked before anything is allocated or read. */
#define CLY_MODEL_FILE_MAX ((uint64_t)16 << 30)  /* 16 GiB */
#define CLY_MODEL_ARRAYS_MAX (4 * CLY_NET_LAYERS_MAX) /* per section: 4 kinds per layer */
#define CLY_MODEL_ARRAY_MAX ((int64_t)1 << 32)   /* floats in one array */
#define CLY_MODEL_UPDATES_MAX ((int64_t)1 << 62)
#define CLY_MODEL_NAME_MAX 63
#define CLY_MODEL_KINDS 4 /* cly_param_kind values */

/* One parameter array (PARAMS) or its optimiser state (OPTIMIZER). */
typedef struct cly_model_array {
    char name[CLY_MODEL_NAME_MAX + 1]; /* the layer, NUL-terminated */
    uint32_t kind;                     /* cly_param_kind */
    int64_t count;                     /* floats, >= 1 */
    /* Little-endian float32 data, 8-byte aligned within the file: PARAMS in
     * data[0]; OPTIMIZER m in data[0], v in data[1] (moments == 2). When
     * writing, NULL means: ask cly_model.fetch. */
    const unsigned char *data[2];
    uint64_t offset;                   /* parse: the record's file offset, for messages */
    size_t user;                       /* write: passed through to fetch */
} cly_model_array;

typedef struct cly_model cly_model;
struct cly_model {
    const char *text; /* GRAPH: net-file text, not NUL-terminated */
    size_t text_size;
    cly_model_array *params;
    size_t param_count;
    bool has_optimizer;
    uint32_t optimizer; /* cly_optimizer */
    uint32_t moments;   /* 1: m only (SGD velocity), 2: m and v (Adam) */
    int64_t updates;
    cly_model_array *opt;
    size_t opt_count;
    /* write: fill `dst` with array a's data (count little-endian floats);
     * `opt` says which section, `which` which moment. */
    cly_status (*fetch)(void *user, const cly_model_array *a, bool opt, int which, unsigned char *dst);
    void *fetch_user;
};

/* Tests and the fuzzer only: skip the SHA-256 checks so that corrupt
 * structures reach the checks behind them. */
#define CLY_MODEL_NO_CHECKSUMS 1u

/* Validate `size` bytes as a model file and describe it in *out (arrays
 * point into `data`, which must outlive *out; tables are malloc'd: free
 * with cly_model_free). No OpenCL. Errors name `source` and the field:
 * CLY_ERROR_INVALID_ARGUMENT, CLY_ERROR_UNSUPPORTED (another format
 * version), CLY_ERROR_OUT_OF_HOST_MEMORY. */
cly_status cly_model_parse(const unsigned char *data, size_t size, const char *source, unsigned flags,
                           cly_model *out);
void cly_model_free(cly_model *m);

/* The element count of each node's arrays in an inferred graph
 * (expect[node][kind]), by the rule of the net: batchnorm has C of each
 * kind, other layers their weights and biases. For the fuzzer and tests;
 * the loader asks the compiled net. */
void cly_model_expected_counts(const cly_graph *g, int64_t (*expect)[CLY_MODEL_KINDS]);

/* Match the file's arrays to the graph's layers: slots[node*4 + kind]
 * (g->count * 4 entries, each section its own table; opt_slots may be NULL
 * when the model has no optimiser state) receive the array. Rejects a
 * layer not in the graph, a duplicate, a count other than expect[][], and
 * a missing array. */
cly_status cly_model_bind(const cly_model *m, const cly_graph *g, const int64_t (*expect)[CLY_MODEL_KINDS],
                          const char *source, const cly_model_array **slots, const cly_model_array **opt_slots);

/* Write *m to `path` through a temp file in the same directory, renamed
 * over `path` once complete and flushed. */
cly_status cly_model_write(const cly_model *m, const char *path);

/* Host floats to little-endian and back, in place (a no-op on
 * little-endian hosts). */
void cly_model_swap_le(void *data, int64_t count);

#endif
