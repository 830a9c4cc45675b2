/* cli.h — what the files of the loom CLI share (tools/loom.c: main, run,
 * dump; tools/build.c: emit-c, build). */
#ifndef LOOM_TOOLS_CLI_H
#define LOOM_TOOLS_CLI_H

#include "codegen/program.h"
#include "frontend/frontend.h"

enum { EXIT_MODEL = 1, EXIT_USAGE = 2, EXIT_VERIFY = 3 };

/* "loom: error: MESSAGE" on stderr; returns status. */
int cli_die(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A usage error: the message and "Try 'loom CMD --help'."; returns 2.
 * cmd is "run " (with the blank) or NULL. */
int cli_usage_error(const char *cmd, const char *msg);
/* getopt_long returned ':' (missing value) or '?' (unknown option). */
int cli_bad_option(const char *cmd, int c, const char *arg);
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

int cmd_emit_c(int argc, char **argv);
int cmd_build(int argc, char **argv);
int cmd_emit_obj(int argc, char **argv); /* tools/emit_obj.c */
/* dump --llvm (assembly false) or --asm: the text into *text (malloc'd);
 * an exit status, the error printed (without LLVM: a usage error). */
int cli_llvm_text(const Program *p, bool assembly, char **text);

#endif
