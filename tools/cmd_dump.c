/* cmd_dump.c — `loom dump`: the IR of a model as text.
 *
 *   loom dump MODEL.yaml [-o FILE] [--weights FILE]
 *             [--kernels | --llvm | --asm] [--target T] [--passes=...]
 *
 * Without a flag, the Graph IR text the frontend builds (no passes, no
 * weights read); --kernels the Kernel IR of the lowered program, each
 * unique kernel once, then the steps that call them; --llvm and --asm the
 * LLVM module and its machine code (tools/cmd_emit_obj.c).  -o writes the
 * file all or nothing, and never over the model or its weights.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/strbuf.h"
#include "tools/cli.h"

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
    "                generic; +avx512bf16, +amx add those features\n"
    "  --dtype f32|bf16  matmul weights in f32 (default) or bf16 (each bf16\n"
    "                matmul's kernel comment names its kind)\n"
    CLI_HELP_CACHES
    "  --weights FILE  a safetensors file replacing the model's 'weights:'\n"
    "                (with --kernels: passes read the weights)\n"
    "  --passes=a,b,c|none, --disable=a,b  the graph passes before lowering\n"
    "                (default: the default pipeline)\n"
    CLI_HELP_GRAPH
    "  -h, --help    show this help\n";

/* dump --kernels: each unique kernel (its vector variant) once, then the
 * steps, one line each: the kernel and where each argument lives. */
static char *kernels_text(const Program *p) {
  const Graph *g = p->g;
  StrBuf f = {0};
  sb_printf(&f, "# \"%s\" for %s (%d lanes): %u kernels, %u steps; weights %lld "
             "bytes, arena %lld bytes\n",
          g->name, p->target.name, p->target.lanes, p->n_kernels, p->n_steps,
          (long long)p->weight_bytes, (long long)p->arena_bytes);
  sb_printf(&f, "# tiled for L1d %lldK, L2 %lldK, L3 %lldK\n\n",
            (long long)(p->target.l1d >> 10), (long long)(p->target.l2 >> 10),
            (long long)(p->target.l3 >> 10));
  for (uint32_t i = 0; i < p->n_kernels; i++) {
    char *k = k_print(p->kernels[i].vec, p->kernels[i].name);
    sb_printf(&f, "# called by %u step%s\n%s\n", p->kernels[i].uses,
            p->kernels[i].uses == 1 ? "" : "s", k);
    free(k);
  }
  sb_printf(&f, "steps:\n");
  for (uint32_t i = 0; i < p->n_steps; i++) {
    const PStep *st = &p->steps[i];
    const Node *n = &g->nodes[st->node];
    sb_printf(&f, "  %s(", p->kernels[st->kernel].name);
    for (uint32_t a = 0; a < st->n_args; a++) {
      KBind b = st->args[a];
      if (a) sb_printf(&f, ", ");
      if (b.kind == KB_SYM) {
        sb_printf(&f, "%s", g->syms[b.id].name);
        continue;
      }
      if (b.id == g->n_values) /* the kernels' scratch (program.h) */
        sb_printf(&f, "%%scratch");
      else if (g->values[b.id].name)
        sb_printf(&f, "%%%s", g->values[b.id].name);
      else
        sb_printf(&f, "%%%u", b.id);
      const PStore *ps = &p->store[b.id];
      switch (ps->kind) {
      case PS_INPUT: sb_printf(&f, "@in%u", ps->index); break;
      case PS_OUTPUT: sb_printf(&f, "@out%u", ps->index); break;
      case PS_WEIGHT: sb_printf(&f, "@w+%lld", (long long)ps->offset); break;
      case PS_ARENA: sb_printf(&f, "@a+%lld", (long long)ps->offset); break;
      }
    }
    sb_printf(&f, ")  # %s", ir_op_info(n->op)->name);
    if (n->loc.file) sb_printf(&f, " %s:%u:%u", n->loc.file, n->loc.line, n->loc.col);
    sb_printf(&f, "\n");
  }
  return sb_take(&f);
}

typedef struct {
  int kernels, llvm, assembly;
} DumpArgs;

enum { O_KERNELS = 256, O_LLVM, O_ASM };

static const struct option dump_opts[] = {{"kernels", no_argument, 0, O_KERNELS},
                                          {"llvm", no_argument, 0, O_LLVM},
                                          {"asm", no_argument, 0, O_ASM},
                                          {0, 0, 0, 0}};

static int dump_option(void *self, int id, const char *arg) {
  DumpArgs *a = self;
  (void)arg;
  switch (id) {
  case O_KERNELS: a->kernels = 1; break;
  case O_LLVM: a->llvm = 1; break;
  case O_ASM: a->assembly = 1; break;
  }
  return 0;
}

static const CliCommand dump_cmd = {.name = "dump", .help = dump_help,
                                    .flags = CLI_OUTPUT, .extra = dump_opts,
                                    .option = dump_option};

int cmd_dump(int argc, char **argv) {
  DumpArgs a = {0};
  CliCompile cc;
  int st = cli_parse(&dump_cmd, argc, argv, &a, &cc);
  if (st || cc.help) return st;
  if (a.kernels + a.llvm + a.assembly > 1)
    return cli_usage("dump", "give one of --kernels, --llvm, --asm");
  if (cc.target && !a.kernels && !a.llvm && !a.assembly)
    return cli_usage("dump", "--target needs --kernels, --llvm or --asm");
  if ((cc.l1 || cc.l2 || cc.l3) && !a.kernels && !a.llvm && !a.assembly)
    return cli_usage("dump", "--l1, --l2 and --l3 need --kernels, --llvm or --asm");
  if ((st = cli_check_model(&cc)) ||
      (cc.output && (st = cli_check_output(&cc, cc.output))))
    return st;
  char *text = NULL;
  if (a.kernels || a.llvm || a.assembly) {
    FeModel *fe;
    Program *p;
    if ((st = cli_program(&cc, &fe, &p))) return st;
    cli_add_input(&cc, fe->weights_path);
    /* the model's own weights file is an input too */
    st = cc.output ? cli_check_output(&cc, cc.output) : 0;
    if (!st && a.kernels)
      text = kernels_text(p);
    else if (!st)
      st = cli_llvm_text(p, a.assembly, &text);
    cg_program_free(p);
    fe_model_free(fe);
    if (st) return st;
  } else {
    Diag d = {0};
    FeOptions fo = {.no_weights = true, .graph = cc.graph, .max_len = cc.max_len,
                    .max_batch = cc.max_batch};
    FeModel *m = fe_load(cc.model, &fo, &d);
    if (!m) return cli_error(EXIT_MODEL, d.msg);
    text = ir_print(m->g);
    fe_model_free(m);
  }
  st = cli_write_output(cc.output, text);
  free(text);
  return st;
}
