/* backend.c — the table of backends, and the reference backend: the
 * interpreter of ir/interp.c behind the Backend interface. */
#include "api/backend.h"

#include <string.h>

static const Backend *const backends[] = {
    &loom_backend_ref,
    &loom_backend_c,
#ifdef LOOM_HAVE_LLVM
    &loom_backend_jit,
#endif
};

const Backend *loom_backend(const char *name) {
  for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
    if (strcmp(backends[i]->name, name) == 0) return backends[i];
  return NULL;
}

const char *loom_backend_names(void) {
  static char names[128];
  if (!names[0]) {
    size_t len = 0;
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
      len += (size_t)snprintf(names + len, sizeof names - len, "%s%s",
                              i ? ", " : "", backends[i]->name);
  }
  return names;
}

/* ---- ref ------------------------------------------------------------------ */

struct BackendModel {
  const Graph *g;
};

static int ref_compile(const FeModel *m, const BackendOptions *o,
                       BackendModel **out, Diag *d) {
  (void)o;
  (void)d;
  *out = calloc(1, sizeof **out);
  IR_ASSERT(*out);
  (*out)->g = m->g;
  return 0;
}

static int ref_run(BackendModel *bm, const Tensor *inputs,
                   const int64_t *binding, void *const *outputs, Diag *d) {
  const Graph *g = bm->g;
  (void)binding;
  Tensor *res = calloc(g->n_outputs ? g->n_outputs : 1, sizeof *res);
  IR_ASSERT(res);
  int rc = ir_interp(g, inputs, (int)ir_inputs(g, NULL, 0), res, d);
  for (uint32_t i = 0; i < g->n_outputs; i++) {
    if (rc == 0)
      memcpy(outputs[i], res[i].data,
             (size_t)ir_tensor_numel(&res[i]) * ir_dtype_size(res[i].dtype));
    free(res[i].data);
  }
  free(res);
  return rc;
}

static void ref_release(BackendModel *bm) { free(bm); }

const Backend loom_backend_ref = {
    "ref", "the reference interpreter (plain loops; defines every op)",
    ref_compile, ref_run, ref_release, NULL};
