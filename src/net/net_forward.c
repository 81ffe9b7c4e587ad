/* The forward pass: each layer's op on views into the arena, in topological
 * order, all enqueued on the context's in-order queue. */
#include "net/net.h"
#include "net/net_profile.h"

#include <string.h>

static cly_buf param(const cly_net *net, size_t id, cly_param_kind kind)
{
    return (cly_buf){net->params, net->layers[id].param_offset[kind]};
}

static cly_status copy_value(const cly_net *net, size_t from, size_t to, int64_t count)
{
    if (net->plan[from].offset == net->plan[to].offset)
        return CLY_SUCCESS;
    size_t size = cly_real_size(net->ctx);
    cl_int err = clEnqueueCopyBuffer(net->ctx->queue, net->arena, net->arena, (size_t)net->plan[from].offset * size,
                                     (size_t)net->plan[to].offset * size, (size_t)count * size, 0, NULL, NULL);
    return err == CL_SUCCESS ? CLY_SUCCESS : cly_fail_cl(net->ctx, err, "copying a layer output");
}

cly_status cly_net_run_layer(cly_net *net, size_t id)
{
    const cly_node *node = &net->graph->nodes[id];
    const net_layer *L = &net->layers[id];
    const cly_layer *d = &node->layer;
    cly_context *ctx = net->ctx;
    cly_buf y = cly_net_value(net, id);
    size_t in0 = d->input_count ? node->input_ids[0] : id;
    cly_buf x = cly_net_value(net, in0);
    cly_shape in = net->graph->nodes[in0].out;
    int64_t count = node->activations;
    cly_buf none = {NULL, 0};
    switch (d->type) {
    case CLY_LAYER_INPUT:
        return CLY_SUCCESS;
    case CLY_LAYER_CONV:
        return cly_conv_forward(ctx, L->algo, &L->conv, x, param(net, id, CLY_PARAM_WEIGHTS),
                                L->conv.bias ? param(net, id, CLY_PARAM_BIAS) : none, y,
                                (cly_buf){net->workspace, 0});
    case CLY_LAYER_LOCAL:
        return cly_local_forward(ctx, &L->conv, x, param(net, id, CLY_PARAM_WEIGHTS),
                                 L->conv.bias ? param(net, id, CLY_PARAM_BIAS) : none, y);
    case CLY_LAYER_RELU:
        return L->fused ? CLY_SUCCESS : cly_relu_forward(ctx, count, x, y);
    case CLY_LAYER_POOL: /* training records max pooling's switches for backward */
        return cly_pool_forward(ctx, &L->pool, x, y,
                                net->training_pass && L->pool.kind == CLY_POOL_MAX
                                    ? (cly_buf){net->aux, L->aux_offset}
                                    : none);
    case CLY_LAYER_LRN:
        return cly_lrn_forward(ctx, in, &d->p.lrn, x, y);
    case CLY_LAYER_BATCHNORM:
        if (net->training_pass)
            return cly_batchnorm_train_forward(
                ctx, in, d->p.batchnorm.epsilon, d->p.batchnorm.momentum, x, param(net, id, CLY_PARAM_WEIGHTS),
                param(net, id, CLY_PARAM_BIAS), param(net, id, CLY_PARAM_MEAN), param(net, id, CLY_PARAM_VAR),
                (cly_buf){net->aux, L->aux_offset}, (cly_buf){net->aux, L->aux_offset + in.c}, y);
        return cly_batchnorm_forward(ctx, in, d->p.batchnorm.epsilon > 0 ? d->p.batchnorm.epsilon : 1e-5, x,
                                     param(net, id, CLY_PARAM_WEIGHTS), param(net, id, CLY_PARAM_BIAS),
                                     param(net, id, CLY_PARAM_MEAN), param(net, id, CLY_PARAM_VAR), y);
    case CLY_LAYER_FC:
        return cly_fc_forward(ctx, in.n, in.c * in.h * in.w, node->out.c, d->p.fc.relu || L->fused_relu, x,
                              param(net, id, CLY_PARAM_WEIGHTS),
                              d->p.fc.no_bias ? none : param(net, id, CLY_PARAM_BIAS), y);
    case CLY_LAYER_SOFTMAX:
        return cly_softmax_forward(ctx, in, x, y);
    case CLY_LAYER_DROPOUT: /* identity at inference */
        if (net->training_pass)
            return cly_dropout_forward(ctx, count, d->p.dropout, cly_net_dropout_seed(net, id), x, y);
        return copy_value(net, in0, id, count);
    case CLY_LAYER_ADD: {
        cly_status s = cly_add_forward(ctx, count, x, cly_net_value(net, node->input_ids[1]), y);
        for (size_t k = 2; k < d->input_count && s == CLY_SUCCESS; k++)
            s = cly_add_forward(ctx, count, y, cly_net_value(net, node->input_ids[k]), y);
        return s;
    }
    case CLY_LAYER_CONCAT: {
        int64_t c_offset = 0;
        cly_status s = CLY_SUCCESS;
        for (size_t k = 0; k < d->input_count && s == CLY_SUCCESS; k++) {
            cly_shape part = net->graph->nodes[node->input_ids[k]].out;
            s = cly_concat_forward(ctx, part.n, part.c, part.h * part.w, node->out.c, c_offset,
                                   cly_net_value(net, node->input_ids[k]), y);
            c_offset += part.c;
        }
        return s;
    }
    case CLY_LAYER_GLOBAL_AVGPOOL:
        return cly_gap_forward(ctx, in, x, y);
    case CLY_LAYER_ADAPTIVE_AVGPOOL: /* no kernel yet: the error below */
    case CLY_LAYER_TYPE_COUNT:
        break;
    }
    return cly_fail(ctx, CLY_ERROR_UNSUPPORTED, "%s: layer type %d has no forward", node->name, (int)d->type);
}

cly_status cly_net_forward(cly_net *net)
{
    if (!net)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "cly_net_forward: net must not be NULL");
    for (size_t s = 0; s < net->graph->count; s++) {
        size_t id = net->graph->order[s];
        cly_status st = cly_net_profile_mark(net, cly_prof_forward(s));
        if (st == CLY_SUCCESS)
            st = cly_net_run_layer(net, id);
        if (st != CLY_SUCCESS) {
            /* Name the layer unless the op already did. */
            const char *err = cly_last_error(net->ctx);
            const char *name = net->graph->nodes[id].name;
            if (strncmp(err, name, strlen(name)) != 0)
                return cly_fail(net->ctx, st, "%s (%s): %s", name,
                                cly_layer_type_string(net->graph->nodes[id].layer.type), err);
            return st;
        }
    }
    return cly_net_profile_mark(net, cly_prof_forward(net->graph->count));
}
