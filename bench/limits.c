/* limits.c — this machine's limits, measured the way loom's kernels run:
 * peak fp32 FMA throughput and memory bandwidth (STREAM triad), for 1 and
 * all threads.  Speed claims are stated as fractions of these, measured in
 * the same run as the kernel they bound (the machines are shared).
 *
 *   cc -O3 -march=native -fopenmp bench/limits.c -o limits && ./limits
 *
 * Prints key=value lines: peak_gflops_1t, peak_gflops_mt,
 * peak_gflops_1t_cpu (per second of CPU time the thread got), triad_gbs_1t,
 * triad_gbs_mt, read_gbs_1t, read_gbs_mt (medians of several runs).
 *
 * read: a plain read loop (a vector sum over 512 MiB): the bandwidth that
 * bounds a decode step, which reads every weight once and writes almost
 * nothing (bench/decode.py divides a step's bytes by it). */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef float v16 __attribute__((vector_size(64)));

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp);
  return v[n / 2];
}

/* 16 independent FMA chains of 16 lanes: enough to cover FMA latency. */
static float fma_loop(long iters, float seed) {
  v16 a[16], m = (v16){0} + 0.999999f, c = (v16){0} + 1e-7f;
  for (int i = 0; i < 16; i++) a[i] = (v16){0} + seed + (float)i;
  for (long it = 0; it < iters; it++)
    for (int i = 0; i < 16; i++) a[i] = a[i] * m + c;
  float s = 0;
  for (int i = 0; i < 16; i++)
    for (int l = 0; l < 16; l++) s += a[i][l];
  return s;
}

static double peak(int threads) {
  const long iters = 20000000;
  double t[7];
  volatile float sink = 0;
  for (int r = 0; r < 7; r++) {
    double t0 = now();
#pragma omp parallel num_threads(threads)
    {
      float s = fma_loop(iters, (float)omp_get_thread_num());
#pragma omp atomic
      sink += s;
    }
    t[r] = now() - t0;
  }
  /* 16 chains x 16 lanes x 2 flops per fma */
  return (double)iters * 16 * 16 * 2 * threads / median(t, 7) / 1e9;
}

/* The same FMA loop on one thread, timed by the CPU time the thread got
 * (CLOCK_THREAD_CPUTIME_ID) rather than the wall clock: on a machine
 * shared with other tenants this is the peak per second of CPU actually
 * run, the figure to compare a kernel's CPU time with. */
static double peak_cpu(void) {
  const long iters = 20000000;
  double t[7];
  volatile float sink = 0;
  for (int r = 0; r < 7; r++) {
    struct timespec a, b;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
    sink += fma_loop(iters, (float)r);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
    t[r] = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) * 1e-9;
  }
  return (double)iters * 16 * 16 * 2 / median(t, 7) / 1e9;
}

static double triad(int threads) {
  const size_t n = 1 << 25; /* 3 x 128 MiB: far beyond the caches */
  float *a = aligned_alloc(64, n * 4), *b = aligned_alloc(64, n * 4),
        *c = aligned_alloc(64, n * 4);
#pragma omp parallel for num_threads(threads)
  for (size_t i = 0; i < n; i++) a[i] = 0, b[i] = 1, c[i] = 2;
  double t[7];
  for (int r = 0; r < 7; r++) {
    double t0 = now();
#pragma omp parallel for num_threads(threads)
    for (size_t i = 0; i < n; i++) a[i] = b[i] + 3.0f * c[i];
    t[r] = now() - t0;
  }
  double gbs = 3.0 * (double)n * 4 / median(t, 7) / 1e9;
  free(a), free(b), free(c);
  return gbs;
}

/* Sum 512 MiB of floats with 16 independent vector accumulators: reads
 * only, as a decode step's weight streaming does. */
static double read_bw(int threads) {
  const size_t n = (size_t)1 << 27; /* 512 MiB */
  float *a = aligned_alloc(64, n * 4);
#pragma omp parallel for num_threads(threads)
  for (size_t i = 0; i < n; i++) a[i] = (float)(i & 7);
  double t[7];
  volatile float sink = 0;
  for (int r = 0; r < 7; r++) {
    double t0 = now();
#pragma omp parallel num_threads(threads)
    {
      int nt = omp_get_num_threads(), id = omp_get_thread_num();
      size_t lo = n / 256 * (size_t)id / (size_t)nt * 256,
             hi = n / 256 * (size_t)(id + 1) / (size_t)nt * 256;
      v16 s[16];
      for (int k = 0; k < 16; k++) s[k] = (v16){0};
      for (size_t i = lo; i < hi; i += 256)
        for (int k = 0; k < 16; k++) s[k] += *(const v16 *)(a + i + 16 * k);
      float tot = 0;
      for (int k = 0; k < 16; k++)
        for (int l = 0; l < 16; l++) tot += s[k][l];
#pragma omp atomic
      sink += tot;
    }
    t[r] = now() - t0;
  }
  free(a);
  return (double)n * 4 / median(t, 7) / 1e9;
}

int main(void) {
  int mt = omp_get_max_threads();
  printf("threads=%d\n", mt);
  printf("peak_gflops_1t=%.1f\n", peak(1));
  printf("peak_gflops_mt=%.1f\n", peak(mt));
  printf("peak_gflops_1t_cpu=%.1f\n", peak_cpu());
  printf("triad_gbs_1t=%.1f\n", triad(1));
  printf("triad_gbs_mt=%.1f\n", triad(mt));
  printf("read_gbs_1t=%.1f\n", read_bw(1));
  printf("read_gbs_mt=%.1f\n", read_bw(mt));
  return 0;
}
