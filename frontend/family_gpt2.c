/* family_gpt2.c — GPT-2 (Hugging Face GPT2LMHeadModel) as primitive ops.
 *
 * Mirrors transformers' modeling_gpt2, with its weight names (the
 * `transformer.` prefix of GPT2LMHeadModel checkpoints is accepted at
 * binding, see family.c):
 *
 *   h = wte(ids) + wpe[:S]
 *   for each block i:                               # pre-norm
 *     a = ln_1(h);  q, k, v = split(c_attn(a), 3)   # Q, K, V in that order
 *     h = h + c_proj(causal_attention(q, k, v))
 *     h = h + mlp.c_proj(gelu_new(mlp.c_fc(ln_2(h))))
 *   logits = ln_f(h) @ lm_head^T                    # lm_head: tied to wte
 *
 * GPT-2's Conv1D stores its weight [in, out] and computes x W + b — the
 * transpose of nn.Linear.  A square c_proj loaded the wrong way round
 * passes every shape check and gives wrong numbers, so every Conv1D here
 * goes through fb_conv1d, never fb_nn_linear.
 *
 * lm_head.weight [vocab, d] is its own weight node; when a checkpoint
 * does not carry it (GPT-2 ties it, so save_pretrained leaves it out) or the
 * weights are random, it shares wte.weight's data (FeModel.tied).
 *
 * d_ff may be left out: it defaults to 4*d_model, as HF's n_inner does.
 *
 * Input ids [S] (i32, S <= max_len); output logits [S, vocab].  With
 * max_batch (the forward graph): ids and attention_mask [B, S]
 * (right-padded rows: positions 0..S-1 in each, as GPT2Model gives without
 * position_ids; the mask, all ones when left out, keeps padded keys out of
 * every attention) and logits [B, S, vocab].
 *
 * Generation (f->graph prefill or decode): the same blocks, but each
 * attention goes through the layer's KV cache (fb_cached_attention):
 * inputs ids [S] (prefill; decode: [1]), pos (i32 scalar, the cache row P
 * of the first token), and per layer k_cache.i, v_cache.i [H, L, Dh]
 * (state, L = the cache length); positions wpe[P : P+S].  With max_batch,
 * a left-padded batch (what batched generation makes, as HF's generate
 * does): ids [B, S] at cache rows P..P+S-1 of every row, position_ids
 * [B, S] (i32: each token's position, the mask's cumulative sum - 1,
 * computed by the caller, so the graph needs no cumulative sum),
 * attention_mask [B, L] over the cache rows (nonzero: the row holds a
 * token; 0: padding, a key no query sees; optional, all ones), the caches
 * [B, H, L, Dh], logits [B, S, vocab]; positions wpe[position_ids].
 */
#include "frontend/family_build.h"
#include "frontend/frontend.h"

/* Block i: h [B..., S, d] -> [B..., S, d]; with a cache (P set),
 * attention reads and extends layer i's K and V cache ([B, H, L, Dh] when
 * B is set).  keep: the forward graph's padding mask [B, 1, 1, S], or the
 * batched cache's [B, L]; IR_NONE: none. */
static uint32_t block(Fb *b, const FeFamily *f, uint32_t h, uint32_t keep,
                      int i, const Dim *P, const Dim *B) {
  int64_t d = f->d_model;
  fb_scope(b, "h.%d", i);
  /* attention */
  uint32_t a = fb_nn_layernorm(b, h, d, f->eps, "ln_1", "h.%d.ln_1", i);
  uint32_t qkv = fb_conv1d(b, a, d, 3 * d, "qkv", "h.%d.attn.c_attn", i);
  static const char *const names[] = {"q", "k", "v"};
  uint32_t parts[3]; /* q, k, v [B..., S, d] */
  fb_split(b, qkv, B ? 2 : 1, 3, parts, names);
  fb_scope(b, "h.%d.attn", i);
  if (P) {
    int64_t dh = d / f->heads;
    char kn[64], vn[64];
    snprintf(kn, sizeof kn, "k_cache.%d", i);
    snprintf(vn, sizeof vn, "v_cache.%d", i);
    Shape cs = FB_SHAPE3(f->heads, f->cache_len, dh);
    if (B)
      cs = (Shape){4, {*B, ir_dim(f->heads), ir_dim(f->cache_len), ir_dim(dh)}};
    uint32_t kc = fb_state(b, kn, &cs), vc = fb_state(b, vn, &cs);
    a = fb_cached_attention(b, parts[0], parts[1], parts[2], f->heads, kc, vc,
                            *P, keep);
  } else {
    a = fb_attention(b, parts[0], parts[1], parts[2], f->heads, true, keep);
  }
  fb_scope(b, "h.%d", i);
  a = fb_conv1d(b, a, d, d, "attn.out", "h.%d.attn.c_proj", i);
  h = fb_add(b, h, a, "x1");
  /* MLP */
  uint32_t m = fb_nn_layernorm(b, h, d, f->eps, "ln_2", "h.%d.ln_2", i);
  m = fb_conv1d(b, m, d, f->d_ff, "mlp.hidden", "h.%d.mlp.c_fc", i);
  m = fb_activation(b, f->act, m, "mlp.act");
  m = fb_conv1d(b, m, f->d_ff, d, "mlp.out", "h.%d.mlp.c_proj", i);
  return fb_add(b, h, m, "x2");
}

void fe_build_gpt2(Fb *b, const FeFamily *f) {
  Graph *g = b->g;
  int64_t d = f->d_model;
  b->loc = f->at_family;
  bool gen = f->graph != FE_FORWARD;
  Dim S = f->graph == FE_DECODE
              ? ir_dim(1)
              : ir_dim_sym(ir_add_sym(g, "S", gen ? f->cache_len : f->max_len,
                                      f->at_max_len));
  Shape ids_shape = {1, {S}};
  uint32_t keep = IR_NONE;
  Dim B = ir_dim(1);
  if (f->max_batch) {
    b->loc = f->at_max_batch;
    B = ir_dim_sym(ir_add_sym(g, "B", f->max_batch, f->at_max_batch));
    ids_shape = (Shape){2, {B, S}};
    b->loc = f->at_family;
  }
  uint32_t ids = fb_input(b, "ids", DT_I32, &ids_shape); /* [B, S] */
  uint32_t pos_ids = IR_NONE;
  if (f->max_batch && !gen) {
    fb_mask_input(b, "attention_mask", &ids_shape, "keep", &keep); /* [B, S] */
  } else if (f->max_batch) {
    /* generation: the mask over the cache rows [B, L], the attention's
     * keep as it is, and each token's position */
    Shape ms = {2, {B, ir_dim(f->cache_len)}};
    keep = fb_input(b, "attention_mask", DT_F32, &ms);
    ir_set_int(g, g->values[keep].node, "optional", 1);
    ir_set_int(g, g->values[keep].node, "fill", 1);
    pos_ids = fb_input(b, "position_ids", DT_I32, &ids_shape); /* [B, S] */
  }
  Dim P = ir_dim(0);
  if (gen) {
    P = ir_dim_sym(ir_add_sym(g, "P", f->cache_len - 1, f->at_max_len));
    fb_position(b, "pos", P.sym);
  }

  /* h = wte(ids) + wpe[P : P+S] (batched generation: wpe[position_ids]) */
  uint32_t wte = fb_weight(b, FB_SHAPE2(f->vocab, d), "wte.weight");
  uint32_t wpe = fb_weight(b, FB_SHAPE2(f->max_len, d), "wpe.weight");
  uint32_t tok = fb_gather(b, wte, ids, "tok");                 /* [B, S, d] */
  uint32_t pos = pos_ids != IR_NONE ? fb_gather(b, wpe, pos_ids, "pos_emb")
                 : gen              ? fb_slice_len(b, wpe, 0, P, S, "pos_emb")
                                    : fb_slice(b, wpe, 0, 0, S, "pos");
  uint32_t h = fb_add(b, tok, pos, "embed");

  b->loc = f->at_layers;
  for (int i = 0; i < f->layers; i++)
    h = block(b, f, h, keep, i, gen ? &P : NULL, f->max_batch ? &B : NULL);

  /* logits = ln_f(h) lm_head^T  [B, S, vocab] */
  b->loc = f->at_family;
  fb_scope(b, "%s", "");
  h = fb_nn_layernorm(b, h, d, f->eps, "ln_f", "ln_f");
  uint32_t head = fb_weight(b, FB_SHAPE2(f->vocab, d), "lm_head.weight");
  uint32_t logits = fb_matmul(b, h, head, true, "logits");
  ir_add_output(g, logits);
}
