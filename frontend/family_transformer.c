/* family_transformer.c — the encoder-decoder of "Attention Is All You
 * Need", as primitive ops.
 *
 * It mirrors this PyTorch module, weight name for weight name (the names
 * are its state_dict() keys, so a checkpoint saved from it loads as is):
 *
 *   class Seq2Seq(nn.Module):
 *     src_embed = nn.Embedding(vocab, d); tgt_embed = nn.Embedding(vocab, d)
 *     transformer = nn.Transformer(d, heads, n_enc, n_dec, d_ff,
 *                                  dropout=0, batch_first=True,
 *                                  norm_first=(norm == pre), ...)
 *     generator = nn.Linear(d, vocab)
 *     def forward(src, tgt):
 *       x = src_embed(src) * sqrt(d) + pe[:S]
 *       y = tgt_embed(tgt) * sqrt(d) + pe[:T]
 *       return generator(transformer(x, y, tgt_mask=causal(T)))
 *
 * nn.MultiheadAttention keeps Q, K and V stacked in one in_proj_weight
 * [3d, d]; it is split here into three [d, d] weights (a weight-only
 * subgraph that constant folding removes), so that each projection is an
 * ordinary matmul the fuse-qkv pass can merge again.  nn.Transformer always
 * ends its encoder and decoder stacks with a LayerNorm, post-norm too.
 *
 * Inputs src [S] and tgt [T] (i32 token ids, S, T <= max_len); output
 * logits [T, vocab].
 */
#include <math.h>

#include "frontend/family_build.h"

/* nn.MultiheadAttention(d, heads) at PREFIX: query xq [L, d], keys and
 * values from xkv [M, d] -> [L, d]. */
static uint32_t multihead_attention(Fb *b, const FeFamily *f, uint32_t xq,
                                    uint32_t xkv, bool causal,
                                    const char *prefix) {
  int64_t d = f->d_model;
  static const char *const wn[] = {"w_q", "w_k", "w_v"};
  static const char *const bn[] = {"b_q", "b_k", "b_v"};
  uint32_t w[3], bias[3];
  uint32_t in_w = fb_weight(b, FB_SHAPE2(3 * d, d), "%s.in_proj_weight", prefix);
  uint32_t in_b = fb_weight(b, FB_SHAPE1(3 * d), "%s.in_proj_bias", prefix);
  fb_split(b, in_w, 0, 3, w, wn);    /* 3 x [d, d] */
  fb_split(b, in_b, 0, 3, bias, bn); /* 3 x [d] */
  uint32_t q = fb_linear(b, xq, w[0], bias[0], true, "q");  /* [L, d] */
  uint32_t k = fb_linear(b, xkv, w[1], bias[1], true, "k"); /* [M, d] */
  uint32_t v = fb_linear(b, xkv, w[2], bias[2], true, "v"); /* [M, d] */
  uint32_t a = fb_attention(b, q, k, v, f->heads, causal, IR_NONE);  /* [L, d] */
  return fb_nn_linear(b, a, d, d, "out", "%s.out_proj", prefix);
}

/* linear2(activation(linear1(x))) at PREFIX: [L, d] -> [L, d]. */
static uint32_t feed_forward(Fb *b, const FeFamily *f, uint32_t x,
                             const char *prefix) {
  uint32_t h = fb_nn_linear(b, x, f->d_model, f->d_ff, "ff.hidden",
                            "%s.linear1", prefix); /* [L, d_ff] */
  h = fb_activation(b, f->act, h, "ff.act");
  return fb_nn_linear(b, h, f->d_ff, f->d_model, "ff.out", "%s.linear2",
                      prefix); /* [L, d] */
}

/* nn.TransformerEncoderLayer i: x [S, d] -> [S, d].
 *   post-norm: x = norm1(x + sa(x));        x = norm2(x + ff(x))
 *   pre-norm:  x = x + sa(norm1(x));        x = x + ff(norm2(x)) */
static uint32_t encoder_layer(Fb *b, const FeFamily *f, uint32_t x, int i) {
  char p[96], sa[128];
  snprintf(p, sizeof p, "transformer.encoder.layers.%d", i);
  snprintf(sa, sizeof sa, "%s.self_attn", p);
  double eps = f->eps;
  int64_t d = f->d_model;
  if (f->pre_norm) {
    fb_scope(b, "enc.%d", i);
    uint32_t h = fb_nn_layernorm(b, x, d, eps, "norm1", "%s.norm1", p);
    fb_scope(b, "enc.%d.self_attn", i);
    h = multihead_attention(b, f, h, h, false, sa);
    fb_scope(b, "enc.%d", i);
    x = fb_add(b, x, h, "x1");
    h = fb_nn_layernorm(b, x, d, eps, "norm2", "%s.norm2", p);
    h = feed_forward(b, f, h, p);
    return fb_add(b, x, h, "x2");
  }
  fb_scope(b, "enc.%d.self_attn", i);
  uint32_t h = multihead_attention(b, f, x, x, false, sa);
  fb_scope(b, "enc.%d", i);
  x = fb_nn_layernorm(b, fb_add(b, x, h, "res1"), d, eps, "x1", "%s.norm1", p);
  h = feed_forward(b, f, x, p);
  return fb_nn_layernorm(b, fb_add(b, x, h, "res2"), d, eps, "x2", "%s.norm2",
                         p);
}

/* nn.TransformerDecoderLayer i: y [T, d], memory [S, d] -> [T, d].
 *   post-norm: y = norm1(y + sa(y, causal)); y = norm2(y + ca(y, mem));
 *              y = norm3(y + ff(y))
 *   pre-norm:  y = y + sa(norm1(y), causal); y = y + ca(norm2(y), mem);
 *              y = y + ff(norm3(y)) */
static uint32_t decoder_layer(Fb *b, const FeFamily *f, uint32_t y,
                              uint32_t mem, int i) {
  char p[96], sa[128], ca[128];
  snprintf(p, sizeof p, "transformer.decoder.layers.%d", i);
  snprintf(sa, sizeof sa, "%s.self_attn", p);
  snprintf(ca, sizeof ca, "%s.multihead_attn", p);
  double eps = f->eps;
  int64_t d = f->d_model;
  if (f->pre_norm) {
    fb_scope(b, "dec.%d", i);
    uint32_t h = fb_nn_layernorm(b, y, d, eps, "norm1", "%s.norm1", p);
    fb_scope(b, "dec.%d.self_attn", i);
    h = multihead_attention(b, f, h, h, true, sa);
    fb_scope(b, "dec.%d", i);
    y = fb_add(b, y, h, "y1");
    h = fb_nn_layernorm(b, y, d, eps, "norm2", "%s.norm2", p);
    fb_scope(b, "dec.%d.cross_attn", i);
    h = multihead_attention(b, f, h, mem, false, ca);
    fb_scope(b, "dec.%d", i);
    y = fb_add(b, y, h, "y2");
    h = fb_nn_layernorm(b, y, d, eps, "norm3", "%s.norm3", p);
    h = feed_forward(b, f, h, p);
    return fb_add(b, y, h, "y3");
  }
  fb_scope(b, "dec.%d.self_attn", i);
  uint32_t h = multihead_attention(b, f, y, y, true, sa);
  fb_scope(b, "dec.%d", i);
  y = fb_nn_layernorm(b, fb_add(b, y, h, "res1"), d, eps, "y1", "%s.norm1", p);
  fb_scope(b, "dec.%d.cross_attn", i);
  h = multihead_attention(b, f, y, mem, false, ca);
  fb_scope(b, "dec.%d", i);
  y = fb_nn_layernorm(b, fb_add(b, y, h, "res2"), d, eps, "y2", "%s.norm2", p);
  h = feed_forward(b, f, y, p);
  return fb_nn_layernorm(b, fb_add(b, y, h, "res3"), d, eps, "y3", "%s.norm3",
                         p);
}

/* tokens [L] -> EMBED(tokens) * sqrt(d) + PE[:L]  [L, d] */
static uint32_t embed(Fb *b, const FeFamily *f, uint32_t tokens, Dim len,
                      const char *table_name) {
  int64_t d = f->d_model;
  uint32_t table = fb_weight(b, FB_SHAPE2(f->vocab, d), "%s", table_name);
  uint32_t x = fb_gather(b, table, tokens, "embed");     /* [L, d] */
  x = fb_scale(b, x, sqrt((double)d), "scaled");
  uint32_t pe = fb_sinusoidal_pe(b, len, d, "pe");       /* [L, d] */
  return fb_add(b, x, pe, "x");
}

void fe_build_transformer(Fb *b, const FeFamily *f) {
  Graph *g = b->g;
  int64_t d = f->d_model;
  b->loc = f->at_family;
  int32_t S = ir_add_sym(g, "S", f->max_len, f->at_max_len);
  int32_t T = ir_add_sym(g, "T", f->max_len, f->at_max_len);
  Shape src_shape = {1, {ir_dim_sym(S)}}, tgt_shape = {1, {ir_dim_sym(T)}};
  uint32_t src = fb_input(b, "src", DT_I32, &src_shape); /* [S] */
  uint32_t tgt = fb_input(b, "tgt", DT_I32, &tgt_shape); /* [T] */

  /* Encoder: memory = encoder.norm(layers(src_embed(src)*sqrt(d) + pe)) */
  fb_scope(b, "src");
  uint32_t x = embed(b, f, src, ir_dim_sym(S), "src_embed.weight"); /* [S, d] */
  b->loc = f->at_encoder;
  for (int i = 0; i < f->encoder_layers; i++) x = encoder_layer(b, f, x, i);
  fb_scope(b, "enc");
  uint32_t memory = fb_nn_layernorm(b, x, d, f->eps, "memory",
                                    "transformer.encoder.norm"); /* [S, d] */

  /* Decoder: decoder.norm(layers(tgt_embed(tgt)*sqrt(d) + pe, memory)) */
  b->loc = f->at_family;
  fb_scope(b, "tgt");
  uint32_t y = embed(b, f, tgt, ir_dim_sym(T), "tgt_embed.weight"); /* [T, d] */
  b->loc = f->at_decoder;
  for (int i = 0; i < f->decoder_layers; i++)
    y = decoder_layer(b, f, y, memory, i);
  fb_scope(b, "dec");
  y = fb_nn_layernorm(b, y, d, f->eps, "out", "transformer.decoder.norm");

  /* logits = generator(y)  [T, vocab] */
  b->loc = f->at_family;
  fb_scope(b, "%s", "");
  uint32_t logits = fb_nn_linear(b, y, d, f->vocab, "logits", "generator");
  ir_add_output(g, logits);
}
