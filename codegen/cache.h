/* cache.h — entries of the compiled-code cache that heal themselves.
 *
 * The c backend caches shared objects and the jit backend object files in
 * one directory (cg_cache_dir).  A cache entry can be damaged behind
 * loom's back — a full disk, a crash of the machine, a careless user —
 * and a damaged shared object made dlopen die with SIGBUS on every later
 * run.  So every entry ends with a 32-byte trailer written with it:
 *
 *   "LOOMSUM1"  u64 payload bytes  u64 FNV-1a 64 of the payload  "LOOMEND1"
 *
 * (little-endian; a trailer after an ELF image does not disturb dlopen).
 * An entry is written under a temporary name and renamed into place, and
 * checked — size and hash — before every use; one that fails the check is
 * removed and compiled again.
 *
 * Temporaries carry the pid of the process that makes them
 * (".build-PID-…", ".jit-PID-…"): a process killed while compiling leaves
 * them behind, and the next run removes those whose process is gone.
 */
#ifndef LOOM_CODEGEN_CACHE_H
#define LOOM_CODEGEN_CACHE_H

#include <stdbool.h>
#include <stddef.h>

#define CG_CACHE_TRAILER 32

/* Append the trailer to the complete file `tmp` and rename it to `path`.
 * 0, or -1 with errno (tmp is removed then). */
int cg_cache_seal(const char *tmp, const char *path);

/* Write bytes[0..n) as the entry `path` (a temporary in dir, sealed).
 * 0, or -1 with errno. */
int cg_cache_write(const char *dir, const char *path, const void *bytes,
                   size_t n);

/* The entry's payload (malloc'd, *n bytes), or NULL when it is absent or
 * damaged — a damaged entry is removed, so it is compiled again. */
char *cg_cache_read(const char *path, size_t *n);

/* Whether the entry at path is whole (for a shared object, which is
 * dlopen'ed in place); a damaged one is removed. */
bool cg_cache_check(const char *path);

/* Remove the temporaries in dir whose process is gone (.build-PID-*
 * directories, .jit-PID-* files), and cc.c's OpenMP probes in $TMPDIR
 * (loom-omp-PID.*). */
void cg_cache_clean(const char *dir);

#endif
