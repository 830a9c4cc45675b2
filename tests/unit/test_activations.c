/* test_activations.c — NaN, +Inf and −Inf (and ordinary values) through
 * every activation, fused into a matmul's epilogue and not, on every
 * backend this libloom has.
 *
 * The model is y = act(x · w) with x [S, 1] and w [1, N] of ones: a
 * product with K = 1 and a factor 1 is exact, so y[i, j] = act(x[i]) and
 * each special value reaches the activation as it is.  N = 37 covers a
 * vector body and its tails at every width.  The reference is the
 * interpreter with no passes (the graph as written); every other run —
 * each backend, with the default pipeline (fuse-epilogue folds the
 * activation into the matmul) and with fuse-epilogue disabled — must give
 * NaN exactly where it does, the same infinity where it is infinite, and
 * agree within 1e-6 + 1e-5·|ref| elsewhere.  The activations are the ops
 * ops.def flags OPF_ACTIVATION, so a new one is tested without a word here.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/backend.h"
#include "codegen/cpu.h"
#include "loom.h"
#include "passes/pass.h"
#include "tests/check.h"

enum { S = 29, N = 37 };

static float xs[S], ones[N];

static void fill_inputs(void) {
  const float special[] = {NAN, INFINITY, -INFINITY, 0.0f, -0.0f, 1e-30f,
                           -1e-30f, 88.0f, -88.0f, 1e30f, -1e30f};
  int n = (int)(sizeof special / sizeof special[0]);
  for (int i = 0; i < S; i++)
    xs[i] = i < n ? special[i] : -6.0f + 12.0f * (float)(i - n) / (S - n - 1);
  for (int j = 0; j < N; j++) ones[j] = 1.0f;
}

/* The model file for one activation. */
static void write_model(const char *path, const char *act) {
  FILE *f = fopen(path, "w");
  CHECK(f);
  fprintf(f,
          "name: act-%s\n"
          "graph:\n"
          "  inputs:\n"
          "    x: {dtype: f32, shape: [%d, 1]}\n"
          "    w: {dtype: f32, shape: [1, %d]}\n"
          "  nodes:\n"
          "    - {op: matmul, in: [x, w], out: y}\n"
          "    - {op: %s, in: [y], out: z}\n"
          "  outputs: [z]\n",
          act, S, N, act);
  CHECK(fclose(f) == 0);
}

/* Run the model; out has S·N floats. */
static void run(const char *path, const char *backend, const char *passes,
                const char *disable, const char *cache, float *out) {
  char err[4096];
  loom_options o = {.backend = backend, .passes = passes, .disable = disable,
                    .cache = cache};
  loom_model *m = NULL;
  CHECK_MSG(loom_load(path, &o, &m, err, sizeof err) == LOOM_OK, "%s", err);
  loom_tensor in[2] = {{"x", LOOM_F32, 2, {S, 1}, xs}, {"w", LOOM_F32, 2, {1, N}, ones}};
  loom_tensor y = {"z", LOOM_F32, 2, {S, N}, out};
  CHECK_MSG(loom_run(m, in, 2, &y, 1, err, sizeof err) == LOOM_OK, "%s", err);
  loom_free(m);
}

/* The default pipeline folds the activation into the matmul. */
static void check_fused(const char *path, const char *act) {
  Diag d = {0};
  Target t;
  FeModel *fe = NULL;
  PrepareOptions po = {0};
  CHECK_MSG(api_prepare(path, &po, &t, &fe, &d) == 0, "%s", d.msg);
  int matmuls = 0, fused = 0;
  for (uint32_t i = 0; i < fe->g->n_nodes; i++) {
    const Node *n = &fe->g->nodes[i];
    if (n->dead || n->op != OP_MATMUL) continue;
    matmuls++;
    fused += strcmp(ir_get_str(fe->g, n, "act"), act) == 0;
  }
  CHECK_MSG(matmuls == 1 && fused == 1, "%s: not fused (%d matmuls)", act, matmuls);
  fe_model_free(fe);
}

static int compare(const char *label, const float *got, const float *want) {
  int bad = 0;
  for (int i = 0; i < S * N; i++) {
    float g = got[i], w = want[i];
    bool ok = isnan(w)   ? isnan(g)
              : isinf(w) ? g == w
                         : !isnan(g) && !isinf(g) && fabsf(g - w) <= 1e-6f + 1e-5f * fabsf(w);
    if (!ok && bad++ < 3)
      fprintf(stderr, "%s: x = %g: got %g, want %g\n", label, xs[i / N], g, w);
  }
  return bad;
}

int main(void) {
  fill_inputs();
  char dir[] = "/tmp/loom-test-act-XXXXXX";
  CHECK(mkdtemp(dir));
  char cache[256], path[256];
  snprintf(cache, sizeof cache, "%s/cache", dir);
  static const char *const backends[] = {"ref", "c", "jit"};
  const char *acts[OP_COUNT + 1];
  int n_acts = ir_act_names(acts), checks = 0;
  CHECK(n_acts >= 3);
  float *want = malloc(sizeof(float) * S * N), *got = malloc(sizeof(float) * S * N);
  CHECK(want && got);
  for (int a = 0; a < n_acts; a++) {
    snprintf(path, sizeof path, "%s/%s.yaml", dir, acts[a]);
    write_model(path, acts[a]);
    check_fused(path, acts[a]);
    run(path, "ref", "none", NULL, cache, want);
    /* the reference's own meaning: NaN stays NaN (x rows 0, 1, 2 are NaN,
     * +inf, -inf); relu(+inf) = inf, relu(-inf) = 0 */
    CHECK(isnan(want[0]));
    if (strcmp(acts[a], "relu") == 0) CHECK(want[N] == INFINITY && want[2 * N] == 0);
    for (size_t b = 0; b < sizeof backends / sizeof backends[0]; b++) {
      if (!loom_backend(backends[b])) continue; /* built without LLVM */
      for (int fused = 0; fused < 2; fused++) {
        char label[128];
        snprintf(label, sizeof label, "%s on %s, %s", acts[a], backends[b],
                 fused ? "fused" : "unfused");
        run(path, backends[b], NULL, fused ? NULL : "fuse-epilogue", cache, got);
        CHECK_MSG(compare(label, got, want) == 0, "%s differs from the reference", label);
        checks++;
      }
    }
  }
  free(want);
  free(got);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  CHECK(system(cmd) == 0);
  printf("%d activations, %d runs match the reference (NaN and Inf included)\n",
         n_acts, checks);
  return 0;
}
