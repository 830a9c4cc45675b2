/* cpu.c — the host CPU, or a named x86-64 level (see cpu.h).
 *
 * The host's ISA level comes from the compiler's cpuid builtins; cache
 * sizes from sysfs (the first CPU's data, L2 and L3 caches), with the
 * figures of a common x86-64 core when sysfs does not say.
 *
 * Features beyond the level (TF_*: AVX-512-BF16, AMX) come from CPUID and
 * XCR0 themselves, never from the CPU's name (gcc and LLVM call hosts with
 * AMX by older names): a feature counts when CPUID reports it and the OS
 * saves its register state (XCR0: opmask/ZMM for AVX-512, XTILECFG and
 * XTILEDATA for AMX).  A named target takes them as suffixes:
 * x86-64-v4+avx512bf16+amx.
 */
#include "codegen/cpu.h"

#include "codegen/kpass/tile.h"

#include <stdbool.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#endif

const char *const cg_target_names =
    "native, x86-64-v4, x86-64-v3, x86-64-v2, generic, each optionally "
    "+avx512bf16 and/or +amx";

static const struct {
  const char *name;  /* as --target spells it */
  unsigned bit;      /* TF_* */
  const char *llvm;  /* LLVM target features */
  const char *cflag; /* C compiler flags */
} features[] = {
    {"avx512bf16", TF_AVX512BF16, "+avx512bf16", "-mavx512bf16"},
    {"amx", TF_AMX, "+amx-tile,+amx-bf16", "-mamx-tile -mamx-bf16"},
};
#define N_FEATURES (sizeof features / sizeof features[0])

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
  cg_tile_plan_bf16(t, t->lanes, &t->plan);
}

/* The host's TF_* features: CPUID leaf 7 and the state XCR0 enables. */
static unsigned host_features(void) {
  unsigned f = 0;
#if defined(__x86_64__) && defined(__GNUC__)
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return 0; /* OSXSAVE */
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  (void)hi;
  bool zmm = (lo & 0xe6) == 0xe6;                 /* SSE, AVX, opmask, ZMM */
  bool tiles = (lo & (3u << 17)) == (3u << 17);   /* XTILECFG, XTILEDATA */
  unsigned max7 = 0;
  if (!__get_cpuid_count(7, 0, &max7, &b, &c, &d)) return 0;
  if (tiles && (d & (1u << 24)) && (d & (1u << 22))) f |= TF_AMX; /* tile, bf16 */
  if (max7 >= 1 && __get_cpuid_count(7, 1, &a, &b, &c, &d) && zmm &&
      (a & (1u << 5)))
    f |= TF_AVX512BF16;
#endif
  return f;
}

/* A string that lives as long as the process: targets are copied by
 * value, so their names and flags cannot point into themselves.  The few
 * distinct spellings of one run are kept once each. */
static const char *intern(const char *s) {
  static char *pool[64];
  static int n;
  for (int i = 0; i < n; i++)
    if (strcmp(pool[i], s) == 0) return pool[i];
  if (n == 64) return "";
  return pool[n++] = strdup(s);
}

/* Name, C flags and LLVM features of t with its features added. */
static void name_features(Target *t) {
  char name[128], cflags[256], llvm[128] = "";
  snprintf(name, sizeof name, "%s", t->name);
  snprintf(cflags, sizeof cflags, "%s", t->cflags);
  for (size_t i = 0; i < N_FEATURES; i++) {
    if (!(t->features & features[i].bit)) continue;
    size_t n = strlen(name), c = strlen(cflags), l = strlen(llvm);
    snprintf(name + n, sizeof name - n, "+%s", features[i].name);
    if (!t->native)
      snprintf(cflags + c, sizeof cflags - c, "%s%s", c ? " " : "",
               features[i].cflag);
    snprintf(llvm + l, sizeof llvm - l, "%s%s", l ? "," : "", features[i].llvm);
  }
  t->name = intern(name);
  t->cflags = intern(cflags);
  t->features_llvm = intern(llvm);
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
    out->features = host_features();
#else
    *out = levels[3];
#endif
    out->native = 1;
    caches(out);
    /* the level's name stays: "x86-64-v4", plus the features found */
    name_features(out);
    return 0;
  }
  /* NAME[+FEATURE...] */
  size_t base = strcspn(name, "+");
  unsigned f = 0;
  for (const char *p = name + base; *p == '+';) {
    const char *q = p + 1;
    size_t len = strcspn(q, "+");
    size_t i = 0;
    while (i < N_FEATURES && !(strlen(features[i].name) == len &&
                               strncmp(features[i].name, q, len) == 0))
      i++;
    if (i == N_FEATURES) return -1;
    f |= features[i].bit;
    p = q + len;
  }
  for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++)
    if (strlen(levels[i].name) == base && strncmp(levels[i].name, name, base) == 0) {
      *out = levels[i];
      out->features = f;
      caches(out);
      name_features(out);
      return 0;
    }
  return -1;
}
