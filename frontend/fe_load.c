/* fe_load.c — loading a model file: dispatch on its form, bind weights.
 *
 * Weights are bound after the graph is built and checked, by name: a weight
 * node `h.0.attn.c_attn.weight` f32[64, 192] takes the safetensors tensor of
 * that name, which must have exactly that shape.  F32 tensors whose data is
 * 4-byte aligned in the mapping are used in place; everything else is
 * converted into one block owned by the model.  Random weights are
 * deterministic per (seed, tensor name), so they do not depend on the order
 * of declarations.
 *
 * A family model (FeModel.prefixes, .ignore, .tied) binds checkpoints as the
 * ecosystem saves them: `wte.weight` is also found as
 * `transformer.wte.weight`; tensors it does not use but knows (a pooler, a
 * classifier head, GPT-2's mask buffers) are skipped; any other unused
 * tensor is an error, so the checkpoint of a different model is reported
 * rather than half loaded; and a tied weight absent from the file (GPT-2's
 * lm_head) shares its partner's data.
 */
#include "frontend/frontend.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "frontend/hf.h"
#include "frontend/random_weights.h"

/* A path relative to the directory of `base`. */
static const char *relative_to(Arena *a, const char *base, const char *path) {
  if (path[0] == '/') return ir_strdup(a, path);
  const char *slash = strrchr(base, '/');
  if (!slash) return ir_strdup(a, path);
  size_t dir = (size_t)(slash - base) + 1;
  char *out = ir_alloc(a, dir + strlen(path) + 1);
  memcpy(out, base, dir);
  strcpy(out + dir, path);
  return out;
}

int fe_parse_dtype(FeYaml *y, FeModel *m, yaml_node_t *node) {
  if (!node) return 0;
  const char *s;
  if (fe_get_str(y, node, "dtype", &s)) return -1;
  int t = ir_dtype_lookup(s);
  if (t != DT_F32 && t != DT_BF16)
    return fe_yaml_error(y, node, "unknown dtype '%s' for the matmul weights "
                                  "(f32, bf16)", s);
  m->dtype = (DType)t;
  return 0;
}

int fe_parse_weight_source(FeYaml *y, FeModel *m, yaml_node_t *node) {
  if (!node) return 0;
  m->weights_loc = fe_loc(y, node);
  if (fe_is_scalar(node)) {
    const char *path;
    if (fe_get_str(y, node, "weights", &path)) return -1;
    m->source = WS_FILE;
    m->weights_path = relative_to(m->g->arena, y->file, path);
    return 0;
  }
  static const char *const keys[] = {"random", NULL};
  static const char *const rkeys[] = {"seed", NULL};
  if (node->type != YAML_MAPPING_NODE)
    return fe_yaml_error(y, node, "weights must be a file name or "
                                  "{random: {seed: N}}");
  if (fe_check_map(y, node, "weights", keys, keys)) return -1;
  yaml_node_t *r = fe_map_get(y, node, "random", NULL);
  if (fe_check_map(y, r, "random", rkeys, rkeys)) return -1;
  int64_t seed;
  if (fe_get_int(y, fe_map_get(y, r, "seed", NULL), "seed", &seed)) return -1;
  m->source = WS_RANDOM;
  m->seed = (uint64_t)seed;
  return 0;
}

/* Random weights with a sensible spread: matrices ~ 1/sqrt(fan-in),
 * normalization scales near 1, other vectors small. */
static void random_weight(const Value *v, uint64_t seed, float *dst,
                          int64_t n) {
  const Shape *s = &v->shape;
  float scale = 0.1f, offset = 0.0f;
  const char *name = v->name;
  size_t len = strlen(name);
  bool is_weight = len >= 6 && strcmp(name + len - 6, "weight") == 0;
  if (s->rank >= 2) {
    scale = 1.0f / sqrtf((float)s->d[s->rank - 2].c);
  } else if (is_weight && (strstr(name, "norm") || strstr(name, "ln") ||
                           strstr(name, "LayerNorm"))) {
    offset = 1.0f;
  }
  fe_random_fill(dst, n, name, seed, scale);
  if (offset != 0.0f)
    for (int64_t i = 0; i < n; i++) dst[i] += offset;
}

/* The weight whose data weight `name` shares when it has none, or NULL. */
static const char *tied_to(const FeModel *m, const char *name) {
  for (int i = 0; m->tied && m->tied[i]; i += 2)
    if (strcmp(m->tied[i], name) == 0) return m->tied[i + 1];
  return NULL;
}

/* The checkpoint tensor named `name`, as is or under one of the model's
 * prefixes. */
static const StTensor *find_named(const FeModel *m, const char *name) {
  const StTensor *t = fe_st_find(&m->st, name);
  for (int i = 0; !t && m->prefixes && m->prefixes[i]; i++) {
    char full[512];
    snprintf(full, sizeof full, "%s%s", m->prefixes[i], name);
    t = fe_st_find(&m->st, full);
  }
  return t;
}

/* The checkpoint tensor for weight `name`: its own, else its tied one's. */
static const StTensor *find_tensor(const FeModel *m, const char *name) {
  const StTensor *t = find_named(m, name);
  const char *tie = tied_to(m, name);
  if (!t && tie) t = find_named(m, tie);
  return t;
}

/* Is checkpoint tensor `name` one the model may carry and not use?
 * "mod.*" matches names starting "mod."; "a.b" names equal to it or ending
 * ".a.b"; both after an accepted prefix is removed. */
static bool ignored(const FeModel *m, const char *name) {
  for (int i = 0; m->prefixes && m->prefixes[i]; i++) {
    size_t pl = strlen(m->prefixes[i]);
    if (strncmp(name, m->prefixes[i], pl) == 0) {
      name += pl;
      break;
    }
  }
  size_t len = strlen(name);
  for (int i = 0; m->ignore && m->ignore[i]; i++) {
    const char *p = m->ignore[i];
    size_t pl = strlen(p);
    if (pl >= 2 && strcmp(p + pl - 2, ".*") == 0) {
      if (strncmp(name, p, pl - 1) == 0) return true;
    } else if (strcmp(name, p) == 0 ||
               (len > pl && name[len - pl - 1] == '.' &&
                strcmp(name + len - pl, p) == 0)) {
      return true;
    }
  }
  return false;
}

/* <= IR_MAX_BYTES / 4: the weight's size was checked by its shape rule. */
static int64_t static_numel(const Shape *s) {
  int64_t n = 1;
  for (int i = 0; i < s->rank; i++) n = ir_size_mul(n, s->d[i].c);
  return n;
}

int fe_bind_weights(FeModel *m, Diag *d) {
  Graph *g = m->g;
  bool any = false;
  for (uint32_t i = 0; i < g->n_nodes; i++) any |= g->nodes[i].op == OP_WEIGHT;
  if (!any) return 0;
  size_t plen = strlen(m->path);
  if (m->source == WS_NONE && plen > 3 && strcmp(m->path + plen - 3, ".ir") == 0)
    return ir_file_errorf(d, m->path,
                          "the graph has weights but IR text carries no data: "
                          "pass --weights, or write the IR with loom opt -o "
                          "FILE.ir, which puts its data in FILE.ir.safetensors");
  if (m->source == WS_NONE)
    return ir_file_errorf(d, m->path,
                          "the model declares weights but names no source: "
                          "add 'weights: FILE.safetensors' or "
                          "'weights: {random: {seed: 1}}', or pass --weights");
  if (m->source == WS_FILE) {
    if (access(m->weights_path, R_OK))
      return ir_errorf(d, m->weights_loc, "cannot read weights file '%s': %s",
                       m->weights_path, strerror(errno));
    if (fe_st_open(m->weights_path, &m->st, d)) return -1;
    m->st_open = true;
  }
  /* First pass: check every tensor, count the floats we must own. */
  size_t owned = 0;
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    const Node *n = &g->nodes[i];
    if (n->op != OP_WEIGHT) continue;
    const Value *v = &g->values[n->out[0]];
    char want[256];
    ir_format_shape(g, &v->shape, want, sizeof want);
    for (int k = 0; k < v->shape.rank; k++)
      if (v->shape.d[k].sym >= 0)
        return ir_errorf(d, n->loc, "weight '%s' has a symbolic shape %s; "
                                    "weights must be static", v->name, want);
    if (m->source == WS_RANDOM) {
      if (!tied_to(m, v->name))
        owned = (size_t)ir_size_add((int64_t)owned, static_numel(&v->shape));
      continue;
    }
    const StTensor *t = find_tensor(m, v->name);
    if (!t)
      return ir_file_errorf(d, m->weights_path,
                            "missing tensor '%s' (expected f32%s)", v->name,
                            want);
    bool same = t->rank == v->shape.rank;
    for (int k = 0; same && k < t->rank; k++)
      same = t->shape[k] == v->shape.d[k].c;
    if (!same) {
      char found[256];
      size_t len = (size_t)snprintf(found, sizeof found, "[");
      for (int k = 0; k < t->rank && len < sizeof found; k++)
        len += (size_t)snprintf(found + len, sizeof found - len,
                                "%s%" PRId64, k ? ", " : "", t->shape[k]);
      if (len < sizeof found) snprintf(found + len, sizeof found - len, "]");
      bool transposed = t->rank == 2 && v->shape.rank == 2 &&
                        t->shape[0] == v->shape.d[1].c &&
                        t->shape[1] == v->shape.d[0].c;
      return ir_file_errorf(d, m->weights_path,
                            "tensor '%s' has shape %s, expected %s%s", t->name,
                            found, want,
                            transposed ? " (stored transposed?)" : "");
    }
    if (t->dtype != ST_F32 || ((uintptr_t)t->data & 3))
      owned = (size_t)ir_size_add((int64_t)owned, fe_st_numel(t));
  }
  if (ir_check_bytes(d, (Loc){m->path, 0, 0}, "the weights",
                     ir_size_mul((int64_t)owned, 4)))
    return -1;
  if (m->source == WS_FILE && m->reject_unexpected) {
    /* Every tensor of the file is used or knowingly skipped. */
    bool *used = calloc((size_t)m->st.n + 1, sizeof *used);
    IR_ASSERT(used);
    for (uint32_t i = 0; i < g->n_nodes; i++)
      if (g->nodes[i].op == OP_WEIGHT)
        used[find_tensor(m, g->values[g->nodes[i].out[0]].name) -
             m->st.tensors] = true;
    int bad = -1;
    for (int i = 0; i < m->st.n && bad < 0; i++)
      if (!used[i] && !ignored(m, m->st.tensors[i].name)) bad = i;
    free(used);
    if (bad >= 0)
      return ir_file_errorf(d, m->weights_path,
                            "unexpected tensor '%s': the model has no "
                            "weight of that name", m->st.tensors[bad].name);
  }
  if (owned) {
    m->owned = malloc(owned * sizeof(float));
    if (!m->owned)
      return ir_file_errorf(d, m->path, "out of memory for %zu weights", owned);
  }
  /* Second pass: bind. */
  float *next = m->owned;
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    const Node *n = &g->nodes[i];
    if (n->op != OP_WEIGHT) continue;
    Value *v = &g->values[n->out[0]];
    int64_t count = static_numel(&v->shape);
    if (m->source == WS_RANDOM) {
      if (tied_to(m, v->name)) continue; /* below */
      random_weight(v, m->seed, next, count);
      v->data = next;
      next += count;
      continue;
    }
    const StTensor *t = find_tensor(m, v->name);
    if (t->dtype == ST_F32 && !((uintptr_t)t->data & 3)) {
      v->data = t->data;
      continue;
    }
    if (fe_st_to_f32(&m->st, t, next, d)) return -1;
    v->data = next;
    next += count;
  }
  /* Random tied weights share their partner's values. */
  for (uint32_t i = 0; i < g->n_nodes && m->source == WS_RANDOM; i++) {
    const Node *n = &g->nodes[i];
    Value *v = &g->values[n->out[0]];
    const char *tie = n->op == OP_WEIGHT ? tied_to(m, v->name) : NULL;
    if (!tie) continue;
    uint32_t w = ir_find_value(g, tie);
    IR_ASSERT(w != IR_NONE && g->values[w].data &&
              ir_shape_eq(&g->values[w].shape, &v->shape));
    v->data = g->values[w].data;
  }
  return 0;
}

/* A graph in IR text (a .ir file, as `loom dump` writes): its weights come
 * from --weights or FILE.ir.safetensors (frontend/ir_data.c), its
 * constants from the latter; graphs of inputs only (tests/data/ops) need
 * neither. */
static int load_ir_text(FeModel *m, const char *path, Diag *d) {
  FILE *f = fopen(path, "rb");
  if (!f) return ir_file_errorf(d, path, "cannot read: %s", strerror(errno));
  char *text = NULL;
  size_t len = 0, cap = 0, got;
  do {
    if (len + 4096 + 1 > cap) {
      cap = (len + 4096 + 1) * 2;
      text = realloc(text, cap);
      IR_ASSERT(text);
    }
    got = fread(text + len, 1, cap - len - 1, f);
    len += got;
  } while (got > 0);
  fclose(f);
  text[len] = 0;
  Graph *g = ir_parse(text, path, d);
  free(text);
  if (!g) return -1;
  ir_graph_free(m->g);
  m->g = g;
  m->path = ir_strdup(g->arena, path);
  return 0;
}

const char *const fe_graph_names[] = {"forward", "prefill", "decode",
                                      "encode", NULL};

int fe_graph_lookup(const char *name) {
  for (int i = 0; fe_graph_names[i]; i++)
    if (strcmp(fe_graph_names[i], name) == 0) return i;
  return -1;
}

FeModel *fe_load(const char *path, const FeOptions *opt, Diag *d) {
  static const FeOptions none = {0};
  if (!opt) opt = &none;
  FeModel *m = calloc(1, sizeof *m);
  IR_ASSERT(m);
  m->g = ir_graph_new(NULL);
  m->path = ir_strdup(m->g->arena, path);
  m->graph = opt->graph;
  m->cache_len = opt->max_len;
  m->batch_bound = opt->max_batch;
  size_t plen = strlen(path);
  FeYaml y = {0};
  bool ir_text = plen > 3 && strcmp(path + plen - 3, ".ir") == 0;
  /* A model directory is read as the family YAML it imports to (errors
   * in that YAML name DIR/loom-import.yaml; `loom import` shows it). */
  char *hf_yaml = NULL, *hf_name = NULL;
  if (!ir_text && fe_is_model_dir(path)) {
    char *dir = fe_model_dir(path);
    size_t n = strlen(dir) + 32;
    hf_name = malloc(n);
    IR_ASSERT(dir && hf_name);
    snprintf(hf_name, n, "%s/loom-import.yaml", dir); /* no such file */
    free(dir);
  }
  int rc = hf_name ? fe_hf_import(path, hf_name, &hf_yaml, d) : 0;
  if (rc == 0)
    rc = ir_text ? load_ir_text(m, path, d)
                 : fe_yaml_load(&y, hf_name ? hf_name : path, hf_yaml,
                                m->g->arena, d);
  free(hf_yaml);
  free(hf_name);
  if (rc == 0 && !ir_text) {
    yaml_node_t *root = fe_yaml_root(&y);
    if (root->type != YAML_MAPPING_NODE)
      rc = fe_yaml_error(&y, root, "a model file must be a mapping with "
                                   "'graph:' or 'family:'");
    else if (fe_map_get(&y, root, "graph", NULL))
      rc = fe_graph_form(&y, m, root);
    else if (fe_map_get(&y, root, "family", NULL))
      rc = fe_family_form(&y, m, root);
    else
      rc = fe_yaml_error(&y, root, "the model has neither 'graph:' (graph "
                                   "form) nor 'family:' (family form)");
  }
  if (!ir_text) fe_yaml_free(&y);
  if (rc == 0 && m->graph != FE_FORWARD && !m->family)
    rc = ir_errorf(d, (Loc){path, 0, 0},
                   "only a family model (gpt2, transformer) has a %s graph",
                   fe_graph_names[m->graph]);
  if (rc == 0 && opt->max_batch && !m->family)
    rc = ir_errorf(d, (Loc){path, 0, 0}, "--max-batch applies to a family "
                   "model; a graph's inputs say their own "
                   "shapes");
  if (rc == 0 && ir_verify(m->g, d)) rc = -1;
  char sidecar[4096];
  fe_ir_data_path(path, sidecar, sizeof sidecar);
  if (rc == 0 && (opt->weights || (ir_text && access(sidecar, F_OK) == 0))) {
    m->source = WS_FILE;
    m->weights_path = ir_strdup(m->g->arena, opt->weights ? opt->weights : sidecar);
    m->weights_loc = (Loc){0};
  }
  if (rc == 0 && !opt->no_weights) rc = fe_bind_data(m, d);
  if (rc) {
    fe_model_free(m);
    return NULL;
  }
  return m;
}

int fe_bind_data(FeModel *m, Diag *d) {
  size_t plen = strlen(m->path);
  bool ir_text = plen > 3 && strcmp(m->path + plen - 3, ".ir") == 0;
  if (fe_bind_weights(m, d)) return -1;
  return ir_text ? fe_bind_ir_consts(m, d) : 0;
}

void fe_model_adopt(FeModel *m, Graph *g, void *map, size_t map_bytes,
                    void *ckpt, size_t ckpt_bytes) {
  /* the model's strings live in its graph's arena */
  m->path = ir_strdup(g->arena, m->path);
  if (m->weights_path) m->weights_path = ir_strdup(g->arena, m->weights_path);
  if (m->tokenizer) m->tokenizer = ir_strdup(g->arena, m->tokenizer);
  if (m->weights_loc.file)
    m->weights_loc.file = ir_strdup(g->arena, m->weights_loc.file);
  if (m->st_open) fe_st_close(&m->st);
  m->st_open = false;
  free(m->owned);
  m->owned = NULL;
  ir_graph_free(m->g);
  m->g = g;
  if (m->map) munmap(m->map, m->map_bytes);
  if (m->ckpt) munmap(m->ckpt, m->ckpt_bytes);
  m->map = map;
  m->map_bytes = map_bytes;
  m->ckpt = ckpt;
  m->ckpt_bytes = ckpt_bytes;
}

void fe_model_free(FeModel *m) {
  if (!m) return;
  if (m->st_open) fe_st_close(&m->st);
  free(m->owned);
  ir_graph_free(m->g);
  if (m->map) munmap(m->map, m->map_bytes);
  if (m->ckpt) munmap(m->ckpt, m->ckpt_bytes);
  free(m);
}
