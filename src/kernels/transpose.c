/* dst = src^T for row-major blocks through cl/transpose.cl: how operands
 * get into gemm_nt's form (inner dimension contiguous) where a layer holds
 * them the other way round (the fully connected backward). */
#include "runtime/launch.h"

#define TB 8 /* transpose.cl's tile side */

cly_status cly_transpose(cly_context *ctx, int64_t rows, int64_t cols, cly_buf src, int64_t lds, cly_buf dst,
                         int64_t ldd, const char *what)
{
    if (!cly_fits_int(rows) || !cly_fits_int(cols))
        return cly_fail(ctx, CLY_ERROR_UNSUPPORTED, "%s: transposing %lld x %lld (past INT32_MAX)", what,
                        (long long)rows, (long long)cols);
    cly_args a;
    cly_args_begin(ctx, &a, "transpose", "", "transpose");
    a.what = what;
    cly_arg_buf(&a, src);
    cly_arg_long(&a, lds);
    cly_arg_buf(&a, dst);
    cly_arg_long(&a, ldd);
    cly_arg_int(&a, rows);
    cly_arg_int(&a, cols);
    const int64_t global[2] = {(cols + TB - 1) / TB, (rows + TB - 1) / TB};
    return cly_launch(ctx, &a, 2, global, NULL);
}
