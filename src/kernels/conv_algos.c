/* Convolution algorithms as ordered tables, one per pass (oneDNN's
 * implementation lists): forward, backward-data, backward-weights. Each row
 * names itself, says whether it supports a shape (and if not, why: the
 * reason reaches the user in CLY_ERROR_UNSUPPORTED messages), sizes its
 * workspace and runs. Forward rows also carry AUTO's score per device.
 *
 * Backward passes are told the forward's resolved algorithm. Every backward
 * row today accepts every forward algorithm, so the backward of a shape is
 * the same whichever forward ran: the first row of its table that supports
 * the shape. */
#include "kernels/conv_internal.h"
#include "base/names.h"
#include "runtime/tuning_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- forward rows */

static bool dims_ok(const char *name, const cly_conv_geom *g, char *why, size_t size)
{
    if (cly_conv_dims_fit_int(g))
        return true;
    snprintf(why, size, "%s: a single dimension exceeds 2^30", name);
    return false;
}

static bool alloc_ok(const cly_context *ctx, const char *name, int64_t per_sample, char *why, size_t size)
{
    if (cly_conv_fits_alloc(ctx, per_sample))
        return true;
    snprintf(why, size, "%s needs a workspace of %lld floats per sample, more than the largest allocation of "
             "device '%s' (%llu bytes)", name, (long long)per_sample, ctx->info.name,
             (unsigned long long)ctx->info.max_alloc_bytes);
    return false;
}

static bool gemm1x1_supports(const cly_context *ctx, cly_conv_algo fwd, const cly_conv_geom *g, char *why,
                             size_t size)
{
    (void)ctx, (void)fwd;
    if (!dims_ok("gemm1x1", g, why, size))
        return false;
    if (g->fh != 1 || g->fw != 1 || g->sh != 1 || g->sw != 1 || g->pt || g->pb || g->pl || g->pr) {
        snprintf(why, size,
                 "gemm1x1 needs a 1x1 filter, stride 1 and no padding; this layer has a %lldx%lld filter, "
                 "stride %lldx%lld, padding %lld/%lld/%lld/%lld (top/bottom/left/right)",
                 (long long)g->fh, (long long)g->fw, (long long)g->sh, (long long)g->sw, (long long)g->pt,
                 (long long)g->pb, (long long)g->pl, (long long)g->pr);
        return false;
    }
    return true;
}

static bool direct_supports(const cly_context *ctx, cly_conv_algo fwd, const cly_conv_geom *g, char *why,
                            size_t size)
{
    (void)fwd;
    if (!dims_ok("direct", g, why, size))
        return false;
    int64_t per_sample, fixed;
    if (cly_conv_direct_fits(ctx, g, &per_sample, &fixed))
        return true;
    if (!alloc_ok(ctx, "direct", per_sample, why, size))
        return false;
    snprintf(why, size, "direct needs %lld floats for its filter blocks, more than the largest allocation of "
             "device '%s' (%llu bytes) or 2^31", (long long)fixed, ctx->info.name,
             (unsigned long long)ctx->info.max_alloc_bytes);
    return false;
}

static bool im2col_supports(const cly_context *ctx, cly_conv_algo fwd, const cly_conv_geom *g, char *why,
                            size_t size)
{
    (void)fwd;
    if (!dims_ok("im2col", g, why, size))
        return false;
    if (g->c * g->fh * g->fw > INT32_MAX / 2) { /* rows of the column matrix, an int in im2col.cl */
        snprintf(why, size, "im2col: C*FH*FW = %lld rows exceed 2^30", (long long)(g->c * g->fh * g->fw));
        return false;
    }
    return alloc_ok(ctx, "im2col", cly_conv_im2col_sample_floats(g), why, size);
}

static int64_t no_workspace(const cly_context *ctx, const cly_conv_geom *g)
{
    (void)ctx, (void)g;
    return 0;
}

static int64_t direct_workspace(const cly_context *ctx, const cly_conv_geom *g)
{
    return cly_conv_direct_workspace(ctx, g);
}

static int64_t im2col_workspace(const cly_context *ctx, const cly_conv_geom *g)
{
    const int64_t per_sample = cly_conv_im2col_sample_floats(g);
    return per_sample * cly_conv_chunk(ctx, per_sample, g->n);
}

static cly_status gemm1x1_run(cly_context *ctx, const cly_conv_geom *g, const cly_conv_io *io)
{
    return cly_conv_gemm1x1_forward(ctx, g, io->x, io->w, io->bias, io->y);
}

static cly_status direct_run(cly_context *ctx, const cly_conv_geom *g, const cly_conv_io *io)
{
    return cly_conv_direct_forward(ctx, g, io->x, io->w, io->bias, io->y, io->ws);
}

static bool winograd_supports(const cly_context *ctx, cly_conv_algo fwd, const cly_conv_geom *g, char *why,
                              size_t size)
{
    (void)fwd;
    return cly_conv_winograd_supports(ctx, g, why, size);
}

static cly_status winograd_run(cly_context *ctx, const cly_conv_geom *g, const cly_conv_io *io)
{
    return cly_conv_winograd_forward(ctx, g, io->x, io->w, io->bias, io->y, io->ws);
}

static cly_status im2col_run(cly_context *ctx, const cly_conv_geom *g, const cly_conv_io *io)
{
    return cly_conv_im2col_forward(ctx, g, io->x, io->w, io->bias, io->y, io->ws);
}

/* AUTO's scores.
 *
 * CPUs: direct, always (score 10; im2col 1 only where direct cannot run,
 * gemm1x1 never). Measured with benchmarks/conv_bench on the development
 * machine (pocl 3.1, 2 shared cores of AVX-512, batch 1 unless noted,
 * median of 7 device-timed runs, ReLU fused; the machine is shared, so
 * single figures move by 15% and more), direct beat im2col + CLBlast and
 * gemm1x1 on every layer tried, big and small:
 *
 *   layer                          direct GFLOP/s   vs im2col   vs gemm1x1
 *   VGG-16 conv1_2 .. conv5_2          122-255      4.2-21x         -
 *   ResNet 3x3 at 56, 28, 14, 7        229-258      7.6-20x         -
 *   ResNet 7x7 s2, AlexNet conv1       217-221      7.8-8.5x        -
 *   ResNet-50 3x3 s2, 1x1 s2             99-116     3.4-3.8x        -
 *   ResNet-50 1x1 s1 (56 .. 7)         118-172      4.1-6.6x      3.8-6.5x
 *   batch 8: ResNet 3x3 / 1x1           263 / 126   8.7 / 4.2x     3.9x
 *   LeNet c1/c3, CIFAR 32x32/8x8          25-77     4.7-16x         -
 *   tiny 1x1 (4x4, 2x2, 1x1 outputs)      2-14      1.2-8.6x      1.1-8.7x
 *   AlexNet conv2 g2, ResNeXt g32       267 / 76    8.8 / 27x       -
 *   GoogLeNet 5x5, MobileNet depthwise  102 / 20    4.4 / 41x       -
 *
 * Other devices were not measured (no GPU in this task). There CLBlast's
 * GEMM is tuned per device while the direct kernel runs an untuned scalar
 * tile, so 1x1/s1/p0 goes to gemm1x1 (30) and an ungrouped layer with a
 * reduction C*FH*FW of at least 64 to im2col (20); grouped layers stay
 * direct. Re-measure with conv_bench on a GPU before trusting this branch.
 * On the vendor GPU rows tiled (25, below) takes all but ungrouped 1x1/s1/p0. */
static bool gemm_first(const cly_context *ctx, const cly_conv_geom *g)
{
    return ctx->info.type != CLY_DEVICE_CPU && g->groups == 1;
}

static int gemm1x1_prefer(const cly_context *ctx, const cly_conv_geom *g)
{
    return gemm_first(ctx, g) ? 30 : 0;
}

static int direct_prefer(const cly_context *ctx, const cly_conv_geom *g)
{
    (void)ctx, (void)g;
    return 10;
}

static int im2col_prefer(const cly_context *ctx, const cly_conv_geom *g)
{
    return gemm_first(ctx, g) && g->c * g->fh * g->fw >= 64 ? 20 : 1;
}

/* Winograd: 0, never AUTO's choice, though it beats direct on some 3x3
 * layers of this CPU: it is inexact, and AUTO picking it would change every
 * net's results (and the recorded hashes of tests/net/hashes.txt, where auto
 * equals direct on a CPU). A layer, $CLAYER_CONV_ALGO or the tuner names
 * it. Measured with benchmarks/conv_bench (pocl 3.1, 2 shared cores of an
 * AMD EPYC with AVX-512; medians of 5-7 device-timed runs, the better of
 * two rounds where noted; direct / winograd time, above 1 winograd faster):
 *
 *   layer (batch 1)               run A   run B (better of two rounds)
 *   vgg16 conv1_2  64 @ 224       7.07    3.73
 *   vgg16 conv2_2 128 @ 112       4.84    1.71
 *   vgg16 conv3_2 256 @ 56        1.00    1.25
 *   vgg16 conv4_2 512 @ 28        1.58    0.84
 *   vgg16 conv5_2 512 @ 14        0.56     -
 *   resnet 3x3  64 @ 56           1.11    0.93
 *   resnet 3x3 128 @ 28           1.06     -
 *   resnet 3x3 256 @ 14           0.89     -
 *   resnet 3x3 512 @ 7            0.19     -
 *   alexnet conv3, googlenet 3a   0.76, 1.07
 *   convnet-benchmarks L5         0.58
 *   batch 16: resnet 3x3 64 @ 56 1.21, 256 @ 14 1.46, 512 @ 7 0.64
 *
 * Other sessions loaded the machine: ratios moved by up to 2x between runs
 * (direct's vgg16 conv1_2 took 46-56 ms in both, 80 GFLOP/s). It wins
 * where the maps are large against the channels; on deep layers
 * at small batch the filter transform (T*K*C values, every call) costs more
 * than the GEMMs save. Its error, max |y - exact| / max |exact| on uniform
 * [-1, 1] data against test_conv's double reference: F(2x2) <= 3e-7 on the
 * unit shapes and <= 9e-7 on vgg16 conv3_2..5_2 and resnet 3x3 at 56 (exact
 * on small integers), F(4x4) <= 4e-6 and <= 1.7e-5 (vgg16 conv4_2). */
static int winograd_prefer(const cly_context *ctx, const cly_conv_geom *g)
{
    (void)ctx, (void)g;
    return 0;
}

static bool tiled_supports(const cly_context *ctx, cly_conv_algo fwd, const cly_conv_geom *g, char *why,
                           size_t size)
{
    (void)fwd;
    return dims_ok("tiled", g, why, size) && cly_conv_tiled_supports(ctx, g, why, size);
}

static cly_status tiled_run(cly_context *ctx, const cly_conv_geom *g, const cly_conv_io *io)
{
    return cly_conv_tiled_forward(ctx, g, io->x, io->w, io->bias, io->y);
}

/* Tiled: 25 where the device's tuning row says so (the vendor GPU rows,
 * never a CPU: there direct's register tiles win and local memory is plain
 * memory); above im2col and direct, below gemm1x1, whose CLBlast GEMM is
 * tuned per device. Its GPU figures are unmeasured (no GPU in the session
 * that wrote it): time it with conv_bench and `clayer tune` before
 * trusting this. Exact: it sums as direct does, bit for bit. */
static int tiled_prefer(const cly_context *ctx, const cly_conv_geom *g)
{
    (void)g;
    return ctx->info.type != CLY_DEVICE_CPU && cly_tuning_of(ctx)->tiled_auto ? 25 : 0;
}

static const cly_conv_impl fwd[] = {
    {"gemm1x1", CLY_CONV_GEMM1X1, gemm1x1_supports, no_workspace, gemm1x1_run, gemm1x1_prefer, NULL},
    {"direct", CLY_CONV_DIRECT, direct_supports, direct_workspace, direct_run, direct_prefer, NULL},
    {"im2col", CLY_CONV_IM2COL, im2col_supports, im2col_workspace, im2col_run, im2col_prefer, NULL},
    {"winograd", CLY_CONV_WINOGRAD, winograd_supports, cly_conv_winograd_workspace, winograd_run, winograd_prefer,
     .inexact = "winograd (inexact)"},
    {"tiled", CLY_CONV_TILED, tiled_supports, no_workspace, tiled_run, tiled_prefer, NULL},
};

/* ---- backward rows */

static bool always(const cly_context *ctx, cly_conv_algo f, const cly_conv_geom *g, char *why, size_t size)
{
    (void)ctx, (void)f, (void)g, (void)why, (void)size;
    return true;
}

static bool flipped_supports(const cly_context *ctx, cly_conv_algo fwd_algo, const cly_conv_geom *g, char *why,
                             size_t size)
{
    (void)fwd_algo;
    cly_conv_geom f;
    char direct_why[512];
    if (!cly_conv_flipped_geom(g, &f, why, size))
        return false;
    if (!direct_supports(ctx, CLY_CONV_DIRECT, &f, direct_why, sizeof direct_why)) {
        snprintf(why, size, "its flipped-filter convolution: %s", direct_why);
        return false;
    }
    return true;
}

static cly_status flipped_run(cly_context *ctx, const cly_conv_geom *g, const cly_conv_io *io)
{
    return cly_conv_backward_data_flipped(ctx, g, io->dy, io->w, io->dx, io->beta, io->ws);
}

static bool subpixel_supports(const cly_context *ctx, cly_conv_algo fwd_algo, const cly_conv_geom *g, char *why,
                              size_t size)
{
    (void)fwd_algo;
    if (!dims_ok("subpixel-direct", g, why, size) || !cly_conv_subpixel_geom_ok(g, why, size))
        return false;
    for (int64_t ry = 0; ry < g->sh; ry++)
        for (int64_t rx = 0; rx < g->sw; rx++) {
            cly_conv_geom sub;
            char direct_why[512];
            if (cly_conv_subpixel_phase(g, ry, rx, &sub) &&
                !direct_supports(ctx, CLY_CONV_DIRECT, &sub, direct_why, sizeof direct_why)) {
                snprintf(why, size, "the convolution of phase (%lld, %lld): %s", (long long)ry, (long long)rx,
                         direct_why);
                return false;
            }
        }
    return true;
}

static cly_status subpixel_run(cly_context *ctx, const cly_conv_geom *g, const cly_conv_io *io)
{
    return cly_conv_backward_data_subpixel(ctx, g, io->dy, io->w, io->dx, io->beta, io->ws);
}

static cly_status col2im_run(cly_context *ctx, const cly_conv_geom *g, const cly_conv_io *io)
{
    return cly_conv_backward_data_col2im(ctx, g, io->dy, io->w, io->dx, io->beta, io->ws);
}

static cly_status weights_gemm_run(cly_context *ctx, const cly_conv_geom *g, const cly_conv_io *io)
{
    return cly_conv_backward_weights_gemm(ctx, g, io->x, io->dy, io->dw, io->db, io->beta, io->ws);
}

static const cly_conv_impl bwd_data[] = {
    {"flipped-direct", CLY_CONV_AUTO, flipped_supports, cly_conv_flipped_workspace, flipped_run, NULL, NULL},
    {"subpixel-direct", CLY_CONV_AUTO, subpixel_supports, cly_conv_subpixel_workspace, subpixel_run, NULL, NULL},
    {"col2im", CLY_CONV_AUTO, always, cly_conv_backward_gemm_workspace, col2im_run, NULL, NULL},
};

static bool wgrad_supports(const cly_context *ctx, cly_conv_algo fwd_algo, const cly_conv_geom *g, char *why,
                           size_t size)
{
    (void)fwd_algo;
    return dims_ok("direct", g, why, size) && cly_conv_wgrad_supports(ctx, g, why, size);
}

static cly_status wgrad_run(cly_context *ctx, const cly_conv_geom *g, const cly_conv_io *io)
{
    return cly_conv_backward_weights_direct(ctx, g, io->x, io->dy, io->dw, io->db, io->beta, io->ws);
}

/* Where the device's tuning row gives it registers (CPUs), for filters of
 * more than one tap: a 1x1 filter's tile loads about as much as it
 * multiplies, and gemm_nt ran ResNet-18's 1x1 stride-2 layers 1.7-2x faster
 * (benchmarks/conv_backward_bench, batch 8, AMD EPYC AVX-512). */
static int wgrad_prefer(const cly_context *ctx, const cly_conv_geom *g)
{
    return cly_tuning_of(ctx)->wgrad_acc > 0 && g->fh * g->fw > 1;
}

static const cly_conv_impl bwd_weights[] = {
    {"direct", CLY_CONV_AUTO, wgrad_supports, cly_conv_wgrad_workspace, wgrad_run, wgrad_prefer, NULL},
    {"im2col+gemm_nt", CLY_CONV_AUTO, always, cly_conv_backward_gemm_workspace, weights_gemm_run, NULL, NULL},
};

#define COUNT(t) (sizeof(t) / sizeof((t)[0]))

/* The first row of `rows` that supports g after forward `fwd_algo`, or NULL
 * with every row's refusal in why ("name: reason; ..."). */
static const cly_conv_impl *first_supported(const cly_conv_impl *rows, size_t n, const cly_context *ctx,
                                            cly_conv_algo fwd_algo, const cly_conv_geom *g, char *why, size_t size)
{
    size_t used = 0;
    if (size)
        why[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        char one[512];
        if (rows[i].supports(ctx, fwd_algo, g, one, sizeof one))
            return &rows[i];
        if (used < size) {
            int k = snprintf(why + used, size - used, "%s%s: %s", used ? "; " : "", rows[i].name, one);
            used += k > 0 ? (size_t)k : 0;
        }
    }
    return NULL;
}

static const cly_conv_impl *forward_row(cly_conv_algo algo)
{
    for (size_t i = 0; i < COUNT(fwd); i++)
        if (fwd[i].algo == algo)
            return &fwd[i];
    return NULL;
}

const char *cly_conv_algo_string(cly_conv_algo algo)
{
    return (unsigned)algo < CLY_CONV_ALGO_COUNT ? cly_conv_algo_names[algo] : "unknown";
}

bool cly_conv_algo_exact(cly_conv_algo algo)
{
    if (algo == CLY_CONV_AUTO)
        return true;
    const cly_conv_impl *r = forward_row(algo);
    return r && !r->inexact;
}

const char *cly_conv_algo_shown(cly_conv_algo algo)
{
    const cly_conv_impl *r = forward_row(algo);
    return r && r->inexact ? r->inexact : cly_conv_algo_string(algo);
}

bool cly_conv_check_support(const cly_context *ctx, cly_conv_algo algo, const cly_conv_geom *g, char *msg,
                            size_t size)
{
    if (size)
        msg[0] = '\0';
    if (algo == CLY_CONV_AUTO) {
        for (size_t i = 0; i < COUNT(fwd); i++)
            if (fwd[i].supports(ctx, fwd[i].algo, g, msg, size))
                return true;
        return false;
    }
    const cly_conv_impl *r = forward_row(algo);
    if (!r) {
        snprintf(msg, size, "%d is not a convolution algorithm", (int)algo);
        return false;
    }
    return r->supports(ctx, algo, g, msg, size);
}

cly_status cly_conv_support_status(const cly_context *ctx, cly_conv_algo algo, const cly_conv_geom *g, char *msg,
                                   size_t size)
{
    if (cly_conv_check_support(ctx, algo, g, msg, size))
        return CLY_SUCCESS;
    /* Would it run were the device's allocations unlimited? Then what stops
     * it is the size of its workspace. */
    cly_context *roomy = malloc(sizeof *roomy);
    if (!roomy)
        return CLY_ERROR_UNSUPPORTED;
    *roomy = *ctx;
    roomy->info.max_alloc_bytes = UINT64_MAX;
    char ignored[256];
    bool fits = cly_conv_check_support(roomy, algo, g, ignored, sizeof ignored);
    free(roomy);
    return fits ? CLY_ERROR_TOO_LARGE : CLY_ERROR_UNSUPPORTED;
}

bool cly_conv_supports(const cly_context *ctx, cly_conv_algo algo, const cly_conv_geom *g)
{
    char msg[256];
    return cly_conv_check_support(ctx, algo, g, msg, sizeof msg);
}

static cly_conv_algo algo_from_env(void)
{
    const char *v = getenv("CLAYER_CONV_ALGO");
    if (!v || !*v)
        return CLY_CONV_AUTO;
    for (int a = 0; a < CLY_CONV_ALGO_COUNT; a++)
        if (strcasecmp(v, cly_conv_algo_string((cly_conv_algo)a)) == 0)
            return (cly_conv_algo)a;
    cly_log(CLY_LOG_WARN, "CLAYER_CONV_ALGO='%s' is not one of auto, direct, im2col, gemm1x1, winograd, tiled; ignored",
            v);
    return CLY_CONV_AUTO;
}

/* The supported forward row of highest score > 0 (the first on ties);
 * im2col when none. */
static cly_conv_algo best_scored(const cly_context *ctx, const cly_conv_geom *g)
{
    cly_conv_algo best = CLY_CONV_IM2COL;
    int best_score = 0;
    for (size_t i = 0; i < COUNT(fwd); i++) {
        int score = fwd[i].prefer(ctx, g);
        if (score > best_score && cly_conv_supports(ctx, fwd[i].algo, g)) {
            best = fwd[i].algo;
            best_score = score;
        }
    }
    return best;
}

cly_conv_algo cly_conv_choose(const cly_context *ctx, const cly_conv_geom *g, cly_conv_algo requested)
{
    if (requested != CLY_CONV_AUTO)
        return requested;
    /* The environment names an algorithm for tests and benchmarks; where it
     * cannot run the shape, AUTO decides (a net keeps running). */
    cly_conv_algo env = algo_from_env();
    if (env != CLY_CONV_AUTO && cly_conv_supports(ctx, env, g))
        return env;
    /* What `clayer tune` measured fastest for this shape on this device,
     * where it still runs (the file is untrusted). */
    const cly_tuned_entry *t = cly_conv_tuned(ctx, g);
    if (t && cly_conv_supports(ctx, t->algo, g))
        return t->algo;
    return best_scored(ctx, g);
}

int64_t cly_conv_workspace(const cly_context *ctx, cly_conv_algo algo, const cly_conv_geom *g)
{
    if (algo == CLY_CONV_AUTO)
        algo = cly_conv_choose(ctx, g, algo);
    const cly_conv_impl *r = forward_row(algo);
    return r ? r->workspace(ctx, g) : 0;
}

cly_status cly_conv_forward(cly_context *ctx, cly_conv_algo algo, const cly_conv_geom *g, cly_buf x, cly_buf w,
                            cly_buf bias, cly_buf y, cly_buf workspace)
{
    if (algo == CLY_CONV_AUTO)
        algo = cly_conv_choose(ctx, g, algo);
    const cly_conv_impl *r = forward_row(algo);
    if (!r)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "convolution algorithm %d does not exist", (int)algo);
    char why[512];
    if (!r->supports(ctx, algo, g, why, sizeof why))
        return cly_fail(ctx, CLY_ERROR_UNSUPPORTED, "convolution algorithm %s: %s", r->name, why);
    const cly_conv_io io = {.x = x, .w = w, .bias = bias, .y = y, .ws = workspace};
    return r->run(ctx, g, &io);
}

/* The backward row for g: the one $CLAYER_CONV_BACKWARD_DATA or
 * _WEIGHTS names (tests and benchmarks reach every method on any device)
 * where it supports g, else the first that does and that the device
 * prefers (rows without prefer() always are), else the first that does. */
static const cly_conv_impl *backward_pick(const cly_conv_impl *rows, size_t n, const cly_context *ctx,
                                          cly_conv_algo fwd_algo, const cly_conv_geom *g, char *why, size_t size)
{
    const char *env = getenv(rows == bwd_data ? "CLAYER_CONV_BACKWARD_DATA" : "CLAYER_CONV_BACKWARD_WEIGHTS");
    if (env && *env)
        for (size_t i = 0; i < n; i++)
            if (!strcasecmp(env, rows[i].name) && rows[i].supports(ctx, fwd_algo, g, why, size))
                return &rows[i];
    for (size_t i = 0; i < n; i++)
        if ((!rows[i].prefer || rows[i].prefer(ctx, g) > 0) && rows[i].supports(ctx, fwd_algo, g, why, size))
            return &rows[i];
    return first_supported(rows, n, ctx, fwd_algo, g, why, size);
}

const char *cly_conv_backward_method_name(bool data, size_t i)
{
    const size_t n = data ? COUNT(bwd_data) : COUNT(bwd_weights);
    return i < n ? (data ? bwd_data : bwd_weights)[i].name : NULL;
}

/* The backward row of `rows` for forward `algo`, or a status: `algo` must
 * be a resolved algorithm that can run g forward. */
static cly_status backward_row(cly_context *ctx, const char *pass, const cly_conv_impl *rows, size_t n,
                               cly_conv_algo algo, const cly_conv_geom *g, const cly_conv_impl **out)
{
    char why[1024];
    if (algo == CLY_CONV_AUTO || !forward_row(algo))
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT,
                        "convolution %s: algorithm %d is not a resolved forward algorithm (pass the one the "
                        "forward ran, never auto)", pass, (int)algo);
    if (!cly_conv_check_support(ctx, algo, g, why, sizeof why))
        return cly_fail(ctx, CLY_ERROR_UNSUPPORTED, "convolution %s after forward %s: the forward cannot run: %s",
                        pass, cly_conv_algo_string(algo), why);
    *out = backward_pick(rows, n, ctx, algo, g, why, sizeof why);
    if (!*out)
        return cly_fail(ctx, CLY_ERROR_UNSUPPORTED, "convolution %s after forward %s: no algorithm can run it: %s",
                        pass, cly_conv_algo_string(algo), why);
    return CLY_SUCCESS;
}

int64_t cly_conv_backward_workspace(const cly_context *ctx, cly_conv_algo algo, const cly_conv_geom *g)
{
    char why[1024];
    if (algo == CLY_CONV_AUTO)
        algo = cly_conv_choose(ctx, g, algo);
    const cly_conv_impl *d = backward_pick(bwd_data, COUNT(bwd_data), ctx, algo, g, why, sizeof why);
    const cly_conv_impl *w = backward_pick(bwd_weights, COUNT(bwd_weights), ctx, algo, g, why, sizeof why);
    const int64_t wd = d ? d->workspace(ctx, g) : 0, ww = w ? w->workspace(ctx, g) : 0;
    return wd > ww ? wd : ww;
}

const char *cly_conv_backward_method(const cly_context *ctx, cly_conv_algo algo, const cly_conv_geom *g, bool data)
{
    char why[1024];
    const cly_conv_impl *r = data ? backward_pick(bwd_data, COUNT(bwd_data), ctx, algo, g, why, sizeof why)
                                  : backward_pick(bwd_weights, COUNT(bwd_weights), ctx, algo, g, why, sizeof why);
    return r ? r->name : NULL;
}

cly_status cly_conv_backward_data(cly_context *ctx, cly_conv_algo algo, const cly_conv_geom *g, cly_buf dy, cly_buf w,
                                  cly_buf dx, float beta, cly_buf workspace)
{
    const cly_conv_impl *r;
    cly_status s = backward_row(ctx, "backward data", bwd_data, COUNT(bwd_data), algo, g, &r);
    if (s != CLY_SUCCESS)
        return s;
    const cly_conv_io io = {.dy = dy, .w = w, .dx = dx, .beta = beta, .ws = workspace};
    return r->run(ctx, g, &io);
}

cly_status cly_conv_backward_weights(cly_context *ctx, cly_conv_algo algo, const cly_conv_geom *g, cly_buf x,
                                     cly_buf dy, cly_buf dw, cly_buf db, float beta, cly_buf workspace)
{
    const cly_conv_impl *r;
    cly_status s = backward_row(ctx, "backward weights", bwd_weights, COUNT(bwd_weights), algo, g, &r);
    if (s != CLY_SUCCESS)
        return s;
    const cly_conv_io io = {.x = x, .dy = dy, .dw = dw, .db = db, .beta = beta, .ws = workspace};
    return r->run(ctx, g, &io);
}
