/* print.c — the text form of a Graph IR.
 *
 * One node per line, deterministic, and read back by ir/parse.c, so that
 * print(parse(print(g))) is byte-identical to print(g).  The grammar:
 *
 *   graph    := 'graph' STRING '{' NL  stmt*  'return' values? NL  '}' NL?
 *   stmt     := 'dim' IDENT '<=' INT NL
 *             | values '=' OPNAME values? attrs? ':' types loc? NL
 *   values   := VALUE (',' VALUE)*          VALUE is %name or %N
 *   attrs    := '{' IDENT '=' attrval (',' IDENT '=' attrval)* '}'
 *   attrval  := INT | FLOAT | 'true' | 'false' | dim | '[' (item (',' item)*)?
 * ']' types    := type (',' type)* type     := DTYPE '[' (dim (',' dim)*)? ']'
 * f32[S, 64], f32[] dim      := INT | SYM | INT '*' SYM              64, S, 8*S
 *   loc      := 'loc' '(' STRING ':' INT ':' INT ')'
 *
 * e.g.
 *
 *   graph "attention-head" {
 *     dim S <= 256
 *     %x = input : f32[S, 64] loc("examples/attn.yaml":4:7)
 *     %a, %b = split %x {axis = -1, parts = 2} : f32[S, 32], f32[S, 32]
 *     %0 = scale %a {by = 0.125} : f32[S, 32]
 *     return %0, %b
 *   }
 *
 * Names: a value with a name prints as %name; one without (Value.name ==
 * NULL) as %N, numbered 0, 1, 2, ... in the order the text defines them —
 * not by value index, which passes leave full of holes — so that a graph
 * read back numbers them the same way.  Attributes print only when set, in
 * the op table's order.  Floats print in the shortest %g form that reads
 * back to the same double.  `#` starts a comment in the parser; the printer
 * writes none.
 *
 * The printer is also a debugging tool run on graphs a pass may have broken,
 * so it never trusts indices: a dangling value prints as %?ID and an unknown
 * symbol as ?symN, which the parser then rejects.
 */
#include "ir/ir.h"

#include <inttypes.h>
#include <string.h>

/* A growing malloc'd string. */
typedef struct {
  char *s;
  size_t len, cap;
} Buf;

static void buf_reserve(Buf *b, size_t extra) {
  if (b->len + extra + 1 <= b->cap) return;
  size_t cap = b->cap ? b->cap : 1024;
  while (cap < b->len + extra + 1) cap *= 2;
  b->s = realloc(b->s, cap);
  IR_ASSERT(b->s);
  b->cap = cap;
}

static void buf_puts(Buf *b, const char *s) {
  size_t n = strlen(s);
  buf_reserve(b, n);
  memcpy(b->s + b->len, s, n + 1);
  b->len += n;
}

__attribute__((format(printf, 2, 3))) static void buf_printf(Buf *b,
                                                             const char *fmt,
                                                             ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  IR_ASSERT(n >= 0);
  buf_reserve(b, (size_t)n);
  va_start(ap, fmt);
  vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

/* A quoted string: `"` and `\` escaped, control bytes as \n, \t, \xHH. */
static void put_quoted(Buf *b, const char *s) {
  buf_puts(b, "\"");
  for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
    if (*p == '"' || *p == '\\')
      buf_printf(b, "\\%c", *p);
    else if (*p == '\n')
      buf_puts(b, "\\n");
    else if (*p == '\t')
      buf_puts(b, "\\t");
    else if (*p < 0x20 || *p == 0x7f)
      buf_printf(b, "\\x%02x", *p);
    else
      buf_printf(b, "%c", *p);
  }
  buf_puts(b, "\"");
}

static void put_dim(Buf *b, const Graph *g, Dim d) {
  if (d.sym < 0) {
    buf_printf(b, "%" PRId64, d.c);
    return;
  }
  if (d.c != 1) buf_printf(b, "%" PRId64 "*", d.c);
  if ((uint32_t)d.sym < g->n_syms && g->syms[d.sym].name)
    buf_puts(b, g->syms[d.sym].name);
  else
    buf_printf(b, "?sym%" PRId32, d.sym);
}

static void put_type(Buf *b, const Graph *g, const Value *v) {
  if (v->dtype < DT_COUNT)
    buf_puts(b, ir_dtype_name(v->dtype));
  else
    buf_printf(b, "?dtype%d", (int)v->dtype);
  buf_puts(b, "[");
  int rank = v->shape.rank < 0             ? 0
             : v->shape.rank > IR_MAX_RANK ? IR_MAX_RANK
                                           : v->shape.rank;
  for (int i = 0; i < rank; i++) {
    if (i) buf_puts(b, ", ");
    put_dim(b, g, v->shape.d[i]);
  }
  buf_puts(b, "]");
}

/* The shortest "%.Ng" that strtod reads back as exactly v. */
static void put_float(Buf *b, double v) {
  char tmp[64];
  if (v != v) {
    buf_puts(b, "nan");
    return;
  }
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(tmp, sizeof tmp, "%.*g", prec, v);
    if (strtod(tmp, NULL) == v) break;
  }
  buf_puts(b, tmp);
}

static void put_value(Buf *b, const Graph *g, const uint32_t *num, uint32_t v) {
  if (v < g->n_values && g->values[v].name)
    buf_printf(b, "%%%s", g->values[v].name);
  else if (v < g->n_values && num[v] != IR_NONE)
    buf_printf(b, "%%%" PRIu32, num[v]);
  else
    buf_printf(b, "%%?%" PRIu32, v);
}

static void put_attr(Buf *b, const Graph *g, const AttrSpec *spec,
                     const Attr *a) {
  buf_printf(b, "%s = ", spec->key);
  switch (spec->kind) {
    case AK_INT: buf_printf(b, "%" PRId64, a->i); break;
    case AK_BOOL: buf_puts(b, a->i ? "true" : "false"); break;
    case AK_FLOAT: put_float(b, a->f); break;
    case AK_DIM: put_dim(b, g, a->dim); break;
    case AK_STR: buf_puts(b, a->s ? a->s : "?"); break;
    case AK_INTS:
    case AK_DIMS:
      buf_puts(b, "[");
      for (int i = 0; i < a->n; i++) {
        if (i) buf_puts(b, ", ");
        if (spec->kind == AK_INTS)
          buf_printf(b, "%" PRId64, a->ints ? a->ints[i] : 0);
        else if (a->dims)
          put_dim(b, g, a->dims[i]);
      }
      buf_puts(b, "]");
      break;
  }
}

static void put_node(Buf *b, const Graph *g, const uint32_t *num,
                     const Node *n) {
  buf_puts(b, "  ");
  for (uint32_t i = 0; i < n->nout; i++) {
    if (i) buf_puts(b, ", ");
    put_value(b, g, num, n->out[i]);
  }
  if (n->op >= OP_COUNT) {
    buf_printf(b, " = ?op%d\n", (int)n->op);
    return;
  }
  const OpInfo *info = ir_op_info(n->op);
  buf_printf(b, " = %s", info->name);
  for (uint32_t i = 0; i < n->nin; i++) {
    buf_puts(b, i ? ", " : " ");
    put_value(b, g, num, n->in[i]);
  }
  int nset = 0;
  for (int i = 0; i < info->nattrs; i++) {
    if (!n->attr[i].set) continue;
    buf_puts(b, nset++ ? ", " : " {");
    put_attr(b, g, &info->attrs[i], &n->attr[i]);
  }
  if (nset) buf_puts(b, "}");
  buf_puts(b, " :");
  for (uint32_t i = 0; i < n->nout; i++) {
    buf_puts(b, i ? ", " : " ");
    if (n->out[i] < g->n_values)
      put_type(b, g, &g->values[n->out[i]]);
    else
      buf_puts(b, "?");
  }
  if (n->loc.file) {
    buf_puts(b, " loc(");
    put_quoted(b, n->loc.file);
    buf_printf(b, ":%" PRIu32 ":%" PRIu32 ")", n->loc.line, n->loc.col);
  }
  buf_puts(b, "\n");
}

char *ir_print(const Graph *g) {
  Buf b = {0};
  /* Number the unnamed values in order of definition, before printing, so
   * that an operand defined further down (a broken graph) still prints
   * with the number its definition gets. */
  uint32_t *num = malloc((g->n_values ? g->n_values : 1) * sizeof *num);
  IR_ASSERT(num);
  for (uint32_t v = 0; v < g->n_values; v++) num[v] = IR_NONE;
  uint32_t next = 0;
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    const Node *n = &g->nodes[i];
    for (uint32_t k = 0; k < n->nout; k++) {
      uint32_t v = n->out[k];
      if (v < g->n_values && !g->values[v].name && num[v] == IR_NONE)
        num[v] = next++;
    }
  }

  buf_puts(&b, "graph ");
  put_quoted(&b, g->name);
  buf_puts(&b, " {\n");
  for (uint32_t i = 0; i < g->n_syms; i++)
    buf_printf(&b, "  dim %s <= %" PRId64 "\n",
               g->syms[i].name ? g->syms[i].name : "?", g->syms[i].bound);
  for (uint32_t i = 0; i < g->n_nodes; i++) put_node(&b, g, num, &g->nodes[i]);
  buf_puts(&b, "  return");
  for (uint32_t i = 0; i < g->n_outputs; i++) {
    buf_puts(&b, i ? ", " : " ");
    put_value(&b, g, num, g->outputs[i]);
  }
  buf_puts(&b, "\n}\n");
  free(num);
  return b.s;
}

int ir_print_file(const Graph *g, FILE *f) {
  char *s = ir_print(g);
  size_t n = strlen(s);
  int rc = fwrite(s, 1, n, f) == n ? 0 : -1;
  free(s);
  return rc;
}
