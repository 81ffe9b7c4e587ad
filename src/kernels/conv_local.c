/* Locally connected layer (cl/conv_local.cl): one work-item per output, a
 * straightforward kernel; the layer is rare and its weights dominate. */
#include "kernels/conv_internal.h"

cly_status cly_local_forward(cly_context *ctx, const cly_conv_geom *g, cly_buf x, cly_buf w, cly_buf bias,
                             cly_buf y)
{
    /* The kernel numbers output positions and filter taps with int. */
    if (g->oh * g->ow > INT32_MAX || g->c / g->groups * g->fh * g->fw > INT32_MAX)
        return cly_fail(ctx, CLY_ERROR_UNSUPPORTED, "locally connected layer: %lldx%lld outputs of %lld taps exceed "
                        "2^31", (long long)g->oh, (long long)g->ow, (long long)(g->c / g->groups * g->fh * g->fw));
    cl_kernel k;
    cly_status s = cly_kernel_get(ctx, "conv_local", "", "conv_local", &k);
    if (s != CLY_SUCCESS)
        return s;
    cly_args a = cly_args_for(ctx, k, "conv_local");
    cly_arg_buf(&a, x);
    cly_arg_buf(&a, w);
    cly_arg_buf(&a, g->bias ? bias : y);
    cly_arg_buf(&a, y);
    const int64_t ints[] = {g->c,  g->h,  g->w,  g->k,  g->groups, g->fh, g->fw, g->sh, g->sw,   g->pt,
                            g->pl, g->dh, g->dw, g->oh, g->ow,     g->bias, g->relu};
    cly_arg_ints(&a, ints, sizeof ints / sizeof ints[0]);
    const int64_t global[3] = {g->oh * g->ow, g->k, g->n};
    const size_t local[3] = {cly_tuning_of(ctx)->conv_group, 1, 1};
    return cly_launch(ctx, &a, 3, global, local);
}
