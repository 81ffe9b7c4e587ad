/* Helpers for the backward tests: the three runs every gradient output gets
 * (overwrite, repeat, accumulate) and a finite-difference gradient check of
 * a device forward op. Built on ops_test.h (contexts, guarded
 * device arrays, fills, main). */
#ifndef GRAD_CHECK_H
#define GRAD_CHECK_H

#include "ops_test.h"

/* ---- the beta contract and determinism */

/* Run the backward op under test, writing its outputs outs[0..nout-1]
 * (counts given to gc_run_backward) with the given beta. */
typedef void (*gc_backward_fn)(void *user, cly_context *ctx, const cly_buf *outs, float beta);

/* Runs `bwd` three times and checks:
 *  1. beta = 0 into outputs that hold NaN (ot_alloc's sentinel): every
 *     result must be finite, i.e. nothing read the old contents;
 *  2. beta = 0 again into fresh NaN outputs: bit-identical to run 1
 *     (deterministic: no atomics, no order that varies between runs);
 *  3. beta = 1 into outputs holding values D: each must be exactly the
 *     float sum D + (run 1), what "accumulate" means.
 * got[k] receives a malloc'd copy of output k from run 1 (caller frees). */
void gc_run_backward(cly_context *ctx, const char *what, gc_backward_fn bwd, void *user, int nout,
                     const int64_t *counts, float **got);

/* ---- finite differences */

/* Run the forward op under test on the current host inputs and write its
 * ny outputs to y (download included). */
typedef void (*gc_forward_fn)(void *user, float *y);
/* True when in[i] sits too close to a kink (a ReLU zero, a max tie, a
 * hinge) for a centred difference of step h to see the derivative. */
typedef bool (*gc_skip_fn)(void *user, int64_t i, double h);

typedef struct gc_spec {
    const char *what;
    float *in;              /* host input, perturbed in place and restored */
    int64_t nin;
    const float *analytic;  /* dL/d in from the backward op, nin floats */
    const float *r;         /* L = sum_k r_k y_k */
    int64_t ny;
    gc_forward_fn fwd;
    void *user;
    gc_skip_fn skip;        /* may be NULL */
    double h;               /* step */
    double tol;             /* largest relative error accepted */
    double floor;           /* denominator floor: see gc_check */
    int max_points;         /* inputs checked: all when nin <= max_points, else an even spread */
} gc_spec;

/* For each chosen input i: numeric n = sum_k r_k (y_k(in + h e_i) - y_k(in - h e_i)) / 2h,
 * summed in double (outputs that in[i] does not reach cancel exactly, as
 * the forward is deterministic), and the relative error
 *   |a - n| / max(|a| + |n|, floor)
 * against a = analytic[i]; fails the test when any exceeds tol. `floor`
 * turns the check absolute for gradients that are (nearly) zero, where a
 * relative error means nothing. Prints and returns the largest error. */
double gc_check(const gc_spec *s);

/* ---- small shared utilities */

static inline int64_t gc_count(cly_shape s)
{
    return s.n * s.c * s.h * s.w;
}

/* malloc that fails the test instead of returning NULL. */
void *gc_malloc(size_t bytes);
/* Blocking copy of `count` floats from host into the array b (its guards
 * stay as they are): the finite-difference forwards rewrite their inputs. */
void gc_write(cly_context *ctx, cly_buf b, const float *host, int64_t count);
/* Distinct values spaced `gap` apart, in a shuffled order: no ties, and no
 * perturbation smaller than gap/2 reorders them (max pooling's kinks). */
void gc_fill_distinct(float *a, int64_t n, unsigned seed, double gap);

#endif
