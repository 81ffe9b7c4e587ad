/* The layer graph as the library sees it: nodes with copied parameters, and
 * after cly_graph_infer their resolved inputs, shapes and costs. Graph code
 * makes no OpenCL call. */
#ifndef CLY_GRAPH_H
#define CLY_GRAPH_H

#include "clayer.h"

/* Most inputs one layer may name (add, concat); DenseNet's widest concat
 * has 33. Also the net-file parser's cap. */
#define CLY_GRAPH_MAX_INPUTS 256

/* Net-file limits, shared by the parser (netfile.c) and the writer
 * (netfile_write.c), which refuses a graph the parser would not read back. */
#define CLY_NET_TEXT_MAX ((size_t)16 << 20) /* bytes of text */
#define CLY_NET_LINE_MAX 16384              /* bytes per line */
#define CLY_NET_LAYERS_MAX 100000

typedef struct cly_node {
    cly_layer layer;     /* copied; layer.name and layer.inputs point at the copies below.
                            Defaults are applied by cly_graph_add: stride, dilation and
                            groups 0 -> 1, batchnorm epsilon 0 -> 1e-5, momentum 0 -> 0.1 */
    char *name;
    char **inputs;
    /* Filled by cly_graph_infer: */
    size_t *input_ids;   /* indices into cly_graph.nodes, one per input */
    cly_shape out;
    int64_t activations;
    int64_t weights;
    int64_t biases;
    int64_t flops;
    bool rounded;
    size_t consumers;    /* input references to this node's output (a layer naming it twice counts twice) */
    /* Added by the graph code: */
    size_t *consumer_ids; /* the consumers (node indices, ascending, repeats kept); points into
                             cly_graph.edges, valid until the next cly_graph_infer */
    bool in_place;       /* set by cly_graph_infer: a relu, dropout or softmax whose input is no
                            INPUT layer and feeds nothing else, so it may overwrite that input;
                            its output is not counted in the activation total */
    int line;            /* net-file line, 0 when added through the C API */
    const char *algo;    /* static name of the algorithm the executor chose; NULL prints "-" */
    char algo_text[64];  /* "" or, for a layer running a tuned configuration, that configuration
                            ("direct 16x6x4 wg8 (tuned)"): what tables print instead of algo */
} cly_node;

struct cly_graph {
    cly_node *nodes;     /* in insertion order */
    size_t count;
    size_t capacity;
    size_t *order;       /* topological order, filled by cly_graph_infer */
    int64_t batch;
    bool inferred;       /* cleared by every cly_graph_add */
    size_t nets;         /* live nets compiled from it: its shapes must not change under them */
    /* Added by the graph code: */
    size_t *index;       /* open-addressing name hash: node index + 1, 0 = empty slot */
    size_t index_capacity; /* a power of two, at least twice count */
    size_t *edges;       /* storage for every node's consumer_ids */
    char *source;        /* net-file name for messages (cly_graph_parse), else NULL */
    /* Totals of the last successful cly_graph_infer: */
    int64_t total_weights;
    int64_t total_biases;
    int64_t total_activations; /* in-place outputs excluded, inputs included */
    int64_t total_flops;
    int64_t bn_running;  /* running mean + variance values: buffers, not parameters */
};

/* ---- helpers shared by the graph files */

/* Index of the node called `name`, or -1. */
ptrdiff_t cly_graph_find(const cly_graph *g, const char *name);
/* True when `name` follows the naming rule: [A-Za-z0-9_./-], 1..63 chars. */
bool cly_name_valid(const char *name);
/* cly_fail(NULL, ...) with the message prefixed by "SOURCE:LINE: " when the
 * node came from a net file, and by "NAME: ". */
cly_status cly_node_fail(const cly_graph *g, const cly_node *n, cly_status s, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Thousands separators: 138357544 -> "138,357,544". Returns buf. */
char *cly_group_digits(int64_t v, char *buf, size_t size);

#endif
