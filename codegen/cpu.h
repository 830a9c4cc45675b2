/* cpu.h — resolving the Target (ir/target.h) of a compile.
 *
 * Detected from the host (cpuid through the compiler's builtins, cache
 * sizes from sysfs) or named with --target; the tile plan is filled in the
 * same call (codegen/kpass/tile.c), so every Target in use has one.  The
 * vector width decides the lanes of every vector in the Kernel IR;
 * `generic` has no vectors.
 */
#ifndef LOOM_CODEGEN_CPU_H
#define LOOM_CODEGEN_CPU_H

#include "ir/target.h"

/* "native" (or NULL) detects the host; otherwise one of the names above.
 * Returns 0, or -1 for an unknown name. */
int cg_target(const char *name, Target *out);
/* The names --target accepts, for help texts and errors. */
extern const char *const cg_target_names;

#endif
