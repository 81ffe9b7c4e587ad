/* Classification losses over scores s (n x classes, row-major) and int32
 * labels y in [0, classes). One work-item per sample i < n (64-bit ids);
 * row = s + so + i*classes.
 *
 *   softmax_xent: m = max_j row[j];  z = sum_j exp(row[j] - m)
 *                 loss[i] = log(z) - (row[y] - m)         (= -log softmax(row)[y],
 *                 stable: no exp() of a positive number, no lse - s cancellation
 *                 against a large m)
 *                 ds[i][j] = (exp(row[j] - m)/z - [j == y]) / n
 *   svm_loss:     (CS231n) margins d_j = row[j] - row[y] + margin
 *                 loss[i] = sum_{j != y} max(0, d_j)
 *                 ds[i][j] = [d_j > 0] / n for j != y;  ds[i][y] = -#{j != y: d_j > 0} / n
 *
 * ds is the gradient of the MEAN loss over the batch, hence the 1/n; loss is
 * per sample (the caller sums in whatever order it likes). want_loss and
 * want_ds skip an output. A label outside [0, classes) gives loss NaN and
 * ds without its target term, so a bad label shows instead of reading out of
 * bounds. */
#include "common.cl"

__kernel void softmax_xent(__global const real *s, long so, __global const int *labels, long lo,
                           __global real *loss, long losso, __global real *ds, long dso, long n, long classes,
                           int want_loss, int want_ds)
{
    const idx_t i = get_global_id(0);
    if (i >= n)
        return;
    __global const real *row = s + so + i * classes;
    const int y = labels[lo + i];
    const bool valid = y >= 0 && y < classes;
    real m = row[0];
    for (idx_t j = 1; j < classes; j++)
        m = fmax(m, row[j]);
    real z = 0.0f;
    for (idx_t j = 0; j < classes; j++)
        z += exp(row[j] - m);
    if (want_loss)
        loss[losso + i] = valid ? log(z) - (row[y] - m) : NAN;
    if (!want_ds)
        return;
    const real inv_z = 1.0f / z, nf = (real)n;
    __global real *d = ds + dso + i * classes;
    for (idx_t j = 0; j < classes; j++) {
        const real p = exp(row[j] - m) * inv_z;
        d[j] = (j == y ? p - 1.0f : p) / nf;
    }
}

__kernel void svm_loss(__global const real *s, long so, __global const int *labels, long lo, __global real *loss,
                       long losso, __global real *ds, long dso, long n, long classes, real margin, int want_loss,
                       int want_ds)
{
    const idx_t i = get_global_id(0);
    if (i >= n)
        return;
    __global const real *row = s + so + i * classes;
    __global real *d = ds + dso + i * classes;
    const int y = labels[lo + i];
    if (!(y >= 0 && y < classes)) {
        if (want_loss)
            loss[losso + i] = NAN;
        if (want_ds)
            for (idx_t j = 0; j < classes; j++)
                d[j] = 0.0f;
        return;
    }
    const real sy = row[y], nf = (real)n;
    real total = 0.0f;
    long positive = 0;
    for (idx_t j = 0; j < classes; j++) {
        if (j == y)
            continue;
        const real dj = row[j] - sy + margin;
        const bool on = dj > 0.0f;
        if (on) {
            total += dj;
            positive++;
        }
        if (want_ds)
            d[j] = on ? 1.0f / nf : 0.0f;
    }
    if (want_loss)
        loss[losso + i] = total;
    if (want_ds)
        d[y] = -(real)positive / nf;
}
