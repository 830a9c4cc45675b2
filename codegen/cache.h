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
 * (".build-PID-…", ".jit-PID-…", ".prep-PID-…"): a process killed while
 * compiling leaves them behind, and the next run removes those whose
 * process is gone.
 *
 * Big entries (the prepared models of api/prep_cache.c: hundreds of MB of
 * packed weights) are mapped, not read, and FNV-1a at a byte a step would
 * cost more than the load it saves.  They end with the same trailer under
 * the magic "LOOMSUMW", whose hash is cg_hash_big's: the payload in blocks
 * of 1 MiB, each hashed 8 bytes a step in four independent lanes (xxh64's
 * round), the blocks' hashes in parallel, then combined in order.  They
 * are written through a CgCacheWriter, which hashes each block as it
 * fills, so writing never reads the file back; and they are not fsync'ed:
 * a file the machine's crash left short or zeroed fails its check.
 */
#ifndef LOOM_CODEGEN_CACHE_H
#define LOOM_CODEGEN_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* The block hash of the big entries (above); threads over the blocks. */
uint64_t cg_hash_big(const void *bytes, size_t n);

/* A big entry being written: a temporary in the cache directory, fed in
 * order, hashed a block at a time. */
typedef struct CgCacheWriter CgCacheWriter;
/* NULL (errno set) when no temporary can be made in dir. */
CgCacheWriter *cg_cache_writer(const char *dir);
/* Append bytes; false after any write error (then commit fails). */
bool cg_cache_put(CgCacheWriter *w, const void *bytes, size_t n);
/* Append zeros up to the next multiple of align. */
bool cg_cache_pad(CgCacheWriter *w, size_t align);
/* Bytes appended so far. */
size_t cg_cache_written(const CgCacheWriter *w);
/* Append the trailer and rename to path (0), or remove the temporary
 * (-1, errno set); w is freed either way. */
int cg_cache_commit(CgCacheWriter *w, const char *path);
void cg_cache_abort(CgCacheWriter *w);

/* Map the big entry at path read-only.  With check, its pages are read in
 * (MAP_POPULATE) and its trailer and hash checked; a damaged entry is
 * removed and NULL returned.  Without, only its size and trailer magic
 * (for an entry this process has just written).  *n gets the payload's
 * bytes; unmap with munmap(p, *mapped). */
void *cg_cache_map(const char *path, bool check, size_t *n, size_t *mapped);

/* Remove the temporaries in dir whose process is gone (.build-PID-*
 * directories, .jit-PID-* and .prep-PID-* files), and cc.c's OpenMP probes in $TMPDIR
 * (loom-omp-PID.*). */
void cg_cache_clean(const char *dir);

#endif
