/* Shared definitions for clayer kernels. Indices are 64-bit (`idx_t`)
 * wherever an element count can pass 2^31. */
#ifndef CLY_COMMON_CL
#define CLY_COMMON_CL

typedef long idx_t;

/* The element type: float, or double when the context computes in double
 * precision (CLY_FP64; needs cl_khr_fp64). Scalar hyper-parameters
 * (learning rates, momentum, epsilon, LRN's alpha, k and beta, ...) are real
 * too: the host passes them as double on a double context (cly_arg_real),
 * so nothing is rounded to float on the way. Only the 0/1 `beta` of
 * STORE_GRAD stays float, exact either way. */
#ifdef CLY_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
typedef double real;
typedef double2 real2;
typedef double4 real4;
typedef double8 real8;
typedef double16 real16;
#else
typedef float real;
typedef float2 real2;
typedef float4 real4;
typedef float8 real8;
typedef float16 real16;
#endif

/* Offset of element (n, c, y, x) in an NCHW tensor of C x H x W per sample. */
#define NCHW(n, c, y, x, C, H, W) ((((idx_t)(n) * (C) + (c)) * (H) + (y)) * (W) + (x))

/* The element a work-item of a cly_launch_planes launch owns: column x < X
 * and row y < Y of plane get_global_id(2), flat index i = (plane*Y + y)*X + x,
 * found without a division. Work-items past the rounded-up edge return from
 * the kernel. */
#define PLANE_ELEMENT(x, y, i, X, Y)                                      \
    const int x = (int)get_global_id(0), y = (int)get_global_id(1);      \
    if (x >= (X) || y >= (Y))                                              \
        return;                                                            \
    const idx_t i = ((idx_t)get_global_id(2) * (Y) + y) * (X) + x

/* The one ReLU of every kernel (eltwise.cl's relu and bias_act, the fused
 * epilogues of conv_direct.cl and conv_local.cl): v < 0 ? 0 : v, for a
 * real or a realN. NaN passes through (NaN < 0 is false), as in PyTorch,
 * whether the ReLU is fused or a layer of its own. (fmax(v, 0) would map
 * NaN to 0.) v is evaluated twice: pass a plain value. */
#define CLY_RELU(v) ((v) < 0 ? 0 : (v))

/* Store a gradient: *p = beta * *p + v. beta == 0 overwrites without reading
 * *p, which may be uninitialised or NaN (0 * NaN would be NaN); beta == 1 is
 * the plain sum (fma(1, a, b) rounds a + b once, like an add). */
#define STORE_GRAD(p, v, beta)                  \
    do {                                        \
        if ((beta) == 0.0f)                     \
            *(p) = (v);                         \
        else                                    \
            *(p) = fma((real)(beta), *(p), (v));      \
    } while (0)

#endif
