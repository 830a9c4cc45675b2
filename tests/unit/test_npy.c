/* test_npy.c — runtime/npy.c against files numpy wrote.
 *
 * The fixtures in data/io/ come from tests/data/io/make_io_data.py; the values
 * below are the same formulas (np.arange based), so the test needs no Python.
 * Malformed headers are written by hand into a temporary directory, and a
 * small fuzz loop (every truncation, every single-bit flip of a valid file)
 * checks that the reader fails cleanly instead of crashing or over-reading —
 * run it under -fsanitize=address,undefined to make that meaningful.
 */
#include <dirent.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/npy.h"
#include "tests/check.h"

static char tmpdir[64];

static void tmp_path(char *buf, size_t cap, const char *name) {
  snprintf(buf, cap, "%s/%s", tmpdir, name);
}

static void write_bytes(const char *path, const void *p, size_t n) {
  FILE *f = fopen(path, "wb");
  CHECK(f != NULL);
  CHECK(fwrite(p, 1, n, f) == n);
  CHECK(fclose(f) == 0);
}

static unsigned char *read_bytes(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  CHECK_MSG(f != NULL, "%s", path);
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *p = malloc((size_t)len + 1);
  CHECK(fread(p, 1, (size_t)len, f) == (size_t)len);
  fclose(f);
  *n = (size_t)len;
  return p;
}

/* A .npy with the given version, header text (padded with one '\n') and
 * `ndata` zero bytes of data. */
static void write_npy_raw(const char *path, int major, const char *header,
                          size_t ndata) {
  size_t hl = strlen(header) + 1, pre = major == 1 ? 10 : 12;
  unsigned char *b = calloc(1, pre + hl + ndata);
  memcpy(b, "\x93NUMPY", 6);
  b[6] = (unsigned char)major;
  b[7] = 0;
  for (size_t i = 0; i < pre - 8; i++) b[8 + i] = (unsigned char)(hl >> 8 * i);
  memcpy(b + pre, header, hl - 1);
  b[pre + hl - 1] = '\n';
  write_bytes(path, b, pre + hl + ndata);
  free(b);
}

/* Read `path`, expecting failure with exactly "PATH: error: " + `msg` at the
 * start of the message (msg may be a prefix). */
static void expect_error(const char *path, const char *msg) {
  RtNpy a;
  char err[512], want[512];
  int rc = rt_npy_read(path, &a, err, sizeof err);
  CHECK_MSG(rc == -1, "%s: expected an error containing \"%s\"", path, msg);
  CHECK(a.data == NULL && a.count == 0);
  snprintf(want, sizeof want, "%s: error: %s", path, msg);
  CHECK_MSG(strncmp(err, want, strlen(want)) == 0, "got \"%s\" want \"%s\"",
            err, want);
  CHECK(strchr(err, '\n') == NULL);
}

static void expect_header_error(const char *header, size_t ndata,
                                const char *msg) {
  char p[128];
  tmp_path(p, sizeof p, "h.npy");
  write_npy_raw(p, 1, header, ndata);
  expect_error(p, msg);
}

static void expect_header_ok(const char *header, size_t ndata, RtNpyType type,
                             int rank, const int64_t *dims) {
  char p[128], err[512];
  tmp_path(p, sizeof p, "ok.npy");
  write_npy_raw(p, 1, header, ndata);
  RtNpy a;
  CHECK_MSG(rt_npy_read(p, &a, err, sizeof err) == 0, "%s: %s", header, err);
  CHECK(a.type == type && a.rank == rank);
  for (int i = 0; i < rank; i++) CHECK(a.dims[i] == dims[i]);
  rt_npy_free(&a);
}

static void check_f4_2x3(const RtNpy *a) {
  CHECK(a->type == RT_NPY_F32 && a->rank == 2);
  CHECK(a->dims[0] == 2 && a->dims[1] == 3 && a->count == 6);
  const float *x = a->data;
  for (int i = 0; i < 6; i++) CHECK(x[i] == (float)i / 4 - 0.5f);
}

static void test_read_valid(void) {
  RtNpy a;
  char err[512];

  const char *f4[] = {"data/io/f4_2x3.npy", "data/io/f4_v2.npy",
                      "data/io/f4_v3.npy"};
  for (int k = 0; k < 3; k++) {
    CHECK_MSG(rt_npy_read(f4[k], &a, err, sizeof err) == 0, "%s", err);
    CHECK(err[0] == 0);
    check_f4_2x3(&a);
    rt_npy_free(&a);
    CHECK(a.data == NULL);
    rt_npy_free(&a); /* twice is fine */
  }

  CHECK_MSG(rt_npy_read("data/io/f8_5.npy", &a, err, sizeof err) == 0, "%s",
            err);
  CHECK(a.type == RT_NPY_F64 && a.rank == 1 && a.dims[0] == 5 && a.count == 5);
  for (int i = 0; i < 5; i++) CHECK(((double *)a.data)[i] == i / 3.0);
  rt_npy_free(&a);

  CHECK_MSG(rt_npy_read("data/io/i4_2x3x4.npy", &a, err, sizeof err) == 0, "%s",
            err);
  CHECK(a.type == RT_NPY_I32 && a.rank == 3 && a.count == 24);
  CHECK(a.dims[0] == 2 && a.dims[1] == 3 && a.dims[2] == 4);
  for (int i = 0; i < 24; i++) CHECK(((int32_t *)a.data)[i] == i - 12);
  rt_npy_free(&a);

  CHECK_MSG(rt_npy_read("data/io/i8_scalar.npy", &a, err, sizeof err) == 0,
            "%s", err);
  CHECK(a.type == RT_NPY_I64 && a.rank == 0 && a.count == 1);
  CHECK(((int64_t *)a.data)[0] == -(INT64_C(1) << 40) - 7);
  rt_npy_free(&a);

  CHECK_MSG(rt_npy_read("data/io/f4_empty.npy", &a, err, sizeof err) == 0, "%s",
            err);
  CHECK(a.type == RT_NPY_F32 && a.rank == 2 && a.dims[0] == 2 &&
        a.dims[1] == 0 && a.count == 0);
  rt_npy_free(&a);

  /* Hand-written headers numpy also accepts. */
  int64_t d5[] = {5}, d23[] = {2, 3};
  expect_header_ok("{'descr': '=f4', 'fortran_order': False, 'shape': (5,), }",
                   20, RT_NPY_F32, 1, d5);
  expect_header_ok("{'descr': '|i8', 'fortran_order': False, 'shape': (5L,)}",
                   40, RT_NPY_I64, 1, d5);
  expect_header_ok(
      "{\"shape\":(2,3),\"fortran_order\":False,\"descr\":\"<i4\"}", 24,
      RT_NPY_I32, 2, d23);
  expect_header_ok(
      "  { 'descr' : '<f8' , 'fortran_order' : False , "
      "'shape' : ( 2 , 3 , ) , }   ",
      48, RT_NPY_F64, 2, d23);
  expect_header_ok("{'descr': '<f4', 'fortran_order': False, 'shape': ()}", 4,
                   RT_NPY_F32, 0, NULL);
}

static void test_read_errors(void) {
  expect_error("data/io/fortran.npy", "fortran_order True is not supported");
  expect_error("data/io/bigendian.npy",
               "big-endian dtype '>f4' is not supported");
  expect_error("data/io/f2.npy",
               "unsupported dtype '<f2' (expected '<f4', "
               "'<f8', '<i4' or '<i8')");
  expect_error("data/io/bool.npy", "unsupported dtype '|b1'");
  expect_error("data/io/truncated.npy",
               "truncated data: expected 40 bytes, found 28");
  expect_error("data/io/does_not_exist.npy",
               "cannot open: No such file or directory");
  expect_error("data/io/all.safetensors", "not a .npy file (bad magic)");
  expect_error("data", "cannot read: Is a directory");

  char p[128];
  tmp_path(p, sizeof p, "short.npy");
  write_bytes(p, "\x93NUMPY", 6);
  expect_error(p, "truncated header: file ends after 6 bytes");
  write_bytes(p, "", 0);
  expect_error(p, "not a .npy file (bad magic)");
  write_bytes(p, "\x93NUMPY\x01\x00\x50", 9);
  expect_error(p, "truncated header: file ends inside the header length");
  write_bytes(p, "\x93NUMPY\x01\x00\x50\x00{'descr'", 17);
  expect_error(p, "truncated header: expected 80 bytes, found 7");
  write_bytes(p, "\x93NUMPY\x04\x00\x50\x00", 10);
  expect_error(p, "unsupported .npy version 4.0 (expected 1.0, 2.0 or 3.0)");
  write_bytes(p, "\x93NUMPY\x02\x00\xff\xff\xff\xff", 12);
  expect_error(p, "header length 4294967295 is too large");

  const char *pre = "{'descr': '<f4', 'fortran_order': False, ";
  char h[256];
#define HDR(rest) (snprintf(h, sizeof h, "%s%s", pre, rest), h)
  expect_header_error(HDR("'shape': (-1, 3), }"), 0,
                      "negative dimension -1 in shape");
  expect_header_error(HDR("'shape': (99999999999999999999,), }"), 0,
                      "dimension in shape does not fit in 64 bits");
  expect_header_error(HDR("'shape': (4294967296, 4294967296), }"), 0,
                      "shape is too large (element count overflows)");
  expect_header_error(HDR("'shape': (1000000000000,), }"), 0,
                      "truncated data: expected 4000000000000 bytes, found 0");
  expect_header_error(HDR("'shape': (1,1,1,1,1,1,1,1,1), }"), 4,
                      "shape has more than 8 dimensions");
  expect_header_error(HDR("'shape': (1, 2), }"), 12,
                      "unexpected trailing data: expected 8 bytes, found 12");
  expect_header_error(HDR("'shape': (2 3), }"), 24,
                      "malformed header: expected ',' or ')' in shape, "
                      "found '3'");
  expect_header_error(HDR("'shape': [2, 3], }"), 24,
                      "malformed header: expected '(' to start the shape, "
                      "found '['");
  expect_header_error(HDR("'shape': (2, x), }"), 24,
                      "malformed header: expected an integer in shape, "
                      "found 'x'");
  expect_header_error(HDR("'shape': (2,), 'extra': 1}"), 8,
                      "malformed header: unexpected key 'extra'");
  expect_header_error(HDR("'shape': (2,) 'x'}"), 8,
                      "malformed header: expected ',' or '}' after the value "
                      "of 'shape', found '''");
  expect_header_error(HDR("'shape': (2,)} junk"), 8,
                      "malformed header: unexpected 'j' after '}'");
  expect_header_error(HDR("'shape': (2,), 'shape': (2,)}"), 8,
                      "duplicate key 'shape'");
  expect_header_error(HDR("'shape': (2,"), 8,
                      "malformed header: expected an integer in shape, "
                      "found end of header");
#undef HDR
  expect_header_error("{'descr': '<f4', 'fortran_order': False}", 0,
                      "malformed header: no 'shape'");
  expect_header_error("{'fortran_order': False, 'shape': ()}", 0,
                      "malformed header: no 'descr'");
  expect_header_error("{'descr': '<f4', 'shape': ()}", 4,
                      "malformed header: no 'fortran_order'");
  expect_header_error("{'descr': '<f4', 'fortran_order': Maybe, 'shape': ()}",
                      4,
                      "malformed header: expected True or False for "
                      "'fortran_order', found 'M'");
  expect_header_error("{'descr': '<f4', 'fortran_order': Falsey, 'shape': ()}",
                      4, "malformed header: expected True or False");
  expect_header_error(
      "{'descr': [('a', '<f4')], 'fortran_order': False, "
      "'shape': ()}",
      4, "unsupported dtype: structured arrays are not supported");
  expect_header_error("{'descr': '<f4", 0,
                      "malformed header: unterminated string in 'descr'");
  expect_header_error(
      "{'descr': '<\\x66\\x34', 'fortran_order': False, "
      "'shape': ()}",
      4,
      "malformed header: escapes are not supported in "
      "'descr'");
  expect_header_error("not a dict", 0,
                      "malformed header: expected '{' at the start of the "
                      "header, found 'n'");
  expect_header_error("", 0,
                      "malformed header: expected '{' at the start of "
                      "the header, found end of header");
  expect_header_error("{'descr': '<u4', 'fortran_order': False, 'shape': ()}",
                      4, "unsupported dtype '<u4'");
  expect_header_error(
      "{'descr': '\x01\x02', 'fortran_order': False, "
      "'shape': ()}",
      4,
      "unsupported dtype '?"
      "?'");

  /* Error buffers that are tiny or absent never overflow. */
  RtNpy a;
  char tiny[8];
  memset(tiny, 'x', sizeof tiny);
  CHECK(rt_npy_read("data/io/f2.npy", &a, tiny, 5) == -1);
  CHECK(strcmp(tiny, "data") == 0 && tiny[5] == 'x');
  CHECK(rt_npy_read("data/io/f2.npy", &a, NULL, 0) == -1);
}

static void test_write(void) {
  char p[128], err[512];
  tmp_path(p, sizeof p, "w.npy");

  /* Byte-identical to numpy.save for the same arrays. */
  float f4[6];
  for (int i = 0; i < 6; i++) f4[i] = (float)i / 4 - 0.5f;
  int32_t i4[24];
  for (int i = 0; i < 24; i++) i4[i] = i - 12;
  double f8[5];
  for (int i = 0; i < 5; i++) f8[i] = i / 3.0;
  int64_t i8 = -(INT64_C(1) << 40) - 7;
  struct {
    const char *ref;
    RtNpyType type;
    const void *data;
    int rank;
    int64_t dims[3];
  } cases[] = {
      {"data/io/f4_2x3.npy", RT_NPY_F32, f4, 2, {2, 3}},
      {"data/io/i4_2x3x4.npy", RT_NPY_I32, i4, 3, {2, 3, 4}},
      {"data/io/f8_5.npy", RT_NPY_F64, f8, 1, {5}},
      {"data/io/i8_scalar.npy", RT_NPY_I64, &i8, 0, {0}},
      {"data/io/f4_empty.npy", RT_NPY_F32, NULL, 2, {2, 0}},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    CHECK_MSG(rt_npy_write(p, cases[k].type, cases[k].data, cases[k].rank,
                           cases[k].dims, err, sizeof err) == 0,
              "%s", err);
    size_t n1, n2;
    unsigned char *got = read_bytes(p, &n1),
                  *want = read_bytes(cases[k].ref, &n2);
    CHECK_MSG(n1 == n2 && memcmp(got, want, n1) == 0,
              "%s: written bytes differ from numpy's", cases[k].ref);
    free(got);
    free(want);
  }

  /* Round trip of a larger, rank-8 array, overwriting the previous file. */
  int64_t dims8[8] = {2, 1, 3, 1, 2, 1, 1, 5};
  float big[60];
  for (int i = 0; i < 60; i++) big[i] = (float)i * 1.5f - 7;
  CHECK(rt_npy_write(p, RT_NPY_F32, big, 8, dims8, err, sizeof err) == 0);
  RtNpy a;
  CHECK_MSG(rt_npy_read(p, &a, err, sizeof err) == 0, "%s", err);
  CHECK(a.rank == 8 && a.count == 60 && memcmp(a.data, big, sizeof big) == 0);
  for (int i = 0; i < 8; i++) CHECK(a.dims[i] == dims8[i]);
  rt_npy_free(&a);

  /* Failures leave no file behind. */
  char missing[160];
  snprintf(missing, sizeof missing, "%s/no/such/dir/x.npy", tmpdir);
  CHECK(rt_npy_write(missing, RT_NPY_F32, f4, 2, cases[0].dims, err,
                     sizeof err) == -1);
  char want[512];
  snprintf(want, sizeof want,
           "%s: error: cannot create temporary file: No "
           "such file or directory",
           missing);
  CHECK_MSG(strcmp(err, want) == 0, "got \"%s\"", err);

  char sub[128];
  tmp_path(sub, sizeof sub, "adir");
  CHECK(mkdir(sub, 0700) == 0);
  CHECK(rt_npy_write(sub, RT_NPY_F32, f4, 2, cases[0].dims, err, sizeof err) ==
        -1);
  CHECK_STR_CONTAINS(err, "error: cannot rename temporary file: ");
  CHECK(rmdir(sub) == 0);

  int64_t neg[] = {2, -3};
  CHECK(rt_npy_write(p, RT_NPY_F32, f4, 2, neg, err, sizeof err) == -1);
  CHECK_STR_CONTAINS(err, "error: cannot write: negative dimension -3");
  CHECK(rt_npy_write(p, RT_NPY_F32, f4, 9, dims8, err, sizeof err) == -1);
  CHECK_STR_CONTAINS(err, "error: cannot write: rank 9 (expected 0..8)");
  CHECK(rt_npy_write(p, RT_NPY_F32, NULL, 2, cases[0].dims, err, sizeof err) ==
        -1);
  CHECK_STR_CONTAINS(err, "error: cannot write: no data");
  CHECK(remove(p) == 0);

  /* Only the files we made are left: no temporaries. */
  DIR *dir = opendir(tmpdir);
  CHECK(dir != NULL);
  struct dirent *e;
  int others = 0;
  while ((e = readdir(dir)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
        strncmp(e->d_name, "h.npy", 5) && strncmp(e->d_name, "ok.npy", 6) &&
        strncmp(e->d_name, "short.npy", 9))
      others++, fprintf(stderr, "left behind: %s\n", e->d_name);
  closedir(dir);
  CHECK(others == 0);
}

/* Every truncation and every single-bit flip of a valid file: the reader
 * either succeeds with consistent sizes or fails with a one-line message. */
static void test_fuzz(void) {
  size_t n;
  unsigned char *good = read_bytes("data/io/i4_2x3x4.npy", &n);
  char p[128], err[512], prefix[160];
  tmp_path(p, sizeof p, "fuzz.npy");
  snprintf(prefix, sizeof prefix, "%s: error: ", p);
  RtNpy a;
  for (size_t len = 0; len < n; len++) {
    write_bytes(p, good, len);
    CHECK_MSG(rt_npy_read(p, &a, err, sizeof err) == -1, "len %zu", len);
    CHECK(strncmp(err, prefix, strlen(prefix)) == 0 && !strchr(err, '\n'));
  }
  unsigned char *bad = malloc(n);
  int ok = 0;
  for (size_t i = 0; i < n; i++)
    for (int bit = 0; bit < 8; bit++) {
      memcpy(bad, good, n);
      bad[i] ^= (unsigned char)(1u << bit);
      write_bytes(p, bad, n);
      if (rt_npy_read(p, &a, err, sizeof err) == 0) {
        CHECK(a.count * rt_npy_itemsize(a.type) <= n);
        if (a.count) {
          volatile unsigned char *q = a.data;
          (void)q[a.count * rt_npy_itemsize(a.type) - 1];
        }
        rt_npy_free(&a);
        ok++;
      } else {
        CHECK(strncmp(err, prefix, strlen(prefix)) == 0 && !strchr(err, '\n'));
      }
    }
  /* flips in the data and in header padding are harmless */
  CHECK(ok > 96 * 8 / 2);
  free(bad);
  free(good);
  remove(p);
}

static void cleanup(void) {
  DIR *dir = opendir(tmpdir);
  if (!dir) return;
  struct dirent *e;
  char p[512];
  while ((e = readdir(dir))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
    remove(p);
  }
  closedir(dir);
  rmdir(tmpdir);
}

int main(void) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/loom_npy_XXXXXX");
  CHECK(mkdtemp(tmpdir) != NULL);
  atexit(cleanup); /* also after a failed CHECK */
  test_read_valid();
  test_read_errors();
  test_write();
  test_fuzz();
  CHECK_DONE();
}
