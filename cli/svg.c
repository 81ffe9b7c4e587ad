/* Plain SVG output: escaped text and panels of grouped horizontal bars, for
 * `clayer compare` and benchmarks/conv_bench. */
#include "cli.h"

#include <math.h>

/* Text for SVG: XML's five specials escaped, other bytes outside printable
 * ASCII replaced, so the file stays well-formed whatever the JSON held. */
void svg_text(FILE *f, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '&':
            fputs("&amp;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&apos;", f);
            break;
        default:
            fputc(*p >= 0x20 && *p < 0x7F ? *p : '?', f);
        }
    }
}

static const char *const colours[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759",
                                      "#76b7b2", "#edc948", "#b07aa1", "#9c755f"};

const char *svg_colour(size_t k)
{
    return colours[k % 8];
}

enum { AXIS_HEIGHT = 26 };

int svg_panel_height(size_t rows, size_t series)
{
    return 24 + (int)rows * ((int)series * 12 + 8) + AXIS_HEIGHT + 10;
}

/* A step of 1, 2 or 5 times a power of ten giving about five ticks up to
 * max. */
static double tick_step(double max)
{
    double raw = max / 5, p = pow(10, floor(log10(raw)));
    double m = raw / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

int svg_panel(FILE *f, const char *title, int decimals, const char *const *labels, size_t rows, const double *v,
              size_t files, size_t first_colour, double reference, int y)
{
    const int left = 170, width = 560, bar = 12;
    double max = reference > 0 ? reference : 0;
    for (size_t i = 0; i < rows * files; i++)
        max = v[i] > max && isfinite(v[i]) ? v[i] : max;
    /* The scale ends on a tick, so the axis is labelled at its end. */
    double step = max > 0 ? tick_step(max) : 1;
    max = max > 0 ? ceil(max / step - 1e-9) * step : 1;
    fprintf(f, "<text x=\"10\" y=\"%d\" font-weight=\"bold\">", y + 14);
    svg_text(f, title);
    fputs("</text>\n", f);
    y += 24;
    const int top = y, group = (int)files * bar + 8;
    const int bottom = top + (int)rows * group;
    /* Grid lines and tick labels first, under the bars. */
    int tick_decimals = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    for (int t = 0; t * step <= max * (1 + 1e-9); t++) {
        double x = left + t * step / max * width;
        fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\"/>\n", x, top, x,
                bottom);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"black\"/>\n", x, bottom, x,
                bottom + 4);
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" font-size=\"9\">%.*f</text>\n", x,
                bottom + 14, tick_decimals, t * step);
    }
    fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n", left, bottom,
            left + width, bottom);
    fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n", left, top, left, bottom);
    for (size_t i = 0; i < rows; i++) {
        fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", left - 6, y + group / 2 + 4);
        svg_text(f, labels[i]);
        fputs("</text>\n", f);
        for (size_t k = 0; k < files; k++) {
            double x = v[i * files + k];
            if (!(x >= 0) || !isfinite(x))
                continue;
            double w = x / max * width;
            fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"><title>", left,
                    y + (int)k * bar + 4, w, bar - 2, colours[(first_colour + k) % 8]);
            fprintf(f, "%.*f", decimals, x);
            fprintf(f, "</title></rect>\n<text x=\"%.1f\" y=\"%d\" font-size=\"9\">", left + w + 3,
                    y + (int)k * bar + 13);
            fprintf(f, "%.*f", decimals, x);
            fputs("</text>\n", f);
        }
        y += group;
    }
    if (reference > 0) { /* e.g. a ratio of 1: as fast as the first file */
        double x = left + reference / max * width;
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#c00\" "
                "stroke-dasharray=\"4 3\"/>\n",
                x, top, x, bottom);
    }
    return bottom + AXIS_HEIGHT + 10;
}
