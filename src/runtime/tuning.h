/* The tuning table: every work-group size and -D value the host passes to
 * kernels, per device type, so that the -D string and the launch read the
 * same number (tuning.c holds the table and why each value is what it is). */
#ifndef CLY_TUNING_H
#define CLY_TUNING_H

#include "runtime/runtime.h"

typedef struct cly_tuning {
    const char *name;  /* the device type the row is for */
    size_t group_1d;   /* work-group of 1-D and plane launches (cly_launch_1d, cly_launch_planes) */
    size_t conv_group; /* dimension-0 group of the conv kernels that loop inside each work-item */
} cly_tuning;

/* The row for ctx's device type (CPU, GPU, accelerator; the default row
 * for any other). Never NULL. */
const cly_tuning *cly_tuning_of(const cly_context *ctx);

#endif
