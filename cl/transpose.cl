/* 2-D transpose of a row-major block, both sides with a leading dimension:
 *
 *   dst[c*LDD + r] = src[r*LDS + c]      for r < R, c < C
 *
 * Work-item (column tile, row tile) moves one TB x TB tile through private
 * memory: TB contiguous reads per source row, TB contiguous writes per
 * destination row, the tile loops unrolled so that pocl turns them into
 * vector loads and shuffles (a work-item per element stays scalar there).
 * Edge tiles take the same loops with bounds checks. */
#include "common.cl"

#ifndef TB
#define TB 8 /* tile side: 16 rows 36 KiB apart thrash L1 sets (AlexNet fc6 w^T: 51 -> 27 ms; fc1 0.11 -> 0.08) */
#endif

__kernel void transpose(__global const real *src, long src_off, long lds, __global real *dst, long dst_off, long ldd,
                        int R, int C)
{
    const int c0 = get_global_id(0) * TB, r0 = get_global_id(1) * TB;
    if (r0 >= R || c0 >= C)
        return;
    __global const real *s = src + src_off + (idx_t)r0 * lds + c0;
    __global real *d = dst + dst_off + (idx_t)c0 * ldd + r0;
    real t[TB][TB];
    if (r0 + TB <= R && c0 + TB <= C) {
        #pragma unroll
        for (int r = 0; r < TB; r++)
            #pragma unroll
            for (int c = 0; c < TB; c++)
                t[r][c] = s[r * lds + c];
        #pragma unroll
        for (int c = 0; c < TB; c++)
            #pragma unroll
            for (int r = 0; r < TB; r++)
                d[c * ldd + r] = t[r][c];
        return;
    }
    const int rn = min(TB, R - r0), cn = min(TB, C - c0);
    for (int r = 0; r < rn; r++)
        for (int c = 0; c < cn; c++)
            t[r][c] = s[r * lds + c];
    for (int c = 0; c < cn; c++)
        for (int r = 0; r < rn; r++)
            d[c * ldd + r] = t[r][c];
}
