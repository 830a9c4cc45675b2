/* parse_lex.c — the lexer of the IR text form (see parse.c for the
 * grammar): tokens with their line and column, string unescaping, and the
 * nearest-name suggestions of error messages. */
#include "ir/parse_lex.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

Loc px_tok_loc(const Parser *P, const Tok *t) {
  return (Loc){P->file, t->line, t->col};
}

/* How a token reads in "got ..." */
const char *px_tok_desc(const Tok *t, char *buf, size_t cap) {
  switch (t->kind) {
    case T_EOF: return "end of input";
    case T_NL: return "end of line";
    case T_STRING: return "a string";
    case T_VALUE:
      snprintf(buf, cap, "'%%%.*s'", (int)(t->len > 60 ? 60 : t->len), t->p);
      return buf;
    default:
      snprintf(buf, cap, "'%.*s'", (int)(t->len > 60 ? 60 : t->len), t->p);
      return buf;
  }
}

int px_err(Parser *P, const Tok *t, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ir_verrorf(P->d, px_tok_loc(P, t), fmt, ap);
  va_end(ap);
  return -1;
}

static bool is_ident_start(int c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool px_is_digit(int c) { return c >= '0' && c <= '9'; }
static bool is_ident_char(int c) {
  return is_ident_start(c) || px_is_digit(c) || c == '.';
}

static int lex_error(Parser *P, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int lex_error(Parser *P, const char *at, const char *fmt, ...) {
  Loc loc = {P->file, P->line, (uint32_t)(at - P->line_start) + 1};
  va_list ap;
  va_start(ap, fmt);
  ir_verrorf(P->d, loc, fmt, ap);
  va_end(ap);
  return -1;
}

static int is_hex(int c) {
  return px_is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Read the next token into P->tok. */
int px_lex(Parser *P) {
  const char *s = P->p;
  for (;;) {
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\f' || *s == '\v')
      s++;
    if (*s == '#')
      while (*s && *s != '\n') s++;
    else
      break;
  }
  Tok *t = &P->tok;
  *t = (Tok){.p = s,
             .len = 0,
             .line = P->line,
             .col = (uint32_t)(s - P->line_start) + 1};
  if (!*s) {
    t->kind = T_EOF;
  } else if (*s == '\n') {
    t->kind = T_NL;
    t->len = 1;
    s++;
    P->line++;
    P->line_start = s;
  } else if (is_ident_start((unsigned char)*s)) {
    while (is_ident_char((unsigned char)*s)) s++;
    t->kind = T_IDENT;
    t->len = (size_t)(s - t->p);
  } else if (px_is_digit((unsigned char)*s) ||
             (*s == '-' && (px_is_digit((unsigned char)s[1]) ||
                            (s[1] == '.' && px_is_digit((unsigned char)s[2]))))) {
    bool is_float = false;
    if (*s == '-') s++;
    while (px_is_digit((unsigned char)*s)) s++;
    if (*s == '.') {
      is_float = true;
      s++;
      while (px_is_digit((unsigned char)*s)) s++;
    }
    if ((*s == 'e' || *s == 'E') &&
        (px_is_digit((unsigned char)s[1]) ||
         ((s[1] == '+' || s[1] == '-') && px_is_digit((unsigned char)s[2])))) {
      is_float = true;
      s += 2;
      while (px_is_digit((unsigned char)*s)) s++;
    }
    t->len = (size_t)(s - t->p);
    if (is_ident_char((unsigned char)*s)) {
      const char *e = s;
      while (is_ident_char((unsigned char)*e)) e++;
      return lex_error(P, t->p, "bad number '%.*s'", (int)(e - t->p), t->p);
    }
    t->kind = is_float ? T_FLOAT : T_INT;
    if (!is_float) {
      char buf[32];
      if (t->len >= sizeof buf)
        return lex_error(P, t->p, "integer '%.*s' is out of range", (int)t->len,
                         t->p);
      memcpy(buf, t->p, t->len);
      buf[t->len] = 0;
      errno = 0;
      t->i = strtoll(buf, NULL, 10);
      if (errno == ERANGE)
        return lex_error(P, t->p, "integer '%s' is out of range", buf);
    }
  } else if (*s == '%') {
    s++;
    while (is_ident_char((unsigned char)*s)) s++;
    t->kind = T_VALUE;
    t->p++;
    t->len = (size_t)(s - t->p);
    if (t->len == 0)
      return lex_error(P, t->p - 1, "expected a value name after '%%'");
    bool numeric = px_is_digit((unsigned char)t->p[0]);
    for (size_t i = 0; i < t->len; i++)
      if (numeric ? !px_is_digit((unsigned char)t->p[i])
                  : (i == 0 && !is_ident_start((unsigned char)t->p[0])))
        return lex_error(P, t->p - 1,
                         "bad value name '%%%.*s' (a name is "
                         "[A-Za-z_][A-Za-z0-9_.]* or a number)",
                         (int)t->len, t->p);
  } else if (*s == '"') {
    s++;
    t->kind = T_STRING;
    t->p = s;
    for (;;) {
      if (!*s || *s == '\n')
        return lex_error(P, t->p - 1, "unterminated string");
      if (*s == '"') break;
      if (*s == '\\') {
        if (s[1] == '"' || s[1] == '\\' || s[1] == 'n' || s[1] == 't')
          s += 2;
        else if (s[1] == 'x' && is_hex((unsigned char)s[2]) &&
                 is_hex((unsigned char)s[3]))
          s += 4;
        else
          return lex_error(P, s, "bad escape in string");
      } else {
        s++;
      }
    }
    t->len = (size_t)(s - t->p);
    s++;
  } else if (*s == '<' && s[1] == '=') {
    t->kind = T_LE;
    t->len = 2;
    s += 2;
  } else if (strchr("=,:{}[]()*-", *s)) {
    t->kind = T_PUNCT;
    t->len = 1;
    s++;
  } else {
    unsigned char c = (unsigned char)*s;
    if (c >= 0x20 && c < 0x7f)
      return lex_error(P, s, "unexpected character '%c'", c);
    return lex_error(P, s, "unexpected byte 0x%02x", c);
  }
  P->p = s;
  return 0;
}

bool px_is_punct(const Tok *t, char c) {
  return t->kind == T_PUNCT && t->p[0] == c;
}

bool px_is_word(const Tok *t, const char *w) {
  return t->kind == T_IDENT && t->len == strlen(w) &&
         memcmp(t->p, w, t->len) == 0;
}

/* Consume punctuation c or report "expected 'c' AFTER, got ...". */
int px_expect(Parser *P, char c, const char *after) {
  if (px_is_punct(&P->tok, c)) return px_lex(P);
  char b[80];
  return px_err(P, &P->tok, "expected '%c' %s, got %s", c, after,
              px_tok_desc(&P->tok, b, sizeof b));
}

int px_expect_eol(Parser *P, const char *after) {
  if (P->tok.kind == T_NL) return px_lex(P);
  if (P->tok.kind == T_EOF) return 0;
  char b[80];
  return px_err(P, &P->tok, "expected end of line after %s, got %s", after,
              px_tok_desc(&P->tok, b, sizeof b));
}

int px_skip_newlines(Parser *P) {
  while (P->tok.kind == T_NL)
    if (px_lex(P)) return -1;
  return 0;
}

/* The text of a string token with its escapes resolved, in the arena. */
char *px_decode_string(Parser *P, const Tok *t) {
  char *out = ir_alloc(P->g->arena, t->len + 1), *o = out;
  for (size_t i = 0; i < t->len; i++) {
    char c = t->p[i];
    if (c != '\\') {
      *o++ = c;
      continue;
    }
    c = t->p[++i];
    if (c == 'n')
      *o++ = '\n';
    else if (c == 't')
      *o++ = '\t';
    else if (c == 'x') {
      char hex[3] = {t->p[i + 1], t->p[i + 2], 0};
      *o++ = (char)strtol(hex, NULL, 16);
      i += 2;
    } else
      *o++ = c;
  }
  *o = 0;
  return out;
}

/* ---- suggestions -------------------------------------------------------- */

/* Levenshtein distance between a (n bytes) and b. */
size_t px_edit_distance(const char *a, size_t n, const char *b) {
  size_t m = strlen(b);
  if (n > 64 || m > 64) return SIZE_MAX;
  size_t row[65];
  for (size_t j = 0; j <= m; j++) row[j] = j;
  for (size_t i = 1; i <= n; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= m; j++) {
      size_t up = row[j];
      size_t best = diag + (a[i - 1] != b[j - 1]);
      if (up + 1 < best) best = up + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[m];
}

/* Close enough to suggest: about one edit per three letters. */
bool px_near(size_t dist, const char *candidate) {
  size_t limit = (strlen(candidate) + 2) / 3;
  return dist <= (limit ? limit : 1);
}
