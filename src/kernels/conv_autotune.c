/* cly_tune_conv: the search behind `clayer tune` (docs/tuning.md).
 *
 * For one shape: time the built-in choice (its output is the reference),
 * then every other forward algorithm that supports the shape with its
 * default parameters, then a coordinate descent over the direct kernel's
 * VW, KT, TY and work-group size from the better of the built-in tile and
 * the current best: one parameter at a time over its values, the others
 * held, then the diagonal neighbours in KT x TY, until a pass changes
 * nothing (at most 4 passes) or the budget is spent. Candidates
 * whose register tile cannot fit the vector registers, that compute more
 * outputs or channels than the shape has, or that were timed already are
 * skipped unmeasured. A challenger must beat the best by 3% (the noise of
 * these machines) to replace it, so ties keep the built-in choice; the
 * final winner is timed again against the default in three alternating
 * rounds and kept only if it still wins by that margin (confirm). */
#include "kernels/conv_internal.h"
#include "base/options.h"
#include "runtime/tuning_file.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MARGIN 0.97 /* a challenger needs < 97% of the best's time */
#define SEEN_MAX 256

typedef struct search {
    cly_context *ctx;
    const cly_conv_geom *g;
    cly_tensor *x, *w, *b, *y, *ws;
    float *ref, *out;   /* host copies of the default's output and a candidate's */
    int64_t ny;
    int runs;
    bool allow_inexact;
    double start, budget_s;
    int candidates, rejected;
    cly_tuned_entry seen[SEEN_MAX]; /* timed (ms) or rejected (ms < 0) */
    int nseen;
} search;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static bool spent(const search *s)
{
    return now_s() - s->start > s->budget_s;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static cly_buf buf_of(const cly_tensor *t)
{
    return t ? (cly_buf){t->buffer, t->offset} : (cly_buf){NULL, 0};
}

static cly_status run_once(search *s, cly_conv_algo algo)
{
    return cly_conv_forward(s->ctx, algo, s->g, buf_of(s->x), buf_of(s->w), buf_of(s->b), buf_of(s->y),
                            buf_of(s->ws));
}

/* Device time of one forward between two profiling markers. */
static cly_status timed_once(search *s, cly_conv_algo algo, double *ms)
{
    cl_event e[2] = {NULL, NULL};
    /* An idle queue first: the start marker then completes at once instead
     * of when the runtime gets round to the previous run's end. */
    cl_int err = clFinish(s->ctx->queue);
    if (err == CL_SUCCESS)
        err = clEnqueueMarkerWithWaitList(s->ctx->queue, 0, NULL, &e[0]);
    cly_status st = err == CL_SUCCESS ? run_once(s, algo) : cly_fail_cl(s->ctx, err, "tune: marker");
    if (st == CLY_SUCCESS && (err = clEnqueueMarkerWithWaitList(s->ctx->queue, 0, NULL, &e[1])) != CL_SUCCESS)
        st = cly_fail_cl(s->ctx, err, "tune: marker");
    cl_ulong t0 = 0, t1 = 0;
    if (st == CLY_SUCCESS &&
        ((err = clWaitForEvents(1, &e[1])) != CL_SUCCESS ||
         (err = clGetEventProfilingInfo(e[0], CL_PROFILING_COMMAND_END, sizeof t0, &t0, NULL)) != CL_SUCCESS ||
         (err = clGetEventProfilingInfo(e[1], CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL)) != CL_SUCCESS))
        st = cly_fail_cl(s->ctx, err, "tune: reading the markers' times");
    for (int i = 0; i < 2; i++)
        if (e[i])
            clReleaseEvent(e[i]);
    *ms = (double)(t1 - t0) / 1e6;
    return st;
}

static cly_status ensure_workspace(search *s, int64_t elems)
{
    if (elems <= 0 || (s->ws && s->ws->count >= elems))
        return CLY_SUCCESS;
    cly_tensor_destroy(s->ws);
    s->ws = NULL;
    return cly_tensor_create(s->ctx, (cly_shape){1, 1, 1, elems}, &s->ws);
}

static bool same_output(const search *s)
{
    /* Integer data: exact algorithms agree bit for bit; the tolerance is for
     * inexact ones (Winograd), far below any indexing mistake's error. */
    for (int64_t i = 0; i < s->ny; i++)
        if (!(fabsf(s->out[i] - s->ref[i]) <= 1e-3f * (1.0f + fabsf(s->ref[i]))))
            return false;
    return true;
}

static const cly_tuned_entry *seen_find(const search *s, const cly_tuned_entry *c)
{
    for (int i = 0; i < s->nseen; i++) {
        const cly_tuned_entry *e = &s->seen[i];
        if (e->algo == c->algo && e->vw == c->vw && e->kt == c->kt && e->ty == c->ty && e->wg == c->wg)
            return e;
    }
    return NULL;
}

/* The median of s->runs timed runs of c, already checked (ctx->trial set). */
static cly_status median_ms(search *s, const cly_tuned_entry *c, double *ms)
{
    double t[101];
    const int runs = s->runs < 101 ? s->runs : 101;
    for (int r = 0; r < runs; r++) {
        cly_status st = timed_once(s, c->algo, &t[r]);
        if (st != CLY_SUCCESS)
            return st;
    }
    qsort(t, (size_t)runs, sizeof *t, cmp_double);
    *ms = t[runs / 2];
    return CLY_SUCCESS;
}

/* The winner and the default again, alternating over three rounds: a
 * winner found by a noisy reading must win again, by the margin, in the
 * median of the rounds, or the default stays. Both ran correctly before. */
static cly_status confirm(search *s, cly_tuned_entry *best, cly_tuned_entry *base)
{
    double tb[3], tw[3];
    cly_status st = CLY_SUCCESS;
    for (int r = 0; r < 3 && st == CLY_SUCCESS; r++) {
        cly_tuned_entry *c[2] = {base, best};
        double *out[2] = {&tb[r], &tw[r]};
        for (int i = 0; i < 2 && st == CLY_SUCCESS; i++) {
            s->ctx->trial = c[i];
            if ((st = ensure_workspace(s, cly_conv_workspace(s->ctx, c[i]->algo, s->g))) == CLY_SUCCESS)
                st = median_ms(s, c[i], out[i]);
        }
    }
    s->ctx->trial = NULL;
    if (st != CLY_SUCCESS)
        return st;
    qsort(tb, 3, sizeof *tb, cmp_double);
    qsort(tw, 3, sizeof *tw, cmp_double);
    base->ms = tb[1];
    best->ms = tw[1];
    if (!(best->ms < MARGIN * base->ms)) {
        cly_log(CLY_LOG_DEBUG, "tune: the winner (%.4f ms) does not beat the default (%.4f ms) again; default kept",
                best->ms, base->ms);
        *best = *base;
    }
    return CLY_SUCCESS;
}

/* Time candidate c (c->ms out; < 0: rejected). The first candidate's output
 * becomes the reference. Errors other than the default's are not returned:
 * the candidate is dropped. */
static cly_status measure(search *s, cly_tuned_entry *c, bool reference)
{
    const cly_tuned_entry *old = seen_find(s, c);
    if (old) {
        c->ms = old->ms;
        return CLY_SUCCESS;
    }
    cly_context *ctx = s->ctx;
    ctx->trial = c;
    c->ms = -1;
    char why[512];
    cly_status st = CLY_SUCCESS;
    if (!cly_conv_check_support(ctx, c->algo, s->g, why, sizeof why))
        st = cly_fail(ctx, CLY_ERROR_UNSUPPORTED, "%s", why);
    if (st == CLY_SUCCESS)
        st = ensure_workspace(s, cly_conv_workspace(ctx, c->algo, s->g));
    /* The first run builds the programs and is the correctness check, on
     * an output first overwritten: one that writes nothing must fail. */
    if (st == CLY_SUCCESS)
        st = cly_fill_reals(ctx, s->y->buffer, s->y->offset, s->ny, 0.5, "tune");
    if (st == CLY_SUCCESS && (st = run_once(s, c->algo)) == CLY_SUCCESS)
        st = cly_read_reals(ctx, s->y->buffer, s->y->offset, reference ? s->ref : s->out, sizeof(float), s->ny,
                            "tune");
    bool ok = st == CLY_SUCCESS && (reference || same_output(s)) && (st = median_ms(s, c, &c->ms)) == CLY_SUCCESS;
    if (ok) {
        s->candidates++;
        cly_log(CLY_LOG_DEBUG, "tune: %s,%d,%d,%d,%d %.4f ms", cly_conv_algo_string(c->algo), c->vw, c->kt, c->ty,
                c->wg, c->ms);
    } else {
        if (reference)
            st = st != CLY_SUCCESS ? st : cly_fail(ctx, CLY_ERROR_OUT_OF_HOST_MEMORY, "tune");
        else
            cly_log(CLY_LOG_INFO, "tune: %s,%d,%d,%d,%d dropped: %s", cly_conv_algo_string(c->algo), c->vw, c->kt,
                    c->ty, c->wg, st != CLY_SUCCESS ? cly_last_error(ctx) : "its output differs from the default's");
        s->rejected++;
        c->ms = -1;
    }
    ctx->trial = NULL;
    if (s->nseen < SEEN_MAX)
        s->seen[s->nseen++] = *c;
    return reference ? st : CLY_SUCCESS;
}

/* Whether the direct tile c is worth timing for g (the pruning rules). */
static bool direct_plausible(const cly_context *ctx, const cly_conv_geom *g, const cly_tuned_entry *c)
{
    const int64_t kg = g->k / g->groups;
    if (c->kt > kg && c->kt > 1)
        return false; /* channels beyond the group's compute padding */
    const int64_t m = g->oh * (g->ow + (g->fw - 1) * g->dw / g->sw);
    if ((int64_t)(c->ty - 1) * c->vw >= m)
        return false; /* a whole vector past the plane's outputs */
    if (ctx->info.type == CLY_DEVICE_CPU) {
        /* KT*TY accumulators, TY loaded input vectors and a broadcast
         * weight: 32 vector registers with AVX-512 (16 lanes), 16 with
         * AVX2 and narrower; a tile that spills runs at a fraction. */
        const int regs = c->vw >= 16 ? 32 : 16;
        if (c->kt * c->ty + c->ty + 1 > regs)
            return false;
    } else if (c->kt * c->ty > 64) {
        return false; /* GPU registers per work-item, generously */
    }
    return c->wg >= 1 && (uint64_t)c->wg <= ctx->info.max_work_group_size;
}

/* Another vector width keeps no other tile's KT and TY (a 16-lane tile
 * spills at 8 lanes): it starts from the built-in table's tile for it,
 * fitted to the plane and the group as tile_for fits it. */
static void table_tile(const cly_context *ctx, const cly_conv_geom *g, cly_tuned_entry *c)
{
    const cly_tuning *t = cly_tuning_of(ctx);
    for (size_t i = 0; i < sizeof t->direct / sizeof t->direct[0]; i++)
        if (t->direct[i].vw == c->vw) {
            c->kt = t->direct[i].kt;
            c->ty = t->direct[i].ty;
        }
    const int64_t m = g->oh * (g->ow + (g->fw - 1) * g->dw / g->sw);
    if ((int64_t)c->ty * c->vw > m)
        c->ty = (int)((m + c->vw - 1) / c->vw);
    if (c->kt > g->k / g->groups)
        c->kt = (int)(g->k / g->groups);
}

/* One coordinate-descent step: the values of one parameter. */
typedef struct axis {
    int *field;
    int values[8];
    int count;
} axis;

static cly_status descend(search *s, cly_tuned_entry *best)
{
    cly_context *ctx = s->ctx;
    const int pref = cly_tuning_vector_width(ctx, 1);
    const bool cpu = ctx->info.type == CLY_DEVICE_CPU;
    cly_tuned_entry cur = *best;
    axis axes[4] = {
        {&cur.vw, {pref, pref / 2}, pref > 1 ? 2 : 1},
        {&cur.kt, {2, 3, 4, 5, 6, 7, 8}, 7},
        {&cur.ty, {1, 2, 3, 4, 5, 6}, 6},
        {&cur.wg, {1, 4, 8, 16, 64}, 5},
    };
    if (!cpu) { /* the GPU-shaped widths, groups of whole warps and wavefronts */
        axes[0] = (axis){&cur.vw, {1, 2, 4}, 3};
        axes[3] = (axis){&cur.wg, {32, 64, 128, 256}, 4};
    }
    for (int pass = 0; pass < 4 && !spent(s); pass++) {
        bool changed = false;
        for (int a = 0; a < 4 && !spent(s); a++) {
            const int keep = *axes[a].field;
            int winner = keep;
            for (int v = 0; v < axes[a].count && !spent(s); v++) {
                if (axes[a].values[v] == keep)
                    continue;
                *axes[a].field = axes[a].values[v];
                if (a == 0)
                    table_tile(ctx, s->g, &cur);
                if (!direct_plausible(ctx, s->g, &cur))
                    continue;
                cly_status st = measure(s, &cur, false);
                if (st != CLY_SUCCESS)
                    return st;
                if (cur.ms >= 0 && cur.ms < MARGIN * best->ms) {
                    *best = cur;
                    winner = axes[a].values[v];
                }
            }
            *axes[a].field = winner;
            cur = *best;
            changed |= winner != keep;
        }
        /* Converged along each axis: the four diagonal neighbours in
         * KT x TY (more channels and fewer vectors, ...), which one axis
         * at a time cannot reach past a worse point; any win descends again. */
        static const int dk[4] = {1, -1, 1, -1}, dt[4] = {-1, 1, 1, -1};
        for (int i = 0; i < 4 && !changed && !spent(s); i++) {
            cur = *best;
            cur.kt += dk[i];
            cur.ty += dt[i];
            if (cur.kt < 1 || cur.ty < 1 || !direct_plausible(ctx, s->g, &cur))
                continue;
            cly_status st = measure(s, &cur, false);
            if (st != CLY_SUCCESS)
                return st;
            if (cur.ms >= 0 && cur.ms < MARGIN * best->ms) {
                *best = cur;
                changed = true;
            }
        }
        cur = *best;
        if (!changed)
            break;
    }
    return CLY_SUCCESS;
}

/* conv_tiled's parameters by coordinate descent from `best` (a tuned entry:
 * vw = VW, kt = RM, ty = RN / VW, wg = WN * WM; kernels/conv_tiled.c): the
 * GPU-shaped widths, register tiles of at most 32 accumulators, groups of
 * whole warps and wavefronts. measure() drops what the device cannot run
 * (local memory, group size). */
static cly_status descend_tiled(search *s, cly_tuned_entry *best)
{
    cly_tuned_entry cur = *best;
    axis axes[4] = {
        {&cur.vw, {1, 2, 4}, 3},
        {&cur.kt, {2, 4, 8}, 3},
        {&cur.ty, {1, 2, 4}, 3},
        {&cur.wg, {64, 128, 256}, 3},
    };
    for (int pass = 0; pass < 2 && !spent(s); pass++) {
        bool changed = false;
        for (int a = 0; a < 4 && !spent(s); a++) {
            const int keep = *axes[a].field;
            int winner = keep;
            for (int v = 0; v < axes[a].count && !spent(s); v++) {
                if (axes[a].values[v] == keep)
                    continue;
                *axes[a].field = axes[a].values[v];
                if (cur.kt * cur.ty * cur.vw > 32 || cur.ty * cur.vw > 16 ||
                    (uint64_t)cur.wg > s->ctx->info.max_work_group_size)
                    continue;
                cly_status st = measure(s, &cur, false);
                if (st != CLY_SUCCESS)
                    return st;
                if (cur.ms >= 0 && cur.ms < MARGIN * best->ms) {
                    *best = cur;
                    winner = axes[a].values[v];
                }
            }
            *axes[a].field = winner;
            cur = *best;
            changed |= winner != keep;
        }
        if (!changed)
            break;
    }
    return CLY_SUCCESS;
}

/* Integers in [-2, 2]: float sums of products stay exact. */
static cly_status fill(search *s, cly_tensor *t, uint64_t seed)
{
    if (!t)
        return CLY_SUCCESS;
    float *v = malloc((size_t)t->count * sizeof *v);
    if (!v)
        return cly_fail(s->ctx, CLY_ERROR_OUT_OF_HOST_MEMORY, "tune: %lld values", (long long)t->count);
    for (int64_t i = 0; i < t->count; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        v[i] = (float)((int)(seed >> 33) % 5 - 2);
    }
    cly_status st = cly_tensor_write(t, v, t->count);
    free(v);
    return st;
}

static void entry_text(const cly_context *ctx, const cly_conv_geom *g, const cly_tuned_entry *e, char *text,
                       size_t size)
{
    cly_context *c = (cly_context *)ctx; /* the trial is read, never written through */
    const cly_tuned_entry *saved = c->trial;
    c->trial = e;
    cly_conv_config_text(ctx, e->algo, g, text, size);
    c->trial = saved;
}

static cly_status tune(search *s, cly_tuned_entry *best, cly_tuned_entry *base)
{
    cly_context *ctx = s->ctx;
    const cly_conv_geom *g = s->g;
    /* The default: what AUTO runs without the tuning file. */
    struct cly_tuned_table *file = ctx->tuned;
    ctx->tuned = NULL;
    base->algo = cly_conv_choose(ctx, g, CLY_CONV_AUTO);
    size_t wg;
    const cly_direct_tile d = cly_conv_direct_tile(ctx, g, &wg);
    const cly_tiled_tile tt = cly_conv_tiled_tile(ctx, g);
    ctx->tuned = file;
    cly_tuned_entry direct = {.algo = CLY_CONV_DIRECT, .vw = d.vw, .kt = d.kt, .ty = d.ty, .wg = (int)wg};
    cly_tuned_entry tiled = {.algo = CLY_CONV_TILED, .vw = tt.vw, .kt = tt.rm, .ty = tt.rn / tt.vw,
                             .wg = tt.wn * tt.wm};
    if (base->algo == CLY_CONV_DIRECT)
        *base = direct;
    if (base->algo == CLY_CONV_TILED)
        *base = tiled;
    cly_status st = measure(s, base, true);
    if (st != CLY_SUCCESS)
        return st;
    *best = *base;
    /* Every other forward algorithm of the table that takes the shape:
     * the enum lists them all, so a new row is tried without a change here. */
    for (int a = CLY_CONV_AUTO + 1; a < CLY_CONV_ALGO_COUNT && !spent(s); a++) {
        cly_tuned_entry c = a == CLY_CONV_DIRECT  ? direct
                            : a == CLY_CONV_TILED ? tiled
                                                  : (cly_tuned_entry){.algo = (cly_conv_algo)a};
        if (c.algo == base->algo || !cly_conv_supports(ctx, c.algo, g) ||
            (!cly_conv_algo_exact(c.algo) && !s->allow_inexact))
            continue;
        if ((st = measure(s, &c, false)) != CLY_SUCCESS)
            return st;
        if (c.ms >= 0 && c.ms < MARGIN * best->ms)
            *best = c;
        if (c.algo == CLY_CONV_DIRECT)
            direct = c;
        if (c.algo == CLY_CONV_TILED)
            tiled = c;
    }
    if (base->algo == CLY_CONV_TILED)
        tiled = *base;
    /* The tiled kernel's parameters where it is the best so far or the
     * device is no CPU (where it never is: 9-25x slower than direct on
     * pocl, docs/tuning.md; not worth the budget); it takes the shape only
     * if it wins. */
    if (tiled.ms >= 0 && !spent(s) && (best->algo == CLY_CONV_TILED || ctx->info.type != CLY_DEVICE_CPU)) {
        cly_tuned_entry t = tiled;
        if ((st = descend_tiled(s, &t)) != CLY_SUCCESS)
            return st;
        if (t.ms >= 0 && t.ms < MARGIN * best->ms)
            *best = t;
    }
    if (!cly_conv_supports(ctx, CLY_CONV_DIRECT, g) || spent(s))
        return CLY_SUCCESS;
    /* The direct kernel's parameters, from its default tile; it takes the
     * shape only if it beats the best algorithm. */
    if (best->algo == CLY_CONV_DIRECT)
        return descend(s, best);
    if (direct.ms < 0)
        return CLY_SUCCESS;
    cly_tuned_entry tile = direct;
    if ((st = descend(s, &tile)) != CLY_SUCCESS)
        return st;
    if (tile.ms >= 0 && tile.ms < MARGIN * best->ms)
        *best = tile;
    return CLY_SUCCESS;
}

cly_status cly_tune_conv(cly_context *ctx, cly_shape input, const cly_conv_params *params,
                         const cly_tune_options *options, cly_tune_result *out)
{
    if (!ctx || !params || !out)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "cly_tune_conv: ctx, params and out must not be NULL");
    memset(out, 0, sizeof *out);
    cly_tune_options o = {0};
    if (options) {
        cly_status c = CLY_OPTIONS_COPY(ctx, &o, options, cly_tune_options, allow_inexact, "cly_tune_conv");
        if (c != CLY_SUCCESS)
            return c;
    }
    if (!(o.budget_s >= 0 && isfinite(o.budget_s)) || o.runs < 0)
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT,
                        "cly_tune_conv: budget_s must be finite and >= 0 (got %g), runs >= 0 (got %d)", o.budget_s,
                        o.runs);
    cly_conv_geom g;
    bool rounded;
    char msg[256];
    if (!cly_conv_geom_make(params, input, &g, &rounded, msg, sizeof msg))
        return cly_fail(ctx, CLY_ERROR_INVALID_ARGUMENT, "cly_tune_conv: %s", msg);
    cly_conv_tune_key(ctx, &g, out->key, sizeof out->key);
    const cly_tuned_entry *known = cly_tuned_find(ctx, out->key);
    if (known && known->fresh) {
        out->already = true;
        out->ms = known->ms;
        out->default_ms = known->default_ms;
        entry_text(ctx, &g, known, out->config, sizeof out->config);
        return CLY_SUCCESS;
    }
    search *s = calloc(1, sizeof *s);
    if (!s)
        return cly_fail(ctx, CLY_ERROR_OUT_OF_HOST_MEMORY, "cly_tune_conv");
    s->ctx = ctx;
    s->g = &g;
    s->start = now_s();
    s->budget_s = o.budget_s > 0 ? o.budget_s : 10;
    s->runs = o.runs > 0 ? o.runs : 5;
    s->allow_inexact = o.allow_inexact;
    s->ny = g.n * g.k * g.oh * g.ow;
    cly_status st;
    if ((st = cly_tensor_create(ctx, (cly_shape){g.n, g.c, g.h, g.w}, &s->x)) == CLY_SUCCESS &&
        (st = cly_tensor_create(ctx, (cly_shape){g.k, g.c / g.groups, g.fh, g.fw}, &s->w)) == CLY_SUCCESS &&
        (!g.bias || (st = cly_tensor_create(ctx, (cly_shape){1, g.k, 1, 1}, &s->b)) == CLY_SUCCESS) &&
        (st = cly_tensor_create(ctx, (cly_shape){g.n, g.k, g.oh, g.ow}, &s->y)) == CLY_SUCCESS &&
        (st = fill(s, s->x, 1)) == CLY_SUCCESS && (st = fill(s, s->w, 2)) == CLY_SUCCESS &&
        (st = fill(s, s->b, 3)) == CLY_SUCCESS) {
        s->ref = malloc((size_t)s->ny * sizeof *s->ref);
        s->out = malloc((size_t)s->ny * sizeof *s->out);
        if (!s->ref || !s->out)
            st = cly_fail(ctx, CLY_ERROR_OUT_OF_HOST_MEMORY, "cly_tune_conv: two outputs of %lld values",
                          (long long)s->ny);
    }
    cly_tuned_entry best = {0}, base = {0};
    if (st == CLY_SUCCESS)
        st = tune(s, &best, &base);
    if (st == CLY_SUCCESS && memcmp(&best, &base, sizeof best) != 0)
        st = confirm(s, &best, &base);
    if (st == CLY_SUCCESS) {
        snprintf(best.key, sizeof best.key, "%s", out->key);
        best.default_ms = base.ms;
        best.fresh = true;
        st = cly_tuned_put(ctx, &best);
        out->ms = best.ms;
        out->default_ms = base.ms;
        entry_text(ctx, &g, &best, out->config, sizeof out->config);
        entry_text(ctx, &g, &base, out->default_config, sizeof out->default_config);
    }
    out->candidates = s->candidates;
    out->rejected = s->rejected;
    out->seconds = now_s() - s->start;
    cly_tensor_destroy(s->x);
    cly_tensor_destroy(s->w);
    cly_tensor_destroy(s->b);
    cly_tensor_destroy(s->y);
    cly_tensor_destroy(s->ws);
    free(s->ref);
    free(s->out);
    free(s);
    return st;
}
