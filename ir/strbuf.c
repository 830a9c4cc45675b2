/* strbuf.c — the growable string of strbuf.h: doubling capacity, so
 * appending n bytes in total costs O(n). */
#include "ir/strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/diag.h"

/* Room for `more` bytes and the NUL. */
static void reserve(StrBuf *b, size_t more) {
  if (b->len + more + 1 <= b->cap) return;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + more + 1) cap *= 2;
  char *s = realloc(b->s, cap);
  IR_ASSERT(s);
  b->s = s;
  b->cap = cap;
}

void sb_vprintf(StrBuf *b, const char *fmt, va_list ap) {
  va_list again;
  va_copy(again, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  IR_ASSERT(n >= 0);
  reserve(b, (size_t)n);
  vsnprintf(b->s + b->len, (size_t)n + 1, fmt, again);
  va_end(again);
  b->len += (size_t)n;
}

void sb_printf(StrBuf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  sb_vprintf(b, fmt, ap);
  va_end(ap);
}

void sb_puts(StrBuf *b, const char *s) {
  size_t n = strlen(s);
  reserve(b, n);
  memcpy(b->s + b->len, s, n + 1);
  b->len += n;
}

void sb_putc(StrBuf *b, char c) {
  reserve(b, 1);
  b->s[b->len++] = c;
  b->s[b->len] = 0;
}

char *sb_take(StrBuf *b) {
  reserve(b, 0);
  char *s = b->s;
  *b = (StrBuf){0};
  return s;
}

void sb_free(StrBuf *b) {
  free(b->s);
  *b = (StrBuf){0};
}
