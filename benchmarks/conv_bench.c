/* conv_bench: time every convolution algorithm on real layers with OpenCL
 * profiling events, after a warm-up, and compare with im2col + CLBlast
 * measured in the same run.
 *
 *   conv_bench [--runs N] [--mb N] [--device SEL] [SHAPE...]
 *
 * SHAPE is a benchdnn-style string (tests/conv/conv_desc.h); without one, a
 * built-in list of VGG-16, ResNet-18/50, AlexNet and GoogLeNet layers runs.
 * For each layer and supported algorithm: the median of N runs (default 7)
 * of one forward pass, timed on the device from a marker before to a marker
 * after (packing, im2col, GEMM and epilogue included), GFLOP/s as
 * 2*N*K*OH*OW*C/G*FH*FW / time, and the speed-up over im2col
 * (time_im2col / time). "auto" names the algorithm AUTO picks. */
#include "conv_desc.h"
#include "ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const default_layers[] = {
    "mb1ic64ih224oc64oh224kh3ph1n\"vgg16:conv1_2\"",
    "mb1ic128ih112oc128oh112kh3ph1n\"vgg16:conv2_2\"",
    "mb1ic256ih56oc256oh56kh3ph1n\"vgg16:conv3_2\"",
    "mb1ic512ih28oc512oh28kh3ph1n\"vgg16:conv4_2\"",
    "mb1ic512ih14oc512oh14kh3ph1n\"vgg16:conv5_2\"",
    "mb1ic3ih227oc96oh55kh11sh4n\"alexnet:conv1\"",
    "mb1ic3ih224oc64oh112kh7sh2ph3rfloorn\"resnet:conv1_7x7_s2\"",
    "mb1ic64ih56oc64oh56kh3ph1n\"resnet:layer1_3x3\"",
    "mb1ic128ih28oc128oh28kh3ph1n\"resnet:layer2_3x3\"",
    "mb1ic256ih14oc256oh14kh3ph1n\"resnet:layer3_3x3\"",
    "mb1ic512ih7oc512oh7kh3ph1n\"resnet:layer4_3x3\"",
    "mb1ic128ih56oc128oh28kh3sh2ph1rfloorn\"resnet50:layer2.0_3x3_s2\"",
    "mb1ic64ih56oc256oh56kh1n\"resnet50:layer1_1x1_b\"",
    "mb1ic256ih56oc64oh56kh1n\"resnet50:layer1_1x1_a\"",
    "mb1ic1024ih14oc256oh14kh1n\"resnet50:layer3_1x1_a\"",
    "mb1ic512ih7oc2048oh7kh1n\"resnet50:layer4_1x1_b\"",
    "mb1ic256ih56oc512oh28kh1sh2rfloorn\"resnet50:layer2.0_downsample\"",
    "mb1ic16ih28oc32oh28kh5ph2n\"googlenet:3a_5x5\"",
    "mb1ic128ih56oc128oh56kh3ph1g128n\"mobilenet:dw3_3x3\"",
};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

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

/* Median milliseconds of `runs` timed forwards after one warm-up; < 0 on failure. */
static double time_algo(cly_context *ctx, cly_conv_algo algo, const cly_conv_geom *g, cly_buf x, cly_buf w,
                        cly_buf b, cly_buf y, int runs)
{
    int64_t wsf = cly_conv_workspace(ctx, algo, g);
    cly_buf ws = {NULL, 0};
    cl_int err;
    if (wsf > 0 && !(ws.mem = clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE, (size_t)wsf * 4, NULL, &err))) {
        fprintf(stderr, "workspace of %lld floats: OpenCL error %d\n", (long long)wsf, (int)err);
        return -1;
    }
    double *t = malloc((size_t)runs * sizeof *t), median = -1;
    cly_status s = CLY_SUCCESS;
    for (int r = -1; r < runs && s == CLY_SUCCESS; r++) {
        cl_event e0, e1;
        if ((s = marker(ctx, &e0)) != CLY_SUCCESS)
            break;
        if ((s = cly_conv_forward(ctx, algo, g, x, w, b, y, ws)) != CLY_SUCCESS ||
            (s = marker(ctx, &e1)) != CLY_SUCCESS) {
            clReleaseEvent(e0);
            break;
        }
        clWaitForEvents(1, &e1);
        if (r >= 0)
            t[r] = event_end_ms(e1) - event_end_ms(e0);
        clReleaseEvent(e0);
        clReleaseEvent(e1);
    }
    if (s == CLY_SUCCESS) {
        qsort(t, (size_t)runs, sizeof *t, cmp_double);
        median = t[runs / 2];
    } else {
        fprintf(stderr, "%s: %s\n", cly_conv_algo_string(algo), cly_last_error(ctx));
    }
    free(t);
    if (ws.mem)
        clReleaseMemObject(ws.mem);
    return median;
}

static int bench(cly_context *ctx, const conv_desc *d, int runs)
{
    cly_conv_params p = conv_desc_params(d);
    p.relu = true; /* the usual CONV -> RELU pair, fused */
    cly_conv_geom g;
    char msg[256];
    if (!cly_conv_geom_make(&p, (cly_shape){d->mb, d->ic, d->ih, d->iw}, &g, NULL, msg, sizeof msg)) {
        fprintf(stderr, "%s: %s\n", d->text, msg);
        return 1;
    }
    const double flops = 2.0 * g.n * g.k * g.oh * g.ow * (g.c / g.groups) * g.fh * g.fw;
    cly_tensor *tx = NULL, *tw = NULL, *tb = NULL, *ty = NULL;
    cly_status s;
    if ((s = cly_tensor_create(ctx, (cly_shape){g.n, g.c, g.h, g.w}, &tx)) ||
        (s = cly_tensor_create(ctx, (cly_shape){g.k, g.c / g.groups, g.fh, g.fw}, &tw)) ||
        (s = cly_tensor_create(ctx, (cly_shape){1, g.k, 1, 1}, &tb)) ||
        (s = cly_tensor_create(ctx, (cly_shape){g.n, g.k, g.oh, g.ow}, &ty)) || (s = cly_tensor_fill(tx, 0.5f)) ||
        (s = cly_tensor_fill(tw, 0.25f)) || (s = cly_tensor_fill(tb, 1.0f))) {
        fprintf(stderr, "%s: %s\n", d->text, cly_last_error(ctx));
        goto out;
    }
    const cly_buf x = {tx->buffer, 0}, w = {tw->buffer, 0}, b = {tb->buffer, 0}, y = {ty->buffer, 0};
    double ms[CLY_CONV_ALGO_COUNT] = {0};
    for (int a = CLY_CONV_DIRECT; a < CLY_CONV_ALGO_COUNT; a++)
        ms[a] = cly_conv_supports(ctx, (cly_conv_algo)a, &g) ? time_algo(ctx, (cly_conv_algo)a, &g, x, w, b, y, runs)
                                                             : -1;
    const cly_conv_algo pick = cly_conv_choose(ctx, &g, CLY_CONV_AUTO);
    for (int a = CLY_CONV_DIRECT; a < CLY_CONV_ALGO_COUNT; a++) {
        if (ms[a] < 0)
            continue;
        printf("%-34s %-8s %9.3f ms %8.1f GFLOP/s", d->name, cly_conv_algo_string((cly_conv_algo)a), ms[a],
               flops / ms[a] / 1e6);
        if (ms[CLY_CONV_IM2COL] > 0)
            printf("  x%5.2f vs im2col", ms[CLY_CONV_IM2COL] / ms[a]);
        printf("%s\n", a == (int)pick ? "  <- auto" : "");
    }
    fflush(stdout);
out:
    cly_tensor_destroy(tx);
    cly_tensor_destroy(tw);
    cly_tensor_destroy(tb);
    cly_tensor_destroy(ty);
    return s == CLY_SUCCESS ? 0 : 1;
}

int main(int argc, char **argv)
{
    int runs = 7, mb = 0, first_shape = argc;
    const char *device = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
            runs = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--mb") && i + 1 < argc) {
            mb = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--device") && i + 1 < argc) {
            device = argv[++i];
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "usage: %s [--runs N] [--mb N] [--device SEL] [SHAPE...]\n", argv[0]);
            return 2;
        } else {
            first_shape = i;
            break;
        }
    }
    if (runs < 1)
        runs = 1;
    cly_context *ctx;
    if (cly_context_create(device, &ctx) != CLY_SUCCESS) {
        fprintf(stderr, "%s\n", cly_last_error(NULL));
        return 1;
    }
    const cly_device_info *info = cly_context_device(ctx);
    printf("device: %s (%s), median of %d runs after a warm-up, ReLU fused\n", info->name, info->platform_name, runs);
    const int nshapes = first_shape < argc ? argc - first_shape : (int)(sizeof default_layers / sizeof *default_layers);
    int failed = 0;
    for (int i = 0; i < nshapes; i++) {
        const char *text = first_shape < argc ? argv[first_shape + i] : default_layers[i];
        conv_desc d;
        char err[160];
        if (conv_desc_parse(text, &d, err, sizeof err) != 1) {
            fprintf(stderr, "%s: %s\n", text, err);
            failed = 1;
            continue;
        }
        if (mb > 0)
            d.mb = mb;
        failed |= bench(ctx, &d, runs);
    }
    cly_context_destroy(ctx);
    return failed;
}
