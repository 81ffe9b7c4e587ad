/* Programs from device binaries only: no compiler involved. The on-disk
 * cache loads through here, and so will offline-compiled FPGA kernels; keep
 * it free of any source-build or cache logic. */
#include "runtime/runtime.h"

#include <stdlib.h>

cly_status cly_program_from_binary(const cly_context *ctx, const unsigned char *binary, size_t size,
                                   const char *options, cl_program *out)
{
    if (!ctx || !binary || size == 0 || !out)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "program from binary: empty binary (%zu bytes)", size);
    cl_int binary_status = CL_SUCCESS, err;
    cl_program program =
        clCreateProgramWithBinary(ctx->cl, 1, &ctx->device, &size, &binary, &binary_status, &err);
    if (err != CL_SUCCESS || binary_status != CL_SUCCESS) {
        if (program)
            clReleaseProgram(program);
        return cly_fail_cl(ctx, err != CL_SUCCESS ? err : binary_status,
                           "clCreateProgramWithBinary (%zu bytes) for device '%s'", size, ctx->info.name);
    }
    err = clBuildProgram(program, 1, &ctx->device, options ? options : "", NULL, NULL);
    if (err != CL_SUCCESS) {
        clReleaseProgram(program);
        return cly_fail_cl(ctx, err, "clBuildProgram from a %zu-byte binary for device '%s'", size,
                           ctx->info.name);
    }
    *out = program;
    return CLY_SUCCESS;
}

cly_status cly_program_binary(const cly_context *ctx, cl_program program, unsigned char **out, size_t *size)
{
    size_t n = 0;
    cl_int err = clGetProgramInfo(program, CL_PROGRAM_BINARY_SIZES, sizeof n, &n, NULL);
    if (err != CL_SUCCESS)
        return cly_fail_cl(ctx, err, "clGetProgramInfo(CL_PROGRAM_BINARY_SIZES)");
    if (n == 0)
        return cly_fail(ctx, CLY_ERROR_UNSUPPORTED, "device '%s' returns no program binary", ctx->info.name);
    unsigned char *bin = malloc(n);
    if (!bin)
        return cly_fail(ctx, CLY_ERROR_OUT_OF_HOST_MEMORY, "program binary of %zu bytes", n);
    err = clGetProgramInfo(program, CL_PROGRAM_BINARIES, sizeof bin, &bin, NULL);
    if (err != CL_SUCCESS) {
        free(bin);
        return cly_fail_cl(ctx, err, "clGetProgramInfo(CL_PROGRAM_BINARIES)");
    }
    *out = bin;
    *size = n;
    return CLY_SUCCESS;
}
