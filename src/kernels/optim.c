/* Optimiser steps (kernels in cl/optim.cl): SGD with optional momentum and
 * Nesterov momentum in PyTorch's form, and Adam with bias correction; both
 * with L2 weight decay added to the gradient. The bias corrections 1 - b^t
 * are computed here in double, once per step, not per element, from b as
 * the kernel sees it. Every scalar reaches the kernel as a `real` (double
 * on a FLOAT64 context). */
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

cly_status cly_sgd_step(cly_context *ctx, int64_t count, double lr, double momentum, bool nesterov, double decay,
                        cly_buf w, cly_buf g, cly_buf v)
{
    if (count < 0 || !(momentum >= 0.0) || (momentum != 0.0 && !v.mem) || (nesterov && momentum == 0.0))
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT,
                        "sgd: count %lld, momentum %g (>= 0; a velocity buffer when > 0; > 0 for Nesterov)",
                        (long long)count, momentum);
    const cly_buf bufs[] = {w, g, v};
    if (!disjoint(count, bufs, v.mem ? 3 : 2))
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "sgd: w, g and v overlap");
    cly_args a;
    cly_args_begin(ctx, &a, "optim", "", "sgd");
    cly_arg_buf(&a, w);
    cly_arg_buf(&a, g);
    cly_arg_buf(&a, (cly_buf){v.mem ? v.mem : g.mem, v.offset}); /* untouched when momentum is 0, but must be a valid cl_mem */
    cly_arg_long(&a, count);
    cly_arg_real(&a, lr);
    cly_arg_real(&a, momentum);
    cly_arg_real(&a, decay);
    cly_arg_int(&a, nesterov);
    return cly_launch_1d(ctx, &a, count);
}

cly_status cly_adam_step(cly_context *ctx, int64_t count, double lr, double b1, double b2, double eps, int64_t t,
                         double decay, cly_buf w, cly_buf g, cly_buf m, cly_buf v)
{
    if (count < 0 || t < 1 || !(b1 >= 0.0 && b1 < 1.0) || !(b2 >= 0.0 && b2 < 1.0) || !(eps >= 0.0) || !m.mem ||
        !v.mem)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT,
                        "adam: count %lld, step %lld >= 1, b1 %g and b2 %g in [0, 1), eps %g >= 0, m and v required",
                        (long long)count, (long long)t, b1, b2, eps);
    const cly_buf bufs[] = {w, g, m, v};
    if (!disjoint(count, bufs, 4))
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "adam: w, g, m and v overlap");
    /* 1 - b^t in double: for b2 = 0.999 and small t this is 1e-3, where a
     * float pow would already lose digits. b is the kernel's (a float on a
     * FLOAT32 context), so m / bc1 stays an average with weights summing
     * to 1. */
    cly_args a;
    cly_args_begin(ctx, &a, "optim", "", "adam");
    cly_arg_buf(&a, w);
    cly_arg_buf(&a, g);
    cly_arg_buf(&a, m);
    cly_arg_buf(&a, v);
    cly_arg_long(&a, count);
    const double k1 = cly_real_value(ctx, b1), k2 = cly_real_value(ctx, b2);
    const double reals[] = {lr, b1, b2, eps, 1.0 - pow(k1, (double)t), 1.0 - pow(k2, (double)t), decay};
    for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++)
        cly_arg_real(&a, reals[i]);
    return cly_launch_1d(ctx, &a, count);
}
