/* im2col: the columns of convolution as GEMM, one body (im2col_row) and two
 * thin entry points that differ only in where a row lands. NCHW; every
 * tensor is a base buffer + element offset.
 *
 * For sample s of a chunk of NB, input channel c (all C channels; group g
 * owns rows c in [g*C/G, (g+1)*C/G), which are contiguous), tap (i, j),
 * r = (c*FH + i)*FW + j, p = oy*OW + ox, P = OH*OW:
 *
 *   v(s, r, p) = x[s][c][oy*SH - PT + i*DH][ox*SW - PL + j*DW]
 *                (0 outside the input: zero padding)
 *
 *   im2col   (forward):  col[s][r][p] = v, per sample a (C*FH*FW) x P matrix
 *                        whose group-g block of rows multiplies the
 *                        K/G x (C/G*FH*FW) weight block of group g
 *   im2col_t (backward): col[r][s*P + p] = v, "channel-major": one GEMM per
 *                        group covers the whole chunk (conv_backward.c)
 *
 * Work-item (oy, r, s) writes the OW entries of one row segment, in order.
 */
#include "common.cl"

#define IM2COL_ARGS                                                                                              \
    __global const real *x, long x_off, __global real *col, long col_off, int C, int H, int W, int FH, int FW,  \
        int SH, int SW, int PT, int PL, int DH, int DW, int OH, int OW

/* Row segment (oy, r) of sample s into out[0 .. OW). */
static void im2col_row(__global const real *x, long x_off, __global real *out, int C, int H, int W, int FH, int FW,
                       int SH, int SW, int PT, int PL, int DH, int DW, int OW, int oy, int r, int s)
{
    const int taps = FH * FW;
    const int c = r / taps, i = (r % taps) / FW, j = r % FW;
    const int iy = oy * SH - PT + i * DH;
    if (iy < 0 || iy >= H) {
        for (int ox = 0; ox < OW; ox++)
            out[ox] = 0.0f;
        return;
    }
    __global const real *row = x + x_off + NCHW(s, c, iy, 0, C, H, W);
    const int ix0 = j * DW - PL;
    for (int ox = 0; ox < OW; ox++) {
        const int ix = ix0 + ox * SW;
        out[ox] = ix >= 0 && ix < W ? row[ix] : 0.0f;
    }
}

__kernel void im2col(IM2COL_ARGS)
{
    const int oy = get_global_id(0), r = get_global_id(1), s = get_global_id(2);
    if (oy >= OH || r >= C * FH * FW)
        return;
    __global real *out = col + col_off + (((idx_t)s * C * FH * FW + r) * OH + oy) * OW;
    im2col_row(x, x_off, out, C, H, W, FH, FW, SH, SW, PT, PL, DH, DW, OW, oy, r, s);
}

__kernel void im2col_t(IM2COL_ARGS, int NB)
{
    const int oy = get_global_id(0), r = get_global_id(1), s = get_global_id(2);
    if (oy >= OH || r >= C * FH * FW)
        return;
    __global real *out = col + col_off + (idx_t)r * NB * OH * OW + ((idx_t)s * OH + oy) * OW;
    im2col_row(x, x_off, out, C, H, W, FH, FW, SH, SW, PT, PL, DH, DW, OW, oy, r, s);
}
