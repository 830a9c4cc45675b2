/* main.c — the command-line interface: a thin layer over libloom.
 *
 *   loom run MODEL.yaml ...        tools/cmd_run.c
 *   loom dump MODEL.yaml ...       tools/cmd_dump.c
 *   loom emit-c MODEL.yaml -o DIR  tools/cmd_build.c
 *   loom build MODEL.yaml -o BIN   tools/cmd_build.c
 *   loom emit-obj MODEL.yaml -o DIR  tools/cmd_emit_obj.c
 *   loom opt MODEL.yaml|FILE.ir    tools/cmd_opt.c
 *   loom graph MODEL.yaml|FILE.ir  tools/cmd_graph.c
 *   loom bench MODEL.yaml ...      tools/cmd_bench.c
 *   loom generate MODEL.yaml ...   tools/cmd_generate.c
 *
 * What they share (messages, the option parser, output files) is
 * tools/cli.c.  Exit status: 0 success, 1 a bad model, weights or data
 * file (or a failed run or write), 2 bad command-line usage, 3 a failed
 * check (run --verify, opt --check-equivalence).  Errors go to stderr, one
 * line each: located ones as FILE:LINE:COL: error: ..., the CLI's own as
 * "loom: error: ...".  Everything a command prints to standard output is
 * flushed and checked here: a full disk is an error, not a short file.
 */
#include <stdio.h>
#include <string.h>

#include "loom.h"
#include "tools/cli.h"
#include "tools/cmd_text.h"

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
    "  generate continue a prompt with a gpt2 model (KV cache, sampling)\n"
    "  import   write a Hugging Face model directory as family-form YAML\n"
    "  tokenize, detokenize  text to token ids and back (a model's tokenizer)\n"
    "  embed    sentence embeddings of texts and their cosine similarities\n"
    "\n"
    "options:\n"
    "  -h, --help     show this help (loom COMMAND --help for a command's)\n"
    "  --version      print loom's version\n"
    "\n"
    "Exit status: 0 on success, 1 for a bad model, weights or data file,\n"
    "2 for bad command-line usage, 3 when a check fails (run --verify,\n"
    "opt --check-equivalence).\n";

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
    {"generate", cmd_generate},
    {"import", cmd_import},
    {"tokenize", cmd_tokenize},
    {"detokenize", cmd_detokenize},
    {"embed", cmd_embed},
};

int main(int argc, char **argv) {
  if (argc < 2) {
    fputs(main_help, stderr);
    return EXIT_USAGE;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help"))
    return cli_stdout(main_help);
  if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
    printf("loom %s\n", loom_version());
    return cli_flush_stdout(0);
  }
  if (!strcmp(cmd, "run") && cli_has_text(argc - 1, argv + 1))
    return cli_flush_stdout(cmd_run_text(argc - 1, argv + 1));
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (!strcmp(cmd, commands[i].name))
      return cli_flush_stdout(commands[i].fn(argc - 1, argv + 1));
  return cli_usage(NULL, "unknown command '%s'", cmd);
}
