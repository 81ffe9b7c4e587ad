/* The VW-wide real vector of the tiled kernels (conv_direct.cl,
 * conv_winograd.cl, pool_rows.cl, conv_wgrad.cl, batchnorm.cl): floatv,
 * VLOAD/VSTORE of VW consecutive values (plain loads when VW is 1) and vsum,
 * the sum of the lanes in a fixed order. Include after VW is set. */
#ifndef CLY_VECTOR_CL
#define CLY_VECTOR_CL

#include "common.cl"

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#if VW == 1
typedef real floatv;
#define VLOAD(p) (*(p))
#define VSTORE(v, p) (*(p) = (v))
#else
typedef CAT(real, VW) floatv;
#define VLOAD(p) CAT(vload, VW)(0, p)
#define VSTORE(v, p) CAT(vstore, VW)(v, 0, p)
#endif

static inline real vsum(floatv v)
{
#if VW == 1
    return v;
#elif VW == 2
    return v.x + v.y;
#elif VW == 4
    return (v.x + v.y) + (v.z + v.w);
#elif VW == 8
    const real4 a = v.lo + v.hi;
    return (a.x + a.y) + (a.z + a.w);
#else
    const real8 a = v.lo + v.hi;
    const real4 b = a.lo + a.hi;
    return (b.x + b.y) + (b.z + b.w);
#endif
}

#endif
