/* ir_data.c — the data of a graph in IR text: FILE.ir.safetensors.
 *
 * IR text carries shapes, not numbers.  A graph after the passes holds data
 * of its own — constants that fold-constants computed and that layout
 * packed into panels — besides the weights it was loaded with (from a
 * checkpoint, or random), so `loom opt M.yaml -o m.ir` writes, beside
 * m.ir, m.ir.safetensors with every weight's and every constant's data,
 * each under its value's name:
 *
 *   weight  its shape, F32 (or I32)
 *   const   its bytes as stored in its layout: [ceil(N/P), K, P] for a
 *           [K, N] constant in panels of P (zero-padded), else its shape
 *
 * Loading m.ir (fe_load) reads the sidecar when it is there: weights
 * through fe_bind_weights as from any safetensors file (unless --weights
 * names another), constants here, each checked against the size its
 * layout takes.  A constant with no data is an error located at its line
 * in the IR text.
 */
#include "frontend/frontend.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool has_data_node(const Node *n) {
  return !n->dead && (n->op == OP_WEIGHT || n->op == OP_CONST);
}

/* The stored shape of a value's data (see the top of this file). */
static int stored_shape(const Graph *g, const Value *v, int64_t *shape) {
  const Node *n = &g->nodes[v->node];
  if (n->op == OP_CONST) {
    int P = ir_layout_panel(ir_get_str(g, n, "layout"));
    if (P > 0) {
      int64_t K = v->shape.d[0].c, N = v->shape.d[1].c;
      shape[0] = (N + P - 1) / P, shape[1] = K, shape[2] = P;
      return 3;
    }
  }
  for (int i = 0; i < v->shape.rank; i++) shape[i] = v->shape.d[i].c;
  return v->shape.rank;
}

void fe_ir_data_path(const char *ir_path, char *buf, size_t cap) {
  snprintf(buf, cap, "%s.safetensors", ir_path);
}

/* A JSON string's characters (names are the IR's: printable ASCII, but
 * escape what JSON requires all the same). */
static void json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      fprintf(f, "\\%c", c);
    else if (c < 0x20)
      fprintf(f, "\\u%04x", c);
    else
      fputc(c, f);
  }
  fputc('"', f);
}

int fe_save_ir_data(const Graph *g, const char *ir_path, Diag *d) {
  char path[4096], tmp[4200];
  fe_ir_data_path(ir_path, path, sizeof path);
  size_t n = 0;
  for (uint32_t i = 0; i < g->n_nodes; i++) n += has_data_node(&g->nodes[i]);
  if (!n) { /* nothing to carry: no sidecar (an old one would mislead) */
    if (unlink(path) && errno != ENOENT)
      return ir_file_errorf(d, path, "cannot remove: %s", strerror(errno));
    return 0;
  }
  /* The header: names in node order, data 64-byte aligned. */
  char *hdr = NULL;
  size_t hlen = 0;
  FILE *h = open_memstream(&hdr, &hlen);
  IR_ASSERT(h);
  fputs("{\"__metadata__\":{\"format\":\"loom-ir\"}", h);
  uint64_t off = 0;
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    const Node *nd = &g->nodes[i];
    if (!has_data_node(nd)) continue;
    const Value *v = &g->values[nd->out[0]];
    if (!v->data)
      return fclose(h), free(hdr),
             ir_errorf(d, nd->loc, "%s '%s' has no data to write",
                       ir_op_info(nd->op)->name, v->name ? v->name : "?");
    int64_t shape[IR_MAX_RANK + 1];
    int rank = stored_shape(g, v, shape);
    uint64_t bytes = ir_dtype_size(v->dtype);
    for (int k = 0; k < rank; k++) bytes *= (uint64_t)shape[k];
    fputc(',', h);
    json_str(h, v->name);
    fprintf(h, ":{\"dtype\":\"%s\",\"shape\":[", v->dtype == DT_I32 ? "I32" : "F32");
    for (int k = 0; k < rank; k++) fprintf(h, "%s%" PRId64, k ? "," : "", shape[k]);
    fprintf(h, "],\"data_offsets\":[%" PRIu64 ",%" PRIu64 "]}", off, off + bytes);
    off = (off + bytes + 63) & ~(uint64_t)63;
  }
  fputc('}', h);
  IR_ASSERT(fclose(h) == 0);
  /* pad the header with blanks so that the data starts 64-byte aligned */
  size_t padded = ((8 + hlen + 63) & ~(size_t)63) - 8;
  snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
  FILE *f = fopen(tmp, "wb");
  if (!f) {
    free(hdr);
    return ir_file_errorf(d, path, "cannot write: %s", strerror(errno));
  }
  uint64_t le = padded;
  unsigned char len8[8];
  for (int k = 0; k < 8; k++) len8[k] = (unsigned char)(le >> (8 * k));
  bool ok = fwrite(len8, 1, 8, f) == 8 && fwrite(hdr, 1, hlen, f) == hlen;
  for (size_t k = hlen; ok && k < padded; k++) ok = fputc(' ', f) != EOF;
  free(hdr);
  static const unsigned char zeros[64] = {0};
  off = 0;
  for (uint32_t i = 0; ok && i < g->n_nodes; i++) {
    const Node *nd = &g->nodes[i];
    if (!has_data_node(nd)) continue;
    const Value *v = &g->values[nd->out[0]];
    int64_t shape[IR_MAX_RANK + 1];
    int rank = stored_shape(g, v, shape);
    uint64_t bytes = ir_dtype_size(v->dtype);
    for (int k = 0; k < rank; k++) bytes *= (uint64_t)shape[k];
    ok = fwrite(v->data, 1, bytes, f) == bytes;
    uint64_t pad = ((bytes + 63) & ~(uint64_t)63) - bytes;
    if (ok && pad) ok = fwrite(zeros, 1, pad, f) == pad;
  }
  int e = errno;
  if (fclose(f)) ok = false, e = errno;
  if (!ok || rename(tmp, path)) {
    if (ok) e = errno;
    unlink(tmp);
    return ir_file_errorf(d, path, "cannot write: %s", strerror(e));
  }
  return 0;
}

int fe_bind_ir_consts(FeModel *m, Diag *d) {
  Graph *g = m->g;
  char path[4096];
  fe_ir_data_path(m->path, path, sizeof path);
  /* the weights' file when it is the sidecar (already mapped), else ours */
  bool shared = m->st_open && strcmp(m->weights_path, path) == 0;
  bool opened = shared;
  StFile own, *st = shared ? &m->st : &own;
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    const Node *n = &g->nodes[i];
    if (n->dead || n->op != OP_CONST) continue;
    Value *v = &g->values[n->out[0]];
    if (v->data) continue;
    if (!opened) {
      if (access(path, R_OK))
        return ir_errorf(d, n->loc, "const '%s' has no data: IR text carries "
                                    "none, and there is no '%s' (loom opt -o "
                                    "FILE.ir writes it beside FILE.ir)",
                         v->name, path);
      if (fe_st_open(path, &own, d)) return -1;
      opened = true;
    }
    const StTensor *t = fe_st_find(st, v->name);
    int64_t shape[IR_MAX_RANK + 1];
    int rank = stored_shape(g, v, shape);
    bool fits = t && t->rank == rank &&
                t->dtype == (v->dtype == DT_I32 ? ST_I32 : ST_F32);
    for (int k = 0; fits && k < rank; k++) fits = t->shape[k] == shape[k];
    if (!fits) {
      if (!shared) fe_st_close(&own);
      return ir_errorf(d, n->loc, "const '%s' has no data of its stored "
                                  "shape in '%s'%s",
                       v->name, path, t ? " (a tensor of that name has "
                                          "another shape or dtype)" : "");
    }
    if (shared && !((uintptr_t)t->data & 63)) {
      v->data = t->data; /* in place: the model keeps the mapping */
      continue;
    }
    void *data = ir_alloc(g->arena, t->nbytes ? t->nbytes : 1);
    memcpy(data, t->data, t->nbytes); /* ours is closed below */
    v->data = data;
  }
  if (opened && !shared) fe_st_close(&own);
  return 0;
}
