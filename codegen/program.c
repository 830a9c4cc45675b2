/* program.c — a checked graph as kernels, storage and calls (program.h).
 *
 * Storage.  Inputs and outputs live in the caller's buffers; weights and
 * constants in one blob, each at a 64-byte aligned offset in node order (a
 * constant in its layout, panels padded); every other value
 * in the activation arena.  A reshape is a view: its result shares its
 * operand's storage (row-major data does not move) unless it is a graph
 * output, which must land in the caller's buffer and so is copied.
 *
 * The arena's offsets are plan-memory's (passes/plan_memory.c: liveness,
 * blocks reused once dead, never overlapping a live operand — which is what
 * lets every kernel declare its buffers `restrict`).  Without that pass
 * every value gets a block of its own.  Blocks are sized for symbolic
 * dimensions at their bounds.
 *
 * write_rows writes the state input (the caller's buffer) in place: its
 * result takes the state's storage, as a view does, but it has a step.
 *
 * A kernel's scratch (ir/scratch.h: attention's blocks) is one region of
 * the arena, plan-memory's or else placed above every value, shared by the
 * steps that need it; its storage slot is the one past the graph's values.
 *
 * Kernels.  Each node is lowered twice (the target's vector width and width
 * 1) — once for the JIT, which never takes the portable C's scalar path
 * (half of lowering BERT-base's time); nodes whose kernels print the same
 * share one kernel, so the twelve layers of BERT-base call the same few
 * functions.
 */
#include "codegen/program.h"

#include <stdlib.h>
#include <string.h>

#include "ir/scratch.h"

/* ---- helpers --------------------------------------------------------------- */

static int64_t align64(int64_t n) { return (n + 63) & ~(int64_t)63; }

/* Bytes a weight or constant takes in the blob (a packed constant's
 * panels are zero-padded). */
static int64_t blob_bytes(const Graph *g, uint32_t v) {
  const Node *n = &g->nodes[g->values[v].node];
  if (n->op == OP_CONST)
    return ir_const_bytes(g, &g->values[v], ir_get_str(g, n, "layout"));
  return ir_bound_bytes(g, &g->values[v]);
}

static bool is_output(const Graph *g, uint32_t v, uint32_t *index) {
  for (uint32_t i = 0; i < g->n_outputs; i++)
    if (g->outputs[i] == v) {
      if (index) *index = i;
      return true;
    }
  return false;
}


/* ---- building -------------------------------------------------------------- */

/* texts[i]: kernel i as printed, kept so that each node's kernel is
 * printed once (printing every known kernel again per node made lowering
 * BERT-base take over a second). */
static uint32_t find_or_add_kernel(Program *p, char ***texts, Kernel *vec,
                                   Kernel *scalar, const char *op) {
  char *text = k_print(vec, "_");
  /* the comment line differs between layers' shapes only when the kernel
   * does: compare the text after it */
  const char *body = strstr(text, "kernel _(");
  for (uint32_t i = 0; i < p->n_kernels; i++) {
    if (strcmp(strstr((*texts)[i], "kernel _("), body) == 0) {
      free(text);
      if (scalar != vec) k_free(scalar);
      k_free(vec);
      p->kernels[i].uses++;
      return i;
    }
  }
  *texts = realloc(*texts, (p->n_kernels + 1) * sizeof **texts);
  IR_ASSERT(*texts);
  (*texts)[p->n_kernels] = text;
  p->kernels = realloc(p->kernels, (p->n_kernels + 1) * sizeof *p->kernels);
  IR_ASSERT(p->kernels);
  char name[64];
  snprintf(name, sizeof name, "k%u_%s", p->n_kernels, op);
  p->kernels[p->n_kernels] = (PKernel){vec, scalar, strdup(name), 1};
  return p->n_kernels++;
}

static void free_texts(char **texts, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) free(texts[i]);
  free(texts);
}

static Program *build(const Graph *g, const Target *t, bool scalars, Diag *d) {
  Program *p = calloc(1, sizeof *p);
  IR_ASSERT(p);
  p->g = g;
  p->target = *t;
  /* one slot past the values: the kernels' scratch region */
  p->store = calloc(g->n_values + 1, sizeof *p->store);
  p->weights = calloc(g->n_nodes ? g->n_nodes : 1, sizeof *p->weights);
  p->steps = calloc(g->n_nodes ? g->n_nodes : 1, sizeof *p->steps);
  IR_ASSERT(p->store && p->weights && p->steps);

  /* Where values live, and the step that produces each. */
  uint32_t *root = malloc((g->n_values ? g->n_values : 1) * sizeof *root);
  IR_ASSERT(root);
  uint32_t n_inputs = 0;
  for (uint32_t v = 0; v < g->n_values; v++) root[v] = v;
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    const Node *n = &g->nodes[i];
    uint32_t v0 = n->nout ? n->out[0] : IR_NONE, oi;
    if (n->op == OP_INPUT) {
      p->store[v0] = (PStore){PS_INPUT, n_inputs++, 0};
    } else if (n->op == OP_WEIGHT || n->op == OP_CONST) {
      p->store[v0] = (PStore){PS_WEIGHT, p->n_weights, p->weight_bytes};
      p->weights[p->n_weights++] = v0;
      p->weight_bytes = ir_size_add(p->weight_bytes, align64(blob_bytes(g, v0)));
      if (ir_check_bytes(d, n->loc, "the weights", p->weight_bytes)) {
        free(root);
        cg_program_free(p);
        return NULL;
      }
    } else if (ir_is_view(g, n) || n->op == OP_WRITE_ROWS) {
      /* a write_rows result is its state, written in place by its step */
      root[v0] = root[n->in[0]];
    } else {
      for (uint32_t k = 0; k < n->nout; k++) {
        uint32_t v = n->out[k];
        p->store[v] = is_output(g, v, &oi) ? (PStore){PS_OUTPUT, oi, 0}
                                           : (PStore){PS_ARENA, 0, -1};
      }
    }
  }
  for (uint32_t i = 0; i < g->n_outputs; i++) {
    uint32_t v = g->outputs[i];
    const Node *n = &g->nodes[g->values[v].node];
    if (ir_op_info(n->op)->flags & OPF_SOURCE) {
      free(root);
      cg_program_free(p);
      ir_errorf(d, n->loc, "output '%s' is a graph %s; compute something "
                           "from it to return it",
                g->values[v].name, ir_op_info(n->op)->name);
      return NULL;
    }
  }
  /* Walk the nodes: lower, share kernels, place results. */
  int64_t bump = 0, scratch = 0;
  char **texts = NULL;
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    const Node *n = &g->nodes[i];
    if ((ir_op_info(n->op)->flags & OPF_SOURCE)) continue;
    if (ir_is_view(g, n)) continue;
    Kernel *vec, *scalar;
    KBind binds[K_MAX_PARAMS];
    uint32_t nb;
    if (cg_lower_node(g, i, t, t->lanes, &vec, binds, &nb, d)) goto fail;
    if (t->lanes > 1 && scalars) {
      KBind b2[K_MAX_PARAMS];
      uint32_t nb2;
      if (cg_lower_node(g, i, t, 1, &scalar, b2, &nb2, d)) {
        k_free(vec);
        goto fail;
      }
      IR_ASSERT(nb2 == nb && memcmp(b2, binds, nb * sizeof *binds) == 0);
    } else {
      scalar = vec;
    }
    PStep *s = &p->steps[p->n_steps++];
    s->kernel = find_or_add_kernel(p, &texts, vec, scalar, ir_op_info(n->op)->name);
    s->node = i;
    s->n_args = nb;
    s->args = malloc(nb * sizeof *s->args);
    IR_ASSERT(s->args);
    memcpy(s->args, binds, nb * sizeof *binds);
    for (uint32_t a = 0; a < nb; a++)
      if (s->args[a].kind == KB_SCRATCH) { /* the slot past the values */
        int64_t need = ir_scratch_bytes(g, n, &t->plan);
        if (need > scratch) scratch = need;
        s->args[a] = (KBind){KB_VALUE, g->n_values};
      }
    /* Arena offsets: plan-memory's, or without it one block per value. */
    for (uint32_t k = 0; k < n->nout; k++) {
      uint32_t v = n->out[k];
      if (p->store[v].kind != PS_ARENA) continue;
      if (g->mem_offset) {
        IR_ASSERT(g->mem_offset[v] >= 0);
        p->store[v].offset = g->mem_offset[v];
      } else {
        p->store[v].offset = bump;
        bump = ir_size_add(bump, align64(ir_bound_bytes(g, &g->values[v])));
        if (ir_check_bytes(d, n->loc, "the activation arena", bump)) goto fail;
      }
    }
  }
  p->arena_bytes = g->mem_offset ? g->mem_bytes : bump;
  /* The scratch region: plan-memory's, or one more block at the top. */
  p->store[g->n_values] = (PStore){PS_ARENA, 0, g->mem_offset ? g->mem_scratch : bump};
  if (!g->mem_offset) p->arena_bytes += align64(scratch);
  IR_ASSERT(!g->mem_offset || scratch <= g->mem_scratch_bytes);
  /* Views take their root's storage. */
  for (uint32_t v = 0; v < g->n_values; v++)
    if (root[v] != v) p->store[v] = p->store[root[v]];
  free(root);
  free_texts(texts, p->n_kernels);
  return p;
fail:
  free(root);
  free_texts(texts, p->n_kernels);
  cg_program_free(p);
  return NULL;
}

Program *cg_program(const Graph *g, const Target *t, Diag *d) {
  return build(g, t, true, d);
}

Program *cg_program_vec(const Graph *g, const Target *t, Diag *d) {
  return build(g, t, false, d);
}

void cg_program_free(Program *p) {
  if (!p) return;
  for (uint32_t i = 0; i < p->n_kernels; i++) {
    if (p->kernels[i].scalar != p->kernels[i].vec) k_free(p->kernels[i].scalar);
    k_free(p->kernels[i].vec);
    free(p->kernels[i].name);
  }
  for (uint32_t i = 0; i < p->n_steps; i++) free(p->steps[i].args);
  free(p->kernels);
  free(p->steps);
  free(p->store);
  free(p->weights);
  free(p);
}

int cg_write_weights(const Program *p, FILE *f) {
  static const char zeros[64];
  int64_t at = 0;
  for (uint32_t i = 0; i < p->n_weights; i++) {
    const Value *v = &p->g->values[p->weights[i]];
    IR_ASSERT(v->data && p->store[p->weights[i]].offset == at);
    int64_t bytes = blob_bytes(p->g, p->weights[i]);
    if (fwrite(v->data, 1, (size_t)bytes, f) != (size_t)bytes) return -1;
    int64_t pad = align64(bytes) - bytes;
    if (pad && fwrite(zeros, 1, (size_t)pad, f) != (size_t)pad) return -1;
    at += bytes + pad;
  }
  return 0;
}

bool cg_same_weights(const Program *a, const Program *b) {
  if (a->n_weights != b->n_weights || a->weight_bytes != b->weight_bytes)
    return false;
  for (uint32_t i = 0; i < a->n_weights; i++) {
    uint32_t va = a->weights[i], vb = b->weights[i];
    const Value *x = &a->g->values[va], *y = &b->g->values[vb];
    int64_t bytes = blob_bytes(a->g, va);
    if (a->store[va].offset != b->store[vb].offset ||
        bytes != blob_bytes(b->g, vb) || x->dtype != y->dtype ||
        strcmp(x->name ? x->name : "", y->name ? y->name : "") != 0 ||
        memcmp(x->data, y->data, (size_t)bytes) != 0)
      return false;
  }
  return true;
}

uint32_t cg_kernel_codes(const Kernel *k) {
  uint32_t codes = 0;
  for (uint32_t i = 0; i < k->n_stmts; i++)
    if (k->stmts[i].kind == KS_CHECK) {
      IR_ASSERT(k->stmts[i].code > 0 && k->stmts[i].code < 32);
      codes |= 1u << k->stmts[i].code;
    }
  return codes;
}

void cg_loc_text(Loc loc, char *buf, size_t cap) {
  if (!loc.file)
    buf[0] = 0;
  else if (loc.line)
    snprintf(buf, cap, "%s:%u:%u", loc.file, loc.line, loc.col);
  else
    snprintf(buf, cap, "%s", loc.file);
}
