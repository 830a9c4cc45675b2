/* family_vit.c — the Vision Transformer (Hugging Face ViTModel) as
 * primitive ops.
 *
 * Mirrors transformers' modeling_vit, with its weight names (the `vit.`
 * prefix of ViTFor* checkpoints is accepted at binding, see family.c):
 *
 *   p = patch_embeddings.projection(pixels)     # Conv2d, kernel = stride = P
 *   x = [cls_token; p] + position_embeddings    # [1 + N, d]
 *   for each layer i:                           # pre-norm
 *     x = x + attention.output.dense(attention.attention(layernorm_before(x)))
 *     x = x + output.dense(gelu(intermediate.dense(layernorm_after(x))))
 *   hidden = layernorm(x)
 *
 * The convolution is a patchify (patches row-major, each flattened in
 * (c, kh, kw) order) followed by a matmul with the conv weight
 * [d, C, P, P] reshaped to [d, C*P*P] — the same sums.  The sequence length
 * is static: N = (image_size / patch_size)^2.
 *
 * Input pixels [channels, image_size, image_size] f32; output
 * hidden [1 + N, d].  With max_batch: pixels [B, channels, H, W] and
 * hidden [B, 1 + N, d], B <= max_batch, the class token expanded to every
 * image (no padding: every image has the same N patches).
 */
#include "frontend/family_build.h"

/* ViTLayer i: x [L, d] -> [L, d]. */
static uint32_t layer(Fb *b, const FeFamily *f, uint32_t x, int i) {
  int64_t d = f->d_model;
  fb_scope(b, "layer.%d", i);
  uint32_t h = fb_nn_layernorm(b, x, d, f->eps, "ln_before",
                               "encoder.layer.%d.layernorm_before", i);
  fb_scope(b, "layer.%d.attn", i);
  uint32_t q = fb_nn_linear(b, h, d, d, "q",
                            "encoder.layer.%d.attention.attention.query", i);
  uint32_t k = fb_nn_linear(b, h, d, d, "k",
                            "encoder.layer.%d.attention.attention.key", i);
  uint32_t v = fb_nn_linear(b, h, d, d, "v",
                            "encoder.layer.%d.attention.attention.value", i);
  uint32_t a = fb_attention(b, q, k, v, f->heads, false, IR_NONE); /* [L, d] */
  fb_scope(b, "layer.%d", i);
  a = fb_nn_linear(b, a, d, d, "attn.out",
                   "encoder.layer.%d.attention.output.dense", i);
  x = fb_add(b, x, a, "x1");
  h = fb_nn_layernorm(b, x, d, f->eps, "ln_after",
                      "encoder.layer.%d.layernorm_after", i);
  h = fb_nn_linear(b, h, d, f->d_ff, "ff.hidden",
                   "encoder.layer.%d.intermediate.dense", i);
  h = fb_activation(b, f->act, h, "ff.act");             /* [L, d_ff] */
  h = fb_nn_linear(b, h, f->d_ff, d, "ff.out", "encoder.layer.%d.output.dense",
                   i);
  return fb_add(b, x, h, "x2");
}

void fe_build_vit(Fb *b, const FeFamily *f) {
  Graph *g = b->g;
  int64_t d = f->d_model, c = f->channels, p = f->patch_size;
  int64_t n = (f->image_size / p) * (f->image_size / p); /* patches */
  b->loc = f->at_family;
  Shape img = FB_SHAPE3(c, f->image_size, f->image_size);
  Dim B = ir_dim(1);
  if (f->max_batch) { /* [B, C, H, W] */
    b->loc = f->at_max_batch;
    B = ir_dim_sym(ir_add_sym(g, "B", f->max_batch, f->at_max_batch));
    img = (Shape){4, {B, ir_dim(c), ir_dim(f->image_size), ir_dim(f->image_size)}};
    b->loc = f->at_family;
  }
  uint32_t pixels = fb_input(b, "pixels", DT_F32, &img); /* [B, C, H, W] */

  /* patch embedding: patchify(pixels) W^T + b  [N, d] */
  fb_scope(b, "embeddings");
  uint32_t w = fb_weight(b, FB_SHAPE4(d, c, p, p),
                         "embeddings.patch_embeddings.projection.weight");
  uint32_t bias = fb_weight(b, FB_SHAPE1(d),
                            "embeddings.patch_embeddings.projection.bias");
  Dim flat[2] = {ir_dim(d), ir_dim(c * p * p)};
  w = fb_reshape(b, w, 2, flat, "patch_w");                /* [d, C*P*P] */
  uint32_t patches = fb_patchify(b, pixels, p, "patches"); /* [B, N, C*P*P] */
  uint32_t x = fb_linear(b, patches, w, bias, true, "patch_embed");

  /* x = [cls; patches] + position_embeddings  [B, 1 + N, d] */
  uint32_t cls = fb_weight(b, FB_SHAPE3(1, 1, d), "embeddings.cls_token");
  uint32_t pos = fb_weight(b, FB_SHAPE3(1, 1 + n, d),
                           "embeddings.position_embeddings");
  Dim row[3] = {B, ir_dim(1), ir_dim(d)}, table[2] = {ir_dim(1 + n), ir_dim(d)};
  uint32_t seq[2];
  if (f->max_batch) { /* the class token in front of every image's patches */
    seq[0] = fb_expand(b, cls, 3, row, "cls");
  } else {
    seq[0] = fb_reshape(b, cls, 2, row + 1, "cls");
  }
  seq[1] = x;
  x = fb_concat(b, seq, 2, f->max_batch ? 1 : 0, "tokens");
  x = fb_add(b, x, fb_reshape(b, pos, 2, table, "pos"), "x");

  b->loc = f->at_layers;
  for (int i = 0; i < f->layers; i++) x = layer(b, f, x, i);

  b->loc = f->at_family;
  fb_scope(b, "%s", "");
  uint32_t hidden = fb_nn_layernorm(b, x, d, f->eps, "hidden", "layernorm");
  ir_add_output(g, hidden);
}
