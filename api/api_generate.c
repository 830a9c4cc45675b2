/* api_generate.c — loom_generate: a model's prefill and decode graphs (and
 * an encoder-decoder's encode graph), each loaded and compiled once, as the
 * steps of the one generation loop (runtime/generate.c, loom_gen_run).
 *
 * The step passes the tokens, their first position (`pos`) and the KV
 * cache buffers the loop owns (the graphs' state inputs, by name) to
 * loom_run; the graphs write the new rows into the caches in place.  For
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
  const char *tokens;                    /* the steps' token input */
  /* the encode graph's outputs, kept for the steps: [H, S, Dh] each */
  int n_cross;
  const char **cross_name;
  float **cross;
  int64_t cross_dims[3];
  int64_t vocab, max_len, cache_bytes;
  int n_state;
  const char **state_name; /* the decode graph's (its arena) */
  int64_t (*state_dims)[3];
  int64_t *state_bytes;
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
  free(g->state_name);
  free(g->state_dims);
  free(g->state_bytes);
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
  /* The caches: the decode graph's state inputs; the vocabulary: its
   * logits' last dimension; the cache's rows: the bound of P, plus one. */
  const Graph *gr = api_model_fe(g->decode)->g;
  g->tokens = encdec ? "tgt" : "ids";
  if (encdec) {
    const Graph *ge = api_model_fe(g->encode)->g;
    g->n_cross = (int)ge->n_outputs;
    g->cross_name = calloc(ge->n_outputs, sizeof *g->cross_name);
    g->cross = calloc(ge->n_outputs, sizeof *g->cross);
    IR_ASSERT(g->cross_name && g->cross);
    for (uint32_t i = 0; i < ge->n_outputs; i++)
      g->cross_name[i] = ge->values[ge->outputs[i]].name;
  }
  g->vocab = gr->values[gr->outputs[0]].shape.d[1].c;
  int32_t P = ir_find_sym(gr, "P");
  IR_ASSERT(P >= 0);
  g->max_len = gr->syms[P].bound + 1;
  g->state_name = calloc(gr->n_nodes, sizeof *g->state_name);
  g->state_dims = calloc(gr->n_nodes, sizeof *g->state_dims);
  g->state_bytes = calloc(gr->n_nodes, sizeof *g->state_bytes);
  IR_ASSERT(g->state_name && g->state_dims && g->state_bytes);
  for (uint32_t i = 0; i < gr->n_nodes; i++) {
    const Node *n = &gr->nodes[i];
    if (n->op != OP_INPUT || !ir_get_int(gr, n, "state")) continue;
    const Value *v = &gr->values[n->out[0]];
    IR_ASSERT(v->shape.rank == 3);
    g->state_name[g->n_state] = v->name;
    for (int k = 0; k < 3; k++) g->state_dims[g->n_state][k] = v->shape.d[k].c;
    g->state_bytes[g->n_state] = ir_bound_bytes(gr, v);
    g->cache_bytes += g->state_bytes[g->n_state++];
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
int64_t loom_generator_max_len(const loom_generator *g) { return g->max_len; }
int64_t loom_generator_cache_bytes(const loom_generator *g) {
  return g->cache_bytes;
}

/* loom_gen_model.step: one graph run through loom_run. */
static int step(void *ctx, int decode, const int32_t *ids, int64_t n,
                int64_t pos, void *const *state, float *logits, char *err,
                size_t errlen) {
  loom_generator *g = ctx;
  int32_t p32 = (int32_t)pos;
  int n_in = 2 + g->n_state + g->n_cross;
  loom_tensor in[n_in];
  in[0] = (loom_tensor){g->tokens, LOOM_I32, 1, {n}, (void *)ids};
  in[1] = (loom_tensor){"pos", LOOM_I32, 0, {0}, &p32};
  for (int i = 0; i < g->n_state; i++) {
    in[2 + i] = (loom_tensor){g->state_name[i], LOOM_F32, 3, {0}, state[i]};
    memcpy(in[2 + i].dims, g->state_dims[i], sizeof g->state_dims[i]);
  }
  for (int i = 0; i < g->n_cross; i++) {
    loom_tensor *t = &in[2 + g->n_state + i];
    *t = (loom_tensor){g->cross_name[i], LOOM_F32, 3, {0}, g->cross[i]};
    memcpy(t->dims, g->cross_dims, sizeof g->cross_dims);
  }
  loom_tensor out = {NULL, LOOM_F32, 2, {n, g->vocab}, logits};
  return loom_run(decode ? g->decode : g->prefill, in, n_in, &out, 1, err, errlen)
             ? -1
             : 0;
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
  loom_gen_model m = {g->vocab, g->max_len, g->n_state, g->state_bytes, step,
                      g->encode ? encode : NULL, g};
  return loom_gen_run(&m, p, src, (int64_t)n_src, prompt, (int64_t)n_prompt,
                      on_token, user, stats, err, errlen)
             ? LOOM_ERR_MODEL
             : LOOM_OK;
}
