/* prep_cache.c — the prepared-model cache: a model after the graph
 * passes, packed weights and all, written once and memory-mapped after.
 *
 * Loading BERT-base from a checkpoint spent most of its time before any
 * code was compiled: fold-constants concatenating the Q|K|V weights and
 * layout transposing every matmul weight into panels, 340 MB of new
 * copies beside the 440 MB checkpoint (peak RSS 1.9x the weights).  None
 * of it depends on anything but the model, its weights and the options,
 * so api_prepare stores the result — the graph after the passes as IR
 * text, and every weight's and constant's bytes as the graph holds them —
 * in one file of the cache directory, NAME-KEY.prep:
 *
 *   0     "LOOMPREP", u64 format (1), u64 IR bytes, u64 blobs, u64 flags
 *         (1: plan-memory ran; it runs again on the parsed graph, since the
 *         plan is not in the IR text), u64 table offset, 16 zero bytes
 *   64    the IR text (ir_print)
 *   ...   the table, 8-aligned: per blob u64 node, u64 offset, u64 bytes,
 *         u64 where (0: in this file, 1: in the checkpoint)
 *   ...   the blobs, the first 4096-aligned, each 64-aligned, in node order
 *   end   the trailer of a big cache entry (codegen/cache.h: size and a
 *         block hash of everything before it)
 *
 * A weight the passes left as it is in the checkpoint (embeddings, norms,
 * biases: a fifth of BERT-base) is not copied: its blob is an offset into
 * the checkpoint file, whose identity is in the key.  Only what the passes
 * made is written — every byte written costs, on a machine whose disk
 * takes 150 MB/s, more than making it.
 *
 * A later load with the same key parses the IR text (a few ms), points
 * each weight and constant into the mappings — no copy: the page cache's
 * pages are the weights, counted once in RSS — and skips binding the
 * checkpoint, converting F16/BF16 tensors and the passes.  The mapping is read
 * in whole when it is checked (MAP_POPULATE, then the block hash on every
 * core), so the first run does not fault on it page by page.
 *
 * The key (FNV-1a over a description, codegen/c/c_emit.h's cg_hash) covers
 * everything the prepared graph depends on:
 *   - loom itself: LOOM_VERSION and the identity (device, inode, size,
 *     mtime) of the binary or libloom.so this code is in, so a rebuilt
 *     loom never trusts an entry an older build wrote;
 *   - the model: the graph the frontend built, as IR text (every node,
 *     shape, attribute, name and location), and the bytes of any constant
 *     it carries;
 *   - the weights: for a file (and an .ir model's sidecar) its device,
 *     inode, size, mtime and ctime, in nanoseconds — not its content,
 *     whose hash would cost a read of every byte (≈ 0.1 s for BERT-base)
 *     on every load; a file rewritten in place changes its mtime and
 *     ctime, one replaced changes its inode; for random weights the seed;
 *   - the options: passes, disabled passes, dtype, and the target (name,
 *     CPU, features, cache sizes, the whole tile plan).
 * A damaged entry (short, overwritten, a hash that does not match, IR that
 * does not parse, a blob that does not fit its value) is removed and the
 * model prepared again.
 */
#include "api/prep_cache.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codegen/c/c_cc.h"
#include "codegen/c/c_emit.h"
#include "codegen/cache.h"
#include "passes/pass.h"

#define FORMAT 1
#define HEADER 64
#define FLAG_PLANNED 1u

static void put_u64(unsigned char *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_u64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
  return v;
}

/* A file's identity (see the top); false when it cannot be stat'ed. */
static bool put_identity(FILE *f, const char *what, const char *path) {
  struct stat st;
  if (!path || stat(path, &st)) return false;
  fprintf(f, "%s dev=%ju ino=%ju size=%jd mtime=%jd.%09ld ctime=%jd.%09ld\n",
          what, (uintmax_t)st.st_dev, (uintmax_t)st.st_ino, (intmax_t)st.st_size,
          (intmax_t)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
          (intmax_t)st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
  return true;
}

/* The bytes a weight's or constant's data takes, in its layout. */
static int64_t data_bytes(const Graph *g, const Node *n, const Value *v) {
  return ir_const_bytes(g, v, n->op == OP_CONST ? ir_get_str(g, n, "layout")
                                                : "row_major");
}

static bool has_data(const Graph *g, const Node *n) {
  return !n->dead && (n->op == OP_WEIGHT || n->op == OP_CONST) &&
         g->values[n->out[0]].data;
}

int api_prep_entry(const FeModel *m, const PrepareOptions *o, const Target *t,
                   DType dtype, const char *dir, char *path, size_t cap) {
  char *desc = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&desc, &len);
  IR_ASSERT(f);
  bool ok = true;
  fprintf(f, "loom-prepared %d %s\n", FORMAT, LOOM_VERSION);
  Dl_info info;
  if (dladdr((void *)(uintptr_t)api_prep_entry, &info) && info.dli_fname)
    ok &= put_identity(f, "loom", info.dli_fname);
  else
    ok = false; /* no way to tell this build from another */
  fprintf(f, "passes=%s disable=%s dtype=%s cache_len=%" PRId64 "\n",
          o->passes ? o->passes : "-", o->disable ? o->disable : "-",
          ir_dtype_name(dtype), m->cache_len);
  const TilePlan *pl = &t->plan;
  fprintf(f, "target %s cpu=%s cflags=%s lanes=%d l1=%" PRId64 " l2=%" PRId64
             " l3=%" PRId64 " native=%d features=%u+%s\n",
          t->name, t->cpu ? t->cpu : "-", t->cflags ? t->cflags : "-", t->lanes,
          t->l1d, t->l2, t->l3, t->native, t->features,
          t->features_llvm ? t->features_llvm : "-");
  fprintf(f, "plan %d %d %d %d %d %" PRId64 " %" PRId64 " %" PRId64 " %d %" PRId64
             " %" PRId64 " %d %d %d\n",
          pl->lanes, pl->kn_mr, pl->kn_nv, pl->nk_mr, pl->nk_nc, pl->kc, pl->mc,
          pl->prefetch, pl->panel, pl->att_bq, pl->att_bk, pl->pair, pl->bf_mr,
          pl->bf_nv);
  switch (m->source) {
  case WS_NONE: fputs("weights none\n", f); break;
  case WS_RANDOM: fprintf(f, "weights random seed=%" PRIu64 "\n", m->seed); break;
  case WS_FILE: ok &= put_identity(f, "weights", m->weights_path); break;
  }
  size_t plen = strlen(m->path);
  if (plen > 3 && strcmp(m->path + plen - 3, ".ir") == 0) {
    char sidecar[PATH_MAX];
    fe_ir_data_path(m->path, sidecar, sizeof sidecar);
    if (access(sidecar, F_OK) == 0) ok &= put_identity(f, "sidecar", sidecar);
  }
  char *ir = ir_print(m->g);
  fputs(ir, f);
  free(ir);
  IR_ASSERT(fclose(f) == 0);
  uint64_t h = cg_hash(CG_HASH_INIT, desc, len);
  /* constants the frontend made with data (no weights: not bound yet) */
  const Graph *g = m->g;
  for (uint32_t i = 0; i < g->n_nodes; i++)
    if (has_data(g, &g->nodes[i])) {
      const Value *v = &g->values[g->nodes[i].out[0]];
      h = cg_hash(h, v->data, (size_t)data_bytes(g, &g->nodes[i], v));
    }
  free(desc);
  if (!ok) return -1;
  char name[128];
  cg_c_name(g->name, name, sizeof name);
  int n = snprintf(path, cap, "%s/%s-%016" PRIx64 ".prep", dir, name, h);
  return n > 0 && (size_t)n < cap ? 0 : -1;
}

/* Where the checkpoint holds v's data as it is: its offset in the file,
 * or -1 (data the passes made, converted or random). */
static int64_t in_checkpoint(const FeModel *m, const Value *v, size_t bytes) {
  const char *p = v->data, *map = m->st_open ? m->st.map : NULL;
  if (!map || p < map || p >= map + m->st.size ||
      bytes > (size_t)(map + m->st.size - p))
    return -1;
  return p - map;
}

int api_prep_save(const FeModel *m, const char *dir, const char *path) {
  const Graph *g = m->g;
  char *ir = ir_print(g);
  size_t ir_bytes = strlen(ir);
  uint64_t nb = 0;
  for (uint32_t i = 0; i < g->n_nodes; i++) nb += has_data(g, &g->nodes[i]);
  size_t table_at = (HEADER + ir_bytes + 7) & ~(size_t)7;
  size_t data_at = (table_at + nb * 32 + 4095) & ~(size_t)4095;
  unsigned char hdr[HEADER] = "LOOMPREP";
  put_u64(hdr + 8, FORMAT);
  put_u64(hdr + 16, ir_bytes);
  put_u64(hdr + 24, nb);
  put_u64(hdr + 32, g->mem_offset ? FLAG_PLANNED : 0);
  put_u64(hdr + 40, table_at);
  unsigned char *table = calloc(nb ? nb : 1, 32);
  IR_ASSERT(table);
  size_t off = data_at, k = 0;
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    const Node *n = &g->nodes[i];
    if (!has_data(g, n)) continue;
    size_t bytes = (size_t)data_bytes(g, n, &g->values[n->out[0]]);
    int64_t at = in_checkpoint(m, &g->values[n->out[0]], bytes);
    unsigned char *e = table + 32 * k++;
    put_u64(e, i);
    put_u64(e + 8, at >= 0 ? (uint64_t)at : off);
    put_u64(e + 16, bytes);
    put_u64(e + 24, at >= 0);
    if (at < 0) off = (off + bytes + 63) & ~(size_t)63;
  }
  CgCacheWriter *w = cg_cache_writer(dir);
  bool ok = w && cg_cache_put(w, hdr, HEADER) && cg_cache_put(w, ir, ir_bytes) &&
            cg_cache_pad(w, 8) && cg_cache_put(w, table, nb * 32) &&
            cg_cache_pad(w, 4096);
  free(ir);
  free(table);
  for (uint32_t i = 0; ok && i < g->n_nodes; i++) {
    const Node *n = &g->nodes[i];
    if (!has_data(g, n)) continue;
    const Value *v = &g->values[n->out[0]];
    size_t bytes = (size_t)data_bytes(g, n, v);
    if (in_checkpoint(m, v, bytes) < 0)
      ok = cg_cache_put(w, v->data, bytes) && cg_cache_pad(w, 64);
  }
  if (!ok) {
    cg_cache_abort(w);
    return -1;
  }
  return cg_cache_commit(w, path);
}

/* The graph of a mapped entry of n payload bytes, its data bound into it
 * and into the checkpoint (mapped here when the entry refers to it);
 * NULL when the entry is not one loom wrote. */
static Graph *parse_entry(const unsigned char *p, size_t n, const char *path,
                          const FeModel *m, const Target *t, DType dtype,
                          void **ckpt, size_t *ckpt_bytes) {
  if (n < HEADER || memcmp(p, "LOOMPREP", 8) || get_u64(p + 8) != FORMAT)
    return NULL;
  uint64_t ir_bytes = get_u64(p + 16), nb = get_u64(p + 24);
  uint64_t flags = get_u64(p + 32), table_at = get_u64(p + 40);
  if (ir_bytes > n - HEADER || table_at < HEADER + ir_bytes || table_at > n ||
      nb > (n - table_at) / 32)
    return NULL;
  char *text = malloc(ir_bytes + 1);
  IR_ASSERT(text);
  memcpy(text, p + HEADER, ir_bytes);
  text[ir_bytes] = 0;
  Diag d = {0};
  Graph *g = ir_parse(text, path, &d);
  free(text);
  if (!g) return NULL;
  bool ok = true;
  for (uint64_t k = 0; ok && k < nb; k++) {
    const unsigned char *e = p + table_at + 32 * k, *base = p;
    uint64_t node = get_u64(e), off = get_u64(e + 8), bytes = get_u64(e + 16);
    uint64_t where = get_u64(e + 24);
    size_t size = n;
    if (where == 1 && !*ckpt && m->source == WS_FILE) {
      int fd = open(m->weights_path, O_RDONLY);
      struct stat st;
      if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size > 0) {
        void *c = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (c != MAP_FAILED) *ckpt = c, *ckpt_bytes = (size_t)st.st_size;
      }
      if (fd >= 0) close(fd);
    }
    if (where == 1) base = *ckpt, size = *ckpt_bytes;
    ok = where <= 1 && base && node < g->n_nodes && off % (where ? 4 : 64) == 0 &&
         off <= size && bytes <= size - off;
    const Node *nd = ok ? &g->nodes[node] : NULL;
    ok = ok && (nd->op == OP_WEIGHT || nd->op == OP_CONST);
    Value *v = ok ? &g->values[nd->out[0]] : NULL;
    ok = ok && !v->data && data_bytes(g, nd, v) == (int64_t)bytes;
    if (ok) v->data = base + off;
  }
  PassCtx pc = {.target = t, .dtype = dtype};
  if (ok && (flags & FLAG_PLANNED)) ok = pass_plan_memory(g, &pc, &d) == 0;
  if (ok) ok = ir_verify(g, &d) == 0;
  if (!ok) {
    ir_graph_free(g);
    return NULL;
  }
  return g;
}

int api_prep_load(FeModel *m, const char *path, bool check, const Target *t,
                  DType dtype) {
  size_t n, mapped;
  unsigned char *p = cg_cache_map(path, check, &n, &mapped);
  if (!p) return 0;
  void *ckpt = NULL;
  size_t ckpt_bytes = 0;
  Graph *g = parse_entry(p, n, path, m, t, dtype, &ckpt, &ckpt_bytes);
  if (!g) {
    munmap(p, mapped);
    if (ckpt) munmap(ckpt, ckpt_bytes);
    unlink(path); /* not what it claims to be: prepare it again */
    return 0;
  }
  fe_model_adopt(m, g, p, mapped, ckpt, ckpt_bytes);
  return 1;
}
