/* Greedy-by-size arena placement (as in TFLite's and XNNPACK's planners):
 * sorting by size first keeps the big activations packed at low offsets and
 * lets the small ones fill the gaps between them. Each block goes at the
 * lowest aligned offset free of the placed blocks alive with it, and only
 * those are looked at (found through a tree over lifetimes), so a plan costs
 * O(n log n + K log n) for K pairs of blocks alive together: a few per block
 * in an inference net, where a scan of every placed block made a net of
 * 100,000 layers quadratic. */
#include "net/memplan.h"

#include <stdlib.h>

typedef struct block {
    int64_t size, first, last, offset;
    size_t root;
    bool placed;
} block;

/* root[i]: the value at the end of i's share chain. Each chain is walked
 * once (a later walk stops at a resolved value), so a long in-place chain
 * costs O(n), not O(n^2). false on a cycle. */
static bool find_roots(const cly_plan_value *v, size_t count, size_t *root)
{
    const size_t unset = SIZE_MAX, walking = SIZE_MAX - 1;
    for (size_t i = 0; i < count; i++)
        root[i] = unset;
    for (size_t i = 0; i < count; i++) {
        size_t j = i;
        while (root[j] == unset && v[j].share >= 0) {
            root[j] = walking;
            j = (size_t)v[j].share;
        }
        if (root[j] == walking)
            return false;
        size_t r = root[j] == unset ? j : root[j];
        root[j] = r;
        for (size_t k = i; root[k] == walking; k = (size_t)v[k].share)
            root[k] = r;
    }
    return true;
}

static int by_size_desc(const void *a, const void *b)
{
    const block *x = a, *y = b;
    if (x->size != y->size)
        return x->size < y->size ? 1 : -1;
    return (x->first > y->first) - (x->first < y->first);
}

static int by_offset(const void *a, const void *b)
{
    const block *x = *(block *const *)a, *y = *(block *const *)b;
    return (x->offset > y->offset) - (x->offset < y->offset);
}

static int64_t align_up(int64_t v)
{
    return (v + CLY_PLAN_ALIGN - 1) / CLY_PLAN_ALIGN * CLY_PLAN_ALIGN;
}

/* The placed blocks by lifetime: the blocks ranked by first step, and over
 * the ranks a max-tree of the last step of those placed (INT64_MIN: not yet).
 * A block alive during [f, l] has first <= l (a prefix of the ranks) and
 * last >= f (a subtree whose maximum is below f holds none), so each comes
 * out in O(log n) and blocks alive at other times are never visited. */
typedef struct ranked {
    int64_t first;
    size_t block;
} ranked;

typedef struct live_tree {
    size_t count; /* blocks */
    ranked *by_rank;
    size_t *rank_of; /* block -> rank */
    int64_t *max_last; /* heap layout: node k has children 2k, 2k + 1; leaves from `leaves` */
    size_t leaves;
} live_tree;

static int by_first(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->first != y->first)
        return (x->first > y->first) - (x->first < y->first);
    return (x->block > y->block) - (x->block < y->block);
}

static void tree_free(live_tree *t)
{
    free(t->by_rank);
    free(t->rank_of);
    free(t->max_last);
}

static bool tree_init(live_tree *t, const block *blocks, size_t nb)
{
    t->count = nb;
    t->leaves = 1;
    while (t->leaves < nb)
        t->leaves *= 2;
    t->by_rank = malloc((nb ? nb : 1) * sizeof *t->by_rank);
    t->rank_of = malloc((nb ? nb : 1) * sizeof *t->rank_of);
    t->max_last = malloc(2 * t->leaves * sizeof *t->max_last);
    if (!t->by_rank || !t->rank_of || !t->max_last)
        return false;
    for (size_t b = 0; b < nb; b++)
        t->by_rank[b] = (ranked){blocks[b].first, b};
    qsort(t->by_rank, nb, sizeof *t->by_rank, by_first);
    for (size_t r = 0; r < nb; r++)
        t->rank_of[t->by_rank[r].block] = r;
    for (size_t k = 0; k < 2 * t->leaves; k++)
        t->max_last[k] = INT64_MIN;
    return true;
}

static void tree_place(live_tree *t, size_t b, int64_t last)
{
    size_t k = t->leaves + t->rank_of[b];
    t->max_last[k] = last;
    for (k /= 2; k >= 1; k /= 2) {
        int64_t m = t->max_last[2 * k] > t->max_last[2 * k + 1] ? t->max_last[2 * k] : t->max_last[2 * k + 1];
        if (t->max_last[k] == m)
            break;
        t->max_last[k] = m;
    }
}

/* Append to out[n..] the placed blocks ranked in [lo, lo + width) below
 * `end` (node k) whose last step is >= f. */
static size_t collect(const live_tree *t, block *blocks, size_t k, size_t lo, size_t width, size_t end, int64_t f,
                      block **out, size_t n)
{
    if (lo >= end || t->max_last[k] < f)
        return n;
    if (width == 1) {
        block *b = &blocks[t->by_rank[lo].block];
        if (b->placed)
            out[n++] = b;
        return n;
    }
    n = collect(t, blocks, 2 * k, lo, width / 2, end, f, out, n);
    return collect(t, blocks, 2 * k + 1, lo + width / 2, width / 2, end, f, out, n);
}

/* The placed blocks alive at some step of [f, l], into out[]; how many. */
static size_t tree_alive(const live_tree *t, block *blocks, int64_t f, int64_t l, block **out)
{
    size_t lo = 0, hi = t->count; /* end: the first rank whose first step is > l */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->by_rank[mid].first <= l)
            lo = mid + 1;
        else
            hi = mid;
    }
    return collect(t, blocks, 1, 0, t->leaves, lo, f, out, 0);
}

/* The lowest aligned offset where blk overlaps none of the n blocks in
 * alive[] (sorted here by offset): a first-fit scan of the gaps. */
static int64_t first_fit(const block *blk, block **alive, size_t n)
{
    qsort(alive, n, sizeof *alive, by_offset);
    int64_t offset = 0;
    for (size_t j = 0; j < n; j++) {
        const block *o = alive[j];
        if (offset + blk->size <= o->offset)
            break;
        int64_t end = align_up(o->offset + o->size);
        if (end > offset)
            offset = end;
    }
    return offset;
}

int64_t cly_plan_arena(cly_plan_value *v, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (v[i].share >= (int64_t)count || v[i].first > v[i].last || v[i].size < 0)
            return -1;
    }
    size_t n1 = count ? count : 1;
    size_t *root = malloc(n1 * sizeof *root), *block_of = malloc(n1 * sizeof *block_of);
    block *blocks = calloc(n1, sizeof *blocks);
    block **alive = malloc(n1 * sizeof *alive);
    live_tree tree = {0};
    int64_t arena = -1;
    if (!root || !block_of || !blocks || !alive || !find_roots(v, count, root))
        goto done;
    /* One block per share chain, keyed by its root, with the union of the
     * chain's sizes and lifetimes. */
    size_t nb = 0;
    for (size_t i = 0; i < count; i++)
        if (v[i].share < 0) {
            block_of[i] = nb;
            blocks[nb++] = (block){v[i].size, v[i].first, v[i].last, 0, i, false};
        }
    for (size_t i = 0; i < count; i++) {
        if (v[i].share < 0)
            continue;
        block *blk = &blocks[block_of[root[i]]];
        if (v[i].size > blk->size)
            blk->size = v[i].size;
        if (v[i].first < blk->first)
            blk->first = v[i].first;
        if (v[i].last > blk->last)
            blk->last = v[i].last;
    }
    qsort(blocks, nb, sizeof *blocks, by_size_desc);
    if (!tree_init(&tree, blocks, nb))
        goto done;
    arena = 0;
    for (size_t b = 0; b < nb; b++) {
        block *blk = &blocks[b];
        if (blk->size == 0)
            continue;
        size_t n = tree_alive(&tree, blocks, blk->first, blk->last, alive);
        blk->offset = first_fit(blk, alive, n);
        blk->placed = true;
        tree_place(&tree, b, blk->last);
        if (blk->offset + blk->size > arena)
            arena = blk->offset + blk->size;
    }
    for (size_t b = 0; b < nb; b++)
        v[blocks[b].root].offset = blocks[b].offset;
    for (size_t i = 0; i < count; i++)
        if (v[i].share >= 0)
            v[i].offset = v[root[i]].offset;
    arena = align_up(arena);
done:
    tree_free(&tree);
    free(root);
    free(block_of);
    free(blocks);
    free(alive);
    return arena;
}

bool cly_plan_check(const cly_plan_value *v, size_t count)
{
    size_t *root = malloc((count ? count : 1) * sizeof *root);
    bool ok = root && find_roots(v, count, root);
    for (size_t i = 0; ok && i < count; i++)
        for (size_t j = i + 1; ok && j < count; j++) {
            if (v[i].size == 0 || v[j].size == 0 || root[i] == root[j])
                continue;
            bool live_together = !(v[i].last < v[j].first || v[j].last < v[i].first);
            bool overlap = v[i].offset < v[j].offset + v[j].size && v[j].offset < v[i].offset + v[i].size;
            ok = !(live_together && overlap);
        }
    free(root);
    return ok;
}
