/* Shared by the graph tests: status assertions with the library's message,
 * lookups of inferred layers, and summaries captured as strings. */
#ifndef CLY_GRAPH_TEST_HELPERS_H
#define CLY_GRAPH_TEST_HELPERS_H

#include "clayer.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ASSERT_OK(call)                                                                              \
    do {                                                                                             \
        cly_status s_ = (call);                                                                      \
        ck_assert_msg(s_ == CLY_SUCCESS, "%s -> %s: %s", #call, cly_status_string(s_),               \
                      cly_last_error(NULL));                                                         \
    } while (0)

/* The call fails with `status` and exactly the message `text`. */
#define ASSERT_FAIL(call, status, text)                                                              \
    do {                                                                                             \
        cly_status s_ = (call);                                                                      \
        ck_assert_msg(s_ == (status), "%s -> %s (want %s): %s", #call, cly_status_string(s_),        \
                      cly_status_string(status), cly_last_error(NULL));                              \
        ck_assert_str_eq(cly_last_error(NULL), (text));                                              \
    } while (0)

/* The call fails with `status` and a message containing `text`. */
#define ASSERT_FAIL_HAS(call, status, text)                                                          \
    do {                                                                                             \
        cly_status s_ = (call);                                                                      \
        ck_assert_msg(s_ == (status), "%s -> %s (want %s): %s", #call, cly_status_string(s_),        \
                      cly_status_string(status), cly_last_error(NULL));                              \
        ck_assert_msg(strstr(cly_last_error(NULL), (text)) != NULL, "message '%s' lacks '%s'",       \
                      cly_last_error(NULL), (text));                                                 \
    } while (0)

/* Inferred facts of the layer called `name`. */
static inline cly_layer_info info_of(const cly_graph *g, const char *name)
{
    cly_layer_info info;
    for (size_t i = 0; i < cly_graph_layer_count(g); i++) {
        ck_assert_int_eq(cly_graph_layer_info(g, i, &info), CLY_SUCCESS);
        if (strcmp(info.name, name) == 0)
            return info;
    }
    ck_abort_msg("no layer %s", name);
    return info;
}

static inline void assert_shape(cly_shape s, int64_t n, int64_t c, int64_t h, int64_t w)
{
    ck_assert_msg(s.n == n && s.c == c && s.h == h && s.w == w, "shape %lldx%lldx%lldx%lld, want %lldx%lldx%lldx%lld",
                  (long long)s.n, (long long)s.c, (long long)s.h, (long long)s.w, (long long)n, (long long)c,
                  (long long)h, (long long)w);
}

/* The summary as a malloc'd string. */
static inline char *summary_of(const cly_graph *g)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(cly_graph_print_summary(g, f), CLY_SUCCESS);
    fclose(f);
    return buf;
}

/* Parameters of every layer added together, from cly_graph_layer_info. */
static inline int64_t params_of(const cly_graph *g)
{
    int64_t total = 0;
    for (size_t i = 0; i < cly_graph_layer_count(g); i++) {
        cly_layer_info info;
        ck_assert_int_eq(cly_graph_layer_info(g, i, &info), CLY_SUCCESS);
        total += info.weights + info.biases;
    }
    return total;
}

static inline cly_conv_params conv_p(int64_t k, int64_t f, int64_t s, int64_t p)
{
    return (cly_conv_params){.filters = k, .size = {f, f}, .stride = {s, s}, .pad = CLY_PAD(p)};
}

static inline cly_pool_params maxpool_p(int64_t f, int64_t s)
{
    return (cly_pool_params){.kind = CLY_POOL_MAX, .size = {f, f}, .stride = {s, s}};
}

/* A layer with any number of inputs, for add, concat and the others. */
static inline cly_status add_layer(cly_graph *g, cly_layer_type type, const char *name, const char *const *inputs,
                                   size_t count)
{
    cly_layer l = {.type = type, .name = name, .inputs = inputs, .input_count = count};
    return cly_graph_add(g, &l);
}

#define RUN_SUITE(suite_fn)                                                      \
    int main(void)                                                               \
    {                                                                            \
        SRunner *sr = srunner_create(suite_fn());                                \
        srunner_run_all(sr, CK_NORMAL);                                          \
        int failed = srunner_ntests_failed(sr);                                  \
        srunner_free(sr);                                                        \
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;                             \
    }

#endif
