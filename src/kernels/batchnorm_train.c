/* Batch normalisation in training (kernels in cl/batchnorm.cl), PyTorch's
 * conventions (mission.md): normalise with the batch mean and the BIASED
 * batch variance; move the running statistics by momentum m with the
 * UNBIASED variance, running = (1 - m)*running + m*batch; keep save_mean and
 * save_invstd = 1/sqrt(var + eps) for the backward pass.
 *
 * The per-channel sums are work-group tree reductions (one group per
 * channel), never float atomics: y, dx, dscale and dshift repeat bit for bit
 * from run to run on one device. */
#include "runtime/launch.h"
#include "runtime/tuning.h"


static cly_status bn_sizes(cly_context *ctx, cly_shape in, const char *what, int64_t *hw, int64_t *count)
{
    if (in.n < 1 || in.c < 1 || in.h < 1 || in.w < 1 || !cly_mul_i64(in.h, in.w, hw) ||
        !cly_mul_i64(in.n, in.c, count) || !cly_mul_i64(*count, *hw, count))
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: shape " CLY_SHAPE_FMT, what, CLY_SHAPE_ARGS(in));
    if (!cly_fits_int(in.c) || !cly_fits_int(*hw)) /* bn_train_apply's grid */
        return cly_fail(ctx, CLY_ERROR_UNSUPPORTED, "%s: %lld channels of %lld positions exceed the kernel's int range",
                        what, (long long)in.c, (long long)*hw);
    return CLY_SUCCESS;
}

cly_status cly_batchnorm_train_forward(cly_context *ctx, cly_shape in, double epsilon, double momentum, cly_buf x,
                                       cly_buf scale, cly_buf shift, cly_buf running_mean, cly_buf running_var,
                                       cly_buf save_mean, cly_buf save_invstd, cly_buf save_var, cly_buf y)
{
    const char *what = "batchnorm train";
    int64_t hw, count;
    cly_status s = bn_sizes(ctx, in, what, &hw, &count);
    if (s != CLY_SUCCESS)
        return s;
    if (!(epsilon >= 0.0) || !(momentum >= 0.0 && momentum <= 1.0))
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: epsilon %g must be >= 0, momentum %g in [0, 1]", what,
                        epsilon, momentum);
    int64_t m = count / in.c;
    /* The unbiased variance divides by M - 1 (PyTorch refuses too). */
    if (m < 2)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT,
                        "%s: " CLY_SHAPE_FMT " has one value per channel; training needs at least two", what,
                        CLY_SHAPE_ARGS(in));
    if (!save_mean.mem || !save_invstd.mem || (!running_mean.mem != !running_var.mem))
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT,
                        "%s: save_mean and save_invstd are required; running mean and var go together", what);
    /* bn_train_apply is element-wise: y may be x, but not shifted. */
    if (y.offset != x.offset && cly_overlap(y, count, x, count))
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: y overlaps x without coinciding", what);
    cl_kernel ks, ka;
    size_t local;
    if ((s = cly_kernel_get(ctx, "batchnorm", cly_tuning_bn_options(ctx), "bn_stats", &ks)) != CLY_SUCCESS ||
        (s = cly_kernel_get(ctx, "batchnorm", cly_tuning_bn_options(ctx), "bn_train_apply", &ka)) != CLY_SUCCESS ||
        (s = cly_reduce_local(ctx, ks, cly_tuning_of(ctx)->bn_local, &local, "bn_stats")) != CLY_SUCCESS)
        return s;
    const bool update = running_mean.mem != NULL;
    cly_args a = cly_args_for(ctx, ks, "bn_stats");
    cly_arg_buf(&a, x);
    cly_arg_buf(&a, save_mean);
    cly_arg_buf(&a, save_invstd);
    /* Unused buffers still need a valid cl_mem. */
    cly_arg_buf(&a, save_var.mem ? save_var : save_mean);
    cly_arg_buf(&a, update ? running_mean : save_mean);
    cly_arg_buf(&a, update ? running_var : save_mean);
    cly_arg_int(&a, update);
    cly_arg_int(&a, save_var.mem != NULL);
    const int64_t longs[] = {in.n, in.c, hw};
    cly_arg_longs(&a, longs, 3);
    cly_arg_real(&a, epsilon);
    cly_arg_real(&a, momentum);
    cly_arg_real(&a, (double)m / (double)(m - 1));
    cly_arg_local(&a, local * cly_real_size(ctx));
    if ((s = cly_launch_groups(ctx, &a, in.c, local)) != CLY_SUCCESS)
        return s;
    a = cly_args_for(ctx, ka, "bn_train_apply");
    const cly_buf bufs[] = {x, scale, shift, save_mean, save_invstd, y};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        cly_arg_buf(&a, bufs[i]);
    cly_arg_int(&a, in.c);
    cly_arg_int(&a, hw);
    /* A plane per work-item on CPUs (BN_APPLY in cl/batchnorm.cl). */
    return cly_tuning_of(ctx)->bn_contiguous ? cly_launch_rows(ctx, &a, in.c, in.n)
                                             : cly_launch_planes(ctx, &a, hw, in.c, in.n);
}

cly_status cly_batchnorm_backward(cly_context *ctx, cly_shape in, cly_buf x, cly_buf scale, cly_buf save_mean,
                                  cly_buf save_invstd, cly_buf dy, cly_buf dx, cly_buf dscale, cly_buf dshift,
                                  float beta)
{
    const char *what = "batchnorm backward";
    int64_t hw, count;
    cly_status s = bn_sizes(ctx, in, what, &hw, &count);
    if (s != CLY_SUCCESS)
        return s;
    /* Every element belongs to one channel, so to one work-item, which
     * reads its x and dy and only then writes its dx: dx may coincide with x
     * or dy, but not overlap them shifted. The per-channel outputs must stay
     * clear of what the groups read. */
    bool bad_dx = dx.mem && ((dx.offset != dy.offset && cly_overlap(dx, count, dy, count)) ||
                             (dx.offset != x.offset && cly_overlap(dx, count, x, count)));
    if (bad_dx || cly_overlap(dscale, in.c, dy, count) || cly_overlap(dshift, in.c, dy, count) ||
        cly_overlap(dscale, in.c, x, count) || cly_overlap(dshift, in.c, x, count))
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: an output overlaps an input", what);
    cl_kernel k;
    size_t local;
    if ((s = cly_kernel_get(ctx, "batchnorm", cly_tuning_bn_options(ctx), "bn_backward", &k)) != CLY_SUCCESS ||
        (s = cly_reduce_local(ctx, k, cly_tuning_of(ctx)->bn_local, &local, "bn_backward")) != CLY_SUCCESS)
        return s;
    cly_args a = cly_args_for(ctx, k, "bn_backward");
    const cly_buf bufs[] = {x, scale, save_mean, save_invstd, dy};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        cly_arg_buf(&a, bufs[i]);
    /* Skipped outputs still need a valid cl_mem: pass dy. */
    cly_arg_buf(&a, (cly_buf){dx.mem ? dx.mem : dy.mem, dx.offset});
    cly_arg_buf(&a, (cly_buf){dscale.mem ? dscale.mem : dy.mem, dscale.offset});
    cly_arg_buf(&a, (cly_buf){dshift.mem ? dshift.mem : dy.mem, dshift.offset});
    const int64_t wants[] = {dx.mem != NULL, dscale.mem != NULL, dshift.mem != NULL};
    cly_arg_ints(&a, wants, 3);
    const int64_t longs[] = {in.n, in.c, hw};
    cly_arg_longs(&a, longs, 3);
    cly_arg_float(&a, beta);
    cly_arg_local(&a, local * cly_real_size(ctx));
    return cly_launch_groups(ctx, &a, in.c, local);
}

cly_status cly_batchnorm_frozen_backward(cly_context *ctx, cly_shape in, double epsilon, cly_buf x, cly_buf scale,
                                         cly_buf mean, cly_buf var, cly_buf dy, cly_buf dx, cly_buf dscale,
                                         cly_buf dshift)
{
    const char *what = "batchnorm backward (inference form)";
    int64_t hw, count;
    cly_status s = bn_sizes(ctx, in, what, &hw, &count);
    if (s != CLY_SUCCESS)
        return s;
    if ((dscale.mem && !x.mem) || (dx.mem && cly_overlap(dx, count, dy, count) && dx.offset != dy.offset) ||
        cly_overlap(dscale, in.c, dy, count) || cly_overlap(dshift, in.c, dy, count))
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: x missing for dscale, or an output overlaps an input",
                        what);
    cl_kernel k;
    size_t local;
    if ((s = cly_kernel_get(ctx, "batchnorm", cly_tuning_bn_options(ctx), "bn_frozen_backward", &k)) != CLY_SUCCESS ||
        (s = cly_reduce_local(ctx, k, cly_tuning_of(ctx)->bn_local, &local, "bn_frozen_backward")) != CLY_SUCCESS)
        return s;
    cly_args a = cly_args_for(ctx, k, "bn_frozen_backward");
    /* Skipped inputs and outputs still need a valid cl_mem: pass dy. */
    const cly_buf bufs[] = {x.mem ? x : dy, scale, mean, var, dy};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        cly_arg_buf(&a, bufs[i]);
    cly_arg_buf(&a, (cly_buf){dx.mem ? dx.mem : dy.mem, dx.offset});
    cly_arg_buf(&a, (cly_buf){dscale.mem ? dscale.mem : dy.mem, dscale.offset});
    cly_arg_buf(&a, (cly_buf){dshift.mem ? dshift.mem : dy.mem, dshift.offset});
    const int64_t wants[] = {dx.mem != NULL, dscale.mem != NULL, dshift.mem != NULL};
    cly_arg_ints(&a, wants, 3);
    const int64_t longs[] = {in.n, in.c, hw};
    cly_arg_longs(&a, longs, 3);
    cly_arg_real(&a, epsilon);
    cly_arg_local(&a, local * cly_real_size(ctx));
    return cly_launch_groups(ctx, &a, in.c, local);
}
