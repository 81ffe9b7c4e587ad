/* clayer as the OpenCL backend of a framework: the application owns the
 * OpenCL context, the queue and one memory pool; clayer runs on them.
 *
 * The "framework" here lays its tensors out in one cl_mem (as a caching
 * allocator would), wraps each slice as a clayer tensor without copying,
 * creates one plan per op configuration at model build time, and then
 * runs forward, loss, backward and SGD in a loop with its own autograd
 * order: conv 3x3 (+bias) -> relu -> adaptive average pool to 1 x 2 (the
 * left and right halves) -> fc -> softmax cross-entropy. The task: is the bright blob in the left or the right half
 * of a 12x12 image? The loss must fall, or the program fails.
 *
 *     build/examples/framework [--steps N] [--device SELECTOR]
 *
 * Exit: 0 trained, 1 failed, 77 no OpenCL device. */
#define CL_TARGET_OPENCL_VERSION 120
#include <clayer_cl.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define B 16 /* batch */

static int fail(const char *what, const cly_context *ctx)
{
    fprintf(stderr, "framework: %s: %s\n", what, cly_last_error(ctx));
    return 1;
}
#define TRY(call, what)                                                                                            \
    do {                                                                                                           \
        if ((call) != CLY_SUCCESS)                                                                                 \
            return fail(what, ctx);                                                                                \
    } while (0)

/* The framework's allocator: bump allocation in one pool buffer. */
typedef struct pool {
    cl_mem mem;
    int64_t used, size; /* floats */
} pool;

static cly_status alloc(cly_context *ctx, pool *p, cly_shape s, cly_tensor **out)
{
    int64_t n = s.n * s.c * s.h * s.w;
    if (p->used + n > p->size)
        return CLY_ERROR_TOO_LARGE;
    cly_status st = cly_cl_tensor_wrap(ctx, p->mem, p->used, s, out);
    p->used += (n + 15) / 16 * 16;
    return st;
}

static uint64_t rng = 42;
static float uniform(void)
{
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((double)(rng >> 11) / (double)(1ULL << 53));
}

/* A blob of 3x3 bright pixels on noise; label 1 when it sits right. */
static void batch(float *x, int32_t *labels)
{
    for (int n = 0; n < B; n++) {
        float *img = x + n * 144;
        for (int i = 0; i < 144; i++)
            img[i] = 0.2f * uniform();
        int right = uniform() < 0.5f, cy = 1 + (int)(uniform() * 9), cx = 1 + (int)(uniform() * 4) + (right ? 6 : 0);
        for (int dy = -1; dy <= 1; dy++)
            for (int dx = -1; dx <= 1; dx++)
                img[(cy + dy) * 12 + cx + dx] = 1.0f;
        labels[n] = right;
    }
}

int main(int argc, char **argv)
{
    int steps = 150;
    const char *selector = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--steps"))
            steps = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--device"))
            selector = argv[i + 1];
    }
    /* The application's own OpenCL objects, here from clayer's device
     * choice; a framework would bring its own. */
    cly_context *ctx = NULL;
    cly_context *probe;
    if (cly_context_create(selector, &probe) != CLY_SUCCESS) {
        fprintf(stderr, "framework: no OpenCL device: %s\n", cly_last_error(NULL));
        return 77;
    }
    cl_device_id dev;
    TRY(cly_cl_context_get(probe, NULL, &dev, NULL), "device");
    cl_int err;
    cl_context clctx = clCreateContext(NULL, 1, &dev, NULL, NULL, &err);
    cl_command_queue queue = err == CL_SUCCESS ? clCreateCommandQueue(clctx, dev, 0, &err) : NULL;
    if (err != CL_SUCCESS) {
        fprintf(stderr, "framework: OpenCL context or queue: error %d\n", err);
        return 1;
    }
    pool mem = {.size = 1 << 20};
    mem.mem = clCreateBuffer(clctx, CL_MEM_READ_WRITE, (size_t)mem.size * sizeof(float), NULL, &err);
    if (err != CL_SUCCESS)
        return 1;
    TRY(cly_cl_context_create(clctx, dev, queue, NULL, &ctx), "cly_cl_context_create");
    cly_context_destroy(probe);

    /* Model build: one plan per op, created once. */
    cly_shape xs = {B, 1, 12, 12};
    cly_layer conv = {.type = CLY_LAYER_CONV, .name = "conv", .p.conv = {.filters = 8, .size = {3, 3}, .pad = CLY_PAD(1)}};
    cly_layer relu = {.type = CLY_LAYER_RELU, .name = "relu"};
    cly_layer gap = {.type = CLY_LAYER_ADAPTIVE_AVGPOOL, .name = "halves", .p.adaptive = {.output = {1, 2}}};
    cly_layer fc = {.type = CLY_LAYER_FC, .name = "fc", .p.fc = {.outputs = 2}};
    cly_plan *pc, *pr, *pg, *pf;
    cly_plan_info ic, ig, iff;
    TRY(cly_plan_create(ctx, &conv, &xs, 1, CLY_MODE_TRAINING, &pc), "conv plan");
    TRY(cly_plan_info_get(pc, &ic), "conv info");
    TRY(cly_plan_create(ctx, &relu, &ic.output, 1, CLY_MODE_TRAINING, &pr), "relu plan");
    TRY(cly_plan_create(ctx, &gap, &ic.output, 1, CLY_MODE_TRAINING, &pg), "pool plan");
    TRY(cly_plan_info_get(pg, &ig), "pool info");
    TRY(cly_plan_create(ctx, &fc, &ig.output, 1, CLY_MODE_TRAINING, &pf), "fc plan");
    TRY(cly_plan_info_get(pf, &iff), "fc info");
    printf("conv: forward %s, backward data %s, backward weights %s, workspace %lld elements; fc: %lld weights\n",
           cly_conv_algo_string(ic.algo), ic.backward_data_method, ic.backward_weights_method,
           (long long)ic.workspace_elems, (long long)iff.param_count[CLY_PARAM_WEIGHTS]);

    /* Every tensor a slice of the pool: activations, gradients, parameters,
     * their gradients and momenta, and the conv's workspace. */
    cly_tensor *x, *a1, *a2, *a3, *s, *g1, *g2, *g3, *gs, *ws, *losses, *p[4], *gp[4], *v[4];
    const int64_t pn[4] = {ic.param_count[0], ic.param_count[1], iff.param_count[0], iff.param_count[1]};
    TRY(alloc(ctx, &mem, xs, &x), "x");
    TRY(alloc(ctx, &mem, ic.output, &a1), "a1");
    TRY(alloc(ctx, &mem, ic.output, &a2), "a2");
    TRY(alloc(ctx, &mem, ig.output, &a3), "a3");
    TRY(alloc(ctx, &mem, iff.output, &s), "scores");
    TRY(alloc(ctx, &mem, ic.output, &g1), "g1");
    TRY(alloc(ctx, &mem, ic.output, &g2), "g2");
    TRY(alloc(ctx, &mem, ig.output, &g3), "g3");
    TRY(alloc(ctx, &mem, iff.output, &gs), "dscores");
    TRY(alloc(ctx, &mem, (cly_shape){1, ic.workspace_elems > 0 ? ic.workspace_elems : 1, 1, 1}, &ws), "workspace");
    TRY(alloc(ctx, &mem, (cly_shape){B, 1, 1, 1}, &losses), "losses");
    for (int i = 0; i < 4; i++) {
        cly_shape ps = {1, pn[i], 1, 1};
        TRY(alloc(ctx, &mem, ps, &p[i]), "parameter");
        TRY(alloc(ctx, &mem, ps, &gp[i]), "gradient");
        TRY(alloc(ctx, &mem, ps, &v[i]), "momentum");
        TRY(cly_tensor_fill(v[i], 0), "momentum");
        float *init = malloc((size_t)pn[i] * sizeof *init);
        double scale = i % 2 ? 0 : sqrt(2.0 / (double)(i == 0 ? 9 : 16)); /* He; biases 0 */
        for (int64_t k = 0; k < pn[i]; k++)
            init[k] = (float)(scale * (2.0 * uniform() - 1.0) * 1.7);
        TRY(cly_tensor_write(p[i], init, pn[i]), "parameter");
        free(init);
    }

    float *host = malloc(B * 144 * sizeof *host);
    int32_t labels[B];
    double first = 0, last = 0;
    for (int step = 0; step < steps; step++) {
        batch(host, labels);
        TRY(cly_tensor_write(x, host, B * 144), "input");
        const cly_tensor *in0[] = {x}, *in1[] = {a1}, *in2[] = {a2}, *in3[] = {a3};
        cly_tensor *d1[] = {g1}, *d2[] = {g2}, *d3[] = {g3};
        cly_op_tensors tc = {.x = in0, .x_count = 1, .y = a1, .dy = g1, .weights = p[0], .bias = p[1],
                             .dweights = gp[0], .dbias = gp[1], .workspace = ws};
        cly_op_tensors tr = {.x = in1, .x_count = 1, .y = a2, .dy = g2, .dx = d1};
        cly_op_tensors tg = {.x = in2, .x_count = 1, .y = a3, .dy = g3, .dx = d2};
        cly_op_tensors tf = {.x = in3, .x_count = 1, .y = s, .dy = gs, .dx = d3, .weights = p[2], .bias = p[3],
                             .dweights = gp[2], .dbias = gp[3]};
        /* Forward, loss, then the framework's reverse order. */
        TRY(cly_plan_forward(pc, &tc, 1, 0), "conv forward");
        TRY(cly_plan_forward(pr, &tr, 1, 0), "relu forward");
        TRY(cly_plan_forward(pg, &tg, 1, 0), "pool forward");
        TRY(cly_plan_forward(pf, &tf, 1, 0), "fc forward");
        TRY(cly_op_loss(ctx, CLY_LOSS_SOFTMAX_XENT, 0, s, labels, B, losses, gs, 1, 0), "loss");
        TRY(cly_plan_backward(pf, &tf, 1, 0), "fc backward");
        TRY(cly_plan_backward_data(pg, &tg, 1, 0), "pool backward");
        TRY(cly_plan_backward_data(pr, &tr, 1, 0), "relu backward");
        TRY(cly_plan_backward_weights(pc, &tc, 1, 0), "conv backward weights");
        for (int i = 0; i < 4; i++)
            TRY(cly_op_sgd_step(ctx, p[i], gp[i], v[i], 0.2, 0.9, false, 0), "sgd");
        float lh[B];
        TRY(cly_tensor_read(losses, lh, B), "losses"); /* waits for the step */
        double mean = 0;
        for (int n = 0; n < B; n++)
            mean += lh[n] / B;
        if (step < 10)
            first += mean / 10;
        if (step >= steps - 10)
            last += mean / 10;
        if (step % 25 == 0 || step == steps - 1)
            printf("step %3d  loss %.4f\n", step, mean);
    }
    printf("mean loss: first 10 steps %.4f, last 10 steps %.4f\n", first, last);

    cly_tensor *all[] = {x, a1, a2, a3, s, g1, g2, g3, gs, ws, losses};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        cly_tensor_destroy(all[i]);
    for (int i = 0; i < 4; i++) {
        cly_tensor_destroy(p[i]);
        cly_tensor_destroy(gp[i]);
        cly_tensor_destroy(v[i]);
    }
    cly_plan_destroy(pc);
    cly_plan_destroy(pr);
    cly_plan_destroy(pg);
    cly_plan_destroy(pf);
    cly_context_destroy(ctx);
    /* The pool, queue and context are the application's: clayer released
     * only its own references. */
    clReleaseMemObject(mem.mem);
    clReleaseCommandQueue(queue);
    clReleaseContext(clctx);
    free(host);
    if (!(last < 0.5 * first)) {
        fprintf(stderr, "framework: the loss did not fall to half (%.4f -> %.4f)\n", first, last);
        return 1;
    }
    return 0;
}
