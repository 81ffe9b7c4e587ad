/* CLBlast references for conv_bench (conv_clblast.h). A benchmark may call
 * CLBlast directly; in the library only src/blas.c does. */
#include "conv_clblast.h"

#include <clblast_c.h>
#include <stdio.h>

static cly_status clblast_status(cly_context *ctx, CLBlastStatusCode code, const char *what)
{
    if (code == CLBlastSuccess)
        return CLY_SUCCESS;
    if (code < 0 && code > -100)
        return cly_fail_cl(ctx, (cl_int)code, "%s", what);
    return cly_fail(ctx, CLY_ERROR_OPENCL, "%s: CLBlast status %d%s", what, (int)code,
                    code == CLBlastNotImplemented ? " (not implemented)" : "");
}

static bool symmetric_padding(const cly_conv_geom *g, const char *who, char *why, size_t size)
{
    if (g->pt == g->pb && g->pl == g->pr)
        return true;
    snprintf(why, size, "%s takes one padding per axis; this layer pads top/bottom %lld/%lld, left/right %lld/%lld",
             who, (long long)g->pt, (long long)g->pb, (long long)g->pl, (long long)g->pr);
    return false;
}

bool clblast_convgemm_supports(const cly_conv_geom *g, char *why, size_t size)
{
    if (g->groups != 1) {
        snprintf(why, size, "Convgemm has no groups (this layer has %lld)", (long long)g->groups);
        return false;
    }
    return symmetric_padding(g, "Convgemm", why, size);
}

cly_status clblast_convgemm(cly_context *ctx, const cly_conv_geom *g, cl_mem x, cl_mem w, cl_mem y)
{
    cl_command_queue q = ctx->queue;
    return clblast_status(ctx,
                          CLBlastSconvgemm(CLBlastKernelModeCrossCorrelation, (size_t)g->c, (size_t)g->h, (size_t)g->w,
                                           (size_t)g->fh, (size_t)g->fw, (size_t)g->pt, (size_t)g->pl, (size_t)g->sh,
                                           (size_t)g->sw, (size_t)g->dh, (size_t)g->dw, (size_t)g->k, (size_t)g->n, x,
                                           0, w, 0, y, 0, &q, NULL),
                          "CLBlastSconvgemm");
}

bool clblast_im2col_supports(const cly_conv_geom *g, char *why, size_t size)
{
    return symmetric_padding(g, "CLBlast im2col", why, size);
}

int64_t clblast_im2col_floats(const cly_conv_geom *g)
{
    return g->c / g->groups * g->fh * g->fw * g->oh * g->ow;
}

cly_status clblast_im2col_sgemm(cly_context *ctx, const cly_conv_geom *g, cl_mem x, cl_mem w, cl_mem y, cl_mem col)
{
    cl_command_queue q = ctx->queue;
    const int64_t cg = g->c / g->groups, kg = g->k / g->groups, rows = cg * g->fh * g->fw, cols = g->oh * g->ow;
    cly_status s = CLY_SUCCESS;
    for (int64_t n = 0; n < g->n && s == CLY_SUCCESS; n++)
        for (int64_t gi = 0; gi < g->groups && s == CLY_SUCCESS; gi++) {
            const size_t x_off = (size_t)(((n * g->groups + gi) * cg) * g->h * g->w);
            const size_t y_off = (size_t)(((n * g->groups + gi) * kg) * cols);
            s = clblast_status(ctx,
                               CLBlastSim2col(CLBlastKernelModeCrossCorrelation, (size_t)cg, (size_t)g->h,
                                              (size_t)g->w, (size_t)g->fh, (size_t)g->fw, (size_t)g->pt, (size_t)g->pl,
                                              (size_t)g->sh, (size_t)g->sw, (size_t)g->dh, (size_t)g->dw, x, x_off,
                                              col, 0, &q, NULL),
                               "CLBlastSim2col");
            if (s == CLY_SUCCESS)
                s = clblast_status(ctx,
                                   CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeNo,
                                                (size_t)kg, (size_t)cols, (size_t)rows, 1.0f, w,
                                                (size_t)(gi * kg * rows), (size_t)rows, col, 0, (size_t)cols, 0.0f, y,
                                                y_off, (size_t)cols, &q, NULL),
                                   "CLBlastSgemm");
        }
    return s;
}
