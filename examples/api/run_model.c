/* run_model.c — a program of its own using libloom (include/loom.h):
 * load a model, show its inputs and outputs, run it on token ids given on
 * the command line, print each output's first values and range (as
 * `loom run --print` does).
 *
 *   cc run_model.c $(pkg-config --cflags --libs loom) -o run_model
 *   ./run_model MODEL.yaml ids=101,7592,102 [--backend ref|c|jit]
 *
 * (The test suite builds it against an installed libloom, shared and
 * static: tests/cli/install.sh.)
 */
#include <loom.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_summary(const loom_tensor *t) {
  size_t n = loom_tensor_bytes(t) / 4;
  double lo = INFINITY, hi = -INFINITY, sum = 0;
  printf("%s %s[", t->name, t->dtype == LOOM_I32 ? "i32" : "f32");
  for (int i = 0; i < t->rank; i++) printf("%s%lld", i ? ", " : "", (long long)t->dims[i]);
  printf("]\n  first:");
  for (size_t i = 0; i < n; i++) {
    double v = t->dtype == LOOM_I32 ? ((const int32_t *)t->data)[i]
                                    : ((const float *)t->data)[i];
    if (i < 8) printf(" %.6g", v);
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
    sum += v;
  }
  printf("%s\n  min %.6g  max %.6g  mean %.6g\n", n > 8 ? " ..." : "", lo, hi,
         n ? sum / (double)n : 0.0);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s MODEL.yaml NAME=1,2,3... [--backend B]\n", argv[0]);
    return 2;
  }
  loom_options opts = {0};
  loom_tensor in[8];
  int n_in = 0;
  for (int i = 2; i < argc; i++) {
    if (!strcmp(argv[i], "--backend") && i + 1 < argc) {
      opts.backend = argv[++i];
      continue;
    }
    char *eq = strchr(argv[i], '=');
    if (!eq || n_in == 8) {
      fprintf(stderr, "%s: expected NAME=1,2,3, got '%s'\n", argv[0], argv[i]);
      return 2;
    }
    *eq = 0;
    int32_t *ids = malloc(strlen(eq + 1) * sizeof *ids + sizeof *ids);
    int n = 0;
    for (char *s = eq + 1; *s; s += *s == ',') ids[n++] = (int32_t)strtol(s, &s, 10);
    in[n_in++] = (loom_tensor){argv[i], LOOM_I32, 1, {n}, ids};
  }

  char err[4096];
  loom_model *m;
  if (loom_load(argv[1], &opts, &m, err, sizeof err)) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  printf("model %s (libloom %s)\n", loom_name(m), loom_version());
  for (int i = 0; i < loom_num_inputs(m); i++) {
    loom_info info;
    loom_input_info(m, i, &info);
    printf("input %s, rank %d\n", info.name, info.rank);
  }
  int n_out = loom_num_outputs(m);
  loom_tensor *out = calloc((size_t)n_out, sizeof *out);
  int status = 0;
  if (loom_output_shapes(m, in, n_in, out, n_out, err, sizeof err)) {
    fprintf(stderr, "%s\n", err);
    status = 1;
  }
  for (int i = 0; !status && i < n_out; i++) out[i].data = malloc(loom_tensor_bytes(&out[i]));
  if (!status && loom_run(m, in, n_in, out, n_out, err, sizeof err)) {
    fprintf(stderr, "%s\n", err);
    status = 1;
  }
  for (int i = 0; !status && i < n_out; i++) print_summary(&out[i]);
  for (int i = 0; i < n_out; i++) free(out[i].data);
  for (int i = 0; i < n_in; i++) free(in[i].data);
  free(out);
  loom_free(m);
  return status;
}
