/* Command-line parsing shared by every subcommand: getopt_long with the
 * messages users expect (the bad flag named, a hint to --help, a "did you
 * mean"), strict numbers, and edit-distance suggestions. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

size_t cli_edit_distance(const char *a, const char *b)
{
    /* Levenshtein, one row; words longer than 63 bytes are never close. */
    size_t la = strlen(a), lb = strlen(b), row[64];
    if (la > 63 || lb > 63)
        return (size_t)-1;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *cli_suggest(const char *word, const char *const *candidates, size_t n)
{
    /* Two edits at most, and fewer than the word's length: "ab" is no typo
     * of "cd". */
    const char *best = NULL;
    size_t best_d = 3;
    for (size_t i = 0; i < n; i++) {
        size_t d = cli_edit_distance(word, candidates[i]);
        if (d < best_d && d < strlen(word)) {
            best = candidates[i];
            best_d = d;
        }
    }
    return best;
}

int cli_usage_error(const cli_command *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "clayer %s: ", c->name);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'clayer %s --help' for its options.\n", c->name);
    return EXIT_USAGE;
}

/* The closest long option to an unknown "--name[=value]", or NULL. */
static const char *closest_option(const struct option *opts, const char *arg)
{
    char name[64];
    size_t len = strcspn(arg, "=");
    if (len >= sizeof name)
        return NULL;
    memcpy(name, arg, len);
    name[len] = '\0';
    const char *names[64];
    size_t n = 0;
    for (const struct option *o = opts; o->name && n < 64; o++)
        names[n++] = o->name;
    return cli_suggest(name, names, n);
}

/* How many long options start with the prefix in "--prefix[=value]". */
static size_t prefix_matches(const struct option *opts, const char *arg)
{
    size_t len = strcspn(arg, "="), n = 0;
    for (const struct option *o = opts; o->name; o++)
        n += strncmp(o->name, arg, len) == 0;
    return n;
}

static const struct option *find_long(const struct option *opts, int val)
{
    for (const struct option *o = opts; o->name; o++)
        if (o->val == val)
            return o;
    return NULL;
}

int cli_getopt(const cli_command *c, int argc, char **argv)
{
    /* Leading ':' : a missing value comes back as ':' and nothing is printed
     * by getopt itself, so every message below has the same form. */
    char shortopts[64];
    snprintf(shortopts, sizeof shortopts, ":%s", c->shortopts ? c->shortopts : "");
    opterr = 0;
    int o = getopt_long(argc, argv, shortopts, c->longopts, NULL);
    if (o == -1)
        return CLI_OPT_END;
    if (o == 'h') {
        fputs(c->usage, stdout);
        return CLI_OPT_HELP;
    }
    const char *arg = optind > 0 && optind <= argc ? argv[optind - 1] : "";
    bool is_long = strncmp(arg, "--", 2) == 0;
    if (o == ':') {
        const struct option *L = find_long(c->longopts, optopt);
        if (is_long && L)
            cli_usage_error(c, "option '--%s' needs a value", L->name);
        else
            cli_usage_error(c, "option '-%c' needs a value", optopt);
        return CLI_OPT_BAD;
    }
    if (o != '?')
        return o;
    if (is_long && optopt != 0) { /* a flag given "=value" it does not take */
        const struct option *L = find_long(c->longopts, optopt);
        cli_usage_error(c, "option '--%s' takes no value, got '%s'", L ? L->name : "?", arg);
    } else if (is_long && prefix_matches(c->longopts, arg + 2) > 1) {
        cli_usage_error(c, "ambiguous option '%.*s'", (int)strcspn(arg, "="), arg);
    } else if (is_long) {
        const char *near = closest_option(c->longopts, arg + 2);
        if (near)
            cli_usage_error(c, "unknown option '%.*s' (did you mean '--%s'?)", (int)strcspn(arg, "="), arg, near);
        else
            cli_usage_error(c, "unknown option '%.*s'", (int)strcspn(arg, "="), arg);
    } else {
        cli_usage_error(c, "unknown option '-%c'", optopt ? optopt : '?');
    }
    return CLI_OPT_BAD;
}

int cli_opt_exit(int o)
{
    return o == CLI_OPT_HELP ? 0 : EXIT_USAGE;
}

int cli_parse_int(const char *cmd, const char *flag, const char *text, long long lo, long long hi, long long *out)
{
    /* strtoll alone would take " 5", "5 " is caught by *end, and an overflow
     * clamps to LLONG_MAX: errno says so. */
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (*text == '\0' || *text == ' ' || *text == '\t' || *end != '\0' || errno == ERANGE || v < lo || v > hi) {
        fprintf(stderr, "clayer %s: %s expects an integer in [%lld, %lld], got '%s'\n", cmd, flag, lo, hi, text);
        return 0;
    }
    *out = v;
    return 1;
}

int cli_parse_double(const char *cmd, const char *flag, const char *text, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (*text == '\0' || *text == ' ' || *text == '\t' || *end != '\0' || errno == ERANGE || !isfinite(v) ||
        !(v >= lo && v <= hi)) {
        fprintf(stderr, "clayer %s: %s expects a number in [%g, %g], got '%s'\n", cmd, flag, lo, hi, text);
        return 0;
    }
    *out = v;
    return 1;
}

int cli_operands(const cli_command *c, int argc, char **argv, int count, const char **out, const char *what)
{
    int have = argc - optind;
    if (have < count)
        return cli_usage_error(c, "%s missing", what);
    if (have > count)
        return cli_usage_error(c, "unexpected argument '%s'", argv[optind + count]);
    for (int i = 0; i < count; i++)
        out[i] = argv[optind + i];
    return 0;
}
