/* libFuzzer harness for the ONNX importer (cly_graph_import_onnx_buffer's
 * cly_onnx_import; inputs of odd length with batch-norm folding): the
 * wire-format pre-scan, protobuf-c's unpack, the model and tensor checks,
 * every operator mapping and the graph inference at the end. No
 * device. Seeds: fuzz/corpus/onnx/ (models written by tests/io/make_onnx.py).
 * A success must give an inferred graph whose weights match the layers'
 * array counts; a failure a message naming the source. Any crash,
 * sanitizer report, leak or broken invariant is a finding. */
#include "io/model_file.h"
#include "io/onnx.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)           \
    do {                      \
        if (!(cond))          \
            __builtin_trap(); \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cly_graph *g = NULL;
    cly_weights *w = NULL;
    cly_onnx_options opts = {.fold_batchnorm = size & 1};
    if (cly_onnx_import(data, size, "fuzz.onnx", NULL, &opts, &g, &w) != CLY_SUCCESS) {
        CHECK(g == NULL && w == NULL);
        CHECK(strncmp(cly_last_error(NULL), "fuzz.onnx: ", 11) == 0);
        return 0;
    }
    CHECK(g && w && g->inferred && g->count >= 2 && w->output_count >= 1);
    int64_t(*expect)[CLY_MODEL_KINDS] = calloc(g->count, sizeof *expect);
    CHECK(expect);
    cly_model_expected_counts(g, expect);
    size_t needed = 0;
    for (size_t i = 0; i < g->count; i++)
        for (int k = 0; k < CLY_MODEL_KINDS; k++)
            needed += expect[i][k] > 0;
    CHECK(needed == w->count); /* one array per (layer, kind) the net has */
    for (size_t i = 0; i < w->count; i++) {
        ptrdiff_t id = cly_graph_find(g, w->arrays[i].layer);
        CHECK(id >= 0 && expect[id][w->arrays[i].kind] == w->arrays[i].count);
    }
    for (size_t i = 0; i < w->output_count; i++)
        CHECK(cly_graph_find(g, w->outputs[i]) > 0);
    free(expect);
    cly_weights_destroy(w);
    cly_graph_destroy(g);
    return 0;
}
