/* api.c — the public C API (include/loom.h) over the frontend and the
 * backends (api/backend.h).
 *
 * Inputs are matched to the graph's input nodes by name, so callers need
 * not know their order; the symbolic dimensions are bound from the shapes
 * given, optional inputs left out become zeros, and the backend runs on the
 * caller's buffers.  Errors are copied into the caller's buffer and never
 * printed.
 */
#include "loom.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "api/backend.h"
#include "api/prep_cache.h"
#include "codegen/c/c_cc.h"
#include "codegen/cpu.h"
#include "codegen/kpass/tile.h"
#include "frontend/frontend.h"
#include "passes/pass.h"
#include "runtime/parallel.h"

struct loom_model {
  FeModel *fe;
  const Backend *be;
  BackendModel *bm;
  uint32_t *inputs; /* value ids of input nodes, in node order */
  uint32_t n_inputs;
  int threads; /* loom_options.threads: 0 = OMP_NUM_THREADS or every core */
  bool profile;
};

static loom_status fail(char *err, size_t errlen, loom_status st,
                        const char *msg) {
  if (err && errlen) snprintf(err, errlen, "%s", msg);
  return st;
}

static loom_status fail_diag(char *err, size_t errlen, const Diag *d) {
  return fail(err, errlen, LOOM_ERR_MODEL, d->msg);
}

const char *loom_version(void) { return LOOM_VERSION; }

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* PassCtx.done_reading: pages of the checkpoint the passes have read (a
 * weight packed) are dropped from this process's memory — they stay in
 * the page cache, and a later read faults them back in. */
static void drop_checkpoint_pages(void *arg, const void *p, size_t n) {
  const FeModel *m = arg;
  uintptr_t lo = (uintptr_t)p, hi = lo + n, page = 4096;
  uintptr_t map = (uintptr_t)m->st.map, end = map + m->st.size;
  if (!m->st_open || lo < map || hi > end) return;
  lo = (lo + page - 1) & ~(page - 1);
  hi &= ~(page - 1);
  if (hi > lo) madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

int api_prepare(const char *path, const PrepareOptions *o, Target *t,
                FeModel **fe, Diag *d) {
  *fe = NULL;
  if (cg_target(o->target, t)) {
    ir_errorf(d, (Loc){0}, "unknown target '%s' (available: %s)", o->target,
              cg_target_names);
    return LOOM_ERR_USAGE;
  }
  if (o->l1 || o->l2 || o->l3) {
    if (o->l1 < 0 || o->l2 < 0 || o->l3 < 0) {
      ir_errorf(d, (Loc){0}, "cache sizes must not be negative");
      return LOOM_ERR_USAGE;
    }
    cg_tile_set_caches(t, o->l1, o->l2, o->l3);
  }
  if (pass_check_list(o->passes, d) || pass_check_list(o->disable, d))
    return LOOM_ERR_USAGE;
  double t0 = now_ms();
  /* With the prepared-model cache the graph is built first without its
   * weights: it is part of the key, and a hit needs nothing else. */
  FeOptions fo = {.weights = o->weights, .graph = o->graph,
                  .max_len = o->max_len, .no_weights = o->cache != NULL,
                  .max_batch = o->max_batch};
  FeModel *m = fe_load(path, &fo, d);
  if (!m) return LOOM_ERR_MODEL;
  PipelineOptions pl = {.passes = o->passes, .disable = o->disable};
  PassCtx pc = {.target = t, .dtype = m->dtype};
  if (o->dtype) {
    int dt = ir_dtype_lookup(o->dtype);
    if (dt != DT_F32 && dt != DT_BF16) {
      fe_model_free(m);
      ir_errorf(d, (Loc){0}, "unknown dtype '%s' (f32, bf16)", o->dtype);
      return LOOM_ERR_USAGE;
    }
    pc.dtype = (DType)dt;
  }
  char entry[PATH_MAX + 256];
  bool cached = o->cache && api_prep_entry(m, o, t, pc.dtype, o->cache, entry,
                                           sizeof entry) == 0;
  double t1 = now_ms();
  if (cached && api_prep_load(m, entry, true, t, pc.dtype)) {
    if (o->log)
      fprintf(o->log, "parse_ms=%.1f\nweights_ms=0.0\npasses_ms=0.0\n"
                      "prep_ms=%.1f\nprep.cache=hit\nprep.entry=%s\n",
              t1 - t0, now_ms() - t1, entry);
    *fe = m;
    return 0;
  }
  if (o->cache && fe_bind_data(m, d)) {
    fe_model_free(m);
    return LOOM_ERR_MODEL;
  }
  double t2 = now_ms();
  if (cached) pc.done_reading = drop_checkpoint_pages, pc.done_arg = m;
  if (pass_run_pipeline(m->g, &pl, &pc, d)) {
    fe_model_free(m);
    return LOOM_ERR_MODEL;
  }
  double t3 = now_ms();
  /* Written, then mapped in place of the graph the passes made: its
   * packed copies and the checkpoint's pages are released. */
  bool saved = cached && api_prep_save(m, o->cache, entry) == 0 &&
               api_prep_load(m, entry, false, t, pc.dtype);
  if (o->log) {
    fprintf(o->log, "parse_ms=%.1f\nweights_ms=%.1f\npasses_ms=%.1f\n",
            t1 - t0, t2 - t1, t3 - t2);
    if (cached)
      fprintf(o->log, "prep_write_ms=%.1f\nprep.cache=%s\nprep.entry=%s\n",
              now_ms() - t3, saved ? "miss" : "unwritten", entry);
  }
  *fe = m;
  return 0;
}

loom_status loom_load(const char *path, const loom_options *opts,
                      loom_model **out, char *err, size_t errlen) {
  if (!path || !out) return fail(err, errlen, LOOM_ERR_USAGE, "error: loom_load: NULL argument");
  *out = NULL;
  if (opts && opts->threads < 0)
    return fail(err, errlen, LOOM_ERR_USAGE,
                "error: loom_load: threads must be 0 (the default) or more");
  const char *bname = opts && opts->backend ? opts->backend : "ref";
  const Backend *be = loom_backend(bname);
  if (!be) {
    char msg[256];
    if (strcmp(bname, "jit") == 0)
      snprintf(msg, sizeof msg, "error: the jit backend needs LLVM, and this "
                                "libloom was built without it (available: %s)",
               loom_backend_names());
    else
      snprintf(msg, sizeof msg, "error: unknown backend '%s' (available: %s)",
               bname, loom_backend_names());
    return fail(err, errlen, LOOM_ERR_USAGE, msg);
  }
  Diag d = {0};
  PrepareOptions po = {opts ? opts->target : NULL, opts ? opts->weights : NULL,
                       opts ? opts->passes : NULL, opts ? opts->disable : NULL,
                       opts ? opts->log : NULL, 0, opts ? opts->max_len : 0,
                       opts ? opts->l1 : 0, opts ? opts->l2 : 0,
                       opts ? opts->l3 : 0, opts ? opts->dtype : NULL, NULL,
                       opts ? opts->max_batch : 0};
  if (opts && opts->graph) {
    int gk = fe_graph_lookup(opts->graph);
    if (gk < 0) {
      char msg[256];
      snprintf(msg, sizeof msg, "error: unknown graph '%s' (forward, prefill, "
                                "decode, encode)", opts->graph);
      return fail(err, errlen, LOOM_ERR_USAGE, msg);
    }
    po.graph = gk;
  }
  /* The backends that compile keep the prepared model in their cache
   * directory (the reference interpreter has nothing to gain). */
  char cache[PATH_MAX];
  if ((be == &loom_backend_c || strcmp(be->name, "jit") == 0) &&
      cg_cache_dir(opts ? opts->cache : NULL, cache, sizeof cache) == 0)
    po.cache = cache;
  Target target;
  FeModel *fe = NULL;
  int st = api_prepare(path, &po, &target, &fe, &d);
  if (st) return fail(err, errlen, (loom_status)st, d.msg);
  if (opts && opts->profile && !be->profile) {
    fe_model_free(fe);
    char msg[256];
    snprintf(msg, sizeof msg, "error: the %s backend cannot time its kernels "
                              "(profiling needs the jit backend)", be->name);
    return fail(err, errlen, LOOM_ERR_USAGE, msg);
  }
  BackendOptions bo = {&target, opts ? opts->cache : NULL, opts ? opts->log : NULL,
                       opts && opts->profile};
  BackendModel *bm = NULL;
  if (be->compile(fe, &bo, &bm, &d)) {
    fe_model_free(fe);
    return fail_diag(err, errlen, &d);
  }
  loom_model *m = calloc(1, sizeof *m);
  IR_ASSERT(m);
  m->fe = fe;
  m->be = be;
  m->bm = bm;
  m->threads = opts ? opts->threads : 0;
  m->profile = opts && opts->profile;
  m->n_inputs = ir_inputs(fe->g, NULL, 0);
  m->inputs = calloc(m->n_inputs ? m->n_inputs : 1, sizeof *m->inputs);
  IR_ASSERT(m->inputs);
  ir_inputs(fe->g, m->inputs, m->n_inputs);
  *out = m;
  return LOOM_OK;
}

int loom_profile(const loom_model *m, loom_kernel_time *out, int cap,
                 char *err, size_t errlen) {
  if (!m || (cap && !out)) {
    fail(err, errlen, LOOM_ERR_USAGE, "error: loom_profile: NULL argument");
    return -1;
  }
  if (!m->profile) {
    fail(err, errlen, LOOM_ERR_USAGE,
         "error: loom_profile: the model was not loaded with profile set");
    return -1;
  }
  return m->be->profile(m->bm, out, cap);
}

void loom_free(loom_model *m) {
  if (!m) return;
  if (m->bm) m->be->release(m->bm);
  fe_model_free(m->fe);
  free(m->inputs);
  free(m);
}

const char *loom_name(const loom_model *m) { return m->fe->g->name; }
const FeModel *api_model_fe(const loom_model *m) { return m->fe; }
int loom_num_inputs(const loom_model *m) { return (int)m->n_inputs; }
int loom_num_outputs(const loom_model *m) { return (int)m->fe->g->n_outputs; }

static void fill_info(const Graph *g, uint32_t v, loom_info *out) {
  const Value *val = &g->values[v];
  memset(out, 0, sizeof *out);
  out->name = val->name;
  out->dtype = val->dtype == DT_I32 ? LOOM_I32 : LOOM_F32;
  out->rank = val->shape.rank;
  for (int i = 0; i < val->shape.rank; i++) {
    Dim d = val->shape.d[i];
    out->dims[i] = d.sym < 0 ? d.c : d.c * g->syms[d.sym].bound;
    out->dim_names[i] = d.sym < 0 ? NULL : g->syms[d.sym].name;
  }
}

loom_status loom_input_info(const loom_model *m, int i, loom_info *out) {
  if (!m || !out || i < 0 || (uint32_t)i >= m->n_inputs) return LOOM_ERR_USAGE;
  fill_info(m->fe->g, m->inputs[i], out);
  return LOOM_OK;
}

loom_status loom_output_info(const loom_model *m, int i, loom_info *out) {
  if (!m || !out || i < 0 || (uint32_t)i >= m->fe->g->n_outputs)
    return LOOM_ERR_USAGE;
  fill_info(m->fe->g, m->fe->g->outputs[i], out);
  return LOOM_OK;
}

size_t loom_tensor_bytes(const loom_tensor *t) {
  size_t n = 4;
  for (int i = 0; i < t->rank; i++) n *= (size_t)t->dims[i];
  return n;
}

/* Put the caller's named inputs into input-node order as Tensors. */
static loom_status order_inputs(loom_model *m, const loom_tensor *inputs,
                                int n_inputs, Tensor *ordered, char *err,
                                size_t errlen) {
  const Graph *g = m->fe->g;
  char msg[512];
  for (uint32_t k = 0; k < m->n_inputs; k++) ordered[k].data = NULL;
  for (int i = 0; i < n_inputs; i++) {
    const loom_tensor *t = &inputs[i];
    uint32_t k = 0;
    while (k < m->n_inputs &&
           !(t->name && strcmp(g->values[m->inputs[k]].name, t->name) == 0))
      k++;
    if (k == m->n_inputs) {
      size_t len = (size_t)snprintf(msg, sizeof msg,
                                    "error: '%s' is not an input of %s "
                                    "(inputs:", t->name ? t->name : "(null)",
                                    g->name);
      for (uint32_t j = 0; j < m->n_inputs && len < sizeof msg; j++)
        len += (size_t)snprintf(msg + len, sizeof msg - len, " %s",
                                g->values[m->inputs[j]].name);
      if (len < sizeof msg) snprintf(msg + len, sizeof msg - len, ")");
      return fail(err, errlen, LOOM_ERR_MODEL, msg);
    }
    if (ordered[k].data) {
      snprintf(msg, sizeof msg, "error: input '%s' is given twice", t->name);
      return fail(err, errlen, LOOM_ERR_MODEL, msg);
    }
    const Value *v = &g->values[m->inputs[k]];
    DType want = v->dtype;
    if ((t->dtype == LOOM_I32) != (want == DT_I32)) {
      snprintf(msg, sizeof msg, "error: input '%s' must be %s, got %s",
               t->name, ir_dtype_name(want),
               t->dtype == LOOM_I32 ? "i32" : "f32");
      return fail(err, errlen, LOOM_ERR_MODEL, msg);
    }
    if (t->rank < 0 || t->rank > IR_MAX_RANK)
      return fail(err, errlen, LOOM_ERR_USAGE, "error: bad rank");
    ordered[k].dtype = want;
    ordered[k].rank = t->rank;
    memcpy(ordered[k].dims, t->dims, sizeof(int64_t) * (size_t)t->rank);
    /* Fewer dims than the input: leading 1s (ids [S] for [B, S] is B = 1). */
    int lead = v->shape.rank - t->rank;
    if (lead > 0) {
      memmove(ordered[k].dims + lead, ordered[k].dims, sizeof(int64_t) * (size_t)t->rank);
      for (int j = 0; j < lead; j++) ordered[k].dims[j] = 1;
      ordered[k].rank = v->shape.rank;
    }
    /* A non-NULL placeholder marks "given" for shape-only queries (zeros:
     * a position input {binds = P} reads as P = 0). */
    static const int64_t placeholder[1];
    ordered[k].data = t->data ? t->data : (void *)placeholder;
  }
  for (uint32_t k = 0; k < m->n_inputs; k++) {
    if (ordered[k].data) continue;
    const Value *v = &g->values[m->inputs[k]];
    if (ir_get_int(g, &g->nodes[v->node], "optional")) {
      /* Left out: the interpreter reads zeros of the declared shape. */
      ordered[k].dtype = v->dtype;
      ordered[k].rank = v->shape.rank;
      continue;
    }
    snprintf(msg, sizeof msg, "error: input '%s' is missing", v->name);
    return fail(err, errlen, LOOM_ERR_MODEL, msg);
  }
  return LOOM_OK;
}

loom_status loom_output_shapes(loom_model *m, const loom_tensor *inputs,
                               int n_inputs, loom_tensor *outputs,
                               int n_outputs, char *err, size_t errlen) {
  if (!m || (n_inputs && !inputs) || (n_outputs && !outputs))
    return fail(err, errlen, LOOM_ERR_USAGE, "error: NULL argument");
  const Graph *g = m->fe->g;
  if ((uint32_t)n_outputs != g->n_outputs) {
    char msg[128];
    snprintf(msg, sizeof msg, "error: the model has %u outputs, got %d",
             g->n_outputs, n_outputs);
    return fail(err, errlen, LOOM_ERR_USAGE, msg);
  }
  Tensor ordered[m->n_inputs ? m->n_inputs : 1];
  loom_status st = order_inputs(m, inputs, n_inputs, ordered, err, errlen);
  if (st) return st;
  int64_t binding[g->n_syms ? g->n_syms : 1];
  Diag d = {0};
  if (ir_bind_inputs(g, ordered, (int)m->n_inputs, binding, &d))
    return fail_diag(err, errlen, &d);
  for (int i = 0; i < n_outputs; i++) {
    const Value *v = &g->values[g->outputs[i]];
    outputs[i].name = v->name;
    outputs[i].dtype = v->dtype == DT_I32 ? LOOM_I32 : LOOM_F32;
    outputs[i].rank = v->shape.rank;
    ir_shape_eval(&v->shape, binding, outputs[i].dims);
  }
  return LOOM_OK;
}

loom_status loom_run(loom_model *m, const loom_tensor *inputs, int n_inputs,
                     loom_tensor *outputs, int n_outputs, char *err,
                     size_t errlen) {
  if (!m || (n_inputs && !inputs) || (n_outputs && !outputs))
    return fail(err, errlen, LOOM_ERR_USAGE, "error: NULL argument");
  const Graph *g = m->fe->g;
  char msg[512];
  if ((uint32_t)n_outputs != g->n_outputs) {
    snprintf(msg, sizeof msg, "error: the model has %u outputs, got %d",
             g->n_outputs, n_outputs);
    return fail(err, errlen, LOOM_ERR_USAGE, msg);
  }
  for (int i = 0; i < n_inputs; i++)
    if (!inputs[i].data) {
      snprintf(msg, sizeof msg, "error: input '%s' has no data",
               inputs[i].name ? inputs[i].name : "(null)");
      return fail(err, errlen, LOOM_ERR_USAGE, msg);
    }
  Tensor ordered[m->n_inputs ? m->n_inputs : 1];
  loom_status st = order_inputs(m, inputs, n_inputs, ordered, err, errlen);
  if (st) return st;
  /* Check the caller's output buffers before doing the work. */
  loom_tensor want[g->n_outputs ? g->n_outputs : 1];
  st = loom_output_shapes(m, inputs, n_inputs, want, n_outputs, err, errlen);
  if (st) return st;
  for (int i = 0; i < n_outputs; i++) {
    loom_tensor *o = &outputs[i];
    if (o->name && strcmp(o->name, want[i].name) != 0) {
      snprintf(msg, sizeof msg, "error: output %d is '%s', not '%s'", i,
               want[i].name, o->name);
      return fail(err, errlen, LOOM_ERR_USAGE, msg);
    }
    if (!o->data) {
      snprintf(msg, sizeof msg, "error: output '%s' has no buffer",
               want[i].name);
      return fail(err, errlen, LOOM_ERR_USAGE, msg);
    }
  }
  /* Optional inputs left out: zeros of their bound shape. */
  int64_t binding[g->n_syms ? g->n_syms : 1];
  Diag d = {0};
  if (ir_bind_inputs(g, ordered, (int)m->n_inputs, binding, &d) ||
      ir_check_ids(g, ordered, binding, &d))
    return fail_diag(err, errlen, &d);
  void *zeros[m->n_inputs ? m->n_inputs : 1];
  for (uint32_t k = 0; k < m->n_inputs; k++) {
    zeros[k] = NULL;
    if (ordered[k].data) continue;
    const Value *v = &g->values[m->inputs[k]];
    int64_t n = ir_shape_eval(&v->shape, binding, ordered[k].dims);
    zeros[k] = ordered[k].data = calloc((size_t)(n ? n : 1), ir_dtype_size(v->dtype));
    IR_ASSERT(zeros[k]);
    ir_fill_input(g, &g->nodes[v->node], zeros[k], n);
  }
  void *outs[g->n_outputs ? g->n_outputs : 1];
  for (int i = 0; i < n_outputs; i++) outs[i] = outputs[i].data;
  /* --threads: for this run, on this thread, then as it was */
  int threads_before = m->threads > 0 ? loom_set_threads(m->threads) : 0;
  int rc = m->be->run(m->bm, ordered, binding, outs, &d);
  if (m->threads > 0) loom_set_threads(threads_before);
  for (uint32_t k = 0; k < m->n_inputs; k++) free(zeros[k]);
  if (rc) return fail_diag(err, errlen, &d);
  for (int i = 0; i < n_outputs; i++) {
    loom_tensor *o = &outputs[i];
    o->name = want[i].name;
    o->dtype = want[i].dtype;
    o->rank = want[i].rank;
    memcpy(o->dims, want[i].dims, sizeof o->dims);
  }
  return LOOM_OK;
}
