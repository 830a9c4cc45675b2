/* pass.h — graph passes and the pipeline that runs them.
 *
 * A pass is a name, a one-line summary and one function that rewrites a
 * Graph in place (MLIR's shape, QBE's size: one file each under passes/).
 * The table in pass.c lists every pass; the default pipeline is one list
 * there, readable top to bottom.  Passes rewrite with the primitives of
 * ir/rewrite.c and leave the graph verified: the pipeline checks that after
 * every pass when asked (--verify-each, and always in tests).
 */
#ifndef LOOM_PASSES_PASS_H
#define LOOM_PASSES_PASS_H

#include <stdbool.h>
#include <stdio.h>

#include "ir/ir.h"
#include "ir/target.h"

typedef struct {
  const Target *target; /* the compile's target, the same one lowering
                           gets (layout packs in its plan's panel width);
                           NULL: target-independent (weights stay
                           row-major) */
  DType dtype;          /* of matmul weights: DT_F32, or DT_BF16 (--dtype
                           bf16: layout packs constant bs as bf16 pairs) */
  /* plan-memory's result, when it ran */
  bool planned;
  int64_t peak_bytes;
  /* A hint, or NULL: a pass has read all it needs of the data at p (n
   * bytes) — layout, after packing a weight.  The caller may drop those
   * pages when they are a file's (api_prepare: the checkpoint's, so that
   * the packed copy and its source are not both resident); the data stays
   * readable. */
  void (*done_reading)(void *arg, const void *p, size_t n);
  void *done_arg;
} PassCtx;

typedef int (*PassFn)(Graph *g, PassCtx *ctx, Diag *d);

typedef struct {
  const char *name;
  const char *summary;
  PassFn fn;
} Pass;

extern const Pass pass_table[];
extern const int pass_count;
/* The default pipeline, NULL-terminated. */
extern const char *const pass_default_pipeline[];

const Pass *pass_lookup(const char *name);

typedef struct {
  const char *passes;       /* "a,b,c", "none", or NULL: the default */
  const char *disable;      /* "a,b": taken out of the list */
  bool verify_each;         /* ir_verify after every pass */
  bool print_after_all;     /* the IR after every pass, to `out` */
  const char *print_after;  /* after this pass */
  const char *print_before; /* before this pass */
  bool time_passes;         /* per-pass times to `out` */
  FILE *out;                /* where printing goes (stderr if NULL) */
} PipelineOptions;

/* Check a --passes / --disable list: unknown names are errors with the
 * nearest known name.  Returns 0 or -1 (message in d). */
int pass_check_list(const char *list, Diag *d);

/* Run the pipeline on g.  Errors from a pass (or from verification) come
 * back in d, naming the pass. */
int pass_run_pipeline(Graph *g, const PipelineOptions *o, PassCtx *ctx,
                      Diag *d);

/* ---- the passes ---------------------------------------------------------- */

int pass_fold_constants(Graph *g, PassCtx *ctx, Diag *d);
int pass_fuse_epilogue(Graph *g, PassCtx *ctx, Diag *d);
int pass_fuse_qkv(Graph *g, PassCtx *ctx, Diag *d);
int pass_fuse_attention(Graph *g, PassCtx *ctx, Diag *d);
int pass_layout(Graph *g, PassCtx *ctx, Diag *d);
int pass_cse(Graph *g, PassCtx *ctx, Diag *d);
int pass_dce(Graph *g, PassCtx *ctx, Diag *d);
int pass_plan_memory(Graph *g, PassCtx *ctx, Diag *d);

#endif
