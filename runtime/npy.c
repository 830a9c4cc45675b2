/* npy.c — the .npy reader and writer (see npy.h).
 *
 * A .npy file is: the magic "\x93NUMPY", a major and minor version byte, the
 * header length (u16 little-endian in version 1.0, u32 in 2.0 and 3.0), the
 * header — a Python dict literal such as
 *     {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
 * padded with spaces and a newline — and then the raw array data.
 *
 * The header is parsed by a small hand-written scanner rather than anything
 * resembling a Python evaluator: it accepts exactly a dict of the three keys
 * numpy writes, with string / True|False / tuple-of-int values, and rejects
 * everything else with a message saying what it saw.  Every size is checked
 * before it is used (dims against overflow, the data against the file's real
 * size) so a hostile file can neither crash the reader nor make it allocate
 * more memory than the file could fill.
 *
 * Only libc (stdio) is used, so generated programs can copy this file.
 */
#include "npy.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* v1 headers are at most 65535 bytes; later versions allow 4 GiB, which no
 * real array needs.  numpy itself refuses headers over 10000 bytes by
 * default; we allow more but not unbounded. */
#define NPY_MAX_HEADER (1u << 20)

static int npy_fail(char *err, size_t errlen, const char *path, const char *fmt,
                    ...) __attribute__((format(printf, 4, 5)));

static int npy_fail(char *err, size_t errlen, const char *path, const char *fmt,
                    ...) {
  if (!err || errlen == 0) return -1;
  int w = snprintf(err, errlen, "%s: error: ", path ? path : "(null)");
  if (w >= 0 && (size_t)w < errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + w, errlen - (size_t)w, fmt, ap);
    va_end(ap);
  }
  return -1;
}

size_t rt_npy_itemsize(RtNpyType type) {
  return (type == RT_NPY_F64 || type == RT_NPY_I64) ? 8 : 4;
}

static int host_is_little_endian(void) {
  const uint16_t one = 1;
  return *(const unsigned char *)&one == 1;
}

/* ---- header scanner ---------------------------------------------------- */

typedef struct {
  const char *s;
  size_t n, i;
  char msg[160]; /* the first parse error */
} Scan;

static int scan_err(Scan *sc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int scan_err(Scan *sc, const char *fmt, ...) {
  if (sc->msg[0]) return -1;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(sc->msg, sizeof sc->msg, fmt, ap);
  va_end(ap);
  return -1;
}

static void skip_ws(Scan *sc) {
  while (sc->i < sc->n && (sc->s[sc->i] == ' ' || sc->s[sc->i] == '\t' ||
                           sc->s[sc->i] == '\n' || sc->s[sc->i] == '\r'))
    sc->i++;
}

static int peek(Scan *sc) {
  return sc->i < sc->n ? (unsigned char)sc->s[sc->i] : -1;
}

/* What is at the cursor, for messages: "'x'" or "end of header". */
static const char *seen(Scan *sc, char *buf, size_t cap) {
  int c = peek(sc);
  if (c < 0) return "end of header";
  if (c >= 0x20 && c < 0x7f)
    snprintf(buf, cap, "'%c'", c);
  else
    snprintf(buf, cap, "byte 0x%02x", c);
  return buf;
}

static int expect(Scan *sc, char c, const char *where) {
  skip_ws(sc);
  if (peek(sc) == c) {
    sc->i++;
    return 0;
  }
  char b[16];
  return scan_err(sc, "malformed header: expected '%c' %s, found %s", c, where,
                  seen(sc, b, sizeof b));
}

/* A quoted string without escapes (all numpy writes).  Copies up to cap-1
 * bytes into out, replacing unprintable bytes by '?'. */
static int scan_string(Scan *sc, char *out, size_t cap, const char *what) {
  skip_ws(sc);
  int q = peek(sc);
  if (q != '\'' && q != '"') {
    char b[16];
    return scan_err(sc, "malformed header: expected a string for %s, found %s",
                    what, seen(sc, b, sizeof b));
  }
  sc->i++;
  size_t k = 0;
  while (sc->i < sc->n && sc->s[sc->i] != q && sc->s[sc->i] != '\n') {
    char c = sc->s[sc->i++];
    if (c == '\\')
      return scan_err(sc, "malformed header: escapes are not supported in %s",
                      what);
    if (k + 1 < cap) out[k++] = (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  out[k] = 0;
  if (sc->i >= sc->n || sc->s[sc->i] != q)
    return scan_err(sc, "malformed header: unterminated string in %s", what);
  sc->i++;
  return 0;
}

static int scan_word(Scan *sc, const char *w) {
  size_t len = strlen(w);
  if (sc->n - sc->i >= len && memcmp(sc->s + sc->i, w, len) == 0) {
    size_t j = sc->i + len;
    if (j < sc->n && (sc->s[j] == '_' || (sc->s[j] >= 'a' && sc->s[j] <= 'z') ||
                      (sc->s[j] >= 'A' && sc->s[j] <= 'Z') ||
                      (sc->s[j] >= '0' && sc->s[j] <= '9')))
      return 0;
    sc->i = j;
    return 1;
  }
  return 0;
}

/* (d0, d1, ...): "()", "(5,)", "(2, 3)", trailing comma allowed; Python 2
 * files may write "5L". */
static int scan_shape(Scan *sc, int *rank, int64_t *dims) {
  if (expect(sc, '(', "to start the shape")) return -1;
  *rank = 0;
  for (;;) {
    skip_ws(sc);
    if (peek(sc) == ')') {
      sc->i++;
      return 0;
    }
    int neg = 0;
    if (peek(sc) == '-') {
      neg = 1;
      sc->i++;
    }
    if (peek(sc) < '0' || peek(sc) > '9') {
      char b[16];
      return scan_err(sc,
                      "malformed header: expected an integer in shape, "
                      "found %s",
                      seen(sc, b, sizeof b));
    }
    int64_t v = 0;
    int big = 0;
    while (peek(sc) >= '0' && peek(sc) <= '9') {
      int dgt = peek(sc) - '0';
      if (v > (INT64_MAX - dgt) / 10)
        big = 1;
      else
        v = v * 10 + dgt;
      sc->i++;
    }
    if (peek(sc) == 'L') sc->i++;
    if (neg && (v != 0 || big))
      return big ? scan_err(sc, "negative dimension in shape")
                 : scan_err(sc, "negative dimension -%lld in shape",
                            (long long)v);
    if (big) return scan_err(sc, "dimension in shape does not fit in 64 bits");
    if (*rank == RT_NPY_MAX_RANK)
      return scan_err(sc, "shape has more than %d dimensions", RT_NPY_MAX_RANK);
    dims[(*rank)++] = v;
    skip_ws(sc);
    if (peek(sc) == ',') {
      sc->i++;
    } else if (peek(sc) != ')') {
      char b[16];
      return scan_err(sc,
                      "malformed header: expected ',' or ')' in shape, "
                      "found %s",
                      seen(sc, b, sizeof b));
    }
  }
}

typedef struct {
  char descr[24];
  int fortran;
  int rank;
  int64_t dims[RT_NPY_MAX_RANK];
} Header;

static int scan_header(Scan *sc, Header *h) {
  int have_descr = 0, have_fortran = 0, have_shape = 0;
  if (expect(sc, '{', "at the start of the header")) return -1;
  for (;;) {
    skip_ws(sc);
    if (peek(sc) == '}') {
      sc->i++;
      break;
    }
    char key[32];
    if (scan_string(sc, key, sizeof key, "a key")) return -1;
    if (expect(sc, ':', "after a key")) return -1;
    skip_ws(sc);
    if (strcmp(key, "descr") == 0) {
      if (have_descr++) return scan_err(sc, "duplicate key 'descr'");
      if (peek(sc) == '[')
        return scan_err(sc,
                        "unsupported dtype: structured arrays are not "
                        "supported");
      if (scan_string(sc, h->descr, sizeof h->descr, "'descr'")) return -1;
    } else if (strcmp(key, "fortran_order") == 0) {
      if (have_fortran++) return scan_err(sc, "duplicate key 'fortran_order'");
      if (scan_word(sc, "True"))
        h->fortran = 1;
      else if (scan_word(sc, "False"))
        h->fortran = 0;
      else {
        char b[16];
        return scan_err(sc,
                        "malformed header: expected True or False for "
                        "'fortran_order', found %s",
                        seen(sc, b, sizeof b));
      }
    } else if (strcmp(key, "shape") == 0) {
      if (have_shape++) return scan_err(sc, "duplicate key 'shape'");
      if (scan_shape(sc, &h->rank, h->dims)) return -1;
    } else {
      return scan_err(sc, "malformed header: unexpected key '%s'", key);
    }
    skip_ws(sc);
    if (peek(sc) == ',') {
      sc->i++;
    } else if (peek(sc) != '}') {
      char b[16];
      return scan_err(sc,
                      "malformed header: expected ',' or '}' after the "
                      "value of '%s', found %s",
                      key, seen(sc, b, sizeof b));
    }
  }
  skip_ws(sc);
  if (sc->i != sc->n) {
    char b[16];
    return scan_err(sc, "malformed header: unexpected %s after '}'",
                    seen(sc, b, sizeof b));
  }
  if (!have_descr) return scan_err(sc, "malformed header: no 'descr'");
  if (!have_fortran)
    return scan_err(sc, "malformed header: no 'fortran_order'");
  if (!have_shape) return scan_err(sc, "malformed header: no 'shape'");
  return 0;
}

/* '<f4' -> RT_NPY_F32 etc.  '=' (native) and '|' (not applicable; numpy
 * reads it as native) are accepted because the host is little-endian. */
static int parse_descr(const char *descr, RtNpyType *t, char *msg, size_t cap) {
  const char *p = descr;
  if (*p == '>') {
    snprintf(msg, cap,
             "big-endian dtype '%.32s' is not supported (convert with "
             "arr.astype('<%.32s'))",
             descr, descr + 1);
    return -1;
  }
  if (*p == '<' || *p == '=' || *p == '|') p++;
  if (strcmp(p, "f4") == 0)
    *t = RT_NPY_F32;
  else if (strcmp(p, "f8") == 0)
    *t = RT_NPY_F64;
  else if (strcmp(p, "i4") == 0)
    *t = RT_NPY_I32;
  else if (strcmp(p, "i8") == 0)
    *t = RT_NPY_I64;
  else {
    snprintf(msg, cap,
             "unsupported dtype '%.32s' (expected '<f4', '<f8', '<i4' "
             "or '<i8')",
             descr);
    return -1;
  }
  return 0;
}

/* ---- reading ------------------------------------------------------------ */

void rt_npy_free(RtNpy *a) {
  if (!a) return;
  free(a->data);
  memset(a, 0, sizeof *a);
}

/* Read the whole header; on success *hdr is malloc'd with *hlen bytes. */
static int read_header(FILE *f, const char *path, char **hdr, size_t *hlen,
                       long *data_pos, char *err, size_t errlen) {
  unsigned char pre[8];
  size_t got = fread(pre, 1, sizeof pre, f);
  if (ferror(f))
    return npy_fail(err, errlen, path, "cannot read: %s", strerror(errno));
  if (got < 6 || memcmp(pre, "\x93NUMPY", 6) != 0)
    return npy_fail(err, errlen, path, "not a .npy file (bad magic)");
  if (got < 8)
    return npy_fail(err, errlen, path,
                    "truncated header: file ends after "
                    "%zu bytes",
                    got);
  int major = pre[6], minor = pre[7];
  if (major < 1 || major > 3 || minor != 0)
    return npy_fail(err, errlen, path,
                    "unsupported .npy version %d.%d (expected 1.0, 2.0 or 3.0)",
                    major, minor);
  unsigned char lb[4] = {0};
  size_t nlen = major == 1 ? 2 : 4;
  if (fread(lb, 1, nlen, f) != nlen)
    return npy_fail(err, errlen, path,
                    "truncated header: file ends inside "
                    "the header length");
  uint32_t n = (uint32_t)lb[0] | (uint32_t)lb[1] << 8 | (uint32_t)lb[2] << 16 |
               (uint32_t)lb[3] << 24;
  if (n > NPY_MAX_HEADER)
    return npy_fail(err, errlen, path,
                    "header length %u is too large "
                    "(max %u)",
                    n, NPY_MAX_HEADER);
  char *h = malloc(n ? n : 1);
  if (!h) return npy_fail(err, errlen, path, "out of memory");
  got = fread(h, 1, n, f);
  if (got != n) {
    free(h);
    return npy_fail(err, errlen, path,
                    "truncated header: expected %u bytes, "
                    "found %zu",
                    n, got);
  }
  *hdr = h;
  *hlen = n;
  *data_pos = (long)(8 + nlen + n);
  return 0;
}

int rt_npy_read(const char *path, RtNpy *out, char *err, size_t errlen) {
  if (err && errlen) err[0] = 0;
  if (out) memset(out, 0, sizeof *out);
  if (!path || !out) return npy_fail(err, errlen, path, "invalid arguments");
  if (!host_is_little_endian())
    return npy_fail(err, errlen, path, "big-endian hosts are not supported");

  FILE *f = fopen(path, "rb");
  if (!f)
    return npy_fail(err, errlen, path, "cannot open: %s", strerror(errno));

  char *hdr = NULL;
  size_t hlen = 0;
  long data_pos = 0;
  if (read_header(f, path, &hdr, &hlen, &data_pos, err, errlen)) {
    fclose(f);
    return -1;
  }
  Scan sc = {hdr, hlen, 0, {0}};
  Header h;
  memset(&h, 0, sizeof h);
  int rc = scan_header(&sc, &h);
  free(hdr);
  if (rc) {
    fclose(f);
    return npy_fail(err, errlen, path, "%s", sc.msg);
  }

  RtNpyType type;
  char msg[128];
  if (parse_descr(h.descr, &type, msg, sizeof msg)) {
    fclose(f);
    return npy_fail(err, errlen, path, "%s", msg);
  }
  if (h.fortran) {
    fclose(f);
    return npy_fail(err, errlen, path,
                    "fortran_order True is not supported "
                    "(save a C-contiguous array)");
  }

  /* count = prod(dims), bytes = count * itemsize, both without overflow. */
  size_t isz = rt_npy_itemsize(type);
  uint64_t count = 1;
  int too_big = 0;
  for (int i = 0; i < h.rank; i++) {
    uint64_t d = (uint64_t)h.dims[i];
    if (d == 0) {
      count = 0;
      too_big = 0;
      break;
    }
    if (count > UINT64_MAX / d)
      too_big = 1;
    else
      count *= d;
  }
  if (too_big || count > (uint64_t)(SIZE_MAX / isz) ||
      count > (uint64_t)INT64_MAX / isz) {
    fclose(f);
    return npy_fail(err, errlen, path,
                    "shape is too large (element count "
                    "overflows)");
  }
  size_t bytes = (size_t)count * isz;

  /* Compare with what the file holds before allocating anything. */
  long end = -1;
  if (fseek(f, 0, SEEK_END) == 0) end = ftell(f);
  if (end >= 0) {
    uint64_t have = end > data_pos ? (uint64_t)(end - data_pos) : 0;
    if (have < bytes) {
      fclose(f);
      return npy_fail(err, errlen, path,
                      "truncated data: expected %zu bytes, "
                      "found %llu",
                      bytes, (unsigned long long)have);
    }
    if (have > bytes) {
      fclose(f);
      return npy_fail(err, errlen, path,
                      "unexpected trailing data: expected "
                      "%zu bytes, found %llu",
                      bytes, (unsigned long long)have);
    }
    if (fseek(f, data_pos, SEEK_SET) != 0) {
      fclose(f);
      return npy_fail(err, errlen, path, "cannot seek: %s", strerror(errno));
    }
  }

  void *data = malloc(bytes ? bytes : 1);
  if (!data) {
    fclose(f);
    return npy_fail(err, errlen, path, "out of memory (%zu bytes)", bytes);
  }
  size_t got = fread(data, 1, bytes, f);
  int extra = got == bytes && fgetc(f) != EOF;
  int ioerr = ferror(f);
  fclose(f);
  if (ioerr || got != bytes || extra) {
    free(data);
    if (ioerr) return npy_fail(err, errlen, path, "read error");
    if (extra)
      return npy_fail(err, errlen, path,
                      "unexpected trailing data after "
                      "%zu bytes",
                      bytes);
    return npy_fail(err, errlen, path,
                    "truncated data: expected %zu bytes, "
                    "found %zu",
                    bytes, got);
  }
  out->type = type;
  out->rank = h.rank;
  memcpy(out->dims, h.dims, sizeof h.dims);
  out->data = data;
  out->count = (size_t)count;
  return 0;
}

/* ---- writing ------------------------------------------------------------ */

/* The header numpy.save writes (numpy/lib/_format_impl.py): the dict with
 * sorted keys, spare spaces so the first axis can grow to 21 digits in place,
 * then spaces and '\n' so data starts on a 64-byte boundary. */
static size_t build_header(char *buf, size_t cap, RtNpyType type, int rank,
                           const int64_t *dims) {
  static const char *descr[] = {"<f4", "<f8", "<i4", "<i8"};
  size_t n = 0;
  n += (size_t)snprintf(buf + n, cap - n,
                        "{'descr': '%s', 'fortran_order': False, 'shape': (",
                        descr[type]);
  for (int i = 0; i < rank; i++)
    n += (size_t)snprintf(buf + n, cap - n, i ? ", %lld" : "%lld",
                          (long long)dims[i]);
  n += (size_t)snprintf(buf + n, cap - n, "%s), }", rank == 1 ? "," : "");
  if (rank > 0) {
    char d0[24];
    int len = snprintf(d0, sizeof d0, "%lld", (long long)dims[0]);
    for (int i = len; i < 21; i++) buf[n++] = ' ';
  }
  /* magic+version+u16 length, header, '\n'; like numpy, pad by 1..64. */
  size_t pad = 64 - (10 + n + 1) % 64;
  for (size_t i = 0; i < pad; i++) buf[n++] = ' ';
  buf[n++] = '\n';
  return n;
}

static int write_all(FILE *f, const void *p, size_t n) {
  return n == 0 || fwrite(p, 1, n, f) == n;
}

int rt_npy_write(const char *path, RtNpyType type, const void *data, int rank,
                 const int64_t *dims, char *err, size_t errlen) {
  if (err && errlen) err[0] = 0;
  if (!path) return npy_fail(err, errlen, path, "invalid arguments");
  if (type != RT_NPY_F32 && type != RT_NPY_I32 && type != RT_NPY_F64 &&
      type != RT_NPY_I64)
    return npy_fail(err, errlen, path, "cannot write: unknown element type %d",
                    (int)type);
  if (rank < 0 || rank > RT_NPY_MAX_RANK || (rank > 0 && !dims))
    return npy_fail(err, errlen, path, "cannot write: rank %d (expected 0..%d)",
                    rank, RT_NPY_MAX_RANK);
  if (!host_is_little_endian())
    return npy_fail(err, errlen, path, "big-endian hosts are not supported");
  size_t isz = rt_npy_itemsize(type);
  uint64_t count = 1;
  for (int i = 0; i < rank; i++) {
    if (dims[i] < 0)
      return npy_fail(err, errlen, path,
                      "cannot write: negative dimension "
                      "%lld",
                      (long long)dims[i]);
    uint64_t d = (uint64_t)dims[i];
    if (d && count > (uint64_t)(SIZE_MAX / isz) / d)
      return npy_fail(err, errlen, path, "cannot write: shape is too large");
    count *= d;
  }
  size_t bytes = (size_t)count * isz;
  if (bytes && !data)
    return npy_fail(err, errlen, path, "cannot write: no data");

  char hdr[512]; /* 10 + 8*(21+2) + ~70 + 64 < 512 */
  size_t hn = build_header(hdr, sizeof hdr, type, rank, dims);
  unsigned char pre[10] = {0x93,
                           'N',
                           'U',
                           'M',
                           'P',
                           'Y',
                           1,
                           0,
                           (unsigned char)(hn & 0xff),
                           (unsigned char)(hn >> 8)};

  /* A fresh temporary name next to the target ("x" = fail if it exists), so
   * the rename below stays within one filesystem. */
  size_t plen = strlen(path);
  char *tmp = malloc(plen + 32);
  if (!tmp) return npy_fail(err, errlen, path, "out of memory");
  static unsigned counter;
  uint64_t salt = (uint64_t)time(NULL) ^ (uint64_t)clock() << 20 ^
                  (uint64_t)(uintptr_t)&salt ^ (uint64_t)(uintptr_t)tmp;
  FILE *f = NULL;
  for (int attempt = 0; attempt < 100 && !f; attempt++) {
    uint64_t x = salt + 0x9e3779b97f4a7c15ull * (++counter + (uint64_t)attempt);
    x = (x ^ (x >> 31)) * 0xbf58476d1ce4e5b9ull;
    snprintf(tmp, plen + 32, "%s.tmp-%08x", path, (unsigned)(x >> 32));
    errno = 0;
    f = fopen(tmp, "wbx");
    if (!f && errno != EEXIST) {
      int e = errno;
      free(tmp);
      return npy_fail(err, errlen, path, "cannot create temporary file: %s",
                      strerror(e));
    }
  }
  if (!f) {
    free(tmp);
    return npy_fail(err, errlen, path, "cannot create temporary file");
  }
  int ok = write_all(f, pre, sizeof pre) && write_all(f, hdr, hn) &&
           write_all(f, data, bytes) && fflush(f) == 0 && !ferror(f);
  int e = errno;
  if (fclose(f) != 0 && ok) {
    ok = 0;
    e = errno;
  }
  if (!ok) {
    remove(tmp);
    free(tmp);
    return npy_fail(err, errlen, path, "write failed: %s", strerror(e));
  }
  if (rename(tmp, path) != 0) {
    e = errno;
    remove(tmp);
    free(tmp);
    return npy_fail(err, errlen, path, "cannot rename temporary file: %s",
                    strerror(e));
  }
  free(tmp);
  return 0;
}
