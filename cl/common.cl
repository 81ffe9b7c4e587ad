/* Shared definitions for clayer kernels. Indices are 64-bit (`idx_t`)
 * wherever an element count can pass 2^31. */
#ifndef CLY_COMMON_CL
#define CLY_COMMON_CL

typedef long idx_t;

/* Offset of element (n, c, y, x) in an NCHW tensor of C x H x W per sample. */
#define NCHW(n, c, y, x, C, H, W) ((((idx_t)(n) * (C) + (c)) * (H) + (y)) * (W) + (x))

/* Store a gradient: *p = beta * *p + v. beta == 0 overwrites without reading
 * *p, which may be uninitialised or NaN (0 * NaN would be NaN); beta == 1 is
 * the plain sum (fma(1, a, b) rounds a + b once, like an add). */
#define STORE_GRAD(p, v, beta)                  \
    do {                                        \
        if ((beta) == 0.0f)                     \
            *(p) = (v);                         \
        else                                    \
            *(p) = fma((beta), *(p), (v));      \
    } while (0)

#endif
