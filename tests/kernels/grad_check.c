/* See grad_check.h. */
#include "grad_check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *gc_malloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    ck_assert_ptr_nonnull(p);
    return p;
}

void gc_write(cly_context *ctx, cly_buf b, const float *host, int64_t count)
{
    cl_int err = clEnqueueWriteBuffer(ctx->queue, b.mem, CL_TRUE, (size_t)b.offset * 4, (size_t)count * 4, host, 0,
                                      NULL, NULL);
    ck_assert_msg(err == CL_SUCCESS, "clEnqueueWriteBuffer: %d", (int)err);
}

void gc_fill_distinct(float *a, int64_t n, unsigned seed, double gap)
{
    uint32_t s = seed * 2654435761u + 3;
    for (int64_t i = 0; i < n; i++)
        a[i] = (float)((double)(i - n / 2) * gap);
    for (int64_t i = n - 1; i > 0; i--) { /* Fisher-Yates */
        s = s * 1664525u + 1013904223u;
        int64_t j = (int64_t)((s >> 8) % (uint32_t)(i + 1));
        float t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

void gc_run_backward(cly_context *ctx, const char *what, gc_backward_fn bwd, void *user, int nout,
                     const int64_t *counts, float **got)
{
    cly_buf outs[8];
    ck_assert_int_le(nout, 8);
    /* 1: beta = 0 over NaN. */
    for (int k = 0; k < nout; k++)
        outs[k] = ot_alloc(ctx, counts[k], 4);
    bwd(user, ctx, outs, 0.0f);
    for (int k = 0; k < nout; k++) {
        got[k] = gc_malloc((size_t)counts[k] * 4);
        ot_download(ctx, outs[k], got[k], counts[k], 4);
        ot_free(outs[k]);
        for (int64_t i = 0; i < counts[k]; i++)
            ck_assert_msg(isfinite(got[k][i]),
                          "%s: output %d element %lld is %g with beta = 0: the old contents (NaN) leaked in", what,
                          k, (long long)i, got[k][i]);
    }
    /* 2: again, bit for bit. */
    for (int k = 0; k < nout; k++)
        outs[k] = ot_alloc(ctx, counts[k], 4);
    bwd(user, ctx, outs, 0.0f);
    for (int k = 0; k < nout; k++) {
        float *again = gc_malloc((size_t)counts[k] * 4);
        ot_download(ctx, outs[k], again, counts[k], 4);
        ot_free(outs[k]);
        for (int64_t i = 0; i < counts[k]; i++)
            ck_assert_msg(memcmp(&again[i], &got[k][i], 4) == 0,
                          "%s: output %d element %lld differs between two runs (%.9g, then %.9g)", what, k,
                          (long long)i, got[k][i], again[i]);
        free(again);
    }
    /* 3: beta = 1 onto D. */
    float *d[8];
    for (int k = 0; k < nout; k++) {
        d[k] = gc_malloc((size_t)counts[k] * 4);
        ot_fill_real(d[k], counts[k], 977u + (unsigned)k, -2.0, 2.0);
        outs[k] = ot_upload(ctx, d[k], counts[k], 4);
    }
    bwd(user, ctx, outs, 1.0f);
    for (int k = 0; k < nout; k++) {
        float *acc = gc_malloc((size_t)counts[k] * 4);
        ot_download(ctx, outs[k], acc, counts[k], 4);
        ot_free(outs[k]);
        for (int64_t i = 0; i < counts[k]; i++) {
            volatile float want = d[k][i] + got[k][i]; /* one float rounding, as the kernels do */
            ck_assert_msg(acc[i] == want, "%s: output %d element %lld with beta = 1 is %.9g, expected %.9g + %.9g",
                          what, k, (long long)i, acc[i], d[k][i], got[k][i]);
        }
        free(acc);
        free(d[k]);
    }
}

double gc_check(const gc_spec *s)
{
    float *yp = gc_malloc((size_t)s->ny * 4), *ym = gc_malloc((size_t)s->ny * 4);
    int64_t points = s->nin <= s->max_points ? s->nin : s->max_points;
    double worst = 0.0, worst_abs = 0.0;
    int64_t worst_i = -1, checked = 0, skipped = 0;
    for (int64_t p = 0; p < points; p++) {
        /* An even spread over the input, offset so that it is not always
         * the first element of a row. */
        int64_t i = points == s->nin ? p : (p * s->nin + s->nin / (2 * points)) / points;
        if (s->skip && s->skip(s->user, i, s->h)) {
            skipped++;
            continue;
        }
        const float saved = s->in[i];
        s->in[i] = (float)(saved + s->h);
        double up = (double)s->in[i] - saved; /* the step float actually took */
        s->fwd(s->user, yp);
        s->in[i] = (float)(saved - s->h);
        double down = saved - (double)s->in[i];
        s->fwd(s->user, ym);
        s->in[i] = saved;
        double diff = 0.0;
        for (int64_t k = 0; k < s->ny; k++)
            diff += (double)s->r[k] * ((double)yp[k] - (double)ym[k]);
        double num = diff / (up + down), a = s->analytic[i];
        double den = fabs(a) + fabs(num);
        double err = fabs(a - num) / (den > s->floor ? den : s->floor);
        checked++;
        if (fabs(a - num) > worst_abs)
            worst_abs = fabs(a - num);
        if (worst_i < 0 || err > worst) {
            worst = err;
            worst_i = i;
        }
        ck_assert_msg(err <= s->tol,
                      "%s: gradient of input %lld: backward %.9g, finite difference %.9g, relative error %.3g > %.3g",
                      s->what, (long long)i, a, num, err, s->tol);
    }
    printf("%s: finite differences at %lld inputs (%lld skipped near kinks), largest error %.3g (input %lld), "
           "largest absolute difference %.3g\n",
           s->what, (long long)checked, (long long)skipped, worst, (long long)worst_i, worst_abs);
    ck_assert_msg(checked > 0, "%s: every finite-difference point was skipped", s->what);
    free(yp);
    free(ym);
    return worst;
}
