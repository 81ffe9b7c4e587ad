/* Convolution backward helpers around the GEMMs. NCHW, real (float or
 * double); every tensor is a base buffer + element offset. A chunk of NB
 * samples is handled at once in "channel-major" layouts, so that each
 * group's weight gradient is one GEMM whose inner dimension runs over
 * samples and positions together (P = OH*OW, R = C*FH*FW). The columns come
 * from im2col_t (im2col.cl), the bias gradient from bias_grad (eltwise.cl).
 *
 *   dy_t:      t[k][s*P + p] = dy[s][k][p]            work-item (k, s) copies P
 *   col2im_t (gather form: no atomics, fixed summation order):
 *              dx[s][c][iy][ix] = beta*dx + sum over taps (i, j) with
 *              oy = (iy + PT - i*DH)/SH, ox = (ix + PL - j*DW)/SW exact and in
 *              range of col[(c*FH + i)*FW + j][s*P + oy*OW + ox]
 *              work-item (iy, s*C + c) writes one row of W
 *
 * subpixel_interleave writes dX from the phase outputs of a strided layer's
 * data gradient (conv_backward_subpixel.c; the direct kernel reads the
 * filters of every phase in place, as of the stride-1 flipped path).
 */
#include "common.cl"

__kernel void dy_t(__global const real *dy, long dy_off, __global real *t, long t_off, int K, int P, int NB)
{
    const int k = get_global_id(0), s = get_global_id(1);
    if (k >= K || s >= NB)
        return;
    __global const real *from = dy + dy_off + ((idx_t)s * K + k) * P;
    __global real *to = t + t_off + (idx_t)k * NB * P + (idx_t)s * P;
    for (int p = 0; p < P; p++)
        to[p] = from[p];
}

__kernel void col2im_t(__global const real *col, long col_off, __global real *dx, long dx_off, int C, int H, int W,
                       int FH, int FW, int SH, int SW, int PT, int PL, int DH, int DW, int OH, int OW, int NB,
                       float beta)
{
    /* One input row per work-item. */
    const int iy = get_global_id(0), sc = get_global_id(1);
    if (iy >= H || sc >= NB * C)
        return;
    const int s = sc / C, c = sc % C;
    const idx_t P = (idx_t)OH * OW, row = (idx_t)NB * P;
    __global const real *cc = col + col_off + (idx_t)c * FH * FW * row + (idx_t)s * P;
    __global real *out = dx + dx_off + NCHW(s, c, iy, 0, C, H, W);
    for (int ix = 0; ix < W; ix++) {
        real acc = 0.0f;
        for (int i = 0; i < FH; i++) {
            const int ty = iy + PT - i * DH;
            if (ty < 0 || ty % SH || ty / SH >= OH)
                continue;
            const int oy = ty / SH;
            for (int j = 0; j < FW; j++) {
                const int tx = ix + PL - j * DW;
                if (tx < 0 || tx % SW || tx / SW >= OW)
                    continue;
                acc += cc[(idx_t)(i * FW + j) * row + (idx_t)oy * OW + tx / SW];
            }
        }
        out[ix] = beta != 0.0f ? beta * out[ix] + acc : acc;
    }
}

/* Taps of a filter of extent F (stride S, leading padding P) in phase r:
 * those f < F with (r + P - f) % S == 0 (conv_backward_subpixel.c). */
static int phase_taps(int F, int S, int P, int r)
{
    const int m = (r + P) % S;
    return m < F ? (F - 1 - m) / S + 1 : 0;
}

/* subpixel_interleave (depth to space): with Hq(r) = ceil((H - r)/SH),
 * Wq(r) = ceil((W - r)/SW), phase (ry, rx) holds ph_p[s][c][qy][qx] at
 *   base(ry, rx) = NB*C*(W * sum_{r<ry} Hq(r) + Hq(ry) * sum_{r<rx} Wq(r)),
 *   dx[s][c][qy*SH + ry][qx*SW + rx] = beta*dx + ph_p[s][c][qy][qx]
 * (0 for a phase without taps). Work-item (iy, s*C + c) writes one row. */
__kernel void subpixel_interleave(__global const real *ph, long ph_off, __global real *dx, long dx_off, int C, int H,
                                  int W, int FH, int FW, int SH, int SW, int PT, int PL, int NB, float beta)
{
    const int iy = get_global_id(0), sc = get_global_id(1);
    if (iy >= H || sc >= NB * C)
        return;
    const int ry = iy % SH, qy = iy / SH, hq = (H - ry + SH - 1) / SH;
    const bool rows_empty = phase_taps(FH, SH, PT, ry) == 0;
    int rows = 0, cols = 0;
    for (int r = 0; r < ry; r++)
        rows += (H - r + SH - 1) / SH;
    __global real *out = dx + dx_off + ((idx_t)sc * H + iy) * W;
    for (int rx = 0; rx < SW; rx++) {
        const int wq = (W - rx + SW - 1) / SW;
        const bool empty = rows_empty || phase_taps(FW, SW, PL, rx) == 0;
        __global const real *in = ph + ph_off + (idx_t)NB * C * ((idx_t)rows * W + (idx_t)hq * cols) +
                                  ((idx_t)sc * hq + qy) * wq;
        for (int qx = 0; qx < wq; qx++) {
            const real v = empty ? 0.0f : in[qx];
            const int ix = qx * SW + rx;
            out[ix] = beta != 0.0f ? beta * out[ix] + v : v;
        }
        cols += wq;
    }
}
