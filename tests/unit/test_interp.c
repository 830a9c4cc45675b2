/* test_interp.c — the reference interpreter on hand-computed cases.
 *
 * Each case builds a tiny graph with the builder API, runs ir_interp and
 * compares against values worked out by hand (not by PyTorch: the goldens in
 * tests/data/ops cover that, test_ops.c).  Then the user errors the
 * interpreter must report, not crash on: a gather id out of range, a symbol
 * over its bound, an input of the wrong rank or size, inconsistent symbols,
 * a weight without data — each checked for its message and location.
 */
#include "ir/ir.h"
#include "tests/check.h"

#include <math.h>

static Loc at(uint32_t line) { return (Loc){"model.yaml", line, 5}; }

static Shape shp(int rank, const int64_t *dims) { return ir_shape(rank, dims); }

/* Run ir_infer on node `id` (which must succeed); returns its first result. */
static uint32_t inferred(Graph *g, uint32_t id) {
  Diag d = {0};
  CHECK_MSG(ir_infer(g, id, &d) == 0, "%s", d.msg);
  return g->nodes[id].out[0];
}

static uint32_t node1(Graph *g, Op op, uint32_t x) {
  return ir_add_node(g, op, &x, 1, 1, at(10));
}

static uint32_t node2(Graph *g, Op op, uint32_t a, uint32_t b) {
  uint32_t in[2] = {a, b};
  return ir_add_node(g, op, in, 2, 1, at(10));
}

static Tensor tensor(DType dt, int rank, const int64_t *dims, void *data) {
  Tensor t = {.dtype = dt, .rank = rank, .data = data};
  for (int i = 0; i < rank; i++) t.dims[i] = dims[i];
  return t;
}

/* Run g, which must succeed, and check output o's dims. */
static void run(Graph *g, Tensor *in, int n_in, Tensor *out) {
  Diag d = {0};
  CHECK_MSG(ir_interp(g, in, n_in, out, &d) == 0, "%s", d.msg);
}

static void check_dims(const Tensor *t, int rank, const int64_t *dims) {
  CHECK(t->rank == rank);
  for (int i = 0; i < rank; i++) CHECK(t->dims[i] == dims[i]);
}

static void check_data(const Tensor *t, const float *want, int n) {
  CHECK(ir_tensor_numel(t) == n);
  for (int i = 0; i < n; i++) CHECK_CLOSE(((float *)t->data)[i], want[i], 1e-6, 1e-6);
}

static void free_outputs(Tensor *out, int n) {
  for (int i = 0; i < n; i++) free(out[i].data);
}

/* ---- ops ---------------------------------------------------------------- */

static void test_matmul(void) {
  Graph *g = ir_graph_new("matmul");
  int64_t d23[] = {2, 3}, d32[] = {3, 2};
  Shape s23 = shp(2, d23), s32 = shp(2, d32);
  uint32_t a = ir_add_source(g, OP_INPUT, "a", DT_F32, &s23, at(1));
  uint32_t b = ir_add_source(g, OP_INPUT, "b", DT_F32, &s32, at(2));
  uint32_t c = ir_add_source(g, OP_INPUT, "c", DT_F32, &s23, at(3));
  uint32_t ab = inferred(g, node2(g, OP_MATMUL, a, b));     /* a @ b   */
  uint32_t nt = node2(g, OP_MATMUL, a, c);
  ir_set_int(g, nt, "transpose_b", 1);
  uint32_t act = inferred(g, nt);                           /* a @ c^T */
  uint32_t tn = node2(g, OP_MATMUL, a, c);
  ir_set_int(g, tn, "transpose_a", 1);
  uint32_t atc = inferred(g, tn);                           /* a^T @ c */
  ir_add_output(g, ab);
  ir_add_output(g, act);
  ir_add_output(g, atc);

  float A[] = {1, 2, 3, 4, 5, 6}, B[] = {7, 8, 9, 10, 11, 12};
  float C[] = {1, 0, 0, 0, 1, 1};
  Tensor in[] = {tensor(DT_F32, 2, d23, A), tensor(DT_F32, 2, d32, B),
                 tensor(DT_F32, 2, d23, C)};
  Tensor out[3];
  run(g, in, 3, out);
  int64_t d22[] = {2, 2}, d33[] = {3, 3};
  check_dims(&out[0], 2, d22);
  check_data(&out[0], (float[]){58, 64, 139, 154}, 4);
  check_data(&out[1], (float[]){1, 5, 4, 11}, 4);
  /* a^T [3,2] @ c [2,3]: row i of a^T is (a[0][i], a[1][i]) */
  check_dims(&out[2], 2, d33);
  check_data(&out[2], (float[]){1, 4, 4, 2, 5, 5, 3, 6, 6}, 9);
  free_outputs(out, 3);
  ir_graph_free(g);
}

/* [2, 2, 1] x [1, 2] (batch broadcast of b) and [2,1] + [3] broadcasting. */
static void test_broadcast(void) {
  Graph *g = ir_graph_new("broadcast");
  int64_t da[] = {2, 2, 1}, db[] = {1, 2}, dx[] = {2, 1}, dy[] = {3};
  Shape sa = shp(3, da), sb = shp(2, db), sx = shp(2, dx), sy = shp(1, dy);
  uint32_t a = ir_add_source(g, OP_INPUT, "a", DT_F32, &sa, at(1));
  uint32_t b = ir_add_source(g, OP_INPUT, "b", DT_F32, &sb, at(2));
  uint32_t x = ir_add_source(g, OP_INPUT, "x", DT_F32, &sx, at(3));
  uint32_t y = ir_add_source(g, OP_INPUT, "y", DT_F32, &sy, at(4));
  ir_add_output(g, inferred(g, node2(g, OP_MATMUL, a, b)));
  ir_add_output(g, inferred(g, node2(g, OP_ADD, x, y)));
  ir_add_output(g, inferred(g, node2(g, OP_MUL, y, x)));
  float A[] = {1, 2, 3, 4}, B[] = {10, 100}, X[] = {1, 2}, Y[] = {10, 20, 30};
  Tensor in[] = {tensor(DT_F32, 3, da, A), tensor(DT_F32, 2, db, B),
                 tensor(DT_F32, 2, dx, X), tensor(DT_F32, 1, dy, Y)};
  Tensor out[3];
  run(g, in, 4, out);
  int64_t d222[] = {2, 2, 2}, d23[] = {2, 3};
  check_dims(&out[0], 3, d222);
  check_data(&out[0], (float[]){10, 100, 20, 200, 30, 300, 40, 400}, 8);
  check_dims(&out[1], 2, d23);
  check_data(&out[1], (float[]){11, 21, 31, 12, 22, 32}, 6);
  check_data(&out[2], (float[]){10, 20, 30, 20, 40, 60}, 6);
  free_outputs(out, 3);
  ir_graph_free(g);
}

static void test_softmax_layernorm(void) {
  Graph *g = ir_graph_new("norms");
  int64_t d22[] = {2, 2}, d2[] = {2};
  Shape s22 = shp(2, d22), s2 = shp(1, d2);
  uint32_t x = ir_add_source(g, OP_INPUT, "x", DT_F32, &s22, at(1));
  uint32_t gm = ir_add_source(g, OP_INPUT, "gamma", DT_F32, &s2, at(2));
  uint32_t bt = ir_add_source(g, OP_INPUT, "beta", DT_F32, &s2, at(3));
  ir_add_output(g, inferred(g, node1(g, OP_SOFTMAX, x)));
  uint32_t sm0 = node1(g, OP_SOFTMAX, x);
  ir_set_int(g, sm0, "axis", -2);
  ir_add_output(g, inferred(g, sm0));
  uint32_t in3[] = {x, gm, bt};
  uint32_t ln = ir_add_node(g, OP_LAYERNORM, in3, 3, 1, at(4));
  ir_set_float(g, ln, "eps", 0.0);
  ir_add_output(g, inferred(g, ln));
  ir_add_output(g, inferred(g, node1(g, OP_L2_NORMALIZE, x)));

  /* row 0: [0, ln 3] -> softmax [1/4, 3/4]; row 1 all -inf -> NaN (PyTorch) */
  float X[] = {0, logf(3), -INFINITY, -INFINITY};
  float G[] = {2, 1}, B[] = {0, 1};
  Tensor in[] = {tensor(DT_F32, 2, d22, X), tensor(DT_F32, 1, d2, G),
                 tensor(DT_F32, 1, d2, B)};
  Tensor out[4];
  run(g, in, 3, out);
  float *sm = out[0].data;
  CHECK_CLOSE(sm[0], 0.25, 1e-6, 0);
  CHECK_CLOSE(sm[1], 0.75, 1e-6, 0);
  CHECK(isnan(sm[2]) && isnan(sm[3]));
  /* axis -2: columns [0, -inf] -> [1, 0] */
  check_data(&out[1], (float[]){1, 1, 0, 0}, 4);
  /* layernorm row 0: mean ln3/2, var (ln3/2)^2 -> [-1, 1] * gamma + beta */
  float *ln_out = out[2].data;
  CHECK_CLOSE(ln_out[0], -2, 1e-5, 0);
  CHECK_CLOSE(ln_out[1], 2, 1e-5, 0);
  /* l2_normalize row 0: [0, 1] */
  CHECK_CLOSE(((float *)out[3].data)[1], 1, 1e-6, 0);
  free_outputs(out, 4);
  ir_graph_free(g);
}

static void test_elementwise(void) {
  Graph *g = ir_graph_new("elementwise");
  int64_t d4[] = {4};
  Shape s4 = shp(1, d4);
  uint32_t x = ir_add_source(g, OP_INPUT, "x", DT_F32, &s4, at(1));
  ir_add_output(g, inferred(g, node1(g, OP_RELU, x)));
  ir_add_output(g, inferred(g, node1(g, OP_GELU, x)));
  ir_add_output(g, inferred(g, node1(g, OP_GELU_TANH, x)));
  uint32_t sc = node1(g, OP_SCALE, x);
  ir_set_float(g, sc, "by", 0.5);
  ir_add_output(g, inferred(g, sc));
  float X[] = {-1, 0, 1, 2};
  Tensor in[] = {tensor(DT_F32, 1, d4, X)};
  Tensor out[4];
  run(g, in, 1, out);
  check_data(&out[0], (float[]){0, 0, 1, 2}, 4);
  /* Phi(1) = 0.841344746, Phi(2) = 0.977249868 */
  check_data(&out[1], (float[]){-0.158655254f, 0, 0.841344746f, 1.954499736f},
             4);
  /* 0.5*x*(1 + tanh(sqrt(2/pi)*(x + 0.044715 x^3))) */
  check_data(&out[2], (float[]){-0.158808009f, 0, 0.841191991f, 1.954597694f},
             4);
  check_data(&out[3], (float[]){-0.5f, 0, 0.5f, 1}, 4);
  free_outputs(out, 4);
  ir_graph_free(g);
}

static void test_movement(void) {
  Graph *g = ir_graph_new("movement");
  int64_t d23[] = {2, 3};
  Shape s23 = shp(2, d23);
  uint32_t x = ir_add_source(g, OP_INPUT, "x", DT_F32, &s23, at(1));
  uint32_t tr = node1(g, OP_TRANSPOSE, x);
  ir_set_ints(g, tr, "perm", (int64_t[]){1, 0}, 2);
  ir_add_output(g, inferred(g, tr));
  uint32_t rs = node1(g, OP_RESHAPE, x);
  ir_set_dims(g, rs, "shape", (Dim[]){ir_dim(3), {-1, -1}}, 2);
  ir_add_output(g, inferred(g, rs));
  uint32_t sl = node1(g, OP_SLICE, x);
  ir_set_int(g, sl, "axis", -1);
  ir_set_dim(g, sl, "start", ir_dim(1));
  ir_add_output(g, inferred(g, sl));
  uint32_t sp = ir_add_node(g, OP_SPLIT, &x, 1, 2, at(5));
  ir_set_int(g, sp, "axis", 1);
  ir_set_ints(g, sp, "sizes", (int64_t[]){1, 2}, 2);
  inferred(g, sp);
  ir_add_output(g, g->nodes[sp].out[1]);
  uint32_t cat_in[] = {x, g->nodes[sp].out[0], x};
  uint32_t cat = ir_add_node(g, OP_CONCAT, cat_in, 3, 1, at(6));
  ir_set_int(g, cat, "axis", -1);
  ir_add_output(g, inferred(g, cat));
  uint32_t mk = node1(g, OP_CAUSAL_MASK, x);
  ir_add_output(g, inferred(g, mk));
  uint32_t mn = node1(g, OP_MEAN, x);
  ir_set_int(g, mn, "axis", 0);
  ir_set_int(g, mn, "keepdims", 1);
  ir_add_output(g, inferred(g, mn));

  float X[] = {1, 2, 3, 4, 5, 6};
  Tensor in[] = {tensor(DT_F32, 2, d23, X)};
  Tensor out[7];
  run(g, in, 1, out);
  int64_t d32[] = {3, 2}, d22[] = {2, 2}, d27[] = {2, 7}, d13[] = {1, 3};
  check_dims(&out[0], 2, d32);
  check_data(&out[0], (float[]){1, 4, 2, 5, 3, 6}, 6);
  check_dims(&out[1], 2, d32);
  check_data(&out[1], X, 6);
  check_dims(&out[2], 2, d22);
  check_data(&out[2], (float[]){2, 3, 5, 6}, 4);
  check_data(&out[3], (float[]){2, 3, 5, 6}, 4);
  check_dims(&out[4], 2, d27);
  check_data(&out[4], (float[]){1, 2, 3, 1, 1, 2, 3, 4, 5, 6, 4, 4, 5, 6}, 14);
  float *m = out[5].data; /* [[1, -inf, -inf], [4, 5, -inf]] */
  CHECK(m[0] == 1 && m[1] == -INFINITY && m[2] == -INFINITY);
  CHECK(m[3] == 4 && m[4] == 5 && m[5] == -INFINITY);
  check_dims(&out[6], 2, d13);
  check_data(&out[6], (float[]){2.5f, 3.5f, 4.5f}, 3);
  free_outputs(out, 7);
  ir_graph_free(g);
}

static void test_gather_pe_patchify(void) {
  Graph *g = ir_graph_new("sources");
  int64_t d32[] = {3, 2}, d2[] = {2}, d224[] = {2, 2, 4};
  Shape s32 = shp(2, d32), s2 = shp(1, d2), s224 = shp(3, d224);
  uint32_t tab = ir_add_source(g, OP_WEIGHT, "emb", DT_F32, &s32, at(1));
  float T[] = {0, 1, 10, 11, 20, 21};
  g->values[tab].data = T;
  uint32_t ids = ir_add_source(g, OP_INPUT, "ids", DT_I32, &s2, at(2));
  uint32_t img = ir_add_source(g, OP_INPUT, "img", DT_F32, &s224, at(3));
  ir_add_output(g, inferred(g, node2(g, OP_GATHER, tab, ids)));
  uint32_t pe = ir_add_node(g, OP_SINUSOIDAL_PE, NULL, 0, 1, at(4));
  ir_set_dim(g, pe, "len", ir_dim(2));
  ir_set_int(g, pe, "d", 4);
  ir_add_output(g, inferred(g, pe));
  uint32_t pt = node1(g, OP_PATCHIFY, img);
  ir_set_int(g, pt, "patch", 2);
  ir_add_output(g, inferred(g, pt));

  int32_t I[] = {2, 0};
  float IMG[16];
  for (int i = 0; i < 16; i++) IMG[i] = (float)i; /* img[c,h,w] = 8c+4h+w */
  Tensor in[] = {tensor(DT_I32, 1, d2, I), tensor(DT_F32, 3, d224, IMG)};
  Tensor out[3];
  run(g, in, 2, out);
  check_data(&out[0], (float[]){20, 21, 0, 1}, 4);
  /* p = 1, d = 4: angles 1 and 1/100 */
  check_data(&out[1],
             (float[]){0, 1, 0, 1, sinf(1), cosf(1), sinf(0.01f), cosf(0.01f)},
             8);
  /* 2 patches of (c, kh, kw): patch 1 starts at column w = 2 */
  int64_t d28[] = {2, 8};
  check_dims(&out[2], 2, d28);
  check_data(&out[2],
             (float[]){0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15},
             16);
  free_outputs(out, 3);
  ir_graph_free(g);
}

/* dim S <= 4; x [S, 2]; y = reshape(x, [2*S]); s = slice(y, end = S);
 * p = sinusoidal_pe(len = S, d = 2) + x. */
static void test_symbolic(void) {
  Graph *g = ir_graph_new("symbolic");
  int32_t S = ir_add_sym(g, "S", 4, at(1));
  Shape sx = {2, {ir_dim_sym(S), ir_dim(2)}};
  uint32_t x = ir_add_source(g, OP_INPUT, "x", DT_F32, &sx, at(2));
  uint32_t rs = node1(g, OP_RESHAPE, x);
  ir_set_dims(g, rs, "shape", (Dim[]){{-1, -1}}, 1);
  uint32_t y = inferred(g, rs);
  uint32_t sl = node1(g, OP_SLICE, y);
  ir_set_int(g, sl, "axis", 0);
  ir_set_dim(g, sl, "end", ir_dim_sym(S));
  ir_add_output(g, inferred(g, sl));
  uint32_t pe = ir_add_node(g, OP_SINUSOIDAL_PE, NULL, 0, 1, at(3));
  ir_set_dim(g, pe, "len", ir_dim_sym(S));
  ir_set_int(g, pe, "d", 2);
  ir_add_output(g, inferred(g, node2(g, OP_ADD, inferred(g, pe), x)));

  int64_t dx[] = {3, 2};
  float X[] = {1, 2, 3, 4, 5, 6};
  Tensor in[] = {tensor(DT_F32, 2, dx, X)};
  int64_t binding[1];
  Diag d = {0};
  CHECK(ir_bind_inputs(g, in, 1, binding, &d) == 0 && binding[0] == 3);
  Tensor out[2];
  run(g, in, 1, out);
  int64_t d3[] = {3};
  check_dims(&out[0], 1, d3);
  check_data(&out[0], (float[]){1, 2, 3}, 3);
  check_dims(&out[1], 2, dx);
  check_data(&out[1], (float[]){1, 3, 3 + sinf(1), 4 + cosf(1), 5 + sinf(2),
                                6 + cosf(2)}, 6);
  free_outputs(out, 2);
  ir_graph_free(g);
}

/* ---- errors ------------------------------------------------------------- */

/* Run g, which must fail with a message containing `want`; outputs stay
 * empty. */
static void expect_error(Graph *g, Tensor *in, int n_in, const char *want) {
  Tensor out[4];
  Diag d = {0};
  CHECK(g->n_outputs <= 4);
  CHECK(ir_interp(g, in, n_in, out, &d) != 0);
  CHECK(d.failed);
  CHECK_STR_CONTAINS(d.msg, want);
  for (uint32_t i = 0; i < g->n_outputs; i++) CHECK(out[i].data == NULL);
}

static void test_gather_out_of_range(void) {
  Graph *g = ir_graph_new("gather");
  int64_t d32[] = {3, 2}, d22[] = {2, 2};
  Shape s32 = shp(2, d32), s22 = shp(2, d22);
  uint32_t tab = ir_add_source(g, OP_INPUT, "emb", DT_F32, &s32, at(1));
  uint32_t ids = ir_add_source(g, OP_INPUT, "ids", DT_I32, &s22, at(2));
  uint32_t ga = node2(g, OP_GATHER, tab, ids);
  g->nodes[ga].loc = at(7);
  ir_add_output(g, inferred(g, node1(g, OP_RELU, inferred(g, ga))));
  float T[6] = {0};
  int32_t I[] = {0, 1, 3, 2};
  Tensor in[] = {tensor(DT_F32, 2, d32, T), tensor(DT_I32, 2, d22, I)};
  expect_error(g, in, 2,
               "model.yaml:7:5: error: gather: id 3 at [1, 0] of 'ids' is out "
               "of range for table 'emb' with 3 rows");
  I[2] = -1;
  expect_error(g, in, 2, "id -1 at [1, 0]");
  ir_graph_free(g);
}

static void test_bind_errors(void) {
  Graph *g = ir_graph_new("bind");
  int32_t S = ir_add_sym(g, "S", 4, at(1));
  Shape sx = {2, {ir_dim_sym(S), ir_dim(2)}};
  Shape sy = {1, {{2, S}}};
  uint32_t x = ir_add_source(g, OP_INPUT, "x", DT_F32, &sx, at(2));
  uint32_t y = ir_add_source(g, OP_INPUT, "y", DT_F32, &sy, at(3));
  uint32_t rs = node1(g, OP_RESHAPE, x);
  ir_set_dims(g, rs, "shape", (Dim[]){{2, S}}, 1);
  ir_add_output(g, inferred(g, node2(g, OP_ADD, inferred(g, rs), y)));

  float X[20] = {0}, Y[20] = {0};
  int64_t d52[] = {5, 2}, d32[] = {3, 2}, d3[] = {3}, d6[] = {6}, d8[] = {8};
  int64_t d322[] = {3, 2, 2}, d33[] = {3, 3};
  Tensor in[2];

  in[0] = tensor(DT_F32, 2, d52, X), in[1] = tensor(DT_F32, 1, d6, Y);
  expect_error(g, in, 2,
               "model.yaml:2:5: error: input 'x': dimension 0 is 5, so S = 5 "
               "exceeds its bound S <= 4");

  in[0] = tensor(DT_F32, 3, d322, X);
  expect_error(g, in, 2,
               "model.yaml:2:5: error: input 'x' must have rank 2 [S, 2], got "
               "rank 3");

  in[0] = tensor(DT_F32, 2, d33, X);
  expect_error(g, in, 2, "input 'x': dimension 1 is 3, must be 2");

  in[0] = tensor(DT_F32, 2, d32, X), in[1] = tensor(DT_F32, 1, d3, Y);
  expect_error(g, in, 2,
               "model.yaml:3:5: error: input 'y': dimension 0 is 3, not a "
               "positive multiple of 2 (2*S)");

  in[1] = tensor(DT_F32, 1, d8, Y);
  expect_error(g, in, 2,
               "input 'y': dimension 0 gives S = 4, but input 'x' gave S = 3");

  in[1] = tensor(DT_I32, 1, d6, Y);
  expect_error(g, in, 2, "input 'y' must be f32[2*S], got i32");

  expect_error(g, in, 1, "graph 'bind' has 2 inputs but 1 were given");

  /* and the good case still works */
  in[1] = tensor(DT_F32, 1, d6, Y);
  Tensor out[1];
  run(g, in, 2, out);
  int64_t d6o[] = {6};
  check_dims(&out[0], 1, d6o);
  free_outputs(out, 1);
  ir_graph_free(g);
}

static void test_weight_without_data(void) {
  Graph *g = ir_graph_new("weights");
  int64_t d22[] = {2, 2};
  Shape s22 = shp(2, d22);
  uint32_t x = ir_add_source(g, OP_INPUT, "x", DT_F32, &s22, at(1));
  uint32_t w = ir_add_source(g, OP_WEIGHT, "layer0.w", DT_F32, &s22, at(4));
  ir_add_output(g, inferred(g, node2(g, OP_MATMUL, x, w)));
  float X[4] = {0};
  Tensor in[] = {tensor(DT_F32, 2, d22, X)};
  expect_error(g, in, 1,
               "model.yaml:4:5: error: weight 'layer0.w' has no data");
  ir_graph_free(g);
}

/* x [S, 4] sliced to a static end 3: fine for S >= 3, an error for S = 2. */
static void test_slice_beyond_symbolic_axis(void) {
  Graph *g = ir_graph_new("slice");
  int32_t S = ir_add_sym(g, "S", 8, at(1));
  Shape sx = {2, {ir_dim_sym(S), ir_dim(4)}};
  uint32_t x = ir_add_source(g, OP_INPUT, "x", DT_F32, &sx, at(2));
  uint32_t sl = node1(g, OP_SLICE, x);
  ir_set_int(g, sl, "axis", 0);
  ir_set_dim(g, sl, "end", ir_dim(3));
  ir_add_output(g, inferred(g, sl));
  float X[8] = {0};
  int64_t d24[] = {2, 4};
  Tensor in[] = {tensor(DT_F32, 2, d24, X)};
  expect_error(g, in, 1, "slice: [0:3] does not fit axis 0 of length 2");
  ir_graph_free(g);
}

/* A symbol only an op mentions (no input has S): nothing can bind it. */
static void test_unbound_symbol(void) {
  Graph *g = ir_graph_new("unbound");
  int32_t S = ir_add_sym(g, "S", 8, at(1));
  uint32_t pe = ir_add_node(g, OP_SINUSOIDAL_PE, NULL, 0, 1, at(9));
  ir_set_dim(g, pe, "len", ir_dim_sym(S));
  ir_set_int(g, pe, "d", 4);
  ir_add_output(g, inferred(g, pe));
  expect_error(g, NULL, 0,
               "model.yaml:9:5: error: sinusoidal_pe: symbol S is not bound "
               "by any input");
  ir_graph_free(g);
}

/* An input returned as it is, twice, and a value read twice by one node. */
static void test_passthrough(void) {
  Graph *g = ir_graph_new("passthrough");
  int64_t d2[] = {2};
  Shape s2 = shp(1, d2);
  uint32_t x = ir_add_source(g, OP_INPUT, "x", DT_F32, &s2, at(1));
  uint32_t sq = inferred(g, node2(g, OP_MUL, x, x));
  uint32_t y = inferred(g, node2(g, OP_ADD, sq, sq));
  ir_add_output(g, x);
  ir_add_output(g, y);
  ir_add_output(g, x);
  float X[] = {3, -1};
  Tensor in[] = {tensor(DT_F32, 1, d2, X)};
  Tensor out[3];
  run(g, in, 1, out);
  CHECK(out[0].data != X && out[2].data != X && out[0].data != out[2].data);
  check_data(&out[0], X, 2);
  check_data(&out[1], (float[]){18, 2}, 2);
  check_data(&out[2], X, 2);
  free_outputs(out, 3);
  ir_graph_free(g);
}

/* {optional = true}: a Tensor without data leaves the input out (zeros). */
static void test_optional_input(void) {
  Graph *g = ir_graph_new("optional");
  int32_t S = ir_add_sym(g, "S", 8, at(1));
  Shape sx = {1, {ir_dim_sym(S)}};
  uint32_t tt = ir_add_source(g, OP_INPUT, "tt", DT_F32, &sx, at(2));
  ir_set_int(g, g->values[tt].node, "optional", 1);
  uint32_t x = ir_add_source(g, OP_INPUT, "x", DT_F32, &sx, at(3));
  ir_add_output(g, inferred(g, node2(g, OP_ADD, x, tt)));
  float X[] = {1, 2, 3}, T[] = {10, 20, 30};
  int64_t d3[] = {3};
  Tensor in[] = {tensor(DT_F32, 1, d3, NULL), tensor(DT_F32, 1, d3, X)};
  Tensor out[1];
  run(g, in, 2, out); /* left out: x + 0 */
  check_data(&out[0], X, 3);
  free_outputs(out, 1);
  in[0].data = T; /* given */
  run(g, in, 2, out);
  check_data(&out[0], (float[]){11, 22, 33}, 3);
  free_outputs(out, 1);
  in[1].data = NULL; /* x is not optional */
  expect_error(g, in, 2, "model.yaml:3:5: error: input 'x' has no data");
  ir_graph_free(g);

  g = ir_graph_new("optional-alone");
  S = ir_add_sym(g, "S", 8, at(1));
  tt = ir_add_source(g, OP_INPUT, "tt", DT_F32, &sx, at(2));
  ir_set_int(g, g->values[tt].node, "optional", 1);
  ir_add_output(g, inferred(g, node1(g, OP_RELU, tt)));
  in[0].data = NULL;
  expect_error(g, in, 1,
               "model.yaml:2:5: error: optional input 'tt' was left out, but "
               "no other input gives its dimension S");
  ir_graph_free(g);
}

int main(void) {
  test_matmul();
  test_broadcast();
  test_softmax_layernorm();
  test_elementwise();
  test_movement();
  test_gather_pe_patchify();
  test_symbolic();
  test_gather_out_of_range();
  test_bind_errors();
  test_weight_without_data();
  test_slice_beyond_symbolic_axis();
  test_unbound_symbol();
  test_passthrough();
  test_optional_input();
  CHECK_DONE();
}
