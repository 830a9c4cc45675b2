/* lower_attention.c — the attention op (ir/interp.c defines it) as one
 * kernel that never holds the Sq × Sk score matrix.
 *
 * Layout.  Heads and the leading dims are one flat index bh = b·H + h.  In
 * order hsd a head's rows are contiguous ([B, H, S, X]: base bh·S·X, row
 * stride X); in order shd they interleave with the other heads'
 * ([B, S, H, X]: base b·S·H·X + h·X, row stride H·X) — the [S, H·D]
 * projections reshaped, read in place with no transpose.
 *
 * Masks are selections, never additions of −inf: a key a row does not
 * see contributes exactly 0 to the sum and to the output, and a row that
 * sees no key at all has sum 0 and is written as zeros.  Running maxima
 * start at a finite −3e38 (not −inf), so exp(m_old − m_new) is never
 * exp(−inf − −inf) = NaN.
 *
 * The kernel: online softmax (Milakov & Gimelshein; FlashAttention).  For
 * each head, rows of queries are processed with a running max m, a running
 * sum l and an output accumulator o: for each key j with score s,
 *   m' = max(m, s),  α = e^(m − m'),  p = e^(s − m'),
 *   l = l·α + p,  o = o·α + p·v_j,  m = m',
 * and o / l is the row's result, so nothing of size Sk is ever stored.
 * This file builds it one query row at a time, the accumulator in the
 * output row itself (vectors along Dv), the dot products q·k_j as
 * W-wide reductions over D.  With causal, the key loop stops at the
 * diagonal (j <= i + q_offset) instead of masking.  Heads are independent:
 * the loop over bh is the parallel one.
 */
#include <math.h>
#include <string.h>

#include "codegen/kir/kmath.h"
#include "codegen/lower/lower_loops.h"

/* Below every real score, finite: see the header. */
#define ATT_NEG_BIG (-3e38)

/* A [B, H, S, X] (hsd) or [B, S, H, X] (shd) operand of one head. */
typedef struct {
  uint32_t param;  /* buffer */
  uint32_t base;   /* i64: element of (bh, row 0, 0) */
  uint32_t rs;     /* i64: row stride */
} AttOperand;

typedef struct {
  const Node *n;
  bool shd, causal;
  double scale;
  uint32_t H, Sq, Sk, D, Dv; /* i64 expressions */
  uint32_t off;              /* i64: q_offset */
} Att;

static uint32_t i64c(Kernel *k, int64_t v) { return k_i64(k, v); }

/* base and row stride of operand `param` (rows S, row length X) for the
 * head bh: hsd bh·S·X, X; shd (bh / H)·S·H·X + (bh % H)·X, H·X. */
static AttOperand operand(Lower *L, const Att *a, uint32_t param, uint32_t bh,
                          uint32_t S, uint32_t X) {
  Kernel *k = L->k;
  AttOperand o = {param, 0, 0};
  if (!a->shd) {
    o.base = lw_let_i64(k, "base", k_mul(k, bh, k_mul(k, S, X)));
    o.rs = X;
  } else {
    uint32_t b = k_binary(k, KO_DIV, bh, a->H), h = k_binary(k, KO_REM, bh, a->H);
    o.rs = lw_let_i64(k, "rs", k_mul(k, a->H, X));
    o.base = lw_let_i64(k, "base", k_add(k, k_mul(k, b, k_mul(k, S, o.rs)),
                                         k_mul(k, h, X)));
  }
  return o;
}

/* ---- the one-row kernel --------------------------------------------------- */

typedef struct {
  uint32_t qp, kp;     /* buffers */
  uint32_t qrow, krow; /* i64 row offsets */
} DotCtx;

static uint32_t acc_dot(Lower *L, void *vc, uint32_t acc, uint32_t d,
                        int lanes) {
  DotCtx *c = vc;
  Kernel *k = L->k;
  return k_fma(k, k_load(k, c->qp, k_add(k, c->qrow, d), lanes),
               k_load(k, c->kp, k_add(k, c->krow, d), lanes), acc);
}

typedef struct {
  uint32_t out, vp;     /* buffers */
  uint32_t orow, vrow;  /* i64 */
  uint32_t alpha, p;    /* f32 scalars (K_NONE: store zero / scale by p) */
  int mode;             /* 0: o = 0; 1: o = o·α + p·v; 2: o = o·p */
} RowCtx;

static void row_elem(Lower *L, void *vc, uint32_t e, int lanes) {
  RowCtx *c = vc;
  Kernel *k = L->k;
  uint32_t at = k_add(k, c->orow, e);
  if (c->mode == 0) {
    k_store(k, c->out, at, lw_splat(k, 0, lanes));
    return;
  }
  uint32_t o = k_load(k, c->out, at, lanes);
  uint32_t p = k_broadcast(k, c->p, lanes);
  if (c->mode == 2) {
    k_store(k, c->out, at, k_binary(k, KO_MUL, o, p));
    return;
  }
  uint32_t v = k_load(k, c->vp, k_add(k, c->vrow, e), lanes);
  k_store(k, c->out, at,
          k_fma(k, p, v, k_binary(k, KO_MUL, o, k_broadcast(k, c->alpha, lanes))));
}

static void lower_rows(Lower *L, const Att *a, uint32_t keep) {
  Kernel *k = L->k;
  const Shape *qs = lw_shape_of(L, a->n->in[0]);
  uint32_t BH = a->H; /* the leading dims (before H or S) times H */
  for (int i = 0; i < qs->rank - 3; i++) BH = k_mul(k, BH, cg_dim(L, qs->d[i]));
  BH = lw_let_i64(k, "BH", BH);
  uint32_t bh = k_var(k, k_for(k, "bh", i64c(k, 0), BH, 1, true));
  AttOperand Q = operand(L, a, 1, bh, a->Sq, a->D);
  AttOperand K = operand(L, a, 2, bh, a->Sk, a->D);
  AttOperand V = operand(L, a, 3, bh, a->Sk, a->Dv);
  AttOperand O = operand(L, a, 0, bh, a->Sq, a->Dv);
  uint32_t kbase = K_NONE;
  if (keep != K_NONE)
    kbase = lw_let_i64(k, "kb", k_mul(k, k_binary(k, KO_DIV, bh, a->H), a->Sk));
  uint32_t i = k_var(k, k_for(k, "i", i64c(k, 0), a->Sq, 1, false));
  uint32_t qrow = lw_let_i64(k, "qrow", k_add(k, Q.base, k_mul(k, i, Q.rs)));
  uint32_t orow = lw_let_i64(k, "orow", k_add(k, O.base, k_mul(k, i, O.rs)));
  RowCtx rc = {0, 3, orow, K_NONE, K_NONE, K_NONE, 0};
  lw_strips(L, lw_span(L, L->lanes, i64c(k, 0), a->Dv), false, row_elem, &rc);
  uint32_t m = k_let(k, "m", k_f32(k, ATT_NEG_BIG));
  uint32_t l = k_let(k, "l", k_f32(k, 0));
  uint32_t jend = a->Sk;
  if (a->causal) /* keys j <= i + q_offset */
    jend = lw_let_i64(k, "jend",
                      k_binary(k, KO_MAX, i64c(k, 0),
                               k_binary(k, KO_MIN, a->Sk,
                                        k_addi(k, k_add(k, i, a->off), 1))));
  uint32_t j = k_var(k, k_for(k, "j", i64c(k, 0), jend, 1, false));
  DotCtx dc = {1, 2, qrow, lw_let_i64(k, "krow", k_add(k, K.base, k_mul(k, j, K.rs)))};
  uint32_t dot = lw_reduce_strips(L, lw_span(L, L->lanes, i64c(k, 0), a->D),
                                  KO_ADD, 0, acc_dot, &dc, "dot");
  uint32_t s = lw_let_v(k, "s", k_binary(k, KO_MUL, dot, k_f32(k, a->scale)));
  uint32_t valid = K_NONE;
  if (keep != K_NONE) {
    valid = lw_let_v(k, "valid", k_binary(k, KO_NE,
                                          k_load(k, keep, k_add(k, kbase, j), 1),
                                          k_f32(k, 0)));
    s = lw_let_v(k, "s", k_select(k, valid, s, k_f32(k, ATT_NEG_BIG)));
  }
  uint32_t mn = lw_let_v(k, "mn", k_binary(k, KO_MAX, k_var(k, m), s));
  uint32_t alpha = lw_let_v(k, "alpha", km_exp(k, k_binary(k, KO_SUB, k_var(k, m), mn)));
  uint32_t p = km_exp(k, k_binary(k, KO_SUB, s, mn));
  if (valid != K_NONE) p = k_select(k, valid, p, k_f32(k, 0));
  p = lw_let_v(k, "p", p);
  k_set(k, l, k_fma(k, k_var(k, l), alpha, p));
  k_set(k, m, mn);
  RowCtx acc = {0, 3, orow, lw_let_i64(k, "vrow", k_add(k, V.base, k_mul(k, j, V.rs))),
                alpha, p, 1};
  lw_strips(L, lw_span(L, L->lanes, i64c(k, 0), a->Dv), false, row_elem, &acc);
  k_end(k); /* j */
  uint32_t lv = k_var(k, l);
  uint32_t inv = lw_let_v(k, "inv", k_select(k, k_binary(k, KO_EQ, lv, k_f32(k, 0)),
                                             k_f32(k, 0),
                                             k_binary(k, KO_DIV, k_f32(k, 1), lv)));
  RowCtx fin = {0, 3, orow, K_NONE, K_NONE, inv, 2};
  lw_strips(L, lw_span(L, L->lanes, i64c(k, 0), a->Dv), false, row_elem, &fin);
  k_end(k); /* i */
  k_end(k); /* bh */
}

int cg_lower_attention(Lower *L, const Node *n) {
  const Graph *g = L->g;
  const Shape *q = lw_shape_of(L, n->in[0]), *kk = lw_shape_of(L, n->in[1]),
              *v = lw_shape_of(L, n->in[2]);
  int r = q->rank;
  Att a = {.n = n};
  a.shd = strcmp(ir_get_str(g, n, "order"), "shd") == 0;
  a.causal = ir_get_int(g, n, "causal");
  a.scale = ir_get_float(g, n, "scale");
  int ih = a.shd ? r - 2 : r - 3, is = a.shd ? r - 3 : r - 2;
  a.H = cg_dim(L, q->d[ih]);
  a.Sq = cg_dim(L, q->d[is]);
  a.Sk = cg_dim(L, kk->d[is]);
  a.D = cg_dim(L, q->d[r - 1]);
  a.Dv = cg_dim(L, v->d[r - 1]);
  const Attr *qo = ir_get_attr(n, "q_offset");
  a.off = qo->set ? cg_dim(L, qo->dim) : k_i64(L->k, 0);
  lower_rows(L, &a, n->nin > 3 ? 4 : K_NONE);
  return 0;
}
