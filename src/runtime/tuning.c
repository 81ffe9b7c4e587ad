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
 *   another: contiguous slices stream; GPUs stride (coalesced).
 * fc_gemm_nt_batch: on pocl gemm_nt beats CLBlast's SGEMM at every batch
 *   (AlexNet's fc6: 128 -> 8.3 ms at batch 1, 464 -> 33 ms at 16); on GPUs,
 *   where CLBlast is tuned, it keeps batches above 16 (unmeasured). */
#include "runtime/tuning.h"

#define DIRECT_TILES {{1, 8, 1}, {2, 4, 3}, {4, 4, 3}, {8, 4, 3}, {16, 6, 4}}

static const cly_tuning rows[] = {
    {"default", 64, 64, 1, DIRECT_TILES, 8, 4, 4, 4, false, 256, false, 16},
    {"CPU", 64, 8, 4096, DIRECT_TILES, 8, 4, 4, 4, true, 256, true, INT64_MAX},
    {"GPU", 64, 64, 1, DIRECT_TILES, 8, 4, 4, 4, false, 256, false, 16},
    {"accelerator", 64, 64, 1, DIRECT_TILES, 8, 4, 4, 4, false, 256, false, 16},
};

const cly_tuning *cly_tuning_of(const cly_context *ctx)
{
    switch (ctx->info.type) {
    case CLY_DEVICE_CPU:
        return &rows[1];
    case CLY_DEVICE_GPU:
        return &rows[2];
    case CLY_DEVICE_ACCELERATOR:
        return &rows[3];
    default:
        return &rows[0];
    }
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
    return cly_tuning_of(ctx)->bn_contiguous ? "-DBN_CONTIGUOUS=1" : "-DBN_CONTIGUOUS=0";
}

cly_direct_tile cly_tuning_direct_tile(const cly_context *ctx)
{
    const int vw = cly_tuning_vector_width(ctx, 1);
    const cly_tuning *t = cly_tuning_of(ctx);
    for (size_t i = 0; i < sizeof t->direct / sizeof t->direct[0]; i++)
        if (t->direct[i].vw == vw)
            return t->direct[i];
    return t->direct[0];
}
