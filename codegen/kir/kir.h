/* kir.h — the Kernel IR: loop nests over buffers, with scalar and explicit
 * vector operations.
 *
 * Graph IR nodes lower to kernels (codegen/lower/); both backends — the C
 * emitter and the LLVM builder — print this one IR, so no op is ever written
 * twice.  A kernel is a function of buffer parameters (row-major element
 * arrays) and i64 parameters (the values of symbolic dimensions); its body
 * is a tree of statements over typed expressions:
 *
 *   for i = lo to hi step s [parallel] { ... }     KS_FOR
 *   v = expr                                       KS_LET   (declares v)
 *   v <- expr                                      KS_SET   (v declared)
 *   buf[idx : lanes] <- expr                       KS_STORE
 *   if (cond) return code                          KS_CHECK
 *   prefetch buf[idx]                              KS_PREFETCH
 *
 * KS_CHECK records `code` as the kernel's result and skips the rest of the
 * innermost enclosing loop's body (returning at once outside loops): a
 * parallel loop cannot return early, and skipping keeps a bad index from
 * being used.  The kernel returns the code once its loops are done.
 *
 * Every expression has a type: a scalar kind (i64 for indices, i32, f32,
 * f64, bool) and a lane count (1 = scalar, W = a vector of the target's
 * width; bool with W lanes is a per-lane mask).  Vector operations are
 * explicit: a load or store of W consecutive elements, a broadcast of a
 * scalar, elementwise arithmetic, fma, compare and select, and horizontal
 * reductions.  There are no implicit conversions.
 *
 * Math that is not a machine instruction (exp, erf, tanh) is built from
 * these primitives by codegen/kir/kmath.c, so it is the same in every backend.
 *
 * Expressions and statements live in per-kernel arrays and refer to each
 * other by index (uint32_t).  A statement list is a chain through `next`.
 * Printing is deterministic: two kernels are the same kernel exactly when
 * they print the same (which is how layers share their kernels).
 */
#ifndef LOOM_CODEGEN_KIR_H
#define LOOM_CODEGEN_KIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define K_NONE UINT32_MAX
#define K_MAX_ARGS 4

typedef enum { KT_I64, KT_I32, KT_F32, KT_F64, KT_BOOL } KScalar;

typedef struct {
  uint8_t scalar; /* KScalar */
  uint8_t lanes;  /* 1: scalar; >1: vector */
} KType;

static inline KType kt(KScalar s, int lanes) {
  return (KType){(uint8_t)s, (uint8_t)lanes};
}
static inline bool kt_eq(KType a, KType b) {
  return a.scalar == b.scalar && a.lanes == b.lanes;
}

typedef enum {
  KE_CONST,     /* i (integers, bool) or f (floats); scalar */
  KE_VAR,       /* a local or loop variable: var */
  KE_PARAM,     /* an i64 parameter: param */
  KE_LOAD,      /* param[a0 : lanes] (buffer, element index) */
  KE_BROADCAST, /* a0 (scalar) to every lane */
  KE_UNARY,     /* op(a0) */
  KE_BINARY,    /* op(a0, a1) */
  KE_FMA,       /* a0 * a1 + a2, fused */
  KE_SELECT,    /* a0 ? a1 : a2 (a0 bool, lane by lane) */
  KE_REDUCE,    /* op over the lanes of a0 (KO_ADD, KO_MAX, KO_MIN) */
  KE_CONVERT,   /* value conversion to type (f32<->i32 rounds toward zero,
                   i32<->i64, f32<->f64) */
  KE_BITCAST,   /* same bits, other type of the same size (f32<->i32) */
  KE_CALL,      /* libm: name(a0[, a1]), scalar f64 or f32 */
  KE_DOTBF16,   /* a0 + lo(a1)·lo(a2) + hi(a1)·hi(a2), lane by lane: a0
                   f32 x W, a1 and a2 i32 x W each holding two bf16 (low
                   and high 16 bits) — AVX-512-BF16's vdpbf16ps.  Built
                   only for targets with TF_AVX512BF16 at 16 lanes; other
                   kernels spell the same sum with shifts and fma */
} KExprKind;

typedef enum {
  /* unary (sqrt and floor: scalars only) */
  KO_NEG, KO_ABS, KO_SQRT, KO_FLOOR, KO_NOT,
  /* binary, arithmetic: same types in and out */
  KO_ADD, KO_SUB, KO_MUL, KO_DIV, KO_REM, KO_MIN, KO_MAX,
  KO_AND, KO_OR, KO_XOR, /* integers and bools */
  KO_SHL, KO_SHR,        /* integers; shift by a same-typed amount */
  /* binary, compare: bool result with the operands' lanes */
  KO_LT, KO_LE, KO_GT, KO_GE, KO_EQ, KO_NE,
} KOp;

typedef struct {
  KExprKind kind;
  KType type;
  uint8_t op;         /* KOp for UNARY/BINARY/REDUCE */
  uint32_t a[3];      /* operands (expression ids) */
  uint32_t param;     /* KE_PARAM, KE_LOAD: parameter index */
  uint32_t var;       /* KE_VAR */
  int64_t i;          /* KE_CONST integers */
  double f;           /* KE_CONST floats */
  const char *callee; /* KE_CALL: "sin", "cos", "expf", ... */
} KExpr;

typedef enum { KS_FOR, KS_LET, KS_SET, KS_STORE, KS_CHECK, KS_PREFETCH } KStmtKind;

typedef struct {
  KStmtKind kind;
  uint32_t next;   /* next statement in the list, or K_NONE */
  uint32_t var;    /* FOR: induction variable (i64); LET/SET: the variable */
  uint32_t a[3];   /* FOR: lo, hi (exclusive), -; LET/SET: value;
                      STORE: index, value; CHECK: condition (scalar bool);
                      PREFETCH: index */
  int64_t step;    /* FOR: > 0 */
  bool parallel;   /* FOR: iterations are independent (OpenMP, runtime) */
  uint32_t body;   /* FOR: first statement of the body, or K_NONE */
  uint32_t param;  /* STORE, PREFETCH: buffer parameter */
  int code;        /* CHECK: the kernel returns this code when true */
} KStmt;

typedef enum { KP_BUF, KP_I64 } KParamKind;

typedef struct {
  const char *name;
  KParamKind kind;
  KScalar elem;   /* KP_BUF: element type (f32 or i32) */
  bool written;   /* KP_BUF: stored to (otherwise const) */
} KParam;

typedef struct {
  const char *name;
  KType type;
} KVar;

/* A kernel: int NAME(params...) returning 0, or a KS_CHECK code. */
typedef struct Kernel {
  char *name;       /* set when added to a module */
  KParam *params;
  uint32_t n_params, cap_params;
  KVar *vars;
  uint32_t n_vars, cap_vars;
  KExpr *exprs;
  uint32_t n_exprs, cap_exprs;
  KStmt *stmts;
  uint32_t n_stmts, cap_stmts;
  uint32_t body;    /* first statement */
  int lanes;        /* the vector width it was built for */
  char *comment;    /* one line: the op and shapes it computes */
  char *tiles;      /* one line: its tile plan (the `tile` pass), or NULL */
  /* builder state: where the next statement goes, per open loop — the
   * `next` field of statement `stmt`, or its `body` field (stmt K_NONE:
   * the kernel's body).  Kept as indices: the statement array moves. */
  struct {
    uint32_t stmt;
    bool body;
  } cursor[32];
  int depth;
} Kernel;

/* ---- building ----------------------------------------------------------- */

Kernel *k_new(int lanes, const char *comment);
void k_free(Kernel *k);

uint32_t k_param_buf(Kernel *k, const char *name, KScalar elem, bool written);
uint32_t k_param_i64(Kernel *k, const char *name);
/* Whether the kernel loads, stores or prefetches buffer `param` (or reads
 * i64 `param`): write_rows' state operand is passed only to name the
 * memory its output is, and never touched. */
bool k_param_used(const Kernel *k, uint32_t param);

/* Expressions.  Constructors assert that operand types agree. */
uint32_t k_i64(Kernel *k, int64_t v);
uint32_t k_i32(Kernel *k, int32_t v);
uint32_t k_f32(Kernel *k, double v);
uint32_t k_f64(Kernel *k, double v);
uint32_t k_bool(Kernel *k, bool v);
uint32_t k_var(Kernel *k, uint32_t var);
uint32_t k_param(Kernel *k, uint32_t param); /* an i64 parameter's value */
uint32_t k_load(Kernel *k, uint32_t buf, uint32_t index, int lanes);
uint32_t k_broadcast(Kernel *k, uint32_t scalar, int lanes);
uint32_t k_unary(Kernel *k, KOp op, uint32_t a);
uint32_t k_binary(Kernel *k, KOp op, uint32_t a, uint32_t b);
uint32_t k_fma(Kernel *k, uint32_t a, uint32_t b, uint32_t c);
uint32_t k_select(Kernel *k, uint32_t cond, uint32_t a, uint32_t b);
uint32_t k_reduce(Kernel *k, KOp op, uint32_t vec);
uint32_t k_convert(Kernel *k, uint32_t a, KType to);
uint32_t k_bitcast(Kernel *k, uint32_t a, KType to);
uint32_t k_call(Kernel *k, const char *callee, KType type, uint32_t a,
                uint32_t b /* K_NONE for one argument */);
uint32_t k_dotbf16(Kernel *k, uint32_t acc, uint32_t a, uint32_t b);

/* Shorthands for index arithmetic (i64), folding constants. */
uint32_t k_add(Kernel *k, uint32_t a, uint32_t b);
uint32_t k_sub(Kernel *k, uint32_t a, uint32_t b);
uint32_t k_mul(Kernel *k, uint32_t a, uint32_t b);
uint32_t k_muli(Kernel *k, uint32_t a, int64_t c);
uint32_t k_addi(Kernel *k, uint32_t a, int64_t c);
/* a rounded down to a multiple of m (m > 0): a - a % m */
uint32_t k_floor_to(Kernel *k, uint32_t a, int64_t m);
bool k_is_const(const Kernel *k, uint32_t e, int64_t *value);

KType k_type(const Kernel *k, uint32_t e);

/* Statements, appended at the builder's position. */
uint32_t k_let(Kernel *k, const char *name, uint32_t value); /* -> var */
void k_set(Kernel *k, uint32_t var, uint32_t value);
void k_store(Kernel *k, uint32_t buf, uint32_t index, uint32_t value);
void k_check(Kernel *k, uint32_t cond, int code);
/* A hint: the cache line of buf[index] will be read soon — fetched into
 * L2 (prefetcht1), no fault, no effect on values; the index may lie past
 * the end of the buffer. */
void k_prefetch(Kernel *k, uint32_t buf, uint32_t index);
/* Open a loop; statements go into its body until k_end.  Returns the
 * induction variable (use k_var to read it). */
uint32_t k_for(Kernel *k, const char *name, uint32_t lo, uint32_t hi,
               int64_t step, bool parallel);
void k_end(Kernel *k);

/* ---- printing, identity ------------------------------------------------- */

/* The kernel as text, named `name` ("kernel NAME(params) { ... }"). */
char *k_print(const Kernel *k, const char *name); /* malloc'd */
/* A hash of the printed body (independent of the name). */
uint64_t k_hash(const Kernel *k);

#endif
