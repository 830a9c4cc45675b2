/* sa_main.c — the command line of a model loom emitted as C: `loom run`'s
 * arguments, with the model built in.
 *
 *   NAME [--input NAME=FILE.npy | --input NAME=1,2,3]... [--out-dir DIR]
 *        [--weights FILE] [--print]
 *   NAME --prompt-ids IDS | --src-ids IDS ... (a model that generates:
 *        NAME_gen.c, runtime/standalone/sa_gen.c, takes over)
 *
 * This is a template: codegen/c/c_emit.c writes it as main.c with `NAME_`
 * replaced by the model's C name.  The weights come from --weights, else
 * from the executable itself when it was built with
 * -DLOOM_EMBEDDED_WEIGHTS (`loom build --embed-weights` appends them to
 * it), else from BIN.weights beside the executable BIN.
 *
 * Exit status: 0 success; 1 a bad weights or data file, or a failed run;
 * 2 bad usage.  Each output is written to DIR/NAME.npy under a temporary
 * name first and renamed when all are complete: a failure leaves none.
 */
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__unix__) || defined(__APPLE__)
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#define HAVE_POSIX 1
#endif

#include "NAME.h"
#include "npy.h"

enum { EXIT_MODEL = 1, EXIT_USAGE = 2 };

static const char *prog = "model";

static int usage(const char *msg, const char *arg) {
  fprintf(stderr, "%s: error: %s%s%s%s\n", prog, msg, arg ? " '" : "",
          arg ? arg : "", arg ? "'" : "");
  fprintf(stderr, "Try '%s --help'.\n", prog);
  return EXIT_USAGE;
}

static void help(void) {
  int i, k;
  NAME_info info;
  printf("usage: %s [--input NAME=FILE.npy | --input NAME=1,2,3]... "
         "[--out-dir DIR]\n"
         "          [--weights FILE] [--print]\n\n"
         "Runs the model '%s' (compiled by loom) and writes each output to\n"
         "DIR/NAME.npy (float32).\n\n"
         "options:\n"
         "  --input NAME=FILE.npy  an input from a .npy file (float32/float64/\n"
         "                         int32/int64, converted to the input's "
         "dtype)\n"
         "  --input NAME=1,2,3     an input given inline as integers (rank 1)\n"
         "  --out-dir DIR          where outputs go (default: .; created if "
         "absent)\n"
         "  --weights FILE         the weights file (default: the executable's "
         "own\n"
         "                         embedded weights, or BIN.weights beside it)\n"
         "  --print                also print each output's first values and "
         "range,\n"
         "                         and the run time\n"
         "  -h, --help             show this help\n\ninputs:\n",
         prog, NAME_name());
  for (k = 0; k < 2; k++) {
    int n = k ? NAME_num_outputs() : NAME_num_inputs();
    if (k) printf("outputs:\n");
    for (i = 0; i < n; i++) {
      int d;
      if (k)
        NAME_output_info(i, &info);
      else
        NAME_input_info(i, &info);
      printf("  %s %s[", info.name, info.dtype == NAME_I32 ? "i32" : "f32");
      for (d = 0; d < info.rank; d++) {
        if (info.dim_names[d])
          printf("%s%s<=%lld", d ? ", " : "", info.dim_names[d],
                 (long long)info.dims[d]);
        else
          printf("%s%lld", d ? ", " : "", (long long)info.dims[d]);
      }
      printf("]\n");
    }
  }
#ifdef NAME_HAS_GENERATE
  NAME_generate_help(prog);
#endif
}

/* ---- files ---------------------------------------------------------------- */

static int make_dirs(const char *dir) {
#if defined(HAVE_POSIX)
  char path[4096];
  char *p;
  struct stat st;
  if (strlen(dir) >= sizeof path) {
    errno = ENAMETOOLONG;
    return -1;
  }
  strcpy(path, dir);
  for (p = path + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(path, 0777) != 0 && errno != EEXIST) return -1;
    *p = '/';
  }
  if (mkdir(path, 0777) != 0 && errno != EEXIST) return -1;
  if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
    errno = ENOTDIR;
    return -1;
  }
#else
  (void)dir;
#endif
  return 0;
}

/* The path of this executable (malloc'd). */
static char *self_path(const char *argv0) {
#if defined(__linux__)
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n > 0) {
    char *s = (char *)malloc((size_t)n + 1);
    if (s) {
      memcpy(s, buf, (size_t)n);
      s[n] = 0;
    }
    return s;
  }
#endif
  {
    char *s = (char *)malloc(strlen(argv0) + 1);
    if (s) strcpy(s, argv0);
    return s;
  }
}

/* The weights without --weights: the executable itself when it carries
 * them, else BIN.weights beside it; NULL (after a message) when out of
 * memory.  *self and *wpath are the caller's to free. */
static const char *default_weights(int argc, char **argv, char **self,
                                   char **wpath) {
  *self = self_path(argc > 0 ? argv[0] : "model");
  if (!*self) return fprintf(stderr, "%s: error: out of memory\n", prog), NULL;
#if defined(LOOM_EMBEDDED_WEIGHTS)
  (void)wpath;
  return *self;
#else
  *wpath = (char *)malloc(strlen(*self) + 9);
  if (!*wpath) return fprintf(stderr, "%s: error: out of memory\n", prog), NULL;
  sprintf(*wpath, "%s.weights", *self);
  return *wpath;
#endif
}

/* ---- inputs --------------------------------------------------------------- */

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

static int parse_inline(const char *name, const char *s, const NAME_info *info,
                        NAME_tensor *t) {
  int n = 1, i;
  const char *p;
  void *data;
  for (p = s; *p; p++) n += *p == ',';
  data = malloc((size_t)n * 4);
  if (!data) return fprintf(stderr, "%s: error: out of memory\n", prog), EXIT_MODEL;
  p = s;
  for (i = 0; i < n; i++) {
    char *end;
    long long v;
    errno = 0;
    v = strtoll(p, &end, 10);
    if (errno || v < INT32_MIN || v > INT32_MAX) {
      free(data);
      fprintf(stderr, "%s: error: --input %s: value %.*s is out of range for "
                      "int32\n", prog, name, (int)(end - p), p);
      return EXIT_USAGE;
    }
    if (info->dtype == NAME_I32)
      ((int32_t *)data)[i] = (int32_t)v;
    else
      ((float *)data)[i] = (float)v;
    p = end + 1;
  }
  t->rank = 1;
  t->dims[0] = n;
  t->data = data;
  return 0;
}

static int load_npy(const char *name, const char *path, const NAME_info *info,
                    NAME_tensor *t) {
  RtNpy a;
  char err[1024];
  int skip = 0, i;
  size_t k;
  void *data;
  if (rt_npy_read(path, &a, err, sizeof err)) {
    fprintf(stderr, "%s\n", err);
    return EXIT_MODEL;
  }
  while (a.rank - skip > info->rank && a.dims[skip] == 1) skip++;
  if (a.rank - skip != info->rank) {
    fprintf(stderr, "%s: error: input '%s' needs rank %d, the file has rank %d\n",
            path, name, info->rank, a.rank);
    rt_npy_free(&a);
    return EXIT_MODEL;
  }
  data = malloc(a.count ? a.count * 4 : 4);
  if (!data) {
    rt_npy_free(&a);
    return fprintf(stderr, "%s: error: out of memory\n", prog), EXIT_MODEL;
  }
  for (k = 0; k < a.count; k++) {
    double v;
    switch (a.type) {
    case RT_NPY_F32: v = ((const float *)a.data)[k]; break;
    case RT_NPY_F64: v = ((const double *)a.data)[k]; break;
    case RT_NPY_I32: v = ((const int32_t *)a.data)[k]; break;
    default: v = (double)((const int64_t *)a.data)[k]; break;
    }
    if (info->dtype == NAME_F32) {
      ((float *)data)[k] = (float)v;
    } else {
      if (v != floor(v) || v < INT32_MIN || v > INT32_MAX) {
        fprintf(stderr, "%s: error: input '%s' is i32, but element %lu (%g) "
                        "is not an int32 integer\n",
                path, name, (unsigned long)k, v);
        free(data);
        rt_npy_free(&a);
        return EXIT_MODEL;
      }
      ((int32_t *)data)[k] = (int32_t)v;
    }
  }
  t->rank = info->rank;
  for (i = 0; i < info->rank; i++) t->dims[i] = a.dims[skip + i];
  t->data = data;
  rt_npy_free(&a);
  return 0;
}

/* ---- main ----------------------------------------------------------------- */

static double now_ms(void) {
#if defined(HAVE_POSIX) && defined(CLOCK_MONOTONIC)
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
#else
  return (double)clock() * 1e3 / CLOCKS_PER_SEC;
#endif
}

static void print_summary(const NAME_tensor *t) {
  size_t n = NAME_tensor_bytes(t) / 4, i;
  double lo = INFINITY, hi = -INFINITY, sum = 0;
  for (i = 0; i < n; i++) {
    double v = t->dtype == NAME_I32 ? ((const int32_t *)t->data)[i]
                                    : ((const float *)t->data)[i];
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
    sum += v;
  }
  printf("  first:");
  for (i = 0; i < n && i < 8; i++)
    printf(" %.6g", t->dtype == NAME_I32 ? (double)((const int32_t *)t->data)[i]
                                         : (double)((const float *)t->data)[i]);
  printf("%s\n  min %.6g  max %.6g  mean %.6g\n", n > 8 ? " ..." : "", lo, hi,
         n ? sum / (double)n : 0.0);
}

/* "--opt VALUE" or "--opt=VALUE": the value, advancing *i; NULL if absent. */
static const char *opt_value(int argc, char **argv, int *i, const char *opt,
                             int *matched) {
  size_t len = strlen(opt);
  *matched = 0;
  if (strncmp(argv[*i], opt, len) != 0) return NULL;
  if (argv[*i][len] == '=') {
    *matched = 1;
    return argv[*i] + len + 1;
  }
  if (argv[*i][len] != 0) return NULL;
  *matched = 1;
  if (*i + 1 >= argc) return NULL;
  return argv[++*i];
}

int main(int argc, char **argv) {
  const char *out_dir = ".", *weights = NULL;
  char **specs;
  char *self = NULL, *wpath = NULL, err[4096];
  int nspecs = 0, do_print = 0, i, k, status = 0;
  int n_in = NAME_num_inputs(), n_out = NAME_num_outputs();
  NAME_model *m = NULL;
  NAME_tensor *in = NULL, *out = NULL;
  char **tmp = NULL, **final = NULL;
  double t0, ms;

  if (argc > 0 && argv[0][0]) {
    const char *slash = strrchr(argv[0], '/');
    prog = slash ? slash + 1 : argv[0];
  }
#ifdef NAME_HAS_GENERATE
  /* --prompt-ids / --src-ids: generation (NAME_gen.c) */
  if (NAME_generate_wanted(argc, argv)) {
    const char *w = default_weights(argc, argv, &self, &wpath);
    status = w ? NAME_generate_main(argc, argv, prog, w) : EXIT_MODEL;
    free(self);
    free(wpath);
    return status;
  }
#endif
  specs = (char **)calloc((size_t)argc + 1, sizeof *specs);
  in = (NAME_tensor *)calloc((size_t)argc + 1, sizeof *in);
  out = (NAME_tensor *)calloc((size_t)n_out + 1, sizeof *out);
  tmp = (char **)calloc((size_t)n_out + 1, sizeof *tmp);
  final = (char **)calloc((size_t)n_out + 1, sizeof *final);
  if (!specs || !in || !out || !tmp || !final) {
    fprintf(stderr, "%s: error: out of memory\n", prog);
    return EXIT_MODEL;
  }
  for (i = 1; i < argc; i++) {
    const char *v;
    int matched;
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      help();
      goto done;
    } else if (!strcmp(argv[i], "--print")) {
      do_print = 1;
    } else if ((v = opt_value(argc, argv, &i, "--input", &matched)) || matched) {
      if (!v) {
        status = usage("missing value for option", "--input");
        goto done;
      }
      specs[nspecs++] = (char *)v;
    } else if ((v = opt_value(argc, argv, &i, "--out-dir", &matched)) || matched) {
      if (!v) {
        status = usage("missing value for option", "--out-dir");
        goto done;
      }
      out_dir = v;
    } else if ((v = opt_value(argc, argv, &i, "--weights", &matched)) || matched) {
      if (!v) {
        status = usage("missing value for option", "--weights");
        goto done;
      }
      weights = v;
    } else if (argv[i][0] == '-') {
      status = usage("unknown option", argv[i]);
      goto done;
    } else {
      status = usage("unexpected argument", argv[i]);
      goto done;
    }
  }

  /* Inputs: NAME=VALUE, NAME an input of the model. */
  for (i = 0; i < nspecs; i++) {
    char *eq = strchr(specs[i], '=');
    NAME_info info;
    if (!eq || eq == specs[i] || !eq[1]) {
      status = usage("--input is not NAME=FILE.npy or NAME=1,2,3:", specs[i]);
      goto done;
    }
    *eq = 0;
    for (k = 0; k < n_in; k++) {
      NAME_input_info(k, &info);
      if (!strcmp(info.name, specs[i])) break;
    }
    if (k == n_in) {
      fprintf(stderr, "%s: error: '%s' is not an input of the model (inputs:",
              prog, specs[i]);
      for (k = 0; k < n_in; k++) {
        NAME_input_info(k, &info);
        fprintf(stderr, " %s", info.name);
      }
      fprintf(stderr, ")\n");
      status = EXIT_MODEL; /* as for a missing input, and as loom run says */
      goto done;
    }
    in[i].name = info.name;
    in[i].dtype = info.dtype;
    status = is_inline_ints(eq + 1) ? parse_inline(specs[i], eq + 1, &info, &in[i])
                                    : load_npy(specs[i], eq + 1, &info, &in[i]);
    if (status) goto done;
  }

  /* Weights. */
  if (!weights && !(weights = default_weights(argc, argv, &self, &wpath))) {
    status = EXIT_MODEL;
    goto done;
  }
  if (NAME_create(weights, &m, err, sizeof err)) {
    fprintf(stderr, "%s\n", err);
    status = EXIT_MODEL;
    goto done;
  }

  /* Run. */
  if (NAME_output_shapes(in, nspecs, out, n_out, err, sizeof err)) {
    fprintf(stderr, "%s\n", err);
    status = EXIT_MODEL;
    goto done;
  }
  for (k = 0; k < n_out; k++) {
    out[k].data = malloc(NAME_tensor_bytes(&out[k]) + 4);
    if (!out[k].data) {
      fprintf(stderr, "%s: error: out of memory for output '%s'\n", prog,
              out[k].name);
      status = EXIT_MODEL;
      goto done;
    }
  }
  t0 = now_ms();
  if (NAME_run(m, in, nspecs, out, n_out, err, sizeof err)) {
    fprintf(stderr, "%s\n", err);
    status = EXIT_MODEL;
    goto done;
  }
  ms = now_ms() - t0;

  /* Outputs: all under temporary names, then renamed. */
  if (make_dirs(out_dir)) {
    fprintf(stderr, "%s: error: cannot create output directory '%s': %s\n",
            prog, out_dir, strerror(errno));
    status = EXIT_MODEL;
    goto done;
  }
  for (k = 0; k < n_out; k++) {
    size_t len = strlen(out_dir) + strlen(out[k].name) + 48;
    final[k] = (char *)malloc(len);
    tmp[k] = (char *)malloc(len);
    if (!final[k] || !tmp[k]) {
      fprintf(stderr, "%s: error: out of memory\n", prog);
      status = EXIT_MODEL;
      goto done;
    }
    sprintf(final[k], "%s/%s.npy", out_dir, out[k].name);
#if defined(HAVE_POSIX)
    sprintf(tmp[k], "%s/.%s.npy.%ld.tmp", out_dir, out[k].name, (long)getpid());
#else
    sprintf(tmp[k], "%s/.%s.npy.tmp", out_dir, out[k].name);
#endif
    if (rt_npy_write(tmp[k], out[k].dtype == NAME_I32 ? RT_NPY_I32 : RT_NPY_F32,
                     out[k].data, out[k].rank, out[k].dims, err, sizeof err)) {
      fprintf(stderr, "%s\n", err);
      free(tmp[k]);
      tmp[k] = NULL;
      status = EXIT_MODEL;
      goto done;
    }
  }
  for (k = 0; k < n_out; k++) {
    char dims[256];
    size_t len = 0;
    int d;
    if (rename(tmp[k], final[k]) != 0) {
      fprintf(stderr, "%s: error: cannot write '%s': %s\n", prog, final[k],
              strerror(errno));
      status = EXIT_MODEL;
      goto done;
    }
    free(tmp[k]);
    tmp[k] = NULL;
    dims[0] = 0;
    for (d = 0; d < out[k].rank && len < sizeof dims; d++)
      len += (size_t)snprintf(dims + len, sizeof dims - len, "%s%lld",
                              d ? ", " : "", (long long)out[k].dims[d]);
    printf("%s %s[%s] -> %s\n", out[k].name,
           out[k].dtype == NAME_I32 ? "i32" : "f32", dims, final[k]);
    if (do_print) print_summary(&out[k]);
  }
  if (do_print) printf("run: %.1f ms (%s, compiled by loom)\n", ms, prog);

done:
  for (k = 0; k < n_out; k++) {
    if (tmp[k]) {
      remove(tmp[k]);
      free(tmp[k]);
    }
    free(final[k]);
    free(out[k].data);
  }
  for (i = 0; i < nspecs; i++) free(in[i].data);
  free(tmp);
  free(final);
  free(out);
  free(in);
  free(specs);
  free(self);
  free(wpath);
  NAME_free(m);
  return status;
}
