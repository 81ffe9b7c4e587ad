/* The data gradient of a strided, undilated convolution by sub-pixel
 * (phase) decomposition: split dX by stride phase, input row
 * iy = qy*SH + ry for ry < SH (columns alike, rx < SW). Filter row i reaches
 * phase ry exactly when (ry + PT - i) % SH == 0, and then from dY row
 * oy = qy + e_i, e_i = (ry + PT - i) / SH. So each phase (ry, rx) is a
 * stride-1 correlation of dY with the sub-filter of its taps, flipped (taps
 * in increasing e, i.e. decreasing i), top padding -min e_i, Hq =
 * ceil((H - ry) / SH) rows: the direct forward kernel runs it, C filters of
 * K/G channels, groups as the forward. A phase without taps (1x1 stride 2
 * has three) is zero. The direct kernel reads each sub-filter in place
 * through a view of w (phase_view: no pass copies them), and one launch
 * (subpixel_interleave) writes dX from all phase outputs (depth to space).
 * Where a phase would need negative padding (its taps all lie past the
 * output row at qy: padding beyond the filter, or e.g. 3x3 stride 3 pad 1),
 * the row refuses and col2im runs (conv_pack zero-fills for padding >= 0
 * only).
 *
 * Workspace, phases in order ry-major: every phase output [N][C][Hq][Wq]
 * (N*C*H*W in all) | the largest direct-kernel scratch of a phase. */
#include "kernels/conv_internal.h"

#include <stdio.h>

#define PROGRAM "conv_backward"

/* Taps of a filter of extent f (stride s, leading padding p) in phase r. */
static int64_t phase_taps(int64_t f, int64_t s, int64_t p, int64_t r)
{
    const int64_t m = (r + p) % s; /* the smallest tap of the phase */
    return m < f ? (f - 1 - m) / s + 1 : 0;
}

/* The padding before the phase's first output: -e of its largest tap. */
static int64_t phase_pad(int64_t f, int64_t s, int64_t p, int64_t r)
{
    const int64_t m = (r + p) % s, last = m + (phase_taps(f, s, p, r) - 1) * s;
    return (last - r - p) / s;
}

bool cly_conv_subpixel_phase(const cly_conv_geom *g, int64_t ry, int64_t rx, cly_conv_geom *sub)
{
    const int64_t fh = phase_taps(g->fh, g->sh, g->pt, ry), fw = phase_taps(g->fw, g->sw, g->pl, rx);
    const int64_t hq = (g->h - ry + g->sh - 1) / g->sh, wq = (g->w - rx + g->sw - 1) / g->sw;
    *sub = (cly_conv_geom){.n = g->n, .c = g->k, .h = g->oh, .w = g->ow, .k = g->c, .fh = fh, .fw = fw,
                           .sh = 1, .sw = 1, .dh = 1, .dw = 1, .groups = g->groups, .oh = hq, .ow = wq};
    if (!fh || !fw || !hq || !wq)
        return false;
    sub->pt = phase_pad(g->fh, g->sh, g->pt, ry);
    sub->pl = phase_pad(g->fw, g->sw, g->pl, rx);
    /* The padding that makes OH + pt + pb - fh + 1 = Hq; it may be negative
     * (rows of dY no dX row reads). The direct kernel reads pt, pl and the
     * explicit oh, ow, zero-filling beyond dY; pb, pr only tell it whether
     * an unpadded 1x1 can read dY in place, which needs them exact. */
    sub->pb = hq - g->oh - sub->pt + fh - 1;
    sub->pr = wq - g->ow - sub->pl + fw - 1;
    return true;
}

bool cly_conv_subpixel_geom_ok(const cly_conv_geom *g, char *why, size_t size)
{
    if (g->dh != 1 || g->dw != 1) {
        snprintf(why, size, "needs dilation 1; this layer has dilation %lldx%lld", (long long)g->dh,
                 (long long)g->dw);
        return false;
    }
    for (int64_t ry = 0; ry < g->sh; ry++)
        for (int64_t rx = 0; rx < g->sw; rx++) {
            cly_conv_geom sub;
            if (cly_conv_subpixel_phase(g, ry, rx, &sub) && (sub.pt < 0 || sub.pl < 0)) {
                snprintf(why, size,
                         "phase (%lld, %lld) would need negative padding (its first dX row or column reads no dY "
                         "at distance 0): a %lldx%lld filter, stride %lldx%lld, padding top %lld, left %lld",
                         (long long)ry, (long long)rx, (long long)g->fh, (long long)g->fw, (long long)g->sh,
                         (long long)g->sw, (long long)g->pt, (long long)g->pl);
                return false;
            }
        }
    return true;
}

int64_t cly_conv_subpixel_workspace(const cly_context *ctx, const cly_conv_geom *g)
{
    int64_t scratch = 0;
    for (int64_t ry = 0; ry < g->sh; ry++)
        for (int64_t rx = 0; rx < g->sw; rx++) {
            cly_conv_geom sub;
            if (cly_conv_subpixel_phase(g, ry, rx, &sub)) {
                const int64_t v = cly_conv_workspace(ctx, CLY_CONV_DIRECT, &sub);
                scratch = v > scratch ? v : scratch;
            }
        }
    return g->n * g->c * g->h * g->w + scratch;
}

/* The view of w that is phase (ry, rx)'s flipped sub-filter: its tap
 * (ty, tx) is filter tap (last_i - ty*SH, last_j - tx*SW), read in place
 * transposed as in the stride-1 flipped path. */
static cly_conv_wview phase_view(const cly_conv_geom *g, int64_t ry, int64_t rx)
{
    const int64_t taps = g->fh * g->fw, kg = g->k / g->groups, cg = g->c / g->groups;
    const int64_t mi = (ry + g->pt) % g->sh, mj = (rx + g->pl) % g->sw;
    const int64_t last_i = mi + (phase_taps(g->fh, g->sh, g->pt, ry) - 1) * g->sh;
    const int64_t last_j = mj + (phase_taps(g->fw, g->sw, g->pl, rx) - 1) * g->sw;
    return (cly_conv_wview){.base = last_i * g->fw + last_j, .g = kg * cg * taps, .k = taps, .c = cg * taps,
                            .i = -g->sh * g->fw, .j = -g->sw};
}

cly_status cly_conv_backward_data_subpixel(cly_context *ctx, const cly_conv_geom *g, cly_buf dy, cly_buf w,
                                           cly_buf dx, float beta, cly_buf ws)
{
    char why[256];
    if (!cly_conv_subpixel_geom_ok(g, why, sizeof why))
        return cly_fail(ctx, CLY_ERROR_UNSUPPORTED, "convolution backward data, subpixel-direct: %s", why);
    const int64_t nx = g->n * g->c * g->h * g->w;
    const cly_buf ph = ws, scratch = {ws.mem, ws.offset + nx};
    cl_kernel ki;
    cly_status s = cly_kernel_get(ctx, PROGRAM, "", "subpixel_interleave", &ki);
    if (s != CLY_SUCCESS)
        return s;
    /* Phase offsets advance over empty phases too, as the kernel counts. */
    int64_t xoff = 0;
    for (int64_t ry = 0; ry < g->sh; ry++)
        for (int64_t rx = 0; rx < g->sw; rx++) {
            cly_conv_geom sub;
            if (cly_conv_subpixel_phase(g, ry, rx, &sub) &&
                (s = cly_conv_direct_forward_view(ctx, &sub, dy, w, phase_view(g, ry, rx), (cly_buf){NULL, 0},
                                                  (cly_buf){ph.mem, ph.offset + xoff}, scratch)) != CLY_SUCCESS)
                return s;
            xoff += g->n * g->c * sub.oh * sub.ow;
        }
    cly_args b = cly_args_for(ctx, ki, "subpixel interleave");
    cly_arg_buf(&b, ph);
    cly_arg_buf(&b, dx);
    const int64_t ints[] = {g->c, g->h, g->w, g->fh, g->fw, g->sh, g->sw, g->pt, g->pl, g->n};
    cly_arg_ints(&b, ints, sizeof ints / sizeof ints[0]);
    cly_arg_float(&b, beta);
    const int64_t global[2] = {g->h, g->n * g->c};
    return cly_launch(ctx, &b, 2, global, NULL);
}
