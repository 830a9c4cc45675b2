/* c_kernel.c — one Kernel IR kernel as a C function (see c_emit.h).
 *
 * Expressions print as nested C expressions.  A few constructs need an
 * operand more than once in C (a vector select, min/max of vectors, a
 * horizontal reduction reads every lane); their operands are first bound
 * to `const` temporaries declared just before the statement, so no
 * expression is ever duplicated in the text.
 *
 * Mapping:
 *   f32xW / i32xW       lv_f32xW / lv_i32xW (vector_size), loads and stores
 *                       through the 4-byte-aligned variants lv_f32xWu
 *   boolxW (masks)      lv_i32xW of -1/0, as vector compares produce
 *   select              bitwise (m & a) | (~m & b): `?:` on vectors is not C
 *   fma                 a * b + c (contracted to FMA under -std=gnu99 /
 *                       -ffp-contract=fast; plain C elsewhere)
 *   KS_CHECK            sets the kernel's status and `continue`s (the
 *                       status write is atomic under OpenMP)
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/c/c_emit.h"
#include "ir/diag.h"
#include "ir/strbuf.h"

void cg_c_prelude(FILE *f, int lanes) {
  if (lanes == 1) {
    fputs("static inline float lv_maxf(float a, float b) { return a > b ? a : b; }\n"
          "static inline float lv_minf(float a, float b) { return a < b ? a : b; }\n"
          "static inline int64_t lv_maxl(int64_t a, int64_t b) { return a > b ? a : b; }\n"
          "static inline int64_t lv_minl(int64_t a, int64_t b) { return a < b ? a : b; }\n"
          "static inline int32_t lv_maxi(int32_t a, int32_t b) { return a > b ? a : b; }\n"
          "static inline int32_t lv_mini(int32_t a, int32_t b) { return a < b ? a : b; }\n"
          "static inline double lv_maxd(double a, double b) { return a > b ? a : b; }\n"
          "static inline double lv_mind(double a, double b) { return a < b ? a : b; }\n"
          "static inline float lv_f32_of_bits(int32_t i) { float f; memcpy(&f, &i, 4); return f; }\n"
          "static inline int32_t lv_bits_of_f32(float f) { int32_t i; memcpy(&i, &f, 4); return i; }\n",
          f);
    return;
  }
  int bytes = 4 * lanes;
  fprintf(f,
          "typedef float lv_f32x%d __attribute__((vector_size(%d)));\n"
          "typedef float lv_f32x%du __attribute__((vector_size(%d), aligned(4)));\n"
          "typedef int32_t lv_i32x%d __attribute__((vector_size(%d)));\n"
          "typedef int32_t lv_i32x%du __attribute__((vector_size(%d), aligned(4)));\n",
          lanes, bytes, lanes, bytes, lanes, bytes, lanes, bytes);
}

/* ---- types --------------------------------------------------------------- */

static const char *ctype(KType t, char *buf, size_t cap) {
  if (t.lanes == 1) {
    switch ((KScalar)t.scalar) {
    case KT_I64: return "int64_t";
    case KT_I32: return "int32_t";
    case KT_F32: return "float";
    case KT_F64: return "double";
    case KT_BOOL: return "int";
    }
  }
  IR_ASSERT(t.scalar == KT_F32 || t.scalar == KT_I32 || t.scalar == KT_BOOL);
  snprintf(buf, cap, "lv_%sx%d", t.scalar == KT_F32 ? "f32" : "i32", t.lanes);
  return buf;
}

/* ---- expressions --------------------------------------------------------- */

typedef struct {
  const Kernel *k;
  StrBuf *out;       /* the function text */
  int indent;
  uint32_t *temp; /* expr id -> temporary number + 1 (0: none) */
  uint32_t n_temps;
} Emit;

static void expr(Emit *E, StrBuf *s, uint32_t e);

/* Operands that C would need twice are bound to temporaries first. */
static bool needs_temp_operands(const Kernel *k, const KExpr *x) {
  if (x->kind == KE_REDUCE) return true;
  if (x->type.lanes > 1 && x->kind == KE_SELECT) return true;
  if (x->type.lanes > 1 && x->kind == KE_BINARY &&
      (x->op == KO_MIN || x->op == KO_MAX))
    return true;
  if (x->kind == KE_UNARY && x->op == KO_ABS &&
      (x->type.scalar == KT_I32 || x->type.scalar == KT_I64))
    return true;
  (void)k;
  return false;
}

static void hoist(Emit *E, uint32_t e) {
  const KExpr *x = &E->k->exprs[e];
  for (int i = 0; i < 3; i++)
    if (x->a[i] != K_NONE) hoist(E, x->a[i]);
  if (!needs_temp_operands(E->k, x)) return;
  for (int i = 0; i < 3; i++) {
    uint32_t a = x->a[i];
    if (a == K_NONE || E->temp[a]) continue;
    const KExpr *y = &E->k->exprs[a];
    if (y->kind == KE_VAR || y->kind == KE_PARAM || y->kind == KE_CONST) continue;
    char tb[32];
    StrBuf v = {0};
    expr(E, &v, a);
    E->temp[a] = ++E->n_temps;
    sb_printf(E->out, "%*sconst %s t%u = %s;\n", E->indent, "",
       ctype(y->type, tb, sizeof tb), E->temp[a], v.s);
    free(v.s);
  }
}

static void float_const(StrBuf *s, double v, bool f32) {
  if (isnan(v)) {
    sb_printf(s, f32 ? "((float)NAN)" : "((double)NAN)");
    return;
  }
  if (isinf(v)) {
    sb_printf(s, "%s((%s)INFINITY)", v < 0 ? "-" : "", f32 ? "float" : "double");
    return;
  }
  char b[48];
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(b, sizeof b, "%.*g", prec, v);
    if (f32 ? (float)strtod(b, NULL) == (float)v : strtod(b, NULL) == v) break;
  }
  if (!strpbrk(b, ".en")) strcat(b, ".0");
  sb_printf(s, "%s%s", v < 0 ? "(" : "", b);
  if (f32) sb_printf(s, "f");
  if (v < 0) sb_printf(s, ")");
}

static const char *minmax_helper(KOp op, KScalar s) {
  bool mx = op == KO_MAX;
  switch (s) {
  case KT_F32: return mx ? "lv_maxf" : "lv_minf";
  case KT_F64: return mx ? "lv_maxd" : "lv_mind";
  case KT_I64: return mx ? "lv_maxl" : "lv_minl";
  case KT_I32: return mx ? "lv_maxi" : "lv_mini";
  default: IR_ASSERT(!"min/max of bools"); return NULL;
  }
}

static const char *c_binop(KOp op) {
  switch (op) {
  case KO_ADD: return "+";
  case KO_SUB: return "-";
  case KO_MUL: return "*";
  case KO_DIV: return "/";
  case KO_REM: return "%";
  case KO_AND: return "&";
  case KO_OR: return "|";
  case KO_XOR: return "^";
  case KO_SHL: return "<<";
  case KO_SHR: return ">>";
  case KO_LT: return "<";
  case KO_LE: return "<=";
  case KO_GT: return ">";
  case KO_GE: return ">=";
  case KO_EQ: return "==";
  case KO_NE: return "!=";
  default: IR_ASSERT(!"not an infix op"); return NULL;
  }
}

/* (lv_f32xW)((m & (lv_i32xW)(a)) | (~m & (lv_i32xW)(b))) over temporaries */
static void vector_select(Emit *E, StrBuf *s, KType t, uint32_t m, uint32_t a,
                          uint32_t b) {
  char tb[32], ib[32];
  const char *vt = ctype(t, tb, sizeof tb);
  const char *it = ctype(kt(KT_I32, t.lanes), ib, sizeof ib);
  bool is_f = t.scalar == KT_F32;
  sb_printf(s, "(%s%s%s((", is_f ? "(" : "", is_f ? vt : "", is_f ? ")" : "");
  expr(E, s, m);
  sb_printf(s, " & (%s)(", it);
  expr(E, s, a);
  sb_printf(s, ")) | (~");
  expr(E, s, m);
  sb_printf(s, " & (%s)(", it);
  expr(E, s, b);
  sb_printf(s, "))))");
}

/* a constant: floats exactly (float_const), INT64_C beyond i32 */
static void c_const(Emit *E, StrBuf *s, const KExpr *x) {
  switch ((KScalar)x->type.scalar) {
  case KT_F32: float_const(s, x->f, true); break;
  case KT_F64: float_const(s, x->f, false); break;
  case KT_BOOL: sb_printf(s, "%d", x->i ? 1 : 0); break;
  default:
    if (x->i >= INT32_MIN && x->i <= INT32_MAX)
      sb_printf(s, x->i < 0 ? "(%" PRId64 ")" : "%" PRId64, x->i);
    else
      sb_printf(s, "INT64_C(%" PRId64 ")", x->i);
  }
}

/* buf[i], or W lanes through the unaligned vector type */
static void c_load(Emit *E, StrBuf *s, const KExpr *x) {
  const Kernel *k = E->k;
  char tb[32];
  if (x->type.lanes == 1) {
    sb_printf(s, "%s[", k->params[x->param].name);
    expr(E, s, x->a[0]);
    sb_printf(s, "]");
  } else {
    sb_printf(s, "(*(const %su *)(%s + ", ctype(x->type, tb, sizeof tb),
       k->params[x->param].name);
    expr(E, s, x->a[0]);
    sb_printf(s, "))");
  }
}

/* a scalar to every lane: {0} + x (bools: {0} - x, all ones) */
static void c_broadcast(Emit *E, StrBuf *s, const KExpr *x) {
  const Kernel *k = E->k;
  char tb[32];
  KType st = k->exprs[x->a[0]].type;
  char sb[32];
  if (st.scalar == KT_F32) {
    /* x - 0 is x for every x (x + 0 is not: -0 + 0 = +0), so compilers
     * drop it and broadcast straight from memory; `{0} + x` cost gcc a
     * vaddss per broadcast, in the GEMM's inner loop */
    sb_printf(s, "((float)(");
    expr(E, s, x->a[0]);
    sb_printf(s, ") - (%s){0})", ctype(x->type, tb, sizeof tb));
    return;
  }
  sb_printf(s, "((%s){0} %s (%s)(", ctype(x->type, tb, sizeof tb),
     st.scalar == KT_BOOL ? "-" : "+",
     st.scalar == KT_BOOL ? "int32_t" : ctype(st, sb, sizeof sb));
  expr(E, s, x->a[0]);
  sb_printf(s, "))");
}

/* -x, !x / ~x, sqrt, floor, |x| */
static void c_unary(Emit *E, StrBuf *s, const KExpr *x) {
  char tb[32];
  switch ((KOp)x->op) {
  case KO_NEG: sb_printf(s, "(-"); expr(E, s, x->a[0]); sb_printf(s, ")"); break;
  case KO_NOT:
    sb_printf(s, x->type.lanes == 1 ? "(!" : "(~");
    expr(E, s, x->a[0]);
    sb_printf(s, ")");
    break;
  case KO_SQRT:
  case KO_FLOOR:
    sb_printf(s, "%s%s(", x->op == KO_SQRT ? "sqrt" : "floor",
       x->type.scalar == KT_F32 ? "f" : "");
    expr(E, s, x->a[0]);
    sb_printf(s, ")");
    break;
  case KO_ABS:
    if (x->type.scalar == KT_F32 && x->type.lanes > 1) {
      char ib[32];
      sb_printf(s, "((%s)((%s)(", ctype(x->type, tb, sizeof tb),
         ctype(kt(KT_I32, x->type.lanes), ib, sizeof ib));
      expr(E, s, x->a[0]);
      sb_printf(s, ") & 0x7fffffff))");
    } else if (x->type.scalar == KT_F32 || x->type.scalar == KT_F64) {
      sb_printf(s, x->type.scalar == KT_F32 ? "fabsf(" : "fabs(");
      expr(E, s, x->a[0]);
      sb_printf(s, ")");
    } else {
      IR_ASSERT(x->type.lanes == 1);
      sb_printf(s, "(");
      expr(E, s, x->a[0]);
      sb_printf(s, " < 0 ? -");
      expr(E, s, x->a[0]);
      sb_printf(s, " : ");
      expr(E, s, x->a[0]);
      sb_printf(s, ")");
    }
    break;
  default: IR_ASSERT(!"unary");
  }
}

/* infix operators; min and max through helpers, or a select on vectors */
static void c_binary(Emit *E, StrBuf *s, const KExpr *x) {
  const Kernel *k = E->k;
  char tb[32];
  KOp op = (KOp)x->op;
  KType ta = k->exprs[x->a[0]].type;
  if (op == KO_MIN || op == KO_MAX) {
    if (ta.lanes == 1) {
      sb_printf(s, "%s(", minmax_helper(op, (KScalar)ta.scalar));
      expr(E, s, x->a[0]);
      sb_printf(s, ", ");
      expr(E, s, x->a[1]);
      sb_printf(s, ")");
    } else {
      /* max(a, b) = select(a > b, a, b): the mask is a comparison */
      StrBuf m = {0};
      sb_printf(&m, "(");
      expr(E, &m, x->a[0]);
      sb_printf(&m, op == KO_MAX ? " > " : " < ");
      expr(E, &m, x->a[1]);
      sb_printf(&m, ")");
      char ib[32];
      bool is_f = ta.scalar == KT_F32;
      const char *it = ctype(kt(KT_I32, ta.lanes), ib, sizeof ib);
      sb_printf(s, "(%s%s%s((%s & (%s)(", is_f ? "(" : "",
         is_f ? ctype(ta, tb, sizeof tb) : "", is_f ? ")" : "", m.s, it);
      expr(E, s, x->a[0]);
      sb_printf(s, ")) | (~%s & (%s)(", m.s, it);
      expr(E, s, x->a[1]);
      sb_printf(s, "))))");
      free(m.s);
    }
    return;
  }
  sb_printf(s, "(");
  expr(E, s, x->a[0]);
  sb_printf(s, " %s ", c_binop(op));
  expr(E, s, x->a[1]);
  sb_printf(s, ")");
}

/* a * b + c: the compiler contracts it (gnu11, -ffp-contract=fast) */
static void c_fma(Emit *E, StrBuf *s, const KExpr *x) {
  sb_printf(s, "(");
  expr(E, s, x->a[0]);
  sb_printf(s, " * ");
  expr(E, s, x->a[1]);
  sb_printf(s, " + ");
  expr(E, s, x->a[2]);
  sb_printf(s, ")");
}

/* c ? a : b, or a bitwise select on vectors */
static void c_select(Emit *E, StrBuf *s, const KExpr *x) {
  if (x->type.lanes == 1) {
    sb_printf(s, "(");
    expr(E, s, x->a[0]);
    sb_printf(s, " ? ");
    expr(E, s, x->a[1]);
    sb_printf(s, " : ");
    expr(E, s, x->a[2]);
    sb_printf(s, ")");
  } else {
    vector_select(E, s, x->type, x->a[0], x->a[1], x->a[2]);
  }
}

/* a balanced tree over the lanes */
static void c_reduce(Emit *E, StrBuf *s, const KExpr *x) {
  const Kernel *k = E->k;
  /* a balanced tree over the lanes of a temporary */
  KType vt = k->exprs[x->a[0]].type;
  int n = vt.lanes;
  StrBuf v = {0};
  expr(E, &v, x->a[0]);
  int width = 1;
  /* terms[i] texts built bottom-up */
  char **terms = calloc((size_t)n, sizeof *terms);
  IR_ASSERT(terms);
  for (int i = 0; i < n; i++) {
    StrBuf t = {0};
    sb_printf(&t, "%s[%d]", v.s, i);
    terms[i] = t.s;
  }
  for (width = n; width > 1; width = (width + 1) / 2) {
    for (int i = 0; i < width / 2; i++) {
      StrBuf t = {0};
      if (x->op == KO_ADD)
        sb_printf(&t, "(%s + %s)", terms[2 * i], terms[2 * i + 1]);
      else
        sb_printf(&t, "%s(%s, %s)", minmax_helper((KOp)x->op, (KScalar)vt.scalar),
           terms[2 * i], terms[2 * i + 1]);
      free(terms[2 * i]);
      free(terms[2 * i + 1]);
      terms[i] = t.s;
    }
    if (width % 2) terms[width / 2] = terms[width - 1];
  }
  sb_printf(s, "%s", terms[0]);
  free(terms[0]);
  free(terms);
  free(v.s);
}

/* a cast, or __builtin_convertvector on vectors */
static void c_convert(Emit *E, StrBuf *s, const KExpr *x) {
  const Kernel *k = E->k;
  char tb[32];
  KType from = k->exprs[x->a[0]].type;
  (void)from;
  if (x->type.lanes == 1) {
    sb_printf(s, "((%s)(", ctype(x->type, tb, sizeof tb));
    expr(E, s, x->a[0]);
    sb_printf(s, "))");
  } else {
    sb_printf(s, "__builtin_convertvector(");
    expr(E, s, x->a[0]);
    sb_printf(s, ", %s)", ctype(x->type, tb, sizeof tb));
  }
}

/* the same bits as another type */
static void c_bitcast(Emit *E, StrBuf *s, const KExpr *x) {
  char tb[32];
  if (x->type.lanes == 1) {
    sb_printf(s, x->type.scalar == KT_F32 ? "lv_f32_of_bits(" : "lv_bits_of_f32(");
    expr(E, s, x->a[0]);
    sb_printf(s, ")");
  } else {
    sb_printf(s, "((%s)(", ctype(x->type, tb, sizeof tb));
    expr(E, s, x->a[0]);
    sb_printf(s, "))");
  }
}

/* libm: the f variant for f32 */
static void c_call(Emit *E, StrBuf *s, const KExpr *x) {
  sb_printf(s, "%s%s(", x->callee, x->type.scalar == KT_F32 ? "f" : "");
  expr(E, s, x->a[0]);
  if (x->a[1] != K_NONE) {
    sb_printf(s, ", ");
    expr(E, s, x->a[1]);
  }
  sb_printf(s, ")");
}

/* vdpbf16ps: lv_dotbf16 (cg_c_dotbf16_helper) */
static void c_dotbf16(Emit *E, StrBuf *s, const KExpr *x) {
  IR_ASSERT(x->type.lanes == 16);
  sb_printf(s, "lv_dotbf16(");
  expr(E, s, x->a[0]);
  sb_printf(s, ", ");
  expr(E, s, x->a[1]);
  sb_printf(s, ", ");
  expr(E, s, x->a[2]);
  sb_printf(s, ")");
}

void cg_c_dotbf16_helper(FILE *f) {
  /* <immintrin.h> only where the compiler targets AVX-512-BF16 (the
   * Makefile's -march for a target with it); elsewhere the same sum by
   * shifts, so the file still builds with any vector-extension compiler */
  fputs("#ifdef __AVX512BF16__\n"
        "#include <immintrin.h>\n"
        "static inline lv_f32x16 lv_dotbf16(lv_f32x16 c, lv_i32x16 a, lv_i32x16 b) {\n"
        "  return (lv_f32x16)_mm512_dpbf16_ps((__m512)c, (__m512bh)a, (__m512bh)b);\n"
        "}\n"
        "#else\n"
        "static inline lv_f32x16 lv_dotbf16(lv_f32x16 c, lv_i32x16 a, lv_i32x16 b) {\n"
        "  const lv_i32x16 hi = (lv_i32x16){0} + (int32_t)0xffff0000u;\n"
        "  lv_f32x16 ah = (lv_f32x16)(a & hi), bh = (lv_f32x16)(b & hi);\n"
        "  lv_f32x16 al = (lv_f32x16)(a << 16), bl = (lv_f32x16)(b << 16);\n"
        "  return c + ah * bh + al * bl;\n"
        "}\n"
        "#endif\n", f);
}

/* Expression e as C text, each kind by its helper above (a hoisted
 * temporary by its name). */
static void expr(Emit *E, StrBuf *s, uint32_t e) {
  const Kernel *k = E->k;
  const KExpr *x = &k->exprs[e];
  if (E->temp[e]) {
    sb_printf(s, "t%u", E->temp[e]);
    return;
  }
  switch (x->kind) {
  case KE_CONST: c_const(E, s, x); return;
  case KE_VAR: sb_printf(s, "%s", k->vars[x->var].name); return;
  case KE_PARAM: sb_printf(s, "%s", k->params[x->param].name); return;
  case KE_LOAD: c_load(E, s, x); return;
  case KE_BROADCAST: c_broadcast(E, s, x); return;
  case KE_UNARY: c_unary(E, s, x); return;
  case KE_BINARY: c_binary(E, s, x); return;
  case KE_FMA: c_fma(E, s, x); return;
  case KE_SELECT: c_select(E, s, x); return;
  case KE_REDUCE: c_reduce(E, s, x); return;
  case KE_CONVERT: c_convert(E, s, x); return;
  case KE_BITCAST: c_bitcast(E, s, x); return;
  case KE_CALL: c_call(E, s, x); return;
  case KE_DOTBF16: c_dotbf16(E, s, x); return;
  }
}

/* ---- statements ---------------------------------------------------------- */

static void stmt_exprs_text(Emit *E, uint32_t e, StrBuf *s) {
  hoist(E, e);
  expr(E, s, e);
}

static void stmts(Emit *E, uint32_t first, bool in_loop) {
  const Kernel *k = E->k;
  for (uint32_t id = first; id != K_NONE; id = k->stmts[id].next) {
    const KStmt *st = &k->stmts[id];
    StrBuf a = {0}, b = {0};
    char tb[32];
    switch (st->kind) {
    case KS_FOR: {
      stmt_exprs_text(E, st->a[0], &a);
      stmt_exprs_text(E, st->a[1], &b);
      const char *v = k->vars[st->var].name;
      if (st->parallel)
        sb_printf(E->out, "#ifdef _OPENMP\n#pragma omp parallel for schedule(static)\n#endif\n");
      sb_printf(E->out, "%*sfor (int64_t %s = %s; %s < %s; %s += %" PRId64 ") {\n",
         E->indent, "", v, a.s, v, b.s, v, st->step);
      E->indent += 2;
      stmts(E, st->body, true);
      E->indent -= 2;
      sb_printf(E->out, "%*s}\n", E->indent, "");
      break;
    }
    case KS_LET:
      stmt_exprs_text(E, st->a[0], &a);
      sb_printf(E->out, "%*s%s %s = %s;\n", E->indent, "",
         ctype(k->vars[st->var].type, tb, sizeof tb), k->vars[st->var].name,
         a.s);
      break;
    case KS_SET:
      stmt_exprs_text(E, st->a[0], &a);
      sb_printf(E->out, "%*s%s = %s;\n", E->indent, "", k->vars[st->var].name, a.s);
      break;
    case KS_STORE: {
      KType t = k->exprs[st->a[1]].type;
      stmt_exprs_text(E, st->a[0], &a);
      stmt_exprs_text(E, st->a[1], &b);
      const char *p = k->params[st->param].name;
      if (t.lanes == 1)
        sb_printf(E->out, "%*s%s[%s] = %s;\n", E->indent, "", p, a.s, b.s);
      else
        sb_printf(E->out, "%*s*(%su *)(%s + %s) = %s;\n", E->indent, "",
           ctype(t, tb, sizeof tb), p, a.s, b.s);
      break;
    }
    case KS_CHECK:
      stmt_exprs_text(E, st->a[0], &a);
      sb_printf(E->out, "%*sif (%s) {\n", E->indent, "", a.s);
      sb_printf(E->out, "#ifdef _OPENMP\n#pragma omp atomic write\n#endif\n");
      sb_printf(E->out, "%*s  status = %d;\n", E->indent, "", st->code);
      sb_printf(E->out, "%*s  %s;\n%*s}\n", E->indent, "",
         in_loop ? "continue" : "return status", E->indent, "");
      break;
    case KS_PREFETCH:
      stmt_exprs_text(E, st->a[0], &a);
      sb_printf(E->out, "%*s__builtin_prefetch(%s + %s, 0, 2);\n", E->indent, "",
         k->params[st->param].name, a.s);
      break;
    }
    free(a.s);
    free(b.s);
  }
}

void cg_c_kernel(FILE *f, const Kernel *k, const char *name) {
  StrBuf out = {0};
  Emit E = {.k = k, .out = &out, .indent = 2};
  E.temp = calloc(k->n_exprs ? k->n_exprs : 1, sizeof *E.temp);
  IR_ASSERT(E.temp);
  if (k->comment[0]) fprintf(f, "/* %s */\n", k->comment);
  /* Buffers the kernel never touches (write_rows' state operand: the
   * memory of its output) are not restrict, unused, and passed as 0. */
  fprintf(f, "static int %s(", name);
  for (uint32_t i = 0; i < k->n_params; i++) {
    const KParam *p = &k->params[i];
    if (i) fprintf(f, ", ");
    if (p->kind == KP_I64)
      fprintf(f, "int64_t %s", p->name);
    else
      fprintf(f, "%s%s *%s%s", p->written ? "" : "const ",
              p->elem == KT_F32 ? "float" : "int32_t",
              k_param_used(k, i) ? "restrict " : "", p->name);
  }
  fprintf(f, ") {\n");
  for (uint32_t i = 0; i < k->n_params; i++)
    if (k->params[i].kind == KP_BUF && !k_param_used(k, i))
      fprintf(f, "  (void)%s;\n", k->params[i].name);
  stmts(&E, k->body, false);
  fprintf(f, "  int status = 0;\n%s  return status;\n}\n\n", out.s ? out.s : "");
  free(out.s);
  free(E.temp);
}
