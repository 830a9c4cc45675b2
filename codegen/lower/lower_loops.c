/* lower_loops.c — the loop builders of lower_loops.h: how the per-op
 * lowerings (lower_ops.c, lower_reduce.c) run their loops.  The essay on
 * the three shapes of loop nest is at the top of lower_ops.c. */
#include "codegen/lower/lower_loops.h"

#include <string.h>

/* ---- sizes as monomials ------------------------------------------------- */

Mono lw_mono(int64_t c) {
  Mono m;
  memset(&m, 0, sizeof m);
  m.c = c;
  return m;
}

Mono lw_mono_dim(Dim d) {
  Mono m = lw_mono(d.c);
  if (d.sym >= 0 && d.c != 0) m.s[m.n++] = d.sym;
  return m;
}

Mono lw_mono_mul(Mono a, Mono b) {
  if (a.c == 0 || b.c == 0) return lw_mono(0);
  Mono m = lw_mono(a.c * b.c);
  int i = 0, j = 0;
  while (i < a.n || j < b.n) {
    IR_ASSERT(m.n < MONO_SYMS);
    if (j >= b.n || (i < a.n && a.s[i] <= b.s[j]))
      m.s[m.n++] = a.s[i++];
    else
      m.s[m.n++] = b.s[j++];
  }
  return m;
}

bool lw_mono_eq(const Mono *a, const Mono *b) {
  if (a->c != b->c || a->n != b->n) return false;
  for (int i = 0; i < a->n; i++)
    if (a->s[i] != b->s[i]) return false;
  return true;
}

bool lw_mono_is(const Mono *a, int64_t c) { return a->n == 0 && a->c == c; }

/* Largest value, symbols at their bounds (a double: no overflow). */
double lw_mono_max(const Lower *L, const Mono *a) {
  double v = (double)a->c;
  for (int i = 0; i < a->n; i++) v *= (double)L->g->syms[a->s[i]].bound;
  return v;
}

uint32_t lw_mono_expr(Lower *L, const Mono *a) {
  if (a->n == 0) return k_i64(L->k, a->c);
  uint32_t e = cg_dim(L, ir_dim_sym(a->s[0]));
  for (int i = 1; i < a->n; i++)
    e = k_mul(L->k, e, cg_dim(L, ir_dim_sym(a->s[i])));
  return k_muli(L->k, e, a->c);
}

/* Product of dims [from, to) of s. */
Mono lw_mono_dims(const Shape *s, int from, int to) {
  Mono m = lw_mono(1);
  for (int i = from; i < to; i++) m = lw_mono_mul(m, lw_mono_dim(s->d[i]));
  return m;
}

/* Row-major strides of s. */
void lw_mono_strides(const Shape *s, Mono *st) {
  Mono m = lw_mono(1);
  for (int i = s->rank - 1; i >= 0; i--) {
    st[i] = m;
    m = lw_mono_mul(m, lw_mono_dim(s->d[i]));
  }
}

/* ---- small helpers ------------------------------------------------------ */

const Shape *lw_shape_of(const Lower *L, uint32_t value) {
  return &L->g->values[value].shape;
}

int lw_axis_attr(const Lower *L, const Node *n, int rank) {
  int64_t a = ir_get_int(L->g, n, "axis");
  if (a < 0) a += rank;
  IR_ASSERT(a >= 0 && a < rank); /* the verifier checked it */
  return (int)a;
}

/* The same i64 value: one expression, or equal constants. */
bool lw_same_i64(Kernel *k, uint32_t a, uint32_t b) {
  int64_t x, y;
  return a == b || (k_is_const(k, a, &x) && k_is_const(k, b, &y) && x == y);
}

bool lw_empty_range(Kernel *k, uint32_t lo, uint32_t hi) {
  int64_t a, b;
  return k_is_const(k, lo, &a) && k_is_const(k, hi, &b) && a >= b;
}

/* An i64 expression bound to a variable unless it is a constant or
 * already a variable. */
uint32_t lw_let_i64(Kernel *k, const char *name, uint32_t e) {
  if (k_is_const(k, e, NULL) || k->exprs[e].kind == KE_VAR) return e;
  return k_var(k, k_let(k, name, e));
}

uint32_t lw_splat(Kernel *k, double v, int lanes) {
  return k_broadcast(k, k_f32(k, v), lanes);
}

uint32_t lw_vbin(Kernel *k, KOp op, uint32_t a, uint32_t b) {
  return k_binary(k, op, a, b);
}

/* A value bound to a variable: kmath's functions read their argument many
 * times, and the printers would repeat a whole expression each time. */
uint32_t lw_let_v(Kernel *k, const char *name, uint32_t e) {
  return k->exprs[e].kind == KE_VAR ? e : k_var(k, k_let(k, name, e));
}

/* A count (i64) as f32: exact below 2^24. */
uint32_t lw_f32_of(Kernel *k, uint32_t e) {
  int64_t c;
  if (k_is_const(k, e, &c)) return k_f32(k, (double)c);
  return k_convert(k, k_convert(k, e, kt(KT_I32, 1)), kt(KT_F32, 1));
}

/* An index (i64) as f64, through i32 and f32: exact below 2^24. */
uint32_t lw_f64_of(Kernel *k, uint32_t e) {
  return k_convert(k, lw_f32_of(k, e), kt(KT_F64, 1));
}

/* ---- W-wide passes with a scalar tail ----------------------------------- */

Span lw_span(Lower *L, int W, uint32_t lo, uint32_t hi) {
  Kernel *k = L->k;
  Span s = {lo, hi, hi, W};
  if (W > 1)
    s.mid = lw_let_i64(k, "nv", k_add(k, lo, k_floor_to(k, k_sub(k, hi, lo), W)));
  return s;
}

void lw_strips(Lower *L, Span s, bool parallel, StripFn fn, void *ctx) {
  Kernel *k = L->k;
  if (!lw_empty_range(k, s.lo, s.mid)) {
    uint32_t j = k_for(k, "j", s.lo, s.mid, s.W, parallel);
    fn(L, ctx, k_var(k, j), s.W);
    k_end(k);
  }
  if (s.W > 1 && !lw_empty_range(k, s.mid, s.hi)) {
    uint32_t j = k_for(k, "j", s.mid, s.hi, 1, false);
    fn(L, ctx, k_var(k, j), 1);
    k_end(k);
  }
}

/* op (KO_ADD, KO_MAX) over the span of fn's values, starting from init:
 * a vector accumulator over the W-wide part, reduced across its lanes,
 * then the scalar tail.  Returns the scalar result (f32). */
uint32_t lw_reduce_strips(Lower *L, Span s, KOp op, double init,
                              AccFn fn, void *ctx, const char *name) {
  Kernel *k = L->k;
  uint32_t acc = k_let(k, s.W > 1 ? "acc" : name, lw_splat(k, init, s.W));
  if (!lw_empty_range(k, s.lo, s.mid)) {
    uint32_t j = k_for(k, "j", s.lo, s.mid, s.W, false);
    k_set(k, acc, fn(L, ctx, k_var(k, acc), k_var(k, j), s.W));
    k_end(k);
  }
  if (s.W == 1) return k_var(k, acc);
  uint32_t r = k_let(k, name, k_reduce(k, op, k_var(k, acc)));
  if (!lw_empty_range(k, s.mid, s.hi)) {
    uint32_t j = k_for(k, "j", s.mid, s.hi, 1, false);
    k_set(k, r, fn(L, ctx, k_var(k, r), k_var(k, j), 1));
    k_end(k);
  }
  return k_var(k, r);
}

/* ---- nests: strided maps and copies ------------------------------------- */

/* A nest over `shape` written row-major to buffer `param`. */
void lw_nest_init(Lower *L, Nest *nt, uint32_t param, const Shape *shape,
                      ValFn fn, const Node *n) {
  memset(nt, 0, sizeof *nt);
  nt->rank = shape->rank;
  for (int d = 0; d < shape->rank; d++) nt->ext[d] = lw_mono_dim(shape->d[d]);
  nt->nops = 1;
  nt->param[0] = param;
  lw_mono_strides(shape, nt->stride[0]);
  nt->base[0] = k_i64(L->k, 0);
  nt->fn = fn;
  nt->node = n;
}

void lw_nest_operand(Lower *L, Nest *nt, uint32_t param,
                         const Mono *strides, uint32_t base) {
  IR_ASSERT(nt->nops < NEST_OPS);
  int b = nt->nops++;
  nt->param[b] = param;
  for (int d = 0; d < nt->rank; d++) nt->stride[b][d] = strides[d];
  nt->base[b] = base == K_NONE ? k_i64(L->k, 0) : base;
}

/* Drop loops of extent 1; merge loop d into the loop before it when every
 * buffer walks the two as one. */
void lw_nest_simplify(Nest *nt) {
  int r = 0;
  for (int d = 0; d < nt->rank; d++) {
    if (lw_mono_is(&nt->ext[d], 1)) continue;
    bool merge = r > 0;
    for (int b = 0; b < nt->nops && merge; b++) {
      Mono walk = lw_mono_mul(nt->stride[b][d], nt->ext[d]);
      merge = lw_mono_eq(&nt->stride[b][r - 1], &walk);
    }
    if (merge) {
      nt->ext[r - 1] = lw_mono_mul(nt->ext[r - 1], nt->ext[d]);
      for (int b = 0; b < nt->nops; b++) nt->stride[b][r - 1] = nt->stride[b][d];
    } else {
      nt->ext[r] = nt->ext[d];
      for (int b = 0; b < nt->nops; b++) nt->stride[b][r] = nt->stride[b][d];
      r++;
    }
  }
  if (r == 0) { /* a single element */
    nt->ext[0] = lw_mono(1);
    for (int b = 0; b < nt->nops; b++) nt->stride[b][0] = lw_mono(1);
    r = 1;
  }
  nt->rank = r;
}

void lw_row_elem(Lower *L, void *ctx, uint32_t j, int lanes) {
  Row *r = ctx;
  const Nest *nt = r->nt;
  Kernel *k = L->k;
  uint32_t in[NEST_OPS];
  for (int b = 1; b < nt->nops; b++) {
    if (r->bscalar[b] != K_NONE)
      in[b] = lanes > 1 ? r->bvec[b] : r->bscalar[b];
    else
      in[b] = k_load(k, nt->param[b],
                     k_add(k, r->base[b], k_mul(k, j, r->stride[b])), lanes);
  }
  uint32_t v = nt->fn(L, nt->node, in + 1, lanes);
  k_store(k, nt->param[0], k_add(k, r->base[0], k_mul(k, j, r->stride[0])), v);
}

void lw_nest_emit(Lower *L, Nest *nt) {
  Kernel *k = L->k;
  lw_nest_simplify(nt);
  double work = 1;
  for (int d = 0; d < nt->rank; d++) work *= lw_mono_max(L, &nt->ext[d]);
  bool par = work >= PAR_MIN_WORK;
  static const char *const names[NEST_OPS] = {"o", "a", "b"};

  /* the innermost loop runs W lanes wide when every buffer is contiguous
   * or broadcast along it (and the result contiguous) */
  Row r = {.nt = nt};
  int in = nt->rank - 1;
  bool vec = lw_mono_is(&nt->stride[0][in], 1);
  for (int b = 0; b < nt->nops; b++) {
    r.stride[b] = lw_mono_expr(L, &nt->stride[b][in]);
    r.bscalar[b] = r.bvec[b] = K_NONE;
    vec = vec && (lw_mono_is(&nt->stride[b][in], 1) || lw_mono_is(&nt->stride[b][in], 0));
  }
  int W = vec ? L->lanes : 1;
  Span s = lw_span(L, W, k_i64(k, 0), lw_mono_expr(L, &nt->ext[in]));

  /* the outer loops, each buffer's base advanced once per iteration */
  memcpy(r.base, nt->base, sizeof r.base);
  for (int d = 0; d < in; d++) {
    uint32_t i = k_var(k, k_for(k, "i", k_i64(k, 0), lw_mono_expr(L, &nt->ext[d]),
                                1, par && d == 0));
    uint32_t prev[NEST_OPS];
    memcpy(prev, r.base, sizeof prev);
    for (int b = 0; b < nt->nops; b++) {
      if (lw_mono_is(&nt->stride[b][d], 0)) continue;
      int same = -1; /* a buffer walked alike so far shares its base */
      for (int a = 0; a < b && same < 0; a++)
        if (lw_same_i64(k, prev[a], prev[b]) &&
            lw_mono_eq(&nt->stride[a][d], &nt->stride[b][d]))
          same = a;
      r.base[b] = same >= 0 ? r.base[same]
                            : lw_let_i64(k, names[b],
                                      k_add(k, r.base[b],
                                            k_mul(k, i, lw_mono_expr(L, &nt->stride[b][d]))));
    }
  }
  for (int b = 1; b < nt->nops; b++)
    if (lw_mono_is(&nt->stride[b][in], 0)) { /* one load per row */
      r.bscalar[b] = k_var(k, k_let(k, names[b], k_load(k, nt->param[b], r.base[b], 1)));
      r.bvec[b] = W > 1 ? k_var(k, k_let(k, names[b], k_broadcast(k, r.bscalar[b], W)))
                        : r.bscalar[b];
    }
  if (in == 0 && par) {
    /* one flat loop: parallel over blocks of PAR_BLOCK elements */
    uint32_t blk = k_var(k, k_for(k, "blk", s.lo, s.mid, PAR_BLOCK, true));
    uint32_t end = k_var(k, k_let(k, "end", k_binary(k, KO_MIN,
                                                     k_addi(k, blk, PAR_BLOCK),
                                                     s.mid)));
    uint32_t j = k_for(k, "j", blk, end, W, false);
    lw_row_elem(L, &r, k_var(k, j), W);
    k_end(k);
    k_end(k);
    if (W > 1 && !lw_empty_range(k, s.mid, s.hi)) {
      j = k_for(k, "j", s.mid, s.hi, 1, false);
      lw_row_elem(L, &r, k_var(k, j), 1);
      k_end(k);
    }
  } else {
    lw_strips(L, s, false, lw_row_elem, &r);
  }
  for (int d = 0; d < in; d++) k_end(k);
}

/* ---- maps and copies ---------------------------------------------------- */

/* x [...] -> out [...] elementwise (reshape: the same elements in order),
 * as one flat loop */
void lw_map(Lower *L, const Node *n, ValFn fn) {
  const Shape *so = lw_shape_of(L, n->out[0]);
  Shape flat = {.rank = 1};
  Nest nt;
  lw_nest_init(L, &nt, 0, &flat, fn, n);
  nt.ext[0] = lw_mono_dims(so, 0, so->rank);
  Mono one = lw_mono(1);
  lw_nest_operand(L, &nt, 1, &one, K_NONE);
  lw_nest_emit(L, &nt);
}

/* Strides of an operand of shape s read at every index of a result of
 * shape out, NumPy-broadcast: missing and size-1 dims walk with stride 0. */
void lw_bcast_strides(const Shape *s, const Shape *out, Mono *st) {
  Mono own[IR_MAX_RANK];
  lw_mono_strides(s, own);
  int lead = out->rank - s->rank;
  IR_ASSERT(lead >= 0);
  for (int d = 0; d < out->rank; d++) {
    int k = d - lead;
    bool bcast = k < 0 || (ir_dim_static(s->d[k]) && s->d[k].c == 1);
    st[d] = bcast ? lw_mono(0) : own[k];
  }
}

/* a [A...], b [B...] -> out [broadcast(A, B)]: fn(a, b) */
void lw_binary(Lower *L, const Node *n, ValFn fn) {
  const Shape *so = lw_shape_of(L, n->out[0]);
  Nest nt;
  lw_nest_init(L, &nt, 0, so, fn, n);
  for (int i = 0; i < 2; i++) {
    Mono st[IR_MAX_RANK];
    lw_bcast_strides(lw_shape_of(L, n->in[i]), so, st);
    lw_nest_operand(L, &nt, 1 + (uint32_t)i, st, K_NONE);
  }
  lw_nest_emit(L, &nt);
}

