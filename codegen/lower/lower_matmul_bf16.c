/* lower_matmul_bf16.c — matmul against bf16 weights (--dtype bf16).
 *
 *   out [..., M, N] = bf16(a) [..., M, K] · b [K, N]      (b bf16, pairP)
 *
 * The meaning (ir/shape.c, ir/interp.c): b's bf16 values, a rounded to
 * bf16 (nearest, ties to even) as it is read, products summed in fp32;
 * the epilogue (bias, activation, residual) in fp32 as for every matmul.
 *
 * The layout pass stores b as pairs (ir.h's pairP): panels of 32 columns,
 * each 32-bit element the bf16 of rows kp and kp + Kh of one column,
 * Kh = ceil(K/2).  A dot-pair instruction (vdpbf16ps, AMX's tdpbf16ps)
 * multiplies two such pairs of b by a pair of a and adds both products to
 * one fp32 lane, so a must come in the same pairs.  Pairing row kp with
 * row kp + Kh rather than 2kp with 2kp + 1 is what lets the Kernel IR
 * pack a without a shuffle: the pairs of a row of a are
 *     pair[kp : W] = bf16(a[kp : W]) | bf16(a[Kh + kp : W]) << 16
 * two contiguous vector loads, rounding by integer arithmetic, a shift, a
 * mask and an or — lane by lane.  The sum over k is the same set of
 * products either way.
 *
 * The kernel: first a packs into the scratch region as pairs [rows, Kh]
 * (rows: every row of a, its batch dims flattened — b is a matrix, so a
 * and out have the same leading dims), then the output in register tiles
 * of MR rows x V vectors of W columns, all within one panel, over every
 * pair kp:
 *   AVX-512-BF16 (the target has it, 16 lanes):
 *       acc[r][v] = vdpbf16ps(acc[r][v], broadcast(pair of a row r), b pairs)
 *   portable (every other target, and the scalar variant of every
 *   program): a pair becomes two fp32 values by a shift and a mask, then
 *       acc = fma(a_lo, b_lo, acc); acc = fma(a_hi, b_hi, acc)
 * Both read the one packed b, so any kernel can stand in for another.
 * Column blocks are the parallel loop; columns past the last whole tile
 * take one vector, then scalars (the panels are zero-padded, but the
 * output is not).
 *
 * The epilogue is applied as each accumulator is stored, in the order
 * lower_matmul.c applies it: + bias[j], the activation, + residual[i, j].
 */
#include "codegen/kpass/tile.h"
#include "codegen/lower/lower.h"

#include <stdlib.h>
#include <string.h>

#define MAXR 12
#define MAXV 4

typedef struct {
  Lower *L;
  Kernel *k;
  uint32_t out, a, b, scr; /* buffer params */
  uint32_t rows;           /* i64: rows of a (and of out) */
  int64_t K, N, Kh;
  int P;                   /* the pairP panel width */
  bool dot;                /* vdpbf16ps: AVX-512-BF16 at 16 lanes */
  uint32_t bias, res;      /* params, or K_NONE */
  Op act;                  /* OP_COUNT: none */
} Bm;

/* an i32 constant, w lanes */
static uint32_t ci(Kernel *k, int32_t v, int w) {
  uint32_t c = k_i32(k, v);
  return w > 1 ? k_broadcast(k, c, w) : c;
}

/* f32 (w lanes) rounded to bf16, nearest even, in the high 16 bits of an
 * i32 — ir_bf16_round's steps (NaN aside) */
static uint32_t round_hi(Kernel *k, uint32_t x) {
  int w = k_type(k, x).lanes;
  uint32_t b = k_bitcast(k, x, kt(KT_I32, w));
  uint32_t odd = k_binary(k, KO_AND, k_binary(k, KO_SHR, b, ci(k, 16, w)), ci(k, 1, w));
  uint32_t r = k_binary(k, KO_ADD, k_binary(k, KO_ADD, b, ci(k, 0x7fff, w)), odd);
  return k_binary(k, KO_AND, r, ci(k, (int32_t)0xffff0000u, w));
}

/* the low and high bf16 of pairs p (i32, w lanes) as f32 */
static uint32_t lo_f32(Kernel *k, uint32_t p) {
  int w = k_type(k, p).lanes;
  return k_bitcast(k, k_binary(k, KO_SHL, p, ci(k, 16, w)), kt(KT_F32, w));
}
static uint32_t hi_f32(Kernel *k, uint32_t p) {
  int w = k_type(k, p).lanes;
  return k_bitcast(k, k_binary(k, KO_AND, p, ci(k, (int32_t)0xffff0000u, w)),
                   kt(KT_F32, w));
}

/* scratch[row·Kh + kp : w] <- pairs of a[row, kp : w] and a[row, Kh + kp : w]
 * (hi false: the high half is past K, zero) */
static void pack_pairs(Bm *m, uint32_t arow, uint32_t srow, uint32_t kp, int w,
                       bool hi) {
  Kernel *k = m->k;
  uint32_t lo = round_hi(k, k_load(k, m->a, k_add(k, arow, kp), w));
  lo = k_binary(k, KO_AND, k_binary(k, KO_SHR, lo, ci(k, 16, w)), ci(k, 0xffff, w));
  uint32_t p = lo;
  if (hi)
    p = k_binary(k, KO_OR, lo,
                 round_hi(k, k_load(k, m->a, k_add(k, arow, k_addi(k, kp, m->Kh)), w)));
  k_store(k, m->scr, k_add(k, srow, kp), k_bitcast(k, p, kt(KT_F32, w)));
}

static void pack_a(Bm *m) {
  Kernel *k = m->k;
  int w = m->L->lanes;
  int64_t both = m->K - m->Kh; /* pairs with both halves inside K */
  int64_t vec = w > 1 ? both / w * w : 0;
  uint32_t i = k_var(k, k_for(k, "i", k_i64(k, 0), m->rows, 1, false));
  uint32_t arow = k_var(k, k_let(k, "ar", k_muli(k, i, m->K)));
  uint32_t srow = k_var(k, k_let(k, "sr", k_muli(k, i, m->Kh)));
  if (vec > 0) {
    uint32_t kp = k_var(k, k_for(k, "kp", k_i64(k, 0), k_i64(k, vec), w, false));
    pack_pairs(m, arow, srow, kp, w, true);
    k_end(k);
  }
  if (vec < both) {
    uint32_t kp = k_var(k, k_for(k, "kp", k_i64(k, vec), k_i64(k, both), 1, false));
    pack_pairs(m, arow, srow, kp, 1, true);
    k_end(k);
  }
  if (both < m->Kh) pack_pairs(m, arow, srow, k_i64(k, both), 1, false);
  k_end(k);
}

static uint32_t epilogue(Bm *m, uint32_t v, uint32_t i, uint32_t j) {
  Kernel *k = m->k;
  int w = k_type(k, v).lanes;
  if (m->bias != K_NONE) v = k_binary(k, KO_ADD, v, k_load(k, m->bias, j, w));
  if (m->act != OP_COUNT) v = cg_activation(k, m->act, v);
  if (m->res != K_NONE)
    v = k_binary(k, KO_ADD, v, k_load(k, m->res, k_add(k, k_muli(k, i, m->N), j), w));
  return v;
}

/* Rows i0..i0+R, columns j0..j0+V·w (inside one panel), over every pair. */
/* pairs [lo, hi); the first block starts from zero, later ones from what
 * the previous stored; only the last applies the epilogue */
typedef struct {
  int64_t lo, hi;
  bool first, last;
} KBlock;

static void tile(Bm *m, uint32_t i0, uint32_t j0, int R, int V, int w, KBlock kb) {
  Kernel *k = m->k;
  bool dot = m->dot && w == 16;
  uint32_t acc[MAXR][MAXV];
  for (int r = 0; r < R; r++)
    for (int v = 0; v < V; v++)
      acc[r][v] = k_let(k, "acc", kb.first ? k_broadcast(k, k_f32(k, 0.0), w)
                       : k_load(k, m->out, k_add(k, k_muli(k, k_addi(k, i0, r), m->N),
                                                 k_addi(k, j0, (int64_t)v * w)), w));
  uint32_t P = k_i64(k, m->P);
  uint32_t bstart = k_var(k, k_let(k, "bp", k_add(k, k_muli(k, k_binary(k, KO_DIV, j0, P), m->Kh * m->P),
                                                  k_binary(k, KO_REM, j0, P))));
  uint32_t srow[MAXR];
  for (int r = 0; r < R; r++)
    srow[r] = k_var(k, k_let(k, "sr", k_muli(k, k_addi(k, i0, r), m->Kh)));
  uint32_t kp = k_var(k, k_for(k, "kp", k_i64(k, kb.lo), k_i64(k, kb.hi), 1, false));
  uint32_t brow = k_var(k, k_let(k, "bk", k_add(k, bstart, k_muli(k, kp, m->P))));
  uint32_t bp[MAXV], blo[MAXV], bhi[MAXV];
  for (int v = 0; v < V; v++) {
    bp[v] = k_let(k, "b", k_load(k, m->b, k_addi(k, brow, (int64_t)v * w), w));
    if (!dot) {
      blo[v] = k_let(k, "bl", lo_f32(k, k_var(k, bp[v])));
      bhi[v] = k_let(k, "bh", hi_f32(k, k_var(k, bp[v])));
    }
  }
  for (int r = 0; r < R; r++) {
    uint32_t ap = k_bitcast(k, k_load(k, m->scr, k_add(k, srow[r], kp), 1), kt(KT_I32, 1));
    if (dot) {
      uint32_t av = k_var(k, k_let(k, "a", k_broadcast(k, ap, w)));
      for (int v = 0; v < V; v++)
        k_set(k, acc[r][v], k_dotbf16(k, k_var(k, acc[r][v]), av, k_var(k, bp[v])));
    } else {
      uint32_t a = k_var(k, k_let(k, "ap", ap));
      uint32_t alo = lo_f32(k, a), ahi = hi_f32(k, a);
      if (w > 1) {
        alo = k_var(k, k_let(k, "al", k_broadcast(k, alo, w)));
        ahi = k_var(k, k_let(k, "ah", k_broadcast(k, ahi, w)));
      }
      for (int v = 0; v < V; v++) {
        k_set(k, acc[r][v], k_fma(k, alo, k_var(k, blo[v]), k_var(k, acc[r][v])));
        k_set(k, acc[r][v], k_fma(k, ahi, k_var(k, bhi[v]), k_var(k, acc[r][v])));
      }
    }
  }
  k_end(k);
  for (int r = 0; r < R; r++) {
    uint32_t i = k_addi(k, i0, r);
    for (int v = 0; v < V; v++) {
      uint32_t j = k_addi(k, j0, (int64_t)v * w);
      k_store(k, m->out, k_add(k, k_muli(k, i, m->N), j),
              kb.last ? epilogue(m, k_var(k, acc[r][v]), i, j) : k_var(k, acc[r][v]));
    }
  }
}

static bool empty(Kernel *k, uint32_t lo, uint32_t hi) {
  int64_t a, b;
  return k_is_const(k, lo, &a) && k_is_const(k, hi, &b) && a >= b;
}

/* Every row of one column block: MR at a time, then 4 at a time (when MR
 * is larger: 128 rows are 10 x 12 + 2 x 4), then one at a time. */
static void rows(Bm *m, uint32_t j0, int MR, int V, int w, KBlock kb) {
  Kernel *k = m->k;
  int mid = MR > 4 ? 4 : 1;
  uint32_t m1 = k_floor_to(k, m->rows, MR);
  uint32_t m2 = mid > 1 ? k_add(k, m1, k_floor_to(k, k_sub(k, m->rows, m1), mid)) : m1;
  struct { uint32_t lo, hi; int R; } part[3] = {
      {k_i64(k, 0), m1, MR}, {m1, m2, mid}, {m2, m->rows, 1}};
  for (int p = 0; p < 3; p++) {
    if (empty(k, part[p].lo, part[p].hi)) continue;
    uint32_t i0 = k_var(k, k_for(k, "i", part[p].lo, part[p].hi, part[p].R, false));
    tile(m, i0, j0, part[p].R, V, w, kb);
    k_end(k);
  }
}

int cg_lower_matmul_bf16(Lower *L, const Node *n) {
  const Graph *g = L->g;
  Kernel *k = L->k;
  const Value *bv = &g->values[n->in[1]];
  const Node *bp = &g->nodes[bv->node];
  int P = bp->op == OP_CONST ? ir_layout_pair(ir_get_str(g, bp, "layout")) : 0;
  if (!P || ir_get_int(g, n, "transpose_a") || ir_get_int(g, n, "transpose_b")) {
    L->why = "a bf16 b must be a constant in the pair layout (the layout pass "
             "with --dtype bf16), read without transpose_a or transpose_b";
    return -1;
  }
  TilePlan plan;
  cg_tile_plan_bf16(L->t, L->lanes, &plan);
  int w = L->lanes, MR = plan.bf_mr, V = plan.bf_nv;
  while (V > 1 && P % (V * w)) V--;
  if (P % w) {
    snprintf(L->why_buf, sizeof L->why_buf,
             "b is packed in pairs of panels of %d, which %d-lane vectors do "
             "not divide", P, w);
    L->why = L->why_buf;
    return -1;
  }
  IR_ASSERT(MR <= MAXR && V <= MAXV);
  const char *kind = cg_bf16_kernel_kind(L->t, w);
  Bm m = {.L = L, .k = k, .out = 0, .a = 1, .b = 2, .bias = K_NONE, .res = K_NONE,
          .P = P, .dot = strcmp(kind, "avx512bf16") == 0};
  /* params: out, a, b, [bias], [residual] (cg_lower_node), scratch */
  if (ir_get_int(g, n, "bias")) m.bias = 3;
  if (ir_get_int(g, n, "residual")) m.res = n->nin;
  m.act = ir_matmul_act(g, n);
  m.scr = cg_scratch(L);
  m.K = bv->shape.d[0].c;
  m.N = bv->shape.d[1].c;
  m.Kh = (m.K + 1) / 2;
  const Shape *so = &g->values[n->out[0]].shape;
  m.rows = k_i64(k, 1);
  for (int i = 0; i < so->rank - 1; i++) m.rows = k_mul(k, m.rows, cg_dim(L, so->d[i]));
  m.rows = k_var(k, k_let(k, "rows", m.rows));

  /* which kernel, for dump --kernels */
  size_t len = strlen(k->comment) + 64;
  char *c = malloc(len);
  IR_ASSERT(c);
  snprintf(c, len, "%s [bf16 kernel: %s]", k->comment, kind);
  free(k->comment);
  k->comment = c;

  pack_a(&m);
  int64_t kc = L->t->l1d / 2 / ((int64_t)P * 4);
  kc = kc < 32 ? 32 : kc;
  int64_t tw = (int64_t)V * w;
  int64_t n1 = m.N / tw * tw, n2 = w > 1 ? m.N / w * w : n1;
  struct { int64_t lo, hi; int V, w; } part[3] = {
      {0, n1, V, w}, {n1, n2, 1, w}, {n2, m.N, 1, 1}};
  for (int p = 0; p < 3; p++) {
    if (part[p].lo >= part[p].hi) continue;
    uint32_t j0 = k_var(k, k_for(k, "j", k_i64(k, part[p].lo), k_i64(k, part[p].hi),
                                 (int64_t)part[p].V * part[p].w, p == 0));
    /* pairs in blocks of kc: kc rows of a panel fill half of L1, so the
     * panel rows every row tile reads stay there (as lower_matmul.c) */
    for (int64_t lo = 0; lo < m.Kh; lo += kc) {
      KBlock kb = {lo, lo + kc < m.Kh ? lo + kc : m.Kh, lo == 0, lo + kc >= m.Kh};
      rows(&m, j0, part[p].w == 1 && w > 1 ? 4 : MR, part[p].V, part[p].w, kb);
    }
    k_end(k);
  }
  return 0;
}
