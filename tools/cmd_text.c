/* cmd_text.c — the CLI's text commands: model directories and tokenizers.
 *
 *   loom import DIR [-o MODEL.yaml]
 *   loom tokenize DIR (--text TEXT | --file FILE)... [--max-tokens N] [--time]
 *   loom detokenize DIR --ids 1,2,3
 *   loom run MODEL --text TEXT [--text TEXT]... [run's options]
 *   loom embed MODEL --text TEXT [--text TEXT]... [--backend B] [--target T]
 *
 * `run --text` tokenizes each text with the model's tokenizer (truncated at
 * its maximum length, with a note on stderr), runs them one after another,
 * and writes outputs without a sequence dimension (a pooled embedding [D])
 * stacked as NAME.npy [N, D], and per-token outputs as NAME.K.npy for text K
 * (0-based); all or nothing, as `run` does.  A model with a batch dimension
 * (an attention_mask [B, S] input) runs up to B texts at once, right-padded
 * with id 0 and masked; each text's outputs are cut from its row, so the
 * files are the same as one text at a time gives.
 */
#include "tools/cmd_text.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/backend.h"
#include "codegen/c/c_cc.h"
#include "frontend/hf.h"
#include "runtime/npy.h"
#include "tools/cli.h"
#include "passes/pass.h"
#include "codegen/cpu.h"

/* Usage errors in tools/cli.c's words ("loom: error: CMD: ..." and the
 * "Try" line); msg may already start with "CMD: ". */
static int text_usage(const char *cmd, const char *msg) {
  size_t n = strlen(cmd);
  if (strncmp(msg, cmd, n) == 0 && strncmp(msg + n, ": ", 2) == 0) msg += n + 2;
  return cli_usage(cmd, "%s", msg);
}

static int text_bad_option(const char *cmd, int c, const char *arg) {
  return cli_usage(cmd, "%s '%s'", c == ':' ? "missing value for option" : "unknown option",
                   arg);
}

static int text_check_target(const char *cmd, const char *target) {
  Target t;
  if (!cg_target(target, &t)) return 0;
  return cli_usage(cmd, "unknown target '%s' (available: %s)", target, cg_target_names);
}

static int text_check_passes(const char *cmd, const char *passes, const char *disable) {
  Diag d = {0};
  if (passes && !*passes) return cli_usage(cmd, "--passes needs a list of passes, or 'none'");
  if (pass_check_list(passes, &d) || pass_check_list(disable, &d))
    return cli_usage(cmd, "%s", cli_bare(d.msg));
  return 0;
}

int cli_has_text(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--")) return 0;
    if (!strcmp(argv[i], "--text") || !strncmp(argv[i], "--text=", 7)) return 1;
  }
  return 0;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Write text to path all or nothing. */
static int write_all(const char *path, const char *text, size_t n) {
  size_t len = strlen(path) + 32;
  char *tmp = malloc(len);
  snprintf(tmp, len, "%s.%ld.tmp", path, (long)getpid());
  FILE *f = fopen(tmp, "wb");
  int rc = 0;
  if (!f || fwrite(text, 1, n, f) != n || fclose(f) || rename(tmp, path)) {
    rc = cli_die(EXIT_MODEL, "cannot write '%s': %s", path, strerror(errno));
    if (f) unlink(tmp);
  }
  free(tmp);
  return rc;
}

/* ---- import -------------------------------------------------------------- */

static const char import_help[] =
    "usage: loom import DIR [-o MODEL.yaml]\n"
    "\n"
    "Writes the family-form YAML that a Hugging Face model directory (or its\n"
    "config.json) is read as: config.json's hyperparameters, the\n"
    "sentence-transformers pooling and normalization, model.safetensors, and\n"
    "a text: section naming its tokenizer.  Paths in it are relative to the\n"
    "YAML file.  Without -o it prints the YAML.\n"
    "\n"
    "options:\n"
    "  -o FILE      write the YAML to FILE (all or nothing)\n"
    "  -h, --help   show this help\n";

int cmd_import(int argc, char **argv) {
  static const struct option opts[] = {{"help", no_argument, 0, 'h'},
                                       {"output", required_argument, 0, 'o'},
                                       {0, 0, 0, 0}};
  const char *out = NULL;
  int c;
  opterr = 0;
  optind = 1;
  while ((c = getopt_long(argc, argv, ":ho:", opts, NULL)) != -1) {
    switch (c) {
    case 'h': fputs(import_help, stdout); return 0;
    case 'o': out = optarg; break;
    default: return text_bad_option("import", c, argv[optind - 1]);
    }
  }
  if (optind != argc - 1)
    return text_usage("import", optind >= argc ? "import: no model directory given"
                                                     : "import: give exactly one model directory");
  const char *path = argv[optind];
  if (!fe_is_model_dir(path))
    return text_usage("import", "import: give a model directory or its config.json");
  Diag d = {0};
  /* the whole model must load (its graph, not its weights) */
  FeOptions fo = {.no_weights = true};
  FeModel *m = fe_load(path, &fo, &d);
  char *yaml = NULL;
  if (!m || fe_hf_import(path, out, &yaml, &d)) {
    fprintf(stderr, "%s\n", d.msg);
    fe_model_free(m);
    return EXIT_MODEL;
  }
  fe_model_free(m);
  int status = 0;
  if (out) {
    status = write_all(out, yaml, strlen(yaml));
    if (!status) printf("%s: imported %s\n", out, path);
  } else {
    fputs(yaml, stdout);
  }
  free(yaml);
  return status;
}

/* ---- tokenize, detokenize ------------------------------------------------ */

static const char tokenize_help[] =
    "usage: loom tokenize DIR (--text TEXT | --file FILE)... [options]\n"
    "\n"
    "Prints the token ids of each text, space-separated, one line per text,\n"
    "with the special tokens the model adds ([CLS] ... [SEP]); no truncation\n"
    "or padding.  DIR is a model directory, a folder of tokenizer files\n"
    "(tokenizer.json, vocab.txt, vocab.json + merges.txt) or a model YAML\n"
    "with a text: section.  Text must be UTF-8.\n"
    "\n"
    "options:\n"
    "  --text TEXT       a text\n"
    "  --file FILE       a text from a file ('-': standard input)\n"
    "  --max-tokens N    truncate to at most N ids in all\n"
    "  --lines           each line of a --file is a text of its own\n"
    "  --time            print tokenize_ms=... and bytes=... on stderr\n"
    "  -h, --help        show this help\n";

static char *read_file(const char *path, size_t *n) {
  FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
  if (!f) return NULL;
  size_t cap = 1 << 16, len = 0, got;
  char *buf = malloc(cap + 1);
  while (buf && (got = fread(buf + len, 1, cap - len, f)) > 0) {
    len += got;
    if (len == cap) {
      char *p = realloc(buf, 2 * cap + 1);
      if (!p) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = p;
      cap *= 2;
    }
  }
  if (f != stdin) fclose(f);
  if (buf) buf[len] = 0;
  *n = len;
  return buf;
}

static int open_tok(const char *path, loom_tokenizer **t) {
  char err[4096];
  if (loom_tokenizer_open(path, t, err, sizeof err)) {
    fprintf(stderr, "%s\n", err);
    return EXIT_MODEL;
  }
  return 0;
}

int cmd_tokenize(int argc, char **argv) {
  static const struct option opts[] = {{"help", no_argument, 0, 'h'},
                                       {"text", required_argument, 0, 'x'},
                                       {"file", required_argument, 0, 'f'},
                                       {"max-tokens", required_argument, 0, 'm'},
                                       {"time", no_argument, 0, 'T'},
                                       {"lines", no_argument, 0, 'L'},
                                       {0, 0, 0, 0}};
  char **texts = calloc((size_t)argc + 1, sizeof *texts);
  char *isfile = calloc((size_t)argc + 1, 1);
  int n = 0, c, timing = 0, status = 0, per_line = 0;
  long max_tokens = 0;
  opterr = 0;
  optind = 1;
  while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
    switch (c) {
    case 'h': fputs(tokenize_help, stdout); goto out;
    case 'x': texts[n++] = optarg; break;
    case 'f': isfile[n] = 1, texts[n++] = optarg; break;
    case 'T': timing = 1; break;
    case 'L': per_line = 1; break;
    case 'm': {
      char *end;
      max_tokens = strtol(optarg, &end, 10);
      if (*end || max_tokens < 1) {
        status = text_usage("tokenize", "tokenize: --max-tokens wants a positive integer");
        goto out;
      }
      break;
    }
    default: status = text_bad_option("tokenize", c, argv[optind - 1]); goto out;
    }
  }
  if (optind != argc - 1) {
    status = text_usage("tokenize", optind >= argc ? "tokenize: no tokenizer directory given"
                                                         : "tokenize: give exactly one directory");
    goto out;
  }
  if (!n) {
    status = text_usage("tokenize", "tokenize: give --text TEXT or --file FILE");
    goto out;
  }
  loom_tokenizer *t;
  if ((status = open_tok(argv[optind], &t))) goto out;
  char err[4096];
  /* every text first, then the output: nothing printed on an error */
  char *outbuf = NULL;
  size_t outlen = 0;
  FILE *o = open_memstream(&outbuf, &outlen);
  double ms = 0;
  size_t bytes = 0;
  for (int i = 0; i < n && !status; i++) {
    size_t len = strlen(texts[i]);
    char *text = isfile[i] ? read_file(texts[i], &len) : texts[i];
    if (!text) {
      status = cli_die(EXIT_MODEL, "cannot read '%s': %s", texts[i], strerror(errno));
      break;
    }
    if (strlen(text) != len) {
      status = cli_die(EXIT_MODEL, "'%s' holds a NUL byte", texts[i]);
    } else {
      /* one text, or (--lines) each line of a file */
      char *p = text, *end = text + len;
      do {
        char *nl = per_line && isfile[i] ? memchr(p, '\n', (size_t)(end - p)) : NULL;
        if (nl) *nl = 0;
        int32_t *ids;
        size_t k;
        double t0 = now_ms();
        if (loom_tokenize(t, p, (size_t)max_tokens, &ids, &k, NULL, err, sizeof err)) {
          fprintf(stderr, "loom: %s\n", err);
          status = EXIT_MODEL;
          break;
        }
        ms += now_ms() - t0;
        bytes += strlen(p);
        for (size_t j = 0; j < k; j++) fprintf(o, j ? " %d" : "%d", ids[j]);
        fputc('\n', o);
        free(ids);
        p = nl ? nl + 1 : end;
      } while (p < end);
    }
    if (isfile[i]) free(text);
  }
  fclose(o);
  if (!status) fwrite(outbuf, 1, outlen, stdout);
  if (!status && timing)
    fprintf(stderr, "tokenize_ms=%.3f\nbytes=%zu\n", ms, bytes);
  free(outbuf);
  loom_tokenizer_free(t);
out:
  free(texts);
  free(isfile);
  return status;
}

static const char detokenize_help[] =
    "usage: loom detokenize DIR --ids 1,2,3\n"
    "\n"
    "Prints the text of the ids (special tokens skipped), as tokenizers'\n"
    "decode does.  DIR as for loom tokenize.\n"
    "\n"
    "options:\n"
    "  --ids LIST   comma-separated token ids\n"
    "  -h, --help   show this help\n";

int cmd_detokenize(int argc, char **argv) {
  static const struct option opts[] = {{"help", no_argument, 0, 'h'},
                                       {"ids", required_argument, 0, 'i'},
                                       {0, 0, 0, 0}};
  const char *list = NULL;
  int c;
  opterr = 0;
  optind = 1;
  while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
    switch (c) {
    case 'h': fputs(detokenize_help, stdout); return 0;
    case 'i': list = optarg; break;
    default: return text_bad_option("detokenize", c, argv[optind - 1]);
    }
  }
  if (optind != argc - 1)
    return text_usage("detokenize", optind >= argc ? "detokenize: no tokenizer directory given"
                                                         : "detokenize: give exactly one directory");
  if (!list) return text_usage("detokenize", "detokenize: give --ids 1,2,3");
  size_t n = 0, cap = strlen(list) / 2 + 2;
  int32_t *ids = malloc(cap * sizeof *ids);
  for (const char *p = list; *p;) {
    char *end;
    errno = 0;
    long v = strtol(p, &end, 10);
    if (end == p || errno || v < 0 || v > INT32_MAX || (*end && *end != ',') ||
        (*end == ',' && !end[1])) {
      free(ids);
      return text_usage("detokenize", "detokenize: --ids wants comma-separated "
                                            "non-negative integers");
    }
    ids[n++] = (int32_t)v;
    p = *end ? end + 1 : end;
  }
  loom_tokenizer *t;
  int status = open_tok(argv[optind], &t);
  char err[4096], *text = NULL;
  if (!status && loom_detokenize(t, ids, n, &text, err, sizeof err)) {
    fprintf(stderr, "loom: %s\n", err);
    status = EXIT_MODEL;
  }
  if (!status) printf("%s\n", text);
  free(text);
  free(ids);
  loom_tokenizer_free(t);
  return status;
}

/* ---- run --text, embed --------------------------------------------------- */

typedef struct {
  char **texts;
  int n;
  const char *out_dir, *weights, *backend, *target, *passes, *disable, *dtype;
  int print;
} TextRun;

/* The batch bound of a model with a batch dimension (an attention_mask
 * [B, S] input: bert and gpt2 with max_batch), else 0. */
static int64_t batch_bound(loom_model *m) {
  for (int i = 0; i < loom_num_inputs(m); i++) {
    loom_info in;
    if (loom_input_info(m, i, &in) == LOOM_OK && strcmp(in.name, "attention_mask") == 0 &&
        in.rank == 2 && in.dim_names[0])
      return in.dims[0];
  }
  return 0;
}

/* Texts j0 .. j0+n-1 as one batch: ids and attention_mask [n, S], right-
 * padded with id 0 to the longest; each text's outputs (outs[j * k + i])
 * are its row, per-token ones cut to its own tokens — what running it
 * alone gives.  The model's outputs all have B first; infos are the
 * outputs' without it. */
static int run_batch(loom_model *m, const loom_tokenizer *t, const char *cmd,
                     char **texts, int n, int j0, loom_tensor *outs, int k,
                     const loom_info *infos) {
  char err[8192];
  int32_t **tok = calloc((size_t)n, sizeof *tok);
  size_t *len = calloc((size_t)n, sizeof *len), S = 1;
  int status = 0;
  for (int j = 0; j < n && !status; j++) {
    int truncated = 0;
    if (loom_tokenize(t, texts[j], loom_tokenizer_max_tokens(t), &tok[j], &len[j],
                      &truncated, err, sizeof err)) {
      fprintf(stderr, "%s\n", err);
      status = EXIT_MODEL;
    } else if (truncated) {
      fprintf(stderr, "loom: note: %s: text %d truncated to %zu tokens (the "
                      "model's maximum)\n", cmd, j0 + j, loom_tokenizer_max_tokens(t));
    }
    if (len[j] > S) S = len[j];
  }
  int32_t *ids = calloc((size_t)n * S, sizeof *ids);
  float *mask = calloc((size_t)n * S, sizeof *mask);
  for (int j = 0; j < n && !status; j++)
    for (size_t s = 0; s < len[j]; s++) {
      ids[(size_t)j * S + s] = tok[j][s];
      mask[(size_t)j * S + s] = 1;
    }
  loom_tensor in[2] = {{"ids", LOOM_I32, 2, {n, (int64_t)S}, ids},
                       {"attention_mask", LOOM_F32, 2, {n, (int64_t)S}, mask}};
  loom_tensor *res = calloc((size_t)k + 1, sizeof *res);
  if (!status && loom_output_shapes(m, in, 2, res, k, err, sizeof err)) {
    fprintf(stderr, "%s\n", err);
    status = EXIT_MODEL;
  }
  for (int i = 0; i < k && !status; i++)
    res[i].data = malloc(loom_tensor_bytes(&res[i]) + 4);
  if (!status && loom_run(m, in, 2, res, k, err, sizeof err)) {
    fprintf(stderr, "%s\n", err);
    status = EXIT_MODEL;
  }
  for (int i = 0; i < k && !status; i++) {
    /* res[i] [n, ...]: row j; with S next (per token), its len[j] first */
    const loom_tensor *o = &res[i];
    int per_token = infos[i].rank >= 1 && infos[i].dim_names[0]; /* [S, ...] */
    size_t row = loom_tensor_bytes(o) / (size_t)n, elem = row;
    if (per_token) elem = row / S;
    for (int j = 0; j < n; j++) {
      loom_tensor *d = &outs[(size_t)(j0 + j) * k + i];
      d->name = o->name;
      d->dtype = o->dtype;
      d->rank = o->rank - 1;
      memcpy(d->dims, o->dims + 1, sizeof(int64_t) * (size_t)d->rank);
      if (per_token) d->dims[0] = (int64_t)len[j];
      size_t bytes = per_token ? elem * len[j] : row;
      d->data = malloc(bytes + 4);
      memcpy(d->data, (const char *)o->data + row * (size_t)j, bytes);
    }
  }
  for (int i = 0; i < k; i++) free(res[i].data);
  for (int j = 0; j < n; j++) free(tok[j]);
  free(res), free(ids), free(mask), free(tok), free(len);
  return status;
}

/* Outputs of every text: out[k * n_out + i]. */
static int run_texts(const char *cmd, const char *path, const TextRun *r,
                     loom_tensor **outs, int *n_out, loom_info **infos) {
  char err[8192];
  loom_options lo = {.weights = r->weights, .backend = r->backend,
                     .target = r->target, .passes = r->passes, .dtype = r->dtype,
                     .disable = r->disable};
  loom_model *m = NULL;
  loom_tokenizer *t = NULL;
  *outs = NULL;
  if (loom_tokenizer_open(path, &t, err, sizeof err) ||
      loom_load(path, &lo, &m, err, sizeof err)) {
    fprintf(stderr, "%s\n", err);
    loom_tokenizer_free(t);
    return EXIT_MODEL;
  }
  int k = loom_num_outputs(m), status = 0;
  *n_out = k;
  *outs = calloc((size_t)(k * r->n + 1), sizeof **outs);
  *infos = calloc((size_t)k + 1, sizeof **infos);
  for (int i = 0; i < k; i++) loom_output_info(m, i, &(*infos)[i]);
  int64_t bound = batch_bound(m);
  if (bound) {
    /* a batched model: up to `bound` texts per run, the outputs' infos
     * without B (a text's, as below) */
    for (int i = 0; i < k; i++) {
      loom_info *o = &(*infos)[i];
      o->rank--;
      memmove(o->dims, o->dims + 1, sizeof(int64_t) * (size_t)o->rank);
      memmove(o->dim_names, o->dim_names + 1, sizeof(char *) * (size_t)o->rank);
    }
    for (int j = 0; j < r->n && !status; j += (int)bound) {
      int n = r->n - j < bound ? r->n - j : (int)bound;
      status = run_batch(m, t, cmd, r->texts + j, n, j, *outs, k, *infos);
    }
  }
  for (int j = 0; j < r->n && !status && !bound; j++) {
    int truncated = 0;
    if (loom_run_text(m, t, r->texts[j], *outs + j * k, k, &truncated, err,
                      sizeof err)) {
      fprintf(stderr, "%s\n", err);
      status = EXIT_MODEL;
    } else if (truncated) {
      fprintf(stderr, "loom: note: %s: text %d truncated to %zu tokens (the "
                      "model's maximum)\n", cmd, j,
              loom_tokenizer_max_tokens(t));
    }
  }
  /* names live in the model: copies outlive it */
  for (int i = 0; i < k; i++) {
    (*infos)[i].name = strdup((*infos)[i].name);
    for (int d = 0; d < (*infos)[i].rank; d++)
      if ((*infos)[i].dim_names[d]) (*infos)[i].dim_names[d] = "S";
  }
  for (int i = 0; i < k * r->n; i++)
    if ((*outs)[i].name) (*outs)[i].name = strdup((*outs)[i].name);
  loom_tokenizer_free(t);
  loom_free(m);
  return status;
}

static void free_infos(loom_info *infos, int n) {
  for (int i = 0; infos && i < n; i++) free((char *)infos[i].name);
  free(infos);
}

static void free_outs(loom_tensor *outs, int n) {
  for (int i = 0; outs && i < n; i++) {
    free(outs[i].data);
    free((char *)outs[i].name);
  }
  free(outs);
}

/* An output without symbolic dimensions is one vector per text: stacked. */
static int is_pooled(const loom_info *info) {
  for (int i = 0; i < info->rank; i++)
    if (info->dim_names[i]) return 0;
  return 1;
}

static void summary(FILE *f, const loom_tensor *t) {
  size_t n = loom_tensor_bytes(t) / 4;
  double lo = INFINITY, hi = -INFINITY;
  const float *v = t->data;
  for (size_t i = 0; i < n; i++) {
    if (v[i] < lo) lo = v[i];
    if (v[i] > hi) hi = v[i];
  }
  fprintf(f, "  first:");
  for (size_t i = 0; i < n && i < 6; i++) fprintf(f, " %.6g", v[i]);
  fprintf(f, "%s  min %.6g max %.6g\n", n > 6 ? " ..." : "", lo, hi);
}

static const char run_text_help[] =
    "usage: loom run MODEL --text TEXT [--text TEXT]... [options]\n"
    "\n"
    "Tokenizes each TEXT with the model's tokenizer (a model directory's, or\n"
    "the one a YAML file's text: section names), truncated at the model's\n"
    "maximum length (a note on stderr says so), and runs them one after\n"
    "another — or, for a model with a batch dimension (max_batch: N), N at a\n"
    "time, right-padded with an attention_mask.  An output without a\n"
    "sequence dimension (a pooled embedding\n"
    "[D]) is written stacked, DIR/NAME.npy [N, D]; a per-token output goes\n"
    "to DIR/NAME.K.npy for text K (0-based).\n"
    "\n"
    "options: --out-dir DIR, --weights FILE, --backend NAME, --target T,\n"
    "--dtype f32|bf16, --passes=..., --disable=..., --print (as loom run\n"
    "--help says).\n";

static int parse_text_run(const char *cmd, int argc, char **argv, TextRun *r,
                          const char *help, int *done) {
  static const struct option opts[] = {
      {"text", required_argument, 0, 'x'}, {"out-dir", required_argument, 0, 'O'},
      {"weights", required_argument, 0, 'w'}, {"backend", required_argument, 0, 'b'},
      {"target", required_argument, 0, 't'}, {"print", no_argument, 0, 'p'},
      {"passes", required_argument, 0, 'P'}, {"disable", required_argument, 0, 'D'},
      {"dtype", required_argument, 0, 'y'},
      {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
  int c;
  *done = 0;
  r->texts = calloc((size_t)argc + 1, sizeof *r->texts);
  r->out_dir = ".";
  r->backend = cli_default_backend();
  opterr = 0;
  optind = 1;
  while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
    switch (c) {
    case 'x': r->texts[r->n++] = optarg; break;
    case 'O': r->out_dir = optarg; break;
    case 'w': r->weights = optarg; break;
    case 'b': r->backend = optarg; break;
    case 't': r->target = optarg; break;
    case 'p': r->print = 1; break;
    case 'P': r->passes = optarg; break;
    case 'D': r->disable = optarg; break;
    case 'y': r->dtype = optarg; break;
    case 'h': fputs(help, stdout); *done = 1; return 0;
    default: return text_bad_option(cmd, c, argv[optind - 1]);
    }
  }
  if (optind != argc - 1)
    return text_usage(cmd, optind >= argc ? "no model given"
                                                 : "give exactly one model");
  if (!r->n) return text_usage(cmd, "give at least one --text");
  if (!loom_backend(r->backend)) {
    char msg[256];
    snprintf(msg, sizeof msg, "%s: unknown backend '%s' (available: %s)", cmd,
             r->backend, loom_backend_names());
    return text_usage(cmd, msg);
  }
  if (r->dtype && strcmp(r->dtype, "f32") && strcmp(r->dtype, "bf16")) {
    char msg[256];
    snprintf(msg, sizeof msg, "%s: unknown dtype '%s' (f32, bf16)", cmd, r->dtype);
    return text_usage(cmd, msg);
  }
  if ((r->target && text_check_target(cmd, r->target)) ||
      text_check_passes(cmd, r->passes, r->disable))
    return EXIT_USAGE;
  return 0;
}

int cmd_run_text(int argc, char **argv) {
  TextRun r = {0};
  int done, status = parse_text_run("run", argc, argv, &r, run_text_help, &done);
  if (status || done) {
    free(r.texts);
    return status;
  }
  loom_tensor *outs;
  loom_info *infos = NULL;
  int k = 0;
  status = run_texts("run", argv[argc - 1], &r, &outs, &k, &infos);
  char err[4096];
  /* the files: NAME.npy stacked, or NAME.K.npy; all under temporary names
   * first */
  int n_files = 0, cap = k * (r.n + 1);
  char **tmp = calloc((size_t)cap + 1, sizeof *tmp),
       **fin = calloc((size_t)cap + 1, sizeof *fin),
       **lines = calloc((size_t)cap + 1, sizeof *lines);
  if (!status && cg_mkdir_p(r.out_dir))
    status = cli_die(EXIT_MODEL, "cannot create output directory '%s': %s",
                     r.out_dir, strerror(errno));
  for (int i = 0; i < k && !status; i++) {
    int pooled = is_pooled(&infos[i]);
    for (int j = 0; j < (pooled ? 1 : r.n) && !status; j++) {
      const loom_tensor *o = &outs[j * k + i];
      size_t len = strlen(r.out_dir) + strlen(o->name) + 64;
      int f = n_files++;
      fin[f] = malloc(len);
      tmp[f] = malloc(len);
      lines[f] = malloc(len + 256);
      if (pooled)
        snprintf(fin[f], len, "%s/%s.npy", r.out_dir, o->name);
      else
        snprintf(fin[f], len, "%s/%s.%d.npy", r.out_dir, o->name, j);
      snprintf(tmp[f], len, "%s.%ld.tmp", fin[f], (long)getpid());
      int64_t dims[LOOM_MAX_RANK + 1];
      int rank = o->rank;
      void *data = o->data;
      size_t bytes = loom_tensor_bytes(o);
      if (pooled) { /* [N, ...]: the texts' outputs one after another */
        dims[0] = r.n;
        memcpy(dims + 1, o->dims, sizeof(int64_t) * (size_t)o->rank);
        rank++;
        data = malloc(bytes * (size_t)r.n + 4);
        for (int q = 0; q < r.n; q++)
          memcpy((char *)data + bytes * (size_t)q, outs[q * k + i].data, bytes);
      } else {
        memcpy(dims, o->dims, sizeof(int64_t) * (size_t)o->rank);
      }
      if (rt_npy_write(tmp[f], o->dtype == LOOM_I32 ? RT_NPY_I32 : RT_NPY_F32,
                       data, rank, dims, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        status = EXIT_MODEL;
      }
      if (pooled) free(data);
      int w = snprintf(lines[f], len + 256, "%s %s[", o->name,
                       o->dtype == LOOM_I32 ? "i32" : "f32");
      for (int q = 0; q < rank && w < 200; q++)
        w += snprintf(lines[f] + w, len + 256 - (size_t)w, "%s%lld", q ? ", " : "",
                      (long long)dims[q]);
      snprintf(lines[f] + w, len + 256 - (size_t)w, "] -> %s\n", fin[f]);
    }
  }
  for (int i = 0; i < n_files && !status; i++)
    if (rename(tmp[i], fin[i]))
      status = cli_die(EXIT_MODEL, "cannot write '%s': %s", fin[i], strerror(errno));
  for (int i = 0; i < n_files; i++) {
    if (status) unlink(tmp[i]);
    else fputs(lines[i], stdout);
    free(tmp[i]);
    free(fin[i]);
    free(lines[i]);
  }
  if (!status && r.print)
    for (int j = 0; j < r.n; j++)
      for (int i = 0; i < k; i++) {
        printf("text %d %s:", j, outs[j * k + i].name);
        summary(stdout, &outs[j * k + i]);
      }
  free(lines);
  free(tmp);
  free(fin);
  free_infos(infos, k);
  free_outs(outs, k * r.n);
  free(r.texts);
  return status;
}

static const char embed_help[] =
    "usage: loom embed MODEL --text TEXT [--text TEXT]... [options]\n"
    "\n"
    "Runs each text through a sentence-embedding model (an output named\n"
    "'embedding', e.g. a sentence-transformers directory) and prints each\n"
    "embedding's size, norm and first values; with two or more texts, the\n"
    "cosine-similarity matrix.\n"
    "\n"
    "options: --weights FILE, --backend NAME, --target T, --passes=...,\n"
    "--disable=... (as loom run --help says).\n";

int cmd_embed(int argc, char **argv) {
  TextRun r = {0};
  int done, status = parse_text_run("embed", argc, argv, &r, embed_help, &done);
  if (status || done) {
    free(r.texts);
    return status;
  }
  loom_tensor *outs;
  loom_info *infos = NULL;
  int k = 0, e = -1;
  status = run_texts("embed", argv[argc - 1], &r, &outs, &k, &infos);
  for (int i = 0; i < k && !status; i++)
    if (!strcmp(infos[i].name, "embedding") && infos[i].rank == 1) e = i;
  if (!status && e < 0)
    status = cli_die(EXIT_MODEL, "embed: the model has no output 'embedding' [D] "
                                 "(a BERT with pooling: mean has)");
  for (int j = 0; j < r.n && !status; j++) {
    const loom_tensor *o = &outs[j * k + e];
    const float *v = o->data;
    double n2 = 0;
    for (int64_t q = 0; q < o->dims[0]; q++) n2 += (double)v[q] * v[q];
    printf("[%d] %lld dims, norm %.6f \"%s\"\n", j, (long long)o->dims[0], sqrt(n2),
           r.texts[j]);
    summary(stdout, o);
  }
  if (!status && r.n >= 2) {
    printf("cosine similarity:\n     ");
    for (int j = 0; j < r.n; j++) printf(" %7d", j);
    printf("\n");
    for (int a = 0; a < r.n; a++) {
      printf("  [%d]", a);
      for (int b = 0; b < r.n; b++) {
        const float *x = outs[a * k + e].data, *y = outs[b * k + e].data;
        double dot = 0, nx = 0, ny = 0;
        for (int64_t q = 0; q < outs[a * k + e].dims[0]; q++)
          dot += (double)x[q] * y[q], nx += (double)x[q] * x[q], ny += (double)y[q] * y[q];
        printf(" %7.4f", dot / (sqrt(nx * ny) + 1e-30));
      }
      printf("\n");
    }
  }
  free_infos(infos, k);
  free_outs(outs, k * r.n);
  free(r.texts);
  return status;
}
