/* fuse_epilogue.c — bias add, activation and residual add folded into the
 * matmul that produces their input.
 *
 *   %y = matmul %x, %w                   %o = matmul %x, %w, %b, %r
 *   %z = bias_add %y, %b          ->          {bias = true, act = gelu,
 *   %g = gelu %z                                residual = true}
 *   %o = add %g, %r
 *
 * One kernel then makes one pass over the output instead of four.  The
 * chain is followed from the matmul through nodes that are the only user
 * of the value before them, in the epilogue's order — bias, then
 * activation, then residual — and each step is optional:
 *
 *   bias_add(y, b)                 -> bias = b        // [N] by construction
 *   add(y, b), b [N]               -> bias = b        // a broadcast bias
 *   relu|gelu|gelu_tanh(y)         -> act
 *   add(y, r) or add(r, y), r the result's shape -> residual = r
 *
 * It stops at a value with a second user (or that is a graph output): the
 * intermediate must not be needed by anyone else.  The fused node sits
 * where the last fused node was, so a residual computed between the
 * matmul and the add is available.
 *
 * Linear in the graph: uses are counted once (a fused chain moves its
 * last value's uses to the fused matmul, so every count stays right), and
 * the replacements are recorded and applied in one sweep at the end.
 */
#include <string.h>

#include "passes/pass.h"

typedef struct {
  uint32_t a, b, bias, res; /* value ids (IR_NONE when absent) */
  Op act;                   /* OP_COUNT: none */
  uint32_t last;            /* the last fused node */
  uint32_t cur;             /* the value the chain has reached */
  bool ta, tb;
  uint32_t fused[3];        /* the nodes folded in */
  int n_fused;
} Chain;

/* What the pass knows of the graph as it was (values < nv). */
typedef struct {
  uint32_t nv;
  uint32_t *uses;  /* operand uses + graph outputs */
  uint32_t *user;  /* a node that reads v (the only one when uses == 1) */
  bool *is_output;
  uint32_t *fwd;   /* replaced by (IR_NONE: not replaced) */
} Uses;

/* The only user of v, or IR_NONE; a user fused into an earlier chain is
 * dead now, and its fused matmul never extends a chain. */
static uint32_t sole_user(const Graph *g, const Uses *u, uint32_t v) {
  if (v >= u->nv || u->is_output[v] || u->uses[v] != 1) return IR_NONE;
  uint32_t n = u->user[v];
  return n == IR_NONE || g->nodes[n].dead ? IR_NONE : n;
}

static bool is_vector_of(const Graph *g, uint32_t v, Dim n) {
  const Shape *s = &g->values[v].shape;
  return s->rank == 1 && ir_dim_eq(s->d[0], n);
}

/* Try to extend the chain by node u; true if it did. */
static bool extend(Graph *g, Chain *c, uint32_t u) {
  const Node *n = &g->nodes[u];
  const Shape *ys = &g->values[c->cur].shape;
  Dim N = ys->d[ys->rank - 1];
  bool no_act = c->act == OP_COUNT;
  if (n->op == OP_BIAS_ADD) { /* bias_add(y, b) -> bias */
    if (n->in[0] != c->cur || c->bias != IR_NONE || !no_act || c->res != IR_NONE)
      return false;
    c->bias = n->in[1];
  } else if (ir_op_info(n->op)->flags & OPF_ACTIVATION) { /* act(y) -> act */
    if (!no_act || c->res != IR_NONE) return false;
    c->act = n->op;
  } else if (n->op == OP_ADD) {
    uint32_t other = n->in[0] == c->cur ? n->in[1] : n->in[0];
    if (other == c->cur) return false; /* y + y */
    if (c->bias == IR_NONE && no_act && c->res == IR_NONE &&
        is_vector_of(g, other, N)) { /* add(y, b [N]) -> bias */
      c->bias = other;
    } else { /* add(y, r) with r of y's exact shape -> residual */
      if (c->res != IR_NONE || !ir_shape_eq(&g->values[other].shape, ys))
        return false;
      c->res = other;
    }
  } else {
    return false;
  }
  c->last = u;
  c->cur = n->out[0];
  c->fused[c->n_fused++] = u;
  return true;
}

static bool fuse_one(Graph *g, Uses *uses, uint32_t id) {
  const Node *m = &g->nodes[id];
  if (m->dead || m->op != OP_MATMUL) return false;
  Chain c = {m->in[0], m->in[1], IR_NONE, IR_NONE,
             ir_matmul_act(g, m), id, m->out[0],
             ir_get_int(g, m, "transpose_a"), ir_get_int(g, m, "transpose_b"),
             {0}, 0};
  if (ir_get_int(g, m, "bias")) c.bias = m->in[2];
  if (ir_get_int(g, m, "residual")) c.res = m->in[m->nin - 1];
  uint32_t steps = 0, u;
  while (c.n_fused < 3 && (u = sole_user(g, uses, c.cur)) != IR_NONE &&
         extend(g, &c, u))
    steps++;
  if (!steps) return false;

  /* The fused matmul, standing where the last fused node stood. */
  uint32_t in[4] = {c.a, c.b}, nin = 2;
  if (c.bias != IR_NONE) in[nin++] = c.bias;
  if (c.res != IR_NONE) in[nin++] = c.res;
  Loc loc = g->nodes[id].loc;
  uint32_t pos = g->nodes[c.last].pos;
  uint32_t f = ir_add_node(g, OP_MATMUL, in, nin, 1, loc);
  g->nodes[f].pos = pos;
  if (c.ta) ir_set_int(g, f, "transpose_a", 1);
  if (c.tb) ir_set_int(g, f, "transpose_b", 1);
  if (c.bias != IR_NONE) ir_set_int(g, f, "bias", 1);
  if (c.act != OP_COUNT) ir_set_str(g, f, "act", ir_op_info(c.act)->name);
  if (c.res != IR_NONE) ir_set_int(g, f, "residual", 1);
  uint32_t out = g->nodes[f].out[0];
  Diag d = {0};
  IR_ASSERT(ir_infer(g, f, &d) == 0); /* the chain's shapes were checked */
  /* The fused result takes the chain's last value's place and name. */
  const char *name = g->values[c.cur].name;
  g->values[c.cur].name = NULL;
  if (name) ir_rename(g, out, name);
  uses->fwd[c.cur] = out; /* applied at the end */
  /* The matmul and every fused node die. */
  g->nodes[id].dead = true;
  for (int i = 0; i < c.n_fused; i++) g->nodes[c.fused[i]].dead = true;
  return true;
}

int pass_fuse_epilogue(Graph *g, PassCtx *ctx, Diag *d) {
  (void)ctx;
  (void)d;
  uint32_t n = g->n_nodes; /* fused nodes are appended; visit the originals */
  uint32_t nv = g->n_values;
  Uses u = {nv, ir_use_counts(g), malloc((nv ? nv : 1) * sizeof *u.user),
            calloc(nv ? nv : 1, sizeof *u.is_output),
            malloc((nv ? nv : 1) * sizeof *u.fwd)};
  IR_ASSERT(u.user && u.is_output && u.fwd);
  for (uint32_t v = 0; v < nv; v++) u.user[v] = u.fwd[v] = IR_NONE;
  for (uint32_t i = 0; i < n; i++)
    for (uint32_t k = 0; k < g->nodes[i].nin; k++)
      if (!g->nodes[i].dead) u.user[g->nodes[i].in[k]] = i;
  for (uint32_t i = 0; i < g->n_outputs; i++) u.is_output[g->outputs[i]] = true;
  bool changed = false;
  for (uint32_t i = 0; i < n; i++) changed |= fuse_one(g, &u, i);
  if (changed) {
    ir_forward_uses(g, u.fwd, nv);
    ir_compact(g);
  }
  free(u.uses);
  free(u.user);
  free(u.is_output);
  free(u.fwd);
  return 0;
}
