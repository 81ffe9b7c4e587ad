/* Locally connected layer, backward (forward in conv_local.cl). With
 * Cg = C/G, Kg = K/G, p = oy*OW + ox, iy = oy*SH - PT + i*DH,
 * ix = ox*SW - PL + j*DW:
 *
 *   dw[p][k][c][i][j] = beta*dw + sum_n dy[n][k][p] * x[n][g*Cg + c][iy][ix]   (0 outside)
 *   db[k][p]          = beta*db + sum_n dy[n][k][p]
 *   dx[n][C'][iy][ix] = beta*dx + sum over taps (i, j) with exact in-range
 *                       oy = (iy + PT - i*DH)/SH, ox = (ix + PL - j*DW)/SW, and
 *                       k in the group of C', of dy[n][k][p] * w[p][k][C' - g*Cg][i][j]
 *
 * Each output element is gathered by one work-item in a fixed order: no
 * atomics, bit-identical across runs.
 */
#include "common.cl"

__kernel void local_grad_weights(__global const real *x, long x_off, __global const real *dy, long dy_off,
                                 __global real *dw, long dw_off, int N, int C, int H, int W, int K, int G, int FH,
                                 int FW, int SH, int SW, int PT, int PL, int DH, int DW, int OH, int OW, float beta)
{
    const int cg = C / G, taps = FH * FW;
    const idx_t e = get_global_id(0); /* over OH*OW*K*cg*taps */
    const idx_t total = (idx_t)OH * OW * K * cg * taps;
    if (e >= total)
        return;
    const int j = e % FW, i = (e / FW) % FH, c = (e / taps) % cg;
    const int k = (e / ((idx_t)taps * cg)) % K;
    const int p = e / ((idx_t)taps * cg * K);
    const int oy = p / OW, ox = p % OW, g = k / (K / G);
    const int iy = oy * SH - PT + i * DH, ix = ox * SW - PL + j * DW;
    real acc = 0.0f;
    if (iy >= 0 && iy < H && ix >= 0 && ix < W)
        for (int n = 0; n < N; n++)
            acc += dy[dy_off + NCHW(n, k, oy, ox, K, OH, OW)] * x[x_off + NCHW(n, g * cg + c, iy, ix, C, H, W)];
    __global real *out = dw + dw_off + e;
    *out = beta != 0.0f ? beta * *out + acc : acc;
}

__kernel void local_grad_bias(__global const real *dy, long dy_off, __global real *db, long db_off, int N, int K,
                              int P, float beta)
{
    const idx_t e = get_global_id(0); /* k*P + p */
    if (e >= (idx_t)K * P)
        return;
    real acc = 0.0f;
    for (int n = 0; n < N; n++)
        acc += dy[dy_off + (idx_t)n * K * P + e];
    __global real *out = db + db_off + e;
    *out = beta != 0.0f ? beta * *out + acc : acc;
}

__kernel void local_grad_data(__global const real *w, long w_off, __global const real *dy, long dy_off,
                              __global real *dx, long dx_off, int N, int C, int H, int W, int K, int G, int FH,
                              int FW, int SH, int SW, int PT, int PL, int DH, int DW, int OH, int OW, float beta)
{
    const idx_t e = get_global_id(0); /* over N*C*H*W */
    if (e >= (idx_t)N * C * H * W)
        return;
    const int ix = e % W, iy = (e / W) % H, cc = (e / ((idx_t)W * H)) % C;
    const int n = e / ((idx_t)W * H * C);
    const int cg = C / G, kg = K / G, g = cc / cg, c = cc % cg;
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
            const int ox = tx / SW, p = oy * OW + ox;
            for (int k = g * kg; k < (g + 1) * kg; k++)
                acc += dy[dy_off + NCHW(n, k, oy, ox, K, OH, OW)] *
                       w[w_off + ((((idx_t)p * K + k) * cg + c) * FH + i) * FW + j];
        }
    }
    __global real *out = dx + dx_off + e;
    *out = beta != 0.0f ? beta * *out + acc : acc;
}
