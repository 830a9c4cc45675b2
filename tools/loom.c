/* loom.c — the command-line interface: a thin layer over libloom.
 *
 *   loom run MODEL.yaml [--weights FILE] [--backend ref]
 *            [--input NAME=FILE.npy|NAME=1,2,3]... [--out-dir DIR]
 *   loom dump MODEL.yaml [--weights FILE] [-o FILE]
 *
 * Exit status: 0 success, 1 a bad model, weights or data file (or a failed
 * run), 2 bad command-line usage.  Errors go to stderr, one line each:
 * located ones as FILE:LINE:COL: error: ..., the CLI's own as
 * "loom: error: ...".  Output files are written under temporary names and
 * renamed once every output is complete, so a failure leaves none behind.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "frontend/frontend.h"
#include "loom.h"
#include "runtime/npy.h"

enum { EXIT_MODEL = 1, EXIT_USAGE = 2 };

__attribute__((format(printf, 2, 3))) static int die(int status,
                                                      const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("loom: error: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return status;
}

static int usage_error(const char *cmd, const char *msg) {
  fprintf(stderr, "loom: error: %s\n", msg);
  fprintf(stderr, "Try 'loom %s--help'.\n", cmd ? cmd : "");
  return EXIT_USAGE;
}

/* getopt_long returned ':' (missing value) or '?' (unknown option). */
static int bad_option(const char *cmd, int c, const char *arg) {
  char msg[512], again[64];
  snprintf(msg, sizeof msg, "%s: %s '%s'", cmd,
           c == ':' ? "missing value for option" : "unknown option", arg);
  snprintf(again, sizeof again, "%s ", cmd);
  return usage_error(again, msg);
}

/* ---- help texts ---------------------------------------------------------- */

static const char main_help[] =
    "usage: loom COMMAND [ARGS...]\n"
    "\n"
    "loom compiles Transformer models described in YAML.\n"
    "\n"
    "commands:\n"
    "  run    run a model on inputs, write its outputs as .npy files\n"
    "  dump   print the Graph IR the frontend builds from a model\n"
    "\n"
    "options:\n"
    "  -h, --help     show this help (loom COMMAND --help for a command's)\n"
    "  --version      print loom's version\n"
    "\n"
    "Exit status: 0 on success, 1 for a bad model, weights or data file,\n"
    "2 for bad command-line usage.\n";

static const char run_help[] =
    "usage: loom run MODEL.yaml [options]\n"
    "\n"
    "Runs MODEL.yaml and writes each output to DIR/NAME.npy (float32).\n"
    "\n"
    "options:\n"
    "  --input NAME=FILE.npy  an input from a .npy file (little-endian, C\n"
    "                         order, float32/float64/int32/int64, converted\n"
    "                         to the input's dtype; extra leading dimensions\n"
    "                         of size 1 are dropped)\n"
    "  --input NAME=1,2,3     an input given inline as integers (rank 1)\n"
    "  --out-dir DIR          where outputs go (default: .; created if absent)\n"
    "  --weights FILE         a safetensors file replacing the model's\n"
    "                         'weights:'\n"
    "  --backend ref          the reference interpreter (the only backend\n"
    "                         so far)\n"
    "  --print                also print each output's first values and\n"
    "                         range, and the run time\n"
    "  -h, --help             show this help\n";

static const char dump_help[] =
    "usage: loom dump MODEL.yaml [options]\n"
    "\n"
    "Prints the Graph IR text of MODEL.yaml as the frontend built it.\n"
    "\n"
    "options:\n"
    "  -o FILE    write to FILE instead of standard output\n"
    "  -h, --help show this help\n";

/* ---- files --------------------------------------------------------------- */

static int mkdir_p(const char *dir) {
  char path[PATH_MAX];
  if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path) {
    errno = ENAMETOOLONG;
    return -1;
  }
  for (char *p = path + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(path, 0777) && errno != EEXIST) return -1;
    *p = '/';
  }
  if (mkdir(path, 0777) && errno != EEXIST) return -1;
  struct stat st;
  if (stat(path, &st) || !S_ISDIR(st.st_mode)) {
    errno = ENOTDIR;
    return -1;
  }
  return 0;
}

/* ---- inputs -------------------------------------------------------------- */

/* -?[0-9]+(,-?[0-9]+)* */
static int is_inline_ints(const char *s) {
  for (;;) {
    if (*s == '-') s++;
    if (*s < '0' || *s > '9') return 0;
    while (*s >= '0' && *s <= '9') s++;
    if (!*s) return 1;
    if (*s++ != ',') return 0;
  }
}

typedef struct {
  char *name;
  loom_tensor t;
} Input;

static int parse_inline(const char *name, const char *s, loom_dtype want,
                        Input *in) {
  int n = 1;
  for (const char *p = s; *p; p++) n += *p == ',';
  void *data = malloc((size_t)n * 4);
  if (!data) return die(EXIT_MODEL, "out of memory");
  const char *p = s;
  for (int i = 0; i < n; i++) {
    char *end;
    errno = 0;
    long long v = strtoll(p, &end, 10);
    if (errno || v < INT32_MIN || v > INT32_MAX) {
      free(data);
      return die(EXIT_USAGE, "--input %s: value %.*s is out of range for "
                             "int32", name, (int)(end - p), p);
    }
    if (want == LOOM_I32)
      ((int32_t *)data)[i] = (int32_t)v;
    else
      ((float *)data)[i] = (float)v;
    p = end + 1;
  }
  in->t = (loom_tensor){in->name, want, 1, {n}, data};
  return 0;
}

static int load_npy(const char *name, const char *path,
                    const loom_info *info, Input *in) {
  RtNpy a;
  char err[1024];
  if (rt_npy_read(path, &a, err, sizeof err)) {
    fprintf(stderr, "%s\n", err);
    return EXIT_MODEL;
  }
  /* Drop extra leading dimensions of size 1. */
  int skip = 0;
  while (a.rank - skip > info->rank && a.dims[skip] == 1) skip++;
  if (a.rank - skip != info->rank) {
    int rank = a.rank;
    rt_npy_free(&a);
    return die(EXIT_MODEL, "%s: input '%s' needs rank %d, the file has "
                           "rank %d", path, name, info->rank, rank);
  }
  size_t n = a.count;
  void *data = malloc(n ? n * 4 : 4);
  if (!data) {
    rt_npy_free(&a);
    return die(EXIT_MODEL, "out of memory");
  }
  for (size_t i = 0; i < n; i++) {
    double v;
    switch (a.type) {
    case RT_NPY_F32: v = ((const float *)a.data)[i]; break;
    case RT_NPY_F64: v = ((const double *)a.data)[i]; break;
    case RT_NPY_I32: v = ((const int32_t *)a.data)[i]; break;
    default: v = (double)((const int64_t *)a.data)[i]; break;
    }
    if (info->dtype == LOOM_F32) {
      ((float *)data)[i] = (float)v;
    } else {
      if (v != floor(v) || v < INT32_MIN || v > INT32_MAX) {
        free(data);
        rt_npy_free(&a);
        return die(EXIT_MODEL, "%s: input '%s' is i32, but element %zu "
                               "(%g) is not an int32 integer",
                   path, name, i, v);
      }
      ((int32_t *)data)[i] = (int32_t)v;
    }
  }
  in->t = (loom_tensor){in->name, info->dtype, info->rank, {0}, data};
  for (int i = 0; i < info->rank; i++) in->t.dims[i] = a.dims[skip + i];
  rt_npy_free(&a);
  return 0;
}

/* ---- run ----------------------------------------------------------------- */

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* --print: the first values of each row-major output and its range. */
static void print_summary(const loom_tensor *t) {
  size_t n = loom_tensor_bytes(t) / 4;
  double lo = INFINITY, hi = -INFINITY, sum = 0;
  for (size_t i = 0; i < n; i++) {
    double v = t->dtype == LOOM_I32 ? ((const int32_t *)t->data)[i]
                                    : ((const float *)t->data)[i];
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
    sum += v;
  }
  printf("  first:");
  for (size_t i = 0; i < n && i < 8; i++)
    printf(" %.6g", t->dtype == LOOM_I32 ? (double)((const int32_t *)t->data)[i]
                                         : (double)((const float *)t->data)[i]);
  printf("%s\n  min %.6g  max %.6g  mean %.6g\n", n > 8 ? " ..." : "", lo, hi,
         n ? sum / (double)n : 0.0);
}

static int cmd_run(int argc, char **argv) {
  static const struct option opts[] = {
      {"input", required_argument, 0, 'i'},
      {"out-dir", required_argument, 0, 'O'},
      {"weights", required_argument, 0, 'w'},
      {"backend", required_argument, 0, 'b'},
      {"print", no_argument, 0, 'p'},
      {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0}};
  const char *out_dir = ".", *weights = NULL, *backend = "ref";
  char **specs = calloc((size_t)argc, sizeof *specs);
  int nspecs = 0, c, status = 0, print = 0;
  if (!specs) return die(EXIT_MODEL, "out of memory");
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
    switch (c) {
    case 'i': specs[nspecs++] = optarg; break;
    case 'O': out_dir = optarg; break;
    case 'w': weights = optarg; break;
    case 'b': backend = optarg; break;
    case 'p': print = 1; break;
    case 'h': fputs(run_help, stdout); free(specs); return 0;
    default:
      free(specs);
      return bad_option("run", c, argv[optind - 1]);
    }
  }
  if (optind != argc - 1) {
    free(specs);
    return usage_error("run ", optind >= argc ? "run: no model file given"
                                              : "run: give exactly one model file");
  }
  if (strcmp(backend, "ref") != 0) {
    free(specs);
    char msg[256];
    snprintf(msg, sizeof msg, "run: unknown backend '%s' (available: ref)",
             backend);
    return usage_error("run ", msg);
  }
  const char *model_path = argv[optind];

  loom_model *m = NULL;
  char err[8192];
  loom_options lo = {.weights = weights, .backend = backend};
  Input *inputs = calloc((size_t)(nspecs ? nspecs : 1), sizeof *inputs);
  loom_tensor *in_t = calloc((size_t)(nspecs ? nspecs : 1), sizeof *in_t);
  loom_tensor *out_t = NULL;
  char **tmp_paths = NULL, **final_paths = NULL;
  int n_out = 0, n_in = 0;
  if (!inputs || !in_t) {
    status = die(EXIT_MODEL, "out of memory");
    goto done;
  }
  /* Usage first: every --input must look like NAME=VALUE. */
  for (int i = 0; i < nspecs; i++) {
    char *eq = strchr(specs[i], '=');
    if (!eq || eq == specs[i] || !eq[1]) {
      char msg[512];
      snprintf(msg, sizeof msg, "run: --input '%s' is not NAME=FILE.npy or "
                                "NAME=1,2,3", specs[i]);
      status = usage_error("run ", msg);
      goto done;
    }
  }
  if (loom_load(model_path, &lo, &m, err, sizeof err)) {
    fprintf(stderr, "%s\n", err);
    status = EXIT_MODEL;
    goto done;
  }
  for (int i = 0; i < nspecs; i++) {
    char *eq = strchr(specs[i], '=');
    inputs[i].name = strndup(specs[i], (size_t)(eq - specs[i]));
    const char *value = eq + 1;
    loom_info info;
    int k = 0, n = loom_num_inputs(m);
    while (k < n && (loom_input_info(m, k, &info),
                     strcmp(info.name, inputs[i].name) != 0))
      k++;
    if (k == n) {
      char msg[1024];
      size_t len = (size_t)snprintf(msg, sizeof msg,
                                    "run: '%s' is not an input of the model "
                                    "(inputs:", inputs[i].name);
      for (int j = 0; j < n && len < sizeof msg; j++) {
        loom_input_info(m, j, &info);
        len += (size_t)snprintf(msg + len, sizeof msg - len, " %s", info.name);
      }
      if (len < sizeof msg) snprintf(msg + len, sizeof msg - len, ")");
      status = usage_error("run ", msg);
      n_in = i + 1;
      goto done;
    }
    n_in = i + 1;
    status = is_inline_ints(value)
                 ? parse_inline(inputs[i].name, value, info.dtype, &inputs[i])
                 : load_npy(inputs[i].name, value, &info, &inputs[i]);
    if (status) goto done;
    in_t[i] = inputs[i].t;
  }

  n_out = loom_num_outputs(m);
  out_t = calloc((size_t)n_out, sizeof *out_t);
  tmp_paths = calloc((size_t)n_out, sizeof *tmp_paths);
  final_paths = calloc((size_t)n_out, sizeof *final_paths);
  if (!out_t || !tmp_paths || !final_paths) {
    status = die(EXIT_MODEL, "out of memory");
    goto done;
  }
  if (loom_output_shapes(m, in_t, nspecs, out_t, n_out, err, sizeof err)) {
    fprintf(stderr, "%s\n", err);
    status = EXIT_MODEL;
    goto done;
  }
  for (int i = 0; i < n_out; i++) {
    out_t[i].data = malloc(loom_tensor_bytes(&out_t[i]));
    if (!out_t[i].data) {
      status = die(EXIT_MODEL, "out of memory for output '%s'", out_t[i].name);
      goto done;
    }
  }
  double t0 = now_ms();
  if (loom_run(m, in_t, nspecs, out_t, n_out, err, sizeof err)) {
    fprintf(stderr, "%s\n", err);
    status = EXIT_MODEL;
    goto done;
  }
  double run_ms = now_ms() - t0;
  if (mkdir_p(out_dir)) {
    status = die(EXIT_MODEL, "cannot create output directory '%s': %s",
                 out_dir, strerror(errno));
    goto done;
  }
  /* Write every output under a temporary name, then rename them all. */
  for (int i = 0; i < n_out; i++) {
    size_t len = strlen(out_dir) + strlen(out_t[i].name) + 32;
    final_paths[i] = malloc(len);
    tmp_paths[i] = malloc(len);
    snprintf(final_paths[i], len, "%s/%s.npy", out_dir, out_t[i].name);
    snprintf(tmp_paths[i], len, "%s/.%s.npy.%ld.tmp", out_dir, out_t[i].name,
             (long)getpid());
    if (rt_npy_write(tmp_paths[i],
                     out_t[i].dtype == LOOM_I32 ? RT_NPY_I32 : RT_NPY_F32,
                     out_t[i].data, out_t[i].rank, out_t[i].dims, err,
                     sizeof err)) {
      fprintf(stderr, "%s\n", err);
      status = EXIT_MODEL;
      goto done;
    }
  }
  for (int i = 0; i < n_out; i++) {
    if (rename(tmp_paths[i], final_paths[i])) {
      status = die(EXIT_MODEL, "cannot write '%s': %s", final_paths[i],
                   strerror(errno));
      goto done;
    }
    free(tmp_paths[i]);
    tmp_paths[i] = NULL;
    char dims[256] = "";
    size_t len = 0;
    for (int k = 0; k < out_t[i].rank && len < sizeof dims; k++)
      len += (size_t)snprintf(dims + len, sizeof dims - len, "%s%lld",
                              k ? ", " : "", (long long)out_t[i].dims[k]);
    printf("%s %s[%s] -> %s\n", out_t[i].name,
           out_t[i].dtype == LOOM_I32 ? "i32" : "f32", dims, final_paths[i]);
    if (print) print_summary(&out_t[i]);
  }
  if (print) printf("run: %.1f ms (backend %s)\n", run_ms, backend);

done:
  for (int i = 0; tmp_paths && i < n_out; i++)
    if (tmp_paths[i]) {
      unlink(tmp_paths[i]);
      free(tmp_paths[i]);
    }
  for (int i = 0; final_paths && i < n_out; i++) free(final_paths[i]);
  for (int i = 0; out_t && i < n_out; i++) free(out_t[i].data);
  for (int i = 0; i < n_in; i++) {
    free(inputs[i].name);
    free(inputs[i].t.data);
  }
  free(tmp_paths);
  free(final_paths);
  free(out_t);
  free(in_t);
  free(inputs);
  free(specs);
  loom_free(m);
  return status;
}

/* ---- dump ---------------------------------------------------------------- */

static int cmd_dump(int argc, char **argv) {
  static const struct option opts[] = {{"help", no_argument, 0, 'h'},
                                       {"output", required_argument, 0, 'o'},
                                       {0, 0, 0, 0}};
  const char *out = NULL;
  int c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":ho:", opts, NULL)) != -1) {
    switch (c) {
    case 'h': fputs(dump_help, stdout); return 0;
    case 'o': out = optarg; break;
    default: return bad_option("dump", c, argv[optind - 1]);
    }
  }
  if (optind != argc - 1)
    return usage_error("dump ", optind >= argc ? "dump: no model file given"
                                               : "dump: give exactly one model file");
  Diag d = {0};
  FeOptions fo = {.no_weights = true};
  FeModel *m = fe_load(argv[optind], &fo, &d);
  if (!m) {
    fprintf(stderr, "%s\n", d.msg);
    return EXIT_MODEL;
  }
  char *text = ir_print(m->g);
  fe_model_free(m);
  int status = 0;
  if (!out) {
    fputs(text, stdout);
  } else {
    size_t len = strlen(out) + 32;
    char *tmp = malloc(len);
    snprintf(tmp, len, "%s.%ld.tmp", out, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f || fputs(text, f) < 0 || fclose(f) || rename(tmp, out)) {
      status = die(EXIT_MODEL, "cannot write '%s': %s", out, strerror(errno));
      unlink(tmp);
    }
    free(tmp);
  }
  free(text);
  return status;
}

/* ---- main ---------------------------------------------------------------- */

static const struct {
  const char *name;
  int (*fn)(int, char **);
} commands[] = {
    {"run", cmd_run},
    {"dump", cmd_dump},
};

int main(int argc, char **argv) {
  if (argc < 2) {
    fputs(main_help, stderr);
    return EXIT_USAGE;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
    fputs(main_help, stdout);
    return 0;
  }
  if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
    printf("loom %s\n", loom_version());
    return 0;
  }
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (!strcmp(cmd, commands[i].name)) return commands[i].fn(argc - 1, argv + 1);
  char msg[256];
  snprintf(msg, sizeof msg, "unknown command '%s'", cmd);
  return usage_error(NULL, msg);
}
