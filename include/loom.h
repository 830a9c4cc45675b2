/* loom.h — the public C API of libloom.
 *
 * Load a model file (YAML, graph or family form, or IR text: FILE.ir), ask
 * for its inputs and outputs, run it on caller-owned buffers, free it.
 * Every function returns a status; on failure the message (one line
 * "FILE:LINE:COL: error: ...", possibly followed by the source line and a
 * caret) is written to the caller's buffer.  The library never prints and
 * never exits.
 *
 *   char err[4096];
 *   loom_model *m;
 *   if (loom_load("bert.yaml", NULL, &m, err, sizeof err)) { puts(err); ... }
 *   int32_t ids[] = {101, 7592, 102};
 *   loom_tensor in = {"ids", LOOM_I32, 1, {3}, ids};
 *   loom_tensor out;
 *   loom_output_shapes(m, &in, 1, &out, 1, err, sizeof err); // fills dims
 *   out.data = malloc(loom_tensor_bytes(&out));
 *   loom_run(m, &in, 1, &out, 1, err, sizeof err);
 *   loom_free(m);
 */
#ifndef LOOM_H
#define LOOM_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LOOM_VERSION "0.1.0"
#define LOOM_MAX_RANK 8

typedef enum {
  LOOM_OK = 0,
  LOOM_ERR_MODEL = 1, /* bad model, weights file or input data */
  LOOM_ERR_USAGE = 2, /* API misuse: bad index, unknown backend, NULL */
} loom_status;

typedef enum { LOOM_F32 = 0, LOOM_I32 = 1 } loom_dtype;

typedef struct loom_model loom_model;

typedef struct {
  const char *weights; /* safetensors file overriding the model's weights:
                          (NULL: as the model says) */
  const char *backend; /* "ref" (the reference interpreter; NULL = "ref"),
                          "c" (the model as C, compiled by $CC — default
                          cc — into a cached shared object), "jit" (LLVM,
                          when built with it) */
  const char *target;  /* code generation target (backends that generate
                          code): "native" (NULL), "x86-64-v4", ... */
  const char *cache;   /* where compiled code is cached; NULL: the
                          default ($XDG_CACHE_HOME/loom or ~/.cache/loom) */
  FILE *log;           /* backends' notes and timings as key=value lines
                          (NULL: none) */
  const char *passes;  /* graph passes to run: "a,b,c", "none", or NULL
                          for the default pipeline (loom opt --list-passes) */
  const char *disable; /* passes taken out of that list: "a,b" or NULL */
  const char *dtype;   /* matmul weights: "f32", "bf16" (stored bf16, the
                          activation operand rounded to bf16, fp32
                          accumulation), or NULL: as the model file says
                          (`dtype:`), else f32 */
} loom_options;

/* A tensor passed to or from loom: row-major, caller-owned data. */
typedef struct {
  const char *name;
  loom_dtype dtype;
  int rank;
  int64_t dims[LOOM_MAX_RANK];
  void *data;
} loom_tensor;

/* What an input or output looks like.  A symbolic dimension has dims[i] set
 * to its upper bound and dim_names[i] to its name (NULL when static). */
typedef struct {
  const char *name;
  loom_dtype dtype;
  int rank;
  int64_t dims[LOOM_MAX_RANK];
  const char *dim_names[LOOM_MAX_RANK];
} loom_info;

loom_status loom_load(const char *path, const loom_options *opts,
                      loom_model **out, char *err, size_t errlen);
void loom_free(loom_model *m);

const char *loom_name(const loom_model *m);
int loom_num_inputs(const loom_model *m);
int loom_num_outputs(const loom_model *m);
loom_status loom_input_info(const loom_model *m, int i, loom_info *out);
loom_status loom_output_info(const loom_model *m, int i, loom_info *out);

/* The concrete shapes of the outputs for these inputs (by name; data is not
 * read): fills name, dtype, rank and dims of outputs[0..n_outputs). */
loom_status loom_output_shapes(loom_model *m, const loom_tensor *inputs,
                               int n_inputs, loom_tensor *outputs,
                               int n_outputs, char *err, size_t errlen);

/* Run: inputs by name (each input exactly once); outputs[i] is the i-th
 * output; each must have name NULL or the output's name, and data of
 * loom_tensor_bytes() for the shapes loom_output_shapes gives. */
loom_status loom_run(loom_model *m, const loom_tensor *inputs, int n_inputs,
                     loom_tensor *outputs, int n_outputs, char *err,
                     size_t errlen);

size_t loom_tensor_bytes(const loom_tensor *t);
const char *loom_version(void);

/* ---- text: tokenizers and runs from text ---------------------------------
 *
 * A tokenizer (WordPiece or byte-level BPE, as Hugging Face tokenizers runs
 * them) opens from a model directory, a folder of tokenizer files
 * (tokenizer.json, vocab.txt, vocab.json + merges.txt) or a model YAML with
 * a `text:` section.  ids and text are malloc'd: free() them. */
typedef struct loom_tokenizer loom_tokenizer;

loom_status loom_tokenizer_open(const char *path, loom_tokenizer **out,
                                char *err, size_t errlen);
void loom_tokenizer_free(loom_tokenizer *t);
/* The model's maximum length for text (0: none known). */
size_t loom_tokenizer_max_tokens(const loom_tokenizer *t);

/* UTF-8 text -> ids, with the special tokens the model adds ([CLS] ...
 * [SEP]); max_tokens 0: no truncation, else at most that many ids in all
 * (*truncated, which may be NULL, says whether it cut). */
loom_status loom_tokenize(const loom_tokenizer *t, const char *text,
                          size_t max_tokens, int32_t **ids, size_t *n_ids,
                          int *truncated, char *err, size_t errlen);
/* ids -> UTF-8 text (special tokens skipped). */
loom_status loom_detokenize(const loom_tokenizer *t, const int32_t *ids,
                            size_t n, char **text, char *err, size_t errlen);

/* Streaming detokenize, for text shown as it is generated: feed ids one at
 * a time from a zeroed state; each call writes *len bytes to out (cap >=
 * 4096 suffices), holding back the bytes of a UTF-8 character until it is
 * complete.  id -1 ends the stream (flushes what is held). */
typedef struct {
  unsigned char opaque[16];
} loom_detok_state;
loom_status loom_detokenize_step(const loom_tokenizer *t, loom_detok_state *s,
                                 int32_t id, char *out, size_t cap,
                                 size_t *len, char *err, size_t errlen);

/* loom_run from text: tokenized with t (truncated at its maximum length),
 * run as input `ids`; fills outputs[0..n_outputs) with names, shapes and
 * malloc'd data (free each data with free()). */
loom_status loom_run_text(loom_model *m, const loom_tokenizer *t,
                          const char *text, loom_tensor *outputs,
                          int n_outputs, int *truncated, char *err,
                          size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
