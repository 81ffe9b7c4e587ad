/* Replica groups: one context and net per device of a selector list, data
 * parallel. Exactness comes from doing the sum in the single-device path's
 * own arithmetic: each device's batch gradients are copied (bytes, through
 * the host) to device 0 and summed there by cly_grad_accumulate in device
 * order, device 0 steps, and its parameters are copied back out. Batch-norm
 * running statistics move through the micro-batches in order: device d
 * starts its forward from device d-1's statistics after that forward. */
#include "net/net.h"
#include "base/options.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* One batch-norm layer's running statistics: MEAN to the end of VAR. */
typedef struct stats_range {
    int64_t offset, count;
} stats_range;

struct cly_replicas {
    size_t count;
    cly_context *ctx[CLY_REPLICAS_MAX];
    cly_net *net[CLY_REPLICAS_MAX];
    int64_t micro;           /* samples per device */
    int64_t accumulate;      /* the group's batches per update (cly_train_params.accumulate) */
    int64_t seen;            /* group batches summed since the last update */
    uint64_t passes;         /* micro-batches trained: device d's dropout masks are pass passes + d */
    bool training;
    stats_range *stats;      /* every batch-norm layer's, in graph order */
    size_t stats_count;
    int64_t stats_elems;
    void *host;              /* staging for copies between devices: the parameters' reals */
    void *stats_host;        /* the running statistics on their way from one device to the next */
    char unusable[512];      /* why a failed step left the group unusable; "" while usable */
};

static const char who_create[] = "cly_replicas_create";

static cly_status usable(const cly_replicas *r, const char *who)
{
    if (!r)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: replicas must not be NULL", who);
    if (r->unusable[0])
        return cly_fail(r->ctx[0], CLY_ERROR_INVALID_ARGUMENT, "%s: the group is unusable (%s); destroy it", who,
                        r->unusable);
    return CLY_SUCCESS;
}

/* Copy `count` reals at element `offset` of `from`'s buffer into `to`'s
 * (the same layout on both), through r->host. Waits. */
static cly_status copy_reals(cly_replicas *r, size_t from, cl_mem src, size_t to, cl_mem dst, int64_t offset,
                             int64_t count, const char *what)
{
    size_t es = cly_real_size(r->ctx[from]);
    cl_int err = clEnqueueReadBuffer(r->ctx[from]->queue, src, CL_TRUE, (size_t)offset * es, (size_t)count * es,
                                     r->host, 0, NULL, NULL);
    if (err != CL_SUCCESS)
        return cly_fail_cl(r->ctx[from], err, "replicas: reading %s from device %zu", what, from);
    err = clEnqueueWriteBuffer(r->ctx[to]->queue, dst, CL_TRUE, (size_t)offset * es, (size_t)count * es, r->host, 0,
                               NULL, NULL);
    if (err != CL_SUCCESS)
        return cly_fail_cl(r->ctx[to], err, "replicas: writing %s to device %zu", what, to);
    return CLY_SUCCESS;
}

/* Read every batch-norm layer's statistics of device d into r->stats_host
 * (packed), or write them from there into device d. Waits. */
static cly_status move_stats(cly_replicas *r, size_t d, bool read)
{
    size_t es = cly_real_size(r->ctx[d]);
    char *host = r->stats_host;
    for (size_t i = 0; i < r->stats_count; i++) {
        const stats_range *st = &r->stats[i];
        cl_int err = read ? clEnqueueReadBuffer(r->ctx[d]->queue, r->net[d]->params, CL_FALSE, (size_t)st->offset * es,
                                                (size_t)st->count * es, host, 0, NULL, NULL)
                          : clEnqueueWriteBuffer(r->ctx[d]->queue, r->net[d]->params, CL_FALSE,
                                                 (size_t)st->offset * es, (size_t)st->count * es, host, 0, NULL, NULL);
        if (err != CL_SUCCESS)
            return cly_fail_cl(r->ctx[d], err, "replicas: %s the batch-norm statistics of device %zu",
                               read ? "reading" : "writing", d);
        host += (size_t)st->count * es;
    }
    cl_int err = clFinish(r->ctx[d]->queue);
    return err == CL_SUCCESS ? CLY_SUCCESS
                             : cly_fail_cl(r->ctx[d], err, "replicas: the batch-norm statistics of device %zu", d);
}

/* Every parameter array (statistics included) of device 0 onto the others. */
static cly_status broadcast_params(cly_replicas *r)
{
    cly_status s = CLY_SUCCESS;
    for (size_t d = 1; d < r->count && s == CLY_SUCCESS; d++)
        s = copy_reals(r, 0, r->net[0]->params, d, r->net[d]->params, 0, r->net[0]->param_elems, "the parameters");
    return s;
}

/* Split `selectors` at commas into trimmed entries, resolve each to a
 * device (idx[k] into *devs_out, which the caller frees with
 * cly_devices_free) and refuse duplicates. */
static cly_status resolve(const char *selectors, size_t *idx, size_t *count, cly_device_info **devs_out)
{
    if (!selectors)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: selectors must not be NULL", who_create);
    cly_device_info *devs = NULL;
    size_t ndev = 0;
    cly_status s = cly_devices_list(&devs, &ndev);
    if (s != CLY_SUCCESS)
        return s;
    size_t n = 0, len = strlen(selectors);
    const char *p = selectors;
    for (size_t pos = 0;; pos++) {
        const char *comma = strchr(p, ',');
        size_t l = comma ? (size_t)(comma - p) : strlen(p);
        while (l > 0 && isspace((unsigned char)*p))
            p++, l--;
        while (l > 0 && isspace((unsigned char)p[l - 1]))
            l--;
        char entry[256];
        if (l == 0) {
            s = cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT,
                         "%s: device %zu of the list '%s' is empty (want comma-separated selectors, e.g. 0:0,0:1)",
                         who_create, pos, selectors);
            break;
        }
        if (l >= sizeof entry) {
            s = cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: device %zu of the list is %zu characters (at most %zu)",
                         who_create, pos, l, sizeof entry - 1);
            break;
        }
        if (n == CLY_REPLICAS_MAX) {
            s = cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: more than %d devices in the list (%zu characters)",
                         who_create, CLY_REPLICAS_MAX, len);
            break;
        }
        memcpy(entry, p, l);
        entry[l] = '\0';
        if ((s = cly_device_select(devs, ndev, entry, &idx[n])) != CLY_SUCCESS) {
            s = cly_fail(NULL, s, "%s: device %zu of the list ('%s'): %s", who_create, pos, entry,
                         cly_last_error(NULL));
            break;
        }
        for (size_t k = 0; k < n && s == CLY_SUCCESS; k++)
            if (idx[k] == idx[n])
                s = cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT,
                             "%s: devices %zu and %zu of the list '%s' are both %u:%u (%s); a device may appear once",
                             who_create, k, pos, selectors, devs[idx[n]].platform_index, devs[idx[n]].device_index,
                             devs[idx[n]].name);
        if (s != CLY_SUCCESS)
            break;
        n++;
        if (!comma)
            break;
        p = comma + 1;
    }
    if (s != CLY_SUCCESS) {
        cly_devices_free(devs);
        return s;
    }
    *count = n;
    *devs_out = devs;
    return CLY_SUCCESS;
}

cly_status cly_replicas_create(const char *selectors, const cly_context_options *context_options, cly_graph *g,
                               const cly_net_options *options, cly_replicas **out)
{
    if (!g || !options || !out)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: graph, options and out must not be NULL", who_create);
    cly_context_options co = {0};
    cly_status s = context_options ? CLY_OPTIONS_COPY(NULL, &co, context_options, cly_context_options, no_tuning_file,
                                                      who_create)
                                   : CLY_SUCCESS;
    if (s != CLY_SUCCESS)
        return s;
    cly_net_options no;
    if ((s = CLY_OPTIONS_COPY(NULL, &no, options, cly_net_options, keep_count, who_create)) != CLY_SUCCESS)
        return s;
    size_t idx[CLY_REPLICAS_MAX], n = 0;
    cly_device_info *devs = NULL;
    if ((s = resolve(selectors, idx, &n, &devs)) != CLY_SUCCESS)
        return s;
    if (no.batch < 1 || no.batch % (int64_t)n != 0) {
        cly_devices_free(devs);
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT,
                        "%s: a batch of %lld does not split into %zu equal micro-batches (it must be a multiple of "
                        "the device count)",
                        who_create, (long long)no.batch, n);
    }
    cly_replicas *r = calloc(1, sizeof *r);
    if (!r) {
        cly_devices_free(devs);
        return cly_fail(NULL, CLY_ERROR_OUT_OF_HOST_MEMORY, "%s", who_create);
    }
    r->micro = no.batch / (int64_t)n;
    r->accumulate = 1;
    no.batch = r->micro;
    for (size_t d = 0; d < n && s == CLY_SUCCESS; d++) {
        char sel[64];
        snprintf(sel, sizeof sel, "%u:%u", devs[idx[d]].platform_index, devs[idx[d]].device_index);
        co.selector = sel;
        if ((s = cly_context_create_ex(&co, &r->ctx[d])) != CLY_SUCCESS) {
            s = cly_fail(NULL, s, "%s: device %zu (%s %s): %s", who_create, d, sel, devs[idx[d]].name,
                         cly_last_error(NULL));
            break;
        }
        r->count = d + 1;
        if ((s = cly_net_create(r->ctx[d], g, &no, &r->net[d])) != CLY_SUCCESS)
            s = cly_fail(NULL, s, "%s: device %zu (%s %s): %s", who_create, d, sel, devs[idx[d]].name,
                         cly_last_error(r->ctx[d]));
    }
    cly_devices_free(devs);
    const cly_net *net0 = s == CLY_SUCCESS ? r->net[0] : NULL;
    if (net0) {
        for (size_t id = 0; id < g->count; id++)
            if (cly_op_of(g->nodes[id].layer.type)->flags & CLY_OP_NORM_PARAMS)
                r->stats_count++;
        r->stats = calloc(r->stats_count ? r->stats_count : 1, sizeof *r->stats);
        size_t k = 0;
        for (size_t id = 0; id < g->count && r->stats; id++)
            if (cly_op_of(g->nodes[id].layer.type)->flags & CLY_OP_NORM_PARAMS) {
                const net_layer *L = &net0->layers[id];
                r->stats[k].offset = L->param_offset[CLY_PARAM_MEAN];
                r->stats[k].count = L->param_offset[CLY_PARAM_VAR] + L->param_count[CLY_PARAM_VAR] -
                                    L->param_offset[CLY_PARAM_MEAN];
                r->stats_elems += r->stats[k++].count;
            }
        int64_t elems = net0->param_elems;
        r->host = malloc((size_t)(elems > 0 ? elems : 1) * cly_real_size(r->ctx[0]));
        r->stats_host = malloc((size_t)(r->stats_elems > 0 ? r->stats_elems : 1) * cly_real_size(r->ctx[0]));
        if (!r->stats || !r->host || !r->stats_host)
            s = cly_fail(NULL, CLY_ERROR_OUT_OF_HOST_MEMORY, "%s: %lld parameters", who_create, (long long)elems);
    }
    if (s != CLY_SUCCESS) {
        cly_replicas_destroy(r);
        return s;
    }
    *out = r;
    return CLY_SUCCESS;
}

void cly_replicas_destroy(cly_replicas *r)
{
    if (!r)
        return;
    for (size_t d = 0; d < r->count; d++) {
        cly_net_destroy(r->net[d]);
        cly_context_destroy(r->ctx[d]);
    }
    free(r->stats);
    free(r->host);
    free(r->stats_host);
    free(r);
}

size_t cly_replicas_count(const cly_replicas *r)
{
    return r ? r->count : 0;
}

cly_net *cly_replicas_net(const cly_replicas *r, size_t index)
{
    return r && index < r->count ? r->net[index] : NULL;
}

cly_context *cly_replicas_context(const cly_replicas *r, size_t index)
{
    return r && index < r->count ? r->ctx[index] : NULL;
}

cly_status cly_replicas_init_params(cly_replicas *r, cly_init init, uint64_t seed)
{
    cly_status s = usable(r, "cly_replicas_init_params");
    if (s == CLY_SUCCESS && (s = cly_net_init_params(r->net[0], init, seed)) == CLY_SUCCESS)
        s = broadcast_params(r);
    return s;
}

cly_status cly_replicas_set_param(cly_replicas *r, const char *layer, cly_param_kind kind, const float *src,
                                  int64_t count)
{
    cly_status s = usable(r, "cly_replicas_set_param");
    for (size_t d = 0; d < (s == CLY_SUCCESS ? r->count : 0) && s == CLY_SUCCESS; d++)
        if ((s = cly_net_set_param(r->net[d], layer, kind, src, count)) != CLY_SUCCESS)
            s = cly_fail(r->ctx[0], s, "cly_replicas_set_param: device %zu: %s", d, cly_last_error(r->ctx[d]));
    return s;
}

cly_status cly_replicas_set_training(cly_replicas *r, const cly_train_params *p)
{
    cly_status s = usable(r, "cly_replicas_set_training");
    if (s != CLY_SUCCESS)
        return s;
    if (!p)
        return cly_fail(r->ctx[0], CLY_ERROR_INVALID_ARGUMENT, "cly_replicas_set_training: params must not be NULL");
    cly_train_params t;
    if ((s = CLY_OPTIONS_COPY(r->ctx[0], &t, p, cly_train_params, scores, "cly_replicas_set_training")) != CLY_SUCCESS)
        return s;
    if (t.accumulate < 0 || t.accumulate > INT64_MAX / (int64_t)CLY_REPLICAS_MAX)
        return cly_fail(r->ctx[0], CLY_ERROR_INVALID_ARGUMENT,
                        "cly_replicas_set_training: accumulate must be in [0, %lld] (got %lld)",
                        (long long)(INT64_MAX / CLY_REPLICAS_MAX), (long long)t.accumulate);
    int64_t a = t.accumulate ? t.accumulate : 1;
    /* Every device's net accumulates as one net would over all the
     * micro-batches: its batch gradients land in grads_batch, summed here. */
    t.accumulate = a * (int64_t)r->count;
    for (size_t d = 0; d < r->count; d++)
        if ((s = cly_net_set_training(r->net[d], &t)) != CLY_SUCCESS)
            return d == 0 ? s
                          : cly_fail(r->ctx[0], s, "cly_replicas_set_training: device %zu: %s", d,
                                     cly_last_error(r->ctx[d]));
    r->accumulate = a;
    r->seen = 0;
    r->training = true;
    return CLY_SUCCESS;
}

/* The INPUT or output layer `layer` and its per-device count, checked
 * against the group's `count`. */
static cly_status split_count(const cly_replicas *r, const char *who, const char *layer, int64_t count, int64_t *per)
{
    const cly_node *node = layer ? cly_net_find_node(r->net[0]->graph, layer) : NULL;
    if (!node)
        return cly_fail(r->ctx[0], CLY_ERROR_INVALID_ARGUMENT, "%s: no layer '%s'", who, layer ? layer : "(null)");
    if (count != node->activations * (int64_t)r->count)
        return cly_fail(r->ctx[0], CLY_ERROR_SHAPE_MISMATCH,
                        "%s: %s holds %lld values over %zu devices (%lld each), not %lld", who, layer,
                        (long long)(node->activations * (int64_t)r->count), r->count, (long long)node->activations,
                        (long long)count);
    *per = node->activations;
    return CLY_SUCCESS;
}

cly_status cly_replicas_set_input(cly_replicas *r, const char *layer, const float *src, int64_t count)
{
    static const char who[] = "cly_replicas_set_input";
    int64_t per = 0;
    cly_status s = usable(r, who);
    if (s == CLY_SUCCESS && !src)
        s = cly_fail(r->ctx[0], CLY_ERROR_INVALID_ARGUMENT, "%s: src must not be NULL", who);
    if (s == CLY_SUCCESS)
        s = split_count(r, who, layer, count, &per);
    for (size_t d = 0; d < (s == CLY_SUCCESS ? r->count : 0) && s == CLY_SUCCESS; d++)
        if ((s = cly_net_set_input(r->net[d], layer, src + (size_t)d * (size_t)per, per)) != CLY_SUCCESS)
            s = cly_fail(r->ctx[0], s, "%s: device %zu: %s", who, d, cly_last_error(r->ctx[d]));
    return s;
}

cly_status cly_replicas_forward(cly_replicas *r)
{
    cly_status s = usable(r, "cly_replicas_forward");
    /* Enqueued on every device before any is waited for: they run at once. */
    for (size_t d = 0; d < (s == CLY_SUCCESS ? r->count : 0) && s == CLY_SUCCESS; d++)
        if ((s = cly_net_forward(r->net[d])) != CLY_SUCCESS)
            s = cly_fail(r->ctx[0], s, "cly_replicas_forward: device %zu: %s", d, cly_last_error(r->ctx[d]));
    return s;
}

cly_status cly_replicas_get_output(const cly_replicas *r, const char *layer, float *dst, int64_t count)
{
    static const char who[] = "cly_replicas_get_output";
    int64_t per = 0;
    cly_status s = usable(r, who);
    if (s == CLY_SUCCESS && !dst)
        s = cly_fail(r->ctx[0], CLY_ERROR_INVALID_ARGUMENT, "%s: dst must not be NULL", who);
    if (s == CLY_SUCCESS)
        s = split_count(r, who, layer, count, &per);
    for (size_t d = 0; d < (s == CLY_SUCCESS ? r->count : 0) && s == CLY_SUCCESS; d++)
        if ((s = cly_net_get_output(r->net[d], layer, dst + (size_t)d * (size_t)per, per)) != CLY_SUCCESS)
            s = cly_fail(r->ctx[0], s, "%s: device %zu: %s", who, d, cly_last_error(r->ctx[d]));
    return s;
}

/* Name device d in a failure of its own context's call. */
static cly_status on_device(cly_replicas *r, size_t d, cly_status s)
{
    if (s == CLY_SUCCESS || r->count == 1)
        return s;
    return cly_fail(r->ctx[0], s, "device %zu: %s", d, cly_last_error(r->ctx[d]));
}

static cly_status train_step(cly_replicas *r, const int32_t *labels, double *loss)
{
    cly_net *n0 = r->net[0];
    double reg = 0, sum = 0;
    cly_status s = loss ? cly_net_decay_term(n0, &reg) : CLY_SUCCESS;
    /* Forwards in device order, each from the statistics the previous one
     * left; each device's backward is enqueued at once and runs meanwhile. */
    for (size_t d = 0; d < r->count && s == CLY_SUCCESS; d++) {
        cly_net *n = r->net[d];
        n->moved = n->stats_moved = false;
        n->passes = r->passes + d;
        if (d > 0 && r->stats_count)
            s = move_stats(r, d, false);
        if (s == CLY_SUCCESS)
            s = on_device(r, d, cly_net_micro_forward(n, "cly_replicas_train_batch", labels + (size_t)d * (size_t)r->micro,
                                                      r->micro));
        if (s == CLY_SUCCESS && r->stats_count)
            s = move_stats(r, d, true);
        if (s == CLY_SUCCESS)
            s = on_device(r, d, cly_net_micro_backward(n));
    }
    /* The sum on device 0 in device order, by the kernel and in the order
     * of one net accumulating. Without grads_batch (one device, no
     * accumulation) the gradient is already in grads. */
    for (size_t d = 0; d < r->count && s == CLY_SUCCESS; d++) {
        if (loss) {
            double part = 0;
            if ((s = on_device(r, d, cly_net_loss_sum(r->net[d], &part))) != CLY_SUCCESS)
                break;
            sum += part;
        }
        if (!n0->grads_batch)
            continue;
        if (d > 0 && (s = copy_reals(r, d, r->net[d]->grads_batch, 0, n0->grads_batch, 0, n0->param_elems,
                                     "the batch gradients")) != CLY_SUCCESS)
            break;
        cly_buf part = {n0->grads_batch, 0}, total = {n0->grads, 0};
        s = cly_grad_accumulate(r->ctx[0], n0->param_elems, part, total, r->seen > 0 || d > 0 ? 1.0f : 0.0f);
    }
    /* The last device's statistics are the group's. */
    for (size_t d = 0; d + 1 < r->count && r->stats_count && s == CLY_SUCCESS; d++)
        s = move_stats(r, d, false);
    if (s != CLY_SUCCESS)
        return s;
    r->passes += r->count;
    if (++r->seen == r->accumulate) {
        r->seen = 0;
        if ((s = cly_net_optimiser_step(n0, (double)(r->accumulate * (int64_t)r->count))) != CLY_SUCCESS ||
            (s = broadcast_params(r)) != CLY_SUCCESS)
            return s;
        for (size_t d = 0; d < r->count; d++) {
            r->net[d]->updates = n0->updates;
            r->net[d]->grads_pending = false;
        }
    }
    if (loss)
        *loss = sum / (double)(r->micro * (int64_t)r->count) + reg;
    return CLY_SUCCESS;
}

cly_status cly_replicas_train_batch(cly_replicas *r, const int32_t *labels, int64_t count, double *loss)
{
    static const char who[] = "cly_replicas_train_batch";
    cly_status s = usable(r, who);
    if (s != CLY_SUCCESS)
        return s;
    if (!r->training)
        return cly_fail(r->ctx[0], CLY_ERROR_INVALID_ARGUMENT, "%s: call cly_replicas_set_training first", who);
    if (!labels)
        return cly_fail(r->ctx[0], CLY_ERROR_INVALID_ARGUMENT, "%s: labels must not be NULL", who);
    if (count != r->micro * (int64_t)r->count)
        return cly_fail(r->ctx[0], CLY_ERROR_SHAPE_MISMATCH, "%s: %lld labels given for a batch of %lld (%zu x %lld)",
                        who, (long long)count, (long long)(r->micro * (int64_t)r->count), r->count,
                        (long long)r->micro);
    /* Labels are checked before any device starts, so a bad one leaves the group usable. */
    int64_t classes = r->net[0]->graph->nodes[r->net[0]->scores_id].out.c;
    for (int64_t i = 0; i < count && r->net[0]->has_scores; i++)
        if (labels[i] < 0 || labels[i] >= classes)
            return cly_fail(r->ctx[0], CLY_ERROR_INVALID_ARGUMENT, "%s: label %lld is %d, outside [0, %lld)", who,
                            (long long)i, (int)labels[i], (long long)classes);
    if (!r->net[0]->has_scores)
        return cly_net_micro_forward(r->net[0], who, labels, r->micro); /* says why there is no loss */
    if ((s = train_step(r, labels, loss)) != CLY_SUCCESS)
        snprintf(r->unusable, sizeof r->unusable, "a training batch failed: %.400s", cly_last_error(r->ctx[0]));
    return s;
}
