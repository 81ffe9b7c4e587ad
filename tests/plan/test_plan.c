/* The op-level API (plans) through the public header only, as a framework
 * would use it:
 * - convolution forward, backward-data and backward-weights bit-exact
 *   against a naive reference on integer-valued tensors, every algorithm,
 *   the figures of the notes among the shapes;
 * - alpha/beta scaling and accumulation;
 * - every op's backward against central finite differences of its forward
 *   (float64), batch norm in both forms;
 * - every op's forward bit-identical to the same layer in a net;
 * - a training loop written from primitives giving the same bits as
 *   cly_net_train_batch;
 * - argument errors: clear, naming the op and the numbers, nothing written. */
#include <check.h>
#include <clayer.h>

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

static cly_context *context(cly_precision precision)
{
    cly_context *ctx = NULL;
    cly_context_options o = {.precision = precision};
    cly_status s = cly_context_create_ex(&o, &ctx);
    ck_assert_msg(s == CLY_SUCCESS, "context: %s", cly_last_error(NULL));
    return ctx;
}

static uint64_t rng = 1;
static double uniform(void) /* [-1, 1) */
{
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(rng >> 11) / (double)(1ULL << 52) - 1.0;
}
static double small_int(int range) /* integer in [-range, range] */
{
    return floor((uniform() + 1.0) * 0.5 * (2 * range + 1)) - range;
}

static int64_t count_of(cly_shape s)
{
    return s.n * s.c * s.h * s.w;
}

static cly_tensor *tensor(cly_context *ctx, cly_shape s, const double *v)
{
    cly_tensor *t;
    ck_assert_msg(cly_tensor_create(ctx, s, &t) == CLY_SUCCESS, "%s", cly_last_error(ctx));
    if (v)
        ck_assert_msg(cly_tensor_write_f64(t, v, count_of(s)) == CLY_SUCCESS, "%s", cly_last_error(ctx));
    return t;
}

static cly_tensor *vec(cly_context *ctx, int64_t n, const double *v)
{
    return tensor(ctx, (cly_shape){1, n, 1, 1}, v);
}

static double *read_all(const cly_tensor *t)
{
    int64_t n = cly_tensor_count(t);
    double *v = malloc((size_t)n * sizeof *v);
    ck_assert(v);
    ck_assert(cly_tensor_read_f64(t, v, n) == CLY_SUCCESS);
    return v;
}

static double *fill(int64_t n, int range) /* range 0: uniform reals */
{
    double *v = malloc((size_t)(n > 0 ? n : 1) * sizeof *v);
    ck_assert(v);
    for (int64_t i = 0; i < n; i++)
        v[i] = range ? small_int(range) : uniform();
    return v;
}

#define OK(call, ctx) ck_assert_msg((call) == CLY_SUCCESS, "%s: %s", #call, cly_last_error(ctx))

/* ------------------------------------------------ naive convolution */

typedef struct conv_case {
    const char *what;
    cly_shape x;
    cly_conv_params p;
} conv_case;

/* y = conv(x, w) + b (+ relu); dx, dw, db from dy (dy masked by y > 0 with relu). */
static void ref_conv(const conv_case *cc, cly_shape ys, const double *x, const double *w, const double *b,
                     const double *dy, double *y, double *dx, double *dw, double *db)
{
    const cly_conv_params *p = &cc->p;
    int64_t N = cc->x.n, C = cc->x.c, H = cc->x.h, W = cc->x.w, K = p->filters, G = p->groups ? p->groups : 1;
    int64_t FH = p->size.h, FW = p->size.w, SH = p->stride.h ? p->stride.h : 1, SW = p->stride.w ? p->stride.w : 1;
    int64_t DH = p->dilation.h ? p->dilation.h : 1, DW = p->dilation.w ? p->dilation.w : 1;
    int64_t CG = C / G, KG = K / G, OH = ys.h, OW = ys.w;
    memset(dx, 0, sizeof *dx * (size_t)count_of(cc->x));
    memset(dw, 0, sizeof *dw * (size_t)(K * CG * FH * FW));
    memset(db, 0, sizeof *db * (size_t)K);
    for (int pass = 0; pass < 2; pass++)
        for (int64_t n = 0; n < N; n++)
            for (int64_t k = 0; k < K; k++)
                for (int64_t oy = 0; oy < OH; oy++)
                    for (int64_t ox = 0; ox < OW; ox++) {
                        int64_t o = ((n * K + k) * OH + oy) * OW + ox;
                        double acc = b ? b[k] : 0, g = 0;
                        if (pass == 1) {
                            g = dy[o];
                            if (p->relu && !(y[o] > 0))
                                g = 0;
                            db[k] += g;
                        }
                        for (int64_t c = 0; c < CG; c++)
                            for (int64_t i = 0; i < FH; i++)
                                for (int64_t j = 0; j < FW; j++) {
                                    int64_t iy = oy * SH - p->pad.top + i * DH, ix = ox * SW - p->pad.left + j * DW;
                                    if (iy < 0 || iy >= H || ix < 0 || ix >= W)
                                        continue;
                                    int64_t xi = ((n * C + (k / KG) * CG + c) * H + iy) * W + ix;
                                    int64_t wi = ((k * CG + c) * FH + i) * FW + j;
                                    if (pass == 0)
                                        acc += x[xi] * w[wi];
                                    else {
                                        dx[xi] += g * w[wi];
                                        dw[wi] += g * x[xi];
                                    }
                                }
                        if (pass == 0)
                            y[o] = p->relu && acc < 0 ? 0 : acc;
                    }
}

static int64_t mismatches(const double *a, const double *b, int64_t n, const char *what, const char *name)
{
    int64_t bad = 0;
    for (int64_t i = 0; i < n; i++)
        if (a[i] != b[i] && bad++ < 3)
            fprintf(stderr, "%s %s[%lld]: got %.17g, want %.17g\n", what, name, (long long)i, a[i], b[i]);
    return bad;
}

/* max |a - b| <= tol * max |b| */
static bool close_to(const double *a, const double *b, int64_t n, double tol)
{
    double scale = 0, err = 0;
    for (int64_t i = 0; i < n; i++) {
        scale = fmax(scale, fabs(b[i]));
        err = fmax(err, fabs(a[i] - b[i]));
    }
    return err <= tol * scale;
}

static const conv_case conv_cases[] = {
    /* The notes' demo: 5x5x3 input, pad 1, two 3x3 filters, stride 2 -> 3x3x2. */
    {"notes demo", {2, 3, 5, 5}, {.filters = 2, .size = {3, 3}, .stride = {2, 2}, .pad = CLY_PAD(1)}},
    /* The notes' numpy example: 11x11x4, F=5, S=2, P=0 -> 4x4. */
    {"numpy example", {1, 4, 11, 11}, {.filters = 3, .size = {5, 5}, .stride = {2, 2}}},
    /* AlexNet conv1: 227x227x3, 96 filters of 11x11, stride 4 -> 55x55x96. */
    {"alexnet conv1", {1, 3, 227, 227}, {.filters = 96, .size = {11, 11}, .stride = {4, 4}}},
    /* VGG: 3x3, stride 1, pad 1 keeps the size. */
    {"vgg 3x3", {2, 8, 14, 14}, {.filters = 16, .size = {3, 3}, .pad = CLY_PAD(1)}},
    /* 1x1 (GoogLeNet reductions; gemm1x1). */
    {"1x1", {2, 16, 7, 7}, {.filters = 8, .size = {1, 1}}},
    /* Grouped (Caffe AlexNet's two towers), dilated, asymmetric padding. */
    {"groups 2", {2, 8, 9, 9}, {.filters = 6, .size = {3, 3}, .pad = CLY_PAD(1), .groups = 2}},
    {"dilation 2", {1, 4, 11, 11}, {.filters = 5, .size = {3, 3}, .dilation = {2, 2}, .pad = CLY_PAD(2)}},
    {"asymmetric", {2, 3, 8, 9}, {.filters = 4, .size = {2, 3}, .pad = {0, 1, 1, 1}, .stride = {1, 2}}},
    /* torchvision's stride-2 1x1 shortcut floors (8 - 1)/2 + 1 = 4.5. */
    {"floor 1x1 s2", {2, 8, 8, 8}, {.filters = 4, .size = {1, 1}, .stride = {2, 2}, .rounding = CLY_ROUND_FLOOR}},
    /* ZFNet conv1: 7x7 stride 2 on 224 floors (224 - 7)/2 + 1 = 109.5. */
    {"zfnet conv1", {1, 3, 224, 224}, {.filters = 8, .size = {7, 7}, .stride = {2, 2}, .rounding = CLY_ROUND_FLOOR}},
    {"fused relu, no bias", {2, 4, 6, 6}, {.filters = 5, .size = {3, 3}, .pad = CLY_PAD(1), .relu = true,
                                           .no_bias = true}},
};

START_TEST(conv_exact)
{
    cly_context *ctx = context(CLY_PRECISION_FLOAT32);
    const conv_case *cc = &conv_cases[_i];
    int64_t G = cc->p.groups ? cc->p.groups : 1;
    cly_layer l = {.type = CLY_LAYER_CONV, .name = "c", .p.conv = cc->p};
    cly_shape ys;
    OK(cly_op_output_shape(&l, &cc->x, 1, &ys), NULL);
    int64_t xs = count_of(cc->x), yn = count_of(ys), wn = cc->p.filters * (cc->x.c / G) * cc->p.size.h * cc->p.size.w;
    ck_assert_int_eq(ys.c, cc->p.filters);
    rng = 17 + (uint64_t)_i;
    double *x = fill(xs, 2), *w = fill(wn, 2), *b = fill(cc->p.filters, 3), *dy = fill(yn, 2);
    double *y = malloc(sizeof *y * (size_t)yn), *dx = malloc(sizeof *dx * (size_t)xs);
    double *dw = malloc(sizeof *dw * (size_t)wn), *db = malloc(sizeof *db * (size_t)cc->p.filters);
    ref_conv(cc, ys, x, w, cc->p.no_bias ? NULL : b, dy, y, dx, dw, db);
    cly_tensor *tx = tensor(ctx, cc->x, x), *tw = vec(ctx, wn, w), *tb = cc->p.no_bias ? NULL : vec(ctx, cc->p.filters, b);
    cly_tensor *tdy = tensor(ctx, ys, dy), *ty = tensor(ctx, ys, NULL), *tdx = tensor(ctx, cc->x, NULL);
    cly_tensor *tdw = vec(ctx, wn, NULL), *tdb = cc->p.no_bias ? NULL : vec(ctx, cc->p.filters, NULL);
    int ran = 0;
    for (int a = 0; a < CLY_CONV_ALGO_COUNT; a++) {
        l.p.conv.algo = (cly_conv_algo)a;
        cly_plan *plan;
        cly_status s = cly_plan_create(ctx, &l, &cc->x, 1, CLY_MODE_TRAINING, &plan);
        if (s == CLY_ERROR_UNSUPPORTED)
            continue; /* this algorithm cannot run the shape (the message says why) */
        ck_assert_msg(s == CLY_SUCCESS, "%s %s: %s", cc->what, cly_conv_algo_string(l.p.conv.algo),
                      cly_last_error(ctx));
        cly_plan_info info;
        OK(cly_plan_info_get(plan, &info), ctx);
        ck_assert(info.algo != CLY_CONV_AUTO);
        ck_assert(a == CLY_CONV_AUTO || info.algo == (cly_conv_algo)a);
        ck_assert_int_eq(info.param_count[CLY_PARAM_WEIGHTS], wn);
        ck_assert_ptr_nonnull(info.backward_data_method);
        ck_assert_ptr_nonnull(info.backward_weights_method);
        cly_tensor *ws = info.workspace_elems ? vec(ctx, info.workspace_elems, NULL) : NULL;
        cly_tensor *const dxs[] = {tdx};
        const cly_tensor *xs_[] = {tx};
        cly_op_tensors t = {.x = xs_, .x_count = 1, .y = ty, .dy = tdy, .dx = dxs, .weights = tw, .bias = tb,
                            .dweights = tdw, .dbias = tdb, .workspace = ws};
        OK(cly_plan_forward(plan, &t, 1, 0), ctx);
        OK(cly_plan_backward_data(plan, &t, 1, 0), ctx);
        OK(cly_plan_backward_weights(plan, &t, 1, 0), ctx);
        double *gy = read_all(ty), *gdx = read_all(tdx), *gdw = read_all(tdw);
        const char *an = cly_conv_algo_string(info.algo);
        if (cly_conv_algo_exact(info.algo))
            ck_assert_msg(mismatches(gy, y, yn, cc->what, an) == 0, "%s forward (%s)", cc->what, an);
        else /* winograd's transforms round: within 1e-5 of the largest output */
            ck_assert_msg(close_to(gy, y, yn, 1e-5), "%s forward (%s)", cc->what, an);
        ck_assert_msg(mismatches(gdx, dx, xs, cc->what, an) == 0, "%s backward data (%s)", cc->what, an);
        ck_assert_msg(mismatches(gdw, dw, wn, cc->what, an) == 0, "%s backward weights (%s)", cc->what, an);
        if (tdb) {
            double *gdb = read_all(tdb);
            ck_assert_msg(mismatches(gdb, db, cc->p.filters, cc->what, an) == 0, "%s bias gradient", cc->what);
            free(gdb);
        }
        free(gy);
        free(gdx);
        free(gdw);
        cly_tensor_destroy(ws);
        cly_plan_destroy(plan);
        ran++;
    }
    ck_assert_int_ge(ran, 2); /* AUTO and at least the algorithm it chose */
    cly_tensor *ts[] = {tx, tw, tb, tdy, ty, tdx, tdw, tdb};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
        cly_tensor_destroy(ts[i]);
    free(x), free(w), free(b), free(dy), free(y), free(dx), free(dw), free(db);
    cly_context_destroy(ctx);
}
END_TEST

/* The notes' 1-D example: W=5, F=3, P=1 gives 5 outputs at S=1 and 3 at
 * S=2 (weights [1, 0, -1], bias 0), S=3 is invalid; and W=10, F=3, P=0,
 * S=2 gives 4.5, an error naming the numbers. */
START_TEST(notes_figures)
{
    cly_context *ctx = context(CLY_PRECISION_FLOAT32);
    cly_shape xs = {1, 1, 1, 5};
    const double x[] = {1, 2, 3, 4, 5}, w[] = {1, 0, -1}, b[] = {0};
    const double want1[] = {-2, -2, -2, -2, 4}, want2[] = {-2, -2, 4};
    cly_tensor *tx = tensor(ctx, xs, x), *tw = vec(ctx, 3, w), *tb = vec(ctx, 1, b);
    for (int64_t stride = 1; stride <= 3; stride++) {
        cly_layer l = {.type = CLY_LAYER_CONV, .name = "oned",
                       .p.conv = {.filters = 1, .size = {1, 3}, .stride = {1, stride}, .pad = {0, 0, 1, 1}}};
        cly_shape ys;
        cly_status st = cly_op_output_shape(&l, &xs, 1, &ys);
        if (stride == 3) {
            ck_assert_int_eq(st, CLY_ERROR_INVALID_ARGUMENT);
            ck_assert_msg(strstr(cly_last_error(NULL), "oned") && strstr(cly_last_error(NULL), "(5 - 3 + 2*1)/3 + 1"),
                          "%s", cly_last_error(NULL));
            continue;
        }
        ck_assert_int_eq(st, CLY_SUCCESS);
        ck_assert_int_eq(ys.w, stride == 1 ? 5 : 3);
        cly_tensor *ty = tensor(ctx, ys, NULL);
        const cly_tensor *in[] = {tx};
        cly_op_tensors t = {.x = in, .x_count = 1, .y = ty, .weights = tw, .bias = tb};
        OK(cly_op_forward(ctx, &l, CLY_MODE_INFERENCE, &t, 1, 0), ctx);
        double *y = read_all(ty);
        ck_assert(mismatches(y, stride == 1 ? want1 : want2, ys.w, "1-D example", "y") == 0);
        free(y);
        cly_tensor_destroy(ty);
    }
    cly_layer l = {.type = CLY_LAYER_CONV, .name = "ten", .p.conv = {.filters = 1, .size = {3, 3}, .stride = {2, 2}}};
    cly_shape ten = {1, 1, 10, 10}, ys;
    ck_assert_int_eq(cly_op_output_shape(&l, &ten, 1, &ys), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_msg(strstr(cly_last_error(NULL), "4.5"), "%s", cly_last_error(NULL));
    cly_tensor_destroy(tx);
    cly_tensor_destroy(tw);
    cly_tensor_destroy(tb);
    cly_context_destroy(ctx);
}
END_TEST

/* ReLU6 and the leaky ReLU on chosen values, forward and backward, and
 * their net-file keys through a parse/write round trip. */
START_TEST(relu_variants)
{
    cly_context *ctx = context(CLY_PRECISION_FLOAT64);
    const double x[] = {-2, -0.5, 0, 3, 6, 7, NAN, 5.5};
    const struct {
        cly_relu_params p;
        double y[8], dx[8]; /* dy = 1 */
    } cases[] = {
        {{.max = 6}, {0, 0, 0, 3, 6, 6, NAN, 5.5}, {0, 0, 0, 1, 0, 0, 0, 1}},
        {{.slope = 0.25}, {-0.5, -0.125, 0, 3, 6, 7, NAN, 5.5}, {0.25, 0.25, 0.25, 1, 1, 1, 0.25, 1}},
        {{.max = 6, .slope = 0.25}, {-0.5, -0.125, 0, 3, 6, 6, NAN, 5.5}, {0.25, 0.25, 0.25, 1, 0, 0, 0.25, 1}},
    };
    cly_shape xs = {1, 8, 1, 1};
    double ones[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    cly_tensor *tx = tensor(ctx, xs, x), *ty = tensor(ctx, xs, NULL), *tdy = tensor(ctx, xs, ones);
    cly_tensor *tdx = tensor(ctx, xs, NULL);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        cly_layer l = {.type = CLY_LAYER_RELU, .name = "act", .p.relu = cases[c].p};
        cly_plan *plan;
        OK(cly_plan_create(ctx, &l, &xs, 1, CLY_MODE_INFERENCE, &plan), ctx);
        const cly_tensor *in[] = {tx};
        cly_tensor *din[] = {tdx};
        cly_op_tensors t = {.x = in, .x_count = 1, .y = ty, .dy = tdy, .dx = din};
        OK(cly_plan_forward(plan, &t, 1, 0), ctx);
        OK(cly_plan_backward_data(plan, &t, 1, 0), ctx);
        double *y = read_all(ty), *dx = read_all(tdx);
        for (int i = 0; i < 8; i++) {
            ck_assert_msg(isnan(cases[c].y[i]) ? isnan(y[i]) : y[i] == cases[c].y[i], "case %zu: y[%d] = %g", c, i,
                          y[i]);
            ck_assert_msg(dx[i] == cases[c].dx[i], "case %zu: dx[%d] = %g, want %g", c, i, dx[i], cases[c].dx[i]);
        }
        free(y);
        free(dx);
        cly_plan_destroy(plan);
    }
    cly_layer bad = {.type = CLY_LAYER_RELU, .name = "act", .p.relu = {.slope = 1.5}};
    cly_plan *plan;
    ck_assert_int_eq(cly_plan_create(ctx, &bad, &xs, 1, CLY_MODE_INFERENCE, &plan), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(cly_last_error(ctx), "slope = 1.5"));
    const char *text = "input data c=3 h=4 w=4\nrelu r6 < data max=6\nrelu lk < r6 slope=0.01\n";
    cly_graph *g;
    OK(cly_graph_parse(text, strlen(text), "relus", &g), NULL);
    char *out;
    size_t size;
    OK(cly_graph_to_text(g, &out, &size), NULL);
    ck_assert_msg(strstr(out, "max=6") && strstr(out, "slope=0.01"), "%s", out);
    free(out);
    cly_graph_destroy(g);
    cly_tensor_destroy(tx);
    cly_tensor_destroy(ty);
    cly_tensor_destroy(tdy);
    cly_tensor_destroy(tdx);
    cly_context_destroy(ctx);
}
END_TEST

/* Max pooling F=2, S=2: 224x224x64 becomes 112x112x64, and backward routes
 * each output's gradient to its window's maximum only (the switches). */
START_TEST(pool_switches)
{
    cly_context *ctx = context(CLY_PRECISION_FLOAT32);
    cly_shape xs = {1, 64, 224, 224};
    cly_layer l = {.type = CLY_LAYER_POOL, .name = "pool1", .p.pool = {.size = {2, 2}, .stride = {2, 2}}};
    cly_plan *plan;
    OK(cly_plan_create(ctx, &l, &xs, 1, CLY_MODE_TRAINING, &plan), ctx);
    cly_plan_info info;
    OK(cly_plan_info_get(plan, &info), ctx);
    ck_assert(info.output.n == 1 && info.output.c == 64 && info.output.h == 112 && info.output.w == 112);
    int64_t xn = count_of(xs), yn = count_of(info.output);
    rng = 3;
    double *x = fill(xn, 0), *ones = malloc(sizeof *ones * (size_t)yn);
    for (int64_t i = 0; i < yn; i++)
        ones[i] = 1;
    cly_tensor *tx = tensor(ctx, xs, x), *ty = tensor(ctx, info.output, NULL), *tdy = tensor(ctx, info.output, ones);
    cly_tensor *tdx = tensor(ctx, xs, NULL), *res = vec(ctx, info.reserve_elems, NULL);
    const cly_tensor *in[] = {tx};
    cly_tensor *din[] = {tdx};
    cly_op_tensors t = {.x = in, .x_count = 1, .y = ty, .dy = tdy, .dx = din, .reserve = res};
    OK(cly_plan_forward(plan, &t, 1, 0), ctx);
    OK(cly_plan_backward_data(plan, &t, 1, 0), ctx);
    double *y = read_all(ty), *dx = read_all(tdx);
    int64_t routed = 0;
    for (int64_t c = 0; c < 64; c++)
        for (int64_t oy = 0; oy < 112; oy++)
            for (int64_t ox = 0; ox < 112; ox++) {
                int64_t at[4], best = 0;
                for (int k = 0; k < 4; k++) {
                    at[k] = (c * 224 + 2 * oy + k / 2) * 224 + 2 * ox + k % 2;
                    if (x[at[k]] > x[at[best]])
                        best = k;
                }
                ck_assert(y[(c * 112 + oy) * 112 + ox] == (double)(float)x[at[best]]);
                for (int k = 0; k < 4; k++) {
                    ck_assert_msg(dx[at[k]] == (k == best ? 1.0 : 0.0), "window (%lld, %lld, %lld)", (long long)c,
                                  (long long)oy, (long long)ox);
                    routed += dx[at[k]] != 0;
                }
            }
    ck_assert_int_eq(routed, yn);
    cly_tensor *ts[] = {tx, ty, tdy, tdx, res};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
        cly_tensor_destroy(ts[i]);
    free(x), free(ones), free(y), free(dx);
    cly_plan_destroy(plan);
    cly_context_destroy(ctx);
}
END_TEST

/* out = alpha * op + beta * out, on integers (every step exact). */
START_TEST(alpha_beta)
{
    cly_context *ctx = context(CLY_PRECISION_FLOAT32);
    static const conv_case vgg = {"vgg 3x3", {2, 8, 14, 14}, {.filters = 16, .size = {3, 3}, .pad = CLY_PAD(1)}};
    const conv_case *cc = &vgg;
    cly_layer l = {.type = CLY_LAYER_CONV, .name = "c", .p.conv = cc->p};
    cly_shape ys;
    OK(cly_op_output_shape(&l, &cc->x, 1, &ys), NULL);
    int64_t xs = count_of(cc->x), yn = count_of(ys), wn = cc->p.filters * cc->x.c * 9, k = cc->p.filters;
    rng = 99;
    double *x = fill(xs, 2), *w = fill(wn, 2), *b = fill(k, 2), *dy = fill(yn, 2);
    double *old_y = fill(yn, 3), *old_dx = fill(xs, 3), *old_dw = fill(wn, 3), *old_db = fill(k, 3);
    double *y = malloc(sizeof *y * (size_t)yn), *dx = malloc(sizeof *dx * (size_t)xs);
    double *dw = malloc(sizeof *dw * (size_t)wn), *db = malloc(sizeof *db * (size_t)k);
    ref_conv(cc, ys, x, w, b, dy, y, dx, dw, db);
    cly_tensor *tx = tensor(ctx, cc->x, x), *tw = vec(ctx, wn, w), *tb = vec(ctx, k, b), *tdy = tensor(ctx, ys, dy);
    cly_tensor *ty = tensor(ctx, ys, old_y), *tdx = tensor(ctx, cc->x, old_dx), *tdw = vec(ctx, wn, old_dw);
    cly_tensor *tdb = vec(ctx, k, old_db);
    cly_plan *plan;
    OK(cly_plan_create(ctx, &l, &cc->x, 1, CLY_MODE_TRAINING, &plan), ctx);
    cly_plan_info info;
    OK(cly_plan_info_get(plan, &info), ctx);
    ck_assert_int_gt(info.workspace_scaled_elems, info.workspace_elems);
    cly_tensor *ws = vec(ctx, info.workspace_scaled_elems, NULL);
    cly_tensor *const dxs[] = {tdx};
    const cly_tensor *xs_[] = {tx};
    cly_op_tensors t = {.x = xs_, .x_count = 1, .y = ty, .dy = tdy, .dx = dxs, .weights = tw, .bias = tb,
                        .dweights = tdw, .dbias = tdb, .workspace = ws};
    OK(cly_plan_forward(plan, &t, 0.5, 2.0), ctx);
    OK(cly_plan_backward_data(plan, &t, 1.0, 1.0), ctx);    /* accumulate */
    OK(cly_plan_backward_weights(plan, &t, 2.0, -1.0), ctx);
    double *gy = read_all(ty), *gdx = read_all(tdx), *gdw = read_all(tdw), *gdb = read_all(tdb);
    for (int64_t i = 0; i < yn; i++)
        y[i] = 0.5 * y[i] + 2.0 * old_y[i];
    for (int64_t i = 0; i < xs; i++)
        dx[i] += old_dx[i];
    for (int64_t i = 0; i < wn; i++)
        dw[i] = 2.0 * dw[i] - old_dw[i];
    for (int64_t i = 0; i < k; i++)
        db[i] = 2.0 * db[i] - old_db[i];
    ck_assert(mismatches(gy, y, yn, "alpha 0.5 beta 2", "y") == 0);
    ck_assert(mismatches(gdx, dx, xs, "beta 1", "dx") == 0);
    ck_assert(mismatches(gdw, dw, wn, "alpha 2 beta -1", "dw") == 0);
    ck_assert(mismatches(gdb, db, k, "alpha 2 beta -1", "db") == 0);
    /* A too small workspace for a scaled call is refused. */
    cly_tensor *small = vec(ctx, info.workspace_elems > 0 ? info.workspace_elems : 1, NULL);
    t.workspace = small;
    ck_assert_int_eq(cly_plan_forward(plan, &t, 0.5, 1.0), CLY_ERROR_SHAPE_MISMATCH);
    ck_assert_ptr_nonnull(strstr(cly_last_error(ctx), "workspace"));
    /* Without a workspace the plan uses its own. */
    t.workspace = NULL;
    OK(cly_plan_backward_data(plan, &t, 1.0, 1.0), ctx);
    free(gdx);
    gdx = read_all(tdx);
    for (int64_t i = 0; i < xs; i++)
        dx[i] += dx[i] - old_dx[i];
    ck_assert(mismatches(gdx, dx, xs, "beta 1 twice", "dx") == 0);
    cly_tensor *ts[] = {tx, tw, tb, tdy, ty, tdx, tdw, tdb, ws, small};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
        cly_tensor_destroy(ts[i]);
    cly_plan_destroy(plan);
    free(x), free(w), free(b), free(dy), free(old_y), free(old_dx), free(old_dw), free(old_db);
    free(y), free(dx), free(dw), free(db), free(gy), free(gdx), free(gdw), free(gdb);
    cly_context_destroy(ctx);
}
END_TEST

/* ------------------------------------------------ every op */

typedef struct op_case {
    const char *what;
    cly_layer layer;
    size_t inputs;
    cly_shape x[3];
    cly_mode mode;
} op_case;

#define ONE(s) 1, {s}
static const op_case op_cases[] = {
    {"conv", {.type = CLY_LAYER_CONV, .p.conv = {.filters = 4, .size = {3, 2}, .stride = {2, 1}, .pad = {1, 0, 1, 1},
                                                 .dilation = {1, 2}, .groups = 2}},
     ONE(((cly_shape){2, 4, 8, 6})), CLY_MODE_TRAINING},
    {"local", {.type = CLY_LAYER_LOCAL, .p.conv = {.filters = 3, .size = {3, 3}, .stride = {2, 2}, .pad = CLY_PAD(1)}},
     ONE(((cly_shape){2, 2, 5, 5})), CLY_MODE_TRAINING},
    {"pool max", {.type = CLY_LAYER_POOL, .p.pool = {.kind = CLY_POOL_MAX, .size = {3, 3}, .stride = {2, 2},
                                                     .rounding = CLY_ROUND_CEIL}},
     ONE(((cly_shape){2, 3, 8, 8})), CLY_MODE_TRAINING},
    {"pool avg", {.type = CLY_LAYER_POOL, .p.pool = {.kind = CLY_POOL_AVG, .size = {3, 3}, .stride = {2, 2},
                                                     .pad = CLY_PAD(1), .avg_exclude_pad = true}},
     ONE(((cly_shape){2, 3, 7, 7})), CLY_MODE_INFERENCE},
    {"pool l2", {.type = CLY_LAYER_POOL, .p.pool = {.kind = CLY_POOL_L2, .size = {2, 2}, .stride = {2, 2}}},
     ONE(((cly_shape){1, 2, 6, 6})), CLY_MODE_INFERENCE},
    {"adaptive avgpool", {.type = CLY_LAYER_ADAPTIVE_AVGPOOL, .p.adaptive = {.output = {3, 2}}},
     ONE(((cly_shape){2, 2, 7, 5})), CLY_MODE_INFERENCE},
    {"lrn over size", {.type = CLY_LAYER_LRN, .p.lrn = {.size = 5, .alpha = 1e-2, .beta = 0.75, .k = 2}},
     ONE(((cly_shape){2, 7, 3, 3})), CLY_MODE_INFERENCE},
    {"lrn raw", {.type = CLY_LAYER_LRN, .p.lrn = {.size = 4, .alpha = 1e-2, .beta = 0.75, .k = 1,
                                                  .alpha_mode = CLY_LRN_ALPHA_RAW}},
     ONE(((cly_shape){1, 6, 2, 3})), CLY_MODE_INFERENCE},
    {"batchnorm training", {.type = CLY_LAYER_BATCHNORM}, ONE(((cly_shape){3, 4, 3, 3})), CLY_MODE_TRAINING},
    {"batchnorm frozen", {.type = CLY_LAYER_BATCHNORM}, ONE(((cly_shape){2, 4, 3, 3})), CLY_MODE_INFERENCE},
    {"fc", {.type = CLY_LAYER_FC, .p.fc = {.outputs = 5}}, ONE(((cly_shape){3, 2, 3, 2})), CLY_MODE_INFERENCE},
    {"fc relu", {.type = CLY_LAYER_FC, .p.fc = {.outputs = 6, .relu = true}}, ONE(((cly_shape){2, 7, 1, 1})),
     CLY_MODE_INFERENCE},
    {"softmax", {.type = CLY_LAYER_SOFTMAX}, ONE(((cly_shape){2, 5, 2, 2})), CLY_MODE_INFERENCE},
    {"relu", {.type = CLY_LAYER_RELU}, ONE(((cly_shape){2, 3, 4, 4})), CLY_MODE_INFERENCE},
    {"relu bounded", {.type = CLY_LAYER_RELU, .p.relu = {.max = 0.5}}, ONE(((cly_shape){2, 3, 4, 4})),
     CLY_MODE_INFERENCE},
    {"relu leaky", {.type = CLY_LAYER_RELU, .p.relu = {.slope = 0.1}}, ONE(((cly_shape){2, 3, 4, 4})),
     CLY_MODE_INFERENCE},
    {"relu6 leaky", {.type = CLY_LAYER_RELU, .p.relu = {.max = 0.6, .slope = 0.2}}, ONE(((cly_shape){1, 4, 3, 5})),
     CLY_MODE_TRAINING},
    {"dropout training", {.type = CLY_LAYER_DROPOUT, .p.dropout = 0.3}, ONE(((cly_shape){2, 3, 4, 4})),
     CLY_MODE_TRAINING},
    {"dropout inference", {.type = CLY_LAYER_DROPOUT, .p.dropout = 0.3}, ONE(((cly_shape){2, 3, 4, 4})),
     CLY_MODE_INFERENCE},
    {"add", {.type = CLY_LAYER_ADD}, 3, {{2, 3, 4, 4}, {2, 3, 4, 4}, {2, 3, 4, 4}}, CLY_MODE_INFERENCE},
    {"concat", {.type = CLY_LAYER_CONCAT}, 2, {{2, 3, 4, 4}, {2, 2, 4, 4}}, CLY_MODE_INFERENCE},
    {"gap", {.type = CLY_LAYER_GLOBAL_AVGPOOL}, ONE(((cly_shape){2, 3, 5, 4})), CLY_MODE_INFERENCE},
};

/* Everything one op case needs, on one context. */
typedef struct op_run {
    cly_context *ctx;
    const op_case *oc;
    cly_plan *plan;
    cly_plan_info info;
    cly_tensor *x[3], *dx[3], *y, *dy, *params[4], *dparams[2], *reserve;
    double *xv[3], *pv[4], *wy; /* host copies; wy: the weights of L = sum wy * y */
    int64_t xn[3];
} op_run;

static void op_setup(op_run *r, cly_precision precision, const op_case *oc)
{
    memset(r, 0, sizeof *r);
    r->ctx = context(precision);
    r->oc = oc;
    OK(cly_plan_create(r->ctx, &oc->layer, oc->x, oc->inputs, oc->mode, &r->plan), r->ctx);
    OK(cly_plan_info_get(r->plan, &r->info), r->ctx);
    rng = 7;
    for (size_t i = 0; i < oc->inputs; i++) {
        r->xn[i] = count_of(oc->x[i]);
        r->xv[i] = fill(r->xn[i], 0);
        r->x[i] = tensor(r->ctx, oc->x[i], r->xv[i]);
        r->dx[i] = tensor(r->ctx, oc->x[i], NULL);
    }
    for (int k = 0; k < 4; k++) {
        int64_t n = r->info.param_count[k];
        if (!n)
            continue;
        r->pv[k] = fill(n, 0);
        if (oc->layer.type == CLY_LAYER_BATCHNORM && k == CLY_PARAM_VAR)
            for (int64_t i = 0; i < n; i++)
                r->pv[k][i] = 0.5 + fabs(r->pv[k][i]); /* a variance */
        r->params[k] = vec(r->ctx, n, r->pv[k]);
        if (k < 2)
            r->dparams[k] = vec(r->ctx, n, NULL);
    }
    int64_t yn = count_of(r->info.output);
    r->wy = fill(yn, 0);
    r->y = tensor(r->ctx, r->info.output, NULL);
    r->dy = tensor(r->ctx, r->info.output, r->wy);
    if (r->info.reserve_elems)
        r->reserve = vec(r->ctx, r->info.reserve_elems, NULL);
}

static void op_teardown(op_run *r)
{
    for (size_t i = 0; i < 3; i++) {
        cly_tensor_destroy(r->x[i]);
        cly_tensor_destroy(r->dx[i]);
        free(r->xv[i]);
    }
    for (int k = 0; k < 4; k++) {
        cly_tensor_destroy(r->params[k]);
        free(r->pv[k]);
    }
    cly_tensor_destroy(r->dparams[0]);
    cly_tensor_destroy(r->dparams[1]);
    cly_tensor_destroy(r->y);
    cly_tensor_destroy(r->dy);
    cly_tensor_destroy(r->reserve);
    free(r->wy);
    cly_plan_destroy(r->plan);
    cly_context_destroy(r->ctx);
}

static cly_op_tensors op_tensors(op_run *r)
{
    return (cly_op_tensors){
        .x = (const cly_tensor *const *)r->x,
        .x_count = r->oc->inputs,
        .y = r->y,
        .dy = r->dy,
        .dx = r->dx,
        .weights = r->params[0],
        .bias = r->params[1],
        .mean = r->params[2],
        .var = r->params[3],
        .dweights = r->dparams[0],
        .dbias = r->dparams[1],
        .reserve = r->reserve,
        .seed = 1234,
    };
}

/* L = sum wy * forward(x); a training batch norm also moves its running
 * statistics, which L does not read. */
static double loss_at(op_run *r)
{
    cly_op_tensors t = op_tensors(r);
    OK(cly_plan_forward(r->plan, &t, 1, 0), r->ctx);
    double *y = read_all(r->y), sum = 0;
    for (int64_t i = 0; i < count_of(r->info.output); i++)
        sum += r->wy[i] * y[i];
    free(y);
    return sum;
}

/* Central differences on up to 12 coordinates of host array v (mirrored in
 * tensor t) against the analytic gradient g. */
static void fd_check(op_run *r, double *v, cly_tensor *t, int64_t n, const double *g, const char *what)
{
    const double h = 1e-5;
    int64_t step = n > 12 ? n / 12 : 1;
    for (int64_t i = 0; i < n; i += step) {
        double keep = v[i];
        v[i] = keep + h;
        OK(cly_tensor_write_f64(t, v, n), r->ctx);
        double up = loss_at(r);
        v[i] = keep - h;
        OK(cly_tensor_write_f64(t, v, n), r->ctx);
        double down = loss_at(r);
        v[i] = keep;
        OK(cly_tensor_write_f64(t, v, n), r->ctx);
        double fd = (up - down) / (2 * h), err = fabs(fd - g[i]) / fmax(1e-3, fabs(fd) + fabs(g[i]));
        ck_assert_msg(err < 1e-6, "%s: %s[%lld]: analytic %.12g, finite difference %.12g", r->oc->what, what,
                      (long long)i, g[i], fd);
    }
}

START_TEST(op_gradients)
{
    op_run r;
    op_setup(&r, CLY_PRECISION_FLOAT64, &op_cases[_i]);
    cly_op_tensors t = op_tensors(&r);
    OK(cly_plan_forward(r.plan, &t, 1, 0), r.ctx);
    OK(cly_plan_backward(r.plan, &t, 1, 0), r.ctx);
    for (size_t i = 0; i < r.oc->inputs; i++) {
        double *g = read_all(r.dx[i]);
        char what[32];
        snprintf(what, sizeof what, "dx[%zu]", i);
        fd_check(&r, r.xv[i], r.x[i], r.xn[i], g, what);
        free(g);
    }
    for (int k = 0; k < 2; k++)
        if (r.dparams[k]) {
            double *g = read_all(r.dparams[k]);
            fd_check(&r, r.pv[k], r.params[k], r.info.param_count[k], g, k ? "dbias" : "dweights");
            free(g);
        }
    op_teardown(&r);
}
END_TEST

/* The plan's forward gives the bits of the same layer in a net (which the
 * kernel tests check against the naive references). */
START_TEST(op_forward_matches_net)
{
    const op_case *oc = &op_cases[_i];
    op_run r;
    op_setup(&r, CLY_PRECISION_FLOAT32, oc);
    cly_op_tensors t = op_tensors(&r);
    OK(cly_plan_forward(r.plan, &t, 1, 0), r.ctx);
    double *got = read_all(r.y);

    cly_graph *g;
    OK(cly_graph_create(&g), NULL);
    const char *names[] = {"in0", "in1", "in2"};
    for (size_t i = 0; i < oc->inputs; i++)
        OK(cly_graph_input(g, names[i], oc->x[i].c, oc->x[i].h, oc->x[i].w), NULL);
    cly_layer l = oc->layer;
    l.name = "op";
    l.inputs = names;
    l.input_count = oc->inputs;
    OK(cly_graph_add(g, &l), NULL);
    cly_net_options o = {.batch = oc->x[0].n, .mode = CLY_MODE_INFERENCE};
    cly_net *net;
    OK(cly_net_create(r.ctx, g, &o, &net), r.ctx);
    for (int k = 0; k < 4; k++)
        if (r.pv[k])
            OK(cly_net_set_param_f64(net, "op", (cly_param_kind)k, r.pv[k], r.info.param_count[k]), r.ctx);
    for (size_t i = 0; i < oc->inputs; i++)
        OK(cly_net_set_input_f64(net, names[i], r.xv[i], r.xn[i]), r.ctx);
    OK(cly_net_forward(net), r.ctx);
    int64_t yn = count_of(r.info.output);
    double *want = malloc(sizeof *want * (size_t)yn);
    OK(cly_net_get_output_f64(net, "op", want, yn), r.ctx);
    /* Training-form ops (batch statistics, dropout) differ from the net's
     * inference by design: compare the inference-form ones only. */
    if (oc->mode == CLY_MODE_INFERENCE)
        ck_assert_msg(mismatches(got, want, yn, oc->what, "y") == 0, "%s: plan and net differ", oc->what);
    free(got);
    free(want);
    cly_net_destroy(net);
    cly_graph_destroy(g);
    op_teardown(&r);
}
END_TEST

/* ------------------------------------------------ training from primitives */

/* conv -> relu -> max pool -> fc, softmax loss, SGD with momentum: three
 * steps by hand, and the same through cly_net_train_batch. */
START_TEST(training_loop_bit_identical)
{
    cly_context *ctx = context(CLY_PRECISION_FLOAT32);
    const int64_t B = 4, steps = 3;
    const double lr = 0.05, momentum = 0.9;
    cly_shape xs = {B, 2, 10, 10};
    cly_layer conv = {.type = CLY_LAYER_CONV, .name = "c1", .p.conv = {.filters = 4, .size = {3, 3}, .pad = CLY_PAD(1)}};
    cly_layer relu = {.type = CLY_LAYER_RELU, .name = "r1"};
    cly_layer pool = {.type = CLY_LAYER_POOL, .name = "p1", .p.pool = {.size = {2, 2}, .stride = {2, 2}}};
    cly_layer fc = {.type = CLY_LAYER_FC, .name = "f1", .p.fc = {.outputs = 3}};

    cly_graph *g;
    OK(cly_graph_create(&g), NULL);
    OK(cly_graph_input(g, "data", xs.c, xs.h, xs.w), NULL);
    const char *in_c1[] = {"data"}, *in_r1[] = {"c1"}, *in_p1[] = {"r1"}, *in_f1[] = {"p1"};
    cly_layer ls[] = {conv, relu, pool, fc};
    const char **ins[] = {in_c1, in_r1, in_p1, in_f1};
    for (int i = 0; i < 4; i++) {
        ls[i].inputs = ins[i];
        ls[i].input_count = 1;
        OK(cly_graph_add(g, &ls[i]), NULL);
    }
    cly_net_options o = {.batch = B, .mode = CLY_MODE_TRAINING};
    cly_net *net;
    OK(cly_net_create(ctx, g, &o, &net), ctx);
    OK(cly_net_init_params(net, CLY_INIT_HE, 5), ctx);
    cly_train_params tp = {.loss = CLY_LOSS_SOFTMAX_XENT, .learning_rate = lr, .momentum = momentum};
    OK(cly_net_set_training(net, &tp), ctx);

    /* The plans and their tensors, parameters copied from the net. */
    cly_plan *pc, *pr, *pp, *pf;
    cly_shape s1, s2, s3;
    OK(cly_plan_create(ctx, &conv, &xs, 1, CLY_MODE_TRAINING, &pc), ctx);
    cly_plan_info ic, ip, ifc;
    OK(cly_plan_info_get(pc, &ic), ctx);
    s1 = ic.output;
    OK(cly_plan_create(ctx, &relu, &s1, 1, CLY_MODE_TRAINING, &pr), ctx);
    OK(cly_plan_create(ctx, &pool, &s1, 1, CLY_MODE_TRAINING, &pp), ctx);
    OK(cly_plan_info_get(pp, &ip), ctx);
    s2 = ip.output;
    OK(cly_plan_create(ctx, &fc, &s2, 1, CLY_MODE_TRAINING, &pf), ctx);
    OK(cly_plan_info_get(pf, &ifc), ctx);
    s3 = ifc.output;
    const char *owner[] = {"c1", "c1", "f1", "f1"};
    int64_t pn[] = {ic.param_count[0], ic.param_count[1], ifc.param_count[0], ifc.param_count[1]};
    cly_tensor *w[4], *gw[4], *v[4];
    for (int i = 0; i < 4; i++) {
        float *host = malloc(sizeof *host * (size_t)pn[i]);
        OK(cly_net_get_param(net, owner[i], (cly_param_kind)(i % 2), host, pn[i]), ctx);
        OK(cly_tensor_create(ctx, (cly_shape){1, pn[i], 1, 1}, &w[i]), ctx);
        OK(cly_tensor_write(w[i], host, pn[i]), ctx);
        free(host);
        gw[i] = vec(ctx, pn[i], NULL);
        v[i] = vec(ctx, pn[i], NULL);
        OK(cly_tensor_fill(v[i], 0), ctx);
    }
    cly_tensor *x = tensor(ctx, xs, NULL), *y1 = tensor(ctx, s1, NULL), *y2 = tensor(ctx, s1, NULL);
    cly_tensor *y3 = tensor(ctx, s2, NULL), *y4 = tensor(ctx, s3, NULL), *d4 = tensor(ctx, s3, NULL);
    cly_tensor *d3 = tensor(ctx, s2, NULL), *d2 = tensor(ctx, s1, NULL), *d1 = tensor(ctx, s1, NULL);
    cly_tensor *res = vec(ctx, ip.reserve_elems, NULL);
    int64_t xn = count_of(xs);
    float *xh = malloc(sizeof *xh * (size_t)xn);
    int32_t labels[4];
    for (int64_t step = 0; step < steps; step++) {
        for (int64_t i = 0; i < xn; i++)
            xh[i] = (float)uniform();
        for (int64_t i = 0; i < B; i++)
            labels[i] = (int32_t)((step + i) % 3);
        OK(cly_net_set_input(net, "data", xh, xn), ctx);
        double net_loss;
        OK(cly_net_train_batch(net, labels, B, &net_loss), ctx);

        OK(cly_tensor_write(x, xh, xn), ctx);
        const cly_tensor *a0[] = {x}, *a1[] = {y1}, *a2[] = {y2}, *a3[] = {y3};
        cly_tensor *g1[] = {d1}, *g2[] = {d2}, *g3[] = {d3};
        cly_op_tensors tc = {.x = a0, .x_count = 1, .y = y1, .dy = d1, .weights = w[0], .bias = w[1],
                             .dweights = gw[0], .dbias = gw[1]};
        cly_op_tensors tr = {.x = a1, .x_count = 1, .y = y2, .dy = d2, .dx = g1};
        cly_op_tensors tq = {.x = a2, .x_count = 1, .y = y3, .dy = d3, .dx = g2, .reserve = res};
        cly_op_tensors tf = {.x = a3, .x_count = 1, .y = y4, .dy = d4, .dx = g3, .weights = w[2], .bias = w[3],
                             .dweights = gw[2], .dbias = gw[3]};
        OK(cly_plan_forward(pc, &tc, 1, 0), ctx);
        OK(cly_plan_forward(pr, &tr, 1, 0), ctx);
        OK(cly_plan_forward(pp, &tq, 1, 0), ctx);
        OK(cly_plan_forward(pf, &tf, 1, 0), ctx);
        cly_tensor *losses = vec(ctx, B, NULL);
        OK(cly_op_loss(ctx, CLY_LOSS_SOFTMAX_XENT, 0, y4, labels, B, losses, d4, 1, 0), ctx);
        OK(cly_plan_backward(pf, &tf, 1, 0), ctx);
        OK(cly_plan_backward_data(pp, &tq, 1, 0), ctx);
        OK(cly_plan_backward_data(pr, &tr, 1, 0), ctx);
        OK(cly_plan_backward_weights(pc, &tc, 1, 0), ctx);
        for (int i = 0; i < 4; i++)
            OK(cly_op_sgd_step(ctx, w[i], gw[i], v[i], lr, momentum, false, 0), ctx);
        double *lh = read_all(losses), mean = 0;
        for (int64_t i = 0; i < B; i++)
            mean += lh[i] / (double)B;
        ck_assert_msg(fabs(mean - net_loss) <= 1e-6 * fabs(net_loss), "step %lld: loss %.9g by hand, %.9g in the net",
                      (long long)step, mean, net_loss);
        free(lh);
        cly_tensor_destroy(losses);
    }
    for (int i = 0; i < 4; i++) {
        float *a = malloc(sizeof *a * (size_t)pn[i]), *b = malloc(sizeof *b * (size_t)pn[i]);
        OK(cly_net_get_param(net, owner[i], (cly_param_kind)(i % 2), a, pn[i]), ctx);
        OK(cly_tensor_read(w[i], b, pn[i]), ctx);
        ck_assert_msg(memcmp(a, b, sizeof *a * (size_t)pn[i]) == 0, "%s %s: parameters differ from the net's after %lld steps",
                      owner[i], i % 2 ? "bias" : "weights", (long long)steps);
        free(a);
        free(b);
        cly_tensor_destroy(w[i]);
        cly_tensor_destroy(gw[i]);
        cly_tensor_destroy(v[i]);
    }
    cly_tensor *ts[] = {x, y1, y2, y3, y4, d4, d3, d2, d1, res};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
        cly_tensor_destroy(ts[i]);
    free(xh);
    cly_plan_destroy(pc);
    cly_plan_destroy(pr);
    cly_plan_destroy(pp);
    cly_plan_destroy(pf);
    cly_net_destroy(net);
    cly_graph_destroy(g);
    cly_context_destroy(ctx);
}
END_TEST

/* ------------------------------------------------ errors */

static void expect(cly_status got, cly_status want, const cly_context *ctx, const char *const *words)
{
    ck_assert_msg(got == want, "status %s, wanted %s (%s)", cly_status_string(got), cly_status_string(want),
                  cly_last_error(ctx));
    for (size_t i = 0; words[i]; i++)
        ck_assert_msg(strstr(cly_last_error(ctx), words[i]), "message '%s' lacks '%s'", cly_last_error(ctx), words[i]);
}
#define EXPECT(call, status, ctx, ...) expect((call), (status), (ctx), (const char *const[]){__VA_ARGS__, NULL})

START_TEST(errors)
{
    cly_context *ctx = context(CLY_PRECISION_FLOAT32), *other = context(CLY_PRECISION_FLOAT32);
    cly_shape xs = {2, 3, 8, 8};
    cly_layer conv = {.type = CLY_LAYER_CONV, .name = "conv7", .p.conv = {.filters = 4, .size = {3, 3}}};
    cly_plan *plan;
    /* Creation: the op's own checks, with the arithmetic. */
    cly_layer bad = conv;
    bad.p.conv.stride = (cly_hw){4, 4};
    EXPECT(cly_plan_create(ctx, &bad, &xs, 1, CLY_MODE_INFERENCE, &plan), CLY_ERROR_INVALID_ARGUMENT, ctx, "conv7",
           "8 - 3");
    cly_shape two[] = {{2, 3, 8, 8}, {3, 3, 8, 8}};
    cly_layer add = {.type = CLY_LAYER_ADD, .name = "sum"};
    EXPECT(cly_plan_create(ctx, &add, two, 2, CLY_MODE_INFERENCE, &plan), CLY_ERROR_SHAPE_MISMATCH, ctx, "sum",
           "batch");
    cly_layer input = {.type = CLY_LAYER_INPUT};
    EXPECT(cly_plan_create(ctx, &input, &xs, 1, CLY_MODE_INFERENCE, &plan), CLY_ERROR_INVALID_ARGUMENT, ctx,
           "no op");
    EXPECT(cly_plan_create(ctx, &conv, &xs, 1, (cly_mode)7, &plan), CLY_ERROR_INVALID_ARGUMENT, ctx, "mode");
    EXPECT(cly_plan_create(ctx, NULL, &xs, 1, CLY_MODE_INFERENCE, &plan), CLY_ERROR_INVALID_ARGUMENT, ctx, "NULL");
    cly_shape os;
    EXPECT(cly_op_output_shape(&bad, &xs, 1, &os), CLY_ERROR_INVALID_ARGUMENT, NULL, "conv7");

    OK(cly_plan_create(ctx, &conv, &xs, 1, CLY_MODE_TRAINING, &plan), ctx);
    cly_shape ys = {2, 4, 6, 6};
    cly_tensor *x = tensor(ctx, xs, NULL), *w = vec(ctx, 4 * 3 * 9, NULL), *b = vec(ctx, 4, NULL);
    cly_tensor *y = tensor(ctx, ys, NULL), *wrong = tensor(ctx, (cly_shape){2, 4, 6, 5}, NULL);
    cly_tensor *foreign = tensor(other, ys, NULL), *dw = vec(ctx, 4 * 3 * 9, NULL);
    OK(cly_tensor_fill(y, 42), ctx);
    const cly_tensor *xa[] = {x};
    cly_op_tensors t = {.x = xa, .x_count = 1, .y = wrong, .weights = w, .bias = b};
    EXPECT(cly_plan_forward(plan, &t, 1, 0), CLY_ERROR_SHAPE_MISMATCH, ctx, "conv7", "2x4x6x5", "2x4x6x6");
    t.y = foreign;
    EXPECT(cly_plan_forward(plan, &t, 1, 0), CLY_ERROR_INVALID_ARGUMENT, ctx, "conv7", "another context");
    t.y = y;
    t.bias = NULL;
    EXPECT(cly_plan_forward(plan, &t, 1, 0), CLY_ERROR_INVALID_ARGUMENT, ctx, "bias", "must be given");
    t.bias = b;
    t.weights = b;
    EXPECT(cly_plan_forward(plan, &t, 1, 0), CLY_ERROR_SHAPE_MISMATCH, ctx, "weights", "4 elements", "108");
    t.weights = w;
    t.x_count = 2;
    EXPECT(cly_plan_forward(plan, &t, 1, 0), CLY_ERROR_SHAPE_MISMATCH, ctx, "2 inputs");
    t.x_count = 1;
    EXPECT(cly_plan_forward(plan, &t, NAN, 0), CLY_ERROR_INVALID_ARGUMENT, ctx, "alpha");
    EXPECT(cly_plan_forward(NULL, &t, 1, 0), CLY_ERROR_INVALID_ARGUMENT, NULL, "plan");
    EXPECT(cly_plan_forward(plan, NULL, 1, 0), CLY_ERROR_INVALID_ARGUMENT, ctx, "NULL");
    /* Backward: dy missing, no dx, an output over an input. */
    cly_op_tensors tb = {.x = xa, .x_count = 1, .weights = w, .dweights = dw};
    EXPECT(cly_plan_backward_weights(plan, &tb, 1, 0), CLY_ERROR_INVALID_ARGUMENT, ctx, "dy");
    tb.dy = y;
    EXPECT(cly_plan_backward_data(plan, &tb, 1, 0), CLY_ERROR_INVALID_ARGUMENT, ctx, "no dx");
    tb.dweights = w;
    EXPECT(cly_plan_backward_weights(plan, &tb, 1, 0), CLY_ERROR_INVALID_ARGUMENT, ctx, "dweights overlaps weights");
    /* Nothing was written by any failed call. */
    double *yv = read_all(y);
    for (int64_t i = 0; i < count_of(ys); i++)
        ck_assert(yv[i] == 42);
    free(yv);
    cly_plan_destroy(plan);

    /* Ops without parameters, max pooling's switches, in-place ranges. */
    cly_layer relu = {.type = CLY_LAYER_RELU, .name = "r9"};
    OK(cly_plan_create(ctx, &relu, &ys, 1, CLY_MODE_INFERENCE, &plan), ctx);
    cly_tensor *dy = tensor(ctx, ys, NULL);
    cly_tensor *const dxa[] = {dy};
    const cly_tensor *ya[] = {y};
    cly_op_tensors tr = {.x = ya, .x_count = 1, .y = y, .dy = dy, .dx = dxa, .dweights = dw};
    EXPECT(cly_plan_backward_weights(plan, &tr, 1, 0), CLY_ERROR_INVALID_ARGUMENT, ctx, "r9", "no parameters");
    OK(cly_plan_forward(plan, &tr, 1, 0), ctx);      /* in place: y over x */
    OK(cly_plan_backward_data(plan, &tr, 1, 0), ctx); /* in place: dx over dy */
    cly_plan_destroy(plan);
    cly_layer pool = {.type = CLY_LAYER_POOL, .name = "p3", .p.pool = {.size = {2, 2}, .stride = {2, 2}}};
    OK(cly_plan_create(ctx, &pool, &ys, 1, CLY_MODE_INFERENCE, &plan), ctx);
    cly_op_tensors tp = {.x = ya, .x_count = 1, .dy = wrong, .dx = dxa};
    EXPECT(cly_plan_backward_data(plan, &tp, 1, 0), CLY_ERROR_INVALID_ARGUMENT, ctx, "p3", "CLY_MODE_TRAINING");
    cly_plan_destroy(plan);
    OK(cly_plan_create(ctx, &pool, &ys, 1, CLY_MODE_TRAINING, &plan), ctx);
    cly_tensor *py = tensor(ctx, (cly_shape){2, 4, 3, 3}, NULL);
    cly_op_tensors tq = {.x = ya, .x_count = 1, .y = py};
    EXPECT(cly_plan_forward(plan, &tq, 1, 0), CLY_ERROR_INVALID_ARGUMENT, ctx, "p3", "reserve");
    cly_plan_destroy(plan);

    cly_tensor *scores = tensor(ctx, (cly_shape){2, 3, 1, 1}, NULL), *losses = vec(ctx, 2, NULL);
    int32_t labels[] = {0, 3};
    EXPECT(cly_op_loss(ctx, CLY_LOSS_SVM, 0, scores, labels, 2, losses, NULL, 1, 0), CLY_ERROR_INVALID_ARGUMENT, ctx,
           "label 3", "sample 1");
    EXPECT(cly_op_loss(ctx, CLY_LOSS_SVM, 0, scores, labels, 3, losses, NULL, 1, 0), CLY_ERROR_SHAPE_MISMATCH, ctx,
           "3 labels");
    EXPECT(cly_op_sgd_step(ctx, w, b, NULL, 0.1, 0, false, 0), CLY_ERROR_SHAPE_MISMATCH, ctx, "4 elements");
    cly_tensor *ts[] = {x, w, b, y, wrong, foreign, dw, dy, py, scores, losses};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
        cly_tensor_destroy(ts[i]);
    cly_context_destroy(other);
    cly_context_destroy(ctx);
}
END_TEST

int main(void)
{
    if (!device_available()) {
        fprintf(stderr, "no OpenCL device: skipped\n");
        return SKIP;
    }
    Suite *s = suite_create("plan");
    TCase *tc = tcase_create("plan");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, conv_exact, 0, (int)(sizeof conv_cases / sizeof conv_cases[0]));
    tcase_add_test(tc, notes_figures);
    tcase_add_test(tc, pool_switches);
    tcase_add_test(tc, relu_variants);
    tcase_add_test(tc, alpha_beta);
    tcase_add_loop_test(tc, op_gradients, 0, (int)(sizeof op_cases / sizeof op_cases[0]));
    tcase_add_loop_test(tc, op_forward_matches_net, 0, (int)(sizeof op_cases / sizeof op_cases[0]));
    tcase_add_test(tc, training_loop_bit_identical);
    tcase_add_test(tc, errors);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
