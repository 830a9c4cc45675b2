/* test_lower_ops.c — the Kernel IR of every op, run by tests/kir_eval.c.
 *
 * Two kinds of cases, each run at lanes 1, 4 and 16 (the scalar path, and
 * vector widths that leave tails and that do not):
 *
 * 1. Every tests/data/ops/CASE.ir (PyTorch goldens, see test_ops.c): the
 *    graph is evaluated node by node — each node lowered with cg_lower_node,
 *    its kernel run by the evaluator on buffers of the node's concrete size
 *    (symbols bound from the inputs' shapes) — and the results compared
 *    with CASE.outN.npy.  Matmul nodes go through lower_matmul.c the same
 *    way, so these cases check it too.
 *
 * 2. Targeted graphs in IR text, compared with the reference interpreter
 *    on random inputs: odd sizes (n = 1, 3, 17, 33: vector body and tail
 *    both run), broadcasting, reductions over leading axes, a large
 *    symbolic case whose kernels must have parallel loops (and small ones
 *    that must not), a gather id out of range and a slice past a symbolic
 *    axis (the kernels' return codes), and the sinusoidal encoding to 1e-6.
 *
 * Tolerance: |got − want| <= 1e-4 + 1e-3·|want| (the kernels sum in f32,
 * the interpreter in f64); NaN matches NaN and infinities match exactly.
 * Result buffers start filled with a sentinel, so an element a kernel
 * forgets to write fails.  A few kernels are printed for the eye.
 */
#include "codegen/lower/lower.h"
#include "codegen/cpu.h"
#include "ir/ir.h"
#include "ir/scratch.h"
#include "runtime/npy.h"
#include "tests/check.h"
#include "tests/op_cases.h"

#include "tests/kir_eval.c"

#include <dirent.h>

#define ATOL 1e-4
#define RTOL 1e-3
#define SENTINEL (-7.77e33f)

static const int LANES[] = {1, 4, 16};
#define N_LANES 3

/* ---- running a graph through the lowering ------------------------------ */

typedef struct {
  int kernels, parallel; /* kernels run; how many have a parallel loop */
} Stats;

typedef struct {
  void *data;
  int64_t numel;
  bool owned;
} TBuf;

/* Evaluate g node by node: cg_lower_node, then kir_eval on buffers of each
 * value's concrete size.  outputs[i] (for g->outputs[i]) are malloc'd
 * copies.  Returns 0, or the first nonzero kernel code (outputs then
 * unset).  print: show every kernel. */
static int run_lowered(const Graph *g, const Tensor *in, int n_in, int lanes,
                       Tensor *outputs, bool print, Stats *stats) {
  Diag d = {0};
  Target t;
  CHECK(cg_target("generic", &t) == 0);
  int64_t *binding = calloc(g->n_syms + 1, sizeof *binding);
  TBuf *vals = calloc(g->n_values + 1, sizeof *vals);
  CHECK(binding && vals);
  CHECK_MSG(ir_bind_inputs(g, in, n_in, binding, &d) == 0, "%s", d.msg);
  int rc = 0, k_in = 0;
  for (uint32_t id = 0; id < g->n_nodes && rc == 0; id++) {
    const Node *n = &g->nodes[id];
    int64_t dims[IR_MAX_RANK];
    if (n->op == OP_INPUT) {
      TBuf *b = &vals[n->out[0]];
      b->numel = ir_shape_eval(&g->values[n->out[0]].shape, binding, dims);
      b->data = in[k_in++].data;
      if (!b->data) { /* a left-out optional input: zeros */
        b->data = calloc((size_t)b->numel + 1, 4);
        b->owned = true;
      }
      continue;
    }
    CHECK_MSG(!(ir_op_info(n->op)->flags & OPF_SOURCE),
              "only inputs are supported as sources here");
    for (uint32_t j = 0; j < n->nout; j++) {
      TBuf *b = &vals[n->out[j]];
      b->numel = ir_shape_eval(&g->values[n->out[j]].shape, binding, dims);
      b->data = malloc((size_t)b->numel * 4 + 4);
      b->owned = true;
      CHECK(b->data);
      for (int64_t e = 0; e < b->numel; e++) ((float *)b->data)[e] = SENTINEL;
    }
    Kernel *k;
    KBind binds[K_MAX_PARAMS];
    uint32_t nb;
    CHECK_MSG(cg_lower_node(g, id, &t, lanes, &k, binds, &nb, &d) == 0, "%s",
              d.msg);
    CHECK(nb == k->n_params);
    char *text = k_print(k, ir_op_info(n->op)->name);
    if (print) printf("%s\n", text);
    stats->kernels++;
    stats->parallel += strstr(text, " parallel {") != NULL;
    free(text);
    KEvalArg args[K_MAX_PARAMS];
    float *scratch = NULL; /* the kernel's working memory, if it has any */
    for (uint32_t p = 0; p < nb; p++) {
      args[p] = (KEvalArg){0};
      if (binds[p].kind == KB_SCRATCH) {
        int64_t bytes = ir_scratch_bytes(g, n, &t.plan);
        scratch = malloc((size_t)bytes + 4);
        CHECK(scratch);
        args[p].data = scratch;
        args[p].len = bytes / 4;
      } else if (binds[p].kind == KB_VALUE) {
        args[p].data = vals[binds[p].id].data;
        args[p].len = vals[binds[p].id].numel;
      } else {
        args[p].value = binding[binds[p].id];
      }
    }
    rc = kir_eval(k, args);
    free(scratch);
    k_free(k);
  }
  for (uint32_t i = 0; i < g->n_outputs; i++) {
    outputs[i] = (Tensor){0};
    if (rc) continue;
    const Value *v = &g->values[g->outputs[i]];
    const TBuf *b = &vals[g->outputs[i]];
    outputs[i].dtype = v->dtype;
    outputs[i].rank = v->shape.rank;
    ir_shape_eval(&v->shape, binding, outputs[i].dims);
    outputs[i].data = malloc((size_t)b->numel * 4 + 4);
    CHECK(outputs[i].data);
    memcpy(outputs[i].data, b->data, (size_t)b->numel * 4);
  }
  for (uint32_t v = 0; v < g->n_values; v++)
    if (vals[v].owned) free(vals[v].data);
  free(vals);
  free(binding);
  return rc;
}

static void free_tensors(Tensor *t, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) free(t[i].data);
}

/* ---- comparing ----------------------------------------------------------- */

static bool close_enough(double got, double want, double atol, double rtol) {
  if (isnan(want) || isnan(got)) return isnan(want) && isnan(got);
  if (isinf(want) || isinf(got)) return got == want;
  return fabs(got - want) <= atol + rtol * fabs(want);
}

/* got against want (n elements); prints the worst element on a mismatch */
static bool compare(const char *what, const float *got, const float *want,
                    int64_t n, double atol, double rtol) {
  int64_t worst = -1;
  double worst_err = -1;
  for (int64_t i = 0; i < n; i++) {
    if (close_enough(got[i], want[i], atol, rtol)) continue;
    double err = fabs((double)got[i] - want[i]);
    if (isnan(err)) err = INFINITY;
    if (err > worst_err) {
      worst = i;
      worst_err = err;
    }
  }
  if (worst < 0) return true;
  fprintf(stderr, "%s: element %lld: got %.9g, want %.9g\n", what,
          (long long)worst, got[worst], want[worst]);
  return false;
}

static bool same_dims(const char *what, const Tensor *got, int rank,
                      const int64_t *dims) {
  bool ok = got->rank == rank;
  for (int i = 0; ok && i < rank; i++) ok = got->dims[i] == dims[i];
  if (!ok) fprintf(stderr, "%s: dims differ from the golden\n", what);
  return ok;
}

/* ---- the PyTorch goldens ------------------------------------------------ */


/* Cases whose kernels are printed (at lanes 4). */
static bool printed(const char *name) {
  static const char *const show[] = {"add_broadcast", "gather", "layernorm",
                                     "softmax_axes", "causal_mask_offset",
                                     "transpose", "slice_symbolic", "l2_normalize"};
  for (size_t i = 0; i < sizeof show / sizeof show[0]; i++)
    if (strcmp(name, show[i]) == 0) return true;
  return false;
}

/* One golden case at every lane count; true when every result matches. */
static bool run_golden(const char *name) {
  char path[512], err[1024];
  snprintf(path, sizeof path, OPS_DIR "/%s.ir", name);
  char *text = read_text(path);
  CHECK_MSG(text != NULL, "cannot read %s", path);
  Diag d = {0};
  Graph *g = ir_parse(text, path, &d);
  free(text);
  CHECK_MSG(g != NULL, "%s", d.msg);
  uint32_t n_in = ir_inputs(g, NULL, 0), n_out = g->n_outputs;
  RtNpy *npy = calloc(n_in + 1, sizeof *npy), *want = calloc(n_out + 1, sizeof *want);
  Tensor *in = calloc(n_in + 1, sizeof *in), *out = calloc(n_out + 1, sizeof *out);
  CHECK(npy && want && in && out);
  for (uint32_t i = 0; i < n_in; i++) {
    snprintf(path, sizeof path, OPS_DIR "/%s.in%u.npy", name, i);
    CHECK_MSG(rt_npy_read(path, &npy[i], err, sizeof err) == 0, "%s", err);
    in[i].dtype = npy[i].type == RT_NPY_I32 ? DT_I32 : DT_F32;
    in[i].rank = npy[i].rank;
    memcpy(in[i].dims, npy[i].dims, sizeof in[i].dims);
    in[i].data = npy[i].data;
  }
  for (uint32_t i = 0; i < n_out; i++) {
    snprintf(path, sizeof path, OPS_DIR "/%s.out%u.npy", name, i);
    CHECK_MSG(rt_npy_read(path, &want[i], err, sizeof err) == 0, "%s", err);
    CHECK(want[i].type == RT_NPY_F32);
  }
  bool ok = true;
  for (int li = 0; li < N_LANES; li++) {
    Stats st = {0};
    bool show = LANES[li] == 4 && printed(name);
    if (show) printf("---- %s, lanes 4\n", name);
    int rc = run_lowered(g, in, (int)n_in, LANES[li], out, show, &st);
    if (rc) {
      fprintf(stderr, "%s, lanes %d: a kernel returned %d\n", name, LANES[li], rc);
      ok = false;
      continue;
    }
    for (uint32_t i = 0; i < n_out; i++) {
      char what[256];
      snprintf(what, sizeof what, "%s, lanes %d, out%u", name, LANES[li], i);
      ok = same_dims(what, &out[i], want[i].rank, want[i].dims) &&
           compare(what, out[i].data, want[i].data, (int64_t)want[i].count,
                   ATOL, RTOL) &&
           ok;
    }
    free_tensors(out, n_out);
  }
  for (uint32_t i = 0; i < n_in; i++) rt_npy_free(&npy[i]);
  for (uint32_t i = 0; i < n_out; i++) rt_npy_free(&want[i]);
  free(npy);
  free(want);
  free(in);
  free(out);
  ir_graph_free(g);
  return ok;
}

/* ---- targeted cases against the interpreter ----------------------------- */

static uint64_t rng = 88172645463325252ull;

static double uniform(void) { /* [0, 1) */
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (double)(rng >> 11) / 9007199254740992.0;
}

typedef enum { PAR_ANY, PAR_NONE, PAR_SOME } ParWant;

typedef struct {
  Graph *g;
  uint32_t n_in;
  Tensor *in;
} Case;

/* Parse `ir`; make random inputs with symbols at sym_values (f32 uniform
 * in [-3, 3), i32 in [0, 6)). */
static Case make_case(const char *label, const char *ir, const int64_t *sym_values) {
  Diag d = {0};
  Case c = {0};
  c.g = ir_parse(ir, label, &d);
  CHECK_MSG(c.g != NULL, "%s", d.msg);
  CHECK_MSG(ir_verify(c.g, &d) == 0, "%s", d.msg);
  uint32_t ids[64];
  c.n_in = ir_inputs(c.g, ids, 64);
  c.in = calloc(c.n_in + 1, sizeof *c.in);
  CHECK(c.in);
  for (uint32_t i = 0; i < c.n_in; i++) {
    const Value *v = &c.g->values[ids[i]];
    Tensor *t = &c.in[i];
    t->dtype = v->dtype;
    t->rank = v->shape.rank;
    int64_t n = ir_shape_eval(&v->shape, sym_values, t->dims);
    t->data = malloc((size_t)n * 4 + 4);
    CHECK(t->data);
    for (int64_t e = 0; e < n; e++) {
      if (v->dtype == DT_I32) ((int32_t *)t->data)[e] = (int32_t)(uniform() * 6);
      else ((float *)t->data)[e] = (float)(uniform() * 6 - 3);
    }
  }
  return c;
}

static void free_case(Case *c) {
  free_tensors(c->in, c->n_in);
  free(c->in);
  ir_graph_free(c->g);
}

/* Every result of the case at every lane count against ir_interp. */
static void check_case(const char *label, Case *c, double atol, double rtol,
                       ParWant par) {
  Diag d = {0};
  uint32_t n_out = c->g->n_outputs;
  Tensor *want = calloc(n_out + 1, sizeof *want), *got = calloc(n_out + 1, sizeof *got);
  CHECK(want && got);
  CHECK_MSG(ir_interp(c->g, c->in, (int)c->n_in, want, &d) == 0, "%s", d.msg);
  for (int li = 0; li < N_LANES; li++) {
    Stats st = {0};
    int rc = run_lowered(c->g, c->in, (int)c->n_in, LANES[li], got, false, &st);
    CHECK_MSG(rc == 0, "%s, lanes %d: a kernel returned %d", label, LANES[li], rc);
    bool ok = true;
    for (uint32_t i = 0; i < n_out; i++) {
      char what[256];
      snprintf(what, sizeof what, "%s, lanes %d, result %u", label, LANES[li], i);
      ok = same_dims(what, &got[i], want[i].rank, want[i].dims) &&
           compare(what, got[i].data, want[i].data, ir_tensor_numel(&want[i]),
                   atol, rtol) &&
           ok;
    }
    CHECK_MSG(ok, "%s: results differ from the interpreter", label);
    if (par == PAR_NONE)
      CHECK_MSG(st.parallel == 0, "%s: %d kernels have a parallel loop", label,
                st.parallel);
    if (par == PAR_SOME)
      CHECK_MSG(st.parallel > 0, "%s: no kernel has a parallel loop", label);
    free_tensors(got, n_out);
  }
  free_tensors(want, n_out);
  free(want);
  free(got);
}

static void check_ir(const char *label, const char *ir, const int64_t *syms,
                     double atol, double rtol, ParWant par) {
  Case c = make_case(label, ir, syms);
  check_case(label, &c, atol, rtol, par);
  free_case(&c);
}

/* Every op at widths that exercise the vector body alone (n = 16, 32 at
 * lanes 4 and 16), the tail alone (1, 3) and both (17, 33). */
static void test_odd_sizes(void) {
  static const int64_t ns[] = {1, 3, 16, 17, 32, 33};
  for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
    long long N = ns[i];
    char ir[4096], label[64];
    snprintf(label, sizeof label, "odd sizes, n = %lld", N);
    snprintf(ir, sizeof ir,
             "graph \"odd\" {\n"
             "  %%x = input : f32[5, %lld]\n"
             "  %%v = input : f32[%lld]\n"
             "  %%g = input : f32[%lld]\n"
             "  %%x3 = input : f32[2, 3, %lld]\n"
             "  %%sm = softmax %%x : f32[5, %lld]\n"
             "  %%s0 = softmax %%x {axis = 0} : f32[5, %lld]\n"
             "  %%s1 = softmax %%x3 {axis = 1} : f32[2, 3, %lld]\n"
             "  %%ln = layernorm %%x, %%g, %%v : f32[5, %lld]\n"
             "  %%ge = gelu %%x : f32[5, %lld]\n"
             "  %%gt = gelu_tanh %%x : f32[5, %lld]\n"
             "  %%re = relu %%x : f32[5, %lld]\n"
             "  %%sc = scale %%x {by = 0.5} : f32[5, %lld]\n"
             "  %%ba = bias_add %%x3, %%v : f32[2, 3, %lld]\n"
             "  %%ad = add %%x, %%v : f32[5, %lld]\n"
             "  %%mu = mul %%v, %%x3 : f32[2, 3, %lld]\n"
             "  %%l2 = l2_normalize %%x : f32[5, %lld]\n"
             "  %%l20 = l2_normalize %%x {axis = 0} : f32[5, %lld]\n"
             "  %%l21 = l2_normalize %%x3 {axis = 1, eps = 4} : f32[2, 3, %lld]\n"
             "  %%m1 = mean %%x {axis = -1} : f32[5]\n"
             "  %%m0 = mean %%x {axis = 0, keepdims = true} : f32[1, %lld]\n"
             "  %%m31 = mean %%x3 {axis = 1} : f32[2, %lld]\n"
             "  %%cm = causal_mask %%x {offset = 1} : f32[5, %lld]\n"
             "  %%cm3 = causal_mask %%x3 {offset = -1} : f32[2, 3, %lld]\n"
             "  %%tr = transpose %%x3 {perm = [2, 0, 1]} : f32[%lld, 2, 3]\n"
             "  %%t2 = transpose %%x3 {perm = [1, 0, 2]} : f32[3, 2, %lld]\n"
             "  %%co = concat %%x, %%sc, %%x {axis = 1} : f32[5, %lld]\n"
             "  %%sl = slice %%co {axis = 1, start = 1, end = %lld} : f32[5, %lld]\n"
             "  %%sp0, %%sp1, %%sp2 = split %%co {axis = -1, parts = 3} : "
             "f32[5, %lld], f32[5, %lld], f32[5, %lld]\n"
             "  %%rs = reshape %%x3 {shape = [6, %lld]} : f32[6, %lld]\n"
             "  %%pe = sinusoidal_pe {len = 5, d = %lld} : f32[5, %lld]\n"
             "  return %%sm, %%s0, %%s1, %%ln, %%ge, %%gt, %%re, %%sc, %%ba, "
             "%%ad, %%mu, %%l2, %%l20, %%l21, %%m1, %%m0, %%m31, %%cm, %%cm3, "
             "%%tr, %%t2, %%co, %%sl, %%sp0, %%sp1, %%sp2, %%rs, %%pe\n"
             "}\n",
             N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N,
             N, N, 3 * N, N + 1, N, N, N, N, N, N, N, N);
    check_ir(label, ir, NULL, ATOL, RTOL, PAR_NONE);
  }
}

/* NumPy broadcasting in both directions and of every kind. */
static void test_broadcast(void) {
  check_ir("broadcast",
           "graph \"bc\" {\n"
           "  %a = input : f32[4, 1, 5]\n"
           "  %b = input : f32[3, 1]\n"
           "  %c = input : f32[4, 3, 5]\n"
           "  %v = input : f32[5]\n"
           "  %s = input : f32[1]\n"
           "  %y = add %a, %b : f32[4, 3, 5]\n"
           "  %z = mul %b, %a : f32[4, 3, 5]\n"
           "  %w = add %c, %v : f32[4, 3, 5]\n"
           "  %u = mul %s, %c : f32[4, 3, 5]\n"
           "  %t = add %a, %c : f32[4, 3, 5]\n"
           "  return %y, %z, %w, %u, %t\n"
           "}\n",
           NULL, ATOL, RTOL, PAR_NONE);
}

/* Large enough for parallel loops, symbolic, 1001 wide so that the vector
 * loops leave tails; S = 37 of at most 64. */
static void test_large_symbolic(void) {
  const int64_t S[] = {37};
  check_ir("large, symbolic",
           "graph \"large\" {\n"
           "  dim S <= 64\n"
           "  %x = input : f32[S, 1001]\n"
           "  %v = input : f32[1001]\n"
           "  %g = input : f32[1001]\n"
           "  %img = input : f32[3, 48, 48]\n"
           "  %sm = softmax %x : f32[S, 1001]\n"
           "  %s0 = softmax %x {axis = 0} : f32[S, 1001]\n"
           "  %ln = layernorm %x, %g, %v : f32[S, 1001]\n"
           "  %ge = gelu %x : f32[S, 1001]\n"
           "  %sc = scale %x {by = -1.5} : f32[S, 1001]\n"
           "  %ba = bias_add %x, %v : f32[S, 1001]\n"
           "  %l2 = l2_normalize %x : f32[S, 1001]\n"
           "  %l20 = l2_normalize %x {axis = 0} : f32[S, 1001]\n"
           "  %m0 = mean %x {axis = 0} : f32[1001]\n"
           "  %m1 = mean %x {axis = 1} : f32[S]\n"
           "  %tr = transpose %x {perm = [1, 0]} : f32[1001, S]\n"
           "  %cm = causal_mask %x {offset = 3} : f32[S, 1001]\n"
           "  %pe = sinusoidal_pe {len = S, d = 1001} : f32[S, 1001]\n"
           "  %sl = slice %x {axis = 1, start = 3, end = 1000} : f32[S, 997]\n"
           "  %co = concat %sl, %x {axis = 1} : f32[S, 1998]\n"
           "  %h = reshape %co {shape = [S, 18, 111]} : f32[S, 18, 111]\n"
           "  %ht = transpose %h {perm = [1, 0, 2]} : f32[18, S, 111]\n"
           "  %hs = softmax %ht {axis = 1} : f32[18, S, 111]\n"
           "  %p = patchify %img {patch = 3} : f32[256, 27]\n"
           "  return %sm, %s0, %ln, %ge, %sc, %ba, %l2, %l20, %m0, %m1, %tr, "
           "%cm, %pe, %sl, %co, %hs, %p\n"
           "}\n",
           S, ATOL, RTOL, PAR_SOME);
}

/* The positional encoding matches the interpreter's f64 libm to 1e-6. */
static void test_sinusoidal_pe(void) {
  const int64_t S[] = {50};
  check_ir("sinusoidal_pe",
           "graph \"pe\" {\n"
           "  dim S <= 64\n"
           "  %x = input : f32[S, 7]\n"
           "  %pe = sinusoidal_pe {len = S, d = 7} : f32[S, 7]\n"
           "  %y = add %x, %pe : f32[S, 7]\n"
           "  %big = sinusoidal_pe {len = 300, d = 64} : f32[300, 64]\n"
           "  return %pe, %big\n"
           "}\n",
           S, 1e-6, 0, PAR_ANY);
}

/* A fully masked softmax row is NaN; a partly masked one ignores -inf. */
static void test_softmax_masked(void) {
  Case c = make_case("softmax, masked",
                     "graph \"sm\" {\n"
                     "  %x = input : f32[4, 19]\n"
                     "  %y = softmax %x : f32[4, 19]\n"
                     "  %z = softmax %x {axis = 0} : f32[4, 19]\n"
                     "  return %y, %z\n"
                     "}\n",
                     NULL);
  float *x = c.in[0].data;
  for (int j = 0; j < 19; j++) x[1 * 19 + j] = -INFINITY; /* row 1 */
  for (int j = 5; j < 19; j++) x[2 * 19 + j] = -INFINITY; /* row 2 */
  check_case("softmax, masked", &c, ATOL, RTOL, PAR_NONE);
  free_case(&c);
}

/* Kernel return codes: a gather id out of range, a slice past the end of
 * a symbolic axis. */
static void test_error_codes(void) {
  Case c = make_case("gather range",
                     "graph \"gather\" {\n"
                     "  %table = input : f32[10, 21]\n"
                     "  %ids = input : i32[2, 3]\n"
                     "  %y = gather %table, %ids : f32[2, 3, 21]\n"
                     "  return %y\n"
                     "}\n",
                     NULL);
  int32_t *ids = c.in[1].data;
  const int32_t good[6] = {0, 3, 9, 2, 2, 7};
  memcpy(ids, good, sizeof good);
  check_case("gather in range", &c, ATOL, RTOL, PAR_NONE);
  const int32_t bad[2][6] = {{0, 3, 10, 2, 2, 7}, {0, -1, 9, 2, 2, 7}};
  for (int b = 0; b < 2; b++) {
    memcpy(ids, bad[b], sizeof bad[b]);
    for (int li = 0; li < N_LANES; li++) {
      Tensor out[1];
      Stats st = {0};
      int rc = run_lowered(c.g, c.in, (int)c.n_in, LANES[li], out, false, &st);
      CHECK_MSG(rc == K_ERR_GATHER_RANGE, "gather out of range: code %d", rc);
    }
  }
  free_case(&c);

  const char *slice_ir = "graph \"slice\" {\n"
                         "  dim S <= 16\n"
                         "  %x = input : f32[S, 4]\n"
                         "  %y = slice %x {axis = 0, start = 1, end = 3} : f32[2, 4]\n"
                         "  return %y\n"
                         "}\n";
  const int64_t fits[] = {5}, short_[] = {2};
  check_ir("slice in range", slice_ir, fits, ATOL, RTOL, PAR_NONE);
  c = make_case("slice range", slice_ir, short_);
  for (int li = 0; li < N_LANES; li++) {
    Tensor out[1];
    Stats st = {0};
    int rc = run_lowered(c.g, c.in, (int)c.n_in, LANES[li], out, false, &st);
    CHECK_MSG(rc == K_ERR_SLICE_RANGE, "slice past the axis: code %d", rc);
  }
  free_case(&c);
}

int main(void) {
  char **names;
  int n = list_cases(&names);
  CHECK_MSG(n > 0, "no *.ir cases in %s", OPS_DIR);
  int failed = 0;
  for (int i = 0; i < n; i++) {
    bool ok = run_golden(names[i]);
    CHECK(1); /* one check per case that ran */
    if (!ok) {
      fprintf(stderr, "FAIL %s\n", names[i]);
      failed++;
    }
    free(names[i]);
  }
  free(names);
  CHECK_MSG(failed == 0, "%d of %d golden cases failed", failed, n);
  printf("%d golden cases at lanes 1, 4, 16\n", n);

  test_odd_sizes();
  test_broadcast();
  test_softmax_masked();
  test_large_symbolic();
  test_sinusoidal_pe();
  test_error_codes();
  CHECK_DONE();
}
