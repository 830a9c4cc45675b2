/* test_safetensors.c — frontend/safetensors.c against files the safetensors
 * library wrote, against hand-made broken headers, and under a fuzz loop.
 *
 * Fixtures come from tests/data/io/make_io_data.py; the expected values below
 * are the generator's formulas and value lists.  Broken files are built here
 * in a temporary directory, one header per error, and each error message is
 * checked in full.  The fuzz loop (every truncation and every bit flip of the
 * valid files) is what makes an -fsanitize=address,undefined run useful.
 */
#include <dirent.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frontend/safetensors.h"
#include "tests/check.h"

static char tmpdir[64];

static void write_bytes(const char *path, const void *p, size_t n) {
  FILE *f = fopen(path, "wb");
  CHECK(f != NULL);
  CHECK(n == 0 || fwrite(p, 1, n, f) == n);
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

/* tmpdir/t.safetensors: u64 length, `header`, then `ndata` bytes 0..255. */
static const char *write_st_len(const char *header, size_t hl, size_t ndata) {
  static char p[128];
  snprintf(p, sizeof p, "%s/t.safetensors", tmpdir);
  unsigned char *b = malloc(8 + hl + ndata);
  for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)hl >> 8 * i);
  memcpy(b + 8, header, hl);
  for (size_t i = 0; i < ndata; i++) b[8 + hl + i] = (unsigned char)i;
  write_bytes(p, b, 8 + hl + ndata);
  free(b);
  return p;
}

static const char *write_st(const char *header, size_t ndata) {
  return write_st_len(header, strlen(header), ndata);
}

/* Opening `path` fails with exactly "PATH: error: " + msg. */
static void expect_error(const char *path, const char *msg) {
  StFile f;
  Diag d = {0};
  char want[1024];
  CHECK_MSG(fe_st_open(path, &f, &d) == -1, "%s: expected \"%s\"", path, msg);
  CHECK(f.map == NULL && f.tensors == NULL && f.n == 0);
  fe_st_close(&f);
  CHECK(d.failed);
  snprintf(want, sizeof want, "%s: error: %s", path, msg);
  CHECK_MSG(strcmp(d.msg, want) == 0, "got \"%s\" want \"%s\"", d.msg, want);
}

static void expect_header_error(const char *header, size_t ndata,
                                const char *msg) {
  expect_error(write_st(header, ndata), msg);
}

static const StTensor *get(const StFile *f, const char *name, StDType dt,
                           int rank, int64_t numel) {
  const StTensor *t = fe_st_find(f, name);
  CHECK_MSG(t != NULL, "no tensor '%s'", name);
  CHECK(strcmp(t->name, name) == 0);
  CHECK_MSG(t->dtype == dt && t->rank == rank && fe_st_numel(t) == numel,
            "%s: %s rank %d numel %lld", name, fe_st_dtype_name(t->dtype),
            t->rank, (long long)fe_st_numel(t));
  CHECK(t->nbytes == (size_t)numel * fe_st_dtype_size(dt));
  return t;
}

/* Convert t and compare with want[] exactly (same bits, nan == nan). */
static void check_f32(const StFile *f, const StTensor *t, const float *want,
                      int n) {
  float got[32];
  Diag d = {0};
  CHECK(n <= 32);
  CHECK_MSG(fe_st_to_f32(f, t, got, &d) == 0, "%s", d.msg);
  for (int i = 0; i < n; i++) {
    int same = isnan(want[i]) ? isnan(got[i])
                              : memcmp(&got[i], &want[i], sizeof(float)) == 0;
    CHECK_MSG(same, "%s[%d]: got %.9g (%a) want %.9g (%a)", t->name, i, got[i],
              got[i], want[i], want[i]);
  }
}

static void test_all_dtypes(void) {
  StFile f;
  Diag d = {0};
  CHECK_MSG(fe_st_open("data/io/all.safetensors", &f, &d) == 0, "%s", d.msg);
  CHECK(!d.failed && f.n == 10 && f.size == 767);
  CHECK(strcmp(f.path, "data/io/all.safetensors") == 0);
  for (int i = 1; i < f.n; i++)
    CHECK(strcmp(f.tensors[i - 1].name, f.tensors[i].name) < 0);

  const StTensor *t = get(&f, "a", ST_F32, 2, 6);
  CHECK(t->shape[0] == 2 && t->shape[1] == 3);
  float w[32];
  for (int i = 0; i < 6; i++) w[i] = (float)i / 4 - 0.5f;
  check_f32(&f, t, w, 6);

  t = get(&f, "scalar", ST_F32, 0, 1);
  w[0] = 3.5f;
  check_f32(&f, t, w, 1);

  t = get(&f, "d", ST_F64, 1, 3);
  for (int i = 0; i < 3; i++) w[i] = (float)(i / 3.0 + 1);
  check_f32(&f, t, w, 3);

  t = get(&f, "i64", ST_I64, 1, 4);
  const float wi64[] = {-1099511627776.0f, -1, 0, 16777216};
  check_f32(&f, t, wi64, 4);
  t = get(&f, "i32", ST_I32, 1, 4);
  const float wi32[] = {-1500, -500, 500, 1500};
  check_f32(&f, t, wi32, 4);
  t = get(&f, "i16", ST_I16, 1, 4);
  const float wi16[] = {-32768, -1, 0, 32767};
  check_f32(&f, t, wi16, 4);
  t = get(&f, "i8", ST_I8, 1, 4);
  const float wi8[] = {-128, -1, 0, 127};
  check_f32(&f, t, wi8, 4);
  t = get(&f, "u8", ST_U8, 1, 4);
  const float wu8[] = {0, 1, 128, 255};
  check_f32(&f, t, wu8, 4);
  t = get(&f, "mask", ST_BOOL, 1, 3);
  const float wb[] = {1, 0, 1};
  check_f32(&f, t, wb, 3);

  t = get(&f, "empty", ST_F32, 2, 0);
  CHECK(t->shape[0] == 0 && t->shape[1] == 3 && t->nbytes == 0);
  CHECK(fe_st_to_f32(&f, t, NULL, &d) == 0);

  CHECK(fe_st_find(&f, "nope") == NULL);
  CHECK(fe_st_find(&f, "__metadata__") == NULL);
  CHECK(fe_st_find(&f, "") == NULL);

  /* A tensor from elsewhere is refused, not read. */
  StTensor fake = *fe_st_find(&f, "a");
  float other[6];
  fake.data = other;
  CHECK(fe_st_to_f32(&f, &fake, w, &d) == -1);
  CHECK_MSG(strcmp(d.msg,
                   "data/io/all.safetensors: error: tensor 'a' does "
                   "not belong to this file") == 0,
            "%s", d.msg);

  fe_st_close(&f);
  CHECK(f.map == NULL && f.tensors == NULL && f.n == 0);
  fe_st_close(&f); /* twice is fine */

  CHECK(strcmp(fe_st_dtype_name(ST_BF16), "BF16") == 0);
  CHECK(strcmp(fe_st_dtype_name(ST_BOOL), "BOOL") == 0);
  CHECK(strcmp(fe_st_dtype_name((StDType)99), "?") == 0);
  CHECK(fe_st_dtype_size(ST_F64) == 8 && fe_st_dtype_size(ST_BF16) == 2);
}

static void test_half(void) {
  StFile f;
  Diag d = {0};
  CHECK_MSG(fe_st_open("data/io/f16.safetensors", &f, &d) == 0, "%s", d.msg);
  const StTensor *t = get(&f, "h", ST_F16, 1, 11);
  /* F16_VALUES; 0.1 is stored as the nearest half, 0x2e66. */
  const float wh[] = {1.0f,     -2.5f,    0x1p-24f,   0x1p-15f,
                      0x1p-14f, 65504.0f, INFINITY,   -INFINITY,
                      NAN,      -0.0f,    0x1.998p-4f};
  check_f32(&f, t, wh, 11);
  fe_st_close(&f);

  CHECK_MSG(fe_st_open("data/io/bf16.safetensors", &f, &d) == 0, "%s", d.msg);
  t = get(&f, "b", ST_BF16, 1, 12);
  /* BF16_VALUES, then 0x7f7f (largest finite) and 0x0001 (smallest). */
  const float wb[] = {1.0f,      -2.5f,      0x1p-126f,   0x1p-130f,
                      0x1p-133f, INFINITY,   -INFINITY,   NAN,
                      -0.0f,     0.1015625f, 0x1.fep127f, 0x1p-133f};
  check_f32(&f, t, wb, 12);
  float got[12];
  CHECK(fe_st_to_f32(&f, t, got, &d) == 0);
  CHECK(signbit(got[8]) && !signbit(got[0]));
  fe_st_close(&f);
}

static void test_fixture_errors(void) {
  expect_error("data/io/bad_offsets.safetensors",
               "tensor 'h.0.attn.c_attn.weight': data_offsets span 100 bytes "
               "but F32 [5,6] needs 120");
  expect_error("data/io/truncated.safetensors",
               "tensor 'u8': data_offsets [112, 116] out of range (the data "
               "buffer is 114 bytes)");
  expect_error("data/io/missing.safetensors",
               "cannot open: No such file or directory");
  expect_error("data/io", "not a regular file");
  expect_error("data/io/f4_2x3.npy",
               "header length 379676406402707 exceeds the file size (152 "
               "bytes)");
}

static void test_header_errors(void) {
  char p[128];
  snprintf(p, sizeof p, "%s/t.safetensors", tmpdir);
  write_bytes(p, "", 0);
  expect_error(p, "empty file (not a safetensors file)");
  write_bytes(p, "\x02\0\0\0\0", 5);
  expect_error(p, "file is 5 bytes, too short for a safetensors header");
  write_bytes(p, "\xe8\x03\0\0\0\0\0\0{}", 10);
  expect_error(p, "header length 1000 exceeds the file size (10 bytes)");

  /* The empty object is a valid file with no tensors; so is padding. */
  StFile f;
  Diag d = {0};
  CHECK(fe_st_open(write_st("{}", 0), &f, &d) == 0 && f.n == 0);
  CHECK(fe_st_find(&f, "a") == NULL);
  fe_st_close(&f);
  CHECK(fe_st_open(write_st("  {\"__metadata__\":{}, \"x\": {\"dtype\": "
                            "\"I8\", \"shape\": [2], \"data_offsets\": [0, 2], "
                            "\"extra\": 1}}   ",
                            2),
                   &f, &d) == 0);
  CHECK(f.n == 1 && fe_st_find(&f, "x") && fe_st_find(&f, "x")->nbytes == 2);
  fe_st_close(&f);
  /* Any JSON value is fine in keys we ignore; escapes work in names. */
  CHECK_MSG(fe_st_open(write_st("{\"x\\u00e9\\/\\\"\": {\"dtype\": \"U8\", "
                                "\"shape\": [1], \"data_offsets\": [0, 1], "
                                "\"q\": [1.5e-3, -2E+2, true, false, null, "
                                "{\"k\": \"]}\"}]}}",
                                1),
                       &f, &d) == 0,
            "%s", d.msg);
  CHECK(f.n == 1 && fe_st_find(&f, "x\xc3\xa9/\""));
  fe_st_close(&f);

  expect_header_error("", 0, "header is not a JSON object");
  expect_header_error("   ", 0, "header is not a JSON object");
  expect_header_error("[1, 2]", 0, "header is not a JSON object");
  expect_header_error("a: b", 0, "header is not a JSON object");
  expect_header_error("{\"a\":", 0,
                      "malformed header JSON: did not find expected node "
                      "content (at header byte 5)");
  expect_header_error("{} {}", 0,
                      "malformed header JSON: unexpected text after "
                      "the object");
  expect_header_error("{}\n---\n{}", 0,
                      "malformed header JSON: unexpected text "
                      "after the object");
  expect_header_error("{\"a\": [[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]}", 0,
                      "malformed header JSON: nested more than 16 levels deep");
  expect_header_error("{\"a\": &x {}}", 0,
                      "malformed header JSON: unexpected '&' at header byte 6");
  expect_header_error("{'a': {}}", 0,
                      "malformed header JSON: unexpected ''' at header byte 1");
  expect_header_error("{\"a\": yes}", 0,
                      "malformed header JSON: unexpected 'yes' at header "
                      "byte 6");
  expect_header_error("{} # comment", 0,
                      "malformed header JSON: unexpected '#' at header byte 3");
  expect_header_error("{}]", 0,
                      "malformed header JSON: unexpected ']' at header byte 2");
  expect_header_error("{\"a\x01\": 1}", 0,
                      "malformed header JSON: control characters are not "
                      "allowed (at header byte 3)");
  expect_header_error("{\"a\": 1, \"b\x01", 0,
                      "malformed header JSON: unterminated string");
  expect_error(write_st_len("{\0}", 3, 0),
               "malformed header JSON: unexpected byte 0x00 at header byte 1");
  expect_header_error("{\"\xc3\xa9\xc3\xa9\" \"x\"}", 0,
                      "malformed header JSON: did not find expected ',' or "
                      "'}' (at header byte 8)");
  expect_header_error("{[1]: 2}", 0, "header key is not a string");
  expect_header_error("{1: {}}", 0, "header key is not a string");
  expect_header_error("{\"__metadata__\": {\"k\": 1}}", 0,
                      "'__metadata__' is not a map of strings");
  expect_header_error("{\"w\": 5}", 0, "tensor 'w': entry is not an object");

#define W(rest) "{\"w\": {" rest "}}"
  expect_header_error(W("\"shape\": [2], \"data_offsets\": [0, 8]"), 8,
                      "tensor 'w': missing 'dtype'");
  expect_header_error(W("\"dtype\": \"F32\", \"data_offsets\": [0, 8]"), 8,
                      "tensor 'w': missing 'shape'");
  expect_header_error(W("\"dtype\": \"F32\", \"shape\": [2]"), 8,
                      "tensor 'w': missing 'data_offsets'");
  expect_header_error(W("\"dtype\": \"F8_E4M3\", \"shape\": [2], "
                        "\"data_offsets\": [0, 2]"),
                      2,
                      "tensor 'w': unsupported dtype 'F8_E4M3' (expected F32, "
                      "F16, BF16, F64, I64, I32, I16, I8, U8 or BOOL)");
  expect_header_error(W("\"dtype\": \"f32\", \"shape\": [2], "
                        "\"data_offsets\": [0, 8]"),
                      8,
                      "tensor 'w': unsupported dtype 'f32' (expected F32, "
                      "F16, BF16, F64, I64, I32, I16, I8, U8 or BOOL)");
  expect_header_error(W("\"dtype\": [1], \"shape\": [2], "
                        "\"data_offsets\": [0, 8]"),
                      8, "tensor 'w': dtype is not a string");
  expect_header_error(W("\"dtype\": \"F32\", \"dtype\": \"F32\", \"shape\": "
                        "[2], \"data_offsets\": [0, 8]"),
                      8, "tensor 'w': duplicate key 'dtype'");
  expect_header_error(W("\"dtype\": \"F32\", \"shape\": [-2, 3], "
                        "\"data_offsets\": [0, 8]"),
                      8, "tensor 'w': negative dimension -2 in shape");
  expect_header_error(W("\"dtype\": \"F32\", \"shape\": [\"2\"], "
                        "\"data_offsets\": [0, 8]"),
                      8, "tensor 'w': shape is not a list of integers");
  expect_header_error(W("\"dtype\": \"F32\", \"shape\": [2.0], "
                        "\"data_offsets\": [0, 8]"),
                      8, "tensor 'w': shape is not a list of integers");
  expect_header_error(W("\"dtype\": \"F32\", \"shape\": 2, "
                        "\"data_offsets\": [0, 8]"),
                      8, "tensor 'w': shape is not a list of integers");
  expect_header_error(W("\"dtype\": \"F32\", \"shape\": "
                        "[99999999999999999999], \"data_offsets\": [0, 8]"),
                      8, "tensor 'w': shape is not a list of integers");
  expect_header_error(W("\"dtype\": \"F32\", \"shape\": [1,1,1,1,1,1,1,1,1], "
                        "\"data_offsets\": [0, 4]"),
                      4, "tensor 'w': rank 9 is more than 8");
  expect_header_error(W("\"dtype\": \"F32\", \"shape\": [4294967296, "
                        "4294967296, 4294967296], \"data_offsets\": [0, 8]"),
                      8,
                      "tensor 'w': shape [4294967296,4294967296,4294967296] "
                      "is too large");
  expect_header_error(W("\"dtype\": \"F32\", \"shape\": [2], "
                        "\"data_offsets\": [8, 0]"),
                      8,
                      "tensor 'w': data_offsets [8, 0] has end before begin");
  expect_header_error(W("\"dtype\": \"F32\", \"shape\": [4], "
                        "\"data_offsets\": [0, 16]"),
                      8,
                      "tensor 'w': data_offsets [0, 16] out of range (the "
                      "data buffer is 8 bytes)");
  expect_header_error(W("\"dtype\": \"F32\", \"shape\": [2], "
                        "\"data_offsets\": [0, 18446744073709551615]"),
                      8,
                      "tensor 'w': data_offsets [0, 18446744073709551615] out "
                      "of range (the data buffer is 8 bytes)");
  expect_header_error(W("\"dtype\": \"F32\", \"shape\": [2], "
                        "\"data_offsets\": [0]"),
                      8,
                      "tensor 'w': data_offsets is not a list of two "
                      "non-negative integers");
  expect_header_error(W("\"dtype\": \"F32\", \"shape\": [2], "
                        "\"data_offsets\": [-8, 0]"),
                      8,
                      "tensor 'w': data_offsets is not a list of two "
                      "non-negative integers");
  expect_header_error(W("\"dtype\": \"BF16\", \"shape\": [2, 3], "
                        "\"data_offsets\": [0, 8]"),
                      8,
                      "tensor 'w': data_offsets span 8 bytes but BF16 [2,3] "
                      "needs 12");
  expect_header_error(W("\"dtype\": \"F32\", \"shape\": [], "
                        "\"data_offsets\": [0, 0]"),
                      8,
                      "tensor 'w': data_offsets span 0 bytes but F32 [] "
                      "needs 4");
#undef W
  expect_header_error(
      "{\"w\": {\"dtype\": \"F32\", \"shape\": [2], "
      "\"data_offsets\": [0, 8]}, \"w\": {\"dtype\": \"F32\", "
      "\"shape\": [2], \"data_offsets\": [8, 16]}}",
      16, "duplicate tensor name 'w'");
  expect_header_error(
      "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], "
      "\"data_offsets\": [0, 8]}, \"b\": {\"dtype\": \"F32\", "
      "\"shape\": [2], \"data_offsets\": [4, 12]}}",
      16, "tensors 'a' and 'b' overlap in the data buffer");
  expect_header_error(
      "{\"a\\u0000b\": {\"dtype\": \"I8\", \"shape\": [1], "
      "\"data_offsets\": [0, 1]}}",
      1, "tensor name contains a NUL byte");
  expect_header_error("{\"__metadata__\": {\"k\": [1]}}", 0,
                      "'__metadata__' is not a map of strings");
  expect_header_error("{\"__metadata__\": \"x\"}", 0,
                      "'__metadata__' is not a map of strings");
  expect_header_error("{\"__metadata__\": {}, \"__metadata__\": {}}", 0,
                      "duplicate '__metadata__'");
}

/* Every truncation of a valid file fails cleanly; every single-bit flip
 * either fails cleanly or opens a file whose tensors can all be read. */
static void fuzz_file(const char *src) {
  size_t n;
  unsigned char *good = read_bytes(src, &n);
  char p[128], prefix[160];
  snprintf(p, sizeof p, "%s/fuzz.safetensors", tmpdir);
  snprintf(prefix, sizeof prefix, "%s: error: ", p);
  StFile f;
  for (size_t len = 0; len < n; len++) {
    write_bytes(p, good, len);
    Diag d = {0};
    CHECK_MSG(fe_st_open(p, &f, &d) == -1, "%s cut to %zu bytes opened", src,
              len);
    CHECK_MSG(strncmp(d.msg, prefix, strlen(prefix)) == 0, "%s", d.msg);
    fe_st_close(&f);
  }
  unsigned char *bad = malloc(n);
  float *buf = malloc(n * 8 + 4);
  int opened = 0;
  for (size_t i = 0; i < n; i++)
    for (int bit = 0; bit < 8; bit++) {
      memcpy(bad, good, n);
      bad[i] ^= (unsigned char)(1u << bit);
      write_bytes(p, bad, n);
      Diag d = {0};
      if (fe_st_open(p, &f, &d) == 0) {
        opened++;
        for (int k = 0; k < f.n; k++) {
          const StTensor *t = &f.tensors[k];
          CHECK(fe_st_find(&f, t->name) == t);
          CHECK(fe_st_numel(t) <= (int64_t)n * 8);
          CHECK_MSG(fe_st_to_f32(&f, t, buf, &d) == 0, "%s", d.msg);
        }
      } else {
        CHECK_MSG(strncmp(d.msg, prefix, strlen(prefix)) == 0, "%s", d.msg);
      }
      fe_st_close(&f);
    }
  CHECK(opened > 0); /* flips in the data still open */
  free(buf);
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
  snprintf(tmpdir, sizeof tmpdir, "/tmp/loom_st_XXXXXX");
  CHECK(mkdtemp(tmpdir) != NULL);
  atexit(cleanup); /* also after a failed CHECK */
  test_all_dtypes();
  test_half();
  test_fixture_errors();
  test_header_errors();
  fuzz_file("data/io/f16.safetensors");
  fuzz_file("data/io/bf16.safetensors");
  fuzz_file("data/io/all.safetensors");
  CHECK_DONE();
}
