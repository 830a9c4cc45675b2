/* scratch.c — the working memory of kernels (see scratch.h). */
#include "ir/scratch.h"

#include <string.h>

/* The blocks when no tile plan is given: TOOLCHAIN.md's 64 × 64. */
#define ATT_DEFAULT_BLOCK 64

void ir_attention_scratch(const Graph *g, const Node *n, const TilePlan *p,
                          AttnScratch *s) {
  IR_ASSERT(n->op == OP_ATTENTION);
  const Shape *q = &g->values[n->in[0]].shape, *v = &g->values[n->in[2]].shape;
  int r = q->rank;
  bool shd = strcmp(ir_get_str(g, n, "order"), "shd") == 0;
  memset(s, 0, sizeof *s);
  s->bq = p && p->att_bq > 0 ? p->att_bq : ATT_DEFAULT_BLOCK;
  s->bk = p && p->att_bk > 0 ? p->att_bk : ATT_DEFAULT_BLOCK;
  int64_t D = q->d[r - 1].c, Dv = v->d[r - 1].c; /* static (shape rule) */
  if (q->d[r - 1].sym >= 0) D *= g->syms[q->d[r - 1].sym].bound;
  if (v->d[r - 1].sym >= 0) Dv *= g->syms[v->d[r - 1].sym].bound;
  s->bh = 1;
  for (int i = 0; i < r - 2; i++) {
    if (shd && i == r - 3) continue; /* S, not a head */
    Dim d = q->d[i];
    s->bh *= d.sym < 0 ? d.c : d.c * g->syms[d.sym].bound;
  }
  if (shd) { /* H is r - 2 */
    Dim d = q->d[r - 2];
    s->bh *= d.sym < 0 ? d.c : d.c * g->syms[d.sym].bound;
  }
  s->qt = 0;
  s->st = s->qt + D * s->bq;
  s->ot = s->st + s->bk * s->bq;
  s->m = s->ot + Dv * s->bq;
  s->l = s->m + s->bq;
  s->iota = s->l + s->bq;
  s->per_bh = (s->iota + s->bq + 15) & ~(int64_t)15; /* 64-byte blocks */
  s->bytes = s->bh * s->per_bh * 4;
}

static int64_t dim_bound(const Graph *g, Dim d) {
  return d.sym < 0 ? d.c : ir_size_mul(d.c, g->syms[d.sym].bound);
}

bool ir_matmul_packs_a(const Graph *g, const Node *n, int64_t *floats) {
  IR_ASSERT(n->op == OP_MATMUL);
  const Shape *so = &g->values[n->out[0]].shape;
  const Shape *sa = &g->values[n->in[0]].shape;
  const Shape *sb = &g->values[n->in[1]].shape;
  bool ta = ir_get_int(g, n, "transpose_a"), tb = ir_get_int(g, n, "transpose_b");
  int r = so->rank;
  bool folded = r > 2 && sb->rank == 2 && !ta && sa->rank == r;
  if (g->values[n->in[1]].dtype == DT_BF16 || tb || (r > 2 && !folded))
    return false;
  int64_t rows = dim_bound(g, so->d[r - 2]);
  for (int i = 0; i < r - 2; i++) rows = ir_size_mul(rows, dim_bound(g, so->d[i]));
  *floats = ir_size_mul(rows, dim_bound(g, sa->d[sa->rank - (ta ? 2 : 1)]));
  return true;
}

int64_t ir_scratch_bytes(const Graph *g, const Node *n, const TilePlan *p) {
  if (n->op == OP_MATMUL && g->values[n->in[1]].dtype == DT_BF16) {
    /* a as bf16 pairs [rows, ceil(K/2)] (lower_matmul_bf16.c) */
    const Value *a = &g->values[n->in[0]];
    int64_t K = a->shape.d[a->shape.rank - 1].c;
    return ir_bound_bytes(g, a) / (K ? K : 1) * ((K + 1) / 2);
  }
  int64_t floats;
  if (n->op == OP_MATMUL && ir_matmul_packs_a(g, n, &floats))
    return ir_size_mul(floats, 4);
  if (n->op != OP_ATTENTION) return 0;
  AttnScratch s;
  ir_attention_scratch(g, n, p, &s);
  return s.bytes;
}
