/* Named groups of convolution layers for conv_bench, as benchdnn-style
 * strings (tests/kernels/conv_desc.h), all at batch 1 (conv_bench --mb scales),
 * shared with conv_backward_bench. */
#ifndef CONV_SHAPES_H
#define CONV_SHAPES_H

#include "conv_desc.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct conv_shape {
    const char *set;  /* alexnet, vgg16, googlenet, resnet50, resnet18, convnet-benchmarks, dilated */
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
/* The layers to run: the strings shapes[0..nshapes-1] where nshapes > 0,
 * else those of `set`; at batch mb where mb > 0. A malloc'd array of *count
 * (NULL: out of memory); a malformed string is reported on stderr, skipped,
 * and sets *failed. */
conv_desc *conv_shapes_select(const char *set, char *const *shapes, int nshapes, int64_t mb, size_t *count,
                              int *failed);

/* The command line the convolution benchmarks share:
 *   [--runs N] [--batch N] [--device SEL] [--set NAME] [extra options] [SHAPE...]
 * (--mb is --batch's old name); each name in extra (NULL-terminated) takes a
 * value, stored in extra_val at its index. Fields hold their defaults on
 * entry; runs ends >= 1. Returns 0, or 2 after printing `usage` on a bad
 * option or an unknown set. */
typedef struct conv_args {
    int runs, mb; /* mb 0: each layer's own batch */
    const char *device, *set;
    char **shapes; /* the SHAPE arguments, nshapes of them */
    int nshapes;
} conv_args;
int conv_args_parse(int argc, char **argv, const char *const *extra, const char **extra_val, const char *usage,
                    conv_args *a);

#endif
