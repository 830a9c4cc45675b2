/* fuzz_pipeline.c — IR text through everything after the parser: verify,
 * the reference interpreter, the default pass pipeline (verified after),
 * the interpreter again (the same output shapes and dtypes), and lowering to Kernel IR for the generic
 * target.  Graphs are kept small (at most 64 nodes and 1 MiB per value at
 * the bounds, symbols run at min(bound, 3)) so each input runs in
 * milliseconds; weights and consts get deterministic random values. */
#include <math.h>

#include "codegen/program.h"
#include "codegen/cpu.h"
#include "frontend/random_weights.h"
#include "fuzz/fuzz.h"
#include "ir/ir.h"
#include "passes/pass.h"

static bool small(const Graph *g) {
  if (g->n_nodes > 64) return false;
  for (uint32_t v = 0; v < g->n_values; v++)
    if (ir_bound_bytes(g, &g->values[v]) > (1 << 20)) return false;
  return true;
}

/* Random data for every weight and const (in the graph's arena). */
static void fill(Graph *g) {
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    const Node *n = &g->nodes[i];
    if (n->op != OP_WEIGHT && n->op != OP_CONST) continue;
    Value *v = &g->values[n->out[0]];
    int64_t bytes = n->op == OP_CONST
                        ? ir_const_bytes(g, v, ir_get_str(g, n, "layout"))
                        : ir_bound_bytes(g, v);
    float *data = ir_alloc(g->arena, (size_t)bytes + 4);
    fe_random_fill(data, bytes / 4, v->name ? v->name : "c", 1, 0.5f);
    v->data = data;
  }
}

typedef struct {
  Tensor *t;
  uint32_t n;
} Tensors;

static void free_tensors(Tensors *ts) {
  for (uint32_t i = 0; i < ts->n; i++) free(ts->t[i].data);
  free(ts->t);
}

/* Zeros for every input, symbols at min(bound, 3). */
static Tensors inputs(const Graph *g) {
  Tensors in = {calloc(g->n_nodes + 1, sizeof(Tensor)), 0};
  int64_t binding[IR_MAX_SYMS];
  for (uint32_t s = 0; s < g->n_syms; s++)
    binding[s] = g->syms[s].bound < 3 ? g->syms[s].bound : 3;
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    if (g->nodes[i].op != OP_INPUT) continue;
    const Value *v = &g->values[g->nodes[i].out[0]];
    Tensor *t = &in.t[in.n++];
    t->dtype = v->dtype;
    t->rank = v->shape.rank;
    int64_t numel = ir_shape_eval(&v->shape, binding, t->dims);
    t->data = calloc((size_t)numel + 1, ir_dtype_size(v->dtype));
  }
  return in;
}

static Tensors run(const Graph *g, const Tensors *in, int *rc) {
  Tensors out = {calloc(g->n_outputs + 1, sizeof(Tensor)), g->n_outputs};
  Diag d = {0};
  *rc = ir_interp(g, in->t, (int)in->n, out.t, &d);
  if (*rc && !d.failed) abort();
  return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
  char *text = fuzz_text(data, n);
  Diag d = {0};
  Graph *g = ir_parse(text, "fuzz.ir", &d);
  free(text);
  if (!g) return 0;
  if (ir_verify(g, &d) || !small(g)) {
    ir_graph_free(g);
    return 0;
  }
  fill(g);
  Tensors in = inputs(g);
  int rc_before, rc_after = 0;
  Tensors before = run(g, &in, &rc_before);
  Target t;
  if (cg_target("generic", &t)) abort();
  PassCtx ctx = {.target = &t};
  PipelineOptions po = {0};
  Diag pd = {0};
  if (pass_run_pipeline(g, &po, &ctx, &pd) == 0) {
    Diag vd = {0};
    if (ir_verify(g, &vd)) {
      fprintf(stderr, "the pipeline's IR does not verify: %s\n", vd.msg);
      abort();
    }
    Tensors after = run(g, &in, &rc_after);
    if (rc_before == 0 && rc_after == 0) {
      for (uint32_t i = 0; i < before.n; i++) {
        const Tensor *a = &before.t[i], *b = &after.t[i];
        if (a->rank != b->rank || a->dtype != b->dtype) abort();
        for (int k = 0; k < a->rank; k++)
          if (a->dims[k] != b->dims[k]) abort();
      }
    }
    free_tensors(&after);
    Diag cd = {0};
    Program *p = cg_program(g, &t, &cd);
    if (!p && !cd.failed) abort();
    cg_program_free(p);
  } else if (!pd.failed) {
    abort();
  }
  free_tensors(&before);
  free_tensors(&in);
  ir_graph_free(g);
  return 0;
}
