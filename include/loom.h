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

#include "loom_generate.h"

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
  const char *graph;   /* which graph of the model: "forward" (NULL), or for
                          gpt2 and transformer "prefill", "decode" (and
                          transformer's "encode"): see loom_generate */
  int64_t max_len;     /* the KV cache's rows in those graphs; 0 = the
                          model's max_len */
  long long l1, l2, l3; /* cache sizes in bytes the kernels are tiled for
                           (loom dump --kernels shows the tiles); 0: the
                           host's */
  int threads;         /* threads of each loom_run of this model (backends
                          that generate code); 0: OMP_NUM_THREADS, else
                          every core */
  int profile;         /* time every kernel call of every loom_run
                          (loom_profile; the jit backend only) */
  const char *dtype;   /* matmul weights: "f32", "bf16" (stored bf16, the
                          activation operand rounded to bf16, fp32
                          accumulation), or NULL: as the model file says
                          (`dtype:`), else f32 */
  int64_t max_batch;   /* > 0: a family model's batch dimension bound
                          (inputs [B, ...] with B <= it),
                          in place of its file's max_batch; 0: the file's
                          (none without one) */
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

/* The time of each kernel over the runs of a model loaded with `profile`
 * (loom run --profile): one entry per kernel, most time first.  The work
 * is counted at each run's shapes: flop is 2·M·N·K per matmul and
 * 2·Sq·Sk·(D + Dv) per attention head (masked blocks included), 0 for
 * every other kernel; bytes is what the kernel's operands and results
 * occupy (what it must move at least once). */
typedef struct {
  const char *kernel; /* "k3_matmul", as dump --kernels names it */
  const char *what;   /* its op and shapes: "matmul f32[S, 768], ..." */
  long long calls;
  double ms;          /* wall time over every call */
  double flop, bytes; /* over every call */
} loom_kernel_time;
/* Fills out[0 .. min(n, cap)) and returns n, the number of kernels; -1
 * (err says why) when the model was not loaded with `profile` or its
 * backend cannot time kernels. */
int loom_profile(const loom_model *m, loom_kernel_time *out, int cap,
                 char *err, size_t errlen);

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

/* ---- generation ----------------------------------------------------------
 *
 * A gpt2 or transformer model (family form) opened for generation: its
 * prefill and decode graphs, and a transformer's encode graph
 * (loom_options.graph is ignored; .max_len sizes the KV cache), each
 * compiled once and reused for every token.  A transformer encodes src
 * once (its cross-attention K and V kept); its prompt is the target's
 * start, {sos}.  The loop — cache,
 * sampling, stopping — is loom_gen_run (loom_generate.h), the same code
 * generated programs run.
 *
 *   loom_generator *g;
 *   loom_generator_open("gpt2.yaml", &opts, &g, err, sizeof err);
 *   loom_gen_params p = {.max_new = 20, .eos = -1, .temperature = 1,
 *                        .top_p = 1, .repetition_penalty = 1};
 *   loom_generate(g, NULL, 0, prompt, n, &p, print_id, NULL, &stats, err,
 *                 sizeof err);
 *   loom_generator_free(g);
 *
 * Another family is LOOM_ERR_USAGE. */
typedef struct loom_generator loom_generator;

loom_status loom_generator_open(const char *path, const loom_options *opts,
                                loom_generator **out, char *err,
                                size_t errlen);
/* on_token gets each new id as it is picked (non-zero stops); stats may be
 * NULL; src (n_src ids) only for a transformer (NULL, 0 otherwise). */
loom_status loom_generate(loom_generator *g, const int32_t *src, size_t n_src,
                          const int32_t *prompt, size_t n_prompt,
                          const loom_gen_params *p,
                          loom_gen_token_fn on_token, void *user,
                          loom_gen_stats *stats, char *err, size_t errlen);
/* A batch of prompts at once (decoder-only models): prompts[r] has
 * n_prompt[r] ids, 1 <= batch <= loom_generator_max_batch(g).  The
 * prompts are left-padded to the longest, as Hugging Face's generate
 * does: each row's positions count from its first token (the mask's
 * cumulative sum - 1) and its padding is left out of every attention, so
 * a row gets what it gets alone (up to float rounding; a sampled row r
 * draws from the seed + r).  Every step runs all rows through one graph
 * run; a row finishes at its own eos or at max_new, and the call returns
 * when all have.  on_token gets (row, id) as ids are picked (non-zero
 * stops every row).  A batch past the bound, or an encoder-decoder
 * model, is LOOM_ERR_USAGE. */
loom_status loom_generate_batch(loom_generator *g, size_t batch,
                                const int32_t *const *prompts,
                                const size_t *n_prompt,
                                const loom_gen_params *p,
                                loom_gen_row_fn on_token, void *user,
                                loom_gen_stats *stats, char *err,
                                size_t errlen);
/* Milliseconds it took to compile the prefill (which 0), decode (1) and
 * encode (2) graph; whether there is an encoder; the KV cache's rows and
 * bytes (of one row of a batch). */
double loom_generator_compile_ms(const loom_generator *g, int which);
int loom_generator_has_encoder(const loom_generator *g);
int64_t loom_generator_max_len(const loom_generator *g);
int64_t loom_generator_cache_bytes(const loom_generator *g);
/* Prompts loom_generate_batch takes at most: a gpt2 model's max_batch (its
 * model file's key), 1 for a model without one. */
int64_t loom_generator_max_batch(const loom_generator *g);
void loom_generator_free(loom_generator *g);

#ifdef __cplusplus
}
#endif
#endif
