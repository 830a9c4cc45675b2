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
 * The kernel: online softmax (Milakov & Gimelshein; FlashAttention).  Per
 * head (the parallel loop) and per block of bq queries, the keys are
 * walked in blocks of bk (both from the tile plan) keeping, per query, a
 * running max m, a running sum l and an output accumulator o:
 *   S = K_blk·Qᵀ  (a bk × bq tile),  m' = max(m, max_j S),  α = e^(m − m'),
 *   P = e^(S − m'),  l = l·α + Σ_j P,  o = o·α + Pᵀ·V_blk,  m = m',
 * and o / l is written once at the end: nothing of size Sk is stored.
 *
 * Vectors run along the query index (TOOLCHAIN.md): the query block is
 * kept transposed and scaled (qt [D, bq]), so S's register tile is 4 keys
 * × 4 query vectors, each k element a broadcast, and m and l are per lane
 * — no horizontal reductions anywhere.  The output accumulator is
 * transposed too (ot [Dv, bq]), so α scales it lane by lane and P·V is
 * again 4 columns × 4 query vectors of FMAs with broadcast v elements.
 * qt, the score tile, ot, m and l live in the scratch region the memory
 * plan reserves (ir/scratch.h): a few tens of KiB per head, in L1/L2.
 *
 * Causal: key blocks wholly above the last query's diagonal are never
 * visited (the key loop ends at kend); blocks wholly below the first
 * query's diagonal (up to kfree) run without any mask; only the blocks in
 * between compare key and query indices.  A keep mask makes every block a
 * masked one.  exp is kmath's km_exp_nonpos (s − max <= 0 always),
 * vectorized like everything else.
 */
#include <math.h>
#include <string.h>

#include "codegen/kir/kmath.h"
#include "codegen/kpass/tile.h"
#include "codegen/lower/lower_loops.h"
#include "ir/scratch.h"

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

/* ---- the blocked kernel ---------------------------------------------------- */

#define ATT_R 4 /* register tile: 4 rows (keys, or output columns) ... */
#define ATT_C 4 /* ... × 4 vectors of queries */

typedef struct {
  const Att *a;
  AttnScratch sc;
  uint32_t ws;              /* buffer: scratch */
  uint32_t keep;            /* buffer or K_NONE */
  AttOperand K, V;
  uint32_t kbase;           /* i64: keep's row for this head */
  uint32_t base;            /* i64: this head's block in the scratch */
  uint32_t q0;              /* i64: first query of the block */
  int W;                    /* lanes */
} Flash;

static uint32_t ws_at(Kernel *k, const Flash *F, int64_t region, uint32_t idx) {
  return k_add(k, k_addi(k, F->base, region), idx);
}

/* Scores of keys [j, j + R) against the query vectors of group g, stored
 * into st and folded into the block maxima mb[c]; masked lanes (causal
 * beyond the diagonal, keep == 0) are stored as ATT_NEG_BIG. */
static void qk_tile(Lower *L, const Flash *F, uint32_t k0, uint32_t g,
                    uint32_t j, int R, bool masked, const uint32_t *iota,
                    const uint32_t *mb) {
  Kernel *k = L->k;
  const Att *a = F->a;
  int W = F->W;
  uint32_t acc[ATT_R][ATT_C], krow[ATT_R];
  for (int r = 0; r < R; r++) {
    krow[r] = lw_let_i64(k, "krow", k_add(k, F->K.base,
                                          k_mul(k, k_addi(k, k_add(k, k0, j), r), F->K.rs)));
    for (int c = 0; c < ATT_C; c++) acc[r][c] = k_let(k, "acc", lw_splat(k, 0, W));
  }
  uint32_t d = k_var(k, k_for(k, "d", k_i64(k, 0), a->D, 1, false));
  uint32_t qv[ATT_C];
  for (int c = 0; c < ATT_C; c++)
    qv[c] = lw_let_v(k, "qv", k_load(k, F->ws,
                                     ws_at(k, F, F->sc.qt, k_add(k, k_muli(k, d, F->sc.bq),
                                                                 k_addi(k, g, c * W))),
                                     W));
  for (int r = 0; r < R; r++) {
    uint32_t kb = lw_let_v(k, "kb", k_broadcast(k, k_load(k, 2, k_add(k, krow[r], d), 1), W));
    for (int c = 0; c < ATT_C; c++)
      k_set(k, acc[r][c], k_fma(k, kb, qv[c], k_var(k, acc[r][c])));
  }
  k_end(k);
  for (int r = 0; r < R; r++) {
    uint32_t kj = k_addi(k, k_add(k, k0, j), r); /* the key's index */
    uint32_t kvalid = K_NONE;
    if (masked && F->keep != K_NONE)
      kvalid = lw_let_v(k, "kept", k_binary(k, KO_NE,
                                            k_broadcast(k, k_load(k, F->keep, k_add(k, F->kbase, kj), 1), W),
                                            lw_splat(k, 0, W)));
    uint32_t lim = K_NONE; /* key kj seen by lanes with iota >= kj - off - q0 - g */
    if (masked && a->causal)
      lim = lw_let_v(k, "lim", k_broadcast(k, lw_f32_of(k, k_sub(k, k_sub(k, kj, a->off),
                                                                   k_add(k, F->q0, g))), W));
    for (int c = 0; c < ATT_C; c++) {
      uint32_t sv = k_var(k, acc[r][c]);
      if (masked) {
        uint32_t ok = kvalid;
        if (lim != K_NONE) {
          uint32_t cv = k_binary(k, KO_GE, iota[c], lim);
          ok = ok == K_NONE ? cv : k_binary(k, KO_AND, ok, cv);
        }
        if (ok != K_NONE) sv = k_select(k, ok, sv, lw_splat(k, ATT_NEG_BIG, W));
        sv = lw_let_v(k, "s", sv);
      }
      k_store(k, F->ws, ws_at(k, F, F->sc.st, k_add(k, k_muli(k, k_addi(k, j, r), F->sc.bq),
                                                     k_addi(k, g, c * W))),
              sv);
      k_set(k, mb[c], k_binary(k, KO_MAX, k_var(k, mb[c]), sv));
    }
  }
}

/* Output columns [e, e + R) of the accumulator for group g:
 * ot = ot·α + Σ_j p[j] · v[j, e]. */
static void pv_tile(Lower *L, const Flash *F, uint32_t k0, uint32_t nk,
                    uint32_t g, uint32_t e, int R, const uint32_t *alpha) {
  Kernel *k = L->k;
  int W = F->W;
  uint32_t acc[ATT_R][ATT_C], at[ATT_R][ATT_C];
  for (int r = 0; r < R; r++)
    for (int c = 0; c < ATT_C; c++) {
      at[r][c] = lw_let_i64(k, "ot", ws_at(k, F, F->sc.ot,
                                           k_add(k, k_muli(k, k_addi(k, e, r), F->sc.bq),
                                                 k_addi(k, g, c * W))));
      acc[r][c] = k_let(k, "acc", k_binary(k, KO_MUL, k_load(k, F->ws, at[r][c], W),
                                           alpha[c]));
    }
  uint32_t j = k_var(k, k_for(k, "j", k_i64(k, 0), nk, 1, false));
  uint32_t vrow = lw_let_i64(k, "vrow", k_add(k, F->V.base,
                                              k_mul(k, k_add(k, k0, j), F->V.rs)));
  uint32_t pv[ATT_C];
  for (int c = 0; c < ATT_C; c++)
    pv[c] = lw_let_v(k, "p", k_load(k, F->ws, ws_at(k, F, F->sc.st,
                                                    k_add(k, k_muli(k, j, F->sc.bq),
                                                          k_addi(k, g, c * W))), W));
  for (int r = 0; r < R; r++) {
    uint32_t vb = lw_let_v(k, "vb", k_broadcast(k, k_load(k, 3, k_addi(k, k_add(k, vrow, e), r), 1), W));
    for (int c = 0; c < ATT_C; c++)
      k_set(k, acc[r][c], k_fma(k, vb, pv[c], k_var(k, acc[r][c])));
  }
  k_end(k);
  for (int r = 0; r < R; r++)
    for (int c = 0; c < ATT_C; c++) k_store(k, F->ws, at[r][c], k_var(k, acc[r][c]));
}

/* One key block [k0, k0 + nk) against the query block: scores, online
 * softmax update, accumulate.  `masked`: the diagonal blocks of causal,
 * or every block under a keep mask. */
static void key_block(Lower *L, const Flash *F, uint32_t k0, uint32_t kend,
                      bool masked) {
  Kernel *k = L->k;
  const Att *a = F->a;
  int W = F->W, GW = ATT_C * W;
  uint32_t nk = lw_let_i64(k, "nk", k_binary(k, KO_MIN, k_i64(k, F->sc.bk),
                                             k_sub(k, kend, k0)));
  uint32_t g = k_var(k, k_for(k, "g", k_i64(k, 0), k_i64(k, F->sc.bq), GW, false));
  uint32_t iota[ATT_C] = {K_NONE, K_NONE, K_NONE, K_NONE}, mb[ATT_C];
  for (int c = 0; c < ATT_C; c++) {
    if (masked && a->causal)
      iota[c] = lw_let_v(k, "iota", k_load(k, F->ws, ws_at(k, F, F->sc.iota, k_i64(k, c * W)), W));
    mb[c] = k_let(k, "mb", lw_splat(k, ATT_NEG_BIG, W));
  }
  /* S = K·Qᵀ for this block, 4 keys at a time, then one by one */
  uint32_t n4 = lw_let_i64(k, "n4", k_floor_to(k, nk, ATT_R));
  uint32_t j = k_var(k, k_for(k, "j", k_i64(k, 0), n4, ATT_R, false));
  qk_tile(L, F, k0, g, j, ATT_R, masked, iota, mb);
  k_end(k);
  j = k_var(k, k_for(k, "j", n4, nk, 1, false));
  qk_tile(L, F, k0, g, j, 1, masked, iota, mb);
  k_end(k);
  /* running max, rescale factor, p = e^(s − m) in place, running sum */
  uint32_t mn[ATT_C], alpha[ATT_C], ls[ATT_C];
  for (int c = 0; c < ATT_C; c++) {
    uint32_t mi = ws_at(k, F, F->sc.m, k_addi(k, g, c * W));
    uint32_t mo = lw_let_v(k, "mo", k_load(k, F->ws, mi, W));
    mn[c] = lw_let_v(k, "mn", k_binary(k, KO_MAX, mo, k_var(k, mb[c])));
    alpha[c] = lw_let_v(k, "alpha", km_exp_nonpos(k, k_binary(k, KO_SUB, mo, mn[c])));
    k_store(k, F->ws, mi, mn[c]);
    ls[c] = k_let(k, "ls", lw_splat(k, 0, W));
  }
  j = k_var(k, k_for(k, "j", k_i64(k, 0), nk, 1, false));
  for (int c = 0; c < ATT_C; c++) {
    uint32_t si = lw_let_i64(k, "si", ws_at(k, F, F->sc.st, k_add(k, k_muli(k, j, F->sc.bq),
                                                                  k_addi(k, g, c * W))));
    uint32_t sv = lw_let_v(k, "s", k_load(k, F->ws, si, W));
    uint32_t p = km_exp_nonpos(k, k_binary(k, KO_SUB, sv, mn[c]));
    if (masked) /* a masked score contributes exactly 0 */
      p = k_select(k, k_binary(k, KO_GT, sv, lw_splat(k, ATT_NEG_BIG / 2, W)), p,
                   lw_splat(k, 0, W));
    p = lw_let_v(k, "p", p);
    k_store(k, F->ws, si, p);
    k_set(k, ls[c], k_binary(k, KO_ADD, k_var(k, ls[c]), p));
  }
  k_end(k);
  for (int c = 0; c < ATT_C; c++) {
    uint32_t li = ws_at(k, F, F->sc.l, k_addi(k, g, c * W));
    k_store(k, F->ws, li, k_fma(k, k_load(k, F->ws, li, W), alpha[c], k_var(k, ls[c])));
  }
  /* O += P·V, 4 output columns at a time, then one by one */
  uint32_t e4 = lw_let_i64(k, "e4", k_floor_to(k, a->Dv, ATT_R));
  uint32_t e = k_var(k, k_for(k, "e", k_i64(k, 0), e4, ATT_R, false));
  pv_tile(L, F, k0, nk, g, e, ATT_R, alpha);
  k_end(k);
  e = k_var(k, k_for(k, "e", e4, a->Dv, 1, false));
  pv_tile(L, F, k0, nk, g, e, 1, alpha);
  k_end(k);
  k_end(k); /* g */
}

static void lower_flash(Lower *L, const Att *a, uint32_t keep) {
  Kernel *k = L->k;
  Flash F = {.a = a, .keep = keep, .W = L->lanes};
  ir_attention_scratch(L->g, a->n, &L->plan, &F.sc);
  IR_ASSERT(F.sc.bq % (ATT_C * F.W) == 0);
  F.ws = cg_scratch(L);
  const Shape *qs = lw_shape_of(L, a->n->in[0]);
  uint32_t BH = a->H; /* the leading dims (before H or S) times H */
  for (int i = 0; i < qs->rank - 3; i++) BH = k_mul(k, BH, cg_dim(L, qs->d[i]));
  BH = lw_let_i64(k, "BH", BH);
  uint32_t bh = k_var(k, k_for(k, "bh", k_i64(k, 0), BH, 1, true));
  AttOperand Q = operand(L, a, 1, bh, a->Sq, a->D);
  F.K = operand(L, a, 2, bh, a->Sk, a->D);
  F.V = operand(L, a, 3, bh, a->Sk, a->Dv);
  AttOperand O = operand(L, a, 0, bh, a->Sq, a->Dv);
  if (keep != K_NONE)
    F.kbase = lw_let_i64(k, "kb", k_mul(k, k_binary(k, KO_DIV, bh, a->H), a->Sk));
  F.base = lw_let_i64(k, "ws", k_muli(k, bh, F.sc.per_bh));
  int64_t bq = F.sc.bq;
  uint32_t i = k_var(k, k_for(k, "i", k_i64(k, 0), k_i64(k, bq), 1, false));
  k_store(k, F.ws, ws_at(k, &F, F.sc.iota, i), lw_f32_of(k, i));
  k_end(k);

  /* for each block of bq queries */
  F.q0 = k_var(k, k_for(k, "q0", k_i64(k, 0), a->Sq, bq, false));
  uint32_t nq = lw_let_i64(k, "nq", k_binary(k, KO_MIN, k_i64(k, bq), k_sub(k, a->Sq, F.q0)));
  /* qt [D, bq] = (scale · q[q0 .. q0 + nq))ᵀ, zero beyond nq */
  i = k_var(k, k_for(k, "i", k_i64(k, 0), nq, 1, false));
  uint32_t qrow = lw_let_i64(k, "qrow", k_add(k, Q.base, k_mul(k, k_add(k, F.q0, i), Q.rs)));
  uint32_t d = k_var(k, k_for(k, "d", k_i64(k, 0), a->D, 1, false));
  k_store(k, F.ws, ws_at(k, &F, F.sc.qt, k_add(k, k_muli(k, d, bq), i)),
          k_binary(k, KO_MUL, k_load(k, 1, k_add(k, qrow, d), 1), k_f32(k, a->scale)));
  k_end(k);
  k_end(k);
  i = k_var(k, k_for(k, "i", nq, k_i64(k, bq), 1, false));
  d = k_var(k, k_for(k, "d", k_i64(k, 0), a->D, 1, false));
  k_store(k, F.ws, ws_at(k, &F, F.sc.qt, k_add(k, k_muli(k, d, bq), i)), k_f32(k, 0));
  k_end(k);
  k_end(k);
  /* m = −big, l = 0, ot = 0 */
  i = k_var(k, k_for(k, "i", k_i64(k, 0), k_i64(k, bq), F.W, false));
  k_store(k, F.ws, ws_at(k, &F, F.sc.m, i), lw_splat(k, ATT_NEG_BIG, F.W));
  k_store(k, F.ws, ws_at(k, &F, F.sc.l, i), lw_splat(k, 0, F.W));
  k_end(k);
  i = k_var(k, k_for(k, "i", k_i64(k, 0), k_muli(k, a->Dv, bq), F.W, false));
  k_store(k, F.ws, ws_at(k, &F, F.sc.ot, i), lw_splat(k, 0, F.W));
  k_end(k);
  /* The keys: causal stops at the last query's diagonal (kend); blocks
   * wholly below the first query's diagonal (up to kfree) need no mask. */
  uint32_t kend = a->Sk, kfree = keep != K_NONE ? k_i64(k, 0) : a->Sk;
  if (a->causal) {
    uint32_t zero = k_i64(k, 0);
    kend = lw_let_i64(k, "kend", k_binary(k, KO_MIN, a->Sk,
                                          k_binary(k, KO_MAX, zero,
                                                   k_add(k, k_add(k, F.q0, nq), a->off))));
    if (keep == K_NONE)
      kfree = lw_let_i64(k, "kfree",
                         k_floor_to(k, k_binary(k, KO_MIN, kend,
                                                k_binary(k, KO_MAX, zero,
                                                         k_addi(k, k_add(k, F.q0, a->off), 1))),
                                    F.sc.bk));
  }
  if (!lw_empty_range(k, k_i64(k, 0), kfree)) {
    uint32_t k0 = k_var(k, k_for(k, "k0", k_i64(k, 0), kfree, F.sc.bk, false));
    key_block(L, &F, k0, kend, false);
    k_end(k);
  }
  if (a->causal || keep != K_NONE) {
    uint32_t k0 = k_var(k, k_for(k, "k0", kfree, kend, F.sc.bk, false));
    key_block(L, &F, k0, kend, true);
    k_end(k);
  }
  /* out = ot / l (zeros where no key was seen), transposed back */
  i = k_var(k, k_for(k, "i", k_i64(k, 0), nq, 1, false));
  uint32_t lv = lw_let_v(k, "l", k_load(k, F.ws, ws_at(k, &F, F.sc.l, i), 1));
  uint32_t inv = lw_let_v(k, "inv", k_select(k, k_binary(k, KO_EQ, lv, k_f32(k, 0)), k_f32(k, 0),
                                             k_binary(k, KO_DIV, k_f32(k, 1), lv)));
  uint32_t orow = lw_let_i64(k, "orow", k_add(k, O.base, k_mul(k, k_add(k, F.q0, i), O.rs)));
  uint32_t e = k_var(k, k_for(k, "e", k_i64(k, 0), a->Dv, 1, false));
  k_store(k, 0, k_add(k, orow, e),
          k_binary(k, KO_MUL, k_load(k, F.ws, ws_at(k, &F, F.sc.ot, k_add(k, k_muli(k, e, bq), i)), 1),
                   inv));
  k_end(k);
  k_end(k);
  k_end(k); /* q0 */
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
  lower_flash(L, &a, n->nin > 3 ? 4 : K_NONE);
  return 0;
}
