/* cmd_generate.c — `loom generate`: a gpt2 model continues a prompt, a
 * transformer translates a source.
 *
 *   loom generate MODEL.yaml --src-ids 5,9,13 --sos ID --eos ID --max-new N
 *   loom generate MODEL.yaml --prompt-ids 464,2068,... --max-new N
 *   loom generate MODEL.yaml --prompt-ids "464,2068;318,257,1;40" --max-new N
 *        [--temperature T] [--top-k K] [--top-p P] [--repetition-penalty R]
 *        [--seed S] [--eos ID] [--max-len N] [--backend ref|c|jit]
 *        [--timings] [--target T] [--weights FILE] [--passes=...]
 *
 * The new ids go to stdout, space-separated on one line, each flushed as
 * it is picked; several prompts (separated by ';', a gpt2 model with
 * max_batch) are one batch, and print one line per prompt, in order, once
 * every row is done; --timings adds key=value lines on stderr.  Everything else
 * is libloom's loom_generate (api/api_generate.c) and the one loop
 * (runtime/generate.c).
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loom.h"
#include "tools/cli.h"

static const char generate_help[] =
    "usage: loom generate MODEL.yaml --prompt-ids ID,ID,...[;ID,...] --max-new N "
    "[options]   (gpt2)\n"
    "       loom generate MODEL.yaml --src-ids ID,ID,... --sos ID --eos ID "
    "--max-new N [options]   (transformer)\n"
    "\n"
    "Continues a prompt with a gpt2 model (family form): the prompt runs\n"
    "through the prefill graph, filling each layer's K and V cache, then\n"
    "one token at a time through the decode graph; each graph is compiled\n"
    "once.  A transformer model first runs the source through its encode\n"
    "graph (the encoder and each decoder layer's cross-attention K and V,\n"
    "once), then decodes from <sos> the same way.\n"
    "The new ids are printed on one line of stdout, space-separated,\n"
    "each flushed as it is produced.  Several prompts separated by ';'\n"
    "(a gpt2 model with max_batch: N in its model file, or --max-batch N;\n"
    "at most N of them)\n"
    "run as one batch, left-padded to the longest with an attention mask\n"
    "(as Hugging Face's generate does); each stops at its own --eos, and\n"
    "one line per prompt, in order, is printed when all are done.\n"
    "Greedy (argmax) unless --temperature, --top-k or --top-p is given;\n"
    "then sampled, in Hugging Face's order: repetition penalty,\n"
    "temperature, top-k, top-p, in double precision, with the\n"
    "xoshiro256** generator seeded by --seed.\n"
    "\n"
    "options:\n"
    "  --prompt-ids IDS        the prompt's token ids (gpt2: required);\n"
    "                          \"IDS;IDS;...\": a batch of prompts\n"
    "  --src-ids IDS           the source's token ids (transformer: required)\n"
    "  --sos ID                the target's start id (transformer: required)\n"
    "  --max-new N             new tokens at most (required)\n"
    "  --eos ID                stop after this id (it is printed and counted;\n"
    "                          a batch: each prompt at its own)\n"
    "  --temperature T         sample, logits divided by T (> 0)\n"
    "  --top-k K               sample among the K most likely ids\n"
    "  --top-p P               sample among the most likely ids whose\n"
    "                          probabilities sum to P (0 < P <= 1)\n"
    "  --repetition-penalty R  ids already in the sequence: logit / R (or\n"
    "                          x R when negative); also when greedy\n"
    "  --seed S                the sampler's seed (default 0; a batch's\n"
    "                          prompt r: S + r)\n"
    "  --max-batch N           up to N prompts in a batch (default: the\n"
    "                          model's max_batch; without one, 1)\n"
    "  --max-len N             the KV cache's rows (default: the model's\n"
    "                          max_len); generation stops there, with a note\n"
    "  --backend B             ref, c or jit (default: jit when built with\n"
    "                          LLVM, else ref)\n"
    "  --timings               key=value lines on stderr: prefill_ms,\n"
    "                          decode_ms_per_token (median step),\n"
    "                          tokens_per_s (a batch: all rows'),\n"
    "                          kv_cache_bytes, compile_prefill_ms,\n"
    "                          compile_decode_ms (transformer: also\n"
    "                          encode_ms, compile_encode_ms)\n"
    CLI_HELP_THREADS
    "  --target T, --dtype D, --weights FILE, --passes=..., --disable=...,\n"
    "  --l1/--l2/--l3=SIZE     as for run\n"
    "  -h, --help              show this help\n";

typedef struct {
  const char *prompt, *src, *backend;
  int32_t max_new, eos, top_k, sos;
  double temperature, top_p, penalty;
  uint64_t seed;
  bool timings, sample, have_max_new;
  int threads;
} GenArgs;

enum { O_PROMPT = 256, O_MAX_NEW, O_EOS, O_TEMP, O_TOPK, O_TOPP, O_PENALTY,
       O_SEED, O_BACKEND, O_TIMINGS, O_SRC, O_SOS, O_THREADS };

static const struct option gen_opts[] = {
    {"prompt-ids", required_argument, 0, O_PROMPT},
    {"src-ids", required_argument, 0, O_SRC},
    {"sos", required_argument, 0, O_SOS},
    {"max-new", required_argument, 0, O_MAX_NEW},
    {"eos", required_argument, 0, O_EOS},
    {"temperature", required_argument, 0, O_TEMP},
    {"top-k", required_argument, 0, O_TOPK},
    {"top-p", required_argument, 0, O_TOPP},
    {"repetition-penalty", required_argument, 0, O_PENALTY},
    {"seed", required_argument, 0, O_SEED},
    {"backend", required_argument, 0, O_BACKEND},
    {"timings", no_argument, 0, O_TIMINGS},
    {"threads", required_argument, 0, O_THREADS},
    {0, 0, 0, 0}};

static int parse_int(const char *opt, const char *arg, long long lo,
                     long long hi, long long *out) {
  char *end;
  errno = 0;
  long long v = strtoll(arg, &end, 10);
  if (!*arg || *end || errno || v < lo || v > hi)
    return cli_usage("generate", "--%s takes an integer in %lld..%lld, got '%s'",
                     opt, lo, hi, arg);
  *out = v;
  return 0;
}

static int parse_real(const char *opt, const char *arg, double lo, double hi,
                      bool lo_open, double *out) {
  char *end;
  errno = 0;
  double v = strtod(arg, &end);
  if (!*arg || *end || errno || !isfinite(v) || v < lo || v > hi ||
      (lo_open && v == lo))
    return cli_usage("generate", "--%s takes a number in %s%g, %g], got '%s'",
                     opt, lo_open ? "(" : "[", lo, hi, arg);
  *out = v;
  return 0;
}

static int gen_option(void *self, int id, const char *arg) {
  GenArgs *a = self;
  long long v;
  int st = 0;
  switch (id) {
  case O_PROMPT: a->prompt = arg; break;
  case O_SRC: a->src = arg; break;
  case O_SOS:
    if (!(st = parse_int("sos", arg, 0, INT32_MAX, &v))) a->sos = (int32_t)v;
    break;
  case O_MAX_NEW:
    if (!(st = parse_int("max-new", arg, 1, INT32_MAX, &v)))
      a->max_new = (int32_t)v, a->have_max_new = true;
    break;
  case O_EOS:
    if (!(st = parse_int("eos", arg, 0, INT32_MAX, &v))) a->eos = (int32_t)v;
    break;
  case O_TEMP:
    st = parse_real("temperature", arg, 0, 1e6, true, &a->temperature);
    a->sample = true;
    break;
  case O_TOPK:
    if (!(st = parse_int("top-k", arg, 1, INT32_MAX, &v))) a->top_k = (int32_t)v;
    a->sample = true;
    break;
  case O_TOPP:
    st = parse_real("top-p", arg, 0, 1, true, &a->top_p);
    a->sample = true;
    break;
  case O_PENALTY:
    st = parse_real("repetition-penalty", arg, 0, 1e6, true, &a->penalty);
    break;
  case O_SEED:
    if (!(st = parse_int("seed", arg, 0, LLONG_MAX, &v))) a->seed = (uint64_t)v;
    break;
  case O_BACKEND: a->backend = arg; break;
  case O_TIMINGS: a->timings = true; break;
  case O_THREADS: return cli_parse_threads("generate", arg, &a->threads);
  }
  return st;
}

static const CliCommand generate_cmd = {.name = "generate",
                                        .help = generate_help,
                                        .extra = gen_opts,
                                        .option = gen_option};

/* "464,2068,7586" -> ids (malloc'd); opt names the option */
static int parse_ids(const char *opt, const char *s, int32_t **ids, size_t *n) {
  int rc = loom_gen_parse_ids(s, ids, n);
  if (rc == -2) return cli_die(EXIT_MODEL, "out of memory");
  if (rc)
    return cli_usage("generate", "--%s takes ids like 464,2068,7586, got '%s'",
                     opt, s);
  return 0;
}

static int emit(void *user, int32_t id) {
  int *count = user;
  char buf[32];
  snprintf(buf, sizeof buf, "%s%d", (*count)++ ? " " : "", id);
  return cli_stdout(buf) ? 1 : 0;
}

/* A batch's ids, kept until every row is done: row r's are
 * ids[r * cap ..][0..n[r]). */
typedef struct {
  int32_t *ids;
  int64_t *n, cap;
} Rows;

static int keep_row(void *user, int64_t row, int32_t id) {
  Rows *rows = user;
  if (rows->n[row] < rows->cap) rows->ids[row * rows->cap + rows->n[row]++] = id;
  return 0;
}

static int print_rows(const Rows *rows, size_t batch) {
  for (size_t r = 0; r < batch; r++) {
    for (int64_t i = 0; i < rows->n[r]; i++) {
      char buf[32];
      snprintf(buf, sizeof buf, "%s%d", i ? " " : "", rows->ids[r * rows->cap + i]);
      if (cli_stdout(buf)) return EXIT_MODEL;
    }
    if (cli_stdout("\n")) return EXIT_MODEL;
  }
  return 0;
}

/* "1,2;3,4,5" -> prompts (each malloc'd) and their lengths. */
static int parse_prompts(const char *s, int32_t ***prompts, size_t **n,
                         size_t *batch) {
  size_t cap = 1;
  for (const char *p = s; *p; p++) cap += *p == ';';
  *prompts = calloc(cap, sizeof **prompts);
  *n = calloc(cap, sizeof **n);
  char *copy = strdup(s);
  if (!*prompts || !*n || !copy) return cli_die(EXIT_MODEL, "out of memory");
  *batch = 0;
  int st = 0;
  for (char *p = copy, *end; !st; p = end + 1) {
    end = strchr(p, ';');
    if (end) *end = 0;
    st = parse_ids("prompt-ids", p, &(*prompts)[*batch], &(*n)[*batch]);
    if (!st) (*batch)++;
    if (!end) break;
  }
  free(copy);
  return st;
}

int cmd_generate(int argc, char **argv) {
  GenArgs a = {.backend = cli_default_backend(), .eos = -1, .sos = -1,
               .temperature = 1, .top_p = 1, .penalty = 1};
  CliCompile cc;
  int status;
  if ((status = cli_parse(&generate_cmd, argc, argv, &a, &cc)) || cc.help)
    return status;
  if (cc.graph)
    return cli_usage("generate", "--graph does not apply: generate runs the "
                                 "prefill and decode graphs");
  if (!a.have_max_new) return cli_usage("generate", "--max-new is missing");
  if ((status = cli_check_backend("generate", a.backend)) ||
      (status = cli_check_model(&cc)))
    return status;
  /* The family decides which options are needed: read the model's
   * graph alone (no weights) first. */
  Diag d = {0};
  FeOptions fo = {.no_weights = true};
  FeModel *probe = fe_load(cc.model, &fo, &d);
  if (!probe) return cli_error(EXIT_MODEL, d.msg);
  bool encdec = probe->family && strcmp(probe->family, "transformer") == 0;
  bool gpt2 = probe->family && strcmp(probe->family, "gpt2") == 0;
  char fam[64];
  snprintf(fam, sizeof fam, "%s", probe->family ? probe->family : "");
  fe_model_free(probe);
  if (!encdec && !gpt2)
    return cli_usage("generate", "%s: generate needs a gpt2 or transformer "
                                 "model (family form), not %s%s",
                     cc.model, fam[0] ? "the family " : "a graph-form model", fam);
  if (gpt2 && !a.prompt) return cli_usage("generate", "--prompt-ids is missing");
  if (gpt2 && (a.src || a.sos >= 0))
    return cli_usage("generate", "--src-ids and --sos are for transformer "
                                 "models; a gpt2 model takes --prompt-ids");
  if (encdec && a.prompt)
    return cli_usage("generate", "a transformer model takes --src-ids and "
                                 "--sos, not --prompt-ids");
  if (encdec && !a.src) return cli_usage("generate", "--src-ids is missing");
  if (encdec && a.sos < 0) return cli_usage("generate", "--sos is missing");
  if (encdec && a.eos < 0) return cli_usage("generate", "--eos is missing");
  /* prompts[0..batch): gpt2's --prompt-ids, or a transformer's {sos} */
  int32_t **prompts = NULL, *src = NULL;
  size_t *n_ids = NULL, batch = 0, n_src = 0;
  if (encdec) {
    if ((status = parse_ids("src-ids", a.src, &src, &n_src))) return status;
    prompts = calloc(1, sizeof *prompts);
    n_ids = calloc(1, sizeof *n_ids);
    if (!prompts || !n_ids || !(prompts[0] = malloc(sizeof **prompts)))
      return cli_die(EXIT_MODEL, "out of memory");
    prompts[0][0] = a.sos;
    n_ids[0] = batch = 1;
  } else {
    status = parse_prompts(a.prompt, &prompts, &n_ids, &batch);
  }
  loom_generator *g = NULL;
  char err[8192];
  loom_status st = LOOM_OK;
  if (!status) {
    loom_options lo = {.weights = cc.weights, .backend = a.backend,
                       .target = cc.target, .passes = cc.passes,
                       .disable = cc.disable, .max_len = cc.max_len,
                       .max_batch = cc.max_batch,
                       .dtype = cc.dtype, .l1 = cc.l1, .l2 = cc.l2, .l3 = cc.l3,
                       .threads = a.threads};
    st = loom_generator_open(cc.model, &lo, &g, err, sizeof err);
    if (st)
      status = st == LOOM_ERR_USAGE ? cli_usage("generate", "%s", cli_bare(err))
                                    : cli_error(EXIT_MODEL, err);
  }
  if (status) goto out;
  loom_gen_params p = {.max_new = a.max_new, .eos = a.eos, .sample = a.sample,
                       .temperature = a.temperature, .top_k = a.top_k,
                       .top_p = a.top_p, .repetition_penalty = a.penalty,
                       .seed = a.seed};
  loom_gen_stats stats;
  if (batch == 1) { /* streamed, each id as it is picked */
    int count = 0;
    st = loom_generate(g, src, n_src, prompts[0], n_ids[0], &p, emit, &count,
                       &stats, err, sizeof err);
    if (count && cli_stdout("\n")) status = EXIT_MODEL;
  } else { /* one line per prompt once all are done */
    Rows rows = {malloc(batch * (size_t)a.max_new * sizeof *rows.ids),
                 calloc(batch, sizeof *rows.n), a.max_new};
    if (!rows.ids || !rows.n) return cli_die(EXIT_MODEL, "out of memory");
    st = loom_generate_batch(g, batch, (const int32_t *const *)prompts, n_ids,
                             &p, keep_row, &rows, &stats, err, sizeof err);
    if (!st) status = print_rows(&rows, batch);
    free(rows.ids);
    free(rows.n);
  }
  if (st) {
    status = cli_error(st == LOOM_ERR_USAGE ? EXIT_USAGE : EXIT_MODEL, err);
  } else if (!status) {
    if (stats.hit_max_len)
      fprintf(stderr, "loom: note: generate: stopped at the cache's %lld "
                      "positions (--max-len)\n",
              (long long)loom_generator_max_len(g));
    if (a.timings)
      fprintf(stderr,
              "prefill_ms=%.3f\ndecode_ms_per_token=%.3f\ntokens_per_s=%.2f\n"
              "kv_cache_bytes=%lld\ncompile_prefill_ms=%.1f\n"
              "compile_decode_ms=%.1f\nnew_tokens=%lld\n",
              stats.prefill_ms, stats.decode_ms_median,
              stats.decode_ms_median > 0
                  ? (double)batch * 1e3 / stats.decode_ms_median
                  : 0.0,
              (long long)stats.kv_cache_bytes, loom_generator_compile_ms(g, 0),
              loom_generator_compile_ms(g, 1), (long long)stats.n_new);
    if (a.timings && loom_generator_has_encoder(g))
      fprintf(stderr, "encode_ms=%.3f\ncompile_encode_ms=%.1f\n",
              stats.encode_ms, loom_generator_compile_ms(g, 2));
  }
out:
  loom_generator_free(g);
  for (size_t r = 0; prompts && r < batch; r++) free(prompts[r]);
  free(prompts);
  free(n_ids);
  free(src);
  return status;
}
