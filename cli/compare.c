/* `clayer compare A.json B.json ...`: `clayer bench --json` results side by
 * side (per-layer and total times, ratios against the first file) and an
 * optional SVG bar chart. Every file is validated against
 * docs/bench-format.md before anything is printed. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static const char compare_usage[] = "usage: clayer compare A.json B.json ... [--svg FILE]\n";

enum { MAX_FILES = 16 };

typedef struct result {
    const char *path;
    json_value *root;
    const char *net, *mode, *device, *driver;
    const char *cpu_model; /* "host" is optional: files before it lack it (NULL) */
    double batch, total_ms, images_per_s;
    const json_value *layers; /* an array of validated objects */
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

/* A layer's median time in r, or -1 when r has no such layer. */
static double layer_ms(const result *r, const char *name)
{
    for (size_t i = 0; i < r->layers->count; i++) {
        const json_value *L = &r->layers->items[i];
        if (strcmp(string_member(L, "name"), name) == 0) {
            double ms = -1;
            number_member(L, "median_ms", &ms);
            return ms;
        }
    }
    return -1;
}

/* Every layer name in order of first appearance across the files. */
static const char **layer_union(const result *r, size_t files, size_t *count)
{
    size_t cap = 0;
    for (size_t f = 0; f < files; f++)
        cap += r[f].layers->count;
    const char **names = malloc((cap ? cap : 1) * sizeof *names);
    *count = 0;
    if (!names)
        return NULL;
    for (size_t f = 0; f < files; f++)
        for (size_t i = 0; i < r[f].layers->count; i++) {
            const char *name = string_member(&r[f].layers->items[i], "name");
            bool seen = false;
            for (size_t k = 0; k < *count && !seen; k++)
                seen = strcmp(names[k], name) == 0;
            if (!seen)
                names[(*count)++] = name;
        }
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

static void print_table(const result *r, size_t files, const char **names, size_t n)
{
    for (size_t f = 0; f < files; f++)
        printf("%c: %s: %s, batch %.0f, %s, %s (driver %s)%s%s\n", (int)('A' + f), r[f].path, r[f].net, r[f].batch,
               r[f].mode, r[f].device, r[f].driver, r[f].cpu_model ? ", host CPU " : "",
               r[f].cpu_model ? r[f].cpu_model : "");
    printf("\n%-20s", "layer (ms)");
    for (size_t f = 0; f < files; f++) {
        printf(" %10c", (int)('A' + f));
        if (f)
            printf("      %c/A", (int)('A' + f));
    }
    printf("\n");
    for (size_t i = 0; i < n; i++) {
        printf("%-20s", names[i]);
        double base = layer_ms(&r[0], names[i]);
        for (size_t f = 0; f < files; f++)
            print_cell(layer_ms(&r[f], names[i]), base, f > 0);
        printf("\n");
    }
    printf("%-20s", "total (ms/batch)");
    for (size_t f = 0; f < files; f++)
        print_cell(r[f].total_ms, r[0].total_ms, f > 0);
    printf("\n%-20s", "images/s");
    for (size_t f = 0; f < files; f++) {
        printf(" %10.1f", r[f].images_per_s);
        if (f)
            printf(" %7.2fx", r[0].images_per_s > 0 ? r[f].images_per_s / r[0].images_per_s : 0.0);
    }
    printf("\n\nratios: time / A's time (below 1: faster than A); for images/s, above 1 is faster\n");
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
    int height = 40 + 20 * (int)files + 24 + (int)n * ((int)files * 12 + 8) + 10 + 24 + (int)files * 12 + 8 + 20;
    fprintf(f,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"820\" height=\"%d\" viewBox=\"0 0 820 %d\" "
            "font-family=\"sans-serif\" font-size=\"11\">\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
            height, height);
    int y = 10;
    for (size_t k = 0; k < files; k++, y += 20) { /* the legend */
        fprintf(f, "<rect x=\"10\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/>\n", y, svg_colour(k));
        fprintf(f, "<text x=\"28\" y=\"%d\">%c: ", y + 10, (int)('A' + k));
        svg_text(f, r[k].path);
        fputs(": ", f);
        svg_text(f, r[k].net);
        fprintf(f, ", batch %.0f, ", r[k].batch);
        svg_text(f, r[k].mode);
        fputs(", ", f);
        svg_text(f, r[k].device);
        fputs("</text>\n", f);
    }
    y += 10;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < files; k++)
            v[i * files + k] = layer_ms(&r[k], names[i]);
    y = svg_panel(f, "per-layer median time (ms)", 3, names, n, v, files, y);
    for (size_t k = 0; k < files; k++)
        v[k] = r[k].total_ms;
    const char *total_label = "total";
    svg_panel(f, "median time per batch (ms)", 3, &total_label, 1, v, files, y);
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
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--svg") == 0 && i + 1 < argc) {
            svg = argv[++i];
        } else if (argv[i][0] != '-' && files < MAX_FILES) {
            paths[files++] = argv[i];
        } else {
            fprintf(stderr, "clayer compare: unexpected argument '%s' (at most %d files)\n%s", argv[i], MAX_FILES,
                    compare_usage);
            return EXIT_USAGE;
        }
    }
    if (files < 1) {
        fprintf(stderr, "%s", compare_usage);
        return EXIT_USAGE;
    }
    result r[MAX_FILES] = {{0}};
    int rc = 0;
    for (size_t k = 0; k < files && rc == 0; k++)
        if (!load_result(paths[k], &r[k]))
            rc = EXIT_RUNTIME;
    size_t n = 0;
    const char **names = rc == 0 ? layer_union(r, files, &n) : NULL;
    if (rc == 0 && !names) {
        fprintf(stderr, "clayer compare: out of memory\n");
        rc = EXIT_RUNTIME;
    }
    if (rc == 0) {
        print_table(r, files, names, n);
        if (svg && (rc = write_svg(svg, r, files, names, n)) == 0)
            printf("chart: %s\n", svg);
    }
    free(names);
    for (size_t k = 0; k < files; k++)
        json_free(r[k].root);
    return rc;
}
