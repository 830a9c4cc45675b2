/* build_text.c — what `loom build` adds for a model with a tokenizer (a
 * model directory, or a YAML file with a text: section): the runtime's
 * tokenizer sources and Unicode tables (carried inside loom as text, like
 * main.c), the tokenizer blob as a C string, and text_main.c, the command
 * line that takes --text (runtime/standalone/text_main.c).  The blob is the
 * one runtime/text reads, so the binary needs no JSON library. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/c/c_emit.h"
#include "frontend/hf.h"
#include "tools/cli.h"

extern const CgText cg_embedded_ucd[]; /* generated/embedded_ucd.c */

/* The blob as a string literal: printable ASCII as is, the rest as
 * three-digit octal escapes. */
static char *blob_source(const unsigned char *b, size_t n, long max_tokens,
                         size_t *len) {
  char *buf = NULL;
  FILE *f = open_memstream(&buf, len);
  if (!f) return NULL;
  fprintf(f, "/* the tokenizer, written by loom build; do not edit */\n"
             "#include <stddef.h>\n"
             "const long loom_tok_max_tokens = %ld;\n"
             "const size_t loom_tok_blob_len = %zu;\n"
             "const unsigned char loom_tok_blob[%zu] =\n\"", max_tokens, n, n + 1);
  for (size_t i = 0; i < n; i++) {
    unsigned c = b[i];
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"' && c != '?')
      fputc((int)c, f);
    else
      fprintf(f, "\\%03o", c);
    if (i % 96 == 95) fputs("\"\n\"", f);
  }
  fputs("\";\n", f);
  fclose(f);
  return buf;
}

int cli_text_sources(const FeModel *fe, const char *dir, const char *name,
                     const char *model_file, bool via_llvm, const char **srcs,
                     Diag *d) {
  static const char *const files[] = {
      "runtime/text/tokenizer.h", "runtime/text/tok_internal.h",
      "runtime/text/ucd.h", "runtime/text/ucd.c", "runtime/text/tokenizer.c",
      "runtime/text/wordpiece.c", "runtime/text/bpe.c", NULL};
  void *blob;
  size_t len;
  if (fe_hf_tokenizer(fe->tokenizer, &blob, &len, d)) return -1;
  size_t slen;
  char *src = blob_source(blob, len, (long)fe->max_tokens, &slen);
  free(blob);
  int rc = src ? cg_write_text(dir, "tokenizer_blob.c", src, d)
               : ir_file_errorf(d, dir, "out of memory");
  free(src);
  for (int i = 0; files[i] && !rc; i++) {
    char *text = cg_c_template(files[i], name);
    rc = cg_write_text(dir, strrchr(files[i], '/') + 1, text, d);
    free(text);
  }
  if (!rc) {
    char *text = cg_c_template("runtime/standalone/text_main.c", name);
    rc = cg_write_text(dir, "text_main.c", text, d);
    free(text);
  }
  if (!rc)
    rc = cg_write_text(dir, "ucd_tables.c", cg_embedded_ucd[0].text, d);
  int n = 0;
  srcs[n++] = "text_main.c"; /* it includes main.c */
  srcs[n++] = model_file;
  if (via_llvm) srcs[n++] = "loom_obj.c";
  static const char *const c_files[] = {"npy.c", "tokenizer.c", "wordpiece.c",
                                        "bpe.c", "ucd.c", "ucd_tables.c",
                                        "tokenizer_blob.c", NULL};
  for (int i = 0; c_files[i]; i++) srcs[n++] = c_files[i];
  srcs[n] = NULL;
  return rc;
}
