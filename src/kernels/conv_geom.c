/* Convolution geometry (defaults, validation, output size), the int and
 * allocation limits the algorithms check, and the workspace chunking rule.
 * No OpenCL calls: the graph's shape inference uses this file too. (Which
 * algorithm supports which shape, the AUTO choice and workspace sizes are
 * in conv_algos.c.) */
#include "kernels/conv_internal.h"
#include "base/shape.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool fail(char *msg, size_t size, const char *fmt, ...) CLY_FMT(3, 4);
static bool fail(char *msg, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, size, fmt, ap);
    va_end(ap);
    return false;
}

bool cly_conv_geom_make(const cly_conv_params *p, cly_shape in, cly_conv_geom *g, bool *rounded, char *msg,
                        size_t size)
{
    if (size)
        msg[0] = '\0';
    if (!p || !g)
        return fail(msg, size, "params and geometry must not be NULL");
    if (in.n < 1 || in.c < 1 || in.h < 1 || in.w < 1)
        return fail(msg, size, "input " CLY_SHAPE_FMT ": every dimension must be >= 1", CLY_SHAPE_ARGS(in));
    if (p->filters < 1)
        return fail(msg, size, "filters (K) = %lld must be >= 1", (long long)p->filters);
    if (p->size.h < 1 || p->size.w < 1)
        return fail(msg, size, "filter size %lldx%lld: both extents must be >= 1", (long long)p->size.h,
                    (long long)p->size.w);
    if (p->stride.h < 0 || p->stride.w < 0)
        return fail(msg, size, "stride %lldx%lld must be >= 1 (0 means 1)", (long long)p->stride.h,
                    (long long)p->stride.w);
    if (p->dilation.h < 0 || p->dilation.w < 0)
        return fail(msg, size, "dilation %lldx%lld must be >= 1 (0 means 1)", (long long)p->dilation.h,
                    (long long)p->dilation.w);
    if (p->pad.top < 0 || p->pad.bottom < 0 || p->pad.left < 0 || p->pad.right < 0)
        return fail(msg, size, "padding top %lld, bottom %lld, left %lld, right %lld: each must be >= 0",
                    (long long)p->pad.top, (long long)p->pad.bottom, (long long)p->pad.left, (long long)p->pad.right);
    if (p->groups < 0)
        return fail(msg, size, "groups = %lld must be >= 1 (0 means 1)", (long long)p->groups);
    if ((unsigned)p->rounding > CLY_ROUND_CEIL)
        return fail(msg, size, "rounding = %lld is not a cly_rounding value", (long long)p->rounding);
    cly_conv_geom r = {
        .n = in.n, .c = in.c, .h = in.h, .w = in.w,
        .k = p->filters, .fh = p->size.h, .fw = p->size.w,
        .sh = p->stride.h ? p->stride.h : 1, .sw = p->stride.w ? p->stride.w : 1,
        .pt = p->pad.top, .pb = p->pad.bottom, .pl = p->pad.left, .pr = p->pad.right,
        .dh = p->dilation.h ? p->dilation.h : 1, .dw = p->dilation.w ? p->dilation.w : 1,
        .groups = p->groups ? p->groups : 1,
        .bias = !p->no_bias, .relu = p->relu,
    };
    if (r.c % r.groups != 0)
        return fail(msg, size, "input channels C = %lld are not divisible by groups = %lld", (long long)r.c,
                    (long long)r.groups);
    if (r.k % r.groups != 0)
        return fail(msg, size, "filters K = %lld are not divisible by groups = %lld", (long long)r.k,
                    (long long)r.groups);
    if (!cly_window_out((cly_window){r.h, r.fh, r.sh, r.pt, r.pb, r.dh}, p->rounding, "H", &r.oh, msg, size) ||
        !cly_window_out((cly_window){r.w, r.fw, r.sw, r.pl, r.pr, r.dw}, p->rounding, "W", &r.ow, msg, size))
        return false;
    /* Every count the kernels index must fit in 64 bits. */
    int64_t t;
    if (!cly_mul_i64(r.n, r.c, &t) || !cly_mul_i64(t, r.h, &t) || !cly_mul_i64(t, r.w, &t) ||
        !cly_mul_i64(r.n, r.k, &t) || !cly_mul_i64(t, r.oh, &t) || !cly_mul_i64(t, r.ow, &t) ||
        !cly_mul_i64(r.k, r.c / r.groups, &t) || !cly_mul_i64(t, r.fh, &t) || !cly_mul_i64(t, r.fw, &t) ||
        !cly_mul_i64(t, r.oh, &t) || !cly_mul_i64(t, r.ow, &t))
        return fail(msg, size, "element counts overflow 64 bits");
    bool rnd = (r.h + r.pt + r.pb - r.dh * (r.fh - 1) - 1) % r.sh != 0 ||
               (r.w + r.pl + r.pr - r.dw * (r.fw - 1) - 1) % r.sw != 0;
    if (rounded)
        *rounded = rnd;
    *g = r;
    return true;
}

/* Kernels take single dimensions as int (products are computed in 64 bits). */
bool cly_conv_dims_fit_int(const cly_conv_geom *g)
{
    const int64_t v[] = {g->n, g->c, g->h, g->w, g->k, g->fh, g->fw, g->sh, g->sw, g->pt, g->pb,
                         g->pl, g->pr, g->dh, g->dw, g->oh, g->ow, g->h + g->pt + g->pb, g->w + g->pl + g->pr};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        if (v[i] > INT32_MAX / 2)
            return false;
    return true;
}

bool cly_conv_fits_alloc(const cly_context *ctx, int64_t elems)
{
    int64_t size = (int64_t)cly_real_size(ctx);
    return elems >= 0 && elems <= INT64_MAX / size && (uint64_t)(elems * size) <= ctx->info.max_alloc_bytes;
}

int64_t cly_conv_chunk(const cly_context *ctx, int64_t per_sample, int64_t n)
{
    int64_t budget = (int64_t)1 << 24; /* elements: 64 MiB of float, 128 MiB of double */
    int64_t cap = (int64_t)(ctx->info.max_alloc_bytes / cly_real_size(ctx));
    if (cap < budget)
        budget = cap;
    if (per_sample <= 0)
        return n;
    int64_t nb = budget / per_sample;
    return nb < 1 ? 1 : nb > n ? n : nb;
}
