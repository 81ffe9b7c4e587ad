/* OpenCL interop (clayer_cl.h): clayer on an application's own context,
 * queue and buffers. A convolution into a wrapped buffer at an offset,
 * ordered by events alone; the tensor calls on wrapped offsets; reference
 * counts back where they started after every destroy and every refusal; and
 * each argument check. The OpenCL side is plain OpenCL (interop_util.c). */
#include "interop_util.h"

#include "conv_ref.h"

#include <clblast_c.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* What the output buffer holds outside the tensor: any write there shows. */
#define SENTINEL -777.25f

static float *sentinels(size_t n)
{
    float *p = malloc(n * sizeof *p);
    ck_assert_ptr_nonnull(p);
    for (size_t i = 0; i < n; i++)
        p[i] = SENTINEL;
    return p;
}

/* Elements of host[0, n) outside [off, off + count) still hold SENTINEL. */
static void check_guards(const float *host, size_t n, size_t off, size_t count, const char *what)
{
    for (size_t i = 0; i < n; i++)
        if (i < off || i >= off + count)
            ck_assert_msg(memcmp(&host[i], &(float){SENTINEL}, sizeof(float)) == 0,
                          "%s: element %zu outside [%zu, %zu) is %g", what, i, off, off + count, host[i]);
}

/* A buffer of n floats, every one SENTINEL, written without a command. */
static cl_mem sentinel_buffer(const cly_test_cl *cl, size_t n)
{
    float *s = sentinels(n);
    cl_mem m = cly_test_cl_buffer(cl->context, CL_MEM_READ_WRITE, n * sizeof(float), s);
    free(s);
    return m;
}

static cly_tensor *wrap(cly_context *ctx, cl_mem m, int64_t off, cly_shape s)
{
    cly_tensor *t = NULL;
    cly_status st = cly_cl_tensor_wrap(ctx, m, off, s, &t);
    ck_assert_msg(st == CLY_SUCCESS, "wrap " CLY_SHAPE_FMT " at %lld: %s", CLY_SHAPE_ARGS(s), (long long)off,
                  cly_last_error(ctx));
    return t;
}

static cly_context *interop_context(const cly_test_cl *cl)
{
    cly_context *ctx = NULL;
    cly_status st = cly_cl_context_create(cl->context, cl->device, cl->queue, NULL, &ctx);
    ck_assert_msg(st == CLY_SUCCESS, "cly_cl_context_create: %s", cly_last_error(NULL));
    return ctx;
}

/* The conv layers run on wrapped buffers: input, weights, bias and output
 * each at a non-zero offset. */
typedef struct conv_case {
    cly_shape x, f;
    cly_conv_params p;
    int64_t oh, ow;
} conv_case;

static const conv_case conv_cases[] = {
    {{2, 3, 9, 8}, {4, 3, 3, 3}, {.pad = CLY_PAD(1), .algo = CLY_CONV_DIRECT}, 9, 8},
    {{1, 4, 7, 7}, {6, 2, 3, 3}, {.stride = {2, 2}, .groups = 2, .algo = CLY_CONV_DIRECT}, 3, 3},
    {{2, 3, 9, 8}, {4, 3, 3, 3}, {.pad = CLY_PAD(1), .algo = CLY_CONV_IM2COL}, 9, 8},
    {{2, 8, 5, 6}, {3, 8, 1, 1}, {.algo = CLY_CONV_GEMM1X1}, 5, 6},
};
enum { NCONV = sizeof conv_cases / sizeof conv_cases[0] };

START_TEST(test_conv_wrapped)
{
    const conv_case *cc = &conv_cases[_i];
    cly_shape ys = {cc->x.n, cc->f.n, cc->oh, cc->ow};
    const size_t nx = (size_t)(cc->x.n * cc->x.c * cc->x.h * cc->x.w),
                 nw = (size_t)(cc->f.n * cc->f.c * cc->f.h * cc->f.w), nb = (size_t)cc->f.n,
                 ny = (size_t)(ys.n * ys.c * ys.h * ys.w);
    /* Odd element offsets: no sub-buffer alignment could hold them. */
    const size_t ox = 5, ow = 3, ob = 1, oy = 11, tail = 13;

    cly_test_cl cl;
    cly_test_cl_open(&cl, 0);
    cly_test_refs start = cly_test_refs_of(&cl);
    cl_mem mx = sentinel_buffer(&cl, ox + nx + tail), mw = sentinel_buffer(&cl, ow + nw + tail),
           mb = sentinel_buffer(&cl, ob + nb + tail), my = sentinel_buffer(&cl, oy + ny + tail);
    cl_mem mems[4] = {mx, mw, mb, my};
    cl_uint mem_before[4];
    for (int i = 0; i < 4; i++)
        mem_before[i] = cly_test_refs_mem(mems[i]);
    /* No command has run yet, so pocl holds no references of its own. */
    cly_test_refs before = cly_test_refs_of(&cl);

    cly_context *ctx = interop_context(&cl);
    cly_test_refs held = cly_test_refs_of(&cl);
    ck_assert_uint_eq(held.context, before.context + 1);
    ck_assert_uint_eq(held.queue, before.queue + 1);
    cl_context gc;
    cl_device_id gd;
    cl_command_queue gq;
    ck_assert_int_eq(cly_cl_context_get(ctx, &gc, &gd, &gq), CLY_SUCCESS);
    ck_assert(gc == cl.context && gd == cl.device && gq == cl.queue);

    cly_tensor *tx = wrap(ctx, mx, (int64_t)ox, cc->x), *tw = wrap(ctx, mw, (int64_t)ow, cc->f),
               *tb = wrap(ctx, mb, (int64_t)ob, (cly_shape){1, cc->f.n, 1, 1}), *ty = wrap(ctx, my, (int64_t)oy, ys);
    for (int i = 0; i < 4; i++)
        ck_assert_uint_eq(cly_test_refs_mem(mems[i]), mem_before[i] + 1);
    cl_mem got_mem;
    int64_t got_off;
    ck_assert_int_eq(cly_cl_tensor_mem(ty, &got_mem, &got_off), CLY_SUCCESS);
    ck_assert(got_mem == my && got_off == (int64_t)oy);

    float *x = malloc(nx * sizeof *x), *w = malloc(nw * sizeof *w), *b = malloc(nb * sizeof *b);
    float *want = malloc(ny * sizeof *want), *got = malloc((oy + ny + tail) * sizeof *got);
    ck_assert(x && w && b && want && got);
    uint64_t seed = 77 + (uint64_t)_i;
    cly_test_fill(x, nx, 4, &seed);
    cly_test_fill(w, nw, 3, &seed);
    cly_test_fill(b, nb, 5, &seed);
    /* Non-blocking writes: the in-order queue puts them before the conv. */
    ck_assert_int_eq(clEnqueueWriteBuffer(cl.queue, mx, CL_FALSE, ox * 4, nx * 4, x, 0, NULL, NULL), CL_SUCCESS);
    ck_assert_int_eq(clEnqueueWriteBuffer(cl.queue, mw, CL_FALSE, ow * 4, nw * 4, w, 0, NULL, NULL), CL_SUCCESS);
    ck_assert_int_eq(clEnqueueWriteBuffer(cl.queue, mb, CL_FALSE, ob * 4, nb * 4, b, 0, NULL, NULL), CL_SUCCESS);
    cly_status st = cly_conv2d(ctx, tx, tw, tb, cc->p, ty);
    ck_assert_msg(st == CLY_SUCCESS, "cly_conv2d: %s", cly_last_error(ctx));

    /* The application reads on a queue of its own, after clayer's marker:
     * no clFinish anywhere. */
    cl_event done = NULL;
    ck_assert_int_eq(cly_cl_enqueue_marker(ctx, &done), CLY_SUCCESS);
    ck_assert_ptr_nonnull(done);
    cl_command_queue reader = cly_test_cl_queue(cl.context, cl.device, 0);
    ck_assert_int_eq(clEnqueueReadBuffer(reader, my, CL_TRUE, 0, (oy + ny + tail) * 4, got, 1, &done, NULL),
                     CL_SUCCESS);
    cl_int status = 0;
    ck_assert_int_eq(clGetEventInfo(done, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof status, &status, NULL),
                     CL_SUCCESS);
    ck_assert_int_eq(status, CL_COMPLETE);
    clReleaseEvent(done);
    clReleaseCommandQueue(reader);

    ref_conv_shapes(x, cc->x, w, cc->f, b, cc->p, cc->oh, cc->ow, want);
    for (size_t i = 0; i < ny; i++)
        ck_assert_msg(got[oy + i] == want[i], "%s: output %zu is %g, want %g", cly_conv_algo_string(cc->p.algo), i,
                      got[oy + i], want[i]);
    check_guards(got, oy + ny + tail, oy, ny, "conv output buffer");
    /* clayer's own read honours the offset too. */
    ck_assert_int_eq(cly_tensor_read(ty, got, (int64_t)ny), CLY_SUCCESS);
    ck_assert(memcmp(got, want, ny * sizeof *got) == 0);

    /* Backward through a plan on more wrapped buffers: dy in, dx, dw and
     * db out, each at an odd offset, exact against the reference. */
    const size_t ody = 7, odx = 9, odw = 2, odb = 3;
    cl_mem mdy = sentinel_buffer(&cl, ody + ny + tail), mdx = sentinel_buffer(&cl, odx + nx + tail),
           mdw = sentinel_buffer(&cl, odw + nw + tail), mdb = sentinel_buffer(&cl, odb + nb + tail);
    cl_mem bmems[4] = {mdy, mdx, mdw, mdb};
    cl_uint bmem_before[4];
    for (int i = 0; i < 4; i++)
        bmem_before[i] = cly_test_refs_mem(bmems[i]);
    float *dy = malloc(ny * sizeof *dy);
    ck_assert(dy);
    cly_test_fill(dy, ny, 3, &seed);
    ck_assert_int_eq(clEnqueueWriteBuffer(cl.queue, mdy, CL_FALSE, ody * 4, ny * 4, dy, 0, NULL, NULL), CL_SUCCESS);
    cly_tensor *tdy = wrap(ctx, mdy, (int64_t)ody, ys), *tdx = wrap(ctx, mdx, (int64_t)odx, cc->x),
               *tdw = wrap(ctx, mdw, (int64_t)odw, cc->f), *tdb = wrap(ctx, mdb, (int64_t)odb, (cly_shape){1, cc->f.n, 1, 1});
    cly_layer layer = {.type = CLY_LAYER_CONV, .name = "interop_conv", .p.conv = cc->p};
    layer.p.conv.filters = cc->f.n;
    layer.p.conv.size = (cly_hw){cc->f.h, cc->f.w};
    cly_plan *plan;
    st = cly_plan_create(ctx, &layer, &cc->x, 1, CLY_MODE_TRAINING, &plan);
    ck_assert_msg(st == CLY_SUCCESS, "cly_plan_create: %s", cly_last_error(ctx));
    const cly_tensor *xs[] = {tx};
    cly_tensor *dxs[] = {tdx};
    cly_op_tensors ot = {.x = xs, .x_count = 1, .y = ty, .dy = tdy, .dx = dxs, .weights = tw, .bias = tb,
                         .dweights = tdw, .dbias = tdb};
    st = cly_plan_backward_data(plan, &ot, 1, 0);
    ck_assert_msg(st == CLY_SUCCESS, "backward data: %s", cly_last_error(ctx));
    st = cly_plan_backward_weights(plan, &ot, 1, 0);
    ck_assert_msg(st == CLY_SUCCESS, "backward weights: %s", cly_last_error(ctx));
    ref_geom rg = ref_geom_of_params(cc->x, cc->f, cc->p, cc->oh, cc->ow);
    double *rdx = calloc(nx, sizeof *rdx), *rdw = calloc(nw, sizeof *rdw), *rdb = calloc(nb, sizeof *rdb);
    ck_assert(rdx && rdw && rdb);
    ref_conv_bwd(&rg, false, x, w, dy, rdx, rdw, rdb);
    ck_assert_int_eq(cly_cl_enqueue_marker(ctx, &done), CLY_SUCCESS);
    const struct {
        cl_mem m;
        size_t off, n;
        const double *want;
        const char *what;
    } outs[] = {{mdx, odx, nx, rdx, "dx"}, {mdw, odw, nw, rdw, "dw"}, {mdb, odb, nb, rdb, "db"}};
    for (int k = 0; k < 3; k++) {
        float *host = malloc((outs[k].off + outs[k].n + tail) * sizeof *host);
        ck_assert(host);
        ck_assert_int_eq(clEnqueueReadBuffer(cl.queue, outs[k].m, CL_TRUE, 0, (outs[k].off + outs[k].n + tail) * 4,
                                             host, 1, &done, NULL),
                         CL_SUCCESS);
        for (size_t i = 0; i < outs[k].n; i++)
            ck_assert_msg(host[outs[k].off + i] == (float)outs[k].want[i], "%s %s[%zu]: %g, want %g",
                          cly_conv_algo_string(cc->p.algo), outs[k].what, i, host[outs[k].off + i], outs[k].want[i]);
        check_guards(host, outs[k].off + outs[k].n + tail, outs[k].off, outs[k].n, outs[k].what);
        free(host);
    }
    clReleaseEvent(done);
    cly_plan_destroy(plan);
    cly_tensor_destroy(tdy);
    cly_tensor_destroy(tdx);
    cly_tensor_destroy(tdw);
    cly_tensor_destroy(tdb);
    free(dy);
    free(rdx);
    free(rdw);
    free(rdb);

    cly_tensor_destroy(tx);
    cly_tensor_destroy(tw);
    cly_tensor_destroy(tb);
    cly_tensor_destroy(ty);
    cly_context_destroy(ctx);
    for (int i = 0; i < 4; i++) {
        ck_assert_uint_eq(cly_test_refs_mem_settled(mems[i], mem_before[i]), mem_before[i]);
        ck_assert_uint_eq(cly_test_refs_mem_settled(bmems[i], bmem_before[i]), bmem_before[i]);
    }
    for (int i = 0; i < 4; i++)
        clReleaseMemObject(bmems[i]);
    /* The buffers are still the application's: usable after clayer is gone. */
    ck_assert_int_eq(clEnqueueReadBuffer(cl.queue, my, CL_TRUE, 0, 4, got, 0, NULL, NULL), CL_SUCCESS);
    ck_assert(got[0] == SENTINEL);
    /* pocl keeps each buffer's last command (which holds the queue) until
     * the buffer goes: compare the queue and context once they are gone. */
    for (int i = 0; i < 4; i++)
        clReleaseMemObject(mems[i]);
    /* CLBlast (im2col, gemm1x1, and backward passes that run a GEMM) keeps
     * the programs it builds in a process-wide cache, each holding the
     * cl_context, until this call. */
    ck_assert_int_eq(CLBlastClearCache(), CLBlastSuccess);
    cly_test_refs_check(&cl, start, "after cly_context_destroy and releasing the buffers");
    cly_test_cl_close(&cl);
    free(x);
    free(w);
    free(b);
    free(want);
    free(got);
}
END_TEST

/* Host I/O, fill and copy on two tensors at offsets in one buffer. */
START_TEST(test_tensor_calls_offsets)
{
    cly_test_cl cl;
    cly_test_cl_open(&cl, 0);
    const size_t n = 100, oa = 7, ob = 53, count = 30;
    cl_mem m = sentinel_buffer(&cl, n);
    cly_context *ctx = interop_context(&cl);
    cly_shape s = {1, 2, 3, 5};
    cly_tensor *a = wrap(ctx, m, (int64_t)oa, s), *b = wrap(ctx, m, (int64_t)ob, s);
    float src[30], back[30], host[100];
    double srcd[30], backd[30];
    for (int i = 0; i < 30; i++) {
        src[i] = (float)(i - 11);
        srcd[i] = 0.5 * i;
    }

    ck_assert_int_eq(cly_tensor_write(a, src, 30), CLY_SUCCESS);
    ck_assert_int_eq(cly_tensor_read(a, back, 30), CLY_SUCCESS);
    ck_assert(memcmp(src, back, sizeof src) == 0);
    ck_assert_int_eq(clEnqueueReadBuffer(cl.queue, m, CL_TRUE, 0, sizeof host, host, 0, NULL, NULL), CL_SUCCESS);
    ck_assert(memcmp(&host[oa], src, sizeof src) == 0);
    check_guards(host, n, oa, count, "cly_tensor_write");

    ck_assert_int_eq(cly_tensor_copy(b, a), CLY_SUCCESS);
    ck_assert_int_eq(clEnqueueReadBuffer(cl.queue, m, CL_TRUE, 0, sizeof host, host, 0, NULL, NULL), CL_SUCCESS);
    ck_assert(memcmp(&host[ob], src, sizeof src) == 0);
    ck_assert(host[oa + count] == SENTINEL && host[ob - 1] == SENTINEL && host[ob + count] == SENTINEL);

    ck_assert_int_eq(cly_tensor_fill(a, 2.5f), CLY_SUCCESS);
    ck_assert_int_eq(cly_tensor_write_f64(b, srcd, 30), CLY_SUCCESS);
    ck_assert_int_eq(cly_tensor_read_f64(b, backd, 30), CLY_SUCCESS);
    ck_assert(memcmp(srcd, backd, sizeof srcd) == 0);
    ck_assert_int_eq(clEnqueueReadBuffer(cl.queue, m, CL_TRUE, 0, sizeof host, host, 0, NULL, NULL), CL_SUCCESS);
    for (size_t i = 0; i < count; i++) {
        ck_assert(host[oa + i] == 2.5f);
        ck_assert(host[ob + i] == (float)srcd[i]);
    }
    for (size_t i = 0; i < n; i++)
        if ((i < oa || i >= oa + count) && (i < ob || i >= ob + count))
            ck_assert_msg(host[i] == SENTINEL, "element %zu is %g", i, host[i]);

    /* Overlapping tensors in one buffer do not copy. */
    cly_tensor *c = wrap(ctx, m, (int64_t)(oa + 10), s);
    ck_assert_int_eq(cly_tensor_copy(c, a), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_msg(strstr(cly_last_error(ctx), "overlap"), "%s", cly_last_error(ctx));
    ck_assert_int_eq(cly_tensor_copy(a, c), CLY_ERROR_INVALID_ARGUMENT);
    cly_tensor_destroy(c);

    /* An exact fit at the end is fine. */
    cly_tensor *end = wrap(ctx, m, (int64_t)(n - count), s);
    cly_tensor_destroy(end);
    cly_tensor_destroy(a);
    cly_tensor_destroy(b);
    cly_context_destroy(ctx);
    clReleaseMemObject(m);
    cly_test_cl_close(&cl);
}
END_TEST

/* cly_cl_context_create(...) fails with `want` and `needle` in the message,
 * holding no reference and leaving *out alone. */
static void expect_context_fails(const cly_test_cl *cl, cl_context c, cl_device_id d, cl_command_queue q,
                                 const cly_context_options *o, cly_status want, const char *needle)
{
    cly_test_refs before = cly_test_refs_of(cl);
    cly_context *sentinel = (cly_context *)&sentinel, *ctx = sentinel;
    cly_status st = cly_cl_context_create(c, d, q, o, &ctx);
    ck_assert_msg(st == want, "got %s, want %s (%s)", cly_status_string(st), cly_status_string(want),
                  cly_last_error(NULL));
    ck_assert_msg(ctx == sentinel, "*out changed on failure");
    ck_assert_msg(strstr(cly_last_error(NULL), needle) != NULL, "'%s' not in: %s", needle, cly_last_error(NULL));
    cly_test_refs_check(cl, before, needle);
}

START_TEST(test_context_errors)
{
    cly_test_cl cl;
    cly_test_cl_open(&cl, 0);
    const cly_status INVAL = CLY_ERROR_INVALID_ARGUMENT;
    expect_context_fails(&cl, NULL, cl.device, cl.queue, NULL, INVAL, "cl_context must not be NULL");
    expect_context_fails(&cl, cl.context, NULL, cl.queue, NULL, INVAL, "cl_device_id must not be NULL");
    expect_context_fails(&cl, cl.context, cl.device, NULL, NULL, INVAL, "cl_command_queue must not be NULL");
    ck_assert_int_eq(cly_cl_context_create(cl.context, cl.device, cl.queue, NULL, NULL), INVAL);
    expect_context_fails(&cl, cl.context, cl.device, cl.queue, &(cly_context_options){.selector = "cpu"}, INVAL,
                         "selector must be NULL");
    expect_context_fails(&cl, cl.context, cl.device, cl.queue, &(cly_context_options){.precision = 7}, INVAL,
                         "precision 7");

    /* A queue of another cl_context on the same device. */
    cl_context other = cly_test_cl_context(&cl.device, 1);
    cl_command_queue other_q = cly_test_cl_queue(other, cl.device, 0);
    expect_context_fails(&cl, cl.context, cl.device, other_q, NULL, INVAL, "queue belongs to another cl_context");
    clReleaseCommandQueue(other_q);
    clReleaseContext(other);

    /* Out of order: refused, where the platform makes such a queue at all. */
    cl_int err;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    cl_command_queue ooo = clCreateCommandQueue(cl.context, cl.device, CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE, &err);
#pragma GCC diagnostic pop
    if (err == CL_SUCCESS) {
        expect_context_fails(&cl, cl.context, cl.device, ooo, NULL, CLY_ERROR_UNSUPPORTED, "out of order");
        clReleaseCommandQueue(ooo);
    }

    /* With two devices: a device outside the context, and a queue on the
     * other device of a two-device context. */
    cl_device_id devs[2];
    if (cly_test_cl_devices(&cl, devs, 2) == 2) {
        expect_context_fails(&cl, cl.context, devs[1], cl.queue, NULL, INVAL, "not one of the cl_context's 1");
        cl_context both = cly_test_cl_context(devs, 2);
        cl_command_queue q1 = cly_test_cl_queue(both, devs[1], 0);
        cly_context *sentinel = (cly_context *)&sentinel, *ctx = sentinel;
        cl_uint refs = cly_test_refs_context(both);
        ck_assert_int_eq(cly_cl_context_create(both, devs[0], q1, NULL, &ctx), INVAL);
        ck_assert_msg(strstr(cly_last_error(NULL), "queue is on another device"), "%s", cly_last_error(NULL));
        ck_assert(ctx == sentinel);
        ck_assert_uint_eq(cly_test_refs_context(both), refs);
        clReleaseCommandQueue(q1);
        clReleaseContext(both);
    }
    cly_test_cl_close(&cl);
}
END_TEST

/* cly_cl_tensor_wrap(ctx, m, off, s) fails with `want` and `needle`, leaves
 * m's reference count and *out alone. */
static void expect_wrap_fails(cly_context *ctx, cl_mem m, int64_t off, cly_shape s, cly_status want,
                              const char *needle)
{
    cl_uint refs = m ? cly_test_refs_mem(m) : 0;
    cly_tensor *sentinel = (cly_tensor *)&sentinel, *t = sentinel;
    cly_status st = cly_cl_tensor_wrap(ctx, m, off, s, &t);
    ck_assert_msg(st == want, "got %s, want %s (%s)", cly_status_string(st), cly_status_string(want),
                  cly_last_error(ctx));
    ck_assert_msg(t == sentinel, "*out changed on failure");
    ck_assert_msg(strstr(cly_last_error(ctx), needle) != NULL, "'%s' not in: %s", needle, cly_last_error(ctx));
    if (m)
        ck_assert_uint_eq(cly_test_refs_mem(m), refs);
}

START_TEST(test_wrap_errors)
{
    cly_test_cl cl;
    cly_test_cl_open(&cl, 0);
    cly_context *ctx = interop_context(&cl);
    cl_mem m = sentinel_buffer(&cl, 100);
    const cly_shape s = {1, 2, 5, 5}; /* 50 elements */
    const cly_status INVAL = CLY_ERROR_INVALID_ARGUMENT;
    ck_assert_int_eq(cly_cl_tensor_wrap(NULL, m, 0, s, &(cly_tensor *){NULL}), INVAL);
    ck_assert_int_eq(cly_cl_tensor_wrap(ctx, m, 0, s, NULL), INVAL);
    expect_wrap_fails(ctx, NULL, 0, s, INVAL, "must not be NULL");
    expect_wrap_fails(ctx, m, -1, s, INVAL, "offset -1");
    expect_wrap_fails(ctx, m, 0, (cly_shape){1, 0, 5, 5}, INVAL, "dimension c = 0");
    expect_wrap_fails(ctx, m, 51, s, CLY_ERROR_SHAPE_MISMATCH, "offset 51 + 50 elements");
    ck_assert_msg(strstr(cly_last_error(ctx), "404 bytes") && strstr(cly_last_error(ctx), "400 bytes"), "%s",
                  cly_last_error(ctx));
    expect_wrap_fails(ctx, m, 0, (cly_shape){1, 1, 1, 101}, CLY_ERROR_SHAPE_MISMATCH, "buffer's 400 bytes");
    expect_wrap_fails(ctx, m, INT64_MAX - 10, s, CLY_ERROR_SIZE_OVERFLOW, "overflows");

    cl_context other = cly_test_cl_context(&cl.device, 1);
    cl_mem foreign = cly_test_cl_buffer(other, CL_MEM_READ_WRITE, 400, NULL);
    expect_wrap_fails(ctx, foreign, 0, s, INVAL, "another cl_context");
    clReleaseMemObject(foreign);
    clReleaseContext(other);
    cl_mem ro = cly_test_cl_buffer(cl.context, CL_MEM_READ_ONLY, 400, NULL);
    expect_wrap_fails(ctx, ro, 0, s, INVAL, "CL_MEM_READ_ONLY");
    clReleaseMemObject(ro);
    cl_mem wo = cly_test_cl_buffer(cl.context, CL_MEM_WRITE_ONLY, 400, NULL);
    expect_wrap_fails(ctx, wo, 0, s, INVAL, "CL_MEM_WRITE_ONLY");
    clReleaseMemObject(wo);

    ck_assert_int_eq(cly_cl_tensor_mem(NULL, NULL, NULL), INVAL);
    cly_tensor *t = wrap(ctx, m, 50, s); /* the last 50 elements: fits */
    ck_assert_int_eq(cly_cl_tensor_mem(t, NULL, NULL), CLY_SUCCESS);
    cly_tensor_destroy(t);
    ck_assert_int_eq(cly_cl_context_get(NULL, NULL, NULL, NULL), INVAL);
    ck_assert_int_eq(cly_cl_context_get(ctx, NULL, NULL, NULL), CLY_SUCCESS);
    /* A created tensor reports its own buffer at offset 0. */
    ck_assert_int_eq(cly_tensor_create(ctx, s, &t), CLY_SUCCESS);
    cl_mem tm = NULL;
    int64_t toff = -1;
    ck_assert_int_eq(cly_cl_tensor_mem(t, &tm, &toff), CLY_SUCCESS);
    ck_assert(tm != NULL && tm != m && toff == 0);
    cly_tensor_destroy(t);
    cly_context_destroy(ctx);
    clReleaseMemObject(m);
    cly_test_cl_close(&cl);
}
END_TEST

START_TEST(test_float64)
{
    cly_test_cl cl;
    cly_test_cl_open(&cl, 0);
    cly_context *ctx = NULL;
    cly_status st = cly_cl_context_create(cl.context, cl.device, cl.queue,
                                          &(cly_context_options){.precision = CLY_PRECISION_FLOAT64}, &ctx);
    cly_device_info info;
    cly_device_query(cl.platform, cl.device, &info);
    if (!info.fp64) {
        ck_assert_int_eq(st, CLY_ERROR_UNSUPPORTED);
        ck_assert_msg(strstr(cly_last_error(NULL), "cl_khr_fp64"), "%s", cly_last_error(NULL));
        cly_test_cl_close(&cl);
        return;
    }
    ck_assert_msg(st == CLY_SUCCESS, "%s", cly_last_error(NULL));
    ck_assert_int_eq(cly_context_precision(ctx), CLY_PRECISION_FLOAT64);
    cl_mem m = cly_test_cl_buffer(cl.context, CL_MEM_READ_WRITE, 400, NULL);
    cly_tensor *t = wrap(ctx, m, 0, (cly_shape){1, 1, 1, 50});
    cly_tensor_destroy(t);
    expect_wrap_fails(ctx, m, 1, (cly_shape){1, 1, 1, 50}, CLY_ERROR_SHAPE_MISMATCH, "x 8 bytes = 408 bytes");
    double v[2] = {0.1, 1e300}, back[2];
    t = wrap(ctx, m, 48, (cly_shape){1, 1, 1, 2});
    ck_assert_int_eq(cly_tensor_write_f64(t, v, 2), CLY_SUCCESS);
    ck_assert_int_eq(cly_tensor_read_f64(t, back, 2), CLY_SUCCESS);
    ck_assert(memcmp(v, back, sizeof v) == 0);
    double host[50];
    ck_assert_int_eq(clEnqueueReadBuffer(cl.queue, m, CL_TRUE, 0, sizeof host, host, 0, NULL, NULL), CL_SUCCESS);
    ck_assert(memcmp(&host[48], v, sizeof v) == 0);
    cly_tensor_destroy(t);
    cly_context_destroy(ctx);
    clReleaseMemObject(m);
    cly_test_cl_close(&cl);
}
END_TEST

/* Tensors of another clayer context are refused, and nothing is written. */
START_TEST(test_foreign_tensors)
{
    cly_test_cl cl;
    cly_test_cl_open(&cl, 0);
    cly_context *ctx = interop_context(&cl), *other = interop_context(&cl); /* even on the same objects */
    cl_mem m = sentinel_buffer(&cl, 64);
    cly_tensor *mine = wrap(ctx, m, 0, (cly_shape){1, 1, 4, 4}), *theirs = wrap(other, m, 16, (cly_shape){1, 1, 4, 4});
    cly_tensor *w = wrap(ctx, m, 32, (cly_shape){1, 1, 1, 1}), *out = wrap(ctx, m, 48, (cly_shape){1, 1, 4, 4});
    ck_assert_int_eq(cly_tensor_copy(mine, theirs), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_msg(strstr(cly_last_error(ctx), "different contexts"), "%s", cly_last_error(ctx));
    ck_assert_int_eq(cly_tensor_copy(theirs, mine), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_conv2d(ctx, theirs, w, NULL, (cly_conv_params){0}, out), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_msg(strstr(cly_last_error(ctx), "input tensor belongs to another context"), "%s", cly_last_error(ctx));
    ck_assert_int_eq(cly_conv2d(ctx, mine, w, NULL, (cly_conv_params){0}, theirs), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_msg(strstr(cly_last_error(ctx), "output tensor"), "%s", cly_last_error(ctx));
    ck_assert_int_eq(cly_conv2d(ctx, mine, w, theirs, (cly_conv_params){0}, out), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_msg(strstr(cly_last_error(ctx), "bias tensor"), "%s", cly_last_error(ctx));
    float host[64];
    ck_assert_int_eq(clEnqueueReadBuffer(cl.queue, m, CL_TRUE, 0, sizeof host, host, 0, NULL, NULL), CL_SUCCESS);
    check_guards(host, 64, 0, 0, "after the refusals");
    cly_tensor_destroy(mine);
    cly_tensor_destroy(theirs);
    cly_tensor_destroy(w);
    cly_tensor_destroy(out);
    cly_context_destroy(other);
    cly_context_destroy(ctx);
    clReleaseMemObject(m);
    cly_test_cl_close(&cl);
}
END_TEST

static bool event_complete(cl_event ev)
{
    cl_int status = 0;
    ck_assert_int_eq(clGetEventInfo(ev, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof status, &status, NULL),
                     CL_SUCCESS);
    return status == CL_COMPLETE;
}

/* clayer's later work waits for the application's event. */
START_TEST(test_enqueue_wait)
{
    cly_test_cl cl;
    cly_test_cl_open(&cl, 0);
    cly_context *ctx = interop_context(&cl);
    cl_mem m = sentinel_buffer(&cl, 8);
    cly_tensor *t = wrap(ctx, m, 2, (cly_shape){1, 1, 1, 4});
    cl_int err;
    cl_event gate = clCreateUserEvent(cl.context, &err);
    ck_assert_int_eq(err, CL_SUCCESS);
    ck_assert_int_eq(cly_cl_enqueue_wait(ctx, 1, &gate), CLY_SUCCESS);
    ck_assert_int_eq(cly_tensor_fill(t, 3.0f), CLY_SUCCESS);
    cl_event done;
    ck_assert_int_eq(cly_cl_enqueue_marker(ctx, &done), CLY_SUCCESS);
    clFlush(cl.queue);
    nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
    ck_assert_msg(!event_complete(done), "clayer's fill ran before the event it waits for");
    ck_assert_int_eq(clSetUserEventStatus(gate, CL_COMPLETE), CL_SUCCESS);
    ck_assert_int_eq(clWaitForEvents(1, &done), CL_SUCCESS);
    float host[8];
    ck_assert_int_eq(clEnqueueReadBuffer(cl.queue, m, CL_TRUE, 0, sizeof host, host, 0, NULL, NULL), CL_SUCCESS);
    check_guards(host, 8, 2, 4, "fill after the wait");
    ck_assert(host[2] == 3.0f && host[5] == 3.0f);
    clReleaseEvent(done);

    /* Refusals. */
    ck_assert_int_eq(cly_cl_enqueue_wait(ctx, 0, NULL), CLY_SUCCESS);
    ck_assert_int_eq(cly_cl_enqueue_wait(NULL, 1, &gate), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_cl_enqueue_wait(ctx, 1, NULL), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_msg(strstr(cly_last_error(ctx), "events is NULL"), "%s", cly_last_error(ctx));
    cl_event with_null[2] = {gate, NULL};
    ck_assert_int_eq(cly_cl_enqueue_wait(ctx, 2, with_null), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_msg(strstr(cly_last_error(ctx), "events[1] is NULL"), "%s", cly_last_error(ctx));
    cl_context other = cly_test_cl_context(&cl.device, 1);
    cl_event foreign = clCreateUserEvent(other, &err);
    ck_assert_int_eq(err, CL_SUCCESS);
    ck_assert_int_eq(cly_cl_enqueue_wait(ctx, 1, &foreign), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_msg(strstr(cly_last_error(ctx), "events[0] belongs to another cl_context"), "%s", cly_last_error(ctx));
    clSetUserEventStatus(foreign, CL_COMPLETE);
    clReleaseEvent(foreign);
    clReleaseContext(other);
    ck_assert_int_eq(cly_cl_enqueue_marker(NULL, &done), CLY_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(cly_cl_enqueue_marker(ctx, NULL), CLY_ERROR_INVALID_ARGUMENT);

    clReleaseEvent(gate);
    cly_tensor_destroy(t);
    cly_context_destroy(ctx);
    clReleaseMemObject(m);
    cly_test_cl_close(&cl);
}
END_TEST

/* A queue without profiling works but cannot time layers; with it, can. */
START_TEST(test_profiling_queue)
{
    for (int profiled = 0; profiled < 2; profiled++) {
        cly_test_cl cl;
        cly_test_cl_open(&cl, profiled ? CL_QUEUE_PROFILING_ENABLE : 0);
        cly_context *ctx = interop_context(&cl);
        cly_graph *g = NULL;
        ck_assert_int_eq(cly_graph_builtin("lenet", &g), CLY_SUCCESS);
        cly_net *net = NULL;
        cly_status st = cly_net_create(ctx, g, &(cly_net_options){.batch = 1}, &net);
        ck_assert_msg(st == CLY_SUCCESS, "%s", cly_last_error(ctx));
        st = cly_net_set_profiling(net, true);
        if (profiled) {
            ck_assert_msg(st == CLY_SUCCESS, "%s", cly_last_error(ctx));
            ck_assert_int_eq(cly_net_forward(net), CLY_SUCCESS);
            cly_pass_timing pt;
            ck_assert_msg(cly_net_pass_timing(net, &pt) == CLY_SUCCESS, "%s", cly_last_error(ctx));
        } else {
            ck_assert_int_eq(st, CLY_ERROR_UNSUPPORTED);
            ck_assert_msg(strstr(cly_last_error(ctx), "CL_QUEUE_PROFILING_ENABLE"), "%s", cly_last_error(ctx));
            ck_assert_int_eq(cly_net_forward(net), CLY_SUCCESS); /* the net itself runs */
        }
        cly_net_destroy(net);
        cly_graph_destroy(g);
        cly_context_destroy(ctx);
        cly_test_cl_close(&cl);
    }
}
END_TEST

/* The device info matches the listing's. */
START_TEST(test_device_info)
{
    cly_test_cl cl;
    cly_test_cl_open(&cl, 0);
    cly_context *ctx = interop_context(&cl);
    const cly_device_info *d = cly_context_device(ctx);
    cly_device_info *list = NULL;
    size_t n = 0;
    ck_assert_int_eq(cly_devices_list(&list, &n), CLY_SUCCESS);
    bool found = false;
    for (size_t i = 0; i < n && !found; i++)
        found = list[i].platform_index == d->platform_index && list[i].device_index == d->device_index &&
                strcmp(list[i].name, d->name) == 0 && list[i].max_alloc_bytes == d->max_alloc_bytes;
    ck_assert_msg(found, "device %u:%u '%s' is not in the listing", d->platform_index, d->device_index, d->name);
    ck_assert_uint_eq(d->device_index, 0);
    cly_devices_free(list);
    cly_context_destroy(ctx);
    cly_test_cl_close(&cl);
}
END_TEST

/* A sub-device is retained and released once, and reported as its root. */
START_TEST(test_sub_device)
{
    cly_test_cl cl;
    cly_test_cl_open(&cl, 0);
    cl_uint units = 0;
    ck_assert_int_eq(clGetDeviceInfo(cl.device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof units, &units, NULL),
                     CL_SUCCESS);
    /* One compute unit each: as many sub-devices as units (keep the first). */
    cl_device_partition_property props[] = {CL_DEVICE_PARTITION_EQUALLY, 1, 0};
    cl_device_id subs[64];
    cl_uint made = 0;
    if (units < 2 || units > 64 || clCreateSubDevices(cl.device, props, units, subs, &made) != CL_SUCCESS ||
        made == 0) {
        cly_test_cl_close(&cl); /* the platform does not partition this device: nothing to check */
        return;
    }
    for (cl_uint i = 1; i < made; i++)
        clReleaseDevice(subs[i]);
    cl_device_id sub = subs[0];
    cl_context c = cly_test_cl_context(&sub, 1);
    cl_command_queue q = cly_test_cl_queue(c, sub, 0);
    cl_uint refs = cly_test_refs_device(sub);
    cly_context *ctx = NULL;
    ck_assert_msg(cly_cl_context_create(c, sub, q, NULL, &ctx) == CLY_SUCCESS, "%s", cly_last_error(NULL));
    ck_assert_uint_eq(cly_test_refs_device(sub), refs + 1);
    ck_assert_uint_eq(cly_context_device(ctx)->device_index, 0);
    cly_tensor *t = NULL;
    ck_assert_int_eq(cly_tensor_create(ctx, (cly_shape){1, 1, 1, 4}, &t), CLY_SUCCESS);
    ck_assert_int_eq(cly_tensor_fill(t, 1.0f), CLY_SUCCESS);
    cly_tensor_destroy(t);
    cly_context_destroy(ctx);
    ck_assert_uint_eq(cly_test_refs_device(sub), refs);
    clReleaseCommandQueue(q);
    clReleaseContext(c);
    clReleaseDevice(sub);
    cly_test_cl_close(&cl);
}
END_TEST

/* On a context of two devices clayer builds for its own device only, and
 * twice (the second time through the binary cache where the platform
 * reports that device's binary: pocl 3.1 fills only the first entry of
 * CL_PROGRAM_BINARY_SIZES for a program built on the second device, so
 * there clayer declines to cache rather than store the wrong entry). */
START_TEST(test_two_device_context)
{
    cly_test_cl cl;
    cly_test_cl_open(&cl, 0);
    cl_device_id devs[2];
    if (cly_test_cl_devices(&cl, devs, 2) < 2) {
        cly_test_cl_close(&cl);
        return;
    }
    char dir[4096];
    cly_test_mkdtemp(dir, sizeof dir);
    setenv("CLAYER_CACHE_DIR", dir, 1); /* a fresh cache: the first context builds */
    cl_context both = cly_test_cl_context(devs, 2);
    cl_command_queue q = cly_test_cl_queue(both, devs[1], 0);
    for (int round = 0; round < 2; round++) {
        cly_context *ctx = NULL;
        ck_assert_msg(cly_cl_context_create(both, devs[1], q, NULL, &ctx) == CLY_SUCCESS, "%s", cly_last_error(NULL));
        ck_assert_uint_eq(cly_context_device(ctx)->device_index, 1);
        char why[512] = "";
        int64_t bad = cly_test_conv_check(ctx, (cly_shape){1, 2, 6, 6}, (cly_shape){3, 2, 3, 3}, true,
                                          (cly_conv_params){.pad = CLY_PAD(1), .algo = CLY_CONV_DIRECT}, 6, 6, 5, why,
                                          sizeof why);
        ck_assert_msg(bad == 0, "round %d: %lld mismatches: %s", round, (long long)bad, why);
        cly_context_stats st;
        ck_assert_int_eq(cly_context_stats_get(ctx, &st), CLY_SUCCESS);
        ck_assert_uint_eq(st.cache_rejects, 0);
        if (round == 0)
            ck_assert(st.programs_built > 0);
        cly_context_destroy(ctx);
    }
    clReleaseCommandQueue(q);
    clReleaseContext(both);
    cly_test_rmtree(dir);
    cly_test_cl_close(&cl);
}
END_TEST

int main(void)
{
    cly_test_require_device();
    Suite *s = suite_create("interop");
    TCase *tc = tcase_create("interop");
    tcase_set_timeout(tc, CLY_TEST_TIMEOUT);
    tcase_add_loop_test(tc, test_conv_wrapped, 0, NCONV);
    tcase_add_test(tc, test_tensor_calls_offsets);
    tcase_add_test(tc, test_context_errors);
    tcase_add_test(tc, test_wrap_errors);
    tcase_add_test(tc, test_float64);
    tcase_add_test(tc, test_foreign_tensors);
    tcase_add_test(tc, test_enqueue_wait);
    tcase_add_test(tc, test_profiling_queue);
    tcase_add_test(tc, test_device_info);
    tcase_add_test(tc, test_sub_device);
    tcase_add_test(tc, test_two_device_context);
    suite_add_tcase(s, tc);
    return cly_test_run(s, true);
}
