/* cli.c — what the commands of the loom CLI share: messages and exit
 * statuses, the one option parser of the commands that compile a model,
 * opening a model, and writing outputs all-or-nothing without replacing
 * an input.
 *
 * The option parser is one getopt_long table: the common options below,
 * then the command's own (CliCommand.extra).  The common ones are handled
 * and checked here, once, so that `--passes=`, an unknown --target or a
 * missing value read the same on every command; the command's own go to
 * its callback.  Checks that need no file come first (usage errors, exit
 * 2), then the files (cli_check_model, exit 1), so a bad command line is
 * reported before a missing model.
 */
#include "tools/cli.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/backend.h"
#include "codegen/cpu.h"
#include "codegen/kpass/tile.h"
#include "frontend/random_weights.h"
#include "ir/strbuf.h"

/* ---- messages ------------------------------------------------------------ */

int cli_die(int status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("loom: error: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return status;
}

int cli_usage(const char *cmd, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "loom: error: %s%s", cmd ? cmd : "", cmd ? ": " : "");
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\nTry 'loom %s%s--help'.\n", cmd ? cmd : "", cmd ? " " : "");
  return EXIT_USAGE;
}

const char *cli_bare(const char *msg) {
  const char *e = strstr(msg, "error: ");
  return e ? e + 7 : msg;
}

int cli_error(int status, const char *msg) {
  if (strncmp(msg, "error: ", 7) == 0)
    fprintf(stderr, "loom: error: %s\n", msg + 7);
  else
    fprintf(stderr, "%s\n", msg);
  return status;
}

int cli_error_in(const char *msg, const char *tmp, const char *dest) {
  StrBuf b = {0};
  size_t n = strlen(tmp);
  for (const char *s = msg, *hit; *s; s = hit + n) {
    if (!n || !(hit = strstr(s, tmp))) {
      sb_puts(&b, s);
      break;
    }
    sb_printf(&b, "%.*s%s", (int)(hit - s), s, dest);
  }
  char *text = sb_take(&b);
  int st = cli_error(EXIT_MODEL, text);
  free(text);
  return st;
}

/* Once standard output failed, say so once. */
static bool stdout_failed;

static int stdout_error(int err) {
  if (stdout_failed) return EXIT_MODEL;
  stdout_failed = true;
  return cli_die(EXIT_MODEL, "cannot write standard output: %s", strerror(err));
}

int cli_stdout(const char *text) {
  errno = 0;
  if (fputs(text, stdout) == EOF || fflush(stdout))
    return stdout_error(errno ? errno : EIO);
  return 0;
}

int cli_flush_stdout(int status) {
  errno = 0;
  if (fflush(stdout) == 0 && !ferror(stdout)) return status;
  int err = stdout_error(errno ? errno : EIO);
  return status ? status : err;
}

int cli_parse_threads(const char *cmd, const char *arg, int *n) {
  char *end;
  errno = 0;
  long v = strtol(arg, &end, 10);
  if (!*arg || *end || errno || v < 1 || v > 1024)
    return cli_usage(cmd, "--threads '%s' is not a thread count (1 to 1024)", arg);
  *n = (int)v;
  return 0;
}

double cli_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---- backends ------------------------------------------------------------ */

#ifdef LOOM_HAVE_LLVM
const char *cli_default_backend(void) { return "jit"; }
#else
const char *cli_default_backend(void) { return "ref"; }
#endif

int cli_check_backend(const char *cmd, const char *backend) {
  if (loom_backend(backend)) return 0;
  if (strcmp(backend, "jit") == 0)
    return cli_usage(cmd, "the jit backend needs LLVM, and this loom was "
                          "built without it (available: %s)",
                     loom_backend_names());
  return cli_usage(cmd, "unknown backend '%s' (available: %s)", backend,
                   loom_backend_names());
}

/* ---- the option parser --------------------------------------------------- */

/* The common options' ids: below 256, clear of ':' and '?'. */
enum { O_HELP = 'h', O_OUTPUT = 'o', O_TARGET = 'T', O_WEIGHTS = 'W',
       O_PASSES = 'P', O_DISABLE = 'D', O_GRAPH = 'G', O_MAX_LEN = 'L',
       O_L1 = '1', O_L2 = '2', O_L3 = '3', O_DTYPE = 'Y', O_MAX_BATCH = 'B' };

static const struct option common[] = {
    {"target", required_argument, 0, O_TARGET},
    {"weights", required_argument, 0, O_WEIGHTS},
    {"passes", required_argument, 0, O_PASSES},
    {"disable", required_argument, 0, O_DISABLE},
    {"graph", required_argument, 0, O_GRAPH},
    {"max-len", required_argument, 0, O_MAX_LEN},
    {"max-batch", required_argument, 0, O_MAX_BATCH},
    {"dtype", required_argument, 0, O_DTYPE},
    {"help", no_argument, 0, O_HELP},
    {"l1", required_argument, 0, O_L1},
    {"l2", required_argument, 0, O_L2},
    {"l3", required_argument, 0, O_L3},
};

/* A cache size: digits with an optional K, M or G (powers of 1024), from
 * 1 KiB to 16 GiB; -1 if it is not one. */
static int64_t parse_size(const char *s) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (end == s || errno || v <= 0 || *s == '-' || *s == '+') return -1;
  int shift = 0;
  if (*end == 'K' || *end == 'k') shift = 10, end++;
  else if (*end == 'M' || *end == 'm') shift = 20, end++;
  else if (*end == 'G' || *end == 'g') shift = 30, end++;
  if (*end == 'B' || *end == 'b') end++;
  if (*end || v > (16LL << 30) >> shift) return -1;
  v <<= shift;
  return v >= 1024 ? v : -1;
}
static const struct option output_opt = {"output", required_argument, 0,
                                         O_OUTPUT};

int cli_parse(const CliCommand *c, int argc, char **argv, void *self,
              CliCompile *cc) {
  *cc = (CliCompile){.cmd = c->name};
  struct option opts[64];
  size_t n = 0;
  for (size_t i = 0; i < sizeof common / sizeof common[0]; i++)
    opts[n++] = common[i];
  if (c->flags & CLI_OUTPUT) opts[n++] = output_opt;
  for (const struct option *o = c->extra; o && o->name; o++) {
    IR_ASSERT(n + 1 < sizeof opts / sizeof opts[0] && o->val >= 256);
    opts[n++] = *o;
  }
  opts[n] = (struct option){0};
  int ch;
  opterr = 0;
  optind = 1;
  while ((ch = getopt_long(argc, argv, c->flags & CLI_OUTPUT ? ":ho:" : ":h",
                           opts, NULL)) != -1) {
    int st = 0;
    switch (ch) {
    case O_HELP:
      cc->help = true;
      /* through cli_stdout: a text longer than stdio's buffer fails
       * inside the write, and only then is errno the reason */
      return c->print_help ? c->print_help() : cli_stdout(c->help);
    case O_OUTPUT: cc->output = optarg; break;
    case O_TARGET: cc->target = optarg; break;
    case O_WEIGHTS: cc->weights = optarg; break;
    case O_PASSES: cc->passes = optarg; break;
    case O_DISABLE: cc->disable = optarg; break;
    case O_GRAPH: {
      int gk = fe_graph_lookup(optarg);
      if (gk < 0)
        return cli_usage(c->name, "unknown graph '%s' (forward, prefill, "
                                  "decode, encode)", optarg);
      cc->graph = gk;
      break;
    }
    case O_MAX_LEN: {
      char *end;
      errno = 0;
      long long v = strtoll(optarg, &end, 10);
      if (errno || *end || end == optarg || v < 1 || v > (1 << 20))
        return cli_usage(c->name, "--max-len takes a positive count, got '%s'",
                         optarg);
      cc->max_len = v;
      break;
    }
    case O_MAX_BATCH: {
      char *end;
      errno = 0;
      long long v = strtoll(optarg, &end, 10);
      if (errno || *end || end == optarg || v < 1 || v > (1 << 16))
        return cli_usage(c->name, "--max-batch takes a count in 1..65536, "
                                  "got '%s'", optarg);
      cc->max_batch = v;
      break;
    }
    case O_L1:
    case O_L2:
    case O_L3: {
      int64_t v = parse_size(optarg);
      if (v < 0)
        return cli_usage(c->name, "--l%c '%s' is not a cache size (like 48K, "
                                  "2M or 32768, at least 1K)",
                         ch, optarg);
      *(ch == O_L1 ? &cc->l1 : ch == O_L2 ? &cc->l2 : &cc->l3) = v;
      break;
    }
    case O_DTYPE: cc->dtype = optarg; break;
    case ':':
      return cli_usage(c->name, "missing value for option '%s'",
                       argv[optind - 1]);
    case '?':
      return cli_usage(c->name, "unknown option '%s'", argv[optind - 1]);
    default: st = c->option(self, ch, optarg); break;
    }
    if (st) return st;
  }
  if (optind < argc - 1) return cli_usage(c->name, "give exactly one model file");
  if (optind == argc && !(c->flags & CLI_MODEL_OPTIONAL))
    return cli_usage(c->name, "no model file given");
  cc->model = optind < argc ? argv[optind] : NULL;
  if ((c->flags & CLI_NEED_OUTPUT) && !cc->output)
    return cli_usage(c->name, "give %s", c->need_output);
  Target t;
  if (cc->target && cg_target(cc->target, &t))
    return cli_usage(c->name, "unknown target '%s' (available: %s)",
                     cc->target, cg_target_names);
  if (cc->dtype && strcmp(cc->dtype, "f32") && strcmp(cc->dtype, "bf16"))
    return cli_usage(c->name, "unknown dtype '%s' (f32, bf16)", cc->dtype);
  if (cc->passes && !*cc->passes)
    return cli_usage(c->name, "--passes needs a list of passes, or 'none'");
  Diag d = {0};
  if (pass_check_list(cc->passes, &d) || pass_check_list(cc->disable, &d))
    return cli_usage(c->name, "%s", cli_bare(d.msg));
  return 0;
}

/* ---- inputs and outputs -------------------------------------------------- */

void cli_add_input(CliCompile *cc, const char *path) {
  struct stat st;
  if (!path || stat(path, &st) != 0) return;
  if (cc->n_inputs == (int)(sizeof cc->inputs / sizeof cc->inputs[0])) return;
  cc->inputs[cc->n_inputs].path = path;
  cc->inputs[cc->n_inputs].dev = st.st_dev;
  cc->inputs[cc->n_inputs].ino = st.st_ino;
  cc->n_inputs++;
}

int cli_check_model(CliCompile *cc) {
  if (!cc->model) return 0;
  struct stat st;
  if (stat(cc->model, &st) == 0 && S_ISDIR(st.st_mode)) {
    /* a Hugging Face model directory (frontend/hf_config.c reads it) */
    cli_add_input(cc, cc->model);
    cli_add_input(cc, cc->weights);
    return 0;
  }
  FILE *f = fopen(cc->model, "rb");
  int err = !f ? errno : fstat(fileno(f), &st) ? errno : 0;
  if (f) fclose(f);
  if (err) {
    fprintf(stderr, "%s: error: cannot open: %s\n", cc->model, strerror(err));
    return EXIT_MODEL;
  }
  cli_add_input(cc, cc->model);
  cli_add_input(cc, cc->weights);
  return 0;
}

int cli_check_output(const CliCompile *cc, const char *path) {
  struct stat st;
  if (stat(path, &st) != 0) return 0;
  for (int i = 0; i < cc->n_inputs; i++)
    if (cc->inputs[i].dev == st.st_dev && cc->inputs[i].ino == st.st_ino)
      return cli_usage(cc->cmd, "the output '%s' is the input '%s'; "
                                "refusing to overwrite it",
                       path, cc->inputs[i].path);
  return 0;
}

const char *const cli_emit_c_files[] = {"@.c",   "@.h",   "@.weights", "main.c",
                                        "npy.c", "npy.h", "Makefile",  NULL};
const char *const cli_emit_obj_files[] = {"@.o", "@.h", "@.weights", "loom_obj.c",
                                          NULL};

int cli_check_emitted(const CliCompile *cc, const char *name, const char *dir,
                      const char *const *files) {
  /* the fixed files' stems (main and npy cg_c_name renames already) and
   * the emitted Makefile's targets */
  static const char *const taken[] = {"Makefile", "loom_obj", "all", "lib",
                                      "clean"};
  for (size_t i = 0; i < sizeof taken / sizeof taken[0]; i++)
    if (strcmp(name, taken[i]) == 0)
      return cli_die(EXIT_MODEL, "%s: the model's name '%s' is also a file or "
                                 "make target that loom writes beside the "
                                 "model's files; rename the model",
                     cc->cmd, name);
  for (int i = 0; dir && files[i]; i++) {
    char path[PATH_MAX];
    const char *at = strchr(files[i], '@');
    if (at)
      snprintf(path, sizeof path, "%s/%s%s", dir, name, at + 1);
    else
      snprintf(path, sizeof path, "%s/%s", dir, files[i]);
    int st = cli_check_output(cc, path);
    if (st) return st;
  }
  return 0;
}

int cli_move_files(const char *from_dir, const char *to_dir) {
  DIR *dp = opendir(from_dir);
  if (!dp) return cli_die(EXIT_MODEL, "cannot read '%s': %s", from_dir, strerror(errno));
  struct dirent *e;
  int status = 0;
  while (!status && (e = readdir(dp))) {
    if (e->d_name[0] == '.') continue;
    char from[PATH_MAX + 300], to[PATH_MAX + 300];
    snprintf(from, sizeof from, "%s/%s", from_dir, e->d_name);
    snprintf(to, sizeof to, "%s/%s", to_dir, e->d_name);
    if (rename(from, to))
      status = cli_die(EXIT_MODEL, "cannot write '%s': %s", to, strerror(errno));
  }
  closedir(dp);
  return status;
}

void cli_parent_dir(const char *path, char *buf, size_t cap) {
  snprintf(buf, cap, "%s", path);
  size_t n = strlen(buf);
  while (n > 1 && buf[n - 1] == '/') buf[--n] = 0;
  char *slash = strrchr(buf, '/');
  if (!slash)
    snprintf(buf, cap, ".");
  else if (slash == buf)
    buf[1] = 0;
  else
    *slash = 0;
}

int cli_write_file(const char *path, const char *text) {
  size_t len = strlen(path) + 32;
  char *tmp = malloc(len);
  if (!tmp) return cli_die(EXIT_MODEL, "out of memory");
  snprintf(tmp, len, "%s.%ld.tmp", path, (long)getpid());
  FILE *f = fopen(tmp, "wb");
  int status = 0;
  errno = 0;
  bool ok = f && fputs(text, f) != EOF && fflush(f) == 0;
  int err = errno;
  if (f && fclose(f) && ok) ok = false, err = errno;
  if (ok && rename(tmp, path)) ok = false, err = errno;
  if (!ok) {
    unlink(tmp);
    status = cli_die(EXIT_MODEL, "cannot write '%s': %s", path,
                     strerror(err ? err : EIO));
  }
  free(tmp);
  return status;
}

int cli_write_output(const char *path, const char *text) {
  return path ? cli_write_file(path, text) : cli_stdout(text);
}

/* ---- compiling ----------------------------------------------------------- */

int cli_program(const CliCompile *cc, FeModel **fe, Program **p) {
  Diag d = {0};
  Target t;
  *p = NULL;
  PrepareOptions po = {cc->target, cc->weights, cc->passes, cc->disable, NULL,
                       cc->graph, cc->max_len, cc->l1, cc->l2, cc->l3,
                       cc->dtype, NULL, cc->max_batch};
  int st = api_prepare(cc->model, &po, &t, fe, &d);
  if (st == LOOM_ERR_USAGE) return cli_usage(cc->cmd, "%s", cli_bare(d.msg));
  if (st == 0 && !(*p = cg_program((*fe)->g, &t, &d))) {
    fe_model_free(*fe);
    *fe = NULL;
    st = EXIT_MODEL;
  }
  return st ? cli_error(EXIT_MODEL, d.msg) : 0;
}

void cli_pass_ctx(const CliCompile *cc, Target *t, PassCtx *ctx) {
  IR_ASSERT(cg_target(cc->target, t) == 0); /* cli_parse checked it */
  if (cc->l1 || cc->l2 || cc->l3) cg_tile_set_caches(t, cc->l1, cc->l2, cc->l3);
  *ctx = (PassCtx){.target = t,
                   .dtype = cc->dtype && strcmp(cc->dtype, "bf16") == 0 ? DT_BF16
                                                                      : DT_F32};
}

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* The whole file, NUL-terminated (malloc'd), or NULL with errno set. */
static char *read_text(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t len = 0, cap = 1 << 16;
  char *s = malloc(cap);
  while (s) {
    size_t got = fread(s + len, 1, cap - len - 1, f);
    len += got;
    if (len + 1 < cap) break;
    char *t = realloc(s, cap *= 2);
    if (!t) free(s);
    s = t;
  }
  int err = ferror(f) ? EIO : 0;
  fclose(f);
  if (!s || err) {
    free(s);
    errno = err ? err : ENOMEM;
    return NULL;
  }
  s[len] = 0;
  return s;
}

/* Weights and consts of a parsed graph get deterministic random data:
 * uniform in ±1/sqrt(rows) for matrices (the frontend's scale), ±0.1 else;
 * i32 data is zeros. */
static void fill_random(Graph *g, uint64_t seed) {
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    const Node *n = &g->nodes[i];
    if (n->op != OP_WEIGHT && n->op != OP_CONST) continue;
    Value *v = &g->values[n->out[0]];
    if (v->data) continue;
    const char *layout = n->op == OP_CONST ? ir_get_str(g, n, "layout")
                                           : "row_major";
    int64_t bytes = ir_const_bytes(g, v, layout);
    void *data = ir_alloc(g->arena, bytes > 0 ? (size_t)bytes : 1);
    if (v->dtype == DT_F32) {
      const Shape *s = &v->shape;
      float scale = s->rank >= 2 ? 1.0f / sqrtf((float)s->d[s->rank - 2].c)
                                 : 0.1f;
      char name[32];
      if (!v->name) snprintf(name, sizeof name, "%%%u", n->out[0]);
      fe_random_fill(data, bytes / 4, v->name ? v->name : name, seed, scale);
    }
    v->data = data;
  }
}

int cli_load_graph(const CliCompile *cc, uint64_t seed, ToolModel *tm) {
  *tm = (ToolModel){0};
  Diag d = {0};
  char sidecar[4096];
  fe_ir_data_path(cc->model, sidecar, sizeof sidecar);
  if (ends_with(cc->model, ".ir") && access(sidecar, F_OK) != 0) {
    /* IR text without data (pass tests): random values stand in */
    char *text = read_text(cc->model);
    if (!text) {
      fprintf(stderr, "%s: error: cannot read: %s\n", cc->model,
              strerror(errno));
      return EXIT_MODEL;
    }
    tm->g = ir_parse(text, cc->model, &d);
    free(text);
    if (!tm->g) return cli_error(EXIT_MODEL, d.msg);
    if (ir_verify(tm->g, &d)) {
      cli_free_graph(tm);
      return cli_error(EXIT_MODEL, d.msg);
    }
    fill_random(tm->g, seed);
    return 0;
  }
  FeOptions fo = {.weights = cc->weights, .graph = cc->graph,
                  .max_len = cc->max_len, .max_batch = cc->max_batch};
  tm->m = fe_load(cc->model, &fo, &d);
  if (!tm->m) return cli_error(EXIT_MODEL, d.msg);
  tm->g = tm->m->g;
  return 0;
}

void cli_free_graph(ToolModel *tm) {
  if (tm->m)
    fe_model_free(tm->m);
  else
    ir_graph_free(tm->g);
  *tm = (ToolModel){0};
}
