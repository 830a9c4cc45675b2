/* cmd_emit_obj.c — `loom emit-obj`: a model as an object file.
 *
 *   loom emit-obj MODEL.yaml -o DIR [--target T] [--weights FILE]
 *
 * Lowers the model as the backends do (the default graph passes, then
 * codegen/program.c) and writes codegen/llvm/llvm_obj.c's files into DIR:
 * NAME.o (the model, from LLVM), NAME.h (the API, as emit-c writes it),
 * NAME.weights and loom_obj.c (the host side, the same for every model).
 * The files are written in a temporary directory beside DIR and renamed
 * into it once all are complete.  Without LLVM the command says so.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "codegen/c/c_cc.h"
#include "codegen/c/c_emit.h"
#include "codegen/llvm/llvm_emit.h"
#include "tools/cli.h"

static const char emit_obj_help[] =
    "usage: loom emit-obj MODEL.yaml -o DIR [options]\n"
    "\n"
    "Compiles MODEL.yaml with LLVM into DIR/NAME.o, with NAME.h (the API of\n"
    "loom emit-c's NAME.h), NAME.weights and loom_obj.c, the host side every\n"
    "model's object file links with (mapping the weights, checking tensors;\n"
    "the same for every model).  Link a program with\n"
    "  cc -O2 -fopenmp prog.c NAME.o loom_obj.c -lm\n"
    "A gpt2 or transformer model also gets its generation graphs\n"
    "(NAME_prefill.o, NAME_decode.o, NAME_encode.o), the loop (generate.c,\n"
    "loom_generate.h) and NAME_gen.c, which defines NAME.h's NAME_generate;\n"
    "the summary line lists what to compile and link beside NAME.o.\n"
    "NAME is the model's name as a C identifier.  Nothing is written unless\n"
    "everything is.\n"
    "\n"
    "options:\n"
    CLI_HELP_OUTPUT_DIR
    CLI_HELP_COMPILE
    "                    (default: the default pipeline; loom opt --list-passes)\n"
    "  -h, --help        show this help\n";

#ifndef LOOM_HAVE_LLVM
int cli_llvm_text(const Program *p, bool assembly, char **text) {
  *text = NULL;
  return cli_usage("dump", "%s: this loom was built without LLVM "
                           "(configure with -DLOOM_WITH_LLVM=ON)",
                   assembly ? "--asm" : "--llvm");
}

int cmd_emit_obj(int argc, char **argv) {
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      fputs(emit_obj_help, stdout);
      return 0;
    }
  return cli_usage("emit-obj", "this loom was built without LLVM "
                               "(configure with -DLOOM_WITH_LLVM=ON)");
}
#else
int cli_llvm_text(const Program *p, bool assembly, char **text) {
  Diag d = {0};
  size_t len;
  *text = NULL;
  CgLlvm *c = cg_llvm_build(p, &(CgLlvmOptions){.name = p->g->name}, &d);
  FILE *f = c ? open_memstream(text, &len) : NULL;
  int rc = !c ? -1 : assembly ? cg_llvm_print_asm(c, f, &d) : cg_llvm_print_ir(c, f);
  if (f) fclose(f);
  cg_llvm_free(c);
  if (rc) {
    free(*text);
    *text = NULL;
    return d.msg[0] ? cli_error(EXIT_MODEL, d.msg)
                    : cli_die(EXIT_MODEL, "cannot print the module");
  }
  return 0;
}

static const CliCommand emit_obj_cmd = {
    .name = "emit-obj", .help = emit_obj_help,
    .flags = CLI_OUTPUT | CLI_NEED_OUTPUT,
    .need_output = "the output directory with -o DIR"};

int cmd_emit_obj(int argc, char **argv) {
  CliCompile cc;
  int status = cli_parse(&emit_obj_cmd, argc, argv, NULL, &cc);
  if (status || cc.help || (status = cli_check_model(&cc))) return status;
  const char *out = cc.output;
  struct stat st;
  if (stat(out, &st) == 0 && !S_ISDIR(st.st_mode))
    return cli_die(EXIT_MODEL, "'%s' exists and is not a directory", out);
  FeModel *fe;
  Program *p;
  if ((status = cli_program(&cc, &fe, &p))) return status;
  char name[128], prefix[PATH_MAX + 32];
  cg_c_name(p->g->name, name, sizeof name);
  bool gen_on = cli_gen_wanted(&cc, fe);
  CliGen gen;
  cli_add_input(&cc, fe->weights_path);
  if ((status = cli_check_emitted(&cc, name, out, cli_emit_obj_files))) {
    cg_program_free(p);
    fe_model_free(fe);
    return status;
  }
  if (cg_mkdir_p(out)) {
    cg_program_free(p);
    fe_model_free(fe);
    return cli_die(EXIT_MODEL, "cannot create directory '%s': %s", out,
                   strerror(errno));
  }
  snprintf(prefix, sizeof prefix, "%s/.loom-emit-obj", out);
  char *tmp = cg_mkdtemp(prefix);
  Diag d = {0};
  if (!tmp) {
    status = cli_die(EXIT_MODEL, "cannot create a directory in '%s': %s", out,
                     strerror(errno));
  } else if (cg_emit_obj(p, name, tmp, &d)) {
    status = cli_error_in(d.msg, tmp, out);
  } else if (gen_on && (status = cli_gen_emit(&cc, p, name, tmp, true, &gen, &d))) {
    /* printed */
  } else {
    status = cli_move_files(tmp, out);
  }
  if (status == 0)
    printf("%s/%s.o: %u kernels, %u steps; %s.weights %lld bytes (target %s, "
           "%d lanes, LLVM %s)%s%s\n",
           out, name, p->n_kernels, p->n_steps, name, (long long)p->weight_bytes,
           p->target.name, p->target.lanes, cg_llvm_version(),
           gen_on ? "; generation: " : "", gen_on ? gen.extra : "");
  if (tmp) {
    cg_rmdir_files(tmp);
    free(tmp);
  }
  cg_program_free(p);
  fe_model_free(fe);
  return status;
}
#endif
