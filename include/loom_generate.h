/* loom_generate.h — the generation loop, written once: the KV cache, sampling,
 * stopping.  libloom (loom_generate, `loom generate`) and the programs
 * `loom build` / `emit-c` make run the same code; only the step that runs
 * a model's prefill or decode graph differs, and comes in as a function.
 *
 * The loop, for a batch of B prompts (B = 1: one sequence):
 *   1. allocates the model's state (each layer's K and V cache, the sizes
 *      the model gives, for B rows), zeroed, once per generation;
 *   2. left-pads the prompts to the longest one's length S, as Hugging
 *      Face does for generation: row r's prompt fills cache rows
 *      pad[r]..S-1 (pad[r] = S - its length), and runs the batch through
 *      the prefill step (cache rows 0..S-1), taking each row's last
 *      logits (row S-1: a token in every row);
 *   3. picks a token for each row not yet finished (below), hands it to
 *      the callback, and finishes the row at the eos id (which is handed
 *      over and counted) or at max_new tokens; stops when every row has
 *      finished, when the callback returns nonzero, or when the next cache
 *      row would be past the cache (stats.hit_max_len);
 *   4. otherwise runs one token per row through the decode step at the
 *      next cache row (a finished row is fed its last token again; its
 *      picks are no longer made or handed over) and goes back to 3.
 *
 * Positions and padding are the loop's: every step gets, besides the ids,
 * each token's position — the cache row minus the row's pad, i.e. the
 * attention mask's cumulative sum - 1, HF generate's position_ids; 0 on
 * padding — and a mask over the cache rows, [B, max_len], nonzero where a
 * row holds a token (0 on the padding, which no query may attend to).  So
 * a step function only passes them on to its graphs, and the graphs need
 * no cumulative sum.  With B = 1 there is no padding: the positions are
 * the cache rows and the mask is all ones (a graph without a batch
 * dimension ignores both).
 *
 * Picking, in Hugging Face's order, in double from the f32 logits (so
 * every backend that gives the same logits draws the same tokens):
 * repetition penalty (each id already in the row's sequence, its prompt
 * included and its padding not, once: a logit < 0 times r, else divided
 * by r), then greedy argmax (the lowest id among equal maxima) when not
 * sampling; when sampling, temperature (divide), top-k (logits below the
 * k-th largest dropped; ties kept), top-p (ascending order, softmax,
 * cumulative sum: ids whose sum is <= 1 - p dropped, the most likely
 * always kept), softmax, and one draw: u uniform in [0, 1) from the row's
 * PRNG, the first id (in id order) whose cumulative probability exceeds
 * u.
 *
 * The PRNG is xoshiro256** (Blackman and Vigna, 2018), one per row, row
 * r's state seeded from seed + r by splitmix64 (row 0: the seed, as one
 * sequence alone); u = (next() >> 11) * 2^-53.
 *
 * libc only (clock_gettime for the timings).
 */
#ifndef LOOM_GENERATE_H
#define LOOM_GENERATE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  int32_t max_new;           /* new tokens at most (>= 1) */
  int32_t eos;               /* stop after emitting this id; -1: none */
  int sample;                /* 0: greedy; else sample with the below */
  double temperature;        /* > 0 (1: none) */
  int32_t top_k;             /* 0: off */
  double top_p;              /* (0, 1]; 1: off */
  double repetition_penalty; /* > 0; 1: off */
  uint64_t seed;             /* the PRNG's seed */
} loom_gen_params;

/* What the loop runs: one model's prefill and decode graphs, compiled
 * once by the caller. */
typedef struct {
  int64_t vocab;              /* logits per row */
  int64_t max_len;            /* the cache's rows: positions 0..max_len-1 */
  int n_state;                /* state buffers (K and V cache per layer) */
  const int64_t *state_bytes; /* each one's size for one row of a batch
                                 (B rows: B times that, row after row) */
  /* Run a batch of `batch` rows of n tokens each, ids [batch, n]
   * row-major, at cache rows pos..pos+n-1 with the caches `state`: the
   * prefill graph when decode == 0, the decode graph (n == 1) when 1.
   * positions [batch, n]: each token's position (row r's: cache row -
   * its left pad; 0 on padding); mask [batch, max_len]: nonzero where the
   * cache row holds a token of row r, 0 on its padding (keys to leave
   * out).  Writes logits [batch, n, vocab].  0, or nonzero with a message
   * in err.  With batch == 1 the positions are pos..pos+n-1 and the mask
   * all ones: a step of a model without a batch dimension may ignore
   * both. */
  int (*step)(void *ctx, int decode, int64_t batch, const int32_t *ids,
              int64_t n, int64_t pos, const int32_t *positions,
              const float *mask, void *const *state, float *logits,
              char *err, size_t errlen);
  /* Encoder-decoder models: run the source src[0..n) once, before the
   * prompt (the encoder and each decoder layer's cross-attention K and V,
   * which the caller keeps for its steps); NULL for decoder-only ones.
   * Only with a batch of one. */
  int (*encode)(void *ctx, const int32_t *src, int64_t n, char *err,
                size_t errlen);
  void *ctx;
  int64_t max_batch;          /* rows a step takes at most; 0 (or 1): one,
                                 a model without a batch dimension */
} loom_gen_model;

typedef struct {
  double encode_ms;          /* the source's encode (0 without one) */
  double prefill_ms;         /* the prompts' step */
  double decode_ms_median;   /* median of the decode steps (0 if none) */
  int64_t n_decode;          /* decode steps run */
  int64_t n_new;             /* tokens handed to the callback (all rows) */
  int64_t kv_cache_bytes;    /* the states' bytes */
  int hit_max_len;           /* stopped because the cache was full */
} loom_gen_stats;

/* Called with each new id as it is picked; nonzero stops. */
typedef int (*loom_gen_token_fn)(void *user, int32_t id);
/* The same for a batch: row is the prompt's index; nonzero stops every
 * row. */
typedef int (*loom_gen_row_fn)(void *user, int64_t row, int32_t id);

/* Generate from prompt[0..n_prompt) (n_prompt >= 1; for an encoder-
 * decoder, the target's start, e.g. <sos>), after encoding src[0..n_src)
 * when the model has an encode step.  Returns 0, or -1 with a message in
 * err (a step failed, out of memory, bad parameters); stats may be NULL.
 * A batch of one: loom_gen_run_batch. */
int loom_gen_run(const loom_gen_model *m, const loom_gen_params *p,
                 const int32_t *src, int64_t n_src,
                 const int32_t *prompt, int64_t n_prompt,
                 loom_gen_token_fn on_token, void *user,
                 loom_gen_stats *stats, char *err, size_t errlen);

/* Generate from `batch` prompts at once (1 <= batch <= max(1,
 * m->max_batch)): prompts[r][0..n_prompt[r]), each n_prompt[r] >= 1,
 * left-padded to the longest.  on_token gets (row, id) as each row's ids
 * are picked, rows in order within a step.  stats count every row's
 * tokens (n_new) and the batch's steps.  An encoder-decoder takes a
 * batch of one. */
int loom_gen_run_batch(const loom_gen_model *m, const loom_gen_params *p,
                       const int32_t *src, int64_t n_src, int64_t batch,
                       const int32_t *const *prompts, const int64_t *n_prompt,
                       loom_gen_row_fn on_token, void *user,
                       loom_gen_stats *stats, char *err, size_t errlen);

/* 0 when a batch of `batch` prompts fits m (1..max(1, max_batch)), else
 * -1 with the message in err (what loom_gen_run_batch checks first). */
int loom_gen_check_batch(const loom_gen_model *m, int64_t batch, char *err,
                         size_t errlen);

/* The picking of one token, exposed for tests: logits [vocab] (read
 * only), seen ids (the sequence so far) for the repetition penalty, rng
 * the PRNG state (loom_gen_seed). */
/* Token ids as the command lines take them, "464,2068,7586" (each an
 * int32 >= 0) -> ids[0..*n), malloc'd: 0; -1 when s is not such a list;
 * -2 when out of memory. */
int loom_gen_parse_ids(const char *s, int32_t **ids, size_t *n);

void loom_gen_seed(uint64_t rng[4], uint64_t seed);
int32_t loom_gen_pick(const loom_gen_params *p, const float *logits,
                      int64_t vocab, const int32_t *seen, int64_t n_seen,
                      uint64_t rng[4], double *work, int64_t *order,
                      unsigned char *mark);

#endif
