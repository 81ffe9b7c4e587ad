/* Helpers for the op tests: contexts made inside each (forked) test, device
 * arrays fenced by guard cells, deterministic fills, comparisons, and a main
 * that skips (77) when no OpenCL device exists. */
#ifndef OPS_TEST_H
#define OPS_TEST_H

#include "kernels/kernels.h"

#include <check.h>

/* Elements of guard fence before and after every device array. Odd, so
 * every array also sits at an unaligned element offset. */
#define OT_GUARD 13

/* Context on the default device ($CLAYER_DEVICE); fails the test if none. */
cly_context *ot_context(void);

/* A device array of `count` elements of `elem` bytes at element offset
 * OT_GUARD of a larger buffer; the guards and (for ot_alloc) the body hold
 * a sentinel bit pattern, so unwritten outputs and stray writes show. In the
 * oclgrind suite there are no guards: the buffer is exactly the array, so
 * that oclgrind sees every stray access. */
cly_buf ot_upload(cly_context *ctx, const void *host, int64_t count, size_t elem);
cly_buf ot_alloc(cly_context *ctx, int64_t count, size_t elem);
/* Finish the queue, copy the body out, and fail the test if a guard cell
 * changed. */
void ot_download(cly_context *ctx, cly_buf b, void *host, int64_t count, size_t elem);
void ot_free(cly_buf b);

/* Deterministic fills (a small LCG, seeded per call). */
void ot_fill_int(float *a, int64_t n, unsigned seed, int lo, int hi); /* integers in [lo, hi] */
void ot_fill_real(float *a, int64_t n, unsigned seed, double lo, double hi);

/* Exact comparison (max pooling, copies). */
void ot_check_exact(const float *got, const float *want, int64_t n, const char *what);
/* |got - want| <= rtol * max(|want|, floor) for every element. */
void ot_check_rel(const float *got, const double *want, int64_t n, double rtol, double floor, const char *what);

/* Run `unit` (default) or, with argv[1] = "oclgrind", the small-shape suite
 * meant for the simulator. Returns the process exit status: 0, 1, or 77 when
 * no OpenCL platform or device exists. */
int ot_main(int argc, char **argv, Suite *(*unit)(void), Suite *(*small)(void));

/* A test case with a generous timeout: first kernel builds on pocl take
 * seconds, CLBlast's first SGEMM about 10 s on a cold cache. */
TCase *ot_tcase(const char *name);

#endif
