/* hf_config.c — a Hugging Face model directory as the family form.
 *
 *   DIR/config.json               model_type bert | gpt2 | vit and its
 *                                 hyperparameters
 *   DIR/model.safetensors         the weights
 *   DIR/modules.json              (sentence-transformers) Pooling and
 *   DIR/1_Pooling/config.json      Normalize modules: pooling: mean,
 *   DIR/sentence_bert_config.json  normalize: true, max_seq_length
 *   DIR/tokenizer.json, ...       the tokenizer (hf_tokenizer.c)
 *
 * The directory becomes the text of a family-form YAML file — the one
 * `loom import` writes — which fe_load then reads like any model file, so a
 * directory and its imported YAML are the same model by construction.
 *
 * Each family has three lists of config keys (the README prints them):
 * those read (each mapped to a family key, checked for type and range),
 * those ignored (training-only settings, labels, bookkeeping: they do not
 * change what the model computes) and, implicitly, every other key, which
 * is rejected with an error at the key: loom does not guess whether a key
 * it does not know changes the math.  Keys read with a condition (e.g.
 * position_embedding_type must be "absolute") reject the other values the
 * same way.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frontend/hf.h"
#include "frontend/frontend.h"
#include "frontend/json_util.h"

/* Keys every Hugging Face config may carry that do not change the math. */
#define HF_COMMON_IGNORED                                                     \
  "_name_or_path", "architectures", "transformers_version", "torch_dtype",    \
      "dtype", "initializer_range", "id2label", "label2id", "pad_token_id",   \
      "bos_token_id", "eos_token_id", "sep_token_id", "use_cache",            \
      "gradient_checkpointing", "tokenizer_class", "problem_type",            \
      "task_specific_params", "output_attentions", "output_hidden_states",    \
      "return_dict", "tie_word_embeddings", "finetuning_task", "prefix",      \
      "num_labels", "model_type"

typedef struct {
  const char *family;
  const char *const *read;    /* config key -> family key, pairs */
  const char *const *ignored; /* beyond HF_COMMON_IGNORED */
  /* keys read only to check a value: key, the one value accepted ("true",
   * "false", "absolute", ...), pairs */
  const char *const *checked;
} HfFamily;

/* BERT's and ViT's configs (both BertLayer-shaped encoders) share these. */
#define HF_ENCODER_READ                                                       \
  "hidden_size", "d_model", "num_attention_heads", "heads",                  \
      "intermediate_size", "d_ff", "num_hidden_layers", "layers",             \
      "layer_norm_eps", "eps", "hidden_act", "activation"
#define HF_ENCODER_IGNORED "attention_probs_dropout_prob", "hidden_dropout_prob"

static const char *const bert_read[] = {
    HF_ENCODER_READ, "vocab_size", "vocab", "max_position_embeddings",
    "max_len", "type_vocab_size", "type_vocab", NULL};
static const char *const bert_ignored[] = {HF_ENCODER_IGNORED,
                                           "classifier_dropout", NULL};
static const char *const bert_checked[] = {
    "position_embedding_type", "absolute", "is_decoder", "false",
    "add_cross_attention", "false", "chunk_size_feed_forward", "0", NULL};

static const char *const gpt2_read[] = {
    "n_embd", "d_model", "n_head", "heads", "n_inner", "d_ff",
    "n_layer", "layers", "vocab_size", "vocab", "n_positions", "max_len",
    "layer_norm_epsilon", "eps", "activation_function", "activation", NULL};
static const char *const gpt2_ignored[] = {
    "attn_pdrop", "embd_pdrop", "resid_pdrop", "n_ctx",
    "summary_activation", "summary_first_dropout", "summary_proj_to_labels",
    "summary_type", "summary_use_proj", "reorder_and_upcast_attn", NULL};
static const char *const gpt2_checked[] = {
    "scale_attn_weights", "true", "scale_attn_by_inverse_layer_idx", "false",
    "add_cross_attention", "false", NULL};

static const char *const vit_read[] = {
    HF_ENCODER_READ, "image_size", "image_size", "patch_size", "patch_size",
    "num_channels", "channels", NULL};
static const char *const vit_ignored[] = {
    HF_ENCODER_IGNORED, "encoder_stride", "pooler_act", "pooler_output_size",
    NULL};
static const char *const vit_checked[] = {"qkv_bias", "true", NULL};

static const HfFamily hf_families[] = {
    {"bert", bert_read, bert_ignored, bert_checked},
    {"gpt2", gpt2_read, gpt2_ignored, gpt2_checked},
    {"vit", vit_read, vit_ignored, vit_checked},
};

static const char *const common_ignored[] = {HF_COMMON_IGNORED, NULL};

static bool in_list(const char *const *l, const char *k, int stride) {
  for (int i = 0; l && l[i]; i += stride)
    if (!strcmp(l[i], k)) return true;
  return false;
}

bool fe_is_model_dir(const char *path) {
  struct stat st;
  size_t n = strlen(path);
  if (n >= 11 && !strcmp(path + n - 11, "config.json") &&
      (n == 11 || path[n - 12] == '/'))
    return true;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

char *fe_model_dir(const char *path) {
  size_t n = strlen(path);
  char *dir = strdup(path);
  if (!dir) return NULL;
  if (n >= 11 && !strcmp(path + n - 11, "config.json")) {
    if (n == 11) strcpy(dir, ".");
    else dir[n - 12] = 0;
  }
  while (strlen(dir) > 1 && dir[strlen(dir) - 1] == '/') dir[strlen(dir) - 1] = 0;
  return dir;
}

/* A hidden_act / activation_function value as a family activation. */
static const char *activation(const char *act) {
  static const char *const map[] = {"gelu", "gelu", "relu", "relu",
                                    "gelu_new", "gelu_tanh",
                                    "gelu_pytorch_tanh", "gelu_tanh", NULL};
  for (int i = 0; map[i]; i += 2)
    if (!strcmp(map[i], act)) return map[i + 1];
  return NULL;
}

/* The text of one config value as YAML (integers, reals, strings). */
static int value_text(const char *path, const char *key, json_t *v, bool is_act,
                      char *out, size_t cap, Diag *d) {
  if (is_act) {
    const char *a = json_string_value(v), *m = a ? activation(a) : NULL;
    if (!m)
      return fe_json_error(d, path, key, "%s '%s' is not supported (gelu, "
                           "relu, gelu_new, gelu_pytorch_tanh are)", key,
                           a ? a : "?");
    snprintf(out, cap, "%s", m);
  } else if (json_is_integer(v)) {
    if (json_integer_value(v) < 1)
      return fe_json_error(d, path, key, "%s must be positive, got %" JSON_INTEGER_FORMAT,
                           key, json_integer_value(v));
    snprintf(out, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
  } else if (json_is_real(v) && !strstr(key, "eps")) {
    return fe_json_error(d, path, key, "%s must be an integer", key);
  } else if (json_is_number(v)) {
    if (!(json_number_value(v) > 0))
      return fe_json_error(d, path, key, "%s must be positive", key);
    /* the shortest text that reads back as the same double */
    for (int prec = 6; prec <= 17; prec++) {
      snprintf(out, cap, "%.*g", prec, json_number_value(v));
      if (strtod(out, NULL) == json_number_value(v)) break;
    }
  } else {
    return fe_json_error(d, path, key, "%s must be a number", key);
  }
  return 0;
}

/* Does value v read as the accepted spelling s ("true", "absolute", "0")? */
static bool value_is(json_t *v, const char *s) {
  if (json_is_boolean(v)) return !strcmp(s, json_is_true(v) ? "true" : "false");
  if (json_is_string(v)) return !strcmp(s, json_string_value(v));
  if (json_is_integer(v)) {
    char b[32];
    snprintf(b, sizeof b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    return !strcmp(s, b);
  }
  return false;
}

typedef struct {
  char *p;
  size_t n, cap;
} Out;

static void out(Out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out(Out *o, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (o->n + (size_t)k + 1 > o->cap) {
    o->cap = 2 * (o->n + (size_t)k + 1) + 256;
    o->p = realloc(o->p, o->cap);
    if (!o->p) abort();
  }
  va_start(ap, fmt);
  vsnprintf(o->p + o->n, (size_t)k + 1, fmt, ap);
  va_end(ap);
  o->n += (size_t)k;
}

/* A YAML double-quoted string. */
static void out_quoted(Out *o, const char *s) {
  out(o, "\"");
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') out(o, "\\%c", *s);
    else out(o, "%c", *s);
  }
  out(o, "\"");
}

static bool file_in(const char *dir, const char *name, char *path, size_t cap) {
  struct stat st;
  snprintf(path, cap, "%s/%s", dir, name);
  return stat(path, &st) == 0;
}

/* The sentence-transformers modules: pooling, normalize, max_seq_length. */
static int sentence_transformers(const char *dir, bool *mean, bool *normalize,
                                 int64_t *max_tokens, int64_t d_model, Diag *d) {
  char path[4096], ppath[4096];
  json_t *mods = NULL;
  if (!file_in(dir, "modules.json", path, sizeof path)) return 0;
  if (fe_json_load(path, true, &mods, d)) return -1;
  size_t i;
  json_t *m;
  int rc = 0;
  if (!json_is_array(mods)) {
    json_decref(mods);
    return ir_file_errorf(d, path, "expected a list of modules");
  }
  json_array_foreach(mods, i, m) {
    const char *type = json_string_value(json_object_get(m, "type"));
    const char *sub = json_string_value(json_object_get(m, "path"));
    const char *base = type ? strrchr(type, '.') : NULL;
    base = base ? base + 1 : type ? type : "?";
    if (!strcmp(base, "Transformer")) continue;
    if (!strcmp(base, "Normalize")) {
      *normalize = true;
      continue;
    }
    if (!strcmp(base, "Pooling")) {
      json_t *pc = NULL;
      snprintf(ppath, sizeof ppath, "%s/%s/config.json", dir, sub ? sub : "");
      if (fe_json_load(ppath, false, &pc, d)) {
        rc = -1;
        break;
      }
      const char *k;
      json_t *v;
      json_object_foreach(pc, k, v) {
        if (!strcmp(k, "word_embedding_dimension")) {
          if (json_integer_value(v) != d_model)
            rc = fe_json_error(d, ppath, k, "word_embedding_dimension %"
                               JSON_INTEGER_FORMAT " is not the model's "
                               "hidden_size %" PRId64, json_integer_value(v),
                               d_model);
        } else if (!strcmp(k, "pooling_mode_mean_tokens")) {
          *mean = json_is_true(v);
        } else if (!strcmp(k, "include_prompt")) {
          if (!json_is_true(v))
            rc = fe_json_error(d, ppath, k, "include_prompt: false is not "
                                            "supported");
        } else if (!strncmp(k, "pooling_mode_", 13)) {
          if (json_is_true(v))
            rc = fe_json_error(d, ppath, k, "%s is not supported (loom pools "
                               "by mean only: pooling_mode_mean_tokens)", k);
        } else {
          rc = fe_json_error(d, ppath, k, "unknown pooling key '%s'", k);
        }
        if (rc) break;
      }
      if (!rc && !*mean)
        rc = ir_file_errorf(d, ppath, "no pooling mode: loom needs "
                                      "pooling_mode_mean_tokens: true");
      json_decref(pc);
      if (rc) break;
      continue;
    }
    rc = ir_file_errorf(d, path, "module %zu is a %s, which loom does not "
                                 "support (Transformer, Pooling, Normalize "
                                 "are)", i, base);
    break;
  }
  json_decref(mods);
  if (rc) return rc;
  if (*normalize && !*mean)
    return ir_file_errorf(d, path, "a Normalize module needs a Pooling module "
                                   "before it");
  json_t *sb = NULL;
  if (file_in(dir, "sentence_bert_config.json", path, sizeof path)) {
    if (fe_json_load(path, false, &sb, d)) return -1;
    json_t *v = json_object_get(sb, "max_seq_length");
    if (v && (!json_is_integer(v) || json_integer_value(v) < 1))
      rc = fe_json_error(d, path, "max_seq_length", "max_seq_length must be "
                                                     "a positive integer");
    else if (v)
      *max_tokens = json_integer_value(v);
    if (!rc && json_is_true(json_object_get(sb, "do_lower_case")))
      rc = fe_json_error(d, path, "do_lower_case", "do_lower_case: true is "
                         "not supported (the tokenizer's own lowercasing is)");
    json_decref(sb);
  }
  return rc;
}

/* target (as reached from the current directory) as a path from the
 * folder of the YAML file base: the part after that folder, as is when
 * the folder is the current one, else absolute. */
static char *path_from(const char *base, const char *target) {
  if (!base || target[0] == '/') return strdup(target);
  const char *slash = strrchr(base, '/');
  if (!slash) return strdup(target);
  size_t n = (size_t)(slash - base);
  if (!strncmp(target, base, n) && target[n] == '/') return strdup(target + n + 1);
  if (!strncmp(target, base, n) && target[n] == 0) return strdup(".");
  char *abs = realpath(target, NULL);
  return abs ? abs : strdup(target);
}

int fe_hf_import(const char *mpath, const char *yaml_path, char **yaml,
                 Diag *d) {
  *yaml = NULL;
  char *dir = fe_model_dir(mpath);
  char path[4096], wpath[4096];
  json_t *cfg = NULL;
  Out o = {0};
  int rc = -1;
  if (!dir) return ir_file_errorf(d, mpath, "out of memory");
  if (!file_in(dir, "config.json", path, sizeof path)) {
    ir_file_errorf(d, dir, "not a model directory: no config.json");
    goto done;
  }
  if (fe_json_load(path, false, &cfg, d)) goto done;
  json_t *mt = json_object_get(cfg, "model_type");
  const char *type = json_string_value(mt);
  if (!mt) {
    ir_file_errorf(d, path, "no 'model_type' (bert, gpt2 or vit)");
    goto done;
  }
  const HfFamily *f = NULL;
  for (size_t i = 0; i < sizeof hf_families / sizeof hf_families[0]; i++)
    if (type && !strcmp(type, hf_families[i].family)) f = &hf_families[i];
  if (!f) {
    fe_json_error(d, path, "model_type", "model_type '%s' is not supported "
                  "(bert, gpt2, vit are)", type ? type : "?");
    goto done;
  }
  /* the model's name: the directory's, or its parent's when the directory
   * is just "model" (as in a packaged model: .../minilm/model) */
  char *abs = realpath(dir, NULL), name[256] = "model";
  if (abs) {
    char *slash = strrchr(abs, '/');
    if (slash && !strcmp(slash + 1, "model") && slash > abs) {
      *slash = 0;
      slash = strrchr(abs, '/');
    }
    if (slash && slash[1]) snprintf(name, sizeof name, "%s", slash + 1);
    free(abs);
  }
  const char *base = name;
  out(&o, "# imported by loom from %s\n", dir);
  out(&o, "name: ");
  out_quoted(&o, base);
  out(&o, "\nfamily: %s\n", f->family);
  /* every key: read, checked, ignored, or an error */
  const char *k;
  json_t *v;
  int64_t d_model = 0, max_len = 0;
  json_object_foreach(cfg, k, v) {
    for (int i = 0; f->read[i]; i += 2) {
      if (strcmp(f->read[i], k)) continue;
      if (json_is_null(v)) break; /* GPT-2's n_inner: null is 4 * n_embd */
      char text[64];
      bool is_act = !strcmp(f->read[i + 1], "activation");
      if (value_text(path, k, v, is_act, text, sizeof text, d)) goto done;
      out(&o, "%s: %s\n", f->read[i + 1], text);
      if (!strcmp(f->read[i + 1], "d_model")) d_model = json_integer_value(v);
      if (!strcmp(f->read[i + 1], "max_len")) max_len = json_integer_value(v);
    }
    if (in_list(f->read, k, 2)) continue;
    if (in_list(f->checked, k, 2)) {
      for (int i = 0; f->checked[i]; i += 2)
        if (!strcmp(f->checked[i], k) && !value_is(v, f->checked[i + 1])) {
          char *s = json_dumps(v, JSON_ENCODE_ANY);
          fe_json_error(d, path, k, "%s: %s is not supported (loom computes "
                        "%s: %s)", k, s ? s : "?", k, f->checked[i + 1]);
          free(s);
          goto done;
        }
      continue;
    }
    if (in_list(common_ignored, k, 1) || in_list(f->ignored, k, 1)) continue;
    fe_json_error(d, path, k, "unknown config key '%s' for %s: loom does not "
                  "know whether it changes the model, so it refuses it", k,
                  f->family);
    goto done;
  }
  const char *hk = !strcmp(f->family, "gpt2") ? "n_head" : "num_attention_heads";
  json_t *h = json_object_get(cfg, hk);
  if (d_model && json_integer_value(h) > 0 && d_model % json_integer_value(h)) {
    fe_json_error(d, path, hk, "the hidden size %" PRId64 " is not divisible by %"
                  JSON_INTEGER_FORMAT " heads", d_model, json_integer_value(h));
    goto done;
  }
  /* sentence-transformers */
  bool mean = false, normalize = false;
  int64_t max_tokens = max_len;
  if (!strcmp(f->family, "bert") &&
      sentence_transformers(dir, &mean, &normalize, &max_tokens, d_model, d))
    goto done;
  if (mean) out(&o, "pooling: mean\n");
  if (normalize) out(&o, "normalize: true\n");
  if (!file_in(dir, "model.safetensors", wpath, sizeof wpath)) {
    ir_file_errorf(d, dir, "no model.safetensors (loom reads safetensors "
                           "weights only)");
    goto done;
  }
  char *w = path_from(yaml_path, wpath);
  out(&o, "weights: ");
  out_quoted(&o, w);
  out(&o, "\n");
  free(w);
  char tpath[4096];
  bool has_tok = file_in(dir, "tokenizer.json", tpath, sizeof tpath) ||
                 file_in(dir, "vocab.txt", tpath, sizeof tpath) ||
                 file_in(dir, "vocab.json", tpath, sizeof tpath);
  if (has_tok && strcmp(f->family, "vit")) {
    char *t = path_from(yaml_path, dir);
    out(&o, "text:\n  tokenizer: ");
    out_quoted(&o, t);
    out(&o, "\n  max_tokens: %" PRId64 "\n", max_tokens);
    free(t);
  }
  rc = 0;
done:
  if (cfg) json_decref(cfg);
  free(dir);
  if (rc) free(o.p);
  else *yaml = o.p;
  return rc;
}

int fe_parse_text_section(FeYaml *y, FeModel *m, yaml_node_t *node) {
  if (!node) return 0;
  static const char *const keys[] = {"tokenizer", "max_tokens", NULL};
  static const char *const req[] = {"tokenizer", NULL};
  if (fe_check_map(y, node, "text", keys, req)) return -1;
  const char *dir;
  if (fe_get_str(y, fe_map_get(y, node, "tokenizer", NULL), "tokenizer", &dir))
    return -1;
  /* relative to the model file, as weights: are */
  const char *slash = strrchr(y->file, '/');
  if (dir[0] != '/' && slash) {
    size_t n = (size_t)(slash - y->file) + 1;
    char *full = ir_alloc(m->g->arena, n + strlen(dir) + 1);
    memcpy(full, y->file, n);
    strcpy(full + n, dir);
    m->tokenizer = full;
  } else {
    m->tokenizer = ir_strdup(m->g->arena, dir);
  }
  yaml_node_t *mt = fe_map_get(y, node, "max_tokens", NULL);
  if (mt && fe_get_int(y, mt, "max_tokens", &m->max_tokens)) return -1;
  if (mt && m->max_tokens < 1)
    return fe_yaml_error(y, mt, "max_tokens must be positive");
  return 0;
}
