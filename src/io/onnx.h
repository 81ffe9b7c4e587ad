/* ONNX import (docs/onnx.md), shared by its three files: onnx_import.c walks
 * the protobuf (limits, tensors, values, the node loop, the graph and
 * weights it produces), onnx_ops.c maps each operator onto clayer layers,
 * onnx_load.c sets the weights on a net. Only the first two include the
 * generated onnx.pb-c.h, through this header's ONNX_PB_TYPES guard. */
#ifndef CLY_IO_ONNX_H
#define CLY_IO_ONNX_H

#include "graph/graph.h"

#include <stdbool.h>
#include <stdint.h>

/* Limits on untrusted files, checked before anything is allocated. */
#define CLY_ONNX_FILE_MAX ((uint64_t)2 << 30)        /* 2 GiB per file */
#define CLY_ONNX_NODES_MAX CLY_NET_LAYERS_MAX         /* 100,000 */
#define CLY_ONNX_DEPTH_MAX 32                         /* message nesting */
#define CLY_ONNX_MESSAGES_MAX ((uint64_t)8 << 20)     /* protobuf messages in one file */
#define CLY_ONNX_UNPACKED_MAX ((uint64_t)6 << 30)     /* estimated bytes once unpacked */
#define CLY_ONNX_RANK_MAX 8
#define CLY_ONNX_DIM_MAX ((int64_t)1 << 40)
#define CLY_ONNX_TENSOR_MAX ((int64_t)1 << 32)       /* elements in one tensor */
#define CLY_ONNX_TOTAL_MAX ((int64_t)1 << 30)        /* elements in all tensors read */
#define CLY_ONNX_OPSET_MIN 7
#define CLY_ONNX_OPSET_MAX 17

/* The public cly_weights: arrays per (layer, kind), doubles. */
typedef struct cly_weights_array {
    char layer[64];
    cly_param_kind kind;
    int64_t count;
    double *data;
} cly_weights_array;

struct cly_weights {
    cly_weights_array *arrays;
    size_t count;
    size_t capacity;
    /* The layers of the ONNX graph outputs, for cly_onnx_load's keep list. */
    char (*outputs)[64];
    size_t output_count;
};

/* Append an array (takes `data`, freeing it on failure). */
cly_status cly_weights_add(cly_weights *w, const char *layer, cly_param_kind kind, double *data, int64_t count);

/* The import with external data read relative to `dir` (NULL: refused). */
cly_status cly_onnx_import(const void *data, size_t size, const char *source, const char *dir,
                           const cly_onnx_options *opts, cly_graph **graph, cly_weights **weights);

#ifdef ONNX_PB_TYPES

/* A constant tensor: FLOAT and DOUBLE held as doubles, INT64 as int64.
 * OX_BATCH in an int64 constant stands for the (symbolic) batch size, as
 * Shape gives it. */
#define OX_BATCH INT64_MIN
typedef struct ox_const {
    bool is_int;
    int rank;
    int64_t dims[CLY_ONNX_RANK_MAX];
    int64_t count;
    double *f;
    int64_t *i;
} ox_const;

typedef enum { OX_ACT = 1, OX_CONST, OX_LAZY } ox_kind;

/* A named ONNX value: an activation (the output of a pending layer, rank 2
 * or 4 as ONNX sees it, over the layer's per-sample c x h x w), a constant,
 * or an initializer not decoded yet. */
typedef struct ox_value {
    const char *name; /* points into the unpacked model */
    ox_kind kind;
    size_t layer;
    int rank;
    ox_const k;
    const Onnx__TensorProto *tensor; /* OX_LAZY */
    int64_t pad[4]; /* OX_ACT: zero padding (top, left, bottom, right) a Pad put on it, for Conv or AveragePool to fold */
} ox_value;

/* A layer to be added to the graph once every node is mapped. */
typedef struct ox_layer {
    cly_layer l;            /* type and parameters; name and inputs set at the end */
    char name[64];
    size_t *in;             /* input layers */
    size_t nin;
    double *param[4];       /* cly_param_kind arrays, owned */
    int64_t pcount[4];
    int64_t c, h, w;        /* output per sample, as tracked here */
    bool matmul;            /* an FC from MatMul whose bias an Add may still fill */
    size_t node;            /* the ONNX node, for messages */
} ox_layer;

/* A string -> index map (open addressing); keys are not owned. */
typedef struct ox_map {
    const char **keys;
    size_t *vals;
    size_t cap; /* power of two, or 0 */
    size_t count;
} ox_map;

typedef struct ox {
    const char *source;
    const char *dir;
    cly_onnx_options opts;
    int64_t opset;
    bool batch_fixed;
    int64_t batch; /* when fixed */
    const Onnx__GraphProto *graph;
    ox_value *values;
    size_t nvalues, capvalues;
    ox_map value_index; /* tensor name -> values[] */
    ox_map uses;        /* tensor name -> consumers (node inputs, graph outputs) */
    ox_layer *layers;
    size_t nlayers, caplayers;
    ox_map layer_names;
    int64_t total_elems;
    /* The node being mapped, for messages. */
    const Onnx__NodeProto *node;
    size_t node_index;
} ox;

/* onnx_import.c, for onnx_ops.c */
cly_status ox_fail(ox *st, cly_status s, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The value named `name` (NULL with a message when unknown). */
cly_status ox_get(ox *st, const char *name, ox_value **out);
/* An input of the current node as an activation or a constant. ox_act
 * refuses an activation with a pending Pad; ox_act_padded gives it. */
cly_status ox_act(ox *st, size_t input, ox_value **out);
cly_status ox_act_padded(ox *st, size_t input, ox_value **out);
bool ox_is_padded(const ox_value *v);
/* CLY_ERROR_UNSUPPORTED for an activation with a pending Pad, for readers
 * other than Conv and AveragePool. */
cly_status ox_no_pad(ox *st, const ox_value *v);
cly_status ox_const_in(ox *st, size_t input, const ox_const **out); /* NULL *out: absent optional input */
cly_status ox_const_from(ox *st, const Onnx__TensorProto *t, const char *what, ox_const *out);
void ox_const_free(ox_const *k);
/* Define the current node's output `output` as a new value (the name is the node's). */
cly_status ox_def_act(ox *st, size_t output, size_t layer, int rank);
cly_status ox_def_const(ox *st, size_t output, ox_const *k); /* takes k's arrays */
cly_status ox_alias(ox *st, size_t output, const ox_value *v);
/* A new pending layer of `type` named after the current node; *idx its index. */
cly_status ox_new_layer(ox *st, cly_layer_type type, const size_t *in, size_t nin, size_t *idx);
size_t ox_uses(const ox *st, const char *name);

/* onnx_ops.c: map the current node (st->node). */
cly_status ox_map_node(ox *st);
/* The operator list for messages. */
extern const char ox_supported_ops[];

#endif
#endif
