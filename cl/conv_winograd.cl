/* Winograd convolution F(MT x MT, 3 x 3), NCHW, real (float or double), for
 * 3x3 filters at stride 1, dilation 1, one group (Lavin & Gray, "Fast
 * Algorithms for Convolutional Neural Networks", 2015). With A = MT + 2
 * (4 or 6) and T = A*A transform points e:
 *
 *   U[e][kt][c][a] = (G g[kt*KT + a][c] G^T)[e]             (wino_filter)
 *   V[e][c][p] = (B^T d[c][p] B)[e]                        (wino_input)
 *   M[e][k][p] = sum_c U[e][k/KT][c][k%KT] * V[e][c][p]    (wino_gemm)
 *   y[s][k][ty*MT + i][tx*MT + j] = relu?(bias[k] + (A^T M[.][k][p] A)[i][j])
 *                                                          (wino_output)
 *
 * where p = (s*TH + ty)*TW + tx numbers the output tiles of a chunk of
 * samples (TH x TW tiles of MT x MT per sample), and d[c][p] is the A x A
 * input patch at rows ty*MT - PT .. + A-1, columns tx*MT - PL .. + A-1 of
 * channel c of sample s (0 outside the input: the padding is applied here,
 * so any padding works). Tiles p in [P, PP) are zero in V, and PP is a
 * multiple of the GEMM's TY*VW so its loads need no bounds checks; outputs
 * past OH x OW are computed and dropped. U holds KTILES*KT rows, those past
 * K zero, in panels of KT rows interleaved along c: the GEMM reads one
 * stream of KT values per c instead of KT streams C apart (with C a power
 * of two those collide in the same cache sets).
 *
 * wino_gemm: T independent GEMMs. Work-item (kt, pt, e) holds a register
 * tile of KT rows k (k0 = kt*KT + a; rows past K are not stored) x TY*VW
 * consecutive tiles p (p0 = pt*TY*VW + b*VW + lane) as
 * KT*TY vectors of VW, as conv_direct does: per c, TY vector loads of V,
 * one scalar of U per row broadcast, KT*TY fused multiply-adds. Work-items
 * next to each other in dimension 0 share their V panel (C x TY*VW), which
 * stays in cache while the K rows pass over it.
 *
 * The other three are one work-item per (tile, channel) or (k, c) pair:
 * their cost is a few operations per element, the GEMM's is C (or K) per
 * element.
 *
 * Tuning (-D): MT output tile (2 or 4); VW vector width (1, 2, 4, 8, 16),
 * KT, TY of the GEMM tile.
 */
#include "common.cl"

#ifndef MT
#define MT 2 /* outputs per tile side: F(2x2,3x3) or F(4x4,3x3) */
#endif
#ifndef VW
#define VW 16 /* floats per vector: 1, 2, 4, 8 or 16 */
#endif
#ifndef KT
#define KT 6 /* rows of K per work-item */
#endif
#ifndef TY
#define TY 4 /* vectors of VW tiles per work-item */
#endif

#define AL (MT + 2)     /* input tile side */
#define NT (AL * AL)    /* transform points */

#include "vector.cl"

/* The transform matrices as literals, so that after unrolling the compiler
 * folds the zeros and ones away. F(4x4,3x3) uses the points 0, +-1, +-2
 * and infinity, the usual choice for the least error. */
#if MT == 2
#define BT_ROWS {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}}
#define G_ROWS {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}}
#define AT_ROWS {{1, 1, 1, 0}, {0, 1, -1, -1}}
#elif MT == 4
#define BT_ROWS                                                                                                       \
    {{4, 0, -5, 0, 1, 0}, {0, -4, -4, 1, 1, 0}, {0, 4, -4, -1, 1, 0},                                               \
     {0, -2, -1, 2, 1, 0}, {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1}}
#define G_ROWS                                                                                                        \
    {{1.0 / 4, 0, 0},                                                                                                 \
     {-1.0 / 6, -1.0 / 6, -1.0 / 6},                                                                                  \
     {-1.0 / 6, 1.0 / 6, -1.0 / 6},                                                                                   \
     {1.0 / 24, 1.0 / 12, 1.0 / 6},                                                                                   \
     {1.0 / 24, -1.0 / 12, 1.0 / 6},                                                                                  \
     {0, 0, 1}}
#define AT_ROWS {{1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}}
#else
#error "MT must be 2 or 4"
#endif

/* acc (+)= coef * val for a coefficient known at compile time: zero terms
 * vanish and +-1 needs no multiply (IEEE rules forbid the compiler to drop
 * 0 * v or a + 0 itself). `started` says whether acc holds a term yet;
 * acc and val are reals or floatvs. */
#define LIN(acc, started, coef, val)                                                \
    do {                                                                            \
        const real c_ = (coef);                                                     \
        if (c_ != 0) {                                                              \
            if (started)                                                            \
                acc += c_ == 1 ? (val) : c_ == -1 ? -(val) : c_ * (val);            \
            else                                                                    \
                acc = c_ == 1 ? (val) : c_ == -1 ? -(val) : c_ * (val);             \
            started = true;                                                         \
        }                                                                           \
    } while (0)

/* out = sum_{l_ < n} coef * val (expressions in l_) through LIN, in type T. */
#define COMBINE(T, out, n, coef, val)                                               \
    do {                                                                            \
        T a_ = 0;                                                                   \
        bool on_ = false;                                                           \
        _Pragma("unroll") for (int l_ = 0; l_ < (n); l_++) LIN(a_, on_, coef, val); \
        out = a_;                                                                   \
    } while (0)

/* U for work-item (c, k), k < KTILES*KT. */
__kernel void wino_filter(__global const real *w, long w_off, __global real *U, long u_off, int C, int K,
                          int KTILES)
{
    const int c = get_global_id(0), k = get_global_id(1);
    if (c >= C || k >= KTILES * KT)
        return;
    const real G[AL][3] = G_ROWS;
    __global const real *g = w + w_off + ((idx_t)min(k, K - 1) * C + c) * 9;
    const bool real_row = k < K;
    real gg[3][3], t[AL][3];
#pragma unroll
    for (int i = 0; i < 3; i++)
#pragma unroll
        for (int j = 0; j < 3; j++)
            gg[i][j] = real_row ? g[i * 3 + j] : 0;
#pragma unroll
    for (int i = 0; i < AL; i++)
#pragma unroll
        for (int j = 0; j < 3; j++)
            COMBINE(real, t[i][j], 3, G[i][l_], gg[l_][j]);
    __global real *u = U + u_off + ((idx_t)(k / KT) * C + c) * KT + k % KT;
    const idx_t estride = (idx_t)KTILES * KT * C;
#pragma unroll
    for (int i = 0; i < AL; i++)
#pragma unroll
        for (int j = 0; j < AL; j++)
            COMBINE(real, u[(i * AL + j) * estride], 3, G[j][l_], t[i][l_]);
}

/* Lane l of a floatv (l a constant after unrolling). */
#if VW == 1
#define LANE(v, l) (v)
#else
#define LANE(v, l) (((real *)&(v))[l])
#endif


/* Elements j, j+MT, ..., j+(VW-1)*MT of r, a vector (constant indices:
 * the compiler turns them into shuffles of the loaded vectors). */
#define R_(r, j, l) r[(l) * MT + (j)]
#if VW == 1
#define GATHER(r, j) R_(r, j, 0)
#elif VW == 2
#define GATHER(r, j) (floatv)(R_(r, j, 0), R_(r, j, 1))
#elif VW == 4
#define GATHER(r, j) (floatv)(R_(r, j, 0), R_(r, j, 1), R_(r, j, 2), R_(r, j, 3))
#elif VW == 8
#define GATHER(r, j)                                                                                                  \
    (floatv)(R_(r, j, 0), R_(r, j, 1), R_(r, j, 2), R_(r, j, 3), R_(r, j, 4), R_(r, j, 5), R_(r, j, 6), R_(r, j, 7))
#else
#define GATHER(r, j)                                                                                                  \
    (floatv)(R_(r, j, 0), R_(r, j, 1), R_(r, j, 2), R_(r, j, 3), R_(r, j, 4), R_(r, j, 5), R_(r, j, 6), R_(r, j, 7), \
             R_(r, j, 8), R_(r, j, 9), R_(r, j, 10), R_(r, j, 11), R_(r, j, 12), R_(r, j, 13), R_(r, j, 14),       \
             R_(r, j, 15))
#endif
/* Vectors of VW that cover the (VW-1)*MT + A columns of VW tiles. */
#define NV (MT + (VW >= 2 ? 1 : 2))

/* V[e][c][p0 .. p0+n-1] for work-item (gx, R, c): tile row R = s*TH + ty of
 * the chunk, tiles tx0 = gx*VW .. tx0+n-1 of that row (n = min(VW, TW -
 * tx0)), p0 = R*TW + tx0. It reads xp, the chunk zero-padded by conv_pack
 * (conv_direct.cl): xp[s][c][r][q] = x[s][c][r - PT][q - PL], HQ rows of
 * QW, wide enough for whole vectors past the last tile, so there are no
 * bounds checks. Per input row: NV vector loads, then each column j of the
 * patch as one vector over the VW tiles; the transform runs on vectors; a
 * row's last, partial group stores lane by lane. The last work-item of a
 * channel zeroes tiles P .. PP-1. */
__kernel void wino_input(__global const real *xp, long xp_off, __global real *V, long v_off, int C, int TH, int TW,
                         int HQ, int QW, int NR, int GX, int P, int PP)
{
    const int gx = get_global_id(0), R = get_global_id(1), c = get_global_id(2);
    if (gx >= GX || R >= NR || c >= C)
        return;
    const int s = R / TH, ty = R % TH, tx0 = gx * VW;
    __global const real *q = xp + xp_off + ((idx_t)s * C + c) * HQ * QW + (idx_t)ty * MT * QW + tx0 * MT;
    floatv d[AL][AL];
#pragma unroll
    for (int i = 0; i < AL; i++) {
        union {
            floatv v[NV];
            real s[NV * VW];
        } row;
#pragma unroll
        for (int k = 0; k < NV; k++)
            row.v[k] = VLOAD(q + i * QW + k * VW);
#pragma unroll
        for (int j = 0; j < AL; j++)
            d[i][j] = GATHER(row.s, j);
    }
    const real BT[AL][AL] = BT_ROWS;
    floatv t[AL][AL];
#pragma unroll
    for (int i = 0; i < AL; i++)
#pragma unroll
        for (int j = 0; j < AL; j++)
            COMBINE(floatv, t[i][j], AL, BT[i][l_], d[l_][j]);
    const idx_t estride = (idx_t)C * PP;
    __global real *v = V + v_off + (idx_t)c * PP + (idx_t)R * TW + tx0;
    const int n = min(VW, TW - tx0);
#pragma unroll
    for (int i = 0; i < AL; i++)
#pragma unroll
        for (int j = 0; j < AL; j++) {
            floatv a;
            COMBINE(floatv, a, AL, BT[j][l_], t[i][l_]);
            __global real *ve = v + (i * AL + j) * estride;
            if (n == VW) {
                VSTORE(a, ve);
            } else {
#pragma unroll
                for (int l = 0; l < VW; l++)
                    if (l < n)
                        ve[l] = LANE(a, l);
            }
        }
    if (R == NR - 1 && gx == GX - 1)
        for (int e = 0; e < NT; e++)
            for (int p = P; p < PP; p++)
                V[v_off + e * estride + (idx_t)c * PP + p] = 0;
}

/* M[e] = U[e] V[e] for work-item (kt, pt, e). */
__kernel void wino_gemm(__global const real *U, long u_off, __global const real *V, long v_off, __global real *M,
                        long m_off, int K, int C, int PP, int KTILES, int PTILES)
{
    const int kt = get_global_id(0), pt = get_global_id(1), e = get_global_id(2);
    if (kt >= KTILES || pt >= PTILES)
        return;
    const int k0 = kt * KT, p0 = pt * (TY * VW);
    __global const real *u = U + u_off + ((idx_t)e * KTILES + kt) * C * KT;
    __global const real *v = V + v_off + (idx_t)e * C * PP + p0;

    floatv acc[KT][TY];
#pragma unroll
    for (int a = 0; a < KT; a++)
#pragma unroll
        for (int b = 0; b < TY; b++)
            acc[a][b] = (floatv)0;

    for (int c = 0; c < C; c++) {
        __global const real *vc = v + (idx_t)c * PP;
        floatv vv[TY];
#pragma unroll
        for (int b = 0; b < TY; b++)
            vv[b] = VLOAD(vc + b * VW);
#pragma unroll
        for (int a = 0; a < KT; a++) {
            const floatv uv = (floatv)u[c * KT + a];
#pragma unroll
            for (int b = 0; b < TY; b++)
                acc[a][b] = fma(vv[b], uv, acc[a][b]);
        }
    }
#pragma unroll
    for (int a = 0; a < KT; a++) {
        if (k0 + a >= K)
            break;
        __global real *out = M + m_off + ((idx_t)e * K + k0 + a) * PP + p0;
#pragma unroll
        for (int b = 0; b < TY; b++)
            VSTORE(acc[a][b], out + b * VW);
    }
}

/* y for work-item (pv, k): the MT x MT output tiles p0 .. p0+VW-1, p0 =
 * pv*VW, transformed as vectors, bias and ReLU fused, stored lane by lane. */
__kernel void wino_output(__global const real *M, long m_off, __global const real *bias, long bias_off,
                          __global real *y, long y_off, int K, int OH, int OW, int TH, int TW, int P, int PP,
                          int has_bias, int relu)
{
    const int pv = get_global_id(0), k = get_global_id(1);
    const int p0 = pv * VW;
    if (p0 >= P || k >= K)
        return;
    const real AT[MT][AL] = AT_ROWS;
    __global const real *m = M + m_off + (idx_t)k * PP + p0;
    const idx_t estride = (idx_t)K * PP;
    floatv mm[AL][AL], t[MT][AL], o[MT][MT];
#pragma unroll
    for (int i = 0; i < AL; i++)
#pragma unroll
        for (int j = 0; j < AL; j++)
            mm[i][j] = VLOAD(m + (i * AL + j) * estride);
#pragma unroll
    for (int i = 0; i < MT; i++)
#pragma unroll
        for (int j = 0; j < AL; j++)
            COMBINE(floatv, t[i][j], AL, AT[i][l_], mm[l_][j]);
    const real bv = has_bias ? bias[bias_off + k] : 0;
#pragma unroll
    for (int i = 0; i < MT; i++)
#pragma unroll
        for (int j = 0; j < MT; j++) {
            floatv a;
            COMBINE(floatv, a, AL, AT[j][l_], t[i][l_]);
            a += (floatv)bv;
            o[i][j] = relu ? CLY_RELU(a) : a;
        }
    int s = p0 / (TH * TW), ty = p0 % (TH * TW) / TW, tx = p0 % TW;
#pragma unroll
    for (int l = 0; l < VW; l++) {
        if (p0 + l < P) {
            const int oy0 = ty * MT, ox0 = tx * MT;
            __global real *out = y + y_off + ((idx_t)s * K + k) * OH * OW;
#pragma unroll
            for (int i = 0; i < MT; i++)
#pragma unroll
                for (int j = 0; j < MT; j++)
                    if (oy0 + i < OH && ox0 + j < OW)
                        out[(idx_t)(oy0 + i) * OW + ox0 + j] = LANE(o[i][j], l);
        }
        if (++tx == TW) {
            tx = 0;
            if (++ty == TH) {
                ty = 0;
                s++;
            }
        }
    }
}
