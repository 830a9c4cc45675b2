/* gen_ucd.c — writes the Unicode tables the tokenizers need, from
 * libutf8proc, at build time.  Not part of the runtime: a build tool
 * (CMake runs it; its output goes to the build directory only).
 *
 *   gen_ucd OUT.c
 *
 * For every code point the tokenizers need four facts: its general category,
 * its canonical combining class, its simple lowercase mapping and its full
 * canonical decomposition (NFD of the one character).  They are written as a
 * two-stage table, so that the runtime (libc only, runtime/text/ucd.h) looks
 * a code point up with two array reads:
 *
 *   rt_ucd_stage1[cp >> 6]            -> block number
 *   rt_ucd_stage2[block * 64 + cp%64] -> index of a record in rt_ucd_records
 *   rt_ucd_records[i] = {category, ccc, decomposition length, lowercase
 *                        delta, decomposition offset in rt_ucd_decomp}
 *
 * Hangul syllables (U+AC00..U+D7A3) decompose by the arithmetic of the
 * Unicode standard (section 3.12), which the runtime does itself
 * (rt_ucd_decompose); here each one is checked against utf8proc and left out
 * of the tables, which saves 11172 records.
 *
 * Identical 64-entry blocks and identical records are stored once.  The
 * numbers come from the library, never typed by hand: regenerate with a newer
 * utf8proc and the tables follow its Unicode version (rt_ucd_version).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#define N_CP 0x110000
#define BLOCK 64

typedef struct {
  uint8_t cat, ccc, dlen;
  int32_t lower; /* delta */
  uint32_t doff;
} Rec;

static Rec *recs;
static int n_recs, cap_recs;
static uint32_t *decomp;
static int n_decomp, cap_decomp;

static int rec_eq(const Rec *a, const Rec *b) {
  return a->cat == b->cat && a->ccc == b->ccc && a->dlen == b->dlen &&
         a->lower == b->lower && a->doff == b->doff;
}

/* A tiny open-addressing hash over records, so 1.1M lookups stay fast. */
static int *rhash;
#define RHASH (1 << 16)
static unsigned rec_hash(const Rec *r) {
  uint32_t h = r->cat * 31u + r->ccc * 131u + r->dlen * 7u;
  h ^= (uint32_t)r->lower * 2654435761u;
  h ^= r->doff * 40503u;
  return h & (RHASH - 1);
}

static int rec_index(const Rec *r) {
  unsigned h = rec_hash(r);
  while (rhash[h] >= 0) {
    if (rec_eq(&recs[rhash[h]], r)) return rhash[h];
    h = (h + 1) & (RHASH - 1);
  }
  if (n_recs == cap_recs) {
    cap_recs = cap_recs ? cap_recs * 2 : 1024;
    recs = realloc(recs, (size_t)cap_recs * sizeof *recs);
  }
  recs[n_recs] = *r;
  rhash[h] = n_recs;
  return n_recs++;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: gen_ucd OUT.c\n");
    return 2;
  }
  rhash = malloc(RHASH * sizeof *rhash);
  memset(rhash, 0xff, RHASH * sizeof *rhash);
  uint16_t *rec_of = malloc(N_CP * sizeof *rec_of);
  for (int32_t cp = 0; cp < N_CP; cp++) {
    const utf8proc_property_t *p = utf8proc_get_property(cp);
    Rec r = {(uint8_t)p->category, (uint8_t)p->combining_class, 0, 0, 0};
    r.lower = utf8proc_tolower(cp) - cp;
    if (cp >= 0xAC00 && cp < 0xAC00 + 11172) {
      /* The runtime's arithmetic, checked here. */
      int32_t s = cp - 0xAC00, want[3] = {0x1100 + s / 588,
                                          0x1161 + (s % 588) / 28,
                                          0x11A7 + s % 28};
      int nw = s % 28 ? 3 : 2, last = 0;
      utf8proc_int32_t buf[16];
      utf8proc_ssize_t n = utf8proc_decompose_char(cp, buf, 16,
                                                   UTF8PROC_DECOMPOSE, &last);
      if (n != nw || buf[0] != want[0] || buf[1] != want[1] ||
          (nw == 3 && buf[2] != want[2])) {
        fprintf(stderr, "gen_ucd: Hangul U+%04X decomposes differently\n",
                cp);
        return 1;
      }
    } else if (cp < 0xD800 || cp > 0xDFFF) {
      utf8proc_int32_t buf[16];
      int last = 0;
      utf8proc_ssize_t n = utf8proc_decompose_char(cp, buf, 16,
                                                   UTF8PROC_DECOMPOSE, &last);
      if (n < 0 || n > 16) {
        fprintf(stderr, "gen_ucd: cannot decompose U+%04X\n", cp);
        return 1;
      }
      if (!(n == 1 && buf[0] == cp)) {
        if (n_decomp + n > cap_decomp) {
          cap_decomp = (cap_decomp + (int)n) * 2;
          decomp = realloc(decomp, (size_t)cap_decomp * sizeof *decomp);
        }
        r.doff = (uint32_t)n_decomp;
        r.dlen = (uint8_t)n;
        for (int i = 0; i < n; i++) decomp[n_decomp++] = (uint32_t)buf[i];
      }
    }
    int i = rec_index(&r);
    if (i > 0xffff) {
      fprintf(stderr, "gen_ucd: more than 65536 distinct records\n");
      return 1;
    }
    rec_of[cp] = (uint16_t)i;
  }
  /* Blocks: identical ones once. */
  int n_blocks = 0;
  uint16_t *stage1 = malloc((N_CP / BLOCK) * sizeof *stage1);
  uint16_t *blocks = malloc(N_CP * sizeof *blocks);
  for (int b = 0; b < N_CP / BLOCK; b++) {
    const uint16_t *cur = rec_of + b * BLOCK;
    int found = -1;
    for (int k = 0; k < n_blocks && found < 0; k++)
      if (!memcmp(blocks + k * BLOCK, cur, BLOCK * sizeof *cur)) found = k;
    if (found < 0) {
      memcpy(blocks + n_blocks * BLOCK, cur, BLOCK * sizeof *cur);
      found = n_blocks++;
    }
    stage1[b] = (uint16_t)found;
  }
  FILE *f = fopen(argv[1], "w");
  if (!f) {
    perror(argv[1]);
    return 1;
  }
  fprintf(f, "/* generated by runtime/text/gen/gen_ucd.c from utf8proc %s "
             "(Unicode %s); do not edit */\n",
          utf8proc_version(), utf8proc_unicode_version());
  fprintf(f, "#include \"ucd.h\"\n\n");
  /* ucd.h repeats utf8proc's category numbers; check them. */
  fprintf(f, "_Static_assert(RT_UC_MN == %d && RT_UC_ND == %d && RT_UC_PC == "
             "%d && RT_UC_PO == %d && RT_UC_ZS == %d && RT_UC_CC == %d && "
             "RT_UC_CO == %d, \"ucd.h's categories are utf8proc's\");\n\n",
          UTF8PROC_CATEGORY_MN, UTF8PROC_CATEGORY_ND, UTF8PROC_CATEGORY_PC,
          UTF8PROC_CATEGORY_PO, UTF8PROC_CATEGORY_ZS, UTF8PROC_CATEGORY_CC,
          UTF8PROC_CATEGORY_CO);
  fprintf(f, "const char rt_ucd_version[] = \"%s\";\n\n",
          utf8proc_unicode_version());
  fprintf(f, "const RtUcdRecord rt_ucd_records[%d] = {\n", n_recs);
  for (int i = 0; i < n_recs; i++)
    fprintf(f, "{%u,%u,%u,%d,%u},%s", recs[i].cat, recs[i].ccc, recs[i].dlen,
            recs[i].lower, recs[i].doff, i % 6 == 5 ? "\n" : "");
  fprintf(f, "};\n\nconst uint32_t rt_ucd_decomp[%d] = {\n", n_decomp + 1);
  for (int i = 0; i < n_decomp; i++)
    fprintf(f, "%u,%s", decomp[i], i % 12 == 11 ? "\n" : "");
  fprintf(f, "0};\n\nconst uint16_t rt_ucd_stage1[%d] = {\n", N_CP / BLOCK);
  for (int i = 0; i < N_CP / BLOCK; i++)
    fprintf(f, "%u,%s", stage1[i], i % 16 == 15 ? "\n" : "");
  fprintf(f, "};\n\nconst uint16_t rt_ucd_stage2[%d] = {\n", n_blocks * BLOCK);
  for (int i = 0; i < n_blocks * BLOCK; i++)
    fprintf(f, "%u,%s", blocks[i], i % 16 == 15 ? "\n" : "");
  fprintf(f, "};\n");
  if (fclose(f)) {
    perror(argv[1]);
    return 1;
  }
  fprintf(stderr, "gen_ucd: %d records, %d decomposition code points, %d "
                  "blocks\n", n_recs, n_decomp, n_blocks);
  free(rhash);
  free(rec_of);
  free(stage1);
  free(blocks);
  free(recs);
  free(decomp);
  return 0;
}
