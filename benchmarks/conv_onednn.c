/* oneDNN's convolution for conv_bench and conv_backward_bench (conv_onednn.h),
 * through its C API: forward, backward data and backward weights.
 * Timed on the host: oneDNN runs on the calling CPU, so the wall time of an
 * execution waited for is its time (no device queue in between). */
#include "conv_onednn.h"
#include "bench_util.h"

#include <oneapi/dnnl/dnnl.h>
#if DNNL_CPU_THREADING_RUNTIME == DNNL_RUNTIME_OMP
#include <omp.h>
#endif

#include <string.h>

int onednn_set_threads(int threads)
{
#if DNNL_CPU_THREADING_RUNTIME == DNNL_RUNTIME_OMP
    /* oneDNN reads omp_get_max_threads() when it creates and runs primitives. */
    omp_set_num_threads(threads);
    return omp_get_max_threads();
#else
    (void)threads;
    return 0;
#endif
}

void onednn_describe(char *buf, size_t size)
{
    const dnnl_version_t *v = dnnl_version();
    const char *rt = v->cpu_runtime == DNNL_RUNTIME_OMP   ? "OpenMP"
                     : v->cpu_runtime == DNNL_RUNTIME_TBB ? "TBB"
                     : v->cpu_runtime == DNNL_RUNTIME_SEQ ? "sequential"
                                                          : "threadpool";
    snprintf(buf, size, "oneDNN %d.%d.%d (%s threads)", v->major, v->minor, v->patch, rt);
}

/* One reorder between two memories of the same tensor, run to completion. */
static dnnl_status_t reorder(dnnl_engine_t eng, dnnl_stream_t stream, dnnl_memory_t from, dnnl_memory_t to)
{
    const dnnl_memory_desc_t *fmd, *tmd;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t p = NULL;
    dnnl_status_t s;
    if ((s = dnnl_memory_get_memory_desc(from, &fmd)) || (s = dnnl_memory_get_memory_desc(to, &tmd)) ||
        (s = dnnl_reorder_primitive_desc_create(&pd, fmd, eng, tmd, eng, NULL)) ||
        (s = dnnl_primitive_create(&p, pd)))
        goto out;
    const dnnl_exec_arg_t args[] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
    if ((s = dnnl_primitive_execute(p, stream, 2, args)) == dnnl_success)
        s = dnnl_stream_wait(stream);
out:
    if (p)
        dnnl_primitive_destroy(p);
    if (pd)
        dnnl_primitive_desc_destroy(pd);
    return s;
}

/* The memory the convolution uses for one tensor: the user's own when the
 * primitive wants its layout, else a new one (filled by reorder when `fill`). */
static dnnl_status_t conv_memory(dnnl_engine_t eng, dnnl_stream_t stream, const dnnl_memory_desc_t *want,
                                 dnnl_memory_t user, bool fill, dnnl_memory_t *out)
{
    const dnnl_memory_desc_t *have;
    dnnl_status_t s = dnnl_memory_get_memory_desc(user, &have);
    if (s != dnnl_success || dnnl_memory_desc_equal(have, want)) {
        *out = user;
        return s;
    }
    if ((s = dnnl_memory_create(out, want, eng, DNNL_MEMORY_ALLOCATE)) == dnnl_success && fill)
        s = reorder(eng, stream, user, *out);
    return s;
}

#define TRY(call)                                                                                                  \
    do {                                                                                                           \
        dnnl_status_t st_ = (call);                                                                                \
        if (st_ != dnnl_success) {                                                                                 \
            snprintf(r->why, sizeof r->why, "%.150s: oneDNN status %d", #call, (int)st_);                          \
            goto out;                                                                                              \
        }                                                                                                          \
    } while (0)

/* One convolution's tensors (src, weights, dst) and geometry in oneDNN's terms. */
typedef struct conv_mds {
    dnnl_memory_desc_t user[3]; /* clayer's layouts: NCHW, OIHW (GOIHW when grouped) */
    dnnl_memory_desc_t conv[3]; /* what the primitive is asked for: the same, or `any` */
    dnnl_dims_t strides, dilates, pad_l, pad_r;
} conv_mds;

static dnnl_status_t conv_mds_init(const cly_conv_geom *g, onednn_layout layout, conv_mds *m)
{
    const bool grouped = g->groups > 1;
    const dnnl_dims_t src_dims = {g->n, g->c, g->h, g->w}, dst_dims = {g->n, g->k, g->oh, g->ow};
    const dnnl_dims_t w_dims = {g->k, g->c, g->fh, g->fw};
    const dnnl_dims_t gw_dims = {g->groups, g->k / g->groups, g->c / g->groups, g->fh, g->fw};
    m->strides[0] = g->sh, m->strides[1] = g->sw;
    m->dilates[0] = g->dh - 1, m->dilates[1] = g->dw - 1;
    m->pad_l[0] = g->pt, m->pad_l[1] = g->pl;
    m->pad_r[0] = g->pb, m->pad_r[1] = g->pr;
    const int ndims[3] = {4, grouped ? 5 : 4, 4};
    const int64_t *dims[3] = {src_dims, grouped ? gw_dims : w_dims, dst_dims};
    const dnnl_format_tag_t tags[3] = {dnnl_nchw, grouped ? dnnl_goihw : dnnl_oihw, dnnl_nchw};
    dnnl_status_t s = dnnl_success;
    for (int i = 0; i < 3 && s == dnnl_success; i++) {
        s = dnnl_memory_desc_init_by_tag(&m->user[i], ndims[i], dims[i], dnnl_f32, tags[i]);
        m->conv[i] = m->user[i];
        if (s == dnnl_success && layout == ONEDNN_BLOCKED)
            s = dnnl_memory_desc_init_by_tag(&m->conv[i], ndims[i], dims[i], dnnl_f32, dnnl_format_tag_any);
    }
    return s;
}

/* Runs pd on the user buffers `handles` (src, weights, dst in clayer's
 * layouts; q and arg give each one's role in pd) into r: all but tensor
 * `out_index` reordered once, untimed, to the layouts pd chose (as a
 * framework keeps blocked tensors), the median of `runs` executions after
 * a warm-up, then the output reordered back. */
static void time_primitive(dnnl_engine_t eng, dnnl_stream_t stream, const_dnnl_primitive_desc_t pd,
                           const conv_mds *m, void *const handles[3], const dnnl_query_t q[3], const int arg[3],
                           int out_index, int runs, onednn_result *r)
{
    dnnl_primitive_t prim = NULL;
    dnnl_memory_t user[3] = {NULL}, mem[3] = {NULL};
    double *t = malloc((size_t)runs * sizeof *t);
    if (!t) {
        snprintf(r->why, sizeof r->why, "out of host memory");
        return;
    }
    const char *impl = NULL;
    if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) == dnnl_success && impl)
        snprintf(r->impl, sizeof r->impl, "%s", impl);
    for (int i = 0; i < 3; i++) {
        TRY(dnnl_memory_create(&user[i], &m->user[i], eng, handles[i]));
        TRY(conv_memory(eng, stream, dnnl_primitive_desc_query_md(pd, q[i], 0), user[i], i != out_index, &mem[i]));
    }
    TRY(dnnl_primitive_create(&prim, pd));
    const dnnl_exec_arg_t args[] = {{arg[0], mem[0]}, {arg[1], mem[1]}, {arg[2], mem[2]}};
    for (int run = -1; run < runs; run++) { /* run -1: the warm-up (JIT code, first touch) */
        double t0 = bench_now_ms();
        TRY(dnnl_primitive_execute(prim, stream, 3, args));
        TRY(dnnl_stream_wait(stream));
        if (run >= 0)
            t[run] = bench_now_ms() - t0;
    }
    if (mem[out_index] != user[out_index])
        TRY(reorder(eng, stream, mem[out_index], user[out_index]));
    r->ms = bench_median(t, runs);
    r->min_ms = t[0]; /* bench_median sorted t */
out:
    for (int i = 0; i < 3; i++) {
        if (mem[i] && mem[i] != user[i])
            dnnl_memory_destroy(mem[i]);
        if (user[i])
            dnnl_memory_destroy(user[i]);
    }
    if (prim)
        dnnl_primitive_destroy(prim);
    free(t);
}

/* The forward convolution of m (inference), or the backward pass bwd (its
 * desc, initialised from m) with a training forward as oneDNN's hint, timed
 * on the user buffers by time_primitive. */
static onednn_result conv_pass(const dnnl_convolution_desc_t *bwd, const conv_mds *m, void *const handles[3],
                               const dnnl_query_t q[3], const int arg[3], int out_index, int runs)
{
    onednn_result res = {.ms = -1, .min_ms = -1}, *r = &res;
    dnnl_engine_t eng = NULL;
    dnnl_stream_t stream = NULL;
    dnnl_primitive_desc_t fwd_pd = NULL, bwd_pd = NULL;
    dnnl_convolution_desc_t cd;
    TRY(dnnl_dilated_convolution_forward_desc_init(&cd, bwd ? dnnl_forward_training : dnnl_forward_inference,
                                                   dnnl_convolution_direct, &m->conv[0], &m->conv[1], NULL,
                                                   &m->conv[2], m->strides, m->dilates, m->pad_l, m->pad_r));
    TRY(dnnl_engine_create(&eng, dnnl_cpu, 0));
    TRY(dnnl_stream_create(&stream, eng, dnnl_stream_default_flags));
    TRY(dnnl_primitive_desc_create(&fwd_pd, &cd, NULL, eng, NULL));
    if (bwd)
        TRY(dnnl_primitive_desc_create(&bwd_pd, bwd, NULL, eng, fwd_pd));
    time_primitive(eng, stream, bwd ? bwd_pd : fwd_pd, m, handles, q, arg, out_index, runs, r);
out:
    if (bwd_pd)
        dnnl_primitive_desc_destroy(bwd_pd);
    if (fwd_pd)
        dnnl_primitive_desc_destroy(fwd_pd);
    if (stream)
        dnnl_stream_destroy(stream);
    if (eng)
        dnnl_engine_destroy(eng);
    return res;
}

onednn_result onednn_conv(const cly_conv_geom *g, onednn_layout layout, const float *x, const float *w, float *y,
                          int runs)
{
    onednn_result res = {.ms = -1, .min_ms = -1}, *r = &res;
    conv_mds m;
    TRY(conv_mds_init(g, layout, &m));
    void *const handles[3] = {(void *)x, (void *)w, y};
    const dnnl_query_t q[3] = {dnnl_query_src_md, dnnl_query_weights_md, dnnl_query_dst_md};
    const int arg[3] = {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST};
    return conv_pass(NULL, &m, handles, q, arg, 2, runs);
out:
    return res;
}

onednn_result onednn_conv_backward_data(const cly_conv_geom *g, const float *dy, const float *w, float *dx, int runs)
{
    onednn_result res = {.ms = -1, .min_ms = -1}, *r = &res;
    conv_mds m;
    dnnl_convolution_desc_t bd;
    TRY(conv_mds_init(g, ONEDNN_BLOCKED, &m));
    TRY(dnnl_dilated_convolution_backward_data_desc_init(&bd, dnnl_convolution_direct, &m.conv[0], &m.conv[1],
                                                         &m.conv[2], m.strides, m.dilates, m.pad_l, m.pad_r));
    void *const handles[3] = {dx, (void *)w, (void *)dy};
    const dnnl_query_t q[3] = {dnnl_query_diff_src_md, dnnl_query_weights_md, dnnl_query_diff_dst_md};
    const int arg[3] = {DNNL_ARG_DIFF_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DIFF_DST};
    return conv_pass(&bd, &m, handles, q, arg, 0, runs);
out:
    return res;
}

onednn_result onednn_conv_backward_weights(const cly_conv_geom *g, const float *x, const float *dy, float *dw,
                                           int runs)
{
    onednn_result res = {.ms = -1, .min_ms = -1}, *r = &res;
    conv_mds m;
    dnnl_convolution_desc_t bd;
    TRY(conv_mds_init(g, ONEDNN_BLOCKED, &m));
    TRY(dnnl_dilated_convolution_backward_weights_desc_init(&bd, dnnl_convolution_direct, &m.conv[0], &m.conv[1],
                                                            NULL, &m.conv[2], m.strides, m.dilates, m.pad_l,
                                                            m.pad_r));
    void *const handles[3] = {(void *)x, dw, (void *)dy};
    const dnnl_query_t q[3] = {dnnl_query_src_md, dnnl_query_diff_weights_md, dnnl_query_diff_dst_md};
    const int arg[3] = {DNNL_ARG_SRC, DNNL_ARG_DIFF_WEIGHTS, DNNL_ARG_DIFF_DST};
    return conv_pass(&bd, &m, handles, q, arg, 1, runs);
out:
    return res;
}
