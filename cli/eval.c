/* `clayer eval MODEL`: a saved model's test accuracy, confusion matrix and
 * per-class precision and recall on Fashion-MNIST (or IDX files of the same
 * layout), as text or JSON; and the evaluation loop that train shares. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

void cli_gather(const cly_dataset *d, const int64_t *idx, int64_t first, int64_t count, float *x, int32_t *y)
{
    int64_t pixels = d->c * d->h * d->w;
    for (int64_t i = 0; i < count; i++) {
        int64_t s = idx ? idx[first + i] : first + i;
        memcpy(x + i * pixels, d->images + s * pixels, (size_t)pixels * sizeof *x);
        if (y)
            y[i] = d->labels[s];
    }
}

void cli_argmax(const float *scores, int64_t count, int64_t classes, int32_t *pred)
{
    for (int64_t i = 0; i < count; i++) {
        int64_t best = 0;
        for (int64_t c = 1; c < classes; c++)
            if (scores[i * classes + c] > scores[i * classes + best])
                best = c;
        pred[i] = (int32_t)best;
    }
}

int64_t cli_evaluate(cly_net *net, const char *input, const char *scores, int64_t batch, int64_t classes,
                     const cly_dataset *d, int64_t *confusion, cly_status *s)
{
    int64_t pixels = d->c * d->h * d->w, correct = 0;
    float *x = calloc((size_t)(batch * pixels), sizeof *x), *out = malloc((size_t)(batch * classes) * sizeof *out);
    int32_t *pred = malloc((size_t)batch * sizeof *pred);
    *s = CLY_SUCCESS;
    if (!x || !out || !pred) {
        *s = CLY_ERROR_OUT_OF_HOST_MEMORY;
        correct = -1;
    }
    for (int64_t first = 0; correct >= 0 && first < d->count; first += batch) {
        int64_t n = d->count - first < batch ? d->count - first : batch;
        memset(x, 0, (size_t)(batch * pixels) * sizeof *x);
        cli_gather(d, NULL, first, n, x, NULL);
        if ((*s = cly_net_set_input(net, input, x, batch * pixels)) || (*s = cly_net_forward(net)) ||
            (*s = cly_net_get_output(net, scores, out, batch * classes))) {
            correct = -1;
            break;
        }
        cli_argmax(out, n, classes, pred);
        for (int64_t i = 0; i < n; i++) {
            int32_t truth = d->labels[first + i];
            correct += pred[i] == truth;
            if (confusion && truth >= 0 && truth < classes)
                confusion[truth * classes + pred[i]]++;
        }
    }
    free(x);
    free(out);
    free(pred);
    return correct;
}

bool cli_describe(cly_graph *g, const char **input, const char **output, int64_t *classes)
{
    *input = *output = NULL;
    for (size_t i = 0; i < cly_graph_layer_count(g); i++) {
        cly_layer_info info;
        if (cly_graph_layer_info(g, i, &info) != CLY_SUCCESS)
            return false;
        if (info.type == CLY_LAYER_INPUT && !*input)
            *input = info.name;
        if (info.is_output) {
            *output = info.name;
            *classes = info.output.c;
        }
    }
    return *input && *output;
}

static const char eval_usage[] =
    "usage: clayer eval MODEL [--device SEL] [--data DIR] [--class-names FILE] [--limit N] [--json]\n"
    "  a saved model's test accuracy, confusion matrix and per-class precision and\n"
    "  recall on the Fashion-MNIST test set\n"
    "  --device SEL        the device (default: $CLAYER_DEVICE, else the library's pick)\n"
    "  --data DIR          the test set's IDX files (t10k-images-idx3-ubyte[.gz],\n"
    "                      t10k-labels-idx1-ubyte[.gz]) from DIR instead of Debian's\n"
    "                      dataset-fashion-mnist; classes are then numbered, not named\n"
    "  --class-names FILE  class names, one a line\n"
    "  --limit N           the first N test images only (0: all)\n"
    "  --json              the results as JSON on stdout\n";

static const struct option eval_options[] = {{"device", required_argument, NULL, 'd'},
                                             {"data", required_argument, NULL, 'D'},
                                             {"class-names", required_argument, NULL, 'n'},
                                             {"json", no_argument, NULL, 'j'},
                                             {"limit", required_argument, NULL, 'l'},
                                             CLI_HELP_OPTION,
                                             {0}};
static const cli_command eval_command = {"eval", eval_usage, eval_options, "h"};

/* Fashion-MNIST's classes, in label order. */
static const char *const fashion_names[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                              "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

typedef struct class_stats {
    int64_t tp, predicted, support;
} class_stats;

static double ratio(int64_t a, int64_t b)
{
    return b > 0 ? (double)a / (double)b : 0;
}

static int digits(int64_t v)
{
    int n = 1;
    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

static void print_text(const cly_dataset *test, int64_t correct, int64_t classes, const int64_t *confusion,
                       const class_stats *st, const char *const *names)
{
    printf("test accuracy: %.2f%% (%lld/%lld)\n", 100.0 * ratio(correct, test->count), (long long)correct,
           (long long)test->count);
    /* Widths from the data: the longest name, the largest count. */
    int name_w = 0, idx_w = digits(classes - 1), cell_w = digits(classes - 1);
    for (int64_t c = 0; c < classes; c++) {
        int len = names ? (int)strlen(names[c]) : 0;
        name_w = len > name_w ? len : name_w;
        cell_w = digits(st[c].support) > cell_w ? digits(st[c].support) : cell_w;
        cell_w = digits(st[c].predicted) > cell_w ? digits(st[c].predicted) : cell_w;
    }
    int row_w = idx_w + (name_w ? 1 + name_w : 0);
    printf("\nconfusion matrix (rows: true class, columns: predicted):\n%*s", row_w, "");
    for (int64_t c = 0; c < classes; c++)
        printf(" %*lld", cell_w, (long long)c);
    printf("\n");
    for (int64_t r = 0; r < classes; r++) {
        printf("%*lld", idx_w, (long long)r);
        if (name_w)
            printf(" %-*s", name_w, names[r]);
        for (int64_t c = 0; c < classes; c++)
            printf(" %*lld", cell_w, (long long)confusion[r * classes + c]);
        printf("\n");
    }
    int sup_w = cell_w > 7 ? cell_w : 7, label_w = row_w > 5 ? row_w : 5;
    printf("\n%-*s  precision  recall  %*s\n", label_w, "class", sup_w, "support");
    for (int64_t c = 0; c < classes; c++) {
        printf("%*lld", idx_w, (long long)c);
        if (name_w)
            printf(" %-*s", name_w, names[c]);
        printf("%*s  %9.4f  %6.4f  %*lld\n", label_w - row_w, "", ratio(st[c].tp, st[c].predicted),
               ratio(st[c].tp, st[c].support), sup_w, (long long)st[c].support);
    }
}

static void print_json(const char *model, const char *dataset, const cly_dataset *test, int64_t correct,
                       int64_t classes, const int64_t *confusion, const class_stats *st, const char *const *names)
{
    printf("{\n  ");
    json_key_str(stdout, "model", model, ",\n  ");
    json_key_str(stdout, "dataset", dataset, ",\n");
    printf("  \"images\": %lld,\n  \"correct\": %lld,\n  \"accuracy\": ", (long long)test->count,
           (long long)correct);
    json_num(stdout, ratio(correct, test->count));
    printf(",\n  \"classes\": [");
    for (int64_t c = 0; c < classes; c++) {
        printf("%s\n    {\"class\": %lld, \"name\": ", c ? "," : "", (long long)c);
        if (names)
            json_string(stdout, names[c]);
        else
            fputs("null", stdout);
        json_field(stdout, ", \"precision\": ", ratio(st[c].tp, st[c].predicted));
        json_field(stdout, ", \"recall\": ", ratio(st[c].tp, st[c].support));
        printf(", \"support\": %lld, \"predicted\": %lld}", (long long)st[c].support, (long long)st[c].predicted);
    }
    printf("\n  ],\n  \"confusion\": [");
    for (int64_t r = 0; r < classes; r++) {
        printf("%s\n    [", r ? "," : "");
        for (int64_t c = 0; c < classes; c++)
            printf("%s%lld", c ? ", " : "", (long long)confusion[r * classes + c]);
        printf("]");
    }
    printf("\n  ]\n}\n");
}

int cmd_eval(int argc, char **argv)
{
    const char *path = NULL, *selector = NULL, *data_dir = NULL, *names_path = NULL;
    bool json = false;
    long long limit = 0;
    int o;
    while ((o = cli_getopt(&eval_command, argc, argv)) > 0) {
        if (o == 'd')
            selector = optarg;
        else if (o == 'D')
            data_dir = optarg;
        else if (o == 'n')
            names_path = optarg;
        else if (o == 'j')
            json = true;
        else if (o == 'l' && !cli_parse_int("eval", "--limit", optarg, 0, 1000000000, &limit))
            return EXIT_USAGE;
    }
    if (o != CLI_OPT_END)
        return cli_opt_exit(o);
    if (cli_operands(&eval_command, argc, argv, 1, &path, "the model file"))
        return EXIT_USAGE;
    cly_dataset *test = NULL;
    cly_context *ctx = NULL;
    cly_graph *g = NULL;
    cly_net *net = NULL;
    int64_t *confusion = NULL, classes = 0;
    class_stats *st = NULL;
    char **file_names = NULL;
    int rc = EXIT_RUNTIME;
    const int64_t B = 100;
    cly_status s;
    if ((s = cly_dataset_load_fashion_mnist(data_dir, false, &test)) || (s = cly_context_create(selector, &ctx))) {
        rc = cli_fail("eval", s, NULL);
        goto done;
    }
    if (limit > 0 && limit < test->count) /* the first images; the rest stay allocated */
        test->count = limit;
    if ((s = cly_model_load(ctx, path, &(cly_net_options){.batch = B}, &g, &net))) {
        rc = cli_fail("eval", s, ctx);
        goto done;
    }
    const char *input, *output;
    if (!cli_describe(g, &input, &output, &classes) || classes < 2 || classes > 1000) {
        fprintf(stderr, "clayer eval: %s does not end in C x 1 x 1 class scores (2 <= C <= 1000)\n", path);
        goto done;
    }
    if (test->classes > classes) {
        fprintf(stderr, "clayer eval: the test labels go up to %lld; %s has %lld classes\n",
                (long long)test->classes - 1, path, (long long)classes);
        goto done;
    }
    /* Names: a file's, else Fashion-MNIST's for its own test set (no
     * --data: other IDX sets, MNIST's digits say, share its layout). */
    const char *const *names = NULL;
    if (names_path) {
        if (!(file_names = cli_load_labels("eval", names_path, classes)))
            goto done;
        names = (const char *const *)file_names;
    } else if (!data_dir && classes == 10) {
        names = fashion_names;
    }
    confusion = calloc((size_t)(classes * classes), sizeof *confusion);
    st = calloc((size_t)classes, sizeof *st);
    int64_t correct = confusion && st ? cli_evaluate(net, input, output, B, classes, test, confusion, &s) : -1;
    if (correct < 0) {
        rc = cli_fail("eval", confusion && st ? s : CLY_ERROR_OUT_OF_HOST_MEMORY, ctx);
        goto done;
    }
    for (int64_t r = 0; r < classes; r++)
        for (int64_t c = 0; c < classes; c++) {
            st[r].support += confusion[r * classes + c];
            st[c].predicted += confusion[r * classes + c];
        }
    for (int64_t c = 0; c < classes; c++)
        st[c].tp = confusion[c * classes + c];
    if (json)
        print_json(path, data_dir ? data_dir : "fashion-mnist", test, correct, classes, confusion, st, names);
    else
        print_text(test, correct, classes, confusion, st, names);
    rc = 0;
done:
    cli_free_labels(file_names, classes);
    free(st);
    free(confusion);
    cly_net_destroy(net);
    cly_graph_destroy(g);
    cly_context_destroy(ctx);
    cly_dataset_destroy(test);
    return rc;
}
