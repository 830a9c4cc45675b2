/* json_util.c — JSON files with located errors.
 *
 * jansson has positions only for syntax errors; for a key that is valid
 * JSON but not what loom accepts, fe_json_key_loc scans the text for the
 * key at the object's top level (depth 1, a string followed by ':'),
 * counting lines and columns (columns in characters, as jansson's).
 */
#include "frontend/json_util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int fe_json_load(const char *path, bool any_type, json_t **root, Diag *d) {
  json_error_t e;
  *root = json_load_file(path, JSON_REJECT_DUPLICATES, &e);
  if (!*root) {
    FILE *f = fopen(path, "rb");
    if (!f) return ir_file_errorf(d, path, "cannot read: %s", strerror(errno));
    fclose(f);
    if (e.line > 0)
      return ir_errorf(d, (Loc){path, (uint32_t)e.line, (uint32_t)e.column},
                       "%s", e.text);
    return ir_file_errorf(d, path, "%s", e.text);
  }
  if (!any_type && !json_is_object(*root)) {
    json_decref(*root);
    *root = NULL;
    return ir_file_errorf(d, path, "expected a JSON object");
  }
  return 0;
}

Loc fe_json_key_loc(const char *path, const char *key) {
  Loc loc = {path, 0, 0};
  FILE *f = fopen(path, "rb");
  if (!f) return loc;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = n > 0 ? malloc((size_t)n + 1) : NULL;
  if (!s || fread(s, 1, (size_t)n, f) != (size_t)n) {
    free(s);
    fclose(f);
    return loc;
  }
  fclose(f);
  s[n] = 0;
  size_t klen = strlen(key);
  uint32_t line = 1, col = 1;
  int depth = 0;
  for (long i = 0; i < n; i++) {
    char c = s[i];
    if (c == '"') {
      long start = i;
      uint32_t sline = line, scol = col;
      for (i++, col++; i < n && s[i] != '"'; i++) {
        if (s[i] == '\\') i++, col++;
        if (((unsigned char)s[i] & 0xC0) != 0x80) col++;
      }
      col++;
      long j = i + 1;
      while (j < n && strchr(" \t\r\n", s[j])) j++;
      if (depth == 1 && j < n && s[j] == ':' &&
          (size_t)(i - start - 1) == klen &&
          memcmp(s + start + 1, key, klen) == 0) {
        loc.line = sline;
        loc.col = scol;
        break;
      }
      continue;
    }
    if (c == '{' || c == '[') depth++;
    if (c == '}' || c == ']') depth--;
    if (c == '\n') {
      line++;
      col = 1;
    } else if (((unsigned char)c & 0xC0) != 0x80) {
      col++;
    }
  }
  free(s);
  return loc;
}

int fe_json_error(Diag *d, const char *path, const char *key, const char *fmt,
                  ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  Loc loc = fe_json_key_loc(path, key);
  if (!loc.line) return ir_file_errorf(d, path, "%s", msg);
  return ir_errorf(d, loc, "%s", msg);
}
