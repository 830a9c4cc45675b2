/* test_emit_c.c — the C emitter's pieces and the c backend through the C
 * API: model names as C identifiers; the weights header and its layout hash
 * (stable, and changed by any change of layout); NAME.c's shape (each
 * kernel once per branch, deterministic text); and libloom with backend
 * "c": a first load compiles (the log says miss), a second loads from the
 * cache (hit), both run the attention-head golden to PyTorch's results,
 * and a kernel's error comes back located. */
#include <unistd.h>

#include "api/backend.h"
#include "codegen/c/c_emit.h"
#include "codegen/cpu.h"
#include "codegen/program.h"
#include "frontend/frontend.h"
#include "loom.h"
#include "runtime/npy.h"
#include "tests/check.h"

static const char *MODEL = "goldens/attention-head/model.yaml";

static void check_name(const char *model, const char *want) {
  char out[64];
  cg_c_name(model, out, sizeof out);
  CHECK_MSG(strcmp(out, want) == 0, "'%s' -> '%s', want '%s'", model, out, want);
}

static int count(const char *hay, const char *needle) {
  int n = 0;
  for (const char *p = hay; (p = strstr(p, needle)); p++) n++;
  return n;
}

static uint64_t u64_at(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
  return v;
}

static void check_golden(const loom_tensor *t, const char *path) {
  RtNpy want;
  char err[512];
  CHECK_MSG(rt_npy_read(path, &want, err, sizeof err) == 0, "%s", err);
  CHECK(want.rank == t->rank);
  const float *g = t->data, *w = want.data;
  for (size_t i = 0; i < want.count; i++) CHECK_CLOSE(g[i], w[i], 1e-4, 1e-3);
  rt_npy_free(&want);
}

/* Load with the c backend, logging into a buffer; run on ids. */
static void load_and_run(const char *cache, const char *want_log,
                         const int32_t *ids, int n, const char *want_err) {
  char *log = NULL, err[4096];
  size_t len = 0;
  FILE *f = open_memstream(&log, &len);
  CHECK(f);
  loom_options o = {.backend = "c", .cache = cache, .log = f};
  loom_model *m = NULL;
  CHECK_MSG(loom_load(MODEL, &o, &m, err, sizeof err) == LOOM_OK, "%s", err);
  fclose(f);
  CHECK_STR_CONTAINS(log, want_log);
  free(log);
  loom_tensor in = {"ids", LOOM_I32, 1, {n}, (void *)ids};
  loom_tensor out[2];
  CHECK(loom_output_shapes(m, &in, 1, out, 2, err, sizeof err) == LOOM_OK);
  for (int i = 0; i < 2; i++) CHECK((out[i].data = malloc(loom_tensor_bytes(&out[i]))));
  loom_status st = loom_run(m, &in, 1, out, 2, err, sizeof err);
  if (want_err) {
    CHECK(st == LOOM_ERR_MODEL);
    CHECK_STR_CONTAINS(err, want_err);
  } else {
    CHECK_MSG(st == LOOM_OK, "%s", err);
    check_golden(&out[0], "goldens/attention-head/out.y.npy");
    check_golden(&out[1], "goldens/attention-head/out.probs.npy");
  }
  for (int i = 0; i < 2; i++) free(out[i].data);
  loom_free(m);
}

/* Below the API (which checks input ids first): the compiled model's own
 * check of its inputs (runtime/standalone/sa_model.c, the host code of
 * every emitted model), from the descriptor's table rows. */
static void kernel_error(const char *cache, const int32_t *ids, int n) {
  Diag d = {0};
  FeModel *fe = fe_load(MODEL, NULL, &d);
  CHECK_MSG(fe, "%s", d.msg);
  Target t;
  CHECK(cg_target(NULL, &t) == 0);
  BackendOptions bo = {.target = &t, .cache = cache};
  const Backend *be = loom_backend("c");
  BackendModel *bm = NULL;
  CHECK_MSG(be->compile(fe, &bo, &bm, &d) == 0, "%s", d.msg);
  Tensor in = {.dtype = DT_I32, .rank = 1, .dims = {n}, .data = (void *)ids};
  int64_t binding[8];
  CHECK(ir_bind_inputs(fe->g, &in, 1, binding, &d) == 0);
  void *outs[2];
  for (uint32_t k = 0; k < fe->g->n_outputs; k++) {
    int64_t dims[IR_MAX_RANK];
    int64_t count = ir_shape_eval(&fe->g->values[fe->g->outputs[k]].shape, binding, dims);
    CHECK((outs[k] = calloc((size_t)count + 1, 4)));
  }
  CHECK(be->run(bm, &in, binding, outs, &d) != 0);
  CHECK_STR_CONTAINS(d.msg, "error: input 'ids': id 500 at [1] is out of range for "
                            "table 'embed' with 97 rows");
  be->release(bm);
  for (uint32_t k = 0; k < fe->g->n_outputs; k++) free(outs[k]);
  fe_model_free(fe);
}

int main(void) {
  /* names */
  check_name("attention-head", "attention_head");
  check_name("gpt2", "gpt2");
  check_name("3d net.v2", "m_3d_net_v2");
  check_name("", "model");
  check_name("main", "main_model");
  check_name("npy", "npy_model");
  check_name("pthread", "pthread_model");

  /* the program of the golden, for a fixed target */
  Diag d = {0};
  FeModel *fe = fe_load(MODEL, NULL, &d);
  CHECK_MSG(fe, "%s", d.msg);
  Target t;
  CHECK(cg_target("x86-64-v3", &t) == 0);
  Program *p = cg_program(fe->g, &t, &d);
  CHECK_MSG(p, "%s", d.msg);

  /* the weights header */
  unsigned char h[CG_WEIGHTS_HEADER];
  cg_weights_header(p, h);
  CHECK(memcmp(h, "LOOMWGT1", 8) == 0);
  CHECK(u64_at(h + 8) == cg_weights_hash(p));
  CHECK(u64_at(h + 16) == (uint64_t)p->weight_bytes);
  CHECK(u64_at(h + 24) == p->n_weights);
  CHECK(u64_at(h + 32) == CG_WEIGHTS_HEADER);
  uint64_t hash = cg_weights_hash(p);
  CHECK(cg_weights_hash(p) == hash); /* stable */
  p->store[p->weights[1]].offset += 64;  /* another layout, another hash */
  CHECK(cg_weights_hash(p) != hash);
  p->store[p->weights[1]].offset -= 64;
  CHECK(cg_weights_hash(p) == hash);

  /* NAME.c: each kernel once in each branch; the same text twice */
  char *c1 = cg_c_source(p, "attention_head"), *c2 = cg_c_source(p, "attention_head");
  CHECK(strcmp(c1, c2) == 0);
  CHECK(count(c1, "\nstatic int k0_gather(") == 2);
  CHECK(count(c1, "\nstatic int k") == 2 * (int)p->n_kernels);
  CHECK(count(c1, "typedef float lv_f32x8 __attribute__((vector_size(32)));") == 1);
  CHECK_STR_CONTAINS(c1, "#if defined(__GNUC__) && !defined(LOOM_SCALAR)");
  CHECK_STR_CONTAINS(c1, "attention_head_status attention_head_run(");
  CHECK(!strstr(c1, "NAME_")); /* the template's prefix is gone */
  char *hdr = cg_c_header(p, "attention_head");
  CHECK_STR_CONTAINS(hdr, "#ifndef attention_head_H");
  CHECK_STR_CONTAINS(hdr, " *   ids              i32[S]");
  CHECK(!strstr(hdr, "NAME_"));
  free(c1);
  free(c2);
  free(hdr);
  cg_program_free(p);
  fe_model_free(fe);

  /* the c backend through libloom: compile once, then the cache */
  char cache[] = "/tmp/loom-test-emit-c.XXXXXX";
  CHECK(mkdtemp(cache));
  const int32_t ids[] = {5, 17, 0, 96, 42, 42, 3, 88, 61, 7, 12};
  load_and_run(cache, "c.cache=miss", ids, 11, NULL);
  load_and_run(cache, "c.cache=hit", ids, 11, NULL);
  const int32_t bad[] = {1, 500};
  load_and_run(cache, "c.cache=hit", bad, 2,
               "model.yaml:7:5: error: input 'ids': id 500 at [1] is out of range "
               "for table 'embed' with 97 rows");
  kernel_error(cache, bad, 2);
  char cmd[256];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", cache);
  CHECK(system(cmd) == 0);
  CHECK_DONE();
}
