/* llvm_kernel.c — Kernel IR as LLVM IR through the LLVM C API (llvm_emit.h).
 *
 * The printer walks a kernel's statements as the C printer does
 * (codegen/c/c_kernel.c) and builds the same meaning:
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
#include "codegen/llvm/llvm_internal.h"

#include <stdlib.h>
#include <string.h>


/* ---- the printer's state ---------------------------------------------------- */



LLVMValueRef lv_i64(Em *E, int64_t v) {
  return LLVMConstInt(E->i64, (unsigned long long)v, 1);
}

LLVMValueRef lv_i32(Em *E, int64_t v) {
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
LLVMValueRef lv_extern(Em *E, const char *name, LLVMTypeRef ret,
                              LLVMTypeRef *params, unsigned n) {
  LLVMValueRef fn = LLVMGetNamedFunction(E->mod, name);
  if (!fn) {
    fn = LLVMAddFunction(E->mod, name, LLVMFunctionType(ret, params, n, 0));
    add_attr(E, fn, LLVMAttributeFunctionIndex, "nounwind", 0);
  }
  return fn;
}

LLVMValueRef lv_call(Em *E, LLVMValueRef fn, LLVMValueRef *args,
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
  return lv_call(E, lv_extern(E, name, t, params, n), args, n);
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
  case KE_DOTBF16: {
    /* vdpbf16ps: the i32 lanes' halves are the intrinsic's bf16 pairs */
    IR_ASSERT(x->type.lanes == 16);
    LLVMTypeRef bf = LLVMVectorType(LLVMBFloatTypeInContext(E->ctx), 32);
    LLVMValueRef args[3] = {ev(E, x->a[0]), LLVMBuildBitCast(E->b, ev(E, x->a[1]), bf, ""),
                            LLVMBuildBitCast(E->b, ev(E, x->a[2]), bf, "")};
    return intrinsic(E, "llvm.x86.avx512bf16.dpbf16ps.512", NULL, 0, args, 3);
  }
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
  LLVMValueRef next = LLVMBuildNSWAdd(E->b, iv, lv_i64(E, step), "");
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

LLVMValueRef lv_new_fn(Em *E, const char *name, LLVMTypeRef ret,
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
  LLVMValueRef body = lv_new_fn(E, name, E->vd, pt, n_args, true);
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
  LLVMValueRef thunk = lv_new_fn(E, name, E->vd, tp, 3, true);
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
  lv_call(E, body, args, n_args);
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
  LLVMValueRef pf = lv_extern(E, "loom_parallel_for", E->vd, rp, 5);
  LLVMValueRef cargs[5] = {thunk, ctxa, lo, hi,
                           LLVMConstInt(E->i64, (unsigned long long)st->step, 1)};
  lv_call(E, pf, cargs, 5);
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
    case KS_PREFETCH: { /* llvm.prefetch(p, read, locality 2: L2, data) */
      LLVMValueRef idx = ev(E, st->a[0]);
      LLVMTypeRef et = scalar_ty(E, E->k->params[st->param].elem);
      LLVMValueRef args[4] = {
          LLVMBuildGEP2(E->b, et, E->f->param[st->param], &idx, 1, ""),
          LLVMConstInt(E->i32, 0, 0), LLVMConstInt(E->i32, 2, 0),
          LLVMConstInt(E->i32, 1, 0)};
      LLVMTypeRef over = E->ptr;
      intrinsic(E, "llvm.prefetch", &over, 1, args, 4);
      break;
    }
    }
  }
}

/* ---- kernels and thunks -------------------------------------------------- */

void lv_init(Em *E, CgLlvm *c) {
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
LLVMValueRef lv_kernel(Em *E, const Kernel *k, const char *name) {
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
  LLVMValueRef fn = lv_new_fn(E, name, E->i32, pt, k->n_params, true);
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
LLVMValueRef lv_thunk(Em *E, const Kernel *k, LLVMValueRef kernel,
                               const char *name, bool internal) {
  LLVMValueRef fn = lv_new_fn(E, name, E->i32, &E->ptr, 1, internal);
  LLVMPositionBuilderAtEnd(E->b, LLVMAppendBasicBlockInContext(E->ctx, fn, "entry"));
  LLVMValueRef *args = calloc(k->n_params ? k->n_params : 1, sizeof *args);
  IR_ASSERT(args);
  for (uint32_t i = 0; i < k->n_params; i++) {
    LLVMValueRef idx = LLVMConstInt(E->i64, i, 0);
    LLVMValueRef at = LLVMBuildInBoundsGEP2(E->b, E->i64, LLVMGetParam(fn, 0), &idx, 1, "");
    args[i] = LLVMBuildLoad2(E->b, k->params[i].kind == KP_BUF ? E->ptr : E->i64, at,
                             k->params[i].name);
  }
  LLVMBuildRet(E->b, lv_call(E, kernel, args, k->n_params));
  free(args);
  return fn;
}

