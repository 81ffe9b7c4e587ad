/* Plain SVG output: escaped text and panels of grouped horizontal bars, for
 * `clayer compare` and benchmarks/conv_bench. */
#include "cli.h"

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

int svg_panel_height(size_t rows, size_t series)
{
    return 24 + (int)rows * ((int)series * 12 + 8) + 10;
}

int svg_panel(FILE *f, const char *title, int decimals, const char *const *labels, size_t rows, const double *v,
              size_t files, int y)
{
    const int left = 170, width = 560, bar = 12;
    double max = 0;
    for (size_t i = 0; i < rows * files; i++)
        max = v[i] > max ? v[i] : max;
    fprintf(f, "<text x=\"10\" y=\"%d\" font-weight=\"bold\">", y + 14);
    svg_text(f, title);
    fputs("</text>\n", f);
    y += 24;
    for (size_t i = 0; i < rows; i++) {
        int group = (int)files * bar + 8;
        fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", left - 6, y + group / 2 + 4);
        svg_text(f, labels[i]);
        fputs("</text>\n", f);
        for (size_t k = 0; k < files; k++) {
            double x = v[i * files + k];
            if (x < 0)
                continue;
            double w = max > 0 ? x / max * width : 0;
            fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"><title>", left,
                    y + (int)k * bar, w, bar - 2, colours[k % 8]);
            fprintf(f, "%.*f", decimals, x);
            fprintf(f, "</title></rect>\n<text x=\"%.1f\" y=\"%d\" font-size=\"9\">", left + w + 3,
                    y + (int)k * bar + 9);
            fprintf(f, "%.*f", decimals, x);
            fputs("</text>\n", f);
        }
        y += group;
    }
    return y + 10;
}
