/* Max and average pooling shaped for CPUs (the tuning row's pool_rows):
 * the same results as pool.cl's kernels, bit for bit, in fewer and longer
 * work-items, which is what pocl compiles well (benchmarks/pool_bench.c).
 * Float contexts only (the masks of select() are ints).
 *
 * Forward, a work-item per output row (oy, plane nc = get_global_id(2)):
 * the columns whose windows lie inside the input (interior) go VW outputs
 * at a time as vectors, the border columns one by one, each with pool.cl's
 * rules: max takes the first maximum in row-major window order (a NaN
 * wins), its argmax y*W + x; average sums the in-input cells in row-major
 * order and divides by the same divisor.
 *
 * Backward with beta = 0, a work-item per plane: dx is zeroed, then every
 * output in ascending (oy, ox) order adds its share to the cells of its
 * window (max: to its argmax; average: dy / divisor to each in-input
 * cell). Each cell thus receives the same terms in the same order as
 * pool.cl's gather, so the sums are the same, without atomics.
 *
 * -D: VW (1, 2, 4, 8, 16), PS the horizontal stride (a compile-time
 * constant, so strided loads become shuffles of wide ones), POOL_SWIZZLE. */
#include "pool_window.cl"

#ifndef VW
#define VW 16
#endif
#ifndef PS
#define PS 1
#endif
/* 0: no .even/.odd swizzles, whose vector shuffles crash oclgrind 21.10's
 * uninitialised-value checker (the oclgrind tests build with 0). */
#ifndef POOL_SWIZZLE
#define POOL_SWIZZLE 1
#endif

#include "vector.cl"

/* Lane indices, for the argmax. */
#if VW == 1
typedef int intv;
#define LANES 0
#else
typedef CAT(int, VW) intv;
#if VW == 2
#define LANES (intv)(0, 1)
#elif VW == 4
#define LANES (intv)(0, 1, 2, 3)
#elif VW == 8
#define LANES (intv)(0, 1, 2, 3, 4, 5, 6, 7)
#else
#define LANES (intv)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
#endif
#endif

/* Lanes l = 0 .. VW-1 of p[l * PS]. */
#if PS == 1 || VW == 1
#define GATHER(p) VLOAD(p)
#elif PS == 2 && POOL_SWIZZLE
/* p[0], p[2], .. p[VW-2] and p[VW], .. p[2VW-2]: no load past the last lane.
 * Twice as fast as the element-wise gather on pocl. */
#define GATHER(p) ((floatv)(VLOAD(p).even, VLOAD((p) + VW - 1).odd))
#else
static inline floatv gather(__global const real *p)
{
    real t[VW];
    for (int l = 0; l < VW; l++)
        t[l] = p[l * PS];
    return CAT(vload, VW)(0, t);
}
#define GATHER(p) gather(p)
#endif

#define POOL_ARGS                                                                                               \
    __global const real *in, long in_off, __global real *out, long out_off, __global int *argmax,            \
        long argmax_off, int flag, int H, int W, int OH, int OW, int FH, int FW, int SH, int SW, int PT, int PL, \
        int PB, int PR

/* The output row's columns [*lo, *hi) whose windows lie inside the input. */
static inline void interior(int W, int OW, int FW, int PL, int *lo, int *hi)
{
    *lo = min(OW, (PL + PS - 1) / PS);
    *hi = W + PL - FW < 0 ? *lo : max(*lo, min(OW, (W + PL - FW) / PS + 1));
}

/* One output of the border columns, as pool.cl computes it. */
static inline void max_one(__global const real *plane, int ox, int ya, int yb, int W, int FW, int PL,
                           __global real *o, __global int *a, int flag)
{
    const int x0 = ox * PS - PL, xa = max(x0, 0), xb = min(x0 + FW, W);
    int best_idx;
    o[ox] = window_max(plane, W, ya, yb, xa, xb, &best_idx);
    if (flag)
        a[ox] = best_idx;
}

__kernel void pool_max_row(POOL_ARGS)
{
    const int oy = get_global_id(1);
    if (oy >= OH)
        return;
    const idx_t nc = get_global_id(2);
    const int y0 = oy * SH - PT, ya = max(y0, 0), yb = min(y0 + FH, H);
    __global const real *plane = in + in_off + nc * H * W;
    __global real *o = out + out_off + (nc * OH + oy) * OW;
    __global int *a = argmax + argmax_off + (nc * OH + oy) * OW;
    int lo, hi, ox = 0;
    interior(W, OW, FW, PL, &lo, &hi);
    for (; ox < lo; ox++)
        max_one(plane, ox, ya, yb, W, FW, PL, o, a, flag);
    for (; ox + VW <= hi; ox += VW) {
        const int x0 = ox * PS - PL;
        floatv best = GATHER(plane + ya * W + x0);
        intv best_idx = (intv)(ya * W + x0) + LANES * PS;
        for (int y = ya; y < yb; y++)
            for (int dx = 0; dx < FW; dx++) {
                const floatv v = GATHER(plane + y * W + x0 + dx);
                const intv take = (v > best) | isnan(v);
                best = select(best, v, take);
                best_idx = select(best_idx, (intv)(y * W + x0 + dx) + LANES * PS, take);
            }
        VSTORE(best, o + ox);
        if (flag)
            VSTORE(best_idx, a + ox);
    }
    for (; ox < OW; ox++)
        max_one(plane, ox, ya, yb, W, FW, PL, o, a, flag);
}

/* One output of the border columns, as pool.cl computes it. */
static inline void avg_one(__global const real *plane, int ox, int y0, int ya, int yb, int ye, int W, int FW,
                           int PL, int PR, int exclude, __global real *o)
{
    const int x0 = ox * PS - PL, xa = max(x0, 0), xb = min(x0 + FW, W), xe = min(x0 + FW, W + PR);
    const real sum = window_sum(plane, W, ya, yb, xa, xb);
    const int divisor = exclude ? (yb - ya) * (xb - xa) : (ye - y0) * (xe - x0);
    o[ox] = sum / (real)divisor;
}

__kernel void pool_avg_row(POOL_ARGS)
{
    const int oy = get_global_id(1);
    if (oy >= OH)
        return;
    const idx_t nc = get_global_id(2);
    const int y0 = oy * SH - PT, ya = max(y0, 0), yb = min(y0 + FH, H), ye = min(y0 + FH, H + PB);
    __global const real *plane = in + in_off + nc * H * W;
    __global real *o = out + out_off + (nc * OH + oy) * OW;
    int lo, hi, ox = 0;
    interior(W, OW, FW, PL, &lo, &hi);
    for (; ox < lo; ox++)
        avg_one(plane, ox, y0, ya, yb, ye, W, FW, PL, PR, flag, o);
    /* Inside, a window's columns are all in the input: one divisor per row. */
    const real divisor = (real)((flag ? yb - ya : ye - y0) * FW);
    for (; ox + VW <= hi; ox += VW) {
        const int x0 = ox * PS - PL;
        floatv sum = 0.0f;
        for (int y = ya; y < yb; y++)
            for (int dx = 0; dx < FW; dx++)
                sum += GATHER(plane + y * W + x0 + dx);
        VSTORE(sum / divisor, o + ox);
    }
    for (; ox < OW; ox++)
        avg_one(plane, ox, y0, ya, yb, ye, W, FW, PL, PR, flag, o);
}

/* ---- backward, beta = 0 */

__kernel void pool_max_scatter(__global const int *argmax, long argmax_off, __global const real *dy, long dy_off,
                               __global real *dx, long dx_off, long planes, int HW, int OHW)
{
    const idx_t nc = get_global_id(0);
    if (nc >= planes)
        return;
    __global const int *a = argmax + argmax_off + nc * OHW;
    __global const real *g = dy + dy_off + nc * OHW;
    __global real *d = dx + dx_off + nc * HW;
    for (int i = 0; i < HW; i++)
        d[i] = 0.0f;
    for (int o = 0; o < OHW; o++)
        if ((uint)a[o] < (uint)HW) /* the forward's, so always; never write outside the plane */
            d[a[o]] += g[o];
}

__kernel void pool_avg_scatter(__global const real *dy, long dy_off, __global real *dx, long dx_off, long planes,
                               int exclude, int H, int W, int OH, int OW, int FH, int FW, int SH, int SW, int PT,
                               int PL, int PB, int PR)
{
    const idx_t nc = get_global_id(0);
    if (nc >= planes)
        return;
    __global const real *g = dy + dy_off + nc * OH * OW;
    __global real *d = dx + dx_off + nc * H * W;
    for (int i = 0; i < H * W; i++)
        d[i] = 0.0f;
    for (int oy = 0; oy < OH; oy++) {
        const int y0 = oy * SH - PT;
        const int ya = max(y0, 0), yb = min(y0 + FH, H), ye = min(y0 + FH, H + PB);
        for (int ox = 0; ox < OW; ox++) {
            const int x0 = ox * SW - PL;
            const int xa = max(x0, 0), xb = min(x0 + FW, W), xe = min(x0 + FW, W + PR);
            const int divisor = exclude ? (yb - ya) * (xb - xa) : (ye - y0) * (xe - x0);
            const real share = g[oy * OW + ox] / (real)divisor;
            for (int y = ya; y < yb; y++)
                for (int x = xa; x < xb; x++)
                    d[y * W + x] += share;
        }
    }
}
