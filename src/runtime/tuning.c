/* The tuning table of tuning.h.
 *
 * group_1d = 64: one fixed size keeps the number of compiled variants down
 *   (pocl compiles a kernel again for each new local size); 64 is a
 *   multiple of every GPU's SIMD width (32 on NVIDIA, 64 on AMD).
 * conv_group: for kernels whose work-items loop (the conv kernels, the
 *   bias gradient). On a CPU each work-group runs as one loop on one
 *   thread: a small fixed size (8) keeps enough groups for every core and
 *   one compiled variant; elsewhere 64 as group_1d. conv_direct barely cares on
 *   pocl (1 to 32 within noise).
 * epilogue_chunk: on a CPU each work-item of the conv bias + activation
 *   pass walks a contiguous run of 4096 elements; elsewhere neighbouring
 *   work-items take neighbouring elements (1).
 * direct tiles (measured with benchmarks/conv_bench and $CLAYER_CONV_TILE
 *   on pocl 3.1, 2 shared cores; the table is in kernels/conv_direct.c):
 *   16 lanes (AVX-512: one zmm register per vector, 32 registers)
 *   KT = 6 x TY = 4 keeps 24 accumulators, 4 loaded vectors and a broadcast
 *   weight in registers; 2-8 lanes (AVX2, 16 registers) 4 x 3; 1 lane (GPUs
 *   that prefer scalars, where work-items fill the SIMD lanes) 8 x 1; a
 *   plane one vector covers takes 8 channels. Chosen by vector width, not
 *   device type, so every row holds the same tiles until a GPU is measured.
 * gemm_nt: TM = TN = 4 with VW >= 4 (the horizontal sum needs 4 lanes). On
 *   a CPU one work-item per group: pocl then compiles the tile as written
 *   (130-180 GFLOP/s on the weight gradient's shapes), where its own group
 *   size vectorises across work-items and spills (~55).
 * bn_local = 256: enough work-items per channel to hide memory latency on
 *   a GPU, few enough that small batches do not leave most of them idle.
 *   bn_contiguous on CPUs, which run a group's work-items one after
 *   another: contiguous slices stream, VW at a time; GPUs stride
 *   (coalesced). On CPUs bn_local = 16: there the work-items of a group add
 *   no parallelism (one thread runs them as a loop, the channels spread over
 *   the cores), and every region between barriers loops over all of them:
 *   at 256, ResNet-18's 512-channel batch norms at batch 8 (392 values a
 *   channel) took 4-7 ms each for 0.8 MB. With 16 vector lanes, each lane's
 *   partial sum runs over M/256 values, as each work-item's did at 256
 *   scalar; pocl 3.1, AMD EPYC, 2 cores: ResNet-18's 20 batch norms of a
 *   batch-8 training step, 55 -> 8 ms statistics, 59 -> 29 ms backward.
 * fc_gemm_nt_batch: on pocl gemm_nt beats CLBlast's SGEMM at every batch
 *   (AlexNet's fc6: 128 -> 8.3 ms at batch 1, 464 -> 33 ms at 16); on GPUs,
 *   where CLBlast is tuned, it keeps batches above 16 (unmeasured).
 * pool_rows on CPUs: pool_rows.cl's row and plane kernels against pool.cl's
 *   work-item per element, benchmarks/pool_bench at batch 16 on pocl 3.1
 *   (AMD EPYC, AVX-512, 2 shared cores): forward 2-8x (VGG-16 pool1 128 ->
 *   16 ms), backward 9-40x (pool1 226 -> 8.6 ms); GoogLeNet's 5x5/3
 *   average 0.94x. GPUs keep a work-item per element (coalesced, unmeasured).
 * wgrad_acc on CPUs: conv_wgrad.cl's accumulators at 16 lanes (AVX-512's 32
 *   registers less the loaded vectors; 8 lanes or fewer take half: AVX2 has
 *   16), a tile of filters x channels x taps per work-item reducing over the
 *   whole batch (kernels/conv_wgrad.c has the figures). 0 elsewhere: GPUs
 *   want many short work-items, and keep im2col + gemm_nt.
 * direct_oc_copy on CPUs: conv_direct_oc (output channels across the lanes,
 *   filters reordered into channel blocks on every call) against conv_direct,
 *   with $CLAYER_CONV_OC on pocl 3.1 (AMD EPYC, AVX-512, 2 shared cores;
 *   GFLOP per CPU-second, which the other sessions' load moves less than
 *   wall time): at batch 16 1.2-1.4x on 13x13 and 14x14 maps (alexnet
 *   conv3, resnet50 1x1 at 14x14), 1.05x at 28x28; at batch 1 even, where
 *   the reorder costs what the lanes save (about 3 vector FMAs saved per
 *   filter value there): 4 takes it where it saves more. GPUs: 0
 *   (unmeasured; their vectors are short or scalar).
 *
 * tiled (conv_tiled.cl, the GPU-shaped implicit GEMM): on every row, so
 *   that it can be forced and tuned anywhere; AUTO prefers it only on the
 *   vendor GPU rows and under 32 KiB (tiled_auto), never on a CPU, where it
 *   runs far slower than direct (local memory is ordinary memory there and
 *   each barrier splits pocl's work-item loops), nor on the plain GPU row
 *   (oclgrind, where AUTO keeps the kernels the tests expect). Tile:
 *   4 x 4 outputs per work-item (16 accumulators), 16 x 16 work-items (a
 *   multiple of 32 and 64 lanes), TK = 16: 8 KiB of local memory in float,
 *   16 in double, so several groups share a compute unit's 32-64 KiB;
 *   VW 4 (128-bit local loads). Under 32 KiB half of it. UNMEASURED.
 *
 * GPU rows by vendor and local memory. UNMEASURED: no GPU was available
 * where they were written; they are starting points for `clayer tune`,
 * shaped like GPU kernels rather than CPU ones: VW 1-4 (scalars or short
 * vectors: work-items fill the SIMD lanes and neighbours read neighbouring
 * outputs, so loads coalesce), register tiles of at most 16 accumulators
 * (occupancy), work-groups a multiple of the SIMD width: 32-lane warps on
 * NVIDIA (128), 64-lane wavefronts on AMD (64; 256 where the LDS holds
 * 64 KiB), 8-32 lane EUs on Intel (64). Under 32 KiB of local memory (old
 * or embedded GPUs) halves the batch-norm reduction group, whose tree
 * lives there. Any other GPU (oclgrind, which the tests run as a GPU,
 * included) takes the plain GPU row, as before. */
#include "runtime/tuning.h"

#include <string.h>
#include <strings.h>

#define DIRECT_TILES {{1, 8, 1}, {2, 4, 3}, {4, 4, 3}, {8, 4, 3}, {16, 6, 4}}
#define GPU_TILES {{1, 8, 2}, {2, 4, 2}, {4, 4, 1}, {8, 2, 1}, {16, 1, 1}}
#define KIB ((uint64_t)1 << 10)
#define TILED {4, 4, 4, 16, 16, 16}      /* 64 x 64 outputs, 256 work-items, 8 KiB local (float) */
#define TILED_SMALL {2, 4, 4, 16, 8, 8} /* 32 x 64 outputs, 128 work-items, 3 KiB local (float) */

/* Match first (type, vendor, its other spelling, local memory from-to),
 * then the values in tuning.h's order. */
static const cly_tuning rows[] = {
    {"default", CLY_DEVICE_OTHER, NULL, NULL, 0, 0, 16, 64, 64, 1, DIRECT_TILES, 8, 4, 4, 4, false, 256, false, 16,
     false, 0, 0, TILED, false},
    {"CPU", CLY_DEVICE_CPU, NULL, NULL, 0, 0, 16, 64, 8, 4096, DIRECT_TILES, 8, 4, 4, 4, true, 16, true, INT64_MAX,
     true, 24, 4, TILED, false},
    {"NVIDIA GPU", CLY_DEVICE_GPU, "nvidia", NULL, 32 * KIB, 0, 4, 128, 128, 1, GPU_TILES, 8, 4, 4, 4, false, 256,
     false, 16, false, 0, 0, TILED, true},
    {"AMD GPU, 64 KiB LDS", CLY_DEVICE_GPU, "advanced micro devices", "amd", 64 * KIB, 0, 4, 64, 256, 1, GPU_TILES, 8,
     4, 4, 4, false, 256, false, 16, false, 0, 0, TILED, true},
    {"AMD GPU", CLY_DEVICE_GPU, "advanced micro devices", "amd", 32 * KIB, 0, 4, 64, 64, 1, GPU_TILES, 8, 4, 4, 4,
     false, 256, false, 16, false, 0, 0, TILED, true},
    {"Intel GPU", CLY_DEVICE_GPU, "intel", NULL, 32 * KIB, 0, 4, 64, 64, 1, GPU_TILES, 8, 4, 4, 4, false, 256, false,
     16, false, 0, 0, TILED, true},
    {"GPU, under 32 KiB local memory", CLY_DEVICE_GPU, NULL, NULL, 0, 32 * KIB - 1, 4, 64, 64, 1, GPU_TILES, 8, 4, 4,
     4, false, 128, false, 16, false, 0, 0, TILED_SMALL, true},
    {"GPU", CLY_DEVICE_GPU, NULL, NULL, 0, 0, 16, 64, 64, 1, DIRECT_TILES, 8, 4, 4, 4, false, 256, false, 16, false, 0,
     0, TILED, false},
    {"accelerator", CLY_DEVICE_ACCELERATOR, NULL, NULL, 0, 0, 16, 64, 64, 1, DIRECT_TILES, 8, 4, 4, 4, false, 256,
     false, 16, false, 0, 0, TILED, false},
};

/* Case-insensitive substring test. */
static bool contains(const char *hay, const char *needle)
{
    const size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return true;
    return false;
}

static bool vendor_is(const cly_device_info *info, const char *v)
{
    return v && (contains(info->vendor, v) || contains(info->platform_name, v));
}

static bool matches(const cly_tuning *r, const cly_device_info *info)
{
    if (r->type != info->type)
        return false;
    if (r->vendor && !vendor_is(info, r->vendor) && !vendor_is(info, r->vendor_alt))
        return false;
    return info->local_mem_bytes >= r->min_local_bytes &&
           (r->max_local_bytes == 0 || info->local_mem_bytes <= r->max_local_bytes);
}

const cly_tuning *cly_tuning_for(const cly_device_info *info)
{
    /* rows[0] is the default: what no other row matches. */
    for (size_t i = 1; i < sizeof rows / sizeof rows[0]; i++)
        if (matches(&rows[i], info))
            return &rows[i];
    return &rows[0];
}

const cly_tuning *cly_tuning_of(const cly_context *ctx)
{
    return cly_tuning_for(&ctx->info);
}

int cly_tuning_vector_width(const cly_context *ctx, int lo)
{
    const unsigned pref = ctx->info.preferred_vector_width_float;
    int vw = 16;
    while (vw > lo && (unsigned)vw > pref)
        vw /= 2;
    return vw < lo ? lo : vw;
}

const char *cly_tuning_bn_options(const cly_context *ctx)
{
    /* The contiguous walks take the device's preferred float width. */
    static const char *const contiguous[] = {"-DBN_CONTIGUOUS=1 -DVW=1", "-DBN_CONTIGUOUS=1 -DVW=2",
                                             "-DBN_CONTIGUOUS=1 -DVW=4", "-DBN_CONTIGUOUS=1 -DVW=8",
                                             "-DBN_CONTIGUOUS=1 -DVW=16"};
    if (!cly_tuning_of(ctx)->bn_contiguous)
        return "-DBN_CONTIGUOUS=0";
    int i = 0;
    for (int vw = cly_tuning_vector_width(ctx, 1); vw > 1; vw /= 2)
        i++;
    return contiguous[i];
}

cly_direct_tile cly_tuning_direct_tile(const cly_context *ctx)
{
    const cly_tuning *t = cly_tuning_of(ctx);
    int vw = cly_tuning_vector_width(ctx, 1);
    while (vw > t->direct_vw_max)
        vw /= 2;
    for (size_t i = 0; i < sizeof t->direct / sizeof t->direct[0]; i++)
        if (t->direct[i].vw == vw)
            return t->direct[i];
    return t->direct[0];
}
