/* test_text.c — the C API's text calls and the runtime's tokenizer blob:
 * tokenize and detokenize through loom_tokenizer_open, truncation, the
 * streaming decoder holding back a character split across byte tokens, the
 * caller's mistakes, and a blob cut at every length or with bytes changed:
 * an error, never a crash (the sanitizer build runs this too). */
#include <stdint.h>

#include "tests/check.h"
#include "frontend/hf.h"
#include "loom.h"
#include "runtime/text/tokenizer.h"

int main(void) {
  char err[4096];
  loom_tokenizer *wp, *bpe;
  CHECK(loom_tokenizer_open("text/minilm-tokenizer", &wp, err, sizeof err) == LOOM_OK);
  CHECK(loom_tokenizer_open("text/bpe", &bpe, err, sizeof err) == LOOM_OK);

  int32_t *ids;
  size_t n;
  int truncated;
  CHECK(loom_tokenize(wp, "Hello, world!", 0, &ids, &n, &truncated, err, sizeof err) == LOOM_OK);
  int32_t want[] = {101, 7592, 1010, 2088, 999, 102};
  CHECK(n == 6 && !memcmp(ids, want, sizeof want) && !truncated);
  char *text;
  CHECK(loom_detokenize(wp, ids, n, &text, err, sizeof err) == LOOM_OK);
  CHECK(strcmp(text, "hello, world!") == 0);
  free(text);
  free(ids);
  /* truncation keeps [CLS] and [SEP] */
  CHECK(loom_tokenize(wp, "Hello, world!", 4, &ids, &n, &truncated, err, sizeof err) == LOOM_OK);
  CHECK(n == 4 && ids[0] == 101 && ids[1] == 7592 && ids[3] == 102 && truncated);
  free(ids);
  /* invalid UTF-8; out-of-range id; NULLs */
  CHECK(loom_tokenize(wp, "a\xc3", 0, &ids, &n, NULL, err, sizeof err) == LOOM_ERR_MODEL);
  CHECK_STR_CONTAINS(err, "not valid UTF-8 (byte 1");
  int32_t bad = 1 << 30;
  CHECK(loom_detokenize(wp, &bad, 1, &text, err, sizeof err) == LOOM_ERR_MODEL);
  CHECK(loom_tokenize(NULL, "x", 0, &ids, &n, NULL, err, sizeof err) == LOOM_ERR_USAGE);
  loom_tokenizer *none;
  CHECK(loom_tokenizer_open("text/nope", &none, err, sizeof err) == LOOM_ERR_MODEL);
  CHECK(none == NULL);
  CHECK_STR_CONTAINS(err, "text/nope: error: cannot open");

  /* streaming: 😀 is four byte tokens in the BPE; nothing comes out until
   * the last one */
  CHECK(loom_tokenize(bpe, "a😀", 0, &ids, &n, NULL, err, sizeof err) == LOOM_OK);
  CHECK(n == 5); /* 'a' and the emoji's four bytes (no merge for it) */
  loom_detok_state st = {{0}};
  char out[4096], all[64] = "";
  size_t len, total = 0;
  for (size_t i = 0; i < n; i++) {
    CHECK(loom_detokenize_step(bpe, &st, ids[i], out, sizeof out, &len, err, sizeof err) == LOOM_OK);
    CHECK(i + 1 == n || len <= 1); /* 'a', then nothing until the emoji is whole */
    memcpy(all + total, out, len);
    total += len;
  }
  CHECK(loom_detokenize_step(bpe, &st, -1, out, sizeof out, &len, err, sizeof err) == LOOM_OK);
  CHECK(len == 0 && total == 5 && !memcmp(all, "a😀", 5));
  /* a stream cut inside the character: the flush gives U+FFFD */
  memset(&st, 0, sizeof st);
  CHECK(loom_detokenize_step(bpe, &st, ids[n - 4], out, sizeof out, &len, err, sizeof err) == LOOM_OK);
  CHECK(len == 0); /* the emoji's first byte waits */
  CHECK(loom_detokenize_step(bpe, &st, -1, out, sizeof out, &len, err, sizeof err) == LOOM_OK);
  CHECK(len >= 3 && !memcmp(out, "\xef\xbf\xbd", 3));
  free(ids);

  /* the blob: every truncation and bytes changed are errors or a working
   * tokenizer, never a crash */
  void *blob;
  size_t blen;
  Diag d = {0};
  CHECK(fe_hf_tokenizer("text/bpe", &blob, &blen, &d) == 0);
  for (size_t cut = 0; cut < blen; cut += 1 + cut / 7) {
    RtTokenizer *t;
    CHECK(rt_tok_open(blob, cut, &t, err, sizeof err) == -1);
  }
  unsigned char *copy = malloc(blen);
  uint32_t seed = 1;
  for (int k = 0; k < 300; k++) {
    memcpy(copy, blob, blen);
    for (int j = 0; j < 4; j++) {
      seed = seed * 1103515245u + 12345u;
      size_t at = 8 + (seed >> 8) % (blen - 8);
      copy[at] = (unsigned char)(seed >> 3);
    }
    RtTokenizer *t;
    if (rt_tok_open(copy, blen, &t, err, sizeof err) == 0) {
      RtIds v = {0};
      rt_tok_encode(t, "Hello there, 😀 world!", 23, 0, &v, NULL, err, sizeof err);
      rt_ids_free(&v);
      rt_tok_free(t);
    }
  }
  free(copy);
  free(blob);
  loom_tokenizer_free(wp);
  loom_tokenizer_free(bpe);
  CHECK_DONE();
}
