/* layout.c — constant matmul operands packed, at compile time, into the
 * layout the GEMM micro-kernel reads.
 *
 *   %w = weight : f32[N, K]                %w.packed = const {layout = panel48}
 *   %y = matmul %x, %w              ->                 : f32[K, N]
 *          {transpose_b = true}            %y = matmul %x, %w.packed
 *
 * The register tile of the matmul kernel (codegen/lower/lower_matmul.c) covers P
 * columns of b at a time (P = panel, from the target: 48 with
 * AVX-512).  Stored row-major, b's row k of a tile is P floats out of a
 * row of N: every k step touches a new cache line region N·4 bytes away.
 * Packed as ceil(N/P) panels of [K, P] (the last zero-padded), a tile
 * streams one contiguous panel.  A weight stored transposed (nn.Linear's
 * [out, in]) is transposed on the way, so the kernel never takes the
 * slower dot-product path for a constant b.
 *
 * Activations: a matmul reading a transposed activation (Q·Kᵀ) that a
 * transpose produces gets it in [K, N] order from that transpose instead
 * (its permutation absorbs transpose_b), so no transpose is added.
 *
 * With --dtype bf16 (ctx->dtype) the b of a matmul is packed instead as
 * bf16, rounded to nearest even, in the pairP layout (ir.h) that every
 * bf16 kernel reads (lower_matmul_bf16.c) — a const of dtype bf16, so
 * the interpreter computes the same meaning:
 *
 *   %w = weight : f32[N, K]                %w.pairs = const {layout = pair32}
 *   %y = matmul %x, %w              ->                : bf16[K, N]
 *          {transpose_b = true}            %y = matmul %x, %w.pairs
 *
 * A matmul reading a transposed (transpose_a) keeps f32 panels.
 *
 * The layout is recorded on the constant (`layout = panelP`); the weights
 * file holds it as packed.  The b of a matmul is packed when it is a
 * weight or a row-major constant of rank 2 with data; one packed constant
 * serves every matmul that reads the same b the same way.  Other uses of
 * the original keep it (dce removes it when nothing does).
 */
#include <stdio.h>
#include <string.h>

#include "passes/pass.h"
#include "runtime/parallel.h"

static bool packable(const Graph *g, uint32_t v) {
  const Node *p = &g->nodes[g->values[v].node];
  const Value *val = &g->values[v];
  if (val->shape.rank != 2 || val->dtype != DT_F32 || !val->data) return false;
  if (p->op == OP_WEIGHT) return true;
  return p->op == OP_CONST && ir_layout_panel(ir_get_str(g, p, "layout")) == 0;
}

/* Panels [lo, hi) of a packing (a parallel-for body). */
typedef struct {
  const float *src;
  float *dst;
  int64_t K, N, P;
  bool tb;
} PackJob;

static void pack_panels(void *ctx, int64_t lo, int64_t hi) {
  const PackJob *j = ctx;
  int64_t K = j->K, N = j->N, P = j->P;
  const float *src = j->src;
  /* Panel by panel, k in blocks of 64, so that both the rows read and the
   * panel rows written stay in L1 (a transposing copy otherwise misses on
   * every element). */
  for (int64_t p = lo; p < hi; p++) {
    float *panel = j->dst + p * K * P;
    int64_t j0 = p * P, width = N - j0 < P ? N - j0 : P;
    for (int64_t k0 = 0; k0 < K; k0 += 64) {
      int64_t k1 = k0 + 64 < K ? k0 + 64 : K;
      if (j->tb) {
        for (int64_t jj = 0; jj < width; jj++)
          for (int64_t k = k0; k < k1; k++)
            panel[k * P + jj] = src[(j0 + jj) * K + k];
      } else {
        for (int64_t k = k0; k < k1; k++)
          memcpy(panel + k * P, src + k * N + j0, (size_t)width * sizeof *src);
      }
    }
  }
}

/* A new const: b (or bᵀ) [K, N] as panels of [K, P], the panels shared
 * among the threads (BERT-base packs 340 MB: the bulk of a cold load's
 * passes); then b's data is done with (PassCtx.done_reading). */
static uint32_t pack(Graph *g, uint32_t b, bool tb, int P, uint32_t pos,
                     const PassCtx *ctx) {
  const Value *bv = &g->values[b];
  int64_t r = bv->shape.d[0].c, c = bv->shape.d[1].c;
  int64_t K = tb ? c : r, N = tb ? r : c;
  int64_t panels = (N + P - 1) / P;
  float *dst = ir_alloc(g->arena, (size_t)(panels * K * P) * sizeof *dst);
  PackJob job = {bv->data, dst, K, N, P, tb};
  loom_parallel_for(pack_panels, &job, 0, panels, 1);
  if (ctx->done_reading)
    ctx->done_reading(ctx->done_arg, bv->data, (size_t)(K * N) * sizeof *dst);
  char name[512];
  snprintf(name, sizeof name, "%s.packed%s", bv->name ? bv->name : "c",
           tb ? "_t" : "");
  Shape s = ir_shape(2, (int64_t[]){K, N});
  Loc loc = g->nodes[bv->node].loc;
  uint32_t v = ir_add_source(g, OP_CONST, name, DT_F32, &s, loc);
  uint32_t node = g->values[v].node;
  g->nodes[node].pos = pos;
  char layout[32];
  snprintf(layout, sizeof layout, "panel%d", P);
  ir_set_str(g, node, "layout", layout);
  g->values[v].data = dst;
  return v;
}

/* A new const: b (or bᵀ) [K, N] as bf16 in the pairP layout. */
static uint32_t pack_pairs(Graph *g, uint32_t b, bool tb, int P, uint32_t pos) {
  const Value *bv = &g->values[b];
  int64_t r = bv->shape.d[0].c, c = bv->shape.d[1].c;
  int64_t K = tb ? c : r, N = tb ? r : c;
  Shape s = ir_shape(2, (int64_t[]){K, N});
  Loc loc = g->nodes[bv->node].loc;
  char name[512];
  snprintf(name, sizeof name, "%s.pairs%s", bv->name ? bv->name : "c",
           tb ? "_t" : "");
  uint32_t v = ir_add_source(g, OP_CONST, name, DT_BF16, &s, loc);
  uint32_t node = g->values[v].node;
  g->nodes[node].pos = pos;
  char layout[32];
  snprintf(layout, sizeof layout, "pair%d", P);
  ir_set_str(g, node, "layout", layout);
  bv = &g->values[b];
  int64_t bytes = ir_const_bytes(g, &g->values[v], layout);
  uint16_t *dst = ir_alloc(g->arena, (size_t)bytes); /* zeroed: the padding */
  const float *src = bv->data;
  /* row by row of the source, so its reads stream (the writes stride) */
  if (tb) {
    for (int64_t j = 0; j < N; j++)
      for (int64_t k = 0; k < K; k++)
        dst[ir_pair_index(K, P, k, j)] = ir_bf16_round(src[j * K + k]);
  } else {
    for (int64_t k = 0; k < K; k++)
      for (int64_t j = 0; j < N; j++)
        dst[ir_pair_index(K, P, k, j)] = ir_bf16_round(src[k * N + j]);
  }
  g->values[v].data = dst;
  return v;
}

/* An activation b read transposed (Q·Kᵀ) that a transpose makes: make
 * the transpose produce bᵀ instead, so the matmul reads b [K, N] with the
 * broadcast-a kernel rather than dot products.  The transpose costs the
 * same either way.  Only when the transpose has no other user. */
static bool untranspose_b(Graph *g, const uint32_t *uses, uint32_t i) {
  Node *m = &g->nodes[i];
  uint32_t b = m->in[1];
  Node *t = &g->nodes[g->values[b].node];
  if (!ir_get_int(g, m, "transpose_b") || t->op != OP_TRANSPOSE ||
      uses[b] != 1)
    return false;
  const Attr *perm = ir_get_attr(t, "perm");
  int r = perm->n;
  if (r < 2) return false;
  int64_t swapped[IR_MAX_RANK];
  memcpy(swapped, perm->ints, sizeof(int64_t) * (size_t)r);
  swapped[r - 2] = perm->ints[r - 1];
  swapped[r - 1] = perm->ints[r - 2];
  uint32_t tid = g->values[b].node;
  ir_set_ints(g, tid, "perm", swapped, r);
  Diag d = {0};
  IR_ASSERT(ir_infer(g, tid, &d) == 0);
  g->nodes[i].attr[ir_attr_index(OP_MATMUL, "transpose_b")].set = false;
  IR_ASSERT(ir_infer(g, i, &d) == 0);
  return true;
}

int pass_layout(Graph *g, PassCtx *ctx, Diag *d) {
  (void)d;
  int panel = ctx && ctx->target ? ctx->target->plan.panel : 0;
  if (panel <= 0) return 0;
  bool changed = false;
  uint32_t n = g->n_nodes, nv = g->n_values;
  /* Uses do not change below: untranspose_b rewrites a perm, packing
   * moves a matmul's b to a new const. */
  uint32_t *uses = ir_use_counts(g);
  for (uint32_t i = 0; i < n; i++)
    if (!g->nodes[i].dead && g->nodes[i].op == OP_MATMUL)
      changed |= untranspose_b(g, uses, i);
  free(uses);
  /* done[4 * v + 2 * tb + pairs]: the packed const of value v (< nv)
   * read that way, as f32 panels or bf16 pairs */
  uint32_t *done = malloc(4 * (nv ? nv : 1) * sizeof *done);
  IR_ASSERT(done);
  for (uint32_t v = 0; v < 4 * nv; v++) done[v] = IR_NONE;
  for (uint32_t i = 0; i < n; i++) {
    Node *m = &g->nodes[i];
    if (m->dead || m->op != OP_MATMUL || !packable(g, m->in[1])) continue;
    bool tb = ir_get_int(g, m, "transpose_b");
    bool pairs = ctx->dtype == DT_BF16 && ctx->target->plan.pair > 0 &&
                 !ir_get_int(g, m, "transpose_a");
    uint32_t b = m->in[1];
    uint32_t *slot = &done[4 * b + 2 * tb + pairs];
    uint32_t packed = *slot;
    uint32_t pos = g->nodes[g->values[b].node].pos;
    if (packed == IR_NONE)
      packed = *slot = pairs ? pack_pairs(g, b, tb, ctx->target->plan.pair, pos)
                                        : pack(g, b, tb, panel, pos, ctx);
    m = &g->nodes[i]; /* pack() may have grown the node array */
    m->in[1] = packed;
    if (tb) m->attr[ir_attr_index(OP_MATMUL, "transpose_b")].set = false;
    changed = true;
  }
  free(done);
  if (changed) ir_compact(g);
  return 0;
}
