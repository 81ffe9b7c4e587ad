/* Fixed cases of the unit suite: the figures of the notes (mission.md),
 * invalid and unsupported requests with their messages, and the algorithm
 * choice. Every context is created inside a test (check forks). */
#define _DEFAULT_SOURCE
#include "conv_cases.h"
#include "kernels/kernels.h"

#include <stdlib.h>
#include <math.h>
#include <string.h>

static cly_context *open_ctx(void)
{
    cly_context *ctx = NULL;
    cly_status s = cly_context_create(NULL, &ctx);
    ck_assert_msg(s == CLY_SUCCESS, "cly_context_create: %s", cly_last_error(NULL));
    return ctx;
}

static int64_t count(cly_shape s)
{
    return s.n * s.c * s.h * s.w;
}

/* Run cly_conv2d on host arrays; y (count(ys) floats) is written on success.
 * b NULL: no bias. Returns the status of cly_conv2d. */
static cly_status conv_host(cly_context *ctx, cly_shape xs, const float *x, cly_shape ws, const float *w,
                            const float *b, cly_conv_params p, cly_shape ys, float *y)
{
    cly_tensor *tx, *tw, *tb = NULL, *ty;
    ck_assert(cly_tensor_create(ctx, xs, &tx) == CLY_SUCCESS);
    ck_assert(cly_tensor_create(ctx, ws, &tw) == CLY_SUCCESS);
    ck_assert(cly_tensor_create(ctx, ys, &ty) == CLY_SUCCESS);
    ck_assert(cly_tensor_write(tx, x, count(xs)) == CLY_SUCCESS);
    ck_assert(cly_tensor_write(tw, w, count(ws)) == CLY_SUCCESS);
    if (b) {
        ck_assert(cly_tensor_create(ctx, (cly_shape){1, ws.n, 1, 1}, &tb) == CLY_SUCCESS);
        ck_assert(cly_tensor_write(tb, b, ws.n) == CLY_SUCCESS);
    }
    cly_status s = cly_conv2d(ctx, tx, tw, tb, p, ty);
    if (s == CLY_SUCCESS)
        ck_assert(cly_tensor_read(ty, y, count(ys)) == CLY_SUCCESS);
    cly_tensor_destroy(tx);
    cly_tensor_destroy(tw);
    cly_tensor_destroy(tb);
    cly_tensor_destroy(ty);
    return s;
}

static const cly_conv_algo algos[] = {CLY_CONV_DIRECT, CLY_CONV_IM2COL, CLY_CONV_AUTO};
#define NALGOS (sizeof algos / sizeof algos[0])

/* The 1-D figure: W = 5, F = 3, P = 1, weights [1, 0, -1], bias 0. The
 * input values are those of the figure (an image in the notes):
 * 0 | 1 2 -1 1 -3 | 0, giving -2 2 1 2 1 at S = 1 and -2 1 1 at S = 2. */
START_TEST(fig_1d)
{
    cly_context *ctx = open_ctx();
    const float x[5] = {1, 2, -1, 1, -3}, w[3] = {1, 0, -1}, b[1] = {0};
    const float want1[5] = {-2, 2, 1, 2, 1}, want2[3] = {-2, 1, 1};
    for (size_t a = 0; a < NALGOS; a++)
        for (int s = 1; s <= 2; s++) {
            const int64_t ow = s == 1 ? 5 : 3;
            float y[5];
            cly_conv_params p = {.filters = 1, .size = {1, 3}, .stride = {1, s}, .pad = {0, 0, 1, 1}, .algo = algos[a]};
            cly_status st = conv_host(ctx, (cly_shape){1, 1, 1, 5}, x, (cly_shape){1, 1, 1, 3}, w, b, p,
                                      (cly_shape){1, 1, 1, ow}, y);
            ck_assert_msg(st == CLY_SUCCESS, "%s", cly_last_error(ctx));
            for (int64_t i = 0; i < ow; i++)
                ck_assert_float_eq(y[i], s == 1 ? want1[i] : want2[i]);
        }
    /* S = 3 does not fit: (5 - 3 + 2)/3 + 1 is not an integer. */
    float y[2];
    cly_conv_params p = {.filters = 1, .size = {1, 3}, .stride = {1, 3}, .pad = {0, 0, 1, 1}};
    cly_status st = conv_host(ctx, (cly_shape){1, 1, 1, 5}, x, (cly_shape){1, 1, 1, 3}, w, b, p,
                              (cly_shape){1, 1, 1, 2}, y);
    ck_assert_int_eq(st, CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_str_eq(cly_last_error(ctx), "cly_conv2d: (W - F + 2P)/S + 1 = (5 - 3 + 2*1)/3 + 1 = 2.333333... is not an integer");
    cly_context_destroy(ctx);
}
END_TEST

/* Dilation with a gap of one: w[0]x[0] + w[1]x[2] + w[2]x[4]. */
START_TEST(fig_dilation)
{
    cly_context *ctx = open_ctx();
    const float x[5] = {1, 2, 3, 4, 5}, w[3] = {1, 10, 100};
    for (size_t a = 0; a < NALGOS; a++) {
        float y[1];
        cly_conv_params p = {.filters = 1, .size = {1, 3}, .dilation = {1, 2}, .algo = algos[a]};
        cly_status st = conv_host(ctx, (cly_shape){1, 1, 1, 5}, x, (cly_shape){1, 1, 1, 3}, w, NULL, p,
                                  (cly_shape){1, 1, 1, 1}, y);
        ck_assert_msg(st == CLY_SUCCESS, "%s", cly_last_error(ctx));
        ck_assert_float_eq(y[0], 1 * 1 + 3 * 10 + 5 * 100);
    }
    cly_context_destroy(ctx);
}
END_TEST

/* The numpy example: X of 11x11x4 indexed X[x, y, d], two 5x5x4 filters at
 * S = 2, P = 0: V[x, y, k] = np.sum(X[2x:2x+5, 2y:2y+5, :] * Wk) + bk,
 * e.g. V[1,0,0] = np.sum(X[2:7,:5,:] * W0) + b0 and V[2,3,1] =
 * np.sum(X[4:9,6:11,:] * W1) + b1. Integer values: the sums are exact. */
START_TEST(fig_numpy)
{
    cly_context *ctx = open_ctx();
    float X[11][11][4], Wn[2][5][5][4];
    const float b[2] = {1, -2};
    uint64_t seed = 7;
    for (int i = 0; i < 11 * 11 * 4; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        (&X[0][0][0])[i] = (float)((int)((seed >> 33) % 5) - 2);
    }
    for (int i = 0; i < 2 * 5 * 5 * 4; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        (&Wn[0][0][0][0])[i] = (float)((int)((seed >> 33) % 5) - 2);
    }
    /* NCHW: x[d][y][x] = X[x][y][d]; w[k][d][fy][fx] = Wk[fx][fy][d]. */
    float x[4 * 11 * 11], w[2 * 4 * 5 * 5], y[2 * 4 * 4];
    for (int d = 0; d < 4; d++)
        for (int yy = 0; yy < 11; yy++)
            for (int xx = 0; xx < 11; xx++)
                x[(d * 11 + yy) * 11 + xx] = X[xx][yy][d];
    for (int k = 0; k < 2; k++)
        for (int d = 0; d < 4; d++)
            for (int fy = 0; fy < 5; fy++)
                for (int fx = 0; fx < 5; fx++)
                    w[((k * 4 + d) * 5 + fy) * 5 + fx] = Wn[k][fx][fy][d];
    for (size_t a = 0; a < NALGOS; a++) {
        cly_conv_params p = {.filters = 2, .size = {5, 5}, .stride = {2, 2}, .algo = algos[a]};
        cly_status st = conv_host(ctx, (cly_shape){1, 4, 11, 11}, x, (cly_shape){2, 4, 5, 5}, w, b, p,
                                  (cly_shape){1, 2, 4, 4}, y);
        ck_assert_msg(st == CLY_SUCCESS, "%s", cly_last_error(ctx));
        for (int k = 0; k < 2; k++)
            for (int vy = 0; vy < 4; vy++)
                for (int vx = 0; vx < 4; vx++) {
                    double v = b[k];
                    for (int fx = 0; fx < 5; fx++)
                        for (int fy = 0; fy < 5; fy++)
                            for (int d = 0; d < 4; d++)
                                v += (double)X[2 * vx + fx][2 * vy + fy][d] * Wn[k][fx][fy][d];
                    ck_assert_msg(y[(k * 4 + vy) * 4 + vx] == v, "V[%d,%d,%d] = %g, numpy sum %g", vx, vy, k,
                                  (double)y[(k * 4 + vy) * 4 + vx], v);
                }
    }
    cly_context_destroy(ctx);
}
END_TEST

static cly_conv_geom geom_ok(cly_conv_params p, cly_shape in, bool *rounded)
{
    cly_conv_geom g;
    char msg[256];
    ck_assert_msg(cly_conv_geom_make(&p, in, &g, rounded, msg, sizeof msg), "%s", msg);
    return g;
}

static void geom_bad(cly_conv_params p, cly_shape in, const char *message)
{
    cly_conv_geom g;
    char msg[256];
    ck_assert(!cly_conv_geom_make(&p, in, &g, NULL, msg, sizeof msg));
    ck_assert_msg(strstr(msg, message), "message '%s' lacks '%s'", msg, message);
}

/* AlexNet conv1, the demo volume, FC as CONV, im2col sizes. */
START_TEST(fig_sizes)
{
    cly_context *ctx = open_ctx();
    bool r;
    cly_conv_geom g = geom_ok((cly_conv_params){.filters = 96, .size = {11, 11}, .stride = {4, 4}},
                              (cly_shape){1, 3, 227, 227}, &r);
    ck_assert(g.oh == 55 && g.ow == 55 && g.k == 96 && !r);
    ck_assert_int_eq(g.k * g.c * g.fh * g.fw + g.k, 34944);                          /* with sharing */
    ck_assert_int_eq(g.oh * g.ow * g.k * (g.c * g.fh * g.fw + 1), 105705600);        /* without */
    ck_assert_int_eq(cly_conv_workspace(ctx, CLY_CONV_IM2COL, &g), (int64_t)363 * 3025); /* X_col 363 x 3025 */
    ck_assert_int_eq(cly_conv_workspace(ctx, CLY_CONV_GEMM1X1, &g), 0);
    ck_assert(cly_conv_workspace(ctx, CLY_CONV_DIRECT, &g) >= 3 * 227 * 227);

    g = geom_ok((cly_conv_params){.filters = 2, .size = {3, 3}, .stride = {2, 2}, .pad = CLY_PAD(1)},
                (cly_shape){1, 3, 5, 5}, &r);
    ck_assert(g.oh == 3 && g.ow == 3 && g.k == 2 && !r);
    /* P = (F - 1)/2 keeps the size at S = 1. */
    for (int64_t f = 1; f <= 11; f += 2) {
        g = geom_ok((cly_conv_params){.filters = 4, .size = {f, f}, .pad = CLY_PAD((f - 1) / 2)},
                    (cly_shape){1, 3, 32, 32}, &r);
        ck_assert(g.oh == 32 && g.ow == 32);
    }
    /* FC over 7x7x512 with K = 4096 as CONV F = 7: 1x1x4096; on 12x12x512: 6x6. */
    g = geom_ok((cly_conv_params){.filters = 4096, .size = {7, 7}}, (cly_shape){1, 512, 7, 7}, &r);
    ck_assert(g.oh == 1 && g.ow == 1 && g.k == 4096);
    g = geom_ok((cly_conv_params){.filters = 4096, .size = {7, 7}}, (cly_shape){1, 512, 12, 12}, &r);
    ck_assert(g.oh == 6 && g.ow == 6);
    /* Defaults: stride, dilation, groups 0 mean 1. */
    ck_assert(g.sh == 1 && g.sw == 1 && g.dh == 1 && g.dw == 1 && g.groups == 1 && g.bias && !g.relu);
    cly_context_destroy(ctx);
}
END_TEST

START_TEST(fig_rounding)
{
    bool r;
    /* torchvision's stride-2 1x1 shortcut: (56 - 1)/2 + 1 = 28.5. */
    cly_conv_params p = {.filters = 128, .size = {1, 1}, .stride = {2, 2}};
    geom_bad(p, (cly_shape){1, 64, 56, 56}, "(H - F + 2P)/S + 1 = (56 - 1 + 2*0)/2 + 1 = 28.5 is not an integer");
    p.rounding = CLY_ROUND_FLOOR;
    cly_conv_geom g = geom_ok(p, (cly_shape){1, 64, 56, 56}, &r);
    ck_assert(g.oh == 28 && g.ow == 28 && r);
    p.rounding = CLY_ROUND_CEIL; /* a 29th window would start at 56, past the input */
    g = geom_ok(p, (cly_shape){1, 64, 56, 56}, &r);
    ck_assert(g.oh == 28 && r);
    /* Ceil keeps a last window that starts inside: (112 - 3)/2 + 1 = 55.5 -> 56. */
    p = (cly_conv_params){.filters = 8, .size = {3, 3}, .stride = {2, 2}, .rounding = CLY_ROUND_CEIL};
    g = geom_ok(p, (cly_shape){1, 8, 112, 112}, &r);
    ck_assert(g.oh == 56 && r);
    p.rounding = CLY_ROUND_FLOOR;
    ck_assert(geom_ok(p, (cly_shape){1, 8, 112, 112}, &r).oh == 55 && r);
    /* torchvision AlexNet conv1: (224 - 11 + 2*2)/4 + 1 = 55.25 -> 55. */
    p = (cly_conv_params){.filters = 64, .size = {11, 11}, .stride = {4, 4}, .pad = CLY_PAD(2),
                          .rounding = CLY_ROUND_FLOOR};
    ck_assert(geom_ok(p, (cly_shape){1, 3, 224, 224}, &r).oh == 55 && r);
    /* Asymmetric padding and dilation in the formula. */
    p = (cly_conv_params){.filters = 1, .size = {3, 3}, .pad = {0, 1, 2, 0}, .dilation = {2, 3}};
    g = geom_ok(p, (cly_shape){1, 1, 10, 10}, &r);
    ck_assert(g.oh == (10 + 0 + 1 - 2 * 2 - 1) + 1 && g.ow == (10 + 2 + 0 - 3 * 2 - 1) + 1 && !r);
}
END_TEST

/* Every invalid request fails with its status and a message naming the problem. */
START_TEST(errors)
{
    cly_context *ctx = open_ctx();
    float x[4 * 10 * 10] = {0}, w[4 * 4 * 5 * 5] = {0}, b[8] = {0}, y[4 * 10 * 10];
    cly_status s;
    /* The notes' invalid setting: W = 10, F = 3, P = 0, S = 2. */
    cly_conv_params p = {.filters = 1, .size = {1, 3}, .stride = {1, 2}};
    s = conv_host(ctx, (cly_shape){1, 1, 1, 10}, x, (cly_shape){1, 1, 1, 3}, w, NULL, p, (cly_shape){1, 1, 1, 4}, y);
    ck_assert_int_eq(s, CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_str_eq(cly_last_error(ctx), "cly_conv2d: (W - F + 2P)/S + 1 = (10 - 3 + 2*0)/2 + 1 = 4.5 is not an integer");
    p = (cly_conv_params){.size = {3, 3}, .stride = {2, 2}};
    s = conv_host(ctx, (cly_shape){1, 1, 10, 10}, x, (cly_shape){1, 1, 3, 3}, w, NULL, p, (cly_shape){1, 1, 4, 4}, y);
    ck_assert_int_eq(s, CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_str_eq(cly_last_error(ctx), "cly_conv2d: (H - F + 2P)/S + 1 = (10 - 3 + 2*0)/2 + 1 = 4.5 is not an integer");
    /* Filter larger than the padded input. */
    p = (cly_conv_params){.size = {5, 5}, .pad = CLY_PAD(0)};
    s = conv_host(ctx, (cly_shape){1, 1, 3, 3}, x, (cly_shape){1, 1, 5, 5}, w, NULL, p, (cly_shape){1, 1, 1, 1}, y);
    ck_assert_int_eq(s, CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(cly_last_error(ctx), "is larger than the padded input"));
    /* Groups must divide C and K. */
    p = (cly_conv_params){.size = {1, 1}, .groups = 2};
    s = conv_host(ctx, (cly_shape){1, 3, 2, 2}, x, (cly_shape){4, 1, 1, 1}, w, NULL, p, (cly_shape){1, 4, 2, 2}, y);
    ck_assert_int_eq(s, CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(cly_last_error(ctx), "input channels C = 3 are not divisible by groups = 2"));
    s = conv_host(ctx, (cly_shape){1, 4, 2, 2}, x, (cly_shape){3, 2, 1, 1}, w, NULL, p, (cly_shape){1, 3, 2, 2}, y);
    ck_assert_int_eq(s, CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(cly_last_error(ctx), "filters K = 3 are not divisible by groups = 2"));
    /* Negative padding, stride, dilation. */
    p = (cly_conv_params){.size = {1, 1}, .pad = {0, -1, 0, 0}};
    s = conv_host(ctx, (cly_shape){1, 1, 2, 2}, x, (cly_shape){1, 1, 1, 1}, w, NULL, p, (cly_shape){1, 1, 2, 2}, y);
    ck_assert_int_eq(s, CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(cly_last_error(ctx), "each must be >= 0"));
    p = (cly_conv_params){.size = {1, 1}, .stride = {-1, 1}};
    s = conv_host(ctx, (cly_shape){1, 1, 2, 2}, x, (cly_shape){1, 1, 1, 1}, w, NULL, p, (cly_shape){1, 1, 2, 2}, y);
    ck_assert_int_eq(s, CLY_ERROR_INVALID_ARGUMENT);
    p = (cly_conv_params){.size = {1, 1}, .dilation = {1, -2}};
    s = conv_host(ctx, (cly_shape){1, 1, 2, 2}, x, (cly_shape){1, 1, 1, 1}, w, NULL, p, (cly_shape){1, 1, 2, 2}, y);
    ck_assert_int_eq(s, CLY_ERROR_INVALID_ARGUMENT);
    /* An explicit algorithm that cannot run the shape. */
    p = (cly_conv_params){.size = {3, 3}, .pad = CLY_PAD(1), .algo = CLY_CONV_GEMM1X1};
    s = conv_host(ctx, (cly_shape){1, 1, 4, 4}, x, (cly_shape){1, 1, 3, 3}, w, NULL, p, (cly_shape){1, 1, 4, 4}, y);
    ck_assert_int_eq(s, CLY_ERROR_UNSUPPORTED);
    ck_assert_str_eq(cly_last_error(ctx), "cly_conv2d: algorithm gemm1x1 cannot run this convolution: gemm1x1 needs a "
                                          "1x1 filter, stride 1 and no padding; this layer has a 3x3 filter, stride "
                                          "1x1, padding 1/1/1/1 (top/bottom/left/right)");
    p = (cly_conv_params){.size = {1, 1}, .stride = {2, 2}, .algo = CLY_CONV_GEMM1X1};
    s = conv_host(ctx, (cly_shape){1, 1, 5, 5}, x, (cly_shape){1, 1, 1, 1}, w, NULL, p, (cly_shape){1, 1, 3, 3}, y);
    ck_assert_int_eq(s, CLY_ERROR_UNSUPPORTED);
    /* A tiled tile beyond the device's work-group limit (65536 items). */
    setenv("CLAYER_TILED_TILE", "1,1,1,256,256,1", 1);
    p = (cly_conv_params){.size = {3, 3}, .pad = CLY_PAD(1), .algo = CLY_CONV_TILED};
    s = conv_host(ctx, (cly_shape){1, 1, 4, 4}, x, (cly_shape){1, 1, 3, 3}, w, NULL, p, (cly_shape){1, 1, 4, 4}, y);
    unsetenv("CLAYER_TILED_TILE");
    ck_assert_int_eq(s, CLY_ERROR_UNSUPPORTED);
    ck_assert_msg(strstr(cly_last_error(ctx), "tiled: its tile 256x1 x 256x1 (TK 1) needs work-groups of 65536 items"),
                  "%s", cly_last_error(ctx));
    p = (cly_conv_params){.size = {1, 1}, .algo = (cly_conv_algo)99};
    s = conv_host(ctx, (cly_shape){1, 1, 2, 2}, x, (cly_shape){1, 1, 1, 1}, w, NULL, p, (cly_shape){1, 1, 2, 2}, y);
    ck_assert_int_eq(s, CLY_ERROR_INVALID_ARGUMENT);
    /* Shapes that disagree. */
    p = (cly_conv_params){.size = {3, 3}, .pad = CLY_PAD(1)};
    s = conv_host(ctx, (cly_shape){1, 1, 4, 4}, x, (cly_shape){1, 1, 3, 3}, w, NULL, p, (cly_shape){1, 1, 3, 3}, y);
    ck_assert_int_eq(s, CLY_ERROR_SHAPE_MISMATCH);
    ck_assert_ptr_nonnull(strstr(cly_last_error(ctx), "output is 1x1x3x3, expected 1x1x4x4"));
    s = conv_host(ctx, (cly_shape){1, 2, 4, 4}, x, (cly_shape){1, 1, 3, 3}, w, NULL, p, (cly_shape){1, 1, 4, 4}, y);
    ck_assert_int_eq(s, CLY_ERROR_SHAPE_MISMATCH);
    p.filters = 2;
    s = conv_host(ctx, (cly_shape){1, 1, 4, 4}, x, (cly_shape){1, 1, 3, 3}, w, NULL, p, (cly_shape){1, 1, 4, 4}, y);
    ck_assert_int_eq(s, CLY_ERROR_SHAPE_MISMATCH);
    p.filters = 0;
    p.size = (cly_hw){5, 3};
    s = conv_host(ctx, (cly_shape){1, 1, 4, 4}, x, (cly_shape){1, 1, 3, 3}, w, NULL, p, (cly_shape){1, 1, 4, 4}, y);
    ck_assert_int_eq(s, CLY_ERROR_SHAPE_MISMATCH);
    /* A bias of the wrong shape. */
    cly_tensor *tx, *tw, *tb, *ty;
    ck_assert(cly_tensor_create(ctx, (cly_shape){1, 1, 4, 4}, &tx) == CLY_SUCCESS);
    ck_assert(cly_tensor_create(ctx, (cly_shape){2, 1, 3, 3}, &tw) == CLY_SUCCESS);
    ck_assert(cly_tensor_create(ctx, (cly_shape){1, 3, 1, 1}, &tb) == CLY_SUCCESS);
    ck_assert(cly_tensor_create(ctx, (cly_shape){1, 2, 4, 4}, &ty) == CLY_SUCCESS);
    p = (cly_conv_params){.pad = CLY_PAD(1)};
    ck_assert_int_eq(cly_conv2d(ctx, tx, tw, tb, p, ty), CLY_ERROR_SHAPE_MISMATCH);
    ck_assert_int_eq(cly_conv2d(ctx, NULL, tw, tb, p, ty), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_conv2d(NULL, tx, tw, tb, p, ty), CLY_ERROR_INVALID_ARGUMENT);
    cly_tensor_destroy(tx);
    cly_tensor_destroy(tw);
    cly_tensor_destroy(tb);
    cly_tensor_destroy(ty);
    (void)b;
    /* Parameters checked by the geometry alone. */
    geom_bad((cly_conv_params){.filters = 0, .size = {3, 3}}, (cly_shape){1, 1, 4, 4}, "filters (K) = 0");
    geom_bad((cly_conv_params){.filters = 1, .size = {0, 3}}, (cly_shape){1, 1, 4, 4}, "both extents must be >= 1");
    geom_bad((cly_conv_params){.filters = 1, .size = {1, 1}}, (cly_shape){1, 0, 4, 4}, "must be >= 1");
    cly_context_destroy(ctx);
}
END_TEST

START_TEST(choose)
{
    cly_context *ctx = open_ctx();
    bool r;
    const cly_conv_geom g3 = geom_ok((cly_conv_params){.filters = 64, .size = {3, 3}, .pad = CLY_PAD(1)},
                                     (cly_shape){1, 64, 56, 56}, &r);
    const cly_conv_geom g1 = geom_ok((cly_conv_params){.filters = 256, .size = {1, 1}}, (cly_shape){1, 64, 56, 56}, &r);
    unsetenv("CLAYER_CONV_ALGO");
    for (int a = CLY_CONV_DIRECT; a < CLY_CONV_ALGO_COUNT; a++)
        ck_assert_int_eq(cly_conv_choose(ctx, &g1, (cly_conv_algo)a), a); /* an explicit request stands */
    const cly_conv_algo auto3 = cly_conv_choose(ctx, &g3, CLY_CONV_AUTO);
    if (ctx->info.type == CLY_DEVICE_CPU) /* tiled is for GPUs */
        ck_assert(auto3 != CLY_CONV_TILED && cly_conv_choose(ctx, &g1, CLY_CONV_AUTO) != CLY_CONV_TILED);
    ck_assert(auto3 != CLY_CONV_AUTO && auto3 != CLY_CONV_GEMM1X1 && cly_conv_supports(ctx, auto3, &g3));
    ck_assert(cly_conv_supports(ctx, cly_conv_choose(ctx, &g1, CLY_CONV_AUTO), &g1));
    setenv("CLAYER_CONV_ALGO", "im2col", 1);
    ck_assert_int_eq(cly_conv_choose(ctx, &g3, CLY_CONV_AUTO), CLY_CONV_IM2COL);
    ck_assert_int_eq(cly_conv_choose(ctx, &g3, CLY_CONV_DIRECT), CLY_CONV_DIRECT);
    setenv("CLAYER_CONV_ALGO", "GEMM1X1", 1);
    ck_assert_int_eq(cly_conv_choose(ctx, &g1, CLY_CONV_AUTO), CLY_CONV_GEMM1X1);
    ck_assert_int_eq(cly_conv_choose(ctx, &g3, CLY_CONV_AUTO), auto3); /* cannot run 3x3: AUTO decides */
    setenv("CLAYER_CONV_ALGO", "direct", 1);
    ck_assert_int_eq(cly_conv_choose(ctx, &g1, CLY_CONV_AUTO), CLY_CONV_DIRECT);
    setenv("CLAYER_CONV_ALGO", "Tiled", 1);
    ck_assert_int_eq(cly_conv_choose(ctx, &g3, CLY_CONV_AUTO), CLY_CONV_TILED);
    setenv("CLAYER_CONV_ALGO", "no-such", 1);
    ck_assert_int_eq(cly_conv_choose(ctx, &g3, CLY_CONV_AUTO), auto3);
    unsetenv("CLAYER_CONV_ALGO");
    ck_assert(cly_conv_supports(ctx, CLY_CONV_AUTO, &g3));
    ck_assert(!cly_conv_supports(ctx, CLY_CONV_GEMM1X1, &g3));
    ck_assert_str_eq(cly_conv_algo_string(CLY_CONV_GEMM1X1), "gemm1x1");
    ck_assert_str_eq(cly_conv_algo_string((cly_conv_algo)42), "unknown");
    cly_context_destroy(ctx);
}
END_TEST

/* A forced algorithm whose workspace exceeds the device's largest
 * allocation is CLY_ERROR_TOO_LARGE, not UNSUPPORTED; nothing runs. */
START_TEST(workspace_too_large)
{
    cly_context *ctx = open_ctx();
    const uint64_t max_alloc = cly_context_device(ctx)->max_alloc_bytes;
    /* im2col's columns: C*FH*FW rows of OH*OW floats per sample. */
    const int64_t c = 16, f = 11, rows = c * f * f;
    int64_t o = (int64_t)sqrt((double)max_alloc / 4.0 / (double)rows) + 2;
    cly_tensor *x = NULL, *w = NULL, *y = NULL;
    ck_assert_int_eq(cly_tensor_create(ctx, (cly_shape){1, c, o + f - 1, o + f - 1}, &x), CLY_SUCCESS);
    ck_assert_int_eq(cly_tensor_create(ctx, (cly_shape){1, c, f, f}, &w), CLY_SUCCESS);
    ck_assert_int_eq(cly_tensor_create(ctx, (cly_shape){1, 1, o, o}, &y), CLY_SUCCESS);
    cly_conv_params p = {.size = {f, f}, .no_bias = true, .algo = CLY_CONV_IM2COL};
    cly_status s = cly_conv2d(ctx, x, w, NULL, p, y);
    ck_assert_int_eq(s, CLY_ERROR_TOO_LARGE);
    ck_assert_msg(strstr(cly_last_error(ctx), "im2col needs a workspace of") &&
                      strstr(cly_last_error(ctx), "more than the largest allocation"),
                  "message: %s", cly_last_error(ctx));
    cly_tensor_destroy(x);
    cly_tensor_destroy(w);
    cly_tensor_destroy(y);
    cly_context_destroy(ctx);
}
END_TEST

void add_unit_cases(Suite *suite)
{
    TCase *tc = tcase_create("figures");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, fig_1d);
    tcase_add_test(tc, fig_dilation);
    tcase_add_test(tc, fig_numpy);
    tcase_add_test(tc, fig_sizes);
    tcase_add_test(tc, fig_rounding);
    suite_add_tcase(suite, tc);
    tc = tcase_create("errors");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, errors);
    tcase_add_test(tc, choose);
    tcase_add_test(tc, workspace_too_large);
    suite_add_tcase(suite, tc);
}
