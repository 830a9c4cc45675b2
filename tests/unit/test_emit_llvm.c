/* test_emit_llvm.c — every Kernel IR construct through LLVM, against the
 * Kernel IR evaluator (tests/kir_eval.c, which says what each construct
 * means).
 *
 * One kernel, "zoo", built at lanes 1, 4, 8 and 16, uses every expression
 * kind and op the IR has — loads and stores scalar and W wide, broadcasts
 * of floats, ints and bools, fma in f32 and f64, compares and selects
 * (a scalar select whose arm loads: branches in LLVM), reductions
 * add/max/min of floats and ints, conversions, bit casts, shifts, libm
 * calls of one and two arguments, sqrt and floor — and every statement:
 * parallel loops reading variables declared outside them (one inside a
 * sequential loop), sequential loops with steps, let/set, KS_CHECK inside loops (the rest of the body
 * skipped, the code returned at the end) and at the top (an early return).
 * Each variant is compiled for a target (native, x86-64-v3, x86-64-v2,
 * generic: with and without FMA), loaded into the JIT and run on the same
 * data as the evaluator; the outputs must agree to 1e-6 relative (1e-4
 * where a float reduction may sum in another order) and the return codes
 * exactly.
 *
 * Skips (exit 77) without LLVM.
 */
#include "codegen/llvm/llvm_emit.h"
#include "codegen/cpu.h"
#include "tests/check.h"

#include "tests/kir_eval.c"

#ifdef LOOM_HAVE_LLVM

#define PLANES 10 /* float outputs per element */
#define IPLANES 7 /* int outputs per element */

/* x, y, scale: f32; ids: i32 in 0..99 */
static Kernel *zoo(int W) {
  Kernel *k = k_new(W, "every construct");
  uint32_t out = k_param_buf(k, "out", KT_F32, true);
  uint32_t outi = k_param_buf(k, "outi", KT_I32, true);
  uint32_t x = k_param_buf(k, "x", KT_F32, false);
  uint32_t y = k_param_buf(k, "y", KT_F32, false);
  uint32_t ids = k_param_buf(k, "ids", KT_I32, false);
  uint32_t n = k_param(k, k_param_i64(k, "n"));
  uint32_t flag = k_param(k, k_param_i64(k, "flag"));
#define V(e) k_broadcast(k, (e), W)
#define BIN(op, a, b) k_binary(k, (op), (a), (b))
  /* an early return */
  k_check(k, BIN(KO_EQ, flag, k_i64(k, 1)), 9);
  uint32_t scale = k_let(k, "scale", k_f32(k, 1.5));
  uint32_t nv = k_let(k, "nv", k_floor_to(k, n, W));

  /* W lanes at a time, in parallel */
  uint32_t iv = k_for(k, "i", k_i64(k, 0), k_var(k, nv), W, true);
  {
    uint32_t i = k_var(k, iv);
#define PL(p) k_add(k, k_muli(k, n, (p)), i)
    uint32_t a = k_var(k, k_let(k, "a", k_load(k, x, i, W)));
    uint32_t b = k_var(k, k_let(k, "b", k_load(k, y, i, W)));
    uint32_t iw = k_var(k, k_let(k, "iw", k_load(k, ids, i, W)));
    k_store(k, out, PL(0), k_fma(k, a, b, V(k_var(k, scale))));
    k_store(k, out, PL(1), k_select(k, BIN(KO_GT, a, b), BIN(KO_SUB, a, b),
                                    BIN(KO_DIV, b, BIN(KO_ADD, a, V(k_f32(k, 20))))));
    k_store(k, out, PL(2), BIN(KO_ADD, BIN(KO_MAX, a, b),
                               BIN(KO_MUL, BIN(KO_MIN, a, b), V(k_f32(k, 2)))));
    k_store(k, out, PL(3), k_unary(k, KO_ABS, k_unary(k, KO_NEG, a)));
    /* a KS_CHECK in a parallel loop: the rest of this iteration skipped */
    k_check(k, BIN(KO_GT, k_reduce(k, KO_MAX, iw), k_i32(k, 97)), 4);
    uint32_t ai = k_convert(k, BIN(KO_MUL, a, V(k_f32(k, 100))), kt(KT_I32, W));
    k_store(k, out, PL(4), k_convert(k, ai, kt(KT_F32, W)));
    uint32_t bits = k_bitcast(k, a, kt(KT_I32, W));
    bits = BIN(KO_SHL, BIN(KO_SHR, BIN(KO_AND, bits, V(k_i32(k, 0x7fffffff))), V(k_i32(k, 1))),
               V(k_i32(k, 1)));
    k_store(k, out, PL(5), k_bitcast(k, bits, kt(KT_F32, W)));
    uint32_t red = BIN(KO_SUB, BIN(KO_ADD, k_reduce(k, KO_ADD, a), k_reduce(k, KO_MAX, b)),
                       k_reduce(k, KO_MIN, a));
    k_store(k, out, PL(6), V(red));
    uint32_t m = BIN(KO_OR, BIN(KO_XOR, BIN(KO_LT, a, b),
                                k_unary(k, KO_NOT, BIN(KO_GE, a, BIN(KO_MUL, b, V(k_f32(k, 0.5)))))),
                     BIN(KO_AND, BIN(KO_EQ, a, b), BIN(KO_NE, a, V(k_f32(k, 0)))));
    m = BIN(KO_XOR, m, V(BIN(KO_LE, k_i32(k, 3), k_i32(k, 4))));
    k_store(k, out, PL(7), k_select(k, m, a, b));
    k_store(k, out, PL(8), a);
    k_store(k, out, PL(9), b);
    k_store(k, outi, PL(0), BIN(KO_ADD, BIN(KO_DIV, BIN(KO_SUB, BIN(KO_MUL, iw, V(k_i32(k, 3))),
                                                       V(k_i32(k, 7))),
                                           V(k_i32(k, 2))),
                                BIN(KO_REM, iw, V(k_i32(k, 5)))));
    k_store(k, outi, PL(1), BIN(KO_ADD, BIN(KO_MAX, iw, V(k_i32(k, 10))),
                                BIN(KO_MIN, iw, V(k_i32(k, 3)))));
    k_store(k, outi, PL(2), V(BIN(KO_SUB, BIN(KO_ADD, k_reduce(k, KO_ADD, iw),
                                                  k_reduce(k, KO_MAX, iw)),
                                      k_reduce(k, KO_MIN, iw))));
    k_store(k, outi, PL(3), BIN(KO_OR, BIN(KO_XOR, BIN(KO_SHR, BIN(KO_SHL, iw, V(k_i32(k, 2))),
                                                       V(k_i32(k, 1))),
                                           BIN(KO_AND, iw, V(k_i32(k, 6)))),
                                V(k_i32(k, 1))));
    k_store(k, outi, PL(4), k_convert(k, BIN(KO_MUL, k_convert(k, iw, kt(KT_F32, W)),
                                             V(k_f32(k, -2.5))),
                                      kt(KT_I32, W)));
    k_store(k, outi, PL(5), iw);
#undef PL
  }
  k_end(k);

  /* the tail, one element at a time, with the scalar-only constructs */
  uint32_t jv = k_for(k, "j", k_var(k, nv), n, 1, false);
  {
    uint32_t j = k_var(k, jv);
#define PL(p) k_add(k, k_muli(k, n, (p)), j)
    uint32_t a = k_var(k, k_let(k, "a", k_load(k, x, j, 1)));
    uint32_t b = k_var(k, k_let(k, "b", k_load(k, y, j, 1)));
    uint32_t id = k_var(k, k_let(k, "id", k_load(k, ids, j, 1)));
    uint32_t acc = k_let(k, "acc", k_f32(k, 0));
    k_set(k, acc, BIN(KO_ADD, k_var(k, acc), k_unary(k, KO_SQRT, k_unary(k, KO_ABS, a))));
    k_set(k, acc, BIN(KO_ADD, k_var(k, acc), k_unary(k, KO_FLOOR, b)));
    uint32_t s = k_convert(k, k_call(k, "sin", kt(KT_F64, 1), k_convert(k, a, kt(KT_F64, 1)), K_NONE),
                           kt(KT_F32, 1));
    k_store(k, out, PL(0), BIN(KO_ADD, k_var(k, acc), s));
    k_store(k, out, PL(1), k_call(k, "pow", kt(KT_F32, 1), k_unary(k, KO_ABS, b), k_f32(k, 0.75)));
    uint32_t da = k_convert(k, a, kt(KT_F64, 1)), db = k_convert(k, b, kt(KT_F64, 1));
    k_store(k, out, PL(2), k_convert(k, k_fma(k, da, db, k_f64(k, 0.1)), kt(KT_F32, 1)));
    /* a scalar select whose arm loads: evaluated only when taken */
    uint32_t at = k_binary(k, KO_REM, k_convert(k, id, kt(KT_I64, 1)), n);
    k_store(k, out, PL(3), k_select(k, BIN(KO_LT, id, k_i32(k, 50)), k_load(k, x, at, 1),
                                    BIN(KO_MUL, b, b)));
    k_check(k, BIN(KO_GT, id, k_i32(k, 90)), 3); /* skips the rest */
    k_store(k, out, PL(4), k_fma(k, a, b, k_var(k, scale)));
    k_store(k, out, PL(5), BIN(KO_MAX, a, BIN(KO_MIN, b, k_f32(k, 0.25))));
    k_store(k, out, PL(6), k_select(k, BIN(KO_NE, a, a), k_f32(k, 1), k_unary(k, KO_NEG, a)));
    k_store(k, out, PL(7), k_bitcast(k, BIN(KO_XOR, k_bitcast(k, a, kt(KT_I32, 1)), k_i32(k, 1)),
                                     kt(KT_F32, 1)));
    k_store(k, out, PL(8), a);
    k_store(k, out, PL(9), b);
    uint32_t l = k_convert(k, id, kt(KT_I64, 1));
    k_store(k, outi, PL(0), k_convert(k, BIN(KO_ADD, BIN(KO_DIV, BIN(KO_MUL, l, k_i64(k, 3)),
                                                          k_i64(k, 2)),
                                             BIN(KO_REM, l, k_i64(k, 7))),
                                      kt(KT_I32, 1)));
    k_store(k, outi, PL(1), k_unary(k, KO_ABS, BIN(KO_SUB, id, k_i32(k, 50))));
    k_store(k, outi, PL(2), BIN(KO_MAX, id, k_i32(k, 40)));
    k_store(k, outi, PL(3), BIN(KO_SHR, k_unary(k, KO_NEG, id), k_i32(k, 2)));
    k_store(k, outi, PL(4), k_select(k, BIN(KO_AND, BIN(KO_GE, id, k_i32(k, 10)),
                                            k_unary(k, KO_NOT, BIN(KO_EQ, id, k_i32(k, 20)))),
                                     k_i32(k, 1), k_i32(k, 0)));
    k_store(k, outi, PL(5), id);
#undef PL
  }
  k_end(k);
  /* a parallel loop inside a sequential one, reading its variable */
  uint32_t pv = k_for(k, "p", k_i64(k, 0), k_i64(k, 3), 1, false);
  uint32_t qv = k_for(k, "q", k_i64(k, 0), n, 1, true);
  k_store(k, outi, k_add(k, k_muli(k, n, 6), k_var(k, qv)),
          k_convert(k, k_add(k, k_muli(k, k_var(k, pv), 1000), k_var(k, qv)), kt(KT_I32, 1)));
  k_end(k);
  k_end(k);
  /* a loop with a step: every third element of plane 5 again */
  uint32_t tv = k_for(k, "t", k_i64(k, 0), n, 3, false);
  k_store(k, outi, k_add(k, k_muli(k, n, 5), k_var(k, tv)),
          k_convert(k, k_var(k, tv), kt(KT_I32, 1)));
  k_end(k);
#undef V
#undef BIN
  return k;
}

typedef int32_t (*Thunk)(uint64_t *args);

/* The kernel compiled for `target` and loaded; *jit to free. */
static Thunk compile(Kernel *k, const char *target, CgJit **jit) {
  Program p;
  memset(&p, 0, sizeof p);
  CHECK(cg_target(target, &p.target) == 0);
  PKernel pk = {k, k, "k0_zoo", 1};
  p.kernels = &pk;
  p.n_kernels = 1;
  Diag d = {0};
  CgLlvm *c = cg_llvm_build(&p, &(CgLlvmOptions){.name = "zoo"}, &d);
  CHECK_MSG(c != NULL, "%s", d.msg);
  char *obj;
  size_t n;
  CHECK_MSG(cg_llvm_obj_bytes(c, &obj, &n, &d) == 0, "%s", d.msg);
  cg_llvm_free(c);
  *jit = cg_jit_load(obj, n, &d);
  free(obj);
  CHECK_MSG(*jit != NULL, "%s", d.msg);
  Thunk fn = (Thunk)(uintptr_t)cg_jit_lookup(*jit, "k0_zoo_thunk", &d);
  CHECK_MSG(fn != NULL, "%s", d.msg);
  return fn;
}

static uint32_t rng = 12345;
static float frand(void) {
  rng = rng * 1664525u + 1013904223u;
  return (float)(rng >> 8) / (float)(1u << 24);
}

static void run_case(int W, const char *target, int64_t n, int64_t flag) {
  Kernel *k = zoo(W);
  CgJit *jit;
  Thunk fn = compile(k, target, &jit);
  float *x = malloc((size_t)n * 4), *y = malloc((size_t)n * 4);
  int32_t *ids = malloc((size_t)n * 4);
  float *out[2] = {malloc((size_t)n * PLANES * 4), malloc((size_t)n * PLANES * 4)};
  int32_t *outi[2] = {malloc((size_t)n * IPLANES * 4), malloc((size_t)n * IPLANES * 4)};
  for (int64_t i = 0; i < n; i++) {
    x[i] = frand() * 20 - 10;
    y[i] = frand() * 10 + 0.01f;
    ids[i] = (int32_t)(frand() * 99.99f);
    if (i % 7 == 3) y[i] = x[i]; /* a == b */
  }
  ids[n - 1] = 95; /* a KS_CHECK fires in the tail (or the last vector) */
  int rc[2];
  for (int r = 0; r < 2; r++) {
    for (int64_t i = 0; i < n * PLANES; i++) out[r][i] = -7.77e33f;
    for (int64_t i = 0; i < n * IPLANES; i++) outi[r][i] = -777;
  }
  KEvalArg args[] = {{out[0], n * PLANES, 0}, {outi[0], n * IPLANES, 0}, {x, n, 0},
                     {y, n, 0}, {ids, n, 0}, {NULL, 0, n}, {NULL, 0, flag}};
  rc[0] = kir_eval(k, args);
  uint64_t slots[7] = {(uint64_t)(uintptr_t)out[1], (uint64_t)(uintptr_t)outi[1],
                       (uint64_t)(uintptr_t)x, (uint64_t)(uintptr_t)y,
                       (uint64_t)(uintptr_t)ids, (uint64_t)n, (uint64_t)flag};
  rc[1] = fn(slots);
  CHECK_MSG(rc[0] == rc[1], "lanes %d, %s, n %lld: code %d, the evaluator's %d", W, target,
            (long long)n, rc[1], rc[0]);
  for (int64_t i = 0; i < n * PLANES; i++) {
    double want = out[0][i], got = out[1][i];
    /* plane 6 sums 16 lanes of +-10 in another order: |error| ~ 40 ulp(1) */
    double tol = i / n == 6 ? 1e-4 : 1e-6 * (1 + fabs(want));
    CHECK_MSG(fabs(got - want) <= tol || (isnan(got) && isnan(want)),
              "lanes %d, %s, n %lld: out plane %lld [%lld]: got %.9g, want %.9g", W,
              target, (long long)n, (long long)(i / n), (long long)(i % n), got, want);
  }
  for (int64_t i = 0; i < n * IPLANES; i++)
    CHECK_MSG(outi[1][i] == outi[0][i],
              "lanes %d, %s, n %lld: outi plane %lld [%lld]: got %d, want %d", W, target,
              (long long)n, (long long)(i / n), (long long)(i % n), outi[1][i], outi[0][i]);
  printf("lanes %2d  %-9s  n %3lld  flag %lld: code %d, %lld values agree\n", W, target,
         (long long)n, (long long)flag, rc[1], (long long)n * (PLANES + IPLANES));
  for (int r = 0; r < 2; r++) {
    free(out[r]);
    free(outi[r]);
  }
  free(x);
  free(y);
  free(ids);
  cg_jit_free(jit);
  k_free(k);
}

int main(void) {
  static const struct {
    int lanes;
    const char *target;
  } cases[] = {{16, "native"}, {4, "native"}, {1, "native"}, {8, "x86-64-v3"},
               {4, "x86-64-v2"}, {1, "generic"}, {16, "generic"}};
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    run_case(cases[c].lanes, cases[c].target, 37, 0);
    run_case(cases[c].lanes, cases[c].target, 64, 0);
  }
  run_case(16, "native", 37, 1); /* the early return */
  printf("%d checks\n", check_count);
  return 0;
}

#else
int main(void) {
  printf("skipped: libloom was built without LLVM\n");
  return 77;
}
#endif
