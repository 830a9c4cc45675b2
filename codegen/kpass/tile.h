/* tile.h — the tile plan of a target and of each kernel (see ir/target.h's
 * TilePlan), and the kernel-level passes. */
#ifndef LOOM_CODEGEN_KPASS_TILE_H
#define LOOM_CODEGEN_KPASS_TILE_H

#include <stddef.h>

#include "ir/ir.h"
#include "ir/target.h"

/* Fill t->plan from t's vector width and caches. */
void cg_tile_plan(Target *t);
/* The plan for kernels built `lanes` wide for t (t->plan at t->lanes);
 * the panel width is always t's. */
void cg_tile_plan_at(const Target *t, int lanes, TilePlan *p);
/* Replace t's cache sizes (bytes; 0 keeps one) and refill its plan:
 * --l1, --l2, --l3. */
void cg_tile_set_caches(Target *t, int64_t l1d, int64_t l2, int64_t l3);

/* The `tile` pass on node n: the plan of its kernel built `lanes` wide —
 * cg_tile_plan_at's, with the blocks fitted to n's shapes. */
void cg_tile_node(const Graph *g, const Node *n, const Target *t, int lanes,
                  TilePlan *p);
/* One line saying n's kernel's tiles ("" for kernels without any). */
void cg_tile_text(const Graph *g, const Node *n, const TilePlan *p,
                  char *buf, size_t cap);

/* The kernel-level passes, in the order they run ({NULL}-terminated):
 * what `loom opt --list-passes` lists after the graph passes.  They run
 * on every kernel of every compile. */
typedef struct {
  const char *name, *summary;
} KPassInfo;
extern const KPassInfo cg_kpasses[];

/* The bf16 fields of p (pair, bf_mr, bf_nv) for kernels `lanes` wide on
 * t (codegen/kpass/tile_bf16.c). */
void cg_tile_plan_bf16(const Target *t, int lanes, TilePlan *p);
/* The bf16 matmul kernel t gets at `lanes`: "avx512bf16" (vdpbf16ps) or
 * "portable" (shift + fma) — the one place that chooses. */
const char *cg_bf16_kernel_kind(const Target *t, int lanes);

#endif
