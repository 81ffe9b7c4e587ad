/* Inverted dropout (kernels and the hash in cl/dropout.cl): element i is
 * kept when a 32-bit hash of (seed, i) is >= p * 2^32 and then scaled by
 * 1/(1 - p), so the expectation of y is x and inference is the identity.
 * The mask is recomputed from the seed in backward: nothing is stored
 * between the passes, and the same seed gives the same mask on every run
 * and every device. */
#include "runtime/launch.h"

#include <math.h>

/* Threshold and scale for drop probability p. */
static cly_status dropout_consts(cly_context *ctx, const char *what, int64_t count, double p, cl_ulong *t,
                                 double *scale)
{
    if (count < 0 || !(p >= 0.0 && p < 1.0))
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: p = %g must be in [0, 1), count %lld >= 0", what, p,
                        (long long)count);
    /* h >= p * 2^32 for an integer h is h >= ceil(p * 2^32); p < 1 keeps it
     * <= 2^32, which no h reaches (p within 2^-32 of 1 keeps nothing). */
    *t = (cl_ulong)ceil(p * 4294967296.0);
    *scale = 1.0 / (1.0 - p);
    return CLY_SUCCESS;
}

cly_status cly_dropout_forward(cly_context *ctx, int64_t count, double p, uint64_t seed, cly_buf x, cly_buf y)
{
    cl_ulong t = 0;
    double scale = 0;
    cly_status s = dropout_consts(ctx, "dropout", count, p, &t, &scale);
    if (s != CLY_SUCCESS)
        return s;
    if (y.offset != x.offset && cly_overlap(y, count, x, count))
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "dropout: y overlaps x without coinciding");
    cly_args a;
    cly_args_begin(ctx, &a, "dropout", "", "dropout_forward");
    cly_arg_buf(&a, x);
    cly_arg_buf(&a, y);
    cly_arg_long(&a, count);
    cly_arg_ulong(&a, seed);
    cly_arg_ulong(&a, t);
    cly_arg_real(&a, scale);
    return cly_launch_1d(ctx, &a, count);
}

cly_status cly_dropout_backward(cly_context *ctx, int64_t count, double p, uint64_t seed, cly_buf dy, cly_buf dx,
                                float beta)
{
    cl_ulong t = 0;
    double scale = 0;
    cly_status s = dropout_consts(ctx, "dropout backward", count, p, &t, &scale);
    if (s != CLY_SUCCESS)
        return s;
    if (dx.offset != dy.offset && cly_overlap(dx, count, dy, count))
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "dropout backward: dx overlaps dy without coinciding");
    cly_args a;
    cly_args_begin(ctx, &a, "dropout", "", "dropout_backward");
    cly_arg_buf(&a, dy);
    cly_arg_buf(&a, dx);
    cly_arg_long(&a, count);
    cly_arg_ulong(&a, seed);
    cly_arg_ulong(&a, t);
    cly_arg_real(&a, scale);
    cly_arg_float(&a, beta);
    return cly_launch_1d(ctx, &a, count);
}
