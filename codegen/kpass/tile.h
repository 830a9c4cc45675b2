/* tile.h — the tile plan of a target (see ir/target.h's TilePlan). */
#ifndef LOOM_CODEGEN_KPASS_TILE_H
#define LOOM_CODEGEN_KPASS_TILE_H

#include "ir/target.h"

/* Fill t->plan from t's vector width and caches. */
void cg_tile_plan(Target *t);
/* The plan for kernels built `lanes` wide for t (t->plan at t->lanes);
 * the panel width is always t's. */
void cg_tile_plan_at(const Target *t, int lanes, TilePlan *p);
/* The bf16 fields of p (pair, bf_mr, bf_nv) for kernels `lanes` wide on
 * t (codegen/kpass/tile_bf16.c). */
void cg_tile_plan_bf16(const Target *t, int lanes, TilePlan *p);
/* The bf16 matmul kernel t gets at `lanes`: "avx512bf16" (vdpbf16ps) or
 * "portable" (shift + fma) — the one place that chooses. */
const char *cg_bf16_kernel_kind(const Target *t, int lanes);

#endif
