/* Shared definitions for clayer kernels. Indices are 64-bit (`idx_t`)
 * wherever an element count can pass 2^31. */
#ifndef CLY_COMMON_CL
#define CLY_COMMON_CL

typedef long idx_t;

/* Offset of element (n, c, y, x) in an NCHW tensor of C x H x W per sample. */
#define NCHW(n, c, y, x, C, H, W) ((((idx_t)(n) * (C) + (c)) * (H) + (y)) * (W) + (x))

#endif
