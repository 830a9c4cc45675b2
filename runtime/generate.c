/* generate.c — the generation loop and the sampler (loom_generate.h says
 * what and in which order; this file is how).
 *
 * Every buffer is allocated once per call, before the first step: the
 * states (zeroed: positions not yet written are never read, since the
 * decode graph's attention is causal with q_offset = P, but zeros keep a
 * run reproducible byte for byte), the logits rows, the sequence so far
 * and the sampler's work arrays.
 */
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#endif
#include "loom_generate.h"

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

int loom_gen_run(const loom_gen_model *m, const loom_gen_params *p,
                 const int32_t *src, int64_t n_src,
                 const int32_t *prompt, int64_t n_prompt,
                 loom_gen_token_fn on_token, void *user,
                 loom_gen_stats *stats, char *err, size_t errlen) {
  loom_gen_stats st = {0};
  if (stats) *stats = st;
  char msg[256];
  if (n_prompt < 1) return fail(err, errlen, "error: the prompt is empty");
  if (n_prompt > m->max_len) {
    snprintf(msg, sizeof msg, "error: the prompt has %lld tokens, more than "
             "the cache's %lld positions", (long long)n_prompt,
             (long long)m->max_len);
    return fail(err, errlen, msg);
  }
  if (p->max_new < 1) return fail(err, errlen, "error: max_new must be >= 1");
  if (p->sample && !(p->temperature > 0 && p->top_p > 0 && p->top_p <= 1 &&
                     p->top_k >= 0))
    return fail(err, errlen, "error: sampling needs temperature > 0, "
                             "top-k >= 0 and top-p in (0, 1]");
  if (!(p->repetition_penalty > 0))
    return fail(err, errlen, "error: the repetition penalty must be > 0");
  for (int64_t i = 0; i < n_prompt; i++)
    if (prompt[i] < 0 || prompt[i] >= m->vocab) {
      snprintf(msg, sizeof msg, "error: prompt id %d at %lld is out of range "
               "for the vocabulary of %lld", prompt[i], (long long)i,
               (long long)m->vocab);
      return fail(err, errlen, msg);
    }

  int rc = 0;
  void **state = calloc((size_t)m->n_state + 1, sizeof *state);
  float *logits = malloc((size_t)(n_prompt * m->vocab) * sizeof *logits);
  int32_t *seq = malloc((size_t)(n_prompt + p->max_new) * sizeof *seq);
  double *work = malloc((size_t)m->vocab * sizeof *work);
  int64_t *order = malloc((size_t)m->vocab * sizeof *order);
  unsigned char *mark = malloc((size_t)m->vocab);
  double *times = malloc((size_t)p->max_new * sizeof *times);
  int ok = state && logits && seq && work && order && mark && times;
  for (int i = 0; ok && i < m->n_state; i++) {
    state[i] = calloc(1, (size_t)m->state_bytes[i]);
    ok = state[i] != NULL;
    st.kv_cache_bytes += m->state_bytes[i];
  }
  if (!ok) {
    rc = fail(err, errlen, "error: out of memory for the KV cache");
    goto done;
  }
  uint64_t rng[4];
  loom_gen_seed(rng, p->seed);
  memcpy(seq, prompt, (size_t)n_prompt * sizeof *seq);
  int64_t len = n_prompt;

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
  if ((rc = m->step(m->ctx, 0, prompt, n_prompt, 0, state, logits, err, errlen)))
    goto done;
  st.prefill_ms = now_ms() - t0;
  const float *last = logits + (n_prompt - 1) * m->vocab;
  for (;;) {
    int32_t id = loom_gen_pick(p, last, m->vocab, seq, len, rng, work, order,
                               mark);
    seq[len++] = id;
    st.n_new++;
    if (on_token && on_token(user, id)) break;
    if (id == p->eos || st.n_new >= p->max_new) break;
    if (len > m->max_len) { /* id would go at position len - 1 */
      st.hit_max_len = 1;
      break;
    }
    t0 = now_ms();
    if ((rc = m->step(m->ctx, 1, &seq[len - 1], 1, len - 1, state, logits, err,
                      errlen)))
      goto done;
    times[st.n_decode++] = now_ms() - t0;
    last = logits;
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
  free(seq);
  free(work);
  free(order);
  free(mark);
  free(times);
  if (stats) *stats = st;
  return rc ? -1 : 0;
}
