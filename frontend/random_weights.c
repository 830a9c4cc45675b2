/* random_weights.c — deterministic per-tensor random weights (see
 * random_weights.h).
 *
 * Generator: splitmix64 (Steele, Lea & Flood 2014; the seeding generator of
 * xoshiro) over a state seeded with FNV-1a-64(name) ^ seed.  splitmix64's
 * output function is a bijection with good avalanche, so nearby seeds and
 * names that differ by one character give unrelated streams.
 *
 * Each value takes the top 24 bits of an output, k in [0, 2^24), and returns
 * (k - 2^23) * (scale / 2^23): both factors are exact in float and the product
 * is rounded once, so results are bit-identical on any IEEE-754 machine and
 * at any optimization level (no transcendental functions, no double-rounding
 * through long double).  The range is [-scale, scale - scale/2^23].
 */
#include "random_weights.h"

uint64_t fe_fnv1a64(const char *s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
    h ^= *p;
    h *= 0x100000001b3ull;
  }
  return h;
}

static uint64_t splitmix64(uint64_t *state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void fe_random_fill(float *dst, int64_t n, const char *name, uint64_t seed,
                    float scale) {
  if (!dst || n <= 0) return;
  uint64_t state = fe_fnv1a64(name ? name : "") ^ seed;
  const float step = scale * 0x1p-23f; /* exact: a power-of-two scaling */
  for (int64_t i = 0; i < n; i++) {
    int32_t k = (int32_t)(splitmix64(&state) >> 40) - (1 << 23);
    dst[i] = (float)k * step;
  }
}
