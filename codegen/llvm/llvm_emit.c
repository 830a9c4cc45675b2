/* llvm_emit.c — Kernel IR as LLVM IR through the LLVM C API (emit_llvm.h).
 *
 * The printer walks a kernel's statements as the C printer does
 * (emit_c_kernel.c) and builds the same meaning:
 *
 *   types      i64, i32, float, double, i1; W lanes: <W x T> (masks <W x i1>)
 *   variables  one alloca each in the function's entry block; SROA/mem2reg
 *              turn them into SSA values, so loops need no phis here
 *   KS_FOR     header (re-evaluates hi, as C's `i < hi` does), body, latch
 *   KS_CHECK   stores the code into the kernel's status and branches to the
 *              innermost loop's latch (`continue`), or returns outside loops
 *   buffers    `ptr noalias align 4` arguments; every load and store says
 *              align 4 (the C backend's aligned(4) vector typedefs)
 *   fma        llvm.fma when the target has FMA, else llvm.fmuladd (C's
 *              contraction: fused only where that is cheap)
 *   reduce     llvm.vector.reduce.{fadd (reassoc), fmax, fmin, add, smax, smin}
 *   min/max    compare + select, exactly C's `a > b ? a : b`
 *   calls      libm (sinf, pow, ...) declared external; the JIT finds them
 *              in the host process, object files link -lm
 *
 * An expression is a DAG (km_exp reads x many times); within one statement
 * each expression is built once and reused.  C evaluates only one arm of
 * a scalar `c ? a : b`: when an arm could trap if evaluated regardless (it
 * loads, or divides integers — a gather's clamped-or-not index), the
 * select becomes branches and a phi.  Vector selects evaluate both arms,
 * in C as here.
 *
 * Parallel loops are outlined.  The loop body becomes an internal function
 * of typed arguments (the kernel's buffers again `noalias`, its i64s, a
 * pointer per enclosing variable the body uses, the status pointer, and
 * the iteration range) running the iterations of its range sequentially; a
 * thunk `void (ptr ctx, i64 lo, i64 hi)` unpacks a context of 8-byte slots
 * and calls it (inlined at O3, the noalias facts survive as scoped alias
 * metadata); the kernel fills the context and calls
 *   loom_parallel_for(thunk, ctx, lo, hi, step)      (runtime/parallel.c)
 * Enclosing variables are shared as OpenMP shares them: the body reads
 * them through their pointer (a copy at entry when the body never assigns
 * them, so they stay registers); the status is written atomically.
 *
 * Functions carry the target's CPU and features; on AVX-512 targets also
 * "prefer-vector-width"="512" and "min-legal-vector-width"="512", so the
 * vectorizers and the backend keep zmm registers.  The pipeline is
 * `default<O3>` with loop and SLP vectorization, interleaving and
 * unrolling.
 *
 * Machine code comes from the same target machine (O3, PIC), as an object
 * file or assembly text; the JIT (cg_jit_*) is an ORC LLJIT that links
 * such an object file into the process, so that the JIT's code and
 * emit-obj's are generated alike and a JIT object can be cached.
 */
#include "codegen/llvm/llvm_emit.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <llvm-c/Analysis.h>
#include <llvm-c/Core.h>
#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include "codegen/c/c_emit.h"
#include "runtime/parallel.h"

struct CgLlvm {
  const Program *p;
  LLVMContextRef ctx;
  LLVMModuleRef mod;
  LLVMTargetMachineRef tm;
  LLVMTargetRef target;
  char *triple, *cpu, *features;
  bool fma, wide; /* the target has FMA; AVX-512 (16 lanes) */
  bool optimized;
  double build_ms, opt_ms;
};

/* ---- LLVM setup ------------------------------------------------------------ */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_failed;

static void init_llvm(void) {
  init_failed = LLVMInitializeNativeTarget() || LLVMInitializeNativeAsmPrinter() ||
                LLVMInitializeNativeAsmParser();
}

const char *cg_llvm_version(void) {
  static char v[32];
  unsigned major, minor, patch;
  LLVMGetVersion(&major, &minor, &patch);
  snprintf(v, sizeof v, "%u.%u.%u", major, minor, patch);
  return v;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static Loc no_loc(void) { return (Loc){0}; }

/* "+fma" among the comma-separated features */
static bool has_feature(const char *features, const char *name) {
  size_t n = strlen(name);
  for (const char *p = features; (p = strstr(p, name)); p += n)
    if (p > features && p[-1] == '+' && (p[n] == ',' || p[n] == 0)) return true;
  return false;
}

/* CPU and features: the host's for a native target, else the level's name
 * (LLVM knows x86-64-v2..v4 as CPUs) with its implied features. */
static void cpu_features(const Target *t, char **cpu, char **features) {
  if (t->native) {
    char *c = LLVMGetHostCPUName(), *f = LLVMGetHostCPUFeatures();
    *cpu = strdup(c);
    *features = strdup(f);
    LLVMDisposeMessage(c);
    LLVMDisposeMessage(f);
  } else {
    *cpu = strdup(t->cpu);
    *features = strdup("");
  }
}

static int setup_target(CgLlvm *c, const Target *t, Diag *d) {
  pthread_once(&init_once, init_llvm);
  if (init_failed) return ir_errorf(d, no_loc(), "LLVM has no native target");
  char *triple = LLVMGetDefaultTargetTriple();
  c->triple = strdup(triple);
  LLVMDisposeMessage(triple);
  char *err = NULL;
  if (LLVMGetTargetFromTriple(c->triple, &c->target, &err)) {
    ir_errorf(d, no_loc(), "LLVM cannot target '%s': %s", c->triple, err);
    LLVMDisposeMessage(err);
    return -1;
  }
  cpu_features(t, &c->cpu, &c->features);
  c->fma = t->native ? has_feature(c->features, "fma") : t->lanes >= 8; /* v3, v4 */
  c->wide = t->lanes >= 16;
  c->tm = LLVMCreateTargetMachine(c->target, c->triple, c->cpu, c->features,
                                  LLVMCodeGenLevelAggressive, LLVMRelocPIC,
                                  LLVMCodeModelDefault);
  return 0;
}

/* ---- the printer's state ---------------------------------------------------- */

/* One LLVM function being built: a kernel or an outlined loop body. */
typedef struct {
  LLVMValueRef fn;
  LLVMBasicBlockRef entry; /* allocas only, then a branch */
  LLVMValueRef *param;     /* kernel parameter -> its value here */
  LLVMValueRef *slot;      /* variable -> its storage here (NULL: none yet) */
  LLVMValueRef status;     /* i32 storage of the kernel's result */
  bool shared_status;      /* written by several threads: atomic stores */
  LLVMBasicBlockRef next;  /* the innermost loop's latch; NULL: return */
} Fn;

typedef struct {
  CgLlvm *c;
  LLVMContextRef ctx;
  LLVMModuleRef mod;
  LLVMBuilderRef b;
  const Kernel *k;
  const char *name;
  LLVMTypeRef i1, i32, i64, f32, f64, ptr, vd;
  /* expression values built for the current statement */
  LLVMValueRef *val;
  uint32_t *stamp, gen;
  uint32_t *log, n_log, cap_log; /* cached ids, in order (for arms) */
  bool *traps;                   /* unsafe to evaluate unconditionally */
  Fn *f;
  int n_outlined;
} Em;

static LLVMValueRef i64c(Em *E, int64_t v) {
  return LLVMConstInt(E->i64, (unsigned long long)v, 1);
}

static LLVMValueRef i32c(Em *E, int64_t v) {
  return LLVMConstInt(E->i32, (unsigned long long)v, 1);
}

static LLVMTypeRef scalar_ty(Em *E, KScalar s) {
  switch (s) {
  case KT_I64: return E->i64;
  case KT_I32: return E->i32;
  case KT_F32: return E->f32;
  case KT_F64: return E->f64;
  case KT_BOOL: return E->i1;
  }
  IR_ASSERT(!"scalar type");
  return NULL;
}

static LLVMTypeRef ty(Em *E, KType t) {
  LLVMTypeRef s = scalar_ty(E, (KScalar)t.scalar);
  return t.lanes == 1 ? s : LLVMVectorType(s, t.lanes);
}

static bool is_float(KType t) { return t.scalar == KT_F32 || t.scalar == KT_F64; }

static void add_attr(Em *E, LLVMValueRef fn, LLVMAttributeIndex i,
                     const char *name, uint64_t v) {
  unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
  IR_ASSERT(kind);
  LLVMAddAttributeAtIndex(fn, i, LLVMCreateEnumAttribute(E->ctx, kind, v));
}

static void add_str_attr(Em *E, LLVMValueRef fn, const char *k, const char *v) {
  LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                          LLVMCreateStringAttribute(E->ctx, k, (unsigned)strlen(k),
                                                    v, (unsigned)strlen(v)));
}

/* Attributes of every function we define. */
static void fn_attrs(Em *E, LLVMValueRef fn) {
  add_str_attr(E, fn, "target-cpu", E->c->cpu);
  if (E->c->features[0]) add_str_attr(E, fn, "target-features", E->c->features);
  if (E->c->wide) {
    add_str_attr(E, fn, "prefer-vector-width", "512");
    add_str_attr(E, fn, "min-legal-vector-width", "512");
  }
  add_attr(E, fn, LLVMAttributeFunctionIndex, "nounwind", 0);
}

static LLVMValueRef intrinsic(Em *E, const char *name, LLVMTypeRef *over,
                              unsigned n_over, LLVMValueRef *args,
                              unsigned n_args) {
  unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
  IR_ASSERT(id);
  LLVMValueRef fn = LLVMGetIntrinsicDeclaration(E->mod, id, over, n_over);
  LLVMTypeRef fty = LLVMIntrinsicGetType(E->ctx, id, over, n_over);
  return LLVMBuildCall2(E->b, fty, fn, args, n_args, "");
}

/* An external function of the module (declared on first use). */
static LLVMValueRef extern_fn(Em *E, const char *name, LLVMTypeRef ret,
                              LLVMTypeRef *params, unsigned n) {
  LLVMValueRef fn = LLVMGetNamedFunction(E->mod, name);
  if (!fn) {
    fn = LLVMAddFunction(E->mod, name, LLVMFunctionType(ret, params, n, 0));
    add_attr(E, fn, LLVMAttributeFunctionIndex, "nounwind", 0);
  }
  return fn;
}

static LLVMValueRef call_fn(Em *E, LLVMValueRef fn, LLVMValueRef *args,
                            unsigned n) {
  return LLVMBuildCall2(E->b, LLVMGlobalGetValueType(fn), fn, args, n, "");
}

/* Storage for a variable in the current function (entry-block alloca). */
static LLVMValueRef var_slot(Em *E, uint32_t v) {
  if (E->f->slot[v]) return E->f->slot[v];
  LLVMBuilderRef ab = LLVMCreateBuilderInContext(E->ctx);
  LLVMPositionBuilderBefore(ab, LLVMGetBasicBlockTerminator(E->f->entry));
  E->f->slot[v] = LLVMBuildAlloca(ab, ty(E, E->k->vars[v].type), E->k->vars[v].name);
  LLVMDisposeBuilder(ab);
  return E->f->slot[v];
}

/* ---- expressions ------------------------------------------------------------ */

static void new_statement(Em *E) {
  E->gen++;
  E->n_log = 0;
}

static void cache(Em *E, uint32_t e, LLVMValueRef v) {
  E->val[e] = v;
  E->stamp[e] = E->gen;
  if (E->n_log == E->cap_log) {
    E->cap_log = E->cap_log ? 2 * E->cap_log : 64;
    E->log = realloc(E->log, E->cap_log * sizeof *E->log);
    IR_ASSERT(E->log);
  }
  E->log[E->n_log++] = e;
}

/* Forget values built since `mark` (they were built in a conditional arm
 * and do not dominate what follows). */
static void forget_since(Em *E, uint32_t mark) {
  for (uint32_t i = mark; i < E->n_log; i++) E->stamp[E->log[i]] = 0;
  E->n_log = mark;
}

static LLVMValueRef ev(Em *E, uint32_t e);

static LLVMValueRef splat(Em *E, LLVMValueRef s, int lanes) {
  LLVMTypeRef vt = LLVMVectorType(LLVMTypeOf(s), (unsigned)lanes);
  if (LLVMIsConstant(s)) {
    LLVMValueRef elems[64];
    for (int i = 0; i < lanes; i++) elems[i] = s;
    return LLVMConstVector(elems, (unsigned)lanes);
  }
  LLVMValueRef v = LLVMBuildInsertElement(E->b, LLVMGetPoison(vt), s,
                                          LLVMConstInt(E->i32, 0, 0), "");
  LLVMValueRef mask = LLVMConstNull(LLVMVectorType(E->i32, (unsigned)lanes));
  return LLVMBuildShuffleVector(E->b, v, LLVMGetPoison(vt), mask, "");
}

static LLVMValueRef elem_ptr(Em *E, uint32_t buf, uint32_t index) {
  LLVMValueRef idx = ev(E, index);
  LLVMTypeRef et = scalar_ty(E, E->k->params[buf].elem);
  return LLVMBuildInBoundsGEP2(E->b, et, E->f->param[buf], &idx, 1, "");
}

static LLVMValueRef unary(Em *E, const KExpr *x) {
  LLVMValueRef a = ev(E, x->a[0]);
  bool fl = is_float(x->type);
  LLVMTypeRef t = ty(E, x->type);
  switch ((KOp)x->op) {
  case KO_NEG: return fl ? LLVMBuildFNeg(E->b, a, "") : LLVMBuildNeg(E->b, a, "");
  case KO_NOT: return LLVMBuildNot(E->b, a, "");
  case KO_SQRT: return intrinsic(E, "llvm.sqrt", &t, 1, &a, 1);
  case KO_FLOOR: return intrinsic(E, "llvm.floor", &t, 1, &a, 1);
  case KO_ABS:
    if (fl) return intrinsic(E, "llvm.fabs", &t, 1, &a, 1);
    return LLVMBuildSelect(E->b,
                           LLVMBuildICmp(E->b, LLVMIntSLT, a, LLVMConstNull(t), ""),
                           LLVMBuildNeg(E->b, a, ""), a, "");
  default: IR_ASSERT(!"unary op");
  }
  return NULL;
}

static LLVMValueRef compare(Em *E, KOp op, bool fl, LLVMValueRef a,
                            LLVMValueRef b) {
  /* C's float compares are ordered except !=, which is true on NaN */
  static const LLVMRealPredicate fp[] = {LLVMRealOLT, LLVMRealOLE, LLVMRealOGT,
                                         LLVMRealOGE, LLVMRealOEQ, LLVMRealUNE};
  static const LLVMIntPredicate ip[] = {LLVMIntSLT, LLVMIntSLE, LLVMIntSGT,
                                        LLVMIntSGE, LLVMIntEQ, LLVMIntNE};
  int i = (int)op - KO_LT;
  IR_ASSERT(i >= 0 && i < 6);
  return fl ? LLVMBuildFCmp(E->b, fp[i], a, b, "") : LLVMBuildICmp(E->b, ip[i], a, b, "");
}

static LLVMValueRef binary(Em *E, const KExpr *x) {
  KType ta = E->k->exprs[x->a[0]].type;
  bool fl = is_float(ta), wide = ta.scalar == KT_I64;
  LLVMValueRef a = ev(E, x->a[0]), b = ev(E, x->a[1]);
  LLVMBuilderRef B = E->b;
  switch ((KOp)x->op) {
  /* i64 is index arithmetic: C's signed overflow is undefined, so nsw */
  case KO_ADD:
    return fl ? LLVMBuildFAdd(B, a, b, "") : wide ? LLVMBuildNSWAdd(B, a, b, "")
                                                  : LLVMBuildAdd(B, a, b, "");
  case KO_SUB:
    return fl ? LLVMBuildFSub(B, a, b, "") : wide ? LLVMBuildNSWSub(B, a, b, "")
                                                  : LLVMBuildSub(B, a, b, "");
  case KO_MUL:
    return fl ? LLVMBuildFMul(B, a, b, "") : wide ? LLVMBuildNSWMul(B, a, b, "")
                                                  : LLVMBuildMul(B, a, b, "");
  case KO_DIV: return fl ? LLVMBuildFDiv(B, a, b, "") : LLVMBuildSDiv(B, a, b, "");
  case KO_REM: return LLVMBuildSRem(B, a, b, "");
  case KO_AND: return LLVMBuildAnd(B, a, b, "");
  case KO_OR: return LLVMBuildOr(B, a, b, "");
  case KO_XOR: return LLVMBuildXor(B, a, b, "");
  case KO_SHL: return LLVMBuildShl(B, a, b, "");
  case KO_SHR: return LLVMBuildAShr(B, a, b, "");
  case KO_MIN:
  case KO_MAX: /* a > b ? a : b, as the C helpers and vector selects */
    return LLVMBuildSelect(B, compare(E, x->op == KO_MAX ? KO_GT : KO_LT, fl, a, b),
                           a, b, "");
  default: return compare(E, (KOp)x->op, fl, a, b);
  }
}

/* Scalar c ? a : b evaluating only the arm taken. */
static LLVMValueRef branchy_select(Em *E, const KExpr *x) {
  LLVMValueRef cond = ev(E, x->a[0]);
  LLVMValueRef fn = E->f->fn;
  LLVMBasicBlockRef bt = LLVMAppendBasicBlockInContext(E->ctx, fn, "sel.a");
  LLVMBasicBlockRef bf = LLVMAppendBasicBlockInContext(E->ctx, fn, "sel.b");
  LLVMBasicBlockRef join = LLVMAppendBasicBlockInContext(E->ctx, fn, "sel");
  LLVMBuildCondBr(E->b, cond, bt, bf);
  LLVMValueRef vals[2];
  LLVMBasicBlockRef from[2];
  LLVMBasicBlockRef arms[2] = {bt, bf};
  for (int i = 0; i < 2; i++) {
    LLVMPositionBuilderAtEnd(E->b, arms[i]);
    uint32_t mark = E->n_log;
    vals[i] = ev(E, x->a[1 + i]);
    forget_since(E, mark);
    from[i] = LLVMGetInsertBlock(E->b);
    LLVMBuildBr(E->b, join);
  }
  LLVMPositionBuilderAtEnd(E->b, join);
  LLVMValueRef phi = LLVMBuildPhi(E->b, ty(E, x->type), "");
  LLVMAddIncoming(phi, vals, from, 2);
  return phi;
}

static LLVMValueRef reduce(Em *E, const KExpr *x) {
  KType vt = E->k->exprs[x->a[0]].type;
  LLVMValueRef v = ev(E, x->a[0]);
  LLVMTypeRef t = ty(E, vt);
  if (is_float(vt)) {
    if (x->op == KO_ADD) {
      LLVMValueRef args[2] = {LLVMConstReal(scalar_ty(E, (KScalar)vt.scalar), -0.0), v};
      LLVMValueRef r = intrinsic(E, "llvm.vector.reduce.fadd", &t, 1, args, 2);
      LLVMSetFastMathFlags(r, LLVMFastMathAllowReassoc);
      return r;
    }
    return intrinsic(E, x->op == KO_MAX ? "llvm.vector.reduce.fmax"
                                        : "llvm.vector.reduce.fmin",
                     &t, 1, &v, 1);
  }
  const char *name = x->op == KO_ADD   ? "llvm.vector.reduce.add"
                     : x->op == KO_MAX ? "llvm.vector.reduce.smax"
                                       : "llvm.vector.reduce.smin";
  return intrinsic(E, name, &t, 1, &v, 1);
}

static LLVMValueRef convert(Em *E, const KExpr *x) {
  KType from = E->k->exprs[x->a[0]].type, to = x->type;
  LLVMValueRef a = ev(E, x->a[0]);
  LLVMTypeRef t = ty(E, to);
  bool ff = is_float(from), tf = is_float(to);
  if (ff && tf)
    return to.scalar == KT_F64 ? LLVMBuildFPExt(E->b, a, t, "")
                               : LLVMBuildFPTrunc(E->b, a, t, "");
  if (ff) return LLVMBuildFPToSI(E->b, a, t, ""); /* C: toward zero */
  if (tf) return LLVMBuildSIToFP(E->b, a, t, "");
  return to.scalar == KT_I64 ? LLVMBuildSExt(E->b, a, t, "")
                             : LLVMBuildTrunc(E->b, a, t, "");
}

static LLVMValueRef call(Em *E, const KExpr *x) {
  char name[64];
  snprintf(name, sizeof name, "%s%s", x->callee, x->type.scalar == KT_F32 ? "f" : "");
  LLVMTypeRef t = ty(E, x->type), params[2] = {t, t};
  unsigned n = x->a[1] == K_NONE ? 1 : 2;
  LLVMValueRef args[2] = {ev(E, x->a[0]), n == 2 ? ev(E, x->a[1]) : NULL};
  return call_fn(E, extern_fn(E, name, t, params, n), args, n);
}

static LLVMValueRef ev_uncached(Em *E, uint32_t e) {
  const KExpr *x = &E->k->exprs[e];
  switch (x->kind) {
  case KE_CONST:
    switch ((KScalar)x->type.scalar) {
    case KT_F32: return LLVMConstReal(E->f32, (double)(float)x->f);
    case KT_F64: return LLVMConstReal(E->f64, x->f);
    case KT_BOOL: return LLVMConstInt(E->i1, x->i != 0, 0);
    default: return LLVMConstInt(ty(E, x->type), (unsigned long long)x->i, 1);
    }
  case KE_VAR:
    IR_ASSERT(E->f->slot[x->var]);
    return LLVMBuildLoad2(E->b, ty(E, x->type), E->f->slot[x->var], "");
  case KE_PARAM: return E->f->param[x->param];
  case KE_LOAD: {
    LLVMValueRef l = LLVMBuildLoad2(E->b, ty(E, x->type),
                                    elem_ptr(E, x->param, x->a[0]), "");
    LLVMSetAlignment(l, 4);
    return l;
  }
  case KE_BROADCAST: return splat(E, ev(E, x->a[0]), x->type.lanes);
  case KE_UNARY: return unary(E, x);
  case KE_BINARY: return binary(E, x);
  case KE_FMA: {
    LLVMTypeRef t = ty(E, x->type);
    LLVMValueRef args[3] = {ev(E, x->a[0]), ev(E, x->a[1]), ev(E, x->a[2])};
    return intrinsic(E, E->c->fma ? "llvm.fma" : "llvm.fmuladd", &t, 1, args, 3);
  }
  case KE_SELECT:
    if (x->type.lanes == 1 && (E->traps[x->a[1]] || E->traps[x->a[2]]))
      return branchy_select(E, x);
    return LLVMBuildSelect(E->b, ev(E, x->a[0]), ev(E, x->a[1]), ev(E, x->a[2]), "");
  case KE_REDUCE: return reduce(E, x);
  case KE_CONVERT: return convert(E, x);
  case KE_BITCAST: return LLVMBuildBitCast(E->b, ev(E, x->a[0]), ty(E, x->type), "");
  case KE_CALL: return call(E, x);
  }
  IR_ASSERT(!"expression kind");
  return NULL;
}

static LLVMValueRef ev(Em *E, uint32_t e) {
  if (E->stamp[e] == E->gen) return E->val[e];
  LLVMValueRef v = ev_uncached(E, e);
  cache(E, e, v);
  return v;
}

/* ---- statements ------------------------------------------------------------- */

static void stmts(Em *E, uint32_t first);

static void store_status(Em *E, int code) {
  LLVMValueRef s = LLVMBuildStore(E->b, LLVMConstInt(E->i32, (unsigned)code, 0),
                                  E->f->status);
  if (E->f->shared_status) {
    LLVMSetOrdering(s, LLVMAtomicOrderingMonotonic);
    LLVMSetAlignment(s, 4);
  }
}

static void ret_status(Em *E) {
  LLVMValueRef s = LLVMBuildLoad2(E->b, E->i32, E->f->status, "status");
  LLVMBuildRet(E->b, s);
}

/* for var = lo; var < hi; var += step { body }: hi is re-evaluated in the
 * header from expression hi_e, or is the value hi_v. */
static void loop(Em *E, uint32_t var, LLVMValueRef lo, uint32_t hi_e,
                 LLVMValueRef hi_v, int64_t step, uint32_t body) {
  LLVMValueRef fn = E->f->fn, slot = var_slot(E, var);
  const char *name = E->k->vars[var].name;
  LLVMBasicBlockRef head = LLVMAppendBasicBlockInContext(E->ctx, fn, name);
  LLVMBasicBlockRef bb = LLVMAppendBasicBlockInContext(E->ctx, fn, "body");
  LLVMBasicBlockRef latch = LLVMAppendBasicBlockInContext(E->ctx, fn, "next");
  LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(E->ctx, fn, "done");
  LLVMBuildStore(E->b, lo, slot);
  LLVMBuildBr(E->b, head);

  LLVMPositionBuilderAtEnd(E->b, head);
  new_statement(E);
  LLVMValueRef hi = hi_v ? hi_v : ev(E, hi_e);
  LLVMValueRef iv = LLVMBuildLoad2(E->b, E->i64, slot, "");
  LLVMBuildCondBr(E->b, LLVMBuildICmp(E->b, LLVMIntSLT, iv, hi, ""), bb, done);

  LLVMPositionBuilderAtEnd(E->b, bb);
  LLVMBasicBlockRef outer = E->f->next;
  E->f->next = latch;
  stmts(E, body);
  E->f->next = outer;
  LLVMBuildBr(E->b, latch);

  LLVMPositionBuilderAtEnd(E->b, latch);
  iv = LLVMBuildLoad2(E->b, E->i64, slot, "");
  LLVMValueRef next = LLVMBuildNSWAdd(E->b, iv, i64c(E, step), "");
  LLVMBuildStore(E->b, next, slot);
  LLVMBuildBr(E->b, head);
  LLVMPositionBuilderAtEnd(E->b, done);
}

/* Variables a statement list reads or writes (used), declares (decl),
 * assigns (set). */
static void mark_expr(const Kernel *k, uint32_t e, bool *used) {
  const KExpr *x = &k->exprs[e];
  if (x->kind == KE_VAR) used[x->var] = true;
  for (int i = 0; i < 3; i++)
    if (x->a[i] != K_NONE) mark_expr(k, x->a[i], used);
}

static void mark_vars(const Kernel *k, uint32_t first, bool *used, bool *decl,
                      bool *set) {
  for (uint32_t id = first; id != K_NONE; id = k->stmts[id].next) {
    const KStmt *st = &k->stmts[id];
    for (int i = 0; i < 3; i++)
      if (st->a[i] != K_NONE) mark_expr(k, st->a[i], used);
    switch (st->kind) {
    case KS_FOR:
      decl[st->var] = true;
      mark_vars(k, st->body, used, decl, set);
      break;
    case KS_LET: decl[st->var] = true; break;
    case KS_SET: used[st->var] = set[st->var] = true; break;
    default: break;
    }
  }
}

static LLVMValueRef new_fn(Em *E, const char *name, LLVMTypeRef ret,
                           LLVMTypeRef *params, unsigned n, bool internal) {
  LLVMValueRef fn = LLVMAddFunction(E->mod, name, LLVMFunctionType(ret, params, n, 0));
  if (internal) LLVMSetLinkage(fn, LLVMInternalLinkage);
  fn_attrs(E, fn);
  return fn;
}

/* Begin a function's body: an entry block (allocas, then a branch) and the
 * first block of code. */
static void begin_fn(Em *E, Fn *f, LLVMValueRef fn) {
  f->fn = fn;
  f->entry = LLVMAppendBasicBlockInContext(E->ctx, fn, "entry");
  LLVMBasicBlockRef start = LLVMAppendBasicBlockInContext(E->ctx, fn, "start");
  LLVMPositionBuilderAtEnd(E->b, f->entry);
  LLVMBuildBr(E->b, start);
  LLVMPositionBuilderAtEnd(E->b, start);
  f->slot = calloc(E->k->n_vars ? E->k->n_vars : 1, sizeof *f->slot);
  f->param = calloc(E->k->n_params ? E->k->n_params : 1, sizeof *f->param);
  IR_ASSERT(f->slot && f->param);
}

static LLVMValueRef entry_alloca(Em *E, Fn *f, LLVMTypeRef t, const char *name) {
  LLVMBuilderRef ab = LLVMCreateBuilderInContext(E->ctx);
  LLVMPositionBuilderBefore(ab, LLVMGetBasicBlockTerminator(f->entry));
  LLVMValueRef a = LLVMBuildAlloca(ab, t, name);
  LLVMDisposeBuilder(ab);
  return a;
}

static void buffer_attrs(Em *E, LLVMValueRef fn, unsigned arg) {
  add_attr(E, fn, arg + 1, "noalias", 0);
  add_attr(E, fn, arg + 1, "align", 4);
}

/* A parallel loop: outline the body, call the runtime's parallel-for. */
static void parallel_loop(Em *E, const KStmt *st) {
  const Kernel *k = E->k;
  LLVMValueRef lo = ev(E, st->a[0]), hi = ev(E, st->a[1]);
  uint32_t nv = k->n_vars ? k->n_vars : 1;
  bool *used = calloc(nv, 1), *decl = calloc(nv, 1), *set = calloc(nv, 1);
  uint32_t *outer = calloc(nv, sizeof *outer), n_outer = 0;
  IR_ASSERT(used && decl && set && outer);
  decl[st->var] = true;
  mark_vars(k, st->body, used, decl, set);
  for (uint32_t v = 0; v < k->n_vars; v++)
    if (used[v] && !decl[v]) outer[n_outer++] = v;

  /* body(params..., outer var ptrs..., status ptr, i64 lo, i64 hi) */
  unsigned n_slots = k->n_params + n_outer + 1, n_args = n_slots + 2;
  LLVMTypeRef *pt = calloc(n_args, sizeof *pt);
  IR_ASSERT(pt);
  for (uint32_t i = 0; i < k->n_params; i++)
    pt[i] = k->params[i].kind == KP_BUF ? E->ptr : E->i64;
  for (uint32_t i = k->n_params; i < n_slots; i++) pt[i] = E->ptr;
  pt[n_slots] = pt[n_slots + 1] = E->i64;
  char name[256];
  int which = E->n_outlined++;
  snprintf(name, sizeof name, "%s.par%d", E->name, which);
  LLVMValueRef body = new_fn(E, name, E->vd, pt, n_args, true);
  add_attr(E, body, LLVMAttributeFunctionIndex, "alwaysinline", 0);
  for (uint32_t i = 0; i < k->n_params; i++)
    if (k->params[i].kind == KP_BUF) buffer_attrs(E, body, i);

  /* Build the body function. */
  LLVMBasicBlockRef resume = LLVMGetInsertBlock(E->b);
  Fn *parent = E->f, f = {0};
  begin_fn(E, &f, body);
  E->f = &f;
  for (uint32_t i = 0; i < k->n_params; i++) f.param[i] = LLVMGetParam(body, i);
  for (uint32_t j = 0; j < n_outer; j++) {
    uint32_t v = outer[j];
    LLVMValueRef p = LLVMGetParam(body, k->n_params + j);
    if (set[v]) {
      f.slot[v] = p; /* shared: assignments are seen by all */
    } else {
      f.slot[v] = entry_alloca(E, &f, ty(E, k->vars[v].type), k->vars[v].name);
      LLVMBuildStore(E->b, LLVMBuildLoad2(E->b, ty(E, k->vars[v].type), p, ""),
                     f.slot[v]);
    }
  }
  f.status = LLVMGetParam(body, n_slots - 1);
  f.shared_status = true;
  new_statement(E);
  loop(E, st->var, LLVMGetParam(body, n_slots), K_NONE,
       LLVMGetParam(body, n_slots + 1), st->step, st->body);
  LLVMBuildRetVoid(E->b);
  free(f.slot);
  free(f.param);
  E->f = parent;

  /* The thunk: void (ptr ctx, i64 lo, i64 hi). */
  snprintf(name, sizeof name, "%s.par%d.thunk", E->name, which);
  LLVMTypeRef tp[3] = {E->ptr, E->i64, E->i64};
  LLVMValueRef thunk = new_fn(E, name, E->vd, tp, 3, true);
  LLVMBasicBlockRef tb = LLVMAppendBasicBlockInContext(E->ctx, thunk, "entry");
  LLVMPositionBuilderAtEnd(E->b, tb);
  LLVMValueRef *args = calloc(n_args, sizeof *args);
  IR_ASSERT(args);
  LLVMValueRef ctx = LLVMGetParam(thunk, 0);
  for (unsigned i = 0; i < n_slots; i++) {
    LLVMValueRef idx = LLVMConstInt(E->i64, i, 0);
    LLVMValueRef at = LLVMBuildInBoundsGEP2(E->b, E->i64, ctx, &idx, 1, "");
    args[i] = LLVMBuildLoad2(E->b, pt[i], at, "");
  }
  args[n_slots] = LLVMGetParam(thunk, 1);
  args[n_slots + 1] = LLVMGetParam(thunk, 2);
  call_fn(E, body, args, n_args);
  LLVMBuildRetVoid(E->b);

  /* Back in the parent: fill the context, call the runtime. */
  LLVMPositionBuilderAtEnd(E->b, resume);
  LLVMValueRef ctxa = entry_alloca(E, E->f, LLVMArrayType(E->i64, n_slots), "ctx");
  for (unsigned i = 0; i < n_slots; i++) {
    LLVMValueRef v = i < k->n_params            ? E->f->param[i]
                     : i < k->n_params + n_outer ? var_slot(E, outer[i - k->n_params])
                                                 : E->f->status;
    LLVMValueRef idx = LLVMConstInt(E->i64, i, 0);
    LLVMBuildStore(E->b, v, LLVMBuildInBoundsGEP2(E->b, E->i64, ctxa, &idx, 1, ""));
  }
  LLVMTypeRef rp[5] = {E->ptr, E->ptr, E->i64, E->i64, E->i64};
  LLVMValueRef pf = extern_fn(E, "loom_parallel_for", E->vd, rp, 5);
  LLVMValueRef cargs[5] = {thunk, ctxa, lo, hi,
                           LLVMConstInt(E->i64, (unsigned long long)st->step, 1)};
  call_fn(E, pf, cargs, 5);
  free(args);
  free(pt);
  free(used);
  free(decl);
  free(set);
  free(outer);
}

static void stmts(Em *E, uint32_t first) {
  const Kernel *k = E->k;
  for (uint32_t id = first; id != K_NONE; id = k->stmts[id].next) {
    const KStmt *st = &k->stmts[id];
    new_statement(E);
    switch (st->kind) {
    case KS_FOR:
      if (st->parallel)
        parallel_loop(E, st);
      else
        loop(E, st->var, ev(E, st->a[0]), st->a[1], NULL, st->step, st->body);
      break;
    case KS_LET:
    case KS_SET: {
      LLVMValueRef v = ev(E, st->a[0]);
      LLVMBuildStore(E->b, v, var_slot(E, st->var));
      break;
    }
    case KS_STORE: {
      LLVMValueRef v = ev(E, st->a[1]);
      LLVMValueRef s = LLVMBuildStore(E->b, v, elem_ptr(E, st->param, st->a[0]));
      LLVMSetAlignment(s, 4);
      break;
    }
    case KS_CHECK: {
      LLVMValueRef cond = ev(E, st->a[0]);
      LLVMBasicBlockRef fail = LLVMAppendBasicBlockInContext(E->ctx, E->f->fn, "check.fail");
      LLVMBasicBlockRef ok = LLVMAppendBasicBlockInContext(E->ctx, E->f->fn, "check.ok");
      LLVMBuildCondBr(E->b, cond, fail, ok);
      LLVMPositionBuilderAtEnd(E->b, fail);
      store_status(E, st->code);
      if (E->f->next)
        LLVMBuildBr(E->b, E->f->next); /* continue */
      else
        ret_status(E);
      LLVMPositionBuilderAtEnd(E->b, ok);
      break;
    }
    }
  }
}

/* ---- kernels and thunks -------------------------------------------------- */

static void init_em(Em *E, CgLlvm *c) {
  memset(E, 0, sizeof *E);
  E->c = c;
  E->ctx = c->ctx;
  E->mod = c->mod;
  E->b = LLVMCreateBuilderInContext(c->ctx);
  E->i1 = LLVMInt1TypeInContext(c->ctx);
  E->i32 = LLVMInt32TypeInContext(c->ctx);
  E->i64 = LLVMInt64TypeInContext(c->ctx);
  E->f32 = LLVMFloatTypeInContext(c->ctx);
  E->f64 = LLVMDoubleTypeInContext(c->ctx);
  E->ptr = LLVMPointerTypeInContext(c->ctx, 0);
  E->vd = LLVMVoidTypeInContext(c->ctx);
}

/* i32 NAME(params): the kernel itself. */
static LLVMValueRef emit_kernel(Em *E, const Kernel *k, const char *name) {
  E->k = k;
  E->name = name;
  E->n_outlined = 0;
  uint32_t ne = k->n_exprs ? k->n_exprs : 1;
  E->val = calloc(ne, sizeof *E->val);
  E->stamp = calloc(ne, sizeof *E->stamp);
  E->traps = calloc(ne, sizeof *E->traps);
  IR_ASSERT(E->val && E->stamp && E->traps);
  E->gen = 0;
  /* Operands come before their users, so one pass in id order. */
  for (uint32_t e = 0; e < k->n_exprs; e++) {
    const KExpr *x = &k->exprs[e];
    bool t = x->kind == KE_LOAD ||
             (x->kind == KE_BINARY && !is_float(x->type) &&
              (x->op == KO_DIV || x->op == KO_REM));
    for (int i = 0; i < 3; i++)
      if (x->a[i] != K_NONE) t = t || E->traps[x->a[i]];
    E->traps[e] = t;
  }

  LLVMTypeRef *pt = calloc(k->n_params ? k->n_params : 1, sizeof *pt);
  IR_ASSERT(pt);
  for (uint32_t i = 0; i < k->n_params; i++)
    pt[i] = k->params[i].kind == KP_BUF ? E->ptr : E->i64;
  LLVMValueRef fn = new_fn(E, name, E->i32, pt, k->n_params, true);
  for (uint32_t i = 0; i < k->n_params; i++) {
    LLVMSetValueName2(LLVMGetParam(fn, i), k->params[i].name, strlen(k->params[i].name));
    if (k->params[i].kind == KP_BUF) buffer_attrs(E, fn, i);
  }
  Fn f = {0};
  begin_fn(E, &f, fn);
  E->f = &f;
  for (uint32_t i = 0; i < k->n_params; i++) f.param[i] = LLVMGetParam(fn, i);
  f.status = entry_alloca(E, &f, E->i32, "status");
  LLVMBuildStore(E->b, LLVMConstInt(E->i32, 0, 0), f.status);
  stmts(E, k->body);
  ret_status(E);
  free(f.slot);
  free(f.param);
  free(pt);
  free(E->val);
  free(E->stamp);
  free(E->traps);
  E->f = NULL;
  return fn;
}

/* i32 NAME_thunk(ptr args): args[i] is parameter i (a pointer or an i64). */
static LLVMValueRef emit_thunk(Em *E, const Kernel *k, LLVMValueRef kernel,
                               const char *name, bool internal) {
  LLVMValueRef fn = new_fn(E, name, E->i32, &E->ptr, 1, internal);
  LLVMPositionBuilderAtEnd(E->b, LLVMAppendBasicBlockInContext(E->ctx, fn, "entry"));
  LLVMValueRef *args = calloc(k->n_params ? k->n_params : 1, sizeof *args);
  IR_ASSERT(args);
  for (uint32_t i = 0; i < k->n_params; i++) {
    LLVMValueRef idx = LLVMConstInt(E->i64, i, 0);
    LLVMValueRef at = LLVMBuildInBoundsGEP2(E->b, E->i64, LLVMGetParam(fn, 0), &idx, 1, "");
    args[i] = LLVMBuildLoad2(E->b, k->params[i].kind == KP_BUF ? E->ptr : E->i64, at,
                             k->params[i].name);
  }
  LLVMBuildRet(E->b, call_fn(E, kernel, args, k->n_params));
  free(args);
  return fn;
}

/* ---- the model in an object file ------------------------------------------- */

/* A private constant C string. */
static LLVMValueRef cstr(Em *E, const char *s) {
  LLVMValueRef init = LLVMConstStringInContext2(E->ctx, s, strlen(s), 0);
  LLVMValueRef g = LLVMAddGlobal(E->mod, LLVMTypeOf(init), ".str");
  LLVMSetInitializer(g, init);
  LLVMSetGlobalConstant(g, 1);
  LLVMSetLinkage(g, LLVMPrivateLinkage);
  LLVMSetUnnamedAddress(g, LLVMGlobalUnnamedAddr);
  return g;
}

static LLVMValueRef const_global(Em *E, LLVMValueRef init, const char *name,
                                 bool internal) {
  LLVMValueRef g = LLVMAddGlobal(E->mod, LLVMTypeOf(init), name);
  LLVMSetInitializer(g, init);
  LLVMSetGlobalConstant(g, 1);
  if (internal) LLVMSetLinkage(g, LLVMInternalLinkage);
  return g;
}

static const char *value_name(const Graph *g, uint32_t v, char *buf, size_t cap) {
  if (g->values[v].name) return g->values[v].name;
  snprintf(buf, cap, "%%%u", v);
  return buf;
}

/* IoSpec (runtime/standalone/sa_model.c; cg_llvm_runtime_c declares it):
 * {name, dtype, rank, {{c, sym} x 8}, optional, shape text}. */
static LLVMValueRef io_spec(Em *E, LLVMTypeRef spec_t, LLVMTypeRef dim_t,
                            const Graph *g, uint32_t v, bool optional) {
  LLVMValueRef dims[IR_MAX_RANK];
  const Value *val = v == UINT32_MAX ? NULL : &g->values[v];
  for (int i = 0; i < IR_MAX_RANK; i++) {
    bool real = val && i < val->shape.rank;
    LLVMValueRef f[2] = {i64c(E, real ? val->shape.d[i].c : 0),
                         i32c(E, real ? val->shape.d[i].sym : -1)};
    dims[i] = LLVMConstNamedStruct(dim_t, f, 2);
  }
  char nb[32], shape[256];
  if (val) ir_format_shape(g, &val->shape, shape, sizeof shape);
  LLVMValueRef f[6] = {
      val ? cstr(E, value_name(g, v, nb, sizeof nb)) : LLVMConstNull(E->ptr),
      LLVMConstInt(E->i32, val && val->dtype == DT_I32 ? 1 : 0, 0),
      LLVMConstInt(E->i32, val ? (unsigned)val->shape.rank : 0, 0),
      LLVMConstArray2(dim_t, dims, IR_MAX_RANK),
      LLVMConstInt(E->i32, optional, 0),
      val ? cstr(E, shape) : LLVMConstNull(E->ptr)};
  return LLVMConstNamedStruct(spec_t, f, 6);
}

static bool can_fail(const Kernel *k) {
  for (uint32_t i = 0; i < k->n_stmts; i++)
    if (k->stmts[i].kind == KS_CHECK) return true;
  return false;
}


/* i32 forward(w, a, in, out, sym, err, errlen): one kernel call per step;
 * a kernel's code becomes loom_obj_step_failed(err, errlen, where, msg). */
static LLVMValueRef emit_forward(Em *E, const Program *p, const char *name,
                                 LLVMValueRef *kfn) {
  const Graph *g = p->g;
  LLVMTypeRef pt[7] = {E->ptr, E->ptr, E->ptr, E->ptr, E->ptr, E->ptr, E->i64};
  char fname[256];
  snprintf(fname, sizeof fname, "%s_forward", name);
  LLVMValueRef fn = new_fn(E, fname, E->i32, pt, 7, true);
  LLVMValueRef w = LLVMGetParam(fn, 0), a = LLVMGetParam(fn, 1),
               in = LLVMGetParam(fn, 2), out = LLVMGetParam(fn, 3),
               sym = LLVMGetParam(fn, 4);
  LLVMPositionBuilderAtEnd(E->b, LLVMAppendBasicBlockInContext(E->ctx, fn, "entry"));
  LLVMTypeRef fp[4] = {E->ptr, E->i64, E->ptr, E->ptr};
  LLVMValueRef failed = extern_fn(E, "loom_obj_step_failed", E->i32, fp, 4);
  for (uint32_t i = 0; i < p->n_steps; i++) {
    const PStep *s = &p->steps[i];
    const PKernel *pk = &p->kernels[s->kernel];
    LLVMValueRef args[K_MAX_PARAMS];
    IR_ASSERT(s->n_args <= K_MAX_PARAMS);
    for (uint32_t k = 0; k < s->n_args; k++) {
      KBind b = s->args[k];
      LLVMValueRef idx;
      if (b.kind == KB_SYM) {
        idx = LLVMConstInt(E->i64, b.id, 0);
        LLVMValueRef at = LLVMBuildInBoundsGEP2(E->b, E->i64, sym, &idx, 1, "");
        args[k] = LLVMBuildLoad2(E->b, E->i64, at, "");
        continue;
      }
      const PStore *st = &p->store[b.id];
      switch (st->kind) {
      case PS_INPUT:
      case PS_OUTPUT:
        idx = LLVMConstInt(E->i64, st->index, 0);
        args[k] = LLVMBuildLoad2(E->b, E->ptr,
                                 LLVMBuildInBoundsGEP2(E->b, E->ptr,
                                                       st->kind == PS_INPUT ? in : out,
                                                       &idx, 1, ""),
                                 "");
        break;
      case PS_WEIGHT:
      case PS_ARENA:
        idx = LLVMConstInt(E->i64, (unsigned long long)st->offset, 1);
        args[k] = LLVMBuildInBoundsGEP2(E->b, LLVMInt8TypeInContext(E->ctx),
                                        st->kind == PS_WEIGHT ? w : a, &idx, 1, "");
        break;
      }
    }
    LLVMValueRef rc = call_fn(E, kfn[s->kernel], args, s->n_args);
    if (!can_fail(pk->vec)) continue;
    /* where: error: msg, the message chosen by the code */
    const Node *n = &g->nodes[s->node];
    char where[1024] = "", msg[1024];
    if (n->loc.file && n->loc.line)
      snprintf(where, sizeof where, "%s:%u:%u", n->loc.file, n->loc.line, n->loc.col);
    else if (n->loc.file)
      snprintf(where, sizeof where, "%s", n->loc.file);
    LLVMBasicBlockRef bad = LLVMAppendBasicBlockInContext(E->ctx, fn, "failed");
    LLVMBasicBlockRef ok = LLVMAppendBasicBlockInContext(E->ctx, fn, "ok");
    LLVMBuildCondBr(E->b, LLVMBuildICmp(E->b, LLVMIntNE, rc, LLVMConstInt(E->i32, 0, 0), ""),
                    bad, ok);
    LLVMPositionBuilderAtEnd(E->b, bad);
    cg_kernel_message(g, n, 0, pk->name, msg, sizeof msg);
    LLVMValueRef m = cstr(E, msg);
    for (int c = 1; c < 32; c++) {
      bool has = false;
      for (uint32_t j = 0; j < pk->vec->n_stmts; j++)
        has = has || (pk->vec->stmts[j].kind == KS_CHECK && pk->vec->stmts[j].code == c);
      if (!has) continue;
      cg_kernel_message(g, n, c, pk->name, msg, sizeof msg);
      LLVMValueRef is_c = LLVMBuildICmp(E->b, LLVMIntEQ, rc, i32c(E, c), "");
      m = LLVMBuildSelect(E->b, is_c, cstr(E, msg), m, "");
    }
    LLVMValueRef fa[4] = {LLVMGetParam(fn, 5), LLVMGetParam(fn, 6), cstr(E, where), m};
    LLVMBuildRet(E->b, call_fn(E, failed, fa, 4));
    LLVMPositionBuilderAtEnd(E->b, ok);
  }
  LLVMBuildRet(E->b, LLVMConstInt(E->i32, 0, 0));
  return fn;
}

/* The API of NAME.h, each function `NAME_f` calling the runtime's
 * `loom_obj_f` with the model's descriptor in force.  Types: first the
 * result, then the parameters (v void, i int, l size_t/int64, p pointer). */
static const struct {
  const char *fn, *sig;
} api_fns[] = {
    {"create", "ipppl"},       {"create_from_memory", "iplppl"},
    {"free", "vp"},            {"name", "p"},
    {"num_inputs", "i"},       {"num_outputs", "i"},
    {"input_info", "iip"},     {"output_info", "iip"},
    {"weights_bytes", "l"},    {"arena_bytes", "l"},
    {"output_shapes", "ipipipl"}, {"run", "ippipipl"},
    {"tensor_bytes", "lp"},
};

static LLVMTypeRef sig_type(Em *E, char c) {
  return c == 'v' ? E->vd : c == 'i' ? E->i32 : c == 'l' ? E->i64 : E->ptr;
}

/* The model's descriptor (LoomObjModel of cg_llvm_runtime_c), forward,
 * and the API functions. */
static void emit_glue(Em *E, const Program *p, const char *name, LLVMValueRef *kfn) {
  const Graph *g = p->g;
  LLVMValueRef forward = emit_forward(E, p, name, kfn);
  LLVMTypeRef dim_t = LLVMStructCreateNamed(E->ctx, "IoDim");
  LLVMTypeRef df[2] = {E->i64, E->i32};
  LLVMStructSetBody(dim_t, df, 2, 0);
  LLVMTypeRef spec_t = LLVMStructCreateNamed(E->ctx, "IoSpec");
  LLVMTypeRef sf[6] = {E->ptr, E->i32, E->i32, LLVMArrayType2(dim_t, IR_MAX_RANK),
                       E->i32, E->ptr};
  LLVMStructSetBody(spec_t, sf, 6, 0);

  uint32_t n_in = ir_inputs(g, NULL, 0);
  uint32_t *ins = calloc(n_in + 1, sizeof *ins);
  LLVMValueRef *specs = calloc(n_in + g->n_outputs + 2, sizeof *specs);
  LLVMValueRef *names = calloc(g->n_syms + 1, sizeof *names);
  LLVMValueRef *bounds = calloc(g->n_syms + 1, sizeof *bounds);
  IR_ASSERT(ins && specs && names && bounds);
  ir_inputs(g, ins, n_in);
  for (uint32_t i = 0; i < n_in; i++)
    specs[i] = io_spec(E, spec_t, dim_t, g, ins[i],
                       ir_get_int(g, &g->nodes[g->values[ins[i]].node], "optional"));
  specs[n_in] = io_spec(E, spec_t, dim_t, g, UINT32_MAX, false);
  LLVMValueRef io_in = const_global(E, LLVMConstArray2(spec_t, specs, n_in + 1), "io_in", true);
  for (uint32_t i = 0; i < g->n_outputs; i++)
    specs[i] = io_spec(E, spec_t, dim_t, g, g->outputs[i], false);
  specs[g->n_outputs] = io_spec(E, spec_t, dim_t, g, UINT32_MAX, false);
  LLVMValueRef io_out =
      const_global(E, LLVMConstArray2(spec_t, specs, g->n_outputs + 1), "io_out", true);
  for (uint32_t s = 0; s < g->n_syms; s++) {
    names[s] = cstr(E, g->syms[s].name);
    bounds[s] = LLVMConstInt(E->i64, (unsigned long long)g->syms[s].bound, 1);
  }
  names[g->n_syms] = LLVMConstNull(E->ptr);
  bounds[g->n_syms] = LLVMConstInt(E->i64, 0, 0);
  LLVMValueRef sym_name =
      const_global(E, LLVMConstArray2(E->ptr, names, g->n_syms + 1), "sym_name", true);
  LLVMValueRef sym_bound =
      const_global(E, LLVMConstArray2(E->i64, bounds, g->n_syms + 1), "sym_bound", true);

  LLVMValueRef df_[12] = {
      cstr(E, g->name ? g->name : name),
      LLVMConstInt(E->i32, n_in, 0),
      LLVMConstInt(E->i32, g->n_outputs, 0),
      LLVMConstInt(E->i32, g->n_syms, 0),
      sym_name,
      sym_bound,
      io_in,
      io_out,
      LLVMConstInt(E->i64, cg_weights_hash(p), 0),
      LLVMConstInt(E->i64, (unsigned long long)p->weight_bytes, 0),
      LLVMConstInt(E->i64, (unsigned long long)p->arena_bytes, 0),
      forward};
  char gname[256];
  snprintf(gname, sizeof gname, "%s_descriptor", name);
  LLVMValueRef desc =
      const_global(E, LLVMConstStructInContext(E->ctx, df_, 12, 0), gname, true);

  LLVMValueRef use = extern_fn(E, "loom_obj_use", E->vd, &E->ptr, 1);
  for (size_t i = 0; i < sizeof api_fns / sizeof api_fns[0]; i++) {
    const char *sig = api_fns[i].sig;
    unsigned np = (unsigned)strlen(sig) - 1;
    LLVMTypeRef pt[8];
    for (unsigned k = 0; k < np; k++) pt[k] = sig_type(E, sig[k + 1]);
    char fname[256];
    snprintf(fname, sizeof fname, "loom_obj_%s", api_fns[i].fn);
    LLVMValueRef target = extern_fn(E, fname, sig_type(E, sig[0]), pt, np);
    snprintf(fname, sizeof fname, "%s_%s", name, api_fns[i].fn);
    LLVMValueRef fn = new_fn(E, fname, sig_type(E, sig[0]), pt, np, false);
    LLVMPositionBuilderAtEnd(E->b, LLVMAppendBasicBlockInContext(E->ctx, fn, "entry"));
    call_fn(E, use, &desc, 1);
    LLVMValueRef args[8];
    for (unsigned k = 0; k < np; k++) args[k] = LLVMGetParam(fn, k);
    LLVMValueRef r = call_fn(E, target, args, np);
    LLVMSetTailCall(r, 1);
    if (sig[0] == 'v')
      LLVMBuildRetVoid(E->b);
    else
      LLVMBuildRet(E->b, r);
  }
  free(ins);
  free(specs);
  free(names);
  free(bounds);
}

void cg_llvm_thunk_name(const Program *p, uint32_t kernel, char *buf, size_t cap) {
  snprintf(buf, cap, "%s_thunk", p->kernels[kernel].name);
}

/* ---- the module ------------------------------------------------------------- */

/* The optimization pipeline (part of the cache key). */
#define PIPELINE "default<O3>"
#define PIPELINE_OPTIONS "loop-vectorize slp-vectorize interleave unroll"

int cg_llvm_optimize(CgLlvm *c, Diag *d) {
  IR_ASSERT(!c->optimized);
  double t0 = now_ms();
  LLVMPassBuilderOptionsRef po = LLVMCreatePassBuilderOptions();
  LLVMPassBuilderOptionsSetLoopVectorization(po, 1);
  LLVMPassBuilderOptionsSetSLPVectorization(po, 1);
  LLVMPassBuilderOptionsSetLoopInterleaving(po, 1);
  LLVMPassBuilderOptionsSetLoopUnrolling(po, 1);
  LLVMErrorRef err = LLVMRunPasses(c->mod, PIPELINE, c->tm, po);
  LLVMDisposePassBuilderOptions(po);
  c->opt_ms = now_ms() - t0;
  c->optimized = true;
  if (err) {
    char *msg = LLVMGetErrorMessage(err);
    ir_errorf(d, no_loc(), "LLVM optimization failed: %s", msg);
    LLVMDisposeErrorMessage(msg);
    return -1;
  }
  return 0;
}

uint64_t cg_llvm_key(CgLlvm *c) {
  IR_ASSERT(!c->optimized);
  const char *parts[] = {"loom llvm 1", cg_llvm_version(), c->triple, c->cpu,
                         c->features, PIPELINE, PIPELINE_OPTIONS};
  uint64_t h = CG_HASH_INIT;
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
    h = cg_hash(h, parts[i], strlen(parts[i]) + 1);
  char *text = LLVMPrintModuleToString(c->mod);
  h = cg_hash(h, text, strlen(text));
  LLVMDisposeMessage(text);
  return h;
}

CgLlvm *cg_llvm_build(const Program *p, const CgLlvmOptions *o, Diag *d) {
  double t0 = now_ms();
  CgLlvm *c = calloc(1, sizeof *c);
  IR_ASSERT(c);
  c->p = p;
  if (setup_target(c, &p->target, d)) {
    cg_llvm_free(c);
    return NULL;
  }
  c->ctx = LLVMContextCreate();
  const char *mname = o && o->name ? o->name : (p->g->name ? p->g->name : "loom");
  c->mod = LLVMModuleCreateWithNameInContext(mname, c->ctx);
  LLVMSetTarget(c->mod, c->triple);
  LLVMTargetDataRef td = LLVMCreateTargetDataLayout(c->tm);
  LLVMSetModuleDataLayout(c->mod, td);
  LLVMDisposeTargetData(td);

  Em E;
  init_em(&E, c);
  bool glue = o && o->glue;
  LLVMValueRef *kfn = calloc(p->n_kernels ? p->n_kernels : 1, sizeof *kfn);
  IR_ASSERT(kfn);
  for (uint32_t i = 0; i < p->n_kernels; i++) {
    kfn[i] = emit_kernel(&E, p->kernels[i].vec, p->kernels[i].name);
    if (glue) continue; /* the model calls kernels directly */
    char tname[128];
    cg_llvm_thunk_name(p, i, tname, sizeof tname);
    emit_thunk(&E, p->kernels[i].vec, kfn[i], tname, false);
  }
  if (glue) emit_glue(&E, p, mname, kfn);
  free(kfn);
  LLVMDisposeBuilder(E.b);
  free(E.log);

  char *msg = NULL;
  if (LLVMVerifyModule(c->mod, LLVMReturnStatusAction, &msg)) {
    fprintf(stderr, "%s\n", msg);
    LLVMDisposeMessage(msg);
    IR_ASSERT(!"the LLVM module does not verify");
  }
  LLVMDisposeMessage(msg);
  c->build_ms = now_ms() - t0;
  if (!(o && o->unoptimized) && cg_llvm_optimize(c, d)) {
    cg_llvm_free(c);
    return NULL;
  }
  return c;
}

void cg_llvm_times(const CgLlvm *c, double *build_ms, double *opt_ms) {
  *build_ms = c->build_ms;
  *opt_ms = c->opt_ms;
}

void cg_llvm_free(CgLlvm *c) {
  if (!c) return;
  if (c->mod) LLVMDisposeModule(c->mod);
  if (c->ctx) LLVMContextDispose(c->ctx);
  if (c->tm) LLVMDisposeTargetMachine(c->tm);
  free(c->triple);
  free(c->cpu);
  free(c->features);
  free(c);
}

int cg_llvm_print_ir(CgLlvm *c, FILE *f) {
  char *s = LLVMPrintModuleToString(c->mod);
  int rc = fputs(s, f) < 0 ? -1 : 0;
  LLVMDisposeMessage(s);
  return rc;
}

/* Code generation runs on a copy: it may change the module it is given. */
static LLVMMemoryBufferRef machine_code(CgLlvm *c, LLVMCodeGenFileType kind,
                                        Diag *d) {
  LLVMModuleRef m = LLVMCloneModule(c->mod);
  char *err = NULL;
  LLVMMemoryBufferRef buf = NULL;
  if (LLVMTargetMachineEmitToMemoryBuffer(c->tm, m, kind, &err, &buf)) {
    ir_errorf(d, no_loc(), "LLVM code generation failed: %s", err);
    LLVMDisposeMessage(err);
    buf = NULL;
  }
  LLVMDisposeModule(m);
  return buf;
}

int cg_llvm_obj_bytes(CgLlvm *c, char **bytes, size_t *n, Diag *d) {
  LLVMMemoryBufferRef buf = machine_code(c, LLVMObjectFile, d);
  if (!buf) return -1;
  *n = LLVMGetBufferSize(buf);
  *bytes = malloc(*n ? *n : 1);
  IR_ASSERT(*bytes);
  memcpy(*bytes, LLVMGetBufferStart(buf), *n);
  LLVMDisposeMemoryBuffer(buf);
  return 0;
}

int cg_llvm_print_asm(CgLlvm *c, FILE *f, Diag *d) {
  LLVMMemoryBufferRef buf = machine_code(c, LLVMAssemblyFile, d);
  if (!buf) return -1;
  size_t n = LLVMGetBufferSize(buf);
  int rc = fwrite(LLVMGetBufferStart(buf), 1, n, f) == n ? 0 : -1;
  LLVMDisposeMemoryBuffer(buf);
  return rc;
}

int cg_llvm_write_obj(CgLlvm *c, const char *path, Diag *d) {
  LLVMMemoryBufferRef buf = machine_code(c, LLVMObjectFile, d);
  if (!buf) return -1;
  size_t n = LLVMGetBufferSize(buf);
  FILE *f = fopen(path, "wb");
  int rc = f && fwrite(LLVMGetBufferStart(buf), 1, n, f) == n ? 0 : -1;
  if (f && fclose(f)) rc = -1;
  LLVMDisposeMemoryBuffer(buf);
  if (rc) return ir_file_errorf(d, path, "cannot write the object file");
  return 0;
}

/* ---- the JIT ------------------------------------------------------------------ */

struct CgJit {
  LLVMOrcLLJITRef jit;
};

static int jit_error(Diag *d, LLVMErrorRef err) {
  char *msg = LLVMGetErrorMessage(err);
  ir_errorf(d, no_loc(), "LLVM JIT: %s", msg);
  LLVMDisposeErrorMessage(msg);
  return -1;
}

/* Symbols of the host process (libm), and loom_parallel_for by address, so
 * that it need not be exported. */
static int add_host_symbols(LLVMOrcLLJITRef J, Diag *d) {
  LLVMOrcJITDylibRef jd = LLVMOrcLLJITGetMainJITDylib(J);
  LLVMOrcDefinitionGeneratorRef gen;
  LLVMErrorRef err = LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(
      &gen, LLVMOrcLLJITGetGlobalPrefix(J), NULL, NULL);
  if (err) return jit_error(d, err);
  LLVMOrcJITDylibAddGenerator(jd, gen);
  LLVMOrcCSymbolMapPair sym = {
      LLVMOrcLLJITMangleAndIntern(J, "loom_parallel_for"),
      {(LLVMOrcJITTargetAddress)(uintptr_t)&loom_parallel_for,
       {LLVMJITSymbolGenericFlagsExported | LLVMJITSymbolGenericFlagsCallable, 0}}};
  err = LLVMOrcJITDylibDefine(jd, LLVMOrcAbsoluteSymbols(&sym, 1));
  return err ? jit_error(d, err) : 0;
}

CgJit *cg_jit_load(const void *obj, size_t n, Diag *d) {
  pthread_once(&init_once, init_llvm);
  if (init_failed) {
    ir_errorf(d, no_loc(), "LLVM has no native target");
    return NULL;
  }
  CgJit *j = calloc(1, sizeof *j);
  IR_ASSERT(j);
  LLVMErrorRef err = LLVMOrcCreateLLJIT(&j->jit, LLVMOrcCreateLLJITBuilder());
  if (err) {
    j->jit = NULL;
    jit_error(d, err);
    cg_jit_free(j);
    return NULL;
  }
  if (add_host_symbols(j->jit, d)) {
    cg_jit_free(j);
    return NULL;
  }
  LLVMMemoryBufferRef buf = LLVMCreateMemoryBufferWithMemoryRangeCopy(obj, n, "loom");
  err = LLVMOrcLLJITAddObjectFile(j->jit, LLVMOrcLLJITGetMainJITDylib(j->jit), buf);
  if (err) {
    jit_error(d, err);
    cg_jit_free(j);
    return NULL;
  }
  return j;
}

void *cg_jit_lookup(CgJit *j, const char *name, Diag *d) {
  LLVMOrcExecutorAddress addr = 0;
  LLVMErrorRef err = LLVMOrcLLJITLookup(j->jit, &addr, name);
  if (err) {
    jit_error(d, err);
    return NULL;
  }
  return (void *)(uintptr_t)addr;
}

void cg_jit_free(CgJit *j) {
  if (!j) return;
  if (j->jit) LLVMOrcDisposeLLJIT(j->jit);
  free(j);
}
