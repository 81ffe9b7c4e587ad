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

/* A program on an application's context with several devices lists them
 * all (CL_PROGRAM_DEVICES), built or not: take the entry of ctx's device. */
cly_status cly_program_binary(const cly_context *ctx, cl_program program, unsigned char **out, size_t *size)
{
    cl_uint ndev = 0;
    cl_int err = clGetProgramInfo(program, CL_PROGRAM_NUM_DEVICES, sizeof ndev, &ndev, NULL);
    if (err != CL_SUCCESS)
        return cly_fail_cl(ctx, err, "clGetProgramInfo(CL_PROGRAM_NUM_DEVICES)");
    cl_device_id *devs = calloc(ndev ? ndev : 1, sizeof *devs);
    size_t *sizes = calloc(ndev ? ndev : 1, sizeof *sizes);
    unsigned char **bins = calloc(ndev ? ndev : 1, sizeof *bins);
    cly_status s = CLY_SUCCESS;
    cl_uint at = ndev;
    if (!devs || !sizes || !bins)
        s = cly_fail(ctx, CLY_ERROR_OUT_OF_HOST_MEMORY, "program binary: %u devices", (unsigned)ndev);
    else if ((err = clGetProgramInfo(program, CL_PROGRAM_DEVICES, ndev * sizeof *devs, devs, NULL)) != CL_SUCCESS)
        s = cly_fail_cl(ctx, err, "clGetProgramInfo(CL_PROGRAM_DEVICES)");
    else if ((err = clGetProgramInfo(program, CL_PROGRAM_BINARY_SIZES, ndev * sizeof *sizes, sizes, NULL)) !=
             CL_SUCCESS)
        s = cly_fail_cl(ctx, err, "clGetProgramInfo(CL_PROGRAM_BINARY_SIZES)");
    for (cl_uint i = 0; s == CLY_SUCCESS && i < ndev && at == ndev; i++)
        if (devs[i] == ctx->device)
            at = i;
    if (s == CLY_SUCCESS && (at == ndev || sizes[at] == 0))
        s = cly_fail(ctx, CLY_ERROR_UNSUPPORTED, "device '%s' returns no program binary", ctx->info.name);
    if (s == CLY_SUCCESS && !(bins[at] = malloc(sizes[at])))
        s = cly_fail(ctx, CLY_ERROR_OUT_OF_HOST_MEMORY, "program binary of %zu bytes", sizes[at]);
    /* NULL entries: the other devices' binaries are not copied. */
    if (s == CLY_SUCCESS &&
        (err = clGetProgramInfo(program, CL_PROGRAM_BINARIES, ndev * sizeof *bins, bins, NULL)) != CL_SUCCESS)
        s = cly_fail_cl(ctx, err, "clGetProgramInfo(CL_PROGRAM_BINARIES)");
    if (s == CLY_SUCCESS) {
        *out = bins[at];
        *size = sizes[at];
    } else if (bins && at < ndev) {
        free(bins[at]);
    }
    free(devs);
    free(sizes);
    free(bins);
    return s;
}
