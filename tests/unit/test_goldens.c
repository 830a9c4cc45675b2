/* test_goldens.c — every model under tests/goldens/ against the outputs
 * PyTorch / Hugging Face computed for it.
 *
 * Each directory goldens/NAME/ with a model.yaml is one case: its inputs
 * are exactly its in.INPUT.npy files (an optional input without a file is
 * left out), and every output of the model must have an out.OUTPUT.npy,
 * matched element by element within
 *
 *   |got - want| <= 1e-4 + 1e-3 * |want|
 *
 * (float32 on both sides, but different summation orders and libm
 * functions).  The model loads through the public C API (include/loom.h),
 * as a user's program would, with the reference backend (or the one
 * $LOOM_TEST_BACKEND names: ctest runs this again as unit/test_goldens_jit
 * when loom has LLVM).  The worst error of each output is printed, so a
 * drifting golden is visible before it fails.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/check.h"
#include "tests/golden_dir.h"
#include "loom.h"
#include "runtime/npy.h"

#define ATOL 1e-4
#define RTOL 1e-3

/* "in.ids.npy" -> "ids" (into buf). */
static const char *middle(const char *file, const char *prefix, char *buf,
                          size_t cap) {
  size_t pl = strlen(prefix), len = strlen(file) - pl - strlen(".npy");
  snprintf(buf, cap, "%.*s", (int)len, file + pl);
  return buf;
}

/* An .npy converted to the dtype of the model's input `name`. */
static void load_input(loom_model *m, const char *dir, const char *file,
                       const char *name, loom_tensor *t) {
  char path[1024], err[512];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  loom_info info;
  int k = 0, n = loom_num_inputs(m);
  for (; k < n; k++) {
    loom_input_info(m, k, &info);
    if (strcmp(info.name, name) == 0) break;
  }
  CHECK_MSG(k < n, "%s: '%s' is not an input of the model", path, name);
  RtNpy a;
  CHECK_MSG(rt_npy_read(path, &a, err, sizeof err) == 0, "%s", err);
  t->name = info.name;
  t->dtype = info.dtype;
  t->rank = a.rank;
  memcpy(t->dims, a.dims, sizeof a.dims);
  t->data = malloc(a.count * 4 + 4);
  CHECK(t->data != NULL);
  for (size_t i = 0; i < a.count; i++) {
    double v = a.type == RT_NPY_F32   ? ((float *)a.data)[i]
               : a.type == RT_NPY_F64 ? ((double *)a.data)[i]
               : a.type == RT_NPY_I32 ? ((int32_t *)a.data)[i]
                                      : (double)((int64_t *)a.data)[i];
    if (info.dtype == LOOM_I32)
      ((int32_t *)t->data)[i] = (int32_t)v;
    else
      ((float *)t->data)[i] = (float)v;
  }
  rt_npy_free(&a);
}

/* Compare output t with dir/out.NAME.npy. */
static void compare(const char *dir, const loom_tensor *t) {
  char path[1024], err[512];
  snprintf(path, sizeof path, "%s/out.%s.npy", dir, t->name);
  RtNpy want;
  CHECK_MSG(rt_npy_read(path, &want, err, sizeof err) == 0, "%s", err);
  CHECK_MSG(want.type == RT_NPY_F32, "%s: want float32", path);
  CHECK_MSG(want.rank == t->rank, "%s: rank %d, loom gave %d", path,
            want.rank, t->rank);
  for (int i = 0; i < t->rank; i++)
    CHECK_MSG(want.dims[i] == t->dims[i], "%s: dim %d is %lld, loom gave %lld",
              path, i, (long long)want.dims[i], (long long)t->dims[i]);
  const float *g = t->data, *w = want.data;
  double worst = 0, worst_ratio = 0;
  size_t at = 0;
  for (size_t i = 0; i < want.count; i++) {
    double err_i = fabs((double)g[i] - (double)w[i]);
    double ratio = err_i / (ATOL + RTOL * fabs((double)w[i]));
    if (worst_ratio != worst_ratio) continue; /* a NaN stays the worst */
    if (ratio > worst_ratio || ratio != ratio) worst_ratio = ratio, at = i;
    if (err_i > worst) worst = err_i;
  }
  printf("  %-10s %8zu values, worst |err| %.3g (%.2f of tolerance)\n",
         t->name, want.count, worst, worst_ratio);
  CHECK_MSG(worst_ratio <= 1.0, "%s: element %zu: got %.9g want %.9g", path,
            at, (double)g[at], (double)w[at]);
  rt_npy_free(&want);
}

static void run_golden(const char *dir) {
  char path[1024], err[4096];
  snprintf(path, sizeof path, "%s/model.yaml", dir);
  loom_model *m;
  loom_options o = {.backend = getenv("LOOM_TEST_BACKEND")};
  CHECK_MSG(loom_load(path, &o, &m, err, sizeof err) == LOOM_OK, "%s", err);
  printf("%s\n", dir);

  char **ins;
  int n_in = list_dir(dir, "in.", ".npy", &ins);
  loom_tensor *in = calloc((size_t)n_in + 1, sizeof *in);
  CHECK(in != NULL);
  for (int i = 0; i < n_in; i++) {
    char name[256];
    load_input(m, dir, ins[i], middle(ins[i], "in.", name, sizeof name),
               &in[i]);
  }

  int n_out = loom_num_outputs(m);
  loom_tensor *out = calloc((size_t)n_out + 1, sizeof *out);
  CHECK(out != NULL);
  CHECK_MSG(loom_output_shapes(m, in, n_in, out, n_out, err, sizeof err) ==
                LOOM_OK, "%s", err);
  for (int i = 0; i < n_out; i++) {
    out[i].data = malloc(loom_tensor_bytes(&out[i]));
    CHECK(out[i].data != NULL);
  }
  CHECK_MSG(loom_run(m, in, n_in, out, n_out, err, sizeof err) == LOOM_OK,
            "%s", err);

  /* Every output has its file and every file its output. */
  char **outs;
  int n_files = list_dir(dir, "out.", ".npy", &outs);
  CHECK_MSG(n_files == n_out, "%s: %d out.*.npy files for %d outputs", dir,
            n_files, n_out);
  for (int i = 0; i < n_out; i++) compare(dir, &out[i]);

  for (int i = 0; i < n_in; i++) free(in[i].data);
  for (int i = 0; i < n_out; i++) free(out[i].data);
  free(in);
  free(out);
  free_list(ins, n_in);
  free_list(outs, n_files);
  loom_free(m);
}

int main(void) {
  char **dirs;
  int n = list_dir("goldens", "", NULL, &dirs);
  int cases = 0;
  for (int i = 0; i < n; i++) {
    char dir[1024], model[1100];
    struct stat st;
    snprintf(dir, sizeof dir, "goldens/%s", dirs[i]);
    snprintf(model, sizeof model, "%s/model.yaml", dir);
    if (stat(model, &st)) continue;
    run_golden(dir);
    cases++;
  }
  free_list(dirs, n);
  CHECK_MSG(cases > 0, "no goldens/*/model.yaml found (run from tests/)");
  printf("%d goldens\n", cases);
  CHECK_DONE();
}
