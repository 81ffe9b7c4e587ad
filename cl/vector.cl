/* The VW-wide real vector of the tiled kernels (conv_direct.cl,
 * conv_winograd.cl, pool_rows.cl): floatv, and VLOAD/VSTORE of VW
 * consecutive values (plain loads when VW is 1). Include after VW is set. */
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

#endif
