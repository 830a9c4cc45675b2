/* cmd_opt.h — the pass tools of the CLI: `loom opt` (tools/cmd_opt.c) and
 * `loom graph` (tools/cmd_graph.c), and what they share: opening a model
 * file of either kind, the pass context for a target, and writing an
 * output file all-or-nothing.
 */
#ifndef LOOM_TOOLS_CMD_OPT_H
#define LOOM_TOOLS_CMD_OPT_H

#include "frontend/frontend.h"
#include "passes/pass.h"
#include "tools/cli.h"

int cmd_opt(int argc, char **argv);
int cmd_graph(int argc, char **argv);

/* A model opened for the pass tools. */
typedef struct {
  Graph *g;   /* the graph: m->g, or parsed from .ir text */
  FeModel *m; /* YAML models; NULL for .ir */
} ToolModel;

/* Open MODEL.yaml (fe_load with its weights bound; `weights` overrides
 * the model's) or FILE.ir (ir_parse; every weight and const without data
 * gets deterministic random values from `seed`, since the text form
 * carries no data).  On failure prints the error and returns the exit
 * status (1). */
int tool_load(const char *path, const char *weights, uint64_t seed,
              ToolModel *tm);
void tool_free(ToolModel *tm);

/* "loom: error: MSG" and "Try 'loom CMD --help'."; returns 2. */
int tool_usage(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Check --passes / --disable lists and --target for command `cmd`, and
 * resolve the target into *t and fill the pass context with it (the
 * layout pass packs in its plan's panel width); *t must outlive ctx.
 * Returns 0 or the usage exit status (the message printed). */
int tool_pass_setup(const char *cmd, const char *passes, const char *disable,
                    const char *target, Target *t, PassCtx *ctx);

/* Write text to path under a temporary name, then rename it; returns 0 or
 * the exit status (1) with the message printed. */
int tool_write_file(const char *path, const char *text);

#endif
