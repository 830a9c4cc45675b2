/* cli_profile.c — run --profile and bench --profile: where the time of a
 * model's runs went, kernel by kernel, against this machine's limits.
 *
 * The jit backend times every kernel call (loom_profile); this prints one
 * line per kernel, most time first, with its calls, its share, the rate
 * of its work (GFLOP/s of its matmul or attention FLOPs, GB/s of the
 * bytes its operands and results occupy) and how close that comes to the
 * roofline: the time the kernel needs at least — its FLOPs at the FMA
 * peak or its bytes at the memory bandwidth, whichever is longer — as a
 * percentage of the time it took.  "bound" says which of the two limits
 * it is.  The total of the kernels is printed beside the measured run
 * time, so what lies outside the kernels (the run's bookkeeping) shows.
 *
 * The limits are measured here, the first time, the way bench/limits.c
 * measures them (an FMA loop of independent chains of the widest vectors
 * the CPU has; a STREAM triad over arrays far beyond the caches), one
 * thread, timed in the CPU time the thread got (the machines are shared:
 * the wall clock would measure the other tenants too), and cached in the
 * loom cache directory (limits-v2.txt); the peak of N threads is N times
 * the one-thread peak.  The kernels are timed by the wall clock, so on a
 * loaded machine their roofline figures come out low.  Delete the file to
 * measure again (the clock of a shared machine moves).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "codegen/c/c_cc.h"
#include "tools/cli.h"

/* The CPU time of this thread: on a shared machine the wall clock also
 * counts the time other tenants had the core, and the limits are what
 * the core does while it runs. */
static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* 16 independent chains of FMAs: 2 flops per lane per FMA.  The chains
 * must live in registers: without the unroll pragmas gcc -O2 kept a[] in
 * memory, a load and a store around every FMA, and measured half the
 * peak on an AMD EPYC (48 GFLOP/s against bench/limits.c's 106). */
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

__attribute__((target("avx512f"))) static double fma512(long iters) {
  __m512 a[16], m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
  for (int i = 0; i < 16; i++) a[i] = _mm512_set1_ps((float)i);
  for (long it = 0; it < iters; it++)
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++) a[i] = _mm512_fmadd_ps(a[i], m, c);
  __m512 s = a[0];
  for (int i = 1; i < 16; i++) s = _mm512_add_ps(s, a[i]);
  volatile float sink = _mm512_reduce_add_ps(s);
  (void)sink;
  return (double)iters * 16 * 16 * 2;
}

__attribute__((target("avx2,fma"))) static double fma256(long iters) {
  __m256 a[12], m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
  for (int i = 0; i < 12; i++) a[i] = _mm256_set1_ps((float)i);
  for (long it = 0; it < iters; it++)
#pragma GCC unroll 12
    for (int i = 0; i < 12; i++) a[i] = _mm256_fmadd_ps(a[i], m, c);
  __m256 s = a[0];
  for (int i = 1; i < 12; i++) s = _mm256_add_ps(s, a[i]);
  float out[8];
  _mm256_storeu_ps(out, s);
  volatile float sink = out[0];
  (void)sink;
  return (double)iters * 12 * 8 * 2;
}
#endif

static double fma_scalar(long iters) {
  float a[8];
  for (int i = 0; i < 8; i++) a[i] = (float)i;
  for (long it = 0; it < iters; it++)
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) a[i] = a[i] * 0.999999f + 1e-7f;
  volatile float sink = a[0] + a[7];
  (void)sink;
  return (double)iters * 8 * 2;
}

static double measure_peak(void) {
  double (*fn)(long) = fma_scalar;
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f"))
    fn = fma512;
  else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    fn = fma256;
#endif
  double r[5];
  for (int i = 0; i < 5; i++) {
    double t0 = now_s(), flop = fn(20000000);
    r[i] = flop / (now_s() - t0) / 1e9;
  }
  qsort(r, 5, sizeof *r, cmp_d);
  return r[4]; /* the best: the peak is what the core can do */
}

static double measure_triad(void) {
  const size_t n = (size_t)1 << 24; /* 3 x 64 MiB */
  float *a = malloc(n * 4), *b = malloc(n * 4), *c = malloc(n * 4);
  if (!a || !b || !c) {
    free(a), free(b), free(c);
    return 0;
  }
  for (size_t i = 0; i < n; i++) a[i] = 0, b[i] = 1, c[i] = 2;
  double r[5];
  for (int k = 0; k < 5; k++) {
    double t0 = now_s();
    for (size_t i = 0; i < n; i++) a[i] = b[i] + 3.0f * c[i];
    r[k] = 3.0 * (double)n * 4 / (now_s() - t0) / 1e9;
  }
  volatile float sink = a[n / 2];
  (void)sink;
  free(a), free(b), free(c);
  qsort(r, 5, sizeof *r, cmp_d);
  return r[4];
}

int cli_limits(double *peak_1t, double *gbs, char *path, size_t cap) {
  char dir[PATH_MAX];
  path[0] = 0;
  if (cg_cache_dir(NULL, dir, sizeof dir) == 0)
    snprintf(path, cap, "%s/limits-v2.txt", dir);
  FILE *f = path[0] ? fopen(path, "r") : NULL;
  if (f) {
    int ok = fscanf(f, "peak_gflops_1t=%lf\ntriad_gbs_1t=%lf", peak_1t, gbs) == 2;
    fclose(f);
    if (ok && *peak_1t > 0 && *gbs > 0) return 0;
  }
  *peak_1t = measure_peak();
  *gbs = measure_triad();
  if (path[0]) {
    char tmp[PATH_MAX + 32];
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
    if ((f = fopen(tmp, "w"))) {
      fprintf(f, "peak_gflops_1t=%.1f\ntriad_gbs_1t=%.1f\n", *peak_1t, *gbs);
      if (fclose(f) == 0) rename(tmp, path);
      unlink(tmp);
    }
  }
  return 0;
}

int cli_print_profile(loom_model *m, int runs, double run_ms, int threads) {
  char err[512];
  int n = loom_profile(m, NULL, 0, err, sizeof err);
  if (n < 0) return cli_error(EXIT_MODEL, err);
  loom_kernel_time *k = calloc((size_t)(n ? n : 1), sizeof *k);
  if (!k) return cli_die(EXIT_MODEL, "out of memory");
  loom_profile(m, k, n, err, sizeof err);
  double peak_1t, gbs;
  char path[PATH_MAX];
  cli_limits(&peak_1t, &gbs, path, sizeof path);
  double peak = peak_1t * (threads > 0 ? threads : 1);
  double total = 0;
  for (int i = 0; i < n; i++) total += k[i].ms;
  printf("\nprofile: %d run%s, %d thread%s; kernels %.3f ms per run, the run "
         "%.3f ms per run (%.1f%% in kernels)\n",
         runs, runs == 1 ? "" : "s", threads, threads == 1 ? "" : "s",
         total / runs, run_ms / runs, run_ms > 0 ? 100 * total / run_ms : 0);
  printf("limits: FMA peak %.1f GFLOP/s (%.1f per thread), bandwidth %.1f GB/s "
         "(1 thread; measured once, cached in %s)\n",
         peak, peak_1t, gbs, path[0] ? path : "no cache");
  printf("%-18s %7s %10s %6s %9s %8s %7s %9s  %s\n", "kernel", "calls",
         "ms/run", "time", "GFLOP/s", "GB/s", "bound", "roofline", "op and shapes");
  for (int i = 0; i < n; i++) {
    const loom_kernel_time *t = &k[i];
    double s = t->ms / 1e3;
    double need_c = t->flop / (peak * 1e9), need_m = t->bytes / (gbs * 1e9);
    bool compute = need_c >= need_m;
    double need = compute ? need_c : need_m;
    printf("%-18s %7lld %10.3f %5.1f%% %9.1f %8.2f %7s %8.0f%%  %s\n", t->kernel,
           t->calls / runs, t->ms / runs, total > 0 ? 100 * t->ms / total : 0,
           s > 0 ? t->flop / s / 1e9 : 0, s > 0 ? t->bytes / s / 1e9 : 0,
           compute ? "compute" : "memory", s > 0 ? 100 * need / s : 0, t->what);
  }
  printf("%-18s %7s %10.3f %5.1f%%\n", "total", "", total / runs, 100.0);
  free(k);
  return 0;
}
