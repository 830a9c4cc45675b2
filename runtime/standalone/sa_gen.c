//! sa_gen.c — NAME_gen.c of a program `loom build` / `emit-c` / `emit-obj`
//! makes from a model that generates (gpt2, transformer): NAME_generate
//! (runtime/standalone/sa_gen_api.h), the one generation loop of loom's
//! runtime (runtime/generate.c, loom_gen_run) around the model's prefill
//! and decode graphs (and a transformer's encode graph), compiled beside
//! it as the models NAME_prefill, NAME_decode, NAME_encode; and the command
//! line main.c hands --prompt-ids / --src-ids to, with `loom generate`'s
//! options and output.
//!
//! A template: NAME_ becomes the model's C name.  tools/build_gen.c writes
//! before it what it reads off the graphs (frontend/gen_spec.c):
//!   GEN_ENCODER         1 for an encoder-decoder
//!   GEN_N_STATE         the KV cache buffers; gen_state_name/_dims/_bytes
//!   GEN_STATE_RANK      3 ([H, L, Dh]), or 4 with a batch ([B, H, L, Dh])
//!   GEN_N_CROSS         the encode graph's outputs (each decoder layer's
//!                       cross-attention K and V); gen_cross_name
//!   gen_tokens          the steps' token input ("ids" or "tgt")
//!   gen_vocab, gen_max_len, gen_max_batch (0: no batch dimension)
//!   gen_graph_file[3]   prefill, decode, encode: NULL when the graph's
//!                       weights are the model's, else ".GRAPH" (its own
//!                       image: in the executable, or NAME.GRAPH.weights)
//! and includes NAME.h, NAME_prefill.h, NAME_decode.h (NAME_encode.h).
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct NAME_generator {
  NAME_prefill_model *prefill;
  NAME_decode_model *decode;
#if GEN_ENCODER
  NAME_encode_model *encode;
  float *cross[GEN_N_CROSS];
  int64_t cross_dims[3];
#endif
};

int NAME_generator_has_encoder(void) { return GEN_ENCODER; }
int64_t NAME_generator_max_len(void) { return gen_max_len; }
int64_t NAME_generator_cache_bytes(void) {
  int64_t s = 0;
  int i;
  for (i = 0; i < GEN_N_STATE; i++) s += gen_state_bytes[i];
  return s;
}

void NAME_generator_free(NAME_generator *g) {
  if (!g) return;
  NAME_prefill_free(g->prefill);
  NAME_decode_free(g->decode);
#if GEN_ENCODER
  {
    int i;
    NAME_encode_free(g->encode);
    for (i = 0; i < GEN_N_CROSS; i++) free(g->cross[i]);
  }
#endif
  free(g);
}

/* path with ".weights" (if it ends so) replaced by suffix + ".weights" */
static char *gen_companion(const char *path, const char *suffix) {
  size_t n = strlen(path);
  char *s = (char *)malloc(n + strlen(suffix) + 16);
  if (!s) return NULL;
  if (n > 8 && strcmp(path + n - 8, ".weights") == 0) n -= 8;
  sprintf(s, "%.*s%s.weights", (int)n, path, suffix);
  return s;
}

/* Open graph k's model with FN into *OUT: the model's own weights, or its
 * image in the executable, or else its file beside them. */
#define GEN_OPEN(FN, OUT, k)                                          \
  do {                                                                \
    st = (NAME_status)FN(weights_path, OUT, err, errlen);             \
    if (st != NAME_OK && gen_graph_file[k]) {                         \
      char *c = gen_companion(weights_path, gen_graph_file[k]);       \
      if (!c) {                                                       \
        snprintf(err, errlen, "error: out of memory");                \
      } else {                                                        \
        st = (NAME_status)FN(c, OUT, err, errlen);                    \
        free(c);                                                      \
      }                                                               \
    }                                                                 \
    if (st != NAME_OK) {                                              \
      NAME_generator_free(g);                                         \
      return st;                                                      \
    }                                                                 \
  } while (0)

NAME_status NAME_generator_create(const char *weights_path,
                                  NAME_generator **out, char *err,
                                  size_t errlen) {
  NAME_generator *g;
  NAME_status st;
  if (!weights_path || !out) {
    snprintf(err, errlen, "error: NULL argument");
    return NAME_ERR_USAGE;
  }
  *out = NULL;
  g = (NAME_generator *)calloc(1, sizeof *g);
  if (!g) {
    snprintf(err, errlen, "error: out of memory");
    return NAME_ERR_MODEL;
  }
  GEN_OPEN(NAME_prefill_create, &g->prefill, 0);
  GEN_OPEN(NAME_decode_create, &g->decode, 1);
#if GEN_ENCODER
  GEN_OPEN(NAME_encode_create, &g->encode, 2);
#endif
  *out = g;
  return NAME_OK;
}

/* One step of the loop through model M (prefill or decode), as libloom's
 * api/api_generate.c does it with loom_run: with a batch dimension
 * (gen_max_batch > 0) ids [batch, n], the loop's position_ids and
 * attention_mask, caches [batch, H, L, Dh] and logits [batch, n, vocab];
 * without, ids [n], caches [H, L, Dh], logits [n, vocab]. */
#define GEN_STEP(M, model)                                                   \
  do {                                                                       \
    M##_tensor in[4 + GEN_N_STATE + GEN_N_CROSS], out, *t;                   \
    int i, n_in = 0, b = gen_max_batch > 0;                                  \
    memset(in, 0, sizeof in);                                                \
    t = &in[n_in++];                                                         \
    t->name = gen_tokens, t->dtype = M##_I32, t->rank = 1 + b;               \
    t->dims[0] = b ? batch : n, t->dims[b] = n, t->data = (void *)ids;       \
    t = &in[n_in++];                                                         \
    t->name = "pos", t->dtype = M##_I32, t->rank = 0, t->data = &p32;        \
    if (b) {                                                                 \
      t = &in[n_in++];                                                       \
      t->name = "position_ids", t->dtype = M##_I32, t->rank = 2;             \
      t->dims[0] = batch, t->dims[1] = n, t->data = (void *)positions;       \
      t = &in[n_in++];                                                       \
      t->name = "attention_mask", t->dtype = M##_F32, t->rank = 2;           \
      t->dims[0] = batch, t->dims[1] = gen_max_len, t->data = (void *)mask;  \
    }                                                                        \
    for (i = 0; i < GEN_N_STATE; i++) {                                      \
      t = &in[n_in++];                                                       \
      t->name = gen_state_name[i], t->dtype = M##_F32;                       \
      t->rank = GEN_STATE_RANK;                                              \
      memcpy(t->dims, gen_state_dims[i], sizeof gen_state_dims[i]);          \
      if (b) t->dims[0] = batch;                                             \
      t->data = state[i];                                                    \
    }                                                                        \
    GEN_CROSS_INPUTS(M);                                                     \
    memset(&out, 0, sizeof out);                                             \
    out.dtype = M##_F32, out.rank = 2 + b, out.dims[0] = b ? batch : n;      \
    out.dims[b] = n, out.dims[1 + b] = gen_vocab, out.data = logits;         \
    return M##_run(model, in, n_in, &out, 1, err, errlen) ? -1 : 0;          \
  } while (0)

#if GEN_ENCODER
#define GEN_CROSS_INPUTS(M)                                                  \
  for (i = 0; i < GEN_N_CROSS; i++) {                                        \
    t = &in[n_in++];                                                         \
    t->name = gen_cross_name[i], t->dtype = M##_F32, t->rank = 3;            \
    memcpy(t->dims, g->cross_dims, sizeof g->cross_dims);                    \
    t->data = g->cross[i];                                                   \
  }
#else
#define GEN_CROSS_INPUTS(M) (void)0
#endif

static int gen_step(void *ctx, int decode, int64_t batch, const int32_t *ids,
                    int64_t n, int64_t pos, const int32_t *positions,
                    const float *mask, void *const *state, float *logits,
                    char *err, size_t errlen) {
  NAME_generator *g = (NAME_generator *)ctx;
  int32_t p32 = (int32_t)pos;
  if (decode) GEN_STEP(NAME_decode, g->decode);
  GEN_STEP(NAME_prefill, g->prefill);
}

#if GEN_ENCODER
/* The source once through the encode graph; its outputs kept in g->cross. */
static int gen_encode(void *ctx, const int32_t *src, int64_t n, char *err,
                      size_t errlen) {
  NAME_generator *g = (NAME_generator *)ctx;
  NAME_encode_tensor in, out[GEN_N_CROSS];
  int i;
  memset(&in, 0, sizeof in);
  memset(out, 0, sizeof out);
  in.name = "src", in.dtype = NAME_encode_I32, in.rank = 1, in.dims[0] = n;
  in.data = (void *)src;
  if (NAME_encode_output_shapes(&in, 1, out, GEN_N_CROSS, err, errlen)) return -1;
  for (i = 0; i < GEN_N_CROSS; i++) {
    free(g->cross[i]);
    if (!(g->cross[i] = (float *)malloc(NAME_encode_tensor_bytes(&out[i]) + 4))) {
      snprintf(err, errlen, "error: out of memory");
      return -1;
    }
    out[i].data = g->cross[i];
  }
  memcpy(g->cross_dims, out[0].dims, sizeof g->cross_dims);
  return NAME_encode_run(g->encode, &in, 1, out, GEN_N_CROSS, err, errlen) ? -1 : 0;
}
#endif

NAME_status NAME_generate(NAME_generator *g, const int32_t *src, size_t n_src,
                          const int32_t *prompt, size_t n_prompt,
                          const loom_gen_params *p, loom_gen_token_fn on_token,
                          void *user, loom_gen_stats *stats, char *err,
                          size_t errlen) {
  loom_gen_model m;
  if (!g || !p || (n_prompt && !prompt)) {
    snprintf(err, errlen, "error: NULL argument");
    return NAME_ERR_USAGE;
  }
  memset(&m, 0, sizeof m);
  m.vocab = gen_vocab;
  m.max_len = gen_max_len;
  m.n_state = GEN_N_STATE;
  m.state_bytes = gen_state_bytes;
  m.step = gen_step;
  m.ctx = g;
  m.max_batch = gen_max_batch;
#if GEN_ENCODER
  if (!src || !n_src) {
    snprintf(err, errlen, "error: an encoder-decoder model needs the source ids");
    return NAME_ERR_USAGE;
  }
  m.encode = gen_encode;
#else
  (void)src;
  n_src = 0;
#endif
  return loom_gen_run(&m, p, src, (int64_t)n_src, prompt, (int64_t)n_prompt,
                      on_token, user, stats, err, errlen)
             ? NAME_ERR_MODEL
             : NAME_OK;
}

/* ---- the command line: loom generate's options and output ---------------- */

static const char *gen_prog = "model";

static int gen_usage(const char *fmt, const char *arg) {
  fprintf(stderr, "%s: error: ", gen_prog);
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\nTry '%s --help'.\n", gen_prog);
  return 2;
}

static const char *const gen_opts[] = {
    "--prompt-ids", "--src-ids", "--sos", "--max-new", "--eos",
    "--temperature", "--top-k", "--top-p", "--repetition-penalty", "--seed",
    "--weights", NULL};

int NAME_generate_wanted(int argc, char **argv) {
  int i;
  for (i = 1; i < argc; i++)
    if (!strncmp(argv[i], "--prompt-ids", 12) || !strncmp(argv[i], "--src-ids", 9))
      return 1;
  return 0;
}

void NAME_generate_help(const char *prog) {
  gen_prog = prog;
  printf("\ngeneration (like loom generate):\n"
#if GEN_ENCODER
         "  %s --src-ids ID,ID,... --sos ID --eos ID --max-new N [options]\n"
#else
         "  %s --prompt-ids ID,ID,... --max-new N [options]\n"
#endif
         "  prints the new ids on one line, space-separated, each flushed as\n"
         "  it is produced; greedy unless --temperature, --top-k or --top-p\n"
         "  is given (then sampled: repetition penalty, temperature, top-k,\n"
         "  top-p, xoshiro256** seeded by --seed).  The KV cache has %lld\n"
         "  positions (loom build --max-len); threads: OMP_NUM_THREADS.\n"
         "  --eos ID, --temperature T, --top-k K, --top-p P,\n"
         "  --repetition-penalty R, --seed S (default 0), --weights FILE,\n"
         "  --timings (key=value lines on stderr)\n",
         gen_prog, (long long)gen_max_len);
}

/* "--opt VALUE" or "--opt=VALUE" at argv[*i]: the value, or NULL */
static const char *gen_value(int argc, char **argv, int *i, const char **opt) {
  int k;
  for (k = 0; gen_opts[k]; k++) {
    size_t n = strlen(gen_opts[k]);
    if (strncmp(argv[*i], gen_opts[k], n) != 0) continue;
    if (argv[*i][n] == '=') {
      *opt = gen_opts[k];
      return argv[*i] + n + 1;
    }
    if (argv[*i][n]) continue;
    *opt = gen_opts[k];
    return *i + 1 < argc ? argv[++*i] : NULL;
  }
  *opt = NULL;
  return NULL;
}

static int gen_int(const char *opt, const char *s, long long lo, long long hi,
                   long long *out) {
  char *end;
  long long v;
  errno = 0;
  v = strtoll(s, &end, 10);
  if (!*s || *end || errno || v < lo || v > hi) {
    fprintf(stderr, "%s: error: %s takes an integer in %lld..%lld, got '%s'\n"
                    "Try '%s --help'.\n", gen_prog, opt, lo, hi, s, gen_prog);
    return 2;
  }
  *out = v;
  return 0;
}

static int gen_real(const char *opt, const char *s, double hi, double *out) {
  char *end;
  double v;
  errno = 0;
  v = strtod(s, &end);
  if (!*s || *end || errno || !(v > 0) || v > hi) {
    fprintf(stderr, "%s: error: %s takes a number in (0, %g], got '%s'\n"
                    "Try '%s --help'.\n", gen_prog, opt, hi, s, gen_prog);
    return 2;
  }
  *out = v;
  return 0;
}

/* "464,2068,7586" -> ids (malloc'd): loom_gen_parse_ids, with messages */
static int gen_ids(const char *opt, const char *s, int32_t **ids, size_t *n) {
  int rc = loom_gen_parse_ids(s, ids, n);
  if (rc == -2) return fprintf(stderr, "%s: error: out of memory\n", gen_prog), 1;
  if (rc)
    return fprintf(stderr, "%s: error: %s takes ids like 464,2068,7586, got "
                           "'%s'\nTry '%s --help'.\n", gen_prog, opt, s, gen_prog), 2;
  return 0;
}

static int gen_emit(void *user, int32_t id) {
  int *count = (int *)user;
  printf("%s%d", (*count)++ ? " " : "", (int)id);
  return fflush(stdout) != 0;
}

int NAME_generate_main(int argc, char **argv, const char *prog,
                       const char *weights) {
  const char *prompt = NULL, *source = NULL;
  long long sos = -1, eos = -1, max_new = -1, top_k = 0, seed = 0;
  double temperature = 1, top_p = 1, penalty = 1;
  int sample = 0, timings = 0, count = 0, i, status = 0;
  int32_t *ids = NULL, *src = NULL;
  size_t n_ids = 0, n_src = 0;
  NAME_generator *g = NULL;
  loom_gen_params p;
  loom_gen_stats stats;
  char err[4096];
  gen_prog = prog;
  for (i = 1; i < argc && !status; i++) {
    const char *opt, *v;
    if (!strcmp(argv[i], "--timings")) {
      timings = 1;
      continue;
    }
    v = gen_value(argc, argv, &i, &opt);
    if (!opt) {
      return gen_usage(argv[i][0] == '-' ? "unknown option for generation '%s'"
                                         : "unexpected argument '%s'", argv[i]);
    }
    if (!v) return gen_usage("missing value for option '%s'", opt);
    if (!strcmp(opt, "--prompt-ids")) prompt = v;
    else if (!strcmp(opt, "--src-ids")) source = v;
    else if (!strcmp(opt, "--weights")) weights = v;
    else if (!strcmp(opt, "--sos")) status = gen_int(opt, v, 0, INT32_MAX, &sos);
    else if (!strcmp(opt, "--eos")) status = gen_int(opt, v, 0, INT32_MAX, &eos);
    else if (!strcmp(opt, "--max-new")) status = gen_int(opt, v, 1, INT32_MAX, &max_new);
    else if (!strcmp(opt, "--seed")) status = gen_int(opt, v, 0, LLONG_MAX, &seed);
    else if (!strcmp(opt, "--top-k")) status = gen_int(opt, v, 1, INT32_MAX, &top_k), sample = 1;
    else if (!strcmp(opt, "--temperature")) status = gen_real(opt, v, 1e6, &temperature), sample = 1;
    else if (!strcmp(opt, "--top-p")) status = gen_real(opt, v, 1, &top_p), sample = 1;
    else status = gen_real(opt, v, 1e6, &penalty); /* --repetition-penalty */
  }
  if (status) return status;
  if (max_new < 0) return gen_usage("--max-new is missing%s", "");
#if GEN_ENCODER
  if (prompt) return gen_usage("a transformer model takes --src-ids and --sos, not --prompt-ids%s", "");
  if (!source) return gen_usage("--src-ids is missing%s", "");
  if (sos < 0) return gen_usage("--sos is missing%s", "");
  if (eos < 0) return gen_usage("--eos is missing%s", "");
  if ((status = gen_ids("--src-ids", source, &src, &n_src))) return status;
  if (!(ids = (int32_t *)malloc(sizeof *ids))) {
    free(src);
    return fprintf(stderr, "%s: error: out of memory\n", prog), 1;
  }
  ids[0] = (int32_t)sos;
  n_ids = 1;
#else
  if (source || sos >= 0)
    return gen_usage("--src-ids and --sos are for transformer models; a gpt2 model takes --prompt-ids%s", "");
  if (!prompt) return gen_usage("--prompt-ids is missing%s", "");
  if ((status = gen_ids("--prompt-ids", prompt, &ids, &n_ids))) return status;
#endif
  if (NAME_generator_create(weights, &g, err, sizeof err)) {
    fprintf(stderr, "%s\n", err);
    free(ids);
    free(src);
    return 1;
  }
  memset(&p, 0, sizeof p);
  p.max_new = (int32_t)max_new;
  p.eos = (int32_t)eos;
  p.sample = sample;
  p.temperature = temperature;
  p.top_k = (int32_t)top_k;
  p.top_p = top_p;
  p.repetition_penalty = penalty;
  p.seed = (uint64_t)seed;
  if (NAME_generate(g, src, n_src, ids, n_ids, &p, gen_emit, &count, &stats,
                    err, sizeof err)) {
    if (count) printf("\n");
    fprintf(stderr, "%s\n", err);
    status = 1;
  } else {
    if (count) printf("\n");
    if (stats.hit_max_len)
      fprintf(stderr, "%s: note: generate: stopped at the cache's %lld "
                      "positions (loom build --max-len)\n",
              prog, (long long)gen_max_len);
    if (timings) {
      fprintf(stderr,
              "prefill_ms=%.3f\ndecode_ms_per_token=%.3f\ntokens_per_s=%.2f\n"
              "kv_cache_bytes=%lld\nnew_tokens=%lld\n",
              stats.prefill_ms, stats.decode_ms_median,
              stats.decode_ms_median > 0 ? 1e3 / stats.decode_ms_median : 0.0,
              (long long)stats.kv_cache_bytes, (long long)stats.n_new);
#if GEN_ENCODER
      fprintf(stderr, "encode_ms=%.3f\n", stats.encode_ms);
#endif
    }
  }
  if (fflush(stdout)) status = 1;
  NAME_generator_free(g);
  free(ids);
  free(src);
  return status;
}
