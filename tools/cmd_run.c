/* cmd_run.c — `loom run`: run a model on inputs, write its outputs as .npy.
 *
 *   loom run MODEL.yaml [--weights FILE] [--backend ref|c|jit] [--target T]
 *            [--input NAME=FILE.npy|NAME=1,2,3]... [--out-dir DIR]
 *            [--verify [--tolerance ATOL[,RTOL]]] [--print] [--timings]
 *            [--passes=a,b,c|none] [--disable=a,b]
 *
 * The outputs are written under temporary names in DIR and renamed once
 * every one is complete, so a failed run leaves none behind; an output
 * that would replace one of the run's input files is refused.  --verify
 * runs the reference interpreter on the graph as the frontend built it
 * (no passes), so it checks the passes as well as the backend.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/backend.h"
#include "codegen/c/c_cc.h"
#include "runtime/npy.h"
#include "runtime/parallel.h"
#include "tools/cli.h"

static const char run_help[] =
    "usage: loom run MODEL.yaml [options]\n"
    "\n"
    "Runs MODEL.yaml and writes each output to DIR/NAME.npy (float32).\n"
    "\n"
    "options:\n"
    "  --input NAME=FILE.npy  an input from a .npy file (little-endian, C\n"
    "                         order, float32/float64/int32/int64, converted\n"
    "                         to the input's dtype; extra leading dimensions\n"
    "                         of size 1 are dropped, missing ones are 1:\n"
    "                         ids [S] for a batched model's [B, S] is B = 1)\n"
    "  --input NAME=1,2,3     an input given inline as integers (rank 1)\n"
    "  --out-dir DIR          where outputs go (default: .; created if absent)\n"
    "  --weights FILE         a safetensors file replacing the model's\n"
    "                         'weights:'\n"
    "  --backend NAME         how to run it (default %s):\n"
    "%s"
    "  --target T             the CPU the code is generated for: native\n"
    "                         (default), x86-64-v4, x86-64-v3, x86-64-v2,\n"
    "                         generic (no vectors); +avx512bf16, +amx add\n"
    "                         those features (x86-64-v4+avx512bf16)\n"
    "  --dtype f32|bf16       matmul weights in f32 (default, or the model's\n"
    "                         'dtype:') or bf16: stored bf16, the activation\n"
    "                         operand rounded to bf16, fp32 sums\n"
    CLI_HELP_CACHES
    "  --verify               also run the reference interpreter (without\n"
    "                         graph passes; with --dtype bf16 only fold-\n"
    "                         constants and layout, which makes the weights\n"
    "                         bf16) and print,\n"
    "                         per output on stderr,\n"
    "                         'verify NAME max_abs=... max_rel=... ok|FAIL';\n"
    "                         exit status 3 when an output is beyond the\n"
    "                         tolerance (the outputs are written either way)\n"
    "  --tolerance ATOL[,RTOL]  what --verify accepts: |got - ref| <=\n"
    "                         ATOL + RTOL*|ref| (default 1e-4,1e-3)\n"
    "  --passes=a,b,c|none    the graph passes to run (default: the default\n"
    "                         pipeline; loom opt --list-passes)\n"
    "  --disable=a,b          passes taken out of that list\n"
    CLI_HELP_GRAPH
    "  --text TEXT            text instead of --input, for a model with a\n"
    "                         tokenizer (loom run MODEL --text x --help)\n"
    "  --print                also print each output's first values and\n"
    "                         range, and the run time\n"
    "  --timings              print on stderr, as key=value lines, where the\n"
    "                         time went (parse_ms, passes_ms, lower_ms,\n"
    "                         codegen_ms, jit_ms, run_ms, ...) and the peak\n"
    "                         activation memory (peak_activation_bytes)\n"
    CLI_HELP_THREADS
    CLI_HELP_PROFILE
    "  -h, --help             show this help\n"
    "\n"
    "The c backend compiles the model with $CC (default cc) and caches the\n"
    "result in $XDG_CACHE_HOME/loom (default ~/.cache/loom); the jit backend\n"
    "caches its machine code there too.\n";

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
static int print_run_help(void) {
  char list[2048] = "", names[256];
  size_t len = 0;
  snprintf(names, sizeof names, "%s", loom_backend_names());
  char *save;
  for (char *b = strtok_r(names, ", ", &save); b; b = strtok_r(NULL, ", ", &save))
    len += (size_t)snprintf(list + len, sizeof list - len,
                            "                           %-4s %s\n", b,
                            loom_backend(b)->summary);
  char text[sizeof run_help + sizeof list + 64];
  snprintf(text, sizeof text, run_help, cli_default_backend(), list);
  return cli_stdout(text);
}

/* run's own options. */
typedef struct {
  char **specs; /* --input, argc long */
  int nspecs, print, verify, timings, threads, profile;
  const char *out_dir, *backend, *tolerance;
} RunArgs;

enum { O_INPUT = 256, O_OUT_DIR, O_BACKEND, O_VERIFY, O_TOLERANCE, O_PRINT,
       O_TIMINGS, O_THREADS, O_PROFILE };

static const struct option run_opts[] = {
    {"input", required_argument, 0, O_INPUT},
    {"out-dir", required_argument, 0, O_OUT_DIR},
    {"backend", required_argument, 0, O_BACKEND},
    {"verify", no_argument, 0, O_VERIFY},
    {"tolerance", required_argument, 0, O_TOLERANCE},
    {"print", no_argument, 0, O_PRINT},
    {"timings", no_argument, 0, O_TIMINGS},
    {"threads", required_argument, 0, O_THREADS},
    {"profile", no_argument, 0, O_PROFILE},
    {0, 0, 0, 0}};

static int run_option(void *self, int id, const char *arg) {
  RunArgs *a = self;
  switch (id) {
  case O_INPUT: a->specs[a->nspecs++] = (char *)arg; break;
  case O_OUT_DIR: a->out_dir = arg; break;
  case O_BACKEND: a->backend = arg; break;
  case O_VERIFY: a->verify = 1; break;
  case O_TOLERANCE: a->tolerance = arg; break;
  case O_PRINT: a->print = 1; break;
  case O_TIMINGS: a->timings = 1; break;
  case O_THREADS: return cli_parse_threads("run", arg, &a->threads);
  case O_PROFILE: a->profile = 1; break;
  }
  return 0;
}

static const CliCommand run_cmd = {
    .name = "run", .print_help = print_run_help, .extra = run_opts,
    .option = run_option};

int cmd_run(int argc, char **argv) {
  RunArgs a = {.out_dir = ".", .backend = cli_default_backend()};
  CliCompile cc;
  double atol = 1e-4, rtol = 1e-3;
  int status = 0;
  if (!(a.specs = calloc((size_t)argc, sizeof *a.specs)))
    return cli_die(EXIT_MODEL, "out of memory");
  if ((status = cli_parse(&run_cmd, argc, argv, &a, &cc)) || cc.help ||
      (status = cli_check_backend("run", a.backend))) {
    free(a.specs);
    return status;
  }
  if (a.tolerance && parse_tolerance(a.tolerance, &atol, &rtol))
    status = cli_usage("run", "--tolerance '%s' is not ATOL or ATOL,RTOL "
                              "(numbers >= 0)", a.tolerance);
  else if (a.tolerance && !a.verify)
    status = cli_usage("run", "--tolerance needs --verify");
  else if (!(status = cli_check_input_specs(&cc, a.specs, a.nspecs)))
    status = cli_check_model(&cc);
  if (status) {
    free(a.specs);
    return status;
  }
  char **specs = a.specs;
  int nspecs = a.nspecs, print = a.print, verify = a.verify,
      timings = a.timings;
  const char *out_dir = a.out_dir, *backend = a.backend;
  const char *model_path = cc.model;

  loom_model *m = NULL, *ref = NULL;
  char err[8192];
  loom_options lo = {.weights = cc.weights, .backend = backend,
                     .target = cc.target, .log = timings ? stderr : NULL,
                     .dtype = cc.dtype,
                     .passes = cc.passes, .disable = cc.disable,
                     .graph = fe_graph_names[cc.graph], .max_len = cc.max_len,
                     .max_batch = cc.max_batch, .l1 = cc.l1, .l2 = cc.l2, .l3 = cc.l3,
                     .threads = a.threads, .profile = a.profile};
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
  if (a.profile && strcmp(backend, "jit") != 0) {
    status = cli_usage("run", "the %s backend cannot time its kernels "
                              "(--profile needs the jit backend)", backend);
    goto done;
  }
  if (loom_load(model_path, &lo, &m, err, sizeof err)) {
    status = cli_error(EXIT_MODEL, err);
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
    status = cli_error(EXIT_MODEL, err);
    goto done;
  }
  for (int i = 0; i < n_out; i++) {
    out_t[i].data = malloc(loom_tensor_bytes(&out_t[i]));
    if (!out_t[i].data) {
      status = cli_die(EXIT_MODEL, "out of memory for output '%s'", out_t[i].name);
      goto done;
    }
  }
  double t0 = cli_now_ms();
  if (loom_run(m, in_t, nspecs, out_t, n_out, err, sizeof err)) {
    status = cli_error(EXIT_MODEL, err);
    goto done;
  }
  double run_ms = cli_now_ms() - t0;
  if (timings) fprintf(stderr, "run_ms=%.3f\n", run_ms);
  if (verify) {
    /* The reference: the interpreter on the graph as the frontend built
     * it, so --verify checks the passes as well as the backend. */
    /* with --dtype bf16, only fold-constants (weights transposed, sliced)
     * and layout, which makes the weights bf16:
     * the meaning the backends are checked against */
    bool bf16 = cc.dtype && strcmp(cc.dtype, "bf16") == 0;
    loom_options ro = {.weights = cc.weights, .backend = "ref",
                       .passes = bf16 ? "fold-constants,layout" : "none",
                       .dtype = cc.dtype,
                       .graph = fe_graph_names[cc.graph], .max_len = cc.max_len,
                       .max_batch = cc.max_batch};
    ref_t = calloc((size_t)n_out, sizeof *ref_t);
    if (!ref_t) {
      status = cli_die(EXIT_MODEL, "out of memory");
      goto done;
    }
    if (loom_load(model_path, &ro, &ref, err, sizeof err) ||
        loom_output_shapes(ref, in_t, nspecs, ref_t, n_out, err, sizeof err)) {
      status = cli_error(EXIT_MODEL, err);
      goto done;
    }
    for (int i = 0; i < n_out; i++)
      if (!(ref_t[i].data = malloc(loom_tensor_bytes(&ref_t[i]) + 4))) {
        status = cli_die(EXIT_MODEL, "out of memory");
        goto done;
      }
    if (loom_run(ref, in_t, nspecs, ref_t, n_out, err, sizeof err)) {
      status = cli_error(EXIT_MODEL, err);
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
      status = cli_error_in(err, tmp_paths[i], final_paths[i]);
      goto done;
    }
  }
  for (int i = 0; i < n_out; i++)
    if ((status = cli_check_output(&cc, final_paths[i]))) goto done;
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
  if (a.profile && !status)
    status = cli_print_profile(m, 1, run_ms, a.threads ? a.threads : loom_set_threads(0));
  status = cli_flush_stdout(status); /* before verify prints on stderr */
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

