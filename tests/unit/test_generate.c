/* test_generate.c — generation with a KV cache (issue 11).
 *
 * 1. The sampler (runtime/generate.c, loom_gen_pick): greedy ties, the
 *    repetition penalty, top-k = 1 and a tiny top-p are argmax, one seed
 *    gives one sequence of draws.
 * 2. The decode path against a full recompute: for gpt2-tiny, on every
 *    backend, the prefill graph's logits equal the forward graph's on the
 *    prompt, and at every decode step the decode graph's logits (one
 *    token, the caches holding the rest) equal the last row of the forward
 *    graph run on the whole sequence so far.
 * 3. The batch loop's contract (loom_gen_run_batch) with a step of its
 *    own instead of a model: the prompts left-padded (id 0, position 0,
 *    mask 0 on the padding), each token's position its cache row minus
 *    its row's pad, a finished row fed its last id while the others go
 *    on, each row stopping at its own eos, the states sized per row, and
 *    the batch's bound.
 */
#include <stdint.h>

#include "tests/check.h"
#include "loom.h"

static const char *MODEL = "goldens/gpt2-tiny/model.yaml";
enum { VOCAB = 517, CACHE = 24, PROMPT = 5, STEPS = 12, H = 6, DH = 5, LAYERS = 2 };

static void test_sampler(void) {
  double work[8];
  int64_t order[8];
  unsigned char mark[8];
  uint64_t rng[4];
  loom_gen_seed(rng, 1);
  loom_gen_params greedy = {.max_new = 1, .eos = -1, .temperature = 1,
                            .top_p = 1, .repetition_penalty = 1};
  float l[8] = {0.5f, 2.0f, -1.0f, 2.0f, 1.0f, 0.0f, 1.9f, -3.0f};
  CHECK(loom_gen_pick(&greedy, l, 8, NULL, 0, rng, work, order, mark) == 1);
  /* penalty 2 on ids 1 and 3: 1.0 each; 6 (1.9) wins; a negative logit is
   * multiplied: -1 -> -2 */
  int32_t seen[3] = {1, 3, 1};
  loom_gen_params pen = greedy;
  pen.repetition_penalty = 2;
  CHECK(loom_gen_pick(&pen, l, 8, seen, 3, rng, work, order, mark) == 6);
  /* sampling with top-k 1, or top-p so small only the best stays: argmax
   * (top-k keeps ties, as HF does: make the maximum unique) */
  l[3] = 1.95f;
  loom_gen_params s = greedy;
  s.sample = 1;
  s.top_k = 1;
  for (int i = 0; i < 20; i++)
    CHECK(loom_gen_pick(&s, l, 8, NULL, 0, rng, work, order, mark) == 1);
  s.top_k = 0;
  s.top_p = 1e-9;
  for (int i = 0; i < 20; i++)
    CHECK(loom_gen_pick(&s, l, 8, NULL, 0, rng, work, order, mark) == 1);
  /* one seed, one sequence; every id drawn sometimes at a high temperature */
  s.top_p = 1;
  s.temperature = 100;
  uint64_t r1[4], r2[4];
  loom_gen_seed(r1, 42);
  loom_gen_seed(r2, 42);
  int hits[8] = {0};
  for (int i = 0; i < 400; i++) {
    int32_t a = loom_gen_pick(&s, l, 8, NULL, 0, r1, work, order, mark);
    int32_t b = loom_gen_pick(&s, l, 8, NULL, 0, r2, work, order, mark);
    CHECK(a == b && a >= 0 && a < 8);
    hits[a]++;
  }
  for (int i = 0; i < 8; i++) CHECK(hits[i] > 10);
}

static int argmax(const float *x, int n) {
  int b = 0;
  for (int i = 1; i < n; i++)
    if (x[i] > x[b]) b = i;
  return b;
}

static void check_rows(const float *got, const float *want, int n) {
  for (int i = 0; i < n; i++) CHECK_CLOSE(got[i], want[i], 1e-4, 1e-3);
}

static void test_decode_vs_forward(const char *backend) {
  char err[4096];
  loom_options o = {.backend = backend};
  loom_model *fwd, *pre, *dec;
  loom_status st = loom_load(MODEL, &o, &fwd, err, sizeof err);
  if (st == LOOM_ERR_USAGE) {
    printf("backend %s not built: skipped\n", backend);
    return;
  }
  CHECK_MSG(st == LOOM_OK, "%s", err);
  o.max_len = CACHE;
  o.graph = "prefill";
  CHECK_MSG(loom_load(MODEL, &o, &pre, err, sizeof err) == LOOM_OK, "%s", err);
  o.graph = "decode";
  CHECK_MSG(loom_load(MODEL, &o, &dec, err, sizeof err) == LOOM_OK, "%s", err);
  CHECK(loom_num_inputs(dec) == 2 + 2 * LAYERS);

  static float cache[2 * LAYERS][H * CACHE * DH]; /* zeroed */
  int32_t seq[PROMPT + STEPS] = {37, 235, 72, 144, 129};
  int32_t pos = 0;
  static float logits[(PROMPT + STEPS) * VOCAB], want[(PROMPT + STEPS) * VOCAB];
  loom_tensor in[2 + 2 * LAYERS];
  char names[2 * LAYERS][32];
  in[0] = (loom_tensor){"ids", LOOM_I32, 1, {PROMPT}, seq};
  in[1] = (loom_tensor){"pos", LOOM_I32, 0, {0}, &pos};
  for (int l = 0; l < 2 * LAYERS; l++) {
    snprintf(names[l], sizeof names[l], "%c_cache.%d", l % 2 ? 'v' : 'k', l / 2);
    in[2 + l] = (loom_tensor){names[l], LOOM_F32, 3, {H, CACHE, DH}, cache[l]};
  }
  loom_tensor out = {NULL, LOOM_F32, 2, {PROMPT, VOCAB}, logits};
  loom_tensor wout = {NULL, LOOM_F32, 2, {PROMPT, VOCAB}, want};
  CHECK_MSG(loom_run(pre, in, 2 + 2 * LAYERS, &out, 1, err, sizeof err) == LOOM_OK,
            "%s", err);
  CHECK_MSG(loom_run(fwd, in, 1, &wout, 1, err, sizeof err) == LOOM_OK, "%s", err);
  check_rows(logits, want, PROMPT * VOCAB);
  int len = PROMPT;
  seq[len] = argmax(logits + (PROMPT - 1) * VOCAB, VOCAB);
  for (int step = 0; step < STEPS - 1; step++) {
    /* decode the newest token at its position */
    pos = len;
    in[0] = (loom_tensor){"ids", LOOM_I32, 1, {1}, &seq[len]};
    out.dims[0] = 1;
    CHECK_MSG(loom_run(dec, in, 2 + 2 * LAYERS, &out, 1, err, sizeof err) == LOOM_OK,
              "%s", err);
    len++;
    /* the whole sequence again, from scratch */
    in[0] = (loom_tensor){"ids", LOOM_I32, 1, {len}, seq};
    wout.dims[0] = len;
    CHECK_MSG(loom_run(fwd, in, 1, &wout, 1, err, sizeof err) == LOOM_OK, "%s", err);
    check_rows(logits, want + (len - 1) * VOCAB, VOCAB);
    seq[len] = argmax(logits, VOCAB);
  }
  /* a position past the cache is an error, not a write out of bounds */
  pos = CACHE;
  in[0] = (loom_tensor){"ids", LOOM_I32, 1, {1}, seq};
  out.dims[0] = 1;
  CHECK(loom_run(dec, in, 2 + 2 * LAYERS, &out, 1, err, sizeof err) != LOOM_OK);
  CHECK_STR_CONTAINS(err, "P must be in 0..23");
  printf("%s: decode matches forward over %d steps\n", backend, STEPS);
  loom_free(fwd);
  loom_free(pre);
  loom_free(dec);
}

/* A model whose next id is the last one + 1 (mod V): each row counts up
 * from its prompt.  The step checks what the loop hands it. */
enum { V = 10, L = 16, NB = 3 };
typedef struct {
  int64_t pad[NB];
  int steps, bad;
  int32_t last[NB]; /* each row's id at the previous step */
  int32_t got[NB][16];
  int n_got[NB];
} Mock;

static int mock_step(void *ctx, int decode, int64_t batch, const int32_t *ids,
                     int64_t n, int64_t pos, const int32_t *positions,
                     const float *mask, void *const *state, float *logits,
                     char *err, size_t errlen) {
  Mock *mk = ctx;
  (void)err, (void)errlen;
  mk->bad += batch != NB || (decode ? n != 1 : pos != 0);
  ((unsigned char *)state[0])[batch * 8 - 1] = 1; /* B rows of 8 bytes */
  for (int64_t r = 0; r < batch; r++) {
    for (int64_t t = 0; t < L; t++) mk->bad += mask[r * L + t] != (t >= mk->pad[r]);
    for (int64_t i = 0; i < n; i++) {
      int64_t row = pos + i; /* the cache row */
      int padded = row < mk->pad[r];
      mk->bad += positions[r * n + i] != (padded ? 0 : row - mk->pad[r]);
      mk->bad += padded && ids[r * n + i] != 0;
      float *l = logits + (r * n + i) * V;
      for (int v = 0; v < V; v++) l[v] = v == (ids[r * n + i] + 1) % V ? 1.0f : 0.0f;
    }
    if (decode) mk->bad += ids[r] != mk->last[r]; /* the last pick, or a
                                                     done row's last id */
  }
  mk->steps++;
  return 0;
}

/* loom_gen_row_fn: keep each row's ids (and the last, for mock_step) */
static int mock_token(void *user, int64_t row, int32_t id) {
  Mock *mk = user;
  mk->got[row][mk->n_got[row]++] = id;
  mk->last[row] = id;
  return 0;
}

static void test_batch_loop(void) {
  int32_t p0[] = {3}, p1[] = {5, 6, 7}, p2[] = {1, 2};
  const int32_t *prompts[NB] = {p0, p1, p2};
  int64_t n[NB] = {1, 3, 2};
  Mock mk = {.pad = {2, 0, 1}, .last = {3, 7, 2}};
  int64_t bytes[1] = {8};
  loom_gen_model m = {.vocab = V, .max_len = L, .n_state = 1,
                      .state_bytes = bytes, .step = mock_step, .ctx = &mk,
                      .max_batch = 4};
  loom_gen_params p = {.max_new = 10, .eos = 9, .temperature = 1, .top_p = 1,
                       .repetition_penalty = 1};
  loom_gen_stats st;
  char err[256];
  CHECK_MSG(loom_gen_run_batch(&m, &p, NULL, 0, NB, prompts, n, mock_token,
                               &mk, &st, err, sizeof err) == 0, "%s", err);
  CHECK(mk.bad == 0);
  /* row 0 counts 4..9 (6 ids), row 1 8, 9 (2), row 2 3..9 (7): 7 picks,
   * the prefill and 6 decode steps */
  static const int want_n[NB] = {6, 2, 7};
  for (int r = 0; r < NB; r++) {
    CHECK(mk.n_got[r] == want_n[r]);
    for (int i = 0; i < mk.n_got[r]; i++)
      CHECK(mk.got[r][i] == (prompts[r][n[r] - 1] + 1 + i) % V);
  }
  CHECK(mk.steps == 7 && st.n_decode == 6 && st.n_new == 15);
  CHECK(st.kv_cache_bytes == NB * 8 && !st.hit_max_len);
  /* the bound: max_batch, and 1 without a batch dimension */
  m.max_batch = 2;
  CHECK(loom_gen_run_batch(&m, &p, NULL, 0, NB, prompts, n, mock_token, &mk,
                           NULL, err, sizeof err) != 0);
  CHECK_STR_CONTAINS(err, "3 prompts, more than the model's max_batch 2");
  m.max_batch = 0;
  CHECK(loom_gen_check_batch(&m, 2, err, sizeof err) != 0);
  CHECK_STR_CONTAINS(err, "no batch dimension");
  CHECK(loom_gen_check_batch(&m, 1, err, sizeof err) == 0);
  printf("batch loop: padding, positions, per-row eos\n");
}

int main(void) {
  test_sampler();
  test_batch_loop();
  test_decode_vs_forward("ref");
  test_decode_vs_forward("c");
  test_decode_vs_forward("jit");
  CHECK_DONE();
}
