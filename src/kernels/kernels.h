/* Device operations, the host side of every kernel family (the files of
 * src/kernels/ over those of cl/): one function family per layer kind, on
 * buffers (cl_mem + element offset) so that a memory planner can place
 * values in one arena. Each op validates nothing the graph already checked
 * (shapes are trusted), but returns a status for every OpenCL or build
 * failure. Everything enqueues on ctx->queue and returns without waiting. */
#ifndef CLY_KERNELS_H
#define CLY_KERNELS_H

#include "runtime/blas.h"

/* ---- convolution (conv_*.c) */

/* Fully resolved convolution geometry: defaults applied, output computed. */
typedef struct cly_conv_geom {
    int64_t n, c, h, w;          /* input */
    int64_t k, fh, fw;           /* filters: weights are k x (c/groups) x fh x fw */
    int64_t sh, sw;              /* stride */
    int64_t pt, pb, pl, pr;      /* padding top, bottom, left, right */
    int64_t dh, dw;              /* dilation */
    int64_t groups;
    int64_t oh, ow;              /* output */
    bool bias;
    bool relu;
} cly_conv_geom;

/* Geometry from params and an input shape; false (message in msg) when the
 * combination is invalid. Shared by cly_conv2d and the graph. */
bool cly_conv_geom_make(const cly_conv_params *p, cly_shape in, cly_conv_geom *g, bool *rounded, char *msg,
                        size_t size);
/* cly_conv_supports with the reason: true when `algo` can run `g`; otherwise
 * false with a sentence in msg saying why (for CLY_ERROR_UNSUPPORTED). */
bool cly_conv_check_support(const cly_context *ctx, cly_conv_algo algo, const cly_conv_geom *g, char *msg,
                            size_t size);
bool cly_conv_supports(const cly_context *ctx, cly_conv_algo algo, const cly_conv_geom *g);
/* cly_conv_check_support as a status: CLY_SUCCESS, CLY_ERROR_TOO_LARGE when
 * only the device's largest allocation stops `algo` (its workspace), else
 * CLY_ERROR_UNSUPPORTED; the reason in msg. */
cly_status cly_conv_support_status(const cly_context *ctx, cly_conv_algo algo, const cly_conv_geom *g, char *msg,
                                   size_t size);
/* The algorithm's name as summaries show it: "winograd (inexact)" for an
 * inexact one, else cly_conv_algo_string(algo). Static. */
const char *cly_conv_algo_shown(cly_conv_algo algo);
/* The algorithm AUTO resolves to (after $CLAYER_CONV_ALGO). */
cly_conv_algo cly_conv_choose(const cly_context *ctx, const cly_conv_geom *g, cly_conv_algo requested);
/* Scratch elements the algorithm needs (im2col columns), 0 if none. */
int64_t cly_conv_workspace(const cly_context *ctx, cly_conv_algo algo, const cly_conv_geom *g);
cly_status cly_conv_forward(cly_context *ctx, cly_conv_algo algo, const cly_conv_geom *g, cly_buf x, cly_buf w,
                            cly_buf bias, cly_buf y, cly_buf workspace);
/* When ctx's tuning file chose `algo` for g: its configuration and
 * " (tuned)" in text ("direct 16x6x4 wg8 (tuned)"), true; else false
 * (conv_tune.c). */
bool cly_conv_tuned_text(const cly_context *ctx, cly_conv_algo algo, const cly_conv_geom *g, char *text, size_t size);

/* Locally connected: weights oh x ow x k x c x fh x fw, bias k x oh x ow
 * (groups must be 1). */
cly_status cly_local_forward(cly_context *ctx, const cly_conv_geom *g, cly_buf x, cly_buf w, cly_buf bias,
                             cly_buf y);

/* ---- pooling (pool.c) */

typedef struct cly_pool_geom {
    int64_t n, c, h, w;
    int64_t fh, fw, sh, sw, pt, pb, pl, pr;
    int64_t oh, ow;
    cly_pool_kind kind;
    bool exclude_pad;
} cly_pool_geom;

bool cly_pool_geom_make(const cly_pool_params *p, cly_shape in, cly_pool_geom *g, bool *rounded, char *msg,
                        size_t size);
/* `argmax` (int32 per output, index within the input plane) is written when
 * its mem is not NULL: the switches for the backward pass of max pooling. */
cly_status cly_pool_forward(cly_context *ctx, const cly_pool_geom *g, cly_buf x, cly_buf y, cly_buf argmax);
/* Global average pooling: N x C x H x W -> N x C x 1 x 1. */
cly_status cly_gap_forward(cly_context *ctx, cly_shape in, cly_buf x, cly_buf y);

/* ---- element-wise and normalisation (eltwise.c, lrn.c, batchnorm.c, softmax.c) */

/* y = x < 0 ? 0 : x over count elements (NaN passes, as in the fused
 * epilogues); y may equal x (in place). */
cly_status cly_relu_forward(cly_context *ctx, int64_t count, cly_buf x, cly_buf y);
/* The bounded and leaky ReLU (cly_relu_params; max 0: no bound), and its
 * backward from y. */
cly_status cly_relu_bounded_forward(cly_context *ctx, int64_t count, double slope, double max, cly_buf x, cly_buf y);
cly_status cly_relu_bounded_backward(cly_context *ctx, int64_t count, double slope, double max, cly_buf y, cly_buf dy,
                                     cly_buf dx, float beta);
/* The epilogue of convolution as GEMM and of fully connected: over `planes`
 * planes of hw elements, y = relu?(y + bias[plane % k]) (bias.mem NULL: no
 * bias). */
cly_status cly_bias_act(cly_context *ctx, int64_t planes, int64_t k, int64_t hw, cly_buf bias, bool relu, cly_buf y);
/* y = alpha * x + beta * y over count elements (beta 0: y not read); x and
 * y must not overlap. */
cly_status cly_axpby(cly_context *ctx, int64_t count, double alpha, cly_buf x, double beta, cly_buf y);
/* y = a + b (element-wise, count elements); y may equal a or b. */
cly_status cly_add_forward(cly_context *ctx, int64_t count, cly_buf a, cly_buf b, cly_buf y);
/* Copy x (n x c x hw) into channels [c_offset, c_offset + c) of y (n x c_total x hw). */
cly_status cly_concat_forward(cly_context *ctx, int64_t n, int64_t c, int64_t hw, int64_t c_total, int64_t c_offset,
                              cly_buf x, cly_buf y);
cly_status cly_lrn_forward(cly_context *ctx, cly_shape in, const cly_lrn_params *p, cly_buf x, cly_buf y);
/* Inference form: per channel scale, shift, mean, var (each c floats). */
cly_status cly_batchnorm_forward(cly_context *ctx, cly_shape in, double epsilon, cly_buf x, cly_buf scale,
                                 cly_buf shift, cly_buf mean, cly_buf var, cly_buf y);
/* Softmax over C for every (n, y, x). */
cly_status cly_softmax_forward(cly_context *ctx, cly_shape in, cly_buf x, cly_buf y);

/* ---- fully connected (fc.c): y[n x outputs] = x[n x inputs] * w[outputs x inputs]^T + b */
cly_status cly_fc_forward(cly_context *ctx, int64_t n, int64_t inputs, int64_t outputs, bool relu, cly_buf x,
                          cly_buf w, cly_buf bias, cly_buf y);

/* ---- training: backward passes, losses, optimisers (*_backward.c, loss.c, optim.c)
 *
 * Every gradient output takes `beta`: 0 overwrites it, 1 adds to what is
 * there (a value read by several layers sums its gradients; gradients are
 * accumulated over batches on request). Inputs named x, y are the forward
 * pass's input and output; dy the gradient arriving at y, dx the one leaving
 * towards x. Parameter gradients (dw, db) follow the parameters' layouts. */

/* The conv backward passes take `algo`, the forward's resolved algorithm
 * (what cly_conv_choose returned; never CLY_CONV_AUTO, else
 * CLY_ERROR_INVALID_ARGUMENT), and pick their own method from it and the
 * shape (the backward tables of conv_algos.c); CLY_ERROR_UNSUPPORTED says
 * why none can run. Scratch elements both passes need: */
int64_t cly_conv_backward_workspace(const cly_context *ctx, cly_conv_algo algo, const cly_conv_geom *g);
/* The name of the method backward data (data) or weights runs after forward
 * `algo` ("flipped-direct", "subpixel-direct", "col2im",
 * "im2col+gemm_nt"); NULL: none can. */
const char *cly_conv_backward_method(const cly_context *ctx, cly_conv_algo algo, const cly_conv_geom *g, bool data);
/* The name of backward-data (data) or backward-weights method i of its
 * table, in order of preference; NULL past the end. $CLAYER_CONV_BACKWARD_DATA
 * and $CLAYER_CONV_BACKWARD_WEIGHTS name one to run where it supports a shape. */
const char *cly_conv_backward_method_name(bool data, size_t i);
/* dx = the transposed convolution of dy with w (col2im, or flipped-filter
 * convolutions, one per stride phase when strided); ReLU fused in the
 * forward pass is NOT undone here: callers pass dy already masked. */
cly_status cly_conv_backward_data(cly_context *ctx, cly_conv_algo algo, const cly_conv_geom *g, cly_buf dy, cly_buf w,
                                  cly_buf dx, float beta, cly_buf workspace);
/* dw = sum over batch and positions of dy x im2col(x); db = sum of dy per
 * channel (skipped when db.mem is NULL). */
cly_status cly_conv_backward_weights(cly_context *ctx, cly_conv_algo algo, const cly_conv_geom *g, cly_buf x,
                                     cly_buf dy, cly_buf dw, cly_buf db, float beta, cly_buf workspace);
/* (Local: dw, db and dx are each skipped when their mem is NULL.) */
cly_status cly_local_backward(cly_context *ctx, const cly_conv_geom *g, cly_buf x, cly_buf w, cly_buf dy, cly_buf dx,
                              cly_buf dw, cly_buf db, float beta);

/* Max: routes dy through the recorded argmax (int32 per output, index in
 * the input plane); avg and L2 need x and y. (Only L2 reads them: max and
 * avg accept x.mem = y.mem = NULL.) */
cly_status cly_pool_backward(cly_context *ctx, const cly_pool_geom *g, cly_buf x, cly_buf y, cly_buf argmax,
                             cly_buf dy, cly_buf dx, float beta);
cly_status cly_gap_backward(cly_context *ctx, cly_shape in, cly_buf dy, cly_buf dx, float beta);
/* dx = dy where y > 0, else 0 (y may be the fused conv/FC output). */
cly_status cly_relu_backward(cly_context *ctx, int64_t count, cly_buf y, cly_buf dy, cly_buf dx, float beta);
/* db[j] = beta*db[j] + sum over n < N, p < hw of dy[(n*k + j)*hw + p], j < k:
 * the bias gradient of convolution (per channel) and of fully connected
 * (hw = 1: column sums), in a fixed order. */
cly_status cly_bias_grad(cly_context *ctx, int64_t n, int64_t k, int64_t hw, cly_buf dy, cly_buf db, float beta);
/* dx = beta*dx + dy (add's backward for each input; also a plain gradient copy). */
cly_status cly_grad_accumulate(cly_context *ctx, int64_t count, cly_buf dy, cly_buf dx, float beta);
/* dx = channels [c_offset, c_offset + c) of dy. */
cly_status cly_concat_backward(cly_context *ctx, int64_t n, int64_t c, int64_t hw, int64_t c_total, int64_t c_offset,
                               cly_buf dy, cly_buf dx, float beta);
cly_status cly_lrn_backward(cly_context *ctx, cly_shape in, const cly_lrn_params *p, cly_buf x, cly_buf y, cly_buf dy,
                            cly_buf dx, float beta);
/* Training form: batch statistics (biased variance) normalise x; the running
 * statistics move by momentum m with the unbiased variance:
 * running = (1 - m)*running + m*batch. save_mean and save_invstd (c each)
 * keep what backward needs. Needs N*H*W >= 2 per channel; running_mean and
 * running_var both NULL skip the update; save_var (NULL: skipped) gets the
 * biased batch variance. Backward: dx, dscale, dshift are
 * each skipped when NULL; dx may coincide with dy. */
cly_status cly_batchnorm_train_forward(cly_context *ctx, cly_shape in, double epsilon, double momentum, cly_buf x,
                                       cly_buf scale, cly_buf shift, cly_buf running_mean, cly_buf running_var,
                                       cly_buf save_mean, cly_buf save_invstd, cly_buf save_var, cly_buf y);
cly_status cly_batchnorm_backward(cly_context *ctx, cly_shape in, cly_buf x, cly_buf scale, cly_buf save_mean,
                                  cly_buf save_invstd, cly_buf dy, cly_buf dx, cly_buf dscale, cly_buf dshift,
                                  float beta);
/* The inference form's backward (running statistics held constant, a
 * plan's batch norm in inference mode): dx = scale * dy / sqrt(var + eps),
 * dscale = sum dy * xhat, dshift = sum dy; each skipped when NULL, each
 * overwritten; x is needed for dscale only. */
cly_status cly_batchnorm_frozen_backward(cly_context *ctx, cly_shape in, double epsilon, cly_buf x, cly_buf scale,
                                         cly_buf mean, cly_buf var, cly_buf dy, cly_buf dx, cly_buf dscale,
                                         cly_buf dshift);
/* dx = y * (dy - sum_c(dy * y)) per (n, position). */
cly_status cly_softmax_backward(cly_context *ctx, cly_shape in, cly_buf y, cly_buf dy, cly_buf dx, float beta);
/* dx = dy w; dw = dy^T x; db = column sums of dy. `dx.mem` NULL skips dx.
 * ws: cly_fc_backward_workspace floats (or more), not overlapping the
 * others; ws.mem NULL takes CLBlast's SGEMM whatever the size. */
cly_status cly_fc_backward(cly_context *ctx, int64_t n, int64_t inputs, int64_t outputs, cly_buf x, cly_buf w,
                           cly_buf dy, cly_buf dx, cly_buf dw, cly_buf db, float beta, cly_buf ws);
/* The workspace the backward's gemm_nt form needs (0 where CLBlast runs). */
int64_t cly_fc_backward_workspace(const cly_context *ctx, int64_t n, int64_t inputs, int64_t outputs);
/* Inverted dropout with a counter-based mask: element i is kept when
 * hash(seed, i) >= p * 2^32, and scaled by 1/(1 - p). Backward recomputes
 * the same mask from the seed, so nothing is stored. */
cly_status cly_dropout_forward(cly_context *ctx, int64_t count, double p, uint64_t seed, cly_buf x, cly_buf y);
cly_status cly_dropout_backward(cly_context *ctx, int64_t count, double p, uint64_t seed, cly_buf dy, cly_buf dx,
                                float beta);

/* Losses over scores n x classes (row-major) and int32 labels in [0, classes).
 * loss (n floats) receives each sample's loss; dscores = d(mean loss)/dscores.
 * Softmax cross-entropy: -log softmax(s)[y]. Multiclass SVM (CS231n):
 * sum_{j != y} max(0, s_j - s_y + margin). */
cly_status cly_softmax_xent(cly_context *ctx, int64_t n, int64_t classes, cly_buf scores, cly_buf labels, cly_buf loss,
                            cly_buf dscores);
cly_status cly_svm_loss(cly_context *ctx, int64_t n, int64_t classes, double margin, cly_buf scores, cly_buf labels,
                        cly_buf loss, cly_buf dscores);
/* (Both: loss or dscores NULL skips it; a label outside [0, classes) gives
 * that sample a NaN loss rather than an out-of-bounds read.) */

/* Parameter updates over `count` reals; g already holds the mean gradient.
 * Weight decay adds decay * w to g first (L2 on the loss: decay/2 * |w|^2).
 * SGD: v = momentum*v + g; w -= lr * (nesterov ? g + momentum*v : v).
 * Adam (t >= 1): m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 * w -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps). */
/* (v may be NULL when momentum is 0; Nesterov needs momentum > 0.) */
/* The scalars reach the kernels as the context's `real`: doubles on a
 * FLOAT64 context, rounded to float on a FLOAT32 one. */
cly_status cly_sgd_step(cly_context *ctx, int64_t count, double lr, double momentum, bool nesterov, double decay,
                        cly_buf w, cly_buf g, cly_buf v);
cly_status cly_adam_step(cly_context *ctx, int64_t count, double lr, double b1, double b2, double eps, int64_t t,
                         double decay, cly_buf w, cly_buf g, cly_buf m, cly_buf v);

/* C[b] = beta*C[b] + A[b] B[b]^T for b < batches (gemm_nt.c): A m x k and B
 * n x k row-major with k contiguous (row strides lda, ldb; batch strides sa,
 * sb, sc); m and n must fit an int. `what` names the caller in errors. */
cly_status cly_gemm_nt(cly_context *ctx, int64_t m, int64_t n, int64_t k, cly_buf a, int64_t lda, int64_t sa,
                       cly_buf b, int64_t ldb, int64_t sb, cly_buf c, int64_t ldc, int64_t sc, int64_t batches,
                       float beta, const char *what);
/* The same with C[b] = beta*C[b] + alpha * A[b] B[b]^T (clayer's own GEMM). */
cly_status cly_gemm_nt_scaled(cly_context *ctx, int64_t m, int64_t n, int64_t k, cly_buf a, int64_t lda, int64_t sa,
                              cly_buf b, int64_t ldb, int64_t sb, cly_buf c, int64_t ldc, int64_t sc,
                              int64_t batches, float alpha, float beta, const char *what);

/* clayer's own GEMM (gemm.c, cl/gemm.cl), behind cly_gemm and
 * cly_gemm_strided (runtime/blas.c) on a binary-only context or where
 * CLAYER_GEMM / cly_context_options.gemm asks for it: C[b] = alpha * op(A[b])
 * op(B[b]) + beta * C[b], row-major, for b < batches at batch strides sa,
 * sb, sc. m, n must fit an int. */
cly_status cly_gemm_builtin(cly_context *ctx, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
                            float alpha, cly_buf a, int64_t lda, int64_t sa, cly_buf b, int64_t ldb, int64_t sb,
                            float beta, cly_buf c, int64_t ldc, int64_t sc, int64_t batches);

/* dst[c][r] = src[r][c] for r < rows, c < cols (transpose.c): row strides
 * lds (>= cols) and ldd (>= rows); rows and cols must fit an int. */
cly_status cly_transpose(cly_context *ctx, int64_t rows, int64_t cols, cly_buf src, int64_t lds, cly_buf dst,
                         int64_t ldd, const char *what);

/* ---- adaptive average pooling (adaptive_pool.c) */

/* PyTorch's AdaptiveAvgPool2d: N x C x H x W -> N x C x oh x ow, output row
 * i the mean of input rows floor(i*H/oh) .. ceil((i+1)*H/oh) - 1 (columns
 * alike; bins may overlap, oh may exceed H). Errors:
 * CLY_ERROR_INVALID_ARGUMENT (a size < 1, a NULL buffer, y overlapping x),
 * CLY_ERROR_UNSUPPORTED (H, W, oh or ow past INT32_MAX),
 * CLY_ERROR_SIZE_OVERFLOW (an element count past 64 bits), and build and
 * OpenCL failures. */
cly_status cly_adaptive_avgpool_forward(cly_context *ctx, cly_shape in, int64_t oh, int64_t ow, cly_buf x, cly_buf y);
/* dx = beta * dx + d(sum dy*y)/dx: each input cell gathers dy / area from
 * every bin containing it (deterministic, no atomics). beta = 0 overwrites
 * without reading dx; 1 accumulates. dx must not overlap dy. Errors as for
 * the forward. */
cly_status cly_adaptive_avgpool_backward(cly_context *ctx, cly_shape in, int64_t oh, int64_t ow, cly_buf dy,
                                         cly_buf dx, float beta);

#endif
