/* The arena planner: no two values alive at once overlap, sharing chains
 * coincide, and reuse actually happens. Pure arithmetic: no device. */
#include "net/memplan.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static uint64_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

START_TEST(chain_reuses_memory)
{
    /* A straight chain: step i writes v[i] and reads v[i-1], so at most two
     * values live at once and the arena holds the two largest neighbours. */
    cly_plan_value v[6];
    const int64_t sizes[6] = {1000, 4000, 4000, 2000, 500, 100};
    for (int i = 0; i < 6; i++)
        v[i] = (cly_plan_value){.size = sizes[i], .first = i, .last = i + 1, .share = -1};
    int64_t arena = cly_plan_arena(v, 6);
    ck_assert(cly_plan_check(v, 6));
    ck_assert_int_le(arena, 8000 + 2 * CLY_PLAN_ALIGN);
    ck_assert_int_ge(arena, 8000);
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(v[i].offset % CLY_PLAN_ALIGN, 0);
}
END_TEST

START_TEST(shared_values_coincide)
{
    /* v1 = relu(v0) in place: same offset; v2 = conv(v1) must not overlap. */
    cly_plan_value v[3] = {
        {.size = 100, .first = 0, .last = 1, .share = -1},
        {.size = 100, .first = 1, .last = 2, .share = 0},
        {.size = 100, .first = 2, .last = 3, .share = -1},
    };
    int64_t arena = cly_plan_arena(v, 3);
    ck_assert_int_gt(arena, 0);
    ck_assert_int_eq(v[0].offset, v[1].offset);
    ck_assert(v[2].offset >= v[1].offset + 100 || v[2].offset + 100 <= v[1].offset);
    ck_assert(cly_plan_check(v, 3));
}
END_TEST

START_TEST(check_detects_overlap)
{
    cly_plan_value v[2] = {
        {.size = 64, .first = 0, .last = 2, .share = -1, .offset = 0},
        {.size = 64, .first = 1, .last = 3, .share = -1, .offset = 32},
    };
    ck_assert(!cly_plan_check(v, 2));
    v[1].offset = 64;
    ck_assert(cly_plan_check(v, 2));
    v[1].offset = 32;
    v[1].first = 3; /* no longer alive together */
    ck_assert(cly_plan_check(v, 2));
}
END_TEST

START_TEST(random_lifetimes_never_overlap)
{
    uint64_t seed = 7;
    for (int round = 0; round < 200; round++) {
        size_t n = 1 + lcg(&seed) % 60;
        cly_plan_value *v = calloc(n, sizeof *v);
        int64_t sum = 0;
        for (size_t i = 0; i < n; i++) {
            int64_t first = (int64_t)(lcg(&seed) % 40);
            v[i] = (cly_plan_value){.size = (int64_t)(lcg(&seed) % 5000), .first = first,
                                    .last = first + (int64_t)(lcg(&seed) % 10), .share = -1};
            sum += v[i].size + CLY_PLAN_ALIGN;
        }
        int64_t arena = cly_plan_arena(v, n);
        ck_assert_int_ge(arena, 0);
        ck_assert_int_le(arena, sum + CLY_PLAN_ALIGN);
        ck_assert(cly_plan_check(v, n));
        for (size_t i = 0; i < n; i++)
            ck_assert_int_le(v[i].offset + v[i].size, arena);
        free(v);
    }
}
END_TEST

/* The planner as it was before its lifetime tree: every placed block
 * scanned in offset order for each new block (O(n^2)). The tree must give
 * the same offsets and arena. */
typedef struct ref_block {
    int64_t size, first, last, offset;
    size_t root;
} ref_block;

static size_t ref_root(const cly_plan_value *v, size_t i)
{
    while (v[i].share >= 0)
        i = (size_t)v[i].share;
    return i;
}

static int ref_by_size(const void *a, const void *b)
{
    const ref_block *x = a, *y = b;
    if (x->size != y->size)
        return x->size < y->size ? 1 : -1;
    return (x->first > y->first) - (x->first < y->first);
}

static int ref_by_offset(const void *a, const void *b)
{
    const ref_block *x = *(ref_block *const *)a, *y = *(ref_block *const *)b;
    return (x->offset > y->offset) - (x->offset < y->offset);
}

static int64_t ref_align(int64_t v)
{
    return (v + CLY_PLAN_ALIGN - 1) / CLY_PLAN_ALIGN * CLY_PLAN_ALIGN;
}

/* v must have acyclic share chains. */
static int64_t ref_plan_arena(cly_plan_value *v, size_t count)
{
    ref_block *blocks = calloc(count + 1, sizeof *blocks);
    ref_block **placed = calloc(count + 1, sizeof *placed);
    size_t nb = 0;
    for (size_t i = 0; i < count; i++)
        if (v[i].share < 0)
            blocks[nb++] = (ref_block){v[i].size, v[i].first, v[i].last, 0, i};
    for (size_t i = 0; i < count; i++) {
        if (v[i].share < 0)
            continue;
        size_t r = ref_root(v, i), b = 0;
        while (blocks[b].root != r)
            b++;
        ref_block *blk = &blocks[b];
        blk->size = v[i].size > blk->size ? v[i].size : blk->size;
        blk->first = v[i].first < blk->first ? v[i].first : blk->first;
        blk->last = v[i].last > blk->last ? v[i].last : blk->last;
    }
    qsort(blocks, nb, sizeof *blocks, ref_by_size);
    int64_t arena = 0;
    size_t np = 0;
    for (size_t b = 0; b < nb; b++) {
        ref_block *blk = &blocks[b];
        if (blk->size == 0)
            continue;
        int64_t offset = 0;
        for (size_t j = 0; j < np; j++) {
            const ref_block *o = placed[j];
            if (o->last < blk->first || o->first > blk->last)
                continue;
            if (offset + blk->size <= o->offset)
                break;
            int64_t end = ref_align(o->offset + o->size);
            offset = end > offset ? end : offset;
        }
        blk->offset = offset;
        placed[np++] = blk;
        qsort(placed, np, sizeof *placed, ref_by_offset);
        arena = offset + blk->size > arena ? offset + blk->size : arena;
    }
    for (size_t b = 0; b < nb; b++)
        v[blocks[b].root].offset = blocks[b].offset;
    for (size_t i = 0; i < count; i++)
        v[i].offset = v[ref_root(v, i)].offset;
    free(blocks);
    free(placed);
    return ref_align(arena);
}

START_TEST(same_plan_as_linear_scan)
{
    /* Random lifetimes, sizes with many ties (the size order's tie-break
     * must not change), zero sizes, and in-place chains: offsets and the
     * arena equal the linear scan's. */
    uint64_t seed = 11;
    for (int round = 0; round < 300; round++) {
        size_t n = 1 + lcg(&seed) % 200;
        int64_t span = 1 + (int64_t)(lcg(&seed) % 100), longest = 1 + (int64_t)(lcg(&seed) % 30);
        cly_plan_value *v = calloc(n, sizeof *v), *w = calloc(n, sizeof *w);
        for (size_t i = 0; i < n; i++) {
            int64_t first = (int64_t)(lcg(&seed) % (uint64_t)span);
            /* Multiples of the alignment too: a gap can then fit a block exactly. */
            int64_t size = lcg(&seed) % 8 == 0 ? 0
                           : lcg(&seed) % 2   ? (int64_t)(1 + lcg(&seed) % 8) * CLY_PLAN_ALIGN
                                              : (int64_t)(lcg(&seed) % 6) * 100 + (int64_t)(lcg(&seed) % 3);
            v[i] = (cly_plan_value){.size = size, .first = first,
                                    .last = first + (int64_t)(lcg(&seed) % (uint64_t)longest), .share = -1};
            if (i > 0 && lcg(&seed) % 4 == 0)
                v[i].share = (int64_t)(lcg(&seed) % i); /* earlier values only: no cycle */
        }
        if (round % 3 == 0) /* long lives: many blocks alive at once, the treap's case */
            for (size_t i = 0; i < n; i++)
                v[i].last += (int64_t)(lcg(&seed) % 200);
        memcpy(w, v, n * sizeof *v);
        int64_t expected = ref_plan_arena(w, n);
        /* Both ways of finding a place: the sorted list of the blocks alive
         * (never the treap), the offset treap (always), and mixes. */
        const size_t few[] = {SIZE_MAX, 0, 3, 64};
        for (size_t k = 0; k < sizeof few / sizeof few[0]; k++) {
            for (size_t i = 0; i < n; i++)
                v[i].offset = -1;
            int64_t arena = cly_plan_arena_ex(v, n, few[k]);
            ck_assert_int_eq(arena, expected);
            for (size_t i = 0; i < n; i++)
                ck_assert_msg(v[i].offset == w[i].offset,
                              "round %d value %zu, few_alive %zu: offset %lld, linear scan %lld", round, i, few[k],
                              (long long)v[i].offset, (long long)w[i].offset);
            ck_assert(cly_plan_check(v, n));
        }
        free(v);
        free(w);
    }
}
END_TEST

/* A training plan of a chain of n layers: activation i lives from its
 * forward step i to its backward step 2n - i (so all of them at once, at
 * the loss), gradient i for the backward step before. */
static void training_chain(cly_plan_value *v, size_t n, int64_t size)
{
    for (size_t i = 0; i < n; i++) {
        int64_t bwd = 2 * (int64_t)n - (int64_t)i;
        v[i] = (cly_plan_value){.size = size + (int64_t)(i % 3), .first = (int64_t)i, .last = bwd, .share = -1};
        v[n + i] = (cly_plan_value){.size = size, .first = bwd - 1, .last = bwd, .share = -1};
    }
}

START_TEST(training_plans)
{
    /* Against the linear scan where it is quick, then at 100,000 layers,
     * where every activation is alive with every other: the lifetime tree
     * alone would list all placed ones for each (about 10^10 steps). */
    enum { SMALL = 1500, N = 100000 };
    cly_plan_value *v = calloc(2 * N, sizeof *v), *w = calloc(2 * SMALL, sizeof *w);
    training_chain(v, SMALL, 40);
    memcpy(w, v, 2 * SMALL * sizeof *v);
    ck_assert_int_eq(cly_plan_arena(v, 2 * SMALL), ref_plan_arena(w, 2 * SMALL));
    for (size_t i = 0; i < 2 * SMALL; i++)
        ck_assert_int_eq(v[i].offset, w[i].offset);
    training_chain(v, N, 64);
    int64_t arena = cly_plan_arena(v, 2 * N), sum = 0;
    for (size_t i = 0; i < N; i++)
        sum += (v[i].size + CLY_PLAN_ALIGN - 1) / CLY_PLAN_ALIGN * CLY_PLAN_ALIGN;
    /* Every activation is alive at the loss: they stack, and the gradients
     * fit where finished activations were (at most two more blocks). */
    ck_assert_int_ge(arena, sum);
    ck_assert_int_le(arena, sum + 2 * 128);
    free(v);
    free(w);
}
END_TEST

START_TEST(deep_chains_are_linear)
{
    /* 100,000 values: an in-place chain (each shares the one before, as a
     * deep ReLU chain does) and a plain chain. Walking every share chain
     * from each value or scanning every placed block made this quadratic
     * (about 10^10 steps); now it is a fraction of a second. */
    enum { N = 100000 };
    cly_plan_value *v = calloc(N, sizeof *v);
    for (size_t i = 0; i < N; i++)
        v[i] = (cly_plan_value){.size = 64, .first = (int64_t)i, .last = (int64_t)i + 1,
                                .share = i > 1 ? (int64_t)i - 1 : -1};
    ck_assert_int_eq(cly_plan_arena(v, N), 128);
    for (size_t i = 2; i < N; i++)
        ck_assert_int_eq(v[i].offset, v[1].offset);
    ck_assert_int_ne(v[0].offset, v[1].offset);
    for (size_t i = 0; i < N; i++)
        v[i].share = -1;
    ck_assert_int_eq(cly_plan_arena(v, N), 128); /* two neighbours alive at once */
    for (size_t i = 1; i < N; i++)
        ck_assert_int_ne(v[i].offset, v[i - 1].offset);
    free(v);
}
END_TEST

START_TEST(bad_share_rejected)
{
    cly_plan_value v[2] = {
        {.size = 10, .first = 0, .last = 1, .share = 1},
        {.size = 10, .first = 1, .last = 2, .share = 0},
    };
    ck_assert_int_eq(cly_plan_arena(v, 2), -1); /* a cycle */
    v[0].share = 5;
    ck_assert_int_eq(cly_plan_arena(v, 2), -1); /* out of range */
    cly_plan_value chain[4] = {
        {.size = 10, .first = 0, .last = 1, .share = -1},
        {.size = 10, .first = 1, .last = 2, .share = 3},
        {.size = 10, .first = 2, .last = 3, .share = 1},
        {.size = 10, .first = 3, .last = 4, .share = 2},
    };
    ck_assert_int_eq(cly_plan_arena(chain, 4), -1); /* a cycle past the first value */
    chain[1].share = 0;
    ck_assert_int_ge(cly_plan_arena(chain, 4), 10);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("memplan");
    TCase *tc = tcase_create("plan");
    tcase_add_test(tc, chain_reuses_memory);
    tcase_add_test(tc, shared_values_coincide);
    tcase_add_test(tc, check_detects_overlap);
    tcase_add_test(tc, random_lifetimes_never_overlap);
    tcase_add_test(tc, bad_share_rejected);
    tcase_add_test(tc, same_plan_as_linear_scan);
    tcase_add_test(tc, deep_chains_are_linear);
    tcase_add_test(tc, training_plans);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
