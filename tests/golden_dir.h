/* golden_dir.h — listing a golden's directory, for the C tests that walk
 * tests/goldens (test_goldens, test_bf16).  Include after tests/check.h. */
#ifndef LOOM_TESTS_GOLDEN_DIR_H
#define LOOM_TESTS_GOLDEN_DIR_H

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/check.h"

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names in dir that start with `prefix` and end with `suffix`
 * (suffix NULL: directories).  Returns the count; *out malloc'd. */
static int list_dir(const char *dir, const char *prefix, const char *suffix,
                    char ***out) {
  DIR *dp = opendir(dir);
  CHECK_MSG(dp != NULL, "cannot open %s", dir);
  char **names = NULL;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(dp))) {
    const char *s = e->d_name;
    size_t len = strlen(s), pl = strlen(prefix);
    if (s[0] == '.' || strncmp(s, prefix, pl) != 0) continue;
    if (suffix) {
      size_t sl = strlen(suffix);
      if (len < pl + sl || strcmp(s + len - sl, suffix) != 0) continue;
    } else {
      char path[1024];
      struct stat st;
      snprintf(path, sizeof path, "%s/%s", dir, s);
      if (stat(path, &st) || !S_ISDIR(st.st_mode)) continue;
    }
    names = realloc(names, (size_t)(n + 1) * sizeof *names);
    CHECK(names != NULL);
    names[n++] = strdup(s);
  }
  closedir(dp);
  if (n) qsort(names, (size_t)n, sizeof *names, by_name);
  *out = names;
  return n;
}

static void free_list(char **names, int n) {
  for (int i = 0; i < n; i++) free(names[i]);
  free(names);
}

#endif
