/* pass.c — the table of passes, the default pipeline, and the runner.
 *
 * The default pipeline, and why in this order:
 *   fold-constants   positional tables, weight slices/reshapes/transposes
 *                    become constants, so later passes see plain matmuls
 *   fuse-epilogue    bias, activation and residual into their matmul
 *   fuse-qkv         Q, K, V projections of one input into one matmul
 *                    (their biases came along in the epilogue)
 *   fold-constants   again: the concatenated Q|K|V weights and biases
 *   fuse-attention   Q·Kᵀ → scale → mask → softmax → ·V into one op, the
 *                    head transposes absorbed (before layout, which would
 *                    rewrite those transposes for the Q·Kᵀ matmul)
 *   layout           constant matmul operands packed into kernel panels
 *   cse, dce         what the rewrites left duplicated or unused
 *   plan-memory      last: places what remains in one arena
 */
#include "passes/pass.h"

#include <string.h>
#include <time.h>

const Pass pass_table[] = {
    {"fold-constants", "evaluate subgraphs whose inputs are all constants "
                       "(positional tables, weight transforms)",
     pass_fold_constants},
    {"fuse-epilogue", "fold bias add, activation and residual add into "
                      "the matmul that produces their input",
     pass_fuse_epilogue},
    {"fuse-qkv", "merge matmuls of one input by constant weights (Q, K, V) "
                 "into one matmul against concatenated weights",
     pass_fuse_qkv},
    {"fuse-attention", "rewrite matmul(Q, Kᵀ) -> scale -> mask -> softmax "
                       "-> matmul(·, V) into one attention op",
     pass_fuse_attention},
    {"layout", "pack constant matmul operands into the panel layout the "
               "GEMM micro-kernel reads", pass_layout},
    {"cse", "merge nodes that compute the same value", pass_cse},
    {"dce", "remove nodes whose results nobody uses", pass_dce},
    {"plan-memory", "place every intermediate in one arena by liveness; "
                    "report the peak bytes", pass_plan_memory},
};
const int pass_count = sizeof pass_table / sizeof pass_table[0];

const char *const pass_default_pipeline[] = {
    "fold-constants", "fuse-epilogue", "fuse-qkv", "fold-constants",
    "fuse-attention", "layout", "cse", "dce", "plan-memory", NULL};

const Pass *pass_lookup(const char *name) {
  for (int i = 0; i < pass_count; i++)
    if (strcmp(pass_table[i].name, name) == 0) return &pass_table[i];
  return NULL;
}

/* The next comma-separated item of *list into buf; false at the end. */
static bool next_item(const char **list, char *buf, size_t cap) {
  const char *s = *list;
  if (!s || !*s) return false;
  const char *comma = strchr(s, ',');
  size_t len = comma ? (size_t)(comma - s) : strlen(s);
  snprintf(buf, cap, "%.*s", (int)len, s);
  *list = comma ? comma + 1 : s + len;
  return true;
}

static int unknown_pass(const char *name, Diag *d) {
  /* nearest by a small edit distance, without pulling in the frontend */
  const char *best = NULL;
  size_t best_score = (size_t)-1;
  for (int i = 0; i < pass_count; i++) {
    const char *p = pass_table[i].name;
    size_t common = 0;
    while (p[common] && name[common] && p[common] == name[common]) common++;
    size_t score = strlen(p) + strlen(name) - 2 * common;
    if (score < best_score) best_score = score, best = p;
  }
  if (best && best_score <= 4)
    return ir_errorf(d, (Loc){0}, "unknown pass '%s'; did you mean '%s'? "
                                  "(loom opt --list-passes)", name, best);
  return ir_errorf(d, (Loc){0}, "unknown pass '%s' (loom opt --list-passes)",
                   name);
}

int pass_check_list(const char *list, Diag *d) {
  char name[64];
  if (list && strcmp(list, "none") == 0) return 0;
  while (next_item(&list, name, sizeof name))
    if (!pass_lookup(name)) return unknown_pass(name, d);
  return 0;
}

static bool in_list(const char *list, const char *name) {
  char item[64];
  while (next_item(&list, item, sizeof item))
    if (strcmp(item, name) == 0) return true;
  return false;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int run_one(Graph *g, const Pass *p, const PipelineOptions *o,
                   PassCtx *ctx, Diag *d) {
  FILE *out = o->out ? o->out : stderr;
  if (o->print_before && strcmp(o->print_before, p->name) == 0) {
    fprintf(out, "// -----// IR before %s //----- //\n", p->name);
    ir_print_file(g, out);
  }
  double t0 = now_ms();
  if (p->fn(g, ctx, d)) return -1;
  double t1 = now_ms();
  if (o->time_passes) fprintf(out, "time-passes %s=%.3f ms\n", p->name, t1 - t0);
  if (o->verify_each) {
    Diag vd = {0};
    if (ir_verify(g, &vd))
      return ir_errorf(d, (Loc){0}, "the IR after pass '%s' does not verify: "
                                    "%s", p->name, vd.msg);
  }
  if (o->print_after_all ||
      (o->print_after && strcmp(o->print_after, p->name) == 0)) {
    fprintf(out, "// -----// IR after %s //----- //\n", p->name);
    ir_print_file(g, out);
  }
  return 0;
}

int pass_run_pipeline(Graph *g, const PipelineOptions *o, PassCtx *ctx,
                      Diag *d) {
  static const PipelineOptions none = {0};
  if (!o) o = &none;
  if (pass_check_list(o->passes, d) || pass_check_list(o->disable, d))
    return -1;
  if (o->passes && strcmp(o->passes, "none") == 0) return 0;
  if (o->passes) {
    const char *list = o->passes;
    char name[64];
    while (next_item(&list, name, sizeof name)) {
      if (o->disable && in_list(o->disable, name)) continue;
      if (run_one(g, pass_lookup(name), o, ctx, d)) return -1;
    }
    return 0;
  }
  for (int i = 0; pass_default_pipeline[i]; i++) {
    const char *name = pass_default_pipeline[i];
    if (o->disable && in_list(o->disable, name)) continue;
    if (run_one(g, pass_lookup(name), o, ctx, d)) return -1;
  }
  return 0;
}
