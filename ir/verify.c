/* verify.c — the Graph IR checker (ir_verify), run between passes.
 *
 * A pass that leaves a graph inconsistent should fail right there, at the
 * node it broke, not three passes later in the C emitter.  ir_verify walks
 * the graph once, in node order, and reports the first problem located at
 * the offending node's source location:
 *
 *   "verify: node 7 (matmul): operand %q defined after use, by node 9"
 *
 * Checks, in the order they are made:
 *   1. dim symbols: named (identifiers), unique, bound >= 1;
 *   2. for each node, in order:
 *      - the op exists; operand count within the op table's range;
 *      - each operand is a valid value whose producer lists it and comes
 *        earlier (so node order is a topological order);
 *      - required attributes (default NULL) are set, lists have data, dims
 *        in attributes name existing symbols;
 *      - result count is the op table's (split: len(sizes) or parts);
 *      - each result value records this node and its position;
 *      - sources (input, weight) have names; names are identifiers (so the
 *        text form can read them back) and unique;
 *      - result dtypes valid, ranks <= IR_MAX_RANK, dims name symbols;
 *      - the op's shape rule, re-run, gives the recorded dtypes and shapes;
 *   3. every value is a result of the node it records (no strays);
 *   4. the graph has outputs, and they are valid values.
 *
 * The shape rule (ir_infer) writes its results into the graph's values, and
 * the graph is const here: it runs on a scratch Graph that shares nodes,
 * symbols and arena but has a private copy of the values array.  Since the
 * check stops at the first difference, the copy and the real values agree
 * for every node before the current one.
 */
#include "ir/ir.h"

#include <inttypes.h>
#include <string.h>

typedef struct {
  const Graph *g;
  Diag *d;
  Graph scratch;       /* g with a private values array */
  const char **names;  /* open-addressing set of value names */
  uint32_t *name_node; /* ... and the node that defined each */
  size_t cap_names;
} Verifier;

/* "%q" for a named value, "value 17" for an unnamed one. */
static const char *vname(const Graph *g, uint32_t v, char *buf, size_t cap) {
  if (v < g->n_values && g->values[v].name)
    snprintf(buf, cap, "%%%s", g->values[v].name);
  else
    snprintf(buf, cap, "value %" PRIu32, v);
  return buf;
}

static void type_text(const Graph *g, const Value *v, char *buf, size_t cap) {
  char shape[512];
  ir_format_shape(g, &v->shape, shape, sizeof shape);
  snprintf(buf, cap, "%s%s", ir_dtype_name(v->dtype), shape);
}

__attribute__((format(printf, 3, 4))) static int node_err(Verifier *V,
                                                          uint32_t id,
                                                          const char *fmt,
                                                          ...) {
  const Node *n = &V->g->nodes[id];
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (n->op < OP_COUNT)
    return ir_errorf(V->d, n->loc, "verify: node %" PRIu32 " (%s): %s", id,
                     ir_op_info(n->op)->name, msg);
  return ir_errorf(V->d, n->loc, "verify: node %" PRIu32 ": %s", id, msg);
}

/* Names print as %name and dim symbols as bare words in the text form, which
 * reads them back only if they are [A-Za-z_][A-Za-z0-9_.]*. */
static bool is_identifier(const char *s) {
  if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
    return false;
  for (s++; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
          (*s >= '0' && *s <= '9') || *s == '_' || *s == '.'))
      return false;
  return true;
}

static bool valid_dim(const Graph *g, Dim d) {
  return d.sym < 0 || (uint32_t)d.sym < g->n_syms;
}

/* Is v a value whose recorded producer lists it as that result? */
static bool produced(const Graph *g, uint32_t v) {
  const Value *val = &g->values[v];
  return val->node < g->n_nodes && val->index < g->nodes[val->node].nout &&
         g->nodes[val->node].out[val->index] == v;
}

/* Record name for node id; returns the earlier node if taken. */
static uint32_t name_add(Verifier *V, const char *name, uint32_t id) {
  size_t mask = V->cap_names - 1;
  for (size_t i = ir_hash_str(name) & mask;; i = (i + 1) & mask) {
    if (!V->names[i]) {
      V->names[i] = name;
      V->name_node[i] = id;
      return IR_NONE;
    }
    if (strcmp(V->names[i], name) == 0) return V->name_node[i];
  }
}

static int check_syms(Verifier *V) {
  const Graph *g = V->g;
  for (uint32_t i = 0; i < g->n_syms; i++) {
    const Sym *s = &g->syms[i];
    if (!s->name || !s->name[0])
      return ir_errorf(V->d, s->loc,
                       "verify: dim symbol %" PRIu32 " has no name", i);
    if (!is_identifier(s->name))
      return ir_errorf(V->d, s->loc,
                       "verify: dim name '%s' is not an identifier "
                       "([A-Za-z_][A-Za-z0-9_.]*)",
                       s->name);
    if (s->bound < 1)
      return ir_errorf(V->d, s->loc,
                       "verify: dim %s has bound %" PRId64
                       "; it must be at least 1",
                       s->name, s->bound);
    for (uint32_t j = 0; j < i; j++)
      if (g->syms[j].name && strcmp(g->syms[j].name, s->name) == 0)
        return ir_errorf(V->d, s->loc, "verify: dim %s is declared twice",
                         s->name);
  }
  return 0;
}

static int check_operands(Verifier *V, uint32_t id) {
  const Graph *g = V->g;
  const Node *n = &g->nodes[id];
  const OpInfo *info = ir_op_info(n->op);
  char a[300];
  if ((int)n->nin < info->min_in ||
      (info->max_in >= 0 && (int)n->nin > info->max_in)) {
    if (info->max_in < 0)
      return node_err(V, id, "%" PRIu32 " operands, expected at least %d",
                      n->nin, info->min_in);
    if (info->min_in == info->max_in)
      return node_err(V, id, "%" PRIu32 " operands, expected %d", n->nin,
                      info->min_in);
    return node_err(V, id, "%" PRIu32 " operands, expected %d to %d", n->nin,
                    info->min_in, info->max_in);
  }
  if (n->nin && !n->in) return node_err(V, id, "operand array is missing");
  for (uint32_t k = 0; k < n->nin; k++) {
    uint32_t v = n->in[k];
    if (v >= g->n_values)
      return node_err(V, id,
                      "operand %" PRIu32 " is value %" PRIu32
                      ", but the graph has %" PRIu32 " values",
                      k, v, g->n_values);
    if (!produced(g, v))
      return node_err(V, id,
                      "operand %s has no producer (it records node %" PRIu32
                      ", result %" PRIu32 ")",
                      vname(g, v, a, sizeof a), g->values[v].node,
                      g->values[v].index);
    if (g->values[v].node >= id)
      return node_err(V, id, "operand %s defined after use, by node %" PRIu32,
                      vname(g, v, a, sizeof a), g->values[v].node);
  }
  return 0;
}

static int check_attrs(Verifier *V, uint32_t id) {
  const Graph *g = V->g;
  const Node *n = &g->nodes[id];
  const OpInfo *info = ir_op_info(n->op);
  for (int i = 0; i < info->nattrs; i++) {
    const AttrSpec *s = &info->attrs[i];
    const Attr *at = &n->attr[i];
    if (!at->set) {
      if (!s->dflt)
        return node_err(V, id, "required attribute '%s' is not set", s->key);
      continue;
    }
    if ((s->kind == AK_INTS || s->kind == AK_DIMS) &&
        (at->n < 0 || (at->n > 0 && !(s->kind == AK_INTS ? (void *)at->ints
                                                         : (void *)at->dims))))
      return node_err(V, id, "attribute '%s' has %d entries but no data",
                      s->key, at->n);
    if (s->kind == AK_DIM && !valid_dim(g, at->dim))
      return node_err(V, id,
                      "attribute '%s' refers to dim symbol %" PRId32
                      ", but the graph has %" PRIu32,
                      s->key, at->dim.sym, g->n_syms);
    if (s->kind == AK_DIMS)
      for (int k = 0; k < at->n; k++)
        if (!valid_dim(g, at->dims[k]))
          return node_err(V, id,
                          "attribute '%s' refers to dim symbol %" PRId32
                          ", but the graph has %" PRIu32,
                          s->key, at->dims[k].sym, g->n_syms);
  }
  return 0;
}

static int check_results(Verifier *V, uint32_t id) {
  const Graph *g = V->g;
  const Node *n = &g->nodes[id];
  const OpInfo *info = ir_op_info(n->op);
  char a[300];
  int64_t want = info->nout;
  if (n->op == OP_SPLIT) {
    const Attr *sizes = ir_get_attr(n, "sizes"),
               *parts = ir_get_attr(n, "parts");
    if (sizes->set == parts->set)
      return node_err(V, id, "exactly one of 'sizes' and 'parts' must be set");
    want = sizes->set ? sizes->n : parts->i;
  }
  if (want != (int64_t)n->nout)
    return node_err(V, id, "%" PRIu32 " results, expected %" PRId64, n->nout,
                    want);
  if (n->nout && !n->out) return node_err(V, id, "result array is missing");
  for (uint32_t k = 0; k < n->nout; k++) {
    uint32_t v = n->out[k];
    if (v >= g->n_values)
      return node_err(V, id,
                      "result %" PRIu32 " is value %" PRIu32
                      ", but the graph has %" PRIu32 " values",
                      k, v, g->n_values);
    const Value *val = &g->values[v];
    if (val->node != id || val->index != k)
      return node_err(V, id,
                      "result %" PRIu32 " (%s) records node %" PRIu32
                      ", result %" PRIu32,
                      k, vname(g, v, a, sizeof a), val->node, val->index);
    if (!val->name && (info->flags & OPF_SOURCE))
      return node_err(V, id,
                      "result has no name (inputs and weights are named)");
    if (val->name && !is_identifier(val->name))
      return node_err(V, id,
                      "name '%s' is not an identifier "
                      "([A-Za-z_][A-Za-z0-9_.]*)",
                      val->name);
    if (val->name) {
      uint32_t other = name_add(V, val->name, id);
      if (other != IR_NONE)
        return node_err(V, id, "name %%%s is already used by node %" PRIu32,
                        val->name, other);
    }
    if (val->dtype >= DT_COUNT)
      return node_err(V, id, "result %s has an invalid dtype %d",
                      vname(g, v, a, sizeof a), (int)val->dtype);
    if (val->shape.rank < 0 || val->shape.rank > IR_MAX_RANK)
      return node_err(V, id, "result %s has rank %d (at most %d)",
                      vname(g, v, a, sizeof a), val->shape.rank, IR_MAX_RANK);
    for (int i = 0; i < val->shape.rank; i++)
      if (!valid_dim(g, val->shape.d[i]))
        return node_err(V, id,
                        "result %s: dimension %d refers to dim symbol %" PRId32
                        ", but the graph has %" PRIu32,
                        vname(g, v, a, sizeof a), i, val->shape.d[i].sym,
                        g->n_syms);
  }
  return 0;
}

/* Re-run the shape rule on the scratch graph and compare. */
static int check_shapes(Verifier *V, uint32_t id) {
  const Graph *g = V->g;
  const Node *n = &g->nodes[id];
  Diag rule = {0};
  if (ir_infer(&V->scratch, id, &rule)) {
    /* The rule's message is "LOC: error: op: text\n  source\n  ^"; keep
     * "text", which node_err locates and prefixes again. */
    const char *m = strstr(rule.msg, "error: ");
    m = m ? m + 7 : rule.msg;
    const char *op = ir_op_info(n->op)->name;
    size_t oplen = strlen(op);
    if (strncmp(m, op, oplen) == 0 && strncmp(m + oplen, ": ", 2) == 0)
      m += oplen + 2;
    size_t len = strcspn(m, "\n");
    return node_err(V, id, "shape rule fails: %.*s", (int)len, m);
  }
  for (uint32_t k = 0; k < n->nout; k++) {
    const Value *rec = &g->values[n->out[k]];
    Value *inf = &V->scratch.values[n->out[k]];
    if (rec->dtype != inf->dtype || !ir_shape_eq(&rec->shape, &inf->shape)) {
      char a[300], t1[600], t2[600];
      type_text(g, rec, t1, sizeof t1);
      type_text(g, inf, t2, sizeof t2);
      return node_err(V, id,
                      "result %s is recorded as %s but the shape rule gives %s",
                      vname(g, n->out[k], a, sizeof a), t1, t2);
    }
  }
  return 0;
}

static int check_node(Verifier *V, uint32_t id) {
  const Node *n = &V->g->nodes[id];
  if (n->op >= OP_COUNT) return node_err(V, id, "unknown op %d", (int)n->op);
  if (check_operands(V, id) || check_attrs(V, id) || check_results(V, id) ||
      check_shapes(V, id))
    return -1;
  return 0;
}

static int check_values_and_outputs(Verifier *V) {
  const Graph *g = V->g;
  char a[300];
  for (uint32_t v = 0; v < g->n_values; v++)
    if (!produced(g, v)) {
      const Value *val = &g->values[v];
      Loc loc = val->node < g->n_nodes ? g->nodes[val->node].loc : (Loc){0};
      return ir_errorf(V->d, loc,
                       "verify: %s records node %" PRIu32 ", result %" PRIu32
                       ", which is not it",
                       vname(g, v, a, sizeof a), val->node, val->index);
    }
  if (g->n_outputs == 0)
    return ir_errorf(V->d, (Loc){0}, "verify: graph \"%s\" has no outputs",
                     g->name ? g->name : "");
  for (uint32_t i = 0; i < g->n_outputs; i++)
    if (g->outputs[i] >= g->n_values)
      return ir_errorf(V->d, (Loc){0},
                       "verify: output %" PRIu32 " is value %" PRIu32
                       ", but the graph has %" PRIu32 " values",
                       i, g->outputs[i], g->n_values);
  /* A state written in place: the write is its only reader (anything
   * else would read it before or after the write depending on the
   * order), and neither the state nor the write's result is an output
   * (an output is the caller's own buffer, the state is another). */
  uint32_t *writer = malloc((g->n_values ? g->n_values : 1) * sizeof *writer);
  IR_ASSERT(writer);
  for (uint32_t v = 0; v < g->n_values; v++) writer[v] = IR_NONE;
  for (uint32_t i = 0; i < g->n_nodes; i++)
    if (g->nodes[i].op == OP_WRITE_ROWS && g->nodes[i].nin == 2)
      writer[g->nodes[i].in[0]] = i;
  int rc = 0;
  for (uint32_t i = 0; i < g->n_nodes && !rc; i++) {
    const Node *n = &g->nodes[i];
    for (uint32_t k = 0; k < n->nin && !rc; k++) {
      uint32_t w = writer[n->in[k]];
      if (w != IR_NONE && w != i)
        rc = ir_errorf(V->d, n->loc, "verify: node %" PRIu32 " reads state %s, "
                       "which node %" PRIu32 " writes in place; read the "
                       "write's result", i, vname(g, n->in[k], a, sizeof a), w);
    }
    if (!rc && n->op == OP_WRITE_ROWS && ir_is_output(g, n->out[0]))
      rc = ir_errorf(V->d, n->loc, "verify: the result of write_rows is a "
                     "state, not an output");
  }
  free(writer);
  if (rc) return rc;
  /* Each output is the caller's own buffer: one value cannot be two. */
  for (uint32_t i = 0; i < g->n_outputs; i++)
    for (uint32_t j = 0; j < i; j++)
      if (g->outputs[i] == g->outputs[j]) {
        char vn[64];
        return ir_errorf(V->d, (Loc){0},
                         "verify: %s is returned twice (outputs %" PRIu32
                         " and %" PRIu32 ")",
                         vname(g, g->outputs[i], vn, sizeof vn), j, i);
      }
  return 0;
}

int ir_verify(const Graph *g, Diag *d) {
  Verifier V = {.g = g, .d = d};
  V.scratch = *g;
  V.scratch.values =
      malloc((g->n_values ? g->n_values : 1) * sizeof *g->values);
  IR_ASSERT(V.scratch.values);
  if (g->n_values)
    memcpy(V.scratch.values, g->values, g->n_values * sizeof *g->values);
  V.cap_names = 16;
  while (V.cap_names < 2 * (size_t)g->n_values) V.cap_names *= 2;
  V.names = calloc(V.cap_names, sizeof *V.names);
  V.name_node = calloc(V.cap_names, sizeof *V.name_node);
  IR_ASSERT(V.names && V.name_node);

  int rc = check_syms(&V);
  for (uint32_t i = 0; !rc && i < g->n_nodes; i++) rc = check_node(&V, i);
  if (!rc) rc = check_values_and_outputs(&V);

  free(V.scratch.values);
  free(V.names);
  free(V.name_node);
  return rc ? -1 : 0;
}
