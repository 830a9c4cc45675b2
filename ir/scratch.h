/* scratch.h — working memory a kernel needs besides its operands and
 * result, as part of the memory plan (plan-memory reserves it, codegen
 * passes it to the kernel as one more buffer).
 *
 * Attention's flash-style kernel keeps, per head, one block of queries
 * transposed, one block of scores and the block's output accumulator in
 * a small region that stays in L1/L2 — never the Sq × Sk matrix.  A
 * matmul packs its a there: in row tiles for the f32 GEMM, as bf16 pairs
 * for the bf16 one.  The sizes are described here, once, for the pass
 * that sizes the region and the lowering that uses it.
 */
#ifndef LOOM_IR_SCRATCH_H
#define LOOM_IR_SCRATCH_H

#include "ir/ir.h"
#include "ir/target.h"

/* attention's scratch, in f32 elements: for each of the BH heads (leading
 * dims × H) a block of `per_bh` floats at bh · per_bh:
 *   qt   [D, bq]   the query block, transposed and scaled
 *   st   [bk, bq]  scores, then probabilities, of one key block
 *   ot   [Dv, bq]  the output accumulator, transposed
 *   m, l [bq]      running max and sum per query
 *   iota [bq]      0, 1, 2, ... (the query index of each lane, for masks) */
typedef struct {
  int64_t bq, bk;                  /* query and key block (the tile plan) */
  int64_t qt, st, ot, m, l, iota;  /* offsets within a head's block */
  int64_t per_bh, bh;              /* floats per head, heads */
  int64_t bytes;                   /* the whole region */
} AttnScratch;

/* The scratch of attention node n with the blocks of plan p (NULL: the
 * default 64 × 64).  Symbolic dims at their bounds. */
void ir_attention_scratch(const Graph *g, const Node *n, const TilePlan *p,
                          AttnScratch *s);
/* Whether f32 matmul node n's kernel packs a into its scratch
 * (lower_matmul.c): b [K, N] (no transpose_b) and no batch loop around
 * the GEMM — a matrix, or a batch of rows folded into one.  *floats gets
 * the scratch it needs: every row of the GEMM (batch·M when folded)
 * times K, symbolic dims at their bounds — address space: a run touches
 * the pages of the rows it has. */
bool ir_matmul_packs_a(const Graph *g, const Node *n, int64_t *floats);

/* Bytes of scratch node n's kernel needs (0 for most ops): attention's
 * blocks; a bf16 matmul's a as bf16 pairs [rows, ceil(K/2)]; an f32
 * matmul's a packed in row tiles (ir_matmul_packs_a). */
int64_t ir_scratch_bytes(const Graph *g, const Node *n, const TilePlan *p);

#endif
