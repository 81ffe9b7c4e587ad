/* The compiled net: its layout, which the ops (src/ops/) fill in at compile
 * time and read when they run, and the net code's entry points (net.c:
 * creation and planning; net_forward.c, net_train.c: the loops over the op
 * table; net_params.c: parameters, inputs, outputs). */
#ifndef CLY_NET_H
#define CLY_NET_H

#include "graph/graph.h"
#include "graph/op.h"
#include "net/memplan.h"
#include "kernels/kernels.h"

#define NET_PARAM_KINDS 4 /* cly_param_kind values */

/* A plan (src/plan/) runs the one op of a bare net (cly_net_create_bare) on
 * the caller's buffers: when a net has a binding, every buffer lookup below
 * reads it instead of the arena, parameter and workspace buffers. */
typedef struct cly_net_binding {
    cly_buf *values;                   /* per node: its output ({NULL}: not given) */
    cly_buf *grads;                    /* per node: the gradient at its output ({NULL}: not wanted) */
    cly_buf param[NET_PARAM_KINDS];    /* the op's parameter arrays */
    cly_buf param_grad[NET_PARAM_KINDS];
    cly_buf aux;                       /* the reserve: state a training forward keeps for backward */
    cly_buf workspace;
    bool param_grads;                  /* compute parameter gradients */
    bool frozen;                       /* an inference plan's backward: batch norm's statistics and
                                          dropout's identity are constants */
    uint64_t seed;                     /* dropout mask */
} cly_net_binding;

typedef struct net_layer {
    cly_conv_algo algo;
    cly_conv_geom conv;  /* CONV, LOCAL */
    cly_pool_geom pool;  /* POOL */
    bool in_place;       /* output shares its input's storage */
    bool fused_relu;     /* a following ReLU runs in this layer's epilogue */
    bool fused;          /* this ReLU runs inside its input's epilogue: nothing to do */
    bool needs_grad;     /* training: the last (or running) backward pass computes its output's gradient */
    bool grad_slot;      /* training plan: its output's gradient has storage (a gradient source depends on it) */
    bool grad_source;    /* training: a graph output, kept layer or the scores, whose gradient may come from
                            outside; its gradient's storage is never reused (readable after backward) */
    bool dy_set;         /* the caller set its gradient for the next cly_net_backward */
    bool kept;           /* named in options.keep: its output stays readable */
    int64_t aux_elems;   /* training: state kept from forward for backward (set by compile) */
    int64_t aux_offset;  /* ... and where it lives in net->aux: max pooling's argmax, BN batch statistics */
    int64_t workspace_elems; /* scratch its passes need (set by compile; one net->workspace serves all) */
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
    size_t scores_id;       /* node whose output holds the class scores, when has_scores */
    bool has_scores;        /* false for a graph of several outputs until cly_train_params.scores names one */
    bool loss_through_softmax; /* the graph ends in a softmax over the scores: its backward is the loss's */
    int64_t batches_seen;   /* in the current accumulation cycle */
    uint64_t passes;        /* training forward passes: varies dropout masks */
    bool training_pass;     /* the forward pass running now is a training one */
    bool input_grads;       /* compute gradients of INPUT layers too */
    bool loss_pass;         /* the backward running now starts from the built-in loss */
    /* What the last passes left readable (net_backward.c checks them): */
    bool forward_ready;     /* a training forward ran and no backward or plain forward has used its values since */
    bool backward_done;     /* needs_grad marks the gradients the last backward computed */
    bool input_grads_ready; /* INPUT gradients of the last backward, until the next forward */
    bool losses_ready;      /* net->losses of the last built-in loss, until the next forward */
    bool stats_ready;       /* net->aux holds a training forward's batch statistics */
    bool grads_pending;     /* net->grads hold gradients that no update has applied yet */
    /* Profiling (net_profile.c), after cly_net_set_profiling: one marker
     * per slot of net_profile.h, NULL where the last pass set none. */
    cl_event *prof;
    const cly_net_binding *bind; /* a plan's buffers, else NULL */
    /* A training call that fails puts back the batch-norm running
     * statistics its forward moved (saved before it, in bn_saved); one
     * that fails after it has changed state it cannot put back (some
     * parameters or optimiser state updated, a batch added to the
     * accumulated gradients) marks the net unusable rather than leave it
     * half changed. */
    cl_mem bn_saved;        /* each batchnorm layer's running mean and variance, in graph order */
    bool stats_moved;       /* the call running now has moved running statistics (bn_saved has them) */
    bool moved;             /* ... has changed state that cannot be put back */
    char unusable[1024];    /* why the net is unusable; "" while it is usable */
};

/* cly_net_create without the memory plan and buffers: every layer compiled
 * (geometry, algorithm, parameter, state and workspace sizes) for a plan to
 * run on bound buffers (net->bind). cly_net_destroy frees it. */
cly_status cly_net_create_bare(cly_context *ctx, cly_graph *g, const cly_net_options *opt, cly_net **out);
/* Training-mode plan: activations (plan[0, n)) live until their backward
 * step, gradients (plan[n, 2n)) from their first writer to their reader;
 * outputs, kept values and gradient sources to the end. Uses has_scores
 * and scores_id. */
cly_status cly_net_plan_training(cly_net *net);
/* The default scores node: the graph's only output, or its input when that
 * output is a softmax. false (with *outputs counted) when the graph has
 * several outputs. */
bool cly_net_default_scores(const cly_graph *g, size_t *id, bool *through_softmax, size_t *outputs);
/* Whether the caller listed `name` in cly_net_options.keep. */
bool cly_net_is_kept(const cly_net *net, const char *name);
/* The training form of the forward pass (batch statistics, dropout,
 * switches); records what it leaves readable. */
cly_status cly_net_training_forward(cly_net *net);
/* Backward over every layer in reverse topological order, from the
 * gradients the built-in loss (net->loss_pass) or the caller wrote;
 * consumes the caller's. */
cly_status cly_net_run_backward(cly_net *net);
/* cly_net_train_batch in parts, for replica groups (net/replicas.c): the
 * checks, labels, cleared gradients and the training forward; then the
 * loss and backward, leaving this batch's gradients in grads_batch (or
 * grads without accumulation), nothing summed or stepped. `who` names the
 * caller in messages. */
cly_status cly_net_micro_forward(cly_net *net, const char *who, const int32_t *labels, int64_t count);
cly_status cly_net_micro_backward(cly_net *net);
/* The sum of the last pass's per-sample losses, read back (waits). */
cly_status cly_net_loss_sum(cly_net *net, double *sum);
/* The weight-decay term decay/2 * sum |w|^2 of the current weights (waits). */
cly_status cly_net_decay_term(cly_net *net, double *out);
/* One optimiser step over net->grads; `k` batches were summed into them. */
cly_status cly_net_optimiser_step(cly_net *net, double k);
/* A new buffer laid out like the parameters, zeroed (the alignment gaps
 * between arrays stay 0): gradients and optimiser state. `caller` and
 * `what` name it in a failure's message; *out is set on success only. */
cly_status cly_net_zeroed_like_params(cly_net *net, const char *caller, const char *what, cl_mem *out);
/* CLY_SUCCESS, or a failure naming `what` when an earlier call left the
 * net unusable. */
cly_status cly_net_usable(const cly_net *net, const char *what);
/* The end of a training call `what` (which cleared stats_moved and moved
 * at its start): on a failure, put back the running statistics it moved;
 * if that fails too or it changed what cannot be put back, mark the net
 * unusable (the message says so). Returns s. */
cly_status cly_net_settle(cly_net *net, const char *what, cly_status s);
/* Before a training forward: copy the running statistics it will move into
 * net->bn_saved (made on first use), for cly_net_settle. */
cly_status cly_net_save_stats(cly_net *net, const char *what);
/* A device buffer of `elems` reals for the net (at least one), within the
 * device's largest allocation (CLY_ERROR_TOO_LARGE); `caller` and `what`
 * name it in a failure's message. */
cly_status cly_net_alloc(cly_net *net, const char *caller, int64_t elems, const char *what, cl_mem *out);
/* Name the layer `id` (and `pass`, "" for forward) in the failure `st`
 * unless its message already starts with the layer's name. */
cly_status cly_net_name_layer(const cly_net *net, size_t id, const char *pass, cly_status st);
/* Run one layer forward (training when net->training_pass); a failure's
 * message names the layer. */
cly_status cly_net_run_layer(cly_net *net, size_t id);
/* Every layer forward in topological order, with profiling markers. */
cly_status cly_net_run_forward(cly_net *net);
/* Copy `count` elements of one value into another (nothing when they share storage). */
cly_status cly_net_copy_value(const cly_net *net, size_t from, size_t to, int64_t count);
/* Run one layer's backward pass; pos[i] is node i's topological position.
 * The loss must have written the scores' gradient. */
cly_status cly_net_backward_layer(cly_net *net, size_t id, const int64_t *pos);

/* The dropout mask seed of layer id in the current training pass. */
static inline uint64_t cly_net_dropout_seed(const cly_net *net, size_t id)
{
    if (net->bind)
        return net->bind->seed;
    return net->train.seed ^ (0x9E3779B97F4A7C15ULL * (net->passes + 1)) ^ (0xD1B54A32D192ED03ULL * (id + 1));
}

static inline cly_buf cly_net_grad(const cly_net *net, size_t id)
{
    if (net->bind)
        return net->bind->grads[id];
    return (cly_buf){net->arena, net->plan[net->graph->count + id].offset};
}

const cly_node *cly_net_find_node(const cly_graph *g, const char *name);

/* ---- for the ops (src/ops/) */

static inline cly_buf cly_net_param(const cly_net *net, size_t id, cly_param_kind kind)
{
    if (net->bind)
        return net->bind->param[kind];
    return (cly_buf){net->params, net->layers[id].param_offset[kind]};
}
/* Where this batch's gradient of a parameter array goes. */
static inline cly_buf cly_net_param_grad(const cly_net *net, size_t id, cly_param_kind kind)
{
    if (net->bind)
        return net->bind->param_grad[kind];
    return (cly_buf){net->grads_batch ? net->grads_batch : net->grads, net->layers[id].param_offset[kind]};
}
static inline cly_buf cly_net_aux(const cly_net *net, size_t id, int64_t offset)
{
    if (net->bind)
        return (cly_buf){net->bind->aux.mem, net->bind->aux.offset + offset};
    return (cly_buf){net->aux, net->layers[id].aux_offset + offset};
}
static inline cly_buf cly_net_workspace(const cly_net *net)
{
    if (net->bind)
        return net->bind->workspace;
    return (cly_buf){net->workspace, 0};
}
/* The first input's id (the layer's own for an input layer), value and shape. */
static inline size_t cly_net_in0(const cly_net *net, size_t id)
{
    const cly_node *n = &net->graph->nodes[id];
    return n->layer.input_count ? n->input_ids[0] : id;
}
static inline cly_shape cly_net_in_shape(const cly_net *net, size_t id)
{
    return net->graph->nodes[cly_net_in0(net, id)].out;
}
/* Whether input k of layer id wants a gradient (the scores depend on it; an
 * input layer only when input gradients are asked for). If so, *dx is its
 * gradient and *beta 0 when this is its first writer, else 1 (accumulate);
 * if not, *dx = {NULL, 0}. pos: topological positions. */
bool cly_net_input_grad(const cly_net *net, size_t id, size_t k, const int64_t *pos, cly_buf *dx, float *beta);
/* Whether backward computes parameter gradients: always in a net; a plan
 * computing only the input gradient (backward-data) says no. */
static inline bool cly_net_wants_param_grads(const cly_net *net)
{
    return !net->bind || net->bind->param_grads;
}
/* Undo a fused ReLU on the gradient: dy *= (y > 0), in place. */
cly_status cly_net_unfuse_relu(cly_net *net, size_t id);

/* A node's output as a buffer view into the arena. */
static inline cly_buf cly_net_value(const cly_net *net, size_t id)
{
    if (net->bind)
        return net->bind->values[id];
    return (cly_buf){net->arena, net->plan[id].offset};
}

#endif
