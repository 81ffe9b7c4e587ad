/* The compiled net, shared by net.c (creation, planning), net_params.c
 * (parameters, inputs, outputs) and net_forward.c (execution). */
#ifndef CLY_NET_H
#define CLY_NET_H

#include "graph/graph.h"
#include "net/memplan.h"
#include "kernels/kernels.h"

#define NET_PARAM_KINDS 4 /* cly_param_kind values */

typedef struct net_layer {
    cly_conv_algo algo;
    cly_conv_geom conv;  /* CONV, LOCAL */
    cly_pool_geom pool;  /* POOL */
    bool in_place;       /* output shares its input's storage */
    bool fused_relu;     /* a following ReLU runs in this layer's epilogue */
    bool fused;          /* this ReLU runs inside its input's epilogue: nothing to do */
    bool needs_grad;     /* training: its output's gradient is computed */
    int64_t aux_offset;  /* training: argmax of max pooling, BN batch statistics (in net->aux) */
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
    cl_mem aux;             /* training: per-layer state kept from forward for backward */
    int64_t aux_elems;
    cl_mem grads_batch;     /* one batch's gradients when several are accumulated, else NULL */
    cl_mem labels, losses;  /* int32 labels and per-sample losses, batch each */
    size_t scores_id;       /* node whose output holds the class scores */
    bool loss_through_softmax; /* the graph ends in a softmax over the scores: its backward is the loss's */
    int64_t batches_seen;   /* in the current accumulation cycle */
    uint64_t passes;        /* training forward passes: varies dropout masks */
    bool training_pass;     /* the forward pass running now is a training one */
    bool input_grads;       /* compute gradients of INPUT layers too */
    /* Profiling (net_profile.c), after cly_net_set_profiling: one marker
     * per slot of net_profile.h, NULL where the last pass set none. */
    cl_event *prof;
};

/* Training-mode plan: activations (plan[0, n)) live until their backward
 * step, gradients (plan[n, 2n)) from their first writer to their reader. */
cly_status cly_net_plan_training(cly_net *net);
/* The default scores node: the graph's only output, or its input when that
 * output is a softmax. */
cly_status cly_net_default_scores(const cly_net *net, size_t *id, bool *through_softmax);
/* A new buffer laid out like the parameters, zeroed (the alignment gaps
 * between arrays stay 0): gradients and optimiser state. `caller` and
 * `what` name it in a failure's message. */
cly_status cly_net_zeroed_like_params(cly_net *net, const char *caller, const char *what, cl_mem *out);
/* Run one layer forward (training when net->training_pass). */
cly_status cly_net_run_layer(cly_net *net, size_t id);
/* Run one layer's backward pass; pos[i] is node i's topological position.
 * The loss must have written the scores' gradient. */
cly_status cly_net_backward_layer(cly_net *net, size_t id, const int64_t *pos);

/* The dropout mask seed of layer id in the current training pass. */
static inline uint64_t cly_net_dropout_seed(const cly_net *net, size_t id)
{
    return net->train.seed ^ (0x9E3779B97F4A7C15ULL * (net->passes + 1)) ^ (0xD1B54A32D192ED03ULL * (id + 1));
}

static inline cly_buf cly_net_grad(const cly_net *net, size_t id)
{
    return (cly_buf){net->arena, net->plan[net->graph->count + id].offset};
}

const cly_node *cly_net_find_node(const cly_graph *g, const char *name);

/* A node's output as a buffer view into the arena. */
static inline cly_buf cly_net_value(const cly_net *net, size_t id)
{
    return (cly_buf){net->arena, net->plan[id].offset};
}

#endif
