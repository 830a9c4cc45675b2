/* c_cc.c — the system C compiler, run on emitted C (see cc.h).
 *
 * The compiler runs as a child process (fork + execvp, no shell, so paths
 * need no quoting) in the directory of the sources, so its messages name
 * NAME.c rather than a temporary path.  Its output goes to a log file in
 * that directory; on failure the first lines of it become the error.
 *
 * The compiler dies with loom: a loom killed while compiling (Ctrl-C, a
 * timeout, kill -9) must not leave cc, cc1, as and ld running.  The child
 * is a small supervisor in a process group of its own, which the kernel
 * signals when loom dies (PR_SET_PDEATHSIG); it then kills the group —
 * the compiler driver and everything it started.
 */
#include "codegen/c/c_cc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

const char *cg_cc_name(void) {
  const char *cc = getenv("CC");
  return cc && *cc ? cc : "cc";
}

/* $CC split at blanks into argv[0..n) (strings point into *copy). */
static int split_cc(char **copy, char **argv, int cap) {
  *copy = strdup(cg_cc_name());
  IR_ASSERT(*copy);
  int n = 0;
  char *save;
  for (char *s = strtok_r(*copy, " \t", &save); s && n < cap;
       s = strtok_r(NULL, " \t", &save))
    argv[n++] = s;
  return n;
}

/* In the supervisor: loom is gone, so is everything in the group. */
static void kill_group(int sig) {
  (void)sig;
  kill(0, SIGKILL);
}

/* The supervisor (see the top): runs argv in its own process group and
 * exits with its status; kills the group when loom dies. */
static void supervise(pid_t loom, char *const *argv) {
  setpgid(0, 0);
  signal(SIGTERM, kill_group);
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != loom) kill_group(0); /* loom died before the prctl */
  pid_t pid = fork();
  if (pid < 0) _exit(127);
  if (pid == 0) {
    signal(SIGTERM, SIG_DFL);
    execvp(argv[0], argv);
    fprintf(stderr, "cannot run '%s': %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) _exit(127);
  if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
  _exit(128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0));
}

/* Run argv in dir with stdout and stderr to dir/cc.log; the exit status,
 * or -1 when the process could not be started. */
static int run_in(const char *dir, char *const *argv) {
  pid_t loom = getpid();
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    if (chdir(dir) != 0) _exit(126);
    int fd = open("cc.log", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    supervise(loom, argv);
  }
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -1;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

bool cg_cc_has_openmp(void) {
  static int known = -1;
  static char for_cc[256];
  if (known >= 0 && strcmp(for_cc, cg_cc_name()) == 0) return known;
  snprintf(for_cc, sizeof for_cc, "%s", cg_cc_name());
  known = 0;
  const char *tmp = getenv("TMPDIR");
  char prefix[PATH_MAX];
  snprintf(prefix, sizeof prefix, "%s/loom-omp-%ld", tmp && *tmp ? tmp : "/tmp",
           (long)getpid()); /* named for cg_cache_clean */
  char *dir = cg_mkdtemp(prefix);
  if (!dir) return false;
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/probe.c", dir);
  FILE *f = fopen(path, "w");
  if (f) {
    fputs("#include <omp.h>\nint main(void) { return omp_get_max_threads() < 1; }\n", f);
    fclose(f);
    char *copy, *argv[32];
    int n = split_cc(&copy, argv, 27);
    argv[n++] = "-fopenmp";
    argv[n++] = "probe.c";
    argv[n++] = "-o";
    argv[n++] = "probe";
    argv[n] = NULL;
    known = run_in(dir, argv) == 0;
    free(copy);
  }
  cg_rmdir_files(dir);
  free(dir);
  return known;
}

void cg_cc_flags(const Target *t, bool shared, char *buf, size_t cap) {
  snprintf(buf, cap, "-O3 -std=gnu99%s%s%s%s", t->cflags[0] ? " " : "",
           t->cflags, cg_cc_has_openmp() ? " -fopenmp" : "",
           shared ? " -fPIC -shared" : "");
}

void cg_cc_key(const Target *t, bool shared, char *buf, size_t cap) {
  /* cg_cc_flags' words, with OpenMP as "if available": no probe needed */
  snprintf(buf, cap, "%s -O3 -std=gnu99 %s [-fopenmp if available]%s",
           cg_cc_name(), t->cflags, shared ? " -fPIC -shared" : "");
}

int cg_cc_compile(const char *dir, const char *const *srcs, const char *out,
                  const Target *t, bool shared, const char *const *extra,
                  Diag *d) {
  char flags[512];
  cg_cc_flags(t, shared, flags, sizeof flags);
  char *copy, *fcopy = strdup(flags), *argv[128];
  IR_ASSERT(fcopy);
  int n = split_cc(&copy, argv, 32);
  char *save;
  for (char *s = strtok_r(fcopy, " ", &save); s; s = strtok_r(NULL, " ", &save))
    argv[n++] = s;
  for (int i = 0; extra && extra[i] && n < 100; i++) argv[n++] = (char *)extra[i];
  argv[n++] = "-o";
  argv[n++] = (char *)out;
  for (int i = 0; srcs[i] && n < 124; i++) argv[n++] = (char *)srcs[i];
  argv[n++] = "-lm";
  argv[n] = NULL;
  int rc = run_in(dir, argv);
  if (rc != 0) {
    /* the command and the first lines the compiler printed */
    char cmd[1024], log[2048] = "", path[PATH_MAX];
    size_t len = 0;
    for (int i = 0; argv[i] && len < sizeof cmd; i++)
      len += (size_t)snprintf(cmd + len, sizeof cmd - len, "%s%s", i ? " " : "",
                              argv[i]);
    snprintf(path, sizeof path, "%s/cc.log", dir);
    FILE *f = fopen(path, "r");
    if (f) {
      size_t got = fread(log, 1, sizeof log - 1, f);
      log[got] = 0;
      fclose(f);
    }
    size_t l = strlen(log);
    while (l && log[l - 1] == '\n') log[--l] = 0;
    ir_errorf(d, (Loc){0}, "the C compiler failed (%s%d): %s%s%s",
              rc < 0 ? "cannot start it, " : "exit status ", rc < 0 ? errno : rc,
              cmd, log[0] ? "\n" : "", log);
  }
  free(copy);
  free(fcopy);
  return rc ? -1 : 0;
}

char *cg_mkdtemp(const char *prefix) {
  size_t n = strlen(prefix) + 8;
  char *s = malloc(n);
  IR_ASSERT(s);
  snprintf(s, n, "%s.XXXXXX", prefix);
  if (!mkdtemp(s)) {
    int e = errno;
    free(s);
    errno = e;
    return NULL;
  }
  return s;
}

void cg_rmdir_files(const char *dir) {
  DIR *dp = opendir(dir);
  if (dp) {
    struct dirent *e;
    char path[PATH_MAX];
    while ((e = readdir(dp))) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
      snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
      unlink(path);
    }
    closedir(dp);
  }
  rmdir(dir);
}

int cg_mkdir_p(const char *dir) {
  char path[PATH_MAX];
  if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path) {
    errno = ENAMETOOLONG;
    return -1;
  }
  for (char *p = path + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(path, 0777) && errno != EEXIST) return -1;
    *p = '/';
  }
  if (mkdir(path, 0777) && errno != EEXIST) return -1;
  struct stat st;
  if (stat(path, &st) || !S_ISDIR(st.st_mode)) {
    errno = ENOTDIR;
    return -1;
  }
  return 0;
}

int cg_cache_dir(const char *override, char *buf, size_t cap) {
  const char *x = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
  if (override && *override)
    snprintf(buf, cap, "%s", override);
  else if (x && *x)
    snprintf(buf, cap, "%s/loom", x);
  else if (home && *home)
    snprintf(buf, cap, "%s/.cache/loom", home);
  else
    snprintf(buf, cap, "/tmp/loom-cache-%ld", (long)getuid());
  return cg_mkdir_p(buf);
}
