/* model.c — loading a model file: dispatch on its form, bind weights.
 *
 * Weights are bound after the graph is built and checked, by name: a weight
 * node `h.0.attn.c_attn.weight` f32[64, 192] takes the safetensors tensor of
 * that name, which must have exactly that shape.  F32 tensors whose data is
 * 4-byte aligned in the mapping are used in place; everything else is
 * converted into one block owned by the model.  Random weights are
 * deterministic per (seed, tensor name), so they do not depend on the order
 * of declarations.
 */
#include "frontend/frontend.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

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

static int64_t static_numel(const Shape *s) {
  int64_t n = 1;
  for (int i = 0; i < s->rank; i++) n *= s->d[i].c;
  return n;
}

int fe_bind_weights(FeModel *m, Diag *d) {
  Graph *g = m->g;
  bool any = false;
  for (uint32_t i = 0; i < g->n_nodes; i++) any |= g->nodes[i].op == OP_WEIGHT;
  if (!any) return 0;
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
      owned += (size_t)static_numel(&v->shape);
      continue;
    }
    const StTensor *t = fe_st_find(&m->st, v->name);
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
      return ir_file_errorf(d, m->weights_path,
                            "tensor '%s' has shape %s, expected %s", v->name,
                            found, want);
    }
    if (t->dtype != ST_F32 || ((uintptr_t)t->data & 3))
      owned += (size_t)fe_st_numel(t);
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
      random_weight(v, m->seed, next, count);
      v->data = next;
      next += count;
      continue;
    }
    const StTensor *t = fe_st_find(&m->st, v->name);
    if (t->dtype == ST_F32 && !((uintptr_t)t->data & 3)) {
      v->data = t->data;
      continue;
    }
    if (fe_st_to_f32(&m->st, t, next, d)) return -1;
    v->data = next;
    next += count;
  }
  return 0;
}

FeModel *fe_load(const char *path, const FeOptions *opt, Diag *d) {
  static const FeOptions none = {0};
  if (!opt) opt = &none;
  FeModel *m = calloc(1, sizeof *m);
  IR_ASSERT(m);
  m->g = ir_graph_new(NULL);
  m->path = ir_strdup(m->g->arena, path);
  FeYaml y;
  int rc = fe_yaml_load(&y, path, NULL, m->g->arena, d);
  if (rc == 0) {
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
  fe_yaml_free(&y);
  if (rc == 0 && ir_verify(m->g, d)) rc = -1;
  if (rc == 0 && opt->weights) {
    m->source = WS_FILE;
    m->weights_path = ir_strdup(m->g->arena, opt->weights);
    m->weights_loc = (Loc){0};
  }
  if (rc == 0 && !opt->no_weights) rc = fe_bind_weights(m, d);
  if (rc) {
    fe_model_free(m);
    return NULL;
  }
  return m;
}

void fe_model_free(FeModel *m) {
  if (!m) return;
  if (m->st_open) fe_st_close(&m->st);
  free(m->owned);
  ir_graph_free(m->g);
  free(m);
}
