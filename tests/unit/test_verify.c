/* test_verify.c — ir_verify on valid graphs and on graphs broken one way at a
 * time.
 *
 * Each case parses the same small, valid attention-like graph (every node
 * located in model.yaml), corrupts it in one place the way a buggy pass
 * might — a use before its definition, a wrong result count, a dropped
 * required attribute, a duplicate name, a dangling symbol, a stale shape or
 * dtype, no outputs, ... — and checks the verifier's whole message,
 * including the location of the node it blames.
 */
#include "ir/ir.h"
#include "tests/check.h"

static const char *base_text =
    "graph \"t\" {\n"
    "  dim S <= 64\n"
    "  %x = input : f32[S, 16] loc(\"model.yaml\":3:5)\n"
    "  %wq = weight : f32[16, 8] loc(\"model.yaml\":4:5)\n"
    "  %wk = weight : f32[16, 8] loc(\"model.yaml\":5:5)\n"
    "  %q = matmul %x, %wq : f32[S, 8] loc(\"model.yaml\":7:5)\n"
    "  %k = matmul %x, %wk : f32[S, 8] loc(\"model.yaml\":8:5)\n"
    "  %s = matmul %q, %k {transpose_b = true} : f32[S, S] "
    "loc(\"model.yaml\":9:5)\n"
    "  %0 = scale %s {by = 0.25} : f32[S, S] loc(\"model.yaml\":10:5)\n"
    "  %p = softmax %0 : f32[S, S] loc(\"model.yaml\":11:5)\n"
    "  %h = reshape %q {shape = [S, 2, -1]} : f32[S, 2, 4] "
    "loc(\"model.yaml\":12:5)\n"
    "  %a, %b = split %q {axis = 1, parts = 2} : f32[S, 4], f32[S, 4] "
    "loc(\"model.yaml\":13:5)\n"
    "  %e = slice %x {axis = 0, end = S} : f32[S, 16] "
    "loc(\"model.yaml\":14:5)\n"
    "  return %p, %a, %h\n"
    "}\n";

/* Node and value ids of base_text. */
enum { N_X, N_WQ, N_WK, N_Q, N_K, N_S, N_SCALE, N_P, N_H, N_SPLIT, N_E };
enum { V_X, V_WQ, V_WK, V_Q, V_K, V_S, V_SCALE, V_P, V_H, V_A, V_B, V_E };

static Graph *base(void) {
  Diag d = {0};
  Graph *g = ir_parse(base_text, "<verify>.ir", &d);
  CHECK_MSG(g, "%s", d.msg);
  return g;
}

/* ir_verify must fail on g with exactly `want`; frees g. */
static void expect(Graph *g, const char *want) {
  Diag d = {0};
  CHECK_MSG(ir_verify(g, &d) != 0, "verified, but expected: %s", want);
  CHECK(d.failed);
  CHECK_MSG(strcmp(d.msg, want) == 0, "\n got: %s\nwant: %s", d.msg, want);
  ir_graph_free(g);
}

static void expect_prefix(Graph *g, const char *want) {
  Diag d = {0};
  CHECK_MSG(ir_verify(g, &d) != 0, "verified, but expected: %s", want);
  CHECK_MSG(strncmp(d.msg, want, strlen(want)) == 0, "\n got: %s\nwant: %s...",
            d.msg, want);
  ir_graph_free(g);
}

static void test_valid(void) {
  Graph *g = base();
  CHECK(g->n_nodes == N_E + 1 && g->n_values == V_E + 1);
  char *before = ir_print(g);
  Diag d = {0};
  CHECK_MSG(ir_verify(g, &d) == 0, "%s", d.msg);
  CHECK(!d.failed);
  CHECK(ir_verify(g, NULL) == 0);
  /* Verifying changes nothing. */
  char *after = ir_print(g);
  CHECK(strcmp(before, after) == 0);
  free(before);
  free(after);
  ir_graph_free(g);

  /* A graph built with the builder API, empty of symbols and locations. */
  g = ir_graph_new("built");
  int64_t dims[2] = {2, 3};
  Shape s = ir_shape(2, dims);
  uint32_t x = ir_add_source(g, OP_INPUT, "x", DT_F32, &s, (Loc){0});
  uint32_t n = ir_add_node(g, OP_RELU, &x, 1, 1, (Loc){0});
  CHECK(ir_infer(g, n, &d) == 0);
  ir_add_output(g, g->nodes[n].out[0]);
  CHECK_MSG(ir_verify(g, &d) == 0, "%s", d.msg);
  ir_graph_free(g);
}

static void test_order_and_operands(void) {
  Graph *g = base();
  g->nodes[N_S].in[1] = V_P; /* %s uses %p, defined two lines later */
  expect(g,
         "model.yaml:9:5: error: verify: node 5 (matmul): operand %p defined "
         "after use, by node 7");

  g = base();
  g->nodes[N_SCALE].in[0] = V_SCALE; /* its own result */
  expect(g,
         "model.yaml:10:5: error: verify: node 6 (scale): operand value 6 "
         "defined after use, by node 6");

  g = base();
  g->nodes[N_P].in[0] = 99;
  expect(g,
         "model.yaml:11:5: error: verify: node 7 (softmax): operand 0 is value "
         "99, but the graph has 12 values");

  g = base();
  g->nodes[N_P].nin = 2;
  expect(g,
         "model.yaml:11:5: error: verify: node 7 (softmax): 2 operands, "
         "expected 1");

  g = base();
  g->nodes[N_Q].nin = 0;
  expect(g,
         "model.yaml:7:5: error: verify: node 3 (matmul): 0 operands, "
         "expected 2 to 4");

  g = base();
  g->nodes[N_SCALE].op = (Op)(OP_COUNT + 3);
  char want[200];
  snprintf(want, sizeof want,
           "model.yaml:10:5: error: verify: node 6: unknown op %d",
           OP_COUNT + 3);
  expect(g, want);

  /* An operand no node produces (a pass dropped its node). */
  g = base();
  uint32_t x = V_X;
  ir_add_node(g, OP_RELU, &x, 1, 1, (Loc){0});
  g->n_nodes--;
  g->nodes[N_P].in[0] = 12;
  expect(g,
         "model.yaml:11:5: error: verify: node 7 (softmax): operand value 12 "
         "has no producer (it records node 11, result 0)");
}

static void test_results(void) {
  Graph *g = base();
  g->nodes[N_Q].nout = 2;
  expect(
      g,
      "model.yaml:7:5: error: verify: node 3 (matmul): 2 results, expected 1");

  g = base();
  g->nodes[N_SPLIT].attr[ir_attr_index(OP_SPLIT, "parts")].i = 3;
  expect(
      g,
      "model.yaml:13:5: error: verify: node 9 (split): 2 results, expected 3");

  g = base();
  g->nodes[N_SPLIT].nout = 1;
  expect(
      g,
      "model.yaml:13:5: error: verify: node 9 (split): 1 results, expected 2");

  g = base();
  int64_t sizes[2] = {4, 4};
  ir_set_ints(g, N_SPLIT, "sizes", sizes, 2);
  expect(g,
         "model.yaml:13:5: error: verify: node 9 (split): exactly one of "
         "'sizes' and 'parts' must be set");

  /* A node lists a value that records another producer. */
  g = base();
  g->nodes[N_K].out[0] = V_Q;
  expect(
      g,
      "model.yaml:8:5: error: verify: node 4 (matmul): result 0 (%q) records "
      "node 3, result 0");

  g = base();
  g->nodes[N_E].out[0] = 1000;
  expect(g,
         "model.yaml:14:5: error: verify: node 10 (slice): result 0 is value "
         "1000, but the graph has 12 values");

  /* A stray value no node lists. */
  g = base();
  uint32_t x = V_X;
  ir_add_node(g, OP_RELU, &x, 1, 1, (Loc){0});
  g->n_nodes--; /* drop the node, keep its value */
  expect(g,
         "error: verify: value 12 records node 11, result 0, which is not it");

  /* A value that claims the wrong position in its producer's results. */
  g = base();
  g->values[V_K].index = 1;
  expect(
      g,
      "model.yaml:8:5: error: verify: node 4 (matmul): result 0 (%k) records "
      "node 4, result 1");
}

static void test_attributes(void) {
  Graph *g = base();
  g->nodes[N_SCALE].attr[0].set = false;
  expect(g,
         "model.yaml:10:5: error: verify: node 6 (scale): required attribute "
         "'by' is not set");

  g = base();
  g->nodes[N_H].attr[0].set = false;
  expect(g,
         "model.yaml:12:5: error: verify: node 8 (reshape): required attribute "
         "'shape' is not set");

  g = base();
  g->nodes[N_H].attr[0].dims = NULL;
  expect(g,
         "model.yaml:12:5: error: verify: node 8 (reshape): attribute 'shape' "
         "has 3 entries but no data");
}

static void test_names(void) {
  Graph *g = base();
  ir_set_name(g, V_K, "q");
  expect(g,
         "model.yaml:8:5: error: verify: node 4 (matmul): name %q is already "
         "used by node 3");

  g = base();
  ir_set_name(g, V_B, "x");
  expect(g,
         "model.yaml:13:5: error: verify: node 9 (split): name %x is already "
         "used by node 0");

  g = base();
  ir_set_name(g, V_K, "bert/layer_0");
  expect(g,
         "model.yaml:8:5: error: verify: node 4 (matmul): name 'bert/layer_0' "
         "is not an identifier ([A-Za-z_][A-Za-z0-9_.]*)");

  g = base();
  ir_set_name(g, V_SCALE, "0");
  expect(g,
         "model.yaml:10:5: error: verify: node 6 (scale): name '0' is not an "
         "identifier ([A-Za-z_][A-Za-z0-9_.]*)");

  g = base();
  g->syms[0].name = "seq len";
  expect(g,
         "<verify>.ir:2:7: error: verify: dim name 'seq len' is not an "
         "identifier ([A-Za-z_][A-Za-z0-9_.]*)");

  g = base();
  g->values[V_WQ].name = NULL;
  expect(g,
         "model.yaml:4:5: error: verify: node 1 (weight): result has no name "
         "(inputs and weights are named)");
}

static void test_symbols(void) {
  Graph *g = base();
  g->values[V_Q].shape.d[0].sym = 3;
  expect(g,
         "model.yaml:7:5: error: verify: node 3 (matmul): result %q: dimension "
         "0 refers to dim symbol 3, but the graph has 1");

  g = base();
  g->nodes[N_H].attr[0].dims[0].sym = 2;
  expect(g,
         "model.yaml:12:5: error: verify: node 8 (reshape): attribute 'shape' "
         "refers to dim symbol 2, but the graph has 1");

  g = base();
  g->nodes[N_E].attr[ir_attr_index(OP_SLICE, "end")].dim.sym = 1;
  expect(g,
         "model.yaml:14:5: error: verify: node 10 (slice): attribute 'end' "
         "refers to dim symbol 1, but the graph has 1");

  g = base();
  g->syms[0].bound = 0;
  expect(g,
         "<verify>.ir:2:7: error: verify: dim S has bound 0; it must be at "
         "least 1");

  g = base();
  ir_add_sym(g, "S", 8, (Loc){"model.yaml", 1, 1});
  expect(g, "model.yaml:1:1: error: verify: dim S is declared twice");
}

static void test_shapes_and_dtypes(void) {
  Graph *g = base();
  g->values[V_Q].shape.d[1] = ir_dim(9);
  expect(
      g,
      "model.yaml:7:5: error: verify: node 3 (matmul): result %q is recorded "
      "as f32[S, 9] but the shape rule gives f32[S, 8]");

  g = base();
  g->values[V_H].shape.rank = 2;
  expect(g,
         "model.yaml:12:5: error: verify: node 8 (reshape): result %h is "
         "recorded as f32[S, 2] but the shape rule gives f32[S, 2, 4]");

  g = base();
  g->values[V_B].shape.d[0] = (Dim){2, 0};
  expect(
      g,
      "model.yaml:13:5: error: verify: node 9 (split): result %b is recorded "
      "as f32[2*S, 4] but the shape rule gives f32[S, 4]");

  g = base();
  g->values[V_S].dtype = DT_I32;
  expect(
      g,
      "model.yaml:9:5: error: verify: node 5 (matmul): result %s is recorded "
      "as i32[S, S] but the shape rule gives f32[S, S]");

  g = base();
  g->values[V_SCALE].shape.d[1] = ir_dim(4);
  expect(g,
         "model.yaml:10:5: error: verify: node 6 (scale): result value 6 is "
         "recorded as f32[S, 4] but the shape rule gives f32[S, S]");

  /* An operand of the wrong dtype: the shape rule itself objects. */
  g = base();
  g->values[V_X].dtype = DT_I32;
  expect_prefix(g,
                "model.yaml:7:5: error: verify: node 3 (matmul): shape rule "
                "fails: operand 1 must be f32");

  g = base();
  g->values[V_X].dtype = (DType)7;
  expect(g,
         "model.yaml:3:5: error: verify: node 0 (input): result %x has an "
         "invalid dtype 7");

  g = base();
  g->values[V_X].shape.rank = IR_MAX_RANK + 1;
  expect(g,
         "model.yaml:3:5: error: verify: node 0 (input): result %x has rank 9 "
         "(at most 8)");
}

static void test_outputs(void) {
  Graph *g = base();
  g->n_outputs = 0;
  expect(g, "error: verify: graph \"t\" has no outputs");

  g = base();
  g->outputs[1] = 77;
  expect(g, "error: verify: output 1 is value 77, but the graph has 12 values");

  g = base();
  g->outputs[1] = g->outputs[0];
  expect_prefix(g, "error: verify: %");
}

int main(void) {
  test_valid();
  test_order_and_operands();
  test_results();
  test_attributes();
  test_names();
  test_symbols();
  test_shapes_and_dtypes();
  test_outputs();
  CHECK_DONE();
}
