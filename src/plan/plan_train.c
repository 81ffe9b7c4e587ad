/* Training primitives on the caller's tensors: the built-in losses
 * (cly_op_loss) and the optimiser steps, the kernels a net's training runs
 * (kernels/loss.c, optim.c). */
#include "plan/plan.h"

#include <math.h>
#include <stdlib.h>

static bool overlaps(const cly_tensor *a, const cly_tensor *b)
{
    return cly_tensors_overlap(a, b); /* sub-buffers of one buffer included */
}

static cly_status check(cly_context *ctx, cly_loss loss, double margin, const cly_tensor *scores,
                        const int32_t *labels, int64_t count, const cly_tensor *losses, const cly_tensor *dscores,
                        double alpha, double beta)
{
    const char *fn = "cly_op_loss";
    if (!scores || !labels)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: scores and labels must not be NULL", fn);
    if ((unsigned)loss > CLY_LOSS_SVM || !(margin >= 0) || !isfinite(margin) || !isfinite(alpha) || !isfinite(beta))
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT,
                        "%s: loss %d must be softmax (0) or svm (1); margin %g >= 0; alpha %g and beta %g finite", fn,
                        (int)loss, margin, alpha, beta);
    const cly_tensor *ts[] = {scores, losses, dscores};
    for (size_t i = 0; i < 3; i++)
        if (ts[i] && ts[i]->ctx != ctx)
            return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: a tensor belongs to another context", fn);
    cly_shape s = scores->shape;
    if (s.h != 1 || s.w != 1 || s.c < 2 || s.c > INT32_MAX)
        return cly_fail(ctx, CLY_ERROR_SHAPE_MISMATCH,
                        "%s: scores are " CLY_SHAPE_FMT "; a loss needs N x C x 1 x 1 class scores, 2 <= C < 2^31", fn,
                        CLY_SHAPE_ARGS(s));
    if (count != s.n)
        return cly_fail(ctx, CLY_ERROR_SHAPE_MISMATCH, "%s: %lld labels for %lld samples", fn, (long long)count,
                        (long long)s.n);
    for (int64_t i = 0; i < count; i++)
        if (labels[i] < 0 || labels[i] >= s.c)
            return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: label %d of sample %lld is outside [0, %lld)", fn,
                            labels[i], (long long)i, (long long)s.c);
    if (losses && losses->count != s.n)
        return cly_fail(ctx, CLY_ERROR_SHAPE_MISMATCH, "%s: losses has %lld elements for %lld samples", fn,
                        (long long)losses->count, (long long)s.n);
    if (dscores && (dscores->shape.n != s.n || dscores->shape.c != s.c || dscores->shape.h != 1 ||
                    dscores->shape.w != 1))
        return cly_fail(ctx, CLY_ERROR_SHAPE_MISMATCH, "%s: dscores is " CLY_SHAPE_FMT "; the scores are " CLY_SHAPE_FMT,
                        fn, CLY_SHAPE_ARGS(dscores->shape), CLY_SHAPE_ARGS(s));
    if (!losses && !dscores)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: neither losses nor dscores given: nothing to compute", fn);
    if (overlaps(losses, scores) || overlaps(dscores, scores) || overlaps(losses, dscores))
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: losses, dscores and scores must not overlap", fn);
    return CLY_SUCCESS;
}

cly_status cly_op_loss(cly_context *ctx, cly_loss loss, double svm_margin, const cly_tensor *scores,
                       const int32_t *labels, int64_t count, cly_tensor *losses, cly_tensor *dscores, double alpha,
                       double beta)
{
    if (!ctx)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "cly_op_loss: ctx must not be NULL");
    if (svm_margin == 0)
        svm_margin = 1.0;
    cly_status s = check(ctx, loss, svm_margin, scores, labels, count, losses, dscores, alpha, beta);
    if (s != CLY_SUCCESS)
        return s;
    int64_t n = scores->shape.n, classes = scores->shape.c;
    bool direct = alpha == 1.0 && beta == 0.0;
    cl_int err;
    cl_mem lab = clCreateBuffer(ctx->cl, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, (size_t)n * sizeof(int32_t),
                                (void *)labels, &err);
    if (err != CL_SUCCESS)
        return cly_fail_cl(ctx, err, "cly_op_loss: the labels' buffer");
    cl_mem scratch = NULL;
    if (dscores && !direct) {
        scratch = clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE, (size_t)(n * classes) * cly_real_size(ctx), NULL, &err);
        if (err != CL_SUCCESS) {
            clReleaseMemObject(lab);
            return cly_fail_cl(ctx, err, "cly_op_loss: scratch for dscores");
        }
    }
    cly_buf sb = {scores->buffer, scores->offset}, lb = {lab, 0};
    cly_buf loss_b = losses ? (cly_buf){losses->buffer, losses->offset} : (cly_buf){NULL, 0};
    cly_buf out = dscores ? (cly_buf){dscores->buffer, dscores->offset} : (cly_buf){NULL, 0};
    cly_buf grad = scratch ? (cly_buf){scratch, 0} : out;
    s = loss == CLY_LOSS_SVM ? cly_svm_loss(ctx, n, classes, svm_margin, sb, lb, loss_b, grad)
                             : cly_softmax_xent(ctx, n, classes, sb, lb, loss_b, grad);
    if (s == CLY_SUCCESS && scratch)
        s = cly_axpby(ctx, n * classes, alpha, grad, beta, out);
    /* Released once the enqueued work that reads them is done. */
    clReleaseMemObject(lab);
    if (scratch)
        clReleaseMemObject(scratch);
    return s;
}

/* w, g and the state tensors: one context, one count, no overlaps. */
static cly_status check_step(cly_context *ctx, const char *fn, const cly_tensor *const *ts, const char *const *names,
                             size_t count, double lr)
{
    if (!ctx)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: ctx must not be NULL", fn);
    if (!(lr > 0) || !isfinite(lr))
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: learning rate %g must be > 0 and finite", fn, lr);
    for (size_t i = 0; i < count; i++) {
        if (!ts[i])
            return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: %s must not be NULL", fn, names[i]);
        if (ts[i]->ctx != ctx)
            return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: %s belongs to another context", fn, names[i]);
        if (ts[i]->count != ts[0]->count)
            return cly_fail(ctx, CLY_ERROR_SHAPE_MISMATCH, "%s: %s has %lld elements, %s %lld", fn, names[i],
                            (long long)ts[i]->count, names[0], (long long)ts[0]->count);
        for (size_t j = 0; j < i; j++)
            if (overlaps(ts[i], ts[j]))
                return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: %s overlaps %s", fn, names[i], names[j]);
    }
    return CLY_SUCCESS;
}

static cly_buf buf_of(const cly_tensor *t)
{
    return t ? (cly_buf){t->buffer, t->offset} : (cly_buf){NULL, 0};
}

cly_status cly_op_sgd_step(cly_context *ctx, cly_tensor *w, const cly_tensor *g, cly_tensor *velocity, double lr,
                           double momentum, bool nesterov, double weight_decay)
{
    const char *fn = "cly_op_sgd_step";
    const cly_tensor *ts[] = {w, g, velocity};
    static const char *const names[] = {"w", "g", "velocity"};
    cly_status s = check_step(ctx, fn, ts, names, momentum > 0 ? 3 : 2, lr);
    if (s != CLY_SUCCESS)
        return s;
    if (!(momentum >= 0 && momentum < 1) || !(weight_decay >= 0) || !isfinite(weight_decay) || (nesterov && momentum == 0))
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT,
                        "%s: momentum %g must be in [0, 1) (> 0 for Nesterov), weight decay %g >= 0", fn, momentum,
                        weight_decay);
    return cly_sgd_step(ctx, w->count, lr, momentum, nesterov, weight_decay, buf_of(w),
                        buf_of(g), momentum > 0 ? buf_of(velocity) : (cly_buf){NULL, 0});
}

cly_status cly_op_adam_step(cly_context *ctx, cly_tensor *w, const cly_tensor *g, cly_tensor *m, cly_tensor *v,
                            double lr, double beta1, double beta2, double epsilon, int64_t t, double weight_decay)
{
    const char *fn = "cly_op_adam_step";
    const cly_tensor *ts[] = {w, g, m, v};
    static const char *const names[] = {"w", "g", "m", "v"};
    cly_status s = check_step(ctx, fn, ts, names, 4, lr);
    if (s != CLY_SUCCESS)
        return s;
    if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) || !(epsilon > 0) || t < 1 ||
        !(weight_decay >= 0) || !isfinite(weight_decay))
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT,
                        "%s: need beta1 %g and beta2 %g in [0, 1), epsilon %g > 0, step t %lld >= 1, decay %g >= 0", fn,
                        beta1, beta2, epsilon, (long long)t, weight_decay);
    return cly_adam_step(ctx, w->count, lr, beta1, beta2, epsilon, t, weight_decay,
                         buf_of(w), buf_of(g), buf_of(m), buf_of(v));
}
