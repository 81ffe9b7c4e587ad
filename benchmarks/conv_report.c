/* conv_bench's table, JSON and SVG (conv_report.h); the JSON and SVG
 * primitives are the clayer CLI's (cli/json.c, cli/svg.c). */
#include "conv_report.h"
#include "cli.h"

#include <math.h>
#include <stdlib.h>

const char *conv_series_name(int series)
{
    if (series == SERIES_CONVGEMM)
        return "clblast_convgemm";
    if (series == SERIES_IM2COL_SGEMM)
        return "clblast_im2col_sgemm";
    if (series == SERIES_ONEDNN_BLOCKED)
        return "onednn_blocked";
    if (series == SERIES_ONEDNN_PLAIN)
        return "onednn_plain";
    return cly_conv_algo_string((cly_conv_algo)series);
}

cly_conv_algo conv_row_best(const conv_row *r)
{
    cly_conv_algo best = CLY_CONV_AUTO;
    for (int a = SERIES_FIRST; a < CLY_CONV_ALGO_COUNT; a++)
        if (r->ms[a] > 0 && (best == CLY_CONV_AUTO || r->ms[a] < r->ms[best]))
            best = (cly_conv_algo)a;
    return best;
}

double conv_row_speedup(const conv_row *r, int series, int reference)
{
    return r->ms[series] > 0 && r->ms[reference] > 0 ? r->ms[reference] / r->ms[series] : -1;
}

static double gflops(const conv_row *r, int series)
{
    return r->ms[series] > 0 ? r->flops / r->ms[series] / 1e6 : -1;
}

static void print_num(const char *fmt, const char *dash, double v)
{
    if (v >= 0)
        printf(fmt, v);
    else
        printf("%s", dash);
}

void conv_print_summary(const conv_row *rows, size_t n)
{
    printf("\n%-34s %-8s %8s %9s %9s %8s %8s %8s %8s %8s %8s\n", "layer (GFLOP/s)", "best", "clayer", "Convgemm",
           "i2c+SGEMM", "dnnl-blk", "dnnl-pln", "x Conv", "x i2c+SG", "x d-blk", "x d-pln");
    const int refs[] = {SERIES_CONVGEMM, SERIES_IM2COL_SGEMM, SERIES_ONEDNN_BLOCKED, SERIES_ONEDNN_PLAIN};
    for (size_t i = 0; i < n; i++) {
        const conv_row *r = &rows[i];
        cly_conv_algo best = conv_row_best(r);
        printf("%-34s %-8s", r->d.name, best == CLY_CONV_AUTO ? "-" : cly_conv_algo_string(best));
        print_num(" %8.1f", " %8s", best == CLY_CONV_AUTO ? -1 : gflops(r, best));
        for (int k = 0; k < 4; k++)
            print_num(k < 2 ? " %9.1f" : " %8.1f", k < 2 ? "         -" : "        -", gflops(r, refs[k]));
        for (int k = 0; k < 4; k++)
            print_num(" %8.2f", "        -", best == CLY_CONV_AUTO ? -1 : conv_row_speedup(r, best, refs[k]));
        printf("\n");
    }
    printf("x Conv ... x d-pln: time of the reference / time of the best clayer algorithm (above 1: clayer faster);\n"
           "dnnl-blk, dnnl-pln: oneDNN in its own blocked layouts and in plain NCHW/OIHW\n");
}

/* A value that may be missing (< 0): a number or null. */
static void json_opt(FILE *f, const char *prefix, double v)
{
    json_field(f, prefix, v >= 0 ? v : NAN);
}

static void json_row(FILE *f, const conv_row *r)
{
    fputs("    {", f);
    json_key_str(f, "name", r->d.name, ", ");
    json_key_str(f, "desc", r->d.text, ", ");
    fprintf(f, "\"mb\": %lld, \"flops\": %.0f, ", (long long)r->d.mb, r->flops);
    json_key_str(f, "auto", cly_conv_algo_string(r->pick), ", ");
    cly_conv_algo best = conv_row_best(r);
    fputs("\"best\": ", f);
    if (best == CLY_CONV_AUTO)
        fputs("null", f);
    else
        json_string(f, cly_conv_algo_string(best));
    fputs(", \"reference\": ", f);
    if (r->reference < 0)
        fputs("null", f);
    else
        json_string(f, conv_series_name(r->reference));
    fputs(", \"onednn_checked_against\": ", f);
    if (r->onednn_checked < 0)
        fputs("null", f);
    else
        json_string(f, conv_series_name(r->onednn_checked));
    fputs(",\n     \"onednn_impl\": {", f);
    json_key_str(f, "blocked", r->onednn_impl[0], ", ");
    json_key_str(f, "plain", r->onednn_impl[1], "}");
    fputs(",\n     \"results\": [", f);
    for (int s = SERIES_FIRST; s < SERIES_COUNT; s++) {
        fprintf(f, "%s\n       {", s == SERIES_FIRST ? "" : ",");
        json_key_str(f, "algo", conv_series_name(s), ", ");
        json_key_str(f, "kind",
                     s < CLY_CONV_ALGO_COUNT ? "clayer" : s < SERIES_OPENCL_END ? "reference" : "peer", ", ");
        json_opt(f, "\"median_ms\": ", r->ms[s]);
        json_opt(f, ", \"gflops\": ", gflops(r, s));
        json_opt(f, ", \"min_ms\": ", r->min_ms[s]);
        json_opt(f, ", \"vs_convgemm\": ", conv_row_speedup(r, s, SERIES_CONVGEMM));
        json_opt(f, ", \"vs_im2col_sgemm\": ", conv_row_speedup(r, s, SERIES_IM2COL_SGEMM));
        json_opt(f, ", \"vs_onednn_blocked\": ", conv_row_speedup(r, s, SERIES_ONEDNN_BLOCKED));
        json_opt(f, ", \"vs_onednn_plain\": ", conv_row_speedup(r, s, SERIES_ONEDNN_PLAIN));
        json_opt(f, ", \"max_rel_error\": ", r->err[s]);
        fputs(", \"skipped\": ", f);
        if (r->ms[s] > 0)
            fputs("null", f);
        else
            json_string(f, r->why[s]);
        fputs("}", f);
    }
    fputs("]}", f);
}

int conv_write_json(const char *path, const cly_device_info *dev, const conv_peer_info *peers, int runs, int mb,
                    const char *set, const conv_row *rows, size_t n)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "conv_bench: cannot write '%s'\n", path);
        return 1;
    }
    char created[32];
    json_created(created, sizeof created);
    fputs("{\n  \"schema\": \"clayer-conv-bench\",\n  \"schema_version\": 1,\n  ", f);
    json_key_str(f, "library_version", cly_version(), ",\n  ");
    json_key_str(f, "created", created, ",\n  \"device\": ");
    json_device(f, dev);
    fputs(",\n  \"host\": ", f);
    json_host(f);
    fputs(",\n  \"onednn\": {", f);
    json_key_str(f, "version", peers->onednn, ", ");
    json_opt(f, "\"threads\": ", peers->onednn_threads > 0 ? peers->onednn_threads : -1);
    fputs(", \"omp_wait_policy\": ", f);
    if (peers->wait_policy)
        json_string(f, peers->wait_policy);
    else
        fputs("null", f);
    fputs("},\n  \"set\": ", f);
    if (set)
        json_string(f, set);
    else
        fputs("null", f);
    fprintf(f, ",\n  \"runs\": %d,\n  \"warmup_runs\": 1,\n  \"mb_override\": ", runs);
    json_opt(f, "", mb > 0 ? mb : -1);
    fputs(",\n  \"algorithms\": [", f);
    for (int s = SERIES_FIRST; s < SERIES_COUNT; s++) {
        fputs(s == SERIES_FIRST ? "" : ", ", f);
        json_string(f, conv_series_name(s));
    }
    fputs("],\n  \"shapes\": [\n", f);
    for (size_t i = 0; i < n; i++) {
        json_row(f, &rows[i]);
        fputs(i + 1 < n ? ",\n" : "\n", f);
    }
    fputs("  ]\n}\n", f);
    if (ferror(f) | fclose(f)) {
        fprintf(stderr, "conv_bench: writing '%s' failed\n", path);
        return 1;
    }
    return 0;
}

int conv_write_svg(const char *path, const cly_device_info *dev, int runs, const conv_row *rows, size_t n)
{
    const size_t series = SERIES_COUNT - SERIES_FIRST;
    double *v = malloc((n ? n : 1) * series * sizeof *v);
    const char **labels = malloc((n ? n : 1) * sizeof *labels);
    FILE *f = v && labels ? fopen(path, "w") : NULL;
    if (!f) {
        free(v);
        free(labels);
        fprintf(stderr, "conv_bench: cannot write '%s'\n", path);
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        labels[i] = rows[i].d.name;
        for (size_t s = 0; s < series; s++)
            v[i * series + s] = gflops(&rows[i], SERIES_FIRST + (int)s);
    }
    const int height = 40 + 20 * (int)series + svg_panel_height(n, series);
    fprintf(f,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"820\" height=\"%d\" viewBox=\"0 0 820 %d\" "
            "font-family=\"sans-serif\" font-size=\"11\">\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n<text x=\"10\" y=\"20\">",
            height, height);
    svg_text(f, dev->name);
    fputs(" (", f);
    svg_text(f, dev->platform_name);
    fprintf(f, "), median of %d runs, FP32, no bias or ReLU</text>\n", runs);
    int y = 34;
    for (size_t s = 0; s < series; s++, y += 20) { /* the legend */
        fprintf(f, "<rect x=\"10\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/>\n<text x=\"28\" y=\"%d\">", y,
                svg_colour(s), y + 10);
        svg_text(f, conv_series_name(SERIES_FIRST + (int)s));
        fputs("</text>\n", f);
    }
    svg_panel(f, "GFLOP/s per layer (longer is faster)", 1, labels, n, v, series, 0, 0, y);
    fputs("</svg>\n", f);
    free(v);
    free(labels);
    if (ferror(f) | fclose(f)) {
        fprintf(stderr, "conv_bench: writing '%s' failed\n", path);
        return 1;
    }
    return 0;
}
