/* Saving a net to a model file and loading one back (docs/model-format.md).
 * The byte format itself, and every check of untrusted input, is in
 * model_format.c; this file moves arrays between it and the device.
 *
 * Arrays are keyed by layer name and kind, not by their place in
 * cly_net.params, so the buffer layout may change without breaking files. */
#include "io/file_read.h"
#include "io/model_file.h"
#include "net/net.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const optimizer_names[] = {"SGD", "Adam"};

/* ---- save */

/* Read one array from the device into `dst`, little-endian. */
static cly_status fetch(void *user, const cly_model_array *a, bool opt, int which, unsigned char *dst)
{
    const cly_net *net = user;
    cl_mem buf = !opt ? net->params : which == 0 ? net->opt_m : net->opt_v;
    int64_t offset = net->layers[a->user].param_offset[a->kind];
    /* Files hold float32 whatever the context's precision. */
    cly_status s = cly_read_reals(net->ctx, buf, offset, dst, sizeof(float), a->count, "cly_net_save: reading");
    if (s != CLY_SUCCESS)
        return s;
    cly_model_swap_le(dst, a->count);
    return CLY_SUCCESS;
}

cly_status cly_net_save(const cly_net *net, const char *path)
{
    if (!net || !path)
        return cly_fail(net ? net->ctx : NULL, CLY_ERROR_INVALID_ARGUMENT,
                        "cly_net_save: net and path must not be NULL");
    cly_status s = cly_net_usable(net, "cly_net_save"); /* half-updated values are no model */
    if (s != CLY_SUCCESS)
        return s;
    const cly_graph *g = net->graph;
    cly_model m = {.fetch = fetch, .fetch_user = (void *)net};
    char *text = NULL;
    size_t text_size = 0;
    s = cly_graph_to_text(g, &text, &text_size);
    if (s != CLY_SUCCESS)
        return cly_fail(net->ctx, s, "cly_net_save: %s: %s", path, cly_last_error(NULL));
    m.text = text;
    m.text_size = text_size;
    size_t n = 0;
    for (size_t i = 0; i < g->count; i++)
        for (int k = 0; k < CLY_MODEL_KINDS; k++)
            n += net->layers[i].param_count[k] > 0;
    m.params = calloc(n ? n : 1, sizeof *m.params);
    if (!m.params) {
        free(text);
        return cly_fail(net->ctx, CLY_ERROR_OUT_OF_HOST_MEMORY, "cly_net_save: out of memory");
    }
    m.param_count = n;
    n = 0;
    for (size_t i = 0; i < g->count; i++)
        for (int k = 0; k < CLY_MODEL_KINDS; k++)
            if (net->layers[i].param_count[k] > 0) {
                cly_model_array *a = &m.params[n++];
                snprintf(a->name, sizeof a->name, "%s", g->nodes[i].name);
                a->kind = (uint32_t)k;
                a->count = net->layers[i].param_count[k];
                a->user = i;
            }
    /* Optimiser state exists once training has been set up, or once a
     * model was loaded for training (then only Adam has a second moment). */
    if (net->opt_m) {
        m.has_optimizer = true;
        m.optimizer = net->training ? (uint32_t)net->train.optimizer
                                    : net->opt_v ? CLY_OPTIMIZER_ADAM : CLY_OPTIMIZER_SGD;
        m.moments = net->opt_v ? 2 : 1;
        m.updates = net->updates;
        m.opt = m.params; /* the same arrays, read from opt_m and opt_v */
        m.opt_count = m.param_count;
    }
    s = cly_model_write(&m, path);
    free(m.params);
    free(text);
    if (s != CLY_SUCCESS)
        return cly_fail(net->ctx, s, "%s", cly_last_error(NULL));
    return CLY_SUCCESS;
}

/* ---- load */

/* Queue the writes of every bound array into `dst` (non-blocking; the
 * caller finishes the queue while the file buffer is still alive). The file
 * buffer is this loader's own copy, so it may be byte-swapped in place. */
static cly_status upload(cly_net *net, const cly_model_array **slots, cl_mem dst, int which, const char *path)
{
    for (size_t i = 0; i < net->graph->count; i++)
        for (int k = 0; k < CLY_MODEL_KINDS; k++) {
            const cly_model_array *a = slots[i * CLY_MODEL_KINDS + (size_t)k];
            if (!a)
                continue;
            unsigned char *data = (unsigned char *)a->data[which];
            cly_model_swap_le(data, a->count);
            cly_status s = cly_write_reals(net->ctx, dst, net->layers[i].param_offset[k], data, sizeof(float),
                                           a->count, path);
            if (s != CLY_SUCCESS)
                return s;
        }
    return CLY_SUCCESS;
}

/* The OPTIMIZER section into a net created for training. Its buffers are
 * made here: cly_net_set_training allocates optimiser state only where
 * there is none and keeps what it finds, so the training that follows
 * resumes from the saved moments and update count (the learning-rate
 * schedule and Adam's bias correction depend on it). The state is that of
 * the optimiser named in the file; training with another one starts from
 * moments that mean something else. */
static cly_status restore_optimizer(cly_net *net, const cly_model *m, const cly_model_array **slots,
                                    const char *path)
{
    if (net->training && (m->optimizer != (uint32_t)net->train.optimizer || (m->moments == 2) != (net->opt_v != NULL)))
        return cly_fail(net->ctx, CLY_ERROR_INVALID_ARGUMENT,
                        "%s: OPTIMIZER section: the file holds %s state (%u moment%s), the net trains with %s", path,
                        optimizer_names[m->optimizer], m->moments, m->moments == 1 ? "" : "s",
                        (unsigned)net->train.optimizer <= CLY_OPTIMIZER_ADAM ? optimizer_names[net->train.optimizer]
                                                                             : "?");
    cly_status s = CLY_SUCCESS;
    if (!net->opt_m)
        s = cly_net_zeroed_like_params(net, path, "optimiser state", &net->opt_m);
    if (s == CLY_SUCCESS && m->moments == 2 && !net->opt_v)
        s = cly_net_zeroed_like_params(net, path, "optimiser state", &net->opt_v);
    if (s == CLY_SUCCESS)
        s = upload(net, slots, net->opt_m, 0, path);
    if (s == CLY_SUCCESS && m->moments == 2)
        s = upload(net, slots, net->opt_v, 1, path);
    if (s == CLY_SUCCESS)
        net->updates = m->updates;
    return s;
}

cly_status cly_model_load(cly_context *ctx, const char *path, const cly_net_options *options, cly_graph **graph,
                          cly_net **net)
{
    if (!ctx || !path || !options || !graph || !net)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT,
                        "cly_model_load: ctx, path, options, graph and net must not be NULL");
    uint8_t *data = NULL;
    size_t size = 0;
    cly_model m = {0};
    cly_graph *g = NULL;
    cly_net *n = NULL;
    const cly_model_array **slots = NULL;
    char label[4200];
    cly_status s = cly_read_file(path, CLY_MODEL_FILE_MAX, "a model file", &data, &size);
    if (s == CLY_SUCCESS)
        s = cly_model_parse(data, size, path, 0, &m);
    if (s == CLY_SUCCESS) {
        snprintf(label, sizeof label, "%s:GRAPH", path); /* net-file errors read "PATH:GRAPH:LINE: ..." */
        s = cly_graph_parse(m.text, m.text_size, label, &g);
    }
    if (s == CLY_SUCCESS && (s = cly_net_create(ctx, g, options, &n)) != CLY_SUCCESS &&
        strncmp(cly_last_error(ctx), path, strlen(path)) != 0)
        s = cly_fail(ctx, s, "%s: %s", path, cly_last_error(ctx));
    if (s == CLY_SUCCESS) {
        slots = calloc(g->count * CLY_MODEL_KINDS * 2, sizeof *slots);
        int64_t(*expect)[CLY_MODEL_KINDS] = calloc(g->count, sizeof *expect);
        if (!slots || !expect)
            s = cly_fail(NULL, CLY_ERROR_OUT_OF_HOST_MEMORY, "%s: out of memory", path);
        for (size_t i = 0; s == CLY_SUCCESS && i < g->count; i++)
            for (int k = 0; k < CLY_MODEL_KINDS; k++)
                expect[i][k] = n->layers[i].param_count[k];
        if (s == CLY_SUCCESS)
            s = cly_model_bind(&m, g, (const int64_t(*)[CLY_MODEL_KINDS])expect, path, slots,
                               slots + g->count * CLY_MODEL_KINDS);
        free(expect);
    }
    if (s == CLY_SUCCESS)
        s = upload(n, slots, n->params, 0, path);
    if (s == CLY_SUCCESS && m.has_optimizer && options->mode == CLY_MODE_TRAINING)
        s = restore_optimizer(n, &m, slots + g->count * CLY_MODEL_KINDS, path);
    if (n) { /* the queued writes read `data`: wait before freeing it, failure or not */
        cl_int err = clFinish(ctx->queue);
        if (s == CLY_SUCCESS && err != CL_SUCCESS)
            s = cly_fail_cl(ctx, err, "%s: writing parameters to the device", path);
    }
    free(slots);
    cly_model_free(&m);
    free(data);
    if (s != CLY_SUCCESS) {
        cly_fail(ctx, s, "%s", cly_last_error(NULL)); /* every failure above reached the thread's slot */
        cly_net_destroy(n);
        cly_graph_destroy(g);
        return s;
    }
    *graph = g;
    *net = n;
    return CLY_SUCCESS;
}
