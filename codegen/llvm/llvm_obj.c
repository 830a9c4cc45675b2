/* llvm_obj.c — a model as an object file: `loom emit-obj` and the files of
 * `loom build --via llvm`.
 *
 * NAME.o holds everything that is the model: its kernels, `forward` (one
 * kernel call per step, built in LLVM IR), its tables (inputs, outputs,
 * symbols, weights layout hash, arena size) as a constant descriptor, and
 * the API of NAME.h — the header the C backend writes (cg_c_header), so
 * a program cannot tell the two kinds of model apart.  Each NAME_f names
 * the descriptor (loom_obj_use) and calls loom_obj_f.
 *
 * loom_obj.c is the same for every model: the C backend's host side
 * (runtime/standalone/sa_model.c: mapping the weights file, matching and
 * checking tensors, binding symbols) instantiated once as loom_obj_*, its
 * tables read through the descriptor in force, plus the parallel-for the
 * kernels call (runtime/parallel.c).  No C compiler ever sees the model:
 * `loom build --via llvm` compiles loom_obj.c, main.c and npy.c — loom's
 * runtime — and links them with NAME.o.
 *
 * The descriptor is per thread (each API call sets it before it reads any
 * table), so several models can live in one program and be used from
 * several threads.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/c/c_emit.h"
#include "codegen/llvm/llvm_emit.h"
#include "loom.h"

/* loom_obj.c: runtime/standalone/sa_obj.c instantiated as loom_obj_. */
char *cg_obj_runtime_c(void) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  IR_ASSERT(f);
  cg_put_template(f, cg_embedded_text("runtime/standalone/sa_obj.c"), "loom_obj");
  IR_ASSERT(fclose(f) == 0);
  return text;
}


int cg_emit_obj_model(const Program *p, const char *name, const char *dir,
                      Diag *d) {
  char path[4096];
  CgLlvmOptions o = {.name = name, .glue = true};
  CgLlvm *c = cg_llvm_build(p, &o, d);
  if (!c) return -1;
  snprintf(path, sizeof path, "%s/%s.o", dir, name);
  int rc = cg_llvm_write_obj(c, path, d);
  cg_llvm_free(c);
  return rc;
}

int cg_emit_obj(const Program *p, const char *name, const char *dir, Diag *d) {
  int rc = cg_emit_obj_model(p, name, dir, d);
  if (rc) return rc;
  char *rt = cg_obj_runtime_c();
  rc = cg_write_text(dir, "loom_obj.c", rt, d);
  free(rt);
  return rc ? rc : cg_write_common(p, name, dir, d);
}

int cg_emit_obj_program(const Program *p, const char *name, const char *dir,
                        Diag *d) {
  return cg_emit_obj(p, name, dir, d) ? -1 : cg_write_cli(name, dir, d);
}
