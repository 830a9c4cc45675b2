/* c_emit.c — a lowered model (Program) as a C directory (see c_emit.h).
 *
 * NAME.c is, top to bottom:
 *
 *   1. the kernels, each once however many steps call it: under
 *      `#if defined(__GNUC__) && !defined(LOOM_SCALAR)` the vector variants
 *      (built at the target's width, vector extensions), otherwise the
 *      scalar ones (lanes 1, plain C99 — tcc, MSVC, -DLOOM_SCALAR);
 *   2. the model's tables: inputs and outputs with their shapes (c · symbol
 *      or c), the symbols' bounds, the weights' layout hash and sizes;
 *   3. the host code every model shares (runtime/standalone/sa_model.c, with
 *      NAME_ made the model's prefix): loading and checking the weights,
 *      matching the caller's tensors to the inputs, binding the symbolic
 *      dimensions, checking bounds;
 *   4. forward(): one kernel call per step with explicit pointers — inputs
 *      `in[i]`, outputs `out[i]`, weights `w + offset`, activations
 *      `a + offset` — and the symbols' values `sym[s]`.  A step whose
 *      kernel can fail (a gather id out of range) turns the kernel's code
 *      into a message naming the node and its YAML location.
 *
 * So a deeper model adds two lines per step, never a kernel per layer.
 * Everything but the NAME_ API is static.  The text depends only on the
 * program (no dates, no paths other than the model's own locations), so the
 * same model gives the same bytes.
 */
#include "codegen/c/c_emit.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ir/diag.h"
#include "loom.h" /* LOOM_VERSION */

uint64_t cg_hash(uint64_t h, const void *data, size_t n) {
  const unsigned char *p = data;
  for (size_t i = 0; i < n; i++) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  return h;
}

void cg_c_name(const char *model, char *out, size_t cap) {
  size_t n = 0;
  IR_ASSERT(cap > 3);
  if (!model || !*model) model = "model";
  if (*model >= '0' && *model <= '9') {
    out[n++] = 'm';
    out[n++] = '_';
  }
  for (const char *s = model; *s && n + 1 < cap; s++) {
    char c = *s;
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_';
    out[n++] = ok ? c : '_';
  }
  out[n] = 0;
  /* Names whose files or NAME_create would clash: main.c, npy.c, the
   * generation loop's generate.c and loom_generate.h, libc's
   * pthread_create, timer_create, thrd_create. */
  static const char *const clash[] = {"main",  "npy",   "generate", "loom_generate",
                                      "pthread", "timer", "thrd"};
  for (size_t i = 0; i < sizeof clash / sizeof clash[0]; i++)
    if (strcmp(out, clash[i]) == 0 && n + 7 < cap) strcat(out, "_model");
}

/* ---- text helpers ------------------------------------------------------------ */

typedef struct {
  char *buf;
  size_t len;
  FILE *f;
} Mem;

static FILE *mem_open(Mem *m) {
  m->buf = NULL;
  m->len = 0;
  m->f = open_memstream(&m->buf, &m->len);
  IR_ASSERT(m->f);
  return m->f;
}

static char *mem_close(Mem *m) {
  IR_ASSERT(fclose(m->f) == 0);
  return m->buf;
}

/* s as a C string literal. */
static void c_string(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      fprintf(f, "\\%c", c);
    else if (c < 32 || c >= 127)
      fprintf(f, "\\%03o", c);
    else
      fputc(c, f);
  }
  fputc('"', f);
}

/* s inside a C comment: no "*" "/" pair may close it. */
static void c_comment(FILE *f, const char *s) {
  for (; *s; s++) {
    fputc(*s, f);
    if (*s == '*' && s[1] == '/') fputc(' ', f);
  }
}

static const char *vname(const Graph *g, uint32_t v, char *buf, size_t cap) {
  if (g->values[v].name) return g->values[v].name;
  snprintf(buf, cap, "%%%u", v);
  return buf;
}

/* A value as the IR text names it: "%name" or "%12". */
static const char *ir_name(const Graph *g, uint32_t v, char *buf, size_t cap) {
  if (g->values[v].name)
    snprintf(buf, cap, "%%%s", g->values[v].name);
  else
    snprintf(buf, cap, "%%%u", v);
  return buf;
}

/* "model.yaml:12:7", or "" when the node has no location. */

/* The template `text` with every NAME_ (and "NAME.h") made name's; a
 * line `@@ PATH` stands for the embedded file PATH (itself a template,
 * less its own #include "runtime/..." lines: its text is here), `@@
 * host-includes` for CG_C_HOST_INCLUDES; lines starting `//!` are notes
 * on the template itself and are left out. */
void cg_put_template(FILE *f, const char *text, const char *name) {
  bool line_start = true;
  for (const char *s = text; *s; s++) {
    if (line_start && strncmp(s, "@@ ", 3) == 0) {
      const char *eol = strchr(s, '\n');
      size_t n = eol ? (size_t)(eol - s - 3) : strlen(s + 3);
      char path[256];
      snprintf(path, sizeof path, "%.*s", (int)n, s + 3);
      if (strcmp(path, "host-includes") == 0) fputs(CG_C_HOST_INCLUDES, f);
      else cg_put_template(f, cg_embedded_text(path), name);
      if (!eol) return;
      s = eol;
      continue;
    }
    if (line_start && (strncmp(s, "#include \"runtime/", 18) == 0 ||
                       strncmp(s, "//!", 3) == 0)) {
      const char *eol = strchr(s, '\n');
      if (!eol) return;
      s = eol;
      continue;
    }
    line_start = *s == '\n';
    bool boundary = s == text || !((s[-1] >= 'a' && s[-1] <= 'z') ||
                                   (s[-1] >= 'A' && s[-1] <= 'Z') ||
                                   (s[-1] >= '0' && s[-1] <= '9') || s[-1] == '_');
    if (boundary && strncmp(s, "NAME", 4) == 0 &&
        (s[4] == '_' || strncmp(s + 4, ".h\"", 3) == 0)) {
      fputs(name, f);
      s += 3;
      continue;
    }
    fputc(*s, f);
  }
}

const char *cg_embedded_text(const char *path) {
  for (const CgText *t = cg_embedded; t->path; t++)
    if (strcmp(t->path, path) == 0) return t->text;
  IR_ASSERT(!"embedded file missing");
  return NULL;
}

/* ---- the weights file -------------------------------------------------------- */

static void put_u64(unsigned char *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

uint64_t cg_weights_hash(const Program *p) {
  const Graph *g = p->g;
  uint64_t h = cg_hash(CG_HASH_INIT, "loom weights 1", 14);
  for (uint32_t i = 0; i < p->n_weights; i++) {
    uint32_t v = p->weights[i];
    const Value *val = &g->values[v];
    const Node *n = &g->nodes[val->node];
    const char *nm = val->name ? val->name : "";
    const char *layout =
        ir_attr_index(n->op, "layout") >= 0 ? ir_get_str(g, n, "layout") : "";
    int64_t rec[3 + IR_MAX_RANK] = {(int64_t)n->op, val->dtype, val->shape.rank};
    for (int d = 0; d < val->shape.rank; d++) {
      Dim dm = val->shape.d[d];
      rec[3 + d] = dm.sym < 0 ? dm.c : dm.c * g->syms[dm.sym].bound;
    }
    h = cg_hash(h, nm, strlen(nm) + 1);
    h = cg_hash(h, layout, strlen(layout) + 1);
    h = cg_hash(h, rec, sizeof rec);
    h = cg_hash(h, &p->store[v].offset, sizeof p->store[v].offset);
  }
  return cg_hash(h, &p->weight_bytes, sizeof p->weight_bytes);
}

void cg_weights_header(const Program *p, unsigned char h[CG_WEIGHTS_HEADER]) {
  memset(h, 0, CG_WEIGHTS_HEADER);
  memcpy(h, "LOOMWGT1", 8);
  put_u64(h + 8, cg_weights_hash(p));
  put_u64(h + 16, (uint64_t)p->weight_bytes);
  put_u64(h + 24, p->n_weights);
  put_u64(h + 32, CG_WEIGHTS_HEADER);
}

int cg_write_weights_file(const Program *p, FILE *f) {
  unsigned char h[CG_WEIGHTS_HEADER];
  cg_weights_header(p, h);
  if (fwrite(h, 1, sizeof h, f) != sizeof h) return -1;
  return cg_write_weights(p, f);
}

/* ---- NAME.h ------------------------------------------------------------------ */

static void io_line(FILE *f, const Graph *g, uint32_t v, int optional) {
  char shape[256], nb[32];
  const Value *val = &g->values[v];
  ir_format_shape(g, &val->shape, shape, sizeof shape);
  fprintf(f, " *   %-16s %s%s%s\n", vname(g, v, nb, sizeof nb),
          ir_dtype_name(val->dtype), shape,
          optional == 2 ? " (optional: ones when left out)"
          : optional ? " (optional: zeros when left out)" : "");
}

char *cg_c_header(const Program *p, const char *name) {
  const Graph *g = p->g;
  Mem m;
  FILE *f = mem_open(&m);
  uint32_t n_in = ir_inputs(g, NULL, 0);
  uint32_t *ins = calloc(n_in ? n_in : 1, sizeof *ins);
  IR_ASSERT(ins);
  ir_inputs(g, ins, n_in);

  fprintf(f, "/* %s.h — the model \"", name);
  c_comment(f, g->name);
  fprintf(f, "\" as C, compiled by loom " LOOM_VERSION
             " for %s\n * (generated; do not edit).\n *\n * inputs:\n",
          p->target.name);
  for (uint32_t i = 0; i < n_in; i++)
    io_line(f, g, ins[i], ir_input_optional_code(g, ins[i]));
  if (!n_in) fprintf(f, " *   (none)\n");
  fprintf(f, " * outputs:\n");
  for (uint32_t i = 0; i < g->n_outputs; i++) io_line(f, g, g->outputs[i], 0);
  if (g->n_syms) {
    fprintf(f, " * symbolic dimensions (each from 1 to its bound, given by the "
               "inputs' shapes):\n *  ");
    for (uint32_t s = 0; s < g->n_syms; s++)
      fprintf(f, " %s <= %" PRId64 "%s", g->syms[s].name, g->syms[s].bound,
              s + 1 < g->n_syms ? "," : "\n");
  }
  /* an example call, with the first input */
  char in_name[64] = "x";
  if (n_in) snprintf(in_name, sizeof in_name, "%s", g->values[ins[0]].name);
  fprintf(f, " *\n * Example:\n");
  cg_put_template(f, " *   char err[1024];\n *   NAME_model *m;\n", name);
  fprintf(f, " *   if (%s_create(\"%s.weights\", &m, err, sizeof err)) { "
             "puts(err); return 1; }\n", name, name);
  fprintf(f, " *   %s_tensor in = {\"%s\", %s_%s, rank, {dims...}, data};\n",
          name, in_name, name,
          n_in && g->values[ins[0]].dtype == DT_I32 ? "I32" : "F32");
  fprintf(f, " *   %s_tensor out[%u];\n", name, g->n_outputs);
  fprintf(f, " *   %s_output_shapes(&in, 1, out, %u, err, sizeof err); // "
             "names, dims\n", name, g->n_outputs);
  fprintf(f, " *   for (int i = 0; i < %u; i++) out[i].data = "
             "malloc(%s_tensor_bytes(&out[i]));\n", g->n_outputs, name);
  fprintf(f, " *   if (%s_run(m, &in, 1, out, %u, err, sizeof err)) { "
             "puts(err); ... }\n", name, g->n_outputs);
  cg_put_template(f,
               " *   NAME_free(m);\n"
               " *\n"
               " * Every function that can fail returns NAME_OK (0) or an error "
               "status and\n"
               " * writes one line into err; nothing prints or exits.  A model "
               "is not\n"
               " * re-entrant (NAME_run works in the model's activation arena): "
               "use one\n"
               " * per thread; they can share weights through "
               "NAME_create_from_memory.\n"
               " */\n",
               name);
  fprintf(f,
          "#ifndef %s_H\n#define %s_H\n\n#include <stddef.h>\n#include <stdint.h>\n\n"
          "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n",
          name, name);
  cg_put_template(f, cg_embedded_text("runtime/standalone/sa_api.h"), name);
  fprintf(f, "\n#ifdef __cplusplus\n}\n#endif\n");
  fprintf(f, "#endif\n");
  free(ins);
  return mem_close(&m);
}

/* ---- NAME.c ------------------------------------------------------------------ */

static uint32_t pkernel_codes(const PKernel *pk) {
  return cg_kernel_codes(pk->vec) | cg_kernel_codes(pk->scalar);
}


/* The argument a kernel parameter takes. */
static void step_arg(FILE *f, const Program *p, const KParam *param, KBind b) {
  if (b.kind == KB_SYM) {
    fprintf(f, "sym[%u]", b.id);
    return;
  }
  const char *t = param->elem == KT_I32 ? "int32_t" : "float";
  const PStore *st = &p->store[b.id];
  switch (st->kind) {
  case PS_INPUT: /* written: a state input (write_rows, in place) */
    fprintf(f, param->written ? "(%s *)in[%u]" : "(const %s *)in[%u]", t,
            st->index);
    break;
  case PS_OUTPUT: fprintf(f, "(%s *)out[%u]", t, st->index); break;
  case PS_WEIGHT:
    IR_ASSERT(!param->written);
    fprintf(f, "(const %s *)(w + %" PRId64 ")", t, st->offset);
    break;
  case PS_ARENA:
    IR_ASSERT(st->offset >= 0);
    fprintf(f, "(%s *)(a + %" PRId64 ")", t, st->offset);
    break;
  }
}

static void emit_step(FILE *f, const Program *p, const PStep *s, const char *name) {
  const Graph *g = p->g;
  const Node *n = &g->nodes[s->node];
  const PKernel *pk = &p->kernels[s->kernel];
  char nb[32], where[1024];
  /* the node, as the IR text has it */
  fprintf(f, "  /* ");
  for (uint32_t i = 0; i < n->nout; i++)
    fprintf(f, "%s%s", i ? ", " : "", ir_name(g, n->out[i], nb, sizeof nb));
  fprintf(f, " = %s", ir_op_info(n->op)->name);
  for (uint32_t i = 0; i < n->nin; i++)
    fprintf(f, "%s%s", i ? ", " : " ", ir_name(g, n->in[i], nb, sizeof nb));
  cg_loc_text(n->loc, where, sizeof where);
  if (where[0]) {
    fprintf(f, "  (");
    c_comment(f, where);
    fprintf(f, ")");
  }
  fprintf(f, " */\n");
  uint32_t codes = pkernel_codes(pk);
  fprintf(f, codes ? "  if ((rc = %s(" : "  %s(", pk->name);
  IR_ASSERT(s->n_args == pk->vec->n_params);
  for (uint32_t i = 0; i < s->n_args; i++) {
    if (i) fprintf(f, ", ");
    if (s->args[i].kind != KB_SYM && !k_param_used(pk->vec, i) &&
        (!pk->scalar || !k_param_used(pk->scalar, i)))
      fprintf(f, "0"); /* never touched (c_kernel.c) */
    else
      step_arg(f, p, &pk->vec->params[i], s->args[i]);
  }
  if (!codes) {
    fprintf(f, ");\n");
    return;
  }
  fprintf(f, ")) != 0)\n    return step_failed(err, errlen, ");
  c_string(f, where);
  fprintf(f, ",");
  for (int c = 1; c < 32; c++) {
    if (!(codes & (1u << c))) continue;
    char msg[1024];
    cg_kernel_message(g, n, c, pk->name, msg, sizeof msg);
    codes &= ~(1u << c);
    if (codes) fprintf(f, " rc == %d ?", c);
    fprintf(f, " ");
    c_string(f, msg);
    if (codes) fprintf(f, " :");
  }
  fprintf(f, ");\n");
  (void)name;
}

/* IoSpec initializer of value v. */
static void io_spec(FILE *f, const Graph *g, uint32_t v, int optional,
                    const char *name) {
  const Value *val = &g->values[v];
  char shape[256], nb[32];
  ir_format_shape(g, &val->shape, shape, sizeof shape);
  fprintf(f, "    {");
  c_string(f, vname(g, v, nb, sizeof nb));
  fprintf(f, ", %s_%s, %d, {", name, val->dtype == DT_I32 ? "I32" : "F32",
          val->shape.rank);
  for (int i = 0; i < val->shape.rank; i++)
    fprintf(f, "%s{%" PRId64 ", %d}", i ? ", " : "", val->shape.d[i].c,
            val->shape.d[i].sym);
  if (!val->shape.rank) fprintf(f, "{0, -1}");
  fprintf(f, "}, %d, ", optional);
  c_string(f, shape);
  uint32_t table = ir_input_table(g, v);
  const Node *src = &g->nodes[val->node];
  const Attr *bd = src->op == OP_INPUT ? ir_get_attr(src, "binds") : NULL;
  int binds = bd && bd->set ? bd->dim.sym : -1;
  if (table == IR_NONE) {
    fprintf(f, ", {0, -1}, NULL, %d},\n", binds);
  } else {
    Dim rows = g->values[table].shape.d[0];
    fprintf(f, ", {%" PRId64 ", %d}, ", rows.c, rows.sym);
    c_string(f, vname(g, table, nb, sizeof nb));
    fprintf(f, ", %d},\n", binds);
  }
}

/* The prelude for `lanes`, keeping only the helper functions `code` calls:
 * clang warns about unused static inline functions. */
static void prelude_for(FILE *f, int lanes, const char *code) {
  Mem m;
  cg_c_prelude(mem_open(&m), lanes);
  char *text = mem_close(&m);
  for (char *line = text; *line;) {
    char *end = strchr(line, '\n');
    size_t len = end ? (size_t)(end - line) + 1 : strlen(line);
    bool keep = true;
    if (strncmp(line, "static inline ", 14) == 0) {
      /* the function's name: the word before the first '(' */
      char *paren = memchr(line, '(', len), *start = paren;
      while (start > line && (start[-1] == '_' || (start[-1] >= 'a' && start[-1] <= 'z') ||
                              (start[-1] >= 'A' && start[-1] <= 'Z') ||
                              (start[-1] >= '0' && start[-1] <= '9')))
        start--;
      char call[64];
      snprintf(call, sizeof call, "%.*s(", (int)(paren - start), start);
      keep = paren && strstr(code, call);
    }
    if (keep) fwrite(line, 1, len, f);
    line += len;
  }
  free(text);
}

/* Every kernel's vector (or scalar) variant, after the helpers they use. */
static void kernels(FILE *f, const Program *p, bool vec) {
  Mem m;
  FILE *k = mem_open(&m);
  for (uint32_t i = 0; i < p->n_kernels; i++)
    cg_c_kernel(k, vec ? p->kernels[i].vec : p->kernels[i].scalar,
                p->kernels[i].name);
  char *code = mem_close(&m);
  int lanes = vec ? p->target.lanes : 1;
  prelude_for(f, 1, code);
  if (lanes > 1) prelude_for(f, lanes, code);
  if (lanes == 16 && strstr(code, "lv_dotbf16(")) cg_c_dotbf16_helper(f);
  fputc('\n', f);
  fputs(code, f);
  free(code);
}

char *cg_c_source(const Program *p, const char *name) {
  const Graph *g = p->g;
  Mem m;
  FILE *f = mem_open(&m);
  uint32_t n_in = ir_inputs(g, NULL, 0);
  uint32_t *ins = calloc(n_in ? n_in : 1, sizeof *ins);
  IR_ASSERT(ins);
  ir_inputs(g, ins, n_in);
  int lanes = p->target.lanes;

  fprintf(f, "/* %s.c — the model \"", name);
  c_comment(f, g->name);
  fprintf(f,
          "\" as C, compiled by loom " LOOM_VERSION
          " (generated; do not edit).\n"
          " *\n"
          " * Target %s: %d-lane float vectors through GCC/Clang vector "
          "extensions;\n"
          " * other compilers (or -DLOOM_SCALAR) take the scalar kernels.  "
          "OpenMP\n"
          " * parallelizes the outer loops when built with -fopenmp.\n"
          " * %u kernels for %u steps; weights %" PRId64
          " bytes; activation arena %" PRId64 " bytes.\n"
          " * Build with -O3 -std=gnu99 (ISO -std=c99 turns off FMA contraction),\n"
          " * -march=... for the target: see the Makefile.\n"
          " */\n",
          p->target.name, lanes, p->n_kernels, p->n_steps, p->weight_bytes,
          p->arena_bytes);
  fputs(CG_C_HOST_INCLUDES "\n", f);
  fprintf(f, "#include \"%s.h\"\n\n", name);

  /* 1. kernels */
  fprintf(f, "/* ---- kernels ---- */\n\n");
  if (lanes > 1) {
    fprintf(f, "#if defined(__GNUC__) && !defined(LOOM_SCALAR)\n\n");
    kernels(f, p, true);
    fprintf(f, "#else /* the scalar kernels: any C99 compiler */\n\n");
    kernels(f, p, false);
    fprintf(f, "#endif\n\n");
  } else {
    kernels(f, p, true);
  }

  /* 2. tables */
  fprintf(f, "/* ---- the model's inputs, outputs and weights ---- */\n\n");
  fprintf(f, "static const char model_title[] = ");
  c_string(f, g->name);
  fprintf(f, ";\nenum { N_IN = %u, N_OUT = %u, N_SYM = %u };\n", n_in,
          g->n_outputs, g->n_syms);
  fprintf(f, "static const char *const sym_names[N_SYM + 1] = {");
  for (uint32_t s = 0; s < g->n_syms; s++) {
    c_string(f, g->syms[s].name);
    fprintf(f, ", ");
  }
  fprintf(f, "NULL};\nstatic const int64_t sym_bound[N_SYM + 1] = {");
  for (uint32_t s = 0; s < g->n_syms; s++) fprintf(f, "%" PRId64 ", ", g->syms[s].bound);
  fprintf(f, "0};\n\n");
  cg_put_template(f, cg_embedded_text("runtime/standalone/sa_desc.h"), name);
  fputc('\n', f);
  fprintf(f, "static const IoSpec io_in[N_IN + 1] = {\n");
  for (uint32_t i = 0; i < n_in; i++)
    io_spec(f, g, ins[i], ir_input_optional_code(g, ins[i]), name);
  fprintf(f, "    {NULL, %s_F32, 0, {{0, -1}}, 0, NULL, {0, -1}, NULL, -1}};\n", name);
  fprintf(f, "static const IoSpec io_out[N_OUT + 1] = {\n");
  for (uint32_t i = 0; i < g->n_outputs; i++) io_spec(f, g, g->outputs[i], false, name);
  fprintf(f, "    {NULL, %s_F32, 0, {{0, -1}}, 0, NULL, {0, -1}, NULL, -1}};\n\n", name);
  fprintf(f,
          "/* the weights file's layout (names, shapes, offsets) as a hash, "
          "and sizes */\n"
          "static const uint64_t weights_hash = UINT64_C(0x%016" PRIx64 ");\n"
          "static const uint64_t weights_bytes = UINT64_C(%" PRId64 ");\n"
          "static const uint64_t arena_bytes = UINT64_C(%" PRId64 ");\n\n",
          cg_weights_hash(p), p->weight_bytes, p->arena_bytes);

  /* 3. the host side */
  fprintf(f, "/* ---- the host side (loom's runtime/standalone/sa_model.c) ---- */\n\n");
  cg_put_template(f, cg_embedded_text("runtime/standalone/sa_model.c"), name);

  /* 4. the steps */
  bool can_fail = false;
  for (uint32_t i = 0; i < p->n_kernels; i++)
    if (pkernel_codes(&p->kernels[i])) can_fail = true;
  fprintf(f, "\n/* ---- the steps ---- */\n\n");
  if (can_fail)
    fprintf(f,
            "/* A kernel's failure: where (\"FILE:LINE:COL\" of the node) and "
            "what. */\n"
            "static %s_status step_failed(char *err, size_t errlen,\n"
            "                             const char *where, const char *msg) {\n"
            "  return fail(err, errlen, %s_ERR_MODEL, \"%%s%%serror: %%s\", "
            "where,\n"
            "              *where ? \": \" : \"\", msg);\n"
            "}\n\n",
            name, name);
  fprintf(f,
          "/* w: the weights, a: the activation arena (%" PRId64
          " bytes), in/out: the\n"
          " * caller's buffers in input and output order, sym: the symbols' "
          "values",
          p->arena_bytes);
  for (uint32_t s = 0; s < g->n_syms; s++)
    fprintf(f, "%s%s", s ? ", " : " (", g->syms[s].name);
  fprintf(f, "%s */\n", g->n_syms ? ")" : "");
  fprintf(f,
          "static %s_status forward(const unsigned char *w, unsigned char *a,\n"
          "                         const void *const *in, void *const *out,\n"
          "                         const int64_t *sym, char *err, size_t "
          "errlen) {\n",
          name);
  if (can_fail) fprintf(f, "  int rc;\n");
  fprintf(f, "  (void)w, (void)a, (void)in, (void)out, (void)sym, (void)err, "
             "(void)errlen;\n");
  for (uint32_t i = 0; i < p->n_steps; i++) emit_step(f, p, &p->steps[i], name);
  fprintf(f, "  return %s_OK;\n}\n", name);
  free(ins);
  return mem_close(&m);
}

/* ---- main.c, Makefile ---------------------------------------------------------- */

char *cg_c_template(const char *path, const char *name) {
  Mem m;
  FILE *f = mem_open(&m);
  cg_put_template(f, cg_embedded_text(path), name);
  return mem_close(&m);
}

char *cg_c_main(const char *name) {
  Mem m;
  FILE *f = mem_open(&m);
  cg_put_template(f, cg_embedded_text("runtime/standalone/sa_main.c"), name);
  return mem_close(&m);
}

char *cg_c_makefile(const Program *p, const char *name, const char *extra) {
  Mem m;
  FILE *f = mem_open(&m);
  const char *sp = extra && *extra ? " " : "";
  if (!extra) extra = "";
  fprintf(f,
          "# Makefile — builds %s, the model \"%s\" that loom emitted as C.\n"
          "#\n"
          "#   make                    $(CC) (cc) -O3 -std=gnu99 $(MARCH), "
          "OpenMP if it has it\n"
          "#   make CC=clang-19\n"
          "#   make CC=tcc             the scalar kernels (tcc has no vector "
          "extensions)\n"
          "#   make MARCH=             no -march: any x86-64, or "
          "cross-compiling\n"
          "#   make OPENMP=            one thread\n"
          "#   make lib                lib%s.so: the API of %s.h, without "
          "main.c\n"
          "#\n"
          "# ./%s reads %s.weights beside it (or --weights FILE); ./%s --help.\n"
          "CC ?= cc\n"
          "CFLAGS ?= -O3 -std=gnu99\n"
          "MARCH ?= %s\n"
          "ifeq ($(origin OPENMP),undefined)\n"
          "OPENMP := $(shell printf '#include <omp.h>\\nint main(void) { "
          "return omp_get_max_threads() < 1; }\\n' > .omp-probe.c && \\\n"
          "  $(CC) -fopenmp .omp-probe.c -o .omp-probe >/dev/null 2>&1 && "
          "echo -fopenmp; rm -f .omp-probe.c .omp-probe)\n"
          "endif\n"
          "ALL_CFLAGS = $(CFLAGS) $(MARCH) $(OPENMP)\n"
          "LIB_SRCS = %s.c%s%s\n"
          "SRCS = main.c npy.c $(LIB_SRCS)\n"
          "\n"
          "all: %s\n"
          "\n"
          "%s: $(SRCS) %s.h npy.h\n"
          "\t$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(SRCS) -lm\n"
          "\n"
          "lib: lib%s.so\n"
          "\n"
          "lib%s.so: $(LIB_SRCS) %s.h\n"
          "\t$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -fPIC -shared $(LDFLAGS) -o $@ "
          "$(LIB_SRCS) -lm\n"
          "\n"
          "clean:\n"
          "\trm -f %s lib%s.so\n"
          "\n"
          ".PHONY: all lib clean\n",
          name, p->g->name, name, name, name, name, name, p->target.cflags, name,
          sp, extra, name, name, name, name, name, name, name, name);
  return mem_close(&m);
}

/* ---- the directory ------------------------------------------------------------- */

int cg_write_text(const char *dir, const char *file, const char *text, Diag *d) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  FILE *f = fopen(path, "wb");
  if (!f) return ir_file_errorf(d, path, "cannot write: %s", strerror(errno));
  size_t n = strlen(text);
  bool ok = fwrite(text, 1, n, f) == n;
  int e = errno;
  if (fclose(f)) ok = false, e = errno;
  if (!ok) return ir_file_errorf(d, path, "cannot write: %s", strerror(e));
  return 0;
}

int cg_write_cli(const char *name, const char *dir, Diag *d) {
  char *mainc = cg_c_main(name);
  int rc = cg_write_text(dir, "main.c", mainc, d);
  if (!rc) rc = cg_write_text(dir, "npy.c", cg_embedded_text("runtime/npy.c"), d);
  if (!rc) rc = cg_write_text(dir, "npy.h", cg_embedded_text("runtime/npy.h"), d);
  free(mainc);
  return rc;
}

int cg_write_common(const Program *p, const char *name, const char *dir, Diag *d) {
  char file[512];
  char *h = cg_c_header(p, name);
  snprintf(file, sizeof file, "%s.h", name);
  int rc = cg_write_text(dir, file, h, d);
  free(h);
  if (rc) return rc;
  snprintf(file, sizeof file, "%s.weights", name);
  return cg_write_weights_in(p, dir, file, d);
}

int cg_write_weights_in(const Program *p, const char *dir, const char *file,
                        Diag *d) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  FILE *f = fopen(path, "wb");
  if (!f) return ir_file_errorf(d, path, "cannot write: %s", strerror(errno));
  bool ok = cg_write_weights_file(p, f) == 0;
  int e = errno;
  if (fclose(f)) ok = false, e = errno;
  if (!ok) return ir_file_errorf(d, path, "cannot write: %s", strerror(e));
  return 0;
}

int cg_emit_c(const Program *p, const char *name, const char *dir, Diag *d) {
  char file[512];
  char *c = cg_c_source(p, name), *mk = cg_c_makefile(p, name, NULL);
  snprintf(file, sizeof file, "%s.c", name);
  int rc = cg_write_text(dir, file, c, d);
  if (!rc) rc = cg_write_text(dir, "Makefile", mk, d);
  free(c);
  free(mk);
  if (!rc) rc = cg_write_common(p, name, dir, d);
  return rc ? rc : cg_write_cli(name, dir, d);
}
