/* build_gen.c — what `loom build`, `emit-c` and `emit-obj` add for a model
 * that generates (a gpt2 or transformer model of the family form, built
 * for its forward graph): its prefill and decode graphs (and a
 * transformer's encode graph), each compiled as the forward one is, as the
 * models NAME_prefill, NAME_decode, NAME_encode; the generation loop of
 * loom's runtime (generate.c, loom_generate.h, carried as text); NAME_gen.c
 * (runtime/standalone/sa_gen.c after the tables read off the decode graph
 * by frontend/gen_spec.c); and NAME.h's generation API
 * (runtime/standalone/sa_gen_api.h).  The program then generates when
 * given --prompt-ids / --src-ids and otherwise runs as before.
 *
 * Weights: a graph whose weights file would be the model's own byte for
 * byte (gpt2: every graph; a transformer: none, its encoder and decoder
 * are apart) uses the model's; the others get NAME.GRAPH.weights, one per
 * distinct file, which `build` renames beside the executable or embeds in
 * it (a chain of images, runtime/standalone/sa_model.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/c/c_emit.h"
#include "codegen/llvm/llvm_emit.h"
#include "tools/cli.h"

static const FeGraph gen_graphs[3] = {FE_PREFILL, FE_DECODE, FE_ENCODE};

bool cli_gen_wanted(const CliCompile *cc, const FeModel *fe) {
  return cc->graph == FE_FORWARD && fe->family &&
         (strcmp(fe->family, "gpt2") == 0 || strcmp(fe->family, "transformer") == 0);
}

static int emit_model(const Program *p, const char *name, const char *dir,
                      bool via_llvm, Diag *d) {
  char file[256];
  int rc = 0;
  if (via_llvm) {
#ifdef LOOM_HAVE_LLVM
    rc = cg_emit_obj_model(p, name, dir, d);
#else
    IR_ASSERT(!"--via llvm without LLVM");
#endif
  } else {
    char *c = cg_c_source(p, name);
    snprintf(file, sizeof file, "%s.c", name);
    rc = cg_write_text(dir, file, c, d);
    free(c);
  }
  if (rc) return rc;
  char *h = cg_c_header(p, name);
  snprintf(file, sizeof file, "%s.h", name);
  rc = cg_write_text(dir, file, h, d);
  free(h);
  return rc;
}

/* NAME_gen.c: the tables, then the template. */
static char *gen_source(const char *name, const char *model, bool encdec,
                        const FeGenSpec *s, const Graph *enc,
                        const char *const files[3]) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  IR_ASSERT(f);
  fprintf(f, "/* %s_gen.c — generation with the model \"%s\" (written by "
             "loom " LOOM_VERSION "; do not edit):\n * the tables its decode "
             "graph gives, then loom's runtime/standalone/sa_gen.c. */\n",
          name, model);
  fprintf(f, "#include \"%s.h\"\n#include \"%s_prefill.h\"\n#include \"%s_decode.h\"\n",
          name, name, name);
  if (encdec) fprintf(f, "#include \"%s_encode.h\"\n", name);
  int n_cross = enc ? (int)enc->n_outputs : 0;
  fprintf(f, "\n#define GEN_ENCODER %d\n#define GEN_N_STATE %d\n#define GEN_N_CROSS %d\n"
             "#define GEN_STATE_RANK %d\n",
          encdec, s->n_state, n_cross, s->state_rank);
  fprintf(f, "static const char gen_tokens[] = \"%s\";\n", s->tokens);
  fprintf(f, "static const int64_t gen_vocab = %lld, gen_max_len = %lld, "
             "gen_max_batch = %lld;\n",
          (long long)s->vocab, (long long)s->max_len, (long long)s->max_batch);
  fprintf(f, "static const char *const gen_state_name[GEN_N_STATE] = {");
  for (int i = 0; i < s->n_state; i++)
    fprintf(f, "%s\"%s\"", i ? ", " : "", s->state_name[i]);
  fprintf(f, "};\nstatic const int64_t gen_state_dims[GEN_N_STATE][GEN_STATE_RANK] = {");
  for (int i = 0; i < s->n_state; i++) {
    fprintf(f, "%s{", i ? ", " : "");
    for (int k = 0; k < s->state_rank; k++)
      fprintf(f, "%s%lld", k ? ", " : "", (long long)s->state_dims[i][k]);
    fprintf(f, "}");
  }
  fprintf(f, "};\nstatic const int64_t gen_state_bytes[GEN_N_STATE] = {");
  for (int i = 0; i < s->n_state; i++)
    fprintf(f, "%s%lld", i ? ", " : "", (long long)s->state_bytes[i]);
  fprintf(f, "};\n");
  if (n_cross) {
    fprintf(f, "static const char *const gen_cross_name[GEN_N_CROSS] = {");
    for (int i = 0; i < n_cross; i++)
      fprintf(f, "%s\"%s\"", i ? ", " : "", enc->values[enc->outputs[i]].name);
    fprintf(f, "};\n");
  }
  fprintf(f, "/* prefill, decode, encode: NULL, the model's weights; else "
             "their own */\nstatic const char *const gen_graph_file[3] = {");
  for (int k = 0; k < 3; k++)
    fprintf(f, k ? ", %s%s%s" : "%s%s%s", files[k] ? "\"." : "",
            files[k] ? files[k] : "NULL", files[k] ? "\"" : "");
  fprintf(f, "};\n\n");
  cg_put_template(f, cg_embedded_text("runtime/standalone/sa_gen.c"), name);
  IR_ASSERT(fclose(f) == 0);
  return text;
}

/* NAME.h's generation API, after what is there. */
static int append_api(const char *dir, const char *name, Diag *d) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s.h", dir, name);
  FILE *f = fopen(path, "ab");
  if (!f) return ir_file_errorf(d, path, "cannot write: %s", strerror(errno));
  fputc('\n', f);
  cg_put_template(f, cg_embedded_text("runtime/standalone/sa_gen_api.h"), name);
  int e = ferror(f) ? EIO : 0;
  if (fclose(f) && !e) e = errno;
  return e ? ir_file_errorf(d, path, "cannot write: %s", strerror(e)) : 0;
}

int cli_gen_emit(const CliCompile *cc, const Program *fwd, const char *name,
                 const char *dir, bool via_llvm, CliGen *out, Diag *d) {
  memset(out, 0, sizeof *out);
  FeModel *fe[3] = {0};
  Program *p[3] = {0};
  bool encdec = false;
  int rc = 0, n = 2;
  const char *files[3] = {0}; /* each graph's weights: NULL, or a suffix */
  for (int k = 0; k < n && !rc; k++) {
    CliCompile c = *cc;
    c.graph = gen_graphs[k];
    if ((rc = cli_program(&c, &fe[k], &p[k]))) break; /* printed */
    if (k == 0) encdec = strcmp(fe[0]->family, "transformer") == 0, n = encdec ? 3 : 2;
    const char *g = fe_graph_names[gen_graphs[k]];
    snprintf(out->model[k], sizeof out->model[k], "%s_%s", name, g);
    if ((rc = emit_model(p[k], out->model[k], dir, via_llvm, d))) break;
    if (cg_same_weights(fwd, p[k]) && cg_weights_hash(fwd) == cg_weights_hash(p[k]))
      continue;
    for (int j = 0; j < k && !files[k]; j++)
      if (files[j] && cg_same_weights(p[j], p[k]) &&
          cg_weights_hash(p[j]) == cg_weights_hash(p[k]))
        files[k] = files[j];
    if (files[k]) continue;
    files[k] = g;
    snprintf(out->weights[out->n_weights], sizeof out->weights[0], "%s.%s.weights",
             name, g);
    snprintf(out->suffix[out->n_weights], sizeof out->suffix[0], ".%s.weights", g);
    rc = cg_write_weights_in(p[k], dir, out->weights[out->n_weights++], d);
  }
  if (!rc) {
    FeGenSpec s;
    if (!(rc = fe_gen_spec(fe[1], &s, d))) {
      char *src = gen_source(name, fwd->g->name, encdec, &s, encdec ? fe[2]->g : NULL,
                             files);
      char file[256];
      snprintf(file, sizeof file, "%s_gen.c", name);
      rc = cg_write_text(dir, file, src, d);
      free(src);
      fe_gen_spec_free(&s);
    }
  }
  if (!rc) rc = cg_write_text(dir, "generate.c", cg_embedded_text("runtime/generate.c"), d);
  if (!rc)
    rc = cg_write_text(dir, "loom_generate.h",
                       cg_embedded_text("include/loom_generate.h"), d);
  if (!rc) rc = append_api(dir, name, d);
  /* the sources to compile: NAME_gen.c, the graphs, generate.c */
  snprintf(out->files[out->n_srcs], sizeof out->files[0], "%s_gen.c", name);
  out->srcs[out->n_srcs] = out->files[out->n_srcs];
  out->n_srcs++;
  for (int k = 0; k < n; k++) {
    snprintf(out->files[out->n_srcs], sizeof out->files[0], "%s%s", out->model[k],
             via_llvm ? ".o" : ".c");
    out->srcs[out->n_srcs] = out->files[out->n_srcs];
    out->n_srcs++;
  }
  out->srcs[out->n_srcs++] = "generate.c";
  out->srcs[out->n_srcs] = NULL;
  size_t len = 0;
  for (int i = 0; i < out->n_srcs; i++)
    len += (size_t)snprintf(out->extra + len, sizeof out->extra - len, "%s%s",
                            i ? " " : "", out->srcs[i]);
  for (int k = 0; k < 3; k++) {
    cg_program_free(p[k]);
    fe_model_free(fe[k]);
  }
  return rc < 0 ? cli_error(EXIT_MODEL, d->msg) : rc;
}
