/* ucd.h — the Unicode facts the tokenizers need, as compiled-in tables.
 *
 * The tables (rt_ucd_*) are generated at build time from libutf8proc by
 * runtime/text/gen/gen_ucd.c; nothing here is typed by hand.  Lookups are
 * two array reads (a two-stage table of 64-entry blocks).  Categories are
 * utf8proc's numbering (UTF8PROC_CATEGORY_*), repeated below as RT_UC_* so
 * that the runtime does not include utf8proc.h; the generated file checks
 * them against utf8proc's enum with a static assertion.
 */
#ifndef LOOM_RUNTIME_TEXT_UCD_H
#define LOOM_RUNTIME_TEXT_UCD_H

#include <stddef.h>
#include <stdint.h>

enum {
  RT_UC_CN, RT_UC_LU, RT_UC_LL, RT_UC_LT, RT_UC_LM, RT_UC_LO, RT_UC_MN,
  RT_UC_MC, RT_UC_ME, RT_UC_ND, RT_UC_NL, RT_UC_NO, RT_UC_PC, RT_UC_PD,
  RT_UC_PS, RT_UC_PE, RT_UC_PI, RT_UC_PF, RT_UC_PO, RT_UC_SM, RT_UC_SC,
  RT_UC_SK, RT_UC_SO, RT_UC_ZS, RT_UC_ZL, RT_UC_ZP, RT_UC_CC, RT_UC_CF,
  RT_UC_CS, RT_UC_CO
};

typedef struct {
  uint8_t cat;   /* general category, RT_UC_* */
  uint8_t ccc;   /* canonical combining class */
  uint8_t dlen;  /* length of the canonical decomposition (0: itself) */
  int32_t lower; /* simple lowercase mapping, as a delta */
  uint32_t doff; /* the decomposition in rt_ucd_decomp[doff..doff+dlen) */
} RtUcdRecord;

extern const char rt_ucd_version[];
extern const RtUcdRecord rt_ucd_records[];
extern const uint32_t rt_ucd_decomp[];
extern const uint16_t rt_ucd_stage1[];
extern const uint16_t rt_ucd_stage2[];

static inline const RtUcdRecord *rt_ucd(uint32_t cp) {
  if (cp > 0x10FFFF) cp = 0x10FFFF; /* unassigned, like any non-character */
  return &rt_ucd_records[rt_ucd_stage2[(uint32_t)rt_ucd_stage1[cp >> 6] * 64 +
                                       (cp & 63)]];
}

/* Letters (L*), numbers (N*), punctuation (P*), marks nonspacing (Mn). */
static inline int rt_uc_is_letter(uint32_t cp) {
  unsigned c = rt_ucd(cp)->cat;
  return c >= RT_UC_LU && c <= RT_UC_LO;
}
static inline int rt_uc_is_number(uint32_t cp) {
  unsigned c = rt_ucd(cp)->cat;
  return c >= RT_UC_ND && c <= RT_UC_NO;
}
static inline int rt_uc_is_punct(uint32_t cp) {
  unsigned c = rt_ucd(cp)->cat;
  return c >= RT_UC_PC && c <= RT_UC_PO;
}
/* Unicode's White_Space property: Zs, Zl, Zp, U+0009..U+000D and U+0085
 * (PropList.txt lists exactly these; utf8proc has no White_Space flag). */
static inline int rt_uc_is_space(uint32_t cp) {
  if (cp < 0x80) return cp == ' ' || (cp >= 9 && cp <= 13);
  if (cp == 0x85) return 1;
  unsigned c = rt_ucd(cp)->cat;
  return c == RT_UC_ZS || c == RT_UC_ZL || c == RT_UC_ZP;
}

/* The full canonical decomposition of cp into out[] (room for 18), in
 * canonical order; returns its length (1 and cp itself when none). */
int rt_ucd_decompose(uint32_t cp, uint32_t *out);

/* UTF-8: decode one code point at s[0..n) into *cp; returns its length, or
 * 0 for an ill-formed sequence (overlong, surrogate, beyond U+10FFFF,
 * truncated).  Encode: returns the length written (1..4). */
size_t rt_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);
size_t rt_utf8_encode(uint32_t cp, char *out);

#endif
