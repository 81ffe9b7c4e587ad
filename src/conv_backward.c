/* Convolution backward through im2col and GEMM, as the notes describe: the
 * weight gradient is dY times the unfolded input, summed over positions and
 * samples; the data gradient is W^T dY folded back (col2im), which equals a
 * convolution of dY with the spatially flipped filters. Works for every
 * stride, padding, dilation and group count. One sample at a time keeps
 * the workspace at one sample's columns; GEMMs batch over groups. */
#include "conv_internal.h"

int64_t cly_conv_backward_workspace(const cly_context *ctx, const cly_conv_geom *g)
{
    (void)ctx;
    return cly_conv_im2col_sample_floats(g);
}

static cly_status im2col_sample(cly_context *ctx, const cly_conv_geom *g, cly_buf x, cly_buf col)
{
    cl_kernel k;
    cly_status s = cly_kernel_get(ctx, "im2col", "", "im2col", &k);
    if (s != CLY_SUCCESS)
        return s;
    cly_args a = {.kernel = k};
    cly_arg_buf(&a, x);
    cly_arg_buf(&a, col);
    const int64_t ints[] = {g->c, g->h, g->w, g->fh, g->fw, g->sh, g->sw, g->pt, g->pl, g->dh, g->dw, g->oh, g->ow};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
        cly_arg_int(&a, ints[i]);
    const int64_t global[3] = {g->oh, g->c * g->fh * g->fw, 1};
    const size_t local[3] = {cly_conv_group_size(ctx), 1, 1};
    return cly_conv_launch(ctx, &a, 3, global, local, "im2col (backward)");
}

cly_status cly_conv_backward_weights(cly_context *ctx, const cly_conv_geom *g, cly_buf x, cly_buf dy, cly_buf dw,
                                     cly_buf db, float beta, cly_buf ws)
{
    const int64_t G = g->groups, kg = g->k / G, hw = g->oh * g->ow;
    const int64_t red = g->c / G * g->fh * g->fw, x_sample = g->c * g->h * g->w, y_sample = g->k * hw;
    cly_status s;
    for (int64_t n = 0; n < g->n; n++) {
        if ((s = im2col_sample(ctx, g, (cly_buf){x.mem, x.offset + n * x_sample}, ws)) != CLY_SUCCESS)
            return s;
        /* dW_g[kg x red] (+)= dY_g[kg x hw] * col_g[red x hw]^T, all groups. */
        cly_buf dys = {dy.mem, dy.offset + n * y_sample};
        float b = n == 0 ? beta : 1.0f;
        s = cly_sgemm_strided(ctx, false, true, kg, red, hw, 1.0f, dys, hw, kg * hw, ws, hw, red * hw, b, dw, red,
                              kg * red, G);
        if (s != CLY_SUCCESS)
            return s;
    }
    if (!db.mem)
        return CLY_SUCCESS;
    cl_kernel k;
    if ((s = cly_kernel_get(ctx, "conv_backward", "", "bias_grad", &k)) != CLY_SUCCESS)
        return s;
    cly_args a = {.kernel = k};
    cly_arg_buf(&a, dy);
    cly_arg_buf(&a, db);
    cly_arg_int(&a, g->n);
    cly_arg_int(&a, g->k);
    cly_arg_long(&a, hw);
    cly_arg_raw(&a, sizeof beta, &beta);
    const int64_t global[1] = {g->k};
    return cly_conv_launch(ctx, &a, 1, global, NULL, "conv bias gradient");
}

cly_status cly_conv_backward_data(cly_context *ctx, const cly_conv_geom *g, cly_buf dy, cly_buf w, cly_buf dx,
                                  float beta, cly_buf ws)
{
    const int64_t G = g->groups, kg = g->k / G, hw = g->oh * g->ow;
    const int64_t red = g->c / G * g->fh * g->fw, x_sample = g->c * g->h * g->w, y_sample = g->k * hw;
    cl_kernel k;
    cly_status s = cly_kernel_get(ctx, "conv_backward", "", "col2im", &k);
    if (s != CLY_SUCCESS)
        return s;
    for (int64_t n = 0; n < g->n; n++) {
        /* col_g[red x hw] = W_g[kg x red]^T * dY_g[kg x hw], all groups. */
        cly_buf dys = {dy.mem, dy.offset + n * y_sample};
        s = cly_sgemm_strided(ctx, true, false, red, hw, kg, 1.0f, w, red, kg * red, dys, hw, kg * hw, 0.0f, ws, hw,
                              red * hw, G);
        if (s != CLY_SUCCESS)
            return s;
        cly_args a = {.kernel = k};
        cly_arg_buf(&a, ws);
        cly_arg_buf(&a, (cly_buf){dx.mem, dx.offset + n * x_sample});
        const int64_t ints[] = {g->c, g->h, g->w, g->fh, g->fw, g->sh, g->sw, g->pt, g->pl, g->dh, g->dw, g->oh, g->ow};
        for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
            cly_arg_int(&a, ints[i]);
        cly_arg_raw(&a, sizeof beta, &beta);
        const int64_t global[3] = {g->w, g->h, g->c};
        if ((s = cly_conv_launch(ctx, &a, 3, global, NULL, "col2im")) != CLY_SUCCESS)
            return s;
    }
    return CLY_SUCCESS;
}
