/* family_build.c — the builder the family frontends share (see
 * family_build.h): one function per primitive op, and the few layers every
 * family is made of (linear, layer norm, attention).
 *
 * Each helper is "add the node, set its attributes, run its shape rule";
 * the shape rule is what checks a builder's arithmetic, so a builder bug
 * shows up as a located error at the node that has it rather than as wrong
 * numbers.
 */
#include "frontend/family_build.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void fb_scope(Fb *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(b->scope, sizeof b->scope, fmt, ap);
  va_end(ap);
}

Shape fb_shape(int rank, ...) {
  Shape s = {.rank = rank};
  IR_ASSERT(rank >= 0 && rank <= IR_MAX_RANK);
  va_list ap;
  va_start(ap, rank);
  for (int i = 0; i < rank; i++) s.d[i] = ir_dim(va_arg(ap, int64_t));
  va_end(ap);
  return s;
}

/* Name result v SCOPE.name (or name when there is no scope). */
static void set_name(Fb *b, uint32_t v, const char *name) {
  if (!name) return;
  if (!b->scope[0]) {
    ir_set_name(b->g, v, name);
    return;
  }
  char full[256];
  snprintf(full, sizeof full, "%s.%s", b->scope, name);
  ir_set_name(b->g, v, full);
}

/* A node with nout results at b->loc; attributes are set by the caller
 * before finish(). */
static uint32_t begin(Fb *b, Op op, const uint32_t *in, uint32_t nin,
                      uint32_t nout) {
  return ir_add_node(b->g, op, in, nin, nout, b->loc);
}

/* Run the shape rule of node id (unless an earlier one failed), name its
 * first result, return it. */
static uint32_t finish(Fb *b, uint32_t id, const char *name) {
  if (!b->failed && ir_infer(b->g, id, b->d)) b->failed = true;
  uint32_t v = b->g->nodes[id].out[0];
  set_name(b, v, name);
  return v;
}

static uint32_t unary(Fb *b, Op op, uint32_t x, const char *name) {
  return finish(b, begin(b, op, &x, 1, 1), name);
}

static uint32_t binary(Fb *b, Op op, uint32_t x, uint32_t y,
                       const char *name) {
  uint32_t in[2] = {x, y};
  return finish(b, begin(b, op, in, 2, 1), name);
}

uint32_t fb_input(Fb *b, const char *name, DType dt, const Shape *s) {
  uint32_t v = ir_add_source(b->g, OP_INPUT, name, dt, s, b->loc);
  if (!b->failed && ir_infer(b->g, b->g->values[v].node, b->d))
    b->failed = true;
  return v;
}

uint32_t fb_mask_input(Fb *b, const char *name, const Shape *s,
                       const char *keep_name, uint32_t *keep) {
  uint32_t mask = fb_input(b, name, DT_F32, s);
  ir_set_int(b->g, b->g->values[mask].node, "optional", 1);
  ir_set_int(b->g, b->g->values[mask].node, "fill", 1);
  Dim k4[4] = {s->d[0], ir_dim(1), ir_dim(1), s->d[1]};
  *keep = fb_reshape(b, mask, 4, k4, keep_name);
  return mask;
}

uint32_t fb_state(Fb *b, const char *name, const Shape *s) {
  uint32_t v = ir_add_source(b->g, OP_INPUT, name, DT_F32, s, b->loc);
  ir_set_int(b->g, b->g->values[v].node, "state", 1);
  if (!b->failed && ir_infer(b->g, b->g->values[v].node, b->d))
    b->failed = true;
  return v;
}

uint32_t fb_position(Fb *b, const char *name, int32_t sym) {
  Shape scalar = {0};
  uint32_t v = ir_add_source(b->g, OP_INPUT, name, DT_I32, &scalar, b->loc);
  ir_set_dim(b->g, b->g->values[v].node, "binds", ir_dim_sym(sym));
  if (!b->failed && ir_infer(b->g, b->g->values[v].node, b->d))
    b->failed = true;
  return v;
}

uint32_t fb_weight(Fb *b, Shape s, const char *fmt, ...) {
  char name[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(name, sizeof name, fmt, ap);
  va_end(ap);
  uint32_t v = ir_add_source(b->g, OP_WEIGHT, name, DT_F32, &s, b->loc);
  if (!b->failed && ir_infer(b->g, b->g->values[v].node, b->d))
    b->failed = true;
  return v;
}

Dim fb_dim(const Fb *b, uint32_t v, int axis) {
  const Shape *s = &b->g->values[v].shape;
  if (axis < 0) axis += s->rank;
  if (axis < 0 || axis >= s->rank) {
    IR_ASSERT(b->failed); /* only a value whose rule did not run lacks it */
    return ir_dim(1);
  }
  return s->d[axis];
}

/* ---- primitive ops ------------------------------------------------------ */

uint32_t fb_gather(Fb *b, uint32_t table, uint32_t ids, const char *name) {
  return binary(b, OP_GATHER, table, ids, name);
}

uint32_t fb_add(Fb *b, uint32_t x, uint32_t y, const char *name) {
  return binary(b, OP_ADD, x, y, name);
}

uint32_t fb_scale(Fb *b, uint32_t x, double by, const char *name) {
  uint32_t id = begin(b, OP_SCALE, &x, 1, 1);
  ir_set_float(b->g, id, "by", by);
  return finish(b, id, name);
}

uint32_t fb_matmul(Fb *b, uint32_t x, uint32_t y, bool transpose_b,
                   const char *name) {
  uint32_t in[2] = {x, y};
  uint32_t id = begin(b, OP_MATMUL, in, 2, 1);
  if (transpose_b) ir_set_int(b->g, id, "transpose_b", 1);
  return finish(b, id, name);
}

uint32_t fb_bias_add(Fb *b, uint32_t x, uint32_t bias, const char *name) {
  return binary(b, OP_BIAS_ADD, x, bias, name);
}

uint32_t fb_layernorm(Fb *b, uint32_t x, uint32_t gamma, uint32_t beta,
                      double eps, const char *name) {
  uint32_t in[3] = {x, gamma, beta};
  uint32_t id = begin(b, OP_LAYERNORM, in, 3, 1);
  ir_set_float(b->g, id, "eps", eps);
  return finish(b, id, name);
}

uint32_t fb_softmax(Fb *b, uint32_t x, int axis, const char *name) {
  uint32_t id = begin(b, OP_SOFTMAX, &x, 1, 1);
  ir_set_int(b->g, id, "axis", axis);
  return finish(b, id, name);
}

uint32_t fb_activation(Fb *b, Op act, uint32_t x, const char *name) {
  IR_ASSERT(ir_op_info(act)->flags & OPF_ACTIVATION);
  return unary(b, act, x, name);
}

uint32_t fb_reshape(Fb *b, uint32_t x, int rank, const Dim *dims,
                    const char *name) {
  uint32_t id = begin(b, OP_RESHAPE, &x, 1, 1);
  ir_set_dims(b->g, id, "shape", dims, rank);
  return finish(b, id, name);
}

uint32_t fb_expand(Fb *b, uint32_t x, int rank, const Dim *dims,
                   const char *name) {
  uint32_t id = begin(b, OP_EXPAND, &x, 1, 1);
  ir_set_dims(b->g, id, "shape", dims, rank);
  return finish(b, id, name);
}

uint32_t fb_transpose(Fb *b, uint32_t x, int rank, const int64_t *perm,
                      const char *name) {
  uint32_t id = begin(b, OP_TRANSPOSE, &x, 1, 1);
  ir_set_ints(b->g, id, "perm", perm, rank);
  return finish(b, id, name);
}

uint32_t fb_slice_len(Fb *b, uint32_t x, int axis, Dim start, Dim len,
                      const char *name) {
  uint32_t id = begin(b, OP_SLICE, &x, 1, 1);
  ir_set_int(b->g, id, "axis", axis);
  if (start.sym >= 0 || start.c) ir_set_dim(b->g, id, "start", start);
  ir_set_dim(b->g, id, "len", len);
  return finish(b, id, name);
}

uint32_t fb_write_rows(Fb *b, uint32_t state, uint32_t x, int axis, Dim at,
                       const char *name) {
  uint32_t in[2] = {state, x};
  uint32_t id = begin(b, OP_WRITE_ROWS, in, 2, 1);
  ir_set_int(b->g, id, "axis", axis);
  if (at.sym >= 0 || at.c) ir_set_dim(b->g, id, "at", at);
  return finish(b, id, name);
}

uint32_t fb_slice(Fb *b, uint32_t x, int axis, int64_t start, Dim end,
                  const char *name) {
  uint32_t id = begin(b, OP_SLICE, &x, 1, 1);
  ir_set_int(b->g, id, "axis", axis);
  if (start) ir_set_dim(b->g, id, "start", ir_dim(start));
  ir_set_dim(b->g, id, "end", end);
  return finish(b, id, name);
}

void fb_split(Fb *b, uint32_t x, int axis, int parts, uint32_t *out,
              const char *const *names) {
  uint32_t id = begin(b, OP_SPLIT, &x, 1, (uint32_t)parts);
  ir_set_int(b->g, id, "axis", axis);
  ir_set_int(b->g, id, "parts", parts);
  finish(b, id, names ? names[0] : NULL);
  for (int i = 0; i < parts; i++) {
    out[i] = b->g->nodes[id].out[i];
    if (i && names) set_name(b, out[i], names[i]);
  }
}

uint32_t fb_concat(Fb *b, const uint32_t *xs, int n, int axis,
                   const char *name) {
  uint32_t id = begin(b, OP_CONCAT, xs, (uint32_t)n, 1);
  ir_set_int(b->g, id, "axis", axis);
  return finish(b, id, name);
}

uint32_t fb_causal_mask(Fb *b, uint32_t x, const char *name) {
  return unary(b, OP_CAUSAL_MASK, x, name);
}

uint32_t fb_sinusoidal_pe(Fb *b, Dim len, int64_t d, const char *name) {
  uint32_t id = begin(b, OP_SINUSOIDAL_PE, NULL, 0, 1);
  ir_set_dim(b->g, id, "len", len);
  ir_set_int(b->g, id, "d", d);
  return finish(b, id, name);
}

uint32_t fb_patchify(Fb *b, uint32_t image, int64_t patch, const char *name) {
  uint32_t id = begin(b, OP_PATCHIFY, &image, 1, 1);
  ir_set_int(b->g, id, "patch", patch);
  return finish(b, id, name);
}

uint32_t fb_mean(Fb *b, uint32_t x, int axis, const char *name) {
  uint32_t id = begin(b, OP_MEAN, &x, 1, 1);
  ir_set_int(b->g, id, "axis", axis);
  return finish(b, id, name);
}

uint32_t fb_masked_mean(Fb *b, uint32_t x, uint32_t keep, int axis,
                        const char *name) {
  uint32_t in[2] = {x, keep};
  uint32_t id = begin(b, OP_MEAN, in, 2, 1);
  ir_set_int(b->g, id, "axis", axis);
  return finish(b, id, name);
}

uint32_t fb_mask(Fb *b, uint32_t x, uint32_t keep, const char *name) {
  return binary(b, OP_MASK, x, keep, name);
}

uint32_t fb_l2_normalize(Fb *b, uint32_t x, int axis, const char *name) {
  uint32_t id = begin(b, OP_L2_NORMALIZE, &x, 1, 1);
  ir_set_int(b->g, id, "axis", axis);
  return finish(b, id, name);
}

/* ---- layers ------------------------------------------------------------- */

uint32_t fb_linear(Fb *b, uint32_t x, uint32_t w, uint32_t bias,
                   bool torch_layout, const char *name) {
  if (bias == IR_NONE) return fb_matmul(b, x, w, torch_layout, name);
  uint32_t y = fb_matmul(b, x, w, torch_layout, NULL);
  return fb_bias_add(b, y, bias, name);
}

/* PREFIX.weight [out, in] (nn.Linear) or [in, out] (Conv1D) and
 * PREFIX.bias [out], then x W + b. */
static uint32_t linear_v(Fb *b, uint32_t x, int64_t in, int64_t out,
                         bool torch_layout, const char *name,
                         const char *fmt, va_list ap) {
  char prefix[200];
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  Shape ws = torch_layout ? FB_SHAPE2(out, in) : FB_SHAPE2(in, out);
  uint32_t w = fb_weight(b, ws, "%s.weight", prefix);
  uint32_t bias = fb_weight(b, FB_SHAPE1(out), "%s.bias", prefix);
  return fb_linear(b, x, w, bias, torch_layout, name);
}

uint32_t fb_nn_linear(Fb *b, uint32_t x, int64_t in, int64_t out,
                      const char *name, const char *prefix_fmt, ...) {
  va_list ap;
  va_start(ap, prefix_fmt);
  uint32_t y = linear_v(b, x, in, out, true, name, prefix_fmt, ap);
  va_end(ap);
  return y;
}

uint32_t fb_conv1d(Fb *b, uint32_t x, int64_t in, int64_t out,
                   const char *name, const char *prefix_fmt, ...) {
  va_list ap;
  va_start(ap, prefix_fmt);
  uint32_t y = linear_v(b, x, in, out, false, name, prefix_fmt, ap);
  va_end(ap);
  return y;
}

uint32_t fb_nn_layernorm(Fb *b, uint32_t x, int64_t d, double eps,
                         const char *name, const char *prefix_fmt, ...) {
  char prefix[200];
  va_list ap;
  va_start(ap, prefix_fmt);
  vsnprintf(prefix, sizeof prefix, prefix_fmt, ap);
  va_end(ap);
  uint32_t gamma = fb_weight(b, FB_SHAPE1(d), "%s.weight", prefix);
  uint32_t beta = fb_weight(b, FB_SHAPE1(d), "%s.bias", prefix);
  return fb_layernorm(b, x, gamma, beta, eps, name);
}

/* The rank of v (1 when a failed rule left it without a shape). */
static int rank_of(const Fb *b, uint32_t v) {
  int r = b->g->values[v].shape.rank;
  return r >= 2 ? r : 2;
}

/* perm swapping axes r-3 and r-2: [B..., L, H, Dh] <-> [B..., H, L, Dh] */
static void head_perm(int r, int64_t *perm) {
  for (int i = 0; i < r; i++) perm[i] = i;
  perm[r - 3] = r - 2;
  perm[r - 2] = r - 3;
}

/* x [B..., L, d] -> [B..., H, L, Dh]: heads as a batch dimension. */
static uint32_t split_heads(Fb *b, uint32_t x, int64_t heads,
                            const char *name) {
  int r = rank_of(b, x); /* of x; the result has r + 1 */
  Dim shape[IR_MAX_RANK];
  for (int i = 0; i < r - 1; i++) shape[i] = fb_dim(b, x, i);
  Dim d = fb_dim(b, x, r - 1);
  shape[r - 1] = ir_dim(heads);
  shape[r] = ir_dim(d.c / heads);
  int64_t perm[IR_MAX_RANK];
  head_perm(r + 1, perm);
  uint32_t t = fb_reshape(b, x, r + 1, shape, NULL); /* [B..., L, H, Dh] */
  return fb_transpose(b, t, r + 1, perm, name);      /* [B..., H, L, Dh] */
}

uint32_t fb_split_heads(Fb *b, uint32_t x, int64_t heads, const char *name) {
  return split_heads(b, x, heads, name);
}

/* The heads' context [B..., H, S, Dh] back to q's shape [B..., S, d]. */
static uint32_t merge_heads(Fb *b, uint32_t ctx, uint32_t q) {
  int r = rank_of(b, q);
  Dim flat[IR_MAX_RANK];
  for (int i = 0; i < r; i++) flat[i] = fb_dim(b, q, i);
  int64_t perm[IR_MAX_RANK];
  head_perm(r + 1, perm);
  ctx = fb_transpose(b, ctx, r + 1, perm, NULL);  /* [B..., S, H, Dh] */
  return fb_reshape(b, ctx, r, flat, "merged");   /* [B..., S, d] */
}

uint32_t fb_cached_attention(Fb *b, uint32_t q, uint32_t k, uint32_t v,
                             int64_t heads, uint32_t kc, uint32_t vc, Dim P,
                             uint32_t keep) {
  int r = rank_of(b, q);
  int64_t dh = fb_dim(b, q, r - 1).c / heads;
  uint32_t qh = split_heads(b, q, heads, "q_heads"); /* [B..., H, S, Dh] */
  uint32_t kh = k, vh = v; /* cross-attention: [H, T, Dh] already */
  if (kc != IR_NONE) {
    kh = split_heads(b, k, heads, "k_heads"); /* [B..., H, S, Dh] */
    vh = split_heads(b, v, heads, "v_heads");
    kh = fb_write_rows(b, kc, kh, r - 1, P, "k_cache"); /* [B..., H, L, Dh] */
    vh = fb_write_rows(b, vc, vh, r - 1, P, "v_cache");
  }
  uint32_t in[4] = {qh, kh, vh, keep};
  uint32_t id = begin(b, OP_ATTENTION, in, keep != IR_NONE ? 4 : 3, 1);
  ir_set_float(b->g, id, "scale", 1.0 / sqrt((double)dh));
  if (kc != IR_NONE) {
    ir_set_int(b->g, id, "causal", 1);
    ir_set_dim(b->g, id, "q_offset", P);
  }
  return merge_heads(b, finish(b, id, "context"), q); /* [B..., S, d] */
}

uint32_t fb_attention(Fb *b, uint32_t q, uint32_t k, uint32_t v,
                      int64_t heads, bool causal, uint32_t keep) {
  int64_t dh = fb_dim(b, q, rank_of(b, q) - 1).c / heads;
  uint32_t qh = split_heads(b, q, heads, "q_heads"); /* [B..., H, S, Dh] */
  uint32_t kh = split_heads(b, k, heads, "k_heads"); /* [B..., H, T, Dh] */
  uint32_t vh = split_heads(b, v, heads, "v_heads"); /* [B..., H, T, Dh] */
  uint32_t scores = fb_matmul(b, qh, kh, true, "scores"); /* [B..., H, S, T] */
  scores = fb_scale(b, scores, 1.0 / sqrt((double)dh), "scaled");
  if (causal) scores = fb_causal_mask(b, scores, "masked");
  if (keep != IR_NONE) scores = fb_mask(b, scores, keep, "padded");
  uint32_t p = fb_softmax(b, scores, -1, "probs");      /* [B..., H, S, T] */
  uint32_t ctx = fb_matmul(b, p, vh, false, "context"); /* [B..., H, S, Dh] */
  return merge_heads(b, ctx, q);                        /* [B..., S, d] */
}
