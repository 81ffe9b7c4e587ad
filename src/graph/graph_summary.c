/* cly_graph_print_summary: the per-layer table of the notes' VGG-16
 * accounting (shape, activations, weights, biases, FLOPs) and its totals. */
#include "graph/graph.h"
#include "base/status.h"
#include "graph/op.h"

#include <stdio.h>
#include <string.h>

char *cly_group_digits(int64_t v, char *buf, size_t size)
{
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%lld", (long long)v);
    size_t o = 0;
    int start = 0;
    if (digits[0] == '-') {
        if (o + 1 < size)
            buf[o++] = '-';
        start = 1;
    }
    for (int i = start; i < n && o + 1 < size; i++) {
        if (i > start && (n - i) % 3 == 0 && o + 2 < size)
            buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
    return buf;
}

enum { COL_NAME, COL_TYPE, COL_SHAPE, COL_ACT, COL_W, COL_B, COL_FLOPS, COL_ALGO, COL_NOTE, NCOL };
enum { CELL = 96 };

static const char *const headers[NCOL] = {"layer",  "type",   "output C x H x W", "activations", "weights",
                                          "biases", "FLOPs", "algo",             "note"};
/* Numbers and shapes right-aligned, text left-aligned. */
static const bool right[NCOL] = {false, false, true, true, true, true, true, false, false};

static void note_add(char *note, const char *what)
{
    size_t used = strlen(note);
    snprintf(note + used, CELL - used, "%s%s", used ? ", " : "", what);
}

static void row_cells(const cly_node *n, char cell[NCOL][CELL])
{
    const cly_layer *l = &n->layer;
    snprintf(cell[COL_NAME], CELL, "%s", n->name);
    snprintf(cell[COL_TYPE], CELL, "%s", cly_layer_type_string(l->type));
    snprintf(cell[COL_SHAPE], CELL, "%lld x %lld x %lld", (long long)n->out.c, (long long)n->out.h,
             (long long)n->out.w);
    cly_group_digits(n->activations, cell[COL_ACT], CELL);
    cly_group_digits(n->weights, cell[COL_W], CELL);
    cly_group_digits(n->biases, cell[COL_B], CELL);
    cly_group_digits(n->flops, cell[COL_FLOPS], CELL);
    snprintf(cell[COL_ALGO], CELL, "%s", n->algo_text[0] ? n->algo_text : n->algo ? n->algo : "-");
    char *note = cell[COL_NOTE];
    note[0] = '\0';
    const cly_op *op = cly_op_of(l->type);
    if (op->summary_note)
        op->summary_note(n, note_add, note);
    if (n->in_place)
        note_add(note, "in place");
}

static void print_row(FILE *f, char cell[NCOL][CELL], const int *width)
{
    char row[NCOL * (CELL + 2) + 1];
    size_t used = 0;
    for (int c = 0; c < NCOL; c++)
        used += (size_t)snprintf(row + used, sizeof row - used, right[c] ? "%*s  " : "%-*s  ", width[c], cell[c]);
    while (used > 0 && row[used - 1] == ' ') /* no trailing blanks */
        used--;
    row[used] = '\0';
    fprintf(f, "%s\n", row);
}

static double mib(int64_t values)
{
    return (double)values * 4.0 / (1024.0 * 1024.0);
}

cly_status cly_graph_print_summary(const cly_graph *g, FILE *f)
{
    if (!g || !f)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT, "cly_graph_print_summary: graph and file must not be NULL");
    if (!g->inferred)
        return cly_fail(NULL, CLY_ERROR_INVALID_ARGUMENT,
                        "cly_graph_print_summary: the graph changed or was never inferred: call cly_graph_infer first");
    char cell[NCOL][CELL];
    int width[NCOL];
    for (int c = 0; c < NCOL; c++)
        width[c] = (int)strlen(headers[c]);
    /* Two passes (widths, then rows) so nothing is allocated per layer. */
    bool any_rounded = false, any_in_place = false;
    for (size_t k = 0; k < g->count; k++) {
        const cly_node *n = &g->nodes[g->order[k]];
        row_cells(n, cell);
        for (int c = 0; c < NCOL; c++) {
            int len = (int)strlen(cell[c]);
            if (len > width[c])
                width[c] = len;
        }
        any_rounded |= n->rounded;
        any_in_place |= n->in_place;
    }

    fprintf(f, "clayer net summary: %zu layers, batch %lld (shapes per sample; values and FLOPs for the batch)\n",
            g->count, (long long)g->batch);
    for (int c = 0; c < NCOL; c++)
        snprintf(cell[c], CELL, "%s", headers[c]);
    print_row(f, cell, width);
    int total_width = 0;
    for (int c = 0; c < NCOL; c++)
        total_width += width[c] + (c + 1 < NCOL ? 2 : 0);
    for (int i = 0; i < total_width; i++)
        fputc('-', f);
    fputc('\n', f);
    for (size_t k = 0; k < g->count; k++) {
        row_cells(&g->nodes[g->order[k]], cell);
        print_row(f, cell, width);
    }
    for (int i = 0; i < total_width; i++)
        fputc('-', f);
    fputc('\n', f);

    char a[32], b[32], c[32];
    fprintf(f, "total: %s weights + %s biases = %s parameters (%.1f MiB)\n",
            cly_group_digits(g->total_weights, a, sizeof a), cly_group_digits(g->total_biases, b, sizeof b),
            cly_group_digits(g->total_weights + g->total_biases, c, sizeof c),
            mib(g->total_weights + g->total_biases));
    /* The notes' VGG-16 table counts the input volume and every layer it
     * lists up to the class scores: 15,237,608 values. Its ReLUs (fused
     * here), dropouts and softmax overwrite their inputs and add nothing. */
    fprintf(f, "total: %s activation values (%.1f MiB), the input included%s\n",
            cly_group_digits(g->total_activations, a, sizeof a), mib(g->total_activations),
            any_in_place ? "; layers marked in place (a relu, dropout or softmax that alone reads\n"
                           "       its input) overwrite that input and add none"
                         : "");
    double flops = (double)g->total_flops;
    if (flops >= 1e9)
        snprintf(b, sizeof b, "%.2f GFLOP", flops / 1e9);
    else
        snprintf(b, sizeof b, "%.2f MFLOP", flops / 1e6);
    fprintf(f, "total: %s FLOPs (%s)\n", cly_group_digits(g->total_flops, a, sizeof a), b);
    fprintf(f, "FLOPs are 2 x multiply-adds for conv, local and fc; approximate elsewhere: 1 per output value\n"
               "(relu, softmax, dropout, batchnorm), 1 per window element per output (pool, lrn), 1 per input\n"
               "value (gap), inputs - 1 per output value (add), none for input and concat. Values are float32:\n"
               "4 bytes, MiB = 1024^2 bytes. algo: the convolution algorithm chosen when the net is compiled\n"
               "(\"(tuned)\": what clayer tune measured fastest for the shape, docs/tuning.md).\n");
    if (g->bn_running > 0)
        fprintf(f, "batchnorm: scale and shift are counted as biases (2 per channel); the running mean and\n"
                   "variance, %s values, are buffers, not parameters, and are not in the totals.\n",
                cly_group_digits(g->bn_running, a, sizeof a));
    if (any_rounded)
        fprintf(f, "rounded: the output size was not an integer and the layer's floor or ceil setting rounded it\n"
                   "(the notes' exact rule would reject it).\n");
    return ferror(f) ? cly_fail(NULL, CLY_ERROR_IO, "cly_graph_print_summary: writing failed") : CLY_SUCCESS;
}
