/* Parameter updates, one parameter per work-item over a 1-D range (64-bit
 * ids i < count). g is the mean gradient; weight decay enters as L2 on the
 * loss (decay/2 |w|^2), i.e. gd = g + decay * w, computed in a register (g
 * itself is not modified).
 *
 *   sgd:  momentum != 0:  v = momentum * v + gd
 *                         w -= lr * (nesterov ? gd + momentum * v : v)
 *         momentum == 0:  w -= lr * gd            (v is not touched)
 *         (PyTorch's SGD without dampening; v starts at 0)
 *   adam: m = b1 m + (1 - b1) gd;  v = b2 v + (1 - b2) gd^2
 *         w -= lr * (m / bc1) / (sqrt(v / bc2) + eps),
 *         bc1 = 1 - b1^t, bc2 = 1 - b2^t from the host (step t >= 1)
 *         (PyTorch's Adam, decay as its weight_decay: L2, not AdamW) */
#include "common.cl"

__kernel void sgd(__global real *w, long wo, __global const real *g, long go, __global real *v, long vo, long count,
                  real lr, real momentum, real decay, int nesterov)
{
    const idx_t i = get_global_id(0);
    if (i >= count)
        return;
    const real wi = w[wo + i];
    const real gd = g[go + i] + decay * wi;
    real step = gd;
    if (momentum != 0.0f) {
        const real vi = momentum * v[vo + i] + gd;
        v[vo + i] = vi;
        step = nesterov ? gd + momentum * vi : vi;
    }
    w[wo + i] = wi - lr * step;
}

__kernel void adam(__global real *w, long wo, __global const real *g, long go, __global real *m, long mo,
                   __global real *v, long vo, long count, real lr, real b1, real b2, real eps, real bc1,
                   real bc2, real decay)
{
    const idx_t i = get_global_id(0);
    if (i >= count)
        return;
    const real wi = w[wo + i];
    const real gd = g[go + i] + decay * wi;
    const real mi = b1 * m[mo + i] + (1.0f - b1) * gd;
    const real vi = b2 * v[vo + i] + (1.0f - b2) * (gd * gd);
    m[mo + i] = mi;
    v[vo + i] = vi;
    w[wo + i] = wi - lr * (mi / bc1) / (sqrt(vi / bc2) + eps);
}
