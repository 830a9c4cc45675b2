/* parse_lex.h — what the IR text parser's two files share (ir/ only):
 * tokens, the parser's state, the lexer and the token helpers
 * (parse_lex.c), used by the recursive-descent parser (parse.c). */
#ifndef LOOM_IR_PARSE_LEX_H
#define LOOM_IR_PARSE_LEX_H

#include "ir/ir.h"

typedef enum {
  T_EOF,
  T_NL,
  T_IDENT,  /* [A-Za-z_][A-Za-z0-9_.]* */
  T_INT,    /* -?[0-9]+ */
  T_FLOAT,  /* -?[0-9]+(.[0-9]*)?([eE][+-]?[0-9]+)? with '.' or exponent */
  T_STRING, /* "..."; p/len is the raw text between the quotes */
  T_VALUE,  /* %name or %N; p/len is the label after '%' */
  T_LE,     /* <= */
  T_PUNCT,  /* = , : { } [ ] ( ) * - */
} TokKind;

typedef struct {
  TokKind kind;
  const char *p;
  size_t len;
  uint32_t line, col;
  int64_t i; /* T_INT */
} Tok;

/* label -> value id, for %name and %N */
typedef struct {
  const char *key; /* in the source text */
  size_t len;
  uint32_t value;
  uint32_t line, col;
} Label;

typedef struct {
  Tok tok; /* a written result type */
  DType dtype;
  Shape shape;
} Typed;

typedef struct {
  const char *src, *p, *line_start;
  uint32_t line;
  const char *file;     /* for error locations */
  const char *afile;    /* the same, in the graph's arena (Sym.loc) */
  const char *last_loc; /* the last loc("...") file, interned */
  Tok tok;
  Diag *d;
  Graph *g;
  Label *labels;
  size_t n_labels, cap_labels; /* open addressing, cap a power of two */
  /* per-line scratch, reused */
  Tok *res;
  uint32_t *ins;
  Typed *types;
  size_t cap_res, cap_ins, cap_types;
  int64_t *list;
  Dim *dlist;
  size_t cap_list;
} Parser;

Loc px_tok_loc(const Parser *P, const Tok *t);
/* How a token reads in "got ..." */
const char *px_tok_desc(const Tok *t, char *buf, size_t cap);
bool px_is_digit(int c);
/* Read the next token into P->tok. */
int px_lex(Parser *P);
bool px_is_punct(const Tok *t, char c);
bool px_is_word(const Tok *t, const char *w);
/* Consume punctuation c or report "expected 'c' AFTER, got ...". */
int px_expect(Parser *P, char c, const char *after);
int px_expect_eol(Parser *P, const char *after);
int px_skip_newlines(Parser *P);
/* The text of a string token with its escapes resolved, in the arena. */
char *px_decode_string(Parser *P, const Tok *t);
/* Levenshtein distance between a (n bytes) and b. */
size_t px_edit_distance(const char *a, size_t n, const char *b);
/* Close enough to suggest: about one edit per three letters. */
bool px_near(size_t dist, const char *candidate);
/* "FILE:LINE:COL: error: ..." at token t, into P->d; returns -1. */
__attribute__((format(printf, 3, 4))) int px_err(Parser *P, const Tok *t,
                                                 const char *fmt, ...);

#endif
