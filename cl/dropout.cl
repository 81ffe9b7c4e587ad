/* Inverted dropout with a counter-based mask, one element per work-item over
 * a 1-D range (64-bit ids i < count):
 *
 *   h(seed, i) = mix(mix(mix(mix(lo(seed) ^ 0x9e3779b9) ^ hi(seed)) ^ lo(i)) ^ hi(i))
 *   mix(h):      h ^= h >> 16; h *= 0x7feb352d; h ^= h >> 15; h *= 0x846ca68b;
 *                h ^= h >> 16                     (32-bit "lowbias32" finaliser)
 *   keep(i)  =   h(seed, i) >= T,  T = ceil(p * 2^32) (host), so P(keep) = 1 - p
 *   dropout_forward:  y[yo + i] = keep(i) ? x[xo + i] * scale : 0,  scale = 1/(1 - p)
 *   dropout_backward: g = keep(i) ? dy[dyo + i] * scale : 0;
 *                     dx[dxo + i] = beta * dx + g (beta == 0 overwrites)
 *
 * The mask is a pure function of (seed, i): backward recomputes exactly the
 * forward's mask, nothing is stored, and every run repeats it. Outputs may
 * coincide with inputs (element-wise). */
#include "common.cl"

static uint mix32(uint h)
{
    h ^= h >> 16;
    h *= 0x7feb352du;
    h ^= h >> 15;
    h *= 0x846ca68bu;
    h ^= h >> 16;
    return h;
}

static bool keep(ulong seed, ulong i, ulong T)
{
    uint h = mix32((uint)seed ^ 0x9e3779b9u);
    h = mix32(h ^ (uint)(seed >> 32));
    h = mix32(h ^ (uint)i);
    h = mix32(h ^ (uint)(i >> 32));
    return (ulong)h >= T;
}

__kernel void dropout_forward(__global const real *x, long xo, __global real *y, long yo, long count, ulong seed,
                              ulong T, real scale)
{
    const idx_t i = get_global_id(0);
    if (i >= count)
        return;
    y[yo + i] = keep(seed, (ulong)i, T) ? x[xo + i] * scale : 0.0f;
}

__kernel void dropout_backward(__global const real *dy, long dyo, __global real *dx, long dxo, long count,
                               ulong seed, ulong T, real scale, float beta)
{
    const idx_t i = get_global_id(0);
    if (i >= count)
        return;
    const real g = keep(seed, (ulong)i, T) ? dy[dyo + i] * scale : 0.0f;
    STORE_GRAD(&dx[dxo + i], g, beta);
}
