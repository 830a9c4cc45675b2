/* test_ops.c — the reference interpreter against PyTorch, op by op.
 *
 * tests/data/ops/make_ops_goldens.py wrote, for each case, a graph in IR text
 * (CASE.ir, inputs and weights all declared as `input`), its inputs
 * (CASE.in0.npy, ...) and PyTorch's results (CASE.out0.npy, ...).  For every
 * CASE.ir in that folder, in sorted order, this parses the graph, runs
 * ir_interp and compares each result with its golden:
 *
 *     |got - want| <= 1e-5 + 1e-4 * |want|,   NaN and +-inf exactly
 *
 * A failing case prints its name and the worst element; all cases run before
 * the test fails, so one broken op does not hide another.  An empty folder is
 * a failure, not a pass.
 */
#include "ir/ir.h"
#include "runtime/npy.h"
#include "tests/check.h"
#include "tests/op_cases.h"

#include <dirent.h>

#define ATOL 1e-5
#define RTOL 1e-4


static bool file_exists(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f) fclose(f);
  return f != NULL;
}

/* Compare one result with its golden; prints and returns false on a
 * mismatch. */
static bool compare(const char *name, int k, const Tensor *got,
                    const RtNpy *want) {
  if (got->rank != want->rank || got->dtype != DT_F32) {
    fprintf(stderr, "%s: out%d: rank %d (%s), golden rank %d f32\n", name, k,
            got->rank, ir_dtype_name(got->dtype), want->rank);
    return false;
  }
  for (int i = 0; i < got->rank; i++)
    if (got->dims[i] != want->dims[i]) {
      fprintf(stderr, "%s: out%d: dimension %d is %lld, golden %lld\n", name,
              k, i, (long long)got->dims[i], (long long)want->dims[i]);
      return false;
    }
  const float *g = got->data, *w = want->data;
  int64_t n = ir_tensor_numel(got), worst = -1;
  double worst_excess = 0; /* error beyond the tolerance, in tolerances */
  for (int64_t i = 0; i < n; i++) {
    double gi = g[i], wi = w[i];
    bool ok;
    double excess = 0;
    if (isnan(wi) || isinf(wi) || isnan(gi) || isinf(gi)) {
      ok = (isnan(wi) && isnan(gi)) || gi == wi;
      excess = ok ? 0 : INFINITY;
    } else {
      double tol = ATOL + RTOL * fabs(wi);
      ok = fabs(gi - wi) <= tol;
      excess = fabs(gi - wi) / tol;
    }
    if (!ok && (worst < 0 || excess > worst_excess)) {
      worst = i;
      worst_excess = excess;
    }
  }
  if (worst < 0) return true;
  int64_t idx[IR_MAX_RANK];
  int64_t rest = worst;
  for (int i = got->rank - 1; i >= 0; i--) {
    idx[i] = rest % got->dims[i];
    rest /= got->dims[i];
  }
  fprintf(stderr, "%s: out%d: worst element [", name, k);
  for (int i = 0; i < got->rank; i++)
    fprintf(stderr, "%s%lld", i ? ", " : "", (long long)idx[i]);
  fprintf(stderr, "]: got %.9g, want %.9g (|diff| %.3g, tolerance %.3g)\n",
          g[worst], w[worst], fabs((double)g[worst] - w[worst]),
          ATOL + RTOL * fabs((double)w[worst]));
  return false;
}

/* Run one case; true when every result matches. */
static bool run_case(const char *name) {
  char path[512], err[1024];
  snprintf(path, sizeof path, OPS_DIR "/%s.ir", name);
  char *text = read_text(path);
  CHECK_MSG(text != NULL, "cannot read %s", path);
  Diag d = {0};
  Graph *g = ir_parse(text, path, &d);
  free(text);
  if (!g) {
    fprintf(stderr, "%s: %s\n", name, d.msg);
    return false;
  }

  bool ok = true;
  uint32_t n_in = ir_inputs(g, NULL, 0);
  RtNpy *npy = calloc(n_in ? n_in : 1, sizeof *npy);
  Tensor *in = calloc(n_in ? n_in : 1, sizeof *in);
  Tensor *out = calloc(g->n_outputs ? g->n_outputs : 1, sizeof *out);
  CHECK(npy && in && out);
  for (uint32_t i = 0; i < n_in && ok; i++) {
    snprintf(path, sizeof path, OPS_DIR "/%s.in%u.npy", name, i);
    if (rt_npy_read(path, &npy[i], err, sizeof err)) {
      fprintf(stderr, "%s\n", err);
      ok = false;
      break;
    }
    if (npy[i].type != RT_NPY_F32 && npy[i].type != RT_NPY_I32) {
      fprintf(stderr, "%s: expected float32 or int32\n", path);
      ok = false;
      break;
    }
    in[i].dtype = npy[i].type == RT_NPY_F32 ? DT_F32 : DT_I32;
    in[i].rank = npy[i].rank;
    memcpy(in[i].dims, npy[i].dims, sizeof in[i].dims);
    in[i].data = npy[i].data;
  }
  snprintf(path, sizeof path, OPS_DIR "/%s.in%u.npy", name, n_in);
  if (ok && file_exists(path)) {
    fprintf(stderr, "%s: the graph has %u inputs but %s exists\n", name, n_in,
            path);
    ok = false;
  }

  if (ok && ir_interp(g, in, (int)n_in, out, &d) != 0) {
    fprintf(stderr, "%s: %s\n", name, d.msg);
    ok = false;
  }
  for (uint32_t k = 0; k < g->n_outputs && ok; k++) {
    RtNpy want = {0};
    snprintf(path, sizeof path, OPS_DIR "/%s.out%u.npy", name, k);
    if (rt_npy_read(path, &want, err, sizeof err)) {
      fprintf(stderr, "%s\n", err);
      ok = false;
    } else if (want.type != RT_NPY_F32) {
      fprintf(stderr, "%s: expected float32\n", path);
      ok = false;
    } else {
      ok = compare(name, (int)k, &out[k], &want);
    }
    rt_npy_free(&want);
  }
  snprintf(path, sizeof path, OPS_DIR "/%s.out%u.npy", name, g->n_outputs);
  if (ok && file_exists(path)) {
    fprintf(stderr, "%s: the graph has %u results but %s exists\n", name,
            g->n_outputs, path);
    ok = false;
  }

  for (uint32_t k = 0; k < g->n_outputs; k++) free(out[k].data);
  for (uint32_t i = 0; i < n_in; i++) rt_npy_free(&npy[i]);
  free(out);
  free(in);
  free(npy);
  ir_graph_free(g);
  return ok;
}

int main(void) {
  char **names;
  int n = list_cases(&names);
  CHECK_MSG(n > 0, "no *.ir cases in %s", OPS_DIR);
  int failed = 0;
  for (int i = 0; i < n; i++) {
    bool ok = run_case(names[i]);
    CHECK(1); /* one check per case that ran */
    if (!ok) {
      fprintf(stderr, "FAIL %s\n", names[i]);
      failed++;
    }
    free(names[i]);
  }
  free(names);
  CHECK_MSG(failed == 0, "%d of %d op cases failed", failed, n);
  printf("%d op cases\n", n);
  CHECK_DONE();
}
