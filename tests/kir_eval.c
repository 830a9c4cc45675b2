/* kir_eval.c — a small, obviously correct evaluator of Kernel IR (see
 * kir_eval.h).  Include it into a test program; it is not part of libloom.
 *
 * A value is a type and an array of lanes, floats as doubles (f32 lanes
 * rounded to float after every operation, which for +, -, ·, / and sqrt
 * gives exactly the float result) and integers and bools as int64 (i32
 * lanes kept in range by wrapping, as the hardware does).  Expressions are
 * evaluated recursively; a statement's expressions see one state of the
 * variables, so results are memoized per statement (a generation counter),
 * which keeps shared subtrees — km_exp reads its argument many times —
 * from being evaluated over and over.
 *
 * Where kir.h leaves a detail to the backends, this follows the C emitter
 * (codegen/c/c_kernel.c): min/max are `a < b ? a : b` / `a > b ? a : b`,
 * horizontal reductions combine lanes as a balanced tree in the same
 * order, a right shift of a signed integer is arithmetic, fma is fused.
 */
#include "tests/kir_eval.h"
#include "ir/ir.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KV_LANES 64

typedef struct {
  KType t;
  union {
    double f[KV_LANES];  /* f32 (rounded to float), f64 */
    int64_t i[KV_LANES]; /* i64, i32, bool */
  } u;
} KVal;

/* The last write of an element inside a parallel loop. */
typedef struct {
  uint32_t inst; /* which parallel loop run (0: none) */
  int64_t iter;  /* which of its iterations */
} KWriter;

typedef struct {
  const Kernel *k;
  const KEvalArg *args;
  KVal *vars;
  bool *live;   /* declared and in scope */
  int *var_par; /* parallel depth at the declaration */
  uint32_t *scope, n_scope; /* `let` variables, innermost last */
  KVal *memo;
  uint32_t *memo_gen, gen;
  int par_depth;
  uint32_t n_par, par_inst; /* parallel loop runs; the running one */
  int64_t par_iter;
  KWriter **shadow; /* per buffer parameter, per element */
  int status;
} KEval;

enum { FLOW_NEXT, FLOW_CONTINUE, FLOW_RETURN };

__attribute__((format(printf, 2, 3), noreturn)) static void kfail(
    const KEval *E, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "kir_eval: kernel `%s`: ", E->k->comment);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  abort();
}

static bool kv_is_float(KScalar s) { return s == KT_F32 || s == KT_F64; }

static double kv_round(KScalar s, double v) {
  return s == KT_F32 ? (double)(float)v : v;
}

static int64_t kv_wrap(KScalar s, uint64_t v) {
  if (s == KT_I32) return (int32_t)(uint32_t)v;
  if (s == KT_BOOL) return v != 0;
  return (int64_t)v;
}

/* Bounds, and races inside a parallel loop. */
static void kv_access(KEval *E, uint32_t param, int64_t idx, int lanes,
                      bool write) {
  const KEvalArg *a = &E->args[param];
  const char *name = E->k->params[param].name;
  if (idx < 0 || idx + lanes > a->len)
    kfail(E, "%s of %s[%lld : %d] outside its %lld elements",
          write ? "store" : "load", name, (long long)idx, lanes,
          (long long)a->len);
  if (!E->par_inst) return;
  for (int l = 0; l < lanes; l++) {
    KWriter *w = &E->shadow[param][idx + l];
    if (w->inst == E->par_inst && w->iter != E->par_iter)
      kfail(E, "race: %s[%lld] written by iteration %lld of a parallel loop "
            "and %s by iteration %lld",
            name, (long long)(idx + l), (long long)w->iter,
            write ? "written" : "read", (long long)E->par_iter);
    if (write) *w = (KWriter){E->par_inst, E->par_iter};
  }
}

static double kv_call(const KEval *E, const char *name, bool f32, double a,
                      double b) {
#define KV_FN1(n)                                                             \
  if (strcmp(name, #n) == 0) return f32 ? (double)n##f((float)a) : n(a);
#define KV_FN2(n)                                                             \
  if (strcmp(name, #n) == 0)                                                  \
    return f32 ? (double)n##f((float)a, (float)b) : n(a, b);
  KV_FN1(sin) KV_FN1(cos) KV_FN1(tan) KV_FN1(exp) KV_FN1(log) KV_FN1(sqrt)
  KV_FN1(tanh) KV_FN1(erf) KV_FN1(fabs) KV_FN1(floor)
  KV_FN2(pow) KV_FN2(atan2) KV_FN2(fmin) KV_FN2(fmax)
#undef KV_FN1
#undef KV_FN2
  kfail(E, "unknown function %s", name);
}

static const KVal *kv_eval(KEval *E, uint32_t e);

static void kv_unary(KEval *E, const KExpr *x, KVal *r) {
  const KVal *a = kv_eval(E, x->a[0]);
  KScalar s = (KScalar)x->type.scalar;
  for (int l = 0; l < x->type.lanes; l++) {
    double p = a->u.f[l];
    int64_t q = a->u.i[l];
    switch ((KOp)x->op) {
    case KO_NEG:
      if (kv_is_float(s)) r->u.f[l] = -p;
      else r->u.i[l] = kv_wrap(s, 0 - (uint64_t)q);
      break;
    case KO_ABS:
      if (kv_is_float(s)) r->u.f[l] = fabs(p);
      else r->u.i[l] = q < 0 ? kv_wrap(s, 0 - (uint64_t)q) : q;
      break;
    case KO_SQRT: r->u.f[l] = s == KT_F32 ? (double)sqrtf((float)p) : sqrt(p); break;
    case KO_FLOOR: r->u.f[l] = floor(p); break;
    case KO_NOT: r->u.i[l] = !q; break;
    default: kfail(E, "unary op %d", x->op);
    }
  }
}

static double kv_fbin(const KEval *E, KOp op, KScalar s, double p, double q) {
  switch (op) {
  case KO_ADD: return kv_round(s, p + q);
  case KO_SUB: return kv_round(s, p - q);
  case KO_MUL: return kv_round(s, p * q);
  case KO_DIV: return kv_round(s, p / q);
  case KO_MIN: return p < q ? p : q;
  case KO_MAX: return p > q ? p : q;
  default: kfail(E, "float op %d", op);
  }
}

static int64_t kv_ibin(const KEval *E, KOp op, KScalar s, int64_t p, int64_t q) {
  int bits = s == KT_I32 ? 32 : 64;
  int64_t min = s == KT_I32 ? INT32_MIN : INT64_MIN;
  switch (op) {
  case KO_ADD: return kv_wrap(s, (uint64_t)p + (uint64_t)q);
  case KO_SUB: return kv_wrap(s, (uint64_t)p - (uint64_t)q);
  case KO_MUL: return kv_wrap(s, (uint64_t)p * (uint64_t)q);
  case KO_DIV:
  case KO_REM:
    if (q == 0 || (p == min && q == -1))
      kfail(E, "integer %lld %s %lld", (long long)p, op == KO_DIV ? "/" : "%",
            (long long)q);
    return op == KO_DIV ? p / q : p % q;
  case KO_MIN: return p < q ? p : q;
  case KO_MAX: return p > q ? p : q;
  case KO_AND: return p & q;
  case KO_OR: return p | q;
  case KO_XOR: return p ^ q;
  case KO_SHL:
  case KO_SHR:
    if (q < 0 || q >= bits) kfail(E, "shift by %lld", (long long)q);
    return op == KO_SHL ? kv_wrap(s, (uint64_t)p << q) : p >> q;
  default: kfail(E, "integer op %d", op);
  }
}

static void kv_binary(KEval *E, const KExpr *x, KVal *r) {
  const KVal *a = kv_eval(E, x->a[0]), *b = kv_eval(E, x->a[1]);
  KScalar s = (KScalar)a->t.scalar;
  KOp op = (KOp)x->op;
  for (int l = 0; l < x->type.lanes; l++) {
    if (kv_is_float(s)) {
      double p = a->u.f[l], q = b->u.f[l];
      switch (op) {
      case KO_LT: r->u.i[l] = p < q; break;
      case KO_LE: r->u.i[l] = p <= q; break;
      case KO_GT: r->u.i[l] = p > q; break;
      case KO_GE: r->u.i[l] = p >= q; break;
      case KO_EQ: r->u.i[l] = p == q; break;
      case KO_NE: r->u.i[l] = p != q; break;
      default: r->u.f[l] = kv_fbin(E, op, s, p, q);
      }
    } else {
      int64_t p = a->u.i[l], q = b->u.i[l];
      switch (op) {
      case KO_LT: r->u.i[l] = p < q; break;
      case KO_LE: r->u.i[l] = p <= q; break;
      case KO_GT: r->u.i[l] = p > q; break;
      case KO_GE: r->u.i[l] = p >= q; break;
      case KO_EQ: r->u.i[l] = p == q; break;
      case KO_NE: r->u.i[l] = p != q; break;
      default: r->u.i[l] = kv_ibin(E, op, s, p, q);
      }
    }
  }
}

/* A balanced tree over the lanes, as the C emitter writes it. */
static void kv_reduce(KEval *E, const KExpr *x, KVal *r) {
  const KVal *a = kv_eval(E, x->a[0]);
  KScalar s = (KScalar)a->t.scalar;
  KVal t = *a;
  for (int w = a->t.lanes; w > 1; w = (w + 1) / 2) {
    for (int i = 0; i < w / 2; i++) {
      if (kv_is_float(s))
        t.u.f[i] = kv_fbin(E, (KOp)x->op, s, t.u.f[2 * i], t.u.f[2 * i + 1]);
      else
        t.u.i[i] = kv_ibin(E, (KOp)x->op, s, t.u.i[2 * i], t.u.i[2 * i + 1]);
    }
    if (w % 2) t.u.i[w / 2] = t.u.i[w - 1]; /* the bits, either kind */
  }
  r->u.i[0] = t.u.i[0];
}

static void kv_convert(KEval *E, const KExpr *x, KVal *r) {
  const KVal *a = kv_eval(E, x->a[0]);
  KScalar from = (KScalar)a->t.scalar, to = (KScalar)x->type.scalar;
  for (int l = 0; l < x->type.lanes; l++) {
    if (kv_is_float(from) && kv_is_float(to)) {
      r->u.f[l] = kv_round(to, a->u.f[l]);
    } else if (kv_is_float(from)) {
      double v = trunc(a->u.f[l]);
      double lo = to == KT_I32 ? -2147483648.0 : -9223372036854775808.0;
      if (!(v >= lo && v < -lo))
        kfail(E, "convert of %g to %s is undefined", a->u.f[l],
              to == KT_I32 ? "i32" : "i64");
      r->u.i[l] = (int64_t)v;
    } else if (kv_is_float(to)) {
      r->u.f[l] = to == KT_F32 ? (double)(float)a->u.i[l] : (double)a->u.i[l];
    } else {
      r->u.i[l] = kv_wrap(to, (uint64_t)a->u.i[l]);
    }
  }
}

static void kv_bitcast(KEval *E, const KExpr *x, KVal *r) {
  const KVal *a = kv_eval(E, x->a[0]);
  for (int l = 0; l < x->type.lanes; l++) {
    if (x->type.scalar == KT_I32) {
      float f = (float)a->u.f[l];
      int32_t b;
      memcpy(&b, &f, 4);
      r->u.i[l] = b;
    } else {
      int32_t b = (int32_t)a->u.i[l];
      float f;
      memcpy(&f, &b, 4);
      r->u.f[l] = f;
    }
  }
}

static const KVal *kv_eval(KEval *E, uint32_t e) {
  if (E->memo_gen[e] == E->gen) return &E->memo[e];
  const KExpr *x = &E->k->exprs[e];
  KVal *r = &E->memo[e];
  r->t = x->type;
  int n = x->type.lanes;
  switch (x->kind) {
  case KE_CONST:
    if (kv_is_float((KScalar)x->type.scalar)) r->u.f[0] = x->f;
    else r->u.i[0] = x->i;
    break;
  case KE_VAR:
    if (!E->live[x->var])
      kfail(E, "%s read outside its scope", E->k->vars[x->var].name);
    *r = E->vars[x->var];
    break;
  case KE_PARAM: r->u.i[0] = E->args[x->param].value; break;
  case KE_LOAD: {
    int64_t idx = kv_eval(E, x->a[0])->u.i[0];
    kv_access(E, x->param, idx, n, false);
    const void *p = E->args[x->param].data;
    for (int l = 0; l < n; l++) {
      if (x->type.scalar == KT_F32) r->u.f[l] = ((const float *)p)[idx + l];
      else r->u.i[l] = ((const int32_t *)p)[idx + l];
    }
    break;
  }
  case KE_BROADCAST: {
    const KVal *a = kv_eval(E, x->a[0]);
    for (int l = 0; l < n; l++) r->u.i[l] = a->u.i[0];
    break;
  }
  case KE_UNARY: kv_unary(E, x, r); break;
  case KE_BINARY: kv_binary(E, x, r); break;
  case KE_FMA: {
    const KVal *a = kv_eval(E, x->a[0]), *b = kv_eval(E, x->a[1]),
               *c = kv_eval(E, x->a[2]);
    for (int l = 0; l < n; l++)
      r->u.f[l] = x->type.scalar == KT_F32
                      ? (double)fmaf((float)a->u.f[l], (float)b->u.f[l],
                                     (float)c->u.f[l])
                      : fma(a->u.f[l], b->u.f[l], c->u.f[l]);
    break;
  }
  case KE_DOTBF16: {
    const KVal *c = kv_eval(E, x->a[0]), *a = kv_eval(E, x->a[1]),
               *b = kv_eval(E, x->a[2]);
    for (int l = 0; l < n; l++) {
      uint32_t ua = (uint32_t)a->u.i[l], ub = (uint32_t)b->u.i[l];
      float lo = ir_bf16_to_f32((uint16_t)ua) * ir_bf16_to_f32((uint16_t)ub);
      float hi = ir_bf16_to_f32((uint16_t)(ua >> 16)) *
                 ir_bf16_to_f32((uint16_t)(ub >> 16));
      r->u.f[l] = (double)((float)c->u.f[l] + hi + lo);
    }
    break;
  }
  case KE_SELECT: {
    const KVal *c = kv_eval(E, x->a[0]), *a = kv_eval(E, x->a[1]),
               *b = kv_eval(E, x->a[2]);
    for (int l = 0; l < n; l++) r->u.i[l] = c->u.i[l] ? a->u.i[l] : b->u.i[l];
    break;
  }
  case KE_REDUCE: kv_reduce(E, x, r); break;
  case KE_CONVERT: kv_convert(E, x, r); break;
  case KE_BITCAST: kv_bitcast(E, x, r); break;
  case KE_CALL: {
    bool f32 = x->type.scalar == KT_F32;
    double a = kv_eval(E, x->a[0])->u.f[0];
    double b = x->a[1] != K_NONE ? kv_eval(E, x->a[1])->u.f[0] : 0;
    r->u.f[0] = kv_round((KScalar)x->type.scalar,
                         kv_call(E, x->callee, f32, a, b));
    break;
  }
  }
  r->t = x->type; /* a variable's copy carries its own, the same */
  E->memo_gen[e] = E->gen;
  return r;
}

/* ---- statements ----------------------------------------------------------- */

static int kv_exec(KEval *E, uint32_t first, int loops);

static void kv_declare(KEval *E, uint32_t var, const KVal *v) {
  if (E->live[var]) kfail(E, "%s declared twice", E->k->vars[var].name);
  E->vars[var] = *v;
  E->live[var] = true;
  E->var_par[var] = E->par_depth;
}

static void kv_for(KEval *E, const KStmt *st, int loops) {
  int64_t lo = kv_eval(E, st->a[0])->u.i[0];
  int64_t hi = kv_eval(E, st->a[1])->u.i[0];
  int64_t count = hi > lo ? (hi - lo + st->step - 1) / st->step : 0;
  bool outermost_par = st->parallel && E->par_depth == 0;
  uint32_t inst = outermost_par ? ++E->n_par : 0;
  if (st->parallel) E->par_depth++;
  for (int64_t t = 0; t < count; t++) {
    int64_t it = st->parallel ? count - 1 - t : t; /* parallel: backwards */
    if (outermost_par) {
      E->par_inst = inst;
      E->par_iter = it;
    }
    KVal iv = {.t = kt(KT_I64, 1)};
    iv.u.i[0] = lo + it * st->step;
    kv_declare(E, st->var, &iv);
    kv_exec(E, st->body, loops + 1);
    E->gen++;
    if (kv_eval(E, st->a[1])->u.i[0] != hi)
      kfail(E, "the bound of loop %s changed while it ran",
            E->k->vars[st->var].name);
    E->live[st->var] = false;
  }
  if (st->parallel) E->par_depth--;
  if (outermost_par) E->par_inst = 0;
}

static int kv_exec(KEval *E, uint32_t first, int loops) {
  uint32_t mark = E->n_scope;
  int flow = FLOW_NEXT;
  for (uint32_t id = first; id != K_NONE && flow == FLOW_NEXT;
       id = E->k->stmts[id].next) {
    const KStmt *st = &E->k->stmts[id];
    E->gen++;
    switch (st->kind) {
    case KS_FOR: kv_for(E, st, loops); break;
    case KS_LET:
      kv_declare(E, st->var, kv_eval(E, st->a[0]));
      E->scope[E->n_scope++] = st->var;
      break;
    case KS_SET: {
      const KVal *v = kv_eval(E, st->a[0]);
      const char *name = E->k->vars[st->var].name;
      if (!E->live[st->var]) kfail(E, "%s set outside its scope", name);
      if (E->var_par[st->var] < E->par_depth)
        kfail(E, "race: %s, declared outside a parallel loop, set inside it",
              name);
      if (!kt_eq(v->t, E->vars[st->var].t)) kfail(E, "%s set to another type", name);
      E->vars[st->var] = *v;
      break;
    }
    case KS_STORE: {
      int64_t idx = kv_eval(E, st->a[0])->u.i[0];
      const KVal *v = kv_eval(E, st->a[1]);
      if (!E->k->params[st->param].written)
        kfail(E, "store to read-only %s", E->k->params[st->param].name);
      kv_access(E, st->param, idx, v->t.lanes, true);
      void *p = E->args[st->param].data;
      for (int l = 0; l < v->t.lanes; l++) {
        if (E->k->params[st->param].elem == KT_F32)
          ((float *)p)[idx + l] = (float)v->u.f[l];
        else
          ((int32_t *)p)[idx + l] = (int32_t)v->u.i[l];
      }
      break;
    }
    case KS_PREFETCH:
      (void)kv_eval(E, st->a[0]); /* a hint: no access, no effect */
      break;
    case KS_CHECK:
      if (kv_eval(E, st->a[0])->u.i[0]) {
        E->status = st->code;
        flow = loops > 0 ? FLOW_CONTINUE : FLOW_RETURN;
      }
      break;
    }
  }
  while (E->n_scope > mark) E->live[E->scope[--E->n_scope]] = false;
  return flow;
}

int kir_eval(const Kernel *k, const KEvalArg *args) {
  KEval E = {.k = k, .args = args, .gen = 1};
  uint32_t nv = k->n_vars ? k->n_vars : 1, ne = k->n_exprs ? k->n_exprs : 1;
  E.vars = calloc(nv, sizeof *E.vars);
  E.live = calloc(nv, sizeof *E.live);
  E.var_par = calloc(nv, sizeof *E.var_par);
  E.scope = calloc(nv, sizeof *E.scope);
  E.memo = calloc(ne, sizeof *E.memo);
  E.memo_gen = calloc(ne, sizeof *E.memo_gen);
  E.shadow = calloc(k->n_params ? k->n_params : 1, sizeof *E.shadow);
  if (!E.vars || !E.live || !E.var_par || !E.scope || !E.memo || !E.memo_gen ||
      !E.shadow)
    kfail(&E, "out of memory");
  for (uint32_t p = 0; p < k->n_params; p++)
    if (k->params[p].kind == KP_BUF) {
      if (args[p].len > 0 && !args[p].data) kfail(&E, "%s has no data", k->params[p].name);
      E.shadow[p] = calloc(args[p].len > 0 ? (size_t)args[p].len : 1, sizeof **E.shadow);
      if (!E.shadow[p]) kfail(&E, "out of memory");
    }
  kv_exec(&E, k->body, 0);
  for (uint32_t p = 0; p < k->n_params; p++) free(E.shadow[p]);
  free(E.shadow);
  free(E.memo_gen);
  free(E.memo);
  free(E.scope);
  free(E.var_par);
  free(E.live);
  free(E.vars);
  return E.status;
}
