/* cli.h — what the commands of the loom CLI share (tools/cli.c), the one
 * header of tools/.
 *
 * Each command is a cmd_*.c file with one entry point (the table in
 * tools/main.c).  The commands that compile a model (run, bench, dump,
 * emit-c, build, emit-obj, opt, graph) read their command line with
 * cli_parse: the common options (--target, --weights, --passes, --disable,
 * -o, --help) from one table, the command's own from its CliCommand, and
 * the same checks and messages for all of them.
 *
 * Exit status: 0 success, 1 a bad model, weights or data file (or a
 * failed run, compile or write), 2 bad command-line usage, 3 a check
 * failed (run --verify, opt --check-equivalence).  Errors are one line on
 * stderr: FILE:LINE:COL: error: ... when they have a place, loom: error:
 * ... when they do not.
 */
#ifndef LOOM_TOOLS_CLI_H
#define LOOM_TOOLS_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <sys/types.h>

#include "codegen/program.h"
#include "frontend/frontend.h"
#include "loom.h"
#include "passes/pass.h"

enum { EXIT_MODEL = 1, EXIT_USAGE = 2, EXIT_VERIFY = 3 };

/* ---- messages ------------------------------------------------------------ */

/* "loom: error: MESSAGE" on stderr; returns status. */
int cli_die(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A usage error: "loom: error: CMD: MESSAGE" and "Try 'loom CMD --help'."
 * (without CMD when it is NULL); returns EXIT_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* An error message from the library (a Diag's text, loom_load's err):
 * located ones as they are, a bare "error: X" as "loom: error: X".
 * Returns status. */
int cli_error(int status, const char *msg);
/* A Diag's text after its "error: " (without place), for quoting it
 * inside a message of our own. */
const char *cli_bare(const char *msg);

/* Write text to standard output and flush it; on failure "cannot write
 * standard output: REASON" and EXIT_MODEL.  main checks the final flush
 * of everything else printed (cli_flush_stdout). */
int cli_stdout(const char *text);
int cli_flush_stdout(int status);

/* ---- the command line of the commands that compile a model -------------- */

/* What the common options said, filled by cli_parse. */
typedef struct CliCompile {
  const char *cmd;     /* "run" */
  const char *model;   /* MODEL.yaml or FILE.ir; NULL if allowed absent */
  const char *target;  /* --target, NULL = native */
  const char *weights; /* --weights */
  const char *passes;  /* --passes, NULL = the default pipeline */
  const char *disable; /* --disable */
  const char *dtype;   /* --dtype f32|bf16, NULL = the model's `dtype:` */
  const char *output;  /* -o/--output, for commands that take it */
  int graph;           /* --graph: FeGraph (forward, prefill, decode, encode) */
  int64_t max_len;     /* --max-len: the KV cache's rows, 0 = the model's */
  int64_t max_batch;   /* --max-batch: B's bound, 0 = the model's max_batch */
  int64_t l1, l2, l3;  /* --l1, --l2, --l3 in bytes; 0: the host's */
  bool help;           /* --help was printed: exit 0 */
  /* The files this command reads (the model, --weights, --input files),
   * so that no output replaces one (cli_check_output). */
  struct {
    const char *path;
    dev_t dev;
    ino_t ino;
  } inputs[64];
  int n_inputs;
} CliCompile;

enum {
  CLI_OUTPUT = 1,       /* takes -o/--output */
  CLI_NEED_OUTPUT = 2,  /* ... and needs it */
  CLI_MODEL_OPTIONAL = 4 /* may run without a model file (opt --list-passes) */
};

typedef struct CliCommand {
  const char *name;           /* "run" */
  const char *help;           /* the --help text */
  int (*print_help)(void);    /* or a function printing it (through
                                 cli_stdout: 0 or its status) */
  unsigned flags;             /* CLI_* */
  const char *need_output;    /* CLI_NEED_OUTPUT: "the output directory with -o DIR" */
  /* The command's own options ({0}-terminated; val >= 256 and unique), and
   * the function taking each (id = val, arg = optarg or NULL; self = the
   * command's state).  Returns 0, or an exit status with the message
   * printed. */
  const struct option *extra;
  int (*option)(void *self, int id, const char *arg);
} CliCommand;

/* Parse argv (argv[0] is the command's name) for command c.  Checks what
 * the command line alone can tell: unknown options, missing values, one
 * model file, -o when needed, a known --target, known passes, a non-empty
 * --passes.  Returns 0 (cc->help set when help was printed) or the exit
 * status, the message printed. */
int cli_parse(const CliCommand *c, int argc, char **argv, void *self,
              CliCompile *cc);
/* The model file (and --weights) can be read; records them as inputs.
 * Run after the command's own usage checks.  Returns 0 or EXIT_MODEL
 * ("FILE: error: cannot open: REASON"). */
int cli_check_model(CliCompile *cc);
/* Record another file the command reads (an --input .npy). */
void cli_add_input(CliCompile *cc, const char *path);
/* An output path must not be one of the inputs (same device and inode):
 * 0, or a usage error naming both. */
int cli_check_output(const CliCompile *cc, const char *path);

/* Lines of the --help texts of emit-c, emit-obj and build. */
#define CLI_HELP_OUTPUT_DIR                                                    \
  "  -o, --output DIR  where to write (created if absent; files of the same\n" \
  "                    names in it are replaced)\n"
#define CLI_HELP_COMPILE                                                       \
  "  --target T        the CPU to generate code for: native (default),\n"     \
  "                    x86-64-v4, x86-64-v3, x86-64-v2, generic (no vectors);\n" \
  "                    +avx512bf16, +amx add features: x86-64-v4+avx512bf16\n" \
  "  --weights FILE    a safetensors file replacing the model's 'weights:'\n" \
  "  --dtype f32|bf16  matmul weights in f32 (default) or bf16: bf16 weights,\n" \
  "                    the activation operand rounded to bf16, fp32 sums;\n"  \
  "                    overrides the model's 'dtype:'\n"                      \
  "  --passes=a,b,c|none, --disable=a,b  the graph passes before lowering\n" \
  CLI_HELP_GRAPH                                                               \
  CLI_HELP_CACHES
/* --graph and --max-len: which graph of a generating model; --max-batch:
 * a family model's batch bound */
#define CLI_HELP_GRAPH                                                         \
  "  --graph=G         forward (default: the whole sequence), or for gpt2 and\n" \
  "                    transformer models the generation graphs: prefill,\n"  \
  "                    decode (transformer also encode); see Generation\n"   \
  "  --max-len N       the KV cache's rows in those graphs (default max_len)\n" \
  "  --max-batch N     a batch dimension B <= N in front of every input and\n" \
  "                    output (family models), in place of the model's\n" \
  "                    max_batch (default: the model's; none without one)\n"
/* The cache options, which every command that compiles takes. */
#define CLI_HELP_CACHES                                                        \
  "  --l1=SIZE, --l2=SIZE, --l3=SIZE  the data cache sizes the kernels are\n" \
  "                    tiled for (48K, 2M, 32768; default: the host's)\n"

/* ---- compiling ----------------------------------------------------------- */

/* The model as a lowered program for cc's target: load (with weights),
 * run the graph passes, lower.  On failure prints the error and returns
 * its exit status; on success *fe and *p (free with cg_program_free, then
 * fe_model_free). */
int cli_program(const CliCompile *cc, FeModel **fe, Program **p);

/* A model opened for the pass tools (opt, graph). */
typedef struct {
  Graph *g;   /* the graph: m->g, or parsed from .ir text */
  FeModel *m; /* YAML models; NULL for .ir */
} ToolModel;

/* Open MODEL.yaml (fe_load with its weights bound; cc->weights overrides
 * the model's) or FILE.ir (ir_parse; every weight and const without data
 * gets deterministic random values from `seed`, since the text form
 * carries no data).  On failure prints the error and returns EXIT_MODEL. */
int cli_load_graph(const CliCompile *cc, uint64_t seed, ToolModel *tm);
void cli_free_graph(ToolModel *tm);
/* The pass context for cc's target (checked by cli_parse); *t must
 * outlive ctx. */
void cli_pass_ctx(const CliCompile *cc, Target *t, PassCtx *ctx);

/* ---- output files -------------------------------------------------------- */

/* Write text to path under a temporary name, then rename it (all or
 * nothing); returns 0 or EXIT_MODEL with "cannot write 'PATH': ...". */
int cli_write_file(const char *path, const char *text);
/* -o FILE or standard output. */
int cli_write_output(const char *path, const char *text);
/* The files emit-c and emit-obj write into their directory, '@' standing
 * for the model's C name. */
extern const char *const cli_emit_c_files[], *const cli_emit_obj_files[];
/* Before writing a model's files: its C name (cg_c_name) must not be one
 * of the names loom writes beside it or a target of the emitted Makefile
 * (a model called Makefile would build over its Makefile), and none of
 * the files (dir/files[i]; dir NULL: no files) may be one of cc's inputs.
 * Returns 0 or the exit status, the message printed. */
int cli_check_emitted(const CliCompile *cc, const char *name, const char *dir,
                      const char *const *files);
/* The directory part of path ("." when none). */
void cli_parent_dir(const char *path, char *buf, size_t cap);
/* A library message about files in the temporary directory tmp, printed
 * with tmp replaced by dest (the name the user gave); returns EXIT_MODEL. */
int cli_error_in(const char *msg, const char *tmp, const char *dest);

/* ---- --input (tools/cli_inputs.c) ----------------------------------------- */

/* Every spec must be NAME=FILE.npy or NAME=1,2,3 (a usage error otherwise;
 * a value of only digits, '-' and ',' must be a well-formed list); the
 * .npy files are recorded as cc's inputs.  cli_load_inputs matches them to
 * m's inputs (an unknown name is EXIT_MODEL, like a missing input) and
 * reads each into in[i] (name and data malloc'd: cli_free_inputs).  Both
 * print their error and return an exit status, or 0. */
struct loom_model;
int cli_check_input_specs(CliCompile *cc, char **specs, int n);
int cli_load_inputs(const char *cmd, struct loom_model *m, char **specs, int n,
                    loom_tensor *in);
void cli_free_inputs(loom_tensor *in, int n);

/* --threads N of run, bench (and generate): N from 1 to 1024 into *n, or
 * a usage error of cmd. */
int cli_parse_threads(const char *cmd, const char *arg, int *n);
#define CLI_HELP_THREADS                                                       \
  "  --threads N            threads of the parallel loops (default: every\n" \
  "                         core, or OMP_NUM_THREADS; --threads wins)\n"

/* --profile (tools/cli_profile.c): the kernel times of m (loaded with
 * profile) over `runs` runs that took run_ms in all, as a table on
 * standard output, against the FMA peak of `threads` threads and the
 * memory bandwidth; returns 0 or an exit status, the error printed. */
int cli_print_profile(struct loom_model *m, int runs, double run_ms, int threads);
/* This machine's one-thread FMA peak (GFLOP/s) and triad bandwidth
 * (GB/s): from the loom cache (path), measured and cached when absent. */
int cli_limits(double *peak_1t, double *gbs, char *path, size_t cap);
#define CLI_HELP_PROFILE                                                       \
  "  --profile              time every kernel (jit backend) and print, per\n" \
  "                         kernel, calls, time, GFLOP/s, GB/s and how near\n" \
  "                         the roofline it is (FMA peak or bandwidth,\n" \
  "                         measured once and cached), most time first\n"

/* A monotonic clock in milliseconds (run --timings, bench). */
double cli_now_ms(void);
/* run's and bench's default backend: jit with LLVM, else ref. */
const char *cli_default_backend(void);
/* "run: unknown backend ..." as a usage error when loom lacks it. */
int cli_check_backend(const char *cmd, const char *backend);

/* ---- the commands -------------------------------------------------------- */

int cmd_run(int argc, char **argv);      /* tools/cmd_run.c */
int cmd_dump(int argc, char **argv);     /* tools/cmd_dump.c */
int cmd_emit_c(int argc, char **argv);   /* tools/cmd_build.c */
int cmd_build(int argc, char **argv);    /* tools/cmd_build.c */
int cmd_emit_obj(int argc, char **argv); /* tools/cmd_emit_obj.c */
int cmd_opt(int argc, char **argv);      /* tools/cmd_opt.c */
int cmd_graph(int argc, char **argv);    /* tools/cmd_graph.c */
int cmd_bench(int argc, char **argv);    /* tools/cmd_bench.c */
int cmd_generate(int argc, char **argv); /* tools/cmd_generate.c */
/* Rename every file of from_dir (not dot files) into to_dir; an exit
 * status (printed) on the first failure. */
int cli_move_files(const char *from_dir, const char *to_dir);
/* build, emit-c and emit-obj of a model that generates (tools/build_gen.c) */
typedef struct {
  char model[3][160];   /* NAME_prefill, NAME_decode (, NAME_encode) */
  char files[4][176];   /* the sources' names (srcs point here) */
  const char *srcs[6];  /* NAME_gen.c, the graphs' .c or .o, generate.c; NULL */
  int n_srcs;
  char extra[1024];     /* srcs, space-separated (the Makefile's) */
  char weights[3][200]; /* the graphs' own weights files in dir */
  char suffix[3][48];   /* each one's ".GRAPH.weights" */
  int n_weights;
} CliGen;
/* Whether cc's model, built for its forward graph, generates too. */
bool cli_gen_wanted(const CliCompile *cc, const FeModel *fe);
/* Compile the generation graphs of cc's model and write their files, the
 * loop and NAME_gen.c into dir, and NAME.h's generation API after the
 * NAME.h there; fwd is the forward graph's program.  0, or an exit status
 * (the error printed). */
int cli_gen_emit(const CliCompile *cc, const Program *fwd, const char *name,
                 const char *dir, bool via_llvm, CliGen *out, Diag *d);
/* build of a model with a tokenizer (tools/build_text.c): writes the text
 * sources into dir and the list to compile into srcs (room for 16). */
int cli_text_sources(const FeModel *fe, const char *dir, const char *name,
                     const char *model_file, bool via_llvm, const char **srcs,
                     Diag *d);
/* dump --llvm (assembly false) or --asm: the text into *text (malloc'd);
 * an exit status, the error printed (without LLVM: a usage error). */
int cli_llvm_text(const Program *p, bool assembly, char **text);

#endif
