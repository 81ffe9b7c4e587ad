/* `clayer compare A.json B.json ...`: `clayer bench --json` results side by
 * side (per-layer and total times, ratios against the first file) and an
 * optional SVG bar chart. Every file is validated against
 * docs/bench-format.md before anything is printed. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static const char compare_usage[] =
    "usage: clayer compare A.json B.json ... [--svg FILE]\n"
    "  `clayer bench --json` results side by side: per-layer and total times, the\n"
    "  algorithm each layer ran, ratios against the first file (at most 16 files)\n"
    "  --svg FILE  also a bar chart: times per layer and in total, and the ratios\n";

static const struct option compare_options[] = {{"svg", required_argument, NULL, 's'}, CLI_HELP_OPTION, {0}};
static const cli_command compare_command = {"compare", compare_usage, compare_options, "h"};

enum { MAX_FILES = 16 };

typedef struct result {
    const char *path;
    json_value *root;
    const char *net, *mode, *device, *driver;
    const char *cpu_model; /* "host" is optional: files before it lack it (NULL) */
    double batch, total_ms, images_per_s;
    const json_value *layers; /* an array of validated objects */
    size_t *by_name;          /* layer indices sorted by name (ties: file order), for layer_find */
} result;

static const char *string_member(const json_value *obj, const char *key)
{
    const json_value *v = json_get(obj, key);
    return v && v->type == JSON_STRING ? v->string : NULL;
}

static bool number_member(const json_value *obj, const char *key, double *out)
{
    const json_value *v = json_get(obj, key);
    if (!v || v->type != JSON_NUMBER || !(v->number >= 0))
        return false;
    *out = v->number;
    return true;
}

/* Load and validate one file; prints why it is unusable. */
static bool load_result(const char *path, result *r)
{
    char err[256];
    r->path = path;
    r->root = json_load(path, err, sizeof err);
    if (!r->root) {
        fprintf(stderr, "clayer compare: %s: %s\n", path, err);
        return false;
    }
    const json_value *root = r->root, *v;
    const char *why = NULL;
    const json_value *dev = json_get(root, "device"), *totals = json_get(root, "totals");
    if (root->type != JSON_OBJECT)
        why = "not a JSON object";
    else if (!string_member(root, "schema") || strcmp(string_member(root, "schema"), "clayer-bench") != 0)
        why = "\"schema\" is not \"clayer-bench\": not a clayer bench result";
    else if (!(v = json_get(root, "schema_version")) || v->type != JSON_NUMBER)
        why = "no numeric \"schema_version\"";
    else if (v->number != 1)
        why = "unsupported \"schema_version\" (this clayer reads version 1)";
    else if (!(r->net = string_member(root, "net")) || !(r->mode = string_member(root, "mode")))
        why = "\"net\" or \"mode\" missing or not a string";
    else if (!number_member(root, "batch", &r->batch) || r->batch < 1)
        why = "\"batch\" missing or not a positive number";
    else if (!dev || !(r->device = string_member(dev, "name")) || !(r->driver = string_member(dev, "driver_version")))
        why = "\"device\" lacks a \"name\" or \"driver_version\" string";
    else if (!number_member(totals, "median_ms", &r->total_ms) ||
             !number_member(totals, "images_per_s", &r->images_per_s))
        why = "\"totals\" lacks \"median_ms\" or \"images_per_s\" (numbers >= 0)";
    else if (!(r->layers = json_get(root, "layers")) || r->layers->type != JSON_ARRAY)
        why = "\"layers\" missing or not an array";
    if (!why && (v = json_get(root, "host")) && v->type == JSON_OBJECT)
        r->cpu_model = string_member(v, "cpu_model");
    for (size_t i = 0; !why && i < r->layers->count; i++) {
        const json_value *L = &r->layers->items[i];
        double ms;
        if (!string_member(L, "name") || !string_member(L, "type") || !number_member(L, "median_ms", &ms)) {
            fprintf(stderr, "clayer compare: %s: layer %zu lacks a \"name\", \"type\" or \"median_ms\" >= 0\n", path,
                    i);
            return false;
        }
    }
    if (why) {
        fprintf(stderr, "clayer compare: %s: %s\n", path, why);
        return false;
    }
    return true;
}

static const char *layer_name(const result *r, size_t i)
{
    return string_member(&r->layers->items[i], "name");
}

/* qsort has no context argument: the file being indexed. */
static const result *sorting;

static int by_name_cmp(const void *a, const void *b)
{
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    int c = strcmp(layer_name(sorting, i), layer_name(sorting, j));
    return c ? c : (i > j) - (i < j);
}

/* Sort the file's layers by name once, so each lookup is a binary search:
 * nets of 10^5 layers compare in well under a second, not minutes. */
static bool index_layers(result *r)
{
    size_t n = r->layers->count;
    r->by_name = malloc((n ? n : 1) * sizeof *r->by_name);
    if (!r->by_name)
        return false;
    for (size_t i = 0; i < n; i++)
        r->by_name[i] = i;
    sorting = r;
    qsort(r->by_name, n, sizeof *r->by_name, by_name_cmp);
    return true;
}

/* The first layer of r named `name`, or NULL. */
static const json_value *layer_find(const result *r, const char *name)
{
    size_t lo = 0, hi = r->layers->count; /* lower bound: the first of equal names */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(layer_name(r, r->by_name[mid]), name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < r->layers->count && strcmp(layer_name(r, r->by_name[lo]), name) == 0)
        return &r->layers->items[r->by_name[lo]];
    return NULL;
}

/* A layer's median time in r, or -1 when r has no such layer. */
static double layer_ms(const result *r, const char *name)
{
    const json_value *L = layer_find(r, name);
    double ms = -1;
    if (L)
        number_member(L, "median_ms", &ms);
    return ms;
}

/* The algorithm the layer ran in r ("tuned" text first), or NULL. */
static const char *layer_algo(const result *r, const char *name)
{
    const json_value *L = layer_find(r, name);
    const char *t = L ? string_member(L, "tuned") : NULL;
    return t ? t : L ? string_member(L, "algo") : NULL;
}

typedef struct name_ref {
    const char *name;
    size_t order; /* position over all files, in turn */
} name_ref;

static int ref_by_name(const void *a, const void *b)
{
    const name_ref *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->order > y->order) - (x->order < y->order);
}

static int ref_by_order(const void *a, const void *b)
{
    const name_ref *x = a, *y = b;
    return (x->order > y->order) - (x->order < y->order);
}

/* Every layer name in order of first appearance across the files: sorted
 * by name to drop repeats, then back into that order. */
static const char **layer_union(const result *r, size_t files, size_t *count)
{
    size_t cap = 0, n = 0;
    for (size_t f = 0; f < files; f++)
        cap += r[f].layers->count;
    name_ref *refs = malloc((cap ? cap : 1) * sizeof *refs);
    const char **names = malloc((cap ? cap : 1) * sizeof *names);
    *count = 0;
    if (!refs || !names) {
        free(refs);
        free(names);
        return NULL;
    }
    for (size_t f = 0; f < files; f++)
        for (size_t i = 0; i < r[f].layers->count; i++, n++)
            refs[n] = (name_ref){layer_name(&r[f], i), n};
    qsort(refs, n, sizeof *refs, ref_by_name);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || strcmp(refs[i].name, refs[i - 1].name) != 0)
            refs[kept++] = refs[i];
    qsort(refs, kept, sizeof *refs, ref_by_order);
    for (size_t i = 0; i < kept; i++)
        names[i] = refs[i].name;
    *count = kept;
    free(refs);
    return names;
}

static void print_cell(double ms, double base, bool ratio)
{
    if (ms < 0)
        printf(" %10s", "-");
    else
        printf(" %10.3f", ms);
    if (ratio) {
        if (ms >= 0 && base > 0)
            printf(" %7.2fx", ms / base);
        else
            printf(" %8s", "-");
    }
}

/* The layer's algorithm: one name when every file that has one agrees,
 * else each file's in turn ("direct, gemm1x1"; "-": none). */
static void algo_text(const result *r, size_t files, const char *name, char *buf, size_t size)
{
    const char *first = NULL;
    bool same = true;
    for (size_t f = 0; f < files; f++) {
        const char *a = layer_algo(&r[f], name);
        if (a && first && strcmp(a, first) != 0)
            same = false;
        if (a && !first)
            first = a;
    }
    if (same) {
        snprintf(buf, size, "%s", first ? first : "-");
        return;
    }
    size_t used = 0;
    buf[0] = '\0';
    for (size_t f = 0; f < files && used < size; f++) {
        const char *a = layer_algo(&r[f], name);
        int k = snprintf(buf + used, size - used, "%s%s", f ? ", " : "", a ? a : "-");
        used += k > 0 ? (size_t)k : 0;
    }
}

static void print_table(const result *r, size_t files, const char **names, size_t n)
{
    for (size_t f = 0; f < files; f++)
        printf("%c: %s: %s, batch %.0f, %s, %s (driver %s)%s%s\n", (int)('A' + f), r[f].path, r[f].net, r[f].batch,
               r[f].mode, r[f].device, r[f].driver, r[f].cpu_model ? ", host CPU " : "",
               r[f].cpu_model ? r[f].cpu_model : "");
    /* Column widths from the names and algorithms (up to a limit). */
    int name_w = 20, algo_w = 4;
    char algo[256];
    for (size_t i = 0; i < n; i++) {
        int len = (int)strlen(names[i]);
        name_w = len > name_w ? (len < 48 ? len : 48) : name_w;
        algo_text(r, files, names[i], algo, sizeof algo);
        len = (int)strlen(algo);
        algo_w = len > algo_w ? (len < 60 ? len : 60) : algo_w;
    }
    printf("\n%-*s %-*s", name_w, "layer (ms)", algo_w, "algo");
    for (size_t f = 0; f < files; f++) {
        printf(" %10c", (int)('A' + f));
        if (f)
            printf("      %c/A", (int)('A' + f));
    }
    printf("\n");
    for (size_t i = 0; i < n; i++) {
        algo_text(r, files, names[i], algo, sizeof algo);
        printf("%-*s %-*s", name_w, names[i], algo_w, algo);
        double base = layer_ms(&r[0], names[i]);
        for (size_t f = 0; f < files; f++)
            print_cell(layer_ms(&r[f], names[i]), base, f > 0);
        printf("\n");
    }
    printf("%-*s %-*s", name_w, "total (ms/batch)", algo_w, "");
    for (size_t f = 0; f < files; f++)
        print_cell(r[f].total_ms, r[0].total_ms, f > 0);
    printf("\n%-*s %-*s", name_w, "images/s", algo_w, "");
    for (size_t f = 0; f < files; f++) {
        printf(" %10.1f", r[f].images_per_s);
        if (f)
            printf(" %7.2fx", r[0].images_per_s > 0 ? r[f].images_per_s / r[0].images_per_s : 0.0);
    }
    printf("\n\nratios: time / A's time (below 1: faster than A); for images/s, above 1 is faster\n");
}

/* A legend entry's text without its letter: two files of the same text
 * share one entry ("A, C: ..."), not two identical ones. */
static void legend_text(FILE *f, const result *r)
{
    svg_text(f, r->path);
    fputs(": ", f);
    svg_text(f, r->net);
    fprintf(f, ", batch %.0f, ", r->batch);
    svg_text(f, r->mode);
    fputs(", ", f);
    svg_text(f, r->device);
}

static bool same_legend(const result *a, const result *b)
{
    return strcmp(a->path, b->path) == 0 && strcmp(a->net, b->net) == 0 && a->batch == b->batch &&
           strcmp(a->mode, b->mode) == 0 && strcmp(a->device, b->device) == 0;
}

static int write_svg(const char *path, const result *r, size_t files, const char **names, size_t n)
{
    double *v = malloc((n ? n : 1) * files * sizeof *v);
    if (!v) {
        fprintf(stderr, "clayer compare: out of memory\n");
        return EXIT_RUNTIME;
    }
    FILE *f = fopen(path, "w");
    if (!f) {
        free(v);
        fprintf(stderr, "clayer compare: cannot write '%s'\n", path);
        return EXIT_RUNTIME;
    }
    size_t entries = 0;
    for (size_t k = 0; k < files; k++) {
        bool repeat = false;
        for (size_t j = 0; j < k && !repeat; j++)
            repeat = same_legend(&r[j], &r[k]);
        entries += !repeat;
    }
    int height = 20 + 20 * (int)entries + svg_panel_height(n, files) + svg_panel_height(1, files) +
                 (files > 1 ? svg_panel_height(n + 1, files - 1) : 0) + 10;
    fprintf(f,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"820\" height=\"%d\" viewBox=\"0 0 820 %d\" "
            "font-family=\"sans-serif\" font-size=\"11\">\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
            height, height);
    int y = 10;
    for (size_t k = 0; k < files; k++) { /* the legend: each distinct entry once, with all its swatches */
        bool repeat = false;
        for (size_t j = 0; j < k && !repeat; j++)
            repeat = same_legend(&r[j], &r[k]);
        if (repeat)
            continue;
        int x = 10;
        for (size_t j = k; j < files; j++)
            if (j == k || same_legend(&r[j], &r[k])) {
                fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/>\n", x, y, svg_colour(j));
                x += 16;
            }
        fprintf(f, "<text x=\"%d\" y=\"%d\">", x + 2, y + 10);
        for (size_t j = k, first = 1; j < files; j++)
            if (j == k || same_legend(&r[j], &r[k])) {
                fprintf(f, "%s%c", first ? "" : ", ", (int)('A' + j));
                first = 0;
            }
        fputs(": ", f);
        legend_text(f, &r[k]);
        fputs("</text>\n", f);
        y += 20;
    }
    y += 10;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < files; k++)
            v[i * files + k] = layer_ms(&r[k], names[i]);
    y = svg_panel(f, "per-layer median time (ms)", 3, names, n, v, files, 0, 0, y);
    for (size_t k = 0; k < files; k++)
        v[k] = r[k].total_ms;
    const char *total_label = "total";
    y = svg_panel(f, "median time per batch (ms)", 3, &total_label, 1, v, files, 0, 0, y);
    if (files > 1) { /* each file's time over A's, per layer and in total; the dashed line is 1 */
        const char **labels = malloc((n + 1) * sizeof *labels);
        double *q = malloc((n + 1) * (files - 1) * sizeof *q);
        if (labels && q) {
            for (size_t i = 0; i <= n; i++) {
                double base = i < n ? layer_ms(&r[0], names[i]) : r[0].total_ms;
                labels[i] = i < n ? names[i] : "total";
                for (size_t k = 1; k < files; k++) {
                    double ms = i < n ? layer_ms(&r[k], names[i]) : r[k].total_ms;
                    q[i * (files - 1) + k - 1] = ms >= 0 && base > 0 ? ms / base : -1;
                }
            }
            svg_panel(f, "time / A's time (below 1: faster than A)", 2, labels, n + 1, q, files - 1, 1, 1.0, y);
        }
        free(labels);
        free(q);
        if (!labels || !q) {
            fclose(f);
            free(v);
            fprintf(stderr, "clayer compare: out of memory\n");
            return EXIT_RUNTIME;
        }
    }
    fputs("</svg>\n", f);
    free(v);
    if (ferror(f) | fclose(f)) {
        fprintf(stderr, "clayer compare: writing '%s' failed\n", path);
        return EXIT_RUNTIME;
    }
    return 0;
}

int cmd_compare(int argc, char **argv)
{
    const char *paths[MAX_FILES], *svg = NULL;
    size_t files = 0;
    int o;
    while ((o = cli_getopt(&compare_command, argc, argv)) > 0)
        if (o == 's')
            svg = optarg;
    if (o != CLI_OPT_END)
        return cli_opt_exit(o);
    if (optind >= argc)
        return cli_usage_error(&compare_command, "no bench file given");
    if (argc - optind > MAX_FILES)
        return cli_usage_error(&compare_command, "%d files given; at most %d", argc - optind, MAX_FILES);
    for (int i = optind; i < argc; i++)
        paths[files++] = argv[i];
    result r[MAX_FILES] = {{0}};
    int rc = 0;
    for (size_t k = 0; k < files && rc == 0; k++)
        if (!load_result(paths[k], &r[k]))
            rc = EXIT_RUNTIME;
    for (size_t k = 0; k < files && rc == 0; k++)
        if (!index_layers(&r[k])) {
            fprintf(stderr, "clayer compare: out of memory\n");
            rc = EXIT_RUNTIME;
        }
    size_t n = 0;
    const char **names = rc == 0 ? layer_union(r, files, &n) : NULL;
    if (rc == 0 && !names) {
        fprintf(stderr, "clayer compare: out of memory\n");
        rc = EXIT_RUNTIME;
    }
    /* Ratios of two different nets are seldom what was meant: say so. */
    for (size_t k = 1; k < files && rc == 0; k++)
        if (strcmp(r[k].net, r[0].net) != 0)
            fprintf(stderr, "clayer compare: warning: %c (%s) is net '%s', A (%s) is net '%s': the ratios compare "
                            "different nets\n",
                    (int)('A' + k), r[k].path, r[k].net, r[0].path, r[0].net);
    if (rc == 0) {
        print_table(r, files, names, n);
        if (svg && (rc = write_svg(svg, r, files, names, n)) == 0)
            printf("chart: %s\n", svg);
    }
    free(names);
    for (size_t k = 0; k < files; k++) {
        free(r[k].by_name);
        json_free(r[k].root);
    }
    return rc;
}
