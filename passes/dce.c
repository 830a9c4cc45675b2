/* dce.c — dead code elimination: remove what no output depends on.
 *
 * A node is dead when none of its results is used — by a live node or as a
 * graph output — and it is not an `input` (inputs are the model's
 * interface: a caller passes every one whether the graph reads it or not).
 * Weights and consts nobody reads go too: folding and fusion leave them
 * behind (the split of a packed weight once its pieces are constants, the
 * three projection weights once concatenated).
 *
 *   %t = transpose %w {perm = [1, 0]} : f32[64, 32]    (no users)  -> removed,
 *   %w = weight : f32[32, 64]                                          and then %w
 *
 * Algorithm: count the uses of every value (operands of live nodes, plus
 * one per graph output), then walk the nodes backwards: in a topological
 * order every user comes after its operands' producers, so by the time a
 * node is reached its count is final; a node whose results all have count
 * zero dies and gives back one use of each operand.  One backward sweep is
 * the transitive closure.  A split with some results used stays whole.
 */
#include <stdlib.h>

#include "passes/pass.h"

int pass_dce(Graph *g, PassCtx *ctx, Diag *d) {
  (void)ctx;
  (void)d;
  uint32_t *uses = calloc(g->n_values ? g->n_values : 1, sizeof *uses);
  IR_ASSERT(uses);
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    const Node *n = &g->nodes[i];
    if (n->dead) continue;
    for (uint32_t k = 0; k < n->nin; k++) uses[n->in[k]]++;
  }
  for (uint32_t i = 0; i < g->n_outputs; i++) uses[g->outputs[i]]++;

  bool any = false;
  for (uint32_t i = g->n_nodes; i-- > 0;) {
    Node *n = &g->nodes[i];
    /* inputs stay (the calling convention), and so do writes of state:
     * their effect outlives the run */
    if (n->dead || n->op == OP_INPUT || n->op == OP_WRITE_ROWS) continue;
    bool used = false;
    for (uint32_t r = 0; r < n->nout && !used; r++) used = uses[n->out[r]] > 0;
    if (used) continue;
    n->dead = true;
    any = true;
    for (uint32_t k = 0; k < n->nin; k++) uses[n->in[k]]--;
  }
  free(uses);
  if (any) ir_compact(g);
  return 0;
}
