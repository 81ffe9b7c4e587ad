/* Per-layer device timing: markers at layer boundaries (net_profile.h) and
 * the public calls that switch them on and read them back. */
#include "net/net_profile.h"

#include <stdlib.h>

void cly_net_profile_free(cly_net *net)
{
    if (!net->prof)
        return;
    size_t slots = cly_prof_slots(net->graph->count);
    for (size_t i = 0; i < slots; i++)
        if (net->prof[i])
            clReleaseEvent(net->prof[i]);
    free(net->prof);
    net->prof = NULL;
}

cly_status cly_net_profile_mark_(cly_net *net, size_t slot)
{
    if (slot == 0) { /* a new pass: the last one's markers go */
        size_t slots = cly_prof_slots(net->graph->count);
        for (size_t i = 0; i < slots; i++)
            if (net->prof[i]) {
                clReleaseEvent(net->prof[i]);
                net->prof[i] = NULL;
            }
    } else if (net->prof[slot]) {
        clReleaseEvent(net->prof[slot]);
        net->prof[slot] = NULL;
    }
    cl_int err = clEnqueueMarkerWithWaitList(net->ctx->queue, 0, NULL, &net->prof[slot]);
    if (err != CL_SUCCESS) {
        net->prof[slot] = NULL;
        return cly_fail_cl(net->ctx, err, "profiling: enqueuing a marker");
    }
    return CLY_SUCCESS;
}

cly_status cly_net_set_profiling(cly_net *net, bool on)
{
    if (!net)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "cly_net_set_profiling: net must not be NULL");
    if (!on) {
        cly_net_profile_free(net);
        return CLY_SUCCESS;
    }
    if (net->prof)
        return CLY_SUCCESS;
    /* Markers on such a queue carry no times: refuse now rather than fail
     * in cly_net_layer_timing with CL_PROFILING_INFO_NOT_AVAILABLE. */
    if (!net->ctx->profiling)
        return cly_fail(net->ctx, CLY_ERROR_UNSUPPORTED,
                        "cly_net_set_profiling: the context's command queue was created without "
                        "CL_QUEUE_PROFILING_ENABLE (cly_cl_context_create on the application's queue); create it "
                        "with profiling to time layers");
    net->prof = calloc(cly_prof_slots(net->graph->count), sizeof *net->prof);
    return net->prof ? CLY_SUCCESS : cly_fail(net->ctx, CLY_ERROR_OUT_OF_HOST_MEMORY, "cly_net_set_profiling");
}

/* The end time of slot's marker in ms of the device clock; false when the
 * last pass set no such marker. */
static cly_status marker_end(cly_net *net, size_t slot, double *ms, bool *present)
{
    *present = false;
    if (!net->prof[slot])
        return CLY_SUCCESS;
    cl_ulong t;
    cl_int err = clWaitForEvents(1, &net->prof[slot]);
    if (err == CL_SUCCESS)
        err = clGetEventProfilingInfo(net->prof[slot], CL_PROFILING_COMMAND_END, sizeof t, &t, NULL);
    if (err != CL_SUCCESS)
        return cly_fail_cl(net->ctx, err, "profiling: reading a marker's time");
    *ms = (double)t / 1e6;
    *present = true;
    return CLY_SUCCESS;
}

/* Time from marker a to marker b; 0 when either is missing. */
static cly_status span(cly_net *net, size_t a, size_t b, double *out)
{
    double ta = 0, tb = 0;
    bool ha, hb;
    cly_status s = marker_end(net, a, &ta, &ha);
    if (s == CLY_SUCCESS)
        s = marker_end(net, b, &tb, &hb);
    if (s != CLY_SUCCESS)
        return s;
    *out = ha && hb && tb > ta ? tb - ta : 0.0;
    return CLY_SUCCESS;
}

static cly_status check_profiled(cly_net *net, const char *caller)
{
    if (!net)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "%s: net must not be NULL", caller);
    if (!net->prof || !net->prof[0])
        return cly_fail(net->ctx, CLY_ERROR_INVALID_ARGUMENT,
                        "%s: no profiled pass yet: call cly_net_set_profiling, then run the net", caller);
    return CLY_SUCCESS;
}

cly_status cly_net_layer_timing(cly_net *net, size_t index, cly_layer_timing *out)
{
    cly_status s = check_profiled(net, "cly_net_layer_timing");
    if (s != CLY_SUCCESS)
        return s;
    size_t n = net->graph->count;
    if (!out || index >= n)
        return cly_fail(net->ctx, CLY_ERROR_INVALID_ARGUMENT,
                        "cly_net_layer_timing: out must not be NULL and index (%zu) below the %zu layers", index, n);
    cly_layer_timing t = {0};
    s = span(net, cly_prof_forward(index), cly_prof_forward(index + 1), &t.forward_ms);
    if (s == CLY_SUCCESS) /* backward runs from the last layer down */
        s = span(net, index + 1 < n ? cly_prof_backward(n, index + 1) : cly_prof_loss(n), cly_prof_backward(n, index),
                 &t.backward_ms);
    if (s == CLY_SUCCESS)
        *out = t;
    return s;
}

cly_status cly_net_pass_timing(cly_net *net, cly_pass_timing *out)
{
    cly_status s = check_profiled(net, "cly_net_pass_timing");
    if (s != CLY_SUCCESS)
        return s;
    if (!out)
        return cly_fail(net->ctx, CLY_ERROR_INVALID_ARGUMENT, "cly_net_pass_timing: out must not be NULL");
    size_t n = net->graph->count;
    cly_pass_timing t = {0};
    s = span(net, 0, cly_prof_forward(n), &t.forward_ms);
    if (s == CLY_SUCCESS)
        s = span(net, cly_prof_forward(n), cly_prof_loss(n), &t.loss_ms);
    if (s == CLY_SUCCESS && n > 0)
        s = span(net, cly_prof_loss(n), cly_prof_backward(n, 0), &t.backward_ms);
    if (s == CLY_SUCCESS && n > 0)
        s = span(net, cly_prof_backward(n, 0), cly_prof_update(n), &t.update_ms);
    t.total_ms = t.forward_ms + t.loss_ms + t.backward_ms + t.update_ms;
    if (s == CLY_SUCCESS)
        *out = t;
    return s;
}
