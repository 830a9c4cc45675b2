/* graph_form.c — the graph form of a model file: explicit inputs, weights,
 * symbolic dims, nodes and outputs.
 *
 *   name: attention-head
 *   weights: head.safetensors          # or {random: {seed: 1}}
 *   graph:
 *     dims:    {S: 256}                # symbolic dimensions and bounds
 *     inputs:  {x: {dtype: f32, shape: [S, 64]}}
 *     weights: {wq: {shape: [64, 16]}}
 *     nodes:
 *       - {op: matmul, in: [x, wq], out: q}
 *       - {op: softmax, in: [q], axis: -1, out: p}
 *     outputs: [p]
 *
 * Each node is built, then its shape rule runs at once, so a mismatch is
 * reported at the node that has it.  A node's keys other than op/in/out are
 * the op's attributes (ir/ops.def); a typo gets the nearest valid key.
 */
#include <inttypes.h>
#include <string.h>

#include "frontend/frontend.h"

const char *const fe_graph_form_keys[] = {"name", "weights", "dtype", "graph", NULL};

/* A dimension written in YAML: 64, S, 8*S, or -1 when allowed. */
static int parse_dim(FeYaml *y, Graph *g, yaml_node_t *n, bool allow_minus1,
                     Dim *out) {
  if (!fe_is_scalar(n))
    return fe_yaml_error(y, n, "a dimension must be an integer or a dims "
                               "name");
  const char *s = fe_scalar(n);
  char *end;
  long long c = strtoll(s, &end, 10);
  if (end != s && !*end) {
    if (c == -1 && allow_minus1) {
      *out = (Dim){-1, -1};
      return 0;
    }
    if (c < 1)
      return fe_yaml_error(y, n, "dimension %lld must be positive%s", c,
                           allow_minus1 ? " (or -1)" : "");
    *out = ir_dim(c);
    return 0;
  }
  int64_t coeff = 1;
  const char *name = s;
  if (end != s && *end == '*') { /* 8*S */
    coeff = c;
    name = end + 1;
    if (coeff < 1)
      return fe_yaml_error(y, n, "dimension '%s' must be positive", s);
  }
  int32_t sym = ir_find_sym(g, name);
  if (sym < 0) {
    const char *names[64];
    int k = 0;
    for (uint32_t i = 0; i < g->n_syms && k < 64; i++) names[k++] = g->syms[i].name;
    const char *near = fe_nearest(name, names, k);
    if (near)
      return fe_yaml_error(y, n, "unknown dimension '%s'; did you mean '%s'?",
                           name, near);
    return fe_yaml_error(y, n, "unknown dimension '%s' (declare it under "
                               "'dims:', e.g. dims: {%s: 256})", name, name);
  }
  *out = (Dim){coeff, sym};
  return 0;
}

static int parse_shape(FeYaml *y, Graph *g, yaml_node_t *n, Shape *s) {
  int len = fe_seq_len(y, n, "shape");
  if (len < 0) return -1;
  if (len > IR_MAX_RANK)
    return fe_yaml_error(y, n, "shape has rank %d; at most %d is supported",
                         len, IR_MAX_RANK);
  s->rank = len;
  for (int i = 0; i < len; i++)
    if (parse_dim(y, g, fe_seq_item(y, n, i), false, &s->d[i])) return -1;
  return 0;
}

/* A name a value may have: [A-Za-z_][A-Za-z0-9_.]* */
static int check_name(FeYaml *y, yaml_node_t *n, const char *what,
                      const char **out) {
  if (fe_get_str(y, n, what, out)) return -1;
  const char *s = *out;
  bool ok = (s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') ||
            s[0] == '_';
  for (const char *p = s + 1; ok && *p; p++)
    ok = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
         (*p >= '0' && *p <= '9') || *p == '_' || *p == '.';
  if (!ok)
    return fe_yaml_error(y, n, "'%s' is not a valid %s (letters, digits, "
                               "'_' and '.', not starting with a digit)",
                         s, what);
  return 0;
}

static int check_new_name(FeYaml *y, Graph *g, yaml_node_t *n,
                          const char *what, const char **out) {
  if (check_name(y, n, what, out)) return -1;
  if (ir_find_value(g, *out) != IR_NONE)
    return fe_yaml_error(y, n, "'%s' is already defined", *out);
  return 0;
}

/* A reference to a defined value, with a hint for typos. */
static int lookup_value(FeYaml *y, Graph *g, yaml_node_t *n, uint32_t *out) {
  const char *name;
  if (fe_get_str(y, n, "operand", &name)) return -1;
  *out = ir_find_value(g, name);
  if (*out != IR_NONE) return 0;
  const char *best = NULL;
  const char *cands[1];
  for (uint32_t v = 0; v < g->n_values && !best; v++) {
    if (!g->values[v].name) continue;
    cands[0] = g->values[v].name;
    best = fe_nearest(name, cands, 1);
  }
  if (best)
    return fe_yaml_error(y, n, "unknown value '%s'; did you mean '%s'?", name,
                         best);
  return fe_yaml_error(y, n, "unknown value '%s' (not an input, a weight or "
                             "an earlier node's out)", name);
}

static int parse_dims(FeYaml *y, Graph *g, yaml_node_t *dims) {
  int n = fe_map_len(y, dims, "dims");
  if (n < 0) return -1;
  if (n > IR_MAX_SYMS)
    return fe_yaml_error(y, dims, "more than %d dims", IR_MAX_SYMS);
  for (int i = 0; i < n; i++) {
    yaml_node_t *k, *v;
    const char *name;
    int64_t bound;
    fe_map_pair(y, dims, i, &k, &v);
    if (check_name(y, k, "dimension name", &name)) return -1;
    if (ir_find_sym(g, name) >= 0)
      return fe_yaml_error(y, k, "dimension '%s' is declared twice", name);
    if (fe_get_int(y, v, "a dimension's bound", &bound)) return -1;
    if (bound < 1)
      return fe_yaml_error(y, v, "the bound of '%s' must be positive", name);
    ir_add_sym(g, name, bound, fe_loc(y, k));
  }
  return 0;
}

/* inputs / weights: {name: {dtype: f32, shape: [...]}} */
static int parse_sources(FeYaml *y, Graph *g, yaml_node_t *map, Op op) {
  const char *what = op == OP_INPUT ? "inputs" : "weights";
  static const char *const input_keys[] = {"dtype", "shape", "optional", "fill", NULL};
  static const char *const weight_keys[] = {"dtype", "shape", NULL};
  const char *const *keys = op == OP_INPUT ? input_keys : weight_keys;
  static const char *const required[] = {"shape", NULL};
  int n = fe_map_len(y, map, what);
  if (n < 0) return -1;
  for (int i = 0; i < n; i++) {
    yaml_node_t *k, *v;
    const char *name;
    fe_map_pair(y, map, i, &k, &v);
    if (check_new_name(y, g, k, op == OP_INPUT ? "input name" : "weight name",
                       &name))
      return -1;
    char desc[300];
    snprintf(desc, sizeof desc, "%s '%s'", op == OP_INPUT ? "input" : "weight",
             name);
    if (fe_check_map(y, v, desc, keys, required)) return -1;
    DType dt = DT_F32;
    yaml_node_t *dn = fe_map_get(y, v, "dtype", NULL);
    if (dn) {
      const char *s;
      if (fe_get_str(y, dn, "dtype", &s)) return -1;
      int t = ir_dtype_lookup(s);
      if (t != DT_F32 && (t != DT_I32 || op == OP_WEIGHT))
        return fe_yaml_error(y, dn, "unsupported dtype '%s' for %s (%s)", s,
                             desc, op == OP_INPUT ? "f32 or i32" : "f32");
      dt = (DType)t;
    }
    Shape s;
    if (parse_shape(y, g, fe_map_get(y, v, "shape", NULL), &s)) return -1;
    uint32_t val = ir_add_source(g, op, name, dt, &s, fe_loc(y, k));
    if (ir_infer(g, g->values[val].node, y->d)) return -1; /* its size */
    yaml_node_t *opt = fe_map_get(y, v, "optional", NULL);
    if (opt) {
      bool b;
      if (fe_get_bool(y, opt, "optional", &b)) return -1;
      if (b) ir_set_int(g, g->values[val].node, "optional", 1);
    }
    yaml_node_t *fill = fe_map_get(y, v, "fill", NULL);
    if (fill) { /* what an optional input left out reads as: 0 or 1 */
      int64_t f;
      if (fe_get_int(y, fill, "fill", &f)) return -1;
      if (f != 0 && f != 1)
        return fe_yaml_error(y, fill, "fill must be 0 or 1, got %" PRId64, f);
      if (!opt) return fe_yaml_error(y, fill, "fill needs 'optional: true'");
      ir_set_int(g, g->values[val].node, "fill", f);
    }
  }
  return 0;
}

static int parse_attr(FeYaml *y, Graph *g, uint32_t id, const AttrSpec *spec,
                      int slot, yaml_node_t *v) {
  Attr *a = &g->nodes[id].attr[slot];
  memset(a, 0, sizeof *a);
  a->set = true;
  bool b;
  switch (spec->kind) {
  case AK_INT: return fe_get_int(y, v, spec->key, &a->i);
  case AK_FLOAT: return fe_get_float(y, v, spec->key, &a->f);
  case AK_BOOL:
    if (fe_get_bool(y, v, spec->key, &b)) return -1;
    a->i = b;
    return 0;
  case AK_DIM: return parse_dim(y, g, v, false, &a->dim);
  case AK_STR: {
    const char *s;
    if (fe_get_str(y, v, spec->key, &s)) return -1;
    a->s = ir_strdup(g->arena, s);
    return 0;
  }
  case AK_INTS:
  case AK_DIMS: {
    int n = fe_seq_len(y, v, spec->key);
    if (n < 0) return -1;
    if (n > 64) return fe_yaml_error(y, v, "%s has too many entries", spec->key);
    a->n = n;
    if (spec->kind == AK_INTS) {
      a->ints = ir_alloc(g->arena, (size_t)(n ? n : 1) * sizeof *a->ints);
      for (int i = 0; i < n; i++)
        if (fe_get_int(y, fe_seq_item(y, v, i), spec->key, &a->ints[i]))
          return -1;
    } else {
      a->dims = ir_alloc(g->arena, (size_t)(n ? n : 1) * sizeof *a->dims);
      for (int i = 0; i < n; i++)
        if (parse_dim(y, g, fe_seq_item(y, v, i), true, &a->dims[i])) return -1;
    }
    return 0;
  }
  }
  return -1;
}

/* `in: [a, b]` or `in: a` — the operand names' nodes. */
static int list_or_one(FeYaml *y, yaml_node_t *n, const char *what,
                       yaml_node_t **items, int cap) {
  if (fe_is_scalar(n)) {
    items[0] = n;
    return 1;
  }
  int len = fe_seq_len(y, n, what);
  if (len < 0) return -1;
  if (len > cap) return fe_yaml_error(y, n, "%s has more than %d entries", what, cap);
  for (int i = 0; i < len; i++) items[i] = fe_seq_item(y, n, i);
  return len;
}

static int parse_node(FeYaml *y, Graph *g, yaml_node_t *n, int index) {
  char what[64];
  snprintf(what, sizeof what, "node %d", index + 1);
  if (fe_map_len(y, n, what) < 0) return -1;
  yaml_node_t *opk, *opn = fe_map_get(y, n, "op", &opk);
  if (!opn) return fe_yaml_error(y, n, "%s is missing required key 'op'", what);
  const char *opname;
  if (fe_get_str(y, opn, "op", &opname)) return -1;
  Op op = ir_op_lookup(opname);
  if (op == OP_COUNT || (ir_op_info(op)->flags & OPF_SOURCE)) {
    const char *names[OP_COUNT];
    int k = 0;
    for (int i = 0; i < OP_COUNT; i++)
      if (!(ir_op_info((Op)i)->flags & OPF_SOURCE)) names[k++] = ir_op_info((Op)i)->name;
    const char *near = fe_nearest(opname, names, k);
    if (near)
      return fe_yaml_error(y, opn, "unknown op '%s'; did you mean '%s'?",
                           opname, near);
    return fe_yaml_error(y, opn, "unknown op '%s' (see the op table in "
                                 "README.md)", opname);
  }
  const OpInfo *info = ir_op_info(op);
  /* Allowed keys: op, in, out and the op's attributes. */
  const char *keys[IR_MAX_ATTRS + 4] = {"op", "in", "out"};
  int nk = 3;
  for (int i = 0; i < info->nattrs; i++) keys[nk++] = info->attrs[i].key;
  keys[nk] = NULL;
  const char *required[3] = {"out", NULL, NULL};
  if (info->min_in > 0) required[1] = "in";
  snprintf(what, sizeof what, "node %d (%s)", index + 1, opname);
  if (fe_check_map(y, n, what, keys, required)) return -1;

  uint32_t in[64];
  int nin = 0;
  yaml_node_t *inn = fe_map_get(y, n, "in", NULL);
  if (inn) {
    yaml_node_t *items[64];
    nin = list_or_one(y, inn, "in", items, 64);
    if (nin < 0) return -1;
    for (int i = 0; i < nin; i++)
      if (lookup_value(y, g, items[i], &in[i])) return -1;
  }
  yaml_node_t *outs[64];
  int nout = list_or_one(y, fe_map_get(y, n, "out", NULL), "out", outs, 64);
  if (nout < 0) return -1;
  const char *names[64];
  for (int i = 0; i < nout; i++) {
    if (check_new_name(y, g, outs[i], "value name", &names[i])) return -1;
    for (int j = 0; j < i; j++)
      if (strcmp(names[i], names[j]) == 0)
        return fe_yaml_error(y, outs[i], "'%s' is already defined", names[i]);
  }
  Loc loc = fe_loc(y, n);
  if ((info->min_in == info->max_in && nin != info->min_in) ||
      nin < info->min_in)
    return fe_yaml_error(y, inn ? inn : n, "%s takes %s%d operand%s, got %d",
                         opname, info->max_in < 0 ? "at least " : "",
                         info->min_in, info->min_in == 1 ? "" : "s", nin);
  if (info->nout >= 0 && nout != info->nout)
    return fe_yaml_error(y, fe_map_get(y, n, "out", NULL),
                         "%s has %d result%s, got %d names", opname,
                         info->nout, info->nout == 1 ? "" : "s", nout);
  uint32_t id = ir_add_node(g, op, in, (uint32_t)nin, (uint32_t)nout, loc);
  for (int i = 0; i < nout; i++) ir_set_name(g, g->nodes[id].out[i], names[i]);
  for (int i = 0; i < info->nattrs; i++) {
    yaml_node_t *v = fe_map_get(y, n, info->attrs[i].key, NULL);
    if (v && parse_attr(y, g, id, &info->attrs[i], i, v)) return -1;
  }
  return ir_infer(g, id, y->d);
}

int fe_graph_form(FeYaml *y, FeModel *m, yaml_node_t *root) {
  Graph *g = m->g;
  static const char *const graph_keys[] = {"dims", "inputs", "weights",
                                           "nodes", "outputs", NULL};
  static const char *const graph_required[] = {"inputs", "nodes", "outputs",
                                               NULL};
  if (fe_map_get(y, root, "family", NULL)) {
    yaml_node_t *k;
    fe_map_get(y, root, "family", &k);
    return fe_yaml_error(y, k, "a model has either 'graph:' or 'family:', "
                               "not both");
  }
  if (fe_check_map(y, root, "the model", fe_graph_form_keys, NULL)) return -1;
  yaml_node_t *name = fe_map_get(y, root, "name", NULL);
  if (name) {
    const char *s;
    if (fe_get_str(y, name, "name", &s)) return -1;
    g->name = ir_strdup(g->arena, s);
  } else {
    const char *base = strrchr(y->file, '/');
    base = base ? base + 1 : y->file;
    const char *dot = strrchr(base, '.');
    g->name = ir_strndup(g->arena, base, dot ? (size_t)(dot - base) : strlen(base));
  }
  if (fe_parse_weight_source(y, m, fe_map_get(y, root, "weights", NULL)) ||
      fe_parse_dtype(y, m, fe_map_get(y, root, "dtype", NULL)))
    return -1;
  yaml_node_t *gn = fe_map_get(y, root, "graph", NULL);
  if (fe_check_map(y, gn, "graph", graph_keys, graph_required)) return -1;
  yaml_node_t *dims = fe_map_get(y, gn, "dims", NULL);
  if (dims && parse_dims(y, g, dims)) return -1;
  if (parse_sources(y, g, fe_map_get(y, gn, "inputs", NULL), OP_INPUT))
    return -1;
  yaml_node_t *w = fe_map_get(y, gn, "weights", NULL);
  if (w && parse_sources(y, g, w, OP_WEIGHT)) return -1;
  yaml_node_t *nodes = fe_map_get(y, gn, "nodes", NULL);
  int nn = fe_seq_len(y, nodes, "nodes");
  if (nn < 0) return -1;
  for (int i = 0; i < nn; i++)
    if (parse_node(y, g, fe_seq_item(y, nodes, i), i)) return -1;
  yaml_node_t *outs[64];
  yaml_node_t *on = fe_map_get(y, gn, "outputs", NULL);
  int no = list_or_one(y, on, "outputs", outs, 64);
  if (no < 0) return -1;
  if (no == 0) return fe_yaml_error(y, on, "outputs must name at least one value");
  for (int i = 0; i < no; i++) {
    uint32_t v;
    if (lookup_value(y, g, outs[i], &v)) return -1;
    for (uint32_t j = 0; j < g->n_outputs; j++)
      if (g->outputs[j] == v)
        return fe_yaml_error(y, outs[i], "output '%s' is listed twice",
                             g->values[v].name);
    ir_add_output(g, v);
  }
  return 0;
}
