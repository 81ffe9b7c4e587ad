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
    cly_args a;
    cly_args_begin(ctx, &a, "loss", "", name);
    /* Unused outputs still need a valid cl_mem: pass the scores. */
    cly_arg_buf(&a, scores);
    cly_arg_buf(&a, labels);
    cly_arg_buf(&a, (cly_buf){loss.mem ? loss.mem : scores.mem, loss.offset});
    cly_arg_buf(&a, (cly_buf){dscores.mem ? dscores.mem : scores.mem, dscores.offset});
    cly_arg_long(&a, n);
    cly_arg_long(&a, classes);
    if (margin)
        cly_arg_real(&a, *margin);
    cly_arg_int(&a, loss.mem != NULL);
    cly_arg_int(&a, dscores.mem != NULL);
    return cly_launch_1d(ctx, &a, n);
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
