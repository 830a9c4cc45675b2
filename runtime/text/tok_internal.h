/* tok_internal.h — what tokenizer.c, wordpiece.c and bpe.c share: the
 * opened tokenizer and its hash maps.  Not part of the runtime's API. */
#ifndef LOOM_RUNTIME_TEXT_TOK_INTERNAL_H
#define LOOM_RUNTIME_TEXT_TOK_INTERNAL_H

#include <stdbool.h>

#include "tokenizer.h"
#include "ucd.h"

struct RtTokenizer {
  int kind;
  uint32_t flags, max_chars;
  int32_t unk;
  int32_t *prefix, *suffix; /* the template around a sentence */
  uint32_t n_prefix, n_suffix;
  /* vocabulary: token i is pool[off[i] .. off[i] + len[i]) */
  uint32_t n_vocab;
  char *pool;
  uint32_t *off, *len;
  int32_t *vtab; /* open addressing: string -> id, -1 empty */
  uint32_t vmask;
  uint8_t *special; /* per id: a special added token (decode skips it) */
  /* added tokens, matched in the raw text (leftmost, longest) */
  uint32_t n_added;
  int32_t *added_id;
  uint32_t *added_off, *added_len; /* their text in pool */
  uint8_t added_first[256];        /* a first byte some added token has */
  /* BPE merges: (a, b) -> rank; rank r makes merged[r] */
  uint32_t n_merges;
  uint64_t *mkey; /* ((uint64)a << 32 | b) + 1, 0 empty */
  uint32_t *mrank, mmask;
  int32_t *merged;
  char *cont; /* continuing_subword_prefix */
  uint32_t cont_len;
  /* byte-level alphabet: byte -> its id; code point -> byte (-1) */
  int32_t byte_id[256];
  int16_t char_byte[324];
};

/* The id of the token spelled s[0..n), or -1. */
int32_t rt_tok_lookup(const RtTokenizer *t, const char *s, size_t n);

/* Append one id; -1 when out of memory. */
int rt_ids_push(RtIds *v, int32_t id);

/* Encode a stretch of text holding no added token (valid UTF-8). */
int rt_wordpiece_encode(const RtTokenizer *t, const char *s, size_t n,
                        RtIds *out);
int rt_bpe_encode(const RtTokenizer *t, const char *s, size_t n, RtIds *out);

/* The byte-level alphabet of GPT-2: byte b is shown as code point
 * rt_bpe_byte_char(b) (printable bytes as themselves, the others moved
 * above U+00FF), so that every byte string is a string of visible
 * characters. */
uint32_t rt_bpe_byte_char(unsigned b);

#endif
