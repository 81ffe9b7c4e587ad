/* The op table (graph/op.h) from ops.def. */
#include "ops/ops.h"

const cly_op *const cly_ops[CLY_LAYER_TYPE_COUNT] = {
#define CLY_OP(e, stem) [CLY_LAYER_##e] = &cly_op_##stem,
#include "ops/ops.def"
#undef CLY_OP
};

/* One entry per line of ops.def, so a missing or extra line fails here. */
enum {
#define CLY_OP(e, stem) CLY_OP_DEF_##e,
#include "ops/ops.def"
#undef CLY_OP
    CLY_OP_DEF_COUNT
};
_Static_assert((int)CLY_OP_DEF_COUNT == (int)CLY_LAYER_TYPE_COUNT, "ops.def and cly_layer_type disagree");
