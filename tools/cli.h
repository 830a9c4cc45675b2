/* cli.h — what the files of the loom CLI share (tools/loom.c: main, run,
 * dump; tools/build.c: emit-c, build). */
#ifndef LOOM_TOOLS_CLI_H
#define LOOM_TOOLS_CLI_H

#include "codegen/program.h"
#include "frontend/frontend.h"
#include "loom.h"

enum { EXIT_MODEL = 1, EXIT_USAGE = 2, EXIT_VERIFY = 3 };

/* "loom: error: MESSAGE" on stderr; returns status. */
int cli_die(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A usage error: the message and "Try 'loom CMD --help'."; returns 2.
 * cmd is "run " (with the blank) or NULL. */
int cli_usage_error(const char *cmd, const char *msg);
/* getopt_long returned ':' (missing value) or '?' (unknown option). */
int cli_bad_option(const char *cmd, int c, const char *arg);
/* Check --passes / --disable lists; a usage error (2) naming the nearest
 * pass when one is unknown. */
int cli_check_passes(const char *cmd, const char *passes, const char *disable);
/* Check a --target name; a usage error (2) when unknown. */
int cli_check_target(const char *cmd, const char *target);

/* A model file as a lowered program for a target: load (with weights),
 * run the graph passes (the default pipeline, or passes/disable as
 * loom_options has them), lower.  On failure prints the error and returns
 * its exit status; on success *fe and *p (free with cg_program_free, then
 * fe_model_free). */
int cli_program(const char *path, const char *weights, const char *target,
                const char *passes, const char *disable, FeModel **fe,
                Program **p);

/* --input specs (tools/inputs.c).  Every spec must be NAME=VALUE (a
 * usage error otherwise); cli_load_inputs matches them to m's inputs and
 * reads each into in[i] (name and data malloc'd: cli_free_inputs).  Both
 * print their error and return an exit status, or 0. */
struct loom_model;
int cli_check_input_specs(const char *cmd, char **specs, int n);
int cli_load_inputs(const char *cmd, struct loom_model *m, char **specs, int n,
                    loom_tensor *in);
void cli_free_inputs(loom_tensor *in, int n);

/* run's and bench's default backend: jit with LLVM, else ref. */
const char *cli_default_backend(void);

int cmd_bench(int argc, char **argv); /* tools/bench.c */
int cmd_emit_c(int argc, char **argv);
int cmd_build(int argc, char **argv);
int cmd_emit_obj(int argc, char **argv); /* tools/emit_obj.c */
/* build of a model with a tokenizer (tools/build_text.c): writes the text
 * sources into dir and the list to compile into srcs (room for 16). */
int cli_text_sources(const FeModel *fe, const char *dir, const char *name,
                     const char *model_file, bool via_llvm, const char **srcs,
                     Diag *d);
/* dump --llvm (assembly false) or --asm: the text into *text (malloc'd);
 * an exit status, the error printed (without LLVM: a usage error). */
int cli_llvm_text(const Program *p, bool assembly, char **text);

#endif
