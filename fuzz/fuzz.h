/* fuzz.h — what the libFuzzer targets in fuzz/ share.
 *
 * Each fuzz_*.c defines LLVMFuzzerTestOneInput for one reader of loom's
 * inputs; fuzz/fuzz.cmake builds them with clang-19 and
 * -fsanitize=fuzzer,address,undefined (`make fuzz`, `make fuzz-smoke`).
 * A reader that takes a path gets the input as a file: fuzz_file writes it
 * to one temporary file per process, reused by every run.
 */
#ifndef LOOM_FUZZ_FUZZ_H
#define LOOM_FUZZ_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char fuzz_path[512];
static inline void remove_fuzz_file(void) {
  if (fuzz_path[0]) unlink(fuzz_path);
}

/* data[0..n) as the file "$TMPDIR/loom-fuzz-PID.EXT"; its path. */
static inline const char *fuzz_file(const uint8_t *data, size_t n,
                                    const char *ext) {
  char *path = fuzz_path;
  static int once;
  if (!once++) atexit(remove_fuzz_file);
  const char *tmp = getenv("TMPDIR");
  snprintf(path, sizeof fuzz_path, "%s/loom-fuzz-%ld.%s", tmp && *tmp ? tmp : "/tmp",
           (long)getpid(), ext);
  FILE *f = fopen(path, "wb");
  if (!f) abort();
  if (n && fwrite(data, 1, n, f) != n) abort();
  if (fclose(f)) abort();
  return path;
}

/* data[0..n) NUL-terminated (malloc'd). */
static inline char *fuzz_text(const uint8_t *data, size_t n) {
  char *s = malloc(n + 1);
  if (!s) abort();
  memcpy(s, data, n);
  s[n] = 0;
  return s;
}

#endif
