/* text.c — the C API's text side (include/loom.h): tokenizers and a run
 * from text.
 *
 * A tokenizer comes from a model directory (its tokenizer files, and the
 * truncation length its config implies), a folder of tokenizer files
 * alone, or a model YAML with a `text:` section.  The frontend turns the
 * files into the runtime's blob (frontend/hf_tokenizer.c); the runtime
 * (runtime/text/) does the tokenizing, the same code a standalone binary
 * carries.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "frontend/frontend.h"
#include "frontend/hf.h"
#include "loom.h"
#include "runtime/text/tokenizer.h"

struct loom_tokenizer {
  RtTokenizer *rt;
  size_t max_tokens;
};

static loom_status failf(char *err, size_t errlen, loom_status st,
                         const char *msg) {
  if (err && errlen) snprintf(err, errlen, "%s", msg);
  return st;
}

/* The tokenizer folder and truncation length of a model path. */
static loom_status tokenizer_of(const char *path, char **dir, size_t *max,
                                char *err, size_t errlen) {
  struct stat st;
  char cfg[4096];
  *max = 0;
  if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
    snprintf(cfg, sizeof cfg, "%s/config.json", path);
    if (stat(cfg, &st) != 0) { /* tokenizer files only */
      *dir = strdup(path);
      return LOOM_OK;
    }
  }
  Diag d = {0};
  FeOptions fo = {.no_weights = true};
  FeModel *m = fe_load(path, &fo, &d);
  if (!m) return failf(err, errlen, LOOM_ERR_MODEL, d.msg);
  if (!m->tokenizer) {
    snprintf(d.msg, sizeof d.msg, "%s: error: the model names no tokenizer "
             "(a model directory has one; a YAML file needs 'text: "
             "{tokenizer: DIR}')", path);
    fe_model_free(m);
    return failf(err, errlen, LOOM_ERR_MODEL, d.msg);
  }
  *dir = strdup(m->tokenizer);
  *max = (size_t)m->max_tokens;
  fe_model_free(m);
  return LOOM_OK;
}

loom_status loom_tokenizer_open(const char *path, loom_tokenizer **out,
                                char *err, size_t errlen) {
  if (!path || !out)
    return failf(err, errlen, LOOM_ERR_USAGE, "error: loom_tokenizer_open: NULL argument");
  *out = NULL;
  char *dir = NULL;
  size_t max = 0;
  loom_status st = tokenizer_of(path, &dir, &max, err, errlen);
  if (st) return st;
  Diag d = {0};
  void *blob = NULL;
  size_t len = 0;
  int rc = fe_hf_tokenizer(dir, &blob, &len, &d);
  free(dir);
  if (rc) return failf(err, errlen, LOOM_ERR_MODEL, d.msg);
  loom_tokenizer *t = calloc(1, sizeof *t);
  if (!t || rt_tok_open(blob, len, &t->rt, err, errlen)) {
    free(blob);
    free(t);
    return LOOM_ERR_MODEL;
  }
  free(blob);
  t->max_tokens = max;
  *out = t;
  return LOOM_OK;
}

void loom_tokenizer_free(loom_tokenizer *t) {
  if (!t) return;
  rt_tok_free(t->rt);
  free(t);
}

size_t loom_tokenizer_max_tokens(const loom_tokenizer *t) {
  return t ? t->max_tokens : 0;
}

loom_status loom_tokenize(const loom_tokenizer *t, const char *text,
                          size_t max_tokens, int32_t **ids, size_t *n_ids,
                          int *truncated, char *err, size_t errlen) {
  if (!t || !text || !ids || !n_ids)
    return failf(err, errlen, LOOM_ERR_USAGE, "error: loom_tokenize: NULL argument");
  RtIds v = {0};
  if (rt_tok_encode(t->rt, text, strlen(text), max_tokens, &v, truncated, err,
                    errlen)) {
    rt_ids_free(&v);
    return LOOM_ERR_MODEL;
  }
  *ids = v.ids ? v.ids : calloc(1, sizeof **ids);
  *n_ids = v.n;
  return LOOM_OK;
}

loom_status loom_detokenize(const loom_tokenizer *t, const int32_t *ids,
                            size_t n, char **text, char *err, size_t errlen) {
  if (!t || (!ids && n) || !text)
    return failf(err, errlen, LOOM_ERR_USAGE, "error: loom_detokenize: NULL argument");
  return rt_tok_decode(t->rt, ids, n, text, NULL, err, errlen) ? LOOM_ERR_MODEL
                                                              : LOOM_OK;
}

loom_status loom_detokenize_step(const loom_tokenizer *t, loom_detok_state *s,
                                 int32_t id, char *out, size_t cap,
                                 size_t *len, char *err, size_t errlen) {
  _Static_assert(sizeof(loom_detok_state) >= sizeof(RtDetok),
                 "loom_detok_state holds an RtDetok");
  if (!t || !s || !out || !len)
    return failf(err, errlen, LOOM_ERR_USAGE, "error: loom_detokenize_step: NULL argument");
  long k = id < 0 ? rt_detok_flush((RtDetok *)s, out, cap)
                  : rt_detok_push(t->rt, (RtDetok *)s, id, out, cap, err, errlen);
  if (k < 0) return LOOM_ERR_MODEL;
  *len = (size_t)k;
  return LOOM_OK;
}

loom_status loom_run_text(loom_model *m, const loom_tokenizer *t,
                          const char *text, loom_tensor *outputs,
                          int n_outputs, int *truncated, char *err,
                          size_t errlen) {
  if (!m || !t || !text || (!outputs && n_outputs))
    return failf(err, errlen, LOOM_ERR_USAGE, "error: loom_run_text: NULL argument");
  int32_t *ids;
  size_t n;
  loom_status st = loom_tokenize(t, text, t->max_tokens, &ids, &n, truncated,
                                 err, errlen);
  if (st) return st;
  loom_tensor in = {"ids", LOOM_I32, 1, {(int64_t)n}, ids};
  for (int i = 0; i < n_outputs; i++) outputs[i].data = NULL;
  st = loom_output_shapes(m, &in, 1, outputs, n_outputs, err, errlen);
  for (int i = 0; !st && i < n_outputs; i++)
    if (!(outputs[i].data = malloc(loom_tensor_bytes(&outputs[i]) + 4)))
      st = failf(err, errlen, LOOM_ERR_MODEL, "error: out of memory");
  if (!st) st = loom_run(m, &in, 1, outputs, n_outputs, err, errlen);
  if (st)
    for (int i = 0; i < n_outputs; i++) {
      free(outputs[i].data);
      outputs[i].data = NULL;
    }
  free(ids);
  return st;
}
