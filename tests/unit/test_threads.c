/* test_threads.c — the thread count of the parallel loops: the runtime's
 * loom_set_threads (what --threads and loom_options.threads set) decides
 * how many chunks loom_parallel_for runs, a later call changes it, and a
 * model loaded with `threads` runs with that many, gives the golden's
 * numbers, and leaves the caller's setting as it was. */
#include <pthread.h>

#include "loom.h"
#include "runtime/npy.h"
#include "runtime/parallel.h"
#include "tests/check.h"

static int chunks;
static int64_t covered;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void body(void *ctx, int64_t lo, int64_t hi) {
  (void)ctx;
  pthread_mutex_lock(&mu);
  chunks++;
  for (int64_t i = lo; i < hi; i += 3) covered++;
  pthread_mutex_unlock(&mu);
}

static int run_chunks(void) {
  chunks = 0;
  covered = 0;
  loom_parallel_for(body, NULL, 0, 300, 3);
  CHECK(covered == 100);
  return chunks;
}

int main(void) {
  int start = loom_set_threads(0); /* OMP_NUM_THREADS or every core */
  CHECK(start >= 1);
  /* loom is built with OpenMP (CMakeLists.txt requires it) */
  CHECK(loom_set_threads(3) == start);
  CHECK(run_chunks() == 3);
  CHECK(loom_set_threads(1) == 3);
  CHECK(run_chunks() == 1);
  CHECK(loom_set_threads(5) == 1);
  CHECK(run_chunks() == 5);
  loom_set_threads(start);

  /* The API: threads of a model's runs, on every backend that generates
   * code, the caller's setting restored after each run. */
  char err[4096];
  RtNpy ids;
  CHECK_MSG(rt_npy_read("goldens/bert-relu/in.ids.npy", &ids, err, sizeof err) == 0,
            "%s", err);
  RtNpy tt;
  CHECK_MSG(rt_npy_read("goldens/bert-relu/in.token_type_ids.npy", &tt, err,
                        sizeof err) == 0, "%s", err);
  RtNpy want;
  CHECK_MSG(rt_npy_read("goldens/bert-relu/out.hidden.npy", &want, err,
                        sizeof err) == 0, "%s", err);
  const char *backends[] = {"c", "jit"};
  for (int b = 0; b < 2; b++) {
    for (int threads = 1; threads <= 3; threads += 2) {
      loom_options o = {.backend = backends[b], .threads = threads};
      loom_model *m = NULL;
      loom_status st = loom_load("goldens/bert-relu/model.yaml", &o, &m, err, sizeof err);
      if (st == LOOM_ERR_USAGE && b == 1) continue; /* built without LLVM */
      CHECK_MSG(st == LOOM_OK, "%s", err);
      loom_tensor in[2] = {
          {"ids", LOOM_I32, ids.rank, {ids.dims[0], ids.dims[1]}, ids.data},
          {"token_type_ids", LOOM_I32, tt.rank, {tt.dims[0], tt.dims[1]}, tt.data}};
      loom_tensor out = {0};
      CHECK_MSG(loom_output_shapes(m, in, 2, &out, 1, err, sizeof err) == LOOM_OK,
                "%s", err);
      out.data = malloc(loom_tensor_bytes(&out));
      CHECK(loom_set_threads(2) >= 1);
      CHECK_MSG(loom_run(m, in, 2, &out, 1, err, sizeof err) == LOOM_OK, "%s", err);
      CHECK(loom_set_threads(0) == 2); /* as the caller left it */
      const float *g = out.data, *w = want.data;
      for (size_t i = 0; i < want.count; i++) CHECK_CLOSE(g[i], w[i], 1e-4, 1e-3);
      free(out.data);
      loom_free(m);
    }
  }
  loom_set_threads(start);
  loom_options neg = {.threads = -1};
  loom_model *m = NULL;
  CHECK(loom_load("goldens/bert-relu/model.yaml", &neg, &m, err, sizeof err) ==
        LOOM_ERR_USAGE);
  CHECK_STR_CONTAINS(err, "threads must be 0");
  rt_npy_free(&ids);
  rt_npy_free(&tt);
  rt_npy_free(&want);
  CHECK_DONE();
}
