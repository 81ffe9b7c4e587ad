/* The tuning table: every work-group size and -D value the host passes to
 * the kernels, one row per device class (CPUs; GPUs by vendor and local
 * memory; accelerators) and a default row for any other, so that the -D
 * string and the launch read the same number. tuning.c holds the rows and
 * why each value is what it is; `clayer tune` measures per convolution
 * shape what the rows only guess (tuning_file.h, docs/tuning.md);
 * the `#ifndef X / #define X` defaults in the cl/ sources equal the default row
 * (conv_direct.cl and gemm_nt.cl: its widest-vector entry, VW = 16). */
#ifndef CLY_TUNING_H
#define CLY_TUNING_H

#include "runtime/runtime.h"

/* conv_direct.cl register tile for one vector width: -DVW -DKT -DTY. */
typedef struct cly_direct_tile {
    int vw; /* floats per vector: 1, 2, 4, 8 or 16 */
    int kt; /* output channels per work-item */
    int ty; /* vectors of consecutive outputs per work-item */
} cly_direct_tile;

/* conv_tiled.cl tile: -DVW -DRM -DRN -DWN -DWM -DTK. */
typedef struct cly_tiled_tile {
    int vw;     /* floats per vector: 1, 2 or 4 */
    int rm, rn; /* output channels x outputs per work-item (rn a multiple of vw) */
    int wn, wm; /* work-items of a group along the outputs and the channels */
    int tk;     /* reduction indices staged in local memory per step */
} cly_tiled_tile;

typedef struct cly_tuning {
    const char *name;         /* the device class the row is for */
    /* Which devices take the row (the first match in table order): */
    cly_device_type type;     /* CLY_DEVICE_OTHER: any type (the default row) */
    const char *vendor;       /* a substring of the vendor or platform name (case-insensitive), NULL: any */
    const char *vendor_alt;   /* another spelling of it ("amd" for "Advanced Micro Devices"), NULL: none */
    uint64_t min_local_bytes; /* at least this much local memory */
    uint64_t max_local_bytes; /* and at most this much (0: no limit) */
    int direct_vw_max;        /* conv_direct's VW: the preferred width, at most this */
    size_t group_1d;          /* work-group of 1-D and plane launches (cly_launch_1d, cly_launch_planes) */
    size_t conv_group;        /* dimension-0 group of the kernels that loop inside a work-item:
                                 conv_pack, conv_direct, im2col, bias_act, conv_local, bias_grad */
    int64_t epilogue_chunk;   /* elements per work-item of the conv bias + activation pass */
    cly_direct_tile direct[5]; /* conv_direct tiles by vector width 1, 2, 4, 8, 16 */
    int direct_small_kt;      /* conv_direct KT when one vector covers a plane (TY = 1) */
    int gemm_nt_vw_min;       /* gemm_nt.cl -DVW: the preferred float width, at least this, at most 16 */
    int gemm_nt_tm, gemm_nt_tn; /* gemm_nt.cl -DTM -DTN: rows of A and of B per work-item */
    bool gemm_nt_one_item;    /* gemm_nt work-groups of one work-item (else the runtime chooses) */
    size_t bn_local;          /* batch norm reduction group (the largest power of two <= this that fits) */
    bool bn_contiguous;       /* batchnorm.cl -DBN_CONTIGUOUS=1: each work-item walks a contiguous slice */
    int64_t fc_gemm_nt_batch; /* fully connected: gemm_nt up to this batch, CLBlast above */
    bool pool_rows;           /* pool.cl -DPOOL_ROWS=1: a work-item per row of a plane, not per element */
    int wgrad_acc;            /* conv_wgrad.cl accumulators per work-item at 16 lanes; 0: im2col + gemm_nt */
    int direct_oc_copy;       /* conv_direct_oc where it saves this many vector FMAs per filter value it
                                 reorders (kernels/conv_direct.c); 0: never */
    cly_tiled_tile tiled;     /* conv_tiled.cl's tile */
    bool tiled_auto;          /* AUTO prefers conv_tiled (vendor GPU rows; never a CPU) */
} cly_tuning;

/* The row for ctx's device (CPUs by type, GPUs by vendor and local memory,
 * tuning.c); never NULL. */
const cly_tuning *cly_tuning_of(const cly_context *ctx);
/* The same for a device description (tests, and tools that print it). */
const cly_tuning *cly_tuning_for(const cly_device_info *info);

/* The widest power-of-two vector width <= the device's preferred float
 * width, clamped to [lo, 16]. */
int cly_tuning_vector_width(const cly_context *ctx, int lo);

/* The -D string of every batchnorm.cl kernel (one program per context). */
const char *cly_tuning_bn_options(const cly_context *ctx);

/* conv_direct's tile for ctx before the per-shape adjustments
 * (kernels/conv_direct.c). */
cly_direct_tile cly_tuning_direct_tile(const cly_context *ctx);

#endif
