/* hf_tokenizer.c — a model directory's tokenizer files as the runtime's
 * tokenizer blob (runtime/text/tokenizer.h says the format).
 *
 * Read, in this order of preference:
 *   tokenizer.json          tokenizers' own file: WordPiece with
 *                           BertNormalizer + BertPreTokenizer, or BPE with
 *                           the ByteLevel pre-tokenizer; its added tokens,
 *                           post-processor (the template) and decoder
 *   vocab.txt               BERT's vocabulary, one token a line, with
 *                           tokenizer_config.json's do_lower_case,
 *                           strip_accents, tokenize_chinese_chars; [CLS] A
 *                           [SEP]
 *   vocab.json, merges.txt  GPT-2's files: byte-level BPE, no template
 * Anything in them that would tokenize differently from what the runtime
 * does (another normalizer or pre-tokenizer, BPE dropout, an added token
 * with lstrip/rstrip/single_word, ...) is an error naming the key, never
 * silently ignored.  Padding and truncation settings are not the
 * tokenizer's business here: `loom run --text` truncates at the model's
 * maximum length and never pads.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "frontend/hf.h"
#include "frontend/json_util.h"
#include "runtime/text/tokenizer.h"

typedef struct {
  const char **tok; /* by id */
  size_t *tlen;
  int64_t n;
  int32_t unk;
  uint32_t kind, flags, max_chars;
  int32_t prefix[8], suffix[8];
  uint32_t n_prefix, n_suffix;
  struct { int32_t id; int special; const char *s; } added[256];
  uint32_t n_added;
  int32_t (*merges)[2];
  size_t n_merges;
  const char *cont;
} Tok;

typedef struct {
  unsigned char *p;
  size_t n, cap;
  int oom;
} Buf;

static void put(Buf *b, const void *s, size_t n) {
  if (b->n + n > b->cap) {
    size_t cap = 2 * (b->n + n) + 1024;
    unsigned char *p = realloc(b->p, cap);
    if (!p) {
      b->oom = 1;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
}
static void put_u32(Buf *b, uint32_t v) {
  unsigned char x[4] = {(unsigned char)v, (unsigned char)(v >> 8),
                        (unsigned char)(v >> 16), (unsigned char)(v >> 24)};
  put(b, x, 4);
}
static void put_str(Buf *b, const char *s, size_t n) {
  put_u32(b, (uint32_t)n);
  put(b, s, n);
}

static int write_blob(const Tok *t, void **blob, size_t *len) {
  Buf b = {0};
  put(&b, "LOOMTOK1", 8);
  put_u32(&b, t->kind);
  put_u32(&b, t->flags);
  put_u32(&b, t->max_chars);
  put_u32(&b, (uint32_t)t->unk);
  put_u32(&b, t->n_prefix);
  for (uint32_t i = 0; i < t->n_prefix; i++) put_u32(&b, (uint32_t)t->prefix[i]);
  put_u32(&b, t->n_suffix);
  for (uint32_t i = 0; i < t->n_suffix; i++) put_u32(&b, (uint32_t)t->suffix[i]);
  put_u32(&b, (uint32_t)t->n);
  for (int64_t i = 0; i < t->n; i++)
    put_str(&b, t->tok[i] ? t->tok[i] : "", t->tok[i] ? t->tlen[i] : 0);
  put_u32(&b, t->n_added);
  for (uint32_t i = 0; i < t->n_added; i++) {
    put_u32(&b, (uint32_t)t->added[i].id);
    put_u32(&b, (uint32_t)t->added[i].special);
    put_str(&b, t->added[i].s, strlen(t->added[i].s));
  }
  put_u32(&b, (uint32_t)t->n_merges);
  for (size_t i = 0; i < t->n_merges; i++) {
    put_u32(&b, (uint32_t)t->merges[i][0]);
    put_u32(&b, (uint32_t)t->merges[i][1]);
  }
  put_str(&b, t->cont ? t->cont : "", t->cont ? strlen(t->cont) : 0);
  if (b.oom) {
    free(b.p);
    return -1;
  }
  *blob = b.p;
  *len = b.n;
  return 0;
}

static void tok_free(Tok *t) {
  free(t->tok);
  free(t->tlen);
  free(t->merges);
}

/* Room for ids 0..n-1. */
static int tok_alloc(Tok *t, int64_t n) {
  t->n = n;
  t->tok = calloc((size_t)n + 1, sizeof *t->tok);
  t->tlen = calloc((size_t)n + 1, sizeof *t->tlen);
  return t->tok && t->tlen ? 0 : -1;
}

static int32_t find_tok(const Tok *t, const char *s) {
  size_t n = strlen(s);
  for (int64_t i = 0; i < t->n; i++)
    if (t->tok[i] && t->tlen[i] == n && !memcmp(t->tok[i], s, n))
      return (int32_t)i;
  return -1;
}

static bool exists(const char *dir, const char *file, char *path, size_t cap) {
  struct stat st;
  snprintf(path, cap, "%s/%s", dir, file);
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* A vocabulary object {token: id} into t. */
static int read_vocab_obj(Tok *t, json_t *vocab, int64_t min_n, const char *path,
                          const char *key, Diag *d) {
  const char *k;
  json_t *v;
  int64_t n = min_n;
  json_object_foreach(vocab, k, v) {
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        json_integer_value(v) >= (1 << 24))
      return fe_json_error(d, path, key, "the id of token '%s' is not an "
                                         "integer in 0..2^24", k);
    if (json_integer_value(v) + 1 > n) n = json_integer_value(v) + 1;
  }
  if (tok_alloc(t, n)) return ir_file_errorf(d, path, "out of memory");
  json_object_foreach(vocab, k, v) {
    int64_t id = json_integer_value(v);
    if (t->tok[id])
      return fe_json_error(d, path, key, "tokens '%s' and '%s' have the same "
                                         "id %lld", t->tok[id], k, (long long)id);
    t->tok[id] = k;
    t->tlen[id] = strlen(k);
  }
  return 0;
}

/* "a b" or ["a", "b"] merges into ids. */
static int read_merges(Tok *t, json_t *merges, const char *path, Diag *d) {
  size_t n = json_array_size(merges);
  t->merges = calloc(n + 1, sizeof *t->merges);
  if (!t->merges) return ir_file_errorf(d, path, "out of memory");
  /* an index of the vocabulary: tokens sorted would do; a hash is simpler
   * through the runtime, but ids come from the file order here. */
  json_t *index = json_object();
  for (int64_t i = 0; i < t->n; i++)
    if (t->tok[i]) json_object_set_new(index, t->tok[i], json_integer(i));
  for (size_t i = 0; i < n; i++) {
    json_t *m = json_array_get(merges, i);
    char a[512], b[512];
    if (json_is_string(m)) {
      const char *s = json_string_value(m), *sp = strchr(s, ' ');
      if (!sp || strchr(sp + 1, ' ') || (size_t)(sp - s) >= sizeof a ||
          strlen(sp + 1) >= sizeof b) {
        json_decref(index);
        return fe_json_error(d, path, "model", "merge %zu ('%s') is not two "
                                               "tokens separated by a space", i, s);
      }
      snprintf(a, sizeof a, "%.*s", (int)(sp - s), s);
      snprintf(b, sizeof b, "%s", sp + 1);
    } else if (json_is_array(m) && json_array_size(m) == 2 &&
               json_is_string(json_array_get(m, 0)) &&
               json_is_string(json_array_get(m, 1))) {
      snprintf(a, sizeof a, "%s", json_string_value(json_array_get(m, 0)));
      snprintf(b, sizeof b, "%s", json_string_value(json_array_get(m, 1)));
    } else {
      json_decref(index);
      return fe_json_error(d, path, "model", "merge %zu is not \"a b\" or "
                                             "[\"a\", \"b\"]", i);
    }
    json_t *ia = json_object_get(index, a), *ib = json_object_get(index, b);
    if (!ia || !ib) {
      json_decref(index);
      return fe_json_error(d, path, "model", "merge %zu uses '%s', which is "
                                             "not in the vocabulary", i,
                           ia ? b : a);
    }
    t->merges[i][0] = (int32_t)json_integer_value(ia);
    t->merges[i][1] = (int32_t)json_integer_value(ib);
  }
  t->n_merges = n;
  json_decref(index);
  return 0;
}

static bool is_null_or(json_t *v, bool want) {
  return !v || json_is_null(v) || (json_is_boolean(v) && json_is_true(v) == want);
}

/* tokenizer.json */
static int from_tokenizer_json(const char *path, Tok *t, json_t *root,
                               Diag *d) {
  json_t *model = json_object_get(root, "model");
  const char *type = json_string_value(json_object_get(model, "type"));
  if (!type) return fe_json_error(d, path, "model", "model has no 'type'");
  json_t *vocab = json_object_get(model, "vocab");
  if (!json_is_object(vocab))
    return fe_json_error(d, path, "model", "model.vocab is not an object");
  /* added tokens first: their ids may lie beyond the model's vocabulary */
  json_t *added = json_object_get(root, "added_tokens");
  int64_t min_n = 0;
  size_t ai;
  json_t *a;
  json_array_foreach(added, ai, a) {
    json_int_t id = json_integer_value(json_object_get(a, "id"));
    if (id + 1 > min_n) min_n = id + 1;
  }
  if (read_vocab_obj(t, vocab, min_n, path, "model", d)) return -1;
  json_array_foreach(added, ai, a) {
    const char *content = json_string_value(json_object_get(a, "content"));
    json_int_t id = json_integer_value(json_object_get(a, "id"));
    if (!content || !*content || id < 0 || ai >= 256)
      return fe_json_error(d, path, "added_tokens", "added token %zu has no "
                                                    "content or id", ai);
    static const char *const unsupported[] = {"lstrip", "rstrip",
                                              "single_word", NULL};
    for (int k = 0; unsupported[k]; k++)
      if (json_is_true(json_object_get(a, unsupported[k])))
        return fe_json_error(d, path, "added_tokens", "added token '%s' has "
                             "%s: true, which loom's tokenizer does not do",
                             content, unsupported[k]);
    bool special = json_is_true(json_object_get(a, "special"));
    if (json_is_true(json_object_get(a, "normalized")) && !special)
      return fe_json_error(d, path, "added_tokens", "added token '%s' is "
                           "normalized: true; loom matches added tokens in "
                           "the raw text only", content);
    if (t->tok[id] && strcmp(t->tok[id], content))
      return fe_json_error(d, path, "added_tokens", "added token '%s' has id "
                           "%lld, which is '%s' in the vocabulary", content,
                           (long long)id, t->tok[id]);
    t->tok[id] = content;
    t->tlen[id] = strlen(content);
    t->added[t->n_added].id = (int32_t)id;
    t->added[t->n_added].special = special;
    t->added[t->n_added++].s = content;
  }
  json_t *norm = json_object_get(root, "normalizer");
  json_t *pre = json_object_get(root, "pre_tokenizer");
  const char *ntype = json_string_value(json_object_get(norm, "type"));
  const char *ptype = json_string_value(json_object_get(pre, "type"));
  if (!strcmp(type, "WordPiece")) {
    t->kind = RT_TOK_WORDPIECE;
    const char *unk = json_string_value(json_object_get(model, "unk_token"));
    t->unk = unk ? find_tok(t, unk) : -1;
    if (t->unk < 0)
      return fe_json_error(d, path, "model", "WordPiece's unk_token '%s' is "
                           "not in the vocabulary", unk ? unk : "(none)");
    t->cont = json_string_value(json_object_get(model,
                                                "continuing_subword_prefix"));
    if (!t->cont) t->cont = "##";
    if (strlen(t->cont) > 16)
      return fe_json_error(d, path, "model", "continuing_subword_prefix is "
                                             "longer than 16 bytes");
    json_t *mc = json_object_get(model, "max_input_chars_per_word");
    t->max_chars = mc ? (uint32_t)json_integer_value(mc) : 100;
    if (norm && !json_is_null(norm)) {
      if (!ntype || strcmp(ntype, "BertNormalizer"))
        return fe_json_error(d, path, "normalizer", "normalizer '%s' is not "
                             "supported with WordPiece (BertNormalizer is)",
                             ntype ? ntype : "?");
      bool lower = json_is_true(json_object_get(norm, "lowercase"));
      json_t *sa = json_object_get(norm, "strip_accents");
      bool strip = !sa || json_is_null(sa) ? lower : json_is_true(sa);
      t->flags |= (json_is_true(json_object_get(norm, "clean_text")) ? RT_TOK_CLEAN_TEXT : 0) |
                  (json_is_true(json_object_get(norm, "handle_chinese_chars")) ? RT_TOK_CHINESE : 0) |
                  (strip ? RT_TOK_STRIP_ACCENTS : 0) | (lower ? RT_TOK_LOWERCASE : 0);
    }
    if (!ptype || (strcmp(ptype, "BertPreTokenizer") && strcmp(ptype, "WhitespaceSplit")))
      return fe_json_error(d, path, "pre_tokenizer", "pre_tokenizer '%s' is "
                           "not supported with WordPiece (BertPreTokenizer, "
                           "WhitespaceSplit are)", ptype ? ptype : "null");
    if (!strcmp(ptype, "BertPreTokenizer")) t->flags |= RT_TOK_BERT_PRE;
  } else if (!strcmp(type, "BPE")) {
    t->kind = RT_TOK_BPE;
    if (!json_is_null(json_object_get(model, "dropout")) &&
        json_object_get(model, "dropout"))
      return fe_json_error(d, path, "model", "BPE dropout is not supported");
    static const char *const must_be_empty[] = {"continuing_subword_prefix",
                                                "end_of_word_suffix", NULL};
    for (int k = 0; must_be_empty[k]; k++) {
      const char *s = json_string_value(json_object_get(model, must_be_empty[k]));
      if (s && *s)
        return fe_json_error(d, path, "model", "BPE's %s '%s' is not "
                             "supported (byte-level BPE has none)",
                             must_be_empty[k], s);
    }
    if (!is_null_or(json_object_get(model, "byte_fallback"), false) ||
        !is_null_or(json_object_get(model, "ignore_merges"), false))
      return fe_json_error(d, path, "model", "BPE's byte_fallback and "
                           "ignore_merges must be false");
    const char *unk = json_string_value(json_object_get(model, "unk_token"));
    t->unk = unk ? find_tok(t, unk) : -1;
    if (norm && !json_is_null(norm))
      return fe_json_error(d, path, "normalizer", "normalizer '%s' is not "
                           "supported with byte-level BPE (null is)",
                           ntype ? ntype : "?");
    if (!ptype || strcmp(ptype, "ByteLevel"))
      return fe_json_error(d, path, "pre_tokenizer", "pre_tokenizer '%s' is "
                           "not supported with BPE (ByteLevel is)",
                           ptype ? ptype : "null");
    if (!is_null_or(json_object_get(pre, "use_regex"), true))
      return fe_json_error(d, path, "pre_tokenizer", "ByteLevel with "
                           "use_regex: false is not supported");
    if (json_is_true(json_object_get(pre, "add_prefix_space")))
      t->flags |= RT_TOK_ADD_PREFIX_SPACE;
    json_t *merges = json_object_get(model, "merges");
    if (!json_is_array(merges))
      return fe_json_error(d, path, "model", "BPE has no merges list");
    if (read_merges(t, merges, path, d)) return -1;
  } else {
    return fe_json_error(d, path, "model", "tokenizer model '%s' is not "
                         "supported (WordPiece, BPE are)", type);
  }
  /* the template */
  json_t *post = json_object_get(root, "post_processor");
  const char *post_type = json_string_value(json_object_get(post, "type"));
  if (post_type && !strcmp(post_type, "TemplateProcessing")) {
    json_t *single = json_object_get(post, "single");
    json_t *specials = json_object_get(post, "special_tokens");
    size_t i;
    json_t *piece;
    bool seen_a = false;
    json_array_foreach(single, i, piece) {
      json_t *sp = json_object_get(piece, "SpecialToken");
      json_t *sq = json_object_get(piece, "Sequence");
      if (sq) {
        if (seen_a)
          return fe_json_error(d, path, "post_processor", "a template with "
                               "the sentence twice is not supported");
        seen_a = true;
        continue;
      }
      const char *name = json_string_value(json_object_get(sp, "id"));
      json_t *ids = json_object_get(json_object_get(specials, name ? name : ""), "ids");
      size_t k;
      json_t *idv;
      json_array_foreach(ids, k, idv) {
        int32_t id = (int32_t)json_integer_value(idv);
        if (id < 0 || id >= t->n)
          return fe_json_error(d, path, "post_processor", "special token '%s' "
                               "has id %d, outside the vocabulary", name, id);
        if (seen_a && t->n_suffix < 8) t->suffix[t->n_suffix++] = id;
        else if (!seen_a && t->n_prefix < 8) t->prefix[t->n_prefix++] = id;
      }
      if (!json_array_size(ids))
        return fe_json_error(d, path, "post_processor", "the template's "
                             "special token '%s' has no ids", name ? name : "?");
    }
  } else if (post_type && (!strcmp(post_type, "BertProcessing") ||
                           !strcmp(post_type, "RobertaProcessing"))) {
    json_t *cls = json_object_get(post, "cls"), *sep = json_object_get(post, "sep");
    t->prefix[t->n_prefix++] = (int32_t)json_integer_value(json_array_get(cls, 1));
    t->suffix[t->n_suffix++] = (int32_t)json_integer_value(json_array_get(sep, 1));
  } else if (post_type && strcmp(post_type, "ByteLevel")) {
    return fe_json_error(d, path, "post_processor", "post_processor '%s' is "
                         "not supported (TemplateProcessing, BertProcessing, "
                         "RobertaProcessing, ByteLevel are)", post_type);
  }
  json_t *dec = json_object_get(root, "decoder");
  if (t->kind == RT_TOK_WORDPIECE &&
      (!dec || json_is_null(dec) || json_is_true(json_object_get(dec, "cleanup"))))
    t->flags |= RT_TOK_DECODE_CLEANUP;
  return 0;
}

/* A text file's lines (the buffer is modified; lines point into it). */
static int read_lines(const char *path, char **text, char ***lines, size_t *n,
                      Diag *d) {
  FILE *f = fopen(path, "rb");
  if (!f) return ir_file_errorf(d, path, "cannot read: %s", strerror(errno));
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  *text = malloc((size_t)len + 1);
  if (!*text || fread(*text, 1, (size_t)len, f) != (size_t)len) {
    fclose(f);
    return ir_file_errorf(d, path, "cannot read");
  }
  fclose(f);
  (*text)[len] = 0;
  size_t cap = 1;
  for (long i = 0; i < len; i++) cap += (*text)[i] == '\n';
  *lines = calloc(cap + 1, sizeof **lines);
  *n = 0;
  char *s = *text;
  while (*s) {
    char *nl = strchr(s, '\n');
    if (nl) *nl = 0;
    size_t l = strlen(s);
    if (l && s[l - 1] == '\r') s[l - 1] = 0;
    (*lines)[(*n)++] = s;
    if (!nl) break;
    s = nl + 1;
  }
  return 0;
}

int fe_hf_tokenizer(const char *dir, void **blob, size_t *len, Diag *d) {
  char path[4096], path2[4096];
  Tok t = {.unk = -1};
  json_t *root = NULL, *cfg = NULL;
  char *text = NULL, **lines = NULL;
  int rc = -1;
  if (exists(dir, "tokenizer.json", path, sizeof path)) {
    if (fe_json_load(path, false, &root, d) == 0 &&
        from_tokenizer_json(path, &t, root, d) == 0)
      rc = 0;
  } else if (exists(dir, "vocab.txt", path, sizeof path)) {
    size_t n;
    if (read_lines(path, &text, &lines, &n, d) == 0 && tok_alloc(&t, (int64_t)n) == 0) {
      for (size_t i = 0; i < n; i++) t.tok[i] = lines[i], t.tlen[i] = strlen(lines[i]);
      bool lower = true, chinese = true, strip = true;
      if (exists(dir, "tokenizer_config.json", path2, sizeof path2)) {
        if (fe_json_load(path2, false, &cfg, d)) goto done;
        json_t *v;
        if ((v = json_object_get(cfg, "do_lower_case"))) lower = json_is_true(v);
        if ((v = json_object_get(cfg, "tokenize_chinese_chars"))) chinese = json_is_true(v);
        v = json_object_get(cfg, "strip_accents");
        strip = !v || json_is_null(v) ? lower : json_is_true(v);
      } else {
        strip = lower;
      }
      t.kind = RT_TOK_WORDPIECE;
      t.flags = RT_TOK_CLEAN_TEXT | RT_TOK_BERT_PRE | RT_TOK_DECODE_CLEANUP |
                (chinese ? RT_TOK_CHINESE : 0) | (lower ? RT_TOK_LOWERCASE : 0) |
                (strip ? RT_TOK_STRIP_ACCENTS : 0);
      t.max_chars = 100;
      t.cont = "##";
      static const char *const specials[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]",
                                             "[MASK]", NULL};
      for (int k = 0; specials[k]; k++) {
        int32_t id = find_tok(&t, specials[k]);
        if (id >= 0) t.added[t.n_added++] = (typeof(t.added[0])){id, 1, specials[k]};
      }
      t.unk = find_tok(&t, "[UNK]");
      int32_t cls = find_tok(&t, "[CLS]"), sep = find_tok(&t, "[SEP]");
      if (t.unk < 0 || cls < 0 || sep < 0) {
        ir_file_errorf(d, path, "a BERT vocabulary needs [UNK], [CLS] and [SEP]");
        goto done;
      }
      t.prefix[t.n_prefix++] = cls;
      t.suffix[t.n_suffix++] = sep;
      rc = 0;
    }
  } else if (exists(dir, "vocab.json", path, sizeof path) &&
             exists(dir, "merges.txt", path2, sizeof path2)) {
    size_t n;
    if (fe_json_load(path, false, &root, d) ||
        read_vocab_obj(&t, root, 0, path, "", d) ||
        read_lines(path2, &text, &lines, &n, d))
      goto done;
    json_t *merges = json_array();
    for (size_t i = 0; i < n; i++)
      if (lines[i][0] && strncmp(lines[i], "#version", 8))
        json_array_append_new(merges, json_string(lines[i]));
    rc = read_merges(&t, merges, path2, d);
    json_decref(merges);
    t.kind = RT_TOK_BPE;
    int32_t eot = find_tok(&t, "<|endoftext|>");
    if (eot >= 0) t.added[t.n_added++] = (typeof(t.added[0])){eot, 1, "<|endoftext|>"};
  } else {
    ir_file_errorf(d, dir, "no tokenizer: the directory has neither "
                           "tokenizer.json, vocab.txt nor vocab.json + "
                           "merges.txt");
  }
  if (rc == 0 && write_blob(&t, blob, len)) rc = ir_file_errorf(d, dir, "out of memory");
done:
  tok_free(&t);
  free(text);
  free(lines);
  if (cfg) json_decref(cfg);
  if (root) json_decref(root);
  return rc;
}
