/* Shared pieces of the clayer command-line tool. */
#ifndef CLAYER_CLI_H
#define CLAYER_CLI_H

#include <clayer.h>

#include <stdio.h>

int cmd_devices(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_summary(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_convert(int argc, char **argv);

/* Exit codes: 0 success, 1 runtime failure, 2 usage error. */
enum { EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

/* Print a failed call's status and detail to stderr; returns EXIT_RUNTIME. */
int cli_fail(const char *what, cly_status s, const cly_context *ctx);

/* Write s as a JSON string literal (quotes included). */
void json_string(FILE *f, const char *s);

#endif
