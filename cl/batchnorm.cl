/* Batch normalisation, inference form, NCHW, one element per work-item over
 * a 3-D range (p, c, n) = get_global_id(0, 1, 2), the first two rounded up
 * to the work-group and guarded (no division per element), or on CPUs a
 * plane per work-item (BN_APPLY below):
 *
 *   i = (n*C + c)*HW + p
 *   y[yo + i] = scale[c] * (x[xo + i] - mean[c]) / sqrt(var[c] + eps) + shift[c]
 *
 * scale, shift, mean, var are C floats each, at their own offsets. y may be
 * x (in place): each work-item reads and writes only element i.
 *
 * Training. Channel c holds M = N*HW elements e = n*HW + p at
 * (n*C + c)*HW + p. bn_stats and bn_backward run one work-group of L (a
 * power of two) work-items per channel: work-item l takes e = l, l + L, ...
 * and the partial sums meet in a fixed tree in local memory (group_sum):
 * no atomics, so every run gives the same bits.
 *
 *   bn_stats:       mean = sum x / M;  var = sum (x - mean)^2 / M  (biased, two
 *                   passes for accuracy);  save_mean = mean,
 *                   save_invstd = 1 / sqrt(var + eps), save_var = var when
 *                   want_var != 0 (1/invstd^2 - eps would lose it); when update != 0:
 *                   running_mean = (1 - m) running_mean + m mean,
 *                   running_var  = (1 - m) running_var  + m var * M/(M - 1)
 *   bn_train_apply: one element per work-item (3-D, like batchnorm):
 *                   y = scale * ((x - save_mean) * save_invstd) + shift
 *   bn_backward:    xhat = (x - mean) * invstd;  dshift = sum dy;
 *                   dscale = sum dy * xhat;
 *                   dx = scale * invstd * (dy - dshift/M - xhat * dscale/M)
 *                   each stored as beta*old + new (beta == 0 overwrites);
 *                   dscale, dshift, dx each skipped when its flag is 0. The
 *                   raw sums dx needs stay in the group, so dx comes from the
 *                   same kernel; dx may be dy (each element is read, then
 *                   written, by the same work-item). */
#include "common.cl"

#ifndef BN_CONTIGUOUS
#define BN_CONTIGUOUS 0 /* 1: contiguous slices (CPUs), 0: strided walk (the tuning table's default row) */
#endif
#ifndef VW
#define VW 1 /* the contiguous walks' vector width (the device's preferred float width) */
#endif

#include "vector.cl"

/* The element-wise apply of batchnorm and bn_train_apply,
 *   y = a * ((x - b) * d) + h   with a, b, d, h per channel,
 * as its own macro so that both layouts compute the same expression. With
 * BN_CONTIGUOUS (CPUs) a work-item takes a whole plane (c, n) =
 * get_global_id(1, 2) (cly_launch_rows), its factors read and 1/sqrt
 * computed once, the plane streamed 8 at a time: the per-element form, a
 * square root and a division per element, ran 13x slower than a ReLU on
 * pocl. Otherwise (GPUs) an element per work-item (cly_launch_planes). */
#define BN_APPLY(y, x, c, a, b, d, h)                                       \
    do {                                                                    \
        if (BN_CONTIGUOUS) {                                                \
            const int c = get_global_id(1);                                 \
            if (c >= C)                                                     \
                return;                                                     \
            const idx_t base_ = ((idx_t)get_global_id(2) * C + c) * HW;     \
            __global const real *x_ = (x) + base_;                          \
            __global real *y_ = (y) + base_;                                \
            const real a_ = (a), b_ = (b), d_ = (d), h_ = (h);              \
            int p_ = 0;                                                     \
            for (; p_ + 8 <= HW; p_ += 8)                                   \
                vstore8(a_ * ((vload8(0, x_ + p_) - b_) * d_) + h_, 0, y_ + p_); \
            for (; p_ < HW; p_++)                                           \
                y_[p_] = a_ * ((x_[p_] - b_) * d_) + h_;                    \
        } else {                                                            \
            PLANE_ELEMENT(p_, c, i_, HW, C);                                \
            (y)[i_] = (a) * (((x)[i_] - (b)) * (d)) + (h);                  \
        }                                                                   \
    } while (0)

__kernel void batchnorm(__global const real *x, long xo, __global const real *scale, long so,
                        __global const real *shift, long ho, __global const real *mean, long mo,
                        __global const real *var, long vo, __global real *y, long yo, int C, int HW, real eps)
{
    BN_APPLY(y + yo, x + xo, c, scale[so + c], mean[mo + c], 1.0f / sqrt(var[vo + c] + eps), shift[ho + c]);
}

/* The sum of v over the work-group, in a fixed order; every work-item gets
 * it. scratch holds get_local_size(0) floats, a power of two. */
static real group_sum(__local real *scratch, real v)
{
    const int l = (int)get_local_id(0), L = (int)get_local_size(0);
    scratch[l] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = L / 2; s > 0; s >>= 1) {
        if (l < s)
            scratch[l] += scratch[l + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const real total = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE); /* everyone has read it before scratch is reused */
    return total;
}

/* Work-item l of a channel's group visits e = l, l + L, ... < M, element e
 * sitting at (n*C + c)*HW + p with n = e / HW, p = e % HW. The walk keeps n
 * and p by adding L and carrying, not by dividing (a 64-bit division per
 * element cost more than the arithmetic); the order is unchanged. */
#if BN_CONTIGUOUS
/* CPUs run a group's work-items one after another: each walks its own
 * contiguous slice [l*S, (l+1)*S) of the channel, S = ceil(M/L) rounded up
 * to whole vectors, which streams through memory instead of striding by L,
 * in runs that stay in one plane: VW elements at a time (vbody, on floatv
 * at `at`), the rest of a run one at a time (sbody). The work-item keeps
 * VW-lane partial sums and adds them up in a fixed order (vsum). pocl 3.1,
 * AMD EPYC, the 20 batch norms of a ResNet-18 batch-8 training step, 256
 * work-items a channel: bn_stats 84 ms with the scalar walk (an element a
 * step), 55 with this one, the element-wise apply 6.5 (the rest of the gap
 * was bn_local: tuning.c). */
#define BN_WALK_V(vbody, sbody)                                            \
    do {                                                                   \
        const idx_t S_ = ((M + L - 1) / L + VW - 1) / VW * VW;            \
        const idx_t e0_ = min(l * S_, M), e1_ = min(e0_ + S_, M);          \
        idx_t n_ = e0_ / HW, p_ = e0_ % HW, e_ = e0_;                      \
        while (e_ < e1_) {                                                 \
            const idx_t run_ = min(HW - p_, e1_ - e_), b_ = (n_ * C + c) * HW + p_; \
            idx_t q_ = 0;                                                  \
            for (; q_ + VW <= run_; q_ += VW) {                            \
                const idx_t at = b_ + q_;                                  \
                vbody;                                                     \
            }                                                              \
            for (; q_ < run_; q_++) {                                      \
                const idx_t at = b_ + q_;                                  \
                sbody;                                                     \
            }                                                              \
            e_ += run_;                                                    \
            p_ = 0;                                                        \
            n_++;                                                          \
        }                                                                  \
    } while (0)
#else
/* GPUs: the strided walk, an element at a time (VW is 1). */
#define BN_WALK_V(vbody, sbody) BN_WALK(sbody)
#define BN_WALK(body)                                                      \
    do {                                                                   \
        idx_t n_ = l / HW, p_ = l % HW;                                    \
        for (idx_t e_ = l; e_ < M; e_ += L) {                              \
            const idx_t at = (n_ * C + c) * HW + p_;                       \
            body;                                                          \
            p_ += L;                                                       \
            while (p_ >= HW) {                                             \
                p_ -= HW;                                                  \
                n_++;                                                      \
            }                                                              \
        }                                                                  \
    } while (0)
#endif

__kernel void bn_stats(__global const real *x, long xo, __global real *save_mean, long smo,
                       __global real *save_invstd, long sio, __global real *save_var, long svo,
                       __global real *rmean, long rmo, __global real *rvar, long rvo, int update, int want_var,
                       long N, long C, long HW, real eps, real momentum, real unbias,
                       __local real *scratch)
{
    const idx_t c = get_group_id(0), M = N * HW;
    const idx_t l = get_local_id(0), L = get_local_size(0);
    __global const real *xp = x + xo;
    real s = 0.0f;
    floatv sv = (floatv)0.0f;
    BN_WALK_V(sv += VLOAD(xp + at), s += xp[at]);
    const real mean = group_sum(scratch, vsum(sv) + s) / (real)M;
    real q = 0.0f;
    floatv qv = (floatv)0.0f;
    BN_WALK_V(const floatv d = VLOAD(xp + at) - mean; qv = fma(d, d, qv), const real d = xp[at] - mean;
              q = fma(d, d, q));
    const real var = group_sum(scratch, vsum(qv) + q) / (real)M;
    if (l == 0) {
        save_mean[smo + c] = mean;
        save_invstd[sio + c] = 1.0f / sqrt(var + eps);
        if (want_var)
            save_var[svo + c] = var;
        if (update) {
            rmean[rmo + c] = (1.0f - momentum) * rmean[rmo + c] + momentum * mean;
            rvar[rvo + c] = (1.0f - momentum) * rvar[rvo + c] + momentum * (var * unbias);
        }
    }
}

__kernel void bn_train_apply(__global const real *x, long xo, __global const real *scale, long so,
                             __global const real *shift, long ho, __global const real *save_mean, long smo,
                             __global const real *save_invstd, long sio, __global real *y, long yo, int C, int HW)
{
    BN_APPLY(y + yo, x + xo, c, scale[so + c], save_mean[smo + c], save_invstd[sio + c], shift[ho + c]);
}

__kernel void bn_backward(__global const real *x, long xo, __global const real *scale, long so,
                          __global const real *save_mean, long smo, __global const real *save_invstd, long sio,
                          __global const real *dy, long dyo, __global real *dx, long dxo, __global real *dscale,
                          long dso, __global real *dshift, long dho, int want_dx, int want_dscale, int want_dshift,
                          long N, long C, long HW, float beta, __local real *scratch)
{
    const idx_t c = get_group_id(0), M = N * HW;
    const idx_t l = get_local_id(0), L = get_local_size(0);
    const real mean = save_mean[smo + c], invstd = save_invstd[sio + c];
    real sdy = 0.0f, sdyx = 0.0f;
    floatv vdy = (floatv)0.0f, vdyx = (floatv)0.0f;
    BN_WALK_V(const floatv g = VLOAD(dy + dyo + at); vdy += g; vdyx = fma(g, VLOAD(x + xo + at) - mean, vdyx),
              const real g = dy[dyo + at]; sdy += g; sdyx = fma(g, x[xo + at] - mean, sdyx));
    const real dsh = group_sum(scratch, vsum(vdy) + sdy);
    const real dsc = group_sum(scratch, vsum(vdyx) + sdyx) * invstd;
    if (l == 0) {
        if (want_dscale)
            STORE_GRAD(&dscale[dso + c], dsc, beta);
        if (want_dshift)
            STORE_GRAD(&dshift[dho + c], dsh, beta);
    }
    if (!want_dx)
        return;
    const real k = scale[so + c] * invstd, mdy = dsh / (real)M, mdx = dsc / (real)M;
    BN_WALK_V(const floatv xhat = (VLOAD(x + xo + at) - mean) * invstd;
              const floatv g = k * (VLOAD(dy + dyo + at) - mdy - xhat * mdx);
              VSTORE(beta == 0.0f ? g : fma((floatv)(real)beta, VLOAD(dx + dxo + at), g), dx + dxo + at),
              const real xhat = (x[xo + at] - mean) * invstd; const real g = k * (dy[dyo + at] - mdy - xhat * mdx);
              STORE_GRAD(&dx[dxo + at], g, beta));
}

/* bn_frozen_backward: the inference form's gradients (a plan's batch norm
 * in inference mode), the running statistics held constant:
 * invstd = 1 / sqrt(var + eps), xhat = (x - mean) * invstd; dshift = sum dy;
 * dscale = sum dy * xhat; dx = scale * invstd * dy. Each skipped when its
 * flag is 0, each overwritten; x may be dy when dscale is skipped. */
__kernel void bn_frozen_backward(__global const real *x, long xo, __global const real *scale, long so,
                                 __global const real *mean, long mo, __global const real *var, long vo,
                                 __global const real *dy, long dyo, __global real *dx, long dxo,
                                 __global real *dscale, long dso, __global real *dshift, long dho, int want_dx,
                                 int want_dscale, int want_dshift, long N, long C, long HW, real eps,
                                 __local real *scratch)
{
    const idx_t c = get_group_id(0), M = N * HW;
    const idx_t l = get_local_id(0), L = get_local_size(0);
    const real invstd = 1.0f / sqrt(var[vo + c] + eps), mu = mean[mo + c];
    /* The sums run unconditionally: pocl's barriers must not sit in a branch. */
    real sdy = 0.0f, sdyx = 0.0f;
    floatv vdy = (floatv)0.0f, vdyx = (floatv)0.0f;
    BN_WALK_V(const floatv g = VLOAD(dy + dyo + at); vdy += g; vdyx = fma(g, VLOAD(x + xo + at) - mu, vdyx),
              const real g = dy[dyo + at]; sdy += g; sdyx = fma(g, x[xo + at] - mu, sdyx));
    const real dsh = group_sum(scratch, vsum(vdy) + sdy);
    const real dsc = group_sum(scratch, vsum(vdyx) + sdyx) * invstd;
    if (l == 0) {
        if (want_dscale)
            dscale[dso + c] = dsc;
        if (want_dshift)
            dshift[dho + c] = dsh;
    }
    if (!want_dx)
        return;
    const real k = scale[so + c] * invstd;
    BN_WALK_V(VSTORE(k * VLOAD(dy + dyo + at), dx + dxo + at), dx[dxo + at] = k * dy[dyo + at]);
}
