/* c_cc.h — running the system C compiler on emitted C (loom build, the c
 * backend).
 *
 * The compiler is $CC (split at blanks, so "ccache gcc" works), default
 * "cc".  Emitted code is compiled with -O3 -std=gnu99 (ISO -std=c99 turns
 * off FMA contraction), the target's -march, and -fopenmp when the compiler
 * can link an OpenMP program (probed once per process).
 */
#ifndef LOOM_CODEGEN_CC_H
#define LOOM_CODEGEN_CC_H

#include <stdbool.h>
#include <stddef.h>

#include "codegen/cpu.h"
#include "ir/diag.h"

/* The compiler command as configured ($CC or "cc"). */
const char *cg_cc_name(void);

/* Whether $CC links a program with -fopenmp. */
bool cg_cc_has_openmp(void);

/* The flags for emitted code, one string ("-O3 -std=gnu99 -march=native
 * -fopenmp"); shared adds -fPIC -shared. */
void cg_cc_flags(const Target *t, bool shared, char *buf, size_t cap);

/* What identifies a compilation by cg_cc_flags, for cache keys: the
 * compiler command and the flags, without running the compiler (cg_cc_flags
 * probes OpenMP). */
void cg_cc_key(const Target *t, bool shared, char *buf, size_t cap);

/* Compile srcs (paths relative to dir, NULL-terminated) into `out` (relative
 * to dir) in directory dir, with cg_cc_flags plus `extra` (NULL-terminated,
 * may be NULL) and -lm.  The compiler's output goes to dir/cc.log; on
 * failure its first lines are in the error. */
int cg_cc_compile(const char *dir, const char *const *srcs, const char *out,
                  const Target *t, bool shared, const char *const *extra,
                  Diag *d);

/* A fresh directory "PREFIX.XXXXXX" (mkdtemp); NULL on failure (errno). */
char *cg_mkdtemp(const char *prefix);
/* Remove a directory and the files in it (not recursive below that). */
void cg_rmdir_files(const char *dir);
/* mkdir -p */
int cg_mkdir_p(const char *dir);
/* The compiled-code cache directory, created if absent: `override` when
 * set, else $XDG_CACHE_HOME/loom, ~/.cache/loom, or /tmp/loom-cache-UID.
 * 0, or -1 with errno. */
int cg_cache_dir(const char *override, char *buf, size_t cap);

#endif
