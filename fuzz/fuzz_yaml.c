/* fuzz_yaml.c — the YAML model loader (graph and family form): any bytes
 * load, or fail with one error; never a crash, a leak or a hang.  Weights
 * are not bound (a family model would mean hundreds of MB of random
 * weights); fuzz_pipeline covers what runs after loading. */
#include "frontend/frontend.h"
#include "fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
  const char *path = fuzz_file(data, n, "yaml");
  FeOptions o = {.no_weights = true};
  Diag d = {0};
  FeModel *m = fe_load(path, &o, &d);
  if (!m && !d.failed) abort(); /* a failure always says why */
  if (m) {
    char *text = ir_print(m->g);
    free(text);
  }
  fe_model_free(m);
  return 0;
}
