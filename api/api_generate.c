/* api_generate.c — loom_generate: a model's prefill and decode graphs (and
 * an encoder-decoder's encode graph), each loaded and compiled once, as the
 * steps of the one generation loop (runtime/generate.c, loom_gen_run).
 *
 * The step passes the tokens, their first position (`pos`) and the KV
 * cache buffers the loop owns (the graphs' state inputs, by name) to
 * loom_run; the graphs write the new rows into the caches in place.  A
 * gpt2 model with max_batch has a batch dimension B in its graphs: the
 * step passes ids [B, n] and, from the loop, position_ids [B, n] and
 * attention_mask [B, max_len] (a left-padded batch's positions and
 * padding), and caches [B, H, L, Dh]; without one, ids [n] and caches
 * [H, L, Dh], and the loop's positions and mask (a batch of one, no
 * padding) say nothing the graphs do not know.  For
 * the transformer family the encode step runs the source once and keeps
 * each decoder layer's cross-attention K and V (the encode graph's
 * outputs cross_k.i, cross_v.i) here, passed to every step as inputs.
 */
#include "loom.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/backend.h"
#include "frontend/frontend.h"

struct loom_generator {
  loom_model *prefill, *decode, *encode; /* encode: transformer only */
  double compile_ms[3];                  /* prefill, decode, encode */
  /* the encode graph's outputs, kept for the steps: [H, S, Dh] each */
  int n_cross;
  const char **cross_name;
  float **cross;
  int64_t cross_dims[3];
  FeGenSpec spec; /* the decode graph's: tokens, vocab, caches */
};

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static loom_status fail(char *err, size_t errlen, loom_status st,
                        const char *msg) {
  if (err && errlen) snprintf(err, errlen, "%s", msg);
  return st;
}

void loom_generator_free(loom_generator *g) {
  if (!g) return;
  loom_free(g->prefill);
  loom_free(g->decode);
  loom_free(g->encode);
  for (int i = 0; i < g->n_cross; i++) free(g->cross[i]);
  free(g->cross);
  free(g->cross_name);
  fe_gen_spec_free(&g->spec);
  free(g);
}

loom_status loom_generator_open(const char *path, const loom_options *opts,
                                loom_generator **out, char *err,
                                size_t errlen) {
  *out = NULL;
  if (!path) return fail(err, errlen, LOOM_ERR_USAGE, "error: NULL path");
  /* The family first (the graph alone, no weights). */
  Diag d = {0};
  FeOptions fo = {.no_weights = true};
  FeModel *probe = fe_load(path, &fo, &d);
  if (!probe) return fail(err, errlen, LOOM_ERR_MODEL, d.msg);
  const char *family = probe->family;
  bool encdec = family && strcmp(family, "transformer") == 0;
  bool ok = encdec || (family && strcmp(family, "gpt2") == 0);
  char msg[512];
  snprintf(msg, sizeof msg, "error: %s: generate needs a gpt2 or transformer "
           "model (family form), not %s%s", path,
           family ? "the family " : "a graph-form model", family ? family : "");
  fe_model_free(probe);
  if (!ok) return fail(err, errlen, LOOM_ERR_USAGE, msg);

  loom_generator *g = calloc(1, sizeof *g);
  if (!g) return fail(err, errlen, LOOM_ERR_MODEL, "error: out of memory");
  loom_options o = opts ? *opts : (loom_options){0};
  static const char *const graphs[3] = {"prefill", "decode", "encode"};
  loom_model **models[3] = {&g->prefill, &g->decode, &g->encode};
  for (int i = 0; i < (encdec ? 3 : 2); i++) {
    o.graph = graphs[i];
    double t0 = now_ms();
    loom_status st = loom_load(path, &o, models[i], err, errlen);
    if (st) {
      loom_generator_free(g);
      return st;
    }
    g->compile_ms[i] = now_ms() - t0;
  }
  /* The caches, the vocabulary and the cache's rows: the decode graph's
   * (frontend/gen_spec.c). */
  Diag sd = {0};
  if (fe_gen_spec(api_model_fe(g->decode), &g->spec, &sd)) {
    loom_generator_free(g);
    return fail(err, errlen, LOOM_ERR_MODEL, sd.msg);
  }
  if (encdec) {
    const Graph *ge = api_model_fe(g->encode)->g;
    g->n_cross = (int)ge->n_outputs;
    g->cross_name = calloc(ge->n_outputs, sizeof *g->cross_name);
    g->cross = calloc(ge->n_outputs, sizeof *g->cross);
    IR_ASSERT(g->cross_name && g->cross);
    for (uint32_t i = 0; i < ge->n_outputs; i++)
      g->cross_name[i] = ge->values[ge->outputs[i]].name;
  }
  *out = g;
  return LOOM_OK;
}

double loom_generator_compile_ms(const loom_generator *g, int which) {
  return which >= 0 && which < 3 ? g->compile_ms[which] : 0;
}
int loom_generator_has_encoder(const loom_generator *g) {
  return g->encode != NULL;
}

/* loom_gen_model.encode: the source through the encode graph, its
 * outputs (each decoder layer's cross K and V) kept in g->cross. */
static int encode(void *ctx, const int32_t *src, int64_t n, char *err,
                  size_t errlen) {
  loom_generator *g = ctx;
  loom_tensor in = {"src", LOOM_I32, 1, {n}, (void *)src};
  loom_tensor out[g->n_cross];
  memset(out, 0, sizeof out);
  if (loom_output_shapes(g->encode, &in, 1, out, g->n_cross, err, errlen))
    return -1;
  for (int i = 0; i < g->n_cross; i++) {
    free(g->cross[i]);
    if (!(g->cross[i] = malloc(loom_tensor_bytes(&out[i])))) {
      snprintf(err, errlen, "error: out of memory");
      return -1;
    }
    out[i].data = g->cross[i];
  }
  memcpy(g->cross_dims, out[0].dims, sizeof g->cross_dims);
  return loom_run(g->encode, &in, 1, out, g->n_cross, err, errlen) ? -1 : 0;
}
int64_t loom_generator_max_len(const loom_generator *g) { return g->spec.max_len; }
int64_t loom_generator_cache_bytes(const loom_generator *g) {
  return g->spec.cache_bytes;
}

int64_t loom_generator_max_batch(const loom_generator *g) {
  return g->spec.max_batch > 1 ? g->spec.max_batch : 1;
}

/* loom_gen_model.step: one graph run through loom_run. */
static int step(void *ctx, int decode, int64_t batch, const int32_t *ids,
                int64_t n, int64_t pos, const int32_t *positions,
                const float *mask, void *const *state, float *logits,
                char *err, size_t errlen) {
  loom_generator *g = ctx;
  const FeGenSpec *sp = &g->spec;
  bool batched = sp->max_batch > 0;
  IR_ASSERT(batched || batch == 1); /* the loop checks the bound */
  int32_t p32 = (int32_t)pos;
  int n_in = 2 + (batched ? 2 : 0) + sp->n_state + g->n_cross, k = 0;
  loom_tensor in[n_in];
  in[k++] = batched ? (loom_tensor){sp->tokens, LOOM_I32, 2, {batch, n}, (void *)ids}
                    : (loom_tensor){sp->tokens, LOOM_I32, 1, {n}, (void *)ids};
  in[k++] = (loom_tensor){"pos", LOOM_I32, 0, {0}, &p32};
  if (batched) {
    in[k++] = (loom_tensor){"position_ids", LOOM_I32, 2, {batch, n},
                            (void *)positions};
    in[k++] = (loom_tensor){"attention_mask", LOOM_F32, 2,
                            {batch, sp->max_len}, (void *)mask};
  }
  for (int i = 0; i < sp->n_state; i++) {
    loom_tensor *t = &in[k++];
    *t = (loom_tensor){sp->state_name[i], LOOM_F32, sp->state_rank, {0}, state[i]};
    memcpy(t->dims, sp->state_dims[i], sizeof sp->state_dims[i]);
    if (batched) t->dims[0] = batch;
  }
  for (int i = 0; i < g->n_cross; i++) {
    loom_tensor *t = &in[k++];
    *t = (loom_tensor){g->cross_name[i], LOOM_F32, 3, {0}, g->cross[i]};
    memcpy(t->dims, g->cross_dims, sizeof g->cross_dims);
  }
  IR_ASSERT(k == n_in);
  loom_tensor out =
      batched ? (loom_tensor){NULL, LOOM_F32, 3, {batch, n, sp->vocab}, logits}
              : (loom_tensor){NULL, LOOM_F32, 2, {n, sp->vocab}, logits};
  return loom_run(decode ? g->decode : g->prefill, in, n_in, &out, 1, err, errlen)
             ? -1
             : 0;
}

static loom_gen_model gen_model(loom_generator *g) {
  return (loom_gen_model){.vocab = g->spec.vocab,
                          .max_len = g->spec.max_len,
                          .n_state = g->spec.n_state,
                          .state_bytes = g->spec.state_bytes,
                          .step = step,
                          .encode = g->encode ? encode : NULL,
                          .ctx = g,
                          .max_batch = g->spec.max_batch};
}

loom_status loom_generate(loom_generator *g, const int32_t *src, size_t n_src,
                          const int32_t *prompt, size_t n_prompt,
                          const loom_gen_params *p,
                          loom_gen_token_fn on_token, void *user,
                          loom_gen_stats *stats, char *err, size_t errlen) {
  if (!g || !p || (n_prompt && !prompt))
    return fail(err, errlen, LOOM_ERR_USAGE, "error: NULL argument");
  if (g->encode && (!src || !n_src))
    return fail(err, errlen, LOOM_ERR_USAGE,
                "error: an encoder-decoder model needs the source ids");
  loom_gen_model m = gen_model(g);
  return loom_gen_run(&m, p, src, (int64_t)n_src, prompt, (int64_t)n_prompt,
                      on_token, user, stats, err, errlen)
             ? LOOM_ERR_MODEL
             : LOOM_OK;
}

loom_status loom_generate_batch(loom_generator *g, size_t batch,
                                const int32_t *const *prompts,
                                const size_t *n_prompt,
                                const loom_gen_params *p,
                                loom_gen_row_fn on_token, void *user,
                                loom_gen_stats *stats, char *err,
                                size_t errlen) {
  if (!g || !p || (batch && (!prompts || !n_prompt)))
    return fail(err, errlen, LOOM_ERR_USAGE, "error: NULL argument");
  for (size_t r = 0; r < batch; r++)
    if (n_prompt[r] && !prompts[r])
      return fail(err, errlen, LOOM_ERR_USAGE, "error: NULL argument");
  if (g->encode)
    return fail(err, errlen, LOOM_ERR_USAGE,
                "error: loom_generate_batch takes decoder-only (gpt2) "
                "models; an encoder-decoder's is loom_generate");
  loom_gen_model m = gen_model(g);
  if (loom_gen_check_batch(&m, (int64_t)batch, err, errlen))
    return LOOM_ERR_USAGE;
  int64_t *n = malloc((batch ? batch : 1) * sizeof *n);
  if (!n) return fail(err, errlen, LOOM_ERR_MODEL, "error: out of memory");
  for (size_t r = 0; r < batch; r++) n[r] = (int64_t)n_prompt[r];
  int rc = loom_gen_run_batch(&m, p, NULL, 0, (int64_t)batch, prompts, n,
                              on_token, user, stats, err, errlen);
  free(n);
  return rc ? LOOM_ERR_MODEL : LOOM_OK;
}
