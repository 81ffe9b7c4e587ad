/* Per-layer device timing of a net (cly_net_set_profiling): a marker event
 * enqueued at every layer boundary of the forward pass, after the loss, at
 * every boundary of the backward pass and after the update. On the context's
 * in-order, profiling queue a marker ends when every command before it has,
 * so the difference of two markers' end times is the device time of what
 * was enqueued between them. With profiling off the net enqueues nothing
 * extra: the hook is one branch per layer. */
#ifndef CLY_NET_PROFILE_H
#define CLY_NET_PROFILE_H

#include "net/net.h"

/* Marker slots for a graph of n layers (topological positions 0..n-1). */
static inline size_t cly_prof_forward(size_t pos) { return pos; }               /* before layer pos; n: after the last */
static inline size_t cly_prof_loss(size_t n) { return n + 1; }                  /* after the loss */
static inline size_t cly_prof_backward(size_t n, size_t pos) { return n + 2 + pos; } /* after layer pos's backward */
static inline size_t cly_prof_update(size_t n) { return 2 * n + 2; }            /* after the update */
static inline size_t cly_prof_slots(size_t n) { return 2 * n + 3; }

/* Enqueue the marker of `slot`; slot 0 starts a new pass and drops the
 * previous pass's markers. */
cly_status cly_net_profile_mark_(cly_net *net, size_t slot);

static inline cly_status cly_net_profile_mark(cly_net *net, size_t slot)
{
    return net->prof ? cly_net_profile_mark_(net, slot) : CLY_SUCCESS;
}

/* Release the markers (cly_net_destroy, profiling switched off). */
void cly_net_profile_free(cly_net *net);

#endif
