/* Shared by the op files: what an op's hooks see (the graph rules, the
 * compiled net's layout, the kernels) and the descriptors of ops.def. */
#ifndef CLY_OPS_OPS_H
#define CLY_OPS_OPS_H

#include "graph/op.h"
#include "graph/rules.h"
#include "kernels/kernels.h"
#include "net/net.h"

#include <stddef.h>

#define CLY_OP(e, stem) extern const cly_op cly_op_##stem;
#include "ops/ops.def"
#undef CLY_OP

/* Shared by conv and local (conv.c): parameter checks with defaults, the
 * output shape with multiply-adds per sample, the geometry at compile time,
 * the fans of one weight and the summary's note. */
cly_status cly_conv_check(cly_layer *l);
cly_status cly_conv_infer_common(cly_graph *g, cly_node *n, int64_t *macs);
cly_status cly_conv_compile_geom(cly_net *net, size_t id);
void cly_conv_fans(const cly_net *net, size_t id, int64_t *fan_in, int64_t *fan_out);
void cly_conv_summary_note(const cly_node *n, void (*note)(char *buf, const char *text), char *buf);
unsigned cly_conv_backward_reads(const cly_node *n);
/* Key-table rows shared by conv and local (local has no groups or algo). */
#define CLY_CONV_KEYS_WINDOW                                                                  \
    {.name = "filters", .kind = CLY_KEY_INT, .offset = offsetof(cly_layer, p.conv.filters), .required = true},           \
    {.name = "size", .kind = CLY_KEY_HW, .offset = offsetof(cly_layer, p.conv.size), .required = true},                  \
    {.name = "stride", .kind = CLY_KEY_HW, .offset = offsetof(cly_layer, p.conv.stride), .dflt = 1},                     \
    {.name = "pad", .kind = CLY_KEY_PAD, .offset = offsetof(cly_layer, p.conv.pad)},                                     \
    {.name = "dilation", .kind = CLY_KEY_HW, .offset = offsetof(cly_layer, p.conv.dilation), .dflt = 1}
#define CLY_CONV_KEYS_OUTPUT                                                                  \
    {.name = "nobias", .kind = CLY_KEY_FLAG, .offset = offsetof(cly_layer, p.conv.no_bias)},                              \
    {.name = "relu", .kind = CLY_KEY_FLAG, .offset = offsetof(cly_layer, p.conv.relu)},                                  \
    {.name = "round", .kind = CLY_KEY_ENUM, .offset = offsetof(cly_layer, p.conv.rounding), .choices = cly_rounding_names}

/* A layer's output, its first input's value, and the gradient at its output. */
static inline cly_buf cly_op_y(const cly_net *net, size_t id)
{
    return cly_net_value(net, id);
}
static inline cly_buf cly_op_x(const cly_net *net, size_t id)
{
    return cly_net_value(net, cly_net_in0(net, id));
}

#define CLY_NO_BUF ((cly_buf){NULL, 0})

#endif
