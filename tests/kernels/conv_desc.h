/* Convolution problems as compact benchdnn-style strings, e.g.
 *   mb2g1ic64ih56oc64oh56kh3sh1ph1dh0n"resnet18:conv2_x"
 * Keys (each followed by a number): mb batch, g groups, ic/ih/iw input
 * channels/height/width, oc output channels, oh/ow expected output size
 * (checked when given), kh/kw filter size, sh/sw stride, ph/pw padding
 * (both sides unless pb/pr), dh/dw dilation in benchdnn's convention: 0 = none, d = d + 1
 * taps apart. Missing w-values copy the h-values; g, sh defaults 1, ph, dh 0.
 * Extensions: pb / pr pad the bottom / right side differently from ph / pw
 * (top / left), rfloor / rceil select the output rounding (default exact),
 * n"name" (or nNAME) names the problem. '_' separators are ignored. After
 * the string, "# words" may carry tags: unit, oclgrind. Blank lines and
 * lines starting with '#' are comments. */
#ifndef CONV_DESC_H
#define CONV_DESC_H

#include "clayer.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct conv_desc {
    int64_t mb, g, ic, ih, iw, oc, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw, pb, pr;
    cly_rounding rounding;
    char name[160];
    char text[160]; /* the descriptor as written */
    bool unit, oclgrind;
    int line;
} conv_desc;

/* Parse one line. Returns 1 for a problem, 0 for a blank/comment line, -1
 * with a message in err for a malformed one. */
int conv_desc_parse(const char *line, conv_desc *d, char *err, size_t size);

/* Read every problem of a file; *out is malloc'd. false with err on failure. */
bool conv_desc_load(const char *path, conv_desc **out, size_t *count, char *err, size_t size);

/* The library parameters for a problem (dilation converted to clayer's
 * convention: 1 = none). */
cly_conv_params conv_desc_params(const conv_desc *d);

/* Output size by the notes' formula, independent of the library:
 * (in + 2P - D*(F-1) - 1)/S + 1 with the problem's rounding; false when
 * exact rounding does not divide or the window does not fit. */
bool conv_desc_out(const conv_desc *d, int64_t *oh, int64_t *ow);

#endif
