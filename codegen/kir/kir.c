/* kir.c — building and printing Kernel IR (see kir.h).
 *
 * The builder appends statements at a cursor (the slot where the next
 * statement's id goes, kept as an index since the statement array moves);
 * opening a loop pushes a cursor into the loop's body, k_end pops it.  Expression constructors check types
 * with assertions: a type error here is a bug in a lowering, not a user
 * mistake.
 */
#include "codegen/kir/kir.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ir/diag.h"
#include "ir/strbuf.h"

#define GROW(arr, n, cap)                                  \
  do {                                                     \
    if ((n) == (cap)) {                                    \
      (cap) = (cap) ? 2 * (cap) : 64;                      \
      (arr) = realloc((arr), (size_t)(cap) * sizeof *(arr)); \
      IR_ASSERT(arr);                                      \
    }                                                      \
  } while (0)

Kernel *k_new(int lanes, const char *comment) {
  Kernel *k = calloc(1, sizeof *k);
  IR_ASSERT(k && lanes >= 1 && lanes <= 64);
  k->lanes = lanes;
  k->body = K_NONE;
  k->cursor[0].stmt = K_NONE;
  k->comment = strdup(comment ? comment : "");
  return k;
}

void k_free(Kernel *k) {
  if (!k) return;
  for (uint32_t i = 0; i < k->n_params; i++) free((char *)k->params[i].name);
  for (uint32_t i = 0; i < k->n_vars; i++) free((char *)k->vars[i].name);
  free(k->params);
  free(k->vars);
  free(k->exprs);
  free(k->stmts);
  free(k->comment);
  free(k->tiles);
  free(k->name);
  free(k);
}

static uint32_t add_param(Kernel *k, const char *name, KParamKind kind,
                          KScalar elem, bool written) {
  GROW(k->params, k->n_params, k->cap_params);
  k->params[k->n_params] = (KParam){strdup(name), kind, elem, written};
  return k->n_params++;
}

uint32_t k_param_buf(Kernel *k, const char *name, KScalar elem, bool written) {
  IR_ASSERT(elem == KT_F32 || elem == KT_I32);
  return add_param(k, name, KP_BUF, elem, written);
}

uint32_t k_param_i64(Kernel *k, const char *name) {
  return add_param(k, name, KP_I64, KT_I64, false);
}

/* ---- expressions ---------------------------------------------------------- */

static uint32_t add_expr(Kernel *k, KExpr e) {
  GROW(k->exprs, k->n_exprs, k->cap_exprs);
  k->exprs[k->n_exprs] = e;
  return k->n_exprs++;
}

KType k_type(const Kernel *k, uint32_t e) {
  IR_ASSERT(e < k->n_exprs);
  return k->exprs[e].type;
}

static KExpr ex(KExprKind kind, KType t) {
  KExpr e;
  memset(&e, 0, sizeof e);
  e.kind = kind;
  e.type = t;
  e.a[0] = e.a[1] = e.a[2] = K_NONE;
  e.param = e.var = K_NONE;
  return e;
}

static uint32_t const_int(Kernel *k, KScalar s, int64_t v) {
  KExpr e = ex(KE_CONST, kt(s, 1));
  e.i = v;
  return add_expr(k, e);
}

uint32_t k_i64(Kernel *k, int64_t v) { return const_int(k, KT_I64, v); }
uint32_t k_i32(Kernel *k, int32_t v) { return const_int(k, KT_I32, v); }
uint32_t k_bool(Kernel *k, bool v) { return const_int(k, KT_BOOL, v); }

static uint32_t const_float(Kernel *k, KScalar s, double v) {
  KExpr e = ex(KE_CONST, kt(s, 1));
  e.f = s == KT_F32 ? (double)(float)v : v;
  return add_expr(k, e);
}

uint32_t k_f32(Kernel *k, double v) { return const_float(k, KT_F32, v); }
uint32_t k_f64(Kernel *k, double v) { return const_float(k, KT_F64, v); }

uint32_t k_var(Kernel *k, uint32_t var) {
  IR_ASSERT(var < k->n_vars);
  KExpr e = ex(KE_VAR, k->vars[var].type);
  e.var = var;
  return add_expr(k, e);
}

uint32_t k_param(Kernel *k, uint32_t param) {
  IR_ASSERT(param < k->n_params && k->params[param].kind == KP_I64);
  KExpr e = ex(KE_PARAM, kt(KT_I64, 1));
  e.param = param;
  return add_expr(k, e);
}

uint32_t k_load(Kernel *k, uint32_t buf, uint32_t index, int lanes) {
  IR_ASSERT(buf < k->n_params && k->params[buf].kind == KP_BUF);
  IR_ASSERT(kt_eq(k_type(k, index), kt(KT_I64, 1)));
  KExpr e = ex(KE_LOAD, kt(k->params[buf].elem, lanes));
  e.param = buf;
  e.a[0] = index;
  return add_expr(k, e);
}

uint32_t k_broadcast(Kernel *k, uint32_t scalar, int lanes) {
  KType t = k_type(k, scalar);
  IR_ASSERT(t.lanes == 1);
  if (lanes == 1) return scalar;
  KExpr e = ex(KE_BROADCAST, kt(t.scalar, lanes));
  e.a[0] = scalar;
  return add_expr(k, e);
}

static bool is_float(KType t) { return t.scalar == KT_F32 || t.scalar == KT_F64; }
static bool is_int(KType t) { return t.scalar == KT_I64 || t.scalar == KT_I32; }

uint32_t k_unary(Kernel *k, KOp op, uint32_t a) {
  KType t = k_type(k, a);
  switch (op) {
  case KO_NEG: case KO_ABS: IR_ASSERT(is_float(t) || is_int(t)); break;
  /* No vector sqrt or floor: C's vector extensions have none. */
  case KO_SQRT: case KO_FLOOR: IR_ASSERT(is_float(t) && t.lanes == 1); break;
  case KO_NOT: IR_ASSERT(t.scalar == KT_BOOL); break;
  default: IR_ASSERT(!"not a unary op");
  }
  KExpr e = ex(KE_UNARY, t);
  e.op = (uint8_t)op;
  e.a[0] = a;
  return add_expr(k, e);
}

uint32_t k_binary(Kernel *k, KOp op, uint32_t a, uint32_t b) {
  KType ta = k_type(k, a), tb = k_type(k, b);
  IR_ASSERT(kt_eq(ta, tb));
  KType t = ta;
  switch (op) {
  case KO_ADD: case KO_SUB: case KO_MUL: case KO_DIV: case KO_MIN: case KO_MAX:
    IR_ASSERT(is_float(ta) || is_int(ta));
    break;
  case KO_REM: case KO_SHL: case KO_SHR: IR_ASSERT(is_int(ta)); break;
  case KO_AND: case KO_OR: case KO_XOR:
    IR_ASSERT(is_int(ta) || ta.scalar == KT_BOOL);
    break;
  case KO_LT: case KO_LE: case KO_GT: case KO_GE: case KO_EQ: case KO_NE:
    IR_ASSERT(ta.scalar != KT_BOOL);
    t = kt(KT_BOOL, ta.lanes);
    break;
  default: IR_ASSERT(!"not a binary op");
  }
  KExpr e = ex(KE_BINARY, t);
  e.op = (uint8_t)op;
  e.a[0] = a;
  e.a[1] = b;
  return add_expr(k, e);
}

uint32_t k_fma(Kernel *k, uint32_t a, uint32_t b, uint32_t c) {
  KType t = k_type(k, a);
  IR_ASSERT(is_float(t) && kt_eq(t, k_type(k, b)) && kt_eq(t, k_type(k, c)));
  KExpr e = ex(KE_FMA, t);
  e.a[0] = a;
  e.a[1] = b;
  e.a[2] = c;
  return add_expr(k, e);
}

uint32_t k_dotbf16(Kernel *k, uint32_t acc, uint32_t a, uint32_t b) {
  KType t = k_type(k, acc), ti = kt(KT_I32, t.lanes);
  IR_ASSERT(t.scalar == KT_F32 && kt_eq(k_type(k, a), ti) &&
            kt_eq(k_type(k, b), ti));
  KExpr e = ex(KE_DOTBF16, t);
  e.a[0] = acc;
  e.a[1] = a;
  e.a[2] = b;
  return add_expr(k, e);
}

uint32_t k_select(Kernel *k, uint32_t cond, uint32_t a, uint32_t b) {
  KType tc = k_type(k, cond), t = k_type(k, a);
  IR_ASSERT(tc.scalar == KT_BOOL && tc.lanes == t.lanes);
  IR_ASSERT(kt_eq(t, k_type(k, b)));
  KExpr e = ex(KE_SELECT, t);
  e.a[0] = cond;
  e.a[1] = a;
  e.a[2] = b;
  return add_expr(k, e);
}

uint32_t k_reduce(Kernel *k, KOp op, uint32_t vec) {
  KType t = k_type(k, vec);
  IR_ASSERT(op == KO_ADD || op == KO_MAX || op == KO_MIN);
  IR_ASSERT(is_float(t) || is_int(t));
  if (t.lanes == 1) return vec;
  KExpr e = ex(KE_REDUCE, kt(t.scalar, 1));
  e.op = (uint8_t)op;
  e.a[0] = vec;
  return add_expr(k, e);
}

uint32_t k_convert(Kernel *k, uint32_t a, KType to) {
  KType t = k_type(k, a);
  IR_ASSERT(t.lanes == to.lanes && t.scalar != KT_BOOL && to.scalar != KT_BOOL);
  if (t.scalar == to.scalar) return a;
  KExpr e = ex(KE_CONVERT, to);
  e.a[0] = a;
  return add_expr(k, e);
}

uint32_t k_bitcast(Kernel *k, uint32_t a, KType to) {
  KType t = k_type(k, a);
  IR_ASSERT(t.lanes == to.lanes);
  IR_ASSERT((t.scalar == KT_F32 && to.scalar == KT_I32) ||
            (t.scalar == KT_I32 && to.scalar == KT_F32));
  KExpr e = ex(KE_BITCAST, to);
  e.a[0] = a;
  return add_expr(k, e);
}

uint32_t k_call(Kernel *k, const char *callee, KType type, uint32_t a,
                uint32_t b) {
  IR_ASSERT(type.lanes == 1 && is_float(type));
  IR_ASSERT(kt_eq(k_type(k, a), type));
  IR_ASSERT(b == K_NONE || kt_eq(k_type(k, b), type));
  KExpr e = ex(KE_CALL, type);
  e.callee = callee; /* string literals only */
  e.a[0] = a;
  e.a[1] = b;
  return add_expr(k, e);
}

bool k_is_const(const Kernel *k, uint32_t e, int64_t *value) {
  const KExpr *x = &k->exprs[e];
  if (x->kind != KE_CONST || !is_int(x->type)) return false;
  if (value) *value = x->i;
  return true;
}

uint32_t k_add(Kernel *k, uint32_t a, uint32_t b) {
  int64_t x, y;
  bool ca = k_is_const(k, a, &x), cb = k_is_const(k, b, &y);
  if (ca && cb) return k_i64(k, x + y);
  if (ca && x == 0) return b;
  if (cb && y == 0) return a;
  return k_binary(k, KO_ADD, a, b);
}

uint32_t k_sub(Kernel *k, uint32_t a, uint32_t b) {
  int64_t x, y;
  bool ca = k_is_const(k, a, &x), cb = k_is_const(k, b, &y);
  if (ca && cb) return k_i64(k, x - y);
  if (cb && y == 0) return a;
  return k_binary(k, KO_SUB, a, b);
}

uint32_t k_mul(Kernel *k, uint32_t a, uint32_t b) {
  int64_t x, y;
  bool ca = k_is_const(k, a, &x), cb = k_is_const(k, b, &y);
  if (ca && cb) return k_i64(k, x * y);
  if ((ca && x == 0) || (cb && y == 0)) return k_i64(k, 0);
  if (ca && x == 1) return b;
  if (cb && y == 1) return a;
  return k_binary(k, KO_MUL, a, b);
}

uint32_t k_muli(Kernel *k, uint32_t a, int64_t c) {
  return k_mul(k, a, k_i64(k, c));
}

uint32_t k_addi(Kernel *k, uint32_t a, int64_t c) {
  return k_add(k, a, k_i64(k, c));
}

uint32_t k_floor_to(Kernel *k, uint32_t a, int64_t m) {
  IR_ASSERT(m > 0);
  int64_t x;
  if (k_is_const(k, a, &x)) return k_i64(k, x - x % m);
  if (m == 1) return a;
  return k_sub(k, a, k_binary(k, KO_REM, a, k_i64(k, m)));
}

/* ---- statements ----------------------------------------------------------- */

static KStmt blank_stmt(KStmtKind kind) {
  KStmt s;
  memset(&s, 0, sizeof s);
  s.kind = kind;
  s.var = K_NONE;
  s.a[0] = s.a[1] = s.a[2] = K_NONE;
  s.body = K_NONE;
  s.param = K_NONE;
  return s;
}

/* The slot the cursor names: where the next statement's id goes. */
static uint32_t *cursor_slot(Kernel *k) {
  uint32_t stmt = k->cursor[k->depth].stmt;
  if (stmt == K_NONE) return &k->body;
  return k->cursor[k->depth].body ? &k->stmts[stmt].body : &k->stmts[stmt].next;
}

static uint32_t append(Kernel *k, KStmt s) {
  s.next = K_NONE;
  GROW(k->stmts, k->n_stmts, k->cap_stmts);
  uint32_t id = k->n_stmts++;
  k->stmts[id] = s;
  *cursor_slot(k) = id;
  k->cursor[k->depth].stmt = id;
  k->cursor[k->depth].body = false;
  return id;
}

static uint32_t add_var(Kernel *k, const char *name, KType t) {
  GROW(k->vars, k->n_vars, k->cap_vars);
  char buf[64];
  snprintf(buf, sizeof buf, "%s%u", name, k->n_vars);
  k->vars[k->n_vars] = (KVar){strdup(buf), t};
  return k->n_vars++;
}

uint32_t k_let(Kernel *k, const char *name, uint32_t value) {
  uint32_t v = add_var(k, name, k_type(k, value));
  KStmt s = blank_stmt(KS_LET);
  s.var = v;
  s.a[0] = value;
  append(k, s);
  return v;
}

void k_set(Kernel *k, uint32_t var, uint32_t value) {
  IR_ASSERT(var < k->n_vars && kt_eq(k->vars[var].type, k_type(k, value)));
  KStmt s = blank_stmt(KS_SET);
  s.var = var;
  s.a[0] = value;
  append(k, s);
}

void k_store(Kernel *k, uint32_t buf, uint32_t index, uint32_t value) {
  IR_ASSERT(buf < k->n_params && k->params[buf].kind == KP_BUF &&
            k->params[buf].written);
  IR_ASSERT(kt_eq(k_type(k, index), kt(KT_I64, 1)));
  IR_ASSERT(k_type(k, value).scalar == k->params[buf].elem);
  KStmt s = blank_stmt(KS_STORE);
  s.param = buf;
  s.a[0] = index;
  s.a[1] = value;
  append(k, s);
}

void k_check(Kernel *k, uint32_t cond, int code) {
  IR_ASSERT(kt_eq(k_type(k, cond), kt(KT_BOOL, 1)) && code > 0);
  KStmt s = blank_stmt(KS_CHECK);
  s.a[0] = cond;
  s.code = code;
  append(k, s);
}

void k_prefetch(Kernel *k, uint32_t buf, uint32_t index) {
  IR_ASSERT(buf < k->n_params && k->params[buf].kind == KP_BUF);
  IR_ASSERT(kt_eq(k_type(k, index), kt(KT_I64, 1)));
  KStmt s = blank_stmt(KS_PREFETCH);
  s.param = buf;
  s.a[0] = index;
  append(k, s);
}

uint32_t k_for(Kernel *k, const char *name, uint32_t lo, uint32_t hi,
               int64_t step, bool parallel) {
  IR_ASSERT(kt_eq(k_type(k, lo), kt(KT_I64, 1)));
  IR_ASSERT(kt_eq(k_type(k, hi), kt(KT_I64, 1)));
  IR_ASSERT(step > 0);
  IR_ASSERT(k->depth + 1 < (int)(sizeof k->cursor / sizeof k->cursor[0]));
  uint32_t v = add_var(k, name, kt(KT_I64, 1));
  KStmt s = blank_stmt(KS_FOR);
  s.var = v;
  s.a[0] = lo;
  s.a[1] = hi;
  s.step = step;
  s.parallel = parallel;
  uint32_t id = append(k, s);
  k->depth++;
  k->cursor[k->depth].stmt = id;
  k->cursor[k->depth].body = true;
  return v;
}

void k_end(Kernel *k) {
  IR_ASSERT(k->depth > 0);
  k->depth--;
}

/* ---- printing ------------------------------------------------------------- */

static const char *scalar_name(KScalar s) {
  static const char *names[] = {"i64", "i32", "f32", "f64", "bool"};
  return names[s];
}

static void print_type(StrBuf *s, KType t) {
  if (t.lanes == 1)
    sb_printf(s, "%s", scalar_name((KScalar)t.scalar));
  else
    sb_printf(s, "%sx%d", scalar_name((KScalar)t.scalar), t.lanes);
}

static const char *op_name(KOp op) {
  static const char *names[] = {
      [KO_NEG] = "neg", [KO_ABS] = "abs", [KO_SQRT] = "sqrt",
      [KO_FLOOR] = "floor", [KO_NOT] = "not", [KO_ADD] = "+",
      [KO_SUB] = "-", [KO_MUL] = "*", [KO_DIV] = "/", [KO_REM] = "%",
      [KO_MIN] = "min", [KO_MAX] = "max", [KO_AND] = "&", [KO_OR] = "|",
      [KO_XOR] = "^", [KO_SHL] = "<<", [KO_SHR] = ">>", [KO_LT] = "<",
      [KO_LE] = "<=", [KO_GT] = ">", [KO_GE] = ">=", [KO_EQ] = "==",
      [KO_NE] = "!="};
  return names[op];
}

static bool infix(KOp op) {
  return op != KO_MIN && op != KO_MAX && op >= KO_ADD;
}

static void print_expr(StrBuf *s, const Kernel *k, uint32_t e) {
  const KExpr *x = &k->exprs[e];
  switch (x->kind) {
  case KE_CONST:
    if (x->type.scalar == KT_F32 || x->type.scalar == KT_F64) {
      /* the fewest digits that read back exactly: a binary search, since
       * more digits never read back worse (17 always do) — printing is
       * how kernels are compared, so this is on lowering's hot path */
      char b[40];
      int lo = 1, hi = 17;
      while (lo < hi) {
        int mid = (lo + hi) / 2;
        snprintf(b, sizeof b, "%.*g", mid, x->f);
        if (strtod(b, NULL) == x->f) hi = mid;
        else lo = mid + 1;
      }
      snprintf(b, sizeof b, "%.*g", lo, x->f);
      sb_printf(s, "%s%s", b, x->type.scalar == KT_F32 ? "f" : "");
    } else if (x->type.scalar == KT_BOOL) {
      sb_printf(s, "%s", x->i ? "true" : "false");
    } else {
      sb_printf(s, "%" PRId64 "%s", x->i, x->type.scalar == KT_I32 ? "i" : "");
    }
    break;
  case KE_VAR: sb_printf(s, "%s", k->vars[x->var].name); break;
  case KE_PARAM: sb_printf(s, "%s", k->params[x->param].name); break;
  case KE_LOAD:
    sb_printf(s, "%s[", k->params[x->param].name);
    print_expr(s, k, x->a[0]);
    if (x->type.lanes > 1) sb_printf(s, " : %d", x->type.lanes);
    sb_printf(s, "]");
    break;
  case KE_BROADCAST:
    sb_printf(s, "broadcast%d(", x->type.lanes);
    print_expr(s, k, x->a[0]);
    sb_printf(s, ")");
    break;
  case KE_UNARY:
    sb_printf(s, "%s(", op_name((KOp)x->op));
    print_expr(s, k, x->a[0]);
    sb_printf(s, ")");
    break;
  case KE_BINARY:
    if (infix((KOp)x->op)) {
      sb_printf(s, "(");
      print_expr(s, k, x->a[0]);
      sb_printf(s, " %s ", op_name((KOp)x->op));
      print_expr(s, k, x->a[1]);
      sb_printf(s, ")");
    } else {
      sb_printf(s, "%s(", op_name((KOp)x->op));
      print_expr(s, k, x->a[0]);
      sb_printf(s, ", ");
      print_expr(s, k, x->a[1]);
      sb_printf(s, ")");
    }
    break;
  case KE_FMA:
  case KE_SELECT:
  case KE_DOTBF16:
    sb_printf(s, x->kind == KE_FMA ? "fma(" : x->kind == KE_SELECT ? "select(" : "dotbf16(");
    print_expr(s, k, x->a[0]);
    sb_printf(s, ", ");
    print_expr(s, k, x->a[1]);
    sb_printf(s, ", ");
    print_expr(s, k, x->a[2]);
    sb_printf(s, ")");
    break;
  case KE_REDUCE:
    sb_printf(s, "reduce_%s(", x->op == KO_ADD ? "add" : x->op == KO_MAX ? "max" : "min");
    print_expr(s, k, x->a[0]);
    sb_printf(s, ")");
    break;
  case KE_CONVERT:
  case KE_BITCAST:
    sb_printf(s, x->kind == KE_CONVERT ? "convert<" : "bitcast<");
    print_type(s, x->type);
    sb_printf(s, ">(");
    print_expr(s, k, x->a[0]);
    sb_printf(s, ")");
    break;
  case KE_CALL:
    sb_printf(s, "%s(", x->callee);
    print_expr(s, k, x->a[0]);
    if (x->a[1] != K_NONE) {
      sb_printf(s, ", ");
      print_expr(s, k, x->a[1]);
    }
    sb_printf(s, ")");
    break;
  }
}

static void print_stmts(StrBuf *s, const Kernel *k, uint32_t first, int indent) {
  for (uint32_t id = first; id != K_NONE; id = k->stmts[id].next) {
    const KStmt *st = &k->stmts[id];
    sb_printf(s, "%*s", indent, "");
    switch (st->kind) {
    case KS_FOR:
      sb_printf(s, "for %s = ", k->vars[st->var].name);
      print_expr(s, k, st->a[0]);
      sb_printf(s, " to ");
      print_expr(s, k, st->a[1]);
      if (st->step != 1) sb_printf(s, " step %" PRId64, st->step);
      sb_printf(s, "%s {\n", st->parallel ? " parallel" : "");
      print_stmts(s, k, st->body, indent + 2);
      sb_printf(s, "%*s}\n", indent, "");
      break;
    case KS_LET:
      sb_printf(s, "%s: ", k->vars[st->var].name);
      print_type(s, k->vars[st->var].type);
      sb_printf(s, " = ");
      print_expr(s, k, st->a[0]);
      sb_printf(s, "\n");
      break;
    case KS_SET:
      sb_printf(s, "%s <- ", k->vars[st->var].name);
      print_expr(s, k, st->a[0]);
      sb_printf(s, "\n");
      break;
    case KS_STORE: {
      int lanes = k->exprs[st->a[1]].type.lanes;
      sb_printf(s, "%s[", k->params[st->param].name);
      print_expr(s, k, st->a[0]);
      if (lanes > 1) sb_printf(s, " : %d", lanes);
      sb_printf(s, "] <- ");
      print_expr(s, k, st->a[1]);
      sb_printf(s, "\n");
      break;
    }
    case KS_CHECK:
      sb_printf(s, "if ");
      print_expr(s, k, st->a[0]);
      sb_printf(s, " return %d\n", st->code);
      break;
    case KS_PREFETCH:
      sb_printf(s, "prefetch %s[", k->params[st->param].name);
      print_expr(s, k, st->a[0]);
      sb_printf(s, "]\n");
      break;
    }
  }
}

static void print_kernel(StrBuf *s, const Kernel *k, const char *name,
                         bool comment) {
  if (comment && k->comment[0]) sb_printf(s, "// %s\n", k->comment);
  if (comment && k->tiles) sb_printf(s, "// %s\n", k->tiles);
  sb_printf(s, "kernel %s(", name);
  for (uint32_t i = 0; i < k->n_params; i++) {
    const KParam *p = &k->params[i];
    if (i) sb_printf(s, ", ");
    if (p->kind == KP_BUF)
      sb_printf(s, "%s%s* %s", p->written ? "" : "const ", scalar_name(p->elem),
         p->name);
    else
      sb_printf(s, "i64 %s", p->name);
  }
  sb_printf(s, ") {\n");
  print_stmts(s, k, k->body, 2);
  sb_printf(s, "}\n");
}

char *k_print(const Kernel *k, const char *name) {
  StrBuf s = {0};
  print_kernel(&s, k, name, true);
  return s.s;
}

uint64_t k_hash(const Kernel *k) {
  StrBuf s = {0};
  print_kernel(&s, k, "_", false);
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < s.len; i++) {
    h ^= (unsigned char)s.s[i];
    h *= 1099511628211ull;
  }
  free(s.s);
  return h;
}

bool k_param_used(const Kernel *k, uint32_t param) {
  for (uint32_t i = 0; i < k->n_exprs; i++)
    if ((k->exprs[i].kind == KE_LOAD || k->exprs[i].kind == KE_PARAM) &&
        k->exprs[i].param == param)
      return true;
  for (uint32_t i = 0; i < k->n_stmts; i++)
    if ((k->stmts[i].kind == KS_STORE || k->stmts[i].kind == KS_PREFETCH) &&
        k->stmts[i].param == param)
      return true;
  return false;
}
