/* strbuf.h — a growable string for code that builds text piece by piece
 * (the CLI's DOT and Mermaid printers, its Kernel IR listing; codegen's
 * printers later).
 *
 *   StrBuf b = {0};
 *   sb_printf(&b, "%s = %d\n", name, v);
 *   sb_puts(&b, "}\n");
 *   char *text = sb_take(&b);   // malloc'd, NUL-terminated; b is empty again
 *
 * Out of memory is an assertion (like the rest of the compiler's arenas):
 * a printer never has a half-built string to clean up.
 */
#ifndef LOOM_IR_STRBUF_H
#define LOOM_IR_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct StrBuf {
  char *s;          /* NUL-terminated once anything was added; else NULL */
  size_t len, cap;  /* len excludes the NUL */
} StrBuf;

void sb_printf(StrBuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void sb_vprintf(StrBuf *b, const char *fmt, va_list ap);
void sb_puts(StrBuf *b, const char *s);
void sb_putc(StrBuf *b, char c);
/* The text (malloc'd; "" when nothing was added), and b reset to empty. */
char *sb_take(StrBuf *b);
void sb_free(StrBuf *b);

#endif
