/* The compiled net, shared by net.c (creation, planning), net_params.c
 * (parameters, inputs, outputs) and net_forward.c (execution). */
#ifndef CLY_NET_H
#define CLY_NET_H

#include "graph.h"
#include "memplan.h"
#include "ops.h"

#define NET_PARAM_KINDS 4 /* cly_param_kind values */

typedef struct net_layer {
    cly_conv_algo algo;
    cly_conv_geom conv;  /* CONV, LOCAL */
    cly_pool_geom pool;  /* POOL */
    bool in_place;       /* output shares its input's storage */
    bool fused_relu;     /* a following ReLU runs in this layer's epilogue */
    bool fused;          /* this ReLU runs inside its input's epilogue: nothing to do */
    int64_t param_offset[NET_PARAM_KINDS]; /* elements into cly_net.params */
    int64_t param_count[NET_PARAM_KINDS];
} net_layer;

struct cly_net {
    cly_context *ctx;
    cly_graph *graph;
    cly_net_options options; /* keep[] owned */
    net_layer *layers;       /* indexed like graph->nodes */
    cly_plan_value *plan;    /* indexed like graph->nodes: each output's place in the arena */
    cl_mem arena, params, workspace;
    int64_t arena_elems, param_elems, workspace_elems;
    int64_t activation_elems, largest_elems;
    /* Training (net_train.c), after cly_net_set_training: */
    bool training;
    cly_train_params train; /* scores points at scores_name */
    char *scores_name;
    cl_mem grads;           /* parameter gradients, laid out like params */
    cl_mem opt_m, opt_v;    /* optimiser state like params: SGD velocity in opt_m;
                               Adam first and second moments */
    int64_t updates;        /* optimiser steps taken */
};

const cly_node *cly_net_find_node(const cly_graph *g, const char *name);

/* A node's output as a buffer view into the arena. */
static inline cly_buf cly_net_value(const cly_net *net, size_t id)
{
    return (cly_buf){net->arena, net->plan[id].offset};
}

#endif
