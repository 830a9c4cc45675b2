/* safetensors.c — the .safetensors reader (see safetensors.h).
 *
 * Layout: an 8-byte little-endian u64 N, N bytes of JSON header, then the
 * data buffer.  The header maps each tensor name to
 *     {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}
 * (offsets relative to the data buffer) plus an optional "__metadata__" map
 * of strings.
 *
 * The JSON is parsed with libyaml (JSON is, for these headers, YAML 1.1 flow
 * syntax), which loom already links for its model files; the structure is
 * then checked by hand.  libyaml accepts far more than JSON, so a lexical
 * pass first admits only JSON tokens (strings, numbers, true/false/null,
 * punctuation) and at most 16 levels of nesting — libyaml's time grows faster
 * than quadratically with depth, so a hostile header could otherwise stall
 * the compiler.  We also insist that the header starts with '{', that keys
 * and metadata values are strings, that shape and offsets are unquoted
 * integers, and that nothing follows the object.  One libyaml limit remains:
 * a key longer than 1024 bytes is a parse error (no real tensor name comes
 * close).
 *
 * Validation happens once, at open: every offset is checked against the file
 * size, every byte span against numel * itemsize, names are unique, tensors
 * do not overlap.  After that, StTensor.data is safe to read for nbytes.  The
 * mapping is MAP_PRIVATE and read-only; if another process truncates the file
 * while it is mapped, reads fault (SIGBUS) — the usual mmap caveat.
 */
#include "safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

/* safetensors (the reference implementation) refuses headers over 100 MB. */
#define ST_MAX_HEADER (100u * 1000 * 1000)
#define ST_MAX_DEPTH 16 /* see json_prescan */

static const struct {
  const char *name;
  size_t size;
} st_dtypes[] = {
    [ST_F32] = {"F32", 4},   [ST_F16] = {"F16", 2}, [ST_BF16] = {"BF16", 2},
    [ST_F64] = {"F64", 8},   [ST_I64] = {"I64", 8}, [ST_I32] = {"I32", 4},
    [ST_I16] = {"I16", 2},   [ST_I8] = {"I8", 1},   [ST_U8] = {"U8", 1},
    [ST_BOOL] = {"BOOL", 1},
};
#define ST_NDTYPES ((int)(sizeof st_dtypes / sizeof st_dtypes[0]))

const char *fe_st_dtype_name(StDType t) {
  return (int)t >= 0 && (int)t < ST_NDTYPES ? st_dtypes[t].name : "?";
}

size_t fe_st_dtype_size(StDType t) {
  return (int)t >= 0 && (int)t < ST_NDTYPES ? st_dtypes[t].size : 0;
}

int64_t fe_st_numel(const StTensor *t) {
  int64_t n = 1;
  for (int i = 0; i < t->rank; i++) n *= t->shape[i];
  return n;
}

void fe_st_close(StFile *f) {
  if (!f) return;
  for (int i = 0; i < f->n; i++) free(f->tensors[i].name);
  free(f->tensors);
  if (f->map) munmap(f->map, f->size);
  free(f->path);
  memset(f, 0, sizeof *f);
}

/* ---- header ------------------------------------------------------------- */

typedef struct {
  yaml_document_t *doc;
  const char *path;
  Diag *d;
  size_t data_size; /* bytes after the header */
  const unsigned char *data;
} Ctx;

static const char *scalar(yaml_node_t *n) {
  return (const char *)n->data.scalar.value;
}

static int is_scalar(yaml_node_t *n, const char *s) {
  return n && n->type == YAML_SCALAR_NODE &&
         n->data.scalar.length == strlen(s) &&
         memcmp(n->data.scalar.value, s, n->data.scalar.length) == 0;
}

/* A JSON string (YAML double-quoted scalar). */
static int is_string(yaml_node_t *n) {
  return n && n->type == YAML_SCALAR_NODE &&
         n->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
}

/* A JSON integer: a plain (unquoted) scalar of decimal digits, with an
 * optional '-'.  Returns 0 and sets *neg and *v, or -1 when it is not one
 * (including overflow of u64). */
static int parse_uint(yaml_node_t *n, int *neg, uint64_t *v) {
  if (!n || n->type != YAML_SCALAR_NODE ||
      n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
    return -1;
  const char *s = scalar(n);
  size_t len = n->data.scalar.length, i = 0;
  *neg = 0;
  *v = 0;
  if (i < len && s[i] == '-') {
    *neg = 1;
    i++;
  }
  if (i == len) return -1;
  for (; i < len; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    unsigned dg = (unsigned)(s[i] - '0');
    if (*v > (UINT64_MAX - dg) / 10) return -1;
    *v = *v * 10 + dg;
  }
  return 0;
}

/* "[5,6]" for messages. */
static void fmt_shape(char *buf, size_t cap, const StTensor *t) {
  size_t k = 0;
  buf[k++] = '[';
  for (int i = 0; i < t->rank && k + 24 < cap; i++)
    k += (size_t)snprintf(buf + k, cap - k, i ? ",%lld" : "%lld",
                          (long long)t->shape[i]);
  snprintf(buf + k, cap - k, "]");
}

static int parse_dtype(Ctx *c, const char *name, yaml_node_t *v, StDType *out) {
  if (!v || v->type != YAML_SCALAR_NODE)
    return ir_file_errorf(c->d, c->path, "tensor '%s': dtype is not a string",
                          name);
  for (int i = 0; i < ST_NDTYPES; i++)
    if (is_scalar(v, st_dtypes[i].name)) {
      *out = (StDType)i;
      return 0;
    }
  return ir_file_errorf(
      c->d, c->path,
      "tensor '%s': unsupported dtype '%.*s' (expected F32, "
      "F16, BF16, F64, I64, I32, I16, I8, U8 or BOOL)",
      name, (int)(v->data.scalar.length > 32 ? 32 : v->data.scalar.length),
      scalar(v));
}

static int parse_shape(Ctx *c, const char *name, yaml_node_t *v, StTensor *t) {
  if (!v || v->type != YAML_SEQUENCE_NODE)
    return ir_file_errorf(c->d, c->path,
                          "tensor '%s': shape is not a list of integers", name);
  yaml_node_item_t *it = v->data.sequence.items.start;
  int rank = (int)(v->data.sequence.items.top - it);
  if (rank > 8)
    return ir_file_errorf(c->d, c->path, "tensor '%s': rank %d is more than 8",
                          name, rank);
  t->rank = rank;
  for (int i = 0; i < rank; i++) {
    int neg;
    uint64_t x;
    if (parse_uint(yaml_document_get_node(c->doc, it[i]), &neg, &x))
      return ir_file_errorf(
          c->d, c->path, "tensor '%s': shape is not a list of integers", name);
    if (neg && x)
      return ir_file_errorf(c->d, c->path,
                            "tensor '%s': negative dimension -%llu in shape",
                            name, (unsigned long long)x);
    if (x > (uint64_t)INT64_MAX)
      return ir_file_errorf(c->d, c->path,
                            "tensor '%s': dimension %llu is "
                            "too large",
                            name, (unsigned long long)x);
    t->shape[i] = (int64_t)x;
  }
  return 0;
}

static int parse_offsets(Ctx *c, const char *name, yaml_node_t *v,
                         uint64_t off[2]) {
  int ok = v && v->type == YAML_SEQUENCE_NODE &&
           v->data.sequence.items.top - v->data.sequence.items.start == 2;
  for (int i = 0; ok && i < 2; i++) {
    int neg;
    ok = parse_uint(
             yaml_document_get_node(c->doc, v->data.sequence.items.start[i]),
             &neg, &off[i]) == 0 &&
         !(neg && off[i]);
  }
  if (!ok)
    return ir_file_errorf(c->d, c->path,
                          "tensor '%s': data_offsets is not a "
                          "list of two non-negative integers",
                          name);
  return 0;
}

/* One "name": {...} entry. */
static int parse_tensor(Ctx *c, yaml_node_t *key, yaml_node_t *val,
                        StTensor *t) {
  size_t klen = key->data.scalar.length;
  if (memchr(scalar(key), 0, klen))
    return ir_file_errorf(c->d, c->path, "tensor name contains a NUL byte");
  t->name = malloc(klen + 1);
  if (!t->name) return ir_file_errorf(c->d, c->path, "out of memory");
  memcpy(t->name, scalar(key), klen + 1);
  const char *name = t->name;
  if (!val || val->type != YAML_MAPPING_NODE)
    return ir_file_errorf(c->d, c->path, "tensor '%s': entry is not an object",
                          name);

  yaml_node_t *dtype = NULL, *shape = NULL, *offs = NULL;
  for (yaml_node_pair_t *p = val->data.mapping.pairs.start;
       p < val->data.mapping.pairs.top; p++) {
    yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
    yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
    yaml_node_t **slot = is_scalar(k, "dtype")          ? &dtype
                         : is_scalar(k, "shape")        ? &shape
                         : is_scalar(k, "data_offsets") ? &offs
                                                        : NULL;
    if (!slot) continue; /* unknown keys are ignored, as safetensors does */
    if (*slot)
      return ir_file_errorf(c->d, c->path, "tensor '%s': duplicate key '%s'",
                            name, scalar(k));
    *slot = v;
  }
  const char *missing = !dtype   ? "dtype"
                        : !shape ? "shape"
                        : !offs  ? "data_offsets"
                                 : NULL;
  if (missing)
    return ir_file_errorf(c->d, c->path, "tensor '%s': missing '%s'", name,
                          missing);
  uint64_t off[2];
  if (parse_dtype(c, name, dtype, &t->dtype) ||
      parse_shape(c, name, shape, t) || parse_offsets(c, name, offs, off))
    return -1;

  if (off[1] < off[0])
    return ir_file_errorf(c->d, c->path,
                          "tensor '%s': data_offsets [%llu, "
                          "%llu] has end before begin",
                          name, (unsigned long long)off[0],
                          (unsigned long long)off[1]);
  if (off[1] > c->data_size)
    return ir_file_errorf(c->d, c->path,
                          "tensor '%s': data_offsets [%llu, "
                          "%llu] out of range (the data buffer is %zu bytes)",
                          name, (unsigned long long)off[0],
                          (unsigned long long)off[1], c->data_size);
  /* numel * itemsize without overflow; a zero dim makes everything fit. */
  uint64_t need = fe_st_dtype_size(t->dtype);
  int big = 0;
  for (int i = 0; i < t->rank; i++) {
    uint64_t dim = (uint64_t)t->shape[i];
    if (dim == 0) {
      need = 0;
      big = 0;
      break;
    }
    if (need > UINT64_MAX / dim)
      big = 1;
    else
      need *= dim;
  }
  char sh[256];
  fmt_shape(sh, sizeof sh, t);
  if (big || need > (uint64_t)INT64_MAX)
    return ir_file_errorf(c->d, c->path, "tensor '%s': shape %s is too large",
                          name, sh);
  if (off[1] - off[0] != need)
    return ir_file_errorf(c->d, c->path,
                          "tensor '%s': data_offsets span %llu "
                          "bytes but %s %s needs %llu",
                          name, (unsigned long long)(off[1] - off[0]),
                          fe_st_dtype_name(t->dtype), sh,
                          (unsigned long long)need);
  t->data = c->data + off[0];
  t->nbytes = (size_t)need;
  return 0;
}

static int check_metadata(Ctx *c, yaml_node_t *v) {
  int ok = v && v->type == YAML_MAPPING_NODE;
  for (yaml_node_pair_t *p = ok ? v->data.mapping.pairs.start : NULL;
       ok && p < v->data.mapping.pairs.top; p++) {
    yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
    yaml_node_t *x = yaml_document_get_node(c->doc, p->value);
    ok = is_string(k) && is_string(x);
  }
  if (!ok)
    return ir_file_errorf(c->d, c->path,
                          "'__metadata__' is not a map of strings");
  return 0;
}

static int cmp_name(const void *a, const void *b) {
  return strcmp(((const StTensor *)a)->name, ((const StTensor *)b)->name);
}

static int cmp_data(const void *a, const void *b) {
  const StTensor *x = *(const StTensor *const *)a;
  const StTensor *y = *(const StTensor *const *)b;
  const char *px = x->data, *py = y->data;
  return px < py ? -1 : px > py ? 1 : strcmp(x->name, y->name);
}

/* Names unique, byte ranges disjoint; sorts f->tensors by name. */
static int check_tensors(Ctx *c, StFile *f) {
  if (f->n == 0) return 0;
  qsort(f->tensors, (size_t)f->n, sizeof *f->tensors, cmp_name);
  for (int i = 1; i < f->n; i++)
    if (strcmp(f->tensors[i - 1].name, f->tensors[i].name) == 0)
      return ir_file_errorf(c->d, c->path, "duplicate tensor name '%s'",
                            f->tensors[i].name);
  const StTensor **by = malloc((size_t)f->n * sizeof *by);
  if (!by) return ir_file_errorf(c->d, c->path, "out of memory");
  int m = 0;
  for (int i = 0; i < f->n; i++)
    if (f->tensors[i].nbytes) by[m++] = &f->tensors[i];
  qsort(by, (size_t)m, sizeof *by, cmp_data);
  int rc = 0;
  for (int i = 1; i < m && !rc; i++) {
    const char *prev_end = (const char *)by[i - 1]->data + by[i - 1]->nbytes;
    if ((const char *)by[i]->data < prev_end)
      rc = ir_file_errorf(c->d, c->path,
                          "tensors '%s' and '%s' overlap in "
                          "the data buffer",
                          by[i - 1]->name, by[i]->name);
  }
  free(by);
  return rc;
}

/* A lexical pass before libyaml: outside strings only JSON may appear
 * (punctuation, numbers, true/false/null), and nesting is limited.  This
 * keeps YAML-only syntax (anchors, tags, single quotes, comments) out, and
 * bounds libyaml's work: its time grows faster than quadratically with
 * nesting depth, and a real header nests 3 levels (object, tensor, shape).
 * Returns 0, or -1 with a message in msg. */
static int json_prescan(const unsigned char *s, size_t n, char *msg,
                        size_t cap) {
  int depth = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = s[i];
    if (c == '"') {
      for (i++; i < n && s[i] != '"'; i++)
        if (s[i] == '\\') i++;
      if (i >= n) {
        snprintf(msg, cap, "unterminated string");
        return -1;
      }
    } else if (c == '[' || c == '{') {
      if (++depth > ST_MAX_DEPTH) {
        snprintf(msg, cap, "nested more than %d levels deep", ST_MAX_DEPTH);
        return -1;
      }
    } else if (c == ']' || c == '}') {
      if (--depth < 0) {
        snprintf(msg, cap, "unexpected '%c' at header byte %zu", c, i);
        return -1;
      }
    } else if (c == 'e' && i > 0 &&
               ((s[i - 1] >= '0' && s[i - 1] <= '9') || s[i - 1] == '.')) {
      continue; /* the exponent of a number: 1e-3 */
    } else if (c >= 'a' && c <= 'z') {
      size_t j = i;
      while (j < n && s[j] >= 'a' && s[j] <= 'z') j++;
      size_t len = j - i;
      const char *w = (const char *)s + i;
      if (!(len == 4 && (!memcmp(w, "true", 4) || !memcmp(w, "null", 4))) &&
          !(len == 5 && !memcmp(w, "false", 5))) {
        snprintf(msg, cap, "unexpected '%.*s' at header byte %zu",
                 (int)(len > 16 ? 16 : len), w, i);
        return -1;
      }
      i = j - 1;
    } else if (!strchr(" \t\r\n,:-+.0123456789eE", c) || c == 0) {
      if (c >= 0x20 && c < 0x7f)
        snprintf(msg, cap, "unexpected '%c' at header byte %zu", c, i);
      else
        snprintf(msg, cap, "unexpected byte 0x%02x at header byte %zu", c, i);
      return -1;
    }
  }
  return 0;
}

static int parse_header(StFile *f, const unsigned char *hdr, size_t n,
                        Diag *d) {
  Ctx c = {NULL, f->path, d, f->size - 8 - n, hdr + n};
  size_t i = 0;
  while (i < n &&
         (hdr[i] == ' ' || hdr[i] == '\t' || hdr[i] == '\n' || hdr[i] == '\r'))
    i++;
  if (i == n || hdr[i] != '{')
    return ir_file_errorf(d, f->path, "header is not a JSON object");
  char msg[96];
  if (json_prescan(hdr, n, msg, sizeof msg))
    return ir_file_errorf(d, f->path, "malformed header JSON: %s", msg);

  yaml_parser_t parser;
  yaml_document_t doc, rest;
  if (!yaml_parser_initialize(&parser))
    return ir_file_errorf(d, f->path, "out of memory");
  yaml_parser_set_input_string(&parser, hdr, n);
  if (!yaml_parser_load(&parser, &doc)) {
    /* Reader errors carry a byte offset; the others a character index,
     * which we turn back into bytes by counting UTF-8 lead bytes. */
    size_t at = parser.problem_offset;
    if (parser.error != YAML_READER_ERROR) {
      size_t chars = parser.problem_mark.index;
      for (at = 0; at < n && chars; at++)
        if (at + 1 == n || (hdr[at + 1] & 0xc0) != 0x80) chars--;
    }
    ir_file_errorf(d, f->path, "malformed header JSON: %s (at header byte %zu)",
                   parser.problem ? parser.problem : "parse error", at);
    yaml_parser_delete(&parser);
    return -1;
  }
  /* The object must be the whole header: a second load must find nothing. */
  int extra = 0;
  if (!yaml_parser_load(&parser, &rest)) {
    extra = 1;
  } else {
    extra = yaml_document_get_root_node(&rest) != NULL;
    yaml_document_delete(&rest);
  }
  yaml_parser_delete(&parser);
  c.doc = &doc;

  int rc = 0;
  yaml_node_t *root = yaml_document_get_root_node(&doc);
  if (!root || root->type != YAML_MAPPING_NODE) {
    rc = ir_file_errorf(d, f->path, "header is not a JSON object");
  } else if (extra) {
    rc = ir_file_errorf(d, f->path,
                        "malformed header JSON: unexpected text "
                        "after the object");
  } else {
    yaml_node_pair_t *p0 = root->data.mapping.pairs.start;
    int npairs = (int)(root->data.mapping.pairs.top - p0);
    f->tensors = calloc((size_t)(npairs ? npairs : 1), sizeof *f->tensors);
    if (!f->tensors) rc = ir_file_errorf(d, f->path, "out of memory");
    int have_meta = 0;
    for (int k = 0; k < npairs && !rc; k++) {
      yaml_node_t *key = yaml_document_get_node(&doc, p0[k].key);
      yaml_node_t *val = yaml_document_get_node(&doc, p0[k].value);
      if (!is_string(key)) {
        rc = ir_file_errorf(d, f->path, "header key is not a string");
      } else if (is_scalar(key, "__metadata__")) {
        if (have_meta++)
          rc = ir_file_errorf(d, f->path, "duplicate '__metadata__'");
        else
          rc = check_metadata(&c, val);
      } else {
        /* count the entry first so fe_st_close frees its name on failure */
        rc = parse_tensor(&c, key, val, &f->tensors[f->n++]);
      }
    }
    if (!rc) rc = check_tensors(&c, f);
  }
  yaml_document_delete(&doc);
  return rc;
}

/* ---- open / find / convert ------------------------------------------------
 */

int fe_st_open(const char *path, StFile *f, Diag *d) {
  memset(f, 0, sizeof *f);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return ir_file_errorf(d, path, "cannot open: %s", strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return ir_file_errorf(d, path, "cannot stat: %s", strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return ir_file_errorf(d, path, "not a regular file");
  }
  size_t size = (size_t)st.st_size;
  if (size == 0) {
    close(fd);
    return ir_file_errorf(d, path, "empty file (not a safetensors file)");
  }
  if (size < 8) {
    close(fd);
    return ir_file_errorf(d, path,
                          "file is %zu bytes, too short for a "
                          "safetensors header",
                          size);
  }
  void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
  int e = errno;
  close(fd);
  if (map == MAP_FAILED)
    return ir_file_errorf(d, path, "cannot map: %s", strerror(e));
  f->map = map;
  f->size = size;
  f->path = strdup(path);
  if (!f->path) {
    fe_st_close(f);
    return ir_file_errorf(d, path, "out of memory");
  }

  const unsigned char *b = map;
  uint64_t n = 0;
  for (int i = 7; i >= 0; i--) n = n << 8 | b[i];
  if (n > size - 8) {
    ir_file_errorf(d, path,
                   "header length %llu exceeds the file size (%zu "
                   "bytes)",
                   (unsigned long long)n, size);
    fe_st_close(f);
    return -1;
  }
  if (n > ST_MAX_HEADER) {
    ir_file_errorf(d, path, "header length %llu is too large (max %u)",
                   (unsigned long long)n, ST_MAX_HEADER);
    fe_st_close(f);
    return -1;
  }
  if (parse_header(f, b + 8, (size_t)n, d)) {
    fe_st_close(f);
    return -1;
  }
  return 0;
}

const StTensor *fe_st_find(const StFile *f, const char *name) {
  if (!f || !name || f->n == 0) return NULL;
  StTensor key;
  memset(&key, 0, sizeof key);
  key.name = (char *)name;
  return bsearch(&key, f->tensors, (size_t)f->n, sizeof *f->tensors, cmp_name);
}

/* IEEE binary16 -> binary32, exactly.  Subnormals are man * 2^-24, which is
 * exact in float; inf and nan keep their payload bits. */
static float f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu, bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | man << 13;
  } else if (exp) {
    bits = sign | (exp + 112) << 23 | man << 13;
  } else {
    float v = (float)man * 0x1p-24f;
    memcpy(&bits, &v, 4);
    bits |= sign;
  }
  float out;
  memcpy(&out, &bits, 4);
  return out;
}

static float bf16_to_f32(uint16_t h) {
  uint32_t bits = (uint32_t)h << 16;
  float out;
  memcpy(&out, &bits, 4);
  return out;
}

int fe_st_to_f32(const StFile *f, const StTensor *t, float *dst, Diag *d) {
  if (!f || !t || !f->map)
    return ir_file_errorf(d, f && f->path ? f->path : NULL,
                          "no open safetensors file");
  const char *p = t->data;
  uintptr_t lo = (uintptr_t)f->map, at = (uintptr_t)p;
  if (at < lo || at - lo > f->size || t->nbytes > f->size - (at - lo))
    return ir_file_errorf(d, f->path,
                          "tensor '%s' does not belong to this "
                          "file",
                          t->name ? t->name : "?");
  size_t n = (size_t)fe_st_numel(t);
  if (n && !dst)
    return ir_file_errorf(d, f->path, "tensor '%s': no destination buffer",
                          t->name);
  switch (t->dtype) {
    case ST_F32:
      if (n) memcpy(dst, p, n * 4);
      break;
    case ST_F16:
    case ST_BF16:
      for (size_t i = 0; i < n; i++) {
        uint16_t h = (uint16_t)((unsigned char)p[2 * i] |
                                (unsigned char)p[2 * i + 1] << 8);
        dst[i] = t->dtype == ST_F16 ? f16_to_f32(h) : bf16_to_f32(h);
      }
      break;
    case ST_F64:
      for (size_t i = 0; i < n; i++) {
        double v;
        memcpy(&v, p + 8 * i, 8);
        dst[i] = (float)v;
      }
      break;
    case ST_I64:
      for (size_t i = 0; i < n; i++) {
        int64_t v;
        memcpy(&v, p + 8 * i, 8);
        dst[i] = (float)v;
      }
      break;
    case ST_I32:
      for (size_t i = 0; i < n; i++) {
        int32_t v;
        memcpy(&v, p + 4 * i, 4);
        dst[i] = (float)v;
      }
      break;
    case ST_I16:
      for (size_t i = 0; i < n; i++) {
        int16_t v;
        memcpy(&v, p + 2 * i, 2);
        dst[i] = (float)v;
      }
      break;
    case ST_I8:
      for (size_t i = 0; i < n; i++) dst[i] = (float)(signed char)p[i];
      break;
    case ST_U8:
      for (size_t i = 0; i < n; i++) dst[i] = (float)(unsigned char)p[i];
      break;
    case ST_BOOL:
      for (size_t i = 0; i < n; i++) dst[i] = p[i] ? 1.0f : 0.0f;
      break;
    default:
      return ir_file_errorf(d, f->path, "tensor '%s': unknown dtype %d",
                            t->name, (int)t->dtype);
  }
  return 0;
}
