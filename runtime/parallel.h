/* parallel.h — the parallel-for that generated code calls.
 *
 * The LLVM backend outlines the body of each parallel loop into a function
 * `fn(ctx, lo, hi)` that runs the iterations lo, lo+step, ... below hi, and
 * calls loom_parallel_for, which splits [lo, hi) into one contiguous chunk
 * per thread (OpenMP underneath; one chunk, on the caller's thread, when
 * built without OpenMP or called from inside a parallel region).
 */
#ifndef LOOM_RUNTIME_PARALLEL_H
#define LOOM_RUNTIME_PARALLEL_H

#include <stdint.h>

typedef void (*loom_body_fn)(void *ctx, int64_t lo, int64_t hi);

/* Runs fn over the iterations lo, lo+step, ... < hi (step > 0); each call
 * gets a range [a, b) whose a is an iteration, so fn steps from a by step
 * while below b. */
void loom_parallel_for(loom_body_fn fn, void *ctx, int64_t lo, int64_t hi,
                       int64_t step);

/* How many threads the parallel loops started from the calling thread use
 * — loom_parallel_for's and the emitted C's `omp parallel for` alike: n
 * (> 0) from now on, or with n <= 0 no change.  Returns the number before
 * (OMP_NUM_THREADS, else every core, unless set since); 1 without OpenMP.
 * (--threads, loom_options.threads.) */
int loom_set_threads(int n);

#endif
