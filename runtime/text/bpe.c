/* bpe.c — byte-level BPE as GPT-2 uses it, and as Hugging Face tokenizers'
 * ByteLevel pre-tokenizer and BPE model run it.
 *
 * 1. (add_prefix_space) a space before text that does not start with one.
 * 2. Split with GPT-2's pattern, first alternative that matches wins:
 *      's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 *    written out by hand below; \s is White_Space, \p{L} and \p{N} the
 *    letter and number categories (ucd.h).  `\s+(?!\S)` takes a run of
 *    white space but leaves its last character to the next piece when a
 *    non-space follows (" a" then stays one piece: "x   a" is "x", "  ",
 *    " a").
 * 3. Each piece's bytes become the byte alphabet's tokens (byte b is shown
 *    as rt_bpe_byte_char(b)), then merges apply by rank: always the
 *    lowest-ranked adjacent pair, the leftmost of equals — the order of
 *    tokenizers' priority queue, and the result of GPT-2's bpe().
 */
#include <stdlib.h>
#include <string.h>

#include "tok_internal.h"

/* GPT-2's bytes_to_unicode: ! .. ~, ¡ .. ¬, ® .. ÿ are themselves; the other
 * 68 bytes, in order, become U+0100 onwards. */
uint32_t rt_bpe_byte_char(unsigned b) {
  int keep = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) ||
             (b >= 0xAE && b <= 0xFF);
  if (keep) return b;
  unsigned n = 0;
  for (unsigned x = 0; x < b; x++)
    n += !((x >= 0x21 && x <= 0x7E) || (x >= 0xA1 && x <= 0xAC) ||
           (x >= 0xAE && x <= 0xFF));
  return 0x100 + n;
}

static uint32_t merge_rank(const RtTokenizer *t, int32_t a, int32_t b,
                           uint32_t *slot) {
  uint64_t key = ((uint64_t)(uint32_t)a << 32 | (uint32_t)b) + 1;
  uint64_t x = key;
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  for (uint32_t h = (uint32_t)x & t->mmask;; h = (h + 1) & t->mmask) {
    if (!t->mkey[h]) return UINT32_MAX;
    if (t->mkey[h] == key) {
      *slot = h;
      return t->mrank[h];
    }
  }
}

/* BPE on one piece's bytes. */
static int piece(const RtTokenizer *t, const unsigned char *s, size_t n,
                 RtIds *out, int32_t *sym) {
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    int32_t id = t->byte_id[s[i]];
    if (id < 0) id = t->unk;
    if (id < 0) continue; /* no token for this byte and no unknown token */
    sym[m++] = id;
  }
  while (m > 1) {
    uint32_t best = UINT32_MAX, slot = 0;
    size_t at = 0;
    for (size_t i = 0; i + 1 < m; i++) {
      uint32_t sl, r = merge_rank(t, sym[i], sym[i + 1], &sl);
      if (r < best) best = r, at = i, slot = sl;
    }
    if (best == UINT32_MAX) break;
    (void)slot;
    sym[at] = t->merged[best];
    memmove(sym + at + 1, sym + at + 2, (m - at - 2) * sizeof *sym);
    m--;
  }
  for (size_t i = 0; i < m; i++)
    if (rt_ids_push(out, sym[i])) return -1;
  return 0;
}

/* The class of the character at s[i] (valid UTF-8): its length in *k. */
enum { C_SPACE, C_LETTER, C_NUMBER, C_OTHER };
static int klass(const unsigned char *s, size_t n, size_t i, size_t *k) {
  uint32_t c;
  *k = rt_utf8_decode(s + i, n - i, &c);
  if (c < 128) {
    if (c == ' ' || (c >= 9 && c <= 13)) return C_SPACE;
    if ((c | 32) >= 'a' && (c | 32) <= 'z') return C_LETTER;
    if (c >= '0' && c <= '9') return C_NUMBER;
    return C_OTHER;
  }
  if (rt_uc_is_space(c)) return C_SPACE;
  if (rt_uc_is_letter(c)) return C_LETTER;
  if (rt_uc_is_number(c)) return C_NUMBER;
  return C_OTHER;
}

/* The end of a run of class k from i. */
static size_t run_of(const unsigned char *s, size_t n, size_t i, int k) {
  size_t len;
  while (i < n && klass(s, n, i, &len) == k) i += len;
  return i;
}

/* The length of GPT-2's next piece at s[i..n). */
static size_t next_piece(const unsigned char *s, size_t n, size_t i) {
  if (s[i] == '\'' && i + 1 < n) {
    unsigned char a = s[i + 1], b = i + 2 < n ? s[i + 2] : 0;
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') ||
        (a == 'l' && b == 'l'))
      return 3;
  }
  size_t j = i + (s[i] == ' ' && i + 1 < n), len;
  int k = klass(s, n, j, &len);
  if (k != C_SPACE && (j == i || s[i] == ' ')) return run_of(s, n, j, k) - i;
  /* white space: \s+(?!\S) | \s+ */
  size_t end = run_of(s, n, i, C_SPACE);
  if (end == n) return end - i;
  /* a non-space follows: give back the last space character */
  size_t last = i, p = i;
  while (p < end) {
    last = p;
    klass(s, n, p, &len);
    p += len;
  }
  return last > i ? last - i : end - i;
}

int rt_bpe_encode(const RtTokenizer *t, const char *text, size_t n,
                  RtIds *out) {
  const unsigned char *s = (const unsigned char *)text;
  unsigned char *with_space = NULL;
  if ((t->flags & RT_TOK_ADD_PREFIX_SPACE) && (n == 0 || s[0] != ' ')) {
    with_space = malloc(n + 1);
    if (!with_space) return -1;
    with_space[0] = ' ';
    memcpy(with_space + 1, s, n);
    s = with_space;
    n++;
  }
  int32_t *sym = malloc((n + 1) * sizeof *sym);
  int rc = sym ? 0 : -1;
  for (size_t i = 0; i < n && !rc;) {
    size_t len = next_piece(s, n, i);
    rc = piece(t, s + i, len, out, sym);
    i += len;
  }
  free(sym);
  free(with_space);
  return rc;
}
