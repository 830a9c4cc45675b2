/* tile.c — the tile plan: every matmul blocking number, from the target.
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
 * Attention blocks: att_bq queries × att_bk keys (see cg_tile_plan_at).
 *
 * K block: kc rows of one panel (kc · NV · lanes floats) fill half of L1,
 * so the panel rows a tile reads come from L1 for every row block; kept
 * between 64 and 1024, a multiple of 8.
 *
 * The performance work (the `tile` kernel pass) refines this plan from
 * the shapes; today it depends on the target alone.
 */
#include "codegen/kpass/tile.h"

void cg_tile_plan_at(const Target *t, int lanes, TilePlan *p) {
  p->lanes = lanes;
  p->kn_mr = lanes >= 16 ? 8 : 4;
  p->kn_nv = lanes >= 8 ? 3 : lanes == 4 ? 2 : 4;
  p->nk_mr = 4;
  p->nk_nc = lanes >= 16 ? 6 : 4;
  int64_t kc = t->l1d / 2 / ((int64_t)p->kn_nv * lanes * 4);
  p->kc = kc < 64 ? 64 : kc > 1024 ? 1024 : kc & ~(int64_t)7;
  p->panel = t->plan.panel;
  /* Attention: 64 queries × 64 keys — the score block (16 KiB) and the
   * query and output blocks (16 KiB each at d_head 64) stay in L1/L2;
   * TOOLCHAIN.md measured 64 × 64 best, 32-row query blocks slower.  A
   * multiple of 4 vectors at every width up to 16 lanes. */
  p->att_bq = 64;
  p->att_bk = 64;
}

void cg_tile_plan(Target *t) {
  t->plan.panel = 0;
  cg_tile_plan_at(t, t->lanes, &t->plan);
  t->plan.panel = t->plan.kn_nv * t->lanes;
}
