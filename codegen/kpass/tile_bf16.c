/* tile_bf16.c — the bf16 matmul's numbers in the tile plan (ir/target.h).
 *
 * The pairP panel is 32 columns wide on every target, so that one packed
 * weights file serves every bf16 kernel (a run-time fallback from one
 * kernel to another never repacks): 32 columns are two 16-lane vectors of
 * vdpbf16ps, two AMX B tiles of 16 columns, and a whole number of vectors
 * at every narrower width.
 *
 * Register tile, AVX-512-BF16: bf_mr rows x 2 vectors of 16 fp32
 * accumulators — 12 x 2 = 24 of the 32 zmm registers, plus the two vectors
 * of b pairs; the a pair of a row is a broadcast memory operand.  Portable
 * kernels (bf16 -> f32 by a shift, then fma) take the fp32 plan's rows
 * and as many vectors as divide the panel.
 */
#include "codegen/kpass/tile.h"

#include <string.h>

const char *cg_bf16_kernel_kind(const Target *t, int lanes) {
  return lanes == 16 && (t->features & TF_AVX512BF16) ? "avx512bf16" : "portable";
}

void cg_tile_plan_bf16(const Target *t, int lanes, TilePlan *p) {
  p->pair = 32;
  if (strcmp(cg_bf16_kernel_kind(t, lanes), "avx512bf16") == 0) {
    p->bf_mr = 12;
    p->bf_nv = 2;
    return;
  }
  TilePlan f;
  cg_tile_plan_at(t, lanes, &f);
  p->bf_mr = f.kn_mr;
  p->bf_nv = f.kn_nv;
  while (p->bf_nv > 1 && p->pair % (p->bf_nv * lanes)) p->bf_nv--;
}
