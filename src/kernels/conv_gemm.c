/* Convolution as GEMM through cly_gemm (CLBlast, runtime/blas.c):
 * - IM2COL: cl/im2col.cl unfolds a chunk of samples into the workspace, then
 *   per group g: y_g[K/G x OH*OW] = W_g[K/G x C/G*FH*FW] * col_g.
 * - GEMM1X1: a 1x1, stride-1, unpadded convolution is already that GEMM on
 *   the NCHW input: y_g[K/G x H*W] = W_g[K/G x C/G] * x_g[C/G x H*W].
 * Bias and ReLU run as one epilogue pass over y (cly_bias_act: bias_act in
 * eltwise.cl). */
#include "kernels/conv_internal.h"

#define PROGRAM "im2col"

int64_t cly_conv_im2col_sample_floats(const cly_conv_geom *g)
{
    return g->c * g->fh * g->fw * g->oh * g->ow;
}

/* For a chunk of nb samples starting at sample n0 (the same n0 for x-side
 * operand b, which the caller already offsets): batches of independent
 * GEMMs, laid out as b[s][C*taps][hw] and y[n0 + s][K][hw]. */
static cly_status grouped_gemm(cly_context *ctx, const cly_conv_geom *g, int64_t nb, int64_t taps, int64_t hw,
                               cly_buf w, cly_buf b, int64_t b_sample, cly_buf y)
{
    const int64_t G = g->groups, kg = g->k / G, red = g->c / G * taps;
    const int64_t y_sample = g->k * hw;
    if (G == 1) {
        if (nb == 1)
            return cly_gemm(ctx, false, false, kg, hw, red, 1.0f, w, red, b, hw, 0.0f, y, hw);
        return cly_gemm_strided(ctx, false, false, kg, hw, red, 1.0f, w, red, 0, b, hw, b_sample, 0.0f, y, hw,
                                y_sample, nb);
    }
    /* Batch over whichever of samples and groups gives fewer calls; the
     * other stride is uniform (the weights repeat per sample: stride 0). */
    if (nb <= G) {
        for (int64_t s = 0; s < nb; s++) {
            cly_buf bs = {b.mem, b.offset + s * b_sample}, ys = {y.mem, y.offset + s * y_sample};
            cly_status st = cly_gemm_strided(ctx, false, false, kg, hw, red, 1.0f, w, red, kg * red, bs, hw,
                                             red * hw, 0.0f, ys, hw, kg * hw, G);
            if (st != CLY_SUCCESS)
                return st;
        }
        return CLY_SUCCESS;
    }
    for (int64_t gi = 0; gi < G; gi++) {
        cly_buf wg = {w.mem, w.offset + gi * kg * red}, bg = {b.mem, b.offset + gi * red * hw},
                yg = {y.mem, y.offset + gi * kg * hw};
        cly_status st = cly_gemm_strided(ctx, false, false, kg, hw, red, 1.0f, wg, red, 0, bg, hw, b_sample, 0.0f,
                                         yg, hw, y_sample, nb);
        if (st != CLY_SUCCESS)
            return st;
    }
    return CLY_SUCCESS;
}

/* y = relu?(y + bias) over nb samples of K planes of hw elements. */
static cly_status epilogue(cly_context *ctx, const cly_conv_geom *g, int64_t nb, int64_t hw, cly_buf bias, cly_buf y)
{
    return cly_bias_act(ctx, nb * g->k, g->k, hw, g->bias ? bias : (cly_buf){NULL, 0}, g->relu, y);
}

cly_status cly_conv_im2col_forward(cly_context *ctx, const cly_conv_geom *g, cly_buf x, cly_buf w, cly_buf bias,
                                   cly_buf y, cly_buf ws)
{
    const int64_t taps = g->fh * g->fw, hw = g->oh * g->ow;
    const int64_t per_sample = cly_conv_im2col_sample_floats(g);
    const int64_t chunk = cly_conv_chunk(ctx, per_sample, g->n);
    cl_kernel k;
    cly_status s = cly_kernel_get(ctx, PROGRAM, "", "im2col", &k);
    if (s != CLY_SUCCESS)
        return s;
    const size_t local[3] = {cly_tuning_of(ctx)->conv_group, 1, 1};
    for (int64_t n0 = 0; n0 < g->n; n0 += chunk) {
        const int64_t nb = g->n - n0 < chunk ? g->n - n0 : chunk;
        cly_args a = cly_args_for(ctx, k, "im2col");
        cly_arg_buf(&a, (cly_buf){x.mem, x.offset + n0 * g->c * g->h * g->w});
        cly_arg_buf(&a, ws);
        const int64_t ints[] = {g->c, g->h, g->w, g->fh, g->fw, g->sh, g->sw, g->pt, g->pl, g->dh, g->dw, g->oh, g->ow};
        cly_arg_ints(&a, ints, sizeof ints / sizeof ints[0]);
        const int64_t global[3] = {g->oh, g->c * taps, nb};
        if ((s = cly_launch(ctx, &a, 3, global, local)) != CLY_SUCCESS)
            return s;
        cly_buf yc = {y.mem, y.offset + n0 * g->k * hw};
        if ((s = grouped_gemm(ctx, g, nb, taps, hw, w, ws, per_sample, yc)) != CLY_SUCCESS)
            return s;
        if ((s = epilogue(ctx, g, nb, hw, bias, yc)) != CLY_SUCCESS)
            return s;
    }
    return CLY_SUCCESS;
}

cly_status cly_conv_gemm1x1_forward(cly_context *ctx, const cly_conv_geom *g, cly_buf x, cly_buf w, cly_buf bias,
                                    cly_buf y)
{
    const int64_t hw = g->h * g->w;
    cly_status s = grouped_gemm(ctx, g, g->n, 1, hw, w, x, g->c * hw, y);
    if (s != CLY_SUCCESS)
        return s;
    return epilogue(ctx, g, g->n, hw, bias, y);
}
