/* family_build.h — what the family frontends share: the parsed
 * hyperparameters (FeFamily) and a small builder (Fb) that emits primitive
 * ops into a Graph.
 *
 * frontend/family.c reads and checks the YAML and fills an FeFamily; only
 * then does one of family_transformer.c, family_gpt2.c, family_bert.c or
 * family_vit.c expand it, so the builders never see a bad value and read
 * like the PyTorch modules they mirror.
 *
 * Every fb_* helper adds its nodes at b->loc (the YAML key the nodes come
 * from, so a later error still points into the model file), runs the op's
 * shape rule at once, and returns the id of its result value.  A failed
 * shape rule (a bug in a builder, or a limit of the IR) is sticky: b->failed
 * is set, the error stays in b->d, and later helpers only add nodes without
 * checking them, so builders need not test every call; fe_family_form looks
 * at b->failed once at the end.
 *
 * Names: weights carry their checkpoint names (`h.0.attn.c_attn.weight`),
 * given in full by the caller; other results are named `SCOPE.name`
 * (`enc.0.attn.q`) when the caller passes a name, so dumps stay readable.
 */
#ifndef LOOM_FRONTEND_FAMILY_BUILD_H
#define LOOM_FRONTEND_FAMILY_BUILD_H

#include <stdbool.h>
#include <stdint.h>

#include "ir/ir.h"

/* A family model's hyperparameters, checked (family.c).  Fields a family
 * does not have are 0. */
typedef struct {
  const char *family; /* "transformer", "gpt2", "bert", "vit" */
  int64_t d_model, heads, d_ff, max_len;
  double eps;
  Op act;             /* the feed-forward activation (OPF_ACTIVATION) */
  int64_t layers;                         /* gpt2, bert, vit */
  int64_t encoder_layers, decoder_layers; /* transformer */
  int64_t vocab;                          /* all but vit */
  int64_t type_vocab;                     /* bert */
  int64_t image_size, patch_size, channels; /* vit */
  bool pre_norm;                          /* transformer: norm: pre */
  bool pool_mean, normalize;              /* bert: pooling: mean, normalize */
  int64_t max_batch;  /* the bound of the batch dim B; 0: none */
  int graph;          /* FeGraph: forward, prefill, decode, encode */
  int64_t cache_len;  /* the KV cache's rows (generation graphs) */
  /* Where nodes are stamped: the YAML keys they come from. */
  Loc at_family, at_max_len, at_layers, at_encoder, at_decoder, at_pooling,
      at_max_batch;
} FeFamily;

/* The builder. */
typedef struct {
  Graph *g;
  Diag *d;
  Loc loc;         /* stamped on every node added */
  char scope[96];  /* prefix of result names: "enc.0.attn" ("" none) */
  bool failed;
} Fb;

/* Set the scope of result names, printf-style ("" clears it). */
void fb_scope(Fb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Shapes of static tensors. */
Shape fb_shape(int rank, ...); /* rank int64_t dims follow */
#define FB_SHAPE1(a) fb_shape(1, (int64_t)(a))
#define FB_SHAPE2(a, b) fb_shape(2, (int64_t)(a), (int64_t)(b))
#define FB_SHAPE3(a, b, c) fb_shape(3, (int64_t)(a), (int64_t)(b), (int64_t)(c))
#define FB_SHAPE4(a, b, c, d)                                                 \
  fb_shape(4, (int64_t)(a), (int64_t)(b), (int64_t)(c), (int64_t)(d))

/* Sources.  A weight's name is the checkpoint's name, printf-style. */
uint32_t fb_input(Fb *b, const char *name, DType dt, const Shape *s);
uint32_t fb_weight(Fb *b, Shape s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A batch's padding mask: the optional f32 input `name` of shape s [B, S]
 * (nonzero = token; left out, all ones: {fill = 1}); *keep gets it as
 * [B, 1, 1, S] (named keep_name), fb_attention's keep. */
uint32_t fb_mask_input(Fb *b, const char *name, const Shape *s,
                       const char *keep_name, uint32_t *keep);

/* Generation (fe_graph prefill/decode): a state input (a KV cache,
 * {state = true}), and the scalar i32 input whose value is symbol `sym`
 * (a position P, {binds = P}). */
uint32_t fb_state(Fb *b, const char *name, const Shape *s);
uint32_t fb_position(Fb *b, const char *name, int32_t sym);

/* Dimension `axis` (negative: from the end) of value v. */
Dim fb_dim(const Fb *b, uint32_t v, int axis);

/* Primitive ops; `name` (may be NULL) names the result SCOPE.name. */
uint32_t fb_gather(Fb *b, uint32_t table, uint32_t ids, const char *name);
uint32_t fb_add(Fb *b, uint32_t x, uint32_t y, const char *name);
uint32_t fb_scale(Fb *b, uint32_t x, double by, const char *name);
uint32_t fb_matmul(Fb *b, uint32_t x, uint32_t y, bool transpose_b,
                   const char *name);
uint32_t fb_bias_add(Fb *b, uint32_t x, uint32_t bias, const char *name);
uint32_t fb_layernorm(Fb *b, uint32_t x, uint32_t gamma, uint32_t beta,
                      double eps, const char *name);
uint32_t fb_softmax(Fb *b, uint32_t x, int axis, const char *name);
uint32_t fb_activation(Fb *b, Op act, uint32_t x, const char *name);
uint32_t fb_reshape(Fb *b, uint32_t x, int rank, const Dim *dims,
                    const char *name);
uint32_t fb_expand(Fb *b, uint32_t x, int rank, const Dim *dims,
                   const char *name);
uint32_t fb_transpose(Fb *b, uint32_t x, int rank, const int64_t *perm,
                      const char *name);
uint32_t fb_slice(Fb *b, uint32_t x, int axis, int64_t start, Dim end,
                  const char *name);
/* x[..., start:start+len, ...]: start may be a position symbol (P) */
uint32_t fb_slice_len(Fb *b, uint32_t x, int axis, Dim start, Dim len,
                      const char *name);
/* state with x's rows written at `at` along axis (in place) */
uint32_t fb_write_rows(Fb *b, uint32_t state, uint32_t x, int axis, Dim at,
                       const char *name);
/* parts equal pieces of x along axis into out[parts], named names[i]
 * (names may be NULL). */
void fb_split(Fb *b, uint32_t x, int axis, int parts, uint32_t *out,
              const char *const *names);
uint32_t fb_concat(Fb *b, const uint32_t *xs, int n, int axis,
                   const char *name);
uint32_t fb_causal_mask(Fb *b, uint32_t x, const char *name);
uint32_t fb_sinusoidal_pe(Fb *b, Dim len, int64_t d, const char *name);
uint32_t fb_patchify(Fb *b, uint32_t image, int64_t patch, const char *name);
uint32_t fb_mean(Fb *b, uint32_t x, int axis, const char *name);
/* the mean over axis of the positions where keep != 0 */
uint32_t fb_masked_mean(Fb *b, uint32_t x, uint32_t keep, int axis,
                        const char *name);
/* x where keep != 0 (keep broadcast to x), else -inf */
uint32_t fb_mask(Fb *b, uint32_t x, uint32_t keep, const char *name);
uint32_t fb_l2_normalize(Fb *b, uint32_t x, int axis, const char *name);

/* ---- layers ------------------------------------------------------------- */

/* x [.., in] -> [.., out] = x W (+ b).  torch_layout: W is nn.Linear's
 * [out, in] (matmul with transpose_b); otherwise GPT-2's Conv1D [in, out].
 * bias may be IR_NONE. */
uint32_t fb_linear(Fb *b, uint32_t x, uint32_t w, uint32_t bias,
                   bool torch_layout, const char *name);

/* The same, with the weights made here: PREFIX.weight and PREFIX.bias. */
uint32_t fb_nn_linear(Fb *b, uint32_t x, int64_t in, int64_t out,
                      const char *name, const char *prefix_fmt, ...)
    __attribute__((format(printf, 6, 7)));
uint32_t fb_conv1d(Fb *b, uint32_t x, int64_t in, int64_t out,
                   const char *name, const char *prefix_fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* nn.LayerNorm(d) with weights PREFIX.weight and PREFIX.bias. */
uint32_t fb_nn_layernorm(Fb *b, uint32_t x, int64_t d, double eps,
                         const char *name, const char *prefix_fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* Multi-head scaled dot-product attention, the one canonical chain the
 * fuse-attention pass recognizes (leading batch dims [B...] allowed):
 *   q [B..., S, d], k [B..., T, d], v [B..., T, d]
 *   -> per head: [B..., S, H, Dh] -> [B..., H, S, Dh]   (the same for k, v)
 *   -> matmul(q, k, transpose_b) [B..., H, S, T] -> scale(1/sqrt(Dh))
 *   -> [causal_mask] -> [mask(keep)] -> softmax(-1) -> matmul(., v)
 *   -> [B..., S, H, Dh] -> [B..., S, d]
 * keep (IR_NONE: none) is a padding mask [B..., 1, 1, T]: keys where it
 * is 0 are left out. */
uint32_t fb_attention(Fb *b, uint32_t q, uint32_t k, uint32_t v,
                      int64_t heads, bool causal, uint32_t keep);

/* Attention of q [B..., S, d] over a KV cache: k, v [B..., S, d] (the
 * new tokens at cache rows P..P+S-1) are split into heads and written into
 * the state caches kc, vc [B..., H, L, Dh] at P; then one `attention` op
 * (order hsd, scale 1/sqrt(Dh), causal with q_offset P: query i sees keys
 * 0..P+i of the cache; keys past that are never read) -> [B..., S, d].
 * keep (IR_NONE: none) [B..., L]: cache rows where it is 0 are left out
 * (a left-padded batch's padding).  kc == IR_NONE: no cache
 * (cross-attention over k, v kept as heads, [H, T, Dh]: not causal). */
uint32_t fb_cached_attention(Fb *b, uint32_t q, uint32_t k, uint32_t v,
                             int64_t heads, uint32_t kc, uint32_t vc, Dim P,
                             uint32_t keep);
/* [T, d] -> [H, T, Dh] (reshape + transpose), for K/V kept by the caller */
uint32_t fb_split_heads(Fb *b, uint32_t x, int64_t heads, const char *name);

/* ---- the families ------------------------------------------------------- */

/* Each adds its inputs, weights, nodes and outputs to b->g (whose symbols
 * it declares) from a checked FeFamily. */
void fe_build_transformer(Fb *b, const FeFamily *f);
void fe_build_gpt2(Fb *b, const FeFamily *f);
void fe_build_bert(Fb *b, const FeFamily *f);
void fe_build_vit(Fb *b, const FeFamily *f);

#endif
