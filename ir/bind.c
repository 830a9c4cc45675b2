/* bind.c — binding a graph's symbols to the inputs of one run, and the ids
 * check: what the reference interpreter and every backend do before running
 * (see interp.c's step 1).  Also the small formatting helpers their located
 * messages share with interp.c (ir/ref_util.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"
#include "ir/ref_util.h"

/* ---- messages ----------------------------------------------------------- */

/* flat (row-major) -> multi-index idx[0..rank) of an array of `dims`. */
void ir_unravel(int64_t flat, int rank, const int64_t *dims, int64_t *idx) {
  for (int i = rank - 1; i >= 0; i--) {
    idx[i] = flat % dims[i];
    flat /= dims[i];
  }
}

const char *ir_value_label(const Graph *g, uint32_t v, char *buf, size_t cap) {
  if (g->values[v].name) return g->values[v].name;
  snprintf(buf, cap, "%%%u", v);
  return buf;
}

void ir_format_index(const int64_t *idx, int rank, char *buf, size_t cap) {
  size_t len = 0;
  buf[0] = 0;
  for (int i = 0; i < rank && len + 1 < cap; i++) {
    int w = snprintf(buf + len, cap - len, "%s%lld", i ? ", " : "[",
                     (long long)idx[i]);
    if (w < 0) break;
    len += (size_t)w;
  }
  if (len + 2 < cap) snprintf(buf + len, cap - len, rank ? "]" : "[]");
}

/* ---- binding symbols ---------------------------------------------------- */

int64_t ir_tensor_numel(const Tensor *t) {
  int64_t n = 1;
  for (int i = 0; i < t->rank; i++) n *= t->dims[i];
  return n;
}

int ir_input_optional_code(const Graph *g, uint32_t v) {
  const Node *n = &g->nodes[g->values[v].node];
  if (!ir_get_int(g, n, "optional")) return 0;
  return ir_get_int(g, n, "fill") == 1 ? 2 : 1;
}

void ir_fill_input(const Graph *g, const Node *input, void *data, int64_t numel) {
  if (ir_get_int(g, input, "fill") != 1) return;
  DType dt = g->values[input->out[0]].dtype;
  for (int64_t i = 0; i < numel; i++) {
    if (dt == DT_I32) ((int32_t *)data)[i] = 1;
    else ((float *)data)[i] = 1.0f;
  }
}

/* An input declared {optional = true} is left out by passing a Tensor
 * without data; it then reads as zeros of its declared shape. */
bool ir_omitted_input(const Graph *g, const Node *n, const Tensor *t) {
  return ir_get_int(g, n, "optional") && t->data == NULL;
}

int ir_bind_inputs(const Graph *g, const Tensor *inputs, int n_inputs,
                   int64_t *binding, Diag *d) {
  for (uint32_t s = 0; s < g->n_syms; s++) binding[s] = 0;
  uint32_t want = ir_inputs(g, NULL, 0);
  if (n_inputs < 0 || (uint32_t)n_inputs != want)
    return ir_errorf(d, (Loc){0}, "graph '%s' has %u inputs but %d were given",
                     g->name, want, n_inputs);
  /* which input bound each symbol first, for the message on a conflict */
  const char **bound_by = calloc(g->n_syms ? g->n_syms : 1, sizeof *bound_by);
  IR_ASSERT(bound_by);
  int k = 0, rc = 0;
  for (uint32_t id = 0; id < g->n_nodes && rc == 0; id++) {
    const Node *n = &g->nodes[id];
    if (n->op != OP_INPUT) continue;
    const Value *v = &g->values[n->out[0]];
    const Tensor *t = &inputs[k++];
    if (ir_omitted_input(g, n, t)) continue; /* its dims: checked below */
    char nb[32], want_s[256];
    const char *name = ir_value_label(g, n->out[0], nb, sizeof nb);
    ir_format_shape(g, &v->shape, want_s, sizeof want_s);
    if (t->dtype != v->dtype) {
      rc = ir_errorf(d, n->loc, "input '%s' must be %s%s, got %s", name,
                     ir_dtype_name(v->dtype), want_s, ir_dtype_name(t->dtype));
      break;
    }
    if (t->rank != v->shape.rank) {
      rc = ir_errorf(d, n->loc, "input '%s' must have rank %d %s, got rank %d",
                     name, v->shape.rank, want_s, t->rank);
      break;
    }
    for (int i = 0; i < t->rank && rc == 0; i++) {
      Dim dm = v->shape.d[i];
      int64_t got = t->dims[i];
      char ds[64];
      ir_format_dim(g, dm, ds, sizeof ds);
      if (ir_dim_static(dm)) {
        if (got != dm.c)
          rc = ir_errorf(d, n->loc,
                         "input '%s': dimension %d is %lld, must be %lld "
                         "(shape %s)",
                         name, i, (long long)got, (long long)dm.c, want_s);
        continue;
      }
      const Sym *s = &g->syms[dm.sym];
      if (got < 1 || got % dm.c != 0) {
        rc = ir_errorf(d, n->loc,
                       "input '%s': dimension %d is %lld, not a positive "
                       "multiple of %lld (%s)",
                       name, i, (long long)got, (long long)dm.c, ds);
        continue;
      }
      int64_t val = got / dm.c;
      if (val > s->bound) {
        rc = ir_errorf(d, n->loc,
                       "input '%s': dimension %d is %lld, so %s = %lld "
                       "exceeds its bound %s <= %lld",
                       name, i, (long long)got, s->name, (long long)val,
                       s->name, (long long)s->bound);
      } else if (binding[dm.sym] && binding[dm.sym] != val) {
        rc = ir_errorf(d, n->loc,
                       "input '%s': dimension %d gives %s = %lld, but input "
                       "'%s' gave %s = %lld",
                       name, i, s->name, (long long)val, bound_by[dm.sym],
                       s->name, (long long)binding[dm.sym]);
      } else {
        binding[dm.sym] = val;
        bound_by[dm.sym] = name == nb ? "(unnamed)" : name;
      }
    }
    if (rc == 0 && ir_tensor_numel(t) > 0 && !t->data)
      rc = ir_errorf(d, n->loc, "input '%s' has no data", name);
    /* a scalar input {binds = P}: its value is P, 0 <= P <= bound */
    const Attr *bd = ir_get_attr(n, "binds");
    if (rc == 0 && bd->set) {
      const Sym *s = &g->syms[bd->dim.sym];
      int64_t val = *(const int32_t *)t->data;
      if (val < 0 || val > s->bound)
        rc = ir_errorf(d, n->loc, "input '%s' = %lld: %s must be in 0..%lld",
                       name, (long long)val, s->name, (long long)s->bound);
      else
        binding[bd->dim.sym] = val;
    }
  }
  /* a left-out optional input takes its symbols from the others */
  k = 0;
  for (uint32_t id = 0; id < g->n_nodes && rc == 0; id++) {
    const Node *n = &g->nodes[id];
    if (n->op != OP_INPUT || !ir_omitted_input(g, n, &inputs[k++])) continue;
    const Shape *s = &g->values[n->out[0]].shape;
    for (int i = 0; i < s->rank && rc == 0; i++)
      if (s->d[i].sym >= 0 && binding[s->d[i].sym] == 0) {
        char nb[32];
        rc = ir_errorf(d, n->loc,
                       "optional input '%s' was left out, but no other input "
                       "gives its dimension %s",
                       ir_value_label(g, n->out[0], nb, sizeof nb),
                       g->syms[s->d[i].sym].name);
      }
  }
  free(bound_by);
  return rc;
}

int ir_check_ids(const Graph *g, const Tensor *inputs, const int64_t *binding,
                 Diag *d) {
  int k = 0, rc = 0;
  for (uint32_t id = 0; id < g->n_nodes && rc == 0; id++) {
    const Node *n = &g->nodes[id];
    if (n->op != OP_INPUT) continue;
    const Tensor *t = &inputs[k++];
    uint32_t table = ir_input_table(g, n->out[0]);
    if (table == IR_NONE || !t->data || t->dtype != DT_I32) continue;
    Dim rd = g->values[table].shape.d[0];
    int64_t rows = rd.c * (ir_dim_static(rd) ? 1 : binding[rd.sym]), count = ir_tensor_numel(t);
    const int32_t *ids = t->data;
    for (int64_t i = 0; i < count; i++) {
      if (ids[i] >= 0 && ids[i] < rows) continue;
      int64_t idx[IR_MAX_RANK];
      char where[160], nb[32], tb[32];
      ir_unravel(i, t->rank, t->dims, idx);
      ir_format_index(idx, t->rank, where, sizeof where);
      rc = ir_errorf(d, n->loc, "input '%s': id %d at %s is out of range for "
                                "table '%s' with %lld rows",
                     ir_value_label(g, n->out[0], nb, sizeof nb), ids[i], where,
                     ir_value_label(g, table, tb, sizeof tb), (long long)rows);
      break;
    }
  }
  return rc;
}

uint32_t ir_input_table(const Graph *g, uint32_t v) {
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    const Node *n = &g->nodes[i];
    if (!n->dead && n->op == OP_GATHER && n->in[1] == v) return n->in[0];
  }
  return IR_NONE;
}

