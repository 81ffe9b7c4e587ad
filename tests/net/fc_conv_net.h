/* The small AlexNet/VGG-style net of the FC -> CONV test and benchmark
 * (tests/net/test_fc_conv.c, benchmarks/fc_conv_bench.c), built for
 * 3 x 224 x 224:
 *
 *   conv1 4x4/4 relu -> 56, pool1 max 2x2/2 -> 28, conv2 2x2/2 relu -> 14,
 *   lrn2, pool2 max 2x2/2 -> 7 (total stride 32), fc6 relu, drop6, fc7 relu,
 *   drop7, fc8 (FCNET_CLASSES scores), prob (softmax).
 *
 * No layer before fc6 pads and the receptive field of a pool2 cell is exactly
 * its 32 x 32 stride cell, so the converted net on a larger image computes,
 * at each output position, exactly what the original computes on the
 * 224 x 224 crop there: padding would put zeros at a crop's border where the
 * large image has pixels. `width` scales every layer's channel count. */
#ifndef CLY_FC_CONV_NET_H
#define CLY_FC_CONV_NET_H

#include "clayer.h"

#define FCNET_SIZE 224   /* the input the net is built for */
#define FCNET_STRIDE 32  /* total stride of the conv stack */
#define FCNET_CLASSES 10

/* The graph for 224 x 224, or NULL (the reason in cly_last_error(NULL)). */
cly_graph *fcnet_graph(int64_t width);

/* Seeded weights (He) and seeded non-zero biases in every layer of `net`
 * (cly_net_init_params leaves biases at 0, which would not show that they
 * carry over). */
cly_status fcnet_init(cly_net *net, uint64_t seed);

/* Copy the weights and biases of every conv and fc layer from `src` to the
 * layer of the same name in `dst`: FC -> CONV needs no reshuffle. */
cly_status fcnet_copy_params(const cly_net *src, cly_net *dst);

/* The converted graph of `g` (cly_graph_fc_to_conv) with its input set to
 * h x w, compiled for `batch` with fc8 kept readable, parameters copied from
 * `params`. Destroy *net, then *cg. */
cly_status fcnet_converted(cly_context *ctx, const cly_graph *g, int64_t h, int64_t w, const cly_net *params,
                           cly_graph **cg, cly_net **net);

/* Copy the ch x cw window at (y0, x0) of a c x h x w image to `out`. */
void fcnet_crop(const float *img, int64_t c, int64_t h, int64_t w, int64_t y0, int64_t x0, int64_t ch, int64_t cw,
                float *out);

#endif
