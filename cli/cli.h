/* Shared pieces of the clayer command-line tool. */
#ifndef CLAYER_CLI_H
#define CLAYER_CLI_H

#include <clayer.h>

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#if defined(__GNUC__)
#define CLY_CLI_FMT(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define CLY_CLI_FMT(fmt, args)
#endif

int cmd_devices(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_summary(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_classify(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_tune(int argc, char **argv);
int cmd_compile(int argc, char **argv);

/* Exit codes: 0 success, 1 runtime failure, 2 usage error. */
enum { EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

/* Print a failed call's status and detail to stderr; returns EXIT_RUNTIME. */
int cli_fail(const char *what, cly_status s, const cly_context *ctx);

/* Shared by the net commands (nets.c). */
double cli_now_ms(void); /* a monotonic clock */
/* qsort comparator for doubles. */
int cli_cmp_double(const void *a, const void *b);
/* Option parsing (opts.c). A subcommand: its name, the usage that --help
 * prints to stdout, and its getopt_long table (ending in {0}), which holds
 * CLI_HELP_OPTION; shortopts lists the short letters ("ho:"). */
typedef struct cli_command {
    const char *name;
    const char *usage;
    const struct option *longopts;
    const char *shortopts;
} cli_command;
#define CLI_HELP_OPTION {"help", no_argument, NULL, 'h'}
enum { CLI_OPT_END = -1, CLI_OPT_HELP = -2, CLI_OPT_BAD = -3 };
/* The next option's value (its `val`, optarg set), or CLI_OPT_END (the
 * operands are then argv[optind..argc)), CLI_OPT_HELP after printing the
 * usage, or CLI_OPT_BAD after naming the unknown option, the missing value
 * or the value a flag does not take, with a hint to --help. */
int cli_getopt(const cli_command *c, int argc, char **argv);
/* The exit code for a cli_getopt result that ends parsing: 0 for help, else
 * EXIT_USAGE. */
int cli_opt_exit(int o);
/* "clayer NAME: " + the message, then the hint to --help; EXIT_USAGE. */
int cli_usage_error(const cli_command *c, const char *fmt, ...) CLY_CLI_FMT(2, 3);
/* After cli_getopt: exactly `count` operands into out; else say that
 * `what` is missing ("the net file or built-in name") or which argument is
 * extra, and return EXIT_USAGE. 0 on success. */
int cli_operands(const cli_command *c, int argc, char **argv, int count, const char **out, const char *what);
/* Levenshtein distance ((size_t)-1 for words over 63 bytes). */
size_t cli_edit_distance(const char *a, const char *b);
/* The candidate at most two edits from `word` (and closer than its
 * length), the nearest first; NULL if none. */
const char *cli_suggest(const char *word, const char *const *candidates, size_t n);
/* Parse `text` as an integer in [lo, hi] into *out: 1; else print what `cmd`'s
 * `flag` expects and return 0. No sign of a fraction, space or overflow
 * passes. */
int cli_parse_int(const char *cmd, const char *flag, const char *text, long long lo, long long hi, long long *out);
/* The same for a finite number in [lo, hi]. */
int cli_parse_double(const char *cmd, const char *flag, const char *text, double lo, double hi, double *out);
/* A net file, or the name of a built-in net when no such file exists,
 * inferred at `batch`: 0, or an exit code after printing why. */
int cli_load_net(const char *cmd, const char *path, long long batch, cly_graph **g);
/* Whether `path` is a clayer model file: it starts with "CLAYERMD" (convert.c). */
bool cli_is_model_file(const char *path);
/* Fill every input layer with seeded uniform values in [-1, 1). */
cly_status cli_fill_inputs(cly_net *net, cly_graph *g, uint64_t seed);
/* An ONNX model, by its name (MODEL.onnx): protobuf has no magic bytes. */
bool cli_is_onnx(const char *path);
/* How every command imports ONNX files: main.c sets it from the global
 * --fold-bn flag. */
extern cly_onnx_options cli_onnx;
/* A net compiled on ctx with `opt`, with weights: an ONNX file's or a model
 * file's own, else (a net file or built-in name) seeded He weights from
 * `seed`. `weights` receives which, for the user ("the ONNX file's"). 0, or
 * an exit code after printing why; either way the caller destroys *net, then
 * *g (both start NULL). */
int cli_open_net(const char *cmd, cly_context *ctx, const char *path, const cly_net_options *opt, uint64_t seed,
                 cly_graph **g, cly_net **net, char *weights, size_t weights_size);

/* One class name per line of `path`, exactly `classes` of them (classify.c):
 * NULL after saying why. Free with cli_free_labels. */
char **cli_load_labels(const char *cmd, const char *path, int64_t classes);
void cli_free_labels(char **labels, int64_t classes);

/* Training progress (progress.c). The width of the terminal on fd:
 * TIOCGWINSZ, else $COLUMNS, else 80. */
int cli_terminal_columns(int fd);
/* One progress report of step `step` of `steps`: on a terminal (tty) a bar
 * redrawn in place ("\r"), sized to `columns` and never reaching the last
 * column (which would wrap); else a plain line. `label` leads ("epoch 1/5"),
 * `stats` follows the steps and times ("loss 0.41, acc 85.2%"). */
void cli_progress(FILE *f, bool tty, int columns, const char *label, int64_t step, int64_t steps, double elapsed_s,
                  const char *stats);
/* "1:05" or "1:02:03". */
void cli_format_duration(double seconds, char *buf, size_t size);

/* Evaluation shared by train and eval (eval.c). Copy images
 * idx[first .. first+count) of d (idx NULL: in order) into x and their
 * labels into y (may be NULL). */
void cli_gather(const cly_dataset *d, const int64_t *idx, int64_t first, int64_t count, float *x, int32_t *y);
/* The predicted class of each of `count` rows of `classes` scores. */
void cli_argmax(const float *scores, int64_t count, int64_t classes, int32_t *pred);
/* Classify every image of d, batch by batch through `net` (input layer
 * `input`, scores `scores`; a last partial batch padded with zeros);
 * confusion (classes x classes, may be NULL) counts [truth][prediction].
 * The number correct, or -1 (status in *s). */
int64_t cli_evaluate(cly_net *net, const char *input, const char *scores, int64_t batch, int64_t classes,
                     const cly_dataset *d, int64_t *confusion, cly_status *s);
/* The net's first input layer, its output layer and the output's channels
 * (the class count): false if it has no input or output. */
bool cli_describe(cly_graph *g, const char **input, const char **output, int64_t *classes);

/* Write s as a JSON string literal (quotes included). */
void json_string(FILE *f, const char *s);
/* A finite number (%.6g), or null. */
void json_num(FILE *f, double v);
/* prefix (a separator and key), then a number or null. */
void json_field(FILE *f, const char *prefix, double v);
/* "key": "value" then sep. */
void json_key_str(FILE *f, const char *key, const char *value, const char *sep);
/* The current UTC time, ISO 8601 ("2026-01-31T12:00:00Z"; "" if unknown). */
void json_created(char *buf, size_t size);
/* The "device" object of docs/bench-format.md, opened at indent 2. */
void json_device(FILE *f, const cly_device_info *d);

/* The host CPU (host.c): /proc/cpuinfo's model name and its vector ISA
 * flags, space-separated ("sse4_2 avx avx2 fma avx512f"), each "unknown"
 * where they cannot be read (not Linux); /proc/loadavg's 1, 5 and 15 minute
 * load averages (< 0: unknown), which say how shared the machine was. */
typedef struct cli_host {
    char cpu_model[128];
    char isa[256];
    double load[3];
} cli_host;
void cli_host_cpu(cli_host *h);
/* The "host" object of docs/bench-format.md: {"cpu_model", "isa", "load_average"}. */
void json_host(FILE *f);

/* SVG output (svg.c). Text with XML's specials escaped, bytes outside
 * printable ASCII replaced. */
void svg_text(FILE *f, const char *s);
/* Fill colour of series k (eight, repeating). */
const char *svg_colour(size_t k);
/* One panel of grouped horizontal bars: rows x series values (< 0: missing),
 * each labelled with its value to `decimals` places, over an x axis with
 * ticks, drawn from y; series k in colour first_colour + k; reference > 0
 * draws a dashed line at that value (1 for ratios). Returns the y below. */
int svg_panel(FILE *f, const char *title, int decimals, const char *const *labels, size_t rows, const double *v,
              size_t series, size_t first_colour, double reference, int y);
/* The height svg_panel takes. */
int svg_panel_height(size_t rows, size_t series);

/* A parsed JSON value (json_read.c). Strings are NUL-terminated UTF-8; an
 * object keeps its keys in order, duplicates included (json_get finds the
 * first). */
typedef enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT } json_type;
typedef struct json_value {
    json_type type;
    bool boolean;
    double number;
    char *string;
    size_t count;       /* array items or object members */
    struct json_value *items;
    char **keys;        /* objects: count keys */
} json_value;

/* Parse `size` bytes of untrusted text: NULL on failure, with the line,
 * column and reason in err. Free with json_free. */
json_value *json_parse(const char *text, size_t size, char *err, size_t err_size);
/* json_parse on a file of at most 64 MiB; err also says why it could not be read. */
json_value *json_load(const char *path, char *err, size_t err_size);
void json_free(json_value *v);
/* An object's member, or NULL (also when obj is not an object). */
const json_value *json_get(const json_value *obj, const char *key);

/* clayer train --mpi (train_mpi.c), over libclayer_mpi; without it,
 * cli_mpi_join says the build has no MPI. Each failure prints its message;
 * the int results are 0 or an exit code. */
typedef struct cli_mpi cli_mpi;
/* Join the job; MPI_Init's wait is bounded by an alarm of timeout_s. bor:
 * the gradient exchange by MPI_Allreduce with MPI_BOR, else MPI_Allgather. */
int cli_mpi_join(double timeout_s, bool bor, cli_mpi **out);
int cli_mpi_rank(const cli_mpi *m);
int cli_mpi_ranks(const cli_mpi *m);
int cli_mpi_local_rank(const cli_mpi *m);
const cly_transport *cli_mpi_transport(cli_mpi *m);
/* values summed over the ranks, exactly (integers). */
int cli_mpi_sum(cli_mpi *m, int64_t *values, size_t count, const char *what);
/* The end: with rc != 0 and several ranks, end the whole job (MPI_Abort);
 * else wait for every rank and leave. NULL: nothing. */
void cli_mpi_leave(cli_mpi *m, int rc);

#endif
