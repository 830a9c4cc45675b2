/* gen_spec.c — what a generation loop reads off a decode graph
 * (frontend.h, FeGenSpec): libloom's loom_generator and the programs
 * `loom build` makes both take it from here. */
#include <stdlib.h>
#include <string.h>

#include "frontend/frontend.h"

int fe_gen_spec(const FeModel *m, FeGenSpec *s, Diag *d) {
  *s = (FeGenSpec){0};
  const Graph *g = m->g;
  int32_t P = ir_find_sym(g, "P"), B = ir_find_sym(g, "B");
  int rank = B >= 0 ? 3 : 2; /* logits [B,] 1, vocab */
  if (m->graph != FE_DECODE || P < 0 || g->n_outputs != 1 ||
      g->values[g->outputs[0]].shape.rank != rank)
    return ir_errorf(d, (Loc){0}, "%s is not a decode graph", g->name);
  s->tokens = m->family && strcmp(m->family, "transformer") == 0 ? "tgt" : "ids";
  s->vocab = g->values[g->outputs[0]].shape.d[rank - 1].c;
  s->max_len = g->syms[P].bound + 1;
  s->max_batch = B >= 0 ? g->syms[B].bound : 0;
  s->state_rank = B >= 0 ? 4 : 3;
  s->state_name = calloc(g->n_nodes, sizeof *s->state_name);
  s->state_dims = calloc(g->n_nodes, sizeof *s->state_dims);
  s->state_bytes = calloc(g->n_nodes, sizeof *s->state_bytes);
  IR_ASSERT(s->state_name && s->state_dims && s->state_bytes);
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    const Node *n = &g->nodes[i];
    if (n->op != OP_INPUT || !ir_get_int(g, n, "state")) continue;
    const Value *v = &g->values[n->out[0]];
    IR_ASSERT(v->shape.rank == s->state_rank);
    IR_ASSERT(B < 0 || v->shape.d[0].sym == B);
    s->state_name[s->n_state] = v->name;
    for (int k = 0; k < s->state_rank; k++)
      s->state_dims[s->n_state][k] = B >= 0 && k == 0 ? 1 : v->shape.d[k].c;
    /* at B's bound: one row's bytes times max_batch */
    s->state_bytes[s->n_state] =
        ir_bound_bytes(g, v) / (B >= 0 ? s->max_batch : 1);
    s->cache_bytes += s->state_bytes[s->n_state++];
  }
  return 0;
}

void fe_gen_spec_free(FeGenSpec *s) {
  free(s->state_name);
  free(s->state_dims);
  free(s->state_bytes);
  *s = (FeGenSpec){0};
}
