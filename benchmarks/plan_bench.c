/* plan_bench: what the op-level API costs against a net running the same
 * layer, in the same process: host-timed medians of forward (and conv's
 * backward) through a plan, through a plan with alpha/beta scaling, and
 * through a one-layer net; GFLOP/s of the convolutions, and the
 * plan/net ratio. A tiny ReLU shows the fixed cost per call.
 *
 *     build/benchmarks/plan_bench [--reps N] [--device SELECTOR] */
#include "bench_util.h"

#include <string.h>

typedef struct bench_layer {
    const char *what;
    cly_layer layer;
    cly_shape x;
    cly_mode mode;
} bench_layer;

static const bench_layer layers[] = {
    {"conv 3x3 64->64 56x56 (resnet18)", {.type = CLY_LAYER_CONV, .p.conv = {.filters = 64, .size = {3, 3},
                                                                             .pad = CLY_PAD(1)}},
     {1, 64, 56, 56}, CLY_MODE_INFERENCE},
    {"conv 1x1 256->64 56x56 (resnet50)", {.type = CLY_LAYER_CONV, .p.conv = {.filters = 64, .size = {1, 1}}},
     {1, 256, 56, 56}, CLY_MODE_INFERENCE},
    {"batchnorm 64x56x56, training", {.type = CLY_LAYER_BATCHNORM}, {8, 64, 56, 56}, CLY_MODE_TRAINING},
    {"relu 64x112x112", {.type = CLY_LAYER_RELU}, {1, 64, 112, 112}, CLY_MODE_INFERENCE},
    {"relu 16 elements (call overhead)", {.type = CLY_LAYER_RELU}, {1, 16, 1, 1}, CLY_MODE_INFERENCE},
};

static cly_context *ctx;

static cly_tensor *make(int64_t count)
{
    cly_tensor *t;
    BENCH_CHECK("plan_bench", cly_tensor_create(ctx, (cly_shape){1, count > 0 ? count : 1, 1, 1}, &t));
    BENCH_CHECK("plan_bench", cly_tensor_fill(t, 0.5f));
    return t;
}

static cly_tensor *make_shaped(cly_shape s)
{
    cly_tensor *t;
    BENCH_CHECK("plan_bench", cly_tensor_create(ctx, s, &t));
    BENCH_CHECK("plan_bench", cly_tensor_fill(t, 0.25f));
    return t;
}

enum { PLAN, SCALED, NET, BACKWARD, WAYS };

int main(int argc, char **argv)
{
    int reps = 30;
    const char *selector = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--reps"))
            reps = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--device"))
            selector = argv[i + 1];
    }
    if (reps < 3)
        reps = 3;
    if (cly_context_create(selector, &ctx) != CLY_SUCCESS) {
        fprintf(stderr, "plan_bench: %s\n", cly_last_error(NULL));
        return 1;
    }
    printf("device: %s; %d repetitions, host-timed medians, each call followed by cly_context_finish\n",
           cly_context_device(ctx)->name, reps);
    printf("%-36s %11s %11s %11s %8s %11s %9s\n", "layer", "plan ms", "scaled ms", "net ms", "plan/net",
           "bwd ms", "GFLOP/s");
    double *t = malloc((size_t)reps * sizeof *t);
    for (size_t li = 0; li < sizeof layers / sizeof layers[0]; li++) {
        const bench_layer *b = &layers[li];
        cly_layer l = b->layer;
        l.name = "op";
        cly_plan *plan;
        BENCH_CHECK("plan_bench", cly_plan_create(ctx, &l, &b->x, 1, b->mode, &plan));
        cly_plan_info info;
        BENCH_CHECK("plan_bench", cly_plan_info_get(plan, &info));
        cly_tensor *x = make_shaped(b->x), *y = make_shaped(info.output), *dy = make_shaped(info.output);
        cly_tensor *dx = make_shaped(b->x), *p[4] = {NULL}, *dp[2] = {NULL};
        for (int k = 0; k < 4; k++)
            if (info.param_count[k])
                p[k] = make(info.param_count[k]);
        for (int k = 0; k < 2; k++)
            if (info.param_count[k])
                dp[k] = make(info.param_count[k]);
        cly_tensor *ws = make(info.workspace_scaled_elems), *res = info.reserve_elems ? make(info.reserve_elems) : NULL;
        const cly_tensor *in[] = {x};
        cly_tensor *din[] = {dx};
        cly_op_tensors ot = {.x = in, .x_count = 1, .y = y, .dy = dy, .dx = din, .weights = p[0], .bias = p[1],
                             .mean = p[2], .var = p[3], .dweights = dp[0], .dbias = dp[1], .reserve = res,
                             .workspace = ws};
        /* The same layer as a net of one input and the op. */
        cly_graph *g;
        BENCH_CHECK("plan_bench", cly_graph_create(&g));
        BENCH_CHECK("plan_bench", cly_graph_input(g, "data", b->x.c, b->x.h, b->x.w));
        const char *src[] = {"data"};
        l.inputs = src;
        l.input_count = 1;
        BENCH_CHECK("plan_bench", cly_graph_add(g, &l));
        cly_net *net;
        cly_net_options o = {.batch = b->x.n, .mode = b->mode};
        BENCH_CHECK("plan_bench", cly_net_create(ctx, g, &o, &net));
        double med[WAYS] = {0};
        for (int way = 0; way < WAYS; way++) {
            if (way == BACKWARD && info.type != CLY_LAYER_CONV)
                continue;
            for (int r = -2; r < reps; r++) { /* two warm-up runs */
                double t0 = bench_now_ms();
                if (way == PLAN)
                    BENCH_CHECK("plan_bench", cly_plan_forward(plan, &ot, 1.0, 0.0));
                else if (way == SCALED)
                    BENCH_CHECK("plan_bench", cly_plan_forward(plan, &ot, 0.5, 1.0));
                else if (way == NET && b->mode == CLY_MODE_INFERENCE)
                    BENCH_CHECK("plan_bench", cly_net_forward(net));
                else if (way == NET)
                    BENCH_CHECK("plan_bench", cly_net_forward_training(net));
                else
                    BENCH_CHECK("plan_bench", cly_plan_backward(plan, &ot, 1.0, 0.0));
                BENCH_CHECK("plan_bench", cly_context_finish(ctx));
                if (r >= 0)
                    t[r] = bench_now_ms() - t0;
            }
            med[way] = bench_median(t, reps);
        }
        char bwd[16] = "-", gf[16] = "-";
        if (med[BACKWARD] > 0)
            snprintf(bwd, sizeof bwd, "%.3f", med[BACKWARD]);
        if (info.type == CLY_LAYER_CONV)
            snprintf(gf, sizeof gf, "%.1f", (double)info.flops / (med[PLAN] * 1e6));
        printf("%-36s %11.3f %11.3f %11.3f %8.2f %11s %9s\n", b->what, med[PLAN], med[SCALED], med[NET],
               med[PLAN] / med[NET], bwd, gf);
        cly_tensor *all[] = {x, y, dy, dx, p[0], p[1], p[2], p[3], dp[0], dp[1], ws, res};
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
            cly_tensor_destroy(all[i]);
        cly_net_destroy(net);
        cly_graph_destroy(g);
        cly_plan_destroy(plan);
    }
    free(t);
    cly_context_destroy(ctx);
    return 0;
}
