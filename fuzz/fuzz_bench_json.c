/* libFuzzer harness for the JSON reader behind `clayer compare`
 * (cli/json_read.c, compiled in): json_parse on untrusted bytes, then a
 * walk of the tree checking what a successful parse promises, json_get of
 * the members the compare command looks up in every object, and json_free. Seeds in
 * fuzz/corpus/bench_json/ are `clayer bench --json` outputs. Any crash,
 * sanitizer report, leak or broken invariant is a finding. */
#include "cli.h"

#include <stdint.h>
#include <string.h>

#define CHECK(cond)                 \
    do {                            \
        if (!(cond))                \
            __builtin_trap();       \
    } while (0)

/* The members compare.c looks up (at the top and in each layer). */
static const char *const keys[] = {"device", "totals", "schema_version", "schema", "layers", "host", "net",
                                   "batch", "mode", "name", "median_ms", "images_per_s", "cpu_model",
                                   "driver_version"};

/* Nesting is bounded (64 levels), so the walk's recursion is too. */
static void walk(const json_value *v, const uint8_t *data, size_t size, int depth)
{
    CHECK(depth <= 65);
    switch (v->type) {
    case JSON_NULL:
    case JSON_BOOL:
    case JSON_NUMBER:
        CHECK(v->count == 0);
        break;
    case JSON_STRING:
        /* Decoded text is never longer than its source and has no NUL inside. */
        CHECK(v->string && strlen(v->string) <= size);
        break;
    case JSON_ARRAY:
    case JSON_OBJECT:
        CHECK(v->count <= size); /* at least a byte of source per element */
        CHECK(v->count == 0 || v->items);
        for (size_t k = 0; v->type == JSON_OBJECT && k < sizeof keys / sizeof keys[0]; k++) {
            const json_value *f = json_get(v, keys[k]);
            CHECK(!f || (f >= v->items && f < v->items + v->count));
        }
        for (size_t i = 0; i < v->count; i++) {
            if (v->type == JSON_OBJECT) {
                CHECK(v->keys && v->keys[i] && strlen(v->keys[i]) <= size);
                CHECK(json_get(v, v->keys[i]) != NULL); /* the first of that key */
            }
            walk(&v->items[i], data, size, depth + 1);
        }
        break;
    default:
        CHECK(0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    err[0] = '\0';
    json_value *v = json_parse((const char *)data, size, err, sizeof err);
    if (!v) {
        /* A refusal says where: "line L, column C: ..." (or out of memory). */
        CHECK(strncmp(err, "line ", 5) == 0 || strcmp(err, "out of memory") == 0);
        return 0;
    }
    walk(v, data, size, 0);
    CHECK(json_get(NULL, "x") == NULL);
    json_free(v);
    return 0;
}
