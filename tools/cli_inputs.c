/* cli_inputs.c — `--input NAME=FILE.npy | NAME=1,2,3` for the commands that
 * run a model (run, bench).
 *
 * A value matching -?[0-9]+(,-?[0-9]+)* is an inline rank-1 integer tensor
 * (one value for a rank-0 input: a scalar);
 * a value of only digits, '-' and ',' that does not (1,,2 or 1,2,) is a
 * malformed list, a usage error, not a file name; anything else is a .npy
 * path (float32/float64/int32/int64, converted to the input's dtype; extra
 * leading dimensions of size 1 are dropped, missing ones — ids [S] for a
 * batched model's [B, S] — are the API's: leading 1s).  A name the model has no
 * input for is exit status 1, as a missing input is: both are found by
 * comparing the command line with the model.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loom.h"
#include "ir/strbuf.h"
#include "runtime/npy.h"
#include "tools/cli.h"

/* -?[0-9]+(,-?[0-9]+)* */
static int is_inline_ints(const char *s) {
  for (;;) {
    if (*s == '-') s++;
    if (*s < '0' || *s > '9') return 0;
    while (*s >= '0' && *s <= '9') s++;
    if (!*s) return 1;
    if (*s++ != ',') return 0;
  }
}

/* Only [-0-9,]: meant as an inline list, well-formed or not. */
static int looks_inline(const char *s) {
  return *s && strspn(s, "-0123456789,") == strlen(s);
}

static int parse_inline(const char *name, const char *s, loom_dtype want,
                        loom_tensor *t) {
  int n = 1;
  for (const char *p = s; *p; p++) n += *p == ',';
  void *data = malloc((size_t)n * 4);
  if (!data) return cli_die(EXIT_MODEL, "out of memory");
  const char *p = s;
  for (int i = 0; i < n; i++) {
    char *end;
    errno = 0;
    long long v = strtoll(p, &end, 10);
    if (errno || v < INT32_MIN || v > INT32_MAX) {
      free(data);
      return cli_die(EXIT_USAGE, "--input %s: value %.*s is out of range for "
                                 "int32", name, (int)(end - p), p);
    }
    if (want == LOOM_I32)
      ((int32_t *)data)[i] = (int32_t)v;
    else
      ((float *)data)[i] = (float)v;
    p = end + 1;
  }
  t->dtype = want;
  t->rank = 1;
  t->dims[0] = n;
  t->data = data;
  return 0;
}

static int load_npy(const char *name, const char *path, const loom_info *info,
                    loom_tensor *t) {
  RtNpy a;
  char err[1024];
  if (rt_npy_read(path, &a, err, sizeof err)) return cli_error(EXIT_MODEL, err);
  /* Drop extra leading dimensions of size 1; too few are leading 1s
   * (ids [S] for a batched model's [B, S]: B = 1, the API's rule). */
  int skip = 0;
  while (a.rank - skip > info->rank && a.dims[skip] == 1) skip++;
  if (a.rank - skip > info->rank) {
    int rank = a.rank;
    rt_npy_free(&a);
    return cli_die(EXIT_MODEL, "%s: input '%s' needs rank %d, the file has "
                               "rank %d", path, name, info->rank, rank);
  }
  size_t n = a.count;
  void *data = malloc(n ? n * 4 : 4);
  if (!data) {
    rt_npy_free(&a);
    return cli_die(EXIT_MODEL, "out of memory");
  }
  for (size_t i = 0; i < n; i++) {
    double v;
    switch (a.type) {
    case RT_NPY_F32: v = ((const float *)a.data)[i]; break;
    case RT_NPY_F64: v = ((const double *)a.data)[i]; break;
    case RT_NPY_I32: v = ((const int32_t *)a.data)[i]; break;
    default: v = (double)((const int64_t *)a.data)[i]; break;
    }
    if (info->dtype == LOOM_F32) {
      ((float *)data)[i] = (float)v;
    } else {
      if (v != floor(v) || v < INT32_MIN || v > INT32_MAX) {
        free(data);
        rt_npy_free(&a);
        return cli_die(EXIT_MODEL, "%s: input '%s' is i32, but element %zu "
                                   "(%g) is not an int32 integer",
                       path, name, i, v);
      }
      ((int32_t *)data)[i] = (int32_t)v;
    }
  }
  t->dtype = info->dtype;
  t->rank = a.rank - skip;
  for (int i = 0; i < t->rank; i++) t->dims[i] = a.dims[skip + i];
  t->data = data;
  rt_npy_free(&a);
  return 0;
}

int cli_check_input_specs(CliCompile *cc, char **specs, int n) {
  for (int i = 0; i < n; i++) {
    char *eq = strchr(specs[i], '=');
    if (!eq || eq == specs[i] || !eq[1])
      return cli_usage(cc->cmd, "--input '%s' is not NAME=FILE.npy or "
                                "NAME=1,2,3", specs[i]);
    if (looks_inline(eq + 1) && !is_inline_ints(eq + 1))
      return cli_usage(cc->cmd, "--input %.*s: '%s' is not a list of "
                                "integers like 1,2,3",
                       (int)(eq - specs[i]), specs[i], eq + 1);
    if (!looks_inline(eq + 1)) cli_add_input(cc, eq + 1);
  }
  return 0;
}

int cli_load_inputs(const char *cmd, loom_model *m, char **specs, int n,
                    loom_tensor *in) {
  for (int i = 0; i < n; i++) in[i] = (loom_tensor){0};
  for (int i = 0; i < n; i++) {
    char *eq = strchr(specs[i], '=');
    char *name = strndup(specs[i], (size_t)(eq - specs[i]));
    in[i].name = name;
    loom_info info;
    int k = 0, count = loom_num_inputs(m);
    while (k < count &&
           (loom_input_info(m, k, &info), strcmp(info.name, name) != 0))
      k++;
    if (k == count) {
      StrBuf names = {0};
      for (int j = 0; j < count; j++) {
        loom_input_info(m, j, &info);
        sb_printf(&names, " %s", info.name);
      }
      char *list = sb_take(&names);
      cli_die(EXIT_MODEL, "%s: '%s' is not an input of the model (inputs:%s)",
              cmd, name, list);
      free(list);
      return EXIT_MODEL;
    }
    int status = is_inline_ints(eq + 1)
                     ? parse_inline(name, eq + 1, info.dtype, &in[i])
                     : load_npy(name, eq + 1, &info, &in[i]);
    if (status) return status;
    /* one inline value for a scalar input (a position: pos=5) */
    if (is_inline_ints(eq + 1) && info.rank == 0 && in[i].dims[0] == 1)
      in[i].rank = 0;
  }
  return 0;
}

void cli_free_inputs(loom_tensor *in, int n) {
  for (int i = 0; in && i < n; i++) {
    free((char *)in[i].name);
    free(in[i].data);
  }
}
