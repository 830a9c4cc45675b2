/* wordpiece.c — BERT's tokenizer as Hugging Face tokenizers runs it:
 * BertNormalizer, BertPreTokenizer, then the WordPiece model.
 *
 * BertNormalizer, per character and in this order:
 *   clean_text    drop U+0000, U+FFFD and "control" characters (categories
 *                 Cc, Cf, Co, Cs, except \t \n \r: tokenizers' is_other(),
 *                 which keeps unassigned code points); every White_Space
 *                 character becomes ' '
 *   chinese       a CJK ideograph (tokenizers' ranges, below) gets a space
 *                 on each side
 *   strip_accents NFD (canonical decomposition, then canonical reordering of
 *                 combining marks), then drop nonspacing marks (Mn);
 *                 on by default when lowercase is (strip_accents: null)
 *   lowercase     the simple lowercase mapping
 * BertPreTokenizer: split on White_Space (dropped) and on punctuation —
 * ASCII punctuation (which includes $ + < = > ^ ` | ~) or category P* —
 * each punctuation character a word of its own.
 * WordPiece, per word: more than max_input_chars_per_word characters is
 * [UNK]; else greedy longest match from the left, pieces after the first
 * spelled with the continuing prefix ("##"); a word with a piece that
 * matches nothing is [UNK] as a whole.
 *
 * The Unicode facts come from the generated tables (ucd.h).  Where those
 * (utf8proc's Unicode) and tokenizers' own (the Rust unicode_categories
 * crate, an older Unicode) disagree, the README lists the code points.
 */
#include <stdlib.h>
#include <string.h>

#include "tok_internal.h"

/* tokenizers' is_chinese_char: the CJK Unified Ideographs blocks and their
 * extensions, and the compatibility ideographs (its definition, not a
 * Unicode property). */
static int is_chinese(uint32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

static int is_control(uint32_t c) {
  if (c == '\t' || c == '\n' || c == '\r') return 0;
  unsigned k = rt_ucd(c)->cat;
  return k == RT_UC_CC || k == RT_UC_CF || k == RT_UC_CO || k == RT_UC_CS;
}

static int is_bert_punct(uint32_t c) {
  if (c < 128)
    return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) ||
           (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
  return rt_uc_is_punct(c);
}

typedef struct {
  uint32_t *v;
  size_t n, cap;
} Cps;

static int cps_push(Cps *c, uint32_t cp) {
  if (c->n == c->cap) {
    size_t cap = c->cap ? 2 * c->cap : 256;
    uint32_t *p = realloc(c->v, cap * sizeof *p);
    if (!p) return -1;
    c->v = p;
    c->cap = cap;
  }
  c->v[c->n++] = cp;
  return 0;
}

/* Normalize s[0..n) (valid UTF-8) into code points. */
static int normalize(const RtTokenizer *t, const char *s, size_t n, Cps *out) {
  uint32_t f = t->flags;
  int strip = (f & RT_TOK_STRIP_ACCENTS) != 0;
  for (size_t i = 0; i < n;) {
    uint32_t c, d[18];
    i += rt_utf8_decode((const unsigned char *)s + i, n - i, &c);
    if (f & RT_TOK_CLEAN_TEXT) {
      if (c == 0 || c == 0xFFFD || is_control(c)) continue;
      if (rt_uc_is_space(c)) c = ' ';
    }
    int cjk = (f & RT_TOK_CHINESE) && is_chinese(c);
    if (cjk && cps_push(out, ' ')) return -1;
    int nd = strip ? rt_ucd_decompose(c, d) : (d[0] = c, 1);
    for (int k = 0; k < nd; k++)
      if (cps_push(out, d[k])) return -1;
    if (cjk && cps_push(out, ' ')) return -1;
  }
  if (strip) {
    /* canonical ordering: a run of combining marks sorted by class,
     * stably (insertion sort: runs are short) */
    uint32_t *v = out->v;
    for (size_t i = 1; i < out->n; i++) {
      uint8_t ci = rt_ucd(v[i])->ccc;
      if (!ci) continue;
      size_t j = i;
      uint32_t x = v[i];
      while (j > 0 && rt_ucd(v[j - 1])->ccc > ci) {
        v[j] = v[j - 1];
        j--;
      }
      v[j] = x;
    }
    size_t w = 0;
    for (size_t i = 0; i < out->n; i++)
      if (rt_ucd(v[i])->cat != RT_UC_MN) v[w++] = v[i];
    out->n = w;
  }
  if (f & RT_TOK_LOWERCASE)
    for (size_t i = 0; i < out->n; i++)
      out->v[i] = (uint32_t)((int32_t)out->v[i] + rt_ucd(out->v[i])->lower);
  return 0;
}

/* WordPiece on one word w[0..nc) (code points). */
static int word(const RtTokenizer *t, const uint32_t *w, size_t nc,
                RtIds *out, char *buf, size_t *bound) {
  if (nc > t->max_chars) return rt_ids_push(out, t->unk);
  /* UTF-8 after the continuing prefix, with the character boundaries */
  char *u = buf + t->cont_len;
  memcpy(buf, t->cont, t->cont_len);
  bound[0] = 0;
  for (size_t i = 0; i < nc; i++)
    bound[i + 1] = bound[i] + rt_utf8_encode(w[i], u + bound[i]);
  size_t first = out->n;
  for (size_t start = 0; start < nc;) {
    int32_t id = -1;
    size_t end = nc;
    for (; end > start; end--) {
      /* a piece after the first is looked up with the prefix before it:
       * the prefix is copied just before the piece's bytes */
      const char *p = u + bound[start];
      size_t len = bound[end] - bound[start];
      if (start > 0) {
        char *q = (char *)p - t->cont_len;
        char save[16];
        memcpy(save, q, t->cont_len);
        memcpy(q, t->cont, t->cont_len);
        id = rt_tok_lookup(t, q, len + t->cont_len);
        memcpy(q, save, t->cont_len);
      } else {
        id = rt_tok_lookup(t, p, len);
      }
      if (id >= 0) break;
    }
    if (id < 0) {
      out->n = first;
      return rt_ids_push(out, t->unk);
    }
    if (rt_ids_push(out, id)) return -1;
    start = end;
  }
  return 0;
}

int rt_wordpiece_encode(const RtTokenizer *t, const char *s, size_t n,
                        RtIds *out) {
  Cps c = {0};
  int rc = normalize(t, s, n, &c);
  /* scratch for one word: its UTF-8 after the prefix, and boundaries */
  size_t longest = 0, run = 0;
  for (size_t i = 0; i < c.n; i++) {
    run = rt_uc_is_space(c.v[i]) ? 0 : run + 1;
    if (run > longest) longest = run;
  }
  char *buf = malloc(4 * longest + 32);
  size_t *bound = malloc((longest + 2) * sizeof *bound);
  if (!buf || !bound) rc = -1;
  int bert = (t->flags & RT_TOK_BERT_PRE) != 0;
  size_t start = 0;
  for (size_t i = 0; i <= c.n && !rc; i++) {
    uint32_t ch = i < c.n ? c.v[i] : ' ';
    int space = rt_uc_is_space(ch), punct = !space && bert && is_bert_punct(ch);
    if (!space && !punct) continue;
    if (i > start) rc = word(t, c.v + start, i - start, out, buf, bound);
    if (punct && !rc) rc = word(t, c.v + i, 1, out, buf, bound);
    start = i + 1;
  }
  free(buf);
  free(bound);
  free(c.v);
  return rc;
}
