/* parallel.c — loom_parallel_for over OpenMP (see parallel.h).
 *
 * Static scheduling, one contiguous block of iterations per thread: the
 * loops it runs are the outer loops of kernels (rows of a GEMM, heads of
 * attention) whose iterations cost the same, so a static split is as good
 * as any and costs one indirect call per thread.  A range of one iteration
 * runs on the caller's thread without starting a team.
 */
#include "runtime/parallel.h"

#ifdef _OPENMP
#include <omp.h>
#endif

int loom_set_threads(int n) {
#ifdef _OPENMP
  int before = omp_get_max_threads();
  if (n > 0) omp_set_num_threads(n);
  return before;
#else
  (void)n;
  return 1;
#endif
}

void loom_parallel_for(loom_body_fn fn, void *ctx, int64_t lo, int64_t hi,
                       int64_t step) {
  if (hi <= lo) return;
#ifdef _OPENMP
  int64_t n = (hi - lo + step - 1) / step; /* iterations */
  if (n > 1 && !omp_in_parallel()) {
#pragma omp parallel
    {
      int64_t t = omp_get_thread_num(), T = omp_get_num_threads();
      int64_t a = n * t / T, b = n * (t + 1) / T;
      if (a < b) {
        int64_t end = lo + b * step;
        fn(ctx, lo + a * step, end < hi ? end : hi);
      }
    }
    return;
  }
#else
  (void)step;
#endif
  fn(ctx, lo, hi);
}
