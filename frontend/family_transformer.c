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
 *
 * With max_batch (the forward graph): B <= max_batch rows, right-padded:
 * src [B, S], tgt [B, T], and the optional masks src_mask [B, S], tgt_mask
 * [B, T] (f32, nonzero = token; left out, all ones) — nn.Transformer's
 * src_key_padding_mask (and memory_key_padding_mask) and
 * tgt_key_padding_mask, negated.  Padded source keys are left out of the
 * encoder's self-attention and of every cross-attention, padded target
 * keys of the decoder's (causal) self-attention; positions are 0.. in
 * every row; logits [B, T, vocab], padded positions included.
 *
 * Generation (f->graph, frontend.h's FeGraph) splits the model in three:
 *   encode:  src [S] -> per decoder layer i, cross_k.i and cross_v.i
 *            [H, S, Dh]: the cross-attention's K and V of the encoder's
 *            memory, computed once per source;
 *   prefill: tgt [T] at positions P.. (pos), the caches k_cache.i,
 *            v_cache.i [H, L, Dh] (state) and cross_k.i, cross_v.i ->
 *            logits [T, vocab];
 *   decode:  the same for one token.
 * Self-attention goes through the cache (fb_cached_attention), cross-
 * attention reads the kept K and V; positions are the folded sinusoidal
 * table's rows P..P+T-1.
 */
#include <math.h>

#include "frontend/family_build.h"
#include "frontend/frontend.h"

/* The generation graphs' per-layer values (NULL in the forward graph). */
typedef struct {
  Dim P;
  uint32_t *cross_k, *cross_v; /* [H, S, Dh] per decoder layer */
} Gen;

/* nn.MultiheadAttention(d, heads) at PREFIX: query xq [L, d], keys and
 * values from xkv [M, d] -> [L, d]. */
/* The cache's state inputs of decoder layer `layer` (generation). */
static void cache_states(Fb *b, const FeFamily *f, int layer, uint32_t *kc,
                         uint32_t *vc) {
  char kn[64], vn[64];
  snprintf(kn, sizeof kn, "k_cache.%d", layer);
  snprintf(vn, sizeof vn, "v_cache.%d", layer);
  Shape cs = FB_SHAPE3(f->heads, f->cache_len, f->d_model / f->heads);
  *kc = fb_state(b, kn, &cs);
  *vc = fb_state(b, vn, &cs);
}

/* The in_proj weights split into Q, K, V: w[3] [d, d], bias[3] [d]. */
static void in_proj(Fb *b, const FeFamily *f, const char *prefix, uint32_t *w,
                    uint32_t *bias) {
  int64_t d = f->d_model;
  static const char *const wn[] = {"w_q", "w_k", "w_v"};
  static const char *const bn[] = {"b_q", "b_k", "b_v"};
  uint32_t in_w = fb_weight(b, FB_SHAPE2(3 * d, d), "%s.in_proj_weight", prefix);
  uint32_t in_b = fb_weight(b, FB_SHAPE1(3 * d), "%s.in_proj_bias", prefix);
  fb_split(b, in_w, 0, 3, w, wn);    /* 3 x [d, d] */
  fb_split(b, in_b, 0, 3, bias, bn); /* 3 x [d] */
}

/* Generation: nn.MultiheadAttention at PREFIX, query xq [L, d].  Self-
 * attention (cross_k == IR_NONE): K and V of xq through layer `layer`'s
 * cache at P, causal.  Cross-attention: over the kept cross_k, cross_v
 * [H, S, Dh]. */
static uint32_t gen_attention(Fb *b, const FeFamily *f, uint32_t xq,
                              const Gen *gen, int layer, bool self,
                              const char *prefix) {
  int64_t d = f->d_model;
  uint32_t w[3], bias[3];
  in_proj(b, f, prefix, w, bias);
  uint32_t q = fb_linear(b, xq, w[0], bias[0], true, "q"); /* [L, d] */
  uint32_t a;
  if (self) {
    uint32_t k = fb_linear(b, xq, w[1], bias[1], true, "k");
    uint32_t v = fb_linear(b, xq, w[2], bias[2], true, "v");
    uint32_t kc, vc;
    cache_states(b, f, layer, &kc, &vc);
    a = fb_cached_attention(b, q, k, v, f->heads, kc, vc, gen->P, IR_NONE);
  } else {
    a = fb_cached_attention(b, q, gen->cross_k[layer], gen->cross_v[layer],
                            f->heads, IR_NONE, IR_NONE, gen->P, IR_NONE);
  }
  return fb_nn_linear(b, a, d, d, "out", "%s.out_proj", prefix);
}

static uint32_t multihead_attention(Fb *b, const FeFamily *f, uint32_t xq,
                                    uint32_t xkv, bool causal, uint32_t keep,
                                    const char *prefix) {
  int64_t d = f->d_model;
  uint32_t w[3], bias[3];
  in_proj(b, f, prefix, w, bias);
  uint32_t q = fb_linear(b, xq, w[0], bias[0], true, "q");  /* [L, d] */
  uint32_t k = fb_linear(b, xkv, w[1], bias[1], true, "k"); /* [M, d] */
  uint32_t v = fb_linear(b, xkv, w[2], bias[2], true, "v"); /* [M, d] */
  uint32_t a = fb_attention(b, q, k, v, f->heads, causal, keep);  /* [L, d] */
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

/* nn.TransformerEncoderLayer i: x [S, d] -> [S, d]; keep: the source's
 * padding mask (batches) or IR_NONE.
 *   post-norm: x = norm1(x + sa(x));        x = norm2(x + ff(x))
 *   pre-norm:  x = x + sa(norm1(x));        x = x + ff(norm2(x)) */
static uint32_t encoder_layer(Fb *b, const FeFamily *f, uint32_t x,
                              uint32_t keep, int i) {
  char p[96], sa[128];
  snprintf(p, sizeof p, "transformer.encoder.layers.%d", i);
  snprintf(sa, sizeof sa, "%s.self_attn", p);
  double eps = f->eps;
  int64_t d = f->d_model;
  if (f->pre_norm) {
    fb_scope(b, "enc.%d", i);
    uint32_t h = fb_nn_layernorm(b, x, d, eps, "norm1", "%s.norm1", p);
    fb_scope(b, "enc.%d.self_attn", i);
    h = multihead_attention(b, f, h, h, false, keep, sa);
    fb_scope(b, "enc.%d", i);
    x = fb_add(b, x, h, "x1");
    h = fb_nn_layernorm(b, x, d, eps, "norm2", "%s.norm2", p);
    h = feed_forward(b, f, h, p);
    return fb_add(b, x, h, "x2");
  }
  fb_scope(b, "enc.%d.self_attn", i);
  uint32_t h = multihead_attention(b, f, x, x, false, keep, sa);
  fb_scope(b, "enc.%d", i);
  x = fb_nn_layernorm(b, fb_add(b, x, h, "res1"), d, eps, "x1", "%s.norm1", p);
  h = feed_forward(b, f, x, p);
  return fb_nn_layernorm(b, fb_add(b, x, h, "res2"), d, eps, "x2", "%s.norm2",
                         p);
}

/* nn.TransformerDecoderLayer i: y [T, d], memory [S, d] -> [T, d];
 * keep_tgt, keep_src: the padding masks of a batch (IR_NONE: none).
 *   post-norm: y = norm1(y + sa(y, causal)); y = norm2(y + ca(y, mem));
 *              y = norm3(y + ff(y))
 *   pre-norm:  y = y + sa(norm1(y), causal); y = y + ca(norm2(y), mem);
 *              y = y + ff(norm3(y)) */
static uint32_t decoder_layer(Fb *b, const FeFamily *f, uint32_t y,
                              uint32_t mem, uint32_t keep_tgt,
                              uint32_t keep_src, int i, const Gen *gen) {
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
    h = gen ? gen_attention(b, f, h, gen, i, true, sa)
            : multihead_attention(b, f, h, h, true, keep_tgt, sa);
    fb_scope(b, "dec.%d", i);
    y = fb_add(b, y, h, "y1");
    h = fb_nn_layernorm(b, y, d, eps, "norm2", "%s.norm2", p);
    fb_scope(b, "dec.%d.cross_attn", i);
    h = gen ? gen_attention(b, f, h, gen, i, false, ca)
            : multihead_attention(b, f, h, mem, false, keep_src, ca);
    fb_scope(b, "dec.%d", i);
    y = fb_add(b, y, h, "y2");
    h = fb_nn_layernorm(b, y, d, eps, "norm3", "%s.norm3", p);
    h = feed_forward(b, f, h, p);
    return fb_add(b, y, h, "y3");
  }
  fb_scope(b, "dec.%d.self_attn", i);
  uint32_t h = gen ? gen_attention(b, f, y, gen, i, true, sa)
                   : multihead_attention(b, f, y, y, true, keep_tgt, sa);
  fb_scope(b, "dec.%d", i);
  y = fb_nn_layernorm(b, fb_add(b, y, h, "res1"), d, eps, "y1", "%s.norm1", p);
  fb_scope(b, "dec.%d.cross_attn", i);
  h = gen ? gen_attention(b, f, y, gen, i, false, ca)
          : multihead_attention(b, f, y, mem, false, keep_src, ca);
  fb_scope(b, "dec.%d", i);
  y = fb_nn_layernorm(b, fb_add(b, y, h, "res2"), d, eps, "y2", "%s.norm2", p);
  h = feed_forward(b, f, y, p);
  return fb_nn_layernorm(b, fb_add(b, y, h, "res3"), d, eps, "y3", "%s.norm3",
                         p);
}

/* tokens [L] -> EMBED(tokens) * sqrt(d) + PE[:L]  [L, d]; at positions
 * P..P+L-1 when P is given: rows of the whole table (folded) */
static uint32_t embed(Fb *b, const FeFamily *f, uint32_t tokens, Dim len,
                      const char *table_name, const Dim *P) {
  int64_t d = f->d_model;
  uint32_t table = fb_weight(b, FB_SHAPE2(f->vocab, d), "%s", table_name);
  uint32_t x = fb_gather(b, table, tokens, "embed");     /* [L, d] */
  x = fb_scale(b, x, sqrt((double)d), "scaled");
  uint32_t pe;
  if (P) {
    pe = fb_sinusoidal_pe(b, ir_dim(f->max_len), d, "pe_table");
    pe = fb_slice_len(b, pe, 0, *P, len, "pe");           /* [L, d] */
  } else {
    pe = fb_sinusoidal_pe(b, len, d, "pe");              /* [L, d] */
  }
  return fb_add(b, x, pe, "x");
}

/* Generation, encode: src [S] -> each decoder layer's cross-attention K
 * and V of the memory, [H, S, Dh], as outputs cross_k.i, cross_v.i. */
static void build_encode(Fb *b, const FeFamily *f, uint32_t memory) {
  b->loc = f->at_decoder;
  for (int i = 0; i < f->decoder_layers; i++) {
    char ca[128], kn[32], vn[32];
    snprintf(ca, sizeof ca, "transformer.decoder.layers.%d.multihead_attn", i);
    snprintf(kn, sizeof kn, "cross_k.%d", i);
    snprintf(vn, sizeof vn, "cross_v.%d", i);
    uint32_t w[3], bias[3];
    fb_scope(b, "dec.%d.cross_attn", i);
    in_proj(b, f, ca, w, bias);
    uint32_t k = fb_linear(b, memory, w[1], bias[1], true, "k"); /* [S, d] */
    uint32_t v = fb_linear(b, memory, w[2], bias[2], true, "v");
    fb_scope(b, "%s", "");
    ir_add_output(b->g, fb_split_heads(b, k, f->heads, kn));   /* [H, S, Dh] */
    ir_add_output(b->g, fb_split_heads(b, v, f->heads, vn));
  }
}

/* Generation, prefill (tgt [T]) or decode (tgt [1]) at position P. */
static void build_step(Fb *b, const FeFamily *f) {
  Graph *g = b->g;
  int64_t d = f->d_model, dh = d / f->heads;
  b->loc = f->at_family;
  Dim T = f->graph == FE_DECODE
              ? ir_dim(1)
              : ir_dim_sym(ir_add_sym(g, "T", f->cache_len, f->at_max_len));
  Dim S = ir_dim_sym(ir_add_sym(g, "S", f->max_len, f->at_max_len));
  Gen gen = {ir_dim_sym(ir_add_sym(g, "P", f->cache_len - 1, f->at_max_len)),
             NULL, NULL};
  Shape tgt_shape = {1, {T}};
  uint32_t tgt = fb_input(b, "tgt", DT_I32, &tgt_shape); /* [T] */
  fb_position(b, "pos", gen.P.sym);
  uint32_t cross[2 * 1000];
  gen.cross_k = cross;
  gen.cross_v = cross + 1000;
  Shape cs = {3, {ir_dim(f->heads), S, ir_dim(dh)}};
  for (int i = 0; i < f->decoder_layers; i++) {
    char kn[32], vn[32];
    snprintf(kn, sizeof kn, "cross_k.%d", i);
    snprintf(vn, sizeof vn, "cross_v.%d", i);
    gen.cross_k[i] = fb_input(b, kn, DT_F32, &cs);
    gen.cross_v[i] = fb_input(b, vn, DT_F32, &cs);
  }
  fb_scope(b, "tgt");
  uint32_t y = embed(b, f, tgt, T, "tgt_embed.weight", &gen.P); /* [T, d] */
  b->loc = f->at_decoder;
  for (int i = 0; i < f->decoder_layers; i++)
    y = decoder_layer(b, f, y, IR_NONE, IR_NONE, IR_NONE, i, &gen);
  fb_scope(b, "dec");
  y = fb_nn_layernorm(b, y, d, f->eps, "out", "transformer.decoder.norm");
  b->loc = f->at_family;
  fb_scope(b, "%s", "");
  ir_add_output(g, fb_nn_linear(b, y, d, f->vocab, "logits", "generator"));
}

void fe_build_transformer(Fb *b, const FeFamily *f) {
  Graph *g = b->g;
  int64_t d = f->d_model;
  if (f->graph == FE_PREFILL || f->graph == FE_DECODE) {
    build_step(b, f);
    return;
  }
  b->loc = f->at_family;
  int32_t S = ir_add_sym(g, "S", f->max_len, f->at_max_len);
  /* a batch (forward graph): B rows, right-padded, with masks */
  bool batched = f->max_batch && f->graph == FE_FORWARD;
  Dim B = ir_dim(1);
  if (batched) {
    b->loc = f->at_max_batch;
    B = ir_dim_sym(ir_add_sym(g, "B", f->max_batch, f->at_max_batch));
    b->loc = f->at_family;
  }
  Shape src_shape = batched ? (Shape){2, {B, ir_dim_sym(S)}}
                            : (Shape){1, {ir_dim_sym(S)}};
  uint32_t src = fb_input(b, "src", DT_I32, &src_shape); /* [B, S] */
  int32_t T = -1;
  uint32_t tgt = IR_NONE, keep_src = IR_NONE, keep_tgt = IR_NONE;
  if (f->graph != FE_ENCODE) {
    T = ir_add_sym(g, "T", f->max_len, f->at_max_len);
    Shape tgt_shape = batched ? (Shape){2, {B, ir_dim_sym(T)}}
                              : (Shape){1, {ir_dim_sym(T)}};
    tgt = fb_input(b, "tgt", DT_I32, &tgt_shape); /* [B, T] */
    if (batched) {
      fb_mask_input(b, "src_mask", &src_shape, "src_keep", &keep_src);
      fb_mask_input(b, "tgt_mask", &tgt_shape, "tgt_keep", &keep_tgt);
    }
  }

  /* Encoder: memory = encoder.norm(layers(src_embed(src)*sqrt(d) + pe)) */
  fb_scope(b, "src");
  uint32_t x = embed(b, f, src, ir_dim_sym(S), "src_embed.weight", NULL);
  b->loc = f->at_encoder;
  for (int i = 0; i < f->encoder_layers; i++)
    x = encoder_layer(b, f, x, keep_src, i);
  fb_scope(b, "enc");
  uint32_t memory = fb_nn_layernorm(b, x, d, f->eps, "memory",
                                    "transformer.encoder.norm"); /* [S, d] */
  if (f->graph == FE_ENCODE) {
    build_encode(b, f, memory);
    return;
  }

  /* Decoder: decoder.norm(layers(tgt_embed(tgt)*sqrt(d) + pe, memory)) */
  b->loc = f->at_family;
  fb_scope(b, "tgt");
  uint32_t y = embed(b, f, tgt, ir_dim_sym(T), "tgt_embed.weight", NULL);
  b->loc = f->at_decoder;
  for (int i = 0; i < f->decoder_layers; i++)
    y = decoder_layer(b, f, y, memory, keep_tgt, keep_src, i, NULL);
  fb_scope(b, "dec");
  y = fb_nn_layernorm(b, y, d, f->eps, "out", "transformer.decoder.norm");

  /* logits = generator(y)  [T, vocab] */
  b->loc = f->at_family;
  fb_scope(b, "%s", "");
  uint32_t logits = fb_nn_linear(b, y, d, f->vocab, "logits", "generator");
  ir_add_output(g, logits);
}
