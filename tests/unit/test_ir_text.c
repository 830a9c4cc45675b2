/* test_ir_text.c — the IR text form: printing, parsing, round trips, errors.
 *
 *   1. The exact text of a small attention-head graph, written out here, and
 *      the same graph read back from a hand-written text with comments, blank
 *      lines and odd spacing.
 *   2. A graph built with the builder API that uses every op of ops.def and
 *      every attribute kind (symbolic dims incl. 8*S and -1, split with
 *      several results, unnamed values, dotted weight names, locations with
 *      awkward file names, floats that need 17 digits, -0, inf, nan):
 *      print -> parse -> print must be byte-identical, and the graphs equal.
 *   3. Parse errors, each checked for its whole message and line:col.
 *   4. Every *.ir file under tests/data/ (recursively) round-trips, except
 *      files meant to fail (in a folder named bad/, or named bad* / error*).
 */
#include "ir/ir.h"
#include "tests/check.h"

#include <dirent.h>
#include <math.h>
#include <sys/stat.h>

/* ---- helpers ------------------------------------------------------------ */

static Loc no_loc(void) { return (Loc){0}; }

/* Run the shape rule of node id (must succeed); name its first result. */
static uint32_t done(Graph *g, uint32_t id, const char *name) {
  Diag d = {0};
  CHECK_MSG(ir_infer(g, id, &d) == 0, "%s", d.msg);
  if (name) ir_set_name(g, g->nodes[id].out[0], name);
  return g->nodes[id].out[0];
}

static uint32_t op1(Graph *g, Op op, uint32_t x) {
  return ir_add_node(g, op, &x, 1, 1, no_loc());
}

static uint32_t op2(Graph *g, Op op, uint32_t a, uint32_t b) {
  uint32_t in[2] = {a, b};
  return ir_add_node(g, op, in, 2, 1, no_loc());
}

static Shape shape2(Dim a, Dim b) { return (Shape){2, {a, b}}; }

static void check_verified(const Graph *g) {
  Diag d = {0};
  CHECK_MSG(ir_verify(g, &d) == 0, "%s", d.msg);
}

static Graph *parse_ok(const char *text, const char *file) {
  Diag d = {0};
  Graph *g = ir_parse(text, file, &d);
  CHECK_MSG(g != NULL, "%s", d.msg);
  CHECK(!d.failed);
  check_verified(g);
  return g;
}

/* print(g) -> parse -> print must give the same bytes; returns the text. */
static char *round_trip(const Graph *g) {
  char *t1 = ir_print(g);
  Graph *g2 = parse_ok(t1, "roundtrip.ir");
  char *t2 = ir_print(g2);
  CHECK_MSG(strcmp(t1, t2) == 0, "first print:\n%s\nsecond print:\n%s", t1, t2);
  ir_graph_free(g2);
  free(t2);
  return t1;
}

/* ---- 1. the exact text of a small graph --------------------------------- */

static const char *attention_text =
    "graph \"attention-head\" {\n"
    "  dim S <= 256\n"
    "  %x = input : f32[S, 64] loc(\"examples/attn.yaml\":4:7)\n"
    "  %wq = weight : f32[64, 16] loc(\"examples/attn.yaml\":6:9)\n"
    "  %wk = weight : f32[64, 16]\n"
    "  %q = matmul %x, %wq : f32[S, 16] loc(\"examples/attn.yaml\":10:7)\n"
    "  %k = matmul %x, %wk : f32[S, 16]\n"
    "  %s = matmul %q, %k {transpose_b = true} : f32[S, S]\n"
    "  %h = reshape %q {shape = [S, 2, -1]} : f32[S, 2, 8]\n"
    "  %a, %b = split %q {axis = -1, parts = 2} : f32[S, 8], f32[S, 8]\n"
    "  %0 = scale %s {by = 0.125} : f32[S, S]\n"
    "  %p = softmax %0 : f32[S, S]\n"
    "  return %p, %a\n"
    "}\n";

static Graph *build_attention(void) {
  Graph *g = ir_graph_new("attention-head");
  int32_t S = ir_add_sym(g, "S", 256, no_loc());
  Shape xs = shape2(ir_dim_sym(S), ir_dim(64)),
        ws = shape2(ir_dim(64), ir_dim(16));
  uint32_t x = ir_add_source(g, OP_INPUT, "x", DT_F32, &xs,
                             (Loc){"examples/attn.yaml", 4, 7});
  uint32_t wq = ir_add_source(g, OP_WEIGHT, "wq", DT_F32, &ws,
                              (Loc){"examples/attn.yaml", 6, 9});
  uint32_t wk = ir_add_source(g, OP_WEIGHT, "wk", DT_F32, &ws, no_loc());
  uint32_t in[2] = {x, wq};
  uint32_t q = done(
      g,
      ir_add_node(g, OP_MATMUL, in, 2, 1, (Loc){"examples/attn.yaml", 10, 7}),
      "q");
  uint32_t k = done(g, op2(g, OP_MATMUL, x, wk), "k");
  uint32_t n = op2(g, OP_MATMUL, q, k);
  ir_set_int(g, n, "transpose_b", 1);
  uint32_t s = done(g, n, "s");
  n = op1(g, OP_RESHAPE, q);
  Dim hs[3] = {ir_dim_sym(S), ir_dim(2), ir_dim(-1)};
  ir_set_dims(g, n, "shape", hs, 3);
  done(g, n, "h");
  n = ir_add_node(g, OP_SPLIT, &q, 1, 2, no_loc());
  ir_set_int(g, n, "axis", -1);
  ir_set_int(g, n, "parts", 2);
  uint32_t a = done(g, n, "a");
  ir_set_name(g, g->nodes[n].out[1], "b");
  n = op1(g, OP_SCALE, s);
  ir_set_float(g, n, "by", 0.125);
  uint32_t sc = done(g, n, NULL);
  uint32_t p = done(g, op1(g, OP_SOFTMAX, sc), "p");
  ir_add_output(g, p);
  ir_add_output(g, a);
  return g;
}

static void test_exact_text(void) {
  Graph *g = build_attention();
  check_verified(g);
  char *t = ir_print(g);
  CHECK_MSG(strcmp(t, attention_text) == 0, "got:\n%s\nwant:\n%s", t,
            attention_text);
  /* The unnamed scale is value 9 but prints as %0. */
  CHECK(g->values[9].name == NULL);
  free(t);

  /* ir_print_file writes the same bytes. */
  FILE *f = tmpfile();
  CHECK(f);
  CHECK(ir_print_file(g, f) == 0);
  long len = ftell(f);
  CHECK(len == (long)strlen(attention_text));
  rewind(f);
  char buf[2048] = {0};
  CHECK(fread(buf, 1, sizeof buf - 1, f) == (size_t)len);
  CHECK(strcmp(buf, attention_text) == 0);
  fclose(f);

  /* Parsing the text gives the graph back: same values, names, locations. */
  Graph *g2 = parse_ok(attention_text, "attn.ir");
  CHECK(g2->n_nodes == g->n_nodes && g2->n_values == g->n_values);
  CHECK(strcmp(g2->name, "attention-head") == 0);
  CHECK(g2->n_syms == 1 && g2->syms[0].bound == 256);
  CHECK(g2->syms[0].loc.line == 2 && g2->syms[0].loc.col == 7);
  for (uint32_t v = 0; v < g->n_values; v++) {
    CHECK((g->values[v].name == NULL) == (g2->values[v].name == NULL));
    if (g->values[v].name)
      CHECK(strcmp(g->values[v].name, g2->values[v].name) == 0);
    CHECK(g->values[v].dtype == g2->values[v].dtype);
    CHECK(ir_shape_eq(&g->values[v].shape, &g2->values[v].shape));
  }
  CHECK(strcmp(g2->nodes[0].loc.file, "examples/attn.yaml") == 0);
  CHECK(g2->nodes[3].loc.line == 10 && g2->nodes[3].loc.col == 7);
  CHECK(g2->nodes[4].loc.file == NULL);
  /* Nodes of one file share one copy of its name. */
  CHECK(g2->nodes[0].loc.file == g2->nodes[1].loc.file);
  CHECK(g2->n_outputs == 2 && g2->outputs[0] == g->outputs[0] &&
        g2->outputs[1] == g->outputs[1]);
  ir_graph_free(g2);
  free(round_trip(g));
  ir_graph_free(g);
}

/* Comments, blank lines, tabs, odd spacing and out-of-order numbering read
 * back to the canonical text. */
static void test_free_form(void) {
  const char *text =
      "# an attention head, by hand\n"
      "\n"
      "graph   \"attention-head\"{   # the name\n"
      "\tdim S<=256\n"
      "  %x=input:f32[S,64]loc( \"examples/attn.yaml\" : 4 : 7 )\n"
      "\n"
      "  # weights\n"
      "  %wq = weight : f32[ 64 , 16 ] loc(\"examples/attn.yaml\":6:9)\n"
      "  %wk = weight : f32[64, 16]\n"
      "  %q = matmul %x , %wq : f32[S, 16] loc(\"examples/attn.yaml\":10:7)\n"
      "  %k = matmul %x, %wk : f32[1*S, 16]\n"
      "  %s = matmul %q, %k {transpose_b=true} : f32[S, S]\n"
      "  %h = reshape %q {shape = [S, 2, -1]} : f32[S, 2, 8]\n"
      "  %a, %b = split %q {parts = 2, axis = -1} : f32[S, 8], f32[S, 8]\n"
      "  %41 = scale %s {by = 1.25e-1} : f32[S, S]\n"
      "  %p = softmax %41 : f32[S, S]\n"
      "  return %p, %a   \n"
      "}\n"
      "# trailing comment";
  Graph *g = parse_ok(text, "free.ir");
  char *t = ir_print(g);
  CHECK_MSG(strcmp(t, attention_text) == 0, "got:\n%s", t);
  free(t);
  ir_graph_free(g);
}

/* ---- 2. every op, every attribute kind ---------------------------------- */

static Graph *build_everything(void) {
  Graph *g = ir_graph_new("every \"op\" \\ here");
  int32_t S = ir_add_sym(g, "S", 128, no_loc());
  int32_t T = ir_add_sym(g, "T", 4, no_loc());
  Dim dS = ir_dim_sym(S);
  Loc yaml = {"models/tiny.yaml", 12, 3};
  Loc odd = {"dir with space/we\"ird\\name.yaml", 1, 1};

  Shape ids_s = {1, {dS}};
  uint32_t ids = ir_add_source(g, OP_INPUT, "ids", DT_I32, &ids_s, yaml);
  Shape te_s = shape2(ir_dim(1000), ir_dim(64));
  uint32_t wte = ir_add_source(g, OP_WEIGHT, "wte.weight", DT_F32, &te_s, odd);
  Shape wv = {1, {ir_dim(64)}}, bv = {1, {ir_dim(192)}};
  uint32_t lng =
      ir_add_source(g, OP_WEIGHT, "h.0.ln_1.weight", DT_F32, &wv, no_loc());
  uint32_t lnb =
      ir_add_source(g, OP_WEIGHT, "h.0.ln_1.bias", DT_F32, &wv, no_loc());
  Shape ca = shape2(ir_dim(64), ir_dim(192));
  uint32_t cw =
      ir_add_source(g, OP_WEIGHT, "h.0.attn.c_attn.weight", DT_F32, &ca, yaml);
  uint32_t cb =
      ir_add_source(g, OP_WEIGHT, "h.0.attn.c_attn.bias", DT_F32, &bv, yaml);
  Shape img_s = {3, {ir_dim(3), ir_dim(32), ir_dim(32)}};
  uint32_t img = ir_add_source(g, OP_INPUT, "_image", DT_F32, &img_s, no_loc());
  Shape t_s = {3, {ir_dim_sym(T), dS, ir_dim(8)}};
  uint32_t tin = ir_add_source(g, OP_INPUT, "t", DT_F32, &t_s, no_loc());
  Shape tt_s = {1, {dS}};
  uint32_t tt_in =
      ir_add_source(g, OP_INPUT, "token_type_ids", DT_I32, &tt_s, yaml);
  ir_set_int(g, g->values[tt_in].node, "optional", 1);
  Shape pad_s = {1, {dS}};
  uint32_t keep_in = ir_add_source(g, OP_INPUT, "pad_keep", DT_F32, &pad_s, no_loc());
  ir_set_int(g, g->values[keep_in].node, "optional", 1);
  ir_set_int(g, g->values[keep_in].node, "fill", 1);

  uint32_t x = done(g, op2(g, OP_GATHER, wte, ids), "x");
  uint32_t n = ir_add_node(g, OP_SINUSOIDAL_PE, NULL, 0, 1, yaml);
  ir_set_dim(g, n, "len", dS);
  ir_set_int(g, n, "d", 64);
  uint32_t pe = done(g, n, NULL);
  uint32_t x1 = done(g, op2(g, OP_ADD, x, pe), NULL);
  uint32_t in3[3] = {x1, lng, lnb};
  n = ir_add_node(g, OP_LAYERNORM, in3, 3, 1, yaml);
  ir_set_float(g, n, "eps", 1e-6);
  uint32_t ln = done(g, n, "ln");
  uint32_t qkv = done(g, op2(g, OP_MATMUL, ln, cw), NULL);
  uint32_t qkvb = done(g, op2(g, OP_BIAS_ADD, qkv, cb), "qkv");
  n = ir_add_node(g, OP_SPLIT, &qkvb, 1, 3, yaml);
  ir_set_int(g, n, "axis", -1);
  ir_set_int(g, n, "parts", 3);
  done(g, n, NULL); /* three unnamed results */
  uint32_t q = g->nodes[n].out[0], k = g->nodes[n].out[1],
           v = g->nodes[n].out[2];
  ir_set_name(g, k, "k");

  uint32_t heads[3];
  uint32_t qkv3[3] = {q, k, v};
  for (int i = 0; i < 3; i++) {
    n = op1(g, OP_RESHAPE, qkv3[i]);
    Dim sh[3] = {dS, ir_dim(4), ir_dim(-1)};
    ir_set_dims(g, n, "shape", sh, 3);
    uint32_t r = done(g, n, NULL);
    n = op1(g, OP_TRANSPOSE, r);
    int64_t perm[3] = {1, 0, 2};
    ir_set_ints(g, n, "perm", perm, 3);
    heads[i] = done(g, n, NULL);
  }
  n = op2(g, OP_MATMUL, heads[0], heads[1]);
  ir_set_int(g, n, "transpose_a", 0);
  ir_set_int(g, n, "transpose_b", 1);
  uint32_t s = done(g, n, "scores");
  n = op1(g, OP_SCALE, s);
  ir_set_float(g, n, "by", 0.25);
  s = done(g, n, NULL);
  n = op1(g, OP_CAUSAL_MASK, s);
  ir_set_int(g, n, "offset", 0);
  s = done(g, n, NULL);
  s = done(g, op2(g, OP_MASK, s, keep_in), NULL);
  n = op1(g, OP_SOFTMAX, s);
  ir_set_int(g, n, "axis", -1);
  uint32_t p = done(g, n, "p");
  uint32_t o = done(g, op2(g, OP_MATMUL, p, heads[2]), NULL);
  n = op1(g, OP_TRANSPOSE, o);
  int64_t perm[3] = {1, 0, 2};
  ir_set_ints(g, n, "perm", perm, 3);
  o = done(g, n, NULL);
  n = op1(g, OP_RESHAPE, o);
  Dim flat[2] = {dS, ir_dim(64)};
  ir_set_dims(g, n, "shape", flat, 2);
  o = done(g, n, "attn_out");
  n = op1(g, OP_EXPAND, o); /* [S, 64] -> [2, S, 64] */
  Dim ex[3] = {ir_dim(2), dS, ir_dim(64)};
  ir_set_dims(g, n, "shape", ex, 3);
  done(g, n, "expanded");
  /* a multiple of a symbol */
  n = op1(g, OP_RESHAPE, o);
  Dim s8[2] = {(Dim){8, S}, ir_dim(8)};
  ir_set_dims(g, n, "shape", s8, 2);
  uint32_t r8 = done(g, n, "r8");
  n = op1(g, OP_RESHAPE, r8);
  Dim back[2] = {ir_dim(-1), ir_dim(64)};
  ir_set_dims(g, n, "shape", back, 2);
  uint32_t m = done(g, n, NULL);
  m = done(g, op2(g, OP_MUL, m, o), NULL);
  m = done(g, op1(g, OP_RELU, m), NULL);
  m = done(g, op1(g, OP_GELU, m), NULL);
  m = done(g, op1(g, OP_GELU_TANH, m), "act");
  /* floats that need care */
  double floats[] = {1.0 / 3, 2.0,       1e300,    -0.0, 0.1,
                     5e-324,  -INFINITY, INFINITY, NAN};
  for (size_t i = 0; i < sizeof floats / sizeof floats[0]; i++) {
    n = op1(g, OP_SCALE, m);
    ir_set_float(g, n, "by", floats[i]);
    done(g, n, NULL);
  }
  /* slices: symbolic end, static end, default end */
  n = op1(g, OP_SLICE, m);
  ir_set_int(g, n, "axis", 0);
  ir_set_dim(g, n, "start", ir_dim(0));
  ir_set_dim(g, n, "end", dS);
  uint32_t sl = done(g, n, NULL);
  n = op1(g, OP_SLICE, sl);
  ir_set_int(g, n, "axis", 1);
  ir_set_dim(g, n, "start", ir_dim(2));
  ir_set_dim(g, n, "end", ir_dim(10));
  uint32_t sl2 = done(g, n, "sl2");
  n = op1(g, OP_SLICE, sl);
  ir_set_int(g, n, "axis", -1);
  ir_set_dim(g, n, "start", ir_dim(60));
  done(g, n, NULL);
  /* split by sizes, concat of three */
  n = ir_add_node(g, OP_SPLIT, &sl, 1, 2, no_loc());
  ir_set_int(g, n, "axis", 1);
  int64_t sizes[2] = {16, 48};
  ir_set_ints(g, n, "sizes", sizes, 2);
  uint32_t a = done(g, n, "a");
  uint32_t b = g->nodes[n].out[1];
  uint32_t cin[3] = {a, b, a};
  n = ir_add_node(g, OP_CONCAT, cin, 3, 1, no_loc());
  ir_set_int(g, n, "axis", 1);
  uint32_t c = done(g, n, "c");
  n = op1(g, OP_MEAN, c);
  ir_set_int(g, n, "axis", 0);
  ir_set_int(g, n, "keepdims", 1);
  uint32_t mn = done(g, n, "mn");
  n = op1(g, OP_MEAN, c);
  ir_set_int(g, n, "axis", 1);
  ir_set_int(g, n, "keepdims", 0);
  done(g, n, "mn2");
  n = op1(g, OP_L2_NORMALIZE, c);
  ir_set_int(g, n, "axis", -1);
  ir_set_float(g, n, "eps", 1e-12);
  uint32_t l2 = done(g, n, "l2");
  n = op1(g, OP_PATCHIFY, img);
  ir_set_int(g, n, "patch", 8);
  uint32_t pt = done(g, n, "patches");
  n = op2(g, OP_MATMUL, pt, pt);
  ir_set_int(g, n, "transpose_a", 1);
  uint32_t gram = done(g, n, NULL);
  /* a batched matmul over a symbolic leading dim */
  n = op2(g, OP_MATMUL, tin, tin);
  ir_set_int(g, n, "transpose_b", 1);
  uint32_t tt = done(g, n, NULL);
  /* a matmul with an epilogue, against a packed constant:
   * gelu(patches · c + bias) + patches */
  int64_t pd = g->values[pt].shape.d[1].c;
  Shape cs = ir_shape(2, (int64_t[]){pd, pd}), bs = ir_shape(1, &pd);
  uint32_t cst = ir_add_source(g, OP_CONST, "folded", DT_F32, &cs, no_loc());
  ir_set_str(g, g->values[cst].node, "layout", "panel48");
  uint32_t bias = ir_add_source(g, OP_WEIGHT, "proj.bias", DT_F32, &bs, no_loc());
  n = ir_add_node(g, OP_MATMUL, (uint32_t[]){pt, cst, bias, pt}, 4, 1, no_loc());
  ir_set_int(g, n, "bias", 1);
  ir_set_str(g, n, "act", "gelu");
  ir_set_int(g, n, "residual", 1);
  uint32_t fused = done(g, n, "fused");
  /* attention in [S, H, D] order with a keep mask and every attribute */
  Shape keep_s = {1, {ir_dim_sym(T)}};
  uint32_t keep = ir_add_source(g, OP_INPUT, "keep", DT_F32, &keep_s, no_loc());
  n = ir_add_node(g, OP_ATTENTION, (uint32_t[]){tin, tin, tin, keep}, 4, 1,
                  no_loc());
  ir_set_str(g, n, "order", "shd");
  ir_set_float(g, n, "scale", 0.125);
  ir_set_int(g, n, "causal", 1);
  ir_set_dim(g, n, "q_offset", dS);
  uint32_t att = done(g, n, "att");

  /* state: a position from a value, a cache written at it, read back */
  int32_t P = ir_add_sym(g, "P", 7, no_loc());
  Shape scalar = {0}, cache_s = {2, {ir_dim(8), ir_dim(64)}},
        row_s = {2, {ir_dim(1), ir_dim(64)}};
  uint32_t pos = ir_add_source(g, OP_INPUT, "pos", DT_I32, &scalar, no_loc());
  ir_set_dim(g, g->values[pos].node, "binds", ir_dim_sym(P));
  done(g, g->values[pos].node, NULL);
  uint32_t cache = ir_add_source(g, OP_INPUT, "cache", DT_F32, &cache_s, no_loc());
  ir_set_int(g, g->values[cache].node, "state", 1);
  done(g, g->values[cache].node, NULL);
  uint32_t row = ir_add_source(g, OP_INPUT, "row", DT_F32, &row_s, no_loc());
  n = op2(g, OP_WRITE_ROWS, cache, row);
  ir_set_int(g, n, "axis", 0);
  ir_set_dim(g, n, "at", ir_dim_sym(P));
  uint32_t cwr = done(g, n, "cw");
  n = op1(g, OP_SLICE, cwr);
  ir_set_int(g, n, "axis", 0);
  ir_set_dim(g, n, "start", ir_dim_sym(P));
  ir_set_dim(g, n, "len", ir_dim(1));
  uint32_t back_row = done(g, n, "back_row");

  ir_add_output(g, l2);
  ir_add_output(g, mn);
  ir_add_output(g, sl2);
  ir_add_output(g, gram);
  ir_add_output(g, tt);
  ir_add_output(g, fused);
  ir_add_output(g, att);
  ir_add_output(g, b);
  ir_add_output(g, back_row);
  return g;
}

static void test_every_op(void) {
  Graph *g = build_everything();
  check_verified(g);

  /* The graph really covers the op table: every op, every attribute of
   * every op, every attribute kind. */
  bool op_seen[OP_COUNT] = {0}, kind_seen[AK_STR + 1] = {0};
  bool attr_seen[OP_COUNT][IR_MAX_ATTRS] = {{0}};
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    const Node *n = &g->nodes[i];
    op_seen[n->op] = true;
    for (int a = 0; a < ir_op_info(n->op)->nattrs; a++)
      if (n->attr[a].set) {
        kind_seen[ir_op_info(n->op)->attrs[a].kind] = true;
        attr_seen[n->op][a] = true;
      }
  }
  for (int op = 0; op < OP_COUNT; op++) {
    const OpInfo *info = ir_op_info((Op)op);
    CHECK_MSG(op_seen[op], "op %s not covered", info->name);
    for (int a = 0; a < info->nattrs; a++)
      CHECK_MSG(attr_seen[op][a], "attribute %s of %s not covered",
                info->attrs[a].key, info->name);
  }
  for (int k = 0; k <= AK_STR; k++) CHECK(kind_seen[k]);

  char *t1 = round_trip(g);
  /* Spot checks of the text. */
  CHECK_STR_CONTAINS(t1, "graph \"every \\\"op\\\" \\\\ here\" {\n");
  CHECK_STR_CONTAINS(t1, "  dim S <= 128\n  dim T <= 4\n");
  CHECK_STR_CONTAINS(t1,
                     "%wte.weight = weight : f32[1000, 64] "
                     "loc(\"dir with space/we\\\"ird\\\\name.yaml\":1:1)\n");
  CHECK_STR_CONTAINS(t1,
                     "  %token_type_ids = input {optional = true} : i32[S] "
                     "loc(\"models/tiny.yaml\":12:3)\n");
  CHECK_STR_CONTAINS(t1, "%x = gather %wte.weight, %ids : f32[S, 64]\n");
  CHECK_STR_CONTAINS(t1,
                     "= sinusoidal_pe {len = S, d = 64} : f32[S, 64] "
                     "loc(\"models/tiny.yaml\":12:3)\n");
  CHECK_STR_CONTAINS(t1, "{eps = 1e-06}");
  CHECK_STR_CONTAINS(t1,
                     "  %3, %k, %4 = split %qkv {axis = -1, parts = 3} : "
                     "f32[S, 64], f32[S, 64], f32[S, 64] loc(");
  CHECK_STR_CONTAINS(t1, "{shape = [S, 4, -1]} : f32[S, 4, 16]\n");
  CHECK_STR_CONTAINS(t1, "{perm = [1, 0, 2]} : f32[4, S, 16]\n");
  CHECK_STR_CONTAINS(
      t1, "{transpose_a = false, transpose_b = true} : f32[4, S, S]\n");
  CHECK_STR_CONTAINS(
      t1, "%r8 = reshape %attn_out {shape = [8*S, 8]} : f32[8*S, 8]\n");
  CHECK_STR_CONTAINS(t1, "{shape = [-1, 64]} : f32[S, 64]\n");
  CHECK_STR_CONTAINS(t1, "{by = 0.3333333333333333}");
  CHECK_STR_CONTAINS(t1, "{by = 2}");
  CHECK_STR_CONTAINS(t1, "{by = 1e+300}");
  CHECK_STR_CONTAINS(t1, "{by = -0}");
  CHECK_STR_CONTAINS(t1, "{by = 0.1}");
  CHECK_STR_CONTAINS(t1, "{by = 5e-324}");
  CHECK_STR_CONTAINS(t1, "{by = -inf}");
  CHECK_STR_CONTAINS(t1, "{by = inf}");
  CHECK_STR_CONTAINS(t1, "{by = nan}");
  CHECK_STR_CONTAINS(t1, "{axis = 0, start = 0, end = S} : f32[S, 64]\n");
  CHECK_STR_CONTAINS(t1, "%sl2 = slice %");
  CHECK_STR_CONTAINS(t1, "{axis = 1, start = 2, end = 10} : f32[S, 8]\n");
  CHECK_STR_CONTAINS(t1, "{axis = -1, start = 60} : f32[S, 4]\n");
  CHECK_STR_CONTAINS(t1, "%a, %");
  CHECK_STR_CONTAINS(
      t1, " {axis = 1, sizes = [16, 48]} : f32[S, 16], f32[S, 48]\n");
  CHECK_STR_CONTAINS(t1, "%c = concat %a, %");
  CHECK_STR_CONTAINS(t1, "{axis = 0, keepdims = true} : f32[1, 80]\n");
  CHECK_STR_CONTAINS(t1, "{axis = 1, keepdims = false} : f32[S]\n");
  CHECK_STR_CONTAINS(t1, "{axis = -1, eps = 1e-12} : f32[S, 80]\n");
  CHECK_STR_CONTAINS(
      t1, "%patches = patchify %_image {patch = 8} : f32[16, 192]\n");
  CHECK_STR_CONTAINS(
      t1, "= matmul %patches, %patches {transpose_a = true} : f32[192, 192]\n");
  CHECK_STR_CONTAINS(t1,
                     "= matmul %t, %t {transpose_b = true} : f32[T, S, S]\n");
  CHECK_STR_CONTAINS(t1, "= causal_mask %");
  CHECK_STR_CONTAINS(t1, "{offset = 0} : f32[4, S, S]\n");
  CHECK_STR_CONTAINS(t1, "  return %l2, %mn, %sl2, %");

  /* The parsed graph has the same attributes, bit for bit. */
  Graph *g2 = parse_ok(t1, "every.ir");
  CHECK(g2->n_nodes == g->n_nodes && g2->n_values == g->n_values);
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    const Node *n1 = &g->nodes[i], *n2 = &g2->nodes[i];
    CHECK(n1->op == n2->op && n1->nin == n2->nin && n1->nout == n2->nout);
    for (uint32_t k = 0; k < n1->nin; k++) CHECK(n1->in[k] == n2->in[k]);
    if (n1->loc.file) {
      CHECK(strcmp(n1->loc.file, n2->loc.file) == 0);
      CHECK(n1->loc.line == n2->loc.line && n1->loc.col == n2->loc.col);
    } else {
      CHECK(n2->loc.file == NULL);
    }
    const OpInfo *info = ir_op_info(n1->op);
    for (int a = 0; a < info->nattrs; a++) {
      const Attr *x = &n1->attr[a], *y = &n2->attr[a];
      CHECK(x->set == y->set);
      if (!x->set) continue;
      switch (info->attrs[a].kind) {
        case AK_INT:
        case AK_BOOL: CHECK(x->i == y->i); break;
        case AK_FLOAT:
          CHECK(memcmp(&x->f, &y->f, sizeof x->f) == 0 ||
                (isnan(x->f) && isnan(y->f)));
          break;
        case AK_DIM: CHECK(ir_dim_eq(x->dim, y->dim)); break;
        case AK_INTS:
          CHECK(x->n == y->n);
          for (int e = 0; e < x->n; e++) CHECK(x->ints[e] == y->ints[e]);
          break;
        case AK_DIMS:
          CHECK(x->n == y->n);
          for (int e = 0; e < x->n; e++)
            CHECK(ir_dim_eq(x->dims[e], y->dims[e]));
          break;
        case AK_STR: CHECK(strcmp(x->s, y->s) == 0); break;
      }
    }
  }
  CHECK(strcmp(g2->name, g->name) == 0);
  ir_graph_free(g2);
  free(t1);
  ir_graph_free(g);
}

/* Edge cases of the form: rank 0, no outputs, an empty list. */
static void test_edges(void) {
  Graph *g = ir_graph_new("edges");
  Shape scalar = {0};
  uint32_t x = ir_add_source(g, OP_INPUT, "x", DT_F32, &scalar, no_loc());
  uint32_t y = done(g, op1(g, OP_RELU, x), NULL);
  char *t = ir_print(g);
  CHECK(strcmp(t,
               "graph \"edges\" {\n"
               "  %x = input : f32[]\n"
               "  %0 = relu %x : f32[]\n"
               "  return\n"
               "}\n") == 0);
  /* No outputs parses (the verifier is the one to object). */
  Diag d = {0};
  Graph *g2 = ir_parse(t, "edges.ir", &d);
  CHECK_MSG(g2, "%s", d.msg);
  CHECK(g2->n_outputs == 0);
  ir_graph_free(g2);
  free(t);
  ir_add_output(g, y);
  free(round_trip(g));
  ir_graph_free(g);
}

/* ---- 3. parse errors ---------------------------------------------------- */

static void expect_error(const char *text, const char *want) {
  Diag d = {0};
  Graph *g = ir_parse(text, "<test>.ir", &d);
  CHECK_MSG(g == NULL, "parsed, but expected: %s", want);
  CHECK(d.failed);
  CHECK_MSG(strcmp(d.msg, want) == 0, "\n got: %s\nwant: %s", d.msg, want);
}

/* For messages whose wording belongs to the shape rules (ir/shape.c). */
static void expect_error_prefix(const char *text, const char *want) {
  Diag d = {0};
  Graph *g = ir_parse(text, "<test>.ir", &d);
  CHECK_MSG(g == NULL, "parsed, but expected: %s", want);
  CHECK_MSG(strncmp(d.msg, want, strlen(want)) == 0, "\n got: %s\nwant: %s...",
            d.msg, want);
}

#define HEAD "graph \"g\" {\n  dim S <= 16\n  %x = input : f32[S, 8]\n"

static void test_errors(void) {
  expect_error(
      HEAD "  %y = matmull %x, %x : f32[S, S]\n  return %y\n}\n",
      "<test>.ir:4:8: error: unknown op 'matmull' (did you mean 'matmul'?)");
  expect_error(HEAD "  %y = frobnicate %x : f32[S, 8]\n  return %y\n}\n",
               "<test>.ir:4:8: error: unknown op 'frobnicate'");
  expect_error(
      HEAD
      "  %y = matmul %x, %x {tranpose_b = true} : f32[S, S]\n"
      "  return %y\n}\n",
      "<test>.ir:4:23: error: unknown attribute 'tranpose_b' for matmul "
      "(did you mean 'transpose_b'?)");
  expect_error(HEAD "  %y = softmax %x {dim = 1} : f32[S, 8]\n  return %y\n}\n",
               "<test>.ir:4:20: error: unknown attribute 'dim' for softmax "
               "(it takes axis)");
  expect_error(HEAD "  %y = relu %x {axis = 1} : f32[S, 8]\n  return %y\n}\n",
               "<test>.ir:4:17: error: unknown attribute 'axis': relu takes no "
               "attributes");
  expect_error(
      HEAD
      "  %y = matmul %x, %x {transpose_b = 1} : f32[S, S]\n"
      "  return %y\n}\n",
      "<test>.ir:4:37: error: attribute 'transpose_b' of matmul expects "
      "true or false, got '1'");
  expect_error(HEAD
               "  %y = softmax %x {axis = 1.5} : f32[S, 8]\n  return %y\n}\n",
               "<test>.ir:4:27: error: attribute 'axis' of softmax expects an "
               "integer, got '1.5'");
  expect_error(
      HEAD "  %y = reshape %x {shape = [S, x]} : f32[S, 8]\n  return %y\n}\n",
      "<test>.ir:4:32: error: undefined dim symbol 'x'");
  expect_error(HEAD
               "  %y = softmax %x {axis = 1, axis = 0} : f32[S, 8]\n"
               "  return %y\n}\n",
               "<test>.ir:4:30: error: attribute 'axis' given twice");
  expect_error(HEAD "  %y = matmul %x, %w : f32[S, S]\n  return %y\n}\n",
               "<test>.ir:4:19: error: undefined value %w");
  expect_error(HEAD "  %y = relu %x : f32[S, 8]\n  return %z\n}\n",
               "<test>.ir:5:10: error: undefined value %z");
  expect_error(HEAD "  %y = relu %x : f32[S, 8]\n  return %y, %y\n}\n",
               "<test>.ir:5:14: error: %y is returned twice");
  expect_error(
      HEAD "  %x = relu %x : f32[S, 8]\n  return %x\n}\n",
      "<test>.ir:4:3: error: redefinition of %x (first defined at 3:3)");
  expect_error(
      HEAD
      "  %a, %a = split %x {axis = 1, parts = 2} : f32[S, 4], f32[S, 4]\n"
      "  return %a\n}\n",
      "<test>.ir:4:7: error: redefinition of %a (first defined at 4:3)");
  expect_error(HEAD
               "  %a, %b = relu %x : f32[S, 8], f32[S, 8]\n  return %a\n}\n",
               "<test>.ir:4:3: error: 'relu' has 1 result, got 2");
  expect_error(
      HEAD
      "  %a, %b, %c = split %x {axis = 1, parts = 2} : f32[S, 4], "
      "f32[S, 4], f32[S, 4]\n  return %a\n}\n",
      "<test>.ir:4:3: error: 'split' with parts = 2 has 2 results, got 3");
  expect_error(
      HEAD
      "  %a = split %x {axis = 1, sizes = [2, 6]} : f32[S, 2]\n"
      "  return %a\n}\n",
      "<test>.ir:4:3: error: 'split' with 2 sizes has 2 results, got 1");
  expect_error(HEAD
               "  %a, %b = split %x {axis = 1, parts = 2} : f32[S, 4]\n"
               "  return %a\n}\n",
               "<test>.ir:4:45: error: 2 results but 1 result type");
  expect_error(HEAD "  %y = softmax %x, %x : f32[S, 8]\n  return %y\n}\n",
               "<test>.ir:4:8: error: 'softmax' takes 1 operand, got 2");
  expect_error(
      HEAD "  %y = concat {axis = 0} : f32[S, 8]\n  return %y\n}\n",
      "<test>.ir:4:8: error: 'concat' takes at least 1 operand, got 0");
  expect_error(
      HEAD "  %y = relu %x : f64[S, 8]\n  return %y\n}\n",
      "<test>.ir:4:18: error: unknown dtype 'f64' (expected f32, i32, f16 "
      "or bf16)");
  expect_error(HEAD "  %y = relu %x : f32[T, 8]\n  return %y\n}\n",
               "<test>.ir:4:22: error: undefined dim symbol 'T'");
  expect_error(
      HEAD "  %y = relu %x f32[S, 8]\n  return %y\n}\n",
      "<test>.ir:4:16: error: expected ':' after the operands, got 'f32'");
  expect_error(HEAD "  %y = relu %x\n  return %y\n}\n",
               "<test>.ir:4:15: error: expected ':' after the operands, got "
               "end of line");
  expect_error(
      HEAD "  %y = softmax %x {axis = 1} f32[S, 8]\n  return %y\n}\n",
      "<test>.ir:4:30: error: expected ':' after the attributes, got 'f32'");
  expect_error(
      HEAD "  %y = relu %x : f32[S 8]\n  return %y\n}\n",
      "<test>.ir:4:24: error: expected ',' or ']' in the shape, got '8'");
  expect_error(
      HEAD "  %y = relu %x : f32[S, 8] extra\n  return %y\n}\n",
      "<test>.ir:4:28: error: expected end of line after the result types, "
      "got 'extra'");
  expect_error(
      HEAD "  %y relu %x : f32[S, 8]\n  return %y\n}\n",
      "<test>.ir:4:6: error: expected '=' after the result, got 'relu'");
  expect_error(HEAD "  %y = relu %x : f32[S, 16]\n  return %y\n}\n",
               "<test>.ir:4:18: error: result type f32[S, 16] does not match "
               "inferred f32[S, 8]");
  expect_error(
      HEAD
      "  %a, %b = split %x {axis = 1, parts = 2} : f32[S, 4], i32[S, 4]\n"
      "  return %a\n}\n",
      "<test>.ir:4:56: error: result type i32[S, 4] does not match "
      "inferred f32[S, 4]");
  /* The shape rule's own errors point at the op in the .ir text. */
  expect_error_prefix(HEAD "  %y = matmul %x, %x : f32[S, S]\n  return %y\n}\n",
                      "<test>.ir:4:8: error: matmul: inner dimensions differ");
  expect_error(HEAD "  %y = scale %x : f32[S, 8]\n  return %y\n}\n",
               "<test>.ir:4:8: error: scale: missing attribute 'by'");
  expect_error(
      HEAD "  relu %x : f32[S, 8]\n  return\n}\n",
      "<test>.ir:4:3: error: expected a node ('%x = op ...'), 'dim' or "
      "'return', got 'relu'");
  expect_error(
      HEAD "}\n",
      "<test>.ir:4:1: error: expected a node ('%x = op ...'), 'dim' or "
      "'return', got '}'");
  expect_error(HEAD "  return %x\n",
               "<test>.ir:5:1: error: expected '}' after the return statement, "
               "got end of input");
  expect_error(
      HEAD "  return %x\n}\n}\n",
      "<test>.ir:6:1: error: expected end of input after '}', got '}'");
  expect_error("",
               "<test>.ir:1:1: error: expected 'graph' at the start of the IR, "
               "got end of input");
  expect_error("graph \"g {\n}\n", "<test>.ir:1:7: error: unterminated string");
  expect_error("graph g {\n}\n",
               "<test>.ir:1:7: error: expected the graph's name "
               "as a string after 'graph', got 'g'");
  expect_error(
      "graph \"g\" {\n  dim S <= 0\n  return\n}\n",
      "<test>.ir:2:12: error: the bound of dim 'S' must be at least 1, got 0");
  expect_error("graph \"g\" {\n  dim S <= 4\n  dim S <= 8\n  return\n}\n",
               "<test>.ir:3:7: error: redefinition of dim 'S'");
  expect_error(HEAD "  %y = relu %x : f32[S, 8] $\n  return %y\n}\n",
               "<test>.ir:4:28: error: unexpected character '$'");
  expect_error(HEAD "  %0a = relu %x : f32[S, 8]\n  return\n}\n",
               "<test>.ir:4:3: error: bad value name '%0a' (a name is "
               "[A-Za-z_][A-Za-z0-9_.]* or a number)");
  expect_error(HEAD
               "  %y = relu %x : f32[S, 8] loc(\"a.yaml\":3)\n  return\n}\n",
               "<test>.ir:4:42: error: expected ':' after the line in "
               "loc(...), got ')'");
  expect_error(
      HEAD
      "  %y = softmax %x {axis = 99999999999999999999} : f32[S, 8]\n"
      "  return\n}\n",
      "<test>.ir:4:27: error: integer '99999999999999999999' is out of range");
  expect_error(
      HEAD "  %y = reshape %x {shape = [0*S, 8]} : f32[S, 8]\n  return\n}\n",
      "<test>.ir:4:29: error: the factor of a symbolic dimension must be "
      "positive");
  expect_error(HEAD
               "  %y = relu %x : f32[S, 8, 1, 1, 1, 1, 1, 1, 1]\n  return\n}\n",
               "<test>.ir:4:46: error: more than 8 dimensions");

  /* A Diag is optional. */
  CHECK(ir_parse("graph", "x.ir", NULL) == NULL);
  /* Without a file name, errors still carry a position. */
  Diag d = {0};
  CHECK(ir_parse("graph \"g\" {\n  bogus\n}\n", NULL, &d) == NULL);
  CHECK_STR_CONTAINS(d.msg, "<input>:2:3: error: ");
}

/* ---- 4. every .ir file under tests/data --------------------------------- */

static int n_files;

static bool meant_to_fail(const char *path) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  return strstr(path, "/bad/") || strncmp(base, "bad", 3) == 0 ||
         strncmp(base, "error", 5) == 0;
}

static char *read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  CHECK_MSG(f, "cannot open %s", path);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  rewind(f);
  char *s = malloc((size_t)n + 1);
  CHECK(s && fread(s, 1, (size_t)n, f) == (size_t)n);
  s[n] = 0;
  fclose(f);
  return s;
}

static void round_trip_file(const char *path) {
  char *text = read_file(path);
  Diag d = {0};
  Graph *g = ir_parse(text, path, &d);
  CHECK_MSG(g, "%s", d.msg);
  check_verified(g);
  free(round_trip(g));
  ir_graph_free(g);
  free(text);
  n_files++;
}

static void walk(const char *dir) {
  DIR *dp = opendir(dir);
  if (!dp) return;
  struct dirent *e;
  while ((e = readdir(dp))) {
    if (e->d_name[0] == '.') continue;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    struct stat st;
    if (stat(path, &st) != 0) continue;
    size_t len = strlen(e->d_name);
    if (S_ISDIR(st.st_mode))
      walk(path);
    else if (len > 3 && strcmp(e->d_name + len - 3, ".ir") == 0 &&
             !meant_to_fail(path))
      round_trip_file(path);
  }
  closedir(dp);
}

static void test_data_files(void) {
  const char *src = getenv("LOOM_SRC");
  char dir[4096];
  if (src)
    snprintf(dir, sizeof dir, "%s/tests/data", src);
  else
    snprintf(dir, sizeof dir, "data");
  walk(dir);
  printf("%d .ir files under %s round-trip\n", n_files, dir);
}

int main(void) {
  test_exact_text();
  test_free_form();
  test_every_op();
  test_edges();
  test_errors();
  test_data_files();
  CHECK_DONE();
}
