/* conv_pack: the zero-padded, stride-phase split copy of a chunk of samples
 * that conv_direct.cl and conv_direct_oc.cl read (conv_direct.cl's header
 * has the layout):
 *
 *   xp[s][c][cph][rph][rq][q] = x[s][c][rq*SH + rph - PT][q*SW + cph - PL]
 *   (0 outside x), cph < SW, rph < SH, rq < HQ, q < QW.
 *
 * Work-item (row, c, s), row = (cph*SH + rph)*HQ + rq, writes one row of QW.
 * SH and SW (the strides) come from the including file. */
#ifndef CLY_CONV_PACK_CL
#define CLY_CONV_PACK_CL

#include "common.cl"

__kernel void conv_pack(__global const real *x, long x_off, __global real *xp, long xp_off, int C, int H, int W,
                        int HQ, int QW, int PT, int PL)
{
    const int row = get_global_id(0);
    const int c = get_global_id(1);
    const int s = get_global_id(2);
    if (row >= SW * SH * HQ || c >= C)
        return;
    const int cph = row / (SH * HQ), rph = row / HQ % SH, rq = row % HQ;
    __global real *out = xp + xp_off + (((idx_t)s * C + c) * SW * SH * HQ + row) * QW;
    const int iy = rq * SH + rph - PT;
    if (iy < 0 || iy >= H) {
        for (int q = 0; q < QW; q++)
            out[q] = 0.0f;
        return;
    }
    __global const real *in = x + x_off + NCHW(s, c, iy, 0, C, H, W);
    /* Columns q*SW + cph - PL: zero left of the input, then the input, then zero. */
    const int q_lo = min(QW, (PL - cph + SW - 1) / SW);
    const int q_hi = max(q_lo, min(QW, (W + PL - cph + SW - 1) / SW));
    for (int q = 0; q < q_lo; q++)
        out[q] = 0.0f;
    for (int q = q_lo; q < q_hi; q++)
        out[q] = in[q * SW + cph - PL];
    for (int q = q_hi; q < QW; q++)
        out[q] = 0.0f;
}

#endif
