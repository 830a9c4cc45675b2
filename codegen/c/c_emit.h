/* c_emit.h — Kernel IR as portable C, and a whole model as a C program.
 *
 * Vector kernels use GCC/Clang vector extensions (`vector_size`), with
 * vectors only as local variables (never passed to or returned from
 * functions); scalar kernels (lanes 1) are plain C99 that any compiler
 * takes.  Parallel loops carry `#pragma omp parallel for` inside
 * `#ifdef _OPENMP`.
 *
 * cg_emit_c writes a model (a Program) as a self-contained directory:
 *   NAME.c, NAME.h   the model: kernels, one call per step, and the API
 *                    (NAME_create, NAME_run, ...; runtime/standalone/sa_model.c)
 *   NAME.weights     the weights blob with a header (the format is described
 *                    in runtime/standalone/sa_model.c)
 *   main.c           a command line with `loom run`'s arguments
 *   npy.c, npy.h     the .npy reader and writer main.c uses
 *   Makefile         make / make CC=clang-19 / make CC=tcc
 * NAME is the model's name as a C identifier (cg_c_name).  The output is
 * deterministic: the same program gives byte-identical files.
 */
#ifndef LOOM_CODEGEN_EMIT_C_H
#define LOOM_CODEGEN_EMIT_C_H

#include <stdint.h>
#include <stdio.h>

#include "codegen/kir/kir.h"
#include "codegen/program.h"

/* Type definitions and helpers that kernels of `lanes` lanes use (call once
 * per lane count; lanes 1 emits only the scalar helpers). */
void cg_c_prelude(FILE *f, int lanes);
/* lv_dotbf16 (KE_DOTBF16) for 16 lanes: vdpbf16ps where the compiler
 * targets AVX-512-BF16, else the same sum by shifts (c_kernel.c). */
void cg_c_dotbf16_helper(FILE *f);
/* One kernel as `static int NAME(params)`. */
void cg_c_kernel(FILE *f, const Kernel *k, const char *name);

/* ---- whole models (emit_c.c) --------------------------------------------- */

/* The includes the host side of a generated model needs (NAME.c from
 * emit-c, loom_obj.c from emit-obj): libc, libm, and mmap where POSIX has
 * it (LOOM_HAVE_MMAP). */
#define CG_C_HOST_INCLUDES                               \
  "#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)\n" \
  "#define _POSIX_C_SOURCE 200809L\n"                   \
  "#endif\n"                                            \
  "#include <math.h>\n"                                 \
  "#include <stdint.h>\n"                               \
  "#include <stdio.h>\n"                                \
  "#include <stdlib.h>\n"                               \
  "#include <string.h>\n"                               \
  "#if defined(__unix__) || defined(__APPLE__)\n"       \
  "#include <fcntl.h>\n"                                \
  "#include <sys/mman.h>\n"                             \
  "#include <sys/stat.h>\n"                             \
  "#include <unistd.h>\n"                               \
  "#define LOOM_HAVE_MMAP 1\n"                          \
  "#endif\n"

/* Files loom carries as text and writes out (cmake/embed_text.cmake):
 * "runtime/npy.c", "runtime/npy.h", "runtime/standalone/sa_model.c",
 * "runtime/standalone/sa_main.c"; the array ends with {NULL, NULL}. */
typedef struct {
  const char *path;
  const char *text;
} CgText;
extern const CgText cg_embedded[];
/* The embedded file `path` (an assertion when there is none). */
const char *cg_embedded_text(const char *path);
/* Write a template of runtime/standalone/ (see c_emit.c) with NAME_ made
 * name's and its `@@ FILE` lines expanded. */
void cg_put_template(FILE *f, const char *text, const char *name);

/* The model's name as a C identifier: other characters become '_', a
 * leading digit gets "m_" before it, a name that would clash with the other
 * files or libc ("main", "npy", "pthread", ...) gets "_model" after it; at
 * most cap - 1 characters. */
void cg_c_name(const char *model, char *out, size_t cap);

/* The texts of NAME.c, NAME.h, main.c and the Makefile (malloc'd). */
char *cg_c_source(const Program *p, const char *name);
char *cg_c_header(const Program *p, const char *name);
char *cg_c_main(const char *name);
/* Any embedded file (cg_embedded's path) with NAME_ made name_ (malloc'd). */
char *cg_c_template(const char *path, const char *name);
/* extra: more sources of the program and of lib (space-separated), or NULL */
char *cg_c_makefile(const Program *p, const char *name, const char *extra);

/* The weights file: a 64-byte header (magic, layout hash, sizes), then
 * cg_write_weights' blob.  The layout hash identifies what the kernels
 * expect (names, shapes, layouts, offsets); NAME_create checks it. */
#define CG_WEIGHTS_HEADER 64
uint64_t cg_weights_hash(const Program *p);
void cg_weights_header(const Program *p, unsigned char header[CG_WEIGHTS_HEADER]);
int cg_write_weights_file(const Program *p, FILE *f);

/* Write every file above into `dir` (which must exist).  `name` is the C
 * name.  On failure (an I/O error, reported in d) some files may have been
 * written: callers write into a temporary directory and rename. */
int cg_emit_c(const Program *p, const char *name, const char *dir, Diag *d);

/* The files both kinds of model directory (emit-c, emit-obj) have, in dir;
 * each returns 0 or -1 with an error naming the file. */
int cg_write_text(const char *dir, const char *file, const char *text, Diag *d);
/* NAME.h (runtime/standalone/sa_api.h) and NAME.weights */
int cg_write_common(const Program *p, const char *name, const char *dir, Diag *d);
/* p's weights file (header and blob) as dir/file */
int cg_write_weights_in(const Program *p, const char *dir, const char *file,
                        Diag *d);
/* main.c, npy.c, npy.h: the standalone command line */
int cg_write_cli(const char *name, const char *dir, Diag *d);

/* FNV-1a, 64 bits: cache keys and the layout hash. */
uint64_t cg_hash(uint64_t h, const void *data, size_t n);
#define CG_HASH_INIT 1469598103934665603ull

#endif
