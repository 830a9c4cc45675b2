/* fuse_attention.c — matmul(Q, Kᵀ) → [scale] → [causal_mask] → softmax →
 * matmul(·, V) becomes one attention op, lowered without the S×S matrix.
 *
 *   %qh = transpose %qr {perm = [1, 0, 2]}        (and %kh, %vh alike)
 *   %s = matmul %qh, %kh {transpose_b = true}      %a = attention %qr, %kr, %vr
 *   %t = scale %s {by = 0.125}               ->         {order = shd,
 *   %m = causal_mask %t                                  scale = 0.125,
 *   %p = softmax %m {axis = -1}                          causal = true}
 *   %c = matmul %p, %vh                            (%a replaces %o)
 *   %o = transpose %c {perm = [1, 0, 2]}
 *
 * The chain is found from each softmax over the last axis, walking back
 * through at most one `scale` (its `by` becomes `scale`; none is 1) and
 * one `causal_mask` (its offset becomes `q_offset`) and one `mask` whose
 * keep is [..., 1, 1, Sk] (a padding mask over the keys, the leading dims
 * Q's before the heads: it becomes the op's keep [..., Sk]) to a matmul with
 * transpose_b and nothing else set, and forward to the matmul that reads
 * the probabilities as its a.  Every value in between must have that one
 * user and not be a graph output: another reader would need the matrix
 * this pass exists to remove.  Anything else on the way — a mask added
 * from an input, a scale computed at run time, softmax over another axis,
 * a causal offset below 0 (rows that see no key: NaN before, zeros after)
 * — and the chain is left as it is.  (A keep mask can still hide every
 * key of a row at run time — a batch row with no token: NaN unfused,
 * zeros fused; both are garbage for a row that has no token.)
 *
 * The head split (reshape [S, H·D] → [S, H, D], then transpose to
 * [H, S, D]) and the merge after it (transpose back) are absorbed when all
 * four are there — Q, K and V each a transpose swapping the two axes
 * before the last, and the result's one user that same transpose: the
 * op then reads the reshaped projections in place with order = shd and
 * writes the merged layout, and the transposes (now unused) are dce's.
 * Otherwise the op takes Q, K, V as they are (order = hsd).  A chain on
 * matrices (rank 2, one head) gets [1, S, D] views around it.
 *
 * It runs after fuse-qkv (Q, K and V are then slices of one projection) and
 * before layout, which would otherwise rewrite Q·Kᵀ's transposes.
 */
#include <stdlib.h>
#include <string.h>

#include "passes/pass.h"

/* Who uses what, taken once before the pass rewrites anything: the pass
 * only appends nodes and marks chains dead, and it redirects the fused
 * results' uses in one sweep at the end, so the table stays true for the
 * values it asks about (those of the original graph). */
typedef struct Uses {
  uint32_t n;     /* values of the original graph */
  uint32_t *count; /* ir_use_counts */
  uint32_t *user;  /* a node using v (the only one when count[v] == 1) */
  uint32_t *fwd;   /* replaced value -> the fused result, or IR_NONE */
} Uses;

/* The only user of v (not a graph output), or IR_NONE. */
static uint32_t sole_user(const Graph *g, const Uses *u, uint32_t v) {
  if (v >= u->n || u->count[v] != 1 || ir_is_output(g, v)) return IR_NONE;
  return u->user[v];
}

static const Node *producer(const Graph *g, uint32_t v) {
  return &g->nodes[g->values[v].node];
}

/* A matmul with only the flags given (no epilogue). */
static bool plain_matmul(const Graph *g, const Node *n, bool tb) {
  return n->op == OP_MATMUL && n->nin == 2 &&
         !ir_get_int(g, n, "transpose_a") &&
         ir_get_int(g, n, "transpose_b") == tb &&
         ir_matmul_act(g, n) == OP_COUNT;
}

/* A transpose swapping the two axes before the last (heads and rows). */
static bool head_swap(const Graph *g, const Node *n) {
  if (n->op != OP_TRANSPOSE) return false;
  const Attr *p = ir_get_attr(n, "perm");
  int r = p->n;
  if (r < 3) return false;
  for (int i = 0; i < r; i++) {
    int64_t want = i == r - 3 ? r - 2 : i == r - 2 ? r - 3 : i;
    if (p->ints[i] != want) return false;
  }
  return true;
}

/* A reshape of x to x's shape with a leading 1 ([1, ...]); a view. */
static uint32_t add_unit_dim(Graph *g, uint32_t x, int drop, Loc loc,
                             uint32_t pos) {
  const Shape *s = &g->values[x].shape;
  Dim dims[IR_MAX_RANK];
  int n = 0;
  if (!drop) dims[n++] = ir_dim(1);
  for (int i = drop; i < s->rank; i++) dims[n++] = s->d[i];
  uint32_t id = ir_add_node(g, OP_RESHAPE, &x, 1, 1, loc);
  g->nodes[id].pos = pos;
  ir_set_dims(g, id, "shape", dims, n);
  Diag d = {0};
  IR_ASSERT(ir_infer(g, id, &d) == 0);
  return g->nodes[id].out[0];
}

/* The keep [lead..., Sk] of a mask node whose keep operand is
 * [lead..., 1, 1, Sk] (lead: Q's dims before the heads), or IR_NONE.  A
 * reshape's operand of that shape is taken as it is; otherwise a view. */
static uint32_t key_mask_keep(Graph *g, uint32_t mask, uint32_t q, uint32_t k) {
  const Shape *qs = &g->values[q].shape, *ks = &g->values[k].shape;
  uint32_t kv = g->nodes[mask].in[1];
  const Shape *m = &g->values[kv].shape;
  int lead = qs->rank - 3 > 0 ? qs->rank - 3 : 0;
  Dim sk = ks->d[ks->rank - 2];
  if (m->rank != lead + 3 || !ir_dim_eq(m->d[lead], ir_dim(1)) ||
      !ir_dim_eq(m->d[lead + 1], ir_dim(1)) || !ir_dim_eq(m->d[lead + 2], sk))
    return IR_NONE;
  for (int i = 0; i < lead; i++)
    if (!ir_dim_eq(m->d[i], qs->d[i])) return IR_NONE;
  const Node *p = producer(g, kv);
  if (p->op == OP_RESHAPE) {
    const Shape *src = &g->values[p->in[0]].shape;
    bool same = src->rank == lead + 1 && ir_dim_eq(src->d[lead], sk);
    for (int i = 0; same && i < lead; i++) same = ir_dim_eq(src->d[i], qs->d[i]);
    if (same) return p->in[0];
  }
  Dim dims[IR_MAX_RANK];
  for (int i = 0; i < lead; i++) dims[i] = qs->d[i];
  dims[lead] = sk;
  uint32_t id = ir_add_node(g, OP_RESHAPE, &kv, 1, 1, g->nodes[mask].loc);
  g->nodes[id].pos = g->nodes[mask].pos;
  ir_set_dims(g, id, "shape", dims, lead + 1);
  Diag d = {0};
  IR_ASSERT(ir_infer(g, id, &d) == 0);
  return g->nodes[id].out[0];
}

/* Fuse the chain ending in softmax node `sm`; false if it does not fit. */
static bool fuse_one(Graph *g, Uses *u, uint32_t sm) {
  const Node *s = &g->nodes[sm];
  if (s->dead || s->op != OP_SOFTMAX) return false;
  int rank = g->values[s->in[0]].shape.rank;
  int64_t axis = ir_get_int(g, s, "axis");
  if (axis != -1 && axis != rank - 1) return false;

  /* Back from the softmax: [causal_mask] <- [scale] <- matmul(Q, Kᵀ). */
  uint32_t chain[5], n_chain = 0; /* the nodes that go, softmax first */
  chain[n_chain++] = sm;
  double scale = 1;
  bool causal = false, scaled = false;
  uint32_t mask = IR_NONE;
  int64_t offset = 0;
  uint32_t v = s->in[0], m1 = IR_NONE;
  for (;;) {
    const Node *p = producer(g, v);
    if (sole_user(g, u, v) == IR_NONE) return false;
    uint32_t pid = g->values[v].node;
    if (p->op == OP_CAUSAL_MASK && !causal && !scaled) {
      causal = true;
      offset = ir_get_int(g, p, "offset");
      if (offset < 0) return false;
    } else if (p->op == OP_MASK && mask == IR_NONE && !scaled) {
      mask = pid;
    } else if (p->op == OP_SCALE && !scaled) {
      scaled = true;
      scale = ir_get_float(g, p, "by");
    } else if (plain_matmul(g, p, true)) {
      m1 = pid;
      break;
    } else {
      return false;
    }
    chain[n_chain++] = pid;
    v = p->in[0];
  }
  chain[n_chain++] = m1;
  /* Forward: probabilities -> matmul(P, V). */
  uint32_t m2 = sole_user(g, u, s->out[0]);
  if (m2 == IR_NONE || !plain_matmul(g, &g->nodes[m2], false) ||
      g->nodes[m2].in[0] != s->out[0])
    return false;

  uint32_t q = g->nodes[m1].in[0], k = g->nodes[m1].in[1];
  uint32_t vv = g->nodes[m2].in[1], out = g->nodes[m2].out[0];
  const Shape *qs = &g->values[q].shape, *ks = &g->values[k].shape,
              *vs = &g->values[vv].shape;
  /* Q, K, V with the same leading dims (the matmuls would broadcast). */
  if (qs->rank != ks->rank || qs->rank != vs->rank || qs->rank < 2) return false;
  for (int i = 0; i < qs->rank - 2; i++)
    if (!ir_dim_eq(qs->d[i], ks->d[i]) || !ir_dim_eq(qs->d[i], vs->d[i]))
      return false;

  /* A padding mask's keep: checked now, while Q and K are the matmuls'. */
  uint32_t keep = IR_NONE;
  if (mask != IR_NONE && (keep = key_mask_keep(g, mask, q, k)) == IR_NONE)
    return false;
  qs = &g->values[q].shape; /* a view may have grown g->values */

  /* The head split and merge around it, if all there. */
  bool shd = false;
  uint32_t merge = IR_NONE;
  if (qs->rank >= 3 && head_swap(g, producer(g, q)) &&
      head_swap(g, producer(g, k)) && head_swap(g, producer(g, vv))) {
    merge = sole_user(g, u, out);
    if (merge != IR_NONE && head_swap(g, &g->nodes[merge])) {
      shd = true;
      q = producer(g, q)->in[0];
      k = producer(g, k)->in[0];
      vv = producer(g, vv)->in[0];
    } else {
      merge = IR_NONE;
    }
  }
  uint32_t replaced = shd ? g->nodes[merge].out[0] : out;
  Loc loc = g->nodes[m1].loc;
  uint32_t pos = g->nodes[shd ? merge : m2].pos;
  bool matrix = g->values[q].shape.rank == 2;
  if (matrix) { /* one head: [1, S, D] views */
    q = add_unit_dim(g, q, 0, loc, pos);
    k = add_unit_dim(g, k, 0, loc, pos);
    vv = add_unit_dim(g, vv, 0, loc, pos);
  }
  uint32_t in[4] = {q, k, vv, keep};
  uint32_t a = ir_add_node(g, OP_ATTENTION, in, keep != IR_NONE ? 4 : 3, 1, loc);
  g->nodes[a].pos = pos;
  if (shd) ir_set_str(g, a, "order", "shd");
  if (scale != 1) ir_set_float(g, a, "scale", scale);
  if (causal) ir_set_int(g, a, "causal", 1);
  if (offset) ir_set_dim(g, a, "q_offset", ir_dim(offset));
  Diag d = {0};
  IR_ASSERT(ir_infer(g, a, &d) == 0); /* the chain's shapes were checked */
  uint32_t res = g->nodes[a].out[0];
  if (matrix) res = add_unit_dim(g, res, 1, loc, pos);
  /* The op's result takes the replaced value's place and name. */
  const char *name = g->values[replaced].name;
  g->values[replaced].name = NULL;
  if (name) g->values[res].name = name;
  u->fwd[replaced] = res;
  for (uint32_t i = 0; i < n_chain; i++) g->nodes[chain[i]].dead = true;
  g->nodes[m2].dead = true;
  if (shd) g->nodes[merge].dead = true;
  return true;
}

int pass_fuse_attention(Graph *g, PassCtx *ctx, Diag *d) {
  (void)ctx;
  (void)d;
  Uses u = {g->n_values, ir_use_counts(g), NULL, NULL};
  u.user = malloc(sizeof *u.user * (u.n ? u.n : 1));
  u.fwd = malloc(sizeof *u.fwd * (u.n ? u.n : 1));
  IR_ASSERT(u.user && u.fwd);
  for (uint32_t v = 0; v < u.n; v++) u.user[v] = u.fwd[v] = IR_NONE;
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    const Node *n = &g->nodes[i];
    if (n->dead) continue;
    for (uint32_t k = 0; k < n->nin; k++)
      if (n->in[k] != IR_NONE) u.user[n->in[k]] = i;
  }
  uint32_t n = g->n_nodes; /* new nodes are appended; visit the originals */
  bool changed = false;
  for (uint32_t i = 0; i < n; i++) changed |= fuse_one(g, &u, i);
  if (changed) {
    ir_forward_uses(g, u.fwd, u.n);
    ir_compact(g);
  }
  free(u.count);
  free(u.user);
  free(u.fwd);
  return 0;
}
