/* frontend.h — model files in, Graph IR with bound weights out.
 *
 * fe_load reads a model YAML file, in either of its two forms:
 *   graph form   — `graph:` with inputs, weights, dims, nodes, outputs
 *   family form  — `family:` and hyperparameters (frontend/family_*.c)
 * or a graph in IR text (a path ending in .ir; weights from --weights),
 * builds the Graph IR (every node located at the YAML that made it), checks
 * it, and binds every weight to its data: a safetensors file (memory-mapped;
 * F16/BF16 converted at load) or deterministic random values.
 */
#ifndef LOOM_FRONTEND_FRONTEND_H
#define LOOM_FRONTEND_FRONTEND_H

#include <stdbool.h>

#include "frontend/safetensors.h"
#include "frontend/yaml_util.h"
#include "ir/ir.h"

/* Which graph of a model to build.  forward: the whole sequence at once
 * (what `run` runs).  prefill and decode: generation with a KV cache
 * (families gpt2 and transformer): the graph takes the tokens, a position
 * `pos` (i32 scalar, symbol P) and a state input per layer's K and V cache
 * [H, max_len, Dh]; prefill takes S tokens at P.., decode one token at P.
 * encode (transformer only): the source once -> each decoder layer's
 * cross-attention K and V. */
typedef enum { FE_FORWARD, FE_PREFILL, FE_DECODE, FE_ENCODE } FeGraph;
/* "forward", "prefill", "decode", "encode" -> FeGraph; -1 when unknown. */
int fe_graph_lookup(const char *name);
extern const char *const fe_graph_names[]; /* by FeGraph, NULL-terminated */

typedef struct {
  const char *weights; /* overrides the model's `weights:` (relative to cwd) */
  bool no_weights;     /* build the graph only (dump, opt): bind nothing */
  FeGraph graph;       /* which graph (a family model's; FE_FORWARD for
                          every other form) */
  int64_t max_len;     /* > 0: the KV cache's rows (<= the model's max_len) */
  int64_t max_batch;   /* > 0: the batch dimension's bound, overriding the
                          model's max_batch (family form) */
} FeOptions;

typedef enum { WS_NONE, WS_FILE, WS_RANDOM } WeightSource;

typedef struct FeModel {
  Graph *g;
  FeGraph graph;            /* which graph g is (FeOptions.graph) */
  int64_t cache_len;        /* FeOptions.max_len, 0: the model's max_len */
  int64_t batch_bound;      /* FeOptions.max_batch, 0: the model's max_batch */
  const char *family;       /* the family form's family, or NULL */
  const char *path;         /* the model file (graph arena) */
  WeightSource source;
  const char *weights_path; /* WS_FILE: resolved path */
  uint64_t seed;            /* WS_RANDOM */
  Loc weights_loc;          /* where the model names its weights */
  StFile st;
  bool st_open;
  float *owned;             /* converted / random weights, one block */
  /* How checkpoint names map to weight names (the family form sets these;
   * the graph form leaves them zero: exact names, extra tensors allowed). */
  const char *const *prefixes; /* tried before a weight's name when it is
                                  not found as is: "transformer.", ... */
  const char *const *ignore;   /* tensors a checkpoint may carry unused:
                                  "pooler.*" (a leading module), "attn.bias"
                                  (a trailing name), after the prefix */
  bool reject_unexpected;      /* any other unused tensor is an error */
  /* `text:` (a model directory's tokenizer; hf_config.c writes it) */
  const char *tokenizer;       /* the tokenizer's folder, resolved */
  int64_t max_tokens;          /* truncation length of --text (0: none) */
  DType dtype;                 /* `dtype:` of matmul weights: DT_F32
                                  (default) or DT_BF16; --dtype overrides */
  const char *const *tied;     /* pairs {A, B, ..., NULL}: weight A shares
                                  B's data when the checkpoint lacks A (and
                                  always with random weights) — GPT-2's
                                  lm_head.weight and wte.weight */
  void *map, *ckpt;            /* fe_model_adopt's mappings (the graph's
                                  data points into them), or NULL */
  size_t map_bytes, ckpt_bytes;
} FeModel;

FeModel *fe_load(const char *path, const FeOptions *opt, Diag *d);
void fe_model_free(FeModel *m);
/* Bind the data of a model loaded with no_weights: its weights, and an
 * .ir model's constants from the sidecar (what fe_load does without
 * no_weights). */
int fe_bind_data(FeModel *m, Diag *d);
/* Make g m's graph: g's weights and constants point into map and ckpt
 * (from mmap; ckpt may be NULL), which m now owns and unmaps when freed.
 * m's checkpoint as fe_bind_weights opened it is closed and its converted
 * weights freed: g needs neither. */
void fe_model_adopt(FeModel *m, Graph *g, void *map, size_t map_bytes,
                    void *ckpt, size_t ckpt_bytes);

/* ---- shared by the two forms ------------------------------------------ */

/* Parse `weights: FILE | {random: {seed: N}}` (node may be NULL). */
int fe_parse_weight_source(FeYaml *y, FeModel *m, yaml_node_t *node);
/* Parse `dtype: f32 | bf16` (node may be NULL). */
int fe_parse_dtype(FeYaml *y, FeModel *m, yaml_node_t *node);
/* Parse `text: {tokenizer: DIR, max_tokens: N}` (node may be NULL). */
int fe_parse_text_section(FeYaml *y, FeModel *m, yaml_node_t *node);
/* Bind every weight node's data from m's source. */
int fe_bind_weights(FeModel *m, Diag *d);

/* The data of a graph in IR text (frontend/ir_data.c): FILE.ir's sidecar
 * FILE.ir.safetensors holds its weights' and constants' data. */
void fe_ir_data_path(const char *ir_path, char *buf, size_t cap);
/* Write g's weights and constants beside ir_path (all or nothing); with
 * none, remove a sidecar left there before. */
int fe_save_ir_data(const Graph *g, const char *ir_path, Diag *d);
/* Bind every constant of m (an IR text model) from its sidecar; a
 * constant with no data there is a located error. */
int fe_bind_ir_consts(FeModel *m, Diag *d);

/* The graph form (frontend/graph_form.c). */
int fe_graph_form(FeYaml *y, FeModel *m, yaml_node_t *root);
/* The family form (frontend/family.c). */
int fe_family_form(FeYaml *y, FeModel *m, yaml_node_t *root);

/* Top-level keys of each form, for messages and checks. */
extern const char *const fe_graph_form_keys[];

/* ---- generation (frontend/gen_spec.c) ---------------------------------- */

/* What a generation loop needs to know of a model's decode graph: the
 * token input ("ids" for gpt2, "tgt" for transformer), the logits' row
 * (vocab), the cache's rows (the bound of symbol P, plus one), the bound
 * of the batch symbol B (a gpt2 model with max_batch; 0: no batch
 * dimension) and the state inputs ({state = true}: each layer's K and V
 * cache, [H, max_len, Dh], or [B, H, max_len, Dh] with a batch) with
 * their sizes for one row of a batch.  Names point into the graph. */
typedef struct {
  const char *tokens;
  int64_t vocab, max_len, cache_bytes; /* cache_bytes: one row's */
  int64_t max_batch;
  int n_state;
  int state_rank;            /* 3, or 4 with a batch (B first) */
  const char **state_name;
  int64_t (*state_dims)[4];  /* the first state_rank; B as 1 */
  int64_t *state_bytes;      /* one row's */
} FeGenSpec;
/* s from m (a family model's decode graph); -1 with an error in d when m
 * is not one. */
int fe_gen_spec(const FeModel *m, FeGenSpec *s, Diag *d);
void fe_gen_spec_free(FeGenSpec *s);

#endif
