/* embcmp — compare sentence embeddings row by row (a test tool).
 *
 *   embcmp GOT.npy WANT.npy [MIN_COSINE NORM_TOL]
 *
 * Both [N, D].  Passes when every row of GOT has cosine >= MIN_COSINE
 * (default 0.99999) with WANT's row and |‖got‖ − 1| <= NORM_TOL (default
 * 1e-5).  Prints each row's cosine and norm; exits 0 on pass, 1 on failure. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "runtime/npy.h"

static double at(const RtNpy *a, size_t i) {
  return a->type == RT_NPY_F32 ? ((const float *)a->data)[i]
                               : ((const double *)a->data)[i];
}

int main(int argc, char **argv) {
  if (argc != 3 && argc != 5) {
    fprintf(stderr, "usage: embcmp GOT.npy WANT.npy [MIN_COSINE NORM_TOL]\n");
    return 2;
  }
  double min_cos = argc == 5 ? atof(argv[3]) : 0.99999;
  double norm_tol = argc == 5 ? atof(argv[4]) : 1e-5;
  RtNpy g, w;
  char err[1024];
  if (rt_npy_read(argv[1], &g, err, sizeof err) ||
      rt_npy_read(argv[2], &w, err, sizeof err)) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  int ok = g.rank == 2 && w.rank == 2 && g.dims[0] == w.dims[0] &&
           g.dims[1] == w.dims[1] &&
           (g.type == RT_NPY_F32 || g.type == RT_NPY_F64) &&
           (w.type == RT_NPY_F32 || w.type == RT_NPY_F64);
  if (!ok) {
    fprintf(stderr, "embcmp: want two [N, D] float arrays of the same shape\n");
    return 1;
  }
  double worst = 1;
  for (int64_t r = 0; r < g.dims[0]; r++) {
    double dot = 0, ng = 0, nw = 0;
    for (int64_t c = 0; c < g.dims[1]; c++) {
      double x = at(&g, (size_t)(r * g.dims[1] + c)),
             y = at(&w, (size_t)(r * g.dims[1] + c));
      dot += x * y, ng += x * x, nw += y * y;
    }
    double cos = dot / sqrt(ng * nw), norm = sqrt(ng);
    int row_ok = cos >= min_cos && fabs(norm - 1) <= norm_tol;
    printf("row %lld cosine %.9f norm %.9f %s\n", (long long)r, cos, norm,
           row_ok ? "ok" : "FAIL");
    if (cos < worst) worst = cos;
    ok &= row_ok;
  }
  printf("min cosine %.9f: %s\n", worst, ok ? "ok" : "FAIL");
  rt_npy_free(&g);
  rt_npy_free(&w);
  return ok ? 0 : 1;
}
