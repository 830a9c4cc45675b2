/* rewrite.c — the few primitives every graph pass needs.
 *
 * Passes never delete or reorder in place: they add nodes at the end,
 * redirect uses (ir_replace_uses), mark nodes dead, and call ir_compact,
 * which drops the dead, puts the nodes back in a topological order that
 * keeps the graph's reading order (Kahn's algorithm, always taking the
 * ready node with the smallest `pos`), and renumbers values in node order
 * so that printing stays stable.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"

void ir_replace_uses(Graph *g, uint32_t from, uint32_t to) {
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    Node *n = &g->nodes[i];
    if (n->dead) continue;
    for (uint32_t k = 0; k < n->nin; k++)
      if (n->in[k] == from) n->in[k] = to;
  }
  for (uint32_t i = 0; i < g->n_outputs; i++)
    if (g->outputs[i] == from) g->outputs[i] = to;
}

const char *ir_unique_name(Graph *g, const char *base) {
  if (ir_find_value(g, base) == IR_NONE) return ir_strdup(g->arena, base);
  size_t cap = strlen(base) + 16;
  char *buf = ir_alloc(g->arena, cap);
  for (int i = 1;; i++) {
    snprintf(buf, cap, "%s.%d", base, i);
    if (ir_find_value(g, buf) == IR_NONE) return buf;
  }
}

void ir_forward_uses(Graph *g, const uint32_t *fwd, uint32_t n) {
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    Node *nd = &g->nodes[i];
    if (nd->dead) continue;
    for (uint32_t k = 0; k < nd->nin; k++)
      while (nd->in[k] < n && fwd[nd->in[k]] != IR_NONE) nd->in[k] = fwd[nd->in[k]];
  }
  for (uint32_t i = 0; i < g->n_outputs; i++)
    while (g->outputs[i] < n && fwd[g->outputs[i]] != IR_NONE)
      g->outputs[i] = fwd[g->outputs[i]];
}

uint32_t *ir_use_counts(const Graph *g) {
  uint32_t *c = calloc(g->n_values ? g->n_values : 1, sizeof *c);
  IR_ASSERT(c);
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    const Node *n = &g->nodes[i];
    if (n->dead) continue;
    for (uint32_t k = 0; k < n->nin; k++) c[n->in[k]]++;
  }
  for (uint32_t i = 0; i < g->n_outputs; i++) c[g->outputs[i]]++;
  return c;
}

bool ir_is_output(const Graph *g, uint32_t v) {
  for (uint32_t i = 0; i < g->n_outputs; i++)
    if (g->outputs[i] == v) return true;
  return false;
}

uint32_t ir_use_count(const Graph *g, uint32_t v) {
  uint32_t uses = ir_is_output(g, v);
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    const Node *n = &g->nodes[i];
    if (n->dead) continue;
    for (uint32_t k = 0; k < n->nin; k++) uses += n->in[k] == v;
  }
  return uses;
}

bool ir_is_view(const Graph *g, const Node *n) {
  return n->op == OP_RESHAPE && !ir_is_output(g, n->out[0]);
}

/* A binary min-heap of node ids keyed by (pos, id). */
typedef struct {
  uint32_t *a;
  uint32_t n;
  const Node *nodes;
} Heap;

static bool less(const Heap *h, uint32_t x, uint32_t y) {
  const Node *a = &h->nodes[x], *b = &h->nodes[y];
  return a->pos != b->pos ? a->pos < b->pos : x < y;
}

static void heap_push(Heap *h, uint32_t v) {
  uint32_t i = h->n++;
  h->a[i] = v;
  while (i && less(h, h->a[i], h->a[(i - 1) / 2])) {
    uint32_t p = (i - 1) / 2, t = h->a[p];
    h->a[p] = h->a[i];
    h->a[i] = t;
    i = p;
  }
}

static uint32_t heap_pop(Heap *h) {
  uint32_t top = h->a[0];
  h->a[0] = h->a[--h->n];
  for (uint32_t i = 0;;) {
    uint32_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < h->n && less(h, h->a[l], h->a[m])) m = l;
    if (r < h->n && less(h, h->a[r], h->a[m])) m = r;
    if (m == i) break;
    uint32_t t = h->a[m];
    h->a[m] = h->a[i];
    h->a[i] = t;
    i = m;
  }
  return top;
}

void ir_compact(Graph *g) {
  uint32_t nn = g->n_nodes, nv = g->n_values;
  /* pending[i]: operands of node i not yet placed; users by CSR */
  uint32_t *pending = calloc(nn ? nn : 1, sizeof *pending);
  uint32_t *order = malloc((nn ? nn : 1) * sizeof *order);
  uint32_t *ucount = calloc(nv + 1, sizeof *ucount);
  IR_ASSERT(pending && order && ucount);
  for (uint32_t i = 0; i < nn; i++) {
    const Node *n = &g->nodes[i];
    if (n->dead) continue;
    for (uint32_t k = 0; k < n->nin; k++) {
      IR_ASSERT(!g->nodes[g->values[n->in[k]].node].dead);
      ucount[n->in[k] + 1]++;
    }
  }
  for (uint32_t v = 0; v < nv; v++) ucount[v + 1] += ucount[v];
  uint32_t *users = malloc((ucount[nv] ? ucount[nv] : 1) * sizeof *users);
  uint32_t *fill = calloc(nv ? nv : 1, sizeof *fill);
  IR_ASSERT(users && fill);
  for (uint32_t i = 0; i < nn; i++) {
    const Node *n = &g->nodes[i];
    if (n->dead) continue;
    for (uint32_t k = 0; k < n->nin; k++) {
      uint32_t v = n->in[k];
      users[ucount[v] + fill[v]++] = i;
      pending[i]++;
    }
  }
  Heap h = {malloc((nn ? nn : 1) * sizeof *h.a), 0, g->nodes};
  IR_ASSERT(h.a);
  for (uint32_t i = 0; i < nn; i++)
    if (!g->nodes[i].dead && pending[i] == 0) heap_push(&h, i);
  uint32_t placed = 0;
  while (h.n) {
    uint32_t i = heap_pop(&h);
    order[placed++] = i;
    const Node *n = &g->nodes[i];
    for (uint32_t r = 0; r < n->nout; r++) {
      uint32_t v = n->out[r];
      for (uint32_t u = ucount[v]; u < ucount[v + 1]; u++)
        if (--pending[users[u]] == 0) heap_push(&h, users[u]);
    }
  }
  uint32_t live = 0;
  for (uint32_t i = 0; i < nn; i++) live += !g->nodes[i].dead;
  IR_ASSERT(placed == live); /* a cycle would be a pass's bug */

  /* New node and value numbering. */
  uint32_t *vmap = malloc((nv ? nv : 1) * sizeof *vmap);
  Node *nodes = malloc((placed ? placed : 1) * sizeof *nodes);
  Value *values = malloc((nv ? nv : 1) * sizeof *values);
  IR_ASSERT(vmap && nodes && values);
  for (uint32_t v = 0; v < nv; v++) vmap[v] = IR_NONE;
  uint32_t nvals = 0;
  for (uint32_t j = 0; j < placed; j++) {
    nodes[j] = g->nodes[order[j]];
    nodes[j].pos = j;
    for (uint32_t r = 0; r < nodes[j].nout; r++) {
      uint32_t v = nodes[j].out[r];
      values[nvals] = g->values[v];
      values[nvals].node = j;
      values[nvals].index = r;
      vmap[v] = nvals++;
    }
  }
  for (uint32_t j = 0; j < placed; j++) {
    Node *n = &nodes[j];
    for (uint32_t k = 0; k < n->nin; k++) n->in[k] = vmap[n->in[k]];
    for (uint32_t r = 0; r < n->nout; r++) n->out[r] = vmap[n->out[r]];
  }
  for (uint32_t i = 0; i < g->n_outputs; i++) {
    IR_ASSERT(vmap[g->outputs[i]] != IR_NONE);
    g->outputs[i] = vmap[g->outputs[i]];
  }
  free(g->nodes);
  free(g->values);
  free(g->mem_offset);
  g->mem_offset = NULL;
  g->mem_bytes = 0;
  g->nodes = nodes;
  g->cap_nodes = g->n_nodes = placed ? placed : 0;
  if (!placed) g->cap_nodes = 1;
  g->values = values;
  g->n_values = nvals;
  g->cap_values = nv ? nv : 1;
  ir_reindex_names(g);
  free(pending);
  free(order);
  free(ucount);
  free(users);
  free(fill);
  free(h.a);
  free(vmap);
}
