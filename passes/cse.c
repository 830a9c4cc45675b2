/* cse.c — common subexpression elimination: one node per distinct value.
 *
 * Two nodes compute the same values when they have the same op, the same
 * operands (after earlier merges), the same attributes (an unset attribute
 * equals one set to its default) and the same result types:
 *
 *   %a = transpose %x {perm = [1, 0]} : f32[64, S]
 *   %b = transpose %x {perm = [1, 0]} : f32[64, S]     ->  uses of %b use %a
 *
 * Sources never merge: each input is its own interface, each weight its
 * own tensor — except consts, which are values: two consts merge when their
 * dtype, shape, layout and bytes are identical (a const without data, read
 * from IR text, merges with nothing).  A node whose result is a graph
 * output is kept, so that every output stays its own value.
 *
 * Algorithm (the hash-consing of value numbering): one sweep in
 * topological order.  Each node's operands are first redirected through
 * `repl` (the value each merged value became), so identical chains collapse
 * in the same sweep; then the node is looked up in an open-addressing table
 * keyed by a hash of everything compared; a hit marks it dead and maps its
 * results to the survivor's, a miss inserts it.  The survivor is the first
 * in node order, so it dominates every user of the merged node.
 */
#include <string.h>

#include "passes/pass.h"

static uint64_t mix(uint64_t h, uint64_t x) {
  h ^= x + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  return h;
}

static uint64_t hash_bytes(uint64_t h, const void *p, size_t n) {
  const unsigned char *s = p;
  for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 0x100000001b3ull;
  return h;
}

/* A const's data: its bytes in its layout, or NULL without data. */
static const void *const_data(const Graph *g, const Node *n, size_t *bytes) {
  const Value *v = &g->values[n->out[0]];
  *bytes = (size_t)ir_const_bytes(g, v, ir_get_str(g, n, "layout"));
  return v->data;
}

static bool mergeable(const Graph *g, const Node *n) {
  if (n->dead || n->op == OP_INPUT || n->op == OP_WEIGHT) return false;
  if (n->op == OP_CONST) {
    size_t bytes;
    if (!const_data(g, n, &bytes)) return false;
  }
  for (uint32_t r = 0; r < n->nout; r++)
    if (ir_is_output(g, n->out[r])) return false;
  return true;
}

/* Attribute i of n with its default applied where the kind has one. */
static Attr effective(const Graph *g, const Node *n, int i) {
  const AttrSpec *s = &ir_op_info(n->op)->attrs[i];
  Attr a = n->attr[i];
  if (a.set || !s->dflt || !s->dflt[0]) return a;
  switch (s->kind) {
  case AK_INT:
  case AK_BOOL: a.i = ir_get_int(g, n, s->key); a.set = true; break;
  case AK_FLOAT: a.f = ir_get_float(g, n, s->key); a.set = true; break;
  case AK_STR: a.s = ir_get_str(g, n, s->key); a.set = true; break;
  case AK_INTS:
  case AK_DIM:
  case AK_DIMS: break; /* no defaults of these kinds but "" */
  }
  return a;
}

static bool attr_eq(AttrKind k, const Attr *a, const Attr *b) {
  if (a->set != b->set) return false;
  if (!a->set) return true;
  switch (k) {
  case AK_INT:
  case AK_BOOL: return a->i == b->i;
  case AK_FLOAT: return memcmp(&a->f, &b->f, sizeof a->f) == 0;
  case AK_DIM: return ir_dim_eq(a->dim, b->dim);
  case AK_STR: return strcmp(a->s, b->s) == 0;
  case AK_INTS:
    return a->n == b->n &&
           (a->n == 0 || memcmp(a->ints, b->ints, (size_t)a->n * sizeof *a->ints) == 0);
  case AK_DIMS:
    if (a->n != b->n) return false;
    for (int i = 0; i < a->n; i++)
      if (!ir_dim_eq(a->dims[i], b->dims[i])) return false;
    return true;
  }
  return false;
}

static uint64_t attr_hash(uint64_t h, AttrKind k, const Attr *a) {
  h = mix(h, a->set);
  if (!a->set) return h;
  switch (k) {
  case AK_INT:
  case AK_BOOL: return mix(h, (uint64_t)a->i);
  case AK_FLOAT: return hash_bytes(h, &a->f, sizeof a->f);
  case AK_DIM: return mix(mix(h, (uint64_t)a->dim.c), (uint64_t)a->dim.sym);
  case AK_STR: return hash_bytes(h, a->s, strlen(a->s));
  case AK_INTS: return hash_bytes(mix(h, (uint64_t)a->n), a->ints,
                                  (size_t)a->n * sizeof *a->ints);
  case AK_DIMS:
    h = mix(h, (uint64_t)a->n);
    for (int i = 0; i < a->n; i++)
      h = mix(mix(h, (uint64_t)a->dims[i].c), (uint64_t)a->dims[i].sym);
    return h;
  }
  return h;
}

static uint64_t node_hash(const Graph *g, const Node *n) {
  uint64_t h = mix(0, n->op);
  h = mix(h, n->nin);
  for (uint32_t k = 0; k < n->nin; k++) h = mix(h, n->in[k]);
  h = mix(h, n->nout);
  for (uint32_t r = 0; r < n->nout; r++) {
    const Value *v = &g->values[n->out[r]];
    h = mix(h, v->dtype);
    h = mix(h, (uint64_t)v->shape.rank);
    for (int i = 0; i < v->shape.rank; i++)
      h = mix(mix(h, (uint64_t)v->shape.d[i].c), (uint64_t)v->shape.d[i].sym);
  }
  const OpInfo *info = ir_op_info(n->op);
  for (int i = 0; i < info->nattrs; i++) {
    Attr a = effective(g, n, i);
    h = attr_hash(h, info->attrs[i].kind, &a);
  }
  if (n->op == OP_CONST) {
    /* the first bytes and the size: the comparison reads them all */
    size_t bytes;
    const void *p = const_data(g, n, &bytes);
    h = hash_bytes(mix(h, bytes), p, bytes < 256 ? bytes : 256);
  }
  return h;
}

static bool node_eq(const Graph *g, const Node *a, const Node *b) {
  if (a->op != b->op || a->nin != b->nin || a->nout != b->nout) return false;
  for (uint32_t k = 0; k < a->nin; k++)
    if (a->in[k] != b->in[k]) return false;
  for (uint32_t r = 0; r < a->nout; r++) {
    const Value *x = &g->values[a->out[r]], *y = &g->values[b->out[r]];
    if (x->dtype != y->dtype || !ir_shape_eq(&x->shape, &y->shape))
      return false;
  }
  const OpInfo *info = ir_op_info(a->op);
  for (int i = 0; i < info->nattrs; i++) {
    Attr x = effective(g, a, i), y = effective(g, b, i);
    if (!attr_eq(info->attrs[i].kind, &x, &y)) return false;
  }
  if (a->op == OP_CONST) {
    size_t na, nb;
    const void *pa = const_data(g, a, &na), *pb = const_data(g, b, &nb);
    if (na != nb || (pa != pb && memcmp(pa, pb, na) != 0)) return false;
  }
  return true;
}

int pass_cse(Graph *g, PassCtx *ctx, Diag *d) {
  (void)ctx;
  (void)d;
  uint32_t cap = 16;
  while (cap < 2 * g->n_nodes) cap *= 2;
  uint32_t *table = malloc(cap * sizeof *table);  /* node ids */
  uint64_t *hashes = malloc(cap * sizeof *hashes);
  uint32_t *repl = malloc((g->n_values ? g->n_values : 1) * sizeof *repl);
  IR_ASSERT(table && hashes && repl);
  for (uint32_t i = 0; i < cap; i++) table[i] = IR_NONE;
  for (uint32_t v = 0; v < g->n_values; v++) repl[v] = v;

  bool any = false;
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    Node *n = &g->nodes[i];
    if (n->dead) continue;
    for (uint32_t k = 0; k < n->nin; k++) n->in[k] = repl[n->in[k]];
    if (!mergeable(g, n)) continue;
    uint64_t h = node_hash(g, n);
    uint32_t slot = (uint32_t)h & (cap - 1);
    while (table[slot] != IR_NONE &&
           !(hashes[slot] == h && node_eq(g, &g->nodes[table[slot]], n)))
      slot = (slot + 1) & (cap - 1);
    if (table[slot] == IR_NONE) {
      table[slot] = i;
      hashes[slot] = h;
      continue;
    }
    /* %b = op ... identical to an earlier %a -> uses of %b use %a */
    const Node *keep = &g->nodes[table[slot]];
    for (uint32_t r = 0; r < n->nout; r++) repl[n->out[r]] = keep->out[r];
    n->dead = true;
    any = true;
  }
  free(table);
  free(hashes);
  free(repl);
  if (any) ir_compact(g);
  return 0;
}
