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
#include <sys/stat.h>
#include <unistd.h>

#include "codegen/c/c_cc.h"
#include "codegen/c/c_emit.h"

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

/* The pid in ".build-PID-…", ".jit-PID-…" or "loom-omp-PID.…" (cc.c's
 * OpenMP probe), or 0. */
static long temp_pid(const char *name) {
  const char *p = NULL;
  if (strncmp(name, ".build-", 7) == 0) p = name + 7;
  else if (strncmp(name, ".jit-", 5) == 0) p = name + 5;
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
