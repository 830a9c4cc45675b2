/* shape.c — the shape rule of every op (ir_infer).  Evaluating and
 * formatting shapes, and the byte sizes of values, are in size.c.
 *
 * A dimension is a constant c or a product c*SYM (ir.h).  The rules below
 * only ever need to compare such products, multiply them by constants,
 * divide their coefficient, or add products of the same symbol, so every
 * result stays in that form; anything else (say S + T, or S - 1) is reported
 * to the user as a shape error rather than approximated.
 *
 * Broadcasting is NumPy's: shapes are aligned on the right, and a dimension
 * of size 1 stretches to the other's size.
 */
#include "ir/ir.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers for the rules --------------------------------------------- */

typedef struct {
  Graph *g;
  const Node *n;
  Diag *d;
} Ctx;

/* "%name: f32[S, 64]" for messages. */
static const char *describe(Ctx *c, uint32_t v, char *buf, size_t cap) {
  const Value *val = &c->g->values[v];
  char shape[256];
  ir_format_shape(c->g, &val->shape, shape, sizeof shape);
  if (val->name)
    snprintf(buf, cap, "'%s' %s%s", val->name, ir_dtype_name(val->dtype),
             shape);
  else
    snprintf(buf, cap, "%s%s", ir_dtype_name(val->dtype), shape);
  return buf;
}

__attribute__((format(printf, 2, 3))) static int fail(Ctx *c, const char *fmt,
                                                       ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return ir_errorf(c->d, c->n->loc, "%s: %s", ir_op_info(c->n->op)->name, msg);
}

static const Shape *shape_of(Ctx *c, int operand) {
  return &c->g->values[c->n->in[operand]].shape;
}

static int set_result(Ctx *c, int i, DType dt, const Shape *s) {
  Value *v = &c->g->values[c->n->out[i]];
  v->dtype = dt;
  v->shape = *s;
  return 0;
}

/* Normalize a possibly negative axis against rank. */
static int axis_of(Ctx *c, const char *key, int rank, int *axis) {
  int64_t a = ir_get_int(c->g, c->n, key);
  if (a < -rank || a >= rank)
    return fail(c, "%s %" PRId64 " is out of range for rank %d", key, a, rank);
  *axis = (int)(a < 0 ? a + rank : a);
  return 0;
}

static int need_f32(Ctx *c, int operand) {
  const Value *v = &c->g->values[c->n->in[operand]];
  if (v->dtype != DT_F32) {
    char b[300];
    return fail(c, "operand %d must be f32, got %s", operand + 1,
                describe(c, c->n->in[operand], b, sizeof b));
  }
  return 0;
}

static int need_rank_at_least(Ctx *c, int operand, int rank) {
  if (shape_of(c, operand)->rank < rank) {
    char b[300];
    return fail(c, "operand %d must have rank >= %d, got %s", operand + 1, rank,
                describe(c, c->n->in[operand], b, sizeof b));
  }
  return 0;
}

static bool is_one(Dim d) { return d.sym < 0 && d.c == 1; }

/* NumPy broadcasting of the leading `ra` dims of a and `rb` dims of b. */
static int broadcast(Ctx *c, const Shape *a, int ra, const Shape *b, int rb,
                     Shape *out) {
  int r = ra > rb ? ra : rb;
  out->rank = r;
  for (int i = 0; i < r; i++) {
    int ia = ra - r + i, ib = rb - r + i;
    Dim da = ia >= 0 ? a->d[ia] : ir_dim(1);
    Dim db = ib >= 0 ? b->d[ib] : ir_dim(1);
    if (ir_dim_eq(da, db) || is_one(db))
      out->d[i] = da;
    else if (is_one(da))
      out->d[i] = db;
    else {
      char x[256], y[256];
      ir_format_dim(c->g, da, x, sizeof x);
      ir_format_dim(c->g, db, y, sizeof y);
      char s1[300], s2[300];
      return fail(c, "cannot broadcast %s with %s (dimension %s vs %s)",
                  describe(c, c->n->in[0], s1, sizeof s1),
                  describe(c, c->n->in[1], s2, sizeof s2), x, y);
    }
  }
  return 0;
}

/* ---- the rules ---------------------------------------------------------- */

int ir_act_lookup(const char *name, Op *act) {
  if (strcmp(name, "none") == 0) {
    *act = OP_COUNT;
    return 0;
  }
  Op op = ir_op_lookup(name);
  if (op == OP_COUNT || !(ir_op_info(op)->flags & OPF_ACTIVATION)) return -1;
  *act = op;
  return 0;
}

Op ir_matmul_act(const Graph *g, const Node *n) {
  Op act;
  IR_ASSERT(ir_act_lookup(ir_get_str(g, n, "act"), &act) == 0); /* verified */
  return act;
}

int ir_act_names(const char **out) {
  int n = 0;
  for (int op = 0; op < OP_COUNT; op++)
    if (ir_op_info((Op)op)->flags & OPF_ACTIVATION) out[n++] = ir_op_info((Op)op)->name;
  out[n] = NULL;
  return n;
}

static int infer_matmul(Ctx *c) {
  bool bias = ir_get_int(c->g, c->n, "bias");
  bool residual = ir_get_int(c->g, c->n, "residual");
  const char *act = ir_get_str(c->g, c->n, "act");
  uint32_t want = 2u + bias + residual;
  if (c->n->nin != want)
    return fail(c, "takes %u operands with bias = %s, residual = %s, got %u",
                want, bias ? "true" : "false", residual ? "true" : "false",
                c->n->nin);
  Op act_op;
  if (ir_act_lookup(act, &act_op)) {
    const char *names[OP_COUNT + 1];
    char list[256] = "none";
    size_t len = strlen(list);
    for (int i = 0, n = ir_act_names(names); i < n; i++)
      len += (size_t)snprintf(list + len, sizeof list - len, ", %s", names[i]);
    return fail(c, "unknown act '%s' (%s)", act, list);
  }
  /* b may be bf16 (--dtype bf16): a is then rounded to bf16 as it is
   * read, and the products are summed in f32 or better */
  for (uint32_t i = 0; i < c->n->nin; i++)
    if (!(i == 1 && c->g->values[c->n->in[1]].dtype == DT_BF16) &&
        need_f32(c, (int)i))
      return -1;
  if (need_rank_at_least(c, 0, 2) || need_rank_at_least(c, 1, 2)) return -1;
  const Shape *a = shape_of(c, 0), *b = shape_of(c, 1);
  bool ta = ir_get_int(c->g, c->n, "transpose_a");
  bool tb = ir_get_int(c->g, c->n, "transpose_b");
  Dim m = a->d[a->rank - (ta ? 1 : 2)], ka = a->d[a->rank - (ta ? 2 : 1)];
  Dim kb = b->d[b->rank - (tb ? 1 : 2)], n = b->d[b->rank - (tb ? 2 : 1)];
  if (!ir_dim_eq(ka, kb)) {
    char s1[300], s2[300];
    return fail(c, "inner dimensions differ: %s%s and %s%s",
                describe(c, c->n->in[0], s1, sizeof s1),
                ta ? " (transposed)" : "",
                describe(c, c->n->in[1], s2, sizeof s2),
                tb ? " (transposed)" : "");
  }
  Shape out;
  if (broadcast(c, a, a->rank - 2, b, b->rank - 2, &out)) return -1;
  out.d[out.rank++] = m;
  out.d[out.rank++] = n;
  char s1[300], want_s[256];
  if (bias) {
    const Shape *bs = shape_of(c, 2);
    if (bs->rank != 1 || !ir_dim_eq(bs->d[0], n))
      return fail(c, "the bias must be [N] for the result's last dimension, "
                     "got %s", describe(c, c->n->in[2], s1, sizeof s1));
  }
  if (residual && !ir_shape_eq(shape_of(c, (int)want - 1), &out)) {
    ir_format_shape(c->g, &out, want_s, sizeof want_s);
    return fail(c, "the residual must have the result's shape %s, got %s",
                want_s, describe(c, c->n->in[want - 1], s1, sizeof s1));
  }
  return set_result(c, 0, DT_F32, &out);
}

static int infer_gather(Ctx *c) {
  const Value *ids = &c->g->values[c->n->in[1]];
  if (need_f32(c, 0) || need_rank_at_least(c, 0, 1)) return -1;
  if (ids->dtype != DT_I32) {
    char b[300];
    return fail(c, "ids (operand 2) must be i32, got %s",
                describe(c, c->n->in[1], b, sizeof b));
  }
  const Shape *t = shape_of(c, 0);
  Shape out = ids->shape;
  if (out.rank + t->rank - 1 > IR_MAX_RANK)
    return fail(c, "result rank exceeds %d", IR_MAX_RANK);
  for (int i = 1; i < t->rank; i++) out.d[out.rank++] = t->d[i];
  return set_result(c, 0, DT_F32, &out);
}

static int infer_binary(Ctx *c) {
  if (need_f32(c, 0) || need_f32(c, 1)) return -1;
  const Shape *a = shape_of(c, 0), *b = shape_of(c, 1);
  Shape out;
  if (broadcast(c, a, a->rank, b, b->rank, &out)) return -1;
  return set_result(c, 0, DT_F32, &out);
}

/* mask(x, keep): keep broadcasts to x, whose shape the result keeps */
static int infer_mask(Ctx *c) {
  if (need_f32(c, 0) || need_f32(c, 1)) return -1;
  const Shape *x = shape_of(c, 0), *m = shape_of(c, 1);
  Shape out;
  if (broadcast(c, x, x->rank, m, m->rank, &out)) return -1;
  bool same = out.rank == x->rank;
  for (int i = 0; same && i < x->rank; i++) same = ir_dim_eq(out.d[i], x->d[i]);
  if (!same) {
    char s1[300], s2[300];
    return fail(c, "keep %s must broadcast to the shape of %s",
                describe(c, c->n->in[1], s1, sizeof s1),
                describe(c, c->n->in[0], s2, sizeof s2));
  }
  return set_result(c, 0, DT_F32, x);
}

static int infer_unary(Ctx *c) {
  if (need_f32(c, 0)) return -1;
  return set_result(c, 0, DT_F32, shape_of(c, 0));
}

/* x [..., N] and each vector operand [N] */
static int infer_last_axis_vectors(Ctx *c) {
  if (need_rank_at_least(c, 0, 1)) return -1;
  const Shape *x = shape_of(c, 0);
  for (uint32_t i = 0; i < c->n->nin; i++)
    if (need_f32(c, (int)i)) return -1;
  for (uint32_t i = 1; i < c->n->nin; i++) {
    const Shape *v = shape_of(c, (int)i);
    if (v->rank != 1 || !ir_dim_eq(v->d[0], x->d[x->rank - 1])) {
      char s1[300], s2[300];
      return fail(c, "operand %u must be a vector as long as the last axis "
                     "of %s, got %s",
                  i + 1, describe(c, c->n->in[0], s1, sizeof s1),
                  describe(c, c->n->in[i], s2, sizeof s2));
    }
  }
  return set_result(c, 0, DT_F32, x);
}

static int infer_axis_same_shape(Ctx *c) {
  int axis;
  if (need_f32(c, 0) || need_rank_at_least(c, 0, 1) ||
      axis_of(c, "axis", shape_of(c, 0)->rank, &axis))
    return -1;
  return set_result(c, 0, DT_F32, shape_of(c, 0));
}

/* Symbols of a product as a small multiset: counts per symbol. */
typedef struct {
  int64_t coeff;
  int n;
  int32_t sym[IR_MAX_RANK];
} Product;

static void product_mul(Product *p, Dim d) {
  p->coeff = ir_size_mul(p->coeff, d.c);
  if (d.sym >= 0) p->sym[p->n++] = d.sym;
}

/* Remove one occurrence of sym; false if absent. */
static bool product_take(Product *p, int32_t sym) {
  for (int i = 0; i < p->n; i++)
    if (p->sym[i] == sym) {
      p->sym[i] = p->sym[--p->n];
      return true;
    }
  return false;
}

/* expand(x) {shape}: x broadcasts to shape (no -1) */
static int infer_expand(Ctx *c) {
  if (need_f32(c, 0)) return -1;
  const Attr *a = ir_get_attr(c->n, "shape");
  if (a->n > IR_MAX_RANK) return fail(c, "shape has more than %d entries", IR_MAX_RANK);
  Shape want = {.rank = a->n}, out;
  for (int i = 0; i < a->n; i++) {
    if (a->dims[i].c < 1)
      return fail(c, "shape entry %d is %" PRId64 "; sizes must be positive", i,
                  a->dims[i].c);
    want.d[i] = a->dims[i];
  }
  const Shape *x = shape_of(c, 0);
  bool ok = x->rank <= want.rank && !broadcast(c, &want, want.rank, x, x->rank, &out);
  for (int i = 0; ok && i < want.rank; i++) ok = ir_dim_eq(out.d[i], want.d[i]);
  if (!ok) {
    char s1[300], w[300];
    ir_format_shape(c->g, &want, w, sizeof w);
    return fail(c, "cannot expand %s to %s", describe(c, c->n->in[0], s1, sizeof s1), w);
  }
  return set_result(c, 0, DT_F32, &want);
}

static int infer_reshape(Ctx *c) {
  if (need_f32(c, 0)) return -1;
  const Attr *a = ir_get_attr(c->n, "shape");
  const Shape *x = shape_of(c, 0);
  char s1[300];
  if (a->n > IR_MAX_RANK) return fail(c, "shape has more than %d entries", IR_MAX_RANK);
  Product in = {1, 0, {0}};
  for (int i = 0; i < x->rank; i++) product_mul(&in, x->d[i]);
  Product rest = in;
  int infer_at = -1;
  Shape out = {.rank = a->n};
  for (int i = 0; i < a->n; i++) {
    Dim d = a->dims[i];
    if (d.sym < 0 && d.c == -1) {
      if (infer_at >= 0) return fail(c, "shape has more than one -1");
      infer_at = i;
      continue;
    }
    if (d.c < 1) return fail(c, "shape entry %d is %" PRId64 "; sizes must be positive (or one -1)", i, d.c);
    out.d[i] = d;
    if (d.sym >= 0 && !product_take(&rest, d.sym))
      goto mismatch;
    if (rest.coeff % d.c) goto mismatch;
    rest.coeff /= d.c;
  }
  if (infer_at >= 0) {
    if (rest.n > 1)
      return fail(c, "cannot infer -1: it would be a product of symbols");
    out.d[infer_at] = rest.n ? (Dim){rest.coeff, rest.sym[0]} : ir_dim(rest.coeff);
  } else if (rest.n || rest.coeff != 1) {
    goto mismatch;
  }
  return set_result(c, 0, DT_F32, &out);
mismatch: {
  char want[300];
  Shape w = {.rank = a->n};
  for (int i = 0; i < a->n; i++) w.d[i] = a->dims[i];
  ir_format_shape(c->g, &w, want, sizeof want);
  return fail(c, "cannot reshape %s to %s: element counts differ",
              describe(c, c->n->in[0], s1, sizeof s1), want);
}
}

static int infer_transpose(Ctx *c) {
  const Attr *p = ir_get_attr(c->n, "perm");
  const Shape *x = shape_of(c, 0);
  if (need_f32(c, 0)) return -1;
  if (p->n != x->rank)
    return fail(c, "perm has %d entries for an operand of rank %d", p->n, x->rank);
  bool seen[IR_MAX_RANK] = {0};
  Shape out = {.rank = x->rank};
  for (int i = 0; i < p->n; i++) {
    int64_t k = p->ints[i];
    if (k < 0 || k >= x->rank || seen[k])
      return fail(c, "perm is not a permutation of 0..%d", x->rank - 1);
    seen[k] = true;
    out.d[i] = x->d[k];
  }
  return set_result(c, 0, DT_F32, &out);
}

/* Upper bound of a dim (its value when the symbol is at its bound). */
static int64_t dim_max(const Graph *g, Dim d) {
  return d.sym < 0 ? d.c : ir_size_mul(d.c, g->syms[d.sym].bound);
}

static int infer_slice(Ctx *c) {
  int axis;
  const Shape *x = shape_of(c, 0);
  if (need_f32(c, 0) || need_rank_at_least(c, 0, 1) ||
      axis_of(c, "axis", x->rank, &axis))
    return -1;
  Dim st = ir_get_attr(c->n, "start")->set ? ir_get_attr(c->n, "start")->dim
                                            : ir_dim(0);
  const Attr *end = ir_get_attr(c->n, "end"), *len = ir_get_attr(c->n, "len");
  Dim full = x->d[axis];
  char b[64], s1[300];
  if (end->set && len->set) return fail(c, "give end or len, not both");
  if (len->set || st.sym >= 0) {
    /* x[start : start + len]: start may be a symbol (a position P) */
    if (!len->set) {
      ir_format_dim(c->g, st, b, sizeof b);
      return fail(c, "a slice starting at symbol %s needs len", b);
    }
    Dim l = len->dim;
    ir_format_dim(c->g, l, b, sizeof b);
    if (l.c < 1) return fail(c, "len %s must be positive", b);
    int64_t st_min = st.sym >= 0 ? 0 : st.c;
    if (st.c < 0) return fail(c, "start is negative");
    if (ir_size_add(st_min, dim_max(c->g, l)) > dim_max(c->g, full))
      return fail(c, "len %s from start does not fit axis %d of %s", b, axis,
                  describe(c, c->n->in[0], s1, sizeof s1));
    Shape out = *x;
    out.d[axis] = l;
    return set_result(c, 0, DT_F32, &out);
  }
  int64_t start = st.c;
  Dim e = end->set ? end->dim : full;
  ir_format_dim(c->g, e, b, sizeof b);
  if (start < 0) return fail(c, "start %" PRId64 " is negative", start);
  if (e.c < 1) return fail(c, "end %s must be positive", b);
  if (dim_max(c->g, e) > dim_max(c->g, full) ||
      (full.sym >= 0 && e.sym >= 0 && e.sym != full.sym) ||
      (full.sym < 0 && e.sym < 0 && e.c > full.c))
    return fail(c, "end %s is beyond axis %d of %s", b, axis,
                describe(c, c->n->in[0], s1, sizeof s1));
  Shape out = *x;
  if (e.sym >= 0) {
    if (start != 0)
      return fail(c, "a slice with symbolic end %s must start at 0", b);
    out.d[axis] = e;
  } else {
    if (start >= e.c)
      return fail(c, "start %" PRId64 " is not before end %s", start, b);
    out.d[axis] = ir_dim(e.c - start);
  }
  return set_result(c, 0, DT_F32, &out);
}

static int infer_split(Ctx *c) {
  int axis;
  const Shape *x = shape_of(c, 0);
  if (need_f32(c, 0) || need_rank_at_least(c, 0, 1) ||
      axis_of(c, "axis", x->rank, &axis))
    return -1;
  const Attr *sizes = ir_get_attr(c->n, "sizes");
  const Attr *parts = ir_get_attr(c->n, "parts");
  Dim full = x->d[axis];
  char s1[300];
  if (sizes->set == parts->set)
    return fail(c, "give exactly one of 'sizes' and 'parts'");
  int n = sizes->set ? sizes->n : (int)parts->i;
  if (n < 1) return fail(c, "needs at least one piece");
  if ((uint32_t)n != c->n->nout)
    return fail(c, "makes %d pieces but has %u results", n, c->n->nout);
  Shape out = *x;
  if (parts->set) {
    if (full.c % n)
      return fail(c, "axis %d of %s does not divide into %d parts", axis,
                  describe(c, c->n->in[0], s1, sizeof s1), n);
    out.d[axis] = (Dim){full.c / n, full.sym};
    for (int i = 0; i < n; i++) set_result(c, i, DT_F32, &out);
    return 0;
  }
  if (full.sym >= 0)
    return fail(c, "'sizes' needs a static axis; use 'parts' for %s",
                describe(c, c->n->in[0], s1, sizeof s1));
  int64_t sum = 0;
  for (int i = 0; i < n; i++) {
    if (sizes->ints[i] < 1) return fail(c, "sizes must be positive");
    sum = ir_size_add(sum, sizes->ints[i]);
  }
  if (sum != full.c)
    return fail(c, "sizes add up to %" PRId64 " but axis %d of %s is %" PRId64,
                sum, axis, describe(c, c->n->in[0], s1, sizeof s1), full.c);
  for (int i = 0; i < n; i++) {
    out.d[axis] = ir_dim(sizes->ints[i]);
    set_result(c, i, DT_F32, &out);
  }
  return 0;
}

static int infer_concat(Ctx *c) {
  int axis;
  const Shape *x = shape_of(c, 0);
  for (uint32_t i = 0; i < c->n->nin; i++)
    if (need_f32(c, (int)i)) return -1;
  if (need_rank_at_least(c, 0, 1) || axis_of(c, "axis", x->rank, &axis))
    return -1;
  Shape out = *x;
  for (uint32_t i = 1; i < c->n->nin; i++) {
    const Shape *y = shape_of(c, (int)i);
    char s1[300], s2[300];
    bool ok = y->rank == x->rank;
    for (int k = 0; ok && k < x->rank; k++)
      if (k != axis && !ir_dim_eq(x->d[k], y->d[k])) ok = false;
    if (!ok)
      return fail(c, "operands differ outside axis %d: %s and %s", axis,
                  describe(c, c->n->in[0], s1, sizeof s1),
                  describe(c, c->n->in[i], s2, sizeof s2));
    Dim a = out.d[axis], b = y->d[axis];
    if (a.sym != b.sym)
      return fail(c, "cannot add dimensions of different symbols along axis %d",
                  axis);
    out.d[axis] = (Dim){a.c + b.c, a.sym};
  }
  return set_result(c, 0, DT_F32, &out);
}

static int infer_causal_mask(Ctx *c) {
  if (need_f32(c, 0) || need_rank_at_least(c, 0, 2)) return -1;
  return set_result(c, 0, DT_F32, shape_of(c, 0));
}

static int infer_sinusoidal_pe(Ctx *c) {
  const Attr *len = ir_get_attr(c->n, "len");
  int64_t d = ir_get_int(c->g, c->n, "d");
  if (len->dim.c < 1) return fail(c, "len must be positive");
  if (d < 1) return fail(c, "d must be positive, got %" PRId64, d);
  Shape out = {.rank = 2, .d = {len->dim, ir_dim(d)}};
  return set_result(c, 0, DT_F32, &out);
}

static int infer_patchify(Ctx *c) {
  const Shape *x = shape_of(c, 0);
  char s1[300];
  int64_t p = ir_get_int(c->g, c->n, "patch");
  if (need_f32(c, 0)) return -1;
  int r = x->rank; /* [..., C, H, W]: the image static, batch dims any */
  if (r > IR_MAX_RANK - 2)
    return fail(c, "at most %d batch dims before the image", IR_MAX_RANK - 5);
  if (r < 3 || x->d[r - 3].sym >= 0 || x->d[r - 2].sym >= 0 || x->d[r - 1].sym >= 0)
    return fail(c, "operand must be a static image [..., C, H, W], got %s",
                describe(c, c->n->in[0], s1, sizeof s1));
  if (p < 1 || x->d[r - 2].c % p || x->d[r - 1].c % p)
    return fail(c, "patch %" PRId64 " does not divide the image %s", p,
                describe(c, c->n->in[0], s1, sizeof s1));
  Shape out = {.rank = r - 1};
  for (int i = 0; i < r - 3; i++) out.d[i] = x->d[i];
  out.d[r - 3] = ir_dim((x->d[r - 2].c / p) * (x->d[r - 1].c / p));
  out.d[r - 2] = ir_dim(x->d[r - 3].c * p * p);
  return set_result(c, 0, DT_F32, &out);
}

static int infer_mean(Ctx *c) {
  int axis = 0;
  const Shape *x = shape_of(c, 0);
  if (need_f32(c, 0) || need_rank_at_least(c, 0, 1) ||
      axis_of(c, "axis", x->rank, &axis))
    return -1;
  if (c->n->nin > 1) { /* keep: x's dims up to and including axis */
    const Shape *m = shape_of(c, 1);
    bool ok = m->rank == axis + 1;
    for (int i = 0; ok && i <= axis; i++) ok = ir_dim_eq(m->d[i], x->d[i]);
    if (need_f32(c, 1)) return -1;
    if (!ok) {
      char s1[300], s2[300];
      return fail(c, "keep must have the dims of %s up to axis %d, got %s",
                  describe(c, c->n->in[0], s1, sizeof s1), axis,
                  describe(c, c->n->in[1], s2, sizeof s2));
    }
  }
  Shape out = *x;
  if (ir_get_int(c->g, c->n, "keepdims")) {
    out.d[axis] = ir_dim(1);
  } else {
    for (int i = axis; i + 1 < x->rank; i++) out.d[i] = x->d[i + 1];
    out.rank--;
  }
  return set_result(c, 0, DT_F32, &out);
}

/* attention(q, k, v [, keep]), order hsd: q [..., H, Sq, D],
 * k [..., H, Sk, D], v [..., H, Sk, Dv] -> [..., H, Sq, Dv]; order shd:
 * [..., Sq, H, D] and so on.  The leading dims are the same for all three
 * (no broadcasting); keep is [..., Sk] with those leading dims. */
static int infer_attention(Ctx *c) {
  const char *order = ir_get_str(c->g, c->n, "order");
  bool shd = strcmp(order, "shd") == 0;
  if (!shd && strcmp(order, "hsd") != 0)
    return fail(c, "unknown order '%s' (hsd, shd)", order);
  for (uint32_t i = 0; i < c->n->nin; i++)
    if (need_f32(c, (int)i) || need_rank_at_least(c, (int)i, i < 3 ? 3 : 1))
      return -1;
  const Shape *q = shape_of(c, 0), *k = shape_of(c, 1), *v = shape_of(c, 2);
  int r = q->rank, is = shd ? r - 3 : r - 2; /* the S axis */
  char s1[300], s2[300];
  for (int i = 1; i < 3; i++) {
    const Shape *x = shape_of(c, i);
    bool ok = x->rank == r;
    for (int j = 0; ok && j < r - 1; j++)
      if (j != is && !ir_dim_eq(x->d[j], q->d[j])) ok = false;
    if (ok && i == 1 && !ir_dim_eq(x->d[r - 1], q->d[r - 1])) ok = false;
    if (ok && i == 2 && !ir_dim_eq(x->d[is], k->d[is])) ok = false;
    if (!ok)
      return fail(c, "%s does not fit %s (order %s: [..., %s, D] each, "
                     "k and v with the same keys)",
                  describe(c, c->n->in[i], s1, sizeof s1),
                  describe(c, c->n->in[0], s2, sizeof s2), order,
                  shd ? "S, H" : "H, S");
  }
  if (c->n->nin == 4) {
    const Shape *m = shape_of(c, 3);
    int lead = r - 3; /* the dims before H (hsd) or S (shd) */
    bool ok = m->rank == lead + 1 && ir_dim_eq(m->d[lead], k->d[is]);
    for (int j = 0; ok && j < lead; j++) ok = ir_dim_eq(m->d[j], q->d[j]);
    if (!ok)
      return fail(c, "keep must be [..., Sk] with q's leading dimensions, "
                     "got %s", describe(c, c->n->in[3], s1, sizeof s1));
  }
  Shape out = *q;
  out.d[r - 1] = v->d[r - 1];
  return set_result(c, 0, DT_F32, &out);
}

/* write_rows(state, x): x has state's shape except along axis, where it
 * fits from `at` on; the result is the state (same type).  The state must
 * be a graph input declared {state = true}: only such storage persists
 * and may be written in place. */
static int infer_write_rows(Ctx *c) {
  int axis;
  const Shape *st = shape_of(c, 0), *x = shape_of(c, 1);
  if (need_f32(c, 0) || need_f32(c, 1) || need_rank_at_least(c, 0, 1) ||
      axis_of(c, "axis", st->rank, &axis))
    return -1;
  const Node *src = &c->g->nodes[c->g->values[c->n->in[0]].node];
  if (src->op != OP_INPUT || !ir_get_int(c->g, src, "state"))
    return fail(c, "writes only a state input ({state = true})");
  char s1[300], s2[300];
  bool ok = x->rank == st->rank;
  for (int j = 0; ok && j < st->rank; j++)
    if (j != axis && !ir_dim_eq(x->d[j], st->d[j])) ok = false;
  Dim at = ir_get_attr(c->n, "at")->set ? ir_get_attr(c->n, "at")->dim : ir_dim(0);
  if (ok && ir_size_add(at.sym >= 0 ? 0 : at.c, dim_max(c->g, x->d[axis])) >
                dim_max(c->g, st->d[axis]))
    ok = false;
  if (!ok)
    return fail(c, "%s does not fit into %s along axis %d",
                describe(c, c->n->in[1], s1, sizeof s1),
                describe(c, c->n->in[0], s2, sizeof s2), axis);
  Shape out = *st;
  return set_result(c, 0, DT_F32, &out);
}

/* Sources carry their declared type; check it is well formed. */
static int infer_source(Ctx *c) {
  const Value *v = &c->g->values[c->n->out[0]];
  if (c->n->op == OP_INPUT) {
    int64_t fill = ir_get_int(c->g, c->n, "fill");
    if (fill != 0 && fill != 1)
      return fail(c, "fill must be 0 or 1, got %lld", (long long)fill);
  }
  if (c->n->op == OP_CONST) {
    const char *layout = ir_get_str(c->g, c->n, "layout");
    int p = ir_layout_panel(layout), q = ir_layout_pair(layout);
    if (p < 0 && q == 0)
      return fail(c, "unknown layout '%s' (row_major, panelP, pairP)", layout);
    if ((p > 0 || q > 0) && v->shape.rank != 2)
      return fail(c, "a panel layout needs a matrix, got rank %d",
                  v->shape.rank);
    if (q > 0 && v->dtype != DT_BF16)
      return fail(c, "the pair layout holds bf16, got %s",
                  ir_dtype_name(v->dtype));
  }
  if (c->n->op == OP_INPUT) {
    const Attr *bd = ir_get_attr(c->n, "binds");
    if (bd->set && (bd->dim.sym < 0 || bd->dim.c != 1 || v->dtype != DT_I32 ||
                    v->shape.rank != 0))
      return fail(c, "an input that binds a symbol is a scalar i32[] and "
                     "names one symbol");
    if (ir_get_int(c->g, c->n, "state") && (v->dtype != DT_F32 || bd->set))
      return fail(c, "a state input is f32");
  }
  for (int i = 0; i < v->shape.rank; i++) {
    Dim d = v->shape.d[i];
    if (d.c < 1 || (d.sym >= 0 && (uint32_t)d.sym >= c->g->n_syms))
      return fail(c, "%%%s has an invalid dimension %d", v->name ? v->name : "?", i);
  }
  return 0;
}

static int infer_rule(Ctx *c);

int ir_infer(Graph *g, uint32_t id, Diag *d) {
  IR_ASSERT(id < g->n_nodes);
  Ctx c = {g, &g->nodes[id], d};
  const Node *n = c.n;
  const OpInfo *info = ir_op_info(n->op);
  if ((int)n->nin < info->min_in ||
      (info->max_in >= 0 && (int)n->nin > info->max_in)) {
    if (info->max_in < 0)
      return fail(&c, "takes at least %d operand%s, got %u", info->min_in,
                  info->min_in == 1 ? "" : "s", n->nin);
    return fail(&c, "takes %d operand%s, got %u", info->max_in,
                info->max_in == 1 ? "" : "s", n->nin);
  }
  if (info->nout >= 0 && (int)n->nout != info->nout)
    return fail(&c, "has %d result%s, got %u", info->nout,
                info->nout == 1 ? "" : "s", n->nout);
  for (int i = 0; i < info->nattrs; i++)
    if (!info->attrs[i].dflt && !n->attr[i].set)
      return fail(&c, "missing attribute '%s'", info->attrs[i].key);
  if (infer_rule(&c)) return -1;
  /* Every value fits IR_MAX_BYTES at its bounds: from here on, no product
   * of its dimensions overflows (ir.h). */
  for (uint32_t i = 0; i < n->nout; i++) {
    const Value *v = &g->values[n->out[i]];
    int64_t bytes = ir_bound_bytes(g, v);
    if (n->op == OP_CONST)
      bytes = ir_const_bytes(g, v, ir_get_str(g, n, "layout"));
    if (bytes > IR_MAX_BYTES) {
      char what[400], val[300];
      snprintf(what, sizeof what, "%s: %s", info->name,
               describe(&c, n->out[i], val, sizeof val));
      return ir_check_bytes(d, n->loc, what, bytes);
    }
  }
  return 0;
}

/* The op's shape rule. */
static int infer_rule(Ctx *c) {
  const Node *n = c->n;
  switch (n->op) {
  case OP_INPUT:
  case OP_WEIGHT:
  case OP_CONST: return infer_source(c);
  case OP_GATHER: return infer_gather(c);
  case OP_ADD:
  case OP_MUL: return infer_binary(c);
  case OP_SCALE:
  case OP_RELU:
  case OP_GELU:
  case OP_GELU_TANH: return infer_unary(c);
  case OP_MATMUL: return infer_matmul(c);
  case OP_BIAS_ADD:
  case OP_LAYERNORM: return infer_last_axis_vectors(c);
  case OP_SOFTMAX:
  case OP_L2_NORMALIZE: return infer_axis_same_shape(c);
  case OP_RESHAPE: return infer_reshape(c);
  case OP_EXPAND: return infer_expand(c);
  case OP_TRANSPOSE: return infer_transpose(c);
  case OP_SLICE: return infer_slice(c);
  case OP_SPLIT: return infer_split(c);
  case OP_CONCAT: return infer_concat(c);
  case OP_CAUSAL_MASK: return infer_causal_mask(c);
  case OP_SINUSOIDAL_PE: return infer_sinusoidal_pe(c);
  case OP_PATCHIFY: return infer_patchify(c);
  case OP_MEAN: return infer_mean(c);
  case OP_MASK: return infer_mask(c);
  case OP_ATTENTION: return infer_attention(c);
  case OP_WRITE_ROWS: return infer_write_rows(c);
  case OP_COUNT: break;
  }
  IR_ASSERT(!"unknown op");
  return -1;
}
