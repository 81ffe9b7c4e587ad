/* Memory planning for a forward pass: place values in one arena so that
 * values alive at the same time never overlap. Pure arithmetic, no OpenCL. */
#ifndef CLY_MEMPLAN_H
#define CLY_MEMPLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cly_plan_value {
    int64_t size;   /* elements; 0: not placed (a value with no storage) */
    int64_t first;  /* step that writes it */
    int64_t last;   /* last step that reads it (>= first) */
    int64_t share;  /* index of a value whose storage this one reuses in place
                       (it must be no larger and must die at `first`), or -1 */
    int64_t offset; /* result: elements from the arena's start */
} cly_plan_value;

/* Alignment of every placement, in elements (128 bytes of float). */
#define CLY_PLAN_ALIGN 32

/* Place values largest-first, each at the lowest aligned offset that does
 * not overlap a placed value whose lifetime intersects its own. Values
 * joined by `share` are planned as one block with the union of their
 * lifetimes. Returns the arena size in elements; -1 on an invalid `share`
 * chain or out of memory. */
int64_t cly_plan_arena(cly_plan_value *values, size_t count);
/* The same, placing a block through the offset treap once more than
 * `few_alive` placed blocks are alive with it (cly_plan_arena: 64). The
 * plan does not depend on it; tests pass 0 (always the treap) and
 * SIZE_MAX (never) to check both ways against each other. */
int64_t cly_plan_arena_ex(cly_plan_value *values, size_t count, size_t few_alive);

/* true when no two values alive at a common step overlap in the arena,
 * except along `share` chains. For tests and assertions. */
bool cly_plan_check(const cly_plan_value *values, size_t count);

#endif
