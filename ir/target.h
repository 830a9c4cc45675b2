/* target.h — what the generated code may assume about the CPU, and the
 * tile plan the kernels are blocked by.
 *
 * One Target is resolved per compile (codegen/cpu.c: detected from the
 * host or named with --target) and handed, the same struct, to the graph
 * passes (PassCtx: the layout pass packs weights in the plan's panel
 * width) and to lowering (the register tile and K block of every matmul).
 * The types live here, in ir/, because both passes/ and codegen/ read
 * them; only codegen/ fills them.
 *
 * Every matmul tile number is in TilePlan and nowhere else: the numbers
 * come from the vector registers and the caches (codegen/kpass/tile.c,
 * the `tile` kernel pass, which also fits them to each kernel's shapes).
 * The cache sizes are the host's (sysfs) or --l1/--l2/--l3.
 */
#ifndef LOOM_IR_TARGET_H
#define LOOM_IR_TARGET_H

#include <stdint.h>

/* The blocking of the matmul kernels at one vector width. */
typedef struct {
  int lanes;        /* f32 lanes of the vectors this plan is for */
  /* b [K, N] (row-major or packed): an MR x NV·lanes block of the output
   * in MR·NV vector accumulators across the K loop */
  int kn_mr, kn_nv;
  /* b [N, K] (transposed): an MR x NC block of dot products */
  int nk_mr, nk_nc;
  int64_t kc;       /* K block: kc rows of a panel fill half of L1 */
  int64_t mc;       /* M block: mc rows of a (mc·kc floats) fill 3/4 of
                       L2; a multiple of kn_mr */
  int64_t prefetch; /* packed b's rows are prefetched this many rows
                       ahead (kc: the next K block); 0: none */
  int panel;        /* the packed panel width P every plan of a target
                       shares (the layout pass packs constants so):
                       kn_nv · the target's lanes */
  /* attention (lower_attention.c): blocks of att_bq queries × att_bk
   * keys; the same at every width, since the scratch they size is
   * planned once for a node's vector and scalar kernels */
  int64_t att_bq, att_bk;
  /* bf16 matmuls (codegen/kpass/tile_bf16.c, lower_matmul_bf16.c): the
   * width P of the pairP layout every bf16 kernel reads (ir.h), and the
   * register tile — bf_mr rows x bf_nv vectors of pairs */
  int pair;
  int bf_mr, bf_nv;
} TilePlan;

/* Features beyond the ISA level (Target.features), from CPUID and XCR0
 * or named with --target NAME+avx512bf16+amx. */
enum {
  TF_AVX512BF16 = 1 << 0, /* vdpbf16ps (needs 16 lanes: AVX-512) */
  TF_AMX = 1 << 1,        /* amx-tile + amx-bf16, tile state in XCR0 */
};

typedef struct {
  const char *name;     /* "x86-64-v4", "x86-64-v3", "x86-64-v2", "generic" */
  const char *cpu;      /* LLVM CPU name: the host's, or "x86-64-v4", ... */
  const char *cflags;   /* C compiler flags: "-march=x86-64-v4", "" */
  int lanes;            /* f32 lanes of a vector: 16, 8, 4, 1 */
  int64_t l1d, l2, l3;  /* data cache sizes in bytes */
  int native;           /* detected from this host */
  TilePlan plan;        /* at `lanes`; kernels built narrower (the emitted
                           C's scalar variant) get cg_tile_plan_at's */
  unsigned features;    /* TF_* */
  const char *features_llvm; /* "+avx512bf16,..." for a named target's
                                LLVM target machine ("" for none) */
} Target;

#endif
