/* diag.c — formatting of located errors (see diag.h). */
#include "diag.h"

#include <string.h>

/* Append the source line `line` of `file` and a caret under column `col`.
 * Tabs before the column are copied so the caret lines up. */
static void append_source_line(char *buf, size_t cap, const char *file,
                               uint32_t line, uint32_t col) {
  FILE *f = fopen(file, "rb");
  if (!f) return;
  char text[512];
  uint32_t cur = 1;
  int c, n = 0, found = 0;
  while ((c = fgetc(f)) != EOF) {
    if (cur == line) {
      found = 1;
      if (c == '\n' || c == '\r') break;
      if (n < (int)sizeof text - 1) text[n++] = (char)c;
    } else if (c == '\n') {
      if (++cur > line) break;
    }
  }
  fclose(f);
  if (!found) return;
  text[n] = 0;
  size_t len = strlen(buf);
  if (len + 1 >= cap) return;
  int w = snprintf(buf + len, cap - len, "\n  %s\n  ", text);
  if (w < 0 || (size_t)w >= cap - len) return;
  len += (size_t)w;
  for (uint32_t i = 1; i < col && len + 2 < cap; i++)
    buf[len++] = (i - 1 < (uint32_t)n && text[i - 1] == '\t') ? '\t' : ' ';
  if (len + 2 < cap) {
    buf[len++] = '^';
    buf[len] = 0;
  }
}

int ir_verrorf(Diag *d, Loc loc, const char *fmt, va_list ap) {
  if (!d || d->failed) return -1;
  d->failed = 1;
  size_t cap = sizeof d->msg;
  int w;
  if (loc.file && loc.line)
    w = snprintf(d->msg, cap, "%s:%u:%u: error: ", loc.file, loc.line, loc.col);
  else if (loc.file)
    w = snprintf(d->msg, cap, "%s: error: ", loc.file);
  else
    w = snprintf(d->msg, cap, "error: ");
  if (w < 0) w = 0;
  if ((size_t)w < cap) vsnprintf(d->msg + w, cap - (size_t)w, fmt, ap);
  if (loc.file && loc.line)
    append_source_line(d->msg, cap, loc.file, loc.line, loc.col);
  return -1;
}

int ir_errorf(Diag *d, Loc loc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ir_verrorf(d, loc, fmt, ap);
  va_end(ap);
  return -1;
}

int ir_file_errorf(Diag *d, const char *file, const char *fmt, ...) {
  Loc loc = {file, 0, 0};
  va_list ap;
  va_start(ap, fmt);
  ir_verrorf(d, loc, fmt, ap);
  va_end(ap);
  return -1;
}

int ir_error_text(Diag *d, const char *msg) {
  if (!d->failed) {
    d->failed = 1;
    snprintf(d->msg, sizeof d->msg, "%s", msg);
  }
  return -1;
}
