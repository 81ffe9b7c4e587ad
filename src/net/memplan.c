/* Greedy-by-size arena placement (as in TFLite's and XNNPACK's planners):
 * sorting by size first keeps the big activations packed at low offsets and
 * lets the small ones fill the gaps between them. */
#include "net/memplan.h"

#include <stdlib.h>

typedef struct block {
    int64_t size, first, last, offset;
    size_t root;
} block;

/* The value at the end of i's share chain; SIZE_MAX for a cycle. */
static size_t root_of(const cly_plan_value *v, size_t i, size_t count)
{
    for (size_t steps = 0; v[i].share >= 0; steps++) {
        if (steps == count)
            return SIZE_MAX;
        i = (size_t)v[i].share;
    }
    return i;
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

int64_t cly_plan_arena(cly_plan_value *v, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (v[i].share >= (int64_t)count || v[i].first > v[i].last || v[i].size < 0)
            return -1;
    }
    for (size_t i = 0; i < count; i++) {
        if (root_of(v, i, count) == SIZE_MAX)
            return -1;
    }
    /* One block per share chain, keyed by its root. */
    block *blocks = calloc(count ? count : 1, sizeof *blocks);
    block **placed = calloc(count ? count : 1, sizeof *placed);
    if (!blocks || !placed) {
        free(blocks);
        free(placed);
        return -1;
    }
    size_t nb = 0;
    for (size_t i = 0; i < count; i++)
        if (v[i].share < 0) {
            blocks[nb++] = (block){v[i].size, v[i].first, v[i].last, 0, i};
        }
    for (size_t i = 0; i < count; i++) {
        if (v[i].share < 0)
            continue;
        size_t r = root_of(v, i, count);
        size_t b = 0;
        while (blocks[b].root != r)
            b++;
        block *blk = &blocks[b];
        if (v[i].size > blk->size)
            blk->size = v[i].size;
        if (v[i].first < blk->first)
            blk->first = v[i].first;
        if (v[i].last > blk->last)
            blk->last = v[i].last;
    }
    qsort(blocks, nb, sizeof *blocks, by_size_desc);
    int64_t arena = 0;
    size_t np = 0;
    for (size_t b = 0; b < nb; b++) {
        block *blk = &blocks[b];
        if (blk->size == 0)
            continue;
        /* placed[] is kept sorted by offset: scan gaps between live blocks. */
        int64_t offset = 0;
        for (size_t j = 0; j < np; j++) {
            const block *o = placed[j];
            if (o->last < blk->first || o->first > blk->last)
                continue;
            if (offset + blk->size <= o->offset)
                break;
            int64_t end = align_up(o->offset + o->size);
            if (end > offset)
                offset = end;
        }
        blk->offset = offset;
        placed[np++] = blk;
        qsort(placed, np, sizeof *placed, by_offset);
        if (offset + blk->size > arena)
            arena = offset + blk->size;
    }
    for (size_t b = 0; b < nb; b++)
        v[blocks[b].root].offset = blocks[b].offset;
    for (size_t i = 0; i < count; i++)
        if (v[i].share >= 0)
            v[i].offset = v[root_of(v, i, count)].offset;
    free(blocks);
    free(placed);
    return align_up(arena);
}

bool cly_plan_check(const cly_plan_value *v, size_t count)
{
    for (size_t i = 0; i < count; i++)
        for (size_t j = i + 1; j < count; j++) {
            if (v[i].size == 0 || v[j].size == 0)
                continue;
            if (root_of(v, i, count) == root_of(v, j, count))
                continue;
            bool live_together = !(v[i].last < v[j].first || v[j].last < v[i].first);
            bool overlap = v[i].offset < v[j].offset + v[j].size && v[j].offset < v[i].offset + v[i].size;
            if (live_together && overlap)
                return false;
        }
    return true;
}
