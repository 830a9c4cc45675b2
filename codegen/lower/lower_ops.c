/* lower_ops.c — Kernel IR for every op but matmul (lower_matmul.c).
 *
 * What each op computes is ir/interp.c's definition; this file decides only
 * how the loops run.  Three shapes of loop nest cover all the ops:
 *
 * 1. Strided copies and elementwise maps (add, mul, bias_add, scale, the
 *    activations, reshape, transpose, slice, split, concat, patchify) are a
 *    Nest: a box of loops over the result, and for each buffer a stride per
 *    loop (0 where an operand is broadcast) and a base offset.  Before any
 *    code is built, loops of extent 1 are dropped and neighbouring loops are
 *    merged wherever every buffer walks them as one (stride[k] ==
 *    stride[k+1] * extent[k+1]), so `add` of two [S, 768] tensors is one
 *    flat loop, bias_add is rows × a contiguous row, and a transpose keeps
 *    only the dims it really permutes.  Extents and strides are kept as
 *    monomials c·S·T… while merging, so symbolic dims merge exactly like
 *    static ones.  The innermost loop is vectorized when every buffer is
 *    contiguous (stride 1) or broadcast (stride 0) along it; a broadcast
 *    operand is loaded once per row.  A strided innermost read (transpose)
 *    runs scalar.
 *
 * 2. Reductions along the last axis (softmax, layernorm, l2_normalize,
 *    mean) are rows: one loop over the rows, and inside it passes over the
 *    row, each W lanes wide with a vector accumulator reduced across lanes
 *    once per pass, then a scalar tail.  Softmax is max → exp(x − max)
 *    stored and summed → scaled by 1/sum; layernorm is mean → biased
 *    variance → normalize.  Sums accumulate in f32 vectors.
 *
 * 3. Reductions along any other axis (x viewed as [outer, L, inner]) keep
 *    one accumulator per lane: W neighbouring columns of `inner` are
 *    reduced together along L, so no cross-lane reduction is needed.
 *
 * Every W-wide loop covers the largest multiple of W (k_floor_to) and is
 * followed by a scalar tail, so a kernel is correct for any lanes >= 1; with
 * lanes = 1 only the scalar loop is built.  Index arithmetic is hoisted:
 * row bases are computed once per row as `let`s, never by division or
 * modulo inside a loop.  The outermost loop over independent rows (or, for
 * a flat map, blocks of PAR_BLOCK elements) is marked parallel when the
 * kernel touches at least PAR_MIN_WORK elements — symbolic dims counted at
 * their bounds — and never a loop nested inside another parallel one.
 *
 * NaN and infinities follow the interpreter without special cases: a row
 * of softmax that is all −inf has max −inf, so x − max is NaN, km_exp keeps
 * NaN, and the whole row comes out NaN as torch.softmax gives.
 */
#include "codegen/kir/kmath.h"
#include "codegen/lower/lower.h"

#include <math.h>
#include <string.h>

/* Kernels touching fewer elements stay serial: waking a thread team costs
 * more than the work. */
#define PAR_MIN_WORK 32768
/* Elements per iteration of a flat parallel loop (a multiple of any
 * vector width). */
#define PAR_BLOCK 4096

/* ---- sizes as monomials ------------------------------------------------- */

/* c · s[0] · s[1] · … (symbols sorted): an extent or a stride.  Merging
 * loops compares these, so [S, 64] and [64·S] are recognized as one walk. */
#define MONO_SYMS 16
typedef struct {
  int64_t c;
  int n;
  int32_t s[MONO_SYMS];
} Mono;

static Mono mono(int64_t c) {
  Mono m;
  memset(&m, 0, sizeof m);
  m.c = c;
  return m;
}

static Mono mono_dim(Dim d) {
  Mono m = mono(d.c);
  if (d.sym >= 0 && d.c != 0) m.s[m.n++] = d.sym;
  return m;
}

static Mono mono_mul(Mono a, Mono b) {
  if (a.c == 0 || b.c == 0) return mono(0);
  Mono m = mono(a.c * b.c);
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

static bool mono_eq(const Mono *a, const Mono *b) {
  if (a->c != b->c || a->n != b->n) return false;
  for (int i = 0; i < a->n; i++)
    if (a->s[i] != b->s[i]) return false;
  return true;
}

static bool mono_is(const Mono *a, int64_t c) { return a->n == 0 && a->c == c; }

/* Largest value, symbols at their bounds (a double: no overflow). */
static double mono_max(const Lower *L, const Mono *a) {
  double v = (double)a->c;
  for (int i = 0; i < a->n; i++) v *= (double)L->g->syms[a->s[i]].bound;
  return v;
}

static uint32_t mono_expr(Lower *L, const Mono *a) {
  if (a->n == 0) return k_i64(L->k, a->c);
  uint32_t e = cg_dim(L, ir_dim_sym(a->s[0]));
  for (int i = 1; i < a->n; i++)
    e = k_mul(L->k, e, cg_dim(L, ir_dim_sym(a->s[i])));
  return k_muli(L->k, e, a->c);
}

/* Product of dims [from, to) of s. */
static Mono mono_dims(const Shape *s, int from, int to) {
  Mono m = mono(1);
  for (int i = from; i < to; i++) m = mono_mul(m, mono_dim(s->d[i]));
  return m;
}

/* Row-major strides of s. */
static void mono_strides(const Shape *s, Mono *st) {
  Mono m = mono(1);
  for (int i = s->rank - 1; i >= 0; i--) {
    st[i] = m;
    m = mono_mul(m, mono_dim(s->d[i]));
  }
}

/* ---- small helpers ------------------------------------------------------ */

static const Shape *shape_of(const Lower *L, uint32_t value) {
  return &L->g->values[value].shape;
}

static int axis_attr(const Lower *L, const Node *n, int rank) {
  int64_t a = ir_get_int(L->g, n, "axis");
  if (a < 0) a += rank;
  IR_ASSERT(a >= 0 && a < rank); /* the verifier checked it */
  return (int)a;
}

/* The same i64 value: one expression, or equal constants. */
static bool same_i64(Kernel *k, uint32_t a, uint32_t b) {
  int64_t x, y;
  return a == b || (k_is_const(k, a, &x) && k_is_const(k, b, &y) && x == y);
}

static bool empty_range(Kernel *k, uint32_t lo, uint32_t hi) {
  int64_t a, b;
  return k_is_const(k, lo, &a) && k_is_const(k, hi, &b) && a >= b;
}

/* An i64 expression bound to a variable unless it is a constant or
 * already a variable. */
static uint32_t let_i64(Kernel *k, const char *name, uint32_t e) {
  if (k_is_const(k, e, NULL) || k->exprs[e].kind == KE_VAR) return e;
  return k_var(k, k_let(k, name, e));
}

static uint32_t splat(Kernel *k, double v, int lanes) {
  return k_broadcast(k, k_f32(k, v), lanes);
}

static uint32_t vbin(Kernel *k, KOp op, uint32_t a, uint32_t b) {
  return k_binary(k, op, a, b);
}

/* A value bound to a variable: kmath's functions read their argument many
 * times, and the printers would repeat a whole expression each time. */
static uint32_t let_v(Kernel *k, const char *name, uint32_t e) {
  return k->exprs[e].kind == KE_VAR ? e : k_var(k, k_let(k, name, e));
}

/* A count (i64) as f32: exact below 2^24. */
static uint32_t f32_of(Kernel *k, uint32_t e) {
  int64_t c;
  if (k_is_const(k, e, &c)) return k_f32(k, (double)c);
  return k_convert(k, k_convert(k, e, kt(KT_I32, 1)), kt(KT_F32, 1));
}

/* An index (i64) as f64, through i32 and f32: exact below 2^24. */
static uint32_t f64_of(Kernel *k, uint32_t e) {
  return k_convert(k, f32_of(k, e), kt(KT_F64, 1));
}

/* ---- W-wide passes with a scalar tail ----------------------------------- */

/* [lo, mid) in steps of W, then [mid, hi) one by one. */
typedef struct {
  uint32_t lo, mid, hi;
  int W;
} Span;

static Span span(Lower *L, int W, uint32_t lo, uint32_t hi) {
  Kernel *k = L->k;
  Span s = {lo, hi, hi, W};
  if (W > 1)
    s.mid = let_i64(k, "nv", k_add(k, lo, k_floor_to(k, k_sub(k, hi, lo), W)));
  return s;
}

/* Emits the body for element j (lanes W, or 1 in the tail). */
typedef void (*StripFn)(Lower *L, void *ctx, uint32_t j, int lanes);

static void strips(Lower *L, Span s, bool parallel, StripFn fn, void *ctx) {
  Kernel *k = L->k;
  if (!empty_range(k, s.lo, s.mid)) {
    uint32_t j = k_for(k, "j", s.lo, s.mid, s.W, parallel);
    fn(L, ctx, k_var(k, j), s.W);
    k_end(k);
  }
  if (s.W > 1 && !empty_range(k, s.mid, s.hi)) {
    uint32_t j = k_for(k, "j", s.mid, s.hi, 1, false);
    fn(L, ctx, k_var(k, j), 1);
    k_end(k);
  }
}

/* Returns the accumulator updated with element j (lanes W, or 1). */
typedef uint32_t (*AccFn)(Lower *L, void *ctx, uint32_t acc, uint32_t j,
                          int lanes);

/* op (KO_ADD, KO_MAX) over the span of fn's values, starting from init:
 * a vector accumulator over the W-wide part, reduced across its lanes,
 * then the scalar tail.  Returns the scalar result (f32). */
static uint32_t reduce_strips(Lower *L, Span s, KOp op, double init,
                              AccFn fn, void *ctx, const char *name) {
  Kernel *k = L->k;
  uint32_t acc = k_let(k, s.W > 1 ? "acc" : name, splat(k, init, s.W));
  if (!empty_range(k, s.lo, s.mid)) {
    uint32_t j = k_for(k, "j", s.lo, s.mid, s.W, false);
    k_set(k, acc, fn(L, ctx, k_var(k, acc), k_var(k, j), s.W));
    k_end(k);
  }
  if (s.W == 1) return k_var(k, acc);
  uint32_t r = k_let(k, name, k_reduce(k, op, k_var(k, acc)));
  if (!empty_range(k, s.mid, s.hi)) {
    uint32_t j = k_for(k, "j", s.mid, s.hi, 1, false);
    k_set(k, r, fn(L, ctx, k_var(k, r), k_var(k, j), 1));
    k_end(k);
  }
  return k_var(k, r);
}

/* ---- nests: strided maps and copies ------------------------------------- */

/* result = fn(operands…) for one element (lanes wide). */
typedef uint32_t (*ValFn)(Lower *L, const Node *n, const uint32_t *in,
                          int lanes);

#define NEST_OPS 3

/* A box of loops over the result: buffer 0 is written, 1.. are read;
 * element (i0, i1, …) of buffer b is at base[b] + Σ i_d · stride[b][d]. */
typedef struct {
  int rank;
  Mono ext[IR_MAX_RANK];
  int nops;
  uint32_t param[NEST_OPS];
  Mono stride[NEST_OPS][IR_MAX_RANK];
  uint32_t base[NEST_OPS]; /* i64 expression */
  ValFn fn;
  const Node *node;
} Nest;

/* A nest over `shape` written row-major to buffer `param`. */
static void nest_init(Lower *L, Nest *nt, uint32_t param, const Shape *shape,
                      ValFn fn, const Node *n) {
  memset(nt, 0, sizeof *nt);
  nt->rank = shape->rank;
  for (int d = 0; d < shape->rank; d++) nt->ext[d] = mono_dim(shape->d[d]);
  nt->nops = 1;
  nt->param[0] = param;
  mono_strides(shape, nt->stride[0]);
  nt->base[0] = k_i64(L->k, 0);
  nt->fn = fn;
  nt->node = n;
}

static void nest_operand(Lower *L, Nest *nt, uint32_t param,
                         const Mono *strides, uint32_t base) {
  IR_ASSERT(nt->nops < NEST_OPS);
  int b = nt->nops++;
  nt->param[b] = param;
  for (int d = 0; d < nt->rank; d++) nt->stride[b][d] = strides[d];
  nt->base[b] = base == K_NONE ? k_i64(L->k, 0) : base;
}

/* Drop loops of extent 1; merge loop d into the loop before it when every
 * buffer walks the two as one. */
static void nest_simplify(Nest *nt) {
  int r = 0;
  for (int d = 0; d < nt->rank; d++) {
    if (mono_is(&nt->ext[d], 1)) continue;
    bool merge = r > 0;
    for (int b = 0; b < nt->nops && merge; b++) {
      Mono walk = mono_mul(nt->stride[b][d], nt->ext[d]);
      merge = mono_eq(&nt->stride[b][r - 1], &walk);
    }
    if (merge) {
      nt->ext[r - 1] = mono_mul(nt->ext[r - 1], nt->ext[d]);
      for (int b = 0; b < nt->nops; b++) nt->stride[b][r - 1] = nt->stride[b][d];
    } else {
      nt->ext[r] = nt->ext[d];
      for (int b = 0; b < nt->nops; b++) nt->stride[b][r] = nt->stride[b][d];
      r++;
    }
  }
  if (r == 0) { /* a single element */
    nt->ext[0] = mono(1);
    for (int b = 0; b < nt->nops; b++) nt->stride[b][0] = mono(1);
    r = 1;
  }
  nt->rank = r;
}

/* The innermost loop of a nest: buffers' row bases and how each walks. */
typedef struct {
  const Nest *nt;
  uint32_t base[NEST_OPS];
  uint32_t stride[NEST_OPS]; /* i64 expression of the inner stride */
  uint32_t bscalar[NEST_OPS], bvec[NEST_OPS]; /* broadcast operands */
} Row;

static void row_elem(Lower *L, void *ctx, uint32_t j, int lanes) {
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

static void nest_emit(Lower *L, Nest *nt) {
  Kernel *k = L->k;
  nest_simplify(nt);
  double work = 1;
  for (int d = 0; d < nt->rank; d++) work *= mono_max(L, &nt->ext[d]);
  bool par = work >= PAR_MIN_WORK;
  static const char *const names[NEST_OPS] = {"o", "a", "b"};

  /* the innermost loop runs W lanes wide when every buffer is contiguous
   * or broadcast along it (and the result contiguous) */
  Row r = {.nt = nt};
  int in = nt->rank - 1;
  bool vec = mono_is(&nt->stride[0][in], 1);
  for (int b = 0; b < nt->nops; b++) {
    r.stride[b] = mono_expr(L, &nt->stride[b][in]);
    r.bscalar[b] = r.bvec[b] = K_NONE;
    vec = vec && (mono_is(&nt->stride[b][in], 1) || mono_is(&nt->stride[b][in], 0));
  }
  int W = vec ? L->lanes : 1;
  Span s = span(L, W, k_i64(k, 0), mono_expr(L, &nt->ext[in]));

  /* the outer loops, each buffer's base advanced once per iteration */
  memcpy(r.base, nt->base, sizeof r.base);
  for (int d = 0; d < in; d++) {
    uint32_t i = k_var(k, k_for(k, "i", k_i64(k, 0), mono_expr(L, &nt->ext[d]),
                                1, par && d == 0));
    uint32_t prev[NEST_OPS];
    memcpy(prev, r.base, sizeof prev);
    for (int b = 0; b < nt->nops; b++) {
      if (mono_is(&nt->stride[b][d], 0)) continue;
      int same = -1; /* a buffer walked alike so far shares its base */
      for (int a = 0; a < b && same < 0; a++)
        if (same_i64(k, prev[a], prev[b]) &&
            mono_eq(&nt->stride[a][d], &nt->stride[b][d]))
          same = a;
      r.base[b] = same >= 0 ? r.base[same]
                            : let_i64(k, names[b],
                                      k_add(k, r.base[b],
                                            k_mul(k, i, mono_expr(L, &nt->stride[b][d]))));
    }
  }
  for (int b = 1; b < nt->nops; b++)
    if (mono_is(&nt->stride[b][in], 0)) { /* one load per row */
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
    row_elem(L, &r, k_var(k, j), W);
    k_end(k);
    k_end(k);
    if (W > 1 && !empty_range(k, s.mid, s.hi)) {
      j = k_for(k, "j", s.mid, s.hi, 1, false);
      row_elem(L, &r, k_var(k, j), 1);
      k_end(k);
    }
  } else {
    strips(L, s, false, row_elem, &r);
  }
  for (int d = 0; d < in; d++) k_end(k);
}

/* ---- elementwise values ------------------------------------------------- */

static uint32_t val_copy(Lower *L, const Node *n, const uint32_t *in, int lanes) {
  return in[0];
}

static uint32_t val_add(Lower *L, const Node *n, const uint32_t *in, int lanes) {
  return vbin(L->k, KO_ADD, in[0], in[1]);
}

static uint32_t val_mul(Lower *L, const Node *n, const uint32_t *in, int lanes) {
  return vbin(L->k, KO_MUL, in[0], in[1]);
}

static uint32_t val_scale(Lower *L, const Node *n, const uint32_t *in,
                          int lanes) {
  return vbin(L->k, KO_MUL, in[0],
              splat(L->k, ir_get_float(L->g, n, "by"), lanes));
}

/* relu, gelu, gelu_tanh: cg_activation (lower_act.c) */
static uint32_t val_act(Lower *L, const Node *n, const uint32_t *in, int lanes) {
  return cg_activation(L->k, n->op, in[0]);
}

/* ---- maps and copies ---------------------------------------------------- */

/* x [...] -> out [...] elementwise (reshape: the same elements in order),
 * as one flat loop */
static void lower_map(Lower *L, const Node *n, ValFn fn) {
  const Shape *so = shape_of(L, n->out[0]);
  Shape flat = {.rank = 1};
  Nest nt;
  nest_init(L, &nt, 0, &flat, fn, n);
  nt.ext[0] = mono_dims(so, 0, so->rank);
  Mono one = mono(1);
  nest_operand(L, &nt, 1, &one, K_NONE);
  nest_emit(L, &nt);
}

/* Strides of an operand of shape s read at every index of a result of
 * shape out, NumPy-broadcast: missing and size-1 dims walk with stride 0. */
static void bcast_strides(const Shape *s, const Shape *out, Mono *st) {
  Mono own[IR_MAX_RANK];
  mono_strides(s, own);
  int lead = out->rank - s->rank;
  IR_ASSERT(lead >= 0);
  for (int d = 0; d < out->rank; d++) {
    int k = d - lead;
    bool bcast = k < 0 || (ir_dim_static(s->d[k]) && s->d[k].c == 1);
    st[d] = bcast ? mono(0) : own[k];
  }
}

/* a [A...], b [B...] -> out [broadcast(A, B)]: fn(a, b) */
static void lower_binary(Lower *L, const Node *n, ValFn fn) {
  const Shape *so = shape_of(L, n->out[0]);
  Nest nt;
  nest_init(L, &nt, 0, so, fn, n);
  for (int i = 0; i < 2; i++) {
    Mono st[IR_MAX_RANK];
    bcast_strides(shape_of(L, n->in[i]), so, st);
    nest_operand(L, &nt, 1 + (uint32_t)i, st, K_NONE);
  }
  nest_emit(L, &nt);
}

/* x [D0, D1, ...] -> out [D_perm[0], D_perm[1], ...] */
static void lower_transpose(Lower *L, const Node *n) {
  const Shape *sx = shape_of(L, n->in[0]), *so = shape_of(L, n->out[0]);
  const Attr *perm = ir_get_attr(n, "perm");
  IR_ASSERT(perm->set && perm->n == sx->rank);
  Mono stx[IR_MAX_RANK], st[IR_MAX_RANK];
  mono_strides(sx, stx);
  for (int d = 0; d < so->rank; d++) st[d] = stx[perm->ints[d]];
  Nest nt;
  nest_init(L, &nt, 0, so, val_copy, n);
  nest_operand(L, &nt, 1, st, K_NONE);
  nest_emit(L, &nt);
}

/* Copy src (shape `s`, buffer `src`, from offset src_base) into the
 * row-major dst (shape `sd`, buffer `dst`) at dst_base, over s's box:
 * the one nest under slice, split and concat. */
static void copy_box(Lower *L, const Node *n, const Shape *box,
                     uint32_t dst, const Shape *sd, uint32_t dst_base,
                     uint32_t src, const Shape *ss, uint32_t src_base) {
  Nest nt;
  nest_init(L, &nt, dst, box, val_copy, n);
  mono_strides(sd, nt.stride[0]);
  nt.base[0] = dst_base;
  Mono st[IR_MAX_RANK];
  mono_strides(ss, st);
  nest_operand(L, &nt, src, st, src_base);
  nest_emit(L, &nt);
}

/* x [..., L, ...] -> out [..., end - start, ...] along axis */
static void lower_slice(Lower *L, const Node *n) {
  Kernel *k = L->k;
  const Shape *sx = shape_of(L, n->in[0]), *so = shape_of(L, n->out[0]);
  int axis = axis_attr(L, n, sx->rank);
  int64_t start = ir_get_int(L->g, n, "start");
  const Attr *end = ir_get_attr(n, "end");
  Dim full = sx->d[axis];
  /* A static end on a symbolic axis may not fit a small binding
   * (x [S, 4], end = 3, S = 2): the user's input, so a code. */
  if (end->set && ir_dim_static(end->dim) && !ir_dim_static(full))
    k_check(k, vbin(k, KO_LT, cg_dim(L, full), k_i64(k, end->dim.c)),
            K_ERR_SLICE_RANGE);
  Mono stx[IR_MAX_RANK];
  mono_strides(sx, stx);
  uint32_t base = k_muli(k, mono_expr(L, &stx[axis]), start);
  copy_box(L, n, so, 0, so, k_i64(k, 0), 1, sx, base);
}

/* x [..., L, ...] -> out_j [..., L_j, ...], consecutive along axis */
static void lower_split(Lower *L, const Node *n) {
  Kernel *k = L->k;
  const Shape *sx = shape_of(L, n->in[0]);
  int axis = axis_attr(L, n, sx->rank);
  Mono stx[IR_MAX_RANK];
  mono_strides(sx, stx);
  uint32_t xs = mono_expr(L, &stx[axis]);
  uint32_t start = k_i64(k, 0);
  for (uint32_t j = 0; j < n->nout; j++) {
    const Shape *so = shape_of(L, n->out[j]);
    copy_box(L, n, so, j, so, k_i64(k, 0), n->nout, sx, k_mul(k, start, xs));
    start = k_add(k, start, cg_dim(L, so->d[axis]));
  }
}

/* in_j [..., L_j, ...] -> out [..., Σ L_j, ...] */
static void lower_concat(Lower *L, const Node *n) {
  Kernel *k = L->k;
  const Shape *so = shape_of(L, n->out[0]);
  int axis = axis_attr(L, n, so->rank);
  Mono sto[IR_MAX_RANK];
  mono_strides(so, sto);
  uint32_t os = mono_expr(L, &sto[axis]);
  uint32_t start = k_i64(k, 0);
  for (uint32_t j = 0; j < n->nin; j++) {
    const Shape *si = shape_of(L, n->in[j]);
    copy_box(L, n, si, 0, so, k_mul(k, start, os), 1 + j, si, k_i64(k, 0));
    start = k_add(k, start, cg_dim(L, si->d[axis]));
  }
}

/* image [C, H, W] -> out [PH·PW, C·p·p]: loops (ph, pw, c, kh, kw), each
 * innermost run of p pixels contiguous in both */
static void lower_patchify(Lower *L, const Node *n) {
  const Shape *sx = shape_of(L, n->in[0]);
  int64_t p = ir_get_int(L->g, n, "patch");
  int64_t C = sx->d[0].c, H = sx->d[1].c, W = sx->d[2].c;
  int64_t PH = H / p, PW = W / p, cols = C * p * p;
  int64_t ext[5] = {PH, PW, C, p, p};
  int64_t so[5] = {PW * cols, cols, p * p, p, 1};
  int64_t sx5[5] = {p * W, p, H * W, W, 1};
  Shape box = ir_shape(5, ext);
  Nest nt;
  nest_init(L, &nt, 0, &box, val_copy, n);
  Mono st[5];
  for (int d = 0; d < 5; d++) {
    nt.stride[0][d] = mono(so[d]);
    st[d] = mono(sx5[d]);
  }
  nest_operand(L, &nt, 1, st, K_NONE);
  nest_emit(L, &nt);
}

/* ---- gather, causal mask, positional encoding ---------------------------- */

/* What the per-element emitters of the ops below read. */
typedef struct {
  uint32_t dst, src, gamma, beta; /* buffer params */
  uint32_t dbase, sbase;          /* i64: row (or column) bases */
  uint32_t m, mean, inv;          /* f32 scalars of the row */
  uint32_t eps, nf;               /* f32 constants: eps, the axis length */
  uint32_t len, inner;            /* i64: strided reductions' L and stride */
  double fill;
} Ctx;

static void copy_elem(Lower *L, void *ctx, uint32_t j, int lanes) {
  Ctx *c = ctx;
  Kernel *k = L->k;
  k_store(k, c->dst, k_add(k, c->dbase, j),
          k_load(k, c->src, k_add(k, c->sbase, j), lanes));
}

static void fill_elem(Lower *L, void *ctx, uint32_t j, int lanes) {
  Ctx *c = ctx;
  k_store(L->k, c->dst, k_add(L->k, c->dbase, j), splat(L->k, c->fill, lanes));
}

/* table [V, R...], ids [I...] i32 -> out [I..., R...]:
 * out[i, :] = table[ids[i], :]; an id outside 0..V-1 gives
 * K_ERR_GATHER_RANGE (and its row is skipped) */
static void lower_gather(Lower *L, const Node *n) {
  Kernel *k = L->k;
  const Shape *st = shape_of(L, n->in[0]), *si = shape_of(L, n->in[1]);
  Mono row = mono_dims(st, 1, st->rank), ids = mono_dims(si, 0, si->rank);
  bool par = mono_max(L, &row) * mono_max(L, &ids) >= PAR_MIN_WORK;
  uint32_t V = cg_dim(L, st->d[0]), R = mono_expr(L, &row);
  Span s = span(L, L->lanes, k_i64(k, 0), R);
  uint32_t i = k_var(k, k_for(k, "i", k_i64(k, 0), mono_expr(L, &ids), 1, par));
  uint32_t id = k_var(k, k_let(k, "id", k_convert(k, k_load(k, 2, i, 1),
                                                     kt(KT_I64, 1))));
  k_check(k, vbin(k, KO_OR, vbin(k, KO_LT, id, k_i64(k, 0)),
                  vbin(k, KO_GE, id, V)),
          K_ERR_GATHER_RANGE);
  Ctx c = {.dst = 0, .src = 1};
  c.dbase = let_i64(k, "o", k_mul(k, i, R));
  c.sbase = let_i64(k, "t", k_mul(k, id, R));
  strips(L, s, false, copy_elem, &c);
  k_end(k);
}

/* x [T..., I, J] -> out [T..., I, J]: x, with -inf where j > i + offset.
 * Row i copies [0, jb) and fills [jb, J), jb = clamp(i + offset + 1, 0, J). */
static void lower_causal_mask(Lower *L, const Node *n) {
  Kernel *k = L->k;
  const Shape *s = shape_of(L, n->in[0]);
  int r = s->rank;
  int64_t offset = ir_get_int(L->g, n, "offset");
  Mono mats = mono_dims(s, 0, r - 2), I = mono_dim(s->d[r - 2]),
       J = mono_dim(s->d[r - 1]), IJ = mono_mul(I, J);
  bool par = mono_max(L, &mats) * mono_max(L, &IJ) >= PAR_MIN_WORK;
  bool outer = !mono_is(&mats, 1);
  uint32_t Je = mono_expr(L, &J);
  uint32_t tb = k_i64(k, 0);
  if (outer) {
    uint32_t t = k_var(k, k_for(k, "t", k_i64(k, 0), mono_expr(L, &mats), 1, par));
    tb = k_var(k, k_let(k, "tb", k_mul(k, t, mono_expr(L, &IJ))));
  }
  uint32_t i = k_var(k, k_for(k, "i", k_i64(k, 0), mono_expr(L, &I), 1,
                              par && !outer));
  Ctx c = {.dst = 0, .src = 1, .fill = -INFINITY};
  c.dbase = c.sbase = let_i64(k, "row", k_add(k, tb, k_mul(k, i, Je)));
  uint32_t jb = k_binary(k, KO_MAX, k_addi(k, i, offset + 1), k_i64(k, 0));
  jb = k_var(k, k_let(k, "jb", k_binary(k, KO_MIN, jb, Je)));
  strips(L, span(L, L->lanes, k_i64(k, 0), jb), false, copy_elem, &c);
  strips(L, span(L, L->lanes, jb, Je), false, fill_elem, &c);
  k_end(k);
  if (outer) k_end(k);
}

/* Column c (and c + 1 when with_cos) of the encoding, for every p:
 * out[p, c] = sin(a), out[p, c + 1] = cos(a), a = p / 10000^(c/d),
 * in f64 with libm as the interpreter computes it. */
static void pe_columns(Lower *L, uint32_t c, int64_t d, uint32_t len,
                       bool with_cos) {
  Kernel *k = L->k;
  KType f64 = kt(KT_F64, 1), f32 = kt(KT_F32, 1);
  uint32_t f = k_var(k, k_let(k, "f", k_call(k, "pow", f64, k_f64(k, 10000.0),
                                             k_binary(k, KO_DIV, f64_of(k, c),
                                                      k_f64(k, (double)d)))));
  uint32_t p = k_var(k, k_for(k, "p", k_i64(k, 0), len, 1, false));
  uint32_t a = k_var(k, k_let(k, "a", k_binary(k, KO_DIV, f64_of(k, p), f)));
  uint32_t at = k_var(k, k_let(k, "at", k_add(k, k_muli(k, p, d), c)));
  k_store(k, 0, at, k_convert(k, k_call(k, "sin", f64, a, K_NONE), f32));
  if (with_cos)
    k_store(k, 0, k_addi(k, at, 1),
            k_convert(k, k_call(k, "cos", f64, a, K_NONE), f32));
  k_end(k);
}

/* -> out [len, d]: PE(p, 2i) = sin(p / 10000^(2i/d)), PE(p, 2i+1) = cos(…).
 * Column pairs outermost, so the pow is computed once per pair. */
static void lower_sinusoidal_pe(Lower *L, const Node *n) {
  Kernel *k = L->k;
  Dim len_dim = ir_get_attr(n, "len")->dim;
  int64_t d = ir_get_int(L->g, n, "d");
  Mono len = mono_dim(len_dim);
  bool par = mono_max(L, &len) * (double)d >= PAR_MIN_WORK;
  uint32_t len_e = mono_expr(L, &len);
  if (d >= 2) {
    uint32_t c = k_for(k, "c", k_i64(k, 0), k_i64(k, d - d % 2), 2, par);
    pe_columns(L, k_var(k, c), d, len_e, true);
    k_end(k);
  }
  if (d % 2) pe_columns(L, k_i64(k, d - 1), d, len_e, false);
}

/* ---- reductions along the last axis: rows ------------------------------- */

/* Opens the loop over `rows` rows of n elements (none for one row); returns
 * the row index and sets the row's base offset in c. */
static uint32_t open_rows(Lower *L, const Mono *rows, const Mono *n, Ctx *c,
                          bool *opened) {
  Kernel *k = L->k;
  *opened = !mono_is(rows, 1);
  if (!*opened) {
    c->sbase = c->dbase = k_i64(k, 0);
    return k_i64(k, 0);
  }
  bool par = mono_max(L, rows) * mono_max(L, n) >= PAR_MIN_WORK;
  uint32_t r = k_var(k, k_for(k, "r", k_i64(k, 0), mono_expr(L, rows), 1, par));
  c->sbase = c->dbase = let_i64(k, "row", k_mul(k, r, mono_expr(L, n)));
  return r;
}

static uint32_t acc_max(Lower *L, void *ctx, uint32_t acc, uint32_t j, int lanes) {
  Ctx *c = ctx;
  return vbin(L->k, KO_MAX, acc, k_load(L->k, c->src, k_add(L->k, c->sbase, j), lanes));
}

static uint32_t acc_sum(Lower *L, void *ctx, uint32_t acc, uint32_t j, int lanes) {
  Ctx *c = ctx;
  return vbin(L->k, KO_ADD, acc, k_load(L->k, c->src, k_add(L->k, c->sbase, j), lanes));
}

static uint32_t acc_sumsq(Lower *L, void *ctx, uint32_t acc, uint32_t j, int lanes) {
  Ctx *c = ctx;
  uint32_t x = k_load(L->k, c->src, k_add(L->k, c->sbase, j), lanes);
  return k_fma(L->k, x, x, acc);
}

/* e = exp(x - m), stored to dst and summed */
static uint32_t acc_exp(Lower *L, void *ctx, uint32_t acc, uint32_t j, int lanes) {
  Ctx *c = ctx;
  Kernel *k = L->k;
  uint32_t x = k_load(k, c->src, k_add(k, c->sbase, j), lanes);
  uint32_t d = let_v(k, "d", vbin(k, KO_SUB, x, k_broadcast(k, c->m, lanes)));
  uint32_t e = let_v(k, "e", km_exp(k, d));
  k_store(k, c->dst, k_add(k, c->dbase, j), e);
  return vbin(k, KO_ADD, acc, e);
}

/* (x - mean)² summed */
static uint32_t acc_dev2(Lower *L, void *ctx, uint32_t acc, uint32_t j, int lanes) {
  Ctx *c = ctx;
  Kernel *k = L->k;
  uint32_t x = k_load(k, c->src, k_add(k, c->sbase, j), lanes);
  uint32_t d = vbin(k, KO_SUB, x, k_broadcast(k, c->mean, lanes));
  return k_fma(k, d, d, acc);
}

/* dst[j] <- dst[j] · inv */
static void scale_dst(Lower *L, void *ctx, uint32_t j, int lanes) {
  Ctx *c = ctx;
  Kernel *k = L->k;
  uint32_t at = k_add(k, c->dbase, j);
  k_store(k, c->dst, at, vbin(k, KO_MUL, k_load(k, c->dst, at, lanes),
                              k_broadcast(k, c->inv, lanes)));
}

/* dst[j] <- src[j] · inv */
static void scale_src(Lower *L, void *ctx, uint32_t j, int lanes) {
  Ctx *c = ctx;
  Kernel *k = L->k;
  k_store(k, c->dst, k_add(k, c->dbase, j),
          vbin(k, KO_MUL, k_load(k, c->src, k_add(k, c->sbase, j), lanes),
               k_broadcast(k, c->inv, lanes)));
}

/* dst[j] <- (src[j] - mean) · inv · gamma[j] + beta[j] */
static void norm_elem(Lower *L, void *ctx, uint32_t j, int lanes) {
  Ctx *c = ctx;
  Kernel *k = L->k;
  uint32_t x = k_load(k, c->src, k_add(k, c->sbase, j), lanes);
  uint32_t y = vbin(k, KO_MUL, vbin(k, KO_SUB, x, k_broadcast(k, c->mean, lanes)),
                    k_broadcast(k, c->inv, lanes));
  k_store(k, c->dst, k_add(k, c->dbase, j),
          k_fma(k, y, k_load(k, c->gamma, j, lanes), k_load(k, c->beta, j, lanes)));
}

/* x [rows, n] -> out [rows, n]: e = exp(x - max x), out = e / Σ e */
static void softmax_rows(Lower *L, const Mono *rows, const Mono *n) {
  Kernel *k = L->k;
  Span s = span(L, L->lanes, k_i64(k, 0), mono_expr(L, n));
  Ctx c = {.dst = 0, .src = 1};
  bool opened;
  open_rows(L, rows, n, &c, &opened);
  c.m = reduce_strips(L, s, KO_MAX, -INFINITY, acc_max, &c, "m");
  uint32_t sum = reduce_strips(L, s, KO_ADD, 0, acc_exp, &c, "sum");
  c.inv = k_var(k, k_let(k, "inv", vbin(k, KO_DIV, k_f32(k, 1), sum)));
  strips(L, s, false, scale_dst, &c);
  if (opened) k_end(k);
}

/* x [rows, n], gamma [n], beta [n] -> out [rows, n]:
 * (x - mean) / sqrt(var + eps) · gamma + beta, biased variance, two passes */
static void lower_layernorm(Lower *L, const Node *n) {
  Kernel *k = L->k;
  const Shape *sx = shape_of(L, n->in[0]);
  Mono rows = mono_dims(sx, 0, sx->rank - 1), N = mono_dim(sx->d[sx->rank - 1]);
  uint32_t Ne = mono_expr(L, &N);
  Span s = span(L, L->lanes, k_i64(k, 0), Ne);
  Ctx c = {.dst = 0, .src = 1, .gamma = 2, .beta = 3};
  c.nf = f32_of(k, Ne);
  c.eps = k_f32(k, ir_get_float(L->g, n, "eps"));
  bool opened;
  open_rows(L, &rows, &N, &c, &opened);
  uint32_t sum = reduce_strips(L, s, KO_ADD, 0, acc_sum, &c, "sum");
  c.mean = k_var(k, k_let(k, "mean", vbin(k, KO_DIV, sum, c.nf)));
  uint32_t ss = reduce_strips(L, s, KO_ADD, 0, acc_dev2, &c, "ss");
  uint32_t var = vbin(k, KO_ADD, vbin(k, KO_DIV, ss, c.nf), c.eps);
  c.inv = k_var(k, k_let(k, "inv", vbin(k, KO_DIV, k_f32(k, 1),
                                        k_unary(k, KO_SQRT, var))));
  strips(L, s, false, norm_elem, &c);
  if (opened) k_end(k);
}

/* x [rows, n] -> out [rows, n]: x / max(sqrt(Σ x²), eps) */
static void l2_rows(Lower *L, const Mono *rows, const Mono *n, double eps) {
  Kernel *k = L->k;
  Span s = span(L, L->lanes, k_i64(k, 0), mono_expr(L, n));
  Ctx c = {.dst = 0, .src = 1};
  bool opened;
  open_rows(L, rows, n, &c, &opened);
  uint32_t ss = reduce_strips(L, s, KO_ADD, 0, acc_sumsq, &c, "ss");
  uint32_t den = vbin(k, KO_MAX, k_unary(k, KO_SQRT, ss), k_f32(k, eps));
  c.inv = k_var(k, k_let(k, "inv", vbin(k, KO_DIV, k_f32(k, 1), den)));
  strips(L, s, false, scale_src, &c);
  if (opened) k_end(k);
}

/* x [rows, n] -> out [rows]: Σ x / n */
static void mean_rows(Lower *L, const Mono *rows, const Mono *n) {
  Kernel *k = L->k;
  uint32_t ne = mono_expr(L, n);
  Span s = span(L, L->lanes, k_i64(k, 0), ne);
  Ctx c = {.dst = 0, .src = 1};
  uint32_t nf = f32_of(k, ne);
  bool opened;
  uint32_t r = open_rows(L, rows, n, &c, &opened);
  uint32_t sum = reduce_strips(L, s, KO_ADD, 0, acc_sum, &c, "sum");
  k_store(k, 0, r, vbin(k, KO_DIV, sum, nf));
  if (opened) k_end(k);
}

/* ---- reductions along another axis: columns ----------------------------- */

/* x viewed as [outer, L, inner], inner > 1.  W neighbouring columns are
 * reduced together along L, one accumulator per lane.  Opens the loop over
 * `outer` (none when 1) and sets the slab's base in c; the column loops are
 * parallel instead when there is no outer loop. */
static uint32_t open_slabs(Lower *L, const Mono *outer, const Mono *len,
                           const Mono *inner, Ctx *c, bool *opened,
                           bool *par_cols) {
  Kernel *k = L->k;
  Mono slab = mono_mul(*len, *inner);
  bool par = mono_max(L, outer) * mono_max(L, &slab) >= PAR_MIN_WORK;
  c->len = mono_expr(L, len);
  c->inner = mono_expr(L, inner);
  *opened = !mono_is(outer, 1);
  *par_cols = par && !*opened;
  if (!*opened) {
    c->sbase = c->dbase = k_i64(k, 0);
    return k_i64(k, 0);
  }
  uint32_t o = k_var(k, k_for(k, "o", k_i64(k, 0), mono_expr(L, outer), 1, par));
  c->sbase = c->dbase = let_i64(k, "slab", k_mul(k, o, mono_expr(L, &slab)));
  return o;
}

/* Opens `for l = from to L` and returns the element index col + l·inner. */
static uint32_t open_along(Lower *L, Ctx *c, uint32_t col, int64_t from) {
  Kernel *k = L->k;
  uint32_t l = k_var(k, k_for(k, "l", k_i64(k, from), c->len, 1, false));
  return let_i64(k, "at", k_add(k, col, k_mul(k, l, c->inner)));
}

/* softmax of W columns along L */
static void softmax_cols(Lower *L, void *ctx, uint32_t i, int lanes) {
  Ctx *c = ctx;
  Kernel *k = L->k;
  uint32_t col = let_i64(k, "col", k_add(k, c->sbase, i));
  uint32_t m = k_let(k, "m", splat(k, -INFINITY, lanes));
  uint32_t at = open_along(L, c, col, 0);
  k_set(k, m, vbin(k, KO_MAX, k_var(k, m), k_load(k, c->src, at, lanes)));
  k_end(k);
  uint32_t sum = k_let(k, "sum", splat(k, 0, lanes));
  at = open_along(L, c, col, 0);
  uint32_t d = let_v(k, "d", vbin(k, KO_SUB, k_load(k, c->src, at, lanes),
                                  k_var(k, m)));
  uint32_t e = let_v(k, "e", km_exp(k, d));
  k_store(k, c->dst, at, e);
  k_set(k, sum, vbin(k, KO_ADD, k_var(k, sum), e));
  k_end(k);
  uint32_t inv = k_var(k, k_let(k, "inv", vbin(k, KO_DIV, splat(k, 1, lanes),
                                               k_var(k, sum))));
  at = open_along(L, c, col, 0);
  k_store(k, c->dst, at, vbin(k, KO_MUL, k_load(k, c->dst, at, lanes), inv));
  k_end(k);
}

/* x [outer, L, inner] -> out [outer, L, inner], softmax along L */
static void softmax_slabs(Lower *L, const Mono *outer, const Mono *len,
                          const Mono *inner) {
  Kernel *k = L->k;
  Span s = span(L, L->lanes, k_i64(k, 0), mono_expr(L, inner));
  Ctx c = {.dst = 0, .src = 1};
  bool opened, par_cols;
  open_slabs(L, outer, len, inner, &c, &opened, &par_cols);
  strips(L, s, par_cols, softmax_cols, &c);
  if (opened) k_end(k);
}

/* mean of W columns along L, stored at dst[dbase + i] */
static void mean_cols(Lower *L, void *ctx, uint32_t i, int lanes) {
  Ctx *c = ctx;
  Kernel *k = L->k;
  uint32_t col = let_i64(k, "col", k_add(k, c->sbase, i));
  uint32_t acc = k_let(k, "acc", splat(k, 0, lanes));
  uint32_t at = open_along(L, c, col, 0);
  k_set(k, acc, vbin(k, KO_ADD, k_var(k, acc), k_load(k, c->src, at, lanes)));
  k_end(k);
  k_store(k, c->dst, k_add(k, c->dbase, i),
          vbin(k, KO_DIV, k_var(k, acc), k_broadcast(k, c->nf, lanes)));
}

/* x [outer, L, inner] -> out [outer, inner]: Σ along L / L */
static void mean_slabs(Lower *L, const Mono *outer, const Mono *len,
                       const Mono *inner) {
  Kernel *k = L->k;
  Span s = span(L, L->lanes, k_i64(k, 0), mono_expr(L, inner));
  Ctx c = {.dst = 0, .src = 1};
  bool opened, par_cols;
  uint32_t o = open_slabs(L, outer, len, inner, &c, &opened, &par_cols);
  c.nf = f32_of(k, c.len);
  c.dbase = let_i64(k, "orow", k_mul(k, o, c.inner));
  strips(L, s, par_cols, mean_cols, &c);
  if (opened) k_end(k);
}

/* Σ x² of W columns, parked in row l = 0 of dst */
static void l2_sumsq_cols(Lower *L, void *ctx, uint32_t i, int lanes) {
  Ctx *c = ctx;
  Kernel *k = L->k;
  uint32_t col = let_i64(k, "col", k_add(k, c->sbase, i));
  uint32_t acc = k_let(k, "acc", splat(k, 0, lanes));
  uint32_t at = open_along(L, c, col, 0);
  uint32_t x = k_load(k, c->src, at, lanes);
  k_set(k, acc, k_fma(k, x, x, k_var(k, acc)));
  k_end(k);
  k_store(k, c->dst, col, k_var(k, acc));
}

/* dst[col] holds 1 / max(sqrt(Σ x²), eps) -> scale the W columns, row 0 last */
static void l2_scale_cols(Lower *L, void *ctx, uint32_t i, int lanes) {
  Ctx *c = ctx;
  Kernel *k = L->k;
  uint32_t col = let_i64(k, "col", k_add(k, c->sbase, i));
  uint32_t inv = k_var(k, k_let(k, "inv", k_load(k, c->dst, col, lanes)));
  uint32_t at = open_along(L, c, col, 1);
  k_store(k, c->dst, at, vbin(k, KO_MUL, k_load(k, c->src, at, lanes), inv));
  k_end(k);
  k_store(k, c->dst, col, vbin(k, KO_MUL, k_load(k, c->src, col, lanes), inv));
}

/* x [outer, L, inner] -> out [outer, L, inner]: x / max(sqrt(Σ_L x²), eps).
 * sqrt is scalar only, so the sums go through out's row l = 0: summed W
 * columns at a time, turned into 1/den one by one, then every row scaled
 * with row 0 (which holds the factors) overwritten last. */
static void l2_slabs(Lower *L, const Mono *outer, const Mono *len,
                     const Mono *inner, double eps) {
  Kernel *k = L->k;
  uint32_t ie = mono_expr(L, inner);
  Span s = span(L, L->lanes, k_i64(k, 0), ie);
  Ctx c = {.dst = 0, .src = 1};
  bool opened, par_cols;
  open_slabs(L, outer, len, inner, &c, &opened, &par_cols);
  strips(L, s, par_cols, l2_sumsq_cols, &c);
  uint32_t i = k_var(k, k_for(k, "i", k_i64(k, 0), ie, 1, par_cols));
  uint32_t at = let_i64(k, "at", k_add(k, c.dbase, i));
  uint32_t den = vbin(k, KO_MAX, k_unary(k, KO_SQRT, k_load(k, 0, at, 1)),
                      k_f32(k, eps));
  k_store(k, 0, at, vbin(k, KO_DIV, k_f32(k, 1), den));
  k_end(k);
  strips(L, s, par_cols, l2_scale_cols, &c);
  if (opened) k_end(k);
}

/* softmax, mean, l2_normalize: x viewed as [outer, L, inner] around axis */
static void lower_axis_reduction(Lower *L, const Node *n) {
  const Shape *sx = shape_of(L, n->in[0]);
  int axis = axis_attr(L, n, sx->rank);
  Mono outer = mono_dims(sx, 0, axis), len = mono_dim(sx->d[axis]),
       inner = mono_dims(sx, axis + 1, sx->rank);
  bool rows = mono_is(&inner, 1);
  switch (n->op) {
  case OP_SOFTMAX:
    if (rows) softmax_rows(L, &outer, &len);
    else softmax_slabs(L, &outer, &len, &inner);
    break;
  case OP_MEAN:
    if (rows) mean_rows(L, &outer, &len);
    else mean_slabs(L, &outer, &len, &inner);
    break;
  case OP_L2_NORMALIZE: {
    double eps = ir_get_float(L->g, n, "eps");
    if (rows) l2_rows(L, &outer, &len, eps);
    else l2_slabs(L, &outer, &len, &inner, eps);
    break;
  }
  default: IR_ASSERT(!"not an axis reduction");
  }
}

/* ---- dispatch ------------------------------------------------------------ */

/* The interpreter computes on f32, gather's ids are i32. */
static bool dtypes_ok(const Lower *L, const Node *n) {
  for (uint32_t i = 0; i < n->nin; i++) {
    DType want = n->op == OP_GATHER && i == 1 ? DT_I32 : DT_F32;
    if (L->g->values[n->in[i]].dtype != want) return false;
  }
  for (uint32_t i = 0; i < n->nout; i++)
    if (L->g->values[n->out[i]].dtype != DT_F32) return false;
  return true;
}

int cg_lower_op(Lower *L, const Node *n) {
  if (!dtypes_ok(L, n)) return -1;
  switch (n->op) {
  case OP_GATHER: lower_gather(L, n); return 0;
  case OP_ADD:
  case OP_BIAS_ADD: lower_binary(L, n, val_add); return 0;
  case OP_MUL: lower_binary(L, n, val_mul); return 0;
  case OP_SCALE: lower_map(L, n, val_scale); return 0;
  case OP_RELU:
  case OP_GELU:
  case OP_GELU_TANH: lower_map(L, n, val_act); return 0;
  case OP_RESHAPE: lower_map(L, n, val_copy); return 0;
  case OP_TRANSPOSE: lower_transpose(L, n); return 0;
  case OP_SLICE: lower_slice(L, n); return 0;
  case OP_SPLIT: lower_split(L, n); return 0;
  case OP_CONCAT: lower_concat(L, n); return 0;
  case OP_CAUSAL_MASK: lower_causal_mask(L, n); return 0;
  case OP_SINUSOIDAL_PE: lower_sinusoidal_pe(L, n); return 0;
  case OP_PATCHIFY: lower_patchify(L, n); return 0;
  case OP_LAYERNORM: lower_layernorm(L, n); return 0;
  case OP_SOFTMAX:
  case OP_MEAN:
  case OP_L2_NORMALIZE: lower_axis_reduction(L, n); return 0;
  default: break; /* sources; matmul is lower_matmul.c's */
  }
  return -1;
}
