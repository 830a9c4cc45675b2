/* test_jit_ops.c — JIT-compiled kernels against PyTorch, op by op.
 *
 * Every tests/data/ops/CASE.ir (see test_ops.c) is compiled by the "jit"
 * backend (Kernel IR -> LLVM IR -> O3 -> ORC) and run on CASE.inN.npy; each
 * result must match CASE.outN.npy within
 *
 *     |got - want| <= 1e-4 + 1e-3 * |want|,   NaN and +-inf exactly
 *
 * (the kernels' exp/erf/tanh are polynomials and sum in f32).  Each case
 * runs for two targets: the host (AVX-512 here: 16 lanes, tails and
 * parallel loops) and `generic` (lanes 1: the scalar kernels), so both
 * shapes of every kernel go through LLVM.  Result buffers start filled
 * with a sentinel, so an element a kernel forgets to write fails.
 *
 * Then the kernels' return codes: a gather id out of range and a slice
 * past a symbolic axis must fail with the interpreter's wording, at the
 * node's line.
 *
 * Skips (exit 77) when libloom was built without LLVM.
 */
#include <dirent.h>

#include "api/backend.h"
#include "codegen/cpu.h"
#include "ir/ir.h"
#include "runtime/npy.h"
#include "tests/check.h"
#include "tests/op_cases.h"

#define ATOL 1e-4
#define RTOL 1e-3
#define SENTINEL (-7.77e33f)

static const char *const TARGETS[] = {"native", "generic"};


static bool matches(const char *label, int k, const float *g, const RtNpy *want) {
  for (size_t i = 0; i < want->count; i++) {
    double gi = g[i], wi = ((const float *)want->data)[i];
    bool ok = (isnan(wi) || isinf(wi) || isnan(gi) || isinf(gi))
                  ? (isnan(wi) && isnan(gi)) || gi == wi
                  : fabs(gi - wi) <= ATOL + RTOL * fabs(wi);
    if (!ok) {
      fprintf(stderr, "%s: out%d: element %zu: got %.9g, want %.9g\n", label, k,
              i, gi, wi);
      return false;
    }
  }
  return true;
}

/* Compile and run g on `in` with the jit backend; outputs malloc'd. */
static int run_jit(const Graph *g, const char *target, const Tensor *in,
                   int n_in, Tensor *out, Diag *d) {
  const Backend *be = loom_backend("jit");
  FeModel fm = {.g = (Graph *)g};
  Target t;
  CHECK(cg_target(target, &t) == 0);
  BackendOptions bo = {.target = &t};
  BackendModel *bm;
  if (be->compile(&fm, &bo, &bm, d)) return -1;
  int64_t binding[64];
  CHECK(ir_bind_inputs(g, in, n_in, binding, d) == 0);
  void *outs[16];
  CHECK(g->n_outputs <= 16);
  for (uint32_t k = 0; k < g->n_outputs; k++) {
    const Value *v = &g->values[g->outputs[k]];
    out[k].dtype = v->dtype;
    out[k].rank = v->shape.rank;
    int64_t n = ir_shape_eval(&v->shape, binding, out[k].dims);
    out[k].data = outs[k] = malloc((size_t)(n ? n : 1) * 4);
    CHECK(outs[k]);
    for (int64_t i = 0; i < n; i++) ((float *)outs[k])[i] = SENTINEL;
  }
  int rc = be->run(bm, in, binding, outs, d);
  be->release(bm);
  return rc;
}

static bool run_case(const char *name, const char *target) {
  char path[512], err[1024], label[256];
  snprintf(label, sizeof label, "%s [%s]", name, target);
  snprintf(path, sizeof path, OPS_DIR "/%s.ir", name);
  char *text = read_text(path);
  CHECK_MSG(text != NULL, "cannot read %s", path);
  Diag d = {0};
  Graph *g = ir_parse(text, path, &d);
  free(text);
  CHECK_MSG(g != NULL, "%s", d.msg);
  uint32_t n_in = ir_inputs(g, NULL, 0);
  RtNpy npy[16];
  Tensor in[16], out[16];
  CHECK(n_in <= 16);
  for (uint32_t i = 0; i < n_in; i++) {
    snprintf(path, sizeof path, OPS_DIR "/%s.in%u.npy", name, i);
    CHECK_MSG(rt_npy_read(path, &npy[i], err, sizeof err) == 0, "%s", err);
    in[i].dtype = npy[i].type == RT_NPY_I32 ? DT_I32 : DT_F32;
    in[i].rank = npy[i].rank;
    memcpy(in[i].dims, npy[i].dims, sizeof in[i].dims);
    in[i].data = npy[i].data;
  }
  bool ok = true;
  if (run_jit(g, target, in, (int)n_in, out, &d)) {
    fprintf(stderr, "%s: %s\n", label, d.msg);
    ok = false;
  }
  for (uint32_t k = 0; k < g->n_outputs; k++) {
    RtNpy want;
    snprintf(path, sizeof path, OPS_DIR "/%s.out%u.npy", name, k);
    CHECK_MSG(rt_npy_read(path, &want, err, sizeof err) == 0, "%s", err);
    if (ok) ok = matches(label, (int)k, out[k].data, &want);
    rt_npy_free(&want);
    if (ok || !d.failed) free(out[k].data);
  }
  check_count++;
  for (uint32_t i = 0; i < n_in; i++) rt_npy_free(&npy[i]);
  ir_graph_free(g);
  return ok;
}

/* A graph whose kernel must return a code: the error names the node. */
static void expect_code(const char *ir, const Tensor *in, int n_in,
                        const char *want) {
  Diag d = {0};
  Graph *g = ir_parse(ir, "case.ir", &d);
  CHECK_MSG(g != NULL, "%s", d.msg);
  Tensor out[4] = {{0}};
  int rc = run_jit(g, "native", in, n_in, out, &d);
  CHECK_MSG(rc != 0, "no error, want '%s'", want);
  CHECK_STR_CONTAINS(d.msg, want);
  for (uint32_t k = 0; k < g->n_outputs; k++) free(out[k].data);
  ir_graph_free(g);
}

static void kernel_codes(void) {
  float table[4 * 3] = {0};
  int32_t ids[3] = {0, 7, 1};
  Tensor in[2] = {{DT_F32, 2, {4, 3}, table}, {DT_I32, 1, {3}, ids}};
  expect_code("graph \"g\" {\n"
              "  %t = input : f32[4, 3]\n"
              "  %ids = input : i32[3]\n"
              "  %y = gather %t, %ids : f32[3, 3]\n"
              "  return %y\n}\n",
              in, 2, "gather: an id in 'ids' is out of range for table 't' with 4 rows");
  float x[2 * 4] = {0};
  Tensor xs = {DT_F32, 2, {2, 4}, x};
  expect_code("graph \"g\" {\n"
              "  dim S <= 8\n"
              "  %x = input : f32[S, 4]\n"
              "  %y = slice %x {axis = 0, start = 0, end = 3} : f32[3, 4]\n"
              "  return %y\n}\n",
              &xs, 1, "slice: [0:3] does not fit axis 0 of length 2");
}

int main(void) {
  if (!loom_backend("jit")) {
    printf("skipped: libloom was built without LLVM\n");
    return 77;
  }
  char **names;
  int n = list_cases(&names), failed = 0;
  CHECK_MSG(n > 0, "no cases in %s", OPS_DIR);
  for (size_t t = 0; t < sizeof TARGETS / sizeof TARGETS[0]; t++)
    for (int i = 0; i < n; i++)
      if (!run_case(names[i], TARGETS[t])) failed++;
  for (int i = 0; i < n; i++) free(names[i]);
  free(names);
  CHECK_MSG(failed == 0, "%d of %d cases failed", failed,
            n * (int)(sizeof TARGETS / sizeof TARGETS[0]));
  kernel_codes();
  printf("%d cases x %zu targets match PyTorch; %d checks\n", n,
         sizeof TARGETS / sizeof TARGETS[0], check_count);
  return 0;
}
