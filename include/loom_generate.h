/* loom_generate.h — the generation loop, written once: the KV cache, sampling,
 * stopping.  libloom (loom_generate, `loom generate`) and the programs
 * `loom build` / `emit-c` make run the same code; only the step that runs
 * a model's prefill or decode graph differs, and comes in as a function.
 *
 * The loop:
 *   1. allocates the model's state (each layer's K and V cache, the sizes
 *      the model gives), zeroed, once per generation;
 *   2. runs the prompt through the prefill step (positions 0..n-1, filling
 *      the caches), and takes the last row's logits;
 *   3. picks a token (below), hands it to the callback, and stops at the
 *      eos id (which is handed over and counted), at max_new tokens, when
 *      the callback returns nonzero, or when the next position would be
 *      past the cache (stats.hit_max_len);
 *   4. otherwise runs that one token through the decode step at its
 *      position and goes back to 3.
 *
 * Picking, in Hugging Face's order, in double from the f32 logits (so
 * every backend that gives the same logits draws the same tokens):
 * repetition penalty (each id already in the sequence, prompt included,
 * once: a logit < 0 times r, else divided by r), then greedy argmax (the
 * lowest id among equal maxima) when not sampling; when sampling,
 * temperature (divide), top-k (logits below the k-th largest dropped; ties
 * kept), top-p (ascending order, softmax, cumulative sum: ids whose sum is
 * <= 1 - p dropped, the most likely always kept), softmax, and one draw:
 * u uniform in [0, 1) from the PRNG, the first id (in id order) whose
 * cumulative probability exceeds u.
 *
 * The PRNG is xoshiro256** (Blackman and Vigna, 2018), its state seeded
 * from the seed by splitmix64; u = (next() >> 11) * 2^-53.
 *
 * One sequence at a time.  The buffers are sized per sequence (ids, the
 * logits rows, the states) so a batch dimension B can be put in front of
 * each without changing the steps' contract: ids [B, n], logits [B, n,
 * vocab], one PRNG and one penalty mask per row.
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
  const int64_t *state_bytes; /* each one's size */
  /* Run ids[0..n) at positions pos..pos+n-1 with the caches `state`
   * (the prefill graph when decode == 0, the decode graph — n == 1 —
   * when 1), writing logits [n, vocab].  0, or nonzero with a message in
   * err. */
  int (*step)(void *ctx, int decode, const int32_t *ids, int64_t n,
              int64_t pos, void *const *state, float *logits, char *err,
              size_t errlen);
  /* Encoder-decoder models: run the source src[0..n) once, before the
   * prompt (the encoder and each decoder layer's cross-attention K and V,
   * which the caller keeps for its steps); NULL for decoder-only ones. */
  int (*encode)(void *ctx, const int32_t *src, int64_t n, char *err,
                size_t errlen);
  void *ctx;
} loom_gen_model;

typedef struct {
  double encode_ms;          /* the source's encode (0 without one) */
  double prefill_ms;         /* the prompt's step */
  double decode_ms_median;   /* median of the decode steps (0 if none) */
  int64_t n_decode;          /* decode steps run */
  int64_t n_new;             /* tokens handed to the callback */
  int64_t kv_cache_bytes;    /* the states' bytes */
  int hit_max_len;           /* stopped because the cache was full */
} loom_gen_stats;

/* Called with each new id as it is picked; nonzero stops. */
typedef int (*loom_gen_token_fn)(void *user, int32_t id);

/* Generate from prompt[0..n_prompt) (n_prompt >= 1; for an encoder-
 * decoder, the target's start, e.g. <sos>), after encoding src[0..n_src)
 * when the model has an encode step.  Returns 0, or -1 with a message in
 * err (a step failed, out of memory, bad parameters); stats may be NULL. */
int loom_gen_run(const loom_gen_model *m, const loom_gen_params *p,
                 const int32_t *src, int64_t n_src,
                 const int32_t *prompt, int64_t n_prompt,
                 loom_gen_token_fn on_token, void *user,
                 loom_gen_stats *stats, char *err, size_t errlen);

/* The picking of one token, exposed for tests: logits [vocab] (read
 * only), seen ids (the sequence so far) for the repetition penalty, rng
 * the PRNG state (loom_gen_seed). */
void loom_gen_seed(uint64_t rng[4], uint64_t seed);
int32_t loom_gen_pick(const loom_gen_params *p, const float *logits,
                      int64_t vocab, const int32_t *seen, int64_t n_seen,
                      uint64_t rng[4], double *work, int64_t *order,
                      unsigned char *mark);

#endif
