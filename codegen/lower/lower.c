/* lower.c — the entry point of lowering: one graph node to one kernel.
 *
 * It creates the kernel, lets the op's lowering (lower_matmul.c for
 * matmul, lower_attention.c for attention, lower_ops.c for every other op)
 * add parameters through cg_buf, cg_dim and cg_scratch, and records what each parameter binds to.  Parameters are
 * added in the order results, operands, symbols — cg_lower_node adds the
 * buffers up front so every lowering sees the same order.
 */
#include "codegen/lower/lower.h"

#include "codegen/kpass/tile.h"

#include <inttypes.h>
#include <string.h>

uint32_t cg_buf(Lower *L, uint32_t value, bool written, const char *name) {
  const Value *v = &L->g->values[value];
  IR_ASSERT(L->n_binds < K_MAX_PARAMS);
  /* bf16 data is read in pairs, as i32 (lower_matmul_bf16.c) */
  uint32_t p = k_param_buf(L->k, name,
                           v->dtype == DT_I32 || v->dtype == DT_BF16 ? KT_I32 : KT_F32,
                           written);
  L->binds[L->n_binds++] = (KBind){KB_VALUE, value};
  return p;
}

uint32_t cg_scratch(Lower *L) {
  IR_ASSERT(L->n_binds < K_MAX_PARAMS);
  uint32_t p = k_param_buf(L->k, "scratch", KT_F32, true);
  L->binds[L->n_binds++] = (KBind){KB_SCRATCH, 0};
  return p;
}

uint32_t cg_dim(Lower *L, Dim d) {
  if (d.sym < 0) return k_i64(L->k, d.c);
  IR_ASSERT(d.sym < 64);
  if (L->sym_param[d.sym] < 0) {
    IR_ASSERT(L->n_binds < K_MAX_PARAMS);
    L->sym_param[d.sym] = (int32_t)k_param_i64(L->k, L->g->syms[d.sym].name);
    L->binds[L->n_binds++] = (KBind){KB_SYM, (uint32_t)d.sym};
  }
  return k_muli(L->k, k_param(L->k, (uint32_t)L->sym_param[d.sym]), d.c);
}

void cg_strides(Lower *L, const Shape *s, uint32_t *strides) {
  uint32_t st = k_i64(L->k, 1);
  for (int i = s->rank - 1; i >= 0; i--) {
    strides[i] = st;
    st = k_mul(L->k, st, cg_dim(L, s->d[i]));
  }
}

/* "matmul f32[S, 64] x f32[64, 64] -> f32[S, 64]" */
static void describe(const Graph *g, const Node *n, char *buf, size_t cap) {
  size_t len = (size_t)snprintf(buf, cap, "%s", ir_op_info(n->op)->name);
  for (uint32_t i = 0; i < n->nin && len < cap; i++) {
    char s[128];
    const Value *v = &g->values[n->in[i]];
    ir_format_shape(g, &v->shape, s, sizeof s);
    len += (size_t)snprintf(buf + len, cap - len, "%s%s%s", i ? ", " : " ",
                            ir_dtype_name(v->dtype), s);
  }
  for (uint32_t i = 0; i < n->nout && len < cap; i++) {
    char s[128];
    const Value *v = &g->values[n->out[i]];
    ir_format_shape(g, &v->shape, s, sizeof s);
    len += (size_t)snprintf(buf + len, cap - len, "%s%s%s",
                            i ? ", " : " -> ", ir_dtype_name(v->dtype), s);
  }
}

int cg_lower_node(const Graph *g, uint32_t node, const Target *t, int lanes,
                  Kernel **out, KBind *binds, uint32_t *n_binds, Diag *d) {
  const Node *n = &g->nodes[node];
  IR_ASSERT(!(ir_op_info(n->op)->flags & OPF_SOURCE));
  char comment[512];
  describe(g, n, comment, sizeof comment);
  Lower L = {.g = g, .t = t, .lanes = lanes, .binds = binds};
  memset(L.sym_param, -1, sizeof L.sym_param);
  L.k = k_new(lanes, comment);
  cg_tile_node(g, n, t, lanes, &L.plan);
  /* Results, then operands: every lowering finds them as params 0.. */
  for (uint32_t i = 0; i < n->nout; i++) {
    char name[16];
    snprintf(name, sizeof name, n->nout == 1 ? "out" : "out%u", i);
    cg_buf(&L, n->out[i], true, name);
  }
  for (uint32_t i = 0; i < n->nin; i++) {
    char name[16];
    snprintf(name, sizeof name, "in%u", i);
    cg_buf(&L, n->in[i], false, name);
  }
  int rc = n->op == OP_MATMUL      ? cg_lower_matmul(&L, n)
           : n->op == OP_ATTENTION ? cg_lower_attention(&L, n)
                                   : cg_lower_op(&L, n);
  if (rc) {
    k_free(L.k);
    return ir_errorf(d, n->loc, "%s: cannot generate code for this node%s%s",
                     ir_op_info(n->op)->name, L.why ? ": " : "", L.why ? L.why : "");
  }
  char tiles[256];
  cg_tile_text(g, n, &L.plan, tiles, sizeof tiles);
  if (tiles[0]) {
    L.k->tiles = strdup(tiles);
    IR_ASSERT(L.k->tiles);
  }
  *out = L.k;
  *n_binds = L.n_binds;
  return 0;
}

/* A value's name for messages: its own, or "%12". */
static const char *kname(const Graph *g, uint32_t v, char *buf, size_t cap) {
  if (g->values[v].name) return g->values[v].name;
  snprintf(buf, cap, "%%%u", v);
  return buf;
}

/* What went wrong when node n's kernel returned `code` (the C backend's
 * steps and the LLVM objects' say the same). */
void cg_kernel_message(const Graph *g, const Node *n, int code,
                         const char *kernel, char *buf, size_t cap) {
  char b0[32], b1[32], shape[256];
  const char *op = ir_op_info(n->op)->name;
  if (code == K_ERR_GATHER_RANGE && n->op == OP_GATHER) {
    char rows[64];
    ir_format_dim(g, g->values[n->in[0]].shape.d[0], rows, sizeof rows);
    snprintf(buf, cap,
             "%s: an id in '%s' is out of range for table '%s' with %s rows",
             op, kname(g, n->in[1], b1, sizeof b1), kname(g, n->in[0], b0, sizeof b0),
             rows);
  } else if (code == K_ERR_SLICE_RANGE && n->op == OP_SLICE) {
    ir_format_shape(g, &g->values[n->in[0]].shape, shape, sizeof shape);
    const Attr *end = ir_get_attr(n, "end"), *len = ir_get_attr(n, "len");
    char e[64] = "", s[64];
    ir_format_dim(g, ir_get_dim(g, n, "start"), s, sizeof s);
    if (len->set) {
      char l[64];
      ir_format_dim(g, len->dim, l, sizeof l);
      snprintf(e, sizeof e, "%s+%s", s, l);
    } else if (end->set) {
      ir_format_dim(g, end->dim, e, sizeof e);
    }
    snprintf(buf, cap, "%s: [%s:%s] does not fit axis %" PRId64
                       " of '%s' %s for these inputs",
             op, s, e, ir_get_int(g, n, "axis"),
             kname(g, n->in[0], b0, sizeof b0), shape);
  } else if (code == K_ERR_SLICE_RANGE && n->op == OP_WRITE_ROWS) {
    char at[64];
    ir_format_dim(g, ir_get_dim(g, n, "at"), at, sizeof at);
    snprintf(buf, cap, "%s: the rows written at %s do not fit axis %" PRId64
                       " of state '%s' for these inputs",
             op, at, ir_get_int(g, n, "axis"), kname(g, n->in[0], b0, sizeof b0));
  } else {
    snprintf(buf, cap, "%s: kernel %s failed with code %d", op, kernel, code);
  }
}
