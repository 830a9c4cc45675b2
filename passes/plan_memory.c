/* plan_memory.c — every intermediate placed in one arena by liveness.
 *
 * Walking the nodes in order, each result that lives in the arena (not an
 * input, output, weight or constant; a view — a reshape — shares its
 * operand's block) is placed when its producer runs, first-fit in a free
 * list of blocks, and its block is released after its last reader
 * (through views) has run.  A node's results are placed before its dead
 * operands are released, so no kernel's output overlaps its own input: the
 * kernels rely on that (`restrict`).  Blocks are sized with symbolic
 * dimensions at their bounds and aligned to 64 bytes.
 *
 * A kernel's scratch (attention's blocks: ir/scratch.h) is one region at
 * the bottom of the arena, sized for the largest need and shared by all.
 *
 * The plan is stored on the graph (Graph.mem_offset, .mem_bytes) for the
 * code generators; `loom opt --print-memory` and `--timings` report the
 * peak.  Without this pass, codegen gives every value a block of its own.
 */
#include <stdlib.h>
#include <string.h>

#include "ir/scratch.h"
#include "passes/pass.h"

/* ---- the arena's free list ------------------------------------------------ */

typedef struct {
  int64_t off, size;
} Block;

typedef struct {
  Block *free; /* sorted by offset, coalesced */
  uint32_t n, cap;
  int64_t top; /* end of the highest block ever used */
} Arena64;

static int64_t arena_take(Arena64 *a, int64_t size) {
  for (uint32_t i = 0; i < a->n; i++) {
    Block *b = &a->free[i];
    if (b->size < size) continue;
    int64_t off = b->off;
    b->off += size;
    b->size -= size;
    if (b->size == 0) memmove(b, b + 1, (a->n - i - 1) * sizeof *b), a->n--;
    return off;
  }
  /* Grow at the top (merging with a free block that ends there). */
  int64_t off = a->top;
  if (a->n && a->free[a->n - 1].off + a->free[a->n - 1].size == a->top) {
    off = a->free[a->n - 1].off;
    a->n--;
  }
  a->top = ir_size_add(off, size); /* checked against IR_MAX_BYTES */
  return off;
}

static void arena_give(Arena64 *a, int64_t off, int64_t size) {
  if (a->n == a->cap) {
    a->cap = a->cap ? 2 * a->cap : 16;
    a->free = realloc(a->free, a->cap * sizeof *a->free);
    IR_ASSERT(a->free);
  }
  uint32_t i = 0;
  while (i < a->n && a->free[i].off < off) i++;
  memmove(&a->free[i + 1], &a->free[i], (a->n - i) * sizeof *a->free);
  a->free[i] = (Block){off, size};
  a->n++;
  /* coalesce with neighbours */
  if (i + 1 < a->n && a->free[i].off + a->free[i].size == a->free[i + 1].off) {
    a->free[i].size += a->free[i + 1].size;
    memmove(&a->free[i + 1], &a->free[i + 2], (a->n - i - 2) * sizeof *a->free);
    a->n--;
  }
  if (i > 0 && a->free[i - 1].off + a->free[i - 1].size == a->free[i].off) {
    a->free[i - 1].size += a->free[i].size;
    memmove(&a->free[i], &a->free[i + 1], (a->n - i - 1) * sizeof *a->free);
    a->n--;
  }
}

/* n <= IR_MAX_BYTES: every value was checked when its node was made. */
static int64_t align64(int64_t n) { return (n + 63) & ~(int64_t)63; }

int pass_plan_memory(Graph *g, PassCtx *ctx, Diag *d) {
  uint32_t nv = g->n_values;
  int64_t *off = malloc((nv ? nv : 1) * sizeof *off);
  uint32_t *root = malloc((nv ? nv : 1) * sizeof *root);
  int64_t *last = malloc((nv ? nv : 1) * sizeof *last);
  bool *in_arena = calloc(nv ? nv : 1, sizeof *in_arena);
  IR_ASSERT(off && root && last && in_arena);
  for (uint32_t v = 0; v < nv; v++) off[v] = -1, root[v] = v, last[v] = -1;
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    const Node *n = &g->nodes[i];
    if (ir_op_info(n->op)->flags & OPF_SOURCE) continue;
    if (ir_is_view(g, n) || n->op == OP_WRITE_ROWS) { /* in place */
      root[n->out[0]] = root[n->in[0]];
      continue;
    }
    for (uint32_t k = 0; k < n->nout; k++)
      in_arena[n->out[k]] = !ir_is_output(g, n->out[k]);
  }
  for (uint32_t i = 0; i < g->n_nodes; i++)
    for (uint32_t k = 0; k < g->nodes[i].nin; k++)
      last[root[g->nodes[i].in[k]]] = i;

  Arena64 arena = {0};
  const Node *too_large = NULL; /* where the arena first outgrew the limit */
  /* Kernels' scratch (attention's blocks, ir/scratch.h): one region that
   * every node needing one shares, since nodes run one at a time. */
  int64_t scratch = 0;
  const TilePlan *plan = ctx && ctx->target ? &ctx->target->plan : NULL;
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    int64_t b = ir_scratch_bytes(g, &g->nodes[i], plan);
    if (b > scratch) scratch = b;
  }
  g->mem_scratch = scratch ? arena_take(&arena, align64(scratch)) : 0;
  g->mem_scratch_bytes = scratch;
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    const Node *n = &g->nodes[i];
    for (uint32_t k = 0; k < n->nout; k++) {
      uint32_t v = n->out[k];
      if (!in_arena[v]) continue;
      off[v] = arena_take(&arena, align64(ir_bound_bytes(g, &g->values[v])));
      if (last[v] < 0) last[v] = i; /* never read: free at once */
      if (arena.top > IR_MAX_BYTES && !too_large) too_large = n;
    }
    for (uint32_t k = 0; k < n->nin + n->nout; k++) {
      uint32_t v = root[k < n->nin ? n->in[k] : n->out[k - n->nin]];
      if (in_arena[v] && last[v] == (int64_t)i && off[v] >= 0) {
        arena_give(&arena, off[v], align64(ir_bound_bytes(g, &g->values[v])));
        last[v] = -2; /* released */
      }
    }
  }
  for (uint32_t v = 0; v < nv; v++)
    if (root[v] != v) off[v] = off[root[v]];
  if (too_large) {
    free(off);
    off = NULL;
    ir_check_bytes(d, too_large->loc, "the activation arena", arena.top);
  }
  free(g->mem_offset);
  g->mem_offset = off;
  g->mem_bytes = arena.top;
  if (ctx) {
    ctx->planned = true;
    ctx->peak_bytes = arena.top;
  }
  free(arena.free);
  free(root);
  free(last);
  free(in_arena);
  return too_large ? -1 : 0;
}
