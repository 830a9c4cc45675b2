/* lower.h — Graph IR nodes to Kernel IR kernels.
 *
 * cg_lower_node builds the kernel that computes one graph node (later: one
 * fused group) for a given vector width.  The kernel's parameters are, in
 * order: the node's results (written buffers), its operands (read
 * buffers), then one i64 per symbolic dimension the shapes use.  The
 * returned bindings say which graph value or symbol each parameter takes,
 * so the caller (codegen/program.c) can call the kernel for every node that
 * lowers to the same text.
 *
 * Static dimensions become constants in the kernel; symbolic ones become
 * i64 parameters named after their symbol.
 */
#ifndef LOOM_CODEGEN_LOWER_H
#define LOOM_CODEGEN_LOWER_H

#include "codegen/kir/kir.h"
#include "codegen/cpu.h"
#include "ir/ir.h"

/* KB_SCRATCH: the kernel's scratch region (ir/scratch.h); cg_program
 * turns it into a KB_VALUE of a storage slot past the graph's values. */
typedef enum { KB_VALUE, KB_SYM, KB_SCRATCH } KBindKind;

typedef struct {
  KBindKind kind;
  uint32_t id; /* a value id (KB_VALUE) or a symbol index (KB_SYM) */
} KBind;

/* Kernel return codes (KS_CHECK). */
enum { K_ERR_GATHER_RANGE = 1, K_ERR_SLICE_RANGE = 2 };
/* The message for node n's kernel (named `kernel`) returning `code`, as
 * generated programs print it. */
void cg_kernel_message(const Graph *g, const Node *n, int code,
                       const char *kernel, char *buf, size_t cap);

typedef struct {
  const Graph *g;
  const Target *t;
  int lanes;          /* the vector width to build for (t->lanes or 1) */
  TilePlan plan;      /* this kernel's blocking (the `tile` pass) */
  Kernel *k;
  KBind *binds;       /* one per kernel parameter */
  uint32_t n_binds;
  int32_t sym_param[64]; /* symbol -> i64 parameter index, or -1 */
  const char *why;       /* why a lowering refused the node, or NULL */
  char why_buf[256];
} Lower;

/* Build the kernel for node `node` (not a source, not an alias); *out
 * gets it, binds[0..*n_binds) its parameters' bindings (binds has room for
 * K_MAX_PARAMS entries). */
#define K_MAX_PARAMS 80
int cg_lower_node(const Graph *g, uint32_t node, const Target *t, int lanes,
                  Kernel **out, KBind *binds, uint32_t *n_binds, Diag *d);

/* ---- helpers for the per-op lowerings (codegen/lower/) ------------- */

/* Parameters for a value (a buffer) and for the size of a dimension. */
uint32_t cg_buf(Lower *L, uint32_t value, bool written, const char *name);
/* The scratch buffer (f32) of the node, for kernels that need one. */
uint32_t cg_scratch(Lower *L);
/* The size of dimension d as an i64 expression: a constant when static,
 * else c * the symbol's i64 parameter (added on first use). */
uint32_t cg_dim(Lower *L, Dim d);
/* Row-major strides of a value's shape as i64 expressions. */
void cg_strides(Lower *L, const Shape *s, uint32_t *strides);

/* An activation (an OPF_ACTIVATION op) of x, f32 of any lanes
 * (codegen/lower/lower_act.c): the one lowering both the elementwise
 * kernels and the matmul epilogue use. */
uint32_t cg_activation(Kernel *k, Op act, uint32_t x);

/* Per-op entry points. */
int cg_lower_matmul(Lower *L, const Node *n);
int cg_lower_op(Lower *L, const Node *n); /* every other op */
int cg_lower_attention(Lower *L, const Node *n); /* lower_attention.c */
/* matmul with a bf16 b (lower_matmul_bf16.c), from cg_lower_matmul */
int cg_lower_matmul_bf16(Lower *L, const Node *n);

#endif
