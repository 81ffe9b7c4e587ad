/* The op descriptor: everything one layer type is, filled in by its file in
 * src/ops/ and reached through cly_op_of(type). The graph code (add, infer),
 * the net-file parser and writer, and the net code (compile, forward,
 * backward, initialisation) loop over descriptors with no per-type switch.
 * No OpenCL type appears here: the net hooks take the opaque cly_net. */
#ifndef CLY_GRAPH_OP_H
#define CLY_GRAPH_OP_H

#include "base/names.h"
#include "graph/graph.h"

#include <stddef.h>

/* ---- net-file keys: one table per type, read by the parser and the writer */

typedef enum cly_key_kind {
    CLY_KEY_FLAG,   /* `nobias`: sets a bool */
    CLY_KEY_CHOICE, /* `avg`: stores `value` in an enum field; one choice per field */
    CLY_KEY_INT,    /* key=N: int64_t */
    CLY_KEY_HW,     /* key=A or key=HxW: cly_hw */
    CLY_KEY_PAD,    /* key=P, PHxPW or TOP,BOTTOM,LEFT,RIGHT: cly_pad */
    CLY_KEY_REAL,   /* key=decimal: double */
    CLY_KEY_ENUM,   /* key=NAME: an enum field, NAME from `choices` */
} cly_key_kind;

typedef struct cly_key {
    const char *name;
    cly_key_kind kind;
    size_t offset;              /* of the field in cly_layer */
    bool required;              /* the parser refuses a line without it; the writer always writes it */
    double dflt;                /* the writer leaves the key out at this value (HW: both sides; PAD:
                                   every side; CHOICE: the field's default value) */
    const char *const *choices; /* ENUM: value i is choices[i], NULL-terminated */
    int value;                  /* CHOICE: the value it stores */
    const char *needs;          /* a CHOICE key this one is valid with only ("avg") */
    const char *needs_text;     /* the refusal: "applies to avg pooling only" */
    const char *hint;           /* INT: the refusal of an HxW value */
} cly_key;

/* ---- the descriptor */

enum cly_op_flags {
    CLY_OP_IN_PLACE = 1u << 0,           /* may overwrite its input when it is that input's only reader */
    CLY_OP_IN_PLACE_INFERENCE = 1u << 1, /* the same, in inference nets only (batch norm) */
    CLY_OP_FUSES_RELU = 1u << 2,         /* a ReLU reading only this output runs in its epilogue */
    CLY_OP_NORM_PARAMS = 1u << 3,        /* parameters are scale, shift, running mean and variance per channel:
                                            initialised 1, 0, 0, 1; no weight decay */
};

/* What an op's backward reads besides dy and its parameters (a plan
 * requires those tensors from its caller). */
enum cly_op_backward_reads {
    CLY_BWD_READS_X = 1u << 0,  /* the forward's input, for the input gradient (the parameter gradients
                                   always read it) */
    CLY_BWD_READS_Y = 1u << 1,  /* the forward's output */
    CLY_BWD_MASKS_DY = 1u << 2, /* undoes a fused ReLU by masking dy in place (with y) */
};

typedef struct cly_op {
    const char *name; /* cly_layer_type_string, the net-file keyword */
    size_t min_inputs, max_inputs;
    unsigned flags;
    const cly_key *keys; /* in the order the writer writes them; ends with {NULL} */
    /* Check a layer being added and apply its defaults; the message names it. */
    cly_status (*check)(cly_layer *l);
    /* Output shape and costs of n, whose inputs are inferred. */
    cly_status (*infer)(cly_graph *g, cly_node *n);
    /* Net creation, in topological order: geometry, algorithm, parameter
     * sizes (default: the node's weights and biases), state kept for
     * backward and workspace, into the net's per-layer record. NULL: none. */
    cly_status (*compile)(cly_net *net, size_t id);
    /* Enqueue the forward pass (a training one when the net says so). NULL: nothing to do. */
    cly_status (*forward)(cly_net *net, size_t id);
    /* Enqueue the backward pass: input gradients where wanted, parameter
     * gradients always. pos[i]: node i's topological position. NULL: no inputs. */
    cly_status (*backward)(cly_net *net, size_t id, const int64_t *pos);
    /* Fan-in and fan-out of one weight for initialisation. NULL: a weight
     * feeds each output channel from weights/outputs inputs. */
    void (*fans)(const cly_net *net, size_t id, int64_t *fan_in, int64_t *fan_out);
    /* The summary's note on an inferred node ("avg", "+relu", "rounded:
     * floor"), written with note(buf, text) for each part. NULL: none. */
    void (*summary_note)(const cly_node *n, void (*note)(char *buf, const char *text), char *buf);
    /* cly_op_backward_reads flags of a node. NULL: none. */
    unsigned (*backward_reads)(const cly_node *n);
} cly_op;

/* The table, generated from src/ops/ops.def (ops/table.c). */
extern const cly_op *const cly_ops[CLY_LAYER_TYPE_COUNT];

static inline const cly_op *cly_op_of(cly_layer_type type)
{
    return cly_ops[type];
}

/* A ReLU without bound or slope: the one a conv or FC epilogue can fuse. */
static inline bool cly_relu_is_plain(const cly_layer *l)
{
    return l->type == CLY_LAYER_RELU && l->p.relu.max == 0 && l->p.relu.slope == 0;
}

/* Elements of parameter array `kind` of an inferred node: its weights and
 * biases, or for CLY_OP_NORM_PARAMS ops one per channel in each of the four
 * arrays. The net's layout and the model-file loader both count this way. */
static inline int64_t cly_node_param_count(const cly_node *n, cly_param_kind kind)
{
    if (cly_op_of(n->layer.type)->flags & CLY_OP_NORM_PARAMS)
        return n->out.c;
    return kind == CLY_PARAM_WEIGHTS ? n->weights : kind == CLY_PARAM_BIAS ? n->biases : 0;
}

#endif
