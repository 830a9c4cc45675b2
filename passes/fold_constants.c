/* fold_constants.c — evaluate at compile time what depends only on constants.
 *
 * A node folds when
 *   - it is not a source (input, weight, const),
 *   - every operand is a `weight` or a row-major `const`, both with data,
 *     of static shape,
 *   - every result has a static shape and no attribute names a symbol,
 *   - none of its results is a graph output (backends return computed
 *     values; a graph that returns a constant keeps computing it).
 * It is then evaluated by the reference interpreter — the definition of
 * every op, so a folded value is exactly what the graph computed — on a
 * tiny graph made of its operands (as weights sharing their data) and a copy
 * of the node, and each result becomes a `const` holding the data (in the
 * graph's arena), named after the value it replaces, at that node's place
 * (`pos`) and location.  The replaced node is marked dead; operands it
 * leaves unused are dce's.
 *
 *   %t = transpose %w {perm = [1, 0]} : f32[64, 32]    ->  %t = const : f32[64, 32]
 *   %a, %b = split %w {axis = 0, parts = 2}            ->  %a = const ; %b = const
 *
 * One special case: `sinusoidal_pe {len = c*S}` has a symbolic result, but
 * row p of the table is PE(p, ·) whatever the table's length, so the table
 * at the bound sliced to len is exact:
 *
 *   %pe = sinusoidal_pe {len = S, d = 64} : f32[S, 64]
 *     ->  %pe.table = const : f32[256, 64]          (S <= 256)
 *         %pe = slice %pe.table {axis = 0, end = S} : f32[S, 64]
 *
 * No other op is folded that way (a softmax or a mean over the symbolic
 * axis changes with the length; the others read an input), so nothing
 * else with a symbolic shape folds.  After this pass no sin or cos is left
 * for a backend to emit.
 *
 * The sweep runs in node order, so the users of a folded node, which come
 * later, see the new const in the same sweep and a chain of weight
 * transforms (reshape -> transpose -> slice) folds whole; sweeps repeat
 * until one folds nothing.  Consts are appended at the end, so the graph is
 * compacted (sorted by pos) once at the end to be topologically ordered
 * again.  A node the interpreter rejects (an id out of range in a constant
 * gather, a dtype it does not compute on) is left alone: the run reports
 * it, with its location, as it would without this pass.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "passes/pass.h"

static bool static_shape(const Shape *s) {
  for (int i = 0; i < s->rank; i++)
    if (!ir_dim_static(s->d[i])) return false;
  return true;
}

/* Does any attribute of n name a symbol? */
static bool symbolic_attr(const Node *n) {
  const OpInfo *info = ir_op_info(n->op);
  for (int i = 0; i < info->nattrs; i++) {
    const Attr *a = &n->attr[i];
    if (!a->set) continue;
    if (info->attrs[i].kind == AK_DIM && a->dim.sym >= 0) return true;
    if (info->attrs[i].kind == AK_DIMS)
      for (int k = 0; k < a->n; k++)
        if (a->dims[k].sym >= 0) return true;
  }
  return false;
}

/* A weight, or a row-major const, with data and a static shape. */
static bool is_constant(const Graph *g, uint32_t v) {
  const Value *val = &g->values[v];
  const Node *p = &g->nodes[val->node];
  if (p->op == OP_CONST) {
    if (ir_layout_panel(ir_get_str(g, p, "layout")) != 0) return false;
  } else if (p->op != OP_WEIGHT) {
    return false;
  }
  return val->data && static_shape(&val->shape);
}

static bool foldable(const Graph *g, const Node *n) {
  if (n->dead || (ir_op_info(n->op)->flags & OPF_SOURCE)) return false;
  for (uint32_t k = 0; k < n->nin; k++)
    if (!is_constant(g, n->in[k])) return false;
  for (uint32_t r = 0; r < n->nout; r++)
    if (!static_shape(&g->values[n->out[r]].shape) ||
        ir_is_output(g, n->out[r]))
      return false;
  return !symbolic_attr(n);
}

/* Evaluate node `id` of g on its constant operands; outs[r] gets each
 * result (malloc'd by the interpreter).  `len` overrides the len of a
 * sinusoidal_pe (0: as it is).  Returns 0, or -1 when the interpreter
 * rejects the node. */
static int evaluate(const Graph *g, uint32_t id, int64_t len, Tensor *outs) {
  const Node *n = &g->nodes[id];
  Graph *t = ir_graph_new("fold");
  uint32_t *in = malloc((n->nin ? n->nin : 1) * sizeof *in);
  IR_ASSERT(in);
  for (uint32_t k = 0; k < n->nin; k++) {
    const Value *v = &g->values[n->in[k]];
    in[k] = ir_add_source(t, OP_WEIGHT, v->name, v->dtype, &v->shape, n->loc);
    t->values[in[k]].data = v->data;
  }
  uint32_t tid = ir_add_node(t, n->op, in, n->nin, n->nout, n->loc);
  free(in);
  Node *tn = &t->nodes[tid];
  memcpy(tn->attr, n->attr, sizeof tn->attr); /* lists stay in g's arena */
  for (uint32_t r = 0; r < n->nout; r++) {
    Value *tv = &t->values[tn->out[r]];
    tv->dtype = g->values[n->out[r]].dtype;
    tv->shape = g->values[n->out[r]].shape;
    ir_add_output(t, tn->out[r]);
  }
  if (len) {
    tn->attr[ir_attr_index(OP_SINUSOIDAL_PE, "len")].dim = ir_dim(len);
    t->values[tn->out[0]].shape.d[0] = ir_dim(len);
  }
  Diag d = {0};
  int rc = ir_interp(t, NULL, 0, outs, &d);
  ir_graph_free(t);
  return rc;
}

/* A const holding tensor `t` (copied into g's arena), at node `at`'s pos
 * and location.  Returns its value. */
static uint32_t add_const(Graph *g, uint32_t at, const Shape *shape,
                          DType dt, const Tensor *t) {
  Loc loc = g->nodes[at].loc;
  uint32_t v = ir_add_source(g, OP_CONST, NULL, dt, shape, loc);
  Node *c = &g->nodes[g->values[v].node];
  c->pos = g->nodes[at].pos;
  size_t bytes = (size_t)ir_tensor_numel(t) * ir_dtype_size(dt);
  void *data = ir_alloc(g->arena, bytes ? bytes : 1);
  if (bytes) memcpy(data, t->data, bytes);
  g->values[v].data = data;
  return v;
}

/* Fold node `id`; returns true when it did. */
static bool fold_node(Graph *g, uint32_t id) {
  uint32_t nout = g->nodes[id].nout;
  Tensor *outs = calloc(nout ? nout : 1, sizeof *outs);
  IR_ASSERT(outs);
  if (evaluate(g, id, 0, outs)) {
    free(outs);
    return false;
  }
  for (uint32_t r = 0; r < nout; r++) {
    uint32_t old = g->nodes[id].out[r];
    Value ov = g->values[old];
    uint32_t c = add_const(g, id, &ov.shape, ov.dtype, &outs[r]);
    free(outs[r].data);
    /* the const takes the replaced value's name */
    ir_rename(g, c, ov.name);
    g->values[old].name = NULL;
    ir_replace_uses(g, old, c);
  }
  free(outs);
  g->nodes[id].dead = true;
  return true;
}

/* sinusoidal_pe {len = c*S} -> const table at c*bound, slice {end = len}. */
static bool fold_pe(Graph *g, uint32_t id) {
  const Node *n = &g->nodes[id];
  if (n->dead || ir_is_output(g, n->out[0])) return false;
  Dim len = ir_get_attr(n, "len")->dim;
  int64_t rows = len.c * g->syms[len.sym].bound;
  Tensor out;
  if (evaluate(g, id, rows, &out)) return false;
  uint32_t old = n->out[0];
  Value ov = g->values[old];
  Shape table = ov.shape;
  table.d[0] = ir_dim(rows);
  uint32_t c = add_const(g, id, &table, ov.dtype, &out);
  free(out.data);
  if (ov.name) {
    char base[512];
    snprintf(base, sizeof base, "%s.table", ov.name);
    ir_rename(g, c, ir_unique_name(g, base));
  }
  uint32_t s = ir_add_node(g, OP_SLICE, &c, 1, 1, g->nodes[id].loc);
  g->nodes[s].pos = g->nodes[id].pos;
  ir_set_int(g, s, "axis", 0);
  ir_set_dim(g, s, "end", len);
  Diag d = {0};
  IR_ASSERT(ir_infer(g, s, &d) == 0);
  uint32_t sv = g->nodes[s].out[0];
  ir_rename(g, sv, ov.name);
  g->values[old].name = NULL;
  ir_replace_uses(g, old, sv);
  g->nodes[id].dead = true;
  return true;
}

/* A folded node's operands have been read (PassCtx.done_reading): a
 * slice or a concatenation of weights (fuse-qkv's Q|K|V) need not keep
 * its sources resident beside its result. */
static void done_with_operands(const Graph *g, uint32_t id, const PassCtx *ctx) {
  if (!ctx || !ctx->done_reading) return;
  const Node *n = &g->nodes[id];
  for (uint32_t k = 0; k < n->nin; k++) {
    const Value *v = &g->values[n->in[k]];
    ctx->done_reading(ctx->done_arg, v->data, (size_t)ir_bound_bytes(g, v));
  }
}

int pass_fold_constants(Graph *g, PassCtx *ctx, Diag *d) {
  (void)d;
  bool any = false, changed;
  do {
    changed = false;
    /* nodes appended by this sweep are consts and slices: not foldable */
    uint32_t n_nodes = g->n_nodes;
    for (uint32_t i = 0; i < n_nodes; i++) {
      const Node *n = &g->nodes[i];
      if (n->dead) continue;
      if (n->op == OP_SINUSOIDAL_PE && !ir_dim_static(ir_get_attr(n, "len")->dim))
        changed |= fold_pe(g, i);
      else if (foldable(g, n) && fold_node(g, i)) {
        done_with_operands(g, i, ctx);
        changed = true;
      }
    }
    any |= changed;
  } while (changed);
  if (any) ir_compact(g);
  return 0;
}
