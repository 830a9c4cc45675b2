/* tile.c — the `tile` kernel pass: every blocking number, from the
 * target's vector registers and cache sizes, refined per kernel from its
 * shapes.
 *
 * Two levels.  cg_tile_plan fills the target's plan (Target.plan) once
 * the target is resolved: what the graph passes must agree on before any
 * kernel exists — the panel width the layout pass packs weights in, and
 * the attention blocks the memory plan sizes scratch for.  cg_tile_node,
 * the pass proper, runs on every node before it is lowered and returns
 * the plan of that kernel: the target's, with the K and M blocks fitted
 * to its shapes.  `loom dump --kernels` prints each kernel's plan
 * (cg_tile_text), and `loom opt --list-passes` lists the pass.
 *
 * Register tile, b [K, N]: MR rows x NV vectors of accumulators, plus NV
 * vectors of b and one broadcast of a in flight.  With 32 vector registers
 * (AVX-512, 16 lanes) 8 x 3 = 24 accumulators — the 8x48 tile of
 * TOOLCHAIN.md; with 16 registers (AVX2, SSE) 4 x 3 (4 x 2 at 4 lanes);
 * at 1 lane (scalar C) 4 x 4.  The packed panel width is NV · lanes, so a
 * tile reads one contiguous panel row per k; the scalar variant of the
 * same program reads the same panels (its NV · 1 divides them).
 *
 * Register tile, b [N, K] (dot products along K): MR x NC accumulators.
 *
 * K block (L1): kc rows of one panel (kc · NV · lanes floats) are one
 * and a half times L1; between 64 and 1024, a multiple of 8.  They need
 * not stay in L1: a tile reads NV vectors of them per MR · NV FMAs (192
 * bytes per 24 FMAs at 8 x 48), which L2 delivers with room to spare.
 * What a K block costs is its end: every block reloads and stores the
 * output tile and drains the FMA chains, so longer blocks pay less.
 * Measured (bench/gemm.py, 1 thread, AMD EPYC with a 32K L1d, medians of
 * 5 interleaved rounds): the three BERT-base GEMMs at kc 80 (half of L1)
 * ran at 86-90% of peak, at kc 256 (1.5 x L1) 93-96%, and no faster at
 * kc 336 to 768.  Per kernel, a static K is cut into equal blocks no
 * longer than that (K = 768 at kc 320: 3 × 256, not 320 + 320 + 128), so
 * no block is a short one.
 *
 * M block (L2): mc rows of a fill three quarters of L2, so the block of
 * a that every column panel streams past stays in L2; a multiple of MR.
 * A column panel reads all K of each row (mc · K floats), so a kernel
 * with a static K is fitted to it; the target's plan assumes K = kc.  A
 * matmul with more rows than mc walks them in blocks of mc, outermost,
 * and streams b once per block.  Three quarters, not half: a is packed
 * (lower_matmul.c) and read as one stream, and besides it L2 holds only
 * the panel rows of b in flight and a column panel of the output; at
 * half, [128, 3072]×[3072, 768] ran as 80 + 48 rows and read its 9.4 MB
 * b twice, ~5% slower (1 thread, CPU time, a C model of the kernel).  (The N direction needs no block of its own: a column panel
 * [kc, NV · lanes] is the unit, and the parallel loop.)
 *
 * Prefetch (L2): a b larger than twice L2 streams from L3 or memory once
 * per M block, and the first row tile of each K block waits for it; the
 * micro-kernel then fetches the panel rows one K block ahead into L2
 * (packed b only: panels are contiguous, so past the last K block this
 * is the next panel).  Measured (bench/gemm.py, 1 thread, CPU time):
 * +3% on [128, 768]×[768, 3072], +12% on [128, 3072]×[3072, 768]; on
 * [768, 768] (2.4 MB) it cost 8%, hence the threshold.
 *
 * Attention (L1): blocks of att_bq queries × att_bk keys.  att_bq is 64
 * (a multiple of 4 vectors at every width up to 16 lanes; TOOLCHAIN.md
 * measured 32-row query blocks slower); att_bk keys make the score block
 * (att_bq · att_bk floats) a third of L1 — 64 at 48 KiB, the 64 × 64
 * TOOLCHAIN.md measured best — between 16 and 256, a multiple of 16.
 */
#include "codegen/kpass/tile.h"

#include <stdio.h>

static int64_t clamp_mult(int64_t v, int64_t lo, int64_t hi, int64_t mult) {
  v = v < lo ? lo : v > hi ? hi : v;
  return v / mult * mult;
}

void cg_tile_plan_at(const Target *t, int lanes, TilePlan *p) {
  p->lanes = lanes;
  p->kn_mr = lanes >= 16 ? 8 : 4;
  p->kn_nv = lanes >= 8 ? 3 : lanes == 4 ? 2 : 4;
  p->nk_mr = 4;
  p->nk_nc = lanes >= 16 ? 6 : 4;
  p->kc = clamp_mult(t->l1d * 3 / 2 / ((int64_t)p->kn_nv * lanes * 4), 64, 1024, 8);
  p->mc = clamp_mult(t->l2 / 4 * 3 / (p->kc * 4), p->kn_mr, 1 << 20, p->kn_mr);
  p->prefetch = 0;
  p->panel = t->plan.panel;
  p->att_bq = 64;
  p->att_bk = clamp_mult(t->l1d / 3 / (p->att_bq * 4), 16, 256, 16);
}

void cg_tile_plan(Target *t) {
  t->plan.panel = 0;
  cg_tile_plan_at(t, t->lanes, &t->plan);
  t->plan.panel = t->plan.kn_nv * t->lanes;
}

void cg_tile_set_caches(Target *t, int64_t l1d, int64_t l2, int64_t l3) {
  if (l1d > 0) t->l1d = l1d;
  if (l2 > 0) t->l2 = l2;
  if (l3 > 0) t->l3 = l3;
  cg_tile_plan(t);
}

void cg_tile_node(const Graph *g, const Node *n, const Target *t, int lanes,
                  TilePlan *p) {
  cg_tile_plan_at(t, lanes, p);
  if (n->op != OP_MATMUL) return;
  const Shape *sa = &g->values[n->in[0]].shape;
  Dim K = sa->d[sa->rank - (ir_get_int(g, n, "transpose_a") ? 2 : 1)];
  if (!ir_dim_static(K)) return;
  if (K.c > p->kc) {
    int64_t blocks = (K.c + p->kc - 1) / p->kc;
    p->kc = ((K.c + blocks - 1) / blocks + 7) / 8 * 8;
  }
  /* a b beyond twice L2 streams from L3 or memory: prefetch it a K block
   * ahead (measured: +12% on [768, 3072] and [3072, 768]; on [768, 768],
   * 2.4 MB, it cost 8%) */
  const Shape *sb = &g->values[n->in[1]].shape;
  Dim N = sb->d[sb->rank - (ir_get_int(g, n, "transpose_b") ? 2 : 1)];
  const Node *bn = &g->nodes[g->values[n->in[1]].node];
  bool packed = bn->op == OP_CONST && ir_layout_panel(ir_get_str(g, bn, "layout"));
  if (packed && ir_dim_static(N) && K.c * N.c * 4 > 2 * t->l2)
    p->prefetch = p->kc;
  /* every column panel streams past mc rows of a, all K of them */
  p->mc = clamp_mult(t->l2 / 4 * 3 / (K.c * 4), p->kn_mr, 1 << 20, p->kn_mr);
}

void cg_tile_text(const Graph *g, const Node *n, const TilePlan *p,
                  char *buf, size_t cap) {
  if (n->op == OP_MATMUL && ir_get_int(g, n, "transpose_b"))
    snprintf(buf, cap, "tiles: register %dx%d dot products (b [N, K])",
             p->nk_mr, p->nk_nc);
  else if (n->op == OP_MATMUL)
    snprintf(buf, cap, "tiles: register %dx%d, kc %lld (L1), mc %lld (L2)%s",
             p->kn_mr, p->kn_nv * p->lanes, (long long)p->kc,
             (long long)p->mc, p->prefetch ? ", b prefetched a K block ahead" : "");
  else if (n->op == OP_ATTENTION)
    snprintf(buf, cap, "tiles: %lld queries x %lld keys (L1)",
             (long long)p->att_bq, (long long)p->att_bk);
  else
    buf[0] = 0;
}

const KPassInfo cg_kpasses[] = {
    {"tile", "blocks every matmul and attention kernel for the target's "
             "vector registers and L1/L2 caches (--l1, --l2)"},
    {NULL, NULL},
};
