/* tokenizer.h — text to token ids and back, in libc-only C: WordPiece as
 * BERT uses it and byte-level BPE as GPT-2 uses it, each exactly as Hugging
 * Face `tokenizers` does it.
 *
 * A tokenizer is opened from a blob (the "LOOMTOK1" format below), which
 * loom's frontend makes from a model directory's tokenizer.json, vocab.txt
 * or vocab.json + merges.txt (frontend/hf_tokenizer.c, where the JSON
 * library is).  The runtime reads only this blob, so a standalone binary
 * carries its tokenizer as a byte array and needs no JSON parser.
 *
 * Blob (all integers u32 little-endian; a string is u32 length + bytes):
 *
 *   "LOOMTOK1" kind flags max_input_chars_per_word unk_id(-1: none)
 *   n_prefix ids...  n_suffix ids...          the template around a sentence
 *   n_vocab strings...                        token i is id i ("" for a hole)
 *   n_added (id special string)...            added tokens, matched in the
 *                                             raw text before normalizing
 *   n_merges (a b)...                         BPE merges by rank: the ids of
 *                                             the two parts
 *   continuing_subword_prefix                 WordPiece's "##"
 *
 * Errors are a caller's buffer holding one line, as everywhere in runtime/.
 */
#ifndef LOOM_RUNTIME_TEXT_TOKENIZER_H
#define LOOM_RUNTIME_TEXT_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

enum { RT_TOK_WORDPIECE = 1, RT_TOK_BPE = 2 };

/* flags */
enum {
  RT_TOK_CLEAN_TEXT = 1,       /* BertNormalizer: drop controls, map spaces */
  RT_TOK_CHINESE = 2,          /* spaces around CJK ideographs */
  RT_TOK_STRIP_ACCENTS = 4,    /* NFD, then drop nonspacing marks */
  RT_TOK_LOWERCASE = 8,
  RT_TOK_ADD_PREFIX_SPACE = 16, /* ByteLevel: a space before the text */
  RT_TOK_DECODE_CLEANUP = 32,   /* WordPiece decoder: "hello ," -> "hello," */
  RT_TOK_BERT_PRE = 64,         /* BertPreTokenizer (else whitespace only) */
};

typedef struct RtTokenizer RtTokenizer;

/* A growable list of ids. */
typedef struct {
  int32_t *ids;
  size_t n, cap;
} RtIds;
void rt_ids_free(RtIds *v);

/* Open a blob (copied: the caller may free it).  0, or -1 with err. */
int rt_tok_open(const void *blob, size_t len, RtTokenizer **out, char *err,
                size_t errlen);
void rt_tok_free(RtTokenizer *t);
int rt_tok_kind(const RtTokenizer *t);
size_t rt_tok_vocab_size(const RtTokenizer *t);
/* Token id's text as stored in the vocabulary (NULL when out of range). */
const char *rt_tok_token(const RtTokenizer *t, int32_t id, size_t *len);
/* How many ids the template adds around a sentence ([CLS] .. [SEP]: 2). */
size_t rt_tok_n_special(const RtTokenizer *t);

/* UTF-8 text -> ids appended to *out, with the template's special tokens;
 * no truncation when max_tokens is 0, else the sentence's own tokens are cut
 * so that the whole (specials included) has at most max_tokens, and
 * *truncated (may be NULL) is set.  Invalid UTF-8 is an error naming the
 * byte offset. */
int rt_tok_encode(const RtTokenizer *t, const char *text, size_t len,
                  size_t max_tokens, RtIds *out, int *truncated, char *err,
                  size_t errlen);

/* ids -> UTF-8 text (malloc'd, NUL-terminated), special tokens skipped, as
 * tokenizers' decode(ids, skip_special_tokens=True).  An id out of range is
 * an error. */
int rt_tok_decode(const RtTokenizer *t, const int32_t *ids, size_t n,
                  char **text, size_t *len, char *err, size_t errlen);

/* Streaming decode, one id at a time, for text that appears as it is
 * generated: bytes of a UTF-8 character split across tokens are held back
 * until the character is complete (an ill-formed sequence comes out as
 * U+FFFD, as decode does).  Start from a zeroed RtDetok; each call appends to
 * out[0..cap) and returns the bytes written (cap >= 64 + the longest token
 * suffices), or -1 with err; rt_detok_flush ends the stream. */
typedef struct {
  unsigned char pend[8];
  int npend;
  int started; /* a token was written: WordPiece puts a space before words */
} RtDetok;
long rt_detok_push(const RtTokenizer *t, RtDetok *s, int32_t id, char *out,
                   size_t cap, char *err, size_t errlen);
long rt_detok_flush(RtDetok *s, char *out, size_t cap);

#endif
