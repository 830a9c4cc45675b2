/* target.h — what the generated code may assume about the CPU.
 *
 * Detected from the host (cpuid through the compiler's builtins, cache
 * sizes from sysfs) or named with --target.  The vector width decides the
 * lanes of every vector in the Kernel IR; `generic` has no vectors.
 */
#ifndef LOOM_CODEGEN_TARGET_H
#define LOOM_CODEGEN_TARGET_H

#include <stdint.h>

typedef struct {
  const char *name;     /* "x86-64-v4", "x86-64-v3", "x86-64-v2", "generic" */
  const char *cpu;      /* LLVM CPU name: the host's, or "x86-64-v4", ... */
  const char *cflags;   /* C compiler flags: "-march=x86-64-v4", "" */
  int lanes;            /* f32 lanes of a vector: 16, 8, 4, 1 */
  int64_t l1d, l2, l3;  /* data cache sizes in bytes */
  int native;           /* detected from this host */
} Target;

/* "native" (or NULL) detects the host; otherwise one of the names above.
 * Returns 0, or -1 for an unknown name. */
int cg_target(const char *name, Target *out);
/* The names --target accepts, for help texts and errors. */
extern const char *const cg_target_names;

#endif
