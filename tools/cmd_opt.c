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
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/kpass/tile.h"
#include "frontend/random_weights.h"
#include "tools/cli.h"

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
  /* after the graph passes, on every kernel (codegen/kpass/) */
  printf("\nkernel-level passes (run on every kernel when a model is compiled;\n"
         "loom dump --kernels shows what they chose):\n");
  for (int i = 0; cg_kpasses[i].name; i++)
    printf("    %-*s  %s\n", width, cg_kpasses[i].name, cg_kpasses[i].summary);
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
  /* State inputs (a generating model's KV caches) live outside the
   * arena, in the caller's buffers: their bytes, and the rows they have */
  int64_t state = 0, rows = 0;
  uint32_t n_state = 0;
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    const Node *n = &g->nodes[i];
    if (n->op != OP_INPUT || !ir_get_int(g, n, "state")) continue;
    const Value *val = &g->values[n->out[0]];
    state += ir_bound_bytes(g, val);
    if (val->shape.rank >= 2) rows = val->shape.d[val->shape.rank - 2].c;
    n_state++;
  }
  if (n_state)
    fprintf(out, "memory: kv_cache_bytes=%" PRId64 " states=%u max_len=%" PRId64
                 " (%" PRId64 " bytes per position; --max-len N scales it)\n",
            state, n_state, rows, rows ? state / rows : 0);
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
    CLI_HELP_GRAPH
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
    "  --dtype=f32|bf16      matmul weights in f32 (default) or bf16: the\n"
    "                        layout pass packs them as bf16 pairs\n"
    CLI_HELP_CACHES
    "  --weights=FILE        a safetensors file replacing the model's\n"
    "                        'weights:'\n"
    "  -o FILE               write the IR to FILE instead of stdout (all or\n"
    "                        nothing)\n"
    "  -h, --help            show this help\n"
    "\n"
    "Exit status: 0 success, 1 a bad model or a failing pass, 2 bad usage\n"
    "(an unknown pass names the nearest one), 3 not equivalent.\n";

typedef struct {
  PipelineOptions po;
  bool memory, list, equiv;
  uint64_t seed;
} OptArgs;

enum { O_AFTER_ALL = 256, O_AFTER, O_BEFORE, O_VERIFY, O_TIME, O_MEMORY,
       O_LIST, O_EQUIV, O_SEED };

static const struct option opt_opts[] = {
    {"print-after-all", no_argument, 0, O_AFTER_ALL},
    {"print-after", required_argument, 0, O_AFTER},
    {"print-before", required_argument, 0, O_BEFORE},
    {"verify-each", no_argument, 0, O_VERIFY},
    {"time-passes", no_argument, 0, O_TIME},
    {"print-memory", no_argument, 0, O_MEMORY},
    {"list-passes", no_argument, 0, O_LIST},
    {"check-equivalence", no_argument, 0, O_EQUIV},
    {"seed", required_argument, 0, O_SEED},
    {0, 0, 0, 0}};

static int opt_option(void *self, int id, const char *arg) {
  OptArgs *a = self;
  switch (id) {
  case O_AFTER_ALL: a->po.print_after_all = true; break;
  case O_AFTER: a->po.print_after = arg; break;
  case O_BEFORE: a->po.print_before = arg; break;
  case O_VERIFY: a->po.verify_each = true; break;
  case O_TIME: a->po.time_passes = true; break;
  case O_MEMORY: a->memory = true; break;
  case O_LIST: a->list = true; break;
  case O_EQUIV: a->equiv = true; break;
  case O_SEED: {
    char *end;
    errno = 0;
    unsigned long long s = strtoull(arg, &end, 10);
    if (errno || !*arg || *end || arg[0] == '-')
      return cli_usage("opt", "--seed '%s' is not a non-negative integer", arg);
    a->seed = s;
    break;
  }
  }
  return 0;
}

static const CliCommand opt_cmd = {
    .name = "opt", .help = opt_help, .flags = CLI_OUTPUT | CLI_MODEL_OPTIONAL,
    .extra = opt_opts, .option = opt_option};

int cmd_opt(int argc, char **argv) {
  OptArgs a = {.seed = 1};
#ifndef NDEBUG
  a.po.verify_each = true;
#endif
  CliCompile cc;
  int status = cli_parse(&opt_cmd, argc, argv, &a, &cc);
  if (status || cc.help) return status;
  if (a.list) {
    if (cc.model) return cli_usage("opt", "--list-passes takes no model file");
    list_passes();
    return 0;
  }
  if (!cc.model) return cli_usage("opt", "no model file given");
  PipelineOptions po = a.po;
  po.passes = cc.passes;
  po.disable = cc.disable;
  bool memory = a.memory, equiv = a.equiv;
  uint64_t seed = a.seed;
  const char *names[2] = {po.print_after, po.print_before};
  for (int i = 0; i < 2; i++) {
    Diag d = {0};
    if (names[i] && (!*names[i] || pass_check_list(names[i], &d) ||
                     strchr(names[i], ',') || strcmp(names[i], "none") == 0))
      return cli_usage("opt", "--print-%s: %s", i ? "before" : "after",
                       d.failed ? cli_bare(d.msg) : "give one pass name");
  }
  if ((status = cli_check_model(&cc)) ||
      (cc.output && (status = cli_check_output(&cc, cc.output))))
    return status;
  PassCtx ctx;
  Target t;
  cli_pass_ctx(&cc, &t, &ctx);

  ToolModel tm;
  if ((status = cli_load_graph(&cc, seed, &tm))) return status;
  if (!cc.dtype && tm.m) ctx.dtype = tm.m->dtype; /* the model's `dtype:` */
  Graph *g = tm.g;
  Tensors in = {0}, before = {0}, after = {0};
  Diag d = {0};
  if (equiv) {
    if (make_inputs(g, seed, &in, &d) || run_interp(g, &in, &before, &d)) {
      status = cli_error(EXIT_MODEL, d.msg);
      goto done;
    }
  }
  cli_flush_stdout(0); /* before the passes print on stderr */
  if (pass_run_pipeline(g, &po, &ctx, &d)) {
    status = cli_error(EXIT_MODEL, d.msg);
    goto done;
  }
  if (ir_verify(g, &d)) {
    status = cli_die(EXIT_MODEL, "the IR after the pipeline does not "
                                 "verify: %s", cli_bare(d.msg));
    goto done;
  }
  char *text = ir_print(g);
  /* FILE.ir carries its data beside it (frontend/ir_data.c), so that
   * `loom run FILE.ir` runs what `loom opt` made */
  size_t olen = cc.output ? strlen(cc.output) : 0;
  if (olen > 3 && strcmp(cc.output + olen - 3, ".ir") == 0 &&
      fe_save_ir_data(g, cc.output, &d))
    status = cli_error(EXIT_MODEL, d.msg);
  else
    status = cli_write_output(cc.output, text);
  free(text);
  if (status) goto done;
  if (memory) print_memory(g, stdout);
  if (equiv) {
    if (run_interp(g, &in, &after, &d)) {
      status = cli_die(EXIT_VERIFY, "not equivalent: the graph "
                        "after the pipeline fails to run: %s", cli_bare(d.msg));
      goto done;
    }
    status = compare(g, &before, &after);
  }
done:
  tensors_free(&in);
  tensors_free(&before);
  tensors_free(&after);
  cli_free_graph(&tm);
  return status;
}
