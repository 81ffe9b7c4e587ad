/* Batch normalisation, inference form, NCHW, one element per work-item over
 * a 1-D range of N*C*HW (64-bit ids):
 *
 *   c = (i / HW) % C
 *   y[yo + i] = scale[c] * (x[xo + i] - mean[c]) / sqrt(var[c] + eps) + shift[c]
 *
 * scale, shift, mean, var are C floats each, at their own offsets. y may be
 * x (in place): each work-item reads and writes only element i. */
#include "common.cl"

__kernel void batchnorm(__global const float *x, long xo, __global const float *scale, long so,
                        __global const float *shift, long ho, __global const float *mean, long mo,
                        __global const float *var, long vo, __global float *y, long yo, long count, long C, long HW,
                        float eps)
{
    const idx_t i = get_global_id(0);
    if (i >= count)
        return;
    const idx_t c = (i / HW) % C;
    const float inv = 1.0f / sqrt(var[vo + c] + eps);
    y[yo + i] = scale[so + c] * ((x[xo + i] - mean[mo + c]) * inv) + shift[ho + c];
}
