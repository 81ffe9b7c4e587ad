/* Names of the public enums (names.h). */
#include "base/names.h"

#include "clayer.h"

const char *const cly_rounding_names[] = {"exact", "floor", "ceil", NULL};
const char *const cly_conv_algo_names[] = {"auto", "direct", "im2col", "gemm1x1", "winograd", "tiled", NULL};
const char *const cly_lrn_alpha_names[] = {"over_size", "raw", NULL};
const char *const cly_pool_kind_names[] = {"max", "avg", "l2", NULL};

_Static_assert(sizeof cly_conv_algo_names / sizeof *cly_conv_algo_names == CLY_CONV_ALGO_COUNT + 1,
               "a conv algorithm lacks a name");
_Static_assert(CLY_ROUND_CEIL == 2 && CLY_LRN_ALPHA_RAW == 1 && CLY_POOL_L2 == 2, "a name table is out of date");
