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
#include "codegen/lower/lower_loops.h"

#include <math.h>
#include <string.h>


/* ---- elementwise values ------------------------------------------------- */

static uint32_t val_copy(Lower *L, const Node *n, const uint32_t *in, int lanes) {
  return in[0];
}

static uint32_t val_add(Lower *L, const Node *n, const uint32_t *in, int lanes) {
  return lw_vbin(L->k, KO_ADD, in[0], in[1]);
}

static uint32_t val_mul(Lower *L, const Node *n, const uint32_t *in, int lanes) {
  return lw_vbin(L->k, KO_MUL, in[0], in[1]);
}

static uint32_t val_scale(Lower *L, const Node *n, const uint32_t *in,
                          int lanes) {
  return lw_vbin(L->k, KO_MUL, in[0],
              lw_splat(L->k, ir_get_float(L->g, n, "by"), lanes));
}

/* mask: x where keep != 0, else -inf */
static uint32_t val_mask(Lower *L, const Node *n, const uint32_t *in, int lanes) {
  Kernel *k = L->k;
  return k_select(k, lw_vbin(k, KO_NE, in[1], lw_splat(k, 0, lanes)), in[0],
                  lw_splat(k, -INFINITY, lanes));
}

/* relu, gelu, gelu_tanh: cg_activation (lower_act.c) */
static uint32_t val_act(Lower *L, const Node *n, const uint32_t *in, int lanes) {
  return cg_activation(L->k, n->op, in[0]);
}

/* x [D0, D1, ...] -> out [D_perm[0], D_perm[1], ...] */
static void lower_transpose(Lower *L, const Node *n) {
  const Shape *sx = lw_shape_of(L, n->in[0]), *so = lw_shape_of(L, n->out[0]);
  const Attr *perm = ir_get_attr(n, "perm");
  IR_ASSERT(perm->set && perm->n == sx->rank);
  Mono stx[IR_MAX_RANK], st[IR_MAX_RANK];
  lw_mono_strides(sx, stx);
  for (int d = 0; d < so->rank; d++) st[d] = stx[perm->ints[d]];
  Nest nt;
  lw_nest_init(L, &nt, 0, so, val_copy, n);
  lw_nest_operand(L, &nt, 1, st, K_NONE);
  lw_nest_emit(L, &nt);
}

/* Copy src (shape `s`, buffer `src`, from offset src_base) into the
 * row-major dst (shape `sd`, buffer `dst`) at dst_base, over s's box:
 * the one nest under slice, split and concat. */
static void copy_box(Lower *L, const Node *n, const Shape *box,
                     uint32_t dst, const Shape *sd, uint32_t dst_base,
                     uint32_t src, const Shape *ss, uint32_t src_base) {
  Nest nt;
  lw_nest_init(L, &nt, dst, box, val_copy, n);
  lw_mono_strides(sd, nt.stride[0]);
  nt.base[0] = dst_base;
  Mono st[IR_MAX_RANK];
  lw_mono_strides(ss, st);
  lw_nest_operand(L, &nt, src, st, src_base);
  lw_nest_emit(L, &nt);
}

/* x [..., L, ...] -> out [..., end - start, ...] along axis */
static void lower_slice(Lower *L, const Node *n) {
  Kernel *k = L->k;
  const Shape *sx = lw_shape_of(L, n->in[0]), *so = lw_shape_of(L, n->out[0]);
  int axis = lw_axis_attr(L, n, sx->rank);
  Dim start = ir_get_dim(L->g, n, "start");
  const Attr *end = ir_get_attr(n, "end"), *len = ir_get_attr(n, "len");
  Dim full = sx->d[axis];
  /* A static end on a symbolic axis may not fit a small binding
   * (x [S, 4], end = 3, S = 2): the user's input, so a code. */
  if (end->set && ir_dim_static(end->dim) && !ir_dim_static(full))
    k_check(k, lw_vbin(k, KO_LT, cg_dim(L, full), k_i64(k, end->dim.c)),
            K_ERR_SLICE_RANGE);
  /* x[P : P+len] with P a position from an input's value: P + len must
   * fit the axis for this binding. */
  if (len->set && (!ir_dim_static(start) || !ir_dim_static(len->dim) ||
                   !ir_dim_static(full)))
    k_check(k, lw_vbin(k, KO_LT, cg_dim(L, full),
                       k_add(k, cg_dim(L, start), cg_dim(L, len->dim))),
            K_ERR_SLICE_RANGE);
  Mono stx[IR_MAX_RANK];
  lw_mono_strides(sx, stx);
  uint32_t base = k_mul(k, lw_mono_expr(L, &stx[axis]), cg_dim(L, start));
  copy_box(L, n, so, 0, so, k_i64(k, 0), 1, sx, base);
}

/* write_rows(state, x) -> out (the state's storage):
 * out[..., at + i, ...] = x[..., i, ...] for the rows of x; nothing else
 * of the state is touched (out and in0 are the same buffer; only out is
 * accessed). */
static void lower_write_rows(Lower *L, const Node *n) {
  Kernel *k = L->k;
  const Shape *so = lw_shape_of(L, n->out[0]), *sx = lw_shape_of(L, n->in[1]);
  int axis = lw_axis_attr(L, n, so->rank);
  Dim at = ir_get_dim(L->g, n, "at");
  if (!ir_dim_static(at) || !ir_dim_static(sx->d[axis]) ||
      !ir_dim_static(so->d[axis]))
    k_check(k, lw_vbin(k, KO_LT, cg_dim(L, so->d[axis]),
                       k_add(k, cg_dim(L, at), cg_dim(L, sx->d[axis]))),
            K_ERR_SLICE_RANGE);
  Mono sto[IR_MAX_RANK];
  lw_mono_strides(so, sto);
  uint32_t base = k_mul(k, lw_mono_expr(L, &sto[axis]), cg_dim(L, at));
  copy_box(L, n, sx, 0, so, base, 2, sx, k_i64(k, 0));
}

/* x [..., L, ...] -> out_j [..., L_j, ...], consecutive along axis */
static void lower_split(Lower *L, const Node *n) {
  Kernel *k = L->k;
  const Shape *sx = lw_shape_of(L, n->in[0]);
  int axis = lw_axis_attr(L, n, sx->rank);
  Mono stx[IR_MAX_RANK];
  lw_mono_strides(sx, stx);
  uint32_t xs = lw_mono_expr(L, &stx[axis]);
  uint32_t start = k_i64(k, 0);
  for (uint32_t j = 0; j < n->nout; j++) {
    const Shape *so = lw_shape_of(L, n->out[j]);
    copy_box(L, n, so, j, so, k_i64(k, 0), n->nout, sx, k_mul(k, start, xs));
    start = k_add(k, start, cg_dim(L, so->d[axis]));
  }
}

/* in_j [..., L_j, ...] -> out [..., Σ L_j, ...] */
static void lower_concat(Lower *L, const Node *n) {
  Kernel *k = L->k;
  const Shape *so = lw_shape_of(L, n->out[0]);
  int axis = lw_axis_attr(L, n, so->rank);
  Mono sto[IR_MAX_RANK];
  lw_mono_strides(so, sto);
  uint32_t os = lw_mono_expr(L, &sto[axis]);
  uint32_t start = k_i64(k, 0);
  for (uint32_t j = 0; j < n->nin; j++) {
    const Shape *si = lw_shape_of(L, n->in[j]);
    copy_box(L, n, si, 0, so, k_mul(k, start, os), 1 + j, si, k_i64(k, 0));
    start = k_add(k, start, cg_dim(L, si->d[axis]));
  }
}

/* image [B..., C, H, W] -> out [B..., PH·PW, C·p·p]: loops (B..., ph, pw,
 * c, kh, kw), each innermost run of p pixels contiguous in both */
static void lower_patchify(Lower *L, const Node *n) {
  const Shape *sx = lw_shape_of(L, n->in[0]), *sout = lw_shape_of(L, n->out[0]);
  int lead = sx->rank - 3;
  int64_t p = ir_get_int(L->g, n, "patch");
  int64_t C = sx->d[lead].c, H = sx->d[lead + 1].c, W = sx->d[lead + 2].c;
  int64_t PH = H / p, PW = W / p, cols = C * p * p;
  int64_t ext[5] = {PH, PW, C, p, p};
  int64_t so[5] = {PW * cols, cols, p * p, p, 1};
  int64_t sx5[5] = {p * W, p, H * W, W, 1};
  Shape box = {.rank = lead + 5};
  for (int d = 0; d < lead; d++) box.d[d] = sx->d[d];
  for (int d = 0; d < 5; d++) box.d[lead + d] = ir_dim(ext[d]);
  Nest nt;
  lw_nest_init(L, &nt, 0, &box, val_copy, n);
  Mono st[IR_MAX_RANK + 2], sto[IR_MAX_RANK];
  lw_mono_strides(sx, st);     /* the batch dims' strides: whole images */
  lw_mono_strides(sout, sto);
  for (int d = 0; d < lead; d++) nt.stride[0][d] = sto[d];
  for (int d = 0; d < 5; d++) {
    nt.stride[0][lead + d] = lw_mono(so[d]);
    st[lead + d] = lw_mono(sx5[d]);
  }
  lw_nest_operand(L, &nt, 1, st, K_NONE);
  lw_nest_emit(L, &nt);
}

/* x -> out: x broadcast, stride 0 along the dims it stretches */
static void lower_expand(Lower *L, const Node *n) {
  const Shape *so = lw_shape_of(L, n->out[0]);
  Mono st[IR_MAX_RANK];
  lw_bcast_strides(lw_shape_of(L, n->in[0]), so, st);
  Nest nt;
  lw_nest_init(L, &nt, 0, so, val_copy, n);
  lw_nest_operand(L, &nt, 1, st, K_NONE);
  lw_nest_emit(L, &nt);
}

/* ---- gather, causal mask, positional encoding ---------------------------- */
static void copy_elem(Lower *L, void *ctx, uint32_t j, int lanes) {
  Ctx *c = ctx;
  Kernel *k = L->k;
  k_store(k, c->dst, k_add(k, c->dbase, j),
          k_load(k, c->src, k_add(k, c->sbase, j), lanes));
}

static void fill_elem(Lower *L, void *ctx, uint32_t j, int lanes) {
  Ctx *c = ctx;
  k_store(L->k, c->dst, k_add(L->k, c->dbase, j), lw_splat(L->k, c->fill, lanes));
}

/* table [V, R...], ids [I...] i32 -> out [I..., R...]:
 * out[i, :] = table[ids[i], :]; an id outside 0..V-1 gives
 * K_ERR_GATHER_RANGE (and its row is skipped) */
static void lower_gather(Lower *L, const Node *n) {
  Kernel *k = L->k;
  const Shape *st = lw_shape_of(L, n->in[0]), *si = lw_shape_of(L, n->in[1]);
  Mono row = lw_mono_dims(st, 1, st->rank), ids = lw_mono_dims(si, 0, si->rank);
  bool par = lw_mono_max(L, &row) * lw_mono_max(L, &ids) >= PAR_MIN_WORK;
  uint32_t V = cg_dim(L, st->d[0]), R = lw_mono_expr(L, &row);
  Span s = lw_span(L, L->lanes, k_i64(k, 0), R);
  uint32_t i = k_var(k, k_for(k, "i", k_i64(k, 0), lw_mono_expr(L, &ids), 1, par));
  uint32_t id = k_var(k, k_let(k, "id", k_convert(k, k_load(k, 2, i, 1),
                                                     kt(KT_I64, 1))));
  k_check(k, lw_vbin(k, KO_OR, lw_vbin(k, KO_LT, id, k_i64(k, 0)),
                  lw_vbin(k, KO_GE, id, V)),
          K_ERR_GATHER_RANGE);
  Ctx c = {.dst = 0, .src = 1};
  c.dbase = lw_let_i64(k, "o", k_mul(k, i, R));
  c.sbase = lw_let_i64(k, "t", k_mul(k, id, R));
  lw_strips(L, s, false, copy_elem, &c);
  k_end(k);
}

/* x [T..., I, J] -> out [T..., I, J]: x, with -inf where j > i + offset.
 * Row i copies [0, jb) and fills [jb, J), jb = clamp(i + offset + 1, 0, J). */
static void lower_causal_mask(Lower *L, const Node *n) {
  Kernel *k = L->k;
  const Shape *s = lw_shape_of(L, n->in[0]);
  int r = s->rank;
  int64_t offset = ir_get_int(L->g, n, "offset");
  Mono mats = lw_mono_dims(s, 0, r - 2), I = lw_mono_dim(s->d[r - 2]),
       J = lw_mono_dim(s->d[r - 1]), IJ = lw_mono_mul(I, J);
  bool par = lw_mono_max(L, &mats) * lw_mono_max(L, &IJ) >= PAR_MIN_WORK;
  bool outer = !lw_mono_is(&mats, 1);
  uint32_t Je = lw_mono_expr(L, &J);
  uint32_t tb = k_i64(k, 0);
  if (outer) {
    uint32_t t = k_var(k, k_for(k, "t", k_i64(k, 0), lw_mono_expr(L, &mats), 1, par));
    tb = k_var(k, k_let(k, "tb", k_mul(k, t, lw_mono_expr(L, &IJ))));
  }
  uint32_t i = k_var(k, k_for(k, "i", k_i64(k, 0), lw_mono_expr(L, &I), 1,
                              par && !outer));
  Ctx c = {.dst = 0, .src = 1, .fill = -INFINITY};
  c.dbase = c.sbase = lw_let_i64(k, "row", k_add(k, tb, k_mul(k, i, Je)));
  uint32_t jb = k_binary(k, KO_MAX, k_addi(k, i, offset + 1), k_i64(k, 0));
  jb = k_var(k, k_let(k, "jb", k_binary(k, KO_MIN, jb, Je)));
  lw_strips(L, lw_span(L, L->lanes, k_i64(k, 0), jb), false, copy_elem, &c);
  lw_strips(L, lw_span(L, L->lanes, jb, Je), false, fill_elem, &c);
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
                                             k_binary(k, KO_DIV, lw_f64_of(k, c),
                                                      k_f64(k, (double)d)))));
  uint32_t p = k_var(k, k_for(k, "p", k_i64(k, 0), len, 1, false));
  uint32_t a = k_var(k, k_let(k, "a", k_binary(k, KO_DIV, lw_f64_of(k, p), f)));
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
  Mono len = lw_mono_dim(len_dim);
  bool par = lw_mono_max(L, &len) * (double)d >= PAR_MIN_WORK;
  uint32_t len_e = lw_mono_expr(L, &len);
  if (d >= 2) {
    uint32_t c = k_for(k, "c", k_i64(k, 0), k_i64(k, d - d % 2), 2, par);
    pe_columns(L, k_var(k, c), d, len_e, true);
    k_end(k);
  }
  if (d % 2) pe_columns(L, k_i64(k, d - 1), d, len_e, false);
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
  case OP_BIAS_ADD: lw_binary(L, n, val_add); return 0;
  case OP_MUL: lw_binary(L, n, val_mul); return 0;
  case OP_MASK: lw_binary(L, n, val_mask); return 0;
  case OP_SCALE: lw_map(L, n, val_scale); return 0;
  case OP_RELU:
  case OP_GELU:
  case OP_GELU_TANH: lw_map(L, n, val_act); return 0;
  case OP_RESHAPE: lw_map(L, n, val_copy); return 0;
  case OP_EXPAND: lower_expand(L, n); return 0;
  case OP_TRANSPOSE: lower_transpose(L, n); return 0;
  case OP_SLICE: lower_slice(L, n); return 0;
  case OP_WRITE_ROWS: lower_write_rows(L, n); return 0;
  case OP_SPLIT: lower_split(L, n); return 0;
  case OP_CONCAT: lower_concat(L, n); return 0;
  case OP_CAUSAL_MASK: lower_causal_mask(L, n); return 0;
  case OP_SINUSOIDAL_PE: lower_sinusoidal_pe(L, n); return 0;
  case OP_PATCHIFY: lower_patchify(L, n); return 0;
  case OP_LAYERNORM: lw_layernorm(L, n); return 0;
  case OP_SOFTMAX:
  case OP_MEAN:
  case OP_L2_NORMALIZE: lw_axis_reduction(L, n); return 0;
  case OP_INPUT:
  case OP_WEIGHT:
  case OP_CONST: /* sources: no kernel */
  case OP_MATMUL: /* lower_matmul.c's */
  case OP_ATTENTION: /* lower_attention.c's */
  case OP_COUNT: break;
  }
  return -1;
}
