/* The layer graph as the library sees it: nodes with copied parameters, and
 * after cly_graph_infer their resolved inputs, shapes and costs. Graph code
 * makes no OpenCL call. */
#ifndef CLY_GRAPH_H
#define CLY_GRAPH_H

#include "clayer.h"

typedef struct cly_node {
    cly_layer layer;     /* copied; layer.name and layer.inputs point at the copies below */
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
    size_t consumers;    /* layers reading this node's output */
    const char *algo;    /* static name of the algorithm that runs it, NULL: none chosen */
} cly_node;

struct cly_graph {
    cly_node *nodes;     /* in insertion order */
    size_t count;
    size_t capacity;
    size_t *order;       /* topological order, filled by cly_graph_infer */
    int64_t batch;
    bool inferred;       /* cleared by every cly_graph_add */
};

#endif
