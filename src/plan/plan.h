/* Plans: one op on the caller's tensors (the op-level API of clayer.h). A
 * plan is a bare net (cly_net_create_bare) over a graph of one INPUT layer
 * per operand and the op itself, so that every call runs the op's own
 * descriptor hooks, with the net's buffer lookups bound to the caller's
 * tensors (cly_net_binding). plan.c creates and describes plans,
 * plan_exec.c checks and runs the calls, plan_loss.c the losses. */
#ifndef CLY_PLAN_H
#define CLY_PLAN_H

#include "net/net.h"

struct cly_plan {
    cly_context *ctx;
    cly_mode mode;     /* the caller's; the bare net is compiled for training, which sizes
                          the backward workspaces (an INFERENCE plan has a backward too) */
    cly_graph *graph;  /* nodes 0 .. inputs-1: the operands; node `op`: the layer */
    cly_net *net;
    size_t inputs, op;
    int64_t *pos;      /* topological positions, for the backward hooks */
    cly_buf *values, *grads; /* the binding's per-node arrays */
    int64_t algo_ws;   /* the op's own workspace (net->workspace_elems) */
    int64_t in_elems;  /* all operands' elements */
    cl_mem own_ws;     /* the plan's workspace when the caller passes none */
    int64_t own_ws_elems;
};

/* Whether the op has weights (conv, local, fc) or is batch norm's
 * scale-and-shift: its backward splits into data and parameters. */
static inline bool cly_plan_has_params(const cly_plan *p)
{
    return p->net->layers[p->op].param_count[CLY_PARAM_WEIGHTS] > 0;
}
/* The op's output fused a ReLU (conv, local, fc with relu). */
bool cly_plan_fused_relu(const cly_plan *p);
/* Workspace elements a call needs: scaled when alpha != 1 or beta != 0. */
int64_t cly_plan_workspace_need(const cly_plan *p, bool scaled);

/* Run every call once in build-only mode (ctx->build_only) on placeholder
 * buffers: the kernels are built and the algorithms' choices made, nothing
 * is enqueued (plan_exec.c). */
cly_status cly_plan_build_kernels(cly_plan *p);

#endif
