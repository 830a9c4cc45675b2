/* random_weights.h — deterministic random weights for benchmarks and tests
 * that run a model without a checkpoint.
 *
 * Each tensor's values depend only on its name and the seed (never on the
 * order tensors are declared or filled, nor on the machine), so a benchmark
 * on one machine and its reference run on another see the same weights.
 */
#ifndef LOOM_FRONTEND_RANDOM_WEIGHTS_H
#define LOOM_FRONTEND_RANDOM_WEIGHTS_H

#include <stdint.h>

/* Fill dst[n] with values for tensor `name` under `seed`: uniform in
 * [-scale, scale], from a splitmix64 generator seeded with
 * FNV-1a-64(name) ^ seed.  n <= 0 writes nothing; name NULL is "". */
void fe_random_fill(float *dst, int64_t n, const char *name, uint64_t seed,
                    float scale);

/* FNV-1a 64 of a NUL-terminated string (exposed for tests and for callers
 * that derive other per-tensor streams). */
uint64_t fe_fnv1a64(const char *s);

#endif
