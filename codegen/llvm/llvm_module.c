/* llvm_module.c — the LLVM module of a Program and its machine code:
 * LLVM's setup for the target, building (kernels by llvm_kernel.c, glue by
 * llvm_glue.c), the O3 pipeline, the cache key, object files and assembly,
 * and the ORC LLJIT that links such an object file into the process (see
 * llvm_kernel.c's essay for how the code is generated).
 */
#include "codegen/llvm/llvm_internal.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <llvm-c/Analysis.h>
#include <llvm-c/BitWriter.h>
#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include "codegen/c/c_emit.h"
#include "runtime/parallel.h"

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
    *features = strdup(t->features_llvm ? t->features_llvm : "");
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
  /* the module as bitcode: the same module gives the same bytes, and
   * writing them takes a tenth of printing the text (BERT-base: 70 ms) */
  LLVMMemoryBufferRef bc = LLVMWriteBitcodeToMemoryBuffer(c->mod);
  IR_ASSERT(bc);
  h = cg_hash(h, LLVMGetBufferStart(bc), LLVMGetBufferSize(bc));
  LLVMDisposeMemoryBuffer(bc);
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
  lv_init(&E, c);
  bool glue = o && o->glue;
  LLVMValueRef *kfn = calloc(p->n_kernels ? p->n_kernels : 1, sizeof *kfn);
  IR_ASSERT(kfn);
  for (uint32_t i = 0; i < p->n_kernels; i++) {
    kfn[i] = lv_kernel(&E, p->kernels[i].vec, p->kernels[i].name);
    if (glue) continue; /* the model calls kernels directly */
    char tname[128];
    cg_llvm_thunk_name(p, i, tname, sizeof tname);
    lv_thunk(&E, p->kernels[i].vec, kfn[i], tname, false);
  }
  if (glue) lv_glue(&E, p, mname, kfn);
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

