/* fuse_qkv.c — matmuls of one input by constant weights become one matmul.
 *
 * Attention projects its input three times (Q, K, V; K and V of the
 * encoder's output in cross-attention).  Three thin GEMMs read the input
 * three times and each leaves the machine idle at its edges; one GEMM
 * against the weights side by side reads it once:
 *
 *   %q = matmul %x, %wq {transpose_b = true} : f32[S, 64]     wq, wk, wv
 *   %k = matmul %x, %wk {transpose_b = true} : f32[S, 64]     [64, 512]
 *   %v = matmul %x, %wv {transpose_b = true} : f32[S, 64]
 *     ->
 *   %wq_wk_wv = concat %wq, %wk, %wv {axis = 0} : f32[192, 512]
 *   %q_k_v = matmul %x, %wq_wk_wv {transpose_b = true} : f32[S, 192]
 *   %q, %k, %v = split %q_k_v {axis = -1, sizes = [64, 64, 64]} : ...
 *
 * The concat of weights is evaluated by the next fold-constants, so the
 * concatenated matrix is a constant of the compiled model.  The weights are
 * joined along N: axis 0 when transpose_b (torch's [out, in]), else axis 1;
 * biases (an epilogue from fuse-epilogue) along their only axis.
 *
 * Matmuls group when they share operand a (the same value) and transpose_a,
 * their b is a weight or a row-major const of rank 2 with a static N, with
 * the same transpose_b, K and dtype, and they have the same epilogue act and
 * bias presence (a bias again a weight or row-major const), and no
 * residual.  An activation is elementwise, so act(a·[W1|W2] + [b1|b2]) is
 * [act(a·W1 + b1) | act(a·W2 + b2)] exactly; a residual is not split
 * anywhere, so a matmul with one stays alone.  Groups of two or more fuse,
 * in node order, first member first; the new nodes take the first
 * member's location and its place (or the last weight's, if later), and
 * the split's results the names of the values they replace.  A b computed at run time (scores·V, Q·Kᵀ) is never
 * fused: its concat would be a run-time copy, not a compile-time one.
 */
#include <stdio.h>
#include <string.h>

#include "passes/pass.h"

/* A weight, or a row-major const, of rank `rank` (static dims). */
static bool constant_of_rank(const Graph *g, uint32_t v, int rank) {
  const Value *val = &g->values[v];
  const Node *p = &g->nodes[val->node];
  if (p->op == OP_CONST) {
    if (ir_layout_panel(ir_get_str(g, p, "layout")) != 0) return false;
  } else if (p->op != OP_WEIGHT) {
    return false;
  }
  if (val->shape.rank != rank) return false;
  for (int i = 0; i < rank; i++)
    if (!ir_dim_static(val->shape.d[i])) return false;
  return true;
}

static bool candidate(const Graph *g, const Node *n) {
  if (n->dead || n->op != OP_MATMUL || ir_get_int(g, n, "residual"))
    return false;
  if (!constant_of_rank(g, n->in[1], 2)) return false;
  if (ir_get_int(g, n, "bias") && !constant_of_rank(g, n->in[2], 1))
    return false;
  return true;
}

/* b's K and N, with transpose_b. */
static Dim dim_k(const Graph *g, const Node *n) {
  const Shape *b = &g->values[n->in[1]].shape;
  return b->d[ir_get_int(g, n, "transpose_b") ? 1 : 0];
}
static int64_t dim_n(const Graph *g, const Node *n) {
  const Shape *b = &g->values[n->in[1]].shape;
  return b->d[ir_get_int(g, n, "transpose_b") ? 0 : 1].c;
}

/* Can m join the group that x leads? */
static bool same_group(const Graph *g, const Node *x, const Node *m) {
  return m->in[0] == x->in[0] &&
         ir_get_int(g, m, "transpose_a") == ir_get_int(g, x, "transpose_a") &&
         ir_get_int(g, m, "transpose_b") == ir_get_int(g, x, "transpose_b") &&
         ir_dim_eq(dim_k(g, m), dim_k(g, x)) &&
         g->values[m->in[1]].dtype == g->values[x->in[1]].dtype &&
         ir_get_int(g, m, "bias") == ir_get_int(g, x, "bias") &&
         ir_matmul_act(g, m) == ir_matmul_act(g, x);
}

/* A readable name for values joined side by side: the names' common
 * prefix and suffix (cut at '.' or '_') around their differing middles
 * joined by '_':  a.query.weight, a.key.weight -> a.query_key.weight;
 * w_q, w_k, w_v -> w_q_k_v.  When they differ in more than one part
 * (d.0.k, d.0.v, d.1.k, d.1.v: the cross-attention K, V of every decoder
 * layer, which share the encoder's output) the first name and the count:
 * d.0.k.fused4.  NULL when a value is unnamed. */
static const char *joined_name(Graph *g, const uint32_t *vals, int n) {
  const char *first = g->values[vals[0]].name;
  if (!first) return NULL;
  size_t pre = strlen(first), suf = strlen(first);
  for (int i = 1; i < n; i++) {
    const char *s = g->values[vals[i]].name;
    if (!s) return NULL;
    size_t p = 0, ls = strlen(s), lf = strlen(first), q = 0;
    while (p < pre && s[p] && s[p] == first[p]) p++;
    pre = p;
    while (q < suf && q < ls && q < lf && s[ls - 1 - q] == first[lf - 1 - q]) q++;
    suf = q;
  }
  /* cut the prefix after a separator, the suffix before one */
  while (pre > 0 && first[pre - 1] != '.' && first[pre - 1] != '_') pre--;
  size_t lf = strlen(first);
  while (suf > 0 && first[lf - suf] != '.' && first[lf - suf] != '_') suf--;
  char buf[1024];
  bool dotted = false;
  for (int i = 0; i < n; i++) {
    const char *s = g->values[vals[i]].name;
    size_t ls = strlen(s);
    for (size_t k = pre; k + suf < ls; k++) dotted |= s[k] == '.';
  }
  if (dotted) {
    snprintf(buf, sizeof buf, "%s.fused%d", first, n);
    return ir_unique_name(g, buf);
  }
  size_t len = (size_t)snprintf(buf, sizeof buf, "%.*s", (int)pre, first);
  for (int i = 0; i < n && len < sizeof buf; i++) {
    const char *s = g->values[vals[i]].name;
    size_t ls = strlen(s);
    size_t mid = ls >= pre + suf ? ls - pre - suf : 0;
    len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%.*s",
                            i ? "_" : "", (int)mid, s + pre);
  }
  if (len < sizeof buf)
    snprintf(buf + len, sizeof buf - len, "%s", first + lf - suf);
  return ir_unique_name(g, buf);
}

/* A node at `pos`, located at node `at`. */
static uint32_t add_at(Graph *g, uint32_t at, uint32_t pos, Op op,
                       const uint32_t *in, uint32_t nin, uint32_t nout) {
  uint32_t id = ir_add_node(g, op, in, nin, nout, g->nodes[at].loc);
  g->nodes[id].pos = pos;
  return id;
}

static void typed(Graph *g, uint32_t id) {
  Diag d = {0};
  IR_ASSERT(ir_infer(g, id, &d) == 0);
}

/* Replace the matmuls group[0..n) by one matmul and a split; the uses of
 * their results move to the split's in fwd (applied once, at the end). */
static void fuse(Graph *g, const uint32_t *group, int n, uint32_t *fwd) {
  uint32_t first = group[0];
  uint32_t ws[64], bs[64], outs[64];
  int64_t sizes[64];
  for (int i = 0; i < n; i++) {
    const Node *m = &g->nodes[group[i]];
    ws[i] = m->in[1];
    bs[i] = ir_get_int(g, m, "bias") ? m->in[2] : IR_NONE;
    outs[i] = m->out[0];
    sizes[i] = dim_n(g, m);
  }
  bool tb = ir_get_int(g, &g->nodes[first], "transpose_b");
  bool bias = bs[0] != IR_NONE;
  /* the new nodes go where the first matmul was, or after the last weight
   * they read if that is declared later, so the IR reads in order */
  uint32_t pos = g->nodes[first].pos;
  for (int i = 0; i < n; i++) {
    uint32_t pw = g->nodes[g->values[ws[i]].node].pos;
    uint32_t pb = bias ? g->nodes[g->values[bs[i]].node].pos : 0;
    pos = pw > pos ? pw : pos;
    pos = pb > pos ? pb : pos;
  }

  /* %w = concat %w0, %w1, ... {axis = 0 if transpose_b else 1} */
  uint32_t wc = add_at(g, first, pos, OP_CONCAT, ws, (uint32_t)n, 1);
  ir_set_int(g, wc, "axis", tb ? 0 : 1);
  typed(g, wc);
  uint32_t wv = g->nodes[wc].out[0];
  ir_rename(g, wv, joined_name(g, ws, n));
  uint32_t in[3] = {g->nodes[first].in[0], wv, IR_NONE};
  if (bias) {
    /* %b = concat %b0, %b1, ... {axis = 0} */
    uint32_t bc = add_at(g, first, pos, OP_CONCAT, bs, (uint32_t)n, 1);
    ir_set_int(g, bc, "axis", 0);
    typed(g, bc);
    in[2] = g->nodes[bc].out[0];
    ir_rename(g, in[2], joined_name(g, bs, n));
  }
  /* %y = matmul %x, %w[, %b] with the group's flags and act */
  uint32_t mm = add_at(g, first, pos, OP_MATMUL, in, bias ? 3 : 2, 1);
  memcpy(g->nodes[mm].attr, g->nodes[first].attr, sizeof g->nodes[mm].attr);
  typed(g, mm);
  uint32_t y = g->nodes[mm].out[0];
  ir_rename(g, y, joined_name(g, outs, n));
  /* %q, %k, %v = split %y {axis = -1, sizes = [...]} */
  uint32_t sp = add_at(g, first, pos, OP_SPLIT, &y, 1, (uint32_t)n);
  ir_set_int(g, sp, "axis", -1);
  ir_set_ints(g, sp, "sizes", sizes, n);
  typed(g, sp);
  for (int i = 0; i < n; i++) {
    uint32_t piece = g->nodes[sp].out[i];
    const char *name = g->values[outs[i]].name;
    ir_rename(g, outs[i], NULL);
    ir_rename(g, piece, name);
    fwd[outs[i]] = piece;
    g->nodes[group[i]].dead = true;
  }
  /* the fused matmul's name was picked while the originals still had
   * theirs; it cannot clash with the pieces, which took exactly those */
}

int pass_fuse_qkv(Graph *g, PassCtx *ctx, Diag *d) {
  (void)ctx;
  (void)d;
  bool any = false;
  uint32_t n_nodes = g->n_nodes;
  uint32_t nv = g->n_values;
  bool *taken = calloc(n_nodes ? n_nodes : 1, sizeof *taken);
  /* Candidates reading each a, in node order: a linked list through
   * next_of[], so a group is looked for among them only (linear in the
   * graph, not quadratic). */
  uint32_t *last_of = malloc((nv ? nv : 1) * sizeof *last_of);
  uint32_t *next_of = malloc((n_nodes ? n_nodes : 1) * sizeof *next_of);
  uint32_t *fwd = malloc((nv ? nv : 1) * sizeof *fwd);
  IR_ASSERT(taken && last_of && next_of && fwd);
  for (uint32_t v = 0; v < nv; v++) last_of[v] = fwd[v] = IR_NONE;
  for (uint32_t i = 0; i < n_nodes; i++) {
    next_of[i] = IR_NONE;
    if (!candidate(g, &g->nodes[i])) continue;
    uint32_t a = g->nodes[i].in[0];
    if (last_of[a] != IR_NONE) next_of[last_of[a]] = i;
    last_of[a] = i;
  }
  for (uint32_t i = 0; i < n_nodes; i++) {
    if (taken[i] || !candidate(g, &g->nodes[i])) continue;
    uint32_t group[64];
    int n = 0;
    group[n++] = i;
    for (uint32_t j = next_of[i]; j != IR_NONE && n < 64; j = next_of[j])
      if (!taken[j] && same_group(g, &g->nodes[i], &g->nodes[j]))
        group[n++] = j;
    if (n < 2) continue;
    for (int k = 0; k < n; k++) taken[group[k]] = true;
    fuse(g, group, n, fwd);
    any = true;
  }
  if (any) {
    ir_forward_uses(g, fwd, nv);
    ir_compact(g);
  }
  free(taken);
  free(last_of);
  free(next_of);
  free(fwd);
  return 0;
}
