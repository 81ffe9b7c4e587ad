/* oneDNN's convolution for conv_bench (conv_onednn.h), through its C API.
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
            snprintf(r.why, sizeof r.why, "%s: oneDNN status %d", #call, (int)st_);                                \
            goto out;                                                                                              \
        }                                                                                                          \
    } while (0)

onednn_result onednn_conv(const cly_conv_geom *g, onednn_layout layout, const float *x, const float *w, float *y,
                          int runs)
{
    onednn_result r = {.ms = -1, .min_ms = -1};
    dnnl_engine_t eng = NULL;
    dnnl_stream_t stream = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t conv = NULL;
    dnnl_memory_t user[3] = {NULL}, mem[3] = {NULL}; /* src, weights, dst */
    double *t = malloc((size_t)runs * sizeof *t);
    if (!t) {
        snprintf(r.why, sizeof r.why, "out of host memory");
        return r;
    }
    /* User tensors in clayer's layouts; weights with a group axis when grouped. */
    const bool grouped = g->groups > 1;
    const dnnl_dims_t src_dims = {g->n, g->c, g->h, g->w}, dst_dims = {g->n, g->k, g->oh, g->ow};
    const dnnl_dims_t w_dims = {g->k, g->c, g->fh, g->fw};
    const dnnl_dims_t gw_dims = {g->groups, g->k / g->groups, g->c / g->groups, g->fh, g->fw};
    const dnnl_dims_t strides = {g->sh, g->sw}, dilates = {g->dh - 1, g->dw - 1};
    const dnnl_dims_t pad_l = {g->pt, g->pl}, pad_r = {g->pb, g->pr};
    dnnl_memory_desc_t user_md[3], conv_md[3];
    const dnnl_format_tag_t any = dnnl_format_tag_any;
    TRY(dnnl_memory_desc_init_by_tag(&user_md[0], 4, src_dims, dnnl_f32, dnnl_nchw));
    TRY(grouped ? dnnl_memory_desc_init_by_tag(&user_md[1], 5, gw_dims, dnnl_f32, dnnl_goihw)
                : dnnl_memory_desc_init_by_tag(&user_md[1], 4, w_dims, dnnl_f32, dnnl_oihw));
    TRY(dnnl_memory_desc_init_by_tag(&user_md[2], 4, dst_dims, dnnl_f32, dnnl_nchw));
    if (layout == ONEDNN_PLAIN) {
        memcpy(conv_md, user_md, sizeof conv_md);
    } else {
        TRY(dnnl_memory_desc_init_by_tag(&conv_md[0], 4, src_dims, dnnl_f32, any));
        TRY(dnnl_memory_desc_init_by_tag(&conv_md[1], grouped ? 5 : 4, grouped ? gw_dims : w_dims, dnnl_f32, any));
        TRY(dnnl_memory_desc_init_by_tag(&conv_md[2], 4, dst_dims, dnnl_f32, any));
    }
    dnnl_convolution_desc_t cd;
    TRY(dnnl_dilated_convolution_forward_desc_init(&cd, dnnl_forward_inference, dnnl_convolution_direct, &conv_md[0],
                                                   &conv_md[1], NULL, &conv_md[2], strides, dilates, pad_l, pad_r));
    TRY(dnnl_engine_create(&eng, dnnl_cpu, 0));
    TRY(dnnl_stream_create(&stream, eng, dnnl_stream_default_flags));
    TRY(dnnl_primitive_desc_create(&pd, &cd, NULL, eng, NULL));
    const char *impl = NULL;
    if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) == dnnl_success && impl)
        snprintf(r.impl, sizeof r.impl, "%s", impl);
    /* The user's buffers, then the layouts the primitive chose: src and
     * weights reordered once, here, as a framework keeps blocked tensors. */
    void *handles[3] = {(void *)x, (void *)w, y};
    const dnnl_query_t q[3] = {dnnl_query_src_md, dnnl_query_weights_md, dnnl_query_dst_md};
    for (int i = 0; i < 3; i++) {
        TRY(dnnl_memory_create(&user[i], &user_md[i], eng, handles[i]));
        TRY(conv_memory(eng, stream, dnnl_primitive_desc_query_md(pd, q[i], 0), user[i], i < 2, &mem[i]));
    }
    TRY(dnnl_primitive_create(&conv, pd));
    const dnnl_exec_arg_t args[] = {{DNNL_ARG_SRC, mem[0]}, {DNNL_ARG_WEIGHTS, mem[1]}, {DNNL_ARG_DST, mem[2]}};
    for (int run = -1; run < runs; run++) { /* run -1: the warm-up (JIT code, first touch) */
        double t0 = bench_now_ms();
        TRY(dnnl_primitive_execute(conv, stream, 3, args));
        TRY(dnnl_stream_wait(stream));
        if (run >= 0)
            t[run] = bench_now_ms() - t0;
    }
    if (mem[2] != user[2])
        TRY(reorder(eng, stream, mem[2], user[2]));
    r.ms = bench_median(t, runs);
    r.min_ms = t[0]; /* bench_median sorted t */
out:
    for (int i = 0; i < 3; i++) {
        if (mem[i] && mem[i] != user[i])
            dnnl_memory_destroy(mem[i]);
        if (user[i])
            dnnl_memory_destroy(user[i]);
    }
    if (conv)
        dnnl_primitive_destroy(conv);
    if (pd)
        dnnl_primitive_desc_destroy(pd);
    if (stream)
        dnnl_stream_destroy(stream);
    if (eng)
        dnnl_engine_destroy(eng);
    free(t);
    return r;
}
