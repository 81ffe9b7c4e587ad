/* Data parallelism across processes over a caller's transport (clayer.h,
 * "parts"). Exactness as in replicas.c: the sum is done in the single-net
 * path's own arithmetic. Each rank's batch gradients (the device's bytes)
 * go to every rank, and every rank sums them in rank order on its device
 * with cly_grad_accumulate, as one net accumulating over the micro-batches
 * would, then steps. No MPI here: the transport's callbacks carry bytes. */
#include "net/net.h"

#include <stdlib.h>
#include <string.h>

typedef struct part_step {
    cly_net *net;
    const cly_transport *t;
    const char *who;
    size_t es;           /* bytes per device real */
    int64_t stats_elems; /* every batch-norm layer's running statistics, packed */
    void *stats;         /* stats_elems reals */
} part_step;

static cly_status check_transport(const cly_net *net, const cly_transport *t, const char *who)
{
    if (!net || !t)
        return cly_fail(net ? net->ctx : NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: net and transport must not be NULL",
                        who);
    if (!t->gather_all || !t->broadcast || !t->send || !t->recv)
        return cly_fail(net->ctx, CLY_ERROR_INVALID_ARGUMENT,
                        "%s: the transport lacks a callback (gather_all %s, broadcast %s, send %s, recv %s)", who,
                        t->gather_all ? "set" : "NULL", t->broadcast ? "set" : "NULL", t->send ? "set" : "NULL",
                        t->recv ? "set" : "NULL");
    if (t->ranks < 1 || t->rank < 0 || t->rank >= t->ranks)
        return cly_fail(net->ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: rank %d is outside [0, %d)", who, t->rank, t->ranks);
    return cly_net_usable(net, who);
}

/* A transport failure as CLY_ERROR_IO naming the rank, the update and the
 * exchange. */
static cly_status transport_failed(const part_step *p, const char *what, size_t bytes, const char *why)
{
    return cly_fail(p->net->ctx, CLY_ERROR_IO, "%s: rank %d of %d, update %lld: %s (%zu bytes): %s", p->who, p->t->rank,
                    p->t->ranks, (long long)p->net->updates, what, bytes, why[0] ? why : "(no reason given)");
}

/* Read (or write) every batch-norm layer's running statistics, packed in
 * graph order, from (into) the net's parameters. Waits. */
static cly_status move_stats(part_step *p, bool read)
{
    cly_net *net = p->net;
    char *host = p->stats;
    for (size_t id = 0; id < net->graph->count; id++) {
        if (!(cly_op_of(net->graph->nodes[id].layer.type)->flags & CLY_OP_NORM_PARAMS))
            continue;
        const net_layer *L = &net->layers[id];
        int64_t off = L->param_offset[CLY_PARAM_MEAN];
        size_t bytes = (size_t)(L->param_offset[CLY_PARAM_VAR] + L->param_count[CLY_PARAM_VAR] - off) * p->es;
        cl_int err = read ? clEnqueueReadBuffer(net->ctx->queue, net->params, CL_FALSE, (size_t)off * p->es, bytes,
                                                host, 0, NULL, NULL)
                          : clEnqueueWriteBuffer(net->ctx->queue, net->params, CL_FALSE, (size_t)off * p->es, bytes,
                                                 host, 0, NULL, NULL);
        if (err != CL_SUCCESS)
            return cly_fail_cl(net->ctx, err, "%s: %s the batch-norm statistics", p->who, read ? "reading" : "writing");
        host += bytes;
    }
    cl_int err = clFinish(net->ctx->queue);
    return err == CL_SUCCESS ? CLY_SUCCESS : cly_fail_cl(net->ctx, err, "%s: the batch-norm statistics", p->who);
}

static int64_t count_stats(const cly_net *net)
{
    int64_t n = 0;
    for (size_t id = 0; id < net->graph->count; id++)
        if (cly_op_of(net->graph->nodes[id].layer.type)->flags & CLY_OP_NORM_PARAMS) {
            const net_layer *L = &net->layers[id];
            n += L->param_offset[CLY_PARAM_VAR] + L->param_count[CLY_PARAM_VAR] - L->param_offset[CLY_PARAM_MEAN];
        }
    return n;
}

cly_status cly_net_sync_part(cly_net *net, const cly_transport *t)
{
    static const char who[] = "cly_net_sync_part";
    cly_status s = check_transport(net, t, who);
    if (s != CLY_SUCCESS)
        return s;
    part_step p = {.net = net, .t = t, .who = who, .es = cly_real_size(net->ctx)};
    size_t bytes = (size_t)net->param_elems * p.es;
    void *host = malloc(bytes ? bytes : 1);
    if (!host)
        return cly_fail(net->ctx, CLY_ERROR_OUT_OF_HOST_MEMORY, "%s: %zu bytes of parameters", who, bytes);
    cl_int err = clEnqueueReadBuffer(net->ctx->queue, net->params, CL_TRUE, 0, bytes, host, 0, NULL, NULL);
    if (err != CL_SUCCESS)
        s = cly_fail_cl(net->ctx, err, "%s: reading the parameters", who);
    char why[512] = "";
    if (s == CLY_SUCCESS && t->broadcast(t->user, 0, host, bytes, why, sizeof why) != 0)
        s = transport_failed(&p, "broadcasting rank 0's parameters", bytes, why);
    if (s == CLY_SUCCESS && t->rank != 0 &&
        (err = clEnqueueWriteBuffer(net->ctx->queue, net->params, CL_TRUE, 0, bytes, host, 0, NULL, NULL)) !=
            CL_SUCCESS)
        s = cly_fail_cl(net->ctx, err, "%s: writing the parameters", who);
    free(host);
    return s;
}

/* What one rank sends in the gradient exchange: its batch gradients (the
 * device's reals, as bytes) and then its micro-batch's loss sum. */
static cly_status exchange_and_sum(part_step *p, char *mine, char *all, size_t grad_bytes, bool first_of_cycle)
{
    cly_net *net = p->net;
    const cly_transport *t = p->t;
    size_t slot = grad_bytes + sizeof(double);
    cl_mem part = net->grads_batch ? net->grads_batch : net->grads;
    cl_int err = clEnqueueReadBuffer(net->ctx->queue, part, CL_TRUE, 0, grad_bytes, mine, 0, NULL, NULL);
    if (err != CL_SUCCESS)
        return cly_fail_cl(net->ctx, err, "%s: reading the batch gradients", p->who);
    char why[512] = "";
    if (t->gather_all(t->user, mine, all, slot, why, sizeof why) != 0)
        return transport_failed(p, "exchanging the batch gradients", slot * (size_t)t->ranks, why);
    if (!net->grads_batch) /* one rank, no accumulation: grads already hold the
                              only part */
        return CLY_SUCCESS;
    cly_buf bpart = {net->grads_batch, 0}, total = {net->grads, 0};
    for (int r = 0; r < t->ranks; r++) {
        /* In order on the queue: each write lands after the previous sum read the
         * buffer. */
        err = clEnqueueWriteBuffer(net->ctx->queue, net->grads_batch, CL_FALSE, 0, grad_bytes, all + (size_t)r * slot,
                                   0, NULL, NULL);
        if (err != CL_SUCCESS)
            return cly_fail_cl(net->ctx, err, "%s: writing rank %d's batch gradients", p->who, r);
        cly_status s =
            cly_grad_accumulate(net->ctx, net->param_elems, bpart, total, first_of_cycle && r == 0 ? 0.0f : 1.0f);
        if (s != CLY_SUCCESS)
            return cly_fail(net->ctx, s, "%s: summing rank %d's gradients: %s", p->who, r, cly_last_error(net->ctx));
        net->moved = true; /* the cycle's sum has this batch */
    }
    err = clFinish(net->ctx->queue); /* `all` must outlive the writes */
    return err == CL_SUCCESS ? CLY_SUCCESS : cly_fail_cl(net->ctx, err, "%s: summing the gradients", p->who);
}

static cly_status train_part(part_step *p, const int32_t *labels, int64_t count, double *loss)
{
    cly_net *net = p->net;
    const cly_transport *t = p->t;
    const int rank = t->rank, ranks = t->ranks;
    char why[512] = "";
    double reg = 0;
    cly_status s = loss ? cly_net_decay_term(net, &reg) : CLY_SUCCESS;
    if (s != CLY_SUCCESS)
        return s;
    size_t stats_bytes = (size_t)p->stats_elems * p->es;
    uint64_t base = net->passes;
    net->passes = base + (uint64_t)rank; /* the dropout masks of micro-batch `rank` */
    if (stats_bytes && rank > 0) {
        if (t->recv(t->user, rank - 1, p->stats, stats_bytes, why, sizeof why) != 0)
            return transport_failed(p, "receiving the batch-norm statistics of the rank before", stats_bytes, why);
        if ((s = move_stats(p, false)) != CLY_SUCCESS)
            return s;
    }
    if ((s = cly_net_micro_forward(net, p->who, labels, count)) != CLY_SUCCESS)
        return s;
    if (stats_bytes && rank + 1 < ranks) {
        if ((s = move_stats(p, true)) != CLY_SUCCESS)
            return s;
        if (t->send(t->user, rank + 1, p->stats, stats_bytes, why, sizeof why) != 0)
            return transport_failed(p, "sending the batch-norm statistics to the next rank", stats_bytes, why);
    }
    if ((s = cly_net_micro_backward(net)) != CLY_SUCCESS)
        return s;
    double part_loss = 0;
    if ((s = cly_net_loss_sum(net, &part_loss)) != CLY_SUCCESS)
        return s;
    size_t grad_bytes = (size_t)net->param_elems * p->es, slot = grad_bytes + sizeof(double);
    char *mine = malloc(slot), *all = malloc(slot * (size_t)ranks);
    if (!mine || !all) {
        free(mine);
        free(all);
        return cly_fail(net->ctx, CLY_ERROR_OUT_OF_HOST_MEMORY, "%s: %d x %zu bytes for the gradient exchange", p->who,
                        ranks, slot);
    }
    memcpy(mine + grad_bytes, &part_loss, sizeof part_loss);
    s = exchange_and_sum(p, mine, all, grad_bytes, net->batches_seen == 0);
    double sum = 0;
    for (int r = 0; r < ranks && s == CLY_SUCCESS; r++) { /* in rank order, as replicas sum devices */
        double v;
        memcpy(&v, all + (size_t)r * slot + grad_bytes, sizeof v);
        sum += v;
    }
    free(mine);
    free(all);
    if (s != CLY_SUCCESS)
        return s;
    /* The last rank's statistics are the group's. */
    if (stats_bytes && ranks > 1) {
        if (rank == ranks - 1 && (s = move_stats(p, true)) != CLY_SUCCESS)
            return s;
        if (t->broadcast(t->user, ranks - 1, p->stats, stats_bytes, why, sizeof why) != 0)
            return transport_failed(p, "broadcasting the last rank's batch-norm statistics", stats_bytes, why);
        if (rank != ranks - 1 && (s = move_stats(p, false)) != CLY_SUCCESS)
            return s;
    }
    net->passes = base + (uint64_t)ranks;
    if (++net->batches_seen == net->train.accumulate / ranks) {
        net->batches_seen = 0;
        if ((s = cly_net_optimiser_step(net, (double)net->train.accumulate)) != CLY_SUCCESS)
            return s;
        net->grads_pending = false;
    }
    if (loss)
        *loss = sum / (double)(count * (int64_t)ranks) + reg;
    return CLY_SUCCESS;
}

cly_status cly_net_train_part(cly_net *net, const cly_transport *t, const int32_t *labels, int64_t count, double *loss)
{
    static const char who[] = "cly_net_train_part";
    cly_status s = check_transport(net, t, who);
    if (s != CLY_SUCCESS)
        return s;
    if (!net->training)
        return cly_fail(net->ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: call cly_net_set_training first", who);
    if (net->train.accumulate % t->ranks != 0)
        return cly_fail(net->ctx, CLY_ERROR_INVALID_ARGUMENT,
                        "%s: the net accumulates %lld batches, not a multiple of the %d ranks (set "
                        "cly_train_params.accumulate to ranks x the group's accumulate)",
                        who, (long long)net->train.accumulate, t->ranks);
    part_step p = {.net = net, .t = t, .who = who, .es = cly_real_size(net->ctx), .stats_elems = count_stats(net)};
    p.stats = malloc(p.stats_elems > 0 ? (size_t)p.stats_elems * p.es : 1);
    if (!p.stats)
        return cly_fail(net->ctx, CLY_ERROR_OUT_OF_HOST_MEMORY, "%s: %lld batch-norm statistics", who,
                        (long long)p.stats_elems);
    net->moved = net->stats_moved = false;
    bool pending = net->grads_pending;
    uint64_t passes = net->passes;
    s = cly_net_settle(net, who, train_part(&p, labels, count, loss));
    if (s != CLY_SUCCESS && !net->unusable[0]) { /* as before the call */
        net->grads_pending = pending;
        net->passes = passes;
    }
    free(p.stats);
    return s;
}
