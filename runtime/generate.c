/* generate.c — the generation loop and the sampler (loom_generate.h says
 * what and in which order; this file is how).
 *
 * Every buffer is allocated once per call, before the first step: the
 * states (zeroed: positions not yet written are never read, since the
 * decode graph's attention is causal with q_offset = P, but zeros keep a
 * run reproducible byte for byte), the logits rows, each row's sequence so
 * far, the steps' ids, positions and padding mask, and the sampler's work
 * arrays (shared: the rows pick one after another).
 *
 * A batch shares one cache row index: every row's tokens of a step go to
 * the same cache row (the prompts left-padded to one length), so a step
 * takes one `pos` and the mask, fixed once the prompts are placed, says
 * which rows are padding.  A finished row is still fed (its last id),
 * since the batch's steps are one graph run, but nothing is picked for
 * it any more.
 */
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#endif
#include "loom_generate.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- the PRNG: xoshiro256**, seeded by splitmix64 ------------------------ */

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void loom_gen_seed(uint64_t rng[4], uint64_t seed) {
  for (int i = 0; i < 4; i++) rng[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t next_u64(uint64_t s[4]) {
  uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

/* uniform in [0, 1), 53 bits */
static double next_double(uint64_t s[4]) {
  return (double)(next_u64(s) >> 11) * 0x1.0p-53;
}

/* ---- picking a token ----------------------------------------------------- */

/* Ids ordered by (score, id): a total order, so the result is the same
 * whatever the sort; heapsort in place, no global state (qsort's
 * comparator would need the scores in one, and generators may run on
 * several threads). */
static int before(const double *s, int64_t i, int64_t j) {
  return s[i] < s[j] || (s[i] == s[j] && i < j);
}

static void sift(const double *s, int64_t *o, int64_t root, int64_t n) {
  for (;;) {
    int64_t c = 2 * root + 1;
    if (c >= n) return;
    if (c + 1 < n && before(s, o[c], o[c + 1])) c++;
    if (!before(s, o[root], o[c])) return;
    int64_t t = o[root];
    o[root] = o[c];
    o[c] = t;
    root = c;
  }
}

static void sort_by_score(const double *s, int64_t *o, int64_t n) {
  for (int64_t i = 0; i < n; i++) o[i] = i;
  for (int64_t i = n / 2; i-- > 0;) sift(s, o, i, n);
  for (int64_t end = n; end-- > 1;) {
    int64_t t = o[0];
    o[0] = o[end];
    o[end] = t;
    sift(s, o, 0, end);
  }
}

int32_t loom_gen_pick(const loom_gen_params *p, const float *logits,
                      int64_t vocab, const int32_t *seen, int64_t n_seen,
                      uint64_t rng[4], double *s, int64_t *order,
                      unsigned char *mark) {
  for (int64_t i = 0; i < vocab; i++) s[i] = (double)logits[i];
  /* repetition penalty: each id of the sequence once */
  if (p->repetition_penalty != 1.0) {
    memset(mark, 0, (size_t)vocab);
    for (int64_t i = 0; i < n_seen; i++) {
      int32_t id = seen[i];
      if (id < 0 || id >= vocab || mark[id]) continue;
      mark[id] = 1;
      s[id] = s[id] < 0 ? s[id] * p->repetition_penalty
                        : s[id] / p->repetition_penalty;
    }
  }
  if (!p->sample) {
    int64_t best = 0;
    for (int64_t i = 1; i < vocab; i++)
      if (s[i] > s[best]) best = i;
    return (int32_t)best;
  }
  for (int64_t i = 0; i < vocab; i++) s[i] /= p->temperature;
  int sorted = 0;
  if (p->top_k > 0 && p->top_k < vocab) {
    sort_by_score(s, order, vocab);
    sorted = 1;
    double kth = s[order[vocab - p->top_k]];
    for (int64_t i = 0; i < vocab; i++)
      if (s[i] < kth) s[i] = -INFINITY;
  }
  if (p->top_p < 1.0) {
    if (!sorted) sort_by_score(s, order, vocab);
    /* -inf (dropped by top-k) sort first and weigh 0: the order of the
     * rest is unchanged by dropping them */
    double mx = s[order[vocab - 1]], sum = 0, cum = 0;
    for (int64_t i = 0; i < vocab; i++) sum += exp(s[i] - mx);
    for (int64_t r = 0; r < vocab - 1; r++) { /* the last is always kept */
      int64_t i = order[r];
      cum += exp(s[i] - mx) / sum;
      if (cum <= 1.0 - p->top_p) s[i] = -INFINITY;
    }
  }
  double mx = -INFINITY, sum = 0;
  for (int64_t i = 0; i < vocab; i++)
    if (s[i] > mx) mx = s[i];
  for (int64_t i = 0; i < vocab; i++) sum += (s[i] = exp(s[i] - mx));
  double u = next_double(rng) * sum, acc = 0;
  int64_t last = 0;
  for (int64_t i = 0; i < vocab; i++) {
    if (s[i] == 0) continue;
    acc += s[i];
    last = i;
    if (u < acc) return (int32_t)i;
  }
  return (int32_t)last; /* rounding: u at the very top */
}

/* ---- the loop ------------------------------------------------------------ */

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static int fail(char *err, size_t errlen, const char *msg) {
  if (err && errlen) snprintf(err, errlen, "%s", msg);
  return -1;
}

/* A prompt: 1..max_len ids, each in the vocabulary.  row >= 0 names it
 * in the messages (a batch); -1: the only one. */
static int check_prompt(const loom_gen_model *m, const int32_t *prompt,
                        int64_t n, int64_t row, char *err, size_t errlen) {
  char msg[256], what[48] = "the prompt", at[48] = "";
  if (row >= 0) {
    snprintf(what, sizeof what, "prompt %lld", (long long)row);
    snprintf(at, sizeof at, " of prompt %lld", (long long)row);
  }
  if (n < 1) {
    snprintf(msg, sizeof msg, "error: %s is empty", what);
    return fail(err, errlen, msg);
  }
  if (n > m->max_len) {
    snprintf(msg, sizeof msg, "error: %s has %lld tokens, more than the "
             "cache's %lld positions", what, (long long)n,
             (long long)m->max_len);
    return fail(err, errlen, msg);
  }
  for (int64_t i = 0; i < n; i++)
    if (prompt[i] < 0 || prompt[i] >= m->vocab) {
      snprintf(msg, sizeof msg, "error: prompt id %d at %lld%s is out of "
               "range for the vocabulary of %lld", prompt[i], (long long)i,
               at, (long long)m->vocab);
      return fail(err, errlen, msg);
    }
  return 0;
}

int loom_gen_check_batch(const loom_gen_model *m, int64_t batch, char *err,
                         size_t errlen) {
  char msg[256];
  int64_t max_batch = m->max_batch > 1 ? m->max_batch : 1;
  if (batch < 1) return fail(err, errlen, "error: no prompt");
  if (batch <= max_batch) return 0;
  if (max_batch == 1)
    snprintf(msg, sizeof msg, "error: %lld prompts, but the model has no "
             "batch dimension (a model file's max_batch: N, or loom's "
             "--max-batch N)", (long long)batch);
  else
    snprintf(msg, sizeof msg, "error: %lld prompts, more than the model's "
             "max_batch %lld", (long long)batch, (long long)max_batch);
  return fail(err, errlen, msg);
}

int loom_gen_run_batch(const loom_gen_model *m, const loom_gen_params *p,
                       const int32_t *src, int64_t n_src, int64_t batch,
                       const int32_t *const *prompts, const int64_t *n_prompt,
                       loom_gen_row_fn on_token, void *user,
                       loom_gen_stats *stats, char *err, size_t errlen) {
  loom_gen_stats st = {0};
  if (stats) *stats = st;
  if (loom_gen_check_batch(m, batch, err, errlen)) return -1;
  if (m->encode && batch > 1)
    return fail(err, errlen, "error: an encoder-decoder model generates for "
                             "one source at a time");
  int64_t S = 0; /* the padded prompts' length */
  for (int64_t r = 0; r < batch; r++) {
    if (check_prompt(m, prompts[r], n_prompt[r], batch > 1 ? r : -1, err,
                     errlen))
      return -1;
    if (n_prompt[r] > S) S = n_prompt[r];
  }
  if (p->max_new < 1) return fail(err, errlen, "error: max_new must be >= 1");
  if (p->sample && !(p->temperature > 0 && p->top_p > 0 && p->top_p <= 1 &&
                     p->top_k >= 0))
    return fail(err, errlen, "error: sampling needs temperature > 0, "
                             "top-k >= 0 and top-p in (0, 1]");
  if (!(p->repetition_penalty > 0))
    return fail(err, errlen, "error: the repetition penalty must be > 0");

  /* Per row r: its sequence so far seq + r*cap (prompt, then new ids;
   * len[r] of them), its pad, whether it is done, its PRNG; the batch's
   * ids, positions [B, S] and mask [B, max_len] for the steps. */
  int64_t B = batch, L = m->max_len, V = m->vocab, cap = S + p->max_new;
  int rc = 0;
  void **state = calloc((size_t)m->n_state + 1, sizeof *state);
  float *logits = malloc((size_t)(B * S * V) * sizeof *logits);
  int32_t *ids = malloc((size_t)(B * S) * sizeof *ids);
  int32_t *pos = malloc((size_t)(B * S) * sizeof *pos);
  float *mask = malloc((size_t)(B * L) * sizeof *mask);
  int32_t *seq = malloc((size_t)(B * cap) * sizeof *seq);
  int64_t *len = malloc((size_t)B * sizeof *len);
  int64_t *pad = malloc((size_t)B * sizeof *pad);
  unsigned char *done = calloc((size_t)B, 1);
  uint64_t (*rng)[4] = malloc((size_t)B * sizeof *rng);
  double *work = malloc((size_t)V * sizeof *work);
  int64_t *order = malloc((size_t)V * sizeof *order);
  unsigned char *mark = malloc((size_t)V);
  double *times = malloc((size_t)p->max_new * sizeof *times);
  int ok = state && logits && ids && pos && mask && seq && len && pad &&
           done && rng && work && order && mark && times;
  for (int i = 0; ok && i < m->n_state; i++) {
    state[i] = calloc((size_t)B, (size_t)m->state_bytes[i]);
    ok = state[i] != NULL;
    st.kv_cache_bytes += B * m->state_bytes[i];
  }
  if (!ok) {
    rc = fail(err, errlen, "error: out of memory for the KV cache");
    goto done;
  }
  for (int64_t r = 0; r < B; r++) {
    pad[r] = S - n_prompt[r];
    len[r] = n_prompt[r];
    memcpy(seq + r * cap, prompts[r], (size_t)n_prompt[r] * sizeof *seq);
    loom_gen_seed(rng[r], p->seed + (uint64_t)r);
    for (int64_t t = 0; t < S; t++) { /* padding: id 0 at position 0 */
      int pad_t = t < pad[r];
      ids[r * S + t] = pad_t ? 0 : prompts[r][t - pad[r]];
      pos[r * S + t] = pad_t ? 0 : (int32_t)(t - pad[r]);
    }
    for (int64_t t = 0; t < L; t++) mask[r * L + t] = t >= pad[r] ? 1.0f : 0.0f;
  }

  double t0 = now_ms();
  if (m->encode) {
    if (n_src < 1) {
      rc = fail(err, errlen, "error: the source is empty");
      goto done;
    }
    if ((rc = m->encode(m->ctx, src, n_src, err, errlen))) goto done;
    st.encode_ms = now_ms() - t0;
    t0 = now_ms();
  }
  if ((rc = m->step(m->ctx, 0, B, ids, S, 0, pos, mask, state, logits, err,
                    errlen)))
    goto done;
  st.prefill_ms = now_ms() - t0;
  /* row r's logits: [r][n-1] of the last step's [B, n, vocab] */
  int64_t n = S, at = S; /* the step's tokens per row; the next cache row */
  for (int64_t n_picked = 1;; n_picked++) {
    int stop = 0, all_done = 1;
    for (int64_t r = 0; r < B; r++) {
      if (done[r]) continue;
      int32_t id = loom_gen_pick(p, logits + (r * n + n - 1) * V, V,
                                 seq + r * cap, len[r], rng[r], work, order,
                                 mark);
      seq[r * cap + len[r]++] = id;
      st.n_new++;
      if (on_token && on_token(user, r, id)) {
        stop = 1;
        break;
      }
      if (id == p->eos || n_picked >= p->max_new) done[r] = 1;
      else all_done = 0;
    }
    if (stop || all_done) break;
    if (at >= L) { /* the next ids would go past the cache */
      st.hit_max_len = 1;
      break;
    }
    for (int64_t r = 0; r < B; r++) { /* a done row: its last id again */
      ids[r] = seq[r * cap + len[r] - 1];
      pos[r] = (int32_t)(at - pad[r]);
    }
    n = 1;
    t0 = now_ms();
    if ((rc = m->step(m->ctx, 1, B, ids, 1, at, pos, mask, state, logits, err,
                      errlen)))
      goto done;
    times[st.n_decode++] = now_ms() - t0;
    at++;
  }
  if (st.n_decode) {
    qsort(times, (size_t)st.n_decode, sizeof *times, cmp_double);
    st.decode_ms_median = st.n_decode % 2
                              ? times[st.n_decode / 2]
                              : 0.5 * (times[st.n_decode / 2 - 1] +
                                       times[st.n_decode / 2]);
  }
done:
  for (int i = 0; state && i < m->n_state; i++) free(state[i]);
  free(state);
  free(logits);
  free(ids);
  free(pos);
  free(mask);
  free(seq);
  free(len);
  free(pad);
  free(done);
  free(rng);
  free(work);
  free(order);
  free(mark);
  free(times);
  if (stats) *stats = st;
  return rc ? -1 : 0;
}

/* One sequence: a batch of one, its callback without the row. */
typedef struct {
  loom_gen_token_fn fn;
  void *user;
} OneRow;

static int one_row(void *user, int64_t row, int32_t id) {
  const OneRow *o = user;
  (void)row;
  return o->fn ? o->fn(o->user, id) : 0;
}

int loom_gen_run(const loom_gen_model *m, const loom_gen_params *p,
                 const int32_t *src, int64_t n_src,
                 const int32_t *prompt, int64_t n_prompt,
                 loom_gen_token_fn on_token, void *user,
                 loom_gen_stats *stats, char *err, size_t errlen) {
  OneRow o = {on_token, user};
  const int32_t *prompts[1] = {prompt};
  return loom_gen_run_batch(m, p, src, n_src, 1, prompts, &n_prompt, one_row,
                            &o, stats, err, errlen);
}

/* ---- the command lines' ids ---------------------------------------------- */

int loom_gen_parse_ids(const char *s, int32_t **ids, size_t *n) {
  size_t cap = 1;
  for (const char *p = s; *p; p++) cap += *p == ',';
  *n = 0;
  if (!(*ids = malloc(cap * sizeof **ids))) return -2;
  for (const char *p = s;; p++) {
    char *end;
    errno = 0;
    long long v = strtoll(p, &end, 10);
    if (end == p || errno || v < 0 || v > INT32_MAX || (*end && *end != ',')) {
      free(*ids);
      *ids = NULL;
      return -1;
    }
    (*ids)[(*n)++] = (int32_t)v;
    if (!*end) return 0;
    p = end;
  }
}
