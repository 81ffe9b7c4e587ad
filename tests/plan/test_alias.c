/* Outputs that share memory with inputs, through the public headers only:
 * cly_conv2d never runs in place (gemm1x1 in place once returned success
 * with half the values wrong), on one tensor, on overlapping ranges of one
 * buffer, or on sub-buffers of one buffer; every op of the plan API refuses
 * an output over an input, except relu, dropout and softmax on exactly the
 * same range of the same cl_mem (documented in clayer.h). Refused calls
 * write nothing. */
#include <check.h>
#include <clayer_cl.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SKIP 77

/* The parent never touches OpenCL (check forks every test): probe in a child. */
static bool device_available(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        cly_device_info *d;
        size_t n;
        _exit(cly_devices_list(&d, &n) == CLY_SUCCESS && n > 0 ? 0 : 1);
    }
    int status;
    return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

#define OK(call, ctx) ck_assert_msg((call) == CLY_SUCCESS, "%s: %s", #call, cly_last_error(ctx))

static void expect(cly_status got, cly_status want, const cly_context *ctx, const char *const *words)
{
    ck_assert_msg(got == want, "status %s, wanted %s (%s)", cly_status_string(got), cly_status_string(want),
                  cly_last_error(ctx));
    for (size_t i = 0; words[i]; i++)
        ck_assert_msg(strstr(cly_last_error(ctx), words[i]), "message '%s' lacks '%s'", cly_last_error(ctx), words[i]);
}
#define EXPECT(call, status, ctx, ...) expect((call), (status), (ctx), (const char *const[]){__VA_ARGS__, NULL})

static int64_t count_of(cly_shape s)
{
    return s.n * s.c * s.h * s.w;
}

static cly_context *context(void)
{
    cly_context *ctx = NULL;
    cly_status s = cly_context_create(NULL, &ctx);
    ck_assert_msg(s == CLY_SUCCESS, "context: %s", cly_last_error(NULL));
    return ctx;
}

static cl_mem buffer(cly_context *ctx, int64_t elems)
{
    cl_context cl;
    OK(cly_cl_context_get(ctx, &cl, NULL, NULL), ctx);
    cl_int err;
    cl_mem m = clCreateBuffer(cl, CL_MEM_READ_WRITE, (size_t)elems * 4, NULL, &err);
    ck_assert_int_eq(err, CL_SUCCESS);
    return m;
}

/* A sub-buffer of `parent` at byte `origin`, `elems` floats long. */
static cl_mem sub(cl_mem parent, size_t origin, int64_t elems)
{
    cl_buffer_region r = {origin, (size_t)elems * 4};
    cl_int err;
    cl_mem m = clCreateSubBuffer(parent, CL_MEM_READ_WRITE, CL_BUFFER_CREATE_TYPE_REGION, &r, &err);
    ck_assert_msg(err == CL_SUCCESS, "clCreateSubBuffer at byte %zu: %d", origin, (int)err);
    return m;
}

static cly_tensor *wrap(cly_context *ctx, cl_mem m, int64_t offset, cly_shape s)
{
    cly_tensor *t;
    OK(cly_cl_tensor_wrap(ctx, m, offset, s, &t), ctx);
    return t;
}

/* Small integers, so every algorithm is exact and results compare with ==. */
static void fill_ints(cly_tensor *t, uint64_t seed)
{
    int64_t n = cly_tensor_count(t);
    float *v = malloc((size_t)n * sizeof *v);
    ck_assert_ptr_nonnull(v);
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        v[i] = (float)((int)(seed >> 33) % 5 - 2);
    }
    OK(cly_tensor_write(t, v, n), NULL);
    free(v);
}

static float *read_all(const cly_tensor *t)
{
    int64_t n = cly_tensor_count(t);
    float *v = malloc((size_t)n * sizeof *v);
    ck_assert_ptr_nonnull(v);
    OK(cly_tensor_read(t, v, n), NULL);
    return v;
}

static void assert_unchanged(const cly_tensor *t, const float *before, const char *what)
{
    float *now = read_all(t);
    int64_t n = cly_tensor_count(t);
    for (int64_t i = 0; i < n; i++)
        ck_assert_msg(now[i] == before[i] || (isnan(now[i]) && isnan(before[i])),
                      "%s: element %lld changed by a refused call", what, (long long)i);
    free(now);
}

/* ------------------------------------------------------------ cly_conv2d */

static const cly_conv_algo algos[] = {CLY_CONV_AUTO, CLY_CONV_DIRECT, CLY_CONV_IM2COL, CLY_CONV_GEMM1X1,
                                      CLY_CONV_WINOGRAD};

START_TEST(conv2d_in_place_refused)
{
    cly_context *ctx = context();
    /* C = K and an output of the input's shape: in place fits every shape
     * check. 1x1 for gemm1x1, 3x3 pad 1 for the others (Winograd's). */
    const cly_shape xs = {2, 4, 6, 6};
    for (size_t a = 0; a < sizeof algos / sizeof algos[0]; a++) {
        const bool one = algos[a] == CLY_CONV_GEMM1X1;
        const int64_t f = one ? 1 : 3;
        cly_conv_params p = {.size = {f, f}, .pad = CLY_PAD(one ? 0 : 1), .algo = algos[a]};
        cly_tensor *x, *w, *b;
        OK(cly_tensor_create(ctx, xs, &x), ctx);
        OK(cly_tensor_create(ctx, (cly_shape){4, 4, f, f}, &w), ctx);
        OK(cly_tensor_create(ctx, (cly_shape){1, 4, 1, 1}, &b), ctx);
        fill_ints(x, 1);
        fill_ints(w, 2);
        fill_ints(b, 3);
        float *before = read_all(x);
        EXPECT(cly_conv2d(ctx, x, w, b, p, x), CLY_ERROR_INVALID_ARGUMENT, ctx, "cly_conv2d", "output", "input",
               "in place");
        assert_unchanged(x, before, cly_conv_algo_string(algos[a]));
        free(before);

        /* Ranges of one buffer: the output over the weights, over the bias,
         * and over the input shifted by one element. */
        const int64_t xn = count_of(xs), wn = 16 * f * f;
        cl_mem m = buffer(ctx, 2 * xn + wn + 8);
        cly_tensor *wx = wrap(ctx, m, 0, xs), *ww = wrap(ctx, m, xn, (cly_shape){4, 4, f, f});
        cly_tensor *wb = wrap(ctx, m, xn + wn, (cly_shape){1, 4, 1, 1});
        cly_tensor *over_w = wrap(ctx, m, xn + wn - 1, xs), *over_x = wrap(ctx, m, 1, xs);
        cly_tensor *apart = wrap(ctx, m, xn + wn + 4, xs); /* past the bias: disjoint */
        fill_ints(wx, 1);
        fill_ints(ww, 2);
        fill_ints(wb, 3);
        EXPECT(cly_conv2d(ctx, wx, ww, wb, p, over_w), CLY_ERROR_INVALID_ARGUMENT, ctx, "output", "weights");
        EXPECT(cly_conv2d(ctx, wx, ww, NULL, p, over_w), CLY_ERROR_INVALID_ARGUMENT, ctx, "output", "weights");
        EXPECT(cly_conv2d(ctx, wx, ww, wb, p, over_x), CLY_ERROR_INVALID_ARGUMENT, ctx, "output", "input",
               "elements 1..");
        /* Disjoint ranges of one buffer are fine and give the separate
         * tensors' result. */
        cly_tensor *y;
        OK(cly_tensor_create(ctx, xs, &y), ctx);
        OK(cly_conv2d(ctx, x, w, b, p, y), ctx);
        OK(cly_conv2d(ctx, wx, ww, wb, p, apart), ctx);
        float *want = read_all(y);
        assert_unchanged(apart, want, "disjoint ranges");
        free(want);
        cly_tensor *ts[] = {x, w, b, y, wx, ww, wb, over_w, over_x, apart};
        for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
            cly_tensor_destroy(ts[i]);
        clReleaseMemObject(m);
    }
    cly_context_destroy(ctx);
}
END_TEST

START_TEST(conv2d_sub_buffers)
{
    /* Two handles on the same bytes (two sub-buffers of one buffer): the
     * output through one, the input through the other, is in place too. */
    cly_context *ctx = context();
    const cly_shape xs = {1, 4, 5, 5};
    const int64_t xn = count_of(xs);
    cl_device_id dev;
    OK(cly_cl_context_get(ctx, NULL, &dev, NULL), ctx);
    cl_uint align_bits = 0;
    ck_assert_int_eq(clGetDeviceInfo(dev, CL_DEVICE_MEM_BASE_ADDR_ALIGN, sizeof align_bits, &align_bits, NULL),
                     CL_SUCCESS);
    const size_t align = align_bits / 8 ? align_bits / 8 : 4;
    const size_t apart_at = ((size_t)xn * 4 + align - 1) / align * align; /* first aligned byte past x */
    cl_mem m = buffer(ctx, (int64_t)(2 * apart_at / 4) + xn);
    cl_mem s1 = sub(m, 0, xn), s2 = sub(m, 0, xn), s3 = sub(m, apart_at, xn);
    cly_tensor *x = wrap(ctx, s1, 0, xs), *same = wrap(ctx, s2, 0, xs), *apart = wrap(ctx, s3, 0, xs);
    cly_tensor *in_parent = wrap(ctx, m, xn - 1, xs); /* the parent itself, over the sub-buffer's last element */
    cly_tensor *w;
    OK(cly_tensor_create(ctx, (cly_shape){4, 4, 1, 1}, &w), ctx);
    fill_ints(x, 4);
    fill_ints(w, 5);
    float *before = read_all(x);
    for (size_t a = 0; a < sizeof algos / sizeof algos[0]; a++) {
        cly_conv_params p = {.size = {1, 1}, .algo = algos[a] == CLY_CONV_WINOGRAD ? CLY_CONV_AUTO : algos[a]};
        EXPECT(cly_conv2d(ctx, x, w, NULL, p, same), CLY_ERROR_INVALID_ARGUMENT, ctx, "output", "input",
               "sub-buffer");
        EXPECT(cly_conv2d(ctx, x, w, NULL, p, in_parent), CLY_ERROR_INVALID_ARGUMENT, ctx, "output", "input");
        EXPECT(cly_conv2d(ctx, same, w, NULL, p, in_parent), CLY_ERROR_INVALID_ARGUMENT, ctx, "output", "input");
        assert_unchanged(x, before, "sub-buffer input");
        OK(cly_conv2d(ctx, x, w, NULL, p, apart), ctx); /* disjoint sub-buffers of one buffer */
    }
    free(before);
    /* cly_tensor_copy sees through sub-buffers too. */
    EXPECT(cly_tensor_copy(same, x), CLY_ERROR_INVALID_ARGUMENT, ctx, "overlap");
    OK(cly_tensor_copy(apart, x), ctx);
    cly_tensor *ts[] = {x, same, apart, in_parent, w};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
        cly_tensor_destroy(ts[i]);
    clReleaseMemObject(s1);
    clReleaseMemObject(s2);
    clReleaseMemObject(s3);
    clReleaseMemObject(m);
    cly_context_destroy(ctx);
}
END_TEST

/* ------------------------------------------------------------ every op */

typedef struct op_case {
    cly_layer layer;
    size_t inputs;
    cly_shape x;      /* every input's shape */
    bool in_place_ok; /* y may be x[0] itself */
} op_case;

static const op_case op_cases[] = {
    {{.type = CLY_LAYER_CONV, .name = "conv", .p.conv = {.filters = 3, .size = {3, 3}, .pad = CLY_PAD(1)}}, 1,
     {2, 3, 5, 5}, false},
    {{.type = CLY_LAYER_CONV, .name = "conv1x1", .p.conv = {.filters = 3, .size = {1, 1}, .algo = CLY_CONV_GEMM1X1}},
     1, {2, 3, 5, 5}, false},
    {{.type = CLY_LAYER_LOCAL, .name = "local", .p.conv = {.filters = 3, .size = {3, 3}, .pad = CLY_PAD(1)}}, 1,
     {2, 3, 5, 5}, false},
    {{.type = CLY_LAYER_POOL, .name = "pool", .p.pool = {.kind = CLY_POOL_MAX, .size = {3, 3}, .pad = CLY_PAD(1)}},
     1, {2, 3, 5, 5}, false},
    {{.type = CLY_LAYER_POOL, .name = "avgpool", .p.pool = {.kind = CLY_POOL_AVG, .size = {3, 3}, .pad = CLY_PAD(1)}},
     1, {2, 3, 5, 5}, false},
    {{.type = CLY_LAYER_ADAPTIVE_AVGPOOL, .name = "adaptive", .p.adaptive = {.output = {5, 5}}}, 1, {2, 3, 5, 5},
     false},
    {{.type = CLY_LAYER_LRN, .name = "lrn", .p.lrn = {.size = 3, .alpha = 1e-2, .beta = 0.75, .k = 2}}, 1,
     {2, 3, 5, 5}, false},
    {{.type = CLY_LAYER_BATCHNORM, .name = "bn"}, 1, {2, 3, 5, 5}, false},
    {{.type = CLY_LAYER_FC, .name = "fc", .p.fc = {.outputs = 75}}, 1, {2, 3, 5, 5}, false},
    {{.type = CLY_LAYER_GLOBAL_AVGPOOL, .name = "gap"}, 1, {2, 3, 5, 5}, false},
    {{.type = CLY_LAYER_ADD, .name = "add"}, 2, {2, 3, 5, 5}, false},
    {{.type = CLY_LAYER_CONCAT, .name = "concat"}, 2, {2, 3, 5, 5}, false},
    {{.type = CLY_LAYER_SOFTMAX, .name = "softmax"}, 1, {2, 3, 5, 5}, true},
    {{.type = CLY_LAYER_RELU, .name = "relu"}, 1, {2, 3, 5, 5}, true},
    {{.type = CLY_LAYER_RELU, .name = "relu6", .p.relu = {.max = 6}}, 1, {2, 3, 5, 5}, true},
    {{.type = CLY_LAYER_DROPOUT, .name = "dropout", .p.dropout = 0.5}, 1, {2, 3, 5, 5}, true},
};

START_TEST(op_output_over_input)
{
    const op_case *oc = &op_cases[_i];
    cly_context *ctx = context();
    cly_plan *plan;
    cly_shape xs[2] = {oc->x, oc->x};
    OK(cly_plan_create(ctx, &oc->layer, xs, oc->inputs, CLY_MODE_INFERENCE, &plan), ctx);
    cly_plan_info info;
    OK(cly_plan_info_get(plan, &info), ctx);
    const int64_t xn = count_of(oc->x), yn = count_of(info.output);
    /* One buffer: x[0] at 0, x[1] after it, room for a y anywhere. */
    cl_mem m = buffer(ctx, 2 * xn + yn + 2);
    cly_tensor *x[2] = {wrap(ctx, m, 0, oc->x), wrap(ctx, m, xn, oc->x)};
    cly_tensor *params[4] = {NULL};
    for (int k = 0; k < 4; k++)
        if (info.param_count[k]) {
            OK(cly_tensor_create(ctx, (cly_shape){1, info.param_count[k], 1, 1}, &params[k]), ctx);
            OK(cly_tensor_fill(params[k], k == 3 ? 1.0f : 0.5f), ctx); /* a positive variance */
        }
    fill_ints(x[0], 6);
    fill_ints(x[1], 7);
    float *before0 = read_all(x[0]), *before1 = read_all(x[1]);
    cly_op_tensors t = {.x = (const cly_tensor *const *)x, .x_count = oc->inputs, .weights = params[0],
                        .bias = params[1], .mean = params[2], .var = params[3], .seed = 9};
    const char *name = oc->layer.name;

    /* y exactly over x[0] (same cl_mem, offset and count when the shapes
     * allow): in place, refused unless the op is element-wise per column. */
    cly_tensor *y0 = wrap(ctx, m, 0, info.output);
    t.y = y0;
    if (oc->in_place_ok && yn == xn) {
        OK(cly_plan_forward(plan, &t, 1, 0), ctx);
    } else {
        EXPECT(cly_plan_forward(plan, &t, 1, 0), CLY_ERROR_INVALID_ARGUMENT, ctx, name, "y", "overlaps", "x[0]");
        assert_unchanged(x[0], before0, name);
    }
    /* Shifted by one element: refused for every op. */
    fill_ints(x[0], 6);
    cly_tensor *y1 = wrap(ctx, m, 1, info.output);
    t.y = y1;
    EXPECT(cly_plan_forward(plan, &t, 1, 0), CLY_ERROR_INVALID_ARGUMENT, ctx, name, "y", "overlaps");
    assert_unchanged(x[0], before0, name);
    /* Over the second input. */
    if (oc->inputs == 2) {
        cly_tensor *y2 = wrap(ctx, m, xn, info.output);
        t.y = y2;
        EXPECT(cly_plan_forward(plan, &t, 1, 0), CLY_ERROR_INVALID_ARGUMENT, ctx, name, "y", "overlaps", "x[1]");
        assert_unchanged(x[1], before1, name);
        cly_tensor_destroy(y2);
    }
    /* Over a parameter (a y placed inside the weights' own buffer). */
    if (params[0]) {
        cl_mem pm;
        int64_t po;
        OK(cly_cl_tensor_mem(params[0], &pm, &po), ctx);
        if (info.param_count[0] >= yn) {
            cly_tensor *yp = wrap(ctx, pm, po, info.output);
            t.y = yp;
            EXPECT(cly_plan_forward(plan, &t, 1, 0), CLY_ERROR_INVALID_ARGUMENT, ctx, name, "y", "overlaps");
            cly_tensor_destroy(yp);
        }
    }
    /* The same bytes through a second handle (a sub-buffer at 0): never in
     * place, OpenCL leaves that undefined. */
    cl_mem s = sub(m, 0, yn > xn ? yn : xn);
    cly_tensor *ys = wrap(ctx, s, 0, info.output);
    t.y = ys;
    EXPECT(cly_plan_forward(plan, &t, 1, 0), CLY_ERROR_INVALID_ARGUMENT, ctx, name, "y", "overlaps", "sub-buffer");
    assert_unchanged(x[0], before0, name);
    /* Apart: after both inputs. */
    cly_tensor *ya = wrap(ctx, m, 2 * xn + 2, info.output);
    t.y = ya;
    OK(cly_plan_forward(plan, &t, 1, 0), ctx);

    cly_tensor *ts[] = {x[0], x[1], y0, y1, ys, ya, params[0], params[1], params[2], params[3]};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
        cly_tensor_destroy(ts[i]);
    free(before0);
    free(before1);
    clReleaseMemObject(s);
    clReleaseMemObject(m);
    cly_plan_destroy(plan);
    cly_context_destroy(ctx);
}
END_TEST

int main(void)
{
    if (!device_available()) {
        fprintf(stderr, "no OpenCL device: skipped\n");
        return SKIP;
    }
    Suite *s = suite_create("alias");
    TCase *tc = tcase_create("alias");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, conv2d_in_place_refused);
    tcase_add_test(tc, conv2d_sub_buffers);
    tcase_add_loop_test(tc, op_output_over_input, 0, (int)(sizeof op_cases / sizeof op_cases[0]));
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
