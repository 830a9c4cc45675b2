/* lower_reduce.c — softmax, layernorm, l2_normalize and mean: reductions
 * along the last axis (rows) and along any other axis (columns), the
 * second and third loop shapes of lower_ops.c's essay. */
#include "codegen/kir/kmath.h"
#include "codegen/lower/lower_loops.h"

#include <math.h>

/* ---- reductions along the last axis: rows ------------------------------- */

/* Opens the loop over `rows` rows of n elements (none for one row); returns
 * the row index and sets the row's base offset in c. */
static uint32_t open_rows(Lower *L, const Mono *rows, const Mono *n, Ctx *c,
                          bool *opened) {
  Kernel *k = L->k;
  *opened = !lw_mono_is(rows, 1);
  if (!*opened) {
    c->sbase = c->dbase = k_i64(k, 0);
    return k_i64(k, 0);
  }
  bool par = lw_mono_max(L, rows) * lw_mono_max(L, n) >= PAR_MIN_WORK;
  uint32_t r = k_var(k, k_for(k, "r", k_i64(k, 0), lw_mono_expr(L, rows), 1, par));
  c->sbase = c->dbase = lw_let_i64(k, "row", k_mul(k, r, lw_mono_expr(L, n)));
  return r;
}

static uint32_t acc_max(Lower *L, void *ctx, uint32_t acc, uint32_t j, int lanes) {
  Ctx *c = ctx;
  return lw_vbin(L->k, KO_MAX, acc, k_load(L->k, c->src, k_add(L->k, c->sbase, j), lanes));
}

static uint32_t acc_sum(Lower *L, void *ctx, uint32_t acc, uint32_t j, int lanes) {
  Ctx *c = ctx;
  return lw_vbin(L->k, KO_ADD, acc, k_load(L->k, c->src, k_add(L->k, c->sbase, j), lanes));
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
  uint32_t d = lw_let_v(k, "d", lw_vbin(k, KO_SUB, x, k_broadcast(k, c->m, lanes)));
  uint32_t e = lw_let_v(k, "e", km_exp(k, d));
  k_store(k, c->dst, k_add(k, c->dbase, j), e);
  return lw_vbin(k, KO_ADD, acc, e);
}

/* (x - mean)² summed */
static uint32_t acc_dev2(Lower *L, void *ctx, uint32_t acc, uint32_t j, int lanes) {
  Ctx *c = ctx;
  Kernel *k = L->k;
  uint32_t x = k_load(k, c->src, k_add(k, c->sbase, j), lanes);
  uint32_t d = lw_vbin(k, KO_SUB, x, k_broadcast(k, c->mean, lanes));
  return k_fma(k, d, d, acc);
}

/* dst[j] <- dst[j] · inv */
static void scale_dst(Lower *L, void *ctx, uint32_t j, int lanes) {
  Ctx *c = ctx;
  Kernel *k = L->k;
  uint32_t at = k_add(k, c->dbase, j);
  k_store(k, c->dst, at, lw_vbin(k, KO_MUL, k_load(k, c->dst, at, lanes),
                              k_broadcast(k, c->inv, lanes)));
}

/* dst[j] <- src[j] · inv */
static void scale_src(Lower *L, void *ctx, uint32_t j, int lanes) {
  Ctx *c = ctx;
  Kernel *k = L->k;
  k_store(k, c->dst, k_add(k, c->dbase, j),
          lw_vbin(k, KO_MUL, k_load(k, c->src, k_add(k, c->sbase, j), lanes),
               k_broadcast(k, c->inv, lanes)));
}

/* dst[j] <- (src[j] - mean) · inv · gamma[j] + beta[j] */
static void norm_elem(Lower *L, void *ctx, uint32_t j, int lanes) {
  Ctx *c = ctx;
  Kernel *k = L->k;
  uint32_t x = k_load(k, c->src, k_add(k, c->sbase, j), lanes);
  uint32_t y = lw_vbin(k, KO_MUL, lw_vbin(k, KO_SUB, x, k_broadcast(k, c->mean, lanes)),
                    k_broadcast(k, c->inv, lanes));
  k_store(k, c->dst, k_add(k, c->dbase, j),
          k_fma(k, y, k_load(k, c->gamma, j, lanes), k_load(k, c->beta, j, lanes)));
}

/* x [rows, n] -> out [rows, n]: e = exp(x - max x), out = e / Σ e */
static void softmax_rows(Lower *L, const Mono *rows, const Mono *n) {
  Kernel *k = L->k;
  Span s = lw_span(L, L->lanes, k_i64(k, 0), lw_mono_expr(L, n));
  Ctx c = {.dst = 0, .src = 1};
  bool opened;
  open_rows(L, rows, n, &c, &opened);
  c.m = lw_reduce_strips(L, s, KO_MAX, -INFINITY, acc_max, &c, "m");
  uint32_t sum = lw_reduce_strips(L, s, KO_ADD, 0, acc_exp, &c, "sum");
  c.inv = k_var(k, k_let(k, "inv", lw_vbin(k, KO_DIV, k_f32(k, 1), sum)));
  lw_strips(L, s, false, scale_dst, &c);
  if (opened) k_end(k);
}

/* x [rows, n], gamma [n], beta [n] -> out [rows, n]:
 * (x - mean) / sqrt(var + eps) · gamma + beta, biased variance, two passes */
void lw_layernorm(Lower *L, const Node *n) {
  Kernel *k = L->k;
  const Shape *sx = lw_shape_of(L, n->in[0]);
  Mono rows = lw_mono_dims(sx, 0, sx->rank - 1), N = lw_mono_dim(sx->d[sx->rank - 1]);
  uint32_t Ne = lw_mono_expr(L, &N);
  Span s = lw_span(L, L->lanes, k_i64(k, 0), Ne);
  Ctx c = {.dst = 0, .src = 1, .gamma = 2, .beta = 3};
  c.nf = lw_f32_of(k, Ne);
  c.eps = k_f32(k, ir_get_float(L->g, n, "eps"));
  bool opened;
  open_rows(L, &rows, &N, &c, &opened);
  uint32_t sum = lw_reduce_strips(L, s, KO_ADD, 0, acc_sum, &c, "sum");
  c.mean = k_var(k, k_let(k, "mean", lw_vbin(k, KO_DIV, sum, c.nf)));
  uint32_t ss = lw_reduce_strips(L, s, KO_ADD, 0, acc_dev2, &c, "ss");
  uint32_t var = lw_vbin(k, KO_ADD, lw_vbin(k, KO_DIV, ss, c.nf), c.eps);
  c.inv = k_var(k, k_let(k, "inv", lw_vbin(k, KO_DIV, k_f32(k, 1),
                                        k_unary(k, KO_SQRT, var))));
  lw_strips(L, s, false, norm_elem, &c);
  if (opened) k_end(k);
}

/* x [rows, n] -> out [rows, n]: x / max(sqrt(Σ x²), eps) */
static void l2_rows(Lower *L, const Mono *rows, const Mono *n, double eps) {
  Kernel *k = L->k;
  Span s = lw_span(L, L->lanes, k_i64(k, 0), lw_mono_expr(L, n));
  Ctx c = {.dst = 0, .src = 1};
  bool opened;
  open_rows(L, rows, n, &c, &opened);
  uint32_t ss = lw_reduce_strips(L, s, KO_ADD, 0, acc_sumsq, &c, "ss");
  uint32_t den = lw_vbin(k, KO_MAX, k_unary(k, KO_SQRT, ss), k_f32(k, eps));
  c.inv = k_var(k, k_let(k, "inv", lw_vbin(k, KO_DIV, k_f32(k, 1), den)));
  lw_strips(L, s, false, scale_src, &c);
  if (opened) k_end(k);
}

/* x [rows, n] -> out [rows]: Σ x / n */
static void mean_rows(Lower *L, const Mono *rows, const Mono *n) {
  Kernel *k = L->k;
  uint32_t ne = lw_mono_expr(L, n);
  Span s = lw_span(L, L->lanes, k_i64(k, 0), ne);
  Ctx c = {.dst = 0, .src = 1};
  uint32_t nf = lw_f32_of(k, ne);
  bool opened;
  uint32_t r = open_rows(L, rows, n, &c, &opened);
  uint32_t sum = lw_reduce_strips(L, s, KO_ADD, 0, acc_sum, &c, "sum");
  k_store(k, 0, r, lw_vbin(k, KO_DIV, sum, nf));
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
  Mono slab = lw_mono_mul(*len, *inner);
  bool par = lw_mono_max(L, outer) * lw_mono_max(L, &slab) >= PAR_MIN_WORK;
  c->len = lw_mono_expr(L, len);
  c->inner = lw_mono_expr(L, inner);
  *opened = !lw_mono_is(outer, 1);
  *par_cols = par && !*opened;
  if (!*opened) {
    c->sbase = c->dbase = k_i64(k, 0);
    return k_i64(k, 0);
  }
  uint32_t o = k_var(k, k_for(k, "o", k_i64(k, 0), lw_mono_expr(L, outer), 1, par));
  c->sbase = c->dbase = lw_let_i64(k, "slab", k_mul(k, o, lw_mono_expr(L, &slab)));
  return o;
}

/* Opens `for l = from to L` and returns the element index col + l·inner. */
static uint32_t open_along(Lower *L, Ctx *c, uint32_t col, int64_t from) {
  Kernel *k = L->k;
  uint32_t l = k_var(k, k_for(k, "l", k_i64(k, from), c->len, 1, false));
  return lw_let_i64(k, "at", k_add(k, col, k_mul(k, l, c->inner)));
}

/* softmax of W columns along L */
static void softmax_cols(Lower *L, void *ctx, uint32_t i, int lanes) {
  Ctx *c = ctx;
  Kernel *k = L->k;
  uint32_t col = lw_let_i64(k, "col", k_add(k, c->sbase, i));
  uint32_t m = k_let(k, "m", lw_splat(k, -INFINITY, lanes));
  uint32_t at = open_along(L, c, col, 0);
  k_set(k, m, lw_vbin(k, KO_MAX, k_var(k, m), k_load(k, c->src, at, lanes)));
  k_end(k);
  uint32_t sum = k_let(k, "sum", lw_splat(k, 0, lanes));
  at = open_along(L, c, col, 0);
  uint32_t d = lw_let_v(k, "d", lw_vbin(k, KO_SUB, k_load(k, c->src, at, lanes),
                                  k_var(k, m)));
  uint32_t e = lw_let_v(k, "e", km_exp(k, d));
  k_store(k, c->dst, at, e);
  k_set(k, sum, lw_vbin(k, KO_ADD, k_var(k, sum), e));
  k_end(k);
  uint32_t inv = k_var(k, k_let(k, "inv", lw_vbin(k, KO_DIV, lw_splat(k, 1, lanes),
                                               k_var(k, sum))));
  at = open_along(L, c, col, 0);
  k_store(k, c->dst, at, lw_vbin(k, KO_MUL, k_load(k, c->dst, at, lanes), inv));
  k_end(k);
}

/* x [outer, L, inner] -> out [outer, L, inner], softmax along L */
static void softmax_slabs(Lower *L, const Mono *outer, const Mono *len,
                          const Mono *inner) {
  Kernel *k = L->k;
  Span s = lw_span(L, L->lanes, k_i64(k, 0), lw_mono_expr(L, inner));
  Ctx c = {.dst = 0, .src = 1};
  bool opened, par_cols;
  open_slabs(L, outer, len, inner, &c, &opened, &par_cols);
  lw_strips(L, s, par_cols, softmax_cols, &c);
  if (opened) k_end(k);
}

/* mean of W columns along L, stored at dst[dbase + i] */
static void mean_cols(Lower *L, void *ctx, uint32_t i, int lanes) {
  Ctx *c = ctx;
  Kernel *k = L->k;
  uint32_t col = lw_let_i64(k, "col", k_add(k, c->sbase, i));
  uint32_t acc = k_let(k, "acc", lw_splat(k, 0, lanes));
  uint32_t at = open_along(L, c, col, 0);
  k_set(k, acc, lw_vbin(k, KO_ADD, k_var(k, acc), k_load(k, c->src, at, lanes)));
  k_end(k);
  k_store(k, c->dst, k_add(k, c->dbase, i),
          lw_vbin(k, KO_DIV, k_var(k, acc), k_broadcast(k, c->nf, lanes)));
}

/* masked mean of W columns along L: Σ of the kept rows · inv */
static void mmean_cols(Lower *L, void *ctx, uint32_t i, int lanes) {
  Ctx *c = ctx;
  Kernel *k = L->k;
  uint32_t col = lw_let_i64(k, "col", k_add(k, c->sbase, i));
  uint32_t acc = k_let(k, "acc", lw_splat(k, 0, lanes));
  uint32_t l = k_var(k, k_for(k, "l", k_i64(k, 0), c->len, 1, false));
  uint32_t at = lw_let_i64(k, "at", k_add(k, col, k_mul(k, l, c->inner)));
  uint32_t kept = k_binary(k, KO_NE, k_broadcast(k, k_load(k, c->keep, k_add(k, c->kbase, l), 1), lanes),
                           lw_splat(k, 0, lanes));
  k_set(k, acc, lw_vbin(k, KO_ADD, k_var(k, acc),
                        k_select(k, kept, k_load(k, c->src, at, lanes), lw_splat(k, 0, lanes))));
  k_end(k);
  k_store(k, c->dst, k_add(k, c->dbase, i),
          lw_vbin(k, KO_MUL, k_var(k, acc), k_broadcast(k, c->inv, lanes)));
}

/* x [outer, L, inner], keep [outer, L] -> out [outer, inner]: the mean of
 * the rows l with keep != 0 (zeros when none: Σ = 0 times 1 / max(n, 1)) */
static void masked_mean_slabs(Lower *L, const Mono *outer, const Mono *len,
                              const Mono *inner) {
  Kernel *k = L->k;
  Span s = lw_span(L, L->lanes, k_i64(k, 0), lw_mono_expr(L, inner));
  Ctx c = {.dst = 0, .src = 1, .keep = 2};
  bool opened, par_cols;
  uint32_t o = open_slabs(L, outer, len, inner, &c, &opened, &par_cols);
  c.dbase = lw_let_i64(k, "orow", k_mul(k, o, c.inner));
  c.kbase = lw_let_i64(k, "krow", k_mul(k, o, c.len));
  uint32_t n = k_let(k, "n", k_f32(k, 0));
  uint32_t l = k_var(k, k_for(k, "l", k_i64(k, 0), c.len, 1, false));
  uint32_t w = k_load(k, c.keep, k_add(k, c.kbase, l), 1);
  k_set(k, n, lw_vbin(k, KO_ADD, k_var(k, n),
                      k_select(k, k_binary(k, KO_NE, w, k_f32(k, 0)), k_f32(k, 1), k_f32(k, 0))));
  k_end(k);
  c.inv = k_var(k, k_let(k, "inv", lw_vbin(k, KO_DIV, k_f32(k, 1),
                                           lw_vbin(k, KO_MAX, k_var(k, n), k_f32(k, 1)))));
  lw_strips(L, s, par_cols, mmean_cols, &c);
  if (opened) k_end(k);
}

/* x [outer, L, inner] -> out [outer, inner]: Σ along L / L */
static void mean_slabs(Lower *L, const Mono *outer, const Mono *len,
                       const Mono *inner) {
  Kernel *k = L->k;
  Span s = lw_span(L, L->lanes, k_i64(k, 0), lw_mono_expr(L, inner));
  Ctx c = {.dst = 0, .src = 1};
  bool opened, par_cols;
  uint32_t o = open_slabs(L, outer, len, inner, &c, &opened, &par_cols);
  c.nf = lw_f32_of(k, c.len);
  c.dbase = lw_let_i64(k, "orow", k_mul(k, o, c.inner));
  lw_strips(L, s, par_cols, mean_cols, &c);
  if (opened) k_end(k);
}

/* Σ x² of W columns, parked in row l = 0 of dst */
static void l2_sumsq_cols(Lower *L, void *ctx, uint32_t i, int lanes) {
  Ctx *c = ctx;
  Kernel *k = L->k;
  uint32_t col = lw_let_i64(k, "col", k_add(k, c->sbase, i));
  uint32_t acc = k_let(k, "acc", lw_splat(k, 0, lanes));
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
  uint32_t col = lw_let_i64(k, "col", k_add(k, c->sbase, i));
  uint32_t inv = k_var(k, k_let(k, "inv", k_load(k, c->dst, col, lanes)));
  uint32_t at = open_along(L, c, col, 1);
  k_store(k, c->dst, at, lw_vbin(k, KO_MUL, k_load(k, c->src, at, lanes), inv));
  k_end(k);
  k_store(k, c->dst, col, lw_vbin(k, KO_MUL, k_load(k, c->src, col, lanes), inv));
}

/* x [outer, L, inner] -> out [outer, L, inner]: x / max(sqrt(Σ_L x²), eps).
 * sqrt is scalar only, so the sums go through out's row l = 0: summed W
 * columns at a time, turned into 1/den one by one, then every row scaled
 * with row 0 (which holds the factors) overwritten last. */
static void l2_slabs(Lower *L, const Mono *outer, const Mono *len,
                     const Mono *inner, double eps) {
  Kernel *k = L->k;
  uint32_t ie = lw_mono_expr(L, inner);
  Span s = lw_span(L, L->lanes, k_i64(k, 0), ie);
  Ctx c = {.dst = 0, .src = 1};
  bool opened, par_cols;
  open_slabs(L, outer, len, inner, &c, &opened, &par_cols);
  lw_strips(L, s, par_cols, l2_sumsq_cols, &c);
  uint32_t i = k_var(k, k_for(k, "i", k_i64(k, 0), ie, 1, par_cols));
  uint32_t at = lw_let_i64(k, "at", k_add(k, c.dbase, i));
  uint32_t den = lw_vbin(k, KO_MAX, k_unary(k, KO_SQRT, k_load(k, 0, at, 1)),
                      k_f32(k, eps));
  k_store(k, 0, at, lw_vbin(k, KO_DIV, k_f32(k, 1), den));
  k_end(k);
  lw_strips(L, s, par_cols, l2_scale_cols, &c);
  if (opened) k_end(k);
}

/* softmax, mean, l2_normalize: x viewed as [outer, L, inner] around axis */
void lw_axis_reduction(Lower *L, const Node *n) {
  const Shape *sx = lw_shape_of(L, n->in[0]);
  int axis = lw_axis_attr(L, n, sx->rank);
  Mono outer = lw_mono_dims(sx, 0, axis), len = lw_mono_dim(sx->d[axis]),
       inner = lw_mono_dims(sx, axis + 1, sx->rank);
  bool rows = lw_mono_is(&inner, 1);
  if (n->op == OP_SOFTMAX) {
    if (rows) softmax_rows(L, &outer, &len);
    else softmax_slabs(L, &outer, &len, &inner);
  } else if (n->op == OP_MEAN && n->nin > 1) {
    masked_mean_slabs(L, &outer, &len, &inner);
  } else if (n->op == OP_MEAN) {
    if (rows) mean_rows(L, &outer, &len);
    else mean_slabs(L, &outer, &len, &inner);
  } else {
    IR_ASSERT(n->op == OP_L2_NORMALIZE);
    double eps = ir_get_float(L->g, n, "eps");
    if (rows) l2_rows(L, &outer, &len, eps);
    else l2_slabs(L, &outer, &len, &inner, eps);
  }
}

