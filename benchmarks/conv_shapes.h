/* Named groups of convolution layers for conv_bench, as benchdnn-style
 * strings (tests/kernels/conv_desc.h), all at batch 1 (conv_bench --mb scales). */
#ifndef CONV_SHAPES_H
#define CONV_SHAPES_H

#include <stdbool.h>
#include <stddef.h>

typedef struct conv_shape {
    const char *set;  /* alexnet, vgg16, googlenet, resnet50, convnet-benchmarks, dilated */
    bool in_default;  /* part of the default subset (a few minutes on a 2-core CPU) */
    const char *text; /* the descriptor, its name included */
} conv_shape;

/* Every known layer, set by set. */
extern const conv_shape conv_shapes[];
extern const size_t conv_shape_count;

/* Whether `set` names a group: one of the sets above, "all" or "default". */
bool conv_set_known(const char *set);
/* Whether shape s belongs to `set` (as conv_set_known accepts). */
bool conv_set_has(const char *set, const conv_shape *s);

#endif
