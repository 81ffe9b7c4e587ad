/* Training progress: a bar redrawn in place on a terminal, sized to its
 * width, as tqdm and Keras draw theirs; plain lines for logs and pipes. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int cli_terminal_columns(int fd)
{
    struct winsize ws;
    if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    const char *env = getenv("COLUMNS");
    char *end;
    long v = env ? strtol(env, &end, 10) : 0;
    if (env && *env && *end == '\0' && v > 0 && v < 10000)
        return (int)v;
    return 80;
}

void cli_format_duration(double seconds, char *buf, size_t size)
{
    long long s = seconds > 0 && seconds < 1e9 ? (long long)(seconds + 0.5) : 0;
    if (s >= 3600)
        snprintf(buf, size, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(buf, size, "%lld:%02lld", s / 60, s % 60);
}

void cli_progress(FILE *f, bool tty, int columns, const char *label, int64_t step, int64_t steps, double elapsed_s,
                  const char *stats)
{
    char elapsed[32], eta[32], tail[512];
    cli_format_duration(elapsed_s, elapsed, sizeof elapsed);
    double left = step > 0 ? elapsed_s * (double)(steps - step) / (double)step : 0;
    cli_format_duration(left, eta, sizeof eta);
    if (!tty) {
        fprintf(f, "%s: step %lld/%lld, %s elapsed, %s\n", label, (long long)step, (long long)steps, elapsed, stats);
        fflush(f);
        return;
    }
    /* The parts after the bar, most wanted first; on a narrow terminal the
     * last ones go, then the bar, then the line is cut. */
    char steps_text[48], times[80], stats_copy[256];
    snprintf(steps_text, sizeof steps_text, "%lld/%lld", (long long)step, (long long)steps);
    snprintf(times, sizeof times, "%s<%s", elapsed, eta);
    snprintf(stats_copy, sizeof stats_copy, "%s", stats);
    const char *parts[16] = {steps_text, times};
    int nparts = 2;
    for (char *p = stats_copy; *p && nparts < 16;) {
        parts[nparts++] = p;
        char *sep = strstr(p, ", ");
        if (!sep)
            break;
        *sep = '\0';
        p = sep + 2;
    }
    /* Writing into the last column makes many terminals wrap (or defer the
     * wrap), so the line stays one short of the width. */
    int room = columns - 1;
    size_t used;
    for (;; nparts--) {
        tail[0] = '\0';
        for (int i = 0; i < nparts; i++) {
            strncat(tail, i ? (i > 2 ? ", " : " ") : "", sizeof tail - strlen(tail) - 1);
            strncat(tail, parts[i], sizeof tail - strlen(tail) - 1);
        }
        used = strlen(label) + 1 + strlen(tail);
        if ((int)used <= room || nparts == 1)
            break;
    }
    char line[2048];
    int bar = room - (int)used - 3; /* " [" + bar + "]" */
    if (bar >= 10) {
        int filled = steps > 0 ? (int)((int64_t)bar * step / steps) : 0;
        char cells[512];
        if (bar > (int)sizeof cells - 1)
            bar = (int)sizeof cells - 1;
        for (int i = 0; i < bar; i++)
            cells[i] = i < filled ? '=' : i == filled ? '>' : ' ';
        cells[bar] = '\0';
        snprintf(line, sizeof line, "%s [%s] %s", label, cells, tail);
    } else {
        snprintf(line, sizeof line, "%s %s", label, tail);
    }
    if (room < 1)
        room = 1;
    if (room > (int)sizeof line - 1)
        room = (int)sizeof line - 1;
    /* Cut to the width; padded with spaces so a shorter redraw leaves no
     * remains of the last one. */
    fprintf(f, "\r%-*.*s", room, room, line);
    if (step == steps)
        fputc('\n', f);
    fflush(f);
}
