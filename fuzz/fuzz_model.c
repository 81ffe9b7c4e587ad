/* libFuzzer harness for model files: the loader's untrusted-input half
 * (cly_model_parse, then the GRAPH text through the net parser and
 * inference, then matching the arrays to the layers), which needs no
 * OpenCL device. The rest of cly_model_load only copies arrays that passed
 * these checks to the device. Each input is parsed with the checksums
 * checked and again without, so that mutations reach the structural checks
 * behind them. Any crash, sanitizer report, leak or broken invariant is a
 * finding. */
#include "io/model_file.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                 \
    do {                            \
        if (!(cond))                \
            __builtin_trap();       \
    } while (0)

/* What a successful parse promises about its arrays. */
static void check_arrays(const cly_model_array *a, size_t n, uint32_t moments, const uint8_t *data, size_t size)
{
    for (size_t i = 0; i < n; i++) {
        CHECK(a[i].kind < CLY_MODEL_KINDS && a[i].count >= 1 && a[i].count <= CLY_MODEL_ARRAY_MAX);
        CHECK(cly_name_valid(a[i].name));
        for (uint32_t w = 0; w < 2; w++) {
            if (w >= moments) {
                CHECK(a[i].data[w] == NULL);
                continue;
            }
            const uint8_t *p = a[i].data[w];
            CHECK(p >= data && (size_t)(p - data) % 8 == 0 && (uint64_t)a[i].count * 4 <= size - (size_t)(p - data));
        }
    }
}

static void bind(const cly_model *m)
{
    cly_graph *g;
    if (cly_graph_parse(m->text, m->text_size, "fuzz.clm:GRAPH", &g) != CLY_SUCCESS)
        return;
    if (cly_graph_infer(g, 1) == CLY_SUCCESS) {
        int64_t(*expect)[CLY_MODEL_KINDS] = calloc(g->count, sizeof *expect);
        const cly_model_array **slots = calloc(g->count * 2 * CLY_MODEL_KINDS, sizeof *slots);
        CHECK(expect && slots);
        cly_model_expected_counts(g, expect);
        if (cly_model_bind(m, g, (const int64_t(*)[CLY_MODEL_KINDS])expect, "fuzz.clm", slots,
                           slots + g->count * CLY_MODEL_KINDS) == CLY_SUCCESS) {
            /* Every array the net needs is bound, with the right count. */
            for (size_t i = 0; i < g->count; i++)
                for (int k = 0; k < CLY_MODEL_KINDS; k++) {
                    const cly_model_array *a = slots[i * CLY_MODEL_KINDS + (size_t)k];
                    CHECK((a != NULL) == (expect[i][k] > 0));
                    CHECK(!a || (a->count == expect[i][k] && a->kind == (uint32_t)k &&
                                 strcmp(a->name, g->nodes[i].name) == 0));
                }
        } else {
            CHECK(strncmp(cly_last_error(NULL), "fuzz.clm: ", 10) == 0);
        }
        free(expect);
        free(slots);
    }
    cly_graph_destroy(g);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cly_model m;
    cly_status checked = cly_model_parse(data, size, "fuzz.clm", 0, &m);
    if (checked == CLY_SUCCESS)
        cly_model_free(&m);
    else
        CHECK(strncmp(cly_last_error(NULL), "fuzz.clm: ", 10) == 0);
    cly_status s = cly_model_parse(data, size, "fuzz.clm", CLY_MODEL_NO_CHECKSUMS, &m);
    CHECK(checked != CLY_SUCCESS || s == CLY_SUCCESS); /* checksums only ever refuse more */
    if (s != CLY_SUCCESS) {
        CHECK(strncmp(cly_last_error(NULL), "fuzz.clm: ", 10) == 0 && m.params == NULL && m.opt == NULL);
        return 0;
    }
    CHECK(m.text && m.text_size >= 1 && m.text_size <= CLY_NET_TEXT_MAX);
    CHECK((const uint8_t *)m.text >= data && m.text_size <= size - (size_t)((const uint8_t *)m.text - data));
    check_arrays(m.params, m.param_count, 1, data, size);
    if (m.has_optimizer)
        check_arrays(m.opt, m.opt_count, m.moments, data, size);
    bind(&m);
    cly_model_free(&m);
    return 0;
}
