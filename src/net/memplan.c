/* Greedy-by-size arena placement (as in TFLite's and XNNPACK's planners):
 * sorting by size first keeps the big activations packed at low offsets and
 * lets the small ones fill the gaps between them. Each block goes at the
 * lowest aligned offset free of the placed blocks alive with it. Only those
 * are looked at: found through a tree over lifetimes when they are few (an
 * inference net), or, when many are alive at once (a training net keeps
 * every activation for backward), through a treap by offset whose subtrees
 * are skipped whole. A scan of every placed block made a net of 100,000
 * layers quadratic; the plan (offsets and size) is the same as that scan's. */
#include "net/memplan.h"

#include <stdlib.h>

/* Above this many placed blocks alive with a new one, the offset treap
 * places it instead of a sorted list of them (cly_plan_arena_ex). */
#define FEW_ALIVE 64

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
 * `end` (node k) whose last step is >= f; SIZE_MAX once more than `cap`. */
static size_t collect(const live_tree *t, block *blocks, size_t k, size_t lo, size_t width, size_t end, int64_t f,
                      block **out, size_t n, size_t cap)
{
    if (n == SIZE_MAX || lo >= end || t->max_last[k] < f)
        return n;
    if (width == 1) {
        block *b = &blocks[t->by_rank[lo].block];
        if (b->placed)
            out[n++] = b;
        return n > cap ? SIZE_MAX : n;
    }
    n = collect(t, blocks, 2 * k, lo, width / 2, end, f, out, n, cap);
    return collect(t, blocks, 2 * k + 1, lo + width / 2, width / 2, end, f, out, n, cap);
}

/* The placed blocks alive at some step of [f, l], into out[]; how many, or
 * SIZE_MAX when there are more than `cap`. */
static size_t tree_alive(const live_tree *t, block *blocks, int64_t f, int64_t l, block **out, size_t cap)
{
    size_t lo = 0, hi = t->count; /* end: the first rank whose first step is > l */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->by_rank[mid].first <= l)
            lo = mid + 1;
        else
            hi = mid;
    }
    return collect(t, blocks, 1, 0, t->leaves, lo, f, out, 0, cap);
}

/* ---- the placed blocks by offset, for many blocks alive at once */

/* A treap of the placed blocks (in-order: by offset, then block index),
 * each node summarising its subtree, so that the first-fit scan can skip a
 * subtree none of whose blocks is alive with the new one, or all of whose
 * blocks are and which has no gap wide enough. A training plan keeps every
 * activation until its backward step: there the lifetime tree would list
 * all of them for every new block (quadratic), while most subtrees here are
 * skipped whole. Nodes are indexed like the blocks. */
#define NIL SIZE_MAX

typedef struct onode {
    size_t left, right;
    uint64_t prio;
    int64_t min_first, max_first, min_last, max_last;
    int64_t min_offset, max_end; /* max_end: of the aligned ends */
    int64_t gap; /* at least the widest gap before a block of the subtree after the ones before it in it
                    (INT64_MIN: one block) */
} onode;

static bool key_less(const block *blocks, size_t a, size_t b)
{
    return blocks[a].offset < blocks[b].offset || (blocks[a].offset == blocks[b].offset && a < b);
}

static uint64_t mix(uint64_t x) /* splitmix64: the priorities */
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

static void onode_update(onode *t, const block *blocks, size_t x)
{
    onode *o = &t[x];
    const block *k = &blocks[x];
    int64_t end = align_up(k->offset + k->size), prefix_end = end;
    o->min_first = o->max_first = k->first;
    o->min_last = o->max_last = k->last;
    o->min_offset = k->offset;
    o->gap = INT64_MIN;
    for (int side = 0; side < 2; side++) {
        size_t c = side ? o->right : o->left;
        if (c == NIL)
            continue;
        const onode *s = &t[c];
        o->min_first = min64(o->min_first, s->min_first);
        o->max_first = max64(o->max_first, s->max_first);
        o->min_last = min64(o->min_last, s->min_last);
        o->max_last = max64(o->max_last, s->max_last);
        o->gap = max64(o->gap, s->gap);
        if (side == 0) {
            o->min_offset = s->min_offset;
            o->gap = max64(o->gap, k->offset - s->max_end);
            prefix_end = max64(prefix_end, s->max_end);
        } else {
            o->gap = max64(o->gap, s->min_offset - prefix_end);
            prefix_end = max64(prefix_end, s->max_end);
        }
    }
    o->max_end = prefix_end;
}

/* Split the subtree at r into keys before block b (*lo) and after (*hi). */
static void treap_split(onode *t, const block *blocks, size_t r, size_t b, size_t *lo, size_t *hi)
{
    if (r == NIL) {
        *lo = *hi = NIL;
        return;
    }
    if (key_less(blocks, r, b)) {
        treap_split(t, blocks, t[r].right, b, &t[r].right, hi);
        *lo = r;
    } else {
        treap_split(t, blocks, t[r].left, b, lo, &t[r].left);
        *hi = r;
    }
    onode_update(t, blocks, r);
}

/* Insert placed block b into the subtree at r; its new root. */
static size_t treap_insert(onode *t, const block *blocks, size_t r, size_t b)
{
    if (r == NIL || t[b].prio > t[r].prio) {
        treap_split(t, blocks, r, b, &t[b].left, &t[b].right);
        onode_update(t, blocks, b);
        return b;
    }
    if (key_less(blocks, b, r))
        t[r].left = treap_insert(t, blocks, t[r].left, b);
    else
        t[r].right = treap_insert(t, blocks, t[r].right, b);
    onode_update(t, blocks, r);
    return r;
}

/* first_fit's scan over the subtree at x, in offset order, for a block of
 * `size` alive during [f, l]: *c is the offset so far; true when it stops
 * at a gap (then *c is the answer). */
static bool treap_scan(const onode *t, const block *blocks, size_t x, int64_t f, int64_t l, int64_t size, int64_t *c)
{
    if (x == NIL)
        return false;
    const onode *o = &t[x];
    if (o->min_first > l || o->max_last < f)
        return false; /* none alive */
    if (o->max_first <= l && o->min_last >= f) { /* all alive */
        if (*c + size <= o->min_offset)
            return true;
        if (o->gap < size) {
            *c = max64(*c, o->max_end);
            return false;
        }
    }
    if (treap_scan(t, blocks, o->left, f, l, size, c))
        return true;
    const block *k = &blocks[x];
    if (k->first <= l && k->last >= f) {
        if (*c + size <= k->offset)
            return true;
        *c = max64(*c, align_up(k->offset + k->size));
    }
    return treap_scan(t, blocks, o->right, f, l, size, c);
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
    return cly_plan_arena_ex(v, count, FEW_ALIVE);
}

int64_t cly_plan_arena_ex(cly_plan_value *v, size_t count, size_t few_alive)
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
    onode *by_offset_tree = NULL;
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
    if (!tree_init(&tree, blocks, nb) || !(by_offset_tree = malloc(n1 * sizeof *by_offset_tree)))
        goto done;
    for (size_t b = 0; b < nb; b++)
        by_offset_tree[b] = (onode){.left = NIL, .right = NIL, .prio = mix(b)};
    size_t treap_root = NIL;
    bool treap_built = false; /* built the first time it is needed: an inference plan never needs it */
    arena = 0;
    for (size_t b = 0; b < nb; b++) {
        block *blk = &blocks[b];
        if (blk->size == 0)
            continue;
        /* A few blocks alive with this one: list and scan them. Many: the
         * offset treap, which skips whole runs of them (the same answer). */
        size_t n = tree_alive(&tree, blocks, blk->first, blk->last, alive, few_alive);
        if (n != SIZE_MAX) {
            blk->offset = first_fit(blk, alive, n);
        } else {
            for (size_t p = 0; !treap_built && p < b; p++)
                if (blocks[p].placed)
                    treap_root = treap_insert(by_offset_tree, blocks, treap_root, p);
            treap_built = true;
            int64_t c = 0;
            treap_scan(by_offset_tree, blocks, treap_root, blk->first, blk->last, blk->size, &c);
            blk->offset = c;
        }
        blk->placed = true;
        tree_place(&tree, b, blk->last);
        if (treap_built)
            treap_root = treap_insert(by_offset_tree, blocks, treap_root, b);
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
    free(by_offset_tree);
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
