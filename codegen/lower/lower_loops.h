/* lower_loops.h — the loop builders the per-op lowerings share (inside
 * codegen/lower/ only): sizes as monomials, W-wide passes with a scalar
 * tail, strided nests, elementwise maps (lower_loops.c). */
#ifndef LOOM_CODEGEN_LOWER_LOOPS_H
#define LOOM_CODEGEN_LOWER_LOOPS_H

#include "codegen/lower/lower.h"

/* Kernels touching fewer elements stay serial: waking a thread team costs
 * more than the work. */
#define PAR_MIN_WORK 32768
/* Elements per iteration of a flat parallel loop (a multiple of any
 * vector width). */
#define PAR_BLOCK 4096

/* c · s[0] · s[1] · … (symbols sorted): an extent or a stride.  Merging
 * loops compares these, so [S, 64] and [64·S] are recognized as one walk. */
#define MONO_SYMS 16
typedef struct {
  int64_t c;
  int n;
  int32_t s[MONO_SYMS];
} Mono;

/* [lo, mid) in steps of W, then [mid, hi) one by one. */
typedef struct {
  uint32_t lo, mid, hi;
  int W;
} Span;

/* Emits the body for element j (lanes W, or 1 in the tail). */
typedef void (*StripFn)(Lower *L, void *ctx, uint32_t j, int lanes);

/* Returns the accumulator updated with element j (lanes W, or 1). */
typedef uint32_t (*AccFn)(Lower *L, void *ctx, uint32_t acc, uint32_t j,
                          int lanes);

/* result = fn(operands…) for one element (lanes wide). */
typedef uint32_t (*ValFn)(Lower *L, const Node *n, const uint32_t *in,
                          int lanes);

#define NEST_OPS 3

/* A box of loops over the result: buffer 0 is written, 1.. are read;
 * element (i0, i1, …) of buffer b is at base[b] + Σ i_d · stride[b][d]. */
typedef struct {
  int rank;
  Mono ext[IR_MAX_RANK];
  int nops;
  uint32_t param[NEST_OPS];
  Mono stride[NEST_OPS][IR_MAX_RANK];
  uint32_t base[NEST_OPS]; /* i64 expression */
  ValFn fn;
  const Node *node;
} Nest;

/* The innermost loop of a nest: buffers' row bases and how each walks. */
typedef struct {
  const Nest *nt;
  uint32_t base[NEST_OPS];
  uint32_t stride[NEST_OPS]; /* i64 expression of the inner stride */
  uint32_t bscalar[NEST_OPS], bvec[NEST_OPS]; /* broadcast operands */
} Row;

/* What the per-element emitters of the ops below read. */
typedef struct {
  uint32_t dst, src, gamma, beta; /* buffer params */
  uint32_t dbase, sbase;          /* i64: row (or column) bases */
  uint32_t m, mean, inv;          /* f32 scalars of the row */
  uint32_t eps, nf;               /* f32 constants: eps, the axis length */
  uint32_t len, inner;            /* i64: strided reductions' L and stride */
  uint32_t keep, kbase;           /* masked mean: keep's buffer, slab's row */
  double fill;
} Ctx;


Mono lw_mono(int64_t c);
Mono lw_mono_dim(Dim d);
Mono lw_mono_mul(Mono a, Mono b);
bool lw_mono_eq(const Mono *a, const Mono *b);
bool lw_mono_is(const Mono *a, int64_t c);
/* Largest value, symbols at their bounds (a double: no overflow). */
double lw_mono_max(const Lower *L, const Mono *a);
uint32_t lw_mono_expr(Lower *L, const Mono *a);
/* Product of dims [from, to) of s. */
Mono lw_mono_dims(const Shape *s, int from, int to);
/* Row-major strides of s. */
void lw_mono_strides(const Shape *s, Mono *st);
const Shape *lw_shape_of(const Lower *L, uint32_t value);
int lw_axis_attr(const Lower *L, const Node *n, int rank);
/* The same i64 value: one expression, or equal constants. */
bool lw_same_i64(Kernel *k, uint32_t a, uint32_t b);
bool lw_empty_range(Kernel *k, uint32_t lo, uint32_t hi);
/* An i64 expression bound to a variable unless it is a constant or
 * already a variable. */
uint32_t lw_let_i64(Kernel *k, const char *name, uint32_t e);
uint32_t lw_splat(Kernel *k, double v, int lanes);
uint32_t lw_vbin(Kernel *k, KOp op, uint32_t a, uint32_t b);
/* A value bound to a variable: kmath's functions read their argument many
 * times, and the printers would repeat a whole expression each time. */
uint32_t lw_let_v(Kernel *k, const char *name, uint32_t e);
/* A count (i64) as f32: exact below 2^24. */
uint32_t lw_f32_of(Kernel *k, uint32_t e);
/* An index (i64) as f64, through i32 and f32: exact below 2^24. */
uint32_t lw_f64_of(Kernel *k, uint32_t e);
Span lw_span(Lower *L, int W, uint32_t lo, uint32_t hi);
void lw_strips(Lower *L, Span s, bool parallel, StripFn fn, void *ctx);
/* op (KO_ADD, KO_MAX) over the span of fn's values, starting from init:
 * a vector accumulator over the W-wide part, reduced across its lanes,
 * then the scalar tail.  Returns the scalar result (f32). */
uint32_t lw_reduce_strips(Lower *L, Span s, KOp op, double init,
                              AccFn fn, void *ctx, const char *name);
/* A nest over `shape` written row-major to buffer `param`. */
void lw_nest_init(Lower *L, Nest *nt, uint32_t param, const Shape *shape,
                      ValFn fn, const Node *n);
void lw_nest_operand(Lower *L, Nest *nt, uint32_t param,
                         const Mono *strides, uint32_t base);
/* Drop loops of extent 1; merge loop d into the loop before it when every
 * buffer walks the two as one. */
void lw_nest_simplify(Nest *nt);
void lw_row_elem(Lower *L, void *ctx, uint32_t j, int lanes);
void lw_nest_emit(Lower *L, Nest *nt);
/* x [...] -> out [...] elementwise (reshape: the same elements in order),
 * as one flat loop */
void lw_map(Lower *L, const Node *n, ValFn fn);
/* Strides of an operand of shape s read at every index of a result of
 * shape out, NumPy-broadcast: missing and size-1 dims walk with stride 0. */
void lw_bcast_strides(const Shape *s, const Shape *out, Mono *st);
/* a [A...], b [B...] -> out [broadcast(A, B)]: fn(a, b) */
void lw_binary(Lower *L, const Node *n, ValFn fn);

/* lower_reduce.c */
void lw_layernorm(Lower *L, const Node *n);
void lw_axis_reduction(Lower *L, const Node *n);

#endif
