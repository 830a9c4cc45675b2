/* ir.h — the Graph IR.
 *
 * A Graph is a list of nodes in topological order.  Each node is one op of
 * ir/ops.def with operands and results; results are Values, referred to
 * everywhere by index (uint32_t), never by pointer, so that printing,
 * renumbering and rewriting stay simple.  Graph inputs and weights are nodes
 * too (ops `input` and `weight`), so every value has exactly one producer.
 *
 * Shapes are static, or symbolic with an upper bound: a Dim is either a
 * constant `c`, or `c * SYM` for a symbol of the graph (declared as
 * `dims: {S: 256}`), so one graph serves every sequence length up to the
 * bound.  The product form lets reshape move between [S, 512] and
 * [S, 8, 64] and back without losing track of S.
 *
 * Strings and attribute lists live in the graph's arena and die with it; the
 * node and value arrays grow with realloc.
 */
#ifndef LOOM_IR_IR_H
#define LOOM_IR_IR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ir/diag.h"

#define IR_MAX_RANK 8
#define IR_MAX_ATTRS 6
#define IR_NONE UINT32_MAX
#define IR_MAX_SYMS 256 /* symbolic dims of a graph (looked up by name) */

/* ---- ops ---------------------------------------------------------------- */

typedef enum {
#define OP(name, text, min_in, max_in, nout, flags) OP_##name,
#include "ir/ops.def"
  OP_COUNT
} Op;

enum {
  OPF_SOURCE = 1 << 0,      /* no operands: input, weight */
  OPF_ELEMENTWISE = 1 << 1, /* out[i] = f(in[i]) with broadcasting */
  OPF_ACTIVATION = 1 << 2,  /* x -> f(x) elementwise, one operand: what a
                               matmul epilogue may apply (`act`) */
  OPF_MOVES = 1 << 3,       /* moves elements without computing on them:
                               any dtype */
};

typedef enum { AK_INT, AK_FLOAT, AK_BOOL, AK_INTS, AK_DIM, AK_DIMS, AK_STR } AttrKind;

typedef struct {
  const char *key;
  AttrKind kind;
  const char *dflt; /* text form of the default; NULL required; "" none */
} AttrSpec;

typedef struct {
  const char *name;
  int min_in, max_in, nout; /* max_in -1: variadic; nout -1: from attrs */
  unsigned flags;
  int nattrs;
  AttrSpec attrs[IR_MAX_ATTRS];
} OpInfo;

const OpInfo *ir_op_info(Op op);
Op ir_op_lookup(const char *name); /* OP_COUNT when unknown */
int ir_attr_index(Op op, const char *key); /* -1 when op has no such attr */

/* ---- types -------------------------------------------------------------- */

typedef enum { DT_F32, DT_I32, DT_F16, DT_BF16, DT_COUNT } DType;

const char *ir_dtype_name(DType t); /* "f32", "i32", "f16", "bf16" */
int ir_dtype_lookup(const char *name); /* -1 when unknown */
size_t ir_dtype_size(DType t);

/* A dimension: c when sym < 0, else c * symbol `sym` (c >= 1). */
typedef struct {
  int64_t c;
  int32_t sym;
} Dim;

typedef struct {
  int rank;
  Dim d[IR_MAX_RANK];
} Shape;

static inline Dim ir_dim(int64_t c) { return (Dim){c, -1}; }
static inline Dim ir_dim_sym(int32_t sym) { return (Dim){1, sym}; }
static inline bool ir_dim_static(Dim d) { return d.sym < 0; }
static inline bool ir_dim_eq(Dim a, Dim b) { return a.c == b.c && a.sym == b.sym; }
bool ir_shape_eq(const Shape *a, const Shape *b);
Shape ir_shape(int rank, const int64_t *dims); /* all static */

/* A symbolic dimension of the graph. */
typedef struct {
  const char *name;
  int64_t bound; /* 1 <= value <= bound */
  Loc loc;
} Sym;

/* An attribute value; which field is used is the op table's AttrKind. */
typedef struct {
  bool set;     /* false: not given (the default applies, or none) */
  int64_t i;    /* AK_INT, AK_BOOL */
  double f;     /* AK_FLOAT */
  Dim dim;      /* AK_DIM */
  int n;        /* AK_INTS, AK_DIMS: number of entries */
  int64_t *ints;/* AK_INTS (arena) */
  Dim *dims;    /* AK_DIMS (arena); c == -1, sym < 0 stands for "-1" */
  const char *s;/* AK_STR: an identifier (arena); its op's shape rule
                   checks the value */
} Attr;

typedef struct {
  const char *name; /* unique in the graph; NULL: printed as %<index> */
  DType dtype;
  Shape shape;
  uint32_t node;    /* producer */
  uint32_t index;   /* which result of the producer */
  const void *data; /* weights and constants: dtype, in the layout the
                       producer's `layout` says (row-major by default);
                       NULL until weights are bound */
} Value;

typedef struct {
  Op op;
  uint32_t nin, nout;
  uint32_t *in;  /* value ids (arena) */
  uint32_t *out; /* value ids (arena) */
  Attr attr[IR_MAX_ATTRS]; /* in the order of the op's AttrSpecs */
  Loc loc;
  uint32_t pos;  /* sort key for ir_compact: the node's index when added;
                    a pass sets a new node's pos to the node it stands in
                    for, so the graph keeps its reading order */
  bool dead;     /* removed by the next ir_compact */
} Node;

typedef struct Arena Arena;

typedef struct Graph {
  Arena *arena;
  const char *name;
  Node *nodes;
  uint32_t n_nodes, cap_nodes;
  Value *values;
  uint32_t n_values, cap_values;
  Sym *syms;
  uint32_t n_syms, cap_syms;
  uint32_t *outputs; /* value ids of the graph's results, in order */
  uint32_t n_outputs, cap_outputs;
  /* The activation memory plan (passes/plan_memory.c), or NULL: a byte
   * offset per value in one arena (-1 for values that live elsewhere:
   * inputs, outputs, weights, constants; a view has its root's), and the
   * arena's size.  ir_compact drops it. */
  int64_t *mem_offset;
  int64_t mem_bytes;
  /* Value names, indexed for ir_find_value (ir/graph.c): an open-addressing
   * table of value ids, kept by ir_set_name / ir_rename, rebuilt by
   * ir_compact.  An entry whose value has since been renamed is skipped. */
  uint32_t *name_index;
  uint32_t name_cap, name_used;
  /* Within that arena, the region kernels use as scratch (ir/scratch.h),
   * shared by every node that needs one: offset and bytes. */
  int64_t mem_scratch, mem_scratch_bytes;
} Graph;

/* ---- arena -------------------------------------------------------------- */

Arena *ir_arena_new(void);
void ir_arena_free(Arena *a);
void *ir_alloc(Arena *a, size_t n); /* zeroed, 16-byte aligned */
char *ir_strdup(Arena *a, const char *s);
char *ir_strndup(Arena *a, const char *s, size_t n);

/* ---- building ----------------------------------------------------------- */

Graph *ir_graph_new(const char *name);
void ir_graph_free(Graph *g);

/* Declare a symbolic dimension; returns its index. */
int32_t ir_add_sym(Graph *g, const char *name, int64_t bound, Loc loc);
int32_t ir_find_sym(const Graph *g, const char *name); /* -1 when absent */

/* Append a node whose results get fresh values (dtype/shape unset until
 * ir_infer).  `in` has nin value ids.  Attributes are set afterwards through
 * node->attr; names through ir_set_name.  Returns the node id. */
uint32_t ir_add_node(Graph *g, Op op, const uint32_t *in, uint32_t nin,
                     uint32_t nout, Loc loc);
/* Convenience: a source node (input/weight) with a named, typed result;
 * returns the value id. */
uint32_t ir_add_source(Graph *g, Op op, const char *name, DType dt,
                       const Shape *shape, Loc loc);
void ir_set_name(Graph *g, uint32_t value, const char *name);
/* Give `value` the name `name` as it is (not copied: a string of the
 * graph's arena, another value's name, or NULL for none).  Passes rename
 * through this, never by assigning Value.name, so the index stays right. */
void ir_rename(Graph *g, uint32_t value, const char *name);
/* The first value (lowest id) named `name`, or IR_NONE; O(1) expected. */
uint32_t ir_find_value(const Graph *g, const char *name);
/* FNV-1a 64 of a string: the hash of names in every table of loom. */
uint64_t ir_hash_str(const char *s);
/* Rebuild the name index from the values' names (ir_compact does). */
void ir_reindex_names(Graph *g);
void ir_add_output(Graph *g, uint32_t value);

/* Attribute setters (by key; asserts that the op has it). */
void ir_set_int(Graph *g, uint32_t node, const char *key, int64_t v);
void ir_set_float(Graph *g, uint32_t node, const char *key, double v);
void ir_set_ints(Graph *g, uint32_t node, const char *key, const int64_t *v,
                 int n);
void ir_set_dims(Graph *g, uint32_t node, const char *key, const Dim *v, int n);
void ir_set_dim(Graph *g, uint32_t node, const char *key, Dim v);
void ir_set_str(Graph *g, uint32_t node, const char *key, const char *v);
/* Attribute getters with the default applied (asserts on a required attr
 * that is missing; the verifier reports those first). */
int64_t ir_get_int(const Graph *g, const Node *n, const char *key);
double ir_get_float(const Graph *g, const Node *n, const char *key);
/* An AK_DIM attribute; a default (or none) is a static dim (0 for none). */
Dim ir_get_dim(const Graph *g, const Node *n, const char *key);
const char *ir_get_str(const Graph *g, const Node *n, const char *key);
const Attr *ir_get_attr(const Node *n, const char *key); /* set or not */

/* ---- rewriting (ir/rewrite.c) -------------------------------------------- */

/* Every use of value `from` (operands, graph outputs) becomes `to`. */
void ir_replace_uses(Graph *g, uint32_t from, uint32_t to);
/* Operand uses of v, plus one if it is a graph output.  O(nodes): a pass
 * that asks for many values takes ir_use_counts once instead. */
uint32_t ir_use_count(const Graph *g, uint32_t v);
/* ir_use_count of every value: a malloc'd array of g->n_values counts. */
uint32_t *ir_use_counts(const Graph *g);
/* Many ir_replace_uses in one sweep: every use of a value v < n with
 * fwd[v] != IR_NONE becomes fwd[v] (followed to its end, fwd[fwd[v]]...).
 * A pass that replaces as it goes records fwd and calls this once, so it
 * stays linear in the graph's size. */
void ir_forward_uses(Graph *g, const uint32_t *fwd, uint32_t n);
bool ir_is_output(const Graph *g, uint32_t v);
/* Remove dead nodes (and their values), sort the nodes topologically —
 * stable by `pos`, then index — and renumber nodes and values in that
 * order.  Value ids change: callers hold none across it. */
void ir_compact(Graph *g);
/* A value name not yet taken: base, else base.1, base.2, ... (in the
 * graph's arena), for the values a pass creates. */
const char *ir_unique_name(Graph *g, const char *base);
/* A reshape that is not a graph output: a view of its operand's storage
 * (codegen and plan-memory agree on this). */
bool ir_is_view(const Graph *g, const Node *n);

/* ---- shapes ------------------------------------------------------------- */

/* Infer dtypes and shapes of node `id`'s results from its operands and
 * attributes (the op's shape rule).  A mismatch is a user error at the
 * node's location. */
int ir_infer(Graph *g, uint32_t id, Diag *d);

/* Activations (ops flagged OPF_ACTIVATION).  Inside the compiler a matmul
 * epilogue's activation is an op; the attribute `act` keeps the op's name
 * in the IR text (`act = gelu`), or "none".  OP_COUNT stands for none. */
/* The op `name` names: an activation, OP_COUNT for "none"; -1 when it is
 * neither (an unknown name or an op that is not an activation). */
int ir_act_lookup(const char *name, Op *act);
/* matmul node n's epilogue activation, or OP_COUNT. */
Op ir_matmul_act(const Graph *g, const Node *n);
/* The activations' names in op-table order, NULL-terminated (out has room
 * for OP_COUNT + 1); returns how many. */
int ir_act_names(const char **out);
/* A const's `layout`: 0 for row_major, P for panelP, -1 if unknown. */
int ir_layout_panel(const char *layout);
/* P for `pairP` (bf16 only), else 0.  pairP holds a bf16 [K, N] matrix as
 * ceil(N/P) panels of [Kh, P] 32-bit pairs, Kh = ceil(K/2): the pair at
 * (kp, j) carries row kp in its low 16 bits and row kp + Kh in its high
 * 16 bits (zero past K, and past N in the last panel).  Every bf16 matmul
 * kernel reads this one layout (codegen/lower/lower_matmul_bf16.c says why
 * rows kp and kp + Kh, not 2kp and 2kp + 1). */
int ir_layout_pair(const char *layout);
/* Element (k, j) of a pairP matrix with K rows: its index in bf16 units. */
static inline int64_t ir_pair_index(int64_t K, int P, int64_t k, int64_t j) {
  int64_t kh = (K + 1) / 2, hi = k >= kh;
  return (((j / P) * kh + (k - hi * kh)) * P + j % P) * 2 + hi;
}
/* Bytes of a const's data in its layout (panels are zero-padded). */
int64_t ir_const_bytes(const Graph *g, const Value *v, const char *layout);

/* bf16: the high 16 bits of an f32.  ir_bf16_round rounds to nearest,
 * ties to even (NaN stays a quiet NaN) — the one rounding of f32 weights
 * and of a bf16 matmul's activation operand (the interpreter's; the
 * kernels build the same steps in the Kernel IR). */
uint16_t ir_bf16_round(float x);
static inline float ir_bf16_to_f32(uint16_t h) {
  union { uint32_t u; float f; } v = {(uint32_t)h << 16};
  return v.f;
}

/* Text of a dim or shape with symbol names: "S", "8*S", "64"; "[S, 64]". */
void ir_format_dim(const Graph *g, Dim d, char *buf, size_t cap);
void ir_format_shape(const Graph *g, const Shape *s, char *buf, size_t cap);

/* Bytes of a value with its symbolic dimensions at their bounds
 * (saturated: INT64_MAX when the product overflows). */
int64_t ir_bound_bytes(const Graph *g, const Value *v);

/* ---- sizes -------------------------------------------------------------- */

/* The largest tensor, weight blob or activation arena loom accepts, in
 * bytes: 2^40 (1 TiB).  Far beyond any model loom runs, far below where
 * int64 byte offsets (and size_t on the way to malloc) overflow.  Every
 * value's size at its bounds is checked against it when its node's shape
 * rule runs (ir_infer), so products of a checked value's dimensions cannot
 * overflow anywhere later; sums of many values (an arena, a weights blob)
 * are checked where they are made. */
#define IR_MAX_BYTES ((int64_t)1 << 40)

/* a*b and a+b of sizes (a, b >= 0), saturating at INT64_MAX instead of
 * overflowing: a chain of them is compared with IR_MAX_BYTES once. */
static inline int64_t ir_size_mul(int64_t a, int64_t b) {
  int64_t r;
  return __builtin_mul_overflow(a, b, &r) ? INT64_MAX : r;
}
static inline int64_t ir_size_add(int64_t a, int64_t b) {
  int64_t r;
  return __builtin_add_overflow(a, b, &r) ? INT64_MAX : r;
}
/* "too large" as a located error when bytes > IR_MAX_BYTES: "WHAT needs
 * N bytes (with symbolic dimensions at their bounds); loom's limit is 2^40
 * bytes".  Returns 0 when it fits. */
int ir_check_bytes(Diag *d, Loc loc, const char *what, int64_t bytes);

/* Concrete sizes: binding[sym] is each symbol's value.  Returns the
 * number of elements. */
int64_t ir_dim_value(Dim d, const int64_t *binding);
int64_t ir_shape_eval(const Shape *s, const int64_t *binding, int64_t *dims);

/* ---- checking, text form ------------------------------------------------ */

/* Structure, operand counts, attributes, topological order, shapes (by
 * re-running every shape rule), dtypes, uses, unique names. */
int ir_verify(const Graph *g, Diag *d);

/* The text form (see ir/print.c for its grammar).  Printing is
 * deterministic; parse(print(g)) prints byte-identical. */
char *ir_print(const Graph *g); /* malloc'd */
int ir_print_file(const Graph *g, FILE *f);
Graph *ir_parse(const char *text, const char *filename, Diag *d);

/* ---- tensors and the reference interpreter ------------------------------ */

/* A concrete tensor: host memory, row-major. */
typedef struct {
  DType dtype;
  int rank;
  int64_t dims[IR_MAX_RANK];
  void *data;
} Tensor;

int64_t ir_tensor_numel(const Tensor *t);
/* An optional input left out: its numel elements (zeroed by the caller)
 * set to the input's `fill` (1 or 1.0f for fill = 1; 0 leaves them). */
void ir_fill_input(const Graph *g, const Node *input, void *data, int64_t numel);
/* How the generated ABI's IoSpec.optional describes input value v:
 * 0 required, 1 zeros when left out, 2 ones (fill = 1). */
int ir_input_optional_code(const Graph *g, uint32_t v);

/* The table an input's ids index: the first gather that reads input value
 * v as its ids, its table's value id; IR_NONE when no gather does.  Every
 * backend checks such an input's ids against the table's rows before it
 * runs (ir_bind_inputs; runtime/standalone/sa_model.c's bind). */
uint32_t ir_input_table(const Graph *g, uint32_t v);
/* Check every such input's ids (inputs in input-node order, bound by
 * ir_bind_inputs): an id outside its table is an error naming the input,
 * the position and the value.  loom_run calls it for every backend. */
int ir_check_ids(const Graph *g, const Tensor *inputs, const int64_t *binding,
                 Diag *d);

/* Bind symbols from the inputs' concrete shapes: inputs[i] is for the i-th
 * input node (in node order).  Checks ranks, static dims, bounds and that a
 * symbol has one value everywhere.  binding has g->n_syms entries.  An
 * optional input left out (data == NULL) reads as zeros of its declared
 * shape; its symbols must be bound by the other inputs.  A symbol no input
 * binds stays 0 and is reported only where a shape needs it. */
int ir_bind_inputs(const Graph *g, const Tensor *inputs, int n_inputs,
                   int64_t *binding, Diag *d);

/* Evaluate g with plain loops.  inputs in input-node order; outputs[i] for
 * g->outputs[i] are allocated with malloc by the interpreter (dtype, rank,
 * dims filled in).  Weights must have data.  The graph must be well formed
 * (built through ir_infer, parsed, or verified): a kernel that meets
 * inconsistent shapes is a bug in loom and asserts. */
int ir_interp(const Graph *g, const Tensor *inputs, int n_inputs,
              Tensor *outputs, Diag *d);

/* Input nodes in order: their value ids.  Returns the count. */
uint32_t ir_inputs(const Graph *g, uint32_t *ids, uint32_t cap);

#endif
