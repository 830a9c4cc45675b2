/* parse.c — reading the text form of a Graph IR back (ir_parse).
 *
 * The grammar is the one ir/print.c writes (see its header), plus `#`
 * comments to the end of a line, blank lines and any spacing.  Newlines end
 * statements, so an incomplete line is reported where it ends ("expected ':'
 * after the operands, got end of line") rather than on the next line.
 *
 * A hand-written lexer feeds a recursive-descent parser with one token of
 * lookahead.  Each node line is read whole (results, op, operands, attributes,
 * written types, location) and then built with the builder API of ir.h; the
 * op's shape rule (ir_infer) runs at once, and the written result types must
 * equal the inferred ones, so a text that parses is a graph whose recorded
 * types are the truth (for inputs and weights the written type is the
 * definition, which the rule only checks).  While the rule runs, the node's
 * location is the op's position in the .ir text, so its errors point there too;
 * afterwards the node gets the location written in its `loc(...)`, if any.
 *
 * Values are found by their label: %name for named values, %N for unnamed
 * ones (the number only links uses to the definition; the graph keeps no
 * name).  Every error is a user error at a token: "FILE:LINE:COL: error: ...".
 */
#include "ir/parse_lex.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

/* ---- lookups by token text ---------------------------------------------- */

static bool tok_eq(const Tok *t, const char *s) {
  return s && strlen(s) == t->len && memcmp(t->p, s, t->len) == 0;
}

static int32_t find_sym(const Parser *P, const Tok *t) {
  for (uint32_t i = 0; i < P->g->n_syms; i++)
    if (tok_eq(t, P->g->syms[i].name)) return (int32_t)i;
  return -1;
}

static uint64_t hash(const char *s, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++)
    h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
  return h;
}

static Label *label_slot(Parser *P, const char *key, size_t len) {
  size_t mask = P->cap_labels - 1;
  for (size_t i = hash(key, len) & mask;; i = (i + 1) & mask) {
    Label *l = &P->labels[i];
    if (!l->key || (l->len == len && memcmp(l->key, key, len) == 0)) return l;
  }
}

static Label *label_find(Parser *P, const Tok *t) {
  if (!P->cap_labels) return NULL;
  Label *l = label_slot(P, t->p, t->len);
  return l->key ? l : NULL;
}

static void label_add(Parser *P, const Tok *t, uint32_t value) {
  if (2 * (P->n_labels + 1) > P->cap_labels) {
    size_t cap = P->cap_labels ? 2 * P->cap_labels : 256;
    Label *old = P->labels;
    size_t old_cap = P->cap_labels;
    P->labels = calloc(cap, sizeof *P->labels);
    IR_ASSERT(P->labels);
    P->cap_labels = cap;
    for (size_t i = 0; i < old_cap; i++)
      if (old[i].key) *label_slot(P, old[i].key, old[i].len) = old[i];
    free(old);
  }
  Label *l = label_slot(P, t->p, t->len);
  *l = (Label){t->p, t->len, value, t->line, t->col};
  P->n_labels++;
}

#define GROW(arr, n, cap)                            \
  do {                                               \
    if ((n) >= (cap)) {                              \
      (cap) = (cap) ? 2 * (cap) : 16;                \
      (arr) = realloc((arr), (cap) * sizeof *(arr)); \
      IR_ASSERT(arr);                                \
    }                                                \
  } while (0)

/* ---- pieces ------------------------------------------------------------- */

/* dim := INT | SYM | INT '*' SYM */
static int parse_dim(Parser *P, Dim *out) {
  char b[80];
  Tok t = P->tok;
  if (t.kind == T_INT) {
    if (px_lex(P)) return -1;
    if (!px_is_punct(&P->tok, '*')) {
      *out = ir_dim(t.i);
      return 0;
    }
    if (px_lex(P)) return -1;
    if (P->tok.kind != T_IDENT)
      return px_err(P, &P->tok,
                  "expected a dim symbol after '%" PRId64 "*', got %s", t.i,
                  px_tok_desc(&P->tok, b, sizeof b));
    if (t.i < 1)
      return px_err(P, &t, "the factor of a symbolic dimension must be positive");
    int32_t sym = find_sym(P, &P->tok);
    if (sym < 0)
      return px_err(P, &P->tok, "undefined dim symbol '%.*s'", (int)P->tok.len,
                  P->tok.p);
    *out = (Dim){t.i, sym};
    return px_lex(P);
  }
  if (t.kind == T_IDENT) {
    int32_t sym = find_sym(P, &t);
    if (sym < 0)
      return px_err(P, &t, "undefined dim symbol '%.*s'", (int)t.len, t.p);
    *out = ir_dim_sym(sym);
    return px_lex(P);
  }
  return px_err(P, &t,
              "expected a dimension (an integer or a dim symbol), got %s",
              px_tok_desc(&t, b, sizeof b));
}

/* type := DTYPE '[' (dim (',' dim)*)? ']' */
static int parse_type(Parser *P, Typed *ty) {
  char b[80];
  ty->tok = P->tok;
  if (P->tok.kind != T_IDENT)
    return px_err(P, &P->tok, "expected a result type like f32[S, 64], got %s",
                px_tok_desc(&P->tok, b, sizeof b));
  int dt = -1;
  for (int k = 0; k < DT_COUNT; k++)
    if (tok_eq(&P->tok, ir_dtype_name((DType)k))) dt = k;
  if (dt < 0)
    return px_err(P, &P->tok,
                "unknown dtype '%.*s' (expected f32, i32, f16 or bf16)",
                (int)P->tok.len, P->tok.p);
  ty->dtype = (DType)dt;
  ty->shape.rank = 0;
  if (px_lex(P) || px_expect(P, '[', "after the dtype")) return -1;
  if (px_is_punct(&P->tok, ']')) return px_lex(P);
  for (;;) {
    Tok at = P->tok;
    Dim d;
    if (parse_dim(P, &d)) return -1;
    if (d.c < 0) return px_err(P, &at, "dimension %" PRId64 " is negative", d.c);
    if (ty->shape.rank == IR_MAX_RANK)
      return px_err(P, &at, "more than %d dimensions", IR_MAX_RANK);
    ty->shape.d[ty->shape.rank++] = d;
    if (px_is_punct(&P->tok, ']')) return px_lex(P);
    if (!px_is_punct(&P->tok, ','))
      return px_err(P, &P->tok, "expected ',' or ']' in the shape, got %s",
                  px_tok_desc(&P->tok, b, sizeof b));
    if (px_lex(P)) return -1;
  }
}

static const char *kind_name(AttrKind k) {
  switch (k) {
    case AK_INT: return "an integer";
    case AK_FLOAT: return "a number";
    case AK_BOOL: return "true or false";
    case AK_INTS: return "a list of integers";
    case AK_DIM: return "a dimension";
    case AK_DIMS: return "a list of dimensions";
    case AK_STR: return "a name";
  }
  return "?";
}

/* One attribute value of kind k into *a (lists in the arena). */
static int parse_attr_value(Parser *P, Op op, const AttrSpec *spec, Attr *a) {
  char b[80];
  Tok t = P->tok;
#define WRONG_KIND()                                                \
  px_err(P, &t, "attribute '%s' of %s expects %s, got %s", spec->key, \
       ir_op_info(op)->name, kind_name(spec->kind), px_tok_desc(&t, b, sizeof b))
  switch (spec->kind) {
    case AK_INT:
      if (t.kind != T_INT) return WRONG_KIND();
      a->i = t.i;
      return px_lex(P);
    case AK_BOOL:
      if (!px_is_word(&t, "true") && !px_is_word(&t, "false")) return WRONG_KIND();
      a->i = px_is_word(&t, "true");
      return px_lex(P);
    case AK_FLOAT: {
      bool neg = false;
      if (px_is_punct(&t, '-')) {
        neg = true;
        if (px_lex(P)) return -1;
        t = P->tok;
        if (!px_is_word(&t, "inf")) return WRONG_KIND();
      }
      if (px_is_word(&t, "inf") || px_is_word(&t, "nan")) {
        a->f = t.p[0] == 'i' ? (neg ? -HUGE_VAL : HUGE_VAL) : NAN;
        return px_lex(P);
      }
      if (t.kind != T_INT && t.kind != T_FLOAT) return WRONG_KIND();
      char num[64];
      if (t.len >= sizeof num)
        return px_err(P, &t, "number '%.*s' is too long", (int)t.len, t.p);
      memcpy(num, t.p, t.len);
      num[t.len] = 0;
      a->f = strtod(num, NULL);
      return px_lex(P);
    }
    case AK_DIM:
      if (t.kind != T_INT && t.kind != T_IDENT) return WRONG_KIND();
      return parse_dim(P, &a->dim);
    case AK_STR:
      if (t.kind != T_IDENT) return WRONG_KIND();
      a->s = ir_strndup(P->g->arena, t.p, t.len);
      return px_lex(P);
    case AK_INTS:
    case AK_DIMS: {
      if (!px_is_punct(&t, '[')) return WRONG_KIND();
      if (px_lex(P)) return -1;
      size_t n = 0;
      while (!px_is_punct(&P->tok, ']')) {
        if (n) {
          if (!px_is_punct(&P->tok, ','))
            return px_err(P, &P->tok, "expected ',' or ']' in the list, got %s",
                        px_tok_desc(&P->tok, b, sizeof b));
          if (px_lex(P)) return -1;
        }
        if (n >= P->cap_list) { /* list and dlist share one capacity */
          P->cap_list = P->cap_list ? 2 * P->cap_list : 16;
          P->list = realloc(P->list, P->cap_list * sizeof *P->list);
          P->dlist = realloc(P->dlist, P->cap_list * sizeof *P->dlist);
          IR_ASSERT(P->list && P->dlist);
        }
        Tok e = P->tok;
        if (spec->kind == AK_INTS) {
          if (e.kind != T_INT)
            return px_err(P, &e, "attribute '%s' of %s expects integers, got %s",
                        spec->key, ir_op_info(op)->name,
                        px_tok_desc(&e, b, sizeof b));
          P->list[n++] = e.i;
          if (px_lex(P)) return -1;
        } else {
          if (e.kind != T_INT && e.kind != T_IDENT)
            return px_err(
                P, &e, "attribute '%s' of %s expects dimensions, got %s",
                spec->key, ir_op_info(op)->name, px_tok_desc(&e, b, sizeof b));
          if (parse_dim(P, &P->dlist[n++])) return -1;
        }
        if (n > INT32_MAX) return px_err(P, &e, "list too long");
      }
      a->n = (int)n;
      if (spec->kind == AK_INTS) {
        a->ints = ir_alloc(P->g->arena, (n ? n : 1) * sizeof *a->ints);
        if (n) memcpy(a->ints, P->list, n * sizeof *a->ints);
      } else {
        a->dims = ir_alloc(P->g->arena, (n ? n : 1) * sizeof *a->dims);
        if (n) memcpy(a->dims, P->dlist, n * sizeof *a->dims);
      }
      return px_lex(P);
    }
  }
#undef WRONG_KIND
  return -1;
}

/* attrs := '{' (key '=' value (',' key '=' value)*)? '}' */
static int parse_attrs(Parser *P, Op op, Attr *attrs) {
  const OpInfo *info = ir_op_info(op);
  char b[80];
  if (px_lex(P)) return -1; /* '{' */
  if (px_is_punct(&P->tok, '}')) return px_lex(P);
  for (;;) {
    Tok k = P->tok;
    if (k.kind != T_IDENT)
      return px_err(P, &k, "expected an attribute name, got %s",
                  px_tok_desc(&k, b, sizeof b));
    int idx = -1;
    for (int i = 0; i < info->nattrs; i++)
      if (tok_eq(&k, info->attrs[i].key)) idx = i;
    if (idx < 0) {
      if (info->nattrs == 0)
        return px_err(P, &k, "unknown attribute '%.*s': %s takes no attributes",
                    (int)k.len, k.p, info->name);
      int best = 0;
      size_t bestd = SIZE_MAX;
      for (int i = 0; i < info->nattrs; i++) {
        size_t dd = px_edit_distance(k.p, k.len, info->attrs[i].key);
        if (dd < bestd) bestd = dd, best = i;
      }
      if (px_near(bestd, info->attrs[best].key))
        return px_err(P, &k,
                    "unknown attribute '%.*s' for %s (did you mean '%s'?)",
                    (int)k.len, k.p, info->name, info->attrs[best].key);
      char list[256] = "";
      for (int i = 0; i < info->nattrs; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
                 i ? ", " : "", info->attrs[i].key);
      return px_err(P, &k, "unknown attribute '%.*s' for %s (it takes %s)",
                  (int)k.len, k.p, info->name, list);
    }
    if (attrs[idx].set)
      return px_err(P, &k, "attribute '%s' given twice", info->attrs[idx].key);
    char after[96];
    snprintf(after, sizeof after, "after attribute '%s'", info->attrs[idx].key);
    if (px_lex(P) || px_expect(P, '=', after)) return -1;
    if (parse_attr_value(P, op, &info->attrs[idx], &attrs[idx])) return -1;
    attrs[idx].set = true;
    if (px_is_punct(&P->tok, '}')) return px_lex(P);
    if (!px_is_punct(&P->tok, ','))
      return px_err(P, &P->tok,
                  "expected ',' or '}' after attribute '%s', got %s",
                  info->attrs[idx].key, px_tok_desc(&P->tok, b, sizeof b));
    if (px_lex(P)) return -1;
  }
}

/* loc := 'loc' '(' STRING ':' INT ':' INT ')' */
static int parse_loc(Parser *P, Loc *loc) {
  char b[80];
  if (px_lex(P) || px_expect(P, '(', "after 'loc'")) return -1;
  if (P->tok.kind != T_STRING)
    return px_err(P, &P->tok, "expected a file name string in loc(...), got %s",
                px_tok_desc(&P->tok, b, sizeof b));
  Tok f = P->tok;
  if (px_lex(P) || px_expect(P, ':', "after the file name in loc(...)")) return -1;
  int64_t lc[2];
  for (int i = 0; i < 2; i++) {
    if (i && px_expect(P, ':', "after the line in loc(...)")) return -1;
    if (P->tok.kind != T_INT || P->tok.i < 0 || P->tok.i > UINT32_MAX)
      return px_err(P, &P->tok, "expected a %s number in loc(...), got %s",
                  i ? "column" : "line", px_tok_desc(&P->tok, b, sizeof b));
    lc[i] = P->tok.i;
    if (px_lex(P)) return -1;
  }
  if (px_expect(P, ')', "to end loc(...)")) return -1;
  /* Nodes of one graph mostly share a file: keep one copy of its name. */
  char *file = px_decode_string(P, &f);
  if (!P->last_loc || strcmp(P->last_loc, file) != 0) P->last_loc = file;
  *loc = (Loc){P->last_loc, (uint32_t)lc[0], (uint32_t)lc[1]};
  return 0;
}

static void format_type(const Graph *g, DType dt, const Shape *s, char *buf,
                        size_t cap) {
  char shape[512];
  ir_format_shape(g, s, shape, sizeof shape);
  snprintf(buf, cap, "%s%s", ir_dtype_name(dt), shape);
}

/* ---- statements --------------------------------------------------------- */

/* values '=' OP operands? attrs? ':' types loc? NL */
static int parse_node(Parser *P) {
  char b[80];
  Graph *g = P->g;

  size_t nres = 0;
  for (;;) {
    Tok t = P->tok;
    if (t.kind != T_VALUE)
      return px_err(P, &t, "expected a result value after ',', got %s",
                  px_tok_desc(&t, b, sizeof b));
    Label *prev = label_find(P, &t);
    if (prev)
      return px_err(P, &t, "redefinition of %%%.*s (first defined at %u:%u)",
                  (int)t.len, t.p, prev->line, prev->col);
    for (size_t i = 0; i < nres; i++)
      if (P->res[i].len == t.len && memcmp(P->res[i].p, t.p, t.len) == 0)
        return px_err(P, &t, "redefinition of %%%.*s (first defined at %u:%u)",
                    (int)t.len, t.p, P->res[i].line, P->res[i].col);
    GROW(P->res, nres, P->cap_res);
    P->res[nres++] = t;
    if (px_lex(P)) return -1;
    if (!px_is_punct(&P->tok, ',')) break;
    if (px_lex(P)) return -1;
  }
  if (px_expect(P, '=', nres > 1 ? "after the results" : "after the result"))
    return -1;

  Tok optok = P->tok;
  if (optok.kind != T_IDENT)
    return px_err(P, &optok, "expected an op name after '=', got %s",
                px_tok_desc(&optok, b, sizeof b));
  Op op = OP_COUNT;
  size_t bestd = SIZE_MAX;
  Op best = OP_COUNT;
  for (int k = 0; k < OP_COUNT; k++) {
    const char *name = ir_op_info((Op)k)->name;
    if (tok_eq(&optok, name)) op = (Op)k;
    size_t dd = px_edit_distance(optok.p, optok.len, name);
    if (dd < bestd) bestd = dd, best = (Op)k;
  }
  if (op == OP_COUNT) {
    if (best != OP_COUNT && px_near(bestd, ir_op_info(best)->name))
      return px_err(P, &optok, "unknown op '%.*s' (did you mean '%s'?)",
                  (int)optok.len, optok.p, ir_op_info(best)->name);
    return px_err(P, &optok, "unknown op '%.*s'", (int)optok.len, optok.p);
  }
  const OpInfo *info = ir_op_info(op);
  if (px_lex(P)) return -1;

  size_t nin = 0;
  if (P->tok.kind == T_VALUE) {
    for (;;) {
      Tok t = P->tok;
      if (t.kind != T_VALUE)
        return px_err(P, &t, "expected an operand after ',', got %s",
                    px_tok_desc(&t, b, sizeof b));
      Label *l = label_find(P, &t);
      if (!l) return px_err(P, &t, "undefined value %%%.*s", (int)t.len, t.p);
      GROW(P->ins, nin, P->cap_ins);
      P->ins[nin++] = l->value;
      if (px_lex(P)) return -1;
      if (!px_is_punct(&P->tok, ',')) break;
      if (px_lex(P)) return -1;
    }
  }

  Attr attrs[IR_MAX_ATTRS];
  memset(attrs, 0, sizeof attrs);
  bool has_attrs = px_is_punct(&P->tok, '{');
  if (has_attrs && parse_attrs(P, op, attrs)) return -1;

  char after[96];
  if (has_attrs)
    snprintf(after, sizeof after, "after the attributes");
  else if (nin)
    snprintf(after, sizeof after, "after the operands");
  else
    snprintf(after, sizeof after, "after '%s'", info->name);
  if (px_expect(P, ':', after)) return -1;

  size_t ntypes = 0;
  Tok first_type = P->tok;
  for (;;) {
    GROW(P->types, ntypes, P->cap_types);
    if (parse_type(P, &P->types[ntypes++])) return -1;
    if (!px_is_punct(&P->tok, ',')) break;
    if (px_lex(P)) return -1;
  }

  Loc loc = {0};
  if (px_is_word(&P->tok, "loc") && parse_loc(P, &loc)) return -1;
  if (px_expect_eol(P, "the result types")) return -1;

  /* Counts: operands from the op table; results from it, or for split from
   * its attributes; one written type per result. */
  if ((int)nin < info->min_in ||
      (info->max_in >= 0 && (int)nin > info->max_in)) {
    if (info->max_in < 0)
      return px_err(P, &optok, "'%s' takes at least %d operand%s, got %zu",
                  info->name, info->min_in, info->min_in == 1 ? "" : "s", nin);
    if (info->min_in == info->max_in)
      return px_err(P, &optok, "'%s' takes %d operand%s, got %zu", info->name,
                  info->max_in, info->max_in == 1 ? "" : "s", nin);
    return px_err(P, &optok, "'%s' takes %d to %d operands, got %zu", info->name,
                info->min_in, info->max_in, nin);
  }
  int want = info->nout;
  char why[64] = "";
  if (op == OP_SPLIT) {
    const Attr *sizes = &attrs[ir_attr_index(op, "sizes")];
    const Attr *parts = &attrs[ir_attr_index(op, "parts")];
    if (sizes->set && !parts->set) {
      want = sizes->n;
      snprintf(why, sizeof why, " with %d sizes", sizes->n);
    } else if (parts->set && !sizes->set && parts->i >= 0 &&
               parts->i <= INT32_MAX) {
      want = (int)parts->i;
      snprintf(why, sizeof why, " with parts = %d", want);
    }
  }
  if (want >= 0 && (size_t)want != nres)
    return px_err(P, &P->res[0], "'%s'%s has %d result%s, got %zu", info->name,
                why, want, want == 1 ? "" : "s", nres);
  if (ntypes != nres)
    return px_err(P, &first_type, "%zu result%s but %zu result type%s", nres,
                nres == 1 ? "" : "s", ntypes, ntypes == 1 ? "" : "s");

  Loc here = px_tok_loc(P, &optok);
  uint32_t id = ir_add_node(g, op, P->ins, (uint32_t)nin, (uint32_t)nres, here);
  memcpy(g->nodes[id].attr, attrs, sizeof attrs);
  for (size_t k = 0; k < nres; k++) {
    uint32_t v = g->nodes[id].out[k];
    const Tok *r = &P->res[k];
    if (!px_is_digit((unsigned char)r->p[0]))
      ir_rename(g, v, ir_strndup(g->arena, r->p, r->len));
    if (info->flags & OPF_SOURCE) {
      g->values[v].dtype = P->types[k].dtype;
      g->values[v].shape = P->types[k].shape;
    }
  }
  if (ir_infer(g, id, P->d)) return -1;
  for (size_t k = 0; k < nres; k++) {
    const Value *v = &g->values[g->nodes[id].out[k]];
    const Typed *ty = &P->types[k];
    if (v->dtype != ty->dtype || !ir_shape_eq(&v->shape, &ty->shape)) {
      char written[600], inferred[600];
      format_type(g, ty->dtype, &ty->shape, written, sizeof written);
      format_type(g, v->dtype, &v->shape, inferred, sizeof inferred);
      return px_err(P, &ty->tok, "result type %s does not match inferred %s",
                  written, inferred);
    }
  }
  g->nodes[id].loc = loc;
  for (size_t k = 0; k < nres; k++)
    label_add(P, &P->res[k], g->nodes[id].out[k]);
  return 0;
}

/* 'dim' SYM '<=' INT NL */
static int parse_dim_decl(Parser *P) {
  char b[80];
  if (px_lex(P)) return -1;
  Tok name = P->tok;
  if (name.kind != T_IDENT)
    return px_err(P, &name, "expected a dim symbol name after 'dim', got %s",
                px_tok_desc(&name, b, sizeof b));
  if (find_sym(P, &name) >= 0)
    return px_err(P, &name, "redefinition of dim '%.*s'", (int)name.len, name.p);
  if (P->g->n_syms >= IR_MAX_SYMS)
    return px_err(P, &name, "more than %d dims", IR_MAX_SYMS);
  if (px_lex(P)) return -1;
  if (P->tok.kind != T_LE)
    return px_err(P, &P->tok, "expected '<=' after dim '%.*s', got %s",
                (int)name.len, name.p, px_tok_desc(&P->tok, b, sizeof b));
  if (px_lex(P)) return -1;
  Tok bound = P->tok;
  if (bound.kind != T_INT)
    return px_err(P, &bound, "expected the bound of dim '%.*s', got %s",
                (int)name.len, name.p, px_tok_desc(&bound, b, sizeof b));
  if (bound.i < 1)
    return px_err(P, &bound,
                "the bound of dim '%.*s' must be at least 1, got %" PRId64,
                (int)name.len, name.p, bound.i);
  char *s = ir_strndup(P->g->arena, name.p, name.len);
  ir_add_sym(P->g, s, bound.i, (Loc){P->afile, name.line, name.col});
  if (px_lex(P)) return -1;
  return px_expect_eol(P, "the dim declaration");
}

/* 'return' values? NL */
static int parse_return(Parser *P) {
  char b[80];
  if (px_lex(P)) return -1;
  if (P->tok.kind == T_VALUE) {
    for (;;) {
      Tok t = P->tok;
      if (t.kind != T_VALUE)
        return px_err(P, &t, "expected a value after ',', got %s",
                    px_tok_desc(&t, b, sizeof b));
      Label *l = label_find(P, &t);
      if (!l) return px_err(P, &t, "undefined value %%%.*s", (int)t.len, t.p);
      for (uint32_t i = 0; i < P->g->n_outputs; i++)
        if (P->g->outputs[i] == l->value)
          return px_err(P, &t, "%%%.*s is returned twice", (int)t.len, t.p);
      ir_add_output(P->g, l->value);
      if (px_lex(P)) return -1;
      if (!px_is_punct(&P->tok, ',')) break;
      if (px_lex(P)) return -1;
    }
  }
  return px_expect_eol(P, "the returned values");
}

static int parse_graph(Parser *P) {
  char b[80];
  if (px_lex(P) || px_skip_newlines(P)) return -1;
  if (!px_is_word(&P->tok, "graph"))
    return px_err(P, &P->tok, "expected 'graph' at the start of the IR, got %s",
                px_tok_desc(&P->tok, b, sizeof b));
  if (px_lex(P)) return -1;
  if (P->tok.kind != T_STRING)
    return px_err(P, &P->tok,
                "expected the graph's name as a string after 'graph', got %s",
                px_tok_desc(&P->tok, b, sizeof b));
  /* The name decodes into a scratch arena: the graph does not exist yet. */
  Tok name = P->tok;
  P->g = ir_graph_new("");
  P->g->name = px_decode_string(P, &name);
  P->afile = ir_strdup(P->g->arena, P->file);
  if (px_lex(P) || px_expect(P, '{', "after the graph's name") ||
      px_expect_eol(P, "'{'"))
    return -1;

  for (;;) {
    if (px_skip_newlines(P)) return -1;
    Tok t = P->tok;
    if (t.kind == T_VALUE) {
      if (parse_node(P)) return -1;
    } else if (px_is_word(&t, "dim")) {
      if (parse_dim_decl(P)) return -1;
    } else if (px_is_word(&t, "return")) {
      if (parse_return(P)) return -1;
      break;
    } else {
      return px_err(P, &t,
                  "expected a node ('%%x = op ...'), 'dim' or "
                  "'return', got %s",
                  px_tok_desc(&t, b, sizeof b));
    }
  }
  if (px_skip_newlines(P)) return -1;
  if (!px_is_punct(&P->tok, '}'))
    return px_err(P, &P->tok, "expected '}' after the return statement, got %s",
                px_tok_desc(&P->tok, b, sizeof b));
  if (px_lex(P) || px_skip_newlines(P)) return -1;
  if (P->tok.kind != T_EOF)
    return px_err(P, &P->tok, "expected end of input after '}', got %s",
                px_tok_desc(&P->tok, b, sizeof b));
  return 0;
}

Graph *ir_parse(const char *text, const char *filename, Diag *d) {
  Parser P = {0};
  P.src = P.p = P.line_start = text;
  P.line = 1;
  P.file = filename ? filename : "<input>";
  P.d = d;
  int rc = parse_graph(&P);
  free(P.labels);
  free(P.res);
  free(P.ins);
  free(P.types);
  free(P.list);
  free(P.dlist);
  if (rc) {
    /* A Diag is optional for callers; the error must not pass silently. */
    IR_ASSERT(!d || d->failed);
    ir_graph_free(P.g);
    return NULL;
  }
  return P.g;
}
