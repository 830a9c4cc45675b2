/* program.h — a lowered model: kernels, buffers, and the calls between.
 *
 * cg_program turns a checked Graph IR into what both backends emit:
 *   - the unique kernels (each built twice: for the target's vector width
 *     and for width 1, the scalar path of the portable C);
 *   - where every value lives: a caller's input or output buffer, the
 *     weights blob (at a byte offset), or the activation arena (at a byte
 *     offset chosen by liveness, sized for symbolic dims at their bounds);
 *     a reshape is a view of its operand and gets no storage of its own;
 *   - the steps: one kernel call per node, with its arguments.
 */
#ifndef LOOM_CODEGEN_PROGRAM_H
#define LOOM_CODEGEN_PROGRAM_H

#include "codegen/kir/kir.h"
#include "codegen/lower/lower.h"
#include "codegen/cpu.h"
#include "ir/ir.h"

typedef enum {
  PS_INPUT,  /* index: which graph input (input-node order) */
  PS_OUTPUT, /* index: which graph output */
  PS_WEIGHT, /* offset: byte offset in the weights blob */
  PS_ARENA,  /* offset: byte offset in the arena */
} PStoreKind;

typedef struct {
  PStoreKind kind;
  uint32_t index;
  int64_t offset;
} PStore;

typedef struct {
  uint32_t kernel;  /* index into Program.kernels */
  uint32_t node;    /* the graph node it computes */
  uint32_t n_args;
  KBind *args;      /* what each kernel parameter takes */
} PStep;

typedef struct {
  Kernel *vec;      /* built for the target's lanes */
  Kernel *scalar;   /* built for lanes = 1 (== vec when the target has 1) */
  char *name;       /* "k3_matmul" */
  uint32_t uses;    /* how many steps call it */
} PKernel;

typedef struct {
  const Graph *g;
  Target target;
  PKernel *kernels;
  uint32_t n_kernels;
  PStep *steps;
  uint32_t n_steps;
  PStore *store;       /* per value id */
  int64_t arena_bytes; /* peak activation memory */
  int64_t weight_bytes;
  uint32_t *weights;   /* value ids of weights in blob order */
  uint32_t n_weights;
} Program;

Program *cg_program(const Graph *g, const Target *t, Diag *d);
/* The same with only the vector kernels (PKernel.scalar == .vec): for
 * code that runs on this host (the JIT), never the scalar fallback. */
Program *cg_program_vec(const Graph *g, const Target *t, Diag *d);
void cg_program_free(Program *p);

/* The weights blob as the kernels read it: each weight (f32) at its
 * offset, 64-byte aligned. */
int cg_write_weights(const Program *p, FILE *f);
/* Whether a and b's weights files would be the same bytes (the same
 * tensors in the same layout, with the same data). */
bool cg_same_weights(const Program *a, const Program *b);

/* Bit c set when kernel k can return code c (a KS_CHECK): the codes a
 * step's failure message must cover, in either backend's glue. */
uint32_t cg_kernel_codes(const Kernel *k);
/* "FILE:LINE:COL" (or "FILE", or "") of a node: where a step's failure
 * is reported, in either backend's glue. */
void cg_loc_text(Loc loc, char *buf, size_t cap);

#endif
