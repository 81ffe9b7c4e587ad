/* Helpers shared by clayer's check-based tests: the no-device skip, a small
 * deterministic LCG for exact small-integer fills, a convolution check
 * against tests/ref, and a few file-system chores. */
#ifndef CLY_TEST_UTIL_H
#define CLY_TEST_UTIL_H

#include <check.h>

#include "runtime/runtime.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* meson treats this exit code as "skipped". */
#define CLY_TEST_SKIP 77

/* Per-tcase timeout: first kernel builds on pocl take seconds, more under
 * the sanitizers. */
#define CLY_TEST_TIMEOUT 120

/* true when at least one OpenCL device is listed. Probed in a forked child
 * so that this process never initialises the OpenCL driver (see .c). */
bool cly_test_device_available(void);
/* Exit with 77 (skipped) when no OpenCL device is available. */
void cly_test_require_device(void);

/* Run the suite (check's default fork mode) and turn the result into an
 * exit code: 1 on any failure, else 77 when `complete` is false (device
 * tests were left out), else 0. Frees the suite. */
int cly_test_run(Suite *suite, bool complete);

/* A context on the default device; fails the current test otherwise. */
cly_context *cly_test_context(void);

/* Symmetric convolution parameters: stride, padding on every side, dilation. */
#define CONV_P(s, p, d) ((cly_conv_params){.stride = {(s), (s)}, .pad = CLY_PAD(p), .dilation = {(d), (d)}})

/* Deterministic LCG (PCG's multiplier). Values in [-range, range]. */
int cly_test_small_int(uint64_t *state, int range);
void cly_test_fill(float *x, size_t n, int range, uint64_t *state);

/* Fill input, weights and (when `with_bias`) bias with small integers from
 * `seed`, run cly_conv2d into an output of oh x ow and compare with the
 * reference (tests/ref's ref_conv_shapes) exactly. Returns the number of mismatching outputs, or -1 when
 * a call failed (the reason is in `why`). */
int64_t cly_test_conv_check(cly_context *ctx, cly_shape x, cly_shape f, bool with_bias, cly_conv_params p,
                            int64_t oh, int64_t ow, uint64_t seed, char *why, size_t why_size);

/* A fresh directory inside the run's own temp dir (made and removed by
 * cly_test_run), else under $TMPDIR or /tmp; fails the test on error. */
void cly_test_mkdtemp(char *path, size_t size);
/* Remove a directory tree (no symlink is followed). */
void cly_test_rmtree(const char *path);
/* Number of open file descriptors of this process, -1 if unknown. */
int cly_test_open_fds(void);

/* Start this test binary again with the one argument `arg` (a fresh
 * process: none of this one's OpenCL state), its stdout on *out. */
pid_t cly_test_spawn_self(const char *arg, int *out);
/* Read a spawned child's stdout to its end into buf (NUL-terminated, at
 * most size - 1 bytes kept), close fd, wait for it; its wait status. */
int cly_test_collect(pid_t pid, int fd, char *buf, size_t size);

#endif
