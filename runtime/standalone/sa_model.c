/* sa_model.c — the host side of every model loom emits as C: loading the
 * weights, checking the caller's tensors, running the kernels.
 *
 * This is a template, not a file loom compiles: codegen/c/c_emit.c copies it
 * into NAME.c with `NAME_` replaced by the model's C name, after the
 * kernels and the model's tables — which it reads:
 *
 *   model_title              the model's name ("attention-head")
 *   N_IN, N_OUT, N_SYM      counts of inputs, outputs, symbolic dimensions
 *   io_in[], io_out[]       IoSpec: name, dtype, rank, dims (c * symbol, or
 *                           c), optional, shape text ("[S, 64]")
 *   sym_names[], sym_bound[] the symbolic dimensions and their upper bounds
 *   weights_hash, weights_bytes, arena_bytes
 *
 * and it declares forward(), which the emitter writes after it: one kernel
 * call per step, on the weights, the arena, the inputs and the outputs.
 *
 * Weights file (NAME.weights; little-endian):
 *   0   "LOOMWGT1"
 *   8   u64 layout hash: the weights' names, shapes and offsets — a file
 *       made for another model (or another loom layout) is refused
 *   16  u64 bytes of weight data that follow the header
 *   24  u64 number of tensors
 *   32  u64 header bytes (64)
 *   64  the data: each tensor f32 row-major at a 64-byte aligned offset
 * An executable built with `loom build --embed-weights` carries this image
 * after its own bytes, followed by a 32-byte trailer: "LOOMEMB1", u64 offset
 * of the image in the file, u64 length of the image, u64 where the
 * previous image's trailer ends (0: none).  A program that generates
 * carries several images (its generation graphs whose weights differ from
 * the model's), chained so: NAME_create takes the one whose layout hash is
 * its own (the last one when none is; mapped files only — elsewhere the
 * last).  NAME_create accepts either a weights file or such an executable.
 *
 * On POSIX systems the file is memory-mapped (nothing is copied; pages load
 * as the kernels first touch them); elsewhere it is read into memory.
 */
#include <errno.h>
#include <stdarg.h>

static NAME_status forward(const unsigned char *w, unsigned char *a,
                           const void *const *in, void *const *out,
                           const int64_t *sym, char *err, size_t errlen);

struct NAME_model {
  const unsigned char *w; /* the weight data (after the header) */
  unsigned char *arena;   /* arena_bytes, 64-byte aligned, in arena_mem */
  void *arena_mem;
  void *map;              /* the mapped file, or NULL */
  size_t map_bytes;
  void *copy;             /* the weights read into memory, or NULL */
};

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static NAME_status fail(char *err, size_t errlen, NAME_status st,
                        const char *fmt, ...) {
  if (err && errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return st;
}

static const char *dtype_text(NAME_dtype t) { return t == NAME_I32 ? "i32" : "f32"; }

/* ---- weights ------------------------------------------------------------ */

#define HEADER_BYTES 64
#define TRAILER_BYTES 32

static uint64_t get_u64(const unsigned char *p) {
  uint64_t v = 0;
  int i;
  for (i = 7; i >= 0; i--) v = v << 8 | p[i];
  return v;
}

/* Where the weights image (header + data) starts in a file or memory block
 * of `size` bytes whose first bytes are `head` and last 32 `tail`: at 0 (a
 * weights file) or where an embedded-weights trailer says. */
static NAME_status locate(const unsigned char *head, const unsigned char *tail,
                          uint64_t size, const char *what, uint64_t *off,
                          uint64_t *len, char *err, size_t errlen) {
  if (size >= 8 && memcmp(head, "LOOMWGT1", 8) == 0) {
    *off = 0;
    *len = size;
    return NAME_OK;
  }
  if (size >= TRAILER_BYTES && memcmp(tail, "LOOMEMB1", 8) == 0) {
    *off = get_u64(tail + 8);
    *len = get_u64(tail + 16);
    if (*off <= size - TRAILER_BYTES && *len <= size - TRAILER_BYTES - *off)
      return NAME_OK;
    return fail(err, errlen, NAME_ERR_MODEL,
                "%s: error: the embedded-weights trailer points outside the "
                "file", what);
  }
  return fail(err, errlen, NAME_ERR_MODEL,
              "%s: error: not a loom weights file (it starts neither with "
              "LOOMWGT1 nor ends with embedded weights)", what);
}

#if defined(LOOM_HAVE_MMAP)
/* In a file of `size` bytes at `base` that ends with an embedded-weights
 * trailer: the image in its chain whose layout hash is this model's, if
 * any (else *off, *len stay the last one's). */
static void find_embedded(const unsigned char *base, uint64_t size,
                          uint64_t *off, uint64_t *len) {
  uint64_t end = size;
  int hops = 0;
  while (end >= TRAILER_BYTES && end <= size && hops++ < 64 &&
         memcmp(base + end - TRAILER_BYTES, "LOOMEMB1", 8) == 0) {
    const unsigned char *t = base + end - TRAILER_BYTES;
    uint64_t o = get_u64(t + 8), n = get_u64(t + 16), prev = get_u64(t + 24);
    if (o > end - TRAILER_BYTES || n > end - TRAILER_BYTES - o) return;
    if (n >= HEADER_BYTES && memcmp(base + o, "LOOMWGT1", 8) == 0 &&
        get_u64(base + o + 8) == weights_hash) {
      *off = o;
      *len = n;
      return;
    }
    if (prev >= end) return;
    end = prev;
  }
}
#endif

/* The header of an image of `len` bytes. */
static NAME_status check_header(const unsigned char *h, uint64_t len,
                                const char *what, char *err, size_t errlen) {
  if (len < HEADER_BYTES || memcmp(h, "LOOMWGT1", 8) != 0)
    return fail(err, errlen, NAME_ERR_MODEL,
                "%s: error: truncated: the weights header needs %d bytes",
                what, HEADER_BYTES);
  if (get_u64(h + 8) != weights_hash)
    return fail(err, errlen, NAME_ERR_MODEL,
                "%s: error: these weights are for another model (layout "
                "%016llx; %s needs %016llx)",
                what, (unsigned long long)get_u64(h + 8), model_title,
                (unsigned long long)weights_hash);
  if (get_u64(h + 16) != weights_bytes || get_u64(h + 32) != HEADER_BYTES)
    return fail(err, errlen, NAME_ERR_MODEL,
                "%s: error: the header says %llu bytes of weights; %s needs "
                "%llu",
                what, (unsigned long long)get_u64(h + 16), model_title,
                (unsigned long long)weights_bytes);
  if (len - HEADER_BYTES < weights_bytes)
    return fail(err, errlen, NAME_ERR_MODEL,
                "%s: error: truncated: %llu bytes of weights; %s needs %llu",
                what, (unsigned long long)(len - HEADER_BYTES), model_title,
                (unsigned long long)weights_bytes);
  if (len - HEADER_BYTES > weights_bytes)
    return fail(err, errlen, NAME_ERR_MODEL,
                "%s: error: %llu bytes after the header; %s needs %llu",
                what, (unsigned long long)(len - HEADER_BYTES), model_title,
                (unsigned long long)weights_bytes);
  return NAME_OK;
}

/* A model around weight data `w` (the arena is allocated here). */
static NAME_status finish(NAME_model *m, const unsigned char *w,
                          NAME_model **out, char *err, size_t errlen) {
  m->w = w;
  m->arena_mem = malloc((size_t)arena_bytes + 64);
  if (!m->arena_mem) {
    NAME_free(m);
    return fail(err, errlen, NAME_ERR_MODEL,
                "error: out of memory for the %llu-byte activation arena",
                (unsigned long long)arena_bytes);
  }
  m->arena = (unsigned char *)m->arena_mem +
             (64 - (uintptr_t)m->arena_mem % 64) % 64;
  *out = m;
  return NAME_OK;
}

NAME_status NAME_create(const char *path, NAME_model **out, char *err,
                        size_t errlen) {
  NAME_model *m;
  NAME_status st;
  uint64_t size, off = 0, len = 0;
  if (!path || !out) return fail(err, errlen, NAME_ERR_USAGE, "error: NULL argument");
  *out = NULL;
  m = (NAME_model *)calloc(1, sizeof *m);
  if (!m) return fail(err, errlen, NAME_ERR_MODEL, "error: out of memory");
#if defined(LOOM_HAVE_MMAP)
  {
    struct stat sb;
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
      free(m);
      return fail(err, errlen, NAME_ERR_MODEL, "%s: error: cannot open: %s",
                  path, strerror(errno));
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
      close(fd);
      free(m);
      return fail(err, errlen, NAME_ERR_MODEL,
                  "%s: error: not a regular file", path);
    }
    size = (uint64_t)sb.st_size;
    if (size < TRAILER_BYTES) {
      close(fd);
      free(m);
      return fail(err, errlen, NAME_ERR_MODEL,
                  "%s: error: not a loom weights file (%llu bytes)", path,
                  (unsigned long long)size);
    }
    m->map = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m->map == MAP_FAILED) {
      m->map = NULL;
      free(m);
      return fail(err, errlen, NAME_ERR_MODEL, "%s: error: cannot map: %s",
                  path, strerror(errno));
    }
    m->map_bytes = (size_t)size;
  }
  {
    const unsigned char *base = (const unsigned char *)m->map;
    st = locate(base, base + size - TRAILER_BYTES, size, path, &off, &len,
                err, errlen);
    if (st == NAME_OK && off > 0) find_embedded(base, size, &off, &len);
    if (st == NAME_OK) st = check_header(base + off, len, path, err, errlen);
    if (st != NAME_OK) {
      NAME_free(m);
      return st;
    }
    return finish(m, base + off + HEADER_BYTES, out, err, errlen);
  }
#else
  {
    unsigned char head[HEADER_BYTES], tail[TRAILER_BYTES];
    long end;
    FILE *f = fopen(path, "rb");
    if (!f) {
      free(m);
      return fail(err, errlen, NAME_ERR_MODEL, "%s: error: cannot open: %s",
                  path, strerror(errno));
    }
    if (fseek(f, 0, SEEK_END) != 0 || (end = ftell(f)) < TRAILER_BYTES ||
        fseek(f, end - TRAILER_BYTES, SEEK_SET) != 0 ||
        fread(tail, 1, TRAILER_BYTES, f) != TRAILER_BYTES ||
        fseek(f, 0, SEEK_SET) != 0 || fread(head, 1, 8, f) != 8) {
      fclose(f);
      free(m);
      return fail(err, errlen, NAME_ERR_MODEL,
                  "%s: error: not a loom weights file", path);
    }
    size = (uint64_t)end;
    st = locate(head, tail, size, path, &off, &len, err, errlen);
    if (st == NAME_OK && (len < HEADER_BYTES || fseek(f, (long)off, SEEK_SET) != 0 ||
                          fread(head, 1, HEADER_BYTES, f) != HEADER_BYTES))
      len = 0;
    if (st == NAME_OK) st = check_header(head, len, path, err, errlen);
    if (st == NAME_OK) {
      m->copy = malloc((size_t)weights_bytes + 64);
      if (!m->copy)
        st = fail(err, errlen, NAME_ERR_MODEL,
                  "error: out of memory for %llu bytes of weights",
                  (unsigned long long)weights_bytes);
    }
    if (st == NAME_OK) {
      unsigned char *w = (unsigned char *)m->copy + (64 - (uintptr_t)m->copy % 64) % 64;
      if (fread(w, 1, (size_t)weights_bytes, f) != (size_t)weights_bytes)
        st = fail(err, errlen, NAME_ERR_MODEL, "%s: error: cannot read: %s",
                  path, strerror(errno));
      fclose(f);
      if (st != NAME_OK) {
        NAME_free(m);
        return st;
      }
      return finish(m, w, out, err, errlen);
    }
    fclose(f);
    NAME_free(m);
    return st;
  }
#endif
}

NAME_status NAME_create_from_memory(const void *image, size_t bytes,
                                    NAME_model **out, char *err,
                                    size_t errlen) {
  const unsigned char *base = (const unsigned char *)image;
  const unsigned char *w;
  uint64_t off = 0, len = 0;
  NAME_status st;
  NAME_model *m;
  if (!image || !out) return fail(err, errlen, NAME_ERR_USAGE, "error: NULL argument");
  *out = NULL;
  st = locate(base, bytes >= TRAILER_BYTES ? base + bytes - TRAILER_BYTES : base,
              (uint64_t)bytes, "(memory)", &off, &len, err, errlen);
  if (st == NAME_OK) st = check_header(base + off, len, "(memory)", err, errlen);
  if (st != NAME_OK) return st;
  m = (NAME_model *)calloc(1, sizeof *m);
  if (!m) return fail(err, errlen, NAME_ERR_MODEL, "error: out of memory");
  w = base + off + HEADER_BYTES;
  if ((uintptr_t)w % 4 != 0) { /* floats must be aligned: copy */
    unsigned char *c;
    m->copy = malloc((size_t)weights_bytes + 64);
    if (!m->copy) {
      free(m);
      return fail(err, errlen, NAME_ERR_MODEL, "error: out of memory");
    }
    c = (unsigned char *)m->copy + (64 - (uintptr_t)m->copy % 64) % 64;
    memcpy(c, w, (size_t)weights_bytes);
    w = c;
  }
  return finish(m, w, out, err, errlen);
}

void NAME_free(NAME_model *m) {
  if (!m) return;
#if defined(LOOM_HAVE_MMAP)
  if (m->map) munmap(m->map, m->map_bytes);
#endif
  free(m->copy);
  free(m->arena_mem);
  free(m);
}

/* ---- what the model takes and gives ------------------------------------ */

const char *NAME_name(void) { return model_title; }
int NAME_num_inputs(void) { return N_IN; }
int NAME_num_outputs(void) { return N_OUT; }
size_t NAME_weights_bytes(void) { return (size_t)weights_bytes; }
size_t NAME_arena_bytes(void) { return (size_t)arena_bytes; }

static void describe_io(const IoSpec *s, NAME_info *o) {
  int i;
  memset(o, 0, sizeof *o);
  o->name = s->name;
  o->dtype = s->dtype;
  o->rank = s->rank;
  for (i = 0; i < s->rank; i++) {
    o->dims[i] = s->d[i].sym < 0 ? s->d[i].c : s->d[i].c * sym_bound[s->d[i].sym];
    o->dim_names[i] = s->d[i].sym < 0 ? NULL : sym_names[s->d[i].sym];
  }
}

NAME_status NAME_input_info(int i, NAME_info *out) {
  if (i < 0 || i >= N_IN || !out) return NAME_ERR_USAGE;
  describe_io(&io_in[i], out);
  return NAME_OK;
}

NAME_status NAME_output_info(int i, NAME_info *out) {
  if (i < 0 || i >= N_OUT || !out) return NAME_ERR_USAGE;
  describe_io(&io_out[i], out);
  return NAME_OK;
}

size_t NAME_tensor_bytes(const NAME_tensor *t) {
  size_t n = 4;
  int i;
  for (i = 0; i < t->rank; i++) n *= (size_t)t->dims[i];
  return n;
}

static int64_t numel(const IoSpec *s, const int64_t *sym, int64_t *dims) {
  int64_t n = 1;
  int i;
  for (i = 0; i < s->rank; i++) {
    int64_t d = s->d[i].sym < 0 ? s->d[i].c : s->d[i].c * sym[s->d[i].sym];
    if (dims) dims[i] = d;
    n *= d;
  }
  return n;
}

/* Match the caller's tensors to the inputs by name (by_input[k]: the
 * tensor for input k, NULL for an optional one left out), check dtypes and
 * shapes, and bind the symbolic dimensions (sym[s]).  need_data: run, not
 * only a shape query. */
static NAME_status bind(const NAME_tensor *t, int n, int need_data,
                        const NAME_tensor **by_input, int64_t *sym, char *err,
                        size_t errlen) {
  const char *bound_by[N_SYM + 1];
  int i, k, s;
  if (n < 0 || (n && !t)) return fail(err, errlen, NAME_ERR_USAGE, "error: NULL argument");
  for (s = 0; s < N_SYM; s++) sym[s] = 0, bound_by[s] = NULL;
  for (k = 0; k < N_IN; k++) by_input[k] = NULL;
  for (i = 0; i < n; i++) {
    for (k = 0; k < N_IN; k++)
      if (t[i].name && strcmp(t[i].name, io_in[k].name) == 0) break;
    if (k == N_IN) {
      char names[512];
      size_t len = 0;
      names[0] = 0;
      for (k = 0; k < N_IN && len < sizeof names; k++)
        len += (size_t)snprintf(names + len, sizeof names - len, " %s", io_in[k].name);
      return fail(err, errlen, NAME_ERR_MODEL,
                  "error: '%s' is not an input of %s (inputs:%s)",
                  t[i].name ? t[i].name : "(null)", model_title, names);
    }
    if (by_input[k])
      return fail(err, errlen, NAME_ERR_MODEL,
                  "error: input '%s' is given twice", t[i].name);
    by_input[k] = &t[i];
  }
  for (k = 0; k < N_IN; k++) {
    const IoSpec *io = &io_in[k];
    const NAME_tensor *x = by_input[k];
    int64_t count = 1;
    if (!x) {
      if (io->optional) continue;
      return fail(err, errlen, NAME_ERR_MODEL, "error: input '%s' is missing",
                  io->name);
    }
    if (x->dtype != io->dtype)
      return fail(err, errlen, NAME_ERR_MODEL,
                  "error: input '%s' must be %s%s, got %s", io->name,
                  dtype_text(io->dtype), io->shape, dtype_text(x->dtype));
    if (x->rank != io->rank)
      return fail(err, errlen, NAME_ERR_MODEL,
                  "error: input '%s' must have rank %d %s, got rank %d",
                  io->name, io->rank, io->shape, x->rank);
    for (i = 0; i < io->rank; i++) {
      int64_t got = x->dims[i], c = io->d[i].c, v;
      s = io->d[i].sym;
      count *= got;
      if (s < 0) {
        if (got != c)
          return fail(err, errlen, NAME_ERR_MODEL,
                      "error: input '%s': dimension %d is %lld, must be %lld "
                      "(shape %s)",
                      io->name, i, (long long)got, (long long)c, io->shape);
        continue;
      }
      if (got < 1 || got % c != 0)
        return fail(err, errlen, NAME_ERR_MODEL,
                    "error: input '%s': dimension %d is %lld, not a positive "
                    "multiple of %lld (shape %s)",
                    io->name, i, (long long)got, (long long)c, io->shape);
      v = got / c;
      if (v > sym_bound[s])
        return fail(err, errlen, NAME_ERR_MODEL,
                    "error: input '%s': dimension %d is %lld, so %s = %lld "
                    "exceeds its bound %s <= %lld",
                    io->name, i, (long long)got, sym_names[s], (long long)v,
                    sym_names[s], (long long)sym_bound[s]);
      if (sym[s] && sym[s] != v)
        return fail(err, errlen, NAME_ERR_MODEL,
                    "error: input '%s': dimension %d gives %s = %lld, but "
                    "input '%s' gave %s = %lld",
                    io->name, i, sym_names[s], (long long)v, bound_by[s],
                    sym_names[s], (long long)sym[s]);
      sym[s] = v;
      bound_by[s] = io->name;
    }
    if (need_data && count > 0 && !x->data)
      return fail(err, errlen, NAME_ERR_USAGE, "error: input '%s' has no data",
                  io->name);
    if (io->binds >= 0 && x->data) { /* a position: its value is the symbol */
      int64_t v = *(const int32_t *)x->data;
      if (v < 0 || v > sym_bound[io->binds])
        return fail(err, errlen, NAME_ERR_MODEL,
                    "error: input '%s' = %lld: %s must be in 0..%lld", io->name,
                    (long long)v, sym_names[io->binds],
                    (long long)sym_bound[io->binds]);
      sym[io->binds] = v;
    }
  }
  /* ids against the tables they index: which input, where, which value */
  for (k = 0; k < N_IN && need_data; k++) {
    const IoSpec *io = &io_in[k];
    const NAME_tensor *x = by_input[k];
    const int32_t *ids;
    int64_t rows, count = 1, j;
    if (!x || !io->rows.c || io->dtype != NAME_I32) continue;
    rows = io->rows.c * (io->rows.sym >= 0 ? sym[io->rows.sym] : 1);
    for (i = 0; i < x->rank; i++) count *= x->dims[i];
    ids = (const int32_t *)x->data;
    for (j = 0; j < count; j++)
      if (ids[j] < 0 || ids[j] >= rows) {
        char at[160];
        int64_t rest = j, idx[NAME_MAX_RANK];
        size_t len = 0;
        for (i = x->rank - 1; i >= 0; i--) idx[i] = rest % x->dims[i], rest /= x->dims[i];
        at[0] = 0;
        for (i = 0; i < x->rank && len < sizeof at; i++)
          len += (size_t)snprintf(at + len, sizeof at - len, "%s%lld", i ? ", " : "",
                                  (long long)idx[i]);
        return fail(err, errlen, NAME_ERR_MODEL,
                    "error: input '%s': id %d at [%s] is out of range for table "
                    "'%s' with %lld rows",
                    io->name, (int)ids[j], at, io->table, (long long)rows);
      }
  }
  /* An optional input left out takes its dimensions from the others. */
  for (k = 0; k < N_IN; k++) {
    if (by_input[k]) continue;
    for (i = 0; i < io_in[k].rank; i++) {
      s = io_in[k].d[i].sym;
      if (s >= 0 && sym[s] == 0)
        return fail(err, errlen, NAME_ERR_MODEL,
                    "error: optional input '%s' was left out, but no other "
                    "input gives its dimension %s",
                    io_in[k].name, sym_names[s]);
    }
  }
  return NAME_OK;
}

static NAME_status check_outputs(const NAME_tensor *o, int n, int need_data,
                                 char *err, size_t errlen) {
  int i;
  if (n != N_OUT)
    return fail(err, errlen, NAME_ERR_USAGE,
                "error: the model has %d outputs, got %d", N_OUT, n);
  if (n && !o) return fail(err, errlen, NAME_ERR_USAGE, "error: NULL argument");
  for (i = 0; i < n; i++) {
    if (o[i].name && strcmp(o[i].name, io_out[i].name) != 0)
      return fail(err, errlen, NAME_ERR_USAGE, "error: output %d is '%s', not '%s'",
                  i, io_out[i].name, o[i].name);
    if (need_data && !o[i].data)
      return fail(err, errlen, NAME_ERR_USAGE, "error: output '%s' has no buffer",
                  io_out[i].name);
  }
  return NAME_OK;
}

static void fill_output_dims(NAME_tensor *o, const int64_t *sym) {
  int i;
  for (i = 0; i < N_OUT; i++) {
    o[i].name = io_out[i].name;
    o[i].dtype = io_out[i].dtype;
    o[i].rank = io_out[i].rank;
    numel(&io_out[i], sym, o[i].dims);
  }
}

NAME_status NAME_output_shapes(const NAME_tensor *inputs, int n_inputs,
                               NAME_tensor *outputs, int n_outputs, char *err,
                               size_t errlen) {
  const NAME_tensor *by_input[N_IN + 1];
  int64_t sym[N_SYM + 1];
  NAME_status st = check_outputs(outputs, n_outputs, 0, err, errlen);
  if (st == NAME_OK) st = bind(inputs, n_inputs, 0, by_input, sym, err, errlen);
  if (st == NAME_OK) fill_output_dims(outputs, sym);
  return st;
}

NAME_status NAME_run(NAME_model *m, const NAME_tensor *inputs, int n_inputs,
                     NAME_tensor *outputs, int n_outputs, char *err,
                     size_t errlen) {
  const NAME_tensor *by_input[N_IN + 1];
  const void *in[N_IN + 1];
  void *zeros[N_IN + 1], *out[N_OUT + 1];
  int64_t sym[N_SYM + 1];
  int k;
  NAME_status st;
  if (!m) return fail(err, errlen, NAME_ERR_USAGE, "error: NULL argument");
  st = check_outputs(outputs, n_outputs, 1, err, errlen);
  if (st == NAME_OK) st = bind(inputs, n_inputs, 1, by_input, sym, err, errlen);
  if (st != NAME_OK) return st;
  /* Optional inputs left out read as zeros. */
  for (k = 0; k < N_IN; k++) {
    zeros[k] = NULL;
    if (by_input[k]) {
      in[k] = by_input[k]->data;
      continue;
    }
    in[k] = zeros[k] = calloc((size_t)numel(&io_in[k], sym, NULL) + 1, 4);
    if (!zeros[k]) {
      while (k-- > 0) free(zeros[k]);
      return fail(err, errlen, NAME_ERR_MODEL, "error: out of memory");
    }
    if (io_in[k].optional == 2) { /* fill = 1: an attention mask keeps all */
      int64_t i, n = numel(&io_in[k], sym, NULL);
      for (i = 0; i < n; i++) {
        if (io_in[k].dtype == NAME_I32) ((int32_t *)zeros[k])[i] = 1;
        else ((float *)zeros[k])[i] = 1.0f;
      }
    }
  }
  for (k = 0; k < N_OUT; k++) out[k] = outputs[k].data;
  st = forward(m->w, m->arena, in, out, sym, err, errlen);
  for (k = 0; k < N_IN; k++) free(zeros[k]);
  if (st == NAME_OK) fill_output_dims(outputs, sym);
  return st;
}

#undef HEADER_BYTES
#undef TRAILER_BYTES
