/* Convolution backward through im2col and GEMM, as the notes describe: the
 * weight gradient is dY times the unfolded input, summed over positions and
 * samples; the data gradient is W^T dY folded back (col2im), which equals a
 * convolution of dY with the spatially flipped filters. Works for every
 * stride, padding, dilation and group count.
 *
 * Samples go in chunks laid out channel-major (im2col_t in im2col.cl, dy_t
 * in conv_backward.cl), so one
 * GEMM per group covers a whole chunk: for the weights, the inner dimension
 * is samples x positions; for the data, the columns are.
 *
 * Where the stride is 1 and the padding stays within the dilated filter,
 * the data gradient runs instead as a direct convolution of dY with the
 * flipped filters (cly_conv_backward_data_flipped: the direct kernel reads
 * the filters transposed and flipped in place); where it is strided and
 * undilated, as one such convolution per stride phase
 * (conv_backward_subpixel.c). Which of these runs is decided by the
 * backward tables in conv_algos.c. */
#include "kernels/conv_internal.h"

#include <stdio.h>

#define PROGRAM "conv_backward"

/* Workspace per sample: its columns and its transposed dY. */
static int64_t per_sample(const cly_conv_geom *g)
{
    return cly_conv_im2col_sample_floats(g) + g->k * g->oh * g->ow;
}

int64_t cly_conv_backward_gemm_workspace(const cly_context *ctx, const cly_conv_geom *g)
{
    return per_sample(g) * cly_conv_chunk(ctx, per_sample(g), g->n);
}

static void geometry_args(cly_args *a, const cly_conv_geom *g)
{
    const int64_t ints[] = {g->c, g->h, g->w, g->fh, g->fw, g->sh, g->sw, g->pt, g->pl, g->dh, g->dw, g->oh, g->ow};
    cly_arg_ints(a, ints, sizeof ints / sizeof ints[0]);
}

/* dY of samples [n0, n0 + nb) as t[K][nb*P] at `t`. */
static cly_status transpose_dy(cly_context *ctx, const cly_conv_geom *g, cly_buf dy, int64_t n0, int64_t nb, cly_buf t)
{
    cl_kernel k;
    cly_status s = cly_kernel_get(ctx, PROGRAM, "", "dy_t", &k);
    if (s != CLY_SUCCESS)
        return s;
    const int64_t P = g->oh * g->ow;
    cly_args a = cly_args_for(ctx, k, "conv backward dY transpose");
    cly_arg_buf(&a, (cly_buf){dy.mem, dy.offset + n0 * g->k * P});
    cly_arg_buf(&a, t);
    cly_arg_int(&a, g->k);
    cly_arg_int(&a, P);
    cly_arg_int(&a, nb);
    const int64_t global[2] = {g->k, nb};
    return cly_launch(ctx, &a, 2, global, NULL);
}

cly_status cly_conv_backward_weights_gemm(cly_context *ctx, const cly_conv_geom *g, cly_buf x, cly_buf dy, cly_buf dw,
                                          cly_buf db, float beta, cly_buf ws)
{
    const int64_t G = g->groups, kg = g->k / G, P = g->oh * g->ow;
    const int64_t red = g->c / G * g->fh * g->fw, x_sample = g->c * g->h * g->w;
    const int64_t chunk = cly_conv_chunk(ctx, per_sample(g), g->n);
    cl_kernel k;
    cly_status s = cly_kernel_get(ctx, "im2col", "", "im2col_t", &k); /* the forward's body, channel-major rows */
    if (s != CLY_SUCCESS)
        return s;
    for (int64_t n0 = 0; n0 < g->n; n0 += chunk) {
        const int64_t nb = g->n - n0 < chunk ? g->n - n0 : chunk, cols = nb * P;
        cly_buf col = ws, t = {ws.mem, ws.offset + g->c * g->fh * g->fw * cols};
        cly_args a = cly_args_for(ctx, k, "im2col (backward)");
        cly_arg_buf(&a, (cly_buf){x.mem, x.offset + n0 * x_sample});
        cly_arg_buf(&a, col);
        geometry_args(&a, g);
        cly_arg_int(&a, nb);
        const int64_t global[3] = {g->oh, g->c * g->fh * g->fw, nb};
        if ((s = cly_launch(ctx, &a, 3, global, NULL)) != CLY_SUCCESS ||
            (s = transpose_dy(ctx, g, dy, n0, nb, t)) != CLY_SUCCESS)
            return s;
        /* dW_g[kg x red] (+)= dYt_g[kg x cols] * col_g[red x cols]^T, all groups. */
        s = cly_gemm_nt(ctx, kg, red, cols, t, cols, kg * cols, col, cols, red * cols, dw, red, kg * red, G,
                        n0 == 0 ? beta : 1.0f, "conv weight gradient GEMM");
        if (s != CLY_SUCCESS)
            return s;
    }
    if (!db.mem)
        return CLY_SUCCESS;
    return cly_bias_grad(ctx, g->n, g->k, P, dy, db, beta);
}

/* The data gradient of a stride-1 convolution is itself a stride-1
 * convolution: of dY, padded by D*(F-1) - P, with the flipped filters
 * (C filters over K channels). Its geometry, or false when the padding would
 * be negative (a convolution padded beyond its dilated filter extent). */
bool cly_conv_flipped_geom(const cly_conv_geom *g, cly_conv_geom *f, char *why, size_t size)
{
    const int64_t eh = g->dh * (g->fh - 1), ew = g->dw * (g->fw - 1);
    if (g->sh != 1 || g->sw != 1 || g->pt > eh || g->pb > eh || g->pl > ew || g->pr > ew) {
        snprintf(why, size,
                 "needs stride 1 and padding within the dilated filter extent %lldx%lld; this layer has stride "
                 "%lldx%lld, padding %lld/%lld/%lld/%lld (top/bottom/left/right)",
                 (long long)(eh + 1), (long long)(ew + 1), (long long)g->sh, (long long)g->sw, (long long)g->pt,
                 (long long)g->pb, (long long)g->pl, (long long)g->pr);
        return false;
    }
    *f = (cly_conv_geom){.n = g->n, .c = g->k, .h = g->oh, .w = g->ow, .k = g->c, .fh = g->fh, .fw = g->fw,
                         .sh = 1, .sw = 1, .pt = eh - g->pt, .pb = eh - g->pb, .pl = ew - g->pl, .pr = ew - g->pr,
                         .dh = g->dh, .dw = g->dw, .groups = g->groups, .oh = g->h, .ow = g->w};
    return true;
}

/* Workspace of the flipped-filter path: the forward convolution's own
 * scratch and a temporary dX when accumulating. */
int64_t cly_conv_flipped_workspace(const cly_context *ctx, const cly_conv_geom *g)
{
    cly_conv_geom f;
    char why[256];
    if (!cly_conv_flipped_geom(g, &f, why, sizeof why))
        return 0;
    return g->n * g->c * g->h * g->w + cly_conv_workspace(ctx, CLY_CONV_DIRECT, &f);
}

cly_status cly_conv_backward_data_col2im(cly_context *ctx, const cly_conv_geom *g, cly_buf dy, cly_buf w, cly_buf dx,
                                         float beta, cly_buf ws)
{
    const int64_t G = g->groups, kg = g->k / G, P = g->oh * g->ow;
    const int64_t red = g->c / G * g->fh * g->fw, x_sample = g->c * g->h * g->w;
    const int64_t chunk = cly_conv_chunk(ctx, per_sample(g), g->n);
    cl_kernel k;
    cly_status s = cly_kernel_get(ctx, PROGRAM, "", "col2im_t", &k);
    if (s != CLY_SUCCESS)
        return s;
    for (int64_t n0 = 0; n0 < g->n; n0 += chunk) {
        const int64_t nb = g->n - n0 < chunk ? g->n - n0 : chunk, cols = nb * P;
        cly_buf col = ws, t = {ws.mem, ws.offset + g->c * g->fh * g->fw * cols};
        if ((s = transpose_dy(ctx, g, dy, n0, nb, t)) != CLY_SUCCESS)
            return s;
        /* col_g[red x cols] = W_g[kg x red]^T * dYt_g[kg x cols], all groups. */
        s = cly_gemm_strided(ctx, true, false, red, cols, kg, 1.0f, w, red, kg * red, t, cols, kg * cols, 0.0f, col,
                             cols, red * cols, G);
        if (s != CLY_SUCCESS)
            return s;
        cly_args a = cly_args_for(ctx, k, "col2im");
        cly_arg_buf(&a, col);
        cly_arg_buf(&a, (cly_buf){dx.mem, dx.offset + n0 * x_sample});
        geometry_args(&a, g);
        cly_arg_int(&a, nb);
        cly_arg_float(&a, beta);
        const int64_t global[2] = {g->h, nb * g->c};
        if ((s = cly_launch(ctx, &a, 2, global, NULL)) != CLY_SUCCESS)
            return s;
    }
    return CLY_SUCCESS;
}

cly_status cly_conv_backward_data_flipped(cly_context *ctx, const cly_conv_geom *g, cly_buf dy, cly_buf w, cly_buf dx,
                                          float beta, cly_buf ws)
{
    cly_conv_geom f;
    char why[256];
    if (!cly_conv_flipped_geom(g, &f, why, sizeof why))
        return cly_fail(ctx, CLY_ERROR_UNSUPPORTED, "convolution backward data, flipped-direct: %s", why);
    /* Layout of ws: temporary dX (beta != 0) | conv scratch. */
    const int64_t nx = g->n * g->c * g->h * g->w;
    cly_buf tmp = ws, scratch = {ws.mem, ws.offset + nx};
    /* Filter c of f, channel kk, tap (i, j) is w[g*Kg + kk][c][FH-1-i][FW-1-j]:
     * read in place, transposed and flipped. */
    const int64_t taps = g->fh * g->fw, kg = g->k / g->groups, cg = g->c / g->groups;
    const cly_conv_wview v = {.base = taps - 1, .g = kg * cg * taps, .k = taps, .c = cg * taps, .i = -g->fw, .j = -1};
    cly_buf out = beta != 0.0f ? tmp : dx;
    cly_status s = cly_conv_direct_forward_view(ctx, &f, dy, w, v, (cly_buf){NULL, 0}, out, scratch);
    if (s != CLY_SUCCESS)
        return s;
    return beta != 0.0f ? cly_grad_accumulate(ctx, nx, tmp, dx, beta) : CLY_SUCCESS;
}
