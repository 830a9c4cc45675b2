/* npycmp — compare two .npy files within a tolerance (a test tool).
 *
 *   npycmp GOT.npy WANT.npy [ATOL RTOL]
 *
 * Passes when shapes agree and every element has
 * |got - want| <= atol + rtol*|want| (defaults 1e-4, 1e-3), NaN matching
 * NaN and infinities matching exactly.  Prints the worst element either way;
 * exits 0 on pass, 1 on failure. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "runtime/npy.h"

static double at(const RtNpy *a, size_t i) {
  switch (a->type) {
  case RT_NPY_F32: return ((const float *)a->data)[i];
  case RT_NPY_F64: return ((const double *)a->data)[i];
  case RT_NPY_I32: return ((const int *)a->data)[i];
  default: return (double)((const long long *)a->data)[i];
  }
}

int main(int argc, char **argv) {
  if (argc != 3 && argc != 5) {
    fprintf(stderr, "usage: npycmp GOT.npy WANT.npy [ATOL RTOL]\n");
    return 2;
  }
  double atol = argc == 5 ? atof(argv[3]) : 1e-4;
  double rtol = argc == 5 ? atof(argv[4]) : 1e-3;
  RtNpy got, want;
  char err[1024];
  if (rt_npy_read(argv[1], &got, err, sizeof err) ||
      rt_npy_read(argv[2], &want, err, sizeof err)) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  int ok = got.rank == want.rank;
  for (int i = 0; ok && i < got.rank; i++) ok = got.dims[i] == want.dims[i];
  if (!ok) {
    fprintf(stderr, "npycmp: %s and %s differ in shape\n", argv[1], argv[2]);
    return 1;
  }
  size_t worst = 0, bad = 0;
  double worst_excess = -INFINITY;
  for (size_t i = 0; i < got.count; i++) {
    double g = at(&got, i), w = at(&want, i);
    double excess;
    if (isnan(w) || isinf(w))
      excess = (isnan(w) && isnan(g)) || g == w ? -INFINITY : INFINITY;
    else
      excess = isnan(g) ? INFINITY : fabs(g - w) - (atol + rtol * fabs(w));
    if (excess > 0) bad++;
    if (excess > worst_excess) worst_excess = excess, worst = i;
  }
  printf("npycmp %s: %zu elements, %zu beyond tolerance; worst [%zu] got "
         "%.9g want %.9g\n",
         argv[1], got.count, bad, worst, got.count ? at(&got, worst) : 0.0,
         got.count ? at(&want, worst) : 0.0);
  rt_npy_free(&got);
  rt_npy_free(&want);
  return bad ? 1 : 0;
}
