/* Classification losses (kernels in cl/loss.cl): softmax cross-entropy and
 * the CS231n multiclass SVM, per-sample loss plus the gradient of the batch
 * mean. One work-item per sample: heads of a few thousand classes and
 * batches of hundreds are far below a GEMM's cost. */
#include "runtime/launch.h"

static cly_status run_loss(cly_context *ctx, const char *name, int64_t n, int64_t classes, const double *margin,
                           cly_buf scores, cly_buf labels, cly_buf loss, cly_buf dscores)
{
    int64_t count;
    if (n < 1 || classes < 1 || !cly_fits_int(classes) || !cly_mul_i64(n, classes, &count))
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: %lld samples of %lld classes", name, (long long)n,
                        (long long)classes);
    if (!scores.mem || !labels.mem)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: scores and labels are required", name);
    /* Each work-item reads its whole row before writing dscores: coinciding
     * with the scores is fine, any other overlap is not. */
    if ((dscores.offset != scores.offset && cly_overlap(dscores, count, scores, count)) ||
        cly_overlap(loss, n, scores, count) || cly_overlap(loss, n, dscores, count))
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "%s: outputs overlap the scores or each other", name);
    cl_kernel k;
    cly_status s = cly_kernel_get(ctx, "loss", "", name, &k);
    if (s != CLY_SUCCESS)
        return s;
    cl_int want_loss = loss.mem != NULL, want_ds = dscores.mem != NULL;
    cl_mem lm = want_loss ? loss.mem : scores.mem, dm = want_ds ? dscores.mem : scores.mem;
    cl_long so = scores.offset, lo = labels.offset, losso = loss.offset, dso = dscores.offset, N = n, C = classes;
    cl_float mg = margin ? (cl_float)*margin : 0.0f;
    cly_karg a[13] = {CLY_ARG(scores.mem), CLY_ARG(so), CLY_ARG(labels.mem), CLY_ARG(lo), CLY_ARG(lm),
                      CLY_ARG(losso),      CLY_ARG(dm), CLY_ARG(dso),        CLY_ARG(N),  CLY_ARG(C)};
    size_t na = 10;
    if (margin)
        a[na++] = CLY_ARG(mg);
    a[na++] = CLY_ARG(want_loss);
    a[na++] = CLY_ARG(want_ds);
    if ((s = cly_kernel_args(ctx, k, name, a, na)) != CLY_SUCCESS)
        return s;
    return cly_enqueue_1d(ctx, k, n, name);
}

cly_status cly_softmax_xent(cly_context *ctx, int64_t n, int64_t classes, cly_buf scores, cly_buf labels, cly_buf loss,
                            cly_buf dscores)
{
    return run_loss(ctx, "softmax_xent", n, classes, NULL, scores, labels, loss, dscores);
}

cly_status cly_svm_loss(cly_context *ctx, int64_t n, int64_t classes, double margin, cly_buf scores, cly_buf labels,
                        cly_buf loss, cly_buf dscores)
{
    if (!(margin == margin))
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "svm_loss: margin is NaN");
    return run_loss(ctx, "svm_loss", n, classes, &margin, scores, labels, loss, dscores);
}
