/* Nets driven from outside: a training forward, gradients the caller
 * computed for outputs and kept layers, the backward pass from them and an
 * optimiser step, so that a loss of the caller's own replaces the built-in
 * one; and what a training pass leaves to read (per-sample losses, output
 * gradients, batch-norm batch statistics). Each call checks everything
 * before it writes anything. */
#include "net/net.h"

#include <stdlib.h>

/* The net exists and was created for training. */
static cly_status training_net(const cly_net *net, const char *what)
{
    if (!net)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: net must not be NULL", what);
    if (net->options.mode != CLY_MODE_TRAINING)
        return cly_fail(net->ctx, CLY_ERROR_INVALID_ARGUMENT,
                        "%s: the net was created for inference; create it with CLY_MODE_TRAINING", what);
    return cly_net_usable(net, what);
}

/* A gradient source named `layer`, with a host array of its output's size. */
static cly_status source_of(const cly_net *net, const char *what, const char *layer, const void *ptr, int64_t count,
                            size_t *id)
{
    cly_status s = training_net(net, what);
    if (s != CLY_SUCCESS)
        return s;
    const cly_node *node = cly_net_find_node(net->graph, layer);
    if (!node)
        return cly_fail(net->ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: no layer named '%s'", what, layer ? layer : "(null)");
    *id = (size_t)(node - net->graph->nodes);
    if (!net->layers[*id].grad_source)
        return cly_fail(net->ctx, CLY_ERROR_INVALID_ARGUMENT,
                        "%s: '%s' is neither a graph output nor a kept layer (cly_net_options.keep), so a loss cannot "
                        "start there",
                        what, layer);
    if (!ptr)
        return cly_fail(net->ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: %s: host pointer must not be NULL", what, layer);
    if (count != node->activations)
        return cly_fail(net->ctx, CLY_ERROR_SHAPE_MISMATCH,
                        "%s: %s holds %lld values (batch %lld x %lld x %lld x %lld), not %lld", what, layer,
                        (long long)node->activations, (long long)node->out.n, (long long)node->out.c,
                        (long long)node->out.h, (long long)node->out.w, (long long)count);
    return CLY_SUCCESS;
}

cly_status cly_net_forward_training(cly_net *net)
{
    const char *what = "cly_net_forward_training";
    cly_status s = training_net(net, what);
    if (s != CLY_SUCCESS)
        return s;
    net->moved = net->stats_moved = false;
    return cly_net_settle(net, what, cly_net_training_forward(net));
}

static cly_status set_output_gradient(cly_net *net, const char *what, const char *layer, const void *src,
                                      size_t host_size, int64_t count)
{
    size_t id;
    cly_status s = source_of(net, what, layer, src, count, &id);
    if (s != CLY_SUCCESS)
        return s;
    /* A source's gradient storage is alive throughout (net_train.c), so no
     * forward pass touches what is written here. */
    cly_buf g = cly_net_grad(net, id);
    if ((s = cly_write_reals(net->ctx, g.mem, g.offset, src, host_size, count, what)) != CLY_SUCCESS)
        return s;
    net->layers[id].dy_set = true;
    return CLY_SUCCESS;
}

cly_status cly_net_set_output_gradient(cly_net *net, const char *layer, const float *dy, int64_t count)
{
    return set_output_gradient(net, "cly_net_set_output_gradient", layer, dy, sizeof *dy, count);
}

cly_status cly_net_set_output_gradient_f64(cly_net *net, const char *layer, const double *dy, int64_t count)
{
    return set_output_gradient(net, "cly_net_set_output_gradient_f64", layer, dy, sizeof *dy, count);
}

cly_status cly_net_backward(cly_net *net)
{
    const char *what = "cly_net_backward";
    cly_status s = training_net(net, what);
    if (s != CLY_SUCCESS)
        return s;
    if (!net->forward_ready)
        return cly_fail(net->ctx, CLY_ERROR_INVALID_ARGUMENT,
                        "%s: no training forward pass to go back through: call cly_net_forward_training first (a "
                        "backward pass, cly_net_forward or a training batch since then used up its values)",
                        what);
    bool any = false;
    for (size_t i = 0; i < net->graph->count; i++)
        any = any || net->layers[i].dy_set;
    if (!any)
        return cly_fail(net->ctx, CLY_ERROR_INVALID_ARGUMENT,
                        "%s: no output gradient set since the last backward pass: call cly_net_set_output_gradient "
                        "first",
                        what);
    /* Without cly_net_set_training, the gradients come on demand. */
    if (!net->grads && (s = cly_net_zeroed_like_params(net, what, "gradients", &net->grads)) != CLY_SUCCESS)
        return s;
    cl_mem dst = net->grads_batch ? net->grads_batch : net->grads;
    if ((s = cly_fill_reals(net->ctx, dst, 0, net->param_elems, 0.0, what)) != CLY_SUCCESS)
        return s;
    net->input_grads = true;
    s = cly_net_run_backward(net);
    net->input_grads = false;
    if (s == CLY_SUCCESS && net->grads_batch) /* as cly_net_compute_gradients: this pass's gradients */
        s = cly_grad_accumulate(net->ctx, net->param_elems, (cly_buf){net->grads_batch, 0}, (cly_buf){net->grads, 0},
                                0.0f);
    net->input_grads_ready = s == CLY_SUCCESS;
    net->grads_pending = s == CLY_SUCCESS;
    return s;
}

cly_status cly_net_update(cly_net *net)
{
    const char *what = "cly_net_update";
    cly_status s = training_net(net, what);
    if (s != CLY_SUCCESS)
        return s;
    if (!net->training)
        return cly_fail(net->ctx, CLY_ERROR_INVALID_ARGUMENT,
                        "%s: no optimiser: call cly_net_set_training first", what);
    net->moved = net->stats_moved = false;
    if (!net->grads_pending)
        return cly_fail(net->ctx, CLY_ERROR_INVALID_ARGUMENT,
                        "%s: no gradients since the last update: call cly_net_backward or cly_net_compute_gradients "
                        "first",
                        what);
    if ((s = cly_net_optimiser_step(net, 1.0)) != CLY_SUCCESS)
        return cly_net_settle(net, what, s);
    net->grads_pending = false;
    net->passes++; /* new dropout masks for the next batch, as cly_net_train_batch */
    return CLY_SUCCESS;
}

static cly_status get_output_gradient(const cly_net *net, const char *what, const char *layer, void *dst,
                                      size_t host_size, int64_t count)
{
    size_t id;
    cly_status s = source_of(net, what, layer, dst, count, &id);
    if (s != CLY_SUCCESS)
        return s;
    if (!net->backward_done || !net->layers[id].needs_grad)
        return cly_fail(net->ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: no gradient reached '%s' in the last backward pass",
                        what, layer);
    cly_buf g = cly_net_grad(net, id);
    return cly_read_reals(net->ctx, g.mem, g.offset, dst, host_size, count, what);
}

cly_status cly_net_get_output_gradient(const cly_net *net, const char *layer, float *dst, int64_t count)
{
    return get_output_gradient(net, "cly_net_get_output_gradient", layer, dst, sizeof *dst, count);
}

cly_status cly_net_get_output_gradient_f64(const cly_net *net, const char *layer, double *dst, int64_t count)
{
    return get_output_gradient(net, "cly_net_get_output_gradient_f64", layer, dst, sizeof *dst, count);
}

static cly_status get_losses(const cly_net *net, const char *what, void *dst, size_t host_size, int64_t count)
{
    cly_status s = training_net(net, what);
    if (s != CLY_SUCCESS)
        return s;
    if (!dst)
        return cly_fail(net->ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: dst must not be NULL", what);
    if (count != net->options.batch)
        return cly_fail(net->ctx, CLY_ERROR_SHAPE_MISMATCH, "%s: the batch has %lld losses, not %lld", what,
                        (long long)net->options.batch, (long long)count);
    if (!net->losses_ready)
        return cly_fail(net->ctx, CLY_ERROR_INVALID_ARGUMENT,
                        "%s: no losses: they come from cly_net_train_batch or cly_net_compute_gradients, until the "
                        "next forward pass",
                        what);
    return cly_read_reals(net->ctx, net->losses, 0, dst, host_size, count, what);
}

cly_status cly_net_get_losses(const cly_net *net, float *dst, int64_t count)
{
    return get_losses(net, "cly_net_get_losses", dst, sizeof *dst, count);
}

cly_status cly_net_get_losses_f64(const cly_net *net, double *dst, int64_t count)
{
    return get_losses(net, "cly_net_get_losses_f64", dst, sizeof *dst, count);
}

static cly_status get_batch_stats(const cly_net *net, const char *what, const char *layer, void *mean, void *var,
                                  size_t host_size, int64_t count)
{
    cly_status s = training_net(net, what);
    if (s != CLY_SUCCESS)
        return s;
    const cly_node *node = cly_net_find_node(net->graph, layer);
    if (!node)
        return cly_fail(net->ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: no layer named '%s'", what, layer ? layer : "(null)");
    if (node->layer.type != CLY_LAYER_BATCHNORM)
        return cly_fail(net->ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: '%s' is a %s layer, not batchnorm", what, layer,
                        cly_layer_type_string(node->layer.type));
    if (!mean || !var)
        return cly_fail(net->ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: %s: mean and var must not be NULL", what, layer);
    int64_t c = node->out.c;
    if (count != c)
        return cly_fail(net->ctx, CLY_ERROR_SHAPE_MISMATCH, "%s: %s has %lld channels, not %lld", what, layer,
                        (long long)c, (long long)count);
    if (!net->stats_ready)
        return cly_fail(net->ctx, CLY_ERROR_INVALID_ARGUMENT,
                        "%s: %s: no batch statistics before a training forward pass (cly_net_forward_training, "
                        "cly_net_train_batch, cly_net_compute_gradients)",
                        what, layer);
    /* net->aux holds the batch mean, the biased batch variance and 1/std
     * (ops/batchnorm.c). */
    size_t id = (size_t)(node - net->graph->nodes);
    cly_buf m = cly_net_aux(net, id, 0), v = cly_net_aux(net, id, 2 * c);
    if ((s = cly_read_reals(net->ctx, m.mem, m.offset, mean, host_size, count, what)) != CLY_SUCCESS)
        return s;
    return cly_read_reals(net->ctx, v.mem, v.offset, var, host_size, count, what);
}

cly_status cly_net_get_batch_stats(const cly_net *net, const char *layer, float *mean, float *var, int64_t count)
{
    return get_batch_stats(net, "cly_net_get_batch_stats", layer, mean, var, sizeof *mean, count);
}

cly_status cly_net_get_batch_stats_f64(const cly_net *net, const char *layer, double *mean, double *var,
                                       int64_t count)
{
    return get_batch_stats(net, "cly_net_get_batch_stats_f64", layer, mean, var, sizeof *mean, count);
}
