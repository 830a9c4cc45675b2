/* cmd_opt.c — `loom opt`: run graph passes on a model, print the IR.
 *
 *   loom opt MODEL.yaml|FILE.ir [--passes=a,b,c|none] [--disable=a,b]
 *            [--print-after-all] [--print-after=P] [--print-before=P]
 *            [--verify-each] [--time-passes] [--print-memory]
 *            [--check-equivalence] [--target=T] [-o OUT.ir]
 *   loom opt --list-passes
 *
 * The tool for experimenting with passes (LLVM's `opt`, MLIR's
 * `mlir-opt`): the pipeline is the default one (passes/pass.c) unless
 * --passes names another; the IR after it goes to stdout or -o, the
 * --print-* dumps and --time-passes to stderr.  .ir files are what the
 * pass tests under tests/passes feed it: the text form has no tensor data,
 * so their weights get deterministic random values, which lets
 * fold-constants fire on them.
 *
 * --check-equivalence runs the reference interpreter on the graph before
 * and after the pipeline, on the same deterministic random inputs (each
 * symbolic dimension below its bound, so a table folded at the bound must
 * be sliced right; integer ids within the rows of every table they index),
 * and compares every output within 1e-4 + 1e-3·|before|.  A difference is
 * exit status 3, so a test can tell it from a bad model (1) or bad usage
 * (2).
 *
 * Also here, for tools/cmd_graph.c: opening a model file of either kind,
 * the pass context for a target, all-or-nothing output files.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codegen/lower.h"
#include "codegen/target.h"
#include "frontend/random_weights.h"
#include "tools/cmd_opt.h"

/* ---- shared with loom graph --------------------------------------------- */

int tool_usage(const char *cmd, const char *fmt, ...) {
  char msg[1024], again[64];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  snprintf(again, sizeof again, "%s ", cmd);
  return cli_usage_error(again, msg);
}

/* A Diag's message without its leading "error: " (no location). */
static const char *bare(const Diag *d) {
  return strncmp(d->msg, "error: ", 7) == 0 ? d->msg + 7 : d->msg;
}

int tool_pass_setup(const char *cmd, const char *passes, const char *disable,
                    const char *target, PassCtx *ctx) {
  Diag d = {0};
  if (passes && !*passes)
    return tool_usage(cmd, "%s: --passes needs a list of passes, or 'none'",
                      cmd);
  if (pass_check_list(passes, &d) || pass_check_list(disable, &d))
    return tool_usage(cmd, "%s: %s", cmd, bare(&d));
  Target t;
  if (cg_target(target, &t))
    return tool_usage(cmd, "%s: unknown target '%s' (available: %s)", cmd,
                      target, cg_target_names);
  *ctx = (PassCtx){.panel = cg_matmul_panel(&t)};
  return 0;
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

int tool_load(const char *path, const char *weights, uint64_t seed,
              ToolModel *tm) {
  *tm = (ToolModel){0};
  Diag d = {0};
  if (ends_with(path, ".ir")) {
    char *text = read_text(path);
    if (!text)
      return cli_die(EXIT_MODEL, "cannot read '%s': %s", path,
                      strerror(errno));
    tm->g = ir_parse(text, path, &d);
    free(text);
    if (!tm->g) {
      fprintf(stderr, "%s\n", d.msg);
      return EXIT_MODEL;
    }
    if (ir_verify(tm->g, &d)) {
      fprintf(stderr, "%s\n", d.msg);
      tool_free(tm);
      return EXIT_MODEL;
    }
    fill_random(tm->g, seed);
    return 0;
  }
  FeOptions fo = {.weights = weights};
  tm->m = fe_load(path, &fo, &d);
  if (!tm->m) {
    fprintf(stderr, "%s\n", d.msg);
    return EXIT_MODEL;
  }
  tm->g = tm->m->g;
  return 0;
}

void tool_free(ToolModel *tm) {
  if (tm->m)
    fe_model_free(tm->m);
  else
    ir_graph_free(tm->g);
  *tm = (ToolModel){0};
}

int tool_write_file(const char *path, const char *text) {
  size_t len = strlen(path) + 32;
  char *tmp = malloc(len);
  if (!tmp) return cli_die(EXIT_MODEL, "out of memory");
  snprintf(tmp, len, "%s.%ld.tmp", path, (long)getpid());
  FILE *f = fopen(tmp, "wb");
  int status = 0;
  if (!f || fputs(text, f) < 0 || fclose(f) || rename(tmp, path)) {
    int err = errno;
    if (f) unlink(tmp);
    status = cli_die(EXIT_MODEL, "cannot write '%s': %s", path,
                      strerror(err));
  }
  free(tmp);
  return status;
}

/* ---- --list-passes ------------------------------------------------------- */

static void list_passes(void) {
  int width = 0;
  for (int i = 0; i < pass_count; i++) {
    int w = (int)strlen(pass_table[i].name);
    width = w > width ? w : width;
  }
  printf("passes (* in the default pipeline):\n");
  for (int i = 0; i < pass_count; i++) {
    bool dflt = false;
    for (int k = 0; pass_default_pipeline[k]; k++)
      dflt |= strcmp(pass_default_pipeline[k], pass_table[i].name) == 0;
    printf("  %c %-*s  %s\n", dflt ? '*' : ' ', width, pass_table[i].name,
           pass_table[i].summary);
  }
  printf("\ndefault pipeline, in order:\n");
  for (int k = 0; pass_default_pipeline[k]; k++)
    printf("  %d. %s\n", k + 1, pass_default_pipeline[k]);
}

/* ---- --print-memory ------------------------------------------------------ */

static void print_memory(const Graph *g, FILE *out) {
  if (!g->mem_offset) {
    fprintf(out, "memory: no plan (plan-memory did not run)\n");
    return;
  }
  uint32_t placed = 0;
  for (uint32_t v = 0; v < g->n_values; v++) placed += g->mem_offset[v] >= 0;
  fprintf(out, "memory: peak_bytes=%" PRId64 " values=%u (one arena; "
               "symbolic dims at their bounds)\n",
          g->mem_bytes, placed);
  fprintf(out, "  %10s %10s  value\n", "offset", "bytes");
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    const Node *n = &g->nodes[i];
    for (uint32_t r = 0; r < n->nout; r++) {
      uint32_t v = n->out[r];
      if (g->mem_offset[v] < 0) continue;
      const Value *val = &g->values[v];
      char shape[256], name[32];
      ir_format_shape(g, &val->shape, shape, sizeof shape);
      if (!val->name) snprintf(name, sizeof name, "#%u", v);
      fprintf(out, "  %10" PRId64 " %10" PRId64 "  %%%s %s%s%s\n",
              g->mem_offset[v], ir_bound_bytes(g, val),
              val->name ? val->name : name, ir_dtype_name(val->dtype), shape,
              ir_is_view(g, n) ? " (view)" : "");
    }
  }
}

/* ---- --check-equivalence ------------------------------------------------- */

/* The rows of the smallest table that the ids in value v index, following
 * v through data movement (reshape, transpose, slice, split, concat);
 * INT64_MAX when no gather reads them. */
static int64_t id_range(const Graph *g, uint32_t v, int depth) {
  int64_t rows = INT64_MAX;
  if (depth > 16) return rows;
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    const Node *n = &g->nodes[i];
    for (uint32_t k = 0; k < n->nin; k++) {
      if (n->in[k] != v) continue;
      int64_t r = INT64_MAX;
      if (n->op == OP_GATHER && k == 1) {
        /* a symbolic table has at least its c rows */
        r = g->values[n->in[0]].shape.d[0].c;
      } else if (n->op == OP_RESHAPE || n->op == OP_TRANSPOSE ||
                 n->op == OP_SLICE || n->op == OP_SPLIT ||
                 n->op == OP_CONCAT) {
        for (uint32_t o = 0; o < n->nout; o++) {
          int64_t ro = id_range(g, n->out[o], depth + 1);
          r = ro < r ? ro : r;
        }
      }
      rows = r < rows ? r : rows;
    }
  }
  return rows;
}

/* A symbol's test value: below its bound (so that what is folded at the
 * bound must be cut to the length), small enough to run fast. */
static int64_t sym_value(const Sym *s) {
  if (s->bound <= 1) return 1;
  return s->bound - 1 < 13 ? s->bound - 1 : 13;
}

typedef struct {
  Tensor *t;
  int n;
} Tensors;

static void tensors_free(Tensors *ts) {
  for (int i = 0; i < ts->n; i++) free(ts->t[i].data);
  free(ts->t);
  *ts = (Tensors){0};
}

/* Deterministic random inputs for g, in input-node order. */
static int make_inputs(const Graph *g, uint64_t seed, Tensors *out, Diag *d) {
  Tensors in = {0};
  in.n = (int)ir_inputs(g, NULL, 0);
  in.t = calloc((size_t)(in.n ? in.n : 1), sizeof *in.t);
  IR_ASSERT(in.t);
  uint32_t *ids = malloc((size_t)(in.n ? in.n : 1) * sizeof *ids);
  IR_ASSERT(ids);
  ir_inputs(g, ids, (uint32_t)in.n);
  for (int i = 0; i < in.n; i++) {
    const Value *v = &g->values[ids[i]];
    Tensor *t = &in.t[i];
    t->dtype = v->dtype;
    t->rank = v->shape.rank;
    int64_t numel = 1;
    for (int k = 0; k < t->rank; k++) {
      Dim dk = v->shape.d[k];
      t->dims[k] = dk.sym < 0 ? dk.c : ir_size_mul(dk.c, sym_value(&g->syms[dk.sym]));
      numel = ir_size_mul(numel, t->dims[k]);
    }
    size_t esize = ir_dtype_size(v->dtype);
    /* numel <= IR_MAX_BYTES (the input's checked size at its bounds) */
    t->data = calloc(numel ? (size_t)numel : 1, esize);
    float *u = malloc((numel ? (size_t)numel : 1) * sizeof *u);
    if (!t->data || !u) {
      free(u);
      free(ids);
      *out = in;
      return ir_errorf(d, g->nodes[v->node].loc, "out of memory for the "
                       "random values of input '%s' (%" PRId64 " elements)",
                       v->name ? v->name : "?", numel);
    }
    char name[32];
    if (!v->name) snprintf(name, sizeof name, "input%d", i);
    fe_random_fill(u, numel, v->name ? v->name : name, seed ^ 0x5eed, 1.0f);
    if (v->dtype == DT_F32) {
      memcpy(t->data, u, (size_t)numel * sizeof *u);
    } else if (v->dtype == DT_I32) {
      int64_t rows = id_range(g, ids[i], 0);
      if (rows == INT64_MAX) rows = 10;
      for (int64_t k = 0; k < numel; k++) {
        int64_t id = (int64_t)((u[k] + 1.0f) * 0.5f * (float)rows);
        ((int32_t *)t->data)[k] = (int32_t)(id < 0 ? 0 : id >= rows ? rows - 1 : id);
      }
    }
    free(u);
  }
  free(ids);
  *out = in;
  return 0;
}

static int run_interp(const Graph *g, const Tensors *in, Tensors *out,
                      Diag *d) {
  out->n = (int)g->n_outputs;
  out->t = calloc((size_t)(out->n ? out->n : 1), sizeof *out->t);
  IR_ASSERT(out->t);
  return ir_interp(g, in->t, in->n, out->t, d);
}

static bool close_enough(double got, double want, double *diff) {
  if (isnan(want) || isnan(got)) {
    *diff = 0;
    return isnan(want) && isnan(got);
  }
  if (isinf(want) || isinf(got)) {
    *diff = 0;
    return got == want;
  }
  *diff = fabs(got - want);
  return *diff <= 1e-4 + 1e-3 * fabs(want);
}

/* Compare before/after outputs; prints the verdict; returns the status. */
static int compare(const Graph *g, const Tensors *want, const Tensors *got) {
  double max_abs = 0;
  for (int i = 0; i < want->n; i++) {
    const Tensor *a = &want->t[i], *b = &got->t[i];
    const char *name = g->values[g->outputs[i]].name;
    char nb[32];
    if (!name) snprintf(nb, sizeof nb, "#%d", i), name = nb;
    bool same_shape = a->rank == b->rank && a->dtype == b->dtype;
    for (int k = 0; same_shape && k < a->rank; k++)
      same_shape = a->dims[k] == b->dims[k];
    if (!same_shape)
      return cli_die(EXIT_VERIFY, "not equivalent: output '%s' "
                      "changed shape or dtype", name);
    int64_t n = ir_tensor_numel(a);
    for (int64_t k = 0; k < n; k++) {
      double x = a->dtype == DT_I32 ? ((const int32_t *)a->data)[k]
                                    : ((const float *)a->data)[k];
      double y = b->dtype == DT_I32 ? ((const int32_t *)b->data)[k]
                                    : ((const float *)b->data)[k];
      double diff;
      if (!close_enough(y, x, &diff))
        return cli_die(EXIT_VERIFY, "not equivalent: output '%s' "
                        "element %" PRId64 ": %.9g before, %.9g after the "
                        "pipeline (|diff| %.3g > 1e-4 + 1e-3*|before|)",
                        name, k, x, y, diff);
      max_abs = diff > max_abs ? diff : max_abs;
    }
  }
  printf("equivalent max_abs=%.3g outputs=%d\n", max_abs, want->n);
  return 0;
}

/* ---- the command --------------------------------------------------------- */

static const char opt_help[] =
    "usage: loom opt MODEL.yaml|FILE.ir [options]\n"
    "       loom opt --list-passes\n"
    "\n"
    "Runs graph passes on a model and prints its Graph IR afterwards: the\n"
    "default pipeline (loom opt --list-passes) unless --passes names\n"
    "another.  MODEL.yaml is loaded with its weights (a model whose weights\n"
    "file is missing fails, as with loom run); a FILE.ir in the text form\n"
    "carries no tensor data, so its weights and consts get deterministic\n"
    "random values.\n"
    "\n"
    "options:\n"
    "  --passes=A,B,C        run these passes, in this order ('none': none)\n"
    "  --disable=A,B         take these passes out of the pipeline\n"
    "  --list-passes         list every pass with its summary, the default\n"
    "                        pipeline marked and in order, and exit\n"
    "  --print-after-all     print the IR after every pass (to stderr)\n"
    "  --print-after=PASS    print the IR after each run of PASS (stderr)\n"
    "  --print-before=PASS   print the IR before each run of PASS (stderr)\n"
    "  --verify-each         verify the IR after every pass (always on in\n"
    "                        debug builds)\n"
    "  --time-passes         print each pass's time (stderr)\n"
    "  --print-memory        after the IR, print the peak activation bytes\n"
    "                        plan-memory computed and each value's offset\n"
    "  --check-equivalence   run the reference interpreter before and after\n"
    "                        the pipeline on the same random inputs (symbolic\n"
    "                        dims below their bound, ids within their\n"
    "                        table), compare every output within\n"
    "                        1e-4 + 1e-3*|before|, print 'equivalent\n"
    "                        max_abs=...' or fail with exit status 3\n"
    "  --seed=N              seed of the random inputs (and of an .ir file's\n"
    "                        weights); default 1\n"
    "  --target=T            the target the layout pass packs weights for:\n"
    "                        native (default), x86-64-v4, x86-64-v3,\n"
    "                        x86-64-v2, generic\n"
    "  --weights=FILE        a safetensors file replacing the model's\n"
    "                        'weights:'\n"
    "  -o FILE               write the IR to FILE instead of stdout (all or\n"
    "                        nothing)\n"
    "  -h, --help            show this help\n"
    "\n"
    "Exit status: 0 success, 1 a bad model or a failing pass, 2 bad usage\n"
    "(an unknown pass names the nearest one), 3 not equivalent.\n";

int cmd_opt(int argc, char **argv) {
  enum {
    O_PASSES = 256, O_DISABLE, O_AFTER_ALL, O_AFTER, O_BEFORE, O_VERIFY,
    O_TIME, O_MEMORY, O_LIST, O_EQUIV, O_SEED, O_TARGET, O_WEIGHTS
  };
  static const struct option opts[] = {
      {"passes", required_argument, 0, O_PASSES},
      {"disable", required_argument, 0, O_DISABLE},
      {"print-after-all", no_argument, 0, O_AFTER_ALL},
      {"print-after", required_argument, 0, O_AFTER},
      {"print-before", required_argument, 0, O_BEFORE},
      {"verify-each", no_argument, 0, O_VERIFY},
      {"time-passes", no_argument, 0, O_TIME},
      {"print-memory", no_argument, 0, O_MEMORY},
      {"list-passes", no_argument, 0, O_LIST},
      {"check-equivalence", no_argument, 0, O_EQUIV},
      {"seed", required_argument, 0, O_SEED},
      {"target", required_argument, 0, O_TARGET},
      {"weights", required_argument, 0, O_WEIGHTS},
      {"output", required_argument, 0, 'o'},
      {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0}};
  PipelineOptions po = {0};
#ifndef NDEBUG
  po.verify_each = true;
#endif
  const char *out = NULL, *target = NULL, *weights = NULL;
  bool memory = false, list = false, equiv = false;
  uint64_t seed = 1;
  int c;
  opterr = 0;
  optind = 1;
  while ((c = getopt_long(argc, argv, ":ho:", opts, NULL)) != -1) {
    switch (c) {
    case O_PASSES: po.passes = optarg; break;
    case O_DISABLE: po.disable = optarg; break;
    case O_AFTER_ALL: po.print_after_all = true; break;
    case O_AFTER: po.print_after = optarg; break;
    case O_BEFORE: po.print_before = optarg; break;
    case O_VERIFY: po.verify_each = true; break;
    case O_TIME: po.time_passes = true; break;
    case O_MEMORY: memory = true; break;
    case O_LIST: list = true; break;
    case O_EQUIV: equiv = true; break;
    case O_SEED: {
      char *end;
      errno = 0;
      unsigned long long s = strtoull(optarg, &end, 10);
      if (errno || !*optarg || *end || optarg[0] == '-')
        return tool_usage("opt", "opt: --seed '%s' is not a non-negative "
                                 "integer", optarg);
      seed = s;
      break;
    }
    case O_TARGET: target = optarg; break;
    case O_WEIGHTS: weights = optarg; break;
    case 'o': out = optarg; break;
    case 'h': fputs(opt_help, stdout); return 0;
    case ':':
      return tool_usage("opt", "opt: missing value for option '%s'",
                        argv[optind - 1]);
    default:
      return tool_usage("opt", "opt: unknown option '%s'", argv[optind - 1]);
    }
  }
  if (list) {
    if (optind != argc)
      return tool_usage("opt", "opt: --list-passes takes no model file");
    list_passes();
    return 0;
  }
  if (optind != argc - 1)
    return tool_usage("opt", optind >= argc ? "opt: no model file given"
                                            : "opt: give exactly one model "
                                              "file");
  PassCtx ctx;
  int status = tool_pass_setup("opt", po.passes, po.disable, target, &ctx);
  if (status) return status;
  const char *names[2] = {po.print_after, po.print_before};
  for (int i = 0; i < 2; i++) {
    Diag d = {0};
    if (names[i] && (!*names[i] || pass_check_list(names[i], &d) ||
                     strchr(names[i], ',') || strcmp(names[i], "none") == 0))
      return tool_usage("opt", "opt: --print-%s: %s", i ? "before" : "after",
                        d.failed ? bare(&d) : "give one pass name");
  }

  ToolModel tm;
  if ((status = tool_load(argv[optind], weights, seed, &tm))) return status;
  Graph *g = tm.g;
  Tensors in = {0}, before = {0}, after = {0};
  Diag d = {0};
  if (equiv) {
    if (make_inputs(g, seed, &in, &d) || run_interp(g, &in, &before, &d)) {
      fprintf(stderr, "%s\n", d.msg);
      status = EXIT_MODEL;
      goto done;
    }
  }
  fflush(stdout);
  if (pass_run_pipeline(g, &po, &ctx, &d)) {
    fprintf(stderr, "%s\n", d.msg);
    status = EXIT_MODEL;
    goto done;
  }
  if (ir_verify(g, &d)) {
    status = cli_die(EXIT_MODEL, "the IR after the pipeline does not "
                                       "verify: %s", d.msg);
    goto done;
  }
  char *text = ir_print(g);
  if (out)
    status = tool_write_file(out, text);
  else
    fputs(text, stdout);
  free(text);
  if (status) goto done;
  if (memory) print_memory(g, stdout);
  if (equiv) {
    if (run_interp(g, &in, &after, &d)) {
      status = cli_die(EXIT_VERIFY, "not equivalent: the graph "
                        "after the pipeline fails to run: %s", d.msg);
      goto done;
    }
    status = compare(g, &before, &after);
  }
done:
  tensors_free(&in);
  tensors_free(&before);
  tensors_free(&after);
  tool_free(&tm);
  return status;
}
