/* main.c — the command-line interface: a thin layer over libloom.
 *
 *   loom run MODEL.yaml [--weights FILE] [--backend ref|c|jit] [--target T]
 *            [--input NAME=FILE.npy|NAME=1,2,3]... [--out-dir DIR]
 *            [--verify [--tolerance ATOL[,RTOL]]] [--print] [--timings]
 *   loom dump MODEL.yaml [--weights FILE] [-o FILE] [--kernels [--target T]]
 *   loom emit-c MODEL.yaml -o DIR ...       (tools/cmd_build.c)
 *   loom build MODEL.yaml -o BIN ...        (tools/cmd_build.c)
 *   loom emit-obj MODEL.yaml -o DIR ...     (tools/cmd_emit_obj.c)
 *   loom dump MODEL.yaml --llvm|--asm ...   (LLVM: tools/cmd_emit_obj.c)
 *
 * Exit status: 0 success, 1 a bad model, weights or data file (or a failed
 * run), 2 bad command-line usage, 3 (run --verify) an output beyond the
 * tolerance.  Errors go to stderr, one line each: located ones as
 * FILE:LINE:COL: error: ..., the CLI's own as "loom: error: ...".  Output
 * files are written under temporary names and renamed once every output is
 * complete, so a failure leaves none behind.
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

#include "api/backend.h"
#include "codegen/c/c_cc.h"
#include "codegen/c/c_emit.h"
#include "codegen/target.h"
#include "frontend/frontend.h"
#include "loom.h"
#include "passes/pass.h"
#include "runtime/npy.h"
#include "tools/cli.h"
#include "tools/cmd_opt.h"

int cli_die(int status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("loom: error: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return status;
}

int cli_usage_error(const char *cmd, const char *msg) {
  fprintf(stderr, "loom: error: %s\n", msg);
  fprintf(stderr, "Try 'loom %s--help'.\n", cmd ? cmd : "");
  return EXIT_USAGE;
}

int cli_bad_option(const char *cmd, int c, const char *arg) {
  char msg[512], again[64];
  snprintf(msg, sizeof msg, "%s: %s '%s'", cmd,
           c == ':' ? "missing value for option" : "unknown option", arg);
  snprintf(again, sizeof again, "%s ", cmd);
  return cli_usage_error(again, msg);
}

/* ---- help texts ---------------------------------------------------------- */

/* loom run's backend: the JIT when loom has LLVM. */
#ifdef LOOM_HAVE_LLVM
#define DEFAULT_BACKEND "jit"
#else
#define DEFAULT_BACKEND "ref"
#endif

const char *cli_default_backend(void) { return DEFAULT_BACKEND; }

static const char main_help[] =
    "usage: loom COMMAND [ARGS...]\n"
    "\n"
    "loom compiles Transformer models described in YAML.\n"
    "\n"
    "commands:\n"
    "  run      run a model on inputs, write its outputs as .npy files\n"
    "  dump     print the Graph IR the frontend builds from a model, or the\n"
    "           Kernel IR it lowers to (--kernels)\n"
    "  emit-c   write a model as a self-contained C directory\n"
    "  build    compile a model into a standalone executable\n"
    "  emit-obj compile a model with LLVM into an object file and its header\n"
    "  opt      run graph passes on a model and print its Graph IR\n"
    "  graph    draw a model's Graph IR as Graphviz DOT or Mermaid\n"
    "  bench    time a model's runs: median time, GFLOP/s, weight GB/s\n"
    "\n"
    "options:\n"
    "  -h, --help     show this help (loom COMMAND --help for a command's)\n"
    "  --version      print loom's version\n"
    "\n"
    "Exit status: 0 on success, 1 for a bad model, weights or data file,\n"
    "2 for bad command-line usage, 3 when run --verify finds an output\n"
    "beyond its tolerance.\n";

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
    "  --backend NAME         how to run it (default " DEFAULT_BACKEND "):\n"
    "%s"
    "  --target T             the CPU the code is generated for: native\n"
    "                         (default), x86-64-v4, x86-64-v3, x86-64-v2,\n"
    "                         generic (no vectors)\n"
    "  --verify               also run the reference interpreter (without\n"
    "                         graph passes) and print, per output on stderr,\n"
    "                         'verify NAME max_abs=... max_rel=... ok|FAIL';\n"
    "                         exit status 3 when an output is beyond the\n"
    "                         tolerance (the outputs are written either way)\n"
    "  --tolerance ATOL[,RTOL]  what --verify accepts: |got - ref| <=\n"
    "                         ATOL + RTOL*|ref| (default 1e-4,1e-3)\n"
    "  --passes=a,b,c|none    the graph passes to run (default: the default\n"
    "                         pipeline; loom opt --list-passes)\n"
    "  --disable=a,b          passes taken out of that list\n"
    "  --print                also print each output's first values and\n"
    "                         range, and the run time\n"
    "  --timings              print on stderr, as key=value lines, where the\n"
    "                         time went (parse_ms, passes_ms, lower_ms,\n"
    "                         codegen_ms, jit_ms, run_ms, ...) and the peak\n"
    "                         activation memory (peak_activation_bytes)\n"
    "  -h, --help             show this help\n"
    "\n"
    "The c backend compiles the model with $CC (default cc) and caches the\n"
    "result in $XDG_CACHE_HOME/loom (default ~/.cache/loom); the jit backend\n"
    "caches its machine code there too.\n";

static const char dump_help[] =
    "usage: loom dump MODEL.yaml [options]\n"
    "\n"
    "Prints the Graph IR text of MODEL.yaml as the frontend built it, or\n"
    "with --kernels the Kernel IR of the program the backends generate code\n"
    "from: each unique kernel once, then the steps that call them.\n"
    "\n"
    "options:\n"
    "  -o FILE       write to FILE instead of standard output\n"
    "  --kernels     the Kernel IR (after the default graph passes)\n"
    "  --llvm        the LLVM IR of the kernels, optimized (O3) for the target\n"
    "  --asm         their machine code (assembly) for the target\n"
    "  --target T    the target the kernels are built for (with --kernels,\n"
    "                --llvm, --asm):\n"
    "                native (default), x86-64-v4, x86-64-v3, x86-64-v2,\n"
    "                generic\n"
    "  --weights FILE  a safetensors file replacing the model's 'weights:'\n"
    "                (with --kernels: passes read the weights)\n"
    "  --passes=a,b,c|none, --disable=a,b  the graph passes before lowering\n"
    "                (default: the default pipeline)\n"
    "  -h, --help    show this help\n";

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

/* --verify: how far one output is from the reference's.  max_rel is over
 * elements with |ref| > atol (relative error means little near zero). */
static int verify_output(const loom_tensor *got, const loom_tensor *want,
                         double atol, double rtol) {
  bool ok = got->rank == want->rank;
  for (int i = 0; ok && i < got->rank; i++) ok = got->dims[i] == want->dims[i];
  double max_abs = 0, max_rel = 0;
  size_t n = ok ? loom_tensor_bytes(got) / 4 : 0;
  for (size_t i = 0; i < n; i++) {
    double g = got->dtype == LOOM_I32 ? ((const int32_t *)got->data)[i]
                                      : ((const float *)got->data)[i];
    double w = want->dtype == LOOM_I32 ? ((const int32_t *)want->data)[i]
                                       : ((const float *)want->data)[i];
    if (isnan(g) || isnan(w) || isinf(g) || isinf(w)) {
      if (!((isnan(g) && isnan(w)) || g == w)) ok = false, max_abs = max_rel = INFINITY;
      continue;
    }
    double d = fabs(g - w);
    if (d > max_abs) max_abs = d;
    if (fabs(w) > atol && d / fabs(w) > max_rel) max_rel = d / fabs(w);
    if (d > atol + rtol * fabs(w)) ok = false;
  }
  if (got->rank != want->rank || (n == 0 && !ok))
    fprintf(stderr, "verify %s shape differs from the reference's FAIL\n", got->name);
  else
    fprintf(stderr, "verify %s max_abs=%.3g max_rel=%.3g %s\n", got->name, max_abs,
            max_rel, ok ? "ok" : "FAIL");
  return ok;
}

/* "ATOL" or "ATOL,RTOL", each a number >= 0. */
static int parse_tolerance(const char *s, double *atol, double *rtol) {
  char *end;
  errno = 0;
  double a = strtod(s, &end), r = *rtol;
  if (end == s || errno || !(a >= 0)) return -1;
  if (*end == ',') {
    const char *q = end + 1;
    r = strtod(q, &end);
    if (end == q || errno || !(r >= 0)) return -1;
  }
  if (*end) return -1;
  *atol = a;
  *rtol = r;
  return 0;
}

/* run --help, with the backends this loom has. */
static void print_run_help(void) {
  char list[2048] = "", names[256];
  size_t len = 0;
  snprintf(names, sizeof names, "%s", loom_backend_names());
  char *save;
  for (char *b = strtok_r(names, ", ", &save); b; b = strtok_r(NULL, ", ", &save))
    len += (size_t)snprintf(list + len, sizeof list - len,
                            "                           %-4s %s\n", b,
                            loom_backend(b)->summary);
  printf(run_help, list);
}

int cli_check_passes(const char *cmd, const char *passes, const char *disable) {
  Diag d = {0};
  if (pass_check_list(passes, &d) == 0 && pass_check_list(disable, &d) == 0)
    return 0;
  const char *msg = strncmp(d.msg, "error: ", 7) == 0 ? d.msg + 7 : d.msg;
  return cmd ? cli_die(EXIT_USAGE, "%s: %s", cmd, msg)
             : cli_die(EXIT_USAGE, "%s", msg);
}

int cli_check_target(const char *cmd, const char *target) {
  Target t;
  if (!cg_target(target, &t)) return 0;
  char msg[512], again[64];
  snprintf(msg, sizeof msg, "%s: unknown target '%s' (available: %s)", cmd,
           target, cg_target_names);
  snprintf(again, sizeof again, "%s ", cmd);
  return cli_usage_error(again, msg);
}

static int cmd_run(int argc, char **argv) {
  static const struct option opts[] = {
      {"input", required_argument, 0, 'i'},
      {"out-dir", required_argument, 0, 'O'},
      {"weights", required_argument, 0, 'w'},
      {"backend", required_argument, 0, 'b'},
      {"target", required_argument, 0, 't'},
      {"verify", no_argument, 0, 'v'},
      {"tolerance", required_argument, 0, 'T'},
      {"print", no_argument, 0, 'p'},
      {"timings", no_argument, 0, 'M'},
      {"passes", required_argument, 0, 'P'},
      {"disable", required_argument, 0, 'D'},
      {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0}};
  const char *out_dir = ".", *weights = NULL, *backend = DEFAULT_BACKEND, *target = NULL;
  const char *tolerance = NULL, *passes = NULL, *disable = NULL;
  char **specs = calloc((size_t)argc, sizeof *specs);
  int nspecs = 0, c, status = 0, print = 0, verify = 0, timings = 0;
  double atol = 1e-4, rtol = 1e-3;
  if (!specs) return cli_die(EXIT_MODEL, "out of memory");
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
    switch (c) {
    case 'i': specs[nspecs++] = optarg; break;
    case 'O': out_dir = optarg; break;
    case 'w': weights = optarg; break;
    case 'b': backend = optarg; break;
    case 't': target = optarg; break;
    case 'v': verify = 1; break;
    case 'T': tolerance = optarg; break;
    case 'p': print = 1; break;
    case 'M': timings = 1; break;
    case 'P': passes = optarg; break;
    case 'D': disable = optarg; break;
    case 'h': print_run_help(); free(specs); return 0;
    default:
      free(specs);
      return cli_bad_option("run", c, argv[optind - 1]);
    }
  }
  if (optind != argc - 1) {
    free(specs);
    return cli_usage_error("run ", optind >= argc ? "run: no model file given"
                                              : "run: give exactly one model file");
  }
  if (!loom_backend(backend)) {
    free(specs);
    char msg[256];
    if (strcmp(backend, "jit") == 0)
      snprintf(msg, sizeof msg, "run: the jit backend needs LLVM, and this loom "
                                "was built without it (available: %s)",
               loom_backend_names());
    else
      snprintf(msg, sizeof msg, "run: unknown backend '%s' (available: %s)",
               backend, loom_backend_names());
    return cli_usage_error("run ", msg);
  }
  if ((target && cli_check_target("run", target)) ||
      cli_check_passes("run", passes, disable)) {
    free(specs);
    return EXIT_USAGE;
  }
  if (tolerance && parse_tolerance(tolerance, &atol, &rtol)) {
    free(specs);
    char msg[256];
    snprintf(msg, sizeof msg, "run: --tolerance '%s' is not ATOL or ATOL,RTOL "
                              "(numbers >= 0)", tolerance);
    return cli_usage_error("run ", msg);
  }
  if (tolerance && !verify) {
    free(specs);
    return cli_usage_error("run ", "run: --tolerance needs --verify");
  }
  const char *model_path = argv[optind];

  loom_model *m = NULL, *ref = NULL;
  char err[8192];
  loom_options lo = {.weights = weights, .backend = backend, .target = target,
                     .log = timings ? stderr : NULL, .passes = passes,
                     .disable = disable};
  loom_tensor *ref_t = NULL;
  int verify_failed = 0;
  loom_tensor *in_t = calloc((size_t)(nspecs ? nspecs : 1), sizeof *in_t);
  loom_tensor *out_t = NULL;
  char **tmp_paths = NULL, **final_paths = NULL;
  int n_out = 0;
  if (!in_t) {
    status = cli_die(EXIT_MODEL, "out of memory");
    goto done;
  }
  /* Usage first: every --input must look like NAME=VALUE. */
  if ((status = cli_check_input_specs("run", specs, nspecs))) goto done;
  if (loom_load(model_path, &lo, &m, err, sizeof err)) {
    fprintf(stderr, "%s\n", err);
    status = EXIT_MODEL;
    goto done;
  }
  if ((status = cli_load_inputs("run", m, specs, nspecs, in_t))) goto done;

  n_out = loom_num_outputs(m);
  out_t = calloc((size_t)n_out, sizeof *out_t);
  tmp_paths = calloc((size_t)n_out, sizeof *tmp_paths);
  final_paths = calloc((size_t)n_out, sizeof *final_paths);
  if (!out_t || !tmp_paths || !final_paths) {
    status = cli_die(EXIT_MODEL, "out of memory");
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
      status = cli_die(EXIT_MODEL, "out of memory for output '%s'", out_t[i].name);
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
  if (timings) fprintf(stderr, "run_ms=%.3f\n", run_ms);
  if (verify) {
    /* The reference: the interpreter on the graph as the frontend built
     * it, so --verify checks the passes as well as the backend. */
    loom_options ro = {.weights = weights, .backend = "ref", .passes = "none"};
    ref_t = calloc((size_t)n_out, sizeof *ref_t);
    if (!ref_t) {
      status = cli_die(EXIT_MODEL, "out of memory");
      goto done;
    }
    if (loom_load(model_path, &ro, &ref, err, sizeof err) ||
        loom_output_shapes(ref, in_t, nspecs, ref_t, n_out, err, sizeof err)) {
      fprintf(stderr, "%s\n", err);
      status = EXIT_MODEL;
      goto done;
    }
    for (int i = 0; i < n_out; i++)
      if (!(ref_t[i].data = malloc(loom_tensor_bytes(&ref_t[i]) + 4))) {
        status = cli_die(EXIT_MODEL, "out of memory");
        goto done;
      }
    if (loom_run(ref, in_t, nspecs, ref_t, n_out, err, sizeof err)) {
      fprintf(stderr, "%s\n", err);
      status = EXIT_MODEL;
      goto done;
    }
  }
  if (cg_mkdir_p(out_dir)) {
    status = cli_die(EXIT_MODEL, "cannot create output directory '%s': %s",
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
      status = cli_die(EXIT_MODEL, "cannot write '%s': %s", final_paths[i],
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
  fflush(stdout);
  for (int i = 0; verify && i < n_out; i++)
    verify_failed |= !verify_output(&out_t[i], &ref_t[i], atol, rtol);
  if (verify_failed) status = EXIT_VERIFY;

done:
  for (int i = 0; tmp_paths && i < n_out; i++)
    if (tmp_paths[i]) {
      unlink(tmp_paths[i]);
      free(tmp_paths[i]);
    }
  for (int i = 0; final_paths && i < n_out; i++) free(final_paths[i]);
  for (int i = 0; out_t && i < n_out; i++) free(out_t[i].data);
  for (int i = 0; ref_t && i < n_out; i++) free(ref_t[i].data);
  free(ref_t);
  loom_free(ref);
  cli_free_inputs(in_t, nspecs);
  free(tmp_paths);
  free(final_paths);
  free(out_t);
  free(in_t);
  free(specs);
  loom_free(m);
  return status;
}

/* ---- dump ---------------------------------------------------------------- */

/* dump --kernels: each unique kernel (its vector variant) once, then the
 * steps, one line each: the kernel and where each argument lives. */
static char *kernels_text(const Program *p) {
  const Graph *g = p->g;
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f) return NULL;
  fprintf(f, "# \"%s\" for %s (%d lanes): %u kernels, %u steps; weights %lld "
             "bytes, arena %lld bytes\n\n",
          g->name, p->target.name, p->target.lanes, p->n_kernels, p->n_steps,
          (long long)p->weight_bytes, (long long)p->arena_bytes);
  for (uint32_t i = 0; i < p->n_kernels; i++) {
    char *k = k_print(p->kernels[i].vec, p->kernels[i].name);
    fprintf(f, "# called by %u step%s\n%s\n", p->kernels[i].uses,
            p->kernels[i].uses == 1 ? "" : "s", k);
    free(k);
  }
  fprintf(f, "steps:\n");
  for (uint32_t i = 0; i < p->n_steps; i++) {
    const PStep *st = &p->steps[i];
    const Node *n = &g->nodes[st->node];
    fprintf(f, "  %s(", p->kernels[st->kernel].name);
    for (uint32_t a = 0; a < st->n_args; a++) {
      KBind b = st->args[a];
      if (a) fprintf(f, ", ");
      if (b.kind == KB_SYM) {
        fprintf(f, "%s", g->syms[b.id].name);
        continue;
      }
      if (b.id == g->n_values) /* the kernels' scratch (program.h) */
        fprintf(f, "%%scratch");
      else if (g->values[b.id].name)
        fprintf(f, "%%%s", g->values[b.id].name);
      else
        fprintf(f, "%%%u", b.id);
      const PStore *ps = &p->store[b.id];
      switch (ps->kind) {
      case PS_INPUT: fprintf(f, "@in%u", ps->index); break;
      case PS_OUTPUT: fprintf(f, "@out%u", ps->index); break;
      case PS_WEIGHT: fprintf(f, "@w+%lld", (long long)ps->offset); break;
      case PS_ARENA: fprintf(f, "@a+%lld", (long long)ps->offset); break;
      }
    }
    fprintf(f, ")  # %s", ir_op_info(n->op)->name);
    if (n->loc.file) fprintf(f, " %s:%u:%u", n->loc.file, n->loc.line, n->loc.col);
    fprintf(f, "\n");
  }
  fclose(f);
  return buf;
}

static int cmd_dump(int argc, char **argv) {
  static const struct option opts[] = {{"help", no_argument, 0, 'h'},
                                       {"output", required_argument, 0, 'o'},
                                       {"kernels", no_argument, 0, 'k'},
                                       {"target", required_argument, 0, 't'},
                                       {"weights", required_argument, 0, 'w'},
                                       {"llvm", no_argument, 0, 'L'},
                                       {"asm", no_argument, 0, 'A'},
                                       {"passes", required_argument, 0, 'P'},
                                       {"disable", required_argument, 0, 'D'},
                                       {0, 0, 0, 0}};
  const char *out = NULL, *target = NULL, *weights = NULL, *passes = NULL,
             *disable = NULL;
  int c, kernels = 0, llvm = 0, assembly = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":ho:", opts, NULL)) != -1) {
    switch (c) {
    case 'h': fputs(dump_help, stdout); return 0;
    case 'o': out = optarg; break;
    case 'k': kernels = 1; break;
    case 'L': llvm = 1; break;
    case 'A': assembly = 1; break;
    case 't': target = optarg; break;
    case 'w': weights = optarg; break;
    case 'P': passes = optarg; break;
    case 'D': disable = optarg; break;
    default: return cli_bad_option("dump", c, argv[optind - 1]);
    }
  }
  if (optind != argc - 1)
    return cli_usage_error("dump ", optind >= argc ? "dump: no model file given"
                                               : "dump: give exactly one model file");
  if (kernels + llvm + assembly > 1)
    return cli_usage_error("dump ", "dump: give one of --kernels, --llvm, --asm");
  if (target && !kernels && !llvm && !assembly)
    return cli_usage_error("dump ", "dump: --target needs --kernels, --llvm or --asm");
  if (target && cli_check_target("dump", target)) return EXIT_USAGE;
  char *text = NULL;
  if (kernels || llvm || assembly) {
    FeModel *fe;
    Program *p;
    int st = cli_program(argv[optind], weights, target, passes, disable, &fe, &p);
    if (st) return st;
    if (kernels)
      text = kernels_text(p);
    else
      st = cli_llvm_text(p, assembly, &text);
    cg_program_free(p);
    fe_model_free(fe);
    if (st) return st;
    if (!text) return cli_die(EXIT_MODEL, "out of memory");
  } else {
    Diag d = {0};
    FeOptions fo = {.no_weights = true};
    FeModel *m = fe_load(argv[optind], &fo, &d);
    if (!m) {
      fprintf(stderr, "%s\n", d.msg);
      return EXIT_MODEL;
    }
    text = ir_print(m->g);
    fe_model_free(m);
  }
  int status = 0;
  if (!out) {
    fputs(text, stdout);
  } else {
    size_t len = strlen(out) + 32;
    char *tmp = malloc(len);
    snprintf(tmp, len, "%s.%ld.tmp", out, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f || fputs(text, f) < 0 || fclose(f) || rename(tmp, out)) {
      status = cli_die(EXIT_MODEL, "cannot write '%s': %s", out, strerror(errno));
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
    {"emit-c", cmd_emit_c},
    {"build", cmd_build},
    {"emit-obj", cmd_emit_obj},
    {"opt", cmd_opt},
    {"graph", cmd_graph},
    {"bench", cmd_bench},
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
  return cli_usage_error(NULL, msg);
}
