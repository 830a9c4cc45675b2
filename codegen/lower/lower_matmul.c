/* lower_matmul.c — matmul as register-blocked loop nests.
 *
 *   out [batch..., M, N] = a [batch..., M, K] · b [batch..., K, N]
 *
 * (a may be stored transposed [.., K, M], b transposed [.., N, K]; batch
 * dims broadcast, a broadcast dim having stride 0.)
 *
 * Two micro-kernels, chosen by b's layout:
 *
 *   b [K, N] (row-major, N contiguous) — the GEMM tile of BLIS: an
 *   MR x (NV·W) block of the output is held in MR·NV vector accumulators
 *   across the whole K loop; each step loads NV vectors of b's row k and
 *   broadcasts one element of a per row:
 *       acc[r][v] = fma(broadcast(a[i0+r, k]), b[k, j0+v·W : W], acc[r][v])
 *   Column tails use one vector, then scalars; row tails use one row.
 *
 *   b [N, K] (transposed, K contiguous; nn.Linear weights, Q·Kᵀ) — dot
 *   products: an MR x NR block of outputs, each a vector accumulator along
 *   K, reduced across lanes once at the end, scalar K tail after.
 *
 * a [batch..., M, K] times a b of rank 2 (a weight: every projection of
 * a batch of sentences) is one GEMM of batch·M rows: out and a are then
 * contiguous [batch·M, N] and [batch·M, K], so the batch dims fold into M
 * (no batch loop: the M blocks below walk the rows, whatever B and S are).
 *
 * Every tile number (register tiles, K and M blocks, panel width) is the
 * kernel's TilePlan (ir/target.h), from the `tile` pass
 * (codegen/kpass/tile.c).  For b [K, N] the column blocks are
 * outermost (see cols_kn) and parallel; for b [N, K] the rows are.  With
 * batch dims the outermost batch loop is the parallel one instead.
 *
 * For b [K, N] without a batch loop around the GEMM, a is first packed
 * into the kernel's scratch in tiles of MR rows, [M/MR, K, MR] (pack_a,
 * sized by ir_matmul_packs_a in ir/scratch.c): the micro-kernel's MR
 * broadcasts per k then read MR consecutive floats, one stream for the
 * whole tile, instead of MR rows K floats apart — at K = 3072 (12 KiB)
 * those rows all map to one L1 set.  Measured with bench/gemm.py (1
 * thread, CPU time, medians on a loaded machine, with the M block of 3/4
 * of L2): +21% at K = 3072 ([128, 3072] x [3072, 768]), no change beyond
 * the noise at K = 768.
 *
 * A constant b in a panel layout (the layout pass) is read panel by panel:
 * element (k, j) of a [K, N] matrix stored as panels of [K, P] is at
 * (j / P)·K·P + k·P + j % P, so a tile whose width divides P streams one
 * contiguous panel row per k.
 *
 * The epilogue (fuse-epilogue) is applied to each accumulator as it is
 * stored: + bias[j], the activation, + residual[i, j] — one pass over the
 * output instead of three more kernels.
 */
#include "codegen/kir/kmath.h"
#include "codegen/kpass/tile.h"
#include "codegen/lower/lower.h"
#include "ir/scratch.h"

#include <math.h>
#include <string.h>

#define MAXR 8
#define MAXV 4

typedef struct {
  Lower *L;
  Kernel *k;
  uint32_t out, a, b;   /* buffer params */
  uint32_t M, N, K;     /* i64 expressions */
  uint32_t oo, ao, bo;  /* batch offsets (i64 exprs) of out, a, b */
  bool ta;
  int lanes;
  int panel;            /* b's panel width P, 0 when row-major */
  TilePlan plan;        /* the target's, at this kernel's width */
  uint32_t scr;         /* scratch param: a packed (pack_a), or K_NONE */
  int pmr;              /* the rows of a packed tile */
  uint32_t bias, res;   /* params, or K_NONE */
  Op act;               /* the epilogue's activation, OP_COUNT: none */
} Mm;

/* The epilogue of one stored value v (lanes wide) at row i, column j. */
static uint32_t epilogue(Mm *m, uint32_t v, uint32_t i, uint32_t j) {
  Kernel *k = m->k;
  int w = k_type(k, v).lanes;
  if (m->bias != K_NONE) v = k_binary(k, KO_ADD, v, k_load(k, m->bias, j, w));
  if (m->act != OP_COUNT) v = cg_activation(k, m->act, v);
  if (m->res != K_NONE) {
    uint32_t idx = k_add(k, m->oo, k_add(k, k_mul(k, i, m->N), j));
    v = k_binary(k, KO_ADD, v, k_load(k, m->res, idx, w));
  }
  return v;
}

static bool empty_range(Kernel *k, uint32_t lo, uint32_t hi) {
  int64_t a, b;
  return k_is_const(k, lo, &a) && k_is_const(k, hi, &b) && a >= b;
}

static uint32_t zero(Kernel *k, int lanes) {
  return k_broadcast(k, k_f32(k, 0.0), lanes);
}

/* a[i, kk] as a scalar expression */
static uint32_t a_elem(Mm *m, uint32_t i, uint32_t kk) {
  Kernel *k = m->k;
  uint32_t idx = m->ta ? k_add(k, k_mul(k, kk, m->M), i)
                       : k_add(k, k_mul(k, i, m->K), kk);
  return k_load(k, m->a, k_add(k, m->ao, idx), 1);
}

/* ---- b [K, N]: broadcast-a tile ----------------------------------------- */

/* Rows i0..i0+R, columns j0..j0+V·w. */
/* Rows i0..i0+R, columns j0..j0+V·w, over k in [klo, khi): the first
 * block of k starts from zero, later ones from what the previous block
 * stored; only the last applies the epilogue. */
typedef struct {
  uint32_t lo, hi;
  bool first, last;
} KBlock;

static void tile_kn(Mm *m, uint32_t i0, uint32_t j0, int R, int V, int w,
                    KBlock kb) {
  Kernel *k = m->k;
  uint32_t acc[MAXR][MAXV];
  for (int r = 0; r < R; r++) {
    uint32_t orow = k_add(k, m->oo, k_add(k, k_mul(k, k_addi(k, i0, r), m->N), j0));
    for (int v = 0; v < V; v++)
      acc[r][v] = k_let(k, "acc", kb.first ? zero(k, w)
                                           : k_load(k, m->out, k_addi(k, orow, (int64_t)v * w), w));
  }
  /* where b's row 0, column j0 is, and how far apart rows are */
  uint32_t bstart, bstride;
  if (m->panel) {
    int64_t P = m->panel;
    IR_ASSERT(P % ((int64_t)V * w) == 0); /* a tile stays in one panel */
    uint32_t pj = k_binary(k, KO_DIV, j0, k_i64(k, P));
    bstart = k_var(k, k_let(k, "bp", k_add(k, k_mul(k, k_muli(k, pj, P), m->K),
                                            k_binary(k, KO_REM, j0, k_i64(k, P)))));
    bstride = k_i64(k, P);
  } else {
    bstart = k_add(k, m->bo, j0);
    bstride = m->N;
  }
  /* a full row tile reads a packed: MR consecutive floats per k */
  bool packed = m->scr != K_NONE && R == m->pmr;
  uint32_t atile = packed ? k_var(k, k_let(k, "ap", k_mul(k, i0, m->K))) : K_NONE;
  uint32_t kk = k_for(k, "k", kb.lo, kb.hi, 1, false);
  uint32_t kv = k_var(k, kk);
  uint32_t ak = packed ? k_var(k, k_let(k, "ak", k_add(k, atile, k_muli(k, kv, R))))
                       : K_NONE;
  /* b row kk, columns j0.. */
  uint32_t brow = k_let(k, "bk", k_add(k, bstart, k_mul(k, kv, bstride)));
  uint32_t bv[MAXV];
  for (int v = 0; v < V; v++)
    bv[v] = k_let(k, "b", k_load(k, m->b, k_addi(k, k_var(k, brow), (int64_t)v * w), w));
  /* A packed b streams from memory once per row block: fetch the panel
   * rows of the next K block (or, past K, the next panel: panels are
   * contiguous) into L2 while this one is computed. */
  if (m->panel && m->plan.prefetch && w > 1)
    for (int64_t off = 0; off < (int64_t)V * w; off += 16)
      k_prefetch(k, m->b, k_addi(k, k_var(k, brow), m->plan.prefetch * m->panel + off));
  for (int r = 0; r < R; r++) {
    uint32_t as = k_broadcast(k, packed ? k_load(k, m->scr, k_addi(k, ak, r), 1)
                                        : a_elem(m, k_addi(k, i0, r), kv), w);
    uint32_t asv = w > 1 ? k_var(k, k_let(k, "a", as)) : as;
    for (int v = 0; v < V; v++)
      k_set(k, acc[r][v], k_fma(k, asv, k_var(k, bv[v]), k_var(k, acc[r][v])));
  }
  k_end(k);
  for (int r = 0; r < R; r++) {
    uint32_t i = k_addi(k, i0, r);
    uint32_t orow = k_add(k, m->oo, k_add(k, k_mul(k, i, m->N), j0));
    for (int v = 0; v < V; v++) {
      uint32_t j = k_addi(k, j0, (int64_t)v * w);
      uint32_t val = k_var(k, acc[r][v]);
      k_store(k, m->out, k_addi(k, orow, (int64_t)v * w),
              kb.last ? epilogue(m, val, i, j) : val);
    }
  }
}

/* Rows [lo, lo + n) of a matmul (all of them, or one M block). */
typedef struct {
  uint32_t lo, n;
} RowBlock;

/* The rows of one column block over one block of k: MR rows at a time,
 * then one at a time. */
static void rows_kn(Mm *m, uint32_t j0, int MR, int V, int w, KBlock kb,
                    RowBlock rb) {
  Kernel *k = m->k;
  uint32_t m1 = k_add(k, rb.lo, k_floor_to(k, rb.n, MR));
  struct { uint32_t lo, hi; int R; } rows[2] = {{rb.lo, m1, MR},
                                                {m1, k_add(k, rb.lo, rb.n), 1}};
  int64_t n;
  bool no_tail = k_is_const(k, rb.n, &n) && n % MR == 0;
  for (int r = 0; r < 2; r++) {
    if (empty_range(k, rows[r].lo, rows[r].hi) || (r == 1 && no_tail)) continue;
    uint32_t i0 = k_var(k, k_for(k, "i", rows[r].lo, rows[r].hi, rows[r].R, false));
    tile_kn(m, i0, j0, rows[r].R, V, w, kb);
    k_end(k);
  }
}

/* Blocking à la BLIS.  Column blocks outermost: one block of b (a panel
 * [K, V·w]) stays in L2 while every row of a streams past it, and a
 * (M·K floats) stays in L2 across blocks.  Inside, k in blocks of kc rows
 * of the panel (kc·V·w floats, half of L1), so the panel rows a tile reads
 * come from L1 for every row block.  The first k block starts the
 * accumulators at zero, the middle ones (a loop) and the last reload what
 * the previous block stored, and only the last applies the epilogue.  The
 * column blocks are the parallel loop (they write disjoint columns), which
 * also parallelizes a single-row (decoding) matmul. */
static void cols_kn(Mm *m, int MR, int V, bool parallel, RowBlock rb) {
  Kernel *k = m->k;
  int w = m->lanes;
  uint32_t n1 = k_floor_to(k, m->N, (int64_t)V * w);
  uint32_t n2 = k_floor_to(k, m->N, w);
  struct { uint32_t lo, hi; int V, w; } parts[3] = {
      {k_i64(k, 0), n1, V, w}, {n1, n2, 1, w}, {n2, m->N, 1, 1}};
  int nparts = w > 1 ? 3 : 2;
  if (w == 1) parts[1] = (typeof(parts[1])){n1, m->N, 1, 1};
  int64_t K, kc = m->plan.kc;
  bool blocked = k_is_const(k, m->K, &K) && K > kc;
  int64_t last_lo = blocked ? (K - 1) / kc * kc : 0;
  for (int p = 0; p < nparts; p++) {
    if (empty_range(k, parts[p].lo, parts[p].hi)) continue;
    uint32_t j0 = k_var(k, k_for(k, "j", parts[p].lo, parts[p].hi,
                                 (int64_t)parts[p].V * parts[p].w,
                                 parallel && p == 0));
    int Vp = parts[p].V, wp = parts[p].w;
    if (!blocked) {
      rows_kn(m, j0, MR, Vp, wp, (KBlock){k_i64(k, 0), m->K, true, true}, rb);
    } else {
      rows_kn(m, j0, MR, Vp, wp, (KBlock){k_i64(k, 0), k_i64(k, kc), true, false}, rb);
      if (last_lo > kc) {
        uint32_t kb = k_var(k, k_for(k, "kb", k_i64(k, kc), k_i64(k, last_lo), kc, false));
        rows_kn(m, j0, MR, Vp, wp, (KBlock){kb, k_addi(k, kb, kc), false, false}, rb);
        k_end(k);
      }
      rows_kn(m, j0, MR, Vp, wp, (KBlock){k_i64(k, last_lo), m->K, false, true}, rb);
    }
    k_end(k);
  }
}

/* a packed in tiles of MR rows, in the order the micro-kernel reads it:
 *   scratch [M/MR, K, MR]: a[i0 + r, k] at i0·K + k·MR + r
 * (only full tiles; the rows past the last one read a).  The micro-kernel
 * then broadcasts from one contiguous stream instead of MR rows K floats
 * apart, which at K = 3072 (12 KiB) all fall into one L1 set.  Every
 * column panel reuses the packing; the tiles are independent, so the
 * loop is parallel where the GEMM's is. */
static void pack_a(Mm *m, bool parallel) {
  Kernel *k = m->k;
  int MR = m->pmr;
  uint32_t m1 = k_floor_to(k, m->M, MR);
  if (empty_range(k, k_i64(k, 0), m1)) return;
  uint32_t i0 = k_var(k, k_for(k, "i", k_i64(k, 0), m1, MR, parallel));
  uint32_t srow = k_var(k, k_let(k, "sr", k_mul(k, i0, m->K)));
  uint32_t kv = k_var(k, k_for(k, "k", k_i64(k, 0), m->K, 1, false));
  uint32_t s = k_var(k, k_let(k, "sk", k_add(k, srow, k_muli(k, kv, MR))));
  for (int r = 0; r < MR; r++)
    k_store(k, m->scr, k_addi(k, s, r), a_elem(m, k_addi(k, i0, r), kv));
  k_end(k);
  k_end(k);
}

/* M blocks (the plan's mc, from L2) outermost when M exceeds one: every
 * column panel then streams past a block of a that stays in L2 (BLIS's
 * ic loop); the last block takes the rows left over.  A symbolic M (a
 * batch folded into it, a sequence) is walked the same way at run time.
 * (A batch's GEMM ran in fixed blocks of 64 rows before, each streaming
 * all of b and each its own parallel regions: BERT-base on 32 x 64, `loom
 * bench`, AMD EPYC, medians of 3 interleaved rounds: the same on 1
 * thread, 2139 -> 1965 ms on 2.) */
static void blocks_kn(Mm *m, int MR, int V, bool parallel) {
  Kernel *k = m->k;
  int64_t M, mc = m->plan.mc;
  if (!k_is_const(k, m->M, &M)) {
    uint32_t ib = k_var(k, k_for(k, "ib", k_i64(k, 0), m->M, mc, false));
    uint32_t n = k_var(k, k_let(k, "mb", k_binary(k, KO_MIN, k_i64(k, mc),
                                                   k_sub(k, m->M, ib))));
    cols_kn(m, MR, V, parallel, (RowBlock){ib, n});
    k_end(k);
    return;
  }
  if (M <= mc) {
    cols_kn(m, MR, V, parallel, (RowBlock){k_i64(k, 0), m->M});
    return;
  }
  int64_t full = M / mc * mc;
  uint32_t ib = k_var(k, k_for(k, "ib", k_i64(k, 0), k_i64(k, full), mc, false));
  cols_kn(m, MR, V, parallel, (RowBlock){ib, k_i64(k, mc)});
  k_end(k);
  if (full < M)
    cols_kn(m, MR, V, parallel, (RowBlock){k_i64(k, full), k_i64(k, M - full)});
}

/* ---- b [N, K]: dot-product tile ----------------------------------------- */

static void tile_nk(Mm *m, uint32_t i0, uint32_t j0, int R, int C) {
  Kernel *k = m->k;
  int w = m->lanes;
  uint32_t arow[MAXR], brow[MAXR], sum[MAXR][MAXR];
  for (int r = 0; r < R; r++)
    arow[r] = k_let(k, "ar", k_add(k, m->ao, k_mul(k, k_addi(k, i0, r), m->K)));
  for (int c = 0; c < C; c++)
    brow[c] = k_let(k, "br", k_add(k, m->bo, k_mul(k, k_addi(k, j0, c), m->K)));
  uint32_t k1 = k_floor_to(k, m->K, w);
  if (w > 1 && !empty_range(k, k_i64(k, 0), k1)) {
    uint32_t acc[MAXR][MAXR];
    for (int r = 0; r < R; r++)
      for (int c = 0; c < C; c++) acc[r][c] = k_let(k, "acc", zero(k, w));
    uint32_t kv = k_var(k, k_for(k, "k", k_i64(k, 0), k1, w, false));
    uint32_t av[MAXR], bv[MAXR];
    for (int r = 0; r < R; r++)
      av[r] = k_let(k, "a", k_load(k, m->a, k_add(k, k_var(k, arow[r]), kv), w));
    for (int c = 0; c < C; c++)
      bv[c] = k_let(k, "b", k_load(k, m->b, k_add(k, k_var(k, brow[c]), kv), w));
    for (int r = 0; r < R; r++)
      for (int c = 0; c < C; c++)
        k_set(k, acc[r][c], k_fma(k, k_var(k, av[r]), k_var(k, bv[c]),
                                  k_var(k, acc[r][c])));
    k_end(k);
    for (int r = 0; r < R; r++)
      for (int c = 0; c < C; c++)
        sum[r][c] = k_let(k, "s", k_reduce(k, KO_ADD, k_var(k, acc[r][c])));
  } else {
    k1 = k_i64(k, 0);
    for (int r = 0; r < R; r++)
      for (int c = 0; c < C; c++) sum[r][c] = k_let(k, "s", k_f32(k, 0.0));
  }
  if (!empty_range(k, k1, m->K)) {
    uint32_t kv = k_var(k, k_for(k, "k", k1, m->K, 1, false));
    uint32_t as[MAXR], bs[MAXR];
    for (int r = 0; r < R; r++)
      as[r] = k_let(k, "a", k_load(k, m->a, k_add(k, k_var(k, arow[r]), kv), 1));
    for (int c = 0; c < C; c++)
      bs[c] = k_let(k, "b", k_load(k, m->b, k_add(k, k_var(k, brow[c]), kv), 1));
    for (int r = 0; r < R; r++)
      for (int c = 0; c < C; c++)
        k_set(k, sum[r][c], k_fma(k, k_var(k, as[r]), k_var(k, bs[c]),
                                  k_var(k, sum[r][c])));
    k_end(k);
  }
  for (int r = 0; r < R; r++)
    for (int c = 0; c < C; c++) {
      uint32_t i = k_addi(k, i0, r), j = k_addi(k, j0, c);
      uint32_t idx = k_add(k, m->oo, k_add(k, k_mul(k, i, m->N), j));
      k_store(k, m->out, idx, epilogue(m, k_var(k, sum[r][c]), i, j));
    }
}

static void rows_nk(Mm *m, uint32_t lo, uint32_t hi, int R, int C,
                    bool parallel) {
  Kernel *k = m->k;
  if (empty_range(k, lo, hi)) return;
  uint32_t i0 = k_var(k, k_for(k, "i", lo, hi, R, parallel));
  uint32_t n1 = k_floor_to(k, m->N, C);
  if (!empty_range(k, k_i64(k, 0), n1)) {
    uint32_t j0 = k_var(k, k_for(k, "j", k_i64(k, 0), n1, C, false));
    tile_nk(m, i0, j0, R, C);
    k_end(k);
  }
  if (!empty_range(k, n1, m->N)) {
    uint32_t j0 = k_var(k, k_for(k, "j", n1, m->N, 1, false));
    tile_nk(m, i0, j0, R, 1);
    k_end(k);
  }
  k_end(k);
}

/* ---- both transposed: plain dot products ---------------------------------- */

static void naive(Mm *m, bool parallel) {
  Kernel *k = m->k;
  uint32_t i = k_var(k, k_for(k, "i", k_i64(k, 0), m->M, 1, parallel));
  uint32_t j = k_var(k, k_for(k, "j", k_i64(k, 0), m->N, 1, false));
  uint32_t s = k_let(k, "s", k_f32(k, 0.0));
  uint32_t kv = k_var(k, k_for(k, "k", k_i64(k, 0), m->K, 1, false));
  uint32_t bidx = k_add(k, m->bo, k_add(k, k_mul(k, j, m->K), kv));
  k_set(k, s, k_fma(k, a_elem(m, i, kv), k_load(k, m->b, bidx, 1), k_var(k, s)));
  k_end(k);
  k_store(k, m->out, k_add(k, m->oo, k_add(k, k_mul(k, i, m->N), j)),
          epilogue(m, k_var(k, s), i, j));
  k_end(k);
  k_end(k);
}

/* ---- the kernel ----------------------------------------------------------- */

/* Element strides of x's dims, with 0 where x broadcasts against out. */
static void batch_strides(Lower *L, const Shape *x, const Shape *out,
                          uint32_t *st) {
  uint32_t full[IR_MAX_RANK];
  cg_strides(L, x, full);
  int nb = out->rank - 2, xb = x->rank - 2;
  for (int i = 0; i < nb; i++) {
    int xi = i - (nb - xb);
    bool bcast = xi < 0 || (ir_dim_static(x->d[xi]) && x->d[xi].c == 1 &&
                            !(ir_dim_static(out->d[i]) && out->d[i].c == 1));
    st[i] = bcast ? k_i64(L->k, 0) : full[xi];
  }
}

int cg_lower_matmul(Lower *L, const Node *n) {
  const Graph *g = L->g;
  Kernel *k = L->k;
  if (g->values[n->in[1]].dtype == DT_BF16) return cg_lower_matmul_bf16(L, n);
  const Shape *so = &g->values[n->out[0]].shape;
  const Shape *sa = &g->values[n->in[0]].shape;
  const Shape *sb = &g->values[n->in[1]].shape;
  bool ta = ir_get_int(g, n, "transpose_a"), tb = ir_get_int(g, n, "transpose_b");
  Mm m = {.L = L, .k = k, .out = 0, .a = 1, .b = 2, .ta = ta, .lanes = L->lanes,
          .bias = K_NONE, .res = K_NONE, };
  m.plan = L->plan;
  /* params: out, a, b, [bias], [residual] (lower.c adds them in order) */
  if (ir_get_int(g, n, "bias")) m.bias = 3;
  if (ir_get_int(g, n, "residual")) m.res = n->nin;
  m.act = ir_matmul_act(g, n);
  int64_t scr_floats;
  m.scr = ir_matmul_packs_a(g, n, &scr_floats) ? cg_scratch(L) : K_NONE;
  m.pmr = m.plan.kn_mr;
  const Node *bp = &g->nodes[g->values[n->in[1]].node];
  if (bp->op == OP_CONST) m.panel = ir_layout_panel(ir_get_str(g, bp, "layout"));
  /* A packed constant comes from the layout pass, for some target; IR
   * text can hand any one to any target, and any matmul. */
  if (m.panel && (tb || sb->rank != 2)) {
    L->why = "a constant packed in panels must be the b of a matmul "
             "without transpose_b, of rank 2";
    return -1;
  }
  int V = m.plan.kn_nv;
  while (m.panel && V > 1 && m.panel % (V * L->lanes)) V--; /* tiles in a panel */
  if (m.panel && m.panel % L->lanes) {
    snprintf(L->why_buf, sizeof L->why_buf,
             "b is packed in panels of %d, which %d-lane vectors do not divide "
             "(this target's kernels read panels of %d: run loom opt for it)",
             m.panel, L->lanes, L->t->plan.panel);
    L->why = L->why_buf;
    return -1;
  }
  int R = so->rank;
  m.M = cg_dim(L, so->d[R - 2]);
  m.N = cg_dim(L, so->d[R - 1]);
  m.K = cg_dim(L, sa->d[sa->rank - (ta ? 2 : 1)]);

  /* Batch loops: one per leading dim, offsets accumulated; none when b
   * is a matrix and a is not transposed or broadcast: one GEMM of B·S
   * rows. */
  int nb = R - 2;
  m.oo = m.ao = m.bo = k_i64(k, 0);
  if (nb > 0 && sb->rank == 2 && !ta && sa->rank == R) {
    for (int i = 0; i < nb; i++) m.M = k_mul(k, m.M, cg_dim(L, so->d[i]));
    int64_t c;
    if (!k_is_const(k, m.M, &c)) m.M = k_var(k, k_let(k, "rows", m.M));
    nb = 0;
  }
  uint32_t sto[IR_MAX_RANK], sta[IR_MAX_RANK], stb[IR_MAX_RANK];
  cg_strides(L, so, sto);
  batch_strides(L, sa, so, sta);
  batch_strides(L, sb, so, stb);
  for (int i = 0; i < nb; i++) {
    uint32_t bi = k_var(k, k_for(k, "b", k_i64(k, 0), cg_dim(L, so->d[i]), 1, i == 0));
    m.oo = k_var(k, k_let(k, "oo", k_add(k, m.oo, k_mul(k, bi, sto[i]))));
    m.ao = k_var(k, k_let(k, "ao", k_add(k, m.ao, k_mul(k, bi, sta[i]))));
    m.bo = k_var(k, k_let(k, "bo", k_add(k, m.bo, k_mul(k, bi, stb[i]))));
  }
  bool par_rows = nb == 0; /* row blocks: their column loop, as a matrix's */
  IR_ASSERT(m.plan.kn_mr <= MAXR && m.plan.kn_nv <= MAXV &&
            m.plan.nk_mr <= MAXR && m.plan.nk_nc <= MAXR);
  if (!tb) {
    IR_ASSERT(m.scr == K_NONE || nb == 0);
    if (m.scr != K_NONE) pack_a(&m, par_rows);
    blocks_kn(&m, m.plan.kn_mr, V, par_rows);
  } else if (!ta) {
    int MR = m.plan.nk_mr, C = m.plan.nk_nc;
    uint32_t m1 = k_floor_to(k, m.M, MR);
    rows_nk(&m, k_i64(k, 0), m1, MR, C, par_rows);
    rows_nk(&m, m1, m.M, 1, C, par_rows);
  } else {
    naive(&m, par_rows);
  }
  for (int i = 0; i < nb; i++) k_end(k);
  return 0;
}
