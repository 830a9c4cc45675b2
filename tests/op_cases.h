/* op_cases.h — the op goldens of tests/data/ops (CASE.ir, CASE.inN.npy,
 * CASE.outN.npy, written by make_ops_goldens.py with PyTorch), as the tests
 * that run them through the interpreter, the lowering and the JIT find
 * them.  Tests run with tests/ as their working directory. */
#ifndef LOOM_TESTS_OP_CASES_H
#define LOOM_TESTS_OP_CASES_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/check.h"

#define OPS_DIR "data/ops"

/* The whole file as a string (malloc'd), or NULL. */
static char *read_text(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = malloc((size_t)n + 1);
  CHECK(s);
  size_t got = fread(s, 1, (size_t)n, f);
  fclose(f);
  s[got] = 0;
  return s;
}

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The case names (CASE of CASE.ir), sorted; returns the count. */
static int list_cases(char ***names) {
  DIR *dir = opendir(OPS_DIR);
  CHECK_MSG(dir != NULL, "cannot open %s (run from tests/)", OPS_DIR);
  int n = 0, cap = 0;
  *names = NULL;
  struct dirent *e;
  while ((e = readdir(dir))) {
    size_t len = strlen(e->d_name);
    if (len <= 3 || strcmp(e->d_name + len - 3, ".ir") != 0) continue;
    if (n == cap) {
      cap = cap ? 2 * cap : 64;
      *names = realloc(*names, (size_t)cap * sizeof **names);
      CHECK(*names);
    }
    (*names)[n++] = strndup(e->d_name, len - 3);
  }
  closedir(dir);
  if (n) qsort(*names, (size_t)n, sizeof **names, cmp_names);
  return n;
}

#endif
