/* Optimiser steps (kernels in cl/optim.cl): SGD with optional momentum and
 * Nesterov momentum in PyTorch's form, and Adam with bias correction; both
 * with L2 weight decay added to the gradient. The bias corrections 1 - b^t
 * are computed here in double, once per step, not per element. */
#include "runtime/launch.h"

#include <math.h>

/* Element-wise in place on w (and v, m): the buffers must be disjoint. */
static bool disjoint(int64_t count, const cly_buf *bufs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (cly_overlap(bufs[i], count, bufs[j], count))
                return false;
    return true;
}

cly_status cly_sgd_step(cly_context *ctx, int64_t count, float lr, float momentum, bool nesterov, float decay,
                        cly_buf w, cly_buf g, cly_buf v)
{
    if (count < 0 || !(momentum >= 0.0f) || (momentum != 0.0f && !v.mem) || (nesterov && momentum == 0.0f))
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT,
                        "sgd: count %lld, momentum %g (>= 0; a velocity buffer when > 0; > 0 for Nesterov)",
                        (long long)count, (double)momentum);
    const cly_buf bufs[] = {w, g, v};
    if (!disjoint(count, bufs, v.mem ? 3 : 2))
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "sgd: w, g and v overlap");
    cl_mem vm = v.mem ? v.mem : g.mem; /* untouched when momentum is 0, but must be a valid cl_mem */
    cl_long wo = w.offset, go = g.offset, vo = v.offset, cnt = count;
    cl_float l = lr, mom = momentum, dec = decay;
    cl_int nest = nesterov;
    const cly_karg a[] = {CLY_ARG(w.mem), CLY_ARG(wo), CLY_ARG(g.mem), CLY_ARG(go),  CLY_ARG(vm),  CLY_ARG(vo),
                          CLY_ARG(cnt),   CLY_ARG(l),  CLY_ARG(mom),   CLY_ARG(dec), CLY_ARG(nest)};
    return cly_launch_1d(ctx, "optim", "sgd", a, sizeof a / sizeof a[0], count);
}

cly_status cly_adam_step(cly_context *ctx, int64_t count, float lr, float b1, float b2, float eps, int64_t t,
                         float decay, cly_buf w, cly_buf g, cly_buf m, cly_buf v)
{
    if (count < 0 || t < 1 || !(b1 >= 0.0f && b1 < 1.0f) || !(b2 >= 0.0f && b2 < 1.0f) || !(eps >= 0.0f) || !m.mem ||
        !v.mem)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT,
                        "adam: count %lld, step %lld >= 1, b1 %g and b2 %g in [0, 1), eps %g >= 0, m and v required",
                        (long long)count, (long long)t, (double)b1, (double)b2, (double)eps);
    const cly_buf bufs[] = {w, g, m, v};
    if (!disjoint(count, bufs, 4))
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "adam: w, g, m and v overlap");
    /* 1 - b^t in double: for b2 = 0.999 and small t this is 1e-3, where a
     * float pow would already lose digits. */
    cl_float bc1 = (cl_float)(1.0 - pow((double)b1, (double)t)), bc2 = (cl_float)(1.0 - pow((double)b2, (double)t));
    cl_long wo = w.offset, go = g.offset, mo = m.offset, vo = v.offset, cnt = count;
    cl_float l = lr, B1 = b1, B2 = b2, e = eps, dec = decay;
    const cly_karg a[] = {CLY_ARG(w.mem), CLY_ARG(wo),  CLY_ARG(g.mem), CLY_ARG(go),  CLY_ARG(m.mem), CLY_ARG(mo),
                          CLY_ARG(v.mem), CLY_ARG(vo),  CLY_ARG(cnt),   CLY_ARG(l),   CLY_ARG(B1),    CLY_ARG(B2),
                          CLY_ARG(e),     CLY_ARG(bc1), CLY_ARG(bc2),   CLY_ARG(dec)};
    return cly_launch_1d(ctx, "optim", "adam", a, sizeof a / sizeof a[0], count);
}
