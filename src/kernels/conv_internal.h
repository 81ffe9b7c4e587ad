/* Shared by the convolution files (conv*.c): the algorithm tables'
 * row type, the per-algorithm entry points behind them and the workspace
 * chunking rule. Not installed. */
#ifndef CLY_CONV_INTERNAL_H
#define CLY_CONV_INTERNAL_H

#include "runtime/launch.h"
#include "runtime/tuning.h"

/* ---- conv_algos.c: the ordered algorithm tables (oneDNN's implementation
 * lists) for forward, backward-data and backward-weights */

/* The buffers of one pass: forward reads x, w, bias and writes y; backward
 * data reads dy, w and writes dx; backward weights reads x, dy and writes
 * dw, db (db.mem NULL: skipped). beta applies to the backward outputs. */
typedef struct cly_conv_io {
    cly_buf x, w, bias, y;
    cly_buf dy, dx, dw, db;
    float beta;
    cly_buf ws;
} cly_conv_io;

/* One row. supports() says whether the row can run g after the forward
 * algorithm `fwd` (forward rows get their own algorithm), and otherwise
 * writes why into why[size]; workspace() gives its scratch elements; run()
 * enqueues it. prefer() is AUTO's score on ctx's device: among forward
 * rows the supported one of highest score > 0 wins; a backward row with
 * a score of 0 runs only where no other supports the shape. */
typedef struct cly_conv_impl {
    const char *name;
    cly_conv_algo algo; /* forward rows: the algorithm; backward rows: CLY_CONV_AUTO */
    bool (*supports)(const cly_context *ctx, cly_conv_algo fwd, const cly_conv_geom *g, char *why, size_t size);
    int64_t (*workspace)(const cly_context *ctx, const cly_conv_geom *g);
    cly_status (*run)(cly_context *ctx, const cly_conv_geom *g, const cly_conv_io *io);
    int (*prefer)(const cly_context *ctx, const cly_conv_geom *g);
    /* Forward rows whose results differ from exact arithmetic by more than
     * the summation order (Winograd's transforms round): the name the
     * summary shows, "NAME (inexact)"; NULL for exact rows. */
    const char *inexact;
} cly_conv_impl;

/* ---- conv_geom.c */

/* Kernels take single dimensions as int: true when every extent of g fits
 * (products are computed in 64 bits). */
bool cly_conv_dims_fit_int(const cly_conv_geom *g);
/* True when `elems` elements of the context's precision fit one allocation. */
bool cly_conv_fits_alloc(const cly_context *ctx, int64_t elems);

/* Samples per pass when one sample needs `per_sample` workspace elements: as
 * many of the n as fit a fixed budget (2^24 elements, fewer if the device's
 * largest allocation holds fewer of the context's elements), at least 1.
 * Forward, backward and their workspace sizes all use it, so they agree on the
 * size. */
int64_t cly_conv_chunk(const cly_context *ctx, int64_t per_sample, int64_t n);

/* ---- conv_direct.c: tiled direct kernel on a zero-padded, stride-phase
 * split copy of the input */
int64_t cly_conv_direct_sample_floats(const cly_context *ctx, const cly_conv_geom *g);
/* The forward's (cly_conv_direct_forward's) workspace: the packed input per
 * sample (chunked as cly_conv_chunk says) plus, where it runs
 * conv_direct_oc, the filters in channel blocks. _fits: whether each part
 * fits one allocation. */
int64_t cly_conv_direct_workspace(const cly_context *ctx, const cly_conv_geom *g);
/* What the forward runs g with: "direct VWxKTxTY wgN" (conv_direct.cl) or
 * "direct oc VWxKVxTX wgN" (conv_direct_oc.cl). */
void cly_conv_direct_text(const cly_context *ctx, const cly_conv_geom *g, char *text, size_t size);
bool cly_conv_direct_fits(const cly_context *ctx, const cly_conv_geom *g, int64_t *per_sample, int64_t *fixed);
/* The tile and work-group the kernel runs g with on ctx (after the tuning
 * file, $CLAYER_CONV_TILE and the tuner's candidate). */
cly_direct_tile cly_conv_direct_tile(const cly_context *ctx, const cly_conv_geom *g, size_t *wg);
cly_status cly_conv_direct_forward(cly_context *ctx, const cly_conv_geom *g, cly_buf x, cly_buf w, cly_buf bias,
                                   cly_buf y, cly_buf ws);
/* conv_pack's layout (cl/conv_direct.cl) when whole tiles of `span`
 * consecutive outputs are computed: row pitch, rows per phase block, floats
 * per channel, tiles per plane. */
typedef struct cly_conv_packing {
    int64_t qw, hq, plane, tiles;
} cly_conv_packing;
cly_conv_packing cly_conv_packing_for(const cly_conv_geom *g, int64_t span);
/* Packs samples [0, nb) of x into xp with `pack` (the conv_pack kernel of a
 * program built with g's -DSH and -DSW), work-groups of `group` rows. */
cly_status cly_conv_pack(cly_context *ctx, cl_kernel pack, const cly_conv_geom *g, const cly_conv_packing *p,
                         cly_buf x, int64_t nb, cly_buf xp, size_t group);
/* Where the direct kernel finds filter kk of group gr, channel c, tap (i, j):
 * w[base + gr*g + kk*k + c*c + i*i + j*j], named by the fields (steps may be
 * negative; the sum stays inside w). */
typedef struct cly_conv_wview {
    int64_t base, g, k, c, i, j;
} cly_conv_wview;
/* The plain K x C/G x FH x FW layout of g's filters. */
cly_conv_wview cly_conv_wview_plain(const cly_conv_geom *g);
/* The direct forward reading its filters through a view: the data
 * gradient's flipped and phase filters without a pass that copies them. */
cly_status cly_conv_direct_forward_view(cly_context *ctx, const cly_conv_geom *g, cly_buf x, cly_buf w,
                                        cly_conv_wview v, cly_buf bias, cly_buf y, cly_buf ws);

/* ---- conv_tune.c: the autotuner's shape keys and entries */

#define CLY_CONV_KEY_MAX 128
/* The tuning-file key of g on ctx: every field that changes the kernels'
 * work (batch included), "f64:" first on a FLOAT64 context. */
void cly_conv_tune_key(const cly_context *ctx, const cly_conv_geom *g, char *key, size_t size);
/* ctx's tuned entry for g, or NULL (no file, no entry). */
const struct cly_tuned_entry *cly_conv_tuned(const cly_context *ctx, const cly_conv_geom *g);
/* "direct VWxKTxTY wgN" or "direct oc VWxKVxTX wgN" (what the direct
 * kernel runs g with: cly_conv_direct_text) or the algorithm's name. */
void cly_conv_config_text(const cly_context *ctx, cly_conv_algo algo, const cly_conv_geom *g, char *text,
                          size_t size);

/* ---- conv_winograd.c: F(2x2,3x3) / F(4x4,3x3) for 3x3, stride 1,
 * dilation 1, one group; not exact (rounding in the transforms) */
bool cly_conv_winograd_supports(const cly_context *ctx, const cly_conv_geom *g, char *why, size_t size);
int64_t cly_conv_winograd_workspace(const cly_context *ctx, const cly_conv_geom *g);
cly_status cly_conv_winograd_forward(cly_context *ctx, const cly_conv_geom *g, cly_buf x, cly_buf w, cly_buf bias,
                                     cly_buf y, cly_buf ws);

/* ---- conv_tiled.c: the GPU-shaped implicit GEMM of cl/conv_tiled.cl (no
 * workspace); its tile for g (table, tuning file, $CLAYER_TILED_TILE, the
 * tuner's trial) */
bool cly_conv_tiled_supports(const cly_context *ctx, const cly_conv_geom *g, char *why, size_t size);
cly_tiled_tile cly_conv_tiled_tile(const cly_context *ctx, const cly_conv_geom *g);
cly_status cly_conv_tiled_forward(cly_context *ctx, const cly_conv_geom *g, cly_buf x, cly_buf w, cly_buf bias,
                                  cly_buf y);

/* ---- conv_gemm.c: im2col + GEMM, and 1x1 as a plain GEMM */
int64_t cly_conv_im2col_sample_floats(const cly_conv_geom *g);
cly_status cly_conv_im2col_forward(cly_context *ctx, const cly_conv_geom *g, cly_buf x, cly_buf w, cly_buf bias,
                                   cly_buf y, cly_buf ws);
cly_status cly_conv_gemm1x1_forward(cly_context *ctx, const cly_conv_geom *g, cly_buf x, cly_buf w, cly_buf bias,
                                    cly_buf y);

/* ---- conv_backward.c: backward through im2col + GEMM (col2im for the
 * data), and the data gradient as a flipped-filter direct convolution */
int64_t cly_conv_backward_gemm_workspace(const cly_context *ctx, const cly_conv_geom *g);
cly_status cly_conv_backward_weights_gemm(cly_context *ctx, const cly_conv_geom *g, cly_buf x, cly_buf dy, cly_buf dw,
                                          cly_buf db, float beta, cly_buf ws);
cly_status cly_conv_backward_data_col2im(cly_context *ctx, const cly_conv_geom *g, cly_buf dy, cly_buf w, cly_buf dx,
                                         float beta, cly_buf ws);
/* The flipped-filter path: its forward geometry, or false with the reason
 * (stride above 1, padding beyond the dilated filter extent). */
bool cly_conv_flipped_geom(const cly_conv_geom *g, cly_conv_geom *f, char *why, size_t size);
int64_t cly_conv_flipped_workspace(const cly_context *ctx, const cly_conv_geom *g);
cly_status cly_conv_backward_data_flipped(cly_context *ctx, const cly_conv_geom *g, cly_buf dy, cly_buf w, cly_buf dx,
                                          float beta, cly_buf ws);

/* ---- conv_wgrad.c: the weight gradient as a direct reduction over the
 * packed input (CPU-shaped: few long work-items) */
bool cly_conv_wgrad_supports(const cly_context *ctx, const cly_conv_geom *g, char *why, size_t size);
int64_t cly_conv_wgrad_workspace(const cly_context *ctx, const cly_conv_geom *g);
cly_status cly_conv_backward_weights_direct(cly_context *ctx, const cly_conv_geom *g, cly_buf x, cly_buf dy,
                                            cly_buf dw, cly_buf db, float beta, cly_buf ws);

/* ---- conv_backward_subpixel.c: the data gradient of a strided, undilated
 * convolution as one stride-1 direct convolution per stride phase */

/* Phase (ry, rx) of g as a forward geometry over dY (sub-filter taps in
 * fh, fw; its rows and columns of dX in oh, ow); false when the phase has
 * no taps or no rows of dX (then only fh, fw, oh, ow are set). */
bool cly_conv_subpixel_phase(const cly_conv_geom *g, int64_t ry, int64_t rx, cly_conv_geom *sub);
/* True when every phase of g is a valid convolution (dilation 1, no
 * negative padding), else false with the reason. */
bool cly_conv_subpixel_geom_ok(const cly_conv_geom *g, char *why, size_t size);
int64_t cly_conv_subpixel_workspace(const cly_context *ctx, const cly_conv_geom *g);
cly_status cly_conv_backward_data_subpixel(cly_context *ctx, const cly_conv_geom *g, cly_buf dy, cly_buf w,
                                           cly_buf dx, float beta, cly_buf ws);

#endif
