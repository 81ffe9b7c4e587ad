/* Device timing with markers (bench_time.h). */
#include "bench_time.h"
#include "bench_util.h"

#include <stdlib.h>

static cly_status marker(cly_context *ctx, cl_event *ev)
{
    cl_int err = clEnqueueMarkerWithWaitList(ctx->queue, 0, NULL, ev);
    return err == CL_SUCCESS ? CLY_SUCCESS : cly_fail_cl(ctx, err, "clEnqueueMarkerWithWaitList");
}

static double event_end_ms(cl_event ev)
{
    cl_ulong t = 0;
    clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, sizeof t, &t, NULL);
    return (double)t / 1e6;
}

double bench_median_ms(cly_context *ctx, bench_enqueue_fn fn, void *arg, int runs)
{
    double *t = malloc((size_t)runs * sizeof *t), median = -1;
    if (!t) {
        cly_fail(ctx, CLY_ERROR_OUT_OF_HOST_MEMORY, "bench_median_ms: out of host memory");
        return -1;
    }
    cly_status s = CLY_SUCCESS;
    for (int r = -1; r < runs && s == CLY_SUCCESS; r++) {
        cl_event e0, e1;
        if ((s = marker(ctx, &e0)) != CLY_SUCCESS)
            break;
        if ((s = fn(ctx, arg)) != CLY_SUCCESS || (s = marker(ctx, &e1)) != CLY_SUCCESS) {
            clReleaseEvent(e0);
            break;
        }
        clWaitForEvents(1, &e1);
        if (r >= 0)
            t[r] = event_end_ms(e1) - event_end_ms(e0);
        clReleaseEvent(e0);
        clReleaseEvent(e1);
    }
    if (s == CLY_SUCCESS)
        median = bench_median(t, runs);
    free(t);
    return median;
}
