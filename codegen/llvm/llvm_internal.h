/* llvm_internal.h — what the LLVM backend's files share (codegen/llvm/
 * only): the module being built (CgLlvm), the printer's state (Em, Fn) and
 * the few builders the kernel printer (llvm_kernel.c), the program glue
 * (llvm_glue.c) and the module and JIT code (llvm_module.c) all use.
 */
#ifndef LOOM_CODEGEN_LLVM_INTERNAL_H
#define LOOM_CODEGEN_LLVM_INTERNAL_H

#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>

#include "codegen/llvm/llvm_emit.h"

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

LLVMValueRef lv_i64(Em *E, int64_t v);
LLVMValueRef lv_i32(Em *E, int64_t v);
/* An external function of the module (declared on first use). */
LLVMValueRef lv_extern(Em *E, const char *name, LLVMTypeRef ret,
                              LLVMTypeRef *params, unsigned n);
LLVMValueRef lv_call(Em *E, LLVMValueRef fn, LLVMValueRef *args,
                            unsigned n);
LLVMValueRef lv_new_fn(Em *E, const char *name, LLVMTypeRef ret,
                           LLVMTypeRef *params, unsigned n, bool internal);
void lv_init(Em *E, CgLlvm *c);
/* i32 NAME(params): the kernel itself. */
LLVMValueRef lv_kernel(Em *E, const Kernel *k, const char *name);
/* i32 NAME_thunk(ptr args): args[i] is parameter i (a pointer or an i64). */
LLVMValueRef lv_thunk(Em *E, const Kernel *k, LLVMValueRef kernel,
                               const char *name, bool internal);
/* The model's descriptor (LoomObjModel of runtime/standalone/sa_obj.c), forward,
 * and the API functions. */
void lv_glue(Em *E, const Program *p, const char *name, LLVMValueRef *kfn);

#endif
