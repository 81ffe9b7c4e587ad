/* The arena planner: no two values alive at once overlap, sharing chains
 * coincide, and reuse actually happens. Pure arithmetic: no device. */
#include "net/memplan.h"

#include <check.h>
#include <stdlib.h>

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

START_TEST(bad_share_rejected)
{
    cly_plan_value v[2] = {
        {.size = 10, .first = 0, .last = 1, .share = 1},
        {.size = 10, .first = 1, .last = 2, .share = 0},
    };
    ck_assert_int_eq(cly_plan_arena(v, 2), -1); /* a cycle */
    v[0].share = 5;
    ck_assert_int_eq(cly_plan_arena(v, 2), -1); /* out of range */
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
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
