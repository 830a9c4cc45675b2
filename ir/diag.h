/* diag.h — user-facing errors as values.
 *
 * loom reports a user's mistake (bad YAML, wrong shape, missing weight) as one
 * line "FILE:LINE:COL: error: MESSAGE", optionally followed by the source line
 * and a caret, and returns a status; a bug in loom is an assertion.  The
 * library never prints: a Diag carries the first error up to the caller (the
 * CLI prints it, the C API copies it into the caller's buffer).
 */
#ifndef LOOM_IR_DIAG_H
#define LOOM_IR_DIAG_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* A place in a source file. line and col are 1-based; line 0 means "no
 * position" (only the file is known, e.g. a binary weights file). */
typedef struct Loc {
  const char *file; /* interned for the life of the compilation, or NULL */
  uint32_t line, col;
} Loc;

typedef struct Diag {
  int failed;      /* 0 until the first error */
  char msg[4096];  /* the first error, formatted, without a trailing newline */
} Diag;

/* Record "FILE:LINE:COL: error: ..." (or "FILE: error: ..." when loc.line is
 * 0, or "error: ..." without a file), followed by the source line and a caret
 * when the file can be read.  Only the first error is kept.  Returns -1 so
 * that callers can write `return ir_errorf(d, loc, ...)`. */
int ir_errorf(Diag *d, Loc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int ir_verrorf(Diag *d, Loc loc, const char *fmt, va_list ap);

/* "FILE: error: ..." — for binary files (weights, .npy) without lines. */
int ir_file_errorf(Diag *d, const char *file, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Record a message that is already formatted ("FILE:LINE:COL: error: ..." or
 * "error: ..."), as a generated model's functions return them. */
int ir_error_text(Diag *d, const char *msg);

/* Bugs in loom: print __FILE__:__LINE__ and abort. */
#define IR_ASSERT(c)                                                          \
  do {                                                                        \
    if (!(c)) {                                                               \
      fprintf(stderr, "%s:%d: internal error: assertion '%s' failed\n",       \
              __FILE__, __LINE__, #c);                                        \
      abort();                                                                \
    }                                                                         \
  } while (0)

#endif
