/* tokenizer.c — opening a tokenizer blob, the steps WordPiece and BPE
 * share (added tokens, the template, truncation), and decoding.
 *
 * Encoding follows tokenizers' order: the raw text is first split on the
 * added tokens ([CLS], <|endoftext|>, ...: matched leftmost-longest, as the
 * AddedVocabulary does for tokens that are not normalized), each stretch
 * between them goes through the model's own pipeline (wordpiece.c, bpe.c),
 * then the template puts its special tokens around the sentence.
 *
 * Decoding skips special tokens (tokenizers' skip_special_tokens=True) and
 * is built from a per-token step, so the whole-text decode and the
 * streaming one (for text shown as it is generated) are the same code:
 *   WordPiece: "##x" joins the previous token, other tokens get a space
 *     before them, and with cleanup a token "." "," "?" "!" does not
 *     (tokenizers' WordPiece decoder applies its cleanup per token).
 *   BPE: each character maps back to its byte; a token holding a character
 *     outside the byte alphabet (an added token) is its own UTF-8.  The bytes
 *     become text with ill-formed sequences replaced by U+FFFD, one per
 *     maximal ill-formed subpart (Rust's from_utf8_lossy); a character split
 *     across tokens waits for its last byte.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tok_internal.h"

#define ERR(...) (snprintf(err, errlen, __VA_ARGS__), -1)

void rt_ids_free(RtIds *v) {
  free(v->ids);
  v->ids = NULL;
  v->n = v->cap = 0;
}

int rt_ids_push(RtIds *v, int32_t id) {
  if (v->n == v->cap) {
    size_t cap = v->cap ? v->cap * 2 : 64;
    int32_t *p = realloc(v->ids, cap * sizeof *p);
    if (!p) return -1;
    v->ids = p;
    v->cap = cap;
  }
  v->ids[v->n++] = id;
  return 0;
}

static uint32_t fnv(const char *s, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
  return h;
}

int32_t rt_tok_lookup(const RtTokenizer *t, const char *s, size_t n) {
  for (uint32_t h = fnv(s, n) & t->vmask;; h = (h + 1) & t->vmask) {
    int32_t id = t->vtab[h];
    if (id < 0) return -1;
    if (t->len[id] == n && memcmp(t->pool + t->off[id], s, n) == 0) return id;
  }
}

static uint64_t mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  return x;
}

/* ---- reading the blob ---------------------------------------------------- */

typedef struct {
  const unsigned char *p, *end;
  int bad;
} Rd;

static uint32_t rd_u32(Rd *r) {
  if (r->end - r->p < 4) {
    r->bad = 1;
    return 0;
  }
  uint32_t v = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 |
               (uint32_t)r->p[2] << 16 | (uint32_t)r->p[3] << 24;
  r->p += 4;
  return v;
}

/* A string: its bytes stay in the blob copy (r->p moves past them). */
static const char *rd_str(Rd *r, uint32_t *len) {
  *len = rd_u32(r);
  if (r->bad || (size_t)(r->end - r->p) < *len) {
    r->bad = 1;
    *len = 0;
    return "";
  }
  const char *s = (const char *)r->p;
  r->p += *len;
  return s;
}

static int32_t *rd_ids(Rd *r, uint32_t *n, uint32_t n_vocab) {
  *n = rd_u32(r);
  if (r->bad || *n > 64) {
    r->bad = 1;
    return NULL;
  }
  int32_t *v = calloc(*n + 1, sizeof *v);
  if (!v) {
    r->bad = 1;
    return NULL;
  }
  for (uint32_t i = 0; i < *n; i++) {
    v[i] = (int32_t)rd_u32(r);
    if (v[i] < 0 || (uint32_t)v[i] >= n_vocab) r->bad = 1;
  }
  return v;
}

void rt_tok_free(RtTokenizer *t) {
  if (!t) return;
  free(t->prefix);
  free(t->suffix);
  free(t->pool);
  free(t->off);
  free(t->len);
  free(t->vtab);
  free(t->special);
  free(t->added_id);
  free(t->added_off);
  free(t->added_len);
  free(t->mkey);
  free(t->mrank);
  free(t->merged);
  free(t);
}

int rt_tok_open(const void *blob, size_t n, RtTokenizer **out, char *err,
                size_t errlen) {
  *out = NULL;
  if (n < 8 || memcmp(blob, "LOOMTOK1", 8) != 0)
    return ERR("error: not a loom tokenizer (no LOOMTOK1 header)");
  RtTokenizer *t = calloc(1, sizeof *t);
  if (!t) return ERR("error: out of memory");
  /* One copy of the blob holds every string (the pool). */
  t->pool = malloc(n);
  if (!t->pool) {
    rt_tok_free(t);
    return ERR("error: out of memory");
  }
  memcpy(t->pool, blob, n);
  Rd r = {(const unsigned char *)t->pool + 8,
          (const unsigned char *)t->pool + n, 0};
  t->kind = (int)rd_u32(&r);
  t->flags = rd_u32(&r);
  t->max_chars = rd_u32(&r);
  t->unk = (int32_t)rd_u32(&r);
  /* the template's ids are checked once the vocabulary is known */
  const unsigned char *tmpl = r.p;
  for (int part = 0; part < 2 && !r.bad; part++) { /* prefix, suffix */
    uint32_t skip = rd_u32(&r);
    if ((size_t)(r.end - r.p) / 4 < skip) r.bad = 1;
    else r.p += 4 * (size_t)skip;
  }
  t->n_vocab = rd_u32(&r);
  if (r.bad || t->n_vocab == 0 || t->n_vocab > (1u << 24) ||
      (t->kind != RT_TOK_WORDPIECE && t->kind != RT_TOK_BPE)) {
    rt_tok_free(t);
    return ERR("error: tokenizer blob: bad header");
  }
  t->off = calloc(t->n_vocab, sizeof *t->off);
  t->len = calloc(t->n_vocab, sizeof *t->len);
  t->special = calloc(t->n_vocab, 1);
  uint32_t cap = 1;
  while (cap < 2 * t->n_vocab) cap <<= 1;
  t->vmask = cap - 1;
  t->vtab = malloc(cap * sizeof *t->vtab);
  if (!t->off || !t->len || !t->special || !t->vtab) {
    rt_tok_free(t);
    return ERR("error: out of memory");
  }
  memset(t->vtab, 0xff, cap * sizeof *t->vtab);
  for (uint32_t i = 0; i < t->n_vocab && !r.bad; i++) {
    uint32_t len;
    const char *s = rd_str(&r, &len);
    t->off[i] = (uint32_t)(s - t->pool);
    t->len[i] = len;
    if (!len) continue; /* a hole in the ids */
    uint32_t h = fnv(s, len) & t->vmask;
    while (t->vtab[h] >= 0) h = (h + 1) & t->vmask;
    t->vtab[h] = (int32_t)i;
  }
  const unsigned char *after_vocab = r.p;
  r.p = tmpl;
  t->prefix = rd_ids(&r, &t->n_prefix, t->n_vocab);
  t->suffix = rd_ids(&r, &t->n_suffix, t->n_vocab);
  r.p = after_vocab;
  t->n_added = rd_u32(&r);
  if (!r.bad && t->n_added > 4096) r.bad = 1;
  if (!r.bad) {
    t->added_id = calloc(t->n_added + 1, sizeof *t->added_id);
    t->added_off = calloc(t->n_added + 1, sizeof *t->added_off);
    t->added_len = calloc(t->n_added + 1, sizeof *t->added_len);
    if (!t->added_id || !t->added_off || !t->added_len) r.bad = 1;
  }
  for (uint32_t i = 0; i < t->n_added && !r.bad; i++) {
    int32_t id = (int32_t)rd_u32(&r);
    uint32_t special = rd_u32(&r), len;
    const char *s = rd_str(&r, &len);
    if (id < 0 || (uint32_t)id >= t->n_vocab || len == 0) {
      r.bad = 1;
      break;
    }
    t->added_id[i] = id;
    t->added_off[i] = (uint32_t)(s - t->pool);
    t->added_len[i] = len;
    t->added_first[(unsigned char)s[0]] = 1;
    t->special[id] = special != 0;
  }
  t->n_merges = rd_u32(&r);
  if (!r.bad && t->n_merges > (1u << 24)) r.bad = 1;
  if (!r.bad) {
    cap = 1;
    while (cap < 2 * t->n_merges + 2) cap <<= 1;
    t->mmask = cap - 1;
    t->mkey = calloc(cap, sizeof *t->mkey);
    t->mrank = calloc(cap, sizeof *t->mrank);
    t->merged = calloc(t->n_merges + 1, sizeof *t->merged);
    if (!t->mkey || !t->mrank || !t->merged) r.bad = 1;
  }
  for (uint32_t i = 0; i < t->n_merges && !r.bad; i++) {
    uint32_t a = rd_u32(&r), b = rd_u32(&r);
    if (a >= t->n_vocab || b >= t->n_vocab) {
      r.bad = 1;
      break;
    }
    /* the merged token: the two spellings joined */
    char buf[1024];
    uint32_t la = t->len[a], lb = t->len[b];
    if (la + lb > sizeof buf) {
      r.bad = 1;
      break;
    }
    memcpy(buf, t->pool + t->off[a], la);
    memcpy(buf + la, t->pool + t->off[b], lb);
    int32_t m = rt_tok_lookup(t, buf, la + lb);
    if (m < 0) {
      rt_tok_free(t);
      return ERR("error: tokenizer: merge %u makes '%.*s', which is not in "
                 "the vocabulary", i, (int)(la + lb), buf);
    }
    t->merged[i] = m;
    uint64_t key = ((uint64_t)a << 32 | b) + 1;
    uint32_t h = (uint32_t)mix64(key) & t->mmask;
    while (t->mkey[h] && t->mkey[h] != key) h = (h + 1) & t->mmask;
    if (t->mkey[h]) continue; /* a repeated merge keeps its first rank */
    t->mkey[h] = key;
    t->mrank[h] = i;
  }
  uint32_t clen;
  t->cont = (char *)rd_str(&r, &clen);
  t->cont_len = clen;
  if (r.bad || r.p != r.end || clen > 16 ||
      (t->unk >= 0 && (uint32_t)t->unk >= t->n_vocab)) {
    rt_tok_free(t);
    return ERR("error: tokenizer blob: truncated or malformed");
  }
  if (t->kind == RT_TOK_WORDPIECE && t->unk < 0) {
    rt_tok_free(t);
    return ERR("error: tokenizer: WordPiece needs an unknown token");
  }
  for (int i = 0; i < 324; i++) t->char_byte[i] = -1;
  for (unsigned b = 0; b < 256; b++) {
    char u[4];
    uint32_t c = rt_bpe_byte_char(b);
    t->char_byte[c] = (int16_t)b;
    t->byte_id[b] = rt_tok_lookup(t, u, rt_utf8_encode(c, u));
  }
  *out = t;
  return 0;
}

int rt_tok_kind(const RtTokenizer *t) { return t->kind; }
size_t rt_tok_vocab_size(const RtTokenizer *t) { return t->n_vocab; }
size_t rt_tok_n_special(const RtTokenizer *t) {
  return t->n_prefix + t->n_suffix;
}

const char *rt_tok_token(const RtTokenizer *t, int32_t id, size_t *len) {
  if (id < 0 || (uint32_t)id >= t->n_vocab) return NULL;
  if (len) *len = t->len[id];
  return t->pool + t->off[id];
}

/* ---- encoding ------------------------------------------------------------ */

/* The longest added token starting at s[0..n), or -1; *len its length. */
static int added_at(const RtTokenizer *t, const char *s, size_t n,
                    size_t *len) {
  int best = -1;
  *len = 0;
  if (!t->added_first[(unsigned char)s[0]]) return -1;
  for (uint32_t i = 0; i < t->n_added; i++) {
    uint32_t l = t->added_len[i];
    if (l <= n && l > *len && memcmp(s, t->pool + t->added_off[i], l) == 0) {
      best = (int)i;
      *len = l;
    }
  }
  return best;
}

int rt_tok_encode(const RtTokenizer *t, const char *text, size_t len,
                  size_t max_tokens, RtIds *out, int *truncated, char *err,
                  size_t errlen) {
  if (truncated) *truncated = 0;
  for (size_t i = 0; i < len;) {
    uint32_t cp;
    size_t k = rt_utf8_decode((const unsigned char *)text + i, len - i, &cp);
    if (!k) return ERR("error: the text is not valid UTF-8 (byte %zu: 0x%02x)",
                       i, (unsigned char)text[i]);
    i += k;
  }
  RtIds body = {0};
  size_t start = 0;
  int rc = 0;
  for (size_t i = 0; i <= len && !rc; i++) {
    size_t alen = 0;
    int a = i < len && t->n_added ? added_at(t, text + i, len - i, &alen) : -1;
    if (a < 0 && i < len) continue;
    if (i > start)
      rc = t->kind == RT_TOK_WORDPIECE
               ? rt_wordpiece_encode(t, text + start, i - start, &body)
               : rt_bpe_encode(t, text + start, i - start, &body);
    if (a >= 0 && !rc) rc = rt_ids_push(&body, t->added_id[a]);
    if (a >= 0) {
      i += alen - 1;
      start = i + 1;
    }
  }
  if (rc) {
    rt_ids_free(&body);
    return ERR("error: out of memory while tokenizing");
  }
  size_t keep = body.n, specials = t->n_prefix + t->n_suffix;
  if (max_tokens) {
    size_t room = max_tokens > specials ? max_tokens - specials : 0;
    if (keep > room) {
      keep = room;
      if (truncated) *truncated = 1;
    }
  }
  for (uint32_t i = 0; i < t->n_prefix && !rc; i++)
    rc = rt_ids_push(out, t->prefix[i]);
  for (size_t i = 0; i < keep && !rc; i++) rc = rt_ids_push(out, body.ids[i]);
  for (uint32_t i = 0; i < t->n_suffix && !rc; i++)
    rc = rt_ids_push(out, t->suffix[i]);
  rt_ids_free(&body);
  if (rc) return ERR("error: out of memory while tokenizing");
  return 0;
}

/* ---- decoding ------------------------------------------------------------ */

/* Length of the maximal subpart of an ill-formed sequence at s[0..n) that
 * could start a well-formed one (at least 1): what one U+FFFD replaces. */
static size_t ill_formed_len(const unsigned char *s, size_t n) {
  unsigned c = s[0];
  unsigned lo = 0x80, hi = 0xBF;
  size_t need;
  if (c >= 0xC2 && c <= 0xDF) need = 2;
  else if (c >= 0xE0 && c <= 0xEF) {
    need = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    need = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 1;
  }
  size_t i = 1;
  for (; i < need && i < n; i++) {
    unsigned b = s[i];
    if (i == 1 ? (b < lo || b > hi) : (b & 0xC0) != 0x80) break;
  }
  return i;
}

/* Is s[0..n) the start of a well-formed character that needs more bytes? */
static int incomplete(const unsigned char *s, size_t n) {
  unsigned c = s[0];
  size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
  return n > 0 && c >= 0xC2 && c <= 0xF4 && n < need &&
         ill_formed_len(s, n) == n;
}

/* Append the well-formed prefix of s->pend to out, U+FFFD for ill-formed
 * parts; keep an incomplete tail unless flushing. */
static size_t drain(RtDetok *s, char *out, int flush) {
  size_t w = 0, i = 0, n = (size_t)s->npend;
  while (i < n) {
    uint32_t cp;
    size_t k = rt_utf8_decode(s->pend + i, n - i, &cp);
    if (k) {
      memcpy(out + w, s->pend + i, k);
      w += k;
      i += k;
      continue;
    }
    if (!flush && incomplete(s->pend + i, n - i)) break;
    memcpy(out + w, "\xEF\xBF\xBD", 3);
    w += 3;
    i += ill_formed_len(s->pend + i, n - i);
  }
  memmove(s->pend, s->pend + i, n - i);
  s->npend = (int)(n - i);
  return w;
}

long rt_detok_push(const RtTokenizer *t, RtDetok *s, int32_t id, char *out,
                   size_t cap, char *err, size_t errlen) {
  if (id < 0 || (uint32_t)id >= t->n_vocab)
    return ERR("error: token id %d is out of range (vocabulary of %u)", id,
               t->n_vocab);
  if (t->special[id]) return 0;
  const char *tok = t->pool + t->off[id];
  size_t n = t->len[id], w = 0;
  if (t->kind == RT_TOK_WORDPIECE) {
    if (n + 1 > cap) return ERR("error: detokenize: buffer too small");
    if (s->started && n >= t->cont_len && t->cont_len &&
        memcmp(tok, t->cont, t->cont_len) == 0) {
      tok += t->cont_len;
      n -= t->cont_len;
    } else if (s->started &&
               !((t->flags & RT_TOK_DECODE_CLEANUP) && n == 1 &&
                 strchr(".?!,", tok[0]))) {
      out[w++] = ' ';
    }
    memcpy(out + w, tok, n);
    s->started = 1;
    return (long)(w + n);
  }
  /* BPE: characters back to bytes; a token with a character outside the
   * byte alphabet is its own UTF-8. */
  int mapped = 1;
  for (size_t i = 0; i < n && mapped;) {
    uint32_t cp;
    size_t k = rt_utf8_decode((const unsigned char *)tok + i, n - i, &cp);
    if (!k || cp >= 324 || t->char_byte[cp] < 0) mapped = 0;
    i += k ? k : 1;
  }
  if (cap < 3 * (n + 8)) return ERR("error: detokenize: buffer too small");
  for (size_t i = 0; i < n;) {
    unsigned char b;
    if (mapped) {
      uint32_t cp;
      i += rt_utf8_decode((const unsigned char *)tok + i, n - i, &cp);
      b = (unsigned char)t->char_byte[cp];
    } else {
      b = (unsigned char)tok[i++];
    }
    s->pend[s->npend++] = b;
    /* a well-formed character or a hopeless prefix leaves at once */
    if (!incomplete(s->pend, (size_t)s->npend) || s->npend >= 4)
      w += drain(s, out + w, 0);
  }
  s->started = 1;
  return (long)w;
}

long rt_detok_flush(RtDetok *s, char *out, size_t cap) {
  if (cap < 3 * 8) return 0;
  return (long)drain(s, out, 1);
}

int rt_tok_decode(const RtTokenizer *t, const int32_t *ids, size_t n,
                  char **text, size_t *len, char *err, size_t errlen) {
  size_t cap = 256, w = 0, longest = 0;
  for (uint32_t i = 0; i < t->n_vocab; i++)
    if (t->len[i] > longest) longest = t->len[i];
  size_t step = 3 * (longest + 8) + 64;
  char *buf = malloc(cap + step);
  RtDetok s = {0};
  if (!buf) return ERR("error: out of memory");
  for (size_t i = 0; i <= n; i++) {
    if (w + step > cap) {
      cap = 2 * (w + step);
      char *p = realloc(buf, cap + step);
      if (!p) {
        free(buf);
        return ERR("error: out of memory");
      }
      buf = p;
    }
    long k = i < n ? rt_detok_push(t, &s, ids[i], buf + w, step, err, errlen)
                   : rt_detok_flush(&s, buf + w, step);
    if (k < 0) {
      free(buf);
      return -1;
    }
    w += (size_t)k;
  }
  buf[w] = 0;
  *text = buf;
  if (len) *len = w;
  return 0;
}
