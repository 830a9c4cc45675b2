/* cmd_graph.c — `loom graph`: a picture of the Graph IR, to see what a pass
 * did.
 *
 *   loom graph MODEL.yaml|FILE.ir [--passes=...] [--disable=...]
 *              [--format=dot|mermaid] [-o FILE]
 *
 * Graphviz DOT (`dot -Tsvg`) or a Mermaid flowchart (renders in Markdown
 * on GitHub and friends).  One picture node per graph node, in node order:
 *
 *   ops        a box "op / type / name" (matmul\nf32[S, 64]\nh.0.q)
 *   inputs     a blue trapezoid, outputs a green marker fed by their value
 *   weights    a grey cylinder, consts (folded values) a yellow note that
 *              says its layout when packed
 *   fused      a matmul with an epilogue is orange and says what it
 *              absorbed (+bias, gelu, +residual); a matmul whose one user is
 *              a split — fuse-qkv's shape, or GPT-2's packed c_attn — is
 *              boxed with that split (and the concats feeding it) in a
 *              dashed cluster "fused matmul + split (N)"
 *
 * Edges run from producer to user, labelled with the result index when
 * the producer has several.  The output depends only on the graph, so two
 * pictures of the same graph are byte-identical and a diff shows a pass.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/strbuf.h"
#include "tools/cli.h"

/* ---- what each node looks like ------------------------------------------- */

typedef enum { K_OP, K_FUSED, K_INPUT, K_WEIGHT, K_CONST } Kind;

typedef struct {
  Kind kind;
  char lines[4][512]; /* label lines; empty ones are skipped */
  int cluster;        /* index into the clusters, or -1 */
} Look;

static const char *vname(const Graph *g, uint32_t v) {
  return g->values[v].name ? g->values[v].name : "";
}

static void types_of(const Graph *g, const Node *n, char *buf, size_t cap) {
  size_t len = 0;
  buf[0] = 0;
  for (uint32_t r = 0; r < n->nout && len < cap; r++) {
    char shape[256];
    const Value *v = &g->values[n->out[r]];
    ir_format_shape(g, &v->shape, shape, sizeof shape);
    len += (size_t)snprintf(buf + len, cap - len, "%s%s%s", r ? ", " : "",
                            ir_dtype_name(v->dtype), shape);
  }
}

/* "+bias, gelu, +residual" for a matmul's epilogue; "" without one. */
static void epilogue(const Graph *g, const Node *n, char *buf, size_t cap) {
  const char *act = ir_get_str(g, n, "act");
  bool bias = ir_get_int(g, n, "bias"), res = ir_get_int(g, n, "residual");
  bool has_act = strcmp(act, "none") != 0;
  snprintf(buf, cap, "%s%s%s%s%s", bias ? "+bias" : "",
           bias && (has_act || res) ? ", " : "", has_act ? act : "",
           has_act && res ? ", " : "", res ? "+residual" : "");
}

static void look_at(const Graph *g, uint32_t i, Look *l) {
  const Node *n = &g->nodes[i];
  char types[512];
  types_of(g, n, types, sizeof types);
  memset(l->lines, 0, sizeof l->lines);
  const char *name = vname(g, n->out[0]);
  switch (n->op) {
  case OP_INPUT:
    l->kind = K_INPUT;
    snprintf(l->lines[0], sizeof l->lines[0], "%s", name);
    /* a state (KV cache) or a position that binds a symbol says so */
    snprintf(l->lines[1], sizeof l->lines[1], "%s %s",
             ir_get_int(g, n, "state")          ? "state input"
             : ir_get_attr(n, "binds")->set     ? "position input"
                                                : "input",
             types);
    return;
  case OP_WEIGHT:
    l->kind = K_WEIGHT;
    snprintf(l->lines[0], sizeof l->lines[0], "%s", name);
    snprintf(l->lines[1], sizeof l->lines[1], "weight %s", types);
    return;
  case OP_CONST: {
    const char *layout = ir_get_str(g, n, "layout");
    l->kind = K_CONST;
    snprintf(l->lines[0], sizeof l->lines[0], "%s", name);
    snprintf(l->lines[1], sizeof l->lines[1], "const %s%s%s", types,
             strcmp(layout, "row_major") ? " " : "",
             strcmp(layout, "row_major") ? layout : "");
    return;
  }
  default: break;
  }
  l->kind = K_OP;
  snprintf(l->lines[0], sizeof l->lines[0], "%s", ir_op_info(n->op)->name);
  int k = 1;
  if (n->op == OP_MATMUL) {
    epilogue(g, n, l->lines[1], sizeof l->lines[1]);
    if (l->lines[1][0]) l->kind = K_FUSED, k = 2;
  }
  snprintf(l->lines[k], sizeof l->lines[k], "%s", types);
  /* the result's name; a split's names, comma-separated */
  size_t len = 0;
  for (uint32_t r = 0; r < n->nout && len < sizeof l->lines[k + 1]; r++)
    len += (size_t)snprintf(l->lines[k + 1] + len, sizeof l->lines[k + 1] - len,
                            "%s%s", r && len ? ", " : "", vname(g, n->out[r]));
}

/* Clusters: a matmul whose only user is a split, with that split and the
 * concats feeding the matmul.  cluster[i] gets the cluster of node i (-1:
 * none); returns how many there are, `size[c]` the split's pieces. */
static int find_clusters(const Graph *g, int *cluster, int *size) {
  int nc = 0;
  uint32_t *uses = ir_use_counts(g);
  for (uint32_t i = 0; i < g->n_nodes; i++) cluster[i] = -1;
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    const Node *s = &g->nodes[i];
    if (s->op != OP_SPLIT) continue;
    uint32_t mv = s->in[0], m = g->values[mv].node;
    if (g->nodes[m].op != OP_MATMUL || uses[mv] != 1) continue;
    cluster[i] = cluster[m] = nc;
    size[nc] = (int)s->nout;
    for (uint32_t k = 1; k < g->nodes[m].nin; k++) {
      uint32_t p = g->values[g->nodes[m].in[k]].node;
      if (g->nodes[p].op == OP_CONCAT && cluster[p] < 0 &&
          uses[g->nodes[m].in[k]] == 1)
        cluster[p] = nc;
    }
    nc++;
  }
  free(uses);
  return nc;
}

/* ---- what both languages share ------------------------------------------ */

typedef void (*NodeFn)(StrBuf *o, uint32_t i, const Look *l,
                       const char *indent);

/* The nodes in node order, each cluster's nodes together at its first
 * node, between `open` (a format taking the cluster and its size) and
 * `close`. */
static void emit_nodes(const Graph *g, const Look *looks, const int *cluster,
                       const int *size, int nc, NodeFn node, const char *open,
                       const char *close, StrBuf *o) {
  bool *done = calloc((size_t)nc + 1, sizeof *done);
  IR_ASSERT(done);
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    int c = cluster[i];
    if (c < 0) {
      node(o, i, &looks[i], "  ");
      continue;
    }
    if (done[c]) continue;
    done[c] = true;
    sb_printf(o, open, c, size[c]);
    for (uint32_t j = i; j < g->n_nodes; j++)
      if (cluster[j] == c) node(o, j, &looks[j], "    ");
    sb_puts(o, close);
  }
  free(done);
}

/* One edge from value v to node `to` ("n") or graph output `to` ("out"),
 * labelled with v's result index when its node has several. */
static void edge(const Graph *g, bool dot, uint32_t v, const char *kind,
                 uint32_t to, StrBuf *o) {
  const Value *val = &g->values[v];
  bool many = g->nodes[val->node].nout > 1;
  if (dot && many)
    sb_printf(o, "  n%u -> %s%u [label=\"%u\"];\n", val->node, kind, to,
              val->index);
  else if (dot)
    sb_printf(o, "  n%u -> %s%u;\n", val->node, kind, to);
  else if (many)
    sb_printf(o, "  n%u -->|%u| %s%u\n", val->node, val->index, kind, to);
  else
    sb_printf(o, "  n%u --> %s%u\n", val->node, kind, to);
}

/* Every operand edge in node order, then the outputs'. */
static void emit_edges(const Graph *g, bool dot, StrBuf *o) {
  for (uint32_t i = 0; i < g->n_nodes; i++)
    for (uint32_t k = 0; k < g->nodes[i].nin; k++)
      edge(g, dot, g->nodes[i].in[k], "n", i, o);
  for (uint32_t i = 0; i < g->n_outputs; i++)
    edge(g, dot, g->outputs[i], "out", i, o);
}

/* ---- DOT ----------------------------------------------------------------- */

static void dot_str(StrBuf *o, const char *s) {
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') sb_printf(o, "\\");
    sb_putc(o, *s);
  }
}

static void dot_node(StrBuf *o, uint32_t i, const Look *l, const char *indent) {
  static const char *style[] = {
      [K_OP] = "shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\"",
      [K_FUSED] = "shape=box, style=\"rounded,filled,bold\", "
                  "fillcolor=\"#ffe8cc\", color=\"#d9480f\"",
      [K_INPUT] = "shape=invhouse, style=filled, fillcolor=\"#cfe2ff\", "
                  "color=\"#3b5bdb\"",
      [K_WEIGHT] = "shape=cylinder, style=filled, fillcolor=\"#eeeeee\", "
                   "color=\"#868e96\"",
      [K_CONST] = "shape=note, style=filled, fillcolor=\"#fff3bf\", "
                  "color=\"#e67700\"",
  };
  sb_printf(o, "%sn%u [label=\"", indent, i);
  int first = 1;
  for (int k = 0; k < 4; k++) {
    if (!l->lines[k][0]) continue;
    if (!first) sb_printf(o, "\\n");
    dot_str(o, l->lines[k]);
    first = 0;
  }
  sb_printf(o, "\", %s];\n", style[l->kind]);
}

static void emit_dot(const Graph *g, const Look *looks, const int *cluster,
                     const int *size, int nc, const char *passes, StrBuf *o) {
  sb_printf(o, "// loom graph --format=dot (passes: %s)\ndigraph \"", passes);
  dot_str(o, g->name);
  sb_printf(o, "\" {\n"
         "  graph [rankdir=TB, fontname=\"Helvetica\", fontsize=11, "
         "labelloc=t, label=\"");
  dot_str(o, g->name);
  sb_printf(o, " (passes: %s)\"];\n"
         "  node [fontname=\"Helvetica\", fontsize=10];\n"
         "  edge [fontname=\"Helvetica\", fontsize=9, color=\"#495057\"];\n",
      passes);
  emit_nodes(g, looks, cluster, size, nc, dot_node,
             "  subgraph cluster_%d {\n    label=\"fused matmul + split (%d)\";"
             " style=\"dashed,rounded\"; color=\"#d9480f\"; "
             "fontcolor=\"#d9480f\";\n",
             "  }\n", o);
  for (uint32_t i = 0; i < g->n_outputs; i++) {
    sb_printf(o, "  out%u [label=\"output\\n", i);
    dot_str(o, vname(g, g->outputs[i]));
    sb_printf(o, "\", shape=house, style=filled, fillcolor=\"#d3f9d8\", "
           "color=\"#2b8a3e\"];\n");
  }
  emit_edges(g, true, o);
  sb_printf(o, "}\n");
}

/* ---- Mermaid ------------------------------------------------------------- */

/* Mermaid labels are quoted; a quote is an entity, and so are the
 * characters its parser would take as markup. */
static void mm_str(StrBuf *o, const char *s) {
  for (; *s; s++) {
    switch (*s) {
    case '"': sb_printf(o, "#quot;"); break;
    case '<': sb_printf(o, "#lt;"); break;
    case '>': sb_printf(o, "#gt;"); break;
    default: sb_putc(o, *s);
    }
  }
}

static void mm_node(StrBuf *o, uint32_t i, const Look *l, const char *indent) {
  static const char *open[] = {[K_OP] = "[\"", [K_FUSED] = "[\"",
                               [K_INPUT] = "[/\"", [K_WEIGHT] = "[(\"",
                               [K_CONST] = "[[\""};
  static const char *close[] = {[K_OP] = "\"]", [K_FUSED] = "\"]",
                                [K_INPUT] = "\"/]", [K_WEIGHT] = "\")]",
                                [K_CONST] = "\"]]"};
  static const char *cls[] = {[K_OP] = "", [K_FUSED] = ":::fused",
                              [K_INPUT] = ":::input", [K_WEIGHT] = ":::weight",
                              [K_CONST] = ":::const"};
  sb_printf(o, "%sn%u%s", indent, i, open[l->kind]);
  int first = 1;
  for (int k = 0; k < 4; k++) {
    if (!l->lines[k][0]) continue;
    if (!first) sb_printf(o, "<br/>");
    mm_str(o, l->lines[k]);
    first = 0;
  }
  sb_printf(o, "%s%s\n", close[l->kind], cls[l->kind]);
}

static void emit_mermaid(const Graph *g, const Look *looks,
                         const int *cluster, const int *size, int nc,
                         const char *passes, StrBuf *o) {
  sb_printf(o, "%%%% loom graph --format=mermaid: %s (passes: %s)\n", g->name,
      passes);
  sb_printf(o, "flowchart TD\n");
  emit_nodes(g, looks, cluster, size, nc, mm_node,
             "  subgraph fused%d [\"fused matmul + split (%d)\"]\n", "  end\n",
             o);
  for (uint32_t i = 0; i < g->n_outputs; i++) {
    sb_printf(o, "  out%u([\"output ", i);
    mm_str(o, vname(g, g->outputs[i]));
    sb_printf(o, "\"]):::output\n");
  }
  emit_edges(g, false, o);
  sb_printf(o, "  classDef input fill:#cfe2ff,stroke:#3b5bdb\n"
         "  classDef weight fill:#eeeeee,stroke:#868e96\n"
         "  classDef const fill:#fff3bf,stroke:#e67700\n"
         "  classDef fused fill:#ffe8cc,stroke:#d9480f,stroke-width:2px\n"
         "  classDef output fill:#d3f9d8,stroke:#2b8a3e\n");
}

/* ---- the command --------------------------------------------------------- */

static const char graph_help[] =
    "usage: loom graph MODEL.yaml|FILE.ir [options]\n"
    "\n"
    "Draws the Graph IR after the pass pipeline (the default one unless\n"
    "--passes says otherwise) as Graphviz DOT or a Mermaid flowchart: each\n"
    "op a box with its op, result type and name; inputs, weights, consts\n"
    "(folded values) and outputs each their own shape and colour; a matmul\n"
    "with a fused epilogue orange and labelled with it (+bias, gelu,\n"
    "+residual); a matmul feeding one split (fused Q, K, V) boxed with it.\n"
    "Render with 'dot -Tsvg FILE.dot -o FILE.svg', or paste Mermaid into\n"
    "Markdown.  Models load as for loom opt (weights bound; an .ir file's\n"
    "weights random).\n"
    "\n"
    "options:\n"
    "  --format=dot|mermaid  the output language (default: dot)\n"
    "  --passes=A,B,C        run these passes first, in order ('none': draw\n"
    "                        the graph as the frontend built it)\n"
    "  --disable=A,B         take these passes out of the pipeline\n"
    CLI_HELP_GRAPH
    "  --target=T            the target the layout pass packs for (native,\n"
    "                        x86-64-v4, x86-64-v3, x86-64-v2, generic)\n"
    "  --dtype=f32|bf16      matmul weights in f32 (default) or bf16\n"
    CLI_HELP_CACHES
    "  --weights=FILE        a safetensors file replacing the model's\n"
    "                        'weights:'\n"
    "  -o FILE               write to FILE instead of stdout (all or\n"
    "                        nothing)\n"
    "  -h, --help            show this help\n"
    "\n"
    "Exit status: 0 success, 1 a bad model or a failing pass, 2 bad usage.\n";

typedef struct {
  const char *format;
} GraphArgs;

enum { O_FORMAT = 256 };

static const struct option graph_opts[] = {
    {"format", required_argument, 0, O_FORMAT}, {0, 0, 0, 0}};

static int graph_option(void *self, int id, const char *arg) {
  if (id == O_FORMAT) ((GraphArgs *)self)->format = arg;
  return 0;
}

static const CliCommand graph_cmd = {.name = "graph", .help = graph_help,
                                     .flags = CLI_OUTPUT, .extra = graph_opts,
                                     .option = graph_option};

int cmd_graph(int argc, char **argv) {
  GraphArgs a = {.format = "dot"};
  CliCompile cc;
  int status = cli_parse(&graph_cmd, argc, argv, &a, &cc);
  if (status || cc.help) return status;
  bool dot = strcmp(a.format, "dot") == 0;
  if (!dot && strcmp(a.format, "mermaid") != 0)
    return cli_usage("graph", "unknown format '%s' (dot, mermaid)", a.format);
  if ((status = cli_check_model(&cc)) ||
      (cc.output && (status = cli_check_output(&cc, cc.output))))
    return status;
  PipelineOptions po = {.passes = cc.passes, .disable = cc.disable};
#ifndef NDEBUG
  po.verify_each = true;
#endif
  PassCtx ctx;
  Target t;
  cli_pass_ctx(&cc, &t, &ctx);
  ToolModel tm;
  if ((status = cli_load_graph(&cc, 1, &tm))) return status;
  if (!cc.dtype && tm.m) ctx.dtype = tm.m->dtype; /* the model's `dtype:` */
  Graph *g = tm.g;
  Diag d = {0};
  if (pass_run_pipeline(g, &po, &ctx, &d)) {
    cli_free_graph(&tm);
    return cli_error(EXIT_MODEL, d.msg);
  }
  char passes[1024];
  snprintf(passes, sizeof passes, "%s%s%s",
           po.passes ? po.passes : "default", po.disable ? ", disabled " : "",
           po.disable ? po.disable : "");
  size_t nn = g->n_nodes ? g->n_nodes : 1;
  Look *looks = calloc(nn, sizeof *looks);
  int *cluster = calloc(nn, sizeof *cluster), *size = calloc(nn, sizeof *size);
  IR_ASSERT(looks && cluster && size);
  for (uint32_t i = 0; i < g->n_nodes; i++) look_at(g, i, &looks[i]);
  int nc = find_clusters(g, cluster, size);
  StrBuf o = {0};
  if (dot)
    emit_dot(g, looks, cluster, size, nc, passes, &o);
  else
    emit_mermaid(g, looks, cluster, size, nc, passes, &o);
  char *text = sb_take(&o);
  status = cli_write_output(cc.output, text);
  free(text);
  free(looks);
  free(cluster);
  free(size);
  cli_free_graph(&tm);
  return status;
}
