/* graph.c — the op table, the arena and building Graph IR.
 *
 * The op table is ops.def expanded twice: once into OpInfo (name, arity,
 * flags) and once into the attribute schemas of each op.  Graphs keep their
 * strings and small lists in an arena freed with the graph; nodes, values,
 * symbols and outputs are growable arrays addressed by index.
 */
#include "ir/ir.h"

#include <string.h>

/* ---- op table ----------------------------------------------------------- */

static OpInfo op_table[OP_COUNT] = {
#define OP(name, text, min_in, max_in, nout, flags) \
  [OP_##name] = {text, min_in, max_in, nout, flags, 0, {{0}}},
#include "ir/ops.def"
};

static const struct {
  Op op;
  AttrSpec spec;
} attr_table[] = {
#define ATTR(op, key, kind, dflt) {OP_##op, {key, kind, dflt}},
#include "ir/ops.def"
};

static void op_table_init(void) {
  static int done;
  if (done) return;
  for (size_t i = 0; i < sizeof attr_table / sizeof attr_table[0]; i++) {
    OpInfo *info = &op_table[attr_table[i].op];
    IR_ASSERT(info->nattrs < IR_MAX_ATTRS);
    info->attrs[info->nattrs++] = attr_table[i].spec;
  }
  done = 1;
}

const OpInfo *ir_op_info(Op op) {
  IR_ASSERT(op < OP_COUNT);
  op_table_init();
  return &op_table[op];
}

Op ir_op_lookup(const char *name) {
  for (int op = 0; op < OP_COUNT; op++)
    if (strcmp(op_table[op].name, name) == 0) return (Op)op;
  return OP_COUNT;
}

int ir_attr_index(Op op, const char *key) {
  const OpInfo *info = ir_op_info(op);
  for (int i = 0; i < info->nattrs; i++)
    if (strcmp(info->attrs[i].key, key) == 0) return i;
  return -1;
}

/* ---- dtypes ------------------------------------------------------------- */

uint16_t ir_bf16_round(float x) {
  union { float f; uint32_t u; } v = {x};
  if ((v.u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((v.u >> 16) | 0x40);
  return (uint16_t)((v.u + 0x7fffu + ((v.u >> 16) & 1)) >> 16);
}

static const char *dtype_names[DT_COUNT] = {"f32", "i32", "f16", "bf16"};
static const size_t dtype_sizes[DT_COUNT] = {4, 4, 2, 2};

const char *ir_dtype_name(DType t) {
  IR_ASSERT(t < DT_COUNT);
  return dtype_names[t];
}

int ir_dtype_lookup(const char *name) {
  for (int t = 0; t < DT_COUNT; t++)
    if (strcmp(dtype_names[t], name) == 0) return t;
  return -1;
}

size_t ir_dtype_size(DType t) {
  IR_ASSERT(t < DT_COUNT);
  return dtype_sizes[t];
}

/* ---- arena -------------------------------------------------------------- */

typedef struct Chunk {
  struct Chunk *next;
  size_t used, cap;
  _Alignas(16) unsigned char mem[];
} Chunk;

struct Arena {
  Chunk *head;
};

Arena *ir_arena_new(void) {
  Arena *a = calloc(1, sizeof *a);
  IR_ASSERT(a);
  return a;
}

void ir_arena_free(Arena *a) {
  if (!a) return;
  for (Chunk *c = a->head, *next; c; c = next) {
    next = c->next;
    free(c);
  }
  free(a);
}

void *ir_alloc(Arena *a, size_t n) {
  n = (n + 15) & ~(size_t)15;
  if (n > 65536) {
    /* A block of its own from calloc, whose big blocks are fresh pages
     * the kernel zeroes as they are first touched: no memset writing all
     * of a packed weight before the packing writes it again.  Kept behind
     * the head, whose room stays in use. */
    Chunk *big = calloc(1, sizeof *big + n);
    IR_ASSERT(big);
    big->used = big->cap = n;
    Chunk **at = a->head ? &a->head->next : &a->head;
    big->next = *at;
    *at = big;
    return big->mem;
  }
  Chunk *c = a->head;
  if (!c || c->cap - c->used < n) {
    size_t cap = n > 65536 ? n : 65536;
    c = malloc(sizeof *c + cap);
    IR_ASSERT(c);
    c->next = a->head;
    c->used = 0;
    c->cap = cap;
    a->head = c;
  }
  void *p = c->mem + c->used;
  c->used += n;
  memset(p, 0, n);
  return p;
}

char *ir_strndup(Arena *a, const char *s, size_t n) {
  char *p = ir_alloc(a, n + 1);
  memcpy(p, s, n);
  p[n] = 0;
  return p;
}

char *ir_strdup(Arena *a, const char *s) {
  return s ? ir_strndup(a, s, strlen(s)) : NULL;
}

/* ---- graphs ------------------------------------------------------------- */

#define GROW(arr, n, cap)                                            \
  do {                                                               \
    if ((n) == (cap)) {                                              \
      (cap) = (cap) ? 2 * (cap) : 16;                                \
      (arr) = realloc((arr), (cap) * sizeof *(arr));                 \
      IR_ASSERT(arr);                                                \
    }                                                                \
  } while (0)

Graph *ir_graph_new(const char *name) {
  op_table_init();
  Graph *g = calloc(1, sizeof *g);
  IR_ASSERT(g);
  g->arena = ir_arena_new();
  g->name = ir_strdup(g->arena, name ? name : "model");
  return g;
}

void ir_graph_free(Graph *g) {
  if (!g) return;
  free(g->nodes);
  free(g->values);
  free(g->syms);
  free(g->outputs);
  free(g->mem_offset);
  free(g->name_index);
  ir_arena_free(g->arena);
  free(g);
}

int32_t ir_add_sym(Graph *g, const char *name, int64_t bound, Loc loc) {
  GROW(g->syms, g->n_syms, g->cap_syms);
  g->syms[g->n_syms] = (Sym){ir_strdup(g->arena, name), bound, loc};
  return (int32_t)g->n_syms++;
}

int32_t ir_find_sym(const Graph *g, const char *name) {
  for (uint32_t i = 0; i < g->n_syms; i++)
    if (strcmp(g->syms[i].name, name) == 0) return (int32_t)i;
  return -1;
}

uint32_t ir_add_node(Graph *g, Op op, const uint32_t *in, uint32_t nin,
                     uint32_t nout, Loc loc) {
  IR_ASSERT(op < OP_COUNT);
  GROW(g->nodes, g->n_nodes, g->cap_nodes);
  uint32_t id = g->n_nodes++;
  Node *n = &g->nodes[id];
  memset(n, 0, sizeof *n);
  n->op = op;
  n->loc = loc;
  n->pos = id;
  n->nin = nin;
  n->nout = nout;
  n->in = ir_alloc(g->arena, (nin ? nin : 1) * sizeof *n->in);
  if (nin) memcpy(n->in, in, nin * sizeof *in);
  n->out = ir_alloc(g->arena, (nout ? nout : 1) * sizeof *n->out);
  for (uint32_t i = 0; i < nout; i++) {
    GROW(g->values, g->n_values, g->cap_values);
    uint32_t v = g->n_values++;
    g->values[v] = (Value){.node = id, .index = i, .dtype = DT_F32};
    g->nodes[id].out[i] = v;
  }
  return id;
}

uint32_t ir_add_source(Graph *g, Op op, const char *name, DType dt,
                       const Shape *shape, Loc loc) {
  IR_ASSERT(ir_op_info(op)->flags & OPF_SOURCE);
  uint32_t id = ir_add_node(g, op, NULL, 0, 1, loc);
  uint32_t v = g->nodes[id].out[0];
  g->values[v].dtype = dt;
  g->values[v].shape = *shape;
  ir_set_name(g, v, name);
  return v;
}

/* ---- the name index ------------------------------------------------------
 *
 * Looking names up by a linear scan made loading a graph of n nodes O(n^2)
 * (every operand is a name).  The index is an open-addressing table of
 * value ids keyed by their names' hash; renaming adds an entry and leaves
 * the old one, which lookups skip because the value's current name no
 * longer matches.  Stale entries go when the table is rebuilt — on growth
 * and in ir_compact, which renumbers values. */

uint64_t ir_hash_str(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

static void index_put(Graph *g, uint32_t v) {
  uint32_t mask = g->name_cap - 1;
  for (uint32_t i = (uint32_t)ir_hash_str(g->values[v].name) & mask;;
       i = (i + 1) & mask)
    if (g->name_index[i] == IR_NONE) {
      g->name_index[i] = v;
      g->name_used++;
      return;
    }
}

/* A table for the values named now, with room to grow. */
void ir_reindex_names(Graph *g) {
  uint32_t named = 0;
  for (uint32_t v = 0; v < g->n_values; v++) named += g->values[v].name != NULL;
  uint32_t cap = 64;
  while (cap < 4 * (named + 1)) cap *= 2;
  free(g->name_index);
  g->name_index = malloc(cap * sizeof *g->name_index);
  IR_ASSERT(g->name_index);
  memset(g->name_index, 0xff, cap * sizeof *g->name_index); /* IR_NONE */
  g->name_cap = cap;
  g->name_used = 0;
  for (uint32_t v = 0; v < g->n_values; v++)
    if (g->values[v].name) index_put(g, v);
}

void ir_rename(Graph *g, uint32_t value, const char *name) {
  IR_ASSERT(value < g->n_values);
  g->values[value].name = name;
  if (!name) return;
  if (2 * (g->name_used + 1) > g->name_cap)
    ir_reindex_names(g); /* drops stale entries, includes this one */
  else
    index_put(g, value);
}

void ir_set_name(Graph *g, uint32_t value, const char *name) {
  ir_rename(g, value, ir_strdup(g->arena, name));
}

uint32_t ir_find_value(const Graph *g, const char *name) {
  if (!g->name_index) return IR_NONE; /* nothing named yet */
  uint32_t mask = g->name_cap - 1, best = IR_NONE;
  for (uint32_t i = (uint32_t)ir_hash_str(name) & mask;
       g->name_index[i] != IR_NONE; i = (i + 1) & mask) {
    uint32_t v = g->name_index[i];
    const char *vn = v < g->n_values ? g->values[v].name : NULL;
    if (vn && v < best && strcmp(vn, name) == 0) best = v;
  }
  return best;
}

void ir_add_output(Graph *g, uint32_t value) {
  IR_ASSERT(value < g->n_values);
  GROW(g->outputs, g->n_outputs, g->cap_outputs);
  g->outputs[g->n_outputs++] = value;
}

uint32_t ir_inputs(const Graph *g, uint32_t *ids, uint32_t cap) {
  uint32_t n = 0;
  for (uint32_t i = 0; i < g->n_nodes; i++)
    if (g->nodes[i].op == OP_INPUT) {
      if (n < cap) ids[n] = g->nodes[i].out[0];
      n++;
    }
  return n;
}

/* ---- attributes --------------------------------------------------------- */

static Attr *attr_slot(Graph *g, uint32_t node, const char *key,
                       AttrKind kind) {
  IR_ASSERT(node < g->n_nodes);
  Node *n = &g->nodes[node];
  int i = ir_attr_index(n->op, key);
  IR_ASSERT(i >= 0);
  IR_ASSERT(ir_op_info(n->op)->attrs[i].kind == kind ||
            (kind == AK_INT && ir_op_info(n->op)->attrs[i].kind == AK_BOOL));
  Attr *a = &n->attr[i];
  memset(a, 0, sizeof *a);
  a->set = true;
  return a;
}

void ir_set_int(Graph *g, uint32_t node, const char *key, int64_t v) {
  attr_slot(g, node, key, AK_INT)->i = v;
}

void ir_set_float(Graph *g, uint32_t node, const char *key, double v) {
  attr_slot(g, node, key, AK_FLOAT)->f = v;
}

void ir_set_ints(Graph *g, uint32_t node, const char *key, const int64_t *v,
                 int n) {
  Attr *a = attr_slot(g, node, key, AK_INTS);
  a->n = n;
  a->ints = ir_alloc(g->arena, (n ? n : 1) * sizeof *v);
  if (n) memcpy(a->ints, v, n * sizeof *v);
}

void ir_set_dims(Graph *g, uint32_t node, const char *key, const Dim *v,
                 int n) {
  Attr *a = attr_slot(g, node, key, AK_DIMS);
  a->n = n;
  a->dims = ir_alloc(g->arena, (n ? n : 1) * sizeof *v);
  if (n) memcpy(a->dims, v, n * sizeof *v);
}

void ir_set_dim(Graph *g, uint32_t node, const char *key, Dim v) {
  attr_slot(g, node, key, AK_DIM)->dim = v;
}

void ir_set_str(Graph *g, uint32_t node, const char *key, const char *v) {
  attr_slot(g, node, key, AK_STR)->s = ir_strdup(g->arena, v);
}

const Attr *ir_get_attr(const Node *n, const char *key) {
  int i = ir_attr_index(n->op, key);
  IR_ASSERT(i >= 0);
  return &n->attr[i];
}

/* The default of an unset attribute, parsed from its text in ops.def. */
static const AttrSpec *attr_spec(const Node *n, const char *key) {
  int i = ir_attr_index(n->op, key);
  IR_ASSERT(i >= 0);
  return &ir_op_info(n->op)->attrs[i];
}

const char *ir_get_str(const Graph *g, const Node *n, const char *key) {
  (void)g;
  const Attr *a = ir_get_attr(n, key);
  if (a->set) return a->s;
  const AttrSpec *s = attr_spec(n, key);
  IR_ASSERT(s->kind == AK_STR && s->dflt);
  return s->dflt;
}

int64_t ir_get_int(const Graph *g, const Node *n, const char *key) {
  (void)g;
  const Attr *a = ir_get_attr(n, key);
  if (a->set) return a->i;
  const AttrSpec *s = attr_spec(n, key);
  IR_ASSERT(s->dflt && s->dflt[0]);
  if (s->kind == AK_BOOL) return strcmp(s->dflt, "true") == 0;
  return strtoll(s->dflt, NULL, 10);
}

Dim ir_get_dim(const Graph *g, const Node *n, const char *key) {
  (void)g;
  const Attr *a = ir_get_attr(n, key);
  if (a->set) return a->dim;
  const AttrSpec *s = attr_spec(n, key);
  IR_ASSERT(s->dflt && s->kind == AK_DIM);
  return ir_dim(s->dflt[0] ? strtoll(s->dflt, NULL, 10) : 0);
}

double ir_get_float(const Graph *g, const Node *n, const char *key) {
  (void)g;
  const Attr *a = ir_get_attr(n, key);
  if (a->set) return a->f;
  const AttrSpec *s = attr_spec(n, key);
  IR_ASSERT(s->dflt && s->dflt[0]);
  return strtod(s->dflt, NULL);
}

/* ---- shapes ------------------------------------------------------------- */

bool ir_shape_eq(const Shape *a, const Shape *b) {
  if (a->rank != b->rank) return false;
  for (int i = 0; i < a->rank; i++)
    if (!ir_dim_eq(a->d[i], b->d[i])) return false;
  return true;
}

Shape ir_shape(int rank, const int64_t *dims) {
  IR_ASSERT(rank >= 0 && rank <= IR_MAX_RANK);
  Shape s = {.rank = rank};
  for (int i = 0; i < rank; i++) s.d[i] = ir_dim(dims[i]);
  return s;
}
