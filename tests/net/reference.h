/* A naive host forward pass of a whole inferred graph, in double, straight
 * from the formulas in clayer.h and docs/net-format.md. Tests compare the
 * device executor against it. */
#ifndef CLY_TEST_REFERENCE_H
#define CLY_TEST_REFERENCE_H

#include "graph/graph.h"

/* Parameters of node i in cly_param_kind order (NULL where absent). */
typedef struct ref_params {
    const float *p[4];
} ref_params;

/* Compute every node's output. `inputs[i]` holds INPUT node i's data;
 * `params[i]` node i's parameters. Returns out[i] (malloc'd, node order;
 * the caller frees each and the array). */
double **ref_forward(const cly_graph *g, const float *const *inputs, const ref_params *params);

#endif
