/* Writes the seed corpus of fuzz_model (fuzz/corpus/model/) with the
 * library's own writer: small valid model files, with and without
 * optimiser state. Usage: model_seeds DIR. No OpenCL needed. */
#include "io/model_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One file: the graph `text`, its arrays filled with a simple ramp. */
static int seed(const char *dir, const char *file, const char *text, int optimizer, uint32_t moments)
{
    cly_graph *g;
    if (cly_graph_parse(text, strlen(text), file, &g) != CLY_SUCCESS || cly_graph_infer(g, 1) != CLY_SUCCESS) {
        fprintf(stderr, "%s\n", cly_last_error(NULL));
        return 1;
    }
    int64_t(*expect)[CLY_MODEL_KINDS] = calloc(g->count, sizeof *expect);
    cly_model_expected_counts(g, expect);
    cly_model_array *a = calloc(g->count * CLY_MODEL_KINDS, sizeof *a);
    float *values = calloc(1 << 16, sizeof *values);
    for (int i = 0; i < 1 << 16; i++)
        values[i] = (float)(i % 17) / 8.0f - 1.0f; /* little-endian hosts only: a seed tool */
    size_t n = 0;
    for (size_t i = 0; i < g->count; i++)
        for (int k = 0; k < CLY_MODEL_KINDS; k++)
            if (expect[i][k] > 0) {
                snprintf(a[n].name, sizeof a[n].name, "%s", g->nodes[i].name);
                a[n].kind = (uint32_t)k;
                a[n].count = expect[i][k];
                a[n].data[0] = a[n].data[1] = (const unsigned char *)values;
                n++;
            }
    cly_model m = {.text = text, .text_size = strlen(text), .params = a, .param_count = n};
    if (optimizer >= 0) {
        m.has_optimizer = true;
        m.optimizer = (uint32_t)optimizer;
        m.moments = moments;
        m.updates = 42;
        m.opt = a;
        m.opt_count = n;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    cly_status s = cly_model_write(&m, path);
    if (s != CLY_SUCCESS)
        fprintf(stderr, "%s\n", cly_last_error(NULL));
    free(values);
    free(a);
    free(expect);
    cly_graph_destroy(g);
    return s != CLY_SUCCESS;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: model_seeds DIR\n");
        return 2;
    }
    const char *small = "input data c=1 h=6 w=6\n"
                        "conv c1 < data filters=2 size=3\n"
                        "batchnorm bn < c1\n"
                        "relu r < bn\n"
                        "pool p < r max size=2 stride=2\n"
                        "fc f < p outputs=3\n"
                        "softmax prob < f\n";
    const char *wide = "input data c=2 h=5 w=5\n"
                       "local l < data filters=2 size=3 nobias\n"
                       "lrn n < l size=3 alpha=1e-4 beta=0.75 k=2\n"
                       "conv c < data filters=2 size=3 groups=2 nobias relu\n"
                       "add s < n c\n"
                       "concat cat < s c\n"
                       "gap g < cat\n"
                       "dropout d < g p=0.5\n"
                       "fc f < d outputs=2 nobias\n";
    return seed(argv[1], "small.clm", small, -1, 0) | seed(argv[1], "small-adam.clm", small, 1, 2) |
           seed(argv[1], "wide-sgd.clm", wide, 0, 1) | seed(argv[1], "wide.clm", wide, -1, 0);
}
