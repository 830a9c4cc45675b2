/* cmd_bench.c — `loom bench`: how fast a model runs, stated against the work
 * it does.
 *
 *   loom bench MODEL.yaml [--input NAME=...]... [--backend B] [--target T]
 *              [--passes=...] [--disable=...] [--repeat N] [--warmup N]
 *
 * Compiles once, runs the model WARMUP times untimed, then REPEAT times,
 * and prints key=value lines: the compile time; the median, min and max
 * run time (the machines are shared and noisy: compare medians); the
 * matmul work at these input shapes (2·M·N·K per matmul, batch included)
 * (matmul_flop) and the rate it was done at; the weight bytes and the rate they were
 * read at (what bounds decoding); the median CPU time of a run and the
 * matmul rate per second of CPU time (matmul_gflops_cpu: on a shared
 * machine, what the threads did while they had a core).  Comparing these with the machine's
 * limits (bench/limits.c) and with a peer measured in the same run is
 * bench/compare.py's job.  Threads: --threads, else OMP_NUM_THREADS, else
 * every core.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "loom.h"
#include "runtime/parallel.h"
#include "tools/cli.h"

static const char bench_help[] =
    "usage: loom bench MODEL.yaml [options]\n"
    "\n"
    "Runs MODEL.yaml repeatedly and prints, as key=value lines, the compile\n"
    "time, the median/min/max run time, the matmul FLOPs at these input\n"
    "shapes and the GFLOP/s reached, and the weight bytes and GB/s.\n"
    "\n"
    "options:\n"
    "  --input NAME=FILE.npy|NAME=1,2,3  the inputs, as for loom run\n"
    "  --backend ref|c|jit    how to run it (default: jit when built with\n"
    "                         LLVM, else ref)\n"
    "  --target T             native (default), x86-64-v4, x86-64-v3,\n"
    "                         x86-64-v2, generic; +avx512bf16, +amx add\n"
    "                         those features (x86-64-v4+avx512bf16)\n"
    "  --dtype f32|bf16       matmul weights in f32 (default) or bf16\n"
    CLI_HELP_CACHES
    "  --passes=a,b,c|none, --disable=a,b  the graph passes\n"
    CLI_HELP_GRAPH
    "  --weights FILE         a safetensors file replacing 'weights:'\n"
    "  --repeat N             timed runs (default 20)\n"
    "  --warmup N             untimed runs first (default 3)\n"
    CLI_HELP_THREADS
    CLI_HELP_PROFILE
    "  -h, --help             show this help\n"
    ;

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Sorts v. */
static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* CPU time of the whole process (every thread), in milliseconds: on a
 * shared machine the wall clock also counts the time other tenants had
 * the core; CPU time does not (bench/limits.c's peak_gflops_1t_cpu is
 * its peak). */
static double cpu_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Matmul FLOPs and weight bytes of the model at these inputs' shapes,
 * counted on the graph as the frontend built it (passes move work around
 * but do not change it). */
static int count_work(const char *path, const char *weights, FeGraph graph,
                      int64_t max_len, const loom_tensor *in, int n_in,
                      double *flop, double *wbytes) {
  Diag d = {0};
  FeOptions fo = {.weights = weights, .no_weights = true, .graph = graph,
                  .max_len = max_len};
  FeModel *fe = fe_load(path, &fo, &d);
  if (!fe) return cli_error(EXIT_MODEL, d.msg);
  const Graph *g = fe->g;
  uint32_t ids[64];
  uint32_t ni = ir_inputs(g, ids, 64);
  Tensor t[64] = {{0}};
  for (uint32_t k = 0; k < ni && k < 64; k++) {
    const Value *v = &g->values[ids[k]];
    t[k].dtype = v->dtype;
    t[k].rank = v->shape.rank;
    for (int i = 0; i < n_in; i++)
      if (strcmp(in[i].name, v->name) == 0) {
        t[k].rank = in[i].rank;
        memcpy(t[k].dims, in[i].dims, sizeof(int64_t) * (size_t)in[i].rank);
        t[k].data = in[i].data;
      }
  }
  int64_t binding[64] = {0};
  if (g->n_syms > 64 || ir_bind_inputs(g, t, (int)ni, binding, &d)) {
    fe_model_free(fe);
    return cli_error(EXIT_MODEL, d.msg);
  }
  *flop = 0;
  *wbytes = 0;
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    const Node *n = &g->nodes[i];
    if (n->op == OP_WEIGHT) {
      int64_t dims[IR_MAX_RANK];
      *wbytes += 4.0 * (double)ir_shape_eval(&g->values[n->out[0]].shape, binding, dims);
    } else if (n->op == OP_MATMUL) {
      int64_t od[IR_MAX_RANK], ad[IR_MAX_RANK];
      const Value *a = &g->values[n->in[0]];
      double outs = (double)ir_shape_eval(&g->values[n->out[0]].shape, binding, od);
      ir_shape_eval(&a->shape, binding, ad);
      int64_t K = ad[a->shape.rank - (ir_get_int(g, n, "transpose_a") ? 2 : 1)];
      *flop += 2.0 * outs * (double)K;
    }
  }
  fe_model_free(fe);
  return 0;
}

typedef struct {
  char **specs; /* --input, argc long */
  int nspecs, repeat, warmup, threads, profile;
  const char *backend;
} BenchArgs;

enum { O_INPUT = 256, O_BACKEND, O_REPEAT, O_WARMUP, O_THREADS, O_PROFILE };

static const struct option bench_opts[] = {
    {"input", required_argument, 0, O_INPUT},
    {"backend", required_argument, 0, O_BACKEND},
    {"repeat", required_argument, 0, O_REPEAT},
    {"warmup", required_argument, 0, O_WARMUP},
    {"threads", required_argument, 0, O_THREADS},
    {"profile", no_argument, 0, O_PROFILE},
    {0, 0, 0, 0}};

static int bench_option(void *self, int id, const char *arg) {
  BenchArgs *a = self;
  switch (id) {
  case O_INPUT: a->specs[a->nspecs++] = (char *)arg; break;
  case O_BACKEND: a->backend = arg; break;
  case O_THREADS: return cli_parse_threads("bench", arg, &a->threads);
  case O_PROFILE: a->profile = 1; break;
  case O_REPEAT:
  case O_WARMUP: {
    char *end;
    long v = strtol(arg, &end, 10);
    if (!*arg || *end || v < (id == O_REPEAT ? 1 : 0) || v > 100000)
      return cli_usage("bench", "--%s '%s' is not a count",
                       id == O_REPEAT ? "repeat" : "warmup", arg);
    *(id == O_REPEAT ? &a->repeat : &a->warmup) = (int)v;
    break;
  }
  }
  return 0;
}

static const CliCommand bench_cmd = {.name = "bench", .help = bench_help,
                                     .extra = bench_opts,
                                     .option = bench_option};

int cmd_bench(int argc, char **argv) {
  BenchArgs a = {.repeat = 20, .warmup = 3, .backend = cli_default_backend()};
  CliCompile cc;
  int status = 0;
  if (!(a.specs = calloc((size_t)argc, sizeof *a.specs)))
    return cli_die(EXIT_MODEL, "out of memory");
  if ((status = cli_parse(&bench_cmd, argc, argv, &a, &cc)) || cc.help ||
      (status = cli_check_backend("bench", a.backend)) ||
      (status = cli_check_input_specs(&cc, a.specs, a.nspecs)) ||
      (status = cli_check_model(&cc))) {
    free(a.specs);
    return status;
  }
  char **specs = a.specs;
  int nspecs = a.nspecs, repeat = a.repeat, warmup = a.warmup;
  const char *backend = a.backend, *target = cc.target, *weights = cc.weights;
  const char *path = cc.model;
  loom_options lo = {.weights = weights, .backend = backend, .target = target,
                     .dtype = cc.dtype, .passes = cc.passes, .disable = cc.disable,
                     .graph = fe_graph_names[cc.graph], .max_len = cc.max_len,
                     .max_batch = cc.max_batch, .l1 = cc.l1, .l2 = cc.l2, .l3 = cc.l3,
                     .threads = a.threads, .profile = a.profile};
  loom_model *m = NULL;
  loom_tensor *in = calloc((size_t)(nspecs ? nspecs : 1), sizeof *in);
  loom_tensor *out = NULL;
  double *times = calloc((size_t)repeat, sizeof *times);
  double *cpu = calloc((size_t)repeat, sizeof *cpu);
  int n_out = 0;
  char err[8192];
  double t0 = cli_now_ms();
  if (!in || !times || !cpu) {
    status = cli_die(EXIT_MODEL, "out of memory");
    goto done;
  }
  if (a.profile && strcmp(backend, "jit") != 0) {
    status = cli_usage("bench", "the %s backend cannot time its kernels "
                                "(--profile needs the jit backend)", backend);
    goto done;
  }
  if (loom_load(path, &lo, &m, err, sizeof err)) {
    status = cli_error(EXIT_MODEL, err);
    goto done;
  }
  double compile_ms = cli_now_ms() - t0;
  if ((status = cli_load_inputs("bench", m, specs, nspecs, in))) goto done;
  n_out = loom_num_outputs(m);
  out = calloc((size_t)n_out, sizeof *out);
  if (!out) {
    status = cli_die(EXIT_MODEL, "out of memory");
    goto done;
  }
  if (loom_output_shapes(m, in, nspecs, out, n_out, err, sizeof err)) {
    status = cli_error(EXIT_MODEL, err);
    goto done;
  }
  for (int i = 0; i < n_out; i++)
    if (!(out[i].data = malloc(loom_tensor_bytes(&out[i])))) {
      status = cli_die(EXIT_MODEL, "out of memory");
      goto done;
    }
  double all_ms = 0;
  for (int r = -warmup; r < repeat; r++) {
    double s = cli_now_ms(), c = cpu_ms();
    if (loom_run(m, in, nspecs, out, n_out, err, sizeof err)) {
      status = cli_error(EXIT_MODEL, err);
      goto done;
    }
    all_ms += cli_now_ms() - s; /* --profile times the warmup runs too */
    if (r >= 0) times[r] = cli_now_ms() - s, cpu[r] = cpu_ms() - c;
  }
  double flop = 0, wbytes = 0;
  if ((status = count_work(path, weights, (FeGraph)cc.graph, cc.max_len, in, nspecs,
                             &flop, &wbytes))) goto done;
  double med = median(times, repeat), cpu_med = median(cpu, repeat);
  int threads = a.threads ? a.threads : loom_set_threads(0);
  printf("model=%s\nbackend=%s\ntarget=%s\nthreads=%d\n", loom_name(m), backend,
         target ? target : "native", threads);
  printf("compile_ms=%.1f\nrepeats=%d\n", compile_ms, repeat);
  printf("run_ms_median=%.3f\nrun_ms_min=%.3f\nrun_ms_max=%.3f\n", med,
         times[0], times[repeat - 1]);
  printf("run_cpu_ms_median=%.3f\n", cpu_med);
  printf("matmul_flop=%.0f\nmatmul_gflops=%.2f\n", flop,
         flop / 1e9 / (med / 1e3));
  printf("matmul_gflops_cpu=%.2f\n", flop / 1e9 / (cpu_med / 1e3));
  printf("weight_bytes=%.0f\nweight_gbs=%.2f\n", wbytes,
         wbytes / 1e9 / (med / 1e3));
  if (a.profile) status = cli_print_profile(m, repeat + warmup, all_ms, threads);
done:
  for (int i = 0; out && i < n_out; i++) free(out[i].data);
  free(out);
  cli_free_inputs(in, nspecs);
  free(in);
  free(times);
  free(cpu);
  free(specs);
  loom_free(m);
  return status;
}
