/* family_bert.c — BERT (Hugging Face BertModel) as primitive ops, and the
 * sentence-embedding recipe of sentence-transformers on top (MiniLM).
 *
 * Mirrors transformers' modeling_bert, with its weight names (the `bert.`
 * prefix of BertFor* checkpoints is accepted at binding, see family.c):
 *
 *   x = LayerNorm(word_embeddings(ids) + position_embeddings[:S]
 *                 + token_type_embeddings(token_type_ids))
 *   for each layer i:                                  # post-norm
 *     a = attention.self(x)                            # query, key, value
 *     x = attention.output.LayerNorm(x + attention.output.dense(a))
 *     x = output.LayerNorm(x + output.dense(gelu(intermediate.dense(x))))
 *   hidden = x                                         # last_hidden_state
 *   embedding = l2_normalize(mean(hidden, tokens))     # pooling: mean,
 *                                                      # normalize: true
 *
 * token_type_ids is an optional input: left out, it is zeros, as in
 * BertModel.  There is no final norm; the pooler is not used.
 *
 * Inputs ids [S], token_type_ids [S] (i32, S <= max_len); outputs
 * hidden [S, d] and, with pooling: mean, embedding [d].
 *
 * With max_batch: a batch of B <= max_batch rows, right-padded: ids and
 * token_type_ids [B, S], and attention_mask f32 [B, S] (nonzero = token;
 * left out, every position is one), as BertModel takes them.  Padded keys
 * are left out of every attention (`mask` before the softmax, the
 * attention op's keep once fused), padded positions still get outputs (as
 * in HF), positions are 0..S-1 in every row, and the mean pooling is over
 * each row's tokens only (sentence-transformers' masked mean):
 * hidden [B, S, d], embedding [B, d].
 */
#include "frontend/family_build.h"

/* BertLayer i: x [S, d] -> [S, d]. */
static uint32_t layer(Fb *b, const FeFamily *f, uint32_t x, uint32_t keep,
                      int i) {
  int64_t d = f->d_model;
  fb_scope(b, "layer.%d.attn", i);
  uint32_t q = fb_nn_linear(b, x, d, d, "q",
                            "encoder.layer.%d.attention.self.query", i);
  uint32_t k = fb_nn_linear(b, x, d, d, "k",
                            "encoder.layer.%d.attention.self.key", i);
  uint32_t v = fb_nn_linear(b, x, d, d, "v",
                            "encoder.layer.%d.attention.self.value", i);
  uint32_t a = fb_attention(b, q, k, v, f->heads, false, keep); /* [S, d] */
  fb_scope(b, "layer.%d", i);
  a = fb_nn_linear(b, a, d, d, "attn.out",
                   "encoder.layer.%d.attention.output.dense", i);
  x = fb_nn_layernorm(b, fb_add(b, x, a, "res1"), d, f->eps, "x1",
                      "encoder.layer.%d.attention.output.LayerNorm", i);
  uint32_t h = fb_nn_linear(b, x, d, f->d_ff, "ff.hidden",
                            "encoder.layer.%d.intermediate.dense", i);
  h = fb_activation(b, f->act, h, "ff.act");             /* [S, d_ff] */
  h = fb_nn_linear(b, h, f->d_ff, d, "ff.out", "encoder.layer.%d.output.dense",
                   i);
  return fb_nn_layernorm(b, fb_add(b, x, h, "res2"), d, f->eps, "x2",
                         "encoder.layer.%d.output.LayerNorm", i);
}

void fe_build_bert(Fb *b, const FeFamily *f) {
  Graph *g = b->g;
  int64_t d = f->d_model;
  b->loc = f->at_family;
  int32_t S = ir_add_sym(g, "S", f->max_len, f->at_max_len);
  Shape seq = {1, {ir_dim_sym(S)}};
  uint32_t keep = IR_NONE, mask = IR_NONE;
  if (f->max_batch) {
    b->loc = f->at_max_batch;
    int32_t B = ir_add_sym(g, "B", f->max_batch, f->at_max_batch);
    seq = (Shape){2, {ir_dim_sym(B), ir_dim_sym(S)}};
    b->loc = f->at_family;
  }
  uint32_t ids = fb_input(b, "ids", DT_I32, &seq);            /* [B, S] */
  uint32_t types = fb_input(b, "token_type_ids", DT_I32, &seq); /* [B, S] */
  ir_set_int(g, g->values[types].node, "optional", 1);
  if (f->max_batch) {
    mask = fb_mask_input(b, "attention_mask", &seq, "keep", &keep); /* [B, S] */
  }

  /* embeddings */
  fb_scope(b, "embeddings");
  uint32_t word = fb_weight(b, FB_SHAPE2(f->vocab, d),
                            "embeddings.word_embeddings.weight");
  uint32_t pos = fb_weight(b, FB_SHAPE2(f->max_len, d),
                           "embeddings.position_embeddings.weight");
  uint32_t type = fb_weight(b, FB_SHAPE2(f->type_vocab, d),
                            "embeddings.token_type_embeddings.weight");
  uint32_t x = fb_gather(b, word, ids, "word");                 /* [S, d] */
  x = fb_add(b, x, fb_slice(b, pos, 0, 0, ir_dim_sym(S), "pos"), "word_pos");
  x = fb_add(b, x, fb_gather(b, type, types, "type"), "sum");
  x = fb_nn_layernorm(b, x, d, f->eps, "x", "embeddings.LayerNorm");

  b->loc = f->at_layers;
  for (int i = 0; i < f->layers; i++) x = layer(b, f, x, keep, i);
  fb_scope(b, "%s", "");
  ir_set_name(g, x, "hidden"); /* [S, d] */
  ir_add_output(g, x);

  if (f->pool_mean) {
    /* embedding = mean over tokens [d], then L2-normalized */
    b->loc = f->at_pooling;
    const char *name = f->normalize ? "pooled" : "embedding";
    uint32_t e = mask == IR_NONE ? fb_mean(b, x, 0, name)
                                 : fb_masked_mean(b, x, mask, 1, name);
    if (f->normalize) e = fb_l2_normalize(b, e, -1, "embedding");
    ir_add_output(g, e);
  }
}
