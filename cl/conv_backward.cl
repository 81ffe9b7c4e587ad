/* Convolution backward helpers (the GEMMs run in CLBlast). NCHW float32;
 * every tensor is a base buffer + element offset.
 *
 * col2im (gather form, so no atomics and a fixed summation order): for
 * input element (c, iy, ix) of one sample,
 *
 *   dx[c][iy][ix] = beta*dx[c][iy][ix] + sum over taps (i, j) with
 *       oy = (iy + PT - i*DH)/SH, ox = (ix + PL - j*DW)/SW both exact and in range
 *     of col[(c*FH + i)*FW + j][oy*OW + ox]
 *
 * where col (C*FH*FW x OH*OW) = W^T dY is the im2col-shaped gradient.
 * Work-item (ix, iy, c).
 *
 * bias_grad: db[k] = beta*db[k] + sum_{n, p < OH*OW} dy[n][k][p], one
 * work-item per k, summing in a fixed order (deterministic).
 */
#include "common.cl"

__kernel void col2im(__global const float *col, long col_off, __global float *dx, long dx_off, int C, int H, int W,
                     int FH, int FW, int SH, int SW, int PT, int PL, int DH, int DW, int OH, int OW, float beta)
{
    const int ix = get_global_id(0), iy = get_global_id(1), c = get_global_id(2);
    if (ix >= W || iy >= H || c >= C)
        return;
    const idx_t plane = (idx_t)OH * OW;
    __global const float *cc = col + col_off + (idx_t)c * FH * FW * plane;
    float acc = 0.0f;
    for (int i = 0; i < FH; i++) {
        const int ty = iy + PT - i * DH;
        if (ty < 0 || ty % SH)
            continue;
        const int oy = ty / SH;
        if (oy >= OH)
            continue;
        for (int j = 0; j < FW; j++) {
            const int tx = ix + PL - j * DW;
            if (tx < 0 || tx % SW)
                continue;
            const int ox = tx / SW;
            if (ox < OW)
                acc += cc[(idx_t)(i * FW + j) * plane + (idx_t)oy * OW + ox];
        }
    }
    __global float *out = dx + dx_off + ((idx_t)c * H + iy) * W + ix;
    *out = beta != 0.0f ? beta * *out + acc : acc;
}

__kernel void bias_grad(__global const float *dy, long dy_off, __global float *db, long db_off, int N, int K,
                        long HW, float beta)
{
    const int k = get_global_id(0);
    if (k >= K)
        return;
    float acc = 0.0f;
    for (int n = 0; n < N; n++) {
        __global const float *p = dy + dy_off + ((idx_t)n * K + k) * HW;
        for (idx_t e = 0; e < HW; e++)
            acc += p[e];
    }
    db[db_off + k] = beta != 0.0f ? beta * db[db_off + k] + acc : acc;
}
