/* cmd_build.c — `loom emit-c` and `loom build`: a model as C, and as a
 * standalone executable.
 *
 *   loom emit-c MODEL.yaml -o DIR [--target T] [--weights FILE]
 *   loom build MODEL.yaml -o BIN [--embed-weights] [--target T] [--weights FILE]
 *              [--via c|llvm]
 *
 * Both lower the model as the backends do (the default graph passes, then
 * codegen/program.c) and write codegen/c/c_emit.c's directory.  Nothing
 * appears at the destination until everything is complete: emit-c writes a
 * temporary directory beside DIR and renames it (or its files, when DIR
 * exists); build compiles in a temporary directory beside BIN and renames
 * the executable (and BIN.weights) into place.
 *
 * --embed-weights appends the weights file to the executable, 64-byte
 * aligned, followed by a 32-byte trailer ("LOOMEMB1", the offset and the
 * length of the weights), and compiles main.c with -DLOOM_EMBEDDED_WEIGHTS
 * so that it reads them from its own file (/proc/self/exe): no C array
 * literal, so the compiler never sees the half gigabyte of GPT-2.  (strip(1)
 * drops such a trailer; strip before embedding, not after.)
 *
 * --via llvm builds from codegen/llvm/llvm_obj.c's files instead: the model is
 * NAME.o from LLVM, and $CC compiles only loom's runtime (main.c, npy.c,
 * loom_obj.c) around it.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codegen/c/c_cc.h"
#include "codegen/c/c_emit.h"
#include "codegen/llvm/llvm_emit.h"
#include "api/backend.h"
#include "passes/pass.h"
#include "tools/cli.h"

/* A temporary directory beside `dest` (same file system, so renames work). */
static char *temp_beside(const char *dest, const char *what) {
  char parent[PATH_MAX], prefix[PATH_MAX + 64];
  cli_parent_dir(dest, parent, sizeof parent);
  if (cg_mkdir_p(parent)) {
    cli_die(EXIT_MODEL, "cannot create directory '%s': %s", parent, strerror(errno));
    return NULL;
  }
  const char *base = strrchr(dest, '/') ? strrchr(dest, '/') + 1 : dest;
  snprintf(prefix, sizeof prefix, "%s/.%s.loom-%s", parent, *base ? base : "out", what);
  char *tmp = cg_mkdtemp(prefix);
  if (!tmp) cli_die(EXIT_MODEL, "cannot create a directory in '%s': %s", parent, strerror(errno));
  return tmp;
}

/* ---- emit-c ------------------------------------------------------------------ */

/* A model that generates: its generation files, and the Makefile that
 * builds them too. */
static int emit_c_gen(const CliCompile *cc, const Program *p, const char *name,
                      const char *dir) {
  CliGen gen;
  Diag d = {0};
  int status = cli_gen_emit(cc, p, name, dir, false, &gen, &d);
  if (status) return status;
  char *mk = cg_c_makefile(p, name, gen.extra);
  if (cg_write_text(dir, "Makefile", mk, &d)) status = cli_error(EXIT_MODEL, d.msg);
  free(mk);
  return status;
}

static const char emit_help[] =
    "usage: loom emit-c MODEL.yaml -o DIR [options]\n"
    "\n"
    "Writes MODEL.yaml as a self-contained C directory: NAME.c and NAME.h\n"
    "(the model and its API), NAME.weights, main.c (a command line taking\n"
    "loom run's --input/--out-dir arguments), npy.c/npy.h and a Makefile\n"
    "(make; make CC=clang-19; make CC=tcc).  NAME is the model's name as a C\n"
    "identifier.  The code needs only libc and libm (and OpenMP when built\n"
    "with it).  Nothing is written unless everything is.\n"
    "\n"
    "options:\n"
    CLI_HELP_OUTPUT_DIR
    CLI_HELP_COMPILE
    "                    (default: the default pipeline)\n"
    "  -h, --help        show this help\n";

static const CliCommand emit_c_cmd = {
    .name = "emit-c", .help = emit_help, .flags = CLI_OUTPUT | CLI_NEED_OUTPUT,
    .need_output = "the output directory with -o DIR"};

int cmd_emit_c(int argc, char **argv) {
  CliCompile cc;
  int status = cli_parse(&emit_c_cmd, argc, argv, NULL, &cc);
  if (status || cc.help || (status = cli_check_model(&cc))) return status;
  const char *out = cc.output;
  FeModel *fe;
  Program *p;
  if ((status = cli_program(&cc, &fe, &p))) return status;
  char name[128];
  cg_c_name(p->g->name, name, sizeof name);
  cli_add_input(&cc, fe->weights_path);
  if ((status = cli_check_emitted(&cc, name, out, cli_emit_c_files))) {
    cg_program_free(p);
    fe_model_free(fe);
    return status;
  }
  char *tmp = temp_beside(out, "emit");
  Diag d = {0};
  if (!tmp) {
    status = EXIT_MODEL;
  } else if (cg_emit_c(p, name, tmp, &d)) {
    status = cli_error_in(d.msg, tmp, out);
  } else if (cli_gen_wanted(&cc, fe) && (status = emit_c_gen(&cc, p, name, tmp))) {
    /* printed */
  } else {
    struct stat st;
    if (stat(out, &st) != 0) {
      mode_t mask = umask(0);
      umask(mask);
      if (rename(tmp, out))
        status = cli_die(EXIT_MODEL, "cannot create '%s': %s", out, strerror(errno));
      else
        tmp[0] = 0, chmod(out, 0777 & ~mask); /* moved; mkdtemp made it 0700 */
    } else if (!S_ISDIR(st.st_mode)) {
      status = cli_die(EXIT_MODEL, "'%s' exists and is not a directory", out);
    } else {
      status = cli_move_files(tmp, out); /* DIR exists: one by one */
    }
  }
  if (status == 0)
    printf("%s/%s.c: %u kernels, %u steps; %s.weights %lld bytes (target %s, "
           "%d lanes)\n",
           out, name, p->n_kernels, p->n_steps, name, (long long)p->weight_bytes,
           p->target.name, p->target.lanes);
  if (tmp && tmp[0]) cg_rmdir_files(tmp);
  free(tmp);
  cg_program_free(p);
  fe_model_free(fe);
  return status;
}

/* ---- build ------------------------------------------------------------------- */

static const char build_help[] =
    "usage: loom build MODEL.yaml -o BIN [options]\n"
    "\n"
    "Compiles MODEL.yaml into a standalone executable BIN with $CC (default\n"
    "cc): loom emit-c's code, built with -O3 -std=gnu99, the target's -march\n"
    "and -fopenmp when the compiler has it.  BIN takes loom run's arguments\n"
    "(--input NAME=FILE.npy|NAME=1,2,3, --out-dir DIR, --print; BIN --help)\n"
    "and needs nothing of loom at run time.  It reads its weights from\n"
    "BIN.weights, written beside it, or with --embed-weights carries them.\n"
    "\n"
    "options:\n"
    "  -o, --output BIN  the executable to write\n"
    "  --via c|llvm      how the model becomes machine code: c (default) as\n"
    "                    above, or llvm: loom emit-obj's NAME.o, linked with\n"
    "                    loom's runtime (main.c, npy.c, loom_obj.c) by $CC\n"
    "  --embed-weights   append the weights to the executable instead of\n"
    "                    writing BIN.weights\n"
    CLI_HELP_COMPILE
    "                    (default: the default pipeline)\n"
    "  -h, --help        show this help\n";

/* Append the weights file `wpath` and the trailer to the executable `exe`;
 * `chain`: the executable already ends with such an image, which the
 * trailer points back to (runtime/standalone/sa_model.c finds each model's
 * image in the chain by its layout hash). */
static int embed(const char *exe, const char *wpath, bool chain) {
  FILE *out = fopen(exe, "ab"), *in = fopen(wpath, "rb");
  int rc = 0;
  if (!out || !in) rc = -1;
  long at = rc ? 0 : (fseek(out, 0, SEEK_END), ftell(out));
  if (at < 0) rc = -1;
  static const char zeros[64];
  long pad = (64 - at % 64) % 64;
  if (!rc && pad && fwrite(zeros, 1, (size_t)pad, out) != (size_t)pad) rc = -1;
  uint64_t off = (uint64_t)(at + pad), len = 0, prev = chain ? (uint64_t)at : 0;
  char buf[1 << 16];
  size_t n;
  while (!rc && (n = fread(buf, 1, sizeof buf, in)) > 0) {
    if (fwrite(buf, 1, n, out) != n) rc = -1;
    len += n;
  }
  if (!rc && ferror(in)) rc = -1;
  unsigned char trailer[32] = "LOOMEMB1";
  for (int i = 0; i < 8; i++) {
    trailer[8 + i] = (unsigned char)(off >> (8 * i));
    trailer[16 + i] = (unsigned char)(len >> (8 * i));
    trailer[24 + i] = (unsigned char)(prev >> (8 * i));
  }
  if (!rc && fwrite(trailer, 1, sizeof trailer, out) != sizeof trailer) rc = -1;
  if (in) fclose(in);
  if (out && fclose(out)) rc = -1;
  return rc;
}

/* The sources of build --via llvm (codegen/llvm/llvm_obj.c). */
static int emit_obj_program(const Program *p, const char *name, const char *dir,
                            Diag *d) {
#ifdef LOOM_HAVE_LLVM
  return cg_emit_obj_program(p, name, dir, d);
#else
  IR_ASSERT(!"--via llvm without LLVM");
  return -1;
#endif
}

typedef struct {
  const char *via;
  int embed_weights;
} BuildArgs;

enum { O_EMBED = 256, O_VIA };

static const struct option build_opts[] = {
    {"embed-weights", no_argument, 0, O_EMBED},
    {"via", required_argument, 0, O_VIA},
    {0, 0, 0, 0}};

static int build_option(void *self, int id, const char *arg) {
  BuildArgs *a = self;
  if (id == O_EMBED) a->embed_weights = 1;
  if (id == O_VIA) a->via = arg;
  return 0;
}

static const CliCommand build_cmd = {
    .name = "build", .help = build_help, .flags = CLI_OUTPUT | CLI_NEED_OUTPUT,
    .need_output = "the executable with -o BIN", .extra = build_opts,
    .option = build_option};

int cmd_build(int argc, char **argv) {
  BuildArgs a = {.via = "c"};
  CliCompile cc;
  int status = cli_parse(&build_cmd, argc, argv, &a, &cc);
  if (status || cc.help) return status;
  const char *out = cc.output;
  int embed_weights = a.embed_weights;
  bool via_llvm = strcmp(a.via, "llvm") == 0;
  if (!via_llvm && strcmp(a.via, "c") != 0)
    return cli_usage("build", "--via '%s' is not c or llvm", a.via);
#ifndef LOOM_HAVE_LLVM
  if (via_llvm)
    return cli_usage("build", "--via llvm: this loom was built without LLVM "
                              "(configure with -DLOOM_WITH_LLVM=ON)");
#endif
  if ((status = cli_check_model(&cc))) return status;
  struct stat st;
  if (stat(out, &st) == 0 && S_ISDIR(st.st_mode))
    return cli_die(EXIT_MODEL, "'%s' is a directory", out);
  char wdest[PATH_MAX + 16];
  snprintf(wdest, sizeof wdest, "%s.weights", out);

  FeModel *fe;
  Program *p;
  if ((status = cli_program(&cc, &fe, &p))) return status;
  cli_add_input(&cc, fe->weights_path);
  if ((status = cli_check_output(&cc, out)) ||
      (!embed_weights && (status = cli_check_output(&cc, wdest)))) {
    cg_program_free(p);
    fe_model_free(fe);
    return status;
  }
  char name[128], wfile[200], flags[512];
  cg_c_name(p->g->name, name, sizeof name);
  bool gen_on = cli_gen_wanted(&cc, fe);
  CliGen gen;
  if ((status = cli_check_emitted(&cc, name, NULL, NULL))) {
    cg_program_free(p);
    fe_model_free(fe);
    return status;
  }
  snprintf(wfile, sizeof wfile, "%s.weights", name);
  cg_cc_flags(&p->target, false, flags, sizeof flags);
  char *tmp = temp_beside(out, "build");
  Diag d = {0};
  char exe[PATH_MAX + 200], wsrc[PATH_MAX + 200];
  if (!tmp) {
    status = EXIT_MODEL;
  } else if (via_llvm ? emit_obj_program(p, name, tmp, &d) : cg_emit_c(p, name, tmp, &d)) {
    status = cli_die(EXIT_MODEL, "cannot build '%s': %s", out, cli_bare(d.msg));
  } else if (gen_on && (status = cli_gen_emit(&cc, p, name, tmp, via_llvm, &gen, &d))) {
    /* printed */
  } else {
    char file[200];
    snprintf(file, sizeof file, via_llvm ? "%s.o" : "%s.c", name);
    const char *srcs_c[] = {"main.c", file, "npy.c", NULL};
    const char *srcs_llvm[] = {"main.c", file, "loom_obj.c", "npy.c", NULL};
    const char *const *srcs = via_llvm ? srcs_llvm : srcs_c;
    const char *extra[] = {"-DLOOM_EMBEDDED_WEIGHTS", NULL};
    const char *text_srcs[16], *all_srcs[24];
    if (fe->tokenizer) { /* a model directory: its tokenizer goes in too */
      if (cli_text_sources(fe, tmp, name, file, via_llvm, text_srcs, &d))
        status = cli_error(EXIT_MODEL, d.msg);
      srcs = text_srcs;
    }
    int n_srcs = 0;
    for (int i = 0; srcs[i]; i++) all_srcs[n_srcs++] = srcs[i];
    for (int i = 0; gen_on && gen.srcs[i]; i++) all_srcs[n_srcs++] = gen.srcs[i];
    all_srcs[n_srcs] = NULL;
    if (status == 0 && cg_cc_compile(tmp, all_srcs, "a.out", &p->target, false,
                                     embed_weights ? extra : NULL, &d))
      status = cli_error(EXIT_MODEL, d.msg);
  }
  if (status == 0) {
    snprintf(exe, sizeof exe, "%s/a.out", tmp);
    snprintf(wsrc, sizeof wsrc, "%s/%s", tmp, wfile);
    /* the generation graphs' own weights first, the model's last (found
     * by its trailer, the file's last bytes) */
    for (int i = 0; status == 0 && gen_on && i < gen.n_weights; i++) {
      char from[PATH_MAX + 200], to[PATH_MAX + 64];
      snprintf(from, sizeof from, "%s/%s", tmp, gen.weights[i]);
      snprintf(to, sizeof to, "%s%s", out, gen.suffix[i]);
      if (embed_weights ? embed(exe, from, i > 0) : rename(from, to))
        status = cli_die(EXIT_MODEL, "cannot write '%s': %s",
                         embed_weights ? out : to, strerror(errno));
    }
    if (status) {
    } else if (embed_weights) {
      if (embed(exe, wsrc, gen_on && gen.n_weights > 0))
        status = cli_die(EXIT_MODEL, "cannot append the weights to '%s': %s", out,
                         strerror(errno));
    } else {
      if (rename(wsrc, wdest))
        status = cli_die(EXIT_MODEL, "cannot write '%s': %s", wdest, strerror(errno));
    }
  }
  if (status == 0 && rename(exe, out))
    status = cli_die(EXIT_MODEL, "cannot write '%s': %s", out, strerror(errno));
  if (status == 0)
    printf("%s: %s (%u kernels, %u steps) built %swith %s %s; weights %s%s%s\n",
           out, name, p->n_kernels, p->n_steps, via_llvm ? "by LLVM, linked " : "",
           cg_cc_name(), flags, embed_weights ? "embedded" : out,
           embed_weights ? "" : ".weights",
           !gen_on ? ""
           : fe->family[0] == 't' ? "; generates with --src-ids (prefill, decode "
                                    "and encode graphs)"
                                  : "; generates with --prompt-ids (prefill and "
                                    "decode graphs)");
  if (tmp) cg_rmdir_files(tmp);
  free(tmp);
  cg_program_free(p);
  fe_model_free(fe);
  return status;
}
