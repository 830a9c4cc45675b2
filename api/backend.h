/* backend.h — how libloom runs a model: backends as vtables.
 *
 * The API layer (api/api.c) owns everything backends share: loading the
 * model, matching named inputs to input nodes, binding symbolic dimensions,
 * checking shapes, zero-filling optional inputs that were left out.  A
 * backend only prepares code for a checked graph and runs it on buffers.
 */
#ifndef LOOM_API_BACKEND_H
#define LOOM_API_BACKEND_H

#include <stdio.h>

#include "frontend/frontend.h"
#include "ir/ir.h"
#include "ir/target.h"
#include "loom.h"

typedef struct {
  const Target *target; /* the compile's target (api_prepare resolved it) */
  const char *cache;   /* compiled-code cache directory, NULL = default */
  FILE *log;           /* timings and notes (key=value lines), or NULL */
  bool profile;        /* time every kernel call (Backend.profile) */
} BackendOptions;

typedef struct BackendModel BackendModel; /* a backend's own state */

typedef struct Backend {
  const char *name;
  const char *summary;
  /* Prepare code for m->g (checked, weights bound). */
  int (*compile)(const FeModel *m, const BackendOptions *o, BackendModel **out,
                 Diag *d);
  /* inputs in input-node order (all present: the API zero-fills optional
   * ones), binding[sym] the symbols' values, outputs[i] the caller's
   * buffer for g->outputs[i] at its concrete shape. */
  int (*run)(BackendModel *bm, const Tensor *inputs, const int64_t *binding,
             void *const *outputs, Diag *d);
  void (*release)(BackendModel *bm);
  /* Per kernel times (loom_profile), or NULL when the backend cannot
   * time kernels; returns the number of kernels. */
  int (*profile)(BackendModel *bm, loom_kernel_time *out, int cap);
} Backend;

/* The backends this libloom was built with, by name; NULL if unknown. */
const Backend *loom_backend(const char *name);
/* "ref, c, jit" */
const char *loom_backend_names(void);

/* The front half of every compile, shared by libloom and the CLI: the
 * target resolved once (the same Target then goes to the passes and to
 * the backend's lowering), the model loaded, the graph passes run for that
 * target.  Returns 0; LOOM_ERR_USAGE for an unknown target or pass list,
 * LOOM_ERR_MODEL for a bad model (the message in d either way).  On
 * success *fe is the model, its graph after the passes. */
typedef struct {
  const char *target;  /* --target name, NULL = native */
  const char *weights; /* a safetensors file replacing the model's own */
  const char *passes, *disable; /* NULL: the default pipeline */
  FILE *log;           /* parse_ms, passes_ms lines, or NULL */
  int graph;           /* FeGraph: which graph of the model */
  int64_t max_len;     /* the KV cache's rows, 0 = the model's max_len */
  int64_t l1, l2, l3;  /* cache sizes for the tile plan; 0: the host's */
  const char *dtype;   /* "f32", "bf16", or NULL: the model's `dtype:` */
  const char *cache;   /* a directory for the prepared-model cache
                          (api/prep_cache.h), or NULL: none */
  int64_t max_batch;   /* the batch dimension's bound, 0 = the model's */
} PrepareOptions;
int api_prepare(const char *path, const PrepareOptions *o, Target *t,
                FeModel **fe, Diag *d);

/* The loaded model behind a loom_model (api/generate.c reads its graph). */
struct loom_model;
const FeModel *api_model_fe(const struct loom_model *m);

extern const Backend loom_backend_ref;
extern const Backend loom_backend_c; /* api/backend_c.c */
extern const Backend loom_backend_jit; /* api/backend_jit.c (with LLVM) */

#endif
