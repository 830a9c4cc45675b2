/* cpu.c — the host CPU, or a named x86-64 level (see cpu.h).
 *
 * The host's ISA level comes from the compiler's cpuid builtins; cache
 * sizes from sysfs (the first CPU's data, L2 and L3 caches), with the
 * figures of a common x86-64 core when sysfs does not say.
 */
#include "codegen/cpu.h"

#include "codegen/kpass/tile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const cg_target_names = "native, x86-64-v4, x86-64-v3, x86-64-v2, generic";

static const Target levels[] = {
    {.name = "x86-64-v4", .cpu = "x86-64-v4", .cflags = "-march=x86-64-v4", .lanes = 16},
    {.name = "x86-64-v3", .cpu = "x86-64-v3", .cflags = "-march=x86-64-v3", .lanes = 8},
    {.name = "x86-64-v2", .cpu = "x86-64-v2", .cflags = "-march=x86-64-v2", .lanes = 4},
    {.name = "generic", .cpu = "x86-64", .cflags = "", .lanes = 1},
};

/* Size of cache `index` of cpu0 from sysfs ("48K", "1024K", "32M"). */
static int64_t sysfs_cache(int index, int64_t fallback) {
  char path[128], text[64];
  snprintf(path, sizeof path,
           "/sys/devices/system/cpu/cpu0/cache/index%d/size", index);
  FILE *f = fopen(path, "r");
  if (!f) return fallback;
  int64_t v = fallback;
  if (fgets(text, sizeof text, f)) {
    char *end;
    long long n = strtoll(text, &end, 10);
    if (n > 0) v = n * (*end == 'M' ? 1 << 20 : *end == 'K' ? 1 << 10 : 1);
  }
  fclose(f);
  return v;
}

static void caches(Target *t) {
  /* index0 L1d, index1 L1i, index2 L2, index3 L3 on x86 Linux */
  t->l1d = sysfs_cache(0, 32 << 10);
  t->l2 = sysfs_cache(2, 1 << 20);
  t->l3 = sysfs_cache(3, 32 << 20);
  cg_tile_plan(t);
}

int cg_target(const char *name, Target *out) {
  if (!name || strcmp(name, "native") == 0) {
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq"))
      *out = levels[0];
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
      *out = levels[1];
    else if (__builtin_cpu_supports("sse4.2"))
      *out = levels[2];
    else
      *out = levels[3];
    out->cflags = "-march=native";
    out->cpu = "native";
#else
    *out = levels[3];
#endif
    out->native = 1;
    caches(out);
    return 0;
  }
  for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++)
    if (strcmp(levels[i].name, name) == 0) {
      *out = levels[i];
      caches(out);
      return 0;
    }
  return -1;
}
