/* test_random_weights.c — frontend/random_weights.c: the same (name, seed)
 * gives the same values everywhere, values stay in range, and different names
 * or seeds give unrelated streams.
 *
 * The golden values were computed by an independent Python implementation of
 * FNV-1a 64 + splitmix64 (exact integer arithmetic, numpy float32 for the last
 * multiply), so they pin the algorithm, not just this build's output.
 */
#include <stdint.h>

#include "frontend/random_weights.h"
#include "tests/check.h"

#define N 100000

static float a[N], b[N];

static int count_equal(const float *x, const float *y, int n) {
  int k = 0;
  for (int i = 0; i < n; i++) k += x[i] == y[i];
  return k;
}

int main(void) {
  /* FNV-1a 64 reference values. */
  CHECK(fe_fnv1a64("") == 0xcbf29ce484222325ull);
  CHECK(fe_fnv1a64("a") == 0xaf63dc4c8601ec8cull);

  /* Golden values: the same on every machine. */
  fe_random_fill(a, 4, "h.0.attn.c_attn.weight", 0, 1.0f);
  const float g1[] = {0x1.4497cp-3f, 0x1.93a22p-3f, 0x1.0b202p-1f,
                      -0x1.cec9fcp-1f};
  for (int i = 0; i < 4; i++) CHECK_MSG(a[i] == g1[i], "%d: %a", i, a[i]);
  fe_random_fill(a, 4, "wte", 42, 0.02f);
  const float g2[] = {0x1.09f3aep-9f, -0x1.07fe0ap-7f, -0x1.fad6c2p-7f,
                      -0x1.29b19ap-6f};
  for (int i = 0; i < 4; i++) CHECK_MSG(a[i] == g2[i], "%d: %a", i, a[i]);

  /* Deterministic, and independent of order and of other tensors. */
  fe_random_fill(a, N, "h.0.mlp.c_fc.weight", 7, 0.5f);
  fe_random_fill(b, N, "h.1.mlp.c_fc.weight", 7, 0.5f);
  fe_random_fill(b, N, "h.0.mlp.c_fc.weight", 7, 0.5f);
  CHECK(memcmp(a, b, sizeof a) == 0);
  /* A shorter fill is a prefix of a longer one. */
  fe_random_fill(b, 10, "h.0.mlp.c_fc.weight", 7, 0.5f);
  CHECK(memcmp(a, b, 10 * sizeof(float)) == 0);

  /* Range and rough uniformity. */
  double sum = 0, sq = 0;
  float lo = 1, hi = -1;
  for (int i = 0; i < N; i++) {
    CHECK(a[i] >= -0.5f && a[i] <= 0.5f);
    sum += a[i];
    sq += (double)a[i] * a[i];
    lo = a[i] < lo ? a[i] : lo;
    hi = a[i] > hi ? a[i] : hi;
  }
  CHECK_CLOSE(sum / N, 0.0, 0.005, 0);
  CHECK_CLOSE(sq / N, 0.25 / 3, 0.002, 0); /* variance of U(-s, s) is s^2/3 */
  CHECK(lo < -0.499f && hi > 0.499f);
  int buckets[10] = {0};
  for (int i = 0; i < N; i++) buckets[(int)((a[i] + 0.5f) * 10) % 10]++;
  for (int k = 0; k < 10; k++) CHECK_CLOSE(buckets[k], N / 10, 500, 0);

  /* Different names and seeds give unrelated streams. */
  fe_random_fill(b, N, "h.1.mlp.c_fc.weight", 7, 0.5f);
  CHECK(count_equal(a, b, N) < 10);
  fe_random_fill(b, N, "h.0.mlp.c_fc.weight", 8, 0.5f);
  CHECK(count_equal(a, b, N) < 10);
  fe_random_fill(b, N, "h.0.mlp.c_fc.weigh", 7, 0.5f);
  CHECK(count_equal(a, b, N) < 10);
  double cross = 0;
  for (int i = 0; i < N; i++) cross += (double)a[i] * b[i];
  CHECK_CLOSE(cross / N, 0.0, 0.002, 0);

  /* Scale is exact: a scale of 2 doubles every value. */
  fe_random_fill(b, N, "h.0.mlp.c_fc.weight", 7, 1.0f);
  for (int i = 0; i < N; i++) CHECK(b[i] == 2 * a[i]);

  /* Edge cases. */
  a[0] = 42;
  fe_random_fill(a, 0, "x", 0, 1);
  fe_random_fill(a, -5, "x", 0, 1);
  fe_random_fill(NULL, 10, "x", 0, 1);
  CHECK(a[0] == 42);
  fe_random_fill(a, 3, NULL, 0, 1);
  fe_random_fill(b, 3, "", 0, 1);
  CHECK(memcmp(a, b, 3 * sizeof(float)) == 0);
  fe_random_fill(a, 100, "z", 1, 0);
  for (int i = 0; i < 100; i++) CHECK(a[i] == 0);
  CHECK_DONE();
}
