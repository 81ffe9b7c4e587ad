/* The tuning table of tuning.h. */
#include "runtime/tuning.h"

static const cly_tuning rows[] = {
    /* group_1d: one fixed size keeps the number of compiled variants down
     * (pocl compiles a kernel again for each new local size); 64 is a
     * multiple of every GPU's SIMD width (32 on NVIDIA, 64 on AMD).
     * conv_group: on a CPU each work-group runs as one loop on one thread:
     * a small fixed size keeps enough groups for every core and one
     * compiled variant. */
    {"default", 64, 64},
    {"CPU", 64, 8},
    {"GPU", 64, 64},
    {"accelerator", 64, 64},
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
