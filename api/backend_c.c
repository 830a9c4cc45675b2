/* backend_c.c — the "c" backend: the model emitted as C, compiled by the
 * system C compiler into a shared object, loaded with dlopen.
 *
 * compile: lower the graph to a Program, print NAME.c and NAME.h
 * (codegen/c/c_emit.c), and look for a shared object built from exactly that
 * text with exactly these compiler flags in the cache — a hash of both
 * names it: $XDG_CACHE_HOME/loom/NAME-HASH.so (default ~/.cache/loom, or
 * BackendOptions.cache).  Only on a miss is the C compiler run: in a fresh
 * directory inside the cache, the result sealed (a trailer with its size
 * and hash, codegen/cache.h) and renamed into place, so concurrent runs
 * never see half a file; an entry damaged since is found by its trailer
 * before dlopen, removed and compiled again.  Then dlopen, and NAME_create_from_memory on
 * a weights image assembled from the graph's bound weights (header + blob,
 * the bytes NAME.weights would have).
 *
 * run: NAME_run on the caller's buffers.  The API layer has already matched
 * inputs, checked shapes and zero-filled optional inputs; the emitted code
 * checks again, cheaply, and turns kernel errors into located messages.
 *
 * The weights are not in the cache: a cached object serves any weights of
 * the same layout.
 */
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/backend.h"
#include "codegen/c/c_cc.h"
#include "codegen/c/c_emit.h"
#include "codegen/cache.h"
#include "codegen/program.h"

/* NAME_tensor of the emitted header (emit_c.c), which mirrors loom_tensor. */
typedef struct {
  const char *name;
  int dtype; /* 0 f32, 1 i32 */
  int rank;
  int64_t dims[8];
  void *data;
} CTensor;

typedef int (*CreateFn)(const void *, size_t, void **, char *, size_t);
typedef int (*RunFn)(void *, const CTensor *, int, CTensor *, int, char *, size_t);
typedef void (*FreeFn)(void *);

struct BackendModel {
  const Graph *g;
  void *so;          /* dlopen handle */
  void *model;       /* NAME_model * */
  unsigned char *image; /* the weights image the model borrows */
  RunFn run;
  FreeFn free_model;
  uint32_t *inputs;  /* input value ids in node order */
  uint32_t n_inputs;
};

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void c_release(BackendModel *bm) {
  if (!bm) return;
  if (bm->model) bm->free_model(bm->model);
  if (bm->so) dlclose(bm->so);
  free(bm->image);
  free(bm->inputs);
  free(bm);
}

/* The cache directory (cg_cache_dir), as a located error. */
static int cache_dir(const BackendOptions *o, char *buf, size_t cap, Diag *d) {
  if (cg_cache_dir(o->cache, buf, cap))
    return ir_errorf(d, (Loc){0}, "cannot create the cache directory '%s': %s",
                     buf, strerror(errno));
  return 0;
}

static int write_file(const char *path, const char *text, Diag *d) {
  FILE *f = fopen(path, "wb");
  if (!f) return ir_errorf(d, (Loc){0}, "cannot write '%s': %s", path, strerror(errno));
  size_t n = strlen(text);
  bool ok = fwrite(text, 1, n, f) == n;
  if (fclose(f)) ok = false;
  if (!ok) return ir_errorf(d, (Loc){0}, "cannot write '%s': %s", path, strerror(errno));
  return 0;
}

/* Compile src/hdr into `so` (a path in `dir`). */
static int build(const char *dir, const char *name, const char *src,
                 const char *hdr, const char *so, const Target *t, Diag *d) {
  char prefix[PATH_MAX], path[PATH_MAX], file[300], out[300];
  snprintf(prefix, sizeof prefix, "%s/.build-%ld-%s", dir, (long)getpid(), name);
  char *tmp = cg_mkdtemp(prefix);
  if (!tmp)
    return ir_errorf(d, (Loc){0}, "cannot create a directory in '%s': %s", dir,
                     strerror(errno));
  int rc = 0;
  snprintf(path, sizeof path, "%s/%s.c", tmp, name);
  rc = write_file(path, src, d);
  snprintf(path, sizeof path, "%s/%s.h", tmp, name);
  if (!rc) rc = write_file(path, hdr, d);
  snprintf(file, sizeof file, "%s.c", name);
  snprintf(out, sizeof out, "%s.so", name);
  const char *srcs[] = {file, NULL};
  if (!rc) rc = cg_cc_compile(tmp, srcs, out, t, true, NULL, d);
  snprintf(path, sizeof path, "%s/%s.so", tmp, name);
  if (!rc && cg_cache_seal(path, so))
    rc = ir_errorf(d, (Loc){0}, "cannot write '%s': %s", so, strerror(errno));
  cg_rmdir_files(tmp);
  free(tmp);
  return rc;
}

static int c_compile(const FeModel *m, const BackendOptions *o,
                     BackendModel **out, Diag *d) {
  const Graph *g = m->g;
  const Target *t = o->target;
  double t0 = now_ms();
  Program *p = cg_program(g, t, d);
  if (!p) return -1;
  char name[128], dir[PATH_MAX], so[PATH_MAX + 200], flags[512];
  cg_c_name(g->name, name, sizeof name);
  char *src = cg_c_source(p, name), *hdr = cg_c_header(p, name);
  cg_cc_key(t, true, flags, sizeof flags);

  /* The cache key: the code and how it is compiled (the compiler runs only
   * on a miss, not even to probe for OpenMP). */
  uint64_t h = cg_hash(CG_HASH_INIT, src, strlen(src) + 1);
  h = cg_hash(h, hdr, strlen(hdr) + 1);
  h = cg_hash(h, flags, strlen(flags) + 1);
  int rc = cache_dir(o, dir, sizeof dir, d);
  snprintf(so, sizeof so, "%s/%s-%016" PRIx64 ".so", dir, name, h);
  if (rc == 0) cg_cache_clean(dir); /* what killed runs left */
  bool hit = rc == 0 && cg_cache_check(so);
  double t1 = now_ms();
  if (rc == 0 && !hit) rc = build(dir, name, src, hdr, so, t, d);
  double t2 = now_ms();
  free(src);
  free(hdr);
  if (o->log)
    fprintf(o->log, "c.emit_ms=%.1f\nc.cache=%s\nc.object=%s\nc.compile_ms=%.1f\n",
            t1 - t0, hit ? "hit" : "miss", so, t2 - t1);

  BackendModel *bm = calloc(1, sizeof *bm);
  IR_ASSERT(bm);
  bm->g = g;
  if (rc == 0) {
    bm->so = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    if (!bm->so) rc = ir_errorf(d, (Loc){0}, "cannot load '%s': %s", so, dlerror());
  }
  CreateFn create = NULL;
  if (rc == 0) {
    char sym[200];
    snprintf(sym, sizeof sym, "%s_create_from_memory", name);
    create = (CreateFn)dlsym(bm->so, sym);
    snprintf(sym, sizeof sym, "%s_run", name);
    bm->run = (RunFn)dlsym(bm->so, sym);
    snprintf(sym, sizeof sym, "%s_free", name);
    bm->free_model = (FreeFn)dlsym(bm->so, sym);
    if (!create || !bm->run || !bm->free_model)
      rc = ir_errorf(d, (Loc){0}, "'%s' lacks the functions of %s.h", so, name);
  }
  /* The weights image: header + blob, 64-byte aligned. */
  if (rc == 0) {
    size_t bytes = CG_WEIGHTS_HEADER + (size_t)p->weight_bytes;
    /* one byte more: glibc's fmemopen keeps the last byte for a NUL */
    if (posix_memalign((void **)&bm->image, 64, bytes + 1)) bm->image = NULL;
    if (!bm->image)
      rc = ir_errorf(d, (Loc){0}, "out of memory for %zu bytes of weights", bytes);
    if (rc == 0) {
      cg_weights_header(p, bm->image);
      if (p->weight_bytes) {
        FILE *f = fmemopen(bm->image + CG_WEIGHTS_HEADER, (size_t)p->weight_bytes + 1, "wb");
        IR_ASSERT(f);
        IR_ASSERT(cg_write_weights(p, f) == 0);
        fclose(f);
      }
      char err[4096];
      if (create(bm->image, bytes, &bm->model, err, sizeof err)) {
        bm->model = NULL;
        rc = ir_error_text(d, err); /* already "error: ..." */
      }
    }
  }
  cg_program_free(p);
  if (rc) {
    c_release(bm);
    return -1;
  }
  bm->n_inputs = ir_inputs(g, NULL, 0);
  bm->inputs = calloc(bm->n_inputs ? bm->n_inputs : 1, sizeof *bm->inputs);
  IR_ASSERT(bm->inputs);
  ir_inputs(g, bm->inputs, bm->n_inputs);
  *out = bm;
  return 0;
}

static int c_run(BackendModel *bm, const Tensor *inputs, const int64_t *binding,
                 void *const *outputs, Diag *d) {
  const Graph *g = bm->g;
  (void)binding;
  CTensor in[bm->n_inputs ? bm->n_inputs : 1];
  CTensor out[g->n_outputs ? g->n_outputs : 1];
  memset(in, 0, sizeof in);
  memset(out, 0, sizeof out);
  for (uint32_t k = 0; k < bm->n_inputs; k++) {
    in[k].name = g->values[bm->inputs[k]].name;
    in[k].dtype = inputs[k].dtype == DT_I32 ? 1 : 0;
    in[k].rank = inputs[k].rank;
    memcpy(in[k].dims, inputs[k].dims, sizeof(int64_t) * (size_t)inputs[k].rank);
    in[k].data = inputs[k].data;
  }
  for (uint32_t i = 0; i < g->n_outputs; i++) out[i].data = outputs[i];
  char err[4096];
  if (bm->run(bm->model, in, (int)bm->n_inputs, out, (int)g->n_outputs, err,
              sizeof err)) {
    return ir_error_text(d, err); /* already "FILE:LINE:COL: error: ..." */
  }
  return 0;
}

const Backend loom_backend_c = {
    "c", "the model as C, compiled by $CC (default cc) into a cached shared object",
    c_compile, c_run, c_release, NULL};
