/* backend_jit.c — the "jit" backend: the Program's kernels compiled in
 * process by LLVM's ORC LLJIT.
 *
 * compile: lower the graph to a Program (codegen/program.c), print its
 * unique kernels as one LLVM module (codegen/llvm/llvm_emit.c: O3 for the
 * target CPU), generate its machine code with the same O3 target machine
 * into an object file in memory, hand that to an LLJIT, which links it
 * into the process, and look up one thunk per kernel.  The object file is
 * cached ($XDG_CACHE_HOME/loom/NAME-KEY.o, beside the c backend's shared
 * objects) under a hash of what the machine code depends on — the
 * unoptimized module's text (with the CPU and its features), the pipeline
 * and the LLVM version — so a model loads again without O3 and code
 * generation: the module is built (a few milliseconds), hashed, and the
 * cached object linked.  Entries are sealed and checked (codegen/cache.h):
 * a damaged one is compiled again.  The weights are not in it: one object serves any
 * weights of the same shapes.  The activation arena (p->arena_bytes,
 * 64-byte aligned) is allocated here, once.
 *
 * run: walk the steps; each fills an array of 8-byte argument slots — the
 * caller's input and output buffers, the weights' bound data in place, the
 * arena at the planned offsets, the symbols' values — and calls the
 * kernel's thunk.  A kernel's non-zero code (a gather id or slice end out
 * of range) becomes an error at the node's source location.
 *
 * All LLVM calls are codegen/llvm/llvm_emit.c's: this file has no LLVM types.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/backend.h"
#include "codegen/cpu.h"
#include "codegen/c/c_cc.h"
#include "codegen/c/c_emit.h"
#include "codegen/cache.h"
#include "codegen/llvm/llvm_emit.h"
#include "codegen/program.h"

typedef int32_t (*Thunk)(uint64_t *args);

struct BackendModel {
  const Graph *g;
  Program *p;
  CgJit *jit;
  Thunk *thunk;       /* per kernel */
  unsigned char *arena;
  /* profile: per step, summed over runs */
  double *ms, *flop, *bytes;
  long long *calls;
};

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void jit_release(BackendModel *bm) {
  if (!bm) return;
  cg_jit_free(bm->jit);
  cg_program_free(bm->p);
  free(bm->thunk);
  free(bm->arena);
  free(bm->ms);
  free(bm->flop);
  free(bm->bytes);
  free(bm->calls);
  free(bm);
}

/* The cache directory: o->cache, $XDG_CACHE_HOME/loom or ~/.cache/loom
 * (the c backend's). */
static int cache_dir(const BackendOptions *o, char *buf, size_t cap) {
  return cg_cache_dir(o ? o->cache : NULL, buf, cap);
}

/* Whether this CPU runs code built for t: the JIT runs what it compiles. */
static bool host_runs(const Target *t) {
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  Target host;
  if ((t->features & ~(cg_target(NULL, &host) ? 0u : host.features)) != 0)
    return false; /* bf16 / AMX instructions this CPU lacks */
  if (strncmp(t->name, "x86-64-v4", 9) == 0) return __builtin_cpu_supports("x86-64-v4");
  if (strncmp(t->name, "x86-64-v3", 9) == 0) return __builtin_cpu_supports("x86-64-v3");
  if (strncmp(t->name, "x86-64-v2", 9) == 0) return __builtin_cpu_supports("x86-64-v2");
#endif
  (void)t;
  return true;
}

static int jit_compile(const FeModel *m, const BackendOptions *o,
                       BackendModel **out, Diag *d) {
  const Target *t = o->target;
  if (!t->native && !host_runs(t))
    return ir_errorf(d, (Loc){0}, "the jit backend cannot run code for target %s "
                                  "on this CPU (use emit-obj or build for it)",
                     t->name);
  FILE *log = o ? o->log : NULL;
  double t0 = now_ms();
  BackendModel *bm = calloc(1, sizeof *bm);
  IR_ASSERT(bm);
  bm->g = m->g;
  bm->p = cg_program_vec(m->g, t, d);
  if (!bm->p) {
    jit_release(bm);
    return -1;
  }
  Program *p = bm->p;
  double t1 = now_ms();

  /* Machine code: from the cache, or LLVM (then cached). */
  char dir[PATH_MAX], path[PATH_MAX + 200], name[128];
  cg_c_name(m->g->name, name, sizeof name);
  CgLlvmOptions lo = {.name = m->g->name, .unoptimized = true};
  CgLlvm *c = cg_llvm_build(p, &lo, d);
  if (!c) {
    jit_release(bm);
    return -1;
  }
  bool cached = cache_dir(o, dir, sizeof dir) == 0;
  snprintf(path, sizeof path, "%s/%s-%016" PRIx64 ".o", dir, name, cg_llvm_key(c));
  size_t n = 0;
  if (cached) cg_cache_clean(dir); /* what killed runs left */
  char *obj = cached ? cg_cache_read(path, &n) : NULL; /* checked */
  bool hit = obj != NULL;
  double t_key = now_ms(), ir_ms = 0, o3_ms = 0;
  if (!hit) {
    if (cg_llvm_optimize(c, d) || cg_llvm_obj_bytes(c, &obj, &n, d)) {
      cg_llvm_free(c);
      jit_release(bm);
      return -1;
    }
    if (cached) cg_cache_write(dir, path, obj, n); /* failing is no error */
  }
  cg_llvm_times(c, &ir_ms, &o3_ms);
  cg_llvm_free(c);
  double t2 = now_ms();

  /* LLJIT links the object; the lookups resolve its symbols. */
  bm->jit = cg_jit_load(obj, n, d);
  free(obj);
  if (!bm->jit) {
    jit_release(bm);
    return -1;
  }
  bm->thunk = calloc(p->n_kernels ? p->n_kernels : 1, sizeof *bm->thunk);
  IR_ASSERT(bm->thunk);
  for (uint32_t i = 0; i < p->n_kernels; i++) {
    char sym[160];
    cg_llvm_thunk_name(p, i, sym, sizeof sym);
    void *fn = cg_jit_lookup(bm->jit, sym, d);
    if (!fn) {
      jit_release(bm);
      return -1;
    }
    bm->thunk[i] = (Thunk)(uintptr_t)fn;
  }
  double t3 = now_ms();

  if (o->profile) {
    size_t ns = p->n_steps ? p->n_steps : 1;
    bm->ms = calloc(ns, sizeof *bm->ms);
    bm->flop = calloc(ns, sizeof *bm->flop);
    bm->bytes = calloc(ns, sizeof *bm->bytes);
    bm->calls = calloc(ns, sizeof *bm->calls);
    IR_ASSERT(bm->ms && bm->flop && bm->bytes && bm->calls);
  }
  size_t arena = (size_t)(p->arena_bytes + 63) / 64 * 64;
  bm->arena = aligned_alloc(64, arena ? arena : 64);
  if (!bm->arena) {
    jit_release(bm);
    return ir_errorf(d, (Loc){0}, "out of memory for the %lld-byte activation arena",
                     (long long)p->arena_bytes);
  }
  if (log)
    fprintf(log,
            "lower_ms=%.1f\ncodegen_ms=%.1f\nllvm_ir_ms=%.1f\nllvm_key_ms=%.1f\n"
            "llvm_o3_ms=%.1f\nllvm_mc_ms=%.1f\njit_ms=%.1f\njit.cache=%s\n"
            "jit.object=%s\nkernels=%u\nsteps=%u\npeak_activation_bytes=%lld\n",
            t1 - t0, t2 - t1, ir_ms, t_key - t1 - ir_ms, o3_ms,
            hit ? 0.0 : t2 - t_key - o3_ms,
            t3 - t2, hit ? "hit" : "miss", path, p->n_kernels, p->n_steps,
            (long long)p->arena_bytes);
  *out = bm;
  return 0;
}

static const char *vname(const Graph *g, uint32_t v, char *buf, size_t cap) {
  if (g->values[v].name) return g->values[v].name;
  snprintf(buf, cap, "%%%u", v);
  return buf;
}

/* A kernel's code as the interpreter words the same error. */
static int kernel_error(const BackendModel *bm, const PStep *s, int code,
                        const int64_t *binding, Diag *d) {
  const Graph *g = bm->g;
  const Node *n = &g->nodes[s->node];
  const char *op = ir_op_info(n->op)->name;
  char b0[32], b1[32];
  if (code == K_ERR_GATHER_RANGE && n->nin == 2) {
    const Value *table = &g->values[n->in[0]];
    return ir_errorf(d, n->loc,
                     "%s: an id in '%s' is out of range for table '%s' with %lld rows",
                     op, vname(g, n->in[1], b1, sizeof b1), vname(g, n->in[0], b0, sizeof b0),
                     (long long)ir_dim_value(table->shape.d[0], binding));
  }
  if (code == K_ERR_SLICE_RANGE && n->op == OP_WRITE_ROWS) {
    const Shape *st = &g->values[n->in[0]].shape;
    int64_t axis = ir_get_int(g, n, "axis");
    if (axis < 0) axis += st->rank;
    int64_t at = ir_dim_value(ir_get_dim(g, n, "at"), binding);
    int64_t rows = ir_dim_value(g->values[n->in[1]].shape.d[axis], binding);
    return ir_errorf(d, n->loc, "%s: rows [%lld:%lld] do not fit axis %lld of length %lld",
                     op, (long long)at, (long long)(at + rows), (long long)axis,
                     (long long)ir_dim_value(st->d[axis], binding));
  }
  if (code == K_ERR_SLICE_RANGE && n->nin >= 1) {
    const Shape *sx = &g->values[n->in[0]].shape;
    int64_t axis = ir_get_int(g, n, "axis");
    if (axis < 0) axis += sx->rank;
    const Attr *end = ir_get_attr(n, "end"), *ln = ir_get_attr(n, "len");
    int64_t len = ir_dim_value(sx->d[axis], binding);
    int64_t start = ir_dim_value(ir_get_dim(g, n, "start"), binding);
    return ir_errorf(d, n->loc, "%s: [%lld:%lld] does not fit axis %lld of length %lld",
                     op, (long long)start,
                     (long long)(ln->set    ? start + ir_dim_value(ln->dim, binding)
                                 : end->set ? ir_dim_value(end->dim, binding)
                                            : len),
                     (long long)axis, (long long)len);
  }
  return ir_errorf(d, n->loc, "%s: the kernel failed with code %d", op, code);
}

static void *value_ptr(const BackendModel *bm, uint32_t v, const Tensor *inputs,
                       void *const *outputs) {
  const PStore *st = &bm->p->store[v];
  switch (st->kind) {
  case PS_INPUT: return inputs[st->index].data;
  case PS_OUTPUT: return outputs[st->index];
  case PS_WEIGHT: return (void *)bm->g->values[bm->p->weights[st->index]].data;
  case PS_ARENA: return bm->arena + st->offset;
  }
  IR_ASSERT(!"storage kind");
  return NULL;
}

static void step_work(const BackendModel *bm, const PStep *s,
                      const int64_t *binding, double *flop, double *bytes);

static int jit_run(BackendModel *bm, const Tensor *inputs, const int64_t *binding,
                   void *const *outputs, Diag *d) {
  const Program *p = bm->p;
  uint64_t args[K_MAX_PARAMS];
  for (uint32_t i = 0; i < p->n_steps; i++) {
    const PStep *s = &p->steps[i];
    IR_ASSERT(s->n_args <= K_MAX_PARAMS);
    for (uint32_t a = 0; a < s->n_args; a++)
      args[a] = s->args[a].kind == KB_SYM
                    ? (uint64_t)binding[s->args[a].id]
                    : (uint64_t)(uintptr_t)value_ptr(bm, s->args[a].id, inputs, outputs);
    double t0 = bm->ms ? now_ms() : 0;
    int rc = bm->thunk[s->kernel](args);
    if (bm->ms) {
      bm->ms[i] += now_ms() - t0;
      bm->calls[i]++;
      step_work(bm, s, binding, &bm->flop[i], &bm->bytes[i]);
    }
    if (rc) return kernel_error(bm, s, rc, binding, d);
  }
  return 0;
}

/* ---- profile ---------------------------------------------------------------- */

/* The work of one call of step s at these symbol values (loom.h's
 * loom_kernel_time says what is counted), added to *flop and *bytes. */
static void step_work(const BackendModel *bm, const PStep *s,
                      const int64_t *binding, double *flop, double *bytes) {
  const Graph *g = bm->g;
  const Node *n = &g->nodes[s->node];
  int64_t dims[IR_MAX_RANK];
  for (uint32_t a = 0; a < s->n_args; a++) {
    KBind b = s->args[a];
    if (b.kind != KB_VALUE || b.id >= g->n_values) continue; /* symbols, scratch */
    if (n->op == OP_GATHER && b.id == n->in[0]) continue; /* only the rows read:
                                                            as many as written */
    const Value *v = &g->values[b.id];
    *bytes += (double)ir_shape_eval(&v->shape, binding, dims) * (double)ir_dtype_size(v->dtype);
  }
  if (n->op == OP_GATHER) {
    const Value *v = &g->values[n->out[0]];
    *bytes += (double)ir_shape_eval(&v->shape, binding, dims) * (double)ir_dtype_size(v->dtype);
  }
  if (n->op == OP_MATMUL) {
    const Shape *sa = &g->values[n->in[0]].shape;
    int64_t out = ir_shape_eval(&g->values[n->out[0]].shape, binding, dims);
    int64_t K = ir_dim_value(sa->d[sa->rank - (ir_get_int(g, n, "transpose_a") ? 2 : 1)], binding);
    *flop += 2.0 * (double)out * (double)K;
  } else if (n->op == OP_ATTENTION) {
    /* per head: 2·Sq·Sk·D for the scores, 2·Sq·Sk·Dv for the output */
    const Shape *sq = &g->values[n->in[0]].shape, *sk = &g->values[n->in[1]].shape;
    int64_t q = ir_shape_eval(sq, binding, dims);
    int64_t o = ir_shape_eval(&g->values[n->out[0]].shape, binding, dims);
    bool shd = strcmp(ir_get_str(g, n, "order"), "shd") == 0;
    int64_t Sq = ir_dim_value(sq->d[sq->rank - (shd ? 3 : 2)], binding);
    int64_t Sk = ir_dim_value(sk->d[sk->rank - (shd ? 3 : 2)], binding);
    if (Sq > 0) *flop += 2.0 * (double)Sk * (double)(q + o);
  }
}

static int cmp_time(const void *a, const void *b) {
  double x = ((const loom_kernel_time *)a)->ms, y = ((const loom_kernel_time *)b)->ms;
  return (x < y) - (x > y);
}

static int jit_profile(BackendModel *bm, loom_kernel_time *out, int cap) {
  const Program *p = bm->p;
  loom_kernel_time *k = calloc(p->n_kernels ? p->n_kernels : 1, sizeof *k);
  IR_ASSERT(k);
  for (uint32_t i = 0; i < p->n_kernels; i++) {
    k[i].kernel = p->kernels[i].name;
    k[i].what = p->kernels[i].vec->comment;
  }
  for (uint32_t i = 0; i < p->n_steps; i++) {
    loom_kernel_time *t = &k[p->steps[i].kernel];
    t->calls += bm->calls[i];
    t->ms += bm->ms[i];
    t->flop += bm->flop[i];
    t->bytes += bm->bytes[i];
  }
  qsort(k, p->n_kernels, sizeof *k, cmp_time);
  for (int i = 0; i < cap && i < (int)p->n_kernels; i++) out[i] = k[i];
  free(k);
  return (int)p->n_kernels;
}

const Backend loom_backend_jit = {
    "jit", "kernels compiled in process by LLVM (ORC JIT, O3, the host CPU)",
    jit_compile, jit_run, jit_release, jit_profile};
