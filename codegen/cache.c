/* cache.c — see cache.h: sealed, checked, atomically written cache
 * entries, and the removal of what killed processes left behind. */
#include "codegen/cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codegen/c/c_cc.h"
#include "codegen/c/c_emit.h"
#include "ir/ir.h"
#include "runtime/parallel.h"

static void put_u64(unsigned char *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void trailer(unsigned char t[CG_CACHE_TRAILER], const void *bytes,
                    size_t n) {
  memcpy(t, "LOOMSUM1", 8);
  put_u64(t + 8, (uint64_t)n);
  put_u64(t + 16, cg_hash(CG_HASH_INIT, bytes, n));
  memcpy(t + 24, "LOOMEND1", 8);
}

/* The whole file (malloc'd), or NULL. */
static unsigned char *slurp(const char *path, size_t *n) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return NULL;
  struct stat st;
  unsigned char *buf = NULL;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
      (buf = malloc((size_t)st.st_size + 1))) {
    size_t got = 0;
    ssize_t r;
    while (got < (size_t)st.st_size &&
           (r = read(fd, buf + got, (size_t)st.st_size - got)) > 0)
      got += (size_t)r;
    if (got != (size_t)st.st_size) {
      free(buf);
      buf = NULL;
    }
    *n = got;
  }
  close(fd);
  return buf;
}

/* Whether buf[0..n) is a payload and its trailer; *payload gets its size. */
static bool whole(const unsigned char *buf, size_t n, size_t *payload) {
  if (n < CG_CACHE_TRAILER) return false;
  size_t p = n - CG_CACHE_TRAILER;
  unsigned char want[CG_CACHE_TRAILER];
  trailer(want, buf, p);
  *payload = p;
  return memcmp(want, buf + p, CG_CACHE_TRAILER) == 0;
}

char *cg_cache_read(const char *path, size_t *n) {
  size_t len = 0, p;
  unsigned char *buf = slurp(path, &len);
  if (!buf) return NULL;
  if (!whole(buf, len, &p)) {
    free(buf);
    unlink(path);
    return NULL;
  }
  *n = p;
  return (char *)buf;
}

bool cg_cache_check(const char *path) {
  size_t n;
  char *buf = cg_cache_read(path, &n);
  free(buf);
  return buf != NULL;
}

static bool write_all(int fd, const void *bytes, size_t n) {
  const char *p = bytes;
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w <= 0) return false;
    p += w;
    n -= (size_t)w;
  }
  return true;
}

int cg_cache_seal(const char *tmp, const char *path) {
  size_t n = 0;
  unsigned char *buf = slurp(tmp, &n), t[CG_CACHE_TRAILER];
  int fd = buf ? open(tmp, O_WRONLY | O_APPEND) : -1;
  bool ok = fd >= 0;
  if (ok) {
    trailer(t, buf, n);
    ok = write_all(fd, t, sizeof t) && fsync(fd) == 0;
  }
  int e = errno;
  if (fd >= 0 && close(fd)) ok = false;
  free(buf);
  if (ok && rename(tmp, path) == 0) return 0;
  e = errno ? errno : e;
  unlink(tmp);
  errno = e;
  return -1;
}

int cg_cache_write(const char *dir, const char *path, const void *bytes,
                   size_t n) {
  char tmp[PATH_MAX + 64];
  snprintf(tmp, sizeof tmp, "%s/.jit-%ld-XXXXXX", dir, (long)getpid());
  int fd = mkstemp(tmp);
  if (fd < 0) return -1;
  bool ok = write_all(fd, bytes, n);
  if (close(fd)) ok = false;
  if (!ok) {
    unlink(tmp);
    return -1;
  }
  return cg_cache_seal(tmp, path);
}

/* ---- big entries -------------------------------------------------------- */

#define BIG_BLOCK ((size_t)1 << 20)
#define P1 0x9E3779B185EBCA87ull
#define P2 0xC2B2AE3D27D4EB4Full

static uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

/* One block: four lanes of xxh64's round over 32-byte steps, the tail
 * bytewise, the lanes and the length mixed. */
static uint64_t hash_block(const unsigned char *p, size_t n) {
  uint64_t a = P1 + P2, b = P2, c = 0, e = -P1;
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    uint64_t w[4];
    memcpy(w, p + i, 32);
    a = rotl(a + w[0] * P2, 31) * P1;
    b = rotl(b + w[1] * P2, 31) * P1;
    c = rotl(c + w[2] * P2, 31) * P1;
    e = rotl(e + w[3] * P2, 31) * P1;
  }
  uint64_t h = rotl(a, 1) + rotl(b, 7) + rotl(c, 12) + rotl(e, 18);
  h = cg_hash(h ^ (uint64_t)n, p + i, n - i);
  h ^= h >> 33;
  h *= P2;
  return h ^ (h >> 29);
}

/* The hashes of blocks [lo, hi) of a payload. */
typedef struct {
  const unsigned char *p;
  size_t n;
  uint64_t *out;
} BlockJob;

static void hash_blocks(void *ctx, int64_t lo, int64_t hi) {
  BlockJob *j = ctx;
  for (int64_t b = lo; b < hi; b++) {
    size_t at = (size_t)b * BIG_BLOCK;
    j->out[b] = hash_block(j->p + at, j->n - at < BIG_BLOCK ? j->n - at : BIG_BLOCK);
  }
}

static uint64_t combine(const uint64_t *blocks, size_t nb, size_t n) {
  uint64_t h = cg_hash(CG_HASH_INIT, blocks, nb * sizeof *blocks);
  return cg_hash(h, &n, sizeof n);
}

uint64_t cg_hash_big(const void *bytes, size_t n) {
  size_t nb = (n + BIG_BLOCK - 1) / BIG_BLOCK;
  uint64_t *blocks = malloc((nb ? nb : 1) * sizeof *blocks);
  IR_ASSERT(blocks);
  BlockJob j = {bytes, n, blocks};
  loom_parallel_for(hash_blocks, &j, 0, (int64_t)nb, 1);
  uint64_t h = combine(blocks, nb, n);
  free(blocks);
  return h;
}

struct CgCacheWriter {
  int fd;
  bool ok;
  char tmp[PATH_MAX + 64];
  unsigned char *buf; /* the block being filled */
  size_t fill, total;
  uint64_t *blocks;   /* hashes of the blocks written */
  size_t nb, cap;
};

CgCacheWriter *cg_cache_writer(const char *dir) {
  CgCacheWriter *w = calloc(1, sizeof *w);
  IR_ASSERT(w);
  snprintf(w->tmp, sizeof w->tmp, "%s/.prep-%ld-XXXXXX", dir, (long)getpid());
  w->fd = mkstemp(w->tmp);
  w->buf = malloc(BIG_BLOCK);
  IR_ASSERT(w->buf);
  if (w->fd < 0) {
    int e = errno;
    free(w->buf);
    free(w);
    errno = e;
    return NULL;
  }
  w->ok = true;
  return w;
}

static void flush_block(CgCacheWriter *w) {
  if (!w->fill) return;
  if (w->nb == w->cap) {
    w->cap = w->cap ? 2 * w->cap : 512;
    w->blocks = realloc(w->blocks, w->cap * sizeof *w->blocks);
    IR_ASSERT(w->blocks);
  }
  w->blocks[w->nb++] = hash_block(w->buf, w->fill);
  if (w->ok) w->ok = write_all(w->fd, w->buf, w->fill);
  w->fill = 0;
}

bool cg_cache_put(CgCacheWriter *w, const void *bytes, size_t n) {
  const unsigned char *p = bytes;
  while (n) {
    size_t k = BIG_BLOCK - w->fill < n ? BIG_BLOCK - w->fill : n;
    if (p) memcpy(w->buf + w->fill, p, k);
    else memset(w->buf + w->fill, 0, k);
    w->fill += k, w->total += k, n -= k;
    if (p) p += k;
    if (w->fill == BIG_BLOCK) flush_block(w);
  }
  return w->ok;
}

bool cg_cache_pad(CgCacheWriter *w, size_t align) {
  size_t r = w->total % align;
  return cg_cache_put(w, NULL, r ? align - r : 0);
}

size_t cg_cache_written(const CgCacheWriter *w) { return w->total; }

void cg_cache_abort(CgCacheWriter *w) {
  if (!w) return;
  close(w->fd);
  unlink(w->tmp);
  free(w->buf);
  free(w->blocks);
  free(w);
}

int cg_cache_commit(CgCacheWriter *w, const char *path) {
  flush_block(w);
  unsigned char t[CG_CACHE_TRAILER];
  memcpy(t, "LOOMSUMW", 8);
  put_u64(t + 8, (uint64_t)w->total);
  put_u64(t + 16, combine(w->blocks, w->nb, w->total));
  memcpy(t + 24, "LOOMEND1", 8);
  bool ok = w->ok && write_all(w->fd, t, sizeof t);
  int e = errno;
  if (close(w->fd)) ok = false, e = errno;
  w->fd = -1;
  if (ok && rename(w->tmp, path) == 0) {
    free(w->buf);
    free(w->blocks);
    free(w);
    return 0;
  }
  if (ok) e = errno;
  unlink(w->tmp);
  free(w->buf);
  free(w->blocks);
  free(w);
  errno = e;
  return -1;
}

static uint64_t get_u64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
  return v;
}

void *cg_cache_map(const char *path, bool check, size_t *n, size_t *mapped) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return NULL;
  struct stat st;
  void *p = MAP_FAILED;
  bool short_file = false;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    short_file = st.st_size < CG_CACHE_TRAILER;
    if (!short_file)
      p = mmap(NULL, (size_t)st.st_size, PROT_READ,
               MAP_PRIVATE | (check ? MAP_POPULATE : 0), fd, 0);
  }
  close(fd);
  if (p == MAP_FAILED) {
    if (short_file) unlink(path);
    return NULL;
  }
  size_t len = (size_t)st.st_size, pay = len - CG_CACHE_TRAILER;
  const unsigned char *t = (const unsigned char *)p + pay;
  bool ok = memcmp(t, "LOOMSUMW", 8) == 0 && get_u64(t + 8) == pay &&
            memcmp(t + 24, "LOOMEND1", 8) == 0;
  if (ok && check) ok = get_u64(t + 16) == cg_hash_big(p, pay);
  if (!ok) {
    munmap(p, len);
    unlink(path);
    return NULL;
  }
  *n = pay;
  *mapped = len;
  return p;
}

/* The pid in ".build-PID-…", ".jit-PID-…", ".prep-PID-…" or "loom-omp-PID.…" (cc.c's
 * OpenMP probe), or 0. */
static long temp_pid(const char *name) {
  const char *p = NULL;
  if (strncmp(name, ".build-", 7) == 0) p = name + 7;
  else if (strncmp(name, ".jit-", 5) == 0) p = name + 5;
  else if (strncmp(name, ".prep-", 6) == 0) p = name + 6;
  else if (strncmp(name, "loom-omp-", 9) == 0) p = name + 9;
  if (!p) return 0;
  char *end;
  long pid = strtol(p, &end, 10);
  return end != p && (*end == '-' || *end == '.') && pid > 0 ? pid : 0;
}

static void clean_dir(const char *dir) {
  DIR *dp = opendir(dir);
  if (!dp) return;
  struct dirent *e;
  char path[PATH_MAX];
  while ((e = readdir(dp))) {
    long pid = temp_pid(e->d_name);
    if (!pid || pid == (long)getpid()) continue;
    if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue; /* alive */
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    struct stat st;
    if (lstat(path, &st)) continue;
    if (S_ISDIR(st.st_mode)) cg_rmdir_files(path);
    else unlink(path);
  }
  closedir(dp);
}

void cg_cache_clean(const char *dir) {
  const char *tmp = getenv("TMPDIR");
  clean_dir(dir);
  clean_dir(tmp && *tmp ? tmp : "/tmp");
}
