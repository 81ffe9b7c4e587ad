/* The forward pass: each layer's op (through the op table) on views into
 * the arena, in topological order, all enqueued on the context's in-order
 * queue; a failure names the layer in inference and training alike. */
#include "net/net.h"
#include "net/net_profile.h"

#include <string.h>

cly_status cly_net_copy_value(const cly_net *net, size_t from, size_t to, int64_t count)
{
    cly_buf src = cly_net_value(net, from), dst = cly_net_value(net, to);
    if ((src.mem == dst.mem && src.offset == dst.offset) || net->ctx->build_only)
        return CLY_SUCCESS;
    size_t size = cly_real_size(net->ctx);
    cl_int err = clEnqueueCopyBuffer(net->ctx->queue, src.mem, dst.mem, (size_t)src.offset * size,
                                     (size_t)dst.offset * size, (size_t)count * size, 0, NULL, NULL);
    return err == CL_SUCCESS ? CLY_SUCCESS : cly_fail_cl(net->ctx, err, "copying a layer output");
}

cly_status cly_net_name_layer(const cly_net *net, size_t id, const char *pass, cly_status st)
{
    if (st == CLY_SUCCESS)
        return st;
    const char *err = cly_last_error(net->ctx);
    const char *name = net->graph->nodes[id].name;
    size_t len = strlen(name);
    /* The op named it already: "conv1: ..." or "conv1 (conv)...", not a
     * kernel's label that happens to start like the layer ("fc backward"). */
    if (strncmp(err, name, len) == 0 && (err[len] == ':' || strncmp(err + len, " (", 2) == 0))
        return st;
    return cly_fail(net->ctx, st, "%s (%s)%s%s: %s", name, cly_layer_type_string(net->graph->nodes[id].layer.type),
                    *pass ? " " : "", pass, err);
}

cly_status cly_net_run_layer(cly_net *net, size_t id)
{
    const cly_op *op = cly_op_of(net->graph->nodes[id].layer.type);
    /* A training forward of batch norm moves its running statistics: from
     * here a failure of the call must put them back (net_train.c). */
    if (net->training_pass && !net->bind && (op->flags & CLY_OP_NORM_PARAMS))
        net->stats_moved = true;
    return cly_net_name_layer(net, id, "", op->forward ? op->forward(net, id) : CLY_SUCCESS);
}

cly_status cly_net_run_forward(cly_net *net)
{
    for (size_t s = 0; s < net->graph->count; s++) {
        cly_status st = cly_net_profile_mark(net, cly_prof_forward(s));
        if (st == CLY_SUCCESS)
            st = cly_net_run_layer(net, net->graph->order[s]);
        if (st != CLY_SUCCESS)
            return st;
    }
    return cly_net_profile_mark(net, cly_prof_forward(net->graph->count));
}

cly_status cly_net_forward(cly_net *net)
{
    if (!net)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "cly_net_forward: net must not be NULL");
    cly_status s = cly_net_usable(net, "cly_net_forward");
    if (s != CLY_SUCCESS)
        return s;
    /* The inference form overwrites what a training forward left for
     * backward, and may reuse an input gradient's storage. */
    net->forward_ready = net->input_grads_ready = net->losses_ready = false;
    return cly_net_run_forward(net);
}
