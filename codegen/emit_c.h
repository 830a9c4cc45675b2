/* emit_c.h — Kernel IR as portable C.
 *
 * Vector kernels use GCC/Clang vector extensions (`vector_size`), with
 * vectors only as local variables (never passed to or returned from
 * functions); scalar kernels (lanes 1) are plain C99 that any compiler
 * takes.  Parallel loops carry `#pragma omp parallel for` inside
 * `#ifdef _OPENMP`.
 */
#ifndef LOOM_CODEGEN_EMIT_C_H
#define LOOM_CODEGEN_EMIT_C_H

#include <stdio.h>

#include "codegen/kir.h"

/* Type definitions and helpers that kernels of `lanes` lanes use (call once
 * per lane count; lanes 1 emits only the scalar helpers). */
void cg_c_prelude(FILE *f, int lanes);
/* One kernel as `static int NAME(params)`. */
void cg_c_kernel(FILE *f, const Kernel *k, const char *name);

#endif
