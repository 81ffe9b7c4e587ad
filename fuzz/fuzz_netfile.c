/* libFuzzer harness for the net format: parse untrusted bytes; on success
 * infer at batch 1 and print the summary to /dev/null; then destroy. Any
 * crash, sanitizer report, leak or broken invariant is a finding. */
#include "graph/graph.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* What a successful inference promises, checked for every layer. */
static void check_invariants(const cly_graph *g)
{
    for (size_t i = 0; i < cly_graph_layer_count(g); i++) {
        cly_layer_info info;
        if (cly_graph_layer_info(g, i, &info) != CLY_SUCCESS)
            __builtin_trap();
        cly_shape s = info.output;
        if (s.n != 1 || s.c < 1 || s.h < 1 || s.w < 1 || info.activations < 1 || info.weights < 0 ||
            info.biases < 0 || info.flops < 0)
            __builtin_trap();
        if (info.activations / s.n / s.c / s.h != s.w)
            __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *null;
    if (!null)
        null = fopen("/dev/null", "w");
    cly_graph *g = NULL;
    if (cly_graph_parse((const char *)data, size, "fuzz.net", &g) != CLY_SUCCESS) {
        /* Every parse error names the source. */
        if (strncmp(cly_last_error(NULL), "fuzz.net", 8) != 0)
            __builtin_trap();
        return 0;
    }
    if (cly_graph_infer(g, 1) == CLY_SUCCESS) {
        check_invariants(g);
        if (null && cly_graph_print_summary(g, null) != CLY_SUCCESS)
            __builtin_trap();
    }
    cly_graph_destroy(g);
    return 0;
}
