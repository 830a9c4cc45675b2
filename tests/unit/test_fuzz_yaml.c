/* test_fuzz_yaml.c — model files with random damage never crash the
 * frontend.
 *
 * For a graph-form model and a model of each family: every truncation,
 * and deterministic random mutations (a byte changed to one of YAML's
 * special characters or a random byte, a byte deleted, a line duplicated).
 * Each damaged file is loaded (graph built and verified, weights not
 * bound); it must load, or fail with one located "FILE:...: error: ..."
 * message.  Under the sanitizer build this is the frontend's fuzz test. */
#include <unistd.h>

#include "frontend/frontend.h"
#include "tests/check.h"

static const char *const models[] = {
    "../examples/attention-head.yaml",
    "goldens/transformer-pre-gelu/model.yaml",
    "goldens/gpt2-tiny/model.yaml",
    "goldens/bert-mean-norm/model.yaml",
    "goldens/vit-tiny/model.yaml",
};

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

static char *slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  CHECK_MSG(f != NULL, "cannot open %s (run from tests/)", path);
  fseek(f, 0, SEEK_END);
  *n = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = malloc(*n + 1);
  CHECK(s && fread(s, 1, *n, f) == *n);
  fclose(f);
  return s;
}

static int loads, errors;

static void try_text(const char *tmp, const char *text, size_t n) {
  FILE *f = fopen(tmp, "wb");
  CHECK(f && fwrite(text, 1, n, f) == n);
  fclose(f);
  Diag d = {0};
  FeOptions fo = {.no_weights = true};
  FeModel *m = fe_load(tmp, &fo, &d);
  if (m) {
    loads++;
    fe_model_free(m);
  } else {
    errors++;
    CHECK_MSG(strncmp(d.msg, tmp, strlen(tmp)) == 0 && strstr(d.msg, "error: "),
              "not a located error: %s", d.msg);
  }
}

int main(void) {
  char dir[] = "/tmp/loom-fuzz-XXXXXX";
  CHECK(mkdtemp(dir));
  char tmp[64];
  snprintf(tmp, sizeof tmp, "%s/m.yaml", dir);
  static const char special[] = ":{}[],-#&*!|>'\"%@`\n \t0123456789.";
  for (size_t k = 0; k < sizeof models / sizeof models[0]; k++) {
    size_t n;
    char *text = slurp(models[k], &n);
    char *buf = malloc(2 * n + 2);
    CHECK(buf);
    /* the original loads */
    int before = loads;
    try_text(tmp, text, n);
    CHECK_MSG(loads == before + 1, "%s does not load", models[k]);
    for (size_t cut = 0; cut < n; cut += 3) try_text(tmp, text, cut);
    for (int t = 0; t < 4000; t++) {
      memcpy(buf, text, n);
      size_t len = n, at = next() % n;
      switch (next() % 4) {
      case 0: buf[at] = special[next() % (sizeof special - 1)]; break;
      case 1: buf[at] = (char)(next() & 0xff); break;
      case 2: memmove(buf + at, buf + at + 1, n - at - 1), len--; break;
      default: { /* duplicate the line holding `at` */
        size_t s = at, e = at;
        while (s && buf[s - 1] != '\n') s--;
        while (e < n && buf[e] != '\n') e++;
        if (e < n) e++;
        memmove(buf + e + (e - s), buf + e, n - e);
        memcpy(buf + e, text + s, e - s);
        len = n + (e - s);
      }
      }
      try_text(tmp, buf, len);
    }
    free(buf);
    free(text);
  }
  unlink(tmp);
  rmdir(dir);
  printf("%d loaded, %d rejected with a located error\n", loads, errors);
  CHECK(errors > 1000 && loads > 5);
  CHECK_DONE();
}
