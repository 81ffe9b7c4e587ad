/* Locally connected layer, backward: three gather kernels (local_backward.cl). */
#include "kernels/conv_internal.h"

static void geometry_args(cly_args *a, const cly_conv_geom *g)
{
    const int64_t ints[] = {g->n, g->c, g->h,  g->w,  g->k,  g->groups, g->fh, g->fw,
                            g->sh, g->sw, g->pt, g->pl, g->dh, g->dw, g->oh, g->ow};
    cly_arg_ints(a, ints, sizeof ints / sizeof ints[0]);
}

cly_status cly_local_backward(cly_context *ctx, const cly_conv_geom *g, cly_buf x, cly_buf w, cly_buf dy, cly_buf dx,
                              cly_buf dw, cly_buf db, float beta)
{
    cl_kernel kw, kb, kd;
    cly_status s;
    if ((s = cly_kernel_get(ctx, "local_backward", "", "local_grad_weights", &kw)) != CLY_SUCCESS ||
        (s = cly_kernel_get(ctx, "local_backward", "", "local_grad_bias", &kb)) != CLY_SUCCESS ||
        (s = cly_kernel_get(ctx, "local_backward", "", "local_grad_data", &kd)) != CLY_SUCCESS)
        return s;
    const int64_t p = g->oh * g->ow;
    /* Parameter gradients are this batch's: beta applies to dx only; dw and
     * db are overwritten (beta 0). */
    const float zero = 0.0f;
    cly_args a;
    int64_t global;
    if (dw.mem) {
        a = cly_args_for(ctx, kw, "local weight gradient");
        cly_arg_buf(&a, x);
        cly_arg_buf(&a, dy);
        cly_arg_buf(&a, dw);
        geometry_args(&a, g);
        cly_arg_float(&a, zero);
        global = p * g->k * (g->c / g->groups) * g->fh * g->fw;
        if ((s = cly_launch(ctx, &a, 1, &global, NULL)) != CLY_SUCCESS)
            return s;
    }
    if (db.mem) {
        a = cly_args_for(ctx, kb, "local bias gradient");
        cly_arg_buf(&a, dy);
        cly_arg_buf(&a, db);
        cly_arg_int(&a, g->n);
        cly_arg_int(&a, g->k);
        cly_arg_int(&a, p);
        cly_arg_float(&a, zero);
        global = g->k * p;
        if ((s = cly_launch(ctx, &a, 1, &global, NULL)) != CLY_SUCCESS)
            return s;
    }
    if (!dx.mem)
        return CLY_SUCCESS;
    a = cly_args_for(ctx, kd, "local data gradient");
    cly_arg_buf(&a, w);
    cly_arg_buf(&a, dy);
    cly_arg_buf(&a, dx);
    geometry_args(&a, g);
    cly_arg_float(&a, beta);
    global = g->n * g->c * g->h * g->w;
    return cly_launch(ctx, &a, 1, &global, NULL);
}
