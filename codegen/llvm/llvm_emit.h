/* llvm_emit.h — a Program as LLVM IR, optimized for a target.
 *
 * cg_llvm_build prints every unique kernel of a Program (codegen/program.h)
 * through the LLVM C API — the same Kernel IR the C emitter prints, with no
 * per-op code of its own — verifies the module and runs the O3 pipeline for
 * the target CPU.  Its machine code is an object file — which the JIT
 * (cg_jit_*, for api/backend_jit.c) links into the process, and which
 * `loom emit-obj` writes — or assembly; the module also prints as LLVM IR.
 *
 * Symbols of the module:
 *   KERNEL(ptr noalias align 4 buf..., i64 sym...) -> i32   internal
 *   KERNEL_thunk(ptr args) -> i32    args: one 8-byte slot per parameter
 *                                    (a buffer pointer or an i64), in order
 *   with glue (object files), instead of the thunks: NAME_forward (one
 *   kernel call per step), NAME_descriptor (the model's tables) and the
 *   API of NAME.h (codegen/llvm/llvm_obj.c explains).
 *
 * This header has no LLVM types: code that includes it needs no LLVM
 * headers.
 */
#ifndef LOOM_CODEGEN_EMIT_LLVM_H
#define LOOM_CODEGEN_EMIT_LLVM_H

#include <stdbool.h>
#include <stdio.h>

#include "codegen/program.h"

typedef struct CgLlvm CgLlvm;

typedef struct {
  const char *name; /* the model's C identifier (glue symbols NAME_...) */
  bool glue;        /* also emit the model descriptor (object files) */
  bool unoptimized; /* stop before O3 (cg_llvm_key, then cg_llvm_optimize) */
} CgLlvmOptions;

/* Build, verify and optimize the module for p (p->target says the CPU).
 * NULL with d set when LLVM cannot target that CPU. */
CgLlvm *cg_llvm_build(const Program *p, const CgLlvmOptions *o, Diag *d);
/* The O3 pipeline, for a module built with o->unoptimized. */
int cg_llvm_optimize(CgLlvm *c, Diag *d);
/* What the machine code depends on, hashed (the JIT's cache key): the
 * unoptimized module's text (which names the CPU and its features), the
 * pipeline, LLVM's version.  Before cg_llvm_optimize. */
uint64_t cg_llvm_key(CgLlvm *c);
void cg_llvm_free(CgLlvm *c);
/* Milliseconds spent building the module, and optimizing it. */
void cg_llvm_times(const CgLlvm *c, double *build_ms, double *opt_ms);

/* The optimized module as LLVM IR text. */
int cg_llvm_print_ir(CgLlvm *c, FILE *f);
/* Machine code: assembly text to f, or an object file at path. */
int cg_llvm_print_asm(CgLlvm *c, FILE *f, Diag *d);
int cg_llvm_write_obj(CgLlvm *c, const char *path, Diag *d);

/* The module's machine code, an object file (malloc'd bytes). */
int cg_llvm_obj_bytes(CgLlvm *c, char **bytes, size_t *n, Diag *d);

/* "kN_op_thunk" for kernel i of p, into buf. */
void cg_llvm_thunk_name(const Program *p, uint32_t kernel, char *buf,
                        size_t cap);

/* ---- the JIT ------------------------------------------------------------- */

/* An ORC LLJIT holding one object file (cg_llvm_obj_bytes' bytes, copied),
 * linked into this process: its libm calls resolve to the host's, its
 * loom_parallel_for to runtime/parallel.c. */
typedef struct CgJit CgJit;
CgJit *cg_jit_load(const void *obj, size_t n, Diag *d);
/* The address of a symbol of the object ("k3_matmul_thunk"); NULL with d
 * set when it has none. */
void *cg_jit_lookup(CgJit *j, const char *name, Diag *d);
void cg_jit_free(CgJit *j);

/* ---- object files (llvm_obj.c) ----------------------------------------- */

/* Write NAME.o alone (the model: kernels, steps, descriptor, API). */
int cg_emit_obj_model(const Program *p, const char *name, const char *dir,
                      Diag *d);
/* Write NAME.o, NAME.h (the C backend's header), NAME.weights and
 * loom_obj.c (the host side, the same for every model) into dir. */
int cg_emit_obj(const Program *p, const char *name, const char *dir, Diag *d);
/* cg_emit_obj, and main.c, npy.c and npy.h (emit-c's command line): the
 * sources of `loom build --via llvm`, which compiles main.c, loom_obj.c and
 * npy.c — never the model — and links them with NAME.o. */
int cg_emit_obj_program(const Program *p, const char *name, const char *dir,
                        Diag *d);
/* The text of loom_obj.c (malloc'd). */
char *cg_obj_runtime_c(void);

/* "19.1.7" */
const char *cg_llvm_version(void);

#endif
