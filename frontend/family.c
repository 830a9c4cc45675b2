/* family.c — the family form of a model file: an architecture and its
 * hyperparameters, expanded into primitive ops.
 *
 *   name: transformer-base
 *   family: transformer        # transformer | gpt2 | bert | vit
 *   d_model: 512
 *   heads: 8
 *   ...
 *   weights: base.safetensors  # or {random: {seed: 1}}
 *
 * Everything is read and checked here before a single node is built: the
 * family, then its keys (an unknown key gets the nearest valid one, missing
 * required keys are named), then each value's type, range and the
 * combinations (d_model divisible by heads, image_size by patch_size).  The
 * builders in family_*.c can then read like the PyTorch modules they
 * mirror.  Keys with defaults take each family's original value (eps,
 * activation), so a model file says only what differs.
 *
 * Checkpoints load as they are: each family names the prefixes its
 * Hugging Face checkpoints put before the base model's names (GPT2LMHeadModel
 * saves `transformer.h.0...`) and the tensors they carry that the family does
 * not use (pooler, heads, buffers); model.c's binding accepts the former,
 * skips the latter, and rejects anything else it was not asked for.
 */
#include <inttypes.h>
#include <string.h>

#include "frontend/family_build.h"
#include "frontend/frontend.h"

/* ---- the families -------------------------------------------------------- */

#define COMMON "name", "family", "d_model", "heads", "d_ff", "eps", \
               "activation", "weights", "text", "dtype"

typedef struct {
  const char *name;
  const char *const *keys;     /* allowed top-level keys */
  const char *const *required;
  const char *const *prefixes; /* checkpoint name prefixes accepted */
  const char *const *ignore;   /* checkpoint tensors skipped (model.c) */
  const char *const *tied;     /* weights sharing another's when absent */
  double eps;                  /* defaults: the original model's */
  Op act;
  void (*build)(Fb *b, const FeFamily *f);
} FamilyInfo;

static const char *const transformer_keys[] = {
    COMMON, "max_len", "encoder_layers", "decoder_layers", "vocab",
    "positional", "norm", "max_batch", NULL};
static const char *const transformer_required[] = {
    "d_model", "heads", "d_ff", "encoder_layers", "decoder_layers", "vocab",
    "max_len", NULL};

static const char *const gpt2_keys[] = {COMMON, "max_len", "layers", "vocab",
                                        "max_batch", NULL};
static const char *const gpt2_required[] = {"d_model", "heads", "layers",
                                            "vocab", "max_len", NULL};
static const char *const gpt2_prefixes[] = {"transformer.", NULL};
static const char *const gpt2_ignore[] = {"attn.bias", "attn.masked_bias",
                                          "lm_head.*", NULL};
/* lm_head.weight is tied to wte.weight unless the checkpoint unties it. */
static const char *const gpt2_tied[] = {"lm_head.weight", "wte.weight", NULL};

static const char *const bert_keys[] = {COMMON, "max_len", "layers", "vocab",
                                        "type_vocab", "pooling", "normalize",
                                        "max_batch", NULL};
static const char *const bert_required[] = {"d_model", "heads", "d_ff",
                                            "layers", "vocab", "max_len", NULL};
static const char *const bert_prefixes[] = {"bert.", NULL};
static const char *const bert_ignore[] = {"embeddings.position_ids",
                                          "pooler.*", "cls.*", "classifier.*",
                                          NULL};

static const char *const vit_keys[] = {COMMON, "layers", "image_size",
                                       "patch_size", "channels", "max_batch",
                                       NULL};
static const char *const vit_required[] = {"d_model", "heads", "d_ff",
                                           "layers", "image_size",
                                           "patch_size", NULL};
static const char *const vit_prefixes[] = {"vit.", NULL};
static const char *const vit_ignore[] = {"pooler.*", "classifier.*", NULL};

static const FamilyInfo families[] = {
    {"transformer", transformer_keys, transformer_required, NULL, NULL, NULL,
     1e-5,
     OP_RELU, fe_build_transformer},
    {"gpt2", gpt2_keys, gpt2_required, gpt2_prefixes, gpt2_ignore, gpt2_tied,
     1e-5,
     OP_GELU_TANH, fe_build_gpt2},
    {"bert", bert_keys, bert_required, bert_prefixes, bert_ignore, NULL,
     1e-12,
     OP_GELU, fe_build_bert},
    {"vit", vit_keys, vit_required, vit_prefixes, vit_ignore, NULL, 1e-12,
     OP_GELU, fe_build_vit},
};
#define N_FAMILIES (int)(sizeof families / sizeof families[0])

/* ---- reading values ------------------------------------------------------ */

/* Integer key in [1, max]; absent leaves *out (the default) alone.  *at
 * (may be NULL) gets the key's location. */
static int read_count(FeYaml *y, yaml_node_t *root, const char *key,
                      int64_t max, int64_t *out, Loc *at) {
  yaml_node_t *k, *v = fe_map_get(y, root, key, &k);
  if (!v) return 0;
  if (at) *at = fe_loc(y, k);
  if (fe_get_int(y, v, key, out)) return -1;
  if (*out < 1)
    return fe_yaml_error(y, v, "%s must be positive, got %" PRId64, key, *out);
  if (*out > max)
    return fe_yaml_error(y, v, "%s %" PRId64 " is too large (at most %" PRId64
                               ")", key, *out, max);
  return 0;
}

/* One of `options` (NULL-terminated); absent leaves *out alone. */
static int read_choice(FeYaml *y, yaml_node_t *root, const char *key,
                       const char *const *options, const char *family,
                       int *out, Loc *at) {
  yaml_node_t *k, *v = fe_map_get(y, root, key, &k);
  if (!v) return 0;
  if (at) *at = fe_loc(y, k);
  const char *s;
  if (fe_get_str(y, v, key, &s)) return -1;
  int n = 0;
  for (; options[n]; n++)
    if (strcmp(options[n], s) == 0) {
      *out = n;
      return 0;
    }
  char list[256];
  size_t len = 0;
  list[0] = 0;
  for (int i = 0; i < n && len < sizeof list; i++)
    len += (size_t)snprintf(list + len, sizeof list - len, "%s%s",
                            i ? ", " : "", options[i]);
  const char *near = fe_nearest(s, options, n);
  if (near)
    return fe_yaml_error(y, v, "unsupported %s '%s' for the %s family; did "
                               "you mean '%s'? (supported: %s)",
                         key, s, family, near, list);
  return fe_yaml_error(y, v, "unsupported %s '%s' for the %s family "
                             "(supported: %s)", key, s, family, list);
}

/* Read and check every key of a `family: NAME` model into *f. */
static int read_family(FeYaml *y, yaml_node_t *root, const FamilyInfo *fi,
                       FeFamily *f) {
  const char *fam = fi->name;
  bool is_transformer = strcmp(fam, "transformer") == 0;
  bool is_bert = strcmp(fam, "bert") == 0;
  bool is_vit = strcmp(fam, "vit") == 0;
  yaml_node_t *k;

  /* Keys that belong to another family get a message saying so. */
  if (!is_transformer && fe_map_get(y, root, "norm", &k))
    return fe_yaml_error(y, k, "only the transformer family has 'norm:'; "
                               "the %s family's norm placement is fixed (%s)",
                         fam, is_bert ? "post-norm" : "pre-norm");
  if (is_vit && fe_map_get(y, root, "max_len", &k))
    return fe_yaml_error(y, k, "the vit family has no 'max_len:'; its "
                               "length is 1 + (image_size/patch_size)^2");
  if (!is_transformer && fe_map_get(y, root, "positional", &k))
    return fe_yaml_error(y, k, "only the transformer family has "
                               "'positional:'; %s learns its positions", fam);
  char what[64];
  snprintf(what, sizeof what, "the %s model", fam);
  if (fe_check_map(y, root, what, fi->keys, fi->required)) return -1;

  /* Common keys. */
  const int64_t max_dim = 1 << 20, max_layers = 1000;
  f->eps = fi->eps;
  f->act = fi->act;
  yaml_node_t *heads_node = fe_map_get(y, root, "heads", NULL);
  if (read_count(y, root, "d_model", max_dim, &f->d_model, NULL) ||
      read_count(y, root, "heads", max_dim, &f->heads, NULL))
    return -1;
  if (f->d_model % f->heads)
    return fe_yaml_error(y, heads_node, "d_model %" PRId64 " is not divisible "
                                        "by heads %" PRId64 " (each head gets "
                                        "d_model/heads dimensions)",
                         f->d_model, f->heads);
  f->d_ff = 4 * f->d_model; /* GPT-2's default; the others require it */
  if (read_count(y, root, "d_ff", 4 * max_dim, &f->d_ff, NULL) ||
      read_count(y, root, "max_len", max_dim, &f->max_len, &f->at_max_len) ||
      read_count(y, root, "max_batch", 1 << 16, &f->max_batch, &f->at_max_batch))
    return -1;
  yaml_node_t *eps = fe_map_get(y, root, "eps", NULL);
  if (eps) {
    if (fe_get_float(y, eps, "eps", &f->eps)) return -1;
    if (!(f->eps > 0))
      return fe_yaml_error(y, eps, "eps must be positive, got %g", f->eps);
  }
  const char *acts[OP_COUNT + 1]; /* the ops flagged OPF_ACTIVATION */
  ir_act_names(acts);
  int act = -1;
  if (read_choice(y, root, "activation", acts, fam, &act, NULL)) return -1;
  if (act >= 0) f->act = ir_op_lookup(acts[act]);

  /* Per family. */
  if (read_count(y, root, "layers", max_layers, &f->layers, &f->at_layers) ||
      read_count(y, root, "encoder_layers", max_layers, &f->encoder_layers,
                 &f->at_encoder) ||
      read_count(y, root, "decoder_layers", max_layers, &f->decoder_layers,
                 &f->at_decoder) ||
      read_count(y, root, "vocab", 1 << 24, &f->vocab, NULL))
    return -1;
  if (is_transformer) {
    static const char *const pos[] = {"sinusoidal", NULL};
    static const char *const norms[] = {"post", "pre", NULL};
    int p = 0, norm = 0;
    if (read_choice(y, root, "positional", pos, fam, &p, NULL) ||
        read_choice(y, root, "norm", norms, fam, &norm, NULL))
      return -1;
    f->pre_norm = norm == 1;
  }
  if (is_bert) {
    static const char *const pools[] = {"none", "mean", NULL};
    int pool = 0;
    f->type_vocab = 2;
    if (read_count(y, root, "type_vocab", 1 << 24, &f->type_vocab, NULL) ||
        read_choice(y, root, "pooling", pools, fam, &pool, &f->at_pooling))
      return -1;
    f->pool_mean = pool == 1;
    yaml_node_t *norm = fe_map_get(y, root, "normalize", &k);
    if (norm) {
      if (fe_get_bool(y, norm, "normalize", &f->normalize)) return -1;
      if (f->normalize && !f->pool_mean)
        return fe_yaml_error(y, k, "'normalize: true' needs 'pooling: mean' "
                                   "(it normalizes the pooled embedding)");
    }
  }
  if (is_vit) {
    f->channels = 3;
    if (read_count(y, root, "image_size", 1 << 16, &f->image_size, NULL) ||
        read_count(y, root, "patch_size", 1 << 16, &f->patch_size, NULL) ||
        read_count(y, root, "channels", 1 << 10, &f->channels, NULL))
      return -1;
    if (f->image_size % f->patch_size)
      return fe_yaml_error(y, fe_map_get(y, root, "patch_size", NULL),
                           "image_size %" PRId64 " is not divisible by "
                           "patch_size %" PRId64,
                           f->image_size, f->patch_size);
  }
  return 0;
}

int fe_family_form(FeYaml *y, FeModel *m, yaml_node_t *root) {
  Graph *g = m->g;
  yaml_node_t *fk, *fv = fe_map_get(y, root, "family", &fk);
  const char *name;
  if (fe_get_str(y, fv, "family", &name)) return -1;
  const FamilyInfo *fi = NULL;
  const char *names[N_FAMILIES];
  for (int i = 0; i < N_FAMILIES; i++) {
    names[i] = families[i].name;
    if (strcmp(families[i].name, name) == 0) fi = &families[i];
  }
  if (!fi) {
    const char *near = fe_nearest(name, names, N_FAMILIES);
    if (near)
      return fe_yaml_error(y, fv, "unknown family '%s'; did you mean '%s'? "
                                  "(families: transformer, gpt2, bert, vit)",
                           name, near);
    return fe_yaml_error(y, fv, "unknown family '%s' (families: transformer, "
                                "gpt2, bert, vit)", name);
  }

  FeFamily f = {.family = fi->name, .at_family = fe_loc(y, fk)};
  if (read_family(y, root, fi, &f)) return -1;
  m->family = fi->name;
  f.graph = m->graph;
  f.cache_len = m->cache_len ? m->cache_len : f.max_len;
  bool is_gpt2 = strcmp(fi->name, "gpt2") == 0;
  bool is_tr = strcmp(fi->name, "transformer") == 0;
  if (m->graph != FE_FORWARD && !(is_tr || (is_gpt2 && m->graph != FE_ENCODE)))
    return fe_yaml_error(y, fv, "the %s family has no %s graph (%s)", name,
                         fe_graph_names[m->graph],
                         is_gpt2 ? "gpt2: forward, prefill, decode"
                                 : "it does not generate; only forward");
  if (m->cache_len > f.max_len)
    return ir_errorf(y->d, f.at_max_len, "--max-len %lld exceeds the model's "
                     "max_len %lld", (long long)m->cache_len, (long long)f.max_len);
  if (m->batch_bound) { /* --max-batch: the bound of B, in place of the file's */
    bool batches = false; /* a family has a batch dimension: it takes the key */
    for (const char *const *k = fi->keys; *k; k++)
      batches = batches || strcmp(*k, "max_batch") == 0;
    if (!batches)
      return fe_yaml_error(y, fv, "--max-batch: the %s family has no batch "
                                  "dimension (no max_batch)", name);
    if (!f.max_batch) f.at_max_batch = f.at_family;
    f.max_batch = m->batch_bound;
  }
  yaml_node_t *nm = fe_map_get(y, root, "name", NULL);
  if (nm) {
    const char *s;
    if (fe_get_str(y, nm, "name", &s)) return -1;
    g->name = ir_strdup(g->arena, s);
  } else {
    const char *base = strrchr(y->file, '/');
    base = base ? base + 1 : y->file;
    const char *dot = strrchr(base, '.');
    g->name = ir_strndup(g->arena, base,
                         dot ? (size_t)(dot - base) : strlen(base));
  }
  if (fe_parse_weight_source(y, m, fe_map_get(y, root, "weights", NULL)) ||
      fe_parse_dtype(y, m, fe_map_get(y, root, "dtype", NULL)) ||
      fe_parse_text_section(y, m, fe_map_get(y, root, "text", NULL)))
    return -1;
  m->prefixes = fi->prefixes;
  m->ignore = fi->ignore;
  m->tied = fi->tied;
  /* a transformer's generation graph uses part of the checkpoint (the
   * encode graph the encoder, the decode graph the decoder): the forward
   * graph is the one that checks nothing is left over */
  m->reject_unexpected = m->graph == FE_FORWARD || !is_tr;

  Fb b = {.g = g, .d = y->d, .loc = f.at_family};
  fi->build(&b, &f);
  return b.failed ? -1 : 0;
}
