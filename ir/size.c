/* size.c — shapes as numbers: formatting a dimension or shape, evaluating
 * a shape under a binding of its symbols, and the byte size of a value
 * (at its bounds, or as a constant in its layout), every product
 * overflow-checked (ir_size_mul) and held to loom's limit, IR_MAX_BYTES.
 */
#include "ir/ir.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- formatting and evaluation ----------------------------------------- */

void ir_format_dim(const Graph *g, Dim d, char *buf, size_t cap) {
  if (d.sym < 0)
    snprintf(buf, cap, "%" PRId64, d.c);
  else if (d.c == 1)
    snprintf(buf, cap, "%s", g->syms[d.sym].name);
  else
    snprintf(buf, cap, "%" PRId64 "*%s", d.c, g->syms[d.sym].name);
}

void ir_format_shape(const Graph *g, const Shape *s, char *buf, size_t cap) {
  size_t len = 0;
  if (cap == 0) return;
  buf[0] = 0;
  len += (size_t)snprintf(buf, cap, "[");
  for (int i = 0; i < s->rank && len < cap; i++) {
    char dim[64];
    ir_format_dim(g, s->d[i], dim, sizeof dim);
    len += (size_t)snprintf(buf + len, cap - len, "%s%s", i ? ", " : "", dim);
  }
  if (len < cap) snprintf(buf + len, cap - len, "]");
}

int64_t ir_const_bytes(const Graph *g, const Value *v, const char *layout) {
  (void)g;
  int64_t n = (int64_t)ir_dtype_size(v->dtype);
  int p = ir_layout_panel(layout), q = ir_layout_pair(layout);
  if (q > 0 && v->shape.rank == 2) /* ceil(K/2) pairs x panels of q */
    return ir_size_mul(ir_size_mul((v->shape.d[0].c + 1) / 2 * 4,
                                   (v->shape.d[1].c + q - 1) / q),
                       q);
  for (int i = 0; i < v->shape.rank; i++) {
    int64_t d = v->shape.d[i].c;
    if (p > 0 && i == v->shape.rank - 1) d = ir_size_mul((d + p - 1) / p, p);
    n = ir_size_mul(n, d);
  }
  return n;
}

int64_t ir_bound_bytes(const Graph *g, const Value *v) {
  int64_t n = (int64_t)ir_dtype_size(v->dtype);
  for (int i = 0; i < v->shape.rank; i++) {
    Dim d = v->shape.d[i];
    n = ir_size_mul(n, d.sym < 0 ? d.c : ir_size_mul(d.c, g->syms[d.sym].bound));
  }
  return n;
}

int ir_check_bytes(Diag *d, Loc loc, const char *what, int64_t bytes) {
  if (bytes <= IR_MAX_BYTES) return 0;
  if (bytes == INT64_MAX)
    return ir_errorf(d, loc, "%s is too large: over 2^63 bytes (with symbolic "
                             "dimensions at their bounds); loom's limit is "
                             "2^40 bytes", what);
  return ir_errorf(d, loc, "%s is too large: %" PRId64 " bytes (with symbolic "
                           "dimensions at their bounds); loom's limit is 2^40 "
                           "bytes", what, bytes);
}

int64_t ir_dim_value(Dim d, const int64_t *binding) {
  return d.sym < 0 ? d.c : ir_size_mul(d.c, binding[d.sym]);
}

int64_t ir_shape_eval(const Shape *s, const int64_t *binding, int64_t *dims) {
  int64_t n = 1;
  for (int i = 0; i < s->rank; i++) {
    dims[i] = ir_dim_value(s->d[i], binding);
    n = ir_size_mul(n, dims[i]);
  }
  return n;
}

/* ---- layouts --------------------------------------------------------------- */

/* "row_major" or "panelP": 0, or P; -1 when neither. */
int ir_layout_panel(const char *layout) {
  if (strcmp(layout, "row_major") == 0) return 0;
  if (strncmp(layout, "panel", 5) != 0) return -1;
  char *end;
  long p = strtol(layout + 5, &end, 10);
  return *end || p < 1 || p > 4096 ? -1 : (int)p;
}

int ir_layout_pair(const char *layout) {
  if (strncmp(layout, "pair", 4) != 0) return 0;
  char *end;
  long p = strtol(layout + 4, &end, 10);
  return *end || p < 1 || p > 4096 ? 0 : (int)p;
}
